#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# delta.sh OTABUNDLE [WORK] - the delta section of the bench: otabundle delta
# bundles against xdelta3, zstd --patch-from and bsdiff on realistic release
# pairs (bench/mkpair.sh), printed as Markdown on stdout.
#
# Environment:
#   BENCH_DELTA_SIZES    image sizes in MiB (default "256 1024")
#   BENCH_DELTA_RUNS     timed runs of each command (default 1; medians)
#   BENCH_DELTA_ZSTD     zstd --patch-from levels (default "3 19")
#   BENCH_DELTA_SLOW     1 to run zstd -19 --patch-from above 256 MiB too
#                        (default 0: at 1 GiB an estimated ~6 min and ~4 GiB of RSS,
#                        from 83-103 s and 965 MiB at 256 MiB)
#   BENCH_BSDIFF_MAX_MIB largest image bsdiff runs on (default 256; it
#                        needs ~9x the old image in RAM: 2.3 GB and 4.4 min at 256 MiB here)
#   BENCH_PAIR_SEED      seed of the release pairs (default 1)
#   BENCH_PKI            a scripts/mkpki.sh folder to sign with (default: made in WORK)
#   BENCH_DIR, BENCH_KEEP as for run.sh (WORK, if given, is used and kept)
#
# Rows whose otabundle command is missing (no `build --base`) print
# "n/a (command not available)", and so do their targets. Every decoded
# image is compared with NEW byte for byte. Exit status: 0 even when targets
# FAIL; 1 if a command fails or decodes a wrong image.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
export LC_ALL=C

[ $# -ge 1 ] || { echo "usage: delta.sh PATH/TO/otabundle [WORK]" >&2; exit 2; }
OTAB=$(realpath "$1")
[ -x "$OTAB" ] || { echo "delta: $1 is not an executable" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
SIZES=${BENCH_DELTA_SIZES:-256 1024}
RUNS=${BENCH_DELTA_RUNS:-1}
SLOW=${BENCH_DELTA_SLOW:-0}
ZLEVELS=${BENCH_DELTA_ZSTD:-3 19}
BSDIFF_MAX=${BENCH_BSDIFF_MAX_MIB:-256}
SEED=${BENCH_PAIR_SEED:-1}
for s in $SIZES; do
	case $s in '' | *[!0-9]*) echo "delta: BENCH_DELTA_SIZES must be integers" >&2; exit 2 ;; esac
	[ "$s" -ge 64 ] || { echo "delta: sizes must be >= 64 MiB" >&2; exit 2; }
done
case $RUNS in '' | *[!0-9]* | 0) echo "delta: BENCH_DELTA_RUNS must be an integer >= 1" >&2; exit 2 ;; esac
for l in $ZLEVELS; do
	case $l in '' | *[!0-9]*) echo "delta: BENCH_DELTA_ZSTD must be zstd levels" >&2; exit 2 ;; esac
done
case $BSDIFF_MAX in '' | *[!0-9]*) echo "delta: BENCH_BSDIFF_MAX_MIB must be an integer" >&2; exit 2 ;; esac

say() { printf '%s\n' "$*" >&2; }
now() { printf '%s' "${EPOCHREALTIME:-$(date +%s.%N)}"; }
[ -x /usr/bin/time ] || { say "delta: /usr/bin/time (package 'time') is required"; exit 1; }
for t in zstd xdelta3 python3 mke2fs debugfs dumpe2fs tar cmp awk; do
	command -v "$t" >/dev/null || { say "delta: '$t' is required"; exit 1; }
done

