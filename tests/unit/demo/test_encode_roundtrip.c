// SPDX-License-Identifier: AGPL-3.0-or-later
/* The demo encoder against weir's decoders: seeded random flows (IPv4 and
 * IPv6, every field the format carries) are encoded, decoded with
 * decode_datagram() and compared field by field; plus the wire details a
 * decoder does not show (sequence numbers, template refresh, sizes) and the
 * pcap writer read back with pcap_udp_walk(). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/be.h"
#include "common/flow_schema.h"
#include "common/pcap_udp.h"
#include "decode/decode.h"
#include "demo/demo.h"
#include "test.h"

#define NOW	   1700000000ull
#define RATE	   1000
#define MAX_DGRAMS 4096

/* The columns each format carries (demo.h says the same in words). */
static const char *const common_fields[] = {
    "TimeReceived", "SamplingRate", "ExporterAddress", "SrcAddr",    "DstAddr",	   "EType",
    "Proto",	    "SrcPort",	    "DstPort",	       "Bytes",	     "Packets",	   "InIf",
    "OutIf",	    "IPTos",	    "TCPFlags",	       "SrcNetMask", "DstNetMask", "SrcAS",
    "DstAS",	    "NextHop",	    "ICMPv4Type",      "ICMPv4Code", NULL,
};
static const char *const v5_fields[] = {"TimeFlowStartMs", "TimeFlowEndMs", NULL};
static const char *const compact_fields[] = {
    "TimeFlowStartMs", "TimeFlowEndMs", "ICMPv6Type", "ICMPv6Code", NULL,
};
static const char *const template_fields[] = {
    "TimeFlowStartMs", "TimeFlowEndMs",
    "SrcMAC",	       "DstMAC",
    "SrcVlan",	       "DstVlan",
    "FlowDirection",   "ForwardingStatus",
    "ICMPv6Type",      "ICMPv6Code",
    "MPLSLabels",      "IngressVRFID",
    "EgressVRFID",     "SrcAddrNAT",
    "DstAddrNAT",      "SrcPortNAT",
    "DstPortNAT",      "IPTTL",
    "IPFragmentID",    "IPFragmentOffset",
    "IPv6FlowLabel",   NULL,
};
static const char *const sflow_fields[] = {
    "SrcMAC",	     "DstMAC",	   "SrcVlan",	     "DstVlan",	     "ICMPv6Type",
    "ICMPv6Code",    "MPLSLabels", "IPTTL",	     "IPFragmentID", "IPFragmentOffset",
    "IPv6FlowLabel", "DstASPath",  "DstCommunities", NULL,
};

struct datagrams {
	size_t count;
	uint8_t *data[MAX_DGRAMS];
	size_t len[MAX_DGRAMS];
};

static void datagrams_free(struct datagrams *d)
{
	for (size_t i = 0; i < d->count; i++)
		free(d->data[i]);
	d->count = 0;
}

/* Encodes all of flows[0..n) into d; returns the flows consumed. */
static size_t encode_all(struct demo_encoder *enc, const struct flow *flows, size_t n,
			 struct datagrams *d)
{
	size_t done = 0;
	uint8_t buf[65536];

	while (done < n && d->count < MAX_DGRAMS) {
		size_t len = 0;
		int r = demo_encoder_encode(enc, flows + done, n - done, buf, sizeof(buf), &len);

		REQUIRE(r >= 0);
		if (len) {
			d->data[d->count] = malloc(len);
			REQUIRE(d->data[d->count]);
			memcpy(d->data[d->count], buf, len);
			d->len[d->count++] = len;
		}
		if (r == 0)
			REQUIRE(len > 0); /* a template-only datagram, else no progress */
		done += (size_t)r;
	}
	return done;
}

struct decoded {
	struct flow *flows;
	uint32_t count;
	uint32_t bad; /* datagrams not decoded cleanly */
	uint32_t templates;
	enum decode_reason first_status;
};

static void decode_all(const struct datagrams *d, size_t from, struct decoded *out, uint32_t cap)
{
	struct decode_config cfg;
	struct decode_state *st;
	struct decode_output o;

	decode_config_init(&cfg);
	REQUIRE_EQ(decode_state_new(&cfg, &st, NULL), 0);
	out->flows = calloc(cap, sizeof(struct flow));
	REQUIRE(out->flows);
	o = (struct decode_output){.flows = out->flows, .cap = cap};
	for (size_t i = from; i < d->count; i++) {
		struct decode_input in = {
		    .data = d->data[i], .len = d->len[i], .time_received = NOW};
		struct decode_result r;

		addr_from_text(&in.exporter, "192.0.2.10");
		if (decode_datagram(st, &in, &o, &r) != DECODE_OK) {
			if (!out->bad)
				out->first_status = r.status;
			out->bad++;
		}
		out->templates += r.templates;
	}
	out->count = o.count;
	decode_state_free(st);
}

