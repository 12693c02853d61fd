/* SPDX-License-Identifier: Apache-2.0 */
/* export_mender.c: an otabundle bundle as a Mender bundle. */
#include "peer.h"

int oab_export_mender(struct oab_export_ctx *c, struct oab_err *err)
{
	return oab_err_set(err, OAB_E_USAGE, "%s: export to Mender is not implemented yet", c->label);
}
