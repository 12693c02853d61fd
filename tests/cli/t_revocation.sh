# SPDX-License-Identifier: Apache-2.0
# Revocation (otabundle(1) REVOCATION): CRLs embedded by build/sign --crl,
# added by verify --crl, required by --check-revocation; a real CA made
# with `openssl ca` revokes (-revoke) and issues CRLs (-gencrl).
. "$(dirname "$0")/lib.sh"
MF=$IN/acme-gateway.yaml
START=20200101000000Z END=20990101000000Z
# CRLs are dated from before every validation time used here, so that
# only the revocation dates decide.
LAST=20200601000000Z NEXT=20990101000000Z

cadir() { # DIR: a CA database and config
	mkdir -p "$1"
	: > "$1/index"
	echo 01 > "$1/serial"
	echo 01 > "$1/crlnumber"
	cat > "$1/cnf" <<CNF
[ca]
default_ca = c
[c]
database = $1/index
serial = $1/serial
crlnumber = $1/crlnumber
new_certs_dir = $1
default_md = sha256
policy = p
unique_subject = no
[p]
commonName = supplied
[cax]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
CNF
}
csr() { # NAME
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/$1.key" 2>/dev/null
	openssl req -new -key "$T/$1.key" -subj "/CN=$1" -out "$T/$1.csr" 2>/dev/null
}
ca() { # CADIR CANAME openssl-ca-args...: run openssl ca as CANAME
	d=$1 n=$2
	shift 2
	openssl ca -batch -config "$d/cnf" -cert "$T/$n.pem" -keyfile "$T/$n.key" "$@" >/dev/null 2>&1
}
issue() { # CADIR CANAME NAME EXT
	csr "$3"
	ca "$1" "$2" -startdate $START -enddate $END -extensions "$4" -in "$T/$3.csr" -out "$T/$3.pem" ||
		bad "openssl ca could not issue $3"
}
crl() { # CADIR CANAME OUT [LAST NEXT]
	ca "$1" "$2" -gencrl -crl_lastupdate "${4:-$LAST}" -crl_nextupdate "${5:-$NEXT}" -out "$3" ||
		bad "openssl ca could not make $3"
}

# root -> int -> leaves; a second "int" (same name, other key) forges CRLs.
R=$T/rootdb I=$T/intdb F=$T/fakedb
cadir "$R"; cadir "$I"; cadir "$F"
csr root
openssl ca -batch -selfsign -config "$R/cnf" -keyfile "$T/root.key" -startdate $START -enddate $END \
	-extensions cax -in "$T/root.csr" -out "$T/root.pem" >/dev/null 2>&1 || bad "no root"
issue "$R" root int cax
issue "$I" int good leaf   # serial 01
issue "$I" int gone leaf   # serial 02: revoked (superseded) today
issue "$I" int stolen leaf # serial 03: revoked (keyCompromise) today
ca "$I" int -revoke "$T/gone.pem" -crl_reason superseded || bad "cannot revoke gone"
ca "$I" int -revoke "$T/stolen.pem" -crl_reason keyCompromise || bad "cannot revoke stolen"
crl "$I" int "$T/int.crl"
crl "$R" root "$T/root.crl"
crl "$I" int "$T/stale.crl" 20200601000000Z 20210101000000Z
# the forger: same issuer name "int", serial 01 revoked, another key
csr fakeint
openssl ca -batch -selfsign -config "$F/cnf" -keyfile "$T/fakeint.key" -subj /CN=int -startdate $START \
	-enddate $END -extensions cax -in "$T/fakeint.csr" -out "$T/fakeint.pem" >/dev/null 2>&1 || bad "no fake"
ca "$F" fakeint -revoke "$T/fakeint.pem" -crl_reason keyCompromise || bad "cannot revoke in fake"
crl "$F" fakeint "$T/fake.crl"
openssl crl -in "$T/fake.crl" -noout -text | grep -q "Serial Number: 01" || bad "fake CRL does not list 01"

BOTH="--crl $T/int.crl --crl $T/root.crl"
signed() { # NAME OUT [build args]
	n=$1 out=$2
	shift 2
	"$O" build -q -o "$out" --key "$T/$n.key" --cert "$T/$n.pem" --chain "$T/int.pem" "$@" "$MF"
}
# Before the revocations (2025), and now (after them).
THEN="--now 2025-01-01T00:00:00Z"
V="$O verify --ca $T/root.pem"
jcheck() { # STATUS: $T/.out against otabundle-json(5)
	python3 "$OAB_ROOT/tests/cli/jsoncheck.py" "$OAB_ROOT/man/otabundle-json.5" verify "$1" "$T/.out" &&
		ok "json document of verify (exit $1) as documented" || bad "json document not as documented"
}

