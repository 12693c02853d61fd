/* SPDX-License-Identifier: Apache-2.0 */
/* test_payload.c - src/payload.c: packing a source file (zstd or stored)
 * and the bounded streaming decoder used by verify/extract. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <zstd.h>

#include "otabundle/otabundle.h"
#include "internal.h"
#include "testlib.h"

#define MIB (1024 * 1024)
/* Not a multiple of the 1 MiB read size, so the last read is short. */
#define INPUT_SIZE (3 * MIB + 4321)

static char *g_dir;
static char *g_input;        /* path of the mixed-content input */
static unsigned char *g_data; /* its bytes */
static char *g_empty;        /* path of an empty file */

/* Deterministic mixed data: pseudo-random, zeros, text, pseudo-random. */
static void fill_mixed(unsigned char *p, size_t n)
{
	uint64_t x = 0x9e3779b97f4a7c15u;

	for (size_t i = 0; i < n; i++) {
		size_t part = i / MIB;

		if (part == 1) {
			p[i] = 0;
		} else if (part == 2) {
			p[i] = (unsigned char)("otabundle payload line\n"[i % 23]);
		} else {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			p[i] = (unsigned char)(x >> 24);
		}
	}
}

static int setup_fixture(void **state)
{
	(void)state;
	g_dir = tl_mkdtemp("payload");
	if (!g_dir)
		return -1;
	g_input = tl_path(g_dir, "input.bin");
	g_empty = tl_path(g_dir, "empty.bin");
	g_data = malloc(INPUT_SIZE);
	if (!g_input || !g_empty || !g_data)
		return -1;
	fill_mixed(g_data, INPUT_SIZE);
	if (tl_write_file(g_input, g_data, INPUT_SIZE) < 0 || tl_write_file(g_empty, "", 0) < 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	tl_rm_rf(g_dir);
	free(g_dir);
	free(g_input);
	free(g_empty);
	free(g_data);
	return 0;
}

/* A failed setup cleans up after itself (cmocka skips the teardown). */
static int group_setup(void **state)
{
	if (setup_fixture(state) == 0)
		return 0;
	group_teardown(state);
	return -1;
}

static struct oab_item make_item(const char *source, enum oab_compression comp, int level)
{
	struct oab_item it;

	memset(&it, 0, sizeof(it));
	it.kind = OAB_ITEM_PAYLOAD;
	it.name = (char *)"rootfs";
	it.type = (char *)"image";
	it.source = (char *)source;
	it.compression = comp;
	it.level = level;
	it.member = (char *)(comp == OAB_COMP_ZSTD ? "payloads/rootfs.zst" : "payloads/rootfs");
	return it;
}

/* An anonymous temp file in g_dir. */
static int tmpfd(void)
{
	struct oab_err err = {0};
	int fd = oab_anon_tmpfile(g_dir, &err);

	assert_true(fd >= 0);
	return fd;
}

struct progress {
	int calls;
	uint64_t last_done, last_total;
	int monotonic;
};

static void on_progress(void *arg, const char *phase, uint64_t done, uint64_t total)
{
	struct progress *p = arg;

	assert_string_equal(phase, "rootfs");
	if (p->calls && done < p->last_done)
		p->monotonic = 0;
	p->calls++;
	p->last_done = done;
	p->last_total = total;
}

/* Pack source into a temp file; returns the stored bytes. */
static unsigned char *pack(struct oab_item *it, int threads, size_t *stored_len)
{
	struct oab_err err = {0};
	struct progress pr = {.monotonic = 1};
	int fd = tmpfd();
	unsigned char *out;

	if (oab_payload_pack(it, fd, threads, on_progress, &pr, &err) != 0)
		print_error("pack failed: %s\n", err.msg);
	assert_int_equal(err.code, OAB_OK);
	out = tl_read_fd(fd, stored_len);
	assert_non_null(out);
	close(fd);
	assert_true(pr.calls >= 1);
	assert_true(pr.monotonic);
	assert_int_equal(pr.last_done, it->size);
	assert_int_equal(pr.last_total, it->size);
	/* stored hashes against the bytes actually written, independently:
	 * whole for "none" (equal to the content's), per chunk for zstd */
	if (it->compression == OAB_COMP_NONE) {
		unsigned char md[32];

		tl_sha256(out, *stored_len, md);
		assert_memory_equal(it->stored_sha256, md, 32);
		assert_null(it->chunk_sha256);
	} else {
		assert_int_equal(it->chunk_size, oab_chunk_size_for(it->size));
		assert_int_equal(it->n_chunks, (*stored_len + it->chunk_size - 1) / it->chunk_size);
		for (size_t k = 0; k < it->n_chunks; k++) {
			size_t off = k * it->chunk_size, len = *stored_len - off;
			unsigned char md[32];

			if (len > it->chunk_size)
				len = it->chunk_size;
			tl_sha256(out + off, len, md);
			assert_memory_equal(it->chunk_sha256[k], md, 32);
		}
		free(it->chunk_sha256); /* owned by the item; the tests keep n_chunks */
		it->chunk_sha256 = NULL;
	}
	return out;
}

/* Unpack stored bytes in chunks of chunk bytes (0: all at once) into a
 * new temp file; returns the rc of the first failing call (0 if none) and
 * the error, and the produced bytes in *out (when out != NULL). */
static int unpack(const struct oab_item *it, const unsigned char *stored, size_t n, size_t chunk,
		  struct oab_err *err, unsigned char **out, size_t *out_len)
{
	int fd = out ? tmpfd() : -1; /* no out: discard the content */
	struct oab_unpack *u = oab_unpack_new(it, fd, err);
	int rc = 0;

	assert_non_null(u);
	if (!chunk)
		chunk = n ? n : 1;
	for (size_t off = 0; off < n && rc == 0; off += chunk) {
		size_t k = n - off < chunk ? n - off : chunk;

		rc = oab_unpack_feed(u, stored + off, k, err);
	}
	if (rc == 0)
		rc = oab_unpack_finish(u, err);
	oab_unpack_free(u);
	if (out) {
		*out = tl_read_fd(fd, out_len);
		assert_non_null(*out);
		close(fd);
	}
	return rc;
}

static void check_pack(enum oab_compression comp)
{
	struct oab_item it = make_item(g_input, comp, 3);
	unsigned char md[32], *stored, *back;
	size_t slen, blen;
	struct oab_err err = {0};

	stored = pack(&it, 2, &slen);
	/* content size and hash against an independent digest */
	assert_int_equal(it.size, INPUT_SIZE);
	tl_sha256(g_data, INPUT_SIZE, md);
	assert_memory_equal(it.sha256, md, 32);
	/* stored size against the bytes actually written (hashes: pack()) */
	assert_int_equal(it.stored_size, slen);
	if (comp == OAB_COMP_ZSTD)
		assert_true(it.n_chunks >= 2); /* more than 1 MiB stored */

	if (comp == OAB_COMP_NONE) {
		assert_int_equal(slen, INPUT_SIZE);
		assert_memory_equal(stored, g_data, INPUT_SIZE);
		assert_memory_equal(it.stored_sha256, it.sha256, 32);
	} else {
		/* a real zstd frame: compresses the zero/text thirds, records
		 * the content size, and decodes (independently) to the input */
		unsigned long long fcs = ZSTD_getFrameContentSize(stored, slen);
		unsigned char *plain = malloc(INPUT_SIZE);

		assert_true(slen < INPUT_SIZE * 3 / 4);
		assert_int_equal(fcs, INPUT_SIZE);
		assert_non_null(plain);
		assert_int_equal(ZSTD_decompress(plain, INPUT_SIZE, stored, slen), INPUT_SIZE);
		assert_memory_equal(plain, g_data, INPUT_SIZE);
		free(plain);
	}

	/* the decoder reproduces the input, whatever the chunking */
	assert_int_equal(unpack(&it, stored, slen, 0, &err, &back, &blen), 0);
	assert_int_equal(blen, INPUT_SIZE);
	assert_memory_equal(back, g_data, INPUT_SIZE);
	free(back);
	assert_int_equal(unpack(&it, stored, slen, 7777, &err, &back, &blen), 0);
	assert_int_equal(blen, INPUT_SIZE);
	assert_memory_equal(back, g_data, INPUT_SIZE);
	free(back);
	/* byte by byte through the decoder */
	if (comp == OAB_COMP_ZSTD)
		assert_int_equal(unpack(&it, stored, slen, 1, &err, NULL, NULL), 0);
	free(stored);
}

static void test_pack_zstd(void **state)
{
	(void)state;
	check_pack(OAB_COMP_ZSTD);
}

static void test_pack_none(void **state)
{
	(void)state;
	check_pack(OAB_COMP_NONE);
}

static void test_pack_deterministic(void **state)
{
	struct oab_item a = make_item(g_input, OAB_COMP_ZSTD, 3);
	struct oab_item b = make_item(g_input, OAB_COMP_ZSTD, 3);
	struct oab_item c = make_item(g_input, OAB_COMP_ZSTD, 3);
	unsigned char *sa, *sb, *sc;
	size_t la, lb, lc;

	(void)state;
	sa = pack(&a, 1, &la);
	sb = pack(&b, 2, &lb);
	sc = pack(&c, 0, &lc); /* < 1: one worker */
	assert_int_equal(la, lb);
	assert_memory_equal(sa, sb, la);
	assert_int_equal(la, lc);
	assert_memory_equal(sa, sc, la);
	free(sa);
	free(sb);
	free(sc);

	/* zstd:1 uses 2 MiB jobs, so the input is split between workers */
	a = make_item(g_input, OAB_COMP_ZSTD, 1);
	b = make_item(g_input, OAB_COMP_ZSTD, 1);
	sa = pack(&a, 1, &la);
	sb = pack(&b, 2, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(sa, sb, la);
	free(sa);
	free(sb);
}

static void test_pack_level(void **state)
{
	struct oab_item fast = make_item(g_input, OAB_COMP_ZSTD, 1);
	struct oab_item strong = make_item(g_input, OAB_COMP_ZSTD, 19);
	struct oab_item bad = make_item(g_input, OAB_COMP_ZSTD, 23);
	struct oab_err err = {0};
	unsigned char *sf, *ss;
	size_t lf, ls;
	int fd;

	(void)state;
	sf = pack(&fast, 2, &lf);
	ss = pack(&strong, 2, &ls);
	/* the level is honoured: different output, same content */
	assert_true(lf != ls || memcmp(sf, ss, lf) != 0);
	assert_memory_equal(fast.sha256, strong.sha256, 32);
	free(sf);
	free(ss);

	fd = tmpfd();
	assert_int_equal(oab_payload_pack(&bad, fd, 1, NULL, NULL, &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
	assert_non_null(strstr(err.msg, "rootfs"));
	close(fd);
}

static void test_unpack_flipped(void **state)
{
	static const enum oab_compression comps[] = {OAB_COMP_ZSTD, OAB_COMP_NONE};

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		struct oab_item it = make_item(g_input, comps[k], 3);
		size_t slen, offs[3];
		unsigned char *stored = pack(&it, 2, &slen);

		offs[0] = slen / 2;
		/* not the last 4 bytes: zstd's XXH64 frame checksum is not
		 * checked (ZSTD_d_ignoreChecksum; the content SHA-256 covers
		 * every byte it would, and the stored chunks are checked first) */
		offs[1] = slen - 6;
		offs[2] = 20;
		for (size_t i = 0; i < 3; i++) {
			struct oab_err err = {0};

			stored[offs[i]] ^= 0x40;
			assert_int_equal(unpack(&it, stored, slen, 65536, &err, NULL, NULL), -1);
			assert_int_equal(err.code, OAB_E_REJECTED);
			assert_non_null(strstr(err.msg, it.member));
			stored[offs[i]] ^= 0x40;
		}
		/* restored: passes again */
		{
			struct oab_err err = {0};

			assert_int_equal(unpack(&it, stored, slen, 65536, &err, NULL, NULL), 0);
		}
		free(stored);
	}
}

static void test_unpack_truncated(void **state)
{
	static const enum oab_compression comps[] = {OAB_COMP_ZSTD, OAB_COMP_NONE};

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		struct oab_item it = make_item(g_input, comps[k], 3);
		size_t slen;
		unsigned char *stored = pack(&it, 2, &slen);
		const size_t cuts[] = {slen - 1, slen - 4, slen / 2, 0};

		for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
			struct oab_err err = {0};
			struct oab_unpack *u = oab_unpack_new(&it, -1, &err);

			assert_non_null(u);
			/* the bytes that are there decode fine ... */
			assert_int_equal(oab_unpack_feed(u, stored, cuts[i], &err), 0);
			/* ... but the member is incomplete */
			assert_int_equal(oab_unpack_finish(u, &err), -1);
			assert_int_equal(err.code, OAB_E_REJECTED);
			assert_non_null(strstr(err.msg, comps[k] == OAB_COMP_ZSTD ? "truncated"
										   : "size mismatch"));
			oab_unpack_free(u);
		}
		free(stored);
	}
}

static void test_unpack_size_bound(void **state)
{
	static const enum oab_compression comps[] = {OAB_COMP_ZSTD, OAB_COMP_NONE};

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		struct oab_item it = make_item(g_input, comps[k], 3);
		size_t slen, blen;
		unsigned char *stored = pack(&it, 2, &slen), *back;
		struct oab_err err = {0};

		/* declared smaller than the real content */
		it.size = INPUT_SIZE - 1000;
		assert_int_equal(unpack(&it, stored, slen, 100000, &err, &back, &blen), -1);
		assert_int_equal(err.code, OAB_E_REJECTED);
		assert_non_null(strstr(err.msg, "larger than the declared"));
		/* nothing beyond the declared size reached the output, and
		 * what did is the start of the content */
		assert_true(blen <= it.size);
		assert_memory_equal(back, g_data, blen);
		free(back);

		/* declared larger: caught at finish */
		it.size = INPUT_SIZE + 1;
		assert_int_equal(unpack(&it, stored, slen, 0, &err, NULL, NULL), -1);
		assert_int_equal(err.code, OAB_E_REJECTED);
		assert_non_null(strstr(err.msg, "size mismatch"));

		/* right size, wrong hash */
		it.size = INPUT_SIZE;
		it.sha256[5] ^= 1;
		assert_int_equal(unpack(&it, stored, slen, 0, &err, NULL, NULL), -1);
		assert_int_equal(err.code, OAB_E_REJECTED);
		assert_non_null(strstr(err.msg, "sha256 mismatch"));
		free(stored);
	}
}

