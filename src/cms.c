/* SPDX-License-Identifier: Apache-2.0 */
/* cms.c - detached CMS SignedData over the exact manifest bytes: parsing
 * within bounds, DER only, algorithm policy and signature checks (the
 * signing side is in cms_sign.c). */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "internal.h"

/* Bound the work a signature can cause before anything in it is checked:
 * at least one and at most OAB_MAX_SIGNERS SignerInfos, at most
 * OAB_MAX_SIG_CERTS certificates and revocation entries. */
static int cms_limits(CMS_ContentInfo *cms, struct oab_err *err)
{
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	STACK_OF(X509) *certs = CMS_get1_certs(cms);
	STACK_OF(X509_CRL) *crls = CMS_get1_crls(cms);
	int n = sis ? sk_CMS_SignerInfo_num(sis) : 0;
	int nc = certs ? sk_X509_num(certs) : 0, nr = crls ? sk_X509_CRL_num(crls) : 0;

	sk_X509_pop_free(certs, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	ERR_clear_error();
	if (n <= 0)
		return oab_err_set(err, OAB_E_REJECTED, "member 'manifest.sig': has no signers (a SignedData without SignerInfo)");
	if (n > OAB_MAX_SIGNERS)
		return oab_err_set(err, OAB_E_REJECTED, "member 'manifest.sig': %d SignerInfos (at most %d accepted)",
				   n, OAB_MAX_SIGNERS);
	if (nc + nr > OAB_MAX_SIG_CERTS)
		return oab_err_set(err, OAB_E_REJECTED,
				   "member 'manifest.sig': %d certificates and revocation lists (at most %d accepted)",
				   nc + nr, OAB_MAX_SIG_CERTS);
	return 0;
}

/* manifest.sig must be DER (otabundle-format(5)): one encoding per
 * signature, so BER (indefinite lengths, long-form or non-minimal
 * lengths, unsorted SETs, ...) is refused by encoding the parsed
 * structure again and comparing. */
static int cms_is_der(CMS_ContentInfo *cms, const unsigned char *der, size_t len,
		      struct oab_err *err)
{
	unsigned char *re = NULL;
	int n = i2d_CMS_ContentInfo(cms, &re);
	int same = n > 0 && (size_t)n == len && memcmp(re, der, len) == 0;

	OPENSSL_free(re);
	ERR_clear_error();
	if (n <= 0)
		return oab_err_set(err, OAB_E_REJECTED, "member 'manifest.sig': cannot be encoded again");
	if (!same)
		return oab_err_set(err, OAB_E_REJECTED,
				   "member 'manifest.sig': not DER (BER or another non-canonical encoding)");
	return 0;
}

/* A rejected signature: detail OAB_D_SIGNATURE on member manifest.sig. */
static void sig_detail(struct oab_err *err)
{
	if (err && err->code == OAB_E_REJECTED && err->detail == OAB_D_NONE)
		oab_err_detail(err, OAB_D_SIGNATURE, "manifest.sig", -1, NULL, NULL);
}

static CMS_ContentInfo *cms_parse(const unsigned char *der, size_t len, struct oab_err *err)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms;

	if (len > OAB_MAX_SIG_BYTES) {
		oab_err_set(err, OAB_E_REJECTED, "member 'manifest.sig': larger than %d bytes",
			    OAB_MAX_SIG_BYTES);
		return NULL;
	}
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (!cms) {
		oab_err_ssl(err, OAB_E_REJECTED, "member 'manifest.sig': not a DER CMS structure");
		return NULL;
	}
	if (p != der + len) {
		/* Only alignment padding may follow: zero bytes, fewer than
		 * OAB_SIG_PAD_MAX (otabundle-format(5)). */
		size_t extra = (size_t)(der + len - p);
		int zeros = extra < OAB_SIG_PAD_MAX;

		for (size_t i = 0; zeros && i < extra; i++)
			zeros = p[i] == 0;
		if (!zeros) {
			CMS_ContentInfo_free(cms);
			oab_err_set(err, OAB_E_REJECTED,
				    "member 'manifest.sig': %zu trailing bytes after the CMS structure (only up to %d zero bytes of padding may follow)",
				    extra, OAB_SIG_PAD_MAX - 1);
			return NULL;
		}
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		CMS_ContentInfo_free(cms);
		oab_err_set(err, OAB_E_REJECTED, "member 'manifest.sig': not a CMS SignedData");
		return NULL;
	}
	if (CMS_get0_content(cms) && *CMS_get0_content(cms)) {
		CMS_ContentInfo_free(cms);
		oab_err_set(err, OAB_E_REJECTED,
			    "member 'manifest.sig': carries embedded content (expected a detached signature)");
		return NULL;
	}
	if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data) {
		CMS_ContentInfo_free(cms);
		oab_err_set(err, OAB_E_REJECTED, "member 'manifest.sig': content type is not id-data");
		return NULL;
	}
	if (cms_limits(cms, err) < 0 || cms_is_der(cms, der, (size_t)(p - der), err) < 0) {
		CMS_ContentInfo_free(cms);
		return NULL;
	}
	return cms;
}

