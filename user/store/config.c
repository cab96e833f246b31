// SPDX-License-Identifier: AGPL-3.0-or-later
/* The `clickhouse:` section of weir.yaml: its keys, bounds and defaults. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define DAY_MS (24ULL * 3600 * 1000)

static const struct config_field retention_fields[] = {
    {.key = "flows",
     .type = CONFIG_DURATION,
     .offset = offsetof(struct store_retention_config, flows)},
    {.key = "flows-1m",
     .type = CONFIG_DURATION,
     .offset = offsetof(struct store_retention_config, flows_1m)},
    {.key = "flows-5m",
     .type = CONFIG_DURATION,
     .offset = offsetof(struct store_retention_config, flows_5m)},
    {.key = "flows-1h",
     .type = CONFIG_DURATION,
     .offset = offsetof(struct store_retention_config, flows_1h)},
    {0},
};

#define QE(k, t, m, ...)                                                                           \
	{                                                                                          \
		.key = k, .type = t, .offset = offsetof(struct store_query_endpoint_config, m),    \
		__VA_ARGS__                                                                        \
	}
static const struct config_field query_endpoint_fields[] = {
    QE("enabled", CONFIG_BOOL, enabled),
    QE("listen", CONFIG_STRING, listen, .check = config_check_listen),
    QE("max-queries", CONFIG_UINT, max_queries, .min = 1, .max = 64),
    QE("max-queued", CONFIG_UINT, max_queued, .min = 0, .max = 10000),
    QE("max-execution-time", CONFIG_DURATION, max_execution_ms, .min = 100,
       .max = 24 * 3600 * 1000LL),
    QE("max-rows-to-read", CONFIG_UINT, max_rows_to_read, .min = 0, .max = INT64_MAX),
    QE("max-result-rows", CONFIG_UINT, max_result_rows, .min = 0, .max = INT64_MAX),
    /* the answer is held in memory (twice while it is sent) */
    QE("max-result-bytes", CONFIG_SIZE, max_result_bytes, .min = 1024, .max = 4LL << 30),
    {0},
};
#undef QE

const struct config_field store_config_fields[] = {
    {.key = "url", .type = CONFIG_STRING, .offset = offsetof(struct store_config, url)},
    {.key = "database", .type = CONFIG_STRING, .offset = offsetof(struct store_config, database)},
    {.key = "username", .type = CONFIG_STRING, .offset = offsetof(struct store_config, username)},
    {.key = "password", .type = CONFIG_STRING, .offset = offsetof(struct store_config, password)},
    /* ClickHouse splits inserts above max_insert_block_size (1048576 rows),
     * and a split insert can half-fail: keep a batch one block. */
    {.key = "batch-rows",
     .type = CONFIG_UINT,
     .offset = offsetof(struct store_config, batch_rows),
     .min = 1,
     .max = 1048576},
    {.key = "batch-interval",
     .type = CONFIG_DURATION,
     .offset = offsetof(struct store_config, batch_interval_ms),
     .min = 1,
     .max = 3600000},
    {.key = "max-batch-bytes",
     .type = CONFIG_SIZE,
     .offset = offsetof(struct store_config, max_batch_bytes),
     .min = 65536,
     .max = 4LL << 30},
    {.key = "insert-timeout",
     .type = CONFIG_DURATION,
     .offset = offsetof(struct store_config, insert_timeout_ms),
     .min = 100,
     .max = 3600000},
    {.key = "connect-timeout",
     .type = CONFIG_DURATION,
     .offset = offsetof(struct store_config, connect_timeout_ms),
     .min = 10,
     .max = 600000},
    {.key = "retry-min",
     .type = CONFIG_DURATION,
     .offset = offsetof(struct store_config, retry_min_ms),
     .min = 1,
     .max = 600000},
    {.key = "retry-max",
     .type = CONFIG_DURATION,
     .offset = offsetof(struct store_config, retry_max_ms),
     .min = 1,
     .max = 3600000},
    {.key = "consolidation-interval",
     .type = CONFIG_DURATION,
     .offset = offsetof(struct store_config, consolidation_interval_ms),
     .min = 0,
     .max = 3600000},
    /* rows of 96 bytes: 1M is ~100 MB per outlet worker, twice that while a
     * write sorts them */
    {.key = "consolidation-max-rows",
     .type = CONFIG_UINT,
     .offset = offsetof(struct store_config, consolidation_max_rows),
     .min = 1000,
     .max = 100000000},
    {.key = "retention",
     .type = CONFIG_SECTION,
     .offset = offsetof(struct store_config, retention),
     .fields = retention_fields},
    {.key = "retention-interval",
     .type = CONFIG_DURATION,
     .offset = offsetof(struct store_config, retention_interval_ms),
     .min = 1000,
     .max = 30 * 24 * 3600 * 1000LL},
    /* Heartbeats are DateTime (seconds) written every lock-stale / 4:
     * below 3 s a live holder could look stale. */
    {.key = "lock-stale",
     .type = CONFIG_DURATION,
     .offset = offsetof(struct store_config, lock_stale_ms),
     .min = 3000,
     .max = 24 * 3600 * 1000LL},
    {.key = "lock-wait",
     .type = CONFIG_DURATION,
     .offset = offsetof(struct store_config, lock_wait_ms),
     .min = 0,
     .max = 7 * 24 * 3600 * 1000LL},
    {.key = "embedded-library",
     .type = CONFIG_STRING,
     .offset = offsetof(struct store_config, embedded_library)},
    {.key = "embedded-max-memory",
     .type = CONFIG_SIZE,
     .offset = offsetof(struct store_config, embedded_max_memory),
     .min = 0,
     .max = 1LL << 50},
    {.key = "query-endpoint",
     .type = CONFIG_SECTION,
     .offset = offsetof(struct store_config, query_endpoint),
     .fields = query_endpoint_fields},
    {0},
};

