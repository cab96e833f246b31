// SPDX-License-Identifier: AGPL-3.0-or-later
/* The outlet's workers: poll raw datagrams from the bus, decode, enrich
 * (hook), append to the ClickHouse writer, and hand the datagrams back to
 * the bus only once ClickHouse acknowledged the rows built from them. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/addr.h"
#include "common/log.h"
#include "outlet.h"
#include "store/store.h"

/* Flows one datagram may give; more are dropped and counted by the decoder
 * (DECODE_FLOW_LIMIT). A 64 KiB IPFIX datagram of the smallest records stays
 * below this in practice. */
#define OUTLET_MAX_FLOWS_PER_DATAGRAM 4096
/* Decoded flows are staged and handed to the writer this many at a time (or
 * at the end of each poll): one append per datagram (~8-25 flows) cost
 * ~0.1 us more per flow in the writer's per-column work, and a big append
 * lets the consolidator prefetch its hash slots. */
#define OUTLET_STAGE_FLOWS 1024
/* Per-worker exporters with their own metric series; the rest share "other". */
#define OUTLET_MAX_TRACKED_EXPORTERS 4096
/* Ring bookkeeping per record (struct ring_record and alignment), so the
 * worker knows how much of the ring it holds. */
#define OUTLET_RING_OVERHEAD 64
/* Datagrams waiting for their template, per worker (see park()). */
#define OUTLET_PARK_SLOTS     4096
#define OUTLET_PARK_SLOT_SIZE 2048
#define OUTLET_PARK_MAX_MS    60000
/* Kafka: longest a commit waits for parked datagrams to be decoded. */
#define OUTLET_DEFER_MAX_MS 10000

struct exporter_stats;

struct park_slot {
	struct in6_addr exporter;
	uint64_t time_ns; /* the envelope's receive time */
	uint64_t parked_ms;
	uint32_t len;
	int live; /* 0: decoded since, a hole until it reaches the head */
	struct exporter_stats *e;
};

struct exporter_stats {
	struct in6_addr addr;
	int used;
	int dirty;	 /* flows appended since the last flush */
	uint32_t parked; /* datagrams waiting for a template */
	uint64_t pending_stored;
	struct metric_series *datagrams, *flows, *stored;
	struct metric_series *events[DECODE_REASON_COUNT]; /* made on first event */
};

struct outlet_worker {
	struct outlet *outlet;
	unsigned index;
	pthread_t thread;
	struct bus_consumer *consumer;
	struct decode_state *decoder;
	struct store_writer *writer;
	struct bus_envelope *envs;
	/* Flows decoded and not yet appended, with their exporters as runs. */
	struct flow *flows;
	size_t nstaged;
	struct staged_run {
		struct exporter_stats *e;
		uint32_t n;
	} * runs;
	size_t nruns;

	/* Exporter table: open addressing, power-of-two size. */
	struct exporter_stats *exporters;
	size_t exporters_mask, exporters_used;
	struct exporter_stats other;
	struct exporter_stats **dirty; /* entries with pending_stored */
	size_t ndirty;

	/* What is polled and not yet given back. */
	unsigned held_polls;
	uint64_t held_bytes;
	int lost; /* a flush since the last release was given up */
	/* Given back as stored (in flows) while their flows were still summed
	 * in memory for flows_1m: the next commit covers them. */
	int owed;
	int deferred; /* stored, but given back only once nothing is parked */
	uint64_t deferred_since;

	/* Parked datagrams: a FIFO of slots, holes where decoded. */
	struct park_slot *park;
	uint8_t *park_data;
	size_t park_head, park_count, park_live;

	struct metric_series *flushes, *flush_errors, *flush_ms_total;
	struct metric_series *flows_dropped, *parked, *unparked, *park_dropped;
	_Atomic uint64_t datagrams, flows_decoded, flows_stored, decode_errors, nflushes, flush_ms;
};

