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
finish
