/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* What the outlet's files share: the outlet and its workers, and the calls
 * between the worker loop (worker.c), the exporter table (exporters.c),
 * template parking (parking.c) and the commit protocol (commit.c). Every
 * function here runs on the worker's own thread unless it says otherwise.
 * Not for other stages. */
#ifndef WEIR_OUTLET_INTERNAL_H
#define WEIR_OUTLET_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/drop_log.h"
#include "common/exporter_table.h"
#include "outlet.h"

/* Interfaces one datagram's options data may name (more are not learnt
 * from that datagram; exporters repeat them). */
#define OUTLET_MAX_IFACES_PER_DATAGRAM 64

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
/* Per-worker sequence streams (exporter, domain) with their own series. */
#define OUTLET_MAX_TRACKED_STREAMS 4096
/* Ring bookkeeping per record (struct ring_record and alignment), so the
 * worker knows how much of the ring it holds. */
#define OUTLET_RING_OVERHEAD 64
/* Datagrams waiting for their template, per worker (see parking.c). */
#define OUTLET_PARK_SLOTS     4096
#define OUTLET_PARK_SLOT_SIZE 2048
#define OUTLET_PARK_MAX_MS    60000
/* Kafka: longest a commit waits for parked datagrams to be decoded. */
#define OUTLET_DEFER_MAX_MS 10000

struct exporter_stats;
struct drop_log;

/* Buckets of the parked datagrams' index (a power of two). */
#define OUTLET_PARK_BUCKETS 4096
#define OUTLET_PARK_NONE    UINT32_MAX

/* Why a parked datagram was dropped (weir_outlet_park_dropped_total). */
enum park_drop {
	PARK_DROP_EXPIRED,   /* its template did not come within OUTLET_PARK_MAX_MS */
	PARK_DROP_FULL,	     /* no slot left: the oldest goes */
	PARK_DROP_TOO_LARGE, /* longer than OUTLET_PARK_SLOT_SIZE */
	PARK_DROP_COUNT
};

/* One parked datagram (its bytes are in park_data, at the slot's index).
 * Live ones are also chained in the index bucket of (exporter, key): the
 * template they wait for. */
struct park_slot {
	struct in6_addr exporter;
	uint64_t time_ns; /* the envelope's receive time */
	uint64_t parked_ms;
	uint32_t len;
	int live; /* 0: decoded since, a hole until it reaches the head */
	struct exporter_stats *e;
	struct decode_template_key key;
	uint32_t bucket, bprev, bnext; /* slot indexes, OUTLET_PARK_NONE */
};

/* One exporter as a worker sees it: its metric series and what it owes.
 * The value of an entry of the worker's exporter table (the address is the
 * entry's: outlet_exporter_addr()), or the worker's shared `other`. */
struct exporter_stats {
	int used;	 /* `other` only: its series are made */
	int dirty;	 /* flows appended since the last flush */
	uint32_t parked; /* datagrams waiting for a template */
	uint64_t pending_stored;
	struct metric_series *datagrams, *flows, *stored;
	struct metric_series *events[DECODE_REASON_COUNT];   /* made on first event */
	struct metric_series *park_dropped[PARK_DROP_COUNT]; /* made on first drop */
};

/* One sequence stream (exporter, observation domain) as a worker reports
 * it: the value of an entry of the worker's stream table, or its `other`.
 * Series are made on first use; lost has one per unit. */
struct stream_stats {
	struct metric_series *lost[4]; /* by enum decode_seq_unit */
	struct metric_series *out_of_order, *resets;
};

struct outlet_worker {
	struct outlet *outlet;
	unsigned index;
	pthread_t thread;
	struct bus_consumer *consumer;
	struct decode_state *decoder;
	struct store_writer *writer;
	struct enrich_worker *enricher;	 /* NULL without an enrich stage */
	struct decode_interface *ifaces; /* options data's interfaces (with enricher) */
	struct bus_envelope *envs;
	/* Flows decoded and not yet appended, with their exporters as runs. */
	struct flow *flows;
	size_t nstaged;
	struct staged_run {
		struct exporter_stats *e;
		uint32_t n;
	} * runs;
	size_t nruns;

