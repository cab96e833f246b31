// SPDX-License-Identifier: AGPL-3.0-or-later
/* The Kafka bus's wire messages: envelopes packed with protobuf-c and
 * unpacked by our in-place reader (and the other way round), hostile input,
 * and every flow column through proto/flow.proto. */
#include <errno.h>
#include <stdlib.h>

#include "bus/bus.h"
#include "common/flow_schema.h"
#include "flow.pb-c.h"
#include "raw_datagram.pb-c.h"
#include "test.h"

static uint8_t payload[BUS_MAX_DATAGRAM];
static uint8_t packed[BUS_MAX_DATAGRAM + BUS_ENVELOPE_OVERHEAD + 64];

static struct bus_envelope sample(uint32_t len)
{
	struct bus_envelope env = {
	    .time_received_ns = 1700000000123456789ull,
	    .exporter_port = 2055,
	    .len = len,
	    .data = payload,
	};
	for (int i = 0; i < 16; i++)
		env.exporter.s6_addr[i] = (uint8_t)(0xa0 + i);
	for (uint32_t i = 0; i < len; i++)
		payload[i] = (uint8_t)(i * 7 + len);
	return env;
}

static void check_same(const struct bus_envelope *a, const struct bus_envelope *b)
{
	CHECK_EQ(a->time_received_ns, b->time_received_ns);
	CHECK_MEM(&a->exporter, &b->exporter, 16);
	CHECK_EQ(a->exporter_port, b->exporter_port);
	REQUIRE_EQ(a->len, b->len);
	if (a->len)
		CHECK_MEM(a->data, b->data, a->len);
}

TEST(envelope_round_trip_all_sizes)
{
	static const uint32_t lens[] = {0, 1, 127, 128, 1400, 16383, 16384, BUS_MAX_DATAGRAM};

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct bus_envelope env = sample(lens[i]), got;
		int n = bus_envelope_pack(&env, packed, sizeof(packed));

		REQUIRE(n > 0);
		CHECK(n <= (int)(lens[i] + BUS_ENVELOPE_OVERHEAD));
		REQUIRE_EQ(bus_envelope_unpack(packed, (size_t)n, &got), 0);
		check_same(&env, &got);
		/* zero copy: the payload is read in place */
		if (lens[i])
			CHECK(got.data >= packed && got.data + got.len <= packed + n);
	}
}

TEST(envelope_packed_is_what_protobuf_c_reads)
{
	struct bus_envelope env = sample(1400);
	int n = bus_envelope_pack(&env, packed, sizeof(packed));
	Weir__RawDatagram *m;

	REQUIRE(n > 0);
	m = weir__raw_datagram__unpack(NULL, (size_t)n, packed);
	REQUIRE(m != NULL);
	CHECK_EQ(m->time_received_ns, env.time_received_ns);
	REQUIRE_EQ(m->exporter_address.len, 16);
	CHECK_MEM(m->exporter_address.data, &env.exporter, 16);
	CHECK_EQ(m->exporter_port, 2055);
	REQUIRE_EQ(m->payload.len, 1400);
	CHECK_MEM(m->payload.data, payload, 1400);
	weir__raw_datagram__free_unpacked(m, NULL);
}

TEST(envelope_reader_skips_unknown_fields)
{
	struct bus_envelope env = sample(300), got;
	int n = bus_envelope_pack(&env, packed, sizeof(packed));
	/* field 9 varint, field 10 bytes, field 11 fixed32, field 12 fixed64,
	 * as a newer producer might add */
	static const uint8_t extra[] = {0x48, 0x96, 0x01, 0x52, 0x03, 'a', 'b', 'c', 0x5d, 1, 2,
					3,    4,    0x61, 1,	2,    3,   4,	5,   6,	   7, 8};

	REQUIRE(n > 0);
	memmove(packed + sizeof(extra), packed, (size_t)n);
	memcpy(packed, extra, sizeof(extra));
	REQUIRE_EQ(bus_envelope_unpack(packed, (size_t)n + sizeof(extra), &got), 0);
	check_same(&env, &got);
}

