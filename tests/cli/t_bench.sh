# SPDX-License-Identifier: Apache-2.0
# The bench's own tools on a small scale: bench/mkpair.sh makes the same
# release pair for the same seed (and a valid ext4 pair that differs), and
# bench/delta.sh runs its rows on a 64 MiB pair, every decoded image equal to
# NEW; otabundle's delta rows are n/a exactly when `build --base` is missing.
. "$(dirname "$0")/lib.sh"
B=$OAB_ROOT/bench
need() {
	for t in "$@"; do
		command -v "$t" >/dev/null && continue
		if [ -n "${CI:-}" ]; then bad "$t is not installed (scripts/deps.sh installs it)"; else skip "$t is not installed"; fi
		return 1
	done
}
if ! need python3 mke2fs debugfs dumpe2fs e2fsck xdelta3 zstd /usr/bin/time; then finish; fi

# mkpair: deterministic, a real update, both images clean file systems.
if bash "$B/mkpair.sh" 64 "$T/o1" "$T/n1" 7 > "$T/sum1" 2> "$T/err1"; then
	ok "mkpair.sh 64 MiB, seed 7: $(cat "$T/sum1")"
else
	bad "mkpair.sh failed: $(tail -3 "$T/err1")"
fi
grep -Eq '^ext4 64 MiB pair, seed 7: [0-9]+ files, .* [1-9][0-9]* rebuilt .* [1-9][0-9]* removed .* [1-9][0-9]* added' "$T/sum1" &&
	ok "the summary names rebuilt, removed and added files" || bad "summary: $(cat "$T/sum1")"
bash "$B/mkpair.sh" 64 "$T/o2" "$T/n2" 7 > /dev/null 2>&1
cmp -s "$T/o1" "$T/o2" && cmp -s "$T/n1" "$T/n2" && ok "the same seed gives the same pair, byte for byte" ||
	bad "two runs with seed 7 differ"
bash "$B/mkpair.sh" 64 "$T/o3" "$T/n3" 8 > /dev/null 2>&1
cmp -s "$T/o1" "$T/o3" && ok "another seed keeps OLD" || bad "OLD depends on the seed"
cmp -s "$T/n1" "$T/n3" && bad "seeds 7 and 8 give the same NEW" || ok "another seed gives another NEW"
cmp -s "$T/o1" "$T/n1" && bad "NEW is OLD" || ok "NEW differs from OLD"
for f in o1 n1; do
	e2fsck -fn "$T/$f" > "$T/fsck" 2>&1 && ok "$f is a clean ext4" || bad "e2fsck $f: $(tail -3 "$T/fsck")"
done
# A delta must be small against the whole image, yet not trivial: the
# update adds new content and moves files (at 64 MiB most files start at
# another block in NEW; measured with debugfs bmap, not checked here).
xdelta3 -9 -e -f -s "$T/o1" "$T/n1" "$T/d" && xdelta3 -d -f -s "$T/o1" "$T/d" "$T/n1x" &&
	cmp -s "$T/n1" "$T/n1x" && ok "xdelta3 round trip: $(stat -c %s "$T/d") bytes" || bad "xdelta3 round trip failed"
full=$(zstd -q -3 -c "$T/n1" | wc -c)
d=$(stat -c %s "$T/d")
[ "$d" -gt 10000 ] && [ $((d * 20)) -lt "$full" ] && ok "the update is small but real: delta $d of $full bytes" ||
	bad "delta $d bytes against $full for the whole image"
rm -f "$T"/o2 "$T"/n2 "$T"/o3 "$T"/n3 "$T"/n1x

# delta.sh at 64 MiB, zstd -3 only, no bsdiff.
BENCH_DELTA_SIZES=64 BENCH_DELTA_ZSTD=3 BENCH_BSDIFF_MAX_MIB=0 BENCH_PKI=$PKI \
	bash "$B/delta.sh" "$O" "$T/work" > "$T/delta.md" 2> "$T/delta.err"
rc=$?
[ $rc -eq 0 ] && ok "delta.sh exits 0" || { bad "delta.sh: exit $rc"; sed 's/^/    /' "$T/delta.err" | tail -8; }
grep -Eq '^\| xdelta3 -9 .* \| [0-9.]+ \| [0-9.]+ % \| [0-9.]+ \| [0-9]+ \| [0-9.]+ \| [0-9]+ \|$' "$T/delta.md" &&
	ok "xdelta3 row with size, times and RSS" || bad "no xdelta3 row: $(grep xdelta3 "$T/delta.md")"
grep -Eq '^\| zstd --patch-from=OLD --long=26 -3 \| [0-9.]+ \|' "$T/delta.md" && ok "zstd --patch-from row" ||
	bad "no zstd row"
grep -q '^| bsdiff .*skipped: above BENCH_BSDIFF_MAX_MIB=0' "$T/delta.md" && ok "bsdiff skipped with its reason" ||
	bad "bsdiff row: $(grep bsdiff "$T/delta.md")"
if "$O" build --help 2>&1 | grep -q -- '--base'; then
	grep -Eq '^\| otabundle build --base .* \| [0-9.]+ \| [0-9.]+ % \| [0-9.]+ \|' "$T/delta.md" &&
		ok "otabundle delta row (its image decoded equal to NEW)" || bad "otabundle row: $(grep 'otabundle build --base' "$T/delta.md")"
	[ "$(grep -Ec '^- (PASS|FAIL) ' "$T/delta.md")" -eq 5 ] && ok "five targets judged" || bad "targets: $(grep '^- ' "$T/delta.md")"
else
	grep -q '^| otabundle build --base .* n/a (command not available)' "$T/delta.md" &&
		ok "no build --base: the otabundle row is n/a" || bad "otabundle row: $(grep 'otabundle build --base' "$T/delta.md")"
	[ "$(grep -c '^- n/a ' "$T/delta.md")" -eq 5 ] && ok "its five targets are n/a" || bad "targets: $(grep '^- ' "$T/delta.md")"
fi

# Usage errors are exit 2 before any work.
for v in "BENCH_DELTA_SIZES=abc" "BENCH_DELTA_SIZES=32" "BENCH_DELTA_RUNS=0" "BENCH_DELTA_ZSTD=x"; do
	env "$v" bash "$B/delta.sh" "$O" "$T/w2" > /dev/null 2>&1
	rc=$?
	[ $rc -eq 2 ] && ok "delta.sh with $v: exit 2" || bad "delta.sh with $v: exit $rc"
done
BENCH_SIZE_MIB=abc bash "$B/run.sh" "$O" > /dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && ok "run.sh with BENCH_SIZE_MIB=abc: exit 2" || bad "run.sh with BENCH_SIZE_MIB=abc: exit $rc"
finish
