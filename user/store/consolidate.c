// SPDX-License-Identifier: AGPL-3.0-or-later
/* The outlet's side of the consolidated tables: flows summed by minute and
 * dimension in memory, then written to flows_1m as one small, sorted Native
 * block (flows_5m, flows_1h and exporters are filled from flows_1m by
 * views). Why not materialized views on `flows`, as before schema step 7:
 * on ClickHouse 18.16 each view on `flows` cost the server 4.5-5 us of CPU
 * per flow (a GROUP BY over a 50k-row block that barely reduces it, then an
 * insert of ~0.75 rows per flow), three times over: ~80 % of the insert
 * path. Summing here over seconds instead of one block writes a few rows per
 * hundred flows, and the views on flows_1m work on those few rows.
 *
 * The key is the dimensions' values laid out big-endian in the order of
 * flows_1m's sorting key, so memcmp() sorts rows exactly as ClickHouse does:
 * ClickHouse then finds the block already sorted and skips its own sort. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* The key's bytes: 66 for the dimensions struct flow holds today. */
#define KEY_MAX 72

enum key_src {
	KEY_MINUTE, /* TimeReceived rounded down to the minute, DateTime */
	KEY_FIELD,  /* a decoded scalar of struct flow */
	KEY_NTH_AS, /* DstASPath[i], 0 past its end (as arrayElement answers) */
};

struct key_col {
	const char *name;
	const char *type;
	enum key_src src;
	size_t offset; /* in struct flow */
	unsigned width, pos, nth;
};

struct entry {
	uint8_t key[KEY_MAX];
	uint64_t bytes, packets;
	uint32_t slot;
};

/* The enrichment's dimensions (store_consolidator_set_strings): a flow's
 * whole struct flow_enrichment is interned in a table of tuples and its index
 * goes last in the key (4 bytes, where 66 + 4 fit KEY_MAX); the columns are
 * read back from the tuple when encoding. Rows then are not quite in
 * ClickHouse's order (InIfName is in its key): it sorts them itself. */
struct enrich_col {
	struct store_column def; /* from store_enrich_columns() */
	size_t offset;		 /* in struct flow_enrichment */
};

struct store_consolidator {
	struct key_col cols[64];
	size_t ncols;
	const struct strtab *strings; /* NULL: no enrichment dimensions */
	struct enrich_col ecols[STORE_ENRICH_COLUMNS];
	size_t necols;
	unsigned tuple_pos; /* where the tuple's index is in the key */
	struct flow_enrichment *tuples;
	uint32_t *tuple_slot; /* each tuple's slot in tslots */
	size_t ntuples, tcap;
	uint32_t *tslots;      /* 0 = empty, else tuple index + 1; mask as slots */
	size_t col_at[64 + 2]; /* scratch for encode: where each column's data starts */
	unsigned key_len;
	size_t max_rows;
	struct entry *entries;
	size_t nentries, cap;
	uint32_t *slots; /* 0 = empty, else entry index + 1 */
	uint32_t mask;
	/* scratch for encode: entries sorted (store_consolidator_sort), then
	 * regrouped by rounded time with that time */
	uint32_t *order, *bucket_order, *bucket;
	uint64_t flows; /* flows summed since the last clear */
};

static int cmp_u32(const void *a, const void *b);

static int add_col(struct store_consolidator *c, const char *name)
{
	struct key_col *k = &c->cols[c->ncols];
	const struct flow_field *f;

	if (!strcmp(name, "TimeReceived")) {
		*k = (struct key_col){
		    .name = name, .type = "DateTime", .src = KEY_MINUTE, .width = 4};
	} else if ((f = flow_field_find(name)) != NULL) {
		unsigned width;

		switch (f->kind) {
		case FLOW_FIELD_U8:
		case FLOW_FIELD_DIRECTION:
			width = 1;
			break;
		case FLOW_FIELD_U16:
			width = 2;
			break;
		case FLOW_FIELD_U32:
			width = 4;
			break;
		case FLOW_FIELD_U64:
			width = 8;
			break;
		case FLOW_FIELD_ADDR:
			width = 16;
			break;
		default:
			return -EINVAL; /* no array or MAC is a dimension */
		}
		*k = (struct key_col){.name = name,
				      .type = store_field_type(f),
				      .src = KEY_FIELD,
				      .offset = f->offset,
				      .width = width};
	} else {
		for (unsigned i = 0; i < 3; i++)
			if (!strcmp(name, store_dst_nth_as[i])) {
				*k = (struct key_col){.name = name,
						      .type = "UInt32",
						      .src = KEY_NTH_AS,
						      .nth = i,
						      .width = 4};
				break;
			}
		if (!k->name)
			return 0; /* an enrichment column: added by
				     store_consolidator_set_strings(), or left to its default */
	}
	k->pos = c->key_len;
	c->key_len += k->width;
	if (c->key_len > KEY_MAX || c->ncols + 1 >= sizeof(c->cols) / sizeof(c->cols[0]))
		return -E2BIG;
	c->ncols++;
	return 0;
}

