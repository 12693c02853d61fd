/* SPDX-License-Identifier: Apache-2.0 */
/* peer_rauc.h - RAUC bundles inside libotabundle (not installed): the
 * pieces the audit (peer_rauc.c) and the export (export_rauc.c)
 * share: manifest.raucm, squashfs files over an fd, the dm-verity hash
 * tree (peer_rauc_io.c) and the squashfs writer (export_rauc_sqfs.c). */
#ifndef OAB_PEER_RAUC_H
#define OAB_PEER_RAUC_H

#include <stdint.h>

#include <openssl/bio.h>
#include <sqfs/io.h>

#include "internal.h"

/* RAUC's own limits (rauc 1.8 bundle.c): the CMS at most 64 KiB. */
#define OAB_RAUC_MAX_CMS (64 * 1024)
/* manifest.raucm: in the CMS (verity) or the squashfs (plain). */
#define OAB_RAUC_MAX_RAUCM (64 * 1024)
#define OAB_RAUC_MAX_IMAGES 64
#define OAB_RAUC_BLOCK 4096

/* One [image.<class>] section. */
struct oab_raucm_image {
	char *slotclass; /* "rootfs" or "rootfs.variant" */
	char *filename;
	char *hooks;     /* may be NULL */
	int has_sha256, has_size;
	unsigned char sha256[32];
	uint64_t size;
};

struct oab_raucm {
	char *compatible, *version, *description, *build;
	char *format;       /* NULL: plain */
	char *verity_hash, *verity_salt;
	int has_verity_size;
	uint64_t verity_size;
	struct oab_raucm_image *images;
	size_t n_images;
};

/* Parse manifest.raucm (GKeyFile syntax as RAUC writes it: [group],
 * key=value, # comments); what names it in messages. Unknown groups and
 * keys are ignored as RAUC does; a repeated group or key, a line that is
 * neither, control characters and bad numbers or digests are refused
 * (OAB_E_REJECTED). */
int oab_raucm_parse(const char *buf, size_t len, const char *what, struct oab_raucm *m,
		    struct oab_err *err);
void oab_raucm_release(struct oab_raucm *m);

/* manifest.raucm (at most 64 KiB) from the squashfs in bytes [0, size)
 * of fd; *out malloc'd and NUL-terminated. */
int oab_rauc_read_inner(int fd, uint64_t size, const char *label, char **out, size_t *len,
			struct oab_err *err);

/* A sqfs_file_t over bytes [0, limit) of fd (limit UINT64_MAX: the whole
 * file, growing as written; writable: pwrite allowed). The fd stays the
 * caller's. An I/O error is kept in *io_errno for the message. */
struct oab_rauc_sqfile {
	sqfs_file_t base;
	int fd;
	int writable;
	uint64_t limit, size;
	int io_errno;
};
void oab_rauc_sqfile_init(struct oab_rauc_sqfile *f, int fd, uint64_t size, uint64_t limit,
			  int writable);
const char *oab_rauc_sqfs_strerror(int code);

/* pread (wr 0) or pwrite all n bytes at off: 0, or -1 with errno
 * (ENODATA: the file ends first). */
int oab_rauc_pio(int fd, void *buf, size_t n, uint64_t off, int wr);

/* dm-verity hash tree as RAUC and veritysetup --format=1 make it
 * (SHA-256, 4096-byte data and hash blocks, salt first, no superblock)
 * over data blocks [0, data_blocks) of fd, stored right after them.
 * oab_rauc_verity_size gives its bytes (0 if data_blocks < 2 or too
 * many). create: write the tree and give its root; !create: recompute
 * every block of it from the data and the stored lower level, compare,
 * and compare the root; -1 with what differs (OAB_E_REJECTED) or an I/O
 * error. Memory: a few blocks, whatever the size. */
uint64_t oab_rauc_verity_size(uint64_t data_blocks);
int oab_rauc_verity(int fd, uint64_t data_blocks, const unsigned char salt[32],
		    unsigned char root[32], int create, oab_progress_fn progress, void *parg,
		    struct oab_err *err);

/* A read-only BIO over bytes [off, off + len) of fd (pread; the fd stays
 * the caller's). *io_errno is set when a read failed (the BIO then ends
 * early). */
BIO *oab_rauc_range_bio(int fd, uint64_t off, uint64_t len, int *io_errno);


/* export_rauc_sqfs.c (build side): a squashfs of one folder of regular
 * files written from offset 0 of fd, as RAUC's mksquashfs call makes it
 * (see there). Files are begun, appended to and ended one at a time;
 * finish writes the tables and the padding and gives the size (a
 * multiple of 4096, > 4096). */
struct oab_rauc_sqw;
int oab_rauc_sqw_open(struct oab_rauc_sqw **w, int fd, int64_t mtime, unsigned threads,
		      struct oab_err *err);
int oab_rauc_sqw_begin(struct oab_rauc_sqw *w, const char *name, struct oab_err *err);
int oab_rauc_sqw_append(struct oab_rauc_sqw *w, const void *buf, size_t n, struct oab_err *err);
int oab_rauc_sqw_end(struct oab_rauc_sqw *w, struct oab_err *err);
int oab_rauc_sqw_add(struct oab_rauc_sqw *w, const char *name, const void *buf, size_t n,
		     struct oab_err *err);
int oab_rauc_sqw_finish(struct oab_rauc_sqw *w, uint64_t *size, struct oab_err *err);
void oab_rauc_sqw_free(struct oab_rauc_sqw *w);

#endif
