# SPDX-License-Identifier: Apache-2.0
# RFC 3161 timestamps with a real local TSA (openssl ts -reply behind
# tests/tools/tsa_server.py): build/sign/timestamp --tsa store a token per
# signature; verify --tsa-ca judges each signer at its token's genTime.
. "$(dirname "$0")/lib.sh"
TOOLS=$(cd "$(dirname "$0")/../tools" && pwd)
MF=$IN/acme-gateway.yaml
CH="--chain $PKI/chain.pem"
command -v python3 >/dev/null || { bad "python3 is needed for the local TSA"; finish; }

# A TSA PKI: its own root and a timeStamping leaf (EKU critical). NAME
tsa_pki() {
	d=$T/$1
	mkdir -p "$d"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/ca.key" 2>/dev/null
	openssl req -x509 -new -key "$d/ca.key" -subj "/O=otabundle test/CN=$1 Root" -days 3650 \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$d/ca.pem" 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/tsa.key" 2>/dev/null
	openssl req -new -key "$d/tsa.key" -subj "/O=otabundle test/CN=$1 Unit" -out "$d/tsa.csr" 2>/dev/null
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash\n' > "$d/ext"
	openssl x509 -req -in "$d/tsa.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 3650 -extfile "$d/ext" -out "$d/tsa.pem" 2>/dev/null
	cat > "$d/cnf" <<CNF
[tsa]
default_tsa = t
[t]
serial = $d/serial
crypto_device = builtin
signer_cert = $d/tsa.pem
certs = $d/ca.pem
signer_key = $d/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
CNF
	echo 01 > "$d/serial"
}

