/* SPDX-License-Identifier: Apache-2.0 */
/* test_api.c - the public entry points as a program linking libotabundle
 * calls them (only <otabundle/...> headers): oab_build, oab_sign,
 * oab_verify, oab_extract and the streaming reader, with zero-initialised
 * options, which must be the strictest setting. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "otabundle/otabundle.h"

#include "testlib.h"

#define PAYLOAD_SIZE (3 * 1024 * 1024 + 123)

static char *g_dir, *g_key, *g_cert, *g_good, *g_expired;
static unsigned char *g_payload;

/* A bundle of one zstd payload and one stored file, signed by g_key. */
static char *make_bundle(const char *tag, const char *expires)
{
	char *mf = tl_path(g_dir, tag), *out = NULL, yaml[1024];
	struct oab_manifest *m = NULL;
	struct oab_signer_spec spec = {.key = g_key, .cert = g_cert};
	struct oab_build_opts bo = {0}; /* zero: defaults, only what is required */
	struct oab_err err = {0};

	snprintf(yaml, sizeof(yaml),
		 "format: 1\nbundle:\n  name: api\n  version: \"1\"\n  security-version: 3\n"
		 "  compatible: [board]\n  expires: %s\npayloads:\n"
		 "  - name: rootfs\n    type: image\n    source: rootfs.img\n    compression: zstd:3\n"
		 "  - name: boot\n    type: file\n    source: boot.bin\n    compression: none\n",
		 expires);
	assert_int_equal(tl_write_file(mf, yaml, strlen(yaml)), 0);
	assert_int_equal(oab_manifest_load(mf, &m, &err), 0);
	if (asprintf(&out, "%s/%s.oab", g_dir, tag) < 0)
		fail();
	bo.output = out;
	bo.signers = &spec;
	bo.n_signers = 1;
	assert_int_equal(oab_build(m, &bo, &err), 0);
	oab_manifest_free(m);
	free(mf);
	return out;
}

static int setup(void **state)
{
	EVP_PKEY *k = tl_key_ec("P-256");
	struct tl_cert_opts co = {.cn = "api signer", .serial = 7, .eku = "codeSigning",
				  .not_before = -3600, .not_after = 86400L * 365};
	X509 *c = tl_make_cert(k, &co, NULL, NULL);
	char *p;

	(void)state;
	g_dir = tl_mkdtemp("api");
	g_key = tl_path(g_dir, "signer.key");
	g_cert = tl_path(g_dir, "signer.pem");
	if (!g_dir || !k || !c || tl_write_key(g_key, k) < 0 || tl_write_certs(g_cert, c, NULL) < 0)
		return -1;
	EVP_PKEY_free(k);
	X509_free(c);
	g_payload = malloc(PAYLOAD_SIZE);
	for (size_t i = 0; i < PAYLOAD_SIZE; i++) /* compressible, not all zeros */
		g_payload[i] = (unsigned char)(i % 251 < 40 ? 0 : (i * 7) >> 9);
	p = tl_path(g_dir, "rootfs.img");
	tl_write_file(p, g_payload, PAYLOAD_SIZE);
	free(p);
	p = tl_path(g_dir, "boot.bin");
	tl_write_file(p, "boot loader\n", 12);
	free(p);
	g_good = make_bundle("good.yaml", "2099-01-01T00:00:00Z");
	g_expired = make_bundle("expired.yaml", "2020-01-01T00:00:00Z");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tl_rm_rf(g_dir);
	free(g_dir);
	free(g_key);
	free(g_cert);
	free(g_good);
	free(g_expired);
	free(g_payload);
	return 0;
}

static struct oab_trust *pinned(void)
{
	struct oab_trust *t = oab_trust_new();
	struct oab_err err = {0};

	assert_non_null(t);
	assert_int_equal(oab_trust_add_pinned(t, g_cert, &err), 0);
	return t;
}

