# SPDX-License-Identifier: Apache-2.0
# A generated corpus of hostile variants of one good bundle (>= 100):
# single-byte flips inside every member and its header, truncation at many
# offsets, oversized header size fields, members spliced from another
# bundle. Every variant: verify exits 1, extract exits 1 and writes nothing.
. "$(dirname "$0")/lib.sh"
M=$OAB_TOOLS/tarmangle
CA="--ca $PKI/ca.pem"
build_example "$T/good.oab"
SOURCE_DATE_EPOCH=7 build_example "$T/other.oab"
mkdir "$T/v" "$T/x"
n=0
add() { n=$((n + 1)); cp "$T/good.oab" "$T/v/$n-$1.oab"; }
members=$("$M" "$T/good.oab" offsets)
echo "$members" > "$T/members"
while read -r mem off size; do
	tag=$(echo "$mem" | tr '/.' '__')
	for k in 0 1 2 3 4 5 6 7; do # eight flips spread over the member's bytes
		add "flip-$tag-$k"; flip "$T/v/$n-flip-$tag-$k.oab" $((off + (size - 1) * k / 7))
	done
	for h in 0 100 124 148 257; do # name, mode, size, checksum, magic
		add "hdr-$tag-$h"; flip "$T/v/$n-hdr-$tag-$h.oab" $((off - 512 + h))
	done
	case $mem in payloads/*|scripts/*|sbom/*)
		add "size-$tag"; "$M" "$T/v/$n-size-$tag.oab" rawsize "$mem" 77777777777
		"$M" "$T/other.oab" offsets > /dev/null
		tar -xOf "$T/other.oab" "$mem" > "$T/splice"
		if ! cmp -s "$T/splice" "$(tar -xOf "$T/good.oab" "$mem" > "$T/mine"; echo "$T/mine")"; then
			n=$((n + 1)); "$M" "$T/good.oab" "$T/v/$n-splice-$tag.oab" replace "$mem" "$T/splice"
		fi ;;
	esac
done < "$T/members"
total=$(wc -c < "$T/good.oab")
for k in $(seq 1 30); do # truncation at 30 offsets
	cut=$((total * k / 31))
	n=$((n + 1)); head -c $cut "$T/good.oab" > "$T/v/$n-cut-$cut.oab"
done
[ $n -ge 100 ] && ok "corpus has $n hostile variants" || bad "corpus has only $n variants"
rejected=0
for f in "$T"/v/*.oab; do
	"$O" verify $CA "$f" > /dev/null 2> "$T/err"
	rc=$?
	"$O" extract $CA -C "$T/x" "$f" > /dev/null 2>&1
	xrc=$?
	if [ $rc -eq 1 ] && [ $xrc -eq 1 ] && [ -z "$(ls -A "$T/x")" ] && [ "$(wc -l < "$T/err")" -eq 1 ]; then
		rejected=$((rejected + 1))
	else
		bad "$(basename "$f"): verify $rc, extract $xrc, wrote '$(ls -A "$T/x")', message: $(cat "$T/err")"
		rm -rf "$T/x"; mkdir "$T/x"
	fi
done
[ $rejected -eq $n ] && ok "all $n variants rejected with exit 1, one message line, nothing written" || bad "$rejected of $n rejected"
finish
