# SPDX-License-Identifier: Apache-2.0
# PKCS#11 keys on a real SoftHSM2 token (created here, in a temp folder):
# key types, certificates from the token, PIN sources, co-signing with a
# file key, thresholds, rotation, and clear errors that never show the PIN.
. "$(dirname "$0")/lib.sh"
CA="--ca $PKI/ca.pem"
MOD=$(for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so; do [ -e "$m" ] && echo "$m" && break; done)
[ -n "$MOD" ] || { bad "SoftHSM2 module not installed (make deps)"; finish; }
export SOFTHSM2_CONF="$T/softhsm2.conf"
mkdir "$T/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$T" > "$SOFTHSM2_CONF"
PIN=Secr3t-PIN-77
printf '%s\n' "$PIN" > "$T/pin"
softhsm2-util --init-token --free --label otab --pin "$PIN" --so-pin so-8472 >/dev/null
p11() { pkcs11-tool --module "$MOD" --login --pin "$PIN" "$@" >/dev/null 2>&1; }
p11 --keypairgen --key-type EC:prime256v1 --id 01 --label ec256
p11 --keypairgen --key-type EC:secp384r1 --id 02 --label ec384
p11 --keypairgen --key-type rsa:3072 --id 03 --label rsa3072
# Certificates for the token keys, signed by the test CA (CSR made by the token).
printf 'openssl_conf = oc\n[oc]\nengines = es\n[es]\npkcs11 = p11\n[p11]\nengine_id = pkcs11\nMODULE_PATH = %s\n' "$MOD" > "$T/eng.cnf"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' > "$T/leaf.ext"
for k in ec256 ec384 rsa3072; do
	OPENSSL_CONF="$T/eng.cnf" openssl req -new -engine pkcs11 -keyform engine \
		-key "pkcs11:token=otab;object=$k;type=private;pin-value=$PIN" -subj "/CN=hsm-$k" -out "$T/$k.csr" >/dev/null 2>&1
	openssl x509 -req -in "$T/$k.csr" -CA "$PKI/int.pem" -CAkey "$PKI/int.key" -CAcreateserial \
		-days 365 -extfile "$T/leaf.ext" -out "$T/$k.pem" 2>/dev/null && ok "certificate for token key $k" || bad "certificate for $k"
done
openssl x509 -in "$T/ec256.pem" -outform DER -out "$T/ec256.der"
p11 --write-object "$T/ec256.der" --type cert --id 01 --label ec256
K() { echo "pkcs11:token=otab;object=$1;type=private"; }

# An unreadable, closed or empty PIN source is an I/O error before any
# login: the token's retry counter is not touched ("user PIN count low"
# is what SoftHSM shows after one wrong PIN).
pin_low() { pkcs11-tool --module "$MOD" -L 2>/dev/null | grep -q "user PIN count low"; }
pin_low && bad "token starts with a wrong PIN counted" || ok "token starts with no wrong PIN counted"
mkfifo "$T/pin.fifo"
: > "$T/pin.empty"
TOK="--key $(K ec256) --cert $T/ec256.pem --pkcs11-module $MOD"
expect 3 "PIN: secret source 'fd:9': cannot read: Bad file descriptor" "$O" build -o "$T/u1.oab" $TOK --pin fd:9 "$IN/acme-gateway.yaml"
expect 3 "--pin '$T': is a folder, not a file" "$O" build -o "$T/u2.oab" $TOK --pin "file:$T" "$IN/acme-gateway.yaml"
expect 3 "PIN: secret source 'fd:0': empty" "$O" build -o "$T/u3.oab" $TOK --pin fd:0 "$IN/acme-gateway.yaml" < /dev/null
expect 3 "a FIFO, not a regular file" timeout 20 "$O" build -o "$T/u4.oab" $TOK --pin "file:$T/pin.fifo" "$IN/acme-gateway.yaml"
expect 3 "PIN: secret source 'file:.*pin.empty': empty" "$O" build -o "$T/u5.oab" $TOK --pin "file:$T/pin.empty" "$IN/acme-gateway.yaml"
expect 3 "pin-source'?: a folder" "$O" build -o "$T/u6.oab" --key "$(K ec256)?pin-source=file:$T" --cert "$T/ec256.pem" --pkcs11-module "$MOD" "$IN/acme-gateway.yaml"
grep -q "$T" "$T/.err" && bad "pin-source value shown in a message" || ok "pin-source value kept out of the message"
build_example "$T/base-for-u7.oab"
expect 3 "empty" "$O" sign -o "$T/u7.oab" $TOK --pin fd:0 "$T/base-for-u7.oab" < /dev/null
pin_low && bad "an unreadable PIN source cost a PIN try" || ok "unreadable PIN sources: no PIN try counted"
ls "$T"/u?.oab >/dev/null 2>&1 && bad "output left after an unreadable PIN source" || ok "no output after unreadable PIN sources"