static unsigned field_count(const struct flow *f, const struct flow_field *fd)
{
	return *((const uint8_t *)f + fd->count_offset);
}

/* Compares one column; returns 0 when equal, else writes both values. */
static int field_differs(const struct flow *a, const struct flow *b, const struct flow_field *fd,
			 char *msg, size_t size)
{
	const void *pa = (const char *)a + fd->offset, *pb = (const char *)b + fd->offset;

	switch (fd->kind) {
	case FLOW_FIELD_ADDR: {
		char ta[ADDR_TEXT_MAX], tb[ADDR_TEXT_MAX];

		if (!memcmp(pa, pb, 16))
			return 0;
		addr_to_text(pa, ta, sizeof(ta));
		addr_to_text(pb, tb, sizeof(tb));
		snprintf(msg, size, "%s != %s", ta, tb);
		return 1;
	}
	case FLOW_FIELD_U32_ARRAY: {
		unsigned na = field_count(a, fd), nb = field_count(b, fd);

		if (na == nb && !memcmp(pa, pb, 4 * na))
			return 0;
		snprintf(msg, size, "%u entries (first %u) != %u entries (first %u)", na,
			 na ? *(const uint32_t *)pa : 0, nb, nb ? *(const uint32_t *)pb : 0);
		return 1;
	}
	case FLOW_FIELD_LARGE_COMMUNITY_ARRAY:
		return 0;
	default: {
		unsigned long long va = flow_field_get_uint(a, fd), vb = flow_field_get_uint(b, fd);

		if (va == vb)
			return 0;
		snprintf(msg, size, "%llu != %llu", va, vb);
		return 1;
	}
	}
}

/* Compares the listed columns of want[i] and got[i]; reports the first
 * differences (flow index, column, values). Returns the count of them. */
static unsigned compare(const struct flow *want, const struct flow *got, size_t n,
			const char *const *const lists[], const char *where)
{
	unsigned bad = 0;

	for (size_t i = 0; i < n; i++) {
		for (unsigned l = 0; lists[l]; l++) {
			for (unsigned k = 0; lists[l][k]; k++) {
				const struct flow_field *fd = flow_field_find(lists[l][k]);
				char msg[160];

				REQUIRE(fd);
				if (!field_differs(&want[i], &got[i], fd, msg, sizeof(msg)))
					continue;
				if (bad++ < 12)
					test_fail_at(__FILE__, __LINE__, "%s flow %zu %s: want %s",
						     where, i, fd->name, msg);
			}
		}
	}
	return bad;
}

static const char *const *const v5_lists[] = {common_fields, v5_fields, NULL};
static const char *const *const template_lists[] = {common_fields, template_fields, NULL};
static const char *const *const sflow_lists[] = {common_fields, sflow_fields, NULL};
static const char *const *const compact_lists[] = {common_fields, compact_fields, NULL};

/* What a decoder gives back for `f` sent in `format` (the fields that
 * format cannot carry are compared only where both are zero). */
static void expected(struct flow *f, enum demo_format format, const struct in6_addr *exporter,
		     int compact)
{
	f->exporter_address = *exporter;
	f->sampling_rate = RATE;
	/* Without ICMP fields, type << 8 | code rides in the destination port. */
	if ((format == DEMO_NETFLOW_V5 || compact) && !f->src_port && !f->dst_port) {
		if (f->proto == 1)
			f->dst_port = (uint16_t)(f->icmpv4_type << 8 | f->icmpv4_code);
		else if (f->proto == 58)
			f->dst_port = (uint16_t)(f->icmpv6_type << 8 | f->icmpv6_code);
	}
	if (format != DEMO_SFLOW_V5 && f->etype == 0x0800) {
		/* NetFlow templates have a place for these addresses in every
		 * record: an absent one is sent, and read back, as 0.0.0.0. */
		struct in6_addr *a[] = {&f->next_hop, &f->src_addr_nat, &f->dst_addr_nat};

		for (unsigned i = 0; i < 3; i++)
			if (addr_is_zero(a[i]))
				addr_from_ipv4(a[i], 0);
	}
	if (format == DEMO_SFLOW_V5 && !f->dst_as_path_count && f->dst_as) {
		/* sFlow's destination AS is the last of the AS path. */
		f->dst_as_path_count = 1;
		f->dst_as_path[0] = f->dst_as;
	}
}

