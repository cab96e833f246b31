// SPDX-License-Identifier: AGPL-3.0-or-later
/* ClickHouse's Native format: a batch of flows kept as one buffer per column,
 * rows transposed into them as they arrive, put in the table's sorting order,
 * and sent as one block (headers, then each column's buffers as they are).
 *
 * Why Native and not RowBinary: on ClickHouse 18.16 the server parses a
 * Native block column by column with memcpy-like loops, while RowBinary is
 * deserialized field by field; measured on this machine (PLATFORM.md) Native
 * inserts about 650k rows/s against 470k for RowBinary, and only Native
 * leaves room for the 500k flows/s target. The cost moves to us: we keep one
 * buffer per column and transpose rows as they arrive, which is cheap. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* v as a LEB128 varint into out; returns its length (1-10). */
static size_t varint_encode(uint8_t out[10], uint64_t v)
{
	size_t n = 0;

	do {
		out[n] = v & 0x7f;
		v >>= 7;
		if (v)
			out[n] |= 0x80;
		n++;
	} while (v);
	return n;
}

int store_native_put_varint(struct buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = varint_encode(tmp, v);

	return buf_append(b, tmp, n);
}

int store_native_put_string(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	int r = store_native_put_varint(b, n);

	return r < 0 ? r : buf_append(b, s, n);
}

#define PACK_WIDTH sizeof(struct flow_enrichment)

/* The columns to pack (store_internal.h): scalars of struct flow's
 * `enriched`, not in the sorting key (those are read where they are by
 * the sort), when there are enough of them. Returns 0 or -ENOMEM. */
static int pack_init(struct store_native_batch *b)
{
	const size_t lo = offsetof(struct flow, enriched), hi = lo + sizeof(struct flow_enrichment);
	size_t n = 0;

	for (size_t i = 0; i < b->ncols; i++) {
		const struct store_column *d = &b->cols[i].def;
		int key = 0;

		for (size_t k = 0; k < b->nsort; k++)
			key |= b->sort_cols[k] == i;
		if (key || store_column_is_array(d) || d->offset < lo || d->offset + d->width > hi)
			continue;
		b->cols[i].packed = 1;
		n++;
	}
	if (n < STORE_NATIVE_MIN_PACKED) {
		for (size_t i = 0; i < b->ncols; i++)
			b->cols[i].packed = 0;
		return 0;
	}
	b->pack_cols = calloc(n, sizeof(*b->pack_cols));
	if (!b->pack_cols)
		return -ENOMEM;
	/* (the whole struct: a record is then a copy of a constant size, the
	 * same as an interned tuple's) */
	for (size_t i = 0; i < b->ncols; i++)
		if (b->cols[i].packed) {
			b->cols[i].pack_at = b->cols[i].def.offset - lo;
			b->pack_cols[b->npacked++] = i;
		}
	b->pack_width = PACK_WIDTH;
	return 0;
}

int store_native_batch_init(struct store_native_batch *b, const struct store_column *cols,
			    size_t ncols, const char *const *sort_key, struct error *err)
{
	const char **names = NULL;

	memset(b, 0, sizeof(*b));
	b->cols = calloc(ncols ? ncols : 1, sizeof(*b->cols));
	b->segs = calloc(1 + 3 * ncols, sizeof(*b->segs));
	b->head_end = calloc(1 + ncols, sizeof(*b->head_end));
	names = calloc(ncols ? ncols : 1, sizeof(*names));
	if (!b->cols || !b->segs || !b->head_end || !names)
		goto fail;
	b->ncols = ncols;
	for (size_t i = 0; i < ncols; i++) {
		b->cols[i].def = cols[i];
		names[i] = b->cols[i].def.name;
	}
	b->columns = store_column_list(names, ncols);
	if (!b->columns)
		goto fail;
	free(names);
	/* The sorting key's columns that are sent (the others hold their
	 * default: constant); arrays never are in a key. */
	for (size_t k = 0; sort_key && sort_key[k]; k++)
		for (size_t i = 0; i < ncols && b->nsort < STORE_NATIVE_MAX_SORT; i++)
			/* (string ids sort by their strings' rank: strid_ranks) */
			if (!strcmp(cols[i].name, sort_key[k]) && !store_column_is_array(&cols[i]))
				b->sort_cols[b->nsort++] = i;
	if (pack_init(b) < 0)
		goto fail;
	return 0;
fail:
	free(names);
	store_native_batch_fini(b);
	return error_set(err, -ENOMEM, "store: out of memory for a batch of %zu columns", ncols);
}

