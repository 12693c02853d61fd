#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# t_example.sh - examples/updater.c (the public verify API only) installs a
# payload of a good bundle into a slot file, and refuses a tampered or
# expired bundle without opening the slot.
. "$OAB_ROOT/tests/cli/lib.sh"
U=$OAB_TOOLS/../examples/updater
if [ ! -x "$U" ]; then
	bad "no $U: build it with make examples"
	finish
fi
build_example "$T/good.oab"
expect 0 "" "$U" "$PKI/ca.pem" "$T/good.oab" rootfs "$T/slot"
grep -qx "installed acme-gateway 2.4.1" "$T/.out" && ok "one final line" || bad "output: $(cat "$T/.out")"
[ "$(wc -l < "$T/.out")" -eq 1 ] && [ ! -s "$T/.err" ] && ok "nothing else printed" || bad "more output"
cmp -s "$T/slot" "$IN/rootfs.ext4" && ok "slot holds the payload" || bad "slot differs from the payload"
# The stored (uncompressed) payload too.
expect 0 "" "$U" "$PKI/ca.pem" "$T/good.oab" bootloader "$T/slot2"
cmp -s "$T/slot2" "$IN/u-boot.bin" && ok "stored payload written" || bad "stored payload differs"

# Tampered: one byte of the manifest changed; the slot is never opened.
tar -xOf "$T/good.oab" manifest.yaml | sed 's/version: "2.4.1"/version: "2.4.2"/' > "$T/m.yaml"
"$OAB_TOOLS/tarmangle" "$T/good.oab" "$T/bad.oab" replace manifest.yaml "$T/m.yaml"
expect 1 "" "$U" "$PKI/ca.pem" "$T/bad.oab" rootfs "$T/slot3"
grep -q "^refused: .*signature" "$T/.out" && ok "refused for its signature" || bad "output: $(cat "$T/.out")"
[ -e "$T/slot3" ] && bad "slot written for a tampered bundle" || ok "slot untouched"
expect 1 "" "$U" "$PKI/ca.pem" "$T/good.oab" nosuch "$T/slot4"
grep -q "^refused: no payload named 'nosuch'" "$T/.out" && ok "unknown payload refused" || bad "output: $(cat "$T/.out")"
# Expired (built with a past expiry): refused, slot untouched.
sed 's/expires: .*/expires: 2020-01-01T00:00:00Z/' "$IN/acme-gateway.yaml" > "$IN/example-expired.yaml"
"$O" build -q -o "$T/exp.oab" --key "$PKI/signer.key" --cert "$PKI/signer.pem" \
	--chain "$PKI/chain.pem" "$IN/example-expired.yaml" 2>/dev/null
expect 1 "" "$U" "$PKI/ca.pem" "$T/exp.oab" rootfs "$T/slot5"
grep -q "^refused: .*expired" "$T/.out" && ok "expired refused" || bad "output: $(cat "$T/.out")"
[ -e "$T/slot5" ] && bad "slot written for an expired bundle" || ok "slot untouched (expired)"
finish
