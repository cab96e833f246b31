// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir bench`: a table of named benchmarks, each printing its figures beside
 * its target; the benchmarks themselves are the bench stage's (user/bench). */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "cli.h"
#include "common/cli_opts.h"
#include "common/free_port.h"

/* A benchmark is `int fn(int argc, char **argv)`: argv[0] is its name, it
 * answers --help, does a fixed amount of work (not a time limit), prints one
 * line per figure to stdout and returns the exit code (0 ok, 1 failed, 2
 * usage). */
typedef int (*bench_fn)(int argc, char **argv);

static const struct bench {
	const char *name;
	bench_fn run;
	const char *summary;
} benches[] = {
    {"decode", bench_decode_main, "records/s/core of the NetFlow v9, IPFIX and sFlow decoders"},
    {"inlet", bench_inlet_main, "datagrams/s received on a veth pair: AF_XDP vs recvmmsg"},
    {"e2e", bench_e2e_main,
     "flows/s from UDP datagrams to ClickHouse rows, ring and Kafka, server and embedded"},
    {"scale", bench_scale_main, "one exporter with several domains: flows/s, 2 workers vs 1"},
    {"kafka", bench_kafka_main, "envelopes/s through producer -> Kafka -> consumer group"},
    {"store", bench_store_main,
     "flows/s into ClickHouse, bytes per flow on disk, memory: server and embedded"},
    {"probe", bench_probe_main, "host probe on a veth pair: throughput cost, CPU vs softflowd"},
    {"enrich", bench_enrich_main, "ns/flow of the enrichment stage with warm caches"},
    {"template-storm", bench_template_storm_main,
     "CPU of a template storm with parked datagrams: decoded on every template vs once"},
    {"junk-flood", bench_junk_flood_main,
     "a junk flood beside a legitimate exporter: datagrams kept with and without XDP"},
    {"console", bench_console_main, "console API latency and browser redraws over 10M flows"},
    /* A new benchmark is one line here, its function in user/bench/ and
     * declared in bench/bench.h. */
};

#define NBENCHES (sizeof(benches) / sizeof(benches[0]))

static void usage(FILE *out, const void *ctx)
{
	fprintf(out, "usage: weir bench NAME [OPTIONS]   run one benchmark\n"
		     "       weir bench all                run every benchmark with its defaults\n"
		     "\n"
		     "Each benchmark does a fixed amount of work and prints its figures beside\n"
		     "the project's targets. Figures depend on the machine and on what else runs\n"
		     "on it. 'weir bench NAME --help' describes a benchmark's options.\n\n"
		     "benchmarks:\n");
	for (size_t i = 0; i < NBENCHES; i++)
		fprintf(out, "  %-8s %s\n", benches[i].name, benches[i].summary);
}

int cli_bench_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct cli_opts o;
	int c;

	/* '+': what follows the benchmark's name is the benchmark's own. */
	cli_opts_init(&o, argc, argv, "+h", opts, usage, NULL);
	while ((c = cli_opts_next(&o)) >= 0)
		;
	if (c == CLI_OPTS_EXIT)
		return o.status;
	if (optind >= argc)
		return cli_opts_usage_error(&o);
	/* From here argv[0] is the benchmark's name, as the benchmark wants it. */
	argc -= optind;
	argv += optind;
	if (!strcmp(argv[0], "all")) {
		int ret = 0;

		for (size_t i = 0; i < NBENCHES; i++) {
			char *args[] = {(char *)benches[i].name, NULL};
			int r = 1, status;
			pid_t pid;

			/* Each in a process of its own: a benchmark's resident
			 * memory (the embedded engine's, kept after it closes)
			 * and threads must not be charged to the next one. */
			fflush(NULL);
			pid = fork();
			if (pid == 0) {
				r = benches[i].run(1, args);
				fflush(NULL);
				_exit(r);
			}
			if (pid > 0 && waitpid(pid, &status, 0) == pid)
				r = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
			if (r > ret)
				ret = r;
		}
		return ret;
	}
	/* Not a benchmark, so not in the table: the launcher of private
	 * clickhouse-servers, for the shell tests and `make demo`. */
	if (!strcmp(argv[0], "clickhouse-server"))
		return bench_clickhouse_main(argc, argv);
	/* Nor this: a port for a server a shell test starts later (see
	 * common/free_port.h for why not any free port). */
	if (!strcmp(argv[0], "free-port")) {
		int port = free_port_pick();

		if (port < 0) {
			fprintf(stderr, "weir bench free-port: no free port: %s\n",
				strerror(-port));
			return 1;
		}
		printf("%d\n", port);
		return 0;
	}
	for (size_t i = 0; i < NBENCHES; i++)
		if (!strcmp(argv[0], benches[i].name))
			return benches[i].run(argc, argv);
	fprintf(stderr, "weir bench: unknown benchmark '%s'\n\n", argv[0]);
	return cli_opts_usage_error(&o);
}
