# SPDX-License-Identifier: Apache-2.0
# sign: co-signing, rotation, signing rooms, thresholds; members unchanged.
. "$(dirname "$0")/lib.sh"
CA="--ca $PKI/ca.pem"
S1="--key $PKI/signer.key --cert $PKI/signer.pem"
S2="--key $PKI/second.key --cert $PKI/second.pem"
S3="--key $PKI/signer-p384.key --cert $PKI/signer-p384.pem"

members() { tar -tf "$1" | grep -v '^manifest.sig$' | while read -r m; do printf '%s ' "$m"; tar -xOf "$1" "$m" | sha256sum; done; }

expect 0 "" "$O" build -q --unsigned -o "$T/u.oab" "$IN/acme-gateway.yaml"
members "$T/u.oab" > "$T/u.members"
# Sign an unsigned bundle, then co-sign it in place.
expect 0 "" "$O" sign -q -o "$T/s1.oab" $S1 --chain "$PKI/chain.pem" "$T/u.oab"
expect 0 "" "$O" verify $CA "$T/s1.oab"
cp "$T/s1.oab" "$T/s2.oab"
expect 0 "" "$O" sign -q $S2 "$T/s2.oab"
expect 0 "" "$O" verify $CA --threshold 2 "$T/s2.oab"
expect 1 "2 distinct trusted signing keys, 3 required" "$O" verify $CA --threshold 3 "$T/s2.oab"
members "$T/s2.oab" | cmp -s - "$T/u.members" && ok "manifest and members byte-identical after signing" || bad "members changed by sign"
# The same key again is refused; the bundle is untouched.
cp "$T/s2.oab" "$T/s2.bak"
expect 2 "already signed this bundle \(signer [12]\)" "$O" sign $S1 "$T/s2.oab"
cmp -s "$T/s2.oab" "$T/s2.bak" && ok "refused sign left the bundle untouched" || bad "bundle changed"
expect 2 "given twice" "$O" sign $S3 $S3 "$T/s2.oab"
# An RSA (PSS) co-signer on an ECDSA-signed bundle, in place and detached.
cp "$T/s1.oab" "$T/rsa.oab"
expect 0 "" "$O" sign -q --key "$PKI/signer-rsa3072.key" --cert "$PKI/signer-rsa3072.pem" "$T/rsa.oab"
expect 0 "" "$O" verify $CA --threshold 2 "$T/rsa.oab"
# Rotation: --replace drops the old signers.
expect 0 "" "$O" sign -q --replace -o "$T/rot.oab" $S3 --chain "$PKI/chain.pem" "$T/s2.oab"
expect 0 "" "$O" verify $CA "$T/rot.oab"
expect 0 "" "$O" inspect "$T/rot.oab"
[ "$(grep -c '^  [0-9]\.' "$T/.out")" = 1 ] && ok "rotation left one signer" || bad "rotation signer count"
grep -q "CN=signer-p384" "$T/.out" && ok "rotated signer listed" || bad "rotated signer"
expect 1 "not trusted" "$O" verify --trust "$PKI/signer.pem" "$T/rot.oab"
# A key counted once however often it signed (stock openssl cms -resign).
mkdir "$T/room"
expect 0 "" "$O" export-manifest -o "$T/room/manifest.yaml" --sig "$T/room/manifest.sig" "$T/s1.oab"
tar -xOf "$T/s1.oab" manifest.yaml | cmp -s - "$T/room/manifest.yaml" && ok "exported manifest is the signed bytes" || bad "export differs"
expect 0 "" openssl cms -resign -binary -inform DER -in "$T/room/manifest.sig" -signer "$PKI/signer.pem" \
	-inkey "$PKI/signer.key" -md sha256 -nocerts -outform DER -out "$T/room/twice.sig"
expect 0 "" "$O" attach-signature -q -o "$T/twice.oab" "$T/room/twice.sig" "$T/s1.oab"
expect 0 "" "$O" verify --json $CA "$T/twice.oab"
grep -q '"trusted-keys": 1' "$T/.out" && ok "one key counted once" || bad "double-counted key"
grep -q "same key as signer 1, counted once" "$T/.out" && ok "duplicate signer explained" || bad "duplicate note"
expect 1 "1 distinct trusted signing key, 2 required" "$O" verify $CA --threshold 2 "$T/twice.oab"
# Signing room with otabundle: sign the exported manifest alone, attach back.
expect 0 "" "$O" sign -q --detached --sig "$T/room/manifest.sig" -o "$T/room/new.sig" $S2 "$T/room/manifest.yaml"
expect 0 "" "$O" attach-signature -q -o "$T/room.oab" "$T/room/new.sig" "$T/s1.oab"
expect 0 "" "$O" verify $CA --threshold 2 "$T/room.oab"
# Signing room with stock openssl cms -sign on an unsigned bundle (PEM output).
expect 0 "" "$O" export-manifest -o "$T/room/u.yaml" "$T/u.oab"
expect 0 "" openssl cms -sign -binary -in "$T/room/u.yaml" -signer "$PKI/second.pem" -inkey "$PKI/second.key" \
	-certfile "$PKI/chain.pem" -md sha256 -outform PEM -out "$T/room/stock.pem"
