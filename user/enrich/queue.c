// SPDX-License-Identifier: AGPL-3.0-or-later
/* The miss queue: a bounded ring with a sequence number per cell (D. Vyukov's
 * bounded queue), so that outlet workers push without locks and the refresher
 * pops. A full queue refuses: the miss is asked again later. */
#include <errno.h>
#include <stdlib.h>

#include "enrich_internal.h"

int mpsc_init(struct mpsc_queue *q, size_t size_pow2)
{
	q->cells = calloc(size_pow2, sizeof(*q->cells));
	if (!q->cells)
		return -ENOMEM;
	q->mask = size_pow2 - 1;
	for (size_t i = 0; i < size_pow2; i++)
		atomic_init(&q->cells[i].seq, i);
	atomic_init(&q->head, 0);
	atomic_init(&q->tail, 0);
	return 0;
}

void mpsc_fini(struct mpsc_queue *q)
{
	free(q->cells);
	q->cells = NULL;
}

int mpsc_push(struct mpsc_queue *q, const struct md_request *r)
{
	uint64_t pos = atomic_load_explicit(&q->head, memory_order_relaxed);

	for (;;) {
		struct mpsc_cell *c = &q->cells[pos & q->mask];
		uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
		int64_t dif = (int64_t)(seq - pos);
		if (dif == 0) {
			if (atomic_compare_exchange_weak_explicit(&q->head, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed)) {
				c->req = *r;
				atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
				return 0;
			}
		} else if (dif < 0) {
			return -ENOBUFS;
		} else {
			pos = atomic_load_explicit(&q->head, memory_order_relaxed);
		}
	}
}

int mpsc_pop(struct mpsc_queue *q, struct md_request *r)
{
	uint64_t pos = atomic_load_explicit(&q->tail, memory_order_relaxed);
	struct mpsc_cell *c = &q->cells[pos & q->mask];
	uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);

	if ((int64_t)(seq - (pos + 1)) < 0)
		return 0;
	*r = c->req;
	atomic_store_explicit(&c->seq, pos + q->mask + 1, memory_order_release);
	atomic_store_explicit(&q->tail, pos + 1, memory_order_relaxed);
	return 1;
}
