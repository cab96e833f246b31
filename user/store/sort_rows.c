// SPDX-License-Identifier: AGPL-3.0-or-later
/* Puts a batch's rows in the order of the table's sorting key before it is
 * sent. ClickHouse sorts every inserted block by that key unless it finds it
 * sorted already (MergeTreeDataWriterBlocksAlreadySorted, in 18.16 too):
 * on `flows` its sort and the permutation of ~100 columns that follows took
 * about a fifth of the server's CPU per flow (perf, weir bench store).
 *
 * The order is that of memcmp() on each row's key packed big-endian (a
 * DateTime as it is, since session 11 flows' key starts with TimeReceived;
 * or rounded down to its minute, as tables created before are keyed), ties
 * in arrival order. Packed whole
 * that key is ~72 bytes, and qsort() with memcmp() over it was weir's
 * biggest cost. But most of those bytes are the same in every row of a batch
 * (the ::ffff: prefix of IPv4 addresses, the high bytes of ASes, interfaces
 * and time): each key column (each half of a FixedString(16)) is reduced
 * here to (value - batch minimum) >> (low bits constant in the batch), only
 * as many bits as that spans, which keeps its order; or, for a few values
 * over many bits (exporters), to the value's rank. Those bits, then the
 * row's index (ties, and the permutation to return), are packed into 1-9
 * 64-bit words per row, and the words sorted as one big number by an MSD
 * radix sort (sort_words.c): 3 words for IPv4 flows, sorted in 2-3 passes.
 * The columns are then reordered by store_rows_permute() (permute_rows.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sort_words.h"
#include "store_internal.h"

#define PACK_BLOCK 256 /* rows packed at a time, their records in L1 */

/* How a field's value is read: specialized loops for the usual columns. */
enum kind {
	LE1,	/* UInt8 */
	LE2,	/* UInt16 */
	LE4,	/* UInt32 */
	LE8,	/* UInt64 */
	MINUTE, /* DateTime (4 bytes): its minute */
	BE16,	/* one half of a FixedString(16), as a big-endian number */
	INDEX,	/* the row's index */
	OTHER,	/* any other width: slow but general */
};

/* One piece of the packed key: a column, or half of a FixedString(16). */
struct field {
	const uint8_t *p; /* row 0's bytes */
	size_t stride;	  /* bytes from a row's value to the next */
	unsigned len;	  /* OTHER: bytes read; big-endian when `be` */
	int be, minute;	  /* OTHER */
	enum kind kind;
	uint64_t base;		 /* smallest value in the batch */
	unsigned shift;		 /* low bits that no row changes */
	unsigned bits;		 /* what is left of (value - base) >> shift; 0: constant */
	unsigned at;		 /* first bit in the record (0: highest bit of word 0) */
	const struct dict *dict; /* non-NULL: packed as its rank in there */
};

static uint64_t other_value(const struct field *f, const uint8_t *p)
{
	uint64_t v = 0;

	if (f->be) {
		for (unsigned k = 0; k < f->len; k++)
			v = v << 8 | p[k];
		return v;
	}
	memcpy(&v, p, f->len); /* little-endian host, as Native */
	return f->minute ? v / 60 : v;
}

INLINE uint64_t field_value(const struct field *f, size_t i, enum kind kind)
{
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	switch (kind) {
	case LE1:
		return f->p[i * f->stride];
	case LE2:
		memcpy(&u16, f->p + i * f->stride, 2);
		return u16;
	case LE4:
		memcpy(&u32, f->p + i * f->stride, 4);
		return u32;
	case LE8:
		memcpy(&u64, f->p + i * f->stride, 8);
		return u64;
	case MINUTE:
		/* v / 60 orders as v - v % 60 (toStartOfMinute) does */
		memcpy(&u32, f->p + i * f->stride, 4);
		return u32 / 60;
	case BE16:
		memcpy(&u64, f->p + i * f->stride, 8);
		return __builtin_bswap64(u64);
	case INDEX:
		return i;
	default:
		return other_value(f, f->p + i * f->stride);
	}
}

