/* SPDX-License-Identifier: Apache-2.0 */
/* otabundle/otabundle.h - build, sign, verify, inspect and extract update
 * bundles (libotabundle's public interface).
 *
 * Conventions
 *  - Every function that can fail returns 0 on success, -1 on failure and
 *    fills the caller's struct oab_err (see error.h). Nothing here prints,
 *    exits, or keeps global mutable state.
 *  - oab_X_new()/oab_X_free(): the library allocates, the caller frees.
 *    Pointers inside returned structs belong to the struct and are freed
 *    with it; callers must not free or keep them past the _free() call.
 *  - Strings are NUL-terminated UTF-8. Times are seconds since the epoch.
 */
#ifndef OTABUNDLE_OTABUNDLE_H
#define OTABUNDLE_OTABUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "otabundle/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OAB_VERSION "0.1.0"
#define OAB_FORMAT_VERSION 1

/* Limits applied to everything read (manifests and bundles). */
#define OAB_MAX_MANIFEST_BYTES (4 * 1024 * 1024) /* source or resolved manifest */
#define OAB_MAX_SIG_BYTES (1024 * 1024)      /* manifest.sig */
/* manifest.sig may end with fewer than this many zero bytes after the
 * DER: build pads it so the members start on a 4 KiB boundary. */
#define OAB_SIG_PAD_MAX 4096
#define OAB_MAX_ITEMS 1024                   /* payloads + scripts + sbom */
#define OAB_MAX_NAME 64                      /* item name length */
#define OAB_MAX_YAML_DEPTH 16
#define OAB_MAX_YAML_NODES 100000
#define OAB_MAX_SCALAR (64 * 1024)
#define OAB_ZSTD_WINDOWLOG_MAX 27 /* 128 MiB decoder window at most */
/* Compressed members are hashed in chunks (stored-chunk-size), so a reader
 * can check each chunk before the decompressor sees it, with one chunk of
 * memory and no temporary copy. A power of two in this range: */
#define OAB_CHUNK_MIN (64 * 1024)
#define OAB_CHUNK_MAX (16 * 1024 * 1024)
#define OAB_CHUNK_DEFAULT (1024 * 1024) /* doubled while an item has > 2048 */

/* ------------------------------------------------------------------ */
/* Manifest                                                            */

enum oab_item_kind { OAB_ITEM_PAYLOAD, OAB_ITEM_SCRIPT, OAB_ITEM_SBOM };
enum oab_compression { OAB_COMP_NONE, OAB_COMP_ZSTD };

/* One payload, script or SBOM. */
struct oab_item {
	enum oab_item_kind kind;
	char *name;   /* unique in the bundle: [A-Za-z0-9][A-Za-z0-9._-]{0,63} */
	char *type;   /* payload: "image" | "archive" | "file"; else NULL */
	char *slot;   /* payload: target slot, optional (NULL) */
	char *hook;   /* script: "pre-install" | "post-install"; else NULL */
	char *source; /* build: path of the input file; NULL when read from a bundle */
	/* build: the source as written in the manifest (relative to the
	 * manifest's folder), and "FILE:LINE:COL: key 'payloads[0].source'"
	 * for messages; NULL when read from a bundle (or not parsed: then
	 * source alone is used) */
	char *source_raw;
	char *source_where;
	enum oab_compression compression;
	int level;    /* zstd level when compression == OAB_COMP_ZSTD */
	char *member; /* member name in the bundle, e.g. "payloads/rootfs.zst" */
	uint64_t size;                  /* content bytes */
	unsigned char sha256[32];       /* content SHA-256 */
	uint64_t stored_size;           /* bytes of the member as stored */
	unsigned char stored_sha256[32]; /* compression none: equals sha256 */
	/* zstd: SHA-256 of each chunk_size piece of the stored member (the
	 * last may be shorter); n_chunks = ceil(stored_size / chunk_size).
	 * chunk_sha256 is owned by the item (freed by oab_manifest_free). */
	uint32_t chunk_size;
	size_t n_chunks;
	unsigned char (*chunk_sha256)[32];
	int line; /* line in the manifest where the item starts (for messages) */
	int level_line, level_col; /* where `compression` is written; 0 if absent */
};

struct oab_meta {
	char *key;
	char *value;
};

