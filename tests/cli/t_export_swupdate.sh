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
jsondoc() { # COMMAND STATUS: the last --json document as otabundle-json(5) documents it
	python3 "$OAB_ROOT/tests/cli/jsoncheck.py" "$OAB_ROOT/man/otabundle-json.5" "$1" "$2" "$T/.out" &&
		ok "json $1 of a .swu: as documented" || bad "json $1 of a .swu: not as documented"
}
jsondoc verify 0
expect 0 "" "$O" inspect --json "$T/x.swu"
jsondoc inspect 0
expect 0 "" "$O" inspect "$T/x.swu"
grep -q "rootfs.zst" "$T/.out" && ok "inspect lists the images" || bad "inspect"
# otabundle's policy applies through the carried manifest.
expect 1 "security-version 17 is below the minimum 18" "$O" verify $CA --min-security-version 18 "$T/x.swu"
expect 0 "" "$O" verify $CA --compatible acme-gw-v2 --min-security-version 17 "$T/x.swu"

# libconfig's quoting of text from the manifest is what SWUpdate parses.
mkdir "$T/q"
cp "$IN/u-boot.bin" "$T/q/"
cat > "$T/q/q.yaml" <<'YAML'
format: 1
bundle:
  name: q
  version: "1.0 \"rc\""
  security-version: 1
  compatible: [q]
  description: "quote \" backslash \\ semicolon ; brace } tab \t"
payloads:
  - {name: fw, type: image, slot: fw, source: u-boot.bin}
export:
  swupdate:
    hardware-compatibility: ["1.0"]
YAML
expect 0 "" "$O" build -q -o "$T/q/q.oab" $S1 "$T/q/q.yaml"
expect 0 "" "$O" export -q --to swupdate -o "$T/q/q.swu" $S1 $CA "$T/q/q.oab"
TMPDIR=$T/swtmp swupdate -v -c -i "$T/q/q.swu" -k "$T/swu-ca.pem" --cert-purpose codeSigning \
	-H board:1.0 > "$T/swu.log" 2>&1 && grep -q 'Version 1.0 "rc"' "$T/swu.log" &&
	grep -q 'Description quote " backslash \\ semicolon ; brace }' "$T/swu.log" &&
	ok "swupdate parses quotes, backslashes and braces from the manifest as written" || { bad "quoted text"; grep -i -E "version|error" "$T/swu.log" | head -3; }

# No target for a handler: refused, nothing written (never guessed).
expect 0 "" "$O" build -q -o "$T/plain.oab" $S1 "$IN/acme-gateway.yaml"
expect 2 "payload 'app' \(archive, handler 'archive'\) has no target: set export.swupdate.items.app.device or .path" \
	"$O" export --to swupdate -o "$T/plain.swu" $S1 $CA "$T/plain.oab"
[ -e "$T/plain.swu" ] && bad "refused export wrote an output" || ok "refused export wrote nothing"
expect 0 "" "$O" export --json --to swupdate -o "$T/j.swu" $S1 $CA "$T/b.oab"
jsondoc export 0

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

# ---- a SoftHSM2 token key signs the export ---------------------------------
MOD=$(for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so; do [ -e "$m" ] && echo "$m" && break; done)
if [ -z "$MOD" ]; then
	if [ -n "${CI:-}" ]; then bad "SoftHSM2 not installed (make deps)"; else skip "SoftHSM2 not installed"; fi
