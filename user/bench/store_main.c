// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir bench store`: prepares each ClickHouse (a throw-away server and a
 * throw-away embedded database, or the one given), creates the schema in a
 * scratch database (the orchestrator's migrations), runs the measurement of
 * store.c on each and prints them side by side. */
#include <errno.h>
#include <limits.h>
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
		"usage: weir bench store [--engine server|embedded|both] [--url URL] [--rows N]\n"
		"                        [--streams N] [--batch-rows N] [--simple-flows]\n"
		"                        [--flow-rate N]\n\n"
		"Inserts N realistic flows (default 1000000) through the store writer into\n"
		"ClickHouse, in the scratch database weir_bench (dropped first), and prints\n"
		"flows/s, CPU per flow, bytes per flow on disk (flows and the consolidated\n"
		"tables, from system.parts, and the whole data directory) and resident\n"
		"memory (this process, which holds the embedded engine; the server's).\n"
		"--engine (default both, side by side): server starts its own\n"
		"clickhouse-server on 127.0.0.1 under a temporary directory (in $TMPDIR),\n"
		"with ZSTD compression of parts (CH_COMPRESSION=lz4 for the server\n"
		"default); embedded runs the engine of `make deps` in this process on a\n"
		"temporary directory; both are removed afterwards. An engine that is not\n"
		"installed is skipped. --url measures that ClickHouse only (http:// or\n"
		"embedded://). --simple-flows uses the first generator (independent random\n"
		"fields) instead, for comparison. --flow-rate sets how many flows share a\n"
		"second of TimeReceived (default 500000, the target rate): fewer per second\n"
		"sort and compress less well.\n");
}

struct store_opts {
	unsigned long long rows, batch, flow_rate;
	unsigned streams;
	int simple;
};

/* One engine's run and what it left. */
struct engine_run {
	const char *name; /* "server", "embedded", "url" */
	int ran;
	uint32_t version;
	struct bench_store_result res;
	uint64_t dir_bytes; /* the data directory in all, 0 when not ours */
};

/* Migrates weir_bench on `url` (dropped first) and measures it; `dir` is the
 * data directory to weigh afterwards (NULL: unknown). Returns 0, or 1 with
 * the reason printed. */
static int run_engine(const struct store_opts *so, const char *url, const char *dir,
		      struct bench_clickhouse *server, struct engine_run *er)
{
	struct store_config cfg;
	struct store_client *c = NULL;
	struct error err = {""};
	char label[32];
	int r = 1;

	if (store_config_defaults(&cfg) < 0)
		return 1;
	snprintf(label, sizeof(label), "store %s", er->name);
	free(cfg.url);
	free(cfg.database);
	cfg.url = strdup(url);
	cfg.database = strdup("weir_bench");
	if (so->batch)
		cfg.batch_rows = so->batch;
	cfg.max_batch_bytes = 1ULL << 30;
	if (!cfg.url || !cfg.database)
		goto out;
	if (store_client_new(&cfg, &c, &err) < 0) {
		printf("%s: skipped: %s\n", label, error_text(&err));
		r = 0;
		goto out;
	}
	if (store_client_query_nodb(c, "DROP DATABASE IF EXISTS weir_bench", NULL) < 0) {
		fprintf(stderr, "weir bench store: %s: %s\n", url, store_client_error(c));
		goto out;
	}
	log_set_level(LOG_LEVEL_WARN);
	if (orch_migrate(c, &cfg, 0) < 0)
		goto out;
	store_client_server_version(c, &er->version);
	printf("%s: ClickHouse %u.%u.%u at %s", label, er->version / 1000000,
	       er->version / 1000 % 1000, er->version % 1000, url);
	if (server)
		printf(" (throw-away server, %s compression)",
		       bench_clickhouse_compression(server));
	else if (!strncmp(url, "embedded:", 9))
		printf(" (in this process)");
	printf("\n");
	fflush(stdout);
	{
		struct bench_store_options bo = {.rows = so->rows,
						 .streams = so->streams,
						 .simple_flows = so->simple,
						 .flow_rate = so->flow_rate,
						 .server_pid =
						     server ? (int)bench_clickhouse_pid(server) : 0,
						 .label = label};

		if (bench_store_run(&cfg, &bo, stdout, &er->res) < 0)
			goto out;
	}
	er->ran = 1;
	if (dir) {
		char mib[32];

		er->dir_bytes = bench_dir_bytes(dir);
		printf("%s: data directory %s in all (%.1f bytes per flow; with ClickHouse's "
		       "own tables and logs)\n",
		       label, bench_mib(er->dir_bytes, mib, sizeof(mib)),
		       er->res.rows_in_table ? (double)er->dir_bytes / (double)er->res.rows_in_table
					     : 0);
	}
	r = 0;
out:
	/* The last client of an embedded database closes its engine. */
	store_client_free(c);
	store_config_free(&cfg);
	return r;
}