int store_consolidator_new(size_t max_rows, struct store_consolidator **out, struct error *err)
{
	struct store_consolidator *c = calloc(1, sizeof(*c));
	size_t nslots = 16;
	int r = 0;

	*out = NULL;
	if (!c)
		return error_set(err, -ENOMEM, "store: out of memory for a consolidator");
	if (max_rows < 1)
		max_rows = 1;
	if (max_rows > (1u << 30))
		max_rows = 1u << 30;
	c->max_rows = max_rows;
	for (size_t i = 0; i < store_consolidated_dims_count && r == 0; i++)
		r = add_col(c, store_consolidated_dims[i]);
	for (unsigned i = 0; i < 3 && r == 0; i++)
		r = add_col(c, store_dst_nth_as[i]);
	if (r == 0 && c->key_len < 4 + 16)
		r = -EINVAL; /* the time and the exporter's address: sort_keys() needs 20 bytes */
	if (r < 0) {
		error_set(err, r, "store: cannot build the key of flows_1m: %s", strerror(-r));
		goto fail;
	}
	while (nslots < 2 * max_rows)
		nslots *= 2;
	c->mask = (uint32_t)(nslots - 1);
	c->slots = calloc(nslots, sizeof(*c->slots));
	if (!c->slots) {
		r = error_set(err, -ENOMEM, "store: out of memory for a consolidator of %zu rows",
			      max_rows);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	store_consolidator_free(c);
	return r;
}

void store_consolidator_free(struct store_consolidator *c)
{
	if (!c)
		return;
	free(c->entries);
	free(c->slots);
	free(c->tuples);
	free(c->tuple_slot);
	free(c->tslots);
	free(c->order);
	free(c->bucket_order);
	free(c->bucket);
	free(c);
}

int store_consolidator_quarters(const struct store_consolidator *c, uint32_t **out, size_t *n)
{
	uint32_t *q = malloc((c->nentries ? c->nentries : 1) * sizeof(*q));
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (!q)
		return -ENOMEM;
	for (size_t i = 0; i < c->nentries; i++) {
		uint32_t v = (uint32_t)be_uint_get(c->entries[i].key, 4) / 900;
		if (!k || q[k - 1] != v)
			q[k++] = v;
	}
	qsort(q, k, sizeof(*q), cmp_u32);
	*n = 0;
	for (size_t i = 0; i < k; i++)
		if (!*n || q[*n - 1] != q[i])
			q[(*n)++] = q[i];
	*out = q;
	return 0;
}

size_t store_consolidator_rows(const struct store_consolidator *c)
{
	return c->nentries;
}

uint64_t store_consolidator_flows(const struct store_consolidator *c)
{
	return c->flows;
}

int store_consolidator_room(const struct store_consolidator *c, size_t n)
{
	return c->nentries + n <= c->max_rows;
}

/* Four lanes of 8-byte words, mixed at the end: one chain of multiplies
 * over the tuple's 17 words waited ~17 multiplies a flow, the lanes a
 * quarter of that. */
static uint32_t tuple_hash(const struct flow_enrichment *t)
{
	uint64_t h[4] = {0x9e3779b97f4a7c15ULL, 0xc2b2ae3d27d4eb4fULL, 0x165667b19e3779f9ULL,
			 0x27d4eb2f165667c5ULL};
	const uint8_t *p = (const uint8_t *)t;
	size_t i = 0;

	for (; i + 32 <= sizeof(*t); i += 32)
		for (unsigned l = 0; l < 4; l++) {
			uint64_t w;

			memcpy(&w, p + i + 8 * l, 8);
			h[l] = (h[l] ^ w) * 0xbf58476d1ce4e5b9ULL;
			h[l] ^= h[l] >> 31;
		}
	for (unsigned l = 0; i + 8 <= sizeof(*t); i += 8, l++) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		h[l] = (h[l] ^ w) * 0xbf58476d1ce4e5b9ULL;
		h[l] ^= h[l] >> 31;
	}
	for (; i < sizeof(*t); i++)
		h[0] = (h[0] ^ p[i]) * 0x100000001b3ULL;
	h[0] ^= (h[1] * 0x94d049bb133111ebULL) ^ (h[2] * 0xbf58476d1ce4e5b9ULL) ^
		(h[3] * 0x9e3779b97f4a7c15ULL);
	h[0] ^= h[0] >> 29;
	h[0] *= 0x94d049bb133111ebULL;
	return (uint32_t)(h[0] ^ h[0] >> 32);
}

