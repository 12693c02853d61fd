# SPDX-License-Identifier: Apache-2.0
# Messages that used to mislead (issue 11, point 15): each says what is
# wrong and what to do instead.
. "$(dirname "$0")/lib.sh"
cd "$T"
CA="--ca $PKI/ca.pem"
K="--key $PKI/signer.key --cert $PKI/signer.pem"
build_example good.oab || bad "build"

# sign --detached given a bundle (small, and larger than the manifest limit).
expect 2 "'good.oab' is a bundle: --detached signs a manifest written by export-manifest" \
	"$O" sign --detached -o s.sig $K good.oab
head -c 5242880 /dev/urandom > big.bin
cat > big.yaml <<'YAML'
format: 1
bundle: {name: big, version: "1", security-version: 1, compatible: [a]}
payloads:
  - {name: big, type: file, source: big.bin, compression: none}
YAML
"$O" build -q -o big.oab $K big.yaml || bad "build big.oab"
expect 2 "is a bundle" "$O" sign --detached -o s.sig $K big.oab
grep -q "larger than" .err && bad "still says 'larger than the limit'" || ok "no size complaint"
[ -e s.sig ] && bad "wrote s.sig" || ok "wrote no signature"

# verify of a file that is not a bundle does not call it UNSIGNED.
expect 1 "not a bundle" "$O" verify $CA "$IN/acme-gateway.yaml"
grep -q "UNSIGNED" .out && bad "not a bundle, yet 'UNSIGNED bundle'" || ok "no UNSIGNED claim for a non-bundle"
"$O" build -q -o unsigned.oab --unsigned "$IN/acme-gateway.yaml"
expect 1 "not signed" "$O" verify $CA unsigned.oab
grep -q "UNSIGNED" .out && ok "an unsigned bundle is still called UNSIGNED" || bad "unsigned bundle not flagged"

# --threshold: the message gives the range that is accepted.
expect 2 "--threshold: expected an integer from 1 to 16, found '0'" "$O" verify $CA --threshold 0 good.oab
expect 2 "--threshold: expected an integer from 1 to 16, found '17'" "$O" verify $CA --threshold 17 good.oab
expect 0 "" "$O" verify -q $CA --threshold 1 good.oab

# help and stray options.
expect 2 "unknown command 'bogus'" "$O" help bogus
[ -s .out ] && bad "help bogus printed help on stdout" || ok "help bogus: nothing on stdout"
expect 0 "" "$O" help verify
expect 2 "unknown option '--bogus' \(options go after the COMMAND\)" "$O" --bogus
grep -q "unknown command" .err && bad "--bogus called a command" || ok "--bogus is an option"

# An option without its value, or an unknown one: one line that says which.
expect 2 "^otabundle: error: --threshold needs a value" "$O" verify $CA good.oab --threshold
[ "$(wc -l < .err)" -eq 1 ] && ok "one line" || bad "stderr: $(cat .err)"
expect 2 "^otabundle: error: -o/--output needs a value" "$O" build -o
expect 2 "^otabundle: error: unknown or ambiguous option '--bogus'" "$O" verify --bogus $CA good.oab
[ "$(wc -l < .err)" -eq 1 ] && ok "one line" || bad "stderr: $(cat .err)"
expect 2 "^otabundle: error: unknown option '-x'" "$O" inspect -x good.oab

# --trust given a CA certificate: a hint to use --ca.
expect 1 "not trusted" "$O" verify --trust "$PKI/ca.pem" good.oab
grep -q "hint: .*ca.pem' is a CA certificate.*give it with --ca" .err && ok "hint to use --ca" || bad "no --ca hint: $(cat .err)"
expect 1 "not trusted" "$O" verify --trust "$PKI/second.pem" good.oab
grep -q "hint:" .err && bad "hint for a leaf certificate" || ok "no hint for a pinned leaf"

# Every compatible entry is named, not "a, ...".
sed 's/compatible: \[acme-gw-v2\]/compatible: [acme-gw-v2, acme-gw-v3]/' "$IN/acme-gateway.yaml" > "$IN/two.yaml"
"$O" build -q -o two.oab $K --chain "$PKI/chain.pem" "$IN/two.yaml" || bad "build two.oab"
rm -f "$IN/two.yaml"
expect 1 "\(bundle is for: acme-gw-v2, acme-gw-v3\)" "$O" verify $CA --compatible other two.oab
grep -q "FAIL policy.compatible: device 'other', bundle \[acme-gw-v2, acme-gw-v3\]" .out && ok "check lists both" || bad "check: $(grep compatible .out)"
grep -q "compatible:       acme-gw-v2, acme-gw-v3" .out && ok "report lists both" || bad "report: $(grep compatible: .out)"

# A FAIL line names its member once.
cp good.oab flip.oab; flip flip.oab $(($(offset_of good.oab payloads/app.zst) + 5))
expect 1 "payloads/app.zst" "$O" verify $CA flip.oab
line=$(grep "FAIL" .out)
[ "$(echo "$line" | grep -o "payloads/app.zst" | wc -l)" -eq 1 ] && ok "FAIL line: $line" || bad "member repeated: $line"
echo "$line" | grep -q "^  FAIL member-hash payloads/app.zst: stored chunk 0" && ok "FAIL line has id and member" || bad "FAIL line: $line"

# Multi-line description and meta values keep the layout.
cat > "$IN/ml.yaml" <<'YAML'
format: 1
bundle:
  name: ml
  version: "1"
  security-version: 1
  compatible: [a]
  description: |
    First line.
    Second line.
  meta:
    notes: "one\ntwo"
payloads:
  - {name: boot, type: file, source: u-boot.bin, compression: none}
YAML
"$O" build -q -o ml.oab --unsigned "$IN/ml.yaml" || bad "build ml.oab"
rm -f "$IN/ml.yaml"
expect 0 "" "$O" inspect ml.oab
grep -q "^description:      First line.$" .out && grep -q "^                  Second line.$" .out &&
	ok "description: continuation lines indented" || bad "description layout: $(grep -A2 description .out)"
grep -q "^meta.notes:       one$" .out && grep -q "^                  two$" .out &&
	ok "meta: aligned, continuation indented" || bad "meta layout: $(grep -A1 meta .out)"
finish
