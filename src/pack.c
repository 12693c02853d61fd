/* SPDX-License-Identifier: Apache-2.0 */
/* pack.c - the build side of a payload: one source file -> zstd stream
 * (multithreaded) -> the bundle being written, hashing both sides (and
 * each stored chunk) as the bytes pass. The decoder is in payload.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/crypto.h>
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

#include "internal.h"

int oab_digest_init(EVP_MD_CTX **ctx, struct oab_err *err)
{
	*ctx = EVP_MD_CTX_new();
	if (!*ctx || EVP_DigestInit_ex(*ctx, EVP_sha256(), NULL) != 1)
		return oab_err_ssl(err, OAB_E_INTERNAL, "cannot start SHA-256");
	return 0;
}

uint32_t oab_chunk_size_for(uint64_t content_size)
{
	uint64_t cs = OAB_CHUNK_DEFAULT;

	/* The stored size is at most about the content size: this keeps an
	 * item's list at 2048 hashes or fewer up to 32 GiB of content. */
	while (cs < OAB_CHUNK_MAX && content_size / cs > 2048)
		cs *= 2;
	return (uint32_t)cs;
}

int oab_chunk_close(struct oab_chunker *c)
{
	unsigned int dl;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		void *p = realloc(c->md, cap * 32);

		if (!p)
			return -1;
		c->md = p;
		c->cap = cap;
	}
	if (EVP_DigestFinal_ex(c->ctx, c->md[c->n], &dl) != 1 ||
	    EVP_DigestInit_ex(c->ctx, EVP_sha256(), NULL) != 1)
		return -1;
	c->n++;
	c->fill = 0;
	return 0;
}

int oab_chunk_update(struct oab_chunker *c, const unsigned char *p, size_t n)
{
	while (n > 0) {
		size_t take = c->size - c->fill;

		if (take > n)
			take = n;
		if (EVP_DigestUpdate(c->ctx, p, take) != 1)
			return -1;
		c->fill += (uint32_t)take;
		p += take;
		n -= take;
		if (c->fill == c->size && oab_chunk_close(c) < 0)
			return -1;
	}
	return 0;
}

/* Input read size: three of these are in flight (being compressed, being
 * hashed); small enough that build's memory stays close to zstd's own. */
#define PACK_IN_BUF (512 * 1024)

int oab_payload_pack(struct oab_item *it, int out_fd, int threads,
		     oab_progress_fn progress, void *parg, struct oab_err *err)
{
	static const char *const anywhere[] = {"/"};
	struct oab_roots roots;
	struct stat st;
	int fd, rc = -1;

	if (oab_roots_open(&roots, ".", anywhere, 1, err) < 0)
		return -1;
	fd = oab_source_open(&roots, it, &st, err);
	if (fd >= 0) {
		rc = oab_payload_pack_fd(it, fd, &st, out_fd, threads, progress, parg, err);
		close(fd);
	}
	oab_roots_close(&roots);
	return rc;
}

/* The source changed under us: size, times or inode differ from before,
 * or it gave more or fewer bytes than its size said. */
int oab_source_changed(const struct oab_item *it, struct oab_err *err)
{
	char esc[4 * 80 + 4];
	const char *src = it->source_raw ? it->source_raw : it->source;

	oab_escape(src, strlen(src), esc, sizeof(esc));
	return oab_err_set(err, OAB_E_IO, "%s: source '%s' changed while being read",
			   it->source_where ? it->source_where : it->name, esc);
}

