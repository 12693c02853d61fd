#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# run.sh OTABUNDLE - benchmark otabundle against the zstd/openssl/tar floor
# and, when installed, mender-artifact and rauc.
#
# Environment:
#   BENCH_SIZE_MIB  rootfs image size in MiB (default 1024; the ext4 is ~70% full)
#   BENCH_RUNS      timed runs of each command (default 5; medians reported)
#   BENCH_DIR       parent of the temporary work folder (default /var/tmp)
#   BENCH_RIVALS    0 to skip mender-artifact/rauc (default 1)
#   BENCH_INSTALL   0 to never apt-get install anything (default 1)
#   BENCH_KEEP      1 to keep the work folder
#   BENCH_MAIN      0 to skip build/verify/extract and their floors (the
#                   rivals still run when the export section needs them)
#   BENCH_EXPORT    0 to skip the export section (otabundle export against
#                   the peers' own builders; needs BENCH_RIVALS=1)
#   BENCH_DELTA     0 to skip the delta section (bench/delta.sh: release
#                   pairs of 256 MiB and 1 GiB, its own BENCH_DELTA_* settings)
#
# Every command runs BENCH_RUNS times, alternating with its floor (the order
# of each group is reversed on even runs), after a `sync`, with warm caches.
# Wall time from bash's EPOCHREALTIME, peak RSS from /usr/bin/time %M (for a
# shell pipeline: the largest single process, not the sum).
# Exit status: 0 even when targets FAIL; non-zero if a command fails.
# `make bench` runs it with sh: re-run under bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
export LC_ALL=C

[ $# -ge 1 ] || { echo "usage: run.sh PATH/TO/otabundle" >&2; exit 2; }
OTAB=$(realpath "$1")
[ -x "$OTAB" ] || { echo "bench: $1 is not an executable" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
SIZE=${BENCH_SIZE_MIB:-1024}
RUNS=${BENCH_RUNS:-5}
BASE=${BENCH_DIR:-/var/tmp}
RIVALS=${BENCH_RIVALS:-1}
INSTALL=${BENCH_INSTALL:-1}
EXPORT=${BENCH_EXPORT:-1}
MAIN=${BENCH_MAIN:-1}
DELTA=${BENCH_DELTA:-1}
case $SIZE in '' | *[!0-9]*) echo "bench: BENCH_SIZE_MIB must be an integer" >&2; exit 2 ;; esac
case $RUNS in '' | *[!0-9]* | 0) echo "bench: BENCH_RUNS must be an integer >= 1" >&2; exit 2 ;; esac
[ "$SIZE" -ge 64 ] || { echo "bench: BENCH_SIZE_MIB must be >= 64" >&2; exit 2; }

say() { printf '%s\n' "$*" >&2; }
now() { printf '%s' "${EPOCHREALTIME:-$(date +%s.%N)}"; }

# ---------------------------------------------------------------- tools
apt_install() { # PKG... ; never fatal
	[ "$INSTALL" = 1 ] || return 1
	command -v apt-get >/dev/null || return 1
	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null && sudo -n true 2>/dev/null || return 1
		sudo="sudo -n"
	fi
	say "bench: installing $*"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 && return 0
	$sudo apt-get update -qq >/dev/null 2>&1 || true
	$sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1
}
[ -x /usr/bin/time ] || apt_install time || true
[ -x /usr/bin/time ] || { say "bench: /usr/bin/time (package 'time') is required"; exit 1; }
for t in zstd openssl tar mke2fs dumpe2fs awk; do
	command -v "$t" >/dev/null || { say "bench: '$t' is required"; exit 1; }
done
if [ "$RIVALS" = 1 ]; then
	command -v mender-artifact >/dev/null || apt_install mender-artifact || true
	{ command -v rauc >/dev/null && command -v mksquashfs >/dev/null; } ||
		apt_install rauc squashfs-tools || true
fi
have_mender=0 have_rauc=0
[ "$RIVALS" = 1 ] && command -v mender-artifact >/dev/null && have_mender=1
[ "$RIVALS" = 1 ] && command -v rauc >/dev/null && command -v mksquashfs >/dev/null && have_rauc=1

# ---------------------------------------------------------------- work folder
mkdir -p "$BASE"
work=$(mktemp -d "$BASE/otabundle-bench.XXXXXX")
cleanup() { [ "${BENCH_KEEP:-0}" = 1 ] && say "bench: kept $work" || rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$work/res" "$work/log" "$work/out" "$work/stored"
cd "$work"

mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
fsize() { stat -c %s "$@" | awk '{ s += $1 } END { print s + 0 }'; }
dsize() { find "$@" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }

# ---------------------------------------------------------------- machine
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
ram=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
fstype=$(df -PT "$work" | awk 'NR == 2 { print $2 }')
echo "# otabundle benchmark"
echo
echo "- machine: $(nproc) CPUs ($cpu), RAM $ram, kernel $(uname -r), work folder on $fstype ($BASE)"
echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the timings)"
awk -v n="$(nproc)" '{ exit !($1 > n / 4) }' /proc/loadavg &&
	echo "- WARNING: the machine is busy before the bench starts: timings will be noisy"
