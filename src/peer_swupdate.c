/* SPDX-License-Identifier: Apache-2.0 */
/* peer_swupdate.c - audit of SWUpdate .swu bundles (verify and inspect):
 * a cpio archive (newc or crc) whose first member, sw-description (libconfig
 * syntax), is signed by the detached DER CMS of the second member,
 * sw-description.sig, and names every other member it installs with the
 * SHA-256 of its stored bytes. Read once, front to back, in bounded memory. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libconfig.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "peer.h"
#include "peer_swupdate.h"

struct swu_hdr {
	int crc;              /* 070702: data checksum in check */
	uint32_t mode, mtime, filesize, namesize, check;
	char name[OAB_SWU_MAX_NAME + 1];
	char esc[400];        /* name, escaped for messages */
	uint64_t at;          /* offset of the header */
};

struct swu_in {
	int fd;
	const char *label;
	uint64_t off;
	int fmt;              /* -1 unknown, else 0 newc / 1 crc (all headers alike) */
	unsigned char *buf;   /* OAB_IO_BUF */
};

/* One artefact sw-description names (images, files, scripts, bootenv...). */
struct swu_ref {
	char *file;
	char *type;
	char *target;         /* device, path or volume: where it goes */
	unsigned char sha[32];
	int has_sha;
	int script;
	int seen;
	uint64_t size;
};

struct swu_refs {
	struct swu_ref *r;
	size_t n;
	char *version;
	char *description;
	int64_t created; /* sw-description's cpio time */
	char **hw;
	size_t n_hw;
};

