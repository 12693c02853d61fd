# SPDX-License-Identifier: Apache-2.0
# The export framework (otabundle-export(5)): the manifest's export: map
# (parsed, validated, signed), and `otabundle export` refusing before it
# writes anything: no anchors, an untrusted or tampered input, an output
# that is an input, a peer bundle as input. The formats have their own
# t_export_<format>.sh scripts.
. "$(dirname "$0")/lib.sh"
cp "$IN"/*.ext4 "$IN"/*.tar "$IN"/*.sh "$IN"/*.json "$IN"/*.bin "$T/"
head_ok='format: 1
bundle:
  name: t
  version: "1"
  security-version: 1
  compatible: [board]
payloads:
  - {name: rootfs, type: image, slot: rootfs, source: rootfs.ext4}'

bad_export() { # NAME REGEX : export: map $T/NAME.yaml must be refused
	expect 2 "$2" "$O" build -q --unsigned -o "$T/$1.oab" "$T/$1.yaml"
	[ -e "$T/$1.oab" ] && bad "$1: output written" || ok "$1: nothing written"
}
printf '%s\nexport:\n  opkg: {}\n' "$head_ok" > "$T/fmt.yaml"
bad_export fmt "fmt.yaml:10:3: unknown key 'opkg' in 'export' \(expected one of: rauc, swupdate, mender\)"
printf '%s\nexport:\n  swupdate: {colour: red}\n' "$head_ok" > "$T/key.yaml"
bad_export key "key.yaml:10:14: unknown key 'colour' in 'export.swupdate' \(expected one of: hardware-compatibility, items\)"
printf '%s\nexport:\n  swupdate: {items: {kernel: {type: raw}}}\n' "$head_ok" > "$T/item.yaml"
bad_export item "key 'export.swupdate.items': 'kernel' is not a payload"
printf '%s\nexport:\n  swupdate: {items: {rootfs: {device: "/dev/a\\n[x]"}}}\n' "$head_ok" > "$T/nl.yaml"
bad_export nl "export.swupdate.items.rootfs.device.*one line of printable text"
printf '%s\nexport:\n  swupdate: {items: {rootfs: {device: "dev/mmcblk0p2"}}}\n' "$head_ok" > "$T/path.yaml"
bad_export path "'dev/mmcblk0p2' is not an absolute path"
printf '%s\nexport:\n  rauc: {format: casync}\n' "$head_ok" > "$T/enum.yaml"
bad_export enum "'casync' \(expected one of: verity, plain\)"
printf '%s\nexport:\n  mender: {artifact-name: [a, b]}\n' "$head_ok" > "$T/list.yaml"
bad_export list "export.mender.artifact-name': expected a scalar, found a list"
printf '%s\nexport:\n  mender: {device-type: []}\n' "$head_ok" > "$T/empty.yaml"
bad_export empty "export.mender.device-type': expected 1 to 64 values"
printf '%s\nexport:\n  rauc: {items: {rootfs: {class: a}, rootfs: {class: b}}}\n' "$head_ok" > "$T/dup.yaml"
bad_export dup "duplicate key 'rootfs' in 'export.rauc.items'"

# A good map is carried into the signed manifest (and reads back).
cat > "$T/good.yaml" <<YAML
$head_ok
export:
  rauc:
    items:
      rootfs: {class: rootfs, hooks: [post-install]}
    format: plain
  swupdate:
    hardware-compatibility: ["1.0", "rev 2"]
    items:
      rootfs: {type: raw, device: /dev/mmcblk0p2}
  mender:
    device-type: [acme-gw]
    artifact-name: "t-1 (test)"
YAML
expect 0 "" "$O" build -q -o "$T/good.oab" --key "$PKI/signer.key" --cert "$PKI/signer.pem" \
	--chain "$PKI/chain.pem" "$T/good.yaml"
expect 0 "" "$O" export-manifest -o "$T/good.res.yaml" "$T/good.oab"
grep -q '^export:' "$T/good.res.yaml" && grep -q '"/dev/mmcblk0p2"' "$T/good.res.yaml" &&
	grep -q 'hardware-compatibility: \["1.0", "rev 2"\]' "$T/good.res.yaml" &&
	grep -q '"t-1 (test)"' "$T/good.res.yaml" && ok "export map in the signed manifest" ||
	bad "export map not in the signed manifest: $(sed -n '/^export:/,$p' "$T/good.res.yaml")"
expect 0 "" "$O" verify -q --ca "$PKI/ca.pem" "$T/good.oab"
# The resolved manifest reads back to itself (emit -> parse -> emit).
"$O" build -q --unsigned -o "$T/again.oab" "$T/good.yaml" &&
	"$O" export-manifest -o "$T/again.res.yaml" "$T/again.oab" &&
	[ "$(sed -n '/^export:/,$p' "$T/good.res.yaml")" = "$(sed -n '/^export:/,$p' "$T/again.res.yaml")" ] &&
	ok "export map emitted the same way twice" || bad "export map emitted differently"
# Editing the export map of a signed bundle breaks its signature.
sed 's|/dev/mmcblk0p2|/dev/mmcblk0p3|' "$T/good.res.yaml" > "$T/edited.yaml"
"$OAB_TOOLS/tarmangle" "$T/good.oab" "$T/edited.oab" replace manifest.yaml "$T/edited.yaml" &&
	expect 1 "signature" "$O" verify -q --ca "$PKI/ca.pem" "$T/edited.oab" || bad "tarmangle replace failed"

# export refuses before writing anything
S="--key $PKI/signer.key --cert $PKI/signer.pem"
expect 2 "no trust anchor for the input" "$O" export --to rauc -o "$T/x.raucb" $S "$T/good.oab"
expect 2 "--to: expected rauc, swupdate or mender, found 'opkg'" "$O" export --to opkg -o "$T/x" $S --ca "$PKI/ca.pem" "$T/good.oab"
expect 2 "no format" "$O" export -o "$T/x" $S --ca "$PKI/ca.pem" "$T/good.oab"
expect 2 "no signing key" "$O" export --to rauc -o "$T/x" --ca "$PKI/ca.pem" "$T/good.oab"
expect 2 "bundle.*same file|is the bundle|one of the inputs|output" "$O" export --to rauc -o "$T/good.oab" $S --ca "$PKI/ca.pem" "$T/good.oab"
expect 2 "key.*same file|one of the inputs|output" "$O" export --to rauc -o "$PKI/signer.key" $S --ca "$PKI/ca.pem" "$T/good.oab"
# an anchor file is an input too: never overwritten by an output
cp "$PKI/ca.pem" "$T/anchor.pem"
expect 2 "output '.*anchor.pem' is '.*anchor.pem', one of the anchor or CRL files given" \
	"$O" export --to swupdate -o "$T/anchor.pem" $S --ca "$T/anchor.pem" "$T/good.oab"
expect 2 "one of the anchor or CRL files given" \
	"$O" export-manifest --to swupdate -o "$T/anchor.pem" --ca "$T/anchor.pem" "$T/good.oab"
expect 2 "one of the anchor or CRL files given" \
	"$O" export-manifest --to rauc -o "$T/tbs" --unsigned "$T/anchor.pem" --ca "$T/anchor.pem" "$T/good.oab"
# build and sign too: -o, or the bundle signed in place, may not be an anchor or CRL file
expect 2 "one of the anchor or CRL files given" "$O" build -q -o "$T/anchor.pem" --key "$PKI/signer.key" \
	--cert "$PKI/signer.pem" --chain "$PKI/chain.pem" --ca "$T/anchor.pem" "$T/good.yaml"
expect 2 "one of the anchor or CRL files given" "$O" sign -q -o "$T/anchor.pem" --key "$PKI/second.key" \
	--cert "$PKI/second.pem" --trust "$T/anchor.pem" "$T/good.oab"
expect 2 "one of the anchor or CRL files given" "$O" sign -q --detached -o "$T/anchor.pem" --key "$PKI/second.key" \
	--cert "$PKI/second.pem" --crl "$T/anchor.pem" "$T/good.res.yaml"
cmp -s "$PKI/ca.pem" "$T/anchor.pem" && ok "anchor file untouched" || bad "anchor file overwritten"
for f in rauc swupdate mender; do
	# a bundle signed by an untrusted key: rejected (exit 1), nothing written
	expect 1 "refusing to export" "$O" export --to $f -o "$T/u.$f" $S --trust "$PKI/second.pem" "$T/good.oab"
	[ -e "$T/u.$f" ] && bad "$f: written from an untrusted bundle" || ok "$f: nothing written (untrusted)"
	# a damaged payload: rejected, nothing written
	cp "$T/good.oab" "$T/dmg.oab"
	off=$(offset_of "$T/dmg.oab" payloads/rootfs.zst 2>/dev/null || echo)
	if [ -n "$off" ]; then
		flip "$T/dmg.oab" $((off + 1000))
		expect 1 "refusing to export" "$O" export --to $f -o "$T/d.$f" $S --ca "$PKI/ca.pem" "$T/dmg.oab"
		[ -e "$T/d.$f" ] && bad "$f: written from a damaged bundle" || ok "$f: nothing written (damaged)"
	else
		bad "offset_of found no payloads/rootfs.zst"
	fi
done
# --json: one document, also for an error (checked against otabundle-json(5))
"$O" export --to mender --json -o "$T/j" --ca "$PKI/ca.pem" "$T/good.oab" > "$T/j.json" 2>/dev/null
st=$?
[ "$st" -eq 2 ] && ok "export --json without a key: exit 2" || bad "export --json without a key: exit $st"
out=$(python3 "$OAB_ROOT/tests/cli/jsoncheck.py" "$OAB_ROOT/man/otabundle-json.5" export "$st" "$T/j.json" 2>&1) &&
	ok "export --json error document matches otabundle-json(5)" || bad "export --json: $out"
finish