static void print_row(const char *what, const struct engine_run *runs, unsigned n, const char *fmt,
		      double (*get)(const struct engine_run *))
{
	printf("store summary: %-34s", what);
	for (unsigned i = 0; i < n; i++) {
		char cell[32];

		if (!runs[i].ran)
			continue;
		snprintf(cell, sizeof(cell), fmt, get(&runs[i]));
		printf(" %18s", get(&runs[i]) < 0 ? "-" : cell);
	}
	printf("\n");
}

#define GETTER(name, expr)                                                                         \
	static double name(const struct engine_run *e)                                             \
	{                                                                                          \
		return (expr);                                                                     \
	}
GETTER(get_rate, e->res.insert_rows_per_s)
GETTER(get_cpu, e->res.cpu_us_per_flow +
		    (e->res.server_cpu_us_per_flow > 0 ? e->res.server_cpu_us_per_flow : 0))
GETTER(get_disk, e->res.bytes_per_flow)
GETTER(get_data, e->res.compressed_per_flow)
GETTER(get_1m, e->res.consolidated_per_flow[0])
GETTER(get_5m, e->res.consolidated_per_flow[1])
GETTER(get_1h, e->res.consolidated_per_flow[2])
GETTER(get_dir, e->dir_bytes && e->res.rows_in_table
		    ? (double)e->dir_bytes / (double)e->res.rows_in_table
		    : -1)
GETTER(get_rss, (double)e->res.self_mem.rss / (1 << 20))
GETTER(get_hwm, (double)e->res.self_mem.hwm / (1 << 20))
GETTER(get_srss, e->res.server_mem.rss ? (double)e->res.server_mem.rss / (1 << 20) : -1)
GETTER(get_shwm, e->res.server_mem.hwm ? (double)e->res.server_mem.hwm / (1 << 20) : -1)

/* The engines side by side: one column each. */
static void print_summary(const struct engine_run *runs, unsigned n)
{
	unsigned ran = 0;
	double load[3] = {0};

	for (unsigned i = 0; i < n; i++)
		ran += runs[i].ran;
	if (ran < 2)
		return;
	getloadavg(load, 3);
	printf("store summary: same flows and writer on each engine (%ld cores, load average "
	       "%.2f: figures move with what else runs)\n",
	       sysconf(_SC_NPROCESSORS_ONLN), load[0]);
	printf("store summary: %-34s", "");
	for (unsigned i = 0; i < n; i++) {
		char head[40];

		if (!runs[i].ran)
			continue;
		snprintf(head, sizeof(head), "%s %u.%u", runs[i].name, runs[i].version / 1000000,
			 runs[i].version / 1000 % 1000);
		printf(" %18s", head);
	}
	printf("\n");
	print_row("flows/s inserted", runs, n, "%.0f", get_rate);
	print_row("CPU us/flow (bench+ClickHouse)", runs, n, "%.2f", get_cpu);
	print_row("bytes/flow on disk: flows", runs, n, "%.1f", get_disk);
	print_row("  of it columns' compressed data", runs, n, "%.1f", get_data);
	print_row("bytes/flow on disk: flows_1m", runs, n, "%.2f", get_1m);
	print_row("bytes/flow on disk: flows_5m", runs, n, "%.2f", get_5m);
	print_row("bytes/flow on disk: flows_1h", runs, n, "%.2f", get_1h);
	print_row("bytes/flow: data directory", runs, n, "%.1f", get_dir);
	print_row("MiB resident: weir (+engine)", runs, n, "%.0f", get_rss);
	print_row("MiB resident peak: weir (+engine)", runs, n, "%.0f", get_hwm);
	print_row("MiB resident: clickhouse-server", runs, n, "%.0f", get_srss);
	print_row("MiB resident peak: server", runs, n, "%.0f", get_shwm);
}