struct oab_manifest {
	int format; /* always OAB_FORMAT_VERSION */
	char *name;
	char *version;
	char *description; /* NULL if absent */
	uint64_t security_version;
	char **compatible;
	size_t n_compatible;
	int has_expires;
	int64_t expires;
	int has_created;
	int64_t created; /* build time (resolved manifests) */
	struct oab_meta *meta; /* free-form bundle.meta, in manifest order */
	size_t n_meta;
	struct oab_item *items; /* bundle order: payloads, scripts, sbom */
	size_t n_items;
	char *source_dir; /* SOURCE mode: the folder sources are confined to */
};

enum oab_manifest_mode {
	OAB_MANIFEST_SOURCE,   /* a user's manifest: sources, no hashes */
	OAB_MANIFEST_RESOLVED, /* the one inside a bundle: hashes, no sources */
};

/* Parse a manifest held in memory. label names it in messages (e.g. the
 * file name). basedir: folder that sources are resolved against and, at
 * build time, confined to (SOURCE mode only; NULL = current folder). On success *out is a new
 * manifest owned by the caller (oab_manifest_free). Errors: OAB_E_USAGE,
 * text "LABEL:LINE:COL: ..." naming the key and what was expected. */
OAB_API int oab_manifest_parse(const char *buf, size_t len, const char *label,
		       const char *basedir, enum oab_manifest_mode mode,
		       struct oab_manifest **out, struct oab_err *err);

/* Read and parse a user's manifest file; "-" reads standard input, with
 * sources relative to the current folder. */
OAB_API int oab_manifest_load(const char *path, struct oab_manifest **out,
		      struct oab_err *err);

/* Emit the resolved manifest (the exact bytes that get signed). *buf is
 * malloc'd and owned by the caller. Deterministic for equal input. */
OAB_API int oab_manifest_emit(const struct oab_manifest *m, char **buf, size_t *len,
		      struct oab_err *err);

OAB_API void oab_manifest_free(struct oab_manifest *m);

/* Find an item by name; NULL if none. */
OAB_API const struct oab_item *oab_manifest_find(const struct oab_manifest *m,
					 const char *name);

/* Parse / format RFC 3339 times ("2027-06-30T00:00:00Z", offsets allowed).
 * Every time otabundle reads or writes (manifest times, SOURCE_DATE_EPOCH,
 * build_time, tar member times) lies from 0 to OAB_TIME_MAX; parse refuses
 * anything outside. */
#define OAB_TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
OAB_API int oab_time_parse(const char *s, int64_t *out);
OAB_API void oab_time_format(int64_t t, char buf[32]);

/* ------------------------------------------------------------------ */
/* Keys and signers                                                    */

/* Warnings (not errors) the library wants the user to see. */
typedef void (*oab_warn_fn)(void *arg, const char *msg);

/* Where one signer's key and certificate come from. key and cert are PEM
 * file paths or RFC 7512 "pkcs11:" URIs (cert: type=cert). pass is the
 * passphrase source of an encrypted PEM key, pin the token PIN source:
 * "env:VAR", "file:PATH" or "fd:N", never a literal; NULL prompts on a
 * terminal (a PKCS#11 URI's pin-source also works for pin; a pin-value,
 * in the query or the path, is refused like any literal). An unreadable,
 * closed, empty or non-regular (file:) source is OAB_E_IO, found before
 * any login attempt. Secrets are wiped after use and locked in memory
 * where the limit allows; no pin-value or pin-source value is ever put
 * in a message.
 * module: PKCS#11 module path (NULL: the URI's module-path, else
 * p11-kit's proxy). */
struct oab_signer_spec {
	const char *key;
	const char *cert;
	const char *pass;
	const char *pin;
	const char *module;
	oab_warn_fn warn; /* may be NULL */
	void *warn_arg;
};

/* Progress callback: done and total bytes of the current phase. */
typedef void (*oab_progress_fn)(void *arg, const char *phase, uint64_t done,
				uint64_t total);

/* ------------------------------------------------------------------ */
/* Build                                                               */

struct oab_trust;

