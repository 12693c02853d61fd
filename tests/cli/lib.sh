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
