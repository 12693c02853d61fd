/* SPDX-License-Identifier: Apache-2.0 */
/* sign.c - add, replace or attach signatures of an existing bundle, and
 * the signing-room pieces (export the manifest, sign it alone).
 *
 * manifest.yaml and every payload member are copied byte for byte (never
 * recompressed); only manifest.sig changes. Payload members are streamed
 * and their stored SHA-256 checked against the manifest on the way, so a
 * damaged bundle is never signed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "internal.h"

/* The head of a bundle: manifest bytes, signature (if any), parsed
 * manifest; the reader is left at the first payload header. */
struct head {
	struct oab_tarin *t;
	struct archive *a;
	struct archive_entry *e;
	int pending; /* e holds the first payload header */
	int at_end;  /* no member after manifest.yaml / manifest.sig */
	int fd;
	char *yaml;
	size_t ylen;
	unsigned char *sig;
	size_t siglen;
	struct oab_manifest *m;
};

static void head_release(struct head *h)
{
	oab_tarin_free(h->t);
	if (h->fd >= 0)
		close(h->fd);
	free(h->yaml);
	free(h->sig);
	oab_manifest_free(h->m);
	memset(h, 0, sizeof(*h));
	h->fd = -1;
}

static int head_open(struct head *h, const char *path, struct oab_err *err)
{
	int st;

	memset(h, 0, sizeof(*h));
	h->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (h->fd < 0)
		return oab_err_set(err, errno == ENOENT ? OAB_E_USAGE : OAB_E_IO, "bundle '%s': %s",
				   path, strerror(errno));
	h->t = oab_tarin_open(h->fd, path, err);
	if (!h->t)
		return -1;
	h->a = oab_tarin_archive(h->t);
	st = oab_tarin_next(h->t, &h->e, err);
	if (st < 0)
		return -1;
	if (st == 0 || strcmp(archive_entry_pathname(h->e), "manifest.yaml") != 0)
		return oab_err_set(err, OAB_E_REJECTED, "'%s': not a bundle (no leading manifest.yaml)", path);
	if (oab_member_read_small(h->a, h->e, OAB_MAX_MANIFEST_BYTES, (unsigned char **)&h->yaml,
				  &h->ylen, err) < 0)
		return -1;
	st = oab_tarin_next(h->t, &h->e, err);
	if (st < 0)
		return -1;
	if (st == 1 && strcmp(archive_entry_pathname(h->e), "manifest.sig") == 0) {
		if (oab_member_read_small(h->a, h->e, OAB_MAX_SIG_BYTES, &h->sig, &h->siglen, err) < 0)
			return -1;
	} else if (st == 1) {
		h->pending = 1;
	} else {
		h->at_end = 1;
	}
	if (oab_manifest_parse(h->yaml, h->ylen, "manifest.yaml", NULL, OAB_MANIFEST_RESOLVED,
			       &h->m, err) < 0) {
		err->code = OAB_E_REJECTED;
		return oab_err_prefix(err, "'%s': ", path);
	}
	return 0;
}

/* Copying one compressed member: each chunk (checked against its signed
 * SHA-256 by oab_member_chunks) is written and decoded, so the content
 * size and SHA-256 are checked as verify checks them. */
struct copy_sink {
	struct archive *w;
	struct oab_unpack *u;
};

static int sink_write(void *arg, const unsigned char *p, size_t n, struct oab_err *err)
{
	struct copy_sink *c = arg;

	if (archive_write_data(c->w, p, n) != (la_ssize_t)n)
		return oab_err_set(err, OAB_E_IO, "writing the new bundle: %s",
				   archive_error_string(c->w));
	return oab_unpack_feed(c->u, p, n, err);
}

#define DAMAGED "; refusing to sign a damaged bundle"

/* Copy every payload member from h's reader to w, checking each as
 * verify does (without trust): name, order, sizes, stored chunk hashes,
 * decoded size and content SHA-256, nothing after the last member. */
