/* SPDX-License-Identifier: Apache-2.0 */
/* options.c - the option tables at work: parsing (getopt_long made from
 * a command's table), --help with one line per option, and the bash and
 * zsh completion scripts (otabundle completion bash|zsh). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "cli.h"

const struct cli_cmd *cli_find(const char *name)
{
	for (const struct cli_cmd *c = cli_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static const struct cli_opt *opt_by_id(const struct cli_opt *t, int id)
{
	for (; t->name; t++)
		if (t->id == id)
			return t;
	return NULL;
}

/* "-o/--output" or "--json", as messages name an option. */
static void opt_name(const struct cli_opt *o, char *buf, size_t n)
{
	if (o->shortc)
		snprintf(buf, n, "-%c/--%s", o->shortc, o->name);
	else
		snprintf(buf, n, "--%s", o->name);
}

static void parser_ready(struct cli_parser *p)
{
	size_t n = 0, s = 0;

	for (const struct cli_opt *o = p->cmd->opts; o->name && n < CLI_MAX_OPTS; o++, n++) {
		p->lo[n] = (struct option){o->name, o->arg ? required_argument : no_argument, NULL,
					   o->id};
		if (o->shortc) {
			p->shorts[s++] = (char)o->shortc;
			if (o->arg)
				p->shorts[s++] = ':';
		}
	}
	p->lo[n] = (struct option){NULL, 0, NULL, 0};
	p->shorts[s] = '\0';
	p->ready = 1;
	optind = 1;
	opterr = 0; /* we say it, once and escaped */
}

/* getopt_long returned '?': the unknown option, or the one missing its
 * value. */
static int bad_option(const struct cli_parser *p, char **argv)
{
	const char *cmd = p->cmd->name;
	const struct cli_opt *o = optopt ? opt_by_id(p->cmd->opts, optopt) : NULL;
	char name[80];

	if (o && o->arg) {
		opt_name(o, name, sizeof(name));
		return cli_usage(cmd, "%s needs a value", name);
	}
	if (optopt > 0 && optopt < 128)
		return cli_usage(cmd, "unknown option '-%c'", optopt);
	return cli_usage(cmd, "unknown or ambiguous option '%s'", optind > 0 ? argv[optind - 1] : "?");
}

int cli_next(struct cli_parser *p, int argc, char **argv)
{
	const struct cli_opt *o;
	int opt, i;

	if (!p->ready)
		parser_ready(p);
	opt = getopt_long(argc, argv, p->shorts, p->lo, NULL);
	if (opt == -1)
		return CLI_END;
	o = opt == '?' ? NULL : opt_by_id(p->cmd->opts, opt);
	if (!o) {
		p->status = bad_option(p, argv);
		return CLI_STOP;
	}
	i = (int)(o - p->cmd->opts);
	if (o->arg && !(o->flags & CLI_REPEAT)) {
		if (p->seen & (1ull << i)) {
			char name[80];

			opt_name(o, name, sizeof(name));
			p->status = cli_usage(p->cmd->name, "%s given more than once; it takes one value",
					      name);
			return CLI_STOP;
		}
		p->seen |= 1ull << i;
	}
	if (o->id == 'h') {
		cli_help_cmd(stdout, p->cmd->name);
		p->status = 0;
		return CLI_STOP;
	}
	return opt;
}

/* ---- help --------------------------------------------------------------- */

#define HELP_COL 34

