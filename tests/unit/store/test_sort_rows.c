// SPDX-License-Identifier: AGPL-3.0-or-later
/* Rows put in a sorting key's order before a batch is sent (sort_rows.c):
 * the order ClickHouse compares in, stability, arrays moved with their row.
 * Random batches are checked against the plain algorithm sort_rows.c
 * replaced (keys packed big-endian, qsort() with memcmp()), kept here. */
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "store/store_internal.h"
#include "test.h"

/* ---- the reference: each row's key packed whole, then qsort() ---- */

static void ref_pack(const struct store_sort_key *keys, size_t nkeys, size_t i, uint8_t *out)
{
	for (size_t k = 0; k < nkeys; k++) {
		const struct store_sort_key *c = &keys[k];
		const uint8_t *p =
		    (const uint8_t *)c->data + i * (c->stride ? c->stride : c->width);
		uint64_t v = 0;

		if (c->width > 8) {
			memcpy(out, p, c->width);
			out += c->width;
			continue;
		}
		memcpy(&v, p, c->width);
		if (c->minute)
			v -= v % 60;
		be_uint_put(out, v, c->width);
		out += c->width;
	}
	be_uint_put(out, i, 4); /* ties: arrival order */
}

static const uint8_t *ref_base;
static size_t ref_len;

static int ref_cmp(const void *a, const void *b)
{
	return memcmp(ref_base + *(const uint32_t *)a * ref_len,
		      ref_base + *(const uint32_t *)b * ref_len, ref_len);
}

/* 0 when in order already, else 1 with *perm. */
static int ref_order(const struct store_sort_key *keys, size_t nkeys, size_t rows, uint32_t **perm)
{
	size_t len = 4;
	uint8_t *packed;
	int sorted = 1;

	*perm = NULL;
	for (size_t k = 0; k < nkeys; k++)
		len += keys[k].width;
	if (rows < 2 || len == 4)
		return 0;
	packed = malloc(rows * len);
	REQUIRE(packed);
	for (size_t i = 0; i < rows; i++) {
		ref_pack(keys, nkeys, i, packed + i * len);
		if (i && memcmp(packed + (i - 1) * len, packed + i * len, len - 4) > 0)
			sorted = 0;
	}
	if (!sorted) {
		*perm = malloc(rows * sizeof(**perm));
		REQUIRE(*perm);
		for (size_t i = 0; i < rows; i++)
			(*perm)[i] = (uint32_t)i;
		ref_base = packed;
		ref_len = len;
		qsort(*perm, rows, sizeof(**perm), ref_cmp);
	}
	free(packed);
	return !sorted;
}

/* store_rows_order() gives what the reference gives; returns its result. */
static int check_order(const struct store_sort_key *keys, size_t nkeys, size_t rows)
{
	uint32_t *want, *got = (uint32_t *)(uintptr_t)1;
	int w = ref_order(keys, nkeys, rows, &want);
	int g = store_rows_order(keys, nkeys, rows, &got);
	size_t bad = rows;

	CHECK_EQ(g, w);
	if (g == 1 && w == 1) {
		REQUIRE(got);
		for (size_t i = 0; i < rows && bad == rows; i++)
			if (got[i] != want[i])
				bad = i;
		if (bad < rows)
			test_fail_at(__FILE__, __LINE__, "%zu rows: place %zu has row %u, not %u",
				     rows, bad, got[bad], want[bad]);
	} else if (g == 0) {
		CHECK(got == NULL);
	}
	if (g == 1)
		free(got);
	free(want);
	return g;
}

/* ---- random batches ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* flows' sorting key (before session 11): minute, exporter, interfaces,
 * ASes, addresses */
struct batch {
	size_t rows;
	uint32_t *time, *in_if, *out_if, *src_as, *dst_as;
	uint8_t (*exporter)[16], (*src)[16], (*dst)[16];
	struct store_sort_key keys[8];
};