if [ $# -ge 2 ]; then
	work=$2
	mkdir -p "$work"
else
	mkdir -p "${BENCH_DIR:-/var/tmp}"
	work=$(mktemp -d "${BENCH_DIR:-/var/tmp}/otabundle-delta.XXXXXX")
	cleanup() { [ "${BENCH_KEEP:-0}" = 1 ] && say "delta: kept $work" || rm -rf "$work"; }
	trap cleanup EXIT
fi
trap 'exit 130' INT TERM
cd "$work"
mkdir -p log
if [ -n "${BENCH_PKI:-}" ]; then
	pki=$(realpath "$BENCH_PKI")
else
	pki=$work/pki
	[ -s "$pki/ca.pem" ] || sh "$root/scripts/mkpki.sh" "$pki" > log/pki 2>&1
fi
SIGN=(--key "$pki/signer.key" --cert "$pki/signer.pem" --chain "$pki/chain.pem")

have_delta=0
"$OTAB" build --help 2>&1 | grep -q -- '--base' && have_delta=1
have_bsdiff=0
command -v bsdiff >/dev/null && command -v bspatch >/dev/null && have_bsdiff=1

mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1000000 }'; }
mibs() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
fsize() { stat -c %s "$1"; }
# Sum of the sizes of the payloads/ members of a bundle (a tar).
members() { tar -tvf "$1" | awk '$NF ~ /^payloads\// { s += $3 } END { print s + 0 }'; }

