# SPDX-License-Identifier: Apache-2.0
# mender_fixtures.sh - native Mender artifacts made by mender-artifact itself
# from the test PKI (sourced by t_export_mender.sh after lib.sh). Cached in
# build/fixtures/mender-HASH (hash of this script, the signer keys and the
# tool's version); each run copies them into $MF:
#   ec.key ec.pub      the test signer's P-256 key in SEC1 form (what
#                      `mender-artifact write -k` wants) and its public key
#   rsa.key rsa.pub    signer-rsa3072's key in PKCS#1 form and its public key
#   rootfs.img         a 1 MiB payload
#   ec.mender rsa.mender unsigned.mender   rootfs-image artifacts (gzip)
#   ec-xz.mender       the same signed with the EC key, xz-compressed
mender_fixtures() {
	MF=$T/mender-native
	mkey=$({ cat "$OAB_ROOT/tests/cli/mender_fixtures.sh" "$PKI/signer.key" "$PKI/signer-rsa3072.key"
		mender-artifact --version 2>&1; } | sha256sum | cut -c1-16)
	mcache=${OAB_CACHE:-$OAB_ROOT/build/fixtures}/mender-$mkey
	if [ ! -f "$mcache/done" ]; then
		mtmp=$(mktemp -d "${TMPDIR:-/tmp}/oab-mender.XXXXXX")
		openssl ec -in "$PKI/signer.key" -out "$mtmp/ec.key" 2>/dev/null
		openssl ec -in "$PKI/signer.key" -pubout -out "$mtmp/ec.pub" 2>/dev/null
		openssl rsa -traditional -in "$PKI/signer-rsa3072.key" -out "$mtmp/rsa.key" 2>/dev/null
		openssl rsa -in "$PKI/signer-rsa3072.key" -pubout -out "$mtmp/rsa.pub" 2>/dev/null
		head -c 1048576 "$IN/rootfs.ext4" > "$mtmp/rootfs.img"
		mw() { # OUT [args]
			o=$1
			shift
			SOURCE_DATE_EPOCH=1700000000 mender-artifact write rootfs-image -t acme-gw-v2 \
				-n acme-native-1.0 -f "$mtmp/rootfs.img" -o "$mtmp/$o" "$@" >/dev/null 2>&1
		}
		mw ec.mender -k "$mtmp/ec.key" && mw rsa.mender -k "$mtmp/rsa.key" && mw unsigned.mender &&
			mw ec-xz.mender -k "$mtmp/ec.key" --compression lzma || {
			rm -rf "$mtmp"
			return 1
		}
		: > "$mtmp/done"
		mkdir -p "$(dirname "$mcache")"
		mv -T "$mtmp" "$mcache" 2>/dev/null || rm -rf "$mtmp"
	fi
	cp -a "$mcache" "$MF"
}
