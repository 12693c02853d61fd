/* SPDX-License-Identifier: Apache-2.0 */
/* delta_build.c - the build side of a delta payload (otabundle-format(5)
 * DELTA ENCODING): index the base by a hash of each 4 KiB block, cut the
 * target into segments, and for each segment choose the base's extents
 * worth referencing (the blocks it shares with the base, and the base
 * blocks on the same diagonal around them, where a modified file's old
 * bytes are), then compress the segment as one zstd frame against those
 * extents as prefix. Segments are compressed by worker threads, written
 * in order. The decoder is in delta.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "internal.h"

#define BLK 4096u
/* an unmatched target block takes the base block on the diagonal of a
 * matched neighbour at most this many blocks away */
#define DIAG_MAX 64
/* and the base blocks (with their neighbours) of at most this many of
 * its anchors */
#define ANCHOR_HITS 4

static uint64_t block_hash(const unsigned char *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15u, w;

	for (size_t i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdu;
		h ^= h >> 32;
	}
	return h | 1; /* 0 stands for "no block" */
}

static int all_zero(const unsigned char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* The base: its blocks' hashes in an open-addressing table (first
 * occurrence of each content; zero blocks left out). */
struct bindex {
	uint64_t size;
	unsigned char sha256[32];
	uint64_t *h;     /* per slot: hash, 0 empty */
	uint32_t *blk;   /* per slot: block number */
	size_t mask;
	/* anchors: where a rolling hash of the last 64 bytes has its low
	 * ANCHOR_BITS zero (content-defined, so found at any alignment):
	 * the hash's high half -> the block it ends in (first occurrence) */
	uint32_t *akey, *ablk; /* akey 0: empty */
	size_t amask;
};

#define ANCHOR_BITS 9
static uint64_t gear[256];
static pthread_once_t gear_once = PTHREAD_ONCE_INIT;

static void gear_init(void)
{
	uint64_t x = 0x6a09e667f3bcc908u;

	for (int i = 0; i < 256; i++) { /* splitmix64 */
		uint64_t z = (x += 0x9e3779b97f4a7c15u);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
		gear[i] = z ^ (z >> 31);
	}
}

static int is_anchor(uint64_t h)
{
	return (h & ((1u << ANCHOR_BITS) - 1)) == 0;
}

static uint32_t anchor_key(uint64_t h)
{
	return (uint32_t)(h >> 32) | 1;
}

static void anchor_add(struct bindex *x, uint64_t h, uint32_t blk)
{
	uint32_t k = anchor_key(h);
	size_t s;

	for (s = (k * 0x9e3779b1u) & x->amask; x->akey[s] && x->akey[s] != k; s = (s + 1) & x->amask)
		;
	if (!x->akey[s]) {
		x->akey[s] = k;
		x->ablk[s] = blk;
	}
}

static int64_t anchor_find(const struct bindex *x, uint64_t h)
{
	uint32_t k = anchor_key(h);

	for (size_t s = (k * 0x9e3779b1u) & x->amask; x->akey[s]; s = (s + 1) & x->amask)
		if (x->akey[s] == k)
			return x->ablk[s];
	return -1;
}

