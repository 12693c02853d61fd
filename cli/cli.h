/* SPDX-License-Identifier: Apache-2.0 */
/* cli.h - shared pieces of the otabundle command line (not the library). */
#ifndef OAB_CLI_H
#define OAB_CLI_H

#include <getopt.h>
#include <stdio.h>

#include <jansson.h>

#include "otabundle/otabundle.h"

/* One option of a command: the one table that drives parsing (the
 * getopt_long table and short-option string are made from it), --help
 * (one line of text each), the bash and zsh completion and the check of
 * otabundle(1)'s SYNOPSIS (t_docs.sh). */
enum cli_complete { CLI_C_NONE, CLI_C_FILE, CLI_C_DIR, CLI_C_SECRET };
#define CLI_REPEAT 1u /* a value option that may be given more than once */
struct cli_opt {
	const char *name;   /* long name, without "--" */
	int shortc;         /* short option letter, or 0 */
	int id;             /* what cli_next() returns for it */
	const char *arg;    /* its value's name ("PEM"), NULL for a flag */
	unsigned flags;     /* CLI_REPEAT */
	enum cli_complete complete; /* what its value is, for completion */
	const char *help;   /* one line */
};
#define CLI_OPT_END {NULL, 0, 0, NULL, 0, CLI_C_NONE, NULL}

struct cli_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	const char *usage; /* lines after "usage: otabundle " */
	int json;          /* has --json */
	const struct cli_opt *opts;
	enum cli_complete operands; /* what its operands are */
};

extern const struct cli_cmd cli_commands[];
extern const struct cli_opt cli_build_opts[], cli_verify_opts[], cli_inspect_opts[],
	cli_extract_opts[], cli_sign_opts[], cli_export_opts[], cli_attach_opts[],
	cli_export_native_opts[],
	cli_timestamp_opts[];
const struct cli_cmd *cli_find(const char *name);

/* Parse one command's options from its table (getopt_long underneath).
 * Zero-initialise, set cmd, then call cli_next() until it returns
 * CLI_END (optind is then the first operand) or CLI_STOP (status holds
 * the exit status: a usage error already printed, or 0 after --help).
 * A single-value option given twice is a usage error; CLI_REPEAT ones
 * and flags may repeat. */
#define CLI_MAX_OPTS 40
#define CLI_END (-1)
#define CLI_STOP (-2)
struct cli_parser {
	const struct cli_cmd *cmd;
	int status;
	int ready;
	unsigned long long seen;
	struct option lo[CLI_MAX_OPTS + 1];
	char shorts[2 * CLI_MAX_OPTS + 1];
};
int cli_next(struct cli_parser *p, int argc, char **argv);
/* otabundle completion bash|zsh: the script, made from the tables. */
int cmd_completion(int argc, char **argv);

