/* SPDX-License-Identifier: Apache-2.0 */
/* hasher.c - SHA-256 on its own thread, so hashing overlaps compression,
 * decompression and I/O instead of adding to them. Bytes are either copied
 * into a small ring of buffers (bounded memory: OAB_HASH_SLOTS x
 * OAB_HASH_SLOT), or lent: the caller keeps the buffer untouched until
 * oab_hasher_wait() says the thread is done with it (no copy). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"

#define OAB_HASH_SLOTS 8
#define OAB_HASH_SLOT (1024 * 1024)

struct oab_hasher {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	EVP_MD_CTX *ctx;
	unsigned char *buf[OAB_HASH_SLOTS];
	const unsigned char *ptr[OAB_HASH_SLOTS]; /* what the slot hashes */
	size_t len[OAB_HASH_SLOTS];
	uint64_t head, tail; /* head: next to fill; tail: next to hash */
	size_t fill;         /* bytes in buf[head] not yet handed over */
	int done, failed, running;
	/* writer mode (oab_writer_new): write slots to fd instead of hashing;
	 * dense: every byte written (no holes) */
	int fd, werrno, dense;
	uint64_t written, kicked;
};

/* Write iov (n entries) at offset off, as one pwritev where it can (one
 * large I/O: O_DIRECT writes of a few MiB reach the disk much faster
 * than one 512 KiB write at a time). An O_DIRECT file takes only aligned
 * writes: the short tail (or a file system that refuses them) drops
 * O_DIRECT and writes through the page cache. iov is consumed. */
