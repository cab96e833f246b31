// SPDX-License-Identifier: AGPL-3.0-or-later
/* The writer's sums for the consolidated tables (consolidate.c), without a
 * server: what is summed together, the Native blocks (columns, order,
 * rounding) and the bound on memory. The server's side is in
 * tests/integration/test_store.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "store/store_internal.h"
#include "test.h"

static void flow(struct flow *f, uint64_t t, uint32_t src_as, uint64_t bytes)
{
	memset(f, 0, sizeof(*f));
	f->time_received = t;
	f->bytes = bytes;
	f->packets = 1;
	f->src_as = src_as;
	f->dst_as = 64500;
	f->in_if = 3;
	f->out_if = 7;
	f->etype = 0x0800;
	f->proto = 6;
	f->sampling_rate = 1000;
	addr_from_ipv4(&f->exporter_address, 0xc0000201);
	addr_from_ipv4(&f->src_addr, 0x0a000001); /* not a dimension */
}

/* ---- a reader of one Native block ---- */

struct block {
	size_t ncols, nrows;
	struct {
		char name[64], type[64];
		const uint8_t *data;
	} cols[64];
};

static uint64_t varint(const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;

	for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
	}
	return v;
}

static void string(const uint8_t **p, const uint8_t *end, char *out, size_t size)
{
	uint64_t n = varint(p, end);

	REQUIRE(n < size && *p + n <= end);
	memcpy(out, *p, n);
	out[n] = 0;
	*p += n;
}

static unsigned width(const char *type)
{
	if (!strcmp(type, "UInt8") || !strncmp(type, "Enum8", 5))
		return 1;
	if (!strcmp(type, "UInt16"))
		return 2;
	if (!strcmp(type, "UInt32") || !strcmp(type, "DateTime"))
		return 4;
	if (!strcmp(type, "UInt64"))
		return 8;
	if (!strcmp(type, "FixedString(16)"))
		return 16;
	return 0;
}

static void parse(const struct buf *body, struct block *b)
{
	const uint8_t *p = (const uint8_t *)body->data, *end = p + body->len;

	b->ncols = varint(&p, end);
	b->nrows = varint(&p, end);
	REQUIRE(b->ncols <= 64);
	for (size_t i = 0; i < b->ncols; i++) {
		unsigned w;

		string(&p, end, b->cols[i].name, sizeof(b->cols[i].name));
		string(&p, end, b->cols[i].type, sizeof(b->cols[i].type));
		w = width(b->cols[i].type);
		REQUIRE(w > 0);
		b->cols[i].data = p;
		p += w * b->nrows;
		REQUIRE(p <= end);
	}
	CHECK(p == end);
}

static uint64_t value(const struct block *b, const char *name, size_t row)
{
	for (size_t i = 0; i < b->ncols; i++)
		if (!strcmp(b->cols[i].name, name)) {
			unsigned w = width(b->cols[i].type);
			uint64_t v = 0;
			memcpy(&v, b->cols[i].data + w * row, w < 8 ? w : 8);
			return v;
		}
	test_fail_at(__FILE__, __LINE__, "no column %s", name);
	return 0;
}

static uint32_t round_none(void *ctx, uint32_t t)
{
	(void)ctx;
	return t;
}

static uint32_t round_5m(void *ctx, uint32_t t)
{
	(void)ctx;
	return t - t % 300;
}

