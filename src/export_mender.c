/* SPDX-License-Identifier: Apache-2.0 */
/* export_mender.c - export a verified otabundle bundle as a Mender
 * artifact (format v3, one payload, as mender-artifact 3.9 reads it):
 * an outer tar of `version`, `manifest`, `manifest.sig`, `header.tar.gz`
 * and `data/0000.tar.gz`, every header fixed (mtime = build time, uid/gid
 * 0, no owner names, gzip without name or time) so the same bundle and
 * SOURCE_DATE_EPOCH give the same bytes apart from the signature. The
 * payload is re-encoded from the verified content as it streams out of
 * the reader; memory does not grow with its size. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <zlib.h>

#include "internal.h"
#include "peer.h"
#include "peer_mender.h"

#define MND_VERSION "{\"format\":\"mender\",\"version\":3}"

/* What the artifact will hold, all decided before a payload byte is read. */
struct mplan {
	const struct oab_item *it; /* the one payload */
	const char *file;          /* its data file name */
	const char *type;          /* payload type */
	char *artifact_name;
	const char *suffix;        /* ".gz", ".xz", ".zst", "" */
	int level;                 /* its level (struct oab_export_opts) */
	unsigned char *header;     /* header.tar[.gz] bytes */
	size_t header_len;
	char *manifest;            /* the signed text */
	size_t manifest_len;
};

static void plan_free(struct mplan *p)
{
	free(p->artifact_name);
	free(p->header);
	free(p->manifest);
	memset(p, 0, sizeof(*p));
}

static const struct oab_export_setting *setting(const struct oab_manifest *m, const char *item,
					       const char *key)
{
	return oab_export_find(m, "mender", item, key);
}

/* The payload to export: the one item export.mender.items names, or the
 * bundle's only payload. */
static int pick_item(const struct oab_manifest *m, struct mplan *p, struct oab_err *err)
{
	size_t n_pay = 0, n_sel = 0;
	const struct oab_item *only = NULL, *sel = NULL;

	for (size_t i = 0; i < m->n_items; i++) {
		const struct oab_item *it = &m->items[i];

		if (it->kind != OAB_ITEM_PAYLOAD)
			continue;
		n_pay++;
		only = it;
		if (setting(m, it->name, "type") || setting(m, it->name, "file")) {
			n_sel++;
			sel = it;
		}
	}
	if (n_sel > 1)
		return oab_err_set(err, OAB_E_USAGE,
				   "export.mender.items names %zu payloads: a Mender artifact (3.9) "
				   "carries one payload, name one item", n_sel);
	if (!sel && n_pay != 1)
		return oab_err_set(err, OAB_E_USAGE,
				   "the bundle has %zu payloads and a Mender artifact (3.9) carries "
				   "one: choose it under export.mender.items", n_pay);
	p->it = sel ? sel : only;
	return 0;
}

static const char *one(const struct oab_export_setting *s, const char *dflt)
{
	return s && s->n_values ? s->values[0] : dflt;
}

static int plan_settings(struct oab_export_ctx *c, struct mplan *p, struct oab_err *err)
{
	const struct oab_manifest *m = c->m;
	const struct oab_export_setting *s;
	const char *comp_names[] = {".gz", ".xz", ".zst", ""};
	unsigned comp = c->opts ? (unsigned)c->opts->mender_compression : 0;

	if (pick_item(m, p, err) < 0)
		return -1;
	p->type = one(setting(m, p->it->name, "type"), "rootfs-image");
	p->file = one(setting(m, p->it->name, "file"), p->it->name);
	if (!oab_mender_name_ok(p->file))
		return oab_err_set(err, OAB_E_USAGE,
				   "export.mender.items.%s.file: Mender accepts letters, digits and "
				   ".,_- only in a data file name", p->it->name);
	s = setting(m, NULL, "artifact-name");
	if (s && s->n_values)
		p->artifact_name = strdup(s->values[0]);
	else if (asprintf(&p->artifact_name, "%s-%s", m->name, m->version) < 0)
		p->artifact_name = NULL;
	if (!p->artifact_name)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	if (comp >= sizeof(comp_names) / sizeof(comp_names[0]))
		return oab_err_set(err, OAB_E_USAGE, "unknown Mender compression %u", comp);
	p->suffix = comp_names[comp];
	p->level = c->opts ? c->opts->mender_level : 0;
	if (p->level < 0 || (comp == OAB_MENDER_GZIP && p->level > 9) ||
	    (comp == OAB_MENDER_XZ && p->level > 9) || (comp == OAB_MENDER_ZSTD && p->level > 19) ||
	    (comp == OAB_MENDER_NONE && p->level))
		return oab_err_set(err, OAB_E_USAGE, "Mender compression level %d: gzip takes 1-9, "
				   "xz 0-9, zstd 1-19", p->level);
	if (!p->level)
		p->level = comp == OAB_MENDER_ZSTD ? 3 : 6;
	return 0;
}

