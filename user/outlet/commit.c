// SPDX-License-Identifier: AGPL-3.0-or-later
/* The outlet's commit protocol: store the decoded flows, wait for
 * ClickHouse, and only then give the polled datagrams back to the bus
 * (UNCOMMITTED after a flush given up, STORED while the flows are still
 * summed in memory for flows_1m, COMMIT once they are everywhere). */
#include <errno.h>

#include "common/log.h"
#include "outlet_internal.h"
#include "store/store.h"

/* The writer retries while ClickHouse is away; it gives up only when the
 * outlet is stopped without draining (Kafka keeps the data) or aborted. */
static int worker_should_give_up(void *ctx)
{
	struct outlet *o = ctx;

	return atomic_load(&o->abort) || (atomic_load(&o->stop) && !atomic_load(&o->drain));
}

void outlet_set_store_ready(struct outlet *o, int ready)
{
	atomic_store(&o->store_wait, !ready);
}

static int store_not_ready(void *ctx)
{
	struct outlet *o = ctx;

	return !atomic_load(&o->store_wait) || worker_should_give_up(o);
}

/* Before the schema is ready nothing can be stored: wait (in short slices,
 * for a stop), holding what was polled, rather than send inserts that fail
 * or reach half-made tables. 0, or -ECANCELED when told to give up. */
static int wait_store_ready(struct outlet_worker *w)
{
	struct outlet *o = w->outlet;

	if (!atomic_load(&o->store_wait) ||
	    (!store_writer_rows(w->writer) && !store_writer_consolidation_pending(w->writer)))
		return 0;
	while (!store_not_ready(o))
		clock_wait_or_stop(1000, store_not_ready, o);
	return atomic_load(&o->store_wait) ? -ECANCELED : 0;
}

/* Gives nothing back to the bus: a flush in the middle of a polled batch
 * (the stage's, when the batch is full in bytes) must not release it. The
 * staged flows wait: see worker_store_rows(). */
int outlet_writer_store(struct outlet_worker *w, int all)
{
	uint64_t start = clock_mono_ms(), stored = 0;
	int ret;

	ret = wait_store_ready(w);
	if (ret == 0)
		ret = all ? store_writer_flush_all(w->writer, worker_should_give_up, w->outlet)
			  : store_writer_flush(w->writer, worker_should_give_up, w->outlet);
	if (ret < 0) {
		/* Only when told to give up (shutdown while ClickHouse is away):
		 * nothing polled since the last release is committed, Kafka
		 * delivers those datagrams again. */
		store_writer_discard(w->writer);
		w->lost = 1;
		metric_add(w->flush_errors, 1);
		log_error("ClickHouse flush given up, datagrams not committed",
			  "worker=%u error=%d", w->index, ret);
	} else {
		for (size_t i = 0; i < w->ndirty; i++) {
			metric_add(w->dirty[i]->stored, w->dirty[i]->pending_stored);
			stored += w->dirty[i]->pending_stored;
		}
		atomic_fetch_add_explicit(&w->flows_stored, stored, memory_order_relaxed);
		metric_add(w->flushes, 1);
		atomic_fetch_add_explicit(&w->nflushes, 1, memory_order_relaxed);
	}
	for (size_t i = 0; i < w->ndirty; i++) {
		w->dirty[i]->pending_stored = 0;
		w->dirty[i]->dirty = 0;
	}
	w->ndirty = 0;
	metric_add(w->flush_ms_total, clock_mono_ms() - start);
	atomic_fetch_add_explicit(&w->flush_ms, clock_mono_ms() - start, memory_order_relaxed);
	return ret;
}

/* outlet_writer_store() of everything decoded so far. */
static int worker_store_rows(struct outlet_worker *w, int all)
{
	outlet_stage_flush(w);
	return outlet_writer_store(w, all);
}

/* Gives back every batch polled since the last release (one release covers
 * them all, ring and Kafka alike): committed (Kafka offsets) only when every
 * flush since then was acknowledged, and only once the flows are in
 * flows_1m too; until then given back as stored, and committed later. */
static void worker_release(struct outlet_worker *w, int commit)
{
	enum bus_release how = BUS_RELEASE_UNCOMMITTED;

	if (commit && !w->lost)
		how = store_writer_consolidation_pending(w->writer) ? BUS_RELEASE_STORED
								    : BUS_RELEASE_COMMIT;
	if (w->held_polls || (how == BUS_RELEASE_COMMIT && w->owed))
		bus_consumer_release(w->consumer, how);
	/* (every datagram polled so far was decoded: a release covers them) */
	uint64_t n = atomic_load_explicit(&w->datagrams, memory_order_relaxed);
	atomic_fetch_add_explicit(&w->datagrams_released, n - w->released_mark,
				  memory_order_relaxed);
	w->released_mark = n;
	if (how == BUS_RELEASE_STORED)
		w->owed = 1;
	else if (how == BUS_RELEASE_COMMIT)
		w->owed = 0;
	w->lost = 0;
	w->held_polls = 0;
	w->held_bytes = 0;
}

/* With Kafka, the datagrams are not given back while one waits for its
 * template (committing would skip it after a crash), for
 * OUTLET_DEFER_MAX_MS at most: an exporter that never sends its templates
 * must not hold every commit back. `last`: the worker ends, so give back
 * anyway, committing only when nothing is parked. */
void outlet_worker_flush(struct outlet_worker *w, int last)
{
	int kafka = !w->outlet->consumer_capacity;

	worker_store_rows(w, last);
	if (kafka && w->park_live && !last) {
		if (!w->deferred)
			w->deferred_since = clock_mono_ms();
		if (clock_mono_ms() - w->deferred_since < OUTLET_DEFER_MAX_MS) {
			w->deferred = 1;
			return;
		}
	}
	w->deferred = 0;
	worker_release(w, !(last && kafka && w->park_live));
}

/* The bus is taking partitions away (Kafka rebalance): store and commit
 * what this worker holds now, while the commit still counts, so the next
 * owner does not store it again. Not when a datagram is parked waiting for
 * its template: committing past it could lose it. */
void outlet_worker_on_revoke(void *ctx)
{
	struct outlet_worker *w = ctx;

	if (!w->held_polls && !w->owed)
		return;
	worker_store_rows(w, 1);
	w->deferred = 0;
	worker_release(w, !w->park_live);
}