static int copy_members(struct head *h, struct archive *w, oab_progress_fn progress,
			void *parg, struct oab_err *err)
{
	unsigned char *buf = malloc(OAB_IO_BUF);
	struct copy_sink c = {.w = w};
	int rc = -1, st;

	if (!buf) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < h->m->n_items; i++) {
		const struct oab_item *it = &h->m->items[i];
		uint64_t got = 0;

		if (!h->pending) {
			st = h->at_end ? 0 : oab_tarin_next(h->t, &h->e, err);
			if (st <= 0) {
				if (st == 0)
					oab_err_set(err, OAB_E_REJECTED, "member '%s': missing" DAMAGED, it->member);
				goto out;
			}
		}
		h->pending = 0;
		if (strcmp(archive_entry_pathname(h->e), it->member) != 0 ||
		    archive_entry_size(h->e) != (la_int64_t)it->stored_size) {
			oab_err_set(err, OAB_E_REJECTED,
				    "member '%s': not where or what the manifest says (run otabundle verify)",
				    it->member);
			goto out;
		}
		if (oab_wr_header(w, it->member, it->stored_size, h->m->created, err) < 0)
			goto out;
		c.u = oab_unpack_new(it, -1, err);
		if (!c.u)
			goto out;
		if (it->compression == OAB_COMP_ZSTD) {
			st = oab_member_chunks(h->a, it, sink_write, &c, progress, parg, err);
		} else {
			st = 0;
			for (;;) {
				la_ssize_t n = archive_read_data(h->a, buf, OAB_IO_BUF);

				if (n < 0) {
					st = oab_err_set(err, OAB_E_REJECTED, "member '%s': truncated or damaged (%s)",
							 it->member, archive_error_string(h->a));
					break;
				}
				if (n == 0)
					break;
				got += (uint64_t)n;
				if (sink_write(&c, buf, (size_t)n, err) < 0) {
					st = -1;
					break;
				}
				if (progress)
					progress(parg, it->name, got, it->stored_size);
			}
		}
		if (st == 0)
			st = oab_unpack_finish(c.u, err);
		oab_unpack_free(c.u);
		c.u = NULL;
		if (st < 0) {
			if (err->code == OAB_E_REJECTED && !strstr(err->msg, DAMAGED) &&
			    strlen(err->msg) + sizeof(DAMAGED) < sizeof(err->msg))
				strcat(err->msg, DAMAGED);
			goto out;
		}
	}
	st = h->at_end ? 0 : oab_tarin_next(h->t, &h->e, err);
	if (st > 0)
		oab_err_set(err, OAB_E_REJECTED, "bundle has members the manifest does not list" DAMAGED);
	if (st != 0 || oab_tarin_end(h->t, err) < 0)
		goto out;
	rc = 0;
out:
	free(buf);
	return rc;
}

/* Read a CMS from a file, DER or PEM. */
static CMS_ContentInfo *load_cms_file(const char *path, struct oab_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	CMS_ContentInfo *cms = NULL;

	if (oab_read_file(path, OAB_MAX_SIG_BYTES, &buf, &len, err) < 0)
		return NULL;
	if (len > 10 && memcmp(buf, "-----BEGIN", 10) == 0) {
		BIO *b = BIO_new_mem_buf(buf, (int)len);

		cms = b ? PEM_read_bio_CMS(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		if (!cms)
			oab_err_ssl(err, OAB_E_USAGE, "signature '%s': not a PEM CMS", path);
		else if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
			CMS_ContentInfo_free(cms);
			cms = NULL;
			oab_err_set(err, OAB_E_USAGE, "signature '%s': not a CMS SignedData", path);
		}
	} else {
		cms = oab_cms_parse((unsigned char *)buf, len, err);
		if (!cms) {
			err->code = OAB_E_USAGE; /* a bad input file, as for PEM */
			oab_err_prefix(err, "signature '%s': ", path);
		}
	}
	free(buf);
	return cms;
}

static int has_id(const struct oab_keyids *ids, const char *id)
{
	for (size_t i = 0; i < ids->n; i++)
		if (strcmp(ids->id[i], id) == 0)
			return (int)i + 1;
	return 0;
}

/* The new signature for data: existing (may be NULL) plus signers, or
 * the attached CMS. Every signature in the result is checked over data. */
static int new_signature(const char *data, size_t len, CMS_ContentInfo *existing,
			 struct oab_signer *signers, size_t n, STACK_OF(X509) *chain,
			 const char *attach, int replace, unsigned char **der, size_t *der_len,
			 struct oab_err *err)
{
	const unsigned char *d = (const unsigned char *)data;
	struct oab_keyids old = {0}, now = {0};
	CMS_ContentInfo *cms = NULL;
	int rc = -1;

