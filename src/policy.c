/* policy.c - compatible, anti-rollback and expiry checks on a manifest
 * whose signature already verified. "now" is injected by the caller. */
#include <string.h>

#include "internal.h"

int oab_policy_check(const struct oab_manifest *m, const struct oab_verify_opts *o,
		     int64_t now, struct oab_report *rep, struct oab_err *err)
{
	int rc = 0;

	if (o->compatible) {
		int ok = 0;

		for (size_t i = 0; i < m->n_compatible; i++)
			if (strcmp(m->compatible[i], o->compatible) == 0)
				ok = 1;
		oab_report_check(rep, ok, "policy compatible", "device '%s', bundle [%s%s]",
				 o->compatible, m->compatible[0], m->n_compatible > 1 ? ", ..." : "");
		if (!ok && rc == 0)
			rc = oab_err_set(err, OAB_E_REJECTED,
					 "bundle '%s' is not compatible with '%s' (bundle is for: %s%s)",
					 m->name, o->compatible, m->compatible[0],
					 m->n_compatible > 1 ? ", ..." : "");
	}
	if (o->min_security_version >= 0) {
		int ok = m->security_version >= (uint64_t)o->min_security_version;

		oab_report_check(rep, ok, "policy security-version", "bundle %llu, minimum %lld",
				 (unsigned long long)m->security_version,
				 (long long)o->min_security_version);
		if (!ok && rc == 0)
			rc = oab_err_set(err, OAB_E_REJECTED,
					 "security-version %llu is below the minimum %lld (rollback)",
					 (unsigned long long)m->security_version,
					 (long long)o->min_security_version);
	}
	if (m->has_expires) {
		char exp[32], nowb[32];
		int ok = now < m->expires;

		oab_time_format(m->expires, exp);
		oab_time_format(now, nowb);
		oab_report_check(rep, ok, "policy expires", "expires %s, now %s", exp, nowb);
		if (!ok && rc == 0)
			rc = oab_err_set(err, OAB_E_REJECTED, "bundle expired at %s (now %s)", exp, nowb);
	}
	return rc;
}
