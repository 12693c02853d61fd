/* SPDX-License-Identifier: Apache-2.0 */
/* writer.c - bundle assembly (oab_build): compress + hash every item
 * straight into the output's named temp file beside it, each member after
 * a 512-byte slot for its tar header; emit and sign the resolved manifest;
 * put the manifest and signature in front in place (FALLOC_FL_INSERT_RANGE),
 * or, where that cannot be done, copy the members behind them into a
 * second temp file; then fsync and rename over the output. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

/* One member, its data from memory (mem) or from fd at offset off. */
static int write_member(struct archive *a, const char *name, uint64_t size, int64_t mtime,
			const void *mem, int fd, uint64_t off, struct oab_err *err)
{
	char *buf;
	uint64_t left = size;

	if (oab_wr_header(a, name, size, mtime, err) < 0)
		return -1;
	if (mem) {
		if (size && archive_write_data(a, mem, (size_t)size) != (la_ssize_t)size)
			return oab_err_set(err, OAB_E_IO, "member '%s': %s", name,
					   archive_error_string(a));
		return 0;
	}
	if (!(buf = malloc(OAB_IO_BUF)))
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	while (left > 0) {
		size_t want = left < OAB_IO_BUF ? (size_t)left : OAB_IO_BUF;
		ssize_t n = pread(fd, buf, want, (off_t)off);

		if (n != (ssize_t)want) {
			oab_err_set(err, OAB_E_IO, "member '%s': temporary file: %s", name,
				    n < 0 ? strerror(errno) : "short read");
			free(buf);
			return -1;
		}
		if (archive_write_data(a, buf, want) != (la_ssize_t)want) {
			oab_err_set(err, OAB_E_IO, "member '%s': %s", name, archive_error_string(a));
			free(buf);
			return -1;
		}
		left -= want;
		off += want;
	}
	free(buf);
	return 0;
}

/* In-place layout. Build compresses every member straight into the
 * output file, each after a 512-byte slot for its tar header, starting at
 * offset 0. When the members are known, the manifest and signature
 * entries (their size padded to a multiple of 4 KiB with zero bytes after
 * the signature's DER) are put in front with FALLOC_FL_INSERT_RANGE, which
 * moves extents instead of bytes, and libarchive writes every header,
 * padding and the end of the archive at their offsets through place_write.
 * The member data it is given in that pass is zeros that are not written:
 * the compressed bytes are already there. */
struct place {
	int fd;
	uint64_t pos;
	int skipping; /* member data: count, do not write */
	int dry;      /* count only: check the layout before touching the file */
};

static la_ssize_t place_write(struct archive *a, void *ctx, const void *buf, size_t n)
{
	struct place *p = ctx;
	const char *c = buf;
	size_t done = 0;

	while (!p->dry && !p->skipping && done < n) {
		ssize_t w = pwrite(p->fd, c + done, n - done, (off_t)(p->pos + done));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			archive_set_error(a, w < 0 ? errno : EIO, "%s",
					  strerror(w < 0 ? errno : EIO));
			return -1;
		}
		done += (size_t)w;
	}
	p->pos += n;
	return (la_ssize_t)n;
}

/* Run the layout over p (see struct place): the manifest entry, the
 * signature entry (sig, siglen bytes incl. padding), then, unless
 * head_only, every item's header at shift + slot[i] and its data after.
 * Returns 0, 1 if libarchive's layout is not the one assumed (nothing
 * written if p->dry), -1 on error. *head is the size of the first two
 * entries. */
static int place_layout(struct place *p, const struct oab_manifest *m, const char *yaml,
			size_t ylen, const unsigned char *sig, size_t siglen, const uint64_t *slot,
			uint64_t shift, int head_only, uint64_t *head, struct oab_err *err)
{
	static const unsigned char zeros[64 * 1024];
	struct archive *a = archive_write_new();
	int rc = -1;

	p->pos = 0;
	p->skipping = 0;
	if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
	    archive_write_open(a, p, NULL, place_write, NULL) != ARCHIVE_OK) {
		oab_err_set(err, OAB_E_INTERNAL, "cannot start the archive: %s",
			    a ? archive_error_string(a) : "out of memory");
		goto out;
	}
	if (write_member(a, "manifest.yaml", ylen, m->created, yaml, -1, 0, err) < 0 ||
	    write_member(a, "manifest.sig", siglen, m->created, sig, -1, 0, err) < 0 ||
	    archive_write_finish_entry(a) != ARCHIVE_OK)
		goto werr;
	*head = p->pos;
	if (head_only) {
		rc = 0;
		goto out;
	}
	if (p->pos != shift) {
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < m->n_items; i++) {
		const struct oab_item *it = &m->items[i];
		uint64_t left = it->stored_size;

		if (oab_wr_header(a, it->member, it->stored_size, m->created, err) < 0)
			goto werr;
		if (p->pos != shift + slot[i] + 512) {
			rc = 1; /* a longer (pax) header: stored size >= 8 GiB */
			goto out;
		}
		p->skipping = 1;
		while (left > 0) {
			size_t n = left < sizeof(zeros) ? (size_t)left : sizeof(zeros);

			if (archive_write_data(a, zeros, n) != (la_ssize_t)n) {
				p->skipping = 0;
				oab_err_set(err, OAB_E_IO, "member '%s': %s", it->member,
					    archive_error_string(a));
				goto werr;
			}
			left -= n;
		}
		p->skipping = 0;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		oab_err_set(err, OAB_E_IO, "%s", archive_error_string(a));
		goto werr;
	}
	rc = 0;
	goto out;
