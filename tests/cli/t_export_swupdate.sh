# SPDX-License-Identifier: Apache-2.0
# SWUpdate (otabundle-export(5) SWUPDATE): `export --to swupdate` checked by
# SWUpdate's own dry run (swupdate -c) and by otabundle verify; a flipped
# payload byte refused by both; native .swu files (made the documented way:
# cpio + openssl cms) audited by verify/inspect; wrong anchors; two signers;
# a token key; reproducibility; hostile archives failing closed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/swu_lib.sh"
swu_tool swupdate && swu_tool cpio || finish
CA="--ca $PKI/ca.pem"
S1="--key $PKI/signer.key --cert $PKI/signer.pem --chain $PKI/chain.pem"
S2="--key $PKI/second.key --cert $PKI/second.pem"
cp "$IN"/*.ext4 "$IN"/*.tar "$IN"/*.sh "$IN"/*.json "$IN"/*.bin "$IN"/acme-gateway.yaml "$T/"
cat >> "$T/acme-gateway.yaml" <<'YAML'
export:
  swupdate:
    hardware-compatibility: ["1.0", "1.1"]
    items:
      app: {path: /opt/acme}
      bootloader: {path: /boot/u-boot.bin}
YAML
expect 0 "" "$O" build -q -o "$T/b.oab" $S1 "$T/acme-gateway.yaml"

# ---- export: accepted by SWUpdate and by otabundle --------------------------
expect 0 "" "$O" export -q --to swupdate -o "$T/x.swu" $S1 $CA "$T/b.oab"
swu_check "$T/x.swu" && ok "swupdate -c accepts the export" || { bad "swupdate -c refused the export"; tail -5 "$T/swu.log"; }
[ "$(head -c 6 "$T/x.swu")" = 070701 ] && ok "default is cpio newc" || bad "not newc"
cpio -it --quiet < "$T/x.swu" > "$T/x.list"
printf '%s\n' sw-description sw-description.sig manifest.yaml manifest.sig rootfs.zst app.zst bootloader migrate sbom.cdx.json.zst |
	cmp -s - "$T/x.list" && ok "member order: sw-description, its signature, otabundle's manifest, the items" || bad "member order: $(tr '\n' ' ' < "$T/x.list")"
cpio -i --quiet --to-stdout sw-description < "$T/x.swu" > "$T/x.desc"
grep -q 'hardware-compatibility = \[ "1.0", "1.1" \];' "$T/x.desc" && ok "hardware-compatibility from export settings" || bad "hardware-compatibility"
grep -q 'device = "/dev/disk/by-partlabel/rootfs";' "$T/x.desc" && ok "image slot -> by-partlabel device" || bad "default device"
grep -q 'type = "postinstall";' "$T/x.desc" && ok "post-install hook -> postinstall script" || bad "script type"
zsha=$(tar -xOf "$T/b.oab" payloads/rootfs.zst | sha256sum | cut -c1-64)
grep -q "sha256 = \"$zsha\";" "$T/x.desc" && ok "rootfs sha256 is its stored (zstd) bytes" || bad "rootfs sha256"
cpio -i --quiet --to-stdout rootfs.zst < "$T/x.swu" | cmp -s - "$T/rootfs.zst.want" 2>/dev/null ||
	{ tar -xOf "$T/b.oab" payloads/rootfs.zst > "$T/rootfs.zst.want"; cpio -i --quiet --to-stdout rootfs.zst < "$T/x.swu" | cmp -s - "$T/rootfs.zst.want"; } &&
	ok "payload is the bundle's stored member byte for byte" || bad "payload bytes differ"
cpio -i --quiet --to-stdout migrate < "$T/x.swu" | cmp -s - "$T/migrate.sh" && ok "script carried as its content" || bad "script content"
expect 0 "" "$O" verify $CA "$T/x.swu"
grep -q "^bundle format: swupdate" "$T/.out" && ok "verify names the format" || bad "format line"
grep -q "ok   otabundle.threshold" "$T/.out" && ok "verify checks otabundle's own signature in the export" || bad "no otabundle.* checks"
expect 0 "" "$O" verify --json $CA "$T/x.swu"
grep -q '"bundle-format": *"swupdate"' "$T/.out" && ok "--json has bundle-format swupdate" || bad "json bundle-format"
expect 0 "" "$O" inspect "$T/x.swu"
grep -q "rootfs.zst" "$T/.out" && ok "inspect lists the images" || bad "inspect"
# otabundle's policy applies through the carried manifest.
expect 1 "security-version 17 is below the minimum 18" "$O" verify $CA --min-security-version 18 "$T/x.swu"
expect 0 "" "$O" verify $CA --compatible acme-gw-v2 --min-security-version 17 "$T/x.swu"

# crc variant
expect 0 "" "$O" export -q --to swupdate --cpio-crc -o "$T/c.swu" $S1 $CA "$T/b.oab"
[ "$(head -c 6 "$T/c.swu")" = 070702 ] && ok "--cpio-crc writes 070702 headers" || bad "not crc"
swu_check "$T/c.swu" && ok "swupdate -c accepts the crc export" || { bad "swupdate refused crc export"; tail -5 "$T/swu.log"; }
expect 0 "" "$O" verify $CA "$T/c.swu"

# ---- one flipped payload byte: refused by both ----------------------------
for f in x c; do
	cp "$T/$f.swu" "$T/${f}flip.swu"
	off=$(swu_offset "$T/$f.swu" rootfs.zst)
	flip "$T/${f}flip.swu" $((off + 1000))
	swu_check "$T/${f}flip.swu" && bad "swupdate accepted a flipped payload byte ($f)" || ok "swupdate refuses a flipped payload byte ($f)"
	expect 1 "member 'rootfs.zst': (sha256|cpio crc) mismatch" "$O" verify $CA "$T/${f}flip.swu"
done
# A flipped byte of sw-description: a bad signature for both.
cp "$T/x.swu" "$T/dflip.swu"
flip "$T/dflip.swu" $(($(swu_offset "$T/x.swu" sw-description) + 20))
swu_check "$T/dflip.swu" && bad "swupdate accepted a changed sw-description" || ok "swupdate refuses a changed sw-description"
expect 1 "sw-description.sig.*(invalid|INVALID)" "$O" verify $CA "$T/dflip.swu"
# The SBOM is not installed by SWUpdate, but otabundle checks it.
cp "$T/x.swu" "$T/sflip.swu"
flip "$T/sflip.swu" $(($(swu_offset "$T/x.swu" sbom.cdx.json.zst) + 5))
expect 1 "item 'sbom.cdx.json'.*stored chunk sha256 mismatch" "$O" verify $CA "$T/sflip.swu"

# ---- wrong key or anchor --------------------------------------------------
expect 0 "" "$O" export -q --to swupdate -o "$T/rogue.swu" --key "$PKI/rogue.key" --cert "$PKI/rogue.pem" $CA "$T/b.oab"
swu_check "$T/rogue.swu" && bad "swupdate accepted a rogue signer" || ok "swupdate refuses a signer outside its CA"
expect 1 "sw-description.sig.*not trusted" "$O" verify $CA "$T/rogue.swu"
expect 1 "not trusted" "$O" verify --ca "$PKI/rogue.pem" "$T/x.swu"
expect 2 "no trust anchor" "$O" verify "$T/x.swu"

# ---- two signers: one SignerInfo each -------------------------------------
# --threshold applies to sw-description.sig and to the carried manifest.sig.
expect 0 "" "$O" export -q --to swupdate -o "$T/two.swu" $S1 $S2 $CA "$T/b.oab"
cpio -i --quiet --to-stdout sw-description.sig < "$T/two.swu" > "$T/two.sig"
[ "$(openssl cms -cmsout -print -inform DER -in "$T/two.sig" | grep -c 'signatureAlgorithm:')" -eq 2 ] &&
	ok "two signers: two SignerInfos" || bad "signer count"
swu_check "$T/two.swu" && ok "swupdate -c accepts two signers" || { bad "swupdate refused two signers"; tail -3 "$T/swu.log"; }
expect 1 "otabundle manifest in the .swu: 1 distinct trusted signing key, 2 required" \
	"$O" verify $CA --threshold 2 "$T/two.swu"
expect 0 "" "$O" build -q -o "$T/b2.oab" $S1 $S2 "$T/acme-gateway.yaml"
expect 0 "" "$O" export -q --to swupdate -o "$T/two2.swu" $S1 $S2 $CA "$T/b2.oab"
expect 0 "" "$O" verify $CA --threshold 2 "$T/two2.swu"
expect 0 "" "$O" export -q --to swupdate -o "$T/one2.swu" $S1 $CA "$T/b2.oab"
expect 1 "sw-description.sig.*1 distinct trusted signing key, 2 required|no trusted|2 required" \
	"$O" verify $CA --threshold 2 "$T/one2.swu"

# ---- reproducible with SOURCE_DATE_EPOCH, apart from the signature --------
# Compared: every cpio header (all fields, with the signature's size
# blanked) and every member's bytes, except sw-description.sig's data.
cpio_dump() {
	python3 - "$1" <<'PY'
import sys, hashlib
d = open(sys.argv[1], 'rb').read()
o = 0
while True:
    h = d[o:o+110]; ns, fs = int(h[94:102], 16), int(h[54:62], 16)
    name = d[o+110:o+110+ns-1].decode(); s = (o + 110 + ns + 3) & ~3
    data = d[s:s+fs]
    if name == 'sw-description.sig':
        h = h[:54] + b'-' * 8 + h[62:]; data = b''
    print(h.decode(), name, hashlib.sha256(data).hexdigest())
    if name == 'TRAILER!!!':
        print('tail', len(d) - s)
        break
    o = (s + fs + 3) & ~3
PY
}
SOURCE_DATE_EPOCH=1700000000 expect 0 "" "$O" export -q --to swupdate -o "$T/r1.swu" $S1 $CA "$T/b.oab"
SOURCE_DATE_EPOCH=1700000000 expect 0 "" "$O" export -q --to swupdate -o "$T/r2.swu" $S1 $CA "$T/b.oab"
cpio_dump "$T/r1.swu" > "$T/r1.dump" && cpio_dump "$T/r2.swu" > "$T/r2.dump" &&
	cmp -s "$T/r1.dump" "$T/r2.dump" && ok "two exports: identical but for the signature bytes" ||
	{ bad "exports differ"; diff "$T/r1.dump" "$T/r2.dump" | head -5; }
grep -q "$(printf '%08X' 1700000000)" "$T/r1.dump" && ok "member times are SOURCE_DATE_EPOCH" || bad "mtime"

# ---- native .swu files, made the documented way ---------------------------
for fmt in newc crc; do
	swu_native "$T/n$fmt" $fmt "$PKI/signer.key" "$PKI/signer.pem" || bad "native $fmt .swu"
	N=$T/n$fmt/native.swu
	swu_check "$N" && ok "native $fmt .swu: swupdate -c accepts it" || bad "native $fmt .swu refused by swupdate"
	expect 0 "" "$O" verify $CA "$N"
	grep -q "ok   member-hash rootfs.img.zst" "$T/.out" && ok "native $fmt: image hash checked" || bad "native image hash"
	expect 0 "" "$O" verify --json $CA "$N"
	grep -q '"bundle-format": *"swupdate"' "$T/.out" && ok "native $fmt: --json bundle-format" || bad "native json"
	expect 0 "" "$O" inspect "$N"
	cp "$N" "$T/nflip.swu"
	flip "$T/nflip.swu" $(($(swu_offset "$N" post.sh) + 3))
	expect 1 "member 'post.sh': (sha256|cpio crc) mismatch" "$O" verify $CA "$T/nflip.swu"
	expect 1 "not trusted" "$O" verify --ca "$PKI/rogue.pem" "$N"
	expect 1 "carry no security version \(1 required\)" "$O" verify $CA --min-security-version 1 "$N"
done

finish
