/* SPDX-License-Identifier: Apache-2.0 */
/* trust.c - trust anchors (CA certificates, pinned keys), per-signer
 * signature checks, chain validation and threshold counting. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "internal.h"

struct oab_trust {
	STACK_OF(X509) *cas;
	EVP_PKEY **pinned;
	char **pinned_from;
	size_t n_pinned;
	STACK_OF(X509_CRL) *crls; /* --crl: added to each bundle's own */
};

struct oab_trust *oab_trust_new(void)
{
	struct oab_trust *t = calloc(1, sizeof(*t));

	if (t && !(t->cas = sk_X509_new_null())) {
		free(t);
		t = NULL;
	}
	return t;
}

void oab_trust_free(struct oab_trust *t)
{
	if (!t)
		return;
	sk_X509_pop_free(t->cas, X509_free);
	for (size_t i = 0; i < t->n_pinned; i++) {
		EVP_PKEY_free(t->pinned[i]);
		free(t->pinned_from[i]);
	}
	free(t->pinned);
	free(t->pinned_from);
	sk_X509_CRL_pop_free(t->crls, X509_CRL_free);
	free(t);
}

size_t oab_trust_count(const struct oab_trust *t)
{
	return t ? (size_t)sk_X509_num(t->cas) + t->n_pinned : 0;
}

int oab_trust_add_ca(struct oab_trust *t, const char *path, struct oab_err *err)
{
	STACK_OF(X509) *sk;
	X509 *x;

	if (oab_load_certs(path, &sk, err) < 0)
		return oab_err_prefix(err, "trust anchor: ");
	while ((x = sk_X509_shift(sk)))
		if (!sk_X509_push(t->cas, x)) {
			X509_free(x);
			sk_X509_pop_free(sk, X509_free);
			return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		}
	sk_X509_free(sk);
	return 0;
}

int oab_trust_add_crl(struct oab_trust *t, const char *path, struct oab_err *err)
{
	STACK_OF(X509_CRL) *sk;
	int rc;

	if (oab_crls_load(path, &sk, err) < 0)
		return -1;
	rc = oab_crls_append(&t->crls, sk, "CRL files", err);
	sk_X509_CRL_pop_free(sk, X509_CRL_free);
	return rc;
}

static int pin_push(struct oab_trust *t, EVP_PKEY *k, const char *path)
{
	EVP_PKEY **np = realloc(t->pinned, (t->n_pinned + 1) * sizeof(*np));
	char **nf;

	if (!np)
		return -1;
	t->pinned = np;
	nf = realloc(t->pinned_from, (t->n_pinned + 1) * sizeof(*nf));
	if (!nf)
		return -1;
	t->pinned_from = nf;
	t->pinned[t->n_pinned] = k;
	t->pinned_from[t->n_pinned] = strdup(path);
	t->n_pinned++;
	return 0;
}

int oab_trust_pin_key(struct oab_trust *t, EVP_PKEY *k, const char *from)
{
	if (EVP_PKEY_up_ref(k) != 1)
		return -1;
	if (pin_push(t, k, from) < 0) {
		EVP_PKEY_free(k);
		return -1;
	}
	return 0;
}

EVP_PKEY *oab_trust_pinned(const struct oab_trust *t, size_t i, const char **from)
{
	if (!t || i >= t->n_pinned)
		return NULL;
	if (from)
		*from = t->pinned_from[i];
	return t->pinned[i];
}

size_t oab_trust_n_cas(const struct oab_trust *t)
{
	return t && t->cas ? (size_t)sk_X509_num(t->cas) : 0;
}