static void batch_alloc(struct batch *b, size_t rows)
{
	b->rows = rows;
	b->time = calloc(rows, 4);
	b->in_if = calloc(rows, 4);
	b->out_if = calloc(rows, 4);
	b->src_as = calloc(rows, 4);
	b->dst_as = calloc(rows, 4);
	b->exporter = calloc(rows, 16);
	b->src = calloc(rows, 16);
	b->dst = calloc(rows, 16);
	REQUIRE(b->time && b->in_if && b->out_if && b->src_as && b->dst_as && b->exporter &&
		b->src && b->dst);
	b->keys[0] = (struct store_sort_key){b->time, 4, 1};
	b->keys[1] = (struct store_sort_key){b->exporter, 16, 0};
	b->keys[2] = (struct store_sort_key){b->in_if, 4, 0};
	b->keys[3] = (struct store_sort_key){b->out_if, 4, 0};
	b->keys[4] = (struct store_sort_key){b->src_as, 4, 0};
	b->keys[5] = (struct store_sort_key){b->dst_as, 4, 0};
	b->keys[6] = (struct store_sort_key){b->src, 16, 0};
	b->keys[7] = (struct store_sort_key){b->dst, 16, 0};
}

static void batch_free(struct batch *b)
{
	free(b->time);
	free(b->in_if);
	free(b->out_if);
	free(b->src_as);
	free(b->dst_as);
	free(b->exporter);
	free(b->src);
	free(b->dst);
}

static void ipv4(uint8_t *a, uint32_t v)
{
	struct in6_addr x;

	addr_from_ipv4(&x, v);
	memcpy(a, &x, 16);
}

static void ipv6(uint8_t *a)
{
	for (int k = 0; k < 16; k++)
		a[k] = (uint8_t)rnd();
}

/* As a batch of IPv4 flows looks: 8 exporters, some interfaces each, a few
 * thousand ASes, any addresses, times over 2 minutes with their seconds.
 * `v6`: every address any 16 bytes. `few`: keys from a few values only
 * (many equal keys). */
static void batch_fill(struct batch *b, int v6, int few)
{
	uint8_t exporters[8][16];
	uint32_t ifs[8][28], ases[4000];
	uint32_t t0 = 1700000000 - 1700000000 % 60 + (uint32_t)(rnd() % 60);

	for (int e = 0; e < 8; e++) {
		if (v6)
			ipv6(exporters[e]);
		else
			ipv4(exporters[e], (uint32_t)rnd());
		for (int k = 0; k < 28; k++)
			ifs[e][k] = 1 + (uint32_t)(rnd() % 1000);
	}
	for (int k = 0; k < 4000; k++)
		ases[k] = 1 + (uint32_t)(rnd() % 400000);
	for (size_t i = 0; i < b->rows; i++) {
		unsigned e = (unsigned)(rnd() % (few ? 2 : 8));
		unsigned m = few ? 2 : 28, n = few ? 3 : 4000;

		b->time[i] = t0 + (uint32_t)(i * 100 / b->rows) + (uint32_t)(rnd() % 5);
		memcpy(b->exporter[i], exporters[e], 16);
		b->in_if[i] = ifs[e][rnd() % m];
		b->out_if[i] = ifs[e][rnd() % m];
		b->src_as[i] = ases[rnd() % n];
		b->dst_as[i] = ases[rnd() % n];
		if (few) {
			ipv4(b->src[i], (uint32_t)(rnd() % 3));
			ipv4(b->dst[i], (uint32_t)(rnd() % 2));
		} else if (v6) {
			ipv6(b->src[i]);
			ipv6(b->dst[i]);
		} else {
			ipv4(b->src[i], (uint32_t)rnd());
			ipv4(b->dst[i], (uint32_t)rnd());
		}
	}
}

TEST(random_ipv4_batches)
{
	static const size_t sizes[] = {3, 25, 26, 300, 4097, 70000};

	for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++) {
		struct batch b;

		batch_alloc(&b, sizes[s]);
		batch_fill(&b, 0, 0);
		CHECK_EQ(check_order(b.keys, 8, b.rows), b.rows > 3); /* 3: maybe in order */
		b.keys[0].minute = 0; /* flows' key since session 11: by the second */
		check_order(b.keys, 8, b.rows);
		batch_free(&b);
	}
}