expect 0 "" "$O" attach-signature -q -o "$T/stock.oab" "$T/room/stock.pem" "$T/u.oab"
expect 0 "" "$O" verify $CA "$T/stock.oab"
# Attaching checks the signature covers exactly this bundle's manifest.
SOURCE_DATE_EPOCH=5 "$O" build -q --unsigned -o "$T/other.oab" "$IN/acme-gateway.yaml"
expect 2 "does not cover this bundle's manifest" "$O" attach-signature -o "$T/bad.oab" "$T/room/stock.pem" "$T/other.oab"
# A PEM signature gets the checks a DER one gets: its DER must be DER
# (here BER indefinite length), refused before anything is written.
openssl cms -cmsout -in "$T/room/stock.pem" -inform PEM -outform DER -out "$T/room/stock.der" 2>/dev/null
perl -0777 -pe 's/^\x30\x82..(.*)\z/\x30\x80$1\x00\x00/s' "$T/room/stock.der" > "$T/room/ber.der"
{ echo "-----BEGIN CMS-----"; base64 -w 64 "$T/room/ber.der"; echo "-----END CMS-----"; } > "$T/room/ber.pem"
expect 2 "signature '.*ber.pem': .*not DER" "$O" attach-signature -o "$T/ber.oab" "$T/room/ber.pem" "$T/u.oab"
[ -e "$T/ber.oab" ] && bad "BER in PEM: output written" || ok "BER in PEM: nothing written"
[ -e "$T/bad.oab" ] && bad "output written for a wrong signature" || ok "nothing written for a wrong signature"
# Attaching a signature that would drop an existing signer needs --replace.
expect 2 "lacks existing signer 1" "$O" attach-signature -o "$T/drop.oab" "$T/room/stock.pem" "$T/s1.oab" 
expect 2 "does not cover" "$O" attach-signature -o "$T/drop.oab" "$T/room/new.sig" "$T/other.oab"
# A damaged bundle is never signed.
cp "$T/u.oab" "$T/dmg.oab"; flip "$T/dmg.oab" $(( $(offset_of "$T/u.oab" payloads/app.zst) + 10 ))
expect 1 "refusing to sign a damaged bundle" "$O" sign -o "$T/dmg2.oab" $S1 "$T/dmg.oab"
[ -e "$T/dmg2.oab" ] && bad "damaged bundle signed" || ok "no output for a damaged bundle"
# Every hash is checked before signing, as verify does: here each stored
# chunk matches the manifest but the content SHA-256 it lists is wrong.
tar -xOf "$T/u.oab" manifest.yaml | awk '/member: payloads\/app.zst/ { a = 1 }
	a && /^  sha256: / { sub(/: .*/, ": " sprintf("%064d", 0)); a = 0 } { print }' > "$T/badsum.yaml"
grep -q "sha256: 0000000000000000000000000000000000000000000000000000000000000000" "$T/badsum.yaml" && ok "content hash edited" || bad "edit failed"
"$OAB_TOOLS/tarmangle" "$T/u.oab" "$T/badsum.oab" replace manifest.yaml "$T/badsum.yaml"
expect 1 "member 'payloads/app.zst': content sha256 mismatch.*refusing to sign a damaged bundle" "$O" sign -o "$T/badsum2.oab" $S1 "$T/badsum.oab"
[ -e "$T/badsum2.oab" ] && bad "bundle with a wrong content hash signed" || ok "no output for a wrong content hash"
expect 0 "" "$O" sign -q --detached -o "$T/badsum.sig" $S1 "$T/badsum.yaml"
expect 1 "content sha256 mismatch.*refusing to sign a damaged bundle" "$O" attach-signature -o "$T/badsum3.oab" "$T/badsum.sig" "$T/badsum.oab"
[ -e "$T/badsum3.oab" ] && bad "attach-signature signed it" || ok "attach-signature wrote nothing"
# A forbidden header (here a global pax header) is never signed either.
"$OAB_TOOLS/tarmangle" "$T/u.oab" "$T/glob.oab" global payloads/app.zst
expect 1 "global pax header" "$O" sign -o "$T/glob2.oab" $S1 "$T/glob.oab"
[ -z "$(ls -A "$T" | grep '^\.' | grep -v '^\.out$\|^\.err$')" ] && ok "no temp files left" || bad "temp files left"
finish
