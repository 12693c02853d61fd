/* SPDX-License-Identifier: Apache-2.0 */
/* report.c - verify/inspect results as data (the CLI renders them). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct oab_report *oab_report_new(void)
{
	return calloc(1, sizeof(struct oab_report));
}

int oab_report_add_check(struct oab_report *r, int ok, const char *id, const char *subject,
			 const char *fmt, ...)
{
	struct oab_check *nc;
	va_list ap;

	if (!r)
		return ok;
	nc = realloc(r->checks, (r->n_checks + 1) * sizeof(*nc));
	if (!nc) {
		if (!ok) { /* a failure must never get lost */
			r->n_unrecorded++;
			r->verified = 0;
		}
		return ok;
	}
	r->checks = nc;
	nc = &r->checks[r->n_checks++];
	nc->ok = ok;
	nc->id = strdup(id);
	nc->subject = subject ? strdup(subject) : NULL;
	nc->detail = NULL;
	if (fmt) {
		va_start(ap, fmt);
		if (vasprintf(&nc->detail, fmt, ap) < 0)
			nc->detail = NULL;
		va_end(ap);
	}
	if (nc->detail && subject) {
		size_t n = strlen(subject);

		if (strncmp(nc->detail, "member '", 8) == 0 && strncmp(nc->detail + 8, subject, n) == 0 &&
		    strncmp(nc->detail + 8 + n, "': ", 3) == 0)
			memmove(nc->detail, nc->detail + 11 + n, strlen(nc->detail + 11 + n) + 1);
	}
	if (!ok)
		r->verified = 0;
	return ok;
}

struct oab_signer_report *oab_report_add_signer(struct oab_report *r)
{
	struct oab_signer_report *ns = realloc(r->signers, (r->n_signers + 1) * sizeof(*ns));

	if (!ns)
		return NULL;
	r->signers = ns;
	ns = &r->signers[r->n_signers++];
	memset(ns, 0, sizeof(*ns));
	ns->signing_time = ns->not_before = ns->not_after = -1;
	ns->crl_next_update = ns->revoked_at = -1;
	ns->validation_time = ns->ts_time = -1;
	ns->ts_trusted = -1;
	return ns;
}

void oab_report_free(struct oab_report *r)
{
	if (!r)
		return;
	free(r->format);
	oab_manifest_free(r->manifest);
	for (size_t i = 0; i < r->n_signers; i++) {
		struct oab_signer_report *s = &r->signers[i];

		free(s->subject);
		free(s->issuer);
		free(s->serial);
		free(s->key_type);
		free(s->key_id);
		free(s->note);
		free(s->revocation_note);
		free(s->crl_issuer);
		free(s->revoked_reason);
		free(s->ts_tsa);
	}
	free(r->signers);
	for (size_t i = 0; i < r->n_checks; i++) {
		free(r->checks[i].id);
		free(r->checks[i].subject);
		free(r->checks[i].detail);
	}
	free(r->checks);
	free(r);
}
