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
expect 2 "extract folder .*no such folder" "$O" extract $CA -C "$T/none" "$T/b.oab"
expect 2 "-C DIR" "$O" extract $CA "$T/b.oab"
# No temp files left behind in DIR.
[ -z "$(ls -A "$T/x" | grep '^\.')" ] && ok "no temp files in DIR" || bad "temp files in DIR"
finish
