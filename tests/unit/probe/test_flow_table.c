// SPDX-License-Identifier: AGPL-3.0-or-later
/* The probe's user-space flow table: per-CPU counters merge exactly, flows
 * leave on idle, active timeout and TCP FIN/RST, a full table says so, and
 * removal keeps every other entry reachable (checked against a plain array
 * over many random operations). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "probe/probe_internal.h"
#include "test.h"

#define MS 1000000ull

static struct probe_flow_key key(unsigned i)
{
	struct probe_flow_key k;

	memset(&k, 0, sizeof(k));
	k.ifindex = 2;
	k.ip_version = 4;
	k.proto = 17;
	k.src_port = (uint16_t)i;
	k.dst_port = (uint16_t)(i >> 16);
	k.src[0] = 10;
	return k;
}

static struct probe_flow_value val(uint64_t bytes, uint64_t packets, uint64_t first, uint64_t last)
{
	struct probe_flow_value v;

	memset(&v, 0, sizeof(v));
	v.bytes = bytes;
	v.packets = packets;
	v.first_ns = first;
	v.last_ns = last;
	return v;
}

struct seen {
	unsigned n;
	uint64_t bytes, packets;
	uint8_t reasons[8];
	struct probe_entry last;
};

static int collect(void *ctx, const struct probe_entry *e, uint8_t reason)
{
	struct seen *s = ctx;

	s->n++;
	s->bytes += e->bytes;
	s->packets += e->packets;
	if (reason < 8)
		s->reasons[reason]++;
	s->last = *e;
	return 0;
}

TEST(cpus_merge_exactly)
{
	struct probe_table t;
	struct probe_flow_key k = key(1);
	struct probe_flow_value a = val(100, 2, 50 * MS, 60 * MS), b = val(40, 1, 20 * MS, 90 * MS);
	struct seen s = {0};

	REQUIRE_EQ(probe_table_init(&t, 16), 0);
	a.tcp_flags = 0x02;
	a.tos = 8;
	b.tcp_flags = 0x10;
	b.tos = 4;
	CHECK_EQ(probe_table_add(&t, &k, &a), 0);
	CHECK_EQ(probe_table_add(&t, &k, &b), 0);
	CHECK_EQ(t.count, 1);
	CHECK_EQ(probe_table_expire(&t, 0, 1, 1, 1, collect, &s), 0);
	CHECK_EQ(s.n, 1);
	CHECK_EQ(s.last.bytes, 140);
	CHECK_EQ(s.last.packets, 3);
	CHECK_EQ(s.last.first_ns, 20 * MS);
	CHECK_EQ(s.last.last_ns, 90 * MS);
	CHECK_EQ(s.last.tcp_flags, 0x12);
	CHECK_EQ(s.last.tos, 4); /* the earliest packet's */
	CHECK_EQ(s.reasons[PROBE_END_FORCED], 1);
	CHECK_EQ(t.count, 0);
	probe_table_fini(&t);
}

TEST(idle_active_and_fin_end_flows)
{
	struct probe_table t;
	struct probe_flow_key k1 = key(1), k2 = key(2), k3 = key(3), k4 = key(4);
	struct probe_flow_value idle = val(1, 1, 0, 1000 * MS), busy = val(1, 1, 0, 5000 * MS),
				fresh = val(1, 1, 4000 * MS, 5000 * MS),
				fin = val(1, 1, 4900 * MS, 5000 * MS);
	struct seen s = {0};

	REQUIRE_EQ(probe_table_init(&t, 16), 0);
	fin.tcp_flags = 0x11;
	probe_table_add(&t, &k1, &idle);
	probe_table_add(&t, &k2, &busy);
	probe_table_add(&t, &k3, &fresh);
	probe_table_add(&t, &k4, &fin);
	/* now 5 s: idle 2 s, active 4 s. */
	CHECK_EQ(probe_table_expire(&t, 5000 * MS, 2000 * MS, 4000 * MS, 0, collect, &s), 0);
	CHECK_EQ(s.n, 3);
	CHECK_EQ(s.reasons[PROBE_END_IDLE], 1);
	CHECK_EQ(s.reasons[PROBE_END_ACTIVE], 1);
	CHECK_EQ(s.reasons[PROBE_END_FLOW_END], 1);
	CHECK_EQ(t.count, 1); /* k3 stays */
	probe_table_fini(&t);
}

