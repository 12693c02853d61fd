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

const struct cli_opt cli_sign_opts[] = {
	{"output", 'o', 'o', "OUT", 0, CLI_C_FILE,
	 "write the signed bundle here (default: replace BUNDLE)"},
	CLI_SIGNER_OPTS,
	CLI_ANCHOR_OPTS,
	CLI_CRL_EMBED_OPT,
	CLI_TSA_OPTS,
	{"replace", 0, 'R', NULL, 0, CLI_C_NONE, "drop the existing signatures first (key rotation)"},
	{"detached", 0, 'D', NULL, 0, CLI_C_NONE,
	 "sign a manifest from export-manifest, writing the signature to -o"},
	{"sig", 0, 'S', "EXISTING", 0, CLI_C_FILE, "with --detached: the signature to add to"},
	CLI_JSON_OPT,
	CLI_QUIET_OPT,
	CLI_HELP_OPT,
	CLI_OPT_END,
};

const struct cli_opt cli_export_opts[] = {
	{"output", 'o', 'o', "MANIFEST", 0, CLI_C_FILE, "write the bundle's manifest.yaml here"},
	{"sig", 0, 'S', "SIG", 0, CLI_C_FILE, "also write its manifest.sig here"},
	/* ---- signing room for a native format (otabundle-export(5)) ---- */
	{"to", 0, 'T', "FORMAT", 0, CLI_C_NONE,
	 "verify BUNDLE, then write what an export to FORMAT signs instead"},
	{"unsigned", 0, 6102, "OUT", 0, CLI_C_FILE, "with --to rauc (verity): the unsigned RAUC bundle"},
	{"rauc-plain", 0, 6101, NULL, 0, CLI_C_NONE, "with --to rauc: the 'plain' format"},
	CLI_VERIFY_OPTS,
	CLI_CRL_VERIFY_OPTS,
	CLI_HELP_OPT,
	CLI_OPT_END,
};

const struct cli_opt cli_attach_opts[] = {
	{"output", 'o', 'o', "OUT", 0, CLI_C_FILE, "write the bundle here (default: replace BUNDLE)"},
	{"to", 0, 'T', "FORMAT", 0, CLI_C_NONE,
	 "write the export to FORMAT signed by SIG, made over export-manifest --to's output"},
	{"signer", 0, 4102, "PEM", 0, CLI_C_FILE,
	 "with --to mender: the certificate or public key of the key that made SIG"},
	CLI_VERIFY_OPTS,
	{"replace", 0, 'R', NULL, 0, CLI_C_NONE, "let SIG drop signers the bundle has"},
	{"quiet", 'q', 'q', NULL, 0, CLI_C_NONE, "print nothing on success"},
	CLI_HELP_OPT,
	CLI_OPT_END,
};

