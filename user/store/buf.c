// SPDX-License-Identifier: AGPL-3.0-or-later
/* The store's growable byte buffer, and the big-endian key bytes that
 * memcmp() orders as ClickHouse orders the numbers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

int store_buf_reserve(struct store_buf *b, size_t extra)
{
	size_t cap;
	char *p;

	if (b->data && b->len + extra <= b->cap)
		return 0; /* (never NULL after a reserve: callers take data + len) */
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + extra)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int store_buf_append(struct store_buf *b, const void *p, size_t n)
{
	int r = store_buf_reserve(b, n);

	if (r < 0)
		return r;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void store_buf_free(struct store_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

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