/* flows' key since session 11: the time by its second, not its minute
 * (tables created before keep the minute: the tests above). */
TEST(seconds)
{
	/* in order by the minute (the test above), not by the second */
	uint32_t t[4] = {60, 119, 61, 100};
	static const uint32_t want[4] = {0, 2, 3, 1};
	struct store_sort_key k = {t, 4, 0};
	uint32_t *perm;

	CHECK_EQ(check_order(&k, 1, 4), 1);
	CHECK_EQ(store_rows_order(&k, 1, 4, &perm), 1);
	REQUIRE(perm);
	for (unsigned i = 0; i < 4; i++)
		CHECK_EQ(perm[i], want[i]);
	free(perm);
}

TEST(random_ipv6_batches)
{
	/* 68 bytes that all vary: records of 9 words */
	static const size_t sizes[] = {2, 40, 5000, 70000};

	for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++) {
		struct batch b;

		batch_alloc(&b, sizes[s]);
		batch_fill(&b, 1, 0);
		for (size_t i = 0; i < b.rows; i++) {
			b.time[i] = (uint32_t)rnd();
			b.in_if[i] = (uint32_t)rnd();
			b.out_if[i] = (uint32_t)rnd();
			b.src_as[i] = (uint32_t)rnd();
			b.dst_as[i] = (uint32_t)rnd();
			ipv6(b.exporter[i]);
		}
		check_order(b.keys, 8, b.rows);
		batch_free(&b);
	}
}

TEST(mixed_ipv4_ipv6_batch)
{
	struct batch b;

	batch_alloc(&b, 20000);
	batch_fill(&b, 0, 0);
	for (size_t i = 0; i < b.rows; i += 7) /* a few IPv6 flows among IPv4 ones */
		ipv6(b.src[i]);
	for (size_t i = 0; i < b.rows; i += 1000)
		ipv6(b.exporter[i]);
	CHECK_EQ(check_order(b.keys, 8, b.rows), 1);
	batch_free(&b);
}

TEST(many_equal_keys_keep_arrival_order)
{
	static const size_t sizes[] = {30, 1000, 100000};

	for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++) {
		struct batch b;

		batch_alloc(&b, sizes[s]);
		batch_fill(&b, 0, 1);
		CHECK_EQ(check_order(b.keys, 8, b.rows), 1);
		/* only the first keys */
		CHECK_EQ(check_order(b.keys, 2, b.rows), 1);
		batch_free(&b);
	}
}

/* One digit value for most rows: a span larger than the sort's scratch,
 * sorted in place. */
TEST(one_large_group)
{
	struct batch b;

	batch_alloc(&b, 300000);
	batch_fill(&b, 0, 0);
	for (size_t i = 0; i < b.rows; i++) {
		if (i % 10) {
			b.time[i] = 1700000040;
			memcpy(b.exporter[i], b.exporter[0], 16);
			b.in_if[i] = b.in_if[0];
		}
	}
	CHECK_EQ(check_order(b.keys, 8, b.rows), 1);
	batch_free(&b);
}