int oab_trust_add_pinned(struct oab_trust *t, const char *path, struct oab_err *err)
{
	STACK_OF(X509_INFO) *infos;
	char *pem = NULL;
	size_t len = 0;
	int added = 0;
	BIO *b;

	/* Read once (a regular file only: a FIFO would block), parse twice. */
	if (oab_read_file(path, OAB_MAX_SIG_BYTES, &pem, &len, err) < 0)
		return oab_err_prefix(err, "pinned key file: ");
	/* X509_INFO reads certificates; public keys need a second pass. */
	b = BIO_new_mem_buf(pem, (int)len);
	infos = b ? PEM_X509_INFO_read_bio(b, NULL, NULL, NULL) : NULL;
	for (int i = 0; infos && i < sk_X509_INFO_num(infos); i++) {
		X509_INFO *xi = sk_X509_INFO_value(infos, i);

		if (xi->x509) {
			EVP_PKEY *k = X509_get_pubkey(xi->x509);

			if (k && pin_push(t, k, path) == 0)
				added++;
			else
				EVP_PKEY_free(k);
		}
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	ERR_clear_error();
	BIO_free(b);
	if (!added) {
		EVP_PKEY *k;

		b = BIO_new_mem_buf(pem, (int)len);
		while (b && (k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL))) {
			if (pin_push(t, k, path) == 0)
				added++;
			else
				EVP_PKEY_free(k);
		}
		BIO_free(b);
		ERR_clear_error();
	}
	free(pem);
	if (!added)
		return oab_err_set(err, OAB_E_KEY,
				   "pinned key file '%s': holds no PEM certificate or public key", path);
	return 0;
}

/* ---- describing a signer ---------------------------------------------- */

char *oab_name_str(const X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL;
	BUF_MEM *m;

	if (!b)
		return NULL;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		BIO_get_mem_ptr(b, &m);
		out = strndup(m->data, m->length);
	}
	BIO_free(b);
	return out;
}

int64_t oab_asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return (int64_t)timegm(&tm);
}

static int64_t signing_time(CMS_SignerInfo *si)
{
	int idx = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
	X509_ATTRIBUTE *a;
	ASN1_TYPE *t;

	if (idx < 0 || !(a = CMS_signed_get_attr(si, idx)) || !(t = X509_ATTRIBUTE_get0_type(a, 0)))
		return -1;
	if (t->type == V_ASN1_UTCTIME || t->type == V_ASN1_GENERALIZEDTIME)
		return oab_asn1_time((const ASN1_TIME *)t->value.asn1_string);
	return -1;
}

static void describe(struct oab_signer_report *sr, X509 *cert)
{
	char kt[64], kid[65];
	EVP_PKEY *k = X509_get0_pubkey(cert);
	const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
	BIGNUM *bn = serial ? ASN1_INTEGER_to_BN(serial, NULL) : NULL;
	char *hex = bn ? BN_bn2hex(bn) : NULL;

	sr->subject = oab_name_str(X509_get_subject_name(cert));
	sr->issuer = oab_name_str(X509_get_issuer_name(cert));
	sr->serial = hex ? strdup(hex) : NULL;
	OPENSSL_free(hex);
	BN_free(bn);
	sr->not_before = oab_asn1_time(X509_get0_notBefore(cert));
	sr->not_after = oab_asn1_time(X509_get0_notAfter(cert));
	if (k) {
		oab_key_describe(k, kt, sizeof(kt));
		sr->key_type = strdup(kt);
		if (oab_key_id(k, kid) == 0)
			sr->key_id = strdup(kid);
	}
}

/* ---- judging ------------------------------------------------------------ */

/* What path validation leaves to us, on the chain it built (leaf first,
 * anchor last): an extendedKeyUsage anywhere in the chain limits what the
 * certificates below it may do, so each must allow codeSigning (as
 * OpenSSL checks a purpose on CA certificates; anyExtendedKeyUsage does
 * not count); and every key and certificate signature follows the
 * algorithm policy (the anchor's own signature is not used). */
static int cert_digest_ok(int mdnid, int allow_weak)
{
	switch (mdnid) {
	case NID_undef: /* EdDSA: no separate digest */
	case NID_sha224:
	case NID_sha256:
	case NID_sha384:
	case NID_sha512:
	case NID_sha512_224:
	case NID_sha512_256:
	case NID_sha3_224:
	case NID_sha3_256:
	case NID_sha3_384:
	case NID_sha3_512:
		return 1;
	case NID_sha1:
		return allow_weak;
	default:
		return 0;
	}
}