	/* exporters.c: values struct exporter_stats, preallocated (runs, the
	 * dirty list and park slots keep pointers to them). */
	struct exporter_table exporters;
	struct exporter_stats other;
	struct exporter_stats **dirty; /* entries with pending_stored */
	size_t ndirty;
	/* exporters.c: sequence streams, values struct stream_stats. */
	struct exporter_table streams;
	struct stream_stats other_stream;
	uint64_t drops_tick_ms; /* last drop_log_tick() of this worker */

	/* commit.c: what is polled and not yet given back. */
	unsigned held_polls;
	uint64_t held_bytes;
	int lost; /* a flush since the last release was given up */
	/* Given back as stored (in flows) while their flows were still summed
	 * in memory for flows_1m: the next commit covers them. */
	int owed;
	int deferred; /* stored, but given back only once nothing is parked */
	uint64_t deferred_since;
	uint64_t released_mark; /* `datagrams` at the last release */

	/* parking.c: a FIFO of slots, holes where decoded, and an index of
	 * the live ones by the template they wait for (heads and tails of
	 * OUTLET_PARK_BUCKETS chains). */
	struct park_slot *park;
	uint8_t *park_data;
	size_t park_head, park_count, park_live;
	uint32_t *park_bhead, *park_btail;
	/* Decodes of parked datagrams (once each when its template comes);
	 * read by tests from any thread. */
	_Atomic uint64_t park_decodes;
	struct metric_series *park_redecoded;
	/* The decoder's state changes (decode_result) and size (gauges). */
	struct metric_series *tmpl_removed[3], *exp_removed[2], *exp_restarts;
	struct metric_series *state_bytes, *state_exporters, *state_templates;

	struct metric_series *flushes, *flush_errors, *flush_ms_total;
	struct metric_series *flows_dropped, *parked, *unparked, *skipped_records;
	/* Read by outlet_totals() from any thread. */
	_Atomic uint64_t datagrams, flows_decoded, flows_stored, decode_errors, nflushes, flush_ms;
	_Atomic uint64_t datagrams_released;
};

struct outlet {
	struct outlet_config cfg;
	struct decode_config decode_cfg;
	const struct store_config *store;
	struct metrics_registry *metrics;
	struct bus_kafka_flow_producer *flows_out; /* bus.kafka.flows-topic, or NULL */
	struct enrich *enrich;			   /* or NULL */
	struct metric_family *fam_datagrams, *fam_flows, *fam_stored, *fam_events;
	struct metric_family *fam_park_dropped; /* exporter, reason */
	/* Rate-limited drop lines (stage=outlet), shared by the workers. */
	struct drop_log *drops;
	uint64_t consumer_capacity;
	size_t nworkers;
	struct outlet_worker *workers;
	int started;
	_Atomic int stop;
	_Atomic int drain;
	_Atomic int abort;
	_Atomic int store_wait; /* outlet_set_store_ready(o, 0) until (o, 1) */
};

/* ---- worker.c: the worker loop ---- */

/* Sets up `w` (its decoder, writer, buffers, exporter table, parking and
 * metric series). Returns 0 or -ENOMEM; outlet_worker_fini() either way. */
int outlet_worker_init(struct outlet *o, struct outlet_worker *w, unsigned index);
/* Frees what `w` holds, its consumer included. */
void outlet_worker_fini(struct outlet_worker *w);
/* The thread: poll, decode, store, give back, until the outlet stops. */
void *outlet_worker_main(void *arg);
/* Decodes one datagram into the stage (w->flows + w->nstaged). Returns the
 * flows it gave; `res` says why not more. */
uint32_t outlet_worker_decode(struct outlet_worker *w, const uint8_t *data, uint32_t len,
			      const struct in6_addr *exporter, uint64_t time_ns, int replay,
			      struct decode_result *res);
/* The n flows just decoded (outlet_worker_decode()) are enriched (those the
 * enrich stage drops leave) and join the stage, as `e`'s; a full stage goes
 * to the writer. */