CMS_ContentInfo *oab_cms_parse(const unsigned char *der, size_t len, struct oab_err *err)
{
	CMS_ContentInfo *cms = cms_parse(der, len, err);

	if (!cms)
		sig_detail(err);
	return cms;
}

static const ASN1_OBJECT *si_digest(CMS_SignerInfo *si)
{
	X509_ALGOR *dig = NULL;
	const ASN1_OBJECT *o = NULL;

	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
	if (dig)
		X509_ALGOR_get0(&o, NULL, NULL, dig);
	return o;
}

static int si_digest_nid(CMS_SignerInfo *si)
{
	const ASN1_OBJECT *o = si_digest(si);

	return o ? OBJ_obj2nid(o) : NID_undef;
}

/* The digests a SignerInfo may name (oab_cms_signer_policy decides which
 * are accepted). At most these few passes over the data, whatever the
 * signature lists: its digestAlgorithms set is not used. */
static const int digest_nids[] = {NID_sha1, NID_sha256, NID_sha384, NID_sha512};

BIO *oab_cms_digest_open(CMS_ContentInfo *cms, const unsigned char *data, size_t len,
			 BIO **content, struct oab_err *err)
{
	BIO *src = BIO_new_mem_buf(data, (int)len);

	if (!src) {
		*content = NULL;
		oab_err_ssl(err, OAB_E_INTERNAL, "cannot start CMS digests");
		return NULL;
	}
	return oab_cms_digest_open_bio(cms, src, content, err);
}

BIO *oab_cms_digest_open_bio(CMS_ContentInfo *cms, BIO *src, BIO **content, struct oab_err *err)
{
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	int n = sis ? sk_CMS_SignerInfo_num(sis) : 0;
	BIO *chain;
	char *buf = malloc(64 * 1024); /* fewer, larger BIO calls */

	if (!buf)
		BIO_free(src);
	chain = *content = buf ? src : NULL;
	for (size_t d = 0; chain && d < sizeof(digest_nids) / sizeof(digest_nids[0]); d++) {
		int used = 0;
		BIO *md;

		for (int i = 0; i < n && !used; i++)
			used = si_digest_nid(sk_CMS_SignerInfo_value(sis, i)) == digest_nids[d];
		if (!used)
			continue;
		md = BIO_new(BIO_f_md());
		if (!md || BIO_set_md(md, EVP_get_digestbynid(digest_nids[d])) != 1) {
			BIO_free(md);
			oab_cms_digest_close(chain, *content);
			chain = *content = NULL;
			break;
		}
		chain = BIO_push(md, chain);
	}
	if (!chain) {
		free(buf);
		*content = NULL;
		oab_err_ssl(err, OAB_E_INTERNAL, "cannot start CMS digests");
		return NULL;
	}
	while (BIO_read(chain, buf, 64 * 1024) > 0)
		;
	free(buf);
	return chain;
}

void oab_cms_digest_close(BIO *chain, BIO *content)
{
	/* Free the digest BIOs CMS_dataInit pushed on top of content. */
	while (chain && chain != content) {
		BIO *next = BIO_pop(chain);

		BIO_free(chain);
		chain = next;
	}
	BIO_free(content);
}

int oab_cms_signer_valid(CMS_SignerInfo *si, BIO *chain)
{
	int ok = (CMS_signed_get_attr_count(si) < 0 || CMS_SignerInfo_verify(si) == 1) &&
		 CMS_SignerInfo_verify_content(si, chain) == 1;

	ERR_clear_error();
	return ok;
}

