/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* What the option parsing of every `weir` subcommand shares, around
 * getopt_long(): -h/--help prints the usage on stdout and ends with 0; an
 * unknown option or a missing argument prints getopt's complaint, then the
 * usage on stderr, and ends with 2. The command handles its own options. */
#ifndef WEIR_COMMON_CLI_OPTS_H
#define WEIR_COMMON_CLI_OPTS_H

#include <getopt.h>
#include <stdio.h>

/* Prints the command's usage to `out`; `ctx` is the one given to init. */
typedef void (*cli_usage_fn)(FILE *out, const void *ctx);

enum {
	CLI_OPTS_END = -1,  /* no more options: operands start at optind */
	CLI_OPTS_EXIT = -2, /* help given or a wrong option: exit with `status` */
};

struct cli_opts {
	int argc;
	char **argv;
	const char *shortopts;
	const struct option *longopts;
	cli_usage_fn usage;
	const void *ctx;
	int status; /* the exit code, once cli_opts_next() returned CLI_OPTS_EXIT */
};

/* Starts a parse of argv (argv[0] = the subcommand) from its first
 * argument (resets optind). 'h' in `shortopts`/`longopts` means help. */
void cli_opts_init(struct cli_opts *o, int argc, char **argv, const char *shortopts,
		   const struct option *longopts, cli_usage_fn usage, const void *ctx);

/* The next option of the command's own (with optarg set, as getopt_long()
 * returns it), CLI_OPTS_END, or CLI_OPTS_EXIT after help or a wrong option:
 *
 *	while ((c = cli_opts_next(&o)) >= 0)
 *		switch (c) { case 'c': path = optarg; break; ... }
 *	if (c == CLI_OPTS_EXIT)
 *		return o.status;
 */
int cli_opts_next(struct cli_opts *o);

/* Prints the usage on stderr and returns 2: for the mistakes the command
 * finds itself (an operand too many, an option its mode does not take). */
int cli_opts_usage_error(const struct cli_opts *o);

#endif
