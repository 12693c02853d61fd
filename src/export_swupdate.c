/* SPDX-License-Identifier: Apache-2.0 */
/* export_swupdate.c - export of a verified bundle as an SWUpdate .swu:
 * a cpio archive (newc, or crc on request) of sw-description (libconfig,
 * written from the signed manifest and its export.swupdate settings),
 * sw-description.sig (detached DER CMS, one SignerInfo per signer), the
 * payloads as stored (zstd passes through: compressed = "zstd"; sha256 =
 * the stored SHA-256 of the signed manifest), the scripts' content, then
 * the SBOM, manifest.yaml and manifest.sig, which SWUpdate skips (not named
 * in sw-description) and otabundle verify reads. Streams: memory does not
 * grow with the payloads. */
#define _GNU_SOURCE
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <libconfig.h>
#include <openssl/evp.h>

#include "internal.h"
#include "peer.h"
#include "peer_swupdate.h"

/* ---- cpio writer (newc 070701 / crc 070702) -------------------------- */

struct cpio_out {
	int fd;
	int crc;
	uint64_t off;
	uint32_t ino;
	uint32_t mtime;
	uint64_t hdr_at;   /* the open member's header */
	uint64_t left;     /* its data bytes still due */
	uint32_t sum;      /* its crc byte sum */
	const char *name;
};

static int out_write(struct cpio_out *o, const void *p, size_t n, struct oab_err *err)
{
	if (oab_write_all(o->fd, p, n) < 0)
		return oab_err_set(err, OAB_E_IO, "writing the .swu: %s", strerror(errno));
	o->off += n;
	return 0;
}

static int out_pad(struct cpio_out *o, unsigned align, struct oab_err *err)
{
	static const unsigned char zero[512];
	size_t n = (size_t)((align - o->off % align) % align);

	return n ? out_write(o, zero, n, err) : 0;
}

/* Header of the next member (size bytes to follow through cpio_data). */
static int cpio_begin(struct cpio_out *o, const char *name, uint64_t size, const char *what,
		      struct oab_err *err)
{
	char h[128];
	uint32_t nl = (uint32_t)strlen(name) + 1;

	if (size > OAB_SWU_MAX_MEMBER)
		return oab_err_set(err, OAB_E_USAGE,
				   "%s: %llu bytes; a .swu (cpio) member holds at most 4 GiB - 1 (%llu bytes)",
				   what, (unsigned long long)size, OAB_SWU_MAX_MEMBER);
	o->hdr_at = o->off;
	o->left = size;
	o->sum = 0;
	o->name = name;
	/* the crc variant's checksum is written once the data is known */
	snprintf(h, sizeof(h), "%s%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 o->crc ? "070702" : "070701", ++o->ino, 0100644u, 0u, 0u, 1u, o->mtime,
		 (uint32_t)size, 0u, 0u, 0u, 0u, nl, 0u);
	if (out_write(o, h, 110, err) < 0 || out_write(o, name, nl, err) < 0)
		return -1;
	return out_pad(o, 4, err);
}

static int cpio_data(struct cpio_out *o, const unsigned char *p, size_t n, struct oab_err *err)
{
	if (n > o->left)
		return oab_err_set(err, OAB_E_INTERNAL, "member '%s': more data than its header says",
				   o->name);
	if (o->crc)
		for (size_t i = 0; i < n; i++)
			o->sum += p[i];
	o->left -= n;
	return out_write(o, p, n, err);
}

static int cpio_end(struct cpio_out *o, struct oab_err *err)
{
	char hex[9];

	if (o->left)
		return oab_err_set(err, OAB_E_INTERNAL, "member '%s': %llu bytes short", o->name,
				   (unsigned long long)o->left);
	if (o->crc) {
		snprintf(hex, sizeof(hex), "%08X", o->sum);
		if (pwrite(o->fd, hex, 8, (off_t)(o->hdr_at + 102)) != 8)
			return oab_err_set(err, OAB_E_IO, "writing the .swu: %s", strerror(errno));
	}
	return out_pad(o, 4, err);
}

