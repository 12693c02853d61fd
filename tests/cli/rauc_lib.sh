# SPDX-License-Identifier: Apache-2.0
# rauc_lib.sh - RAUC helpers for t_export_rauc.sh (sourced after lib.sh).
#   need_tool CMD...      every CMD installed, else a failure under CI ($CI
#                         set) and a skip elsewhere (returns 1)
#   rauc_conf FILE CA     a system.conf for `rauc info/extract`:
#                         compatible acme-gw-v2, check-purpose=codesign
#   rauc_native DIR       DIR/native-verity.raucb and DIR/native-plain.raucb
#                         made by rauc's own builder (`rauc bundle`) from the
#                         test PKI, with two images (DIR/content holds them),
#                         cached under build/fixtures by a hash of this file
#                         and the PKI's signer certificate.

need_tool() {
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 && continue
		if [ -n "${CI:-}" ]; then
			bad "$tool is not installed (make deps); needed under CI"
		else
			skip "$tool is not installed (make deps)"
		fi
		return 1
	done
	return 0
}

rauc_conf() {
	printf '[system]\ncompatible=acme-gw-v2\nbootloader=noop\n\n[keyring]\npath=%s\ncheck-purpose=codesign\n' \
		"$2" > "$1"
}

rauc_native_make() { # DIR
	mkdir -p "$1/content"
	# 1 MiB of noise, 1 MiB of zeros, and a small tar: data, a hole, an archive.
	head -c 1048576 /dev/urandom > "$1/content/rootfs.img"
	head -c 1048576 /dev/zero >> "$1/content/rootfs.img"
	tar -C "$PKI" -cf "$1/content/appfs.tar" ca.pem
	for fmt in verity plain; do
		rm -rf "$1/c-$fmt"
		cp -a "$1/content" "$1/c-$fmt"
		printf '[update]\ncompatible=acme-gw-v2\nversion=7.1.0\n\n[bundle]\nformat=%s\n\n[image.rootfs]\nfilename=rootfs.img\n\n[image.appfs]\nfilename=appfs.tar\n' \
			"$fmt" > "$1/c-$fmt/manifest.raucm"
		rauc bundle --cert "$PKI/signer.pem" --key "$PKI/signer.key" --intermediate "$PKI/int.pem" \
			"$1/c-$fmt" "$1/native-$fmt.raucb" >/dev/null 2>&1 || return 1
	done
}

rauc_native() { # DIR
	key=$({ cat "$OAB_ROOT/tests/cli/rauc_lib.sh" "$PKI/signer.pem"; } | sha256sum | cut -c1-16)
	cache=${OAB_CACHE:-$OAB_ROOT/build/fixtures}/rauc-$key
	if [ ! -f "$cache/native-plain.raucb" ]; then
		tmp=$(mktemp -d "${TMPDIR:-/tmp}/oab-rauc.XXXXXX")
		rauc_native_make "$tmp" || { rm -rf "$tmp"; return 1; }
		mkdir -p "$(dirname "$cache")"
		mv -T "$tmp" "$cache" 2>/dev/null || rm -rf "$tmp"
	fi
	mkdir -p "$1"
	cp -a "$cache/." "$1/"
}