werr:
	if (!err->code)
		oab_err_set(err, OAB_E_IO, "%s", archive_error_string(a));
out:
	if (a)
		archive_write_free(a);
	return rc;
}

/* Try the in-place layout on out->fd (members at slot[i] + 512 from 0).
 * Returns 0 if the bundle is complete in out->fd, 1 if this file system
 * or this bundle cannot have it (nothing changed), -1 on error. */
static int place_bundle(struct oab_outfile *out, const struct oab_manifest *m, const char *yaml,
			size_t ylen, const unsigned char *sig, size_t siglen, const uint64_t *slot,
			struct oab_err *err)
{
	struct place p = {.fd = out->fd, .dry = 1};
	unsigned char *padded = NULL;
	uint64_t head = 0, h2 = 0;
	size_t plen;
	int rc;

	/* Head size with the bare signature, then pad the signature so the
	 * head ends on a 4 KiB boundary (fewer than OAB_SIG_PAD_MAX zeros). */
	if (place_layout(&p, m, yaml, ylen, sig, siglen, slot, 0, 1, &head, err) < 0)
		return -1;
	plen = ((siglen + 511) & ~(size_t)511) + (size_t)((4096 - head % 4096) % 4096);
	if (plen - siglen >= OAB_SIG_PAD_MAX)
		return 1;
	padded = calloc(1, plen);
	if (!padded)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	memcpy(padded, sig, siglen);
	if (place_layout(&p, m, yaml, ylen, padded, plen, slot, 0, 1, &head, err) < 0) {
		rc = -1;
		goto out;
	}
	rc = 1;
	if (head % 4096 != 0)
		goto out;
	/* The whole layout, counted only; then move the members and write. */
	rc = place_layout(&p, m, yaml, ylen, padded, plen, slot, head, 0, &h2, err);
	if (rc != 0)
		goto out;
	if (fallocate(out->fd, FALLOC_FL_INSERT_RANGE, 0, (off_t)head) < 0) {
		rc = 1; /* EOPNOTSUPP (tmpfs, btrfs, ...), EINVAL: copy instead */
		goto out;
	}
	p.dry = 0;
	rc = place_layout(&p, m, yaml, ylen, padded, plen, slot, head, 0, &h2, err);
	if (rc == 0 && ftruncate(out->fd, (off_t)p.pos) < 0)
		rc = oab_err_set(err, OAB_E_IO, "cannot size the output: %s", strerror(errno));
	if (rc > 0) /* cannot happen: the dry run checked the same layout */
		rc = oab_err_set(err, OAB_E_INTERNAL, "archive layout changed between passes");
out:
	free(padded);
	return rc;
}

int oab_output_time(int64_t given, int64_t fallback, int64_t *out, struct oab_err *err)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	char *end, esc[400];
	long long v;

	if (given > 0) { /* 0 (zero-initialised) and below: as below */
		if (given > OAB_TIME_MAX)
			return oab_err_set(err, OAB_E_USAGE,
					   "build time %lld: after 9999-12-31T23:59:59Z (%lld)",
					   (long long)given, (long long)OAB_TIME_MAX);
		*out = given;
		return 0;
	}
	if ((!sde || !*sde) && fallback >= 0) {
		*out = fallback;
		return 0;
	}
	if (!sde || !*sde) {
		*out = (int64_t)time(NULL);
		if (*out < 0 || *out > OAB_TIME_MAX)
			return oab_err_set(err, OAB_E_USAGE, "the clock reads %lld: outside 1970 to 9999",
					   (long long)*out);
		return 0;
	}
	/* Past year 9999 the build would write a `created` that its own
	 * verifier refuses and tar member times that GNU tar rejects. */
	errno = 0;
	v = strtoll(sde, &end, 10);
	if (errno || *end || v < 0 || v > OAB_TIME_MAX || sde[0] < '0' || sde[0] > '9') {
		oab_escape(sde, strlen(sde), esc, sizeof(esc));
		return oab_err_set(err, OAB_E_USAGE,
				   "SOURCE_DATE_EPOCH='%s': expected seconds since 1970, an integer from 0 to %lld (9999-12-31T23:59:59Z)",
				   esc, (long long)OAB_TIME_MAX);
	}
	*out = (int64_t)v;
	return 0;
}

