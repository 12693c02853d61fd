/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_sign.c - otabundle sign, export-manifest, attach-signature */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* A tar archive (ustar magic), i.e. a bundle rather than a manifest? */
static int is_bundle(const char *path)
{
	char hdr[512];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return 0;
	n = fread(hdr, 1, sizeof(hdr), f);
	fclose(f);
	return n == sizeof(hdr) && memcmp(hdr + 257, "ustar", 5) == 0;
}

static int sign(int argc, char **argv, struct oab_trust **trust)
{
	static const struct option lo[] = {
		CLI_SIGNER_LONGOPTS,
		CLI_ANCHOR_LONGOPTS,
		{"output", required_argument, NULL, 'o'},
		{"replace", no_argument, NULL, 'R'},
		{"detached", no_argument, NULL, 'D'},
		{"sig", required_argument, NULL, 'S'},
		{"json", no_argument, NULL, 'J'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_signer_args sa = {0};
	struct oab_sign_opts o = {0};
	struct oab_err err = {0};
	const char *existing = NULL;
	unsigned long long seen = 0;
	int opt, detached = 0, quiet = 0, json = 0, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:qh", lo, NULL)) != -1) {
		int st = cli_once("sign", lo, opt, &seen), r;

		if (st)
			return st;
		r = cli_signer_option(&sa, "sign", opt, optarg, &st);
		if (r == 0)
			r = cli_anchor_option(trust, opt, optarg, &st);
		if (r < 0)
			return st;
		if (r > 0)
			continue;
		switch (opt) {
		case 'o':
			o.output = optarg;
			break;
		case 'R':
			o.replace = 1;
			break;
		case 'D':
			detached = 1;
			break;
		case 'S':
			existing = optarg;
			break;
		case 'J':
			json = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			cli_help_cmd(stdout, "sign");
			return 0;
		default:
			return cli_bad_option("sign", argv, lo);
		}
	}
	cli_json_mode(json);
	if (optind != argc - 1)
		return cli_usage("sign", detached ? "expected one MANIFEST argument" : "expected one BUNDLE argument");
	if (sa.nk == 0)
		return cli_usage("sign", "no signing key: give --key KEY --cert CERT");
	if ((rc = cli_signer_finish(&sa, "sign")))
		return rc;
	if (existing && !detached)
		return cli_usage("sign", "--sig is for --detached (signing an exported manifest)");
	if (detached && !o.output)
		return cli_usage("sign", "--detached needs -o SIG");
	if ((rc = cli_input(detached ? "manifest" : "bundle", argv[optind], 0)) ||
	    (existing && (rc = cli_input("--sig", existing, 0))))
		return rc;
	if (detached && is_bundle(argv[optind]))
		return cli_usage("sign", "'%s' is a bundle: --detached signs a manifest written by"
			     " export-manifest (to sign the bundle itself, leave out --detached)",
			     argv[optind]);
	o.signers = sa.specs;
	o.n_signers = sa.nk;
	o.chain_files = sa.chain;
	o.n_chain_files = sa.nch;
	o.trust = *trust;
	if (detached) {
		rc = oab_sign_detached(argv[optind], existing, o.output, &o, &err);
	} else {
		struct cli_progress prog;

		cli_progress_init(&prog, quiet || json);
		o.progress = cli_progress_cb;
		o.progress_arg = &prog;
		rc = oab_sign(argv[optind], &o, &err);
		cli_progress_done(&prog);
	}
	if (rc < 0)
		return cli_fail(&err);
	if (json) {
		json_t *doc = cli_json_new();

		if (doc) {
			json_object_set_new(doc, "output", cli_jstr(o.output ? o.output : argv[optind]));
			json_object_set_new(doc, "detached", json_boolean(detached));
			json_object_set_new(doc, "replaced", json_boolean(o.replace));
			json_object_set_new(doc, "signatures", json_integer((json_int_t)sa.nk));
		}
		return cli_json_emit(doc, 0);
	}
	if (!quiet) {
		printf("%s ", detached ? "wrote" : "signed");
		cli_put(stdout, o.output ? o.output : argv[optind], CLI_PUT_BACKSLASH, 0);
		printf(": %s %zu signature%s\n", o.replace ? "replaced by" : "added", sa.nk,
		       sa.nk == 1 ? "" : "s");
	}
	return 0;
}

int cmd_sign(int argc, char **argv)
{
	struct oab_trust *trust = NULL;
	int rc = sign(argc, argv, &trust);

	oab_trust_free(trust);
	return rc;
}

int cmd_export_manifest(int argc, char **argv)
{
	static const struct option lo[] = {
		{"output", required_argument, NULL, 'o'},
		{"sig", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *out = NULL, *sig = NULL;
	struct oab_err err = {0};
	unsigned long long seen = 0;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
		if ((rc = cli_once("export-manifest", lo, opt, &seen)))
			return rc;
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 'S':
			sig = optarg;
			break;
		case 'h':
			cli_help_cmd(stdout, "export-manifest");
			return 0;
		default:
			return cli_bad_option("export-manifest", argv, lo);
		}
	}
	if (optind != argc - 1 || !out)
		return cli_usage("export-manifest", "expected -o MANIFEST and one BUNDLE argument");
	if ((rc = cli_input("bundle", argv[optind], 0)))
		return rc;
	if (oab_export_manifest(argv[optind], out, sig, &err) < 0)
		return cli_fail(&err);
	return 0;
}

int cmd_attach_signature(int argc, char **argv)
{
	static const struct option lo[] = {
		{"output", required_argument, NULL, 'o'},
		{"replace", no_argument, NULL, 'R'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct oab_sign_opts o = {0};
	struct oab_err err = {0};
	unsigned long long seen = 0;
	int opt, quiet = 0, st;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:qh", lo, NULL)) != -1) {
		if ((st = cli_once("attach-signature", lo, opt, &seen)))
			return st;
		switch (opt) {
		case 'o':
			o.output = optarg;
			break;
		case 'R':
			o.replace = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			cli_help_cmd(stdout, "attach-signature");
			return 0;
		default:
			return cli_bad_option("attach-signature", argv, lo);
		}
	}
	if (optind != argc - 2)
		return cli_usage("attach-signature", "expected SIG and BUNDLE arguments");
	if ((st = cli_input("signature", argv[optind], 0)) || (st = cli_input("bundle", argv[optind + 1], 0)))
		return st;
	o.attach = argv[optind];
	{
		struct cli_progress prog;
		int rc;

		cli_progress_init(&prog, quiet);
		o.progress = cli_progress_cb;
		o.progress_arg = &prog;
		rc = oab_sign(argv[optind + 1], &o, &err);
		cli_progress_done(&prog);
		if (rc < 0)
			return cli_fail(&err);
	}
	if (!quiet) {
		printf("attached ");
		cli_put(stdout, argv[optind], CLI_PUT_BACKSLASH, 0);
		printf(" to ");
		cli_put(stdout, o.output ? o.output : argv[optind + 1], CLI_PUT_BACKSLASH, 0);
		printf("\n");
	}
	return 0;
}
