/* SPDX-License-Identifier: Apache-2.0 */
/* tsa.c - the build side of RFC 3161 timestamps: for every SignerInfo of a
 * signature that has no token yet, ask a time-stamping authority over
 * HTTP (libcurl) for a token over the SHA-256 of the signature value and
 * store it as the unsigned attribute id-aa-timeStampToken (CAdES-T).
 * The request and response are OpenSSL's TS API; the response must be
 * granted and carry our imprint and nonce. Checking tokens is in
 * tsverify.c (the verify side). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ts.h>

#include "internal.h"

#define TSA_MAX_RESPONSE (256 * 1024)

struct rbuf {
	unsigned char *p;
	size_t n;
	int over;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct rbuf *b = arg;
	size_t k = size * nmemb;
	unsigned char *q;

	if (k > TSA_MAX_RESPONSE - b->n) {
		b->over = 1;
		return 0; /* curl stops the transfer */
	}
	q = realloc(b->p, b->n + k + 1);
	if (!q)
		return 0;
	memcpy(q + b->n, ptr, k);
	b->p = q;
	b->n += k;
	return k;
}

/* POST the DER request; the DER response in *b. */
static int tsa_post(const char *url, long timeout, const unsigned char *req, size_t reqlen,
		    struct rbuf *b, struct oab_err *err)
{
	CURL *c;
	struct curl_slist *h = NULL;
	char ebuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;
	int ret = -1;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return oab_err_set(err, OAB_E_INTERNAL, "cannot initialise libcurl");
	c = curl_easy_init();
	h = curl_slist_append(NULL, "Content-Type: application/timestamp-query");
	if (!c || !h) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)req);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)reqlen);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	rc = curl_easy_perform(c);
	if (b->over) {
		oab_err_set(err, OAB_E_IO, "TSA '%s': response larger than %d bytes", url, TSA_MAX_RESPONSE);
		goto out;
	}
	if (rc != CURLE_OK) {
		oab_err_set(err, OAB_E_IO, "TSA '%s': %s", url, ebuf[0] ? ebuf : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		oab_err_set(err, OAB_E_IO, "TSA '%s': HTTP status %ld (expected 200)", url, status);
		goto out;
	}
	ret = 0;
out:
	curl_slist_free_all(h);
	if (c)
		curl_easy_cleanup(c);
	return ret;
}

static TS_REQ *make_request(const unsigned char *digest, unsigned dlen, struct oab_err *err)
{
	TS_REQ *req = TS_REQ_new();
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	ASN1_INTEGER *nonce = NULL;
	unsigned char rnd[8];
	BIGNUM *bn = NULL;
	int ok;

	ok = req && mi && alg && TS_REQ_set_version(req, 1) &&
	     X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL) &&
	     TS_MSG_IMPRINT_set_algo(mi, alg) && TS_MSG_IMPRINT_set_msg(mi, (unsigned char *)digest, (int)dlen) &&
	     TS_REQ_set_msg_imprint(req, mi) && RAND_bytes(rnd, sizeof(rnd)) == 1;
	if (ok) {
		rnd[0] &= 0x7f; /* a positive INTEGER */
		ok = (bn = BN_bin2bn(rnd, sizeof(rnd), NULL)) && (nonce = BN_to_ASN1_INTEGER(bn, NULL)) &&
		     TS_REQ_set_nonce(req, nonce) && TS_REQ_set_cert_req(req, 1);
	}
	ASN1_INTEGER_free(nonce);
	BN_free(bn);
	X509_ALGOR_free(alg);
	TS_MSG_IMPRINT_free(mi);
	if (!ok) {
		TS_REQ_free(req);
		oab_err_ssl(err, OAB_E_INTERNAL, "cannot make a timestamp request");
		return NULL;
	}
	return req;
}

