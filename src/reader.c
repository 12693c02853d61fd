/* SPDX-License-Identifier: Apache-2.0 */
/* reader.c - the streaming bundle reader behind verify, inspect and
 * extract. Order of work: manifest.yaml and manifest.sig (bounded), the
 * signature and trust, then the signed manifest and policy, then each
 * member as it streams past, one stored chunk at a time: a chunk is only
 * decompressed after its SHA-256 matched the signed manifest. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/crypto.h>

#include "internal.h"
#include "peer.h"

/* ---- the tar stream under libarchive --------------------------------- */

#define TAR_PAX_MAX (64 * 1024)

enum tar_state { TS_HDR, TS_DATA, TS_PAX, TS_END2, TS_TAIL };

struct oab_tarin {
	struct archive *a;
	int fd;
	const char *label;
	unsigned char *buf;   /* read buffer handed to libarchive */
	enum tar_state state;
	uint64_t off;         /* stream offset of the next byte to walk */
	uint64_t hdr_at;      /* offset of the block in hdr */
	unsigned char hdr[512];
	size_t hfill;
	uint64_t left;        /* TS_DATA / TS_PAX: bytes left, padding included */
	unsigned char *pax;   /* TS_PAX: the extended header's records */
	size_t paxlen, paxfill;
	int after_pax;        /* the last header was 'x' */
	int64_t pax_size;     /* its size record, or -1 */
	int failed;
	char why[256];
};

static int tar_fail(struct oab_tarin *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int tar_fail(struct oab_tarin *t, const char *fmt, ...)
{
	va_list ap;

	if (!t->failed) {
		va_start(ap, fmt);
		vsnprintf(t->why, sizeof(t->why), fmt, ap);
		va_end(ap);
		t->failed = 1;
	}
	return -1;
}

/* A numeric ustar field: octal (spaces or NULs around it) or base-256. */
static int tar_number(const unsigned char *f, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (f[0] & 0x80) {
		if (f[0] & 0x40)
			return -1; /* negative */
		v = f[0] & 0x3f;
		for (i = 1; i < n; i++) {
			if (v >> 55)
				return -1;
			v = v << 8 | f[i];
		}
		*out = v;
		return 0;
	}
	while (i < n && f[i] == ' ')
		i++;
	if (i == n || f[i] < '0' || f[i] > '7')
		return -1;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++)
		v = v << 3 | (uint64_t)(f[i] - '0');
	for (; i < n; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return -1;
	*out = v;
	return 0;
}

/* The records of a pax extended header: "LEN key=value\n" each. */
static int tar_pax(struct oab_tarin *t)
{
	size_t i = 0;

	t->pax_size = -1;
	while (i < t->paxlen) {
		size_t len = 0, k, j = i;
		const unsigned char *p = t->pax;

		while (j < t->paxlen && p[j] >= '0' && p[j] <= '9' && len < TAR_PAX_MAX)
			len = len * 10 + (size_t)(p[j++] - '0');
		if (j == i || j >= t->paxlen || p[j] != ' ' || len < 5 || len > t->paxlen - i ||
		    p[i + len - 1] != '\n')
			return tar_fail(t, "pax header at byte %llu: malformed record",
					(unsigned long long)t->hdr_at);
		k = j + 1;
		if (len - (k - i) > 11 && memcmp(p + k, "GNU.sparse.", 11) == 0)
			return tar_fail(t, "pax header at byte %llu: a sparse member (GNU.sparse.*), not allowed in a bundle",
					(unsigned long long)t->hdr_at);
		if (i + len - k > 5 && memcmp(p + k, "size=", 5) == 0) {
			uint64_t v = 0;
			size_t d = k + 5;

			if (p[d] == '\n')
				return tar_fail(t, "pax header at byte %llu: empty size",
						(unsigned long long)t->hdr_at);
			for (; p[d] != '\n'; d++) {
				if (p[d] < '0' || p[d] > '9' || v > (UINT64_MAX >> 4) / 10)
					return tar_fail(t, "pax header at byte %llu: bad size",
							(unsigned long long)t->hdr_at);
				v = v * 10 + (uint64_t)(p[d] - '0');
			}
			t->pax_size = (int64_t)v;
		}
		i += len;
	}
	return 0;
}

#define PEER_HINT "verify and inspect audit one given as a file, not through a pipe"

/* One full header block in t->hdr. */
static int tar_header(struct oab_tarin *t)
{
	const unsigned char *h = t->hdr;
	unsigned long long at = (unsigned long long)t->hdr_at;
	uint64_t sum = 0, want, size;
	int64_t ssum = 0;
	unsigned char type = h[156];
	int zero = 1;

	for (int i = 0; i < 512; i++) {
		unsigned char c = (i >= 148 && i < 156) ? ' ' : h[i];

		zero &= h[i] == 0;
		sum += c;
		ssum += (signed char)c;
	}
	if (zero) {
		if (t->after_pax)
			return tar_fail(t, "pax header not followed by a member (end of archive at byte %llu)", at);
		t->state = TS_END2;
		return 0;
	}
	if (tar_number(h + 148, 8, &want) < 0 || (want != sum && (int64_t)want != ssum)) {
		/* a peer bundle that reached the reader: through a pipe (the
		 * peers are recognised by pread), or not recognised */
		if (at == 0 && (memcmp(h, "070701", 6) == 0 || memcmp(h, "070702", 6) == 0))
			return tar_fail(t, "a cpio archive (an SWUpdate .swu? " PEER_HINT ")");
		if (at == 0 && memcmp(h, "hsqs", 4) == 0)
			return tar_fail(t, "a squashfs image (a RAUC bundle? " PEER_HINT ")");
		return tar_fail(t, "tar header at byte %llu: checksum mismatch (damaged)", at);
	}
	if (memcmp(h + 257, "ustar", 5) != 0)
		return tar_fail(t, "tar header at byte %llu: not a ustar header", at);
	if (tar_number(h + 124, 12, &size) < 0)
		return tar_fail(t, "tar header at byte %llu: bad size field", at);
	switch (type) {
	case 'x':
		if (t->after_pax)
			return tar_fail(t, "tar header at byte %llu: two pax headers in a row", at);
		if (size > TAR_PAX_MAX)
			return tar_fail(t, "pax header at byte %llu: %llu bytes, limit %d", at,
					(unsigned long long)size, TAR_PAX_MAX);
		t->paxlen = (size_t)size;
		t->paxfill = 0;
		t->left = (size + 511) & ~(uint64_t)511;
		t->after_pax = 1;
		t->state = t->left ? TS_PAX : TS_HDR;
		if (!t->left)
			return tar_pax(t);
		return 0;
	case '0': case '\0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
		/* links, devices and the like are refused by oab_tarin_next
		 * with a clearer message; stepping over them is enough here */
		if (t->after_pax && t->pax_size >= 0)
			size = (uint64_t)t->pax_size;
		if (size > UINT64_MAX - 511)
			return tar_fail(t, "tar header at byte %llu: bad size field", at);
		t->after_pax = 0;
		t->pax_size = -1;
		t->left = (size + 511) & ~(uint64_t)511;
		t->state = t->left ? TS_DATA : TS_HDR;
		return 0;
	case 'g':
		return tar_fail(t, "tar header at byte %llu: a global pax header (typeflag 'g'), not allowed in a bundle", at);
	case 'V':
		return tar_fail(t, "tar header at byte %llu: a GNU volume header (typeflag 'V'), not allowed in a bundle", at);
	case 'S':
		return tar_fail(t, "tar header at byte %llu: a GNU sparse member (typeflag 'S'), not allowed in a bundle", at);
	case 'L': case 'K':
		return tar_fail(t, "tar header at byte %llu: a GNU long name (typeflag '%c'), not allowed in a bundle", at, type);
	default:
		return tar_fail(t, "tar header at byte %llu: typeflag 0x%02x, not allowed in a bundle", at, type);
	}
}

/* Walk n new bytes; returns how many of them are good (all, unless a
 * check failed: then up to the start of the bad header). */
static size_t tar_walk(struct oab_tarin *t, const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t take;

		switch (t->state) {
		case TS_HDR:
		case TS_END2:
			if (t->hfill == 0)
				t->hdr_at = t->off;
			take = 512 - t->hfill < n - i ? 512 - t->hfill : n - i;
			memcpy(t->hdr + t->hfill, p + i, take);
			t->hfill += take;
			i += take;
			t->off += take;
			if (t->hfill < 512)
				break;
			t->hfill = 0;
			if (t->state == TS_END2) {
				for (int k = 0; k < 512; k++)
					if (t->hdr[k]) {
						tar_fail(t, "a lone zero block at byte %llu: the archive must end with two",
							 (unsigned long long)t->hdr_at - 512);
						break;
					}
				t->state = TS_TAIL;
			} else {
				tar_header(t);
			}
			if (t->failed) /* hand over nothing of this header */
				return i >= 512 ? i - 512 : 0;
			break;
		case TS_DATA:
		case TS_PAX:
			take = t->left < n - i ? (size_t)t->left : n - i;
			if (t->state == TS_PAX && t->paxfill < t->paxlen) {
				size_t c = t->paxlen - t->paxfill < take ? t->paxlen - t->paxfill : take;

				memcpy(t->pax + t->paxfill, p + i, c);
				t->paxfill += c;
			}
			i += take;
			t->off += take;
			t->left -= take;
			if (!t->left) {
				if (t->state == TS_PAX && tar_pax(t) < 0)
					return i;
				t->state = TS_HDR;
			}
			break;
		case TS_TAIL:
			tar_fail(t, "bytes after the end of the archive (at byte %llu)",
				 (unsigned long long)t->off);
			return i;
		}
	}
	return n;
}

