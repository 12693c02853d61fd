/* SPDX-License-Identifier: Apache-2.0 */
/* pubkey.c - public keys and certificates as verify sees them: PEM
 * certificate files, canonical key ids, short descriptions ("EC P-256")
 * and the key algorithm policy. Loading signing keys is in keys.c. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "internal.h"

int oab_load_certs(const char *path, STACK_OF(X509) **out, struct oab_err *err)
{
	int fd = oab_open_regular(path, "certificate file", NULL, OAB_E_USAGE, NULL, err);
	BIO *b = fd >= 0 ? BIO_new_fd(fd, BIO_CLOSE) : NULL;
	STACK_OF(X509) *sk;
	X509 *x;

	*out = NULL;
	if (fd < 0)
		return -1;
	if (!b) {
		close(fd);
		return oab_err_ssl(err, OAB_E_INTERNAL, "certificate file '%s'", path);
	}
	sk = sk_X509_new_null();
	while (sk && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			break;
		}
	BIO_free(b);
	ERR_clear_error();
	if (!sk || sk_X509_num(sk) == 0) {
		sk_X509_pop_free(sk, X509_free);
		return oab_err_set(err, OAB_E_KEY, "certificate file '%s': no PEM certificate found",
				   path);
	}
	*out = sk;
	return 0;
}
void oab_key_describe(EVP_PKEY *k, char *buf, size_t n)
{
	char grp[64] = "";

	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_RSA:
		snprintf(buf, n, "RSA-%d", EVP_PKEY_get_bits(k));
		break;
	case EVP_PKEY_RSA_PSS:
		snprintf(buf, n, "RSA-PSS-%d", EVP_PKEY_get_bits(k));
		break;
	case EVP_PKEY_EC:
		EVP_PKEY_get_utf8_string_param(k, "group", grp, sizeof(grp), NULL);
		snprintf(buf, n, "EC %s", strcmp(grp, "prime256v1") == 0 ? "P-256"
					: strcmp(grp, "secp384r1") == 0 ? "P-384"
					: strcmp(grp, "secp521r1") == 0 ? "P-521" : grp);
		break;
	case EVP_PKEY_ED25519:
		snprintf(buf, n, "Ed25519");
		break;
	case EVP_PKEY_ED448:
		snprintf(buf, n, "Ed448");
		break;
	default:
		snprintf(buf, n, "%s", OBJ_nid2sn(EVP_PKEY_get_base_id(k)));
	}
}

/* The one public key of k in a single encoding: RSA (also RSA-PSS) as
 * rsaEncryption {n, e}; EC as a named curve with an uncompressed point.
 * The same key written with a compressed or hybrid point, or under the
 * RSA-PSS OID, gives the same canonical key. Explicit EC parameters are
 * refused (NULL). Other types are returned as they are (up-ref'd). */
