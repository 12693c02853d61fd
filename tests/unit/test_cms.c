/* SPDX-License-Identifier: Apache-2.0 */
/* test_cms.c - src/cms.c and src/keys.c: loading signers (PEM keys,
 * passphrases, refusals), detached CMS signing and parsing, and checking
 * the result with pinned keys. Keys and certificates are made in code. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "otabundle/otabundle.h"
#include "internal.h"
#include "testlib.h"

#define PASS_ENV "OAB_UNIT_CMS_PASS"
#define PASSPHRASE "correct horse battery staple"

static const unsigned char g_msg[] =
	"format: 1\nbundle:\n  name: \"demo\"\n  version: \"1.0\"\n  security-version: 3\n";

enum { K_P256, K_P384, K_RSA, K_P256B, K_ED, K_RSA1024, K_K256, NKEYS };
static const char *const key_names[NKEYS] = {"p256", "p384", "rsa3072", "p256b", "ed25519",
					     "rsa1024", "k256"};

struct fixture {
	char *dir;
	EVP_PKEY *key[NKEYS];
	X509 *cert[NKEYS];
	char *key_path[NKEYS];
	char *cert_path[NKEYS];
	char *enc_key_path; /* P-256 key encrypted with PASSPHRASE */
	char *pub_path;     /* P-384 public key (PEM SubjectPublicKeyInfo) */
};

static struct fixture F;

static int setup_fixture(void **state)
{
	(void)state;
	F.dir = tl_mkdtemp("cms");
	if (!F.dir)
		return -1;
	F.key[K_P256] = tl_key_ec("P-256");
	F.key[K_P384] = tl_key_ec("P-384");
	F.key[K_RSA] = tl_key_rsa(3072); /* slow: once per file */
	F.key[K_P256B] = tl_key_ec("P-256");
	F.key[K_ED] = tl_key_ed25519();
	F.key[K_RSA1024] = tl_key_rsa(1024);
	F.key[K_K256] = tl_key_ec("secp256k1");
	for (int i = 0; i < NKEYS; i++) {
		char name[64];

		if (!F.key[i])
			return -1;
		F.cert[i] = tl_self_signed(F.key[i], key_names[i], 100 + i);
		snprintf(name, sizeof(name), "%s.key", key_names[i]);
		F.key_path[i] = tl_path(F.dir, name);
		snprintf(name, sizeof(name), "%s.pem", key_names[i]);
		F.cert_path[i] = tl_path(F.dir, name);
		if (!F.cert[i] || tl_write_key(F.key_path[i], F.key[i]) < 0 ||
		    tl_write_certs(F.cert_path[i], F.cert[i], NULL) < 0)
			return -1;
	}
	F.enc_key_path = tl_path(F.dir, "p256-enc.key");
	if (tl_write_key_encrypted(F.enc_key_path, F.key[K_P256], PASSPHRASE) < 0)
		return -1;
	F.pub_path = tl_path(F.dir, "p384.pub");
	{
		FILE *f = fopen(F.pub_path, "w");

		if (!f || PEM_write_PUBKEY(f, F.key[K_P384]) != 1)
			return -1;
		fclose(f);
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NKEYS; i++) {
		EVP_PKEY_free(F.key[i]);
		X509_free(F.cert[i]);
		free(F.key_path[i]);
		free(F.cert_path[i]);
	}
	free(F.enc_key_path);
	free(F.pub_path);
	tl_rm_rf(F.dir);
	free(F.dir);
	unsetenv(PASS_ENV);
	memset(&F, 0, sizeof(F));
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

static void load_signer(int k, struct oab_signer *s)
{
	struct oab_signer_spec spec = {.key = F.key_path[k], .cert = F.cert_path[k]};
	struct oab_err err = {0};

	if (oab_signer_load(&spec, s, &err) != 0)
		print_error("loading %s: %s\n", key_names[k], err.msg);
	assert_int_equal(err.code, OAB_OK);
	assert_non_null(s->key);
	assert_non_null(s->cert);
	assert_string_equal(s->label, F.key_path[k]);
	assert_int_equal(EVP_PKEY_eq(s->key, F.key[k]), 1);
	assert_int_equal(X509_cmp(s->cert, F.cert[k]), 0);
}

/* Sign g_msg with the given keys; DER in *der. */
static void sign_with(const int *keys, size_t n, unsigned char **der, size_t *der_len)
{
	struct oab_signer s[4];
	struct oab_err err = {0};

	assert_true(n <= 4);
	for (size_t i = 0; i < n; i++)
		load_signer(keys[i], &s[i]);
	if (oab_cms_sign(g_msg, sizeof(g_msg) - 1, s, n, NULL, der, der_len, &err) != 0)
		print_error("signing: %s\n", err.msg);
	assert_int_equal(err.code, OAB_OK);
	assert_non_null(*der);
	assert_true(*der_len > 100);
	for (size_t i = 0; i < n; i++)
		oab_signer_release(&s[i]);
}

/* A trust store pinning the certificates of keys (-1 ends). */
static struct oab_trust *trust_pinning(const int *keys, size_t n)
{
	struct oab_trust *t = oab_trust_new();
	struct oab_err err = {0};

	assert_non_null(t);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(oab_trust_add_pinned(t, F.cert_path[keys[i]], &err), 0);
	assert_int_equal(oab_trust_count(t), n);
	return t;
}

/* Parse der and evaluate it over data; returns rc, report in *rep. */
static int evaluate(const unsigned char *der, size_t der_len, const unsigned char *data, size_t len,
		    const struct oab_trust *t, unsigned threshold, struct oab_report **rep,
		    struct oab_err *err)
{
	CMS_ContentInfo *cms = oab_cms_parse(der, der_len, err);
	int rc;

	assert_non_null(cms);
	*rep = oab_report_new();
	assert_non_null(*rep);
	rc = oab_trust_evaluate(t, cms, data, len, (int64_t)time(NULL), threshold, 0, NULL, *rep, err);
	CMS_ContentInfo_free(cms);
	return rc;
}

/* The first check with this id or about this subject ("signer 1"). */
static int find_check(const struct oab_report *r, const char *name)
{
	for (size_t i = 0; i < r->n_checks; i++)
		if (strcmp(r->checks[i].id, name) == 0 ||
		    (r->checks[i].subject && strcmp(r->checks[i].subject, name) == 0))
			return (int)i;
	return -1;
}

static const struct oab_signer_report *signer_by_type(const struct oab_report *r, const char *kt)
{
	for (size_t i = 0; i < r->n_signers; i++)
		if (r->signers[i].key_type && strcmp(r->signers[i].key_type, kt) == 0)
			return &r->signers[i];
	return NULL;
}

/* ---- single signers, every supported key type ---------------------------- */

static void check_single(int k, const char *key_type)
{
	unsigned char *der = NULL;
	size_t der_len = 0;
	struct oab_trust *t = trust_pinning(&k, 1);
	struct oab_report *rep;
	struct oab_err err = {0};
	char kid[65];
	int c;

	sign_with(&k, 1, &der, &der_len);

	/* valid */
	assert_int_equal(evaluate(der, der_len, g_msg, sizeof(g_msg) - 1, t, 1, &rep, &err), 0);
	assert_int_equal(rep->n_signers, 1);
	assert_int_equal(rep->signers[0].signature_ok, 1);
	assert_int_equal(rep->signers[0].trusted, 1);
	assert_int_equal(rep->trusted_keys, 1);
	assert_string_equal(rep->signers[0].key_type, key_type);
	assert_non_null(strstr(rep->signers[0].subject, key_names[k]));
	assert_int_equal(oab_key_id(F.key[k], kid), 0);
	assert_string_equal(rep->signers[0].key_id, kid);
	assert_true(rep->signers[0].signing_time > 0);
	c = find_check(rep, "threshold");
	assert_true(c >= 0);
	assert_int_equal(rep->checks[c].ok, 1);
	oab_report_free(rep);

	/* altered data: invalid */
	{
		unsigned char bad[sizeof(g_msg)];

		memcpy(bad, g_msg, sizeof(g_msg));
		bad[20] ^= 1;
		oab_err_clear(&err);
		assert_int_equal(evaluate(der, der_len, bad, sizeof(bad) - 1, t, 1, &rep, &err), -1);
		assert_int_equal(err.code, OAB_E_REJECTED);
		assert_non_null(strstr(err.msg, "invalid"));
		assert_int_equal(rep->signers[0].signature_ok, 0);
		assert_int_equal(rep->signers[0].trusted, 0);
		assert_int_equal(rep->trusted_keys, 0);
		c = find_check(rep, "signer 1");
		assert_true(c >= 0);
		assert_int_equal(rep->checks[c].ok, 0);
		oab_report_free(rep);
		/* one byte more or less is just as invalid */
		assert_int_equal(evaluate(der, der_len, g_msg, sizeof(g_msg) - 2, t, 1, &rep, &err), -1);
		assert_int_equal(err.code, OAB_E_REJECTED);
		oab_report_free(rep);
	}

	/* valid but not pinned: not trusted */
	{
		int other = k == K_P256B ? K_P256 : K_P256B;
		struct oab_trust *t2 = trust_pinning(&other, 1);

		oab_err_clear(&err);
		assert_int_equal(evaluate(der, der_len, g_msg, sizeof(g_msg) - 1, t2, 1, &rep, &err), -1);
		assert_int_equal(err.code, OAB_E_REJECTED);
		assert_int_equal(rep->signers[0].signature_ok, 1);
		assert_int_equal(rep->signers[0].trusted, 0);
		assert_int_equal(rep->trusted_keys, 0);
		assert_non_null(strstr(err.msg, "not trusted"));
		oab_report_free(rep);
		oab_trust_free(t2);
	}

	oab_trust_free(t);
	free(der);
}

static void test_sign_p256(void **state)
{
	(void)state;
	check_single(K_P256, "EC P-256");
}

static void test_sign_p384(void **state)
{
	(void)state;
	check_single(K_P384, "EC P-384");
}

static void test_sign_rsa3072(void **state)
{
	(void)state;
	check_single(K_RSA, "RSA-3072");
}

/* The SignerInfo algorithms of each signer in der, with the key type
 * (EVP_PKEY base id) of its certificate. DER sorts the SET OF SignerInfo,
 * so the order is not the order of signing. */
static void signer_algs(const unsigned char *der, size_t len, int *key_id, int *dig_nid,
			int *sig_nid, int n)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	STACK_OF(CMS_SignerInfo) *sis;

	assert_non_null(cms);
	assert_int_equal(CMS_set1_signers_certs(cms, NULL, 0), n);
	sis = CMS_get0_SignerInfos(cms);
	assert_int_equal(sk_CMS_SignerInfo_num(sis), n);
	for (int i = 0; i < n; i++) {
		X509_ALGOR *dig = NULL, *sig = NULL;
		const ASN1_OBJECT *obj = NULL;
		EVP_PKEY *pk = NULL;

		CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(sis, i), &pk, NULL, &dig, &sig);
		assert_non_null(pk);
		key_id[i] = EVP_PKEY_get_base_id(pk);
		assert_non_null(dig);
		assert_non_null(sig);
		X509_ALGOR_get0(&obj, NULL, NULL, dig);
		dig_nid[i] = OBJ_obj2nid(obj);
		X509_ALGOR_get0(&obj, NULL, NULL, sig);
		sig_nid[i] = OBJ_obj2nid(obj);
	}
	CMS_ContentInfo_free(cms);
}

