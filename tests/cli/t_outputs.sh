# SPDX-License-Identifier: Apache-2.0
# Outputs that are inputs: build, sign, attach-signature, export-manifest
# and sign --detached refuse (exit 2) an output that is the same file as
# one of their inputs, by inode and not by name, and write nothing.
# (extract's targets: t_extract.sh "is the bundle".)
. "$(dirname "$0")/lib.sh"
S1="--key $PKI/signer.key --cert $PKI/signer.pem --chain $PKI/chain.pem"
mkdir "$T/in"; cp "$IN"/* "$T/in/"
M=$T/in/acme-gateway.yaml
sums() { sha256sum "$T"/in/* "$PKI/signer.key" | sha256sum; }
before=$(sums)
# build: the manifest, a payload source (also under another name), a key.
expect 2 "output '$M' is the manifest '$M' \(the same file\); nothing written" "$O" build -q -o "$M" $S1 "$M"
expect 2 "output '$T/in/app.tar' is the payload source '$T/in/app.tar'" "$O" build -q -o "$T/in/app.tar" $S1 "$M"
ln "$T/in/u-boot.bin" "$T/boot-link"
expect 2 "output '$T/boot-link' is the payload source '$T/in/u-boot.bin'" "$O" build -q -o "$T/boot-link" $S1 "$M"
ln -s "$M" "$T/man-link"
expect 2 "is the manifest" "$O" build -q -o "$T/man-link" --unsigned "$M"
expect 2 "output '$PKI/signer.key' is the key" "$O" build -q -o "$PKI/signer.key" $S1 "$M"
[ "$(sums)" = "$before" ] && ok "build: no input changed" || bad "build replaced an input"
# sign / attach-signature: a key, a certificate, the attached signature.
expect 0 "" "$O" build -q --unsigned -o "$T/u.oab" "$M"
cp "$T/u.oab" "$T/u.bak"
expect 2 "is the key" "$O" sign -q -o "$PKI/signer.key" $S1 "$T/u.oab"
expect 2 "is the certificate" "$O" sign -q -o "$PKI/signer.pem" $S1 "$T/u.oab"
expect 0 "" "$O" export-manifest -o "$T/m.yaml" "$T/u.oab"
expect 0 "" "$O" sign -q --detached -o "$T/m.sig" $S1 "$T/m.yaml"
cp "$T/m.sig" "$T/m.sig.bak"
expect 2 "output '$T/m.sig' is the signature '$T/m.sig'" "$O" attach-signature -q -o "$T/m.sig" "$T/m.sig" "$T/u.oab"
cmp -s "$T/m.sig" "$T/m.sig.bak" && ok "attach: signature untouched" || bad "attach replaced the signature"
# sign --detached: the manifest it signs.
cp "$T/m.yaml" "$T/m.yaml.bak"
expect 2 "output '$T/m.yaml' is the manifest '$T/m.yaml'" "$O" sign -q --detached -o "$T/m.yaml" $S1 "$T/m.yaml"
cmp -s "$T/m.yaml" "$T/m.yaml.bak" && ok "detached: manifest untouched" || bad "detached replaced the manifest"
# export-manifest: the bundle, under its own or another name.
expect 2 "output '$T/u.oab' is the bundle '$T/u.oab'" "$O" export-manifest -o "$T/u.oab" "$T/u.oab"
ln "$T/u.oab" "$T/u-link.oab"
expect 2 "is the bundle" "$O" export-manifest -o "$T/x.yaml" --sig "$T/u-link.oab" "$T/u.oab"
expect 2 "both be written" "$O" export-manifest -o "$T/x.yaml" --sig "$T/x.yaml" "$T/u.oab"
cmp -s "$T/u.oab" "$T/u.bak" && ok "bundle untouched" || bad "bundle replaced"
[ -e "$T/x.yaml" ] && bad "export wrote a manifest" || ok "export wrote nothing"
# Signing in place stays allowed, with or without -o naming the bundle.
expect 0 "" "$O" sign -q $S1 "$T/u.oab"
expect 0 "" "$O" sign -q -o "$T/u-link.oab" --key "$PKI/second.key" --cert "$PKI/second.pem" --chain "$PKI/chain.pem" "$T/u.oab"
expect 0 "" "$O" verify --ca "$PKI/ca.pem" --threshold 2 "$T/u-link.oab"
finish
