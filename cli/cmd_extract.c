/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_extract.c - otabundle extract */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int wanted(const struct oab_extract_opts *xo, const char *name)
{
	if (xo->n_names == 0)
		return 1;
	for (size_t j = 0; j < xo->n_names; j++)
		if (strcmp(xo->names[j], name) == 0)
			return 1;
	return 0;
}

/* "extracted DIR/NAME (N bytes)" lines, or the "extracted" array. */
static void report_written(const struct oab_extract_opts *xo, const struct oab_manifest *m,
			   json_t *doc, int quiet)
{
	json_t *arr = doc ? json_array() : NULL;

	for (size_t i = 0; i < m->n_items; i++) {
		const struct oab_item *it = &m->items[i];
		char *path;

		if (!wanted(xo, it->name) || asprintf(&path, "%s/%s", xo->dir, it->name) < 0)
			continue;
		if (arr) {
			json_t *o = json_object();

			json_object_set_new(o, "name", cli_jstr(it->name));
			json_object_set_new(o, "path", cli_jstr(path));
			json_object_set_new(o, "size", json_integer((json_int_t)it->size));
			json_array_append_new(arr, o);
		} else if (!quiet) {
			printf("extracted ");
			cli_put(stdout, path, CLI_PUT_BACKSLASH, 0);
			printf(" (%llu bytes)\n", (unsigned long long)it->size);
		}
		free(path);
	}
	if (doc)
		json_object_set_new(doc, "extracted", arr);
}

const struct cli_opt cli_extract_opts[] = {
	CLI_VERIFY_OPTS,
	CLI_CRL_VERIFY_OPTS,
	CLI_TSA_CA_OPT,
	{"directory", 'C', 'C', "DIR", 0, CLI_C_DIR, "write the payloads into the folder DIR"},
	{"force", 'f', 'f', NULL, 0, CLI_C_NONE, "replace files that exist in DIR"},
	{"base", 0, 'B', "NAME=PATH", CLI_REPEAT, CLI_C_FILE,
	 "rebuild delta payload NAME from its base PATH (a file or block device)"},
	CLI_JSON_OPT,
	CLI_QUIET_OPT,
	CLI_HELP_OPT,
	CLI_OPT_END,
};

/* --base NAME=PATH: PATH opened for reading (a file or a block device;
 * the library checks its size and SHA-256 against the signed ones). */
static int add_base(struct oab_base *b, size_t *n, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *name;
	int fd;

	if (!eq || eq == arg || !eq[1])
		return cli_usage("extract", "--base: expected NAME=PATH, found '%s'", arg);
	if (*n == OAB_MAX_ITEMS)
		return cli_usage("extract", "at most %d --base options", OAB_MAX_ITEMS);
	for (size_t i = 0; i < *n; i++)
		if (strncmp(b[i].name, arg, (size_t)(eq - arg)) == 0 && !b[i].name[eq - arg])
			return cli_usage("extract", "--base: '%.*s' given twice", (int)(eq - arg), arg);
	if (cli_input("base", eq + 1, 0))
		return 2;
	fd = open(eq + 1, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		fprintf(stderr, "otabundle: error: base ");
		cli_put(stderr, eq + 1, CLI_PUT_BACKSLASH, 0);
		fprintf(stderr, ": %s\n", strerror(errno));
		return 3;
	}
	if (!(name = strndup(arg, (size_t)(eq - arg)))) {
		close(fd);
		return 5;
	}
	b[*n].name = name;
	b[(*n)++].fd = fd;
	return 0;
}

int cmd_extract(int argc, char **argv)
{
	struct cli_parser p = {.cmd = cli_find("extract")};
	struct cli_verify_args va = {.opts = {.min_security_version = -1, .now = -1}};
	struct oab_extract_opts xo = {0};
	struct oab_base *bases = calloc(OAB_MAX_ITEMS, sizeof(*bases));
	size_t nb = 0;
	struct oab_report *rep = NULL;
	struct oab_err err = {0};
	struct cli_progress prog;
	const char *bundle;
	int opt, quiet = 0, json = 0, rc = 0, fd;

	if (!bases)
		return 5;
	while ((opt = cli_next(&p, argc, argv)) != CLI_END) {
		int st, r;

		if (opt == CLI_STOP) {
			rc = p.status;
			goto out;
		}
		r = cli_verify_option(&va, "extract", opt, optarg, &st);
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
		case 'B':
			if ((rc = add_base(bases, &nb, optarg)))
				goto out;
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
	if ((rc = cli_input("extract folder", xo.dir, 1)))
		goto out;
	va.opts.trust = va.trust;
	va.opts.tsa_trust = va.tsa_trust;
	bundle = argv[argc - 1];
	xo.bases = bases;
	xo.n_bases = nb;
	xo.names = (const char *const *)argv + optind;
	xo.n_names = (size_t)(argc - 1 - optind);
	fd = cli_open_bundle(bundle, &err);
	if (fd < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	cli_progress_init(&prog, quiet || json);
	va.opts.progress = cli_progress_cb;
	va.opts.progress_arg = &prog;
	rc = oab_extract(fd, bundle, &va.opts, &xo, &rep, &err);
	cli_progress_done(&prog);
	if (fd != STDIN_FILENO)
		close(fd);
	if (rc < 0) {
		rc = cli_fail(&err);
		cli_verify_hint(&va, rep);
	}
	if (json) {
		json_t *doc = cli_json_new();

		if (doc && rep) {
			cli_report_json(doc, rep, 1);
			json_object_set_new(doc, "directory", cli_jstr(xo.dir));
			if (rc == 0)
				report_written(&xo, rep->manifest, doc, quiet);
			else
				json_object_set_new(doc, "extracted", json_array());
		}
		rc = cli_json_emit(doc, rc);
	} else if (rc == 0) {
		report_written(&xo, rep->manifest, NULL, quiet);
	}
out:
	for (size_t i = 0; i < nb; i++) {
		free((char *)bases[i].name);
		close(bases[i].fd);
	}
	free(bases);
	oab_report_free(rep);
	oab_trust_free(va.trust);
	oab_trust_free(va.tsa_trust);
	return rc;
}
