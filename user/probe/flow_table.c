// SPDX-License-Identifier: AGPL-3.0-or-later
/* The probe's user-space flow table: what the kernel counted since a flow's
 * last export, summed over drains, CPUs and ring buffer events, until the
 * flow is idle, has run for the active timeout, or ended (TCP FIN/RST). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "probe_internal.h"

#define TCP_FIN 0x01
#define TCP_RST 0x04

/* FNV-1a over the key's 48 bytes, 8 at a time. */
static uint64_t key_hash(const struct probe_flow_key *k)
{
	const uint8_t *b = (const uint8_t *)k;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < sizeof(*k); i += 8) {
		uint64_t v;

		memcpy(&v, b + i, 8);
		h = (h ^ v) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	return h;
}

int probe_table_init(struct probe_table *t, size_t flows)
{
	size_t cap = 64;

	while (cap < flows + flows / 3 + 1)
		cap <<= 1;
	memset(t, 0, sizeof(*t));
	t->slots = calloc(cap, sizeof(*t->slots));
	if (!t->slots)
		return -ENOMEM;
	t->mask = cap - 1;
	t->limit = cap / 4 * 3;
	return 0;
}

void probe_table_fini(struct probe_table *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

int probe_table_add(struct probe_table *t, const struct probe_flow_key *k,
		    const struct probe_flow_value *v)
{
	size_t i = key_hash(k) & t->mask;
	struct probe_entry *e;

	if (!v->packets)
		return 0; /* a CPU that never saw the flow */
	for (;; i = (i + 1) & t->mask) {
		e = &t->slots[i];
		if (!e->used)
			break;
		if (!memcmp(&e->key, k, sizeof(*k))) {
			/* The earliest packet's TOS stands for the flow. */
			if (v->first_ns < e->first_ns) {
				e->first_ns = v->first_ns;
				e->tos = v->tos;
			}
			if (v->last_ns > e->last_ns)
				e->last_ns = v->last_ns;
			e->bytes += v->bytes;
			e->packets += v->packets;
			e->tcp_flags |= v->tcp_flags;
			return 0;
		}
	}
	if (t->count >= t->limit)
		return -ENOSPC;
	e->used = 1;
	e->key = *k;
	e->bytes = v->bytes;
	e->packets = v->packets;
	e->first_ns = v->first_ns;
	e->last_ns = v->last_ns;
	e->tcp_flags = v->tcp_flags;
	e->tos = v->tos;
	t->count++;
	return 0;
}

/* Empties slot i and moves later entries of its run back (Knuth 6.4,
 * algorithm R), so lookups never meet a hole inside a run. */
static void remove_at(struct probe_table *t, size_t i)
{
	size_t j = i;

	t->slots[i].used = 0;
	for (;;) {
		size_t home;

		j = (j + 1) & t->mask;
		if (!t->slots[j].used)
			break;
		home = key_hash(&t->slots[j].key) & t->mask;
		/* Leave j where it is when its home lies cyclically in (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		t->slots[i] = t->slots[j];
		t->slots[j].used = 0;
		i = j;
	}
	t->count--;
}

static int due(const struct probe_entry *e, uint64_t now, uint64_t idle, uint64_t active)
{
	if (e->tcp_flags & (TCP_FIN | TCP_RST))
		return PROBE_END_FLOW_END;
	if (now >= e->last_ns + idle)
		return PROBE_END_IDLE;
	if (now >= e->first_ns + active)
		return PROBE_END_ACTIVE;
	return 0;
}

int probe_table_expire(struct probe_table *t, uint64_t now_ns, uint64_t idle_ns, uint64_t active_ns,
		       int all, probe_expire_fn fn, void *ctx)
{
	size_t cap = t->mask + 1, start = 0;
	int r;

	if (!t->count)
		return 0;
	/* Start the walk at an empty slot: removing by backward shift only
	 * moves entries towards their home, never across an empty slot, so no
	 * entry is skipped or seen twice. */
	while (t->slots[start].used)
		start++;
	for (size_t n = 1; n <= cap; n++) {
		size_t i = (start + n) & t->mask;
		int reason;

		for (;;) {
			struct probe_entry *e = &t->slots[i];

			if (!e->used)
				break;
			reason = due(e, now_ns, idle_ns, active_ns);
			if (!reason && !all)
				break;
			r = fn(ctx, e, (uint8_t)(reason ? reason : PROBE_END_FORCED));
			if (r < 0)
				return r;
			remove_at(t, i);
			/* slot i may now hold an entry that was after it. */
		}
	}
	return 0;
}
