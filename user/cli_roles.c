// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir run`, `weir inlet`, `weir outlet`: placeholders until their issues land. */
#include <stdio.h>

#include "cli.h"

static int not_yet(const char *name)
{
	fprintf(stderr, "weir %s: not implemented yet\n", name);
	return 1;
}

int cli_run_main(int argc, char **argv)
{
	(void)argc;
	return not_yet(argv[0]);
}

int cli_inlet_main(int argc, char **argv)
{
	(void)argc;
	return not_yet(argv[0]);
}

int cli_outlet_main(int argc, char **argv)
{
	(void)argc;
	return not_yet(argv[0]);
}
