# SPDX-License-Identifier: Apache-2.0
# Building from untrusted input (SECURITY.md): sources confined to the
# manifest's folder and --source-root, FIFOs and devices refused without
# blocking, sources that change while read, temp files on signals, no
# key in a core dump.
. "$(dirname "$0")/lib.sh"
CA="--ca $PKI/ca.pem"
SIGN="--key $PKI/signer.key --cert $PKI/signer.pem --chain $PKI/chain.pem"
W=$(mkdir "$T/ws" && cd "$T/ws" && pwd -P) # the manifest's folder (canonical)
cp "$IN"/* "$W/"
mkdir "$T/secrets"
printf 'ci-token-5d1f0c\n' > "$T/secrets/token.db"
# with_source NAME SOURCE: $W/NAME.yaml is the example with the rootfs
# source (line 16, column 13) replaced.
with_source() {
	sed "s|source: rootfs.ext4|source: $2|" "$W/acme-gateway.yaml" > "$W/$1.yaml"
}
# refused NAME REGEX: building $W/NAME.yaml is exit 2 naming the key and
# place, and leaves nothing behind.
refused() {
	expect 2 "$W/$1.yaml:16:13: key 'payloads\[0\]\.source': $2" "$O" build -o "$T/$1.oab" $SIGN "$W/$1.yaml" &&
		{ [ -e "$T/$1.oab" ] && bad "$1: output written" || ok "$1: nothing written"; }
}

# Outside the manifest's folder: by absolute path, by .., by a symlink.
with_source abskey "$PKI/signer.key"
refused abskey "source '.*signer.key' resolves to '.*signer.key', outside the manifest's folder"
with_source abstoken "$T/secrets/token.db"
refused abstoken "source '.*' resolves to '.*/secrets/token.db', outside"
with_source dotdot "../secrets/token.db"
refused dotdot "source '../secrets/token.db' resolves to '.*/secrets/token.db', outside"
with_source deep "sub/../../secrets/token.db"
mkdir "$W/sub"
refused deep "source '.*' resolves to '.*/secrets/token.db', outside"
ln -s "$PKI/signer.key" "$W/key.lnk"
with_source outlink key.lnk
refused outlink "source 'key.lnk' resolves to '.*signer.key', outside"
ln -s ../secrets "$W/sec.dir"
with_source outdir sec.dir/token.db
refused outdir "source '.*' resolves to '.*/secrets/token.db', outside"
# The short sbom form and a script are confined the same way.
sed "s|^sbom: .*|sbom: ../secrets/token.db|" "$W/acme-gateway.yaml" > "$W/sbom.yaml"
expect 2 "sbom.yaml:32:7: key 'sbom': source '../secrets/token.db' resolves to .*outside" "$O" build -o "$T/sbom.oab" $SIGN "$W/sbom.yaml"
sed "s|source: migrate.sh|source: /etc/passwd|" "$W/acme-gateway.yaml" > "$W/script.yaml"
expect 2 "key 'scripts\[0\]\.source': source '/etc/passwd' resolves to '/etc/passwd', outside" "$O" build -o "$T/script.oab" $SIGN "$W/script.yaml"
# A manifest cannot widen its own reach.
printf 'source-root: /\n' | cat - "$W/abskey.yaml" > "$W/selfroot.yaml"
expect 2 "unknown key 'source-root'|source-root" "$O" build -o "$T/selfroot.oab" $SIGN "$W/selfroot.yaml"

# Symlinks that stay inside keep working (a Yocto deploy folder).
mkdir -p "$W/deploy/images"
mv "$W/rootfs.ext4" "$W/deploy/images/rootfs-20260101.ext4"
ln -s rootfs-20260101.ext4 "$W/deploy/images/rootfs.ext4"
ln -s deploy/images/rootfs.ext4 "$W/rootfs.ext4"
expect 0 "" "$O" build -q -o "$T/inlink.oab" $SIGN "$W/acme-gateway.yaml"
expect 0 "" "$O" verify $CA "$T/inlink.oab"
with_source indotdot "deploy/../deploy/images/rootfs.ext4"
expect 0 "" "$O" build -q -o "$T/indotdot.oab" $SIGN "$W/indotdot.yaml"
# An absolute symlink back into the folder still lands inside.
ln -s "$W/deploy/images/rootfs-20260101.ext4" "$W/abs-in.lnk"
with_source absin abs-in.lnk
expect 0 "" "$O" build -q -o "$T/absin.oab" $SIGN "$W/absin.yaml"

