#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# mkpair.sh SIZE_MIB OLD NEW [SEED] - make a realistic release pair of ext4
# rootfs images of SIZE_MIB MiB each: OLD, and NEW after a simulated update.
#
# OLD is made like the bench's rootfs (bench/mkrootfs.sh: system files, 70 %
# full, mke2fs -d). NEW is the same tree after an update chosen by SEED
# (default 1; the same seed on the same machine gives the same pair, byte
# for byte):
#   - files making up BENCH_PAIR_PCT % of the bytes (default 4) are rebuilt:
#     5-45 % of each rewritten in 1-4 regions (changed functions) and 1-8
#     bytes changed every ~2 KiB elsewhere (addresses, build id); a quarter
#     of them also grow by 1-10 % (new code in the middle), a tenth shrink;
#   - files making up PCT/8 % of the bytes are removed and as many bytes
#     added, so mke2fs lays out later files elsewhere.
# New content is a byte-wise XOR of other content: as compressible as real
# files, found nowhere in OLD.
# Times are fixed as with SOURCE_DATE_EPOCH: every inode of OLD has atime,
# ctime, mtime and crtime = epoch 1 (E1); in NEW the rebuilt and added files
# have E2 = E1 + 1 day, the rest E1; the file systems share a fixed UUID and
# hash seed (OLD is the same for every SEED) and carry E1 / E2 as their
# creation times.
# Prints a one-line summary on stdout. Needs python3, mke2fs, debugfs.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: mkpair.sh SIZE_MIB OLD NEW [SEED]" >&2; exit 2; }
size_mib=$1 old=$2 new=$3 seed=${4:-1}
pct=${BENCH_PAIR_PCT:-4}
here=$(cd "$(dirname "$0")" && pwd)
case $seed in '' | *[!0-9]*) echo "mkpair: SEED must be an integer" >&2; exit 2 ;; esac
case $pct in '' | *[!0-9.]*) echo "mkpair: BENCH_PAIR_PCT must be a number" >&2; exit 2 ;; esac
E1=1767225600 # 2026-01-01 00:00:00 UTC
E2=$((E1 + 86400))
uuid=6f746162-756e-4465-8c65-62656e636831 # fixed: OLD does not depend on SEED

stage=$(mktemp -d "$(dirname "$new")/mkpair.XXXXXX")
trap 'rm -rf "$stage"' EXIT
entries=$(MKROOTFS_STAGE_ONLY=1 bash "$here/mkrootfs.sh" "$size_mib" "$old" "$stage/t")
# Room for the added files; the same inode count in both images.
ninodes=$((entries + entries / 4 + 1024))

