/* SPDX-License-Identifier: Apache-2.0 */
/* util.c - errors, small I/O helpers, temp files and secret sources. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "internal.h"

void oab_err_clear(struct oab_err *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

int oab_err_set(struct oab_err *err, enum oab_code code, const char *fmt, ...)
{
	char msg[OAB_ERR_MAX];
	va_list ap;

	if (!err)
		return -1;
	/* Formatted first: an argument may be the old message. */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	oab_err_clear(err);
	err->code = code;
	memcpy(err->msg, msg, sizeof(msg));
	return -1;
}

int oab_err_detail(struct oab_err *err, enum oab_detail detail, const char *member,
		   long long chunk, const char *expected, const char *found)
{
	if (!err)
		return -1;
	err->detail = detail;
	if (member)
		snprintf(err->member, sizeof(err->member), "%s", member);
	err->has_chunk = chunk >= 0;
	err->chunk = chunk >= 0 ? (unsigned long long)chunk : 0;
	if (expected)
		snprintf(err->expected, sizeof(err->expected), "%s", expected);
	if (found)
		snprintf(err->found, sizeof(err->found), "%s", found);
	return -1;
}

int oab_err_prefix(struct oab_err *err, const char *fmt, ...)
{
	char pre[OAB_ERR_MAX], old[OAB_ERR_MAX];
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	{
		size_t pl = strnlen(pre, sizeof(err->msg) - 1);
		size_t ol = strnlen(old, sizeof(old) - 1);

		if (pl + ol > sizeof(err->msg) - 1)
			ol = sizeof(err->msg) - 1 - pl;
		memcpy(err->msg, pre, pl);
		memcpy(err->msg + pl, old, ol);
		err->msg[pl + ol] = '\0';
	}
	return -1;
}

int oab_err_ssl(struct oab_err *err, enum oab_code code, const char *fmt, ...)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	char msg[OAB_ERR_MAX];
	va_list ap;
	size_t n;

	if (!err) {
		ERR_clear_error();
		return -1;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	oab_err_clear(err);
	err->code = code;
	memcpy(err->msg, msg, sizeof(msg));
	n = strlen(err->msg);
	if (reason && n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - n, " (%s)", reason);
	ERR_clear_error();
	return -1;
}

void *oab_calloc_array(size_t n, size_t size)
{
	if (n == 0 || size == 0)
		return calloc(1, 1);
	return calloc(n, size);
}

char *oab_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

void oab_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int oab_unhex(const char *hex, unsigned char *out, size_t n)
{
	if (strlen(hex) != 2 * n)
		return -1;
	for (size_t i = 0; i < 2 * n; i++) {
		char c = hex[i];
		int v;

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else
			return -1; /* lowercase only: one spelling per digest */
		if (i % 2 == 0)
			out[i / 2] = (unsigned char)(v << 4);
		else
			out[i / 2] |= (unsigned char)v;
	}
	return 0;
}

void oab_escape(const char *s, size_t len, char *out, size_t outsz)
{
	size_t o = 0, shown = 0;

	if (outsz == 0)
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (shown++ >= 80) {
			if (o + 3 < outsz) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (o + 5 >= outsz)
			break;
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
		} else {
			snprintf(out + o, outsz - o, "\\x%02x", c);
			o += 4;
		}
	}
	out[o] = '\0';
}

int oab_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void oab_writeback_kick(int fd, uint64_t *kicked, uint64_t written)
{
	/* Start write-back of what was written so far, in steps of
	 * OAB_WRITEBACK_STEP, so the disk works while we compute and the
	 * final fsync has little left to wait for. Advice only: errors are
	 * ignored (fsync reports them). Measured on a 1 GiB extract: the
	 * fsync wait went from ~0.5 s to ~0.1 s. */
	if (written - *kicked < OAB_WRITEBACK_STEP)
		return;
	(void)sync_file_range(fd, (off_t)*kicked, (off_t)(written - *kicked),
			      SYNC_FILE_RANGE_WRITE);
	*kicked = written;
}

ssize_t oab_read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int oab_read_file(const char *path, size_t limit, char **buf, size_t *len,
		  struct oab_err *err)
{
	size_t cap = 64 * 1024, n = 0;
	char *b = NULL;
	struct stat sb;
	int fd;

