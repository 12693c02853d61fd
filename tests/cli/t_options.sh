# SPDX-License-Identifier: Apache-2.0
# A single-value option given twice is a usage error (exit 2) in every
# command, whichever value would have won; options documented as
# repeatable stay repeatable (issue 11, point 11).
. "$(dirname "$0")/lib.sh"
cd "$T"
build_example good.oab || bad "build"
"$O" export-manifest -o m.yaml --sig m.sig good.oab || bad "export-manifest"
CA="--ca $PKI/ca.pem"
K="--key $PKI/signer.key --cert $PKI/signer.pem"
twice() { # OPTION CMD... : exit 2 naming the option
	opt=$1
	shift
	expect 2 "$opt given more than once" "$@"
	[ -s .out ] && bad "$*: printed to stdout" || true
}
# The audit's cases: the weaker value last must not win.
twice --min-security-version "$O" verify $CA --min-security-version 99 --min-security-version 1 good.oab
twice --compatible "$O" verify $CA --compatible acme-gw-v2 --compatible other good.oab
twice --compatible "$O" verify $CA --compatible other --compatible acme-gw-v2 good.oab
twice --threshold "$O" verify $CA --threshold 2 --threshold 1 good.oab
twice --now "$O" verify $CA --now 2031-01-01T00:00:00Z --now 2027-01-01T00:00:00Z good.oab
mkdir x
for o in "--compatible acme-gw-v2" "--min-security-version 1" "--threshold 1" "--now 2027-01-01T00:00:00Z" "-C x" "--directory x"; do
	name=${o%% *}
	[ "$name" = -C ] || [ "$name" = --directory ] && name="-C/--directory"
	twice "$name" "$O" extract $CA $o $o good.oab
done
twice "-C/--directory" "$O" extract $CA -C x --directory x good.oab
[ -z "$(ls -A x)" ] && ok "extract wrote nothing" || bad "extract wrote $(ls -A x)"
twice "-o/--output" "$O" build -o a.oab -o b.oab $K "$IN/acme-gateway.yaml"
twice "-j/--jobs" "$O" build -j 1 -j 2 -o a.oab $K "$IN/acme-gateway.yaml"
twice --pkcs11-module "$O" build --pkcs11-module /a.so --pkcs11-module /b.so -o a.oab $K "$IN/acme-gateway.yaml"
[ -e a.oab ] || [ -e b.oab ] && bad "build wrote a bundle" || ok "build wrote nothing"
twice "-o/--output" "$O" sign -o a.oab --output b.oab $K good.oab
twice --sig "$O" sign --detached -o s.sig --sig m.sig --sig m.sig $K m.yaml
twice --pkcs11-module "$O" sign --pkcs11-module /a.so --pkcs11-module /a.so $K good.oab
twice "-o/--output" "$O" export-manifest -o a.yaml -o b.yaml good.oab
twice --sig "$O" export-manifest -o a.yaml --sig a.sig --sig b.sig good.oab
twice "-o/--output" "$O" attach-signature -o a.oab -o b.oab m.sig good.oab
# With --json the usage error is a JSON document too.
expect 2 "given more than once" "$O" verify --json $CA --threshold 1 --threshold 1 good.oab
grep -q '"exit-status": 2' .out && ok "json usage error" || bad "json usage error: $(cat .out)"
# Repeatable options stay repeatable; flags may be repeated.
expect 0 "" "$O" verify --ca "$PKI/ca.pem" --ca "$PKI/int.pem" --trust "$PKI/signer.pem" --trust "$PKI/second.pem" -q -q good.oab
expect 0 "" "$O" build -q -o two.oab --key "$PKI/signer.key" --cert "$PKI/signer.pem" \
	--key "$PKI/second.key" --cert "$PKI/second.pem" --chain "$PKI/chain.pem" --chain "$PKI/chain.pem" "$IN/acme-gateway.yaml"
expect 0 "" "$O" verify $CA --threshold 2 two.oab
expect 0 "" "$O" extract $CA -f -f -C x good.oab
# --source-root is repeatable (the option table marks it so; the old
# list of repeatable options missed it).
mkdir r1 r2
expect 0 "" "$O" build -q -o roots.oab $K --chain "$PKI/chain.pem" --source-root r1 --source-root r2 "$IN/acme-gateway.yaml"
# Every repeated single-value option of every table is refused: the
# tables say which options take one value (--help shows repeatable ones
# as "ARG...").
for cmd in build verify extract sign export-manifest attach-signature; do
	"$O" help "$cmd" | sed -n '/^options:/,/^$/p' | grep -E -- '--[a-z-]+ [A-Z]+ ' |
		grep -v -- '\.\.\. ' | grep -oE -- '--[a-z][a-z0-9-]*' | head -1 > first
	while read -r o; do
		expect 2 "given more than once" "$O" "$cmd" "$o" v "$o" v x
	done < first
done
finish
