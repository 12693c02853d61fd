/* payload.c - one source file -> zstd stream (multithreaded) -> temp file,
 * hashing both sides as the bytes pass; and the reverse for verify and
 * extract, bounded by the sizes the signed manifest declares. */
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

static int digest_init(EVP_MD_CTX **ctx, struct oab_err *err)
{
	*ctx = EVP_MD_CTX_new();
	if (!*ctx || EVP_DigestInit_ex(*ctx, EVP_sha256(), NULL) != 1)
		return oab_err_ssl(err, OAB_E_INTERNAL, "cannot start SHA-256");
	return 0;
}

static int zcheck(size_t rc, const char *what, const char *name, struct oab_err *err)
{
	if (ZSTD_isError(rc))
		return oab_err_set(err, OAB_E_INTERNAL, "'%s': zstd %s: %s", name, what,
				   ZSTD_getErrorName(rc));
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

/* SHA-256 of each chunk_size piece of a byte stream, as it passes. */
struct chunker {
	EVP_MD_CTX *ctx;
	uint32_t size, fill;
	size_t n, cap;
	unsigned char (*md)[32];
};

static int chunk_close(struct chunker *c)
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

static int chunk_update(struct chunker *c, const unsigned char *p, size_t n)
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
		if (c->fill == c->size && chunk_close(c) < 0)
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
static int changed(const struct oab_item *it, struct oab_err *err)
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
	struct chunker ch = {0};
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
		return changed(it, err);
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
		if (digest_init(&ch.ctx, err) < 0)
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
		if (zcheck(ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, it->level), "level", it->name, err) < 0 ||
		    zcheck(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1), "checksum", it->name, err) < 0 ||
		    zcheck(ZSTD_CCtx_setParameter(cc, ZSTD_c_nbWorkers, threads < 1 ? 1 : threads), "workers", it->name, err) < 0 ||
		    zcheck(ZSTD_CCtx_setPledgedSrcSize(cc, (unsigned long long)st.st_size), "size", it->name, err) < 0)
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
			changed(it, err);
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
					changed(it, err);
					goto out;
				}
				if (zcheck(left, "compression", it->name, err) < 0)
					goto out;
				if (ob.pos) {
					if (oab_write_all(out_fd, out, ob.pos) < 0)
						goto werr;
					if (chunk_update(&ch, out, ob.pos) < 0)
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
		changed(it, err);
		goto out;
	}
	it->size = total;
	it->stored_size = stored;
	if (oab_hasher_final(hin, it->sha256, err) < 0)
		goto out;
	if (cc) {
		if (ch.fill && chunk_close(&ch) < 0)
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

#define UNPACK_BUFS 6

struct oab_unpack {
	const struct oab_item *it;
	ZSTD_DCtx *dc;
	struct oab_hasher *h;
	struct oab_hasher *w; /* writes out_fd on its own thread (zstd, out_fd >= 0) */
	/* Decoded bytes go into out[cur], are written, then lent to the
	 * hasher; out[i] is reused only after ticket[i] was hashed. */
	unsigned char *out[UNPACK_BUFS];
	uint64_t ticket[UNPACK_BUFS], wticket[UNPACK_BUFS];
	unsigned cur;
	size_t outsz, opos; /* opos: decoded bytes waiting in out[cur] */
	int fd_flags;       /* out_fd's flags to restore (O_DIRECT), or -1 */
	uint64_t produced;
	uint64_t kicked; /* bytes of out_fd handed to write-back so far */
	size_t last_hint; /* last ZSTD_decompressStream return: 0 = frame ended */
	int out_fd;
	int dense;        /* out_fd gets every byte, no holes, no truncation */
	oab_sink_fn cb;   /* a callback sink, or NULL */
	void *cb_arg;
};

struct oab_unpack *oab_unpack_new(const struct oab_item *it, int out_fd,
				  struct oab_err *err)
{
	struct oab_sink s = {.kind = out_fd >= 0 ? OAB_SINK_FILE : OAB_SINK_DISCARD, .fd = out_fd};

	return oab_unpack_new_sink(it, &s, err);
}

struct oab_unpack *oab_unpack_new_sink(const struct oab_item *it, const struct oab_sink *sink,
				       struct oab_err *err)
{
	struct oab_unpack *u = calloc(1, sizeof(*u));
	int out_fd = sink->kind == OAB_SINK_FILE || sink->kind == OAB_SINK_FD ? sink->fd : -1;

	if (!u) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		return NULL;
	}
	u->it = it;
	u->out_fd = out_fd;
	u->dense = sink->kind == OAB_SINK_FD;
	if (sink->kind == OAB_SINK_CALLBACK) {
		u->cb = sink->fn;
		u->cb_arg = sink->arg;
	}
	u->fd_flags = -1;
	if (!(u->h = oab_hasher_new(err)))
		goto fail;
	if (it->compression == OAB_COMP_ZSTD) {
		u->last_hint = 1; /* no frame seen yet: finishing now is truncation */
		/* 4 x the decoder's block: big writes, and small enough to
		 * stay in cache between decoding, writing and hashing */
		u->outsz = ZSTD_DStreamOutSize() * 4;
		for (int i = 0; i < UNPACK_BUFS; i++)
			if (posix_memalign((void **)&u->out[i], 4096, u->outsz) != 0) {
				u->out[i] = NULL;
				goto oom;
			}
		/* Extracted files are written with O_DIRECT where the file
		 * system takes it: full, aligned buffers go to the disk while
		 * decoding goes on, with no page-cache copy and little left for
		 * the fsync. The writer thread drops it for the short tail. */
		if (out_fd >= 0) {
			int fl = fcntl(out_fd, F_GETFL);

			if (fl >= 0 && !(fl & O_DIRECT) && fcntl(out_fd, F_SETFL, fl | O_DIRECT) == 0)
				u->fd_flags = fl;
		}
		u->dc = ZSTD_createDCtx();
		if (!u->dc)
			goto oom;
		if (out_fd >= 0 && !(u->w = oab_writer_new(out_fd, u->dense, err)))
			goto fail;
		/* The frame's XXH64 is not computed: every stored chunk was
		 * checked against its SHA-256 before it got here and the
		 * content's SHA-256 covers every byte the XXH64 would, so it
		 * only cost time on the decoding thread. A libzstd without this
		 * (experimental) parameter just keeps checking it. */
		(void)ZSTD_DCtx_setParameter(u->dc, ZSTD_d_forceIgnoreChecksum, ZSTD_d_ignoreChecksum);
		if (zcheck(ZSTD_DCtx_setParameter(u->dc, ZSTD_d_windowLogMax, OAB_ZSTD_WINDOWLOG_MAX),
			   "window limit", it->name, err) < 0)
			goto fail;
	}
	return u;
oom:
	oab_err_set(err, OAB_E_INTERNAL, "out of memory");
fail:
	oab_unpack_free(u);
	return NULL;
}

