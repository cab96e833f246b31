// SPDX-License-Identifier: AGPL-3.0-or-later
/* cli_opts: the command's options come through, help and wrong options end
 * the parse with the exit code and the usage on the right stream. */
#include <stdio.h>

#include "common/cli_opts.h"
#include "test.h"

struct seen {
	int usage_out, usage_err;
	const char *tag;
};

static void usage(FILE *out, const void *ctx)
{
	struct seen *s = (struct seen *)ctx;

	if (out == stdout)
		s->usage_out++;
	else if (out == stderr)
		s->usage_err++;
}

static const struct option opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"once", no_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {0},
};

/* Parses argv; returns the exit code or -1 when the parse went through, and
 * what -c and --once gave. */
static int parse(int argc, char **argv, struct seen *s, const char **config, int *once,
		 int *operands)
{
	struct cli_opts o;
	int c;

	*config = NULL;
	*once = 0;
	cli_opts_init(&o, argc, argv, "c:h", opts, usage, s);
	while ((c = cli_opts_next(&o)) >= 0) {
		switch (c) {
		case 'c':
			*config = optarg;
			break;
		case 'o':
			*once = 1;
			break;
		default:
			return 99;
		}
	}
	if (c == CLI_OPTS_EXIT)
		return o.status;
	CHECK_EQ(c, CLI_OPTS_END);
	*operands = argc - optind;
	return -1;
}

TEST(cli_opts_passes_the_commands_options)
{
	char *argv[] = {"orchestrator", "-c", "w.yaml", "--once", "extra", NULL};
	struct seen s = {0};
	const char *config;
	int once, operands = -1;

	CHECK_EQ(parse(5, argv, &s, &config, &once, &operands), -1);
	CHECK_STR(config, "w.yaml");
	CHECK_EQ(once, 1);
	CHECK_EQ(operands, 1);
	CHECK_EQ(s.usage_out + s.usage_err, 0);
	/* Again in the same process: optind starts over. */
	CHECK_EQ(parse(3, (char *[]){"orchestrator", "--config=x", "--once", NULL}, &s, &config,
		       &once, &operands),
		 -1);
	CHECK_STR(config, "x");
	CHECK_EQ(operands, 0);
}

TEST(cli_opts_help_is_usage_on_stdout_and_zero)
{
	struct seen s = {0};
	const char *config;
	int once, operands;

	CHECK_EQ(parse(3, (char *[]){"orchestrator", "--once", "--help", NULL}, &s, &config, &once,
		       &operands),
		 0);
	CHECK_EQ(s.usage_out, 1);
	CHECK_EQ(s.usage_err, 0);
	CHECK_EQ(parse(2, (char *[]){"orchestrator", "-h", NULL}, &s, &config, &once, &operands),
		 0);
	CHECK_EQ(s.usage_out, 2);
}

TEST(cli_opts_wrong_option_is_usage_on_stderr_and_two)
{
	struct seen s = {0};
	const char *config;
	int once, operands;

	opterr = 0; /* keep getopt's own complaint out of the TAP output */
	CHECK_EQ(
	    parse(2, (char *[]){"orchestrator", "--bogus", NULL}, &s, &config, &once, &operands),
	    2);
	CHECK_EQ(s.usage_err, 1);
	CHECK_EQ(parse(2, (char *[]){"orchestrator", "-c", NULL}, &s, &config, &once, &operands),
		 2); /* missing argument */
	CHECK_EQ(s.usage_err, 2);
	CHECK_EQ(s.usage_out, 0);
	opterr = 1;
}

TEST(cli_opts_usage_error_is_two)
{
	struct seen s = {0};
	struct cli_opts o;
	char *argv[] = {"x", NULL};

	cli_opts_init(&o, 1, argv, "h", opts, usage, &s);
	CHECK_EQ(cli_opts_usage_error(&o), 2);
	CHECK_EQ(s.usage_err, 1);
}
