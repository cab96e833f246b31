// SPDX-License-Identifier: AGPL-3.0-or-later
/* The user-space policy of the UDP inputs: a token bucket per exporter
 * (burst, refill at the rate, refill capped at ten seconds), independent
 * between exporters, and started afresh when the policy changes. */
#include <stdio.h>

#include "bus/bus.h"
#include "inlet/inlet_internal.h"
#include "test.h"

#define S 1000000000ull /* ns */

static struct in6_addr v4(uint32_t a)
{
	struct in6_addr x;

	addr_from_ipv4(&x, a);
	return x;
}

/* How many of `n` datagrams from `a` at `now` pass; the others must be cut
 * by the rate (-2). */
static int take(struct inlet *in, uint32_t a, uint64_t now, int n)
{
	struct in6_addr x = v4(a);
	int passed = 0;

	for (int i = 0; i < n; i++) {
		int r = inlet_policy_check(&in->policy, &x, now);

		if (r == 1)
			passed++;
		else
			CHECK_EQ(r, -2);
	}
	return passed;
}

/* A UDP inlet on loopback with a rate limit, and its ring. */
struct fixture {
	struct bus_producer *prod;
	struct bus_consumer *cons;
	struct inlet *in;
};

static void fixture_init(struct fixture *f, uint64_t rate, uint64_t burst)
{
	struct inlet_input_config ic = {.type = INLET_INPUT_UDP};
	struct inlet_config cfg = {.inputs = {&ic, 1}, .rate_limit = rate, .rate_burst = burst};
	struct error err = {""};
	char listen[32];

	snprintf(listen, sizeof(listen), "127.0.0.1:%u", test_free_udp_port());
	ic.listen = listen;
	REQUIRE(bus_ring_new("t", 1 << 20, 0, NULL, &f->prod, &f->cons, NULL) == 0);
	if (inlet_new(&cfg, f->prod, NULL, &f->in, &err) < 0)
		printf("# %s\n", err.text);
	REQUIRE(f->in);
}

static void fixture_fini(struct fixture *f)
{
	inlet_free(f->in);
	bus_producer_free(f->prod);
	bus_consumer_free(f->cons);
}

TEST(udp_policy_token_bucket_per_exporter)
{
	const uint64_t t = 1000 * S;
	const uint32_t a = 0xc0000201, b = 0xc0000202;
	struct fixture f;
	struct inlet *in;
	struct error err = {""};

	fixture_init(&f, 10, 3);
	in = f.in;
	/* The burst, then nothing until a token comes back (10/s: 100 ms). */
	CHECK_EQ(take(in, a, t, 5), 3);
	CHECK_EQ(take(in, a, t + S / 20, 1), 0);
	CHECK_EQ(take(in, a, t + S / 10, 3), 1);
	/* Another exporter has its own bucket. */
	CHECK_EQ(take(in, b, t + S / 10, 5), 3);
	/* Many others meanwhile (each new one passes) do not free `a`. */
	for (uint32_t i = 0; i < 500; i++)
		CHECK_EQ(take(in, 0x0a000000u + i * 7919, t + S / 10, 1), 1);
	CHECK_EQ(take(in, a, t + S / 10, 1), 0);
	/* A long silence refills the burst, no more. */
	CHECK_EQ(take(in, a, t + 100 * S, 10), 3);
	/* A clock that goes back gives nothing. */
	CHECK_EQ(take(in, a, t, 1), 0);
	/* A new policy starts every bucket afresh. */
	REQUIRE_EQ(inlet_set_policy(in, NULL, 0, 10, 2, &err), 0);
	CHECK_EQ(take(in, a, t + 100 * S, 10), 2);
	CHECK_EQ(take(in, b, t + 100 * S, 10), 2);
	/* Without a rate, everything passes. */
	REQUIRE_EQ(inlet_set_policy(in, NULL, 0, 0, 0, &err), 0);
	CHECK_EQ(take(in, a, t + 100 * S, 100), 100);
	fixture_fini(&f);
}

/* More exporters than buckets: each new one still gets a full burst, and
 * memory stays bounded (the stalest buckets go). */
TEST(udp_policy_more_exporters_than_buckets)
{
	struct fixture f;

	fixture_init(&f, 1, 2);
	for (uint32_t i = 0; i < 4 * INLET_BUCKETS; i++)
		CHECK_EQ(take(f.in, 0x0a000000u + i, S + i, 3), 2);
	/* The latest ones are still remembered. */
	CHECK_EQ(take(f.in, 0x0a000000u + 4 * INLET_BUCKETS - 1, S + 4 * INLET_BUCKETS, 1), 0);
	fixture_fini(&f);
}