static int write_run(int fd, struct iovec *iov, int n, uint64_t off)
{
	int dropped = 0;

	while (n > 0) {
		ssize_t w = pwritev(fd, iov, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EINVAL && !dropped) {
			int fl = fcntl(fd, F_GETFL);

			dropped = 1;
			if (fl >= 0 && (fl & O_DIRECT) && fcntl(fd, F_SETFL, fl & ~O_DIRECT) == 0)
				continue;
			errno = EINVAL;
		}
		if (w < 0)
			return -1;
		off += (uint64_t)w;
		while (n > 0 && (size_t)w >= iov->iov_len) { /* skip what is written */
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (unsigned char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

#define SPARSE_BLOCK 4096

static int all_zero(const unsigned char *p, size_t n)
{
	static const unsigned char zero[SPARSE_BLOCK];

	return memcmp(p, zero, n) == 0;
}

int oab_write_at(int fd, struct iovec *iov, int n, uint64_t off)
{
	return write_run(fd, iov, n, off);
}

int oab_write_sparse(int fd, const struct iovec *in, int n, uint64_t off)
{
	/* A run of data blocks, as iovecs into the caller's buffers; at
	 * most one entry per buffer, since a run breaks only at a hole. */
	struct iovec run[OAB_SPARSE_IOV_MAX];
	uint64_t run_at = off;
	int nrun = 0;

	for (int i = 0; i < n; i++) {
		const unsigned char *p = in[i].iov_base;
		size_t len = in[i].iov_len;

		for (size_t at = 0; at < len;) {
			/* blocks aligned to the file offset, so holes are whole
			 * file-system blocks */
			size_t blk = SPARSE_BLOCK - (size_t)(off % SPARSE_BLOCK);

			if (blk > len - at)
				blk = len - at;
			if (all_zero(p + at, blk)) { /* a hole: nothing written */
				if (nrun && write_run(fd, run, nrun, run_at) < 0)
					return -1;
				nrun = 0;
			} else {
				if (nrun == 0)
					run_at = off;
				if (nrun && (unsigned char *)run[nrun - 1].iov_base +
						    run[nrun - 1].iov_len == p + at) {
					run[nrun - 1].iov_len += blk;
				} else {
					if (nrun == OAB_SPARSE_IOV_MAX) {
						if (write_run(fd, run, nrun, run_at) < 0)
							return -1;
						nrun = 0;
						run_at = off;
					}
					run[nrun].iov_base = (void *)(p + at);
					run[nrun++].iov_len = blk;
				}
			}
			at += blk;
			off += blk;
		}
	}
	return nrun ? write_run(fd, run, nrun, run_at) : 0;
}

static void *hash_main(void *arg)
{
	struct oab_hasher *h = arg;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (h->tail == h->head && !h->done)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->tail == h->head && h->done)
			break;
		{
			unsigned slot = (unsigned)(h->tail % OAB_HASH_SLOTS);
			int failed = h->failed, werr = 0, n = 1;
			struct iovec iov[OAB_HASH_SLOTS];
			size_t len = h->len[slot];

			if (h->fd >= 0) { /* everything queued, in one write */
				n = (int)(h->head - h->tail);
				len = 0;
				for (int i = 0; i < n; i++) {
					unsigned s = (unsigned)((h->tail + (uint64_t)i) % OAB_HASH_SLOTS);

					iov[i].iov_base = (void *)h->ptr[s];
					iov[i].iov_len = h->len[s];
					len += h->len[s];
				}
			}
			/* failed and werrno change under mu only: others read them */
			pthread_mutex_unlock(&h->mu);
			if (h->fd >= 0) {
				if (failed) {
					/* drain: the first error is kept */
				} else if ((h->dense ? oab_write_at(h->fd, iov, n, h->written)
						     : oab_write_sparse(h->fd, iov, n, h->written)) < 0) {
					werr = errno ? errno : EIO;
				} else {
					h->written += len;
					oab_writeback_kick(h->fd, &h->kicked, h->written);
				}
			} else if (!failed && EVP_DigestUpdate(h->ctx, h->ptr[slot], len) != 1) {
				werr = EIO;
			}
			pthread_mutex_lock(&h->mu);
			if (werr && !h->failed) {
				h->failed = 1;
				h->werrno = werr;
			}
			h->tail += (uint64_t)n;
			pthread_cond_broadcast(&h->cv);
		}
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

static struct oab_hasher *worker_new(int fd, int dense, struct oab_err *err)
{
	struct oab_hasher *h = calloc(1, sizeof(*h));

	if (!h)
		goto oom;
	h->fd = fd;
	h->dense = dense;
	/* Copy buffers are allocated on first use: callers that only lend
	 * never pay for them. */
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		goto oom;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->running = 1;
	if (pthread_create(&h->th, NULL, hash_main, h) != 0) {
		pthread_mutex_destroy(&h->mu);
		pthread_cond_destroy(&h->cv);
		goto oom;
	}
	return h;
oom:
	if (h) {
		for (int i = 0; i < OAB_HASH_SLOTS; i++)
			free(h->buf[i]);
		EVP_MD_CTX_free(h->ctx);
		free(h);
	}
	oab_err_set(err, OAB_E_INTERNAL, "cannot start a hashing thread");
	return NULL;
}

struct oab_hasher *oab_hasher_new(struct oab_err *err)
{
	return worker_new(-1, 0, err);
}

struct oab_hasher *oab_writer_new(int fd, int dense, struct oab_err *err)
{
	return worker_new(fd, dense, err);
}



/* Hand the filled slot to the hashing thread (mu held). */
static void hand_over(struct oab_hasher *h)
{
	if (!h->fill)
		return;
	h->ptr[h->head % OAB_HASH_SLOTS] = h->buf[h->head % OAB_HASH_SLOTS];
	h->len[h->head % OAB_HASH_SLOTS] = h->fill;
	h->head++;
	h->fill = 0;
	pthread_cond_broadcast(&h->cv);
}

void oab_hasher_update(struct oab_hasher *h, const void *data, size_t n)
{
	const unsigned char *p = data;

	pthread_mutex_lock(&h->mu);
	while (n > 0) {
		size_t room;

		/* Wait for a free slot to fill. */
		while (h->fill == 0 && h->head - h->tail == OAB_HASH_SLOTS)
			pthread_cond_wait(&h->cv, &h->mu);
		room = OAB_HASH_SLOT - h->fill;
		if (room > n)
			room = n;
		if (!h->buf[h->head % OAB_HASH_SLOTS] &&
		    !(h->buf[h->head % OAB_HASH_SLOTS] = malloc(OAB_HASH_SLOT))) {
			if (!h->failed) { /* reported by final / finish */
				h->failed = 1;
				h->werrno = ENOMEM;
			}
			break;
		}
		pthread_mutex_unlock(&h->mu);
		memcpy(h->buf[h->head % OAB_HASH_SLOTS] + h->fill, p, room);
		pthread_mutex_lock(&h->mu);
		h->fill += room;
		p += room;
		n -= room;
		if (h->fill == OAB_HASH_SLOT)
			hand_over(h);
	}
	pthread_mutex_unlock(&h->mu);
}

uint64_t oab_hasher_lend(struct oab_hasher *h, const void *data, size_t n)
{
	uint64_t ticket;

	pthread_mutex_lock(&h->mu);
	hand_over(h); /* copied bytes first: order matters */
	if (n) {
		while (h->head - h->tail == OAB_HASH_SLOTS)
			pthread_cond_wait(&h->cv, &h->mu);
		h->ptr[h->head % OAB_HASH_SLOTS] = data;
		h->len[h->head % OAB_HASH_SLOTS] = n;
		h->head++;
		pthread_cond_broadcast(&h->cv);
	}
	ticket = h->head;
	pthread_mutex_unlock(&h->mu);
	return ticket;
}

void oab_hasher_wait(struct oab_hasher *h, uint64_t ticket)
{
	pthread_mutex_lock(&h->mu);
	while (h->tail < ticket)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

/* Hand over what is pending, let the thread drain the ring, join it. */
static void stop(struct oab_hasher *h)
{
	pthread_mutex_lock(&h->mu);
	hand_over(h);
	h->done = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->th, NULL);
	h->running = 0;
}

int oab_hasher_final(struct oab_hasher *h, unsigned char md[32], struct oab_err *err)
{
	unsigned int dl;

	stop(h);
	if (h->failed || EVP_DigestFinal_ex(h->ctx, md, &dl) != 1)
		return oab_err_ssl(err, OAB_E_INTERNAL, "SHA-256 failed");
	return 0;
}

void oab_hasher_free(struct oab_hasher *h)
{
	if (!h)
		return;
	if (h->running)
		stop(h);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	for (int i = 0; i < OAB_HASH_SLOTS; i++)
		free(h->buf[i]);
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int oab_writer_error(struct oab_hasher *w)
{
	int e;

	pthread_mutex_lock(&w->mu);
	e = w->failed ? w->werrno : 0;
	pthread_mutex_unlock(&w->mu);
	return e;
}

int oab_writer_finish(struct oab_hasher *w)
{
	stop(w);
	return w->failed ? w->werrno : 0;
}