void store_native_batch_fini(struct store_native_batch *b)
{
	for (size_t i = 0; b->cols && i < b->ncols; i++) {
		buf_free(&b->cols[i].offsets);
		buf_free(&b->cols[i].data);
		buf_free(&b->cols[i].text);
	}
	free(b->cols);
	free(b->segs);
	free(b->head_end);
	free(b->columns);
	buf_free(&b->head);
	buf_free(&b->scratch);
	buf_free(&b->packed);
	free(b->pack_cols);
	free(b->lc.value);
	free(b->lc.stamp);
	free(b->dist);
	free(b->dvals);
	free(b->dkeys);
	free(b->tuple_map.value);
	free(b->tuple_map.stamp);
	free(b->runs);
	memset(b, 0, sizeof(*b));
}

static inline unsigned array_count(const struct store_column *c, const struct flow *f)
{
	unsigned n = *((const uint8_t *)f + c->count_offset);

	return n < c->max_count ? n : c->max_count;
}

size_t store_native_batch_need(struct store_native_batch *b, const struct flow *flows, size_t n)
{
	size_t need = 0;

	for (size_t i = 0; i < b->ncols; i++) {
		struct store_native_column *c = &b->cols[i];

		if (store_column_is_array(&c->def)) {
			size_t k = 0;
			for (size_t j = 0; j < n; j++)
				k += array_count(&c->def, &flows[j]);
			c->need = 4 * k + 8 * n;
		} else {
			c->need = (size_t)c->def.width * n;
		}
		need += c->need;
	}
	return need;
}

int store_native_batch_reserve(struct store_native_batch *b, size_t n)
{
	for (size_t i = 0; i < b->ncols; i++) {
		struct store_native_column *c = &b->cols[i];
		int arr = store_column_is_array(&c->def);

		if (c->packed)
			continue;
		if (buf_reserve(&c->data, arr ? c->need - 8 * n : c->need) < 0 ||
		    (arr && buf_reserve(&c->offsets, 8 * n) < 0))
			return -ENOMEM;
	}
	return buf_reserve(&b->packed, (b->by_tuple ? sizeof(uint32_t) : b->pack_width) * n);
}

static void encode_column(struct store_native_column *c, const struct flow *flows, size_t n)
{
	const struct store_column *d = &c->def;
	char *out = c->data.data + c->data.len;

	switch (d->enc) {
	case STORE_ENC_U8:
		for (size_t i = 0; i < n; i++)
			out[i] = *((const char *)&flows[i] + d->offset);
		break;
	case STORE_ENC_U16:
		for (size_t i = 0; i < n; i++)
			memcpy(out + 2 * i, (const char *)&flows[i] + d->offset, 2);
		break;
	case STORE_ENC_U32:
	case STORE_ENC_STRID:
		for (size_t i = 0; i < n; i++)
			memcpy(out + 4 * i, (const char *)&flows[i] + d->offset, 4);
		break;
	case STORE_ENC_FIXED2:
		for (size_t i = 0; i < n; i++)
			memcpy(out + 2 * i, (const char *)&flows[i] + d->offset, 2);
		break;
	case STORE_ENC_U64:
		for (size_t i = 0; i < n; i++)
			memcpy(out + 8 * i, (const char *)&flows[i] + d->offset, 8);
		break;
	case STORE_ENC_DATETIME:
		for (size_t i = 0; i < n; i++) {
			uint64_t t;
			uint32_t t32;
			memcpy(&t, (const char *)&flows[i] + d->offset, 8);
			t32 = t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
			memcpy(out + 4 * i, &t32, 4);
		}
		break;
	case STORE_ENC_FIXED16:
		for (size_t i = 0; i < n; i++)
			memcpy(out + 16 * i, (const char *)&flows[i] + d->offset, 16);
		break;
	case STORE_ENC_ARRAY_U32:
	case STORE_ENC_LARGE_COMMUNITY: {
		char *offs = c->offsets.data + c->offsets.len;
		size_t len = 0;

		for (size_t i = 0; i < n; i++) {
			const char *base = (const char *)&flows[i] + d->offset;
			unsigned k = array_count(d, &flows[i]);

			if (d->enc == STORE_ENC_ARRAY_U32) {
				memcpy(out + len, base, 4 * (size_t)k);
			} else {
				const struct flow_large_community *lc = (const void *)base;
				for (unsigned j = 0; j < k; j++) {
					const uint32_t v = d->member == 0   ? lc[j].global_admin
							   : d->member == 1 ? lc[j].local_data1
									    : lc[j].local_data2;
					memcpy(out + len + 4 * (size_t)j, &v, 4);
				}
			}
			len += 4 * (size_t)k;
			c->elements += k;
			memcpy(offs + 8 * i, &c->elements, 8);
		}
		c->offsets.len += 8 * n;
		c->data.len += len;
		return;
	}
	}
	c->data.len += (size_t)d->width * n;
}