static la_ssize_t tar_read(struct archive *a, void *arg, const void **out)
{
	struct oab_tarin *t = arg;
	ssize_t n;
	size_t good;

	*out = t->buf;
	if (t->failed)
		goto fail;
	do
		n = read(t->fd, t->buf, OAB_IO_BUF);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "read error: %s", strerror(errno));
		return -1;
	}
	if (n == 0) {
		if (t->off == 0 || t->state == TS_TAIL)
			return 0;
		if (t->state == TS_HDR && t->hfill == 0)
			tar_fail(t, "archive ends at byte %llu without its two end-of-archive blocks",
				 (unsigned long long)t->off);
		else if (t->state == TS_END2 && t->hfill == 0)
			tar_fail(t, "archive ends at byte %llu after one zero block, two are required",
				 (unsigned long long)t->off);
		else
			tar_fail(t, "archive truncated at byte %llu", (unsigned long long)t->off);
		goto fail;
	}
	good = tar_walk(t, t->buf, (size_t)n);
	if (good > 0)
		return (la_ssize_t)good;
fail:
	archive_set_error(a, EINVAL, "%s", t->why);
	return -1;
}

/* Skip member data by seeking (where fd can), never past the data. */
static la_int64_t tar_skip(struct archive *a, void *arg, la_int64_t want)
{
	struct oab_tarin *t = arg;
	uint64_t n;

	(void)a;
	if (t->failed || t->state != TS_DATA || want <= 0)
		return 0;
	n = (uint64_t)want < t->left ? (uint64_t)want : t->left;
	if (lseek(t->fd, (off_t)n, SEEK_CUR) < 0)
		return 0;
	t->off += n;
	t->left -= n;
	if (!t->left)
		t->state = TS_HDR;
	return (la_int64_t)n;
}

struct oab_tarin *oab_tarin_open(int fd, const char *label, struct oab_err *err)
{
	struct oab_tarin *t = calloc(1, sizeof(*t));

	if (!t || !(t->buf = malloc(OAB_IO_BUF)) || !(t->pax = malloc(TAR_PAX_MAX)) ||
	    !(t->a = archive_read_new())) {
		oab_tarin_free(t);
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		return NULL;
	}
	t->fd = fd;
	t->label = label;
	t->pax_size = -1;
	/* Plain tar only: no decompression filters, no other formats. */
	archive_read_support_format_tar(t->a);
	archive_read_set_callback_data(t->a, t);
	archive_read_set_read_callback(t->a, tar_read);
	archive_read_set_skip_callback(t->a, tar_skip);
	if (archive_read_open1(t->a) != ARCHIVE_OK) {
		oab_err_set(err, OAB_E_REJECTED, "%s: not a bundle: %s", label,
			    archive_error_string(t->a));
		oab_tarin_free(t);
		return NULL;
	}
	return t;
}

struct archive *oab_tarin_archive(struct oab_tarin *t)
{
	return t->a;
}

void oab_tarin_free(struct oab_tarin *t)
{
	if (!t)
		return;
	if (t->a)
		archive_read_free(t->a);
	free(t->buf);
	free(t->pax);
	free(t);
}

int oab_tarin_end(struct oab_tarin *t, struct oab_err *err)
{
	/* Read what libarchive did not ask for: only the rest of the second
	 * zero block may be left, then the end of the file. */
	while (!t->failed) {
		const void *p;
		la_ssize_t n = tar_read(t->a, t, &p);

		if (n == 0)
			return 0;
		if (n < 0 && !t->failed)
			return oab_err_set(err, OAB_E_IO, "%s: %s", t->label, archive_error_string(t->a));
	}
	return oab_err_set(err, OAB_E_REJECTED, "%s: %s", t->label, t->why);
}

/* Next header, with the member-level checks every member gets. Returns 1
 * with *e set, 0 at the end of the archive, -1 on error. */
int oab_tarin_next(struct oab_tarin *t, struct archive_entry **ep, struct oab_err *err)
{
	int st = archive_read_next_header(t->a, ep);
	struct archive_entry *e = *ep;
	const char *name;
	char esc[400];
	int type;

	if (st == ARCHIVE_EOF)
		return 0;
	if (st != ARCHIVE_OK)
		return oab_err_set(err, OAB_E_REJECTED, "%s: damaged or truncated archive: %s",
				   t->label, archive_error_string(t->a));
	name = archive_entry_pathname(e);
	if (!name)
		return oab_err_set(err, OAB_E_REJECTED, "%s: member without a name", t->label);
	oab_escape(name, strlen(name), esc, sizeof(esc));
	if (name[0] == '/' || strcmp(name, "..") == 0 || strncmp(name, "../", 3) == 0 ||
	    strstr(name, "/../") || (strlen(name) >= 3 && strcmp(name + strlen(name) - 3, "/..") == 0) ||
	    strchr(name, '\\'))
		return oab_err_set(err, OAB_E_REJECTED, "member '%s': unsafe path", esc);
	type = (int)archive_entry_filetype(e);
	if (archive_entry_hardlink(e))
		return oab_err_set(err, OAB_E_REJECTED, "member '%s': is a hard link", esc);
	if (type != AE_IFREG)
		return oab_err_set(err, OAB_E_REJECTED, "member '%s': is a %s, not a regular file",
				   esc, type == AE_IFLNK ? "symbolic link" : type == AE_IFDIR ? "directory"
				   : type == AE_IFCHR || type == AE_IFBLK ? "device"
				   : type == AE_IFIFO ? "fifo" : "special file");
	if (archive_entry_sparse_count(e) > 0)
		return oab_err_set(err, OAB_E_REJECTED, "member '%s': is a sparse file", esc);
	if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0)
		return oab_err_set(err, OAB_E_REJECTED, "member '%s': no size", esc);
	return 1;
}