echo "- otabundle: $("$OTAB" --version 2>/dev/null | head -1) ($OTAB)"
echo "- zstd $(zstd -V | sed -n 's/.* v\([0-9.]*\).*/\1/p'), $(openssl version | cut -d' ' -f1-2), $(tar --version | head -1)"
if [ "$RIVALS" = 1 ]; then
	if [ $have_mender = 1 ]; then echo "- $(mender-artifact --version 2>&1 | head -1)"; else echo "- mender-artifact: not installed"; fi
	if [ $have_rauc = 1 ]; then echo "- $(rauc --version 2>&1 | head -1), mksquashfs $(mksquashfs -version 2>&1 | sed -n '1s/.*version \([^ ]*\).*/\1/p')"
	else echo "- rauc: not installed"; fi
fi

# ---------------------------------------------------------------- inputs
t0=$(now)
gen=$(bash "$here/mkrootfs.sh" "$SIZE" "$work/rootfs.ext4" "$work/stage")
small=$(bash "$here/mksmall.sh" "$work")
sh "$root/scripts/mkpki.sh" "$work/pki" >"$work/log/pki" 2>&1
t1=$(now)
IMG_BYTES=$(fsize rootfs.ext4)
TAR_BYTES=$(fsize files.tar)
echo "- rootfs image: $SIZE MiB ($gen); sparse on disk $(( $(stat -c %b rootfs.ext4) * $(stat -c %B rootfs.ext4) / 1048576 )) MiB"
echo "- small-files payload: $small"
echo "- runs: $RUNS per command; inputs generated in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }') s"

manifest() { # OUT WITH_ROOTFS
	{
		printf 'format: 1\nbundle:\n  name: bench\n  version: "1.0.0"\n'
		printf '  security-version: 1\n  compatible: [bench-device]\npayloads:\n'
		if [ "$2" = 1 ]; then
			printf '  - name: rootfs\n    type: image\n    source: rootfs.ext4\n    compression: zstd:3\n'
		fi
		printf '  - name: files\n    type: archive\n    source: files.tar\n    compression: zstd:3\n'
	} > "$1"
}
manifest full.yaml 1
manifest small.yaml 0
SIGN=(--key pki/signer.key --cert pki/signer.pem --chain pki/chain.pem)

# Reference bundle for verify/extract (and the members for their floors);
# also warms the page cache.
"$OTAB" build -q -o bundle.oab "${SIGN[@]}" full.yaml ||
	{ say "bench: reference 'otabundle build' failed"; exit 1; }
"$OTAB" verify -q --ca pki/ca.pem bundle.oab ||
	{ say "bench: reference 'otabundle verify' failed"; exit 1; }