/* ---- header.tar.gz ------------------------------------------------------- */

struct membuf {
	unsigned char *p;
	size_t n, cap;
};

static la_ssize_t mem_write(struct archive *a, void *arg, const void *buf, size_t n)
{
	struct membuf *b = arg;

	if (b->n + n > b->cap) {
		size_t cap = (b->n + n) * 2;
		unsigned char *np = realloc(b->p, cap);

		if (!np) {
			archive_set_error(a, ENOMEM, "out of memory");
			return -1;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, buf, n);
	b->n += n;
	return (la_ssize_t)n;
}

/* A tar writer with the chosen compression, deterministic: no name or
 * time in the gzip header. */
static struct archive *tar_new(const char *suffix, int level)
{
	struct archive *a = archive_write_new();
	const char *f = strcmp(suffix, ".gz") == 0 ? "gzip" : strcmp(suffix, ".xz") == 0 ? "xz"
			: "zstd";
	char lv[16];
	int ok;

	if (!a)
		return NULL;
	/* No padding after the end: the compressed stream ends where it ends. */
	ok = archive_write_set_format_pax_restricted(a) == ARCHIVE_OK &&
	     archive_write_set_bytes_per_block(a, 0) == ARCHIVE_OK;
	if (strcmp(suffix, ".gz") == 0)
		ok = ok && archive_write_add_filter_gzip(a) == ARCHIVE_OK &&
		     archive_write_set_filter_option(a, "gzip", "timestamp", NULL) == ARCHIVE_OK;
	else if (strcmp(suffix, ".xz") == 0)
		ok = ok && archive_write_add_filter_xz(a) == ARCHIVE_OK;
	else if (strcmp(suffix, ".zst") == 0)
		ok = ok && archive_write_add_filter_zstd(a) == ARCHIVE_OK;
	snprintf(lv, sizeof(lv), "%d", level);
	if (ok && *suffix)
		ok = archive_write_set_filter_option(a, f, "compression-level", lv) == ARCHIVE_OK;
	if (!ok) {
		archive_write_free(a);
		return NULL;
	}
	return a;
}

static int tar_file(struct archive *a, const char *name, const char *data, int64_t mtime,
		    struct oab_err *err)
{
	size_t n = strlen(data);

	if (oab_wr_header(a, name, n, mtime, err) < 0)
		return -1;
	if (n && archive_write_data(a, data, n) != (la_ssize_t)n)
		return oab_err_set(err, OAB_E_INTERNAL, "header.tar: %s", archive_error_string(a));
	return 0;
}

static char *json_text(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(j);
	return s;
}

static int make_header(struct oab_export_ctx *c, struct mplan *p, struct oab_err *err)
{
	const struct oab_manifest *m = c->m;
	const struct oab_export_setting *dt = setting(m, NULL, "device-type");
	const struct oab_export_setting *pv = setting(m, p->it->name, "provides");
	json_t *devs = json_array(), *prov, *ti;
	char *info = NULL, *tinfo = NULL, sha[65];
	struct membuf b = {0};
	struct archive *a = NULL;
	int rc = -1;

	if (dt)
		for (size_t i = 0; devs && i < dt->n_values; i++)
			json_array_append_new(devs, json_string(dt->values[i]));
	else
		for (size_t i = 0; devs && i < m->n_compatible; i++)
			json_array_append_new(devs, json_string(m->compatible[i]));
	if (devs && json_array_size(devs) == 0) {
		json_decref(devs);
		return oab_err_set(err, OAB_E_USAGE, "no Mender device type: set export.mender."
				   "device-type or bundle.compatible");
	}
	info = json_text(json_pack("{s:[{s:s}],s:{s:s},s:{s:o}}", "payloads", "type", p->type,
				   "artifact_provides", "artifact_name", p->artifact_name,
				   "artifact_depends", "device_type", devs));
	oab_hex(p->it->sha256, 32, sha);
	prov = json_object();
	if (prov && strcmp(p->type, "rootfs-image") == 0) {
		json_object_set_new(prov, "rootfs-image.checksum", json_string(sha));
		json_object_set_new(prov, "rootfs-image.version", json_string(p->artifact_name));
	}
	/* export.mender.items.ITEM.provides: ["KEY:VALUE", ...] */
	for (size_t i = 0; pv && i < pv->n_values; i++) {
		const char *v = pv->values[i], *colon = strchr(v, ':');
		char *key;

		if (!colon || colon == v || !colon[1]) {
			json_decref(prov);
			oab_err_set(err, OAB_E_USAGE, "export.mender.items.%s.provides: '%s' is not "
				    "KEY:VALUE", p->it->name, v);
			goto out;
		}
		if (!(key = strndup(v, (size_t)(colon - v))) ||
		    json_object_set_new(prov, key, json_string(colon + 1)) < 0) {
			free(key);
			json_decref(prov);
			oab_err_set(err, OAB_E_INTERNAL, "out of memory");
			goto out;
		}
		free(key);
	}
	ti = json_pack("{s:s,s:o}", "type", p->type, "artifact_provides", prov);
	if (ti && strcmp(p->type, "rootfs-image") == 0)
		json_object_set_new(ti, "clears_artifact_provides",
				    json_pack("[sss]", "artifact_group", "rootfs_image_checksum",
					      "rootfs-image.*"));
	tinfo = json_text(ti);
	if (!info || !tinfo || !(a = tar_new(p->suffix, p->level)) ||
	    archive_write_open(a, &b, NULL, mem_write, NULL) != ARCHIVE_OK) {
		oab_err_set(err, OAB_E_INTERNAL, "header.tar: %s",
			    a ? archive_error_string(a) : "out of memory");
		goto out;
	}
	if (tar_file(a, "header-info", info, c->build_time, err) < 0 ||
	    tar_file(a, "headers/0000/type-info", tinfo, c->build_time, err) < 0 ||
	    tar_file(a, "headers/0000/meta-data", "", c->build_time, err) < 0)
		goto out;
	if (archive_write_close(a) != ARCHIVE_OK) {
		oab_err_set(err, OAB_E_INTERNAL, "header.tar: %s", archive_error_string(a));
		goto out;
	}
	p->header = b.p;
	p->header_len = b.n;
	b.p = NULL;
	rc = 0;
out:
	if (a)
		archive_write_free(a);
	free(b.p);
	free(info);
	free(tinfo);
	return rc;
}

/* ---- the signed text ---------------------------------------------------- */

static int make_manifest(struct mplan *p, struct oab_err *err)
{
	unsigned char h[32], v[32];
	char hs[65], vs[65], ds[65];

	SHA256(p->header, p->header_len, h);
	SHA256((const unsigned char *)MND_VERSION, strlen(MND_VERSION), v);
	oab_hex(h, 32, hs);
	oab_hex(v, 32, vs);
	oab_hex(p->it->sha256, 32, ds);
	/* Sorted by path, as mender-artifact writes it. */
	if (asprintf(&p->manifest, "%s  data/0000/%s\n%s  header.tar%s\n%s  version\n", ds, p->file,
		     hs, p->suffix, vs) < 0) {
		p->manifest = NULL;
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	}
	p->manifest_len = strlen(p->manifest);
	return 0;
}

static int plan_make(struct oab_export_ctx *c, struct mplan *p, struct oab_err *err)
{
	memset(p, 0, sizeof(*p));
	if (plan_settings(c, p, err) < 0 || make_header(c, p, err) < 0 || make_manifest(p, err) < 0) {
		plan_free(p);
		return -1;
	}
	return 0;
}

int oab_mender_tbs(struct oab_export_ctx *c, unsigned char **out, size_t *len,
		   struct oab_err *err)
{
	struct mplan p;

	if (plan_make(c, &p, err) < 0)
		return -1;
	*out = (unsigned char *)p.manifest;
	*len = p.manifest_len;
	p.manifest = NULL;
	plan_free(&p);
	return 0;
}

/* A signature as Mender wants it: ECDSA as raw r||s (32 + 32 bytes), RSA
 * as is; base64 without line breaks into *b64. der may be a DER
 * ECDSA-Sig-Value or already raw. */
static int sig_encode(EVP_PKEY *k, const unsigned char *sig, size_t len, char **b64,
		      struct oab_err *err)
{
	unsigned char raw[64];
	const unsigned char *p = sig;
	size_t n = len;

	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC && len != 64) {
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
		const BIGNUM *r, *s;

		if (!es || p != sig + len) {
			ECDSA_SIG_free(es);
			return oab_err_set(err, OAB_E_USAGE, "the ECDSA signature is neither DER nor 64 "
					   "raw bytes (%zu bytes)", len);
		}
		ECDSA_SIG_get0(es, &r, &s);
		if (BN_bn2binpad(r, raw, 32) != 32 || BN_bn2binpad(s, raw + 32, 32) != 32) {
			ECDSA_SIG_free(es);
			return oab_err_set(err, OAB_E_USAGE, "the ECDSA signature is not a P-256 one");
		}
		ECDSA_SIG_free(es);
		sig = raw;
		n = 64;
	}
	*b64 = malloc(4 * ((n + 2) / 3) + 1);
	if (!*b64)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	EVP_EncodeBlock((unsigned char *)*b64, sig, (int)n);
	return 0;
}

