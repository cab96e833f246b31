// SPDX-License-Identifier: AGPL-3.0-or-later
/* The published lookup table (writer side) and the reclamation of what
 * workers may still read: an object retired at epoch E is freed once every
 * worker announced a quiescent point at E or later. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "enrich_internal.h"

struct md_table *md_table_new(uint32_t cap_pow2)
{
	struct md_table *t =
	    calloc(1, sizeof(*t) + (size_t)cap_pow2 * sizeof(_Atomic(struct md_value *)));
	if (t)
		t->mask = cap_pow2 - 1;
	return t;
}

static void free_shell(void *p)
{
	free(p);
}

void md_table_free_all(struct md_table *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; i <= t->mask; i++)
		free(atomic_load_explicit(&t->slots[i], memory_order_relaxed));
	free(t);
}

void enrich_retire(struct enrich *e, void *p, void (*free_fn)(void *))
{
	struct retired *r = malloc(sizeof(*r));
	uint64_t epoch;

	/* Everything unpublished before this increment is invisible to a worker
	 * that reads the new epoch. */
	epoch = atomic_fetch_add_explicit(&e->epoch, 1, memory_order_acq_rel) + 1;
	if (!r) {
		/* Cannot track it: leaking is safer than freeing under a reader. */
		return;
	}
	r->epoch = epoch;
	r->p = p;
	r->free_fn = free_fn;
	pthread_mutex_lock(&e->lock);
	r->next = e->retired;
	e->retired = r;
	pthread_mutex_unlock(&e->lock);
}

size_t enrich_reclaim(struct enrich *e)
{
	struct retired *keep = NULL, *done = NULL;
	uint64_t min = atomic_load_explicit(&e->epoch, memory_order_acquire);
	size_t left = 0;

	pthread_mutex_lock(&e->lock);
	for (struct enrich_worker *w = e->workers; w; w = w->next) {
		uint64_t seen = atomic_load_explicit(&w->epoch, memory_order_acquire);
		if (seen < min)
			min = seen;
	}
	while (e->retired) {
		struct retired *r = e->retired;
		e->retired = r->next;
		if (r->epoch <= min) {
			r->next = done;
			done = r;
		} else {
			r->next = keep;
			keep = r;
			left++;
		}
	}
	e->retired = keep;
	pthread_mutex_unlock(&e->lock);
	while (done) {
		struct retired *r = done;
		done = r->next;
		r->free_fn(r->p);
		free(r);
	}
	return left;
}

static int grow(struct enrich *e, struct md_table *t)
{
	struct md_table *n = md_table_new((t->mask + 1) * 2);

	if (!n)
		return -ENOMEM;
	for (uint32_t i = 0; i <= t->mask; i++) {
		struct md_value *v = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
		if (!v)
			continue;
		uint32_t j = (uint32_t)md_key_hash(&v->key) & n->mask;
		while (atomic_load_explicit(&n->slots[j], memory_order_relaxed))
			j = (j + 1) & n->mask;
		atomic_store_explicit(&n->slots[j], v, memory_order_relaxed);
	}
	n->count = t->count;
	atomic_store_explicit(&e->table, n, memory_order_release);
	enrich_retire(e, t, free_shell);
	return 0;
}

int md_table_put(struct enrich *e, struct md_value *v)
{
	struct md_table *t = atomic_load_explicit(&e->table, memory_order_relaxed);
	uint32_t i = (uint32_t)md_key_hash(&v->key) & t->mask;

	for (;; i = (i + 1) & t->mask) {
		struct md_value *old = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
		if (!old)
			break;
		if (md_key_eq(&old->key, &v->key)) {
			atomic_store_explicit(
			    &v->last_used,
			    atomic_load_explicit(&old->last_used, memory_order_relaxed),
			    memory_order_relaxed);
			atomic_store_explicit(&t->slots[i], v, memory_order_release);
			enrich_retire(e, old, free);
			return 0;
		}
	}
	atomic_store_explicit(&t->slots[i], v, memory_order_release);
	t->count++;
	atomic_store_explicit(&e->cache_entries, t->count, memory_order_relaxed);
	if ((uint64_t)t->count * 2 > t->mask)
		return grow(e, t);
	return 0;
}

/* Rebuilds the table without the values drop() selects; those are retired. */
int md_table_sweep(struct enrich *e, int (*drop)(const struct md_value *v, void *ctx), void *ctx)
{
	struct md_table *t = atomic_load_explicit(&e->table, memory_order_relaxed);
	struct md_table *n;
	uint32_t keep = 0, cap = 64;

	for (uint32_t i = 0; i <= t->mask; i++) {
		struct md_value *v = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
		if (v && !drop(v, ctx))
			keep++;
	}
	while (cap < keep * 4)
		cap *= 2;
	n = md_table_new(cap);
	if (!n)
		return -ENOMEM;
	for (uint32_t i = 0; i <= t->mask; i++) {
		struct md_value *v = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
		if (!v)
			continue;
		if (drop(v, ctx)) {
			enrich_retire(e, v, free);
			continue;
		}
		uint32_t j = (uint32_t)md_key_hash(&v->key) & n->mask;
		while (atomic_load_explicit(&n->slots[j], memory_order_relaxed))
			j = (j + 1) & n->mask;
		atomic_store_explicit(&n->slots[j], v, memory_order_relaxed);
	}
	n->count = keep;
	atomic_store_explicit(&e->table, n, memory_order_release);
	atomic_store_explicit(&e->cache_entries, keep, memory_order_relaxed);
	enrich_retire(e, t, free_shell);
	return 0;
}
