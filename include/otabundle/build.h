/* SPDX-License-Identifier: Apache-2.0 */
/* otabundle/build.h - the build side of libotabundle: load and emit
 * manifests, build, sign and attach signatures (the signing machine's
 * part; an updater needs only verify.h). Conventions: see verify.h.
 */
#ifndef OTABUNDLE_BUILD_H
#define OTABUNDLE_BUILD_H

#include "otabundle/verify.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Manifests                                                           */

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


/* ------------------------------------------------------------------ */
/* Signers                                                             */

/* Where one signer's key and certificate come from. key and cert are PEM
 * file paths or RFC 7512 "pkcs11:" URIs (cert: type=cert). pass is the
 * passphrase source of an encrypted PEM key, pin the token PIN source:
 * "env:VAR", "file:PATH" or "fd:N", never a literal; NULL asks
 * get_secret (a PKCS#11 URI's pin-source also works for pin; a pin-value,
 * in the query or the path, is refused like any literal). An unreadable,
 * closed, empty or non-regular (file:) source is OAB_E_IO, found before
 * any login attempt. Secrets are wiped after use and locked in memory
 * where the limit allows; no pin-value or pin-source value is ever put
 * in a message.
 * module: PKCS#11 module path (NULL: the URI's module-path, else
 * p11-kit's proxy).
 * get_secret: asked for a passphrase or PIN that no source gives (the
 * library never prompts; a program may ask its user here). NULL: such a
 * key fails with OAB_E_KEY and detail OAB_D_PASSPHRASE_NEEDED or
 * OAB_D_PIN_NEEDED. */
enum oab_secret_kind { OAB_SECRET_PASSPHRASE = 1, OAB_SECRET_PIN = 2 };
/* Write the secret for label (a key file, or a token URI without its
 * pin-* attributes) into buf, NUL-terminated, at most size - 1 bytes:
 * buf is the library's locked, non-dumpable memory, wiped after use.
 * Return its length, or -1 if none is given (OAB_E_KEY). */
typedef int (*oab_secret_fn)(void *arg, enum oab_secret_kind kind, const char *label,
			     char *buf, size_t size);
struct oab_signer_spec {
	const char *key;
	const char *cert;
	const char *pass;
	const char *pin;
	const char *module;
	oab_warn_fn warn; /* may be NULL */
	void *warn_arg;
	oab_secret_fn get_secret; /* may be NULL */
	void *secret_arg;
};

/* ------------------------------------------------------------------ */
/* Build                                                               */

/* Zero-initialised build and sign options are the safe defaults: no
 * extra source roots, no zstd --ultra levels, all online CPUs, the time
 * from $SOURCE_DATE_EPOCH or the clock, existing signers kept (replace
 * 0); outputs are always written atomically. What must be given: output
 * (build), signers or attach (sign). */
struct oab_build_opts {
	const char *output;                   /* bundle path (required) */
	/* file m was read from (NULL or "-": none); like every source, key,
	 * certificate and chain file it may not be the output (OAB_E_USAGE) */
	const char *manifest_path;
	const struct oab_signer_spec *signers; /* n_signers == 0: unsigned */
	size_t n_signers;
	const char *const *chain_files; /* PEM files of intermediates to embed */
	size_t n_chain_files;
	/* PEM files of CRLs to embed in the signature's crls field (otabundle(1)
	 * REVOCATION); each must parse (OAB_E_USAGE), one past its nextUpdate
	 * goes to warn. At most OAB_MAX_CRLS. */
	const char *const *crl_files;
	size_t n_crl_files;
	int threads;        /* zstd workers; <= 0: all online CPUs */
	/* the bundle's `created` time and member times: 0 (or less):
	 * $SOURCE_DATE_EPOCH if set, else the current time */
	int64_t build_time;
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
	/* RFC 3161 time-stamping authority (http:// or https:// URL): each
	 * signature gets a token over its value, stored as the unsigned
	 * attribute id-aa-timeStampToken. NULL: no timestamps. A TSA that is
	 * down, slow (tsa_timeout seconds; <= 0: OAB_TSA_TIMEOUT_DEFAULT) or
	 * answers wrongly fails the call (OAB_E_IO) and nothing is written. */
	const char *tsa_url;
	int tsa_timeout;
	/* Delta bundles (otabundle(1) DELTA BUNDLES): a bundle holding the
	 * previous release. It is verified against trust (required:
	 * OAB_E_USAGE without) before anything is written; each payload of m
	 * without delta-from that has a full payload of the same name in it
	 * is stored as a delta against that payload's content. NULL: none. */
	const char *base_bundle;
};

#define OAB_TSA_TIMEOUT_DEFAULT 30

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
	const char *const *crl_files; /* as in struct oab_build_opts */
	size_t n_crl_files;
	oab_warn_fn warn;             /* CRL warnings; may be NULL */
	void *warn_arg;
	int replace;        /* drop the existing signers first (key rotation) */
	const char *attach; /* oab_sign: use this CMS file (DER or PEM) as the
			     * new manifest.sig instead of signing here */
	const struct oab_trust *trust; /* as in struct oab_build_opts */
	oab_progress_fn progress; /* oab_sign: called as members are copied */
	void *progress_arg;
	/* as in struct oab_build_opts; every signature of the result that
	 * has no token yet gets one */
	const char *tsa_url;
	int tsa_timeout;
};

