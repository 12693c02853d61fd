/* SPDX-License-Identifier: Apache-2.0 */
/* peer_mender.h - what the Mender audit (peer_mender.c) and export
 * (export_mender.c) share (not installed). */
#ifndef OAB_PEER_MENDER_H
#define OAB_PEER_MENDER_H

#include <openssl/evp.h>

#include "otabundle/error.h"

/* 1 if s is a data file name Mender accepts: ^[\w\-.,]+$ (ASCII), at most
 * 255 bytes. */
int oab_mender_name_ok(const char *s);
/* 0 if Mender can sign and verify with k (RSA, or EC P-256), else -1 and
 * why. */
int oab_mender_key_ok(EVP_PKEY *k, char *why, size_t n);
/* 1 if b64 (manifest.sig: base64 of ECDSA r||s or RSA PKCS#1 v1.5 over
 * SHA-256) by k is valid over msg, else 0. */
int oab_mender_sig_check(EVP_PKEY *k, const unsigned char *msg, size_t len, const char *b64);

/* Build side (export_mender.c). The bytes a Mender export of c signs
 * (its `manifest`, deterministic: no payload is read); *out malloc'd. */
struct oab_export_ctx;
int oab_mender_tbs(struct oab_export_ctx *c, unsigned char **out, size_t *len,
		   struct oab_err *err);
/* The export of c with a signature made elsewhere over oab_mender_tbs()'s
 * bytes: sig raw (ECDSA DER or r||s, RSA PKCS#1 v1.5), checked with pub
 * before anything is written. */
int oab_mender_attach(struct oab_export_ctx *c, EVP_PKEY *pub, const unsigned char *sig,
		      size_t len, struct oab_err *err);

#endif
