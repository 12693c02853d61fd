# SPDX-License-Identifier: Apache-2.0
# The libraries' dynamic symbols: libotabundle.so exports exactly the
# functions the public headers mark OAB_API, versioned OTABUNDLE_0.1, and
# nothing else; libotabundle-verify (the verify side alone) exports only
# such names and needs neither libp11, the PKCS#11 engine, the YAML
# emitter nor the zstd compressor.
. "$(dirname "$0")/lib.sh"
B=$(dirname "$OTABUNDLE")
case $OTABUNDLE in */valgrind-wrap.sh) B=$(dirname "$OAB_REAL") ;; esac
for f in libotabundle.so libotabundle-verify.so libotabundle-verify.a; do
	[ -f "$B/$f" ] || { bad "$B/$f was not built"; finish; }
done
# Every name declared after OAB_API in include/otabundle/*.h (comments
# and the #define itself left out).
cat "$OAB_ROOT"/include/otabundle/*.h | grep -v '^#' | perl -0pe 's{/\*.*?\*/}{}gs' |
	tr '\n' ' ' | grep -o 'OAB_API [^;(]*(' |
	sed 's/.*[^A-Za-z0-9_]\([A-Za-z0-9_][A-Za-z0-9_]*\) *($/\1/' | sort -u > "$T/api"
[ "$(wc -l < "$T/api")" -ge 20 ] && ok "$(wc -l < "$T/api") OAB_API declarations in the headers" ||
	bad "too few OAB_API declarations found: $(cat "$T/api")"
exports() { nm -D --defined-only "$1" | awk '$2 != "A" { print $3 }'; }
exports "$B/libotabundle.so" > "$T/so.v"
sed 's/@.*//' "$T/so.v" | sort -u > "$T/so"
if cmp -s "$T/api" "$T/so"; then
	ok "libotabundle.so exports exactly the OAB_API functions"
else
	bad "libotabundle.so exports differ from the OAB_API declarations (< headers, > exported):"
	diff "$T/api" "$T/so" | grep '^[<>]' | head -20
fi
n=$(grep -vc '@@OTABUNDLE_0\.1$' "$T/so.v" || true)
[ "$n" -eq 0 ] && ok "every export is versioned OTABUNDLE_0.1" ||
	bad "$n exports without version OTABUNDLE_0.1: $(grep -v '@@OTABUNDLE_0\.1$' "$T/so.v" | head -5)"

exports "$B/libotabundle-verify.so" | sed 's/@.*//' | sort -u > "$T/vso"
extra=$(comm -13 "$T/api" "$T/vso")
[ -z "$extra" ] && ok "libotabundle-verify.so exports only OAB_API functions" ||
	bad "libotabundle-verify.so exports non-API names: $extra"
for f in oab_verify oab_extract oab_trust_new oab_report_free oab_err_set; do
	grep -qx "$f" "$T/vso" && ok "libotabundle-verify.so has $f" || bad "libotabundle-verify.so lacks $f"
done
for f in oab_build oab_sign oab_manifest_emit; do
	grep -qx "$f" "$T/vso" && bad "libotabundle-verify.so holds the build side ($f)" ||
		ok "libotabundle-verify.so has no $f"
done
# What the verify side must not need: libp11 and the OpenSSL engine
# interface, the YAML emitter, the zstd compressor.
forbidden='^(PKCS11_|ENGINE_|yaml_emitter_|ZSTD_compress|ZSTD_c_|ZSTD_CCtx|ZSTD_createCCtx|ZSTD_freeCCtx|ZSTD_estimateCCtx|ZSTD_getCParams|ZSTD_initCStream|ZSTD_endStream|ZSTD_flushStream)'
for f in libotabundle-verify.so libotabundle-verify.a; do
	nm -u "$B/$f" 2>/dev/null | awk 'NF { print $NF }' | sed 's/@.*//' | sort -u > "$T/undef"
	[ -s "$T/undef" ] && ok "$f: $(wc -l < "$T/undef") undefined symbols read" || bad "$f: nm -u read nothing"
	hits=$(grep -E "$forbidden" "$T/undef" | tr '\n' ' ')
	[ -z "$hits" ] && ok "$f needs no libp11, engine, YAML emitter or zstd compressor symbol" ||
		bad "$f needs build-side symbols: $hits"
done
# The same pattern does catch the full library (the check can fail).
nm -u "$B/libotabundle.so" | awk '{ print $NF }' | grep -Eq "$forbidden" &&
	ok "the pattern finds libp11/emitter/compressor symbols in libotabundle.so" ||
	bad "the forbidden pattern matches nothing in libotabundle.so"
readelf -d "$B/libotabundle-verify.so" > "$T/dyn"
grep -q 'NEEDED' "$T/dyn" && ok "readelf lists NEEDED entries" || bad "readelf -d shows no NEEDED"
grep -E 'NEEDED.*(libp11|jansson)' "$T/dyn" && bad "libotabundle-verify.so needs libp11 or jansson" ||
	ok "libotabundle-verify.so needs no libp11 or jansson"
finish
