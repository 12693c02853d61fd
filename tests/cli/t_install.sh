# make install into a DESTDIR, then build and run a small program of our
# own against the installed headers and library (an on-device verifier).
. "$(dirname "$0")/lib.sh"
case $OTABUNDLE in */asan/*) skip "installing is checked on the normal build"; finish ;; esac
make -s -C "$OAB_ROOT" install DESTDIR="$T/root" PREFIX=/usr BUILD="$(dirname "$OTABUNDLE")" > "$T/install.log" 2>&1 \
	&& ok "make install DESTDIR" || { bad "make install: $(tail -3 "$T/install.log")"; finish; }
for f in usr/bin/otabundle usr/lib/libotabundle.a usr/lib/libotabundle.so.0 usr/lib/libotabundle.so \
	usr/include/otabundle/otabundle.h usr/include/otabundle/error.h usr/share/man/man1/otabundle.1 \
	usr/share/man/man5/otabundle-manifest.5 usr/share/man/man5/otabundle-format.5 \
	usr/share/bash-completion/completions/otabundle usr/share/zsh/site-functions/_otabundle; do
	[ -e "$T/root/$f" ] && ok "installed $f" || bad "missing $f"
done
cat > "$T/mini.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <otabundle/otabundle.h>
int main(int argc, char **argv)
{
	struct oab_err err = {0};
	struct oab_trust *t = oab_trust_new();
	struct oab_verify_opts o = {.trust = t, .min_security_version = -1, .now = -1};
	struct oab_report *r = NULL;
	int fd = open(argv[2], O_RDONLY), rc;

	(void)argc;
	if (oab_trust_add_ca(t, argv[1], &err) < 0)
		return 2;
	rc = oab_verify(fd, argv[2], &o, &r, &err);
	printf("%s %s\n", rc == 0 ? "verified" : "rejected:", rc == 0 ? r->manifest->name : err.msg);
	oab_report_free(r);
	oab_trust_free(t);
	return rc == 0 ? 0 : 1;
}
C
libs=$(pkg-config --libs libarchive libcrypto yaml-0.1 libzstd libp11)
if cc -std=c17 -I"$T/root/usr/include" -o "$T/mini" "$T/mini.c" "$T/root/usr/lib/libotabundle.a" $libs -lpthread 2> "$T/cc.err"; then
	ok "a program builds against the installed library"
else
	bad "linking against the installed library: $(head -3 "$T/cc.err")"
fi
build_example "$T/b.oab"
expect 0 "" "$T/mini" "$PKI/ca.pem" "$T/b.oab"
grep -q "verified acme-gateway" "$T/.out" && ok "library verify works" || bad "library verify output: $(cat "$T/.out")"
expect 1 "" "$T/mini" "$PKI/rogue.pem" "$T/b.oab"
finish
