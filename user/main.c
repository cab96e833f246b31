// SPDX-License-Identifier: AGPL-3.0-or-later
/* The `weir` command: one binary, one subcommand per role or tool. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "store/chdb.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
	const char *summary;
};

static const struct command commands[] = {
    {"run", cli_run_main, "run every role in one process (collector, outlet, console)"},
    {"inlet", cli_inlet_main, "run the collector role: receive datagrams, hand them to the bus"},
    {"outlet", cli_outlet_main, "run the outlet role: decode, enrich, store in ClickHouse"},
    {"console", cli_console_main, "run the console role: the web UI and its API (Akvorado's)"},
    {"orchestrator", cli_orchestrator_main,
     "create or upgrade the ClickHouse schema, apply retention"},
    {"probe", cli_probe_main, "meter this host's traffic in the kernel, export it as IPFIX"},
    {"decode", cli_decode_main, "decode flow datagrams from pcap files (--json for JSON lines)"},
    {"bench", cli_bench_main, "measure decoder, inlet and storage throughput"},
    {"stats", cli_stats_main, "summarise a running weir's /metrics: drops, loss per exporter"},
    {"config", cli_config_main, "check a configuration file (weir config check FILE)"},
    {"version", cli_version_main, "print the version"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: weir COMMAND [OPTIONS]\n\n"
		     "weir collects NetFlow v5/v9, IPFIX and sFlow v5, enriches the flows and\n"
		     "stores them in ClickHouse.\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'weir COMMAND --help' describes a command.\n");
}

/* Runs a command; a process that loaded the embedded engine ends there
 * (store_chdb_exit: exit()'s handlers are not safe then). */
static int run(int (*command)(int, char **), int argc, char **argv)
{
	int rc = command(argc - 1, argv + 1);

	store_chdb_exit(rc);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version"))
		return run(cli_version_main, argc, argv);
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(argv[1], commands[i].name))
			return run(commands[i].run, argc, argv);
	fprintf(stderr, "weir: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
