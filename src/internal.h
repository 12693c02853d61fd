/* SPDX-License-Identifier: Apache-2.0 */
/* internal.h - helpers shared by libotabundle's modules (not installed). */
#ifndef OAB_INTERNAL_H
#define OAB_INTERNAL_H

#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "otabundle/otabundle.h"

#define OAB_IO_BUF (1024 * 1024)

/* util.c ------------------------------------------------------------ */
/* calloc(n, size), a non-NULL block for n or size 0 too; NULL on overflow
 * or OOM (it never exits: no git-style x prefix). */
void *oab_calloc_array(size_t n, size_t size);
char *oab_strdup(const char *s);          /* NULL-safe */
void oab_hex(const unsigned char *in, size_t n, char *out /* 2n+1 */);
int oab_unhex(const char *hex, unsigned char *out, size_t n);
/* Printable copy of untrusted text for messages: non-printables as \xNN,
 * at most 80 visible bytes. out must hold 4*80+4 bytes. */
void oab_escape(const char *s, size_t len, char *out, size_t outsz);
int oab_write_all(int fd, const void *buf, size_t n);    /* -1 sets errno */
/* Start write-back of fd's bytes [*kicked, written) once they are at
 * least OAB_WRITEBACK_STEP; updates *kicked. */
#define OAB_WRITEBACK_STEP (16u * 1024 * 1024)
void oab_writeback_kick(int fd, uint64_t *kicked, uint64_t written);
ssize_t oab_read_full(int fd, void *buf, size_t n);      /* short only at EOF */
/* Read a whole small file (limit bytes at most). *buf malloc'd, NUL-ended. */
int oab_read_file(const char *path, size_t limit, char **buf, size_t *len,
		  struct oab_err *err);
/* An anonymous temp file in dir (O_TMPFILE, else mkstemp + unlink). */
int oab_anon_tmpfile(const char *dir, struct oab_err *err);
/* An O_TMPFILE file in dir, which oab_targets_commit can link later; no
 * unnamed fallback (an unlinked mkstemp file cannot be linked again):
 * a file system without O_TMPFILE is a clear OAB_E_IO. */
int oab_linkable_tmpfile(const char *dir, struct oab_err *err);
/* Read a secret from "env:VAR", "file:PATH" or "fd:N" into buf (first
 * line, without newline). what names the source in messages (NULL: src
 * itself; give a neutral name where src must not be shown). Returns its
 * length (>= 1) or -1: an unreadable, closed, empty or non-regular
 * (file:) source is OAB_E_IO, never an empty secret. */
int oab_secret_read(const char *src, const char *what, char *buf, size_t bufsz,
		    struct oab_err *err);
/* n zeroed bytes for a secret, on pages of their own: locked in memory
 * where the limit allows (best effort) and excluded from core dumps
 * (MADV_DONTDUMP). NULL if out of memory. _free wipes and unmaps them. */
void *oab_secret_alloc(size_t n);
void oab_secret_free(void *p, size_t n);

/* Regular files only. errno for "not a regular file" (st filled). */
#define OAB_ENOTREG EMEDIUMTYPE
/* "a FIFO", "a folder", ... for messages. */
const char *oab_file_kind(mode_t mode);
/* 1 if a and b are the same file with the same size, mtime and ctime. */
int oab_stat_same(const struct stat *a, const struct stat *b);
/* Open path for reading, refusing (code nonreg) a FIFO, socket, device
 * or folder before opening it in any way that could block. what and
 * shown (NULL: path) name it in messages. *st (may be NULL) gets its
 * fstat. Returns the fd, or -1 with err set. */
int oab_open_regular(const char *path, const char *what, const char *shown, enum oab_code nonreg,
		     struct stat *st, struct oab_err *err);
/* The same step from an O_PATH fd of dirfd/name (opened with oab_open_at
 * and the same resolve): fstat it, refuse non-regular files (errno
 * OAB_ENOTREG), reopen dirfd/name for reading and check it is the same
 * file (else ESTALE). Returns the fd (O_NONBLOCK cleared) or -1/errno. */
int oab_reopen_regular(int pathfd, int dirfd, const char *name, int resolve, struct stat *st);

/* openat.c: open name beneath dirfd. resolve == 0: plain openat.
 * OAB_BENEATH: refuse absolute paths, ".." above dirfd and symlinks
 * leading out of it (EXDEV); symlinks inside are followed. openat2
 * RESOLVE_BENEATH, or a walk of our own where the kernel lacks it (and
 * always with OAB_BENEATH_WALK, for tests). Returns fd or -1/errno. */
