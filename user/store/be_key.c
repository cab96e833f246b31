// SPDX-License-Identifier: AGPL-3.0-or-later
/* The big-endian key bytes that memcmp() orders as ClickHouse orders the
 * numbers. */
#include "store_internal.h"

void store_put_be(uint8_t *out, uint64_t v, unsigned width)
{
	for (unsigned i = 0; i < width; i++)
		out[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

uint64_t store_get_be(const uint8_t *in, unsigned width)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < width; i++)
		v = v << 8 | in[i];
	return v;
}