static void test_rsa_uses_pss(void **state)
{
	int keys[] = {K_RSA, K_P256};
	unsigned char *der = NULL;
	size_t len = 0;
	int kt[2], dig[2], sig[2];

	(void)state;
	sign_with(keys, 2, &der, &len);
	signer_algs(der, len, kt, dig, sig, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(dig[i], NID_sha256);
		if (kt[i] == EVP_PKEY_RSA)
			assert_int_equal(sig[i], NID_rsassaPss);
		else
			assert_int_equal(sig[i], NID_ecdsa_with_SHA256);
	}
	assert_int_not_equal(kt[0], kt[1]);
	free(der);

	/* the PSS parameters name SHA-256 (not the SHA-1 default) */
	{
		const unsigned char *p;
		CMS_ContentInfo *cms;
		X509_ALGOR *sa = NULL;
		RSA_PSS_PARAMS *pss;
		const ASN1_OBJECT *obj;
		int ptype;
		const void *pval;
		const ASN1_STRING *ps;

		sign_with(keys, 1, &der, &len);
		p = der;
		cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
		assert_non_null(cms);
		CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0), NULL,
					 NULL, NULL, &sa);
		X509_ALGOR_get0(&obj, &ptype, &pval, sa);
		assert_int_equal(ptype, V_ASN1_SEQUENCE);
		ps = pval;
		pss = ASN1_item_unpack(ps, ASN1_ITEM_rptr(RSA_PSS_PARAMS));
		assert_non_null(pss);
		assert_non_null(pss->hashAlgorithm);
		X509_ALGOR_get0(&obj, NULL, NULL, pss->hashAlgorithm);
		assert_int_equal(OBJ_obj2nid(obj), NID_sha256);
		RSA_PSS_PARAMS_free(pss);
		CMS_ContentInfo_free(cms);
		free(der);
	}
}

/* ---- two signers ---------------------------------------------------------- */

