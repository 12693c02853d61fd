/* SPDX-License-Identifier: Apache-2.0 */
/* test_stream.c - the threaded stream pieces: the hashing ring (copied and
 * lent buffers), its writer mode, and oab_member_chunks (read-ahead,
 * per-chunk check before the sink, errors that stop the thread). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sys/uio.h>

#include <archive.h>
#include <archive_entry.h>

#include "otabundle/otabundle.h"
#include "internal.h"
#include "testlib.h"

#define MIB (1024 * 1024)

static char *g_dir;
static unsigned char *g_data; /* DATA_SIZE pseudo-random bytes */
#define DATA_SIZE (3 * MIB + 777)

static int group_setup(void **state)
{
	uint32_t x = 2463534242u;

	(void)state;
	g_dir = tl_mkdtemp("stream");
	g_data = malloc(DATA_SIZE);
	if (!g_dir || !g_data)
		return -1;
	for (size_t i = 0; i < DATA_SIZE; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		g_data[i] = (unsigned char)x;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	tl_rm_rf(g_dir);
	free(g_dir);
	free(g_data);
	return 0;
}

/* ---- hashing ring ------------------------------------------------------- */

static void test_hasher_copy_and_lend(void **state)
{
	struct oab_err err = {0};
	struct oab_hasher *h = oab_hasher_new(&err);
	unsigned char md[32], want[32];
	uint64_t t[3] = {0, 0, 0};
	size_t off = 0;
	unsigned k = 0;

	(void)state;
	assert_non_null(h);
	/* interleave copied and lent pieces of odd sizes: order must hold */
	while (off < DATA_SIZE) {
		size_t n = 1 + (k * 7919u + 4093u) % (600 * 1024);

		if (n > DATA_SIZE - off)
			n = DATA_SIZE - off;
		if (k % 3 == 0) {
			oab_hasher_update(h, g_data + off, n);
		} else {
			oab_hasher_wait(h, t[k % 3]);
			t[k % 3] = oab_hasher_lend(h, g_data + off, n);
		}
		off += n;
		k++;
	}
	assert_int_equal(oab_hasher_final(h, md, &err), 0);
	tl_sha256(g_data, DATA_SIZE, want);
	assert_memory_equal(md, want, 32);
	oab_hasher_free(h);
}

static void test_hasher_free_while_busy(void **state)
{
	struct oab_err err = {0};
	struct oab_hasher *h = oab_hasher_new(&err);

	(void)state;
	assert_non_null(h);
	/* freed without final: joins after draining what was handed over */
	for (int i = 0; i < 8; i++)
		oab_hasher_lend(h, g_data + (size_t)i * 300000, 300000);
	oab_hasher_free(h);
}

/* ---- writer mode -------------------------------------------------------- */

static void test_writer_writes_in_order(void **state)
{
	struct oab_err err = {0};
	int fd = oab_anon_tmpfile(g_dir, &err);
	struct oab_hasher *w;
	unsigned char *back;
	size_t len, off = 0;
	uint64_t t = 0;

	(void)state;
	assert_true(fd >= 0);
	w = oab_writer_new(fd, 0, &err);
	assert_non_null(w);
	while (off < DATA_SIZE) {
		size_t n = DATA_SIZE - off < 123457 ? DATA_SIZE - off : 123457;

		if ((off / n) % 2)
			oab_hasher_update(w, g_data + off, n);
		else
			t = oab_hasher_lend(w, g_data + off, n);
		off += n;
	}
	oab_hasher_wait(w, t);
	assert_int_equal(oab_writer_finish(w), 0);
	oab_hasher_free(w);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	back = tl_read_fd(fd, &len);
	assert_int_equal(len, DATA_SIZE);
	assert_memory_equal(back, g_data, DATA_SIZE);
	free(back);
	close(fd);
}

/* Aligned buffers lent faster than they are written are written several
 * at a time (one writev); with O_DIRECT where the file system takes it,
 * and the unaligned tail in the same batch drops it: the bytes must come
 * back in order either way. */
static void test_writer_batches_direct(void **state)
{
	enum { PIECE = 64 * 1024, PIECES = 40 };
	struct oab_err err = {0};
	int fd = oab_anon_tmpfile(g_dir, &err), fl;
	struct oab_hasher *w;
	unsigned char *buf, *back;
	uint64_t t = 0;
	size_t len;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(posix_memalign((void **)&buf, 4096, (size_t)PIECE * PIECES), 0);
	memcpy(buf, g_data, (size_t)PIECE * PIECES);
	fl = fcntl(fd, F_GETFL);
	assert_true(fl >= 0);
	(void)fcntl(fd, F_SETFL, fl | O_DIRECT); /* refused on some file systems: fine */
	w = oab_writer_new(fd, 0, &err);
	assert_non_null(w);
	for (int i = 0; i < PIECES; i++) /* never waits: up to 8 queued at once */
		t = oab_hasher_lend(w, buf + (size_t)i * PIECE, PIECE);
	oab_hasher_update(w, g_data + (size_t)PIECE * PIECES, 777); /* the tail */
	(void)t;
	assert_int_equal(oab_writer_finish(w), 0);
	oab_hasher_free(w);
	assert_int_equal(fcntl(fd, F_SETFL, fl), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	back = tl_read_fd(fd, &len);
	assert_int_equal(len, (size_t)PIECE * PIECES + 777);
	assert_memory_equal(back, g_data, len);
	free(back);
	free(buf);
	close(fd);
}

/* oab_write_sparse: zero 4 KiB blocks of the file become holes, also
 * across buffer boundaries and at an unaligned start; data is intact. */
static void test_write_sparse(void **state)
{
	struct oab_err err = {0};
	int fd = oab_anon_tmpfile(g_dir, &err);
	size_t n = 64 * 4096 + 100, len;
	unsigned char *buf = calloc(1, n), *got;
	struct iovec v[3];
	struct stat st;

	(void)state;
	assert_true(fd >= 0);
	assert_non_null(buf);
	memset(buf, 'a', 4096);               /* block 0: data */
	buf[10 * 4096 + 7] = 'b';             /* block 10: one byte */
	memset(buf + 64 * 4096, 'c', 100);    /* short tail: data */
	/* three pieces, the cuts not on block boundaries */
	v[0].iov_base = buf;
	v[0].iov_len = 5000;
	v[1].iov_base = buf + 5000;
	v[1].iov_len = 40 * 4096;
	v[2].iov_base = buf + 5000 + 40 * 4096;
	v[2].iov_len = n - 5000 - 40 * 4096;
	assert_int_equal(oab_write_sparse(fd, v, 3, 0), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, (off_t)n);
	got = tl_read_fd(fd, &len);
	assert_int_equal(len, n);
	assert_memory_equal(got, buf, n);
	free(got);
	/* 3 blocks written (0, 10, the tail) of 65: the rest are holes */
	assert_true(st.st_blocks * 512 <= 8 * 4096);
	/* a trailing hole leaves the size to the caller (ftruncate) */
	memset(buf, 0, n);
	assert_int_equal(ftruncate(fd, 0), 0);
	v[0].iov_base = buf;
	v[0].iov_len = n;
	assert_int_equal(oab_write_sparse(fd, v, 1, 0), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(st.st_blocks, 0);
	close(fd);
	free(buf);
}

static void test_writer_reports_errors(void **state)
{
	struct oab_err err = {0};
	int fd = open("/dev/null", O_RDONLY);
	struct oab_hasher *w;
	int e = 0;

	(void)state;
	assert_true(fd >= 0);
	w = oab_writer_new(fd, 0, &err); /* writes to a read-only fd fail */
	assert_non_null(w);
	for (int i = 0; i < 20 && !e; i++) {
		oab_hasher_wait(w, oab_hasher_lend(w, g_data, 4096));
		e = oab_writer_error(w);
	}
	assert_int_equal(e, EBADF);
	/* more data after the error is drained, the first error kept */
	oab_hasher_update(w, g_data, 1000);
	assert_int_equal(oab_writer_finish(w), EBADF);
	oab_hasher_free(w);
	close(fd);
}

/* ---- oab_member_chunks --------------------------------------------------- */

struct collect {
	unsigned char *buf;
	size_t len, calls, fail_at; /* fail_at: call number that fails (0: none) */
};

static int sink_collect(void *arg, const unsigned char *p, size_t n, struct oab_err *err)
{
	struct collect *c = arg;

	c->calls++;
	if (c->fail_at && c->calls == c->fail_at) {
		oab_err_set(err, OAB_E_IO, "sink failed on purpose");
		return -3;
	}
	memcpy(c->buf + c->len, p, n);
	c->len += n;
	return 0;
}

/* A one-member tar in memory holding data[0..n); *out malloc'd. */
static unsigned char *make_tar(const unsigned char *data, size_t n, size_t *out_len)
{
	size_t cap = n + 64 * 1024, used = 0;
	unsigned char *mem = malloc(cap);
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	assert_non_null(mem);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, mem, cap, &used), ARCHIVE_OK);
	archive_entry_set_pathname(e, "payloads/x.zst");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)n);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, data, n), (la_ssize_t)n);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	archive_entry_free(e);
	*out_len = used;
	return mem;
}

