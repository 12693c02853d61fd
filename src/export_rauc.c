/* SPDX-License-Identifier: Apache-2.0 */
/* export_rauc.c: an otabundle bundle as a RAUC bundle. */
#include "peer.h"

int oab_export_rauc(struct oab_export_ctx *c, struct oab_err *err)
{
	return oab_err_set(err, OAB_E_USAGE, "%s: export to RAUC is not implemented yet", c->label);
}
