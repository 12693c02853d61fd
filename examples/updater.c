/* SPDX-License-Identifier: Apache-2.0 */
/* updater.c - a minimal on-device updater on libotabundle's verify side.
 *
 *   updater CA.pem BUNDLE PAYLOAD SLOT [BASE]
 *
 * Opens BUNDLE, authenticates it against the anchors in CA.pem (signature,
 * trust, expiry), and streams the payload named PAYLOAD into the file SLOT
 * (standing in for an A/B slot: a block device on a real device). SLOT is
 * opened only after the bundle authenticated, so nothing is written for a
 * bundle that did not; it counts as installed only if every member of the
 * bundle checked out. Prints one line at the end: "installed NAME VERSION"
 * or "refused: WHY". Exit 0 installed, 1 refused.
 * A delta payload (otabundle(1) DELTA BUNDLES) is rebuilt from BASE, the
 * content it was made against (on a device: the active slot, read only);
 * the library checks BASE's signed size and SHA-256 before decoding.
 *
 * Uses only the public API (#include <otabundle/verify.h>); build it with
 * `make examples` or against an installed library:
 *   cc updater.c $(pkg-config --cflags --libs otabundle)
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <otabundle/verify.h>

int main(int argc, char **argv)
{
	struct oab_verify_opts opts = {0}; /* zero: the strictest setting */
	struct oab_err err = {0};
	struct oab_trust *trust = NULL;
	struct oab_reader *r = NULL;
	struct oab_sink *sink = NULL;
	const struct oab_manifest *m;
	const struct oab_item *it;
	int fd = -1, slot = -1, base = -1, st, found = 0, ok = 0;

	if (argc != 5 && argc != 6) {
		fputs("usage: updater CA.pem BUNDLE PAYLOAD SLOT [BASE]\n", stderr);
		return 2;
	}
	trust = oab_trust_new();
	if (!trust || oab_trust_add_ca(trust, argv[1], &err) < 0)
		goto out;
	opts.trust = trust;
	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err.msg, sizeof(err.msg), "%s: cannot open", argv[2]);
		goto out;
	}
	if (oab_reader_open(fd, argv[2], &opts, &r, &err) < 0 ||
	    oab_reader_authenticate(r, &err) < 0)
		goto out;
	if (argc == 6) {
		base = open(argv[5], O_RDONLY | O_CLOEXEC);
		if (base < 0) {
			snprintf(err.msg, sizeof(err.msg), "%s: cannot open the base", argv[5]);
			goto out;
		}
		if (oab_reader_set_base(r, argv[3], base, &err) < 0)
			goto out;
	}
	/* Authenticated: only now is the slot touched. */
	slot = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (slot < 0 || !(sink = oab_sink_fd(slot))) {
		snprintf(err.msg, sizeof(err.msg), "%s: cannot open the slot", argv[4]);
		goto out;
	}
	while ((st = oab_reader_next(r, &it, &err)) == 1) {
		if (strcmp(it->name, argv[3]) != 0)
			continue; /* checked by the next call, not kept */
		if (oab_reader_read(r, sink, &err) < 0)
			goto out;
		found = 1;
	}
	if (st < 0)
		goto out;
	if (!found) {
		snprintf(err.msg, sizeof(err.msg), "no payload named '%s'", argv[3]);
		goto out;
	}
	if (fsync(slot) < 0) {
		snprintf(err.msg, sizeof(err.msg), "%s: fsync failed", argv[4]);
		goto out;
	}
	ok = 1;
out:
	m = r ? oab_reader_manifest(r) : NULL;
	if (ok)
		printf("installed %s %s\n", m->name, m->version);
	else /* a real updater would also mark the slot invalid here */
		printf("refused: %s\n", err.msg[0] ? err.msg : "out of memory");
	oab_sink_free(sink);
	oab_reader_free(r);
	oab_trust_free(trust);
	if (slot >= 0)
		close(slot);
	if (base >= 0)
		close(base);
	if (fd >= 0)
		close(fd);
	return ok ? 0 : 1;
}