/* An item describing data[0..n) in chunks of cs bytes. */
static struct oab_item chunked_item(const unsigned char *data, size_t n, uint32_t cs)
{
	struct oab_item it;

	memset(&it, 0, sizeof(it));
	it.name = (char *)"x";
	it.member = (char *)"payloads/x.zst";
	it.compression = OAB_COMP_ZSTD;
	it.stored_size = n;
	it.chunk_size = cs;
	it.n_chunks = (n + cs - 1) / cs;
	it.chunk_sha256 = calloc(it.n_chunks ? it.n_chunks : 1, 32);
	assert_non_null(it.chunk_sha256);
	for (size_t k = 0; k < it.n_chunks; k++) {
		size_t len = n - k * cs < cs ? n - k * cs : cs;

		tl_sha256(data + k * cs, len, it.chunk_sha256[k]);
	}
	return it;
}

/* Open mem as an archive positioned at its member's data. */
static struct archive *open_at_member(unsigned char *mem, size_t len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;

	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, mem, len), ARCHIVE_OK);
	assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
	return a;
}

static void test_chunks_ok(void **state)
{
	static const uint32_t sizes[] = {64 * 1024, 1024 * 1024, 4 * 1024 * 1024};

	(void)state;
	for (size_t s = 0; s < 3; s++) {
		size_t tl;
		unsigned char *tar = make_tar(g_data, DATA_SIZE, &tl);
		struct oab_item it = chunked_item(g_data, DATA_SIZE, sizes[s]);
		struct collect c = {.buf = malloc(DATA_SIZE)};
		struct archive *a = open_at_member(tar, tl);
		struct oab_err err = {0};

		assert_int_equal(oab_member_chunks(a, &it, sink_collect, &c, NULL, NULL, &err), 0);
		assert_int_equal(c.len, DATA_SIZE);
		assert_int_equal(c.calls, it.n_chunks);
		assert_memory_equal(c.buf, g_data, DATA_SIZE);
		archive_read_free(a);
		free(c.buf);
		free(it.chunk_sha256);
		free(tar);
	}
}