static int cpio_small(struct cpio_out *o, const char *name, const void *p, size_t n,
		      struct oab_err *err)
{
	if (cpio_begin(o, name, n, name, err) < 0 || cpio_data(o, p, n, err) < 0)
		return -1;
	return cpio_end(o, err);
}

static int cpio_finish(struct cpio_out *o, struct oab_err *err)
{
	if (cpio_begin(o, "TRAILER!!!", 0, "trailer", err) < 0 || cpio_end(o, err) < 0)
		return -1;
	return out_pad(o, 512, err);
}

/* ---- sw-description --------------------------------------------------- */

static const char *setting1(const struct oab_manifest *m, const char *item, const char *key)
{
	const struct oab_export_setting *s = oab_export_find(m, "swupdate", item, key);

	return s && s->n_values ? s->values[0] : NULL;
}

static int add_str(config_setting_t *g, const char *key, const char *val, struct oab_err *err)
{
	config_setting_t *s = config_setting_add(g, key, CONFIG_TYPE_STRING);

	if (!s || config_setting_set_string(s, val) != CONFIG_TRUE)
		return oab_err_set(err, OAB_E_INTERNAL, "sw-description: cannot set '%s'", key);
	return 0;
}

/* Where a payload goes: export.swupdate.items.NAME.{type, device, path,
 * filesystem, volume}; defaults from the otabundle type and slot. */
static int add_image(config_setting_t *list, const struct oab_manifest *m,
		     const struct oab_item *it, const unsigned char *stored, const char *fname,
		     struct oab_err *err)
{
	static const char *const pass[] = {"device", "path", "filesystem", "volume"};
	config_setting_t *g = config_setting_add(list, NULL, CONFIG_TYPE_GROUP);
	const char *type = setting1(m, it->name, "type");
	const char *dev = setting1(m, it->name, "device"), *path = setting1(m, it->name, "path");
	char hex[65], *partlabel = NULL;
	int rc = -1;

	if (!g)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	if (!type)
		type = strcmp(it->type, "image") == 0 ? "raw" : strcmp(it->type, "archive") == 0 ? "archive"
											     : "rawfile";
	/* An image for a slot goes to the partition labelled like the slot. */
	if (!dev && !path && strcmp(type, "raw") == 0 && it->slot &&
	    asprintf(&partlabel, "/dev/disk/by-partlabel/%s", it->slot) < 0)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	if (!dev && !path && !partlabel && !setting1(m, it->name, "volume")) {
		oab_err_set(err, OAB_E_USAGE,
			    "export to swupdate: payload '%s' (%s, handler '%s') has no target: set export.swupdate.items.%s.device or .path%s",
			    it->name, it->type, type, it->name,
			    strcmp(type, "raw") == 0 ? ", or give the payload a slot" : "");
		goto out;
	}
	oab_hex(stored, 32, hex);
	if (add_str(g, "filename", fname, err) < 0 || add_str(g, "type", type, err) < 0 ||
	    (partlabel && add_str(g, "device", partlabel, err) < 0))
		goto out;
	for (size_t k = 0; k < sizeof(pass) / sizeof(pass[0]); k++) {
		const char *v = setting1(m, it->name, pass[k]);

		if (v && add_str(g, pass[k], v, err) < 0)
			goto out;
	}
	if ((it->compression == OAB_COMP_ZSTD && add_str(g, "compressed", "zstd", err) < 0) ||
	    add_str(g, "sha256", hex, err) < 0)
		goto out;
	rc = 0;
out:
	free(partlabel);
	return rc;
}

/* otabundle hooks map to SWUpdate's handlers of the same moment:
 * pre-install -> "preinstall", post-install -> "postinstall" (run once,
 * without arguments, before / after the images are installed). */
