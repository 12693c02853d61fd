/* SPDX-License-Identifier: Apache-2.0 */
/* test_trust.c - src/trust.c and src/policy.c: CA anchors (root and
 * intermediate), extendedKeyUsage, validity at `now`, pinned keys,
 * thresholds of distinct keys, describe-only mode, and the policy checks
 * (compatible, security-version, expiry). The PKI is made in code. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "otabundle/otabundle.h"
#include "internal.h"
#include "testlib.h"

#define DAY 86400L

static const unsigned char g_msg[] = "format: 1\nbundle:\n  name: \"trust-test\"\n";

enum {
	ROOT,      /* self-signed CA */
	INTER,     /* CA signed by ROOT */
	LEAF,      /* codeSigning leaf signed by INTER */
	LEAF2,     /* a second codeSigning leaf (distinct key) */
	LEAF_SAME, /* LEAF's key again, in a second certificate */
	LEAF_SRV,  /* serverAuth only */
	LEAF_NOEKU,/* no extendedKeyUsage at all */
	EXPIRED,   /* valid from -30 days to -1 day */
	OTHER,     /* an unrelated self-signed CA */
	ROGUE,     /* codeSigning leaf signed by OTHER */
	INTER_SRV, /* CA signed by ROOT, extendedKeyUsage serverAuth only */
	LEAF_USRV, /* codeSigning leaf signed by INTER_SRV */
	INTER_RSA, /* RSA-1024 CA signed by ROOT */
	LEAF_URSA, /* codeSigning leaf signed by INTER_RSA */
	N
};

static struct {
	char *dir;
	int64_t now; /* when the certificates were made */
	EVP_PKEY *key[N];
	X509 *cert[N];
	char *pem[N]; /* the certificate as a PEM file */
} P;

static const char *const names[N] = {"root", "inter", "leaf", "leaf2", "leaf-same", "leaf-srv",
				     "leaf-noeku", "expired", "other", "rogue", "inter-srv", "leaf-usrv",
				     "inter-rsa", "leaf-ursa"};

static int make_pki(void)
{
	struct tl_cert_opts ca = {.ca = 1, .not_before = -60 * DAY, .not_after = 3650 * DAY};
	struct tl_cert_opts leaf = {.eku = "codeSigning", .not_before = -2 * DAY,
				    .not_after = 365 * DAY};
	struct tl_cert_opts o;

	for (int i = 0; i < N; i++) {
		if (i == LEAF_SAME) {
			P.key[i] = P.key[LEAF];
			EVP_PKEY_up_ref(P.key[i]);
		} else {
			P.key[i] = i == INTER_RSA ? tl_key_rsa(1024)
						  : tl_key_ec(i == ROOT ? "P-384" : "P-256");
		}
		if (!P.key[i])
			return -1;
	}
	o = ca;
	o.cn = "Unit Root CA";
	o.serial = 1;
	P.cert[ROOT] = tl_make_cert(P.key[ROOT], &o, NULL, NULL);
	o.cn = "Unit Release CA";
	o.serial = 2;
	P.cert[INTER] = tl_make_cert(P.key[INTER], &o, P.cert[ROOT], P.key[ROOT]);
	o.cn = "Other Root CA";
	o.serial = 3;
	P.cert[OTHER] = tl_make_cert(P.key[OTHER], &o, NULL, NULL);
	if (!P.cert[ROOT] || !P.cert[INTER] || !P.cert[OTHER])
		return -1;
	for (int i = LEAF; i < N; i++) {
		if (i == OTHER)
			continue;
		if (i == INTER_SRV || i == INTER_RSA) {
			o = ca;
			o.cn = names[i];
			o.serial = 100 + i;
			o.eku = i == INTER_SRV ? "serverAuth" : NULL;
			if (!(P.cert[i] = tl_make_cert(P.key[i], &o, P.cert[ROOT], P.key[ROOT])))
				return -1;
			continue;
		}
		o = leaf;
		o.cn = names[i];
		o.serial = 100 + i;
		if (i == LEAF_SRV)
			o.eku = "serverAuth";
		else if (i == LEAF_NOEKU)
			o.eku = NULL;
		else if (i == EXPIRED) {
			o.not_before = -30 * DAY;
			o.not_after = -1 * DAY;
		}
		{
			int by = i == ROGUE ? OTHER : i == LEAF_USRV ? INTER_SRV
					   : i == LEAF_URSA ? INTER_RSA : INTER;

			P.cert[i] = tl_make_cert(P.key[i], &o, P.cert[by], P.key[by]);
		}
		if (!P.cert[i])
			return -1;
	}
	for (int i = 0; i < N; i++) {
		char file[64];

		snprintf(file, sizeof(file), "%s.pem", names[i]);
		P.pem[i] = tl_path(P.dir, file);
		if (!P.pem[i] || tl_write_certs(P.pem[i], P.cert[i], NULL) < 0)
			return -1;
	}
	return 0;
}

static int setup_fixture(void **state)
{
	(void)state;
	P.now = (int64_t)time(NULL);
	P.dir = tl_mkdtemp("trust");
	if (!P.dir)
		return -1;
	return make_pki();
}

static int group_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < N; i++) {
		EVP_PKEY_free(P.key[i]);
		X509_free(P.cert[i]);
		free(P.pem[i]);
	}
	tl_rm_rf(P.dir);
	free(P.dir);
	memset(&P, 0, sizeof(P));
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

/* ---- helpers ---------------------------------------------------------- */

/* Sign g_msg with the listed signer certificates (their keys), carrying
 * the chain certificates (-1 terminated lists). */