/* The columns that are not packed, and the rows' count and bytes. */
static void encode_columns(struct store_native_batch *b, const struct flow *flows, size_t n)
{
	size_t need = 0;

	for (size_t i = 0; i < b->ncols; i++) {
		if (!b->cols[i].packed)
			encode_column(&b->cols[i], flows, n);
		need += b->cols[i].need;
	}
	b->rows += n;
	b->bytes += need;
}

void store_native_batch_encode(struct store_native_batch *b, const struct flow *flows, size_t n)
{
	char *out = b->packed.data + b->packed.len;

	encode_columns(b, flows, n);
	if (!b->pack_width)
		return;
	for (size_t i = 0; i < n; i++)
		memcpy(out + i * PACK_WIDTH, &flows[i].enriched, PACK_WIDTH);
	b->packed.len += n * PACK_WIDTH;
}

void store_native_batch_encode_tuples(struct store_native_batch *b, const struct flow *flows,
				      size_t n, const uint32_t *tuples)
{
	if (!b->pack_width || !b->by_tuple) {
		store_native_batch_encode(b, flows, n);
		return;
	}
	encode_columns(b, flows, n);
	memcpy(b->packed.data + b->packed.len, tuples, n * sizeof(*tuples));
	b->packed.len += n * sizeof(*tuples);
}

void store_native_batch_clear(struct store_native_batch *b)
{
	for (size_t i = 0; i < b->ncols; i++) {
		b->cols[i].data.len = 0;
		b->cols[i].offsets.len = 0;
		b->cols[i].elements = 0;
	}
	b->packed.len = 0;
	b->unpacked = 0;
	b->rows = 0;
	b->bytes = 0;
	b->sorted = 0;
}

/* Room in each packed column for every row of the batch. 0 or -ENOMEM. */
static int unpack_reserve(struct store_native_batch *b)
{
	for (size_t k = 0; k < b->npacked; k++) {
		struct store_native_column *c = &b->cols[b->pack_cols[k]];

		if (buf_reserve(&c->data, (b->rows - b->unpacked) * c->def.width) < 0)
			return -ENOMEM;
	}
	return 0;
}

#define UNPACK_CHUNK 256 /* records at a time, in L1 while they are split */
_Static_assert(PACK_WIDTH <= 160, "a packed record fits unpack_rows' chunk");

/* One column's values of the `n` records of chunk[] (pack_width apart)
 * into out: `width` a constant at each call, so a load and a store. */
static inline __attribute__((always_inline)) void unpack_column(char *restrict out,
								const char *restrict chunk,
								size_t n, size_t stride,
								unsigned width)
{
	for (size_t i = 0; i < n; i++)
		memcpy(out + i * width, chunk + i * stride, width);
}

/* Rows [unpacked, rows) of the packed columns from the records (not
 * by_tuple: see tuple_runs()), row i from record perm[i] (perm NULL: record
 * i), after unpack_reserve(). The records are gathered a chunk at a time
 * (each a cache miss when perm scatters them: prefetched ahead), then split
 * column by column. */
static void unpack_rows(struct store_native_batch *b, const uint32_t *perm)
{
	char chunk[UNPACK_CHUNK * PACK_WIDTH];
	const size_t w = PACK_WIDTH;
	const char *src = b->packed.data;

	for (size_t at = b->unpacked; at < b->rows; at += UNPACK_CHUNK) {
		size_t n = b->rows - at < UNPACK_CHUNK ? b->rows - at : UNPACK_CHUNK;
		const char *recs = src + at * w;

		if (perm) {
			for (size_t i = 0; i < n; i++) {
				if (at + i + 16 < b->rows)
					__builtin_prefetch(src + (size_t)perm[at + i + 16] * w);
				memcpy(chunk + i * w, src + (size_t)perm[at + i] * w, w);
			}
			recs = chunk;
		}
		for (size_t k = 0; k < b->npacked; k++) {
			struct store_native_column *c = &b->cols[b->pack_cols[k]];
			char *out = c->data.data + at * c->def.width;
			const char *in = recs + c->pack_at;

			switch (c->def.width) {
			case 1:
				unpack_column(out, in, n, w, 1);
				break;
			case 2:
				unpack_column(out, in, n, w, 2);
				break;
			case 4:
				unpack_column(out, in, n, w, 4);
				break;
			default:
				unpack_column(out, in, n, w, c->def.width);
			}
		}
	}
	for (size_t k = 0; k < b->npacked; k++) {
		struct store_native_column *c = &b->cols[b->pack_cols[k]];

		c->data.len = b->rows * c->def.width;
	}
	b->unpacked = b->rows;
}

