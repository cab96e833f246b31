// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir config check FILE` and `weir version`. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "weir_config.h"

#ifndef WEIR_VERSION
#define WEIR_VERSION "0.0.0-dev"
#endif

int cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	return 0;
}

int cli_version_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("weir %s\n", WEIR_VERSION);
	return 0;
}

int cli_config_main(int argc, char **argv)
{
	struct weir_config cfg;
	struct config_error err;
	int r;

	if (cli_wants_help(argc, argv) || argc != 3 || strcmp(argv[1], "check") != 0) {
		fprintf(argc == 3 ? stdout : stderr,
			"usage: weir config check FILE\n\n"
			"Loads FILE as weir would and reports the first error with its file,\n"
			"line and key; exits 0 when the file is valid.\n");
		return cli_wants_help(argc, argv) ? 0 : 2;
	}
	r = weir_config_load(&cfg, argv[2], &err);
	if (r < 0)
		fprintf(stderr, "weir: %s\n", err.text);
	else
		printf("%s: ok\n", argv[2]);
	weir_config_free(&cfg);
	return r < 0 ? 1 : 0;
}