static int sign_manifest(struct oab_signer *s, const struct mplan *p, char **b64,
			 struct oab_err *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *sig = NULL;
	size_t len = 0;
	int rc = -1;

	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, s->key) != 1 ||
	    EVP_DigestSign(md, NULL, &len, (const unsigned char *)p->manifest, p->manifest_len) != 1 ||
	    !(sig = malloc(len)) ||
	    EVP_DigestSign(md, sig, &len, (const unsigned char *)p->manifest, p->manifest_len) != 1) {
		oab_err_ssl(err, OAB_E_KEY, "signing the Mender manifest with '%s'", s->label);
		goto out;
	}
	rc = sig_encode(s->key, sig, len, b64, err);
out:
	EVP_MD_CTX_free(md);
	free(sig);
	return rc;
}

/* ---- data/0000.tar.gz ------------------------------------------------------ */

struct dsink {
	struct archive *a;
	uint64_t done, total;
	struct oab_export_ctx *c;
};

static int data_put(void *arg, const void *buf, size_t n)
{
	struct dsink *d = arg;

	if (archive_write_data(d->a, buf, n) != (la_ssize_t)n)
		return -1;
	d->done += n;
	if (d->c->progress)
		d->c->progress(d->c->progress_arg, "mender", d->done, d->total);
	return 0;
}

