/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* An outlet for the unit tests: one worker fed by an in-process ring, a
 * store that never answers (nothing listens on port 9), and the metrics it
 * writes. rig_init + rig_open when the test needs an enrich stage or a store
 * not yet ready; rig_start otherwise. Header-only: static inline, so that a
 * test file using part of it compiles without unused-function warnings. */
#ifndef WEIR_TEST_OUTLET_RIG_H
#define WEIR_TEST_OUTLET_RIG_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/addr.h"
#include "outlet/outlet.h"
#include "store/store.h"
#include "test.h"

struct rig {
	struct metrics_registry *reg;
	struct bus_consumer *consumers[1];
	struct bus_producer *p;
	struct outlet_config cfg;
	struct store_config sc;
	struct outlet *o;
};

/* The ring's and each consumer's capacity. */
#define RIG_RING_BYTES (1u << 22)

/* Registry, configurations and ring; the test may change r->cfg and r->sc
 * before rig_open. */
static inline void rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	REQUIRE_EQ(metrics_registry_new(&r->reg, NULL), 0);
	outlet_config_defaults(&r->cfg);
	r->cfg.workers = 1;
	REQUIRE_EQ(store_config_defaults(&r->sc), 0);
	free(r->sc.url);
	r->sc.url = strdup("http://127.0.0.1:9"); /* discard port: nothing listens */
	r->sc.connect_timeout_ms = 100;
	r->sc.retry_min_ms = 10;
	r->sc.retry_max_ms = 50;
	REQUIRE_EQ(bus_ring_shards_new(1, RIG_RING_BYTES, 0, r->reg, &r->p, r->consumers, NULL), 0);
}

/* The outlet, with enrich stage `e` (NULL: none), started; with
 * `store_ready` 0 it is told the schema is not ready yet. */
static inline void rig_open(struct rig *r, struct enrich *e, int store_ready)
{
	REQUIRE_EQ(outlet_new(&(struct outlet_params){.cfg = &r->cfg,
						      .store = &r->sc,
						      .metrics = r->reg,
						      .consumers = r->consumers,
						      .consumer_capacity = RIG_RING_BYTES,
						      .enrich = e},
			      &r->o, NULL),
		   0);
	if (!store_ready)
		outlet_set_store_ready(r->o, 0);
	REQUIRE_EQ(outlet_start(r->o, NULL), 0);
}

static inline void rig_start(struct rig *r)
{
	rig_init(r);
	rig_open(r, NULL, 1);
}

/* One datagram from exporter `from` (IPv4, host order). */
static inline void rig_send(struct rig *r, uint32_t from, const uint8_t *data, size_t len)
{
	struct bus_envelope env = {
	    .time_received_ns = 1700000000ull * 1000000000ull, .data = data, .len = (uint32_t)len};

	addr_from_ipv4(&env.exporter, from);
	REQUIRE_EQ(bus_producer_send(r->p, &env), 0);
}

/* Waits (5 s at most) until the outlet has read `datagrams` datagrams and
 * decoded `flows` flows (-1: any number); returns its totals then. */
static inline struct outlet_totals rig_wait(struct rig *r, uint64_t datagrams, int64_t flows)
{
	struct outlet_totals t = {0};

	for (int i = 0; i < 500; i++) {
		outlet_totals(r->o, &t);
		if (t.datagrams == datagrams && (flows < 0 || t.flows_decoded == (uint64_t)flows))
			break;
		usleep(10000);
	}
	CHECK_EQ(t.datagrams, datagrams);
	return t;
}

/* Stops without draining (the store never answers), frees everything. */
static inline void rig_stop(struct rig *r)
{
	if (r->o) {
		outlet_abort(r->o);
		outlet_stop(r->o, 0);
		outlet_free(r->o);
	}
	bus_ring_shards_close(r->p);
	bus_producer_free(r->p);
	store_config_free(&r->sc);
	metrics_registry_free(r->reg);
}

#endif
