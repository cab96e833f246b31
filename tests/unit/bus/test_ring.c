// SPDX-License-Identifier: AGPL-3.0-or-later
/* The in-process ring: order, wrap-around, byte-for-byte payloads, drops at
 * once when full, several producer threads, the share one exporter may hold,
 * and the fill gauges. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "bus/bus.h"
#include "common/addr.h"
#include "test.h"

static struct bus_envelope envelope(const uint8_t *data, uint32_t len, uint64_t t)
{
	return (struct bus_envelope){.time_received_ns = t, .len = len, .data = data};
}

TEST(ring_keeps_order_and_bytes_across_wraps)
{
	struct metrics_registry *reg;
	struct bus_producer *p;
	struct bus_consumer *c;
	struct bus_envelope got[8];
	uint8_t buf[1500];
	uint64_t next_check = 0;

	REQUIRE_EQ(metrics_registry_new(&reg, NULL), 0);
	REQUIRE_EQ(bus_ring_new("t", 0, 0, reg, &p, &c, NULL), 0);
	for (uint64_t i = 0; i < 2000; i++) {
		uint32_t len = 1 + (uint32_t)(i * 37 % 1400);
		for (uint32_t j = 0; j < len; j++)
			buf[j] = (uint8_t)(i + j);
		REQUIRE_EQ(
		    bus_producer_send(
			p, &(struct bus_envelope){.time_received_ns = i, .len = len, .data = buf}),
		    0);
		if (i % 7 == 6) {
			int n;
			while ((n = bus_consumer_poll(c, got, 8, 0)) > 0) {
				for (int k = 0; k < n; k++, next_check++) {
					uint32_t want = 1 + (uint32_t)(next_check * 37 % 1400);
					CHECK_EQ(got[k].time_received_ns, next_check);
					REQUIRE_EQ(got[k].len, want);
					for (uint32_t j = 0; j < want; j++)
						if (got[k].data[j] != (uint8_t)(next_check + j))
							REQUIRE(!"payload differs");
				}
				bus_consumer_release(c, 1);
			}
		}
	}
	CHECK(next_check >= 1995);
	bus_producer_free(p);
	bus_consumer_free(c);
	metrics_registry_free(reg);
}

TEST(ring_full_drops_and_counts)
{
	struct metrics_registry *reg;
	struct bus_producer *p;
	struct bus_consumer *c;
	static uint8_t big[60000];
	const char *labels[] = {"full"};
	int sent = 0, dropped = 0;

	REQUIRE_EQ(metrics_registry_new(&reg, NULL), 0);
	REQUIRE_EQ(bus_ring_new("full", 0, 0, reg, &p, &c, NULL), 0);
	for (int i = 0; i < 10; i++) {
		struct bus_envelope env = envelope(big, sizeof(big), (uint64_t)i);
		if (bus_producer_send(p, &env) == 0)
			sent++;
		else
			dropped++;
	}
	CHECK(sent >= 1 && dropped >= 1);
	CHECK_EQ(metric_get_count(metrics_series(
		     metrics_family(reg, "weir_bus_ring_dropped_total", "", METRIC_COUNTER, "ring"),
		     labels)),
		 dropped);
	bus_producer_free(p);
	bus_consumer_free(c);
	metrics_registry_free(reg);
}

struct producer_arg {
	struct bus_producer *p;
	uint8_t id;
};

static void *produce(void *arg)
{
	struct producer_arg *a = arg;
	uint8_t data[64];

	for (uint64_t i = 0; i < 20000; i++) {
		data[0] = a->id;
		struct bus_envelope env = envelope(data, sizeof(data), i);
		/* The ring never waits: a producer that must not lose retries. */
		while (bus_producer_send(a->p, &env) == -ENOBUFS)
			sched_yield();
	}
	return NULL;
}

