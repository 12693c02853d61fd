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

/* Caller-allocated; zero-initialise or call oab_err_clear() before use. */
struct oab_err {
	enum oab_code code;
	char msg[OAB_ERR_MAX];
};

/* Reset to OAB_OK with an empty message. */
void oab_err_clear(struct oab_err *err);

/* Set class and message (printf format). Always returns -1 so that
 * `return oab_err_set(...)` reads naturally. err may be NULL. */
int oab_err_set(struct oab_err *err, enum oab_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepend context ("reading 'rootfs': " + existing message). Keeps the
 * class. Returns -1. err may be NULL. */
int oab_err_prefix(struct oab_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like oab_err_set, then appends the first queued OpenSSL error reason
 * (and empties OpenSSL's error queue). Returns -1. */
int oab_err_ssl(struct oab_err *err, enum oab_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif
