/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The outlet: N worker threads, each with its own bus consumer, decoder state
 * and ClickHouse writer. A worker polls raw datagrams, decodes them, enriches
 * them (when given an enrich stage), appends the flows to its writer, and
 * gives the datagrams back to the bus (Kafka: commits their offsets) only
 * once ClickHouse acknowledged the rows built from them: at-least-once,
 * nothing lost when a part dies. */
#ifndef WEIR_OUTLET_H
#define WEIR_OUTLET_H

#include <stddef.h>
#include <stdint.h>

#include "../bus/bus.h"
#include "../common/config.h"
#include "../common/error.h"
#include "../common/metrics.h"
#include "../decode/decode.h"

/* The `outlet:` section of weir.yaml. */
struct outlet_config {
	uint64_t workers;    /* worker threads (and rings, and Kafka consumers); default 2 */
	uint64_t batch;	     /* datagrams per bus poll; default 512 */
	int use_export_time; /* TimeReceived from the export header, not the receive time */
	struct {
		uint64_t max_exporters;
		uint64_t max_templates_per_exporter;
		uint64_t max_bytes_per_exporter;
		uint64_t max_bytes_total;  /* per worker */
		uint64_t template_idle_ms; /* 0: never expire */
		uint64_t exporter_idle_ms;
		int decap; /* enum decode_decap */
	} decoder;
};

extern const struct config_field outlet_config_fields[];
void outlet_config_defaults(struct outlet_config *cfg);
/* The decoder settings of `cfg` as the decoders take them. */
void outlet_config_decode(const struct outlet_config *cfg, struct decode_config *out);

/* ---- the workers ----
 * On one machine their consumers come from bus_ring_shards_new() (one ring
 * per worker, an exporter's datagrams always on the same one); with Kafka,
 * one bus_kafka_consumer_new() each. */

struct store_config;
struct enrich;
struct outlet;

struct outlet_params {
	const struct outlet_config *cfg;
	const struct store_config *store; /* where the flows go (store.h) */
	struct metrics_registry *metrics;
	/* cfg->workers consumers; the outlet owns them from outlet_new() on,
	 * even when it fails (it sets their on_revoke hook). */
	struct bus_consumer **consumers;
	/* Bytes a consumer can hold unreleased before its producer drops (the
	 * ring's size), or 0 when unbounded (Kafka). A worker flushes before it
	 * holds half of it. */
	uint64_t consumer_capacity;
	/* Optional (bus.kafka.flows-topic): every enriched flow is also sent
	 * there, for other consumers. Not owned; outlives the outlet. */
	struct bus_kafka_flow_producer *flows_out;
	/* Optional (user/enrich/enrich.h): started, not owned; outlives the
	 * outlet. Each worker enriches the flows of each datagram (flows it
	 * rejects are counted there, never stored) and tells it the interface
	 * names exporters send in options data. NULL: flows stored as decoded. */
	struct enrich *enrich;
};

/* Returns 0 and *out, or -errno (out of memory) with *out NULL and `err`
 * filled. */
int outlet_new(const struct outlet_params *params, struct outlet **out, struct error *err);
/* Starts the worker threads. Returns 0, or -errno with `err` filled (no
 * thread left running). */
int outlet_start(struct outlet *o, struct error *err);
/* Stops the workers and waits for them. drain != 0: each worker polls until
 * its consumer has nothing more (a closed ring), then flushes; drain == 0
 * (Kafka): stop polling now, flush what was polled, commit. Either way every
 * datagram a worker polled is stored before it commits. */
void outlet_stop(struct outlet *o, int drain);
/* Makes flushes that wait for ClickHouse give up (a second SIGINT): what
 * they held is not committed. Thread-safe, may be called during outlet_stop(). */
void outlet_abort(struct outlet *o);
/* Whether flows may be stored yet (yes unless told otherwise). A role that
 * opens its flow inputs before ClickHouse is there (cli_roles.c) says 0
 * before outlet_start() and 1 once the schema is ready: meanwhile a worker
 * that must flush waits, keeping what it polled in the bus (the ring fills,
 * then drops and counts), and gives up only as a flush waiting for
 * ClickHouse does (outlet_abort(), a stop without drain). Thread-safe. */
void outlet_set_store_ready(struct outlet *o, int ready);
/* Stops (without draining) and frees. NULL is fine. */
void outlet_free(struct outlet *o);

/* Totals over every worker since the start (tests and benchmarks). */
struct outlet_totals {
	uint64_t datagrams;
	uint64_t flows_decoded;
	uint64_t flows_stored;
	uint64_t decode_errors; /* datagrams whose status was not DECODE_OK */
	uint64_t flushes;
	uint64_t flush_ms; /* time spent waiting for ClickHouse, summed over workers */
	/* datagrams given back to the bus (stored, or given up and logged):
	 * what the bus accepted minus this is what a kill would lose */
	uint64_t datagrams_released;
};
void outlet_totals(struct outlet *o, struct outlet_totals *t);

#endif