/* n content bytes at buf: bounded by the signed size, written, hashed.
 * lend: buf is out[u->cur] and may be lent to the hasher. */
static int unpack_emit(struct oab_unpack *u, const void *buf, size_t n, int lend,
		       struct oab_err *err)
{
	if (n > u->it->size - u->produced) {
		char want[24];

		snprintf(want, sizeof(want), "%llu", (unsigned long long)u->it->size);
		oab_err_set(err, OAB_E_REJECTED,
			    "member '%s': content larger than the declared %llu bytes",
			    u->it->member, (unsigned long long)u->it->size);
		return oab_err_detail(err, OAB_D_MEMBER_SIZE, u->it->member, -1, want, NULL);
	}
	u->produced += n;
	if (u->cb && u->cb(u->cb_arg, buf, n) != 0)
		return oab_err_set(err, OAB_E_IO, "'%s': the sink refused the content", u->it->name);
	if (u->w) {
		int e = oab_writer_error(u->w);

		if (e)
			return oab_err_set(err, OAB_E_IO, "'%s': writing: %s", u->it->name, strerror(e));
		u->wticket[u->cur] = oab_hasher_lend(u->w, buf, n);
	} else if (u->out_fd >= 0) {
		struct iovec v = {(void *)buf, n};

		if ((u->dense ? oab_write_at(u->out_fd, &v, 1, u->produced - n)
			      : oab_write_sparse(u->out_fd, &v, 1, u->produced - n)) < 0)
			return oab_err_set(err, OAB_E_IO, "'%s': writing: %s", u->it->name,
					   strerror(errno));
		oab_writeback_kick(u->out_fd, &u->kicked, u->produced);
	}
	if (lend)
		u->ticket[u->cur] = oab_hasher_lend(u->h, buf, n);
	else
		oab_hasher_update(u->h, buf, n);
	return 0;
}

