/* SPDX-License-Identifier: Apache-2.0 */
/* test_report.c - src/report.c and the check ids of src/policy.c: every
 * check has a stable id and a subject, its detail does not repeat the
 * subject, and a report frees cleanly. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "otabundle/otabundle.h"
#include "internal.h"

static void test_add_check(void **state)
{
	struct oab_report *r = oab_report_new();

	(void)state;
	assert_non_null(r);
	r->verified = 1;
	assert_int_equal(oab_report_add_check(r, 1, "signature", "signer 1", "valid (%s)", "CN=x"), 1);
	assert_int_equal(r->n_checks, 1);
	assert_string_equal(r->checks[0].id, "signature");
	assert_string_equal(r->checks[0].subject, "signer 1");
	assert_string_equal(r->checks[0].detail, "valid (CN=x)");
	assert_int_equal(r->verified, 1);
	/* A failed check clears verified; no subject and no detail are NULL. */
	assert_int_equal(oab_report_add_check(r, 0, "threshold", NULL, NULL), 0);
	assert_int_equal(r->verified, 0);
	assert_null(r->checks[1].subject);
	assert_null(r->checks[1].detail);
	oab_report_free(r);
	/* No report: the result is still returned. */
	assert_int_equal(oab_report_add_check(NULL, 0, "manifest", NULL, "x"), 0);
}

static void test_subject_once(void **state)
{
	struct oab_report *r = oab_report_new();

	(void)state;
	assert_non_null(r);
	/* The reader's message starts with the member: shown once. */
	oab_report_add_check(r, 0, "member-hash", "payloads/app.zst", "%s",
			     "member 'payloads/app.zst': stored chunk 0 sha256 mismatch");
	assert_string_equal(r->checks[0].detail, "stored chunk 0 sha256 mismatch");
	/* Another member's name, a prefix of it, or no quote: kept as is. */
	oab_report_add_check(r, 0, "member-hash", "payloads/app", "%s",
			     "member 'payloads/app.zst': x");
	assert_string_equal(r->checks[1].detail, "member 'payloads/app.zst': x");
	oab_report_add_check(r, 0, "member-order", "a", "member 'a' missing");
	assert_string_equal(r->checks[2].detail, "member 'a' missing");
	oab_report_add_check(r, 0, "member-size", "a", "member 'a': ");
	assert_string_equal(r->checks[3].detail, "");
	oab_report_free(r);
}

/* A manifest with these compatible entries, options asking for "device". */
static void policy_setup(struct oab_manifest *m, struct oab_verify_opts *o, char **compat,
			 size_t n, const char *device)
{
	memset(m, 0, sizeof(*m));
	memset(o, 0, sizeof(*o));
	m->name = (char *)"demo";
	m->version = (char *)"1";
	m->compatible = compat;
	m->n_compatible = n;
	o->compatible = device;
	o->min_security_version = -1;
}

/* Run the policy, which must fail; the caller frees the report. */
static struct oab_report *policy_fails(const struct oab_manifest *m,
				       const struct oab_verify_opts *o, int64_t now,
				       struct oab_err *err)
{
	struct oab_report *r = oab_report_new();

	assert_non_null(r);
	assert_int_equal(oab_policy_check(m, o, now, r, err), -1);
	assert_int_equal(err->code, OAB_E_REJECTED);
	return r;
}

static void test_policy_ids(void **state)
{
	static char *compat[] = {(char *)"board-a", (char *)"board-b", (char *)"board-c"};
	struct oab_manifest m;
	struct oab_verify_opts o;
	struct oab_report *r;
	struct oab_err err = {0};

	(void)state;
	policy_setup(&m, &o, compat, 3, "board-x");
	m.security_version = 3;
	m.has_expires = 1;
	m.expires = 2000;
	o.min_security_version = 4;
	r = policy_fails(&m, &o, 1000, &err);
	assert_int_equal(r->n_checks, 3);
	assert_string_equal(r->checks[0].id, "policy.compatible");
	assert_string_equal(r->checks[1].id, "policy.security-version");
	assert_string_equal(r->checks[2].id, "policy.expires");
	for (int i = 0; i < 3; i++)
		assert_null(r->checks[i].subject);
	/* Every entry is listed, with two or more of them. */
	assert_string_equal(r->checks[0].detail, "device 'board-x', bundle [board-a, board-b, board-c]");
	assert_non_null(strstr(err.msg, "(bundle is for: board-a, board-b, board-c)"));
	/* The first failure's detail, with what was asked and what is there. */
	assert_int_equal(err.detail, OAB_D_POLICY_COMPATIBLE);
	assert_string_equal(err.expected, "board-x");
	assert_string_equal(err.found, "board-a, board-b, board-c");
	oab_report_free(r);
	/* each policy check alone: its detail, expected and found */
	policy_setup(&m, &o, compat, 3, "board-a");
	m.security_version = 3;
	o.min_security_version = 4;
	r = policy_fails(&m, &o, 1000, &err);
	assert_int_equal(err.detail, OAB_D_POLICY_SECURITY_VERSION);
	assert_string_equal(err.expected, "4");
	assert_string_equal(err.found, "3");
	oab_report_free(r);
	policy_setup(&m, &o, compat, 3, NULL);
	m.has_expires = 1;
	m.expires = 2000;
	r = policy_fails(&m, &o, 3000, &err);
	assert_int_equal(err.detail, OAB_D_POLICY_EXPIRED);
	assert_string_equal(err.expected, "1970-01-01T00:33:20Z");
	assert_string_equal(err.found, "1970-01-01T00:50:00Z");
	oab_report_free(r);
}

static void test_policy_list_bounded(void **state)
{
	enum { N = 200 };
	static char name[N][40];
	static char *compat[N];
	struct oab_manifest m;
	struct oab_verify_opts o;
	struct oab_report *r;
	struct oab_err err = {0};

	(void)state;
	for (int i = 0; i < N; i++) {
		snprintf(name[i], sizeof(name[i]), "board-with-a-long-name-%03d", i);
		compat[i] = name[i];
	}
	policy_setup(&m, &o, compat, N, "other");
	r = policy_fails(&m, &o, 0, &err);
	/* A long list is cut, and says how many entries were left out. */
	assert_true(strlen(r->checks[0].detail) < 600);
	assert_non_null(strstr(r->checks[0].detail, "board-with-a-long-name-000, "));
	assert_non_null(strstr(r->checks[0].detail, " more)]"));
	assert_non_null(strstr(err.msg, " more))"));
	oab_report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_check),
		cmocka_unit_test(test_subject_once),
		cmocka_unit_test(test_policy_ids),
		cmocka_unit_test(test_policy_list_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
