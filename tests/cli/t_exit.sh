# SPDX-License-Identifier: Apache-2.0
# The EXIT STATUS table of otabundle(1), row by row: each cause it lists
# gives that status (issue 11, point 14). Missing inputs named on the
# command line are all usage errors (2), whichever option names them.
. "$(dirname "$0")/lib.sh"
cd "$T"
CA="--ca $PKI/ca.pem"
K="--key $PKI/signer.key --cert $PKI/signer.pem"
M=$IN/acme-gateway.yaml
build_example good.oab || bad "build"
"$O" build -q -o unsigned.oab --unsigned "$M" || bad "build unsigned"
"$O" export-manifest -o m.yaml --sig m.sig good.oab || bad "export-manifest"
openssl pkey -in "$PKI/signer.key" -aes256 -passout pass:right -out enc.key 2>/dev/null

# 0: success.
expect 0 "" "$O" build -q -o b.oab $K "$M"
expect 0 "" "$O" verify -q $CA good.oab
expect 0 "" "$O" inspect good.oab
mkdir x0; expect 0 "" "$O" extract -q $CA -C x0 good.oab
expect 0 "" "$O" sign -q -o s.oab $K unsigned.oab
expect 0 "" "$O" attach-signature -q -o a.oab m.sig good.oab

# 1: the bundle was rejected.
head -c 4096 /dev/urandom > random.oab
expect 1 "not a bundle" "$O" verify $CA random.oab
expect 1 "not a bundle" "$O" verify $CA "$M"
head -c 5000 good.oab > cut.oab
expect 1 "" "$O" verify $CA cut.oab
expect 1 "not signed" "$O" verify $CA unsigned.oab
expect 1 "not trusted" "$O" verify --trust "$PKI/second.pem" good.oab
expect 1 "2 required" "$O" verify $CA --threshold 2 good.oab
expect 1 "not compatible" "$O" verify $CA --compatible other good.oab
expect 1 "below the minimum" "$O" verify $CA --min-security-version 99 good.oab
expect 1 "expired" "$O" verify $CA --now 2031-01-01T00:00:00Z good.oab
cp good.oab flip.oab; flip flip.oab $(($(offset_of good.oab payloads/bootloader) + 5))
expect 1 "sha256 mismatch" "$O" verify $CA flip.oab
expect 1 "" "$O" sign -o s2.oab --key "$PKI/second.key" --cert "$PKI/second.pem" flip.oab
mkdir x1; expect 1 "" "$O" extract $CA -C x1 flip.oab

# 2: usage or manifest error.
expect 2 "unknown command" "$O" bogus
expect 2 "unknown command" "$O" help bogus
expect 2 "unknown option" "$O" --bogus
expect 2 "" "$O" verify --bogus $CA good.oab
expect 2 "--threshold" "$O" verify $CA --threshold x good.oab
expect 2 "given more than once" "$O" verify $CA --now 2027-01-01T00:00:00Z --now 2027-01-02T00:00:00Z good.oab
expect 2 "no trust anchor" "$O" verify good.oab
printf 'format: 1\nbundle: [\n' > bad.yaml
expect 2 "bad.yaml" "$O" build -o x.oab $K bad.yaml
sed 's/source: u-boot.bin/source: missing.bin/' "$M" > "$IN/nosrc.yaml"
expect 2 "missing.bin" "$O" build -o x.oab $K "$IN/nosrc.yaml"
rm -f "$IN/nosrc.yaml"
expect 2 "none.yaml.*No such file" "$O" build -o x.oab $K none.yaml
expect 2 "bundle 'none.oab': no such file" "$O" verify $CA none.oab
expect 2 "bundle 'none.oab': no such file" "$O" inspect none.oab
expect 2 "bundle 'none.oab': no such file" "$O" sign $K none.oab
expect 2 "bundle 'none.oab': no such file" "$O" export-manifest -o n.yaml none.oab
expect 2 "signature 'none.sig': no such file" "$O" attach-signature none.sig good.oab
expect 2 "--ca 'none.pem': no such file" "$O" verify --ca none.pem good.oab
expect 2 "--trust 'none.pem': no such file" "$O" verify --trust none.pem good.oab
expect 2 "--ca 'none.pem': no such file" "$O" extract --ca none.pem -C x0 good.oab
expect 2 "--key 'none.key': no such file" "$O" build -o x.oab --key none.key --cert "$PKI/signer.pem" "$M"
expect 2 "--cert 'none.pem': no such file" "$O" sign --key "$PKI/signer.key" --cert none.pem unsigned.oab
expect 2 "--chain 'none.pem': no such file" "$O" build -o x.oab $K --chain none.pem "$M"
expect 2 "--sig 'none.sig': no such file" "$O" sign --detached -o n.sig --sig none.sig $K m.yaml
expect 2 "--pass 'none.txt': no such file" "$O" build -o x.oab $K --pass file:none.txt "$M"
expect 2 "extract folder 'none': no such folder" "$O" extract $CA -C none good.oab
expect 2 "no payload, script or sbom named 'nope'" "$O" extract $CA -C x0 nope good.oab
expect 2 "literal secrets" "$O" build -o x.oab $K --pass secret "$M"
expect 2 "not set" env -u OAB_NOPE "$O" build -o x.oab --key enc.key --cert "$PKI/signer.pem" --pass env:OAB_NOPE "$M"
expect 2 "" "$O" sign $K good.oab
[ -e x.oab ] && bad "a failed build wrote x.oab" || ok "failed builds wrote nothing"

# 3: I/O or system error.
expect 3 "is a folder" "$O" verify $CA "$T"
expect 3 "is a folder" "$O" verify --ca "$T" good.oab
expect 3 "not a folder" "$O" extract $CA -C good.oab good.oab
expect 3 "output folder" "$O" build -o none/x.oab $K "$M"
expect 3 "already exists" "$O" extract $CA -C x0 good.oab

# 4: key, certificate or passphrase error.
echo wrong > wrong.txt
expect 4 "" "$O" build -o x.oab --key enc.key --cert "$PKI/signer.pem" --pass file:wrong.txt "$M"
expect 4 "" "$O" build -o x.oab --key enc.key --cert "$PKI/signer.pem" "$M" < /dev/null
expect 4 "" "$O" build -o x.oab --key "$PKI/second.key" --cert "$PKI/signer.pem" "$M"
expect 4 "" "$O" build -o x.oab --key "$PKI/signer.key" --cert "$PKI/signer.key" "$M"

# 5 (internal error: out of memory) cannot be caused from here.
finish