	/* A regular file only (or standard input): a FIFO, socket or device
	 * is refused before an open that could block. */
	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if (stat(path, &sb) < 0 && errno == ENOENT)
		return oab_err_set(err, OAB_E_USAGE, "'%s': cannot open: %s", path, strerror(errno));
	else if ((fd = oab_open_regular(path, "file", NULL, OAB_E_USAGE, NULL, err)) < 0)
		return -1;
	b = malloc(cap + 1);
	if (!b)
		goto oom;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			if (cap > limit)
				break;
			cap *= 2;
			nb = realloc(b, cap + 1);
			if (!nb)
				goto oom;
			b = nb;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			oab_err_set(err, OAB_E_IO, "'%s': cannot read: %s", path,
				    strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > limit)
			break;
	}
	if (n > limit) {
		oab_err_set(err, OAB_E_USAGE, "'%s': larger than the limit of %zu bytes",
			    path, limit);
		goto fail;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
oom:
	oab_err_set(err, OAB_E_INTERNAL, "'%s': out of memory", path);
fail:
	if (fd != STDIN_FILENO)
		close(fd);
	free(b);
	return -1;
}

int oab_anon_tmpfile(const char *dir, struct oab_err *err)
{
	char *tmpl;
	int fd;

	if (!dir || !*dir)
		dir = ".";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (asprintf(&tmpl, "%s/.otabundle-XXXXXX", dir) < 0)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd < 0) {
		oab_err_set(err, OAB_E_IO, "'%s': cannot create a temporary file: %s",
			    dir, strerror(errno));
	} else {
		unlink(tmpl);
	}
	free(tmpl);
	return fd;
}

int oab_linkable_tmpfile(const char *dir, struct oab_err *err)
{
	int fd = openat(AT_FDCWD, dir && *dir ? dir : ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0)
		return fd;
	if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
		return oab_err_set(err, OAB_E_IO,
				   "folder '%s': its file system cannot make unnamed temporary files (O_TMPFILE), which extract writes into before it links them; nothing written (extract into a local ext4, XFS, btrfs or tmpfs folder)",
				   dir);
	return oab_err_set(err, OAB_E_IO, "folder '%s': cannot create a temporary file: %s", dir,
			   strerror(errno));
}

const char *oab_file_kind(mode_t mode)
{
	return S_ISDIR(mode) ? "a folder" : S_ISFIFO(mode) ? "a FIFO" : S_ISSOCK(mode) ? "a socket"
	       : S_ISCHR(mode) ? "a character device" : S_ISBLK(mode) ? "a block device"
	       : S_ISLNK(mode) ? "a symbolic link" : "not a regular file";
}

int oab_stat_same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int oab_reopen_regular(int pathfd, int dirfd, const char *name, int resolve, struct stat *st)
{
	struct stat now;
	int fd, fl;

	/* pathfd (O_PATH) was resolved without opening the file: a FIFO,
	 * socket or device is refused before anything could block on it or
	 * wake a driver. Then the same name again, for reading; it must
	 * still be the same regular file. */
	if (fstat(pathfd, st) < 0)
		return -1;
	if (!S_ISREG(st->st_mode)) {
		errno = OAB_ENOTREG;
		return -1;
	}
	fd = oab_open_at(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY, resolve);
	if (fd < 0)
		return -1;
	if (fstat(fd, &now) < 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
		close(fd);
		errno = ESTALE;
		return -1;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	*st = now;
	return fd;
}

int oab_open_regular(const char *path, const char *what, const char *shown, enum oab_code nonreg,
		     struct stat *st, struct oab_err *err)
{
	struct stat tmp;
	int pfd, fd, e;

	if (!st)
		st = &tmp;
	if (!shown)
		shown = path;
	pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0)
		return oab_err_set(err, OAB_E_IO, "%s '%s': cannot open: %s", what, shown,
				   strerror(errno));
	fd = oab_reopen_regular(pfd, AT_FDCWD, path, 0, st);
	e = errno;
	close(pfd);
	if (fd >= 0)
		return fd;
	if (e == OAB_ENOTREG)
		return oab_err_set(err, nonreg, "%s '%s': %s, not a regular file", what, shown,
				   oab_file_kind(st->st_mode));
	return oab_err_set(err, OAB_E_IO, "%s '%s': %s%s", what, shown, e == ESTALE ? "" : "cannot open: ",
			   e == ESTALE ? "changed while being opened" : strerror(e));
}