static void roundtrip(enum demo_format format, uint64_t seed, size_t n, int sampling_in_record,
		      const char *agent, int compact)
{
	struct demo_encoder_config cfg = {
	    .format = format,
	    .domain_id = 7,
	    .sampling_rate = RATE,
	    .template_refresh = 20,
	    .sampling_in_record = sampling_in_record,
	    .compact = compact,
	};
	const char *const *const *lists = compact		      ? compact_lists
					  : format == DEMO_NETFLOW_V5 ? v5_lists
					  : format == DEMO_SFLOW_V5   ? sflow_lists
								      : template_lists;
	struct flow *flows = calloc(n, sizeof(*flows));
	struct datagrams *d = calloc(1, sizeof(*d));
	struct decoded dec = {0};
	struct demo_encoder *enc;
	struct in6_addr exporter;
	struct demo_encoder_stats st;
	size_t v6 = 0;

	REQUIRE(flows && d);
	REQUIRE(addr_from_text(&cfg.agent, agent) == 0);
	addr_from_text(&exporter, "192.0.2.10");
	demo_flows_random(flows, n, format, NOW, &seed);
	for (size_t i = 0; i < n; i++) {
		v6 += flows[i].etype == 0x86dd;
		if (compact) {
			/* 4-byte counters; the ICMP type and code come back
			 * through the destination port. */
			flows[i].bytes &= UINT32_MAX;
			flows[i].packets &= UINT32_MAX;
		}
	}
	if (format != DEMO_NETFLOW_V5)
		CHECK(v6 > n / 5 && v6 < n / 2); /* both families are exercised */
	REQUIRE_EQ(demo_encoder_new(&cfg, &enc, NULL), 0);
	REQUIRE_EQ(encode_all(enc, flows, n, d), n);
	demo_encoder_stats(enc, &st);
	CHECK_EQ(st.flows, n);
	CHECK_EQ(st.datagrams, d->count);
	for (size_t i = 0; i < d->count; i++)
		CHECK(d->len[i] <= 1400);

	decode_all(d, 0, &dec, (uint32_t)n + 16);
	CHECK_EQ(dec.bad, 0);
	if (dec.bad)
		test_fail_at(__FILE__, __LINE__, "first status: %s",
			     decode_reason_name(dec.first_status));
	CHECK_EQ(dec.count, n);
	for (size_t i = 0; i < n; i++)
		expected(&flows[i], format, format == DEMO_SFLOW_V5 ? &cfg.agent : &exporter,
			 compact);
	CHECK_EQ(compare(flows, dec.flows, dec.count < n ? dec.count : n, lists,
			 demo_format_name(format)),
		 0);
	demo_encoder_free(enc);
	datagrams_free(d);
	free(dec.flows);
	free(d);
	free(flows);
}

TEST(netflow_v5_roundtrip)
{
	roundtrip(DEMO_NETFLOW_V5, 1, 1000, 0, "192.0.2.10", 0);
}

TEST(netflow_v9_roundtrip_sampling_options)
{
	roundtrip(DEMO_NETFLOW_V9, 2, 1000, 0, "192.0.2.10", 0);
}

TEST(netflow_v9_roundtrip_sampling_in_record)
{
	roundtrip(DEMO_NETFLOW_V9, 3, 500, 1, "192.0.2.10", 0);
}

TEST(ipfix_roundtrip_sampling_options)
{
	roundtrip(DEMO_IPFIX, 4, 1000, 0, "192.0.2.10", 0);
}

TEST(ipfix_roundtrip_sampling_in_record)
{
	roundtrip(DEMO_IPFIX, 5, 500, 1, "192.0.2.10", 0);
}

TEST(sflow_roundtrip_ipv4_agent)
{
	roundtrip(DEMO_SFLOW_V5, 6, 1000, 0, "198.51.100.7", 0);
}

TEST(sflow_roundtrip_ipv6_agent)
{
	roundtrip(DEMO_SFLOW_V5, 7, 500, 0, "2001:db8::7", 0);
}

/* The compact templates: fewer fields, 4-byte counters, ICMP in the
 * destination port. */
TEST(netflow_v9_roundtrip_compact)
{
	roundtrip(DEMO_NETFLOW_V9, 8, 1000, 0, "192.0.2.10", 1);
}

TEST(ipfix_roundtrip_compact)
{
	roundtrip(DEMO_IPFIX, 9, 1000, 0, "192.0.2.10", 1);
}

/* NetFlow v5 carries IPv4 only: the IPv6 flows are consumed, counted and
 * left out; the IPv4 ones come back in order. */
