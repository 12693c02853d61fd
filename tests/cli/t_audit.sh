# SPDX-License-Identifier: Apache-2.0
# The offline audit with stock tools only (tar, openssl, zstd, sha256sum),
# exactly as documented in otabundle-format(5) and the README.
. "$(dirname "$0")/lib.sh"
build_example "$T/B.oab"
cp "$PKI/ca.pem" "$T/ca.pem"
cd "$T"
expect 0 "" tar -xf B.oab manifest.yaml manifest.sig
expect 0 "Verification successful" openssl cms -verify -binary -inform DER -in manifest.sig -content manifest.yaml -CAfile ca.pem -purpose any -out /dev/null
# Every member's content and stored hashes against the signed manifest:
# uncompressed members carry stored-sha256 (= content); compressed ones a
# SHA-256 per stored-chunk-size piece, checked with split --filter.
for m in payloads/rootfs.zst payloads/app.zst payloads/bootloader scripts/migrate.zst sbom/sbom.cdx.json.zst; do
	want=$(awk -v m="$m" '$1 == "member:" && $2 == m { f = 1 } f && $1 == "sha256:" { print $2; exit }' manifest.yaml)
	case $m in
	*.zst)
		got=$(tar -xOf B.oab "$m" | zstd -d | sha256sum | cut -d' ' -f1)
		cs=$(awk -v m="$m" '$1 == "member:" && $2 == m { f = 1 } f && $1 == "stored-chunk-size:" { print $2; exit }' manifest.yaml)
		wants=$(awk -v m="$m" '$1 == "member:" { f = ($2 == m) } f && $1 == "stored-chunks-sha256:" { l = 1; next } l && $1 == "-" && NF == 2 { print $2; next } { l = 0 }' manifest.yaml)
		gots=$(tar -xOf B.oab "$m" | split -b "$cs" --filter='sha256sum' | cut -d' ' -f1)
		;;
	*)
		got=$(tar -xOf B.oab "$m" | sha256sum | cut -d' ' -f1)
		wants=$(awk -v m="$m" '$1 == "member:" && $2 == m { f = 1 } f && $1 == "stored-sha256:" { print $2; exit }' manifest.yaml)
		gots=$(tar -xOf B.oab "$m" | sha256sum | cut -d' ' -f1)
		;;
	esac
	[ -n "$want" ] && [ "$got" = "$want" ] && ok "audit: $m content sha256" || bad "audit: $m content ($want vs $got)"
	[ -n "$wants" ] && [ "$gots" = "$wants" ] && ok "audit: $m stored sha256 ($(echo "$wants" | wc -l) chunk(s))" ||
		bad "audit: $m stored ($wants vs $gots)"
done
# A tampered manifest fails the stock check too.
sed -i 's/security-version: 17/security-version: 99/' manifest.yaml
expect 4 "" openssl cms -verify -binary -inform DER -in manifest.sig -content manifest.yaml -CAfile ca.pem -purpose any -out /dev/null
finish
