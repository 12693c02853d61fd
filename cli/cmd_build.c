/* SPDX-License-Identifier: Apache-2.0 */
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

/* zstd levels 20-22 only with --ultra, as zstd asks; the message points
 * at the manifest line. */
static int check_ultra(const char *path, const struct oab_manifest *m, int ultra)
{
	for (size_t i = 0; !ultra && i < m->n_items; i++) {
		const struct oab_item *it = &m->items[i];

		if (it->compression == OAB_COMP_ZSTD && it->level >= OAB_ZSTD_ULTRA_MIN)
			return cli_usage("build",
					 "%s:%d:%d: '%s': compression zstd:%d needs --ultra (levels %d-22 use windows up to 128 MiB and GiBs of memory)",
					 strcmp(path, "-") == 0 ? "<stdin>" : path, it->level_line,
					 it->level_col, it->name, it->level, OAB_ZSTD_ULTRA_MIN);
	}
	return 0;
}

const struct cli_opt cli_build_opts[] = {
	{"output", 'o', 'o', "OUT", 0, CLI_C_FILE, "bundle to write (default: NAME-VERSION.oab)"},
	CLI_SIGNER_OPTS,
	CLI_ANCHOR_OPTS,
	CLI_CRL_EMBED_OPT,
	CLI_TSA_OPTS,
	{"source-root", 0, 'R', "DIR", CLI_REPEAT, CLI_C_DIR,
	 "also read sources beneath DIR (default: the manifest's folder only)"},
	{"unsigned", 0, 'U', NULL, 0, CLI_C_NONE, "build without signing (sign it later)"},
	{"ultra", 0, 'u', NULL, 0, CLI_C_NONE, "allow zstd levels 20-22 (GiBs of memory)"},
	{"jobs", 'j', 'j', "N", 0, CLI_C_NONE, "compress with N threads (default: all CPUs)"},
	{"base", 0, 'B', "OLD", 0, CLI_C_FILE,
	 "store payloads as deltas against those of bundle OLD (verified with --ca/--trust)"},
	CLI_JSON_OPT,
	CLI_QUIET_OPT,
	CLI_HELP_OPT,
	CLI_OPT_END,
};

static int build(int argc, char **argv, struct oab_trust **trust)
{
	struct cli_parser p = {.cmd = cli_find("build")};
	struct cli_signer_args sa = {0};
	struct cli_crl_args crl = {0};
	struct cli_progress prog;
	struct oab_build_opts o = {.build_time = -1};
	struct oab_manifest *m = NULL;
	struct oab_err err = {0};
	char *out_default = NULL;
	const char *roots[CLI_MAX_SOURCE_ROOTS];
	size_t nroots = 0;
	int opt, unsig = 0, quiet = 0, json = 0, rc;

	while ((opt = cli_next(&p, argc, argv)) != CLI_END) {
		int st, r;

		if (opt == CLI_STOP)
			return p.status;
		r = cli_signer_option(&sa, "build", opt, optarg, &st);
		if (r == 0)
			r = cli_anchor_option(trust, opt, optarg, &st);
		if (r == 0)
			r = cli_crl_option(&crl, "build", opt, optarg, &st);
		if (r == 0)
			r = cli_tsa_option(&o.tsa_url, &o.tsa_timeout, "build", opt, optarg, &st);
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
		case 'J':
			json = 1;
			break;
		case 'R': /* only here, never in a manifest: see SECURITY.md */
			if ((rc = cli_input("--source-root", optarg, 1)))
				return rc;
			if (nroots == CLI_MAX_SOURCE_ROOTS)
				return cli_usage("build", "at most %d --source-root folders",
						 CLI_MAX_SOURCE_ROOTS);
			roots[nroots++] = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'u':
			o.ultra = 1;
			break;
		case 'B':
			if ((rc = cli_input("base bundle", optarg, 0)))
				return rc;
			o.base_bundle = optarg;
			break;
		}
	}
	cli_json_mode(json);
	if (optind != argc - 1)
		return cli_usage("build", "expected one MANIFEST argument");
	if (unsig && (sa.nk || sa.nc))
		return cli_usage("build", "--unsigned conflicts with --key/--cert");
	if (unsig && *trust && !o.base_bundle)
		return cli_usage("build", "--ca/--trust check the signers: not with --unsigned");
	if (o.base_bundle && !*trust)
		return cli_usage("build", "--base: give --ca PEM or --trust PEM to verify the base bundle");
	if (!unsig && sa.nk == 0)
		return cli_usage("build", "no signing key: give --key KEY --cert CERT, or --unsigned");
	if ((rc = cli_signer_finish(&sa, "build")))
		return rc;
	o.signers = sa.specs;
	o.n_signers = sa.nk;
	o.chain_files = sa.chain;
	o.n_chain_files = sa.nch;
	o.crl_files = crl.files;
	o.n_crl_files = crl.n;
	o.trust = *trust;
	o.warn = cli_warn;
	o.source_roots = roots;
	o.n_source_roots = nroots;

	o.manifest_path = argv[optind];
	if (oab_manifest_load(argv[optind], &m, &err) < 0)
		return cli_fail(&err);
	if ((rc = check_ultra(argv[optind], m, o.ultra))) {
		oab_manifest_free(m);
		return rc;
	}
	if (!o.output) {
		out_default = default_output(m);
		o.output = out_default;
	}
	if ((rc = cli_output_not_noted("build", o.output))) {
		free(out_default);
		oab_manifest_free(m);
		return rc;
	}
	cli_progress_init(&prog, quiet || json);
	o.progress = cli_progress_cb;
	o.progress_arg = &prog;
	rc = oab_build(m, &o, &err);
	cli_progress_done(&prog);
	if (rc < 0) {
		rc = cli_fail(&err);
	} else if (json) {
		json_t *doc = cli_json_new();

		if (doc) {
			json_object_set_new(doc, "output", cli_jstr(o.output));
			json_object_set_new(doc, "signed", json_boolean(sa.nk > 0));
			json_object_set_new(doc, "signatures", json_integer((json_int_t)sa.nk));
			cli_json_manifest(doc, m);
		}
		rc = cli_json_emit(doc, 0);
	} else if (!quiet) {
		uint64_t content = 0, stored = 0;

		for (size_t i = 0; i < m->n_items; i++) {
			content += m->items[i].size;
			stored += m->items[i].stored_size;
		}
		printf("built ");
		cli_put(stdout, o.output, CLI_PUT_BACKSLASH, 0);
		printf(": %zu item%s, %.1f MiB stored (%.1f MiB content), ", m->n_items,
		       m->n_items == 1 ? "" : "s", (double)stored / 1048576.0,
		       (double)content / 1048576.0);
		if (sa.nk)
			printf("signed by %zu key%s\n", sa.nk, sa.nk == 1 ? "" : "s");
		else
			printf("UNSIGNED\n");
	}
	free(out_default);
	oab_manifest_free(m);
	return rc;
}

int cmd_build(int argc, char **argv)
{
	struct oab_trust *trust = NULL;
	int rc = build(argc, argv, &trust);

	oab_trust_free(trust);
	return rc;
}
