# SPDX-License-Identifier: Apache-2.0
# Signature policy (issue 11): one key counts once whatever its encoding,
# hostile manifest.sig files are rejected fast, weak algorithms and loose
# chains are refused (--allow-weak for SHA-1 and RSA < 2048), manifest.sig
# must be DER, a SignedData needs a SignerInfo. Signatures are made with
# stock openssl as an attacker would, and attached with attach-signature.
. "$(dirname "$0")/lib.sh"
M=$OAB_TOOLS/tarmangle
CA="--ca $PKI/ca.pem"
mkdir "$T/k"
K=$T/k

build_example "$T/good.oab" || { bad "build"; finish; }
"$O" build -q --unsigned -o "$T/u.oab" "$IN/acme-gateway.yaml" || { bad "build"; finish; }
"$O" export-manifest -o "$T/m.yaml" "$T/good.oab" || { bad "export"; finish; }

# put OUT.oab SIGFILE: the good bundle with SIGFILE as its manifest.sig.
put() { "$M" "$T/good.oab" "$1" replace manifest.sig "$2"; }
# cmssign OUT.oab [openssl cms -sign args]: sign the good bundle's manifest
# with stock openssl and make it that bundle's manifest.sig.
cmssign() {
	out=$1
	shift
	openssl cms -sign -binary -in "$T/m.yaml" -outform DER -out "$T/cms.sig" "$@" 2>"$T/ossl.err" ||
		{ bad "openssl cms -sign $*: $(head -1 "$T/ossl.err")"; return 1; }
	put "$out" "$T/cms.sig"
}

# ---- one key, several encodings ---------------------------------------------
# signer.key's public key written compressed, hybrid, and with explicit
# curve parameters; a CA-issued and a self-made certificate for each.
for f in compressed hybrid; do
	openssl ec -in "$PKI/signer.key" -pubout -conv_form $f -out "$K/$f.pub" 2>/dev/null
done
openssl ec -in "$PKI/signer.key" -pubout -param_enc explicit -out "$K/explicit.pub" 2>/dev/null
openssl ec -in "$PKI/signer.key" -pubout -out "$K/a.pub" 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' > "$K/leaf.ext"
openssl req -new -key "$PKI/signer.key" -subj "/CN=same key" -out "$K/s.csr" 2>/dev/null
for f in compressed hybrid explicit; do
	openssl x509 -req -in "$K/s.csr" -CA "$PKI/int.pem" -CAkey "$PKI/int.key" -CAcreateserial -days 30 \
		-extfile "$K/leaf.ext" -force_pubkey "$K/$f.pub" -out "$K/ca-$f.pem" 2>/dev/null
	openssl x509 -req -in "$K/s.csr" -signkey "$PKI/signer.key" -days 30 -extfile "$K/leaf.ext" \
		-force_pubkey "$K/$f.pub" -out "$K/self-$f.pem" 2>/dev/null
done
openssl x509 -noout -text -in "$K/ca-compressed.pem" | grep -A1 "pub:" | grep -q " 0[23]:" &&
	openssl x509 -noout -text -in "$K/ca-hybrid.pem" | grep -A1 "pub:" | grep -q " 0[67]:" &&
	openssl x509 -noout -text -in "$K/ca-explicit.pem" | grep -q "Field Type" &&
	ok "certificates carry compressed, hybrid and explicit encodings" || bad "encodings not made"
SK="-inkey $PKI/signer.key"
# Through --ca: the CA-issued uncompressed, compressed and hybrid certificates.
cmssign "$T/enc3.oab" -signer "$PKI/signer.pem" $SK -signer "$K/ca-compressed.pem" $SK \
	-signer "$K/ca-hybrid.pem" $SK -certfile "$PKI/chain.pem" -md sha256
expect 0 "" "$O" verify $CA "$T/enc3.oab"
expect 1 "1 distinct trusted signing key, 2 required" "$O" verify $CA --threshold 2 "$T/enc3.oab"
expect 1 "1 distinct trusted signing key, 3 required" "$O" verify $CA --threshold 3 "$T/enc3.oab"
expect 0 "" "$O" verify --json $CA "$T/enc3.oab"
grep -q '"trusted-keys": 1' "$T/.out" && ok "three encodings, one trusted key" || bad "encodings counted apart"
[ "$(grep -c 'same key as signer' "$T/.out")" = 2 ] && ok "the two re-encodings are named as the same key" || bad "duplicate notes"
for pair in "compressed hybrid" "compressed explicit"; do
	set -- $pair
	cmssign "$T/p-$1-$2.oab" -signer "$K/ca-$1.pem" $SK -signer "$K/ca-$2.pem" $SK \
		-certfile "$PKI/chain.pem" -md sha256
