/* SPDX-License-Identifier: Apache-2.0 */
/* tsverify.c - the verify side of RFC 3161 timestamps: find the token a
 * SignerInfo carries as its unsigned attribute id-aa-timeStampToken
 * (CAdES-T), read its genTime and TSA, and check it against the
 * --tsa-ca anchors: the TSA chain (timeStamping EKU, judged at the
 * verification time), the imprint (SHA-256 of this SignerInfo's
 * signature value) and the token's own signature (OpenSSL's
 * TS_RESP_verify_token). The token is bounded by manifest.sig's size
 * limit; it is parsed only here. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include "internal.h"

/* A genTime this far past the verification time is refused. */
#define TS_FUTURE_SLACK 300

static PKCS7 *token_of(CMS_SignerInfo *si, int *found, char *why, size_t whylen)
{
	int idx = CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1);
	X509_ATTRIBUTE *attr;
	ASN1_TYPE *at;
	const unsigned char *p, *end;
	PKCS7 *tok;

	*found = idx >= 0;
	if (idx < 0)
		return NULL;
	if (CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, idx) >= 0) {
		snprintf(why, whylen, "more than one timestamp token");
		return NULL;
	}
	attr = CMS_unsigned_get_attr(si, idx);
	if (!attr || X509_ATTRIBUTE_count(attr) != 1 || !(at = X509_ATTRIBUTE_get0_type(attr, 0)) ||
	    at->type != V_ASN1_SEQUENCE || !at->value.sequence) {
		snprintf(why, whylen, "malformed timestamp attribute (expected one token)");
		return NULL;
	}
	p = at->value.sequence->data;
	end = p + at->value.sequence->length;
	tok = d2i_PKCS7(NULL, &p, at->value.sequence->length);
	if (!tok || p != end || !PKCS7_type_is_signed(tok)) {
		PKCS7_free(tok);
		snprintf(why, whylen, "malformed timestamp token");
		return NULL;
	}
	return tok;
}

static int check_token(PKCS7 *tok, TS_TST_INFO *tst, CMS_SignerInfo *si, STACK_OF(X509) *cas,
		       int64_t now, char *why, size_t whylen)
{
	ASN1_OCTET_STRING *sig = CMS_SignerInfo_get0_signature(si);
	X509_ALGOR *alg = TS_MSG_IMPRINT_get_algo(TS_TST_INFO_get_msg_imprint(tst));
	TS_VERIFY_CTX *ctx = NULL;
	X509_STORE *store = NULL;
	unsigned char *imprint = NULL;
	unsigned ilen = 0;
	int ok = 0;

	if (!alg || OBJ_obj2nid(alg->algorithm) != NID_sha256) {
		snprintf(why, whylen, "timestamp imprint is not SHA-256");
		return 0;
	}
	if (!sig || !(imprint = OPENSSL_malloc(EVP_MAX_MD_SIZE)) ||
	    EVP_Digest(ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig), imprint, &ilen,
		       EVP_sha256(), NULL) != 1 ||
	    !(ctx = TS_VERIFY_CTX_new()) || !(store = X509_STORE_new())) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	for (int i = 0; i < sk_X509_num(cas); i++)
		X509_STORE_add_cert(store, sk_X509_value(cas, i));
	X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_X509_STRICT);
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), (time_t)now);
	TS_VERIFY_CTX_set_store(ctx, store); /* ctx owns it now */
	store = NULL;
	TS_VERIFY_CTX_set_imprint(ctx, imprint, ilen); /* and the imprint */
	imprint = NULL;
	TS_VERIFY_CTX_set_flags(ctx, TS_VFY_SIGNATURE | TS_VFY_IMPRINT | TS_VFY_VERSION);
	ERR_clear_error();
	if (TS_RESP_verify_token(ctx, tok) != 1) {
		unsigned long e = ERR_peek_last_error();
		const char *r = e ? ERR_reason_error_string(e) : NULL;

		snprintf(why, whylen, "timestamp token not trusted: %s", r ? r : "verification failed");
		goto out;
	}
	ok = 1;
out:
	ERR_clear_error();
	OPENSSL_free(imprint);
	X509_STORE_free(store);
	TS_VERIFY_CTX_free(ctx);
	return ok;
}

int oab_ts_judge(CMS_SignerInfo *si, STACK_OF(X509) *cas, int64_t now, struct oab_ts *ts)
{
	PKCS7 *tok;
	TS_TST_INFO *tst = NULL;
	STACK_OF(X509) *signers;
	int found;

	memset(ts, 0, sizeof(*ts));
	ts->time = -1;
	ts->trusted = -1;
	tok = token_of(si, &found, ts->why, sizeof(ts->why));
	if (!found)
		return 0;
	if (!tok) {
		ts->trusted = 0;
		return 1;
	}
	tst = PKCS7_to_TS_TST_INFO(tok);
	if (!tst) {
		snprintf(ts->why, sizeof(ts->why), "malformed timestamp token");
		ts->trusted = 0;
		goto out;
	}
	ts->time = oab_asn1_time((const ASN1_TIME *)TS_TST_INFO_get_time(tst));
	signers = PKCS7_get0_signers(tok, NULL, 0);
	if (signers && sk_X509_num(signers) == 1)
		ts->tsa = oab_name_str(X509_get_subject_name(sk_X509_value(signers, 0)));
	sk_X509_free(signers);
	if (!cas)
		goto out;
	if (ts->time < 0) {
		snprintf(ts->why, sizeof(ts->why), "timestamp genTime unreadable");
		ts->trusted = 0;
	} else if (!check_token(tok, tst, si, cas, now, ts->why, sizeof(ts->why))) {
		ts->trusted = 0;
	} else if (ts->time > now + TS_FUTURE_SLACK) {
		snprintf(ts->why, sizeof(ts->why), "timestamp genTime lies after the verification time");
		ts->trusted = 0;
	} else {
		ts->trusted = 1;
	}
out:
	ERR_clear_error();
	TS_TST_INFO_free(tst);
	PKCS7_free(tok);
	return 1;
}