	if (existing && oab_cms_check(existing, d, len, &old, err) < 0)
		return oab_err_prefix(err, "existing signature: ");
	if (attach) {
		cms = load_cms_file(attach, err);
		if (!cms)
			goto out;
		if (CMS_get0_content(cms) && *CMS_get0_content(cms)) {
			oab_err_set(err, OAB_E_USAGE, "signature '%s': embeds content; sign with -binary and without -nodetach", attach);
			goto out;
		}
		if (oab_cms_check(cms, d, len, &now, err) < 0) {
			err->code = OAB_E_USAGE;
			oab_err_prefix(err, "signature '%s' does not cover this bundle's manifest: ", attach);
			goto out;
		}
		for (size_t i = 0; existing && !replace && i < old.n; i++)
			if (!has_id(&now, old.id[i])) {
				oab_err_set(err, OAB_E_USAGE,
					    "signature '%s' lacks existing signer %zu (key %.16s...); use --replace to drop it",
					    attach, i + 1, old.id[i]);
				goto out;
			}
	} else if (existing && !replace) {
		for (size_t i = 0; i < n; i++) {
			char id[65];
			int at;

			if (oab_key_id(signers[i].key, id) == 0 && (at = has_id(&old, id))) {
				oab_err_set(err, OAB_E_USAGE,
					    "key '%s' already signed this bundle (signer %d); use --replace to re-sign",
					    signers[i].label, at);
				goto out;
			}
		}
		if (oab_cms_add_signers(existing, signers, n, chain, err) < 0)
			goto out;
		if (oab_cms_check(existing, d, len, &now, err) < 0)
			goto out;
		rc = oab_cms_encode(existing, der, der_len, err);
		goto out;
	} else {
		if (oab_cms_sign(d, len, signers, n, chain, der, der_len, err) < 0)
			goto out;
		rc = 0;
		goto out;
	}
	rc = oab_cms_encode(cms, der, der_len, err);
out:
	free(old.id);
	free(now.id);
	CMS_ContentInfo_free(cms);
	return rc;
}

int oab_sign(const char *bundle, const struct oab_sign_opts *o, struct oab_err *err)
{
	struct head h = {.fd = -1};
	struct oab_signer *signers = NULL;
	STACK_OF(X509) *chain = NULL;
	CMS_ContentInfo *existing = NULL;
	struct oab_outfile out = {.fd = -1, .dirfd = -1};
	struct archive *w = NULL;
	unsigned char *der = NULL;
	size_t der_len = 0;
	int rc = -1;

	if (!o->attach && o->n_signers == 0)
		return oab_err_set(err, OAB_E_USAGE, "no signer given");
	/* -o may name the bundle (the same as signing in place), no other input */
	if (oab_output_not_signer_input(o->output, o->signers, o->n_signers, o->chain_files,
					o->n_chain_files, err) < 0 ||
	    oab_output_not_input(o->output, o->attach, "signature", err) < 0)
		return -1;
	if (oab_signers_load(o->signers, o->n_signers, o->chain_files, o->n_chain_files, o->trust,
			     &signers, &chain, err) < 0)
		return -1;
	if (head_open(&h, bundle, err) < 0)
		goto out;
	if (h.sig && !(existing = oab_cms_parse(h.sig, h.siglen, err)))
		goto out;
	if (new_signature(h.yaml, h.ylen, o->replace ? NULL : existing, signers, o->n_signers, chain,
			  o->attach, o->replace, &der, &der_len, err) < 0)
		goto out;
	if (oab_outfile_open(&out, o->output ? o->output : bundle, err) < 0 ||
	    oab_wr_open(&w, out.fd, err) < 0)
		goto out;
	if (oab_wr_header(w, "manifest.yaml", h.ylen, h.m->created, err) < 0 ||
	    archive_write_data(w, h.yaml, h.ylen) != (la_ssize_t)h.ylen ||
	    oab_wr_header(w, "manifest.sig", der_len, h.m->created, err) < 0 ||
	    archive_write_data(w, der, der_len) != (la_ssize_t)der_len) {
		if (err->code == OAB_OK)
			oab_err_set(err, OAB_E_IO, "%s", archive_error_string(w));
		goto out;
	}
	if (copy_members(&h, w, o->progress, o->progress_arg, err) < 0)
		goto out;
	if (archive_write_close(w) != ARCHIVE_OK) {
		oab_err_set(err, OAB_E_IO, "writing: %s", archive_error_string(w));
		goto out;
	}
	if (oab_outfile_commit(&out, err) < 0)
		goto out;
	rc = 0;
out:
	if (w)
		archive_write_free(w);
	oab_outfile_abort(&out);
	CMS_ContentInfo_free(existing);
	head_release(&h);
	oab_signers_free(signers, o->n_signers);
	sk_X509_pop_free(chain, X509_free);
	free(der);
	return rc;
}

