/* SPDX-License-Identifier: Apache-2.0 */
/* shim_preload.c - LD_PRELOAD library for end-to-end tests: makes events
 * happen at a chosen moment inside otabundle. Set by environment:
 *   OAB_SHIM_FILE=PATH    the file the read events below apply to
 *   OAB_SHIM_REWRITE=1    after the first read() of PATH, rewrite its first
 *                         bytes in place (same size: only mtime/ctime show it)
 *   OAB_SHIM_TRUNCATE=1   after the first read() of PATH, cut it to half
 *   OAB_SHIM_MARK=FILE    after the first read() of PATH, create FILE ...
 *   OAB_SHIM_SLEEP=N      ... and sleep N seconds (a moment to signal us)
 *   OAB_SHIM_NO_TMPFILE=1 openat() with O_TMPFILE fails (EOPNOTSUPP), as on
 *                         file systems without it
 * Test infrastructure, not code under test. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static int done;

static int is_target(int fd)
{
	const char *want = getenv("OAB_SHIM_FILE");
	char proc[64], path[PATH_MAX];
	ssize_t n;

	if (!want)
		return 0;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, path, sizeof(path) - 1);
	if (n < 0)
		return 0;
	path[n] = '\0';
	return strcmp(path, want) == 0;
}

static void after_read(int fd)
{
	const char *mark = getenv("OAB_SHIM_MARK"), *sl = getenv("OAB_SHIM_SLEEP");

	if (!is_target(fd) || __atomic_exchange_n(&done, 1, __ATOMIC_SEQ_CST))
		return;
	if (getenv("OAB_SHIM_REWRITE")) {
		int w = open(getenv("OAB_SHIM_FILE"), O_WRONLY);

		usleep(20000); /* a later time stamp, even with coarse clocks */
		if (w >= 0) {
			if (pwrite(w, "REWRITTEN", 9, 0) != 9)
				perror("shim: pwrite");
			close(w);
		}
	}
	if (getenv("OAB_SHIM_TRUNCATE")) {
		struct stat st;

		if (fstat(fd, &st) == 0 && truncate(getenv("OAB_SHIM_FILE"), st.st_size / 2) < 0)
			perror("shim: truncate");
	}
	if (mark) {
		int m = open(mark, O_WRONLY | O_CREAT, 0644);

		if (m >= 0)
			close(m);
	}
	if (sl)
		sleep((unsigned)atoi(sl));
}

ssize_t read(int fd, void *buf, size_t n)
{
	static ssize_t (*real)(int, void *, size_t);
	ssize_t r;

	if (!real)
		real = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
	r = real(fd, buf, n);
	if (r > 0 && !done)
		after_read(fd);
	return r;
}

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	(void)buflen;
	return read(fd, buf, n);
}

static int no_tmpfile(int flags)
{
	return (flags & O_TMPFILE) == O_TMPFILE && getenv("OAB_SHIM_NO_TMPFILE");
}

int openat(int dirfd, const char *path, int flags, ...)
{
	static int (*real)(int, const char *, int, ...);
	mode_t mode = 0;
	va_list ap;

	va_start(ap, flags);
	if (flags & (O_CREAT | __O_TMPFILE))
		mode = va_arg(ap, mode_t);
	va_end(ap);
	if (no_tmpfile(flags)) {
		errno = EOPNOTSUPP;
		return -1;
	}
	if (!real)
		real = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat");
	return real(dirfd, path, flags, mode);
}

/* The same function under its large-file name. */
int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));
