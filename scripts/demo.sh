#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# demo.sh OTABUNDLE - build, sign, verify, inspect and extract the example
# bundle with throwaway keys, in a temporary folder.
set -eu
O=$1
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/otabundle-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "== generating throwaway keys and example inputs in $work"
sh "$here/scripts/mkpki.sh" "$work/pki"
cp "$here/manifests/examples/acme-gateway.yaml" "$work/"
sh "$here/scripts/mkinputs.sh" "$work" 64
cd "$work"
run() { echo "\$ $*"; "$@"; }
echo "== build + sign"
run "$O" build -o acme.oab --key pki/signer.key --cert pki/signer.pem --chain pki/chain.pem acme-gateway.yaml
echo "== verify"
run "$O" verify --ca pki/ca.pem --compatible acme-gw-v2 --min-security-version 17 acme.oab
echo "== inspect"
run "$O" inspect acme.oab
echo "== extract"
mkdir out
run "$O" extract --ca pki/ca.pem -C out acme.oab
cmp out/rootfs rootfs.ext4 && echo "extracted rootfs is bit-identical to the input"
echo "== stock-tool audit (tar, openssl, zstd, sha256sum)"
mkdir audit && cd audit
run tar -xf ../acme.oab manifest.yaml manifest.sig
run openssl cms -verify -binary -inform DER -in manifest.sig -content manifest.yaml \
	-CAfile ../pki/ca.pem -purpose any -out /dev/null
echo "payloads/rootfs.zst: $(tar -xOf ../acme.oab payloads/rootfs.zst | zstd -dc | sha256sum | cut -d' ' -f1) (sha256 in manifest: $(grep -A6 'name: "rootfs"' manifest.yaml | sed -n 's/^  sha256: //p'))"
echo "demo: OK"
