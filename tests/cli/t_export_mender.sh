# SPDX-License-Identifier: Apache-2.0
# export --to mender and the Mender audit, checked with mender-artifact
# itself (3.9): exports accepted (file key, SoftHSM2 token key, gzip and
# xz), tampered exports and native artifacts rejected by both sides,
# native artifacts from `mender-artifact write` verified, reproducibility,
# the signing room, and hostile artifacts failing closed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mender_fixtures.sh"
if ! command -v mender-artifact >/dev/null 2>&1; then
	if [ -n "${CI:-}" ]; then
		bad "mender-artifact not installed (make deps)"
	else
		skip "mender-artifact not installed (make deps): no Mender export checks"
	fi
	finish
fi
mender_fixtures || bad "mender-artifact write could not make the native fixtures"
CA="--ca $PKI/ca.pem"
S1="--key $PKI/signer.key --cert $PKI/signer.pem"
export SOURCE_DATE_EPOCH=1700000000

# mv_ok WHAT ART PUB: mender-artifact validate accepts ART with PUB.
mv_ok() {
	if mender-artifact validate -k "$3" "$2" > "$T/.mv" 2>&1; then ok "mender-artifact validate: $1"
	else bad "mender-artifact validate refused $1: $(tail -1 "$T/.mv")"; fi
}
mv_bad() {
	if mender-artifact validate -k "$3" "$2" > "$T/.mv" 2>&1; then bad "mender-artifact validate accepted $1"
	else ok "mender-artifact validate refused $1"; fi
}
# members ART: "NAME SHA256" of every member but manifest.sig.
members() { tar -tf "$1" | grep -v '^manifest.sig$' | while read -r m; do printf '%s ' "$m"; tar -xOf "$1" "$m" | sha256sum; done; }

# A one-payload bundle with export settings, and the example with three.
mkdir "$T/b"
head -c 3145728 "$IN/rootfs.ext4" > "$T/b/rootfs.ext4"
cat > "$T/b/gw.yaml" <<'EOF'
format: 1
bundle:
  name: acme-gw
  version: "2.1.0"
  security-version: 3
  compatible: [acme-gw-v2]
payloads:
  - name: rootfs
    type: image
    source: rootfs.ext4
    compression: zstd:3
export:
  mender:
    device-type: [acme-gw-v2, acme-gw-v2b]
    artifact-name: acme-gw-2.1.0
    items: { rootfs: { type: rootfs-image, provides: ["acme.app.version:2.1.0"] } }
EOF
expect 0 "" "$O" build -q -o "$T/gw.oab" $S1 --chain "$PKI/chain.pem" "$T/b/gw.yaml"
build_example "$T/ex.oab"

# --- export with a file key: mender-artifact accepts it, and so does verify
expect 0 "" "$O" export -q --to mender -o "$T/gw.mender" $S1 $CA "$T/gw.oab"
[ "$(tar -tf "$T/gw.mender" | tr '\n' ' ')" = "version manifest manifest.sig header.tar.gz data/0000.tar.gz " ] &&
	ok "export members: version manifest manifest.sig header.tar.gz data/0000.tar.gz" ||
	bad "export members: $(tar -tf "$T/gw.mender" | tr '\n' ' ')"
mv_ok "file-key export" "$T/gw.mender" "$MF/ec.pub"
mender-artifact read "$T/gw.mender" > "$T/read.out" 2>&1
grep -q "Name: acme-gw-2.1.0" "$T/read.out" && grep -q "Compatible devices: '\[acme-gw-v2 acme-gw-v2b\]'" "$T/read.out" &&
	grep -q "Type:   rootfs-image" "$T/read.out" && grep -q "size:     3145728" "$T/read.out" &&
	ok "mender-artifact read: name, device types, payload type and size from the manifest" ||
	bad "mender-artifact read: $(head -12 "$T/read.out" | tr '\n' '|')"
grep -q "acme.app.version: 2.1.0" "$T/read.out" && ok "export.mender provides in type-info" ||
	bad "provides not in the artifact"