void *oab_secret_alloc(size_t n)
{
	/* Pages of their own: locking them (best effort: without
	 * CAP_IPC_LOCK the limit, often 8 MiB, still covers a few PINs) and
	 * leaving them out of core dumps touches nothing of the embedding
	 * program's memory, and unmapping drops both with the pages. */
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	(void)mlock(p, n);
	(void)madvise(p, n, MADV_DONTDUMP);
	return p;
}

void oab_secret_free(void *p, size_t n)
{
	if (!p)
		return;
	OPENSSL_cleanse(p, n);
	munmap(p, n);
}

static int secret_read(const char *src, const char *what, char *buf, size_t bufsz,
		       struct oab_err *err)
{
	size_t n = 0;

	if (!src)
		return oab_err_set(err, OAB_E_USAGE, "no secret source given");
	if (!what)
		what = src;
	if (strncmp(src, "env:", 4) == 0) {
		const char *v = getenv(src + 4);

		if (!v)
			return oab_err_set(err, OAB_E_USAGE,
					   "secret source '%s': variable is not set", what);
		n = strlen(v);
		if (n >= bufsz)
			return oab_err_set(err, OAB_E_USAGE, "secret source '%s': too long", what);
		memcpy(buf, v, n);
	} else if (strncmp(src, "file:", 5) == 0 || strncmp(src, "fd:", 3) == 0) {
		int fd, own = src[0] == 'f' && src[1] == 'i';
		ssize_t r = 0;

		if (own) {
			/* A FIFO, socket, device or folder is refused before it
			 * is opened (it could block, or read as nothing). */
			fd = oab_open_regular(src + 5, "secret source", what, OAB_E_IO, NULL, err);
			if (fd < 0) {
				if (err)
					err->code = OAB_E_IO; /* also a missing file */
				return -1;
			}
		} else {
			char *end;
			long v = strtol(src + 3, &end, 10);

			if (!src[3] || *end || v < 0 || v > INT_MAX)
				return oab_err_set(err, OAB_E_USAGE,
						   "secret source '%s': expected fd:N", what);
			fd = (int)v;
		}
		/* One byte at a time: stop at the first newline so a pipe can
		 * carry more than one secret. */
		while (n + 1 < bufsz) {
			r = read(fd, buf + n, 1);
			if (r < 0 && errno == EINTR)
				continue;
			if (r != 1 || buf[n] == '\n')
				break;
			n++;
		}
		if (r < 0) {
			int e = errno;

			OPENSSL_cleanse(buf, bufsz);
			if (own)
				close(fd);
			/* An unreadable source must never become an empty
			 * secret: that would cost a token PIN try. */
			return oab_err_set(err, OAB_E_IO, "secret source '%s': cannot read: %s", what,
					   strerror(e));
		}
		if (own)
			close(fd);
		if (n + 1 >= bufsz) {
			OPENSSL_cleanse(buf, bufsz);
			return oab_err_set(err, OAB_E_USAGE, "secret source '%s': too long", what);
		}
		if (n > 0 && buf[n - 1] == '\r')
			n--;
	} else {
		return oab_err_set(err, OAB_E_USAGE,
				   "secret source must be env:VAR, file:PATH or fd:N (literal secrets are not accepted)");
	}
	if (n == 0)
		return oab_err_set(err, OAB_E_IO, "secret source '%s': empty (nothing before the first newline)",
				   what);
	buf[n] = '\0';
	return (int)n;
}

int oab_secret_read(const char *src, const char *what, char *buf, size_t bufsz,
		    struct oab_err *err)
{
	int n = secret_read(src, what, buf, bufsz, err);

	if (n < 0 && err && err->code != OAB_E_INTERNAL)
		oab_err_detail(err, OAB_D_SECRET_SOURCE, NULL, -1, NULL, NULL);
	return n;
}

int oab_online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

static int split_path(const char *path, char **dir, char **base)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		*dir = strdup(".");
		*base = strdup(path);
	} else if (slash == path) {
		*dir = strdup("/");
		*base = strdup(slash + 1);
	} else {
		*dir = strndup(path, (size_t)(slash - path));
		*base = strdup(slash + 1);
	}
	return *dir && *base ? 0 : -1;
}

int oab_output_not_input(const char *out, const char *in, const char *what,
			 struct oab_err *err)
{
	struct stat so, si;

