/* SPDX-License-Identifier: Apache-2.0 */
/* otabundle/error.h - how every failure travels out of libotabundle.
 *
 * The library never prints and never exits. A function that can fail
 * returns 0 on success and -1 on failure, and fills the caller-owned
 * struct oab_err with a class (enum oab_code) and one line of text that
 * names the file, member or key at fault and what was expected.
 */
#ifndef OTABUNDLE_ERROR_H
#define OTABUNDLE_ERROR_H

#include <stddef.h>

#include "otabundle/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Error classes. The CLI maps them 1:1 to its exit status (otabundle(1)). */
enum oab_code {
	OAB_OK = 0,
	OAB_E_REJECTED = 1, /* bundle failed verification or policy */
	OAB_E_USAGE = 2,    /* bad option, manifest or input description */
	OAB_E_IO = 3,       /* I/O or system error (open, read, write, disk full) */
	OAB_E_KEY = 4,      /* key, certificate, passphrase or token problem */
	OAB_E_INTERNAL = 5, /* out of memory, unexpected library failure */
};

#define OAB_ERR_MAX 1024

/* What exactly failed, within a class: for programs that act on it and
 * for the CLI's hints ("use --force"). The message never names a command
 * line option; a program maps the detail to its own words. Values are
 * stable: new ones are only ever added at the end. */
enum oab_detail {
	OAB_D_NONE = 0,             /* nothing more specific */
	/* what the caller gave */
	OAB_D_NO_ANCHOR,            /* verify/extract without any trust anchor */
	OAB_D_EXISTS,               /* an output exists and replacing was not asked */
	OAB_D_PASSPHRASE_NEEDED,    /* an encrypted key and no way to get its passphrase */
	OAB_D_PIN_NEEDED,           /* a token key and no way to get its PIN */
	OAB_D_PIN_IN_URI,           /* a PIN written into a PKCS#11 URI (pin-value) */
	OAB_D_SECRET_SOURCE,        /* a passphrase/PIN source unreadable, empty or literal */
	OAB_D_SIGNER_INCOMPLETE,    /* a key without its certificate or the reverse */
	OAB_D_ALREADY_SIGNED,       /* the key already signed (replacing re-signs) */
	OAB_D_SIGNER_DROPPED,       /* an attached signature drops an existing signer */
	OAB_D_WEAK_ALGORITHM,       /* refused by default, accepted when weak is allowed */
	OAB_D_ULTRA_NEEDED,         /* zstd levels 20-22 without ultra mode */
	OAB_D_SOURCE_OUTSIDE,       /* a source outside the manifest's folder and the roots */
	OAB_D_SOURCE_CHANGED,       /* a source changed while it was read */
	OAB_D_OUTPUT_IS_INPUT,      /* an output is one of the inputs */
	/* what a bundle failed */
	OAB_D_NOT_A_BUNDLE,         /* not a bundle at all (not a tar, empty) */
	OAB_D_STRUCTURE,            /* tar headers, member order, missing/extra members, end */
	OAB_D_NOT_SIGNED,           /* no manifest.sig */
	OAB_D_SIGNATURE,            /* a signature invalid, malformed or over a limit */
	OAB_D_UNTRUSTED,            /* valid signatures but too few trusted keys */
	OAB_D_POLICY_COMPATIBLE,
	OAB_D_POLICY_SECURITY_VERSION,
	OAB_D_POLICY_EXPIRED,
	OAB_D_MEMBER_SIZE,          /* a member's stored or content size is wrong */
	OAB_D_CHUNK_HASH,           /* a stored chunk's SHA-256 is wrong (chunk set) */
	OAB_D_CONTENT_HASH,         /* a member's content SHA-256 is wrong */
	OAB_D_MANIFEST,             /* the signed manifest does not parse */
	OAB_D_DELTA_BASE,           /* a delta payload's base is missing or not the signed one */
};

/* Caller-allocated; zero-initialise or call oab_err_clear() before use.
 * code and msg are always set on failure; detail and the fields below
 * when known (member, expected and found are "" otherwise). */
struct oab_err {
	enum oab_code code;
	char msg[OAB_ERR_MAX];
	enum oab_detail detail;
	char member[256];     /* bundle member or manifest item at fault */
	int has_chunk;        /* chunk is meaningful */
	unsigned long long chunk; /* stored chunk index (0-based) */
	char expected[160];   /* e.g. a hex SHA-256 or a size in bytes */
	char found[160];
};

/* Reset to OAB_OK with an empty message and no detail. */
OAB_API void oab_err_clear(struct oab_err *err);

/* Set class and message (printf format); detail and fields are cleared.
 * Always returns -1 so that `return oab_err_set(...)` reads naturally.
 * err may be NULL. */
OAB_API int oab_err_set(struct oab_err *err, enum oab_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Add the detail and, where not NULL, the member and the expected and
 * found values to an error already set (chunk < 0: none). Returns -1. */
OAB_API int oab_err_detail(struct oab_err *err, enum oab_detail detail, const char *member,
		   long long chunk, const char *expected, const char *found);

/* Prepend context ("reading 'rootfs': " + existing message). Keeps the
 * class, the detail and the fields. Returns -1. err may be NULL. */
OAB_API int oab_err_prefix(struct oab_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like oab_err_set, then appends the first queued OpenSSL error reason
 * (and empties OpenSSL's error queue). Returns -1. */
OAB_API int oab_err_ssl(struct oab_err *err, enum oab_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif
