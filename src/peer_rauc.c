/* SPDX-License-Identifier: Apache-2.0 */
/* peer_rauc.c - audit of RAUC bundles (.raucb), plain and verity, the way
 * an auditor needs it: the CMS against --ca/--trust, then (verity) the
 * dm-verity tree over every byte of the squashfs or (plain) the detached
 * signature over it, and only then the squashfs parsed and every image's
 * sha256 and size checked, streaming. Also manifest.raucm parsing, shared
 * with the export (export_rauc.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <sqfs/compressor.h>
#include <sqfs/data_reader.h>
#include <sqfs/dir_reader.h>
#include <sqfs/error.h>
#include <sqfs/inode.h>
#include <sqfs/super.h>

#include "peer.h"
#include "peer_rauc.h"

/* ---- manifest.raucm --------------------------------------------------- */

void oab_raucm_release(struct oab_raucm *m)
{
	free(m->compatible);
	free(m->version);
	free(m->description);
	free(m->build);
	free(m->format);
	free(m->verity_hash);
	free(m->verity_salt);
	for (size_t i = 0; i < m->n_images; i++) {
		free(m->images[i].slotclass);
		free(m->images[i].filename);
		free(m->images[i].hooks);
	}
	free(m->images);
	memset(m, 0, sizeof(*m));
}

static char *trim(char *s, char *e)
{
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = 0;
	return s;
}

/* GKeyFile value escapes: \s \n \t \r \\ ; anything else is refused. */
static int unescape(char *v)
{
	char *o = v;

	for (char *p = v; *p; p++) {
		if (*p != '\\') {
			*o++ = *p;
			continue;
		}
		switch (*++p) {
		case 's': *o++ = ' '; break;
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case 'r': *o++ = '\r'; break;
		case '\\': *o++ = '\\'; break;
		default: return -1;
		}
	}
	*o = 0;
	return 0;
}

static int set_once(char **dst, const char *v, const char *what, const char *grp, const char *key,
		    size_t line, struct oab_err *err)
{
	if (*dst)
		return oab_err_set(err, OAB_E_REJECTED, "%s:%zu: key '%s' repeated in [%s]", what, line,
				   key, grp);
	if (!(*dst = strdup(v)))
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	return 0;
}

static int parse_u64(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long x;

	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end)
		return -1;
	*out = x;
	return 0;
}

static int image_key(struct oab_raucm_image *im, const char *grp, const char *key, const char *v,
		     const char *what, size_t line, struct oab_err *err)
{
	if (strcmp(key, "filename") == 0)
		return set_once(&im->filename, v, what, grp, key, line, err);
	if (strcmp(key, "hooks") == 0)
		return set_once(&im->hooks, v, what, grp, key, line, err);
	if (strcmp(key, "sha256") == 0) {
		if (im->has_sha256)
			return oab_err_set(err, OAB_E_REJECTED, "%s:%zu: key 'sha256' repeated in [%s]",
					   what, line, grp);
		if (strlen(v) != 64 || oab_unhex(v, im->sha256, 32) < 0)
			return oab_err_set(err, OAB_E_REJECTED,
					   "%s:%zu: [%s] sha256: expected 64 hex digits", what, line, grp);
		im->has_sha256 = 1;
		return 0;
	}
	if (strcmp(key, "size") == 0) {
		if (im->has_size)
			return oab_err_set(err, OAB_E_REJECTED, "%s:%zu: key 'size' repeated in [%s]",
					   what, line, grp);
		if (parse_u64(v, &im->size) < 0)
			return oab_err_set(err, OAB_E_REJECTED,
					   "%s:%zu: [%s] size: expected a number of bytes", what, line, grp);
		im->has_size = 1;
	}
	return 0; /* adaptive, ... : not checked here */
}

int oab_raucm_parse(const char *buf, size_t len, const char *what, struct oab_raucm *m,
		    struct oab_err *err)
{
	char *copy, *p, *end, *grp = NULL;
	struct oab_raucm_image *im = NULL;
	size_t line = 0;
	int rc = -1;
	/* groups seen, to refuse repeats: update, bundle */
	int seen_update = 0, seen_bundle = 0;

