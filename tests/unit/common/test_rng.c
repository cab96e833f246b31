// SPDX-License-Identifier: AGPL-3.0-or-later
/* rng_next: the same sequence for a seed (tests and benchmarks depend on
 * it), a zero seed that still moves, and values that look uniform. */
#include "common/rng.h"
#include "test.h"

TEST(rng_next_is_reproducible)
{
	uint64_t a = 42, b = 42, z = 0;

	/* xorshift64* from 42, as the demo and benchmarks always had it. */
	CHECK_EQ(rng_next(&a), 0x56ce4ab7719ba3a0ull);
	CHECK_EQ(rng_next(&b), 0x56ce4ab7719ba3a0ull);
	CHECK_EQ(rng_next(&a), rng_next(&b));
	CHECK(rng_next(&z) != 0);
	CHECK(z != 0);
}

TEST(rng_next_spreads)
{
	unsigned bucket[16] = {0};
	uint64_t s = 7;

	for (int i = 0; i < 16000; i++)
		bucket[rng_next(&s) % 16]++;
	for (int i = 0; i < 16; i++)
		CHECK(bucket[i] > 850 && bucket[i] < 1150);
}
