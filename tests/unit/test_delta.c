/* SPDX-License-Identifier: Apache-2.0 */
/* test_delta.c - delta payloads: src/delta_build.c (packing a target
 * against a base), src/delta.c (checking the base and rebuilding the
 * target in bounded memory) and the `delta` map of the resolved manifest
 * (manifest.c, manifest_emit.c). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "otabundle/otabundle.h"
#include "internal.h"
#include "testlib.h"

#define KIB 1024
#define MIB (1024 * 1024)
#define BASE_SIZE (4 * MIB + 123)

static char *g_dir;
static unsigned char *g_base;

static uint64_t g_x;
static unsigned rnd(void)
{
	g_x ^= g_x << 13;
	g_x ^= g_x >> 7;
	g_x ^= g_x << 17;
	return (unsigned)(g_x >> 24);
}

/* Blocks of pseudo-random bytes, text and zeros, like a file system. */
static void fill(unsigned char *p, size_t n, uint64_t seed)
{
	g_x = seed;
	for (size_t i = 0; i < n; i++) {
		size_t blk = i / (4 * KIB);

		p[i] = blk % 7 == 3 ? 0 : blk % 5 == 1 ? (unsigned char)("delta text line\n"[i % 16])
						    : (unsigned char)rnd();
	}
}

static int group_setup(void **state)
{
	(void)state;
	g_dir = tl_mkdtemp("delta");
	g_base = malloc(BASE_SIZE);
	if (!g_dir || !g_base)
		return -1;
	fill(g_base, BASE_SIZE, 0x9e3779b97f4a7c15u);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	tl_rm_rf(g_dir);
	free(g_dir);
	free(g_base);
	return 0;
}

static int write_tmp(const char *name, const unsigned char *p, size_t n)
{
	char *path = tl_path(g_dir, name);
	int fd;

	assert_non_null(path);
	assert_int_equal(tl_write_file(path, p, n), 0);
	fd = open(path, O_RDONLY);
	free(path);
	assert_true(fd >= 0);
	return fd;
}

/* Content collected by a callback sink. */
struct got {
	unsigned char *p;
	size_t n, cap;
	int calls;
};

static int collect(void *arg, const void *buf, size_t n)
{
	struct got *g = arg;

	g->calls++;
	if (n == 0)
		return 0;
	if (g->n + n > g->cap) {
		g->cap = (g->n + n) * 2;
		g->p = realloc(g->p, g->cap);
		if (!g->p)
			return -1;
	}
	memcpy(g->p + g->n, buf, n);
	g->n += n;
	return 0;
}

/* A packed delta: the item (with its delta) and the stored bytes. */
struct packed {
	struct oab_item it;
	unsigned char *stored;
	size_t n;
};

static void pack(const unsigned char *target, size_t tn, struct packed *pk)
{
	static const struct oab_delta_params prm = {.segment_size = MIB, .prefix_max = 2 * MIB,
						    .level = 9};
	struct oab_err err = {0};
	struct stat st;
	int bfd = write_tmp("base", g_base, BASE_SIZE), tfd = write_tmp("target", target, tn);
	int ofd = oab_anon_tmpfile(g_dir, &err);

	memset(pk, 0, sizeof(*pk));
	pk->it.name = "rootfs";
	pk->it.member = "payloads/rootfs.zdelta";
	pk->it.source = "target";
	pk->it.kind = OAB_ITEM_PAYLOAD;
	assert_true(ofd >= 0);
	assert_int_equal(fstat(tfd, &st), 0);
	assert_int_equal(oab_delta_pack_fd(&pk->it, tfd, &st, bfd, &prm, ofd, 2, NULL, NULL, &err), 0);
	assert_int_equal(pk->it.size, tn);
	assert_non_null(pk->it.delta);
	assert_int_equal(pk->it.delta->base_size, BASE_SIZE);
	pk->n = (size_t)pk->it.stored_size;
	pk->stored = malloc(pk->n + 1);
	assert_non_null(pk->stored);
	assert_int_equal(pread(ofd, pk->stored, pk->n, 0), (ssize_t)pk->n);
	close(bfd);
	close(tfd);
	close(ofd);
}

static void packed_free(struct packed *pk)
{
	oab_delta_free(pk->it.delta);
	free(pk->it.chunk_sha256);
	free(pk->stored);
}

/* Rebuild from base (fed in odd-sized pieces); 0 or -1 with err. */
static int apply(const struct packed *pk, const unsigned char *base, size_t bn, struct got *g,
		 struct oab_err *err)
{
	struct oab_sink s = {.kind = OAB_SINK_CALLBACK, .fn = collect, .arg = g, .fd = -1};
	struct oab_dunpack *d;
	int bfd = write_tmp("base-given", base, bn), rc = -1;