static void sign(const int *who, size_t n, const int *chain, size_t n_chain, unsigned char **der,
		 size_t *len)
{
	struct oab_signer s[4];
	STACK_OF(X509) *sk = sk_X509_new_null();
	struct oab_err err = {0};

	assert_true(n <= 4);
	assert_non_null(sk);
	for (size_t i = 0; i < n; i++)
		s[i] = (struct oab_signer){.key = P.key[who[i]], .cert = P.cert[who[i]],
					   .label = (char *)names[who[i]]};
	for (size_t i = 0; i < n_chain; i++)
		assert_true(sk_X509_push(sk, P.cert[chain[i]]) > 0);
	if (oab_cms_sign(g_msg, sizeof(g_msg) - 1, s, n, n_chain ? sk : NULL, der, len, &err) != 0)
		print_error("signing: %s\n", err.msg);
	assert_int_equal(err.code, OAB_OK);
	sk_X509_free(sk); /* the certificates stay owned by P */
}

static struct oab_trust *trust_ca(const int *anchors, size_t n)
{
	struct oab_trust *t = oab_trust_new();
	struct oab_err err = {0};

	assert_non_null(t);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(oab_trust_add_ca(t, P.pem[anchors[i]], &err), 0);
	assert_int_equal(oab_trust_count(t), n);
	return t;
}

static struct oab_trust *trust_pinned(const int *pins, size_t n)
{
	struct oab_trust *t = oab_trust_new();
	struct oab_err err = {0};

	assert_non_null(t);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(oab_trust_add_pinned(t, P.pem[pins[i]], &err), 0);
	return t;
}

static int evaluate_weak(const unsigned char *der, size_t len, const struct oab_trust *t,
			 int64_t now, unsigned threshold, int allow_weak, struct oab_report **rep,
			 struct oab_err *err)
{
	CMS_ContentInfo *cms = oab_cms_parse(der, len, err);
	int rc;

	assert_non_null(cms);
	*rep = oab_report_new();
	assert_non_null(*rep);
	oab_err_clear(err);
	rc = oab_trust_evaluate(t, cms, g_msg, sizeof(g_msg) - 1, now, threshold, allow_weak, NULL, *rep,
				err);
	CMS_ContentInfo_free(cms);
	/* evaluate never leaves OpenSSL errors behind */
	assert_int_equal(ERR_peek_error(), 0);
	return rc;
}

static int evaluate(const unsigned char *der, size_t len, const struct oab_trust *t, int64_t now,
		    unsigned threshold, struct oab_report **rep, struct oab_err *err)
{
	return evaluate_weak(der, len, t, now, threshold, 0, rep, err);
}

/* The first check with this id or about this subject ("signer 1"). */
static const struct oab_check *check_named(const struct oab_report *r, const char *name)
{
	for (size_t i = 0; i < r->n_checks; i++)
		if (strcmp(r->checks[i].id, name) == 0 ||
		    (r->checks[i].subject && strcmp(r->checks[i].subject, name) == 0))
			return &r->checks[i];
	return NULL;
}

static const struct oab_signer_report *signer_cn(const struct oab_report *r, const char *cn)
{
	char want[80];

	snprintf(want, sizeof(want), "CN=%s,", cn);
	for (size_t i = 0; i < r->n_signers; i++)
		if (r->signers[i].subject && strncmp(r->signers[i].subject, want, strlen(want)) == 0)
			return &r->signers[i];
	return NULL;
}

/* One signer, one trust store: expect trusted (1) or not (0). */
static void expect_single_weak(int signer, const int *chain, size_t n_chain, struct oab_trust *t,
			       int64_t now, int allow_weak, int trusted, const char *note);

static void expect_single(int signer, const int *chain, size_t n_chain, struct oab_trust *t,
			  int64_t now, int trusted, const char *note)
{
	expect_single_weak(signer, chain, n_chain, t, now, 0, trusted, note);
}

/* The same with the algorithm policy relaxed or not. */
static void expect_single_weak(int signer, const int *chain, size_t n_chain, struct oab_trust *t,
			       int64_t now, int allow_weak, int trusted, const char *note)
{
	unsigned char *der = NULL;
	size_t len = 0;
	struct oab_report *rep;
	struct oab_err err = {0};
	const struct oab_check *th;
	int rc;

	sign(&signer, 1, chain, n_chain, &der, &len);
	rc = evaluate_weak(der, len, t, now, 1, allow_weak, &rep, &err);
	if ((rc == 0) != trusted || (note && (!rep->signers[0].note ||
					      !strstr(rep->signers[0].note, note))))
		print_error("%s: rc %d err '%s' note '%s'\n", names[signer], rc, err.msg,
			    rep->signers[0].note ? rep->signers[0].note : "(null)");
	assert_int_equal(rep->n_signers, 1);
	assert_int_equal(rep->signers[0].signature_ok, 1);
	assert_int_equal(rep->signers[0].trusted, trusted);
	assert_int_equal(rep->trusted_keys, trusted ? 1 : 0);
	th = check_named(rep, "threshold");
	assert_non_null(th);
	assert_int_equal(th->ok, trusted);
	if (trusted) {
		assert_int_equal(rc, 0);
		assert_int_equal(err.code, OAB_OK);
		assert_non_null(check_named(rep, "signer 1"));
		assert_int_equal(check_named(rep, "signer 1")->ok, 1);
	} else {
		assert_int_equal(rc, -1);
		assert_int_equal(err.code, OAB_E_REJECTED);
		assert_non_null(strstr(err.msg, "not trusted"));
		if (note)
			assert_non_null(strstr(err.msg, note));
		/* weak (what allow_weak accepts) or not trusted at all */
		if (note)
			assert_int_equal(err.detail, !allow_weak && strstr(note, "is weak")
							     ? OAB_D_WEAK_ALGORITHM : OAB_D_UNTRUSTED);
		assert_string_equal(err.member, "manifest.sig");
	}
	if (note) {
		assert_non_null(rep->signers[0].note);
		assert_non_null(strstr(rep->signers[0].note, note));
	}
	oab_report_free(rep);
	free(der);
}