/* Calls fn(f, ..., kind) with kind a constant, for loops without a switch. */
#define BY_KIND(fn, f, ...)                                                                        \
	do {                                                                                       \
		switch ((f)->kind) {                                                               \
		case LE1:                                                                          \
			fn(f, __VA_ARGS__, LE1);                                                   \
			break;                                                                     \
		case LE2:                                                                          \
			fn(f, __VA_ARGS__, LE2);                                                   \
			break;                                                                     \
		case LE4:                                                                          \
			fn(f, __VA_ARGS__, LE4);                                                   \
			break;                                                                     \
		case LE8:                                                                          \
			fn(f, __VA_ARGS__, LE8);                                                   \
			break;                                                                     \
		case MINUTE:                                                                       \
			fn(f, __VA_ARGS__, MINUTE);                                                \
			break;                                                                     \
		case BE16:                                                                         \
			fn(f, __VA_ARGS__, BE16);                                                  \
			break;                                                                     \
		case INDEX:                                                                        \
			fn(f, __VA_ARGS__, INDEX);                                                 \
			break;                                                                     \
		default:                                                                           \
			fn(f, __VA_ARGS__, OTHER);                                                 \
		}                                                                                  \
	} while (0)

/* The bits of the field that vary in the batch: (v - min) >> shift keeps
 * the order of v, and is below 2^bits. */
struct range {
	uint64_t first, lo, hi, diff;
};

INLINE void range_add(struct range *r, uint64_t v)
{
	r->lo = v < r->lo ? v : r->lo;
	r->hi = v > r->hi ? v : r->hi;
	r->diff |= v ^ r->first;
}

static void range_set(struct field *f, const struct range *r)
{
	f->base = r->lo;
	f->shift = 0;
	f->bits = 0;
	if (r->diff) {
		f->shift = (unsigned)__builtin_ctzll(r->diff);
		f->bits = 64 - (unsigned)__builtin_clzll((r->hi - r->lo) >> f->shift);
	}
}

INLINE void field_range(struct field *f, size_t rows, enum kind kind)
{
	uint64_t v0 = field_value(f, 0, kind);
	struct range r = {v0, v0, v0, 0};

	for (size_t i = 1; i < rows; i++)
		range_add(&r, field_value(f, i, kind));
	range_set(f, &r);
}

static void range_of(struct field *f, size_t rows)
{
	BY_KIND(field_range, f, rows);
}

/* Both halves of a FixedString(16) in one pass over its bytes. */
static void range_of_halves(struct field *f, size_t rows)
{
	uint64_t h0 = field_value(&f[0], 0, BE16), l0 = field_value(&f[1], 0, BE16);
	struct range h = {h0, h0, h0, 0}, l = {l0, l0, l0, 0};

	for (size_t i = 1; i < rows; i++) {
		range_add(&h, field_value(&f[0], i, BE16));
		range_add(&l, field_value(&f[1], i, BE16));
	}
	range_set(&f[0], &h);
	range_set(&f[1], &l);
}

/* Few distinct values spread over many bits (the addresses of the batch's
 * exporters: a few, over 24 bits or 128) are packed as their rank among
 * the batch's values instead: fewer bits, fewer passes of the sort. */
#define DICT_MAX      1024
#define DICT_SIZE     2048 /* open addressing, at most half full */
#define DICT_MIN_BITS 12   /* below, ranks would save too little */

struct dict {
	uint64_t key[DICT_SIZE];
	uint16_t rank[DICT_SIZE];
	uint8_t used[DICT_SIZE];
	unsigned n;
};

static unsigned dict_slot(const struct dict *d, uint64_t v)
{
	unsigned h = (unsigned)((v * 0x9e3779b97f4a7c15ull) >> 53); /* 11 bits */

	while (d->used[h] && d->key[h] != v)
		h = (h + 1) & (DICT_SIZE - 1);
	return h;
}

/* The field's values into d; *fits 0 when there are more than DICT_MAX. */
INLINE void field_values(const struct field *field, size_t rows, struct dict *d, int *fits,
			 enum kind kind)
{
	const struct field copy = *field, *f = &copy; /* see field_pack() */
	uint64_t last = field_value(f, 0, kind) + 1;

