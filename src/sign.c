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
#include <time.h>
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
#include "peer.h"

/* A bundle opened for sign and export-manifest through the one reader:
 * every existing signature checked over the manifest bytes before the
 * manifest is parsed (an unsigned bundle has none to check). */
static int open_bundle(const char *path, oab_progress_fn progress, void *parg, int *fd,
		       struct oab_reader **r, struct oab_err *err)
{
	struct oab_verify_opts o = {.progress = progress, .progress_arg = parg};

	*r = NULL;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return oab_err_set(err, errno == ENOENT ? OAB_E_USAGE : OAB_E_IO, "bundle '%s': %s",
				   path, strerror(errno));
	/* A native RAUC, SWUpdate or Mender bundle is not a damaged one:
	 * said as extract and export say it. */
	if (oab_peer_sniff(*fd) != OAB_PEER_NONE)
		return oab_err_set(err, OAB_E_USAGE,
				   "'%s': a %s bundle: this command reads otabundle bundles only "
				   "(verify and inspect read this one)",
				   path, oab_peer_name(oab_peer_sniff(*fd)));
	if (oab_reader_open(*fd, path, &o, r, err) < 0 || oab_reader_auth(*r, OAB_AUTH_SELF, err) < 0)
		return oab_err_prefix(err, "'%s': ", path);
	return 0;
}

static void close_bundle(int fd, struct oab_reader *r)
{
	oab_reader_free(r);
	if (fd >= 0)
		close(fd);
}

#define DAMAGED "; refusing to sign a damaged bundle"

/* Copy every payload member to w byte for byte through the reader,
 * checked as verify checks them (without trust): name, order, sizes,
 * stored chunk hashes, decoded size and content SHA-256, nothing after
 * the last member. */
static int copy_header(const struct oab_sink *s, const struct oab_item *it, struct oab_err *err)
{
	return oab_wr_header(s->w, it->member, it->stored_size, s->mtime, err);
}

