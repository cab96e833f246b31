// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir bench store`: prepares a ClickHouse (a throw-away server, or the one
 * given), creates the schema in a scratch database (the orchestrator's
 * migrations), and runs the measurement of store.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_internal.h"
#include "common/cli_opts.h"
#include "common/log.h"
#include "orchestrator/orchestrator.h"

static void usage(FILE *out, const void *ctx)
{
	fprintf(out,
		"usage: weir bench store [--url URL] [--rows N] [--streams N] [--batch-rows N]\n"
		"                        [--simple-flows] [--flow-rate N]\n\n"
		"Inserts N realistic flows (default 1000000) through the store writer into\n"
		"ClickHouse, in the scratch database weir_bench (dropped first), and prints\n"
		"flows/s and bytes per flow on disk. Without --url it starts its own\n"
		"clickhouse-server on 127.0.0.1 under a temporary directory (in $TMPDIR),\n"
		"with ZSTD compression of parts (CH_COMPRESSION=lz4 for the server\n"
		"default), and removes it afterwards. --simple-flows uses the\n"
		"first generator (independent random fields) instead, for comparison.\n"
		"--flow-rate sets how many flows share a second of TimeReceived (default\n"
		"500000, the target rate): fewer per second sort and compress less well.\n");
}

int bench_store_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"url", required_argument, NULL, 'u'},     {"rows", required_argument, NULL, 'r'},
	    {"streams", required_argument, NULL, 's'}, {"batch-rows", required_argument, NULL, 'b'},
	    {"simple-flows", no_argument, NULL, 'S'},  {"flow-rate", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},	       {0},
	};
	struct store_config cfg;
	struct bench_store_result res;
	struct store_client *c = NULL;
	struct bench_clickhouse *server = NULL;
	char url[256] = "";
	unsigned long long rows = 1000000, batch = 0, flow_rate = 500000;
	unsigned streams = 1;
	struct cli_opts o;
	int opt, r = 1, simple = 0, server_pid = 0;

	cli_opts_init(&o, argc, argv, "h", opts, usage, NULL);
	while ((opt = cli_opts_next(&o)) >= 0) {
		switch (opt) {
		case 'u':
			snprintf(url, sizeof(url), "%s", optarg);
			break;
		case 'r':
			rows = strtoull(optarg, NULL, 10);
			break;
		case 's':
			streams = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'b':
			batch = strtoull(optarg, NULL, 10);
			break;
		case 'S':
			simple = 1;
			break;
		case 'f':
			flow_rate = strtoull(optarg, NULL, 10);
			break;
		}
	}
	if (opt == CLI_OPTS_EXIT)
		return o.status;
	if (rows == 0 || streams == 0 || streams > 16 || batch > 1048576 || flow_rate == 0)
		return cli_opts_usage_error(&o);
	if (store_config_defaults(&cfg) < 0)
		return 1;
	if (!url[0]) {
		/* ZSTD for every part (the launcher's default): on 18.16 the
		 * server-wide setting is the only compression choice there is (no
		 * per-column CODEC), and it halves the bytes per flow against the
		 * default LZ4. */
		struct bench_clickhouse_config cc = {.name = "weir-bench-ch",
						     .watch_pid = getpid()};
		struct error err;

		if (!bench_clickhouse_available()) {
			printf("store: skipped: no --url and clickhouse-server is not installed\n");
			goto out_ok;
		}
		if (bench_clickhouse_new(&cc, &server, &err) < 0 ||
		    bench_clickhouse_start(server, &err) < 0) {
			fprintf(stderr, "weir bench store: clickhouse-server did not start: %s\n",
				error_text(&err));
			goto out;
		}
		snprintf(url, sizeof(url), "%s", bench_clickhouse_url(server));
		server_pid = (int)bench_clickhouse_pid(server);
	}
	free(cfg.url);
	free(cfg.database);
	cfg.url = strdup(url);
	cfg.database = strdup("weir_bench");
	if (batch)
		cfg.batch_rows = batch;
	cfg.max_batch_bytes = 1ULL << 30;
	store_client_new(&cfg, &c, NULL);
	if (!cfg.url || !cfg.database || !c)
		goto out;
	if (store_client_query_nodb(c, "DROP DATABASE IF EXISTS weir_bench", NULL) < 0) {
		fprintf(stderr, "weir bench store: %s: %s\n", url, store_client_error(c));
		goto out;
	}
	log_set_level(LOG_LEVEL_WARN);
	if (orch_migrate(c, &cfg, 0) < 0)
		goto out;
	{
		uint32_t v = 0;
		store_client_server_version(c, &v);
		printf("store: ClickHouse %u.%u.%u at %s", v / 1000000, v / 1000 % 1000, v % 1000,
		       url);
		if (server)
			printf(" (throw-away server, %s compression)",
			       bench_clickhouse_compression(server));
		printf("\n");
	}
	fflush(stdout);
	{
		struct bench_store_options bo = {.rows = rows,
						 .streams = streams,
						 .simple_flows = simple,
						 .flow_rate = flow_rate,
						 .server_pid = server_pid};
		r = bench_store_run(&cfg, &bo, stdout, &res) < 0;
	}
	goto out;
out_ok:
	r = 0;
out:
	store_client_free(c);
	bench_clickhouse_free(server);
	store_config_free(&cfg);
	return r;
}
