#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# run.sh SECONDS BUILD_DIR - make seed corpora and run every libFuzzer
# target for SECONDS each. A crash fails the run; its input is kept in
# tests/fuzz/crashes/ to become a regression test.
set -eu
secs=${1:-60}
b=${2:-build/fuzz}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$b/work
rm -rf "$work"
mkdir -p "$work/in" "$b/corpus-manifest" "$b/corpus-bundle" "$b/corpus-cms" "$b/corpus-delta" "$b/corpus-raucm" \
	"$root/tests/fuzz/crashes"
sh "$root/scripts/mkpki.sh" "$work/pki" >/dev/null 2>&1
# Small inputs so that mutations reach every member quickly.
printf 'rootfs image\n%.0s' $(seq 1 200) > "$work/in/rootfs.ext4"
printf 'app\n' > "$work/in/app.tar"; head -c 300 /dev/urandom > "$work/in/u-boot.bin"
printf '#!/bin/sh\n' > "$work/in/migrate.sh"; printf '{}' > "$work/in/sbom.cdx.json"
cp "$root/manifests/examples/acme-gateway.yaml" "$work/in/"
O=$root/build/otabundle
"$O" build -q -o "$b/corpus-bundle/signed.oab" --key "$work/pki/signer.key" --cert "$work/pki/signer.pem" "$work/in/acme-gateway.yaml"
"$O" build -q --unsigned -o "$b/corpus-bundle/unsigned.oab" "$work/in/acme-gateway.yaml"
sed 's/compression: none/compression: zstd:1/' "$work/in/acme-gateway.yaml" > "$work/in/m2.yaml"
"$O" build -q -o "$b/corpus-bundle/signed2.oab" --key "$work/pki/signer.key" --cert "$work/pki/signer.pem" "$work/in/m2.yaml"
# SWUpdate: a .swu export (newc and crc) of a one-image bundle, audited by
# fuzz_bundle through verify/inspect (signed by the pinned signer).
printf 'format: 1\nbundle: {name: s, version: "1", security-version: 1, compatible: [b]}\npayloads:\n  - {name: rootfs, type: image, slot: rootfs, source: rootfs.ext4, compression: "zstd:1"}\n' \
	> "$work/in/swu.yaml"
"$O" build -q -o "$work/swu.oab" --key "$work/pki/signer.key" --cert "$work/pki/signer.pem" "$work/in/swu.yaml"
"$O" export -q --to swupdate -o "$b/corpus-bundle/export.swu" --key "$work/pki/signer.key" \
	--cert "$work/pki/signer.pem" --trust "$work/pki/signer.pem" "$work/swu.oab"
"$O" export -q --to swupdate --cpio-crc -o "$b/corpus-bundle/export-crc.swu" --key "$work/pki/signer.key" \
	--cert "$work/pki/signer.pem" --trust "$work/pki/signer.pem" "$work/swu.oab"
# A Mender artifact (export of a one-payload bundle) for the Mender audit:
# signed by the pinned key, so mutations reach its header and data.
printf 'format: 1\nbundle:\n  name: m\n  version: "1"\n  security-version: 1\n  compatible: [d]\npayloads:\n  - name: rootfs\n    type: image\n    source: rootfs.ext4\n' \
	> "$work/in/one.yaml"
"$O" build -q -o "$work/one.oab" --key "$work/pki/signer.key" --cert "$work/pki/signer.pem" "$work/in/one.yaml"
"$O" export -q --to mender -o "$b/corpus-bundle/export.mender" --trust "$work/pki/signer.pem" \
	--key "$work/pki/signer.key" --cert "$work/pki/signer.pem" "$work/one.oab"
cp "$root/manifests/examples/"*.yaml "$b/corpus-manifest/"
tar -xOf "$b/corpus-bundle/signed.oab" manifest.yaml > "$b/corpus-manifest/resolved.yaml"
export OAB_FUZZ_TRUST="$work/pki/signer.pem"
# fuzz_cms: signatures over signed.oab's manifest, judged against the
# test CA and the pinned signer.
sh "$root/scripts/mkpki.sh" "$work/pki" leaf second p256 >/dev/null 2>&1
sh "$root/scripts/mkpki.sh" "$work/pki" leaf signer-rsa rsa2048 >/dev/null 2>&1
tar -xOf "$b/corpus-bundle/signed.oab" manifest.yaml > "$work/signed.yaml"
tar -xOf "$b/corpus-bundle/signed.oab" manifest.sig > "$b/corpus-cms/signed.sig"
# ... with an (unsigned, malformed) id-aa-timeStampToken attribute, so the
# token path starts from a seed: SEQUENCE { INTEGER 1 } as the token.
python3 "$root/tests/tools/dergraft.py" -raw a1163014060b2a864886f70d010910020e31053003020101 \
	"$b/corpus-cms/signed.sig" "$b/corpus-cms/signed-token.sig"
openssl cms -sign -binary -in "$work/signed.yaml" -signer "$work/pki/signer.pem" -inkey "$work/pki/signer.key" \
	-signer "$work/pki/second.pem" -inkey "$work/pki/second.key" -certfile "$work/pki/chain.pem" \
	-md sha256 -outform DER -out "$b/corpus-cms/two-chain.sig"