int cmd_build(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_export_manifest(int argc, char **argv);
int cmd_attach_signature(int argc, char **argv);
int cmd_timestamp(int argc, char **argv);
int cmd_export(int argc, char **argv);
struct cli_verify_args;
/* cmd_export.c: --to NAME (0, or a usage exit status); the signing room of
 * an export for SWUpdate and Mender (RAUC's is in cmd_sign.c):
 * export-manifest --to (OAB_ROOM_TBS: write the bytes FORMAT signs to out)
 * and attach-signature --to (OAB_ROOM_ATTACH: write the export signed by
 * sig; Mender: made by signer's key). */
int cli_export_format(const char *cmd, const char *name, enum oab_export_to *to);
int cli_export_room(const char *cmd, enum oab_export_room room, enum oab_export_to to,
		    const char *out, const char *sig, const char *signer, const char *bundle,
		    struct cli_verify_args *va, int quiet);

/* Print "otabundle: error: MSG" (escaped), MSG being the library's
 * message and the hint for its detail (the option that changes the
 * outcome), and return the exit status for err. The first error of a
 * command is also what its JSON document says. */
int cli_fail(const struct oab_err *err);
/* The stable name of a detail (otabundle-json(5)); its hint or NULL. */
const char *cli_detail_name(enum oab_detail d);
const char *cli_detail_hint(enum oab_detail d);
/* An oab_secret_fn: asks on the terminal (stdin a TTY); -1 otherwise. */
int cli_ask_secret(void *arg, enum oab_secret_kind kind, const char *label, char *buf,
		   size_t size);
/* Print "otabundle: warning: MSG" (an oab_warn_fn). */
void cli_warn(void *arg, const char *msg);
/* Print a usage error for cmd and return 2. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print the help of one command to f. */
void cli_help_cmd(FILE *f, const char *cmd);
/* Open a bundle for reading ("-" = stdin). Returns fd or -1 (err set). */
int cli_open_bundle(const char *path, struct oab_err *err);
/* An input file (folder: 1, a folder) named on the command line: 0 if
 * it exists (or is "-" or a pkcs11: URI); else prints "WHAT 'PATH': no
 * such file" and returns 2, the status of every missing input, or 3 for
 * a folder given as a file or the other way round (otabundle(1) EXIT
 * STATUS). */
int cli_input(const char *what, const char *path, int folder);
/* Trust / policy options shared by verify and extract. */
#define CLI_MAX_PINNED 16
struct cli_verify_args {
	struct oab_trust *trust;
	struct oab_verify_opts opts;
	struct oab_trust *tsa_trust; /* --tsa-ca anchors; NULL: none */
	const char *pinned[CLI_MAX_PINNED]; /* --trust files, for the hint */
	size_t n_pinned;
	/* every --ca, --trust, --crl and --tsa-ca file (an output may not be
	 * one of them: cli_output_not_anchor) */
	const char *files[4 * CLI_MAX_PINNED];
	size_t n_files;
};
/* 0 if out (may be NULL) is none of va's anchor files, else a usage exit
 * status naming both (compared by device and inode, whatever the names). */
int cli_output_not_anchor(const char *cmd, const struct cli_verify_args *va, const char *out);
/* Handle one getopt option for verify/extract; returns 1 if consumed, 0
 * if not ours, -1 on error (exit status in *status). */
int cli_verify_option(struct cli_verify_args *va, const char *cmd, int opt, const char *arg,
		      int *status);
/* After a failed verify/extract: if too few keys were trusted and a
 * --trust file holds a CA certificate, say that --ca is what trusts the
 * signers a CA certified. */
void cli_verify_hint(const struct cli_verify_args *va, const struct oab_report *rep);
#define CLI_VERIFY_OPTS                                                                      \
	{"ca", 0, 1001, "PEM", CLI_REPEAT, CLI_C_FILE,                                       \
	 "trust signers whose chain ends at a CA certificate in PEM"},                     \
	{"trust", 0, 1002, "PEM", CLI_REPEAT, CLI_C_FILE,                                    \
	 "trust the keys of the certificates or public keys in PEM (pinning)"},            \
	{"compatible", 0, 1003, "NAME", 0, CLI_C_NONE,                                       \
	 "refuse a bundle whose compatible list lacks NAME"},                              \
	{"min-security-version", 0, 1004, "N", 0, CLI_C_NONE,                                \
	 "refuse a bundle whose security-version is below N (rollback)"},                   \
	{"threshold", 0, 1005, "N", 0, CLI_C_NONE,                                           \
	 "require N distinct trusted signing keys (default 1)"},                           \
	{"now", 0, 1006, "TIME", 0, CLI_C_NONE,                                              \
	 "judge expiry and certificates at this RFC 3339 time"},                           \
	{"allow-weak", 0, 1007, NULL, 0, CLI_C_NONE,                                         \
	 "accept SHA-1 and RSA keys of 1024-2047 bits (old bundles)"}
/* verify/extract revocation options (ids 1101-1102, cli_verify_option). */
#define CLI_CRL_VERIFY_OPTS                                                                  \
	{"crl", 0, 1101, "PEM", CLI_REPEAT, CLI_C_FILE,                                      \
	 "also use the CRLs in PEM (besides those in the bundle)"},                         \
	{"check-revocation", 0, 1102, NULL, 0, CLI_C_NONE,                                   \
	 "require a current CRL for every certificate below the anchor"}

/* RFC 3161 (cmd_timestamp.c): --tsa URL and --tsa-timeout SECONDS for
 * build, sign and timestamp; --tsa-ca PEM for verify and extract. Each
 * returns 1 consumed, 0 not ours, -1 error (exit status in *status). */
#define CLI_TSA_OPTS                                                                         \
	{"tsa", 0, 3001, "URL", 0, CLI_C_NONE,                                               \
	 "add an RFC 3161 timestamp from this TSA to each signature"},                     \
	{"tsa-timeout", 0, 3002, "SECONDS", 0, CLI_C_NONE,                                   \
	 "give up on the TSA after this many seconds (default 30)"}
#define CLI_TSA_CA_OPT                                                                       \
	{"tsa-ca", 0, 3003, "PEM", CLI_REPEAT, CLI_C_FILE,                                   \
	 "trust timestamps whose TSA chain ends at a CA in PEM"}
int cli_tsa_option(const char **url, int *timeout, const char *cmd, int opt, const char *arg,
		   int *status);
int cli_tsa_ca_option(struct oab_trust **tsa, int opt, const char *arg, int *status);

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
#define CLI_SIGNER_OPTS                                                                      \
	{"key", 0, 2001, "KEY", CLI_REPEAT, CLI_C_FILE,                                      \
	 "signing key: a PEM file or a pkcs11: URI (one per signer)"},                     \
	{"cert", 0, 2002, "CERT", CLI_REPEAT, CLI_C_FILE,                                    \
	 "the certificate of the --key before it: PEM file or pkcs11: URI"},               \
	{"chain", 0, 2003, "PEM", CLI_REPEAT, CLI_C_FILE,                                    \
	 "intermediate CA certificates to embed in the signature"},                        \
	{"pass", 0, 2004, "SRC", CLI_REPEAT, CLI_C_SECRET,                                   \
	 "passphrase of encrypted keys: env:VAR, file:PATH or fd:N"},                      \
	{"pin", 0, 2005, "SRC", CLI_REPEAT, CLI_C_SECRET,                                    \
	 "PIN of token keys: env:VAR, file:PATH or fd:N"},                                 \
	{"pkcs11-module", 0, 2006, "PATH", 0, CLI_C_FILE,                                    \
	 "PKCS#11 module for token keys (default: p11-kit's proxy)"}
/* --ca / --trust for build and sign: the anchors the signers must verify
 * against before anything is written (ids as in CLI_VERIFY_OPTS). 1
 * consumed, 0 not ours, -1 error (*status). */
#define CLI_ANCHOR_OPTS                                                                      \
	{"ca", 0, 1001, "PEM", CLI_REPEAT, CLI_C_FILE,                                       \
	 "check the signers verify against this CA before writing"},                       \
	{"trust", 0, 1002, "PEM", CLI_REPEAT, CLI_C_FILE,                                    \
	 "check the signers' keys are pinned in PEM before writing"}
#define CLI_HELP_OPT {"help", 'h', 'h', NULL, 0, CLI_C_NONE, "show this help and exit"}
#define CLI_JSON_OPT                                                                         \
	{"json", 0, 'J', NULL, 0, CLI_C_NONE, "print one JSON document (otabundle-json(5))"}
#define CLI_QUIET_OPT {"quiet", 'q', 'q', NULL, 0, CLI_C_NONE, "print no report and no progress"}
int cli_anchor_option(struct oab_trust **t, int opt, const char *arg, int *status);
/* 0 if out (may be NULL) is none of the --ca, --trust, --tsa-ca and
 * build/sign --crl files this command was given (cli_load_anchor,
 * cli_crl_option), else a usage exit status naming both. */
int cli_output_not_noted(const char *cmd, const char *out);
/* Add the CA file (pinned: the pinned key file) arg, named optname in
 * messages, to *t (made on first use): 1, or -1 with the exit status in
 * *status. Shared by --ca, --trust and --tsa-ca. */
int cli_load_anchor(struct oab_trust **t, const char *optname, const char *arg, int pinned,
		    int *status);
/* build/sign --crl: CRL files to embed in the signature. */
struct cli_crl_args {
	const char *files[OAB_MAX_CRLS];
	size_t n;
};
#define CLI_CRL_EMBED_OPT                                                                    \
	{"crl", 0, 2101, "PEM", CLI_REPEAT, CLI_C_FILE,                                      \
	 "embed the CRLs in PEM in the signature (checked offline by verify)"}
/* 1 consumed, 0 not ours, -1 error (exit status in *status). */
int cli_crl_option(struct cli_crl_args *ca, const char *cmd, int opt, const char *arg,
		   int *status);
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

/* Terminal-safe text: C0/C1 controls, DEL, bidi and other invisible
 * format characters and bytes that are not UTF-8 are written escaped
 * (\xNN, \uXXXX). CLI_PUT_BACKSLASH: "\\" for a backslash (raw data);
 * CLI_PUT_LINES: newlines kept, each followed by indent spaces, and tabs
 * kept. */
#define CLI_PUT_BACKSLASH 1
#define CLI_PUT_LINES 2
void cli_put(FILE *f, const char *s, int flags, int indent);

/* Render a report as text. */
void cli_report_text(FILE *f, const struct oab_report *r, int judged);

/* JSON documents (otabundle-json(5)). main() calls cli_out_begin() with
 * the command and whether --json appears to be given; the command
 * confirms with cli_json_mode() once its options are parsed. A command
 * builds its document with cli_json_new() and the cli_json_* and
 * cli_report_json() helpers and prints it with cli_json_emit(); if it
 * printed none, main() prints one for its exit status with
 * cli_json_fallback(), so --json always gives a document. */
#define CLI_JSON_SCHEMA 2
void cli_out_begin(const char *cmd, int json);
void cli_json_mode(int on);
void cli_note_error(const char *msg); /* the first one is kept */
json_t *cli_json_new(void);           /* {"schema", "command"} */
json_t *cli_jstr(const char *s);      /* string (NULL: null), never fails on bad UTF-8 */
void cli_json_manifest(json_t *doc, const struct oab_manifest *m);
void cli_report_json(json_t *doc, const struct oab_report *r, int judged);
/* Add "ok", "exit-status" and "error", print doc (NULL: a new one) on
 * standard output and free it. Returns status. */
int cli_json_emit(json_t *doc, int status);
int cli_json_fallback(int status);

#endif
