/* SPDX-License-Identifier: Apache-2.0 */
/* peer_swupdate.c: audit of SWUpdate bundles (verify and inspect). */
#include "peer.h"

int oab_swu_audit(int fd, const char *label, const struct oab_verify_opts *o,
	struct oab_report *rep, int check, struct oab_err *err)
{
	(void)fd;
	(void)o;
	(void)rep;
	(void)check;
	return oab_err_set(err, OAB_E_USAGE, "%s: SWUpdate bundles cannot be audited yet", label);
}
