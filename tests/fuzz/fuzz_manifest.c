/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the manifest parser (source and resolved schema) and,
 * for what parses, the emitter and a re-parse of its output. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct oab_err err = {0};
	struct oab_manifest *m = NULL, *again = NULL;
	char *out = NULL;
	size_t len = 0;

	for (int mode = 0; mode < 2; mode++) {
		if (oab_manifest_parse((const char *)data, size, "fuzz", "/nonexistent", (enum oab_manifest_mode)mode,
				       &m, &err) == 0) {
			if (mode == OAB_MANIFEST_RESOLVED && oab_manifest_emit(m, &out, &len, &err) == 0) {
				/* What we emit we must read back. */
				if (oab_manifest_parse(out, len, "emitted", NULL, OAB_MANIFEST_RESOLVED, &again,
						       &err) != 0)
					abort();
				oab_manifest_free(again);
				free(out);
			}
			oab_manifest_free(m);
			m = NULL;
		}
	}
	return 0;
}
