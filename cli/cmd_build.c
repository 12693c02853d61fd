/* cmd_build.c - otabundle build */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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
		CLI_SIGNER_LONGOPTS,
		{"unsigned", no_argument, NULL, 'U'},
		{"jobs", required_argument, NULL, 'j'},
		{"source-root", required_argument, NULL, 'R'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_signer_args sa = {0};
	struct cli_progress prog;
	struct oab_build_opts o = {.build_time = -1};
	struct oab_manifest *m = NULL;
	struct oab_err err = {0};
	char *out_default = NULL;
	const char *roots[CLI_MAX_SOURCE_ROOTS];
	size_t nroots = 0;
	int opt, unsig = 0, quiet = 0, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:j:qh", lo, NULL)) != -1) {
		int st = 0, r = cli_signer_option(&sa, "build", opt, optarg, &st);

		if (r < 0)
			return st;
		if (r > 0)
			continue;
		switch (opt) {
		case 'o':
			o.output = optarg;
			break;
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
		case 'R': /* only here, never in a manifest: see SECURITY.md */
			if (nroots == CLI_MAX_SOURCE_ROOTS)
				return cli_usage("build", "at most %d --source-root folders",
						 CLI_MAX_SOURCE_ROOTS);
			roots[nroots++] = optarg;
			break;
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
	if (unsig && (sa.nk || sa.nc))
		return cli_usage("build", "--unsigned conflicts with --key/--cert");
	if (!unsig && sa.nk == 0)
		return cli_usage("build", "no signing key: give --key KEY --cert CERT, or --unsigned");
	if ((rc = cli_signer_finish(&sa, "build")))
		return rc;
	o.signers = sa.specs;
	o.n_signers = sa.nk;
	o.chain_files = sa.chain;
	o.n_chain_files = sa.nch;
	o.source_roots = roots;
	o.n_source_roots = nroots;

	if (oab_manifest_load(argv[optind], &m, &err) < 0)
		return cli_fail(&err);
	if (!o.output) {
		out_default = default_output(m);
		o.output = out_default;
	}
	cli_progress_init(&prog, quiet);
	o.progress = cli_progress_cb;
	o.progress_arg = &prog;
	rc = oab_build(m, &o, &err);
	cli_progress_done(&prog);
	if (rc < 0) {
		rc = cli_fail(&err);
	} else {
		uint64_t content = 0, stored = 0;

		for (size_t i = 0; i < m->n_items; i++) {
			content += m->items[i].size;
			stored += m->items[i].stored_size;
		}
		if (!quiet && sa.nk)
			printf("built %s: %zu item%s, %.1f MiB stored (%.1f MiB content), signed by %zu key%s\n",
			       o.output, m->n_items, m->n_items == 1 ? "" : "s",
			       (double)stored / 1048576.0, (double)content / 1048576.0, sa.nk,
			       sa.nk == 1 ? "" : "s");
		else if (!quiet)
			printf("built %s: %zu item%s, %.1f MiB stored (%.1f MiB content), UNSIGNED\n",
			       o.output, m->n_items, m->n_items == 1 ? "" : "s",
			       (double)stored / 1048576.0, (double)content / 1048576.0);
	}
	free(out_default);
	oab_manifest_free(m);
	return rc;
}
