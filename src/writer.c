/* writer.c - bundle assembly: compress + hash every item into anonymous
 * temp files, emit and sign the resolved manifest, then write the pax
 * archive (manifest.yaml, manifest.sig, members) to a temp file beside the
 * output, fsync and rename. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "internal.h"

int oab_wr_header(struct archive *a, const char *name, uint64_t size, int64_t mtime,
		  struct oab_err *err)
{
	struct archive_entry *e = archive_entry_new();
	int rc = 0;

	if (!e)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	/* Fixed owner, mode and mtime: part of what makes bundles
	 * reproducible (otabundle-format(5)). */
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)size);
	archive_entry_set_mtime(e, (time_t)mtime, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if (archive_write_header(a, e) != ARCHIVE_OK)
		rc = oab_err_set(err, OAB_E_IO, "member '%s': %s", name, archive_error_string(a));
	archive_entry_free(e);
	return rc;
}

int oab_wr_open(struct archive **a, int fd, struct oab_err *err)
{
	*a = archive_write_new();
	/* Unblocked: every archive_write_data() goes straight to write(2)
	 * (no 10 KiB re-blocking copy), and the archive ends right after its
	 * two end-of-archive blocks. */
	if (!*a || archive_write_set_format_pax_restricted(*a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(*a, 0) != ARCHIVE_OK ||
	    archive_write_open_fd(*a, fd) != ARCHIVE_OK) {
		oab_err_set(err, OAB_E_INTERNAL, "cannot start the archive: %s",
			    *a ? archive_error_string(*a) : "out of memory");
		if (*a)
			archive_write_free(*a);
		*a = NULL;
		return -1;
	}
	return 0;
}

/* One member from memory (mem) or from the temp file fd; out_fd is the
 * archive's file, whose write-back is started as the copy goes. */
static int write_member(struct archive *a, const char *name, uint64_t size, int64_t mtime,
			const void *mem, int fd, int out_fd, struct oab_err *err)
{
	int rc = -1;

	if (oab_wr_header(a, name, size, mtime, err) < 0)
		return -1;
	if (mem) {
		if (size && archive_write_data(a, mem, (size_t)size) != (la_ssize_t)size) {
			oab_err_set(err, OAB_E_IO, "member '%s': %s", name, archive_error_string(a));
			goto out;
		}
	} else {
		char *buf = malloc(OAB_IO_BUF);
		uint64_t left = size, kicked = 0;

		if (!buf || lseek(fd, 0, SEEK_SET) < 0) {
			free(buf);
			oab_err_set(err, OAB_E_IO, "member '%s': cannot rewind temporary file", name);
			goto out;
		}
		while (left > 0) {
			size_t want = left < OAB_IO_BUF ? (size_t)left : OAB_IO_BUF;
			ssize_t n = oab_read_full(fd, buf, want);

			if (n != (ssize_t)want) {
				free(buf);
				oab_err_set(err, OAB_E_IO, "member '%s': temporary file: %s", name,
					    n < 0 ? strerror(errno) : "short read");
				goto out;
			}
			if (archive_write_data(a, buf, want) != (la_ssize_t)want) {
				free(buf);
				oab_err_set(err, OAB_E_IO, "member '%s': %s", name, archive_error_string(a));
				goto out;
			}
			left -= want;
			if (out_fd >= 0) {
				off_t at = lseek(out_fd, 0, SEEK_CUR);

				if (at > 0)
					oab_writeback_kick(out_fd, &kicked, (uint64_t)at);
			}
		}
		free(buf);
	}
	rc = 0;
out:
	return rc;
}

static int build_time(const struct oab_build_opts *o, int64_t *out, struct oab_err *err)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	char *end;
	long long v;

	if (o->build_time >= 0) {
		*out = o->build_time;
		return 0;
	}
	if (!sde || !*sde) {
		*out = (int64_t)time(NULL);
		return 0;
	}
	errno = 0;
	v = strtoll(sde, &end, 10);
	if (errno || *end || v < 0 || sde[0] < '0' || sde[0] > '9')
		return oab_err_set(err, OAB_E_USAGE,
				   "SOURCE_DATE_EPOCH='%.40s': expected seconds since 1970 (an integer >= 0)", sde);
	*out = (int64_t)v;
	return 0;
}

