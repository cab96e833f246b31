// SPDX-License-Identifier: AGPL-3.0-or-later
/* addr_hash64: stable values (the single-process bus assigns exporters to
 * workers with it), the seed as a second key part, and the spread of
 * neighbouring addresses. */
#include "common/addr.h"
#include "test.h"

static struct in6_addr text(const char *s)
{
	struct in6_addr a;

	REQUIRE_EQ(addr_from_text(&a, s), 0);
	return a;
}

TEST(addr_hash64_is_stable)
{
	struct in6_addr a = text("192.0.2.1"), b = text("10.0.0.2"), c = text("2001:db8::1");

	/* What the ring bus's own copy gave before it was shared. */
	CHECK_EQ(addr_hash64(&a, 0), 0x071c5a8e3548d912ull);
	CHECK_EQ(addr_hash64(&b, 0), 0xa8831817437b5f9eull);
	CHECK_EQ(addr_hash64(&c, 0), 0x530af553e1ea9305ull);
}

TEST(addr_hash64_seed_changes_the_hash)
{
	struct in6_addr a = text("192.0.2.1");

	CHECK(addr_hash64(&a, 1) != addr_hash64(&a, 0));
	CHECK(addr_hash64(&a, 1) != addr_hash64(&a, 2));
	CHECK_EQ(addr_hash64(&a, 5), addr_hash64(&a, 5));
}

TEST(addr_hash64_spreads_neighbours)
{
	unsigned bucket[4] = {0}, low[64] = {0};

	for (uint32_t i = 0; i < 1024; i++) {
		struct in6_addr a;

		addr_from_ipv4(&a, 0xc0000200u + i);
		bucket[addr_hash64(&a, 0) % 4]++;
		low[addr_hash64(&a, 0) & 63]++;
	}
	for (int i = 0; i < 4; i++)
		CHECK(bucket[i] > 200 && bucket[i] < 312);
	for (int i = 0; i < 64; i++)
		CHECK(low[i] > 2 && low[i] < 40);
}
