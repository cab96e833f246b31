// SPDX-License-Identifier: AGPL-3.0-or-later
/* The exporter table: keys, the bound, eviction of the stalest, removal,
 * expiry, growth, and a random walk checked against a plain array. */
#include <errno.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/addr.h"
#include "common/exporter_table.h"
#include "common/rng.h"
#include "test.h"

struct value {
	uint64_t datagrams;
	char name[24];
};

static struct in6_addr v4(uint32_t a)
{
	struct in6_addr x;

	addr_from_ipv4(&x, a);
	return x;
}

static void init(struct exporter_table *t, size_t max, int evict)
{
	struct exporter_table_config cfg = {
	    .value_size = sizeof(struct value), .max_entries = max, .evict = evict};

	REQUIRE_EQ(exporter_table_init(t, &cfg, NULL), 0);
}

TEST(exporter_table_get_adds_once_and_find_finds)
{
	struct exporter_table t;
	struct in6_addr a = v4(0xc0000201), b = v4(0xc0000202);
	struct exporter_entry *e, *f;
	struct value *v;
	int created = -1;

	init(&t, 8, 0);
	CHECK(exporter_table_find(&t, &a, 0) == NULL);
	e = exporter_table_get(&t, &a, 0, &created);
	REQUIRE(e);
	CHECK_EQ(created, 1);
	CHECK_MEM(&e->addr, &a, sizeof(a));
	CHECK_EQ(e->domain, 0);
	CHECK_EQ(e->last_seen, 0);
	v = (struct value *)e->value;
	CHECK_EQ(v->datagrams, 0);
	v->datagrams = 7;
	CHECK(exporter_table_get(&t, &a, 0, &created) == e);
	CHECK_EQ(created, 0);
	CHECK(exporter_table_find(&t, &a, 0) == e);
	/* The domain is part of the key. */
	f = exporter_table_get(&t, &a, 256, &created);
	REQUIRE(f && f != e);
	CHECK_EQ(created, 1);
	CHECK_EQ(((struct value *)f->value)->datagrams, 0);
	CHECK(exporter_table_find(&t, &b, 0) == NULL);
	CHECK(exporter_table_get(&t, &b, 0, NULL) != NULL);
	CHECK_EQ(exporter_table_count(&t), 3);
	/* Walked in the order they came. */
	CHECK(exporter_table_at(&t, 0) == exporter_table_find(&t, &a, 0));
	CHECK_EQ(exporter_table_at(&t, 1)->domain, 256);
	CHECK_MEM(&exporter_table_at(&t, 2)->addr, &b, sizeof(b));
	CHECK_EQ(((struct value *)exporter_table_find(&t, &a, 0)->value)->datagrams, 7);
	exporter_table_fini(&t);
}

TEST(exporter_table_value_is_aligned_and_maps_back)
{
	struct exporter_table t;
	struct exporter_table_config cfg = {.value_size = 3, .max_entries = 40};

	REQUIRE_EQ(exporter_table_init(&t, &cfg, NULL), 0);
	for (uint32_t i = 0; i < 40; i++) {
		struct in6_addr a = v4(i);
		struct exporter_entry *e = exporter_table_get(&t, &a, 0, NULL);

		REQUIRE(e);
		CHECK_EQ((uintptr_t)e->value % alignof(max_align_t), 0);
		CHECK(exporter_entry_of(e->value) == e);
	}
	exporter_table_fini(&t);
}

TEST(exporter_table_refuses_past_its_bound)
{
	struct exporter_table t;
	struct in6_addr a[4] = {v4(1), v4(2), v4(3), v4(4)};

	init(&t, 3, 0);
	for (int i = 0; i < 3; i++)
		REQUIRE(exporter_table_get(&t, &a[i], 0, NULL));
	CHECK(exporter_table_get(&t, &a[3], 0, NULL) == NULL);
	CHECK_EQ(exporter_table_count(&t), 3);
	for (int i = 0; i < 3; i++)
		CHECK(exporter_table_get(&t, &a[i], 0, NULL) != NULL);
	exporter_table_fini(&t);
}

struct evicted {
	int n;
	struct in6_addr last;
	uint64_t datagrams;
};

static void on_evict(void *ctx, struct exporter_entry *e)
{
	struct evicted *ev = ctx;

	ev->n++;
	ev->last = e->addr;
	ev->datagrams = ((struct value *)e->value)->datagrams;
}

