/* SPDX-License-Identifier: Apache-2.0 */
/* peer_rauc_io.c - the file-level pieces of RAUC bundles: a libsquashfs
 * file over a bounded range of an fd, the dm-verity hash tree (made and
 * checked in bounded memory), and a BIO over a range of an fd so a
 * detached CMS can be checked over gigabytes without loading them. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sqfs/error.h>

#include "peer_rauc.h"

/* ---- sqfs_file_t over an fd ----------------------------------------- */

int oab_rauc_pio(int fd, void *buf, size_t n, uint64_t off, int wr)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t r = wr ? pwrite(fd, p, n, (off_t)off) : pread(fd, p, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = wr ? EIO : ENODATA;
			return -1;
		}
		p += r;
		off += (uint64_t)r;
		n -= (size_t)r;
	}
	return 0;
}

static int sqf_read_at(sqfs_file_t *base, sqfs_u64 off, void *buf, size_t n)
{
	struct oab_rauc_sqfile *f = (struct oab_rauc_sqfile *)base;

	if (off > f->size || n > f->size - off)
		return SQFS_ERROR_OUT_OF_BOUNDS;
	if (oab_rauc_pio(f->fd, buf, n, off, 0) < 0) {
		f->io_errno = errno;
		return SQFS_ERROR_IO;
	}
	return 0;
}

static int sqf_write_at(sqfs_file_t *base, sqfs_u64 off, const void *buf, size_t n)
{
	struct oab_rauc_sqfile *f = (struct oab_rauc_sqfile *)base;

	if (!f->writable)
		return SQFS_ERROR_IO;
	if (off > f->limit || n > f->limit - off)
		return SQFS_ERROR_OUT_OF_BOUNDS;
	if (oab_rauc_pio(f->fd, (void *)buf, n, off, 1) < 0) {
		f->io_errno = errno;
		return SQFS_ERROR_IO;
	}
	if (off + n > f->size)
		f->size = off + n;
	return 0;
}

static sqfs_u64 sqf_get_size(const sqfs_file_t *base)
{
	return ((const struct oab_rauc_sqfile *)base)->size;
}

static int sqf_truncate(sqfs_file_t *base, sqfs_u64 size)
{
	struct oab_rauc_sqfile *f = (struct oab_rauc_sqfile *)base;

	if (!f->writable || size > f->limit)
		return SQFS_ERROR_IO;
	if (ftruncate(f->fd, (off_t)size) < 0) {
		f->io_errno = errno;
		return SQFS_ERROR_IO;
	}
	f->size = size;
	return 0;
}

/* The object lives in the caller's struct: nothing to free, no copies. */
static void sqf_destroy(sqfs_object_t *o)
{
	(void)o;
}

static sqfs_object_t *sqf_copy(const sqfs_object_t *o)
{
	(void)o;
	return NULL;
}

void oab_rauc_sqfile_init(struct oab_rauc_sqfile *f, int fd, uint64_t size, uint64_t limit,
			  int writable)
{
	memset(f, 0, sizeof(*f));
	f->base.base.destroy = sqf_destroy;
	f->base.base.copy = sqf_copy;
	f->base.read_at = sqf_read_at;
	f->base.write_at = sqf_write_at;
	f->base.get_size = sqf_get_size;
	f->base.truncate = sqf_truncate;
	f->fd = fd;
	f->size = size;
	f->limit = limit;
	f->writable = writable;
}

const char *oab_rauc_sqfs_strerror(int code)
{
	switch (code) {
	case SQFS_ERROR_ALLOC: return "out of memory";
	case SQFS_ERROR_IO: return "I/O error";
	case SQFS_ERROR_COMPRESSOR: return "compressed data does not decode";
	case SQFS_ERROR_CORRUPTED: return "corrupted";
	case SQFS_ERROR_UNSUPPORTED: return "unsupported feature";
	case SQFS_ERROR_OVERFLOW: return "size overflow";
	case SQFS_ERROR_OUT_OF_BOUNDS: return "reference outside the file system";
	case SFQS_ERROR_SUPER_MAGIC: return "no squashfs superblock";
	case SFQS_ERROR_SUPER_VERSION: return "unsupported squashfs version";
	case SQFS_ERROR_SUPER_BLOCK_SIZE: return "bad block size";
	case SQFS_ERROR_NOT_DIR: return "not a folder";
	case SQFS_ERROR_NO_ENTRY: return "no such file";
	case SQFS_ERROR_LINK_LOOP: return "link loop";
	case SQFS_ERROR_NOT_FILE: return "not a regular file";
	default: return "libsquashfs error";
	}
}

