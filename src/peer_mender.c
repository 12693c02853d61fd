/* SPDX-License-Identifier: Apache-2.0 */
/* peer_mender.c - audit of Mender artifacts (format v3, as mender-artifact
 * 3.9 writes and reads them): the outer tar's member set and order, the
 * raw signature over `manifest` against pinned keys (a Mender artifact
 * carries no certificate), every manifest line's SHA-256 (version, the
 * stored header.tar.gz, each data file's content after decompression, in
 * a stream) and the header's JSON. The export (build side) is in
 * export_mender.c. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <lzma.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>

#include "internal.h"
#include "peer.h"
#include "peer_mender.h"

/* Bounds on what an artifact may make us hold (each is far above what
 * mender-artifact writes). */
#define MND_MAX_VERSION 4096          /* `version` */
#define MND_MAX_MANIFEST (256 * 1024) /* `manifest` */
#define MND_MAX_SIG 4096              /* base64 of an RSA-16384 signature fits */
#define MND_MAX_LINES 256             /* manifest lines */
#define MND_MAX_PATH 255              /* a manifest path */
#define MND_MAX_JSON (256 * 1024)     /* header-info, type-info, meta-data */
#define MND_MAX_HEADER_FILES 128      /* entries of header.tar */
#define MND_MAX_SCRIPT (4 * 1024 * 1024) /* one state script */
#define MND_MAX_PAYLOADS 16
/* What an xz member may make its decoder hold: the 128 MiB bound of a
 * zstd window (xz -9 needs 65 MiB). libarchive's own xz filter allows a
 * 1 GiB dictionary, filled by an unauthenticated stream. */
#define MND_XZ_MEMLIMIT ((uint64_t)1 << OAB_ZSTD_WINDOWLOG_MAX)
#define MND_BUF (256 * 1024)

struct mline {
	char path[MND_MAX_PATH + 1];
	unsigned char sha[32];
	int seen;
};

struct mpayload {
	char *type;     /* header-info payloads[i].type */
	char *version;  /* type-info artifact_provides "rootfs-image.version" */
	int have_type_info;
	size_t n_files; /* data files the manifest lists for it */
};

struct maudit {
	const char *label;
	struct oab_report *rep;
	int check;
	struct mline *lines;
	size_t n_lines;
	char *artifact_name;
	char **devices;
	size_t n_devices;
	struct mpayload pay[MND_MAX_PAYLOADS];
	size_t n_pay;
	char *comp; /* "gz", "xz", "" from header.tar's suffix */
	unsigned char *buf;
	struct oab_manifest *m;
};

/* ---- small helpers ------------------------------------------------------- */

static int bad(struct maudit *a, const char *id, const char *subject, struct oab_err *err,
	       enum oab_detail d, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* A failed check, recorded and returned as an OAB_E_REJECTED error. */
static int bad(struct maudit *a, const char *id, const char *subject, struct oab_err *err,
	       enum oab_detail d, const char *fmt, ...)
{
	char msg[OAB_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	oab_report_add_check(a->rep, 0, id, subject, "%s", msg);
	oab_err_set(err, OAB_E_REJECTED, "%s: %s", a->label, msg);
	return oab_err_detail(err, d, subject, -1, NULL, NULL);
}

static void esc(const char *s, char out[400])
{
	oab_escape(s, strlen(s), out, 400);
}

/* A data file name as Mender accepts it: ^[\w\-.,]+$ (ASCII). */
int oab_mender_name_ok(const char *s)
{
	if (!*s || strlen(s) > MND_MAX_PATH)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || *s == '-' || *s == '.' || *s == ','))
			return 0;
	return 1;
}

/* p is PREFIX then four digits: their value; else -1. */
static int four_digits(const char *p, const char *prefix)
{
	size_t n = strlen(prefix);
	int idx = 0;

	if (strncmp(p, prefix, n) != 0)
		return -1;
	for (size_t i = n; i < n + 4; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		idx = idx * 10 + (p[i] - '0');
	}
	return idx;
}

/* "data/NNNN/NAME": payload index and name; -1 if the path is not one. */
static int data_path(const char *p, const char **name)
{
	int idx = four_digits(p, "data/");

	if (idx < 0 || p[9] != '/' || !oab_mender_name_ok(p + 10))
		return -1;
	*name = p + 10;
	return idx;
}

static struct mline *line_find(struct maudit *a, const char *path)
{
	for (size_t i = 0; i < a->n_lines; i++)
		if (strcmp(a->lines[i].path, path) == 0)
			return &a->lines[i];
	return NULL;
}

/* The manifest: "<64 lowercase hex>  <path>\n" lines, each path once. */
static int parse_manifest(struct maudit *a, const unsigned char *b, size_t len,
			  struct oab_err *err)
{
	size_t at = 0;