static EVP_PKEY *key_canonical(EVP_PKEY *k)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *out = NULL;
	BIGNUM *n = NULL, *e = NULL;
	EC_GROUP *grp = NULL;
	EC_POINT *pt = NULL;
	unsigned char *pub = NULL;
	size_t publen = 0;
	char enc[32] = "", gname[64] = "";
	const char *type;
	int id = EVP_PKEY_get_base_id(k);

	if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) {
		type = "RSA";
		if (!EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) ||
		    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e) ||
		    !(bld = OSSL_PARAM_BLD_new()) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto out;
	} else if (id == EVP_PKEY_EC) {
		size_t len = 0;
		int nid;

		type = "EC";
		if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_EC_ENCODING, enc, sizeof(enc),
						    NULL) ||
		    strcmp(enc, OSSL_PKEY_EC_ENCODING_GROUP) != 0 ||
		    !EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, gname,
						    sizeof(gname), NULL) ||
		    (nid = OBJ_sn2nid(gname)) == NID_undef || !(grp = EC_GROUP_new_by_curve_name(nid)) ||
		    !EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, NULL, 0, &len) ||
		    !(pub = OPENSSL_malloc(len ? len : 1)) ||
		    !EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub, len, &len) ||
		    !(pt = EC_POINT_new(grp)) || !EC_POINT_oct2point(grp, pt, pub, len, NULL))
			goto out;
		OPENSSL_free(pub);
		pub = NULL;
		publen = EC_POINT_point2buf(grp, pt, POINT_CONVERSION_UNCOMPRESSED, &pub, NULL);
		if (!publen || !(bld = OSSL_PARAM_BLD_new()) ||
		    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, gname, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, publen))
			goto out;
	} else {
		if (EVP_PKEY_up_ref(k) == 1)
			out = k;
		goto out;
	}
	if (!(params = OSSL_PARAM_BLD_to_param(bld)) ||
	    !(ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &out, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		out = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	EC_POINT_free(pt);
	EC_GROUP_free(grp);
	OPENSSL_free(pub);
	ERR_clear_error();
	return out;
}

int oab_key_id(EVP_PKEY *k, char out[65])
{
	unsigned char *der = NULL, md[32];
	const unsigned char *p;
	EVP_PKEY *pub = NULL, *c = NULL;
	int len = k ? i2d_PUBKEY(k, &der) : -1;
	unsigned int dl;
	int ok;

	/* The public half read back from its SPKI: a provider key whose
	 * parameters can be read also when k lives in an engine (token). */
	p = der;
	if (len > 0 && (pub = d2i_PUBKEY(NULL, &p, len)))
		c = key_canonical(pub);
	EVP_PKEY_free(pub);
	OPENSSL_free(der);
	der = NULL;
	len = c ? i2d_PUBKEY(c, &der) : -1;
	EVP_PKEY_free(c);
	if (len <= 0) {
		ERR_clear_error();
		return -1;
	}
	ok = EVP_Digest(der, (size_t)len, md, &dl, EVP_sha256(), NULL);
	OPENSSL_free(der);
	if (ok != 1)
		return -1;
	oab_hex(md, 32, out);
	return 0;
}

int oab_key_policy(EVP_PKEY *k, int allow_weak, int signer, char *why, size_t n)
{
	int id = k ? EVP_PKEY_get_base_id(k) : NID_undef, bits = k ? EVP_PKEY_get_bits(k) : 0;
	BIGNUM *e = NULL;
	char enc[32] = "", grp[64] = "";
	int rc = -1;

	if (!k) {
		snprintf(why, n, "certificate without a readable public key");
		goto out;
	}
	switch (id) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		/* Bound the work before any signature is checked with it:
		 * verifying costs about bits(n)^2 * bits(e). */
		if (bits > OAB_RSA_MAX_BITS) {
			snprintf(why, n, "RSA key of %d bits (at most %d accepted)", bits, OAB_RSA_MAX_BITS);
			goto out;
		}
		/* odd, 3 <= e <= 2^32: as 2^32 is even, at most 32 bits */
		if (!EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e) || BN_num_bits(e) > 32 ||
		    !BN_is_odd(e) || BN_is_one(e)) {
			snprintf(why, n, "RSA public exponent of %d bits (an odd value from 3 to 2^32 expected)",
				 e ? BN_num_bits(e) : 0);
			goto out;
		}
		if (bits < OAB_RSA_WEAK_BITS || (bits < OAB_RSA_MIN_BITS && !allow_weak)) {
			snprintf(why, n, "RSA key of %d bits is weak (%d required)", bits, OAB_RSA_MIN_BITS);
			goto out;
		}
		break;
	case EVP_PKEY_EC:
		if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_EC_ENCODING, enc, sizeof(enc),
						    NULL) ||
		    strcmp(enc, OSSL_PKEY_EC_ENCODING_GROUP) != 0) {
			snprintf(why, n, "EC key with explicit curve parameters (a named curve expected)");
			goto out;
		}
		EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, grp, sizeof(grp), NULL);
		if (strcmp(grp, "prime256v1") != 0 && strcmp(grp, "secp384r1") != 0 &&
		    strcmp(grp, "secp521r1") != 0) {
			snprintf(why, n, "EC curve '%.40s' is not accepted (P-256, P-384, P-521)", grp);
			goto out;
		}
		break;
	case EVP_PKEY_ED25519:
	case EVP_PKEY_ED448:
		if (!signer)
			break; /* a CA may certify with EdDSA; CMS cannot use it */
		/* fall through */
	default:
		snprintf(why, n, "key type %s is not accepted%s", OBJ_nid2sn(id),
			 signer ? " for signing (RSA or EC)" : " (RSA, EC or EdDSA)");
		goto out;
	}
	rc = 0;
out:
	BN_free(e);
	ERR_clear_error();
	return rc;
}
