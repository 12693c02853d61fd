# SPDX-License-Identifier: Apache-2.0
# --json: every command that has it prints one JSON document on standard
# output, on success and on every error, and each document matches the
# keys, types and check ids otabundle-json(5) documents (issue 11, point 13).
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { bad "python3 not installed (make deps)"; finish; }
MAN=$OAB_ROOT/man/otabundle-json.5
cd "$T"
# jdoc STATUS REGEX CMD ARGS... : run otabundle CMD ARGS, want exit STATUS
# (and REGEX on stderr) and a valid document for CMD on stdout.
jdoc() {
	st=$1 re=$2 cmd=$3
	shift 3
	expect "$st" "$re" "$O" "$cmd" "$@" || return
	if out=$(python3 "$OAB_ROOT/tests/cli/jsoncheck.py" "$MAN" "$cmd" "$st" .out 2>&1); then
		ok "json $cmd $*: document as documented"
	else
		bad "json $cmd $*: $out"
	fi
}
K="--key $PKI/signer.key --cert $PKI/signer.pem --chain $PKI/chain.pem"
CA="--ca $PKI/ca.pem"

# build
jdoc 0 "" build --json -o good.oab $K "$IN/acme-gateway.yaml"
grep -q '"signatures": 1' .out && ok "build: one signature" || bad "build signatures"
jdoc 0 "" build --json -o unsigned.oab --unsigned "$IN/acme-gateway.yaml"
jdoc 2 "missing.yaml" build --json -o x.oab $K missing.yaml
jdoc 2 "no signing key" build --json -o x.oab "$IN/acme-gateway.yaml"
jdoc 2 "--key .*no such file" build --key missing.key --cert "$PKI/signer.pem" --json "$IN/acme-gateway.yaml"
jdoc 4 "" build --json -o x.oab --key "$PKI/second.key" --cert "$PKI/signer.pem" "$IN/acme-gateway.yaml"
[ -e x.oab ] && bad "build wrote x.oab" || ok "failed builds wrote nothing"

# sign (bundle and detached)
cp unsigned.oab s.oab
jdoc 0 "" sign --json $K s.oab
"$O" export-manifest -o m.yaml good.oab || bad "export-manifest"
jdoc 0 "" sign --json --detached -o m.sig $K m.yaml
grep -q '"detached": true' .out && ok "sign: detached" || bad "sign detached"
jdoc 2 "" sign --json $K s.oab # the same key twice
jdoc 2 "no such file" sign --json $K missing.oab
head -c 3000 good.oab > cut.oab
jdoc 1 "" sign --json -o x.oab $K cut.oab

# verify
jdoc 0 "" verify --json $CA good.oab
python3 -c 'import json; d=json.load(open(".out")); assert [c["id"] for c in d["checks"]][:3] == ["signature", "trust", "threshold"], d["checks"]' &&
	ok "verify: stable check ids" || bad "verify: check ids"
jdoc 1 "not compatible" verify --json $CA --compatible other good.oab
grep -q '"id": "policy.compatible"' .out && ok "verify: policy check id" || bad "verify: policy id"
python3 -c '
import json
e = json.load(open(".out"))["error"]
assert (e["detail"], e["expected"], e["found"]) == ("policy-compatible", "other", "acme-gw-v2"), e' &&
	ok "verify: policy error detail, expected, found" || bad "verify: policy error $(cat .out)"
jdoc 1 "not signed" verify --json $CA unsigned.oab
jdoc 1 "" verify --json $CA cut.oab
jdoc 1 "not a bundle" verify --json $CA "$IN/acme-gateway.yaml"
grep -q '"signed"' .out && bad "a file that is not a bundle has \"signed\"" || ok "not a bundle: no \"signed\""
jdoc 1 "not trusted" verify --json --trust "$PKI/second.pem" good.oab
python3 -c '
import json
e = json.load(open(".out"))["error"]
assert e["detail"] == "untrusted" and e["member"] == "manifest.sig", e
assert e["message"].startswith("member \x27manifest.sig\x27: signer 1"), e' &&
	ok "verify: error object with detail and member" || bad "verify: error object $(cat .out)"
jdoc 2 "no such file" verify --json $CA missing.oab
jdoc 2 "--ca 'missing.pem': no such file" verify --ca missing.pem --json good.oab
jdoc 2 "threshold" verify --json $CA --threshold 0 good.oab
jdoc 2 "no trust anchor" verify --json good.oab
jdoc 2 "" verify --json --bogus $CA good.oab
# a damaged member: the report names it, with its id and subject
off=$(offset_of good.oab payloads/app.zst)
cp good.oab flip.oab && flip flip.oab $((off + 10))
jdoc 1 "payloads/app.zst" verify --json $CA flip.oab
python3 -c '
import json
d = json.load(open(".out"))
bad = [c for c in d["checks"] if not c["ok"]]
assert [(c["id"], c["subject"]) for c in bad] == [("member-hash", "payloads/app.zst")], bad
assert "payloads/app.zst" not in bad[0]["detail"], bad' && ok "verify: failed member check has id and subject" || bad "verify: member check"

# inspect
jdoc 0 "" inspect --json good.oab
jdoc 0 "" inspect --json unsigned.oab
jdoc 1 "" inspect --json cut.oab
jdoc 2 "no such file" inspect --json missing.oab

# extract
mkdir out
jdoc 0 "" extract --json $CA -C out good.oab
grep -q '"name": "rootfs"' .out && ok "extract: lists rootfs" || bad "extract list"
jdoc 3 "already exists" extract --json $CA -C out good.oab
mkdir out2
jdoc 0 "" extract --json $CA -C out2 app good.oab
mkdir out3
jdoc 1 "" extract --json $CA -C out3 flip.oab
jdoc 2 "no such folder" extract --json $CA -C nodir good.oab
jdoc 2 "" extract --json $CA good.oab

# Without --json nothing is JSON, and a failure prints nothing on stdout.
expect 2 "" "$O" verify $CA missing.oab
[ -s .out ] && bad "text error printed to stdout" || ok "text mode: stdout empty on error"
finish