sed 's/acme.app.version:2.1.0/no-value/' "$T/b/gw.yaml" > "$T/b/gw-badprov.yaml"
expect 0 "" "$O" build -q -o "$T/gw-badprov.oab" $S1 --chain "$PKI/chain.pem" "$T/b/gw-badprov.yaml"
expect 2 "provides: 'no-value' is not KEY:VALUE" "$O" export --to mender -o "$T/badprov.mender" $S1 $CA "$T/gw-badprov.oab"
grep -q "checksum: $(sha256sum < "$T/b/rootfs.ext4" | cut -c1-64)" "$T/read.out" &&
	ok "payload checksum is the source's sha256" || bad "payload checksum differs from the source"
expect 0 "" "$O" verify --trust "$MF/ec.pub" "$T/gw.mender"
expect 0 "" "$O" verify --json --trust "$MF/ec.pub" "$T/gw.mender"
grep -q '"bundle-format": *"mender"' "$T/.out" && ok "verify --json says format mender" || bad "no format in JSON"
expect 0 "" "$O" inspect "$T/gw.mender"
grep -q "format: mender" "$T/.out" && ok "inspect says format: mender" || bad "inspect: no format line"
# The data is the verified payload: extract it and compare.
mkdir "$T/x"
(cd "$T/x" && tar -xf "$T/gw.mender" data/0000.tar.gz && tar -xzf data/0000.tar.gz)
cmp -s "$T/x/rootfs" "$T/b/rootfs.ext4" && ok "data/0000/rootfs is the payload byte for byte" || bad "exported payload differs"

# --- policy options: device types, one signature, no security version
expect 0 "" "$O" verify --trust "$MF/ec.pub" --compatible acme-gw-v2b "$T/gw.mender"
expect 1 "not compatible with 'other-board' \\(bundle is for: acme-gw-v2, acme-gw-v2b\\)" \
	"$O" verify --trust "$MF/ec.pub" --compatible other-board "$T/gw.mender"
expect 1 "1 trusted signing key, 2 required: a Mender artifact carries one signature" \
	"$O" verify --trust "$MF/ec.pub" --threshold 2 "$T/gw.mender"
expect 1 "security-version 0 is below the minimum 1" "$O" verify --trust "$MF/ec.pub" --min-security-version 1 "$T/gw.mender"

# --- wrong keys and anchors
expect 1 "no pinned key verifies" "$O" verify --trust "$MF/rsa.pub" "$T/gw.mender"
expect 1 "no certificate.*pin the signer's public key" "$O" verify $CA "$T/gw.mender"
expect 2 "" "$O" verify "$T/gw.mender"