/* Map m for numbers below `cap`, emptied: a new stamp. 0 or -ENOMEM. */
static int stamp_map_begin(struct store_stamp_map *m, size_t cap)
{
	if (cap > m->cap) {
		uint32_t *value = realloc(m->value, cap * sizeof(*value));
		uint32_t *stamp = value ? realloc(m->stamp, cap * sizeof(*stamp)) : NULL;

		if (value)
			m->value = value;
		if (!stamp)
			return -ENOMEM;
		m->stamp = stamp;
		memset(stamp + m->cap, 0, (cap - m->cap) * sizeof(*stamp));
		m->cap = cap;
	}
	if (++m->now == 0) { /* stamps wrapped: forget them all */
		memset(m->stamp, 0, m->cap * sizeof(*m->stamp));
		m->now = 1;
	}
	return 0;
}

struct ranked {
	const char *s;
	size_t len;
	uint32_t id;
};

/* ClickHouse's order of String (and LowCardinality(String)) values:
 * memcmp(), then the shorter first. */
static int cmp_ranked(const void *pa, const void *pb)
{
	const struct ranked *a = pa, *b = pb;
	int r = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);

	return r ? r : (a->len > b->len) - (a->len < b->len);
}

/* Numbers the distinct ids of column c's `rows` in order of first sight
 * (lc.value[id], after stamp_map_begin()) and lists them in *list (malloc'd, *n
 * of them). Ids past the strtab's count when the map was sized are taken
 * as 0 (""): they came after the batch was cut. Returns 0 or -ENOMEM. */
static int id_numbers(struct store_native_batch *b, const struct store_native_column *c,
		      size_t rows, uint32_t **list, uint32_t *n)
{
	const char *ids = c->data.data;
	size_t cap = (size_t)(c->def.strings ? strtab_count(c->def.strings) : 0) + 1, have = 0;
	uint32_t last = UINT32_MAX;

	*list = NULL;
	*n = 0;
	if (stamp_map_begin(&b->lc, cap) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < rows; i++) {
		uint32_t id;

		memcpy(&id, ids + 4 * i, 4);
		if (id == last)
			continue;
		last = id;
		if (id >= b->lc.cap)
			id = 0;
		if (b->lc.stamp[id] == b->lc.now)
			continue;
		if (*n == have) {
			uint32_t *more =
			    realloc(*list, (have = have ? 2 * have : 64) * sizeof(**list));

			if (!more) {
				free(*list);
				*list = NULL;
				return -ENOMEM;
			}
			*list = more;
		}
		b->lc.stamp[id] = b->lc.now;
		b->lc.value[id] = *n;
		(*list)[(*n)++] = id;
	}
	return 0;
}

/* id_rows() for one `width`, a constant where it is inlined: a store a
 * row (a memcpy of a variable width was a call to libc's memmove per row
 * and column, ~100 ns a flow over the enrichment's 28 string columns). */
static inline __attribute__((always_inline)) void id_rows_width(const struct store_native_batch *b,
								const char *restrict ids,
								size_t rows, char *restrict out,
								unsigned width)
{
	uint32_t last = UINT32_MAX, at = 0;

	for (size_t i = 0; i < rows; i++) {
		uint32_t id;

		memcpy(&id, ids + 4 * i, 4);
		if (id != last) {
			last = id;
			at = b->lc.value[id < b->lc.cap ? id : 0];
		}
		memcpy(out + (size_t)width * i, &at, width);
	}
}

/* Each of the `rows` ids of c as its lc.value, `width` (1, 2 or 4) bytes a
 * row (little-endian host: its low bytes), into out. */
static void id_rows(const struct store_native_batch *b, const struct store_native_column *c,
		    size_t rows, void *out, unsigned width)
{
	if (width == 1)
		id_rows_width(b, c->data.data, rows, out, 1);
	else if (width == 2)
		id_rows_width(b, c->data.data, rows, out, 2);
	else
		id_rows_width(b, c->data.data, rows, out, 4);
}

/* A string-id column as a sorting key: each row's id replaced by the rank
 * of its string among the batch's (a UInt32 column, malloc'd in *out), so
 * that the rows sort as ClickHouse sorts the strings (ids are in order of
 * first sight, not of the strings: sorted by id, a batch whose InIfName
 * varies was not in flows' order, and ClickHouse sorted every block of
 * enriched flows again). Returns 0 or -ENOMEM. */
static int strid_ranks(struct store_native_batch *b, const struct store_native_column *c,
		       uint32_t **out)
{
	uint32_t *rank = malloc((b->rows ? b->rows : 1) * sizeof(*rank)), *list = NULL, n = 0;
	struct ranked *distinct = NULL;
	int r = -ENOMEM;

	if (!rank || id_numbers(b, c, b->rows, &list, &n) < 0)
		goto out;
	distinct = malloc((n ? n : 1) * sizeof(*distinct));
	if (!distinct)
		goto out;
	for (uint32_t k = 0; k < n; k++) {
		distinct[k].id = list[k];
		distinct[k].len = 0;
		distinct[k].s =
		    c->def.strings ? strtab_get(c->def.strings, list[k], &distinct[k].len) : "";
	}
	qsort(distinct, n, sizeof(*distinct), cmp_ranked);
	for (uint32_t k = 0; k < n; k++)
		b->lc.value[distinct[k].id] = k;
	id_rows(b, c, b->rows, rank, 4);
	r = 0;
out:
	free(list);
	free(distinct);
	if (r < 0) {
		free(rank);
		rank = NULL;
	}
	*out = rank;
	return r;
}