# 1. build --crl: the CRLs travel in the signature; verify needs no --crl.
expect 0 "" signed good "$T/good.oab" $BOTH
expect 0 "" $V --check-revocation "$T/good.oab"
grep -q "revocation good (CRL from CN=int, next update 2099-01-01T00:00:00Z)" "$T/.out" &&
	ok "report: good with the CRL issuer and nextUpdate" || bad "report: $(grep revocation "$T/.out")"
expect 0 "" $V --check-revocation --json "$T/good.oab"
jcheck 0
python3 - "$T/.out" <<'PY' && ok "json: revocation good" || bad "json revocation"
import json, sys
s = json.load(open(sys.argv[1]))["signers"][0]["revocation"]
assert s["status"] == "good" and s["crl-issuer"] == "CN=int" and s["next-update"] == "2099-01-01T00:00:00Z", s
PY
# the intermediate's CRL from the root is in the bundle: with the
# intermediate as the anchor only the leaf needs a CRL, with the root both.
expect 0 "" "$O" verify --ca "$T/int.pem" --check-revocation "$T/good.oab"

# 2. no CRL at all: not checked without --check-revocation, rejected with it.
expect 0 "" signed good "$T/plain.oab"
expect 0 "" $V "$T/plain.oab"
grep -q "revocation not checked" "$T/.out" && ok "no CRLs: not checked" || bad "no CRLs: $(grep revocation "$T/.out")"
expect 1 "no current CRL from 'CN=int' for certificate 'CN=good'" $V --check-revocation "$T/plain.oab"
# --crl adds what the bundle lacks; the root's CRL missing is a warning
# without --check-revocation and a rejection with it.
expect 0 "" $V --check-revocation $BOTH "$T/plain.oab"
expect 0 "" $V --crl "$T/int.crl" "$T/plain.oab"
grep -q "revocation no current CRL (warning): no current CRL from 'CN=root' for certificate 'CN=int'" "$T/.out" &&
	ok "missing root CRL: warned" || bad "missing root CRL: $(grep revocation "$T/.out")"
expect 1 "no current CRL from 'CN=root' for certificate 'CN=int'" $V --check-revocation --crl "$T/int.crl" "$T/plain.oab"
expect 1 "no current CRL" "$O" extract --ca "$T/root.pem" --check-revocation -C "$T" "$T/plain.oab"

# 3. revoked (superseded) today: passes before the revocation date, not after.
expect 0 "" signed gone "$T/gone.oab" $BOTH
expect 1 "certificate 'CN=gone' revoked on [0-9T:-]+Z \(superseded\)" $V "$T/gone.oab"
expect 0 "" $V --check-revocation $THEN "$T/gone.oab"
expect 1 "revoked" "$O" extract --ca "$T/root.pem" -C "$T" "$T/gone.oab"
expect 1 "revoked" $V --json "$T/gone.oab"
jcheck 1
python3 - "$T/.out" <<'PY' && ok "json: revoked with date and reason" || bad "json revoked"
import json, sys
s = json.load(open(sys.argv[1]))["signers"][0]["revocation"]
assert s["status"] == "revoked" and s["reason"] == "superseded" and s["revoked-at"], s
PY

# 4. keyCompromise: rejected whatever the revocation date.
expect 0 "" signed stolen "$T/stolen.oab" $BOTH
expect 1 "certificate 'CN=stolen' revoked on .*\(keyCompromise\)" $V "$T/stolen.oab"
expect 1 "keyCompromise" $V $THEN "$T/stolen.oab"

# 5. a revoked intermediate (CRL from the root given with --crl).
ca "$R" root -revoke "$T/int.pem" -crl_reason cACompromise || bad "cannot revoke int"
crl "$R" root "$T/root2.crl"
expect 1 "certificate 'CN=int' revoked on .*\(cACompromise\)" $V --crl "$T/root2.crl" "$T/good.oab"