static void test_two_signers(void **state)
{
	int keys[] = {K_P256, K_P384};
	unsigned char *der = NULL;
	size_t len = 0;
	struct oab_report *rep;
	struct oab_err err = {0};
	struct oab_trust *t;

	(void)state;
	sign_with(keys, 2, &der, &len);

	/* both pinned: two trusted keys, threshold 2 met */
	t = trust_pinning(keys, 2);
	assert_int_equal(evaluate(der, len, g_msg, sizeof(g_msg) - 1, t, 2, &rep, &err), 0);
	assert_int_equal(rep->n_signers, 2);
	assert_int_equal(rep->trusted_keys, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(rep->signers[i].signature_ok, 1);
		assert_int_equal(rep->signers[i].trusted, 1);
	}
	assert_non_null(signer_by_type(rep, "EC P-256"));
	assert_non_null(signer_by_type(rep, "EC P-384"));
	oab_report_free(rep);
	/* threshold 3: not met */
	assert_int_equal(evaluate(der, len, g_msg, sizeof(g_msg) - 1, t, 3, &rep, &err), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	assert_int_equal(rep->trusted_keys, 2);
	oab_report_free(rep);
	oab_trust_free(t);

	/* only the second pinned (as a bare public key): one trusted key */
	t = oab_trust_new();
	assert_int_equal(oab_trust_add_pinned(t, F.pub_path, &err), 0);
	assert_int_equal(evaluate(der, len, g_msg, sizeof(g_msg) - 1, t, 1, &rep, &err), 0);
	assert_int_equal(rep->trusted_keys, 1);
	assert_int_equal(signer_by_type(rep, "EC P-256")->trusted, 0);
	assert_int_equal(signer_by_type(rep, "EC P-384")->trusted, 1);
	assert_int_equal(signer_by_type(rep, "EC P-384")->signature_ok, 1);
	assert_int_equal(signer_by_type(rep, "EC P-256")->signature_ok, 1);
	oab_report_free(rep);
	assert_int_equal(evaluate(der, len, g_msg, sizeof(g_msg) - 1, t, 2, &rep, &err), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	assert_non_null(strstr(err.msg, "1 distinct trusted signing key, 2 required"));
	oab_report_free(rep);
	oab_trust_free(t);

	/* altered data: the first invalid signature ends the evaluation */
	t = trust_pinning(keys, 2);
	assert_int_equal(evaluate(der, len, (const unsigned char *)"x", 1, t, 1, &rep, &err), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	assert_non_null(strstr(err.msg, "signature 1 of 2 invalid"));
	assert_int_equal(rep->n_signers, 1);
	oab_report_free(rep);
	oab_trust_free(t);
	free(der);
}

/* Co-signing an existing signature without the data (REUSE_DIGEST). */
static void test_add_signers(void **state)
{
	int first = K_P256, keys[] = {K_P256, K_RSA, K_P384};
	unsigned char *der = NULL, *der2 = NULL;
	size_t len = 0, len2 = 0;
	struct oab_signer s[2];
	struct oab_err err = {0};
	struct oab_report *rep;
	struct oab_trust *t;
	struct oab_keyids ids;
	CMS_ContentInfo *cms;
	char kid[65];
	int kt[3], dig[3], sig[3], n_rsa = 0;

	(void)state;
	sign_with(&first, 1, &der, &len);
	cms = oab_cms_parse(der, len, &err);
	assert_non_null(cms);
	load_signer(K_RSA, &s[0]);
	load_signer(K_P384, &s[1]);
	if (oab_cms_add_signers(cms, s, 2, NULL, &err) != 0)
		print_error("add_signers: %s\n", err.msg);
	assert_int_equal(err.code, OAB_OK);
	if (oab_cms_encode(cms, &der2, &len2, &err) != 0)
		print_error("encode: %s\n", err.msg);
	assert_int_equal(err.code, OAB_OK);
	CMS_ContentInfo_free(cms);
	oab_signer_release(&s[0]);
	oab_signer_release(&s[1]);

	/* the co-signing RSA key uses RSASSA-PSS too */
	signer_algs(der2, len2, kt, dig, sig, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(dig[i], NID_sha256);
		if (kt[i] == EVP_PKEY_RSA) {
			assert_int_equal(sig[i], NID_rsassaPss);
			n_rsa++;
		} else {
			assert_int_equal(sig[i], NID_ecdsa_with_SHA256);
		}
	}
	assert_int_equal(n_rsa, 1);

	/* every signature checks out over the original data, ids in order */
	cms = oab_cms_parse(der2, len2, &err);
	assert_non_null(cms);
	assert_int_equal(oab_cms_check(cms, g_msg, sizeof(g_msg) - 1, &ids, &err), 0);
	assert_int_equal(ids.n, 3);
	for (int i = 0; i < 3; i++) {
		int found = 0;

		assert_int_equal(oab_key_id(F.key[keys[i]], kid), 0);
		for (size_t j = 0; j < ids.n; j++)
			found += strcmp(ids.id[j], kid) == 0;
		assert_int_equal(found, 1);
	}
	free(ids.id);
	assert_int_equal(oab_cms_check(cms, g_msg, sizeof(g_msg) - 2, &ids, &err), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	assert_null(ids.id);
	CMS_ContentInfo_free(cms);

	t = trust_pinning(keys, 3);
	assert_int_equal(evaluate(der2, len2, g_msg, sizeof(g_msg) - 1, t, 3, &rep, &err), 0);
	assert_int_equal(rep->trusted_keys, 3);
	oab_report_free(rep);
	oab_trust_free(t);
	free(der);
	free(der2);
}

/* ---- oab_signer_load refusals ---------------------------------------------- */

static void expect_load_fail(const struct oab_signer_spec *spec, enum oab_code code,
			     const char *needle, struct oab_err *err)
{
	struct oab_signer s;

	oab_err_clear(err);
	memset(&s, 0x5a, sizeof(s));
	assert_int_equal(oab_signer_load(spec, &s, err), -1);
	if (err->code != code || (needle && !strstr(err->msg, needle)))
		print_error("got code %d '%s', expected %d '%s'\n", err->code, err->msg, code,
			    needle ? needle : "");
	assert_int_equal(err->code, code);
	if (needle)
		assert_non_null(strstr(err->msg, needle));
	/* nothing is left behind for the caller to free */
	assert_null(s.key);
	assert_null(s.cert);
	assert_null(s.label);
	assert_int_equal(ERR_peek_error(), 0);
}

static void test_load_refusals(void **state)
{
	struct oab_err err = {0};
	struct oab_signer_spec spec;
	char *missing = tl_path(F.dir, "missing.key");
	char *empty = tl_path(F.dir, "empty.pem");

	(void)state;
	/* key and certificate do not match */
	spec = (struct oab_signer_spec){.key = F.key_path[K_P256], .cert = F.cert_path[K_P256B]};
	expect_load_fail(&spec, OAB_E_KEY, "does not belong", &err);
	spec = (struct oab_signer_spec){.key = F.key_path[K_RSA], .cert = F.cert_path[K_P384]};
	expect_load_fail(&spec, OAB_E_KEY, "does not belong", &err);

	/* weak or unsupported keys */
	spec = (struct oab_signer_spec){.key = F.key_path[K_RSA1024], .cert = F.cert_path[K_RSA1024]};
	expect_load_fail(&spec, OAB_E_KEY, "2048", &err);
	assert_non_null(strstr(err.msg, "1024"));
	spec = (struct oab_signer_spec){.key = F.key_path[K_K256], .cert = F.cert_path[K_K256]};
	expect_load_fail(&spec, OAB_E_KEY, "secp256k1", &err);
	/* Ed25519 is refused clearly (OpenSSL 3.0's CMS cannot do RFC 8419) */
	spec = (struct oab_signer_spec){.key = F.key_path[K_ED], .cert = F.cert_path[K_ED]};
	expect_load_fail(&spec, OAB_E_KEY, "Ed25519", &err);

	/* missing pieces and wrong files */
	spec = (struct oab_signer_spec){.key = F.key_path[K_P256], .cert = NULL};
	expect_load_fail(&spec, OAB_E_USAGE, NULL, &err);
	spec = (struct oab_signer_spec){.key = missing, .cert = F.cert_path[K_P256]};
	expect_load_fail(&spec, OAB_E_IO, "missing.key", &err);
	spec = (struct oab_signer_spec){.key = F.cert_path[K_P256], .cert = F.cert_path[K_P256]};
	expect_load_fail(&spec, OAB_E_KEY, "not a PEM private key", &err);
	assert_int_equal(tl_write_file(empty, "nothing\n", 8), 0);
	spec = (struct oab_signer_spec){.key = F.key_path[K_P256], .cert = empty};
	expect_load_fail(&spec, OAB_E_KEY, "no PEM certificate", &err);
	free(missing);
	free(empty);
}

/* ---- encrypted keys ---------------------------------------------------------- */

/* An oab_secret_fn giving a fixed secret (give == NULL: declines). */
struct ask {
	const char *give;
	int calls;
	int kind;
};

static int ask_secret(void *arg, enum oab_secret_kind kind, const char *label, char *buf,
		      size_t size)
{
	struct ask *a = arg;

	assert_non_null(label);
	a->calls++;
	a->kind = (int)kind;
	if (!a->give || strlen(a->give) >= size)
		return -1;
	memcpy(buf, a->give, strlen(a->give) + 1);
	return (int)strlen(a->give);
}

static void test_encrypted_key(void **state)
{
	struct oab_err err = {0};
	struct oab_signer s;
	struct oab_signer_spec spec = {.key = F.enc_key_path, .cert = F.cert_path[K_P256]};
	char *passfile = tl_path(F.dir, "pass.txt");
	char src[512];

	(void)state;
	/* the file really is encrypted: no pass source and no callback. The
	 * library names what is missing (detail), never an option, and
	 * never prompts (stdin is not looked at). */
	spec.pass = NULL;
	expect_load_fail(&spec, OAB_E_KEY, "encrypted", &err);
	assert_int_equal(err.detail, OAB_D_PASSPHRASE_NEEDED);
	assert_null(strstr(err.msg, "--"));
	assert_non_null(strstr(err.msg, "p256-enc.key"));

	/* the callback gives it (into the library's buffer), or declines */
	{
		struct ask a = {PASSPHRASE, 0, 0};

		spec.get_secret = ask_secret;
		spec.secret_arg = &a;
		assert_int_equal(oab_signer_load(&spec, &s, &err), 0);
		assert_int_equal(EVP_PKEY_eq(s.key, F.key[K_P256]), 1);
		oab_signer_release(&s);
		assert_int_equal(a.calls, 1);
		assert_int_equal(a.kind, OAB_SECRET_PASSPHRASE);
		a.give = NULL;
		expect_load_fail(&spec, OAB_E_KEY, "no passphrase given", &err);
		assert_int_equal(err.detail, OAB_D_PASSPHRASE_NEEDED);
		a.give = "wrong-guess-42";
		expect_load_fail(&spec, OAB_E_KEY, "wrong passphrase", &err);
		assert_null(strstr(err.msg, "wrong-guess-42"));
		spec.get_secret = NULL;
		spec.secret_arg = NULL;
	}

	/* env: */
	assert_int_equal(setenv(PASS_ENV, PASSPHRASE, 1), 0);
	spec.pass = "env:" PASS_ENV;
	assert_int_equal(oab_signer_load(&spec, &s, &err), 0);
	assert_int_equal(EVP_PKEY_eq(s.key, F.key[K_P256]), 1);
	oab_signer_release(&s);

	/* file: (trailing newline ignored) */
	assert_int_equal(tl_write_file(passfile, PASSPHRASE "\n", strlen(PASSPHRASE) + 1), 0);
	snprintf(src, sizeof(src), "file:%s", passfile);
	spec.pass = src;
	assert_int_equal(oab_signer_load(&spec, &s, &err), 0);
	oab_signer_release(&s);

	/* fd: a pipe holding exactly one line - the key must be decrypted
	 * with a single read of the secret */
	{
		int pfd[2];

		assert_int_equal(pipe(pfd), 0);
		assert_int_equal(write(pfd[1], PASSPHRASE "\n", strlen(PASSPHRASE) + 1),
				 (ssize_t)strlen(PASSPHRASE) + 1);
		close(pfd[1]);
		snprintf(src, sizeof(src), "fd:%d", pfd[0]);
		spec.pass = src;
		oab_err_clear(&err);
		if (oab_signer_load(&spec, &s, &err) != 0)
			print_error("fd: %s\n", err.msg);
		assert_int_equal(err.code, OAB_OK);
		assert_int_equal(EVP_PKEY_eq(s.key, F.key[K_P256]), 1);
		oab_signer_release(&s);
		close(pfd[0]);
	}

	/* wrong passphrase: OAB_E_KEY, and the passphrase is not echoed */
	assert_int_equal(setenv(PASS_ENV, "wrong-guess-42", 1), 0);
	spec.pass = "env:" PASS_ENV;
	expect_load_fail(&spec, OAB_E_KEY, "passphrase", &err);
	assert_null(strstr(err.msg, "wrong-guess-42"));
	assert_null(strstr(err.msg, PASSPHRASE));

	/* a pass source that cannot be read */
	unsetenv(PASS_ENV);
	expect_load_fail(&spec, OAB_E_USAGE, PASS_ENV, &err);
	/* a literal passphrase is never accepted */
	spec.pass = "pass:" PASSPHRASE;
	expect_load_fail(&spec, OAB_E_USAGE, "literal", &err);
	assert_null(strstr(err.msg, PASSPHRASE));

	/* an unencrypted key ignores the pass source */
	spec = (struct oab_signer_spec){.key = F.key_path[K_P384], .cert = F.cert_path[K_P384],
					.pass = "env:OAB_UNIT_UNSET_VARIABLE"};
	assert_int_equal(oab_signer_load(&spec, &s, &err), 0);
	oab_signer_release(&s);
	free(passfile);
}

/* ---- the library never talks to people --------------------------------------- */

/* Failing key, passphrase, PIN and token calls write nothing to standard
 * output or standard error (fds 1 and 2 go to a file meanwhile): the
 * library returns every failure in struct oab_err, prompts nobody and
 * leaves the process's descriptors alone. */
static void test_library_silent(void **state)
{
	struct oab_signer_spec spec = {.key = F.enc_key_path, .cert = F.cert_path[K_P256]};
	struct ask a = {NULL, 0, 0};
	struct oab_err err = {0};
	char *log = tl_path(F.dir, "silent.log");
	int out = open(log, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int saved1 = dup(1), saved2 = dup(2);
	struct stat st;

	(void)state;
	assert_true(out >= 0 && saved1 >= 0 && saved2 >= 0);
	fflush(stdout);
	fflush(stderr);
	assert_int_equal(dup2(out, 1), 1);
	assert_int_equal(dup2(out, 2), 2);
	unsetenv(PASS_ENV);
	expect_load_fail(&spec, OAB_E_KEY, "encrypted", &err); /* no pass, no callback */
	spec.get_secret = ask_secret;
	spec.secret_arg = &a;
	expect_load_fail(&spec, OAB_E_KEY, "no passphrase", &err); /* callback declines */
	spec.get_secret = NULL;
	assert_int_equal(setenv(PASS_ENV, "wrong-guess-42", 1), 0);
	spec.pass = "env:" PASS_ENV;
	expect_load_fail(&spec, OAB_E_KEY, "wrong passphrase", &err);
	spec.pass = "fd:987";
	expect_load_fail(&spec, OAB_E_IO, "fd:987", &err);
	assert_int_equal(err.detail, OAB_D_SECRET_SOURCE);
	/* token keys: no PIN; a PIN in the URI; a module that cannot load */
	spec = (struct oab_signer_spec){.key = "pkcs11:token=none;object=k;type=private",
					.cert = F.cert_path[K_P256]};
	expect_load_fail(&spec, OAB_E_KEY, "needs a PIN", &err);
	assert_int_equal(err.detail, OAB_D_PIN_NEEDED);
	assert_null(strstr(err.msg, "--"));
	spec.get_secret = ask_secret;
	spec.secret_arg = &a;
	a.calls = 0;
	expect_load_fail(&spec, OAB_E_KEY, "no PIN given", &err);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.kind, OAB_SECRET_PIN);
	spec = (struct oab_signer_spec){.key = "pkcs11:token=none;object=k;pin-value=1234",
					.cert = F.cert_path[K_P256], .pin = "env:" PASS_ENV};
	expect_load_fail(&spec, OAB_E_USAGE, "pin-value", &err);
	assert_int_equal(err.detail, OAB_D_PIN_IN_URI);
	assert_null(strstr(err.msg, "1234"));
	spec = (struct oab_signer_spec){.key = "pkcs11:token=none;object=k;type=private",
					.cert = F.cert_path[K_P256], .pin = "env:" PASS_ENV,
					.module = "/nonexistent/pkcs11-module.so"};
	expect_load_fail(&spec, OAB_E_KEY, "could not be loaded", &err);
	unsetenv(PASS_ENV);
	fflush(stdout);
	fflush(stderr);
	assert_int_equal(dup2(saved1, 1), 1);
	assert_int_equal(dup2(saved2, 2), 2);
	close(saved1);
	close(saved2);
	assert_int_equal(fstat(out, &st), 0);
	if (st.st_size != 0) {
		char buf[512] = "";

		assert_true(pread(out, buf, sizeof(buf) - 1, 0) >= 0);
		print_error("the library wrote: %s\n", buf);
	}
	assert_int_equal(st.st_size, 0);
	close(out);
	unlink(log);
	free(log);
}

/* ---- key helpers ---------------------------------------------------------------- */

static void test_key_describe_and_id(void **state)
{
	static const struct {
		int k;
		const char *want;
	} cases[] = {{K_P256, "EC P-256"}, {K_P384, "EC P-384"}, {K_RSA, "RSA-3072"},
		     {K_ED, "Ed25519"}, {K_RSA1024, "RSA-1024"}, {K_K256, "EC secp256k1"}};
	char buf[64], kid[65], kid2[65];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		oab_key_describe(F.key[cases[i].k], buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
	}
	/* key id: lowercase hex SHA-256 of the DER SubjectPublicKeyInfo */
	{
		unsigned char *spki = NULL, md[32];
		int n = i2d_PUBKEY(F.key[K_P256], &spki);
		char want[65];

		assert_true(n > 0);
		tl_sha256(spki, (size_t)n, md);
		OPENSSL_free(spki);
		oab_hex(md, 32, want);
		assert_int_equal(oab_key_id(F.key[K_P256], kid), 0);
		assert_string_equal(kid, want);
	}
	/* same for the public half taken from the certificate */
	assert_int_equal(oab_key_id(X509_get0_pubkey(F.cert[K_P256]), kid2), 0);
	assert_string_equal(kid, kid2);
	assert_int_equal(oab_key_id(F.key[K_P256B], kid2), 0);
	assert_string_not_equal(kid, kid2);
}

static void test_load_certs(void **state)
{
	struct oab_err err = {0};
	STACK_OF(X509) *sk = NULL;
	char *two = tl_path(F.dir, "two.pem");
	char *missing = tl_path(F.dir, "none.pem");

	(void)state;
	assert_int_equal(tl_write_certs(two, F.cert[K_P256], F.cert[K_RSA], NULL), 0);
	assert_int_equal(oab_load_certs(two, &sk, &err), 0);
	assert_int_equal(sk_X509_num(sk), 2);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 0), F.cert[K_P256]), 0);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 1), F.cert[K_RSA]), 0);
	sk_X509_pop_free(sk, X509_free);
	assert_int_equal(oab_load_certs(F.key_path[K_P256], &sk, &err), -1);
	assert_int_equal(err.code, OAB_E_KEY);
	assert_null(sk);
	assert_int_equal(oab_load_certs(missing, &sk, &err), -1);
	assert_int_equal(err.code, OAB_E_IO);
	free(two);
	free(missing);
}

