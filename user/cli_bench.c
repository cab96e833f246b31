// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir bench`: placeholder until its issue lands. */
#include <stdio.h>

#include "cli.h"

int cli_bench_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "weir bench: not implemented yet\n");
	return 1;
}