/* ---- chains ---------------------------------------------------------------- */

static void test_root_anchor_with_carried_intermediate(void **state)
{
	int root = ROOT, inter = INTER;
	struct oab_trust *t = trust_ca(&root, 1);

	(void)state;
	expect_single(LEAF, &inter, 1, t, P.now, 1, "chain validates");
	/* without the intermediate in the signature the chain is incomplete */
	expect_single(LEAF, NULL, 0, t, P.now, 0, "local issuer");
	/* a leaf without extendedKeyUsage is accepted (no restriction) */
	expect_single(LEAF_NOEKU, &inter, 1, t, P.now, 1, NULL);
	oab_trust_free(t);
}

static void test_intermediate_anchor(void **state)
{
	int inter = INTER;
	struct oab_trust *t = trust_ca(&inter, 1);

	(void)state;
	expect_single(LEAF, NULL, 0, t, P.now, 1, "chain validates");
	/* carrying the intermediate again changes nothing */
	expect_single(LEAF, &inter, 1, t, P.now, 1, NULL);
	oab_trust_free(t);
}

static void test_eku_server_auth_refused(void **state)
{
	int root = ROOT, inter = INTER;
	struct oab_trust *t = trust_ca(&root, 1);

	(void)state;
	expect_single(LEAF_SRV, &inter, 1, t, P.now, 0, "codeSigning");
	oab_trust_free(t);
}

/* An extendedKeyUsage on an intermediate (or on the anchor) limits the
 * certificates below it: serverAuth-only does not allow codeSigning. */
static void test_eku_on_intermediate(void **state)
{
	int root = ROOT, isrv = INTER_SRV;
	struct oab_trust *t = trust_ca(&root, 1);

	(void)state;
	expect_single(LEAF_USRV, &isrv, 1, t, P.now, 0,
		      "issuing certificate 'CN=inter-srv,O=otabundle unit' has an extendedKeyUsage without codeSigning");
	oab_trust_free(t);
	t = trust_ca(&isrv, 1);
	expect_single(LEAF_USRV, NULL, 0, t, P.now, 0, "without codeSigning");
	oab_trust_free(t);
	/* pinned, the leaf's own key is trusted without any chain */
	t = trust_pinned((int[]){LEAF_USRV}, 1);
	expect_single(LEAF_USRV, &isrv, 1, t, P.now, 1, "pinned");
	oab_trust_free(t);
}

/* The algorithm policy covers the chain: an RSA-1024 intermediate is
 * refused, unless allow_weak. */
static void test_weak_key_in_chain(void **state)
{
	int root = ROOT, irsa = INTER_RSA;
	struct oab_trust *t = trust_ca(&root, 1);

	(void)state;
	expect_single(LEAF_URSA, &irsa, 1, t, P.now, 0, "RSA key of 1024 bits is weak");
	expect_single_weak(LEAF_URSA, &irsa, 1, t, P.now, 1, 1, "chain validates");
	oab_trust_free(t);
}

static void test_unrelated_ca(void **state)
{
	int root = ROOT, inter = INTER, other = OTHER;
	int carried[] = {INTER, OTHER};
	struct oab_trust *t = trust_ca(&root, 1);

	(void)state;
	expect_single(ROGUE, &inter, 1, t, P.now, 0, "certificate chain not trusted");
	/* a CA carried inside the signature is never an anchor */
	expect_single(ROGUE, carried, 2, t, P.now, 0, "certificate chain not trusted");
	oab_trust_free(t);
	/* and the rogue CA as anchor does not make the real leaf trusted */
	t = trust_ca(&other, 1);
	expect_single(LEAF, &inter, 1, t, P.now, 0, "certificate chain not trusted");
	expect_single(ROGUE, NULL, 0, t, P.now, 1, NULL);
	oab_trust_free(t);
}

static void test_validity_at_now(void **state)
{
	int root = ROOT, inter = INTER;
	struct oab_trust *t = trust_ca(&root, 1);

	(void)state;
	expect_single(EXPIRED, &inter, 1, t, P.now, 0, "expired");
	/* inside its validity window */
	expect_single(EXPIRED, &inter, 1, t, P.now - 10 * DAY, 1, NULL);
	/* before the good leaf's notBefore */
	expect_single(LEAF, &inter, 1, t, P.now - 20 * DAY, 0, "not yet valid");
	/* after everything expired */
	expect_single(LEAF, &inter, 1, t, P.now + 400 * DAY, 0, "expired");
	oab_trust_free(t);
}

/* ---- pinned keys and thresholds --------------------------------------------- */

