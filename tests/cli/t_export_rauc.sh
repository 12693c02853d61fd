# SPDX-License-Identifier: Apache-2.0
# RAUC (otabundle-export(5) RAUC), checked with rauc 1.8 itself: exports
# (verity and plain, file keys, two signers, a SoftHSM2 token key) pass
# `rauc info` and `rauc extract` with check-purpose=codesign and
# `otabundle verify`; one flipped payload byte is refused by both; native
# bundles made by `rauc bundle` verify with otabundle and are refused when
# tampered; a wrong CA is refused; exports are reproducible; the verity
# tree is byte for byte veritysetup's; hostile bundles fail closed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rauc_lib.sh"
need_tool rauc || finish
export SOURCE_DATE_EPOCH=1700000000
CA="--ca $PKI/ca.pem"
S="--key $PKI/signer.key --cert $PKI/signer.pem --chain $PKI/chain.pem"
rauc_conf "$T/system.conf" "$PKI/ca.pem"
RC="--keyring $PKI/ca.pem --conf $T/system.conf"
build_example "$T/b.oab"

# rauc_ok NAME FILE: rauc info (signature, chain) and rauc extract (verity:
# every block of the payload) accept it; the images come out as the inputs.
rauc_ok() {
	rauc info $RC "$2" > "$T/$1.info" 2>&1 && ok "$1: rauc info accepts it" ||
		{ bad "$1: rauc info refuses it"; sed 's/^/    /' "$T/$1.info" | tail -3; }
	rm -rf "$T/x-$1"
	rauc extract $RC "$2" "$T/x-$1" > "$T/$1.extract" 2>&1 && ok "$1: rauc extract accepts it" ||
		{ bad "$1: rauc extract refuses it"; sed 's/^/    /' "$T/$1.extract" | tail -3; }
	cmp -s "$T/x-$1/rootfs.img" "$IN/rootfs.ext4" && cmp -s "$T/x-$1/app.tar" "$IN/app.tar" &&
		cmp -s "$T/x-$1/bootloader.img" "$IN/u-boot.bin" &&
		ok "$1: rauc extract gives the payloads byte for byte" || bad "$1: extracted payloads differ"
}
# flip_mid FILE: one byte in the middle of the squashfs (image data).
flip_mid() {
	size=$(wc -c < "$1")
	flip "$1" $((size / 3))
}

# ---- export, verity (the default) ----
expect 0 "" "$O" export -q --to rauc -o "$T/v.raucb" $S $CA "$T/b.oab"
rauc_ok verity "$T/v.raucb"
grep -q "Bundle Format:[[:space:]]*verity" "$T/verity.info" && ok "verity format" || bad "not verity: $(grep Format "$T/verity.info")"
grep -q "Compatible:[[:space:]]*'acme-gw-v2'" "$T/verity.info" && grep -q "Version:[[:space:]]*'2.4.1'" "$T/verity.info" &&
	ok "compatible and version from the manifest" || bad "compatible/version"
grep -q "Build:[[:space:]]*'2023-11-14T22:13:20Z'" "$T/verity.info" && ok "build time is SOURCE_DATE_EPOCH" || bad "build time"
expect 0 "" "$O" verify $CA "$T/v.raucb"
grep -q "member-hash rootfs.img" "$T/.out" && grep -q "ok   verity" "$T/.out" &&
	ok "verify checks the verity tree and every image" || bad "verify report lacks verity/images"
expect 0 "" "$O" verify --json $CA "$T/v.raucb"
grep -q '"bundle-format": *"rauc"' "$T/.out" && ok "--json names the format" || bad "--json lacks bundle-format rauc"
expect 0 "" "$O" inspect "$T/v.raucb"
grep -q "bundle format: rauc" "$T/.out" && ok "inspect names the format" || bad "inspect"
for f in manifest.raucm manifest.yaml manifest.sig; do
	[ -s "$T/x-verity/$f" ] && ok "squashfs carries $f" || bad "squashfs lacks $f"