/* zstd levels 20-22 take GiBs (level 22 on 1 GiB at -j2: 2.3 GiB): only
 * when asked for, and then say how much, before any work. The size is
 * only for the estimate; a source that cannot be read fails later. */
static int check_ultra(const struct oab_manifest *m, const struct oab_build_opts *o,
		       int threads, struct oab_err *err)
{
	for (size_t i = 0; i < m->n_items; i++) {
		const struct oab_item *it = &m->items[i];
		struct stat st;
		char msg[256];
		uint64_t est;

		if (it->compression != OAB_COMP_ZSTD || it->level < OAB_ZSTD_ULTRA_MIN)
			continue;
		if (!o->ultra) {
			oab_err_set(err, OAB_E_USAGE,
				    "'%s': zstd level %d needs ultra mode (levels %d-22 use windows up to 128 MiB and GiBs of memory)",
				    it->name, it->level, OAB_ZSTD_ULTRA_MIN);
			return oab_err_detail(err, OAB_D_ULTRA_NEEDED, it->name, -1, NULL, NULL);
		}
		est = oab_zstd_mem_estimate(it->level, it->source && stat(it->source, &st) == 0 &&
						       st.st_size > 0 ? (uint64_t)st.st_size : 0,
					    threads);
		snprintf(msg, sizeof(msg),
			 "'%s': zstd level %d with %d worker%s needs about %llu MiB of memory",
			 it->name, it->level, threads, threads == 1 ? "" : "s",
			 (unsigned long long)((est + (1 << 20) - 1) >> 20));
		if (o->warn)
			o->warn(o->warn_arg, msg);
	}
	return 0;
}

