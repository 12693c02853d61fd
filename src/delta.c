/* SPDX-License-Identifier: Apache-2.0 */
/* delta.c - the verify side of a delta payload (otabundle-format(5)
 * DELTA ENCODING): check the base, then rebuild the content one segment
 * at a time. A segment's residual is one zstd frame decoded against a
 * prefix made of the base's recorded extents, into one buffer (zstd's
 * stable output buffer: no window buffer of its own); the segment is
 * then its copies from the base with the residual in between, streamed
 * to the sink through a 1 MiB buffer. Memory is prefix-max +
 * segment-size + 1 MiB + zstd's context whatever the image size. The
 * packer is in delta_build.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "internal.h"

void oab_delta_free(struct oab_delta *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_segments; i++) {
		free(d->segments[i].extents);
		free(d->segments[i].copies);
	}
	free(d->segments);
	free(d);
}

int oab_delta_base_size(int fd, const char *what, uint64_t *size, int *is_dev,
			struct oab_err *err)
{
	struct stat st;

	*is_dev = 0;
	if (fstat(fd, &st) < 0)
		return oab_err_set(err, OAB_E_IO, "%s: %s", what, strerror(errno));
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (S_ISBLK(st.st_mode)) {
		*is_dev = 1;
		if (ioctl(fd, BLKGETSIZE64, size) < 0)
			return oab_err_set(err, OAB_E_IO, "%s: size of the block device: %s", what,
					   strerror(errno));
		return 0;
	}
	return oab_err_set(err, OAB_E_USAGE, "%s: %s, expected a regular file or a block device",
			   what, oab_file_kind(st.st_mode));
}

struct oab_dunpack {
	const struct oab_item *it;
	const struct oab_delta *dl;
	struct oab_item plain; /* it as stored without compression: for u */
	struct oab_unpack *u;
	int base_fd;
	ZSTD_DCtx *dc;
	unsigned char *prefix, *seg, *bounce;
	size_t seg_no;       /* the segment being decoded (or next) */
	size_t full_len;     /* the segment's bytes; seg_len: its residual's */
	int in_frame;
	uint64_t frame_left; /* its stored bytes still to come */
	size_t seg_len, seg_pos;
	size_t last;         /* last ZSTD_decompressStream return */
};

