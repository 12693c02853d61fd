/* SPDX-License-Identifier: Apache-2.0 */
/* sigbomb.c - test tool: write a hostile manifest.sig that costs a naive
 * verifier a lot of CPU without any trusted key.
 *
 *   sigbomb MANIFEST OUT N EBITS NBITS
 *
 * OUT is a detached CMS SignedData (DER) over MANIFEST with N SignerInfos
 * (no signed attributes), all naming one certificate whose RSA public key
 * has a random odd modulus of NBITS bits and a random odd public exponent
 * of EBITS bits: checking one signature costs about EBITS * NBITS^2.
 * With EBITS 0 the certificate holds the real signing key (RSA-2048,
 * 65537), so the signatures are valid. The certificate is self-issued and
 * trusted by no one. N 0 writes a SignedData without any SignerInfo. */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

static X509 *cert_for(EVP_PKEY *pub, EVP_PKEY *signer)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	if (!x || !n || X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 7) != 1 ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 86400) ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"sigbomb", -1, -1,
				       0) != 1 ||
	    X509_set_subject_name(x, n) != 1 || X509_set_issuer_name(x, n) != 1 ||
	    X509_set_pubkey(x, pub) != 1 || X509_sign(x, signer, EVP_sha256()) <= 0)
		exit(1);
	X509_NAME_free(n);
	return x;
}

/* A public key with random odd n and e of nbits and ebits bits. */
static EVP_PKEY *costly(int nbits, int ebits)
{
	BIGNUM *n = BN_new(), *e = BN_new();
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *p;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *out = NULL;

	if (!n || !e || !b || !ctx || !BN_rand(n, nbits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD) ||
	    !BN_rand(e, ebits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e) || !(p = OSSL_PARAM_BLD_to_param(b)) ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 || EVP_PKEY_fromdata(ctx, &out, EVP_PKEY_PUBLIC_KEY, p) <= 0)
		exit(1);
	return out;
}

int main(int argc, char **argv)
{
	EVP_PKEY *k;
	X509 *real, *shown;
	CMS_ContentInfo *cms;
	CMS_SignerInfo *si;
	STACK_OF(CMS_SignerInfo) *sis;
	BIO *in, *out;
	int n, ebits, nbits;

	if (argc != 6) {
		fprintf(stderr, "usage: sigbomb MANIFEST OUT N EBITS NBITS\n");
		return 2;
	}
	n = atoi(argv[3]);
	ebits = atoi(argv[4]);
	nbits = atoi(argv[5]);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (!k || n < 0)
		return 1;
	real = cert_for(k, k);
	shown = ebits > 0 ? cert_for(costly(nbits, ebits), k) : real;
	in = BIO_new_file(argv[1], "rb");
	cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_DETACHED | CMS_BINARY);
	if (!in || !cms)
		return 1;
	si = n ? CMS_add1_signer(cms, real, k, EVP_sha256(), CMS_BINARY | CMS_NOATTR | CMS_NOCERTS)
	       : NULL;
	if ((n && (!si || CMS_final(cms, in, NULL, CMS_BINARY | CMS_DETACHED) != 1)) ||
	    CMS_add1_cert(cms, shown) != 1)
		return 1;
	if (n && ebits > 0) {
		/* A signature value as long as the modulus (RSA verify
		 * checks the length before it computes). */
		int len = (nbits + 7) / 8;
		unsigned char *v = calloc(1, (size_t)len);

		if (!v || RAND_bytes(v + 1, len - 1) != 1 ||
		    ASN1_STRING_set(CMS_SignerInfo_get0_signature(si), v, len) != 1)
			return 1;
		free(v);
	}
	/* The same SignerInfo n times (never freed: the tool exits). */
	sis = CMS_get0_SignerInfos(cms);
	for (int i = 1; i < n; i++)
		if (!sk_CMS_SignerInfo_push(sis, si))
			return 1;
	out = BIO_new_file(argv[2], "wb");
	if (!out || i2d_CMS_bio(out, cms) != 1 || BIO_free(out) != 1)
		return 1;
	return 0;
}
