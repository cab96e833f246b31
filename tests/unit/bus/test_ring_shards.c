// SPDX-License-Identifier: AGPL-3.0-or-later
/* The single-process bus of several rings: all of an exporter's datagrams go
 * to one ring, and the exporters spread over every ring. */
#include "bus/bus.h"
#include "common/addr.h"
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
