#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# mkrootfs.sh SIZE_MIB IMAGE STAGE [FILL_PCT] - make a realistic ext4 rootfs
# image of SIZE_MIB MiB, about FILL_PCT % full (default 70), from system files.
#
# Linear time: one `find` over the source folders, one awk pass choosing
# files (balanced by bytes across the sources), one tar copy per round into
# STAGE/0, STAGE/1, ... (a round only starts again from the beginning of the
# file list when the system files are exhausted, so any size works), then
# `mke2fs -t ext4 -d STAGE` on an image already sized to SIZE_MIB.
# STAGE is removed at the end. Prints a one-line summary on stdout.
# With MKROOTFS_STAGE_ONLY=1 it stops after filling STAGE (kept, image left
# empty) and prints the number of entries instead (bench/mkpair.sh).
set -euo pipefail
size_mib=$1 img=$2 stage=$3 pct=${4:-70}
SOURCES=${BENCH_SOURCES:-"/usr/bin /usr/sbin /usr/lib /usr/libexec /usr/share /usr/include"}
BS=4096

rm -rf "$stage"
mkdir -p "$stage"
lists=$stage.lists
rm -rf "$lists"
mkdir -p "$lists"

# Metadata of an empty ext4 of this size (journal, inode tables, bitmaps,
# group descriptors): the files fill the rest up to pct %.
truncate -s 0 "$img"
truncate -s "${size_mib}M" "$img"
mke2fs -q -F -t ext4 -b 4096 "$img" >/dev/null
blocks=$(dumpe2fs -h "$img" 2>/dev/null | awk -F: '/^Block count/{print $2+0}')
free=$(dumpe2fs -h "$img" 2>/dev/null | awk -F: '/^Free blocks/{print $2+0}')
inodes=$(dumpe2fs -h "$img" 2>/dev/null | awk -F: '/^Inode count/{print $2+0}')
meta=$(( (blocks - free) * BS ))
target=$(( blocks * BS * pct / 100 - meta ))
[ "$target" -gt 0 ] || { echo "mkrootfs: image too small" >&2; exit 1; }

# One list per source: SIZE TYPE PATH (relative to /).
i=0
for s in $SOURCES; do
	[ -d "$s" ] || continue
	find "$s" -xdev \( -type f -o -type l \) -printf '%s\t%y\t%p\n' 2>/dev/null |
		sed 's|\t/|\t|' > "$lists/src.$i" || true
	i=$((i + 1))
done
nsrc=$i

# Choose files: next file from the source with the fewest bytes taken so far;
# when every source is exhausted, start a new round (a new numbered subfolder).
# Accounting: data rounded up to 4 KiB blocks, fast symlinks free, one block
# per new directory; a big file that would overshoot is skipped.
# Output: ROUND<TAB>PATH lines in pick, the entry count in entries.
awk -F'\t' -v nsrc="$nsrc" -v target="$target" -v bs="$BS" -v dir="$lists" '
function take(k,   sz, ty, p, d, cost) {
	sz = S[k, idx[k]]; ty = T[k, idx[k]]; p = P[k, idx[k]]; idx[k]++
	if (ty == "f") cost = int((sz + bs - 1) / bs) * bs
	else cost = (sz < 60) ? 0 : bs
	# A big file that would overshoot the target is skipped (not counted).
	if (cost > 4 * bs && used + cost > target * 1.01) return
	took++
	d = p; sub(/\/[^\/]*$/, "", d)
	while (d != "" && !((round, d) in seen)) {
		seen[round, d] = 1; cost += bs; entries++
		if (d !~ /\//) break
		sub(/\/[^\/]*$/, "", d)
	}
	used += cost; taken[k] += cost; entries++
	print round "\t" p > (dir "/pick")
}
BEGIN {
	for (k = 0; k < nsrc; k++) {
		n[k] = 0; f = dir "/src." k
		while ((getline line < f) > 0) {
			split(line, a, "\t"); n[k]++
			S[k, n[k]] = a[1]; T[k, n[k]] = a[2]; P[k, n[k]] = a[3]
		}
		close(f)
		total += n[k]
	}
	if (total == 0) { print "mkrootfs: no source files" > "/dev/stderr"; exit 1 }
	target += 0; round = 0
	for (k = 0; k < nsrc; k++) { idx[k] = 1; taken[k] = 0 }
	while (used < target) {
		best = -1
		for (k = 0; k < nsrc; k++)
			if (idx[k] <= n[k] && (best < 0 || taken[k] < taken[best])) best = k
		if (best < 0) {
			if (!took) { print "mkrootfs: cannot reach the target size" > "/dev/stderr"; exit 1 }
			took = 0; round++
			for (k = 0; k < nsrc; k++) { idx[k] = 1; taken[k] = 0 }
			continue
		}
		take(best)
	}
	print entries > (dir "/entries")
}' /dev/null

entries=$(cat "$lists/entries")
rounds=$(awk -F'\t' '{print $1}' "$lists/pick" | sort -un)
for r in $rounds; do
	mkdir -p "$stage/$r"
	awk -F'\t' -v r="$r" '$1 == r {print $2}' "$lists/pick" > "$lists/round.$r"
	tar -C / --no-recursion -cf - -T "$lists/round.$r" | tar -C "$stage/$r" -xf -
done
rm -rf "$lists"
if [ "${MKROOTFS_STAGE_ONLY:-0}" = 1 ]; then echo "$entries"; exit 0; fi

# Enough inodes: the default ratio may not cover many small files.
nopt=""
need=$(( entries + entries / 4 + 1024 ))
[ "$need" -le "$inodes" ] || nopt="-N $need"
truncate -s 0 "$img"
truncate -s "${size_mib}M" "$img"
# shellcheck disable=SC2086
mke2fs -q -F -t ext4 -b 4096 $nopt -L rootfs -d "$stage" "$img" >/dev/null
rm -rf "$stage"

blocks=$(dumpe2fs -h "$img" 2>/dev/null | awk -F: '/^Block count/{print $2+0}')
free=$(dumpe2fs -h "$img" 2>/dev/null | awk -F: '/^Free blocks/{print $2+0}')
echo "ext4 ${size_mib} MiB, $((entries)) entries in $(echo "$rounds" | wc -l) round(s), $(( (blocks - free) * 100 / blocks ))% of blocks used ($(( (blocks - free) * BS / 1048576 )) MiB)"
