// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir orchestrator`: placeholder until its issue lands. */
#include <stdio.h>

#include "cli.h"

int cli_orchestrator_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "weir orchestrator: not implemented yet\n");
	return 1;
}
