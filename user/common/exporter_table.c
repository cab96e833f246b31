// SPDX-License-Identifier: AGPL-3.0-or-later
/* The exporter table (exporter_table.h). Entries sit in a dense array, so a
 * walk reads them in order and in few cache lines; an open-addressing index
 * with linear probing, never more than half full, finds them. Removal
 * shifts the index back (no tombstones) and moves the last entry into the
 * hole, so neither array ever has gaps. */
#include "exporter_table.h"

#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

#define MIN_CAP	     16
#define MAX_ENTRIES  (1ul << 31)
#define EVICT_SAMPLE 8

static uint64_t hash_of(const struct in6_addr *addr, uint32_t domain)
{
	return addr_hash64(addr, domain);
}

static int key_is(const struct exporter_entry *e, const struct in6_addr *addr, uint32_t domain)
{
	return e->domain == domain && memcmp(&e->addr, addr, sizeof(*addr)) == 0;
}

/* Index slot of the entry at `pos`. */
static size_t slot_of(const struct exporter_table *t, size_t pos)
{
	const struct exporter_entry *e = exporter_table_at(t, pos);
	size_t i = hash_of(&e->addr, e->domain) & t->index_mask;

	while (t->index[i] != pos + 1)
		i = (i + 1) & t->index_mask;
	return i;
}

static void index_put(struct exporter_table *t, size_t pos)
{
	const struct exporter_entry *e = exporter_table_at(t, pos);
	size_t i = hash_of(&e->addr, e->domain) & t->index_mask;

	while (t->index[i])
		i = (i + 1) & t->index_mask;
	t->index[i] = (uint32_t)(pos + 1);
}

/* Empties slot `i` and moves back the entries of its cluster that can no
 * longer be reached past the hole (Knuth's algorithm R). */
static void index_delete(struct exporter_table *t, size_t i)
{
	size_t j = i;

	for (;;) {
		const struct exporter_entry *e;
		size_t home;

		j = (j + 1) & t->index_mask;
		if (!t->index[j])
			break;
		e = exporter_table_at(t, t->index[j] - 1);
		home = hash_of(&e->addr, e->domain) & t->index_mask;
		/* The entry at j stays when its home lies cyclically in (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		t->index[i] = t->index[j];
		i = j;
	}
	t->index[i] = 0;
}

/* Room for `cap` entries and an index at most half full. */
static int reserve(struct exporter_table *t, size_t cap)
{
	size_t size = 2;
	unsigned char *entries;
	uint32_t *index;

	while (size < 2 * cap)
		size <<= 1;
	entries = realloc(t->entries, cap * t->stride);
	if (!entries)
		return -ENOMEM;
	t->entries = entries;
	t->cap = cap;
	if (size == t->index_mask + 1)
		return 0;
	index = calloc(size, sizeof(*index));
	if (!index)
		return -ENOMEM;
	free(t->index);
	t->index = index;
	t->index_mask = size - 1;
	for (size_t pos = 0; pos < t->count; pos++)
		index_put(t, pos);
	return 0;
}

int exporter_table_init(struct exporter_table *t, const struct exporter_table_config *cfg,
			struct error *err)
{
	size_t align = alignof(max_align_t);

	memset(t, 0, sizeof(*t));
	if (!cfg->max_entries || cfg->max_entries > MAX_ENTRIES)
		return error_set(err, -EINVAL, "exporter table: max_entries %zu not in 1..%lu",
				 cfg->max_entries, MAX_ENTRIES);
	t->cfg = *cfg;
	t->stride = sizeof(struct exporter_entry) + (cfg->value_size + align - 1) / align * align;
	if (reserve(t, cfg->prealloc || cfg->max_entries < MIN_CAP ? cfg->max_entries : MIN_CAP) <
	    0) {
		exporter_table_fini(t);
		return error_set(err, -ENOMEM, "exporter table: out of memory for %zu entries",
				 cfg->max_entries);
	}
	return 0;
}

void exporter_table_fini(struct exporter_table *t)
{
	free(t->entries);
	free(t->index);
	memset(t, 0, sizeof(*t));
}

struct exporter_entry *exporter_table_find(const struct exporter_table *t,
					   const struct in6_addr *addr, uint32_t domain)
{
	size_t i;

	if (!t->index)
		return NULL;
	for (i = hash_of(addr, domain) & t->index_mask; t->index[i]; i = (i + 1) & t->index_mask) {
		struct exporter_entry *e = exporter_table_at(t, t->index[i] - 1);

		if (key_is(e, addr, domain))
			return e;
	}
	return NULL;
}

/* The stalest of EVICT_SAMPLE entries spread over the table from a position
 * the newcomer's hash picks (Redis's approximated LRU): an eviction costs
 * the same whatever the bound, so a flood of new addresses stays cheap. */
static size_t stalest(const struct exporter_table *t, uint64_t hash)
{
	size_t n = t->count < EVICT_SAMPLE ? t->count : EVICT_SAMPLE;
	size_t step = t->count / n, pos = (hash >> 32) % t->count, best = pos;

	for (size_t k = 1; k < n; k++) {
		pos = (pos + step) % t->count;
		if (exporter_table_at(t, pos)->last_seen < exporter_table_at(t, best)->last_seen)
			best = pos;
	}
	return best;
}

struct exporter_entry *exporter_table_get(struct exporter_table *t, const struct in6_addr *addr,
					  uint32_t domain, int *created)
{
	struct exporter_entry *e = exporter_table_find(t, addr, domain);
	size_t pos;

	if (created)
		*created = 0;
	if (e)
		return e;
	if (t->count == t->cfg.max_entries) {
		if (!t->cfg.evict)
			return NULL;
		/* The newcomer takes the evicted entry's position: no other entry
		 * moves. */
		pos = stalest(t, hash_of(addr, domain));
		e = exporter_table_at(t, pos);
		if (t->cfg.on_evict)
			t->cfg.on_evict(t->cfg.ctx, e);
		index_delete(t, slot_of(t, pos));
	} else {
		if (t->count == t->cap) {
			size_t cap = t->cap * 2;

			if (cap > t->cfg.max_entries)
				cap = t->cfg.max_entries;
			if (reserve(t, cap) < 0)
				return NULL;
		}
		pos = t->count++;
		e = exporter_table_at(t, pos);
	}
	memset(e, 0, t->stride);
	e->addr = *addr;
	e->domain = domain;
	index_put(t, pos);
	if (created)
		*created = 1;
	return e;
}

void exporter_table_remove(struct exporter_table *t, struct exporter_entry *e)
{
	size_t pos = (size_t)((unsigned char *)e - t->entries) / t->stride, last = t->count - 1;

	index_delete(t, slot_of(t, pos));
	if (pos != last) {
		t->index[slot_of(t, last)] = (uint32_t)(pos + 1);
		memcpy(e, exporter_table_at(t, last), t->stride);
	}
	t->count--;
}

size_t exporter_table_expire(struct exporter_table *t, uint64_t before)
{
	size_t pos = 0, n = 0;

	while (pos < t->count) {
		struct exporter_entry *e = exporter_table_at(t, pos);

		if (e->last_seen >= before) {
			pos++;
			continue;
		}
		if (t->cfg.on_evict)
			t->cfg.on_evict(t->cfg.ctx, e);
		exporter_table_remove(t, e);
		n++;
	}
	return n;
}

void exporter_table_clear(struct exporter_table *t)
{
	if (t->index)
		memset(t->index, 0, (t->index_mask + 1) * sizeof(*t->index));
	t->count = 0;
}
