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
#include "peer_swupdate.h"

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

typedef int (*export_writer)(struct oab_export_ctx *, struct oab_err *);

/* oab_export: verify, then run writer into output. */
static int export_run(const char *bundle, const struct oab_export_opts *o, export_writer writer,
		      struct oab_err *err)
{
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
	/* In a signing room (o->room; RAUC: rauc_unsigned) nothing is signed
	 * here: the room's signature stands for the signers. */
	if (o->room == OAB_ROOM_NONE && !o->rauc_unsigned && o->n_signers == 0)
		return oab_err_set(err, OAB_E_USAGE, "no signer given");
	if ((o->room != OAB_ROOM_NONE || o->rauc_unsigned) && o->n_signers)
		return oab_err_set(err, OAB_E_USAGE, "a signing-room export takes no signer");
	if (o->room == OAB_ROOM_ATTACH && !o->room_signature)
		return oab_err_set(err, OAB_E_USAGE, "attaching needs the signature made in the room");
	if (o->room == OAB_ROOM_ATTACH && o->to == OAB_EXPORT_MENDER && !o->room_signer)
		return oab_err_set(err, OAB_E_USAGE, "attaching to a Mender artifact needs the "
				   "certificate or public key of the key that made the signature");
	if (!writer)
		return oab_err_set(err, OAB_E_USAGE, "this format's signing room is not oab_export's "
				   "room (RAUC: rauc_unsigned, then oab_export_attach)");
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
	if (!m) { /* verify_input gives a manifest whenever it returns 0 */
		oab_err_set(err, OAB_E_INTERNAL, "'%s': verified without a manifest", bundle);
		goto out;
	}
	/* A delta payload needs its base to be rebuilt: no peer installs one. */
	for (size_t i = 0; i < m->n_items; i++)
		if (m->items[i].delta) {
			oab_err_set(err, OAB_E_USAGE,
				    "'%s': payload '%s' is a delta (otabundle-format(5) DELTA ENCODING), "
				    "which %s cannot install: export a bundle with full payloads",
				    bundle, m->items[i].name, o->to == OAB_EXPORT_RAUC ? "RAUC"
				    : o->to == OAB_EXPORT_SWUPDATE ? "SWUpdate" : "Mender");
			goto out;
		}
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
	if (writer(&c, err) < 0 || oab_outfile_commit(&out, err) < 0)
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

int oab_export(const char *bundle, const struct oab_export_opts *o, struct oab_err *err)
{
	static const export_writer writers[] = {
		[OAB_EXPORT_RAUC] = oab_export_rauc,
		[OAB_EXPORT_SWUPDATE] = oab_export_swupdate,
		[OAB_EXPORT_MENDER] = oab_export_mender,
	};
	/* the room's first step: the bytes the format signs (a format without
	 * an entry has its own room, or none) */
	static const export_writer tbs[] = {
		[OAB_EXPORT_SWUPDATE] = oab_export_tbs_swupdate,
		[OAB_EXPORT_MENDER] = oab_export_mender,
	};
	int known = o && o->to >= OAB_EXPORT_RAUC && o->to <= OAB_EXPORT_MENDER;

	if (known && o->room == OAB_ROOM_TBS)
		return export_run(bundle, o, (size_t)o->to < sizeof(tbs) / sizeof(tbs[0]) ? tbs[o->to] : NULL,
				  err);
	if (known && o->room == OAB_ROOM_ATTACH && o->to == OAB_EXPORT_RAUC)
		return export_run(bundle, o, NULL, err);
	return export_run(bundle, o, known ? writers[o->to] : NULL, err);
}
