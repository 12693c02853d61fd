/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the bundle reader. Each input is read as a bundle by
 * inspect, then by verify with a pinned test key ($OAB_FUZZ_TRUST, the key
 * the seed bundles are signed with) so that mutations of payload members
 * get past the signature, then by extract into a scratch folder. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static struct oab_trust *trust;
static char scratch[] = "/tmp/oab-fuzz-XXXXXX";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *pin = getenv("OAB_FUZZ_TRUST");
	struct oab_err err = {0};

	(void)argc;
	(void)argv;
	trust = oab_trust_new();
	if (!pin || oab_trust_add_pinned(trust, pin, &err) < 0) {
		fprintf(stderr, "fuzz_bundle: set OAB_FUZZ_TRUST to the seeds' signer certificate (%s)\n",
			err.msg);
		exit(2);
	}
	if (!mkdtemp(scratch))
		exit(2);
	return 0;
}

static int memfd_of(const unsigned char *data, size_t size)
{
	int fd = memfd_create("bundle", MFD_CLOEXEC);

	if (fd < 0 || oab_write_all(fd, data, size) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		abort();
	return fd;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct oab_verify_opts vo = {.trust = trust, .min_security_version = -1, .now = 1800000000};
	struct oab_extract_opts xo = {.dir = scratch, .force = 1};
	struct oab_report *rep = NULL;
	struct oab_err err = {0};
	int fd;

	fd = memfd_of(data, size);
	oab_inspect(fd, "fuzz", &rep, &err);
	oab_report_free(rep);
	close(fd);

	fd = memfd_of(data, size);
	oab_verify(fd, "fuzz", &vo, &rep, &err);
	oab_report_free(rep);
	close(fd);

	fd = memfd_of(data, size);
	if (oab_extract(fd, "fuzz", &vo, &xo, &rep, &err) != 0 && rep && rep->verified)
		abort(); /* a failed extract never reports a verified bundle */
	oab_report_free(rep);
	close(fd);
	return 0;
}
