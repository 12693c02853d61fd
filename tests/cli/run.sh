#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# run.sh - run every tests/cli/t_*.sh against $OTABUNDLE. The shared test
# PKI and input set are made once and cached in $OAB_CACHE (build/fixtures
# by default), under a hash of the scripts that make them and the image
# size; each run works on its own copy in $OAB_FIXTURES (tests add files
# beside the inputs).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${OTABUNDLE:?set OTABUNDLE to the binary under test}"
export OTABUNDLE OAB_ROOT="$root"

make_fixtures() {
	sh "$root/scripts/mkpki.sh" "$1/pki" >/dev/null 2>&1
	for alg in p384 rsa3072 ed25519; do
		sh "$root/scripts/mkpki.sh" "$1/pki" leaf "signer-$alg" $alg
	done
	sh "$root/scripts/mkpki.sh" "$1/pki" leaf second p256
	sh "$root/scripts/mkpki.sh" "$1/pki" leaf serverauth p256 serverAuth
	sh "$root/scripts/mkpki.sh" "$1/pki" leaf rogue p256 codeSigning self
	sh "$root/scripts/mkpki.sh" "$1/pki" leaf weak rsa1024
	mkdir -p "$1/in"
	cp "$root/manifests/examples/acme-gateway.yaml" "$1/in/"
	sh "$root/scripts/mkinputs.sh" "$1/in" "${OAB_IMAGE_MIB:-64}" >/dev/null
}

cache=${OAB_CACHE:-$root/build/fixtures}
key=$({ cat "$0" "$root/scripts/mkpki.sh" "$root/scripts/mkinputs.sh" \
	"$root/manifests/examples/acme-gateway.yaml"; echo "image ${OAB_IMAGE_MIB:-64}"; } |
	sha256sum | cut -c1-16)
if [ ! -f "$cache/$key/done" ]; then
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/.new.XXXXXX")
	make_fixtures "$tmp"
	: > "$tmp/done"
	# Another run may have made the same set meanwhile: keep the first.
	mv -T "$tmp" "$cache/$key" 2>/dev/null || rm -rf "$tmp"
	echo "fixtures: made $cache/$key"
fi
export OAB_FIXTURES=$(mktemp -d "${TMPDIR:-/tmp}/oab-fixtures.XXXXXX")
trap 'rm -rf "$OAB_FIXTURES"' EXIT
cp -a "$cache/$key/pki" "$cache/$key/in" "$OAB_FIXTURES/"

failed=0 total=0 checks=0 skipped=0 skipped_scripts=0
for t in "$here"/t_${OAB_TESTS:-*}.sh; do
	total=$((total + 1))
	name=$(basename "$t" .sh)
	log=$OAB_FIXTURES/$name.log
	if sh "$t" > "$log" 2>&1; then st=PASS; else st=FAIL; failed=$((failed + 1)); fi
	n=$(grep -c '^ok ' "$log" || true)
	s=$(grep -c '^skip ' "$log" || true)
	checks=$((checks + n)) skipped=$((skipped + s))
	if [ "$st" = PASS ] && [ "$n" -eq 0 ] && [ "$s" -gt 0 ]; then
		st=SKIP skipped_scripts=$((skipped_scripts + 1))
		echo "SKIP $name"
	elif [ "$st" = PASS ] && [ "$n" -eq 0 ]; then
		# A script that checked nothing has not passed.
		st=FAIL failed=$((failed + 1))
		echo "FAIL $name: no check ran"
	else
		echo "$st $name ($n checks$([ "$s" -eq 0 ] || echo ", $s skipped"))"
	fi
	grep '^skip ' "$log" | sed "s/^/    /"
	[ "$st" != FAIL ] || grep -v "^ok \|^skip " "$log" | sed "s/^/    /" | tail -40
done
echo "cli: $((total - failed - skipped_scripts)) passed, $failed failed, $skipped_scripts skipped ($checks checks passed, $skipped skipped)"
[ "$failed" -eq 0 ]
