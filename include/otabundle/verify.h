/* SPDX-License-Identifier: Apache-2.0 */
/* otabundle/verify.h - the verify side of libotabundle: read, check and
 * unpack update bundles (all an on-device updater needs).
 *
 * Conventions (for build.h too)
 *  - Every function that can fail returns 0 on success, -1 on failure and
 *    fills the caller's struct oab_err (see error.h). Nothing here prints,
 *    exits, or keeps global mutable state.
 *  - oab_X_new()/oab_X_free(): the library allocates, the caller frees.
 *    Pointers inside returned structs belong to the struct and are freed
 *    with it; callers must not free or keep them past the _free() call.
 *  - Option structs: zero-initialised means the safest behaviour.
 *  - Strings are NUL-terminated UTF-8. Times are seconds since the epoch.
 */
#ifndef OTABUNDLE_VERIFY_H
#define OTABUNDLE_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "otabundle/error.h"
#include "otabundle/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OAB_VERSION "0.1.0"
#define OAB_FORMAT_VERSION 1

/* Limits applied to everything read (manifests and bundles). */
#define OAB_MAX_MANIFEST_BYTES (4 * 1024 * 1024) /* source or resolved manifest */
#define OAB_MAX_SIG_BYTES (1024 * 1024)      /* manifest.sig */
#define OAB_MAX_SIGNERS 16 /* SignerInfos in manifest.sig, so also the highest threshold */
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
/* Certificate revocation lists (otabundle(1) REVOCATION): a --crl file
 * (build, sign, verify) is at most OAB_MAX_CRL_BYTES; at most
 * OAB_MAX_CRLS of them in all are embedded or added. A bundle's own CRLs
 * count against manifest.sig's certificate limit (32) and size. */
#define OAB_MAX_CRL_BYTES (1024 * 1024)
#define OAB_MAX_CRLS 32


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

/* One setting of the manifest's optional `export:` map
 * (otabundle-manifest(5) EXPORT): export.FORMAT.KEY (item NULL) or
 * export.FORMAT.items.ITEM.KEY, for the native formats of
 * otabundle-export(5). Signed like the rest of the manifest. */
struct oab_export_setting {
	char *format;  /* "rauc", "swupdate", "mender" */
	char *item;    /* an item's name, or NULL for the bundle */
	char *key;
	char **values; /* n_values strings; a scalar has one */
	size_t n_values;
	int list;      /* written as a list */
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
	struct oab_export_setting *exports; /* the `export:` map, in manifest order */
	size_t n_exports;
};

OAB_API void oab_manifest_free(struct oab_manifest *m);

/* The export setting format/item/key (item NULL: a bundle-level key), or
 * NULL when the manifest does not set it (the format's default applies). */
OAB_API const struct oab_export_setting *oab_export_find(const struct oab_manifest *m,
							 const char *format, const char *item,
							 const char *key);

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

/* Warnings (not errors) the library wants the user to see. */
typedef void (*oab_warn_fn)(void *arg, const char *msg);

/* Progress callback: done and total bytes of the current phase. */
typedef void (*oab_progress_fn)(void *arg, const char *phase, uint64_t done,
				uint64_t total);

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
/* Add the CRLs of a PEM file to those a bundle carries (otabundle(1)
 * REVOCATION); each counts only when its issuer's signature on it
 * verifies. At most OAB_MAX_CRLS in all (OAB_E_USAGE). */
OAB_API int oab_trust_add_crl(struct oab_trust *t, const char *pem_path,
		      struct oab_err *err);
OAB_API size_t oab_trust_count(const struct oab_trust *t);
OAB_API void oab_trust_free(struct oab_trust *t);

/* ------------------------------------------------------------------ */
/* Verify, inspect, extract                                            */

/* What verify and extract require of a bundle. The contract: a
 * zero-initialised struct (= {0}) is the strictest setting, and every
 * field only ever relaxes or adds a check when set:
 *  - trust: the anchors; NULL or empty refuses every bundle (OAB_E_USAGE,
 *    detail OAB_D_NO_ANCHOR): there is no "accept anything" setting.
 *  - now: the time certificates and `expires` are judged at; 0 (or
 *    less) is the current time, never 1970.
 *  - min_security_version: bundles below it are refused (rollback);
 *    0 is the natural floor (every bundle is at least 0). A negative
 *    value leaves the check out of the report.
 *  - threshold: distinct trusted keys that must have signed; 0 means 1.
 *  - allow_weak: 0 refuses SHA-1 and RSA below 2048 bits (otabundle(1)
 *    ALGORITHM POLICY); 1 accepts them for old bundles.
 *  - check_revocation: 1 requires a current CRL for every certificate
 *    below the anchor in each signer's chain (otabundle(1) REVOCATION);
 *    0 still rejects a certificate that an available CRL revokes.
 *  - compatible: NULL does not check the device name (there is no safe
 *    default name); set it to the device's name to refuse bundles made
 *    for other devices.
 * Signature, trust, `expires` and every member's sizes and hashes are
 * always checked; no field turns them off. */