/* 1 when the two tuples are the same: 17 words compared without a branch
 * or a call (libc's memcmp() per flow, on the hit that is the common
 * case, was a call and its size dispatch). */
static inline int tuple_equal(const struct flow_enrichment *a, const struct flow_enrichment *b)
{
	const uint8_t *p = (const uint8_t *)a, *q = (const uint8_t *)b;
	uint64_t diff = 0;

	_Static_assert(sizeof(*a) % 8 == 0, "a tuple is whole words");
	for (size_t i = 0; i < sizeof(*a); i += 8) {
		uint64_t x, y;

		memcpy(&x, p + i, 8);
		memcpy(&y, q + i, 8);
		diff |= x ^ y;
	}
	return !diff;
}

/* The index of f's enrichment (whose tuple_hash() is `hash`) among the
 * tuples, added when new (room for one per entry was made by
 * store_consolidator_add()). */
static uint32_t tuple_index(struct store_consolidator *c, const struct flow_enrichment *t,
			    uint32_t hash)
{
	for (uint32_t s = hash & c->mask;; s = (s + 1) & c->mask) {
		if (!c->tslots[s]) {
			c->tuples[c->ntuples] = *t;
			c->tuple_slot[c->ntuples] = s;
			c->tslots[s] = (uint32_t)++c->ntuples;
			return (uint32_t)c->ntuples - 1;
		}
		if (tuple_equal(&c->tuples[c->tslots[s] - 1], t))
			return c->tslots[s] - 1;
	}
}

static void make_key(struct store_consolidator *c, const struct flow *f, uint8_t *key,
		     uint32_t thash, uint32_t *tuple)
{
	if (c->strings) {
		*tuple = tuple_index(c, &f->enriched, thash);
		be_uint_put(key + c->tuple_pos, *tuple, 4);
	}
	for (size_t i = 0; i < c->ncols; i++) {
		const struct key_col *k = &c->cols[i];
		const uint8_t *p = (const uint8_t *)f + k->offset;
		uint64_t v = 0;

		switch (k->src) {
		case KEY_MINUTE: {
			uint64_t t = f->time_received > UINT32_MAX ? UINT32_MAX : f->time_received;
			v = t - t % 60;
			break;
		}
		case KEY_NTH_AS: {
			unsigned n = f->dst_as_path_count < FLOW_MAX_AS_PATH ? f->dst_as_path_count
									     : FLOW_MAX_AS_PATH;
			v = k->nth < n ? f->dst_as_path[k->nth] : 0;
			break;
		}
		case KEY_FIELD:
			if (k->width == 16) {
				memcpy(key + k->pos, p, 16);
				continue;
			}
			if (k->width == 1)
				v = *p;
			else if (k->width == 2)
				v = *(const uint16_t *)(const void *)p;
			else if (k->width == 4)
				v = *(const uint32_t *)(const void *)p;
			else
				v = *(const uint64_t *)(const void *)p;
			break;
		}
		be_uint_put(key + k->pos, v, k->width);
	}
}

static uint32_t key_hash(const uint8_t *key, unsigned len)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len;

	for (unsigned i = 0; i < len; i += 8) {
		uint64_t w = 0;

		memcpy(&w, key + i, len - i < 8 ? len - i : 8);
		h ^= w;
		h *= 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
	}
	h *= 0x94d049bb133111ebULL;
	return (uint32_t)(h ^ h >> 32);
}