TEST(full_table_says_so)
{
	struct probe_table t;
	struct probe_flow_value v = val(1, 1, 1, 1);
	unsigned added = 0;

	REQUIRE_EQ(probe_table_init(&t, 10), 0);
	for (unsigned i = 0; i < 1000; i++) {
		struct probe_flow_key k = key(i);

		if (probe_table_add(&t, &k, &v) == 0)
			added++;
		else
			break;
	}
	CHECK_EQ(added, 10);
	CHECK_EQ(t.limit, 10);
	probe_table_fini(&t);
}

/* Random adds and partial expiries against a reference: every byte added is
 * expired exactly once. */
TEST(removal_keeps_every_entry_reachable)
{
	struct probe_table t;
	uint64_t *ref = calloc(4096, sizeof(*ref)), added = 0;
	struct seen s = {0};
	uint64_t seed = 42;

	REQUIRE(ref);
	REQUIRE_EQ(probe_table_init(&t, 1000), 0);
	for (int round = 0; round < 200; round++) {
		for (int i = 0; i < 300; i++) {
			unsigned id;
			struct probe_flow_key k;
			struct probe_flow_value v;

			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			id = (unsigned)(seed >> 33) % 4096;
			k = key(id);
			v = val(id + 1, 1, (uint64_t)round * MS, (uint64_t)round * MS);
			if (probe_table_add(&t, &k, &v) == 0) {
				ref[id] += id + 1;
				added += id + 1;
			}
		}
		/* Flows idle for 3 rounds leave. */
		probe_table_expire(&t, (uint64_t)round * MS, 3 * MS, 1000 * MS, 0, collect, &s);
	}
	probe_table_expire(&t, 0, 1, 1, 1, collect, &s);
	CHECK_EQ(t.count, 0);
	CHECK_EQ(s.bytes, added);
	for (unsigned i = 0; i < t.mask + 1; i++)
		CHECK(!t.slots[i]);
	probe_table_fini(&t);
	free(ref);
}

/* A flow a FIN/RST ended leaves with what earlier drains put in the table;
 * the other entries stay reachable; an entry the kernel emptied (no bytes,
 * no packets) adds nothing, one with bytes but no packets still counts. */
TEST(take_ends_one_flow)
{
	struct probe_table t;
	struct probe_flow_key k1 = key(1), k2 = key(2), k3 = key(3);
	struct probe_flow_value a = val(100, 2, 10 * MS, 20 * MS), b = val(7, 1, 30 * MS, 30 * MS);
	struct probe_flow_value zero = val(0, 0, 5 * MS, 5 * MS), bytes_only = val(9, 0, 1, 1);
	struct probe_entry e;
	struct seen s = {0};

	REQUIRE_EQ(probe_table_init(&t, 16), 0);
	CHECK_EQ(probe_table_add(&t, &k1, &a), 0);
	CHECK_EQ(probe_table_add(&t, &k2, &a), 0);
	CHECK_EQ(probe_table_add(&t, &k1, &b), 0); /* the FIN record */
	CHECK_EQ(probe_table_add(&t, &k3, &zero), 0);
	CHECK_EQ(t.count, 2);
	CHECK_EQ(probe_table_take(&t, &k1, &e), 0);
	CHECK_EQ(e.bytes, 107);
	CHECK_EQ(e.packets, 3);
	CHECK_EQ(e.first_ns, 10 * MS);
	CHECK_EQ(e.last_ns, 30 * MS);
	CHECK_EQ(t.count, 1);
	CHECK_EQ(probe_table_take(&t, &k1, &e), -ENOENT);
	CHECK_EQ(probe_table_take(&t, &k3, &e), -ENOENT);
	CHECK_EQ(probe_table_add(&t, &k2, &bytes_only), 0);
	CHECK_EQ(probe_table_expire(&t, 0, 1, 1, 1, collect, &s), 0);
	CHECK_EQ(s.n, 1);
	CHECK_EQ(s.bytes, 109);
	CHECK_EQ(s.packets, 2);
	probe_table_fini(&t);
}
