/* keys.c - the one loader for signing keys and certificates. The rest of
 * the code sees an EVP_PKEY and an X509 and never where they live. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "internal.h"

struct pass_ctx {
	const struct oab_signer_spec *spec;
	const char *label;
	struct oab_err *err;
	int asked;
	int failed;
};

/* OpenSSL asks for the passphrase only when the key is encrypted. It
 * comes from the spec's source, else from its get_secret callback; the
 * library never prompts. */
static int pass_cb(char *buf, int size, int rwflag, void *u)
{
	struct pass_ctx *pc = u;
	const struct oab_signer_spec *spec = pc->spec;
	char *sec;
	int n;

	(void)rwflag;
	pc->asked = 1;
	if (pc->failed) /* OpenSSL may try another decoder: ask once */
		return -1;
	if (!spec->pass && !spec->get_secret) {
		pc->failed = 1;
		oab_err_set(pc->err, OAB_E_KEY, "key '%s' is encrypted",
			    pc->label);
		return oab_err_detail(pc->err, OAB_D_PASSPHRASE_NEEDED, pc->label, -1, NULL, NULL);
	}
	/* Read into locked memory of ours; OpenSSL wipes its copy. */
	sec = size > 0 ? oab_secret_alloc((size_t)size) : NULL;
	if (!sec) {
		pc->failed = 1;
		return oab_err_set(pc->err, OAB_E_INTERNAL, "out of memory");
	}
	if (spec->pass) {
		n = oab_secret_read(spec->pass, NULL, sec, (size_t)size, pc->err);
	} else {
		n = spec->get_secret(spec->secret_arg, OAB_SECRET_PASSPHRASE, pc->label, sec,
				     (size_t)size);
		if (n < 0 || n >= size || n != (int)strnlen(sec, (size_t)size)) {
			oab_err_set(pc->err, OAB_E_KEY, "key '%s': no passphrase given", pc->label);
			oab_err_detail(pc->err, OAB_D_PASSPHRASE_NEEDED, pc->label, -1, NULL, NULL);
			n = -1;
		}
	}
	if (n < 0)
		pc->failed = 1;
	else
		memcpy(buf, sec, (size_t)n + 1);
	oab_secret_free(sec, (size_t)size);
	return n < 0 ? -1 : n;
}

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

int oab_signer_load(const struct oab_signer_spec *spec, struct oab_signer *s,
		    struct oab_err *err)
{
	return oab_signer_load_prepared(spec, NULL, s, err);
}

int oab_signer_load_prepared(const struct oab_signer_spec *spec, struct oab_p11_pending *pending,
			     struct oab_signer *s, struct oab_err *err)
{
	struct oab_p11_pending *own = NULL;
	struct pass_ctx pc = {.spec = spec, .label = spec->key, .err = err};
	STACK_OF(X509) *certs = NULL;
	BIO *b = NULL;
	int rc = -1;