static int index_base(int fd, struct bindex *x, struct oab_err *err)
{
	struct stat st;
	EVP_MD_CTX *ctx = NULL;
	unsigned char *buf = NULL;
	uint64_t off = 0, nb, rh = 0;
	size_t cap = 1;
	int rc = -1;

	if (fstat(fd, &st) < 0)
		return oab_err_set(err, OAB_E_IO, "delta base: %s", strerror(errno));
	x->size = (uint64_t)st.st_size;
	nb = (x->size + BLK - 1) / BLK;
	if (nb > UINT32_MAX - 1)
		return oab_err_set(err, OAB_E_USAGE, "delta base: larger than 16 TiB");
	while (cap < 2 * nb)
		cap *= 2;
	x->mask = cap - 1;
	x->h = oab_calloc_array(cap, sizeof(*x->h));
	x->blk = oab_calloc_array(cap, sizeof(*x->blk));
	/* about one anchor per 2^ANCHOR_BITS bytes, table half full */
	cap *= 2 * BLK >> ANCHOR_BITS;
	x->amask = cap - 1;
	x->akey = oab_calloc_array(cap, sizeof(*x->akey));
	x->ablk = oab_calloc_array(cap, sizeof(*x->ablk));
	buf = malloc(OAB_IO_BUF);
	pthread_once(&gear_once, gear_init);
	if (!x->h || !x->blk || !x->akey || !x->ablk || !buf) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	if (oab_digest_init(&ctx, err) < 0)
		goto out;
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	while (off < x->size) {
		ssize_t n = oab_read_full(fd, buf, OAB_IO_BUF);

		if (n < 0 || (n == 0 && off < x->size)) {
			oab_err_set(err, OAB_E_IO, "delta base: reading at byte %llu: %s",
				    (unsigned long long)off, n < 0 ? strerror(errno) : "unexpected end");
			goto out;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		for (size_t i = 0; i < (size_t)n; i += BLK) {
			size_t len = (size_t)n - i < BLK ? (size_t)n - i : BLK;
			uint64_t h;
			size_t s;

			if (len < BLK || all_zero(buf + i, len)) {
				rh = 0;
				continue;
			}
			for (size_t k = 0; k < len; k++) {
				rh = (rh << 1) + gear[buf[i + k]];
				if (is_anchor(rh))
					anchor_add(x, rh, (uint32_t)((off + i) / BLK));
			}
			h = block_hash(buf + i, len);
			for (s = h & x->mask; x->h[s] && x->h[s] != h; s = (s + 1) & x->mask)
				;
			if (!x->h[s]) {
				x->h[s] = h;
				x->blk[s] = (uint32_t)((off + i) / BLK);
			}
		}
		off += (uint64_t)n;
	}
	if (EVP_DigestFinal_ex(ctx, x->sha256, NULL) != 1) {
		oab_err_ssl(err, OAB_E_INTERNAL, "SHA-256 of the delta base");
		goto out;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

static int64_t index_find(const struct bindex *x, uint64_t h)
{
	for (size_t s = h & x->mask; x->h[s]; s = (s + 1) & x->mask)
		if (x->h[s] == h)
			return x->blk[s];
	return -1;
}

static int pread_all(int fd, unsigned char *p, size_t n, uint64_t off);

struct ext {
	uint64_t off, len;
};

/* One segment's work, on a worker thread. */
struct job {
	/* in */
	const struct bindex *x;
	int tfd, bfd;
	uint64_t at;
	size_t len;
	const struct oab_delta_params *prm;
	/* buffers (kept between jobs) */
	unsigned char *tbuf, *rbuf, *pbuf, *obuf;
	size_t ocap, rlen;
	int64_t *match;
	uint32_t *cand;   /* candidate base blocks for the prefix */
	struct oab_delta_copy *runs;
	struct ext *ext;
	ZSTD_CCtx *cc;
	unsigned char blk[BLK];
	/* out */
	struct oab_delta_segment seg;
	size_t frame;
	int err;          /* errno of a read, -1 for zstd, -2 out of memory */
	const char *zerr;
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static int cmp_len(const void *a, const void *b)
{
	const struct oab_delta_copy *x = a, *y = b;

	return (x->length < y->length) - (x->length > y->length);
}

static int cmp_at(const void *a, const void *b)
{
	const struct oab_delta_copy *x = a, *y = b;

	return (x->at > y->at) - (x->at < y->at);
}

/* Merge the sorted candidate blocks into extents, bridging gaps of up to
 * gap blocks; returns the count. */
static size_t merge(const uint32_t *cand, size_t nc, uint64_t base_size, uint32_t gap,
		    struct ext *e)
{
	size_t n = 0;

	for (size_t i = 0; i < nc; i++) {
		uint64_t off = (uint64_t)cand[i] * BLK;
		uint64_t len = base_size - off < BLK ? base_size - off : BLK;

		if (n && off < e[n - 1].off + e[n - 1].len)
			continue; /* a repeat */
		if (n && off <= e[n - 1].off + e[n - 1].len + (uint64_t)gap * BLK)
			e[n - 1].len = off + len - e[n - 1].off;
		else
			e[n++] = (struct ext){off, len};
	}
	return n;
}

/* The segment's copies (runs of blocks found in the base, in the same
 * order there), its residual (every other byte) and the prefix for the
 * residual: the base blocks on the diagonals of the copies around each
 * residual block, where a modified file's old bytes are. */
static int plan_segment(struct job *j)
{
	size_t nb = (j->len + BLK - 1) / BLK, nc = 0, nr = 0, n, pos = 0;
	uint64_t base_blocks = (j->x->size + BLK - 1) / BLK, total = 0, rh = 0;
	uint32_t gap = 2;

	for (size_t b = 0; b < nb; b++) {
		size_t l = j->len - b * BLK < BLK ? j->len - b * BLK : BLK;
		const unsigned char *p = j->tbuf + b * BLK;

		j->match[b] = l == BLK && !all_zero(p, l) ? index_find(j->x, block_hash(p, l)) : -1;
		/* a copy must be exact: the hash only finds it */
		if (j->match[b] >= 0 && (pread_all(j->bfd, j->blk, BLK, (uint64_t)j->match[b] * BLK) < 0 ||
					 memcmp(p, j->blk, BLK) != 0))
			j->match[b] = -1;
	}
	/* runs of matched blocks, consecutive in the base too */
	for (size_t b = 0; b < nb; b++) {
		if (j->match[b] < 0)
			continue;
		if (nr && j->runs[nr - 1].at + j->runs[nr - 1].length == (uint64_t)b * BLK &&
		    j->runs[nr - 1].offset + j->runs[nr - 1].length == (uint64_t)j->match[b] * BLK)
			j->runs[nr - 1].length += BLK;
		else
			j->runs[nr++] = (struct oab_delta_copy){(uint64_t)b * BLK,
								(uint64_t)j->match[b] * BLK, BLK};
	}
	if (nr > OAB_DELTA_COPIES_MAX) { /* the longest are copied; the rest go in the prefix */
		qsort(j->runs, nr, sizeof(*j->runs), cmp_len);
		for (size_t i = OAB_DELTA_COPIES_MAX; i < nr; i++)
			for (uint64_t o = 0; o < j->runs[i].length; o += BLK)
				j->cand[nc++] = (uint32_t)((j->runs[i].offset + o) / BLK);
		nr = OAB_DELTA_COPIES_MAX;
		qsort(j->runs, nr, sizeof(*j->runs), cmp_at);
	}
	/* the residual, and the diagonals around each of its blocks */
	j->rlen = 0;
	for (size_t i = 0; i <= nr; i++) {
		uint64_t end = i < nr ? j->runs[i].at : j->len;

		memcpy(j->rbuf + j->rlen, j->tbuf + pos, (size_t)(end - pos));
		j->rlen += (size_t)(end - pos);
		for (uint64_t b = pos / BLK; b * BLK < end; b++) {
			size_t bl = j->len - b * BLK < BLK ? j->len - b * BLK : BLK;
			int64_t last = -1;
			int hits = 0;

			if (all_zero(j->tbuf + b * BLK, bl))
				continue;
			/* anchors: the base blocks where the same bytes are */
			for (size_t k = 0; k < bl && hits < ANCHOR_HITS; k++) {
				int64_t a;

				rh = (rh << 1) + gear[j->tbuf[b * BLK + k]];
				if (!is_anchor(rh) || b * BLK + k < 64 || (a = anchor_find(j->x, rh)) < 0 ||
				    a == last)
					continue;
				last = a;
				hits++;
				for (int64_t q = a - 1; q <= a + 1; q++)
					if (q >= 0 && (uint64_t)q < base_blocks)
						j->cand[nc++] = (uint32_t)q;
			}
			if (i > 0 && b - j->runs[i - 1].at / BLK <= DIAG_MAX + j->runs[i - 1].length / BLK) {
				uint64_t c = (j->runs[i - 1].offset + j->runs[i - 1].length) / BLK +
					     (b - (j->runs[i - 1].at + j->runs[i - 1].length) / BLK);

				if (c < base_blocks)
					j->cand[nc++] = (uint32_t)c;
			}
			if (i < nr && j->runs[i].at / BLK - b <= DIAG_MAX) {
				uint64_t d = j->runs[i].at / BLK - b;

				if (j->runs[i].offset / BLK >= d)
					j->cand[nc++] = (uint32_t)(j->runs[i].offset / BLK - d);
			}
		}
		if (i < nr)
			pos = j->runs[i].at + j->runs[i].length;
	}
	j->seg.copies = NULL;
	j->seg.extents = NULL;
	j->seg.n_copies = j->seg.n_extents = 0;
	if (nr) {
		if (!(j->seg.copies = oab_calloc_array(nr, sizeof(*j->seg.copies))))
			return -1;
		memcpy(j->seg.copies, j->runs, nr * sizeof(*j->runs));
		j->seg.n_copies = nr;
	}
	if (!nc)
		return 0;
	qsort(j->cand, nc, sizeof(*j->cand), cmp_u32);
	for (;;) {
		n = merge(j->cand, nc, j->x->size, gap, j->ext);
		if (n <= OAB_DELTA_EXTENTS_MAX)
			break;
		gap *= 2;
	}
	for (size_t i = 0; i < n; i++) { /* in order of the base, up to prefix-max */
		if (j->ext[i].len > j->prm->prefix_max - total) {
			n = i;
			break;
		}
		total += j->ext[i].len;
	}
	if (!n)
		return 0;
	if (!(j->seg.extents = oab_calloc_array(n, sizeof(*j->seg.extents))))
		return -1;
	for (size_t i = 0; i < n; i++)
		j->seg.extents[i] = (struct oab_delta_extent){j->ext[i].off, j->ext[i].len};
	j->seg.n_extents = n;
	return 0;
}

static int pread_all(int fd, unsigned char *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t r = pread(fd, p, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO; /* the file shrank: refused as changed */
			return -1;
		}
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static void *job_run(void *arg)
{
	struct job *j = arg;
	size_t plen = 0, r;

	j->err = 0;
	j->frame = 0;
	if (pread_all(j->tfd, j->tbuf, j->len, j->at) < 0) {
		j->err = errno;
		return NULL;
	}
	if (plan_segment(j) < 0) {
		j->err = -2;
		return NULL;
	}
	for (size_t i = 0; i < j->seg.n_extents; i++) {
		const struct oab_delta_extent *e = &j->seg.extents[i];

		if (pread_all(j->bfd, j->pbuf + plen, (size_t)e->length, e->offset) < 0) {
			j->err = errno;
			return NULL;
		}
		plen += (size_t)e->length;
	}
	r = ZSTD_CCtx_reset(j->cc, ZSTD_reset_session_only);
	if (!ZSTD_isError(r) && plen)
		r = ZSTD_CCtx_refPrefix(j->cc, j->pbuf, plen);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setPledgedSrcSize(j->cc, j->rlen);
	if (!ZSTD_isError(r))
		r = ZSTD_compress2(j->cc, j->obuf, j->ocap, j->rbuf, j->rlen);
	if (ZSTD_isError(r)) {
		j->err = -1;
		j->zerr = ZSTD_getErrorName(r);
		return NULL;
	}
	j->frame = r;
	return NULL;
}

static int job_init(struct job *j, const struct oab_delta_params *prm, int window_log)
{
	size_t nb = prm->segment_size / BLK + 1;

	j->prm = prm;
	j->ocap = ZSTD_compressBound(prm->segment_size);
	j->tbuf = malloc(prm->segment_size);
	j->rbuf = malloc(prm->segment_size);
	j->runs = oab_calloc_array(nb, sizeof(*j->runs));
	j->ext = oab_calloc_array((2 + 3 * ANCHOR_HITS) * nb, sizeof(*j->ext));
	j->pbuf = malloc(prm->prefix_max);
	j->obuf = malloc(j->ocap);
	j->match = oab_calloc_array(nb, sizeof(*j->match));
	/* per block: itself (a run left out), or two diagonal candidates
	 * and three blocks per anchor hit */
	j->cand = oab_calloc_array((2 + 3 * ANCHOR_HITS) * nb, sizeof(*j->cand));
	j->cc = ZSTD_createCCtx();
	if (!j->tbuf || !j->rbuf || !j->runs || !j->ext || !j->pbuf || !j->obuf || !j->match ||
	    !j->cand || !j->cc)
		return -1;
	if (ZSTD_isError(ZSTD_CCtx_setParameter(j->cc, ZSTD_c_compressionLevel, prm->level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(j->cc, ZSTD_c_windowLog, window_log)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(j->cc, ZSTD_c_checksumFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(j->cc, ZSTD_c_enableLongDistanceMatching, 1)))
		return -1;
	return 0;
}

static void job_free(struct job *j)
{
	free(j->tbuf);
	free(j->rbuf);
	free(j->runs);
	free(j->ext);
	free(j->seg.copies);
	free(j->pbuf);
	free(j->obuf);
	free(j->match);
	free(j->cand);
	free(j->seg.extents);
	ZSTD_freeCCtx(j->cc);
}

int oab_delta_pack_fd(struct oab_item *it, int fd, const struct stat *before, int base_fd,
		      const struct oab_delta_params *given, int out_fd, int threads,
		      oab_progress_fn progress, void *parg, struct oab_err *err)
{
	struct oab_delta_params prm = given ? *given : (struct oab_delta_params){0};
	struct bindex x = {0};
	struct oab_chunker ch = {0};
	struct oab_delta *dl = NULL;
	struct job *jobs = NULL;
	pthread_t *th = NULL;
	EVP_MD_CTX *tctx = NULL;
	struct stat now;
	uint64_t size = (uint64_t)before->st_size, stored = 0;
	size_t nseg, nw;
	int wl = 10, rc = -1;

	if (!prm.segment_size)
		prm.segment_size = OAB_DELTA_SEGMENT_DEFAULT;
	if (!prm.prefix_max)
		prm.prefix_max = OAB_DELTA_PREFIX_DEFAULT;
	if (!prm.level)
		prm.level = OAB_DELTA_LEVEL_DEFAULT;
	while ((UINT64_C(1) << wl) < (uint64_t)prm.segment_size + prm.prefix_max)
		wl++;
	if (wl > OAB_ZSTD_WINDOWLOG_MAX || prm.segment_size % BLK ||
	    prm.segment_size < OAB_DELTA_SEGMENT_MIN || prm.segment_size > OAB_DELTA_SEGMENT_MAX ||
	    prm.prefix_max > OAB_DELTA_PREFIX_MAX)
		return oab_err_set(err, OAB_E_USAGE, "'%s': delta parameters out of range", it->name);
	if (fstat(fd, &now) < 0 || !oab_stat_same(before, &now))
		return oab_source_changed(it, err);
	if (index_base(base_fd, &x, err) < 0)
		goto out;
	nseg = size ? (size_t)((size - 1) / prm.segment_size + 1) : 0;
	nw = threads < 1 ? 1 : (size_t)threads;
	if (nw > nseg)
		nw = nseg ? nseg : 1;
	dl = calloc(1, sizeof(*dl));
	jobs = oab_calloc_array(2 * nw, sizeof(*jobs));
	th = oab_calloc_array(2 * nw, sizeof(*th));
	if (!dl || !jobs || !th || (nseg && !(dl->segments = oab_calloc_array(nseg, sizeof(*dl->segments)))))
		goto oom;
	for (size_t i = 0; i < 2 * nw; i++)
		if (job_init(&jobs[i], &prm, wl) < 0)
			goto oom;
	ch.size = oab_chunk_size_for(size);
	if (oab_digest_init(&ch.ctx, err) < 0 || oab_digest_init(&tctx, err) < 0)
		goto out;
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	/* Batches of nw segments on two sets of jobs: batch b+1 is
	 * compressed while batch b is hashed and written. */
	for (size_t b0 = 0, set = 0, started = 0; b0 < nseg; b0 += nw, set ^= 1) {
		struct job *J = &jobs[set * nw];
		size_t n = nseg - b0 < nw ? nseg - b0 : nw;

		for (size_t k = 0; !started && k < n; k++) {
			J[k].x = &x, J[k].tfd = fd, J[k].bfd = base_fd;
			J[k].at = (uint64_t)(b0 + k) * prm.segment_size;
			J[k].len = (size_t)(size - J[k].at < prm.segment_size ? size - J[k].at
									      : prm.segment_size);
			pthread_create(&th[set * nw + k], NULL, job_run, &J[k]);
		}
		for (size_t k = 0; k < n; k++)
			pthread_join(th[set * nw + k], NULL);
		started = 0;
		if (b0 + nw < nseg) { /* start the next batch */
			struct job *N = &jobs[(set ^ 1) * nw];
			size_t m = nseg - b0 - nw < nw ? nseg - b0 - nw : nw;

			for (size_t k = 0; k < m; k++) {
				N[k].x = &x, N[k].tfd = fd, N[k].bfd = base_fd;
				N[k].at = (uint64_t)(b0 + nw + k) * prm.segment_size;
				N[k].len = (size_t)(size - N[k].at < prm.segment_size ? size - N[k].at
										      : prm.segment_size);
				pthread_create(&th[(set ^ 1) * nw + k], NULL, job_run, &N[k]);
			}
			started = 1;
		}
		for (size_t k = 0; k < n; k++) {
			struct job *j = &J[k];

			if (j->err) {
				if (j->err > 0)
					oab_err_set(err, OAB_E_IO, "'%s': reading: %s", it->name,
						    strerror(j->err));
				else if (j->err == -2)
					oab_err_set(err, OAB_E_INTERNAL, "out of memory");
				else
					oab_err_set(err, OAB_E_INTERNAL, "'%s': zstd: %s", it->name, j->zerr);
				/* the batch started is joined below */
				goto join;
			}
			EVP_DigestUpdate(tctx, j->tbuf, j->len);
			if (oab_write_all(out_fd, j->obuf, j->frame) < 0) {
				oab_err_set(err, OAB_E_IO, "'%s': writing temporary file: %s", it->name,
					    strerror(errno));
				goto join;
			}
			if (oab_chunk_update(&ch, j->obuf, j->frame) < 0)
				goto serr_join;
			stored += j->frame;
			dl->segments[b0 + k] = j->seg;
			dl->segments[b0 + k].frame_size = j->frame;
			j->seg.extents = NULL;
			j->seg.copies = NULL;
			dl->n_segments = b0 + k + 1;
			if (progress)
				progress(parg, it->name, j->at + j->len, size);
		}
		continue;
serr_join:
		oab_err_ssl(err, OAB_E_INTERNAL, "'%s': SHA-256 of the stored chunks", it->name);
join:
		if (started)
			for (size_t k = 0; k < nw && b0 + nw + k < nseg; k++)
				pthread_join(th[(set ^ 1) * nw + k], NULL);
		goto out;
	}
	if (fstat(fd, &now) < 0 || !oab_stat_same(before, &now)) {
		oab_source_changed(it, err);
		goto out;
	}
	if (EVP_DigestFinal_ex(tctx, it->sha256, NULL) != 1 || (ch.fill && oab_chunk_close(&ch) < 0)) {
		oab_err_ssl(err, OAB_E_INTERNAL, "'%s': SHA-256", it->name);
		goto out;
	}
	memcpy(dl->base_sha256, x.sha256, 32);
	dl->base_size = x.size;
	dl->segment_size = prm.segment_size;
	dl->prefix_max = prm.prefix_max;
	dl->window_log = wl;
	dl->level = prm.level;
	it->size = size;
	it->stored_size = stored;
	it->compression = OAB_COMP_ZSTD;
	it->level = prm.level;
	free(it->chunk_sha256);
	it->chunk_size = ch.size;
	it->n_chunks = ch.n;
	it->chunk_sha256 = ch.md;
	ch.md = NULL;
	oab_delta_free(it->delta);
	it->delta = dl;
	dl = NULL;
	rc = 0;
	goto out;
oom:
	oab_err_set(err, OAB_E_INTERNAL, "out of memory");
out:
	for (size_t i = 0; jobs && i < 2 * nw; i++)
		job_free(&jobs[i]);
	free(jobs);
	free(th);
	oab_delta_free(dl);
	EVP_MD_CTX_free(ch.ctx);
	EVP_MD_CTX_free(tctx);
	free(ch.md);
	free(x.h);
	free(x.blk);
	free(x.akey);
	free(x.ablk);
	return rc;
}

/* ---- which payloads become deltas, and their bases ---------------------- */

/* The payloads of the base bundle that m's payloads of the same name
 * (without delta-from) are made against, each decoded into a temp file
 * in dir once its bundle verified. */
static int bases_from_bundle(struct oab_manifest *m, const struct oab_build_opts *o,
			     const char *dir, int *fds, struct oab_err *err)
{
	struct oab_verify_opts vo = {.trust = o->trust};
	struct oab_reader *r = NULL;
	struct oab_sink file = {.kind = OAB_SINK_FILE}, discard = {.kind = OAB_SINK_DISCARD};
	const struct oab_item *old;
	int fd, st, rc = -1;

	if (oab_trust_count(o->trust) == 0) {
		oab_err_set(err, OAB_E_USAGE, "base bundle '%s': no trust anchor to verify it against",
			    o->base_bundle);
		return oab_err_detail(err, OAB_D_NO_ANCHOR, NULL, -1, NULL, NULL);
	}
	fd = oab_open_regular(o->base_bundle, "base bundle", NULL, OAB_E_USAGE, NULL, err);
	if (fd < 0)
		return -1;
	if (oab_reader_open(fd, o->base_bundle, &vo, &r, err) < 0 ||
	    oab_reader_authenticate(r, err) < 0)
		goto out;
	while ((st = oab_reader_next(r, &old, err)) == 1) {
		struct oab_item *it = NULL;
		size_t i;

		for (i = 0; i < m->n_items; i++)
			/* compression none asks for the bytes as they are */
			if (m->items[i].kind == OAB_ITEM_PAYLOAD && !m->items[i].delta_from &&
			    m->items[i].compression != OAB_COMP_NONE && old->kind == OAB_ITEM_PAYLOAD &&
			    strcmp(m->items[i].name, old->name) == 0) {
				it = &m->items[i];
				break;
			}
		if (!it || old->delta) {
			if (it && o->warn) {
				char msg[200];

				snprintf(msg, sizeof(msg),
					 "'%s' is itself a delta in the base bundle: stored in full",
					 it->name);
				o->warn(o->warn_arg, msg);
			}
			if (oab_reader_read(r, &discard, err) < 0)
				goto out;
			continue;
		}
		if ((fds[i] = oab_anon_tmpfile(dir, err)) < 0)
			goto out;
		file.fd = fds[i];
		if (oab_reader_read(r, &file, err) < 0)
			goto out;
	}
	if (st < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		oab_err_prefix(err, "base bundle: ");
	oab_reader_free(r);
	close(fd);
	return rc;
}

int oab_delta_bases_open(struct oab_manifest *m, const struct oab_build_opts *o,
			 const struct oab_roots *roots, int *fds, struct oab_err *err)
{
	char *dir = NULL, *slash;

	for (size_t i = 0; i < m->n_items; i++)
		fds[i] = -1;
	for (size_t i = 0; i < m->n_items; i++) {
		struct oab_item *it = &m->items[i];
		struct oab_item b = {.name = it->name, .source = it->delta_from,
				     .source_raw = it->delta_from_raw,
				     .source_where = it->delta_from_where};
		struct stat st;

		if (!it->delta_from)
			continue;
		if (oab_output_not_input(o->output, it->delta_from, "delta base", err) < 0 ||
		    (fds[i] = oab_source_open(roots, &b, &st, err)) < 0)
			return -1;
	}
	if (o->base_bundle) {
		int rc;

		if (oab_output_not_input(o->output, o->base_bundle, "base bundle", err) < 0)
			return -1;
		if (!(dir = strdup(o->output)))
			return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		slash = strrchr(dir, '/');
		if (slash)
			slash[slash == dir] = '\0';
		rc = bases_from_bundle(m, o, slash ? dir : ".", fds, err);
		free(dir);
		if (rc < 0)
			return -1;
	}
	/* a delta payload's member is payloads/NAME.zdelta */
	for (size_t i = 0; i < m->n_items; i++) {
		char *mem;

		if (fds[i] < 0)
			continue;
		if (asprintf(&mem, "payloads/%s.zdelta", m->items[i].name) < 0)
			return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		free(m->items[i].member);
		m->items[i].member = mem;
	}
	for (size_t i = 0; i < m->n_items; i++)
		for (size_t k = 0; k < i; k++) {
			const char *a = m->items[i].member, *b = m->items[k].member;
			size_t n = 0;

			while (a[n] && b[n] && (a[n] | 0x20) == (b[n] | 0x20))
				n++;
			if (!a[n] && !b[n])
				return oab_err_set(err, OAB_E_USAGE,
						   "'%s' and '%s' would be stored under the same member name ('%s')",
						   m->items[i].name, m->items[k].name, a);
		}
	return 0;
}
