# SPDX-License-Identifier: Apache-2.0
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
# Sparse: zero blocks are written as holes (cp --sparse), compressed or
# not; the content is bit-identical and a trailing hole keeps the size.
mkdir "$T/sp" "$T/spx"
{ head -c 1048576 /dev/urandom; head -c 31457280 /dev/zero; head -c 5000 /dev/urandom; head -c 10000000 /dev/zero; } > "$T/sp/disk.img"
cp "$T/sp/disk.img" "$T/sp/raw.img"
cat > "$T/sp/m.yaml" <<'Y'
format: 1
bundle: {name: sparse, version: "1", security-version: 1, compatible: [t]}
payloads:
  - {name: disk, type: image, source: disk.img, compression: zstd:1}
  - {name: raw, type: image, source: raw.img, compression: none}
Y
expect 0 "" "$O" build -q -o "$T/sp.oab" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --chain "$PKI/chain.pem" "$T/sp/m.yaml"
expect 0 "" "$O" extract -q $CA -C "$T/spx" "$T/sp.oab"
for f in disk raw; do
	cmp -s "$T/spx/$f" "$T/sp/$f.img" && ok "sparse $f: bit-identical" || bad "sparse $f differs"
	[ "$(stat -c %s "$T/spx/$f")" = 42510856 ] && ok "sparse $f: full size" || bad "sparse $f size $(stat -c %s "$T/spx/$f")"
	kib=$(du -k "$T/spx/$f" | cut -f1)
	# 1 MiB + 5000 bytes of data; the 40 MiB of zeros are holes
	[ "$kib" -lt 2048 ] && ok "sparse $f: ${kib} KiB allocated of 41515 KiB" || bad "sparse $f: $kib KiB allocated (not sparse)"
done
# No temp files left behind in DIR.
[ -z "$(ls -A "$T/x" | grep '^\.')" ] && ok "no temp files in DIR" || bad "temp files in DIR"
# A file system without O_TMPFILE (NFS, vfat; here a shim): extract says so
# at once and leaves nothing (an unnamed fallback could never be linked).
mkdir "$T/notmp"
with_shim OAB_SHIM_NO_TMPFILE=1 -- "$O" extract --ca "$PKI/ca.pem" -C "$T/notmp" "$T/b.oab" 2> "$T/notmp.err"
rc=$?
[ $rc -eq 3 ] && grep -q "cannot make unnamed temporary files (O_TMPFILE)" "$T/notmp.err" &&
	ok "no O_TMPFILE: exit 3, $(cat "$T/notmp.err")" || bad "no O_TMPFILE: exit $rc: $(cat "$T/notmp.err")"
[ -z "$(ls -A "$T/notmp")" ] && ok "no O_TMPFILE: nothing left" || bad "no O_TMPFILE left: $(ls -A "$T/notmp")"
finish
