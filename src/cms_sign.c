/* SPDX-License-Identifier: Apache-2.0 */
/* cms_sign.c - the signing side of CMS: detached SignedData over the
 * manifest bytes (oab_cms_sign), signers added to an existing signature,
 * DER encoding, and judging signers before they sign the way verify will
 * judge them (oab_signers_judge). Parsing and checking are in cms.c and
 * trust.c. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "internal.h"

static int signer_add(CMS_ContentInfo *cms, struct oab_signer *s, int flags, struct oab_err *err)
{
	int id = EVP_PKEY_get_base_id(s->key);
	int pss = id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS;
	const EVP_MD *md = EVP_sha256();
	CMS_SignerInfo *si;

	si = CMS_add1_signer(cms, s->cert, s->key, md,
			     CMS_BINARY | flags | (pss ? CMS_KEY_PARAM : 0));
	if (!si)
		return oab_err_ssl(err, OAB_E_KEY, "signing with '%s' failed", s->label);
	if (pss) {
		EVP_PKEY_CTX *pctx = CMS_SignerInfo_get0_pkey_ctx(si);

		if (!pctx || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0)
			return oab_err_ssl(err, OAB_E_KEY, "'%s': cannot select RSA-PSS", s->label);
	}
	return 0;
}

static int cms_has_cert(CMS_ContentInfo *cms, X509 *c)
{
	STACK_OF(X509) *have = CMS_get1_certs(cms);
	int found = 0;

	for (int j = 0; have && j < sk_X509_num(have); j++)
		if (X509_cmp(sk_X509_value(have, j), c) == 0)
			found = 1;
	sk_X509_pop_free(have, X509_free);
	return found;
}

static int cms_add_chain(CMS_ContentInfo *cms, STACK_OF(X509) *chain, struct oab_err *err)
{
	for (int i = 0; chain && i < sk_X509_num(chain); i++) {
		X509 *c = sk_X509_value(chain, i);

		if (!cms_has_cert(cms, c) && CMS_add1_cert(cms, c) != 1)
			return oab_err_ssl(err, OAB_E_INTERNAL, "cannot add chain certificate");
	}
	return 0;
}

int oab_cms_sign(const unsigned char *data, size_t len, struct oab_signer *signers,
		 size_t n, STACK_OF(X509) *chain, unsigned char **der, size_t *der_len,
		 struct oab_err *err)
{
	BIO *in = BIO_new_mem_buf(data, (int)len);
	int rc;

	*der = NULL;
	if (!in)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	rc = oab_cms_sign_bio(in, 0, signers, n, chain, der, der_len, err);
	BIO_free(in);
	return rc;
}

int oab_cms_sign_bio(BIO *in, int flags, struct oab_signer *signers, size_t n,
		     STACK_OF(X509) *chain, unsigned char **der, size_t *der_len,
		     struct oab_err *err)
{
	int detached = !(flags & OAB_CMS_ATTACHED) ? CMS_DETACHED : 0;
	int sflags = flags & OAB_CMS_NOSMIMECAP ? CMS_NOSMIMECAP : 0;
	CMS_ContentInfo *cms;
	BIO *out = NULL;
	BUF_MEM *mem;
	int rc = -1;

	*der = NULL;
	cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | detached | CMS_BINARY);
	if (!cms)
		return oab_err_ssl(err, OAB_E_INTERNAL, "cannot create CMS SignedData");
	for (size_t i = 0; i < n; i++)
		if (signer_add(cms, &signers[i], sflags, err) < 0)
			goto out;
	if (cms_add_chain(cms, chain, err) < 0)
		goto out;
	out = BIO_new(BIO_s_mem());
	if (!out) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	if (CMS_final(cms, in, NULL, CMS_BINARY | detached) != 1) {
		oab_err_ssl(err, OAB_E_KEY, "signing failed");
		goto out;
	}
	if (i2d_CMS_bio(out, cms) != 1) {
		oab_err_ssl(err, OAB_E_INTERNAL, "cannot encode the signature");
		goto out;
	}
	BIO_get_mem_ptr(out, &mem);
	*der = malloc(mem->length ? mem->length : 1);
	if (!*der) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	memcpy(*der, mem->data, mem->length);
	*der_len = mem->length;
	rc = 0;
out:
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	return rc;
}

/* alg := RSASSA-PSS { sha256, MGF1(sha256), saltLength 32 } (RFC 4055). */
static int pss_algor(X509_ALGOR *alg)
{
	RSA_PSS_PARAMS *p = RSA_PSS_PARAMS_new();
	X509_ALGOR *mgfmd = X509_ALGOR_new();
	ASN1_STRING *mgf = NULL, *params = NULL;
	int rc = -1;

	if (!p || !mgfmd || !(p->hashAlgorithm = X509_ALGOR_new()) ||
	    !(p->maskGenAlgorithm = X509_ALGOR_new()) || !(p->saltLength = ASN1_INTEGER_new()))
		goto out;
	X509_ALGOR_set_md(p->hashAlgorithm, EVP_sha256());
	X509_ALGOR_set_md(mgfmd, EVP_sha256());
	if (!(mgf = ASN1_item_pack(mgfmd, ASN1_ITEM_rptr(X509_ALGOR), NULL)) ||
	    !X509_ALGOR_set0(p->maskGenAlgorithm, OBJ_nid2obj(NID_mgf1), V_ASN1_SEQUENCE, mgf))
		goto out;
	mgf = NULL;
	if (!ASN1_INTEGER_set(p->saltLength, EVP_MD_get_size(EVP_sha256())) ||
	    !(params = ASN1_item_pack(p, ASN1_ITEM_rptr(RSA_PSS_PARAMS), NULL)) ||
	    !X509_ALGOR_set0(alg, OBJ_nid2obj(NID_rsassaPss), V_ASN1_SEQUENCE, params))
		goto out;
	params = NULL;
	rc = 0;
out:
	ASN1_STRING_free(mgf);
	ASN1_STRING_free(params);
	X509_ALGOR_free(mgfmd);
	RSA_PSS_PARAMS_free(p);
	return rc;
}

