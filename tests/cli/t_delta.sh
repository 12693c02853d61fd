#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# t_delta.sh - delta bundles (otabundle(1) DELTA BUNDLES): build --base and
# delta-from, extract --base over several pairs (identical, wholly
# different, grown, shrunk, every block moved), mixed bundles, wrong and
# missing bases, an edited signed manifest, hostile delta manifests, and
# the stock-tool rebuild script of otabundle-format(5).
. "$(dirname "$0")/lib.sh"
SIGN="--key $PKI/signer.key --cert $PKI/signer.pem --chain $PKI/chain.pem"

# The pairs: old.img and new-PAIR.img, 3 MiB of blocks like a file system
# (pseudo-random, text, zeros).
python3 - "$T" <<'EOF'
import random, sys
d = sys.argv[1]
def image(seed, nblocks):
    r = random.Random(seed)
    out = bytearray()
    for b in range(nblocks):
        k = b % 7
        if k == 3:
            out += bytes(4096)
        elif k == 5:
            out += ((b"line %d of a text file\n" % b) * 200)[:4096]
        else:
            out += r.randbytes(4096)
    return out
old = image(1, 768) + b"tail!" * 25
open(d + "/old.img", "wb").write(old)
pairs = {}
pairs["same"] = old
pairs["different"] = image(2, 700)
g = bytearray(old) + image(3, 256)
for i in range(5000, len(old), 70000):
    g[i] ^= 0x5A
pairs["grown"] = g
s = bytearray(old[: 1536 * 1024])
s[100000:100010] = b"0123456789"
pairs["shrunk"] = s
n = len(old) // 4096
m = b"".join(old[(n - 1 - b) * 4096:(n - b) * 4096] for b in range(n))
pairs["moved"] = m[: 1 << 20] + b"x" * 100 + m[1 << 20:]
for k, v in pairs.items():
    open(d + "/new-" + k + ".img", "wb").write(v)
open(d + "/boot.bin", "wb").write(image(9, 16))
EOF

head='format: 1
bundle: {name: acme, version: "2", security-version: 2, compatible: [acme]}'
for p in same different grown shrunk moved; do
	printf '%s\npayloads:\n  - {name: rootfs, type: image, source: new-%s.img, delta-from: old.img}\n' \
		"$head" "$p" > "$T/$p.yaml"
	expect 0 "" "$O" build -q $SIGN -o "$T/$p.oab" "$T/$p.yaml" || continue
	mkdir -p "$T/x-$p"
	expect 0 "" "$O" extract -q --ca "$PKI/ca.pem" --base rootfs="$T/old.img" -C "$T/x-$p" "$T/$p.oab"
	cmp -s "$T/x-$p/rootfs" "$T/new-$p.img" && ok "$p: rebuilt byte for byte" || bad "$p: differs"
done
# What the deltas weigh: nearly nothing for the same image, all of it for
# a different one.
st=$(stat -c %s "$T/same.oab") full=$(stat -c %s "$T/different.oab")
[ "$st" -lt 20000 ] && ok "identical image: a $st-byte bundle" || bad "identical image: $st bytes"
[ "$full" -gt 2000000 ] && ok "different image: $full bytes (no false copies)" || bad "different: $full"

# build --base OLD: the payload of the same name becomes a delta, the
# new one stays full (a mixed bundle); inspect says which base it needs.
printf '%s\npayloads:\n  - {name: rootfs, type: image, source: old.img}\n' "$head" > "$T/v1.yaml"
printf '%s\npayloads:\n  - {name: rootfs, type: image, source: new-grown.img}\n  - {name: boot, type: file, source: boot.bin}\n' \
	"$head" > "$T/v2.yaml"
expect 0 "" "$O" build -q $SIGN -o "$T/v1.oab" "$T/v1.yaml"
expect 2 "verify the base bundle" "$O" build -q $SIGN --base "$T/v1.oab" -o "$T/v2.oab" "$T/v2.yaml"
expect 4 "" "$O" build -q $SIGN --trust "$PKI/second.pem" --base "$T/v1.oab" -o "$T/v2.oab" "$T/v2.yaml"
[ ! -e "$T/v2.oab" ] && ok "an untrusted base bundle: nothing written" || bad "v2.oab written"
expect 0 "" "$O" build -q $SIGN --ca "$PKI/ca.pem" --base "$T/v1.oab" -o "$T/v2.oab" "$T/v2.yaml"
expect 0 "" "$O" inspect "$T/v2.oab"
grep -q "payloads/rootfs.zdelta" "$T/.out" && grep -q "payloads/boot.zst" "$T/.out" &&
	ok "mixed bundle: rootfs a delta, boot full" || bad "mixed bundle members"