int store_native_batch_sort(struct store_native_batch *b)
{
	struct store_sort_key keys[STORE_NATIVE_MAX_SORT];
	uint32_t *perm = NULL, *ranks[STORE_NATIVE_MAX_SORT] = {0};
	size_t keep = 0;
	int r = 0, via_perm = 0;

	if (b->sorted)
		return 0;
	for (size_t k = 0; k < b->nsort; k++) {
		const struct store_native_column *c = &b->cols[b->sort_cols[k]];

		keys[k] = (struct store_sort_key){c->data.data, c->def.width,
						  c->def.enc == STORE_ENC_DATETIME && b->by_minute};
		if (c->def.enc == STORE_ENC_STRID) {
			if (strid_ranks(b, c, &ranks[k]) < 0) {
				r = -ENOMEM;
				goto out;
			}
			keys[k].data = ranks[k];
		}
	}
	r = store_rows_order(keys, b->nsort, b->rows, &perm);
	for (size_t k = 0; k < b->nsort; k++) {
		free(ranks[k]);
		ranks[k] = NULL;
	}
	/* The packed columns: split from their records through perm (room
	 * first), or, when some rows are split already (a block was built
	 * before more rows came), the rest split and all permuted as the
	 * others. */
	if (r > 0 && b->pack_width && !b->by_tuple) {
		if (unpack_reserve(b) < 0) {
			r = -ENOMEM;
			goto out;
		}
		if (b->unpacked)
			unpack_rows(b, NULL);
		else
			via_perm = 1;
	}
	if (r > 0) {
		/* Room first, so that once started every column is reordered:
		 * as much as the column that needs most (an array: its values,
		 * then its offsets). Columns whose buffer is as large trade it
		 * for the scratch one, so the scratch keeps that room. */
		for (size_t i = 0; i < b->ncols; i++) {
			const struct store_native_column *c = &b->cols[i];
			size_t need = c->data.len;

			if (store_column_is_array(&c->def))
				need = ((need + 7) & ~(size_t)7) + b->rows * sizeof(uint64_t);
			if (need > keep)
				keep = need;
		}
		if (b->by_tuple && b->packed.len > keep)
			keep = b->packed.len;
		b->scratch.len = 0;
		if (buf_reserve(&b->scratch, keep) < 0)
			r = -ENOMEM;
	}
	for (size_t i = 0; r > 0 && i < b->ncols; i++) {
		struct store_native_column *c = &b->cols[i];
		int arr = store_column_is_array(&c->def);

		/* (by_tuple: its data is rebuilt with each block) */
		if ((via_perm || b->by_tuple) && c->packed)
			continue;
		store_rows_permute(&c->data, arr ? &c->offsets : NULL, c->def.width, perm, b->rows,
				   &b->scratch, keep);
	}
	/* by_tuple: the rows' tuple indexes, one UInt32 a row */
	if (r > 0 && b->by_tuple && b->pack_width)
		store_rows_permute(&b->packed, NULL, sizeof(uint32_t), perm, b->rows, &b->scratch,
				   keep);
	if (r > 0 && via_perm)
		unpack_rows(b, perm);
out:
	free(perm);
	if (r < 0) {
		for (size_t k = 0; k < b->nsort; k++)
			free(ranks[k]);
		return r;
	}
	b->sorted = 1;
	return 0;
}

/* A String column from the ids the batch holds: length then bytes a row.
 * Rows in the sorting key's order mostly repeat the row before (the same
 * exporter, interface, network), and every row of ~36 such columns passed
 * through strtab_get() and two buf_append() calls: the string and its
 * encoded length are kept from the row before when the id is the same, and
 * written in place. */
static int strid_text(struct store_native_column *c, size_t rows)
{
	const char *ids = c->data.data;
	uint32_t last = 0;
	const char *s = "";
	size_t len = 0, hn = 1;
	uint8_t head[10] = {0}; /* len as a varint */

	c->text.len = 0;
	for (size_t i = 0; i < rows; i++) {
		uint32_t id;

		memcpy(&id, ids + 4 * i, 4);
		if (id != last) {
			uint64_t v;

			last = id;
			len = 0;
			s = c->def.strings ? strtab_get(c->def.strings, id, &len) : "";
			for (v = len, hn = 0; v >= 0x80; v >>= 7)
				head[hn++] = (uint8_t)(v | 0x80);
			head[hn++] = (uint8_t)v;
		}
		if (c->text.cap - c->text.len <= hn + len &&
		    buf_reserve(&c->text, hn + len + (rows - i)) < 0)
			return -ENOMEM;
		memcpy(c->text.data + c->text.len, head, hn);
		memcpy(c->text.data + c->text.len + hn, s, len);
		c->text.len += hn + len;
	}
	return 0;
}