# Each key type signs; verify with otabundle and with stock openssl.
for k in ec256 ec384 rsa3072; do
	expect 0 "" "$O" build -q -o "$T/$k.oab" --key "$(K $k)" --cert "$T/$k.pem" --chain "$PKI/chain.pem" \
		--pin "file:$T/pin" --pkcs11-module "$MOD" "$IN/acme-gateway.yaml"
	expect 0 "" "$O" verify $CA "$T/$k.oab"
	mkdir "$T/a$k"; (cd "$T/a$k" && tar -xf "$T/$k.oab" manifest.yaml manifest.sig)
	expect 0 "" openssl cms -verify -binary -inform DER -in "$T/a$k/manifest.sig" -content "$T/a$k/manifest.yaml" \
		-CAfile "$PKI/ca.pem" -purpose any -out /dev/null
done
openssl cms -cmsout -print -inform DER -in "$T/arsa3072/manifest.sig" | grep -q rsassaPss && ok "token RSA signs with PSS" || bad "token RSA not PSS"
# Certificate from the token; module from the URI; default p11-kit proxy; PIN from env and fd.
expect 0 "" "$O" build -q -o "$T/tc.oab" --key "$(K ec256)?module-path=$MOD" --cert "pkcs11:token=otab;object=ec256;type=cert" \
	--chain "$PKI/chain.pem" --pin "file:$T/pin" "$IN/acme-gateway.yaml"
expect 0 "" "$O" verify $CA "$T/tc.oab"
OAB_PIN=$PIN expect 0 "" "$O" build -q -o "$T/proxy.oab" --key "$(K ec256)" --cert "$T/ec256.pem" --pin env:OAB_PIN "$IN/acme-gateway.yaml"
expect 0 "" "$O" build -q -o "$T/fd.oab" --key "$(K ec256)" --cert "$T/ec256.pem" --pin fd:4 "$IN/acme-gateway.yaml" 4< "$T/pin"
expect 0 "" "$O" build -q -o "$T/ps.oab" --key "$(K ec256)?pin-source=file:$T/pin" --cert "$T/ec256.pem" "$IN/acme-gateway.yaml"
# A PIN written in the URI (pin-value, query or path attribute, any case)
# is refused like a literal --pin, and never shown.
for pv in "$(K ec256)?pin-value=$PIN" "$(K ec256);pin-value=$PIN" "pkcs11:token=otab;PIN-VALUE=$PIN;object=ec256" \
	"$(K ec256)?module-path=$MOD&pin-value=$PIN"; do
	expect 2 "key 'pkcs11:token=otab;object=ec256(;type=private)?': a PIN written in the URI \(pin-value\) is not accepted" \
		"$O" build -q -o "$T/pv.oab" --key "$pv" --cert "$T/ec256.pem" "$IN/acme-gateway.yaml"
	grep -q "$PIN" "$T/.err" && bad "pin-value shown: $(cat "$T/.err")" || ok "pin-value not shown"
done
# A certificate URI's pin-source never reaches a warning (no --chain: the
# "issuer is not embedded" warning names the certificate).
expect 0 "issuer of 'pkcs11:token=otab;object=ec256;type=cert' .* is not embedded" \
	"$O" build -q -o "$T/tcw.oab" --key "$(K ec256)?module-path=$MOD" \
	--cert "pkcs11:token=otab;object=ec256;type=cert?pin-source=file:$T/pin" --pin "file:$T/pin" "$IN/acme-gateway.yaml"