openssl cms -sign -binary -in "$work/signed.yaml" -signer "$work/pki/second.pem" -inkey "$work/pki/second.key" \
	-md sha1 -noattr -outform DER -out "$b/corpus-cms/sha1-noattr.sig"
"$O" sign -q --detached -o "$b/corpus-cms/rsa-pss.sig" --key "$work/pki/signer-rsa.key" \
	--cert "$work/pki/signer-rsa.pem" --chain "$work/pki/chain.pem" "$work/signed.yaml"
# and one carrying CRLs (crls field) of the intermediate and the root
for c in int ca; do
	mkdir -p "$work/crl-$c"
	: > "$work/crl-$c/index"
	echo 01 > "$work/crl-$c/crlnumber"
	printf '[ca]\ndefault_ca = c\n[c]\ndatabase = %s\ncrlnumber = %s\ndefault_md = sha256\ndefault_crl_days = 3650\n' \
		"$work/crl-$c/index" "$work/crl-$c/crlnumber" > "$work/crl-$c/cnf"
	openssl ca -gencrl -config "$work/crl-$c/cnf" -cert "$work/pki/$c.pem" -keyfile "$work/pki/$c.key" \
		-out "$work/$c.crl" 2>/dev/null
done
"$O" sign -q --detached -o "$b/corpus-cms/crls.sig" --key "$work/pki/signer.key" --cert "$work/pki/signer.pem" \
	--chain "$work/pki/chain.pem" --crl "$work/int.crl" --crl "$work/ca.crl" "$work/signed.yaml"
# fuzz_delta: real deltas against its fixed base (one grown and edited,
# one with every 4 KiB block moved), as "HEADER, segment lines, --, member".
OAB_FUZZ_WRITE_BASE="$work/dbase.img" "$b/fuzz_delta"
{ cat "$work/dbase.img"; printf 'new text %.0s' $(seq 1 4000); } > "$work/dnew1.img"
printf 'edited' | dd of="$work/dnew1.img" bs=1 seek=70000 conv=notrunc status=none
for i in $(seq 63 -1 0); do dd if="$work/dbase.img" bs=4096 skip="$i" count=1 status=none; done > "$work/dnew2.img"
for k in 1 2; do
	printf 'format: 1\nbundle: {name: d, version: "1", security-version: 1, compatible: [d]}\npayloads:\n  - {name: rootfs, type: image, source: dnew%s.img, delta-from: dbase.img, compression: "zstd:3"}\n' \
		"$k" > "$work/d$k.yaml"
	"$O" build -q --unsigned -o "$work/d$k.oab" "$work/d$k.yaml"
	tar -xOf "$work/d$k.oab" manifest.yaml > "$work/d$k.m"
	{
		printf '%s %s %s %s\n' "$(sed -n 's/^  size: //p' "$work/d$k.m")" \
			"$(sed -n 's/^    segment-size: //p' "$work/d$k.m")" \
			"$(sed -n 's/^    prefix-max: //p' "$work/d$k.m")" "$(sed -n 's/^    window-log: //p' "$work/d$k.m")"
		sed -n 's/^    - //p' "$work/d$k.m"
		printf -- '--\n'
		tar -xOf "$work/d$k.oab" payloads/rootfs.zdelta
	} > "$b/corpus-delta/seed$k"
done
# fuzz_raucm: RAUC manifests as rauc and otabundle export write them.
mkdir -p "$b/corpus-raucm"
printf '[update]\ncompatible=acme-gw\nversion=1.0\ndescription=a\\sb\\nc\n\n[bundle]\nformat=verity\nverity-hash=%064d\nverity-salt=%064d\nverity-size=4096\n\n[hooks]\nfilename=hook\n\n[image.rootfs]\nfilename=rootfs.img\nsize=300000\nsha256=%064d\nhooks=post-install;\n\n[image.appfs.v2]\nfilename=app.tar\nsize=1\nsha256=%064d\n' \
	0 1 2 3 > "$b/corpus-raucm/verity.raucm"
printf '# comment\n[update]\ncompatible=x\n[bundle]\nformat=plain\n' > "$b/corpus-raucm/plain.raucm"
export OAB_FUZZ_CA="$work/pki/ca.pem" OAB_FUZZ_MANIFEST="$work/signed.yaml"
status=0
for t in manifest bundle cms delta raucm; do
	echo "== fuzz_$t for ${secs}s"
	if ! "$b/fuzz_$t" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 -timeout=20 \
		-artifact_prefix="$root/tests/fuzz/crashes/$t-" -print_final_stats=1 \
		"$b/corpus-$t" > "$work/fuzz_$t.log" 2>&1; then
		status=1
		tail -40 "$work/fuzz_$t.log"
	fi
	grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$work/fuzz_$t.log" | sed "s/^/fuzz_$t: /"
done
# Every saved crash is replayed as a regression test.
for c in "$root"/tests/fuzz/regressions/*; do
	[ -e "$c" ] || continue
	case $(basename "$c") in manifest-*) t=manifest ;; cms-*) t=cms ;; delta-*) t=delta ;; raucm-*) t=raucm ;; *) t=bundle ;; esac
	"$b/fuzz_$t" "$c" >/dev/null 2>&1 || { echo "regression $(basename "$c") crashes"; status=1; }
done
exit $status