# measure ID CMD...: runs CMD RUNS times after a sync; W[ID] = median wall s,
# R[ID] = peak RSS KiB over the runs (/usr/bin/time %M: for a pipeline the
# largest process). Returns the command's exit status.
declare -A W R
measure() {
	local id=$1 i t0 t1 rc
	shift
	: > "log/$id.walls"
	R[$id]=0
	for ((i = 0; i < RUNS; i++)); do
		sync
		t0=$(now)
		rc=0
		/usr/bin/time -f '%M' -o "log/$id.time" "$@" > "log/$id.out" 2> "log/$id.err" || rc=$?
		t1=$(now)
		if [ $rc -ne 0 ]; then
			say "delta: $id failed (exit $rc):"
			tail -5 "log/$id.err" >&2
			return $rc
		fi
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >> "log/$id.walls"
		local m
		m=$(tail -1 "log/$id.time")
		[ "$m" -le "${R[$id]}" ] || R[$id]=$m
	done
	W[$id]=$(sort -g "log/$id.walls" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
}
same() { # DECODED: compares with new.ext4; prints nothing when equal
	cmp -s "$1" new.ext4 || { say "delta: $1 differs from the new image"; return 1; }
}

manifest() { # OUT SOURCE
	printf 'format: 1\nbundle:\n  name: bench-delta\n  version: "1.0.0"\n  security-version: 1\n  compatible: [bench-device]\n' > "$1"
	printf 'payloads:\n  - name: rootfs\n    type: image\n    source: %s\n    compression: zstd:3\n' "$2" >> "$1"
}

status=0
echo
echo "## Delta bundles"
echo
echo "Release pairs from bench/mkpair.sh (seed $SEED); $RUNS run(s) per command (median wall time, peak RSS over the runs); every decoded image is compared with NEW."
[ $have_delta = 1 ] || echo "otabundle: \`build --base\` not available in $OTAB: its rows are n/a (command not available)."
for size in $SIZES; do
	rm -f ./*.ext4 ./*.oab ./*.xd ./*.zst ./*.bsd ./dec
	rm -rf x
	say "delta: making the $size MiB pair"
	pair=$(bash "$here/mkpair.sh" "$size" old.ext4 new.ext4 "$SEED")
	manifest old.yaml old.ext4
	manifest new.yaml new.ext4
	"$OTAB" build -q -o old.oab "${SIGN[@]}" old.yaml || { say "delta: building the old bundle failed"; exit 1; }
	wlog=$(awk -v s="$(fsize new.ext4)" 'BEGIN { w = 10; while (2 ^ w < s) w++; print w }')

	# Sizes, times, RSS of each method: S (bytes), W/R for ID_enc and ID_dec.
	declare -A S=() NOTE=()
	say "delta: $size MiB: full bundle"
	measure full_enc "$OTAB" build -q -o full.oab "${SIGN[@]}" new.yaml || { status=1; NOTE[full]="FAILED"; }
	[ -n "${NOTE[full]:-}" ] || S[full]=$(fsize full.oab)
	say "delta: $size MiB: xdelta3 -9"
	if measure xd_enc xdelta3 -9 -f -e -s old.ext4 new.ext4 d.xd &&
		measure xd_dec xdelta3 -f -d -s old.ext4 d.xd dec && same dec; then
		S[xd]=$(fsize d.xd)
	else
		status=1; NOTE[xd]="FAILED"
	fi
	rm -f dec
	for lvl in $ZLEVELS; do
		id=zs$lvl
		if [ "$lvl" -ge 19 ] && [ "$size" -gt 256 ] && [ "$SLOW" != 1 ]; then
			NOTE[$id]="skipped: an estimated ~6 min and ~4 GiB of RSS at 1 GiB (BENCH_DELTA_SLOW=1 runs it)"
			continue
		fi
		# Its window covers the whole image: ~3.1x the image to encode
		# at -3, ~3.8x at -19 (measured at 256 MiB and 1 GiB).
		avail=$(awk '/^MemAvailable/ { printf "%d", $2 / 1024 }' /proc/meminfo)
		if [ $((size * 4 + 512)) -gt "$avail" ]; then
			NOTE[$id]="skipped: needs ~$((size * 4)) MiB of RAM, $avail MiB available"
			continue
		fi
		say "delta: $size MiB: zstd --patch-from -$lvl"
		if measure ${id}_enc zstd -q -f --patch-from=old.ext4 --long="$wlog" -"$lvl" new.ext4 -o d.zst &&
			measure ${id}_dec zstd -q -d -f --patch-from=old.ext4 --long="$wlog" d.zst -o dec && same dec; then
			S[$id]=$(fsize d.zst)
		else
			status=1; NOTE[$id]="FAILED"
		fi
		rm -f dec d.zst
	done
	avail=$(awk '/^MemAvailable/ { printf "%d", $2 / 1024 }' /proc/meminfo)
	if [ $have_bsdiff = 0 ]; then
		NOTE[bs]="skipped: bsdiff not installed"
	elif [ "$size" -gt "$BSDIFF_MAX" ]; then
		NOTE[bs]="skipped: above BENCH_BSDIFF_MAX_MIB=$BSDIFF_MAX (bsdiff needs ~9x the old image in RAM, $((size * 9)) MiB, and minutes: 4.4 min at 256 MiB)"
	elif [ $((size * 10 + 512)) -gt "$avail" ]; then
		NOTE[bs]="skipped: needs ~$((size * 10)) MiB of RAM, $avail MiB available"
	else
		say "delta: $size MiB: bsdiff"
		if measure bs_enc bsdiff old.ext4 new.ext4 d.bsd &&
			measure bs_dec bspatch old.ext4 dec d.bsd && same dec; then
			S[bs]=$(fsize d.bsd)
		else
			status=1; NOTE[bs]="FAILED"
		fi
		rm -f dec
	fi
	if [ $have_delta = 1 ]; then
		say "delta: $size MiB: otabundle delta"
		if measure ob_enc "$OTAB" build -q --base old.oab --ca "$pki/ca.pem" -o delta.oab "${SIGN[@]}" new.yaml &&
			mkdir -p x && measure ob_dec "$OTAB" extract -q --ca "$pki/ca.pem" --base rootfs=old.ext4 -C x delta.oab &&
			same x/rootfs; then
			S[ob]=$(members delta.oab)
			S[ob_bundle]=$(fsize delta.oab)
		else
			status=1; NOTE[ob]="FAILED"
		fi
	else
		NOTE[ob]="n/a (command not available)"
	fi

	full=${S[full]:-0}
	pct() { awk -v a="$1" -v b="$full" 'BEGIN { if (b > 0) printf "%.2f %%", 100 * a / b; else print "-" }'; }
	row() { # ID LABEL
		local id=$1
		if [ -n "${NOTE[$id]:-}" ]; then
			printf '| %s | %s | | | | | |\n' "$2" "${NOTE[$id]}"
		else
			printf '| %s | %s | %s | %.2f | %s | %.2f | %s |\n' "$2" "$(mb "${S[$id]}")" "$(pct "${S[$id]}")" \
				"${W[${id}_enc]}" "$(mibs "${R[${id}_enc]}")" "${W[${id}_dec]}" "$(mibs "${R[${id}_dec]}")"
		fi
	}
	echo
	echo "### $size MiB pair"
	echo
	echo "$pair. zstd -3 of NEW alone: $(mb "$(zstd -q -T0 -3 -c new.ext4 | wc -c)") MB."
	echo
	echo "| method | size MB | of full bundle | encode s | encode RSS MiB | decode s | decode RSS MiB |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	if [ -n "${NOTE[full]:-}" ]; then
		echo "| otabundle full bundle (zstd:3, signed) | ${NOTE[full]} | | | | | |"
	else
		printf '| otabundle full bundle (zstd:3, signed) | %s | 100 %% | %.2f | %s | | |\n' "$(mb "$full")" "${W[full_enc]}" "$(mibs "${R[full_enc]}")"
	fi
	row xd "xdelta3 -9 -e -s OLD (decode: xdelta3 -d)"
	for lvl in $ZLEVELS; do row "zs$lvl" "zstd --patch-from=OLD --long=$wlog -$lvl"; done
	row bs "bsdiff (decode: bspatch)"
	row ob "otabundle build --base OLD.oab (decode: extract --base; size: delta members)"
	[ -z "${S[ob_bundle]:-}" ] || echo "(otabundle delta bundle as a whole: $(mb "${S[ob_bundle]}") MB.)"
	echo
	echo "Targets ($size MiB):"
	target() { # NAME VALUE LIMIT UNIT: PASS if VALUE <= LIMIT
		local ok
		ok=$(awk -v v="$2" -v l="$3" 'BEGIN { print (v <= l) ? "PASS" : "FAIL" }')
		printf -- '- %s %s: %s%s (limit %s%s)\n' "$ok" "$1" "$2" "$4" "$3" "$4"
	}
	ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
	t1="delta member size ≤ 1.10× xdelta3 -9" t2="delta member size ≤ 5 % of the full bundle"
	t3="apply peak RSS ≤ 64 MiB" t4="apply time (hash checks included) ≤ 1.5× xdelta3 -d"
	t5="delta build time ≤ 2× xdelta3 -e -9"
	if [ "${NOTE[ob]:-}" = FAILED ]; then
		for t in "$t1" "$t2" "$t3" "$t4" "$t5"; do printf -- '- FAIL %s: the otabundle command failed\n' "$t"; done
	elif [ -n "${NOTE[ob]:-}" ] || [ -n "${NOTE[xd]:-}" ] || [ -n "${NOTE[full]:-}" ]; then
		why=${NOTE[ob]:-${NOTE[xd]:-${NOTE[full]}}}
		for t in "$t1" "$t2" "$t3" "$t4" "$t5"; do printf -- '- n/a %s: %s\n' "$t" "$why"; done
	else
		target "$t1" "$(ratio "${S[ob]}" "${S[xd]}")" 1.10 "×"
		target "$t2" "$(awk -v a="${S[ob]}" -v b="$full" 'BEGIN { printf "%.2f", 100 * a / b }')" 5 " %"
		target "$t3" "$(awk -v k="${R[ob_dec]}" 'BEGIN { printf "%.1f", k / 1024 }')" 64 " MiB"
		target "$t4" "$(ratio "${W[ob_dec]}" "${W[xd_dec]}")" 1.5 "×"
		target "$t5" "$(ratio "${W[ob_enc]}" "${W[xd_enc]}")" 2.00 "×"
	fi
	unset S NOTE
done
rm -f ./*.ext4 ./*.oab ./*.xd ./*.zst ./*.bsd ./dec
rm -rf x
exit $status