bsha=$(sha256sum < "$T/old.img" | cut -d' ' -f1)
grep -q "delta: needs the base of 3145853 bytes with sha256 $bsha" "$T/.out" &&
	ok "inspect names the base" || bad "inspect: base not shown"
expect 0 "" "$O" inspect --json "$T/v2.oab"
grep -Eq "\"base-sha256\": ?\"$bsha\"" "$T/.out" && ok "inspect --json: delta.base-sha256" ||
	bad "inspect --json: no base-sha256"
# the JSON documents of delta bundles are as otabundle-json(5) documents them
jdoc() { # jdoc STATUS CMD ARGS...
	st=$1 cmd=$2
	shift 2
	expect "$st" "" "$O" "$cmd" --json "$@" || return
	out=$(python3 "$OAB_ROOT/tests/cli/jsoncheck.py" "$OAB_ROOT/man/otabundle-json.5" "$cmd" "$st" "$T/.out" 2>&1) &&
		ok "json $cmd: as documented" || bad "json $cmd: $out"
}
jdoc 0 inspect "$T/v2.oab"
jdoc 0 verify --ca "$PKI/ca.pem" "$T/v2.oab"
mkdir -p "$T/x-json"
jdoc 0 extract --ca "$PKI/ca.pem" --base rootfs="$T/old.img" -C "$T/x-json" "$T/v2.oab"
jdoc 2 extract --ca "$PKI/ca.pem" -C "$T/x-json" -f "$T/v2.oab"
grep -q '"delta-base"' "$T/.out" && ok "json: detail delta-base" || bad "json: no delta-base detail"
# verify without a base: the stored chunks only, said so
expect 0 "" "$O" verify --ca "$PKI/ca.pem" "$T/v2.oab"
mkdir -p "$T/x-v2"
expect 0 "" "$O" extract -q --ca "$PKI/ca.pem" --base rootfs="$T/old.img" -C "$T/x-v2" "$T/v2.oab"
cmp -s "$T/x-v2/rootfs" "$T/new-grown.img" && cmp -s "$T/x-v2/boot" "$T/boot.bin" &&
	ok "build --base: both payloads extracted" || bad "build --base: extract differs"
# compression none keeps a payload as it is, also with --base
sed 's/source: new-grown.img}/source: new-grown.img, compression: none}/' "$T/v2.yaml" > "$T/v2n.yaml"
expect 0 "" "$O" build -q $SIGN --ca "$PKI/ca.pem" --base "$T/v1.oab" -o "$T/v2n.oab" "$T/v2n.yaml"
tar -tf "$T/v2n.oab" | grep -qx payloads/rootfs && ok "compression none: stored as is" || bad "v2n: $(tar -tf "$T/v2n.oab")"

# sign copies a delta member as it is (its stored chunks checked).
expect 0 "" "$O" sign -q -o "$T/v2s.oab" --key "$PKI/second.key" --cert "$PKI/second.pem" \
	--chain "$PKI/chain.pem" "$T/v2.oab"
expect 0 "" "$O" verify --threshold 2 --ca "$PKI/ca.pem" "$T/v2s.oab"

# The base may be the very file extract replaces (--force): it is read
# before the new file takes its name.
mkdir -p "$T/x-inplace"
cp "$T/old.img" "$T/x-inplace/rootfs"
expect 0 "" "$O" extract -q -f --ca "$PKI/ca.pem" --base rootfs="$T/x-inplace/rootfs" -C "$T/x-inplace" \
	rootfs "$T/v2.oab"
cmp -s "$T/x-inplace/rootfs" "$T/new-grown.img" && ok "base replaced by its own delta" || bad "in-place differs"

# examples/updater.c, the public verify API only, installs a delta payload
# into a slot from its base, and refuses a wrong base.
U=$OAB_TOOLS/../examples/updater
expect 0 "" "$U" "$PKI/ca.pem" "$T/v2.oab" rootfs "$T/slot.img" "$T/old.img"
cmp -s "$T/slot.img" "$T/new-grown.img" && ok "updater: delta installed" || bad "updater: slot differs"
expect 1 "" "$U" "$PKI/ca.pem" "$T/v2.oab" rootfs "$T/slot2.img" "$T/new-grown.img"
grep -q "refused: 'rootfs': the base given is" "$T/.out" && ok "updater: wrong base refused" ||
	bad "updater: $(cat "$T/.out")"