static int digest_policy(const ASN1_OBJECT *o, int allow_weak, char *why, size_t n)
{
	char oid[80] = "";
	int nid = o ? OBJ_obj2nid(o) : NID_undef;

	switch (nid) {
	case NID_sha256:
	case NID_sha384:
	case NID_sha512:
		return 0;
	case NID_sha1:
		if (allow_weak)
			return 0;
		snprintf(why, n, "digest SHA-1 is weak");
		return -1;
	case NID_md5:
		snprintf(why, n, "digest MD5 is refused");
		return -1;
	default:
		/* dotted digits only: safe to print */
		if (!o || OBJ_obj2txt(oid, sizeof(oid), o, 1) <= 0)
			snprintf(oid, sizeof(oid), "(none)");
		snprintf(why, n, "unsupported digest algorithm %s (SHA-256, SHA-384 or SHA-512 expected)",
			 oid);
		return -1;
	}
}

/* RSASSA-PSS parameters (RFC 4055): the hash must be the SignerInfo's
 * digest and MGF1's hash an accepted one. Absent fields mean SHA-1. */
static int pss_policy(const X509_ALGOR *sig, int dnid, int allow_weak, char *why, size_t n)
{
	RSA_PSS_PARAMS *p = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS), sig->parameter);
	X509_ALGOR *mgfmd = NULL;
	int hnid = NID_sha1, mnid = NID_sha1, rc = -1;

	if (!p) {
		snprintf(why, n, "RSASSA-PSS without readable parameters");
		goto out;
	}
	if (p->hashAlgorithm)
		hnid = OBJ_obj2nid(p->hashAlgorithm->algorithm);
	if (p->maskGenAlgorithm) {
		mgfmd = OBJ_obj2nid(p->maskGenAlgorithm->algorithm) == NID_mgf1
			? ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR),
						    p->maskGenAlgorithm->parameter)
			: NULL;
		mnid = mgfmd ? OBJ_obj2nid(mgfmd->algorithm) : NID_undef;
	}
	if (hnid != dnid) {
		snprintf(why, n, "RSASSA-PSS hash %s differs from the digest algorithm %s",
			 OBJ_nid2sn(hnid), OBJ_nid2sn(dnid));
		goto out;
	}
	if (mnid == NID_undef) {
		snprintf(why, n, "RSASSA-PSS mask generation is not MGF1 with a known hash");
		goto out;
	}
	if (digest_policy(OBJ_nid2obj(mnid), allow_weak, why, n) < 0)
		goto out;
	rc = 0;
out:
	X509_ALGOR_free(mgfmd);
	RSA_PSS_PARAMS_free(p);
	ERR_clear_error();
	return rc;
}

int oab_cms_signer_policy(CMS_ContentInfo *cms, CMS_SignerInfo *si, EVP_PKEY *key, int allow_weak,
			  char *why, size_t n)
{
	X509_ALGOR *sig = NULL;
	const ASN1_OBJECT *o = NULL;
	int dnid = si_digest_nid(si), snid, kid = key ? EVP_PKEY_get_base_id(key) : NID_undef, mdn, pkn;
	int rsa = kid == EVP_PKEY_RSA || kid == EVP_PKEY_RSA_PSS, ec = kid == EVP_PKEY_EC;

	if (oab_key_policy(key, allow_weak, 1, why, n) < 0 ||
	    digest_policy(si_digest(si), allow_weak, why, n) < 0)
		return -1;
	CMS_SignerInfo_get0_algs(si, NULL, NULL, NULL, &sig);
	if (sig)
		X509_ALGOR_get0(&o, NULL, NULL, sig);
	snid = o ? OBJ_obj2nid(o) : NID_undef;
	if (snid == NID_rsassaPss) {
		if (!rsa || pss_policy(sig, dnid, allow_weak, why, n) < 0) {
			if (!rsa)
				snprintf(why, n, "RSASSA-PSS signature with a non-RSA key");
			return -1;
		}
	} else if (snid == NID_rsaEncryption || snid == NID_X9_62_id_ecPublicKey) {
		if ((snid == NID_rsaEncryption && !rsa) || (snid == NID_X9_62_id_ecPublicKey && !ec)) {
			snprintf(why, n, "signature algorithm %s does not fit the signer's key", OBJ_nid2sn(snid));
			return -1;
		}
	} else if (snid == NID_undef || !OBJ_find_sigid_algs(snid, &mdn, &pkn)) {
		snprintf(why, n, "unsupported signature algorithm");
		return -1;
	} else if (mdn != dnid) {
		snprintf(why, n, "signature algorithm %s does not match the digest algorithm %s",
			 OBJ_nid2sn(snid), OBJ_nid2sn(dnid));
		return -1;
	} else if (!((pkn == NID_rsaEncryption && rsa) || (pkn == NID_X9_62_id_ecPublicKey && ec))) {
		snprintf(why, n, "signature algorithm %s does not fit the signer's key", OBJ_nid2sn(snid));
		return -1;
	}
	/* RFC 5652 section 11.1: with signed attributes, exactly one
	 * contentType, equal to the eContentType. */
	if (CMS_signed_get_attr_count(si) >= 0) {
		ASN1_OBJECT *ct = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_contentType), -3,
							      V_ASN1_OBJECT);

		ERR_clear_error();
		if (!ct) {
			snprintf(why, n, "signed attributes lack a single contentType");
			return -1;
		}
		if (OBJ_cmp(ct, CMS_get0_eContentType(cms)) != 0) {
			char oid[80] = "?";

			OBJ_obj2txt(oid, sizeof(oid), ct, 1);
			snprintf(why, n, "signed contentType %s differs from the eContentType (id-data)", oid);
			return -1;
		}
	}
	return 0;
}

