// SPDX-License-Identifier: AGPL-3.0-or-later
/* Interned strings: a chunked id -> string array readers walk without locks,
 * and a hash set (under a mutex) that finds the id of a string on intern. */
#include "strtab.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_BITS  14
#define CHUNK_SIZE  (1u << CHUNK_BITS)
#define MAX_CHUNKS  4096 /* 64M ids */
#define ARENA_BLOCK (64 * 1024)

/* A string is stored as its length then its bytes and a NUL, so that
 * strtab_get() gives both without strlen. */
struct str {
	uint32_t len;
	char text[];
};

struct arena_block {
	struct arena_block *next;
	size_t used;
	char data[ARENA_BLOCK];
};

struct strtab {
	/* id -> string; a chunk pointer is published with release after its
	 * entries are written, and never changes afterwards. */
	_Atomic(const struct str **) chunks[MAX_CHUNKS];
	_Atomic uint32_t count; /* ids handed out, including 0 */
	_Atomic size_t bytes;
	_Atomic uint64_t dropped;

	pthread_mutex_t lock; /* everything below */
	size_t max_bytes;
	uint32_t *set; /* open addressing over ids; 0 = empty slot */
	uint32_t set_mask;
	struct arena_block *blocks;
	struct str **big; /* strings too long for a block */
	size_t nbig;
};

/* "" with room for its NUL (a struct str literal would have none). */
static const struct {
	uint32_t len;
	char text[4];
} empty_storage = {0, ""};
#define empty_str (*(const struct str *)&empty_storage)