# serve MODE CNF: start a TSA, set $url and $srvpid.
serve() {
	nsrv=$((${nsrv:-0} + 1))
	pf=$T/port.$nsrv
	python3 "$TOOLS/tsa_server.py" "$1" "$2" "$pf" &
	srvpid=$!
	i=0
	while [ ! -s "$pf" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	url="http://127.0.0.1:$(cat "$pf")/tsa"
}
pids=""
stop_all() { for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap stop_all EXIT

tsa_pki tsa
tsa_pki rogue
serve reply "$T/tsa/cnf"; good=$url; pids="$pids $srvpid"
serve reply "$T/rogue/cnf"; rogue=$url; pids="$pids $srvpid"
serve sleep "$T/tsa/cnf"; slow=$url; pids="$pids $srvpid"
[ -n "$good" ] && [ -n "$rogue" ] && [ -n "$slow" ] && ok "three local TSAs up" || bad "TSA did not start"

# Signers valid for one day from now.
start=$(date -u -d '-1 hour' +%Y%m%d%H%M%SZ)
end=$(date -u -d '+1 day' +%Y%m%d%H%M%SZ)
dated_leaf day "$start" "$end" 11
dated_leaf day2 "$start" "$end" 12
LATER=$(date -u -d '+2 years' +%Y-%m-%dT%H:%M:%SZ)
DAY="--key $T/day.key --cert $T/day.pem $CH"
V="verify --ca $PKI/ca.pem --now $LATER"

# build --tsa: a token per signature; two years later it verifies with --tsa-ca only.
expect 0 "" "$O" build -q -o "$T/ts.oab" $DAY --tsa "$good" "$MF"
expect 0 "" "$O" $V --tsa-ca "$T/tsa/ca.pem" "$T/ts.oab"
grep -q "tsa" "$T/.out" && ok "text report names the TSA time" || bad "text report: $(cat "$T/.out")"
expect 1 "expired.*no timestamp|not trusted.*expired" "$O" $V "$T/ts.oab"
expect 1 "not trusted" "$O" $V --tsa-ca "$T/rogue/ca.pem" "$T/ts.oab"
"$O" $V --tsa-ca "$T/tsa/ca.pem" --json "$T/ts.oab" > "$T/ts.json"
python3 - "$T/ts.json" <<'PY' && ok "json: time-source tsa, timestamp trusted" || bad "json time-source"
import json, sys
s = json.load(open(sys.argv[1]))["signers"][0]
assert s["time-source"] == "tsa", s
assert s["timestamp"]["trusted"] is True and "Unit" in s["timestamp"]["tsa"], s
PY
python3 "$OAB_ROOT/tests/cli/jsoncheck.py" "$OAB_ROOT/man/otabundle-json.5" verify 0 "$T/ts.json" &&
	ok "json with a timestamp matches otabundle-json(5)" || bad "jsoncheck: timestamp report"
# today it verifies with the clock, and says so
"$O" verify --ca "$PKI/ca.pem" --json "$T/ts.oab" > "$T/clock.json"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["signers"][0]; assert s["time-source"]=="clock" and s["timestamp"]["trusted"] is None, s' "$T/clock.json" &&
	ok "json: time-source clock, timestamp unchecked" || bad "json clock: $(cat "$T/clock.json")"
# the token is in the signature, in openssl's eyes too
"$O" export-manifest -o "$T/m.yaml" --sig "$T/m.sig" "$T/ts.oab"
openssl cms -cmsout -print -inform DER -in "$T/m.sig" | grep -q "id-smime-aa-timeStampToken" &&
	ok "token stored as id-aa-timeStampToken" || bad "no id-aa-timeStampToken in manifest.sig"
expect 0 "" "$O" inspect "$T/ts.oab"
grep -qi "timestamp" "$T/.out" && ok "inspect shows the token" || bad "inspect: $(cat "$T/.out")"

# The stock audit of otabundle-format(5), run as the page prints it.
mandoc -Tascii "$OAB_ROOT/man/otabundle-format.5" | sed 's/.\x08//g' |
	sed -n '/^ *openssl asn1parse -inform DER -in manifest.sig/,/^ *openssl ts -verify/p' | sed 's/^ *//' > "$T/audit.sh"
[ "$(wc -l < "$T/audit.sh")" -ge 8 ] && ok "audit commands taken from otabundle-format(5)" || bad "no audit commands in otabundle-format(5)"
mkdir -p "$T/audit" && cp "$T/m.sig" "$T/audit/manifest.sig" && cp "$T/tsa/ca.pem" "$T/audit/tsa-ca.pem"
(cd "$T/audit" && sh "$T/audit.sh") > "$T/audit.out" 2>&1
grep -q "Verification: OK" "$T/audit.out" && grep -q "Time stamp:" "$T/audit.out" &&
	ok "openssl ts -verify accepts the token (stock audit)" || bad "stock audit: $(tail -3 "$T/audit.out")"
cp "$T/rogue/ca.pem" "$T/audit/tsa-ca.pem"
(cd "$T/audit" && sh "$T/audit.sh") > "$T/audit.out" 2>&1
grep -q "Verification: OK" "$T/audit.out" && bad "stock audit accepts an untrusted TSA" || ok "stock audit refuses another TSA's root"

# A bundle signed without a token: timestamp adds one, nothing else moves.
expect 0 "" "$O" build -q -o "$T/plain.oab" $DAY "$MF"
expect 1 "no timestamp" "$O" $V --tsa-ca "$T/tsa/ca.pem" "$T/plain.oab"
expect 0 "" "$O" timestamp -q --tsa "$good" -o "$T/stamped.oab" "$T/plain.oab"
expect 0 "" "$O" $V --tsa-ca "$T/tsa/ca.pem" "$T/stamped.oab"
"$O" export-manifest -o "$T/p.yaml" --sig "$T/p.sig" "$T/plain.oab"
"$O" export-manifest -o "$T/s.yaml" --sig "$T/s.sig" "$T/stamped.oab"
cmp -s "$T/p.yaml" "$T/s.yaml" && ok "timestamp: manifest byte-identical" || bad "timestamp changed the manifest"
for m in $("$OAB_TOOLS/tarmangle" "$T/plain.oab" offsets | awk '$1 != "manifest.sig" && $1 != "manifest.yaml" {print $1}'); do
	a=$(offset_of "$T/plain.oab" "$m") b=$(offset_of "$T/stamped.oab" "$m") n=$(size_of "$T/plain.oab" "$m")
	tail -c +$((a + 1)) "$T/plain.oab" | head -c "$n" > "$T/ma"
	tail -c +$((b + 1)) "$T/stamped.oab" | head -c "$n" > "$T/mb"
	if [ -n "$n" ] && cmp -s "$T/ma" "$T/mb"; then
		ok "timestamp: member $m byte-identical"
	else
		bad "timestamp changed member $m"
	fi
done 2>/dev/null
# the signature value itself is unchanged: the same SignerInfo signature bytes
sigval() { openssl cms -cmsout -print -inform DER -in "$1" | sed -n '/signature:/,/unsignedAttrs/p' | grep -v unsignedAttrs; }
[ "$(sigval "$T/p.sig")" = "$(sigval "$T/s.sig")" ] && ok "timestamp: signature value unchanged" ||
	bad "timestamp changed the signature value"
# stamping again adds nothing new, the second TSA is not asked
expect 0 "" "$O" timestamp -q --tsa "http://127.0.0.1:9/none" -o "$T/again.oab" "$T/stamped.oab"
cmp -s "$T/stamped.oab" "$T/again.oab" && ok "timestamp: already stamped, unchanged" || bad "restamped"
expect 0 "" "$O" build -q -o "$T/unsigned.oab" --unsigned "$MF"
expect 2 "not signed" "$O" timestamp --tsa "$good" -o "$T/u2.oab" "$T/unsigned.oab"

# sign --tsa, and sign --detached --tsa (the signing room)
expect 0 "" "$O" build -q -o "$T/u.oab" --unsigned "$MF"
expect 0 "" "$O" sign -q -o "$T/signed.oab" $DAY --tsa "$good" "$T/u.oab"
expect 0 "" "$O" $V --tsa-ca "$T/tsa/ca.pem" "$T/signed.oab"
"$O" export-manifest -o "$T/room.yaml" "$T/u.oab"
expect 0 "" "$O" sign --detached -o "$T/room.sig" $DAY --tsa "$good" "$T/room.yaml"
expect 0 "" "$O" attach-signature -q -o "$T/room.oab" "$T/room.sig" "$T/u.oab"
expect 0 "" "$O" $V --tsa-ca "$T/tsa/ca.pem" "$T/room.oab"

# A token moved from another signature is refused (imprint mismatch).
expect 0 "" "$O" build -q -o "$T/other.oab" $DAY --tsa "$good" "$MF"
"$O" export-manifest -o "$T/o.yaml" --sig "$T/o.sig" "$T/other.oab"
python3 "$TOOLS/dergraft.py" "$T/o.sig" "$T/p.sig" "$T/moved.sig" || bad "dergraft failed"
if [ -s "$T/moved.sig" ]; then
	expect 0 "" "$O" attach-signature -q --replace -o "$T/moved.oab" "$T/moved.sig" "$T/plain.oab" &&
		expect 1 "timestamp token not trusted: message imprint mismatch" "$O" $V --tsa-ca "$T/tsa/ca.pem" "$T/moved.oab"
	# the same token grafted back onto its own signature verifies (the graft is sound)
	python3 "$TOOLS/dergraft.py" "$T/o.sig" "$T/o.sig" "$T/same.sig" && head -c "$(wc -c < "$T/same.sig")" "$T/o.sig" > "$T/o.der" &&
		cmp -s "$T/same.sig" "$T/o.der" && [ "$(wc -c < "$T/same.sig")" -gt 1000 ] &&
		ok "dergraft: identity graft is byte-identical" || bad "dergraft changes what it should not"
else
	bad "no moved token"
fi

# A tampered token (one byte of the TSA's signature flipped) is refused.
cp "$T/ts.oab" "$T/tamper.oab"
sigoff=$(offset_of "$T/tamper.oab" manifest.sig)
# the TSA's signature value ends the token, which ends manifest.sig's DER
derlen=$(python3 -c 'import sys; b=open(sys.argv[1],"rb").read(); print(4+int.from_bytes(b[2:4],"big"))' "$T/m.sig")
flip "$T/tamper.oab" $((sigoff + derlen - 5))
expect 1 "not trusted|malformed" "$O" $V --tsa-ca "$T/tsa/ca.pem" "$T/tamper.oab"

# TSA down (closed port) and TSA that never answers: exit 3 in time, nothing written.
expect 3 "TSA.*(refused|connect|Couldn)" "$O" build -q -o "$T/down.oab" $DAY --tsa "http://127.0.0.1:9/" --tsa-timeout 5 "$MF"
[ ! -e "$T/down.oab" ] && ok "TSA down: nothing written" || bad "TSA down: output written"
t0=$(date +%s)
expect 3 "TSA.*(timed out|Timeout)" "$O" sign -q -o "$T/slow.oab" $DAY --tsa "$slow" --tsa-timeout 2 "$T/u.oab"
t1=$(date +%s)
[ $((t1 - t0)) -le 6 ] && ok "slow TSA: gave up after $((t1 - t0)) s (--tsa-timeout 2)" || bad "slow TSA took $((t1 - t0)) s"
[ ! -e "$T/slow.oab" ] && ok "slow TSA: nothing written" || bad "slow TSA: output written"
cp "$T/plain.oab" "$T/keep.oab"
expect 3 "TSA" "$O" timestamp -q --tsa "$slow" --tsa-timeout 1 "$T/keep.oab"
cmp -s "$T/plain.oab" "$T/keep.oab" && ok "slow TSA: bundle left as it was" || bad "timestamp changed the bundle on failure"
expect 2 "tsa-timeout" "$O" build -q -o "$T/x.oab" $DAY --tsa "$good" --tsa-timeout 0 "$MF"
expect 2 "http" "$O" build -q -o "$T/x.oab" $DAY --tsa "file:///etc/passwd" "$MF"

# m-of-n: one timestamped one-day signer plus one expired one-day signer
# with no token: 1 counted two years later.
expect 0 "" "$O" sign -q -o "$T/one.oab" $DAY --tsa "$good" "$T/u.oab"
expect 0 "" "$O" sign -q -o "$T/mn.oab" --key "$T/day2.key" --cert "$T/day2.pem" $CH "$T/one.oab"
expect 1 "1 distinct trusted signing key, 2 required" "$O" $V --tsa-ca "$T/tsa/ca.pem" --threshold 2 "$T/mn.oab"
expect 0 "" "$O" $V --tsa-ca "$T/tsa/ca.pem" --threshold 1 "$T/mn.oab"
"$O" $V --tsa-ca "$T/tsa/ca.pem" --json "$T/mn.oab" > "$T/mn.json"
python3 - "$T/mn.json" <<'PY' && ok "m-of-n json: one signer judged at its token, one at --now and untrusted" || bad "m-of-n json: $(cat "$T/mn.json")"
import json, sys
d = json.load(open(sys.argv[1]))
src = sorted((s["time-source"], s["trusted"]) for s in d["signers"])
assert src == [("--now", False), ("tsa", True)], src
PY
# today (the clock) both count
expect 0 "" "$O" verify --ca "$PKI/ca.pem" --threshold 2 "$T/mn.oab"
# Revocation judged at the token's time: a signer revoked (superseded)
# before its signature was timestamped is rejected, one revoked after it
# passes; keyCompromise is rejected whatever the dates (otabundle(1)
# REVOCATION). Each leaf has its own openssl ca database and CRL.
crl_of() { # NAME OUT: NAME's CRL, current from an hour ago for 30 days
	openssl ca -config "$T/ca-$1/cnf" -cert "$PKI/int.pem" -keyfile "$PKI/int.key" -gencrl \
		-crl_lastupdate "$start" -crl_nextupdate "$(date -u -d '+30 days' +%Y%m%d%H%M%SZ)" \
		-out "$2" >/dev/null 2>&1 || bad "cannot make the CRL of $1"
}
revoke() { # NAME REASON
	openssl ca -config "$T/ca-$1/cnf" -cert "$PKI/int.pem" -keyfile "$PKI/int.key" \
		-revoke "$T/$1.pem" -crl_reason "$2" >/dev/null 2>&1 || bad "cannot revoke $1"
}
stamped() { # NAME OUT: a bundle signed by NAME with a token from the good TSA
	"$O" build -q -o "$2" --key "$T/$1.key" --cert "$T/$1.pem" $CH --tsa "$good" "$MF" || bad "build $2"
}
dated_leaf rbefore "$start" "$end" 21
revoke rbefore superseded
sleep 1 # revocation dates have whole seconds: the token comes strictly later
stamped rbefore "$T/rb.oab"
crl_of rbefore "$T/rb.crl"
expect 1 "revoked" "$O" $V --tsa-ca "$T/tsa/ca.pem" --crl "$T/rb.crl" "$T/rb.oab"
dated_leaf rafter "$start" "$end" 22
stamped rafter "$T/ra.oab"
sleep 1
revoke rafter superseded
crl_of rafter "$T/ra.crl"
expect 0 "" "$O" $V --tsa-ca "$T/tsa/ca.pem" --crl "$T/ra.crl" "$T/ra.oab"
expect 1 "revoked" "$O" verify --ca "$PKI/ca.pem" --crl "$T/ra.crl" "$T/ra.oab"
dated_leaf rkey "$start" "$end" 23
stamped rkey "$T/rk.oab"
sleep 1
revoke rkey keyCompromise
crl_of rkey "$T/rk.crl"
expect 1 "revoked.*keyCompromise|keyCompromise" "$O" $V --tsa-ca "$T/tsa/ca.pem" --crl "$T/rk.crl" "$T/rk.oab"
finish