done
grep -q "verity-" "$T/x-verity/manifest.raucm" && bad "inner manifest.raucm has verity keys" ||
	ok "inner manifest.raucm has no verity-* keys (rauc's rule)"
tar -xOf "$T/b.oab" manifest.yaml | cmp -s - "$T/x-verity/manifest.yaml" &&
	ok "carried manifest.yaml is the signed one" || bad "carried manifest.yaml differs"

# One flipped payload byte: rauc extract (verity) and otabundle refuse it.
cp "$T/v.raucb" "$T/vt.raucb"
flip_mid "$T/vt.raucb"
rauc extract $RC "$T/vt.raucb" "$T/x-vt" > "$T/vt.log" 2>&1 && bad "rauc extract accepted a flipped byte" ||
	{ grep -q "corrupt" "$T/vt.log" && ok "rauc extract refuses a flipped byte (verity)" || bad "rauc: $(tail -1 "$T/vt.log")"; }
expect 1 "squashfs bytes [0-9]+ to [0-9]+ do not match the verity hash tree" "$O" verify $CA "$T/vt.raucb"

# ---- plain ----
expect 0 "" "$O" export -q --to rauc --rauc-plain -o "$T/p.raucb" $S $CA "$T/b.oab"
rauc_ok plain "$T/p.raucb"
grep -q "Bundle Format:[[:space:]]*plain" "$T/plain.info" && ok "plain format" || bad "not plain"
expect 0 "" "$O" verify $CA "$T/p.raucb"
cp "$T/p.raucb" "$T/pt.raucb"
flip_mid "$T/pt.raucb"
rauc info $RC "$T/pt.raucb" > "$T/pt.log" 2>&1 && bad "rauc info accepted a flipped byte (plain)" ||
	ok "rauc info refuses a flipped byte (plain: the signature covers the squashfs)"
expect 1 "RAUC signature: signature 1 of 1 invalid" "$O" verify $CA "$T/pt.raucb"
expect 2 "--rauc-plain: only with --to rauc" "$O" export --to mender --rauc-plain -o "$T/m" $S $CA "$T/b.oab"

# ---- the export map: format, class, filename, hooks ----
cp "$IN"/*.ext4 "$IN"/*.tar "$IN"/*.sh "$IN"/*.json "$IN"/*.bin "$T/"
sed 's/^sbom: .*//' "$IN/acme-gateway.yaml" > "$T/map.yaml"
cat >> "$T/map.yaml" <<'YAML'
export:
  rauc:
    format: plain
    compatible: acme-gw-v2
    hook-script: migrate
    items:
      rootfs: {class: rootfs-a, filename: rootfs.ext4, hooks: [post-install]}
      app: {class: appfs}
YAML
expect 0 "" "$O" build -q -o "$T/map.oab" $S "$T/map.yaml"
expect 0 "" "$O" export -q --to rauc -o "$T/map.raucb" $S $CA "$T/map.oab"
rauc info $RC "$T/map.raucb" > "$T/map.info" 2>&1 && ok "map: rauc info accepts it" || bad "map: rauc info: $(tail -2 "$T/map.info")"
grep -q "Bundle Format:[[:space:]]*plain" "$T/map.info" && ok "map: export.rauc.format plain" || bad "map: format"
grep -q "rootfs-a" "$T/map.info" && grep -q "Filename:[[:space:]]*rootfs.ext4" "$T/map.info" &&
	ok "map: class and filename" || bad "map: class/filename"
grep -q "Hooks:[[:space:]]*post-install" "$T/map.info" && ok "map: image hooks" || bad "map: hooks"
rm -rf "$T/x-map"
rauc extract $RC "$T/map.raucb" "$T/x-map" >/dev/null 2>&1 && cmp -s "$T/x-map/migrate" "$IN/migrate.sh" &&
	ok "map: the hook script is in the bundle" || bad "map: hook script missing"
grep -q "^\[hooks\]" "$T/x-map/manifest.raucm" && grep -q "^filename=migrate" "$T/x-map/manifest.raucm" &&
	ok "map: [hooks] filename" || bad "map: [hooks]"