# --source-root DIR (command line only) allows a folder elsewhere, by
# absolute path and by ..; still not beyond it.
mkdir -p "$T/yocto/deploy" && D=$(cd "$T/yocto/deploy" && pwd -P)
cp "$W/deploy/images/rootfs-20260101.ext4" "$D/core-image-20260101.ext4"
ln -s core-image-20260101.ext4 "$D/core-image.ext4"
ln -s "$T/secrets/token.db" "$D/escape"
with_source yabs "$D/core-image.ext4"
refused yabs "source '.*' resolves to '$D/core-image-20260101.ext4', outside the manifest's folder"
expect 0 "" "$O" build -q -o "$T/yabs.oab" $SIGN --source-root "$D" "$W/yabs.yaml"
expect 0 "" "$O" verify $CA "$T/yabs.oab"
with_source yrel "../yocto/deploy/core-image.ext4"
expect 0 "" "$O" build -q -o "$T/yrel.oab" $SIGN --source-root "$T/yocto/deploy" "$W/yrel.yaml"
with_source yesc "$D/escape"
expect 2 "resolves to '.*/secrets/token.db', outside the manifest's folder and every source root \\(allow a folder with --source-root DIR\\)" \
	"$O" build -o "$T/yesc.oab" $SIGN --source-root "$D" "$W/yesc.yaml"
expect 2 "--source-root '$T/nonexistent'" "$O" build -o "$T/yx.oab" $SIGN --source-root "$T/nonexistent" "$W/yabs.yaml"
# A manifest on standard input: sources beneath the current folder.
(cd "$W" && expect 0 "" "$O" build -q -o "$T/stdin.oab" $SIGN - < "$W/acme-gateway.yaml")
(cd "$W" && expect 2 "<stdin>:16:13: key 'payloads\[0\]\.source'.*outside" "$O" build -o "$T/stdin2.oab" $SIGN - < "$W/dotdot.yaml")

# FIFOs, sockets and devices are refused before anything blocks on them.
mkfifo "$W/fifo"
with_source fifo fifo
expect 2 "source 'fifo' is a FIFO, not a regular file" timeout 20 "$O" build -o "$T/fifo.oab" $SIGN "$W/fifo.yaml"
with_source dev /dev/zero
expect 2 "source '/dev/zero' is a character device" timeout 20 "$O" build -o "$T/dev.oab" $SIGN --source-root /dev "$W/dev.yaml"
with_source dir deploy
expect 2 "source 'deploy' is a folder, not a regular file" "$O" build -o "$T/dir.oab" $SIGN "$W/dir.yaml"
expect 2 "certificate file '$W/fifo': a FIFO, not a regular file" timeout 20 "$O" build -o "$T/f1.oab" $SIGN --chain "$W/fifo" "$W/acme-gateway.yaml"
expect 2 "key '$W/fifo': a FIFO, not a regular file" timeout 20 "$O" build -o "$T/f2.oab" --key "$W/fifo" --cert "$PKI/signer.pem" "$W/acme-gateway.yaml"
expect 2 "certificate file '$W/fifo': a FIFO" timeout 20 "$O" build -o "$T/f3.oab" --key "$PKI/signer.key" --cert "$W/fifo" "$W/acme-gateway.yaml"
# ... and the other files named on a command line: the manifest itself, a
# pinned key for --trust (build and verify), a signature to attach.
expect 2 "file '$W/fifo': a FIFO, not a regular file" timeout 20 "$O" build -o "$T/f4.oab" $SIGN "$W/fifo"
expect 2 "pinned key file: file '$W/fifo': a FIFO" timeout 20 "$O" build -o "$T/f5.oab" --trust "$W/fifo" $SIGN "$W/acme-gateway.yaml"
"$O" build -q --unsigned -o "$T/u.oab" "$W/acme-gateway.yaml" || bad "unsigned build"
expect 2 "pinned key file: file '$W/fifo': a FIFO" timeout 20 "$O" verify --trust "$W/fifo" "$T/u.oab"
expect 2 "file '$W/fifo': a FIFO, not a regular file" timeout 20 "$O" attach-signature "$W/fifo" "$T/u.oab"
expect 2 "certificate file '/dev/null': a character device" "$O" sign -o "$T/f4.oab" $SIGN --chain /dev/null "$T/inlink.oab"
ls "$T"/fifo.oab "$T"/dev.oab "$T"/f?.oab >/dev/null 2>&1 && bad "output left after a refused input" || ok "no output after refused inputs"