struct oab_verify_opts {
	const struct oab_trust *trust; /* required: see above */
	const char *compatible;        /* NULL: not checked */
	int64_t min_security_version;  /* 0: the natural floor; < 0: not reported */
	int64_t now;                   /* 0 (or less): the current time */
	unsigned threshold;            /* distinct trusted keys needed; 0 = 1 */
	int allow_weak;                /* 0: refuse weak algorithms (default) */
	int check_revocation;          /* 1: require current CRLs */
	oab_progress_fn progress;      /* may be NULL */
	void *progress_arg;
	/* Anchors (oab_trust_add_ca) of the time-stamping authorities whose
	 * RFC 3161 tokens are trusted. A signer with a token that verifies
	 * against them (TSA chain with timeStamping EKU, imprint of this
	 * signature, the token's signature) is judged at the token's
	 * genTime instead of now; one whose token does not verify is not
	 * trusted. NULL: no timestamp is trusted (tokens are reported only). */
	const struct oab_trust *tsa_trust;
};

struct oab_extract_opts {
	const char *dir;               /* target folder (must exist) */
	const char *const *names;      /* items to write; n_names == 0: all */
	size_t n_names;
	int force;                     /* replace existing files; 0: refuse */
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
	/* Revocation of the signer's validated chain (otabundle(1) REVOCATION) */
	enum oab_revocation {
		OAB_REV_NOT_CHECKED = 0, /* no CRL available and none required, pinned, inspect */
		OAB_REV_GOOD,            /* a current CRL for each certificate, none revoked */
		OAB_REV_REVOKED,         /* revoked_at, revoked_reason */
		OAB_REV_NO_CRL,          /* no current CRL for some certificate */
	} revocation;
	char *revocation_note;   /* why, may be NULL */
	char *crl_issuer;        /* GOOD: issuer of the signer certificate's CRL */
	int64_t crl_next_update; /* GOOD: earliest nextUpdate of the CRLs used; else -1 */
	int64_t revoked_at;      /* REVOKED: revocationDate; else -1 */
	char *revoked_reason;    /* REVOKED: "keyCompromise", "superseded", ... */
	/* The time this signer's chain was judged at and where it came
	 * from: "clock", "given" (opts->now) or "tsa" (a trusted RFC 3161
	 * token's genTime); NULL, validation_time -1: not judged (inspect). */
	const char *time_source;
	int64_t validation_time;
	int has_timestamp; /* carries an RFC 3161 token (id-aa-timeStampToken) */
	int64_t ts_time;   /* its genTime; -1: none or unreadable */
	char *ts_tsa;      /* its TSA's subject (unverified unless ts_trusted) */
	int ts_trusted;    /* 1 verified against tsa_trust, 0 refused or malformed, -1 not checked */
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
	/* "otabundle", or the peer format audited: "rauc", "swupdate",
	 * "mender" (otabundle-export(5)); owned by the report */
	char *format;
	struct oab_manifest *manifest; /* NULL if it could not be read */
	int signed_bundle;             /* manifest.sig present */
	struct oab_signer_report *signers;
	size_t n_signers;
	struct oab_check *checks;
	size_t n_checks;
	size_t trusted_keys; /* distinct trusted keys with valid signatures */
	int verified;        /* 1 if every check passed */
	size_t n_unrecorded; /* failed checks that could not be recorded (out
			      * of memory): the bundle is then never verified */
};

OAB_API void oab_report_free(struct oab_report *r);

/* The convenience calls below run the streaming reader (oab_reader_*)
 * to the end, checking every member even after a content error so the
 * report names each bad one.
 *
 * Verify the bundle read from fd (read sequentially from its current
 * position; label names it in messages). Signature and trust first, then
 * policy, then every member as it streams past (a discard sink). Returns 0 if the bundle
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
 * bytes that were checked: each chosen item goes to an anonymous temp
 * file in xo->dir (zero blocks left as holes, O_DIRECT where possible),
 * and all of them are put in place in one step after the last member
 * checked out (a failure puts back what was replaced). An existing entry
 * is refused (OAB_E_IO, OAB_D_EXISTS) unless xo->force. */
OAB_API int oab_extract(int fd, const char *label, const struct oab_verify_opts *opts,
		const struct oab_extract_opts *xo, struct oab_report **report,
		struct oab_err *err);

/* ------------------------------------------------------------------ */
/* The streaming reader                                                */