	memset(m, 0, sizeof(*m));
	if (len > OAB_RAUC_MAX_RAUCM)
		return oab_err_set(err, OAB_E_REJECTED, "%s: larger than %d bytes", what,
				   OAB_RAUC_MAX_RAUCM);
	if (oab_first_control(buf, len, 1) >= 0 || memchr(buf, 0, len))
		return oab_err_set(err, OAB_E_REJECTED, "%s: holds a control character", what);
	if (!(copy = malloc(len + 1)))
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	memcpy(copy, buf, len);
	copy[len] = 0;
	for (p = copy; *p; p = end) {
		char *nl = strchr(p, '\n'), *s, *eq;

		end = nl ? nl + 1 : p + strlen(p);
		if (nl)
			*nl = 0;
		line++;
		s = trim(p, nl ? nl : end);
		if (!*s || *s == '#')
			continue;
		if (*s == '[') {
			size_t n = strlen(s);

			if (s[n - 1] != ']' || n < 3 || memchr(s + 1, '[', n - 2) || memchr(s + 1, ']', n - 2)) {
				oab_err_set(err, OAB_E_REJECTED, "%s:%zu: bad group line", what, line);
				goto out;
			}
			s[n - 1] = 0;
			grp = s + 1;
			im = NULL;
			if (strcmp(grp, "update") == 0 && seen_update++) {
				oab_err_set(err, OAB_E_REJECTED, "%s:%zu: group [update] repeated", what, line);
				goto out;
			}
			if (strcmp(grp, "bundle") == 0 && seen_bundle++) {
				oab_err_set(err, OAB_E_REJECTED, "%s:%zu: group [bundle] repeated", what, line);
				goto out;
			}
			if (strncmp(grp, "image.", 6) == 0) {
				struct oab_raucm_image *n2;

				for (size_t i = 0; i < m->n_images; i++)
					if (strcmp(m->images[i].slotclass, grp + 6) == 0) {
						oab_err_set(err, OAB_E_REJECTED, "%s:%zu: group [%s] repeated",
							    what, line, grp);
						goto out;
					}
				if (!grp[6]) {
					oab_err_set(err, OAB_E_REJECTED, "%s:%zu: [image.] without a slot class",
						    what, line);
					goto out;
				}
				if (m->n_images == OAB_RAUC_MAX_IMAGES) {
					oab_err_set(err, OAB_E_REJECTED, "%s:%zu: more than %d images", what,
						    line, OAB_RAUC_MAX_IMAGES);
					goto out;
				}
				{
					char *cls = strdup(grp + 6);

					n2 = cls ? realloc(m->images, (m->n_images + 1) * sizeof(*n2)) : NULL;
					if (!n2) {
						free(cls);
						oab_err_set(err, OAB_E_INTERNAL, "out of memory");
						goto out;
					}
					m->images = n2;
					im = &m->images[m->n_images++];
					memset(im, 0, sizeof(*im));
					im->slotclass = cls;
				}
			}
			continue;
		}
		if (!(eq = strchr(s, '=')) || !grp) {
			oab_err_set(err, OAB_E_REJECTED, "%s:%zu: expected [group] or key=value", what, line);
			goto out;
		}
		{
			char *key = trim(s, eq), *v = trim(eq + 1, eq + 1 + strlen(eq + 1));

			if (!*key || unescape(v) < 0) {
				oab_err_set(err, OAB_E_REJECTED, "%s:%zu: bad key or escape in [%s]", what,
					    line, grp);
				goto out;
			}
			if (strcmp(grp, "update") == 0) {
				char **dst = strcmp(key, "compatible") == 0    ? &m->compatible
					     : strcmp(key, "version") == 0     ? &m->version
					     : strcmp(key, "description") == 0 ? &m->description
					     : strcmp(key, "build") == 0       ? &m->build
									       : NULL;

				if (dst && set_once(dst, v, what, grp, key, line, err) < 0)
					goto out;
			} else if (strcmp(grp, "bundle") == 0) {
				char **dst = strcmp(key, "format") == 0        ? &m->format
					     : strcmp(key, "verity-hash") == 0 ? &m->verity_hash
					     : strcmp(key, "verity-salt") == 0 ? &m->verity_salt
									       : NULL;

				if (dst && set_once(dst, v, what, grp, key, line, err) < 0)
					goto out;
				if (strcmp(key, "verity-size") == 0) {
					if (m->has_verity_size++ || parse_u64(v, &m->verity_size) < 0) {
						oab_err_set(err, OAB_E_REJECTED,
							    "%s:%zu: [bundle] verity-size: expected one number of bytes",
							    what, line);
						goto out;
					}
				}
			} else if (im && image_key(im, grp, key, v, what, line, err) < 0) {
				goto out;
			}
		}
	}
	if (!m->compatible) {
		oab_err_set(err, OAB_E_REJECTED, "%s: [update] compatible missing", what);
		goto out;
	}
	for (size_t i = 0; i < m->n_images; i++) {
		struct oab_raucm_image *x = &m->images[i];

		if (!x->filename || !x->has_sha256 || !x->has_size) {
			oab_err_set(err, OAB_E_REJECTED, "%s: [image.%s] needs filename, sha256 and size",
				    what, x->slotclass);
			goto out;
		}
	}
	rc = 0;
out:
	free(copy);
	if (rc < 0)
		oab_raucm_release(m);
	return rc;
}

/* ---- squashfs reading -------------------------------------------------- */

struct rsq {
	struct oab_rauc_sqfile f;
	sqfs_super_t super;
	sqfs_compressor_t *cmp;
	sqfs_dir_reader_t *dr;
	sqfs_data_reader_t *data;
	sqfs_inode_generic_t *root;
};