void store_native_batch_low_cardinality(struct store_native_batch *b, const char *names)
{
	for (size_t i = 0; i < b->ncols; i++) {
		struct store_column *d = &b->cols[i].def;
		size_t n = strlen(d->name);
		const char *p = names;

		if (d->enc != STORE_ENC_STRID)
			continue;
		d->low_cardinality = 0;
		while (p && *p) {
			const char *end = strchr(p, '\n');
			size_t len = end ? (size_t)(end - p) : strlen(p);

			if (len == n && !memcmp(p, d->name, n))
				d->low_cardinality = 1;
			p = end ? end + 1 : NULL;
		}
		d->type = d->low_cardinality ? "LowCardinality(String)" : "String";
	}
}

static int put_u64(struct buf *b, uint64_t v)
{
	return buf_append(b, &v, 8); /* (little-endian host, as Native) */
}

/* A LowCardinality(String) column's bytes before its indexes, into its
 * text (emptied first): the keys list[0..nkeys) (string ids) and the
 * number of rows; *width is then the bytes of each row's index. 0 or
 * -ENOMEM. */
static int low_cardinality_head(struct store_native_column *c, const uint32_t *list, uint32_t nkeys,
				size_t rows, unsigned *width)
{
	uint64_t type;
	int r = 0;

	c->text.len = 0;
	*width = nkeys <= 0x100 ? 1 : nkeys <= 0x10000 ? 2 : 4;
	type = (*width == 1 ? 0 : *width == 2 ? 1 : 2) | 1u << 9; /* HasAdditionalKeysBit */
	r |= put_u64(&c->text, 1);
	r |= put_u64(&c->text, type);
	r |= put_u64(&c->text, nkeys);
	/* The keys, in order of first sight. */
	for (uint32_t k = 0; k < nkeys && r == 0; k++) {
		size_t len = 0;
		const char *s = c->def.strings ? strtab_get(c->def.strings, list[k], &len) : "";

		r |= store_native_put_varint(&c->text, len);
		r |= buf_append(&c->text, s, len);
	}
	r |= put_u64(&c->text, rows);
	r |= buf_reserve(&c->text, (size_t)*width * rows);
	return r < 0 ? -ENOMEM : 0;
}

/* A LowCardinality(String) column from the ids the batch holds, as
 * ClickHouse's Native format has it (SerializationLowCardinality, no
 * shared dictionary): UInt64 1 (keys version, the state prefix), UInt64
 * index type (0-3: UInt8..UInt64) with bit 9 (additional keys), UInt64
 * keys then each as a String, UInt64 rows then an index a row. The keys
 * are the distinct strings of the block, in order of first sight. */
static int strid_low_cardinality(struct store_native_batch *b, struct store_native_column *c,
				 size_t rows)
{
	uint32_t *list = NULL, nkeys = 0;
	unsigned width;
	int r = id_numbers(b, c, rows, &list, &nkeys);

	if (r == 0)
		r = low_cardinality_head(c, list, nkeys, rows, &width);
	free(list);
	if (r < 0)
		return -ENOMEM;
	id_rows(b, c, rows, c->text.data + c->text.len, width);
	c->text.len += (size_t)width * rows;
	return 0;
}

/* ---- by_tuple: the packed columns from the distinct tuples ----
 * A batch of enriched flows holds few distinct tuples in long runs once
 * sorted (rows of one exporter and interfaces side by side): each packed
 * column's value, and for a string its dictionary index, is found once per
 * distinct tuple, then written a run at a time. Split row by row (a tuple
 * gathered, each value stored, then each string id looked up twice for the
 * dictionary and the indexes) the 32 columns cost ~100 ns a flow. */

/* The rows' distinct tuples in order of first sight (dist) and the rows as
 * runs of one tuple (runs). Returns 0 or -ENOMEM. */