TEST(minutes)
{
	/* seconds apart but one minute: equal keys, arrival order */
	uint32_t t[6] = {119, 60, 61, 59, 0, 120};
	uint64_t t8[6] = {119, 60, 61, 59, 0, UINT64_MAX};
	uint16_t v[6] = {5, 5, 4, 9, 1, 0};
	struct store_sort_key k[2] = {{t, 4, 1}, {v, 2, 0}};
	struct store_sort_key k8[2] = {{t8, 8, 1}, {v, 2, 0}};
	uint32_t *perm;

	CHECK_EQ(check_order(k, 1, 6), 1);
	CHECK_EQ(store_rows_order(k, 1, 6, &perm), 1);
	REQUIRE(perm);
	CHECK_EQ(perm[0], 3); /* 59 */
	CHECK_EQ(perm[1], 4); /* 0 */
	CHECK_EQ(perm[2], 0); /* 119 */
	CHECK_EQ(perm[3], 1);
	CHECK_EQ(perm[4], 2);
	CHECK_EQ(perm[5], 5);
	free(perm);
	CHECK_EQ(check_order(k, 2, 6), 1);
	CHECK_EQ(check_order(k8, 2, 6), 1);
	/* in order by the minute, not by the second */
	uint32_t same[4] = {60, 119, 61, 100};
	struct store_sort_key ks = {same, 4, 1};
	CHECK_EQ(store_rows_order(&ks, 1, 4, &perm), 0);
	CHECK(perm == NULL);
	/* a random batch of times */
	uint32_t *times = malloc(5000 * sizeof(*times));
	REQUIRE(times);
	for (size_t i = 0; i < 5000; i++)
		times[i] = 1700000000 + (uint32_t)(rnd() % 600);
	ks.data = times;
	CHECK_EQ(check_order(&ks, 1, 5000), 1);
	free(times);
}

TEST(one_and_two_rows)
{
	uint32_t a[2] = {7, 3}, b[2] = {3, 7}, c[2] = {5, 5};
	struct store_sort_key k = {a, 4, 0};
	uint32_t *perm;

	CHECK_EQ(store_rows_order(&k, 1, 1, &perm), 0);
	CHECK(perm == NULL);
	CHECK_EQ(store_rows_order(&k, 1, 0, &perm), 0);
	CHECK(perm == NULL);
	CHECK_EQ(store_rows_order(&k, 1, 2, &perm), 1);
	REQUIRE(perm);
	CHECK_EQ(perm[0], 1);
	CHECK_EQ(perm[1], 0);
	free(perm);
	k.data = b;
	CHECK_EQ(store_rows_order(&k, 1, 2, &perm), 0);
	CHECK(perm == NULL);
	k.data = c;
	CHECK_EQ(store_rows_order(&k, 1, 2, &perm), 0);
	CHECK(perm == NULL);
	CHECK_EQ(store_rows_order(&k, 0, 2, &perm), 0);
	CHECK(perm == NULL);
}

TEST(already_sorted)
{
	struct batch b;
	uint32_t *perm;

	batch_alloc(&b, 10000);
	batch_fill(&b, 0, 0);
	REQUIRE_EQ(store_rows_order(b.keys, 8, b.rows, &perm), 1);
	REQUIRE(perm);
	/* put every key column in that order */
	for (size_t k = 0; k < 8; k++) {
		unsigned w = b.keys[k].width;
		uint8_t *col = (uint8_t *)(uintptr_t)b.keys[k].data, *tmp = malloc(b.rows * w);

		REQUIRE(tmp);
		for (size_t i = 0; i < b.rows; i++)
			memcpy(tmp + i * w, col + (size_t)perm[i] * w, w);
		memcpy(col, tmp, b.rows * w);
		free(tmp);
	}
	free(perm);
	CHECK_EQ(check_order(b.keys, 8, b.rows), 0);
	/* equal keys anywhere in it are in order too */
	for (size_t k = 0; k < 8; k++) {
		unsigned w = b.keys[k].width;
		uint8_t *col = (uint8_t *)(uintptr_t)b.keys[k].data;

		memcpy(col + 5000 * w, col + 4999 * w, w);
	}
	CHECK_EQ(check_order(b.keys, 8, b.rows), 0);
	/* the last two swapped: out of order by their last bytes only */
	for (size_t k = 0; k < 8; k++) {
		unsigned w = b.keys[k].width;
		uint8_t *col = (uint8_t *)(uintptr_t)b.keys[k].data;

		memcpy(col + (b.rows - 1) * w, col + (b.rows - 2) * w, w);
	}
	b.dst[b.rows - 2][15] = 1;
	b.dst[b.rows - 1][15] = 0;
	CHECK_EQ(check_order(b.keys, 8, b.rows), 1);
	batch_free(&b);
}