	memset(g, 0, sizeof(*g));
	d = oab_delta_unpack_new(&pk->it, bfd, &s, err);
	if (d) {
		size_t at = 0;

		rc = 0;
		while (rc == 0 && at < pk->n) {
			size_t step = pk->n - at < 77777 ? pk->n - at : 77777;

			rc = oab_delta_unpack_feed(d, pk->stored + at, step, err);
			at += step;
		}
		if (rc == 0)
			rc = oab_delta_unpack_finish(d, err);
	}
	oab_delta_unpack_free(d);
	close(bfd);
	return rc;
}

static void round_trip(const unsigned char *target, size_t tn, size_t max_stored)
{
	struct packed pk;
	struct got g;
	struct oab_err err = {0};

	pack(target, tn, &pk);
	assert_int_equal(apply(&pk, g_base, BASE_SIZE, &g, &err), 0);
	assert_int_equal(g.n, tn);
	assert_memory_equal(g.p, target, tn);
	assert_true(pk.n <= max_stored);
	free(g.p);
	packed_free(&pk);
}

static void test_identical(void **state)
{
	(void)state;
	/* all copies: a few bytes of frames per segment */
	round_trip(g_base, BASE_SIZE, 4 * KIB);
}

static void test_different(void **state)
{
	unsigned char *t = malloc(3 * MIB);

	(void)state;
	assert_non_null(t);
	fill(t, 3 * MIB, 12345); /* nothing in common but the text blocks */
	round_trip(t, 3 * MIB, 3 * MIB);
	free(t);
}

static void test_grown_and_edited(void **state)
{
	size_t tn = BASE_SIZE + 1536 * KIB;
	unsigned char *t = malloc(tn);

	(void)state;
	assert_non_null(t);
	memcpy(t, g_base, BASE_SIZE);
	fill(t + BASE_SIZE, tn - BASE_SIZE, 777);
	for (size_t i = 5000; i < BASE_SIZE; i += 100000) /* bytes changed in place */
		t[i] ^= 0x5a;
	round_trip(t, tn, tn / 2);
	free(t);
}

static void test_shrunk(void **state)
{
	(void)state;
	round_trip(g_base + 3 * MIB, BASE_SIZE - 3 * MIB, 64 * KIB);
}

/* Every 4 KiB block moved (the order reversed), and a 100-byte insertion
 * shifting one region off block boundaries. */
static void test_all_moved(void **state)
{
	size_t nb = BASE_SIZE / (4 * KIB), tn = nb * 4 * KIB + 100;
	unsigned char *t = malloc(tn);

	(void)state;
	assert_non_null(t);
	for (size_t b = 0; b < nb; b++)
		memcpy(t + b * 4 * KIB, g_base + (nb - 1 - b) * 4 * KIB, 4 * KIB);
	memmove(t + MIB + 100, t + MIB, tn - MIB - 100);
	memset(t + MIB, 'x', 100);
	round_trip(t, tn, 256 * KIB);
	free(t);
}

static void test_empty_target(void **state)
{
	(void)state;
	round_trip(g_base, 0, 0);
}