TEST(envelope_reader_refuses_bad_input)
{
	struct bus_envelope got;
	/* exporter of 4 bytes */
	static const uint8_t short_addr[] = {0x12, 0x04, 192, 0, 2, 1};
	/* payload as a varint (wrong wire type) */
	static const uint8_t wrong_wire[] = {0x20, 0x05};
	/* a group (wire type 3) */
	static const uint8_t group[] = {0x0b, 0x0c};
	/* a length past the end */
	static const uint8_t past_end[] = {0x22, 0x10, 1, 2, 3};
	/* an 11-byte varint */
	static const uint8_t long_varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
					      0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	/* port above 65535 */
	static const uint8_t big_port[] = {0x18, 0x80, 0x80, 0x04};
	/* field number 0 */
	static const uint8_t field0[] = {0x00, 0x01};

	CHECK_EQ(bus_envelope_unpack(short_addr, sizeof(short_addr), &got), -EBADMSG);
	CHECK_EQ(bus_envelope_unpack(wrong_wire, sizeof(wrong_wire), &got), -EBADMSG);
	CHECK_EQ(bus_envelope_unpack(group, sizeof(group), &got), -EBADMSG);
	CHECK_EQ(bus_envelope_unpack(past_end, sizeof(past_end), &got), -EBADMSG);
	CHECK_EQ(bus_envelope_unpack(long_varint, sizeof(long_varint), &got), -EBADMSG);
	CHECK_EQ(bus_envelope_unpack(big_port, sizeof(big_port), &got), -EBADMSG);
	CHECK_EQ(bus_envelope_unpack(field0, sizeof(field0), &got), -EBADMSG);
}

TEST(envelope_reader_refuses_oversized_payload)
{
	/* field 4, length 65536, built by hand: the packer would refuse it */
	uint8_t *buf = calloc(1, 65536 + 8);
	struct bus_envelope got;

	REQUIRE(buf != NULL);
	buf[0] = 0x22;
	buf[1] = 0x80;
	buf[2] = 0x80;
	buf[3] = 0x04;
	CHECK_EQ(bus_envelope_unpack(buf, 65536 + 4, &got), -EBADMSG);
	free(buf);
}

TEST(envelope_every_truncation_is_safe)
{
	struct bus_envelope env = sample(200), got;
	int n = bus_envelope_pack(&env, packed, sizeof(packed));
	int whole = 0;

	REQUIRE(n > 0);
	/* Each prefix in its own heap block, so ASan sees any read past it. */
	for (int cut = 0; cut < n; cut++) {
		uint8_t *p = malloc((size_t)cut + 1);
		REQUIRE(p != NULL);
		memcpy(p, packed, (size_t)cut);
		if (bus_envelope_unpack(p, (size_t)cut, &got) == 0) {
			CHECK(got.len == 0 || (got.data >= p && got.data + got.len <= p + cut));
			whole++;
		}
		free(p);
	}
	/* only the cuts at a field boundary before the payload decode */
	CHECK(whole <= 4);
}

TEST(envelope_random_bytes_never_crash)
{
	uint8_t buf[64];
	struct bus_envelope got;
	unsigned seed = 12345;
	int ok = 0;

	for (int i = 0; i < 200000; i++) {
		size_t len = (size_t)(rand_r(&seed) % (int)sizeof(buf));
		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)rand_r(&seed);
		if (bus_envelope_unpack(buf, len, &got) == 0) {
			ok++;
			CHECK(got.len == 0 || (got.data >= buf && got.data + got.len <= buf + len));
			CHECK(got.len <= BUS_MAX_DATAGRAM);
		}
	}
	CHECK(ok > 0); /* some random inputs are valid messages */
}

TEST(envelope_packer_refuses_what_does_not_fit)
{
	struct bus_envelope env = sample(100);

	CHECK_EQ(bus_envelope_pack(&env, packed, 50), -EMSGSIZE);
	env.len = BUS_MAX_DATAGRAM + 1;
	CHECK_EQ(bus_envelope_pack(&env, packed, sizeof(packed)), -EMSGSIZE);
}