static int add_script(config_setting_t *list, const struct oab_manifest *m,
		      const struct oab_item *it, const char *fname, struct oab_err *err)
{
	config_setting_t *g = config_setting_add(list, NULL, CONFIG_TYPE_GROUP);
	const char *type = setting1(m, it->name, "type");
	char hex[65];

	if (!g)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	if (!type)
		type = strcmp(it->hook, "pre-install") == 0 ? "preinstall" : "postinstall";
	oab_hex(it->sha256, 32, hex);
	if (add_str(g, "filename", fname, err) < 0 || add_str(g, "type", type, err) < 0 ||
	    add_str(g, "sha256", hex, err) < 0)
		return -1;
	return 0;
}

int oab_swu_description(const struct oab_manifest *m, const unsigned char (*stored)[32],
			char **out, size_t *len, struct oab_err *err)
{
	const struct oab_export_setting *hw = oab_export_find(m, "swupdate", NULL,
							      "hardware-compatibility");
	config_t cfg;
	config_setting_t *sw, *a, *images = NULL, *scripts = NULL;
	char **names = oab_calloc_array(m->n_items, sizeof(char *));
	FILE *f = NULL;
	int rc = -1;

	*out = NULL;
	if (!names)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	config_init(&cfg);
	sw = config_setting_add(config_root_setting(&cfg), "software", CONFIG_TYPE_GROUP);
	if (!sw || add_str(sw, "version", m->version, err) < 0 ||
	    (m->description && add_str(sw, "description", m->description, err) < 0))
		goto out;
	/* Without settings: the bundle's compatible names, which a device
	 * then gives as its revision (/etc/hwrevision: "BOARD NAME"). */
	if (!(a = config_setting_add(sw, "hardware-compatibility", CONFIG_TYPE_ARRAY)))
		goto oom;
	for (size_t i = 0; i < (hw ? hw->n_values : m->n_compatible); i++)
		if (!config_setting_set_string_elem(a, -1, hw ? hw->values[i] : m->compatible[i]))
			goto oom;
	for (size_t i = 0; i < m->n_items; i++) {
		const struct oab_item *it = &m->items[i];

		if (!(names[i] = oab_swu_member_name(it)))
			goto oom;
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(names[i], names[j]) == 0) {
				oab_err_set(err, OAB_E_USAGE,
					    "export to swupdate: items '%s' and '%s' would both be member '%s'",
					    m->items[j].name, it->name, names[i]);
				goto out;
			}
		if (strcmp(names[i], "sw-description") == 0 || strcmp(names[i], "sw-description.sig") == 0 ||
		    strcmp(names[i], "manifest.yaml") == 0 || strcmp(names[i], "manifest.sig") == 0) {
			oab_err_set(err, OAB_E_USAGE,
				    "export to swupdate: item '%s' would be member '%s', a name the .swu needs itself",
				    it->name, names[i]);
			goto out;
		}
		if (it->kind == OAB_ITEM_PAYLOAD) {
			if (!images && !(images = config_setting_add(sw, "images", CONFIG_TYPE_LIST)))
				goto oom;
			if (add_image(images, m, it, stored[i], names[i], err) < 0)
				goto out;
		} else if (it->kind == OAB_ITEM_SCRIPT) {
			if (!scripts && !(scripts = config_setting_add(sw, "scripts", CONFIG_TYPE_LIST)))
				goto oom;
			if (add_script(scripts, m, it, names[i], err) < 0)
				goto out;
		}
	}
	if (!(f = open_memstream(out, len)))
		goto oom;
	config_write(&cfg, f);
	if (fclose(f) != 0) {
		f = NULL;
		goto oom;
	}
	f = NULL;
	rc = 0;
	goto out;
oom:
	oab_err_set(err, OAB_E_INTERNAL, "out of memory");