/* Every width of column, values at the ends of their range. */
TEST(widths_and_extremes)
{
	enum { N = 3000 };
	uint8_t *u8 = malloc(N), (*b12)[12] = malloc(N * 12), (*b3)[3] = malloc(N * 3);
	uint16_t *u16 = malloc(N * 2);
	uint64_t *u64 = malloc(N * 8);
	uint8_t(*b16)[16] = malloc(N * 16);
	struct store_sort_key k[6] = {{u8, 1, 0},   {u64, 8, 0}, {u16, 2, 0},
				      {b12, 12, 0}, {b3, 3, 0},	 {b16, 16, 0}};

	REQUIRE(u8 && b12 && b3 && u16 && u64 && b16);
	for (size_t i = 0; i < N; i++) {
		static const uint64_t ends[] = {0, 1, UINT64_MAX, UINT64_MAX - 1, 1ull << 63};

		u8[i] = (uint8_t)(rnd() % 3 ? 255 : rnd());
		u16[i] = (uint16_t)(rnd() % 4 ? 0 : 65535);
		u64[i] = rnd() % 2 ? ends[rnd() % 5] : rnd();
		for (int j = 0; j < 12; j++)
			b12[i][j] = (uint8_t)(j == 11 || rnd() % 8 == 0 ? rnd() : 0);
		for (int j = 0; j < 3; j++)
			b3[i][j] = (uint8_t)(rnd() % 2);
		memset(b16[i], rnd() % 2 ? 0xff : 0, 16);
		b16[i][7] = (uint8_t)rnd();
	}
	for (size_t n = 1; n <= 6; n++)
		check_order(k, n, N);
	/* each column alone, then after a constant one */
	for (size_t c = 0; c < 6; c++) {
		check_order(&k[c], 1, N);
		struct store_sort_key two[2] = {{u16, 2, 0}, k[c]};
		memset(u16, 0xab, N * 2);
		check_order(two, 2, N);
	}
	free(u8);
	free(b12);
	free(b3);
	free(u16);
	free(u64);
	free(b16);
}

/* Exporters: a few values over many bits are packed as ranks; near the
 * number of values where that stops. */
TEST(few_values_over_many_bits)
{
	static const size_t distinct[] = {2, 3, 1023, 1024, 1025, 1500};
	enum { N = 20000 };
	uint8_t(*exp)[16] = malloc(N * 16), (*vals)[16] = malloc(1500 * 16);
	uint32_t *as = malloc(N * 4);
	struct store_sort_key k[2] = {{exp, 16, 0}, {as, 4, 0}};

	REQUIRE(exp && vals && as);
	for (size_t d = 0; d < sizeof(distinct) / sizeof(*distinct); d++) {
		for (size_t v = 0; v < distinct[d]; v++)
			ipv6(vals[v]);
		for (size_t i = 0; i < N; i++) {
			/* runs, as rows come by packet */
			size_t v = i < distinct[d] ? i : (i / 7 * 31) % distinct[d];

			memcpy(exp[i], vals[v], 16);
			as[i] = (uint32_t)(rnd() % 5);
		}
		CHECK_EQ(check_order(k, 2, N), 1);
	}
	free(exp);
	free(vals);
	free(as);
}

