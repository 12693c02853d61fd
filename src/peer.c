/* SPDX-License-Identifier: Apache-2.0 */
/* peer.c: which format a file is, and the dispatch to its audit. */
#define _GNU_SOURCE
#include "peer.h"

#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *oab_peer_name(enum oab_peer p)
{
	switch (p) {
	case OAB_PEER_RAUC: return "rauc";
	case OAB_PEER_SWUPDATE: return "swupdate";
	case OAB_PEER_MENDER: return "mender";
	default: return "otabundle";
	}
}

static int pread_full(int fd, void *buf, size_t n, off_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = pread(fd, (char *)buf + got, n - got, off + (off_t)got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

enum oab_peer oab_peer_sniff(int fd)
{
	unsigned char h[512];
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || pread_full(fd, h, 6, 0) < 0)
		return OAB_PEER_NONE;
	/* SWUpdate: a cpio archive, newc or crc (a .swu starts with its
	 * sw-description member) */
	if (memcmp(h, "070701", 6) == 0 || memcmp(h, "070702", 6) == 0)
		return OAB_PEER_SWUPDATE;
	/* RAUC: squashfs (little-endian magic "hsqs") ... CMS, then the CMS
	 * size as a big-endian uint64 */
	if (memcmp(h, "hsqs", 4) == 0 && st.st_size > 4096 + 8)
		return OAB_PEER_RAUC;
	/* Mender: a tar whose first member is `version` (ours starts with
	 * manifest.yaml) */
	if (st.st_size >= 512 && pread_full(fd, h, 512, 0) == 0 &&
	    memcmp(h + 257, "ustar", 5) == 0 && strncmp((char *)h, "version", 100) == 0)
		return OAB_PEER_MENDER;
	return OAB_PEER_NONE;
}

int oab_peer_audit(enum oab_peer p, int fd, const char *label, const struct oab_verify_opts *o,
		   int check, struct oab_report **report, struct oab_err *err)
{
	struct oab_report *rep = oab_report_new();
	oab_peer_audit_fn fn = p == OAB_PEER_RAUC	 ? oab_rauc_audit
			       : p == OAB_PEER_SWUPDATE ? oab_swu_audit
							: oab_mender_audit;
	int rc;

	if (report)
		*report = NULL;
	if (!rep)
		return oab_err_set(err, OAB_E_INTERNAL, "out of memory");
	rc = fn(fd, label, o, rep, check, err);
	if (!rep->format)
		rep->format = oab_strdup(oab_peer_name(p));
	if (rc < 0 || !check || rep->n_unrecorded)
		rep->verified = 0;
	if (report)
		*report = rep;
	else
		oab_report_free(rep);
	return rc;
}