/* *weak: set when the only fault is one that allow_weak accepts. */
static char *chain_policy(STACK_OF(X509) *path, int allow_weak, int *weak)
{
	int n = sk_X509_num(path);
	char why[160], *out = NULL;

	for (int i = 0; i < n; i++) {
		X509 *x = sk_X509_value(path, i);
		char *who = oab_name_str(X509_get_subject_name(x));
		const char *w = who ? who : "?";
		int mdnid = NID_undef, anchor = i == n - 1, r = 0;

		if ((X509_get_extension_flags(x) & EXFLAG_XKUSAGE) &&
		    !(X509_get_extended_key_usage(x) & XKU_CODE_SIGN))
			r = asprintf(&out, "%s certificate '%s' has an extendedKeyUsage without codeSigning",
				     i == 0 ? "signer" : "issuing", w);
		else if (oab_key_policy(X509_get0_pubkey(x), allow_weak, 0, why, sizeof(why)) < 0) {
			char scratch[160];

			*weak = oab_key_policy(X509_get0_pubkey(x), 1, 0, scratch, sizeof(scratch)) == 0;
			r = asprintf(&out, "certificate '%s': %s", w, why);
		} else if (!anchor && (!X509_get_signature_info(x, &mdnid, NULL, NULL, NULL) ||
				     !cert_digest_ok(mdnid, allow_weak))) {
			*weak = mdnid == NID_sha1;
			r = asprintf(&out, "certificate '%s' is signed with %s%s", w,
				     mdnid == NID_undef ? "an unknown algorithm" : OBJ_nid2sn(mdnid),
				     mdnid == NID_sha1 ? ", which is weak" : " (refused)");
		}
		free(who);
		ERR_clear_error();
		if (r < 0)
			return strdup("out of memory");
		if (out)
			return out;
	}
	return NULL;
}

static char *chain_check(const struct oab_trust *t, X509 *leaf, STACK_OF(X509) *untrusted,
			 int64_t now, int allow_weak, int *weak,
			 STACK_OF(X509_CRL) *crls, int check_rev, struct oab_signer_report *sr)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	char *why = NULL;
	uint32_t xku, ku;

	if (!store || !ctx) {
		why = strdup("out of memory");
		goto out;
	}
	for (int i = 0; i < sk_X509_num(t->cas); i++)
		X509_STORE_add_cert(store, sk_X509_value(t->cas, i));
	ERR_clear_error();
	if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
		why = strdup("cannot set up chain validation");
		goto out;
	}
	/* An anchor may be an intermediate; certificates carried in the
	 * signature are only ever untrusted helpers. */
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_X509_STRICT);
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)now);
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);

		if (asprintf(&why, "certificate chain not trusted: %s",
			     X509_verify_cert_error_string(e)) < 0)
			why = NULL;
		goto out;
	}
	xku = X509_get_extended_key_usage(leaf);
	if ((X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) && !(xku & XKU_CODE_SIGN)) {
		why = strdup("signer certificate lacks extendedKeyUsage codeSigning");
		goto out;
	}
	why = chain_policy(X509_STORE_CTX_get0_chain(ctx), allow_weak, weak);
	if (why)
		goto out;
	ku = X509_get_key_usage(leaf);
	if (ku != UINT32_MAX && !(ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION))) {
		why = strdup("signer certificate's keyUsage does not allow digitalSignature");
		goto out;
	}
	/* revocation: our own check on the path built (otabundle(1) REVOCATION) */
	why = oab_revocation_check(X509_STORE_CTX_get0_chain(ctx), crls, now, check_rev, sr);
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return why;
}