	memset(d->used, 0, sizeof(d->used));
	d->n = 0;
	*fits = 0;
	for (size_t i = 0; i < rows; i++) {
		uint64_t v = field_value(f, i, kind);
		unsigned h;

		if (v == last) /* runs: rows of one exporter's packet */
			continue;
		last = v;
		h = dict_slot(d, v);
		if (d->used[h])
			continue;
		if (d->n == DICT_MAX)
			return;
		d->used[h] = 1;
		d->key[h] = v;
		d->n++;
	}
	*fits = 1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Ranks for f's values when they are few and save bits: 1 if so. */
static int try_dict(struct field *f, size_t rows, struct dict *d)
{
	uint64_t v[DICT_MAX];
	unsigned n = 0, bits;
	int fits;

	BY_KIND(field_values, f, rows, d, &fits);
	if (!fits)
		return 0;
	bits = 64 - (unsigned)__builtin_clzll(d->n - 1); /* n >= 2: the field varies */
	if (bits >= f->bits)
		return 0;
	for (unsigned h = 0; h < DICT_SIZE; h++)
		if (d->used[h])
			v[n++] = d->key[h];
	qsort(v, n, sizeof(*v), cmp_u64);
	for (unsigned r = 0; r < n; r++)
		d->rank[dict_slot(d, v[r])] = (uint16_t)r;
	f->dict = d;
	f->bits = bits;
	return 1;
}

/* ORs the field of rows [b, e) into their records (`words` each). */
INLINE void field_pack(const struct field *field, size_t b, size_t e, uint64_t *rec, unsigned words,
		       int dict, enum kind kind)
{
	/* A copy: stores to rec[] might change f->stride (both unsigned
	 * long), not it, so the stride stays in a register. */
	const struct field copy = *field, *f = &copy;
	unsigned w = f->at / 64, off = f->at % 64, split = off + f->bits > 64;
	unsigned up = split ? 0 : 64 - off - f->bits; /* in one word */
	unsigned right = split ? off + f->bits - 64 : 0, left = 128 - off - f->bits; /* two */
	uint64_t base = f->base, last = field_value(f, b, kind), rank = 0;
	unsigned shift = f->shift;

	if (dict)
		rank = f->dict->rank[dict_slot(f->dict, last)];
	rec += w;
	for (size_t i = b; i < e; i++, rec += words) {
		uint64_t v = field_value(f, i, kind), x;

		if (dict) {
			if (v != last) {
				last = v;
				rank = f->dict->rank[dict_slot(f->dict, v)];
			}
			x = rank;
		} else {
			x = (v - base) >> shift;
		}
		if (!split) {
			rec[0] |= x << up;
		} else {
			rec[0] |= x >> right;
			rec[1] |= x << left;
		}
	}
}

/* ---- packing ----
 * The first pass of the sort is done as the records are packed: each goes
 * straight to the place of its first digit, and no second copy of all the
 * records is needed. */

static void pack_block(const struct field *fields, size_t nfields, unsigned until, size_t b,
		       size_t e, uint64_t *buf, unsigned words)
{
	memset(buf, 0, (e - b) * words * sizeof(*buf));
	for (size_t k = 0; k < nfields && fields[k].at < until; k++) {
		if (fields[k].dict)
			BY_KIND(field_pack, &fields[k], b, e, buf, words, 1);
		else
			BY_KIND(field_pack, &fields[k], b, e, buf, words, 0);
	}
}

/* Every row's first digit d (in word 0) into dig[], how many of each into
 * count[]: from the fields that the digit takes bits of only. */
static void first_digits(const struct field *fields, size_t nfields, size_t rows, struct digit d,
			 uint16_t *dig, uint32_t *count)
{
	uint64_t buf[PACK_BLOCK * 2]; /* a field may end in word 1 */

	for (size_t b = 0; b < rows; b += PACK_BLOCK) {
		size_t e = rows - b < PACK_BLOCK ? rows : b + PACK_BLOCK;

		pack_block(fields, nfields, 64 - d.shift, b, e, buf, 2);
		for (size_t i = b; i < e; i++) {
			uint32_t x = digit_of(buf + (i - b) * 2, d);

			dig[i] = (uint16_t)x;
			count[x]++;
		}
	}
}

/* Packs each row's record at next[its first digit]++. Returns 1 when the
 * rows are in order already. */
static int pack_records(const struct field *fields, size_t nfields, size_t rows, unsigned words,
			const uint16_t *dig, size_t *next, uint64_t *rec)
{
	uint64_t buf[PACK_BLOCK * MAX_WORDS], last[MAX_WORDS] = {0};
	int sorted = 1;

	for (size_t b = 0; b < rows; b += PACK_BLOCK) {
		size_t e = rows - b < PACK_BLOCK ? rows : b + PACK_BLOCK;

		pack_block(fields, nfields, words * 64, b, e, buf, words);
		for (size_t i = b; i < e; i++) {
			const uint64_t *x = buf + (i - b) * words;

			/* records are distinct (the index): in order when
			 * each is above the one before */
			if (sorted && i && rec_less(x, i > b ? x - words : last, 0, words))
				sorted = 0;
			rec_copy(rec + next[dig[i]]++ * words, x, words);
		}
		rec_copy(last, buf + (e - 1 - b) * words, words);
	}
	return sorted;
}

/* The fields of the keys (a FixedString(16): two), the index last; returns
 * how many. */
static size_t key_fields(const struct store_sort_key *keys, size_t nkeys, struct field *fields)
{
	size_t n = 0;

	for (size_t k = 0; k < nkeys; k++) {
		const struct store_sort_key *c = &keys[k];
		const uint8_t *p = c->data;
		size_t stride = c->stride ? c->stride : c->width;

		if (c->width == 16) {
			fields[n++] = (struct field){.p = p, .stride = stride, .kind = BE16};
			fields[n++] = (struct field){.p = p + 8, .stride = stride, .kind = BE16};
			continue;
		}
		if (c->width > 8) { /* other bytes: 8 at a time, big-endian */
			for (unsigned o = 0; o < c->width; o += 8)
				fields[n++] = (struct field){
				    .p = p + o,
				    .stride = stride,
				    .len = c->width - o < 8 ? c->width - o : 8,
				    .be = 1,
				    .kind = OTHER,
				};
			continue;
		}
		fields[n] = (struct field){
		    .p = p, .stride = stride, .len = c->width, .minute = c->minute, .kind = OTHER};
		if (c->minute && c->width == 4)
			fields[n].kind = MINUTE;
		else if (!c->minute && c->width == 1)
			fields[n].kind = LE1;
		else if (!c->minute && c->width == 2)
			fields[n].kind = LE2;
		else if (!c->minute && c->width == 4)
			fields[n].kind = LE4;
		else if (!c->minute && c->width == 8)
			fields[n].kind = LE8;
		n++;
	}
	return n;
}

/* The fields that vary, placed one after the other, then the index (which
 * makes the records distinct and ties stable), right-aligned in `words`
 * words: returns the first bit used (before it, 0). */
static unsigned place_fields(struct field *fields, size_t used, size_t rows, unsigned *words)
{
	unsigned bits = 0, pad;

	for (size_t k = 0; k < used; k++) {
		fields[k].at = bits;
		bits += fields[k].bits;
	}
	fields[used] =
	    (struct field){.kind = INDEX, .bits = 64 - __builtin_clzll(rows - 1), .at = bits};
	bits += fields[used].bits;
	*words = (bits + 63) / 64;
	pad = *words * 64 - bits;
	for (size_t k = 0; k <= used; k++)
		fields[k].at += pad;
	return pad;
}

/* The varying fields first in fields[] (constant ones left out), some as
 * ranks in dicts[] (malloc'd, or NULL). Returns how many, or -ENOMEM. */
static long vary(struct field *fields, size_t nfields, size_t rows, struct dict **dicts)
{
	size_t used = 0, ndicts = 0;

	for (size_t k = 0; k < nfields; k++) {
		if (fields[k].kind == BE16 && k + 1 < nfields && fields[k + 1].kind == BE16 &&
		    fields[k + 1].p == fields[k].p + 8)
			range_of_halves(&fields[k++], rows);
		else
			range_of(&fields[k], rows);
	}
	for (size_t k = 0; k < nfields; k++)
		if (fields[k].bits)
			fields[used++] = fields[k];
	for (size_t k = 0; k < used; k++)
		ndicts += fields[k].bits >= DICT_MIN_BITS;
	*dicts = NULL;
	if (ndicts && !(*dicts = malloc(ndicts * sizeof(**dicts))))
		return -ENOMEM;
	ndicts = 0;
	for (size_t k = 0; k < used; k++)
		if (fields[k].bits >= DICT_MIN_BITS &&
		    try_dict(&fields[k], rows, &(*dicts)[ndicts]))
			ndicts++;
	return (long)used;
}

struct work {
	struct field *fields;
	struct dict *dicts;
	uint16_t *dig;
	uint64_t *rec, *tmp;
	struct span *stack;
};

static void work_free(struct work *w)
{
	free(w->fields);
	free(w->dicts);
	free(w->dig);
	free(w->rec);
	free(w->tmp);
	free(w->stack);
}

/* Sorts the packed records of w->fields into w->rec. Returns 0 when the
 * rows were in order already, 1 when sorted, or -ENOMEM. */
static int sort_rows(struct work *w, size_t used, size_t rows)
{
	unsigned words, pad = place_fields(w->fields, used, rows, &words);
	struct digit d = digit_at(pad, rows > BIG_N ? BIG_DIGIT : DIGIT);
	uint32_t count[1 << BIG_DIGIT] = {0};
	size_t first[1 << BIG_DIGIT], next[1 << BIG_DIGIT], at = 0, sp;
	size_t tmp_n = rows / 4 > TMP_ROWS ? rows / 4 : TMP_ROWS;

	tmp_n = tmp_n < rows ? tmp_n : rows;
	w->dig = malloc(rows * sizeof(*w->dig));
	w->rec = malloc(rows * words * sizeof(*w->rec));
	w->tmp = malloc(tmp_n * words * sizeof(*w->tmp));
	w->stack = malloc(words_stack_size(rows) * sizeof(*w->stack));
	if (!w->dig || !w->rec || !w->tmp || !w->stack)
		return -ENOMEM;
	first_digits(w->fields, used + 1, rows, d, w->dig, count);
	for (uint32_t x = 0; x <= d.mask; x++) {
		first[x] = next[x] = at;
		at += count[x];
	}
	if (pack_records(w->fields, used + 1, rows, words, w->dig, next, w->rec))
		return 0;
	sp = words_push_digits(w->rec, 0, count, first, d.mask, pad + d.bits, words, w->stack, 0);
	words_sort_spans(w->rec, words, w->stack, sp, w->tmp, tmp_n);
	return 1;
}

int store_rows_order(const struct store_sort_key *keys, size_t nkeys, size_t rows, uint32_t **perm)
{
	struct work w = {0};
	size_t len = 0, nfields = 0;
	unsigned words;
	long used;
	int r;

	*perm = NULL;
	for (size_t k = 0; k < nkeys; k++) {
		len += keys[k].width;
		nfields += (keys[k].width + 7) / 8;
	}
	if (rows < 2 || len == 0 || rows > UINT32_MAX)
		return 0;
	w.fields = malloc((nfields + 1) * sizeof(*w.fields));
	if (!w.fields)
		return -ENOMEM;
	nfields = key_fields(keys, nkeys, w.fields);
	used = vary(w.fields, nfields, rows, &w.dicts);
	r = used <= 0 ? (int)used : sort_rows(&w, (size_t)used, rows); /* 0: all keys equal */
	if (r > 0 && !(*perm = malloc(rows * sizeof(**perm))))
		r = -ENOMEM;
	if (r > 0) {
		const struct field *index = &w.fields[used];
		uint64_t mask = ((uint64_t)1 << index->bits) - 1;

		words = index->at / 64 + 1;
		for (size_t i = 0; i < rows; i++)
			(*perm)[i] = (uint32_t)(w.rec[i * words + words - 1] & mask);
	}
	work_free(&w);
	return r;
}
