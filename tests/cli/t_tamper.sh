#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# t_tamper.sh - a signed bundle whose manifest.yaml was replaced (here by
# bytes that are not YAML at all, which the parser would refuse with a
# file:line:col error) is refused by sign, attach-signature, extract,
# verify and export-manifest with the signature error: nothing from the
# manifest is parsed before its signature checked out.
. "$OAB_ROOT/tests/cli/lib.sh"
CA="--ca $PKI/ca.pem"
S1="--key $PKI/second.key --cert $PKI/second.pem --chain $PKI/chain.pem"

build_example "$T/good.oab"
printf 'bundle: {{{ [ not: yaml\n\t- at all: "\n' > "$T/bad.yaml"
"$OAB_TOOLS/tarmangle" "$T/good.oab" "$T/t.oab" replace manifest.yaml "$T/bad.yaml"
# The same bytes parsed alone give a YAML error (what must not be seen).
expect 2 "bad.yaml:[0-9]+:[0-9]+" "$O" sign --detached -o "$T/x.sig" $S1 "$T/bad.yaml"
# A detached signature over the tampered manifest bytes, for attach-signature.
cp "$T/bad.yaml" "$T/room.yaml"
openssl cms -sign -binary -noattr -outform DER -in "$T/room.yaml" -signer "$PKI/second.pem" \
	-inkey "$PKI/second.key" -out "$T/room.sig" 2>/dev/null && ok "room signature made" || bad "openssl cms"

for cmd in "sign -o $T/out.oab $S1" "attach-signature -o $T/out.oab $T/room.sig" \
	"extract $CA -C $T/x" "verify $CA" "export-manifest -o $T/m.yaml"; do
	mkdir -p "$T/x"
	# shellcheck disable=SC2086
	expect 1 "signature" "$O" $cmd "$T/t.oab"
	if grep -Eq "manifest.yaml:[0-9]+:[0-9]+|yaml|YAML|expected a" "$T/.err"; then
		bad "$cmd: a YAML error, the manifest was parsed: $(cat "$T/.err")"
	else
		ok "$cmd: the signature error, no YAML error"
	fi
	[ -e "$T/out.oab" ] || [ -n "$(ls "$T/x")" ] || [ -e "$T/m.yaml" ] &&
		bad "$cmd wrote something" || ok "$cmd wrote nothing"
done
finish
