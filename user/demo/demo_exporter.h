/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The demo exporter behind `weir run --demo`: a thread that makes up
 * plausible flows (documentation prefixes, private AS numbers) and sends
 * them, encoded by the demo encoder, over UDP from a few loopback source
 * addresses (one exporter per format: NetFlow v5, v9, IPFIX, sFlow). */
#ifndef WEIR_DEMO_EXPORTER_H
#define WEIR_DEMO_EXPORTER_H

#include <stdint.h>

#include "demo.h"

struct demo_exporter_config {
	const char *target;	   /* "127.0.0.1:2055"; sFlow goes to the same host, port 6343 */
	uint16_t sflow_port;	   /* 0 = 6343 */
	uint32_t flows_per_second; /* over all exporters; 0 = 200 */
	uint64_t max_flows;	   /* stop after this many; 0 = until stopped */
};

struct demo_exporter;

/* Checks the target, makes the encoders and binds the sockets (one per
 * exporter); nothing is sent before demo_exporter_start(). Returns 0 with
 * *out, or -errno (bad target, sockets) with *out = NULL and strerror's
 * words in `err`. */
int demo_exporter_new(const struct demo_exporter_config *cfg, struct demo_exporter **out,
		      struct error *err);
/* Starts the sending thread. Returns 0, or -errno with `err` filled. */
int demo_exporter_start(struct demo_exporter *e, struct error *err);
/* Flows sent so far. */
uint64_t demo_exporter_flows_sent(const struct demo_exporter *e);
/* Stops and joins the thread. Idempotent; NULL is fine. */
void demo_exporter_stop(struct demo_exporter *e);
/* Stops if needed, closes the sockets and frees. NULL is fine. */
void demo_exporter_free(struct demo_exporter *e);

/* Fills `f` with made-up flow number `seq` (deterministic in seq and seed),
 * time_received = `now` (unix seconds). Used by the exporter, tests, benches. */
void demo_flow_make(struct flow *f, uint64_t seq, uint32_t seed, uint64_t now);

#endif
