# SPDX-License-Identifier: Apache-2.0
# Tampered and malformed bundles: each must be rejected (exit 1) with a
# message that names the fault, and extract must write nothing.
. "$(dirname "$0")/lib.sh"
M=$OAB_TOOLS/tarmangle
CA="--ca $PKI/ca.pem"

build_example "$T/good.oab" || { bad "build"; finish; }
expect 0 "" "$O" verify $CA "$T/good.oab"

reject() { # NAME REGEX : verify and extract of $T/NAME.oab must both fail
	expect 1 "$2" "$O" verify $CA "$T/$1.oab"
	rm -rf "$T/x"; mkdir "$T/x"
	expect 1 "" "$O" extract $CA -C "$T/x" "$T/$1.oab"
	if [ -z "$(ls -A "$T/x")" ]; then ok "$1: extract wrote nothing"; else bad "$1: extract left files: $(ls -A "$T/x")"; fi
}

# A byte flipped inside each member.
for mem in manifest.yaml manifest.sig payloads/rootfs.zst payloads/app.zst payloads/bootloader scripts/migrate.zst sbom/sbom.cdx.json.zst; do
	n=$(echo "$mem" | tr '/.' '__')
	cp "$T/good.oab" "$T/flip_$n.oab"
	off=$(offset_of "$T/good.oab" "$mem")
	sz=$(size_of "$T/good.oab" "$mem")
	flip "$T/flip_$n.oab" $((off + sz / 2))
	case $mem in
	manifest.*) re="signature|manifest.sig|CMS" ;;
	*.zst) re="member '$mem': stored chunk [0-9]+ \\(bytes [0-9]+-[0-9]+\\) sha256 mismatch" ;;
	*) re="member '$mem': content sha256 mismatch" ;; # stored as is
	esac
	reject "flip_$n" "$re"
done
# A flipped byte in a tar header (checksum).
cp "$T/good.oab" "$T/hdr.oab"; flip "$T/hdr.oab" $(( $(offset_of "$T/good.oab" payloads/app.zst) - 512 + 10 ))
reject hdr "damaged|truncated|archive"

# Truncation at several offsets.
total=$(wc -c < "$T/good.oab")
for cut in 0 100 512 1000 2000 3500 5200 $((total / 2)) $(( $(offset_of "$T/good.oab" payloads/app.zst) )) $((total - 20000)); do
	head -c $cut "$T/good.oab" > "$T/cut_$cut.oab"
	reject "cut_$cut" "truncat|missing|damaged|empty|not a bundle|ends early|manifest"
done

# Members removed, duplicated, reordered, added, renamed.
$M "$T/good.oab" "$T/drop.oab" drop payloads/app.zst;          reject drop "payloads/bootloader.*unexpected here|expected 'payloads/app.zst'"
$M "$T/good.oab" "$T/dropsig.oab" drop manifest.sig;           reject dropsig "not signed"
$M "$T/good.oab" "$T/dropman.oab" drop manifest.yaml;          reject dropman "not 'manifest.yaml'"
$M "$T/good.oab" "$T/droplast.oab" drop sbom/sbom.cdx.json.zst; reject droplast "missing"
$M "$T/good.oab" "$T/dup.oab" dup payloads/app.zst;            reject dup "unexpected here"
$M "$T/good.oab" "$T/duplast.oab" dup sbom/sbom.cdx.json.zst;  reject duplast "not listed"
$M "$T/good.oab" "$T/dupsig.oab" dup manifest.sig;             reject dupsig "unexpected here"
$M "$T/good.oab" "$T/swap.oab" swap payloads/app.zst payloads/bootloader; reject swap "unexpected here"
$M "$T/good.oab" "$T/swapman.oab" swap manifest.yaml manifest.sig; reject swapman "not 'manifest.yaml'"
echo extra > "$T/extra"
$M "$T/good.oab" "$T/add.oab" append payloads/extra "$T/extra"; reject add "not listed"
$M "$T/good.oab" "$T/trav.oab" append ../../etc/evil "$T/extra"; reject trav "unsafe path"
$M "$T/good.oab" "$T/abs.oab" append /etc/evil "$T/extra";     reject abs "unsafe path"
$M "$T/good.oab" "$T/trav2.oab" rename payloads/app.zst payloads/../app.zst; reject trav2 "unsafe path"
$M "$T/good.oab" "$T/bslash.oab" rename payloads/app.zst 'payloads\app.zst'; reject bslash "unsafe path"
long=$(printf 'a%.0s' $(seq 1 5000))
$M "$T/good.oab" "$T/long.oab" append "payloads/$long" "$T/extra"; reject long "not listed"
$M "$T/good.oab" "$T/long2.oab" rename payloads/app.zst "payloads/$long"; reject long2 "unexpected here"
$M "$T/good.oab" "$T/sym.oab" symlink payloads/app.zst /etc/passwd; reject sym "symbolic link"
$M "$T/good.oab" "$T/hard.oab" hardlink payloads/app.zst manifest.yaml; reject hard "hard link"
$M "$T/good.oab" "$T/dir.oab" dir payloads/app.zst;            reject dir "directory"
$M "$T/good.oab" "$T/fifo.oab" fifo payloads/app.zst;          reject fifo "fifo"
$M "$T/good.oab" "$T/chr.oab" chr payloads/app.zst;            reject chr "device"