static const char *pinned_match(const struct oab_trust *t, EVP_PKEY *k)
{
	for (size_t i = 0; k && i < t->n_pinned; i++)
		if (EVP_PKEY_eq(t->pinned[i], k) == 1)
			return t->pinned_from[i];
	return NULL;
}

/* The time signer sr is judged at: a trusted token's genTime, else now
 * (--now or the clock). A token that vo's TSA anchors refuse makes the
 * signer untrusted: the reason is returned (free it), else NULL. */
static char *signer_time(struct oab_signer_report *sr, CMS_SignerInfo *si, int judged,
			 const struct oab_verify_opts *vo, int64_t now)
{
	struct oab_ts ts;
	const struct oab_trust *tsa = vo ? vo->tsa_trust : NULL;
	int found = oab_ts_judge(si, tsa ? tsa->cas : NULL, now, &ts);

	sr->has_timestamp = found;
	sr->ts_time = found ? ts.time : -1;
	sr->ts_tsa = ts.tsa;
	sr->ts_trusted = found ? ts.trusted : -1;
	if (!judged) /* inspect: the token described, no time used */
		return NULL;
	sr->time_source = vo && vo->now > 0 ? "given" : "clock";
	sr->validation_time = now;
	if (!found || !tsa)
		return NULL;
	if (ts.trusted == 1) {
		sr->time_source = "tsa";
		sr->validation_time = ts.time;
		return NULL;
	}
	return strdup(ts.why);
}

/* why, said with the time it was judged at when that was not now. */
static char *time_note(const struct oab_signer_report *sr, char *why)
{
	char *out = NULL, t[32];
	int n;

	if (strcmp(sr->time_source, "tsa") == 0) {
		oab_time_format(sr->validation_time, t);
		n = asprintf(&out, "%s at the timestamp's genTime %s", why, t);
	} else if (!sr->has_timestamp && strstr(why, "expired")) {
		n = asprintf(&out, "%s (no timestamp token)", why);
	} else {
		return why;
	}
	if (n < 0)
		return why;
	free(why);
	return out;
}

int oab_trust_evaluate(const struct oab_trust *trust, CMS_ContentInfo *cms,
		       const unsigned char *data, size_t len, int64_t now,
		       unsigned threshold, int allow_weak, const struct oab_verify_opts *vo,
		       struct oab_report *rep, struct oab_err *err)
{
	BIO *src = BIO_new_mem_buf(data, (int)len);

	if (!src)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	return oab_trust_evaluate_bio(trust, cms, src, now, threshold, allow_weak, vo, rep, err);
}

int oab_trust_evaluate_bio(const struct oab_trust *trust, CMS_ContentInfo *cms, BIO *src,
			   int64_t now, unsigned threshold, int allow_weak,
			   const struct oab_verify_opts *vo, struct oab_report *rep,
			   struct oab_err *err)
{
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	STACK_OF(X509) *certs = CMS_get1_certs(cms);
	STACK_OF(X509_CRL) *crls = CMS_get1_crls(cms);
	BIO *content = NULL, *chain = NULL;
	int n = sis ? sk_CMS_SignerInfo_num(sis) : 0;
	int bad = 0, refused = 0, rc = -1;
	size_t first = rep->n_signers;
	/* refused only by what allow_weak accepts (OAB_D_WEAK_ALGORITHM) */
	unsigned char weak[OAB_MAX_SIGNERS] = {0};
	char *tsrefused = NULL; /* this signer's token, refused by vo->tsa_trust */

