/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the delta decoder (src/delta.c) and the `delta`
 * mapping of the resolved manifest (manifest.c), against a fixed base.
 * Input: a first line "SIZE SEGMENT-SIZE PREFIX-MAX WINDOW-LOG", one line
 * per segment as in the manifest, a line "--", then the member's stored
 * bytes. The harness writes the resolved manifest around them (with the
 * base's real SHA-256 and the member's real chunk hashes, as a signed
 * manifest would have), parses it, and rebuilds the content into a
 * discard sink. tests/fuzz/run.sh makes the seeds from real deltas. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define BASE_SIZE (256 * 1024)
#define CHUNK (64 * 1024)
static int base_fd = -1;
static char base_hex[65];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned char *b = malloc(BASE_SIZE), md[32];
	uint64_t x = 0x9e3779b97f4a7c15u;

	(void)argc;
	(void)argv;
	if (!b)
		abort();
	/* the base of tests/fuzz/run.sh's seeds: the same bytes */
	for (size_t i = 0; i < BASE_SIZE; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (i / 4096) % 3 == 1 ? (unsigned char)("fuzz base text\n"[i % 15])
					    : (unsigned char)(x >> 24);
	}
	base_fd = memfd_create("base", MFD_CLOEXEC);
	if (base_fd < 0 || oab_write_all(base_fd, b, BASE_SIZE) < 0)
		abort();
	if (getenv("OAB_FUZZ_WRITE_BASE")) { /* run.sh: the base its seeds are made against */
		FILE *f = fopen(getenv("OAB_FUZZ_WRITE_BASE"), "wb");

		if (!f || fwrite(b, 1, BASE_SIZE, f) != BASE_SIZE || fclose(f) != 0)
			abort();
		exit(0);
	}
	EVP_Digest(b, BASE_SIZE, md, NULL, EVP_sha256(), NULL);
	oab_hex(md, 32, base_hex);
	free(b);
	return 0;
}

/* Append to a growing string; 0 on success. */
static int add(char **s, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int add(char **s, size_t *len, const char *fmt, ...)
{
	va_list ap;
	char *t;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&t, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	char *p = realloc(*s, *len + (size_t)n + 1);

	if (!p) {
		free(t);
		return -1;
	}
	memcpy(p + *len, t, (size_t)n + 1);
	*s = p;
	*len += (size_t)n;
	free(t);
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const unsigned char *sep = memmem(data, size, "\n--\n", 4), *mem;
	unsigned long long tsize, seg, pmax, wlog;
	struct oab_sink discard = {.kind = OAB_SINK_DISCARD, .fd = -1};
	struct oab_manifest *m = NULL;
	struct oab_err err = {0};
	struct oab_dunpack *d;
	char *text, *y = NULL, *line, *save = NULL, hex[65];
	size_t ylen = 0, mlen;
	int rc = 0;

	if (!sep)
		return 0;
	text = strndup((const char *)data, (size_t)(sep - data));
	mem = sep + 4;
	mlen = size - (size_t)(mem - data);
	if (!text)
		return 0;
	/* one line of text per scalar: no quote, backslash or control byte */
	for (const char *p = text; *p; p++)
		if ((*p != '\n' && (unsigned char)*p < 0x20) || *p == '"' || *p == '\\' ||
		    (unsigned char)*p >= 0x7f)
			goto out;
	line = strtok_r(text, "\n", &save);
	if (!line || sscanf(line, "%llu %llu %llu %llu", &tsize, &seg, &pmax, &wlog) != 4)
		goto out;
	if (add(&y, &ylen,
		"format: 1\nbundle:\n  name: f\n  version: \"1\"\n  security-version: 0\n"
		"  compatible: [f]\n  created: 2026-01-01T00:00:00Z\npayloads:\n- name: rootfs\n"
		"  type: image\n  compression: zstd:19\n  member: payloads/rootfs.zdelta\n"
		"  size: %llu\n  sha256: %064d\n  stored-size: %zu\n  stored-chunk-size: %d\n"
		"  stored-chunks-sha256:\n",
		tsize, 0, mlen, CHUNK) < 0)
		goto out;
	for (size_t at = 0; at < mlen; at += CHUNK) {
		unsigned char md[32];

		EVP_Digest(mem + at, mlen - at < CHUNK ? mlen - at : CHUNK, md, NULL, EVP_sha256(), NULL);
		oab_hex(md, 32, hex);
		if (add(&y, &ylen, "  - %s\n", hex) < 0)
			goto out;
	}
	if (add(&y, &ylen,
		"  delta:\n    encoding: zstd-prefix-copy\n    base-size: %d\n    base-sha256: %s\n"
		"    segment-size: %llu\n    prefix-max: %llu\n    window-log: %llu\n    segments:\n",
		BASE_SIZE, base_hex, seg, pmax, wlog) < 0)
		goto out;
	while ((line = strtok_r(NULL, "\n", &save)))
		if (add(&y, &ylen, "    - \"%s\"\n", line) < 0)
			goto out;
	if (oab_manifest_parse(y, ylen, "fuzz", NULL, OAB_MANIFEST_RESOLVED, &m, &err) < 0)
		goto out;
	d = oab_delta_unpack_new(&m->items[0], base_fd, &discard, &err);
	if (d) {
		for (size_t at = 0; rc == 0 && at < mlen; at += CHUNK)
			rc = oab_delta_unpack_feed(d, mem + at, mlen - at < CHUNK ? mlen - at : CHUNK, &err);
		if (rc == 0)
			oab_delta_unpack_finish(d, &err);
		oab_delta_unpack_free(d);
	}
out:
	oab_manifest_free(m);
	free(y);
	free(text);
	return 0;
}
