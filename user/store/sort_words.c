// SPDX-License-Identifier: AGPL-3.0-or-later
/* The MSD radix sort of records of `words` uint64_t compared as one big
 * number (sort_words.h), insertion sort for the small spans: what orders
 * the rows' packed keys (sort_rows.c). */
#include <string.h>

#include "sort_words.h"

#define SMALL 24 /* spans of fewer records: insertion sort */

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

/* The most spans that can wait at once: they are disjoint, of more than
 * SMALL records each. */
size_t words_stack_size(size_t rows)
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

size_t words_push_digits(uint64_t *r, size_t start, const uint32_t *count, const size_t *first,
			 uint32_t mask, unsigned pos, unsigned words, struct span *stack, size_t sp)
{
	return push_digits(r, start, count, first, mask, pos, words, stack, sp);
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

/* sort_spans() and what it calls take `words` as a parameter and are
 * inlined into versions for 1-4 words (the usual IPv4 batch takes 3), where
 * the copies and compares become a few instructions. */
void words_sort_spans(uint64_t *r, unsigned words, struct span *stack, size_t sp, uint64_t *tmp,
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