# --- one flipped payload byte: both sides reject it
cp "$T/gw.mender" "$T/flip.mender"
off=$(tar -tvf "$T/gw.mender" >/dev/null; python3 -c "
import tarfile,sys
t=tarfile.open(sys.argv[1])
m=t.getmember('data/0000.tar.gz'); print(m.offset_data + m.size // 2)" "$T/flip.mender")
flip "$T/flip.mender" "$off"
mv_bad "export with a flipped payload byte" "$T/flip.mender" "$MF/ec.pub"
expect 1 "data file 'rootfs'|member 'data/0000.tar.gz'" "$O" verify --trust "$MF/ec.pub" "$T/flip.mender"
# A flipped byte in the manifest (the signed text).
cp "$T/gw.mender" "$T/flipm.mender"
flip "$T/flipm.mender" "$(python3 -c "
import tarfile,sys
print(tarfile.open(sys.argv[1]).getmember('manifest').offset_data + 3)" "$T/flipm.mender")"
mv_bad "export with a flipped manifest byte" "$T/flipm.mender" "$MF/ec.pub"
expect 1 "" "$O" verify --trust "$MF/ec.pub" "$T/flipm.mender"

# --- xz and zstd
expect 0 "" "$O" export -q --to mender --mender-compression xz -o "$T/gw-xz.mender" $S1 $CA "$T/gw.oab"
mv_ok "xz export" "$T/gw-xz.mender" "$MF/ec.pub"
expect 0 "" "$O" verify --trust "$MF/ec.pub" "$T/gw-xz.mender"
expect 0 "" "$O" export -q --to mender --mender-compression zstd -o "$T/gw-zst.mender" $S1 $CA "$T/gw.oab"
tar -tf "$T/gw-zst.mender" | grep -qx 'data/0000.tar.zst' && ok "zstd export: data/0000.tar.zst" || bad "zstd export members"
expect 0 "" "$O" verify --trust "$MF/ec.pub" "$T/gw-zst.mender"
mv_bad "a zstd export (mender-artifact 3.9 reads gzip and xz only; zstd needs 3.10)" "$T/gw-zst.mender" "$MF/ec.pub"
expect 0 "" "$O" export -q --to mender --mender-compression gzip:1 -o "$T/gw-g1.mender" $S1 $CA "$T/gw.oab"
mv_ok "gzip level 1 export" "$T/gw-g1.mender" "$MF/ec.pub"
tar -xOf "$T/gw-g1.mender" data/0000.tar.gz | gzip -t && ok "parallel gzip stream passes gzip -t" || bad "gzip -t refused the data member"
[ "$(tar -xOf "$T/gw-g1.mender" data/0000.tar.gz | wc -c)" -gt "$(tar -xOf "$T/gw.mender" data/0000.tar.gz | wc -c)" ] &&
	ok "gzip:1 is larger than the default level 6" || bad "gzip level has no effect"
expect 0 "" "$O" export -q --to mender --mender-compression none -o "$T/gw-none.mender" $S1 $CA "$T/gw.oab"
mv_ok "uncompressed export" "$T/gw-none.mender" "$MF/ec.pub"
expect 2 "gzip takes 1-9" "$O" export --to mender --mender-compression gzip:12 -o "$T/gw-bad.mender" $S1 $CA "$T/gw.oab"
expect 2 "expected gzip, xz, zstd or none" "$O" export --to mender --mender-compression lz4 -o "$T/gw-bad.mender" $S1 $CA "$T/gw.oab"

# --- an RSA signer
expect 0 "" "$O" export -q --to mender -o "$T/gw-rsa.mender" --key "$PKI/signer-rsa3072.key" \
	--cert "$PKI/signer-rsa3072.pem" $CA "$T/gw.oab"
mv_ok "RSA export" "$T/gw-rsa.mender" "$MF/rsa.pub"
expect 0 "" "$O" verify --trust "$MF/rsa.pub" "$T/gw-rsa.mender"

# --- refused before anything is written
expect 2 "one signature: give one signer" "$O" export --to mender -o "$T/two.mender" $S1 \
	--key "$PKI/second.key" --cert "$PKI/second.pem" $CA "$T/gw.oab"
expect 4 "Mender signs with RSA .* or ECDSA P-256 only" "$O" export --to mender -o "$T/p384.mender" \
	--key "$PKI/signer-p384.key" --cert "$PKI/signer-p384.pem" $CA "$T/gw.oab"
expect 2 "3 payloads and a Mender artifact \(3.9\) carries one" "$O" export --to mender -o "$T/ex.mender" $S1 $CA "$T/ex.oab"
# The example with its rootfs chosen: the rest is named as left out.
{ cat "$IN/acme-gateway.yaml"; printf 'export:\n  mender:\n    items: { rootfs: { type: rootfs-image } }\n'; } > "$IN/ex-m.yaml"
expect 0 "" "$O" build -q -o "$T/ex-m.oab" $S1 --chain "$PKI/chain.pem" "$IN/ex-m.yaml"
expect 0 "script 'migrate' is not in the Mender artifact" "$O" export -q --to mender -o "$T/ex-m.mender" $S1 $CA "$T/ex-m.oab"
for w in "payload 'app'" "payload 'bootloader'" "sbom '"; do
	grep -q "warning: $w.* is not in the Mender artifact" "$T/.err" && ok "export warns: $w left out" || bad "no warning for $w"
done
mv_ok "rootfs of the three-payload example" "$T/ex-m.mender" "$MF/ec.pub"
ls "$T"/two.mender "$T"/p384.mender "$T"/ex.mender >/dev/null 2>&1 && bad "output left after a refused export" ||
	ok "no output after refused exports"
# The bundle is verified first: a tampered bundle exports nothing.
cp "$T/gw.oab" "$T/bad.oab"
flip "$T/bad.oab" $(($(offset_of "$T/bad.oab" payloads/rootfs.zst) + 100))
expect 1 "" "$O" export --to mender -o "$T/bad.mender" $S1 $CA "$T/bad.oab"
[ -e "$T/bad.mender" ] && bad "export of a tampered bundle left an output" || ok "tampered bundle: no export"

# --- reproducible: two exports differ in manifest.sig only
sleep 1
expect 0 "" "$O" export -q --to mender -o "$T/gw2.mender" $S1 $CA "$T/gw.oab"
members "$T/gw.mender" > "$T/m1"
members "$T/gw2.mender" > "$T/m2"
cmp -s "$T/m1" "$T/m2" && ok "two exports: every member but manifest.sig byte-identical (sha256 per member)" ||
	bad "exports differ: $(diff "$T/m1" "$T/m2" | head -3 | tr '\n' '|')"
tar -tvf "$T/gw2.mender" | grep -v ' 2023-11-14 ' && bad "member times are not SOURCE_DATE_EPOCH" ||
	ok "every member time is SOURCE_DATE_EPOCH"
cmp -s "$T/gw.mender" "$T/gw2.mender" && bad "two ECDSA signatures identical" ||
	[ "$(cmp -l "$T/gw.mender" "$T/gw2.mender" | wc -l)" -le 88 ] &&
	ok "the whole files differ in at most the 88 signature bytes" || bad "files differ beyond the signature"

# --- signing room: export-manifest --to writes the signed bytes, the room
# signs them with stock tools, attach-signature --to writes the artifact
expect 0 "" "$O" export-manifest --to mender $CA -o "$T/room.tbs" "$T/gw.oab"
tar -xOf "$T/gw.mender" manifest | cmp -s - "$T/room.tbs" &&
	ok "export-manifest --to mender: the bytes the direct export signed" || bad "room bytes differ from the export's manifest"
expect 0 "" "$O" export-manifest --to mender $CA -o "$T/room2.tbs" "$T/gw.oab"
cmp -s "$T/room.tbs" "$T/room2.tbs" && ok "to-be-signed bytes are deterministic" || bad "to-be-signed bytes differ"
openssl dgst -sha256 -sign "$PKI/signer.key" -out "$T/room.sig" "$T/room.tbs"
expect 0 "" "$O" attach-signature -q --to mender --signer "$PKI/signer.pem" $CA -o "$T/room.mender" "$T/room.sig" "$T/gw.oab"
mv_ok "signing-room artifact (openssl DER ECDSA signature)" "$T/room.mender" "$MF/ec.pub"
members "$T/room.mender" | cmp -s - "$T/m1" && ok "signing-room artifact: members identical to the direct export's" ||
	bad "signing-room artifact differs from the direct export"
expect 0 "" "$O" verify --trust "$MF/ec.pub" "$T/room.mender"
openssl dgst -sha256 -sign "$PKI/signer-rsa3072.key" -out "$T/room-rsa.sig" "$T/room.tbs"
expect 0 "" "$O" attach-signature -q --to mender --signer "$MF/rsa.pub" $CA -o "$T/room-rsa.mender" "$T/room-rsa.sig" "$T/gw.oab"
mv_ok "signing-room artifact (RSA, public key as --signer)" "$T/room-rsa.mender" "$MF/rsa.pub"
expect 2 "does not verify over this export's manifest" "$O" attach-signature --to mender --signer "$PKI/second.pem" $CA \
	-o "$T/room-bad.mender" "$T/room.sig" "$T/gw.oab"
printf 'garbage' > "$T/garbage.sig"
expect 2 "neither DER nor 64 raw bytes" "$O" attach-signature --to mender --signer "$PKI/signer.pem" $CA \
	-o "$T/room-bad.mender" "$T/garbage.sig" "$T/gw.oab"
[ -e "$T/room-bad.mender" ] && bad "refused attach left an output" || ok "refused attach: no output"
expect 2 "give --signer PEM" "$O" attach-signature --to mender $CA -o "$T/room-bad.mender" "$T/room.sig" "$T/gw.oab"
expect 2 "no trust anchor" "$O" export-manifest --to mender -o "$T/x.tbs" "$T/gw.oab"
expect 2 "verify options need --to" "$O" export-manifest $CA -o "$T/x.tbs" "$T/gw.oab"
expect 1 "refusing to export" "$O" export-manifest --to mender $CA -o "$T/bad.tbs" "$T/bad.oab"
[ -e "$T/bad.tbs" ] && bad "to-be-signed bytes written for a tampered bundle" || ok "tampered bundle: no to-be-signed bytes"

# --- SoftHSM2 token key
MOD=$(for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so; do [ -e "$m" ] && echo "$m" && break; done)
if [ -z "$MOD" ]; then
	bad "SoftHSM2 module not installed (make deps)"
else
	export SOFTHSM2_CONF="$T/softhsm2.conf"
	mkdir "$T/tokens"
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$T" > "$SOFTHSM2_CONF"
	PIN=Mender-PIN-5150
	printf '%s\n' "$PIN" > "$T/pin"
	softhsm2-util --init-token --free --label menderhsm --pin "$PIN" --so-pin so-1234 >/dev/null
	pkcs11-tool --module "$MOD" --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 --id 01 --label ec256 >/dev/null 2>&1
	printf 'openssl_conf = oc\n[oc]\nengines = es\n[es]\npkcs11 = p11\n[p11]\nengine_id = pkcs11\nMODULE_PATH = %s\n' "$MOD" > "$T/eng.cnf"
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' > "$T/leaf.ext"
	OPENSSL_CONF="$T/eng.cnf" openssl req -new -engine pkcs11 -keyform engine \
		-key "pkcs11:token=menderhsm;object=ec256;type=private;pin-value=$PIN" -subj "/CN=hsm-mender" -out "$T/hsm.csr" >/dev/null 2>&1
	openssl x509 -req -in "$T/hsm.csr" -CA "$PKI/int.pem" -CAkey "$PKI/int.key" -CAcreateserial \
		-days 365 -extfile "$T/leaf.ext" -out "$T/hsm.pem" 2>/dev/null
	openssl x509 -in "$T/hsm.pem" -pubkey -noout > "$T/hsm.pub"
	expect 0 "" "$O" export -q --to mender -o "$T/hsm.mender" --key "pkcs11:token=menderhsm;object=ec256;type=private" \
		--cert "$T/hsm.pem" --pin "file:$T/pin" --pkcs11-module "$MOD" $CA "$T/gw.oab"
	mv_ok "SoftHSM2 token key export" "$T/hsm.mender" "$T/hsm.pub"
	expect 0 "" "$O" verify --trust "$T/hsm.pub" "$T/hsm.mender"
	grep -q "$PIN" "$T/.err" "$T/.out" && bad "PIN shown" || ok "PIN never shown"
fi

# --- native artifacts from mender-artifact write
for k in ec rsa; do
	expect 0 "" "$O" verify --trust "$MF/$k.pub" "$MF/$k.mender"
done
expect 0 "" "$O" verify --trust "$MF/ec.pub" "$MF/ec-xz.mender"
expect 0 "" "$O" verify --json --trust "$MF/ec.pub" "$MF/ec.mender"
grep -q '"bundle-format": *"mender"' "$T/.out" && ok "native artifact: JSON format mender" || bad "native: no format in JSON"
grep -q '"name": *"rootfs.img"' "$T/.out" && ok "native artifact: its data file listed" || bad "native: data file not listed"
expect 1 "no pinned key verifies" "$O" verify --trust "$MF/rsa.pub" "$MF/ec.mender"
expect 1 "unsigned artifact" "$O" verify --trust "$MF/ec.pub" "$MF/unsigned.mender"
expect 0 "" "$O" inspect "$MF/unsigned.mender"
grep -q "UNSIGNED" "$T/.out" && ok "inspect reports the native artifact unsigned" || bad "inspect: unsigned not reported"
cp "$MF/ec.mender" "$T/nt.mender"
flip "$T/nt.mender" "$(python3 -c "
import tarfile,sys
m=tarfile.open(sys.argv[1]).getmember('data/0000.tar.gz'); print(m.offset_data + m.size // 2)" "$T/nt.mender")"
mv_bad "tampered native artifact" "$T/nt.mender" "$MF/ec.pub"
expect 1 "" "$O" verify --trust "$MF/ec.pub" "$T/nt.mender"

# --- hostile artifacts fail closed with one clear line
head -c 3000 "$MF/ec.mender" > "$T/trunc.mender"
python3 - "$MF/ec.mender" "$T" <<'PY'
import io, sys, tarfile
src, d = sys.argv[1], sys.argv[2]
tarfile.RECORDSIZE = 512  # end after the two zero blocks, as mender-artifact does
t = tarfile.open(src)
mem = [(m, t.extractfile(m).read()) for m in t.getmembers()]
def write(name, edit):
    with tarfile.open(f"{d}/{name}.mender", "w", format=tarfile.USTAR_FORMAT) as o:
        for m, b in mem:
            r = edit(m.name, b)
            if r is None:
                continue
            for nm, nb in (r if isinstance(r, list) else [(m.name, r)]):
                i = tarfile.TarInfo(nm); i.size = len(nb); i.mtime = 0; o.addfile(i, io.BytesIO(nb))
write("badline", lambda n, b: b.replace(b"  version", b" version") if n == "manifest" else b)
write("badsig", lambda n, b: b"!!notbase64!!" if n == "manifest.sig" else b)
write("extra", lambda n, b: [(n, b), ("manifest.yaml", b"x")] if n == "manifest.sig" else b)
write("nodata", lambda n, b: None if n.startswith("data/") else b)
write("augment", lambda n, b: [(n, b), ("manifest-augment", b"")] if n == "manifest.sig" else b)
write("badver", lambda n, b: b'{"format":"mender","version":2}' if n == "version" else b)
write("bigsig", lambda n, b: b"A" * 100000 if n == "manifest.sig" else b)
PY
# hostile NAME REGEX: verify fails with exit 1 and one stderr line matching REGEX.
hostile() {
	expect 1 "$2" "$O" verify --trust "$MF/ec.pub" "$T/$1.mender" &&
		{ [ "$(wc -l < "$T/.err")" -eq 1 ] && ok "$1: one error line" || bad "$1: $(wc -l < "$T/.err") error lines"; }
}
hostile badline "line 3 is not '<sha256>  <path>'"
hostile badsig "manifest.sig': not base64"
hostile extra "member 'manifest.yaml' where Mender expects 'header.tar.gz'"
hostile nodata "0 data member\(s\), header-info lists 1|listed in 'manifest' but not"
hostile augment "manifest-augment is not covered by manifest.sig"
hostile badver "only Mender artifact format 3"
hostile bigsig "manifest.sig': 100000 bytes, limit 4096"
hostile trunc "damaged or truncated"
cp "$MF/ec.mender" "$T/huge.mender"
"$OAB_TOOLS/tarmangle" "$T/huge.mender" rawsize manifest 77777777777
hostile huge "manifest': [0-9]+ bytes, limit|damaged or truncated"
finish