/* Add signers to a bundle (unsigned or signed) without changing
 * manifest.yaml or any payload member: members are copied byte for byte
 * through the reader (oab_reader_*), every stored and content hash
 * checked as verify checks them. An existing signature must be valid
 * over the manifest bytes (also with replace) before any of it is
 * parsed: a tampered manifest is refused as a bad signature
 * (OAB_E_REJECTED, OAB_D_SIGNATURE). A key that already signed is
 * refused (OAB_E_USAGE, OAB_D_ALREADY_SIGNED). With opts->attach, the
 * given signature must cover exactly this bundle's manifest and, unless
 * replace, keep every existing signer (else OAB_D_SIGNER_DROPPED).
 * Output is written atomically; output == bundle is safe. */
OAB_API int oab_sign(const char *bundle, const struct oab_sign_opts *opts,
	     struct oab_err *err);

/* Add RFC 3161 tokens from opts->tsa_url (required) to every signature
 * of a signed bundle that has none, changing nothing else: manifest.yaml
 * and every member byte for byte, each SignerInfo byte for byte but for
 * its new unsigned attribute. The existing signature must be valid over
 * the manifest and every hash is checked first, as in oab_sign. Only
 * output, tsa_url, tsa_timeout and progress of opts are used. Output is
 * written atomically (NULL: replace the bundle). */
OAB_API int oab_timestamp(const char *bundle, const struct oab_sign_opts *opts,
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
/* Export to the native formats of other updaters                      */

enum oab_export_to { OAB_EXPORT_RAUC = 1, OAB_EXPORT_SWUPDATE, OAB_EXPORT_MENDER };

/* otabundle-export(5). What must be given: output, to, verify (with its
 * trust: the input is verified exactly as oab_verify does, and nothing
 * is written unless it verifies), signers. Zero elsewhere is the
 * default: the format's default variant, defaults derived from the
 * manifest where export: does not say. */
struct oab_export_opts {
	const char *output;           /* the native bundle (written atomically) */
	enum oab_export_to to;
	const struct oab_verify_opts *verify; /* how the input bundle is verified */
	const struct oab_signer_spec *signers; /* sign the export (as build) */
	size_t n_signers;
	const char *const *chain_files; /* intermediates to embed (formats with CMS) */
	size_t n_chain_files;
	const struct oab_trust *trust;  /* as in struct oab_build_opts */
	int64_t build_time; /* <= 0: $SOURCE_DATE_EPOCH, else the bundle's created time */
	oab_warn_fn warn;   /* may be NULL */
	void *warn_arg;
	oab_progress_fn progress;
	void *progress_arg;
	/* Signing room (otabundle-export(5)) of SWUpdate and Mender (RAUC's
	 * is rauc_unsigned below, then oab_export_attach): OAB_ROOM_TBS
	 * writes the exact bytes the format signs to output instead of the
	 * export (SWUpdate: sw-description; Mender: manifest; no signer is
	 * given or loaded); OAB_ROOM_ATTACH writes the export with the
	 * signature in the file room_signature, made elsewhere over those
	 * bytes (SWUpdate: a detached DER CMS, its signers judged against
	 * trust if given; Mender: a raw signature by the key of room_signer,
	 * a PEM certificate or public key), checked before anything is
	 * written. The bytes are the same for the same bundle and
	 * build_time. */
	enum oab_export_room { OAB_ROOM_NONE = 0, OAB_ROOM_TBS, OAB_ROOM_ATTACH } room;
	const char *room_signature;
	const char *room_signer;
	/* ---- RAUC ---- */
	int rauc_plain; /* 1: 'plain' (detached CMS over the squashfs); 0: the
			 * manifest's export.rauc.format, else 'verity' */
	/* Signing room, step 1 (no signers): output gets the unsigned bundle
	 * (squashfs, verity: and hash tree), which 'plain' signs as it is;
	 * verity: rauc_tbs gets the manifest.raucm the CMS must carry. Step 2:
	 * sign those bytes (openssl cms -sign -binary -nosmimecap, -nodetach
	 * for verity); step 3: oab_export_attach(). */
	int rauc_unsigned;
	const char *rauc_tbs;
	/* ---- SWUpdate ---- */
	int swupdate_crc;   /* 1: cpio crc (070702, a byte sum per member); 0: newc */
	/* ---- Mender ---- */
	/* How the payload (and header) are compressed in the artifact:
	 * GZIP (0, the default) and XZ are what mender-artifact 3.9 reads;
	 * ZSTD needs mender-artifact/the client >= 3.10; NONE stores a plain
	 * tar. The payload is re-encoded from its verified content. */
	enum oab_mender_compression {
		OAB_MENDER_GZIP = 0,
		OAB_MENDER_XZ,
		OAB_MENDER_ZSTD,
		OAB_MENDER_NONE,
	} mender_compression;
	int mender_level; /* gzip 1-9, xz 0-9, zstd 1-19; 0: 6 for gzip and xz, 3 for zstd */
};

/* Verify bundle (opts->verify), then write it in opts->to's native
 * format from the verified member bytes, signed by opts->signers, to
 * opts->output atomically (temp file beside it, fsync, rename); the
 * output may not be the bundle or any key, certificate or chain file. */
OAB_API int oab_export(const char *bundle, const struct oab_export_opts *opts,
		       struct oab_err *err);

/* Signing room, step 3: a signature made in the room (DER CMS; RAUC) for
 * an unsigned export (step 1 above) written as the final native bundle to
 * output (NULL: replace unsigned_bundle), atomically, only after the whole
 * result checked out as the format's audit checks it, with the
 * signature's own certificate as the only trusted key (trust is judged
 * where the bundle is verified). */
OAB_API int oab_export_attach(const char *unsigned_bundle, const char *sig, const char *output,
			      enum oab_export_to to, struct oab_err *err);

#ifdef __cplusplus
}
#endif
#endif