static int write_small(const char *path, const void *data, size_t len, struct oab_err *err)
{
	struct oab_outfile out;
	int rc = -1;

	if (oab_outfile_open(&out, path, err) < 0)
		return -1;
	if (oab_write_all(out.fd, data, len) < 0)
		oab_err_set(err, OAB_E_IO, "'%s': %s", path, strerror(errno));
	else if (oab_outfile_commit(&out, err) == 0)
		rc = 0;
	oab_outfile_abort(&out);
	return rc;
}

int oab_export_manifest(const char *bundle, const char *manifest_out, const char *sig_out,
			struct oab_err *err)
{
	struct head h = {.fd = -1};
	int rc = -1;

	if (oab_output_not_input(manifest_out, bundle, "bundle", err) < 0 ||
	    oab_output_not_input(sig_out, bundle, "bundle", err) < 0)
		return -1;
	if (sig_out && (strcmp(sig_out, manifest_out) == 0 ||
			oab_output_not_input(sig_out, manifest_out, "manifest output", err) < 0))
		return oab_err_set(err, OAB_E_USAGE,
				   "the manifest and the signature would both be written to '%s'", sig_out);
	if (head_open(&h, bundle, err) < 0)
		goto out;
	/* A second manifest.yaml further on (the one tar would extract) or a
	 * forbidden header: not a bundle, nothing exported. */
	if ((h.at_end ? oab_tarin_end(h.t, err)
		      : oab_tarin_scan_rest(h.t, h.pending ? h.e : NULL, err)) < 0)
		goto out;
	if (sig_out && !h.sig) {
		oab_err_set(err, OAB_E_USAGE, "'%s' is not signed: no manifest.sig to export", bundle);
		goto out;
	}
	if (write_small(manifest_out, h.yaml, h.ylen, err) < 0)
		goto out;
	if (sig_out && write_small(sig_out, h.sig, h.siglen, err) < 0)
		goto out;
	rc = 0;
out:
	head_release(&h);
	return rc;
}

int oab_sign_detached(const char *manifest, const char *existing_sig, const char *sig_out,
		      const struct oab_sign_opts *o, struct oab_err *err)
{
	struct oab_signer *signers = NULL;
	STACK_OF(X509) *chain = NULL;
	CMS_ContentInfo *existing = NULL;
	struct oab_manifest *m = NULL;
	unsigned char *der = NULL;
	size_t der_len = 0, len = 0;
	char *yaml = NULL;
	int rc = -1;

	if (o->n_signers == 0)
		return oab_err_set(err, OAB_E_USAGE, "no signer given");
	/* sig_out may be existing_sig (the signature it adds to), no other input */
	if (oab_output_not_input(sig_out, manifest, "manifest", err) < 0 ||
	    oab_output_not_signer_input(sig_out, o->signers, o->n_signers, o->chain_files,
					o->n_chain_files, err) < 0)
		return -1;
	if (oab_signers_load(o->signers, o->n_signers, o->chain_files, o->n_chain_files, o->trust,
			     &signers, &chain, err) < 0)
		return -1;
	if (oab_read_file(manifest, OAB_MAX_MANIFEST_BYTES, &yaml, &len, err) < 0)
		goto out;
	/* Only a resolved manifest is worth a signature. */
	if (oab_manifest_parse(yaml, len, manifest, NULL, OAB_MANIFEST_RESOLVED, &m, err) < 0) {
		oab_err_prefix(err, "not a bundle manifest: ");
		goto out;
	}
	if (existing_sig && !(existing = load_cms_file(existing_sig, err)))
		goto out;
	if (new_signature(yaml, len, o->replace ? NULL : existing, signers, o->n_signers, chain,
			  NULL, o->replace, &der, &der_len, err) < 0)
		goto out;
	rc = write_small(sig_out, der, der_len, err);
out:
	oab_manifest_free(m);
	CMS_ContentInfo_free(existing);
	oab_signers_free(signers, o->n_signers);
	sk_X509_pop_free(chain, X509_free);
	free(yaml);
	free(der);
	return rc;
}