int oab_cms_add_signers(CMS_ContentInfo *cms, struct oab_signer *signers, size_t n,
			STACK_OF(X509) *chain, struct oab_err *err)
{
	for (size_t i = 0; i < n; i++) {
		struct oab_signer *s = &signers[i];
		int id = EVP_PKEY_get_base_id(s->key);
		int pss = id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS;
		CMS_SignerInfo *si;

		/* REUSE_DIGEST copies the messageDigest of an existing signer:
		 * the manifest itself is not needed. */
		/* OpenSSL 3.0 fails on a certificate already in the set. */
		si = CMS_add1_signer(cms, s->cert, s->key, EVP_sha256(),
				     CMS_BINARY | CMS_REUSE_DIGEST | (pss ? CMS_KEY_PARAM : 0) |
				     (cms_has_cert(cms, s->cert) ? CMS_NOCERTS : 0));
		if (!si)
			return oab_err_ssl(err, OAB_E_KEY, "adding a signature with '%s' failed", s->label);
		if (pss) {
			EVP_PKEY_CTX *pctx = CMS_SignerInfo_get0_pkey_ctx(si);
			X509_ALGOR *alg = NULL;
			int ok;

			/* Unlike CMS_final, CMS_SignerInfo_sign does not record the
			 * RSASSA-PSS parameters, and token (engine) keys cannot
			 * report them: write them ourselves, matching the padding
			 * set here (SHA-256, MGF1-SHA-256, salt = digest length). */
			CMS_SignerInfo_get0_algs(si, NULL, NULL, NULL, &alg);
			ok = pctx && alg && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
			     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0 &&
			     pss_algor(alg) == 0 && CMS_SignerInfo_sign(si) == 1;
			if (!ok)
				return oab_err_ssl(err, OAB_E_KEY, "'%s': RSA-PSS signature failed", s->label);
		}
	}
	return cms_add_chain(cms, chain, err);
}