void cli_help_cmd(FILE *f, const char *cmd)
{
	const struct cli_cmd *c = cli_find(cmd);

	cli_json_mode(0); /* help is the output, not a document */
	if (!c) {
		fprintf(f, "usage: otabundle COMMAND [OPTIONS] ARGS\n");
		return;
	}
	fprintf(f, "usage: otabundle %s\n\n%s.\n\noptions:\n", c->usage, c->summary);
	for (const struct cli_opt *o = c->opts; o->name; o++) {
		char left[80];
		int w = snprintf(left, sizeof(left), "%s%c%s--%s%s%s%s", o->shortc ? "-" : " ",
				 o->shortc ? o->shortc : ' ', o->shortc ? ", " : "  ", o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "",
				 o->flags & CLI_REPEAT ? "..." : "");

		fprintf(f, "  %s%*s%s\n", left, w < HELP_COL - 2 ? HELP_COL - 2 - w : 1, "", o->help);
	}
	fprintf(f, "\nSee otabundle(1) for details.\n");
}

/* ---- completion ----------------------------------------------------------- */

static void words(FILE *f, const struct cli_cmd *c, int values)
{
	int first = 1;

	for (const struct cli_opt *o = c->opts; o->name; o++) {
		if (values && (!o->arg || o->complete == CLI_C_NONE))
			continue;
		if (values && o->complete != (enum cli_complete)values)
			continue;
		if (o->shortc)
			fprintf(f, "%s-%c", first ? "" : (values ? "|" : " "), o->shortc), first = 0;
		fprintf(f, "%s--%s", first ? "" : (values ? "|" : " "), o->name);
		first = 0;
	}
}

static int has_values(const struct cli_cmd *c, enum cli_complete k)
{
	for (const struct cli_opt *o = c->opts; o->name; o++)
		if (o->arg && o->complete == k)
			return 1;
	return 0;
}

static void bash_script(FILE *f)
{
	static const char *const kinds[] = {[CLI_C_FILE] = "COMPREPLY=($(compgen -f -- \"$cur\"))",
					    [CLI_C_DIR] = "COMPREPLY=($(compgen -d -- \"$cur\"))",
					    [CLI_C_SECRET] = "COMPREPLY=($(compgen -W 'env: file: fd:' -- \"$cur\"))"};

	fprintf(f, "# bash completion for otabundle(1). Generated from the option tables by\n"
		   "# 'otabundle completion bash'; do not edit.\n"
		   "_otabundle() {\n"
		   "\tlocal cur prev cmd\n"
		   "\tcur=${COMP_WORDS[COMP_CWORD]}\n"
		   "\tprev=${COMP_WORDS[COMP_CWORD-1]}\n"
		   "\tif [ \"$COMP_CWORD\" -eq 1 ]; then\n"
		   "\t\tCOMPREPLY=($(compgen -W '");
	for (const struct cli_cmd *c = cli_commands; c->name; c++)
		fprintf(f, "%s ", c->name);
	fprintf(f, "help --version' -- \"$cur\"))\n"
		   "\t\treturn\n"
		   "\tfi\n"
		   "\tcmd=${COMP_WORDS[1]}\n"
		   "\tcase $cmd in\n");
	for (const struct cli_cmd *c = cli_commands; c->name; c++) {
		fprintf(f, "\t%s)\n\t\tcase $prev in\n", c->name);
		for (int k = CLI_C_FILE; k <= CLI_C_SECRET; k++) {
			if (!has_values(c, (enum cli_complete)k))
				continue;
			fprintf(f, "\t\t");
			words(f, c, k);
			fprintf(f, ") %s; return ;;\n", kinds[k]);
		}
		/* values that are numbers, names or times: nothing to offer */
		{
			int any = 0;

			for (const struct cli_opt *o = c->opts; o->name; o++)
				if (o->arg && o->complete == CLI_C_NONE) {
					if (o->shortc)
						fprintf(f, "%s-%c", any ? "|" : "\t\t", o->shortc), any = 1;
					fprintf(f, "%s--%s", any ? "|" : "\t\t", o->name);
					any = 1;
				}
			if (any)
				fprintf(f, ") return ;;\n");
		}
		fprintf(f, "\t\tesac\n\t\tif [[ $cur == -* ]]; then\n\t\t\tCOMPREPLY=($(compgen -W '");
		words(f, c, 0);
		fprintf(f, "' -- \"$cur\"))\n\t\telse\n\t\t\t%s\n\t\tfi\n\t\t;;\n",
			kinds[c->operands == CLI_C_DIR ? CLI_C_DIR : CLI_C_FILE]);
	}
	fprintf(f, "\thelp) COMPREPLY=($(compgen -W '");
	for (const struct cli_cmd *c = cli_commands; c->name; c++)
		fprintf(f, "%s ", c->name);
	fprintf(f, "' -- \"$cur\")) ;;\n"
		   "\tesac\n"
		   "}\n"
		   "complete -o filenames -F _otabundle otabundle\n");
}