out:
	if (f)
		fclose(f);
	if (rc < 0) {
		free(*out);
		*out = NULL;
	}
	for (size_t i = 0; i < m->n_items; i++)
		free(names[i]);
	free(names);
	config_destroy(&cfg);
	return rc;
}

/* ---- the export ------------------------------------------------------- */

struct copy {
	struct cpio_out *o;
	uint64_t done, total;
	const struct oab_export_ctx *c;
	const char *name;
};

static int stored_bytes(void *arg, const unsigned char *p, size_t n, struct oab_err *err)
{
	struct copy *cp = arg;

	if (cpio_data(cp->o, p, n, err) < 0)
		return -1;
	cp->done += n;
	if (cp->c->progress)
		cp->c->progress(cp->c->progress_arg, cp->name, cp->done, cp->total);
	return 0;
}

static int content_bytes(void *arg, const void *p, size_t n)
{
	struct copy *cp = arg;
	struct oab_err e = {0};

	return stored_bytes(cp, p, n, &e);
}

/* The SHA-256 of every member as stored, which sw-description names: the
 * signed manifest has it for members stored as they are, and for zstd
 * members only per chunk, so those are read once more first: each stored
 * chunk checked against m's chunk hashes (no decompressing: the whole
 * bundle verified just before), then hashed. */
struct stored_md {
	EVP_MD_CTX *md;
};

static int hash_stored(void *arg, const unsigned char *p, size_t n, struct oab_err *err)
{
	struct stored_md *h = arg;

	if (EVP_DigestUpdate(h->md, p, n) != 1)
		return oab_err_set(err, OAB_E_INTERNAL, "SHA-256 failed");
	return 0;
}

int oab_swu_stored_hashes(int fd, const char *label, const struct oab_verify_opts *vo,
			  const struct oab_manifest *m, unsigned char (**out)[32],
			  struct oab_err *err)
{
	unsigned char (*h)[32] = oab_calloc_array(m->n_items, 32);
	struct stored_md sm = {EVP_MD_CTX_new()};
	struct oab_tarin *t = NULL;
	struct archive_entry *e;
	size_t next = 0;
	int st = -1, need = 0;

	*out = NULL;
	if (!h || !sm.md) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m->n_items; i++) {
		memcpy(h[i], m->items[i].stored_sha256, 32);
		need |= m->items[i].compression == OAB_COMP_ZSTD;
	}
	if (!need) {
		st = 0;
		goto out;
	}
	if (lseek(fd, 0, SEEK_SET) != 0) {
		oab_err_set(err, OAB_E_IO, "%s: cannot read it again: %s", label, strerror(errno));
		goto out;
	}
	if (!(t = oab_tarin_open(fd, label, err)))
		goto out;
	while (next < m->n_items && (st = oab_tarin_next(t, &e, err)) == 1) {
		const struct oab_item *it = &m->items[next];
		const char *name = archive_entry_pathname(e);

		if (strcmp(name, "manifest.yaml") == 0 || strcmp(name, "manifest.sig") == 0)
			continue;
		if (strcmp(name, it->member) != 0 ||
		    (uint64_t)archive_entry_size(e) != it->stored_size) {
			st = oab_err_set(err, OAB_E_REJECTED,
					 "%s: member '%s' changed since it was verified", label, it->member);
			break;
		}
		next++;
		if (it->compression != OAB_COMP_ZSTD)
			continue;
		if (EVP_DigestInit_ex(sm.md, EVP_sha256(), NULL) != 1 ||
		    oab_member_chunks(oab_tarin_archive(t), it, hash_stored, &sm, vo ? vo->progress : NULL,
				      vo ? vo->progress_arg : NULL, err) < 0 ||
		    EVP_DigestFinal_ex(sm.md, h[next - 1], NULL) != 1) {
			if (err->code == OAB_OK)
				oab_err_set(err, OAB_E_INTERNAL, "SHA-256 failed");
			st = -1;
			break;
		}
	}
	if (st >= 0 && next < m->n_items)
		st = oab_err_set(err, OAB_E_REJECTED, "%s: member '%s' missing since it was verified",
				 label, m->items[next].member);