TEST(netflow_v5_skips_ipv6)
{
	struct demo_encoder_config cfg = {.format = DEMO_NETFLOW_V5, .sampling_rate = RATE};
	struct flow flows[200], want[200];
	struct datagrams *d = calloc(1, sizeof(*d));
	struct decoded dec = {0};
	struct demo_encoder *enc;
	struct demo_encoder_stats st;
	struct in6_addr exporter;
	uint64_t seed = 11;
	size_t v4 = 0;

	REQUIRE_EQ(demo_encoder_new(&cfg, &enc, NULL), 0);
	REQUIRE(enc && d);
	addr_from_text(&exporter, "192.0.2.10");
	/* IPFIX-style flows have both families; keep the v5 ranges. */
	demo_flows_random(flows, 200, DEMO_IPFIX, NOW, &seed);
	for (size_t i = 0; i < 200; i++) {
		struct flow *f = &flows[i];

		if (f->etype == 0x86dd)
			continue;
		f->bytes &= 0xffffffff, f->packets &= 0xffffffff;
		f->in_if &= 0xffff, f->out_if &= 0xffff;
		f->src_as &= 0xffff, f->dst_as &= 0xffff, f->tcp_flags &= 0xff;
		want[v4] = *f;
		expected(&want[v4++], DEMO_NETFLOW_V5, &exporter, 0);
	}
	REQUIRE(v4 > 100 && v4 < 180);
	REQUIRE_EQ(encode_all(enc, flows, 200, d), 200);
	demo_encoder_stats(enc, &st);
	CHECK_EQ(st.skipped, 200 - v4);
	CHECK_EQ(st.flows, v4);
	decode_all(d, 0, &dec, 256);
	CHECK_EQ(dec.bad, 0);
	REQUIRE_EQ(dec.count, v4);
	CHECK_EQ(compare(want, dec.flows, v4, v5_lists, "netflow-v5"), 0);

	/* Only IPv6 flows: all consumed, no datagram. */
	for (size_t i = 0; i < 200; i++) {
		if (flows[i].etype == 0x86dd) {
			size_t len = 1;
			uint8_t buf[1500];

			CHECK_EQ(demo_encoder_encode(enc, &flows[i], 1, buf, sizeof(buf), &len), 1);
			CHECK_EQ(len, 0);
			break;
		}
	}
	demo_encoder_free(enc);
	datagrams_free(d);
	free(dec.flows);
	free(d);
}

/* Values wider than v5's fields: counters and interfaces saturate, 4-byte
 * AS numbers become AS_TRANS (RFC 6793). */
TEST(netflow_v5_saturates)
{
	struct demo_encoder_config cfg = {.format = DEMO_NETFLOW_V5, .sampling_rate = 100000};
	struct demo_encoder *enc;
	struct datagrams *d = calloc(1, sizeof(*d));
	struct decoded dec = {0};
	struct flow f;

	REQUIRE_EQ(demo_encoder_new(&cfg, &enc, NULL), 0);
	REQUIRE(enc && d);
	flow_reset(&f);
	f.time_received = NOW;
	f.etype = 0x0800;
	addr_from_text(&f.src_addr, "198.51.100.1");
	addr_from_text(&f.dst_addr, "203.0.113.1");
	f.proto = 17;
	f.bytes = 1ull << 40;
	f.packets = 1ull << 33;
	f.in_if = 70000;
	f.out_if = 65535;
	f.src_as = 4200000000u;
	f.dst_as = 65000;
	REQUIRE_EQ(encode_all(enc, &f, 1, d), 1);
	decode_all(d, 0, &dec, 4);
	REQUIRE_EQ(dec.count, 1);
	CHECK_EQ(dec.flows[0].bytes, UINT32_MAX);
	CHECK_EQ(dec.flows[0].packets, UINT32_MAX);
	CHECK_EQ(dec.flows[0].in_if, 65535);
	CHECK_EQ(dec.flows[0].out_if, 65535);
	CHECK_EQ(dec.flows[0].src_as, 23456);
	CHECK_EQ(dec.flows[0].dst_as, 65000);
	/* The interval has 14 bits. */
	CHECK_EQ(dec.flows[0].sampling_rate, 0x3fff);
	demo_encoder_free(enc);
	datagrams_free(d);
	free(dec.flows);
	free(d);
}

/* Header sequence numbers: v5 counts flows, v9 datagrams (RFC 3954 5.1),
 * IPFIX data records including options data (RFC 7011 3.1), sFlow
 * datagrams from 1. */