int oab_unpack_feed(struct oab_unpack *u, const void *buf, size_t n, struct oab_err *err)
{
	ZSTD_inBuffer ib = {buf, n, 0};
	int more = 0;

	if (!u->dc)
		return unpack_emit(u, buf, n, 0, err);
	/* Run while input is left, or while the last call filled the output
	 * buffer (the decoder may hold more). */
	while (ib.pos < ib.size || more) {
		ZSTD_outBuffer ob = {u->out[u->cur], u->outsz, u->opos};
		size_t before = ib.pos, had = u->opos;
		size_t r;

		if (u->opos == 0) { /* a buffer to fill: wait until it is free */
			oab_hasher_wait(u->h, u->ticket[u->cur]);
			if (u->w)
				oab_hasher_wait(u->w, u->wticket[u->cur]);
		}
		r = ZSTD_decompressStream(u->dc, &ob, &ib);
		if (ZSTD_isError(r)) {
			oab_err_set(err, OAB_E_REJECTED, "member '%s': invalid zstd data: %s",
				    u->it->member, ZSTD_getErrorName(r));
			return oab_err_detail(err, OAB_D_CONTENT_HASH, u->it->member, -1, NULL, NULL);
		}
		if (ib.pos != before || ob.pos != had)
			u->last_hint = r; /* 0 once a frame is complete */
		u->opos = ob.pos;
		/* Only full buffers are handed on (aligned writes); a partly
		 * filled one waits for more input or for oab_unpack_finish. */
		more = ob.pos == ob.size;
		if (more) {
			if (unpack_emit(u, ob.dst, ob.pos, 1, err) < 0)
				return -1;
			u->cur = (u->cur + 1) % UNPACK_BUFS;
			u->opos = 0;
		}
	}
	return 0;
}

int oab_unpack_finish(struct oab_unpack *u, struct oab_err *err)
{
	unsigned char md[32];
	char want[65], got[65];

	if (u->dc && u->opos) { /* the last, partly filled buffer */
		if (unpack_emit(u, u->out[u->cur], u->opos, 1, err) < 0)
			return -1;
		u->cur = (u->cur + 1) % UNPACK_BUFS;
		u->opos = 0;
	}
	if (u->dc && u->last_hint != 0) {
		oab_err_set(err, OAB_E_REJECTED, "member '%s': zstd stream is truncated",
			    u->it->member);
		return oab_err_detail(err, OAB_D_CONTENT_HASH, u->it->member, -1, NULL, NULL);
	}
	if (u->w) {
		int e = oab_writer_finish(u->w);

		if (e)
			return oab_err_set(err, OAB_E_IO, "'%s': writing: %s", u->it->name, strerror(e));
	}
	if (u->produced != u->it->size) {
		char w[24], g[24];

		snprintf(w, sizeof(w), "%llu", (unsigned long long)u->it->size);
		snprintf(g, sizeof(g), "%llu", (unsigned long long)u->produced);
		oab_err_set(err, OAB_E_REJECTED,
			    "member '%s': content size mismatch (manifest %llu, bundle %llu)",
			    u->it->member, (unsigned long long)u->it->size,
			    (unsigned long long)u->produced);
		return oab_err_detail(err, OAB_D_MEMBER_SIZE, u->it->member, -1, w, g);
	}
	/* Zero blocks were left as holes: a trailing one needs the size set. */
	if (u->out_fd >= 0 && !u->dense && ftruncate(u->out_fd, (off_t)u->produced) < 0)
		return oab_err_set(err, OAB_E_IO, "'%s': setting its size: %s", u->it->name,
				   strerror(errno));
	if (oab_hasher_final(u->h, md, err) < 0)
		return -1;
	if (CRYPTO_memcmp(md, u->it->sha256, 32) != 0) {
		oab_hex(u->it->sha256, 32, want);
		oab_hex(md, 32, got);
		oab_err_set(err, OAB_E_REJECTED,
			    "member '%s': content sha256 mismatch (manifest %s, bundle %s)",
			    u->it->member, want, got);
		return oab_err_detail(err, OAB_D_CONTENT_HASH, u->it->member, -1, want, got);
	}
	return 0;
}

void oab_unpack_free(struct oab_unpack *u)
{
	if (!u)
		return;
	ZSTD_freeDCtx(u->dc);
	/* both join their threads: nothing lent is in use after */
	oab_hasher_free(u->w);
	oab_hasher_free(u->h);
	if (u->fd_flags >= 0) /* the caller's fd as it was given */
		(void)fcntl(u->out_fd, F_SETFL, u->fd_flags);
	for (int i = 0; i < UNPACK_BUFS; i++)
		free(u->out[i]);
	free(u);
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
