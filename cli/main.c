/* SPDX-License-Identifier: Apache-2.0 */
/* main.c - otabundle: command table, help, exit codes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"

const struct cli_cmd cli_commands[] = {
	{"build", cmd_build, "build (and sign) a bundle from a manifest",
	 "build [-o OUT] [--key KEY --cert CERT]... [--chain PEM]... [--pass SRC]\n"
	 "                       [--pin SRC] [--pkcs11-module PATH] [--ca PEM | --trust PEM]...\n"
	 "                       [--source-root DIR]... [--unsigned] [--ultra] [-j N] [--json] [-q]\n"
	 "                       [--crl PEM]... [--tsa URL [--tsa-timeout SECONDS]]\n"
	 "                       [--base OLD] MANIFEST", 1, cli_build_opts, CLI_C_FILE},
	{"verify", cmd_verify, "verify a bundle's signature, members and policy",
	 "verify (--ca PEM | --trust PEM)... [--compatible NAME]\n"
	 "                       [--min-security-version N] [--threshold N] [--now TIME]\n"
	 "                       [--allow-weak] [--tsa-ca PEM]... [--json] [-q]\n"
	 "                       [--crl PEM]... [--check-revocation]\n"
	 "                       BUNDLE", 1, cli_verify_opts, CLI_C_FILE},
	{"inspect", cmd_inspect, "show a bundle's metadata, payloads and signers (unverified)",
	 "inspect [--json] BUNDLE", 1, cli_inspect_opts, CLI_C_FILE},
	{"extract", cmd_extract, "verify a bundle, then write its payloads into a folder",
	 "extract (--ca PEM | --trust PEM)... [--compatible NAME]\n"
	 "                       [--min-security-version N] [--threshold N] [--now TIME]\n"
	 "                       [--allow-weak] [--tsa-ca PEM]... [--force] [--json] [-q]\n"
	 "                       [--crl PEM]... [--check-revocation] [--base NAME=PATH]...\n"
	 "                       -C DIR [PAYLOAD...] BUNDLE", 1, cli_extract_opts, CLI_C_FILE},
	{"sign", cmd_sign, "add (or replace) signatures of a bundle, or sign an exported manifest",
	 "sign [-o OUT] --key KEY --cert CERT [--key KEY --cert CERT]... [--chain PEM]...\n"
	 "                       [--pass SRC] [--pin SRC] [--pkcs11-module PATH]\n"
	 "                       [--ca PEM | --trust PEM]... [--replace] [--json] [-q]\n"
	 "                       [--crl PEM]... [--tsa URL [--tsa-timeout SECONDS]] BUNDLE\n"
	 "       otabundle sign --detached -o SIG [--sig EXISTING] --key KEY --cert CERT\n"
	 "                       [--key KEY --cert CERT]... [--chain PEM]... [--pass SRC]\n"
	 "                       [--pin SRC] [--pkcs11-module PATH] [--ca PEM | --trust PEM]...\n"
	 "                       [--replace] [--json] [-q] [--crl PEM]...\n"
	 "                       [--tsa URL [--tsa-timeout SECONDS]] MANIFEST", 1, cli_sign_opts, CLI_C_FILE},
	{"export-manifest", cmd_export_manifest,
	 "write a bundle's manifest (and signature) out for an offline signing room",
	 "export-manifest -o MANIFEST [--sig SIG] BUNDLE\n"
	 "       otabundle export-manifest --to FORMAT -o FILE [--unsigned OUT] [--rauc-plain]\n"
	 "                       (--ca PEM | --trust PEM)... [--compatible NAME]\n"
	 "                       [--min-security-version N] [--threshold N] [--now TIME]\n"
	 "                       [--allow-weak] [--crl PEM]... [--check-revocation] BUNDLE",
	 0, cli_export_opts, CLI_C_FILE},
	{"attach-signature", cmd_attach_signature,
	 "put a signature made elsewhere into a bundle, after checking it covers its manifest",
	 "attach-signature [-o OUT] [--replace] [-q] SIG BUNDLE\n"
	 "       otabundle attach-signature --to FORMAT -o OUT (--ca PEM | --trust PEM)...\n"
	 "                       [--compatible NAME] [--min-security-version N] [--threshold N]\n"
	 "                       [--now TIME] [--allow-weak] [--signer PEM] [-q] SIG BUNDLE\n"
	 "       otabundle attach-signature --to rauc [-o OUT] [-q] SIG UNSIGNED", 0, cli_attach_opts, CLI_C_FILE},
	{"export", cmd_export, "verify a bundle, then write it as a signed RAUC, SWUpdate or Mender bundle",
	 "export --to rauc|swupdate|mender -o OUT --key KEY --cert CERT [--key KEY --cert CERT]...\n"
	 "                       [--chain PEM]... [--pass SRC] [--pin SRC] [--pkcs11-module PATH]\n"
	 "                       (--ca PEM | --trust PEM)... [--compatible NAME]\n"
	 "                       [--min-security-version N] [--threshold N] [--now TIME]\n"
	 "                       [--allow-weak] [--tsa-ca PEM]... [--crl PEM]... [--check-revocation]\n"
	 "                       [--cpio-crc] [--rauc-plain] [--mender-compression METHOD[:LEVEL]]\n"
	 "                       [--json] [-q] BUNDLE", 1, cli_export_native_opts, CLI_C_FILE},
	{"timestamp", cmd_timestamp, "add RFC 3161 timestamps to a bundle's signatures that have none",
	 "timestamp --tsa URL [--tsa-timeout SECONDS] [-o OUT] [--json] [-q] BUNDLE", 1,
	 cli_timestamp_opts, CLI_C_FILE},
	{NULL, NULL, NULL, NULL, 0, NULL, CLI_C_NONE},
};

static void usage_all(FILE *f)
{
	fprintf(f, "usage: otabundle COMMAND [OPTIONS] ARGS\n\ncommands:\n");
	for (const struct cli_cmd *c = cli_commands; c->name; c++)
		fprintf(f, "  %-17s %s\n", c->name, c->summary);
	fprintf(f, "  %-17s %s\n", "help", "show help for a command");
	fprintf(f, "\n'otabundle help COMMAND' or 'otabundle COMMAND --help' for its options;"
		   " otabundle(1) for details.\n");
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	char msg[OAB_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cli_note_error(msg);
	fputs("otabundle: error: ", stderr);
	cli_put(stderr, msg, 0, 0);
	fprintf(stderr, " (see 'otabundle help %s')\n", cmd);
	return OAB_E_USAGE;
}

int cli_open_bundle(const char *path, struct oab_err *err)
{
	struct stat sb;
	int fd;

	if (strcmp(path, "-") == 0)
		return STDIN_FILENO;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		oab_err_set(err, errno == ENOENT || errno == ENOTDIR ? OAB_E_USAGE : OAB_E_IO,
			    "bundle '%s': %s", path,
			    errno == ENOENT || errno == ENOTDIR ? "no such file" : strerror(errno));
	} else if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		oab_err_set(err, OAB_E_IO, "bundle '%s': is a folder, not a file", path);
		close(fd);
		fd = -1;
	}
	return fd;
}

int cli_input(const char *what, const char *path, int folder)
{
	struct oab_err err = {0};
	struct stat sb;

	if (strcmp(path, "-") == 0 || strncmp(path, "pkcs11:", 7) == 0)
		return 0;
	if (stat(path, &sb) == 0) {
		if (!folder == !S_ISDIR(sb.st_mode))
			return 0;
		oab_err_set(&err, OAB_E_IO, "%s '%s': %s", what, path,
			    folder ? "not a folder" : "is a folder, not a file");
		return cli_fail(&err);
	}
	if (errno != ENOENT && errno != ENOTDIR)
		return 0; /* other faults are the reader's to report (exit status 3) */
	oab_err_set(&err, OAB_E_USAGE, "%s '%s': no such %s", what, path, folder ? "folder" : "file");
	return cli_fail(&err);
}