TEST(order_by_key_columns)
{
	/* minute (DateTime), then a UInt32 compared as a number (not by its
	 * little-endian bytes), then a FixedString(16) by its bytes. */
	uint32_t t[5] = {120, 61, 119, 60, 59};
	uint32_t as[5] = {256, 1, 2, 1, 7};
	uint8_t addr[5][16] = {{0}};
	struct store_sort_key keys[3] = {{t, 4, 1}, {as, 4, 0}, {addr, 16, 0}};
	uint32_t *perm;

	addr[1][0] = 2;
	addr[3][0] = 1;
	CHECK_EQ(store_rows_order(keys, 3, 5, &perm), 1);
	REQUIRE(perm);
	/* minute 0: row 4; minute 60: rows 3 (as 1, addr 1), 1 (as 1, addr 2),
	 * 2 (as 2) [119 is minute 60]; minute 120: row 0. */
	CHECK_EQ(perm[0], 4);
	CHECK_EQ(perm[1], 3);
	CHECK_EQ(perm[2], 1);
	CHECK_EQ(perm[3], 2);
	CHECK_EQ(perm[4], 0);
	free(perm);

	/* Out of order only within a minute, then in order (ties included). */
	uint32_t sorted_t[4] = {0, 10, 59, 60};
	uint32_t sorted_as[4] = {5, 5, 4, 1};
	struct store_sort_key k2[2] = {{sorted_t, 4, 1}, {sorted_as, 4, 0}};
	CHECK_EQ(store_rows_order(k2, 2, 4, &perm), 1); /* 0, 10 and 59 share a minute: 5 > 4 */
	free(perm);
	sorted_as[0] = sorted_as[1] = sorted_as[2] = 1;
	CHECK_EQ(store_rows_order(k2, 2, 4, &perm), 0);
	CHECK(perm == NULL);
}

TEST(equal_keys_keep_their_order)
{
	uint16_t v[6] = {2, 1, 2, 1, 2, 1};
	struct store_sort_key k = {v, 2, 0};
	uint32_t *perm;

	CHECK_EQ(store_rows_order(&k, 1, 6, &perm), 1);
	REQUIRE(perm);
	CHECK_EQ(perm[0], 1);
	CHECK_EQ(perm[1], 3);
	CHECK_EQ(perm[2], 5);
	CHECK_EQ(perm[3], 0);
	CHECK_EQ(perm[4], 2);
	CHECK_EQ(perm[5], 4);
	free(perm);
}

/* Keys inside an array of rows (a stride other than the width), at odd
 * offsets: every kind of column, read where the stride says. A row: time
 * at 1, exporter 5, u8 21, u16 22, u32 24, u64 28, address 36, 12 bytes 52,
 * 3 bytes 64, random bytes between. */
TEST(keys_in_rows_of_a_stride)
{
	enum { STRIDE = 67 };
	static const size_t sizes[] = {3, 30, 5000, 70000};
	static const unsigned at[] = {1, 5, 21, 22, 24, 28, 36, 52, 64};
	static const unsigned widths[] = {4, 16, 1, 2, 4, 8, 16, 12, 3};

	for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++) {
		size_t rows = sizes[s];
		uint8_t *r = malloc(rows * STRIDE), exporters[4][16];
		struct store_sort_key k[9];

		REQUIRE(r);
		for (int e = 0; e < 4; e++)
			ipv4(exporters[e], (uint32_t)rnd());
		for (size_t i = 0; i < rows; i++) {
			uint8_t *row = r + i * STRIDE;
			uint32_t t = 1700000000 + (uint32_t)(i * 100 / rows + rnd() % 5);
			uint16_t u16 = (uint16_t)(rnd() % 3 ? 443 : rnd());
			uint32_t u32 = (uint32_t)(rnd() % 70000);
			uint64_t u64 = rnd() % 2 ? rnd() : rnd() % 1000;

			for (unsigned b = 0; b < STRIDE; b++)
				row[b] = (uint8_t)rnd(); /* the bytes between keys too */
			memcpy(row + 1, &t, 4);
			memcpy(row + 5, exporters[rnd() % 4], 16);
			row[21] = (uint8_t)(rnd() % 2 ? 6 : 17);
			memcpy(row + 22, &u16, 2);
			memcpy(row + 24, &u32, 4);
			memcpy(row + 28, &u64, 8);
			ipv4(row + 36, (uint32_t)rnd());
		}
		for (size_t c = 0; c < 9; c++)
			k[c] = (struct store_sort_key){.data = r + at[c],
						       .width = widths[c],
						       .minute = c == 0,
						       .stride = STRIDE};
		/* (3 rows may be in order: check_order() compares with the reference) */
		CHECK(check_order(k, 9, rows) == 1 || rows == 3);
		CHECK(check_order(k + 2, 7, rows) == 1 || rows == 3); /* no time, exporter */
		free(r);
	}
}

