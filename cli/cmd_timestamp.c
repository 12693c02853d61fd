/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_timestamp.c - otabundle timestamp, and the RFC 3161 options the
 * other commands share: --tsa/--tsa-timeout (build, sign) and --tsa-ca
 * (verify, extract). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const struct cli_opt cli_timestamp_opts[] = {
	{"output", 'o', 'o', "OUT", 0, CLI_C_FILE,
	 "write the timestamped bundle here (default: replace BUNDLE)"},
	CLI_TSA_OPTS,
	CLI_JSON_OPT,
	CLI_QUIET_OPT,
	CLI_HELP_OPT,
	CLI_OPT_END,
};

int cli_tsa_option(const char **url, int *timeout, const char *cmd, int opt, const char *arg,
		   int *status)
{
	char *end;
	long v;

	switch (opt) {
	case 3001:
		if (strncmp(arg, "http://", 7) != 0 && strncmp(arg, "https://", 8) != 0) {
			*status = cli_usage(cmd, "--tsa: expected an http:// or https:// URL, found '%s'", arg);
			return -1;
		}
		*url = arg;
		return 1;
	case 3002:
		v = strtol(arg, &end, 10);
		if (!*arg || *end || arg[0] == '+' || arg[0] == '-' || v < 1 || v > 600) {
			*status = cli_usage(cmd, "--tsa-timeout: expected an integer from 1 to 600, found '%s'",
					    arg);
			return -1;
		}
		*timeout = (int)v;
		return 1;
	default:
		return 0;
	}
}

int cli_tsa_ca_option(struct oab_trust **tsa, int opt, const char *arg, int *status)
{
	return opt == 3003 ? cli_load_anchor(tsa, "--tsa-ca", arg, 0, status) : 0;
}

int cmd_timestamp(int argc, char **argv)
{
	struct cli_parser p = {.cmd = cli_find("timestamp")};
	struct oab_sign_opts o = {0};
	struct oab_err err = {0};
	struct cli_progress prog;
	int opt, quiet = 0, json = 0, rc;

	while ((opt = cli_next(&p, argc, argv)) != CLI_END) {
		int st, r;

		if (opt == CLI_STOP)
			return p.status;
		r = cli_tsa_option(&o.tsa_url, &o.tsa_timeout, "timestamp", opt, optarg, &st);
		if (r < 0)
			return st;
		if (r > 0)
			continue;
		switch (opt) {
		case 'o':
			o.output = optarg;
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
		return cli_usage("timestamp", "expected one BUNDLE argument");
	if (!o.tsa_url)
		return cli_usage("timestamp", "no time-stamping authority: give --tsa URL");
	if ((rc = cli_input("bundle", argv[optind], 0)))
		return rc;
	cli_progress_init(&prog, quiet || json);
	o.progress = cli_progress_cb;
	o.progress_arg = &prog;
	rc = oab_timestamp(argv[optind], &o, &err);
	cli_progress_done(&prog);
	if (rc < 0)
		return cli_fail(&err);
	if (json) {
		json_t *doc = cli_json_new();

		if (doc)
			json_object_set_new(doc, "output", cli_jstr(o.output ? o.output : argv[optind]));
		return cli_json_emit(doc, 0);
	}
	if (!quiet) {
		printf("timestamped ");
		cli_put(stdout, o.output ? o.output : argv[optind], CLI_PUT_BACKSLASH, 0);
		printf(": every signature has a token\n");
	}
	return 0;
}
