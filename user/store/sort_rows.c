// SPDX-License-Identifier: AGPL-3.0-or-later
/* Puts a batch's rows in the order of the table's sorting key before it is
 * sent. ClickHouse sorts every inserted block by that key unless it finds it
 * sorted already (MergeTreeDataWriterBlocksAlreadySorted, in 18.16 too):
 * on `flows` its sort and the permutation of ~100 columns that follows took
 * about a fifth of the server's CPU per flow (perf, weir bench store).
 *
 * The order is that of memcmp() on each row's key packed big-endian (a
 * DateTime rounded down to its minute), ties in arrival order. Packed whole
 * that key is ~72 bytes, and qsort() with memcmp() over it was weir's
 * biggest cost. But most of those bytes are the same in every row of a batch
 * (the ::ffff: prefix of IPv4 addresses, the high bytes of ASes, interfaces
 * and time): each key column (each half of a FixedString(16)) is reduced
 * here to (value - batch minimum) >> (low bits constant in the batch), only
 * as many bits as that spans, which keeps its order; or, for a few values
 * over many bits (exporters), to the value's rank. Those bits, then the
 * row's index (ties, and the permutation to return), are packed into 1-9
 * 64-bit words per row, and the words sorted as one big number by an MSD
 * radix sort: 3 words for IPv4 flows, sorted in 2-3 passes.
 *
 * The columns are then gathered by store_rows_permute(), width by width,
 * into a scratch buffer that the column takes in place of its own when
 * that one can serve as the scratch of the next column. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define INLINE static inline __attribute__((always_inline))

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
	unsigned stride;  /* bytes per row */
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
		return f->p[i];
	case LE2:
		memcpy(&u16, f->p + 2 * i, 2);
		return u16;
	case LE4:
		memcpy(&u32, f->p + 4 * i, 4);
		return u32;
	case LE8:
		memcpy(&u64, f->p + 8 * i, 8);
		return u64;
	case MINUTE:
		/* v / 60 orders as v - v % 60 (toStartOfMinute) does */
		memcpy(&u32, f->p + 4 * i, 4);
		return u32 / 60;
	case BE16:
		memcpy(&u64, f->p + 16 * i, 8);
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
INLINE void field_values(const struct field *f, size_t rows, struct dict *d, int *fits,
			 enum kind kind)
{
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
INLINE void field_pack(const struct field *f, size_t b, size_t e, uint64_t *rec, unsigned words,
		       int dict, enum kind kind)
{
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

/* ---- records of `words` uint64_t, compared as one big number ----
 * The functions below take `words` as a parameter and are inlined into
 * versions for 1-4 words (the usual IPv4 batch takes 3), where the copies
 * and compares become a few instructions. */

#define MAX_WORDS  9   /* 68 bytes of key and 32 bits of index */
#define PACK_BLOCK 256 /* rows packed at a time, their records in L1 */
#define SMALL	   24  /* spans of fewer records: insertion sort */
#define DIGIT	   8   /* bits sorted by a pass */
#define BIG_DIGIT  11  /* ... of more than BIG_N records: fewer passes */
#define BIG_N	   (1 << 16)
#define TMP_ROWS   (1 << 16) /* at least, for spans sorted through tmp */

INLINE int rec_less(const uint64_t *a, const uint64_t *b, unsigned from, unsigned words)
{
	for (unsigned k = from; k < words; k++)
		if (a[k] != b[k])
			return a[k] < b[k];
	return 0;
}

INLINE void rec_copy(uint64_t *dst, const uint64_t *src, unsigned words)
{
	for (unsigned k = 0; k < words; k++)
		dst[k] = src[k];
}

/* Records that agree on their first `from` words. */
INLINE void insertion_sort(uint64_t *r, size_t n, unsigned from, unsigned words)
{
	uint64_t t[MAX_WORDS];

	for (size_t i = 1; i < n; i++) {
		size_t j = i;

		if (!rec_less(r + i * words, r + (i - 1) * words, from, words))
			continue;
		rec_copy(t, r + i * words, words);
		do {
			rec_copy(r + j * words, r + (j - 1) * words, words);
			j--;
		} while (j > 0 && rec_less(t, r + (j - 1) * words, from, words));
		rec_copy(r + j * words, t, words);
	}
}

/* The bits of a record at bit `pos`, no more than `most` and not across
 * words: in word w, `shift` from its bottom. */
struct digit {
	unsigned w, shift, bits;
	uint32_t mask;
};

static struct digit digit_at(unsigned pos, unsigned most)
{
	unsigned off = pos % 64, bits = 64 - off < most ? 64 - off : most;

	return (struct digit){pos / 64, 64 - off - bits, bits, ((uint32_t)1 << bits) - 1};
}

INLINE uint32_t digit_of(const uint64_t *rec, struct digit d)
{
	return (uint32_t)(rec[d.w] >> d.shift) & d.mask;
}

/* A part of the records [start, start + n) still to sort, whose bits
 * before `pos` are the same in all. */
struct span {
	size_t start;
	uint32_t n;
	unsigned pos;
};

/* The most spans that can wait at once: they are disjoint, of more than
 * SMALL records each. */
static size_t stack_size(size_t rows)
{
	return rows / (SMALL + 1) + 2;
}

/* After a pass on a digit ending at bit `pos`: the records of each digit
 * value (count[] of them from first[]) wait on the stack, the few are
 * sorted at once. Returns the new stack height. */
INLINE size_t push_digits(uint64_t *r, size_t start, const uint32_t *count, const size_t *first,
			  uint32_t mask, unsigned pos, unsigned words, struct span *stack,
			  size_t sp)
{
	for (uint32_t x = 0; x <= mask; x++) {
		if (count[x] > SMALL)
			stack[sp++] = (struct span){start + first[x], count[x], pos};
		else if (count[x] > 1)
			insertion_sort(r + (start + first[x]) * words, count[x], pos / 64, words);
	}
	return sp;
}

/* Puts records [0, n) in the order of digit d, with count[] how many have
 * each value; first[] becomes where each value's records start. Through
 * tmp when it has room: reads in order and writes to a few places at a
 * time. Else in place (American flag sort), slower: a chain of dependent
 * loads, each record's place found after the one before has moved. */
INLINE void digit_pass(uint64_t *r, size_t n, uint64_t *tmp, size_t tmp_n, const uint32_t *count,
		       size_t *first, struct digit d, unsigned words)
{
	size_t next[1 << BIG_DIGIT], end[1 << BIG_DIGIT], at = 0;
	uint64_t t[MAX_WORDS], u[MAX_WORDS];

	for (uint32_t x = 0; x <= d.mask; x++) {
		first[x] = next[x] = at;
		at += count[x];
		end[x] = at;
	}
	if (n <= tmp_n) {
		for (size_t i = 0; i < n; i++) {
			const uint64_t *src = r + i * words;

			rec_copy(tmp + next[digit_of(src, d)]++ * words, src, words);
		}
		memcpy(r, tmp, n * words * sizeof(*r));
		return;
	}
	for (uint32_t x = 0; x <= d.mask; x++) {
		while (next[x] < end[x]) {
			uint64_t *slot = r + next[x] * words;
			uint32_t y = digit_of(slot, d);

			if (y == x) {
				next[x]++;
				continue;
			}
			/* Follow the cycle: each record goes to its digit's next
			 * free place, until one of digit x comes back. */
			rec_copy(t, slot, words);
			do {
				uint64_t *dst = r + next[y]++ * words;

				rec_copy(u, dst, words);
				rec_copy(dst, t, words);
				rec_copy(t, u, words);
				y = digit_of(t, d);
			} while (y != x);
			rec_copy(slot, t, words);
			next[x]++;
		}
	}
}

/* Sorts the spans on the stack (sp of them): MSD radix sort. */
INLINE void sort_spans(uint64_t *r, unsigned words, struct span *stack, size_t sp, uint64_t *tmp,
		       size_t tmp_n)
{
	uint32_t count[1 << BIG_DIGIT];
	size_t first[1 << BIG_DIGIT];

	while (sp) {
		struct span s = stack[--sp];
		uint64_t *base = r + s.start * words;

		/* (the records are distinct: they differ before the end) */
		while (s.pos < words * 64) {
			struct digit d = digit_at(s.pos, s.n > BIG_N ? BIG_DIGIT : DIGIT);

			memset(count, 0, (d.mask + 1) * sizeof(*count));
			for (size_t i = 0; i < s.n; i++)
				count[digit_of(base + i * words, d)]++;
			s.pos += d.bits;
			if (count[digit_of(base, d)] == s.n)
				continue; /* one value for all: on to the next digit */
			digit_pass(base, s.n, tmp, tmp_n, count, first, d, words);
			sp = push_digits(r, s.start, count, first, d.mask, s.pos, words, stack, sp);
			break;
		}
	}
}

static void sort_spans_of(uint64_t *r, unsigned words, struct span *stack, size_t sp, uint64_t *tmp,
			  size_t tmp_n)
{
	switch (words) {
	case 1:
		sort_spans(r, 1, stack, sp, tmp, tmp_n);
		break;
	case 2:
		sort_spans(r, 2, stack, sp, tmp, tmp_n);
		break;
	case 3:
		sort_spans(r, 3, stack, sp, tmp, tmp_n);
		break;
	case 4:
		sort_spans(r, 4, stack, sp, tmp, tmp_n);
		break;
	default:
		sort_spans(r, words, stack, sp, tmp, tmp_n);
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

		if (c->width == 16) {
			fields[n++] = (struct field){.p = p, .stride = 16, .kind = BE16};
			fields[n++] = (struct field){.p = p + 8, .stride = 16, .kind = BE16};
			continue;
		}
		if (c->width > 8) { /* other bytes: 8 at a time, big-endian */
			for (unsigned o = 0; o < c->width; o += 8)
				fields[n++] = (struct field){
				    .p = p + o,
				    .stride = c->width,
				    .len = c->width - o < 8 ? c->width - o : 8,
				    .be = 1,
				    .kind = OTHER,
				};
			continue;
		}
		fields[n] = (struct field){.p = p,
					   .stride = c->width,
					   .len = c->width,
					   .minute = c->minute,
					   .kind = OTHER};
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
	w->stack = malloc(stack_size(rows) * sizeof(*w->stack));
	if (!w->dig || !w->rec || !w->tmp || !w->stack)
		return -ENOMEM;
	first_digits(w->fields, used + 1, rows, d, w->dig, count);
	for (uint32_t x = 0; x <= d.mask; x++) {
		first[x] = next[x] = at;
		at += count[x];
	}
	if (pack_records(w->fields, used + 1, rows, words, w->dig, next, w->rec))
		return 0;
	sp = push_digits(w->rec, 0, count, first, d.mask, pad + d.bits, words, w->stack, 0);
	sort_spans_of(w->rec, words, w->stack, sp, w->tmp, tmp_n);
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

/* ---- moving the columns' values ---- */

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

static void gather_arrays(char *dst, const struct store_buf *data, const struct store_buf *offsets,
			  unsigned width, const uint32_t *perm, size_t rows, uint64_t *offsets_out)
{
	const uint64_t *off = (const uint64_t *)(const void *)offsets->data;

	if (width == 4)
		gather_array(dst, data->data, off, perm, rows, offsets_out, 4);
	else
		gather_array(dst, data->data, off, perm, rows, offsets_out, width);
}

void store_rows_permute(struct store_buf *data, struct store_buf *offsets, unsigned width,
			const uint32_t *perm, size_t rows, struct store_buf *scratch, size_t keep)
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
		struct store_buf t = *data;

		*data = *scratch;
		data->len = t.len;
		*scratch = t;
		scratch->len = 0;
	} else if (data->len) {
		memcpy(data->data, scratch->data, data->len);
	}
}