static int rej(struct oab_err *err, enum oab_detail d, const char *member, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int rej(struct oab_err *err, enum oab_detail d, const char *member, const char *fmt, ...)
{
	va_list ap;
	char msg[OAB_ERR_MAX];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	oab_err_set(err, OAB_E_REJECTED, "%s", msg);
	return oab_err_detail(err, d, member, -1, NULL, NULL);
}

/* ---- cpio newc / crc ------------------------------------------------------ */

static int hex8(const unsigned char *p, uint32_t *v)
{
	uint32_t x = 0;

	for (int i = 0; i < 8; i++) {
		int c = p[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		x = x << 4 | (uint32_t)d;
	}
	*v = x;
	return 0;
}

static int in_read(struct swu_in *in, void *p, size_t n, const char *what, struct oab_err *err)
{
	ssize_t got = oab_read_full(in->fd, p, n);

	if (got < 0)
		return oab_err_set(err, OAB_E_IO, "%s: read error at offset %llu: %s", in->label,
				   (unsigned long long)in->off, strerror(errno));
	if ((size_t)got != n)
		return rej(err, OAB_D_STRUCTURE, NULL, "%s: truncated in %s (offset %llu)", in->label,
			   what, (unsigned long long)(in->off + (uint64_t)got));
	in->off += n;
	return 0;
}

/* Zero padding to the next 4-byte boundary (cpio newc/crc alignment). */
static int in_pad(struct swu_in *in, const char *what, struct oab_err *err)
{
	unsigned char z[4];
	size_t n = (size_t)((4 - in->off % 4) % 4);

	if (n && in_read(in, z, n, what, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (z[i])
			return rej(err, OAB_D_STRUCTURE, NULL, "%s: non-zero cpio padding after %s",
				   in->label, what);
	return 0;
}

/* The next header, its name checked: 1, or 0 at TRAILER!!!. */
static int cpio_next(struct swu_in *in, struct swu_hdr *h, struct oab_err *err)
{
	static const char *const field[13] = {"ino", "mode", "uid", "gid", "nlink", "mtime",
					      "filesize", "devmajor", "devminor", "rdevmajor",
					      "rdevminor", "namesize", "check"};
	unsigned char raw[110];
	uint32_t v[13];
	char name[OAB_SWU_MAX_NAME + 2];

	memset(h, 0, sizeof(*h));
	h->at = in->off;
	if (in_read(in, raw, sizeof(raw), "a cpio header", err) < 0)
		return -1;
	if (memcmp(raw, "070701", 6) == 0)
		h->crc = 0;
	else if (memcmp(raw, "070702", 6) == 0)
		h->crc = 1;
	else
		return rej(err, in->off == 110 ? OAB_D_NOT_A_BUNDLE : OAB_D_STRUCTURE, NULL,
			   "%s: offset %llu: not a cpio newc or crc header (magic 070701/070702)",
			   in->label, (unsigned long long)h->at);
	if (in->fmt >= 0 && in->fmt != h->crc)
		return rej(err, OAB_D_STRUCTURE, NULL,
			   "%s: offset %llu: cpio newc and crc headers mixed in one archive", in->label,
			   (unsigned long long)h->at);
	in->fmt = h->crc;
	for (int i = 0; i < 13; i++)
		if (hex8(raw + 6 + 8 * i, &v[i]) < 0)
			return rej(err, OAB_D_STRUCTURE, NULL,
				   "%s: offset %llu: cpio header field %s is not 8 hex digits", in->label,
				   (unsigned long long)h->at, field[i]);
	h->mode = v[1];
	h->mtime = v[5];
	h->filesize = v[6];
	h->namesize = v[11];
	h->check = v[12];
	if (h->namesize < 2 || h->namesize > OAB_SWU_MAX_NAME + 1)
		return rej(err, OAB_D_STRUCTURE, NULL,
			   "%s: offset %llu: cpio name size %u (expected 2 to %d with its NUL)",
			   in->label, (unsigned long long)h->at, h->namesize, OAB_SWU_MAX_NAME + 1);
	if (in_read(in, name, h->namesize, "a cpio member name", err) < 0)
		return -1;
	if (name[h->namesize - 1] != '\0' || strlen(name) != h->namesize - 1)
		return rej(err, OAB_D_STRUCTURE, NULL,
			   "%s: offset %llu: cpio member name not ended by its only NUL byte",
			   in->label, (unsigned long long)h->at);
	memcpy(h->name, name, h->namesize);
	oab_escape(h->name, strlen(h->name), h->esc, sizeof(h->esc));
	if (in_pad(in, "a cpio header", err) < 0)
		return -1;
	if (strcmp(h->name, "TRAILER!!!") == 0) {
		if (h->filesize)
			return rej(err, OAB_D_STRUCTURE, NULL, "%s: cpio trailer with %u data bytes",
				   in->label, h->filesize);
		return 0;
	}
	if ((h->mode & 0170000) != 0100000)
		return rej(err, OAB_D_STRUCTURE, h->esc,
			   "member '%s': not a regular file (cpio mode %06o)", h->esc, h->mode);
	/* SWUpdate writes members to its temp folder under their own name. */
	if (strchr(h->name, '/') || strcmp(h->name, ".") == 0 || strcmp(h->name, "..") == 0)
		return rej(err, OAB_D_STRUCTURE, h->esc,
			   "member '%s': a path, not a plain file name", h->esc);
	for (const unsigned char *p = (const unsigned char *)h->name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return rej(err, OAB_D_STRUCTURE, h->esc,
				   "member '%s': control character in its name", h->esc);
	return 1;
}

/* The member's data: hashed into md (may be NULL), kept whole in keep
 * (may be NULL; then at most keepmax bytes), the crc byte sum checked. */
/* Stored chunk hashes of a zstd item (otabundle-format(5)) as its member
 * streams past: bad counts the chunks that did not match. */
struct chunker {
	const struct oab_item *it;
	EVP_MD_CTX *md;
	uint64_t pos;
	size_t k;
	size_t bad;
};

static int chunk_feed(struct chunker *c, const unsigned char *p, size_t n)
{
	while (n) {
		uint64_t room = c->it->chunk_size - c->pos % c->it->chunk_size;
		size_t take = n < room ? n : (size_t)room;
		unsigned char dg[32];

		if (c->pos % c->it->chunk_size == 0 && EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1)
			return -1;
		if (EVP_DigestUpdate(c->md, p, take) != 1)
			return -1;
		c->pos += take;
		p += take;
		n -= take;
		if (c->pos % c->it->chunk_size == 0 || c->pos == c->it->stored_size) {
			if (EVP_DigestFinal_ex(c->md, dg, NULL) != 1)
				return -1;
			if (c->k >= c->it->n_chunks || CRYPTO_memcmp(dg, c->it->chunk_sha256[c->k], 32))
				c->bad++;
			c->k++;
		}
	}
	return 0;
}

static int cpio_data(struct swu_in *in, const struct swu_hdr *h, EVP_MD_CTX *md,
		     unsigned char *keep, struct chunker *ck, struct oab_err *err)
{
	uint64_t left = h->filesize;
	uint32_t sum = 0;

	while (left) {
		size_t n = left < OAB_IO_BUF ? (size_t)left : OAB_IO_BUF;
		unsigned char *p = keep ? keep + (h->filesize - left) : in->buf;
		char what[480];

		snprintf(what, sizeof(what), "member '%s'", h->esc);
		if (in_read(in, p, n, what, err) < 0) {
			err->detail = OAB_D_STRUCTURE;
			return -1;
		}
		if (h->crc)
			for (size_t i = 0; i < n; i++)
				sum += p[i];
		if ((md && EVP_DigestUpdate(md, p, n) != 1) || (ck && chunk_feed(ck, p, n) < 0))
			return oab_err_set(err, OAB_E_INTERNAL, "SHA-256 failed");
		left -= n;
	}
	if (in_pad(in, h->esc, err) < 0)
		return -1;
	if (h->crc && sum != h->check) {
		char w[16], g[16];

		snprintf(w, sizeof(w), "%08x", h->check);
		snprintf(g, sizeof(g), "%08x", sum);
		oab_err_set(err, OAB_E_REJECTED, "member '%s': cpio crc mismatch (header %s, data %s)",
			    h->esc, w, g);
		return oab_err_detail(err, OAB_D_CONTENT_HASH, h->esc, -1, w, g);
	}
	return 0;
}

/* After TRAILER!!!: cpio pads to a block; only zero bytes may follow. */
static int cpio_tail(struct swu_in *in, struct oab_err *err)
{
	uint64_t extra = 0;

	for (;;) {
		ssize_t n = read(in->fd, in->buf, OAB_IO_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return oab_err_set(err, OAB_E_IO, "%s: read error: %s", in->label,
					   strerror(errno));
		if (n == 0)
			return 0;
		for (ssize_t i = 0; i < n; i++)
			if (in->buf[i])
				return rej(err, OAB_D_STRUCTURE, NULL,
					   "%s: data after the cpio trailer (offset %llu)", in->label,
					   (unsigned long long)(in->off + extra + (uint64_t)i));
		extra += (uint64_t)n;
		if (extra > OAB_SWU_MAX_TAIL)
			return rej(err, OAB_D_STRUCTURE, NULL,
				   "%s: more than %d bytes of padding after the cpio trailer",
				   in->label, OAB_SWU_MAX_TAIL);
	}
}

/* ---- sw-description ------------------------------------------------------- */

static void refs_free(struct swu_refs *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->r[i].file);
		free(rs->r[i].type);
		free(rs->r[i].target);
	}
	free(rs->r);
	free(rs->version);
	free(rs->description);
	for (size_t i = 0; i < rs->n_hw; i++)
		free(rs->hw[i]);
	free(rs->hw);
	memset(rs, 0, sizeof(*rs));
}

static const char *str_member(const config_setting_t *g, const char *key)
{
	const char *s = NULL;

	return config_setting_lookup_string(g, key, &s) == CONFIG_TRUE ? s : NULL;
}

static int ref_add(struct swu_refs *rs, const config_setting_t *g, const char *file, int script,
		   struct oab_err *err)
{
	const char *sha = str_member(g, "sha256"), *type = str_member(g, "type"),
		   *target = str_member(g, "device");
	struct swu_ref nr = {0}, *r;
	char esc[400];

	oab_escape(file, strlen(file), esc, sizeof(esc));
	if (!target)
		target = str_member(g, "path");
	if (!target)
		target = str_member(g, "volume");
	if (sha && (strlen(sha) != 64 || oab_unhex(sha, nr.sha, 32) < 0))
		return rej(err, OAB_D_MANIFEST, "sw-description",
			   "sw-description: '%s': sha256 is not 64 hex digits", esc);
	nr.has_sha = sha != NULL;
	for (size_t i = 0; i < rs->n; i++) {
		if (strcmp(rs->r[i].file, file) != 0)
			continue;
		/* The same file named twice (e.g. for two boards) must be one file. */
		if (rs->r[i].has_sha != nr.has_sha ||
		    (nr.has_sha && memcmp(rs->r[i].sha, nr.sha, 32) != 0))
			return rej(err, OAB_D_MANIFEST, "sw-description",
				   "sw-description: '%s' is named twice with different sha256", esc);
		return 0;
	}
	if (rs->n >= OAB_MAX_ITEMS)
		return rej(err, OAB_D_MANIFEST, "sw-description",
			   "sw-description: names more than %d files", OAB_MAX_ITEMS);
	r = realloc(rs->r, (rs->n + 1) * sizeof(*r));
	if (!r)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	rs->r = r;
	nr.script = script;
	nr.file = strdup(file);
	nr.type = type ? strdup(type) : NULL;
	nr.target = target ? strdup(target) : NULL;
	rs->r[rs->n++] = nr;
	if (!nr.file || (type && !nr.type) || (target && !nr.target))
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	return 0;
}

static int strv_add(char ***v, size_t *n, const char *s)
{
	char **nv;

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return 0;
	if (*n >= OAB_MAX_ITEMS || !(nv = realloc(*v, (*n + 1) * sizeof(*nv))))
		return -1;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return -1;
	(*n)++;
	return 0;
}

/* Every group of the tree with a filename is a file SWUpdate may install
 * (images, files, scripts, bootenv, under any board or selection), so all
 * of them are checked, whichever a device would pick. */
static int walk(const config_setting_t *s, int depth, int script, struct swu_refs *rs,
		struct oab_err *err)
{
	int n;

	if (depth > OAB_SWU_MAX_DEPTH)
		return rej(err, OAB_D_MANIFEST, "sw-description",
			   "sw-description: nested deeper than %d levels", OAB_SWU_MAX_DEPTH);
	if (!config_setting_is_aggregate(s))
		return 0;
	if (config_setting_is_group(s)) {
		const char *f = str_member(s, "filename");
		const config_setting_t *hw = config_setting_get_member(s, "hardware-compatibility");

		if (f && *f && ref_add(rs, s, f, script, err) < 0)
			return -1;
		if (!rs->version && str_member(s, "version") && !f)
			rs->version = strdup(str_member(s, "version"));
		if (!rs->description && str_member(s, "description") && !f)
			rs->description = strdup(str_member(s, "description"));
		for (int i = 0; hw && i < config_setting_length(hw); i++) {
			const char *e = config_setting_get_string_elem(hw, i);

			if (e && strv_add(&rs->hw, &rs->n_hw, e) < 0)
				return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		}
	}
	n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		const config_setting_t *k = config_setting_get_elem(s, (unsigned)i);
		const char *name = config_setting_name(k);
		int sc = script;

		if (name)
			sc = strcmp(name, "scripts") == 0 || strcmp(name, "bootenv") == 0 ||
			     strcmp(name, "uboot") == 0 || (script && !config_setting_is_list(k));
		if (walk(k, depth + 1, sc, rs, err) < 0)
			return -1;
	}
	return 0;
}

/* Parse the (signed) sw-description text, NUL-terminated, len bytes. */
static int desc_parse(const char *text, size_t len, struct swu_refs *rs, struct oab_err *err)
{
	config_t cfg;
	const config_setting_t *sw;
	int rc = -1;

	if (strlen(text) != len)
		return rej(err, OAB_D_MANIFEST, "sw-description", "sw-description: holds a NUL byte");
	/* libconfig would open and read any file an @include names. */
	for (const char *p = text; (p = strchr(p, '@')); p++)
		if (strncasecmp(p + 1, "include", 7) == 0)
			return rej(err, OAB_D_MANIFEST, "sw-description",
				   "sw-description: @include is refused (it would read files outside the bundle)");
	config_init(&cfg);
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		char esc[400];
		const char *t = config_error_text(&cfg) ? config_error_text(&cfg) : "?";

		oab_escape(t, strlen(t), esc, sizeof(esc));
		rej(err, OAB_D_MANIFEST, "sw-description", "sw-description:%d: %s",
		    config_error_line(&cfg), esc);
		goto out;
	}
	sw = config_lookup(&cfg, "software");
	if (!sw || !config_setting_is_group(sw)) {
		rej(err, OAB_D_MANIFEST, "sw-description",
		    "sw-description: no group 'software' (SWUpdate's root)");
		goto out;
	}
	if (walk(sw, 0, 0, rs, err) < 0)
		goto out;
	if (!rs->version) {
		rej(err, OAB_D_MANIFEST, "sw-description", "sw-description: no version");
		goto out;
	}
	rc = 0;
out:
	config_destroy(&cfg);
	return rc;
}

/* The sw-description as an otabundle manifest for the report. */
static struct oab_manifest *synth(struct swu_refs *rs, const char *label)
{
	struct oab_manifest *m = calloc(1, sizeof(*m));
	const char *base = strrchr(label, '/') ? strrchr(label, '/') + 1 : label;

	if (!m)
		return NULL;
	m->format = OAB_FORMAT_VERSION;
	m->has_created = 1;
	m->created = rs->created;
	m->name = strdup(base);
	m->version = strdup(rs->version);
	m->description = rs->description ? strdup(rs->description) : NULL;
	m->compatible = oab_calloc_array(rs->n_hw, sizeof(char *));
	m->items = oab_calloc_array(rs->n, sizeof(struct oab_item));
	if (!m->name || !m->version || !m->compatible || !m->items) {
		oab_manifest_free(m);
		return NULL;
	}
	for (size_t i = 0; i < rs->n_hw; i++)
		if ((m->compatible[m->n_compatible] = strdup(rs->hw[i])))
			m->n_compatible++;
	for (size_t i = 0; i < rs->n; i++) {
		struct oab_item *it = &m->items[m->n_items++];
		const struct swu_ref *r = &rs->r[i];

		it->kind = r->script ? OAB_ITEM_SCRIPT : OAB_ITEM_PAYLOAD;
		it->name = strdup(r->file);
		it->member = strdup(r->file);
		it->type = r->type ? strdup(r->type) : NULL;
		it->slot = r->target ? strdup(r->target) : NULL;
		/* sha256 and sizes are the stored bytes' (SWUpdate decompresses
		 * "compressed" files itself) */
		it->compression = OAB_COMP_NONE;
		it->size = it->stored_size = r->size;
		memcpy(it->sha256, r->sha, 32);
		memcpy(it->stored_sha256, r->sha, 32);
	}
	return m;
}

/* ---- the audit -------------------------------------------------------- */

char *oab_swu_member_name(const struct oab_item *it)
{
	const char *b = strrchr(it->member, '/');

	return strdup(it->kind == OAB_ITEM_SCRIPT ? it->name : b ? b + 1 : it->member);
}

/* What the audit keeps of every member (verify). */
struct swu_seen {
	char **name;
	unsigned char (*sha)[32];
	uint64_t *size;
	size_t n;
	unsigned char *yaml, *osig; /* an export's manifest.yaml and manifest.sig */
	size_t ylen, oslen;
};

static void move_report(struct oab_report *to, struct oab_report *from)
{
	struct oab_signer_report *ns;

	for (size_t i = 0; i < from->n_checks; i++) {
		char id[64];

		snprintf(id, sizeof(id), "otabundle.%s", from->checks[i].id);
		oab_report_add_check(to, from->checks[i].ok, id, from->checks[i].subject,
				     from->checks[i].detail ? "%s" : NULL, from->checks[i].detail);
	}
	to->n_unrecorded += from->n_unrecorded;
	if (from->n_signers &&
	    (ns = realloc(to->signers, (to->n_signers + from->n_signers) * sizeof(*ns)))) {
		to->signers = ns;
		memcpy(ns + to->n_signers, from->signers, from->n_signers * sizeof(*ns));
		to->n_signers += from->n_signers;
		from->n_signers = 0;
	}
}

/* An export carries otabundle's own manifest.yaml and manifest.sig right
 * after sw-description.sig (SWUpdate skips them): verified as verify
 * verifies a bundle (signature, trust, threshold, policy), then every item
 * is checked against the member that holds it as it streams past
 * (payloads and SBOM as stored: whole or chunk by chunk; scripts as
 * content). Its checks go to t, moved to the report with an "otabundle."
 * prefix. */
struct swu_emb {
	struct oab_report *t;
	struct oab_manifest *m;
	char **names;        /* each item's member name in the .swu */
	unsigned char *seen; /* each item checked */
	size_t bad;
};

static void emb_free(struct swu_emb *e)
{
	for (size_t i = 0; e->m && e->names && i < e->m->n_items; i++)
		free(e->names[i]);
	free(e->names);
	free(e->seen);
	oab_manifest_free(e->m);
	oab_report_free(e->t);
}

/* 1 verified, 0 not (err set, checks in e->t), -1 another failure. */
static int emb_open(struct swu_emb *e, const struct swu_seen *sn, const struct oab_verify_opts *o,
		    int64_t now, struct oab_err *err)
{
	CMS_ContentInfo *cms = NULL;
	int rc = 0;

	if (!(e->t = oab_report_new()))
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	if (!(cms = oab_cms_parse(sn->osig, sn->oslen, err))) {
		oab_report_add_check(e->t, 0, "signature", NULL, "%s", err->msg);
		goto out;
	}
	if (oab_trust_evaluate(o->trust, cms, sn->yaml, sn->ylen, now, o->threshold, o->allow_weak, o,
			       e->t, err) < 0)
		goto out;
	if (oab_manifest_parse((const char *)sn->yaml, sn->ylen, "manifest.yaml", NULL,
			       OAB_MANIFEST_RESOLVED, &e->m, err) < 0) {
		err->code = OAB_E_REJECTED;
		oab_err_detail(err, OAB_D_MANIFEST, "manifest.yaml", -1, NULL, NULL);
		oab_report_add_check(e->t, 0, "manifest", NULL, "%s", err->msg);
		goto out;
	}
	oab_report_add_check(e->t, 1, "manifest", NULL, "%s %s, %zu items", e->m->name,
			     e->m->version, e->m->n_items);
	if (oab_policy_check(e->m, o, now, e->t, err) < 0)
		goto out;
	e->names = oab_calloc_array(e->m->n_items, sizeof(char *));
	e->seen = oab_calloc_array(e->m->n_items, 1);
	if (!e->names || !e->seen) {
		rc = oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < e->m->n_items; i++)
		if (!(e->names[i] = oab_swu_member_name(&e->m->items[i]))) {
			rc = oab_err_set(err, OAB_E_INTERNAL, "out of memory");
			goto out;
		}
	rc = 1;
out:
	CMS_ContentInfo_free(cms);
	if (rc == 0 && err->code != OAB_E_REJECTED)
		rc = -1;
	if (rc == 0)
		oab_err_prefix(err, "otabundle manifest in the .swu: ");
	return rc;
}

static const struct oab_item *emb_item(struct swu_emb *e, const char *name, size_t *idx)
{
	for (size_t i = 0; e->names && i < e->m->n_items; i++)
		if (strcmp(e->names[i], name) == 0) {
			*idx = i;
			return &e->m->items[i];
		}
	return NULL;
}

/* After the member of item idx streamed past: dg its SHA-256, ck its
 * chunk hashes (zstd). */
static void emb_member(struct swu_emb *e, size_t idx, uint64_t size, const unsigned char *dg,
		       const struct chunker *ck, struct oab_err *err)
{
	const struct oab_item *it = &e->m->items[idx];
	int script = it->kind == OAB_ITEM_SCRIPT;
	uint64_t want = script ? it->size : it->stored_size;
	const char *why = NULL;

	e->seen[idx] = 1;
	if (size != want)
		why = "size differs from the manifest";
	else if (!script && it->compression == OAB_COMP_ZSTD)
		why = ck->bad || ck->k != it->n_chunks ? "stored chunk sha256 mismatch" : NULL;
	else if (CRYPTO_memcmp(dg, script ? it->sha256 : it->stored_sha256, 32) != 0)
		why = "sha256 mismatch";
	oab_report_add_check(e->t, !why, "member-hash", it->member, "%s member '%s'",
			     why ? why : "matches", e->names[idx]);
	if (why && !e->bad++) {
		oab_err_set(err, OAB_E_REJECTED, "manifest.yaml: item '%s': member '%s' of the .swu: %s",
			    it->name, e->names[idx], why);
		oab_err_detail(err, OAB_D_CONTENT_HASH, it->member, -1, NULL, NULL);
	}
}

/* At the end: every item was checked. */
static void emb_end(struct swu_emb *e, struct oab_err *err)
{
	for (size_t i = 0; i < e->m->n_items; i++) {
		if (e->seen[i])
			continue;
		oab_report_add_check(e->t, 0, "member-order", e->m->items[i].member,
				     "no member '%s' after manifest.sig", e->names[i]);
		if (!e->bad++) {
			oab_err_set(err, OAB_E_REJECTED,
				    "manifest.yaml: item '%s': no member '%s' after manifest.sig in the .swu",
				    e->m->items[i].name, e->names[i]);
			oab_err_detail(err, OAB_D_STRUCTURE, e->m->items[i].member, -1, NULL, NULL);
		}
	}
}

void oab_swu_sig_name(struct oab_err *err)
{
	char *p = strstr(err->msg, "'manifest.sig'");
	char tail[OAB_ERR_MAX];

	if (p) {
		snprintf(tail, sizeof(tail), "%s", p + strlen("'manifest.sig'"));
		snprintf(p, sizeof(err->msg) - (size_t)(p - err->msg), "'sw-description.sig'%s", tail);
	}
	if (strcmp(err->member, "manifest.sig") == 0)
		snprintf(err->member, sizeof(err->member), "sw-description.sig");
}

static int small_member(struct swu_in *in, const struct swu_hdr *h, size_t limit,
			unsigned char **out, size_t *len, struct oab_err *err)
{
	if (h->filesize > limit)
		return rej(err, OAB_D_STRUCTURE, h->esc, "member '%s': %u bytes, more than %zu",
			   h->esc, h->filesize, limit);
	*out = malloc((size_t)h->filesize + 1);
	if (!*out)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	if (cpio_data(in, h, NULL, *out, NULL, err) < 0)
		return -1;
	(*out)[h->filesize] = 0;
	*len = h->filesize;
	return 0;
}

/* The policy of verify as far as a .swu carries it. */
static int swu_policy(const struct swu_refs *rs, const struct oab_verify_opts *o,
		      struct oab_report *rep, struct oab_err *err)
{
	if (o->compatible) {
		int found = 0;

		for (size_t i = 0; i < rs->n_hw && !found; i++)
			found = strcmp(rs->hw[i], o->compatible) == 0;
		if (!oab_report_add_check(rep, found, "policy.compatible", NULL,
					  found ? "'%s' in hardware-compatibility"
						: "'%s' not in hardware-compatibility", o->compatible))
			return rej(err, OAB_D_POLICY_COMPATIBLE, NULL,
				   "sw-description: hardware-compatibility does not list '%s'",
				   o->compatible);
	}
	if (o->min_security_version > 0) {
		oab_report_add_check(rep, 0, "policy.security-version", NULL,
				     "a .swu carries no security version, %lld required",
				     (long long)o->min_security_version);
		return rej(err, OAB_D_POLICY_SECURITY_VERSION, NULL,
			   "sw-description: SWUpdate bundles carry no security version (%lld required)",
			   (long long)o->min_security_version);
	}
	return 0;
}

int oab_swu_audit(int fd, const char *label, const struct oab_verify_opts *o,
		  struct oab_report *rep, int check, struct oab_err *err)
{
	static const struct oab_verify_opts zero;
	struct swu_in in = {.fd = fd, .label = label ? label : "bundle", .fmt = -1};
	struct swu_refs rs = {0};
	struct swu_seen sn = {0};
	struct swu_emb e = {0};
	struct chunker ck = {0};
	struct swu_hdr h;
	unsigned char *desc = NULL, *sig = NULL;
	size_t dlen = 0, slen = 0, unlisted = 0, bad = 0;
	char first_unlisted[3][400];
	CMS_ContentInfo *cms = NULL;
	EVP_MD_CTX *md = NULL;
	int st, rc = -1, pending = 0, ended = 0;
	int64_t now;

	if (!o)
		o = &zero;
	now = o->now > 0 ? o->now : (int64_t)time(NULL);
	if (check && oab_trust_count(o->trust) == 0) {
		oab_err_set(err, OAB_E_USAGE, "no trust anchor given");
		return oab_err_detail(err, OAB_D_NO_ANCHOR, NULL, -1, NULL, NULL);
	}
	in.buf = malloc(OAB_IO_BUF);
	md = EVP_MD_CTX_new();
	ck.md = EVP_MD_CTX_new();
	sn.name = oab_calloc_array(OAB_SWU_MAX_MEMBERS, sizeof(char *));
	sn.sha = oab_calloc_array(OAB_SWU_MAX_MEMBERS, sizeof(*sn.sha));
	sn.size = oab_calloc_array(OAB_SWU_MAX_MEMBERS, sizeof(*sn.size));
	if (!in.buf || !md || !ck.md || !sn.name || !sn.sha || !sn.size) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	st = cpio_next(&in, &h, err);
	if (st <= 0 || strcmp(h.name, "sw-description") != 0) {
		if (st >= 0)
			rej(err, OAB_D_NOT_A_BUNDLE, NULL,
			    "%s: first cpio member is '%s', not 'sw-description': not a .swu",
			    in.label, st ? h.esc : "TRAILER!!!");
		oab_report_add_check(rep, 0, "member-order", "sw-description", "%s", err->msg);
		goto out;
	}
	if (small_member(&in, &h, OAB_SWU_MAX_DESC, &desc, &dlen, err) < 0) {
		oab_report_add_check(rep, 0, "manifest", "sw-description", "%s", err->msg);
		goto out;
	}
	rs.created = h.mtime;
	st = cpio_next(&in, &h, err);
	if (st < 0)
		goto out;
	if (st == 1 && strcmp(h.name, "sw-description.sig") == 0) {
		if (small_member(&in, &h, OAB_MAX_SIG_BYTES, &sig, &slen, err) < 0)
			goto out;
		rep->signed_bundle = 1;
	} else {
		/* unsigned: this header is the first file's, or the trailer */
		pending = st;
		ended = st == 0;
	}
	if (sig && !(cms = oab_cms_parse(sig, slen, err))) {
		oab_swu_sig_name(err);
		oab_report_add_check(rep, 0, "signature", NULL, "%s", err->msg);
		if (check || err->code != OAB_E_REJECTED)
			goto out;
	}
	if (check) {
		if (!sig) {
			oab_report_add_check(rep, 0, "signature", NULL, "bundle is not signed");
			rej(err, OAB_D_NOT_SIGNED, "sw-description.sig",
			    "%s: not signed (no member 'sw-description.sig' after 'sw-description')",
			    in.label);
			goto out;
		}
		if (oab_trust_evaluate(o->trust, cms, desc, dlen, now, o->threshold, o->allow_weak, o,
				       rep, err) < 0) {
			oab_swu_sig_name(err);
			goto out;
		}
	} else if (cms && oab_trust_evaluate(NULL, cms, desc, dlen, now, 1, 0, NULL, rep, err) < 0) {
		goto out;
	}
	/* Parsed only once its signature checked out (verify). */
	if (desc_parse((const char *)desc, dlen, &rs, err) < 0) {
		oab_report_add_check(rep, 0, "manifest", "sw-description", "%s", err->msg);
		goto out;
	}
	if (check)
		oab_report_add_check(rep, 1, "manifest", "sw-description", "version %s, %zu files",
				     rs.version, rs.n);
	while (!ended && (pending || (st = cpio_next(&in, &h, err)) == 1)) {
		struct swu_ref *r = NULL;
		const struct oab_item *eit = NULL;
		size_t eidx = 0;
		unsigned char *keep = NULL;
		char got[65], want[65];
		unsigned char *dg;

		pending = 0;
		if (sn.n == OAB_SWU_MAX_MEMBERS) {
			rej(err, OAB_D_STRUCTURE, NULL, "%s: more than %d cpio members", in.label,
			    OAB_SWU_MAX_MEMBERS);
			goto out;
		}
		for (size_t i = 0; i < sn.n; i++)
			if (strcmp(sn.name[i], h.name) == 0) {
				oab_report_add_check(rep, 0, "extra-members", h.esc, "member '%s' appears twice", h.esc);
				rej(err, OAB_D_STRUCTURE, h.esc,
				    "member '%s': appears twice (the verifier and SWUpdate could pick different copies)",
				    h.esc);
				goto out;
			}
		if (!(sn.name[sn.n] = strdup(h.name))) {
			oab_err_set(err, OAB_E_INTERNAL, "out of memory");
			goto out;
		}
		dg = sn.sha[sn.n];
		sn.size[sn.n++] = h.filesize;
		for (size_t i = 0; i < rs.n && !r; i++)
			if (strcmp(rs.r[i].file, h.name) == 0)
				r = &rs.r[i];
		if (!r) {
			if (unlisted < 3)
				snprintf(first_unlisted[unlisted], sizeof(first_unlisted[0]), "%s", h.esc);
			unlisted++;
		} else {
			r->seen = 1;
			r->size = h.filesize;
		}
		if (!check) {
			/* inspect reads no file data */
			if (lseek(fd, (off_t)h.filesize, SEEK_CUR) >= 0) {
				in.off += h.filesize;
				if (in_pad(&in, h.esc, err) < 0)
					goto out;
			} else if (cpio_data(&in, &h, NULL, NULL, NULL, err) < 0) {
				goto out;
			}
			continue;
		}
		/* an export's own manifest and signature, kept (bounded) */
		if (!r && sn.n <= 2 &&
		    ((strcmp(h.name, "manifest.yaml") == 0 && h.filesize <= OAB_MAX_MANIFEST_BYTES) ||
		     (strcmp(h.name, "manifest.sig") == 0 && h.filesize <= OAB_MAX_SIG_BYTES))) {
			if (!(keep = malloc((size_t)h.filesize + 1))) {
				oab_err_set(err, OAB_E_INTERNAL, "out of memory");
				goto out;
			}
			if (strcmp(h.name, "manifest.yaml") == 0) {
				sn.yaml = keep;
				sn.ylen = h.filesize;
			} else {
				sn.osig = keep;
				sn.oslen = h.filesize;
			}
		}
		if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
			oab_err_set(err, OAB_E_INTERNAL, "SHA-256 failed");
			goto out;
		}
		if (e.m && (eit = emb_item(&e, h.name, &eidx)) && eit->kind != OAB_ITEM_SCRIPT &&
		    eit->compression == OAB_COMP_ZSTD && h.filesize == eit->stored_size) {
			ck.it = eit;
			ck.pos = ck.k = ck.bad = 0;
		}
		if (cpio_data(&in, &h, md, keep, ck.it ? &ck : NULL, err) < 0) {
			oab_report_add_check(rep, 0, err->detail == OAB_D_CONTENT_HASH ? "member-hash" : "member-read",
					     h.esc, "%s", err->msg);
			if (err->detail != OAB_D_CONTENT_HASH)
				goto out;
			bad++;
			continue;
		}
		if (keep)
			keep[h.filesize] = 0;
		if (EVP_DigestFinal_ex(md, dg, NULL) != 1) {
			oab_err_set(err, OAB_E_INTERNAL, "SHA-256 failed");
			goto out;
		}
		if (eit)
			emb_member(&e, eidx, h.filesize, dg, &ck, err);
		ck.it = NULL;
		/* otabundle's manifest and signature, as the second and third
		 * members after sw-description.sig: checked before the rest */
		if (keep && sn.yaml && sn.osig && !e.t && sn.n == 2) {
			st = emb_open(&e, &sn, o, now, err);
			if (st < 0)
				goto out;
			if (st == 0) {
				move_report(rep, e.t);
				goto out;
			}
		}
		if (!r)
			continue;
		if (!r->has_sha) {
			oab_report_add_check(rep, 0, "member-hash", h.esc, "no sha256 in sw-description");
			if (!bad++)
				rej(err, OAB_D_MANIFEST, h.esc,
				    "member '%s': sw-description gives no sha256 (SWUpdate needs one for every file of a signed .swu)",
				    h.esc);
			continue;
		}
		oab_hex(dg, 32, got);
		oab_hex(r->sha, 32, want);
		if (CRYPTO_memcmp(dg, r->sha, 32) != 0) {
			oab_report_add_check(rep, 0, "member-hash", h.esc,
					     "sha256 mismatch (sw-description %s, bundle %s)", want, got);
			if (!bad++) {
				oab_err_set(err, OAB_E_REJECTED,
					    "member '%s': sha256 mismatch (sw-description %s, bundle %s)",
					    h.esc, want, got);
				oab_err_detail(err, OAB_D_CONTENT_HASH, h.esc, -1, want, got);
			}
			continue;
		}
		oab_report_add_check(rep, 1, "member-hash", h.esc, "%u bytes, sha256 %s", h.filesize, got);
	}
	if (st < 0)
		goto out;
	if (cpio_tail(&in, err) < 0) {
		oab_report_add_check(rep, 0, "extra-members", NULL, "%s", err->msg);
		goto out;
	}
	for (size_t i = 0; i < rs.n; i++)
		if (!rs.r[i].seen) {
			char esc[400];

			oab_escape(rs.r[i].file, strlen(rs.r[i].file), esc, sizeof(esc));
			oab_report_add_check(rep, 0, "member-order", esc, "named in sw-description, missing");
			if (!bad++)
				rej(err, OAB_D_STRUCTURE, esc,
				    "member '%s': named in sw-description but missing from the archive", esc);
		}
	if (unlisted)
		oab_report_add_check(rep, 1, "extra-members", NULL,
				     "%zu member%s not named in sw-description, skipped by SWUpdate: %s%s%s%s%s%s",
				     unlisted, unlisted == 1 ? "" : "s", first_unlisted[0],
				     unlisted > 1 ? ", " : "", unlisted > 1 ? first_unlisted[1] : "",
				     unlisted > 2 ? ", " : "", unlisted > 2 ? first_unlisted[2] : "",
				     unlisted > 3 ? ", ..." : "");
	if (bad) {
		if (err->code == OAB_OK)
			rej(err, OAB_D_CONTENT_HASH, NULL, "%s: %zu bad member%s", in.label, bad,
			    bad == 1 ? "" : "s");
		goto out;
	}
	if (e.m) {
		emb_end(&e, err);
		move_report(rep, e.t);
		if (e.bad)
			goto out;
	} else if (check && swu_policy(&rs, o, rep, err) < 0) {
		goto out;
	}
	rc = 0;
out:
	if (rs.version && !rep->manifest)
		rep->manifest = synth(&rs, in.label);
	if (!rep->format)
		rep->format = strdup("swupdate");
	rep->verified = check && rc == 0 && rep->n_unrecorded == 0;
	if (check && rc == 0)
		for (size_t i = 0; i < rep->n_checks; i++)
			if (!rep->checks[i].ok)
				rep->verified = 0;
	for (size_t i = 0; sn.name && i < sn.n; i++)
		free(sn.name[i]);
	free(sn.name);
	free(sn.sha);
	free(sn.size);
	free(sn.yaml);
	free(sn.osig);
	emb_free(&e);
	EVP_MD_CTX_free(ck.md);
	refs_free(&rs);
	EVP_MD_CTX_free(md);
	CMS_ContentInfo_free(cms);
	free(desc);
	free(sig);
	free(in.buf);
	return rc;
}