# 6. stale CRL: warned at build, rejected by --check-revocation, warned otherwise.
expect 0 "warning: CRL of 'CN=int' in '.*stale.crl' is past its nextUpdate" \
	signed good "$T/stale.oab" --crl "$T/stale.crl" --crl "$T/root.crl"
expect 1 "no current CRL from 'CN=int' for certificate 'CN=good' \(its CRL is past nextUpdate\)" \
	$V --check-revocation "$T/stale.oab"
expect 0 "" $V "$T/stale.oab"
grep -q "revocation no current CRL (warning)" "$T/.out" && ok "stale: warned" || bad "stale: $(grep revocation "$T/.out")"

# 7. a CRL signed by the wrong key under the issuer's name is ignored.
expect 0 "" $V --crl "$T/fake.crl" --crl "$T/root.crl" "$T/plain.oab"
expect 1 "no current CRL from 'CN=int'" $V --check-revocation --crl "$T/fake.crl" --crl "$T/root.crl" "$T/plain.oab"

# 8. sign and sign --detached take --crl too.
expect 0 "" "$O" build -q --unsigned -o "$T/u.oab" "$MF"
expect 0 "" "$O" sign -q -o "$T/s.oab" --key "$T/good.key" --cert "$T/good.pem" --chain "$T/int.pem" $BOTH "$T/u.oab"
expect 0 "" $V --check-revocation "$T/s.oab"
mkdir -p "$T/room"
expect 0 "" "$O" export-manifest -o "$T/room/m.yaml" "$T/u.oab"
expect 0 "" "$O" sign -q --detached -o "$T/room/m.sig" --key "$T/good.key" --cert "$T/good.pem" \
	--chain "$T/int.pem" $BOTH "$T/room/m.yaml"
openssl cms -cmsout -print -inform DER -in "$T/room/m.sig" 2>/dev/null | grep -A1 "crls:" | grep -q "d.crl:" &&
	ok "detached signature carries crls" || bad "detached signature has no crls"
expect 0 "" "$O" attach-signature -q -o "$T/room.oab" "$T/room/m.sig" "$T/u.oab"
expect 0 "" $V --check-revocation "$T/room.oab"

# 10. the stock audit of otabundle-format(5): the CRLs out of manifest.sig,
# openssl verify -crl_check_all on the signer certificate.
mkdir -p "$T/audit" && cd "$T/audit" || bad "no audit folder"
tar -xf "$T/good.oab" manifest.sig
openssl pkcs7 -inform DER -in manifest.sig -print_certs > all.pem 2>/dev/null
awk '/^subject=.*CN *= *good/ { p = 1 } p { print } /END CERTIFICATE/ { p = 0 }' all.pem > signer.pem
expect 0 "" openssl verify -crl_check_all -CAfile "$T/root.pem" -untrusted all.pem -CRLfile all.pem signer.pem
tar -xf "$T/gone.oab" manifest.sig
openssl pkcs7 -inform DER -in manifest.sig -print_certs > all.pem 2>/dev/null
awk '/^subject=.*CN *= *gone/ { p = 1 } p { print } /END CERTIFICATE/ { p = 0 }' all.pem > signer.pem
openssl verify -crl_check_all -CAfile "$T/root.pem" -untrusted all.pem -CRLfile all.pem signer.pem > out.txt 2>&1 &&
	bad "stock audit accepted the revoked signer" || { grep -q "certificate revoked" out.txt && ok "stock audit: revoked" || bad "stock audit: $(cat out.txt)"; }
cd "$T" || true

# 9. bad --crl files: usage errors, nothing written.
printf 'not a CRL\n' > "$T/garbage.crl"
expect 2 "CRL file '.*garbage.crl': no PEM X509 CRL found" signed good "$T/x.oab" --crl "$T/garbage.crl"
[ ! -e "$T/x.oab" ] && ok "garbage CRL: nothing written" || bad "garbage CRL: bundle written"
expect 2 "no PEM X509 CRL found" $V --crl "$T/garbage.crl" "$T/good.oab"
head -c 1100000 /dev/zero > "$T/huge.crl"
expect 2 "CRL file: .*huge.crl" $V --crl "$T/huge.crl" "$T/good.oab"
for i in $(seq 40); do cat "$T/int.crl"; done > "$T/many.crl"
expect 2 "more than 32 CRLs" $V --crl "$T/many.crl" "$T/good.oab"
expect 2 "more than 32 CRLs" signed good "$T/x.oab" --crl "$T/many.crl"
finish