	if (!out || !in || strcmp(in, "-") == 0 || strncmp(in, "pkcs11:", 7) == 0 ||
	    stat(out, &so) < 0 || stat(in, &si) < 0)
		return 0;
	if (so.st_dev == si.st_dev && so.st_ino == si.st_ino) {
		oab_err_set(err, OAB_E_USAGE,
			    "output '%s' is the %s '%s' (the same file); nothing written", out, what, in);
		return oab_err_detail(err, OAB_D_OUTPUT_IS_INPUT, NULL, -1, NULL, out);
	}
	return 0;
}

int oab_output_not_signer_input(const char *out, const struct oab_signer_spec *specs,
				size_t n, const char *const *chain, size_t n_chain,
				struct oab_err *err)
{
	for (size_t i = 0; i < n; i++)
		if (oab_output_not_input(out, specs[i].key, "key", err) < 0 ||
		    oab_output_not_input(out, specs[i].cert, "certificate", err) < 0)
			return -1;
	for (size_t i = 0; i < n_chain; i++)
		if (oab_output_not_input(out, chain[i], "chain file", err) < 0)
			return -1;
	return 0;
}

/* Named temp files (where O_TMPFILE is not available) that a signal
 * handler may have to remove: the one piece of process-wide state in the
 * library, written only by oab_outfile_open/commit/abort and read by
 * oab_tmpfiles_unlink(), which must stay async-signal-safe (atomics,
 * unlinkat, no locks, no allocation). */
#define TMP_SLOTS 16
static struct {
	atomic_int state; /* 0 free, 1 being filled or emptied, 2 live */
	int dirfd;
	char name[NAME_MAX + 1];
} tmp_slots[TMP_SLOTS];

/* Returns 1 + the slot (what struct oab_outfile keeps), 0 if none. */
static int tmp_register(int dirfd, const char *name)
{
	size_t n = strlen(name);

	if (n >= sizeof(tmp_slots[0].name))
		return 0;
	for (int i = 0; i < TMP_SLOTS; i++) {
		int want = 0;

		if (!atomic_compare_exchange_strong(&tmp_slots[i].state, &want, 1))
			continue;
		tmp_slots[i].dirfd = dirfd;
		memcpy(tmp_slots[i].name, name, n + 1);
		atomic_store(&tmp_slots[i].state, 2);
		return i + 1;
	}
	return 0;
}

static void tmp_unregister(int slot)
{
	if (slot > 0 && slot <= TMP_SLOTS)
		atomic_store(&tmp_slots[slot - 1].state, 0);
}

void oab_tmpfiles_unlink(void)
{
	int saved = errno;

	for (int i = 0; i < TMP_SLOTS; i++)
		if (atomic_load(&tmp_slots[i].state) == 2)
			(void)unlinkat(tmp_slots[i].dirfd, tmp_slots[i].name, 0);
	errno = saved;
}

int oab_outfile_open(struct oab_outfile *o, const char *path,
		     struct oab_err *err)
{
	char *dir = NULL;
	struct stat st;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->dirfd = -1;
	if (split_path(path, &dir, &o->base) < 0 || !(o->path = strdup(path))) {
		free(dir);
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	}
	if (!*o->base) {
		oab_err_set(err, OAB_E_USAGE, "output '%s': not a file name", path);
		goto fail;
	}
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		oab_err_set(err, OAB_E_USAGE, "output '%s': is a folder", path);
		goto fail;
	}
	o->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (o->dirfd < 0) {
		oab_err_set(err, OAB_E_IO, "output folder '%s': %s", dir, strerror(errno));
		goto fail;
	}
	o->fd = openat(o->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
	if (o->fd < 0) {
		if (asprintf(&o->tmpname, ".%s.XXXXXX", o->base) < 0) {
			o->tmpname = NULL;
			oab_err_set(err, OAB_E_INTERNAL, "out of memory");
			goto fail;
		}
		/* mkostemp wants a path; build it relative to dir. */
		{
			char *full;

			if (asprintf(&full, "%s/%s", dir, o->tmpname) < 0) {
				oab_err_set(err, OAB_E_INTERNAL, "out of memory");
				goto fail;
			}
			o->fd = mkostemp(full, O_CLOEXEC);
			if (o->fd >= 0) {
				free(o->tmpname);
				o->tmpname = strdup(strrchr(full, '/') + 1);
				fchmod(o->fd, 0644);
				/* Named: removed by oab_tmpfiles_unlink() if a
				 * signal ends the program before abort/commit. */
				if (o->tmpname)
					o->slot = tmp_register(o->dirfd, o->tmpname);
			}
			free(full);
		}
		if (o->fd < 0) {
			oab_err_set(err, OAB_E_IO, "output '%s': cannot create a temporary file: %s",
				    path, strerror(errno));
			goto fail;
		}
	}
	free(dir);
	return 0;
fail:
	free(dir);
	oab_outfile_abort(o);
	return -1;
}