out:
	oab_tarin_free(t);
	EVP_MD_CTX_free(sm.md);
	if (st < 0) {
		free(h);
		return -1;
	}
	*out = h;
	return 0;
}

int oab_swu_check_sizes(const struct oab_manifest *m, struct oab_err *err)
{
	for (size_t i = 0; i < m->n_items; i++) {
		const struct oab_item *x = &m->items[i];
		uint64_t sz = x->kind == OAB_ITEM_SCRIPT ? x->size : x->stored_size;

		if (sz > OAB_SWU_MAX_MEMBER)
			return oab_err_set(err, OAB_E_USAGE,
					   "export to swupdate: member '%s' is %llu bytes; a .swu (cpio) member holds at most 4 GiB - 1",
					   x->member, (unsigned long long)sz);
	}
	return 0;
}

/* A signature made in a signing room over this sw-description: valid over
 * exactly these bytes, and its signers trusted when anchors are given. */
static int room_signature(const struct oab_export_ctx *c, const char *desc, size_t dlen,
			  unsigned char **der, size_t *derlen, struct oab_err *err)
{
	const char *path = c->opts->room_signature;
	struct oab_keyids ids = {0};
	CMS_ContentInfo *cms = NULL;
	char *buf = NULL;
	size_t len = 0;
	int rc = -1;

	if (oab_read_file(path, OAB_MAX_SIG_BYTES, &buf, &len, err) < 0)
		return -1;
	if (!(cms = oab_cms_parse((unsigned char *)buf, len, err)) ||
	    oab_cms_check(cms, (const unsigned char *)desc, dlen, &ids, err) < 0) {
		err->code = OAB_E_USAGE;
		oab_swu_sig_name(err);
		oab_err_prefix(err, "signature '%s' (not a DER CMS over this bundle's sw-description): ",
			       path);
		goto out;
	}
	if (oab_trust_count(c->opts->trust)) {
		struct oab_report *rep = oab_report_new();
		int64_t now = c->vopts && c->vopts->now > 0 ? c->vopts->now : (int64_t)time(NULL);

		if (!rep) {
			oab_err_set(err, OAB_E_INTERNAL, "out of memory");
			goto out;
		}
		if (oab_trust_evaluate(c->opts->trust, cms, (const unsigned char *)desc, dlen, now, 1,
				       0, c->vopts, rep, err) < 0) {
			oab_report_free(rep);
			err->code = OAB_E_KEY;
			oab_swu_sig_name(err);
			oab_err_prefix(err, "signature '%s': ", path);
			goto out;
		}
		oab_report_free(rep);
	}
	*der = (unsigned char *)buf;
	*derlen = len;
	buf = NULL;
	rc = 0;
out:
	free(ids.id);
	free(buf);
	CMS_ContentInfo_free(cms);
	return rc;
}