sed 's/hook-script: migrate//' "$T/map.yaml" > "$T/nohook.yaml"
expect 0 "" "$O" build -q -o "$T/nohook.oab" $S "$T/nohook.yaml"
expect 2 "payload 'rootfs': RAUC hooks need export.rauc.hook-script" \
	"$O" export -q --to rauc -o "$T/nohook.raucb" $S $CA "$T/nohook.oab"
[ -e "$T/nohook.raucb" ] && bad "output left after a refused export" || ok "nothing written when refused"

# ---- two signers: rauc (1.8 and today's) refuses "Unsupported number of
# signers: 2" after checking both, so the export refuses them first ----
expect 2 "a RAUC bundle carries exactly one signature \(rauc refuses more\): 2 signers given" \
	"$O" export -q --to rauc -o "$T/two.raucb" $S --key "$PKI/second.key" --cert "$PKI/second.pem" $CA "$T/b.oab"
[ -e "$T/two.raucb" ] && bad "output left after a refused export" || ok "two signers: nothing written"

# ---- a SoftHSM2 token key (set up as in t_pkcs11.sh) ----
MOD=$(for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so; do
	[ -e "$m" ] && echo "$m" && break; done)
if need_tool softhsm2-util pkcs11-tool && [ -n "$MOD" ]; then
	export SOFTHSM2_CONF="$T/softhsm2.conf"
	mkdir "$T/tokens"
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$T" > "$SOFTHSM2_CONF"
	PIN=Rauc-PIN-4711
	printf '%s\n' "$PIN" > "$T/pin"
	softhsm2-util --init-token --free --label otab --pin "$PIN" --so-pin so-8472 >/dev/null
	pkcs11-tool --module "$MOD" --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 --id 01 \
		--label ec256 >/dev/null 2>&1
	printf 'openssl_conf = oc\n[oc]\nengines = es\n[es]\npkcs11 = p11\n[p11]\nengine_id = pkcs11\nMODULE_PATH = %s\n' \
		"$MOD" > "$T/eng.cnf"
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' > "$T/leaf.ext"
	OPENSSL_CONF="$T/eng.cnf" openssl req -new -engine pkcs11 -keyform engine \
		-key "pkcs11:token=otab;object=ec256;type=private;pin-value=$PIN" -subj "/CN=hsm-rauc" \
		-out "$T/hsm.csr" >/dev/null 2>&1
	openssl x509 -req -in "$T/hsm.csr" -CA "$PKI/int.pem" -CAkey "$PKI/int.key" -CAcreateserial -days 365 \
		-extfile "$T/leaf.ext" -out "$T/hsm.pem" 2>/dev/null && ok "token key certificate" || bad "token key certificate"
	expect 0 "" "$O" export -q --to rauc -o "$T/hsm.raucb" --key "pkcs11:token=otab;object=ec256;type=private" \
		--cert "$T/hsm.pem" --chain "$PKI/chain.pem" --pkcs11-module "$MOD" --pin "file:$T/pin" $CA "$T/b.oab"
	rauc_ok token "$T/hsm.raucb"
	grep -q "hsm-rauc" "$T/token.info" && ok "token: signed by the token key" || bad "token: signer"
	expect 0 "" "$O" verify $CA "$T/hsm.raucb"
	expect 0 "" "$O" export -q --to rauc --rauc-plain -o "$T/hsmp.raucb" --key "pkcs11:token=otab;object=ec256;type=private" \
		--cert "$T/hsm.pem" --chain "$PKI/chain.pem" --pkcs11-module "$MOD" --pin "file:$T/pin" $CA "$T/b.oab"
	rauc_ok token-plain "$T/hsmp.raucb"
fi

