# SPDX-License-Identifier: Apache-2.0
# make install into a DESTDIR, then build and run a small program of our
# own against the installed headers and library (an on-device verifier),
# found through the installed otabundle.pc and otabundle-verify.pc; and
# every examples/*.c against otabundle-verify.pc. make VERIFY_ONLY=1
# install puts only the verify side in place.
. "$(dirname "$0")/lib.sh"
case $OTABUNDLE in */asan/*) skip "installing is checked on the normal build"; finish ;; esac
make -s -C "$OAB_ROOT" install DESTDIR="$T/root" PREFIX=/usr BUILD="$(dirname "$OTABUNDLE")" > "$T/install.log" 2>&1 \
	&& ok "make install DESTDIR" || { bad "make install: $(tail -3 "$T/install.log")"; finish; }
for f in usr/bin/otabundle usr/lib/libotabundle.a usr/lib/libotabundle.so.0 usr/lib/libotabundle.so \
	usr/lib/libotabundle-verify.a usr/lib/libotabundle-verify.so.0 usr/lib/libotabundle-verify.so \
	usr/lib/pkgconfig/otabundle.pc usr/lib/pkgconfig/otabundle-verify.pc \
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
# pkg-config as a cross build would use it: the .pc files of the DESTDIR,
# their paths moved beneath it.
pc() { PKG_CONFIG_PATH="$T/root/usr/lib/pkgconfig" \
	PKG_CONFIG_SYSROOT_DIR="$T/root" pkg-config "$@"; }
for p in otabundle otabundle-verify; do
	if pc --exists "$p" && [ "$(pc --modversion "$p")" = "$(sed -n 's/^#define OAB_VERSION "\(.*\)"/\1/p' "$OAB_ROOT"/include/otabundle/*.h)" ]; then
		ok "$p.pc installed, version $(pc --modversion "$p")"
	else
		bad "$p.pc: not found or wrong version"
	fi
done
pc --cflags otabundle | grep -q -- "-I$T/root/usr/include" && ok "otabundle.pc: Cflags into the DESTDIR" ||
	bad "otabundle.pc Cflags: $(pc --cflags otabundle)"
pc --static --libs otabundle | grep -q -- '-lp11' && ok "otabundle.pc: libp11 for a static link" ||
	bad "otabundle.pc --static lacks -lp11: $(pc --static --libs otabundle)"
pc --static --libs otabundle-verify | grep -q -- '-lp11' && bad "otabundle-verify.pc needs libp11" ||
	ok "otabundle-verify.pc: no libp11"
# shellcheck disable=SC2046 # pkg-config output is a list of words
if cc -std=c17 -o "$T/mini" "$T/mini.c" $(pc --cflags --libs otabundle-verify) 2> "$T/cc.err"; then
	ok "a program builds against the installed libotabundle-verify (pkg-config)"
else
	bad "linking against the installed library: $(head -3 "$T/cc.err")"
fi
# shellcheck disable=SC2046
if cc -std=c17 -o "$T/mini-full" "$T/mini.c" $(pc --cflags --libs otabundle) 2> "$T/cc.err"; then
	ok "a program builds against the installed libotabundle (pkg-config)"
else
	bad "linking against the installed libotabundle: $(head -3 "$T/cc.err")"
fi
n=0
for ex in "$OAB_ROOT"/examples/*.c; do
	[ -f "$ex" ] || continue
	n=$((n + 1))
	# shellcheck disable=SC2046
	if cc -std=c17 -o "$T/example$n" "$ex" $(pc --cflags --libs otabundle-verify) 2> "$T/cc.err"; then
		ok "examples/$(basename "$ex") builds against the installed otabundle-verify.pc"
	else
		bad "examples/$(basename "$ex"): $(head -3 "$T/cc.err")"
	fi
done
[ "$n" -gt 0 ] || echo "(no examples/*.c yet: the program above stands in)"
export LD_LIBRARY_PATH="$T/root/usr/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
ldd "$T/mini" | grep -q "$T/root/usr/lib/libotabundle-verify.so.0" && ok "it runs with the installed libotabundle-verify.so.0" ||
	bad "mini does not load the installed library: $(ldd "$T/mini" | grep otabundle)"
build_example "$T/b.oab"
expect 0 "" "$T/mini" "$PKI/ca.pem" "$T/b.oab"
grep -q "verified acme-gateway" "$T/.out" && ok "library verify works" || bad "library verify output: $(cat "$T/.out")"
expect 1 "" "$T/mini" "$PKI/rogue.pem" "$T/b.oab"
expect 0 "" "$T/mini-full" "$PKI/ca.pem" "$T/b.oab"

# The verify side alone: no program, no libotabundle, no libp11 in its .pc.
make -s -C "$OAB_ROOT" install VERIFY_ONLY=1 DESTDIR="$T/vroot" PREFIX=/usr BUILD="$(dirname "$OTABUNDLE")" \
	> "$T/install.log" 2>&1 && ok "make VERIFY_ONLY=1 install" || bad "make VERIFY_ONLY=1 install: $(tail -3 "$T/install.log")"
for f in usr/lib/libotabundle-verify.so.0 usr/lib/pkgconfig/otabundle-verify.pc usr/include/otabundle/verify.h \
	usr/include/otabundle/error.h usr/include/otabundle/export.h; do
	[ -e "$T/vroot/$f" ] && ok "verify-only installed $f" || bad "verify-only: missing $f"
done
# ... and nothing of the build side (its headers would name functions the
# installed library does not have).
for f in usr/bin/otabundle usr/lib/libotabundle.so.0 usr/lib/libotabundle.a usr/lib/pkgconfig/otabundle.pc \
	usr/include/otabundle/build.h usr/include/otabundle/otabundle.h usr/share/bash-completion/completions/otabundle; do
	[ -e "$T/vroot/$f" ] && bad "verify-only installed $f" || ok "verify-only: no $f"
done
# From nothing, make VERIFY_ONLY=1 compiles the verify side and nothing else.
make -s -C "$OAB_ROOT" VERIFY_ONLY=1 BUILD="$T/vbuild" > "$T/vbuild.log" 2>&1 &&
	ok "make VERIFY_ONLY=1 from a clean build folder" || bad "make VERIFY_ONLY=1: $(tail -3 "$T/vbuild.log")"
[ -f "$T/vbuild/libotabundle-verify.so" ] && ok "it made libotabundle-verify.so" || bad "no libotabundle-verify.so"
before=$nfail
for o in writer pack keys pkcs11 sign source manifest_emit cms_sign; do
	[ -e "$T/vbuild/src/$o.o" ] && bad "VERIFY_ONLY=1 compiled the build side: src/$o.c"
done
[ "$nfail" -eq "$before" ] && ok "VERIFY_ONLY=1 compiled none of the build side"
for o in reader payload cms trust manifest; do
	[ -e "$T/vbuild/src/$o.o" ] || bad "VERIFY_ONLY=1 did not compile src/$o.c"
done
[ ! -e "$T/vbuild/otabundle" ] && [ ! -e "$T/vbuild/libotabundle.so" ] && ok "no program, no full library" ||
	bad "VERIFY_ONLY=1 built the program or the full library"
finish