/* An output that exists and replacing was not asked (the caller's
 * option for it is its own to name). */
static int oab_err_exists(struct oab_err *err, const char *name)
{
	oab_err_set(err, OAB_E_IO, "'%s' already exists", name);
	return oab_err_detail(err, OAB_D_EXISTS, name, -1, NULL, NULL);
}

int oab_link_tmpfile(int fd, int dirfd, const char *name, int replace,
		     struct oab_err *err)
{
	char proc[64], tmp[OAB_MAX_NAME + 64];
	unsigned r;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (!replace) {
		if (linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW) == 0)
			return 0;
		if (errno == EEXIST)
			return oab_err_exists(err, name);
		return oab_err_set(err, OAB_E_IO, "'%s': cannot create: %s", name, strerror(errno));
	}
	/* Link under a fresh hidden name, then rename over the target: the
	 * target (even a symlink) is replaced, never written through. */
	for (int tries = 0; tries < 100; tries++) {
		if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
			r = (unsigned)getpid() * 2654435761u + (unsigned)tries;
		snprintf(tmp, sizeof(tmp), ".%.*s.%08x", OAB_MAX_NAME, name, r);
		if (linkat(AT_FDCWD, proc, dirfd, tmp, AT_SYMLINK_FOLLOW) == 0) {
			if (renameat(dirfd, tmp, dirfd, name) == 0)
				return 0;
			int e = errno;
			unlinkat(dirfd, tmp, 0);
			return oab_err_set(err, OAB_E_IO, "'%s': cannot replace: %s", name, strerror(e));
		}
		if (errno != EEXIST)
			break;
	}
	return oab_err_set(err, OAB_E_IO, "'%s': cannot create: %s", name, strerror(errno));
}

