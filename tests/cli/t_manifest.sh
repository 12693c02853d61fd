# SPDX-License-Identifier: Apache-2.0
# Manifest errors: exit 2, a message naming file:line:col and key, and no
# output written.
. "$(dirname "$0")/lib.sh"
cp "$IN"/*.ext4 "$IN"/*.tar "$IN"/*.sh "$IN"/*.json "$IN"/*.bin "$T/"

bad_manifest() { # NAME REGEX : $T/NAME.yaml must be refused
	expect 2 "$2" "$O" build -q --unsigned -o "$T/$1.oab" "$T/$1.yaml"
	if [ -e "$T/$1.oab" ]; then bad "$1: output written"; else ok "$1: nothing written"; fi
	[ -z "$(ls -A "$T" | grep '^\.' | grep -v '^\.out$\|^\.err$')" ] && ok "$1: no temp file left" || bad "$1: temp files left: $(ls -A "$T" | grep '^\.')"
}
head_ok='format: 1
bundle:
  name: t
  version: "1"
  security-version: 1
  compatible: [board]'
printf '%s\npayloads:\n  - {name: a, type: image, source: rootfs.ext4, colour: red}\n' "$head_ok" > "$T/unknown.yaml"
bad_manifest unknown "unknown.yaml:8:49: unknown key 'colour' in 'payloads\[0\]'"
printf '%s\n  version: "2"\npayloads:\n  - {name: a, type: image, source: rootfs.ext4}\n' "$head_ok" > "$T/dupkey.yaml"
bad_manifest dupkey "dupkey.yaml:7:3: duplicate key 'version' in 'bundle'"
printf '%s\npayloads:\n  - {name: a, type: image, source: rootfs.ext4}\n  - {name: a, type: file, source: u-boot.bin}\n' "$head_ok" > "$T/dupname.yaml"
bad_manifest dupname "duplicate name 'a'"
printf '%s\npayloads:\n  - &x {name: a, type: image, source: rootfs.ext4}\n  - *x\n' "$head_ok" > "$T/anchor.yaml"
bad_manifest anchor "anchor.yaml:8:.*anchors"
printf '%s\npayloads:\n  - {name: a, type: image, source: rootfs.ext4}\nscripts: *x\n' "$head_ok" > "$T/alias.yaml"
bad_manifest alias "alias"
printf 'format: 1\nbundle:\n  name: t\n  version: "1"\n  security-version: "17"\n  compatible: [b]\npayloads:\n  - {name: a, type: image, source: rootfs.ext4}\n' > "$T/type.yaml"
bad_manifest type "type.yaml:5:21: key 'bundle.security-version': expected an integer"
printf '%s\npayloads:\n  - {name: a, type: disk, source: rootfs.ext4}\n' "$head_ok" > "$T/enum.yaml"
bad_manifest enum "key 'payloads\[0\].type': expected image \| archive \| file"
printf '%s\npayloads:\n  - {name: a, type: image, source: missing.img}\n' "$head_ok" > "$T/missing.yaml"
bad_manifest missing "missing.img.*No such file"
printf '%s\npayloads:\n  - {name: ../a, type: image, source: rootfs.ext4}\n' "$head_ok" > "$T/name.yaml"
bad_manifest name "not a valid name"
printf '%s\npayloads:\n  - {name: a, type: image, source: rootfs.ext4, compression: gzip}\n' "$head_ok" > "$T/comp.yaml"
bad_manifest comp "expected zstd, zstd:LEVEL"
printf '%s\n  expires: next year\npayloads:\n  - {name: a, type: image, source: rootfs.ext4}\n' "$head_ok" > "$T/exp.yaml"
bad_manifest exp "RFC 3339"
printf '%s\npayloads: []\n' "$head_ok" > "$T/empty.yaml"
bad_manifest empty "at least one payload"
printf 'format: 2\n' > "$T/fmt.yaml"
bad_manifest fmt "missing required key|version 2 is not supported"
printf '%s\npayloads:\n  - {name: a, type: image, source: .}\n' "$head_ok" > "$T/dir.yaml"
bad_manifest dir "not a regular file"
printf 'format: 1\nbundle: [\n' > "$T/syntax.yaml"
bad_manifest syntax "syntax.yaml:.*invalid YAML"
# NUL and control characters in quoted keys and values (issue 11): another
# YAML reader would see "size\0evil", not size.
printf '%s\npayloads:\n  - {name: a, type: image, source: rootfs.ext4, "compression\\0x": none}\n' "$head_ok" > "$T/nulkey.yaml"
bad_manifest nulkey "nulkey.yaml:8:49: in 'payloads\[0\]': key 'compression\\\\x00x' contains a NUL byte"
printf '%s\npayloads:\n  - {name: a, type: image, source: rootfs.ext4, compression: "none\\0zstd"}\n' "$head_ok" > "$T/nulval.yaml"
bad_manifest nulval "nulval.yaml:8:62: key 'payloads\[0\].compression': NUL byte in the value"
printf '%s\n  meta: {k: "\\e]0;owned\\a"}\npayloads:\n  - {name: a, type: image, source: rootfs.ext4}\n' "$head_ok" > "$T/esc.yaml"
bad_manifest esc "esc.yaml:7:13: key 'bundle.meta.k': control character 0x1B"
# Names that differ only in case are one file on vfat and case-folding file
# systems; non-ASCII (NFC/NFD variants) and bidi names are refused.
printf '%s\npayloads:\n  - {name: Rootfs, type: image, source: rootfs.ext4}\n  - {name: rootfs, type: file, source: u-boot.bin}\n' "$head_ok" > "$T/case.yaml"
bad_manifest case "case.yaml:9:1: names 'rootfs' and 'Rootfs' \(line 8\) differ only in case"
printf '%s\n  meta: {Build: 1, BUILD: 2}\npayloads:\n  - {name: a, type: image, source: rootfs.ext4}\n' "$head_ok" > "$T/metacase.yaml"
bad_manifest metacase "metacase.yaml:7:20: key 'BUILD' in 'bundle.meta' differs only in case from 'Build'"
printf '%s\npayloads:\n  - {name: "cafe\\u0301", type: image, source: rootfs.ext4}\n' "$head_ok" > "$T/nfd.yaml"
bad_manifest nfd "nfd.yaml:8:12: key 'payloads\[0\].name': 'cafe\\\\xcc\\\\x81' is not a valid name"
printf '%s\npayloads:\n  - {name: "a\\u202egpj", type: image, source: rootfs.ext4}\n' "$head_ok" > "$T/bidi.yaml"
bad_manifest bidi "bidi.yaml:8:12: key 'payloads\[0\].name': bidirectional formatting character U\+202E"
# The same rule on the resolved manifest of a bundle, even correctly signed:
# `created` and `sha256` with a NUL suffix reject the bundle (exit 1).
build_example "$T/good.oab"
tar -xOf "$T/good.oab" manifest.yaml > "$T/res.yaml"
for f in created sha256; do
	sed "0,/^\( *\)$f: \(.*\)\$/s//\1$f: \"\2\\\\0x\"/" "$T/res.yaml" > "$T/res-$f.yaml"
	grep -q "$f: \".*\\\\0x\"" "$T/res-$f.yaml" && ok "res-$f edited" || bad "res-$f not edited"
	openssl cms -sign -binary -in "$T/res-$f.yaml" -signer "$PKI/signer.pem" -inkey "$PKI/signer.key" \
		-certfile "$PKI/chain.pem" -md sha256 -outform DER -out "$T/res-$f.sig" 2>/dev/null
	"$OAB_TOOLS/tarmangle" "$T/good.oab" "$T/res1.oab" replace manifest.yaml "$T/res-$f.yaml"
	"$OAB_TOOLS/tarmangle" "$T/res1.oab" "$T/res-$f.oab" replace manifest.sig "$T/res-$f.sig"
	expect 1 "key '(bundle.created|payloads\[0\].sha256)': NUL byte in the value" \
		"$O" verify --ca "$PKI/ca.pem" "$T/res-$f.oab"
done
expect 2 "manifest:.*nope.yaml.*No such file" "$O" build --unsigned "$T/nope.yaml"

# Stdin manifests resolve sources against the current folder; symlinks are followed.
ln -s rootfs.ext4 "$T/link.img"
printf '%s\npayloads:\n  - {name: a, type: image, source: link.img}\n' "$head_ok" > "$T/stdin.yaml"
(cd "$T" && expect 0 "" "$O" build -q --unsigned -o "$T/stdin.oab" - < "$T/stdin.yaml")
tar -xOf "$T/stdin.oab" payloads/a.zst | zstd -dc | cmp -s - "$T/rootfs.ext4" && ok "symlinked source followed" || bad "symlink source"
# Usage errors.
expect 2 "no signing key" "$O" build "$T/stdin.yaml"
expect 2 "every --key needs its --cert" "$O" build --key "$PKI/signer.key" "$T/stdin.yaml"
expect 2 "-j" "$O" build --unsigned -j 0 "$T/stdin.yaml"
expect 2 "unknown command" "$O" frobnicate
expect 3 "output folder .*No such file" "$O" build -q --unsigned -o "$T/no/such/dir/x.oab" "$T/stdin.yaml"
expect 0 "" "$O" help build
grep -q "usage: otabundle build" "$T/.out" && ok "help build" || bad "help build"
expect 0 "" "$O" --version
# SOURCE_DATE_EPOCH up to 9999-12-31T23:59:59Z (issue 12): beyond it the
# bundle would fail its own verification and GNU tar would reject it.
for sde in 253402300800 9223372036854775807 9223372036854775808 -1 " 1" 1e9 0x10 "12 "; do
	SOURCE_DATE_EPOCH=$sde expect 2 "SOURCE_DATE_EPOCH='$sde': expected seconds since 1970, an integer from 0 to 253402300799" \
		"$O" build -q --unsigned -o "$T/sde.oab" "$T/stdin.yaml"
	[ -e "$T/sde.oab" ] && bad "SOURCE_DATE_EPOCH=$sde: output written" || ok "SOURCE_DATE_EPOCH=$sde: nothing written"
done
SOURCE_DATE_EPOCH=$(printf '1\033[2J') expect 2 "SOURCE_DATE_EPOCH='1\\\\x1b\[2J'" "$O" build -q --unsigned -o "$T/sde.oab" "$T/stdin.yaml"
SOURCE_DATE_EPOCH=253402300799 build_example "$T/last.oab"
expect 0 "" "$O" verify --ca "$PKI/ca.pem" "$T/last.oab"
tar -xOf "$T/last.oab" manifest.yaml | grep -q "created: 9999-12-31T23:59:59Z" && ok "created 9999-12-31T23:59:59Z" || bad "created time"
tar -tvf "$T/last.oab" > "$T/tv" 2>&1 && grep -q "9999-12-31 23:59" "$T/tv" && ok "tar lists member times 9999-12-31" || bad "tar: $(head -2 "$T/tv")"
expect 2 "expected an RFC 3339 time" "$O" verify --ca "$PKI/ca.pem" --now 9999-12-31T23:59:60Z "$T/last.oab"
# zstd levels 20-22 only with --ultra (issue 12), and then with a memory
# estimate on stderr; without it a usage error naming the manifest line.
printf '%s\npayloads:\n  - {name: a, type: file, source: u-boot.bin}\n  - {name: b, type: file, source: u-boot.bin,\n     compression: "zstd:22"}\n' "$head_ok" > "$T/ultra.yaml"
bad_manifest ultra "ultra.yaml:10:19: 'b': compression zstd:22 needs --ultra"
expect 0 "warning: 'b': zstd level 22 with 2 workers needs about [0-9]+ MiB of memory" \
	"$O" build -q --unsigned --ultra -j 2 -o "$T/ultra.oab" "$T/ultra.yaml"
tar -xOf "$T/ultra.oab" manifest.yaml | grep -q "compression: zstd:22" && ok "zstd:22 built with --ultra" || bad "zstd:22 not in the resolved manifest"
sed 's/zstd:22/zstd:19/' "$T/ultra.yaml" > "$T/l19.yaml"
expect 0 "" "$O" build -q --unsigned -o "$T/l19.oab" "$T/l19.yaml"
[ -s "$T/.err" ] && bad "zstd:19 warned: $(cat "$T/.err")" || ok "zstd:19 needs no --ultra and says nothing"
finish