static void test_unpack_trailing_garbage(void **state)
{
	struct oab_item it = make_item(g_input, OAB_COMP_ZSTD, 3);
	size_t slen;
	unsigned char *stored = pack(&it, 2, &slen), *more;
	struct oab_err err = {0};

	(void)state;
	/* bytes after the frame are not a second frame */
	more = malloc(slen + 16);
	assert_non_null(more);
	memcpy(more, stored, slen);
	memset(more + slen, 0xA5, 16);
	assert_int_equal(unpack(&it, more, slen + 16, 0, &err, NULL, NULL), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	/* a second copy of the frame: content larger than declared */
	free(more);
	more = malloc(2 * slen);
	assert_non_null(more);
	memcpy(more, stored, slen);
	memcpy(more + slen, stored, slen);
	assert_int_equal(unpack(&it, more, 2 * slen, 0, &err, NULL, NULL), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	free(more);
	free(stored);
}

static void test_empty_file(void **state)
{
	static const enum oab_compression comps[] = {OAB_COMP_ZSTD, OAB_COMP_NONE};
	unsigned char md[32];

	(void)state;
	tl_sha256("", 0, md);
	for (size_t k = 0; k < 2; k++) {
		struct oab_item it = make_item(g_empty, comps[k], 3);
		size_t slen, blen;
		unsigned char *stored = pack(&it, 2, &slen), *back;
		struct oab_err err = {0};

		assert_int_equal(it.size, 0);
		assert_memory_equal(it.sha256, md, 32);
		assert_int_equal(it.stored_size, slen);
		if (comps[k] == OAB_COMP_ZSTD)
			assert_int_equal(it.n_chunks, 1);
		if (comps[k] == OAB_COMP_NONE)
			assert_int_equal(slen, 0);
		else
			assert_true(slen > 0); /* an empty frame still has a header */
		assert_int_equal(unpack(&it, stored, slen, 0, &err, &back, &blen), 0);
		assert_int_equal(blen, 0);
		free(back);
		if (comps[k] == OAB_COMP_ZSTD) {
			/* no frame at all is truncated, not empty content */
			struct oab_unpack *u = oab_unpack_new(&it, -1, &err);

			assert_int_equal(oab_unpack_finish(u, &err), -1);
			assert_int_equal(err.code, OAB_E_REJECTED);
			oab_unpack_free(u);
		}
		free(stored);
	}
}

static void test_pack_bad_source(void **state)
{
	struct oab_err err = {0};
	char *missing = tl_path(g_dir, "missing.bin");
	struct oab_item it = make_item(missing, OAB_COMP_ZSTD, 3);
	int fd = tmpfd();

	(void)state;
	assert_int_equal(oab_payload_pack(&it, fd, 1, NULL, NULL, &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
	assert_non_null(strstr(err.msg, "missing.bin"));
	/* a folder is not a regular file */
	it.source = g_dir;
	assert_int_equal(oab_payload_pack(&it, fd, 1, NULL, NULL, &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
	assert_non_null(strstr(err.msg, "not a regular file"));
	close(fd);
	free(missing);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pack_zstd),
		cmocka_unit_test(test_pack_none),
		cmocka_unit_test(test_pack_deterministic),
		cmocka_unit_test(test_pack_level),
		cmocka_unit_test(test_unpack_flipped),
		cmocka_unit_test(test_unpack_truncated),
		cmocka_unit_test(test_unpack_size_bound),
		cmocka_unit_test(test_unpack_trailing_garbage),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_pack_bad_source),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