/* ---- oab_cms_parse ----------------------------------------------------------- */

static void expect_parse_fail(const unsigned char *der, size_t len, const char *needle)
{
	struct oab_err err = {0};
	CMS_ContentInfo *cms = oab_cms_parse(der, len, &err);

	if (cms)
		CMS_ContentInfo_free(cms);
	assert_null(cms);
	assert_int_equal(err.code, OAB_E_REJECTED);
	if (!strstr(err.msg, needle))
		print_error("'%s' lacks '%s'\n", err.msg, needle);
	assert_non_null(strstr(err.msg, needle));
	assert_non_null(strstr(err.msg, "manifest.sig"));
	assert_int_equal(err.detail, OAB_D_SIGNATURE);
	assert_string_equal(err.member, "manifest.sig");
}

static void test_parse_rejects(void **state)
{
	int k = K_P256;
	unsigned char *der = NULL, *buf;
	size_t len = 0;
	struct oab_err err = {0};
	CMS_ContentInfo *cms;

	(void)state;
	sign_with(&k, 1, &der, &len);
	cms = oab_cms_parse(der, len, &err);
	assert_non_null(cms);
	CMS_ContentInfo_free(cms);

	/* garbage, empty, truncated */
	expect_parse_fail((const unsigned char *)"this is not DER at all", 22, "not a DER CMS");
	expect_parse_fail(der, 0, "not a DER CMS");
	expect_parse_fail(der, len - 1, "not a DER CMS");
	expect_parse_fail(der, len / 2, "not a DER CMS");

	/* trailing bytes: up to OAB_SIG_PAD_MAX - 1 zero bytes are padding
	 * (build aligns the members with them); anything else is rejected */
	buf = calloc(1, len + OAB_SIG_PAD_MAX + 1);
	assert_non_null(buf);
	memcpy(buf, der, len);
	for (size_t pad = 1; pad < OAB_SIG_PAD_MAX; pad = pad * 3 + 1) {
		cms = oab_cms_parse(buf, len + pad, &err);
		assert_non_null(cms);
		CMS_ContentInfo_free(cms);
	}
	cms = oab_cms_parse(buf, len + OAB_SIG_PAD_MAX - 1, &err);
	assert_non_null(cms);
	CMS_ContentInfo_free(cms);
	expect_parse_fail(buf, len + OAB_SIG_PAD_MAX, "4096 trailing bytes");
	memcpy(buf + len, "\0\0x", 3);
	expect_parse_fail(buf, len + 3, "3 trailing bytes after the CMS structure (only up to 4095 zero bytes");
	buf[len] = 1;
	expect_parse_fail(buf, len + 1, "1 trailing bytes");
	free(buf);

	/* too large */
	buf = calloc(1, OAB_MAX_SIG_BYTES + 1);
	assert_non_null(buf);
	memcpy(buf, der, len);
	expect_parse_fail(buf, OAB_MAX_SIG_BYTES + 1, "larger than");
	free(buf);
	free(der);

	/* embedded content (not detached) */
	{
		BIO *in = BIO_new_mem_buf(g_msg, (int)sizeof(g_msg) - 1);
		CMS_ContentInfo *att = CMS_sign(F.cert[K_P256], F.key[K_P256], NULL, in, CMS_BINARY);
		unsigned char *p = NULL;
		int n;

		assert_non_null(att);
		n = i2d_CMS_ContentInfo(att, &p);
		assert_true(n > 0);
		expect_parse_fail(p, (size_t)n, "embedded content");
		OPENSSL_free(p);
		CMS_ContentInfo_free(att);
		BIO_free(in);
	}
	/* a CMS that is not SignedData */
	{
		BIO *in = BIO_new_mem_buf(g_msg, (int)sizeof(g_msg) - 1);
		CMS_ContentInfo *data = CMS_data_create(in, CMS_BINARY);
		unsigned char *p = NULL;
		int n;

		assert_non_null(data);
		n = i2d_CMS_ContentInfo(data, &p);
		assert_true(n > 0);
		expect_parse_fail(p, (size_t)n, "not a CMS SignedData");
		OPENSSL_free(p);
		CMS_ContentInfo_free(data);
		BIO_free(in);
	}
	/* detached, but over something other than id-data */
	{
		BIO *in = BIO_new_mem_buf(g_msg, (int)sizeof(g_msg) - 1);
		CMS_ContentInfo *c = CMS_sign(NULL, NULL, NULL, NULL,
					      CMS_PARTIAL | CMS_DETACHED | CMS_BINARY);
		unsigned char *p = NULL;
		int n;

		assert_non_null(c);
		assert_int_equal(CMS_set1_eContentType(c, OBJ_nid2obj(NID_id_smime_ct_TSTInfo)), 1);
		assert_non_null(CMS_add1_signer(c, F.cert[K_P256], F.key[K_P256], EVP_sha256(),
						CMS_BINARY));
		assert_int_equal(CMS_final(c, in, NULL, CMS_BINARY | CMS_DETACHED), 1);
		n = i2d_CMS_ContentInfo(c, &p);
		assert_true(n > 0);
		expect_parse_fail(p, (size_t)n, "not id-data");
		OPENSSL_free(p);
		CMS_ContentInfo_free(c);
		BIO_free(in);
	}
}

