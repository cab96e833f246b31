// SPDX-License-Identifier: AGPL-3.0-or-later
/* The common part of the subcommands' option parsing (cli_opts.h). */
#include "cli_opts.h"

void cli_opts_init(struct cli_opts *o, int argc, char **argv, const char *shortopts,
		   const struct option *longopts, cli_usage_fn usage, const void *ctx)
{
	*o = (struct cli_opts){argc, argv, shortopts, longopts, usage, ctx, 0};
	/* Several commands may parse in one process (tests, `weir bench all`). */
	optind = 1;
}

int cli_opts_next(struct cli_opts *o)
{
	int c = getopt_long(o->argc, o->argv, o->shortopts, o->longopts, NULL);

	switch (c) {
	case 'h':
		o->usage(stdout, o->ctx);
		o->status = 0;
		return CLI_OPTS_EXIT;
	case '?':
	case ':':
		o->status = cli_opts_usage_error(o);
		return CLI_OPTS_EXIT;
	default:
		return c < 0 ? CLI_OPTS_END : c;
	}
}

int cli_opts_usage_error(const struct cli_opts *o)
{
	o->usage(stderr, o->ctx);
	return 2;
}
