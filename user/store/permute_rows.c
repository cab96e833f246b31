// SPDX-License-Identifier: AGPL-3.0-or-later
/* Reorders a batch's encoded columns by the order of sort_rows.c: each
 * column gathered, width by width, into a scratch buffer that the column
 * takes in place of its own when that one can serve as the next scratch. */
#include <string.h>

#include "store_internal.h"

#define INLINE static inline __attribute__((always_inline))

/* Rows ahead whose value is asked for early: the gathers' loads miss the
 * caches (the batch's columns are larger than them), and more of them are
 * then on their way at once. */
#define AHEAD 16

INLINE void gather(char *restrict dst, const char *restrict src, const uint32_t *perm, size_t rows,
		   unsigned width)
{
	size_t i = 0;

	for (; i + AHEAD < rows; i++) {
		__builtin_prefetch(src + (size_t)perm[i + AHEAD] * width);
		memcpy(dst + i * width, src + (size_t)perm[i] * width, width);
	}
	for (; i < rows; i++)
		memcpy(dst + i * width, src + (size_t)perm[i] * width, width);
}

static void gather_by_width(char *restrict dst, const char *restrict src, const uint32_t *perm,
			    size_t rows, unsigned width)
{
	switch (width) { /* constant widths: a load and a store per row */
	case 1:
		gather(dst, src, perm, rows, 1);
		break;
	case 2:
		gather(dst, src, perm, rows, 2);
		break;
	case 4:
		gather(dst, src, perm, rows, 4);
		break;
	case 8:
		gather(dst, src, perm, rows, 8);
		break;
	case 16:
		gather(dst, src, perm, rows, 16);
		break;
	default:
		gather(dst, src, perm, rows, width);
	}
}

/* Arrays: Native offsets are cumulative element counts. A few elements a
 * row: copied one by one rather than by a call to memcpy(). */
INLINE void gather_array(char *restrict dst, const char *restrict src, const uint64_t *off,
			 const uint32_t *perm, size_t rows, uint64_t *restrict offsets_out,
			 unsigned width)
{
	uint64_t total = 0;

	for (size_t i = 0; i < rows; i++) {
		uint32_t r = perm[i];
		uint64_t start = r ? off[r - 1] : 0, n = off[r] - start;
		const char *s = src + start * width;
		char *d = dst + total * width;

		if (i + AHEAD < rows)
			__builtin_prefetch(off + perm[i + AHEAD] - 1);
		for (uint64_t k = 0; k < n; k++)
			memcpy(d + k * width, s + k * width, width);
		total += n;
		offsets_out[i] = total;
	}
}

static void gather_arrays(char *dst, const struct buf *data, const struct buf *offsets,
			  unsigned width, const uint32_t *perm, size_t rows, uint64_t *offsets_out)
{
	const uint64_t *off = (const uint64_t *)(const void *)offsets->data;

	if (width == 4)
		gather_array(dst, data->data, off, perm, rows, offsets_out, 4);
	else
		gather_array(dst, data->data, off, perm, rows, offsets_out, width);
}

void store_rows_permute(struct buf *data, struct buf *offsets, unsigned width, const uint32_t *perm,
			size_t rows, struct buf *scratch, size_t keep)
{
	if (!offsets) {
		gather_by_width(scratch->data, data->data, perm, rows, width);
	} else {
		size_t at = (data->len + 7) & ~(size_t)7;
		uint64_t *offs = (uint64_t *)(void *)(scratch->data + at);

		gather_arrays(scratch->data, data, offsets, width, perm, rows, offs);
		memcpy(offsets->data, offs, rows * sizeof(*offs));
	}
	if (data->cap >= keep) {
		/* The column's buffer can be the next scratch: trade them
		 * rather than copy back (the same buffers, the same memory). */
		struct buf t = *data;

		*data = *scratch;
		data->len = t.len;
		*scratch = t;
		scratch->len = 0;
	} else if (data->len) {
		memcpy(data->data, scratch->data, data->len);
	}
}