int oab_export_swupdate(struct oab_export_ctx *c, struct oab_err *err)
{
	const struct oab_manifest *m = c->m;
	struct cpio_out o = {.fd = c->out_fd, .crc = c->opts->swupdate_crc,
			     .mtime = (uint32_t)(c->build_time > 0xffffffff ? 0xffffffff : c->build_time)};
	struct oab_reader *r = NULL;
	const struct oab_item *it;
	const unsigned char *yaml, *msig;
	size_t ylen, mslen, dlen = 0, derlen = 0;
	char *desc = NULL, *name = NULL;
	unsigned char *der = NULL, (*stored)[32] = NULL;
	int st, rc = -1;

	if (oab_swu_check_sizes(m, err) < 0)
		return -1;
	if (oab_swu_stored_hashes(c->bundle_fd, c->label, c->vopts, m, &stored, err) < 0)
		return -1;
	if (oab_swu_description(m, (const unsigned char (*)[32])stored, &desc, &dlen, err) < 0) {
		free(stored);
		return -1;
	}
	if (c->opts->room == OAB_ROOM_ATTACH) {
		if (room_signature(c, desc, dlen, &der, &derlen, err) < 0)
			goto out;
	} else {
		if (c->n_signers == 0) {
			oab_err_set(err, OAB_E_USAGE, "export to swupdate: no signer given");
			goto out;
		}
		if (oab_cms_sign((unsigned char *)desc, dlen, c->signers, c->n_signers, c->chain, &der,
				 &derlen, err) < 0) {
			oab_err_prefix(err, "signing sw-description: ");
			goto out;
		}
	}
	if (lseek(c->bundle_fd, 0, SEEK_SET) != 0) {
		oab_err_set(err, OAB_E_IO, "%s: cannot read it again: %s", c->label, strerror(errno));
		goto out;
	}
	if (oab_reader_open(c->bundle_fd, c->label, c->vopts, &r, err) < 0 ||
	    oab_reader_authenticate(r, err) < 0)
		goto out;
	/* otabundle's own manifest and signature first: an auditor checks
	 * every member against them as it streams past */
	oab_reader_raw(r, &yaml, &ylen, &msig, &mslen);
	if (cpio_small(&o, "sw-description", desc, dlen, err) < 0 ||
	    cpio_small(&o, "sw-description.sig", der, derlen, err) < 0 ||
	    cpio_small(&o, "manifest.yaml", yaml, ylen, err) < 0 ||
	    (msig && cpio_small(&o, "manifest.sig", msig, mslen, err) < 0))
		goto out;
	while ((st = oab_reader_next(r, &it, err)) == 1) {
		struct copy cp = {.o = &o, .c = c, .name = it->name};
		struct oab_sink *s;

		free(name);
		if (!(name = oab_swu_member_name(it))) {
			oab_err_set(err, OAB_E_INTERNAL, "out of memory");
			goto out;
		}
		if (it->kind == OAB_ITEM_SCRIPT) {
			/* scripts as content: SWUpdate runs the file it extracts */
			cp.total = it->size;
			s = oab_sink_callback(content_bytes, &cp);
			if (!s) {
				oab_err_set(err, OAB_E_INTERNAL, "out of memory");
				goto out;
			}
			if (cpio_begin(&o, name, it->size, it->member, err) < 0 ||
			    oab_reader_read(r, s, err) < 0) {
				oab_sink_free(s);
				goto out;
			}
			oab_sink_free(s);
		} else {
			struct oab_sink copy = {.kind = OAB_SINK_ARCHIVE, .fd = -1,
						.stored = stored_bytes, .stored_arg = &cp};

			cp.total = it->stored_size;
			if (cpio_begin(&o, name, it->stored_size, it->member, err) < 0 ||
			    oab_reader_read(r, &copy, err) < 0)
				goto out;
		}
		if (cpio_end(&o, err) < 0)
			goto out;
	}
	if (st < 0)
		goto out;
	if (cpio_finish(&o, err) < 0)
		goto out;
	rc = 0;
out:
	oab_reader_free(r);
	free(name);
	free(desc);
	free(der);
	free(stored);
	return rc;
}


int oab_export_tbs_swupdate(struct oab_export_ctx *c, struct oab_err *err)
{
	unsigned char (*stored)[32] = NULL;
	char *desc = NULL;
	size_t dlen = 0;
	int rc = -1;

	if (oab_swu_stored_hashes(c->bundle_fd, c->label, c->vopts, c->m, &stored, err) < 0 ||
	    oab_swu_description(c->m, (const unsigned char (*)[32])stored, &desc, &dlen, err) < 0)
		goto out;
	if (oab_write_all(c->out_fd, desc, dlen) < 0) {
		oab_err_set(err, OAB_E_IO, "writing sw-description: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(stored);
	free(desc);
	return rc;
}