# ---- the threshold: a RAUC bundle has one signature, but the otabundle
# manifest it carries keeps its signers, and verify asks them for it ----
build_example "$T/b2.oab" --key "$PKI/second.key" --cert "$PKI/second.pem"
expect 0 "" "$O" export -q --to rauc -o "$T/t2.raucb" $S $CA "$T/b2.oab"
expect 0 "" "$O" verify --threshold 2 $CA "$T/t2.raucb"
grep -q "ok   otabundle-manifest: carried manifest.yaml of 'acme-gateway' 2.4.1: 2 trusted keys (2 required)" "$T/.out" &&
	ok "threshold 2 met by the carried manifest's signers" || bad "carried manifest check: $(grep otabundle-manifest "$T/.out")"
expect 1 "carried otabundle manifest: 2 distinct trusted signing keys, 3 required" "$O" verify --threshold 3 $CA "$T/t2.raucb"
expect 0 "" "$O" verify --trust "$PKI/signer.pem" "$T/t2.raucb"
expect 1 "carried otabundle manifest: 1 distinct trusted signing key, 2 required" \
	"$O" verify --threshold 2 --trust "$PKI/signer.pem" "$T/t2.raucb"

# ---- wrong CA, untrusted signer ----
sh "$OAB_ROOT/scripts/mkpki.sh" "$T/other" >/dev/null 2>&1
expect 1 "RAUC signature: signer 1 .* not trusted" "$O" verify --ca "$T/other/ca.pem" "$T/v.raucb"
rauc info --keyring "$T/other/ca.pem" --conf "$T/system.conf" "$T/v.raucb" > "$T/wrong.log" 2>&1 &&
	bad "rauc info accepted the wrong CA" || ok "rauc info refuses the wrong CA"
expect 0 "" "$O" export -q --to rauc -o "$T/rogue.raucb" --key "$PKI/rogue.key" --cert "$PKI/rogue.pem" $CA "$T/b.oab"
expect 1 "not trusted" "$O" verify $CA "$T/rogue.raucb"
rauc info $RC "$T/rogue.raucb" > "$T/rogue.log" 2>&1 && bad "rauc info accepted a rogue signer" ||
	ok "rauc info refuses a self-signed signer"

# ---- reproducible: same input and SOURCE_DATE_EPOCH, same bytes but the
# signature. Compared: the squashfs and hash tree (everything before the
# CMS) with cmp, and the signed manifest.raucm (the CMS's content). ----
sleep 1
expect 0 "" "$O" export -q --to rauc -o "$T/v2.raucb" $S $CA "$T/b.oab"
payload() { # FILE: bytes before the CMS
	n=$(tail -c 8 "$1" | od -An -tu1 | awk '{ s = 0; for (i = 1; i <= NF; i++) s = s * 256 + $i; print s }')
	echo $(($(wc -c < "$1") - 8 - n)) "$n"
}
set -- $(payload "$T/v.raucb")
p1=$1 c1=$2
set -- $(payload "$T/v2.raucb")
[ "$p1" = "$1" ] && cmp -s -n "$p1" "$T/v.raucb" "$T/v2.raucb" &&
	ok "two exports: squashfs and hash tree identical ($p1 bytes)" || bad "two exports differ before the signature"
for v in v v2; do
	set -- $(payload "$T/$v.raucb")
	tail -c $(($2 + 8)) "$T/$v.raucb" | head -c "$2" > "$T/$v.cms"
	openssl cms -verify -noverify -binary -inform DER -in "$T/$v.cms" -out "$T/$v.signed" 2>/dev/null
done
[ -s "$T/v.signed" ] && cmp -s "$T/v.signed" "$T/v2.signed" && ok "two exports: signed manifest.raucm identical" ||
	bad "signed manifests differ"
grep -q "^verity-salt=" "$T/v.signed" && ok "signed manifest carries the verity keys" || bad "no verity keys"

# ---- signing room: export-manifest --to rauc writes the unsigned bundle and
# the exact bytes to sign; the room signs with stock openssl; attach-signature
# --to rauc checks the signature fits and writes the bundle ----
expect 0 "" "$O" export-manifest --to rauc -o "$T/room.raucm" --unsigned "$T/room-u.raucb" $CA "$T/b.oab"
cmp -s -n "$p1" "$T/room-u.raucb" "$T/v.raucb" && [ "$(wc -c < "$T/room-u.raucb")" = "$p1" ] &&
	ok "room: the unsigned bundle is the export's squashfs and tree, byte for byte" || bad "room: unsigned bundle differs"