int oab_build(struct oab_manifest *m, const struct oab_build_opts *o, struct oab_err *err)
{
	struct oab_signer *signers = NULL;
	STACK_OF(X509) *chain = NULL;
	STACK_OF(X509_CRL) *crls = NULL;
	struct oab_outfile out = {.fd = -1, .dirfd = -1}, out2 = {.fd = -1, .dirfd = -1};
	struct archive *a = NULL;
	int threads = o->threads > 0 ? o->threads : oab_online_cpus();
	uint64_t *slot = NULL, r = 0;
	char *yaml = NULL;
	unsigned char *sig = NULL;
	size_t ylen = 0, siglen = 0;
	struct oab_roots roots = {.mdir_fd = -1};
	struct stat *seen = NULL, st;
	int *bases = NULL; /* per item: the base of a delta payload, or -1 */
	int rc = -1, placed = 1;

	if (!o->output)
		return oab_err_set(err, OAB_E_USAGE, "no output path given");
	if (oab_output_time(o->build_time, -1, &m->created, err) < 0)
		return -1;
	m->has_created = 1;
	if (o->warn && m->has_expires && m->expires <= (int64_t)time(NULL)) {
		char when[32], msg[128];

		oab_time_format(m->expires, when);
		snprintf(msg, sizeof(msg), "bundle.expires (%s) is already past: verify rejects this bundle", when);
		o->warn(o->warn_arg, msg);
	}
	if (check_ultra(m, o, threads, err) < 0)
		return -1;

	/* No input may be the output (it would be replaced by the bundle). */
	if (oab_output_not_input(o->output, o->manifest_path, "manifest", err) < 0 ||
	    oab_output_not_signer_input(o->output, o->signers, o->n_signers, o->chain_files,
					o->n_chain_files, err) < 0)
		return -1;
	for (size_t i = 0; i < m->n_items; i++)
		if (oab_output_not_input(o->output, m->items[i].source, "payload source", err) < 0)
			return -1;
	/* Every source is checked (confined, a regular file) before any
	 * key is loaded or anything is written; what is seen here must still
	 * be there when it is read. Then keys: a wrong passphrase must fail
	 * before minutes of compression. */
	slot = oab_calloc_array(m->n_items, sizeof(*slot));
	seen = oab_calloc_array(m->n_items, sizeof(*seen));
	bases = oab_calloc_array(m->n_items, sizeof(*bases));
	for (size_t i = 0; bases && i < m->n_items; i++)
		bases[i] = -1;
	if (!slot || !seen || !bases) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	if (oab_roots_open(&roots, m->source_dir, o->source_roots, o->n_source_roots, err) < 0)
		goto out;
	for (size_t i = 0; i < m->n_items; i++) {
		int fd = oab_source_open(&roots, &m->items[i], &seen[i], err);

		if (fd < 0)
			goto out;
		close(fd);
	}
	if (oab_signers_load(o->signers, o->n_signers, o->chain_files, o->n_chain_files,
			     o->trust, &signers, &chain, err) < 0 ||
	    oab_crls_for_signing(o->crl_files, o->n_crl_files, (int64_t)time(NULL), o->warn,
				 o->warn_arg, &crls, err) < 0)
		goto out;
	if (oab_delta_bases_open(m, o, &roots, bases, err) < 0)
		goto out;
	if (oab_outfile_open(&out, o->output, err) < 0)
		goto out;
	/* Every member straight into the output file, after a slot for its
	 * header; data padded to 512 bytes (a hole reads as zeros). */
	for (size_t i = 0; i < m->n_items; i++) {
		int fd, prc;

		slot[i] = r;
		if (lseek(out.fd, (off_t)(r + 512), SEEK_SET) < 0) {
			oab_err_set(err, OAB_E_IO, "writing '%s': %s", o->output, strerror(errno));
			goto out;
		}
		fd = oab_source_open(&roots, &m->items[i], &st, err);
		if (fd < 0)
			goto out;
		if (bases[i] >= 0) {
			struct oab_delta_params prm = {.level = m->items[i].level_line ? m->items[i].level : 0};

			prc = oab_delta_pack_fd(&m->items[i], fd, &seen[i], bases[i], &prm, out.fd, threads,
						o->progress, o->progress_arg, err);
		} else {
			prc = oab_payload_pack_fd(&m->items[i], fd, &seen[i], out.fd, threads,
						  o->progress, o->progress_arg, err);
		}
		close(fd);
		if (prc < 0)
			goto out;
		r = (r + 512 + m->items[i].stored_size + 511) & ~(uint64_t)511;
	}
	if (oab_manifest_emit(m, &yaml, &ylen, err) < 0)
		goto out;
	/* a manifest no reader would take (its delta segment lines, escaped
	 * meta) is refused here, not shipped */
	if (ylen > OAB_MAX_MANIFEST_BYTES) {
		oab_err_set(err, OAB_E_USAGE,
			    "the resolved manifest would be %zu bytes, more than the %d bytes a verifier reads; nothing written",
			    ylen, OAB_MAX_MANIFEST_BYTES);
		goto out;
	}
	if (o->n_signers && oab_cms_sign((unsigned char *)yaml, ylen, signers, o->n_signers,
					 chain, &sig, &siglen, err) < 0)
		goto out;
	if (sig && oab_cms_der_add_crls(&sig, &siglen, crls, err) < 0)
		goto out;
	if (sig && o->tsa_url && oab_tsa_stamp(&sig, &siglen, o->tsa_url, o->tsa_timeout, NULL, err) < 0)
		goto out;

	/* Signed bundles: the head goes in front of the members in place.
	 * Unsigned ones (nothing to pad), other file systems, members of 8 GiB
	 * or more: copied into a second file instead. */
	if (sig) {
		placed = place_bundle(&out, m, yaml, ylen, sig, siglen, slot, err);
		if (placed < 0)
			goto werr;
	}
	if (placed == 0) {
		if (oab_outfile_commit(&out, err) < 0)
			goto out;
		rc = 0;
		goto out;
	}
	if (oab_outfile_open(&out2, o->output, err) < 0)
		goto out;
	if (oab_wr_open(&a, out2.fd, err) < 0)
		goto out;
	if (write_member(a, "manifest.yaml", ylen, m->created, yaml, -1, 0, err) < 0)
		goto werr;
	if (sig && write_member(a, "manifest.sig", siglen, m->created, sig, -1, 0, err) < 0)
		goto werr;
	for (size_t i = 0; i < m->n_items; i++)
		if (write_member(a, m->items[i].member, m->items[i].stored_size, m->created, NULL,
				 out.fd, slot[i] + 512, err) < 0)
			goto werr;
	if (archive_write_close(a) != ARCHIVE_OK) {
		oab_err_set(err, OAB_E_IO, "%s", archive_error_string(a));
		goto werr;
	}
	if (oab_outfile_commit(&out2, err) < 0)
		goto out;
	rc = 0;
	goto out;
werr:
	oab_err_prefix(err, "writing '%s': ", o->output);
out:
	if (a)
		archive_write_free(a);
	oab_outfile_abort(&out2);
	oab_outfile_abort(&out);
	oab_signers_free(signers, o->n_signers);
	sk_X509_pop_free(chain, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	free(slot);
	free(seen);
	for (size_t i = 0; bases && i < m->n_items; i++)
		if (bases[i] >= 0)
			close(bases[i]);
	free(bases);
	oab_roots_close(&roots);
	free(yaml);
	free(sig);
	return rc;
}
