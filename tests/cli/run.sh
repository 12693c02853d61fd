#!/bin/sh
# run.sh - run every tests/cli/t_*.sh against $OTABUNDLE. A shared test PKI
# and input set are made once per run in $OAB_FIXTURES.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${OTABUNDLE:?set OTABUNDLE to the binary under test}"
export OTABUNDLE OAB_ROOT="$root"
export OAB_FIXTURES=$(mktemp -d "${TMPDIR:-/tmp}/oab-fixtures.XXXXXX")
trap 'rm -rf "$OAB_FIXTURES"' EXIT
sh "$root/scripts/mkpki.sh" "$OAB_FIXTURES/pki" >/dev/null 2>&1
for alg in p384 rsa3072 ed25519; do
	sh "$root/scripts/mkpki.sh" "$OAB_FIXTURES/pki" leaf "signer-$alg" $alg
done
sh "$root/scripts/mkpki.sh" "$OAB_FIXTURES/pki" leaf second p256
sh "$root/scripts/mkpki.sh" "$OAB_FIXTURES/pki" leaf serverauth p256 serverAuth
sh "$root/scripts/mkpki.sh" "$OAB_FIXTURES/pki" leaf rogue p256 codeSigning self
sh "$root/scripts/mkpki.sh" "$OAB_FIXTURES/pki" leaf weak rsa1024
mkdir -p "$OAB_FIXTURES/in"
cp "$root/manifests/examples/acme-gateway.yaml" "$OAB_FIXTURES/in/"
sh "$root/scripts/mkinputs.sh" "$OAB_FIXTURES/in" "${OAB_IMAGE_MIB:-64}" >/dev/null

failed=0 total=0
for t in "$here"/t_${OAB_TESTS:-*}.sh; do
	total=$((total + 1))
	name=$(basename "$t" .sh)
	if sh "$t" > "$OAB_FIXTURES/$name.log" 2>&1; then
		echo "PASS $name ($(grep -c '^ok ' "$OAB_FIXTURES/$name.log") checks)"
	else
		failed=$((failed + 1))
		echo "FAIL $name"
		grep -v "^ok " "$OAB_FIXTURES/$name.log" | sed "s/^/    /" | tail -40
	fi
done
echo "cli tests: $((total - failed))/$total passed"
[ "$failed" -eq 0 ]