/* No signers: oab_cms_sign refuses, and a SignedData without SignerInfos
 * (made directly) is refused by the parser, by oab_cms_check (the path of
 * attach-signature's PEM input) and by evaluate. */
static void test_no_signers(void **state)
{
	unsigned char *der = NULL, *p = NULL;
	size_t len = 0;
	struct oab_err err = {0};
	struct oab_report *rep;
	struct oab_keyids ids;
	int k = K_P256, n;
	struct oab_trust *t = trust_pinning(&k, 1);
	CMS_ContentInfo *empty;

	(void)state;
	assert_int_equal(oab_cms_sign(g_msg, sizeof(g_msg) - 1, NULL, 0, NULL, &der, &len, &err), -1);
	assert_null(der);
	assert_int_not_equal(err.code, OAB_OK);
	assert_int_equal(ERR_peek_error(), 0);

	empty = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_DETACHED | CMS_BINARY);
	assert_non_null(empty);
	n = i2d_CMS_ContentInfo(empty, &p);
	assert_true(n > 0);
	expect_parse_fail(p, (size_t)n, "has no signers");

	oab_err_clear(&err);
	assert_int_equal(oab_cms_check(empty, g_msg, sizeof(g_msg) - 1, &ids, &err), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	assert_non_null(strstr(err.msg, "has no signers"));
	assert_null(ids.id);

	rep = oab_report_new();
	oab_err_clear(&err);
	assert_int_equal(oab_trust_evaluate(t, empty, g_msg, sizeof(g_msg) - 1, time(NULL), 1, 0, NULL, rep,
					    &err),
			 -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	assert_non_null(strstr(err.msg, "no signers"));
	assert_int_equal(rep->trusted_keys, 0);
	assert_int_equal(rep->n_checks, 1);
	assert_int_equal(rep->checks[0].ok, 0);
	oab_report_free(rep);
	CMS_ContentInfo_free(empty);
	OPENSSL_free(p);
	oab_trust_free(t);
}

/* ---- one key, one id; algorithm policy; limits; DER ------------------------ */

/* k re-encoded through its SubjectPublicKeyInfo with the EC point format
 * or parameter encoding changed (OpenSSL keeps them from the DER). */
static EVP_PKEY *reencoded(EVP_PKEY *k, const char *param, const char *value, int *differs)
{
	EVP_PKEY *d = EVP_PKEY_dup(k), *out;
	unsigned char *a = NULL, *b = NULL;
	const unsigned char *p;
	int na = i2d_PUBKEY(k, &a), nb;

	assert_non_null(d);
	assert_int_equal(EVP_PKEY_set_utf8_string_param(d, param, value), 1);
	nb = i2d_PUBKEY(d, &b);
	assert_true(na > 0 && nb > 0);
	*differs = na != nb || memcmp(a, b, (size_t)na) != 0;
	p = b;
	out = d2i_PUBKEY(NULL, &p, nb);
	assert_non_null(out);
	OPENSSL_free(a);
	OPENSSL_free(b);
	EVP_PKEY_free(d);
	return out;
}

static void test_key_id_canonical(void **state)
{
	static const struct {
		const char *param, *value;
	} enc[] = {{OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed"},
		   {OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "hybrid"}};
	char kid[65], kid2[65], why[160];
	int differs;

	(void)state;
	for (int k = K_P256; k <= K_P384; k++) {
		assert_int_equal(oab_key_id(F.key[k], kid), 0);
		for (size_t i = 0; i < sizeof(enc) / sizeof(enc[0]); i++) {
			EVP_PKEY *e = reencoded(F.key[k], enc[i].param, enc[i].value, &differs);

			assert_true(differs); /* a different SPKI ... */
			assert_int_equal(EVP_PKEY_eq(e, F.key[k]), 1);
			assert_int_equal(oab_key_id(e, kid2), 0);
			assert_string_equal(kid, kid2); /* ... the same key id */
			assert_int_equal(oab_key_policy(e, 0, 1, why, sizeof(why)), 0);
			EVP_PKEY_free(e);
		}
		/* explicit curve parameters: no id, refused by the policy */
		{
			EVP_PKEY *e = reencoded(F.key[k], OSSL_PKEY_PARAM_EC_ENCODING, "explicit", &differs);

			assert_true(differs);
			assert_int_equal(oab_key_id(e, kid2), -1);
			assert_int_equal(oab_key_policy(e, 1, 0, why, sizeof(why)), -1);
			assert_non_null(strstr(why, "explicit curve parameters"));
			EVP_PKEY_free(e);
		}
	}
	/* an RSA key under the RSASSA-PSS OID has the rsaEncryption key's id */
	{
		BIGNUM *n = NULL, *e = NULL;
		OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
		OSSL_PARAM *prm;
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
		EVP_PKEY *pss = NULL;

		assert_true(EVP_PKEY_get_bn_param(F.key[K_RSA], OSSL_PKEY_PARAM_RSA_N, &n) &&
			    EVP_PKEY_get_bn_param(F.key[K_RSA], OSSL_PKEY_PARAM_RSA_E, &e));
		assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
			    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e));
		prm = OSSL_PARAM_BLD_to_param(bld);
		assert_true(prm && ctx && EVP_PKEY_fromdata_init(ctx) > 0 &&
			    EVP_PKEY_fromdata(ctx, &pss, EVP_PKEY_PUBLIC_KEY, prm) > 0);
		assert_int_equal(EVP_PKEY_get_base_id(pss), EVP_PKEY_RSA_PSS);
		assert_int_equal(oab_key_id(F.key[K_RSA], kid), 0);
		assert_int_equal(oab_key_id(pss, kid2), 0);
		assert_string_equal(kid, kid2);
		EVP_PKEY_free(pss);
		EVP_PKEY_CTX_free(ctx);
		OSSL_PARAM_free(prm);
		OSSL_PARAM_BLD_free(bld);
		BN_free(n);
		BN_free(e);
	}
	assert_int_equal(ERR_peek_error(), 0);
}

