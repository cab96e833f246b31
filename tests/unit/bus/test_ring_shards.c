// SPDX-License-Identifier: AGPL-3.0-or-later
/* The single-process bus of several rings: all of an (exporter, domain)'s
 * datagrams go to one ring, in order, exporters spread over every ring, and
 * one exporter's domains spread too. */
#include <string.h>

#include "bus/bus.h"
#include "common/addr.h"
#include "common/be.h"
#include "test.h"

TEST(ring_shards_keep_an_exporter_on_one_ring)
{
	struct bus_consumer *consumers[4];
	struct bus_producer *p;
	struct bus_envelope got[64];
	uint8_t payload[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	int seen[4][64] = {{0}}, used = 0;

	REQUIRE_EQ(bus_ring_shards_new(4, 1 << 20, 0, NULL, &p, consumers, NULL), 0);
	/* 64 exporters, 3 datagrams each. */
	for (int round = 0; round < 3; round++)
		for (int e = 0; e < 64; e++) {
			struct bus_envelope env = {.len = sizeof(payload),
						   .data = payload,
						   .time_received_ns = (uint64_t)e};

			addr_from_ipv4(&env.exporter, 0xc0000200u + (uint32_t)e);
			REQUIRE_EQ(bus_producer_send(p, &env), 0);
		}
	for (int r = 0; r < 4; r++) {
		int n = bus_consumer_poll(consumers[r], got, 64, 0), total = 0;

		while (n > 0) {
			for (int i = 0; i < n; i++)
				seen[r][got[i].time_received_ns]++;
			total += n;
			bus_consumer_release(consumers[r], 1);
			n = bus_consumer_poll(consumers[r], got, 64, 0);
		}
		used += total > 0;
	}
	/* Each exporter's 3 datagrams all in one ring; several rings used. */
	for (int e = 0; e < 64; e++) {
		int rings = 0, count = 0;

		for (int r = 0; r < 4; r++) {
			rings += seen[r][e] > 0;
			count += seen[r][e];
		}
		CHECK_EQ(rings, 1);
		CHECK_EQ(count, 3);
	}
	CHECK_EQ(used, 4);
	bus_ring_shards_close(p);
	bus_producer_free(p);
	for (int r = 0; r < 4; r++)
		bus_consumer_free(consumers[r]);
}

TEST(ring_shards_spread_one_exporter_by_domain)
{
	struct bus_consumer *consumers[2];
	struct bus_producer *p;
	struct bus_envelope got[64];
	uint8_t dg[4][20];
	int seen[2][4] = {{0}}, next[4] = {0};

	REQUIRE_EQ(bus_ring_shards_new(2, 1 << 20, 50, NULL, &p, consumers, NULL), 0);
	/* IPFIX headers (RFC 7011 section 3.1) of observation domains 0..3. */
	for (int d = 0; d < 4; d++) {
		memset(dg[d], 0, sizeof(dg[d]));
		be16_put(dg[d], 10);
		be16_put(dg[d] + 2, sizeof(dg[d]));
		be32_put(dg[d] + 12, (uint32_t)d);
	}
	for (int round = 0; round < 10; round++)
		for (int d = 0; d < 4; d++) {
			struct bus_envelope env = {.len = sizeof(dg[d]),
						   .data = dg[d],
						   .time_received_ns = (uint64_t)(round * 4 + d)};

			addr_from_ipv4(&env.exporter, 0xc0000201u);
			REQUIRE_EQ(bus_producer_send(p, &env), 0);
		}
	for (int r = 0; r < 2; r++) {
		int n;

		while ((n = bus_consumer_poll(consumers[r], got, 64, 0)) > 0) {
			for (int i = 0; i < n; i++) {
				int d = (int)(got[i].time_received_ns % 4);

				seen[r][d]++;
				/* in order within a domain */
				CHECK_EQ(got[i].time_received_ns, (uint64_t)(next[d]++ * 4 + d));
			}
			bus_consumer_release(consumers[r], 1);
		}
	}
	/* Each domain on one consumer only; both consumers have some. */
	for (int d = 0; d < 4; d++) {
		CHECK((seen[0][d] == 10 && seen[1][d] == 0) ||
		      (seen[0][d] == 0 && seen[1][d] == 10));
		/* and the producer says where it goes */
		struct bus_envelope env = {.len = sizeof(dg[d]), .data = dg[d]};

		addr_from_ipv4(&env.exporter, 0xc0000201u);
		CHECK_EQ(seen[bus_ring_shards_pick(p, &env)][d], 10);
	}
	CHECK(seen[0][0] + seen[0][1] + seen[0][2] + seen[0][3] > 0);
	CHECK(seen[1][0] + seen[1][1] + seen[1][2] + seen[1][3] > 0);
	bus_ring_shards_close(p);
	bus_producer_free(p);
	for (int r = 0; r < 2; r++)
		bus_consumer_free(consumers[r]);
}
