// SPDX-License-Identifier: AGPL-3.0-or-later
/* The store's batch writer without a server: encoding bounds, the due rule,
 * the Native block it would send, and the clickhouse: config section. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "store/store.h"
#include "test.h"

static void config(struct store_config *cfg)
{
	REQUIRE(store_config_defaults(cfg) == 0);
	/* Nothing listens on port 1: a flush would fail at once. */
	free(cfg->url);
	cfg->url = strdup("http://127.0.0.1:1");
	cfg->retry_min_ms = 1;
	cfg->retry_max_ms = 2;
	cfg->connect_timeout_ms = 200;
}

static void flow(struct flow *f, unsigned path)
{
	memset(f, 0, sizeof(*f));
	f->time_received = 1700000000;
	f->bytes = 100;
	f->packets = 1;
	addr_from_ipv4(&f->src_addr, 0x0a000001);
	f->dst_as_path_count = (uint8_t)path;
	for (unsigned i = 0; i < path && i < FLOW_MAX_AS_PATH; i++)
		f->dst_as_path[i] = 65000 + i;
}

TEST(defaults)
{
	struct store_config cfg;

	REQUIRE(store_config_defaults(&cfg) == 0);
	CHECK_STR(cfg.url, "http://127.0.0.1:8123");
	CHECK_STR(cfg.database, "weir");
	CHECK_EQ(cfg.batch_rows, 50000);
	CHECK_EQ(cfg.batch_interval_ms, 5000);
	CHECK_EQ(cfg.consolidation_interval_ms, 5000);
	CHECK_EQ(cfg.consolidation_max_rows, 1000000);
	CHECK_EQ(cfg.retention.flows, 15ULL * 86400000);
	CHECK_EQ(cfg.retention.flows_1m, 7ULL * 86400000);
	CHECK_EQ(cfg.retention.flows_5m, 90ULL * 86400000);
	CHECK_EQ(cfg.retention.flows_1h, 1825ULL * 86400000);
	store_config_free(&cfg);
	CHECK(cfg.url == NULL);
}

TEST(config_section_binds)
{
	static const char yaml[] = "url: http://10.0.0.1:8123/\n"
				   "database: flows\n"
				   "batch-rows: 1000\n"
				   "batch-interval: 250ms\n"
				   "max-batch-bytes: 1MiB\n"
				   "retry-max: 1m\n"
				   "consolidation-interval: 0s\n"
				   "consolidation-max-rows: 5000\n"
				   "retention:\n  flows: 2d\n  flows-1h: 1825d\n"
				   "retention-interval: 10m\n";
	struct store_config cfg;
	struct config_error err;
	struct config_doc *doc;

	REQUIRE(store_config_defaults(&cfg) == 0);
	doc = config_doc_load_string("t.yaml", yaml, &err);
	REQUIRE(doc);
	CHECK_EQ(config_bind(doc->root, store_config_fields, &cfg, "clickhouse", "t.yaml", &err),
		 0);
	CHECK_STR(cfg.url, "http://10.0.0.1:8123/");
	CHECK_STR(cfg.database, "flows");
	CHECK_EQ(cfg.batch_rows, 1000);
	CHECK_EQ(cfg.batch_interval_ms, 250);
	CHECK_EQ(cfg.max_batch_bytes, 1 << 20);
	CHECK_EQ(cfg.retry_max_ms, 60000);
	CHECK_EQ(cfg.consolidation_interval_ms, 0);
	CHECK_EQ(cfg.consolidation_max_rows, 5000);
	CHECK_EQ(cfg.retention.flows, 2ULL * 86400000);
	CHECK_EQ(cfg.retention.flows_1m, 7ULL * 86400000); /* default kept */
	CHECK_EQ(cfg.retention.flows_1h, 1825ULL * 86400000);
	CHECK_EQ(cfg.retention_interval_ms, 600000);
	config_doc_free(doc);
	store_config_free(&cfg);
}

