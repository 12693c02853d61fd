# SPDX-License-Identifier: Apache-2.0
# build -> verify -> inspect -> extract round trip on a 64 MiB image.
. "$(dirname "$0")/lib.sh"

expect 0 "" build_example "$T/b.oab"
expect 0 "" "$O" verify --ca "$PKI/ca.pem" "$T/b.oab"
expect 0 "" "$O" verify --ca "$PKI/int.pem" "$T/b.oab"      # anchor may be an intermediate
expect 0 "" "$O" verify --trust "$PKI/signer.pem" "$T/b.oab" # pinned certificate
openssl x509 -in "$PKI/signer.pem" -pubkey -noout > "$T/signer.pub"
expect 0 "" "$O" verify --trust "$T/signer.pub" "$T/b.oab"   # pinned public key
expect 0 "" "$O" verify --ca "$PKI/ca.pem" --compatible acme-gw-v2 --min-security-version 17 "$T/b.oab"
expect 0 "" "$O" verify --ca "$PKI/ca.pem" - < "$T/b.oab"    # from a pipe
# No temporary space needed: chunks are checked in memory, nothing spooled.
mkfifo "$T/fifo"
cat "$T/b.oab" > "$T/fifo" &
expect 0 "" env TMPDIR=/nonexistent "$O" verify --ca "$PKI/ca.pem" - < "$T/fifo"
wait
# Chunk hashes of the image: one per stored-chunk-size piece of the member.
tar -xOf "$T/b.oab" manifest.yaml > "$T/m.yaml"
n=$(awk '$1 == "member:" { f = ($2 == "payloads/rootfs.zst") } f && $1 == "stored-chunks-sha256:" { l = 1; next } l && $1 == "-" && NF == 2 { c++; next } { l = 0 } END { print c + 0 }' "$T/m.yaml")
want=$(awk '$1 == "member:" { f = ($2 == "payloads/rootfs.zst") } f && $1 == "stored-size:" { s = $2 } f && $1 == "stored-chunk-size:" { print int((s + $2 - 1) / $2); exit }' "$T/m.yaml")
[ "$n" -ge 1 ] && [ "$n" = "$want" ] && ok "rootfs stored in $n hashed chunk(s)" || bad "rootfs chunk list ($n, expected $want)"
# In-place layout: where the file system can insert a range (ext4, XFS), a
# signed build pads manifest.sig with zero bytes so the members start on a
# 4 KiB boundary, and moves them there instead of copying them.
head -c 8192 /dev/zero > "$T/ins"
if fallocate --insert-range -o 0 -l 4096 "$T/ins" 2>/dev/null; then
	blk=$(tar -tvR -f "$T/b.oab" | awk '/ payloads\/rootfs.zst$/ { sub(":", "", $2); print $2 }')
	[ -n "$blk" ] && [ $((blk * 512 % 4096)) -eq 0 ] && ok "in place: members start at byte $((blk * 512)), a 4 KiB boundary" ||
		bad "in place: first member at block '$blk'"
	sz=$(tar -tvf "$T/b.oab" manifest.sig | awk '{ print $3 }')
	[ $((sz % 512)) -eq 0 ] && ok "in place: manifest.sig padded to $sz bytes" || bad "manifest.sig $sz bytes"
else
	skip "in-place layout checks: $(df -PT "$T" | awk 'NR == 2 { print $2 }') cannot insert ranges"
fi
# Where it cannot (tmpfs), the same signed bundle is copied together.
if [ -d /dev/shm ] && [ -w /dev/shm ] && ! fallocate --insert-range -o 0 -l 4096 "$(mktemp /dev/shm/oab-ins.XXXXXX)" 2>/dev/null; then
	S=$(mktemp -d /dev/shm/oab-test.XXXXXX)
	expect 0 "" build_example "$S/b.oab"
	expect 0 "" "$O" verify --ca "$PKI/ca.pem" "$S/b.oab"
	tar -xOf "$S/b.oab" manifest.yaml > "$T/shm.yaml"
	tar -xOf "$S/b.oab" manifest.sig > "$T/shm.sig"
	expect 0 "" openssl cms -verify -binary -inform DER -in "$T/shm.sig" -content "$T/shm.yaml" -CAfile "$PKI/ca.pem" -purpose any -out /dev/null
	rm -rf "$S"
fi
rm -f /dev/shm/oab-ins.*
expect 0 "" "$O" inspect "$T/b.oab"
grep -q "acme-gateway 2.4.1" "$T/.out" && ok "inspect shows name and version" || bad "inspect output"
grep -q "unverified" "$T/.out" && ok "inspect marks data unverified" || bad "inspect unverified"
expect 0 "" "$O" inspect --json "$T/b.oab"
tr -d ' \n' < "$T/.out" | grep -Eq '"name":"rootfs".*"stored-chunk-size":1048576,"stored-chunks-sha256":\["[0-9a-f]{64}"' &&
	tr -d ' \n' < "$T/.out" | grep -Eq '"name":"bootloader"[^}]*"stored-sha256":"[0-9a-f]{64}"' &&
	ok "inspect --json: chunk list for compressed, stored-sha256 for plain items" || bad "inspect --json chunk fields"
mkdir "$T/x"
expect 0 "" "$O" extract --ca "$PKI/ca.pem" -C "$T/x" "$T/b.oab"
for f in rootfs:rootfs.ext4 app:app.tar bootloader:u-boot.bin migrate:migrate.sh sbom.cdx.json:sbom.cdx.json; do
	if cmp -s "$T/x/${f%%:*}" "$IN/${f#*:}"; then ok "extract ${f%%:*} is bit-identical"; else bad "extract ${f%%:*} differs"; fi
done
[ -x "$T/x/migrate" ] && ok "script extracted executable" || bad "script mode"
finish