TEST(sums_by_minute_and_dimensions)
{
	struct store_consolidator *c;
	struct buf body = {0};
	struct block b;
	struct flow f[6];
	size_t rows;
	uint64_t t = 1700000100; /* starts a minute and five minutes */

	REQUIRE_EQ(store_consolidator_new(1000, &c, NULL), 0);
	flow(&f[0], t + 1, 65001, 100);
	flow(&f[1], t + 59, 65001, 200); /* same minute, same AS: summed */
	flow(&f[2], t + 60, 65001, 400); /* next minute */
	flow(&f[3], t + 2, 65000, 800);	 /* another AS, sorts first */
	flow(&f[4], t + 3, 65001, 1600);
	f[4].src_addr.s6_addr[15] = 9; /* only a non-dimension differs: summed */
	flow(&f[5], t + 4, 65001, 3200);
	f[5].dst_as_path_count = 1; /* Dst1stAS differs: its own row */
	f[5].dst_as_path[0] = 174;
	CHECK_EQ(store_consolidator_add(c, f, 6), 0);
	CHECK_EQ(store_consolidator_rows(c), 4);
	CHECK_EQ(store_consolidator_flows(c), 6);

	REQUIRE_EQ(store_consolidator_sort(c), 0);
	REQUIRE_EQ(store_consolidator_encode(c, round_none, NULL, &body, &rows), 0);
	CHECK_EQ(rows, 4);
	parse(&body, &b);
	CHECK_EQ(b.nrows, 4);
	CHECK_STR(b.cols[0].name, "TimeReceived");
	CHECK_STR(b.cols[b.ncols - 2].name, "Bytes");
	CHECK_STR(b.cols[b.ncols - 1].name, "Packets");
	/* Sorted as flows_1m sorts: time, exporter, EType, Proto, SrcAS, ...,
	 * Dst1stAS last. */
	CHECK_EQ(value(&b, "TimeReceived", 0), t);
	CHECK_EQ(value(&b, "SrcAS", 0), 65000);
	CHECK_EQ(value(&b, "Bytes", 0), 800);
	CHECK_EQ(value(&b, "SrcAS", 1), 65001);
	CHECK_EQ(value(&b, "Dst1stAS", 1), 0);
	CHECK_EQ(value(&b, "Bytes", 1), 100 + 200 + 1600);
	CHECK_EQ(value(&b, "Packets", 1), 3);
	CHECK_EQ(value(&b, "Dst1stAS", 2), 174);
	CHECK_EQ(value(&b, "Bytes", 2), 3200);
	CHECK_EQ(value(&b, "TimeReceived", 3), t + 60);
	CHECK_EQ(value(&b, "Bytes", 3), 400);
	CHECK_EQ(value(&b, "InIf", 3), 3);
	CHECK_EQ(value(&b, "OutIf", 3), 7);
	CHECK_EQ(value(&b, "SamplingRate", 3), 1000);
	CHECK_EQ(value(&b, "EType", 3), 0x0800);
	for (size_t i = 0; i < b.ncols; i++)
		CHECK(strcmp(b.cols[i].name, "SrcAddr") != 0);

	/* Five minutes: the two minutes of AS 65001 without path are one row. */
	REQUIRE_EQ(store_consolidator_encode(c, round_5m, NULL, &body, &rows), 0);
	parse(&body, &b);
	CHECK_EQ(rows, 3);
	CHECK_EQ(value(&b, "TimeReceived", 0), t - t % 300);
	CHECK_EQ(value(&b, "Bytes", 0), 800);
	CHECK_EQ(value(&b, "Bytes", 1), 100 + 200 + 1600 + 400);
	CHECK_EQ(value(&b, "Bytes", 2), 3200);

	store_consolidator_clear(c);
	CHECK_EQ(store_consolidator_rows(c), 0);
	CHECK_EQ(store_consolidator_add(c, f, 1), 0);
	CHECK_EQ(store_consolidator_rows(c), 1);
	buf_free(&body);
	store_consolidator_free(c);
}

/* Many rows in random order: the block comes out sorted by every key
 * column in turn, and no flow is lost from the sums. */
