/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_verify.c - otabundle verify, and the trust/policy options it shares
 * with extract. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <sys/stat.h>

#include "cli.h"

static int parse_count(const char *cmd, const char *opt, const char *arg, long long min,
		       long long max, long long *out)
{
	char *end;
	long long v;

	v = strtoll(arg, &end, 10);
	if (!*arg || *end || v < min || v > max || arg[0] == '-' || arg[0] == '+')
		return cli_usage(cmd, "%s: expected an integer from %lld to %lld, found '%s'", opt, min,
				 max, arg);
	*out = v;
	return 0;
}

int cli_output_not_anchor(const char *cmd, const struct cli_verify_args *va, const char *out)
{
	struct stat so, si;

	if (!out || stat(out, &so) < 0)
		return 0;
	for (size_t i = 0; i < va->n_files; i++)
		if (stat(va->files[i], &si) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino)
			return cli_usage(cmd, "output '%s' is '%s', one of the anchor or CRL files given",
					 out, va->files[i]);
	return 0;
}

int cli_verify_option(struct cli_verify_args *va, const char *cmd, int opt, const char *arg,
		      int *status)
{
	struct oab_err err = {0};
	long long v;

	if ((opt == 1001 || opt == 1002 || opt == 1101 || opt == 3003) &&
	    va->n_files < sizeof(va->files) / sizeof(va->files[0]))
		va->files[va->n_files++] = arg;
	switch (opt) {
	case 1001:
	case 1002:
		if (cli_anchor_option(&va->trust, opt, arg, status) < 0)
			return -1;
		if (opt == 1002 && va->n_pinned < CLI_MAX_PINNED)
			va->pinned[va->n_pinned++] = arg;
		return 1;
	case 1003:
		va->opts.compatible = arg;
		return 1;
	case 1004:
		if ((*status = parse_count(cmd, "--min-security-version", arg, 0, INT64_MAX, &v)))
			return -1;
		va->opts.min_security_version = v;
		return 1;
	case 1005:
		if ((*status = parse_count(cmd, "--threshold", arg, 1, OAB_MAX_SIGNERS, &v)))
			return -1;
		va->opts.threshold = (unsigned)v;
		return 1;
	case 1006: {
		int64_t t;

		if (oab_time_parse(arg, &t) < 0) {
			*status = cli_usage(cmd, "--now: expected an RFC 3339 time such as 2027-06-30T00:00:00Z, found '%s'", arg);
			return -1;
		}
		va->opts.now = t;
		return 1;
	}
	case 1007:
		va->opts.allow_weak = 1;
		return 1;
	case 1101:
		if ((*status = cli_input("--crl", arg, 0)))
			return -1;
		if (!va->trust && !(va->trust = oab_trust_new()))
			oab_err_set(&err, OAB_E_INTERNAL, "out of memory");
		if (!va->trust || oab_trust_add_crl(va->trust, arg, &err) < 0)
			goto fail;
		return 1;
	case 1102:
		va->opts.check_revocation = 1;
		return 1;
	default:
		return cli_tsa_ca_option(&va->tsa_trust, opt, arg, status);
	}
fail:
	*status = cli_fail(&err);
	return -1;
}

/* Does the PEM file hold a CA certificate (basicConstraints CA:TRUE)? */
static int holds_ca(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;
	int ca = 0;

	if (!f)
		return 0;
	while (!ca && (x = PEM_read_X509(f, NULL, NULL, NULL))) {
		ca = X509_check_ca(x) == 1;
		X509_free(x);
	}
	ERR_clear_error();
	fclose(f);
	return ca;
}

void cli_verify_hint(const struct cli_verify_args *va, const struct oab_report *rep)
{
	unsigned need = va->opts.threshold ? va->opts.threshold : 1;

	if (!rep || rep->n_signers == 0 || rep->trusted_keys >= need)
		return;
	for (size_t i = 0; i < va->n_pinned; i++)
		if (holds_ca(va->pinned[i])) {
			fputs("otabundle: hint: '", stderr);
			cli_put(stderr, va->pinned[i], 0, 0);
			fputs("' is a CA certificate: --trust pins only the keys in it; to trust the"
			      " signers a CA certified, give it with --ca\n", stderr);
			return;
		}
}

const struct cli_opt cli_verify_opts[] = {
	CLI_VERIFY_OPTS,
	CLI_CRL_VERIFY_OPTS,
	CLI_TSA_CA_OPT,
	CLI_JSON_OPT,
	CLI_QUIET_OPT,
	CLI_HELP_OPT,
	CLI_OPT_END,
};

int cmd_verify(int argc, char **argv)
{
	struct cli_parser p = {.cmd = cli_find("verify")};
	struct cli_verify_args va = {.opts = {.min_security_version = -1, .now = -1}};
	struct oab_report *rep = NULL;
	struct oab_err err = {0};
	struct cli_progress prog;
	int opt, json = 0, quiet = 0, rc = 0, fd;

	while ((opt = cli_next(&p, argc, argv)) != CLI_END) {
		int st, r;

		if (opt == CLI_STOP) {
			rc = p.status;
			goto out;
		}
		r = cli_verify_option(&va, "verify", opt, optarg, &st);
		if (r < 0) {
			rc = st;
			goto out;
		}
		if (r > 0)
			continue;
		switch (opt) {
		case 'J':
			json = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		}
	}
	cli_json_mode(json);
	if (optind != argc - 1) {
		rc = cli_usage("verify", "expected one BUNDLE argument");
		goto out;
	}
	if (oab_trust_count(va.trust) == 0) {
		rc = cli_usage("verify", "no trust anchor: give --ca PEM or --trust PEM");
		goto out;
	}
	va.opts.trust = va.trust;
	va.opts.tsa_trust = va.tsa_trust;
	fd = cli_open_bundle(argv[optind], &err);
	if (fd < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	cli_progress_init(&prog, quiet || json);
	va.opts.progress = cli_progress_cb;
	va.opts.progress_arg = &prog;
	rc = oab_verify(fd, argv[optind], &va.opts, &rep, &err);
	cli_progress_done(&prog);
	if (fd != STDIN_FILENO)
		close(fd);
	if (!quiet && !json && rep)
		cli_report_text(stdout, rep, 1);
	if (rc < 0) {
		rc = cli_fail(&err);
		cli_verify_hint(&va, rep);
	} else if (!quiet && !json) {
		printf("OK: ");
		cli_put(stdout, argv[optind], CLI_PUT_BACKSLASH, 0);
		printf(" verified\n");
	}
	if (json) {
		json_t *doc = cli_json_new();

		if (doc && rep)
			cli_report_json(doc, rep, 1);
		rc = cli_json_emit(doc, rc);
	}
out:
	oab_report_free(rep);
	oab_trust_free(va.trust);
	oab_trust_free(va.tsa_trust);
	return rc;
}