TEST(exporter_table_evicts_the_stalest_when_full)
{
	struct evicted ev = {0};
	struct exporter_table_config cfg = {.value_size = sizeof(struct value),
					    .max_entries = 3,
					    .evict = 1,
					    .prealloc = 1,
					    .on_evict = on_evict,
					    .ctx = &ev};
	struct exporter_table t;
	struct in6_addr a[4] = {v4(1), v4(2), v4(3), v4(4)};
	uint64_t seen[3] = {30, 10, 20};
	struct exporter_entry *e;
	unsigned char *entries;
	int created;

	REQUIRE_EQ(exporter_table_init(&t, &cfg, NULL), 0);
	entries = t.entries;
	for (int i = 0; i < 3; i++) {
		e = exporter_table_get(&t, &a[i], 0, NULL);
		REQUIRE(e);
		e->last_seen = seen[i];
		((struct value *)e->value)->datagrams = 100 + (uint64_t)i;
	}
	e = exporter_table_get(&t, &a[3], 0, &created);
	REQUIRE(e);
	CHECK_EQ(created, 1);
	CHECK_EQ(((struct value *)e->value)->datagrams, 0);
	CHECK_EQ(ev.n, 1);
	CHECK_MEM(&ev.last, &a[1], sizeof(a[1])); /* last_seen 10 */
	CHECK_EQ(ev.datagrams, 101);
	CHECK(exporter_table_find(&t, &a[1], 0) == NULL);
	CHECK(exporter_table_find(&t, &a[0], 0) != NULL);
	CHECK(exporter_table_find(&t, &a[2], 0) != NULL);
	CHECK_EQ(exporter_table_count(&t), 3);
	CHECK(t.entries == entries); /* preallocated: never moved */
	exporter_table_fini(&t);
}

TEST(exporter_table_remove_and_expire)
{
	struct evicted ev = {0};
	struct exporter_table_config cfg = {.value_size = sizeof(struct value),
					    .max_entries = 1000,
					    .on_evict = on_evict,
					    .ctx = &ev};
	struct exporter_table t;

	REQUIRE_EQ(exporter_table_init(&t, &cfg, NULL), 0);
	for (uint32_t i = 0; i < 1000; i++) {
		struct in6_addr a = v4(i);
		struct exporter_entry *e = exporter_table_get(&t, &a, 0, NULL);

		REQUIRE(e);
		e->last_seen = i;
		((struct value *)e->value)->datagrams = i;
	}
	CHECK(exporter_table_get(&t, &(struct in6_addr){{{1}}}, 0, NULL) == NULL);
	/* Remove the multiples of 3 by hand, walking. */
	for (size_t pos = 0; pos < exporter_table_count(&t);) {
		struct exporter_entry *e = exporter_table_at(&t, pos);

		if (e->last_seen % 3 == 0)
			exporter_table_remove(&t, e);
		else
			pos++;
	}
	CHECK_EQ(exporter_table_count(&t), 666);
	CHECK_EQ(ev.n, 0);
	/* Then expire everything seen before 500. */
	CHECK_EQ(exporter_table_expire(&t, 500), 333);
	CHECK_EQ(ev.n, 333);
	CHECK_EQ(exporter_table_count(&t), 333);
	for (uint32_t i = 0; i < 1000; i++) {
		struct in6_addr a = v4(i);
		struct exporter_entry *e = exporter_table_find(&t, &a, 0);

		if (i % 3 == 0 || i < 500) {
			CHECK(e == NULL);
		} else {
			REQUIRE(e);
			CHECK_EQ(((struct value *)e->value)->datagrams, i);
		}
	}
	exporter_table_clear(&t);
	CHECK_EQ(exporter_table_count(&t), 0);
	CHECK(exporter_table_find(&t, &(struct in6_addr){0}, 0) == NULL);
	CHECK(exporter_table_get(&t, &(struct in6_addr){0}, 0, NULL) != NULL);
	exporter_table_fini(&t);
	exporter_table_fini(&t); /* twice is fine */
}

TEST(exporter_table_init_rejects_a_zero_bound)
{
	struct exporter_table t;
	struct exporter_table_config cfg = {.max_entries = 0};
	struct error err = {{0}};

	CHECK_EQ(exporter_table_init(&t, &cfg, &err), -EINVAL);
	CHECK(strstr(error_text(&err), "max_entries") != NULL);
	exporter_table_fini(&t);
}

/* Keys 0..149 as IPv4, the rest as IPv6 with a domain (their number). */
static struct in6_addr key_addr(unsigned k)
{
	struct in6_addr a = v4(0x0a000000u + k);

	if (k >= 150)
		a.s6_addr[0] = 0x20;
	return a;
}

static uint32_t key_domain(unsigned k)
{
	return k >= 150 ? k : 0;
}