static int copy_members(struct oab_reader *r, struct archive *w, struct oab_err *err)
{
	struct oab_sink copy = {.kind = OAB_SINK_ARCHIVE, .fd = -1, .w = w,
				.mtime = oab_reader_manifest(r)->created, .begin = copy_header};
	const struct oab_item *it;
	int st;

	while ((st = oab_reader_next(r, &it, err)) == 1)
		if (oab_reader_read(r, &copy, err) < 0)
			break;
	if (st == 0)
		return 0;
	if (err->code == OAB_E_REJECTED && !strstr(err->msg, DAMAGED) &&
	    strlen(err->msg) + sizeof(DAMAGED) < sizeof(err->msg))
		strcat(err->msg, DAMAGED);
	return -1;
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
		/* The DER inside the PEM gets every check a DER file gets
		 * (oab_cms_parse: DER only, SignedData, detached, id-data). */
		BIO *b = BIO_new_mem_buf(buf, (int)len);
		char *name = NULL, *header = NULL;
		unsigned char *der = NULL;
		long dlen = 0;

		if (!b || !PEM_read_bio(b, &name, &header, &der, &dlen) ||
		    (strcmp(name, "CMS") != 0 && strcmp(name, "PKCS7") != 0)) {
			oab_err_ssl(err, OAB_E_USAGE, "signature '%s': not a PEM CMS", path);
		} else if (!(cms = oab_cms_parse(der, (size_t)dlen, err))) {
			err->code = OAB_E_USAGE;
			oab_err_prefix(err, "signature '%s': ", path);
		}
		BIO_free(b);
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(der);
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
					    "signature '%s' lacks existing signer %zu (key %.16s...)",
					    attach, i + 1, old.id[i]);
				oab_err_detail(err, OAB_D_SIGNER_DROPPED, NULL, -1, old.id[i], NULL);
				goto out;
			}
	} else if (existing && !replace) {
		for (size_t i = 0; i < n; i++) {
			char id[65];
			int at;

			if (oab_key_id(signers[i].key, id) == 0 && (at = has_id(&old, id))) {
				oab_err_set(err, OAB_E_USAGE,
					    "key '%s' already signed this bundle (signer %d)",
					    signers[i].label, at);
				oab_err_detail(err, OAB_D_ALREADY_SIGNED, NULL, -1, id, NULL);
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

/* oab_sign, or with stamp_only oab_timestamp: the existing signature
 * checked over the manifest, then only tokens added. */
static int sign_bundle(const char *bundle, const struct oab_sign_opts *o, int stamp_only,
		       struct oab_err *err)
{
	struct oab_reader *r = NULL;
	struct oab_signer *signers = NULL;
	STACK_OF(X509) *chain = NULL;
	STACK_OF(X509_CRL) *crls = NULL;
	struct oab_outfile out = {.fd = -1, .dirfd = -1};
	struct archive *w = NULL;
	const unsigned char *yaml, *sig;
	unsigned char *der = NULL;
	size_t ylen, siglen, der_len = 0;
	int64_t created;
	int rc = -1, fd = -1;

	if (stamp_only && (!o->tsa_url || !*o->tsa_url))
		return oab_err_set(err, OAB_E_USAGE, "no TSA URL given");
	if (!stamp_only && !o->attach && o->n_signers == 0)
		return oab_err_set(err, OAB_E_USAGE, "no signer given");
	/* -o may name the bundle (the same as signing in place), no other input */
	if (oab_output_not_signer_input(o->output, o->signers, o->n_signers, o->chain_files,
					o->n_chain_files, err) < 0 ||
	    oab_output_not_input(o->output, o->attach, "signature", err) < 0)
		return -1;
	if (!stamp_only && oab_signers_load(o->signers, o->n_signers, o->chain_files, o->n_chain_files,
					    o->trust, &signers, &chain, err) < 0)
		return -1;
	if (oab_crls_for_signing(o->crl_files, o->n_crl_files, (int64_t)time(NULL), o->warn,
				 o->warn_arg, &crls, err) < 0)
		goto out;
	if (open_bundle(bundle, o->progress, o->progress_arg, &fd, &r, err) < 0)
		goto out;
	oab_reader_raw(r, &yaml, &ylen, &sig, &siglen);
	created = oab_reader_manifest(r)->created;
	if (stamp_only) {
		if (!oab_reader_cms(r)) {
			oab_err_set(err, OAB_E_USAGE, "'%s' is not signed: nothing to timestamp", bundle);
			oab_err_detail(err, OAB_D_NOT_SIGNED, "manifest.sig", -1, NULL, NULL);
			goto out;
		}
		if (new_signature((const char *)yaml, ylen, oab_reader_cms(r), NULL, 0, NULL, NULL, 0,
				  &der, &der_len, err) < 0)
			goto out;
	} else if (new_signature((const char *)yaml, ylen, o->replace ? NULL : oab_reader_cms(r), signers,
			  o->n_signers, chain, o->attach, o->replace, &der, &der_len, err) < 0 ||
		   oab_cms_der_add_crls(&der, &der_len, crls, err) < 0)
		goto out;
	if (o->tsa_url && oab_tsa_stamp(&der, &der_len, o->tsa_url, o->tsa_timeout, NULL, err) < 0)
		goto out;
	if (oab_outfile_open(&out, o->output ? o->output : bundle, err) < 0 ||
	    oab_wr_open(&w, out.fd, err) < 0)
		goto out;
	if (oab_wr_header(w, "manifest.yaml", ylen, created, err) < 0 ||
	    archive_write_data(w, yaml, ylen) != (la_ssize_t)ylen ||
	    oab_wr_header(w, "manifest.sig", der_len, created, err) < 0 ||
	    archive_write_data(w, der, der_len) != (la_ssize_t)der_len) {
		if (err->code == OAB_OK)
			oab_err_set(err, OAB_E_IO, "%s", archive_error_string(w));
		goto out;
	}
	if (copy_members(r, w, err) < 0)
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
	close_bundle(fd, r);
	oab_signers_free(signers, o->n_signers);
	sk_X509_pop_free(chain, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	free(der);
	return rc;
}

int oab_sign(const char *bundle, const struct oab_sign_opts *o, struct oab_err *err)
{
	return sign_bundle(bundle, o, 0, err);
}

int oab_timestamp(const char *bundle, const struct oab_sign_opts *o, struct oab_err *err)
{
	return sign_bundle(bundle, o, 1, err);
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
	struct oab_reader *r = NULL;
	const unsigned char *yaml, *sig;
	size_t ylen, siglen;
	int rc = -1, fd = -1;

	if (oab_output_not_input(manifest_out, bundle, "bundle", err) < 0 ||
	    oab_output_not_input(sig_out, bundle, "bundle", err) < 0)
		return -1;
	if (sig_out && (strcmp(sig_out, manifest_out) == 0 ||
			oab_output_not_input(sig_out, manifest_out, "manifest output", err) < 0))
		return oab_err_set(err, OAB_E_USAGE,
				   "the manifest and the signature would both be written to '%s'", sig_out);
	if (open_bundle(bundle, NULL, NULL, &fd, &r, err) < 0)
		goto out;
	/* A second manifest.yaml further on (the one tar would extract) or a
	 * forbidden header: not a bundle, nothing exported. */
	if (oab_reader_scan_rest(r, err) < 0)
		goto out;
	oab_reader_raw(r, &yaml, &ylen, &sig, &siglen);
	if (sig_out && !sig) {
		oab_err_set(err, OAB_E_USAGE, "'%s' is not signed: no manifest.sig to export", bundle);
		oab_err_detail(err, OAB_D_NOT_SIGNED, "manifest.sig", -1, NULL, NULL);
		goto out;
	}
	if (write_small(manifest_out, yaml, ylen, err) < 0)
		goto out;
	if (sig_out && write_small(sig_out, sig, siglen, err) < 0)
		goto out;
	rc = 0;
out:
	close_bundle(fd, r);
	return rc;
}

int oab_sign_detached(const char *manifest, const char *existing_sig, const char *sig_out,
		      const struct oab_sign_opts *o, struct oab_err *err)
{
	struct oab_signer *signers = NULL;
	STACK_OF(X509) *chain = NULL;
	STACK_OF(X509_CRL) *crls = NULL;
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
	if (oab_crls_for_signing(o->crl_files, o->n_crl_files, (int64_t)time(NULL), o->warn,
				 o->warn_arg, &crls, err) < 0)
		goto out;
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
			  NULL, o->replace, &der, &der_len, err) < 0 ||
	    oab_cms_der_add_crls(&der, &der_len, crls, err) < 0)
		goto out;
	if (o->tsa_url && oab_tsa_stamp(&der, &der_len, o->tsa_url, o->tsa_timeout, NULL, err) < 0)
		goto out;
	rc = write_small(sig_out, der, der_len, err);
out:
	oab_manifest_free(m);
	CMS_ContentInfo_free(existing);
	oab_signers_free(signers, o->n_signers);
	sk_X509_pop_free(chain, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	free(yaml);
	free(der);
	return rc;
}
