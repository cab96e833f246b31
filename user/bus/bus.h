/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The bus between inlet and outlet. What travels is the raw envelope: receive
 * time, exporter address and the datagram, never decoded flows. Two kinds:
 * the in-process ring (one machine, the default) and Kafka (a topic keyed by
 * exporter address). The inlet sees only bus_producer, the outlet only
 * bus_consumer, so neither knows which kind it talks to. */
#ifndef WEIR_BUS_H
#define WEIR_BUS_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/metrics.h"

#define BUS_MAX_DATAGRAM 65535

struct bus_envelope {
	uint64_t time_received_ns; /* CLOCK_REALTIME at receive */
	struct in6_addr exporter; /* datagram source, IPv4-mapped for IPv4 */
	uint16_t exporter_port;
	uint32_t len;
	const uint8_t *data; /* the UDP payload, len bytes */
};

/* ---- producer side (inlet) ---- */

struct bus_producer;

struct bus_producer_ops {
	/* Queues a copy of env->data. 0, or -ENOBUFS when the bus is full and
	 * the datagram was dropped (the implementation counts it). Must be safe
	 * to call from several threads. */
	int (*send)(struct bus_producer *p, const struct bus_envelope *env);
	/* Waits until queued datagrams are handed on (ms <= 0: no wait). */
	int (*flush)(struct bus_producer *p, int timeout_ms);
	void (*free)(struct bus_producer *p);
};

struct bus_producer {
	const struct bus_producer_ops *ops;
};

static inline int bus_producer_send(struct bus_producer *p, const struct bus_envelope *env)
{
	return p->ops->send(p, env);
}

/* ---- consumer side (outlet) ---- */

struct bus_consumer;

struct bus_consumer_ops {
	/* Fills up to `max` envelopes; waits at most timeout_ms for the first.
	 * Returns the count (0 on time-out) or -errno. The data stays valid
	 * until release(). */
	int (*poll)(struct bus_consumer *c, struct bus_envelope *envs, size_t max, int timeout_ms);
	/* Gives back what the last poll() returned. With Kafka, `commit`
	 * non-zero marks it done (offsets committed once stored). */
	void (*release)(struct bus_consumer *c, int commit);
	void (*free)(struct bus_consumer *c);
};

struct bus_consumer {
	const struct bus_consumer_ops *ops;
};

/* ---- the in-process ring ---- */

/* A ring of `size` bytes (rounded up) between many producers and one
 * consumer. When full, send() blocks up to `block_ms` (backpressure) and then
 * drops, counting weir_bus_ring_dropped_total{ring=name}. Both ends are views
 * of one ring: free the producer and the consumer, the ring goes with the
 * last of them. Returns 0 or -errno. */
int bus_ring_new(const char *name, size_t size, int block_ms, struct metrics_registry *metrics,
		 struct bus_producer **producer, struct bus_consumer **consumer);

/* Wakes a consumer blocked in poll() and makes every later poll() return 0
 * at once once the ring is empty (used at shutdown). */
void bus_ring_close(struct bus_producer *producer);

#endif
