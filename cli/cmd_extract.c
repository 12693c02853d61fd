/* cmd_extract.c - otabundle extract */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cmd_extract(int argc, char **argv)
{
	static const struct option lo[] = {
		CLI_VERIFY_LONGOPTS,
		{"directory", required_argument, NULL, 'C'},
		{"force", no_argument, NULL, 'f'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_verify_args va = {.opts = {.min_security_version = -1, .now = -1}};
	struct oab_extract_opts xo = {0};
	struct oab_report *rep = NULL;
	struct oab_err err = {0};
	struct cli_progress prog;
	const char *bundle;
	int opt, quiet = 0, rc = 0, fd;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "C:fqh", lo, NULL)) != -1) {
		int st = 0, r = cli_verify_option(&va, "extract", opt, optarg, &st);

		if (r < 0) {
			rc = st;
			goto out;
		}
		if (r > 0)
			continue;
		switch (opt) {
		case 'C':
			xo.dir = optarg;
			break;
		case 'f':
			xo.force = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			cli_help_cmd(stdout, "extract");
			goto out;
		default:
			rc = cli_usage("extract", "invalid option");
			goto out;
		}
	}
	if (optind >= argc) {
		rc = cli_usage("extract", "expected a BUNDLE argument");
		goto out;
	}
	if (!xo.dir) {
		rc = cli_usage("extract", "no target folder: give -C DIR");
		goto out;
	}
	if (oab_trust_count(va.trust) == 0) {
		rc = cli_usage("extract", "no trust anchor: give --ca PEM or --trust PEM");
		goto out;
	}
	va.opts.trust = va.trust;
	bundle = argv[argc - 1];
	xo.names = (const char *const *)argv + optind;
	xo.n_names = (size_t)(argc - 1 - optind);
	fd = cli_open_bundle(bundle, &err);
	if (fd < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	cli_progress_init(&prog, quiet);
	va.opts.progress = cli_progress_cb;
	va.opts.progress_arg = &prog;
	rc = oab_extract(fd, bundle, &va.opts, &xo, &rep, &err);
	cli_progress_done(&prog);
	if (fd != STDIN_FILENO)
		close(fd);
	if (rc < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (!quiet) {
		const struct oab_manifest *m = rep->manifest;

		for (size_t i = 0; i < m->n_items; i++) {
			int want = xo.n_names == 0;

			for (size_t j = 0; j < xo.n_names; j++)
				if (strcmp(xo.names[j], m->items[i].name) == 0)
					want = 1;
			if (want)
				printf("extracted %s/%s (%llu bytes)\n", xo.dir, m->items[i].name,
				       (unsigned long long)m->items[i].size);
		}
	}
out:
	oab_report_free(rep);
	oab_trust_free(va.trust);
	return rc;
}