static void rsq_close(struct rsq *q)
{
	sqfs_free(q->root);
	sqfs_destroy(q->data);
	sqfs_destroy(q->dr);
	sqfs_destroy(q->cmp);
	memset(q, 0, sizeof(*q));
}

static int sqfail(struct rsq *q, int code, const char *label, const char *what,
		  struct oab_err *err)
{
	if (code == SQFS_ERROR_IO && q->f.io_errno)
		return oab_err_set(err, OAB_E_IO, "%s: squashfs %s: %s", label, what,
				   strerror(q->f.io_errno));
	if (code == SQFS_ERROR_ALLOC)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	return oab_err_set(err, OAB_E_REJECTED, "%s: squashfs %s: %s", label, what,
			   oab_rauc_sqfs_strerror(code));
}

/* Open the squashfs in bytes [0, size) of fd: its superblock must say it
 * ends inside them (padding follows). */
static int rsq_open(struct rsq *q, int fd, uint64_t size, const char *label,
		    struct oab_err *err)
{
	sqfs_compressor_config_t cfg;
	int r;

	memset(q, 0, sizeof(*q));
	oab_rauc_sqfile_init(&q->f, fd, size, size, 0);
	if ((r = sqfs_super_read(&q->super, &q->f.base)) != 0)
		return sqfail(q, r, label, "superblock", err);
	if (q->super.bytes_used > size || q->super.bytes_used < sizeof(q->super))
		return oab_err_set(err, OAB_E_REJECTED,
				   "%s: squashfs size %llu does not match its space in the bundle (%llu bytes)",
				   label, (unsigned long long)q->super.bytes_used,
				   (unsigned long long)size);
	if (sqfs_compressor_config_init(&cfg, (SQFS_COMPRESSOR)q->super.compression_id,
					q->super.block_size, SQFS_COMP_FLAG_UNCOMPRESS) != 0 ||
	    (r = sqfs_compressor_create(&cfg, &q->cmp)) != 0)
		return oab_err_set(err, OAB_E_REJECTED, "%s: squashfs compressor %u not supported", label,
				   (unsigned)q->super.compression_id);
	if (!(q->dr = sqfs_dir_reader_create(&q->super, q->cmp, &q->f.base, 0)) ||
	    !(q->data = sqfs_data_reader_create(&q->f.base, q->super.block_size, q->cmp, 0)))
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	if ((r = sqfs_data_reader_load_fragment_table(q->data, &q->super)) != 0)
		return sqfail(q, r, label, "fragment table", err);
	if ((r = sqfs_dir_reader_get_root_inode(q->dr, &q->root)) != 0)
		return sqfail(q, r, label, "root folder", err);
	return 0;
}

/* A regular file by path; its size. */
static int rsq_find(struct rsq *q, const char *path, sqfs_inode_generic_t **ino, uint64_t *size,
		    const char *label, struct oab_err *err)
{
	int r = sqfs_dir_reader_find_by_path(q->dr, q->root, path, ino);
	sqfs_u64 sz = 0;
	char esc[4 * 80 + 4];

	oab_escape(path, strlen(path), esc, sizeof(esc));
	if (r != 0)
		return sqfail(q, r, label, esc, err);
	if (((*ino)->base.type != SQFS_INODE_FILE && (*ino)->base.type != SQFS_INODE_EXT_FILE) ||
	    sqfs_inode_get_file_size(*ino, &sz) != 0) {
		sqfs_free(*ino);
		*ino = NULL;
		return oab_err_set(err, OAB_E_REJECTED, "%s: '%s' in the squashfs is not a regular file",
				   label, esc);
	}
	*size = sz;
	return 0;
}

/* Read a small file whole (at most limit bytes). */
static int rsq_read_small(struct rsq *q, const char *path, size_t limit, char **out, size_t *len,
			  const char *label, struct oab_err *err)
{
	sqfs_inode_generic_t *ino = NULL;
	uint64_t size;
	sqfs_s32 got;
	int rc = -1;

	*out = NULL;
	if (rsq_find(q, path, &ino, &size, label, err) < 0)
		return -1;
	if (size > limit) {
		oab_err_set(err, OAB_E_REJECTED, "%s: '%s' in the squashfs: larger than %zu bytes", label,
			    path, limit);
		goto out;
	}
	if (!(*out = malloc((size_t)size + 1))) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	got = size ? sqfs_data_reader_read(q->data, ino, 0, *out, (sqfs_u32)size) : 0;
	if (got < 0 || (uint64_t)got != size) {
		sqfail(q, got < 0 ? got : SQFS_ERROR_CORRUPTED, label, path, err);
		free(*out);
		*out = NULL;
		goto out;
	}
	(*out)[size] = 0;
	*len = (size_t)size;
	rc = 0;
out:
	sqfs_free(ino);
	return rc;
}

int oab_rauc_read_inner(int fd, uint64_t size, const char *label, char **out, size_t *len,
			struct oab_err *err)
{
	struct rsq q;
	int rc = rsq_open(&q, fd, size, label, err);

