# SPDX-License-Identifier: Apache-2.0
# Signer key types, encrypted keys and passphrase sources, key errors.
. "$(dirname "$0")/lib.sh"
CA="--ca $PKI/ca.pem"

for alg in p384 rsa3072; do
	expect 0 "" "$O" build -q -o "$T/$alg.oab" --key "$PKI/signer-$alg.key" --cert "$PKI/signer-$alg.pem" \
		--chain "$PKI/chain.pem" "$IN/acme-gateway.yaml"
	expect 0 "" "$O" verify $CA "$T/$alg.oab"
	mkdir -p "$T/a-$alg"
	(cd "$T/a-$alg" && tar -xf "$T/$alg.oab" manifest.yaml manifest.sig)
	expect 0 "" openssl cms -verify -binary -inform DER -in "$T/a-$alg/manifest.sig" \
		-content "$T/a-$alg/manifest.yaml" -CAfile "$PKI/ca.pem" -purpose any -out /dev/null
done
openssl cms -cmsout -print -inform DER -in "$T/a-rsa3072/manifest.sig" | grep -q rsassaPss &&
	ok "RSA signs with PSS" || bad "RSA signature is not PSS"
# OpenSSL 3.0's CMS cannot do Ed25519 (RFC 8419): refused with a clear message.
expect 4 "Ed25519 CMS signatures are not supported" "$O" build -q -o "$T/ed.oab" --key "$PKI/signer-ed25519.key" --cert "$PKI/signer-ed25519.pem" "$IN/acme-gateway.yaml"
"$O" inspect "$T/rsa3072.oab" | grep -q "key RSA-3072" && ok "inspect shows RSA-3072" || bad "inspect key type rsa"
expect 4 "at least 2048 bits" "$O" build -q -o "$T/weak.oab" --key "$PKI/weak.key" --cert "$PKI/weak.pem" "$IN/acme-gateway.yaml"

# Encrypted key, passphrase from env, file and fd; never from argv.
openssl pkey -in "$PKI/signer.key" -aes256 -passout pass:s3cret-Pw -out "$T/enc.key"
printf 's3cret-Pw\n' > "$T/pw"
SECRET=s3cret-Pw expect 0 "" "$O" build -q -o "$T/e1.oab" --key "$T/enc.key" --cert "$PKI/signer.pem" --pass env:SECRET "$IN/acme-gateway.yaml"
expect 0 "" "$O" build -q -o "$T/e2.oab" --key "$T/enc.key" --cert "$PKI/signer.pem" --pass "file:$T/pw" "$IN/acme-gateway.yaml"
expect 0 "" "$O" build -q -o "$T/e3.oab" --key "$T/enc.key" --cert "$PKI/signer.pem" --pass fd:3 "$IN/acme-gateway.yaml" 3< "$T/pw"
expect 0 "" "$O" verify --ca "$PKI/int.pem" "$T/e3.oab"
expect 2 "literal secrets are not accepted" "$O" build -o "$T/e4.oab" --key "$T/enc.key" --cert "$PKI/signer.pem" --pass pass:s3cret-Pw "$IN/acme-gateway.yaml"
grep -q s3cret "$T/.err" && bad "passphrase echoed" || ok "passphrase not echoed"
WRONG=guess-Pw expect 4 "wrong passphrase" "$O" build -o "$T/e5.oab" --key "$T/enc.key" --cert "$PKI/signer.pem" --pass env:WRONG "$IN/acme-gateway.yaml"
grep -q guess-Pw "$T/.err" "$T/.out" && bad "wrong passphrase echoed" || ok "wrong passphrase not echoed"
[ -e "$T/e5.oab" ] && bad "output left after wrong passphrase" || ok "no output after wrong passphrase"
expect 4 "encrypted: give its passphrase with --pass" "$O" build -o "$T/e6.oab" --key "$T/enc.key" --cert "$PKI/signer.pem" "$IN/acme-gateway.yaml" < /dev/null
# The library says what is missing (detail), the command line which option gives it.
expect 4 "" "$O" build --json -o "$T/e6.oab" --key "$T/enc.key" --cert "$PKI/signer.pem" "$IN/acme-gateway.yaml" < /dev/null
grep -q '"detail": "passphrase-needed"' "$T/.out" && ok "json: detail passphrase-needed" || bad "json detail: $(cat "$T/.out")"
# On a terminal the command line asks, once, through the library's secret
# callback (the library itself never prompts); script(1) gives a terminal.
if command -v script >/dev/null; then
	printf 's3cret-Pw\n' | expect 0 "" script -qec "'$O' build -q -o '$T/tty.oab' --key '$T/enc.key' --cert '$PKI/signer.pem' '$IN/acme-gateway.yaml'" /dev/null
	grep -q "Passphrase for .*enc.key: " "$T/.out" && ok "prompted on the terminal" || bad "no prompt: $(cat "$T/.out")"
	expect 0 "" "$O" verify -q --ca "$PKI/int.pem" "$T/tty.oab"
	printf '\n' | expect 4 "" script -qec "'$O' build -q -o '$T/tty2.oab' --key '$T/enc.key' --cert '$PKI/signer.pem' '$IN/acme-gateway.yaml'" /dev/null
	grep -q "no passphrase given: give its passphrase with --pass" "$T/.out" && ok "empty answer: no passphrase" || bad "empty answer: $(cat "$T/.out")"
	[ "$(grep -c 'Passphrase for' "$T/.out")" -eq 1 ] && ok "asked once" || bad "asked more than once: $(cat "$T/.out")"