/* ---- dm-verity ------------------------------------------------------- */

#define VBLK OAB_RAUC_BLOCK
#define VPER (VBLK / 32) /* digests per hash block */
#define VMAX_LEVELS 10   /* 128^9 blocks > 2^64 bytes */
#define VRUN 256         /* blocks read per pread */

struct vlayout {
	int levels;
	uint64_t start[VMAX_LEVELS]; /* block index in the file */
	uint64_t count[VMAX_LEVELS];
	uint64_t total;              /* hash blocks */
};

/* The layout veritysetup uses: top level first, right after the data. */
static int vlayout(uint64_t data_blocks, struct vlayout *l)
{
	uint64_t pos = data_blocks, n = data_blocks;

	memset(l, 0, sizeof(*l));
	if (data_blocks < 2 || data_blocks > UINT64_MAX / VBLK / 2)
		return -1;
	while (n > 1) {
		n = (n + VPER - 1) / VPER;
		if (l->levels == VMAX_LEVELS)
			return -1;
		l->count[l->levels++] = n;
	}
	for (int i = l->levels - 1; i >= 0; i--) {
		l->start[i] = pos;
		pos += l->count[i];
	}
	l->total = pos - data_blocks;
	return 0;
}

uint64_t oab_rauc_verity_size(uint64_t data_blocks)
{
	struct vlayout l;

	return vlayout(data_blocks, &l) < 0 ? 0 : l.total * VBLK;
}

static int vhash(const unsigned char salt[32], const unsigned char *blk, unsigned char out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(c, salt, 32) == 1 && EVP_DigestUpdate(c, blk, VBLK) == 1 &&
		 EVP_DigestFinal_ex(c, out, NULL) == 1;

	EVP_MD_CTX_free(c);
	return ok ? 0 : -1;
}

static int vio(int fd, void *buf, size_t n, uint64_t off, int wr, struct oab_err *err)
{
	if (oab_rauc_pio(fd, buf, n, off, wr) == 0)
		return 0;
	if (errno == ENODATA)
		return oab_err_set(err, OAB_E_REJECTED,
				   "verity hash tree: the file ends before offset %llu (truncated)",
				   (unsigned long long)(off + n));
	return oab_err_set(err, OAB_E_IO, "verity hash tree: cannot %s at offset %llu: %s",
			   wr ? "write" : "read", (unsigned long long)off, strerror(errno));
}

/* Hash n source blocks from block src into level blocks from block dst:
 * written (create) or compared with what is stored. */
static int vlevel(int fd, uint64_t src, uint64_t n, uint64_t dst, int level, int create,
		  const unsigned char salt[32], unsigned char *run, unsigned char *out,
		  unsigned char *have, uint64_t *done, uint64_t total, oab_progress_fn progress,
		  void *parg, struct oab_err *err)
{
	uint64_t i = 0, k = 0;

	memset(out, 0, VBLK);
	while (i < n) {
		size_t m = n - i < VRUN ? (size_t)(n - i) : VRUN;

		if (vio(fd, run, m * VBLK, (src + i) * VBLK, 0, err) < 0)
			return -1;
		for (size_t j = 0; j < m; j++, i++) {
			if (vhash(salt, run + j * VBLK, out + (i % VPER) * 32) < 0)
				return oab_err_set(err, OAB_E_INTERNAL, "verity hash tree: SHA-256 failed");
			if (i % VPER == VPER - 1 || i == n - 1) {
				if (create) {
					if (vio(fd, out, VBLK, (dst + k) * VBLK, 1, err) < 0)
						return -1;
				} else {
					if (vio(fd, have, VBLK, (dst + k) * VBLK, 0, err) < 0)
						return -1;
					if (CRYPTO_memcmp(have, out, VBLK) != 0 && level == 0)
						return oab_err_set(err, OAB_E_REJECTED,
								   "squashfs bytes %llu to %llu do not match the verity hash tree",
								   (unsigned long long)(k * VPER * VBLK),
								   (unsigned long long)((i + 1) * VBLK - 1));
					if (CRYPTO_memcmp(have, out, VBLK) != 0)
						return oab_err_set(err, OAB_E_REJECTED,
								   "verity hash tree: level %d block %llu does not match the level below",
								   level, (unsigned long long)k);
				}
				k++;
				memset(out, 0, VBLK);
			}
		}
		*done += m;
		if (progress)
			progress(parg, create ? "verity" : "verity-check", *done * VBLK, total * VBLK);
	}
	return 0;
}

