/* signers.c - the --key/--cert/--chain/--pass options shared by build and
 * sign. */
#include <string.h>

#include "cli.h"

int cli_signer_option(struct cli_signer_args *sa, const char *cmd, int opt, const char *arg,
		      int *status)
{
	const char **arr;
	size_t *n;

	switch (opt) {
	case 2001: arr = sa->keys; n = &sa->nk; break;
	case 2002: arr = sa->certs; n = &sa->nc; break;
	case 2003: arr = sa->chain; n = &sa->nch; break;
	case 2004: arr = sa->pass; n = &sa->np; break;
	default: return 0;
	}
	if (*n == CLI_MAX_SIGNERS) {
		*status = cli_usage(cmd, "at most %d of each of --key, --cert, --pass, --chain",
				    CLI_MAX_SIGNERS);
		return -1;
	}
	if (opt == 2004 && strncmp(arg, "env:", 4) && strncmp(arg, "file:", 5) && strncmp(arg, "fd:", 3)) {
		*status = cli_usage(cmd, "--pass: expected env:VAR, file:PATH or fd:N (literal passphrases are not accepted)");
		return -1;
	}
	arr[(*n)++] = arg;
	return 1;
}

int cli_signer_finish(struct cli_signer_args *sa, const char *cmd)
{
	if (sa->nk != sa->nc)
		return cli_usage(cmd, "every --key needs its --cert (%zu keys, %zu certificates)",
				 sa->nk, sa->nc);
	if (sa->np > 1 && sa->np != sa->nk)
		return cli_usage(cmd, "give one --pass for all keys or one per --key");
	for (size_t i = 0; i < sa->nk; i++) {
		sa->specs[i].key = sa->keys[i];
		sa->specs[i].cert = sa->certs[i];
		sa->specs[i].pass = sa->np == 0 ? NULL : sa->np == 1 ? sa->pass[0] : sa->pass[i];
	}
	return 0;
}