	if (len == 0 || b[len - 1] != '\n')
		return bad(a, "manifest", "manifest", err, OAB_D_MANIFEST,
			   "member 'manifest': empty or not ending in a newline");
	a->lines = calloc(MND_MAX_LINES, sizeof(*a->lines));
	if (!a->lines)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	while (at < len) {
		const unsigned char *nl = memchr(b + at, '\n', len - at);
		size_t n = (size_t)(nl - (b + at)), plen;
		struct mline *l;
		const char *dn;
		char path[MND_MAX_PATH + 1], e[400];

		if (a->n_lines == MND_MAX_LINES)
			return bad(a, "manifest", "manifest", err, OAB_D_MANIFEST,
				   "member 'manifest': more than %d lines", MND_MAX_LINES);
		if (n < 67 || b[at + 64] != ' ' || b[at + 65] != ' ')
			return bad(a, "manifest", "manifest", err, OAB_D_MANIFEST,
				   "member 'manifest': line %zu is not '<sha256>  <path>'",
				   a->n_lines + 1);
		plen = n - 66;
		if (plen > MND_MAX_PATH || memchr(b + at + 66, 0, plen))
			return bad(a, "manifest", "manifest", err, OAB_D_MANIFEST,
				   "member 'manifest': line %zu: path longer than %d bytes or with NUL",
				   a->n_lines + 1, MND_MAX_PATH);
		memcpy(path, b + at + 66, plen);
		path[plen] = 0;
		esc(path, e);
		l = &a->lines[a->n_lines];
		for (int i = 0; i < 64; i++)
			if (!((b[at + i] >= '0' && b[at + i] <= '9') || (b[at + i] >= 'a' && b[at + i] <= 'f')))
				return bad(a, "manifest", "manifest", err, OAB_D_MANIFEST,
					   "member 'manifest': line %zu ('%s'): not a lowercase hex SHA-256",
					   a->n_lines + 1, e);
		{
			char hex[65];

			memcpy(hex, b + at, 64);
			hex[64] = 0;
			oab_unhex(hex, l->sha, 32);
		}
		if (strcmp(path, "version") != 0 && strcmp(path, "header.tar") != 0 &&
		    strcmp(path, "header.tar.gz") != 0 && strcmp(path, "header.tar.xz") != 0 &&
		    strcmp(path, "header.tar.zst") != 0 && data_path(path, &dn) < 0)
			return bad(a, "manifest", "manifest", err, OAB_D_MANIFEST,
				   "member 'manifest': line %zu: unexpected path '%s' (expected version, "
				   "header.tar[.gz|.xz|.zst] or data/NNNN/NAME with NAME of letters, digits and .,_-)",
				   a->n_lines + 1, e);
		if (line_find(a, path))
			return bad(a, "manifest", "manifest", err, OAB_D_MANIFEST,
				   "member 'manifest': '%s' listed twice", e);
		memcpy(l->path, path, plen + 1);
		a->n_lines++;
		at += n + 1;
	}
	return 0;
}

/* Base64 (RFC 4648, padded, no line breaks) into out; -1 if malformed. */
static int unbase64(const unsigned char *in, size_t n, unsigned char *out, size_t outsz,
		    size_t *outlen)
{
	int pad = 0, r;

	if (n == 0 || n % 4 || n / 4 * 3 > outsz)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = in[i];

		if (c == '=') {
			if (i < n - 2)
				return -1;
			pad++;
		} else if (pad || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
				     (c >= '0' && c <= '9') || c == '+' || c == '/')) {
			return -1;
		}
	}
	r = EVP_DecodeBlock(out, in, (int)n);
	if (r < 0)
		return -1;
	*outlen = (size_t)r - (size_t)pad;
	return 0;
}

/* ---- the signature --------------------------------------------------------- */

int oab_mender_key_ok(EVP_PKEY *k, char *why, size_t n)
{
	char grp[64] = "";

	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA)
		return 0;
	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) {
		EVP_PKEY_get_utf8_string_param(k, "group", grp, sizeof(grp), NULL);
		if (strcmp(grp, "prime256v1") == 0)
			return 0;
	}
	oab_key_describe(k, grp, sizeof(grp));
	snprintf(why, n, "a %s key: Mender signs with RSA (PKCS#1 v1.5, SHA-256) or ECDSA P-256 only",
		 grp);
	return -1;
}

/* 1 if sig (as manifest.sig decodes: ECDSA raw r||s, RSA PKCS#1 v1.5) by k
 * is valid over msg, 0 if not. */
static int sig_valid(EVP_PKEY *k, const unsigned char *msg, size_t len, const unsigned char *sig,
		     size_t slen)
{
	unsigned char *der = NULL;
	EVP_MD_CTX *md = NULL;
	int ok = 0, dlen = 0;

	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) {
		ECDSA_SIG *es;
		BIGNUM *r, *s;

		if (slen != 64)
			return 0;
		es = ECDSA_SIG_new();
		r = BN_bin2bn(sig, 32, NULL);
		s = BN_bin2bn(sig + 32, 32, NULL);
		if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
			BN_free(r);
			BN_free(s);
			ECDSA_SIG_free(es);
			return 0;
		}
		dlen = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
		if (dlen <= 0)
			return 0;
		sig = der;
		slen = (size_t)dlen;
	}
	md = EVP_MD_CTX_new();
	if (md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) == 1)
		ok = EVP_DigestVerify(md, sig, slen, msg, len) == 1;
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ERR_clear_error();
	return ok;
}

int oab_mender_sig_check(EVP_PKEY *k, const unsigned char *msg, size_t len, const char *b64)
{
	unsigned char sig[MND_MAX_SIG];
	size_t slen;

	if (unbase64((const unsigned char *)b64, strlen(b64), sig, sizeof(sig), &slen) < 0)
		return 0;
	return sig_valid(k, msg, len, sig, slen);
}

