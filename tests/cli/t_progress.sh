# SPDX-License-Identifier: Apache-2.0
# Progress line: on a terminal, build, sign, attach-signature, verify and
# extract show bytes, rate and time left on stderr; -q, --json or a stderr
# that is not a terminal keep it off. script(1) gives the commands a pty.
. "$(dirname "$0")/lib.sh"
K="--key $PKI/signer.key --cert $PKI/signer.pem --chain $PKI/chain.pem"

# on_tty FILE CMD: run CMD (a shell command line) on a pty, transcript in FILE.
on_tty() {
	f=$1
	shift
	script -qec "$*" /dev/null > "$f" 2>&1 < /dev/null
}
# shown NAME FILE / hidden NAME FILE
shown() { grep -q 'MiB/s  ETA' "$2" && ok "$1: progress shown on a terminal" || bad "$1: no progress line on a terminal"; }
hidden() { grep -q 'MiB/s' "$2" && bad "$1: progress line where none belongs" || ok "$1: no progress line"; }

if ! command -v script > /dev/null; then
	skip "progress on a terminal: script(1) not installed"
	finish
fi
# tty NAME show|hide CMD: CMD must succeed on a pty, with or without the line.
tty() {
	name=$1 want=$2
	shift 2
	if on_tty "$T/t.$name" "$*"; then
		if [ "$want" = show ]; then shown "$name" "$T/t.$name"; else hidden "$name" "$T/t.$name"; fi
	else
		bad "$name: failed on a terminal: $(tail -3 "$T/t.$name")"
	fi
}
tty build show "$O build -o $T/u.oab --unsigned $IN/acme-gateway.yaml"
tty build-q hide "$O build -q -o $T/u2.oab --unsigned $IN/acme-gateway.yaml"
tty sign show "$O sign -o $T/s.oab $K $T/u.oab"
tty verify show "$O verify --ca $PKI/ca.pem $T/s.oab"
tty verify-json hide "$O verify --json --ca $PKI/ca.pem $T/s.oab"
mkdir "$T/x"
tty extract show "$O extract --ca $PKI/ca.pem -C $T/x $T/s.oab"
expect 0 "" "$O" export-manifest -o "$T/m.yaml" "$T/u.oab"
expect 0 "" "$O" sign --detached -o "$T/m.sig" $K "$T/m.yaml"
tty attach-signature show "$O attach-signature -o $T/a.oab $T/m.sig $T/u.oab"
# --json keeps it off in every command that has it
tty build-json hide "$O build --json -o $T/u4.oab --unsigned $IN/acme-gateway.yaml"
tty sign-json hide "$O sign --json -o $T/s2.oab $K $T/u.oab"
mkdir "$T/xj"
tty extract-json hide "$O extract --json --ca $PKI/ca.pem -C $T/xj $T/s.oab"
# stderr not a terminal: clean, for logs and pipes
expect 0 "" "$O" verify --ca "$PKI/ca.pem" "$T/s.oab"
hidden "verify, stderr to a file" "$T/.err"
expect 0 "" "$O" build -o "$T/u3.oab" --unsigned "$IN/acme-gateway.yaml"
hidden "build, stderr to a file" "$T/.err"
finish
