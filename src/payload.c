/* SPDX-License-Identifier: Apache-2.0 */
/* payload.c - the verify side of a payload: a member's stored bytes ->
 * zstd decoder -> content, bounded by the sizes the signed manifest
 * declares and hashed as the bytes pass (verify, extract). The packer
 * (build) is in pack.c. */
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

int oab_zcheck(size_t rc, const char *what, const char *name, struct oab_err *err)
{
	if (ZSTD_isError(rc))
		return oab_err_set(err, OAB_E_INTERNAL, "'%s': zstd %s: %s", name, what,
				   ZSTD_getErrorName(rc));
	return 0;
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
		if (oab_zcheck(ZSTD_DCtx_setParameter(u->dc, ZSTD_d_windowLogMax, OAB_ZSTD_WINDOWLOG_MAX),
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