/* Judge manifest.sig against the pinned keys of o->trust. */
static int check_signature(struct maudit *a, const struct oab_verify_opts *o,
			   const unsigned char *msg, size_t len, const unsigned char *b64,
			   size_t blen, struct oab_err *err)
{
	unsigned char sig[MND_MAX_SIG];
	struct oab_signer_report *sr = oab_report_add_signer(a->rep);
	const char *from = NULL;
	EVP_PKEY *k, *hit = NULL;
	char why[160] = "", id[65];
	size_t slen;

	if (!sr)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	sr->subject = strdup("(Mender signature: no certificate)");
	sr->signature_ok = sr->trusted = -1;
	if (unbase64(b64, blen, sig, sizeof(sig), &slen) < 0) {
		sr->signature_ok = 0;
		return bad(a, "signature", "manifest.sig", err, OAB_D_SIGNATURE,
			   "member 'manifest.sig': not base64 (expected the base64 of a raw signature)");
	}
	if (!a->check)
		return 0;
	for (size_t i = 0; (k = oab_trust_pinned(o->trust, i, &from)); i++) {
		if (oab_mender_key_ok(k, why, sizeof(why)) < 0)
			continue;
		if (sig_valid(k, msg, len, sig, slen)) {
			hit = k;
			break;
		}
	}
	if (!hit) {
		sr->signature_ok = 0;
		sr->trusted = 0;
		sr->note = strdup("no pinned key verifies it");
		if (!oab_trust_pinned(o->trust, 0, NULL))
			return bad(a, "trust", "manifest.sig", err, OAB_D_UNTRUSTED,
				   "a Mender artifact carries no certificate, so CA anchors cannot "
				   "apply: pin the signer's public key (PEM) instead");
		return bad(a, "signature", "manifest.sig", err, OAB_D_SIGNATURE,
			   "member 'manifest.sig': no pinned key verifies the signature over "
			   "'manifest' (%zu-byte signature)", slen);
	}
	oab_key_describe(hit, why, sizeof(why));
	sr->key_type = strdup(why);
	if (oab_key_id(hit, id) == 0)
		sr->key_id = strdup(id);
	sr->signature_ok = 1;
	if (oab_key_policy(hit, o->allow_weak, 0, why, sizeof(why)) < 0) {
		sr->trusted = 0;
		sr->note = strdup(why);
		return bad(a, "signature", "manifest.sig", err, OAB_D_WEAK_ALGORITHM,
			   "member 'manifest.sig': %s", why);
	}
	sr->trusted = 1;
	if (asprintf(&sr->note, "pinned key from '%s'", from) < 0)
		sr->note = NULL;
	a->rep->trusted_keys = 1;
	oab_report_add_check(a->rep, 1, "signature", "manifest.sig", "valid (%s)", sr->key_type);
	oab_report_add_check(a->rep, 1, "trust", "manifest.sig", "pinned key");
	return 0;
}

/* ---- nested archives (header.tar.gz, data/NNNN.tar.gz) -------------------- */

struct nest {
	struct archive *outer;
	unsigned char *buf;
	EVP_MD_CTX *md; /* the stored bytes' hash, or NULL */
	uint64_t stored;
	int failed;
	/* xz: decoded here within MND_XZ_MEMLIMIT, not by libarchive */
	int xz, xz_eof, xz_end;
	lzma_stream lz;
	unsigned char *xbuf;
	char why[96]; /* why decoding failed */
};

/* The next stored bytes of the outer member, hashed: 0 at its end. */
static la_ssize_t nest_raw(struct archive *in, struct nest *n)
{
	la_ssize_t r = archive_read_data(n->outer, n->buf, MND_BUF);

	if (r < 0) {
		n->failed = 1;
		archive_set_error(in, EIO, "%s", archive_error_string(n->outer));
		return -1;
	}
	if (n->md && r > 0)
		EVP_DigestUpdate(n->md, n->buf, (size_t)r);
	n->stored += (uint64_t)r;
	return r;
}

/* The outer member decoded from xz, its memory bounded. */
static la_ssize_t nest_xz(struct archive *in, struct nest *n, const void **p)
{
	lzma_ret ret = LZMA_OK;

	while (!n->xz_end) {
		size_t made;

		if (n->lz.avail_in == 0 && !n->xz_eof) {
			la_ssize_t r = nest_raw(in, n);

			if (r < 0)
				return -1;
			n->lz.next_in = n->buf;
			n->lz.avail_in = (size_t)r;
			n->xz_eof = r == 0;
		}
		n->lz.next_out = n->xbuf;
		n->lz.avail_out = MND_BUF;
		ret = lzma_code(&n->lz, n->xz_eof ? LZMA_FINISH : LZMA_RUN);
		made = MND_BUF - n->lz.avail_out;
		if (ret == LZMA_STREAM_END)
			n->xz_end = 1;
		else if (ret == LZMA_MEMLIMIT_ERROR)
			goto fail_mem;
		else if ((ret == LZMA_OK || ret == LZMA_BUF_ERROR) && n->xz_eof && !made)
			goto fail_cut;
		else if (ret != LZMA_OK)
			goto fail;
		if (made) {
			*p = n->xbuf;
			return (la_ssize_t)made;
		}
	}
	return 0;
fail_mem:
	snprintf(n->why, sizeof(n->why), "xz stream needs more than %llu MiB to decode",
		 (unsigned long long)(MND_XZ_MEMLIMIT >> 20));
	goto fail_set;
fail_cut:
	snprintf(n->why, sizeof(n->why), "xz stream truncated");
	goto fail_set;
fail:
	snprintf(n->why, sizeof(n->why), "not a valid xz stream (liblzma error %d)", (int)ret);
fail_set:
	n->failed = 1;
	archive_set_error(in, EINVAL, "%s", n->why);
	return -1;
}

static la_ssize_t nest_read(struct archive *in, void *arg, const void **p)
{
	struct nest *n = arg;
	la_ssize_t r;

	if (n->xz)
		return nest_xz(in, n, p);
	r = nest_raw(in, n);
	*p = n->buf;
	return r;
}

static void nest_close(struct nest *n, struct archive *in)
{
	if (in)
		archive_read_free(in);
	if (n->xz)
		lzma_end(&n->lz);
	free(n->xbuf);
	n->xz = 0;
	n->xbuf = NULL;
}

/* An inner archive over the outer member's data, decompressed by suffix
 * (xz by nest_xz). */