TEST(ring_many_producers_retrying_lose_nothing)
{
	struct bus_producer *p;
	struct bus_consumer *c;
	pthread_t t[3];
	struct producer_arg args[3];
	uint64_t next[3] = {0}, total = 0;
	struct bus_envelope got[64];

	/* A small ring; producers retry what it refuses, nothing is lost. */
	REQUIRE_EQ(bus_ring_new("mp", 1 << 18, 0, NULL, &p, &c, NULL), 0);
	for (int i = 0; i < 3; i++) {
		args[i] = (struct producer_arg){p, (uint8_t)i};
		pthread_create(&t[i], NULL, produce, &args[i]);
	}
	while (total < 60000) {
		int n = bus_consumer_poll(c, got, 64, 1000);
		REQUIRE(n > 0);
		for (int k = 0; k < n; k++) {
			uint8_t id = got[k].data[0];
			REQUIRE(id < 3);
			/* per producer, order is kept */
			CHECK_EQ(got[k].time_received_ns, next[id]);
			next[id] = got[k].time_received_ns + 1;
		}
		total += (uint64_t)n;
		bus_consumer_release(c, 1);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(total, 60000);
	bus_producer_free(p);
	bus_consumer_free(c);
}

static struct bus_envelope from(uint32_t ipv4, const uint8_t *data, uint32_t len, uint64_t t)
{
	struct bus_envelope env = envelope(data, len, t);

	addr_from_ipv4(&env.exporter, ipv4);
	return env;
}

static double gauge(struct metrics_registry *reg, const char *name, const char *ring)
{
	const char *labels[] = {ring};

	return metric_get_value(
	    metrics_series(metrics_family(reg, name, "", METRIC_GAUGE, "ring"), labels));
}

TEST(ring_exporter_share_leaves_room_for_the_quiet_one)
{
	struct metrics_registry *reg;
	struct bus_producer *p;
	struct bus_consumer *c;
	struct bus_envelope got[64];
	static uint8_t data[1000];
	int noisy_sent = 0, noisy_refused = 0, n;
	uint64_t polled = 0;

	REQUIRE_EQ(metrics_registry_new(&reg, NULL), 0);
	REQUIRE_EQ(bus_ring_new("share", 1 << 20, 50, reg, &p, &c, NULL), 0);
	CHECK_EQ(gauge(reg, "weir_bus_ring_size_bytes", "share"), 1 << 20);
	/* The quiet exporter sent a datagram a moment ago (read since): it is
	 * present, so the noisy one is held to its share. */
	{
		struct bus_envelope env = from(0xc0000202u, data, sizeof(data), 1);

		REQUIRE_EQ(bus_producer_send(p, &env), 0);
		REQUIRE_EQ(bus_consumer_poll(c, got, 64, 0), 1);
		bus_consumer_release(c, BUS_RELEASE_COMMIT);
	}
	/* The noisy exporter floods a ring nobody reads: half of it, no more. */
	for (int i = 0; i < 2000; i++) {
		struct bus_envelope env = from(0xc0000201u, data, sizeof(data), 0);
		int r = bus_producer_send(p, &env);

		if (r == 0)
			noisy_sent++;
		else {
			CHECK_EQ(r, -EDQUOT);
			noisy_refused++;
		}
	}
	CHECK(noisy_sent * 1040 <= (1 << 19) && noisy_sent * 1040 > (1 << 19) - 1040);
	CHECK_EQ(noisy_sent + noisy_refused, 2000);
	CHECK_EQ(gauge(reg, "weir_bus_ring_used_bytes", "share"), noisy_sent * 1040.0);
	/* The quiet one still has the other half. */
	for (int i = 0; i < 300; i++) {
		struct bus_envelope env = from(0xc0000202u, data, sizeof(data), 1);

		REQUIRE_EQ(bus_producer_send(p, &env), 0);
	}
	/* Once read and released, the noisy one's bytes are its own again. */
	while ((n = bus_consumer_poll(c, got, 64, 0)) > 0) {
		polled += (uint64_t)n;
		bus_consumer_release(c, BUS_RELEASE_COMMIT);
	}
	CHECK_EQ(polled, (uint64_t)noisy_sent + 300);
	CHECK_EQ(gauge(reg, "weir_bus_ring_used_bytes", "share"), 0);
	for (int i = 0; i < noisy_sent; i++) {
		struct bus_envelope env = from(0xc0000201u, data, sizeof(data), 2);

		REQUIRE_EQ(bus_producer_send(p, &env), 0);
	}
	bus_producer_free(p);
	bus_consumer_free(c);
	metrics_registry_free(reg);
}

/* Without a share (100), or with one but alone on the ring, an exporter
 * may fill all of it. */
static void one_exporter_takes_it_all(unsigned share)
{
	struct bus_producer *p;
	struct bus_consumer *c;
	static uint8_t data[1000];
	int sent = 0;

	REQUIRE_EQ(bus_ring_new("all", 1 << 20, share, NULL, &p, &c, NULL), 0);
	for (int i = 0; i < 2000; i++) {
		struct bus_envelope env = from(0xc0000201u, data, sizeof(data), 0);
		int r = bus_producer_send(p, &env);

		if (r == 0)
			sent++;
		else
			CHECK_EQ(r, -ENOBUFS); /* full, at once */
	}
	CHECK(sent * 1040 > (1 << 20) - 2 * 1040);
	bus_producer_free(p);
	bus_consumer_free(c);
}

TEST(ring_without_share_one_exporter_takes_it_all)
{
	one_exporter_takes_it_all(100);
}

TEST(ring_exporter_alone_on_its_ring_takes_it_all)
{
	one_exporter_takes_it_all(50);
}

TEST(ring_share_table_is_bounded_and_heals)
{
	struct bus_producer *p;
	struct bus_consumer *c;
	struct bus_envelope got[256];
	uint8_t data[16] = {0};
	uint64_t polled = 0;
	int n;

	/* More exporters at once than the share table holds: the ones past
	 * it go in untracked, and releasing all leaves the table empty. */
	REQUIRE_EQ(bus_ring_new("many", 1 << 20, 50, NULL, &p, &c, NULL), 0);
	for (int round = 0; round < 2; round++) {
		for (uint32_t e = 0; e < 6000; e++) {
			struct bus_envelope env = from(0x0a000000u + e, data, sizeof(data), e);

			REQUIRE_EQ(bus_producer_send(p, &env), 0);
		}
		while ((n = bus_consumer_poll(c, got, 256, 0)) > 0) {
			polled += (uint64_t)n;
			bus_consumer_release(c, BUS_RELEASE_COMMIT);
		}
	}
	CHECK_EQ(polled, 12000);
	bus_producer_free(p);
	bus_consumer_free(c);
}
