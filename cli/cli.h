/* SPDX-License-Identifier: Apache-2.0 */
/* cli.h - shared pieces of the otabundle command line (not the library). */
#ifndef OAB_CLI_H
#define OAB_CLI_H

#include <getopt.h>
#include <stdio.h>

#include <jansson.h>

#include "otabundle/otabundle.h"

struct cli_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	const char *usage; /* lines after "usage: otabundle " */
	int json;          /* has --json */
};

extern const struct cli_cmd cli_commands[];

int cmd_build(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_export_manifest(int argc, char **argv);
int cmd_attach_signature(int argc, char **argv);

/* Print "otabundle: error: MSG" (escaped) and return the exit status for
 * err. The first error of a command is also what its JSON document says. */
int cli_fail(const struct oab_err *err);
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
/* In a getopt_long loop, before the switch: a single-value option given
 * twice is a usage error (returns 2); options that may be repeated
 * (--ca, --trust, --key, --cert, --chain, --pass, --pin) and flags are
 * not counted. seen: zero-initialised, one per command run. */
int cli_once(const char *cmd, const struct option *lo, int opt, unsigned long long *seen);
/* When getopt_long returned '?': a usage error naming the unknown option
 * or the option missing its value; returns 2. */
int cli_bad_option(const char *cmd, char **argv, const struct option *lo);

/* Trust / policy options shared by verify and extract. */
#define CLI_MAX_PINNED 16
struct cli_verify_args {
	struct oab_trust *trust;
	struct oab_verify_opts opts;
	const char *pinned[CLI_MAX_PINNED]; /* --trust files, for the hint */
	size_t n_pinned;
};
/* Handle one getopt option for verify/extract; returns 1 if consumed, 0
 * if not ours, -1 on error (exit status in *status). */
int cli_verify_option(struct cli_verify_args *va, const char *cmd, int opt, const char *arg,
		      int *status);
/* After a failed verify/extract: if too few keys were trusted and a
 * --trust file holds a CA certificate, say that --ca is what trusts the
 * signers a CA certified. */
void cli_verify_hint(const struct cli_verify_args *va, const struct oab_report *rep);
#define CLI_VERIFY_LONGOPTS                                        \
	{"ca", required_argument, NULL, 1001},                     \
	{"trust", required_argument, NULL, 1002},                  \
	{"compatible", required_argument, NULL, 1003},             \
	{"min-security-version", required_argument, NULL, 1004},   \
	{"threshold", required_argument, NULL, 1005},              \
	{"now", required_argument, NULL, 1006},                    \
	{"allow-weak", no_argument, NULL, 1007}

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
/* --ca / --trust for build and sign: the anchors the signers must verify
 * against before anything is written (--ca 1001, --trust 1002 as in
 * CLI_VERIFY_LONGOPTS). 1 consumed, 0 not ours, -1 error (*status). */
#define CLI_ANCHOR_LONGOPTS                             \
	{"ca", required_argument, NULL, 1001},          \
	{"trust", required_argument, NULL, 1002}
int cli_anchor_option(struct oab_trust **t, int opt, const char *arg, int *status);
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
#define CLI_JSON_SCHEMA 1
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
