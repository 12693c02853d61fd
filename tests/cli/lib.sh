# SPDX-License-Identifier: Apache-2.0
# lib.sh - helpers for the end-to-end tests (sourced).
set -u
O=$OTABUNDLE
PKI=$OAB_FIXTURES/pki
IN=$OAB_FIXTURES/in
T=$(mktemp -d "${TMPDIR:-/tmp}/oab-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
nfail=0

ok() { echo "ok $*"; }
bad() { echo "not ok $*"; nfail=$((nfail + 1)); }
# A check that could not run here (and why): counted as skipped, never as ok.
skip() { echo "skip $*"; }

# expect RC REGEX CMD... : run CMD, want exit status RC and, unless REGEX is
# empty, a stderr line matching REGEX (grep -E).
expect() {
	want=$1 re=$2
	shift 2
	"$@" > "$T/.out" 2> "$T/.err"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		bad "$*: exit $rc, expected $want"
		sed 's/^/    stderr: /' "$T/.err" | head -5
		return 1
	fi
	if [ -n "$re" ] && ! grep -Eq -- "$re" "$T/.err"; then
		bad "$*: stderr does not match /$re/"
		sed 's/^/    stderr: /' "$T/.err" | head -5
		return 1
	fi
	ok "$* -> $rc"
}

# The standard signed example bundle: build_example OUT [extra build args]
build_example() {
	out=$1
	shift
	"$O" build -q -o "$out" --key "$PKI/signer.key" --cert "$PKI/signer.pem" \
		--chain "$PKI/chain.pem" "$@" "$IN/acme-gateway.yaml"
}

# dated_leaf NAME STARTDATE ENDDATE [SERIAL]: $T/NAME.key and $T/NAME.pem, a
# P-256 codeSigning leaf of the test intermediate valid between the two
# dates (openssl ca, YYYYMMDDHHMMSSZ); give leaves that sign one bundle
# different SERIALs (a SignerInfo names its certificate by issuer and serial).
dated_leaf() {
	d=$T/ca-$1
	mkdir -p "$d"
	: > "$d/index"
	echo "${4:-01}" > "$d/serial"
	cat > "$d/cnf" <<CNF
[ca]
default_ca = c
[c]
database = $d/index
serial = $d/serial
new_certs_dir = $d
default_md = sha256
policy = p
unique_subject = no
[p]
commonName = supplied
[ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
CNF
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/$1.key" 2>/dev/null
	openssl req -new -key "$T/$1.key" -subj "/CN=$1" -out "$d/csr" 2>/dev/null
	openssl ca -batch -config "$d/cnf" -cert "$PKI/int.pem" -keyfile "$PKI/int.key" \
		-startdate "$2" -enddate "$3" -extensions ext -in "$d/csr" -out "$T/$1.pem" >/dev/null 2>&1 ||
		bad "openssl ca could not make $1"
}

finish() {
	if [ "$nfail" -ne 0 ]; then
		echo "$nfail check(s) failed"
		exit 1
	fi
	exit 0
}

# flip FILE OFFSET: invert every bit of one byte in place.
flip() {
	b=$(dd if="$1" bs=1 skip="$2" count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" count=1 conv=notrunc 2>/dev/null
}

# offset_of BUNDLE MEMBER: data offset of MEMBER.
offset_of() {
	"$OAB_TOOLS/tarmangle" "$1" offsets | awk -v m="$2" '$1 == m { print $2 }'
}
size_of() {
	"$OAB_TOOLS/tarmangle" "$1" offsets | awk -v m="$2" '$1 == m { print $3 }'
}

# with_shim VAR=VALUE... -- CMD...: run CMD with tests/tools/shim_preload.c
# preloaded and its settings (see there); ASan must not insist on coming
# first in the library list.
with_shim() (
	while [ "$1" != "--" ]; do export "${1?}"; shift; done
	shift
	LD_PRELOAD=$OAB_TOOLS/shim_preload.so ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" "$@"
)

# core_mid_build DIR SOURCE CMD...: run CMD until its first read of SOURCE
# (a canonical path), SIGABRT it there with core files going to DIR, then
# restore core_pattern. Returns 2 if this machine cannot take a core here
# (not root, read-only /proc/sys, a control process does not dump).
core_mid_build() {
	cdir=$1 csrc=$2
	shift 2
	[ -w /proc/sys/kernel/core_pattern ] || return 2
	oldpat=$(cat /proc/sys/kernel/core_pattern)
	mkdir -p "$cdir"
	echo "$cdir/core.%p" > /proc/sys/kernel/core_pattern 2>/dev/null || return 2
	(
		ulimit -c unlimited 2>/dev/null || exit 2
		sh -c 'kill -ABRT $$' 2>/dev/null
		ls "$cdir"/core.* >/dev/null 2>&1 || exit 2
		rm -f "$cdir"/core.*
		LD_PRELOAD=$OAB_TOOLS/shim_preload.so ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
			OAB_SHIM_FILE="$csrc" OAB_SHIM_MARK="$cdir/mark" OAB_SHIM_SLEEP=60 "$@" 2>/dev/null &
		pid=$!
		i=0
		while [ ! -e "$cdir/mark" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
		kill -ABRT $pid 2>/dev/null
		wait $pid
		[ -e "$cdir/mark" ] || exit 3
		exit 0
	)
	r=$?
	echo "$oldpat" > /proc/sys/kernel/core_pattern
	return $r
}

# no_secret_in_core WHAT PATTERNS SOURCE CMD...: core_mid_build CMD and
# check that no core file holds any of PATTERNS (findbytes patterns,
# separated by spaces). A machine that cannot take cores is a SKIP line,
# never an ok.
ncore=0
no_secret_in_core() {
	what=$1 pats=$2 src=$3
	shift 3
	ncore=$((ncore + 1))
	core_mid_build "$T/cores$ncore" "$src" "$@"
	case $? in
	0)
		leaked=no
		for c in "$T/cores$ncore"/core.*; do
			# shellcheck disable=SC2086 # one argument per pattern
			[ -e "$c" ] && "$OAB_TOOLS/findbytes" "$c" $pats && leaked=yes
		done
		[ $leaked = no ] && ok "core dump mid-$what: no secret in it ($(ls "$T/cores$ncore" | grep -c '^core') core files)" ||
			bad "core dump mid-$what holds a secret"
		;;
	2) echo "# SKIP core dump check ($what): cannot set core_pattern or dump a core here (not counted as a pass)" ;;
	*) bad "core dump check ($what): the command never reached its first read" ;;
	esac
}