static void test_threshold_pinned(void **state)
{
	int signers[] = {LEAF, LEAF2};
	struct oab_trust *t = trust_pinned(signers, 2);
	unsigned char *der = NULL;
	size_t len = 0;
	struct oab_report *rep;
	struct oab_err err = {0};

	(void)state;
	assert_int_equal(oab_trust_count(t), 2);
	sign(signers, 2, NULL, 0, &der, &len);
	assert_int_equal(evaluate(der, len, t, P.now, 2, &rep, &err), 0);
	assert_int_equal(rep->trusted_keys, 2);
	assert_int_equal(check_named(rep, "threshold")->ok, 1);
	assert_non_null(strstr(signer_cn(rep, "leaf")->note, "pinned"));
	oab_report_free(rep);
	/* 0 means 1 */
	assert_int_equal(evaluate(der, len, t, P.now, 0, &rep, &err), 0);
	oab_report_free(rep);

	assert_int_equal(evaluate(der, len, t, P.now, 3, &rep, &err), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	assert_non_null(strstr(err.msg, "2 distinct trusted signing keys, 3 required"));
	assert_int_equal(rep->trusted_keys, 2);
	assert_int_equal(check_named(rep, "threshold")->ok, 0);
	oab_report_free(rep);
	oab_trust_free(t);

	/* pinned keys ignore chains and validity: the expired and rogue
	 * certificates count when pinned */
	{
		int pins[] = {EXPIRED, ROGUE};

		t = trust_pinned(pins, 2);
		free(der);
		sign(pins, 2, NULL, 0, &der, &len);
		assert_int_equal(evaluate(der, len, t, P.now, 2, &rep, &err), 0);
		oab_report_free(rep);
		oab_trust_free(t);
	}
	free(der);
}

static void test_threshold_ca(void **state)
{
	int root = ROOT, inter = INTER;
	int two[] = {LEAF, LEAF2}, mixed[] = {LEAF, ROGUE};
	struct oab_trust *t = trust_ca(&root, 1);
	unsigned char *der = NULL;
	size_t len = 0;
	struct oab_report *rep;
	struct oab_err err = {0};

	(void)state;
	sign(two, 2, &inter, 1, &der, &len);
	assert_int_equal(evaluate(der, len, t, P.now, 2, &rep, &err), 0);
	assert_int_equal(rep->trusted_keys, 2);
	oab_report_free(rep);
	assert_int_equal(evaluate(der, len, t, P.now, 3, &rep, &err), -1);
	assert_int_equal(check_named(rep, "threshold")->ok, 0);
	oab_report_free(rep);
	free(der);

	/* a valid but untrusted co-signer does not spoil a trusted one ... */
	sign(mixed, 2, &inter, 1, &der, &len);
	assert_int_equal(evaluate(der, len, t, P.now, 1, &rep, &err), 0);
	assert_int_equal(rep->trusted_keys, 1);
	assert_int_equal(signer_cn(rep, "leaf")->trusted, 1);
	assert_int_equal(signer_cn(rep, "rogue")->trusted, 0);
	assert_int_equal(signer_cn(rep, "rogue")->signature_ok, 1);
	oab_report_free(rep);
	/* ... nor does it count towards a threshold of 2 */
	assert_int_equal(evaluate(der, len, t, P.now, 2, &rep, &err), -1);
	assert_non_null(strstr(err.msg, "1 distinct trusted signing key, 2 required"));
	assert_non_null(strstr(err.msg, "certificate chain not trusted"));
	oab_report_free(rep);
	free(der);
	oab_trust_free(t);
}

/* The same key under two certificates counts once. */
static void test_same_key_counts_once(void **state)
{
	int root = ROOT, inter = INTER, same[] = {LEAF, LEAF_SAME};
	struct oab_trust *t = trust_ca(&root, 1);
	struct oab_trust *tp = trust_pinned(same, 1);
	unsigned char *der = NULL;
	size_t len = 0;
	struct oab_report *rep;
	struct oab_err err = {0};
	int counted = 0, dup = 0;

	(void)state;
	sign(same, 2, &inter, 1, &der, &len);
	for (int pass = 0; pass < 2; pass++) {
		assert_int_equal(evaluate(der, len, pass ? tp : t, P.now, 2, &rep, &err), -1);
		assert_int_equal(err.code, OAB_E_REJECTED);
		assert_int_equal(rep->n_signers, 2);
		assert_int_equal(rep->trusted_keys, 1);
		counted = dup = 0;
		for (size_t i = 0; i < 2; i++) {
			assert_int_equal(rep->signers[i].signature_ok, 1);
			assert_string_equal(rep->signers[0].key_id, rep->signers[1].key_id);
			if (rep->signers[i].trusted == 1)
				counted++;
			else if (rep->signers[i].note && strstr(rep->signers[i].note, "same key"))
				dup++;
		}
		assert_int_equal(counted, 1);
		assert_int_equal(dup, 1);
		assert_int_equal(check_named(rep, "threshold")->ok, 0);
		oab_report_free(rep);
		/* threshold 1 is still met */
		assert_int_equal(evaluate(der, len, pass ? tp : t, P.now, 1, &rep, &err), 0);
		oab_report_free(rep);
	}
	free(der);

	/* The very same signer twice in one SignerInfo set: OpenSSL 3.0's
	 * CMS_add1_signer refuses a certificate that is already present, so
	 * oab_cms_sign fails cleanly there (newer OpenSSL may accept it; then
	 * the key must count once). oab_cms_add_signers (co-signing) adds the
	 * second SignerInfo without the certificate and can always do it. */
	{
		struct oab_signer s = {.key = P.key[LEAF], .cert = P.cert[LEAF], .label = (char *)"leaf"};
		struct oab_signer twice[2] = {s, s};
		CMS_ContentInfo *cms;

		oab_err_clear(&err);
		der = NULL;
		if (oab_cms_sign(g_msg, sizeof(g_msg) - 1, twice, 2, NULL, &der, &len, &err) == 0) {
			assert_int_equal(evaluate(der, len, tp, P.now, 2, &rep, &err), -1);
			assert_int_equal(rep->trusted_keys, 1);
			oab_report_free(rep);
		} else {
			assert_null(der);
			assert_int_equal(err.code, OAB_E_KEY);
			assert_non_null(strstr(err.msg, "leaf"));
			assert_int_equal(ERR_peek_error(), 0);
		}
		free(der);

		sign(same, 1, &inter, 1, &der, &len);
		cms = oab_cms_parse(der, len, &err);
		assert_non_null(cms);
		free(der);
		assert_int_equal(oab_cms_add_signers(cms, &s, 1, NULL, &err), 0);
		assert_int_equal(oab_cms_encode(cms, &der, &len, &err), 0);
		CMS_ContentInfo_free(cms);
		assert_int_equal(evaluate(der, len, t, P.now, 2, &rep, &err), -1);
		assert_int_equal(rep->n_signers, 2);
		assert_int_equal(rep->trusted_keys, 1);
		oab_report_free(rep);
		free(der);
	}
	oab_trust_free(t);
	oab_trust_free(tp);
}

static void test_describe_only_and_empty_trust(void **state)
{
	int inter = INTER, leaf = LEAF;
	unsigned char *der = NULL;
	size_t len = 0;
	struct oab_report *rep;
	struct oab_err err = {0};
	struct oab_trust *empty = oab_trust_new();
	const struct oab_signer_report *sr;
	char kid[65];

	(void)state;
	sign(&leaf, 1, &inter, 1, &der, &len);
	/* trust == NULL: describe, do not judge */
	assert_int_equal(evaluate(der, len, NULL, P.now, 1, &rep, &err), 0);
	assert_int_equal(rep->n_signers, 1);
	sr = &rep->signers[0];
	assert_int_equal(sr->signature_ok, -1);
	assert_int_equal(sr->trusted, -1);
	assert_int_equal(rep->trusted_keys, 0);
	assert_int_equal(rep->n_checks, 0);
	assert_string_equal(sr->subject, "CN=leaf,O=otabundle unit");
	assert_string_equal(sr->issuer, "CN=Unit Release CA,O=otabundle unit");
	assert_string_equal(sr->serial, "66"); /* 100 + LEAF = 102 */
	assert_string_equal(sr->key_type, "EC P-256");
	assert_int_equal(oab_key_id(P.key[LEAF], kid), 0);
	assert_string_equal(sr->key_id, kid);
	assert_true(sr->not_before >= P.now - 2 * DAY - 5 && sr->not_before <= P.now - 2 * DAY + 5);
	assert_true(sr->not_after >= P.now + 365 * DAY - 5 && sr->not_after <= P.now + 365 * DAY + 5);
	assert_true(sr->signing_time >= P.now - 5 && sr->signing_time <= P.now + 600);
	oab_report_free(rep);

	/* an empty trust store trusts nobody */
	assert_int_equal(oab_trust_count(empty), 0);
	assert_int_equal(evaluate(der, len, empty, P.now, 1, &rep, &err), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	assert_non_null(strstr(rep->signers[0].note, "not pinned"));
	oab_report_free(rep);
	oab_trust_free(empty);
	free(der);
}

static void test_trust_loading(void **state)
{
	struct oab_trust *t = oab_trust_new();
	struct oab_err err = {0};
	char *junk = tl_path(P.dir, "junk.pem");
	char *missing = tl_path(P.dir, "missing.pem");
	char *bundle = tl_path(P.dir, "two.pem");

	(void)state;
	assert_int_equal(tl_write_file(junk, "-----BEGIN NOTHING-----\n", 24), 0);
	assert_int_equal(oab_trust_add_ca(t, junk, &err), -1);
	assert_int_equal(err.code, OAB_E_KEY);
	assert_int_equal(strncmp(err.msg, "trust anchor: ", 14), 0);
	assert_int_equal(oab_trust_add_pinned(t, junk, &err), -1);
	assert_int_equal(err.code, OAB_E_KEY);
	assert_non_null(strstr(err.msg, "junk.pem"));
	/* a missing input is a usage error (exit status 2), as for any file
	 * named on a command line */
	assert_int_equal(oab_trust_add_pinned(t, missing, &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
	assert_int_equal(oab_trust_count(t), 0);
	/* every certificate of a file counts */
	assert_int_equal(tl_write_certs(bundle, P.cert[ROOT], P.cert[OTHER], NULL), 0);
	assert_int_equal(oab_trust_add_ca(t, bundle, &err), 0);
	assert_int_equal(oab_trust_count(t), 2);
	assert_int_equal(oab_trust_add_pinned(t, bundle, &err), 0);
	assert_int_equal(oab_trust_count(t), 4);
	oab_trust_free(t);
	assert_int_equal(oab_trust_count(NULL), 0);
	oab_trust_free(NULL);
	free(junk);
	free(missing);
	free(bundle);
}

/* ---- policy ---------------------------------------------------------------- */

static char *compat[] = {(char *)"board-a", (char *)"board-b"};

static struct oab_manifest policy_manifest(void)
{
	struct oab_manifest m;

	memset(&m, 0, sizeof(m));
	m.format = 1;
	m.name = (char *)"demo";
	m.version = (char *)"1.0";
	m.security_version = 17;
	m.compatible = compat;
	m.n_compatible = 2;
	m.has_expires = 1;
	m.expires = INT64_C(1814313600); /* 2027-06-30T00:00:00Z */
	return m;
}

static struct oab_verify_opts policy_opts(const char *compatible, int64_t min_sv)
{
	struct oab_verify_opts o;

	memset(&o, 0, sizeof(o));
	o.compatible = compatible;
	o.min_security_version = min_sv;
	o.now = -1;
	return o;
}

/* Run the policy; returns rc and fills ok flags of the three checks
 * (-1 when the check was not made). */
static int policy(const struct oab_manifest *m, const struct oab_verify_opts *o, int64_t now,
		  int ok[3], struct oab_err *err)
{
	static const char *const checks[3] = {"policy.compatible", "policy.security-version",
					      "policy.expires"};
	struct oab_report *rep = oab_report_new();
	int rc;

	assert_non_null(rep);
	oab_err_clear(err);
	rc = oab_policy_check(m, o, now, rep, err);
	for (int i = 0; i < 3; i++) {
		const struct oab_check *c = check_named(rep, checks[i]);

		ok[i] = c ? c->ok : -1;
		if (c)
			assert_non_null(c->detail);
	}
	oab_report_free(rep);
	return rc;
}

static void test_policy(void **state)
{
	struct oab_manifest m = policy_manifest();
	struct oab_verify_opts o;
	struct oab_err err;
	const int64_t before = INT64_C(1814313600) - 1;
	int ok[3];

	(void)state;
	/* all OK */
	o = policy_opts("board-b", 17);
	assert_int_equal(policy(&m, &o, before, ok, &err), 0);
	assert_int_equal(err.code, OAB_OK);
	assert_int_equal(ok[0], 1);
	assert_int_equal(ok[1], 1);
	assert_int_equal(ok[2], 1);

	/* nothing asked, no expiry: no checks at all */
	o = policy_opts(NULL, -1);
	m.has_expires = 0;
	assert_int_equal(policy(&m, &o, INT64_C(4102444800), ok, &err), 0);
	assert_int_equal(ok[0], -1);
	assert_int_equal(ok[1], -1);
	assert_int_equal(ok[2], -1);
	m.has_expires = 1;

	/* compatible mismatch (and a prefix is not a match) */
	o = policy_opts("board-c", -1);
	assert_int_equal(policy(&m, &o, before, ok, &err), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	assert_non_null(strstr(err.msg, "not compatible with 'board-c'"));
	/* both entries are named, not "board-a, ..." (issue 11, point 15) */
	assert_non_null(strstr(err.msg, "(bundle is for: board-a, board-b)"));
	assert_int_equal(ok[0], 0);
	assert_int_equal(ok[1], -1);
	assert_int_equal(ok[2], 1);
	o = policy_opts("board", -1);
	assert_int_equal(policy(&m, &o, before, ok, &err), -1);
	assert_int_equal(ok[0], 0);

	/* security-version below the minimum; equal is fine */
	o = policy_opts(NULL, 18);
	assert_int_equal(policy(&m, &o, before, ok, &err), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	assert_non_null(strstr(err.msg, "security-version 17 is below the minimum 18"));
	assert_int_equal(ok[1], 0);
	o = policy_opts(NULL, 0);
	assert_int_equal(policy(&m, &o, before, ok, &err), 0);
	assert_int_equal(ok[1], 1);

	/* expired at now (the expiry instant itself is expired) */
	o = policy_opts(NULL, -1);
	assert_int_equal(policy(&m, &o, before + 1, ok, &err), -1);
	assert_int_equal(err.code, OAB_E_REJECTED);
	assert_non_null(strstr(err.msg, "expired at 2027-06-30T00:00:00Z"));
	assert_int_equal(ok[2], 0);
	assert_int_equal(policy(&m, &o, before + 86400 * 365, ok, &err), -1);
	assert_int_equal(ok[2], 0);

	/* several failures: every check is reported, the first one names
	 * the error */
	o = policy_opts("board-z", 99);
	assert_int_equal(policy(&m, &o, before + 10, ok, &err), -1);
	assert_int_equal(ok[0], 0);
	assert_int_equal(ok[1], 0);
	assert_int_equal(ok[2], 0);
	assert_non_null(strstr(err.msg, "board-z"));
}

/* ---- revocation (src/crl.c) ---------------------------------------- */

/* A CRL of issuer signed with key's key, this/next update relative to
 * P.now (next 0: none), listing serial (0: nothing) revoked at rev
 * (relative) for reason (-1: no reason code). */
static X509_CRL *crl(int issuer, int key, long this_up, long next_up, long serial, long rev,
		     int reason)
{
	X509_CRL *c = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();

	assert_non_null(c);
	assert_non_null(t);
	X509_CRL_set_version(c, 1);
	X509_CRL_set_issuer_name(c, X509_get_subject_name(P.cert[issuer]));
	ASN1_TIME_set(t, (time_t)(P.now + this_up));
	X509_CRL_set1_lastUpdate(c, t);
	if (next_up) {
		ASN1_TIME_set(t, (time_t)(P.now + next_up));
		X509_CRL_set1_nextUpdate(c, t);
	}
	if (serial) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *sn = ASN1_INTEGER_new();

		assert_non_null(r);
		assert_non_null(sn);
		ASN1_INTEGER_set(sn, serial);
		X509_REVOKED_set_serialNumber(r, sn);
		ASN1_INTEGER_free(sn);
		ASN1_TIME_set(t, (time_t)(P.now + rev));
		X509_REVOKED_set_revocationDate(r, t);
		if (reason >= 0) {
			ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();

			ASN1_ENUMERATED_set(e, reason);
			X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, e, 0, 0);
			ASN1_ENUMERATED_free(e);
		}
		X509_CRL_add0_revoked(c, r);
	}
	ASN1_TIME_free(t);
	assert_true(X509_CRL_sign(c, P.key[key], EVP_sha256()) > 0);
	return c;
}

/* Judge the path LEAF, INTER, ROOT against the CRLs (NULL-terminated)
 * at P.now + at; returns the reason of a rejection (freed) as 1/0. */
static int judge(int required, long at, struct oab_signer_report *sr, ...)
{
	STACK_OF(X509) *path = sk_X509_new_null();
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	X509_CRL *c;
	va_list ap;
	char *why;

	assert_non_null(path);
	assert_non_null(crls);
	sk_X509_push(path, P.cert[LEAF]);
	sk_X509_push(path, P.cert[INTER]);
	sk_X509_push(path, P.cert[ROOT]);
	va_start(ap, sr);
	while ((c = va_arg(ap, X509_CRL *)))
		sk_X509_CRL_push(crls, c);
	va_end(ap);
	memset(sr, 0, sizeof(*sr));
	sr->crl_next_update = sr->revoked_at = -1;
	why = oab_revocation_check(path, crls, P.now + at, required, sr);
	assert_int_equal(ERR_peek_error(), 0);
	sk_X509_free(path);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	free(why);
	return why != NULL;
}

static void sr_clear(struct oab_signer_report *sr)
{
	free(sr->revocation_note);
	free(sr->crl_issuer);
	free(sr->revoked_reason);
}

static void test_revocation(void **state)
{
	struct oab_signer_report sr;
	long leaf = 100 + LEAF, inter = 2;

	(void)state;
	/* nothing at hand, nothing asked: not checked; asked: rejected */
	assert_int_equal(judge(0, 0, &sr, NULL), 0);
	assert_int_equal(sr.revocation, OAB_REV_NOT_CHECKED);
	sr_clear(&sr);
	assert_int_equal(judge(1, 0, &sr, NULL), 1);
	assert_int_equal(sr.revocation, OAB_REV_NO_CRL);
	assert_non_null(strstr(sr.revocation_note, "for certificate 'CN=leaf"));
	sr_clear(&sr);
	/* current CRLs for both: good, with the earliest nextUpdate */
	assert_int_equal(judge(1, 0, &sr, crl(INTER, INTER, -DAY, 7 * DAY, 0, 0, -1),
			       crl(ROOT, ROOT, -DAY, 3 * DAY, 0, 0, -1), NULL), 0);
	assert_int_equal(sr.revocation, OAB_REV_GOOD);
	assert_int_equal(sr.crl_next_update, P.now + 3 * DAY);
	assert_non_null(strstr(sr.crl_issuer, "CN=Unit Release CA"));
	sr_clear(&sr);
	/* the root's CRL missing: a warning (accepted) unless required */
	assert_int_equal(judge(0, 0, &sr, crl(INTER, INTER, -DAY, 7 * DAY, 0, 0, -1), NULL), 0);
	assert_int_equal(sr.revocation, OAB_REV_NO_CRL);
	assert_non_null(strstr(sr.revocation_note, "from 'CN=Unit Root CA"));
	sr_clear(&sr);
	/* superseded an hour ago: revoked now, good two hours ago */
	assert_int_equal(judge(0, 0, &sr, crl(INTER, INTER, -DAY, 7 * DAY, leaf, -3600,
					      CRL_REASON_SUPERSEDED), NULL), 1);
	assert_int_equal(sr.revocation, OAB_REV_REVOKED);
	assert_string_equal(sr.revoked_reason, "superseded");
	assert_int_equal(sr.revoked_at, P.now - 3600);
	sr_clear(&sr);
	assert_int_equal(judge(1, -7200, &sr, crl(INTER, INTER, -DAY, 7 * DAY, leaf, -3600,
						  CRL_REASON_SUPERSEDED),
			       crl(ROOT, ROOT, -DAY, 3 * DAY, 0, 0, -1), NULL), 0);
	assert_int_equal(sr.revocation, OAB_REV_GOOD);
	sr_clear(&sr);
	/* no reason code: the date decides, like superseded */
	assert_int_equal(judge(0, 0, &sr, crl(INTER, INTER, -DAY, 7 * DAY, leaf, -3600, -1), NULL), 1);
	assert_string_equal(sr.revoked_reason, "unspecified");
	sr_clear(&sr);
	/* keyCompromise: revoked whatever the date */
	assert_int_equal(judge(0, -7200, &sr, crl(INTER, INTER, -DAY, 7 * DAY, leaf, -3600,
						  CRL_REASON_KEY_COMPROMISE), NULL), 1);
	assert_string_equal(sr.revoked_reason, "keyCompromise");
	sr_clear(&sr);
	/* an intermediate revoked by the root */
	assert_int_equal(judge(0, 0, &sr, crl(ROOT, ROOT, -DAY, 7 * DAY, inter, -60,
					      CRL_REASON_CA_COMPROMISE), NULL), 1);
	assert_non_null(strstr(sr.revocation_note, "certificate 'CN=Unit Release CA"));
	sr_clear(&sr);
	/* a CRL under the issuer's name signed by another key is ignored:
	 * its revocation does not count, nor does it count as current */
	assert_int_equal(judge(0, 0, &sr, crl(INTER, LEAF2, -DAY, 7 * DAY, leaf, -3600,
					      CRL_REASON_KEY_COMPROMISE), NULL), 0);
	assert_int_equal(sr.revocation, OAB_REV_NO_CRL);
	sr_clear(&sr);
	/* stale (past nextUpdate), without nextUpdate, not yet issued */
	assert_int_equal(judge(1, 0, &sr, crl(INTER, INTER, -7 * DAY, -DAY, 0, 0, -1), NULL), 1);
	assert_non_null(strstr(sr.revocation_note, "past nextUpdate"));
	sr_clear(&sr);
	assert_int_equal(judge(1, 0, &sr, crl(INTER, INTER, -7 * DAY, 0, 0, 0, -1), NULL), 1);
	assert_int_equal(sr.revocation, OAB_REV_NO_CRL);
	sr_clear(&sr);
	assert_int_equal(judge(1, 0, &sr, crl(INTER, INTER, DAY, 7 * DAY, 0, 0, -1),
			       crl(ROOT, ROOT, -DAY, 3 * DAY, 0, 0, -1), NULL), 1);
	sr_clear(&sr);
}

/* oab_trust_add_crl: PEM CRLs only, at most OAB_MAX_CRLS in all. */
static void test_trust_add_crl(void **state)
{
	struct oab_trust *t = oab_trust_new();
	struct oab_err err = {0};
	char *path = tl_path(P.dir, "many.crl");
	X509_CRL *c = crl(INTER, INTER, -DAY, 7 * DAY, 0, 0, -1);
	FILE *f = fopen(path, "w");

	(void)state;
	assert_non_null(f);
	for (int i = 0; i < 20; i++)
		assert_int_equal(PEM_write_X509_CRL(f, c), 1);
	fclose(f);
	assert_int_equal(oab_trust_add_crl(t, path, &err), 0);
	assert_int_equal(oab_trust_add_crl(t, path, &err), -1);
	assert_int_equal(err.code, OAB_E_USAGE);
	assert_non_null(strstr(err.msg, "more than 32 CRLs"));
	oab_err_clear(&err);
	assert_int_equal(oab_trust_add_crl(t, P.pem[ROOT], &err), -1);
	assert_non_null(strstr(err.msg, "no PEM X509 CRL found"));
	X509_CRL_free(c);
	free(path);
	oab_trust_free(t);
}

/* RFC 3161 tokens (tsverify.c through oab_trust_evaluate): no token, a
 * malformed one, with and without TSA anchors, and which time is used. */
static int ts_eval(const unsigned char *der, size_t len, const struct oab_trust *t,
		   const struct oab_verify_opts *vo, int64_t now, struct oab_report **rep)
{
	struct oab_err err = {0};
	CMS_ContentInfo *cms = oab_cms_parse(der, len, &err);
	int rc;

	assert_non_null(cms);
	*rep = oab_report_new();
	assert_non_null(*rep);
	rc = oab_trust_evaluate(t, cms, g_msg, sizeof(g_msg) - 1, now, 1, 0, vo, *rep, &err);
	CMS_ContentInfo_free(cms);
	assert_int_equal(ERR_peek_error(), 0);
	return rc;
}

static void test_timestamp_tokens(void **state)
{
	int expired = EXPIRED, leaf = LEAF, inter = INTER, root = ROOT;
	static const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01, 0x01}; /* SEQUENCE { 1 } */
	struct oab_trust *t = trust_ca(&root, 1), *tsa = trust_ca(&root, 1);
	struct oab_verify_opts vo = {.tsa_trust = tsa}, given = {.now = 1, .tsa_trust = NULL};
	unsigned char *der = NULL, *der2 = NULL;
	size_t len = 0, len2 = 0;
	struct oab_report *rep;
	struct oab_err err = {0};
	const unsigned char *p;
	CMS_ContentInfo *cms;
	(void)state;

	/* No token: judged at the clock, and an expired signer says so. */
	sign(&expired, 1, &inter, 1, &der, &len);
	assert_int_not_equal(ts_eval(der, len, t, &vo, P.now, &rep), 0);
	assert_string_equal(rep->signers[0].time_source, "clock");
	assert_int_equal(rep->signers[0].validation_time, P.now);
	assert_int_equal(rep->signers[0].has_timestamp, 0);
	assert_int_equal(rep->signers[0].ts_trusted, -1);
	assert_non_null(strstr(rep->signers[0].note, "expired (no timestamp token)"));
	oab_report_free(rep);
	/* a given time is reported as such */
	assert_int_equal(ts_eval(der, len, t, &given, P.now - 10 * DAY, &rep), 0);
	assert_string_equal(rep->signers[0].time_source, "given");
	oab_report_free(rep);
	/* inspect judges no time */
	assert_int_equal(ts_eval(der, len, NULL, NULL, P.now, &rep), 0);
	assert_null(rep->signers[0].time_source);
	assert_int_equal(rep->signers[0].validation_time, -1);
	oab_report_free(rep);
	free(der);

	/* A malformed token on a valid signer: refused with TSA anchors (the
	 * signer is not trusted, naming the token), only reported without. */
	sign(&leaf, 1, &inter, 1, &der, &len);
	p = der;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	assert_non_null(cms);
	assert_int_equal(CMS_unsigned_add1_attr_by_NID(sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0),
						       NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, junk,
						       sizeof(junk)),
			 1);
	assert_int_equal(oab_cms_encode(cms, &der2, &len2, &err), 0);
	CMS_ContentInfo_free(cms);
	assert_int_not_equal(ts_eval(der2, len2, t, &vo, P.now, &rep), 0);
	assert_int_equal(rep->signers[0].signature_ok, 1);
	assert_int_equal(rep->signers[0].trusted, 0);
	assert_int_equal(rep->signers[0].has_timestamp, 1);
	assert_int_equal(rep->signers[0].ts_trusted, 0);
	assert_int_equal(rep->signers[0].ts_time, -1);
	assert_non_null(strstr(rep->signers[0].note, "malformed timestamp token"));
	assert_int_equal(rep->trusted_keys, 0);
	oab_report_free(rep);
	assert_int_equal(ts_eval(der2, len2, t, NULL, P.now, &rep), 0);
	assert_int_equal(rep->signers[0].trusted, 1);
	assert_int_equal(rep->signers[0].has_timestamp, 1);
	assert_int_equal(rep->signers[0].ts_trusted, 0) /* malformed: known bad even unchecked */;
	assert_string_equal(rep->signers[0].time_source, "clock");
	oab_report_free(rep);
	free(der);
	free(der2);
	oab_trust_free(t);
	oab_trust_free(tsa);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_anchor_with_carried_intermediate),
		cmocka_unit_test(test_intermediate_anchor),
		cmocka_unit_test(test_eku_server_auth_refused),
		cmocka_unit_test(test_eku_on_intermediate),
		cmocka_unit_test(test_weak_key_in_chain),
		cmocka_unit_test(test_unrelated_ca),
		cmocka_unit_test(test_validity_at_now),
		cmocka_unit_test(test_threshold_pinned),
		cmocka_unit_test(test_threshold_ca),
		cmocka_unit_test(test_same_key_counts_once),
		cmocka_unit_test(test_describe_only_and_empty_trust),
		cmocka_unit_test(test_trust_loading),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_revocation),
		cmocka_unit_test(test_trust_add_crl),
		cmocka_unit_test(test_timestamp_tokens),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