	if (rc == 0)
		rc = rsq_read_small(&q, "manifest.raucm", OAB_RAUC_MAX_RAUCM, out, len, label, err);
	rsq_close(&q);
	return rc;
}

/* ---- the audit --------------------------------------------------------- */

struct audit {
	int fd;
	const char *label;
	const struct oab_verify_opts *o;
	struct oab_report *rep;
	int check;
	uint64_t file_size, payload_size; /* payload: squashfs [+ verity tree] */
	unsigned char *cms_der;
	size_t cms_len;
	CMS_ContentInfo *cms;
	int detached;
	struct oab_raucm rm;
	int64_t now;
};

static int rd_at(int fd, void *buf, size_t n, uint64_t off, const char *label, struct oab_err *err)
{
	ssize_t r = pread(fd, buf, n, (off_t)off);

	if (r < 0)
		return oab_err_set(err, OAB_E_IO, "%s: cannot read: %s", label, strerror(errno));
	if ((size_t)r != n)
		return oab_err_set(err, OAB_E_REJECTED, "%s: truncated", label);
	return 0;
}

/* The tail: CMS size (uint64 big-endian) and the CMS before it. */
static int read_tail(struct audit *a, struct oab_err *err)
{
	unsigned char be[8];
	uint64_t n = 0;
	const unsigned char *p;
	ASN1_OCTET_STRING **content;
	int nsi;

	if (a->file_size < 8 + OAB_RAUC_BLOCK)
		return oab_err_set(err, OAB_E_REJECTED, "%s: RAUC bundle: %llu bytes is too small", a->label,
				   (unsigned long long)a->file_size);
	if (rd_at(a->fd, be, 8, a->file_size - 8, a->label, err) < 0)
		return -1;
	for (int i = 0; i < 8; i++)
		n = n << 8 | be[i];
	if (n == 0 || n > OAB_RAUC_MAX_CMS || n > a->file_size - 8 - OAB_RAUC_BLOCK)
		return oab_err_set(err, OAB_E_REJECTED,
				   "%s: RAUC bundle: signature size %llu in the last 8 bytes (expected 1 to %d, within the file)",
				   a->label, (unsigned long long)n, OAB_RAUC_MAX_CMS);
	a->cms_len = (size_t)n;
	a->payload_size = a->file_size - 8 - n;
	if (!(a->cms_der = malloc(a->cms_len)))
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	if (rd_at(a->fd, a->cms_der, a->cms_len, a->payload_size, a->label, err) < 0)
		return -1;
	p = a->cms_der;
	a->cms = d2i_CMS_ContentInfo(NULL, &p, (long)a->cms_len);
	ERR_clear_error();
	if (!a->cms || p != a->cms_der + a->cms_len)
		return oab_err_set(err, OAB_E_REJECTED,
				   "%s: RAUC bundle: the %zu signature bytes are not one DER CMS structure",
				   a->label, a->cms_len);
	if (OBJ_obj2nid(CMS_get0_type(a->cms)) != NID_pkcs7_signed)
		return oab_err_set(err, OAB_E_REJECTED,
				   "%s: RAUC bundle: signature is not a CMS SignedData (encrypted 'crypt' bundles are not supported)",
				   a->label);
	nsi = CMS_get0_SignerInfos(a->cms) ? sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(a->cms)) : 0;
	/* rauc checks every SignerInfo, then refuses more than one
	 * ("Unsupported number of signers"): so does the audit. */
	if (nsi != 1)
		return oab_err_set(err, OAB_E_REJECTED, "%s: RAUC bundle: %d SignerInfos (rauc accepts exactly one)",
				   a->label, nsi);
	content = CMS_get0_content(a->cms);
	a->detached = !content || !*content;
	if (!a->detached && OBJ_obj2nid(CMS_get0_eContentType(a->cms)) != NID_pkcs7_data)
		return oab_err_set(err, OAB_E_REJECTED, "%s: RAUC bundle: signed content is not id-data",
				   a->label);
	return 0;
}

/* trust.c speaks of otabundle's member: say which signature it was. */
static int sig_msg(struct audit *a, struct oab_err *err)
{
	static const char pre[] = "member 'manifest.sig': ";
	char tmp[OAB_ERR_MAX];

	if (strncmp(err->msg, pre, sizeof(pre) - 1) == 0) {
		snprintf(tmp, sizeof(tmp), "%s: RAUC signature: %s", a->label, err->msg + sizeof(pre) - 1);
		memcpy(err->msg, tmp, sizeof(tmp));
	} else {
		oab_err_prefix(err, "%s: RAUC signature: ", a->label);
	}
	return -1;
}