TEST(config_rejects_bad_values)
{
	static const char *const bad[] = {"batch-rows: 0\n",
					  "batch-rows: 2000000\n",
					  "retention:\n  flows-2m: 1d\n",
					  "batch-interval: soon\n",
					  "colour: blue\n",
					  "consolidation-max-rows: 10\n",
					  "consolidation-interval: 2h\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct store_config cfg;
		struct config_error err;
		struct config_doc *doc;

		REQUIRE(store_config_defaults(&cfg) == 0);
		doc = config_doc_load_string("t.yaml", bad[i], &err);
		REQUIRE(doc);
		CHECK_EQ(
		    config_bind(doc->root, store_config_fields, &cfg, "clickhouse", "t.yaml", &err),
		    (unsigned long long)-EINVAL);
		config_doc_free(doc);
		store_config_free(&cfg);
	}
}

TEST(append_is_bounded)
{
	struct store_config cfg;
	struct store_writer *w;
	struct flow f[64];
	size_t rows = 0;
	int r;

	config(&cfg);
	cfg.max_batch_bytes = 65536;
	store_writer_new(&cfg, NULL, &w, NULL);
	REQUIRE(w);
	for (unsigned i = 0; i < 64; i++)
		flow(&f[i], i % 17);
	/* Fill until refused: the batch never goes past its bound. */
	while ((r = store_writer_append(w, f, 64, 0)) == 0)
		rows += 64;
	CHECK_EQ(r, (unsigned long long)-ENOBUFS);
	CHECK(rows > 0);
	CHECK_EQ(store_writer_rows(w), rows);
	CHECK(store_writer_bytes(w) <= 65536);
	CHECK(store_writer_bytes(w) > 65536 / 2); /* it was filled, not refused early */
	/* More than a whole batch can hold: -E2BIG, even when empty. */
	store_writer_discard(w);
	CHECK_EQ(store_writer_rows(w), 0);
	struct flow *many = calloc(2000, sizeof(*many));
	REQUIRE(many);
	for (unsigned i = 0; i < 2000; i++)
		flow(&many[i], 16);
	CHECK_EQ(store_writer_append(w, many, 2000, 0), (unsigned long long)-E2BIG);
	CHECK_EQ(store_writer_rows(w), 0);
	/* A count past the array's capacity is capped, never read beyond. */
	flow(&f[0], 0);
	f[0].dst_as_path_count = 255;
	f[0].mpls_labels_count = 255;
	f[0].dst_communities_count = 255;
	f[0].dst_large_communities_count = 255;
	CHECK_EQ(store_writer_append(w, f, 1, 0), 0);
	free(many);
	store_writer_free(w);
	store_config_free(&cfg);
}

TEST(due_by_rows_and_by_age)
{
	struct store_config cfg;
	struct store_writer *w;
	struct flow f[10];

	config(&cfg);
	cfg.batch_rows = 25;
	cfg.batch_interval_ms = 1000;
	store_writer_new(&cfg, NULL, &w, NULL);
	REQUIRE(w);
	for (unsigned i = 0; i < 10; i++)
		flow(&f[i], 2);
	CHECK(!store_writer_due(w, 1000000)); /* empty */
	CHECK_EQ(store_writer_append(w, f, 10, 5000), 0);
	CHECK(!store_writer_due(w, 5999));
	CHECK(store_writer_due(w, 6000));
	CHECK_EQ(store_writer_append(w, f, 10, 5500), 0); /* the clock is the first row's */
	CHECK(store_writer_due(w, 6000));
	CHECK(!store_writer_due(w, 5100));
	CHECK_EQ(store_writer_append(w, f, 10, 5600), 0);
	CHECK(store_writer_due(w, 5100)); /* 30 rows >= 25 */
	store_writer_free(w);
	store_config_free(&cfg);
}

static int stop_now(void *ctx)
{
	++*(int *)ctx;
	return 1;
}

