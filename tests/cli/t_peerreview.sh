# SPDX-License-Identifier: Apache-2.0
# Review findings on peer bundles (otabundle-export(5) AUDIT): bounds on
# what their unauthenticated bytes can make the audit hold; commands that
# read otabundle bundles only say so for a native bundle.
. "$(dirname "$0")/lib.sh"
for tool in xz python3; do
	command -v $tool > /dev/null 2>&1 || { [ -n "${CI:-}" ] && bad "$tool missing" || skip "$tool missing"; finish; }
done
S1="--key $PKI/signer.key --cert $PKI/signer.pem --chain $PKI/chain.pem"
openssl x509 -in "$PKI/signer.pem" -pubkey -noout > "$T/signer.pub"
head -c 1048576 "$IN/rootfs.ext4" > "$T/rootfs.img"
cat > "$T/m.yaml" <<'YAML'
format: 1
bundle: {name: m, version: "1.0", security-version: 1, compatible: [acme-gw-v2]}
payloads:
  - {name: rootfs, type: image, source: rootfs.img, slot: rootfs, compression: zstd:3}
YAML
expect 0 "" "$O" build -q -o "$T/m.oab" $S1 "$T/m.yaml"
expect 0 "" "$O" export -q --to mender --mender-compression xz -o "$T/m.mender" $S1 --ca "$PKI/ca.pem" "$T/m.oab"
mkdir "$T/x"
tar -xf "$T/m.mender" -C "$T/x"
# repack OUT: the artifact again, its signed manifest unchanged
repack() { (cd "$T/x" && tar --format=ustar -b 1 -cf "$1" version manifest manifest.sig header.tar.xz data/0000.tar.xz); }

# Mender's data members are not hashed as stored (the manifest has the
# files' content hashes), so an xz stream is decoded before anything
# vouches for it: its dictionary (libarchive allows 1 GiB) stays within
# 128 MiB. Failed before: 'sha256 mismatch' after filling ~1 GiB of RAM.
cp "$T/x/data/0000.tar.xz" "$T/good.xz"
python3 "$OAB_ROOT/tests/tools/xzdict.py" 32 36 "$T/x/data/0000.tar.xz" # 1 GiB dictionary
repack "$T/dict1g.mender"
expect 1 "data/0000.tar.xz'.*xz stream needs more than 128 MiB to decode" \
	"$O" verify --trust "$T/signer.pub" "$T/dict1g.mender"
# xz -9 (64 MiB dictionary) stays accepted: the same content, recompressed.
xz -dc "$T/good.xz" | xz -9 -T1 > "$T/x/data/0000.tar.xz"
repack "$T/xz9.mender"
expect 0 "" "$O" verify -q --trust "$T/signer.pub" "$T/xz9.mender"
# and a damaged xz stream is refused, not read as far as it goes
head -c 2000 "$T/good.xz" > "$T/x/data/0000.tar.xz"
repack "$T/cut.mender"
expect 1 "xz stream truncated" "$O" verify --trust "$T/signer.pub" "$T/cut.mender"

# sign, attach-signature, export-manifest and timestamp of a native bundle:
# exit 2 naming its format, as extract and export (failed before: exit 1,
# "first member is not 'manifest.yaml', not a bundle", as for a damaged one)
for cmd in "sign --key $PKI/second.key --cert $PKI/second.pem -o $T/o" "export-manifest -o $T/o" \
	"timestamp --tsa http://127.0.0.1:9 -o $T/o" "attach-signature -o $T/o $T/signer.pub"; do
	expect 2 "a mender bundle: this command reads otabundle bundles only" "$O" $cmd "$T/m.mender"
done
[ ! -e "$T/o" ] && ok "nothing written" || bad "an output was written"

# Through a pipe a peer bundle cannot be recognised (read from its end or
# by offset): say what it looks like (failed before: "tar header at byte
# 0: checksum mismatch (damaged)" for a .swu or .raucb).
verify_pipe() { cat "$1" | "$O" verify --trust "$T/signer.pub" -; }
expect 1 "a Mender artifact\? verify and inspect audit one given as a file" verify_pipe "$T/m.mender"
expect 0 "" "$O" export -q --to swupdate -o "$T/m.swu" $S1 --ca "$PKI/ca.pem" "$T/m.oab"
expect 1 "not a bundle: a cpio archive \(an SWUpdate .swu\?" verify_pipe "$T/m.swu"
expect 0 "" "$O" export -q --to rauc -o "$T/m.raucb" $S1 --ca "$PKI/ca.pem" "$T/m.oab"
expect 1 "not a bundle: a squashfs image \(a RAUC bundle\?" verify_pipe "$T/m.raucb"
finish