static int judge(struct audit *a, const unsigned char *data, size_t len, struct oab_err *err)
{
	const struct oab_trust *t = a->check ? a->o->trust : NULL;
	int io = 0;
	BIO *src;
	int r;

	if (a->check && (!t || oab_trust_count(t) == 0)) {
		oab_err_set(err, OAB_E_USAGE, "no trust anchor given: nothing can be verified");
		return oab_err_detail(err, OAB_D_NO_ANCHOR, NULL, -1, NULL, NULL);
	}
	src = data ? BIO_new_mem_buf(data, (int)len) : oab_rauc_range_bio(a->fd, 0, a->payload_size, &io);
	if (!src)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	/* One SignerInfo (read_tail): a higher threshold is asked of the
	 * carried otabundle manifest (carried()). */
	r = oab_trust_evaluate_bio(t, a->cms, src, a->now, 1, a->o->allow_weak, a->o, a->rep, err);
	if (io)
		return oab_err_set(err, OAB_E_IO, "%s: reading the squashfs: %s", a->label, strerror(io));
	return r < 0 ? sig_msg(a, err) : 0;
}

/* The report's manifest, from manifest.raucm. */
static int synth(struct audit *a, struct oab_err *err)
{
	struct oab_manifest *m = calloc(1, sizeof(*m));
	int ok;

	if (!m)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	a->rep->manifest = m;
	m->format = OAB_FORMAT_VERSION;
	m->name = strdup(a->rm.compatible);
	m->version = strdup(a->rm.version ? a->rm.version : "");
	m->description = a->rm.description ? strdup(a->rm.description) : NULL;
	/* [update] build is free text; an RFC 3339 time (as the export
	 * writes) is reported as the created time. */
	if (a->rm.build && oab_time_parse(a->rm.build, &m->created) == 0)
		m->has_created = 1;
	m->compatible = calloc(1, sizeof(char *));
	ok = m->name && m->version && (!a->rm.description || m->description) && m->compatible &&
	     (m->compatible[0] = strdup(a->rm.compatible));
	m->n_compatible = m->compatible && m->compatible[0] ? 1 : 0;
	m->items = calloc(a->rm.n_images ? a->rm.n_images : 1, sizeof(*m->items));
	ok = ok && m->items;
	for (size_t i = 0; ok && i < a->rm.n_images; i++) {
		const struct oab_raucm_image *im = &a->rm.images[i];
		struct oab_item *it = &m->items[m->n_items++];

		it->kind = OAB_ITEM_PAYLOAD;
		it->compression = OAB_COMP_NONE;
		it->name = strdup(im->slotclass);
		it->type = strdup("image");
		it->slot = strdup(im->slotclass);
		it->member = strdup(im->filename);
		it->size = it->stored_size = im->size;
		memcpy(it->sha256, im->sha256, 32);
		memcpy(it->stored_sha256, im->sha256, 32);
		ok = it->name && it->type && it->slot && it->member;
	}
	if (!ok)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	return 0;
}

static int parse_rm(struct audit *a, const char *buf, size_t len, const char *what,
		    struct oab_err *err)
{
	char w[128];

	snprintf(w, sizeof(w), "%s: %s", a->label, what);
	if (oab_raucm_parse(buf, len, w, &a->rm, err) < 0) {
		oab_report_add_check(a->rep, 0, "manifest", NULL, "%s", err->msg);
		return oab_err_detail(err, OAB_D_MANIFEST, what, -1, NULL, NULL);
	}
	oab_report_add_check(a->rep, 1, "manifest", NULL, "%s parsed (%zu image%s)", what,
			     a->rm.n_images, a->rm.n_images == 1 ? "" : "s");
	return synth(a, err);
}

/* Verity: the signed manifest's [bundle] keys against the file's layout. */
static int verity_layout(struct audit *a, unsigned char root[32], unsigned char salt[32],
			 uint64_t *data_blocks, struct oab_err *err)
{
	const struct oab_raucm *m = &a->rm;
	uint64_t data;

	if (!m->format || strcmp(m->format, "verity") != 0) {
		char esc[4 * 80 + 4];

		oab_escape(m->format ? m->format : "plain", strlen(m->format ? m->format : "plain"), esc,
			   sizeof(esc));
		return oab_err_set(err, OAB_E_REJECTED,
				   "%s: RAUC bundle format '%s' with an attached signature (expected 'verity'; 'crypt' is not supported)",
				   a->label, esc);
	}
	if (!m->verity_hash || strlen(m->verity_hash) != 64 || oab_unhex(m->verity_hash, root, 32) < 0 ||
	    !m->verity_salt || strlen(m->verity_salt) != 64 || oab_unhex(m->verity_salt, salt, 32) < 0)
		return oab_err_set(err, OAB_E_REJECTED,
				   "%s: manifest.raucm: [bundle] verity-hash and verity-salt must be 64 hex digits each",
				   a->label);
	if (!m->has_verity_size || m->verity_size == 0 || m->verity_size % OAB_RAUC_BLOCK ||
	    m->verity_size >= a->payload_size || a->payload_size % OAB_RAUC_BLOCK)
		return oab_err_set(err, OAB_E_REJECTED,
				   "%s: verity-size %llu does not fit the bundle (payload %llu bytes; both must be multiples of 4096)",
				   a->label, (unsigned long long)m->verity_size,
				   (unsigned long long)a->payload_size);
	data = a->payload_size - m->verity_size;
	if (data <= OAB_RAUC_BLOCK || oab_rauc_verity_size(data / OAB_RAUC_BLOCK) != m->verity_size)
		return oab_err_set(err, OAB_E_REJECTED,
				   "%s: verity-size %llu is not the hash tree size of %llu squashfs bytes (%llu expected)",
				   a->label, (unsigned long long)m->verity_size, (unsigned long long)data,
				   (unsigned long long)oab_rauc_verity_size(data / OAB_RAUC_BLOCK));
	*data_blocks = data / OAB_RAUC_BLOCK;
	return 0;
}

