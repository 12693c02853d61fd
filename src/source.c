/* SPDX-License-Identifier: Apache-2.0 */
/* source.c - open a build's sources beneath the manifest's folder (and
 * the folders the command line allows), never a file the manifest only
 * points at: an untrusted manifest must not sign the CI's secrets into a
 * bundle. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

void oab_roots_close(struct oab_roots *r)
{
	if (r->mdir_fd >= 0)
		close(r->mdir_fd);
	for (size_t i = 0; i < r->n; i++) {
		if (r->fd[i] >= 0)
			close(r->fd[i]);
		free(r->real[i]);
	}
	free(r->mdir_real);
	free(r->fd);
	free(r->real);
	memset(r, 0, sizeof(*r));
	r->mdir_fd = -1;
}

static int open_dir(const char *path, const char *what, int *fd, char **real,
		    struct oab_err *err)
{
	*fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return oab_err_set(err, errno == ENOENT || errno == ENOTDIR ? OAB_E_USAGE : OAB_E_IO,
				   "%s '%s': %s", what, path, strerror(errno));
	*real = realpath(path, NULL);
	if (!*real)
		return oab_err_set(err, OAB_E_IO, "%s '%s': %s", what, path, strerror(errno));
	return 0;
}

int oab_roots_open(struct oab_roots *r, const char *manifest_dir, const char *const *roots,
		   size_t n, struct oab_err *err)
{
	memset(r, 0, sizeof(*r));
	r->mdir_fd = -1;
	r->fd = oab_calloc_array(n, sizeof(*r->fd));
	r->real = oab_calloc_array(n, sizeof(*r->real));
	if (!r->fd || !r->real) {
		oab_roots_close(r);
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		r->fd[i] = -1;
	r->n = n;
	if (open_dir(manifest_dir && *manifest_dir ? manifest_dir : ".", "manifest folder",
		     &r->mdir_fd, &r->mdir_real, err) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (open_dir(roots[i], "source root", &r->fd[i], &r->real[i], err) < 0)
			goto fail;
	return 0;
fail:
	oab_roots_close(r);
	return -1;
}

/* full (a realpath) beneath root (a realpath): the rest, or NULL. */
static const char *beneath(const char *full, const char *root)
{
	size_t n = strlen(root);

	if (n == 1 && root[0] == '/')
		return full + 1;
	if (strncmp(full, root, n) != 0 || (full[n] != '/' && full[n] != '\0'))
		return NULL;
	return full[n] ? full + n + 1 : ".";
}

int oab_source_open(const struct oab_roots *r, const struct oab_item *it, struct stat *st,
		    struct oab_err *err)
{
	const char *written = it->source_raw ? it->source_raw : it->source;
	const char *where = it->source_where ? it->source_where : it->name;
	const char *rest = NULL;
	char *full = NULL, esc[4 * 80 + 4], fesc[4 * 80 + 4];
	int dirfd = -1, pfd = -1, fd = -1, e;

	oab_escape(written, strlen(written), esc, sizeof(esc));
	/* The common case: a relative path that stays inside. */
	if (written[0] != '/') {
		pfd = oab_open_at(r->mdir_fd, written, O_PATH, OAB_BENEATH);
		if (pfd >= 0) {
			dirfd = r->mdir_fd;
			rest = written;
		} else if (errno != EXDEV) {
			e = errno;
			return oab_err_set(err, e == ENOENT || e == EACCES || e == ENOTDIR || e == ELOOP
					   ? OAB_E_USAGE : OAB_E_IO, "%s: source '%s': %s", where, esc,
					   strerror(e));
		}
	}
	if (pfd < 0) {
		/* It leads out (.., absolute path or symlink): allowed only
		 * where it ends beneath the manifest's folder (an absolute
		 * symlink back in) or a --source-root. The rest is opened
		 * beneath that root again, so a swap meanwhile cannot lead
		 * further. */
		full = realpath(it->source, NULL);
		if (!full) {
			e = errno;
			return oab_err_set(err, e == ENOENT || e == EACCES || e == ENOTDIR || e == ELOOP
					   ? OAB_E_USAGE : OAB_E_IO, "%s: source '%s': %s", where, esc,
					   strerror(e));
		}
		if (written[0] != '/' && (rest = beneath(full, r->mdir_real)))
			dirfd = r->mdir_fd;
		for (size_t i = 0; !rest && i < r->n; i++)
			if ((rest = beneath(full, r->real[i])))
				dirfd = r->fd[i];
		oab_escape(full, strlen(full), fesc, sizeof(fesc));
		if (!rest) {
			oab_err_set(err, OAB_E_USAGE,
				    "%s: source '%s' resolves to '%s', outside the manifest's folder%s",
				    where, esc, fesc, r->n ? " and every source root" : "");
			oab_err_detail(err, OAB_D_SOURCE_OUTSIDE, NULL, -1, NULL, fesc);
			goto out;
		}
		pfd = oab_open_at(dirfd, rest, O_PATH, OAB_BENEATH);
		if (pfd < 0) {
			oab_err_set(err, OAB_E_IO, "%s: source '%s' ('%s'): %s", where, esc, fesc,
				    strerror(errno));
			goto out;
		}
	}
	fd = oab_reopen_regular(pfd, dirfd, rest, OAB_BENEATH, st);
	if (fd < 0) {
		e = errno;
		if (e == OAB_ENOTREG) {
			oab_err_set(err, OAB_E_USAGE, "%s: source '%s' is %s, not a regular file", where,
				    esc, oab_file_kind(st->st_mode));
		} else if (e == ESTALE) {
			oab_err_set(err, OAB_E_IO, "%s: source '%s' changed while being read", where, esc);
			oab_err_detail(err, OAB_D_SOURCE_CHANGED, NULL, -1, NULL, NULL);
		} else {
			oab_err_set(err, e == EACCES ? OAB_E_USAGE : OAB_E_IO, "%s: source '%s': %s",
				    where, esc, strerror(e));
		}
	}
out:
	if (pfd >= 0)
		close(pfd);
	free(full);
	return fd;
}
