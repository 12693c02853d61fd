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
	ok "SKIP: script(1) not installed"
	finish
fi
on_tty "$T/t.build" "$O build -o $T/u.oab --unsigned $IN/acme-gateway.yaml" && shown build "$T/t.build"
on_tty "$T/t.buildq" "$O build -q -o $T/u2.oab --unsigned $IN/acme-gateway.yaml" && hidden "build -q" "$T/t.buildq"
on_tty "$T/t.sign" "$O sign -o $T/s.oab $K $T/u.oab" && shown sign "$T/t.sign"
on_tty "$T/t.verify" "$O verify --ca $PKI/ca.pem $T/s.oab" && shown verify "$T/t.verify"
on_tty "$T/t.json" "$O verify --json --ca $PKI/ca.pem $T/s.oab" && hidden "verify --json" "$T/t.json"
mkdir "$T/x"
on_tty "$T/t.extract" "$O extract --ca $PKI/ca.pem -C $T/x $T/s.oab" && shown extract "$T/t.extract"
"$O" export-manifest -o "$T/m.yaml" "$T/u.oab" &&
	"$O" sign --detached -o "$T/m.sig" $K "$T/m.yaml" &&
	on_tty "$T/t.attach" "$O attach-signature -o $T/a.oab $T/m.sig $T/u.oab" && shown attach-signature "$T/t.attach"
# --json keeps it off in every command that has it
on_tty "$T/t.bj" "$O build --json -o $T/u4.oab --unsigned $IN/acme-gateway.yaml" && hidden "build --json" "$T/t.bj"
on_tty "$T/t.sj" "$O sign --json -o $T/s2.oab $K $T/u.oab" && hidden "sign --json" "$T/t.sj"
mkdir "$T/xj"
on_tty "$T/t.xj" "$O extract --json --ca $PKI/ca.pem -C $T/xj $T/s.oab" && hidden "extract --json" "$T/t.xj"
# stderr not a terminal: clean, for logs and pipes
expect 0 "" "$O" verify --ca "$PKI/ca.pem" "$T/s.oab"
hidden "verify, stderr to a file" "$T/.err"
expect 0 "" "$O" build -o "$T/u3.oab" --unsigned "$IN/acme-gateway.yaml"
hidden "build, stderr to a file" "$T/.err"
finish
