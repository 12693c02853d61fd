# SPDX-License-Identifier: Apache-2.0
# Trust and policy: who may sign, for which device, rollback, expiry.
. "$(dirname "$0")/lib.sh"
CA="--ca $PKI/ca.pem"

build_example "$T/good.oab"
# Untrusted signers.
"$O" build -q -o "$T/rogue.oab" --key "$PKI/rogue.key" --cert "$PKI/rogue.pem" "$IN/acme-gateway.yaml"
expect 1 "signer 1 \(CN=rogue\) not trusted" "$O" verify $CA "$T/rogue.oab"
expect 0 "" "$O" verify --trust "$PKI/rogue.pem" "$T/rogue.oab"
expect 1 "not trusted" "$O" verify --trust "$PKI/second.pem" "$T/good.oab"
expect 1 "not trusted" "$O" verify --ca "$PKI/rogue.pem" "$T/good.oab"
# The intermediate is carried in the signature but is not an anchor by itself.
"$O" build -q -o "$T/nochain.oab" --key "$PKI/signer.key" --cert "$PKI/signer.pem" "$IN/acme-gateway.yaml"
expect 1 "not trusted" "$O" verify $CA "$T/nochain.oab"
expect 0 "" "$O" verify --ca "$PKI/int.pem" "$T/nochain.oab"
# codeSigning purpose enforced.
"$O" build -q -o "$T/srv.oab" --key "$PKI/serverauth.key" --cert "$PKI/serverauth.pem" --chain "$PKI/chain.pem" "$IN/acme-gateway.yaml"
expect 1 "codeSigning" "$O" verify $CA "$T/srv.oab"
# Unsigned bundles never verify.
"$O" build -q -o "$T/unsigned.oab" --unsigned "$IN/acme-gateway.yaml"
expect 1 "not signed" "$O" verify $CA "$T/unsigned.oab"
expect 0 "" "$O" inspect "$T/unsigned.oab"
grep -q UNSIGNED "$T/.out" && ok "inspect says UNSIGNED" || bad "inspect unsigned"
# No anchor at all is a usage error.
expect 2 "no trust anchor" "$O" verify "$T/good.oab"
expect 2 "no trust anchor" "$O" extract -C "$T" "$T/good.oab"
# Compatible, rollback.
expect 1 "not compatible with 'other-board'" "$O" verify $CA --compatible other-board "$T/good.oab"
expect 0 "" "$O" verify $CA --compatible acme-gw-v2 "$T/good.oab"
expect 1 "security-version 17 is below the minimum 18" "$O" verify $CA --min-security-version 18 "$T/good.oab"
expect 2 "min-security-version" "$O" verify $CA --min-security-version -1 "$T/good.oab"
# Expiry, with --now for audits at a given date.
sed 's/expires: .*/expires: 2020-01-01T00:00:00Z/' "$IN/acme-gateway.yaml" > "$IN/expired.yaml"
"$O" build -q -o "$T/expired.oab" --key "$PKI/signer.key" --cert "$PKI/signer.pem" --chain "$PKI/chain.pem" "$IN/expired.yaml"
rm -f "$IN/expired.yaml"
expect 1 "expired at 2020-01-01T00:00:00Z" "$O" verify $CA "$T/expired.oab"
expect 1 "" "$O" extract $CA -C "$T" "$T/expired.oab"
# At a time before expiry the bundle is fine, but the certificate must be valid then too.
expect 1 "not trusted" "$O" verify $CA --now 2019-12-31T00:00:00Z "$T/expired.oab"
expect 0 "" "$O" verify --trust "$PKI/signer.pem" --now 2019-12-31T00:00:00Z "$T/expired.oab"
expect 1 "expired" "$O" verify $CA --now 2031-01-01T00:00:00Z "$T/good.oab"
expect 2 "--now" "$O" verify $CA --now yesterday "$T/good.oab"
# JSON report names every check, also on failure.
expect 1 "" "$O" verify --json $CA --compatible nope "$T/good.oab"
grep -q '"verified": false' "$T/.out" && ok "json verified false" || bad "json verified"
grep -q '"id": "policy.compatible"' "$T/.out" && ok "json lists the policy check" || bad "json policy check"
expect 0 "" "$O" verify --json $CA "$T/good.oab"
grep -q '"verified": true' "$T/.out" && ok "json verified true" || bad "json verified true"
grep -c '"id": "member-hash"' "$T/.out" | grep -q '^5$' && ok "json lists 5 member checks" || bad "json member checks"
# Threshold.
expect 1 "1 distinct trusted signing key, 2 required" "$O" verify $CA --threshold 2 "$T/good.oab"
"$O" build -q -o "$T/two.oab" --key "$PKI/signer.key" --cert "$PKI/signer.pem" \
	--key "$PKI/second.key" --cert "$PKI/second.pem" --chain "$PKI/chain.pem" "$IN/acme-gateway.yaml"
expect 0 "" "$O" verify $CA --threshold 2 "$T/two.oab"
expect 1 "2 distinct trusted signing keys, 3 required" "$O" verify $CA --threshold 3 "$T/two.oab"
expect 1 "" "$O" verify --trust "$PKI/second.pem" --threshold 2 "$T/two.oab"
expect 0 "" "$O" verify --trust "$PKI/second.pem" "$T/two.oab"
finish
