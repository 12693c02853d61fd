/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: RAUC's manifest.raucm parser (the audit reads it from
 * a signed CMS or, for inspect of a plain bundle, from an unauthenticated
 * squashfs). What parses must hold what the parser promises. */
#include <stdlib.h>
#include <string.h>

#include "peer_rauc.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct oab_err err = {0};
	struct oab_raucm m;

	if (oab_raucm_parse((const char *)data, size, "fuzz", &m, &err) == 0) {
		if (!m.compatible || m.n_images > OAB_RAUC_MAX_IMAGES)
			abort();
		for (size_t i = 0; i < m.n_images; i++)
			if (!m.images[i].filename || !m.images[i].has_sha256 || !m.images[i].has_size)
				abort();
		oab_raucm_release(&m);
	} else if (!err.msg[0] || strchr(err.msg, '\n')) {
		abort(); /* every refusal is one line */
	}
	return 0;
}
