/* SPDX-License-Identifier: Apache-2.0 */
/* test_util.c - src/util.c: secrets, hex, escaping, atomic output files,
 * error helpers. */
#define _GNU_SOURCE
#include <dirent.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <setjmp.h>
#include <cmocka.h>

#include "otabundle/otabundle.h"
#include "internal.h"
#include "testlib.h"

static char *g_dir;

static int group_setup(void **state)
{
	(void)state;
	g_dir = tl_mkdtemp("util");
	return g_dir ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	tl_rm_rf(g_dir);
	free(g_dir);
	g_dir = NULL;
	return 0;
}

/* Names of the entries of dir (without . and ..), sorted, joined by ','. */
static void list_dir(const char *dir, char *out, size_t outsz)
{
	struct dirent **ents = NULL;
	int n = scandir(dir, &ents, NULL, alphasort);

	out[0] = '\0';
	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		if (strcmp(ents[i]->d_name, ".") != 0 && strcmp(ents[i]->d_name, "..") != 0) {
			if (*out)
				strncat(out, ",", outsz - strlen(out) - 1);
			strncat(out, ents[i]->d_name, outsz - strlen(out) - 1);
		}
		free(ents[i]);
	}
	free(ents);
}

/* ---- oab_secret_read ----------------------------------------------------- */

