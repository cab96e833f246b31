// SPDX-License-Identifier: AGPL-3.0-or-later
/* The throw-away clickhouse-server of the C integration tests, started by
 * the bench stage's launcher (the one every private server comes from). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
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