void outlet_worker_append(struct outlet_worker *w, struct exporter_stats *e, uint32_t n);
/* Appends the staged flows to the writer and counts them per exporter. */
void outlet_stage_flush(struct outlet_worker *w);
/* The outlet drop log's lines (struct drop_log_config.emit): `reason` is a
 * decode reason name ("datagrams not fully decoded") or another outlet drop
 * reason such as "parked_expired" ("datagrams dropped"), `count` the
 * datagrams since the previous line. Any thread. */
void outlet_drop_emit(void *ctx, const char *stage, const char *reason,
		      const struct in6_addr *exporter, uint64_t count);

/* ---- exporters.c: per-exporter counters ---- */

/* Allocates the table (and the list of dirty entries). 0 or -ENOMEM. */
int outlet_exporters_init(struct outlet_worker *w);
void outlet_exporters_fini(struct outlet_worker *w);
/* The entry of `a`, made (with its metric series) on first sight; past
 * OUTLET_MAX_TRACKED_EXPORTERS, the shared "other". Never NULL. */
struct exporter_stats *outlet_exporter_get(struct outlet_worker *w, const struct in6_addr *a);
/* The address of `e`'s exporter, for logs; :: for the shared "other". */
const struct in6_addr *outlet_exporter_addr(const struct outlet_worker *w,
					    const struct exporter_stats *e);
/* Counts n decoder events of `reason` for `e`. */
void outlet_exporter_event(struct outlet_worker *w, struct exporter_stats *e,
			   enum decode_reason reason, uint32_t n);
/* Counts what decode_sequence_track() found in `res` (lost units, out of
 * order, reset) under res->exporter and res->seq.domain; nothing when the
 * datagram carried no sequence. */
void outlet_exporter_sequence(struct outlet_worker *w, const struct decode_result *res);

/* ---- parking.c: datagrams waiting for their template ---- */

/* Allocates the slots. 0 or -ENOMEM. */
int outlet_park_init(struct outlet_worker *w);
void outlet_park_fini(struct outlet_worker *w);
/* Keeps a copy of `env` (a datagram of `e` that gave no flow for want of
 * the template `missing`) until outlet_unpark() of that template; dropped
 * and counted when too large, or the oldest goes when full (counted, and
 * logged through the worker's drop log). */
void outlet_park(struct outlet_worker *w, struct exporter_stats *e, const struct bus_envelope *env,
		 const struct decode_template_key *missing);
/* `res` (a datagram of `e`, of exporter `addr`) taught templates: decodes
 * again, oldest first, the datagrams parked for those (all of `e`'s when
 * the list of taught templates overflowed). A datagram is decoded again
 * only when the template it waits for came: once, unless it then waits for
 * another. */
void outlet_unpark(struct outlet_worker *w, struct exporter_stats *e, const struct in6_addr *addr,
		   const struct decode_result *res);
/* Pops parked entries from the head: decoded ones, and (drop != 0) the
 * oldest live one (PARK_DROP_FULL), or live ones older than
 * OUTLET_PARK_MAX_MS (PARK_DROP_EXPIRED). */
void outlet_park_trim(struct outlet_worker *w, int drop, uint64_t now);

/* ---- commit.c: store, then give the datagrams back to the bus ---- */

/* Sends the writer's batch (with `all`, the consolidated rows too) and waits
 * for ClickHouse; gives nothing back to the bus. Returns 0, or -errno when
 * told to give up (the batch is discarded and nothing polled since the last
 * release will be committed). */
int outlet_writer_store(struct outlet_worker *w, int all);
/* Stores everything decoded so far, then gives the polled datagrams back
 * (with Kafka, deferred while a datagram is parked). `last`: the worker
 * ends. */
void outlet_worker_flush(struct outlet_worker *w, int last);
/* The consumer's on_revoke hook (ctx is the worker): stores and commits
 * what the worker holds before the bus takes partitions away. */
void outlet_worker_on_revoke(void *ctx);

#endif