cmp -s "$T/room.raucm" "$T/v.signed" && ok "room: the bytes to sign are the export's signed manifest.raucm" ||
	bad "room: manifest to sign differs"
openssl cms -sign -binary -nosmimecap -nodetach -outform DER -in "$T/room.raucm" -signer "$PKI/signer.pem" \
	-inkey "$PKI/signer.key" -certfile "$PKI/int.pem" -out "$T/room.cms" 2>/dev/null || bad "openssl cms -sign"
expect 0 "" "$O" attach-signature -q --to rauc -o "$T/room.raucb" "$T/room.cms" "$T/room-u.raucb"
rauc_ok room "$T/room.raucb"
expect 0 "" "$O" verify $CA "$T/room.raucb"
sed 's/^version=.*/version=9.9.9/' "$T/room.raucm" > "$T/room-bad.raucm"
openssl cms -sign -binary -nosmimecap -nodetach -outform DER -in "$T/room-bad.raucm" -signer "$PKI/signer.pem" \
	-inkey "$PKI/signer.key" -certfile "$PKI/int.pem" -out "$T/room-bad.cms" 2>/dev/null
expect 1 "the signed manifest.raucm is not the one written for" \
	"$O" attach-signature -q --to rauc -o "$T/room-bad.raucb" "$T/room-bad.cms" "$T/room-u.raucb"
[ -e "$T/room-bad.raucb" ] && bad "room: output written for a wrong manifest" || ok "room: nothing written for a wrong manifest"
openssl cms -sign -binary -nosmimecap -outform DER -in "$T/room.raucm" -signer "$PKI/signer.pem" \
	-inkey "$PKI/signer.key" -out "$T/room-det.cms" 2>/dev/null
expect 1 "signature 1 of 1 invalid|expected 'plain'" \
	"$O" attach-signature -q --to rauc -o "$T/room-det.raucb" "$T/room-det.cms" "$T/room-u.raucb"
expect 2 "not an unsigned RAUC bundle" "$O" attach-signature -q --to rauc -o "$T/x.raucb" "$T/room.cms" "$T/b.oab"
expect 2 "--to: expected rauc" "$O" attach-signature -q --to opkg "$T/room.cms" "$T/room-u.raucb"
expect 2 "give --unsigned OUT" "$O" export-manifest --to rauc -o "$T/r2.raucm" $CA "$T/b.oab"
expect 2 "no trust anchor for the input" "$O" export-manifest --to rauc -o "$T/r2.raucm" --unsigned "$T/r2.raucb" "$T/b.oab"
expect 2 "verify options need --to" "$O" export-manifest -o "$T/r2.yaml" $CA "$T/b.oab"
expect 0 "" "$O" export-manifest --to rauc --rauc-plain -o "$T/roomp.raucb" $CA "$T/b.oab"
openssl cms -sign -binary -nosmimecap -outform DER -in "$T/roomp.raucb" -signer "$PKI/signer.pem" \
	-inkey "$PKI/signer.key" -certfile "$PKI/int.pem" -out "$T/roomp.cms" 2>/dev/null
expect 0 "" "$O" attach-signature -q --to rauc "$T/roomp.cms" "$T/roomp.raucb"
rauc_ok room-plain "$T/roomp.raucb"
expect 0 "" "$O" verify $CA "$T/roomp.raucb"

