/* payload.c - one source file -> zstd stream (multithreaded) -> temp file,
 * hashing both sides as the bytes pass; and the reverse for verify and
 * extract, bounded by the sizes the signed manifest declares. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <zstd.h>

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

int oab_payload_pack(struct oab_item *it, int out_fd, int threads,
		     oab_progress_fn progress, void *parg, struct oab_err *err)
{
	struct oab_hasher *hin = NULL;
	EVP_MD_CTX *hout = NULL;
	ZSTD_CCtx *cc = NULL;
	unsigned char *in = NULL, *out = NULL;
	size_t outsz = ZSTD_CStreamOutSize() * 8;
	uint64_t total = 0, stored = 0;
	struct stat st;
	unsigned int dl;
	int fd, rc = -1;

	fd = open(it->source, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return oab_err_set(err, errno == ENOENT || errno == EACCES ? OAB_E_USAGE : OAB_E_IO,
				   "'%s': source '%s': %s", it->name, it->source, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		oab_err_set(err, OAB_E_USAGE, "'%s': source '%s': not a regular file", it->name,
			    it->source);
		goto out;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	in = malloc(OAB_IO_BUF);
	out = malloc(outsz);
	if (!in || !out) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	if (!(hin = oab_hasher_new(err)) || digest_init(&hout, err) < 0)
		goto out;
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
		ssize_t n = oab_read_full(fd, in, OAB_IO_BUF);
		int last;

		if (n < 0) {
			oab_err_set(err, OAB_E_IO, "'%s': reading '%s': %s", it->name, it->source,
				    strerror(errno));
			goto out;
		}
		total += (uint64_t)n;
		last = (size_t)n < OAB_IO_BUF;
		if (total > (uint64_t)st.st_size) {
			oab_err_set(err, OAB_E_IO, "'%s': '%s' grew while it was read", it->name,
				    it->source);
			goto out;
		}
		oab_hasher_update(hin, in, (size_t)n);
		if (!cc) {
			if (oab_write_all(out_fd, in, (size_t)n) < 0)
				goto werr;
			EVP_DigestUpdate(hout, in, (size_t)n);
			stored += (uint64_t)n;
		} else {
			ZSTD_inBuffer ib = {in, (size_t)n, 0};
			ZSTD_EndDirective mode = last ? ZSTD_e_end : ZSTD_e_continue;
			size_t left;

			do {
				ZSTD_outBuffer ob = {out, outsz, 0};

				left = ZSTD_compressStream2(cc, &ob, &ib, mode);
				if (zcheck(left, "compression", it->name, err) < 0)
					goto out;
				if (ob.pos) {
					if (oab_write_all(out_fd, out, ob.pos) < 0)
						goto werr;
					EVP_DigestUpdate(hout, out, ob.pos);
					stored += ob.pos;
				}
			} while (last ? left != 0 : ib.pos < ib.size);
		}
		if (progress)
			progress(parg, it->name, total, (uint64_t)st.st_size);
		if (last)
			break;
	}
	if (total != (uint64_t)st.st_size) {
		oab_err_set(err, OAB_E_IO, "'%s': '%s' shrank while it was read", it->name, it->source);
		goto out;
	}
	it->size = total;
	it->stored_size = stored;
	if (oab_hasher_final(hin, it->sha256, err) < 0 ||
	    EVP_DigestFinal_ex(hout, it->stored_sha256, &dl) != 1) {
		oab_err_ssl(err, OAB_E_INTERNAL, "'%s': SHA-256", it->name);
		goto out;
	}
	rc = 0;
	goto out;
werr:
	oab_err_set(err, OAB_E_IO, "'%s': writing temporary file: %s", it->name, strerror(errno));
out:
	close(fd);
	ZSTD_freeCCtx(cc);
	oab_hasher_free(hin);
	EVP_MD_CTX_free(hout);
	free(in);
	free(out);
	return rc;
}

struct oab_unpack {
	const struct oab_item *it;
	ZSTD_DCtx *dc;
	struct oab_hasher *h;
	unsigned char *out;
	size_t outsz;
	uint64_t produced;
	size_t last_hint; /* last ZSTD_decompressStream return: 0 = frame ended */
	int out_fd;
};