/* ---- flows ---- */

/* A flow with a distinct non-zero value in every column. */
static void fill_flow(struct flow *f)
{
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < flow_fields_count; i++) {
		const struct flow_field *ff = &flow_fields[i];
		char *p = (char *)f + ff->offset;
		uint64_t v = 1000003ull * (i + 1);

		switch (ff->kind) {
		case FLOW_FIELD_U8:
			*(uint8_t *)p = (uint8_t)(i + 1);
			break;
		case FLOW_FIELD_U16:
			*(uint16_t *)p = (uint16_t)(v | 1);
			break;
		case FLOW_FIELD_U32:
			*(uint32_t *)p = (uint32_t)v;
			break;
		case FLOW_FIELD_U64:
			*(uint64_t *)p = v << 20;
			break;
		case FLOW_FIELD_MAC:
			*(uint64_t *)p = 0x0000a1b2c3d4e5f6ull + i;
			break;
		case FLOW_FIELD_DIRECTION:
			*(uint8_t *)p = FLOW_DIRECTION_EGRESS;
			break;
		case FLOW_FIELD_ADDR:
			for (int k = 0; k < 16; k++)
				p[k] = (char)(i * 16 + (size_t)k + 1);
			break;
		case FLOW_FIELD_U32_ARRAY:
			*((uint8_t *)f + ff->count_offset) = 3;
			for (int k = 0; k < 3; k++)
				((uint32_t *)p)[k] = (uint32_t)(v + (uint64_t)k);
			break;
		case FLOW_FIELD_LARGE_COMMUNITY_ARRAY:
			*((uint8_t *)f + ff->count_offset) = 2;
			for (int k = 0; k < 2; k++)
				((struct flow_large_community *)p)[k] =
				    (struct flow_large_community){65000 + (uint32_t)k, 1, 2};
			break;
		}
	}
	/* full arrays too */
	f->dst_as_path_count = FLOW_MAX_AS_PATH;
	for (int k = 0; k < FLOW_MAX_AS_PATH; k++)
		f->dst_as_path[k] = 4200000000u + (uint32_t)k;
	f->dst_large_communities_count = FLOW_MAX_LARGE_COMMUNITIES;
	for (int k = 0; k < FLOW_MAX_LARGE_COMMUNITIES; k++)
		f->dst_large_communities[k] =
		    (struct flow_large_community){4200000000u, 7, (uint32_t)k};
}

static void check_same_flow(const struct flow *a, const struct flow *b)
{
	for (size_t i = 0; i < flow_fields_count; i++) {
		const struct flow_field *ff = &flow_fields[i];
		const char *pa = (const char *)a + ff->offset, *pb = (const char *)b + ff->offset;
		unsigned n;

		switch (ff->kind) {
		case FLOW_FIELD_ADDR:
			if (memcmp(pa, pb, 16) != 0)
				test_fail_at(__FILE__, __LINE__, "column %s differs", ff->name);
			break;
		case FLOW_FIELD_U32_ARRAY:
		case FLOW_FIELD_LARGE_COMMUNITY_ARRAY:
			n = *((const uint8_t *)a + ff->count_offset);
			if (n != *((const uint8_t *)b + ff->count_offset) ||
			    memcmp(pa, pb,
				   n * (ff->kind == FLOW_FIELD_U32_ARRAY
					    ? sizeof(uint32_t)
					    : sizeof(struct flow_large_community))) != 0)
				test_fail_at(__FILE__, __LINE__, "column %s differs", ff->name);
			break;
		default:
			if (flow_field_get_uint(a, ff) != flow_field_get_uint(b, ff))
				test_fail_at(__FILE__, __LINE__, "column %s: %llu != %llu",
					     ff->name, flow_field_get_uint(a, ff),
					     flow_field_get_uint(b, ff));
			break;
		}
	}
}