# ---- the tree is veritysetup's, byte for byte ----
if need_tool veritysetup; then
	salt=$(sed -n 's/^verity-salt=//p' "$T/v.signed")
	root=$(sed -n 's/^verity-hash=//p' "$T/v.signed")
	tree=$(sed -n 's/^verity-size=//p' "$T/v.signed")
	sq=$((p1 - tree))
	head -c "$sq" "$T/v.raucb" > "$T/vs.img"
	veritysetup format --no-superblock --format=1 --hash=sha256 --data-block-size=4096 --hash-block-size=4096 \
		--salt="$salt" --hash-offset="$sq" --data-blocks=$((sq / 4096)) "$T/vs.img" "$T/vs.img" > "$T/vs.out" 2>&1
	grep -q "Root hash:[[:space:]]*$root" "$T/vs.out" && ok "veritysetup gives the same root hash" || bad "veritysetup root: $(cat "$T/vs.out")"
	head -c "$p1" "$T/v.raucb" | cmp -s - "$T/vs.img" && ok "hash tree byte-identical to veritysetup's" ||
		bad "hash tree differs from veritysetup's"
fi

# ---- native bundles made by rauc's own builder ----
rauc_native "$T/native" || bad "rauc bundle failed"
for fmt in verity plain; do
	n=$T/native/native-$fmt.raucb
	expect 0 "" "$O" verify $CA "$n"
	grep -q "member-hash appfs.tar" "$T/.out" && ok "native $fmt: every image hashed" || bad "native $fmt: images not checked"
	expect 0 "" "$O" verify --json $CA "$n"
	grep -q '"bundle-format": *"rauc"' "$T/.out" && ok "native $fmt: --json names the format" || bad "native $fmt json"
	cp "$n" "$T/nt-$fmt.raucb"
	flip "$T/nt-$fmt.raucb" 300000
	expect 1 "do not match the verity hash tree|signature 1 of 1 invalid" "$O" verify $CA "$T/nt-$fmt.raucb"
	expect 1 "not trusted" "$O" verify --ca "$T/other/ca.pem" "$n"
	expect 0 "" "$O" inspect "$n"
done
expect 1 "made for 'acme-gw-v2', not for this device" "$O" verify --compatible other $CA "$T/native/native-verity.raucb"
expect 1 "a RAUC bundle carries one signature; 2 distinct trusted keys need a carried otabundle manifest" \
	"$O" verify --threshold 2 $CA "$T/native/native-verity.raucb"
expect 2 "export.*RAUC|peer|otabundle bundle" "$O" export --to rauc -o "$T/re.raucb" $S $CA "$T/native/native-verity.raucb"