int oab_cms_encode(CMS_ContentInfo *cms, unsigned char **der, size_t *len, struct oab_err *err)
{
	unsigned char *p = NULL;
	int n = i2d_CMS_ContentInfo(cms, &p);

	if (n <= 0)
		return oab_err_ssl(err, OAB_E_INTERNAL, "cannot encode the signature");
	*der = malloc((size_t)n);
	if (!*der) {
		OPENSSL_free(p);
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	}
	memcpy(*der, p, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(p);
	return 0;
}

/* ---- CRLs in the signature (build/sign --crl) ---------------------------- */

int oab_crls_for_signing(const char *const *files, size_t n, int64_t now, oab_warn_fn warn,
			 void *warn_arg, STACK_OF(X509_CRL) **out, struct oab_err *err)
{
	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		STACK_OF(X509_CRL) *sk;
		int from = *out ? sk_X509_CRL_num(*out) : 0;

		if (oab_crls_load(files[i], &sk, err) < 0 ||
		    oab_crls_append(out, sk, "CRL files", err) < 0) {
			sk_X509_CRL_pop_free(sk, X509_CRL_free);
			goto fail;
		}
		sk_X509_CRL_pop_free(sk, X509_CRL_free);
		for (int j = from; warn && j < sk_X509_CRL_num(*out); j++) {
			X509_CRL *c = sk_X509_CRL_value(*out, j);
			const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(c);
			char msg[OAB_ERR_MAX], when[32], *iss;

			if (nu && oab_asn1_time(nu) > now)
				continue;
			iss = oab_name_str(X509_CRL_get_issuer(c));
			oab_time_format(nu ? oab_asn1_time(nu) : 0, when);
			snprintf(msg, sizeof(msg),
				 nu ? "CRL of '%s' in '%s' is past its nextUpdate (%s): a verify that requires revocation checks will not count it as current"
				    : "CRL of '%s' in '%s' has no nextUpdate%.0s: a verify that requires revocation checks will not count it as current",
				 iss ? iss : "?", files[i], when);
			free(iss);
			warn(warn_arg, msg);
		}
	}
	return 0;
fail:
	sk_X509_CRL_pop_free(*out, X509_CRL_free);
	*out = NULL;
	return -1;
}

int oab_cms_der_add_crls(unsigned char **der, size_t *len, STACK_OF(X509_CRL) *crls,
			 struct oab_err *err)
{
	const unsigned char *p = *der;
	CMS_ContentInfo *cms, *check;
	unsigned char *out = NULL;
	size_t out_len = 0;

	if (!crls || sk_X509_CRL_num(crls) == 0)
		return 0;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)*len);
	if (!cms)
		return oab_err_ssl(err, OAB_E_INTERNAL, "cannot read back the signature");
	for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
		STACK_OF(X509_CRL) *have = CMS_get1_crls(cms);
		int dup = 0;

		for (int j = 0; have && j < sk_X509_CRL_num(have); j++)
			dup |= X509_CRL_match(sk_X509_CRL_value(have, j), sk_X509_CRL_value(crls, i)) == 0;
		sk_X509_CRL_pop_free(have, X509_CRL_free);
		if (!dup && CMS_add1_crl(cms, sk_X509_CRL_value(crls, i)) != 1) {
			CMS_ContentInfo_free(cms);
			return oab_err_ssl(err, OAB_E_INTERNAL, "cannot add a CRL to the signature");
		}
	}
	ERR_clear_error();
	if (oab_cms_encode(cms, &out, &out_len, err) < 0) {
		CMS_ContentInfo_free(cms);
		return -1;
	}
	CMS_ContentInfo_free(cms);
	/* What verify would refuse (too many certificates and CRLs, too
	 * large) is refused here, before anything is written. */
	if (!(check = oab_cms_parse(out, out_len, err))) {
		free(out);
		err->code = OAB_E_USAGE;
		return oab_err_prefix(err, "with the CRL files: ");
	}
	CMS_ContentInfo_free(check);
	free(*der);
	*der = out;
	*len = out_len;
	return 0;
}

/* ---- judging signers before they sign ----------------------------------- */