/* A key of bytes compared whole by memcmp() (the consolidator's), taken
 * as FixedString(16) chunks of the rows, the last overlapping the one
 * before: in the same order as memcmp() over the whole key. */
struct keyed {
	uint8_t key[40];
	uint32_t other;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int r = memcmp(x->key, y->key, sizeof(x->key));

	return r ? r : (x->other > y->other) - (x->other < y->other);
}

TEST(overlapping_chunks_of_a_key)
{
	enum { N = 20000 };
	struct keyed *e = malloc(N * sizeof(*e)), *want = malloc(N * sizeof(*e));
	struct store_sort_key k[3];
	uint32_t *perm;

	REQUIRE(e && want);
	for (size_t i = 0; i < N; i++) {
		memset(e[i].key, 0, sizeof(e[i].key));
		for (size_t b = 0; b < sizeof(e[i].key); b++)
			if (rnd() % 4 == 0) /* many equal bytes, some equal prefixes */
				e[i].key[b] = (uint8_t)(rnd() % 3);
		e[i].key[39] = (uint8_t)rnd();
		e[i].other = (uint32_t)i; /* arrival order, for ties */
	}
	for (size_t c = 0; c < 3; c++) /* 0, 16, then 24: bytes 24-31 twice */
		k[c] = (struct store_sort_key){
		    .data = e[0].key + (c < 2 ? 16 * c : 24), .width = 16, .stride = sizeof(*e)};
	CHECK_EQ(check_order(k, 3, N), 1);
	memcpy(want, e, N * sizeof(*e));
	qsort(want, N, sizeof(*want), cmp_keyed);
	REQUIRE_EQ(store_rows_order(k, 3, N, &perm), 1);
	REQUIRE(perm);
	for (size_t i = 0; i < N; i++)
		if (perm[i] != want[i].other) {
			test_fail_at(__FILE__, __LINE__, "place %zu has row %u, not %u", i, perm[i],
				     want[i].other);
			break;
		}
	/* in that order: in order already */
	for (size_t i = 0; i < N; i++)
		e[i] = want[i];
	free(perm);
	CHECK_EQ(store_rows_order(k, 3, N, &perm), 0);
	CHECK(perm == NULL);
	free(e);
	free(want);
}

/* ---- store_rows_permute() ---- */

/* A column's buffer as the writer grows them. */
static void buf_of(struct buf *b, const void *p, size_t n)
{
	*b = (struct buf){0};
	REQUIRE(buf_append(b, p, n) == 0);
}

TEST(arrays_move_with_their_rows)
{
	/* Array(UInt32) of 3 rows: [1,2], [], [3] ; order 2, 0, 1 */
	uint32_t elems[3] = {1, 2, 3};
	uint64_t offs[3] = {2, 2, 3};
	struct buf data, offsets, scratch = {0};
	uint32_t perm[3] = {2, 0, 1};
	size_t keep = 16 + 3 * 8;

	buf_of(&data, elems, sizeof(elems));
	buf_of(&offsets, offs, sizeof(offs));
	REQUIRE(buf_reserve(&scratch, keep) == 0);
	store_rows_permute(&data, &offsets, 4, perm, 3, &scratch, keep);
	const uint32_t *e = (const uint32_t *)(const void *)data.data;
	const uint64_t *o = (const uint64_t *)(const void *)offsets.data;
	CHECK_EQ(e[0], 3);
	CHECK_EQ(e[1], 1);
	CHECK_EQ(e[2], 2);
	CHECK_EQ(o[0], 1);
	CHECK_EQ(o[1], 3);
	CHECK_EQ(o[2], 3);
	CHECK_EQ(data.len, 12);
	CHECK_EQ(offsets.len, 24);

	/* A scalar column. */
	uint64_t col[3] = {10, 20, 30};
	struct buf c;
	buf_of(&c, col, sizeof(col));
	store_rows_permute(&c, NULL, 8, perm, 3, &scratch, keep);
	CHECK_EQ(c.len, 24);
	CHECK_EQ(((const uint64_t *)(const void *)c.data)[0], 30);
	CHECK_EQ(((const uint64_t *)(const void *)c.data)[1], 10);
	CHECK_EQ(((const uint64_t *)(const void *)c.data)[2], 20);
	buf_free(&c);
	buf_free(&data);
	buf_free(&offsets);
	buf_free(&scratch);
}