#define OAB_BENEATH 1
#define OAB_BENEATH_WALK 2
int oab_open_at(int dirfd, const char *name, int flags, int resolve);
/* Where a build's sources may be read: beneath the manifest's folder,
 * and beneath each --source-root. */
struct oab_roots {
	int mdir_fd;
	char *mdir_real; /* realpath of the manifest's folder */
	size_t n;
	int *fd;
	char **real;
};
int oab_roots_open(struct oab_roots *r, const char *manifest_dir, const char *const *roots,
		   size_t n, struct oab_err *err);
void oab_roots_close(struct oab_roots *r);
/* Open it's source for reading under r's rules, refusing (OAB_E_USAGE,
 * naming the manifest key, file:line:col and the resolved path) a path
 * that leads outside, and a FIFO, socket, device or folder. *st gets
 * its fstat. Returns the fd or -1. */
int oab_source_open(const struct oab_roots *r, const struct oab_item *it, struct stat *st,
		    struct oab_err *err);
int oab_online_cpus(void);

/* An output written to a temp file beside its target, then renamed. */
struct oab_outfile {
	int fd;
	int dirfd;
	char *path;     /* target */
	char *base;     /* target's name inside dirfd */
	char *tmpname;  /* non-NULL when mkstemp was used */
	int slot;       /* 1 + its oab_tmpfiles_unlink() slot; 0 none */
};
int oab_outfile_open(struct oab_outfile *o, const char *path,
		     struct oab_err *err);
/* fsync, give it the target's name (replacing it), fsync the folder. */
int oab_outfile_commit(struct oab_outfile *o, struct oab_err *err);
/* Drop the temp file; the target is untouched. Safe after commit. */
void oab_outfile_abort(struct oab_outfile *o);
/* writer.c: the time written into an output: given if > 0, else
 * $SOURCE_DATE_EPOCH if set (checked), else fallback if >= 0, else the
 * clock; OAB_E_USAGE past 9999. */
int oab_output_time(int64_t given, int64_t fallback, int64_t *out, struct oab_err *err);
/* Refuse an output that is one of the inputs: OAB_E_USAGE naming both if
 * out and in (NULL, "-" and "pkcs11:" URIs are skipped) are the same
 * existing file by st_dev/st_ino, whatever the names. what names the
 * input ("manifest", "key", ...). */
int oab_output_not_input(const char *out, const char *in, const char *what,
			 struct oab_err *err);
/* The same for every file of signer specs (keys, certs) and chain files. */
int oab_output_not_signer_input(const char *out, const struct oab_signer_spec *specs,
				size_t n, const char *const *chain, size_t n_chain,
				struct oab_err *err);
/* Link an O_TMPFILE/anon fd (or rename tmpname) to dirfd/name; with
 * replace an existing entry is replaced (never followed). */
int oab_link_tmpfile(int fd, int dirfd, const char *name, int replace,
		     struct oab_err *err);

/* Link n temp files into dirfd as one change: every target gets its new
 * file or none does. Each file is first linked under a hidden name, then
 * exchanged with the existing entry (renameat2 RENAME_EXCHANGE; the
 * original is kept under the hidden name until all are in place); on any
 * failure the entries already changed are put back as they were. Without
 * replace an existing entry is an error; a folder is never replaced. */
struct oab_target {
	int fd;           /* anonymous temp file (oab_anon_tmpfile) */
	const char *name; /* entry in dirfd */
	char hidden[OAB_MAX_NAME + 16];
	int state;        /* 0 untouched, 1 new entry, 2 exchanged (original at hidden) */
};
int oab_targets_commit(int dirfd, struct oab_target *t, size_t n, int replace,
		       struct oab_err *err);

/* report.c ---------------------------------------------------------- */
struct oab_report *oab_report_new(void);
/* Append a check; returns ok. id: a stable check id (struct oab_check);
 * subject: the signer or member it is about, or NULL. detail is
 * printf-formatted, may be NULL; a leading "member 'SUBJECT': " is
 * dropped from it (the subject is shown once). */