/* One pass over a bundle read sequentially from an fd, the way an
 * updater installs it:
 *
 *   oab_reader_open(fd, label, &opts, &r, &err);  reads manifest.yaml and
 *       manifest.sig (bounded) and parses nothing
 *   oab_reader_authenticate(r, &err);  signature, trust, then the signed
 *       manifest is parsed and the policy (opts) applied
 *   while (oab_reader_next(r, &item, &err) == 1)  each member in bundle
 *       order, its name and stored size checked against the manifest
 *       oab_reader_read(r, sink, &err);  its content into a sink: a
 *           compressed member chunk by chunk, each chunk checked before
 *           it is decoded; a member stored as is only at its end (so a
 *           sink must drop what it got when this fails)
 *   oab_reader_free(r);
 *
 * Nothing reaches a sink other than oab_sink_discard() unless
 * oab_reader_authenticate() succeeded. A compressed member is checked
 * one stored chunk at a time against the signed manifest before it is
 * decompressed; its content's size and SHA-256 are checked at its end.
 * oab_reader_read() returns 0 only if the whole member matched: on
 * failure the bytes a sink already received must be thrown away (an
 * updater marks the slot invalid). The bundle as a whole is good only
 * once oab_reader_next() returned 0 (no member missing or extra, a clean
 * end of archive).
 * An item not read by the time oab_reader_next() is called again is
 * read into a discard sink (checked, not kept). After a content error
 * (OAB_D_CHUNK_HASH, OAB_D_CONTENT_HASH, OAB_D_MEMBER_SIZE) the archive
 * is still in step and oab_reader_next() may go on (verify does, to
 * report every bad member); after any other error it fails again.
 * Not thread-safe: one reader is used by one thread at a time. */
struct oab_reader; /* opaque; oab_reader_open() allocates, oab_reader_free() frees */
struct oab_sink;   /* opaque; the oab_sink_*() constructors allocate, oab_sink_free() frees */

/* Start reading the bundle at fd (its current position; the fd stays
 * the caller's, read sequentially, never closed). label names it in
 * messages (NULL: "bundle"). opts is copied; NULL is the same as a
 * zero-initialised struct (the strictest setting, see above), and
 * opts->trust must stay valid until oab_reader_free(). *out receives the
 * reader, also on most failures (its report then holds the failed
 * check): always call oab_reader_free(*out) (NULL is fine). Errors:
 * OAB_E_REJECTED (not a bundle, limits), OAB_E_IO, OAB_E_INTERNAL. */
OAB_API int oab_reader_open(int fd, const char *label, const struct oab_verify_opts *opts,
			    struct oab_reader **out, struct oab_err *err);

/* Check the signature and the signers' trust (no anchor: OAB_E_USAGE,
 * OAB_D_NO_ANCHOR; unsigned: OAB_D_NOT_SIGNED), then parse the signed
 * manifest and apply the policy (compatible, security version, expiry).
 * Returns 0 only if all of it passed; call once. */
OAB_API int oab_reader_authenticate(struct oab_reader *r, struct oab_err *err);

/* The signed manifest once authenticated (or once its signature checked
 * out even if the policy failed); NULL before. Owned by the reader. */
OAB_API const struct oab_manifest *oab_reader_manifest(const struct oab_reader *r);

/* Every check made so far (also after a failure). Owned by the reader:
 * valid until oab_reader_free(). */
OAB_API const struct oab_report *oab_reader_report(const struct oab_reader *r);

/* Step to the next member. Returns 1 with *item (owned by the reader's
 * manifest) when there is one, 0 when every item was seen and the
 * archive ended cleanly (nothing extra, nothing after the end), -1 on
 * error. */
OAB_API int oab_reader_next(struct oab_reader *r, const struct oab_item **item,
			    struct oab_err *err);

/* Read the current item's content into sink (see the reader comment for
 * when the bytes are good). The sink stays the caller's. */
OAB_API int oab_reader_read(struct oab_reader *r, struct oab_sink *sink, struct oab_err *err);

OAB_API void oab_reader_free(struct oab_reader *r);

/* Sinks. Each constructor returns NULL only when out of memory.
 * discard: the content is checked and dropped (what verify does).
 * fd: written with pwrite from offset 0 of fd, every byte (no holes, no
 *     truncation: fd may be a block device standing for a slot); the fd
 *     must be seekable and stays the caller's (not closed, not synced).
 *     A compressed item is written on a thread of its own, with O_DIRECT
 *     where the file system takes it (fd's flags are restored after).
 * callback: fn(arg, buf, n) gets the content in order, in pieces of any
 *     size; a non-zero return stops the read (OAB_E_IO). buf is only
 *     valid during the call. */
typedef int (*oab_sink_fn)(void *arg, const void *buf, size_t n);
OAB_API struct oab_sink *oab_sink_discard(void);
OAB_API struct oab_sink *oab_sink_fd(int fd);
OAB_API struct oab_sink *oab_sink_callback(oab_sink_fn fn, void *arg);
OAB_API void oab_sink_free(struct oab_sink *s);

#ifdef __cplusplus
}
#endif
#endif