struct enc {
	unsigned char *p;
	int n;
};

static int enc_cmp(const void *a, const void *b)
{
	const struct enc *x = a, *y = b;
	int c = memcmp(x->p, y->p, (size_t)(x->n < y->n ? x->n : y->n));

	return c ? c : x->n - y->n;
}

/* Sign si's signed attributes again by hand, as another CMS tool would
 * (OpenSSL refuses to sign attributes it considers wrong): their DER SET
 * OF (sorted encodings) signed with key and SHA-256. */
static void resign_attrs(CMS_SignerInfo *si, EVP_PKEY *key)
{
	int n = CMS_signed_get_attr_count(si);
	struct enc *e = calloc((size_t)n, sizeof(*e));
	unsigned char *set, *q, sig[1024];
	size_t body = 0, hdr, siglen = sizeof(sig);
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();

	assert_true(n > 0 && e && mctx);
	for (int i = 0; i < n; i++) {
		e[i].n = i2d_X509_ATTRIBUTE(CMS_signed_get_attr(si, i), &e[i].p);
		assert_true(e[i].n > 0);
		body += (size_t)e[i].n;
	}
	qsort(e, (size_t)n, sizeof(*e), enc_cmp);
	assert_true(body < 65536);
	hdr = body < 128 ? 2 : body < 256 ? 3 : 4;
	set = q = malloc(hdr + body);
	assert_non_null(set);
	*q++ = 0x31;
	if (hdr == 2)
		*q++ = (unsigned char)body;
	else if (hdr == 3)
		*q++ = 0x81, *q++ = (unsigned char)body;
	else
		*q++ = 0x82, *q++ = (unsigned char)(body >> 8), *q++ = (unsigned char)body;
	for (int i = 0; i < n; i++) {
		memcpy(q, e[i].p, (size_t)e[i].n);
		q += e[i].n;
		OPENSSL_free(e[i].p);
	}
	assert_int_equal(EVP_DigestSignInit(mctx, NULL, EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(mctx, sig, &siglen, set, hdr + body), 1);
	assert_int_equal(ASN1_STRING_set(CMS_SignerInfo_get0_signature(si), sig, (int)siglen), 1);
	EVP_MD_CTX_free(mctx);
	free(set);
	free(e);
}

/* A detached SignedData over g_msg made with OpenSSL directly: n
 * SignerInfos by key k with digest md (the first carrying the
 * certificate); with ct, each signed contentType is ct instead. */
static unsigned char *raw_cms(int k, const EVP_MD *md, int n, int ct, size_t *len)
{
	BIO *in = BIO_new_mem_buf(g_msg, (int)sizeof(g_msg) - 1);
	CMS_ContentInfo *c = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_DETACHED | CMS_BINARY);
	unsigned char *p = NULL, *out;
	int l;

	assert_non_null(in);
	assert_non_null(c);
	for (int i = 0; i < n; i++)
		assert_non_null(CMS_add1_signer(c, F.cert[k], F.key[k], md,
						CMS_BINARY | (i ? CMS_NOCERTS : 0)));
	assert_int_equal(CMS_final(c, in, NULL, CMS_BINARY | CMS_DETACHED), 1);
	for (int i = 0; ct != NID_undef && i < n; i++) {
		CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(c), i);
		int at = CMS_signed_get_attr_by_NID(si, NID_pkcs9_contentType, -1);

		assert_true(at >= 0);
		X509_ATTRIBUTE_free(CMS_signed_delete_attr(si, at));
		assert_int_equal(CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT,
							     OBJ_nid2obj(ct), -1), 1);
		resign_attrs(si, F.key[k]);
	}
	l = i2d_CMS_ContentInfo(c, &p);
	assert_true(l > 0);
	out = malloc((size_t)l);
	assert_non_null(out);
	memcpy(out, p, (size_t)l);
	*len = (size_t)l;
	OPENSSL_free(p);
	CMS_ContentInfo_free(c);
	BIO_free(in);
	return out;
}