TEST(flush_keeps_rows_when_stopped)
{
	struct store_config cfg;
	struct metrics_registry *reg;
	struct store_writer *w;
	struct flow f[3];
	int calls = 0;
	char *text;
	size_t len;

	REQUIRE_EQ(metrics_registry_new(&reg, NULL), 0);
	config(&cfg);
	REQUIRE(reg);
	store_writer_new(&cfg, reg, &w, NULL);
	REQUIRE(w);
	CHECK_EQ(store_writer_flush(w, stop_now, &calls), 0); /* empty: nothing to do */
	for (unsigned i = 0; i < 3; i++)
		flow(&f[i], 1);
	CHECK_EQ(store_writer_append(w, f, 3, 0), 0);
	CHECK_EQ(store_writer_flush(w, stop_now, &calls), (unsigned long long)-ECANCELED);
	CHECK(calls >= 1);
	CHECK_EQ(store_writer_rows(w), 3);
	CHECK(strlen(store_writer_last_error(w)) > 0);
	REQUIRE(metrics_render(reg, &text, &len) == 0);
	CHECK(strstr(text, "weir_store_insert_errors_total 1\n") != NULL);
	CHECK(strstr(text, "weir_store_pending_rows 3\n") != NULL);
	free(text);
	store_writer_free(w);
	metrics_registry_free(reg);
	store_config_free(&cfg);
}

TEST(field_types)
{
	CHECK_STR(store_field_type(flow_field_find("TimeReceived")), "DateTime");
	CHECK_STR(store_field_type(flow_field_find("SrcAddr")), "FixedString(16)");
	CHECK_STR(store_field_type(flow_field_find("DstASPath")), "Array(UInt32)");
	CHECK_STR(store_field_type(flow_field_find("Proto")), "UInt8");
	CHECK_STR(store_field_type(flow_field_find("SrcMAC")), "UInt64");
	CHECK(strncmp(store_field_type(flow_field_find("FlowDirection")), "Enum8(", 6) == 0);
}

TEST(stored_fields)
{
	size_t stored = 0;

	/* Decoded, not stored (not in DESIGN.md's columns). */
	CHECK(!store_field_stored(flow_field_find("TimeFlowStartMs")));
	CHECK(!store_field_stored(flow_field_find("TimeFlowEndMs")));
	for (size_t i = 0; i < flow_fields_count; i++)
		stored += (size_t)store_field_stored(&flow_fields[i]);
	CHECK_EQ(stored, flow_fields_count - 2);
}

TEST(embedded_url_without_library)
{
	struct store_config cfg;
	struct store_client *c = (void *)&cfg;
	struct store_writer *w = (void *)&cfg;
	struct error err = {{0}};

	config(&cfg);
	free(cfg.url);
	cfg.url = strdup("embedded://");
	CHECK_EQ(store_client_new(&cfg, &c, &err), (unsigned long long)-EINVAL);
	CHECK(c == NULL);
	CHECK(strstr(err.text, "embedded:///absolute/dir") != NULL);
	/* The library named is the only one tried (none is loaded here). */
	free(cfg.url);
	cfg.url = strdup("embedded:///nonexistent/weir");
	free(cfg.embedded_library);
	cfg.embedded_library = strdup("/nonexistent/libchdb.so");
	err.text[0] = 0;
	CHECK_EQ(store_client_new(&cfg, &c, &err), (unsigned long long)-ENOENT);
	CHECK(c == NULL);
	CHECK(strstr(err.text, "make deps") != NULL);
	err.text[0] = 0;
	CHECK_EQ(store_writer_new(&cfg, NULL, &w, &err), (unsigned long long)-ENOENT);
	CHECK(w == NULL);
	CHECK_EQ(store_writer_new(&cfg, NULL, &w, NULL), (unsigned long long)-ENOENT);
	/* Any other URL is a server over HTTP: nothing is sent before a query. */
	free(cfg.url);
	cfg.url = strdup("http://127.0.0.1:1");
	CHECK_EQ(store_client_new(&cfg, &c, &err), 0);
	CHECK(c != NULL);
	store_client_free(c);
	store_client_free(NULL);
	store_writer_free(NULL);
	store_config_free(&cfg);
}