int oab_report_add_check(struct oab_report *r, int ok, const char *id, const char *subject,
			 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
struct oab_signer_report *oab_report_add_signer(struct oab_report *r);

/* hasher.c: SHA-256 on a thread of its own (bounded buffers). */
struct oab_hasher;
struct oab_hasher *oab_hasher_new(struct oab_err *err);
void oab_hasher_update(struct oab_hasher *h, const void *data, size_t n);
/* Hash data without copying it: the caller must not touch the buffer
 * until oab_hasher_wait(h, ticket) returned for the ticket this gave. */
uint64_t oab_hasher_lend(struct oab_hasher *h, const void *data, size_t n);
void oab_hasher_wait(struct oab_hasher *h, uint64_t ticket);
/* The same ring in writer mode: a thread writes the slots to fd (and
 * starts write-back as it goes) instead of hashing them. Use update/lend/
 * wait as above (dense: every byte is written with oab_write_at; else
 * zero blocks are left as holes, oab_write_sparse); oab_writer_error() gives the first write error (errno,
 * 0 if none) so far; oab_writer_finish() joins and gives it for good.
 * Free with oab_hasher_free(). */
struct oab_hasher *oab_writer_new(int fd, int dense, struct oab_err *err);
int oab_writer_error(struct oab_hasher *w);
int oab_writer_finish(struct oab_hasher *w);
/* Write n buffers at file offset off, leaving all-zero 4 KiB blocks (of
 * the file) as holes, as cp --sparse does: the file must hold zeros (or
 * nothing) there already, e.g. a fresh temp file, and be given its full
 * size at the end (ftruncate) if it ends in a hole. -1 sets errno. */
#define OAB_SPARSE_IOV_MAX 64
struct iovec;
/* Write every byte of iov (n entries; consumed) at offset off, in as few
 * pwritev calls as it takes (O_DIRECT dropped if the fd refuses it). */
int oab_write_at(int fd, struct iovec *iov, int n, uint64_t off);
int oab_write_sparse(int fd, const struct iovec *iov, int n, uint64_t off);
/* Wait for the thread and give the digest; call once. */
int oab_hasher_final(struct oab_hasher *h, unsigned char md[32], struct oab_err *err);
void oab_hasher_free(struct oab_hasher *h);

/* pack.c ------------------------------------------------------------ */
/* Compress (or copy) it->source into out_fd, filling it's sizes and
 * hashes. threads >= 1 zstd workers. it->source may be anywhere (a
 * regular file); build confines its sources and uses _fd. */
int oab_payload_pack(struct oab_item *it, int out_fd, int threads,
		     oab_progress_fn progress, void *parg, struct oab_err *err);
/* The same from an open source whose fstat was *before: refused
 * (OAB_E_IO, "changed while being read") if its size, mtime, ctime or
 * inode differ from *before at the start or the end, or its bytes do
 * not add up to its size. fd is the caller's to close. */
int oab_payload_pack_fd(struct oab_item *it, int fd, const struct stat *before, int out_fd,
			int threads, oab_progress_fn progress, void *parg, struct oab_err *err);
/* OAB_E_IO: it's source changed while being read (size, times, inode,
 * or more or fewer bytes than its size). Returns -1. */
int oab_source_changed(const struct oab_item *it, struct oab_err *err);
/* stored-chunk-size for an item of this many content bytes. */
uint32_t oab_chunk_size_for(uint64_t content_size);
/* SHA-256 of each size-byte piece of a byte stream, as it passes (md:
 * n hashes, malloc'd); _close ends the current piece (call it once at
 * the end if fill > 0). ctx from oab_digest_init (a fresh SHA-256). */
struct oab_chunker {
	EVP_MD_CTX *ctx;
	uint32_t size, fill;
	size_t n, cap;
	unsigned char (*md)[32];
};
int oab_digest_init(EVP_MD_CTX **ctx, struct oab_err *err);
int oab_chunk_update(struct oab_chunker *c, const unsigned char *p, size_t n);
int oab_chunk_close(struct oab_chunker *c);

/* payload.c --------------------------------------------------------- */
/* -1 with an OAB_E_INTERNAL error naming the item if zstd call rc failed. */
int oab_zcheck(size_t rc, const char *what, const char *name, struct oab_err *err);

/* Streaming decoder for one member: feed stored bytes, get content bytes
 * hashed, size-bounded and optionally written to out_fd (-1: discard) on
 * a writer thread. For zstd, out_fd is switched to O_DIRECT where the file
 * system allows it (only full aligned buffers are written that way) and
 * given back with its flags by oab_unpack_free(). */
struct oab_unpack;
struct oab_unpack *oab_unpack_new(const struct oab_item *it, int out_fd,
				  struct oab_err *err);
/* The same into a sink (see struct oab_sink): FILE as out_fd above (a
 * fresh temp file: zero blocks left as holes, size set at the end); FD
 * every byte from offset 0, no truncation; CALLBACK the content in
 * order; DISCARD and ARCHIVE only check (the reader copies the stored
 * bytes of ARCHIVE itself). Errors about the content carry the details
 * OAB_D_MEMBER_SIZE or OAB_D_CONTENT_HASH. */
struct oab_sink;
struct oab_unpack *oab_unpack_new_sink(const struct oab_item *it, const struct oab_sink *sink,
				       struct oab_err *err);
int oab_unpack_feed(struct oab_unpack *u, const void *buf, size_t n,
		    struct oab_err *err);
/* Finish: checks the frame ended, the size and the SHA-256. */
int oab_unpack_finish(struct oab_unpack *u, struct oab_err *err);
void oab_unpack_free(struct oab_unpack *u);

struct archive;
struct archive_entry;
/* delta.c: the verify side of a delta payload (otabundle-format(5)
 * DELTA ENCODING). _new checks the base at fd (size: a regular file's
 * st_size must equal base_size, a block device's BLKGETSIZE64 must hold
 * it; then the SHA-256 of its first base_size bytes) before anything is
 * decoded; feed takes the member's stored bytes (already checked chunk
 * by chunk), rebuilds each segment into one buffer and hands it to an
 * oab_unpack on sink (sizes bounded, content hashed); finish checks every
 * frame came and the content's size and SHA-256. */
struct oab_dunpack;
struct oab_dunpack *oab_delta_unpack_new(const struct oab_item *it, int base_fd,
					 const struct oab_sink *sink, struct oab_err *err);
int oab_delta_unpack_feed(struct oab_dunpack *d, const unsigned char *p, size_t n,
			  struct oab_err *err);
int oab_delta_unpack_finish(struct oab_dunpack *d, struct oab_err *err);
void oab_delta_unpack_free(struct oab_dunpack *d);
/* Size of a base fd: a regular file's size, a block device's
 * (BLKGETSIZE64); anything else is refused. */
int oab_delta_base_size(int fd, const char *what, uint64_t *size, int *is_dev,
			struct oab_err *err);
/* Free an item's delta description (NULL is fine). */
void oab_delta_free(struct oab_delta *d);

/* delta_build.c: pack a delta payload: target (open source fd, fstat
 * before) against base_fd (a regular file, read with pread), the frames
 * written to out_fd; fills it's sizes, hashes, chunk hashes and
 * it->delta. */
struct oab_delta_params {
	uint32_t segment_size; /* 0: OAB_DELTA_SEGMENT_DEFAULT */
	uint32_t prefix_max;   /* 0: OAB_DELTA_PREFIX_DEFAULT */
	int level;             /* 0: OAB_DELTA_LEVEL_DEFAULT */
};
#define OAB_DELTA_SEGMENT_DEFAULT (8u * 1024 * 1024)
#define OAB_DELTA_PREFIX_DEFAULT (16u * 1024 * 1024)
#define OAB_DELTA_LEVEL_DEFAULT 19
int oab_delta_pack_fd(struct oab_item *it, int fd, const struct stat *before, int base_fd,
		      const struct oab_delta_params *prm, int out_fd, int threads,
		      oab_progress_fn progress, void *parg, struct oab_err *err);
/* build: the base fd of each item of m (-1: a full payload): delta-from
 * files (confined like sources) and, with o->base_bundle, the payloads of
 * that bundle (verified against o->trust) decoded into temp files. */
int oab_delta_bases_open(struct oab_manifest *m, const struct oab_build_opts *o,
			 const struct oab_roots *roots, int *fds, struct oab_err *err);

/* reader.c: a bundle read as a tar stream through libarchive, with every
 * raw 512-byte header also checked as it streams past (libarchive hides
 * some): only ustar headers of typeflag '0' (or NUL), '1'-'7' (refused
 * by oab_tarin_next with a clear message) and 'x' (pax, at most 64 KiB,
 * no GNU.sparse.* keys) are accepted; 'g', 'V', 'S', 'L', 'K' and any
 * other type are refused, and so are a bad checksum, anything but two
 * zero blocks at the end, and any byte after them. */
struct oab_tarin;
struct oab_tarin *oab_tarin_open(int fd, const char *label, struct oab_err *err);
/* Next member header, with the member checks every member gets (safe
 * name, regular file, no sparse map, a size). 1 with *e set, 0 at the
 * end of the archive, -1 on error. */
int oab_tarin_next(struct oab_tarin *t, struct archive_entry **e, struct oab_err *err);
struct archive *oab_tarin_archive(struct oab_tarin *t);
/* After oab_tarin_next gave 0: the archive must end with exactly two zero
 * blocks and nothing after them (reads to the end of fd). */
int oab_tarin_end(struct oab_tarin *t, struct oab_err *err);
/* Walk the remaining headers without reading their data (skipped by
 * seeking where fd allows), refusing a repeated manifest.yaml or
 * manifest.sig, then oab_tarin_end. pending: e (the current header) is
 * not yet checked. For inspect and export-manifest. */
int oab_tarin_scan_rest(struct oab_tarin *t, struct archive_entry *pending,
			struct oab_err *err);
void oab_tarin_free(struct oab_tarin *t);
/* reader.c: read a small member (manifest, signature) whole, at most
 * limit bytes; *out is malloc'd and NUL-terminated. */
int oab_member_read_small(struct archive *a, struct archive_entry *e, size_t limit,
			  unsigned char **out, size_t *len, struct oab_err *err);
/* Read the current member's data (a compressed item, it->stored_size
 * bytes) one chunk (it->chunk_size bytes) at a time, check the chunk's
 * SHA-256 against the manifest, and only then hand it to sink. Chunk k+1
 * is read and checked on a thread of its own while sink handles chunk k
 * (two chunk buffers). Returns 0, or -1 with err set: by sink, or here
 * with the detail OAB_D_CHUNK_HASH (a chunk's hash is wrong, the archive
 * still in step: the next header can be read) or OAB_D_STRUCTURE (the
 * archive is damaged or truncated). */
typedef int (*oab_chunk_sink)(void *arg, const unsigned char *p, size_t n,
			      struct oab_err *err);
int oab_member_chunks(struct archive *a, const struct oab_item *it, oab_chunk_sink sink,
		      void *arg, oab_progress_fn progress, void *parg, struct oab_err *err);

/* Where oab_reader_read() puts an item (the opaque struct oab_sink of
 * verify.h). */
struct oab_sink {
	enum { OAB_SINK_DISCARD, OAB_SINK_FD, OAB_SINK_CALLBACK, OAB_SINK_FILE,
	       OAB_SINK_ARCHIVE } kind;
	int fd;            /* FD, FILE */
	oab_sink_fn fn;    /* CALLBACK */
	void *arg;
	struct archive *w; /* ARCHIVE: the stored member copied into w as is */
	int64_t mtime;     /* ARCHIVE: its member time */
	/* ARCHIVE: called before the member's bytes, to write its header
	 * (the build side's writer: the reader itself never writes). */
	int (*begin)(const struct oab_sink *s, const struct oab_item *it, struct oab_err *err);
	/* ARCHIVE: the stored bytes also (or, with w NULL, only) go here, as
	 * they pass: a compressed member's chunks once each checked out, a
	 * stored one before its hash is known (export: drop the output if
	 * oab_reader_read fails). */
	int (*stored)(void *arg, const unsigned char *p, size_t n, struct oab_err *err);
	void *stored_arg;
};

/* How oab_reader_auth() authenticates: TRUST is oab_reader_authenticate
 * (signature, trust, manifest, policy); SELF (sign, export-manifest)
 * checks every existing signature over the manifest bytes without
 * judging trust (an unsigned bundle has none) before parsing it; NONE
 * (inspect) checks the signature's CMS structure and the rest of the
 * archive's headers, describes the signers, then parses the manifest
 * unverified. */
enum oab_auth_mode { OAB_AUTH_TRUST, OAB_AUTH_SELF, OAB_AUTH_NONE };
struct oab_reader;
int oab_reader_auth(struct oab_reader *r, enum oab_auth_mode mode, struct oab_err *err);
/* The raw manifest.yaml and manifest.sig bytes (sig NULL: unsigned), and
 * the parsed signature (NULL before authentication or if unsigned; owned
 * by the reader, which frees it). */
void oab_reader_raw(const struct oab_reader *r, const unsigned char **yaml, size_t *ylen,
		    const unsigned char **sig, size_t *siglen);
CMS_ContentInfo *oab_reader_cms(struct oab_reader *r);
/* Walk the headers left without reading their data (oab_tarin_scan_rest). */
int oab_reader_scan_rest(struct oab_reader *r, struct oab_err *err);
/* Hand the report (and the manifest in it) to the caller. */
struct oab_report *oab_reader_take_report(struct oab_reader *r);
/* 1 if r can go on after the last failed read (a content error). */
int oab_reader_in_step(const struct oab_reader *r);

/* writer.c ---------------------------------------------------------- */
/* A pax archive writing to fd; archive_write_free() it. */
int oab_wr_open(struct archive **a, int fd, struct oab_err *err);
/* Header of one bundle member (regular, 0644, uid/gid 0, given mtime). */
int oab_wr_header(struct archive *a, const char *name, uint64_t size, int64_t mtime,
		  struct oab_err *err);

/* keys.c ------------------------------------------------------------ */
struct oab_signer {
	EVP_PKEY *key;
	X509 *cert;
	char *label;  /* for messages: the key's path or URI */
	void *engine; /* ENGINE holding a token key, or NULL */
};
/* pkcs11.c: a token signer in two steps. prepare parses the URI, reads
 * the PIN and checks it once on the token (for every token signer before
 * any is loaded); load gets the key (and the cert, if spec->cert is a URI)
 * through the engine. */
struct oab_p11_pending;
int oab_p11_prepare(const struct oab_signer_spec *spec, struct oab_p11_pending **out,
		    struct oab_err *err);
int oab_p11_load(struct oab_p11_pending *p, struct oab_signer *s, struct oab_err *err);
void oab_p11_pending_free(struct oab_p11_pending *p);
/* A key or certificate name fit for messages: a path as is; a pkcs11:
 * URI's path attributes without pin-value or pin-source, no query. */
char *oab_p11_label(const char *uri);
/* Load one signer; pending: its oab_p11_prepare result for a token key
 * (NULL: prepared here). */
int oab_signer_load_prepared(const struct oab_signer_spec *spec, struct oab_p11_pending *pending,
			     struct oab_signer *s, struct oab_err *err);
void oab_p11_release(void *engine);
int oab_signer_load(const struct oab_signer_spec *spec, struct oab_signer *s,
		    struct oab_err *err);
void oab_signer_release(struct oab_signer *s);
/* Load n signers (refusing the same key twice) and the chain files, then
 * judge them as verify would now (oab_signers_judge). */
int oab_signers_load(const struct oab_signer_spec *specs, size_t n,
		     const char *const *chain_files, size_t n_chain,
		     const struct oab_trust *trust,
		     struct oab_signer **out, STACK_OF(X509) **chain, struct oab_err *err);
void oab_signers_free(struct oab_signer *s, size_t n);

/* pubkey.c ---------------------------------------------------------- */
/* Load every certificate of a PEM file (at least one) into *out. */
int oab_load_certs(const char *path, STACK_OF(X509) **out, struct oab_err *err);
/* "EC P-256", "RSA-3072", "Ed25519"... into buf. */
void oab_key_describe(EVP_PKEY *k, char *buf, size_t n);
/* Hex SHA-256 of the DER SubjectPublicKeyInfo (65 bytes buf) of the key
 * in its canonical encoding (RSA: rsaEncryption; EC: named curve,
 * uncompressed point), so one key has one id however its certificate
 * writes it. -1 for EC keys with explicit parameters. */
int oab_key_id(EVP_PKEY *k, char out[65]);
/* Algorithm policy for a key met while verifying (otabundle(1) ALGORITHM
 * POLICY): RSA from OAB_RSA_MIN_BITS (OAB_RSA_WEAK_BITS with allow_weak)
 * to OAB_RSA_MAX_BITS with 3 <= e <= 2^32; EC on P-256/P-384/P-521 named
 * curves only; Ed25519/Ed448 too unless signer. 0 if accepted, else -1
 * and why. */
#define OAB_RSA_MIN_BITS 2048
#define OAB_RSA_WEAK_BITS 1024
#define OAB_RSA_MAX_BITS 16384
int oab_key_policy(EVP_PKEY *k, int allow_weak, int signer, char *why, size_t n);

/* cms.c ------------------------------------------------------------- */
/* Parse a detached SignedData: DER only (the zero padding of
 * otabundle-format(5) aside), 1 to OAB_MAX_SIGNERS SignerInfos, at most
 * OAB_MAX_SIG_CERTS certificates and CRLs. */
#define OAB_MAX_SIG_CERTS 32
CMS_ContentInfo *oab_cms_parse(const unsigned char *der, size_t len,
			       struct oab_err *err);

/* Run data through the digests of cms (for CMS_SignerInfo_verify_content);
 * close with oab_cms_digest_close. */
BIO *oab_cms_digest_open(CMS_ContentInfo *cms, const unsigned char *data, size_t len,
			 BIO **content, struct oab_err *err);
/* The same over the content read from src (a BIO the chain takes over:
 * freed with it, or here on failure). */
BIO *oab_cms_digest_open_bio(CMS_ContentInfo *cms, BIO *src, BIO **content,
			     struct oab_err *err);
void oab_cms_digest_close(BIO *chain, BIO *content);
/* 1 if si's signature (signed attributes and message digest) is valid
 * over the content digested by chain (oab_cms_digest_open). */
int oab_cms_signer_valid(CMS_SignerInfo *si, BIO *chain);
/* Algorithm policy for one SignerInfo signed with key (otabundle(1)
 * ALGORITHM POLICY): the key (oab_key_policy), the digest (SHA-256/384/
 * 512; SHA-1 with allow_weak; never MD5), the signature algorithm fitting
 * both, and a signed contentType equal to the eContentType. 0 if
 * accepted, else -1 and why. */
int oab_cms_signer_policy(CMS_ContentInfo *cms, CMS_SignerInfo *si, EVP_PKEY *key,
			  int allow_weak, char *why, size_t n);
/* Bound the RSA work of one signature: checking costs about bits(n)^2
 * per signer (e <= 2^32), so the signers' RSA moduli (signer certificates
 * set, CMS_set1_signers_certs) may total at most OAB_RSA_TOTAL_BITS:
 * 16 keys of 4096 bits, or 4 of 16384. OAB_E_REJECTED beyond. */
#define OAB_RSA_TOTAL_BITS 65536
int oab_cms_rsa_budget(CMS_ContentInfo *cms, struct oab_err *err);
/* Key ids (hex SHA-256 of SPKI) of a CMS's signers, in order. */
struct oab_keyids {
	char (*id)[65];
	size_t n;
};
/* Check that every signature in cms is valid over data (no trust
 * judgement); fills ids (free ids->id). OAB_E_REJECTED on failure. */
int oab_cms_check(CMS_ContentInfo *cms, const unsigned char *data, size_t len,
		  struct oab_keyids *ids, struct oab_err *err);

/* trust.c ----------------------------------------------------------- */
/* Pinned key i of t (NULL past the last) and the file it came from; the
 * number of CA anchors. For formats without certificates (Mender). */
EVP_PKEY *oab_trust_pinned(const struct oab_trust *t, size_t i, const char **from);
size_t oab_trust_n_cas(const struct oab_trust *t);
/* RFC 2253 text of a name (free it), and an ASN1_TIME in seconds (-1). */
char *oab_name_str(const X509_NAME *n);
int64_t oab_asn1_time(const ASN1_TIME *t);
/* Check every signer of cms over data, and judge each against trust at
 * time now. Fills report signers and checks. Returns 0 if every signature
 * is valid and at least threshold distinct trusted keys signed; allow_weak
 * relaxes the algorithm policy (oab_cms_signer_policy); check_rev
 * requires current CRLs (oab_revocation_check; the bundle's CRLs and
 * trust's --crl ones are used either way). With
 * trust == NULL only describes the signers (inspect). */
int oab_trust_evaluate(const struct oab_trust *trust, CMS_ContentInfo *cms,
		       const unsigned char *data, size_t len, int64_t now,
		       unsigned threshold, int allow_weak, const struct oab_verify_opts *vo,
		       struct oab_report *rep, struct oab_err *err);
/* Pin k (a reference is taken) as if read from the file named from. */
int oab_trust_pin_key(struct oab_trust *t, EVP_PKEY *k, const char *from);
/* The same over content read from src (a BIO this call frees), e.g. a
 * range of a file too large to hold in memory. */
int oab_trust_evaluate_bio(const struct oab_trust *trust, CMS_ContentInfo *cms, BIO *src,
			   int64_t now, unsigned threshold, int allow_weak,
			   const struct oab_verify_opts *vo, struct oab_report *rep,
			   struct oab_err *err);

/* tsverify.c: a SignerInfo's RFC 3161 token. 0: none; 1: found, ts
 * filled (time -1 if unreadable; tsa may be NULL; with cas, trusted 1 or
 * 0 and why; without, trusted -1). ts->tsa is the caller's to free. */
struct oab_ts {
	int64_t time;
	char *tsa;
	int trusted;
	char why[160];
};
int oab_ts_judge(CMS_SignerInfo *si, STACK_OF(X509) *cas, int64_t now, struct oab_ts *ts);

/* crl.c ------------------------------------------------------------- */
/* Every CRL of a PEM file (at least one; at most OAB_MAX_CRL_BYTES and
 * OAB_MAX_CRLS) into *out. */
int oab_crls_load(const char *path, STACK_OF(X509_CRL) **out, struct oab_err *err);
/* Move from's CRLs to *to (created if NULL), at most OAB_MAX_CRLS in all. */
int oab_crls_append(STACK_OF(X509_CRL) **to, STACK_OF(X509_CRL) *from, const char *what,
		    struct oab_err *err);
/* Judge a validated path (leaf first, anchor last) against crls at time
 * now (otabundle(1) REVOCATION), filling sr's revocation fields. Returns
 * NULL if accepted, else why (free it): a revoked certificate always; no
 * current CRL only when required. */
char *oab_revocation_check(STACK_OF(X509) *path, STACK_OF(X509_CRL) *crls, int64_t now,
			   int required, struct oab_signer_report *sr);

/* cms_sign.c -------------------------------------------------------- */
/* Detached CMS SignedData (DER) over data, one SignerInfo per signer. */
int oab_cms_sign(const unsigned char *data, size_t len,
		 struct oab_signer *signers, size_t n,
		 STACK_OF(X509) *chain, unsigned char **der, size_t *der_len,
		 struct oab_err *err);
/* The same over the content read from in (streamed: any size), with
 * OAB_CMS_ flags: ATTACHED carries the content in the SignedData;
 * NOSMIMECAP leaves out the SMIMECapabilities attribute. */
#define OAB_CMS_ATTACHED 1
#define OAB_CMS_NOSMIMECAP 2
int oab_cms_sign_bio(BIO *in, int flags, struct oab_signer *signers, size_t n,
		     STACK_OF(X509) *chain, unsigned char **der, size_t *der_len,
		     struct oab_err *err);
/* Add signers to a signed cms, reusing its message digest. */
int oab_cms_add_signers(CMS_ContentInfo *cms, struct oab_signer *signers, size_t n,
			STACK_OF(X509) *chain, struct oab_err *err);
int oab_cms_encode(CMS_ContentInfo *cms, unsigned char **der, size_t *len,
		   struct oab_err *err);
/* build/sign --crl: load every CRL of files (OAB_E_USAGE if one does not
 * parse), warning through warn of one past its nextUpdate at now; *out
 * NULL when n == 0. */
int oab_crls_for_signing(const char *const *files, size_t n, int64_t now, oab_warn_fn warn,
			 void *warn_arg, STACK_OF(X509_CRL) **out, struct oab_err *err);
/* Put crls (may be NULL) in the crls field of the SignedData *der,
 * re-encoding it (the signatures do not cover that field). */
int oab_cms_der_add_crls(unsigned char **der, size_t *len, STACK_OF(X509_CRL) *crls,
			 struct oab_err *err);
/* tsa.c: a token from url (timeout seconds) for every SignerInfo of the
 * DER signature *der that has none; *der re-encoded in place. */
int oab_tsa_stamp(unsigned char **der, size_t *len, const char *url, int timeout, size_t *added,
		  struct oab_err *err);
/* Before a build or sign writes anything: with trust, a signature by
 * these signers with this chain must verify at time now (each signer
 * trusted), else OAB_E_KEY naming the signer and why. Without trust, what
 * verify would reject whatever the anchors (expired or not yet valid
 * certificate, no codeSigning, an issuer that is neither embedded nor the
 * certificate itself) goes to each spec's warn callback. */
int oab_signers_judge(const struct oab_signer_spec *specs, struct oab_signer *s, size_t n,
		      STACK_OF(X509) *chain, const struct oab_trust *trust, int64_t now,
		      struct oab_err *err);

/* policy.c ---------------------------------------------------------- */
int oab_policy_check(const struct oab_manifest *m,
		     const struct oab_verify_opts *o, int64_t now,
		     struct oab_report *rep, struct oab_err *err);

/* manifest_tree.c: the YAML tree that the schema (manifest.c) reads --- */
enum ykind { Y_SCALAR, Y_MAP, Y_SEQ };

struct ynode {
	enum ykind kind;
	size_t line, col;
	char *s;       /* scalar text */
	size_t slen;
	int plain;     /* scalar was written without quotes */
	struct ynode **kid; /* map: key, value, key, value...; seq: items */
	size_t n, cap;
};

struct yctx {
	const char *label;
	struct oab_err *err;
	size_t nodes;
};

void oab_ynode_free(struct ynode *n);
/* An OAB_E_USAGE error "label:line:col: message"; returns -1. */
int oab_yfail(struct yctx *c, size_t line, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The one YAML document in buf as a tree (*root), within the node and
 * depth limits. */
int oab_yparse(struct yctx *c, const char *buf, size_t len, struct ynode **root);
/* No control character in any key, nor (other than tab and newline) in
 * any value of tree n; path names n for the message. */
int oab_ycheck_text(struct yctx *c, const struct ynode *n, const char *path);
/* First control character of s (C0, DEL, C1; tab and newline pass when
 * allow_ws), or -1; oab_control_name names it for a message. */
int oab_first_control(const char *s, size_t len, int allow_ws);
const char *oab_control_name(int ch, char buf[32]);

/* manifest_export.c: the `export:` map (v) into m->exports; items must be
 * parsed first (settings name them). */
int oab_manifest_parse_exports(struct yctx *y, struct oab_manifest *m, const struct ynode *v);
void oab_exports_free(struct oab_manifest *m);

#endif