int oab_payload_pack_fd(struct oab_item *it, int fd, const struct stat *before, int out_fd,
			int threads, oab_progress_fn progress, void *parg, struct oab_err *err)
{
	struct oab_hasher *hin = NULL;
	struct oab_chunker ch = {0};
	ZSTD_CCtx *cc = NULL;
	/* Input is read into in[cur] and lent to the hashing thread (no
	 * copy); in[cur] is refilled only after its ticket was hashed. */
	unsigned char *ins[3] = {NULL, NULL, NULL}, *in, *out = NULL;
	off_t base = lseek(out_fd, 0, SEEK_CUR); /* write-back starts as we go */
	uint64_t tickets[3] = {0, 0, 0}, kicked = base > 0 ? (uint64_t)base : 0;
	unsigned cur = 0;
	/* 1 MiB: each call drains up to 1 MiB of finished zstd jobs, so their
	 * 8 MiB output buffers are released sooner (with 256 KiB, build's peak
	 * RSS reached 89-93 MiB in 3 of 14 runs; with 1-2 MiB at most 81). */
	size_t outsz = ZSTD_CStreamOutSize() * 8;
	uint64_t total = 0, stored = 0;
	struct stat st = *before, now;
	int rc = -1;

	if (fstat(fd, &now) < 0 || !oab_stat_same(before, &now))
		return oab_source_changed(it, err);
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (int i = 0; i < 3; i++)
		ins[i] = malloc(PACK_IN_BUF);
	out = malloc(outsz);
	if (!ins[0] || !ins[1] || !ins[2] || !out) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	if (!(hin = oab_hasher_new(err)))
		goto out;
	if (it->compression == OAB_COMP_ZSTD) {
		ch.size = oab_chunk_size_for((uint64_t)st.st_size);
		if (oab_digest_init(&ch.ctx, err) < 0)
			goto out;
	}
	if (it->compression == OAB_COMP_ZSTD) {
		cc = ZSTD_createCCtx();
		if (!cc) {
			oab_err_set(err, OAB_E_INTERNAL, "out of memory");
			goto out;
		}
		/* Always multithreaded mode (nbWorkers >= 1): its output does
		 * not depend on the worker count, so bundles are the same on
		 * every machine. */
		if (oab_zcheck(ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, it->level), "level", it->name, err) < 0 ||
		    oab_zcheck(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1), "checksum", it->name, err) < 0 ||
		    oab_zcheck(ZSTD_CCtx_setParameter(cc, ZSTD_c_nbWorkers, threads < 1 ? 1 : threads), "workers", it->name, err) < 0 ||
		    oab_zcheck(ZSTD_CCtx_setPledgedSrcSize(cc, (unsigned long long)st.st_size), "size", it->name, err) < 0)
			goto out;
		if (it->level > ZSTD_maxCLevel()) {
			oab_err_set(err, OAB_E_USAGE, "'%s': zstd level %d above the maximum %d",
				    it->name, it->level, ZSTD_maxCLevel());
			goto out;
		}
	}
	for (;;) {
		ssize_t n;
		int last;

		in = ins[cur];
		oab_hasher_wait(hin, tickets[cur]);
		n = oab_read_full(fd, in, PACK_IN_BUF);

		if (n < 0) {
			oab_err_set(err, OAB_E_IO, "'%s': reading '%s': %s", it->name, it->source,
				    strerror(errno));
			goto out;
		}
		total += (uint64_t)n;
		last = (size_t)n < PACK_IN_BUF;
		if (total > (uint64_t)st.st_size) {
			oab_source_changed(it, err);
			goto out;
		}
		tickets[cur] = oab_hasher_lend(hin, in, (size_t)n);
		cur = (cur + 1) % 3;
		if (!cc) {
			if (oab_write_all(out_fd, in, (size_t)n) < 0)
				goto werr;
			stored += (uint64_t)n;
		} else {
			ZSTD_inBuffer ib = {in, (size_t)n, 0};
			ZSTD_EndDirective mode = last ? ZSTD_e_end : ZSTD_e_continue;
			size_t left;

			do {
				ZSTD_outBuffer ob = {out, outsz, 0};

				left = ZSTD_compressStream2(cc, &ob, &ib, mode);
				/* A source shorter than its pledged size. */
				if (ZSTD_isError(left) && ZSTD_getErrorCode(left) == ZSTD_error_srcSize_wrong) {
					oab_source_changed(it, err);
					goto out;
				}
				if (oab_zcheck(left, "compression", it->name, err) < 0)
					goto out;
				if (ob.pos) {
					if (oab_write_all(out_fd, out, ob.pos) < 0)
						goto werr;
					if (oab_chunk_update(&ch, out, ob.pos) < 0)
						goto serr;
					stored += ob.pos;
					if (base >= 0)
						oab_writeback_kick(out_fd, &kicked, (uint64_t)base + stored);
				}
			} while (last ? left != 0 : ib.pos < ib.size);
		}
		if (progress)
			progress(parg, it->name, total, (uint64_t)st.st_size);
		if (last)
			break;
	}
	/* Same size, times and inode as before the first byte was read: a
	 * rewrite in place (which keeps the size) shows in mtime and ctime. */
	if (total != (uint64_t)st.st_size || fstat(fd, &now) < 0 || !oab_stat_same(before, &now)) {
		oab_source_changed(it, err);
		goto out;
	}
	it->size = total;
	it->stored_size = stored;
	if (oab_hasher_final(hin, it->sha256, err) < 0)
		goto out;
	if (cc) {
		if (ch.fill && oab_chunk_close(&ch) < 0)
			goto serr;
		free(it->chunk_sha256);
		it->chunk_size = ch.size;
		it->n_chunks = ch.n;
		it->chunk_sha256 = ch.md;
		ch.md = NULL;
	} else {
		memcpy(it->stored_sha256, it->sha256, 32);
	}
	rc = 0;
	goto out;
serr:
	oab_err_ssl(err, OAB_E_INTERNAL, "'%s': SHA-256 of the stored chunks", it->name);
	goto out;
werr:
	oab_err_set(err, OAB_E_IO, "'%s': writing temporary file: %s", it->name, strerror(errno));
out:
	ZSTD_freeCCtx(cc);
	oab_hasher_free(hin); /* joins: nothing lent is in use after this */
	EVP_MD_CTX_free(ch.ctx);
	free(ch.md);
	for (int i = 0; i < 3; i++)
		free(ins[i]);
	free(out);
	return rc;
}

uint64_t oab_zstd_mem_estimate(int level, uint64_t content_size, int threads)
{
	ZSTD_compressionParameters cp =
		ZSTD_getCParams(level, content_size ? content_size : ZSTD_CONTENTSIZE_UNKNOWN, 0);
	uint64_t w = threads < 1 ? 1 : (uint64_t)threads;
	uint64_t held = (w + 3) << (cp.windowLog + 2); /* zstdmt's round buffer */

	if (content_size && content_size < held)
		held = content_size;
	return w * ZSTD_estimateCCtxSize_usingCParams(cp) + held;
}