TEST(flow_every_column_round_trips)
{
	struct flow f, got;
	uint8_t buf[BUS_FLOW_MAX_PACKED];
	int n;

	fill_flow(&f);
	n = bus_flow_pack(&f, buf, sizeof(buf));
	REQUIRE(n > 0);
	memset(&got, 0xee, sizeof(got));
	REQUIRE_EQ(bus_flow_unpack(buf, (size_t)n, &got), 0);
	check_same_flow(&f, &got);
}

TEST(flow_zero_packs_empty_and_back)
{
	struct flow f, got;
	uint8_t buf[BUS_FLOW_MAX_PACKED];

	memset(&f, 0, sizeof(f));
	REQUIRE_EQ(bus_flow_pack(&f, buf, sizeof(buf)), 0);
	memset(&got, 0xee, sizeof(got));
	REQUIRE_EQ(bus_flow_unpack(buf, 0, &got), 0);
	check_same_flow(&f, &got);
}

TEST(flow_fields_are_named_after_columns)
{
	struct flow f;
	uint8_t buf[BUS_FLOW_MAX_PACKED];
	Weir__Flow *m;
	int n;

	/* every column has a proto field of its name */
	for (size_t i = 0; i < flow_fields_count; i++)
		if (!protobuf_c_message_descriptor_get_field_by_name(&weir__flow__descriptor,
								     flow_fields[i].name))
			test_fail_at(__FILE__, __LINE__, "no field %s in flow.proto",
				     flow_fields[i].name);
	fill_flow(&f);
	n = bus_flow_pack(&f, buf, sizeof(buf));
	REQUIRE(n > 0);
	/* and protobuf-c reads what we wrote under those names */
	m = weir__flow__unpack(NULL, (size_t)n, buf);
	REQUIRE(m != NULL);
	CHECK_EQ(m->srcport, f.src_port);
	CHECK_EQ(m->dstport, f.dst_port);
	CHECK_EQ(m->bytes, f.bytes);
	CHECK_EQ(m->srcas, f.src_as);
	CHECK_EQ(m->srcmac, f.src_mac);
	CHECK_EQ(m->flowdirection, WEIR__FLOW_DIRECTION__FLOW_DIRECTION_EGRESS);
	REQUIRE_EQ(m->srcaddr.len, 16);
	CHECK_MEM(m->srcaddr.data, &f.src_addr, 16);
	REQUIRE_EQ(m->n_dstaspath, FLOW_MAX_AS_PATH);
	CHECK_EQ(m->dstaspath[15], 4200000015u);
	REQUIRE_EQ(m->n_dstlargecommunities, FLOW_MAX_LARGE_COMMUNITIES);
	CHECK_EQ(m->dstlargecommunities[3]->local_data2, 3);
	CHECK_EQ(m->timeflowendms, f.time_flow_end_ms);
	weir__flow__free_unpacked(m, NULL);
}

TEST(flow_reader_refuses_bad_values)
{
	Weir__Flow m = WEIR__FLOW__INIT;
	uint8_t addr4[4] = {192, 0, 2, 1}, buf[BUS_FLOW_MAX_PACKED];
	uint32_t path[FLOW_MAX_AS_PATH + 1] = {0};
	struct flow f;
	size_t n;

	m.srcaddr.len = 4;
	m.srcaddr.data = addr4;
	n = weir__flow__pack(&m, buf);
	CHECK_EQ(bus_flow_unpack(buf, n, &f), -EBADMSG);

	m.srcaddr.len = 0;
	m.n_dstaspath = FLOW_MAX_AS_PATH + 1;
	m.dstaspath = path;
	n = weir__flow__pack(&m, buf);
	CHECK_EQ(bus_flow_unpack(buf, n, &f), -EBADMSG);

	static const uint8_t junk[] = {0xff, 0xff, 0xff};
	CHECK_EQ(bus_flow_unpack(junk, sizeof(junk), &f), -EBADMSG);
}

TEST(flow_packer_refuses_small_buffer)
{
	struct flow f;
	uint8_t buf[16];

	fill_flow(&f);
	CHECK_EQ(bus_flow_pack(&f, buf, sizeof(buf)), -EMSGSIZE);
}
