// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir decode`: placeholder until its issue lands. */
#include <stdio.h>

#include "cli.h"

int cli_decode_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "weir decode: not implemented yet\n");
	return 1;
}