/* ---- parallel gzip ---------------------------------------------------------
 * The payload is the bulk of the work: deflate it on every CPU, as pigz
 * does. The input is cut into 1 MiB blocks; each is deflated on a thread of
 * its own with the 32 KiB before it as dictionary and ends with a sync
 * flush (the last with the final block), and the pieces are concatenated
 * into one gzip member. The output depends on the block size and level
 * only, never on the number of threads, so exports stay reproducible. */
#define PGZ_BLOCK (1024 * 1024)
#define PGZ_DICT 32768
#define PGZ_MAX_JOBS 8

struct pgz_job {
	unsigned char *in, *out;
	size_t n, outlen;
	const unsigned char *dict;
	size_t dlen;
	int last, rc, level;
	uLong crc;
	pthread_t th;
};

struct pgz {
	int fd, level;
	size_t njobs, cur;
	struct pgz_job job[PGZ_MAX_JOBS];
	unsigned char dict[PGZ_DICT];
	size_t dlen;
	uLong crc;
	uint64_t total;
	int err; /* errno of the first write error */
};

#define PGZ_OUTCAP (PGZ_BLOCK + PGZ_BLOCK / 8 + 1024)

static void *pgz_work(void *arg)
{
	struct pgz_job *j = arg;
	z_stream z;
	int flush = j->last ? Z_FINISH : Z_SYNC_FLUSH;

	memset(&z, 0, sizeof(z));
	j->rc = -1;
	j->crc = crc32(0L, j->in, (uInt)j->n);
	if (deflateInit2(&z, j->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	if (!j->dlen || deflateSetDictionary(&z, j->dict, (uInt)j->dlen) == Z_OK) {
		z.next_in = j->in;
		z.avail_in = (uInt)j->n;
		z.next_out = j->out;
		z.avail_out = PGZ_OUTCAP;
		if (deflate(&z, flush) == (j->last ? Z_STREAM_END : Z_OK) && z.avail_in == 0 &&
		    z.avail_out > 0) {
			j->outlen = PGZ_OUTCAP - z.avail_out;
			j->rc = 0;
		}
	}
	deflateEnd(&z);
	return NULL;
}

static int pgz_out(struct pgz *g, const void *b, size_t n)
{
	if (!g->err && oab_write_all(g->fd, b, n) < 0)
		g->err = errno ? errno : EIO;
	return g->err ? -1 : 0;
}

/* Deflate jobs 0..n-1 (the last one final if fin) and write them in order. */
static int pgz_batch(struct pgz *g, size_t n, int fin)
{
	int rc = 0;

	for (size_t k = 0; k < n; k++) {
		struct pgz_job *j = &g->job[k];

		j->dict = k ? g->job[k - 1].in + g->job[k - 1].n - PGZ_DICT : g->dict;
		j->dlen = k ? PGZ_DICT : g->dlen;
		j->last = fin && k == n - 1;
		j->level = g->level;
		if (n == 1 || pthread_create(&j->th, NULL, pgz_work, j) != 0) {
			pgz_work(j);
			j->th = pthread_self();
		}
	}
	for (size_t k = 0; k < n; k++) {
		struct pgz_job *j = &g->job[k];

		if (!pthread_equal(j->th, pthread_self()))
			pthread_join(j->th, NULL);
	}
	for (size_t k = 0; k < n; k++) {
		struct pgz_job *j = &g->job[k];

		if (j->rc < 0 || pgz_out(g, j->out, j->outlen) < 0)
			rc = -1;
		g->crc = crc32_combine(g->crc, j->crc, (z_off_t)j->n);
	}
	/* Blocks before the last batch are full: the dictionary for what
	 * follows is the end of the last one. */
	if (n && g->job[n - 1].n >= PGZ_DICT) {
		memcpy(g->dict, g->job[n - 1].in + g->job[n - 1].n - PGZ_DICT, PGZ_DICT);
		g->dlen = PGZ_DICT;
	}
	for (size_t k = 0; k < n; k++)
		g->job[k].n = 0;
	g->cur = 0;
	return rc;
}

static void pgz_free(struct pgz *g)
{
	for (size_t k = 0; k < PGZ_MAX_JOBS; k++) {
		free(g->job[k].in);
		free(g->job[k].out);
	}
	free(g);
}

static struct pgz *pgz_new(int fd, int level)
{
	static const unsigned char hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
	struct pgz *g = calloc(1, sizeof(*g));
	int cpus = oab_online_cpus();

	if (!g)
		return NULL;
	g->fd = fd;
	g->level = level;
	g->njobs = cpus < 1 ? 1 : cpus > PGZ_MAX_JOBS ? PGZ_MAX_JOBS : (size_t)cpus;
	g->crc = crc32(0L, Z_NULL, 0);
	for (size_t k = 0; k < g->njobs; k++)
		if (!(g->job[k].in = malloc(PGZ_BLOCK)) || !(g->job[k].out = malloc(PGZ_OUTCAP))) {
			pgz_free(g);
			return NULL;
		}
	pgz_out(g, hdr, sizeof(hdr));
	return g;
}

static la_ssize_t pgz_write(struct archive *a, void *arg, const void *buf, size_t n)
{
	struct pgz *g = arg;
	const unsigned char *p = buf;
	size_t left = n;

	while (left) {
		struct pgz_job *j = &g->job[g->cur];
		size_t take = PGZ_BLOCK - j->n < left ? PGZ_BLOCK - j->n : left;

		memcpy(j->in + j->n, p, take);
		j->n += take;
		p += take;
		left -= take;
		g->total += take;
		if (j->n == PGZ_BLOCK && ++g->cur == g->njobs && pgz_batch(g, g->njobs, 0) < 0)
			break;
	}
	if (g->err || left) {
		archive_set_error(a, g->err ? g->err : EIO, "gzip: %s",
				  g->err ? strerror(g->err) : "deflate failed");
		return -1;
	}
	return (la_ssize_t)n;
}

/* The last (partial) batch, or an empty final block, then the trailer. */
static int pgz_finish(struct pgz *g, struct oab_err *err)
{
	unsigned char t[8];
	size_t n = g->cur + (g->job[g->cur].n > 0);
	uint32_t isize = (uint32_t)(g->total & 0xffffffffu);

	if (n == 0)
		n = 1; /* job 0 empty: a final empty block */
	if (pgz_batch(g, n, 1) < 0 && !g->err)
		return oab_err_set(err, OAB_E_INTERNAL, "gzip: deflate failed");
	for (int i = 0; i < 4; i++) {
		t[i] = (unsigned char)(g->crc >> (8 * i));
		t[4 + i] = (unsigned char)(isize >> (8 * i));
	}
	if (pgz_out(g, t, sizeof(t)) < 0)
		return oab_err_set(err, OAB_E_IO, "temporary file: %s", strerror(g->err));
	return 0;
}

/* Stream the bundle again through the reader (every chunk checked again)
 * and re-encode the chosen payload into tmp. */
static int make_data(struct oab_export_ctx *c, const struct mplan *p, int tmp,
		     struct oab_err *err)
{
	struct dsink d = {.c = c, .total = p->it->size};
	struct oab_reader *r = NULL;
	struct oab_sink *sink = NULL;
	const struct oab_item *it;
	struct archive_entry *e = NULL;
	struct pgz *gz = NULL;
	int st, rc = -1, found = 0, opened;

	/* gzip: a plain tar into the parallel deflate; else libarchive's filter */
	if (strcmp(p->suffix, ".gz") == 0) {
		d.a = tar_new("", 0);
		gz = pgz_new(tmp, p->level);
		opened = d.a && gz && archive_write_open(d.a, gz, NULL, pgz_write, NULL) == ARCHIVE_OK;
	} else {
		d.a = tar_new(p->suffix, p->level);
		opened = d.a && archive_write_open_fd(d.a, tmp) == ARCHIVE_OK;
	}
	if (!opened || !(e = archive_entry_new()) || !(sink = oab_sink_callback(data_put, &d))) {
		oab_err_set(err, OAB_E_INTERNAL, "data/0000.tar%s: %s", p->suffix,
			    d.a ? archive_error_string(d.a) : "out of memory");
		goto out;
	}
	archive_entry_set_pathname(e, p->file);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)p->it->size);
	archive_entry_set_mtime(e, (time_t)c->build_time, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if (lseek(c->bundle_fd, 0, SEEK_SET) < 0) {
		oab_err_set(err, OAB_E_IO, "%s: %s", c->label, strerror(errno));
		goto out;
	}
	if (oab_reader_open(c->bundle_fd, c->label, c->vopts, &r, err) < 0 ||
	    oab_reader_authenticate(r, err) < 0)
		goto out;
	while ((st = oab_reader_next(r, &it, err)) == 1) {
		if (strcmp(it->name, p->it->name) != 0)
			continue;
		if (archive_write_header(d.a, e) != ARCHIVE_OK) {
			oab_err_set(err, OAB_E_IO, "data/0000.tar%s: %s", p->suffix,
				    archive_error_string(d.a));
			goto out;
		}
		if (oab_reader_read(r, sink, err) < 0)
			goto out;
		if (d.done != p->it->size) {
			oab_err_set(err, OAB_E_INTERNAL, "item '%s': %llu bytes read, %llu expected",
				    it->name, (unsigned long long)d.done,
				    (unsigned long long)p->it->size);
			goto out;
		}
		found = 1;
	}
	if (st < 0)
		goto out;
	if (!found) {
		oab_err_set(err, OAB_E_INTERNAL, "item '%s' not met in the bundle", p->it->name);
		goto out;
	}
	if (archive_write_close(d.a) != ARCHIVE_OK) {
		oab_err_set(err, OAB_E_IO, "data/0000.tar%s: %s", p->suffix, archive_error_string(d.a));
		goto out;
	}
	if (gz && pgz_finish(gz, err) < 0)
		goto out;
	rc = 0;
out:
	if (d.a)
		archive_write_free(d.a);
	if (gz)
		pgz_free(gz);
	archive_entry_free(e);
	oab_sink_free(sink);
	oab_reader_free(r);
	return rc;
}

/* ---- the artifact -------------------------------------------------------- */

static int put_mem(struct archive *a, const char *name, const void *data, size_t n, int64_t mtime,
		   struct oab_err *err)
{
	if (oab_wr_header(a, name, n, mtime, err) < 0)
		return -1;
	if (n && archive_write_data(a, data, n) != (la_ssize_t)n)
		return oab_err_set(err, OAB_E_IO, "member '%s': %s", name, archive_error_string(a));
	return 0;
}

static int put_file(struct archive *a, const char *name, int fd, int64_t mtime,
		    struct oab_err *err)
{
	struct stat st;
	char *buf = NULL;
	uint64_t left;
	int rc = -1;

	if (fstat(fd, &st) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return oab_err_set(err, OAB_E_IO, "temporary file: %s", strerror(errno));
	if (oab_wr_header(a, name, (uint64_t)st.st_size, mtime, err) < 0)
		return -1;
	if (!(buf = malloc(OAB_IO_BUF)))
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	for (left = (uint64_t)st.st_size; left;) {
		size_t want = left < OAB_IO_BUF ? (size_t)left : OAB_IO_BUF;
		ssize_t n = oab_read_full(fd, buf, want);

		if (n != (ssize_t)want) {
			oab_err_set(err, OAB_E_IO, "temporary file: %s", n < 0 ? strerror(errno)
				    : "shorter than it was");
			goto out;
		}
		if (archive_write_data(a, buf, want) != (la_ssize_t)want) {
			oab_err_set(err, OAB_E_IO, "member '%s': %s", name, archive_error_string(a));
			goto out;
		}
		left -= want;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

/* The artifact into c->out_fd; sig_b64 NULL: unsigned (no manifest.sig). */
static int write_artifact(struct oab_export_ctx *c, const struct mplan *p, const char *sig_b64,
			  struct oab_err *err)
{
	struct archive *a = NULL;
	char hname[32], dname[32];
	int tmp = oab_anon_tmpfile(c->out_dir, err), rc = -1;

	if (tmp < 0)
		return -1;
	snprintf(hname, sizeof(hname), "header.tar%s", p->suffix);
	snprintf(dname, sizeof(dname), "data/0000.tar%s", p->suffix);
	if (make_data(c, p, tmp, err) < 0 || oab_wr_open(&a, c->out_fd, err) < 0)
		goto out;
	if (put_mem(a, "version", MND_VERSION, strlen(MND_VERSION), c->build_time, err) < 0 ||
	    put_mem(a, "manifest", p->manifest, p->manifest_len, c->build_time, err) < 0 ||
	    (sig_b64 && put_mem(a, "manifest.sig", sig_b64, strlen(sig_b64), c->build_time, err) < 0) ||
	    put_mem(a, hname, p->header, p->header_len, c->build_time, err) < 0 ||
	    put_file(a, dname, tmp, c->build_time, err) < 0)
		goto out;
	if (archive_write_close(a) != ARCHIVE_OK) {
		oab_err_set(err, OAB_E_IO, "%s", archive_error_string(a));
		goto out;
	}
	rc = 0;
out:
	if (a)
		archive_write_free(a);
	close(tmp);
	return rc;
}

/* Say which items the artifact does not carry (otabundle-export(5)). */
static void left_out(struct oab_export_ctx *c, const struct mplan *p)
{
	for (size_t i = 0; c->warn && i < c->m->n_items; i++) {
		const struct oab_item *it = &c->m->items[i];
		char *msg;

		if (it == p->it)
			continue;
		if (asprintf(&msg, "%s '%s' is not in the Mender artifact (it carries one payload, "
			     "no scripts and no SBOM)", it->kind == OAB_ITEM_PAYLOAD ? "payload"
			     : it->kind == OAB_ITEM_SCRIPT ? "script" : "sbom", it->name) >= 0) {
			c->warn(c->warn_arg, msg);
			free(msg);
		}
	}
}

/* The room signer: the public key of a PEM certificate or public key. */
static EVP_PKEY *room_key(const char *path, struct oab_err *err)
{
	char *pem = NULL;
	size_t len = 0;
	EVP_PKEY *k = NULL;
	X509 *x;
	BIO *b;

	if (oab_read_file(path, 1024 * 1024, &pem, &len, err) < 0)
		return NULL;
	if ((b = BIO_new_mem_buf(pem, (int)len)) && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		k = X509_get_pubkey(x);
		X509_free(x);
	}
	BIO_free(b);
	if (!k && (b = BIO_new_mem_buf(pem, (int)len))) {
		k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	ERR_clear_error();
	free(pem);
	if (!k)
		oab_err_set(err, OAB_E_KEY, "'%s': holds no PEM certificate or public key", path);
	return k;
}

/* The signing room's two steps (struct oab_export_opts room). */
static int room(struct oab_export_ctx *c, struct oab_err *err)
{
	unsigned char *tbs = NULL;
	char *sig = NULL;
	size_t len = 0;
	EVP_PKEY *k = NULL;
	int rc = -1;

	if (c->opts->room == OAB_ROOM_TBS) {
		if (oab_mender_tbs(c, &tbs, &len, err) < 0)
			return -1;
		if (oab_write_all(c->out_fd, tbs, len) < 0)
			oab_err_set(err, OAB_E_IO, "'%s': %s", c->opts->output, strerror(errno));
		else
			rc = 0;
		free(tbs);
		return rc;
	}
	if (!(k = room_key(c->opts->room_signer, err)) ||
	    oab_read_file(c->opts->room_signature, 64 * 1024, &sig, &len, err) < 0)
		goto out;
	rc = oab_mender_attach(c, k, (const unsigned char *)sig, len, err);
out:
	EVP_PKEY_free(k);
	free(sig);
	return rc;
}

int oab_export_mender(struct oab_export_ctx *c, struct oab_err *err)
{
	struct mplan p;
	char *b64 = NULL, why[160];
	int rc;

	if (c->opts && c->opts->room != OAB_ROOM_NONE)
		return room(c, err);
	if (c->n_signers > 1)
		return oab_err_set(err, OAB_E_USAGE,
				   "a Mender artifact carries one signature: give one signer (%zu given; "
				   "the threshold cannot be carried)", c->n_signers);
	if (c->n_signers && oab_mender_key_ok(c->signers[0].key, why, sizeof(why)) < 0)
		return oab_err_set(err, OAB_E_KEY, "signer '%s': %s", c->signers[0].label, why);
	if (plan_make(c, &p, err) < 0)
		return -1;
	left_out(c, &p);
	rc = c->n_signers ? sign_manifest(&c->signers[0], &p, &b64, err) : 0;
	if (rc == 0)
		rc = write_artifact(c, &p, b64, err);
	free(b64);
	plan_free(&p);
	return rc;
}

int oab_mender_attach(struct oab_export_ctx *c, EVP_PKEY *pub, const unsigned char *sig,
		      size_t len, struct oab_err *err)
{
	struct mplan p;
	char *b64 = NULL, why[160];
	int rc;

	if (oab_mender_key_ok(pub, why, sizeof(why)) < 0)
		return oab_err_set(err, OAB_E_KEY, "%s", why);
	if (oab_key_policy(pub, 0, 1, why, sizeof(why)) < 0)
		return oab_err_set(err, OAB_E_KEY, "the signer's key: %s", why);
	if (plan_make(c, &p, err) < 0)
		return -1;
	rc = sig_encode(pub, sig, len, &b64, err);
	if (rc == 0 && oab_mender_sig_check(pub, (const unsigned char *)p.manifest, p.manifest_len,
					    b64) != 1)
		rc = oab_err_set(err, OAB_E_USAGE, "the signature does not verify over this export's "
				 "manifest with the given key (made over other bytes, or by another key)");
	if (rc == 0)
		rc = write_artifact(c, &p, b64, err);
	free(b64);
	plan_free(&p);
	return rc;
}
