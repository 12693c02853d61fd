#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# mkpki.sh DIR - throwaway test PKI for demos and tests (never for production):
#   DIR/ca.pem, ca.key            root CA
#   DIR/int.pem, int.key          intermediate CA (signed by root)
#   DIR/signer.pem, signer.key    ECDSA P-256 code-signing leaf (signed by int)
#   DIR/chain.pem                 the intermediate, to embed with --chain
# More leaves: mkpki.sh DIR leaf NAME ALG [EKU] [ISSUER]
#   ALG: p256 | p384 | rsa2048 | rsa3072 | ed25519; EKU: codeSigning (default),
#   serverAuth, none; ISSUER: int (default), ca, self
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"

genkey() { # ALG OUT
	case $1 in
	p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$2" ;;
	p384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$2" ;;
	rsa2048) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$2" ;;
	rsa3072) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$2" ;;
	rsa1024) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$2" ;;
	ed25519) openssl genpkey -algorithm ED25519 -out "$2" ;;
	*) echo "mkpki: unknown algorithm $1" >&2; exit 2 ;;
	esac 2>/dev/null
}

leaf() { # NAME ALG EKU ISSUER
	name=$1 alg=$2 eku=${3:-codeSigning} issuer=${4:-int}
	genkey "$alg" "$name.key"
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature"
		[ "$eku" = none ] || echo "extendedKeyUsage=$eku"
		echo "subjectKeyIdentifier=hash"
	} > "$name.ext"
	if [ "$issuer" = self ]; then
		openssl req -x509 -new -key "$name.key" -subj "/CN=$name" -days 3650 \
			-extensions v3 -config /dev/null -out "$name.pem" 2>/dev/null ||
		openssl req -x509 -new -key "$name.key" -subj "/CN=$name" -days 3650 -out "$name.pem"
	else
		openssl req -new -key "$name.key" -subj "/O=otabundle test/CN=$name" -out "$name.csr"
		openssl x509 -req -in "$name.csr" -CA "$issuer.pem" -CAkey "$issuer.key" \
			-CAcreateserial -days 3650 -extfile "$name.ext" -out "$name.pem" 2>/dev/null
		rm -f "$name.csr"
	fi
	rm -f "$name.ext"
}

if [ "${2:-}" = leaf ]; then
	leaf "$3" "$4" "${5:-codeSigning}" "${6:-int}"
	exit 0
fi

genkey p384 ca.key
openssl req -x509 -new -key ca.key -subj "/O=otabundle test/CN=Test Root CA" -days 3650 \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	-out ca.pem
genkey p256 int.key
openssl req -new -key int.key -subj "/O=otabundle test/CN=Test Release CA" -out int.csr
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' > int.ext
openssl x509 -req -in int.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
	-extfile int.ext -out int.pem 2>/dev/null
rm -f int.csr int.ext
cp int.pem chain.pem
leaf signer p256