TEST(sequence_numbers)
{
	for (int fmt = DEMO_NETFLOW_V5; fmt <= DEMO_SFLOW_V5; fmt++) {
		struct demo_encoder_config cfg = {
		    .format = (enum demo_format)fmt,
		    .sampling_rate = RATE,
		    .template_refresh = 4,
		};
		struct demo_encoder *enc;
		struct flow flows[300];
		struct decode_config dc;
		struct decode_state *st;
		struct flow *out = calloc(400, sizeof(*out));
		uint64_t seed = 21, expect = fmt == DEMO_SFLOW_V5 ? 1 : 0;
		size_t done = 0, dgrams = 0;

		REQUIRE_EQ(demo_encoder_new(&cfg, &enc, NULL), 0);
		REQUIRE(enc && out);
		decode_config_init(&dc);
		REQUIRE_EQ(decode_state_new(&dc, &st, NULL), 0);
		demo_flows_random(flows, 300, (enum demo_format)fmt, NOW, &seed);
		while (done < 300) {
			uint8_t buf[1500];
			size_t len;
			int r = demo_encoder_encode(enc, flows + done, 300 - done, buf, sizeof(buf),
						    &len);
			struct decode_input in = {.data = buf, .len = len, .time_received = NOW};
			struct decode_output o = {.flows = out, .cap = 400};
			struct decode_result res;
			uint32_t seq;

			REQUIRE(r > 0);
			done += (size_t)r;
			REQUIRE(len >= 20);
			seq = fmt == DEMO_NETFLOW_V5   ? be32_get(buf + 16)
			      : fmt == DEMO_NETFLOW_V9 ? be32_get(buf + 12)
			      : fmt == DEMO_IPFIX      ? be32_get(buf + 8)
						       : be32_get(buf + 16);
			if (seq != expect)
				test_fail_at(__FILE__, __LINE__,
					     "%s datagram %zu: sequence %u, want %llu",
					     demo_format_name((enum demo_format)fmt), dgrams, seq,
					     (unsigned long long)expect);
			CHECK_EQ(decode_datagram(st, &in, &o, &res), DECODE_OK);
			/* Templates every 4 datagrams, from the first. */
			if (fmt == DEMO_NETFLOW_V9 || fmt == DEMO_IPFIX)
				CHECK_EQ(res.templates, dgrams % 4 == 0 ? 3 : 0);
			if (fmt == DEMO_NETFLOW_V9 || fmt == DEMO_SFLOW_V5)
				expect++;
			else if (fmt == DEMO_IPFIX)
				expect += res.flows + res.options_records;
			else
				expect += res.flows;
			dgrams++;
		}
		CHECK(dgrams > 8);
		decode_state_free(st);
		demo_encoder_free(enc);
		free(out);
	}
}

/* A collector that starts listening late learns the templates at the next
 * refresh: until then the data is unknown to it. */
TEST(template_refresh)
{
	for (int fmt = DEMO_NETFLOW_V9; fmt <= DEMO_IPFIX; fmt++) {
		struct demo_encoder_config cfg = {
		    .format = (enum demo_format)fmt,
		    .sampling_rate = RATE,
		    .template_refresh = 5,
		};
		struct demo_encoder *enc;
		struct datagrams *d = calloc(1, sizeof(*d));
		struct flow flows[200];
		struct decode_config dc;
		struct decode_state *st;
		struct flow *out = calloc(256, sizeof(*out));
		uint64_t seed = 31;

		REQUIRE_EQ(demo_encoder_new(&cfg, &enc, NULL), 0);
		REQUIRE(enc && d && out);
		demo_flows_random(flows, 200, (enum demo_format)fmt, NOW, &seed);
		REQUIRE_EQ(encode_all(enc, flows, 200, d), 200);
		REQUIRE(d->count > 10);
		decode_config_init(&dc);
		REQUIRE_EQ(decode_state_new(&dc, &st, NULL), 0);
		for (size_t i = 1; i < d->count; i++) {
			struct decode_input in = {.data = d->data[i], .len = d->len[i]};
			struct decode_output o = {.flows = out, .cap = 256};
			struct decode_result r;

			decode_datagram(st, &in, &o, &r);
			if (i < 5) {
				CHECK_EQ(r.flows, 0);
				CHECK(r.events[DECODE_UNKNOWN_TEMPLATE] > 0);
			} else {
				CHECK_EQ(r.status, DECODE_OK);
				CHECK(r.flows > 0);
				/* Sampling is known from the options data too. */
				CHECK_EQ(o.count ? out[0].sampling_rate : 0, RATE);
			}
			CHECK_EQ(r.templates, i % 5 == 0 ? 3 : 0);
		}
		decode_state_free(st);
		demo_encoder_free(enc);
		datagrams_free(d);
		free(d);
		free(out);
	}
}

/* max_size bounds every datagram; a limit that leaves no room for one
 * record (or the templates) is an error, not an endless loop. */