/* A content error: the archive stays in step. */
static int bad(struct oab_dunpack *d, struct oab_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bad(struct oab_dunpack *d, struct oab_err *err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	oab_err_set(err, OAB_E_REJECTED, "member '%s': delta segment %zu: %s", d->it->member,
		    d->seg_no, msg);
	return oab_err_detail(err, OAB_D_CONTENT_HASH, d->it->member, -1, NULL, NULL);
}

/* The base must be the signed one: its size, then its SHA-256 over
 * base_size bytes, before a single frame is decoded. */
static int check_base(struct oab_dunpack *d, struct oab_err *err)
{
	const struct oab_delta *dl = d->dl;
	unsigned char md[32];
	char want[65], got[65], w[24], g[24];
	EVP_MD_CTX *ctx = NULL;
	uint64_t size, off = 0;
	unsigned char *buf = NULL;
	int is_dev, rc = -1;

	if (oab_delta_base_size(d->base_fd, "delta base", &size, &is_dev, err) < 0)
		return oab_err_prefix(err, "'%s': ", d->it->name);
	if (is_dev ? size < dl->base_size : size != dl->base_size) {
		snprintf(w, sizeof(w), "%llu", (unsigned long long)dl->base_size);
		snprintf(g, sizeof(g), "%llu", (unsigned long long)size);
		oab_err_set(err, OAB_E_REJECTED,
			    "'%s': the base given is %s bytes, the delta needs %s%s bytes (sha256 %s)",
			    d->it->name, g, is_dev ? "at least " : "", w,
			    (oab_hex(dl->base_sha256, 32, want), want));
		return oab_err_detail(err, OAB_D_DELTA_BASE, d->it->member, -1, w, g);
	}
	buf = malloc(OAB_IO_BUF);
	ctx = EVP_MD_CTX_new();
	if (!buf || !ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	posix_fadvise(d->base_fd, 0, (off_t)dl->base_size, POSIX_FADV_SEQUENTIAL);
	while (off < dl->base_size) {
		size_t want_n = dl->base_size - off < OAB_IO_BUF ? (size_t)(dl->base_size - off)
								  : OAB_IO_BUF;
		ssize_t n = pread(d->base_fd, buf, want_n, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			oab_err_set(err, OAB_E_IO, "'%s': reading the base at byte %llu: %s",
				    d->it->name, (unsigned long long)off,
				    n < 0 ? strerror(errno) : "unexpected end");
			goto out;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		off += (uint64_t)n;
	}
	if (EVP_DigestFinal_ex(ctx, md, NULL) != 1) {
		oab_err_ssl(err, OAB_E_INTERNAL, "SHA-256 of the base");
		goto out;
	}
	if (CRYPTO_memcmp(md, dl->base_sha256, 32) != 0) {
		oab_hex(dl->base_sha256, 32, want);
		oab_hex(md, 32, got);
		oab_err_set(err, OAB_E_REJECTED,
			    "'%s': the base given is not the one the delta was made from (sha256 expected %s, found %s)",
			    d->it->name, want, got);
		oab_err_detail(err, OAB_D_DELTA_BASE, d->it->member, -1, want, got);
		goto out;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

struct oab_dunpack *oab_delta_unpack_new(const struct oab_item *it, int base_fd,
					 const struct oab_sink *sink, struct oab_err *err)
{
	struct oab_dunpack *d = calloc(1, sizeof(*d));
	const struct oab_delta *dl = it->delta;

	if (!d) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		return NULL;
	}
	d->it = it;
	d->dl = dl;
	d->base_fd = base_fd;
	if (check_base(d, err) < 0)
		goto fail;
	d->plain = *it;
	d->plain.compression = OAB_COMP_NONE;
	d->prefix = malloc(dl->prefix_max ? dl->prefix_max : 1);
	d->seg = malloc(dl->segment_size);
	d->bounce = malloc(OAB_IO_BUF);
	d->dc = ZSTD_createDCtx();
	if (!d->prefix || !d->seg || !d->bounce || !d->dc) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto fail;
	}
	/* The window limit is the signed one (at most OAB_ZSTD_WINDOWLOG_MAX):
	 * a frame asking for more is refused before it is decoded. The
	 * output buffer is the segment: zstd keeps no window of its own. */
	if (oab_zcheck(ZSTD_DCtx_setParameter(d->dc, ZSTD_d_windowLogMax, dl->window_log),
		       "window limit", it->name, err) < 0 ||
	    oab_zcheck(ZSTD_DCtx_setParameter(d->dc, ZSTD_d_stableOutBuffer, 1), "stable output",
		       it->name, err) < 0)
		goto fail;
	if (!(d->u = oab_unpack_new_sink(&d->plain, sink, err)))
		goto fail;
	return d;
fail:
	oab_delta_unpack_free(d);
	return NULL;
}

/* Segment d->seg_no begins: its prefix from the base, a fresh frame. */
static int segment_start(struct oab_dunpack *d, struct oab_err *err)
{
	const struct oab_delta_segment *s = &d->dl->segments[d->seg_no];
	uint64_t at = (uint64_t)d->seg_no * d->dl->segment_size;
	size_t plen = 0;

	if (d->seg_no >= d->dl->n_segments)
		return bad(d, err, "more stored bytes than the %zu frames declared", d->dl->n_segments);
	for (size_t i = 0; i < s->n_extents; i++) {
		const struct oab_delta_extent *e = &s->extents[i];
		uint64_t done = 0;

		/* the manifest's parser held these to the base and prefix-max;
		 * checked again, so a hand-made item cannot overrun */
		if (e->length > d->dl->prefix_max - plen || e->offset > d->dl->base_size ||
		    e->length > d->dl->base_size - e->offset)
			return bad(d, err, "extent %zu (%llu+%llu) outside the base or the prefix", i,
				   (unsigned long long)e->offset, (unsigned long long)e->length);
		while (done < e->length) {
			ssize_t n = pread(d->base_fd, d->prefix + plen + done, (size_t)(e->length - done),
					  (off_t)(e->offset + done));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return oab_err_set(err, OAB_E_IO, "'%s': reading the base at byte %llu: %s",
						   d->it->name, (unsigned long long)(e->offset + done),
						   n < 0 ? strerror(errno) : "unexpected end");
			done += (uint64_t)n;
		}
		plen += (size_t)e->length;
	}
	d->full_len = d->it->size - at < d->dl->segment_size ? (size_t)(d->it->size - at)
							      : d->dl->segment_size;
	d->seg_len = d->full_len;
	for (size_t i = 0; i < s->n_copies; i++) {
		if (s->copies[i].length > d->seg_len)
			return bad(d, err, "copies larger than the segment");
		d->seg_len -= (size_t)s->copies[i].length;
	}
	d->seg_pos = 0;
	d->frame_left = s->frame_size;
	d->last = 1;
	if (oab_zcheck(ZSTD_DCtx_reset(d->dc, ZSTD_reset_session_only), "reset", d->it->name, err) < 0 ||
	    (plen && oab_zcheck(ZSTD_DCtx_refPrefix(d->dc, d->prefix, plen), "prefix", d->it->name,
				err) < 0))
		return -1;
	d->in_frame = 1;
	return 0;
}

/* n bytes of the base at off to the sink's unpack. */
static int copy_base(struct oab_dunpack *d, uint64_t off, uint64_t n, struct oab_err *err)
{
	while (n > 0) {
		size_t want = n < OAB_IO_BUF ? (size_t)n : OAB_IO_BUF;
		ssize_t r = pread(d->base_fd, d->bounce, want, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return oab_err_set(err, OAB_E_IO, "'%s': reading the base at byte %llu: %s",
					   d->it->name, (unsigned long long)off,
					   r < 0 ? strerror(errno) : "unexpected end");
		if (oab_unpack_feed(d->u, d->bounce, (size_t)r, err) < 0)
			return -1;
		off += (uint64_t)r;
		n -= (uint64_t)r;
	}
	return 0;
}

/* The frame ended with its declared stored size: the residual must be
 * whole; then the segment, copies and residual in turn, goes to the
 * sink's unpack (bounded, hashed, written). */
static int segment_end(struct oab_dunpack *d, struct oab_err *err)
{
	const struct oab_delta_segment *s = &d->dl->segments[d->seg_no];
	size_t pos = 0, ri = 0;

	if (d->last != 0)
		return bad(d, err, "frame incomplete at its declared %llu bytes",
			   (unsigned long long)s->frame_size);
	if (d->seg_pos != d->seg_len)
		return bad(d, err, "residual of %zu bytes, expected %zu", d->seg_pos, d->seg_len);
	for (size_t i = 0; i < s->n_copies; i++) {
		const struct oab_delta_copy *c = &s->copies[i];
		size_t gap = (size_t)c->at - pos; /* the parser keeps copies in order */

		if (c->at < pos || gap > d->seg_len - ri)
			return bad(d, err, "copy %zu out of order", i);
		if (oab_unpack_feed(d->u, d->seg + ri, gap, err) < 0 ||
		    copy_base(d, c->offset, c->length, err) < 0)
			return -1;
		ri += gap;
		pos = (size_t)(c->at + c->length);
	}
	if (d->full_len - pos != d->seg_len - ri)
		return bad(d, err, "copies and residual do not add up to the segment");
	if (oab_unpack_feed(d->u, d->seg + ri, d->seg_len - ri, err) < 0)
		return -1;
	d->in_frame = 0;
	d->seg_no++;
	return 0;
}

int oab_delta_unpack_feed(struct oab_dunpack *d, const unsigned char *p, size_t n,
			  struct oab_err *err)
{
	while (n > 0) {
		ZSTD_inBuffer ib;
		size_t take;

		if (!d->in_frame && segment_start(d, err) < 0)
			return -1;
		take = d->frame_left < n ? (size_t)d->frame_left : n;
		ib = (ZSTD_inBuffer){p, take, 0};
		while (ib.pos < ib.size) {
			ZSTD_outBuffer ob = {d->seg, d->seg_len, d->seg_pos};
			size_t before = ib.pos, r;

			if (d->last == 0)
				return bad(d, err, "frame ends before its declared %llu bytes",
					   (unsigned long long)d->dl->segments[d->seg_no].frame_size);
			r = ZSTD_decompressStream(d->dc, &ob, &ib);
			if (ZSTD_isError(r))
				return bad(d, err, "invalid zstd frame: %s", ZSTD_getErrorName(r));
			if (ib.pos == before && ob.pos == d->seg_pos)
				return bad(d, err, "frame larger than its segment (%zu bytes)", d->seg_len);
			d->seg_pos = ob.pos;
			d->last = r;
		}
		p += take;
		n -= take;
		d->frame_left -= take;
		if (d->frame_left == 0) {
			/* the decoder may still hold the frame's last block */
			while (d->last != 0) {
				ZSTD_inBuffer e = {NULL, 0, 0};
				ZSTD_outBuffer ob = {d->seg, d->seg_len, d->seg_pos};
				size_t r = ZSTD_decompressStream(d->dc, &ob, &e);

				if (ZSTD_isError(r))
					return bad(d, err, "invalid zstd frame: %s", ZSTD_getErrorName(r));
				if (ob.pos == d->seg_pos)
					break;
				d->seg_pos = ob.pos;
				d->last = r;
			}
			if (segment_end(d, err) < 0)
				return -1;
		}
	}
	return 0;
}

int oab_delta_unpack_finish(struct oab_dunpack *d, struct oab_err *err)
{
	if (d->in_frame || d->seg_no != d->dl->n_segments)
		return bad(d, err, "the member ends before the last of %zu frames",
			   d->dl->n_segments);
	return oab_unpack_finish(d->u, err);
}

void oab_delta_unpack_free(struct oab_dunpack *d)
{
	if (!d)
		return;
	oab_unpack_free(d->u);
	ZSTD_freeDCtx(d->dc);
	free(d->prefix);
	free(d->seg);
	free(d->bounce);
	free(d);
}
