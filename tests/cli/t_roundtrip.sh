# build -> verify -> inspect -> extract round trip on a 64 MiB image.
. "$(dirname "$0")/lib.sh"

expect 0 "" build_example "$T/b.oab"
expect 0 "" "$O" verify --ca "$PKI/ca.pem" "$T/b.oab"
expect 0 "" "$O" verify --ca "$PKI/int.pem" "$T/b.oab"      # anchor may be an intermediate
expect 0 "" "$O" verify --trust "$PKI/signer.pem" "$T/b.oab" # pinned certificate
openssl x509 -in "$PKI/signer.pem" -pubkey -noout > "$T/signer.pub"
expect 0 "" "$O" verify --trust "$T/signer.pub" "$T/b.oab"   # pinned public key
expect 0 "" "$O" verify --ca "$PKI/ca.pem" --compatible acme-gw-v2 --min-security-version 17 "$T/b.oab"
expect 0 "" "$O" verify --ca "$PKI/ca.pem" - < "$T/b.oab"    # from a pipe
expect 0 "" "$O" inspect "$T/b.oab"
grep -q "acme-gateway 2.4.1" "$T/.out" && ok "inspect shows name and version" || bad "inspect output"
grep -q "unverified" "$T/.out" && ok "inspect marks data unverified" || bad "inspect unverified"
expect 0 "" "$O" inspect --json "$T/b.oab"
mkdir "$T/x"
expect 0 "" "$O" extract --ca "$PKI/ca.pem" -C "$T/x" "$T/b.oab"
for f in rootfs:rootfs.ext4 app:app.tar bootloader:u-boot.bin migrate:migrate.sh sbom.cdx.json:sbom.cdx.json; do
	if cmp -s "$T/x/${f%%:*}" "$IN/${f#*:}"; then ok "extract ${f%%:*} is bit-identical"; else bad "extract ${f%%:*} differs"; fi
done
[ -x "$T/x/migrate" ] && ok "script extracted executable" || bad "script mode"
finish