/* Link fd under a fresh hidden name ".NAME.XXXXXXXX" in dirfd. */
static int link_hidden(int fd, int dirfd, const char *name, char *hidden, size_t hsz)
{
	char proc[64];
	unsigned r;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	for (int tries = 0; tries < 100; tries++) {
		if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
			r = (unsigned)getpid() * 2654435761u + (unsigned)tries;
		snprintf(hidden, hsz, ".%.*s.%08x", OAB_MAX_NAME, name, r);
		if (linkat(AT_FDCWD, proc, dirfd, hidden, AT_SYMLINK_FOLLOW) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

/* Put target t in place (see oab_targets_commit); t->state says how far
 * it got, also on failure. */
static int target_place(int dirfd, struct oab_target *t, int replace, struct oab_err *err)
{
	struct stat st;
	int e;

	if (fstatat(dirfd, t->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!replace)
			return oab_err_exists(err, t->name);
		if (S_ISDIR(st.st_mode))
			return oab_err_set(err, OAB_E_IO, "'%s' is a folder, not replaced", t->name);
	} else if (errno != ENOENT) {
		return oab_err_set(err, OAB_E_IO, "'%s': %s", t->name, strerror(errno));
	}
	if (link_hidden(t->fd, dirfd, t->name, t->hidden, sizeof(t->hidden)) < 0)
		return oab_err_set(err, OAB_E_IO, "'%s': cannot create: %s", t->name, strerror(errno));
	if (replace && renameat2(dirfd, t->hidden, dirfd, t->name, RENAME_EXCHANGE) == 0) {
		t->state = 2; /* the original now has the hidden name */
		return 0;
	}
	if (replace && errno != ENOENT) {
		/* No RENAME_EXCHANGE here (some file systems): move the original
		 * aside under a second hidden name, then put the new file in. */
		char aside[sizeof(t->hidden)];

		e = errno;
		if (e == EINVAL || e == ENOSYS) {
			snprintf(aside, sizeof(aside), "%s", t->hidden);
			aside[strlen(aside) - 1] ^= 1; /* a sibling of a fresh random name */
			if (fstatat(dirfd, aside, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT &&
			    renameat(dirfd, t->name, dirfd, aside) == 0) {
				if (renameat(dirfd, t->hidden, dirfd, t->name) == 0) {
					memcpy(t->hidden, aside, sizeof(aside));
					t->state = 2;
					return 0;
				}
				e = errno;
				(void)renameat(dirfd, aside, dirfd, t->name);
			} else {
				e = errno;
			}
		}
		unlinkat(dirfd, t->hidden, 0);
		return oab_err_set(err, OAB_E_IO, "'%s': cannot replace: %s", t->name, strerror(e));
	}
	/* No entry of that name: the new file must not replace one made meanwhile. */
	if (renameat2(dirfd, t->hidden, dirfd, t->name, RENAME_NOREPLACE) == 0) {
		t->state = 1;
		return 0;
	}
	e = errno;
	if (e == EINVAL || e == ENOSYS) { /* no RENAME_NOREPLACE: link fails on EEXIST */
		if (linkat(dirfd, t->hidden, dirfd, t->name, 0) == 0) {
			unlinkat(dirfd, t->hidden, 0);
			t->state = 1;
			return 0;
		}
		e = errno;
	}
	unlinkat(dirfd, t->hidden, 0);
	if (e == EEXIST)
		return oab_err_exists(err, t->name);
	return oab_err_set(err, OAB_E_IO, "'%s': cannot create: %s", t->name, strerror(e));
}

int oab_targets_commit(int dirfd, struct oab_target *t, size_t n, int replace,
		       struct oab_err *err)
{
	sigset_t stop, old;
	size_t i;
	int rc;

	/* The renames and their undo are one step: SIGINT, SIGTERM and SIGHUP
	 * wait for its end (this thread's mask only, restored after). */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	for (i = 0; i < n; i++)
		t[i].state = 0;
	for (i = 0; i < n; i++)
		if (target_place(dirfd, &t[i], replace, err) < 0)
			break;
	rc = i < n ? -1 : 0;
	if (rc < 0) {
		/* Undo, newest first: originals back to their names, new entries
		 * removed. */
		while (i-- > 0) {
			if (t[i].state == 2)
				(void)renameat(dirfd, t[i].hidden, dirfd, t[i].name);
			else if (t[i].state == 1)
				(void)unlinkat(dirfd, t[i].name, 0);
			t[i].state = 0;
		}
		(void)fsync(dirfd);
	} else {
		for (i = 0; i < n; i++)
			if (t[i].state == 2)
				(void)unlinkat(dirfd, t[i].hidden, 0); /* the replaced original */
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0 && fsync(dirfd) < 0 && errno != EINVAL)
		return oab_err_set(err, OAB_E_IO, "fsync: %s", strerror(errno));
	return rc;
}

int oab_outfile_commit(struct oab_outfile *o, struct oab_err *err)
{
	if (fsync(o->fd) < 0)
		return oab_err_set(err, OAB_E_IO, "output '%s': fsync: %s", o->path,
				   strerror(errno));
	if (o->tmpname) {
		if (renameat(o->dirfd, o->tmpname, o->dirfd, o->base) < 0)
			return oab_err_set(err, OAB_E_IO, "output '%s': rename: %s",
					   o->path, strerror(errno));
		tmp_unregister(o->slot); /* after the rename: never a window without it */
		o->slot = 0;
		free(o->tmpname);
		o->tmpname = NULL;
	} else if (oab_link_tmpfile(o->fd, o->dirfd, o->base, 1, err) < 0) {
		return oab_err_prefix(err, "output '%s': ", o->path);
	}
	if (fsync(o->dirfd) < 0 && errno != EINVAL)
		return oab_err_set(err, OAB_E_IO, "output folder of '%s': fsync: %s",
				   o->path, strerror(errno));
	close(o->fd);
	o->fd = -1;
	return 0;
}

void oab_outfile_abort(struct oab_outfile *o)
{
	if (o->tmpname && o->dirfd >= 0)
		unlinkat(o->dirfd, o->tmpname, 0);
	tmp_unregister(o->slot);
	if (o->fd >= 0)
		close(o->fd);
	if (o->dirfd >= 0)
		close(o->dirfd);
	free(o->tmpname);
	free(o->path);
	free(o->base);
	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->dirfd = -1;
}