int cli_protect_secrets(void)
{
	struct rlimit no_core = {0, 0};

	/* Before any key, passphrase or PIN is in memory: a crash or a
	 * SIGABRT must not write them to a core file, and other processes
	 * of the same user must not attach and read them. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || setrlimit(RLIMIT_CORE, &no_core) != 0) {
		struct oab_err err = {0};

		oab_err_set(&err, OAB_E_INTERNAL, "cannot keep secrets out of core dumps: %s",
			    strerror(errno));
		return cli_fail(&err);
	}
	return 0;
}

/* Does --json appear among a command's arguments (before "--")? Only a
 * first guess, so that errors met while parsing the options are a JSON
 * document too; the command confirms it. getopt_long takes unique
 * prefixes: "--js" is the shortest ("--j" may be --jobs). */
static int wants_json(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (strcmp(argv[i], "--") == 0)
			break;
		if (n >= 4 && n <= 6 && strncmp(argv[i], "--json", n) == 0)
			return 1;
	}
	return 0;
}

/* SIGINT, SIGTERM, SIGHUP: remove a named temp output (where O_TMPFILE
 * is not available), then die of the signal as before. */
static void on_signal(int sig)
{
	oab_tmpfiles_unlink();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void catch_signals(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction sa, old;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		/* A signal ignored by whoever started us stays ignored. */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
	}
}

int main(int argc, char **argv)
{
	const char *cmd;
	int rc;

	if (argc < 2) {
		usage_all(stderr);
		return OAB_E_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("otabundle %s (bundle format %d)\n", OAB_VERSION, OAB_FORMAT_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		if (argc > 3) {
			fprintf(stderr, "otabundle: error: help takes one COMMAND\n");
			return OAB_E_USAGE;
		}
		if (argc == 3 && strcmp(argv[2], "help") != 0) {
			if (!cli_find(argv[2])) {
				fputs("otabundle: error: unknown command '", stderr);
				cli_put(stderr, argv[2], 0, 0);
				fputs("' (see 'otabundle help')\n", stderr);
				return OAB_E_USAGE;
			}
			cli_help_cmd(stdout, argv[2]);
		} else {
			usage_all(stdout);
		}
		return 0;
	}
	/* Not listed: prints the bash or zsh completion script. */
	if (strcmp(cmd, "completion") == 0)
		return cmd_completion(argc - 1, argv + 1);
	for (const struct cli_cmd *c = cli_commands; c->name; c++) {
		if (strcmp(c->name, cmd) != 0)
			continue;
		cli_out_begin(c->name, c->json && wants_json(argc - 1, argv + 1));
		if ((c->fn == cmd_build || c->fn == cmd_sign || c->fn == cmd_export) && (rc = cli_protect_secrets()))
			rc = cli_json_fallback(rc);
		else {
			catch_signals();
			rc = cli_json_fallback(c->fn(argc - 1, argv + 1));
		}
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "otabundle: error: writing standard output: %s\n",
				strerror(errno));
			return OAB_E_IO;
		}
		return rc;
	}
	fprintf(stderr, "otabundle: error: unknown %s '", cmd[0] == '-' ? "option" : "command");
	cli_put(stderr, cmd, 0, 0);
	fprintf(stderr, "'%s\n", cmd[0] == '-' ? " (options go after the COMMAND)" : "");
	usage_all(stderr);
	return OAB_E_USAGE;
}