else
	skip "script(1) not installed: the terminal prompt is not tried"
fi
expect 2 "variable is not set" "$O" build -o "$T/e7.oab" --key "$T/enc.key" --cert "$PKI/signer.pem" --pass env:OAB_UNSET_VAR "$IN/acme-gateway.yaml"
# An unreadable, closed or empty passphrase source is an I/O error, never
# an empty passphrase; a FIFO is refused without blocking.
mkfifo "$T/pw.fifo"
mkdir "$T/pw.dir"
E="--key $T/enc.key --cert $PKI/signer.pem"
expect 3 "secret source 'fd:9': cannot read: Bad file descriptor" "$O" build -o "$T/p1.oab" $E --pass fd:9 "$IN/acme-gateway.yaml"
expect 3 "--pass '$T/pw.dir': is a folder, not a file" "$O" build -o "$T/p2.oab" $E --pass "file:$T/pw.dir" "$IN/acme-gateway.yaml"
expect 3 "secret source 'fd:0': empty" "$O" build -o "$T/p3.oab" $E --pass fd:0 "$IN/acme-gateway.yaml" < /dev/null
expect 3 "a FIFO, not a regular file" timeout 20 "$O" build -o "$T/p4.oab" $E --pass "file:$T/pw.fifo" "$IN/acme-gateway.yaml"
EMPTY= expect 3 "secret source 'env:EMPTY': empty" "$O" sign -o "$T/p5.oab" $E --pass env:EMPTY "$T/e1.oab"
ls "$T"/p?.oab >/dev/null 2>&1 && bad "output left after an unreadable passphrase source" || ok "no output after unreadable passphrase sources"
# Key and certificate that do not belong together.
expect 4 "does not belong to certificate" "$O" build -o "$T/mm.oab" --key "$PKI/second.key" --cert "$PKI/signer.pem" "$IN/acme-gateway.yaml"
[ -e "$T/mm.oab" ] && bad "output left after mismatch" || ok "no output after key/cert mismatch"
expect 4 "not a PEM private key" "$O" build -o "$T/nk.oab" --key "$PKI/signer.pem" --cert "$PKI/signer.pem" "$IN/acme-gateway.yaml"
expect 2 "--key .*no such file" "$O" build -o "$T/nk.oab" --key "$T/missing.key" --cert "$PKI/signer.pem" "$IN/acme-gateway.yaml"
finish
