/* SPDX-License-Identifier: Apache-2.0 */
/* signers.c - the --key/--cert/--chain/--pass options shared by build and
 * sign. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <sys/stat.h>

#include "cli.h"

int cli_ask_secret(void *arg, enum oab_secret_kind kind, const char *label, char *buf,
		   size_t size)
{
	char *prompt = NULL;
	size_t plen = 0;
	FILE *f;
	int rc;

	(void)arg;
	if (!isatty(STDIN_FILENO) || size < 2 || size > 1 << 20 || !(f = open_memstream(&prompt, &plen)))
		return -1;
	fputs(kind == OAB_SECRET_PIN ? "PIN for " : "Passphrase for ", f);
	cli_put(f, label, 0, 0); /* a label could hold controls: shown escaped */
	fputs(": ", f);
	if (fclose(f) != 0 || !prompt) {
		free(prompt);
		return -1;
	}
	rc = EVP_read_pw_string(buf, (int)size, prompt, 0);
	free(prompt);
	if (rc != 0 || !buf[0]) {
		OPENSSL_cleanse(buf, size);
		return -1;
	}
	return (int)strlen(buf);
}

void cli_warn(void *arg, const char *msg)
{
	(void)arg;
	fputs("otabundle: warning: ", stderr);
	cli_put(stderr, msg, 0, 0);
	fputc('\n', stderr);
}

/* Anchor and CRL files given to this command: no output may be one. */
static const char *noted[2 * OAB_MAX_CRLS + 64];
static size_t n_noted;

static void note_input(const char *path)
{
	if (n_noted < sizeof(noted) / sizeof(noted[0]))
		noted[n_noted++] = path;
}

int cli_output_not_noted(const char *cmd, const char *out)
{
	struct stat so, si;

	if (!out || stat(out, &so) < 0)
		return 0;
	for (size_t i = 0; i < n_noted; i++)
		if (stat(noted[i], &si) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino)
			return cli_usage(cmd, "output '%s' is '%s', one of the anchor or CRL files given",
					 out, noted[i]);
	return 0;
}

int cli_load_anchor(struct oab_trust **t, const char *optname, const char *arg, int pinned,
		    int *status)
{
	struct oab_err err = {0};

	if ((*status = cli_input(optname, arg, 0)))
		return -1;
	note_input(arg);
	if (!*t && !(*t = oab_trust_new()))
		oab_err_set(&err, OAB_E_INTERNAL, "out of memory");
	else if (pinned ? oab_trust_add_pinned(*t, arg, &err) == 0 : oab_trust_add_ca(*t, arg, &err) == 0)
		return 1;
	*status = cli_fail(&err);
	return -1;
}

int cli_anchor_option(struct oab_trust **t, int opt, const char *arg, int *status)
{
	if (opt != 1001 && opt != 1002)
		return 0;
	return cli_load_anchor(t, opt == 1001 ? "--ca" : "--trust", arg, opt == 1002, status);
}

int cli_crl_option(struct cli_crl_args *ca, const char *cmd, int opt, const char *arg,
		   int *status)
{
	if (opt != 2101)
		return 0;
	if (ca->n == OAB_MAX_CRLS) {
		*status = cli_usage(cmd, "at most %d --crl files", OAB_MAX_CRLS);
		return -1;
	}
	if ((*status = cli_input("--crl", arg, 0)))
		return -1;
	note_input(arg);
	ca->files[ca->n++] = arg;
	return 1;
}

int cli_signer_option(struct cli_signer_args *sa, const char *cmd, int opt, const char *arg,
		      int *status)
{
	const char **arr;
	size_t *n;

	switch (opt) {
	case 2001: arr = sa->keys; n = &sa->nk; break;
	case 2002: arr = sa->certs; n = &sa->nc; break;
	case 2003: arr = sa->chain; n = &sa->nch; break;
	case 2004: arr = sa->pass; n = &sa->np; break;
	case 2005: arr = sa->pin; n = &sa->npin; break;
	case 2006: sa->module = arg; return 1;
	default: return 0;
	}
	if (*n == CLI_MAX_SIGNERS) {
		*status = cli_usage(cmd, "at most %d of each of --key, --cert, --pass, --pin, --chain",
				    CLI_MAX_SIGNERS);
		return -1;
	}
	if ((opt == 2004 || opt == 2005) && strncmp(arg, "env:", 4) && strncmp(arg, "file:", 5) && strncmp(arg, "fd:", 3)) {
		*status = cli_usage(cmd, "%s: expected env:VAR, file:PATH or fd:N (literal secrets are not accepted)",
				    opt == 2004 ? "--pass" : "--pin");
		return -1;
	}
	if (opt <= 2003 && (*status = cli_input(opt == 2001 ? "--key" : opt == 2002 ? "--cert" : "--chain", arg, 0)))
		return -1;
	if (strncmp(arg, "file:", 5) == 0 && (*status = cli_input(opt == 2004 ? "--pass" : "--pin", arg + 5, 0)))
		return -1;
	arr[(*n)++] = arg;
	return 1;
}

int cli_signer_finish(struct cli_signer_args *sa, const char *cmd)
{
	if (sa->nk != sa->nc)
		return cli_usage(cmd, "every --key needs its --cert (%zu keys, %zu certificates)",
				 sa->nk, sa->nc);
	if (sa->np > 1 && sa->np != sa->nk)
		return cli_usage(cmd, "give one --pass for all keys or one per --key");
	if (sa->npin > 1 && sa->npin != sa->nk)
		return cli_usage(cmd, "give one --pin for all keys or one per --key");
	for (size_t i = 0; i < sa->nk; i++) {
		sa->specs[i].key = sa->keys[i];
		sa->specs[i].cert = sa->certs[i];
		sa->specs[i].pass = sa->np == 0 ? NULL : sa->np == 1 ? sa->pass[0] : sa->pass[i];
		sa->specs[i].pin = sa->npin == 0 ? NULL : sa->npin == 1 ? sa->pin[0] : sa->pin[i];
		sa->specs[i].module = sa->module;
		sa->specs[i].warn = cli_warn;
		sa->specs[i].warn_arg = NULL;
		/* The library never prompts: on a terminal, we ask. */
		sa->specs[i].get_secret = isatty(STDIN_FILENO) ? cli_ask_secret : NULL;
	}
	return 0;
}
