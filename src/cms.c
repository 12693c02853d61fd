/* cms.c - detached CMS SignedData over the exact manifest bytes. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "internal.h"

static int signer_add(CMS_ContentInfo *cms, struct oab_signer *s, struct oab_err *err)
{
	int id = EVP_PKEY_get_base_id(s->key);
	int pss = id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS;
	const EVP_MD *md = EVP_sha256();
	CMS_SignerInfo *si;

	si = CMS_add1_signer(cms, s->cert, s->key, md,
			     CMS_BINARY | (pss ? CMS_KEY_PARAM : 0));
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

int oab_cms_sign(const unsigned char *data, size_t len, struct oab_signer *signers,
		 size_t n, STACK_OF(X509) *chain, unsigned char **der, size_t *der_len,
		 struct oab_err *err)
{
	CMS_ContentInfo *cms;
	BIO *in = NULL, *out = NULL;
	BUF_MEM *mem;
	int rc = -1;

	*der = NULL;
	cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_DETACHED | CMS_BINARY);
	if (!cms)
		return oab_err_ssl(err, OAB_E_INTERNAL, "cannot create CMS SignedData");
	for (size_t i = 0; i < n; i++)
		if (signer_add(cms, &signers[i], err) < 0)
			goto out;
	for (int i = 0; chain && i < sk_X509_num(chain); i++) {
		X509 *c = sk_X509_value(chain, i);
		STACK_OF(X509) *have = CMS_get1_certs(cms);
		int dup = 0;

		for (int j = 0; have && j < sk_X509_num(have); j++)
			if (X509_cmp(sk_X509_value(have, j), c) == 0)
				dup = 1;
		sk_X509_pop_free(have, X509_free);
		if (!dup && CMS_add1_cert(cms, c) != 1) {
			oab_err_ssl(err, OAB_E_INTERNAL, "cannot add chain certificate");
			goto out;
		}
	}
	in = BIO_new_mem_buf(data, (int)len);
	out = BIO_new(BIO_s_mem());
	if (!in || !out) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	if (CMS_final(cms, in, NULL, CMS_BINARY | CMS_DETACHED) != 1) {
		oab_err_ssl(err, OAB_E_KEY, "signing the manifest failed");
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
	BIO_free(in);
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	return rc;
}

CMS_ContentInfo *oab_cms_parse(const unsigned char *der, size_t len, struct oab_err *err)
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
		CMS_ContentInfo_free(cms);
		oab_err_set(err, OAB_E_REJECTED, "member 'manifest.sig': %zu trailing bytes after the CMS structure",
			    (size_t)(der + len - p));
		return NULL;
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
	return cms;
}