/* Stream one image out of the squashfs through SHA-256. */
static int check_image(struct audit *a, struct rsq *q, const struct oab_raucm_image *im,
		       struct oab_err *err)
{
	sqfs_inode_generic_t *ino = NULL;
	uint64_t size, off = 0;
	unsigned char md[32];
	unsigned char *buf = NULL;
	EVP_MD_CTX *c = NULL;
	char esc[4 * 80 + 4], want[65], got[65];
	int rc = -1;

	oab_escape(im->filename, strlen(im->filename), esc, sizeof(esc));
	if (rsq_find(q, im->filename, &ino, &size, a->label, err) < 0) {
		oab_report_add_check(a->rep, 0, "member-read", esc, "%s", err->msg);
		return oab_err_detail(err, OAB_D_STRUCTURE, im->filename, -1, NULL, NULL);
	}
	if (size != im->size) {
		char e[32], f[32];

		snprintf(e, sizeof(e), "%llu", (unsigned long long)im->size);
		snprintf(f, sizeof(f), "%llu", (unsigned long long)size);
		oab_report_add_check(a->rep, 0, "member-size", esc, "manifest %s, squashfs %s", e, f);
		oab_err_set(err, OAB_E_REJECTED, "%s: image '%s': size %s in the squashfs, manifest.raucm says %s",
			    a->label, esc, f, e);
		oab_err_detail(err, OAB_D_MEMBER_SIZE, im->filename, -1, e, f);
		goto out;
	}
	oab_report_add_check(a->rep, 1, "member-size", esc, "%llu bytes", (unsigned long long)size);
	buf = malloc(q->super.block_size);
	c = EVP_MD_CTX_new();
	if (!buf || !c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	while (off < size) {
		sqfs_u32 want_n = size - off < q->super.block_size ? (sqfs_u32)(size - off) : q->super.block_size;
		sqfs_s32 n = sqfs_data_reader_read(q->data, ino, off, buf, want_n);

		if (n <= 0) {
			sqfail(q, n < 0 ? n : SQFS_ERROR_CORRUPTED, a->label, esc, err);
			oab_report_add_check(a->rep, 0, "member-read", esc, "%s", err->msg);
			goto out;
		}
		EVP_DigestUpdate(c, buf, (size_t)n);
		off += (uint64_t)n;
		if (a->o->progress)
			a->o->progress(a->o->progress_arg, im->slotclass, off, size);
	}
	EVP_DigestFinal_ex(c, md, NULL);
	oab_hex(im->sha256, 32, want);
	oab_hex(md, 32, got);
	if (CRYPTO_memcmp(md, im->sha256, 32) != 0) {
		oab_report_add_check(a->rep, 0, "member-hash", esc, "manifest %s, content %s", want, got);
		oab_err_set(err, OAB_E_REJECTED, "%s: image '%s': sha256 %s, manifest.raucm says %s", a->label,
			    esc, got, want);
		oab_err_detail(err, OAB_D_CONTENT_HASH, im->filename, -1, want, got);
		goto out;
	}
	oab_report_add_check(a->rep, 1, "member-hash", esc, "sha256 %s", got);
	rc = 0;
out:
	EVP_MD_CTX_free(c);
	free(buf);
	sqfs_free(ino);
	return rc;
}

/* The otabundle manifest.yaml and manifest.sig an export carries in its
 * squashfs (none: nothing to check). They must verify against the same
 * anchors with the asked threshold (which a RAUC signature, one signer,
 * cannot meet), and every image must be one of its payloads, content
 * size and SHA-256: then the otabundle signers approved these images. */
static int carried(struct audit *a, struct rsq *q, int *present, struct oab_err *err)
{
	sqfs_inode_generic_t *ino = NULL;
	struct oab_report *r2 = NULL;
	struct oab_manifest *m = NULL;
	CMS_ContentInfo *cms = NULL;
	char *yaml = NULL, *sig = NULL;
	size_t ylen = 0, siglen = 0;
	unsigned threshold = a->o->threshold ? a->o->threshold : 1;
	int rc = -1;

	*present = sqfs_dir_reader_find_by_path(q->dr, q->root, "manifest.sig", &ino) == 0;
	sqfs_free(ino);
	if (!*present)
		return 0;
	if (rsq_read_small(q, "manifest.yaml", OAB_MAX_MANIFEST_BYTES, &yaml, &ylen, a->label, err) < 0 ||
	    rsq_read_small(q, "manifest.sig", OAB_MAX_SIG_BYTES, &sig, &siglen, a->label, err) < 0)
		goto out;
	if (!(r2 = oab_report_new())) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	if (!(cms = oab_cms_parse((unsigned char *)sig, siglen, err)) ||
	    oab_trust_evaluate(a->o->trust, cms, (unsigned char *)yaml, ylen, a->now, threshold,
			       a->o->allow_weak, a->o, r2, err) < 0 ||
	    oab_manifest_parse(yaml, ylen, "manifest.yaml", NULL, OAB_MANIFEST_RESOLVED, &m, err) < 0) {
		oab_err_prefix(err, "%s: carried otabundle manifest: ", a->label);
		goto out;
	}
	for (size_t i = 0; i < a->rm.n_images; i++) {
		const struct oab_raucm_image *im = &a->rm.images[i];
		int found = 0;

		for (size_t j = 0; j < m->n_items && !found; j++)
			found = m->items[j].kind == OAB_ITEM_PAYLOAD && m->items[j].size == im->size &&
				memcmp(m->items[j].sha256, im->sha256, 32) == 0;
		if (!found) {
			char esc[4 * 80 + 4];

			oab_escape(im->filename, strlen(im->filename), esc, sizeof(esc));
			oab_err_set(err, OAB_E_REJECTED,
				    "%s: carried otabundle manifest: image '%s' is none of its payloads (size and sha256)",
				    a->label, esc);
			goto out;
		}
	}
	oab_report_add_check(a->rep, 1, "otabundle-manifest", NULL,
			     "carried manifest.yaml of '%s' %s: %zu trusted key%s (%u required), every image one of its payloads",
			     m->name, m->version, r2->trusted_keys, r2->trusted_keys == 1 ? "" : "s", threshold);
	rc = 0;
out:
	if (rc < 0) {
		oab_report_add_check(a->rep, 0, "otabundle-manifest", NULL, "%s", err->msg);
		if (err->code == OAB_E_REJECTED)
			oab_err_detail(err, OAB_D_SIGNATURE, "manifest.sig", -1, NULL, NULL);
	}
	oab_manifest_free(m);
	CMS_ContentInfo_free(cms);
	oab_report_free(r2);
	free(yaml);
	free(sig);
	return rc;
}

static int audit_run(struct audit *a, struct oab_err *err)
{
	struct rsq q = {0};
	uint64_t sq_size = a->payload_size, data_blocks = 0;
	unsigned char root[32], salt[32];
	int rc = -1, bad = 0;

	if (read_tail(a, err) < 0)
		goto fail_layout;
	sq_size = a->payload_size;
	if (!a->detached) {
		/* verity: the manifest is the CMS's signed content */
		ASN1_OCTET_STRING **c = CMS_get0_content(a->cms);

		if (judge(a, (*c)->data, (size_t)(*c)->length, err) < 0)
			goto out;
		if (parse_rm(a, (const char *)(*c)->data, (size_t)(*c)->length, "signed manifest.raucm",
			     err) < 0)
			goto out;
		if (verity_layout(a, root, salt, &data_blocks, err) < 0) {
			oab_report_add_check(a->rep, 0, "format", NULL, "%s", err->msg);
			goto out;
		}
		oab_report_add_check(a->rep, 1, "format", NULL,
				     "rauc verity: squashfs %llu bytes, hash tree %llu bytes, signature %zu bytes",
				     (unsigned long long)(data_blocks * OAB_RAUC_BLOCK),
				     (unsigned long long)a->rm.verity_size, a->cms_len);
		sq_size = data_blocks * OAB_RAUC_BLOCK;
		if (!a->check) {
			rc = 0;
			goto out;
		}
		if (oab_rauc_verity(a->fd, data_blocks, salt, root, 0, a->o->progress, a->o->progress_arg,
				    err) < 0) {
			oab_err_prefix(err, "%s: ", a->label);
			oab_report_add_check(a->rep, 0, "verity", NULL, "%s", err->msg);
			if (err->code == OAB_E_REJECTED)
				oab_err_detail(err, OAB_D_CONTENT_HASH, "verity", -1, NULL, NULL);
			goto out;
		}
		oab_report_add_check(a->rep, 1, "verity", NULL,
				     "hash tree and root hash match all %llu squashfs blocks",
				     (unsigned long long)data_blocks);
	} else {
		/* plain: the detached CMS covers the whole squashfs */
		char *rm = NULL;
		size_t rmlen = 0;

		if (a->check && judge(a, NULL, 0, err) < 0)
			goto out;
		if (!a->check && judge(a, (const unsigned char *)"", 0, err) < 0)
			goto out;
		if (rsq_open(&q, a->fd, sq_size, a->label, err) < 0 ||
		    rsq_read_small(&q, "manifest.raucm", OAB_RAUC_MAX_RAUCM, &rm, &rmlen, a->label, err) < 0) {
			oab_report_add_check(a->rep, 0, "format", NULL, "%s", err->msg);
			goto out;
		}
		rc = parse_rm(a, rm, rmlen, "manifest.raucm", err);
		free(rm);
		if (rc < 0)
			goto out;
		rc = -1;
		if (a->rm.format && strcmp(a->rm.format, "plain") != 0) {
			char esc[4 * 80 + 4];

			oab_escape(a->rm.format, strlen(a->rm.format), esc, sizeof(esc));
			oab_err_set(err, OAB_E_REJECTED,
				    "%s: RAUC bundle format '%s' with a detached signature (expected 'plain')",
				    a->label, esc);
			oab_report_add_check(a->rep, 0, "format", NULL, "%s", err->msg);
			goto out;
		}
		oab_report_add_check(a->rep, 1, "format", NULL, "rauc plain: squashfs %llu bytes, signature %zu bytes",
				     (unsigned long long)sq_size, a->cms_len);
		if (!a->check) {
			rc = 0;
			goto out;
		}
	}
	if (a->o->compatible) {
		const char *have = a->rm.compatible ? a->rm.compatible : "";
		int ok = strcmp(a->o->compatible, have) == 0;
		char esc[4 * 80 + 4];

		oab_escape(have, strlen(have), esc, sizeof(esc));
		oab_report_add_check(a->rep, ok, "policy.compatible", NULL, "bundle '%s'", esc);
		if (!ok) {
			oab_err_set(err, OAB_E_REJECTED, "%s: made for '%s', not for this device", a->label, esc);
			oab_err_detail(err, OAB_D_POLICY_COMPATIBLE, NULL, -1, NULL, NULL);
			goto out;
		}
	}
	/* Only now, the squashfs authenticated, is it parsed. */
	if (!q.root && rsq_open(&q, a->fd, sq_size, a->label, err) < 0) {
		oab_report_add_check(a->rep, 0, "format", NULL, "%s", err->msg);
		goto out;
	}
	/* Every image is checked, so the report names each bad one; the
	 * error is the first. */
	for (size_t i = 0; i < a->rm.n_images; i++) {
		struct oab_err later = {0};

		if (check_image(a, &q, &a->rm.images[i], bad ? &later : err) < 0)
			bad++;
	}
	if (bad)
		goto out;
	{
		int present = 0;

		if (carried(a, &q, &present, err) < 0)
			goto out;
		if (!present && a->o->threshold > 1) {
			oab_report_add_check(a->rep, 0, "threshold", NULL, "1 signature, %u required",
					     a->o->threshold);
			oab_err_set(err, OAB_E_REJECTED,
				    "%s: a RAUC bundle carries one signature; %u distinct trusted keys need a carried otabundle manifest",
				    a->label, a->o->threshold);
			oab_err_detail(err, OAB_D_UNTRUSTED, NULL, -1, NULL, NULL);
			goto out;
		}
	}
	rc = 0;
	goto out;
fail_layout:
	oab_report_add_check(a->rep, 0, "format", NULL, "%s", err->msg);
out:
	rsq_close(&q);
	return rc;
}

int oab_rauc_audit(int fd, const char *label, const struct oab_verify_opts *o,
		   struct oab_report *rep, int check, struct oab_err *err)
{
	static const struct oab_verify_opts zero;
	struct audit a = {0};
	struct stat st;
	int rc;

	a.fd = fd;
	a.label = label ? label : "bundle";
	a.o = o ? o : &zero;
	a.rep = rep;
	a.check = check;
	a.now = a.o->now > 0 ? a.o->now : (int64_t)time(NULL);
	rep->signed_bundle = 1;
	if (!rep->format && !(rep->format = strdup("rauc")))
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	if (fstat(fd, &st) < 0)
		return oab_err_set(err, OAB_E_IO, "%s: %s", a.label, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return oab_err_set(err, OAB_E_USAGE, "%s: a RAUC bundle must be a regular file (read from its end)",
				   a.label);
	a.file_size = (uint64_t)st.st_size;
	rc = audit_run(&a, err);
	if (rc == 0 && check)
		rep->verified = rep->n_unrecorded == 0;
	for (size_t i = 0; rc == 0 && check && i < rep->n_checks; i++)
		if (!rep->checks[i].ok)
			rep->verified = 0;
	if (rc == 0 && check && !rep->verified)
		rc = oab_err_set(err, OAB_E_REJECTED, "%s: a check failed", a.label);
	oab_raucm_release(&a.rm);
	CMS_ContentInfo_free(a.cms);
	free(a.cms_der);
	return rc;
}
