/* SPDX-License-Identifier: Apache-2.0 */
/* export_rauc.c - export a verified otabundle bundle as a RAUC
 * bundle (rauc 1.8): squashfs (libsquashfs, from the reader's checked
 * content, streamed) [‖ dm-verity tree] ‖ CMS ‖ CMS size (uint64 BE).
 * verity (the default): the CMS carries manifest.raucm with [bundle]
 * verity-hash/-salt/-size; plain: a detached CMS over the squashfs. The
 * squashfs also holds manifest.raucm (without the verity keys), and the
 * otabundle manifest.yaml and manifest.sig, which rauc ignores. The
 * mapping is otabundle-export(5), section RAUC. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include "peer.h"
#include "peer_rauc.h"

/* One payload as a RAUC image. */
struct rimg {
	const struct oab_item *it;
	char *slotclass, *filename, *hooks;
};

struct rexp {
	struct oab_export_ctx *c;
	int plain;
	const char *compatible;
	struct rimg img[OAB_RAUC_MAX_IMAGES];
	size_t n_img;
	const struct oab_item *hook_script; /* [hooks] filename */
	struct oab_rauc_sqw *w;
	struct oab_err *err;
	int sink_failed;
	unsigned char salt[32];
};

static const struct oab_export_setting *setting(const struct rexp *x, const char *item,
						const char *key)
{
	return oab_export_find(x->c->m, "rauc", item, key);
}

static const char *setting1(const struct rexp *x, const char *item, const char *key)
{
	const struct oab_export_setting *s = setting(x, item, key);

	return s && s->n_values > 0 ? s->values[0] : NULL;
}

