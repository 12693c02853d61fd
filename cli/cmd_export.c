/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_export.c - otabundle export --to rauc|swupdate|mender */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const export_names[] = {[OAB_EXPORT_RAUC] = "rauc",
					   [OAB_EXPORT_SWUPDATE] = "swupdate",
					   [OAB_EXPORT_MENDER] = "mender"};

const struct cli_opt cli_export_native_opts[] = {
	{"to", 0, 'T', "FORMAT", 0, CLI_C_NONE, "native format to write: rauc, swupdate or mender"},
	{"output", 'o', 'o', "OUT", 0, CLI_C_FILE, "the native bundle to write"},
	CLI_SIGNER_OPTS,
	CLI_VERIFY_OPTS,
	CLI_CRL_VERIFY_OPTS,
	CLI_TSA_CA_OPT,
	/* ---- RAUC options ---- */
	{"rauc-plain", 0, 6101, NULL, 0, CLI_C_NONE,
	 "RAUC: write the 'plain' format (detached CMS over the squashfs), not 'verity'"},
	/* ---- SWUpdate options ---- */
	{"cpio-crc", 0, 5201, NULL, 0, CLI_C_NONE,
	 "swupdate: write cpio crc headers (070702, a checksum per member), not newc"},
	/* ---- Mender options ---- */
	{"mender-compression", 0, 4101, "METHOD[:LEVEL]", 0, CLI_C_NONE,
	 "Mender: gzip (default), xz, zstd (mender >= 3.10) or none"},
	CLI_JSON_OPT,
	CLI_QUIET_OPT,
	CLI_HELP_OPT,
	CLI_OPT_END,
};

int cli_export_format(const char *cmd, const char *name, enum oab_export_to *to)
{
	for (int i = OAB_EXPORT_RAUC; i <= OAB_EXPORT_MENDER; i++)
		if (strcmp(name, export_names[i]) == 0) {
			*to = (enum oab_export_to)i;
			return 0;
		}
	return cli_usage(cmd, "--to: expected rauc, swupdate or mender, found '%s'", name);
}

/* export-manifest --to and attach-signature --to: the signing room of a
 * native format (struct oab_export_opts room); RAUC's is in cmd_sign.c. */
int cli_export_room(const char *cmd, enum oab_export_room room, enum oab_export_to to,
		    const char *out, const char *sig, const char *signer, const char *bundle,
		    struct cli_verify_args *va, int quiet)
{
	struct oab_export_opts o = {0};
	struct oab_err err = {0};
	struct cli_progress prog;
	int rc;

	if (!out)
		return cli_usage(cmd, "--to needs -o %s", room == OAB_ROOM_ATTACH ? "OUT" : "FILE");
	if (room == OAB_ROOM_ATTACH && to == OAB_EXPORT_MENDER && !signer)
		return cli_usage(cmd, "--to mender: give --signer PEM (the certificate or public key "
				 "of the key that made SIG)");
	if (signer && to != OAB_EXPORT_MENDER)
		return cli_usage(cmd, "--signer is for --to mender (a CMS names its signer)");
	if (oab_trust_count(va->trust) == 0)
		return cli_usage(cmd, "--to: no trust anchor for the bundle: give --ca PEM or --trust PEM");
	if ((rc = cli_output_not_anchor(cmd, va, out)))
		return rc;
	va->opts.trust = va->trust;
	va->opts.tsa_trust = va->tsa_trust;
	o.output = out;
	o.to = to;
	o.verify = &va->opts;
	o.trust = va->trust;
	o.room = room;
	o.room_signature = sig;
	o.room_signer = signer;
	o.warn = cli_warn;
	cli_progress_init(&prog, quiet);
	o.progress = cli_progress_cb;
	o.progress_arg = &prog;
	rc = oab_export(bundle, &o, &err);
	cli_progress_done(&prog);
	return rc < 0 ? cli_fail(&err) : 0;
}