static void warnf(const struct oab_signer_spec *spec, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void warnf(const struct oab_signer_spec *spec, const char *fmt, ...)
{
	char msg[OAB_ERR_MAX];
	va_list ap;

	if (!spec->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	spec->warn(spec->warn_arg, msg);
}

/* What verify would hold against this certificate whatever the anchors:
 * its validity at now, its extendedKeyUsage and keyUsage, and an issuer
 * it can reach (embedded with --chain, or itself). */
static void signer_warnings(const struct oab_signer_spec *spec, X509 *cert,
			    STACK_OF(X509) *chain, int64_t now)
{
	time_t t = (time_t)now;
	char when[32], *issuer;
	/* A certificate URI is named without its pin-* attributes. */
	char *lab = strncmp(spec->cert, "pkcs11:", 7) == 0 ? oab_p11_label(spec->cert) : NULL;
	const char *who = lab ? lab : spec->cert;
	int found = 0;

	if (X509_cmp_time(X509_get0_notBefore(cert), &t) > 0) {
		oab_time_format(oab_asn1_time(X509_get0_notBefore(cert)), when);
		warnf(spec, "certificate of '%s' is not valid before %s: verify rejects its signature until then",
		      who, when);
	}
	if (X509_cmp_time(X509_get0_notAfter(cert), &t) < 0) {
		oab_time_format(oab_asn1_time(X509_get0_notAfter(cert)), when);
		warnf(spec, "certificate of '%s' expired on %s: verify rejects its signature",
		      who, when);
	}
	if ((X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) &&
	    !(X509_get_extended_key_usage(cert) & XKU_CODE_SIGN))
		warnf(spec, "certificate of '%s' lacks extendedKeyUsage codeSigning: verify rejects its signature",
		      who);
	if (X509_get_key_usage(cert) != UINT32_MAX &&
	    !(X509_get_key_usage(cert) & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)))
		warnf(spec, "certificate of '%s': keyUsage does not allow digitalSignature: verify rejects its signature",
		      who);
	found = X509_check_issued(cert, cert) == X509_V_OK;
	for (int i = 0; !found && chain && i < sk_X509_num(chain); i++)
		found = X509_check_issued(sk_X509_value(chain, i), cert) == X509_V_OK;
	if (!found) {
		issuer = oab_name_str(X509_get_issuer_name(cert));
		warnf(spec, "the issuer of '%s' (%s) is not embedded: verify succeeds only where it is a CA anchor itself; embed its certificate in the chain, or give anchors at build time to check",
		      who, issuer ? issuer : "?");
		free(issuer);
	}
	free(lab);
}

int oab_signers_judge(const struct oab_signer_spec *specs, struct oab_signer *s, size_t n,
		      STACK_OF(X509) *chain, const struct oab_trust *trust, int64_t now,
		      struct oab_err *err)
{
	static const unsigned char probe[] = "otabundle: would verify accept these signers?\n";
	CMS_ContentInfo *cms = NULL;
	struct oab_report *rep = NULL;
	unsigned char *der = NULL;
	size_t der_len = 0;
	int rc = -1;

	if (!trust) {
		for (size_t i = 0; i < n; i++)
			if (s[i].cert)
				signer_warnings(&specs[i], s[i].cert, chain, now);
		return 0;
	}
	/* Judge a signature made now by exactly these signers and this chain,
	 * the way verify will judge the bundle's: one rule, not two. */
	if (oab_cms_sign(probe, sizeof(probe) - 1, s, n, chain, &der, &der_len, err) < 0)
		return -1;
	if (!(cms = oab_cms_parse(der, der_len, err)))
		goto out;
	if (!(rep = oab_report_new())) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	if (oab_trust_evaluate(trust, cms, probe, sizeof(probe) - 1, now, (unsigned)n, 0, NULL, rep, err) == 0) {
		rc = 0;
		goto out;
	}
	/* DER sorts the SignerInfos (a SET OF): find each signer by its key. */
	for (size_t j = 0; j < rep->n_signers; j++) {
		const struct oab_signer_report *sr = &rep->signers[j];
		char kid[65];

		if (sr->trusted == 1)
			continue;
		for (size_t i = 0; i < n; i++)
			if (sr->key_id && oab_key_id(X509_get0_pubkey(s[i].cert), kid) == 0 &&
			    strcmp(kid, sr->key_id) == 0) {
				oab_err_set(err, OAB_E_KEY,
					    "signer '%s' would not verify against the given anchors: %s (nothing written)",
					    s[i].label, sr->note ? sr->note : "not trusted");
				goto out;
			}
	}
	oab_err_prefix(err, "the signers would not verify against the given anchors: ");
	err->code = OAB_E_KEY;
out:
	oab_report_free(rep);
	CMS_ContentInfo_free(cms);
	free(der);
	return rc;
}