static int open_ro(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

/* issue 13: with a pinned key and = {0} (plus the anchor), a bundle that
 * expired in 2020 came back verified, judged at "now 1970-01-01". */
static void test_zero_opts_reject_expired(void **state)
{
	struct oab_verify_opts o = {0};
	struct oab_report *rep = NULL;
	struct oab_err err = {0};
	int fd = open_ro(g_expired);

	(void)state;
	o.trust = pinned();
	assert_int_equal(oab_verify(fd, "expired", &o, &rep, &err), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	assert_non_null(strstr(err.msg, "expired at 2020-01-01T00:00:00Z"));
	assert_int_equal(err.detail, OAB_D_POLICY_EXPIRED);
	assert_null(strstr(err.msg, "1970"));
	assert_non_null(rep);
	assert_int_equal(rep->verified, 0);
	oab_report_free(rep);
	close(fd);
	/* extract with zero options writes nothing either */
	{
		struct oab_extract_opts xo = {0};
		char *x = tl_path(g_dir, "x-expired");

		mkdir(x, 0700);
		xo.dir = x;
		fd = open_ro(g_expired);
		assert_int_equal(oab_extract(fd, "expired", &o, &xo, NULL, &err), -1);
		assert_int_equal(err.code, OAB_E_REJECTED);
		close(fd);
		free(x);
	}
	oab_trust_free((struct oab_trust *)o.trust);
}

static void test_zero_opts_verify_and_extract(void **state)
{
	struct oab_verify_opts o = {0};
	struct oab_extract_opts xo = {0};
	struct oab_err err = {0};
	char *x = tl_path(g_dir, "x-good"), *f;
	unsigned char *got;
	size_t len;
	int fd;

	(void)state;
	/* no anchor at all: refused, with the detail a program acts on */
	fd = open_ro(g_good);
	assert_int_equal(oab_verify(fd, "good", &o, NULL, &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
	assert_int_equal(err.detail, OAB_D_NO_ANCHOR);
	assert_null(strstr(err.msg, "--"));
	close(fd);
	o.trust = pinned();
	fd = open_ro(g_good);
	assert_int_equal(oab_verify(fd, "good", &o, NULL, &err), 0);
	close(fd);
	mkdir(x, 0700);
	xo.dir = x;
	fd = open_ro(g_good);
	assert_int_equal(oab_extract(fd, "good", &o, &xo, NULL, &err), 0);
	close(fd);
	f = tl_path(x, "rootfs");
	got = tl_read_file(f, &len);
	assert_int_equal(len, PAYLOAD_SIZE);
	assert_memory_equal(got, g_payload, PAYLOAD_SIZE);
	free(got);
	free(f);
	/* again without force: refused with OAB_D_EXISTS, no flag named */
	fd = open_ro(g_good);
	assert_int_equal(oab_extract(fd, "good", &o, &xo, NULL, &err), -1);
	assert_int_equal(err.detail, OAB_D_EXISTS);
	assert_null(strstr(err.msg, "--"));
	close(fd);
	free(x);
	oab_trust_free((struct oab_trust *)o.trust);
}

struct cb {
	unsigned char *buf;
	size_t len;
};

static int collect(void *arg, const void *p, size_t n)
{
	struct cb *c = arg;

	if (c->len + n > PAYLOAD_SIZE)
		return -1;
	memcpy(c->buf + c->len, p, n);
	c->len += n;
	return 0;
}

static void test_reader_sinks(void **state)
{
	struct oab_verify_opts o = {0};
	struct oab_reader *r = NULL;
	struct oab_err err = {0};
	const struct oab_item *it;
	struct cb c = {.buf = malloc(PAYLOAD_SIZE)};
	char *slot = tl_path(g_dir, "slot");
	int fd = open_ro(g_good), sfd = open(slot, O_RDWR | O_CREAT | O_TRUNC, 0600);
	struct oab_sink *fs = oab_sink_fd(sfd), *cs = oab_sink_callback(collect, &c);
	unsigned char *got;
	size_t len;

	(void)state;
	o.trust = pinned();
	assert_int_equal(oab_reader_open(fd, "good", &o, &r, &err), 0);
	assert_null(oab_reader_manifest(r)); /* nothing parsed before authentication */
	assert_int_equal(oab_reader_next(r, &it, &err), -1);
	assert_int_equal(oab_reader_authenticate(r, &err), 0);
	assert_non_null(oab_reader_manifest(r));
	assert_int_equal(oab_reader_next(r, &it, &err), 1);
	assert_string_equal(it->name, "rootfs");
	assert_int_equal(oab_reader_read(r, fs, &err), 0);
	assert_int_equal(oab_reader_next(r, &it, &err), 1);
	assert_string_equal(it->name, "boot");
	assert_int_equal(oab_reader_read(r, cs, &err), 0);
	assert_int_equal(c.len, 12);
	assert_memory_equal(c.buf, "boot loader\n", 12);
	assert_int_equal(oab_reader_next(r, &it, &err), 0);
	assert_int_equal(oab_reader_report(r)->n_signers, 1);
	oab_reader_free(r);
	close(fd);
	close(sfd);
	got = tl_read_file(slot, &len);
	assert_int_equal(len, PAYLOAD_SIZE);
	assert_memory_equal(got, g_payload, PAYLOAD_SIZE);
	free(got);

	/* an expired bundle: its signature checks out, but nothing but a
	 * discard sink is served */
	fd = open_ro(g_expired);
	assert_int_equal(oab_reader_open(fd, "expired", &o, &r, &err), 0);
	assert_int_equal(oab_reader_authenticate(r, &err), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	assert_int_equal(oab_reader_next(r, &it, &err), 1);
	c.len = 0;
	assert_int_equal(oab_reader_read(r, cs, &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
	assert_int_equal(c.len, 0);
	oab_reader_free(r);
	close(fd);
	oab_sink_free(fs);
	oab_sink_free(cs);
	free(c.buf);
	free(slot);
	oab_trust_free((struct oab_trust *)o.trust);
}

/* Offset of member name's data in a bundle held in memory (ustar: the
 * name at the start of a 512-byte header, the data after it). */
static size_t member_data(const unsigned char *b, size_t len, const char *name)
{
	for (size_t at = 0; at + 512 <= len; at += 512)
		if (memcmp(b + at, name, strlen(name) + 1) == 0 && memcmp(b + at + 257, "ustar", 5) == 0)
			return at + 512;
	fail();
	return 0;
}

/* A wrong stored chunk is a content error (detail OAB_D_CHUNK_HASH, no
 * bare return code): the reader stays in step, the next member is read
 * and checked, and verify's report names the bad member. */
static void test_reader_content_error_in_step(void **state)
{
	struct oab_verify_opts o = {0};
	struct oab_reader *r = NULL;
	struct oab_report *rep = NULL;
	struct oab_err err = {0};
	const struct oab_item *it;
	struct oab_sink *d = oab_sink_discard();
	char *bad = tl_path(g_dir, "badchunk.oab");
	size_t len, at;
	unsigned char *b = tl_read_file(g_good, &len);
	int fd, found = 0;

	(void)state;
	at = member_data(b, len, "payloads/rootfs.zst");
	b[at + 100] ^= 0x40;
	assert_int_equal(tl_write_file(bad, b, len), 0);
	free(b);
	o.trust = pinned();
	fd = open_ro(bad);
	assert_int_equal(oab_reader_open(fd, "bad", &o, &r, &err), 0);
	assert_int_equal(oab_reader_authenticate(r, &err), 0);
	assert_int_equal(oab_reader_next(r, &it, &err), 1);
	assert_int_equal(oab_reader_read(r, d, &err), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	assert_int_equal(err.detail, OAB_D_CHUNK_HASH);
	assert_string_equal(err.member, "payloads/rootfs.zst");
	assert_int_equal(err.has_chunk, 1);
	assert_int_equal(err.chunk, 0);
	assert_int_equal(oab_reader_next(r, &it, &err), 1);
	assert_string_equal(it->name, "boot");
	assert_int_equal(oab_reader_read(r, d, &err), 0);
	assert_int_equal(oab_reader_next(r, &it, &err), 0);
	oab_reader_free(r);
	close(fd);
	fd = open_ro(bad);
	assert_int_equal(oab_verify(fd, "bad", &o, &rep, &err), -1);
	assert_int_equal(err.detail, OAB_D_CHUNK_HASH);
	for (size_t i = 0; i < rep->n_checks; i++)
		if (strcmp(rep->checks[i].id, "member-hash") == 0 && !rep->checks[i].ok)
			found++;
	assert_int_equal(found, 1);
	assert_int_equal(rep->verified, 0);
	oab_report_free(rep);
	close(fd);
	oab_sink_free(d);
	free(bad);
	oab_trust_free((struct oab_trust *)o.trust);
}

static void test_sign_zero_opts(void **state)
{
	struct oab_signer_spec spec = {.key = g_key, .cert = g_cert};
	struct oab_sign_opts so = {0};
	struct oab_err err = {0};
	char *out = tl_path(g_dir, "resigned.oab");

	(void)state;
	so.signers = &spec;
	so.n_signers = 1;
	so.output = out;
	/* the same key again: refused with the detail, no flag named */
	assert_int_equal(oab_sign(g_good, &so, &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
	assert_int_equal(err.detail, OAB_D_ALREADY_SIGNED);
	assert_null(strstr(err.msg, "--"));
	so.replace = 1;
	assert_int_equal(oab_sign(g_good, &so, &err), 0);
	{
		struct oab_verify_opts o = {0};
		int fd = open_ro(out);

		o.trust = pinned();
		assert_int_equal(oab_verify(fd, "resigned", &o, NULL, &err), 0);
		close(fd);
		oab_trust_free((struct oab_trust *)o.trust);
	}
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_opts_reject_expired),
		cmocka_unit_test(test_zero_opts_verify_and_extract),
		cmocka_unit_test(test_reader_sinks),
		cmocka_unit_test(test_reader_content_error_in_step),
		cmocka_unit_test(test_sign_zero_opts),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