/* A name RAUC and a squashfs take as they are. */
static int plain_name(const char *s)
{
	if (!s || !*s || strlen(s) > OAB_MAX_NAME || *s == '.')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '.' || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

static int reserved(const char *f)
{
	return strcmp(f, "manifest.raucm") == 0 || strcmp(f, "manifest.yaml") == 0 ||
	       strcmp(f, "manifest.sig") == 0;
}

static void rimg_release(struct rexp *x)
{
	for (size_t i = 0; i < x->n_img; i++) {
		free(x->img[i].slotclass);
		free(x->img[i].filename);
		free(x->img[i].hooks);
	}
}

/* Map the manifest (export.rauc settings, defaults) to RAUC's terms
 * before anything is written. */
static int plan(struct rexp *x, struct oab_err *err)
{
	const struct oab_manifest *m = x->c->m;
	const char *fmt = setting1(x, NULL, "format"), *hs = setting1(x, NULL, "hook-script");

	if (fmt && strcmp(fmt, "plain") != 0 && strcmp(fmt, "verity") != 0)
		return oab_err_set(err, OAB_E_USAGE, "export.rauc.format '%s': expected plain or verity", fmt);
	x->plain = x->c->opts->rauc_plain || (fmt && strcmp(fmt, "plain") == 0);
	x->compatible = setting1(x, NULL, "compatible");
	if (!x->compatible && m->n_compatible > 0)
		x->compatible = m->compatible[0];
	if (!x->compatible)
		return oab_err_set(err, OAB_E_USAGE,
				   "RAUC needs a compatible string: give bundle.compatible or export.rauc.compatible");
	if (hs) {
		const struct oab_item *it = oab_manifest_find(m, hs);

		if (!it || it->kind != OAB_ITEM_SCRIPT)
			return oab_err_set(err, OAB_E_USAGE,
					   "export.rauc.hook-script '%s': not a script of this bundle", hs);
		x->hook_script = it;
	}
	for (size_t i = 0; i < m->n_items; i++) {
		const struct oab_item *it = &m->items[i];
		const struct oab_export_setting *hooks = setting(x, it->name, "hooks");
		const char *cls = setting1(x, it->name, "class"), *fn = setting1(x, it->name, "filename");
		struct rimg *im;

		if (it->kind != OAB_ITEM_PAYLOAD) {
			if (it != x->hook_script && x->c->warn) {
				char msg[200];

				snprintf(msg, sizeof(msg),
					 "%s '%s' is not carried into the RAUC bundle (only payloads become images%s)",
					 it->kind == OAB_ITEM_SCRIPT ? "script" : "SBOM", it->name,
					 it->kind == OAB_ITEM_SCRIPT ? "; see export.rauc.hook-script" : "");
				x->c->warn(x->c->warn_arg, msg);
			}
			continue;
		}
		if (x->n_img == OAB_RAUC_MAX_IMAGES)
			return oab_err_set(err, OAB_E_USAGE, "more than %d payloads for one RAUC bundle",
					   OAB_RAUC_MAX_IMAGES);
		im = &x->img[x->n_img++];
		im->it = it;
		if (!cls)
			cls = it->slot ? it->slot : it->name;
		im->slotclass = strdup(cls);
		if (fn)
			im->filename = strdup(fn);
		else if (asprintf(&im->filename, "%s.%s", it->name,
				  it->type && strcmp(it->type, "archive") == 0 ? "tar" : "img") < 0)
			im->filename = NULL;
		if (!im->slotclass || !im->filename)
			return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		if (!plain_name(im->slotclass))
			return oab_err_set(err, OAB_E_USAGE,
					   "payload '%s': RAUC slot class '%s' (expected letters, digits, '.', '_', '-')",
					   it->name, im->slotclass);
		if (!plain_name(im->filename) || reserved(im->filename))
			return oab_err_set(err, OAB_E_USAGE,
					   "payload '%s': RAUC file name '%s' (expected letters, digits, '.', '_', '-'; not manifest.*)",
					   it->name, im->filename);
		for (size_t j = 0; j + 1 < x->n_img; j++) {
			if (strcmp(x->img[j].slotclass, im->slotclass) == 0)
				return oab_err_set(err, OAB_E_USAGE,
						   "payloads '%s' and '%s' both go to RAUC slot class '%s' (set export.rauc.items.NAME.class)",
						   x->img[j].it->name, it->name, im->slotclass);
			if (strcmp(x->img[j].filename, im->filename) == 0)
				return oab_err_set(err, OAB_E_USAGE,
						   "payloads '%s' and '%s' both become RAUC file '%s'",
						   x->img[j].it->name, it->name, im->filename);
		}
		if (hooks && hooks->n_values > 0) {
			size_t len = 1;

			if (!x->hook_script)
				return oab_err_set(err, OAB_E_USAGE,
						   "payload '%s': RAUC hooks need export.rauc.hook-script (the script rauc runs)",
						   it->name);
			for (size_t k = 0; k < hooks->n_values; k++)
				len += strlen(hooks->values[k]) + 1;
			if (!(im->hooks = calloc(1, len)))
				return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
			for (size_t k = 0; k < hooks->n_values; k++) {
				const char *h = hooks->values[k];

				if (strcmp(h, "pre-install") != 0 && strcmp(h, "install") != 0 &&
				    strcmp(h, "post-install") != 0)
					return oab_err_set(err, OAB_E_USAGE,
							   "payload '%s': RAUC hook '%s' (expected pre-install, install or post-install)",
							   it->name, h);
				strcat(strcat(im->hooks, h), ";");
			}
		}
	}
	if (x->n_img == 0)
		return oab_err_set(err, OAB_E_USAGE, "the bundle has no payload to become a RAUC image");
	if (x->hook_script && plain_name(x->hook_script->name) == 0)
		return oab_err_set(err, OAB_E_USAGE, "hook script name '%s'", x->hook_script->name);
	return 0;
}

/* manifest.raucm is built in memory (the library writes no streams). */
struct txt {
	char *p;
	size_t len, cap;
	int oom;
};

static void tadd(struct txt *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tadd(struct txt *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || t->oom) {
		t->oom = 1;
		return;
	}
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t cap = (t->len + (size_t)n + 1) * 2;
		char *np = realloc(t->p, cap);

		if (!np) {
			t->oom = 1;
			return;
		}
		t->p = np;
		t->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(t->p + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

/* key=value with GKeyFile's escapes (g_key_file_set_string). */
static void put_value(struct txt *t, const char *key, const char *v)
{
	tadd(t, "%s=", key);
	for (const char *p = v; *p; p++) {
		switch (*p) {
		case '\\': tadd(t, "\\\\"); break;
		case '\n': tadd(t, "\\n"); break;
		case '\t': tadd(t, "\\t"); break;
		case '\r': tadd(t, "\\r"); break;
		case ' ': tadd(t, "%s", p == v ? "\\s" : " "); break;
		default: tadd(t, "%c", *p);
		}
	}
	tadd(t, "\n");
}

/* manifest.raucm; with root/salt/tree_size the signed (verity) copy. */
static int raucm(const struct rexp *x, const unsigned char *root, const unsigned char *salt,
		 uint64_t tree_size, char **out, size_t *len, struct oab_err *err)
{
	const struct oab_manifest *m = x->c->m;
	char hex[65], when[32];
	struct txt t = {0};

	oab_time_format(x->c->build_time, when);
	tadd(&t, "[update]\n");
	put_value(&t, "compatible", x->compatible);
	put_value(&t, "version", m->version);
	if (m->description)
		put_value(&t, "description", m->description);
	put_value(&t, "build", when);
	tadd(&t, "\n[bundle]\nformat=%s\n", x->plain ? "plain" : "verity");
	if (root) {
		oab_hex(root, 32, hex);
		tadd(&t, "verity-hash=%s\n", hex);
		oab_hex(salt, 32, hex);
		tadd(&t, "verity-salt=%s\nverity-size=%llu\n", hex, (unsigned long long)tree_size);
	}
	if (x->hook_script) {
		tadd(&t, "\n[hooks]\n");
		put_value(&t, "filename", x->hook_script->name);
	}
	for (size_t i = 0; i < x->n_img; i++) {
		const struct rimg *im = &x->img[i];

		oab_hex(im->it->sha256, 32, hex);
		tadd(&t, "\n[image.%s]\n", im->slotclass);
		put_value(&t, "filename", im->filename);
		tadd(&t, "size=%llu\nsha256=%s\n", (unsigned long long)im->it->size, hex);
		if (im->hooks)
			put_value(&t, "hooks", im->hooks);
	}
	if (t.oom) {
		free(t.p);
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	}
	*out = t.p;
	*len = t.len;
	return 0;
}

static int to_sqfs(void *arg, const void *buf, size_t n)
{
	struct rexp *x = arg;

	if (oab_rauc_sqw_append(x->w, buf, n, x->err) < 0) {
		x->sink_failed = 1;
		return -1;
	}
	return 0;
}

/* The verity salt, reproducible: SHA-256 over a label and the signed
 * manifest bytes (another release, another salt). */
static int derive_salt(const unsigned char *yaml, size_t ylen, unsigned char salt[32],
		       struct oab_err *err)
{
	static const char label[] = "otabundle rauc verity salt v1";
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(c, label, sizeof(label)) == 1 && EVP_DigestUpdate(c, yaml, ylen) == 1 &&
		 EVP_DigestFinal_ex(c, salt, NULL) == 1;

	EVP_MD_CTX_free(c);
	return ok ? 0 : oab_err_set(err, OAB_E_INTERNAL, "SHA-256 failed");
}

/* Stream the verified bundle's payloads into the squashfs. */
static int fill(struct rexp *x, struct oab_err *err)
{
	struct oab_reader *r = NULL;
	struct oab_sink *into = oab_sink_callback(to_sqfs, x), *drop = oab_sink_discard();
	const struct oab_item *it;
	const unsigned char *yaml, *sig;
	size_t ylen, siglen;
	struct oab_err mine = {0};
	int rc = -1, n;

	x->err = &mine;
	if (!into || !drop) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	if (lseek(x->c->bundle_fd, 0, SEEK_SET) != 0) {
		oab_err_set(err, OAB_E_IO, "%s: cannot seek: %s", x->c->label, strerror(errno));
		goto out;
	}
	if (oab_reader_open(x->c->bundle_fd, x->c->label, x->c->vopts, &r, err) < 0 ||
	    oab_reader_authenticate(r, err) < 0)
		goto out;
	while ((n = oab_reader_next(r, &it, err)) == 1) {
		const struct rimg *im = NULL;
		const char *as = NULL;

		for (size_t i = 0; i < x->n_img && !im; i++)
			if (strcmp(x->img[i].it->name, it->name) == 0)
				im = &x->img[i];
		if (im)
			as = im->filename;
		else if (x->hook_script && strcmp(x->hook_script->name, it->name) == 0)
			as = it->name;
		if (!as) {
			if (oab_reader_read(r, drop, err) < 0)
				goto out;
			continue;
		}
		if (oab_rauc_sqw_begin(x->w, as, err) < 0)
			goto out;
		if (oab_reader_read(r, into, err) < 0) {
			if (x->sink_failed)
				*err = mine;
			goto out;
		}
		if (oab_rauc_sqw_end(x->w, err) < 0)
			goto out;
	}
	if (n < 0)
		goto out;
	oab_reader_raw(r, &yaml, &ylen, &sig, &siglen);
	if (derive_salt(yaml, ylen, x->salt, err) < 0)
		goto out;
	if (oab_rauc_sqw_add(x->w, "manifest.yaml", yaml, ylen, err) < 0 ||
	    (sig && oab_rauc_sqw_add(x->w, "manifest.sig", sig, siglen, err) < 0))
		goto out;
	rc = 0;
out:
	oab_reader_free(r);
	oab_sink_free(into);
	oab_sink_free(drop);
	return rc;
}

static int write_at(int fd, const void *buf, size_t n, uint64_t off, struct oab_err *err)
{
	if (oab_rauc_pio(fd, (void *)buf, n, off, 1) < 0)
		return oab_err_set(err, OAB_E_IO, "writing the RAUC bundle: %s", strerror(errno));
	return 0;
}

/* The squashfs with or without its tree; *tbs (malloc'd) gets what the
 * CMS signs: verity the signed manifest.raucm, plain NULL (the squashfs,
 * bytes [0, *payload) of out_fd). */
static int build_payload(struct rexp *x, uint64_t *payload, char **tbs, size_t *tbs_len,
			 struct oab_err *err)
{
	struct oab_export_ctx *c = x->c;
	char *inner = NULL;
	size_t inner_len = 0;
	uint64_t sq = 0, tree = 0;
	unsigned char root[32];
	int threads = oab_online_cpus();
	int rc = -1;

	*tbs = NULL;
	if (raucm(x, NULL, NULL, 0, &inner, &inner_len, err) < 0)
		return -1;
	if (oab_rauc_sqw_open(&x->w, c->out_fd, c->build_time,
			      (unsigned)(threads < 1 ? 1 : threads > 8 ? 8 : threads), err) < 0)
		goto out;
	if (oab_rauc_sqw_add(x->w, "manifest.raucm", inner, inner_len, err) < 0 || fill(x, err) < 0 ||
	    oab_rauc_sqw_finish(x->w, &sq, err) < 0)
		goto out;
	if (!x->plain) {
		tree = oab_rauc_verity_size(sq / OAB_RAUC_BLOCK);
		if (oab_rauc_verity(c->out_fd, sq / OAB_RAUC_BLOCK, x->salt, root, 1, c->progress,
				    c->progress_arg, err) < 0)
			goto out;
		if (raucm(x, root, x->salt, tree, tbs, tbs_len, err) < 0)
			goto out;
	}
	*payload = sq + tree;
	rc = 0;
out:
	free(inner);
	oab_rauc_sqw_free(x->w);
	x->w = NULL;
	return rc;
}

static int sign_and_close(struct rexp *x, uint64_t payload, const char *tbs, size_t tbs_len,
			  struct oab_err *err)
{
	struct oab_export_ctx *c = x->c;
	unsigned char *der = NULL, be[8];
	size_t der_len = 0;
	int io = 0, rc = -1;
	BIO *in = x->plain ? oab_rauc_range_bio(c->out_fd, 0, payload, &io)
			   : BIO_new_mem_buf(tbs, (int)tbs_len);

	if (!in)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	if (oab_cms_sign_bio(in, (x->plain ? 0 : OAB_CMS_ATTACHED) | OAB_CMS_NOSMIMECAP, c->signers,
			     c->n_signers, c->chain, &der, &der_len, err) < 0)
		goto out;
	if (io) {
		oab_err_set(err, OAB_E_IO, "reading back the squashfs: %s", strerror(io));
		goto out;
	}
	if (der_len > OAB_RAUC_MAX_CMS) {
		oab_err_set(err, OAB_E_USAGE, "the RAUC signature is %zu bytes; rauc accepts at most %d (fewer signers or a shorter chain)",
			    der_len, OAB_RAUC_MAX_CMS);
		goto out;
	}
	for (int i = 0; i < 8; i++)
		be[i] = (unsigned char)((uint64_t)der_len >> (56 - 8 * i));
	if (write_at(c->out_fd, der, der_len, payload, err) < 0 ||
	    write_at(c->out_fd, be, 8, payload + der_len, err) < 0)
		goto out;
	rc = 0;
out:
	BIO_free(in);
	free(der);
	return rc;
}

/* Signing room, step 1: the unsigned bundle stays in out_fd; verity:
 * the manifest.raucm to sign goes to opts->rauc_tbs. */
static int write_tbs(struct rexp *x, const char *tbs, size_t tbs_len, struct oab_err *err)
{
	struct oab_outfile o = {.fd = -1, .dirfd = -1};
	const char *path = x->c->opts->rauc_tbs;
	int rc = -1;

	if (x->plain) {
		if (path)
			return oab_err_set(err, OAB_E_USAGE,
					   "plain: the unsigned bundle itself is what the CMS signs (no separate manifest to write)");
		return 0;
	}
	if (!path)
		return oab_err_set(err, OAB_E_USAGE, "verity: no file given for the manifest.raucm to sign");
	if (oab_outfile_open(&o, path, err) < 0)
		return -1;
	if (write_at(o.fd, tbs, tbs_len, 0, err) == 0 && oab_outfile_commit(&o, err) == 0)
		rc = 0;
	oab_outfile_abort(&o);
	return rc;
}

int oab_export_rauc(struct oab_export_ctx *c, struct oab_err *err)
{
	struct rexp x = {0};
	uint64_t payload = 0;
	char *tbs = NULL;
	size_t tbs_len = 0;
	int room = c->opts->rauc_unsigned;
	int rc = -1;

	x.c = c;
	/* rauc checks every SignerInfo, then refuses more than one
	 * ("Unsupported number of signers"): the threshold cannot travel. */
	if (room ? c->n_signers != 0 : c->n_signers != 1) {
		oab_err_set(err, OAB_E_USAGE,
			    room ? "an unsigned RAUC bundle for a signing room takes no signer"
				 : "a RAUC bundle carries exactly one signature (rauc refuses more): %zu signers given",
			    c->n_signers);
		goto out;
	}
	if (room && c->opts->rauc_tbs && strcmp(c->opts->rauc_tbs, c->opts->output) == 0) {
		oab_err_set(err, OAB_E_USAGE, "'%s': both the unsigned bundle and the manifest to sign",
			    c->opts->output);
		goto out;
	}
	if (room && c->opts->rauc_tbs &&
	    (oab_output_not_input(c->opts->rauc_tbs, c->label, "bundle", err) < 0 ||
	     oab_output_not_input(c->opts->rauc_tbs, c->opts->output, "unsigned bundle", err) < 0))
		goto out;
	if (plan(&x, err) < 0 || build_payload(&x, &payload, &tbs, &tbs_len, err) < 0)
		goto out;
	if (room ? write_tbs(&x, tbs, tbs_len, err) < 0 : sign_and_close(&x, payload, tbs, tbs_len, err) < 0)
		goto out;
	rc = 0;
out:
	free(tbs);
	rimg_release(&x);
	return rc;
}

/* ---- signing room, step 3 ---------------------------------------------- */

static int copy_range(int in, int out, uint64_t n, struct oab_err *err)
{
	unsigned char *buf = malloc(OAB_IO_BUF);
	uint64_t off = 0;

	if (!buf)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	while (off < n) {
		size_t k = n - off < OAB_IO_BUF ? (size_t)(n - off) : OAB_IO_BUF;

		if (oab_rauc_pio(in, buf, k, off, 0) < 0 || write_at(out, buf, k, off, err) < 0) {
			if (!err->code)
				oab_err_set(err, OAB_E_IO, "reading the unsigned bundle: %s", strerror(errno));
			free(buf);
			return -1;
		}
		off += k;
	}
	free(buf);
	return 0;
}

/* The signer's key from a DER CMS with exactly one SignerInfo. */
static EVP_PKEY *cms_signer_key(const unsigned char *der, size_t len, const char *what,
				struct oab_err *err)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	STACK_OF(CMS_SignerInfo) *sis = cms ? CMS_get0_SignerInfos(cms) : NULL;
	X509 *cert = NULL;
	EVP_PKEY *k = NULL;

	ERR_clear_error();
	if (!cms || p != der + len)
		oab_err_set(err, OAB_E_REJECTED, "%s: not one DER CMS structure", what);
	else if (!sis || sk_CMS_SignerInfo_num(sis) != 1)
		oab_err_set(err, OAB_E_REJECTED, "%s: %d SignerInfos (rauc accepts exactly one)", what,
			    sis ? sk_CMS_SignerInfo_num(sis) : 0);
	else if (CMS_set1_signers_certs(cms, NULL, 0) < 0 ||
		 (CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(sis, 0), NULL, &cert, NULL, NULL),
		  !cert || !(k = X509_get_pubkey(cert))))
		oab_err_set(err, OAB_E_REJECTED, "%s: the signer's certificate is not in the signature", what);
	CMS_ContentInfo_free(cms);
	return k;
}

/* verity: the room signed the manifest.raucm export-manifest wrote, i.e.
 * the squashfs's copy plus the three verity keys, nothing else changed
 * (the audit checked the keys fit). plain: the CMS covers the squashfs. */
static int same_manifest(const unsigned char *der, size_t len, int fd, const char *label,
			 struct oab_err *err)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	ASN1_OCTET_STRING **c = cms ? CMS_get0_content(cms) : NULL;
	struct oab_raucm rm = {0};
	char *inner = NULL, *signed_copy = NULL, *o;
	size_t ilen = 0;
	int rc = -1;

	if (!c || !*c) { /* plain */
		CMS_ContentInfo_free(cms);
		return cms ? 0 : oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	}
	if (oab_raucm_parse((const char *)(*c)->data, (size_t)(*c)->length, "signed manifest.raucm", &rm,
			    err) < 0)
		goto out;
	if (!(signed_copy = malloc((size_t)(*c)->length + 1))) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	o = signed_copy;
	for (const char *l = (const char *)(*c)->data, *end = l + (*c)->length; l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		size_t n = nl ? (size_t)(nl - l) + 1 : (size_t)(end - l);

		if (strncmp(l, "verity-hash=", 12) != 0 && strncmp(l, "verity-salt=", 12) != 0 &&
		    strncmp(l, "verity-size=", 12) != 0) {
			memcpy(o, l, n);
			o += n;
		}
		l += n;
	}
	if (oab_rauc_read_inner(fd, (uint64_t)lseek(fd, 0, SEEK_END) - 8 - len - rm.verity_size, label,
				&inner, &ilen, err) < 0)
		goto out;
	if (ilen != (size_t)(o - signed_copy) || memcmp(inner, signed_copy, ilen) != 0) {
		oab_err_set(err, OAB_E_REJECTED,
			    "the signed manifest.raucm is not the one written for '%s' (only the verity keys may be added)",
			    label);
		goto out;
	}
	rc = 0;
out:
	free(inner);
	free(signed_copy);
	oab_raucm_release(&rm);
	CMS_ContentInfo_free(cms);
	return rc;
}

