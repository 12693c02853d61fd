/* SPDX-License-Identifier: Apache-2.0 */
/* findbytes FILE PATTERN... - exit 0 if FILE holds any PATTERN (named on
 * stdout), 1 if none, 2 on error. PATTERN "hex:..." is bytes, searched as
 * given and reversed (a big number may sit in memory little-endian);
 * anything else is searched as text. Test infrastructure. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t unhex(const char *h, unsigned char *out, size_t cap)
{
	size_t n = 0;

	while (h[0] && h[1] && n < cap) {
		unsigned v;

		if (sscanf(h, "%2x", &v) != 1)
			return 0;
		out[n++] = (unsigned char)v;
		h += 2;
	}
	return n;
}

int main(int argc, char **argv)
{
	FILE *f;
	unsigned char *data = NULL, pat[4096], rev[4096];
	size_t len = 0, cap = 0, r;
	int found = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: findbytes FILE PATTERN...\n");
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	do {
		if (len == cap) {
			cap = cap ? cap * 2 : 1 << 20;
			data = realloc(data, cap);
			if (!data)
				return 2;
		}
		r = fread(data + len, 1, cap - len, f);
		len += r;
	} while (r > 0);
	fclose(f);
	for (int i = 2; i < argc; i++) {
		size_t n;

		if (strncmp(argv[i], "hex:", 4) == 0) {
			n = unhex(argv[i] + 4, pat, sizeof(pat));
			for (size_t k = 0; k < n; k++)
				rev[k] = pat[n - 1 - k];
			if (n && (memmem(data, len, pat, n) || memmem(data, len, rev, n))) {
				printf("found %s\n", argv[i]);
				found = 1;
			}
		} else if (*argv[i] && memmem(data, len, argv[i], strlen(argv[i]))) {
			printf("found '%s'\n", argv[i]);
			found = 1;
		}
	}
	free(data);
	return found ? 0 : 1;
}
