/* main.c - otabundle: command table, help, exit codes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"

const struct cli_cmd cli_commands[] = {
	{"build", cmd_build, "build (and sign) a bundle from a manifest",
	 "build [-o OUT] [--key KEY --cert CERT]... [--chain PEM]... [--pass SRC]\n"
	 "                       [--pin SRC] [--pkcs11-module PATH] [--unsigned] [-j N] [-q]\n"
	 "                       [--source-root DIR]... MANIFEST"},
	{"verify", cmd_verify, "verify a bundle's signature, members and policy",
	 "verify (--ca PEM | --trust PEM)... [--compatible NAME]\n"
	 "                       [--min-security-version N] [--threshold N] [--now TIME]\n"
	 "                       [--json] [-q] BUNDLE"},
	{"inspect", cmd_inspect, "show a bundle's metadata, payloads and signers (unverified)",
	 "inspect [--json] BUNDLE"},
	{"extract", cmd_extract, "verify a bundle, then write its payloads into a folder",
	 "extract (--ca PEM | --trust PEM)... [--compatible NAME]\n"
	 "                       [--min-security-version N] [--threshold N] [--now TIME]\n"
	 "                       [--force] [-q] -C DIR [PAYLOAD...] BUNDLE"},
	{"sign", cmd_sign, "add (or replace) signatures of a bundle, or sign an exported manifest",
	 "sign [-o OUT] --key KEY --cert CERT [--key KEY --cert CERT]... [--chain PEM]...\n"
	 "                       [--pass SRC] [--pin SRC] [--pkcs11-module PATH] [--replace]\n"
	 "                       [-q] BUNDLE\n"
	 "       otabundle sign --detached -o SIG [--sig EXISTING] --key KEY --cert CERT\n"
	 "                       [--key KEY --cert CERT]... [--chain PEM]... [--pass SRC]\n"
	 "                       [--pin SRC] [--pkcs11-module PATH] [--replace] [-q] MANIFEST"},
	{"export-manifest", cmd_export_manifest,
	 "write a bundle's manifest (and signature) out for an offline signing room",
	 "export-manifest -o MANIFEST [--sig SIG] BUNDLE"},
	{"attach-signature", cmd_attach_signature,
	 "put a signature made elsewhere into a bundle, after checking it covers its manifest",
	 "attach-signature [-o OUT] [--replace] [-q] SIG BUNDLE"},
	{NULL, NULL, NULL, NULL},
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

void cli_help_cmd(FILE *f, const char *cmd)
{
	for (const struct cli_cmd *c = cli_commands; c->name; c++)
		if (strcmp(c->name, cmd) == 0) {
			fprintf(f, "usage: otabundle %s\n\n%s.\nSee otabundle(1) for every option.\n",
				c->usage, c->summary);
			return;
		}
	usage_all(f);
}

int cli_fail(const struct oab_err *err)
{
	fprintf(stderr, "otabundle: error: %s\n", err->msg[0] ? err->msg : "unknown failure");
	return err->code == OAB_OK ? OAB_E_INTERNAL : (int)err->code;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "otabundle: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'otabundle help %s')\n", cmd);
	return OAB_E_USAGE;
}

int cli_open_bundle(const char *path, struct oab_err *err)
{
	int fd;

	if (strcmp(path, "-") == 0)
		return STDIN_FILENO;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		oab_err_set(err, errno == ENOENT ? OAB_E_USAGE : OAB_E_IO, "bundle '%s': %s", path,
			    strerror(errno));
	return fd;
}

int cli_protect_secrets(void)
{
	struct rlimit no_core = {0, 0};

	/* Before any key, passphrase or PIN is in memory: a crash or a
	 * SIGABRT must not write them to a core file, and other processes
	 * of the same user must not attach and read them. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || setrlimit(RLIMIT_CORE, &no_core) != 0) {
		fprintf(stderr, "otabundle: error: cannot keep secrets out of core dumps: %s\n",
			strerror(errno));
		return OAB_E_INTERNAL;
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
		if (argc > 2)
			cli_help_cmd(stdout, argv[2]);
		else
			usage_all(stdout);
		return 0;
	}
	for (const struct cli_cmd *c = cli_commands; c->name; c++) {
		if (strcmp(c->name, cmd) != 0)
			continue;
		if ((c->fn == cmd_build || c->fn == cmd_sign) && (rc = cli_protect_secrets()))
			return rc;
		catch_signals();
		rc = c->fn(argc - 1, argv + 1);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "otabundle: error: writing standard output: %s\n",
				strerror(errno));
			return OAB_E_IO;
		}
		return rc;
	}
	fprintf(stderr, "otabundle: error: unknown command '%s'\n", cmd);
	usage_all(stderr);
	return OAB_E_USAGE;
}