int oab_export_attach(const char *unsigned_bundle, const char *sig, const char *output,
		      enum oab_export_to to, struct oab_err *err)
{
	struct oab_outfile o = {.fd = -1, .dirfd = -1};
	struct oab_trust *self = NULL;
	struct oab_report *rep = NULL;
	struct oab_verify_opts vo = {0};
	unsigned char *der = NULL, magic[4], be[8];
	size_t der_len = 0;
	struct stat st;
	EVP_PKEY *key = NULL;
	int in = -1, rc = -1;

	if (to != OAB_EXPORT_RAUC)
		return oab_err_set(err, OAB_E_USAGE, "attaching a signature to a %s export is not supported",
				   to == OAB_EXPORT_SWUPDATE ? "SWUpdate" : to == OAB_EXPORT_MENDER ? "Mender" : "?");
	if (!output)
		output = unsigned_bundle;
	if (oab_output_not_input(output, sig, "signature", err) < 0)
		return -1;
	in = oab_open_regular(unsigned_bundle, "unsigned bundle", NULL, OAB_E_USAGE, &st, err);
	if (in < 0)
		return -1;
	if (st.st_size <= OAB_RAUC_BLOCK || st.st_size % OAB_RAUC_BLOCK || oab_rauc_pio(in, magic, 4, 0, 0) < 0 ||
	    memcmp(magic, "hsqs", 4) != 0) {
		oab_err_set(err, OAB_E_USAGE,
			    "'%s': not an unsigned RAUC bundle (a squashfs padded to 4096 bytes, as the signing room's first step writes it)",
			    unsigned_bundle);
		goto out;
	}
	if (oab_read_file(sig, OAB_RAUC_MAX_CMS, (char **)&der, &der_len, err) < 0) {
		oab_err_prefix(err, "RAUC signature: ");
		goto out;
	}
	if (!(key = cms_signer_key(der, der_len, sig, err)))
		goto out;
	if (oab_outfile_open(&o, output, err) < 0 || copy_range(in, o.fd, (uint64_t)st.st_size, err) < 0)
		goto out;
	for (int i = 0; i < 8; i++)
		be[i] = (unsigned char)((uint64_t)der_len >> (56 - 8 * i));
	if (write_at(o.fd, der, der_len, (uint64_t)st.st_size, err) < 0 ||
	    write_at(o.fd, be, 8, (uint64_t)st.st_size + der_len, err) < 0)
		goto out;
	/* Everything the audit checks, with the signer's own key trusted:
	 * the signature is valid over this bundle, and the signed manifest
	 * fits it (verity tree, every image). */
	if (!(self = oab_trust_new()) || !(rep = oab_report_new()) ||
	    oab_trust_pin_key(self, key, "the signature's own certificate") < 0) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	vo.trust = self;
	if (oab_rauc_audit(o.fd, output, &vo, rep, 1, err) < 0) {
		oab_err_prefix(err, "the signature does not fit '%s': ", unsigned_bundle);
		goto out;
	}
	if (same_manifest(der, der_len, o.fd, unsigned_bundle, err) < 0 || oab_outfile_commit(&o, err) < 0)
		goto out;
	rc = 0;
out:
	oab_outfile_abort(&o);
	oab_report_free(rep);
	oab_trust_free(self);
	EVP_PKEY_free(key);
	free(der);
	if (in >= 0)
		close(in);
	return rc;
}
