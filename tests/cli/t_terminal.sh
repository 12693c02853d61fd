# SPDX-License-Identifier: Apache-2.0
# Text from a bundle or a certificate cannot steer the terminal or fake
# report lines: C0/C1 controls (U+009B is CSI), bidi overrides and isolates,
# and bytes that are not UTF-8 are printed escaped, in text, JSON and error
# messages; continuation lines of descriptions and meta values are
# indented (issue 11, point 6).
. "$(dirname "$0")/lib.sh"
cd "$T"
cp "$IN/u-boot.bin" .
# safe FILE: no C0 control but newline/tab, no DEL, no C1 (as UTF-8 or as
# a raw byte), no bidi override/embedding/isolate in FILE.
safe() {
	python3 -c '
import sys
s = open(sys.argv[1], "rb").read().decode("utf-8", "surrogateescape")
bad = [hex(ord(c)) for c in s if (ord(c) < 32 and c not in "\n\t") or 0x7f <= ord(c) <= 0x9f
       or 0xdc80 <= ord(c) <= 0xdc9f or 0x202a <= ord(c) <= 0x202e or 0x2066 <= ord(c) <= 0x2069
       or ord(c) in (0x61c, 0x200e, 0x200f, 0x2028, 0x2029, 0xfeff)]
sys.exit("unsafe: " + " ".join(bad[:8]) if bad else 0)' "$1"
}
both_safe() { # NAME: stdout and stderr of the last expect
	safe .out && safe .err && ok "$1: output escaped" || bad "$1: terminal control reaches the output"
}
# The manifest parser already refuses C0/C1 controls in every value and
# bidi characters in names, version and compatible (SECURITY.md M1, M2):
evilm() { # KEY: VALUE line for bundle:, expected message
	printf 'format: 1\nbundle:\n  name: evil\n  version: "1.0"\n  security-version: 1\n%s\npayloads:\n  - name: boot\n    type: file\n    source: u-boot.bin\n    compression: none\n' "$1" > evilm.yaml
	expect 2 "$2" "$O" build -q --unsigned -o evilm.oab evilm.yaml
	[ -e evilm.oab ] && bad "refused manifest written" || ok "refused manifest: nothing written"
}
evilm '  compatible: ["board-a\u009b31m"]' "control character U\+009B"
evilm '  description: "x\u0085NEL"' "control character U\+0085"
evilm '  compatible: ["board-b\u2066"]' "U\+2066"
# What it lets through (bidi and line separators in free text, newlines in
# description and meta) is escaped or indented by the CLI.
cat > evil.yaml <<'YAML'
format: 1
bundle:
  name: evil
  version: "1.0"
  security-version: 1
  compatible: [board-a, board-b]
  description: "Harmless update\nsignature valid, trusted: chain validates to a --ca anchor\nOK: evil.oab verified \u2067x\u2069 \u202eRLO\u2028LS"
  meta:
    note: "line one\nOK: fake meta"
payloads:
  - name: boot
    type: file
    source: u-boot.bin
    compression: none
YAML
"$O" build -q --unsigned -o evil.oab evil.yaml || bad "build evil.oab"
build1() { "$O" build -q --key "$PKI/signer.key" --cert "$PKI/signer.pem" --chain "$PKI/chain.pem" "$@"; }
build1 -o evils.oab evil.yaml || bad "build evils.oab"

# inspect of an unsigned bundle: the fake block stays inside the value.
expect 0 "" "$O" inspect evil.oab
both_safe "inspect text"
grep -q '^OK:' .out && bad "inspect: a description line starts a report line" || ok "inspect: no fake OK line"
grep -q '^signature valid' .out && bad "inspect: fake signature line" || ok "inspect: no fake signature line"
grep -q '^                  signature valid, trusted' .out && ok "description continuation indented" || bad "description not indented"
grep -q '^                  OK: fake meta' .out && ok "meta continuation indented" || bad "meta not indented"
grep -q 'board-a, board-b' .out && ok "compatible list in full" || bad "compatible: $(grep compatible .out)"
grep -q '\\u2067x\\u2069 \\u202eRLO\\u2028LS' .out && ok "bidi isolates, override and LINE SEPARATOR escaped" || bad "bidi/LS not escaped: $(grep RLO .out)"
expect 0 "" "$O" inspect --json evil.oab
both_safe "inspect --json"
python3 -c 'import json,sys; d=json.load(open(".out")); sys.exit(0 if "\u202eRLO\u2028LS" in d["bundle"]["description"] else 1)' &&
	ok "json keeps the exact text (as \\u escapes)" || bad "json text changed"

# verify: report, the rejection on stderr, the policy check quoting the
# compatible list.
expect 1 "not compatible with 'board-c' \(bundle is for: board-a, board-b\)" \
	"$O" verify --ca "$PKI/ca.pem" --compatible board-c evils.oab
both_safe "verify text, policy failure"
expect 1 "" "$O" verify --json --ca "$PKI/ca.pem" --compatible board-c evils.oab
both_safe "verify --json"
expect 1 "not signed" "$O" verify --ca "$PKI/ca.pem" evil.oab
both_safe "verify unsigned"

# A certificate subject with C1 and bidi characters (UTF8String).
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ek.key 2>/dev/null
openssl req -x509 -new -key ek.key -utf8 -days 30 \
	-subj "/CN=evil$(printf '\302\233')31m $(printf '\342\200\256')gpj.exe/O=x$(printf '\342\201\247')y" \
	-addext "extendedKeyUsage=codeSigning" -addext "keyUsage=critical,digitalSignature" \
	-addext "basicConstraints=critical,CA:FALSE" -out ek.pem 2>/dev/null || bad "evil certificate"
"$O" build -q --key ek.key --cert ek.pem -o es.oab evil.yaml || bad "build es.oab"
expect 0 "" "$O" verify --trust ek.pem es.oab
both_safe "verify: evil subject"
grep -q 'CN=evil\\u009b31m \\u202egpj.exe' .out && ok "subject escaped in the report" || bad "subject: $(grep CN= .out | head -1)"
expect 1 "not trusted" "$O" verify --ca "$PKI/ca.pem" es.oab
both_safe "verify: evil subject in the error"
grep -q 'signer 1 (O=x\\u2067y,CN=evil\\u009b31m' .err && ok "subject escaped on stderr" || bad "stderr: $(cat .err)"
expect 0 "" "$O" inspect es.oab
both_safe "inspect: evil subject"
expect 1 "" "$O" verify --json --ca "$PKI/ca.pem" es.oab
both_safe "verify --json: evil subject"

# Raw C1 bytes (not UTF-8): in a bundle's file name and in an argument
# that an error message quotes.
cp evils.oab "$(printf 'x\233 2J.oab')"
expect 0 "" "$O" verify --ca "$PKI/ca.pem" "$(printf 'x\233 2J.oab')"
both_safe "raw C1 byte in a file name"
grep -q '^OK: x\\x9b 2J.oab verified' .out && ok "raw byte shown as \\x9b" || bad "OK line: $(tail -1 .out)"
expect 1 "not compatible with 'x.x9b" "$O" verify --ca "$PKI/ca.pem" --compatible "$(printf 'x\2332J')" evils.oab
both_safe "raw C1 byte quoted in an error"
expect 1 "" "$O" verify --json --ca "$PKI/ca.pem" --compatible "$(printf 'x\2332J')" evils.oab
both_safe "raw C1 byte in a JSON error"
grep -q "not compatible with 'x.\\\\x9b2J'" .out && ok "json: raw byte as \\x9b" || bad "json error: $(grep error .out)"
finish