TEST(max_size)
{
	for (int fmt = DEMO_NETFLOW_V5; fmt <= DEMO_SFLOW_V5; fmt++) {
		struct demo_encoder_config cfg = {.format = (enum demo_format)fmt, .max_size = 512};
		struct demo_encoder *enc;
		struct datagrams *d = calloc(1, sizeof(*d));
		struct decoded dec = {0};
		struct flow flows[100];
		uint64_t seed = 41;
		uint8_t buf[1500];
		size_t len;

		REQUIRE_EQ(demo_encoder_new(&cfg, &enc, NULL), 0);
		REQUIRE(enc && d);
		demo_flows_random(flows, 100, (enum demo_format)fmt, NOW, &seed);
		REQUIRE_EQ(encode_all(enc, flows, 100, d), 100);
		for (size_t i = 0; i < d->count; i++)
			CHECK(d->len[i] <= 512);
		decode_all(d, 0, &dec, 128);
		CHECK_EQ(dec.bad, 0);
		CHECK_EQ(dec.count, 100);
		/* Unsampled: the collector reads a rate of 1. */
		CHECK_EQ(dec.count ? dec.flows[0].sampling_rate : 0, 1);
		free(dec.flows);
		/* A buffer smaller than max_size is the limit. */
		CHECK_EQ(demo_encoder_encode(enc, flows, 100, buf, 40, &len), -EMSGSIZE);
		CHECK_EQ(len, 0);
		/* Nothing to send. */
		if (fmt != DEMO_NETFLOW_V9 && fmt != DEMO_IPFIX) {
			CHECK_EQ(demo_encoder_encode(enc, flows, 0, buf, sizeof(buf), &len), 0);
			CHECK_EQ(len, 0);
		}
		demo_encoder_free(enc);
		datagrams_free(d);
		free(d);
	}
	/* v9/IPFIX with no flows and templates due: a template-only datagram. */
	struct demo_encoder_config cfg = {.format = DEMO_IPFIX};
	struct demo_encoder *enc;
	uint8_t buf[1500];
	size_t len;

	REQUIRE_EQ(demo_encoder_new(&cfg, &enc, NULL), 0);
	CHECK_EQ(demo_encoder_encode(enc, NULL, 0, buf, sizeof(buf), &len), 0);
	CHECK(len > 16);
	CHECK_EQ(demo_encoder_encode(enc, NULL, 0, buf, sizeof(buf), &len), 0);
	CHECK_EQ(len, 0);
	demo_encoder_free(enc);
}

TEST(bad_config)
{
	struct demo_encoder_config cfg = {.format = (enum demo_format)42};
	struct demo_encoder *enc;
	struct error err = {""};

	CHECK_EQ(demo_encoder_new(&cfg, &enc, &err), -EINVAL);
	CHECK(enc == NULL);
	CHECK_STR(err.text, "demo: unknown format 42");
	demo_encoder_free(NULL);
	enum demo_format f;
	CHECK_EQ(demo_format_from_name("ipfix", &f), 0);
	CHECK_EQ(f, DEMO_IPFIX);
	CHECK_EQ(demo_format_from_name("sflow", &f), 0);
	CHECK_EQ(f, DEMO_SFLOW_V5);
	CHECK_EQ(demo_format_from_name("v10", &f), -EINVAL);
	CHECK_STR(demo_format_name(DEMO_NETFLOW_V9), "netflow-v9");
}

struct walk {
	unsigned count;
	int bad;
	const struct in6_addr *src[4];
	uint8_t payload[4][64];
	size_t len[4];
};

static int walk_fn(void *ctx, const struct pcap_udp_datagram *d)
{
	struct walk *w = ctx;
	unsigned i = w->count++;

	if (i >= 4 || d->len != w->len[i] || memcmp(d->payload, w->payload[i], d->len) ||
	    memcmp(&d->src, w->src[i], 16) || d->src_port != 50000 + i || d->dst_port != 2055 ||
	    d->time_ns != NOW * 1000000000ull + i * 1000)
		w->bad++;
	return 0;
}

/* Internet checksum of the frame's IPv4 header and UDP datagram (with
 * its pseudo-header): 0 when both are right. */
static unsigned checksum_errors(const uint8_t *frame, size_t len)
{
	int v4 = frame[12] == 0x08;
	size_t ip = 14, ihl = v4 ? 20 : 40, udp = ip + ihl, ulen = len - udp;
	uint32_t sum = 0;
	unsigned bad = 0;

	if (v4) {
		for (size_t i = 0; i < 20; i += 2)
			sum += (uint32_t)(frame[ip + i] << 8 | frame[ip + i + 1]);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		bad += sum != 0xffff;
		sum = 0;
	}
	for (size_t i = v4 ? 12 : 8; i < (v4 ? 20u : 40u); i += 2)
		sum += (uint32_t)(frame[ip + i] << 8 | frame[ip + i + 1]);
	sum += 17 + (uint32_t)ulen;
	for (size_t i = 0; i < ulen; i += 2)
		sum += (uint32_t)(frame[udp + i] << 8 | (i + 1 < ulen ? frame[udp + i + 1] : 0));
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return bad + (sum != 0xffff);
}

