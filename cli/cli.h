/* cli.h - shared pieces of the otabundle command line (not the library). */
#ifndef OAB_CLI_H
#define OAB_CLI_H

#include <stdio.h>

#include <jansson.h>

#include "otabundle/otabundle.h"

struct cli_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	const char *usage; /* lines after "usage: otabundle " */
};

extern const struct cli_cmd cli_commands[];

int cmd_build(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_export_manifest(int argc, char **argv);
int cmd_attach_signature(int argc, char **argv);

/* Print "otabundle: error: MSG" and return the exit status for err. */
int cli_fail(const struct oab_err *err);
/* Print a usage error for cmd and return 2. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print the help of one command to f. */
void cli_help_cmd(FILE *f, const char *cmd);
/* Open a bundle for reading ("-" = stdin). Returns fd or -1 (err set). */
int cli_open_bundle(const char *path, struct oab_err *err);

/* Trust / policy options shared by verify and extract. */
struct cli_verify_args {
	struct oab_trust *trust;
	struct oab_verify_opts opts;
};
/* Handle one getopt option for verify/extract; returns 1 if consumed, 0
 * if not ours, -1 on error (exit status in *status). */
int cli_verify_option(struct cli_verify_args *va, const char *cmd, int opt, const char *arg,
		      int *status);
#define CLI_VERIFY_LONGOPTS                                        \
	{"ca", required_argument, NULL, 1001},                     \
	{"trust", required_argument, NULL, 1002},                  \
	{"compatible", required_argument, NULL, 1003},             \
	{"min-security-version", required_argument, NULL, 1004},   \
	{"threshold", required_argument, NULL, 1005},              \
	{"now", required_argument, NULL, 1006}

/* build --source-root, at most this many. */
#define CLI_MAX_SOURCE_ROOTS 64

/* Process setup before any secret is read (build, sign): no core dumps,
 * no ptrace attach by same-user processes. 0, or an exit status. */
int cli_protect_secrets(void);

/* Signer options shared by build and sign. */
#define CLI_MAX_SIGNERS 16
struct cli_signer_args {
	const char *keys[CLI_MAX_SIGNERS], *certs[CLI_MAX_SIGNERS];
	const char *pass[CLI_MAX_SIGNERS], *chain[CLI_MAX_SIGNERS], *pin[CLI_MAX_SIGNERS];
	const char *module;
	size_t nk, nc, np, nch, npin;
	struct oab_signer_spec specs[CLI_MAX_SIGNERS];
};
#define CLI_SIGNER_LONGOPTS                            \
	{"key", required_argument, NULL, 2001},        \
	{"cert", required_argument, NULL, 2002},       \
	{"chain", required_argument, NULL, 2003},      \
	{"pass", required_argument, NULL, 2004},       \
	{"pin", required_argument, NULL, 2005},        \
	{"pkcs11-module", required_argument, NULL, 2006}
/* 1 consumed, 0 not ours, -1 error (exit status in *status). */
int cli_signer_option(struct cli_signer_args *sa, const char *cmd, int opt, const char *arg,
		      int *status);
/* Check pairing and fill sa->specs; 0 or an exit status. */
int cli_signer_finish(struct cli_signer_args *sa, const char *cmd);

/* Progress on a terminal (stderr); silent with -q or when not a TTY. */
struct cli_progress {
	int enabled, shown;
	char phase[64];
	double start, last;
};
void cli_progress_init(struct cli_progress *p, int quiet);
void cli_progress_cb(void *arg, const char *phase, uint64_t done, uint64_t total);
void cli_progress_done(struct cli_progress *p);

/* Render a report. */
void cli_report_text(FILE *f, const struct oab_report *r, int judged);
json_t *cli_report_json(const struct oab_report *r, int judged, const struct oab_err *err);
int cli_json_print(json_t *j); /* prints to stdout, frees j; 0 or -1 */

#endif