expect 1 "" "$U" "$PKI/ca.pem" "$T/v2.oab" rootfs "$T/slot3.img"
grep -q "refused: 'rootfs' is a delta payload: it needs its base" "$T/.out" &&
	ok "updater: no base refused" || bad "updater: $(cat "$T/.out")"

# A wrong or missing base: refused, nothing written.
mkdir -p "$T/x-bad"
expect 2 "'rootfs' is a delta payload: it needs its base" \
	"$O" extract --ca "$PKI/ca.pem" -C "$T/x-bad" "$T/v2.oab"
cp "$T/old.img" "$T/wrong.img"
printf 'X' | dd of="$T/wrong.img" bs=1 seek=1000000 conv=notrunc status=none
expect 1 "not the one the delta was made from \(sha256 expected $bsha, found [0-9a-f]{64}\)" \
	"$O" extract --ca "$PKI/ca.pem" --base rootfs="$T/wrong.img" -C "$T/x-bad" "$T/v2.oab"
head -c 3000000 "$T/old.img" > "$T/short.img"
expect 1 "the base given is 3000000 bytes, the delta needs 3145853" \
	"$O" extract --ca "$PKI/ca.pem" --base rootfs="$T/short.img" -C "$T/x-bad" "$T/v2.oab"
expect 2 "not a delta payload" \
	"$O" extract --ca "$PKI/ca.pem" --base boot="$T/old.img" --base rootfs="$T/old.img" -C "$T/x-bad" "$T/v2.oab"
[ -z "$(ls -A "$T/x-bad")" ] && ok "wrong bases: nothing written" || bad "x-bad: $(ls -A "$T/x-bad")"

# A base on a block device larger than the base: its first base-size bytes
# count (a loop device over the old image padded to 3 MiB + 8 KiB).
cp "$T/old.img" "$T/pad.img"
truncate -s $((3 * 1048576 + 8192)) "$T/pad.img"
expect 1 "the base given is 3153920 bytes, the delta needs 3145853" \
	"$O" extract --ca "$PKI/ca.pem" --base rootfs="$T/pad.img" -C "$T/x-bad" "$T/v2.oab"
if dev=$(losetup -f --show -r "$T/pad.img" 2>/dev/null) && [ -b "$dev" ]; then
	mkdir -p "$T/x-dev"
	expect 0 "" "$O" extract -q --ca "$PKI/ca.pem" --base rootfs="$dev" -C "$T/x-dev" "$T/v2.oab"
	losetup -d "$dev"
	cmp -s "$T/x-dev/rootfs" "$T/new-grown.img" && ok "block-device base" || bad "block-device base"
else
	skip "block-device base: no loop device here (needs root)"
fi

# The base's hash is signed: edited, the signature check fails.
tar -xOf "$T/v2.oab" manifest.yaml > "$T/m.yaml"
sed "s/base-sha256: .*/base-sha256: $(sha256sum < "$T/wrong.img" | cut -d' ' -f1)/" "$T/m.yaml" > "$T/m-edit.yaml"
"$OAB_TOOLS/tarmangle" "$T/v2.oab" "$T/edit.oab" replace manifest.yaml "$T/m-edit.yaml"
expect 1 "signature" "$O" extract --ca "$PKI/ca.pem" --base rootfs="$T/wrong.img" -C "$T/x-bad" "$T/edit.oab"
[ -z "$(ls -A "$T/x-bad")" ] && ok "edited base hash: nothing written" || bad "x-bad written"

# Hostile delta manifests, correctly signed: refused (exit 1), never a crash.
resign() { # resign NAME SED-SCRIPT: $T/NAME.oab, v2 with its manifest edited and signed
	sed "$2" "$T/m.yaml" > "$T/$1.yaml"
	cmp -s "$T/m.yaml" "$T/$1.yaml" && bad "$1: sed changed nothing"
	openssl cms -sign -binary -in "$T/$1.yaml" -signer "$PKI/signer.pem" -inkey "$PKI/signer.key" \
		-certfile "$PKI/chain.pem" -md sha256 -outform DER -out "$T/$1.sig" 2>/dev/null
	"$OAB_TOOLS/tarmangle" "$T/v2.oab" "$T/$1.1.oab" replace manifest.yaml "$T/$1.yaml"
	"$OAB_TOOLS/tarmangle" "$T/$1.1.oab" "$T/$1.oab" replace manifest.sig "$T/$1.sig"
}
# a copy (and prefix) range past the base's end: base-size cut to 8 KiB
resign outside 's/base-size: .*/base-size: 8192/'
expect 1 "lies outside the 8192-byte base" \
	"$O" extract --ca "$PKI/ca.pem" --base rootfs="$T/old.img" -C "$T/x-bad" "$T/outside.oab"
