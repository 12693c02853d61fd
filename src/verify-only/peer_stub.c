/* SPDX-License-Identifier: Apache-2.0 */
/* peer_stub.c: libotabundle-verify reads otabundle bundles only; the
 * audit of RAUC, SWUpdate and Mender bundles (libsquashfs, libconfig)
 * is in libotabundle. */
#include "peer.h"

static int no_peer(const char *label, const char *what, struct oab_err *err)
{
	return oab_err_set(err, OAB_E_USAGE,
			   "%s: a %s bundle; libotabundle-verify reads otabundle bundles only "
			   "(use libotabundle or the otabundle command)", label, what);
}

int oab_rauc_audit(int fd, const char *label, const struct oab_verify_opts *o,
		   struct oab_report *rep, int check, struct oab_err *err)
{
	(void)fd, (void)o, (void)rep, (void)check;
	return no_peer(label, "RAUC", err);
}

int oab_swu_audit(int fd, const char *label, const struct oab_verify_opts *o,
		  struct oab_report *rep, int check, struct oab_err *err)
{
	(void)fd, (void)o, (void)rep, (void)check;
	return no_peer(label, "SWUpdate", err);
}

int oab_mender_audit(int fd, const char *label, const struct oab_verify_opts *o,
		     struct oab_report *rep, int check, struct oab_err *err)
{
	(void)fd, (void)o, (void)rep, (void)check;
	return no_peer(label, "Mender", err);
}
