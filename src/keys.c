/* SPDX-License-Identifier: Apache-2.0 */
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

int oab_signers_load(const struct oab_signer_spec *specs, size_t n, const char *const *chain_files,
		     size_t n_chain, const struct oab_trust *trust, struct oab_signer **out,
		     STACK_OF(X509) **chain, struct oab_err *err)
{
	struct oab_signer *s = oab_calloc_array(n, sizeof(*s));
	struct oab_p11_pending **pend = oab_calloc_array(n, sizeof(*pend));

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