/* Every width, arrays of several sizes, against a plain gather; buffers
 * traded only when the column's can be the scratch that follows. */
TEST(permute_random_columns)
{
	static const unsigned widths[] = {1, 2, 4, 8, 16, 3, 12};
	enum { N = 5000 };
	uint32_t *perm = malloc(N * sizeof(*perm));
	uint8_t *src = malloc(N * 16), *want = malloc(N * 16);
	struct buf scratch = {0};

	REQUIRE(perm && src && want);
	for (size_t i = 0; i < N; i++)
		perm[i] = (uint32_t)i;
	for (size_t i = N - 1; i > 0; i--) {
		size_t j = rnd() % (i + 1);
		uint32_t t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	for (size_t i = 0; i < N * 16; i++)
		src[i] = (uint8_t)rnd();
	REQUIRE(buf_reserve(&scratch, N * 16) == 0);
	for (size_t k = 0; k < sizeof(widths) / sizeof(*widths); k++) {
		unsigned w = widths[k];
		struct buf c;
		char *before, *scratch_before = scratch.data;
		size_t keep = N * 16, cap;

		buf_of(&c, src, (size_t)N * w);
		/* the column a little larger than it must be, sometimes */
		if (k % 2)
			REQUIRE(buf_reserve(&c, keep) == 0);
		before = c.data;
		cap = c.cap;
		for (size_t i = 0; i < N; i++)
			memcpy(want + i * w, src + (size_t)perm[i] * w, w);
		store_rows_permute(&c, NULL, w, perm, N, &scratch, keep);
		CHECK_EQ(c.len, (size_t)N * w);
		CHECK(memcmp(c.data, want, (size_t)N * w) == 0);
		CHECK(scratch.cap >= keep);
		if (cap >= keep) { /* traded */
			CHECK(c.data == scratch_before);
			CHECK(scratch.data == before);
		} else {
			CHECK(c.data == before);
			CHECK(scratch.data == scratch_before);
		}
		buf_free(&c);
	}

	/* Array(UInt32) with 0-5 elements a row */
	uint64_t *offs = malloc(N * 8), *want_offs = malloc(N * 8), total = 0;
	uint32_t *elems = malloc(N * 5 * 4), *want_elems = malloc(N * 5 * 4);
	REQUIRE(offs && want_offs && elems && want_elems);
	for (size_t i = 0; i < N; i++) {
		unsigned n = (unsigned)(rnd() % 6);

		for (unsigned j = 0; j < n; j++)
			elems[total + j] = (uint32_t)rnd();
		total += n;
		offs[i] = total;
	}
	uint64_t wt = 0;
	for (size_t i = 0; i < N; i++) {
		uint32_t r = perm[i];
		uint64_t start = r ? offs[r - 1] : 0, n = offs[r] - start;

		memcpy(want_elems + wt, elems + start, n * 4);
		wt += n;
		want_offs[i] = wt;
	}
	struct buf data, offsets;
	buf_of(&data, elems, total * 4);
	buf_of(&offsets, offs, N * 8);
	size_t keep = ((total * 4 + 7) & ~(size_t)7) + N * 8;
	REQUIRE(buf_reserve(&scratch, keep) == 0);
	store_rows_permute(&data, &offsets, 4, perm, N, &scratch, keep);
	CHECK_EQ(data.len, total * 4);
	CHECK_EQ(offsets.len, N * 8);
	CHECK(memcmp(data.data, want_elems, total * 4) == 0);
	CHECK(memcmp(offsets.data, want_offs, N * 8) == 0);
	buf_free(&data);
	buf_free(&offsets);
	free(offs);
	free(want_offs);
	free(elems);
	free(want_elems);
	free(perm);
	free(src);
	free(want);
	buf_free(&scratch);
}
