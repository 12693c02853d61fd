# SPDX-License-Identifier: Apache-2.0
# Reproducible output: same inputs + SOURCE_DATE_EPOCH give the same bytes,
# whatever the thread count; signed bundles differ only in manifest.sig.
. "$(dirname "$0")/lib.sh"
export SOURCE_DATE_EPOCH=1700000000
expect 0 "" "$O" build -q --unsigned -j 1 -o "$T/u1.oab" "$IN/acme-gateway.yaml"
expect 0 "" "$O" build -q --unsigned -j 2 -o "$T/u2.oab" "$IN/acme-gateway.yaml"
expect 0 "" "$O" build -q --unsigned -j 4 -o "$T/u4.oab" "$IN/acme-gateway.yaml"
cmp -s "$T/u1.oab" "$T/u2.oab" && cmp -s "$T/u1.oab" "$T/u4.oab" && ok "unsigned builds byte-identical for -j 1/2/4" || bad "unsigned builds differ"
build_example "$T/s1.oab" -j 1
sleep 1
build_example "$T/s2.oab" -j 2
for m in manifest.yaml payloads/rootfs.zst payloads/app.zst payloads/bootloader scripts/migrate.zst sbom/sbom.cdx.json.zst; do
	if [ "$(tar -xOf "$T/s1.oab" "$m" | sha256sum)" = "$(tar -xOf "$T/s2.oab" "$m" | sha256sum)" ]; then
		ok "signed builds: $m identical"
	else
		bad "signed builds: $m differs"
	fi
done
tar -xOf "$T/s1.oab" manifest.yaml | grep -q "created: 2023-11-14T22:13:20Z" && ok "SOURCE_DATE_EPOCH is the build time" || bad "created time"
tar -tvf "$T/s1.oab" | grep -v "2023-11-14" && bad "member mtimes not SOURCE_DATE_EPOCH" || ok "member mtimes are SOURCE_DATE_EPOCH"
SOURCE_DATE_EPOCH=yesterday expect 2 "SOURCE_DATE_EPOCH" "$O" build -q --unsigned -o "$T/x.oab" "$IN/acme-gateway.yaml"
finish