	if (threshold == 0)
		threshold = 1;
	if (n == 0 || n > OAB_MAX_SIGNERS) { /* oab_cms_parse refuses these already */
		oab_report_add_check(rep, 0, "signature", NULL, "%d signers", n);
		if (n == 0)
			oab_err_set(err, OAB_E_REJECTED, "member 'manifest.sig': has no signers");
		else
			oab_err_set(err, OAB_E_REJECTED, "member 'manifest.sig': %d SignerInfos (at most %d accepted)",
				    n, OAB_MAX_SIGNERS);
		oab_err_detail(err, OAB_D_SIGNATURE, "manifest.sig", -1, NULL, NULL);
		goto out;
	}
	CMS_set1_signers_certs(cms, NULL, 0);
	ERR_clear_error();
	if (!crls && !(crls = sk_X509_CRL_new_null())) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	for (int j = 0; trust && trust->crls && j < sk_X509_CRL_num(trust->crls); j++)
		if (X509_CRL_up_ref(sk_X509_CRL_value(trust->crls, j)) != 1 ||
		    !sk_X509_CRL_push(crls, sk_X509_CRL_value(trust->crls, j))) {
			oab_err_set(err, OAB_E_INTERNAL, "out of memory");
			goto out;
		}
	if (trust) {
		if (oab_cms_rsa_budget(cms, err) < 0) {
			oab_report_add_check(rep, 0, "signature", NULL, "%s", err->msg);
			goto out;
		}
		chain = oab_cms_digest_open_bio(cms, src, &content, err);
		src = NULL; /* the chain's now, or freed */
		if (!chain)
			goto out;
	}
	for (int i = 0; i < n; i++) {
		CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, i);
		struct oab_signer_report *sr = oab_report_add_signer(rep);
		X509 *cert = NULL;
		char what[32], why[160];
		const char *pin;
		int ok;