/* One flow into its entry, the key made and its slot prefetched already. */
static void add_one(struct store_consolidator *c, const struct flow *f, const uint8_t *key,
		    uint32_t hash)
{
	struct entry *e;

	for (uint32_t s = hash & c->mask;; s = (s + 1) & c->mask) {
		if (!c->slots[s]) {
			e = &c->entries[c->nentries];
			memcpy(e->key, key, c->key_len);
			e->bytes = 0;
			e->packets = 0;
			e->slot = s;
			c->slots[s] = (uint32_t)++c->nentries;
			break;
		}
		e = &c->entries[c->slots[s] - 1];
		if (!memcmp(e->key, key, c->key_len))
			break;
	}
	e->bytes += f->bytes;
	e->packets += f->packets;
}

/* Flows are taken ADD_GROUP at a time: keys and hashes first, each slot
 * prefetched, then the lookups. The slots (8 MB at 1M rows) and entries are
 * far bigger than the caches, and one miss per flow waited for in turn was
 * ~70 % of this function's time (perf, 600k flows of distinct keys). */
#define ADD_GROUP 16

int store_consolidator_add(struct store_consolidator *c, const struct flow *flows, size_t n)
{
	return store_consolidator_add_tuples(c, flows, n, NULL);
}

const struct flow_enrichment *store_consolidator_tuples(const struct store_consolidator *c)
{
	return c->tuples;
}

