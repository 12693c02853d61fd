# SPDX-License-Identifier: Apache-2.0
# swu_lib.sh - SWUpdate helpers for t_export_swupdate.sh (sourced after lib.sh).
# SWUpdate has no bundle builder: a native .swu is made the documented way,
# cpio (newc or crc) of sw-description, sw-description.sig (openssl cms
# -sign -binary -nosmimecap -outform DER) and the files it names.

# swu_tool NAME: 0 if the peer tool is here. Under CI a missing tool is a
# failure, elsewhere a skip (never an ok).
swu_tool() {
	command -v "$1" >/dev/null 2>&1 && return 0
	if [ -n "${CI:-}" ]; then bad "$1 not installed (make deps)"; else skip "$1 not installed"; fi
	return 1
}

# SWUpdate's -k file: the anchor and the intermediates.
cat "$PKI/ca.pem" "$PKI/int.pem" > "$T/swu-ca.pem"
mkdir -p "$T/swtmp"

# swu_check FILE [REV]: SWUpdate's own dry run (signature, hardware,
# every sha256 and cpio crc); its log in $T/swu.log.
# swupdate 2022.12 -c sometimes exits 1 after logging "SWUPDATE successful"
# with no error (about 1 run in 3 on a loaded machine): such a run counts as
# accepted; a refused file always logs an [ERROR] line.
swu_check() {
	TMPDIR=$T/swtmp swupdate -c -i "$1" -k "$T/swu-ca.pem" --cert-purpose codeSigning \
		-H "board:${2:-1.0}" > "$T/swu.log" 2>&1 && return 0
	grep -q 'SWUPDATE successful' "$T/swu.log" && ! grep -q '\[ERROR\]' "$T/swu.log"
}

# swu_native DIR FORMAT KEY CERT: DIR/native.swu (FORMAT newc or crc)
# signed by KEY/CERT (with the test intermediate), hardware "1.0", a
# zstd image and a post-install script.
swu_native() {
	(
		set -e
		mkdir -p "$1" && cd "$1"
		head -c 300000 /dev/urandom > rootfs.img
		zstd -q -f -3 rootfs.img -o rootfs.img.zst
		printf '#!/bin/sh\nexit 0\n' > post.sh
		cat > sw-description <<SWD
software =
{
	version = "7.1.0";
	description = "native fixture";
	hardware-compatibility: [ "1.0" ];
	images: (
		{
			filename = "rootfs.img.zst";
			type = "raw";
			device = "/dev/disk/by-partlabel/rootfs";
			compressed = "zstd";
			sha256 = "$(sha256sum rootfs.img.zst | cut -c1-64)";
		}
	);
	scripts: (
		{
			filename = "post.sh";
			type = "postinstall";
			sha256 = "$(sha256sum post.sh | cut -c1-64)";
		}
	);
};
SWD
		openssl cms -sign -binary -nosmimecap -outform DER -in sw-description -out sw-description.sig \
			-signer "$4" -inkey "$3" -certfile "$PKI/int.pem" -md sha256
		printf '%s\n' sw-description sw-description.sig rootfs.img.zst post.sh |
			cpio -o -H "$2" --quiet > native.swu
	)
}

# swu_pack DIR FORMAT FILE...: DIR/native.swu from DIR/sw-description (signed
# here by the test signer) and the FILEs of DIR, in that order.
swu_pack() {
	(
		set -e
		cd "$1"
		fmt=$2
		shift 2
		openssl cms -sign -binary -nosmimecap -outform DER -in sw-description -out sw-description.sig \
			-signer "$PKI/signer.pem" -inkey "$PKI/signer.key" -certfile "$PKI/int.pem" -md sha256
		printf '%s\n' sw-description sw-description.sig "$@" | cpio -o -H "$fmt" --quiet > native.swu
	)
}

# swu_offset FILE MEMBER: offset of MEMBER's data in a cpio newc/crc file.
swu_offset() {
	python3 - "$1" "$2" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
o = 0
while True:
    ns, fs = int(d[o+94:o+102], 16), int(d[o+54:o+62], 16)
    name = d[o+110:o+110+ns-1].decode()
    data = (o + 110 + ns + 3) & ~3
    if name == sys.argv[2]:
        print(data)
        break
    if name == 'TRAILER!!!':
        sys.exit(1)
    o = (data + fs + 3) & ~3
PY
}