struct oab_build_opts {
	const char *output;                   /* bundle path (required) */
	/* file m was read from (NULL or "-": none); like every source, key,
	 * certificate and chain file it may not be the output (OAB_E_USAGE) */
	const char *manifest_path;
	const struct oab_signer_spec *signers; /* n_signers == 0: unsigned */
	size_t n_signers;
	const char *const *chain_files; /* PEM files of intermediates to embed */
	size_t n_chain_files;
	int threads;        /* zstd workers; <= 0: all online CPUs */
	int64_t build_time; /* < 0: $SOURCE_DATE_EPOCH, else the current time */
	/* Anchors (see oab_trust_new) the signers must verify against, now, as
	 * verify would judge them, before anything is written (OAB_E_KEY
	 * otherwise). NULL: what verify would reject whatever the anchors
	 * (expired or not yet valid certificate, no codeSigning, an issuer not
	 * embedded) only reaches each signer spec's warn callback. */
	const struct oab_trust *trust;
	oab_progress_fn progress;
	void *progress_arg;
	/* Folders sources may also be read from (and their symlinks lead
	 * to); none: only beneath m->source_dir. Never from a manifest. */
	const char *const *source_roots;
	size_t n_source_roots;
	/* zstd levels from OAB_ZSTD_ULTRA_MIN (20) to 22 use windows up to
	 * 128 MiB and GiBs of memory (zstd's --ultra): 0 refuses an item at
	 * such a level (OAB_E_USAGE), 1 allows it and calls warn with the
	 * memory estimate (oab_zstd_mem_estimate) before compressing it. */
	int ultra;
	/* Bundle warnings (expires already past, the ultra memory estimate);
	 * may be NULL. */
	oab_warn_fn warn;
	void *warn_arg;
};

#define OAB_ZSTD_ULTRA_MIN 20

/* Rough peak memory in bytes of compressing content_size bytes at zstd
 * level with threads workers (content_size 0: unknown, assume large):
 * per worker, zstd's compression context for that level and size
 * (ZSTD_estimateCCtxSize_usingCParams), plus the input zstd holds for
 * the jobs in flight, (threads + 3) jobs of 4 windows, at most the whole
 * content. Level 22, 1 GiB, 2 workers: about 2.3 GiB. */
OAB_API uint64_t oab_zstd_mem_estimate(int level, uint64_t content_size, int threads);

/* Compress and hash every item of m (filling sizes and hashes in m), sign
 * the resolved manifest and write the bundle atomically to opts->output
 * (temp file beside it, fsync, rename). On failure the output path keeps
 * its previous content or stays absent.
 * Sources are read only beneath m->source_dir and opts->source_roots: a
 * path (absolute, "..", symlink) leading elsewhere, and a FIFO, socket,
 * device or folder, are refused (OAB_E_USAGE) before any key is loaded.
 * A source whose size, mtime, ctime or inode changes while it is read is
 * refused (OAB_E_IO, "changed while being read").
 * The library does not change process state: an embedding program that
 * holds secrets should itself call prctl(PR_SET_DUMPABLE, 0) and set
 * RLIMIT_CORE to 0 (the otabundle CLI does, for build and sign), and may
 * call oab_tmpfiles_unlink() from its SIGINT/SIGTERM/SIGHUP handlers. */
OAB_API int oab_build(struct oab_manifest *m, const struct oab_build_opts *opts,
	      struct oab_err *err);

/* Remove the named temporary outputs the library has open (only where
 * O_TMPFILE is not available is an output's temp file named). Async-
 * signal-safe: meant for an embedding program's handler of SIGINT,
 * SIGTERM and SIGHUP, before it ends the process. */
OAB_API void oab_tmpfiles_unlink(void);

/* ------------------------------------------------------------------ */
/* Sign an existing bundle; signing rooms                              */

struct oab_sign_opts {
	const char *output; /* NULL: replace the input bundle (atomically) */
	const struct oab_signer_spec *signers;
	size_t n_signers;
	const char *const *chain_files;
	size_t n_chain_files;
	int replace;        /* drop the existing signers first (key rotation) */
	const char *attach; /* oab_sign: use this CMS file (DER or PEM) as the
			     * new manifest.sig instead of signing here */
	const struct oab_trust *trust; /* as in struct oab_build_opts */
	oab_progress_fn progress; /* oab_sign: called as members are copied */
	void *progress_arg;
};

/* Add signers to a bundle (unsigned or signed) without changing
 * manifest.yaml or any payload member: members are copied byte for byte
 * and their stored hashes checked. Existing signatures must be valid; a
 * key that already signed is refused (OAB_E_USAGE). With opts->attach, the
 * given signature must cover exactly this bundle's manifest and, unless
 * replace, keep every existing signer. Output is written atomically;
 * output == bundle is safe. */
OAB_API int oab_sign(const char *bundle, const struct oab_sign_opts *opts,
	     struct oab_err *err);

/* Signing room, step 1: write the bundle's manifest.yaml bytes (and its
 * manifest.sig, if sig_out is not NULL) to files. */
OAB_API int oab_export_manifest(const char *bundle, const char *manifest_out,
			const char *sig_out, struct oab_err *err);

/* Signing room, step 2: sign an exported manifest alone (adding to
 * existing_sig unless opts->replace), writing a detached CMS (DER) to
 * sig_out. Step 3 is oab_sign() with opts->attach = sig_out. */