# a declared size one byte longer than the frames give
sz=$(stat -c %s "$T/new-grown.img")
resign overlong "s/^  size: $sz\$/  size: $((sz + 1))/"
expect 1 "rootfs.zdelta': delta segment 0: residual of" \
	"$O" extract --ca "$PKI/ca.pem" --base rootfs="$T/old.img" -C "$T/x-bad" "$T/overlong.oab"
# a window smaller than a segment needs
resign window 's/window-log: .*/window-log: 20/'
expect 1 "window-log': expected 10 to 27" \
	"$O" verify --ca "$PKI/ca.pem" "$T/window.oab"
[ -z "$(ls -A "$T/x-bad")" ] && ok "hostile deltas: nothing written" || bad "x-bad written"

# The auditor's stock-tool rebuild (otabundle-format(5)) gives the same bytes.
for p in grown moved different; do
	expect 0 "" sh "$OAB_ROOT/scripts/delta-rebuild.sh" "$T/$p.oab" rootfs "$T/old.img" "$T/aud-$p.img"
	cmp -s "$T/aud-$p.img" "$T/new-$p.img" && ok "$p: stock tools rebuild it" || bad "$p: stock tools differ"
done
expect 1 "base sha256 .* expected $bsha" sh "$OAB_ROOT/scripts/delta-rebuild.sh" "$T/grown.oab" rootfs \
	"$T/wrong.img" "$T/aud-wrong.img"
# The example delta manifest: the fixture rootfs against an older one (some
# blocks changed, 1 MiB cut from the end).
cp "$OAB_ROOT/manifests/examples/acme-gateway-delta.yaml" "$IN/"
head -c $(($(stat -c %s "$IN/rootfs.ext4") - 1048576)) "$IN/rootfs.ext4" > "$IN/rootfs-2.4.0.ext4"
printf 'old bytes' | dd of="$IN/rootfs-2.4.0.ext4" bs=1 seek=20000 conv=notrunc status=none
expect 0 "" "$O" build -q $SIGN -o "$T/ex.oab" "$IN/acme-gateway-delta.yaml"
mkdir -p "$T/x-ex"
expect 0 "" "$O" extract -q --ca "$PKI/ca.pem" --base rootfs="$IN/rootfs-2.4.0.ext4" -C "$T/x-ex" "$T/ex.oab"
cmp -s "$T/x-ex/rootfs" "$IN/rootfs.ext4" && cmp -s "$T/x-ex/app" "$IN/app.tar" &&
	ok "example delta manifest: built and applied" || bad "example delta manifest"
# A resolved manifest over the 4 MiB a reader takes (delta segment lines
# count toward it; here: meta values of tabs, escaped when emitted) is
# refused by build, not written as a bundle nobody can read.
python3 - "$T/big.yaml" <<'EOF'
import sys
lines = ['format: 1', 'bundle:', '  name: big', '  version: "1"', '  security-version: 1',
         '  compatible: [x]', '  meta:']
lines += ['    k%d: "%s"' % (k, '\t' * 4090) for k in range(1000)]
lines += ['payloads:', '  - {name: p, type: file, source: boot.bin}']
open(sys.argv[1], 'w').write('\n'.join(lines) + '\n')
EOF
expect 2 "resolved manifest would be [0-9]+ bytes, more than the 4194304 bytes a verifier reads" \
	"$O" build -q --unsigned -o "$T/big.oab" "$T/big.yaml"
[ ! -e "$T/big.oab" ] && ok "oversized manifest: nothing written" || bad "big.oab written"
# otabundle-format(5) shows that script as it is.
awk '/^set -eu$/ && prev ~ /^\.Bd -literal/ { on = 1 } on && /^\.Ed$/ { on = 0 } on { print } { prev = $0 }' \
	"$OAB_ROOT/man/otabundle-format.5" > "$T/man-script"
sed -n '/^set -eu$/,$p' "$OAB_ROOT/scripts/delta-rebuild.sh" | cmp -s - "$T/man-script" &&
	ok "otabundle-format(5) shows delta-rebuild.sh" || bad "otabundle-format(5) and delta-rebuild.sh differ"
finish
