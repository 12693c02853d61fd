/* cmd_build.c - otabundle build */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_SIGNERS 16

static char *default_output(const struct oab_manifest *m)
{
	char *out;

	if (asprintf(&out, "%s-%s.oab", m->name, m->version) < 0)
		return NULL;
	for (char *p = out; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_' || *p == '+'))
			*p = '_';
	return out;
}

int cmd_build(int argc, char **argv)
{
	static const struct option lo[] = {
		{"output", required_argument, NULL, 'o'},
		{"key", required_argument, NULL, 'k'},
		{"cert", required_argument, NULL, 'c'},
		{"chain", required_argument, NULL, 'C'},
		{"pass", required_argument, NULL, 'p'},
		{"unsigned", no_argument, NULL, 'U'},
		{"jobs", required_argument, NULL, 'j'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *keys[MAX_SIGNERS], *certs[MAX_SIGNERS], *pass[MAX_SIGNERS], *chain[MAX_SIGNERS];
	size_t nk = 0, nc = 0, np = 0, nch = 0;
	struct oab_signer_spec specs[MAX_SIGNERS];
	struct oab_build_opts o = {.build_time = -1};
	struct oab_manifest *m = NULL;
	struct oab_err err = {0};
	char *out_default = NULL;
	int opt, unsig = 0, quiet = 0, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:j:qh", lo, NULL)) != -1) {
		switch (opt) {
		case 'o':
			o.output = optarg;
			break;
		case 'k':
		case 'c':
		case 'p':
		case 'C': {
			const char **arr = opt == 'k' ? keys : opt == 'c' ? certs : opt == 'p' ? pass : chain;
			size_t *n = opt == 'k' ? &nk : opt == 'c' ? &nc : opt == 'p' ? &np : &nch;

			if (*n == MAX_SIGNERS)
				return cli_usage("build", "at most %d of each of --key, --cert, --pass, --chain",
						 MAX_SIGNERS);
			arr[(*n)++] = optarg;
			break;
		}
		case 'U':
			unsig = 1;
			break;
		case 'j': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (!*optarg || *end || v < 1 || v > 256)
				return cli_usage("build", "-j: expected a thread count from 1 to 256, found '%s'",
						 optarg);
			o.threads = (int)v;
			break;
		}
		case 'q':
			quiet = 1;
			break;
		case 'h':
			cli_help_cmd(stdout, "build");
			return 0;
		default:
			return cli_usage("build", "invalid option");
		}
	}
	if (optind != argc - 1)
		return cli_usage("build", "expected one MANIFEST argument");
	if (unsig && (nk || nc))
		return cli_usage("build", "--unsigned conflicts with --key/--cert");
	if (!unsig && nk == 0)
		return cli_usage("build", "no signing key: give --key KEY --cert CERT, or --unsigned");
	if (nk != nc)
		return cli_usage("build", "every --key needs its --cert (%zu keys, %zu certificates)", nk, nc);
	if (np > 1 && np != nk)
		return cli_usage("build", "give one --pass for all keys or one per --key");
	for (size_t i = 0; i < np; i++)
		if (strncmp(pass[i], "env:", 4) && strncmp(pass[i], "file:", 5) && strncmp(pass[i], "fd:", 3))
			return cli_usage("build", "--pass: expected env:VAR, file:PATH or fd:N (literal passphrases are not accepted)");
	for (size_t i = 0; i < nk; i++) {
		specs[i].key = keys[i];
		specs[i].cert = certs[i];
		specs[i].pass = np == 0 ? NULL : np == 1 ? pass[0] : pass[i];
	}
	o.signers = specs;
	o.n_signers = nk;
	o.chain_files = chain;
	o.n_chain_files = nch;

	if (oab_manifest_load(argv[optind], &m, &err) < 0)
		return cli_fail(&err);
	if (!o.output) {
		out_default = default_output(m);
		o.output = out_default;
	}
	rc = oab_build(m, &o, &err);
	if (rc < 0) {
		rc = cli_fail(&err);
	} else {
		uint64_t content = 0, stored = 0;

		for (size_t i = 0; i < m->n_items; i++) {
			content += m->items[i].size;
			stored += m->items[i].stored_size;
		}
		if (!quiet && nk)
			printf("built %s: %zu item%s, %.1f MiB stored (%.1f MiB content), signed by %zu key%s\n",
			       o.output, m->n_items, m->n_items == 1 ? "" : "s",
			       (double)stored / 1048576.0, (double)content / 1048576.0, nk,
			       nk == 1 ? "" : "s");
		else if (!quiet)
			printf("built %s: %zu item%s, %.1f MiB stored (%.1f MiB content), UNSIGNED\n",
			       o.output, m->n_items, m->n_items == 1 ? "" : "s",
			       (double)stored / 1048576.0, (double)content / 1048576.0);
	}
	free(out_default);
	oab_manifest_free(m);
	return rc;
}
