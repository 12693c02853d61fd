/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the CMS parser and trust evaluation. Each input is a
 * manifest.sig over a fixed manifest ($OAB_FUZZ_MANIFEST, the seeds'
 * signed bytes); it is parsed, checked as attach-signature does, then
 * judged against a canned trust store: the test CA ($OAB_FUZZ_CA) and a
 * pinned signer ($OAB_FUZZ_TRUST), with the algorithm policy strict and
 * relaxed (revocation required with the relaxed one, so the CRLs a
 * signature carries are judged; RFC 3161 tokens in the unsigned attributes
 * checked against the CA as TSA anchor), and described as inspect does. A verdict of "trusted" with
 * fewer trusted keys than asked for is a bug (abort). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>

#include "internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static struct oab_trust *by_ca, *by_pin;
static char *manifest;
static size_t manifest_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *ca = getenv("OAB_FUZZ_CA"), *pin = getenv("OAB_FUZZ_TRUST");
	const char *m = getenv("OAB_FUZZ_MANIFEST");
	struct oab_err err = {0};

	(void)argc;
	(void)argv;
	by_ca = oab_trust_new();
	by_pin = oab_trust_new();
	if (!by_ca || !by_pin || !ca || !pin || !m || oab_trust_add_ca(by_ca, ca, &err) < 0 ||
	    oab_trust_add_pinned(by_pin, pin, &err) < 0 ||
	    oab_read_file(m, OAB_MAX_MANIFEST_BYTES, &manifest, &manifest_len, &err) < 0) {
		fprintf(stderr, "fuzz_cms: set OAB_FUZZ_CA, OAB_FUZZ_TRUST and OAB_FUZZ_MANIFEST (%s)\n",
			err.msg);
		exit(2);
	}
	return 0;
}

static void judge(const struct oab_trust *t, CMS_ContentInfo *cms, unsigned threshold,
		  int allow_weak)
{
	struct oab_report *rep = oab_report_new();
	struct oab_err err = {0};
	/* The test CA doubles as the TSA anchor: each SignerInfo's unsigned
	 * attributes (an RFC 3161 token) are parsed and checked. */
	struct oab_verify_opts vo = {.now = 1800000000, .tsa_trust = by_ca, .check_revocation = allow_weak};
	int rc;

	if (!rep)
		abort();
	rc = oab_trust_evaluate(t, cms, (const unsigned char *)manifest, manifest_len, 1800000000,
				threshold, allow_weak, &vo, rep, &err);
	if (t && rc == 0 && rep->trusted_keys < threshold)
		abort();
	if (rc < 0 && err.code == OAB_OK)
		abort(); /* a failure always says why */
	if (ERR_peek_error())
		abort(); /* and leaves no OpenSSL errors behind */
	oab_report_free(rep);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct oab_err err = {0};
	struct oab_keyids ids;
	CMS_ContentInfo *cms = oab_cms_parse(data, size, &err);

	if (!cms) {
		if (err.code != OAB_E_REJECTED)
			abort();
		ERR_clear_error();
		return 0;
	}
	if (oab_cms_check(cms, (const unsigned char *)manifest, manifest_len, &ids, &err) == 0)
		free(ids.id);
	judge(NULL, cms, 1, 0);
	judge(by_ca, cms, 1, 0);
	judge(by_ca, cms, 1, 1);
	judge(by_pin, cms, 1, 0);
	judge(by_pin, cms, 2, 1);
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return 0;
}