/* The pcap writer's frames read back through libpcap and weir's UDP
 * walker, IPv4 and IPv6, with valid checksums. */
TEST(pcap_writer)
{
	char path[] = "/tmp/weir-test-pcap-XXXXXX";
	int fd = mkstemp(path);
	struct demo_pcap_writer *w;
	struct walk wk = {0};
	struct in6_addr v4a, v4b, v6a, v6b;
	uint8_t frame[256];
	struct error err = {""};
	long n;

	REQUIRE(fd >= 0);
	close(fd);
	addr_from_text(&v4a, "192.0.2.10");
	addr_from_text(&v4b, "192.0.2.1");
	addr_from_text(&v6a, "2001:db8::10");
	addr_from_text(&v6b, "2001:db8::1");
	REQUIRE_EQ(demo_pcap_writer_new(path, &w, NULL), 0);
	for (unsigned i = 0; i < 4; i++) {
		int v6 = i % 2;

		wk.src[i] = v6 ? &v6a : &v4a;
		wk.len[i] = 7 + i * 13;
		for (size_t k = 0; k < wk.len[i]; k++)
			wk.payload[i][k] = (uint8_t)(i * 31 + k);
		CHECK_EQ(demo_pcap_writer_add(w, NOW * 1000000000ull + i * 1000, wk.src[i],
					      (uint16_t)(50000 + i), v6 ? &v6b : &v4b, 2055,
					      wk.payload[i], wk.len[i]),
			 0);
		n = demo_udp_frame_build(frame, sizeof(frame), wk.src[i], (uint16_t)(50000 + i),
					 v6 ? &v6b : &v4b, 2055, wk.payload[i], wk.len[i]);
		CHECK_EQ(n, 14 + (v6 ? 40 : 20) + 8 + wk.len[i]);
		if (n > 0)
			CHECK_EQ(checksum_errors(frame, (size_t)n), 0);
	}
	CHECK_EQ(demo_pcap_writer_add(w, 0, &v4a, 1, &v6b, 2, frame, 1), -EINVAL);
	CHECK_EQ(demo_udp_frame_build(frame, sizeof(frame), &v4a, 1, &v4b, 2, frame, 300),
		 -EMSGSIZE);
	CHECK_EQ(demo_pcap_writer_close(w), 0);
	CHECK_EQ(demo_pcap_writer_close(w), 0); /* once is enough */
	demo_pcap_writer_free(w);

	n = pcap_udp_walk(path, walk_fn, &wk, NULL, &err);
	CHECK_EQ(n, 4);
	CHECK_EQ(wk.count, 4);
	CHECK_EQ(wk.bad, 0);
	unlink(path);
	CHECK_EQ(pcap_udp_walk(path, walk_fn, &wk, NULL, &err), -EINVAL);
	CHECK(strncmp(err.text, path, strlen(path)) == 0);
	w = (struct demo_pcap_writer *)&err; /* must come back NULL */
	CHECK_EQ(demo_pcap_writer_new("/nonexistent-dir/x.pcap", &w, &err), -ENOENT);
	CHECK(w == NULL);
	CHECK_STR(err.text, "/nonexistent-dir/x.pcap: No such file or directory");
	demo_pcap_writer_free(NULL);
}

/* sFlow fields no decoder reports: the frame length (L2 header + IP total
 * length, the flow's bytes per packet), the header length, the sample pool
 * and the sampling rate of each flow sample. */