TEST(block_sorted_and_complete)
{
	enum { N = 20000 };
	struct store_consolidator *c;
	struct flow *f = calloc(N, sizeof(*f));
	struct buf body = {0};
	struct block b;
	size_t rows;
	uint64_t total = 0, sum = 0;
	static const char *const key[] = {
	    "TimeReceived", "ExporterAddress", "EType", "Proto", "SrcAS",	 "ForwardingStatus",
	    "DstAS",	    "SamplingRate",    "InIf",	"OutIf", "FlowDirection"};

	REQUIRE_EQ(store_consolidator_new(N, &c, NULL), 0);
	REQUIRE(c && f);
	srand(7);
	for (unsigned i = 0; i < N; i++) {
		flow(&f[i], 1700000000 + (unsigned)rand() % 600, 64512 + (unsigned)rand() % 50,
		     1 + (unsigned)rand() % 1500);
		f[i].exporter_address.s6_addr[15] = (uint8_t)(rand() % 4);
		f[i].in_if = (uint32_t)rand() % 300; /* across a byte boundary */
		f[i].proto = rand() % 2 ? 6 : 17;
		f[i].flow_direction = (uint8_t)(rand() % 3);
		total += f[i].bytes;
	}
	REQUIRE_EQ(store_consolidator_add(c, f, N), 0);
	REQUIRE_EQ(store_consolidator_sort(c), 0);
	REQUIRE_EQ(store_consolidator_encode(c, round_none, NULL, &body, &rows), 0);
	parse(&body, &b);
	CHECK_EQ(b.nrows, store_consolidator_rows(c));
	for (size_t r = 0; r < b.nrows; r++) {
		sum += value(&b, "Bytes", r);
		if (r == 0)
			continue;
		for (size_t k = 0; k < sizeof(key) / sizeof(key[0]); k++) {
			uint64_t a, z;

			if (!strcmp(key[k], "ExporterAddress")) {
				const struct block *bb = &b;
				const uint8_t *col = NULL;
				for (size_t i = 0; i < bb->ncols; i++)
					if (!strcmp(bb->cols[i].name, key[k]))
						col = bb->cols[i].data;
				int d = memcmp(col + 16 * (r - 1), col + 16 * r, 16);
				if (d < 0)
					break;
				if (d > 0) {
					test_fail_at(__FILE__, __LINE__,
						     "row %zu out of order on %s", r, key[k]);
					break;
				}
				continue;
			}
			a = value(&b, key[k], r - 1);
			z = value(&b, key[k], r);
			if (a < z)
				break;
			if (a > z) {
				test_fail_at(__FILE__, __LINE__, "row %zu out of order on %s", r,
					     key[k]);
				break;
			}
		}
	}
	CHECK_EQ(sum, total);
	buf_free(&body);
	free(f);
	store_consolidator_free(c);
}

TEST(bounded_by_max_rows)
{
	struct store_consolidator *c;
	struct flow f[4];

	REQUIRE_EQ(store_consolidator_new(3, &c, NULL), 0);
	for (unsigned i = 0; i < 4; i++)
		flow(&f[i], 1700000000, 65000 + i, 10);
	CHECK_EQ(store_consolidator_add(c, f, 2), 0);
	CHECK_EQ(store_consolidator_room(c, 1), 1);
	CHECK_EQ(store_consolidator_room(c, 2), 0);
	CHECK_EQ(store_consolidator_add(c, f + 2, 2), -ENOBUFS);
	CHECK_EQ(store_consolidator_rows(c), 2); /* all or nothing */
	CHECK_EQ(store_consolidator_add(c, f + 2, 1), 0);
	store_consolidator_free(c);
}

TEST(exporters_block)
{
	struct store_consolidator *c;
	struct buf body = {0};
	struct block b;
	struct flow f[3];
	size_t rows;

	REQUIRE_EQ(store_consolidator_new(100, &c, NULL), 0);
	flow(&f[0], 1700000000, 1, 1); /* 192.0.2.1: 3 and 7 */
	flow(&f[1], 1700000100, 2, 1); /* same interfaces, later */
	flow(&f[2], 1700000000, 1, 1);
	addr_from_ipv4(&f[2].exporter_address, 0xc0000202);
	f[2].out_if = 3; /* 192.0.2.2: 3 only */
	CHECK_EQ(store_consolidator_add(c, f, 3), 0);
	REQUIRE_EQ(store_consolidator_encode_exporters(c, &body, &rows), 0);
	parse(&body, &b);
	CHECK_EQ(rows, 3);
	CHECK_EQ(b.nrows, 3);
	CHECK_EQ(value(&b, "IfIndex", 0), 3);
	CHECK_EQ(value(&b, "TimeReceived", 0), 1700000100 - 1700000100 % 60);
	CHECK_EQ(value(&b, "IfIndex", 1), 7);
	CHECK_EQ(value(&b, "IfIndex", 2), 3);
	CHECK_EQ(value(&b, "TimeReceived", 2), 1700000000 - 1700000000 % 60);
	CHECK(memcmp(b.cols[1].data + 32, "\0\0\0\0\0\0\0\0\0\0\xff\xff\xc0\0\2\2", 16) == 0);
	buf_free(&body);
	store_consolidator_free(c);
}