else
	export SOFTHSM2_CONF="$T/softhsm2.conf"
	mkdir "$T/tokens"
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$T" > "$SOFTHSM2_CONF"
	printf 'Tok3n-PIN-19\n' > "$T/pin"
	softhsm2-util --init-token --free --label swu --pin Tok3n-PIN-19 --so-pin so-1234 >/dev/null
	pkcs11-tool --module "$MOD" --login --pin Tok3n-PIN-19 --keypairgen --key-type EC:prime256v1 --id 01 --label ec >/dev/null 2>&1
	printf 'openssl_conf = oc\n[oc]\nengines = es\n[es]\npkcs11 = p11\n[p11]\nengine_id = pkcs11\nMODULE_PATH = %s\n' "$MOD" > "$T/eng.cnf"
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' > "$T/leaf.ext"
	OPENSSL_CONF="$T/eng.cnf" openssl req -new -engine pkcs11 -keyform engine \
		-key "pkcs11:token=swu;object=ec;type=private;pin-value=Tok3n-PIN-19" -subj "/CN=hsm-swu" -out "$T/hsm.csr" >/dev/null 2>&1
	openssl x509 -req -in "$T/hsm.csr" -CA "$PKI/int.pem" -CAkey "$PKI/int.key" -CAcreateserial \
		-days 365 -extfile "$T/leaf.ext" -out "$T/hsm.pem" 2>/dev/null || bad "certificate for the token key"
	expect 0 "" "$O" export -q --to swupdate -o "$T/hsm.swu" --key "pkcs11:token=swu;object=ec;type=private" \
		--cert "$T/hsm.pem" --chain "$PKI/chain.pem" --pin "file:$T/pin" --pkcs11-module "$MOD" $CA "$T/b.oab"
	swu_check "$T/hsm.swu" && ok "swupdate -c accepts an export signed on the token" || { bad "swupdate refused the token export"; tail -3 "$T/swu.log"; }
	expect 0 "" "$O" verify $CA "$T/hsm.swu"
	grep -q "CN=hsm-swu" "$T/.out" && ok "token signer reported" || bad "token signer missing"
fi

# ---- reproducible with SOURCE_DATE_EPOCH, apart from the signature --------
# Compared: every cpio header (all fields, with the signature's size
# blanked) and every member's bytes, except sw-description.sig's data, and
# the zero padding after the trailer (whose length follows the signature's).
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
        # zero padding to a 512-byte block (its length follows the signature's)
        print('tail zero', d[s:].count(0) == len(d) - s, 'size % 512 =', len(d) % 512)
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

# ---- signing room: export-manifest --to, a CMS made elsewhere, attach-signature --to
expect 0 "" "$O" export-manifest --to swupdate -o "$T/room.desc" $CA "$T/b.oab"
cpio -i --quiet --to-stdout sw-description < "$T/r1.swu" | cmp -s - "$T/room.desc" &&
	ok "export-manifest --to swupdate writes the sw-description export signs" || bad "room sw-description differs"
SOURCE_DATE_EPOCH=1 expect 0 "" "$O" export-manifest --to swupdate -o "$T/room2.desc" $CA "$T/b.oab"
cmp -s "$T/room.desc" "$T/room2.desc" && ok "to-be-signed bytes do not depend on the time" || bad "room bytes vary"
openssl cms -sign -binary -nosmimecap -outform DER -md sha256 -in "$T/room.desc" -signer "$PKI/second.pem" \
	-inkey "$PKI/second.key" -certfile "$PKI/int.pem" -out "$T/room.sig"
expect 0 "" "$O" attach-signature -q --to swupdate -o "$T/room.swu" $CA "$T/room.sig" "$T/b.oab"
swu_check "$T/room.swu" && ok "swupdate -c accepts the room-signed export" || bad "swupdate refused the room export"
expect 0 "" "$O" verify $CA "$T/room.swu"
grep -q "CN=second" "$T/.out" && ok "room signer reported" || bad "room signer"
openssl cms -sign -binary -nosmimecap -outform DER -in "$T/acme-gateway.yaml" -signer "$PKI/second.pem" \
	-inkey "$PKI/second.key" -out "$T/other.sig"
expect 2 "signature '.*other.sig' \(not a DER CMS over this bundle's sw-description\)" \
	"$O" attach-signature --to swupdate -o "$T/room-x.swu" $CA "$T/other.sig" "$T/b.oab"
openssl cms -sign -binary -nosmimecap -outform DER -in "$T/room.desc" -signer "$PKI/rogue.pem" \
	-inkey "$PKI/rogue.key" -out "$T/rogue.sig"
expect 4 "signature '.*rogue.sig': .*not trusted" \
	"$O" attach-signature --to swupdate -o "$T/room-x.swu" $CA "$T/rogue.sig" "$T/b.oab"
[ -e "$T/room-x.swu" ] && bad "refused attach wrote an output" || ok "refused attach wrote nothing"
expect 2 "--signer is for --to mender" "$O" attach-signature --to swupdate --signer "$PKI/signer.pem" -o "$T/room-y.swu" $CA "$T/room.sig" "$T/b.oab"
expect 2 "no trust anchor" "$O" export-manifest --to swupdate -o "$T/room3.desc" "$T/b.oab"

