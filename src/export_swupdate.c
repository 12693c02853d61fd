/* SPDX-License-Identifier: Apache-2.0 */
/* export_swupdate.c: an otabundle bundle as a SWUpdate bundle. */
#include "peer.h"

int oab_export_swupdate(struct oab_export_ctx *c, struct oab_err *err)
{
	return oab_err_set(err, OAB_E_USAGE, "%s: export to SWUpdate is not implemented yet", c->label);
}