done
expect 1 "1 distinct trusted signing key, 2 required" "$O" verify $CA --threshold 2 "$T/p-compressed-hybrid.oab"
expect 1 "explicit curve parameters" "$O" verify $CA "$T/p-compressed-explicit.oab"
# Through --trust: a holder of the one pinned key, with self-made certificates.
cmssign "$T/self-ch.oab" -signer "$K/self-compressed.pem" $SK -signer "$K/self-hybrid.pem" $SK -md sha256
expect 0 "" "$O" verify --trust "$K/a.pub" "$T/self-ch.oab"
expect 1 "1 distinct trusted signing key, 2 required" "$O" verify --trust "$K/a.pub" --threshold 2 "$T/self-ch.oab"
cmssign "$T/self-uc.oab" -signer "$PKI/signer.pem" $SK -signer "$K/self-compressed.pem" $SK -md sha256
expect 1 "1 distinct trusted signing key, 2 required" "$O" verify --trust "$K/a.pub" --threshold 2 "$T/self-uc.oab"
expect 1 "1 distinct trusted signing key, 2 required" "$O" verify --trust "$K/compressed.pub" --threshold 2 "$T/self-uc.oab"
cmssign "$T/self-ex.oab" -signer "$K/self-explicit.pem" $SK -signer "$K/self-compressed.pem" $SK -md sha256
expect 1 "explicit curve parameters" "$O" verify --trust "$K/a.pub" --threshold 2 "$T/self-ex.oab"
expect 1 "explicit curve parameters" "$O" verify --trust "$K/a.pub" "$T/self-ex.oab"
# Two really distinct keys still count twice.
cmssign "$T/two.oab" -signer "$PKI/signer.pem" $SK -signer "$PKI/second.pem" -inkey "$PKI/second.key" \
	-certfile "$PKI/chain.pem" -md sha256
expect 0 "" "$O" verify $CA --threshold 2 "$T/two.oab"

