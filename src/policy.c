/* SPDX-License-Identifier: Apache-2.0 */
/* policy.c - compatible, anti-rollback and expiry checks on a manifest
 * whose signature already verified. "now" is injected by the caller. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* The bundle's compatible entries, comma-separated; entries that do not
 * fit in buf are counted instead ("a, b, ... (3 more)"). */
static void compat_list(const struct oab_manifest *m, char *buf, size_t n)
{
	size_t used = 0, i;

	buf[0] = '\0';
	for (i = 0; i < m->n_compatible; i++) {
		size_t len = strlen(m->compatible[i]);

		/* room for this entry, its separator and a "... (N more)" tail */
		if (used + len + 2 + 32 >= n)
			break;
		used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? ", " : "",
					 m->compatible[i]);
	}
	if (i < m->n_compatible)
		snprintf(buf + used, n - used, "%s... (%zu more)", i ? ", " : "",
			 m->n_compatible - i);
}

int oab_policy_check(const struct oab_manifest *m, const struct oab_verify_opts *o,
		     int64_t now, struct oab_report *rep, struct oab_err *err)
{
	int rc = 0;

	if (o->compatible) {
		char list[512];
		int ok = 0;

		for (size_t i = 0; i < m->n_compatible; i++)
			if (strcmp(m->compatible[i], o->compatible) == 0)
				ok = 1;
		compat_list(m, list, sizeof(list));
		oab_report_add_check(rep, ok, "policy.compatible", NULL, "device '%s', bundle [%s]",
				     o->compatible, list);
		if (!ok && rc == 0) {
			oab_err_set(err, OAB_E_REJECTED,
				    "bundle '%s' is not compatible with '%s' (bundle is for: %s)",
				    m->name, o->compatible, list);
			rc = oab_err_detail(err, OAB_D_POLICY_COMPATIBLE, NULL, -1, o->compatible, list);
		}
	}
	if (o->min_security_version >= 0) {
		int ok = m->security_version >= (uint64_t)o->min_security_version;

		oab_report_add_check(rep, ok, "policy.security-version", NULL,
				     "bundle %llu, minimum %lld",
				     (unsigned long long)m->security_version,
				     (long long)o->min_security_version);
		if (!ok && rc == 0) {
			char want[24], have[24];

			snprintf(want, sizeof(want), "%lld", (long long)o->min_security_version);
			snprintf(have, sizeof(have), "%llu", (unsigned long long)m->security_version);
			oab_err_set(err, OAB_E_REJECTED,
				    "security-version %s is below the minimum %s (rollback)", have, want);
			rc = oab_err_detail(err, OAB_D_POLICY_SECURITY_VERSION, NULL, -1, want, have);
		}
	}
	if (m->has_expires) {
		char exp[32], nowb[32];
		int ok = now < m->expires;

		oab_time_format(m->expires, exp);
		oab_time_format(now, nowb);
		oab_report_add_check(rep, ok, "policy.expires", NULL, "expires %s, now %s", exp, nowb);
		if (!ok && rc == 0) {
			oab_err_set(err, OAB_E_REJECTED, "bundle expired at %s (now %s)", exp, nowb);
			rc = oab_err_detail(err, OAB_D_POLICY_EXPIRED, NULL, -1, exp, nowb);
		}
	}
	return rc;
}