/* manifest.yaml or manifest.sig, also as "./manifest.yaml" and the like */
static int is_head_name(const char *name)
{
	while (name[0] == '.' && name[1] == '/') {
		name += 2;
		while (*name == '/')
			name++;
	}
	return strcmp(name, "manifest.yaml") == 0 || strcmp(name, "manifest.sig") == 0;
}

int oab_tarin_scan_rest(struct oab_tarin *t, struct archive_entry *pending, struct oab_err *err)
{
	struct archive_entry *e = pending;
	int st = pending ? 1 : 0;

	for (;;) {
		if (!e) {
			st = oab_tarin_next(t, &e, err);
			if (st < 0)
				return -1;
			if (st == 0)
				break;
		}
		if (is_head_name(archive_entry_pathname(e))) {
			char esc[400];

			oab_escape(archive_entry_pathname(e), strlen(archive_entry_pathname(e)), esc,
				   sizeof(esc));
			return oab_err_set(err, OAB_E_REJECTED,
					   "%s: a second member '%s' (tar would extract this one): not a bundle",
					   t->label, esc);
		}
		if (archive_read_data_skip(t->a) != ARCHIVE_OK)
			return oab_err_set(err, OAB_E_REJECTED, "%s: damaged or truncated archive: %s",
					   t->label, archive_error_string(t->a));
		e = NULL;
	}
	return oab_tarin_end(t, err);
}

int oab_member_read_small(struct archive *a, struct archive_entry *e, size_t limit,
			  unsigned char **out, size_t *len, struct oab_err *err)
{
	const char *name = archive_entry_pathname(e);
	la_int64_t sz = archive_entry_size(e);
	unsigned char *b;
	la_ssize_t n;

	if (archive_entry_filetype(e) != AE_IFREG || sz < 0)
		return oab_err_set(err, OAB_E_REJECTED, "member '%s': not a regular file", name);
	if (sz > (la_int64_t)limit)
		return oab_err_set(err, OAB_E_REJECTED, "member '%s': %lld bytes, limit %zu",
				   name, (long long)sz, limit);
	b = malloc((size_t)sz + 1);
	if (!b)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	n = archive_read_data(a, b, (size_t)sz + 1);
	if (n != (la_ssize_t)sz) {
		free(b);
		return oab_err_set(err, OAB_E_REJECTED, "member '%s': bundle truncated or damaged (%s)",
				   name, n < 0 ? archive_error_string(a) : "short read");
	}
	b[sz] = '\0';
	*out = b;
	*len = (size_t)sz;
	return 0;
}

/* Read-ahead for oab_member_chunks: a thread reads and checks chunk k+1
 * while the caller's sink consumes chunk k. */
struct chunk_pipe {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct archive *a;
	const struct oab_item *it;
	unsigned char *buf[2];
	size_t len[2];
	int ready[2];
	int status; /* 0 reading, 1 all read, -1 failed (see rerr) */
	int stop;   /* the consumer gave up */
	struct oab_err rerr;
};

/* Read chunk k (want bytes) into buf and check it; 0 or -1 (a wrong
 * hash: detail OAB_D_CHUNK_HASH, the archive still in step). */
static int read_chunk(struct chunk_pipe *p, size_t k, uint64_t at, size_t want,
		      unsigned char *buf)
{
	const struct oab_item *it = p->it;
	unsigned char md[32];
	size_t fill = 0;

	while (fill < want) {
		la_ssize_t n = archive_read_data(p->a, buf + fill, want - fill);

		if (n < 0) {
			oab_err_set(&p->rerr, OAB_E_REJECTED,
				    "member '%s': bundle truncated or damaged (%s)", it->member,
				    archive_error_string(p->a));
			return oab_err_detail(&p->rerr, OAB_D_STRUCTURE, it->member, -1, NULL, NULL);
		}
		if (n == 0) {
			oab_err_set(&p->rerr, OAB_E_REJECTED,
				    "member '%s': truncated (%llu of %llu bytes)", it->member,
				    (unsigned long long)(at + fill),
				    (unsigned long long)it->stored_size);
			return oab_err_detail(&p->rerr, OAB_D_STRUCTURE, it->member, -1, NULL, NULL);
		}
		fill += (size_t)n;
	}
	if (k >= it->n_chunks)
		return oab_err_set(&p->rerr, OAB_E_INTERNAL, "member '%s': chunk list too short",
				   it->member);
	if (!EVP_Digest(buf, want, md, NULL, EVP_sha256(), NULL))
		return oab_err_ssl(&p->rerr, OAB_E_INTERNAL, "SHA-256 failed");
	if (CRYPTO_memcmp(md, it->chunk_sha256[k], 32) != 0) {
		char w[65], h[65];

		oab_hex(it->chunk_sha256[k], 32, w);
		oab_hex(md, 32, h);
		oab_err_set(&p->rerr, OAB_E_REJECTED,
			    "member '%s': stored chunk %zu (bytes %llu-%llu) sha256 mismatch (manifest %s, bundle %s)",
			    it->member, k, (unsigned long long)at, (unsigned long long)(at + want - 1),
			    w, h);
		return oab_err_detail(&p->rerr, OAB_D_CHUNK_HASH, it->member, (long long)k, w, h);
	}
	return 0;
}

