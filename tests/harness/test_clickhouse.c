// SPDX-License-Identifier: AGPL-3.0-or-later
/* The throw-away clickhouse-server of the C integration tests, started by
 * the bench stage's launcher (the one every private server comes from). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "store/store.h"
#include "test.h"
#include "test_clickhouse.h"

static struct bench_clickhouse *ch;
static int ch_state; /* 0 not tried, 1 running, -1 unavailable */
static char ch_skip_reason[sizeof(((struct error *)0)->text)];

static void ch_cleanup(void)
{
	bench_clickhouse_free(ch);
	ch = NULL;
	ch_state = 0;
}

int test_clickhouse_control(const char *verb)
{
	if (!ch)
		return -1;
	if (!strcmp(verb, "stop"))
		return bench_clickhouse_stop(ch);
	if (!strcmp(verb, "start")) {
		struct error err;
		int r = bench_clickhouse_start(ch, &err);

		if (r < 0)
			fprintf(stderr, "%s\n", error_text(&err));
		return r;
	}
	return -EINVAL;
}

const char *test_clickhouse_dir(void)
{
	return ch ? bench_clickhouse_dir(ch) : "";
}

const char *test_clickhouse_url(const char *name)
{
	/* The server goes when this process goes, even killed. */
	struct bench_clickhouse_config cfg = {.name = name, .watch_pid = getpid()};
	struct error err;

	if (ch_state == 1)
		return bench_clickhouse_url(ch);
	if (ch_state == -1)
		SKIP(ch_skip_reason);
	ch_state = -1;
	if (!bench_clickhouse_available()) {
		snprintf(ch_skip_reason, sizeof(ch_skip_reason),
			 "clickhouse-server is not installed");
		SKIP(ch_skip_reason);
	}
	if (bench_clickhouse_new(&cfg, &ch, &err) < 0) {
		snprintf(ch_skip_reason, sizeof(ch_skip_reason), "%s", error_text(&err));
		SKIP(ch_skip_reason);
	}
	atexit(ch_cleanup);
	if (bench_clickhouse_start(ch, &err) < 0) {
		test_fail_at(__FILE__, __LINE__, "clickhouse-server did not start: %s",
			     error_text(&err));
		test_stop();
	}
	ch_state = 1;
	return bench_clickhouse_url(ch);
}

void test_clickhouse_config(struct store_config *cfg, const char *name, const char *db)
{
	struct store_client *c;
	char q[256];

	REQUIRE(store_config_defaults(cfg) == 0);
	free(cfg->url);
	free(cfg->database);
	cfg->url = strdup(test_clickhouse_url(name));
	cfg->database = strdup(db);
	cfg->retry_min_ms = 50;
	cfg->retry_max_ms = 500;
	cfg->insert_timeout_ms = 20000;
	store_client_new(cfg, &c, NULL);
	REQUIRE(c);
	snprintf(q, sizeof(q), "DROP DATABASE IF EXISTS %s", db);
	REQUIRE(store_client_query_nodb(c, q, NULL) == 0);
	store_client_free(c);
}

uint64_t test_clickhouse_u64(struct store_client *c, const char *fmt, ...)
{
	char sql[4096];
	uint64_t v = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (store_client_query_u64(c, sql, &v) < 0)
		test_fail_at(__FILE__, __LINE__, "query failed: %s: %s", sql,
			     store_client_error(c));
	return v;
}