/* One token for si, stored as its unsigned attribute. */
static int stamp_one(CMS_SignerInfo *si, int idx, const char *url, long timeout, struct oab_err *err)
{
	ASN1_OCTET_STRING *sig = CMS_SignerInfo_get0_signature(si);
	unsigned char digest[EVP_MAX_MD_SIZE], *reqder = NULL, *tokder = NULL;
	const unsigned char *p;
	unsigned dlen = 0;
	struct rbuf b = {0};
	TS_REQ *req = NULL;
	TS_RESP *resp = NULL;
	TS_VERIFY_CTX *vctx = NULL;
	int reqlen, toklen, rc = -1;

	if (!sig || EVP_Digest(ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig), digest, &dlen,
			       EVP_sha256(), NULL) != 1)
		return oab_err_ssl(err, OAB_E_INTERNAL, "signer %d: cannot hash the signature value", idx);
	if (!(req = make_request(digest, dlen, err)))
		return -1;
	reqlen = i2d_TS_REQ(req, &reqder);
	if (reqlen <= 0) {
		oab_err_ssl(err, OAB_E_INTERNAL, "cannot encode the timestamp request");
		goto out;
	}
	if (tsa_post(url, timeout, reqder, (size_t)reqlen, &b, err) < 0)
		goto out;
	p = b.p;
	resp = b.p ? d2i_TS_RESP(NULL, &p, (long)b.n) : NULL;
	if (!resp || p != b.p + b.n) {
		oab_err_ssl(err, OAB_E_IO, "TSA '%s': the response is not a DER TimeStampResp", url);
		goto out;
	}
	/* status granted, version, our imprint and our nonce; the token's
	 * signature and TSA chain are verify's business (--tsa-ca). */
	vctx = TS_REQ_to_TS_VERIFY_CTX(req, NULL);
	if (vctx)
		TS_VERIFY_CTX_set_flags(vctx, TS_VFY_VERSION | TS_VFY_IMPRINT | TS_VFY_NONCE);
	if (!vctx || TS_RESP_verify_response(vctx, resp) != 1) {
		oab_err_ssl(err, OAB_E_IO, "TSA '%s': response refused (not granted, or not for this request)", url);
		goto out;
	}
	toklen = i2d_PKCS7(TS_RESP_get_token(resp), &tokder);
	if (toklen <= 0) {
		oab_err_ssl(err, OAB_E_IO, "TSA '%s': the response has no token", url);
		goto out;
	}
	if (CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, tokder,
					  toklen) != 1) {
		oab_err_ssl(err, OAB_E_INTERNAL, "signer %d: cannot store the timestamp token", idx);
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	OPENSSL_free(reqder);
	OPENSSL_free(tokder);
	free(b.p);
	TS_VERIFY_CTX_free(vctx);
	TS_RESP_free(resp);
	TS_REQ_free(req);
	return rc;
}

int oab_tsa_stamp(unsigned char **der, size_t *len, const char *url, int timeout, size_t *added,
		  struct oab_err *err)
{
	const unsigned char *p = *der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)*len);
	STACK_OF(CMS_SignerInfo) *sis;
	unsigned char *out = NULL;
	size_t outlen = 0, n_added = 0;
	int rc = -1;

	if (!url || !*url)
		return oab_err_set(err, OAB_E_USAGE, "no TSA URL given");
	if (!cms)
		return oab_err_ssl(err, OAB_E_INTERNAL, "cannot read the signature back");
	sis = CMS_get0_SignerInfos(cms);
	for (int i = 0; sis && i < sk_CMS_SignerInfo_num(sis); i++) {
		CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, i);

		if (CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1) >= 0)
			continue;
		if (stamp_one(si, i + 1, url, timeout > 0 ? timeout : OAB_TSA_TIMEOUT_DEFAULT, err) < 0)
			goto out;
		n_added++;
	}
	if (oab_cms_encode(cms, &out, &outlen, err) < 0)
		goto out;
	free(*der);
	*der = out;
	*len = outlen;
	if (added)
		*added = n_added;
	rc = 0;
out:
	CMS_ContentInfo_free(cms);
	return rc;
}
