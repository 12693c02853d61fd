# extract: only into DIR, never through symlinks, no overwrite without --force.
. "$(dirname "$0")/lib.sh"
CA="--ca $PKI/ca.pem"
build_example "$T/b.oab"
mkdir "$T/x"
expect 0 "" "$O" extract $CA -C "$T/x" app migrate "$T/b.oab"
[ "$(ls "$T/x" | tr '\n' ' ')" = "app migrate " ] && ok "only the named items written" || bad "named extract wrote: $(ls "$T/x")"
expect 2 "no payload, script or sbom named 'nope'" "$O" extract $CA -C "$T/x" nope "$T/b.oab"
expect 3 "already exists" "$O" extract $CA -C "$T/x" app "$T/b.oab"
# A symlink already in DIR is replaced with --force, never written through.
echo precious > "$T/victim"
ln -s "$T/victim" "$T/x/rootfs"
expect 3 "already exists" "$O" extract $CA -C "$T/x" rootfs "$T/b.oab"
expect 0 "" "$O" extract $CA --force -C "$T/x" rootfs "$T/b.oab"
[ "$(cat "$T/victim")" = precious ] && ok "symlink target untouched" || bad "wrote through a symlink"
[ -L "$T/x/rootfs" ] && bad "symlink still there" || ok "symlink replaced by a file"
cmp -s "$T/x/rootfs" "$IN/rootfs.ext4" && ok "forced rootfs bit-identical" || bad "forced rootfs differs"
expect 3 "extract folder" "$O" extract $CA -C "$T/none" "$T/b.oab"
expect 2 "-C DIR" "$O" extract $CA "$T/b.oab"
# All or nothing with --force: the 2nd target is a non-empty folder, so
# the 1st (an existing file) must keep its old bytes and nothing is added.
mkdir "$T/y" "$T/y/app"; echo keep > "$T/y/app/inside"; echo old-rootfs > "$T/y/rootfs"
expect 3 "'$T/y/app' is a folder" "$O" extract $CA --force -C "$T/y" "$T/b.oab"
[ "$(cat "$T/y/rootfs")" = old-rootfs ] && ok "earlier target untouched when a later one cannot be replaced" || bad "rootfs replaced before the failure"
[ "$(ls -A "$T/y" | tr '\n' ' ')" = "app rootfs " ] && ok "nothing added, no temp files" || bad "folder now holds: $(ls -A "$T/y")"
# A target that is the bundle itself (same inode) is refused, with or
# without --force, and the bundle is untouched.
mkdir "$T/z"; cp "$T/b.oab" "$T/z/app"; cp "$T/b.oab" "$T/z/keep.oab"
expect 2 "extract target '$T/z/app' is the bundle '$T/z/app' itself" "$O" extract $CA --force -C "$T/z" app "$T/z/app"
ln "$T/z/keep.oab" "$T/z/migrate"
expect 2 "is the bundle" "$O" extract $CA -C "$T/z" "$T/z/keep.oab"
cmp -s "$T/z/keep.oab" "$T/b.oab" && cmp -s "$T/z/migrate" "$T/b.oab" && ok "bundle untouched" || bad "bundle changed"
[ "$(ls -A "$T/z" | tr '\n' ' ')" = "app keep.oab migrate " ] && ok "nothing written beside the bundle" || bad "folder now holds: $(ls -A "$T/z")"
# No temp files left behind in DIR.
[ -z "$(ls -A "$T/x" | grep '^\.')" ] && ok "no temp files in DIR" || bad "temp files in DIR"
finish
