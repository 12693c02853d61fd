/* SPDX-License-Identifier: Apache-2.0 */
/* crl.c - certificate revocation lists: loading them (build/sign --crl,
 * verify --crl) and judging a validated chain against them (otabundle(1)
 * REVOCATION). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "internal.h"

int oab_crls_load(const char *path, STACK_OF(X509_CRL) **out, struct oab_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	BIO *b;
	X509_CRL *c;
	STACK_OF(X509_CRL) *sk = NULL;

	*out = NULL;
	if (oab_read_file(path, OAB_MAX_CRL_BYTES, &buf, &len, err) < 0)
		return oab_err_prefix(err, "CRL file: ");
	b = BIO_new_mem_buf(buf, (int)len);
	sk = b ? sk_X509_CRL_new_null() : NULL;
	while (sk && (c = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL))) {
		if (sk_X509_CRL_num(sk) >= OAB_MAX_CRLS || !sk_X509_CRL_push(sk, c)) {
			X509_CRL_free(c);
			sk_X509_CRL_pop_free(sk, X509_CRL_free);
			BIO_free(b);
			free(buf);
			ERR_clear_error();
			return oab_err_set(err, OAB_E_USAGE, "CRL file '%s': more than %d CRLs", path,
					   OAB_MAX_CRLS);
		}
	}
	BIO_free(b);
	free(buf);
	ERR_clear_error();
	if (!sk || sk_X509_CRL_num(sk) == 0) {
		sk_X509_CRL_pop_free(sk, X509_CRL_free);
		return oab_err_set(err, OAB_E_USAGE, "CRL file '%s': no PEM X509 CRL found", path);
	}
	*out = sk;
	return 0;
}

int oab_crls_append(STACK_OF(X509_CRL) **to, STACK_OF(X509_CRL) *from, const char *what,
		    struct oab_err *err)
{
	X509_CRL *c;

	if (!*to && !(*to = sk_X509_CRL_new_null()))
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	if (sk_X509_CRL_num(*to) + sk_X509_CRL_num(from) > OAB_MAX_CRLS)
		return oab_err_set(err, OAB_E_USAGE, "%s: more than %d CRLs in all", what, OAB_MAX_CRLS);
	while ((c = sk_X509_CRL_shift(from)))
		if (!sk_X509_CRL_push(*to, c)) {
			X509_CRL_free(c);
			return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		}
	return 0;
}

/* ---- judging a chain ------------------------------------------------- */

static const char *reason_name(int r)
{
	switch (r) {
	case CRL_REASON_UNSPECIFIED: return "unspecified";
	case CRL_REASON_KEY_COMPROMISE: return "keyCompromise";
	case CRL_REASON_CA_COMPROMISE: return "cACompromise";
	case CRL_REASON_AFFILIATION_CHANGED: return "affiliationChanged";
	case CRL_REASON_SUPERSEDED: return "superseded";
	case CRL_REASON_CESSATION_OF_OPERATION: return "cessationOfOperation";
	case CRL_REASON_CERTIFICATE_HOLD: return "certificateHold";
	case CRL_REASON_REMOVE_FROM_CRL: return "removeFromCRL";
	case CRL_REASON_PRIVILEGE_WITHDRAWN: return "privilegeWithdrawn";
	case CRL_REASON_AA_COMPROMISE: return "aACompromise";
	default: return "unspecified";
	}
}

static int revoked_reason(X509_REVOKED *rv)
{
	ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, NULL, NULL);
	long r = e ? ASN1_ENUMERATED_get(e) : CRL_REASON_UNSPECIFIED;

	ASN1_ENUMERATED_free(e);
	ERR_clear_error();
	return r < 0 || r > CRL_REASON_AA_COMPROMISE ? CRL_REASON_UNSPECIFIED : (int)r;
}

/* A complete CRL of issuer, signed by it: no delta CRL and no scoped
 * (issuingDistributionPoint) CRL, which otabundle does not interpret. */
static int crl_of(X509_CRL *c, X509 *issuer)
{
	EVP_PKEY *k = X509_get0_pubkey(issuer);
	int ok;

	if (X509_NAME_cmp(X509_CRL_get_issuer(c), X509_get_subject_name(issuer)) != 0 || !k)
		return 0;
	if (X509_CRL_get_ext_by_NID(c, NID_delta_crl, -1) >= 0 ||
	    X509_CRL_get_ext_by_NID(c, NID_issuing_distribution_point, -1) >= 0)
		return 0;
	ok = X509_CRL_verify(c, k) == 1;
	ERR_clear_error();
	return ok;
}