static int sign(int argc, char **argv, struct oab_trust **trust)
{
	struct cli_parser p = {.cmd = cli_find("sign")};
	struct cli_signer_args sa = {0};
	struct cli_crl_args crl = {0};
	struct oab_sign_opts o = {0};
	struct oab_err err = {0};
	const char *existing = NULL;
	int opt, detached = 0, quiet = 0, json = 0, rc;

	while ((opt = cli_next(&p, argc, argv)) != CLI_END) {
		int st, r;

		if (opt == CLI_STOP)
			return p.status;
		r = cli_signer_option(&sa, "sign", opt, optarg, &st);
		if (r == 0)
			r = cli_anchor_option(trust, opt, optarg, &st);
		if (r == 0)
			r = cli_crl_option(&crl, "sign", opt, optarg, &st);
		if (r == 0)
			r = cli_tsa_option(&o.tsa_url, &o.tsa_timeout, "sign", opt, optarg, &st);
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
	    (existing && (rc = cli_input("--sig", existing, 0))) ||
	    (rc = cli_output_not_noted("sign", o.output ? o.output : argv[optind])))
		return rc;
	if (detached && is_bundle(argv[optind]))
		return cli_usage("sign", "'%s' is a bundle: --detached signs a manifest written by"
			     " export-manifest (to sign the bundle itself, leave out --detached)",
			     argv[optind]);
	o.signers = sa.specs;
	o.n_signers = sa.nk;
	o.chain_files = sa.chain;
	o.n_chain_files = sa.nch;
	o.crl_files = crl.files;
	o.n_crl_files = crl.n;
	o.warn = cli_warn;
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

/* export-manifest --to rauc: the signing room's step 1 for RAUC: the
 * unsigned bundle (plain: -o, which is what plain signs; verity:
 * --unsigned) and, for verity, the manifest.raucm its CMS must carry. */
static int export_room_rauc(const char *out, const char *unsigned_out, int plain,
			    const char *bundle, struct cli_verify_args *va)
{
	struct oab_export_opts o = {0};
	struct oab_err err = {0};
	int rc;

	if (oab_trust_count(va->trust) == 0)
		return cli_usage("export-manifest", "--to: no trust anchor for the input: give --ca PEM or --trust PEM");
	if (plain && unsigned_out)
		return cli_usage("export-manifest",
				 "--rauc-plain: -o gets the unsigned bundle, which is what plain signs (no --unsigned)");
	if (!plain && !unsigned_out)
		return cli_usage("export-manifest", "--to rauc: give --unsigned OUT for the unsigned bundle");
	if ((rc = cli_output_not_anchor("export-manifest", va, out)) ||
	    (rc = cli_output_not_anchor("export-manifest", va, unsigned_out)))
		return rc;
	va->opts.trust = va->trust;
	va->opts.tsa_trust = va->tsa_trust;
	o.to = OAB_EXPORT_RAUC;
	o.verify = &va->opts;
	o.rauc_plain = plain;
	o.rauc_unsigned = 1;
	o.output = plain ? out : unsigned_out;
	o.rauc_tbs = plain ? NULL : out;
	o.warn = cli_warn;
	if (oab_export(bundle, &o, &err) < 0)
		return cli_fail(&err);
	return 0;
}

static int export_manifest(int argc, char **argv, struct cli_verify_args *va)
{
	struct cli_parser p = {.cmd = cli_find("export-manifest")};
	const char *out = NULL, *sig = NULL, *unsigned_out = NULL;
	struct oab_err err = {0};
	enum oab_export_to to = 0;
	int opt, rc, plain = 0, vopts = 0;

	while ((opt = cli_next(&p, argc, argv)) != CLI_END) {
		int st, r;

		if (opt == CLI_STOP)
			return p.status;
		if ((r = cli_verify_option(va, "export-manifest", opt, optarg, &st)) < 0)
			return st;
		if (r > 0) {
			vopts = 1;
			continue;
		}
		switch (opt) {
		case 'T':
			if ((st = cli_export_format("export-manifest", optarg, &to)))
				return st;
			break;
		case 'o':
			out = optarg;
			break;
		case 'S':
			sig = optarg;
			break;
		case 6102:
			unsigned_out = optarg;
			break;
		case 6101:
			plain = 1;
			break;
		}
	}
	if (optind != argc - 1 || !out)
		return cli_usage("export-manifest", "expected -o MANIFEST and one BUNDLE argument");
	if (!to && (vopts || unsigned_out || plain))
		return cli_usage("export-manifest", "--unsigned and --rauc-plain go with --to rauc; verify options need --to");
	if (to != OAB_EXPORT_RAUC && (unsigned_out || plain))
		return cli_usage("export-manifest", "--unsigned and --rauc-plain go with --to rauc");
	if ((rc = cli_input("bundle", argv[optind], 0)))
		return rc;
	if (to) {
		if (sig)
			return cli_usage("export-manifest", "--sig is for otabundle's own manifest, not --to");
		if (to == OAB_EXPORT_RAUC)
			return export_room_rauc(out, unsigned_out, plain, argv[optind], va);
		return cli_export_room("export-manifest", OAB_ROOM_TBS, to, out, NULL, NULL, argv[optind],
				       va, 1);
	}
	if (oab_export_manifest(argv[optind], out, sig, &err) < 0)
		return cli_fail(&err);
	return 0;
}

int cmd_export_manifest(int argc, char **argv)
{
	struct cli_verify_args va = {.opts = {.min_security_version = -1, .now = -1}};
	int rc = export_manifest(argc, argv, &va);

	oab_trust_free(va.trust);
	oab_trust_free(va.tsa_trust);
	return rc;
}

/* attach-signature's summary line: "attached SIG to [WHAT]TARGET". */
static int attached(const char *sig, const char *what, const char *target, int quiet)
{
	if (!quiet) {
		printf("attached ");
		cli_put(stdout, sig, CLI_PUT_BACKSLASH, 0);
		printf(" to %s", what);
		cli_put(stdout, target, CLI_PUT_BACKSLASH, 0);
		printf("\n");
	}
	return 0;
}

static int attach_signature(int argc, char **argv, struct cli_verify_args *va)
{
	struct cli_parser p = {.cmd = cli_find("attach-signature")};
	struct oab_sign_opts o = {0};
	struct oab_err err = {0};
	enum oab_export_to to = 0;
	const char *signer = NULL;
	int opt, quiet = 0, st;

	while ((opt = cli_next(&p, argc, argv)) != CLI_END) {
		int r;

		if (opt == CLI_STOP)
			return p.status;
		if ((r = cli_verify_option(va, "attach-signature", opt, optarg, &st)) < 0)
			return st;
		if (r > 0)
			continue;
		switch (opt) {
		case 'T':
			if ((st = cli_export_format("attach-signature", optarg, &to)))
				return st;
			break;
		case 4102:
			signer = optarg;
			break;
		case 'o':
			o.output = optarg;
			break;
		case 'R':
			o.replace = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		}
	}
	if (optind != argc - 2)
		return cli_usage("attach-signature", "expected SIG and BUNDLE arguments");
	if ((st = cli_input("signature", argv[optind], 0)) || (st = cli_input("bundle", argv[optind + 1], 0)))
		return st;
	if (signer && !to)
		return cli_usage("attach-signature", "--signer goes with --to mender");
	if (to && o.replace)
		return cli_usage("attach-signature", "--replace: not with --to (a native bundle has one signature)");
	if (to == OAB_EXPORT_RAUC) {
		/* BUNDLE is the unsigned RAUC bundle of export-manifest --to rauc */
		if (oab_trust_count(va->trust))
			return cli_usage("attach-signature",
					 "--to rauc: BUNDLE is the unsigned RAUC bundle; SIG is checked against its own certificate "
					 "(judge trust with otabundle verify --ca on the result)");
		if (oab_export_attach(argv[optind + 1], argv[optind], o.output, OAB_EXPORT_RAUC, &err) < 0)
			return cli_fail(&err);
		return attached(argv[optind], "", o.output ? o.output : argv[optind + 1], quiet);
	}
	if (to) {
		if ((st = cli_export_room("attach-signature", OAB_ROOM_ATTACH, to, o.output, argv[optind],
					  signer, argv[optind + 1], va, quiet)))
			return st;
		return attached(argv[optind], "the export ", o.output, quiet);
	}
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
	return attached(argv[optind], "", o.output ? o.output : argv[optind + 1], quiet);
}

int cmd_attach_signature(int argc, char **argv)
{
	struct cli_verify_args va = {.opts = {.min_security_version = -1, .now = -1}};
	int rc = attach_signature(argc, argv, &va);

	oab_trust_free(va.trust);
	oab_trust_free(va.tsa_trust);
	return rc;
}
