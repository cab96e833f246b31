/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* A bounded table of per-exporter state, keyed by exporter address (and an
 * optional 32-bit second part such as an observation domain), with a value
 * of the caller's type in each entry: counters per exporter, token buckets,
 * metric series. Open addressing over a dense array of entries. */
#ifndef WEIR_COMMON_EXPORTER_TABLE_H
#define WEIR_COMMON_EXPORTER_TABLE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "container_of.h"
#include "error.h"

/* One exporter. `addr` and `domain` are the key (read-only). `last_seen`
 * belongs to the caller, in any unit it likes (0 for a new entry): the table
 * only compares it, to pick which entry to evict or expire, so a caller that
 * evicts or expires keeps it up to date. `value` is the caller's value_size
 * bytes, zeroed for a new entry, aligned for any type. */
struct exporter_entry {
	struct in6_addr addr;
	uint32_t domain;
	uint64_t last_seen;
	_Alignas(max_align_t) unsigned char value[];
};

/* The entry whose value is at `value` (a pointer the caller kept). */
static inline struct exporter_entry *exporter_entry_of(void *value)
{
	return container_of(value, struct exporter_entry, value);
}

struct exporter_table_config {
	size_t value_size;  /* bytes of the caller's value in each entry; 0 is fine */
	size_t max_entries; /* the bound: at most this many entries at once (1 to 2^31) */
	/* When a new exporter comes and the table is full: 0, it is refused
	 * (exporter_table_get() returns NULL); 1, it takes the place of the
	 * stalest (smallest last_seen) of 8 entries the table samples (of all
	 * entries when max_entries <= 8): constant time, close to LRU. */
	int evict;
	/* 1: init allocates room for max_entries, so exporter_table_get() never
	 * allocates (data paths); 0: the table grows as entries come. */
	int prealloc;
	/* Called with an entry about to be evicted or expired, so the caller can
	 * release what its value holds; NULL for none. Not called by
	 * exporter_table_remove(), _clear() or _fini(). */
	void (*on_evict)(void *ctx, struct exporter_entry *e);
	void *ctx;
};

/* Caller-owned storage; the fields are the table's. One thread at a time:
 * the caller locks when several threads share a table. */
struct exporter_table {
	struct exporter_table_config cfg;
	size_t stride;		/* bytes from one entry to the next */
	unsigned char *entries; /* `count` entries, `stride` apart */
	size_t count, cap;
	uint32_t *index; /* entry position + 1, 0 = empty; at most half full */
	size_t index_mask;
};

/* Returns 0, or -EINVAL (max_entries out of range) or -ENOMEM with `err`
 * filled (may be NULL). On failure `t` needs no _fini, though it accepts
 * one. */
int exporter_table_init(struct exporter_table *t, const struct exporter_table_config *cfg,
			struct error *err);
/* Frees the entries (no on_evict). A zeroed table is fine. */
void exporter_table_fini(struct exporter_table *t);

/* The entry of (addr, domain), or NULL. */
struct exporter_entry *exporter_table_find(const struct exporter_table *t,
					   const struct in6_addr *addr, uint32_t domain);

/* The entry of (addr, domain), added when absent (value zeroed, last_seen 0;
 * *created, when not NULL, says which). NULL when the table is full and does
 * not evict, or on allocation failure.
 *
 * Entry pointers (from any function here) stay valid until the next call
 * that adds or removes an entry: _get() adding one, _remove(), _expire(),
 * _clear(). */
struct exporter_entry *exporter_table_get(struct exporter_table *t, const struct in6_addr *addr,
					  uint32_t domain, int *created);

/* Removes `e`, an entry of `t`. The last entry moves into its position:
 * when walking with exporter_table_at(), look at position i again. */
void exporter_table_remove(struct exporter_table *t, struct exporter_entry *e);

/* Removes every entry with last_seen < `before`, each after on_evict.
 * Returns how many went. */
size_t exporter_table_expire(struct exporter_table *t, uint64_t before);

/* Removes every entry (no on_evict); memory is kept. */
void exporter_table_clear(struct exporter_table *t);

/* Walking: positions 0 .. count - 1, in the order entries were added until
 * an entry is removed or evicted. */
static inline size_t exporter_table_count(const struct exporter_table *t)
{
	return t->count;
}
static inline struct exporter_entry *exporter_table_at(const struct exporter_table *t, size_t i)
{
	return (struct exporter_entry *)(t->entries + i * t->stride);
}

#endif