grep -q "pin-source" "$T/.err" && bad "pin-source in a warning: $(cat "$T/.err")" || ok "no pin-source in the warnings"
expect 2 "certificate 'pkcs11:token=otab;object=ec256;type=cert': a PIN written" "$O" build -q -o "$T/pv.oab" --key "$(K ec256)" \
	--cert "pkcs11:token=otab;object=ec256;type=cert;pin-value=$PIN" --pin "file:$T/pin" "$IN/acme-gateway.yaml"
grep -q "$PIN" "$T/.err" && bad "certificate pin-value shown" || ok "certificate pin-value not shown"
[ -e "$T/pv.oab" ] && bad "pin-value: output written" || ok "pin-value: nothing written"
# pin-source works as a path attribute too; its value is never shown.
expect 0 "" "$O" build -q -o "$T/ps2.oab" --key "$(K ec256);pin-source=file:$T/pin" --cert "$T/ec256.pem" "$IN/acme-gateway.yaml"
expect 2 "key 'pkcs11:token=otab;object=ec256;type=private' is given twice" "$O" build -q -o "$T/tw.oab" \
	--key "$(K ec256)?pin-source=file:$T/pin" --cert "$T/ec256.pem" --key "$(K ec256);pin-source=file:$T/pin" --cert "$T/ec256.pem" "$IN/acme-gateway.yaml"
grep -q "$T/pin" "$T/.err" && bad "pin-source shown in 'given twice'" || ok "pin-source not shown in 'given twice'"
# File key + token key: threshold 2 passes, 3 fails.
build_example "$T/co.oab"
expect 0 "" "$O" sign -q --key "$(K ec384)" --cert "$T/ec384.pem" --pin "file:$T/pin" "$T/co.oab"
expect 0 "" "$O" verify $CA --threshold 2 "$T/co.oab"
expect 1 "2 distinct trusted signing keys, 3 required" "$O" verify $CA --threshold 3 "$T/co.oab"
expect 0 "" "$O" inspect "$T/co.oab"
grep -q "CN=hsm-ec384" "$T/.out" && ok "inspect lists the token signer" || bad "inspect token signer"
# The same token key twice is refused; --replace rotates to the token key alone.
expect 2 "already signed this bundle \(signer 2\)" "$O" sign --key "$(K ec384)" --cert "$T/ec384.pem" --pin "file:$T/pin" "$T/co.oab"
expect 0 "" "$O" sign -q --replace -o "$T/rot.oab" --key "$(K rsa3072)" --cert "$T/rsa3072.pem" --chain "$PKI/chain.pem" --pin "file:$T/pin" "$T/co.oab"
expect 0 "" "$O" verify $CA "$T/rot.oab"
expect 1 "not trusted" "$O" verify --trust "$PKI/signer.pem" "$T/rot.oab"
# An RSA token key co-signing an already signed bundle (PSS parameters
# written by otabundle), in place and in a signing room.
cp "$T/ec256.oab" "$T/corsa.oab"
expect 0 "" "$O" sign -q --key "$(K rsa3072)" --cert "$T/rsa3072.pem" --pin "file:$T/pin" --pkcs11-module "$MOD" "$T/corsa.oab"
expect 0 "" "$O" verify $CA --threshold 2 "$T/corsa.oab"
(cd "$T" && tar -xf corsa.oab manifest.yaml manifest.sig && openssl cms -verify -binary -inform DER -in manifest.sig \
	-content manifest.yaml -CAfile "$PKI/ca.pem" -purpose any -out /dev/null 2>/dev/null) && ok "stock openssl verifies the RSA co-signature" || bad "stock openssl rejects the RSA co-signature"