static void test_secret_env(void **state)
{
	struct oab_err err = {0};
	char buf[64];

	(void)state;
	assert_int_equal(setenv("OAB_UNIT_SECRET", "s3cret value", 1), 0);
	assert_int_equal(oab_secret_read("env:OAB_UNIT_SECRET", NULL, buf, sizeof(buf), &err), 12);
	assert_string_equal(buf, "s3cret value");

	unsetenv("OAB_UNIT_SECRET_MISSING");
	assert_int_equal(oab_secret_read("env:OAB_UNIT_SECRET_MISSING", NULL, buf, sizeof(buf), &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
	assert_non_null(strstr(err.msg, "OAB_UNIT_SECRET_MISSING"));

	/* Too long for the buffer: refused, not truncated. */
	oab_err_clear(&err);
	assert_int_equal(oab_secret_read("env:OAB_UNIT_SECRET", NULL, buf, 8, &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
	assert_null(strstr(err.msg, "s3cret"));
	unsetenv("OAB_UNIT_SECRET");
}

static void test_secret_file(void **state)
{
	struct oab_err err = {0};
	char *p = tl_path(g_dir, "secret.txt");
	char src[512], buf[64];

	(void)state;
	snprintf(src, sizeof(src), "file:%s", p);

	/* First line only. */
	assert_int_equal(tl_write_file(p, "first line\nsecond line\n", 23), 0);
	assert_int_equal(oab_secret_read(src, NULL, buf, sizeof(buf), &err), 10);
	assert_string_equal(buf, "first line");

	/* CRLF trimmed. */
	assert_int_equal(tl_write_file(p, "crlf-pass\r\nmore\r\n", 17), 0);
	assert_int_equal(oab_secret_read(src, NULL, buf, sizeof(buf), &err), 9);
	assert_string_equal(buf, "crlf-pass");

	/* No trailing newline at all. */
	assert_int_equal(tl_write_file(p, "bare", 4), 0);
	assert_int_equal(oab_secret_read(src, NULL, buf, sizeof(buf), &err), 4);
	assert_string_equal(buf, "bare");

	/* Empty file, or an empty first line: an I/O error, never an empty
	 * secret (a token would count it as a wrong PIN). */
	assert_int_equal(tl_write_file(p, "", 0), 0);
	assert_int_equal(oab_secret_read(src, NULL, buf, sizeof(buf), &err), -1);
	assert_int_equal(err.code, OAB_E_IO);
	assert_non_null(strstr(err.msg, "empty"));
	assert_int_equal(tl_write_file(p, "\nsecond\n", 8), 0);
	assert_int_equal(oab_secret_read(src, NULL, buf, sizeof(buf), &err), -1);
	assert_int_equal(err.code, OAB_E_IO);

	/* Longer than the buffer: refused and the buffer wiped. */
	assert_int_equal(tl_write_file(p, "0123456789abcdef\n", 17), 0);
	assert_int_equal(oab_secret_read(src, NULL, buf, 8, &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
	for (int i = 0; i < 8; i++)
		assert_int_equal(buf[i], 0);

	assert_int_equal(unlink(p), 0);
	/* Missing file. */
	oab_err_clear(&err);
	assert_int_equal(oab_secret_read(src, NULL, buf, sizeof(buf), &err), -1);
	assert_int_equal(err.code, OAB_E_IO);
	free(p);
}

static void test_secret_fd(void **state)
{
	struct oab_err err = {0};
	char src[32], buf[64];
	int pfd[2];

	(void)state;
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(write(pfd[1], "pw-one\r\npw-two\n", 15), 15);
	close(pfd[1]);
	snprintf(src, sizeof(src), "fd:%d", pfd[0]);
	/* Stops at the first newline, so the pipe still holds the second
	 * secret for the next reader. */
	assert_int_equal(oab_secret_read(src, NULL, buf, sizeof(buf), &err), 6);
	assert_string_equal(buf, "pw-one");
	assert_int_equal(oab_secret_read(src, NULL, buf, sizeof(buf), &err), 6);
	assert_string_equal(buf, "pw-two");
	/* fd: does not close the caller's descriptor. */
	assert_true(fcntl(pfd[0], F_GETFD) >= 0);
	close(pfd[0]);

	assert_int_equal(oab_secret_read("fd:", NULL, buf, sizeof(buf), &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
	assert_int_equal(oab_secret_read("fd:3x", NULL, buf, sizeof(buf), &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
	assert_int_equal(oab_secret_read("fd:-1", NULL, buf, sizeof(buf), &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
}

/* Unreadable sources are I/O errors before any secret is used: a closed
 * fd, a folder, a FIFO (refused without blocking), fd 0 at end of input;
 * a hidden name keeps the source out of the message. */
static void test_secret_unreadable(void **state)
{
	struct oab_err err = {0};
	char src[600], buf[64];
	char *fifo = tl_path(g_dir, "secret.fifo");
	int fd = open("/dev/null", O_RDONLY);

	(void)state;
	assert_true(fd >= 0);
	close(fd); /* now a closed descriptor */
	snprintf(src, sizeof(src), "fd:%d", fd);
	assert_int_equal(oab_secret_read(src, NULL, buf, sizeof(buf), &err), -1);
	assert_int_equal(err.code, OAB_E_IO);
	assert_non_null(strstr(err.msg, "Bad file descriptor"));

	snprintf(src, sizeof(src), "file:%s", g_dir);
	assert_int_equal(oab_secret_read(src, NULL, buf, sizeof(buf), &err), -1);
	assert_int_equal(err.code, OAB_E_IO);
	assert_non_null(strstr(err.msg, "a folder, not a regular file"));

	assert_int_equal(mkfifo(fifo, 0600), 0);
	snprintf(src, sizeof(src), "file:%s", fifo);
	assert_int_equal(oab_secret_read(src, "pin-source", buf, sizeof(buf), &err), -1);
	assert_int_equal(err.code, OAB_E_IO);
	assert_non_null(strstr(err.msg, "a FIFO"));
	assert_null(strstr(err.msg, fifo)); /* named, not shown */

	fd = open("/dev/null", O_RDONLY);
	snprintf(src, sizeof(src), "fd:%d", fd);
	assert_int_equal(oab_secret_read(src, NULL, buf, sizeof(buf), &err), -1);
	assert_int_equal(err.code, OAB_E_IO);
	close(fd);
	unlink(fifo);
	free(fifo);
}

/* VmFlags of the mapping that holds p, from /proc/self/smaps. */
static void vm_flags(const void *p, char *out, size_t outsz)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in = 0;

	out[0] = '\0';
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
		else if (in && strncmp(line, "VmFlags:", 8) == 0)
			snprintf(out, outsz, "%.200s", line + 8);
	}
	fclose(f);
}

/* Secret buffers: pages of their own, left out of core dumps, locked
 * where the limit allows, wiped and gone after _free. */
static void test_secret_alloc(void **state)
{
	char flags[256];
	char *p = oab_secret_alloc(256);

	(void)state;
	assert_non_null(p);
	for (int i = 0; i < 256; i++)
		assert_int_equal(p[i], 0);
	memcpy(p, "1234", 5);
	vm_flags(p, flags, sizeof(flags));
	assert_non_null(strstr(flags, " dd")); /* MADV_DONTDUMP */
	{
		/* Locked, where mlock works here at all (a control page; under
		 * ASan mlock does nothing). */
		char ctl[256];
		void *c = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		assert_true(c != MAP_FAILED);
		if (mlock(c, 4096) == 0) {
			vm_flags(c, ctl, sizeof(ctl));
			if (strstr(ctl, " lo"))
				assert_non_null(strstr(flags, " lo"));
		}
		munmap(c, 4096);
	}
	oab_secret_free(p, 256);
	vm_flags(p, flags, sizeof(flags));
	assert_null(strstr(flags, " dd")); /* unmapped */
	oab_secret_free(NULL, 256);
}

/* oab_open_at(OAB_BENEATH): openat2 and our own walk agree. */
static void test_open_beneath(void **state)
{
	char *base = tl_path(g_dir, "beneath"), *p;
	int dfd, fd;

	(void)state;
	assert_int_equal(mkdir(base, 0755), 0);
	p = tl_path(base, "sub");
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = tl_path(base, "sub/f");
	assert_int_equal(tl_write_file(p, "x", 1), 0);
	free(p);
	p = tl_path(g_dir, "outside");
	assert_int_equal(tl_write_file(p, "secret", 6), 0);
	free(p);
#define LINK(target, name)                                     \
	do {                                                    \
		char *l_ = tl_path(base, name);                 \
		assert_int_equal(symlink(target, l_), 0);       \
		free(l_);                                       \
	} while (0)
	LINK("sub/f", "in");         /* inside */
	LINK("sub", "dirlink");      /* inside, a folder */
	LINK("../outside", "out");   /* leads out */
	LINK("/etc/passwd", "abs");  /* absolute */
	LINK("loop", "loop");        /* a loop */
	LINK("../beneath/sub/f", "roundtrip"); /* out and back in: out */
	dfd = open(base, O_PATH | O_DIRECTORY);
	assert_true(dfd >= 0);
	for (int mode = OAB_BENEATH; mode <= OAB_BENEATH_WALK; mode++) {
		static const char *const good[] = {"sub/f", "in", "dirlink/f", "./sub/./f",
						   "sub/../sub/f", "sub//f", NULL};
		static const char *const out[] = {"../outside", "out", "abs", "/etc/passwd",
						  "sub/../../outside", "roundtrip", NULL};

		for (int i = 0; good[i]; i++) {
			fd = oab_open_at(dfd, good[i], O_RDONLY, mode);
			if (fd < 0)
				print_error("mode %d '%s': %s\n", mode, good[i], strerror(errno));
			assert_true(fd >= 0);
			close(fd);
		}
		for (int i = 0; out[i]; i++) {
			errno = 0;
			fd = oab_open_at(dfd, out[i], O_RDONLY, mode);
			if (fd >= 0 || errno != EXDEV)
				print_error("mode %d '%s': fd %d, %s\n", mode, out[i], fd, strerror(errno));
			assert_int_equal(fd, -1);
			assert_int_equal(errno, EXDEV);
		}
		assert_int_equal(oab_open_at(dfd, "loop", O_RDONLY, mode), -1);
		assert_int_equal(errno, ELOOP);
		assert_int_equal(oab_open_at(dfd, "missing", O_RDONLY, mode), -1);
		assert_int_equal(errno, ENOENT);
		assert_int_equal(oab_open_at(dfd, "sub/f/x", O_RDONLY, mode), -1);
		assert_int_equal(errno, ENOTDIR);
	}
#undef LINK
	close(dfd);
	free(base);
}

static void test_secret_literal_rejected(void **state)
{
	struct oab_err err = {0};
	char buf[64] = "untouched";

	(void)state;
	assert_int_equal(oab_secret_read("pass:x", NULL, buf, sizeof(buf), &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
	assert_non_null(strstr(err.msg, "literal"));
	assert_null(strstr(err.msg, "pass:x"));
	assert_int_equal(oab_secret_read("hunter2", NULL, buf, sizeof(buf), &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
	assert_null(strstr(err.msg, "hunter2"));
	oab_err_clear(&err);
	assert_int_equal(oab_secret_read(NULL, NULL, buf, sizeof(buf), &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
}

/* ---- hex ------------------------------------------------------------------ */

static void test_hex(void **state)
{
	const unsigned char in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff};
	char out[2 * sizeof(in) + 1];
	unsigned char back[sizeof(in)];

	(void)state;
	memset(out, 'X', sizeof(out));
	oab_hex(in, sizeof(in), out);
	assert_string_equal(out, "00017f80abcdefff");
	oab_hex(in, 0, out);
	assert_string_equal(out, "");

	memset(back, 0x55, sizeof(back));
	assert_int_equal(oab_unhex("00017f80abcdefff", back, sizeof(back)), 0);
	assert_memory_equal(back, in, sizeof(in));
	/* Uppercase, wrong length and non-hex digits are refused. */
	assert_int_equal(oab_unhex("00017F80ABCDEFFF", back, sizeof(back)), -1);
	assert_int_equal(oab_unhex("00017f80abcdeff", back, sizeof(back)), -1);
	assert_int_equal(oab_unhex("00017f80abcdefff00", back, sizeof(back)), -1);
	assert_int_equal(oab_unhex("00017f80abcdefgg", back, sizeof(back)), -1);
	assert_int_equal(oab_unhex("0x017f80abcdefff", back, sizeof(back)), -1);
	assert_int_equal(oab_unhex(" 0017f80abcdefff", back, sizeof(back)), -1);
}

/* ---- oab_escape ----------------------------------------------------------- */

static void test_escape(void **state)
{
	char out[4 * 80 + 4];
	char big[300];
	char guard[40];

	(void)state;
	oab_escape("a\x01" "b\\c\x7f\n\xff", 8, out, sizeof(out));
	assert_string_equal(out, "a\\x01b\\x5cc\\x7f\\x0a\\xff");

	/* Embedded NUL is shown, not a terminator. */
	oab_escape("x\0y", 3, out, sizeof(out));
	assert_string_equal(out, "x\\x00y");

	/* Exactly 80 visible bytes: no ellipsis. */
	memset(big, 'A', sizeof(big));
	oab_escape(big, 80, out, sizeof(out));
	assert_int_equal(strlen(out), 80);
	assert_null(strstr(out, "..."));

	/* More than 80: 80 shown then "...". */
	oab_escape(big, sizeof(big), out, sizeof(out));
	assert_int_equal(strlen(out), 83);
	assert_string_equal(out + 80, "...");

	/* 100 control bytes fill the documented maximum buffer exactly. */
	memset(big, 1, 100);
	oab_escape(big, 100, out, sizeof(out));
	assert_int_equal(strlen(out), 4 * 80 + 3);
	assert_string_equal(out + 4 * 80, "...");

	/* A small buffer truncates without writing past it. */
	memset(guard, '#', sizeof(guard));
	oab_escape("\x01\x02\x03\x04\x05\x06", 6, guard, 10);
	assert_true(strlen(guard) < 10);
	for (size_t i = 10; i < sizeof(guard); i++)
		assert_int_equal(guard[i], '#');
	assert_int_equal(strncmp(guard, "\\x01", 4), 0);
	memset(guard, '#', sizeof(guard));
	oab_escape("abcdefghijklmnop", 16, guard, 7);
	assert_string_equal(guard, "ab");
	for (size_t i = 7; i < sizeof(guard); i++)
		assert_int_equal(guard[i], '#');

	/* Size 1: just the terminator. */
	guard[0] = 'Z';
	oab_escape("abc", 3, guard, 1);
	assert_int_equal(guard[0], '\0');
}

/* ---- atomic output files -------------------------------------------------- */

static void test_outfile_replace_and_abort(void **state)
{
	struct oab_err err = {0};
	struct oab_outfile o;
	char *sub = tl_path(g_dir, "out");
	char *target, listing[512];
	unsigned char *got;
	size_t len;

	(void)state;
	assert_int_equal(mkdir(sub, 0700), 0);
	target = tl_path(sub, "bundle.oab");
	assert_int_equal(tl_write_file(target, "old content", 11), 0);

	/* commit replaces the existing file. */
	assert_int_equal(oab_outfile_open(&o, target, &err), 0);
	assert_true(o.fd >= 0);
	assert_int_equal(oab_write_all(o.fd, "new content!", 12), 0);
	/* Until commit, the target keeps its old bytes. */
	got = tl_read_file(target, &len);
	assert_non_null(got);
	assert_int_equal(len, 11);
	assert_memory_equal(got, "old content", 11);
	free(got);
	assert_int_equal(oab_outfile_commit(&o, &err), 0);
	oab_outfile_abort(&o); /* safe after commit */
	got = tl_read_file(target, &len);
	assert_non_null(got);
	assert_int_equal(len, 12);
	assert_memory_equal(got, "new content!", 12);
	free(got);
	list_dir(sub, listing, sizeof(listing));
	assert_string_equal(listing, "bundle.oab");

	/* abort leaves the old content and no temp file. */
	assert_int_equal(oab_outfile_open(&o, target, &err), 0);
	assert_int_equal(oab_write_all(o.fd, "discarded", 9), 0);
	oab_outfile_abort(&o);
	assert_int_equal(o.fd, -1);
	got = tl_read_file(target, &len);
	assert_non_null(got);
	assert_int_equal(len, 12);
	assert_memory_equal(got, "new content!", 12);
	free(got);
	list_dir(sub, listing, sizeof(listing));
	assert_string_equal(listing, "bundle.oab");

	/* A target that did not exist yet. */
	{
		char *fresh = tl_path(sub, "fresh.bin");

		assert_int_equal(oab_outfile_open(&o, fresh, &err), 0);
		assert_int_equal(oab_write_all(o.fd, "xyz", 3), 0);
		assert_int_equal(oab_outfile_commit(&o, &err), 0);
		oab_outfile_abort(&o);
		got = tl_read_file(fresh, &len);
		assert_non_null(got);
		assert_int_equal(len, 3);
		free(got);
		list_dir(sub, listing, sizeof(listing));
		assert_string_equal(listing, "bundle.oab,fresh.bin");
		free(fresh);
	}

	/* A symlink target is replaced, not written through. */
	{
		char *victim = tl_path(sub, "victim");
		char *link = tl_path(sub, "link");
		struct stat st;

		assert_int_equal(tl_write_file(victim, "keep", 4), 0);
		assert_int_equal(symlink("victim", link), 0);
		assert_int_equal(oab_outfile_open(&o, link, &err), 0);
		assert_int_equal(oab_write_all(o.fd, "replaced", 8), 0);
		assert_int_equal(oab_outfile_commit(&o, &err), 0);
		oab_outfile_abort(&o);
		assert_int_equal(lstat(link, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		got = tl_read_file(victim, &len);
		assert_non_null(got);
		assert_int_equal(len, 4);
		assert_memory_equal(got, "keep", 4);
		free(got);
		free(victim);
		free(link);
	}
	free(target);
	free(sub);
}

/* ---- oab_targets_commit: all or nothing ------------------------------------ */

static int tmpfile_with(const char *dir, const char *text)
{
	struct oab_err err = {0};
	int fd = oab_anon_tmpfile(dir, &err);

	assert_true(fd >= 0);
	assert_int_equal(oab_write_all(fd, text, strlen(text)), 0);
	return fd;
}

static void assert_file_is(const char *dir, const char *name, const char *text)
{
	char *p = tl_path(dir, name);
	size_t len;
	unsigned char *got = tl_read_file(p, &len);

	assert_non_null(got);
	assert_int_equal(len, strlen(text));
	assert_memory_equal(got, text, len);
	free(got);
	free(p);
}

static void test_targets_rollback(void **state)
{
	struct oab_err err = {0};
	char *sub = tl_path(g_dir, "targets"), *p, listing[512];
	struct oab_target t[3] = {{0}};
	int dirfd;

	(void)state;
	assert_int_equal(mkdir(sub, 0700), 0);
	p = tl_path(sub, "a");
	assert_int_equal(tl_write_file(p, "old a", 5), 0);
	free(p);
	p = tl_path(sub, "c"); /* a non-empty folder where the third file goes */
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	p = tl_path(sub, "c/keep");
	assert_int_equal(tl_write_file(p, "x", 1), 0);
	free(p);
	dirfd = open(sub, O_RDONLY | O_DIRECTORY);
	assert_true(dirfd >= 0);
	t[0].fd = tmpfile_with(sub, "new a");
	t[0].name = "a";
	t[1].fd = tmpfile_with(sub, "new b");
	t[1].name = "b";
	t[2].fd = tmpfile_with(sub, "new c");
	t[2].name = "c";
	/* The folder fails the third target: a is put back, b removed. */
	assert_int_equal(oab_targets_commit(dirfd, t, 3, 1, &err), -1);
	assert_int_equal(err.code, OAB_E_IO);
	assert_non_null(strstr(err.msg, "'c' is a folder"));
	assert_file_is(sub, "a", "old a");
	list_dir(sub, listing, sizeof(listing));
	assert_string_equal(listing, "a,c");
	/* Without replace, an existing file stops it the same way. (A temp
	 * file once linked and unlinked cannot be linked again: new ones.) */
	oab_err_clear(&err);
	for (int i = 0; i < 3; i++)
		close(t[i].fd);
	t[0].fd = tmpfile_with(sub, "new b");
	t[0].name = "b";
	t[1].fd = tmpfile_with(sub, "new a");
	t[1].name = "a";
	assert_int_equal(oab_targets_commit(dirfd, t, 2, 0, &err), -1);
	assert_non_null(strstr(err.msg, "'a' already exists"));
	list_dir(sub, listing, sizeof(listing));
	assert_string_equal(listing, "a,c");
	assert_file_is(sub, "a", "old a");
	/* Success: a replaced, b created, no hidden names left. */
	oab_err_clear(&err);
	close(t[0].fd);
	close(t[1].fd);
	t[0].fd = tmpfile_with(sub, "new a");
	t[0].name = "a";
	t[1].fd = tmpfile_with(sub, "new b");
	t[1].name = "b";
	assert_int_equal(oab_targets_commit(dirfd, t, 2, 1, &err), 0);
	assert_file_is(sub, "a", "new a");
	assert_file_is(sub, "b", "new b");
	list_dir(sub, listing, sizeof(listing));
	assert_string_equal(listing, "a,b,c");
	close(t[0].fd);
	close(t[1].fd);
	close(dirfd);
	free(sub);
}

static void test_outfile_errors(void **state)
{
	struct oab_err err = {0};
	struct oab_outfile o;
	char *missing = tl_path(g_dir, "no-such-dir/out.bin");
	char *slash;

	(void)state;
	assert_int_equal(oab_outfile_open(&o, missing, &err), -1);
	assert_int_equal(err.code, OAB_E_IO);
	assert_int_equal(o.fd, -1);
	assert_int_equal(o.dirfd, -1);

	/* The folder itself as the target. */
	oab_err_clear(&err);
	assert_int_equal(oab_outfile_open(&o, g_dir, &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);

	/* A path ending in '/': no file name. */
	oab_err_clear(&err);
	assert_int_equal(asprintf(&slash, "%s/", g_dir) > 0, 1);
	assert_int_equal(oab_outfile_open(&o, slash, &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
	free(slash);
	free(missing);
}

/* ---- oab_read_file ------------------------------------------------------- */

static void test_read_file_limit(void **state)
{
	struct oab_err err = {0};
	char *p = tl_path(g_dir, "small.txt");
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(tl_write_file(p, "0123456789", 10), 0);
	assert_int_equal(oab_read_file(p, 10, &buf, &len, &err), 0);
	assert_int_equal(len, 10);
	assert_string_equal(buf, "0123456789");
	free(buf);
	buf = NULL;
	assert_int_equal(oab_read_file(p, 9, &buf, &len, &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
	assert_null(buf);
	unlink(p);
	/* A missing file is the user's mistake (usage), not an I/O fault. */
	assert_int_equal(oab_read_file(p, 9, &buf, &len, &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
	assert_non_null(strstr(err.msg, "small.txt"));
	free(p);
}

/* ---- errors -------------------------------------------------------------- */

static void test_err_prefix(void **state)
{
	struct oab_err err;
	char pre[2000];

	(void)state;
	oab_err_clear(&err);
	assert_int_equal(err.code, OAB_OK);
	assert_string_equal(err.msg, "");

	assert_int_equal(oab_err_set(&err, OAB_E_KEY, "inner %d", 7), -1);
	assert_int_equal(oab_err_prefix(&err, "ctx '%s': ", "k"), -1);
	assert_int_equal(err.code, OAB_E_KEY);
	assert_string_equal(err.msg, "ctx 'k': inner 7");

	/* A full message: the prefix wins, the old text is cut, the result
	 * stays NUL-terminated inside the buffer. */
	memset(err.msg, 'x', sizeof(err.msg) - 1);
	err.msg[sizeof(err.msg) - 1] = '\0';
	err.code = OAB_E_IO;
	oab_err_prefix(&err, "p: ");
	assert_int_equal(err.code, OAB_E_IO);
	assert_int_equal(strlen(err.msg), OAB_ERR_MAX - 1);
	assert_int_equal(strncmp(err.msg, "p: xxx", 6), 0);
	assert_int_equal(err.msg[OAB_ERR_MAX - 2], 'x');

	/* A prefix longer than the buffer. */
	memset(pre, 'P', sizeof(pre) - 1);
	pre[sizeof(pre) - 1] = '\0';
	oab_err_set(&err, OAB_E_REJECTED, "old");
	oab_err_prefix(&err, "%s", pre);
	assert_int_equal(err.code, OAB_E_REJECTED);
	assert_int_equal(strlen(err.msg), OAB_ERR_MAX - 1);
	assert_null(strstr(err.msg, "old"));

	/* Long set messages truncate too. */
	oab_err_set(&err, OAB_E_USAGE, "%s", pre);
	assert_int_equal(strlen(err.msg), OAB_ERR_MAX - 1);

	/* Detail and fields: kept by a prefix, cleared by the next set; a
	 * set may quote the message it replaces. */
	oab_err_set(&err, OAB_E_REJECTED, "chunk 3 bad");
	assert_int_equal(oab_err_detail(&err, OAB_D_CHUNK_HASH, "payloads/rootfs.zst", 3, "aa", "bb"), -1);
	oab_err_prefix(&err, "reading: ");
	assert_int_equal(err.detail, OAB_D_CHUNK_HASH);
	assert_string_equal(err.member, "payloads/rootfs.zst");
	assert_true(err.has_chunk);
	assert_int_equal(err.chunk, 3);
	assert_string_equal(err.expected, "aa");
	assert_string_equal(err.found, "bb");
	oab_err_set(&err, OAB_E_IO, "again: %s", err.msg);
	assert_string_equal(err.msg, "again: reading: chunk 3 bad");
	assert_int_equal(err.detail, OAB_D_NONE);
	assert_string_equal(err.member, "");
	assert_false(err.has_chunk);
	assert_string_equal(err.expected, "");
	oab_err_detail(&err, OAB_D_EXISTS, NULL, -1, NULL, NULL);
	assert_int_equal(err.detail, OAB_D_EXISTS);
	assert_false(err.has_chunk);

	/* NULL err is accepted everywhere. */
	assert_int_equal(oab_err_detail(NULL, OAB_D_EXISTS, NULL, -1, NULL, NULL), -1);
	assert_int_equal(oab_err_set(NULL, OAB_E_IO, "x"), -1);
	assert_int_equal(oab_err_prefix(NULL, "x"), -1);
	assert_int_equal(oab_err_ssl(NULL, OAB_E_IO, "x"), -1);
	oab_err_clear(NULL);
}

static void test_err_ssl(void **state)
{
	struct oab_err err = {0};

	(void)state;
	/* Make OpenSSL queue an error, then check it is appended and cleared. */
	assert_null(BIO_new_file("/nonexistent/oab-unit/x", "r"));
	assert_true(ERR_peek_last_error() != 0);
	assert_int_equal(oab_err_ssl(&err, OAB_E_KEY, "loading %s", "x"), -1);
	assert_int_equal(err.code, OAB_E_KEY);
	assert_int_equal(strncmp(err.msg, "loading x (", 11), 0);
	assert_int_equal(ERR_peek_error(), 0);
	/* Empty queue: no parenthesis. */
	oab_err_ssl(&err, OAB_E_IO, "plain");
	assert_string_equal(err.msg, "plain");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret_env),
		cmocka_unit_test(test_secret_file),
		cmocka_unit_test(test_secret_fd),
		cmocka_unit_test(test_secret_literal_rejected),
		cmocka_unit_test(test_secret_unreadable),
		cmocka_unit_test(test_secret_alloc),
		cmocka_unit_test(test_open_beneath),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_outfile_replace_and_abort),
		cmocka_unit_test(test_outfile_errors),
		cmocka_unit_test(test_targets_rollback),
		cmocka_unit_test(test_read_file_limit),
		cmocka_unit_test(test_err_prefix),
		cmocka_unit_test(test_err_ssl),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
