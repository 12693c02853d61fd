#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# delta-rebuild.sh BUNDLE NAME BASE OUT - rebuild the delta payload NAME of
# BUNDLE from its base BASE into OUT with stock tools only (tar, sed, awk,
# dd, zstd, sha256sum), as otabundle-format(5) DELTA ENCODING specifies,
# checking the base's and the result's SHA-256 against the manifest.
# Check the manifest's signature first (otabundle-format(5) AUDITING).
set -eu
bundle=$1 name=$2 base=$3 out=$4
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
tar -xOf "$bundle" manifest.yaml > "$w/manifest.yaml"
tar -xOf "$bundle" "payloads/$name.zdelta" > "$w/member"
# The item: its lines after `- name: "NAME"` up to the next item or section.
q='"'
awk -v want="- name: $q$name$q" '$0 == want { on = 1; next } on && /^[^ ]/ { on = 0 } on' "$w/manifest.yaml" > "$w/item"
key() { sed -n "s/^$1: //p" "$w/item"; }
size=$(key '  size') sha=$(key '  sha256')
bsize=$(key '    base-size') bsha=$(key '    base-sha256') enc=$(key '    encoding')
[ "$enc" = zstd-prefix-copy ] || { echo "$name: encoding '$enc' unknown" >&2; exit 1; }
# 1. The base must be the one the delta was made from.
got=$(head -c "$bsize" "$base" | sha256sum | cut -d' ' -f1)
[ "$got" = "$bsha" ] || { echo "$name: base sha256 $got, expected $bsha" >&2; exit 1; }
# range FILE OFFSET LENGTH: LENGTH bytes of FILE from OFFSET.
range() { dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=1M status=none; }
# 2. Each segment: "FRAME-SIZE OFFSET+LENGTH... AT=OFFSET+LENGTH...".
: > "$out"
sed -n 's/^    - //p' "$w/item" | {
	at_member=0
	while read -r frame rest; do
		range "$w/member" "$at_member" "$frame" > "$w/frame.zst"
		at_member=$((at_member + frame))
		: > "$w/prefix"
		copies=
		for t in $rest; do
			case $t in
			*=*) copies="$copies $t" ;;
			*) range "$base" "${t%+*}" "${t#*+}" >> "$w/prefix" ;;
			esac
		done
		if [ -s "$w/prefix" ]; then
			zstd -q -d -f --long=27 --patch-from="$w/prefix" "$w/frame.zst" -o "$w/residual"
		else
			zstd -q -d -f --long=27 "$w/frame.zst" -o "$w/residual"
		fi
		pos=0 ri=0
		for c in $copies; do
			at=${c%%=*} r=${c#*=}
			range "$w/residual" "$ri" $((at - pos)) >> "$out"
			ri=$((ri + at - pos))
			range "$base" "${r%+*}" "${r#*+}" >> "$out"
			pos=$((at + ${r#*+}))
		done
		range "$w/residual" "$ri" $(($(wc -c < "$w/residual") - ri)) >> "$out"
	done
}
# 3. The result must be the signed content.
[ "$(wc -c < "$out")" -eq "$size" ] || { echo "$name: size differs from $size" >&2; exit 1; }
got=$(sha256sum < "$out" | cut -d' ' -f1)
[ "$got" = "$sha" ] || { echo "$name: sha256 $got, expected $sha" >&2; exit 1; }
echo "$name: rebuilt, $size bytes, sha256 $sha"