int oab_cms_rsa_budget(CMS_ContentInfo *cms, struct oab_err *err)
{
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	long total = 0;

	for (int i = 0; sis && i < sk_CMS_SignerInfo_num(sis); i++) {
		X509 *cert = NULL;
		EVP_PKEY *k;
		int id, bits;

		CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(sis, i), NULL, &cert, NULL, NULL);
		k = cert ? X509_get0_pubkey(cert) : NULL;
		id = k ? EVP_PKEY_get_base_id(k) : NID_undef;
		bits = k ? EVP_PKEY_get_bits(k) : 0;
		/* larger keys are refused one by one (oab_key_policy) */
		if ((id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) && bits <= OAB_RSA_MAX_BITS)
			total += bits;
	}
	ERR_clear_error();
	if (total > OAB_RSA_TOTAL_BITS) {
		oab_err_set(err, OAB_E_REJECTED,
			    "member 'manifest.sig': the signers' RSA keys have %ld bits together (at most %d accepted)",
			    total, OAB_RSA_TOTAL_BITS);
		sig_detail(err);
		return -1;
	}
	return 0;
}

int oab_cms_check(CMS_ContentInfo *cms, const unsigned char *data, size_t len,
		  struct oab_keyids *ids, struct oab_err *err)
{
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	int n = sis ? sk_CMS_SignerInfo_num(sis) : 0;
	BIO *content = NULL, *chain;
	char why[160];
	int rc = -1;

	memset(ids, 0, sizeof(*ids));
	if (cms_limits(cms, err) < 0) {
		sig_detail(err);
		return -1;
	}
	CMS_set1_signers_certs(cms, NULL, 0);
	ERR_clear_error();
	if (oab_cms_rsa_budget(cms, err) < 0)
		return -1;
	chain = oab_cms_digest_open(cms, data, len, &content, err);
	if (!chain)
		return -1;
	ids->id = calloc((size_t)n + 1, sizeof(*ids->id));
	if (!ids->id) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, i);
		X509 *cert = NULL;

		CMS_SignerInfo_get0_algs(si, NULL, &cert, NULL, NULL);
		if (!cert) {
			oab_err_set(err, OAB_E_REJECTED,
				    "member 'manifest.sig': signer %d has no certificate in the signature", i + 1);
			goto out;
		}
		/* No trust judgement here, so old algorithms pass (verify
		 * decides); what is never accepted is refused. */
		if (oab_cms_signer_policy(cms, si, X509_get0_pubkey(cert), 1, why, sizeof(why)) < 0) {
			oab_err_set(err, OAB_E_REJECTED, "member 'manifest.sig': signer %d refused: %s",
				    i + 1, why);
			goto out;
		}
		if (oab_key_id(X509_get0_pubkey(cert), ids->id[i]) < 0) {
			oab_err_set(err, OAB_E_INTERNAL, "member 'manifest.sig': signer %d: cannot compute its key id",
				    i + 1);
			goto out;
		}
		ids->n++;
		if (!oab_cms_signer_valid(si, chain)) {
			oab_err_set(err, OAB_E_REJECTED,
				    "member 'manifest.sig': signature %d does not match the manifest", i + 1);
			goto out;
		}
	}
	rc = 0;
out:
	oab_cms_digest_close(chain, content);
	if (rc < 0) {
		free(ids->id);
		memset(ids, 0, sizeof(*ids));
	}
	if (rc < 0)
		sig_detail(err);
	return rc;
}