static void *chunk_reader(void *arg)
{
	struct chunk_pipe *p = arg;
	const struct oab_item *it = p->it;
	uint64_t at = 0;
	int st = 1;

	for (size_t k = 0; at < it->stored_size; k++) {
		size_t want = it->stored_size - at < it->chunk_size ? (size_t)(it->stored_size - at)
								    : it->chunk_size;
		int slot = (int)(k % 2), rc;

		pthread_mutex_lock(&p->mu);
		while (p->ready[slot] && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		pthread_mutex_unlock(&p->mu);
		rc = read_chunk(p, k, at, want, p->buf[slot]);
		pthread_mutex_lock(&p->mu);
		if (rc < 0) {
			p->status = rc;
			pthread_cond_broadcast(&p->cv);
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		p->len[slot] = want;
		p->ready[slot] = 1;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		at += want;
	}
	pthread_mutex_lock(&p->mu);
	p->status = st;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int oab_member_chunks(struct archive *a, const struct oab_item *it, oab_chunk_sink sink,
		      void *arg, oab_progress_fn progress, void *parg, struct oab_err *err)
{
	struct chunk_pipe p = {.a = a, .it = it};
	pthread_t th;
	uint64_t done = 0;
	int rc = 0;

	p.buf[0] = malloc(it->chunk_size);
	p.buf[1] = malloc(it->chunk_size);
	if (!p.buf[0] || !p.buf[1]) {
		free(p.buf[0]);
		free(p.buf[1]);
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	}
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	if (pthread_create(&th, NULL, chunk_reader, &p) != 0) {
		rc = oab_err_set(err, OAB_E_INTERNAL, "cannot start a reading thread");
		goto out;
	}
	for (size_t k = 0;; k++) {
		int slot = (int)(k % 2);

		pthread_mutex_lock(&p.mu);
		while (!p.ready[slot] && p.status == 0)
			pthread_cond_wait(&p.cv, &p.mu);
		if (!p.ready[slot]) { /* everything read, or the reader failed */
			rc = p.status < 0 ? p.status : 0;
			pthread_mutex_unlock(&p.mu);
			if (rc < 0)
				*err = p.rerr;
			break;
		}
		pthread_mutex_unlock(&p.mu);
		rc = sink(arg, p.buf[slot], p.len[slot], err);
		done += p.len[slot];
		pthread_mutex_lock(&p.mu);
		p.ready[slot] = 0;
		if (rc < 0)
			p.stop = 1;
		pthread_cond_broadcast(&p.cv);
		pthread_mutex_unlock(&p.mu);
		if (rc < 0)
			break;
		if (progress)
			progress(parg, it->name, done, it->stored_size);
	}
	pthread_join(th, NULL);
out:
	pthread_mutex_destroy(&p.mu);
	pthread_cond_destroy(&p.cv);
	free(p.buf[0]);
	free(p.buf[1]);
	return rc;
}


/* ---- the reader: open -> authenticate -> next -> read ------------------ */

struct oab_reader {
	struct oab_tarin *t;
	struct archive *a;
	struct archive_entry *e; /* current header (owned by a) */
	char *label;
	int fd;
	struct oab_verify_opts o;
	int64_t now;
	struct oab_report *rep;  /* its manifest is the signed manifest */
	unsigned char *yaml, *sig;
	size_t ylen, siglen;
	CMS_ContentInfo *cms;
	int pending;   /* e holds a header not yet matched to an item */
	int at_end;    /* the archive's member list ended */
	int auth_done; /* authentication was tried */
	int sig_ok;    /* signatures checked: rep->manifest parsed */
	int authed;    /* sig_ok, trusted and within the policy */
	size_t next_item;
	const struct oab_item *cur;
	int cur_read;
	int broken;    /* out of step: nothing more can be read */
	int finished;  /* oab_reader_next gave 0 */
	unsigned char *buf;
	struct oab_base *bases; /* oab_reader_set_base (names owned) */
	size_t n_bases;
};

/* Fail and mark the reader out of step. */
static int stop(struct oab_reader *r)
{
	r->broken = 1;
	return -1;
}

int oab_reader_open(int fd, const char *label, const struct oab_verify_opts *opts,
		    struct oab_reader **out, struct oab_err *err)
{
	struct oab_reader *r = calloc(1, sizeof(*r));
	int st;

	*out = NULL;
	if (!r || !(r->rep = oab_report_new()) || !(r->rep->format = oab_strdup("otabundle")) ||
	    !(r->label = oab_strdup(label ? label : "bundle")) || !(r->buf = malloc(OAB_IO_BUF))) {
		oab_reader_free(r);
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	}
	r->fd = fd;
	if (opts)
		r->o = *opts;
	/* 0 (the zero-initialised default) and below: the current time */
	r->now = r->o.now > 0 ? r->o.now : (int64_t)time(NULL);
	*out = r;
	r->t = oab_tarin_open(fd, r->label, err);
	if (!r->t)
		return stop(r);
	r->a = oab_tarin_archive(r->t);
	st = oab_tarin_next(r->t, &r->e, err);
	if (st <= 0) {
		if (st == 0) {
			oab_err_set(err, OAB_E_REJECTED, "%s: empty archive, not a bundle", r->label);
			oab_err_detail(err, OAB_D_NOT_A_BUNDLE, NULL, -1, NULL, NULL);
		}
		oab_report_add_check(r->rep, 0, "member-order", "manifest.yaml", "missing");
		return stop(r);
	}
	if (strcmp(archive_entry_pathname(r->e), "manifest.yaml") != 0) {
		oab_report_add_check(r->rep, 0, "member-order", "manifest.yaml", "not the first member");
		oab_err_set(err, OAB_E_REJECTED, "%s: first member is not 'manifest.yaml', not a bundle%s",
			    r->label, strcmp(archive_entry_pathname(r->e), "version") == 0
			    ? " (a Mender artifact? " PEER_HINT ")" : "");
		oab_err_detail(err, OAB_D_NOT_A_BUNDLE, NULL, -1, NULL, NULL);
		return stop(r);
	}
	if (oab_member_read_small(r->a, r->e, OAB_MAX_MANIFEST_BYTES, &r->yaml, &r->ylen, err) < 0)
		return stop(r);
	st = oab_tarin_next(r->t, &r->e, err);
	if (st < 0)
		return stop(r);
	if (st == 1 && strcmp(archive_entry_pathname(r->e), "manifest.sig") == 0) {
		if (oab_member_read_small(r->a, r->e, OAB_MAX_SIG_BYTES, &r->sig, &r->siglen, err) < 0)
			return stop(r);
		r->rep->signed_bundle = 1;
	} else if (st == 1) {
		r->pending = 1; /* unsigned: this header is the first payload's */
	} else {
		r->at_end = 1;
	}
	return 0;
}

/* The manifest's bytes, once they may be parsed. */
static int parse_manifest(struct oab_reader *r, struct oab_err *err)
{
	if (oab_manifest_parse((char *)r->yaml, r->ylen, "manifest.yaml", NULL,
			       OAB_MANIFEST_RESOLVED, &r->rep->manifest, err) < 0) {
		err->code = OAB_E_REJECTED;
		oab_err_detail(err, OAB_D_MANIFEST, "manifest.yaml", -1, NULL, NULL);
		oab_report_add_check(r->rep, 0, "manifest", NULL, "%s", err->msg);
		return -1;
	}
	return 0;
}

static int parse_cms(struct oab_reader *r, struct oab_err *err)
{
	r->cms = oab_cms_parse(r->sig, r->siglen, err);
	if (!r->cms) {
		oab_report_add_check(r->rep, 0, "signature", NULL, "%s", err->msg);
		if (err->detail == OAB_D_NONE)
			oab_err_detail(err, OAB_D_SIGNATURE, "manifest.sig", -1, NULL, NULL);
		return -1;
	}
	return 0;
}

/* The detail of a failed signature/trust or policy step, from the first
 * failed check of the report (where the step did not set one). */
static int auth_detail(struct oab_reader *r, struct oab_err *err)
{
	static const struct {
		const char *id;
		enum oab_detail d;
	} map[] = {
		{"signature", OAB_D_SIGNATURE}, {"trust", OAB_D_UNTRUSTED},
		{"threshold", OAB_D_UNTRUSTED}, {"policy.compatible", OAB_D_POLICY_COMPATIBLE},
		{"policy.security-version", OAB_D_POLICY_SECURITY_VERSION},
		{"policy.expires", OAB_D_POLICY_EXPIRED},
	};

	if (err->detail != OAB_D_NONE || err->code != OAB_E_REJECTED)
		return -1;
	for (size_t i = 0; i < r->rep->n_checks; i++) {
		if (r->rep->checks[i].ok)
			continue;
		for (size_t k = 0; k < sizeof(map) / sizeof(map[0]); k++)
			if (strcmp(r->rep->checks[i].id, map[k].id) == 0)
				return oab_err_detail(err, map[k].d, NULL, -1, NULL, NULL);
	}
	return -1;
}

int oab_reader_auth(struct oab_reader *r, enum oab_auth_mode mode, struct oab_err *err)
{
	const struct oab_manifest *m;

	if (r->auth_done || r->broken)
		return oab_err_set(err, OAB_E_USAGE, "%s: authenticated already, or after a failure",
				   r->label);
	r->auth_done = 1;
	if (mode == OAB_AUTH_NONE) {
		/* inspect: unverified by design, but the signature's structure
		 * and every header are checked before the manifest is parsed */
		if ((r->sig && parse_cms(r, err) < 0) || oab_reader_scan_rest(r, err) < 0 ||
		    (r->cms && oab_trust_evaluate(NULL, r->cms, r->yaml, r->ylen, r->now, 1, 0, NULL, r->rep,
						   err) < 0))
			return stop(r);
		if (oab_manifest_parse((char *)r->yaml, r->ylen, "manifest.yaml", NULL,
				       OAB_MANIFEST_RESOLVED, &r->rep->manifest, err) < 0) {
			err->code = OAB_E_REJECTED;
			oab_err_detail(err, OAB_D_MANIFEST, "manifest.yaml", -1, NULL, NULL);
			return stop(r);
		}
		return 0;
	}
	if (mode == OAB_AUTH_SELF) {
		if (r->sig) {
			struct oab_keyids ids = {0};
			int rc;

			if (parse_cms(r, err) < 0)
				return stop(r);
			rc = oab_cms_check(r->cms, r->yaml, r->ylen, &ids, err);
			free(ids.id);
			if (rc < 0) {
				err->code = OAB_E_REJECTED;
				oab_err_detail(err, OAB_D_SIGNATURE, "manifest.sig", -1, NULL, NULL);
				return stop(r);
			}
		}
		if (parse_manifest(r, err) < 0)
			return stop(r);
		r->sig_ok = r->authed = 1;
		return 0;
	}
	if (oab_trust_count(r->o.trust) == 0) {
		oab_err_set(err, OAB_E_USAGE, "no trust anchor given");
		return oab_err_detail(err, OAB_D_NO_ANCHOR, NULL, -1, NULL, NULL);
	}
	if (!r->sig) {
		oab_report_add_check(r->rep, 0, "signature", NULL, "bundle is not signed");
		oab_err_set(err, OAB_E_REJECTED, "%s: bundle is not signed (no member 'manifest.sig')",
			    r->label);
		return oab_err_detail(err, OAB_D_NOT_SIGNED, "manifest.sig", -1, NULL, NULL);
	}
	if (parse_cms(r, err) < 0 ||
	    oab_trust_evaluate(r->o.trust, r->cms, r->yaml, r->ylen, r->now, r->o.threshold,
			       r->o.allow_weak, &r->o, r->rep, err) < 0)
		return auth_detail(r, err);
	/* Only now are the manifest's bytes trusted enough to parse. */
	if (parse_manifest(r, err) < 0)
		return -1;
	r->sig_ok = 1;
	m = r->rep->manifest;
	oab_report_add_check(r->rep, 1, "manifest", NULL, "%s %s, %zu items", m->name, m->version,
			     m->n_items);
	if (oab_policy_check(m, &r->o, r->now, r->rep, err) < 0)
		return auth_detail(r, err);
	r->authed = 1;
	return 0;
}

int oab_reader_authenticate(struct oab_reader *r, struct oab_err *err)
{
	return oab_reader_auth(r, OAB_AUTH_TRUST, err);
}

const struct oab_manifest *oab_reader_manifest(const struct oab_reader *r)
{
	return r && r->sig_ok ? r->rep->manifest : NULL;
}

const struct oab_report *oab_reader_report(const struct oab_reader *r)
{
	return r ? r->rep : NULL;
}

void oab_reader_raw(const struct oab_reader *r, const unsigned char **yaml, size_t *ylen,
		    const unsigned char **sig, size_t *siglen)
{
	*yaml = r->yaml;
	*ylen = r->ylen;
	*sig = r->sig;
	*siglen = r->siglen;
}

CMS_ContentInfo *oab_reader_cms(struct oab_reader *r)
{
	return r->cms;
}

int oab_reader_scan_rest(struct oab_reader *r, struct oab_err *err)
{
	int rc;

	if (r->broken || r->finished)
		return oab_err_set(err, OAB_E_USAGE, "%s: nothing left to scan", r->label);
	rc = r->at_end ? oab_tarin_end(r->t, err)
		       : oab_tarin_scan_rest(r->t, r->pending ? r->e : NULL, err);
	r->pending = 0;
	r->at_end = r->finished = 1;
	return rc < 0 ? stop(r) : 0;
}

struct oab_report *oab_reader_take_report(struct oab_reader *r)
{
	struct oab_report *rep = r->rep;

	r->rep = NULL;
	r->sig_ok = r->authed = 0;
	r->broken = 1;
	return rep;
}

int oab_reader_in_step(const struct oab_reader *r)
{
	return !r->broken;
}

/* The end of the member list: nothing extra, a clean end of archive. */
static int reader_end(struct oab_reader *r, struct oab_err *err)
{
	int st = r->pending ? 1 : r->at_end ? 0 : oab_tarin_next(r->t, &r->e, err);

	r->pending = 0;
	if (st > 0) {
		char esc[400];
		const char *name = archive_entry_pathname(r->e);

		oab_escape(name, strlen(name), esc, sizeof(esc));
		oab_report_add_check(r->rep, 0, "extra-members", NULL, "extra member '%s'", esc);
		oab_err_set(err, OAB_E_REJECTED, "member '%s': not listed in the manifest", esc);
		oab_err_detail(err, OAB_D_STRUCTURE, esc, -1, NULL, NULL);
		return stop(r);
	}
	if (st < 0)
		return stop(r);
	if (oab_tarin_end(r->t, err) < 0) {
		oab_report_add_check(r->rep, 0, "extra-members", NULL, "%s", err->msg);
		oab_err_detail(err, OAB_D_STRUCTURE, NULL, -1, NULL, NULL);
		return stop(r);
	}
	oab_report_add_check(r->rep, 1, "extra-members", NULL, "no extra members");
	r->at_end = r->finished = 1;
	return 0;
}

int oab_reader_next(struct oab_reader *r, const struct oab_item **item, struct oab_err *err)
{
	const struct oab_manifest *m = oab_reader_manifest(r);
	const struct oab_item *it;
	const char *name;
	int st;

	*item = NULL;
	if (!m || r->broken || r->finished)
		return oab_err_set(err, OAB_E_USAGE, "%s: %s", r->label,
				   r->finished ? "every member was read already"
				   : !m ? "the bundle is not authenticated: no member can be read"
					: "cannot go on after the error before");
	if (r->cur && !r->cur_read) { /* checked, not kept */
		struct oab_sink d = {.kind = OAB_SINK_DISCARD};

		if (oab_reader_read(r, &d, err) < 0)
			return -1;
	}
	r->cur = NULL;
	if (r->next_item == m->n_items)
		return reader_end(r, err) < 0 ? -1 : 0;
	it = &m->items[r->next_item++];
	if (r->pending) {
		r->pending = 0;
	} else {
		st = r->at_end ? 0 : oab_tarin_next(r->t, &r->e, err);
		if (st <= 0) {
			if (st == 0) {
				r->at_end = 1;
				oab_report_add_check(r->rep, 0, "member-order", it->member,
						     "missing (bundle ends early)");
				oab_err_set(err, OAB_E_REJECTED, "member '%s': missing (bundle ends early)",
					    it->member);
				oab_err_detail(err, OAB_D_STRUCTURE, it->member, -1, NULL, NULL);
			}
			return stop(r);
		}
	}
	name = archive_entry_pathname(r->e);
	if (strcmp(name, it->member) != 0) {
		char esc[400];

		oab_escape(name, strlen(name), esc, sizeof(esc));
		oab_report_add_check(r->rep, 0, "member-order", it->member, "found '%s' in its place", esc);
		oab_err_set(err, OAB_E_REJECTED,
			    "member '%s': unexpected here (expected '%s': members missing, extra or out of order)",
			    esc, it->member);
		oab_err_detail(err, OAB_D_STRUCTURE, it->member, -1, it->member, esc);
		return stop(r);
	}
	if ((uint64_t)archive_entry_size(r->e) != it->stored_size) {
		char w[24], g[24];

		snprintf(w, sizeof(w), "%llu", (unsigned long long)it->stored_size);
		snprintf(g, sizeof(g), "%lld", (long long)archive_entry_size(r->e));
		oab_report_add_check(r->rep, 0, "member-size", it->member, "stored size: manifest %s, bundle %s",
				     w, g);
		oab_err_set(err, OAB_E_REJECTED, "member '%s': stored size mismatch (manifest %s, bundle %s)",
			    it->member, w, g);
		oab_err_detail(err, OAB_D_MEMBER_SIZE, it->member, -1, w, g);
		return stop(r);
	}
	r->cur = it;
	r->cur_read = 0;
	*item = it;
	return 1;
}

/* Stored bytes of one member on their way: copied as they are (ARCHIVE)
 * and decoded into the sink. */
struct feed {
	struct oab_unpack *u;
	struct oab_dunpack *d; /* a delta payload with its base */
	struct archive *w;
	const struct oab_sink *s; /* ARCHIVE with a stored hook */
};

static int feed_stored(void *arg, const unsigned char *p, size_t n, struct oab_err *err)
{
	struct feed *f = arg;

	if (f->w && archive_write_data(f->w, p, n) != (la_ssize_t)n)
		return oab_err_set(err, OAB_E_IO, "writing the new bundle: %s",
				   archive_error_string(f->w));
	if (f->s && f->s->stored(f->s->stored_arg, p, n, err) < 0)
		return -1;
	if (f->d)
		return oab_delta_unpack_feed(f->d, p, n, err);
	/* a delta payload without its base: the stored chunks are checked
	 * (oab_member_chunks), nothing can be decoded */
	return f->u ? oab_unpack_feed(f->u, p, n, err) : 0;
}

int oab_reader_set_base(struct oab_reader *r, const char *name, int fd, struct oab_err *err)
{
	void *p;

	if (!r || !name || fd < 0)
		return oab_err_set(err, OAB_E_USAGE, "oab_reader_set_base: no reader, name or fd");
	for (size_t i = 0; i < r->n_bases; i++)
		if (strcmp(r->bases[i].name, name) == 0)
			return oab_err_set(err, OAB_E_USAGE, "%s: a base for '%s' was given already",
					   r->label, name);
	if (r->n_bases >= OAB_MAX_ITEMS)
		return oab_err_set(err, OAB_E_USAGE, "%s: more than %d bases", r->label, OAB_MAX_ITEMS);
	p = realloc(r->bases, (r->n_bases + 1) * sizeof(*r->bases));
	if (!p)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	r->bases = p;
	if (!(r->bases[r->n_bases].name = oab_strdup(name)))
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	r->bases[r->n_bases++].fd = fd;
	return 0;
}

/* A delta payload to be written, and no base for it. */
static int no_base(const struct oab_item *it, struct oab_err *err)
{
	char want[65];

	oab_hex(it->delta->base_sha256, 32, want);
	oab_err_set(err, OAB_E_USAGE,
		    "'%s' is a delta payload: it needs its base (%llu bytes, sha256 %s); nothing written",
		    it->name, (unsigned long long)it->delta->base_size, want);
	return oab_err_detail(err, OAB_D_DELTA_BASE, it->member, -1, want, NULL);
}

static int reader_base(const struct oab_reader *r, const char *name)
{
	for (size_t i = 0; i < r->n_bases; i++)
		if (strcmp(r->bases[i].name, name) == 0)
			return r->bases[i].fd;
	return -1;
}

int oab_reader_read(struct oab_reader *r, struct oab_sink *sink, struct oab_err *err)
{
	const struct oab_item *it = r->cur;
	struct feed f = {0};
	char want[65];
	int rc = -1;

	if (!it || r->cur_read || r->broken)
		return oab_err_set(err, OAB_E_USAGE, "%s: no member to read (oab_reader_next first)",
				   r->label);
	if (!sink)
		return oab_err_set(err, OAB_E_USAGE, "%s: no sink given", r->label);
	/* Bytes leave the library only from an authenticated bundle. */
	if (sink->kind != OAB_SINK_DISCARD && !r->authed)
		return oab_err_set(err, OAB_E_USAGE, "%s: the bundle is not authenticated: '%s' not written",
				   r->label, it->name);
	r->cur_read = 1;
	if (sink->kind == OAB_SINK_ARCHIVE) {
		f.w = sink->w;
		f.s = sink->stored ? sink : NULL;
		if (sink->begin && sink->begin(sink, it, err) < 0)
			return stop(r);
	}
	if (it->delta) {
		int bfd = reader_base(r, it->name);
		char want[65];

		if (bfd < 0 && sink->kind != OAB_SINK_DISCARD && sink->kind != OAB_SINK_ARCHIVE) {
			no_base(it, err);
			oab_report_add_check(r->rep, 0, "delta-base", it->member, "no base given");
			return stop(r);
		}
		/* the base is checked (size, SHA-256) before any frame is read */
		if (bfd >= 0 && !(f.d = oab_delta_unpack_new(it, bfd, sink, err))) {
			oab_report_add_check(r->rep, 0, "delta-base", it->member, "%s", err->msg);
			return stop(r);
		}
		if (bfd >= 0)
			oab_report_add_check(r->rep, 1, "delta-base", it->member, "%llu bytes, sha256 %s",
					     (unsigned long long)it->delta->base_size,
					     (oab_hex(it->delta->base_sha256, 32, want), want));
	} else if (!(f.u = oab_unpack_new_sink(it, sink, err))) {
		return stop(r);
	}
	if (it->compression == OAB_COMP_ZSTD) {
		if (oab_member_chunks(r->a, it, feed_stored, &f, r->o.progress, r->o.progress_arg,
				      err) < 0)
			goto fail;
	} else {
		uint64_t got = 0;

		for (;;) {
			la_ssize_t n = archive_read_data(r->a, r->buf, OAB_IO_BUF);

			if (n < 0) {
				oab_err_set(err, OAB_E_REJECTED,
					    "member '%s': bundle truncated or damaged (%s)", it->member,
					    archive_error_string(r->a));
				oab_err_detail(err, OAB_D_STRUCTURE, it->member, -1, NULL, NULL);
				goto fail;
			}
			if (n == 0)
				break;
			got += (uint64_t)n;
			if (feed_stored(&f, r->buf, (size_t)n, err) < 0)
				goto fail;
			if (r->o.progress)
				r->o.progress(r->o.progress_arg, it->name, got, it->stored_size);
		}
		if (got != it->stored_size) {
			oab_err_set(err, OAB_E_REJECTED, "member '%s': truncated (%llu of %llu bytes)",
				    it->member, (unsigned long long)got,
				    (unsigned long long)it->stored_size);
			oab_err_detail(err, OAB_D_STRUCTURE, it->member, -1, NULL, NULL);
			goto fail;
		}
	}
	if (f.d ? oab_delta_unpack_finish(f.d, err) < 0 : f.u && oab_unpack_finish(f.u, err) < 0)
		goto fail;
	oab_hex(it->sha256, 32, want);
	if (f.d || f.u)
		oab_report_add_check(r->rep, 1, "member-hash", it->member, "%llu bytes, sha256 %s",
				     (unsigned long long)it->size, want);
	else /* a delta payload without its base */
		oab_report_add_check(r->rep, 1, "member-hash", it->member,
				     "stored chunks checked; content (%llu bytes, sha256 %s) not rebuilt: no base given",
				     (unsigned long long)it->size, want);
	rc = 0;
	goto out;
fail:
	/* A content error leaves the archive in step (the next header can be
	 * read, so a report can name every bad member); anything else, also
	 * a sink that failed, stops the reader. */
	if (err->code == OAB_E_REJECTED && (err->detail == OAB_D_CHUNK_HASH ||
					    err->detail == OAB_D_CONTENT_HASH ||
					    err->detail == OAB_D_MEMBER_SIZE) && !f.w && !f.s) {
		oab_report_add_check(r->rep, 0, "member-hash", it->member, "%s", err->msg);
	} else {
		if (err->detail == OAB_D_STRUCTURE)
			oab_report_add_check(r->rep, 0, err->msg[0] && strstr(err->msg, "truncated (")
					     ? "member-size" : "member-read", it->member, "%s", err->msg);
		else
			oab_report_add_check(r->rep, 0, "member-hash", it->member, "%s", err->msg);
		r->broken = 1;
	}
out:
	oab_unpack_free(f.u);
	oab_delta_unpack_free(f.d);
	return rc;
}

void oab_reader_free(struct oab_reader *r)
{
	if (!r)
		return;
	oab_tarin_free(r->t);
	oab_report_free(r->rep);
	CMS_ContentInfo_free(r->cms);
	free(r->label);
	free(r->yaml);
	free(r->sig);
	free(r->buf);
	for (size_t i = 0; i < r->n_bases; i++)
		free((char *)r->bases[i].name);
	free(r->bases);
	free(r);
}

/* ---- sinks ---------------------------------------------------------- */

static struct oab_sink *sink_new(int kind)
{
	struct oab_sink *s = calloc(1, sizeof(*s));

	if (s) {
		s->kind = kind;
		s->fd = -1;
	}
	return s;
}

struct oab_sink *oab_sink_discard(void)
{
	return sink_new(OAB_SINK_DISCARD);
}

struct oab_sink *oab_sink_fd(int fd)
{
	struct oab_sink *s = fd >= 0 ? sink_new(OAB_SINK_FD) : NULL;

	if (s)
		s->fd = fd;
	return s;
}

struct oab_sink *oab_sink_callback(oab_sink_fn fn, void *arg)
{
	struct oab_sink *s = fn ? sink_new(OAB_SINK_CALLBACK) : NULL;

	if (s) {
		s->fn = fn;
		s->arg = arg;
	}
	return s;
}

void oab_sink_free(struct oab_sink *s)
{
	free(s);
}

/* ---- verify, inspect, extract on top of the reader ---------------------- */

static int need_anchor(const struct oab_verify_opts *o, struct oab_err *err)
{
	if (o && oab_trust_count(o->trust) > 0)
		return 0;
	oab_err_set(err, OAB_E_USAGE, "no trust anchor given");
	return oab_err_detail(err, OAB_D_NO_ANCHOR, NULL, -1, NULL, NULL);
}

/* The caller's report (or none), verified only if every check passed. */
static int finish(struct oab_reader *r, int rc, struct oab_report **report, struct oab_err *err)
{
	struct oab_report *rep = r ? oab_reader_take_report(r) : NULL;

	if (rep && rc == 0) {
		rep->verified = rep->n_unrecorded == 0;
		for (size_t i = 0; i < rep->n_checks; i++)
			if (!rep->checks[i].ok)
				rep->verified = 0;
		if (!rep->verified) {
			rc = -1;
			if (err->code == OAB_OK)
				oab_err_set(err, OAB_E_REJECTED, "%s: verification failed", r->label);
		}
	}
	oab_reader_free(r);
	if (report)
		*report = rep;
	else
		oab_report_free(rep);
	return rc;
}

/* Read every member into the sink for_item gives (discard by default),
 * going on after content errors so the report names every bad member.
 * first: the error to return (already set when the policy failed). */
static int read_all(struct oab_reader *r, int failed, struct oab_err *first,
		    struct oab_sink *(*for_item)(void *arg, size_t i, struct oab_err *err),
		    void *arg, struct oab_err *err)
{
	struct oab_sink discard = {.kind = OAB_SINK_DISCARD};

	for (size_t i = 0;; i++) {
		const struct oab_item *it;
		struct oab_sink *s = &discard;
		int st = oab_reader_next(r, &it, err);

		if (st == 0)
			break;
		if (st < 0)
			goto fail;
		if (for_item && !(s = for_item(arg, i, err)))
			goto fail;
		if (oab_reader_read(r, s, err) < 0) {
			if (!oab_reader_in_step(r))
				goto fail;
			if (!failed)
				*first = *err;
			failed = 1;
		}
	}
	if (failed)
		*err = *first;
	return failed ? -1 : 0;
fail:
	if (failed)
		*err = *first;
	return -1;
}

int oab_verify(int fd, const char *label, const struct oab_verify_opts *opts,
	       struct oab_report **report, struct oab_err *err)
{
	struct oab_reader *r = NULL;
	struct oab_err first = {0};
	int failed = 0, rc = -1;
	enum oab_peer peer;

	if (report)
		*report = NULL;
	if (need_anchor(opts, err) < 0)
		return -1;
	if ((peer = oab_peer_sniff(fd)) != OAB_PEER_NONE)
		return oab_peer_audit(peer, fd, label, opts, 1, report, err);
	if (oab_reader_open(fd, label, opts, &r, err) < 0)
		goto out;
	if (oab_reader_authenticate(r, err) < 0) {
		if (!oab_reader_manifest(r))
			goto out;
		first = *err; /* the policy failed: every member is still checked */
		failed = 1;
	}
	rc = read_all(r, failed, &first, NULL, NULL, err);
out:
	return finish(r, rc, report, err);
}

int oab_inspect(int fd, const char *label, struct oab_report **report, struct oab_err *err)
{
	struct oab_reader *r = NULL;
	int rc = -1;
	enum oab_peer peer = oab_peer_sniff(fd);

	if (report)
		*report = NULL;
	if (peer != OAB_PEER_NONE)
		return oab_peer_audit(peer, fd, label, NULL, 0, report, err);
	if (oab_reader_open(fd, label, NULL, &r, err) == 0 && oab_reader_auth(r, OAB_AUTH_NONE, err) == 0)
		rc = 0;
	{
		struct oab_report *rep = r ? oab_reader_take_report(r) : NULL;

		oab_reader_free(r);
		if (rep)
			rep->verified = 0;
		if (report)
			*report = rep;
		else
			oab_report_free(rep);
	}
	return rc;
}

static int wanted(const struct oab_extract_opts *xo, const char *name)
{
	if (!xo->n_names)
		return 1;
	for (size_t i = 0; i < xo->n_names; i++)
		if (strcmp(xo->names[i], name) == 0)
			return 1;
	return 0;
}

/* Every target is checked before anything is read or written: the
 * bundle itself (by inode) is never a target, an existing entry needs
 * force, and a folder is never replaced. */
static int extract_targets(int fd, int dirfd, const char *label, const struct oab_manifest *m,
			   const struct oab_extract_opts *xo, struct oab_err *err)
{
	struct stat bst;

	for (size_t i = 0; i < xo->n_names; i++)
		if (!oab_manifest_find(m, xo->names[i]))
			return oab_err_set(err, OAB_E_USAGE, "%s: no payload, script or sbom named '%s'",
					   label, xo->names[i]);
	if (fstat(fd, &bst) < 0)
		return oab_err_set(err, OAB_E_IO, "%s: %s", label, strerror(errno));
	for (size_t i = 0; i < m->n_items; i++) { /* first the bundle, on every target */
		struct stat sst;

		if (wanted(xo, m->items[i].name) &&
		    fstatat(dirfd, m->items[i].name, &sst, AT_SYMLINK_NOFOLLOW) == 0 &&
		    sst.st_dev == bst.st_dev && sst.st_ino == bst.st_ino) {
			oab_err_set(err, OAB_E_USAGE,
				    "extract target '%s/%s' is the bundle '%s' itself; nothing written",
				    xo->dir, m->items[i].name, label);
			return oab_err_detail(err, OAB_D_OUTPUT_IS_INPUT, m->items[i].name, -1, NULL, NULL);
		}
	}
	for (size_t i = 0; i < m->n_items; i++) {
		struct stat sst;

		if (!wanted(xo, m->items[i].name) ||
		    fstatat(dirfd, m->items[i].name, &sst, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!xo->force) {
			oab_err_set(err, OAB_E_IO, "'%s/%s' already exists", xo->dir, m->items[i].name);
			return oab_err_detail(err, OAB_D_EXISTS, m->items[i].name, -1, NULL, NULL);
		}
		if (S_ISDIR(sst.st_mode))
			return oab_err_set(err, OAB_E_IO,
					   "'%s/%s' is a folder; extract replaces only files (nothing written)",
					   xo->dir, m->items[i].name);
	}
	return 0;
}

/* Every base names a delta payload, and every chosen delta payload has
 * one, before anything is read. */
static int extract_bases(struct oab_reader *r, const struct oab_manifest *m,
			 const struct oab_extract_opts *xo, struct oab_err *err)
{
	for (size_t i = 0; i < xo->n_bases; i++) {
		const struct oab_item *it = oab_manifest_find(m, xo->bases[i].name);

		if (!it || !it->delta)
			return oab_err_set(err, OAB_E_USAGE, "%s: a base for '%s', which is not a delta payload",
					   r->label, xo->bases[i].name);
		if (oab_reader_set_base(r, xo->bases[i].name, xo->bases[i].fd, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < m->n_items; i++) {
		const struct oab_item *it = &m->items[i];

		if (it->delta && wanted(xo, it->name) && reader_base(r, it->name) < 0)
			return no_base(it, err);
	}
	return 0;
}

/* extract: a fresh anonymous temp file in the target folder for each
 * wanted item (a FILE sink: holes for zero blocks, O_DIRECT writer). */
struct xstate {
	const struct oab_manifest *m;
	const struct oab_extract_opts *xo;
	int *outs;
	struct oab_sink sink;
	struct oab_sink discard;
};

static struct oab_sink *extract_sink(void *arg, size_t i, struct oab_err *err)
{
	struct xstate *x = arg;
	const struct oab_item *it = &x->m->items[i];

	if (!wanted(x->xo, it->name))
		return &x->discard;
	x->outs[i] = oab_linkable_tmpfile(x->xo->dir, err);
	if (x->outs[i] < 0)
		return NULL;
	fchmod(x->outs[i], it->kind == OAB_ITEM_SCRIPT ? 0755 : 0644);
	x->sink.fd = x->outs[i];
	return &x->sink;
}

int oab_extract(int fd, const char *label, const struct oab_verify_opts *opts,
		const struct oab_extract_opts *xo, struct oab_report **report,
		struct oab_err *err)
{
	struct oab_reader *r = NULL;
	struct xstate x = {.xo = xo, .sink = {.kind = OAB_SINK_FILE},
			   .discard = {.kind = OAB_SINK_DISCARD}};
	struct oab_err first = {0};
	struct oab_target *tg = NULL;
	int rc = -1, dirfd = -1;
	size_t nt = 0;
	enum oab_peer peer;

	if (report)
		*report = NULL;
	if (!xo || !xo->dir)
		return oab_err_set(err, OAB_E_USAGE, "no extract folder given");
	if (need_anchor(opts, err) < 0)
		return -1;
	if ((peer = oab_peer_sniff(fd)) != OAB_PEER_NONE)
		return oab_err_set(err, OAB_E_USAGE,
				   "%s: a %s bundle: extract reads otabundle bundles only (verify "
				   "audits this one; unpack it with the %s tools)",
				   label ? label : "bundle", oab_peer_name(peer), oab_peer_name(peer));
	if (oab_reader_open(fd, label, opts, &r, err) < 0 || oab_reader_authenticate(r, err) < 0)
		goto out;
	x.m = oab_reader_manifest(r);
	dirfd = open(xo->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		oab_err_set(err, OAB_E_IO, "extract folder '%s': %s", xo->dir, strerror(errno));
		goto out;
	}
	if (extract_targets(fd, dirfd, r->label, x.m, xo, err) < 0 ||
	    extract_bases(r, x.m, xo, err) < 0)
		goto out;
	x.outs = oab_calloc_array(x.m->n_items, sizeof(*x.outs));
	tg = oab_calloc_array(x.m->n_items, sizeof(*tg));
	if (!x.outs || !tg) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < x.m->n_items; i++)
		x.outs[i] = -1;
	if (read_all(r, 0, &first, extract_sink, &x, err) < 0)
		goto out;
	/* All or nothing: every file is on disk before the first name
	 * changes, and a failed link puts back what was replaced. */
	for (size_t i = 0; i < x.m->n_items; i++) {
		if (x.outs[i] < 0)
			continue;
		if (fsync(x.outs[i]) < 0) {
			oab_err_set(err, OAB_E_IO, "extract folder '%s': '%s': fsync: %s", xo->dir,
				    x.m->items[i].name, strerror(errno));
			goto out;
		}
		tg[nt].fd = x.outs[i];
		tg[nt++].name = x.m->items[i].name;
	}
	if (oab_targets_commit(dirfd, tg, nt, xo->force, err) < 0) {
		oab_err_prefix(err, "extract folder '%s': ", xo->dir);
		goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; x.outs && i < x.m->n_items; i++)
		if (x.outs[i] >= 0)
			close(x.outs[i]);
	free(x.outs);
	free(tg);
	if (dirfd >= 0)
		close(dirfd);
	return finish(r, rc, report, err);
}