"$O" export-manifest -o "$T/m.yaml" --sig "$T/m.sig" "$T/ec256.oab"
expect 0 "" "$O" sign -q --detached --sig "$T/m.sig" -o "$T/m2.sig" --key "$(K rsa3072)" --cert "$T/rsa3072.pem" --pin "file:$T/pin" "$T/m.yaml"
expect 0 "" "$O" attach-signature -q -o "$T/room.oab" "$T/m2.sig" "$T/ec256.oab"
expect 0 "" "$O" verify $CA --threshold 2 "$T/room.oab"
# Two token keys in one command (same token), module loaded directly.
expect 0 "" "$O" build -q -o "$T/two.oab" --key "$(K ec256)" --cert "$T/ec256.pem" --key "$(K ec384)" --cert "$T/ec384.pem" \
	--chain "$PKI/chain.pem" --pin "file:$T/pin" --pkcs11-module "$MOD" "$IN/acme-gateway.yaml"
expect 0 "" "$O" verify $CA --threshold 2 "$T/two.oab"
# Keys on two tokens, each PIN from its own source.
PIN2=Other-PIN-55
softhsm2-util --init-token --free --label second --pin "$PIN2" --so-pin so-1111 >/dev/null
pkcs11-tool --module "$MOD" --token-label second --login --pin "$PIN2" --keypairgen --key-type EC:prime256v1 --id 09 --label k2 >/dev/null 2>&1
OPENSSL_CONF="$T/eng.cnf" openssl req -new -engine pkcs11 -keyform engine \
	-key "pkcs11:token=second;object=k2;type=private;pin-value=$PIN2" -subj "/CN=hsm-k2" -out "$T/k2.csr" >/dev/null 2>&1
openssl x509 -req -in "$T/k2.csr" -CA "$PKI/int.pem" -CAkey "$PKI/int.key" -CAcreateserial -days 365 -extfile "$T/leaf.ext" -out "$T/k2.pem" 2>/dev/null
P1=$PIN P2=$PIN2 expect 0 "" timeout 60 "$O" build -q -o "$T/twotok.oab" --key "$(K ec256)" --cert "$T/ec256.pem" \
	--key "pkcs11:token=second;object=k2;type=private" --cert "$T/k2.pem" --pin env:P1 --pin env:P2 \
	--chain "$PKI/chain.pem" --pkcs11-module "$MOD" "$IN/acme-gateway.yaml"
expect 0 "" "$O" verify $CA --threshold 2 "$T/twotok.oab"
expect 4 "several tokens are present .*token=LABEL" "$O" build -o "$T/e0.oab" --key "pkcs11:object=ec256;type=private" --cert "$T/ec256.pem" --pin "file:$T/pin" "$IN/acme-gateway.yaml"
expect 4 "module '/nonexistent/mod.so' could not be loaded" "$O" build -o "$T/e0.oab" --key "$(K ec256)" --cert "$T/ec256.pem" --pin "file:$T/pin" --pkcs11-module /nonexistent/mod.so "$IN/acme-gateway.yaml"
# Errors a user can act on; no PIN anywhere; no output left.
expect 4 "does not belong to certificate" "$O" build -o "$T/e8.oab" --key "$(K ec384)?pin-source=file:$T/pin" --cert "$T/ec256.pem" "$IN/acme-gateway.yaml"
grep -q "$T/pin" "$T/.err" && bad "pin-source leaked into an error" || ok "pin-source kept out of errors"
printf 'wrong-PIN-3\n' > "$T/badpin"
expect 4 "token 'otab': wrong PIN" "$O" build -o "$T/e1.oab" --key "$(K ec256)" --cert "$T/ec256.pem" --pin "file:$T/badpin" "$IN/acme-gateway.yaml"
expect 4 "no such private key \(searched token 'otab', object 'nokey'\); token 'otab' has private keys: .*'ec256' \(id 01\)" \
	"$O" build -o "$T/e2.oab" --key "$(K nokey)" --cert "$T/ec256.pem" --pin "file:$T/pin" "$IN/acme-gateway.yaml"
