// SPDX-License-Identifier: AGPL-3.0-or-later
/* The orchestrator's loop: schema migrations once ClickHouse answers, then
 * retention on a schedule. */
#include <errno.h>
#include <time.h>

#include "common/log.h"
#include "orchestrator.h"

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sleeps up to `ms`, waking every 100 ms to look at stop_fn. Returns 1 when
 * asked to stop. */
static int wait_or_stop(uint64_t ms, orch_stop_fn stop_fn, void *ctx)
{
	uint64_t end = mono_ms() + ms;

	while (!(stop_fn && stop_fn(ctx))) {
		uint64_t now = mono_ms();
		if (now >= end)
			return 0;
		uint64_t slice = end - now < 100 ? end - now : 100;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)slice * 1000000};
		nanosleep(&ts, NULL);
	}
	return 1;
}

int orch_run(const struct store_config *cfg, int once, orch_stop_fn stop_fn, void *ctx)
{
	struct store_client *c = store_client_new(cfg);
	uint64_t delay = cfg->retry_min_ms;
	int r;

	if (!c)
		return -ENOMEM;
	for (;;) {
		r = orch_migrate(c, cfg, 0);
		if (r >= 0)
			break;
		/* Unreachable: wait for ClickHouse. A failed statement is a bug or
		 * a server we cannot handle: retrying would not help. */
		if (r != -ECONNREFUSED && r != -ETIMEDOUT)
			goto out;
		if (once)
			goto out;
		log_warn("waiting for clickhouse", "retry_in_ms=%llu", (unsigned long long)delay);
		if (wait_or_stop(delay, stop_fn, ctx)) {
			r = 0;
			goto out;
		}
		delay = delay * 2 > cfg->retry_max_ms ? cfg->retry_max_ms : delay * 2;
	}
	for (;;) {
		r = orch_retention_run(c, cfg, (uint64_t)time(NULL));
		if (r >= 0)
			log_info("retention pass done", "partitions_dropped=%d", r);
		if (once)
			break;
		if (wait_or_stop(cfg->retention_interval_ms, stop_fn, ctx))
			break;
	}
	r = r < 0 && once ? r : 0;
out:
	store_client_free(c);
	return r;
}
