// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir bench store`: prepares a ClickHouse (a throw-away server, or the one
 * given), creates the schema in a scratch database, and runs store_bench. It
 * lives here rather than in the store because it needs the migrations. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "orchestrator.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: weir bench store [--url URL] [--rows N] [--streams N] [--batch-rows N]\n"
		"                        [--simple-flows] [--flow-rate N]\n\n"
		"Inserts N realistic flows (default 1000000) through the store writer into\n"
		"ClickHouse, in the scratch database weir_bench (dropped first), and prints\n"
		"flows/s and bytes per flow on disk. Without --url it starts its own\n"
		"clickhouse-server on 127.0.0.1 under a temporary directory (with\n"
		"tests/integration/lib/clickhouse.sh, from $WEIR_TOP or the current\n"
		"directory), with ZSTD compression of parts (CH_COMPRESSION=lz4 for\n"
		"the server default), and removes it afterwards. --simple-flows uses the\n"
		"first generator (independent random fields) instead, for comparison.\n"
		"--flow-rate sets how many flows share a second of TimeReceived (default\n"
		"500000, the target rate): fewer per second sort and compress less well.\n");
}

static int lib_path(char *buf, size_t size)
{
	const char *top = getenv("WEIR_TOP");

	snprintf(buf, size, "%s/tests/integration/lib/clickhouse.sh", top ? top : ".");
	return access(buf, R_OK) == 0 ? 0 : -ENOENT;
}

int store_bench_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"url", required_argument, NULL, 'u'},     {"rows", required_argument, NULL, 'r'},
	    {"streams", required_argument, NULL, 's'}, {"batch-rows", required_argument, NULL, 'b'},
	    {"simple-flows", no_argument, NULL, 'S'},  {"flow-rate", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},	       {0},
	};
	struct store_config cfg;
	struct store_bench_result res;
	struct store_client *c = NULL;
	char lib[512], dir[256] = "", cmd[1200], url[256] = "";
	unsigned long long rows = 1000000, batch = 0, flow_rate = 500000;
	unsigned streams = 1;
	int opt, r = 1, simple = 0, server_pid = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
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
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (rows == 0 || streams == 0 || streams > 16 || batch > 1048576 || flow_rate == 0) {
		usage(stderr);
		return 2;
	}
	if (store_config_defaults(&cfg) < 0)
		return 1;
	if (!url[0]) {
		FILE *p;

		if (lib_path(lib, sizeof(lib)) < 0) {
			printf("store: skipped: no --url and %s not found\n", lib);
			goto out_ok;
		}
		snprintf(cmd, sizeof(cmd), "bash '%s' available", lib);
		if (system(cmd) != 0) {
			printf("store: skipped: no --url and clickhouse-server is not installed\n");
			goto out_ok;
		}
		snprintf(dir, sizeof(dir), "%s/weir-bench-ch.XXXXXX",
			 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			dir[0] = 0;
			goto out;
		}
		/* ZSTD for every part: on 18.16 the server-wide setting is the
		 * only compression choice there is (no per-column CODEC), and it
		 * halves the bytes per flow against the default LZ4. */
		snprintf(
		    cmd, sizeof(cmd),
		    "CH_WATCH_PID=%d CH_COMPRESSION=${CH_COMPRESSION:-zstd} bash '%s' start '%s'",
		    (int)getpid(), lib, dir);
		p = popen(cmd, "r");
		if (!p || !fgets(url, sizeof(url), p)) {
			fprintf(stderr, "weir bench store: clickhouse-server did not start\n");
			if (p)
				pclose(p);
			goto out;
		}
		pclose(p);
		url[strcspn(url, "\n")] = 0;
		snprintf(cmd, sizeof(cmd), "%s/pid", dir);
		p = fopen(cmd, "r");
		if (p) {
			if (fscanf(p, "%d", &server_pid) != 1)
				server_pid = 0;
			fclose(p);
		}
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
		const char *comp = getenv("CH_COMPRESSION") ? getenv("CH_COMPRESSION") : "zstd";
		printf("store: ClickHouse %u.%u.%u at %s", v / 1000000, v / 1000 % 1000, v % 1000,
		       url);
		if (dir[0])
			printf(" (throw-away server, %s compression)", comp);
		printf("\n");
	}
	fflush(stdout);
	{
		struct store_bench_options bo = {.rows = rows,
						 .streams = streams,
						 .simple_flows = simple,
						 .flow_rate = flow_rate,
						 .server_pid = server_pid};
		r = store_bench(&cfg, &bo, stdout, &res) < 0;
	}
	goto out;
out_ok:
	r = 0;
out:
	store_client_free(c);
	if (dir[0]) {
		snprintf(cmd, sizeof(cmd), "bash '%s' stop '%s'; rm -rf '%s'", lib, dir, dir);
		if (system(cmd) != 0)
			fprintf(stderr, "weir bench store: cleanup of %s failed\n", dir);
	}
	store_config_free(&cfg);
	return r;
}