static int tuple_runs(struct store_native_batch *b)
{
	const uint32_t *tid = (const uint32_t *)(const void *)b->packed.data;
	size_t rows = b->rows, cap = 1;
	uint32_t last = UINT32_MAX;

	for (size_t i = 0; i < rows; i++)
		if (tid[i] >= cap)
			cap = (size_t)tid[i] + 1;
	if (stamp_map_begin(&b->tuple_map, cap) < 0)
		return -ENOMEM;
	if (rows > b->dist_cap) {
		uint32_t *dist = realloc(b->dist, rows * sizeof(*dist));
		uint32_t *dvals = NULL, *dkeys = NULL;
		struct store_tuple_run *runs = NULL;

		if (dist) {
			b->dist = dist;
			dvals = realloc(b->dvals, rows * sizeof(*dvals));
		}
		if (dvals) {
			b->dvals = dvals;
			dkeys = realloc(b->dkeys, rows * sizeof(*dkeys));
		}
		if (dkeys) {
			b->dkeys = dkeys;
			runs = realloc(b->runs, rows * sizeof(*runs));
		}
		if (!runs)
			return -ENOMEM;
		b->runs = runs;
		b->dist_cap = rows;
	}
	b->ndist = b->nruns = 0;
	for (size_t i = 0; i < rows; i++) {
		uint32_t t = tid[i];

		if (t == last) {
			b->runs[b->nruns - 1].len++;
			continue;
		}
		last = t;
		if (b->tuple_map.stamp[t] != b->tuple_map.now) {
			b->tuple_map.stamp[t] = b->tuple_map.now;
			b->tuple_map.value[t] = (uint32_t)b->ndist;
			b->dist[b->ndist++] = t;
		}
		b->runs[b->nruns++] = (struct store_tuple_run){b->tuple_map.value[t], 1};
	}
	return 0;
}

/* vals[run's d] `width` bytes a row (little-endian host: the low bytes),
 * run after run, into out; `width` a constant where it is inlined. */
static inline __attribute__((always_inline)) void
fill_runs_width(char *restrict out, const struct store_tuple_run *runs, size_t nruns,
		const uint32_t *restrict vals, unsigned width)
{
	for (size_t r = 0; r < nruns; r++) {
		uint32_t v = vals[runs[r].d], n = runs[r].len;

		if (width == 1 && n > 16) {
			memset(out, (int)v, n);
		} else {
			for (uint32_t i = 0; i < n; i++)
				memcpy(out + (size_t)width * i, &v, width);
		}
		out += (size_t)width * n;
	}
}

static void fill_runs(const struct store_native_batch *b, char *out, unsigned width)
{
	if (width == 1)
		fill_runs_width(out, b->runs, b->nruns, b->dvals, 1);
	else if (width == 2)
		fill_runs_width(out, b->runs, b->nruns, b->dvals, 2);
	else
		fill_runs_width(out, b->runs, b->nruns, b->dvals, 4);
}

/* A LowCardinality(String) column from dvals (string ids, one per distinct
 * tuple): its keys in order of first sight (that of the rows, since dist
 * is in the rows' order), then an index a row. 0 or -ENOMEM. */
static int low_cardinality_from_tuples(struct store_native_batch *b, struct store_native_column *c)
{
	size_t cap = (size_t)(c->def.strings ? strtab_count(c->def.strings) : 0) + 1;
	uint32_t nkeys = 0;
	unsigned width;

	if (stamp_map_begin(&b->lc, cap) < 0)
		return -ENOMEM;
	for (size_t d = 0; d < b->ndist; d++) {
		uint32_t id = b->dvals[d];

		if (id >= b->lc.cap) /* (as id_numbers()) */
			id = 0;
		if (b->lc.stamp[id] != b->lc.now) {
			b->lc.stamp[id] = b->lc.now;
			b->lc.value[id] = nkeys;
			b->dkeys[nkeys++] = id;
		}
		b->dvals[d] = b->lc.value[id];
	}
	if (low_cardinality_head(c, b->dkeys, nkeys, b->rows, &width) < 0)
		return -ENOMEM;
	fill_runs(b, c->text.data + c->text.len, width);
	c->text.len += (size_t)width * b->rows;
	return 0;
}

/* A String column from dvals (string ids, one per distinct tuple): length
 * then bytes a row, as strid_text(). 0 or -ENOMEM. */
static int text_from_tuples(struct store_native_batch *b, struct store_native_column *c)
{
	c->text.len = 0;
	for (size_t r = 0; r < b->nruns; r++) {
		uint32_t id = b->dvals[b->runs[r].d], n = b->runs[r].len;
		size_t len = 0, hn;
		const char *s = c->def.strings ? strtab_get(c->def.strings, id, &len) : "";
		uint8_t head[10];
		char *out;

		hn = varint_encode(head, len);
		if (buf_reserve(&c->text, (size_t)n * (hn + len)) < 0)
			return -ENOMEM;
		out = c->text.data + c->text.len;
		for (uint32_t i = 0; i < n; i++) {
			memcpy(out, head, hn);
			memcpy(out + hn, s, len);
			out += hn + len;
		}
		c->text.len = (size_t)(out - c->text.data);
	}
	return 0;
}

/* Packed column c of the block from the distinct tuples (after
 * tuple_runs()): left out when it is the default in every row, else its
 * data (a number) or its text (a string id). 0 or -ENOMEM. */
