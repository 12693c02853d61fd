# SPDX-License-Identifier: Apache-2.0
# build/sign judge their signers before writing anything: with --ca/--trust
# a signer verify would reject fails (exit 4, nothing written); without,
# what every verifier rejects is a warning on stderr.
. "$(dirname "$0")/lib.sh"
CH="--chain $PKI/chain.pem"
MF=$IN/acme-gateway.yaml

dated_leaf expired 20200101000000Z 20210101000000Z
dated_leaf future 20990101000000Z 21000101000000Z

absent() { [ ! -e "$1" ] && ok "$2: nothing written" || bad "$2: $1 was written"; }

# A good signer with its chain: no warning at all.
expect 0 "" "$O" build -q -o "$T/good.oab" --key "$PKI/signer.key" --cert "$PKI/signer.pem" $CH "$MF"
[ ! -s "$T/.err" ] && ok "good signer: no warning" || bad "good signer warned: $(cat "$T/.err")"
expect 0 "" "$O" build -q -o "$T/good2.oab" --ca "$PKI/ca.pem" --key "$PKI/signer.key" --cert "$PKI/signer.pem" $CH "$MF"
expect 0 "" "$O" verify --ca "$PKI/ca.pem" "$T/good2.oab"

# Expired, not yet valid, wrong EKU: warned without anchors, refused with.
expect 0 "warning: certificate of '.*expired.pem' expired on 2021-01-01T00:00:00Z: verify rejects" \
	"$O" build -q -o "$T/exp.oab" --key "$T/expired.key" --cert "$T/expired.pem" $CH "$MF"
expect 1 "expired" "$O" verify --ca "$PKI/ca.pem" "$T/exp.oab"
expect 4 "signer '.*expired.key' would not verify against the given anchors: .*expired" \
	"$O" build -q -o "$T/exp2.oab" --ca "$PKI/ca.pem" --key "$T/expired.key" --cert "$T/expired.pem" $CH "$MF"
absent "$T/exp2.oab" "expired signer with --ca"
expect 0 "is not valid before 2099-01-01T00:00:00Z" \
	"$O" build -q -o "$T/fut.oab" --key "$T/future.key" --cert "$T/future.pem" $CH "$MF"
expect 4 "would not verify against the given anchors: .*not yet valid" \
	"$O" build -q -o "$T/fut2.oab" --ca "$PKI/ca.pem" --key "$T/future.key" --cert "$T/future.pem" $CH "$MF"
absent "$T/fut2.oab" "not yet valid signer with --ca"
expect 0 "lacks extendedKeyUsage codeSigning" \
	"$O" build -q -o "$T/eku.oab" --key "$PKI/serverauth.key" --cert "$PKI/serverauth.pem" $CH "$MF"
expect 4 "would not verify .*codeSigning" \
	"$O" build -q -o "$T/eku2.oab" --ca "$PKI/ca.pem" --key "$PKI/serverauth.key" --cert "$PKI/serverauth.pem" $CH "$MF"
absent "$T/eku2.oab" "serverAuth signer with --ca"

# A chain that cannot be completed without --chain.
expect 0 "issuer of '.*signer.pem' \(.*Test Release CA.*\) is not embedded" \
	"$O" build -q -o "$T/nochain.oab" --key "$PKI/signer.key" --cert "$PKI/signer.pem" "$MF"
expect 4 "would not verify .*unable to get local issuer certificate" \
	"$O" build -q -o "$T/nochain2.oab" --ca "$PKI/ca.pem" --key "$PKI/signer.key" --cert "$PKI/signer.pem" "$MF"
absent "$T/nochain2.oab" "incomplete chain with --ca"
# ... unless the intermediate is itself the anchor.
expect 0 "" "$O" build -q -o "$T/intanchor.oab" --ca "$PKI/int.pem" --key "$PKI/signer.key" --cert "$PKI/signer.pem" "$MF"

# Pinned keys: --trust the signer's own certificate; another key fails.
expect 0 "" "$O" build -q -o "$T/pin.oab" --trust "$PKI/signer.pem" --key "$PKI/signer.key" --cert "$PKI/signer.pem" $CH "$MF"
expect 4 "signer '.*second.key' would not verify .*not pinned" \
	"$O" build -q -o "$T/pin2.oab" --trust "$PKI/signer.pem" --key "$PKI/second.key" --cert "$PKI/second.pem" $CH "$MF"
absent "$T/pin2.oab" "unpinned signer with --trust"
# Two signers: each must be trusted.
expect 4 "signer '.*serverauth.key' would not verify" \
	"$O" build -q -o "$T/two.oab" --ca "$PKI/ca.pem" --key "$PKI/signer.key" --cert "$PKI/signer.pem" \
	--key "$PKI/serverauth.key" --cert "$PKI/serverauth.pem" $CH "$MF"
absent "$T/two.oab" "one bad signer of two with --ca"
expect 2 "not with --unsigned" "$O" build -q --unsigned --ca "$PKI/ca.pem" -o "$T/u.oab" "$MF"

# sign and sign --detached judge the same way; the bundle is untouched.
expect 0 "" "$O" build -q --unsigned -o "$T/u.oab" "$MF"
cp "$T/u.oab" "$T/u.bak"
expect 4 "would not verify .*codeSigning" "$O" sign --ca "$PKI/ca.pem" \
	--key "$PKI/serverauth.key" --cert "$PKI/serverauth.pem" $CH "$T/u.oab"
cmp -s "$T/u.oab" "$T/u.bak" && ok "refused sign left the bundle untouched" || bad "sign changed the bundle"
expect 0 "expired on 2021" "$O" sign -q -o "$T/s.oab" --key "$T/expired.key" --cert "$T/expired.pem" $CH "$T/u.oab"
expect 0 "" "$O" export-manifest -o "$T/m.yaml" "$T/u.oab"
expect 4 "would not verify .*expired" "$O" sign --detached -o "$T/m.sig" --ca "$PKI/ca.pem" \
	--key "$T/expired.key" --cert "$T/expired.pem" $CH "$T/m.yaml"
absent "$T/m.sig" "sign --detached with an expired signer"
expect 0 "" "$O" sign -q --detached -o "$T/m2.sig" --ca "$PKI/ca.pem" \
	--key "$PKI/signer.key" --cert "$PKI/signer.pem" $CH "$T/m.yaml"

# bundle.expires already past: a warning (verify would reject the bundle).
sed 's/^  expires: .*/  expires: 2020-01-01T00:00:00Z/' "$MF" > "$IN/t_signcheck-expired.yaml"
expect 0 "warning: bundle.expires \(2020-01-01T00:00:00Z\) is already past" \
	"$O" build -q --unsigned -o "$T/old.oab" "$IN/t_signcheck-expired.yaml"
rm -f "$IN/t_signcheck-expired.yaml"
finish