static void test_chunks_bad_chunk(void **state)
{
	size_t tl;
	unsigned char *data = malloc(DATA_SIZE), *tar;
	struct oab_item it = chunked_item(g_data, DATA_SIZE, 1024 * 1024);
	struct collect c = {.buf = malloc(DATA_SIZE)};
	struct archive *a;
	struct oab_err err = {0};

	(void)state;
	memcpy(data, g_data, DATA_SIZE);
	data[2 * MIB + 5] ^= 1; /* chunk 2 */
	tar = make_tar(data, DATA_SIZE, &tl);
	a = open_at_member(tar, tl);
	assert_int_equal(oab_member_chunks(a, &it, sink_collect, &c, NULL, NULL, &err), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	/* the detail code, not a bare return value, says the archive is in step */
	assert_int_equal(err.detail, OAB_D_CHUNK_HASH);
	assert_int_equal(err.has_chunk, 1);
	assert_int_equal(err.chunk, 2);
	assert_non_null(strstr(err.msg, "stored chunk 2 (bytes 2097152-3145727) sha256 mismatch"));
	/* the sink saw only the chunks before, never the bad one */
	assert_int_equal(c.len, 2 * MIB);
	assert_memory_equal(c.buf, g_data, 2 * MIB);
	archive_read_free(a);
	free(c.buf);
	free(it.chunk_sha256);
	free(tar);
	free(data);
}

static void test_chunks_sink_error_stops(void **state)
{
	size_t tl;
	unsigned char *tar = make_tar(g_data, DATA_SIZE, &tl);
	struct oab_item it = chunked_item(g_data, DATA_SIZE, 64 * 1024);
	struct collect c = {.buf = malloc(DATA_SIZE), .fail_at = 3};
	struct archive *a = open_at_member(tar, tl);
	struct oab_err err = {0};

	(void)state;
	/* the sink's value comes back as is; the read-ahead thread stops */
	assert_int_equal(oab_member_chunks(a, &it, sink_collect, &c, NULL, NULL, &err), -3);
	assert_string_equal(err.msg, "sink failed on purpose");
	assert_int_equal(c.calls, 3);
	archive_read_free(a);
	free(c.buf);
	free(it.chunk_sha256);
	free(tar);
}

static void test_chunks_truncated(void **state)
{
	size_t tl;
	unsigned char *tar = make_tar(g_data, DATA_SIZE, &tl);
	struct oab_item it = chunked_item(g_data, DATA_SIZE, 1024 * 1024);
	struct collect c = {.buf = malloc(DATA_SIZE)};
	struct archive *a;
	struct oab_err err = {0};

	(void)state;
	/* cut the archive inside chunk 1 */
	a = open_at_member(tar, 512 + MIB + 1000);
	assert_int_equal(oab_member_chunks(a, &it, sink_collect, &c, NULL, NULL, &err), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	assert_non_null(strstr(err.msg, "member 'payloads/x.zst': "));
	assert_true(c.len <= MIB);
	archive_read_free(a);
	free(c.buf);
	free(it.chunk_sha256);
	free(tar);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hasher_copy_and_lend),
		cmocka_unit_test(test_hasher_free_while_busy),
		cmocka_unit_test(test_writer_writes_in_order),
		cmocka_unit_test(test_writer_batches_direct),
		cmocka_unit_test(test_writer_reports_errors),
		cmocka_unit_test(test_write_sparse),
		cmocka_unit_test(test_chunks_ok),
		cmocka_unit_test(test_chunks_bad_chunk),
		cmocka_unit_test(test_chunks_sink_error_stops),
		cmocka_unit_test(test_chunks_truncated),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
