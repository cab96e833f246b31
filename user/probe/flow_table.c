// SPDX-License-Identifier: AGPL-3.0-or-later
/* The probe's user-space flow table: what the kernel counted since a flow's
 * last export, summed over drains, CPUs and ring buffer events, until the
 * flow is idle, has run for the active timeout, or ended (TCP FIN/RST). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "probe_internal.h"

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

	while (cap / 4 * 3 < flows)
		cap <<= 1;
	memset(t, 0, sizeof(*t));
	t->limit = flows;
	t->slots = calloc(cap, sizeof(*t->slots));
	t->entries = calloc(flows, sizeof(*t->entries));
	if (!t->slots || !t->entries) {
		probe_table_fini(t);
		return -ENOMEM;
	}
	t->mask = cap - 1;
	return 0;
}

void probe_table_fini(struct probe_table *t)
{
	free(t->slots);
	free(t->entries);
	memset(t, 0, sizeof(*t));
}

void probe_table_prefetch(const struct probe_table *t, const struct probe_flow_key *k, int stage)
{
	const uint32_t *slot = &t->slots[key_hash(k) & t->mask];

	if (stage == 0)
		__builtin_prefetch(slot);
	else if (*slot)
		__builtin_prefetch(&t->entries[*slot - 1]);
}

/* The slot of `k`, or of the empty slot where it would go. */
static size_t find(const struct probe_table *t, const struct probe_flow_key *k)
{
	size_t i = key_hash(k) & t->mask;

	while (t->slots[i] && memcmp(&t->entries[t->slots[i] - 1].key, k, sizeof(*k)))
		i = (i + 1) & t->mask;
	return i;
}

int probe_table_add(struct probe_table *t, const struct probe_flow_key *k,
		    const struct probe_flow_value *v)
{
	size_t i;
	struct probe_entry *e;

	if (!v->packets && !v->bytes)
		return 0; /* an entry a FIN/RST emptied (probe.bpf.c) */
	i = find(t, k);
	if (t->slots[i]) {
		e = &t->entries[t->slots[i] - 1];
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
	if (t->count >= t->limit)
		return -ENOSPC;
	e = &t->entries[t->count];
	e->key = *k;
	e->bytes = v->bytes;
	e->packets = v->packets;
	e->first_ns = v->first_ns;
	e->last_ns = v->last_ns;
	e->tcp_flags = v->tcp_flags;
	e->tos = v->tos;
	t->slots[i] = (uint32_t)++t->count;
	return 0;
}

/* Removes entry d: its slot is emptied and later slots of the run move back
 * (Knuth 6.4, algorithm R); the last entry moves into d. */
static void remove_entry(struct probe_table *t, size_t d)
{
	size_t i = find(t, &t->entries[d].key), j = i, last = t->count - 1;

	t->slots[i] = 0;
	for (;;) {
		size_t home;

		j = (j + 1) & t->mask;
		if (!t->slots[j])
			break;
		home = key_hash(&t->entries[t->slots[j] - 1].key) & t->mask;
		/* Leave j where it is when its home lies cyclically in (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		t->slots[i] = t->slots[j];
		t->slots[j] = 0;
		i = j;
	}
	if (d != last) {
		t->slots[find(t, &t->entries[last].key)] = (uint32_t)d + 1;
		t->entries[d] = t->entries[last];
	}
	t->count--;
}

int probe_table_take(struct probe_table *t, const struct probe_flow_key *k, struct probe_entry *out)
{
	size_t i = find(t, k);

	if (!t->slots[i])
		return -ENOENT;
	*out = t->entries[t->slots[i] - 1];
	remove_entry(t, t->slots[i] - 1);
	return 0;
}

static int due(const struct probe_entry *e, uint64_t now, uint64_t idle, uint64_t active)
{
	if (e->tcp_flags & (PROBE_TCP_FIN | PROBE_TCP_RST))
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
	size_t d = 0;

	while (d < t->count) {
		int reason = due(&t->entries[d], now_ns, idle_ns, active_ns), r;

		if (!reason && !all) {
			d++;
			continue;
		}
		r = fn(ctx, &t->entries[d], (uint8_t)(reason ? reason : PROBE_END_FORCED));
		if (r < 0)
			return r;
		remove_entry(t, d); /* the last entry is in d now: looked at next */
	}
	return 0;
}