# ---- native .swu files, made the documented way ---------------------------
for fmt in newc crc; do
	swu_native "$T/n$fmt" $fmt "$PKI/signer.key" "$PKI/signer.pem" || bad "native $fmt .swu"
	N=$T/n$fmt/native.swu
	swu_check "$N" && ok "native $fmt .swu: swupdate -c accepts it" || bad "native $fmt .swu refused by swupdate"
	expect 0 "" "$O" verify $CA "$N"
	grep -q "ok   member-hash rootfs.img.zst" "$T/.out" && ok "native $fmt: image hash checked" || bad "native image hash"
	expect 0 "" "$O" verify --json $CA "$N"
	grep -q '"bundle-format": *"swupdate"' "$T/.out" && ok "native $fmt: --json bundle-format" || bad "native json"
	jsondoc verify 0
	cp "$N" "$T/njflip.swu"
	flip "$T/njflip.swu" $(($(swu_offset "$N" rootfs.img.zst) + 7))
	expect 1 "" "$O" verify --json $CA "$T/njflip.swu"
	jsondoc verify 1
	expect 0 "" "$O" inspect "$N"
	cp "$N" "$T/nflip.swu"
	flip "$T/nflip.swu" $(($(swu_offset "$N" post.sh) + 3))
	expect 1 "member 'post.sh': (sha256|cpio crc) mismatch" "$O" verify $CA "$T/nflip.swu"
	expect 1 "not trusted" "$O" verify --ca "$PKI/rogue.pem" "$N"
	expect 1 "carry no security version \(1 required\)" "$O" verify $CA --min-security-version 1 "$N"
done

# ---- hostile archives fail closed with one clear line ---------------------
N=$T/nnewc/native.swu
python3 - "$N" "$T" <<'PY'
import sys
src, t = sys.argv[1], sys.argv[2]
d = bytearray(open(src, 'rb').read())
def members(d):
    o, out = 0, []
    while True:
        ns, fs = int(d[o+94:o+102], 16), int(d[o+54:o+62], 16)
        name = bytes(d[o+110:o+110+ns-1]).decode(); s = (o + 110 + ns + 3) & ~3
        out.append((name, o, s, fs))
        if name == 'TRAILER!!!':
            return out
        o = (s + fs + 3) & ~3
m = members(d)
def entry(name, data, magic=b'070701'):
    n = name.encode() + b'\0'
    h = magic + b''.join(b'%08X' % v for v in (9, 0o100644, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(n), 0))
    e = h + n
    e += b'\0' * ((4 - len(e) % 4) % 4) + data
    return e + b'\0' * ((4 - len(e) % 4) % 4)
def w(name, b):
    open('%s/h-%s.swu' % (t, name), 'wb').write(b)