/* Evaluate der pinned to key k; expect rc, and for a rejection exit class
 * 1 with needle in the message. */
static void expect_eval(const unsigned char *der, size_t len, int k, int allow_weak, int want,
			const char *needle)
{
	struct oab_trust *t = trust_pinning(&k, 1);
	struct oab_err err = {0};
	CMS_ContentInfo *cms = oab_cms_parse(der, len, &err);
	struct oab_report *rep = oab_report_new();
	int rc;

	assert_non_null(cms);
	assert_non_null(rep);
	rc = oab_trust_evaluate(t, cms, g_msg, sizeof(g_msg) - 1, time(NULL), 1, allow_weak, NULL, rep, &err);
	if (rc != want || (needle && !strstr(err.msg, needle)))
		print_error("rc %d, '%s' (wanted %d, '%s')\n", rc, err.msg, want, needle ? needle : "");
	assert_int_equal(rc, want);
	if (want < 0) {
		assert_int_equal(err.code, OAB_E_REJECTED);
		assert_non_null(strstr(err.msg, needle));
		assert_int_equal(rep->trusted_keys, 0);
	}
	assert_int_equal(ERR_peek_error(), 0);
	oab_report_free(rep);
	CMS_ContentInfo_free(cms);
	oab_trust_free(t);
}