	memset(s, 0, sizeof(*s));
	if (!spec->key || !spec->cert) {
		oab_err_set(err, OAB_E_USAGE, "a signer needs both a key and a certificate");
		return oab_err_detail(err, OAB_D_SIGNER_INCOMPLETE, NULL, -1, NULL, NULL);
	}
	/* A URI may hold pin-value or pin-source: never in messages. */
	s->label = oab_p11_label(spec->key);
	if (!s->label)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	if (strncmp(spec->key, "pkcs11:", 7) == 0) {
		if (!pending && oab_p11_prepare(spec, &own, err) < 0)
			goto out;
		if (oab_p11_load(pending ? pending : own, s, err) < 0)
			goto out;
		if (!s->cert)
			goto cert_file;
		goto check;
	}
	if (strncmp(spec->cert, "pkcs11:", 7) == 0) {
		oab_err_set(err, OAB_E_USAGE, "a certificate from a token needs its key on a token too");
		goto out;
	}
	{
		int fd = oab_open_regular(spec->key, "key", s->label, OAB_E_USAGE, NULL, err);

		if (fd < 0)
			goto out;
		b = BIO_new_fd(fd, BIO_CLOSE);
		if (!b) {
			close(fd);
			oab_err_ssl(err, OAB_E_INTERNAL, "key '%s'", s->label);
			goto out;
		}
	}
	s->key = PEM_read_bio_PrivateKey(b, NULL, pass_cb, &pc);
	if (!s->key) {
		if (pc.failed) {
			ERR_clear_error(); /* err already says why */
			goto out;
		}
		if (pc.asked)
			oab_err_set(err, OAB_E_KEY, "key '%s': wrong passphrase or damaged key",
				    s->label);
		else
			oab_err_ssl(err, OAB_E_KEY, "key '%s': not a PEM private key", s->label);
		ERR_clear_error();
		goto out;
	}
cert_file:
	if (oab_load_certs(spec->cert, &certs, err) < 0)
		goto out;
	s->cert = sk_X509_shift(certs);
check:
	if (X509_check_private_key(s->cert, s->key) != 1) {
		char *cl = oab_p11_label(spec->cert);

		ERR_clear_error();
		oab_err_set(err, OAB_E_KEY, "key '%s' does not belong to certificate '%s'",
			    s->label, cl ? cl : "?");
		free(cl);
		goto out;
	}
	switch (EVP_PKEY_get_base_id(s->key)) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		if (EVP_PKEY_get_bits(s->key) < 2048) {
			oab_err_set(err, OAB_E_KEY, "key '%s': RSA keys need at least 2048 bits (has %d)",
				    s->label, EVP_PKEY_get_bits(s->key));
			goto out;
		}
		break;
	case EVP_PKEY_EC: {
		char grp[64] = "";

		EVP_PKEY_get_utf8_string_param(s->key, "group", grp, sizeof(grp), NULL);
		if (strcmp(grp, "prime256v1") != 0 && strcmp(grp, "secp384r1") != 0 &&
		    strcmp(grp, "secp521r1") != 0) {
			oab_err_set(err, OAB_E_KEY, "key '%s': EC curve '%s' is not supported (P-256, P-384, P-521)",
				    s->label, grp);
			goto out;
		}
		break;
	}
	case EVP_PKEY_ED25519:
		/* OpenSSL's CMS cannot sign or verify EdDSA with signed
		 * attributes (openssl#11915, #32248): neither we nor an
		 * auditor's stock `openssl cms -verify` could check it. */
		oab_err_set(err, OAB_E_KEY,
			    "key '%s': Ed25519 CMS signatures are not supported by OpenSSL %s (RFC 8419); use ECDSA P-256/P-384 or RSA",
			    s->label, OpenSSL_version(OPENSSL_VERSION_STRING));
		goto out;
	default:
		oab_err_set(err, OAB_E_KEY,
			    "key '%s': unsupported key type (use ECDSA P-256/P-384 or RSA >= 2048)",
			    s->label);
		goto out;
	}
	rc = 0;
out:
	BIO_free(b);
	sk_X509_pop_free(certs, X509_free);
	oab_p11_pending_free(own);
	if (rc < 0)
		oab_signer_release(s);
	return rc;
}

void oab_signer_release(struct oab_signer *s)
{
	EVP_PKEY_free(s->key);
	oab_p11_release(s->engine);
	X509_free(s->cert);
	free(s->label);
	memset(s, 0, sizeof(*s));
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

int oab_signers_load(const struct oab_signer_spec *specs, size_t n, const char *const *chain_files,
		     size_t n_chain, const struct oab_trust *trust, struct oab_signer **out,
		     STACK_OF(X509) **chain, struct oab_err *err)
{
	struct oab_signer *s = oab_xcalloc(n, sizeof(*s));
	struct oab_p11_pending **pend = oab_xcalloc(n, sizeof(*pend));

	*out = NULL;
	*chain = NULL;
	if (!s || !pend) {
		free(pend);
		free(s);
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	}
	/* Every token PIN is read and checked before any token key is
	 * loaded (see oab_p11_prepare). */
	for (size_t i = 0; i < n; i++)
		if (specs[i].key && strncmp(specs[i].key, "pkcs11:", 7) == 0 && specs[i].cert &&
		    oab_p11_prepare(&specs[i], &pend[i], err) < 0)
			goto fail;
	for (size_t i = 0; i < n; i++) {
		if (oab_signer_load_prepared(&specs[i], pend[i], &s[i], err) < 0)
			goto fail;
		for (size_t j = 0; j < i; j++)
			if (EVP_PKEY_eq(s[i].key, s[j].key) == 1) {
				oab_err_set(err, OAB_E_USAGE, "key '%s' is given twice", s[i].label);
				goto fail;
			}
	}
	for (size_t i = 0; i < n_chain; i++) {
		STACK_OF(X509) *sk;
		X509 *x;

		if (oab_load_certs(chain_files[i], &sk, err) < 0)
			goto fail;
		if (!*chain)
			*chain = sk_X509_new_null();
		while ((x = sk_X509_shift(sk)))
			if (!*chain || !sk_X509_push(*chain, x))
				X509_free(x);
		sk_X509_free(sk);
	}
	if (oab_signers_judge(specs, s, n, *chain, trust, (int64_t)time(NULL), err) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++)
		oab_p11_pending_free(pend[i]);
	free(pend);
	*out = s;
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		oab_p11_pending_free(pend[i]);
	free(pend);
	oab_signers_free(s, n);
	sk_X509_pop_free(*chain, X509_free);
	*chain = NULL;
	return -1;
}

void oab_signers_free(struct oab_signer *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		oab_signer_release(&s[i]);
	free(s);
}
