/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* A small pseudo-random generator (xorshift64*) for made-up data: demo
 * flows, benchmark datagrams, tests. The same seed gives the same sequence
 * on every machine; not for anything that must be unpredictable. */
#ifndef WEIR_COMMON_RNG_H
#define WEIR_COMMON_RNG_H

#include <stdint.h>

/* The next 64 bits from `*state`, which it advances. Any seed will do: a
 * zero state (which xorshift cannot leave) starts from a fixed constant. */
static inline uint64_t rng_next(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

#endif