OAB_API int oab_sign_detached(const char *manifest, const char *existing_sig,
		      const char *sig_out, const struct oab_sign_opts *opts,
		      struct oab_err *err);

/* ------------------------------------------------------------------ */
/* Trust anchors                                                       */

struct oab_trust;

OAB_API struct oab_trust *oab_trust_new(void); /* NULL on out of memory */
/* Add every certificate of a PEM file as a trust anchor (root or
 * intermediate; a signer's chain must end at one of them). */
OAB_API int oab_trust_add_ca(struct oab_trust *t, const char *pem_path,
		     struct oab_err *err);
/* Pin signer certificates or public keys (PEM): a signature by one of
 * these keys is trusted without any chain. */
OAB_API int oab_trust_add_pinned(struct oab_trust *t, const char *pem_path,
			 struct oab_err *err);
OAB_API size_t oab_trust_count(const struct oab_trust *t);
OAB_API void oab_trust_free(struct oab_trust *t);

/* ------------------------------------------------------------------ */
/* Verify, inspect, extract                                            */

struct oab_verify_opts {
	const struct oab_trust *trust; /* required for verify/extract */
	const char *compatible;        /* NULL: not checked */
	int64_t min_security_version;  /* < 0: not checked */
	int64_t now;                   /* < 0: current time */
	unsigned threshold;            /* distinct trusted keys needed; 0 = 1 */
	int allow_weak;                /* 1: accept SHA-1 and RSA 1024-2047 (old
					* bundles); 0: refuse (otabundle(1)) */
	oab_progress_fn progress;
	void *progress_arg;
};

struct oab_extract_opts {
	const char *dir;               /* target folder (must exist) */
	const char *const *names;      /* items to write; n_names == 0: all */
	size_t n_names;
	int force;                     /* replace existing files */
};

struct oab_signer_report {
	char *subject;
	char *issuer;
	char *serial;     /* hex */
	char *key_type;   /* "EC P-256", "RSA-3072", "Ed25519", ... */
	char *key_id;     /* hex SHA-256 of the DER SubjectPublicKeyInfo */
	int64_t signing_time; /* -1 if the signer gave none */
	int64_t not_before;
	int64_t not_after;
	int signature_ok; /* 1 valid, 0 invalid, -1 not checked (inspect) */
	int trusted;      /* 1 trusted and counted, 0 not, -1 not checked */
	char *note;       /* why (untrusted, duplicate key, ...), may be NULL */
};

/* One check made by verify/extract. id is stable across releases (the
 * list is in otabundle-json(5)): "signature", "trust", "threshold",
 * "manifest", "policy.compatible", "policy.security-version",
 * "policy.expires", "member-order", "member-size", "member-read",
 * "member-hash", "extra-members". subject says what it was made on: a
 * signer ("signer 2") or a member name; NULL when the id says it all.
 * detail is human text (expected vs found) and may change. */
struct oab_check {
	char *id;
	char *subject; /* may be NULL */
	int ok;
	char *detail;  /* may be NULL */
};

struct oab_report {
	struct oab_manifest *manifest; /* NULL if it could not be read */
	int signed_bundle;             /* manifest.sig present */
	struct oab_signer_report *signers;
	size_t n_signers;
	struct oab_check *checks;
	size_t n_checks;
	size_t trusted_keys; /* distinct trusted keys with valid signatures */
	int verified;        /* 1 if every check passed */
};

OAB_API void oab_report_free(struct oab_report *r);

/* Verify the bundle read from fd (read sequentially from its current
 * position; label names it in messages). Signature and trust first, then
 * policy, then every member as it streams past. Returns 0 if the bundle
 * verified. *report (may be NULL) receives every check made, also on
 * failure when anything was read; caller frees it. */
OAB_API int oab_verify(int fd, const char *label, const struct oab_verify_opts *opts,
	       struct oab_report **report, struct oab_err *err);

/* Read metadata and signers without judging trust; payloads are not
 * read. report->verified is always 0. */
OAB_API int oab_inspect(int fd, const char *label, struct oab_report **report,
		struct oab_err *err);

/* Verify, then write the chosen items (decompressed) into xo->dir. Nothing
 * is written unless the whole bundle verifies; the bytes written are the
 * bytes that were checked. */
OAB_API int oab_extract(int fd, const char *label, const struct oab_verify_opts *opts,
		const struct oab_extract_opts *xo, struct oab_report **report,
		struct oab_err *err);

#ifdef __cplusplus
}
#endif
#endif