TEST(columns_are_named)
{
	struct store_consolidator *c;
	char *q;

	REQUIRE_EQ(store_consolidator_new(10, &c, NULL), 0);
	q = store_consolidator_columns(c);
	REQUIRE(q);
	CHECK(!strncmp(q, "TimeReceived, ExporterAddress, EType, Proto, SrcAS", 50));
	CHECK(strstr(q, "Dst3rdAS, Bytes, Packets") != NULL);
	CHECK_EQ(q[strlen(q) - 1], 's');      /* nothing after Packets */
	CHECK(strstr(q, "InIfName") == NULL); /* enrichment: only with strings */
	free(q);
	store_consolidator_free(c);
}

/* With the enrichment (store_consolidator_set_strings): flows differing only
 * by their enrichment are rows apart, equal ones are summed; the columns come
 * after Packets with their strings; exporters carry the names. */
TEST(enrichment_dimensions)
{
	struct store_consolidator *c;
	struct buf body = {0};
	struct strtab *strs;
	struct flow f[3];
	size_t rows;
	char *q;

	REQUIRE_EQ(strtab_new(0, &strs, NULL), 0);
	REQUIRE_EQ(store_consolidator_new(100, &c, NULL), 0);
	REQUIRE_EQ(store_consolidator_set_strings(c, strs), 0);
	CHECK_EQ(store_consolidator_set_strings(c, strs), -EBUSY);
	q = store_consolidator_columns(c);
	REQUIRE(q);
	CHECK(strstr(q, "Bytes, Packets, InIfName, OutIfName, ExporterName, ExporterGroup") !=
	      NULL);
	CHECK(strstr(q, "InIfName") != NULL && strstr(q, "DstCountry") != NULL);
	free(q);
	for (unsigned i = 0; i < 3; i++)
		flow(&f[i], 1700000000, 1, 10);
	f[0].enriched.in_if.name = strtab_intern_cstr(strs, "et-0/0/3");
	f[0].enriched.in_if.speed = 100000;
	f[1].enriched = f[0].enriched;
	f[2].enriched.in_if.name = strtab_intern_cstr(strs, "xe-1");
	CHECK_EQ(store_consolidator_add(c, f, 3), 0);
	CHECK_EQ(store_consolidator_rows(c), 2);
	REQUIRE_EQ(store_consolidator_sort(c), 0);
	REQUIRE_EQ(store_consolidator_encode(c, round_none, NULL, &body, &rows), 0);
	CHECK_EQ(rows, 2);
	static const char in_if[] = "\x08InIfName\x06String\x08"
				    "et-0/0/3\x04xe-1";
	CHECK(memmem(body.data, body.len, in_if, sizeof(in_if) - 1) != NULL);
	static const char speed[] = "\x09InIfSpeed\x06UInt32\xa0\x86\x01\x00\0\0\0\0";
	CHECK(memmem(body.data, body.len, speed, sizeof(speed) - 1) != NULL);
	REQUIRE_EQ(store_consolidator_encode_exporters(c, &body, &rows), 0);
	CHECK_EQ(rows, 2); /* (ifIndex 3 and 7: 3 named by the first tuple seen) */
	static const char if_name[] = "\x06IfName\x06String";
	const char *p = memmem(body.data, body.len, if_name, sizeof(if_name) - 1);
	REQUIRE(p != NULL);
	CHECK(p[sizeof(if_name) - 1] == 8 || p[sizeof(if_name) - 1] == 4);
	store_consolidator_clear(c);
	CHECK_EQ(store_consolidator_rows(c), 0);
	CHECK_EQ(store_consolidator_add(c, f, 3), 0);
	CHECK_EQ(store_consolidator_rows(c), 2);
	buf_free(&body);
	store_consolidator_free(c);
	strtab_free(strs);
}
