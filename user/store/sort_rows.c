// SPDX-License-Identifier: AGPL-3.0-or-later
/* Puts a batch's rows in the order of the table's sorting key before it is
 * sent. ClickHouse sorts every inserted block by that key unless it finds it
 * sorted already (MergeTreeDataWriterBlocksAlreadySorted, in 18.16 too):
 * on `flows` its sort and the permutation of ~100 columns that follows took
 * about a fifth of the server's CPU per flow (perf, weir bench store). Here
 * the key of each row is packed big-endian into a few bytes that memcmp()
 * orders as ClickHouse does, and the encoded columns are gathered once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static uint64_t get_le(const uint8_t *p, unsigned width)
{
	uint64_t v = 0;

	memcpy(&v, p, width); /* little-endian host, as Native */
	return v;
}

/* Row i's key (plus its index, last) into out. */
static void pack_key(const struct store_sort_key *keys, size_t nkeys, size_t i, uint8_t *out)
{
	for (size_t k = 0; k < nkeys; k++) {
		const struct store_sort_key *c = &keys[k];
		const uint8_t *p = (const uint8_t *)c->data + i * c->width;
		uint64_t v;

		if (c->width == 16) {
			memcpy(out, p, 16);
			out += 16;
			continue;
		}
		v = get_le(p, c->width);
		if (c->minute)
			v -= v % 60;
		store_put_be(out, v, c->width);
		out += c->width;
	}
	store_put_be(out, i, 4); /* big-endian too: ties keep arrival order */
}

/* qsort() has no context argument in C11; one sort at a time per thread. */
static _Thread_local const uint8_t *cmp_base;
static _Thread_local size_t cmp_len, cmp_stride;

/* Sorting indices rather than the packed keys themselves: qsort() would
 * move whole 72-byte records at every step. */
static int cmp_rows(const void *a, const void *b)
{
	return memcmp(cmp_base + *(const uint32_t *)a * cmp_stride,
		      cmp_base + *(const uint32_t *)b * cmp_stride, cmp_len);
}

int store_rows_order(const struct store_sort_key *keys, size_t nkeys, size_t rows, uint32_t **perm)
{
	size_t len = 0, stride;
	uint8_t *packed;
	int sorted = 1;

	*perm = NULL;
	for (size_t k = 0; k < nkeys; k++)
		len += keys[k].width;
	if (rows < 2 || len == 0 || rows > UINT32_MAX)
		return 0;
	stride = (len + 4 + 7) & ~(size_t)7;
	packed = malloc(rows * stride);
	if (!packed)
		return -ENOMEM;
	for (size_t i = 0; i < rows; i++) {
		pack_key(keys, nkeys, i, packed + i * stride);
		if (i && sorted && memcmp(packed + (i - 1) * stride, packed + i * stride, len) > 0)
			sorted = 0;
	}
	if (sorted) {
		free(packed);
		return 0;
	}
	*perm = malloc(rows * sizeof(**perm));
	if (!*perm) {
		free(packed);
		return -ENOMEM;
	}
	/* Equal keys keep their arrival order (the index is the last bytes):
	 * a stable order, as ClickHouse's own sort is. */
	for (size_t i = 0; i < rows; i++)
		(*perm)[i] = (uint32_t)i;
	cmp_base = packed;
	cmp_len = len + 4;
	cmp_stride = stride;
	qsort(*perm, rows, sizeof(**perm), cmp_rows);
	free(packed);
	return 1;
}

void store_rows_permute(struct store_buf *data, struct store_buf *offsets, unsigned width,
			const uint32_t *perm, size_t rows, char *scratch, uint64_t *offsets_scratch)
{
	if (!offsets) {
		for (size_t i = 0; i < rows; i++)
			memcpy(scratch + i * width, data->data + (size_t)perm[i] * width, width);
	} else {
		/* Arrays: Native offsets are cumulative element counts. */
		const uint64_t *off = (const uint64_t *)(const void *)offsets->data;
		uint64_t total = 0;

		for (size_t i = 0; i < rows; i++) {
			uint32_t r = perm[i];
			uint64_t start = r ? off[r - 1] : 0, n = off[r] - start;

			memcpy(scratch + total * width, data->data + start * width, n * width);
			total += n;
			offsets_scratch[i] = total;
		}
		memcpy(offsets->data, offsets_scratch, rows * sizeof(*offsets_scratch));
	}
	memcpy(data->data, scratch, data->len);
}
