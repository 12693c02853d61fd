/* SPDX-License-Identifier: Apache-2.0 */
/* testlib.h - helpers shared by the unit tests (temp folders, files, keys
 * and certificates made in code). Every function is static and marked
 * unused so each test file takes only what it needs. Include after
 * <setjmp.h>/<cmocka.h>. */
#ifndef OAB_TESTLIB_H
#define OAB_TESTLIB_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define TL_UNUSED __attribute__((unused))

/* ---- temp folders and files ------------------------------------------ */

/* A fresh folder under $TMPDIR (or /tmp); malloc'd path. */
static TL_UNUSED char *tl_mkdtemp(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *p;

	if (!base || !*base)
		base = "/tmp";
	if (asprintf(&p, "%s/oab-unit-%s.XXXXXX", base, tag) < 0)
		return NULL;
	if (!mkdtemp(p)) {
		free(p);
		return NULL;
	}
	return p;
}

static int tl_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* rm -rf path (no symlinks followed). */
static TL_UNUSED int tl_rm_rf(const char *path)
{
	if (!path)
		return 0;
	return nftw(path, tl_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* malloc'd "dir/name". */
static TL_UNUSED char *tl_path(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

static TL_UNUSED int tl_write_file(const char *path, const void *buf, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (!f)
		return -1;
	ok = fwrite(buf, 1, n, f) == n;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Whole file into a malloc'd buffer (NUL-terminated). */
static TL_UNUSED unsigned char *tl_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t r;

		if (n + 65536 + 1 > cap) {
			unsigned char *nb;

			cap = cap ? cap * 2 : 131072;
			nb = realloc(b, cap);
			if (!nb) {
				free(b);
				fclose(f);
				return NULL;
			}
			b = nb;
		}
		r = fread(b + n, 1, 65536, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	b[n] = '\0';
	*len = n;
	return b;
}

/* All bytes of fd from offset 0 (malloc'd). */
static TL_UNUSED unsigned char *tl_read_fd(int fd, size_t *len)
{
	struct stat st;
	unsigned char *b;
	size_t n = 0;

	if (fstat(fd, &st) < 0)
		return NULL;
	b = malloc((size_t)st.st_size + 1);
	if (!b)
		return NULL;
	while (n < (size_t)st.st_size) {
		ssize_t r = pread(fd, b + n, (size_t)st.st_size - n, (off_t)n);

		if (r <= 0) {
			free(b);
			return NULL;
		}
		n += (size_t)r;
	}
	*len = n;
	return b;
}

static TL_UNUSED void tl_sha256(const void *buf, size_t n, unsigned char md[32])
{
	unsigned int dl = 0;

	if (EVP_Digest(buf, n, md, &dl, EVP_sha256(), NULL) != 1 || dl != 32)
		memset(md, 0, 32);
}

/* ---- keys and certificates ------------------------------------------- */

static TL_UNUSED EVP_PKEY *tl_key_ec(const char *curve)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
}

static TL_UNUSED EVP_PKEY *tl_key_rsa(size_t bits)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
}

static TL_UNUSED EVP_PKEY *tl_key_ed25519(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
}

static int tl_add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok;

	if (!ext)
		return -1;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

struct tl_cert_opts {
	const char *cn;
	long serial;
	int ca;            /* basicConstraints CA:TRUE + keyCertSign */
	const char *eku;   /* extendedKeyUsage value, NULL: none */
	long not_before;   /* seconds relative to now */
	long not_after;    /* seconds relative to now */
};

/* A v3 certificate for key, issued by (issuer, issuer_key) or self-signed
 * when issuer is NULL. Carries SKID/AKID so X509_V_FLAG_X509_STRICT is
 * satisfied. */
static TL_UNUSED X509 *tl_make_cert(EVP_PKEY *key, const struct tl_cert_opts *o, X509 *issuer,
				    EVP_PKEY *issuer_key)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX ctx;
	EVP_PKEY *sk = issuer_key ? issuer_key : key;
	int id = EVP_PKEY_get_base_id(sk);
	const EVP_MD *md = id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448 ? NULL : EVP_sha256();
	time_t now = time(NULL);

	if (!x || !name)
		goto fail;
	if (X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), o->serial) != 1 ||
	    !X509_time_adj_ex(X509_getm_notBefore(x), 0, o->not_before, &now) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), 0, o->not_after, &now) ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
				       (const unsigned char *)"otabundle unit", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)o->cn,
				       -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) != 1 ||
	    X509_set_pubkey(x, key) != 1)
		goto fail;
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	if (tl_add_ext(x, &ctx, NID_basic_constraints,
		       o->ca ? "critical,CA:TRUE" : "critical,CA:FALSE") < 0 ||
	    tl_add_ext(x, &ctx, NID_key_usage,
		       o->ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") < 0 ||
	    tl_add_ext(x, &ctx, NID_subject_key_identifier, "hash") < 0 ||
	    tl_add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") < 0)
		goto fail;
	if (o->eku && tl_add_ext(x, &ctx, NID_ext_key_usage, o->eku) < 0)
		goto fail;
	if (X509_sign(x, sk, md) <= 0)
		goto fail;
	X509_NAME_free(name);
	return x;
fail:
	X509_NAME_free(name);
	X509_free(x);
	return NULL;
}

/* A self-signed code-signing certificate valid from an hour ago for a year. */
static TL_UNUSED X509 *tl_self_signed(EVP_PKEY *key, const char *cn, long serial)
{
	struct tl_cert_opts o = {.cn = cn, .serial = serial, .eku = "codeSigning",
				 .not_before = -3600, .not_after = 365L * 86400};

	return tl_make_cert(key, &o, NULL, NULL);
}

static TL_UNUSED int tl_write_key(const char *path, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static TL_UNUSED int tl_write_key_encrypted(const char *path, EVP_PKEY *key, const char *pass)
{
	BIO *b = BIO_new_file(path, "w");
	int ok;

	if (!b)
		return -1;
	ok = PEM_write_bio_PrivateKey(b, key, EVP_aes_256_cbc(), (const unsigned char *)pass,
				      (int)strlen(pass), NULL, NULL) == 1;
	BIO_free(b);
	return ok ? 0 : -1;
}

/* Write one or more certificates (NULL-terminated list) to a PEM file. */
static TL_UNUSED int tl_write_certs(const char *path, X509 *first, ...)
{
	FILE *f = fopen(path, "w");
	va_list ap;
	int ok = 1;

	if (!f)
		return -1;
	va_start(ap, first);
	for (X509 *x = first; x; x = va_arg(ap, X509 *))
		if (PEM_write_X509(f, x) != 1)
			ok = 0;
	va_end(ap);
	return fclose(f) == 0 && ok ? 0 : -1;
}

#endif