int oab_rauc_verity(int fd, uint64_t data_blocks, const unsigned char salt[32],
		    unsigned char root[32], int create, oab_progress_fn progress, void *parg,
		    struct oab_err *err)
{
	struct vlayout l;
	unsigned char *run = NULL, *out = NULL, *have = NULL, top[32];
	uint64_t done = 0, total;
	int rc = -1;

	if (vlayout(data_blocks, &l) < 0)
		return oab_err_set(err, OAB_E_REJECTED,
				   "verity hash tree: %llu data blocks (at least 2 needed)",
				   (unsigned long long)data_blocks);
	total = data_blocks + l.total;
	run = malloc((size_t)VRUN * VBLK);
	out = malloc(VBLK);
	have = malloc(VBLK);
	if (!run || !out || !have) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	for (int i = 0; i < l.levels; i++)
		if (vlevel(fd, i == 0 ? 0 : l.start[i - 1], i == 0 ? data_blocks : l.count[i - 1],
			   l.start[i], i, create, salt, run, out, have, &done, total, progress, parg,
			   err) < 0)
			goto out;
	if (vio(fd, out, VBLK, l.start[l.levels - 1] * VBLK, 0, err) < 0)
		goto out;
	if (vhash(salt, out, top) < 0) {
		oab_err_set(err, OAB_E_INTERNAL, "verity hash tree: SHA-256 failed");
		goto out;
	}
	if (create) {
		memcpy(root, top, 32);
	} else if (CRYPTO_memcmp(root, top, 32) != 0) {
		char want[65], got[65];

		oab_hex(root, 32, want);
		oab_hex(top, 32, got);
		oab_err_set(err, OAB_E_REJECTED, "verity hash tree: root hash %s, signed verity-hash %s",
			    got, want);
		goto out;
	}
	rc = 0;
out:
	free(run);
	free(out);
	free(have);
	return rc;
}

/* ---- a BIO over a range of an fd ------------------------------------- */

struct rbio {
	int fd;
	uint64_t off, end;
	int *io_errno;
};

static int rbio_read(BIO *b, char *buf, int n)
{
	struct rbio *r = BIO_get_data(b);
	ssize_t got;

	if (!r || n <= 0 || r->off >= r->end)
		return 0;
	if ((uint64_t)n > r->end - r->off)
		n = (int)(r->end - r->off);
	do
		got = pread(r->fd, buf, (size_t)n, (off_t)r->off);
	while (got < 0 && errno == EINTR);
	if (got <= 0) {
		*r->io_errno = got < 0 ? errno : EIO; /* a short file is an error too */
		r->off = r->end;
		return 0;
	}
	r->off += (uint64_t)got;
	return (int)got;
}

static long rbio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int rbio_destroy(BIO *b)
{
	free(BIO_get_data(b));
	BIO_set_data(b, NULL);
	return 1;
}

/* One method for the process, made on first use (a race makes two and
 * keeps one). */
static BIO_METHOD *rbio_method(void)
{
	static BIO_METHOD *m;
	BIO_METHOD *have = __atomic_load_n(&m, __ATOMIC_ACQUIRE), *expect = NULL, *n;

	if (have)
		return have;
	n = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "fd range");
	if (!n || BIO_meth_set_read(n, rbio_read) != 1 || BIO_meth_set_ctrl(n, rbio_ctrl) != 1 ||
	    BIO_meth_set_destroy(n, rbio_destroy) != 1) {
		BIO_meth_free(n);
		return NULL;
	}
	if (!__atomic_compare_exchange_n(&m, &expect, n, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		BIO_meth_free(n);
		return expect;
	}
	return n;
}

BIO *oab_rauc_range_bio(int fd, uint64_t off, uint64_t len, int *io_errno)
{
	BIO_METHOD *meth = rbio_method();
	struct rbio *r;
	BIO *b;

	if (!meth)
		return NULL;
	r = malloc(sizeof(*r));
	if (r == NULL)
		return NULL;
	b = BIO_new(meth);
	if (b == NULL) {
		free(r);
		return NULL;
	}
	r->fd = fd;
	r->off = off;
	r->end = off + len;
	r->io_errno = io_errno;
	BIO_set_data(b, r);
	BIO_set_init(b, 1);
	return b;
}
