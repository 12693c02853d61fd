# SPDX-License-Identifier: Apache-2.0
# Faults: a full disk, a killed build over an existing bundle, unreadable
# inputs, a missing or read-only output folder. The output path keeps its
# old content (or stays absent) and no temp file is ever left behind.
. "$(dirname "$0")/lib.sh"
CA="--ca $PKI/ca.pem"
no_temps() { # DIR WHAT
	left=$(ls -A "$1" | grep '^\.' | grep -v '^\.out$\|^\.err$' || true)
	[ -z "$left" ] && ok "$2: no temp file left" || bad "$2: temp files left: $left"
}

build_example "$T/old.oab"
sum_old=$(sha256sum < "$T/old.oab")

# Disk full, portable: a file size limit makes writes fail with EFBIG
# (SIGXFSZ ignored, as for a full disk).
mkdir "$T/full"; cp "$T/old.oab" "$T/full/b.oab"
(trap '' XFSZ; ulimit -f 400; "$O" build -q -o "$T/full/b.oab" --key "$PKI/signer.key" --cert "$PKI/signer.pem" "$IN/acme-gateway.yaml") 2> "$T/full.err"
rc=$?
[ $rc -eq 3 ] && ok "file size limit: exit 3" || bad "file size limit: exit $rc ($(cat "$T/full.err"))"
grep -q "File too large\|No space" "$T/full.err" && ok "file size limit: names the cause: $(head -1 "$T/full.err")" || bad "file size limit message: $(cat "$T/full.err")"
[ "$(sha256sum < "$T/full/b.oab")" = "$sum_old" ] && ok "full disk: old bundle intact" || bad "full disk: old bundle changed"
no_temps "$T/full" "full disk"
mkdir "$T/xfull"
(trap '' XFSZ; ulimit -f 4000; "$O" extract $CA -C "$T/xfull" "$T/old.oab") 2> "$T/xfull.err"
rc=$?
[ $rc -eq 3 ] && grep -q "File too large" "$T/xfull.err" && ok "extract with a file size limit: exit 3, $(cat "$T/xfull.err")" || bad "extract file size limit: exit $rc ($(cat "$T/xfull.err"))"
[ -z "$(ls -A "$T/xfull")" ] && ok "extract with a file size limit: nothing left" || bad "extract left: $(ls -A "$T/xfull")"

# A real full disk: a 2 MiB tmpfs (needs mount rights; root in CI).
mkdir "$T/tmpfs"
if mount -t tmpfs -o size=2m tmpfs "$T/tmpfs" 2>/dev/null; then
	cp "$T/old.oab" "$T/tmpfs/b.oab" 2>/dev/null || true
	before=$(sha256sum < "$T/tmpfs/b.oab" 2>/dev/null || echo none)
	expect 3 "No space left on device" "$O" build -q -o "$T/tmpfs/b.oab" --unsigned "$IN/acme-gateway.yaml"
	[ "$(sha256sum < "$T/tmpfs/b.oab" 2>/dev/null || echo none)" = "$before" ] && ok "tmpfs full: old content kept" || bad "tmpfs full: old content changed"
	no_temps "$T/tmpfs" "tmpfs full"
	rm -f "$T/tmpfs/b.oab"
	expect 3 "No space left on device" "$O" extract $CA -C "$T/tmpfs" "$T/old.oab"
	[ -z "$(ls -A "$T/tmpfs")" ] && ok "extract onto a full disk: nothing left in DIR" || bad "extract onto a full disk left: $(ls -A "$T/tmpfs")"
	umount "$T/tmpfs"
else
	skip "full disk: cannot mount a tmpfs here (covered by the file size limit case above)"
fi

# Killed mid-way (SIGKILL, SIGTERM, SIGINT) over an existing bundle.
head -c $((256 * 1024 * 1024)) /dev/urandom > "$T/big.img" 2>/dev/null
sed "s|source: rootfs.ext4|source: $T/big.img|" "$IN/acme-gateway.yaml" > "$IN/big.yaml"
for sig in KILL TERM INT; do
	mkdir "$T/k$sig"; cp "$T/old.oab" "$T/k$sig/b.oab"
	# Background jobs start with SIGINT ignored: restore the default.
	env --default-signal=INT "$O" build -q -o "$T/k$sig/b.oab" --key "$PKI/signer.key" --cert "$PKI/signer.pem" \
		--chain "$PKI/chain.pem" --source-root "$T" "$IN/big.yaml" 2>/dev/null &
	pid=$!
	# Wait for a state, not a time: the build has its temp output open in
	# the folder (not yet under the bundle's name); stop it there, signal
	# it, let it go on.
	mid=0 i=0
	while [ $i -lt 3000 ] && kill -0 $pid 2>/dev/null; do
		if ls -l /proc/$pid/fd 2>/dev/null | grep "$T/k$sig/" | grep -vq "$T/k$sig/b.oab\$"; then
			kill -STOP $pid
			ls -l /proc/$pid/fd 2>/dev/null | grep "$T/k$sig/" | grep -vq "$T/k$sig/b.oab\$" && mid=1
			break
		fi
		i=$((i + 1))
		sleep 0.01
	done
	[ $mid = 1 ] && ok "SIG$sig: build stopped with its temp output open" || bad "SIG$sig: build never seen mid-way"
	kill -$sig $pid 2>/dev/null
	kill -CONT $pid 2>/dev/null
	wait $pid 2>/dev/null
	[ "$(sha256sum < "$T/k$sig/b.oab")" = "$sum_old" ] && ok "SIG$sig mid-build: old bundle intact" || bad "SIG$sig: old bundle changed"
	expect 0 "" "$O" verify $CA "$T/k$sig/b.oab"
	no_temps "$T/k$sig" "SIG$sig"
done
rm -f "$IN/big.yaml" "$T/big.img"

# Unreadable input and read-only output folder, as an unprivileged user.
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	mkdir "$T/u"; cp "$IN"/* "$T/u/"; cp "$PKI/signer.key" "$PKI/signer.pem" "$T/u/"
	chmod 755 "$T" "$T/u"; chmod 644 "$T/u"/*; chmod 000 "$T/u/app.tar"
	chmod 777 "$T/u"
	expect 2 "source '.*app.tar': Permission denied" as_nobody "$O" build -q --unsigned -o "$T/u/out.oab" "$T/u/acme-gateway.yaml"
	[ -e "$T/u/out.oab" ] && bad "unreadable input: output written" || ok "unreadable input: nothing written"
	no_temps "$T/u" "unreadable input"
	chmod 644 "$T/u/app.tar"
	mkdir "$T/ro"; chmod 555 "$T/ro"
	expect 3 "output .*Permission denied" as_nobody "$O" build -q --unsigned -o "$T/ro/b.oab" "$T/u/acme-gateway.yaml"
	[ -e "$T/ro/b.oab" ] && bad "read-only folder: file created" || ok "read-only folder: nothing created"
else
	skip "unreadable input, read-only folder: not root, cannot switch to an unprivileged user"
fi
expect 3 "output folder .*No such file" "$O" build -q --unsigned -o "$T/missing/dir/b.oab" "$IN/acme-gateway.yaml"
finish
