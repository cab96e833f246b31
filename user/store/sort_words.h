/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Records of `words` uint64_t (1-MAX_WORDS) compared as one big number,
 * and their MSD radix sort (sort_words.c): sort_rows.c packs the rows' keys
 * into such records, doing the sort's first pass as it packs them. */
#ifndef WEIR_STORE_SORT_WORDS_H
#define WEIR_STORE_SORT_WORDS_H

#include <stddef.h>
#include <stdint.h>

#define INLINE static inline __attribute__((always_inline))

#define MAX_WORDS 9  /* 68 bytes of key and 32 bits of index */
#define DIGIT	  8  /* bits sorted by a pass */
#define BIG_DIGIT 11 /* ... of more than BIG_N records: fewer passes */
#define BIG_N	  (1 << 16)
#define TMP_ROWS  (1 << 16) /* at least, for spans sorted through tmp */

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

/* The bits of a record at bit `pos`, no more than `most` and not across
 * words: in word w, `shift` from its bottom. */
struct digit {
	unsigned w, shift, bits;
	uint32_t mask;
};

static inline struct digit digit_at(unsigned pos, unsigned most)
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

/* The most spans that can wait at once (the stack words_push_digits() and
 * words_sort_spans() take) for `rows` records. */
size_t words_stack_size(size_t rows);
/* After a pass on a digit ending at bit `pos`: the records of each digit
 * value (count[] of them from first[]) wait on the stack, the few are
 * sorted at once. Returns the new stack height. */
size_t words_push_digits(uint64_t *r, size_t start, const uint32_t *count, const size_t *first,
			 uint32_t mask, unsigned pos, unsigned words, struct span *stack,
			 size_t sp);
/* Sorts the spans on the stack (sp of them), with tmp (room for tmp_n
 * records) as scratch. */
void words_sort_spans(uint64_t *r, unsigned words, struct span *stack, size_t sp, uint64_t *tmp,
		      size_t tmp_n);

#endif