static uint64_t hash_bytes(const char *s, size_t len)
{
	/* FNV-1a: strings are short names; this is off the hot path. */
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

int strtab_new(size_t max_bytes, struct strtab **out, struct error *err)
{
	struct strtab *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		goto fail;
	t->max_bytes = max_bytes ? max_bytes : (size_t)256 << 20;
	t->set_mask = 1023;
	t->set = calloc(t->set_mask + 1, sizeof(*t->set));
	const struct str **chunk0 = calloc(CHUNK_SIZE, sizeof(*chunk0));
	if (!t->set || !chunk0) {
		free(chunk0);
		goto fail;
	}
	chunk0[0] = &empty_str;
	atomic_init(&t->chunks[0], chunk0);
	atomic_init(&t->count, 1);
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return 0;
fail:
	if (t)
		free(t->set);
	free(t);
	return error_set(err, -ENOMEM, "strtab: out of memory");
}

void strtab_free(struct strtab *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < MAX_CHUNKS; i++)
		free((void *)atomic_load_explicit(&t->chunks[i], memory_order_relaxed));
	while (t->blocks) {
		struct arena_block *b = t->blocks;
		t->blocks = b->next;
		free(b);
	}
	for (size_t i = 0; i < t->nbig; i++)
		free(t->big[i]);
	free(t->big);
	free(t->set);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static const struct str *entry(const struct strtab *t, uint32_t id)
{
	const struct str **chunk;

	if (id >> CHUNK_BITS >= MAX_CHUNKS)
		return NULL;
	chunk = atomic_load_explicit((_Atomic(const struct str **) *)&t->chunks[id >> CHUNK_BITS],
				     memory_order_acquire);
	return chunk ? chunk[id & (CHUNK_SIZE - 1)] : NULL;
}

const char *strtab_get(const struct strtab *t, uint32_t id, size_t *len)
{
	const struct str *s = id ? entry(t, id) : NULL;

	if (!s)
		s = &empty_str;
	if (len)
		*len = s->len;
	return s->text;
}

static struct str *store_string(struct strtab *t, const char *s, size_t len)
{
	size_t need = (sizeof(struct str) + len + 1 + 7) & ~(size_t)7;
	struct str *out;

	if (need > ARENA_BLOCK / 4) {
		struct str **big = realloc(t->big, (t->nbig + 1) * sizeof(*big));
		if (!big)
			return NULL;
		t->big = big;
		out = malloc(need);
		if (!out)
			return NULL;
		t->big[t->nbig++] = out;
	} else {
		if (!t->blocks || t->blocks->used + need > ARENA_BLOCK) {
			struct arena_block *b = malloc(sizeof(*b));
			if (!b)
				return NULL;
			b->next = t->blocks;
			b->used = 0;
			t->blocks = b;
		}
		out = (struct str *)(t->blocks->data + t->blocks->used);
		t->blocks->used += need;
	}
	out->len = (uint32_t)len;
	memcpy(out->text, s, len);
	out->text[len] = '\0';
	return out;
}

static int grow_set(struct strtab *t)
{
	uint32_t mask = t->set_mask * 2 + 1;
	uint32_t *set = calloc((size_t)mask + 1, sizeof(*set));

	if (!set)
		return -ENOMEM;
	for (uint32_t i = 0; i <= t->set_mask; i++) {
		uint32_t id = t->set[i];
		if (!id)
			continue;
		const struct str *s = entry(t, id);
		uint32_t j = (uint32_t)hash_bytes(s->text, s->len) & mask;
		while (set[j])
			j = (j + 1) & mask;
		set[j] = id;
	}
	free(t->set);
	t->set = set;
	t->set_mask = mask;
	return 0;
}

uint32_t strtab_intern(struct strtab *t, const char *s, size_t len)
{
	uint32_t id = 0, count;

	if (!s || len == 0)
		return 0;
	pthread_mutex_lock(&t->lock);
	uint32_t j = (uint32_t)hash_bytes(s, len) & t->set_mask;
	for (;; j = (j + 1) & t->set_mask) {
		uint32_t cand = t->set[j];
		if (!cand)
			break;
		const struct str *e = entry(t, cand);
		if (e->len == len && memcmp(e->text, s, len) == 0) {
			id = cand;
			goto out;
		}
	}
	count = atomic_load_explicit(&t->count, memory_order_relaxed);
	if (count >= (uint32_t)MAX_CHUNKS * CHUNK_SIZE ||
	    atomic_load_explicit(&t->bytes, memory_order_relaxed) + len > t->max_bytes)
		goto full;
	const struct str **chunk = (const struct str **)atomic_load_explicit(
	    &t->chunks[count >> CHUNK_BITS], memory_order_relaxed);
	if (!chunk) {
		chunk = calloc(CHUNK_SIZE, sizeof(*chunk));
		if (!chunk)
			goto full;
		atomic_store_explicit(&t->chunks[count >> CHUNK_BITS], chunk, memory_order_release);
	}
	struct str *copy = store_string(t, s, len);
	if (!copy)
		goto full;
	/* The entry is written before the id leaves this function; whoever
	 * hands the id on synchronises, so readers see the entry. */
	chunk[count & (CHUNK_SIZE - 1)] = copy;
	id = count;
	t->set[j] = id;
	atomic_store_explicit(&t->count, count + 1, memory_order_release);
	atomic_fetch_add_explicit(&t->bytes, len, memory_order_relaxed);
	if ((uint64_t)(count + 1) * 2 > t->set_mask)
		grow_set(t); /* on failure the set only gets fuller; probing still ends */
	goto out;
full:
	atomic_fetch_add_explicit(&t->dropped, 1, memory_order_relaxed);
out:
	pthread_mutex_unlock(&t->lock);
	return id;
}

uint32_t strtab_intern_cstr(struct strtab *t, const char *s)
{
	return s ? strtab_intern(t, s, strlen(s)) : 0;
}

uint32_t strtab_count(const struct strtab *t)
{
	return atomic_load_explicit(&t->count, memory_order_relaxed) - 1;
}

size_t strtab_bytes(const struct strtab *t)
{
	return atomic_load_explicit(&t->bytes, memory_order_relaxed);
}

uint64_t strtab_dropped(const struct strtab *t)
{
	return atomic_load_explicit(&t->dropped, memory_order_relaxed);
}