static struct archive *nest_open(struct nest *n, const char *comp)
{
	struct archive *in = archive_read_new();
	int f = strcmp(comp, "gz") == 0 ? ARCHIVE_FILTER_GZIP
		: strcmp(comp, "zst") == 0 ? ARCHIVE_FILTER_ZSTD : ARCHIVE_FILTER_NONE;

	if (!in)
		return NULL;
	if (strcmp(comp, "xz") == 0) {
		n->lz = (lzma_stream)LZMA_STREAM_INIT;
		if (!(n->xbuf = malloc(MND_BUF)) ||
		    lzma_stream_decoder(&n->lz, MND_XZ_MEMLIMIT, LZMA_CONCATENATED) != LZMA_OK) {
			free(n->xbuf);
			n->xbuf = NULL;
			archive_read_free(in);
			return NULL;
		}
		n->xz = 1;
	}
	archive_read_support_format_tar(in);
	if ((f != ARCHIVE_FILTER_NONE && archive_read_append_filter(in, f) != ARCHIVE_OK) ||
	    archive_read_open(in, n, NULL, nest_read, NULL) != ARCHIVE_OK) {
		nest_close(n, in);
		return NULL;
	}
	return in;
}

/* Read the rest of the outer member (hashed): what the decompressor or
 * the inner tar left. */
static int nest_drain(struct nest *n)
{
	la_ssize_t r;

	while ((r = archive_read_data(n->outer, n->buf, MND_BUF)) > 0) {
		if (n->md)
			EVP_DigestUpdate(n->md, n->buf, (size_t)r);
		n->stored += (uint64_t)r;
	}
	return r < 0 ? -1 : 0;
}

/* A whole small inner file as a NUL-terminated string. */
static int inner_small(struct archive *in, struct archive_entry *e, size_t limit, char **out)
{
	la_int64_t sz = archive_entry_size(e);
	char *b;

	*out = NULL;
	if (sz < 0 || (uint64_t)sz > limit || !(b = malloc((size_t)sz + 1)))
		return -1;
	if (archive_read_data(in, b, (size_t)sz + 1) != (la_ssize_t)sz) {
		free(b);
		return -1;
	}
	b[sz] = 0;
	*out = b;
	return 0;
}

static json_t *json_parse(const char *s, size_t n)
{
	json_error_t je;

	return json_loadb(s, n, JSON_REJECT_DUPLICATES, &je);
}