expect 4 "no token labelled 'nope' .*has: .*'otab'" "$O" build -o "$T/e3.oab" --key "pkcs11:token=nope;object=ec256" --cert "$T/ec256.pem" --pin "file:$T/pin" "$IN/acme-gateway.yaml"
expect 4 "does not belong to certificate" "$O" build -o "$T/e4.oab" --key "$(K ec384)" --cert "$T/ec256.pem" --pin "file:$T/pin" "$IN/acme-gateway.yaml"
expect 4 "no such certificate" "$O" build -o "$T/e5.oab" --key "$(K ec256)" --cert "pkcs11:token=otab;object=none;type=cert" --pin "file:$T/pin" "$IN/acme-gateway.yaml"
# The engine is told to be quiet (the library moves no descriptors): our
# one line is all that reaches standard error.
[ "$(wc -l < "$T/.err")" -eq 1 ] && ok "engine failure: one line on stderr" || bad "engine printed: $(cat "$T/.err")"
# A token key whose label is longer than the message buffer: the list of
# what the token has is cut, never written past its buffer (was a stack
# overflow in the "token has" explanation).
long=$(printf 'L%.0s' $(seq 1 1500))
pkcs11-tool --module "$MOD" --token-label second --login --pin "$PIN2" --keypairgen --key-type EC:prime256v1 \
	--id 0a --label "$long" >/dev/null 2>&1 || bad "cannot make a key with a 1500-byte label"
P2=$PIN2 expect 4 "no such private key \(searched token 'second', object 'nokey'\); token 'second' has private keys: .*LLLL" \
	"$O" build -o "$T/e9.oab" --key "pkcs11:token=second;object=nokey;type=private" --cert "$T/k2.pem" --pin env:P2 \
	--pkcs11-module "$MOD" "$IN/acme-gateway.yaml"
expect 4 "needs a PIN" "$O" build -o "$T/e6.oab" --key "$(K ec256)" --cert "$T/ec256.pem" "$IN/acme-gateway.yaml" < /dev/null
# On a terminal the command line asks for the PIN (script(1) gives one).
if command -v script >/dev/null; then
	printf '%s\n' "$PIN" | expect 0 "" script -qec "'$O' build -q -o '$T/tty.oab' --key '$(K ec256)' --cert '$T/ec256.pem' --pkcs11-module '$MOD' '$IN/acme-gateway.yaml'" /dev/null
	grep -q "PIN for pkcs11:token=otab;object=ec256;type=private: " "$T/.out" && ok "PIN asked on the terminal" || bad "no PIN prompt: $(cat "$T/.out")"
	rm -f "$T/tty.oab"
else
	skip "script(1) not installed: the PIN prompt is not tried"
fi
expect 2 "literal secrets are not accepted" "$O" build -o "$T/e7.oab" --key "$(K ec256)" --cert "$T/ec256.pem" --pin "$PIN" "$IN/acme-gateway.yaml"
grep -q "$PIN" "$T/.err" && bad "literal PIN echoed" || ok "literal PIN not echoed"
ls "$T"/e?.oab >/dev/null 2>&1 && bad "output left after a token error" || ok "no output after token errors"
grep -rq "$PIN" "$T"/*.oab && bad "PIN inside a bundle" || ok "PIN in no bundle"

# The token's own files cannot be signed into a bundle by a manifest.
tokfile=$(ls "$T"/tokens/*/token.object | head -1)
sed "s|source: rootfs.ext4|source: $tokfile|" "$IN/acme-gateway.yaml" > "$T/tok.yaml"
expect 2 "tok.yaml:16:13: key 'payloads\[0\]\.source': source '.*token.object' resolves to '.*token.object', outside the manifest's folder" \
	"$O" build -o "$T/tok.oab" --key "$(K ec256)" --cert "$T/ec256.pem" --pin "file:$T/pin" --pkcs11-module "$MOD" "$T/tok.yaml"
[ -e "$T/tok.oab" ] && bad "token file: output written" || ok "token file: nothing written"

# A core dump taken mid-build (token key loaded, PIN read) holds no PIN.
no_secret_in_core build "$PIN" "$(cd "$IN" && pwd -P)/rootfs.ext4" "$O" build -q -o "$T/core.oab" \
	--key "$(K ec256)" --cert "$T/ec256.pem" --pin "file:$T/pin" --pkcs11-module "$MOD" "$IN/acme-gateway.yaml"
finish