int store_config_defaults(struct store_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->url = strdup("http://127.0.0.1:8123");
	cfg->database = strdup("weir");
	cfg->username = strdup("");
	cfg->password = strdup("");
	cfg->embedded_library = strdup("");
	cfg->batch_rows = 50000;
	cfg->batch_interval_ms = 5000;
	cfg->max_batch_bytes = 64ULL << 20;
	cfg->insert_timeout_ms = 60000;
	cfg->connect_timeout_ms = 5000;
	cfg->retry_min_ms = 250;
	cfg->retry_max_ms = 30000;
	cfg->consolidation_interval_ms = 5000;
	cfg->consolidation_max_rows = 1000000;
	cfg->retention.flows = 15 * DAY_MS;
	cfg->retention.flows_1m = 7 * DAY_MS;
	cfg->retention.flows_5m = 90 * DAY_MS;
	cfg->retention.flows_1h = 1825 * DAY_MS;
	cfg->retention_interval_ms = 3600 * 1000;
	cfg->lock_stale_ms = 5 * 60 * 1000;
	cfg->lock_wait_ms = 10 * 60 * 1000;
	cfg->query_endpoint.listen = strdup("127.0.0.1:8123");
	cfg->query_endpoint.max_queries = 2;
	cfg->query_endpoint.max_queued = 8;
	cfg->query_endpoint.max_execution_ms = 30000;
	cfg->query_endpoint.max_rows_to_read = 1000000000;
	cfg->query_endpoint.max_result_bytes = 64ULL << 20;
	if (!cfg->url || !cfg->database || !cfg->username || !cfg->password ||
	    !cfg->embedded_library || !cfg->query_endpoint.listen) {
		store_config_free(cfg);
		return -ENOMEM;
	}
	return 0;
}

/* The line of clickhouse.KEY in the file, else of the section, else 0. */
static unsigned key_line(const struct config_doc *doc, const char *key)
{
	const struct config_node *sec, *n;

	if (!doc || !doc->root)
		return 0;
	sec = config_node_get(doc->root, "clickhouse");
	if (!sec)
		return 0;
	n = config_node_get(sec, key);
	return n ? n->line : sec->line;
}

int store_config_check(const struct store_config *cfg, const struct config_doc *doc,
		       struct config_error *err)
{
	const char *file = doc ? doc->path : "";
	const char *u = cfg->url ? cfg->url : "";
	char why[160];

	if (store_url_check(u, why, sizeof(why)) < 0) {
		config_error_set(err, file, key_line(doc, "url"), "clickhouse.url", "\"%s\": %s", u,
				 why);
		return -EINVAL;
	}
	/* The endpoint stands in for a server's own HTTP interface: with a
	 * server, clients query it there. */
	if (cfg->query_endpoint.enabled && strncmp(u, "embedded://", 11) != 0) {
		const struct config_node *qe = NULL, *n = NULL;

		if (doc && doc->root && config_node_get(doc->root, "clickhouse"))
			qe = config_node_get(config_node_get(doc->root, "clickhouse"),
					     "query-endpoint");
		if (qe)
			n = config_node_get(qe, "enabled");
		config_error_set(err, file, n ? n->line : key_line(doc, "query-endpoint"),
				 "clickhouse.query-endpoint.enabled",
				 "the query endpoint serves the embedded engine only: the server "
				 "%s answers queries itself (set enabled: false)",
				 u);
		return -EINVAL;
	}
	if (cfg->retry_min_ms > cfg->retry_max_ms) {
		config_error_set(err, file, key_line(doc, "retry-min"), "clickhouse.retry-min",
				 "%llu ms is more than retry-max (%llu ms)",
				 (unsigned long long)cfg->retry_min_ms,
				 (unsigned long long)cfg->retry_max_ms);
		return -EINVAL;
	}
	return 0;
}

void store_config_free(struct store_config *cfg)
{
	config_free_bound(store_config_fields, cfg);
}