/* Text inside a single-quoted zsh _arguments spec: ' closes the quote;
 * [ ] \ are special in a description, and colon too in a message
 * (colon = 1). */
static void zsh_text(FILE *f, const char *s, int colon)
{
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else if (*s == '[' || *s == ']' || (colon && *s == ':') || *s == '\\')
			fprintf(f, "\\%c", *s);
		else
			fputc(*s, f);
	}
}

static void zsh_script(FILE *f)
{
	static const char *const action[] = {[CLI_C_NONE] = " ", [CLI_C_FILE] = "_files",
					     [CLI_C_DIR] = "_files -/",
					     [CLI_C_SECRET] = "(env: file: fd:)"};

	fprintf(f, "#compdef otabundle\n"
		   "# zsh completion for otabundle(1). Generated from the option tables by\n"
		   "# 'otabundle completion zsh'; do not edit.\n"
		   "_otabundle() {\n"
		   "\tlocal -a cmds\n"
		   "\tcmds=(\n");
	for (const struct cli_cmd *c = cli_commands; c->name; c++) {
		fprintf(f, "\t\t'%s:", c->name);
		zsh_text(f, c->summary, 1);
		fprintf(f, "'\n");
	}
	fprintf(f, "\t\t'help:show help for a command'\n"
		   "\t)\n"
		   "\tif (( CURRENT == 2 )); then\n"
		   "\t\t_describe command cmds\n"
		   "\t\treturn\n"
		   "\tfi\n"
		   "\tlocal cmd=$words[2]\n"
		   "\tshift words\n"
		   "\t(( CURRENT-- ))\n"
		   "\tcase $cmd in\n");
	for (const struct cli_cmd *c = cli_commands; c->name; c++) {
		fprintf(f, "\t%s)\n\t\t_arguments -s", c->name);
		for (const struct cli_opt *o = c->opts; o->name; o++) {
			const char *rep = o->flags & CLI_REPEAT ? "*" : "";

			fputs(" \\\n\t\t\t", f);
			if (o->shortc)
				fprintf(f, "'%s(-%c --%s)'{-%c,--%s}'[", rep[0] ? "*" : "", o->shortc,
					o->name, o->shortc, o->name);
			else
				fprintf(f, "'%s--%s[", rep, o->name);
			zsh_text(f, o->help, 0);
			fputc(']', f);
			if (o->arg) {
				fputc(':', f);
				zsh_text(f, o->arg, 1);
				fprintf(f, ":%s", action[o->complete]);
			}
			fputc('\'', f);
		}
		fprintf(f, " \\\n\t\t\t'*:%s:%s'\n\t\t;;\n",
			c->operands == CLI_C_DIR ? "folder" : "file",
			c->operands == CLI_C_DIR ? "_files -/" : "_files");
	}
	fprintf(f, "\thelp)\n\t\t_describe command cmds\n\t\t;;\n"
		   "\tesac\n"
		   "}\n"
		   "_otabundle \"$@\"\n");
}

int cmd_completion(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "bash") == 0)
		bash_script(stdout);
	else if (argc == 2 && strcmp(argv[1], "zsh") == 0)
		zsh_script(stdout);
	else
		return cli_usage("completion", "expected 'bash' or 'zsh'");
	return 0;
}