static void test_algorithm_policy(void **state)
{
	unsigned char *der;
	size_t len;

	/* each case judged strict (allow_weak 0) and relaxed (1): NULL
	 * means accepted, else the refusal's text */
	static const struct {
		int k, ct;
		const char *md, *strict, *relaxed;
	} cases[] = {
		{K_P256, NID_undef, "SHA384", NULL, NULL},
		{K_P256, NID_undef, "SHA1", "digest SHA-1 is weak", NULL},
		{K_RSA, NID_undef, "MD5", "digest MD5 is refused", "digest MD5 is refused"},
		{K_RSA1024, NID_undef, "SHA256", "RSA key of 1024 bits is weak", NULL},
		{K_K256, NID_undef, "SHA256", "EC curve 'secp256k1' is not accepted",
		 "EC curve 'secp256k1' is not accepted"},
		/* attributes signed again by hand verify (the helper is sound) */
		{K_P256, NID_pkcs7_data, "SHA256", NULL, NULL},
		/* RFC 5652 11.1: a signed contentType other than the eContentType */
		{K_P256, NID_id_smime_ct_TSTInfo, "SHA256", "signed contentType 1.2.840.113549.1.9.16.1.4 differs",
		 "signed contentType 1.2.840.113549.1.9.16.1.4 differs"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		der = raw_cms(cases[i].k, EVP_get_digestbyname(cases[i].md), 1, cases[i].ct, &len);
		expect_eval(der, len, cases[i].k, 0, cases[i].strict ? -1 : 0, cases[i].strict);
		expect_eval(der, len, cases[i].k, 1, cases[i].relaxed ? -1 : 0, cases[i].relaxed);
		free(der);
	}
	/* an unknown digest OID (sha256's last arc changed, everywhere): a
	 * rejection (class 1), not an internal error */
	{
		static const unsigned char sha256_oid[] = {0x60, 0x86, 0x48, 0x01, 0x65,
							   0x03, 0x04, 0x02, 0x01};
		int patched = 0;

		der = raw_cms(K_P256, EVP_sha256(), 1, NID_undef, &len);
		for (size_t i = 0; i + sizeof(sha256_oid) <= len; i++)
			if (memcmp(der + i, sha256_oid, sizeof(sha256_oid)) == 0) {
				der[i + sizeof(sha256_oid) - 1] = 0x7f;
				patched++;
			}
		assert_true(patched >= 2);
		expect_eval(der, len, K_P256, 1, -1, "unsupported digest algorithm 2.16.840.1.101.3.4.2.127");
		free(der);
	}
}

static void test_parse_limits(void **state)
{
	unsigned char *der, *p = NULL;
	size_t len;
	struct oab_err err = {0};
	struct oab_keyids ids;
	CMS_ContentInfo *cms;
	int n;

	(void)state;
	/* SignerInfos: 16 parse, 17 do not (nor pass oab_cms_check) */
	der = raw_cms(K_P256, EVP_sha256(), OAB_MAX_SIGNERS, NID_undef, &len);
	cms = oab_cms_parse(der, len, &err);
	assert_non_null(cms);
	assert_int_equal(oab_cms_check(cms, g_msg, sizeof(g_msg) - 1, &ids, &err), 0);
	assert_int_equal(ids.n, OAB_MAX_SIGNERS);
	free(ids.id);
	/* one more SignerInfo on the parsed structure */
	assert_non_null(CMS_add1_signer(cms, F.cert[K_P256], F.key[K_P256], EVP_sha256(),
					CMS_BINARY | CMS_NOCERTS | CMS_REUSE_DIGEST));
	assert_int_equal(oab_cms_check(cms, g_msg, sizeof(g_msg) - 1, &ids, &err), -1);
	assert_non_null(strstr(err.msg, "17 SignerInfos (at most 16 accepted)"));
	n = i2d_CMS_ContentInfo(cms, &p);
	assert_true(n > 0);
	expect_parse_fail(p, (size_t)n, "17 SignerInfos (at most 16 accepted)");
	OPENSSL_free(p);
	p = NULL;
	CMS_ContentInfo_free(cms);
	free(der);

	/* certificates: 32 parse, 33 do not */
	der = raw_cms(K_P256, EVP_sha256(), 1, NID_undef, &len);
	cms = oab_cms_parse(der, len, &err);
	assert_non_null(cms);
	for (int i = 1; i <= OAB_MAX_SIG_CERTS; i++) {
		char cn[32];
		X509 *x;

		snprintf(cn, sizeof(cn), "extra %d", i);
		x = tl_self_signed(F.key[K_P256B], cn, 1000 + i);
		assert_non_null(x);
		assert_int_equal(CMS_add0_cert(cms, x), 1);
		if (i == OAB_MAX_SIG_CERTS - 1 || i == OAB_MAX_SIG_CERTS) {
			CMS_ContentInfo *again;

			n = i2d_CMS_ContentInfo(cms, &p);
			assert_true(n > 0);
			if (i == OAB_MAX_SIG_CERTS) {
				expect_parse_fail(p, (size_t)n, "33 certificates and revocation lists (at most 32");
			} else {
				again = oab_cms_parse(p, (size_t)n, &err);
				assert_non_null(again);
				CMS_ContentInfo_free(again);
			}
			OPENSSL_free(p);
			p = NULL;
		}
	}
	CMS_ContentInfo_free(cms);
	free(der);
}

/* manifest.sig must be DER: the same signature in BER forms is refused. */
static void test_parse_der_only(void **state)
{
	unsigned char *der, *ber;
	size_t len;
	struct oab_err err = {0};
	CMS_ContentInfo *cms;

	(void)state;
	der = raw_cms(K_P256, EVP_sha256(), 1, NID_undef, &len);
	assert_true(len > 260 && der[0] == 0x30 && der[1] == 0x82);
	cms = oab_cms_parse(der, len, &err);
	assert_non_null(cms);
	CMS_ContentInfo_free(cms);
	ber = calloc(1, len + 8);
	assert_non_null(ber);
	/* outer SEQUENCE with an indefinite length, ended by 00 00 */
	ber[0] = 0x30;
	ber[1] = 0x80;
	memcpy(ber + 2, der + 4, len - 4);
	cms = NULL;
	{
		const unsigned char *q = ber;

		/* OpenSSL itself reads it ... */
		cms = d2i_CMS_ContentInfo(NULL, &q, (long)(len - 4 + 4));
		assert_non_null(cms);
		CMS_ContentInfo_free(cms);
	}
	/* ... we do not */
	expect_parse_fail(ber, len - 4 + 4, "not DER");
	/* a long-form length with a leading zero byte */
	ber[0] = 0x30;
	ber[1] = 0x83;
	ber[2] = 0x00;
	memcpy(ber + 3, der + 2, len - 2);
	expect_parse_fail(ber, len + 1, "not DER");
	free(ber);
	free(der);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_p256),
		cmocka_unit_test(test_sign_p384),
		cmocka_unit_test(test_sign_rsa3072),
		cmocka_unit_test(test_rsa_uses_pss),
		cmocka_unit_test(test_two_signers),
		cmocka_unit_test(test_add_signers),
		cmocka_unit_test(test_load_refusals),
		cmocka_unit_test(test_encrypted_key),
		cmocka_unit_test(test_library_silent),
		cmocka_unit_test(test_key_describe_and_id),
		cmocka_unit_test(test_load_certs),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_no_signers),
		cmocka_unit_test(test_key_id_canonical),
		cmocka_unit_test(test_algorithm_policy),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_parse_der_only),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
