/* SPDX-License-Identifier: Apache-2.0 */
/* export.c - oab_export(): an otabundle bundle, verified as verify does,
 * written in the native format of RAUC, SWUpdate or Mender by that
 * format's writer (export_<format>.c), signed again, committed
 * atomically (otabundle-export(5)). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peer.h"

static int verify_input(int fd, const char *bundle, const struct oab_export_opts *o,
			struct oab_manifest **m, struct oab_err *err)
{
	struct oab_report *rep = NULL;
	int rc;

	if (oab_peer_sniff(fd) != OAB_PEER_NONE)
		return oab_err_set(err, OAB_E_USAGE,
				   "'%s': a %s bundle; export reads otabundle bundles only", bundle,
				   oab_peer_name(oab_peer_sniff(fd)));
	rc = oab_verify(fd, bundle, o->verify, &rep, err);
	if (rc == 0 && rep && rep->manifest) {
		*m = rep->manifest; /* verified: the writer may rely on it */
		rep->manifest = NULL;
	} else if (rc == 0) {
		rc = oab_err_set(err, OAB_E_INTERNAL, "'%s': verified without a manifest", bundle);
	}
	oab_report_free(rep);
	if (rc < 0 && err->code == OAB_E_REJECTED)
		oab_err_prefix(err, "refusing to export: ");
	return rc;
}

int oab_export(const char *bundle, const struct oab_export_opts *o, struct oab_err *err)
{
	static int (*const writers[])(struct oab_export_ctx *, struct oab_err *) = {
		[OAB_EXPORT_RAUC] = oab_export_rauc,
		[OAB_EXPORT_SWUPDATE] = oab_export_swupdate,
		[OAB_EXPORT_MENDER] = oab_export_mender,
	};
	struct oab_export_ctx c = {0};
	struct oab_manifest *m = NULL;
	struct oab_signer *signers = NULL;
	STACK_OF(X509) *chain = NULL;
	struct oab_outfile out = {.fd = -1, .dirfd = -1};
	char *dir = NULL;
	int rc = -1, fd = -1;

	if (!o || !o->output || !*o->output)
		return oab_err_set(err, OAB_E_USAGE, "no output given");
	if (o->to < OAB_EXPORT_RAUC || o->to > OAB_EXPORT_MENDER)
		return oab_err_set(err, OAB_E_USAGE, "unknown export format %d", (int)o->to);
	if (!o->verify)
		return oab_err_set(err, OAB_E_USAGE, "no verify options (trust) given for '%s'",
				   bundle);
	if (o->room == OAB_ROOM_NONE && o->n_signers == 0)
		return oab_err_set(err, OAB_E_USAGE, "no signer given");
	if (o->room != OAB_ROOM_NONE && o->n_signers)
		return oab_err_set(err, OAB_E_USAGE, "a signing-room export takes no signer");
	if (o->room == OAB_ROOM_ATTACH && (!o->room_signature || !o->room_signer))
		return oab_err_set(err, OAB_E_USAGE, "attaching needs the signature and its signer's "
				   "certificate or public key");
	if (oab_output_not_input(o->output, bundle, "bundle", err) < 0 ||
	    oab_output_not_signer_input(o->output, o->signers, o->n_signers, o->chain_files,
					o->n_chain_files, err) < 0 ||
	    oab_output_not_input(o->output, o->room_signature, "signature", err) < 0 ||
	    oab_output_not_input(o->output, o->room_signer, "signer's certificate or key", err) < 0)
		return -1;
	fd = open(bundle, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return oab_err_set(err, errno == ENOENT ? OAB_E_USAGE : OAB_E_IO, "bundle '%s': %s",
				   bundle, strerror(errno));
	/* Nothing is loaded, asked for or written before the input verified. */
	if (verify_input(fd, bundle, o, &m, err) < 0)
		goto out;
	if (o->n_signers && oab_signers_load(o->signers, o->n_signers, o->chain_files,
					     o->n_chain_files, o->trust, &signers, &chain, err) < 0)
		goto out;
	if (oab_output_time(o->build_time, m->created, &c.build_time, err) < 0)
		goto out;
	if (!(dir = strdup(o->output))) {
		oab_err_set(err, OAB_E_INTERNAL, "out of memory");
		goto out;
	}
	if (oab_outfile_open(&out, o->output, err) < 0)
		goto out;
	if (lseek(fd, 0, SEEK_SET) < 0) {
		oab_err_set(err, OAB_E_IO, "'%s': %s", bundle, strerror(errno));
		goto out;
	}
	c.bundle_fd = fd;
	c.label = bundle;
	c.vopts = o->verify;
	c.m = m;
	c.signers = signers;
	c.n_signers = o->n_signers;
	c.chain = chain;
	c.out_fd = out.fd;
	c.out_dir = dirname(dir);
	c.opts = o;
	c.warn = o->warn;
	c.warn_arg = o->warn_arg;
	c.progress = o->progress;
	c.progress_arg = o->progress_arg;
	if (writers[o->to](&c, err) < 0 || oab_outfile_commit(&out, err) < 0)
		goto out;
	rc = 0;
out:
	oab_outfile_abort(&out);
	oab_signers_free(signers, o->n_signers);
	sk_X509_pop_free(chain, X509_free);
	oab_manifest_free(m);
	free(dir);
	if (fd >= 0)
		close(fd);
	return rc;
}