# Mix and match: a member or the signature from another bundle.
SOURCE_DATE_EPOCH=1 build_example "$T/other.oab"
tar -xOf "$T/other.oab" manifest.sig > "$T/other.sig"
$M "$T/good.oab" "$T/mixsig.oab" replace manifest.sig "$T/other.sig"; reject mixsig "signature|INVALID|invalid"
mkdir -p "$T/alt"; cp "$IN"/* "$T/alt/"; head -c 1000 /dev/urandom >> "$T/alt/app.tar"
"$O" build -q -o "$T/alt.oab" --key "$PKI/signer.key" --cert "$PKI/signer.pem" "$T/alt/acme-gateway.yaml"
tar -xOf "$T/alt.oab" payloads/app.zst > "$T/alt.app"
$M "$T/good.oab" "$T/mixapp.oab" replace payloads/app.zst "$T/alt.app"; reject mixapp "payloads/app.zst"
# The manifest replaced by another bundle's (the signature no longer matches).
tar -xOf "$T/other.oab" manifest.yaml > "$T/other.yaml"
$M "$T/good.oab" "$T/mixman.oab" replace manifest.yaml "$T/other.yaml"; reject mixman "invalid"
# Garbage instead of a signature.
head -c 300 /dev/urandom > "$T/junk"
$M "$T/good.oab" "$T/junksig.oab" replace manifest.sig "$T/junk"; reject junksig "manifest.sig"
# Tar headers the format forbids (libarchive hides or accepts them; the raw
# headers are checked as they stream past), and the end of the archive:
# exactly two zero blocks and nothing after them. inspect and
# export-manifest refuse them too.
reject_all() { # NAME REGEX
	reject "$1" "$2"
	expect 1 "$2" "$O" inspect "$T/$1.oab"
	expect 1 "$2" "$O" export-manifest -o "$T/$1.yaml" "$T/$1.oab"
	[ -e "$T/$1.yaml" ] && bad "$1: export-manifest wrote a manifest" || ok "$1: nothing exported"
}
$M "$T/good.oab" "$T/glob.oab" global payloads/app.zst;    reject_all glob "global pax header \(typeflag 'g'\)"
$M "$T/good.oab" "$T/vol.oab" volume payloads/app.zst;     reject_all vol "GNU volume header \(typeflag 'V'\)"
$M "$T/good.oab" "$T/gsparse.oab" gnusparse payloads/app.zst; reject_all gsparse "GNU sparse member \(typeflag 'S'\)"
$M "$T/good.oab" "$T/psparse.oab" paxsparse payloads/app.zst; reject_all psparse "sparse member \(GNU.sparse"
$M "$T/good.oab" "$T/oneblk.oab" end oneblock;               reject_all oneblk "after one zero block, two are required"
$M "$T/good.oab" "$T/noblk.oab" end noblock;                 reject_all noblk "without its two end-of-archive blocks"
echo trailing > "$T/trail"
$M "$T/good.oab" "$T/trail.oab" end "$T/trail";              reject_all trail "bytes after the end of the archive"
$M "$T/good.oab" "$T/lonez.oab" lonezero payloads/app.zst;   reject lonez "ends early|lone zero block"
# A second manifest.yaml or manifest.sig later on (GNU tar, the audit
# recipe, would extract that one): refused by every command.
printf 'format: 1\n' > "$T/fake.yaml"
$M "$T/good.oab" "$T/man2.oab" append manifest.yaml "$T/fake.yaml"; reject_all man2 "second member 'manifest.yaml'|not listed"
expect 1 "second member 'manifest.yaml'" "$O" inspect "$T/man2.oab"
$M "$T/good.oab" "$T/sig2.oab" append ./manifest.sig "$T/junk";     reject_all sig2 "second member './manifest.sig'|not listed"
expect 1 "second member './manifest.sig'" "$O" export-manifest -o "$T/sig2.yaml" "$T/sig2.oab"
# Hostile signatures (issue 11, more in t_sigpolicy.sh): 2300 SignerInfos
# naming an RSA key with a 3000-bit exponent; BER instead of DER; a
# certificate whose key cannot be read (found by fuzz_cms); MD5.
tar -xOf "$T/good.oab" manifest.yaml > "$T/m.yaml"
"$OAB_TOOLS/sigbomb" "$T/m.yaml" "$T/bomb.sig" 2300 3000 3072
$M "$T/good.oab" "$T/sigbomb.oab" replace manifest.sig "$T/bomb.sig"; reject sigbomb "2300 SignerInfos"
tar -xOf "$T/good.oab" manifest.sig | perl -0777 -pe 's/^\x30\x82..(.*)\z/\x30\x80$1\x00\x00/s' > "$T/ber.sig"
$M "$T/good.oab" "$T/ber.oab" replace manifest.sig "$T/ber.sig"; reject ber "not DER"
$M "$T/good.oab" "$T/nokey.oab" replace manifest.sig "$OAB_ROOT/tests/fuzz/regressions/cms-nokey.sig"
reject nokey "manifest.sig"
openssl cms -sign -binary -in "$T/m.yaml" -signer "$PKI/signer-rsa3072.pem" -inkey "$PKI/signer-rsa3072.key" \
	-certfile "$PKI/chain.pem" -md md5 -outform DER -out "$T/md5.sig"
$M "$T/good.oab" "$T/md5.oab" replace manifest.sig "$T/md5.sig"; reject md5 "MD5"
# Hostile CRLs in the signature's crls field (otabundle(1) REVOCATION):
# too many, too large, forged, and a large genuine one that must stay cheap.
B=$OAB_TOOLS/crlbomb
tar -xOf "$T/good.oab" manifest.sig > "$T/good.sig"
"$B" make "$PKI/int.pem" "$PKI/int.key" "$T/int.crl" 0
"$B" make "$PKI/ca.pem" "$PKI/ca.key" "$T/ca.crl" 0
"$B" stuff "$T/good.sig" "$T/crlmany.sig" "$T/int.crl" 40
$M "$T/good.oab" "$T/crlmany.oab" replace manifest.sig "$T/crlmany.sig"; reject crlmany "certificates and revocation lists \(at most 32"
"$B" make "$PKI/int.pem" "$PKI/int.key" "$T/huge.crl" 70000
"$B" stuff "$T/good.sig" "$T/crlhuge.sig" "$T/huge.crl" 1
$M "$T/good.oab" "$T/crlhuge.oab" replace manifest.sig "$T/crlhuge.sig"; reject crlhuge "bytes, limit 1048576"
"$B" make "$PKI/int.pem" "$PKI/signer.key" "$T/forged.crl" 1
cat "$T/forged.crl" "$T/ca.crl" > "$T/forged2.crl"
"$B" stuff "$T/good.sig" "$T/crlforged.sig" "$T/forged2.crl" 1
$M "$T/good.oab" "$T/crlforged.oab" replace manifest.sig "$T/crlforged.sig"
expect 0 "" "$O" verify $CA "$T/crlforged.oab"
expect 1 "no current CRL from 'CN=Test Release CA" "$O" verify $CA --check-revocation "$T/crlforged.oab"
"$B" make "$PKI/int.pem" "$PKI/int.key" "$T/big.crl" 30000
cat "$T/big.crl" "$T/ca.crl" > "$T/big2.crl"
"$B" stuff "$T/good.sig" "$T/crlbig.sig" "$T/big2.crl" 1
$M "$T/good.oab" "$T/crlbig.oab" replace manifest.sig "$T/crlbig.sig"
start=$(date +%s)
expect 0 "" "$O" verify $CA --check-revocation "$T/crlbig.oab"
took=$(( $(date +%s) - start ))
[ "$took" -le 10 ] && ok "a 30000-entry CRL is judged in ${took}s" || bad "a 30000-entry CRL took ${took}s"
printf 'garbage\n' > "$T/garbage.crl"
expect 2 "no PEM X509 CRL found" "$O" verify $CA --crl "$T/garbage.crl" "$T/good.oab"
# Not a tar at all / empty file.
head -c 4096 /dev/urandom > "$T/random.oab"; reject random "not a bundle|damaged|archive"
: > "$T/empty.oab"; reject empty "empty|not a bundle"
# Malformed RFC 3161 tokens (unsigned attribute id-aa-timeStampToken):
# with --tsa-ca each is a clear rejection naming the timestamp; without,
# tokens are only described (verify passes); inspect never crashes.
"$O" export-manifest -o "$T/tk.yaml" --sig "$T/tk.sig" "$T/good.oab"
tok_attrs() { # HEX... (one timeStampToken attribute each; "-": an empty SET): HEX of the [1] TLV
	python3 -c '
import sys
def tlv(t, b):
    n = len(b)
    l = bytes([n]) if n < 128 else (lambda s: bytes([0x80 | len(s)]) + s)(n.to_bytes((n.bit_length() + 7) // 8, "big"))
    return bytes([t]) + l + b
oid = bytes.fromhex("060b2a864886f70d010910020e")
attrs = [tlv(0x30, oid + tlv(0x31, bytes.fromhex(v.strip("-")))) for v in sys.argv[1:]]
print(tlv(0xA1, b"".join(sorted(attrs))).hex())' "$@"
}
SIGD=$(python3 -c 'import sys; b=open(sys.argv[1],"rb").read(); print(b[:4+int.from_bytes(b[2:4],"big")].hex())' "$T/tk.sig")
for case in "octet:0403010203" "garbage:3003020101" "empty:-" "cms-not-tst:$SIGD" "two:3003020101 3003020102" "trunc:3082ffff0201"; do
	name=${case%%:*} vals=${case#*:}
	# shellcheck disable=SC2086
	hex=$(tok_attrs $vals) || { bad "tok $name: encode"; continue; }
	if ! python3 "$OAB_ROOT/tests/tools/dergraft.py" -raw "$hex" "$T/tk.sig" "$T/tk_$name.sig" ||
	   ! "$O" attach-signature -q --replace -o "$T/tk_$name.oab" "$T/tk_$name.sig" "$T/good.oab" 2> "$T/tk.err"; then
		# the parser refuses it outright (not DER, or not a CMS): also a rejection
		grep -q "manifest.sig\|signature" "$T/tk.err" && ok "tok $name: refused when attached" || bad "tok $name: $(cat "$T/tk.err")"
		continue
	fi
	expect 1 "timestamp" "$O" verify $CA --tsa-ca "$PKI/ca.pem" "$T/tk_$name.oab"
	expect 0 "" "$O" verify $CA "$T/tk_$name.oab"
	expect 0 "" "$O" inspect "$T/tk_$name.oab"
done
finish