int store_consolidator_add_tuples(struct store_consolidator *c, const struct flow *flows, size_t n,
				  uint32_t *tuples)
{
	uint8_t keys[ADD_GROUP][KEY_MAX];
	uint32_t hashes[ADD_GROUP], thashes[ADD_GROUP] = {0}, tuple = 0;

	if (!store_consolidator_room(c, n))
		return -ENOBUFS;
	if (c->nentries + n > c->cap) {
		size_t cap = c->cap ? c->cap : 1024;
		struct entry *e;

		while (cap < c->nentries + n)
			cap *= 2;
		if (cap > c->max_rows)
			cap = c->max_rows;
		e = realloc(c->entries, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		c->entries = e;
		c->cap = cap;
	}
	if (c->strings && c->ntuples + n > c->tcap) {
		size_t cap = c->cap > c->ntuples + n ? c->cap : c->ntuples + n;
		struct flow_enrichment *t = realloc(c->tuples, cap * sizeof(*t));
		uint32_t *ts;

		if (!t)
			return -ENOMEM;
		c->tuples = t;
		ts = realloc(c->tuple_slot, cap * sizeof(*ts));
		if (!ts)
			return -ENOMEM;
		c->tuple_slot = ts;
		c->tcap = cap;
	}
	for (size_t at = 0; at < n; at += ADD_GROUP) {
		size_t group = n - at < ADD_GROUP ? n - at : ADD_GROUP;

		/* The enrichment tuples as the entries below: their slots
		 * prefetched, then the tuples those hold, then the lookups. Enriched
		 * flows carry nearly as many distinct tuples as keys (interfaces
		 * and networks vary per flow), in tables as far out of the caches,
		 * and these two misses waited for in turn per flow cost more than
		 * the rest of this function (perf, weir bench enrich --pipeline). */
		if (c->strings) {
			for (size_t i = 0; i < group; i++) {
				thashes[i] = tuple_hash(&flows[at + i].enriched);
				__builtin_prefetch(&c->tslots[thashes[i] & c->mask]);
			}
			for (size_t i = 0; i < group; i++) {
				uint32_t t = c->tslots[thashes[i] & c->mask];

				if (t) {
					const char *p = (const char *)&c->tuples[t - 1];

					__builtin_prefetch(p);
					__builtin_prefetch(p + sizeof(struct flow_enrichment) - 1);
				}
			}
		}
		for (size_t i = 0; i < group; i++) {
			memset(keys[i], 0, c->key_len);
			make_key(c, &flows[at + i], keys[i], thashes[i],
				 tuples ? &tuples[at + i] : &tuple);
			hashes[i] = key_hash(keys[i], c->key_len);
			__builtin_prefetch(&c->slots[hashes[i] & c->mask]);
		}
		for (size_t i = 0; i < group; i++)
			add_one(c, &flows[at + i], keys[i], hashes[i]);
	}
	c->flows += n;
	return 0;
}

void store_consolidator_clear(struct store_consolidator *c)
{
	for (size_t i = 0; i < c->nentries; i++)
		c->slots[c->entries[i].slot] = 0;
	for (size_t i = 0; i < c->ntuples; i++)
		c->tslots[c->tuple_slot[i]] = 0;
	c->ntuples = 0;
	c->nentries = 0;
	c->flows = 0;
}

char *store_consolidator_columns(const struct store_consolidator *c)
{
	const char *names[sizeof(c->cols) / sizeof(c->cols[0]) + 2 + STORE_ENRICH_COLUMNS];

	for (size_t i = 0; i < c->ncols; i++)
		names[i] = c->cols[i].name;
	names[c->ncols] = "Bytes";
	names[c->ncols + 1] = "Packets";
	for (size_t i = 0; i < c->necols; i++)
		names[c->ncols + 2 + i] = c->ecols[i].def.name;
	return store_column_list(names, c->ncols + 2 + c->necols);
}

/* The order: by the dimensions after the time, then by the time (the
 * key's first 4 bytes): then each resolution only has to split the rows by
 * their rounded time, keeping this order within each bucket. The key is
 * big-endian, so memcmp() order: store_rows_order() takes it as chunks of
 * FixedString(16), which it compares as memcmp() does, over the entries
 * themselves (a stride). Chunks of key[4..key_len), the last overlapping
 * the one before (when it is reached, those bytes are equal already), then
 * key[0..16): its bytes after the time are equal by then. Never a byte past
 * key_len (those are not set). Returns how many chunks. */
#define SORT_KEYS ((KEY_MAX - 4 + 15) / 16 + 1)

static size_t sort_keys(const struct store_consolidator *c, struct store_sort_key *keys)
{
	const uint8_t *key = c->entries[0].key;
	size_t n = 0;

	for (unsigned at = 4; at < c->key_len; at += 16)
		keys[n++] = (struct store_sort_key){
		    .data = key + (at + 16 <= c->key_len ? at : c->key_len - 16),
		    .width = 16,
		    .stride = sizeof(struct entry)};
	keys[n++] =
	    (struct store_sort_key){.data = key, .width = 16, .stride = sizeof(struct entry)};
	return n;
}

int store_consolidator_sort(struct store_consolidator *c)
{
	struct store_sort_key keys[SORT_KEYS];
	size_t n = c->nentries;
	uint32_t *perm = NULL;
	int r = 0;

	free(c->order);
	free(c->bucket_order);
	free(c->bucket);
	c->order = malloc((n ? n : 1) * sizeof(*c->order));
	c->bucket_order = malloc((n ? n : 1) * sizeof(*c->bucket_order));
	c->bucket = malloc((n ? n : 1) * sizeof(*c->bucket));
	if (!c->order || !c->bucket_order || !c->bucket)
		return -ENOMEM;
	if (n > 1)
		r = store_rows_order(keys, sort_keys(c, keys), n, &perm);
	if (r < 0)
		return r;
	if (r > 0) { /* perm is the order */
		free(c->order);
		c->order = perm;
	} else { /* in order already */
		for (size_t i = 0; i < n; i++)
			c->order[i] = (uint32_t)i;
	}
	/* Then the entries themselves in that order (one pass of random reads),
	 * so that every encode after reads them sequentially; the hash slots
	 * follow them (more flows may be summed if the write fails). */
	if (n) {
		struct entry *sorted = malloc(n * sizeof(*sorted));

		if (!sorted)
			return -ENOMEM;
		c->cap = n;
		for (size_t i = 0; i < n; i++) {
			sorted[i] = c->entries[c->order[i]];
			c->slots[sorted[i].slot] = (uint32_t)i + 1;
			c->order[i] = (uint32_t)i;
		}
		free(c->entries);
		c->entries = sorted;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Fills c->bucket_order with the sorted entries regrouped by rounded time
 * (a stable counting sort over the few distinct buckets) and c->bucket[i]
 * with the rounded time of entry bucket_order[i]. */
static int group_by_bucket(struct store_consolidator *c, store_round_fn round, void *ctx)
{
	size_t n = c->nentries, nb = 0;
	uint32_t *buckets = NULL, *count = NULL, *at = NULL, *rounded = NULL;
	int r = -ENOMEM;

	rounded = malloc((n ? n : 1) * sizeof(*rounded));
	buckets = malloc((n ? n : 1) * sizeof(*buckets));
	if (!rounded || !buckets)
		goto out;
	for (size_t i = 0; i < n; i++) {
		uint32_t t = (uint32_t)be_uint_get(c->entries[c->order[i]].key, 4);

		rounded[i] = round(ctx, t);
		if (!nb || buckets[nb - 1] != rounded[i])
			buckets[nb++] = rounded[i];
	}
	qsort(buckets, nb, sizeof(*buckets), cmp_u32);
	{
		size_t k = 0;
		for (size_t i = 0; i < nb; i++)
			if (!k || buckets[k - 1] != buckets[i])
				buckets[k++] = buckets[i];
		nb = k;
	}
	count = calloc(nb + 1, sizeof(*count));
	at = malloc((n ? n : 1) * sizeof(*at));
	if (!count || !at)
		goto out;
	for (size_t i = 0; i < n; i++) {
		uint32_t *p = bsearch(&rounded[i], buckets, nb, sizeof(*buckets), cmp_u32);
		at[i] = (uint32_t)(p - buckets);
		count[at[i] + 1]++;
	}
	for (size_t b = 0; b < nb; b++)
		count[b + 1] += count[b];
	for (size_t i = 0; i < n; i++) {
		uint32_t dst = count[at[i]]++;
		c->bucket_order[dst] = c->order[i];
		c->bucket[dst] = rounded[i];
	}
	r = 0;
out:
	free(rounded);
	free(buckets);
	free(count);
	free(at);
	return r;
}

static int put_header(struct buf *b, const char *name, const char *type)
{
	int r = store_native_put_string(b, name);

	return r < 0 ? r : store_native_put_string(b, type);
}

/* One value of an enrichment column, as Native has it. */
static int put_enriched(struct buf *b, const struct strtab *strings, const struct store_column *d,
			const uint8_t *p)
{
	uint32_t id;
	size_t len = 0;
	const char *s;
	int r;

	if (d->enc != STORE_ENC_STRID)
		return buf_append(b, p, d->width); /* (little-endian host, as Native) */
	memcpy(&id, p, 4);
	s = id ? strtab_get(strings, id, &len) : NULL;
	if (!s)
		len = 0;
	r = store_native_put_varint(b, len);
	return r < 0 || !len ? r : buf_append(b, s, len);
}

int store_consolidator_set_strings(struct store_consolidator *c, const struct strtab *strings)
{
	struct store_column all[STORE_ENRICH_COLUMNS];
	size_t n = store_enrich_columns(strings, all);

	if (c->strings || c->nentries)
		return -EBUSY;
	if (c->key_len + 4 > KEY_MAX)
		return -E2BIG;
	c->tslots = calloc((size_t)c->mask + 1, sizeof(*c->tslots));
	if (!c->tslots)
		return -ENOMEM;
	/* flows_1m's enrichment dimensions, in its order */
	for (size_t i = 0; i < store_consolidated_dims_count; i++)
		for (size_t k = 0; k < n; k++)
			if (!strcmp(all[k].name, store_consolidated_dims[i]))
				c->ecols[c->necols++] = (struct enrich_col){
				    all[k], all[k].offset - offsetof(struct flow, enriched)};
	c->tuple_pos = c->key_len;
	c->key_len += 4;
	c->strings = strings;
	return 0;
}

int store_consolidator_encode(struct store_consolidator *c, store_round_fn round, void *ctx,
			      struct buf *body, size_t *rows)
{
	size_t n = c->nentries, m = 0;
	uint32_t *first = NULL; /* first entry of each output row, in bucket_order */
	int r;

	body->len = 0;
	*rows = 0;
	r = group_by_bucket(c, round, ctx);
	if (r < 0)
		return r;
	first = malloc((n + 1) * sizeof(*first));
	if (!first)
		return -ENOMEM;
	/* Equal rounded time and dimensions are adjacent: one row each. */
	for (size_t i = 0; i < n; i++) {
		const uint8_t *k = c->entries[c->bucket_order[i]].key;

		if (i && c->bucket[i] == c->bucket[i - 1] &&
		    !memcmp(k + 4, c->entries[c->bucket_order[i - 1]].key + 4, c->key_len - 4))
			continue;
		first[m++] = (uint32_t)i;
	}
	first[m] = (uint32_t)n;
	/* Headers and room for every column first, then one pass over the
	 * rows writing each into every column: each entry is read once, in
	 * sorted order (random in memory), rather than once per column. */
	r |= store_native_put_varint(body, c->ncols + 2 + c->necols);
	r |= store_native_put_varint(body, m);
	for (size_t i = 0; i < c->ncols + 2 && r == 0; i++) {
		unsigned width = i < c->ncols ? c->cols[i].width : 8;

		r |= i < c->ncols ? put_header(body, c->cols[i].name, c->cols[i].type)
				  : put_header(body, i == c->ncols ? "Bytes" : "Packets", "UInt64");
		if (r < 0 || buf_reserve(body, m * width) < 0) {
			r = -ENOMEM;
			break;
		}
		c->col_at[i] = body->len;
		body->len += m * width;
	}
	for (size_t j = 0; j < m && r == 0; j++) {
		const uint8_t *key = c->entries[c->bucket_order[first[j]]].key;
		uint64_t sums[2] = {0, 0};

		for (size_t i = 0; i < c->ncols; i++) {
			const struct key_col *k = &c->cols[i];
			char *out = body->data + c->col_at[i] + j * k->width;
			uint64_t v;

			if (k->width == 16) {
				memcpy(out, key + k->pos, 16);
				continue;
			}
			v = k->src == KEY_MINUTE ? c->bucket[first[j]]
						 : be_uint_get(key + k->pos, k->width);
			memcpy(out, &v, k->width); /* little-endian host, as Native */
		}
		for (uint32_t e = first[j]; e < first[j + 1]; e++) {
			const struct entry *en = &c->entries[c->bucket_order[e]];
			sums[0] += en->bytes;
			sums[1] += en->packets;
		}
		memcpy(body->data + c->col_at[c->ncols] + 8 * j, &sums[0], 8);
		memcpy(body->data + c->col_at[c->ncols + 1] + 8 * j, &sums[1], 8);
	}
	/* The enrichment's columns last, from each row's tuple (strings: not
	 * of a known width, so column after column). */
	for (size_t i = 0; i < c->necols && r == 0; i++) {
		r |= put_header(body, c->ecols[i].def.name, c->ecols[i].def.type);
		for (size_t j = 0; j < m && r == 0; j++) {
			const uint8_t *key = c->entries[c->bucket_order[first[j]]].key;
			const struct flow_enrichment *t =
			    &c->tuples[be_uint_get(key + c->tuple_pos, 4)];

			r |= put_enriched(body, c->strings, &c->ecols[i].def,
					  (const uint8_t *)t + c->ecols[i].offset);
		}
	}
	free(first);
	*rows = m;
	return r < 0 ? -ENOMEM : 0;
}

/* ---- exporters: each exporter's interfaces, seen in the summed flows ---- */

struct sighting {
	uint8_t exporter[16];
	uint32_t if_index;
	uint32_t last;	/* latest minute seen */
	uint32_t tuple; /* with enrichment: the tuple of that sighting */
	uint8_t dir;	/* 0 in, 1 out */
	uint8_t named;	/* the interface has a name there */
};

/* The names an exporters row takes from a tuple (exporters' If* columns
 * from the In/Out ones of flows). */
static const char *const exporter_names[] = {"ExporterName", "ExporterGroup",  "ExporterRole",
					     "ExporterSite", "ExporterRegion", "ExporterTenant"};
static const char *const if_names[][3] = {
    {"IfName", "InIfName", "OutIfName"},
    {"IfDescription", "InIfDescription", "OutIfDescription"},
    {"IfSpeed", "InIfSpeed", "OutIfSpeed"},
    {"IfConnectivity", "InIfConnectivity", "OutIfConnectivity"},
    {"IfProvider", "InIfProvider", "OutIfProvider"},
    {"IfBoundary", "InIfBoundary", "OutIfBoundary"},
};

const char store_exporters_enriched_columns[] =
    "TimeReceived, ExporterAddress, IfIndex, ExporterName, ExporterGroup, ExporterRole, "
    "ExporterSite, ExporterRegion, ExporterTenant, IfName, IfDescription, IfSpeed, "
    "IfConnectivity, IfProvider, IfBoundary";

static const struct enrich_col *find_ecol(const struct store_consolidator *c, const char *name)
{
	for (size_t i = 0; i < c->necols; i++)
		if (!strcmp(c->ecols[i].def.name, name))
			return &c->ecols[i];
	return NULL;
}

/* The exporters' enrichment columns (store_exporters_enriched_columns past
 * IfIndex) of rows s[0..m). */
static int put_exporters_enriched(const struct store_consolidator *c, struct buf *body,
				  const struct sighting *s, size_t m)
{
	int r = 0;

	for (size_t k = 0; k < 12 && r == 0; k++) {
		const char *name = k < 6 ? exporter_names[k] : if_names[k - 6][0];
		const struct enrich_col *cols[2] = {
		    find_ecol(c, k < 6 ? exporter_names[k] : if_names[k - 6][1]),
		    find_ecol(c, k < 6 ? exporter_names[k] : if_names[k - 6][2])};

		if (!cols[0] || !cols[1])
			return -EINVAL;
		r |= put_header(body, name, cols[0]->def.type);
		for (size_t i = 0; i < m && r == 0; i++) {
			const struct enrich_col *e = cols[s[i].dir];

			r |= put_enriched(body, c->strings, &e->def,
					  (const uint8_t *)&c->tuples[s[i].tuple] + e->offset);
		}
	}
	return r;
}

static int cmp_sighting(const void *a, const void *b)
{
	const struct sighting *x = a, *y = b;
	int r = memcmp(x->exporter, y->exporter, 16);

	return r ? r : x->if_index < y->if_index ? -1 : x->if_index > y->if_index;
}

int store_consolidator_encode_exporters(struct store_consolidator *c, struct buf *body,
					size_t *rows)
{
	const struct key_col *exp = NULL, *ifs[2] = {NULL, NULL};
	struct sighting *s;
	size_t n = 0, m = 0;
	int r = 0;

	body->len = 0;
	*rows = 0;
	for (size_t i = 0; i < c->ncols; i++) {
		if (!strcmp(c->cols[i].name, "ExporterAddress"))
			exp = &c->cols[i];
		else if (!strcmp(c->cols[i].name, "InIf"))
			ifs[0] = &c->cols[i];
		else if (!strcmp(c->cols[i].name, "OutIf"))
			ifs[1] = &c->cols[i];
	}
	if (!exp || !ifs[0] || !ifs[1])
		return -EINVAL;
	s = malloc((2 * c->nentries + 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < c->nentries; i++)
		for (unsigned d = 0; d < 2; d++) {
			const uint8_t *k = c->entries[i].key;
			memcpy(s[n].exporter, k + exp->pos, 16);
			s[n].if_index = (uint32_t)be_uint_get(k + ifs[d]->pos, 4);
			s[n].last = (uint32_t)be_uint_get(k, 4);
			s[n].dir = (uint8_t)d;
			s[n].tuple = c->strings ? (uint32_t)be_uint_get(k + c->tuple_pos, 4) : 0;
			s[n].named = c->strings && (d ? c->tuples[s[n].tuple].out_if.name
						      : c->tuples[s[n].tuple].in_if.name);
			n++;
		}
	qsort(s, n, sizeof(*s), cmp_sighting);
	for (size_t i = 0; i < n; i++) {
		if (m && !cmp_sighting(&s[m - 1], &s[i])) {
			uint32_t last = s[i].last > s[m - 1].last ? s[i].last : s[m - 1].last;

			/* the names of the latest sighting that has some */
			if (s[i].named > s[m - 1].named ||
			    (s[i].named == s[m - 1].named && s[i].last > s[m - 1].last))
				s[m - 1] = s[i];
			s[m - 1].last = last;
			continue;
		}
		s[m++] = s[i];
	}
	r |= store_native_put_varint(body, c->strings ? 15 : 3);
	r |= store_native_put_varint(body, m);
	r |= put_header(body, "TimeReceived", "DateTime");
	for (size_t i = 0; i < m && r == 0; i++)
		r |= buf_append(body, &s[i].last, 4);
	r |= put_header(body, "ExporterAddress", "FixedString(16)");
	for (size_t i = 0; i < m && r == 0; i++)
		r |= buf_append(body, s[i].exporter, 16);
	r |= put_header(body, "IfIndex", "UInt32");
	for (size_t i = 0; i < m && r == 0; i++)
		r |= buf_append(body, &s[i].if_index, 4);
	if (c->strings && r == 0)
		r = put_exporters_enriched(c, body, s, m);
	free(s);
	*rows = m;
	return r == -EINVAL ? r : r < 0 ? -ENOMEM : 0;
}