/* The wrong base is refused before a byte reaches the sink. */
static void test_wrong_base(void **state)
{
	struct packed pk;
	struct got g;
	struct oab_err err = {0};
	unsigned char *other = malloc(BASE_SIZE);

	(void)state;
	assert_non_null(other);
	memcpy(other, g_base, BASE_SIZE);
	other[BASE_SIZE / 2] ^= 1;
	pack(g_base, BASE_SIZE, &pk);
	assert_int_equal(apply(&pk, other, BASE_SIZE, &g, &err), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	assert_int_equal(err.detail, OAB_D_DELTA_BASE);
	assert_non_null(strstr(err.msg, "sha256 expected"));
	assert_int_equal(g.calls, 0);
	/* and one of another size, before it is hashed */
	assert_int_equal(apply(&pk, g_base, BASE_SIZE - 1, &g, &err), -1);
	assert_int_equal(err.detail, OAB_D_DELTA_BASE);
	assert_non_null(strstr(err.msg, "bytes"));
	assert_int_equal(g.calls, 0);
	free(other);
	packed_free(&pk);
}

/* A frame whose window is larger than the signed window-log is refused. */
static void test_window_too_large(void **state)
{
	struct packed pk;
	struct got g;
	struct oab_err err = {0};
	unsigned char *t = malloc(BASE_SIZE);

	(void)state;
	assert_non_null(t);
	fill(t, BASE_SIZE, 4242); /* a full residual: frames with 1 MiB windows */
	pack(t, BASE_SIZE, &pk);
	pk.it.delta->window_log = 12;
	assert_int_equal(apply(&pk, g_base, BASE_SIZE, &g, &err), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	assert_non_null(strstr(err.msg, "invalid zstd frame"));
	free(g.p);
	free(t);
	packed_free(&pk);
}

/* Frame boundaries moved by one byte, and a declared size one too
 * large: refused, never a crash. */
static void test_bad_layout(void **state)
{
	struct packed pk;
	struct got g;
	struct oab_err err = {0};
	unsigned char *t = malloc(3 * MIB);

	(void)state;
	assert_non_null(t);
	fill(t, 3 * MIB, 99);
	pack(t, 3 * MIB, &pk);
	assert_true(pk.it.delta->n_segments == 3);
	pk.it.delta->segments[0].frame_size -= 1;
	pk.it.delta->segments[1].frame_size += 1;
	assert_int_equal(apply(&pk, g_base, BASE_SIZE, &g, &err), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	free(g.p);
	pk.it.delta->segments[0].frame_size += 1;
	pk.it.delta->segments[1].frame_size -= 1;
	pk.it.size += 1; /* the last segment would need one byte more */
	assert_int_equal(apply(&pk, g_base, BASE_SIZE, &g, &err), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	free(g.p);
	free(t);
	packed_free(&pk);
}

/* The delta map survives emit -> parse; a range outside the base is
 * refused by the parser. */
static void test_manifest_round_trip(void **state)
{
	struct packed pk;
	char *compat[] = {"dev"};
	struct oab_manifest m = {.format = 1, .name = "n", .version = "1", .has_created = 1,
				 .created = 1, .compatible = compat, .n_compatible = 1};
	struct oab_manifest *back = NULL;
	struct oab_err err = {0};
	const struct oab_delta *a, *b;
	unsigned char *t = malloc(BASE_SIZE);
	char *yaml = NULL, *bad, *at;
	size_t len;

	(void)state;
	assert_non_null(t);
	memcpy(t, g_base, BASE_SIZE);
	fill(t + MIB, MIB, 5);
	pack(t, BASE_SIZE, &pk);
	pk.it.type = "image";
	pk.it.compression = OAB_COMP_ZSTD;
	m.items = &pk.it;
	m.n_items = 1;
	assert_int_equal(oab_manifest_emit(&m, &yaml, &len, &err), 0);
	if (oab_manifest_parse(yaml, len, "m", NULL, OAB_MANIFEST_RESOLVED, &back, &err) < 0)
		fail_msg("%s\n%s", err.msg, yaml);
	a = pk.it.delta;
	b = back->items[0].delta;
	assert_non_null(b);
	assert_string_equal(back->items[0].member, "payloads/rootfs.zdelta");
	assert_memory_equal(a->base_sha256, b->base_sha256, 32);
	assert_int_equal(a->n_segments, b->n_segments);
	for (size_t i = 0; i < a->n_segments; i++) {
		assert_int_equal(a->segments[i].frame_size, b->segments[i].frame_size);
		assert_int_equal(a->segments[i].n_extents, b->segments[i].n_extents);
		assert_int_equal(a->segments[i].n_copies, b->segments[i].n_copies);
		if (a->segments[i].n_copies)
			assert_memory_equal(a->segments[i].copies, b->segments[i].copies,
					    a->segments[i].n_copies * sizeof(*a->segments[i].copies));
	}
	oab_manifest_free(back);
	/* a copy reaching past the base's end */
	at = strstr(yaml, "=");
	assert_non_null(at);
	assert_true(asprintf(&bad, "%.*s=%d+4096%s", (int)(at - yaml), yaml, BASE_SIZE - 4095,
			     strchr(at, ' ') ? strchr(at, ' ') : strchr(at, '\n')) > 0);
	assert_int_equal(oab_manifest_parse(bad, strlen(bad), "m", NULL, OAB_MANIFEST_RESOLVED, &back,
					    &err), -1);
	assert_non_null(strstr(err.msg, "outside the"));
	free(bad);
	/* a line ending in an offset without its length (read past its end
	 * before the fix; the fuzz target found it) */
	at = strstr(yaml, "segments:\n    - ");
	assert_non_null(at);
	at += strlen("segments:\n    - ");
	assert_true(asprintf(&bad, "%.*s45 8192%s", (int)(at - yaml), yaml, strchr(at, '\n')) > 0);
	assert_int_equal(oab_manifest_parse(bad, strlen(bad), "m", NULL, OAB_MANIFEST_RESOLVED, &back,
					    &err), -1);
	assert_non_null(strstr(err.msg, "expected 'FRAME-SIZE"));
	free(bad);
	free(yaml);
	free(t);
	packed_free(&pk);
}


/* The public reader: a signed delta bundle read into an fd sink (a slot).
 * A wrong base is refused before a byte reaches the fd, no base at all is
 * a usage error, the right one rebuilds the target in the fd. */
static void test_reader_fd_sink(void **state)
{
	EVP_PKEY *k = tl_key_ec("P-256");
	X509 *c = tl_self_signed(k, "delta signer", 3);
	char *key = tl_path(g_dir, "k.pem"), *cert = tl_path(g_dir, "c.pem");
	char *mf = tl_path(g_dir, "m.yaml"), *out = tl_path(g_dir, "d.oab");
	char *slot = tl_path(g_dir, "slot"), *wrong = tl_path(g_dir, "wrong");
	char *basep = tl_path(g_dir, "base");
	struct oab_signer_spec spec = {0};
	struct oab_build_opts bo = {0};
	struct oab_manifest *m = NULL;
	struct oab_trust *t = oab_trust_new();
	struct oab_err err = {0};
	size_t tn = BASE_SIZE + 300 * KIB, len;
	unsigned char *target = malloc(tn), *back;
	static const char yaml[] =
		"format: 1\nbundle: {name: d, version: \"1\", security-version: 1, compatible: [x]}\n"
		"payloads:\n  - {name: rootfs, type: image, source: target, delta-from: base}\n";

	(void)state;
	assert_non_null(target);
	memcpy(target, g_base, BASE_SIZE);
	fill(target + BASE_SIZE, tn - BASE_SIZE, 31337);
	target[77777] ^= 1;
	close(write_tmp("target", target, tn));
	close(write_tmp("base", g_base, BASE_SIZE));
	g_base[5] ^= 1;
	close(write_tmp("wrong", g_base, BASE_SIZE));
	g_base[5] ^= 1;
	assert_int_equal(tl_write_key(key, k), 0);
	assert_int_equal(tl_write_certs(cert, c, NULL), 0);
	assert_int_equal(tl_write_file(mf, yaml, strlen(yaml)), 0);
	assert_int_equal(oab_manifest_load(mf, &m, &err), 0);
	spec.key = key;
	spec.cert = cert;
	bo.output = out;
	bo.signers = &spec;
	bo.n_signers = 1;
	assert_int_equal(oab_build(m, &bo, &err), 0);
	oab_manifest_free(m);
	assert_int_equal(oab_trust_add_pinned(t, cert, &err), 0);

	for (int pass = 0; pass < 3; pass++) { /* wrong base, none, the right one */
		struct oab_verify_opts vo = {.trust = t};
		struct oab_reader *r = NULL;
		const struct oab_item *it;
		struct oab_sink *sink;
		int bfd = open(pass == 0 ? wrong : basep, O_RDONLY);
		int fd = open(out, O_RDONLY), sfd;

		assert_int_equal(tl_write_file(slot, "old slot", 8), 0);
		sfd = open(slot, O_RDWR);
		assert_true(fd >= 0 && bfd >= 0 && sfd >= 0);
		sink = oab_sink_fd(sfd);
		assert_int_equal(oab_reader_open(fd, "d", &vo, &r, &err), 0);
		assert_int_equal(oab_reader_authenticate(r, &err), 0);
		if (pass != 1)
			assert_int_equal(oab_reader_set_base(r, "rootfs", bfd, &err), 0);
		assert_int_equal(oab_reader_next(r, &it, &err), 1);
		assert_non_null(it->delta);
		if (pass < 2) {
			assert_int_equal(oab_reader_read(r, sink, &err), -1);
			assert_int_equal(err.code, pass == 0 ? OAB_E_REJECTED : OAB_E_USAGE);
			assert_int_equal(err.detail, OAB_D_DELTA_BASE);
			back = tl_read_file(slot, &len);
			assert_int_equal(len, 8); /* nothing reached the slot */
			assert_memory_equal(back, "old slot", 8);
		} else {
			assert_int_equal(oab_reader_read(r, sink, &err), 0);
			assert_int_equal(oab_reader_next(r, &it, &err), 0);
			back = tl_read_file(slot, &len);
			assert_int_equal(len, tn);
			assert_memory_equal(back, target, tn);
		}
		free(back);
		oab_sink_free(sink);
		oab_reader_free(r);
		close(fd);
		close(bfd);
		close(sfd);
	}
	oab_trust_free(t);
	EVP_PKEY_free(k);
	X509_free(c);
	free(target);
	free(key);
	free(cert);
	free(mf);
	free(out);
	free(slot);
	free(wrong);
	free(basep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identical),
		cmocka_unit_test(test_different),
		cmocka_unit_test(test_grown_and_edited),
		cmocka_unit_test(test_shrunk),
		cmocka_unit_test(test_all_moved),
		cmocka_unit_test(test_empty_target),
		cmocka_unit_test(test_wrong_base),
		cmocka_unit_test(test_window_too_large),
		cmocka_unit_test(test_bad_layout),
		cmocka_unit_test(test_manifest_round_trip),
		cmocka_unit_test(test_reader_fd_sink),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