desc, img, trl = m[0], m[2], m[-1]
w('trunc-header', d[:50])
w('trunc-name', d[:112])
w('trunc-desc', d[:desc[2] + 10])
w('trunc-image', d[:img[2] + 1000])
w('trunc-trailer', d[:trl[1]])
x = bytearray(d); x[desc[1]+54:desc[1]+62] = b'FFFFFFFF'; w('huge-desc', x)
x = bytearray(d); x[desc[1]+94:desc[1]+102] = b'FFFFFFFF'; w('huge-name', x)
x = bytearray(d); x[desc[1]+14:desc[1]+22] = b'0000z644'; w('nonhex', x)
w('path-name', d[:trl[1]] + entry('../evil', b'x') + d[trl[1]:])
w('dup-member', d[:trl[1]] + entry('post.sh', b'#!/bin/sh\n') + d[trl[1]:])
w('after-trailer', d + b'junk')
w('mixed', d[:trl[1]] + entry('extra', b'y', b'070702') + d[trl[1]:])
w('not-swu', entry('hello.txt', b'hi') + d[trl[1]:])
w('missing-image', d[:img[1]] + d[img[2] + img[3] + ((4 - (img[2] + img[3]) % 4) % 4):])
PY
hostile() { # NAME REGEX
	expect 1 "$2" "$O" verify $CA "$T/h-$1.swu"
	[ "$(wc -l < "$T/.err")" -eq 1 ] && ok "$1: one line" || bad "$1: $(wc -l < "$T/.err") lines of error"
}
hostile trunc-header "truncated in a cpio header"
hostile trunc-name "truncated in a cpio member name"
hostile trunc-desc "truncated in member 'sw-description'"
hostile trunc-image "truncated in member 'rootfs.img.zst'"
hostile trunc-trailer "truncated in a cpio header"
hostile huge-desc "member 'sw-description': 4294967295 bytes, more than 1048576"
hostile huge-name "cpio name size 4294967295 \(expected 2 to 256"
hostile nonhex "cpio header field mode is not 8 hex digits"
hostile path-name "member '../evil': a path, not a plain file name"
hostile dup-member "member 'post.sh': appears twice"
hostile after-trailer "data after the cpio trailer"
hostile mixed "cpio newc and crc headers mixed"
hostile not-swu "first cpio member is 'hello.txt', not 'sw-description': not a .swu"
hostile missing-image "member 'rootfs.img.zst': named in sw-description but missing"
expect 1 "truncated" "$O" inspect "$T/h-trunc-desc.swu"
# Signed but hostile sw-description texts: refused after the signature.
mkdir "$T/inc" "$T/deep" "$T/nosha" "$T/unsigned"
printf 'software = { version = "1"; @include "/etc/passwd"\n};\n' > "$T/inc/sw-description"
swu_pack "$T/inc" newc && hostile_f=$T/inc/native.swu
expect 1 "@include is refused" "$O" verify $CA "$T/inc/native.swu"
python3 -c 'print("software = { version = \"1\"; " + "a = { " * 40 + "b = 1;" + " };" * 40 + " };")' > "$T/deep/sw-description"
swu_pack "$T/deep" newc
expect 1 "nested deeper than 32 levels" "$O" verify $CA "$T/deep/native.swu"
printf 'x\n' > "$T/nosha/f.bin"
printf 'software = { version = "1"; hardware-compatibility = ["1.0"]; images = ( { filename = "f.bin"; type = "raw"; device = "/dev/x"; } ); };\n' > "$T/nosha/sw-description"
swu_pack "$T/nosha" newc f.bin
expect 1 "member 'f.bin': sw-description gives no sha256" "$O" verify $CA "$T/nosha/native.swu"
cp "$T/nosha/sw-description" "$T/nosha/f.bin" "$T/unsigned/"
(cd "$T/unsigned" && printf '%s\n' sw-description f.bin | cpio -o -H newc --quiet > native.swu)
expect 1 "not signed \(no member 'sw-description.sig' after 'sw-description'\)" "$O" verify $CA "$T/unsigned/native.swu"
expect 0 "" "$O" inspect "$T/unsigned/native.swu"
(cd "$T/unsigned" && printf 'sw-description\n' | cpio -o -H newc --quiet > alone.swu)
expect 1 "not signed" "$O" verify $CA "$T/unsigned/alone.swu"
expect 1 "member 'f.bin': named in sw-description but missing from the archive" "$O" inspect "$T/unsigned/alone.swu"
# Members named like otabundle's but not its (too big, or garbage) after
# sw-description.sig: a big one is skipped as unlisted, a bad one is refused.
mkdir "$T/big"
cp "$T/nnewc/rootfs.img.zst" "$T/nnewc/post.sh" "$T/nnewc/sw-description" "$T/big/"
head -c 5000000 /dev/zero > "$T/big/manifest.yaml"
swu_pack "$T/big" newc manifest.yaml rootfs.img.zst post.sh
expect 0 "" "$O" verify $CA "$T/big/native.swu"
grep -q "skipped by SWUpdate: manifest.yaml" "$T/.out" && ok "an oversized manifest.yaml is an unlisted member" || bad "big manifest.yaml"
printf 'x: 1\n' > "$T/big/manifest.yaml"
printf 'junk' > "$T/big/manifest.sig"
swu_pack "$T/big" newc manifest.yaml manifest.sig rootfs.img.zst post.sh
expect 1 "otabundle manifest in the .swu: .*not a DER CMS" "$O" verify $CA "$T/big/native.swu"

finish