struct oab_unpack *oab_unpack_new(const struct oab_item *it, int out_fd,
				  struct oab_err *err)
{
	struct oab_unpack *u = calloc(1, sizeof(*u));

	if (!u) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		return NULL;
	}
	u->it = it;
	u->out_fd = out_fd;
	if (!(u->h = oab_hasher_new(err)))
		goto fail;
	if (it->compression == OAB_COMP_ZSTD) {
		u->last_hint = 1; /* no frame seen yet: finishing now is truncation */
		u->outsz = ZSTD_DStreamOutSize() * 8;
		u->out = malloc(u->outsz);
		u->dc = ZSTD_createDCtx();
		if (!u->out || !u->dc) {
			oab_err_set(err, OAB_E_INTERNAL, "out of memory");
			goto fail;
		}
		if (zcheck(ZSTD_DCtx_setParameter(u->dc, ZSTD_d_windowLogMax, OAB_ZSTD_WINDOWLOG_MAX),
			   "window limit", it->name, err) < 0)
			goto fail;
	}
	return u;
fail:
	oab_unpack_free(u);
	return NULL;
}

static int unpack_emit(struct oab_unpack *u, const void *buf, size_t n, struct oab_err *err)
{
	if (n > u->it->size - u->produced)
		return oab_err_set(err, OAB_E_REJECTED,
				   "member '%s': content larger than the declared %llu bytes",
				   u->it->member, (unsigned long long)u->it->size);
	u->produced += n;
	oab_hasher_update(u->h, buf, n);
	if (u->out_fd >= 0 && oab_write_all(u->out_fd, buf, n) < 0)
		return oab_err_set(err, OAB_E_IO, "'%s': writing: %s", u->it->name, strerror(errno));
	return 0;
}

int oab_unpack_feed(struct oab_unpack *u, const void *buf, size_t n, struct oab_err *err)
{
	ZSTD_inBuffer ib = {buf, n, 0};
	int more = 0;

	if (!u->dc)
		return unpack_emit(u, buf, n, err);
	/* Run while input is left, or while the last call filled the output
	 * buffer (the decoder may hold more). */
	while (ib.pos < ib.size || more) {
		ZSTD_outBuffer ob = {u->out, u->outsz, 0};
		size_t before = ib.pos;
		size_t r = ZSTD_decompressStream(u->dc, &ob, &ib);

		if (ZSTD_isError(r))
			return oab_err_set(err, OAB_E_REJECTED, "member '%s': invalid zstd data: %s",
					   u->it->member, ZSTD_getErrorName(r));
		if (ib.pos != before || ob.pos)
			u->last_hint = r; /* 0 once a frame is complete */
		if (ob.pos && unpack_emit(u, u->out, ob.pos, err) < 0)
			return -1;
		more = ob.pos == ob.size;
	}
	return 0;
}

int oab_unpack_finish(struct oab_unpack *u, struct oab_err *err)
{
	unsigned char md[32];
	char want[65], got[65];

	if (u->dc && u->last_hint != 0)
		return oab_err_set(err, OAB_E_REJECTED, "member '%s': zstd stream is truncated",
				   u->it->member);
	if (u->produced != u->it->size)
		return oab_err_set(err, OAB_E_REJECTED,
				   "member '%s': content size mismatch (manifest %llu, bundle %llu)",
				   u->it->member, (unsigned long long)u->it->size,
				   (unsigned long long)u->produced);
	if (oab_hasher_final(u->h, md, err) < 0)
		return -1;
	if (CRYPTO_memcmp(md, u->it->sha256, 32) != 0) {
		oab_hex(u->it->sha256, 32, want);
		oab_hex(md, 32, got);
		return oab_err_set(err, OAB_E_REJECTED,
				   "member '%s': content sha256 mismatch (manifest %s, bundle %s)",
				   u->it->member, want, got);
	}
	return 0;
}

void oab_unpack_free(struct oab_unpack *u)
{
	if (!u)
		return;
	ZSTD_freeDCtx(u->dc);
	oab_hasher_free(u->h);
	free(u->out);
	free(u);
}