static int export_bundle(int argc, char **argv, struct cli_verify_args *va)
{
	struct cli_parser p = {.cmd = cli_find("export")};
	struct cli_signer_args sa = {0};
	struct cli_progress prog;
	struct oab_export_opts o = {0};
	struct oab_err err = {0};
	const char *bundle;
	int opt, quiet = 0, json = 0, rc;

	while ((opt = cli_next(&p, argc, argv)) != CLI_END) {
		int st, r;

		if (opt == CLI_STOP)
			return p.status;
		r = cli_signer_option(&sa, "export", opt, optarg, &st);
		if (r == 0)
			r = cli_verify_option(va, "export", opt, optarg, &st);
		if (r < 0)
			return st;
		if (r > 0)
			continue;
		switch (opt) {
		case 'T':
			if ((st = cli_export_format("export", optarg, &o.to)))
				return st;
			break;
		case 'o':
			o.output = optarg;
			break;
		case 5201: /* SWUpdate */
			o.swupdate_crc = 1;
			break;
		case 6101: /* RAUC */
			o.rauc_plain = 1;
			break;
		case 4101: {
			static const char *const mc[] = {"gzip", "xz", "zstd", "none"};
			const char *colon = strchr(optarg, ':');
			size_t len = colon ? (size_t)(colon - optarg) : strlen(optarg);
			int k = -1;
			char *end = NULL;

			for (int i = 0; i < 4; i++)
				if (strlen(mc[i]) == len && strncmp(optarg, mc[i], len) == 0)
					k = i;
			if (colon)
				o.mender_level = (int)strtol(colon + 1, &end, 10);
			if (k < 0 || (colon && (end == colon + 1 || *end || o.mender_level < 0 ||
						o.mender_level > 19)))
				return cli_usage("export", "--mender-compression: expected gzip, xz, "
						 "zstd or none, with :LEVEL for the first three; found '%s'",
						 optarg);
			o.mender_compression = (enum oab_mender_compression)k;
			break;
		}
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
		return cli_usage("export", "expected one BUNDLE argument");
	if (!o.to)
		return cli_usage("export", "no format: give --to rauc, --to swupdate or --to mender");
	if (!o.output)
		return cli_usage("export", "no output: give -o OUT");
	if (o.rauc_plain && o.to != OAB_EXPORT_RAUC)
		return cli_usage("export", "--rauc-plain: only with --to rauc");
	if (oab_trust_count(va->trust) == 0)
		return cli_usage("export",
				 "no trust anchor for the input: give --ca PEM or --trust PEM");
	if (sa.nk == 0)
		return cli_usage("export", "no signing key: give --key KEY --cert CERT");
	if ((rc = cli_signer_finish(&sa, "export")) || (rc = cli_output_not_anchor("export", va, o.output)))
		return rc;
	bundle = argv[optind];
	va->opts.trust = va->trust;
	va->opts.tsa_trust = va->tsa_trust;
	o.verify = &va->opts;
	o.signers = sa.specs;
	o.n_signers = sa.nk;
	o.chain_files = sa.chain;
	o.n_chain_files = sa.nch;
	o.warn = cli_warn;
	cli_progress_init(&prog, quiet || json);
	o.progress = cli_progress_cb;
	o.progress_arg = &prog;
	rc = oab_export(bundle, &o, &err);
	cli_progress_done(&prog);
	if (rc < 0)
		rc = cli_fail(&err);
	if (json) {
		json_t *doc = cli_json_new();

		if (doc && rc == 0) {
			json_object_set_new(doc, "output", cli_jstr(o.output));
			json_object_set_new(doc, "bundle-format", json_string(export_names[o.to]));
			json_object_set_new(doc, "signatures", json_integer((json_int_t)sa.nk));
		}
		rc = cli_json_emit(doc, rc);
	} else if (rc == 0 && !quiet) {
		printf("exported ");
		cli_put(stdout, bundle, CLI_PUT_BACKSLASH, 0);
		printf(" as %s: ", export_names[o.to]);
		cli_put(stdout, o.output, CLI_PUT_BACKSLASH, 0);
		printf(" (signed by %zu key%s)\n", sa.nk, sa.nk == 1 ? "" : "s");
	}
	return rc;
}

int cmd_export(int argc, char **argv)
{
	struct cli_verify_args va = {.opts = {.min_security_version = -1, .now = -1}};
	int rc = export_bundle(argc, argv, &va);

	oab_trust_free(va.trust);
	oab_trust_free(va.tsa_trust);
	return rc;
}