struct outlet {
	struct outlet_config cfg;
	struct decode_config decode_cfg;
	const struct store_config *store;
	struct metrics_registry *metrics;
	struct bus_kafka_flow_producer *flows_out; /* bus.kafka.flows-topic, or NULL */
	struct metric_family *fam_datagrams, *fam_flows, *fam_stored, *fam_events;
	uint64_t consumer_capacity;
	size_t nworkers;
	struct outlet_worker *workers;
	int started;
	_Atomic int stop;
	_Atomic int drain;
	_Atomic int abort;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- per-exporter counters ---- */

static size_t addr_hash(const struct in6_addr *a)
{
	uint64_t lo, hi;

	memcpy(&hi, a->s6_addr, 8);
	memcpy(&lo, a->s6_addr + 8, 8);
	lo = (lo ^ (hi * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
	return (size_t)(lo ^ (lo >> 31));
}

static void exporter_series(struct outlet *o, struct exporter_stats *e, const char *label)
{
	const char *values[] = {label};

	e->datagrams = metrics_series(o->fam_datagrams, values);
	e->flows = metrics_series(o->fam_flows, values);
	e->stored = metrics_series(o->fam_stored, values);
}

static struct exporter_stats *exporter_get(struct outlet_worker *w, const struct in6_addr *a)
{
	size_t i = addr_hash(a) & w->exporters_mask;
	struct exporter_stats *e;
	char text[ADDR_TEXT_MAX];

	for (;;) {
		e = &w->exporters[i];
		if (!e->used)
			break;
		if (memcmp(&e->addr, a, sizeof(*a)) == 0)
			return e;
		i = (i + 1) & w->exporters_mask;
	}
	/* Keep the table at most half full; past that, one shared series. */
	if (w->exporters_used >= OUTLET_MAX_TRACKED_EXPORTERS) {
		if (!w->other.used) {
			w->other.used = 1;
			exporter_series(w->outlet, &w->other, "other");
		}
		return &w->other;
	}
	e->used = 1;
	e->addr = *a;
	w->exporters_used++;
	addr_to_text(a, text, sizeof(text));
	exporter_series(w->outlet, e, text);
	return e;
}

static void exporter_event(struct outlet_worker *w, struct exporter_stats *e,
			   enum decode_reason reason, uint32_t n)
{
	if (!e->events[reason]) {
		char text[ADDR_TEXT_MAX];
		const char *values[2] = {text, decode_reason_name(reason)};

		if (e == &w->other)
			strcpy(text, "other");
		else
			addr_to_text(&e->addr, text, sizeof(text));
		e->events[reason] = metrics_series(w->outlet->fam_events, values);
	}
	metric_add(e->events[reason], n);
}

/* ---- the enrichment hook ---- */

/* Where the enrichment stage plugs in (interface names, classes, GeoIP, AS
 * names, networks): flows of one datagram, in place, before they are stored.
 * Until then names stay empty. */
static void outlet_enrich(struct outlet_worker *w, struct flow *flows, uint32_t n)
{
	(void)w;
	(void)flows;
	(void)n;
}

/* ---- one datagram ---- */

static int writer_store(struct outlet_worker *w, int all);

/* Enriches the staged flows, appends them to the writer and counts them
 * per exporter. */
static void stage_flush(struct outlet_worker *w)
{
	LOG_RATELIMIT(store_rl, 10);
	size_t n = w->nstaged;
	int ret;

	if (n == 0)
		return;
	outlet_enrich(w, w->flows, (uint32_t)n);
	ret = store_writer_append(w->writer, w->flows, n, now_ms());
	if (ret == -ENOBUFS) {
		/* The batch is full in bytes: store what it holds (giving
		 * nothing back: this poll's datagrams are still being read)
		 * and append again. */
		writer_store(w, 0);
		ret = store_writer_append(w->writer, w->flows, n, now_ms());
	}
	w->nstaged = 0;
	if (ret < 0) {
		char text[ADDR_TEXT_MAX];

		metric_add(w->flows_dropped, n);
		addr_to_text(&w->runs[0].e->addr, text, sizeof(text));
		log_write_limited(&store_rl, LOG_LEVEL_ERROR, "flows not queued for ClickHouse",
				  "exporter=%s exporters=%zu flows=%zu error=%d", text, w->nruns, n,
				  ret);
		w->nruns = 0;
		return;
	}
	/* The topic of enriched flows is a copy for other consumers, best
	 * effort: a full queue drops and counts (the producer's metrics), it
	 * never holds the store back. */
	for (size_t i = 0; w->outlet->flows_out && i < n; i++)
		bus_kafka_flow_producer_send(w->outlet->flows_out, &w->flows[i]);
	for (size_t i = 0; i < w->nruns; i++) {
		struct exporter_stats *e = w->runs[i].e;

		e->pending_stored += w->runs[i].n;
		if (!e->dirty) {
			e->dirty = 1;
			w->dirty[w->ndirty++] = e;
		}
	}
	w->nruns = 0;
}

/* The n flows just decoded at w->flows + w->nstaged join the stage. */
static void worker_append(struct outlet_worker *w, struct exporter_stats *e, uint32_t n)
{
	metric_add(e->flows, n);
	atomic_fetch_add_explicit(&w->flows_decoded, n, memory_order_relaxed);
	if (w->nruns && w->runs[w->nruns - 1].e == e)
		w->runs[w->nruns - 1].n += n;
	else
		w->runs[w->nruns++] = (struct staged_run){e, n};
	w->nstaged += n;
	if (w->nstaged >= OUTLET_STAGE_FLOWS)
		stage_flush(w);
}

static uint32_t worker_decode(struct outlet_worker *w, const uint8_t *data, uint32_t len,
			      const struct in6_addr *exporter, uint64_t time_ns,
			      struct decode_result *res)
{
	struct decode_input in = {
	    .data = data,
	    .len = len,
	    .exporter = *exporter,
	    .time_received = time_ns / 1000000000ull,
	};
	struct decode_output out = {.flows = w->flows + w->nstaged,
				    .cap = OUTLET_MAX_FLOWS_PER_DATAGRAM};

	decode_datagram(w->decoder, &in, &out, res);
	return out.count;
}

/* ---- datagrams waiting for their template ----
 * A data set whose template is not known yet cannot be read. That happens
 * to every datagram a restarted outlet reads from Kafka before the exporter
 * sends its templates again (they were in datagrams committed long ago), and
 * when UDP reorders a template behind its data. Such datagrams are parked
 * (copied, bounded: OUTLET_PARK_SLOTS per worker, OUTLET_PARK_MAX_MS) and
 * decoded again as soon as their exporter teaches templates. With Kafka,
 * offsets are not committed while a datagram is parked, so a crash then
 * replays it. */

static struct park_slot *park_at(struct outlet_worker *w, size_t i)
{
	return &w->park[(w->park_head + i) % OUTLET_PARK_SLOTS];
}

/* Pops parked entries from the head: decoded ones, and (drop != 0) the
 * oldest live one, or live ones older than OUTLET_PARK_MAX_MS. */
static void park_trim(struct outlet_worker *w, int drop, uint64_t now)
{
	LOG_RATELIMIT(park_rl, 5);

	while (w->park_count) {
		struct park_slot *s = park_at(w, 0);

		if (s->live) {
			if (!drop && now - s->parked_ms < OUTLET_PARK_MAX_MS)
				break;
			char text[ADDR_TEXT_MAX];

			drop = 0;
			s->live = 0;
			s->e->parked--;
			w->park_live--;
			metric_add(w->park_dropped, 1);
			addr_to_text(&s->e->addr, text, sizeof(text));
			log_write_limited(&park_rl, LOG_LEVEL_WARN,
					  "datagram dropped: its template never came",
					  "exporter=%s waited_ms=%llu", text,
					  (unsigned long long)(now - s->parked_ms));
		}
		w->park_head = (w->park_head + 1) % OUTLET_PARK_SLOTS;
		w->park_count--;
	}
}

static void park(struct outlet_worker *w, struct exporter_stats *e, const struct bus_envelope *env)
{
	struct park_slot *s;

	if (env->len > OUTLET_PARK_SLOT_SIZE) {
		metric_add(w->park_dropped, 1);
		return;
	}
	park_trim(w, 0, now_ms());
	if (w->park_count == OUTLET_PARK_SLOTS)
		park_trim(w, 1, now_ms()); /* full: the oldest goes */
	s = park_at(w, w->park_count);
	*s = (struct park_slot){
	    .exporter = env->exporter,
	    .time_ns = env->time_received_ns,
	    .parked_ms = now_ms(),
	    .len = env->len,
	    .live = 1,
	    .e = e,
	};
	memcpy(w->park_data + (size_t)(s - w->park) * OUTLET_PARK_SLOT_SIZE, env->data, env->len);
	w->park_count++;
	w->park_live++;
	e->parked++;
	metric_add(w->parked, 1);
}

/* Decodes again, oldest first, what `e` has parked. */
static void unpark(struct outlet_worker *w, struct exporter_stats *e)
{
	for (size_t i = 0; i < w->park_count && e->parked; i++) {
		struct park_slot *s = park_at(w, i);
		struct decode_result res;
		uint32_t n;

		if (!s->live || s->e != e)
			continue;
		n = worker_decode(w, w->park_data + (size_t)(s - w->park) * OUTLET_PARK_SLOT_SIZE,
				  s->len, &s->exporter, s->time_ns, &res);
		if (!n && res.events[DECODE_UNKNOWN_TEMPLATE])
			continue; /* still not its template */
		s->live = 0;
		e->parked--;
		w->park_live--;
		metric_add(w->unparked, 1);
		if (n)
			worker_append(w, e, n);
	}
	park_trim(w, 0, now_ms());
}

static void worker_datagram(struct outlet_worker *w, const struct bus_envelope *env)
{
	LOG_RATELIMIT(decode_rl, 10);
	struct exporter_stats *e = exporter_get(w, &env->exporter);
	struct decode_result res;
	uint32_t n;

	n = worker_decode(w, env->data, env->len, &env->exporter, env->time_received_ns, &res);
	metric_add(e->datagrams, 1);
	atomic_fetch_add_explicit(&w->datagrams, 1, memory_order_relaxed);
	for (int r = 1; r < DECODE_REASON_COUNT; r++)
		if (res.events[r])
			exporter_event(w, e, (enum decode_reason)r, res.events[r]);
	if (res.status != DECODE_OK) {
		char text[ADDR_TEXT_MAX];

		atomic_fetch_add_explicit(&w->decode_errors, 1, memory_order_relaxed);
		addr_to_text(&env->exporter, text, sizeof(text));
		log_write_limited(&decode_rl, LOG_LEVEL_WARN, "datagram not fully decoded",
				  "exporter=%s protocol=%s reason=%s flows=%u", text,
				  decode_protocol_name(res.protocol),
				  decode_reason_name(res.status), n);
	}
	if (n)
		worker_append(w, e, n);
	else if (res.events[DECODE_UNKNOWN_TEMPLATE])
		park(w, e, env);
	if (res.templates && e->parked)
		unpark(w, e);
}

/* ---- flush, then give the datagrams back ---- */

/* The writer retries while ClickHouse is away; it gives up only when the
 * outlet is stopped without draining (Kafka keeps the data) or aborted. */
static int worker_should_give_up(void *ctx)
{
	struct outlet *o = ctx;

	return atomic_load(&o->abort) || (atomic_load(&o->stop) && !atomic_load(&o->drain));
}

/* Sends the writer's batch (and with `all` the consolidated rows, due or
 * not) and waits for ClickHouse. Gives nothing back to the bus: a flush in
 * the middle of a polled batch must not release it. The staged flows wait:
 * see worker_store_rows(). */
static int writer_store(struct outlet_worker *w, int all)
{
	uint64_t start = now_ms(), stored = 0;
	int ret;

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
	metric_add(w->flush_ms_total, now_ms() - start);
	atomic_fetch_add_explicit(&w->flush_ms, now_ms() - start, memory_order_relaxed);
	return ret;
}

/* writer_store() of everything decoded so far. */
static int worker_store_rows(struct outlet_worker *w, int all)
{
	stage_flush(w);
	return writer_store(w, all);
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
		w->consumer->ops->release(w->consumer, how);
	if (how == BUS_RELEASE_STORED)
		w->owed = 1;
	else if (how == BUS_RELEASE_COMMIT)
		w->owed = 0;
	w->lost = 0;
	w->held_polls = 0;
	w->held_bytes = 0;
}

/* Stores the batch, then gives the polled datagrams back. With Kafka, not
 * while a datagram waits for its template (committing would skip it after a
 * crash), for OUTLET_DEFER_MAX_MS at most: an exporter that never sends its
 * templates must not hold every commit back. `last`: the worker ends, so
 * give back anyway, committing only when nothing is parked. */
static void worker_flush(struct outlet_worker *w, int last)
{
	int kafka = !w->outlet->consumer_capacity;

	worker_store_rows(w, last);
	if (kafka && w->park_live && !last) {
		if (!w->deferred)
			w->deferred_since = now_ms();
		if (now_ms() - w->deferred_since < OUTLET_DEFER_MAX_MS) {
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
static void worker_on_revoke(void *ctx)
{
	struct outlet_worker *w = ctx;

	if (!w->held_polls && !w->owed)
		return;
	worker_store_rows(w, 1);
	w->deferred = 0;
	worker_release(w, !w->park_live);
}

static void *worker_main(void *arg)
{
	struct outlet_worker *w = arg;
	struct outlet *o = w->outlet;
	uint64_t half = o->consumer_capacity / 2;
	/* Room one poll may need (datagrams of up to ~1500 bytes), capped so a
	 * small ring is not flushed after every poll. */
	uint64_t reserve = o->cfg.batch * 1500 < half / 4 ? o->cfg.batch * 1500 : half / 4;
	LOG_RATELIMIT(poll_rl, 5);

	for (;;) {
		int stopping = atomic_load(&o->stop), n;

		if (stopping && !atomic_load(&o->drain))
			break;
		/* Room for one more poll in what the ring lets us hold? */
		if (half && w->held_polls && w->held_bytes + reserve > half)
			worker_flush(w, 0);
		n = w->consumer->ops->poll(w->consumer, w->envs, o->cfg.batch, stopping ? 0 : 100);
		park_trim(w, 0, now_ms());
		if (n < 0) {
			log_write_limited(&poll_rl, LOG_LEVEL_WARN, "bus poll failed",
					  "worker=%u error=%d", w->index, n);
			if (stopping)
				break;
			n = 0;
		}
		if (n > 0) {
			w->held_polls++;
			for (int i = 0; i < n; i++) {
				worker_datagram(w, &w->envs[i]);
				w->held_bytes += w->envs[i].len + OUTLET_RING_OVERHEAD;
			}
			stage_flush(w);
		} else if (stopping) {
			break; /* drained */
		}
		if ((w->held_polls || w->owed) &&
		    (store_writer_due(w->writer, now_ms()) || (half && w->held_bytes >= half) ||
		     (w->deferred &&
		      (!w->park_live || now_ms() - w->deferred_since >= OUTLET_DEFER_MAX_MS))))
			worker_flush(w, 0);
	}
	if (w->held_polls || w->owed)
		worker_flush(w, 1);
	return NULL;
}

/* ---- life cycle ---- */

static void worker_fini(struct outlet_worker *w)
{
	if (w->writer)
		store_writer_free(w->writer);
	if (w->decoder)
		decode_state_free(w->decoder);
	if (w->consumer)
		w->consumer->ops->free(w->consumer);
	free(w->envs);
	free(w->flows);
	free(w->runs);
	free(w->exporters);
	free(w->dirty);
	free(w->park);
	free(w->park_data);
}

#define WORKER_SERIES(name, help)                                                                  \
	metrics_series(metrics_family(o->metrics, name, help, METRIC_COUNTER, "worker"), values)

static int worker_init(struct outlet *o, struct outlet_worker *w, unsigned index)
{
	char label[16];
	const char *values[] = {label};
	size_t tsize = 1;

	w->outlet = o;
	w->index = index;
	while (tsize < 2 * OUTLET_MAX_TRACKED_EXPORTERS)
		tsize <<= 1;
	w->exporters = calloc(tsize, sizeof(*w->exporters));
	w->exporters_mask = tsize - 1;
	w->dirty = calloc(OUTLET_MAX_TRACKED_EXPORTERS + 1, sizeof(*w->dirty));
	w->envs = calloc(o->cfg.batch, sizeof(*w->envs));
	w->flows = calloc(OUTLET_STAGE_FLOWS + OUTLET_MAX_FLOWS_PER_DATAGRAM, sizeof(*w->flows));
	/* (a run per datagram at most, and a datagram gives a flow at least) */
	w->runs = calloc(OUTLET_STAGE_FLOWS + 1, sizeof(*w->runs));
	w->decoder = decode_state_new(&o->decode_cfg);
	w->park = calloc(OUTLET_PARK_SLOTS, sizeof(*w->park));
	w->park_data = malloc((size_t)OUTLET_PARK_SLOTS * OUTLET_PARK_SLOT_SIZE);
	if (!w->exporters || !w->dirty || !w->envs || !w->flows || !w->runs || !w->decoder ||
	    !w->park || !w->park_data)
		return -ENOMEM;
	snprintf(label, sizeof(label), "%u", index);
	w->flushes = metrics_series(metrics_family(o->metrics, "weir_outlet_flushes_total",
						   "Batches ClickHouse acknowledged",
						   METRIC_COUNTER, "worker"),
				    values);
	w->flush_errors = metrics_series(
	    metrics_family(o->metrics, "weir_outlet_flush_errors_total",
			   "Batches given up (datagrams not committed)", METRIC_COUNTER, "worker"),
	    values);
	w->flush_ms_total = metrics_series(
	    metrics_family(o->metrics, "weir_outlet_flush_milliseconds_total",
			   "Time spent waiting for ClickHouse to acknowledge batches",
			   METRIC_COUNTER, "worker"),
	    values);
	w->flows_dropped =
	    WORKER_SERIES("weir_outlet_flows_dropped_total",
			  "Decoded flows the ClickHouse writer refused (see the log)");
	w->parked = WORKER_SERIES("weir_outlet_parked_total",
				  "Datagrams parked until their exporter sends the template");
	w->unparked = WORKER_SERIES("weir_outlet_unparked_total",
				    "Parked datagrams decoded once their template came");
	w->park_dropped = WORKER_SERIES("weir_outlet_park_dropped_total",
					"Parked datagrams dropped: no template within 60 s, "
					"no room, or too large to park");
	return store_writer_new(o->store, o->metrics, &w->writer, NULL);
}

int outlet_new(const struct outlet_params *p, struct outlet **out)
{
	struct outlet *o = calloc(1, sizeof(*o));
	size_t n = p->cfg->workers ? p->cfg->workers : 1;
	int ret = -ENOMEM;

	if (!o) {
		for (size_t i = 0; i < n; i++)
			p->consumers[i]->ops->free(p->consumers[i]);
		return -ENOMEM;
	}
	o->cfg = *p->cfg;
	if (!o->cfg.batch)
		o->cfg.batch = 512;
	outlet_config_decode(&o->cfg, &o->decode_cfg);
	o->store = p->store;
	o->metrics = p->metrics;
	o->flows_out = p->flows_out;
	o->consumer_capacity = p->consumer_capacity;
	o->nworkers = n;
	o->workers = calloc(n, sizeof(*o->workers));
	if (!o->workers) {
		for (size_t i = 0; i < n; i++)
			p->consumers[i]->ops->free(p->consumers[i]);
		free(o);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		o->workers[i].consumer = p->consumers[i];
		o->workers[i].consumer->on_revoke = worker_on_revoke;
		o->workers[i].consumer->on_revoke_ctx = &o->workers[i];
	}
	o->fam_datagrams = metrics_family(o->metrics, "weir_outlet_datagrams_total",
					  "Datagrams taken from the bus, per exporter",
					  METRIC_COUNTER, "exporter");
	o->fam_flows = metrics_family(o->metrics, "weir_outlet_flows_decoded_total",
				      "Flows decoded, per exporter", METRIC_COUNTER, "exporter");
	o->fam_stored = metrics_family(o->metrics, "weir_outlet_flows_stored_total",
				       "Flows ClickHouse acknowledged, per exporter",
				       METRIC_COUNTER, "exporter");
	o->fam_events =
	    metrics_family(o->metrics, "weir_decode_events_total",
			   "Decoder events (rejected or skipped input), per exporter and reason",
			   METRIC_COUNTER, "exporter,reason");
	for (size_t i = 0; i < n; i++) {
		ret = worker_init(o, &o->workers[i], (unsigned)i);
		if (ret < 0)
			goto fail;
	}
	*out = o;
	return 0;
fail:
	outlet_free(o);
	return ret;
}

int outlet_start(struct outlet *o)
{
	for (size_t i = 0; i < o->nworkers; i++) {
		int ret = -pthread_create(&o->workers[i].thread, NULL, worker_main, &o->workers[i]);

		if (ret < 0) {
			atomic_store(&o->stop, 1);
			for (size_t j = 0; j < i; j++)
				pthread_join(o->workers[j].thread, NULL);
			return ret;
		}
	}
	o->started = 1;
	return 0;
}

void outlet_stop(struct outlet *o, int drain)
{
	if (!o || !o->started)
		return;
	atomic_store(&o->drain, drain);
	atomic_store(&o->stop, 1);
	for (size_t i = 0; i < o->nworkers; i++)
		pthread_join(o->workers[i].thread, NULL);
	o->started = 0;
}

void outlet_abort(struct outlet *o)
{
	if (o)
		atomic_store(&o->abort, 1);
}

void outlet_free(struct outlet *o)
{
	if (!o)
		return;
	outlet_stop(o, 0);
	for (size_t i = 0; i < o->nworkers; i++)
		worker_fini(&o->workers[i]);
	free(o->workers);
	free(o);
}

void outlet_totals(struct outlet *o, struct outlet_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < o->nworkers; i++) {
		struct outlet_worker *w = &o->workers[i];

		t->datagrams += atomic_load(&w->datagrams);
		t->flows_decoded += atomic_load(&w->flows_decoded);
		t->flows_stored += atomic_load(&w->flows_stored);
		t->decode_errors += atomic_load(&w->decode_errors);
		t->flushes += atomic_load(&w->nflushes);
		t->flush_ms += atomic_load(&w->flush_ms);
	}
}