		if (!sr) {
			oab_err_set(err, OAB_E_INTERNAL, "out of memory");
			goto out;
		}
		snprintf(what, sizeof(what), "signer %d", i + 1);
		sr->signing_time = signing_time(si);
		sr->signature_ok = -1;
		sr->trusted = -1;
		CMS_SignerInfo_get0_algs(si, NULL, &cert, NULL, NULL);
		if (!cert) {
			sr->signature_ok = 0;
			sr->trusted = 0;
			sr->note = strdup("signer certificate not included in the signature");
			oab_report_add_check(rep, 0, "signature", what, "signer certificate not included");
			if (!trust)
				continue; /* inspect describes every signer */
			bad = i + 1;
			refused = 1;
			break;
		}
		describe(sr, cert);
		free(tsrefused);
		tsrefused = signer_time(sr, si, trust != NULL, trust ? vo : NULL, now);
		if (!trust)
			continue;
		/* The algorithm policy bounds the work (key sizes) before the
		 * signature is checked; the first refused or invalid signature
		 * ends the evaluation. */
		if (oab_cms_signer_policy(cms, si, X509_get0_pubkey(cert), allow_weak, why,
					  sizeof(why)) < 0) {
			sr->signature_ok = 0;
			sr->trusted = 0;
			sr->note = strdup(why);
			weak[i] = !allow_weak && oab_cms_signer_policy(cms, si, X509_get0_pubkey(cert), 1, why,
								       sizeof(why)) == 0;
			oab_report_add_check(rep, 0, "signature", what, "refused (%s): %s", sr->subject ? sr->subject : "?",
					 why);
			bad = i + 1;
			refused = 1;
			break;
		}
		ok = oab_cms_signer_valid(si, chain);
		sr->signature_ok = ok;
		oab_report_add_check(rep, ok, "signature", what, ok ? "valid (%s, %s)" : "INVALID (%s, %s)",
				 sr->subject ? sr->subject : "?", sr->key_type ? sr->key_type : "?");
		if (!ok) {
			sr->trusted = 0;
			sr->note = strdup("signature does not match the manifest");
			bad = i + 1;
			break;
		}
		/* A key that cannot be identified is never counted: it could be
		 * one already counted (fail closed, e.g. out of memory). */
		if (!sr->key_id) {
			sr->trusted = 0;
			sr->note = strdup("its key cannot be identified, not counted");
			continue;
		}
		for (size_t j = first; j < rep->n_signers - 1; j++)
			if (rep->signers[j].trusted == 1 && rep->signers[j].key_id &&
			    strcmp(rep->signers[j].key_id, sr->key_id) == 0) {
				sr->trusted = 0;
				if (asprintf(&sr->note, "same key as signer %zu, counted once",
					     j - first + 1) < 0)
					sr->note = NULL;
			}
		if (sr->trusted == 0)
			continue;
		if (tsrefused) {
			sr->trusted = 0;
			sr->note = tsrefused;
			tsrefused = NULL;
		} else if ((pin = pinned_match(trust, X509_get0_pubkey(cert)))) {
			sr->trusted = 1;
			if (asprintf(&sr->note, "pinned key from '%s'", pin) < 0)
				sr->note = NULL;
		} else if (sk_X509_num(trust->cas) > 0) {
			int w = 0;
			char *cwhy = chain_check(trust, cert, certs, sr->validation_time, allow_weak, &w, crls,
						 vo && vo->check_revocation, sr);

			if (cwhy)
				cwhy = time_note(sr, cwhy);

			weak[i] = (unsigned char)(cwhy && w);

			sr->trusted = cwhy == NULL;
			sr->note = cwhy ? cwhy : strdup("chain validates to a CA anchor");
		} else {
			sr->trusted = 0;
			sr->note = strdup("key not pinned");
		}
		/* An untrusted but valid signature is reported with the signer
		 * and does not count; only the threshold check can fail. */
		if (sr->trusted) {
			oab_report_add_check(rep, 1, "trust", what, "%s", sr->note ? sr->note : "trusted");
			rep->trusted_keys++;
		}
	}
	if (!trust) {
		rc = 0;
		goto out;
	}
	if (bad) {
		const struct oab_signer_report *b = &rep->signers[first + (size_t)bad - 1];

		oab_err_set(err, OAB_E_REJECTED, "member 'manifest.sig': signature %d of %d %s: %s",
			    bad, n, refused ? "refused" : "invalid", b->note ? b->note : "?");
		oab_err_detail(err, weak[bad - 1] ? OAB_D_WEAK_ALGORITHM : OAB_D_SIGNATURE,
			       "manifest.sig", -1, NULL, NULL);
		goto out;
	}
	if (rep->trusted_keys < threshold) {
		const char *why = NULL, *who = "?";
		size_t idx = 0;

		for (size_t j = first; j < rep->n_signers; j++)
			if (rep->signers[j].trusted == 0 && rep->signers[j].note) {
				why = rep->signers[j].note;
				who = rep->signers[j].subject ? rep->signers[j].subject : "?";
				idx = j - first + 1;
				break;
			}
		oab_report_add_check(rep, 0, "threshold", NULL, "%zu trusted key%s, %u required",
				 rep->trusted_keys, rep->trusted_keys == 1 ? "" : "s", threshold);
		if (threshold == 1 && why)
			oab_err_set(err, OAB_E_REJECTED, "member 'manifest.sig': signer %zu (%s) not trusted: %s",
				    idx, who, why);
		else if (threshold == 1)
			oab_err_set(err, OAB_E_REJECTED, "member 'manifest.sig': no trusted signer");
		else
			oab_err_set(err, OAB_E_REJECTED,
				    "%zu distinct trusted signing key%s, %u required%s%s",
				    rep->trusted_keys, rep->trusted_keys == 1 ? "" : "s", threshold,
				    why ? "; " : "", why ? why : "");
		oab_err_detail(err, why && weak[idx - 1] ? OAB_D_WEAK_ALGORITHM : OAB_D_UNTRUSTED,
			       "manifest.sig", -1, NULL, NULL);
		goto out;
	}
	oab_report_add_check(rep, 1, "threshold", NULL, "%zu trusted key%s, %u required",
			 rep->trusted_keys, rep->trusted_keys == 1 ? "" : "s", threshold);
	rc = 0;
out:
	ERR_clear_error();
	free(tsrefused);
	oab_cms_digest_close(chain, content);
	BIO_free(src);
	sk_X509_pop_free(certs, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return rc;
}