# settime IMAGE EPOCH [PATHLIST EPOCH2]: atime, ctime, crtime of every inode
# in use = EPOCH (mke2fs -d copies them from the stage, where reading and
# touching changed them), then those of the files in PATHLIST = EPOCH2.
settime() {
	local img=$1 e=$2 ft=${4:-$2}
	dumpe2fs "$img" 2>/dev/null | awk -v e="$e" '
		/^Inodes per group:/ { ipg = $4 }
		/^Group [0-9]+:/ { g = $2 + 0; sub(/:/, "", g) }
		/^  Free inodes:/ {
			delete free
			s = $0; sub(/^  Free inodes: */, "", s); n = split(s, r, /, */)
			for (i = 1; i <= n; i++) {
				if (r[i] == "") continue
				if (split(r[i], ab, "-") == 1) ab[2] = ab[1]
				for (j = ab[1]; j <= ab[2]; j++) free[j] = 1
			}
			for (j = g * ipg + 1; j <= (g + 1) * ipg; j++)
				if (!(j in free) && (j == 2 || j >= 11))
					for (f = 1; f <= 3; f++)
						printf "sif <%d> %s @%d\n", j, (f == 1 ? "atime" : f == 2 ? "ctime" : "crtime"), e
		}' > "$stage/cmds"
	if [ $# -ge 4 ]; then
		awk -v e="$4" '{ for (f = 1; f <= 3; f++) printf "sif \"/%s\" %s @%d\n", $0, (f == 1 ? "atime" : f == 2 ? "ctime" : "crtime"), e }' "$3" >> "$stage/cmds"
	fi
	E2FSPROGS_FAKE_TIME=$ft debugfs -w -f "$stage/cmds" "$img" >/dev/null 2>"$stage/err"
	if grep -v '^debugfs [0-9]' "$stage/err" | grep -q .; then
		echo "mkpair: debugfs could not set the times:" >&2
		head -5 "$stage/err" >&2
		exit 1
	fi
}
mkimage() { # IMAGE EPOCH
	truncate -s 0 "$1"
	truncate -s "${size_mib}M" "$1"
	E2FSPROGS_FAKE_TIME=$2 mke2fs -q -F -t ext4 -b 4096 -N "$ninodes" -L rootfs \
		-U "$uuid" -E "hash_seed=$uuid" -d "$stage/t" "$1" >/dev/null
}

find "$stage/t" -exec touch -h -d "@$E1" {} +
mkimage "$old" "$E1"
settime "$old" "$E1"

# The update. Deterministic: sorted file list, Python's seeded Mersenne
# Twister. Writes the changed and added paths (relative to the stage) to
# $stage/changed and a summary to stdout.
summary=$(python3 - "$stage/t" "$seed" "$pct" "$stage/changed" <<'EOF'
import os, random, sys
root, seed, pct, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
rng = random.Random(seed)
files = []
for d, dirs, names in os.walk(root):
    dirs.sort()
    for n in sorted(names):
        p = os.path.join(d, n)
        if os.path.isfile(p) and not os.path.islink(p):
            files.append(os.path.relpath(p, root))
n = len(files)
size = {f: os.path.getsize(os.path.join(root, f)) for f in files}
total = sum(size.values())
order = list(range(n))
rng.shuffle(order)
def take(want):  # files from the shuffled list until want bytes
    got, out, skipped = 0, [], []
    while order and got < want:
        i = order.pop()
        if got + size[files[i]] > want * 1.1:  # no big overshoot
            skipped.append(i)
            continue
        out.append(i)
        got += size[files[i]]
    order.extend(reversed(skipped))
    return out
rebuilt = take(total * pct / 100)
removed = take(total * pct / 800)
k_re, k_rm = len(rebuilt), len(removed)

def fresh(data, key):  # as compressible as data, found nowhere in OLD
    return bytes(b ^ key for b in data)

changed, grown, shrunk, bytes_re, bytes_add = [], 0, 0, 0, 0
for i in sorted(rebuilt):
    p = os.path.join(root, files[i])
    with open(p, 'rb') as f:
        data = bytearray(f.read())
    bytes_re += len(data)
    # Rewritten functions: 1-4 regions, 5-45 % of the file in all, new
    # content; elsewhere a few bytes changed every ~2 KiB (addresses).
    regions = rng.randint(1, 4)
    share = rng.uniform(0.05, 0.45) / regions
    for _ in range(regions):
        k = int(len(data) * share)
        if k:
            at = rng.randrange(len(data) - k + 1)
            data[at:at + k] = fresh(data[at:at + k], 0xA5)
    pos = rng.randrange(0, 2048)
    while pos < len(data):
        run = rng.randint(1, 8)
        data[pos:pos + run] = bytes(rng.getrandbits(8) for _ in range(min(run, len(data) - pos)))
        pos += rng.randrange(256, 3840)
    r = rng.random()
    if r < 0.25 and len(data) > 0:  # grown: new code in the middle
        at = rng.randrange(len(data))
        k = max(16, int(len(data) * rng.uniform(0.01, 0.10)))
        src = rng.randrange(len(data))
        data[at:at] = fresh(data[src:src + k], 0x3C)
        grown += 1
    elif r < 0.35 and len(data) > 64:  # shrunk
        at = rng.randrange(len(data))
        del data[at:at + max(16, int(len(data) * rng.uniform(0.01, 0.10)))]
        shrunk += 1
    with open(p, 'wb') as f:
        f.write(data)
    changed.append(files[i])

# Added files (as many bytes as removed): next to a random file, the
# transform of another file of up to 256 KiB.
gone = set(removed) | set(rebuilt)
small = [i for i in range(n) if i not in gone and size[files[i]] <= 262144]
k_add = 0
while bytes_add < total * pct / 800:
    src = files[rng.choice(small)]
    where = os.path.dirname(files[rng.choice(small)])
    name = os.path.join(where, 'added-%04d-%s' % (k_add, os.path.basename(src)))
    with open(os.path.join(root, src), 'rb') as f:
        data = fresh(f.read(), 0x5A)
    with open(os.path.join(root, name), 'wb') as f:
        f.write(data)
    bytes_add += len(data)
    changed.append(name)
    k_add += 1

for i in sorted(removed):
    os.unlink(os.path.join(root, files[i]))
with open(out, 'w') as f:
    f.write('\n'.join(changed) + '\n')
print('%d files, %.1f MiB: %d rebuilt (%.1f MiB; %d grown, %d shrunk), %d removed (%.1f MiB), %d added (%.1f MiB)' %
      (n, total / 1048576, k_re, bytes_re / 1048576, grown, shrunk, k_rm,
       sum(size[files[i]] for i in removed) / 1048576, k_add, bytes_add / 1048576))
EOF
)
while IFS= read -r p; do printf '%s/%s\0' "$stage/t" "$p"; done < "$stage/changed" | xargs -0 touch -h -d "@$E2"
find "$stage/t" -type d -exec touch -h -d "@$E1" {} +
mkimage "$new" "$E2"
settime "$new" "$E1" "$stage/changed" "$E2"
echo "ext4 $size_mib MiB pair, seed $seed: $summary"