static int column_from_tuples(struct store_native_batch *b, struct store_native_column *c)
{
	const char *base = (const char *)b->tuples + c->pack_at;
	unsigned width = c->def.width;
	uint32_t any = 0;

	for (size_t d = 0; d < b->ndist; d++) {
		uint32_t v = 0;

		memcpy(&v, base + (size_t)b->dist[d] * PACK_WIDTH, width);
		b->dvals[d] = v;
		any |= v;
	}
	c->from_tuples = 1;
	c->omitted = !any;
	if (c->omitted)
		return 0;
	if (c->def.enc == STORE_ENC_STRID)
		return c->def.low_cardinality ? low_cardinality_from_tuples(b, c)
					      : text_from_tuples(b, c);
	c->data.len = 0;
	if (buf_reserve(&c->data, (size_t)width * b->rows) < 0)
		return -ENOMEM;
	fill_runs(b, c->data.data, width);
	c->data.len = (size_t)width * b->rows;
	return 0;
}

/* 1 when the n bytes at p are all zero. */
static int all_zero(const char *p, size_t n)
{
	uint64_t any = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		any |= w;
	}
	for (; i < n; i++)
		any |= (uint8_t)p[i];
	return !any;
}

/* The packed columns of the block: from the distinct tuples (by_tuple), or
 * split from the records not split yet; each left out when it is the
 * default in every row. 0 or -ENOMEM. */
static int packed_columns(struct store_native_batch *b)
{
	if (b->by_tuple) {
		if (tuple_runs(b) < 0)
			return -ENOMEM;
		for (size_t k = 0; k < b->npacked; k++)
			if (column_from_tuples(b, &b->cols[b->pack_cols[k]]) < 0)
				return -ENOMEM;
		return 0;
	}
	if (b->unpacked < b->rows) {
		if (unpack_reserve(b) < 0)
			return -ENOMEM;
		unpack_rows(b, NULL);
	}
	for (size_t k = 0; k < b->npacked; k++) {
		struct store_native_column *c = &b->cols[b->pack_cols[k]];

		c->omitted = all_zero(c->data.data, c->data.len);
	}
	return 0;
}

/* Native block (no block info: neither HTTP nor a file of Native blocks has
 * one): varint columns, varint rows, then per column its name, its type and
 * its data (arrays: offsets then values). The headers go into b->head; the
 * column buffers are pointed at where they are. */
int store_native_batch_block(struct store_native_batch *b, struct store_block *block)
{
	size_t *head_end = b->head_end; /* where each header ends in b->head */
	size_t k = 0, total = 0, sent = 0;
	const char **names = NULL;
	char *columns;
	int r = 0;

	if (b->pack_width && packed_columns(b) < 0)
		return -ENOMEM;
	/* The column list of this block's INSERT. */
	names = malloc((b->ncols ? b->ncols : 1) * sizeof(*names));
	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < b->ncols; i++)
		if (!b->cols[i].omitted)
			names[sent++] = b->cols[i].def.name;
	columns = store_column_list(names, sent);
	free(names);
	if (!columns)
		return -ENOMEM;
	free(b->columns);
	b->columns = columns;
	b->head.len = 0;
	r |= store_native_put_varint(&b->head, sent);
	r |= store_native_put_varint(&b->head, b->rows);
	head_end[0] = b->head.len;
	for (size_t i = 0; i < b->ncols; i++) {
		if (!b->cols[i].omitted) {
			r |= store_native_put_string(&b->head, b->cols[i].def.name);
			r |= store_native_put_string(&b->head, b->cols[i].def.type);
		}
		head_end[i + 1] = b->head.len;
	}
	if (r < 0)
		return -ENOMEM;
	b->segs[k++] = (struct store_segment){b->head.data, head_end[0]};
	for (size_t i = 0; i < b->ncols; i++) {
		struct store_native_column *c = &b->cols[i];

		if (c->omitted)
			continue;
		b->segs[k++] = (struct store_segment){b->head.data + head_end[i],
						      head_end[i + 1] - head_end[i]};
		if (c->offsets.len)
			b->segs[k++] = (struct store_segment){c->offsets.data, c->offsets.len};
		if (c->def.enc == STORE_ENC_STRID) {
			if (!c->from_tuples &&
			    (c->def.low_cardinality ? strid_low_cardinality(b, c, b->rows)
						    : strid_text(c, b->rows)) < 0)
				return -ENOMEM;
			if (c->text.len)
				b->segs[k++] = (struct store_segment){c->text.data, c->text.len};
		} else if (c->data.len) {
			b->segs[k++] = (struct store_segment){c->data.data, c->data.len};
		}
	}
	for (size_t i = 0; i < k; i++)
		total += b->segs[i].len;
	*block = (struct store_block){.segs = b->segs, .nsegs = k, .bytes = total, .rows = b->rows};
	return 0;
}