# A source that changes while it is read: refused, nothing written.
R=$W/deploy/images/rootfs-20260101.ext4
expect 3 "key 'payloads\[0\]\.source': source 'rootfs.ext4' changed while being read" \
	with_shim OAB_SHIM_FILE="$R" OAB_SHIM_REWRITE=1 -- "$O" build -o "$T/rw.oab" $SIGN "$W/acme-gateway.yaml"
[ -e "$T/rw.oab" ] && bad "rewritten source: output written" || ok "rewritten source: nothing written"
cp "$IN/rootfs.ext4" "$R"
expect 3 "source 'rootfs.ext4' changed while being read" \
	with_shim OAB_SHIM_FILE="$R" OAB_SHIM_TRUNCATE=1 -- "$O" build -o "$T/tr.oab" $SIGN "$W/acme-gateway.yaml"
cp "$IN/rootfs.ext4" "$R"
sed 's|compression: zstd:[0-9]*|compression: none|' "$W/acme-gateway.yaml" > "$W/plain.yaml"
expect 3 "changed while being read" \
	with_shim OAB_SHIM_FILE="$R" OAB_SHIM_TRUNCATE=1 -- "$O" build -o "$T/tr2.oab" $SIGN "$W/plain.yaml"
cp "$IN/rootfs.ext4" "$R"
[ -e "$T/tr.oab" ] || [ -e "$T/tr2.oab" ] && bad "shrunk source: output written" || ok "shrunk source: nothing written"

# A named temp file (no O_TMPFILE) is removed on SIGINT, SIGTERM, SIGHUP.
for sig in INT TERM HUP; do
	mkdir "$T/s$sig"
	rm -f "$T/mark"
	# Background jobs start with SIGINT ignored: env restores the default.
	LD_PRELOAD=$OAB_TOOLS/shim_preload.so ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
		OAB_SHIM_NO_TMPFILE=1 OAB_SHIM_FILE="$R" OAB_SHIM_MARK="$T/mark" OAB_SHIM_SLEEP=60 \
		env --default-signal=INT "$O" build -q -o "$T/s$sig/b.oab" $SIGN "$W/acme-gateway.yaml" 2>/dev/null &
	pid=$!
	i=0
	while [ ! -e "$T/mark" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	[ -n "$(ls -A "$T/s$sig")" ] && ok "SIG$sig: a named temp file exists mid-build" || bad "SIG$sig: no named temp file to remove (shim?)"
	kill -$sig $pid
	wait $pid
	rc=$?
	[ $rc -gt 128 ] && ok "SIG$sig: build ended by the signal ($rc)" || bad "SIG$sig: build exit $rc"
	[ -z "$(ls -A "$T/s$sig")" ] && ok "SIG$sig: temp file removed" || bad "SIG$sig: left $(ls -A "$T/s$sig")"
done

# A core dump taken mid-build or mid-sign (key loaded) holds no key bytes.
priv=$(openssl pkey -in "$PKI/signer.key" -noout -text | sed -n '/^priv:/,/^pub:/p' | grep '^ ' | tr -d ' :\n')
keypats="hex:$priv $(sed -n 2p "$PKI/signer.key")"
no_secret_in_core build "$keypats" "$R" "$O" build -q -o "$T/core.oab" $SIGN "$W/acme-gateway.yaml"
"$O" build -q --unsigned -o "$T/unsigned.oab" "$W/acme-gateway.yaml"
no_secret_in_core sign "$keypats" "$(cd "$T" && pwd -P)/unsigned.oab" "$O" sign -q -o "$T/core2.oab" $SIGN "$T/unsigned.oab"
finish