# ---- hostile bundles fail closed, with one clear line ----
h=$T/native/native-verity.raucb
hsize=$(wc -c < "$h")
set -- $(payload "$h")
hp=$1 hc=$2
be64() { python3 -c "import sys; sys.stdout.buffer.write(int(sys.argv[1]).to_bytes(8, 'big'))" "$1"; }
head -c $((hsize - 100)) "$h" > "$T/h-trunc.raucb"
expect 1 "RAUC bundle: .*signature size|not one DER CMS" "$O" verify $CA "$T/h-trunc.raucb"
head -c $((hsize - 8)) "$h" > "$T/h-huge.raucb"; be64 18446744073709551615 >> "$T/h-huge.raucb"
expect 1 "signature size 18446744073709551615 in the last 8 bytes \(expected 1 to 65536, within the file\)" "$O" verify $CA "$T/h-huge.raucb"
head -c $((hsize - 8)) "$h" > "$T/h-zero.raucb"; be64 0 >> "$T/h-zero.raucb"
expect 1 "signature size 0 in the last 8 bytes" "$O" verify $CA "$T/h-zero.raucb"
head -c $((hsize - 8)) "$h" > "$T/h-64k.raucb"; be64 65537 >> "$T/h-64k.raucb"
expect 1 "signature size 65537" "$O" verify $CA "$T/h-64k.raucb"
head -c $((hsize - 8)) "$h" > "$T/h-lie.raucb"; be64 $((hc + 1)) >> "$T/h-lie.raucb"
expect 1 "not one DER CMS structure" "$O" verify $CA "$T/h-lie.raucb"
head -c 9000 "$h" > "$T/h-short.raucb"
expect 1 "RAUC bundle" "$O" verify $CA "$T/h-short.raucb"
# Re-signed manifests that lie about the layout (signed by the test signer:
# the signature is good, the content is not).
tail -c $((hc + 8)) "$h" | head -c "$hc" > "$T/h.cms"
openssl cms -verify -noverify -binary -inform DER -in "$T/h.cms" -out "$T/h.raucm" 2>/dev/null
resign() { # NAME SED: the native bundle with its signed manifest edited
	sed "$2" "$T/h.raucm" > "$T/$1.raucm"
	openssl cms -sign -binary -nosmimecap -nodetach -outform DER -in "$T/$1.raucm" -signer "$PKI/signer.pem" \
		-inkey "$PKI/signer.key" -certfile "$PKI/int.pem" -out "$T/$1.cms" 2>/dev/null
	{ head -c "$hp" "$h"; cat "$T/$1.cms"; be64 "$(wc -c < "$T/$1.cms")"; } > "$T/$1.raucb"
}
resign h-vsize 's/^verity-size=.*/verity-size=8192/'
expect 1 "verity-size 8192 is not the hash tree size of [0-9]+ squashfs bytes" "$O" verify $CA "$T/h-vsize.raucb"
resign h-vbig 's/^verity-size=.*/verity-size=1099511627776/'
expect 1 "verity-size 1099511627776 does not fit the bundle" "$O" verify $CA "$T/h-vbig.raucb"
resign h-crypt 's/^format=verity/format=crypt/'
expect 1 "RAUC bundle format 'crypt' with an attached signature \(expected 'verity'" "$O" verify $CA "$T/h-crypt.raucb"
resign h-fmt 's/^format=verity/format=casync/'
expect 1 "RAUC bundle format 'casync'" "$O" verify $CA "$T/h-fmt.raucb"
resign h-nohash '/^verity-hash=/d'
expect 1 "verity-hash and verity-salt must be 64 hex digits" "$O" verify $CA "$T/h-nohash.raucb"
# change the first hex digit of the root hash (0 -> 1, anything else -> 0)
if grep -q '^verity-hash=0' "$T/h.raucm"; then
	resign h-root 's/^verity-hash=0/verity-hash=1/'
else
	resign h-root 's/^verity-hash=./verity-hash=0/'
fi
cmp -s "$T/h.raucm" "$T/h-root.raucm" && bad "h-root: the signed manifest was not changed" || ok "h-root: root hash edited"
expect 1 "verity hash tree: root hash [0-9a-f]{64}, signed verity-hash" "$O" verify $CA "$T/h-root.raucb"
resign h-size 's/^size=.*/size=5/'
grep -q "^size=5" "$T/h-size.raucm" && expect 1 "image '[a-z.]+': size [0-9]+ in the squashfs, manifest.raucm says 5" "$O" verify $CA "$T/h-size.raucb"
resign h-sha 's/^sha256=\(.\)/sha256=0\1/; s/^sha256=\(.\{64\}\).*/sha256=\1/'
grep -q "^sha256=" "$T/h-sha.raucm" && expect 1 "image '[a-z.]+': sha256 [0-9a-f]{64}, manifest.raucm says" "$O" verify $CA "$T/h-sha.raucb"
# Two SignerInfos, both valid: rauc refuses them, so does the audit.
openssl cms -sign -binary -nosmimecap -nodetach -outform DER -in "$T/h.raucm" -signer "$PKI/signer.pem" \
	-inkey "$PKI/signer.key" -signer "$PKI/second.pem" -inkey "$PKI/second.key" -certfile "$PKI/int.pem" \
	-out "$T/h2.cms" 2>/dev/null
{ head -c "$hp" "$h"; cat "$T/h2.cms"; be64 "$(wc -c < "$T/h2.cms")"; } > "$T/h-two.raucb"
expect 1 "RAUC bundle: 2 SignerInfos \(rauc accepts exactly one\)" "$O" verify $CA "$T/h-two.raucb"
resign h-esc 's/^compatible=.*/compatible=a\\qb/'
expect 1 "bad key or escape" "$O" verify $CA "$T/h-esc.raucb"
finish