members=$(tar -tf bundle.oab | grep '^payloads/')
tar -xf bundle.oab -C stored $members
STORED=()
for m in $members; do STORED+=("stored/$m"); done
[ ${#STORED[@]} -eq 2 ] || { say "bench: expected 2 payload members in the bundle, got: $members"; exit 1; }

# ---------------------------------------------------------------- rivals setup
mender_zstd=0
if [ $have_mender = 1 ]; then
	# mender-artifact (Go) wants a traditional "EC PRIVATE KEY" PEM.
	openssl ec -in pki/signer.key -out pki/signer-ec.key 2>/dev/null
	mender-artifact write rootfs-image --help 2>&1 | grep -q zstd && mender_zstd=1
	head -c 65536 /dev/zero > out/probe.img
	if ! mender-artifact write rootfs-image -f out/probe.img -t bench-device -n probe \
		-o out/probe.mender --no-progress -k pki/signer-ec.key >"$work/log/mender-probe" 2>&1; then
		say "bench: mender-artifact cannot sign with the test key:"; cat "$work/log/mender-probe" >&2
		exit 1
	fi
	rm -f out/probe.img out/probe.mender
fi
RAUC_SIGN=()
if [ $have_rauc = 1 ]; then
	mkdir -p rauc-in
	ln rootfs.ext4 rauc-in/rootfs.ext4
	ln files.tar rauc-in/files.tar
	printf '[update]\ncompatible=bench-device\nversion=1.0.0\n\n[bundle]\nformat=verity\n\n' > rauc-in/manifest.raucm
	printf '[image.rootfs]\nfilename=rootfs.ext4\n\n[image.appfs]\nfilename=files.tar\n' >> rauc-in/manifest.raucm
	mkdir -p out/probe-in
	printf '[update]\ncompatible=bench-device\nversion=1\n\n[bundle]\nformat=verity\n\n[image.rootfs]\nfilename=x.img\n' > out/probe-in/manifest.raucm
	head -c 1048576 /dev/urandom > out/probe-in/x.img
	if rauc bundle --cert pki/signer.pem --key pki/signer.key --intermediate pki/chain.pem \
		out/probe-in out/probe.raucb >"$work/log/rauc-probe" 2>&1; then
		RAUC_SIGN=(--cert pki/signer.pem --key pki/signer.key --intermediate pki/chain.pem)
		rauc_signer="signer (codeSigning EKU)"
	else
		sh "$root/scripts/mkpki.sh" pki leaf rauc p256 none >>"$work/log/pki" 2>&1
		RAUC_SIGN=(--cert pki/rauc.pem --key pki/rauc.key --intermediate pki/chain.pem)
		rauc_signer="extra leaf without EKU (rauc refused the codeSigning one)"
	fi
	rm -rf out/probe-in out/probe.raucb
fi

# ---------------------------------------------------------------- export setup
# otabundle export (issue 14) against each peer's own builder on the same
# input. A format whose export is missing prints "n/a (command not
# available)". Mender 3.9 carries one payload: its export starts from a
# rootfs-only bundle, as mender-artifact gets the image alone.
EXPORTS=()
declare -A EXPORT_NA EXPORT_CHECK
EXPORT_MAP=""
if [ "$EXPORT" = 1 ] && [ "$RIVALS" = 1 ]; then
	# swupdate keeps its sockets in TMPDIR: a private one, as other runs
	# may share /tmp. Its -k file: the anchor and the intermediates.
	mkdir -p "$work/swtmp"
	cat pki/chain.pem pki/ca.pem > pki/swu-ca.pem
	# swupdate_check FILE: its dry run. SWUpdate 2022.12 exits 1 now and
	# then after "SWUPDATE successful" with no error (7 of 20 runs here):
	# a run counts as accepted when it exits 0, or logs success and no [ERROR].
	swupdate_check() {
		local rc=0
		TMPDIR=$work/swtmp swupdate -c -i "$1" -k pki/swu-ca.pem --cert-purpose codeSigning \
			-H bench:bench-device > "$work/log/swupdate-c" 2>&1 || rc=$?
		cat "$work/log/swupdate-c"
		[ $rc -eq 0 ] && return 0
		grep -q 'SWUPDATE successful' "$work/log/swupdate-c" && ! grep -q '^\[ERROR\]' "$work/log/swupdate-c"
	}
	exhelp=$("$OTAB" export --help 2>&1) || exhelp=""
	for f in rauc swupdate mender; do
		if [ -z "$exhelp" ]; then EXPORT_NA[$f]="n/a (command not available)"
		elif ! grep -q "$f" <<< "$exhelp"; then EXPORT_NA[$f]="n/a (command not available: export --help does not name $f)"
		else EXPORTS+=("$f"); fi
	done
	[ $have_rauc = 1 ] || EXPORT_NA[rauc_peer]="rauc not installed"
	[ $have_mender = 1 ] || EXPORT_NA[mender_peer]="mender-artifact not installed"
	if command -v cpio >/dev/null; then
		# The stock SWUpdate pipeline, from the raw inputs (compressed as
		# the bundle's) and from the bundle's stored members.
		swu_dir() { # DIR IMAGE...: sw-description, its signature, DIR.swu (images in DIR)
			local d=$1 img=("${@:2}") dev f
			{
				printf 'software = {\n  version = "1.0.0";\n  hardware-compatibility: [ "bench-device" ];\n  images: (\n'
				local i=0 sep=""
				for f in "${img[@]}"; do
					if [ $i = 0 ]; then dev='type = "raw"; device = "/dev/mmcblk0p2";'
					else dev='type = "archive"; path = "/data";'; fi
					printf '%s    { filename = "%s"; %s compressed = "zstd"; sha256 = "%s"; }' "$sep" "$f" "$dev" \
						"$(sha256sum < "$d/$f" | cut -d' ' -f1)"
					sep=$',\n'
					i=$((i + 1))
				done
				printf '\n  );\n};\n'
			} > "$d/sw-description"
			openssl cms -sign -binary -nosmimecap -outform DER -in "$d/sw-description" -out "$d/sw-description.sig" \
				-signer pki/signer.pem -inkey pki/signer.key -certfile pki/chain.pem || return 1
			(cd "$d" && printf '%s\n' sw-description sw-description.sig "${img[@]}" | cpio -o -H crc --quiet) > "$d.swu"
		}
		export -f swu_dir
		# The pipeline's output must be a .swu SWUpdate installs.
		if command -v swupdate >/dev/null; then
			mkdir -p out/probe
			head -c 65536 /dev/urandom | zstd -q > out/probe/rootfs.ext4.zst
			head -c 65536 /dev/urandom | zstd -q > out/probe/files.tar.zst
			if ! { swu_dir out/probe rootfs.ext4.zst files.tar.zst && swupdate_check out/probe.swu; } >"$work/log/swu-probe" 2>&1; then
				say "bench: swupdate -c rejects the stock pipeline's .swu:"; tail -5 "$work/log/swu-probe" >&2
				exit 1
			fi
			rm -rf out/probe out/probe.swu
		fi
	else
		EXPORT_NA[swupdate_peer]="cpio not installed"
	fi
	if [ ${#EXPORTS[@]} -gt 0 ]; then
		# The bench bundle with the SWUpdate targets of the stock pipeline
		# (the export: map, issue 14), and a rootfs-only one for Mender.
		{
			cat full.yaml
			printf 'export:\n  swupdate:\n    items:\n      rootfs:\n        device: /dev/mmcblk0p2\n'
			printf '      files:\n        path: /data\n'
		} > export.yaml
		printf 'format: 1\nbundle:\n  name: bench\n  version: "1.0.0"\n  security-version: 1\n  compatible: [bench-device]\n' > rootfs.yaml
		printf 'payloads:\n  - name: rootfs\n    type: image\n    source: rootfs.ext4\n    compression: zstd:3\n' >> rootfs.yaml
		"$OTAB" build -q -o rootfs.oab "${SIGN[@]}" rootfs.yaml ||
			{ say "bench: building the rootfs-only bundle failed"; exit 1; }
		# An otabundle without these SWUpdate keys exports the plain bundle.
		if ! "$OTAB" build -q -o export.oab "${SIGN[@]}" export.yaml 2>"$work/log/export-yaml"; then
			EXPORT_MAP="the export: map was refused ($(tail -1 "$work/log/export-yaml")): the exports start from the plain bench bundle"
			ln bundle.oab export.oab
		fi
	fi
	# Each export once, checked by the peer's own tool (a fast export the
	# peer rejects would make a meaningless row). Not fatal: the result is
	# printed under the table; a failing export is reported by its row.
	printf '[system]\ncompatible=bench-device\nbootloader=noop\n\n[keyring]\npath=%s\ncheck-purpose=codesign\n' \
		"$work/pki/ca.pem" > pki/rauc-system.conf
	openssl pkey -in pki/signer.key -pubout -out pki/signer-pub.pem 2>/dev/null
	for f in "${EXPORTS[@]}"; do
		case $f in
		rauc) ext=raucb in=export.oab peer=rauc; chk=(rauc info --keyring pki/ca.pem --conf pki/rauc-system.conf) ;;
		swupdate) ext=swu in=export.oab peer=swupdate; chk=(swupdate_check) ;; # swupdate -c
		mender) ext=mender in=rootfs.oab peer=mender-artifact; chk=(mender-artifact validate -k pki/signer-pub.pem) ;;
		esac
		if ! "$OTAB" export -q --to "$f" -o "out/check.$ext" "${SIGN[@]}" --ca pki/ca.pem "$in" >"$work/log/check-$f" 2>&1; then
			if grep -q 'not implemented' "$work/log/check-$f"; then # a stub: not timed
				EXPORT_NA[$f]="n/a (command not available: $(tail -1 "$work/log/check-$f"))"
			else
				EXPORT_CHECK[$f]="export FAILED: $(tail -1 "$work/log/check-$f")"
			fi
		elif ! command -v "$peer" >/dev/null; then
			EXPORT_CHECK[$f]="not checked ($peer not installed)"
		elif "${chk[@]}" "out/check.$ext" >>"$work/log/check-$f" 2>&1; then
			EXPORT_CHECK[$f]="accepted by \`${chk[*]/swupdate_check/swupdate -c} OUT\`"
		else
			EXPORT_CHECK[$f]="REJECTED by \`${chk[*]/swupdate_check/swupdate -c} OUT\` (log: $(grep -v '^$' "$work/log/check-$f" | tail -1))"
		fi
		rm -f "out/check.$ext"
	done
	ok=()
	for f in "${EXPORTS[@]}"; do [ -n "${EXPORT_NA[$f]:-}" ] || ok+=("$f"); done
	EXPORTS=("${ok[@]}")
fi

# ---------------------------------------------------------------- commands
# Each command: label, its floor (for the ratio), and a size function.
declare -A LABEL FLOOR SIZEOF
def() { LABEL[$1]=$2; FLOOR[$1]=$3; SIZEOF[$1]=$4; }
def ob_build "otabundle build (rootfs + files, zstd:3, signed)" fl_build "fsize out/b.oab"
def fl_build "floor: zstd -T0 -3 -c IMAGE > out (+ files.tar)" fl_build "fsize out/r.zst out/f.zst"
def fs_build "info: floor + fsync of the outputs" fl_build "fsize out/r.zst out/f.zst"
def pipe_build "stock tools, one pipeline: tee \\| sha256 (input), zstd -T0 -3, tee \\| sha256 (output), write" fl_build "fsize out/rootfs.ext4.zst out/files.tar.zst"
def ob_verify "otabundle verify --ca ca.pem" fl_verify ""
def fl_verify "floor: zstd -dc stored.zst \\| openssl dgst -sha256 (both members)" fl_verify ""
def ob_extract "otabundle extract --ca ca.pem -C DIR" fl_extract "dsize out/x"
def fl_extract "floor: zstd -dc stored.zst > file (both members)" fl_extract "dsize out/x"
def fs_extract "info: floor + fsync of the outputs" fl_extract "dsize out/x"
def sha_in "info: openssl dgst -sha256 of the inputs (the content hashes alone)" fl_build ""
def sha_st "info: openssl dgst -sha256 of the stored members (the stored hashes alone)" fl_build ""
def ob_small "otabundle build (1,000-file tar only)" fl_small "fsize out/s.oab"
def fl_small "floor: tar -cf - files \\| zstd -T0 -3" fl_small "fsize out/s.tar.zst"
def mender "mender-artifact write rootfs-image (default compression, rootfs only)" fl_build "fsize out/m.mender"
def mender_z "mender-artifact write rootfs-image --compression zstd_fastest (rootfs only)" fl_build "fsize out/mz.mender"
def rauc "rauc bundle (verity, mksquashfs default: gzip, rootfs + files)" fl_build "fsize out/r.raucb"
def rauc_z "rauc bundle (verity, mksquashfs -comp zstd -Xcompression-level 3, rootfs + files)" fl_build "fsize out/rz.raucb"
def ex_rauc "otabundle export --to rauc (bundle: rootfs + files)" rauc "fsize out/e.raucb"
def ex_swupdate "otabundle export --to swupdate (bundle: rootfs + files)" swu_pipe "fsize out/e.swu"
def ex_mender "otabundle export --to mender (bundle: rootfs only)" mender "fsize out/e.mender"
def swu_pipe "stock SWUpdate pipeline: zstd -T0 -3, sha256sum, openssl cms -sign, cpio -H crc (rootfs + files)" swu_pipe "fsize out/s.swu"
def swu_stored "info: the same from the bundle's stored members (sha256sum, openssl cms, cpio; no compression)" swu_pipe "fsize out/t.swu"

cmd_ob_build() { "$OTAB" build -q -o out/b.oab "${SIGN[@]}" full.yaml; }
cmd_fl_build() { zstd -q -T0 -3 -c rootfs.ext4 > out/r.zst && zstd -q -T0 -3 -c files.tar > out/f.zst; }
cmd_fs_build() { cmd_fl_build && sync out/r.zst out/f.zst; }
# The same work as build's, by stock tools: each input read once, its
# SHA-256 and the SHA-256 of its compressed form computed next to zstd
# (FIFOs fed by tee), the compressed form written.
cmd_pipe_build() {
	local f
	for f in rootfs.ext4 files.tar; do
		rm -f out/p1 out/p2 && mkfifo out/p1 out/p2 || return 1
		openssl dgst -sha256 < out/p1 > "out/$f.in.sha" &
		openssl dgst -sha256 < out/p2 > "out/$f.out.sha" &
		tee out/p1 < "$f" | zstd -q -T0 -3 -c | tee out/p2 > "out/$f.zst" || return 1
		wait || return 1
	done
	rm -f out/p1 out/p2
}
cmd_ob_verify() { "$OTAB" verify -q --ca pki/ca.pem bundle.oab; }
cmd_fl_verify() { for s in "${STORED[@]}"; do zstd -q -dc "$s" | openssl dgst -sha256 || return 1; done; }
cmd_ob_extract() { "$OTAB" extract -q --ca pki/ca.pem -C out/x bundle.oab; }
cmd_fl_extract() { zstd -q -dc "${STORED[0]}" > out/x/rootfs && zstd -q -dc "${STORED[1]}" > out/x/files; }
cmd_fs_extract() { cmd_fl_extract && sync out/x/rootfs out/x/files; }
cmd_sha_in() { openssl dgst -sha256 rootfs.ext4 files.tar > /dev/null; }
cmd_sha_st() { openssl dgst -sha256 "${STORED[@]}" > /dev/null; }
cmd_ob_small() { "$OTAB" build -q -o out/s.oab "${SIGN[@]}" small.yaml; }
cmd_fl_small() { tar -C smallfiles -cf - . | zstd -q -T0 -3 > out/s.tar.zst; }
cmd_mender() { mender-artifact write rootfs-image -f rootfs.ext4 -t bench-device -n bench -o out/m.mender --no-progress -k pki/signer-ec.key; }
cmd_mender_z() { mender-artifact write rootfs-image -f rootfs.ext4 -t bench-device -n bench -o out/mz.mender --no-progress -k pki/signer-ec.key --compression zstd_fastest; }
cmd_rauc() { rauc bundle "${RAUC_SIGN[@]}" rauc-in out/r.raucb; }
cmd_rauc_z() { rauc bundle "${RAUC_SIGN[@]}" --mksquashfs-args="-comp zstd -Xcompression-level 3" rauc-in out/rz.raucb; }
cmd_ex_rauc() { "$OTAB" export -q --to rauc -o out/e.raucb "${SIGN[@]}" --ca pki/ca.pem export.oab; }
cmd_ex_swupdate() { "$OTAB" export -q --to swupdate -o out/e.swu "${SIGN[@]}" --ca pki/ca.pem export.oab; }
cmd_ex_mender() { "$OTAB" export -q --to mender -o out/e.mender "${SIGN[@]}" --ca pki/ca.pem rootfs.oab; }
cmd_swu_pipe() {
	mkdir -p out/s && zstd -q -T0 -3 -c rootfs.ext4 > out/s/rootfs.ext4.zst && zstd -q -T0 -3 -c files.tar > out/s/files.tar.zst &&
		swu_dir out/s rootfs.ext4.zst files.tar.zst
}
cmd_swu_stored() {
	mkdir -p out/t && cp --reflink=auto "${STORED[0]}" out/t/rootfs.ext4.zst && cp --reflink=auto "${STORED[1]}" out/t/files.tar.zst &&
		swu_dir out/t rootfs.ext4.zst files.tar.zst
}
export -f cmd_ob_build cmd_fl_build cmd_fs_build cmd_pipe_build cmd_ob_verify cmd_fl_verify cmd_ob_extract \
	cmd_fl_extract cmd_fs_extract cmd_sha_in cmd_sha_st cmd_ob_small cmd_fl_small cmd_mender cmd_mender_z cmd_rauc cmd_rauc_z \
	cmd_ex_rauc cmd_ex_swupdate cmd_ex_mender cmd_swu_pipe cmd_swu_stored
export OTAB
# Arrays cannot be exported: the wrapper re-creates them.
SIGN_S="${SIGN[*]}" STORED_S="${STORED[*]}" RAUC_S="${RAUC_SIGN[*]}"
export SIGN_S STORED_S RAUC_S

GROUPS_LIST=()
[ "$MAIN" = 1 ] && GROUPS_LIST=("ob_build fl_build fs_build pipe_build" "ob_verify fl_verify"
	"ob_extract fl_extract fs_extract" "sha_in sha_st" "ob_small fl_small")
rivals=""
if [ $have_mender = 1 ]; then rivals="mender"; [ $mender_zstd = 1 ] && rivals="$rivals mender_z"; fi
[ $have_rauc = 1 ] && rivals="$rivals rauc rauc_z"
[ -n "$rivals" ] && GROUPS_LIST+=("$rivals")
exgroup=""
for f in "${EXPORTS[@]}"; do exgroup="$exgroup ex_$f"; done
[ "$EXPORT" = 1 ] && [ "$RIVALS" = 1 ] && [ -z "${EXPORT_NA[swupdate_peer]:-}" ] && exgroup="$exgroup swu_pipe swu_stored"
[ -n "$exgroup" ] && GROUPS_LIST+=("$exgroup")
declare -A DEAD

# run ID: one timed run; appends "WALL_S PEAK_RSS_KIB SIZE_BYTES|- CPU_S USER_S" to res/ID.
run() {
	local id=$1 t0 t1 rc=0 rss ut st size=-
	rm -rf out/*
	case $id in *_extract) mkdir -p out/x ;; esac
	sync
	t0=$(now)
	/usr/bin/time -f '%e %M %U %S' -o "$work/log/$id.time" \
		bash -c 'set -e; SIGN=($SIGN_S); STORED=($STORED_S); RAUC_SIGN=($RAUC_S); cmd_'"$id" \
		>"$work/log/$id.out" 2>"$work/log/$id.err" || rc=$?
	t1=$(now)
	if [ $rc -ne 0 ]; then
		say "bench: '${LABEL[$id]}' failed (exit $rc):"
		tail -20 "$work/log/$id.err" >&2
		return $rc
	fi
	read -r _ rss ut st < <(tail -1 "$work/log/$id.time")
	[ -z "${SIZEOF[$id]}" ] || size=$(${SIZEOF[$id]})
	echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') $rss $size $(awk -v u="$ut" -v s="$st" 'BEGIN { printf "%.2f", u + s }') $ut" >> "res/$id"
}

failed_rivals=""
for r in $(seq 1 "$RUNS"); do
	say "bench: run $r/$RUNS"
	for g in "${GROUPS_LIST[@]}"; do
		read -ra ids <<< "$g"
		if [ $((r % 2)) -eq 0 ]; then # reverse the order on even runs
			rev=(); for ((i = ${#ids[@]} - 1; i >= 0; i--)); do rev+=("${ids[$i]}"); done
			ids=("${rev[@]}")
		fi
		for id in "${ids[@]}"; do
			[ -z "${DEAD[$id]:-}" ] || continue
			case $id in
			mender* | rauc* | ex_* | swu_*)
				if ! run "$id"; then DEAD[$id]=1; failed_rivals="$failed_rivals $id"; fi ;;
			*) run "$id" || exit 1 ;;
			esac
		done
	done
done
rm -rf out/*

# ---------------------------------------------------------------- report
med_col() { awk -v c="$2" '{ print $c }' "res/$1" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
median() { med_col "$1" 1; }
cpu() { med_col "$1" 4; }
ucpu() { med_col "$1" 5; }
peak() { awk '{ if ($2 > m) m = $2 } END { printf "%.1f", m / 1024 }' "res/$1"; }
sizeof() { local s; s=$(tail -1 "res/$1" | awk '{ print $3 }'); [ "$s" = - ] && echo - || echo "$(mib "$s") MiB"; }
ratio() { awk -v a="$(median "$1")" -v b="$(median "$2")" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }

order_ex="ex_rauc ex_swupdate ex_mender swu_pipe swu_stored"
order="ob_build fl_build fs_build pipe_build ob_verify fl_verify ob_extract fl_extract fs_extract sha_in sha_st ob_small fl_small mender mender_z rauc rauc_z"
if [ "$MAIN" = 1 ]; then
	echo
	echo "image: $SIZE MiB ext4 ($(mib "$IMG_BYTES") MiB input), files.tar $(mib "$TAR_BYTES") MiB; medians of $RUNS run(s); peak RSS = max over runs"
	echo
	echo "| command | median s | ratio to floor | CPU s | peak RSS MiB | output size |"
	echo "|---|---:|---:|---:|---:|---:|"
	for id in $order; do
		case $id in
		mender | mender_z) [ $have_mender = 1 ] || continue ;;
		rauc | rauc_z) [ $have_rauc = 1 ] || continue ;;
		esac
		if [ "$id" = mender_z ] && [ $mender_zstd = 0 ]; then
			echo "| mender-artifact --compression zstd_* | not supported by this version | | | | |"
			continue
		fi
		if [ -n "${DEAD[$id]:-}" ] || [ ! -s "res/$id" ]; then
			echo "| ${LABEL[$id]} | FAILED (see above) | | | | |"
			continue
		fi
		f=${FLOOR[$id]}
		if [ "$f" = "$id" ]; then rt="1.00 (floor)"; else rt="$(ratio "$id" "$f")×"; fi
		printf '| %s | %.2f | %s | %.2f | %s | %s |\n' "${LABEL[$id]}" "$(median "$id")" "$rt" "$(cpu "$id")" "$(peak "$id")" "$(sizeof "$id")"
	done
	[ "$RIVALS" = 1 ] && [ $have_mender = 0 ] && echo "| mender-artifact | not installed | | | | |"
	[ "$RIVALS" = 1 ] && [ $have_rauc = 0 ] && echo "| rauc | not installed | | | | |"
	echo
	echo "Ratios of the rivals are to the build floor (zstd -3 of the image + files.tar)."
	[ $have_rauc = 1 ] && echo "rauc signed with: $rauc_signer."
	echo
	# What the floors leave out: otabundle also computes the SHA-256 of every
	# input byte and of every stored byte. That hashing (the user CPU time of
	# the two openssl rows: their system time is reading, which the floor
	# already pays), spread perfectly over all CPUs next to the floor's own CPU
	# time, gives the fastest wall time the floor's work plus that hashing can
	# take on this machine (never below the floor itself). otabundle's own zstd
	# calls may cost a little less CPU than the zstd CLI's: the Core use line
	# below works from build's measured CPU time instead.
	ncpu=$(nproc)
	BUILD_LIMIT=1.15 # the build time target, × its floor
	bound() { # FLOOR_ID: ideal wall s / ratio to the floor
		awk -v fw="$(median "$1")" -v fc="$(cpu "$1")" -v a="$(ucpu sha_in)" -v b="$(ucpu sha_st)" -v n="$ncpu" \
			'BEGIN { w = (fc + a + b) / n; if (w < fw) w = fw; printf "%.2f s = %.2f×", w, (fw > 0) ? w / fw : 0 }'
	}
	echo "Bound (floor's CPU s + the two SHA-256 rows' user CPU s, spread perfectly over $ncpu CPUs, never below the floor):"
	echo "build ≥ $(bound fl_build) its floor; extract ≥ $(bound fl_extract) its floor (before any fsync)."
	# How busy a command keeps the CPUs (median CPU s / (CPUs x median wall s)),
	# and how busy build would have to keep them to meet BUILD_LIMIT with
	# the CPU time it spends: above ~100 % the target is out of this machine's
	# reach without doing less work.
	busy() { awk -v w="$(median "$1")" -v c="$(cpu "$1")" -v n="$ncpu" 'BEGIN { printf "%.0f %%", (w > 0) ? 100 * c / (n * w) : 0 }'; }
	if [ -s res/ob_build ] && [ -s res/fl_build ]; then
		need=$(awk -v c="$(cpu ob_build)" -v l="$BUILD_LIMIT" -v fw="$(median fl_build)" -v n="$ncpu" 'BEGIN { printf "%.0f %%", (fw > 0) ? 100 * c / (n * l * fw) : 0 }')
		echo "Core use: build keeps the $ncpu CPUs $(busy ob_build) busy, its floor $(busy fl_build); with build's $(cpu ob_build) CPU s, ${BUILD_LIMIT}× its floor needs $need."
	fi
	echo
	echo "Targets:"
	target() { # NAME VALUE LIMIT UNIT: PASS if VALUE <= LIMIT
		local ok
		ok=$(awk -v v="$2" -v l="$3" 'BEGIN { print (v <= l) ? "PASS" : "FAIL" }')
		printf -- '- %s %s: %s%s (limit %s%s)\n' "$ok" "$1" "$2" "$4" "$3" "$4"
	}
	target "build time ≤ ${BUILD_LIMIT}× floor" "$(ratio ob_build fl_build)" "$BUILD_LIMIT" "×"
	target "build time ≤ the same work by stock tools in one pipeline" "$(ratio ob_build pipe_build)" 1.00 "×"
	target "verify time ≤ 1.2× floor" "$(ratio ob_verify fl_verify)" 1.2 "×"
	target "extract time ≤ 1.2× floor" "$(ratio ob_extract fl_extract)" 1.2 "×"
	zr=$(peak fl_build)
	target "build peak RSS within 16 MiB of zstd -T0 -3 ($zr MiB)" "$(peak ob_build)" "$(awk -v z="$zr" 'BEGIN { printf "%.1f", z + 16 }')" " MiB"
	target "verify peak RSS ≤ 32 MiB" "$(peak ob_verify)" 32 " MiB"
	target "extract peak RSS ≤ 32 MiB" "$(peak ob_extract)" 32 " MiB"
	target "small-files build ≤ 1.5× tar | zstd" "$(ratio ob_small fl_small)" 1.5 "×"
fi

# ---------------------------------------------------------------- export report
if [ "$EXPORT" = 1 ] && [ "$RIVALS" = 1 ]; then
	echo
	echo "## Export"
	echo
	echo "otabundle export of the bench bundle ($SIZE MiB image) to each peer format against the peer's own builder on the same input (medians of $RUNS, alternating). The export verifies the bundle first and writes the verified member bytes; SWUpdate has no builder: its row is the stock pipeline."
	echo
	echo "| command | median s | CPU s | peak RSS MiB | output size | time vs peer | size vs peer |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	exrow() { # ID: a row, or why there is none
		local id=$1
		if [ -n "${DEAD[$id]:-}" ]; then echo "| ${LABEL[$id]} | FAILED (see above) | | | | | |"; return; fi
		[ -s "res/$id" ] || return 1
		printf '| %s | %.2f | %.2f | %s | %s |' "${LABEL[$id]}" "$(median "$id")" "$(cpu "$id")" "$(peak "$id")" "$(sizeof "$id")"
	}
	for f in rauc swupdate mender; do
		case $f in
		rauc) peers="rauc rauc_z" ;;
		swupdate) peers="swu_pipe swu_stored" ;;
		mender) peers="mender" ;;
		esac
		if [ -n "${EXPORT_NA[$f]:-}" ]; then
			echo "| otabundle export --to $f | ${EXPORT_NA[$f]} | | | | | |"
		elif exrow "ex_$f"; then
			[ -n "${DEAD[ex_$f]:-}" ] || printf ' | |\n'
		else
			echo "| otabundle export --to $f | not run | | | | | |"
		fi
		for p in $peers; do
			case $p in
			rauc*) na=${EXPORT_NA[rauc_peer]:-} ;; swu*) na=${EXPORT_NA[swupdate_peer]:-} ;; *) na=${EXPORT_NA[mender_peer]:-} ;;
			esac
			if [ -n "$na" ]; then echo "| ${LABEL[$p]} | $na | | | | | |"; continue; fi
			if exrow "$p"; then
				if [ -n "${DEAD[$p]:-}" ]; then :
				elif [ -n "${EXPORT_NA[$f]:-}" ] || [ -n "${DEAD[ex_$f]:-}" ] || [ ! -s "res/ex_$f" ]; then printf ' | |\n'
				else printf ' %s× | %s× |\n' "$(ratio "ex_$f" "$p")" \
					"$(awk -v a="$(tail -1 "res/ex_$f" | awk '{ print $3 }')" -v b="$(tail -1 "res/$p" | awk '{ print $3 }')" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')"
				fi
			fi
		done
	done
	echo
	echo "Time and size vs peer: the export's over that peer row's."
	[ -z "$EXPORT_MAP" ] || echo "Note: $EXPORT_MAP."
	for f in rauc swupdate mender; do
		[ -z "${EXPORT_CHECK[$f]:-}" ] || echo "Export to $f, checked once before the timed runs: ${EXPORT_CHECK[$f]}."
	done
	[ $have_rauc = 1 ] && echo "rauc signed with: $rauc_signer; the exports with the bench's signer."
fi
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min; the bench itself keeps ~1-2 CPUs busy)."
echo "Wall time well above CPU time for a multi-threaded command below means it was starved by other work."
echo
echo "Raw runs (wall s / CPU user+sys s / peak RSS MiB, in run order):"
for id in $order $order_ex; do
	[ -s "res/$id" ] || continue
	printf -- '- %s: %s\n' "$id" "$(awk '{ printf "%s%s/%s/%.1f", (NR > 1 ? ", " : ""), $1, $4, $2 / 1024 }' "res/$id")"
done

# ---------------------------------------------------------------- delta
delta_rc=0
if [ "$DELTA" = 1 ]; then
	BENCH_PKI=$work/pki bash "$here/delta.sh" "$OTAB" "$work/delta" || delta_rc=$?
fi
if [ -n "$failed_rivals" ]; then
	say "bench: rival or export command(s) failed:$failed_rivals"
	exit 1
fi
[ $delta_rc -eq 0 ] || { say "bench: the delta section failed (exit $delta_rc)"; exit 1; }
exit 0