TEST(sflow_wire_layout)
{
	struct demo_encoder_config cfg = {.format = DEMO_SFLOW_V5, .sampling_rate = 512};
	struct demo_encoder *enc;
	struct flow f[2];
	uint8_t buf[1500], *s, *h;
	size_t len;

	REQUIRE_EQ(demo_encoder_new(&cfg, &enc, NULL), 0);
	for (int i = 0; i < 2; i++) {
		flow_reset(&f[i]);
		f[i].time_received = NOW;
		f[i].etype = 0x0800;
		addr_from_text(&f[i].src_addr, "198.51.100.1");
		addr_from_text(&f[i].dst_addr, "203.0.113.1");
		f[i].proto = 6;
		f[i].src_vlan = 100;
		f[i].dst_vlan = 200;
		f[i].in_if = 3;
		f[i].out_if = 4;
	}
	f[0].bytes = 500, f[0].packets = 1;
	f[1].bytes = 15000, f[1].packets = 10; /* 1500 bytes per packet */
	REQUIRE_EQ(demo_encoder_encode(enc, f, 2, buf, sizeof(buf), &len), 2);
	CHECK_EQ(be32_get(buf), 5);
	CHECK_EQ(be32_get(buf + 24), 2); /* samples */
	s = buf + 28;
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(be32_get(s), 1);		   /* flow sample */
		CHECK_EQ(be32_get(s + 8), i + 1);	   /* sample sequence */
		CHECK_EQ(be32_get(s + 16), 512);	   /* sampling rate */
		CHECK_EQ(be32_get(s + 20), 512 * (i + 1)); /* sample pool */
		CHECK_EQ(be32_get(s + 28), 3);
		CHECK_EQ(be32_get(s + 32), 4);
		CHECK_EQ(be32_get(s + 36), 2); /* header and switch records */
		h = s + 40;
		CHECK_EQ(be32_get(h), 1);			   /* sampled header */
		CHECK_EQ(be32_get(h + 8), 1);			   /* Ethernet */
		CHECK_EQ(be32_get(h + 12), 18 + (i ? 1500 : 500)); /* frame length */
		CHECK_EQ(be32_get(h + 20), 14 + 4 + 20 + 20);	   /* header length */
		CHECK_EQ(h[24 + 12] << 8 | h[24 + 13], 0x8100);
		CHECK_EQ(h[24 + 18 + 2] << 8 | h[24 + 18 + 3], i ? 1500 : 500);
		s += 8 + be32_get(s + 4);
	}
	CHECK_EQ((size_t)(s - buf), len);
	demo_encoder_free(enc);
}

/* sflow_header_len: the sampled header holds the frame's first N bytes, as a
 * switch samples them (payload after the headers), never more than the
 * frame; the flows decode as without it. */
TEST(sflow_header_len)
{
	struct demo_encoder_config cfg = {
	    .format = DEMO_SFLOW_V5, .sampling_rate = 512, .sflow_header_len = 128};
	struct demo_encoder *enc;
	struct decode_config dc;
	struct decode_state *st;
	struct decode_input in = {.time_received = NOW};
	struct flow f[2], out_flows[4];
	struct decode_output out = {.flows = out_flows, .cap = 4};
	struct decode_result r;
	uint8_t buf[1500], *s, *h;
	size_t len;

	REQUIRE_EQ(demo_encoder_new(&cfg, &enc, NULL), 0);
	for (int i = 0; i < 2; i++) {
		flow_reset(&f[i]);
		f[i].time_received = NOW;
		f[i].etype = 0x0800;
		addr_from_text(&f[i].src_addr, "198.51.100.1");
		addr_from_text(&f[i].dst_addr, "203.0.113.1");
		f[i].proto = 6;
		f[i].src_port = (uint16_t)(40000 + i);
		f[i].dst_port = 443;
		f[i].src_vlan = 100;
		f[i].in_if = 3;
		f[i].out_if = 4;
		f[i].packets = 1;
	}
	f[0].bytes = 1500; /* a 1518-byte frame: 128 bytes sampled */
	f[1].bytes = 60;   /* a 78-byte frame: all of it */
	REQUIRE_EQ(demo_encoder_encode(enc, f, 2, buf, sizeof(buf), &len), 2);
	s = buf + 28;
	for (int i = 0; i < 2; i++) {
		size_t want = i ? 78 : 128;

		h = s + 40;
		CHECK_EQ(be32_get(h), 1);			    /* sampled header */
		CHECK_EQ(be32_get(h + 4), 16 + (want + 3) / 4 * 4); /* record length */
		CHECK_EQ(be32_get(h + 12), 18 + (i ? 60 : 1500));   /* frame length */
		CHECK_EQ(be32_get(h + 20), want);		    /* header length */
		CHECK_EQ(h[24 + 58], 0x5a ^ 58); /* payload after Ethernet, 802.1Q, IP, TCP */
		s += 8 + be32_get(s + 4);
	}
	CHECK_EQ((size_t)(s - buf), len);

	decode_config_init(&dc);
	REQUIRE_EQ(decode_state_new(&dc, &st, NULL), 0);
	addr_from_text(&in.exporter, "192.0.2.10");
	in.data = buf;
	in.len = len;
	decode_datagram(st, &in, &out, &r);
	CHECK_EQ(r.status, DECODE_OK);
	REQUIRE_EQ(out.count, 2);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(out_flows[i].src_port, f[i].src_port);
		CHECK_EQ(out_flows[i].dst_port, 443);
		CHECK_EQ(out_flows[i].proto, 6);
		CHECK_EQ(out_flows[i].src_vlan, 100);
	}
	decode_state_free(st);
	demo_encoder_free(enc);
}
