// SPDX-License-Identifier: AGPL-3.0-or-later
/* The orchestrator's loop: schema migrations once ClickHouse answers, then
 * retention on a schedule, each under the orchestrator lock (lock.c). */
#include <errno.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "orchestrator.h"

/* orch_migrate with stop_fn heeded while waiting for the lock. */
static int migrate_locked(struct store_client *c, const struct store_config *cfg,
			  orch_stop_fn stop_fn, void *ctx)
{
	struct orch_lock *l;
	int r = orch_lock_acquire(c, cfg, "migrations", stop_fn, ctx, &l);

	if (r < 0)
		return r;
	r = orch_migrate_unlocked(c, cfg, 0);
	int rr = orch_lock_release(c, l);
	return r < 0 ? r : rr;
}

static int retention_locked(struct store_client *c, const struct store_config *cfg,
			    orch_stop_fn stop_fn, void *ctx)
{
	struct orch_lock *l;
	int r = orch_lock_acquire(c, cfg, "retention", stop_fn, ctx, &l);

	if (r < 0)
		return r;
	r = orch_retention_run_unlocked(c, cfg, (uint64_t)time(NULL));
	orch_lock_release(c, l); /* lost: logged; dropping twice is harmless */
	return r;
}

int orch_run(const struct store_config *cfg, int once, orch_stop_fn stop_fn, void *ctx)
{
	struct store_client *c;
	uint64_t delay = cfg->retry_min_ms;
	int r;

	if (store_client_new(cfg, &c, NULL) < 0)
		return -ENOMEM;
	for (;;) {
		r = migrate_locked(c, cfg, stop_fn, ctx);
		if (r >= 0)
			break;
		if (r == -ECANCELED) {
			r = 0;
			goto out;
		}
		/* Lock lost midway (another orchestrator judged this one
		 * dead): the steps are idempotent, run them again under the
		 * lock. Unreachable: wait for ClickHouse. A failed statement
		 * is a bug or a server we cannot handle, and a lock held past
		 * lock-wait means another orchestrator is stuck: retrying
		 * would not help. */
		if (r == -ENOLCK)
			continue;
		if (r != -ECONNREFUSED && r != -ETIMEDOUT)
			goto out;
		if (once)
			goto out;
		log_warn("waiting for clickhouse", "retry_in_ms=%llu", (unsigned long long)delay);
		if (clock_wait_or_stop(delay, stop_fn, ctx)) {
			r = 0;
			goto out;
		}
		delay = delay * 2 > cfg->retry_max_ms ? cfg->retry_max_ms : delay * 2;
	}
	for (;;) {
		r = retention_locked(c, cfg, stop_fn, ctx);
		if (r == -ECANCELED) {
			r = 0;
			break;
		}
		if (r >= 0)
			log_info("retention pass done", "partitions_dropped=%d", r);
		if (once)
			break;
		if (clock_wait_or_stop(cfg->retention_interval_ms, stop_fn, ctx))
			break;
	}
	r = r < 0 && once ? r : 0;
out:
	store_client_free(c);
	return r;
}