int bench_store_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"rows", required_argument, NULL, 'r'},
	    {"streams", required_argument, NULL, 's'},
	    {"batch-rows", required_argument, NULL, 'b'},
	    {"simple-flows", no_argument, NULL, 'S'},
	    {"flow-rate", required_argument, NULL, 'f'},
	    {"engine", required_argument, NULL, 'e'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct store_opts so = {.rows = 1000000, .flow_rate = 500000, .streams = 1};
	struct engine_run runs[2] = {{.name = "server"}, {.name = "embedded"}};
	char url[256] = "";
	struct cli_opts o;
	int opt, r = 0, want_server = 1, want_embedded = 1;

	cli_opts_init(&o, argc, argv, "h", opts, usage, NULL);
	while ((opt = cli_opts_next(&o)) >= 0) {
		switch (opt) {
		case 'u':
			snprintf(url, sizeof(url), "%s", optarg);
			break;
		case 'r':
			so.rows = strtoull(optarg, NULL, 10);
			break;
		case 's':
			so.streams = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'b':
			so.batch = strtoull(optarg, NULL, 10);
			break;
		case 'S':
			so.simple = 1;
			break;
		case 'f':
			so.flow_rate = strtoull(optarg, NULL, 10);
			break;
		case 'e':
			if (bench_engines_parse(optarg, &want_server, &want_embedded) < 0)
				return cli_opts_usage_error(&o);
			break;
		}
	}
	if (opt == CLI_OPTS_EXIT)
		return o.status;
	if (so.rows == 0 || so.streams == 0 || so.streams > 16 || so.batch > 1048576 ||
	    so.flow_rate == 0)
		return cli_opts_usage_error(&o);
	if (url[0]) {
		struct engine_run one = {.name =
					     !strncmp(url, "embedded:", 9) ? "embedded" : "url"};

		return run_engine(&so, url, NULL, NULL, &one);
	}
	/* The server first: once the embedded engine ran, this process keeps
	 * its memory, which the server's run would then be charged with. */
	if (want_server) {
		/* ZSTD for every part (the launcher's default): on 18.16 the
		 * server-wide setting is the only compression choice there is (no
		 * per-column CODEC), and it halves the bytes per flow against the
		 * default LZ4. */
		struct bench_clickhouse_config cc = {.name = "weir-bench-ch",
						     .watch_pid = getpid()};
		struct bench_clickhouse *server = NULL;
		struct error err;

		if (!bench_clickhouse_available()) {
			printf("store server: skipped: clickhouse-server is not installed\n");
		} else if (bench_clickhouse_new(&cc, &server, &err) < 0 ||
			   bench_clickhouse_start(server, &err) < 0) {
			fprintf(stderr, "weir bench store: clickhouse-server did not start: %s\n",
				error_text(&err));
			r = 1;
		} else {
			char data[PATH_MAX];

			snprintf(data, sizeof(data), "%s/data", bench_clickhouse_dir(server));
			r |= run_engine(&so, bench_clickhouse_url(server), data, server, &runs[0]);
		}
		bench_clickhouse_free(server);
	}
	if (want_embedded) {
		char dir[PATH_MAX - 16], eurl[PATH_MAX];

		if (bench_tmpdir_new("weir-bench-embedded", dir, sizeof(dir)) < 0) {
			fprintf(stderr, "weir bench store: no temporary directory: %s\n",
				strerror(errno));
			return 1;
		}
		snprintf(eurl, sizeof(eurl), "embedded://%s", dir);
		r |= run_engine(&so, eurl, dir, NULL, &runs[1]);
		bench_dir_remove(dir);
	}
	print_summary(runs, 2);
	return r;
}