static char *jdup(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

/* header-info: payloads, artifact name, device types. */
static int header_info(struct maudit *a, const char *s, struct oab_err *err)
{
	json_t *j = json_parse(s, strlen(s)), *p, *ap, *dep, *dt, *v;
	size_t i;
	int rc = -1;

	if (!json_is_object(j)) {
		bad(a, "mender.header", "header-info", err, OAB_D_MANIFEST,
		    "member 'header-info': not a JSON object");
		goto out;
	}
	p = json_object_get(j, "payloads");
	if (!json_is_array(p) || json_array_size(p) == 0 || json_array_size(p) > MND_MAX_PAYLOADS) {
		bad(a, "mender.header", "header-info", err, OAB_D_MANIFEST,
		    "member 'header-info': 'payloads' is not a list of 1 to %d payloads", MND_MAX_PAYLOADS);
		goto out;
	}
	json_array_foreach(p, i, v) {
		char *t = json_is_object(v) ? jdup(v, "type") : NULL;

		if (!t || !*t || strlen(t) > 256) {
			free(t);
			bad(a, "mender.header", "header-info", err, OAB_D_MANIFEST,
			    "member 'header-info': payload %zu has no 'type'", i);
			goto out;
		}
		a->pay[a->n_pay++].type = t;
	}
	ap = json_object_get(j, "artifact_provides");
	a->artifact_name = json_is_object(ap) ? jdup(ap, "artifact_name") : NULL;
	if (!a->artifact_name || !*a->artifact_name) {
		bad(a, "mender.header", "header-info", err, OAB_D_MANIFEST,
		    "member 'header-info': no artifact_provides.artifact_name");
		goto out;
	}
	dep = json_object_get(j, "artifact_depends");
	dt = json_is_object(dep) ? json_object_get(dep, "device_type") : NULL;
	if (dt && (!json_is_array(dt) || json_array_size(dt) > 256)) {
		bad(a, "mender.header", "header-info", err, OAB_D_MANIFEST,
		    "member 'header-info': artifact_depends.device_type is not a list (of at most 256)");
		goto out;
	}
	a->devices = calloc(json_array_size(dt) + 1, sizeof(char *));
	if (!a->devices) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	json_array_foreach(dt, i, v) {
		if (!json_is_string(v)) {
			bad(a, "mender.header", "header-info", err, OAB_D_MANIFEST,
			    "member 'header-info': device_type %zu is not a string", i);
			goto out;
		}
		a->devices[a->n_devices++] = strdup(json_string_value(v));
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

/* headers/NNNN/type-info and meta-data. */
static int header_payload(struct maudit *a, const char *path, const char *s, struct oab_err *err)
{
	char e[400];
	int idx;
	const char *f;
	json_t *j;

	esc(path, e);
	idx = four_digits(path, "headers/");
	f = path + 13;
	if (idx < 0 || path[12] != '/' || (strcmp(f, "type-info") != 0 && strcmp(f, "meta-data") != 0))
		goto unexpected;
	if ((size_t)idx >= a->n_pay)
		return bad(a, "mender.header", "header.tar", err, OAB_D_MANIFEST,
			   "header member '%s': payload %d is not in header-info", e, idx);
	if (strcmp(f, "meta-data") == 0 && !*s)
		return 0;
	j = json_parse(s, strlen(s));
	if (!json_is_object(j)) {
		json_decref(j);
		return bad(a, "mender.header", "header.tar", err, OAB_D_MANIFEST,
			   "header member '%s': not a JSON object", e);
	}
	if (strcmp(f, "type-info") == 0) {
		json_t *t = json_object_get(j, "type"), *ap = json_object_get(j, "artifact_provides");

		if (a->pay[idx].have_type_info++ ||
		    (t && !json_is_null(t) && (!json_is_string(t) ||
		     (*json_string_value(t) && strcmp(json_string_value(t), a->pay[idx].type) != 0)))) {
			json_decref(j);
			return bad(a, "mender.header", "header.tar", err, OAB_D_MANIFEST,
				   "header member '%s': repeated, or its type differs from header-info's", e);
		}
		if (json_is_object(ap))
			a->pay[idx].version = jdup(ap, "rootfs-image.version");
	}
	json_decref(j);
	return 0;
unexpected:
	return bad(a, "mender.header", "header.tar", err, OAB_D_STRUCTURE,
		   "header member '%s': not one Mender 3.9 reads (header-info, scripts/NAME, "
		   "headers/NNNN/type-info, headers/NNNN/meta-data)", e);
}

static int add_script(struct maudit *a, const char *name, struct archive *in, la_int64_t size,
		      struct oab_err *err);

/* header.tar[.gz|.xz]: the stored bytes hashed against the manifest, the
 * inner tar parsed (bounded). */
static int read_header(struct maudit *a, struct archive *outer, const char *member,
		       struct oab_err *err)
{
	struct nest n = {.outer = outer, .buf = a->buf};
	struct mline *l = line_find(a, member);
	struct archive *in = NULL;
	struct archive_entry *e;
	unsigned char md[32];
	size_t count = 0;
	char x[400], got[65], want[65];
	int st, rc = -1;

	esc(member, x);
	if (!l)
		return bad(a, "member-hash", member, err, OAB_D_STRUCTURE,
			   "member '%s': not listed in 'manifest'", x);
	l->seen = 1;
	n.md = EVP_MD_CTX_new();
	if (!n.md || EVP_DigestInit_ex(n.md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(n.md);
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	}
	if (!(in = nest_open(&n, a->comp))) {
		bad(a, "mender.header", member, err, OAB_D_STRUCTURE,
		    "member '%s': not a%s tar archive%s%s", x, *a->comp ? " compressed" : "",
		    n.why[0] ? ": " : "", n.why);
		goto out;
	}
	while ((st = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
		const char *p = archive_entry_pathname(e);
		char *s = NULL, ep[400];

		esc(p ? p : "", ep);
		if (++count > MND_MAX_HEADER_FILES) {
			bad(a, "mender.header", member, err, OAB_D_STRUCTURE,
			    "member '%s': more than %d entries", x, MND_MAX_HEADER_FILES);
			goto out;
		}
		if (archive_entry_filetype(e) == AE_IFDIR)
			continue;
		if (!p || archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e)) {
			bad(a, "mender.header", member, err, OAB_D_STRUCTURE,
			    "header member '%s': not a regular file", ep);
			goto out;
		}
		if (count == 1 && strcmp(p, "header-info") != 0) {
			bad(a, "mender.header", member, err, OAB_D_STRUCTURE,
			    "member '%s': first entry is '%s', expected 'header-info'", x, ep);
			goto out;
		}
		if (strncmp(p, "scripts/", 8) == 0) {
			if (add_script(a, p + 8, in, archive_entry_size(e), err) < 0)
				goto out;
			continue;
		}
		if (inner_small(in, e, MND_MAX_JSON, &s) < 0) {
			bad(a, "mender.header", member, err, OAB_D_STRUCTURE,
			    "header member '%s': unreadable or over %d bytes", ep, MND_MAX_JSON);
			goto out;
		}
		st = count == 1 ? header_info(a, s, err) : header_payload(a, p, s, err);
		free(s);
		if (st < 0)
			goto out;
	}
	if (st != ARCHIVE_EOF || n.failed) {
		bad(a, "mender.header", member, err, OAB_D_STRUCTURE, "member '%s': damaged: %s", x,
		    archive_error_string(in));
		goto out;
	}
	if (count == 0) {
		bad(a, "mender.header", member, err, OAB_D_STRUCTURE, "member '%s': empty", x);
		goto out;
	}
	if (nest_drain(&n) < 0) {
		bad(a, "member-read", member, err, OAB_D_STRUCTURE, "member '%s': %s", x,
		    archive_error_string(outer));
		goto out;
	}
	EVP_DigestFinal_ex(n.md, md, NULL);
	if (CRYPTO_memcmp(md, l->sha, 32) != 0) {
		oab_hex(l->sha, 32, want);
		oab_hex(md, 32, got);
		bad(a, "member-hash", member, err, OAB_D_CONTENT_HASH,
		    "member '%s': sha256 mismatch (manifest %.12s..., artifact %.12s...)", x, want, got);
		oab_err_detail(err, OAB_D_CONTENT_HASH, member, -1, want, got);
		goto out;
	}
	oab_report_add_check(a->rep, 1, "member-hash", member, NULL);
	for (size_t i = 0; i < a->n_pay; i++)
		if (!a->pay[i].have_type_info) {
			bad(a, "mender.header", member, err, OAB_D_MANIFEST,
			    "member '%s': no headers/%04zu/type-info for payload %zu", x, i, i);
			goto out;
		}
	oab_report_add_check(a->rep, 1, "mender.header", member, "%zu payload(s), artifact '%s'",
			     a->n_pay, a->artifact_name);
	rc = 0;
out:
	nest_close(&n, in);
	EVP_MD_CTX_free(n.md);
	return rc;
}

/* ---- the synthesised manifest --------------------------------------------- */

/* gcc 12's -fanalyzer loses the items array once it is reached through
 * a->m and reports the new item and its strings as leaked; they are owned
 * by a->m and freed with it (LeakSanitizer runs over these paths in make
 * sanitize and finds nothing). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
static struct oab_item *item_add(struct maudit *a)
{
	struct oab_item *ni = realloc(a->m->items, (a->m->n_items + 1) * sizeof(*ni));

	if (!ni)
		return NULL;
	a->m->items = ni;
	ni = &a->m->items[a->m->n_items++];
	memset(ni, 0, sizeof(*ni));
	return ni;
}

/* A state script in the header: hashed (it is covered by the header's
 * hash), listed as a script item. */
static int add_script(struct maudit *a, const char *name, struct archive *in, la_int64_t size,
		      struct oab_err *err)
{
	struct oab_item *it;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	la_ssize_t r;
	uint64_t got = 0;
	char e[400];

	esc(name, e);
	if (size < 0 || size > MND_MAX_SCRIPT) {
		EVP_MD_CTX_free(md);
		return bad(a, "mender.header", "header.tar", err, OAB_D_STRUCTURE,
			   "state script '%s': over %d bytes", e, MND_MAX_SCRIPT);
	}
	if (!md || !(it = item_add(a))) {
		EVP_MD_CTX_free(md);
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	}
	it->kind = OAB_ITEM_SCRIPT;
	it->name = strdup(name);
	it->hook = strdup("mender-state");
	if (asprintf(&it->member, "header.tar/scripts/%s", name) < 0)
		it->member = NULL;
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	while ((r = archive_read_data(in, a->buf, MND_BUF)) > 0 && got <= (uint64_t)size) {
		EVP_DigestUpdate(md, a->buf, (size_t)r);
		got += (uint64_t)r;
	}
	EVP_DigestFinal_ex(md, it->sha256, NULL);
	EVP_MD_CTX_free(md);
	memcpy(it->stored_sha256, it->sha256, 32);
	it->size = it->stored_size = got;
	if (r < 0 || size < 0 || got != (uint64_t)size || !oab_mender_name_ok(name))
		return bad(a, "mender.header", "header.tar", err, OAB_D_STRUCTURE,
			   "state script '%s': unreadable or a bad name", e);
	return 0;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

static int manifest_fill(struct maudit *a, struct oab_err *err)
{
	struct oab_manifest *m = a->m;

	m->format = OAB_FORMAT_VERSION;
	m->name = strdup(a->artifact_name ? a->artifact_name : "?");
	m->version = strdup(a->n_pay && a->pay[0].version ? a->pay[0].version
			    : a->artifact_name ? a->artifact_name : "?");
	m->compatible = a->devices;
	m->n_compatible = a->n_devices;
	a->devices = NULL;
	a->n_devices = 0;
	if (!m->name || !m->version)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	/* One payload item per data file the (signed) manifest lists. */
	for (size_t i = 0; i < a->n_lines; i++) {
		const char *name;
		int idx = data_path(a->lines[i].path, &name);
		struct oab_item *it;

		if (idx < 0)
			continue;
		if ((size_t)idx >= a->n_pay)
			return bad(a, "manifest", "manifest", err, OAB_D_MANIFEST,
				   "member 'manifest': '%s' belongs to no payload of header-info",
				   a->lines[i].path);
		a->pay[idx].n_files++;
		if (!(it = item_add(a)))
			return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		it->kind = OAB_ITEM_PAYLOAD;
		it->name = strdup(name);
		it->type = strdup(a->pay[idx].type);
		it->member = strdup(a->lines[i].path);
		memcpy(it->sha256, a->lines[i].sha, 32);
		memcpy(it->stored_sha256, a->lines[i].sha, 32);
		if (!it->name || !it->type || !it->member)
			return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	}
	for (size_t i = 0; i < a->n_pay; i++)
		if (strcmp(a->pay[i].type, "rootfs-image") == 0 && a->pay[i].n_files != 1)
			return bad(a, "mender.payload", "manifest", err, OAB_D_MANIFEST,
				   "payload %zu (rootfs-image): %zu data files in 'manifest', "
				   "Mender requires exactly one", i, a->pay[i].n_files);
	return 0;
}

static struct oab_item *item_by_member(struct maudit *a, const char *member)
{
	for (size_t i = 0; i < a->m->n_items; i++)
		if (a->m->items[i].member && strcmp(a->m->items[i].member, member) == 0)
			return &a->m->items[i];
	return NULL;
}

/* data/NNNN.tar[.gz|.xz|.zst]: every file hashed as it decompresses. */
static int read_data(struct maudit *a, struct archive *outer, int idx, const char *member,
		     const char *comp, struct oab_err *err)
{
	struct nest n = {.outer = outer, .buf = a->buf};
	struct archive *in;
	struct archive_entry *e;
	unsigned char *cbuf = malloc(MND_BUF);
	char x[400];
	int st, rc = -1;

	esc(member, x);
	if (!cbuf)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	if (!(in = nest_open(&n, comp))) {
		free(cbuf);
		return bad(a, "member-read", member, err, OAB_D_STRUCTURE,
			   "member '%s': cannot open it as a%s tar archive%s%s", x,
			   *comp ? " compressed" : "", n.why[0] ? ": " : "", n.why);
	}
	while ((st = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
		const char *p = archive_entry_pathname(e);
		char path[MND_MAX_PATH + 32], ep[400], got[65], want[65];
		struct oab_item *it;
		struct mline *l;
		EVP_MD_CTX *md;
		unsigned char h[32];
		uint64_t size = 0;
		la_ssize_t r;

		esc(p ? p : "", ep);
		if (!p || archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) ||
		    !oab_mender_name_ok(p)) {
			bad(a, "member-read", member, err, OAB_D_STRUCTURE,
			    "member '%s': entry '%s' is not a regular file named with letters, "
			    "digits and .,_- only", x, ep);
			goto out;
		}
		snprintf(path, sizeof(path), "data/%04d/%s", idx, p);
		l = line_find(a, path);
		it = item_by_member(a, path);
		if (!l || !it) {
			bad(a, "member-hash", path, err, OAB_D_STRUCTURE,
			    "data file '%s' is not listed in 'manifest'", ep);
			goto out;
		}
		if (l->seen++) {
			bad(a, "member-read", path, err, OAB_D_STRUCTURE, "data file '%s' appears twice", ep);
			goto out;
		}
		md = EVP_MD_CTX_new();
		if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
			EVP_MD_CTX_free(md);
			oab_err_set(err, OAB_E_INTERNAL, "out of memory");
			goto out;
		}
		while ((r = archive_read_data(in, cbuf, MND_BUF)) > 0) {
			EVP_DigestUpdate(md, cbuf, (size_t)r);
			size += (uint64_t)r;
		}
		EVP_DigestFinal_ex(md, h, NULL);
		EVP_MD_CTX_free(md);
		if (r < 0 || n.failed) {
			bad(a, "member-read", path, err, OAB_D_STRUCTURE, "data file '%s': %s", ep,
			    archive_error_string(in));
			goto out;
		}
		it->size = it->stored_size = size;
		if (CRYPTO_memcmp(h, l->sha, 32) != 0) {
			oab_hex(l->sha, 32, want);
			oab_hex(h, 32, got);
			bad(a, "member-hash", path, err, OAB_D_CONTENT_HASH,
			    "data file '%s': sha256 mismatch (manifest %.12s..., artifact %.12s...)", ep,
			    want, got);
			oab_err_detail(err, OAB_D_CONTENT_HASH, path, -1, want, got);
			goto out;
		}
		oab_report_add_check(a->rep, 1, "member-hash", path, "%llu bytes",
				     (unsigned long long)size);
	}
	if (st != ARCHIVE_EOF || n.failed) {
		bad(a, "member-read", member, err, OAB_D_STRUCTURE, "member '%s': damaged: %s", x,
		    archive_error_string(in));
		goto out;
	}
	if (nest_drain(&n) < 0) {
		bad(a, "member-read", member, err, OAB_D_STRUCTURE, "member '%s': %s", x,
		    archive_error_string(outer));
		goto out;
	}
	rc = 0;
out:
	nest_close(&n, in);
	free(cbuf);
	return rc;
}

/* ---- the outer tar ------------------------------------------------------- */

/* "header.tar.gz" -> "gz"; NULL if not a header name Mender reads. */
static const char *header_comp(const char *p)
{
	return strcmp(p, "header.tar.gz") == 0 ? "gz" : strcmp(p, "header.tar.xz") == 0 ? "xz"
		: strcmp(p, "header.tar.zst") == 0 ? "zst" : strcmp(p, "header.tar") == 0 ? "" : NULL;
}

/* "data/NNNN.tar.gz": index and suffix; -1 if not one. */
static int data_member(const char *p, const char **comp)
{
	int idx = four_digits(p, "data/");

	if (idx < 0)
		return -1;
	p += 9;
	*comp = strcmp(p, ".tar.gz") == 0 ? "gz" : strcmp(p, ".tar.xz") == 0 ? "xz"
		: strcmp(p, ".tar.zst") == 0 ? "zst" : strcmp(p, ".tar") == 0 ? "" : NULL;
	return *comp ? idx : -1;
}

static void maudit_free(struct maudit *a)
{
	free(a->lines);
	free(a->artifact_name);
	for (size_t i = 0; i < a->n_devices; i++)
		free(a->devices[i]);
	free(a->devices);
	for (size_t i = 0; i < a->n_pay; i++) {
		free(a->pay[i].type);
		free(a->pay[i].version);
	}
	free(a->comp);
	free(a->buf);
}

int oab_mender_audit(int fd, const char *label, const struct oab_verify_opts *o,
		     struct oab_report *rep, int check, struct oab_err *err)
{
	struct maudit a = {.label = label ? label : "artifact", .rep = rep, .check = check};
	struct oab_tarin *t = NULL;
	struct archive_entry *e;
	unsigned char *ver = NULL, *man = NULL, *sig = NULL;
	size_t vlen = 0, mlen = 0, slen = 0, n_data = 0;
	const char *name, *comp;
	char x[400];
	int st, rc = -1;

	rep->verified = 0;
	if (!(rep->format = strdup("mender")) || !(rep->manifest = calloc(1, sizeof(*rep->manifest))) ||
	    !(a.buf = malloc(MND_BUF)))
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	a.m = rep->manifest;
	if (check && oab_trust_count(o ? o->trust : NULL) == 0) {
		oab_err_set(err, OAB_E_USAGE, "no trust anchor given: a Mender artifact is verified "
			    "against pinned public keys");
		oab_err_detail(err, OAB_D_NO_ANCHOR, NULL, -1, NULL, NULL);
		goto out;
	}
	if (!(t = oab_tarin_open(fd, a.label, err)))
		goto out;
	/* version, manifest, [manifest.sig], header.tar[.gz|.xz] */
	for (int step = 0; step < 4; step++) {
		st = oab_tarin_next(t, &e, err);
		if (st < 0) {
			oab_report_add_check(rep, 0, "member-order", NULL, "%s", err->msg);
			goto out;
		}
		name = st ? archive_entry_pathname(e) : "";
		esc(name, x);
		if (step == 0 && strcmp(name, "version") == 0) {
			json_t *j, *f, *v;

			if (oab_member_read_small(oab_tarin_archive(t), e, MND_MAX_VERSION, &ver, &vlen,
						  err) < 0)
				goto out;
			j = json_parse((const char *)ver, vlen);
			f = json_object_get(j, "format");
			v = json_object_get(j, "version");
			st = json_is_string(f) && strcmp(json_string_value(f), "mender") == 0 &&
			     json_is_integer(v) && json_integer_value(v) == 3;
			json_decref(j);
			if (!st) {
				bad(&a, "mender.version", "version", err, OAB_D_NOT_A_BUNDLE,
				    "member 'version': not {\"format\":\"mender\",\"version\":3} "
				    "(only Mender artifact format 3 is read)");
				goto out;
			}
		} else if (step == 1 && strcmp(name, "manifest") == 0) {
			if (oab_member_read_small(oab_tarin_archive(t), e, MND_MAX_MANIFEST, &man, &mlen,
						  err) < 0 ||
			    parse_manifest(&a, man, mlen, err) < 0)
				goto out;
		} else if (step == 2 && strcmp(name, "manifest.sig") == 0) {
			if (oab_member_read_small(oab_tarin_archive(t), e, MND_MAX_SIG, &sig, &slen,
						  err) < 0)
				goto out;
			rep->signed_bundle = 1;
		} else if (step >= 2 && header_comp(name)) {
			if (step == 2 && check) {
				bad(&a, "signature", NULL, err, OAB_D_NOT_SIGNED,
				    "unsigned artifact (no manifest.sig)");
				goto out;
			}
			a.comp = strdup(header_comp(name));
			break;
		} else {
			bad(&a, "member-order", st ? name : NULL, err, OAB_D_STRUCTURE,
			    st ? "member '%s' where Mender expects %s" : "%s%s", st ? x : "ended early: ",
			    step == 0 ? "'version'" : step == 1 ? "'manifest'"
			    : step == 2 ? "'manifest.sig' or 'header.tar.gz'"
			    : strcmp(name, "manifest-augment") == 0
			    ? "'header.tar.gz' (manifest-augment is not covered by manifest.sig: not accepted)"
			    : "'header.tar.gz'");
			goto out;
		}
	}
	{
		struct mline *l = line_find(&a, "version");
		unsigned char h[32];

		SHA256(ver, vlen, h);
		if (!l || CRYPTO_memcmp(h, l->sha, 32) != 0) {
			bad(&a, "member-hash", "version", err, OAB_D_CONTENT_HASH,
			    "member 'version': %s", l ? "sha256 mismatch with 'manifest'"
			    : "not listed in 'manifest'");
			goto out;
		}
		l->seen = 1;
		oab_report_add_check(rep, 1, "member-hash", "version", NULL);
	}
	if (sig && check_signature(&a, o, man, mlen, sig, slen, err) < 0)
		goto out;
	if (check && o->threshold > 1) {
		bad(&a, "threshold", NULL, err, OAB_D_UNTRUSTED,
		    "1 trusted signing key, %u required: a Mender artifact carries one signature",
		    o->threshold);
		goto out;
	}
	oab_report_add_check(rep, 1, "member-order", NULL, "version, manifest%s, %s",
			     sig ? ", manifest.sig" : "", x);
	if (read_header(&a, oab_tarin_archive(t), name, err) < 0 || manifest_fill(&a, err) < 0)
		goto out;
	/* --compatible against the device types; a Mender artifact has no
	 * security version (0) and no expiry. */
	if (check && oab_policy_check(a.m, o, o->now > 0 ? o->now : (int64_t)time(NULL), rep, err) < 0)
		goto out;
	if (!check) {
		rc = oab_tarin_scan_rest(t, NULL, err);
		goto out;
	}
	while ((st = oab_tarin_next(t, &e, err)) == 1) {
		int idx;

		name = archive_entry_pathname(e);
		esc(name, x);
		idx = data_member(name, &comp);
		if (idx < 0 || (size_t)idx != n_data || n_data >= a.n_pay) {
			bad(&a, "member-order", name, err, OAB_D_STRUCTURE,
			    "member '%s' where %s expected", x,
			    n_data < a.n_pay ? "the next data/NNNN.tar.gz is" : "the end of the artifact is");
			goto out;
		}
		if (read_data(&a, oab_tarin_archive(t), idx, name, comp, err) < 0)
			goto out;
		n_data++;
	}
	if (st < 0 || oab_tarin_end(t, err) < 0) {
		oab_report_add_check(rep, 0, "member-read", NULL, "%s", err->msg);
		goto out;
	}
	if (n_data != a.n_pay) {
		bad(&a, "member-order", NULL, err, OAB_D_STRUCTURE,
		    "%zu data member(s), header-info lists %zu payload(s)", n_data, a.n_pay);
		goto out;
	}
	for (size_t i = 0; i < a.n_lines; i++)
		if (!a.lines[i].seen) {
			esc(a.lines[i].path, x);
			bad(&a, "member-size", a.lines[i].path, err, OAB_D_STRUCTURE,
			    "'%s' is listed in 'manifest' but not in the artifact", x);
			goto out;
		}
	rep->verified = rep->n_unrecorded == 0;
	for (size_t i = 0; i < rep->n_checks; i++)
		if (!rep->checks[i].ok)
			rep->verified = 0;
	rc = rep->verified ? 0 : oab_err_set(err, OAB_E_REJECTED, "%s: not verified", a.label);
out:
	oab_tarin_free(t);
	free(ver);
	free(man);
	free(sig);
	maudit_free(&a);
	return rc;
}