int oab_build(struct oab_manifest *m, const struct oab_build_opts *o, struct oab_err *err)
{
	struct oab_signer *signers = NULL;
	STACK_OF(X509) *chain = NULL;
	struct oab_outfile out = {.fd = -1, .dirfd = -1};
	struct archive *a = NULL;
	int *tmp = NULL, threads = o->threads > 0 ? o->threads : oab_online_cpus();
	char *yaml = NULL, *dir = NULL;
	unsigned char *sig = NULL;
	size_t ylen = 0, siglen = 0;
	int rc = -1;

	if (!o->output)
		return oab_err_set(err, OAB_E_USAGE, "no output path given");
	if (build_time(o, &m->created, err) < 0)
		return -1;
	m->has_created = 1;

	/* Keys first: a wrong passphrase must fail before minutes of
	 * compression. */
	tmp = oab_xcalloc(m->n_items, sizeof(*tmp));
	if (!tmp) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m->n_items; i++)
		tmp[i] = -1;
	if (oab_signers_load(o->signers, o->n_signers, o->chain_files, o->n_chain_files,
			     &signers, &chain, err) < 0)
		goto out;
	if (oab_outfile_open(&out, o->output, err) < 0)
		goto out;
	{
		const char *slash = strrchr(o->output, '/');

		dir = slash ? strndup(o->output, (size_t)(slash - o->output) + (slash == o->output))
			    : strdup(".");
		if (!dir) {
			oab_err_set(err, OAB_E_INTERNAL, "out of memory");
			goto out;
		}
	}
	for (size_t i = 0; i < m->n_items; i++) {
		tmp[i] = oab_anon_tmpfile(dir, err);
		if (tmp[i] < 0)
			goto out;
		if (oab_payload_pack(&m->items[i], tmp[i], threads, o->progress, o->progress_arg,
				     err) < 0)
			goto out;
	}
	if (oab_manifest_emit(m, &yaml, &ylen, err) < 0)
		goto out;
	if (o->n_signers && oab_cms_sign((unsigned char *)yaml, ylen, signers, o->n_signers,
					 chain, &sig, &siglen, err) < 0)
		goto out;

	if (oab_wr_open(&a, out.fd, err) < 0)
		goto out;
	if (write_member(a, "manifest.yaml", ylen, m->created, yaml, -1, -1, err) < 0)
		goto werr;
	if (sig && write_member(a, "manifest.sig", siglen, m->created, sig, -1, -1, err) < 0)
		goto werr;
	for (size_t i = 0; i < m->n_items; i++)
		if (write_member(a, m->items[i].member, m->items[i].stored_size, m->created, NULL,
				 tmp[i], out.fd, err) < 0)
			goto werr;
	if (archive_write_close(a) != ARCHIVE_OK) {
		oab_err_set(err, OAB_E_IO, "%s", archive_error_string(a));
		goto werr;
	}
	if (oab_outfile_commit(&out, err) < 0)
		goto out;
	rc = 0;
	goto out;
werr:
	oab_err_prefix(err, "writing '%s': ", o->output);
out:
	if (a)
		archive_write_free(a);
	oab_outfile_abort(&out);
	for (size_t i = 0; tmp && i < m->n_items; i++)
		if (tmp[i] >= 0)
			close(tmp[i]);
	oab_signers_free(signers, o->n_signers);
	sk_X509_pop_free(chain, X509_free);
	free(tmp);
	free(yaml);
	free(sig);
	free(dir);
	return rc;
}
