/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_inspect.c - otabundle inspect */
#include <getopt.h>
#include <unistd.h>

#include "cli.h"

const struct cli_opt cli_inspect_opts[] = {
	CLI_JSON_OPT,
	CLI_HELP_OPT,
	CLI_OPT_END,
};

int cmd_inspect(int argc, char **argv)
{
	struct cli_parser p = {.cmd = cli_find("inspect")};
	struct oab_report *rep = NULL;
	struct oab_err err = {0};
	int opt, json = 0, rc, fd;

	while ((opt = cli_next(&p, argc, argv)) != CLI_END) {
		if (opt == CLI_STOP)
			return p.status;
		if (opt == 'J')
			json = 1;
	}
	cli_json_mode(json);
	if (optind != argc - 1)
		return cli_usage("inspect", "expected one BUNDLE argument");
	fd = cli_open_bundle(argv[optind], &err);
	if (fd < 0)
		return cli_fail(&err);
	rc = oab_inspect(fd, argv[optind], &rep, &err);
	if (fd != STDIN_FILENO)
		close(fd);
	if (rc < 0)
		rc = cli_fail(&err);
	if (json) {
		json_t *doc = cli_json_new();

		if (doc && rep && rc == 0)
			cli_report_json(doc, rep, 0);
		rc = cli_json_emit(doc, rc);
	} else if (rc == 0) {
		cli_report_text(stdout, rep, 0);
	}
	oab_report_free(rep);
	return rc;
}