# ---- CPU bounds on an unauthenticated manifest.sig ---------------------------
# ms CMD...: run CMD, print its wall time in milliseconds.
ms() { s=$(date +%s%N); "$@" > /dev/null 2>&1; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
# 2300 SignerInfos naming an RSA-3072 key with a 3000-bit exponent (about
# 1 MB): 11 s of CPU before the limits, 15 ms after. 2 s is the bound here.
"$OAB_TOOLS/sigbomb" "$T/m.yaml" "$T/bomb.sig" 2300 3000 3072 && put "$T/bomb.oab" "$T/bomb.sig" ||
	bad "sigbomb"
expect 1 "2300 SignerInfos \(at most 16 accepted\)" "$O" verify $CA "$T/bomb.oab"
t=$(ms "$O" verify $CA "$T/bomb.oab")
[ "$t" -lt 2000 ] && ok "2300-SignerInfo bomb rejected in $t ms" || bad "2300-SignerInfo bomb took $t ms"
"$OAB_TOOLS/sigbomb" "$T/m.yaml" "$T/bomb16.sig" 16 3000 3072 && put "$T/bomb16.oab" "$T/bomb16.sig" ||
	bad "sigbomb"
expect 1 "RSA public exponent of 3000 bits" "$O" verify $CA "$T/bomb16.oab"
expect 1 "RSA public exponent of 3000 bits" "$O" verify --trust "$PKI/signer.pem" "$T/bomb16.oab"
t=$(ms "$O" verify $CA "$T/bomb16.oab")
[ "$t" -lt 2000 ] && ok "16 SignerInfos, 3000-bit exponent: rejected in $t ms" || bad "16-signer bomb took $t ms"
"$OAB_TOOLS/sigbomb" "$T/m.yaml" "$T/bign.sig" 1 17 16400 && put "$T/bign.oab" "$T/bign.sig" || bad "sigbomb"
expect 1 "RSA key of 16400 bits \(at most 16384 accepted\)" "$O" verify $CA "$T/bign.oab"
# RSA moduli of all signers together at most 65536 bits (4 x 16384, 16 x 4096).
"$OAB_TOOLS/sigbomb" "$T/m.yaml" "$T/n5x16k.sig" 5 17 16384 && put "$T/n5x16k.oab" "$T/n5x16k.sig" || bad "sigbomb"
expect 1 "RSA keys have 81920 bits together \(at most 65536 accepted\)" "$O" verify $CA "$T/n5x16k.oab"
"$OAB_TOOLS/sigbomb" "$T/m.yaml" "$T/n4x16k.sig" 4 17 16384 && put "$T/n4x16k.oab" "$T/n4x16k.sig" || bad "sigbomb"
expect 1 "signature 1 of 4 invalid" "$O" verify $CA "$T/n4x16k.oab"
"$OAB_TOOLS/sigbomb" "$T/m.yaml" "$T/e33.sig" 1 33 3072 && put "$T/e33.oab" "$T/e33.sig" || bad "sigbomb"
expect 1 "RSA public exponent of 33 bits" "$O" verify $CA "$T/e33.oab"
# 17 valid signatures by one key (no trust needed to cost work): refused.
"$OAB_TOOLS/sigbomb" "$T/m.yaml" "$T/s17.sig" 17 0 0 && put "$T/s17.oab" "$T/s17.sig" || bad "sigbomb"
expect 1 "17 SignerInfos" "$O" verify $CA "$T/s17.oab"
expect 1 "17 SignerInfos" "$O" inspect "$T/s17.oab"
"$OAB_TOOLS/sigbomb" "$T/m.yaml" "$T/s16.sig" 16 0 0 && put "$T/s16.oab" "$T/s16.sig" || bad "sigbomb"
expect 1 "not trusted" "$O" verify $CA "$T/s16.oab"
t=$(ms "$O" verify $CA "$T/s16.oab")
[ "$t" -lt 2000 ] && ok "16 valid untrusted signatures: rejected in $t ms" || bad "16 valid signatures took $t ms"

# ---- algorithm policy -------------------------------------------------------
RSA="-signer $PKI/signer-rsa3072.pem -inkey $PKI/signer-rsa3072.key"
cmssign "$T/md5.oab" $RSA -certfile "$PKI/chain.pem" -md md5
expect 1 "digest MD5 is refused" "$O" verify $CA "$T/md5.oab"
expect 1 "digest MD5 is refused" "$O" verify --allow-weak $CA "$T/md5.oab"
cmssign "$T/sha1.oab" -signer "$PKI/signer.pem" $SK -certfile "$PKI/chain.pem" -md sha1
expect 1 "SHA-1 is weak \(--allow-weak accepts it\)" "$O" verify $CA "$T/sha1.oab"
# The library's detail says weak, the command line adds the option.
expect 1 "" "$O" verify --json $CA "$T/sha1.oab"
grep -q '"detail": "weak-algorithm"' "$T/.out" && ok "json: detail weak-algorithm" || bad "json: $(grep -A3 '"error"' "$T/.out")"
expect 0 "" "$O" verify --allow-weak $CA "$T/sha1.oab"
rm -rf "$T/x"; mkdir "$T/x"
expect 1 "SHA-1" "$O" extract $CA -C "$T/x" "$T/sha1.oab"
[ -z "$(ls -A "$T/x")" ] && ok "weak bundle: extract wrote nothing" || bad "extract wrote files"
expect 0 "" "$O" extract -q --allow-weak $CA -C "$T/x" "$T/sha1.oab"
# SHA-3 is not in the policy: an unsupported digest, exit 1.
cmssign "$T/sha3.oab" $RSA -certfile "$PKI/chain.pem" -md sha3-256
expect 1 "unsupported digest algorithm 2.16.840.1.101.3.4.2.8" "$O" verify --allow-weak $CA "$T/sha3.oab"
# A digest OID nobody knows (sha256's last arc changed): exit 1, not 5.
tar -xOf "$T/good.oab" manifest.sig |
	perl -0777 -pe 's/\x60\x86\x48\x01\x65\x03\x04\x02\x01/\x60\x86\x48\x01\x65\x03\x04\x02\x7f/g' > "$T/unk.sig"
put "$T/unkdig.oab" "$T/unk.sig"
expect 1 "unsupported digest algorithm 2.16.840.1.101.3.4.2.127" "$O" verify $CA "$T/unkdig.oab"
# RSA below 2048 bits (the CA-issued 'weak' leaf is RSA-1024).
cmssign "$T/rsa1024.oab" -signer "$PKI/weak.pem" -inkey "$PKI/weak.key" -certfile "$PKI/chain.pem" -md sha256
expect 1 "RSA key of 1024 bits is weak" "$O" verify $CA "$T/rsa1024.oab"
expect 0 "" "$O" verify --allow-weak $CA "$T/rsa1024.oab"
# A leaf certificate signed with SHA-1 by the intermediate.
openssl req -new -key "$PKI/second.key" -subj "/CN=sha1 leaf" -out "$K/l.csr" 2>/dev/null
openssl x509 -req -sha1 -in "$K/l.csr" -CA "$PKI/int.pem" -CAkey "$PKI/int.key" -CAcreateserial -days 30 \
	-extfile "$K/leaf.ext" -out "$K/sha1leaf.pem" 2>/dev/null
cmssign "$T/sha1cert.oab" -signer "$K/sha1leaf.pem" -inkey "$PKI/second.key" -certfile "$PKI/chain.pem" -md sha256
expect 1 "is signed with SHA1, which is weak \(--allow-weak accepts it\)" "$O" verify $CA "$T/sha1cert.oab"
expect 0 "" "$O" verify --allow-weak $CA "$T/sha1cert.oab"
expect 0 "" "$O" verify --trust "$K/sha1leaf.pem" "$T/sha1cert.oab"

# ---- extendedKeyUsage along the chain ------------------------------------------
openssl req -new -key "$PKI/int.key" -subj "/CN=serverAuth-only CA" -out "$K/i.csr" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign\nextendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' > "$K/i.ext"
openssl x509 -req -in "$K/i.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial -days 30 \
	-extfile "$K/i.ext" -out "$K/srvca.pem" 2>/dev/null
openssl x509 -req -in "$K/l.csr" -CA "$K/srvca.pem" -CAkey "$PKI/int.key" -CAcreateserial -days 30 \
	-extfile "$K/leaf.ext" -out "$K/under-srv.pem" 2>/dev/null
cmssign "$T/srvca.oab" -signer "$K/under-srv.pem" -inkey "$PKI/second.key" -certfile "$K/srvca.pem" -md sha256
expect 1 "issuing certificate 'CN=serverAuth-only CA' has an extendedKeyUsage without codeSigning" \
	"$O" verify $CA "$T/srvca.oab"
expect 1 "without codeSigning" "$O" verify --ca "$K/srvca.pem" "$T/srvca.oab"
expect 0 "" "$O" verify --trust "$K/under-srv.pem" "$T/srvca.oab"

# ---- encoding and structure ------------------------------------------------
# BER: the good signature with its outer SEQUENCE in indefinite-length
# form, or with a non-minimal long-form length. Both parse; neither is DER.
tar -xOf "$T/good.oab" manifest.sig > "$T/der.sig"
[ "$(head -c 2 "$T/der.sig" | od -An -tx1 | tr -d ' ')" = 3082 ] && ok "DER signature starts 30 82" || bad "DER start"
perl -0777 -pe 's/^\x30\x82..(.*)\z/\x30\x80$1\x00\x00/s' "$T/der.sig" > "$T/ber.sig"
perl -0777 -pe 's/^\x30\x82/\x30\x83\x00/s' "$T/der.sig" > "$T/long.sig"
for v in ber long; do
	put "$T/$v.oab" "$T/$v.sig"
	expect 1 "not DER" "$O" verify $CA "$T/$v.oab"
	expect 1 "not DER" "$O" inspect "$T/$v.oab"
done
expect 0 "" openssl cms -cmsout -inform DER -in "$T/ber.sig" -noout
# A SignedData without SignerInfo is refused by attach-signature (DER and PEM).
"$OAB_TOOLS/sigbomb" "$T/m.yaml" "$T/zero.sig" 0 0 0 || bad "sigbomb"
expect 2 "has no signers" "$O" attach-signature -o "$T/z.oab" "$T/zero.sig" "$T/u.oab"
openssl cms -cmsout -inform DER -in "$T/zero.sig" -outform PEM -out "$T/zero.pem"
expect 2 "has no signers" "$O" attach-signature -o "$T/z.oab" "$T/zero.pem" "$T/u.oab"
[ -e "$T/z.oab" ] && bad "a signature without signers was attached" || ok "nothing attached"
put "$T/zero.oab" "$T/zero.sig"
expect 1 "has no signers" "$O" verify $CA "$T/zero.oab"
finish