/* The policy (otabundle(1) REVOCATION): a certificate listed as revoked
 * for keyCompromise or cACompromise in any authentic CRL of its issuer
 * is revoked whatever the date (its key may have signed backdated
 * bundles); for any other reason when revoked at or before now. It is
 * "good" only with a current CRL of its issuer (thisUpdate <= now <
 * nextUpdate) that does not list it. */
static int judge_one(X509 *x, X509 *issuer, STACK_OF(X509_CRL) *crls, int64_t now,
		     struct oab_signer_report *sr, int64_t *next, int *stale)
{
	int current = 0;
	int64_t best = -1;

	for (int j = 0; j < sk_X509_CRL_num(crls); j++) {
		X509_CRL *c = sk_X509_CRL_value(crls, j);
		X509_REVOKED *rv = NULL;
		int64_t tu, nu;

		if (!crl_of(c, issuer))
			continue;
		tu = oab_asn1_time(X509_CRL_get0_lastUpdate(c));
		nu = X509_CRL_get0_nextUpdate(c) ? oab_asn1_time(X509_CRL_get0_nextUpdate(c)) : -1;
		if (X509_CRL_get0_by_cert(c, &rv, x) == 1 && rv) {
			int reason = revoked_reason(rv);
			int64_t when = oab_asn1_time(X509_REVOKED_get0_revocationDate(rv));

			ERR_clear_error();
			if (reason != CRL_REASON_REMOVE_FROM_CRL &&
			    (reason == CRL_REASON_KEY_COMPROMISE || reason == CRL_REASON_CA_COMPROMISE ||
			     (when >= 0 && when <= now))) {
				sr->revoked_at = when;
				free(sr->revoked_reason);
				sr->revoked_reason = strdup(reason_name(reason));
				return 1;
			}
		}
		ERR_clear_error();
		if (tu < 0 || tu > now)
			continue;
		if (nu < 0 || nu <= now) {
			*stale = 1;
			continue;
		}
		current = 1;
		if (best < 0 || nu > best)
			best = nu;
	}
	if (!current)
		return 2;
	if (*next < 0 || best < *next)
		*next = best;
	return 0;
}

char *oab_revocation_check(STACK_OF(X509) *path, STACK_OF(X509_CRL) *crls, int64_t now,
			   int required, struct oab_signer_report *sr)
{
	int n = sk_X509_num(path), missing = -1, missing_stale = 0;
	int64_t next = -1;
	char when[32], *who, *iss;
	X509 *x;
	int e;

	sr->revocation = OAB_REV_NOT_CHECKED;
	if (!required && sk_X509_CRL_num(crls) <= 0)
		return NULL; /* nothing to check against, nothing asked */
	/* every certificate below the anchor (the last of the path): a
	 * revocation anywhere wins over a missing CRL elsewhere */
	for (int i = 0; i + 1 < n; i++) {
		int stale = 0, r = judge_one(sk_X509_value(path, i), sk_X509_value(path, i + 1), crls,
					     now, sr, &next, &stale);

		if (r == 1) {
			missing = i;
			break;
		}
		if (r == 2 && missing < 0) {
			missing = i;
			missing_stale = stale;
		}
	}
	if (missing < 0) {
		sr->revocation = OAB_REV_GOOD;
		if (n > 1)
			sr->crl_issuer = oab_name_str(X509_get_issuer_name(sk_X509_value(path, 0)));
		sr->crl_next_update = next;
		if (n <= 1)
			sr->revocation_note = strdup("the signer certificate is itself an anchor");
		return NULL;
	}
	x = sk_X509_value(path, missing);
	who = oab_name_str(X509_get_subject_name(x));
	iss = oab_name_str(X509_get_issuer_name(x));
	free(sr->revocation_note);
	if (sr->revoked_reason) {
		sr->revocation = OAB_REV_REVOKED;
		oab_time_format(sr->revoked_at, when);
		e = asprintf(&sr->revocation_note, "certificate '%s' revoked on %s (%s)", who ? who : "?",
			     sr->revoked_at >= 0 ? when : "?", sr->revoked_reason);
	} else {
		sr->revocation = OAB_REV_NO_CRL;
		sr->crl_next_update = -1;
		e = asprintf(&sr->revocation_note, "no current CRL from '%s' for certificate '%s'%s",
			     iss ? iss : "?", who ? who : "?",
			     missing_stale ? " (its CRL is past nextUpdate)" : "");
	}
	free(who);
	free(iss);
	if (e < 0)
		sr->revocation_note = NULL;
	if (sr->revocation == OAB_REV_REVOKED || required)
		return strdup(sr->revocation_note ? sr->revocation_note : "revocation check failed");
	return NULL;
}