/* Random gets, removes and expiries over a small key space (so clusters
 * form and removals shift them), each checked against a plain array. */
TEST(exporter_table_random_walk_matches_a_model)
{
	enum { KEYS = 300, MAX = 128, STEPS = 200000 };
	struct model {
		int present;
		uint64_t value, seen;
	} m[KEYS] = {{0}};
	struct evicted ev = {0};
	struct exporter_table_config cfg = {.value_size = sizeof(struct value),
					    .max_entries = MAX,
					    .evict = 1,
					    .on_evict = on_evict,
					    .ctx = &ev};
	struct exporter_table t;
	uint64_t state = 88172645463325252ull, clock = 1;
	size_t n = 0, evictions = 0, old_half = 0;

	REQUIRE_EQ(exporter_table_init(&t, &cfg, NULL), 0);
	for (int step = 0; step < STEPS; step++) {
		uint64_t x = rng_next(&state);
		unsigned k, op;
		struct in6_addr a;
		struct exporter_entry *e;
		int created;

		k = (unsigned)(x % KEYS);
		op = (unsigned)(x >> 32) % 100;
		a = key_addr(k);
		clock++;
		ev.n = 0;
		if (op < 80) {
			e = exporter_table_get(&t, &a, key_domain(k), &created);
			REQUIRE(e);
			REQUIRE_EQ(created, !m[k].present);
			if (created && n == MAX) {
				/* One entry went, told to the hook; 8 sampled of 128,
				 * it is nearly always of the older half. */
				unsigned old = KEYS, newer = 0;

				REQUIRE_EQ(ev.n, 1);
				for (unsigned j = 0; j < KEYS; j++) {
					struct in6_addr b = key_addr(j);

					if (j != k && m[j].present &&
					    !memcmp(&b, &ev.last, sizeof(b)))
						old = j;
				}
				REQUIRE(old < KEYS);
				for (unsigned j = 0; j < KEYS; j++)
					newer += m[j].present && m[j].seen > m[old].seen;
				evictions++;
				old_half += newer >= MAX / 2;
				m[old].present = 0;
				n--;
			} else {
				CHECK_EQ(ev.n, 0);
			}
			if (created) {
				m[k].present = 1;
				m[k].value = 0;
				n++;
			}
			REQUIRE_EQ(((struct value *)e->value)->datagrams, m[k].value);
			((struct value *)e->value)->datagrams = m[k].value = x;
			e->last_seen = m[k].seen = clock;
		} else if (op < 98) {
			e = exporter_table_find(&t, &a, key_domain(k));
			REQUIRE_EQ(e != NULL, m[k].present);
			if (e) {
				exporter_table_remove(&t, e);
				m[k].present = 0;
				n--;
			}
		} else {
			uint64_t before = clock - 50;
			size_t expired = 0;

			for (unsigned j = 0; j < KEYS; j++)
				if (m[j].present && m[j].seen < before) {
					m[j].present = 0;
					expired++;
				}
			CHECK_EQ(exporter_table_expire(&t, before), expired);
			CHECK_EQ(ev.n, expired);
			n -= expired;
		}
		REQUIRE_EQ(exporter_table_count(&t), n);
	}
	printf("# %zu evictions, %zu of the older half\n", evictions, old_half);
	CHECK(evictions > 1000 && old_half * 100 >= evictions * 95);
	/* Every entry is where the index says, and every present key found. */
	for (size_t pos = 0; pos < exporter_table_count(&t); pos++) {
		struct exporter_entry *e = exporter_table_at(&t, pos);

		CHECK(exporter_table_find(&t, &e->addr, e->domain) == e);
	}
	for (unsigned k = 0; k < KEYS; k++) {
		struct in6_addr a = key_addr(k);

		CHECK_EQ(exporter_table_find(&t, &a, key_domain(k)) != NULL, m[k].present);
	}
	exporter_table_fini(&t);
}

TEST(exporter_table_grows_to_many_entries)
{
	struct exporter_table t;

	init(&t, 1u << 20, 0);
	for (uint32_t i = 0; i < 50000; i++) {
		struct in6_addr a = v4(i * 2654435761u);

		REQUIRE(exporter_table_get(&t, &a, 0, NULL));
	}
	CHECK_EQ(exporter_table_count(&t), 50000);
	for (uint32_t i = 0; i < 50000; i++) {
		struct in6_addr a = v4(i * 2654435761u);
		struct exporter_entry *e = exporter_table_find(&t, &a, 0);

		REQUIRE(e);
		CHECK(e == exporter_table_at(&t, i));
	}
	exporter_table_fini(&t);
}
