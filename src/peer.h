/* SPDX-License-Identifier: Apache-2.0 */
/* peer.h: the native formats of RAUC, SWUpdate and Mender: audit of their
 * bundles (verify and inspect) and export of ours (otabundle-export(5)).
 *
 * Files: src/peer.c (sniffing, dispatch; verify side), src/peer_<fmt>.c
 * (audit of one format: full library only, as it links libsquashfs and
 * libconfig; libotabundle-verify gets src/verify-only/peer_stub.c),
 * src/export.c + src/export_<fmt>.c (export: build side). */
#ifndef OAB_PEER_H
#define OAB_PEER_H

#include "internal.h"

enum oab_peer { OAB_PEER_NONE = 0, OAB_PEER_RAUC, OAB_PEER_SWUPDATE, OAB_PEER_MENDER };

/* The format of the file open at fd, by its content (pread only: the
 * position is unchanged). OAB_PEER_NONE: not a peer bundle (an otabundle
 * bundle, or something the reader will refuse), or fd cannot be read at
 * an offset (a pipe). */
enum oab_peer oab_peer_sniff(int fd);
/* "rauc", "swupdate", "mender"; "otabundle" for OAB_PEER_NONE. */
const char *oab_peer_name(enum oab_peer p);

/* Audit one peer bundle (fd read from its start; regular file).
 * check=1: verify: the signature and chain (CMS) or pinned key (Mender)
 * against o->trust, every payload hash, the format's own consistency
 * rules; check=0: inspect: parse and describe, trust not judged,
 * payloads not read. rep (allocated by the caller) is filled: format,
 * manifest (synthesised from the peer's manifest), signers, checks,
 * verified. Returns 0 if it verified (check=1) or could be read
 * (check=0); else -1 with err set (OAB_E_REJECTED for a bad bundle).
 * Memory does not grow with payload size; every size read from the file
 * is bounded before anything is allocated. */
typedef int (*oab_peer_audit_fn)(int fd, const char *label, const struct oab_verify_opts *o,
				 struct oab_report *rep, int check, struct oab_err *err);
int oab_rauc_audit(int fd, const char *label, const struct oab_verify_opts *o,
		   struct oab_report *rep, int check, struct oab_err *err);
int oab_swu_audit(int fd, const char *label, const struct oab_verify_opts *o,
		  struct oab_report *rep, int check, struct oab_err *err);
int oab_mender_audit(int fd, const char *label, const struct oab_verify_opts *o,
		     struct oab_report *rep, int check, struct oab_err *err);

/* Dispatch for oab_verify/oab_inspect: a new report in *report (may be
 * NULL: dropped), filled by the format's audit. */
int oab_peer_audit(enum oab_peer p, int fd, const char *label, const struct oab_verify_opts *o,
		   int check, struct oab_report **report, struct oab_err *err);

/* Export: what oab_export() hands a format's writer, after the whole
 * bundle verified as verify does (export.c). */
struct oab_export_ctx {
	int bundle_fd;          /* the verified bundle: lseek(0) and read it again
				 * with oab_reader_open(..., vopts, ...); the
				 * reader re-checks every chunk as it streams */
	const char *label;
	const struct oab_verify_opts *vopts;
	const struct oab_manifest *m; /* the verified manifest, with m->exports */
	struct oab_signer *signers;   /* loaded and judged */
	size_t n_signers;
	STACK_OF(X509) *chain;        /* intermediates to embed; may be NULL */
	int out_fd;                   /* temp output beside the target: the
				       * whole export goes here; committed
				       * (fsync, rename) when the writer returns 0 */
	const char *out_dir;          /* the output's folder, for more temp files */
	int64_t build_time;           /* $SOURCE_DATE_EPOCH, else the bundle's created
				       * time: every time written into the export */
	const struct oab_export_opts *opts;
	oab_warn_fn warn;
	void *warn_arg;
	oab_progress_fn progress;
	void *progress_arg;
};

int oab_export_rauc(struct oab_export_ctx *c, struct oab_err *err);
int oab_export_swupdate(struct oab_export_ctx *c, struct oab_err *err);
int oab_export_mender(struct oab_export_ctx *c, struct oab_err *err);

#endif
