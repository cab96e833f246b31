// SPDX-License-Identifier: AGPL-3.0-or-later
/* IPFIX decoder (RFC 7011/7012): withdrawals, variable-length fields,
 * enterprise elements, RFC 5103 biflows, Juniper drops, sampling (options by
 * selector id, PSAMP interval/space), IE 315 frames, and malformed input. */
#include <stdlib.h>

#include "nf_build.h"

#define ETIME	   1759076323u
#define NTP_OFFSET 2208988800ull

static void tmpl_set(struct nb *b, uint16_t id, const struct nb_field *f, size_t n)
{
	nb_set_begin(b, 2);
	nb_template(b, id, f, n);
	nb_set_end(b);
}

/* Enterprise elements are skipped by their length, whatever their number. */
TEST(ipfix_fields_times_and_enterprise_skipped)
{
	static const struct nb_field fields[] = {
	    {1, 8},  {1, 4, 9}, /* enterprise 9's element 1: not octetDeltaCount */
	    {2, 8},  {8, 4},	{12, 4},  {7, 2},   {7, 2, 29305}, /* reverse port: ignored */
	    {11, 2}, {4, 1},	{152, 8}, {153, 8}, {10, 4},	   {14, 4},  {252, 4}, {253, 4},
	    {89, 1}, {61, 1},	{234, 4}, {235, 4}, {60, 1},	   {176, 1}, {177, 1}, {52, 1},
	};
	static const struct nb_field secs[] = {{150, 4}, {151, 4}, {7, 2}};
	static const struct nb_field ntp[] = {{154, 8}, {157, 8}, {7, 2}};
	static const struct nb_field delta[] = {{158, 4}, {159, 4}, {7, 2}};
	static const struct nb_field uptime[] = {{160, 8}, {22, 4}, {21, 4}, {7, 2}};
	struct nd d;
	struct nb b;
	struct flow *f;

	nd_init(&d);
	nb_ipfix_header(&b, ETIME, 1);
	tmpl_set(&b, 256, fields, NB_N(fields));
	nb_set_begin(&b, 256);
	nb_u64(&b, 1234567);
	nb_u32(&b, 0xdeadbeef);
	nb_u64(&b, 89);
	nb_ip4(&b, 10, 10, 1, 4);
	nb_ip4(&b, 10, 10, 1, 1);
	nb_u16(&b, 56166);
	nb_u16(&b, 9999);
	nb_u16(&b, 53);
	nb_u8(&b, 1);
	nb_u64(&b, 1759076320123ull);
	nb_u64(&b, 1759076321456ull);
	nb_u32(&b, 0); /* ingressInterface 0: use 252 */
	nb_u32(&b, 0);
	nb_u32(&b, 21);
	nb_u32(&b, 22);
	nb_u8(&b, 131);
	nb_u8(&b, 0);
	nb_u32(&b, 5);
	nb_u32(&b, 6);
	nb_u8(&b, 4);
	nb_u8(&b, 3); /* ICMP type */
	nb_u8(&b, 1); /* ICMP code */
	nb_u8(&b, 12);
	nb_set_end(&b);
	tmpl_set(&b, 257, secs, NB_N(secs));
	nb_set_begin(&b, 257);
	nb_u32(&b, 1759076000);
	nb_u32(&b, 1759076001);
	nb_u16(&b, 1);
	nb_set_end(&b);
	tmpl_set(&b, 258, ntp, NB_N(ntp));
	nb_set_begin(&b, 258);
	nb_u64(&b, (1759076000 + NTP_OFFSET) << 32 | 0x80000000u); /* .5 s */
	nb_u64(&b, (1759076002 + NTP_OFFSET) << 32);
	nb_u16(&b, 2);
	nb_set_end(&b);
	tmpl_set(&b, 259, delta, NB_N(delta));
	nb_set_begin(&b, 259);
	nb_u32(&b, 5000000), nb_u32(&b, 2000), nb_u16(&b, 3); /* 5 s, 2 ms before export */
	nb_set_end(&b);
	tmpl_set(&b, 260, uptime, NB_N(uptime));
	nb_set_begin(&b, 260);
	nb_u64(&b, 1759000000000ull), nb_u32(&b, 1000), nb_u32(&b, 3000), nb_u16(&b, 4);
	nb_set_end(&b);
	nb_ipfix_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_OK);
	CHECK_EQ(d.r.protocol, DECODE_PROTO_IPFIX);
	CHECK_EQ(d.r.export_time, ETIME);
	CHECK_EQ(d.r.templates, 5);
	REQUIRE_EQ(d.out.count, 5);
	f = &d.flows[0];
	CHECK_EQ(f->bytes, 1234567);
	CHECK_EQ(f->packets, 89);
	CHECK(addr_is4(&f->src_addr, IP4(10, 10, 1, 4)));
	CHECK(addr_is4(&f->dst_addr, IP4(10, 10, 1, 1)));
	CHECK_EQ(f->src_port, 56166);
	CHECK_EQ(f->dst_port, 53);
	CHECK_EQ(f->proto, 1);
	CHECK_EQ(f->time_flow_start_ms, 1759076320123ull);
	CHECK_EQ(f->time_flow_end_ms, 1759076321456ull);
	CHECK_EQ(f->in_if, 21);
	CHECK_EQ(f->out_if, 22);
	CHECK_EQ(f->forwarding_status, 131);
	CHECK_EQ(f->flow_direction, FLOW_DIRECTION_INGRESS);
	CHECK_EQ(f->ingress_vrf_id, 5);
	CHECK_EQ(f->egress_vrf_id, 6);
	CHECK_EQ(f->etype, 0x0800);
	CHECK_EQ(f->icmpv4_type, 3); /* from IE 176/177, not the port */
	CHECK_EQ(f->icmpv4_code, 1);
	CHECK_EQ(f->ip_ttl, 12);
	CHECK_EQ(d.flows[1].time_flow_start_ms, 1759076000000ull);
	CHECK_EQ(d.flows[1].time_flow_end_ms, 1759076001000ull);
	CHECK_EQ(d.flows[2].time_flow_start_ms, 1759076000500ull);
	CHECK_EQ(d.flows[2].time_flow_end_ms, 1759076002000ull);
	CHECK_EQ(d.flows[3].time_flow_start_ms, ETIME * 1000ull - 5000);
	CHECK_EQ(d.flows[3].time_flow_end_ms, ETIME * 1000ull - 2);
	CHECK_EQ(d.flows[4].time_flow_start_ms, 1759000001000ull);
	CHECK_EQ(d.flows[4].time_flow_end_ms, 1759000003000ull);
	nd_fini(&d);
}

TEST(ipfix_domains_are_separate)
{
	static const struct nb_field a[] = {{7, 2}};
	static const struct nb_field c[] = {{11, 2}};
	struct nd d;
	struct nb b;

	nd_init(&d);
	nb_ipfix_header(&b, ETIME, 1);
	tmpl_set(&b, 256, a, 1);
	nb_ipfix_end(&b);
	nd_feed(&d, &b);
	nb_ipfix_header(&b, ETIME, 2);
	tmpl_set(&b, 256, c, 1);
	nb_ipfix_end(&b);
	nd_feed(&d, &b);
	nb_ipfix_header(&b, ETIME, 1);
	nb_set_begin(&b, 256);
	nb_u16(&b, 7);
	nb_set_end(&b);
	nb_ipfix_end(&b);
	nd_feed(&d, &b);
	REQUIRE_EQ(d.out.count, 1);
	CHECK_EQ(d.flows[0].src_port, 7);
	b.b[15] = 2; /* domain 2 */
	nd_feed(&d, &b);
	REQUIRE_EQ(d.out.count, 1);
	CHECK_EQ(d.flows[0].dst_port, 7);
	b.b[15] = 3;
	CHECK_EQ(nd_feed(&d, &b), DECODE_UNKNOWN_TEMPLATE);
	nd_fini(&d);
}

static enum decode_reason data_256_257(struct nd *d, uint32_t domain)
{
	struct nb b;

	nb_ipfix_header(&b, ETIME, domain);
	nb_set_begin(&b, 256);
	nb_u16(&b, 1);
	nb_set_end(&b);
	nb_set_begin(&b, 257);
	nb_u16(&b, 2);
	nb_set_end(&b);
	nb_ipfix_end(&b);
	return nd_feed(d, &b);
}

TEST(ipfix_template_withdrawal)
{
	static const struct nb_field a[] = {{7, 2}};
	static const struct nb_field opts[] = {{302, 4}, {305, 4}};
	struct nd d;
	struct nb b;

	nd_init(&d);
	nb_ipfix_header(&b, ETIME, 1);
	nb_set_begin(&b, 2);
	nb_template(&b, 256, a, 1);
	nb_template(&b, 257, a, 1);
	nb_set_end(&b);
	nb_set_begin(&b, 3);
	nb_u16(&b, 258), nb_u16(&b, 2), nb_u16(&b, 1);
	nb_u16(&b, opts[0].ie), nb_u16(&b, opts[0].len);
	nb_u16(&b, opts[1].ie), nb_u16(&b, opts[1].len);
	nb_set_end(&b);
	nb_ipfix_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_OK);
	CHECK_EQ(d.r.templates, 3);
	CHECK_EQ(data_256_257(&d, 1), DECODE_OK);
	CHECK_EQ(d.out.count, 2);

	/* Withdraw 256 (RFC 7011 8.1: field count 0). */
	nb_ipfix_header(&b, ETIME, 1);
	nb_set_begin(&b, 2);
	nb_u16(&b, 256), nb_u16(&b, 0);
	nb_set_end(&b);
	nb_ipfix_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_OK);
	CHECK_EQ(d.r.template_withdrawals, 1);
	CHECK_EQ(data_256_257(&d, 1), DECODE_UNKNOWN_TEMPLATE);
	REQUIRE_EQ(d.out.count, 1);
	CHECK_EQ(d.flows[0].src_port, 2);

	/* Withdraw all options templates (ID 3): data templates stay. */
	nb_ipfix_header(&b, ETIME, 1);
	nb_set_begin(&b, 3);
	nb_u16(&b, 3), nb_u16(&b, 0);
	nb_set_end(&b);
	nb_set_begin(&b, 258);
	nb_u32(&b, 1), nb_u32(&b, 10);
	nb_set_end(&b);
	nb_ipfix_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_UNKNOWN_TEMPLATE);
	CHECK_EQ(d.r.options_records, 0);
	CHECK_EQ(data_256_257(&d, 1), DECODE_UNKNOWN_TEMPLATE);
	CHECK_EQ(d.out.count, 1);

	/* Withdraw all templates (ID 2) of domain 1, not of domain 2. */
	nb_ipfix_header(&b, ETIME, 2);
	tmpl_set(&b, 257, a, 1);
	nb_ipfix_end(&b);
	nd_feed(&d, &b);
	nb_ipfix_header(&b, ETIME, 1);
	nb_set_begin(&b, 2);
	nb_u16(&b, 2), nb_u16(&b, 0);
	nb_set_end(&b);
	nb_ipfix_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_OK);
	CHECK_EQ(data_256_257(&d, 1), DECODE_UNKNOWN_TEMPLATE);
	CHECK_EQ(d.out.count, 0);
	CHECK_EQ(d.r.events[DECODE_UNKNOWN_TEMPLATE], 2);
	data_256_257(&d, 2);
	CHECK_EQ(d.out.count, 1);

	/* A withdrawn ID can be defined again. */
	nb_ipfix_header(&b, ETIME, 1);
	tmpl_set(&b, 256, a, 1);
	nb_ipfix_end(&b);
	nd_feed(&d, &b);
	data_256_257(&d, 1);
	CHECK_EQ(d.out.count, 1);
	nd_fini(&d);
}

/* RFC 7011 7: lengths of 1 byte, or 255 then 2 bytes. */
TEST(ipfix_variable_length_fields)
{
	static const struct nb_field fields[] = {{82, 65535}, {7, 2}, {83, 65535}, {11, 2}};
	uint8_t name[300];
	struct nd d;
	struct nb b;

	memset(name, 'x', sizeof(name));
	nd_init(&d);
	nb_ipfix_header(&b, ETIME, 1);
	tmpl_set(&b, 256, fields, NB_N(fields));
	nb_set_begin(&b, 256);
	nb_u8(&b, 5), nb_bytes(&b, name, 5); /* 1-byte form */
	nb_u16(&b, 1000);
	nb_u8(&b, 255), nb_u16(&b, 300), nb_bytes(&b, name, 300); /* 3-byte form */
	nb_u16(&b, 2000);
	nb_u8(&b, 0); /* empty */
	nb_u16(&b, 1001);
	nb_u8(&b, 255), nb_u16(&b, 3), nb_bytes(&b, name, 3); /* 3-byte form, short */
	nb_u16(&b, 2001);
	nb_set_end(&b);
	nb_ipfix_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_OK);
	REQUIRE_EQ(d.out.count, 2);
	CHECK_EQ(d.flows[0].src_port, 1000);
	CHECK_EQ(d.flows[0].dst_port, 2000);
	CHECK_EQ(d.flows[1].src_port, 1001);
	CHECK_EQ(d.flows[1].dst_port, 2001);

	/* A length running past the set: truncated, nothing emitted. */
	nb_ipfix_header(&b, ETIME, 1);
	nb_set_begin(&b, 256);
	nb_u8(&b, 5), nb_bytes(&b, name, 5);
	nb_u16(&b, 1000);
	nb_u8(&b, 255), nb_u16(&b, 300), nb_bytes(&b, name, 10);
	nb_set_end(&b);
	nb_ipfix_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_TRUNCATED);
	CHECK_EQ(d.out.count, 0);
	/* The 3-byte form cut after its first byte. */
	nb_ipfix_header(&b, ETIME, 1);
	nb_set_begin(&b, 256);
	nb_u8(&b, 1), nb_u8(&b, 'x'), nb_u16(&b, 1000), nb_u8(&b, 255), nb_u8(&b, 1);
	nb_set_end(&b);
	nb_ipfix_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_TRUNCATED);
	CHECK_EQ(d.out.count, 0);
	nd_fini(&d);
}

/* RFC 5103: reverse elements (enterprise 29305) give a second flow. */
TEST(ipfix_biflow)
{
	static const struct nb_field fields[] = {
	    {1, 8}, {1, 8, 29305}, {2, 8},  {2, 8, 29305}, {6, 1}, {6, 1, 29305},
	    {4, 1}, {7, 2},	   {11, 2}, {10, 4},	   {8, 4}, {12, 4},
	};
	struct nd d;
	struct nb b;
	struct flow *f, *g;

	nd_init(&d);
	nb_ipfix_header(&b, ETIME, 1);
	tmpl_set(&b, 259, fields, NB_N(fields));
	nb_set_begin(&b, 259);
	nb_u64(&b, 21673), nb_u64(&b, 1546), nb_u64(&b, 28), nb_u64(&b, 25);
	nb_u8(&b, 0x1b), nb_u8(&b, 0x12), nb_u8(&b, 6);
	nb_u16(&b, 1470), nb_u16(&b, 25), nb_u32(&b, 10);
	nb_ip4(&b, 10, 10, 1, 4), nb_ip4(&b, 74, 53, 140, 153);
	/* No reverse packets: one flow only. */
	nb_u64(&b, 229), nb_u64(&b, 0), nb_u64(&b, 1), nb_u64(&b, 0);
	nb_u8(&b, 0), nb_u8(&b, 0), nb_u8(&b, 17);
	nb_u16(&b, 138), nb_u16(&b, 138), nb_u32(&b, 10);
	nb_ip4(&b, 10, 10, 1, 20), nb_ip4(&b, 10, 10, 1, 255);
	nb_set_end(&b);
	nb_ipfix_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_OK);
	REQUIRE_EQ(d.out.count, 3);
	f = &d.flows[0];
	g = &d.flows[1];
	CHECK_EQ(f->bytes, 21673);
	CHECK_EQ(f->packets, 28);
	CHECK_EQ(f->tcp_flags, 0x1b);
	CHECK_EQ(f->in_if, 10);
	CHECK_EQ(f->out_if, 0);
	CHECK_EQ(g->bytes, 1546);
	CHECK_EQ(g->packets, 25);
	CHECK_EQ(g->tcp_flags, 0x12);
	CHECK_EQ(g->in_if, 0);
	CHECK_EQ(g->out_if, 10);
	CHECK(addr_is4(&g->src_addr, IP4(74, 53, 140, 153)));
	CHECK(addr_is4(&g->dst_addr, IP4(10, 10, 1, 4)));
	CHECK_EQ(g->src_port, 25);
	CHECK_EQ(g->dst_port, 1470);
	CHECK_EQ(g->proto, 6);
	CHECK_EQ(d.flows[2].bytes, 229);
	CHECK_EQ(d.flows[2].src_port, 138);
	nd_fini(&d);
}

/* Juniper common property 2 (forwarding exception): not 0 = dropped. */
TEST(ipfix_juniper_drop_reason)
{
	static const struct nb_field fields[] = {{137, 4, 2636}, {137, 2, 2636}, {10, 4}};
	struct nd d;
	struct nb b;

	nd_init(&d);
	nb_ipfix_header(&b, ETIME, 65536);
	tmpl_set(&b, 384, fields, NB_N(fields));
	nb_set_begin(&b, 384);
	nb_u32(&b, 0x04000000), nb_u16(&b, 0x08c3), nb_u32(&b, 737);
	nb_u32(&b, 0x04000000), nb_u16(&b, 0x0800), nb_u32(&b, 738);
	nb_u32(&b, 0x04000000), nb_u16(&b, 0x0cff), nb_u32(&b, 739); /* CPID 3 */
	nb_set_end(&b);
	nb_ipfix_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_OK);
	REQUIRE_EQ(d.out.count, 3);
	CHECK_EQ(d.flows[0].forwarding_status, 128);
	CHECK_EQ(d.flows[0].in_if, 737);
	CHECK_EQ(d.flows[1].forwarding_status, 64);
	CHECK_EQ(d.flows[2].forwarding_status, 0);
	nd_fini(&d);
}

TEST(ipfix_sampling_psamp_and_selector_options)
{
	static const struct nb_field psamp[] = {{305, 4}, {306, 4}, {7, 2}};
	static const struct nb_field sel[] = {{302, 8}, {7, 2}};
	static const struct nb_field plain[] = {{7, 2}};
	struct nd d;
	struct nb b;

	nd_init(&d);
	/* 305/306 in the record: (1 + 99) / 1. */
	nb_ipfix_header(&b, ETIME, 1);
	tmpl_set(&b, 256, psamp, NB_N(psamp));
	nb_set_begin(&b, 256);
	nb_u32(&b, 1), nb_u32(&b, 99), nb_u16(&b, 1);
	nb_u32(&b, 0), nb_u32(&b, 0), nb_u16(&b, 2); /* interval 0: nothing */
	nb_set_end(&b);
	nb_ipfix_end(&b);
	nd_feed(&d, &b);
	REQUIRE_EQ(d.out.count, 2);
	CHECK_EQ(d.flows[0].sampling_rate, 100);
	CHECK_EQ(d.flows[1].sampling_rate, 0);

	/* Options: scope selectorId (302), 305/306; data by selector id. */
	nb_ipfix_header(&b, ETIME, 1);
	nb_set_begin(&b, 3);
	nb_u16(&b, 300), nb_u16(&b, 3), nb_u16(&b, 1);
	nb_u16(&b, 302), nb_u16(&b, 8);
	nb_u16(&b, 305), nb_u16(&b, 4);
	nb_u16(&b, 306), nb_u16(&b, 4);
	nb_set_end(&b);
	nb_set_begin(&b, 300);
	nb_u64(&b, 77), nb_u32(&b, 2), nb_u32(&b, 2046); /* 1024 */
	nb_u64(&b, 78), nb_u32(&b, 1), nb_u32(&b, 0);	 /* 1 */
	nb_set_end(&b);
	tmpl_set(&b, 257, sel, NB_N(sel));
	nb_set_begin(&b, 257);
	nb_u64(&b, 77), nb_u16(&b, 1);
	nb_u64(&b, 78), nb_u16(&b, 2);
	nb_set_end(&b);
	nb_ipfix_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_OK);
	CHECK_EQ(d.r.options_records, 2);
	REQUIRE_EQ(d.out.count, 2);
	CHECK_EQ(d.flows[0].sampling_rate, 1024);
	CHECK_EQ(d.flows[1].sampling_rate, 1);

	/* Options without a sampler id apply to records without one; the
	 * in-record 305/306 loses to them. */
	nb_ipfix_header(&b, ETIME, 1);
	nb_set_begin(&b, 3);
	nb_u16(&b, 301), nb_u16(&b, 2), nb_u16(&b, 1);
	nb_u16(&b, 149), nb_u16(&b, 4); /* observationDomainId as scope */
	nb_u16(&b, 34), nb_u16(&b, 4);
	nb_set_end(&b);
	nb_set_begin(&b, 301);
	nb_u32(&b, 1), nb_u32(&b, 4096);
	nb_set_end(&b);
	tmpl_set(&b, 258, plain, NB_N(plain));
	nb_set_begin(&b, 258);
	nb_u16(&b, 3);
	nb_set_end(&b);
	nb_set_begin(&b, 256);
	nb_u32(&b, 1), nb_u32(&b, 99), nb_u16(&b, 4);
	nb_set_end(&b);
	nb_ipfix_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_OK);
	REQUIRE_EQ(d.out.count, 2);
	CHECK_EQ(d.flows[0].sampling_rate, 4096);
	CHECK_EQ(d.flows[1].sampling_rate, 4096);
	nd_fini(&d);
}

/* IE 315: the sampled frame goes through the shared L2-L4 parser. */
TEST(ipfix_data_link_frame_section)
{
	static const struct nb_field fields[] = {{10, 4}, {61, 1}, {315, 65535}};
	static const uint8_t frame[] = {
	    0x18, 0x2a, 0xd3, 0x6e, 0x50, 0x3f, 0xb4, 0x02, 0x16, 0x55, 0x92, 0xf4, /* MACs */
	    0x81, 0x00, 0x00, 0xe7, 0x08, 0x00, /* VLAN 231, IPv4 */
	    0x45, 0x00, 0x00, 0x60, 0x8f, 0x00, 0x00, 0x00, 0x77, 0x11, 0x00, 0x00,
	    51,	  51,	51,   51,   52,	  52,	52,   52, /* IPv4, total length 96, TTL 119, UDP */
	    0xd8, 0xcd, 0x2e, 0x01, 0x00, 0x4c, 0x00, 0x00, /* UDP 55501 -> 11777 */
	};
	struct nd d;
	struct nb b;
	struct flow *f;

	nd_init(&d);
	nb_ipfix_header(&b, ETIME, 1);
	tmpl_set(&b, 384, fields, NB_N(fields));
	nb_set_begin(&b, 384);
	nb_u32(&b, 582), nb_u8(&b, 0), nb_u8(&b, sizeof(frame)), nb_bytes(&b, frame, sizeof(frame));
	nb_set_end(&b);
	nb_ipfix_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_OK);
	REQUIRE_EQ(d.out.count, 1);
	f = &d.flows[0];
	CHECK_EQ(f->in_if, 582);
	CHECK_EQ(f->flow_direction, FLOW_DIRECTION_INGRESS);
	CHECK(addr_is4(&f->src_addr, IP4(51, 51, 51, 51)));
	CHECK(addr_is4(&f->dst_addr, IP4(52, 52, 52, 52)));
	CHECK_EQ(f->src_port, 55501);
	CHECK_EQ(f->dst_port, 11777);
	CHECK_EQ(f->proto, 17);
	CHECK_EQ(f->bytes, 96);
	CHECK_EQ(f->packets, 1);
	CHECK_EQ(f->src_vlan, 231);
	CHECK_EQ(f->src_mac, 0xb402165592f4ull);
	CHECK_EQ(f->dst_mac, 0x182ad36e503full);
	CHECK_EQ(f->ip_ttl, 119);
	CHECK_EQ(f->ip_fragment_id, 0x8f00);

	/* A frame with nothing usable is counted; the record's other fields
	 * still make a flow. */
	nb_ipfix_header(&b, ETIME, 1);
	nb_set_begin(&b, 384);
	nb_u32(&b, 583), nb_u8(&b, 0), nb_u8(&b, 3), nb_u24(&b, 0);
	nb_set_end(&b);
	nb_ipfix_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_BAD_HEADER);
	REQUIRE_EQ(d.out.count, 1);
	CHECK_EQ(d.flows[0].in_if, 583);
	nd_fini(&d);
}

TEST(ipfix_export_time_as_time_received)
{
	static const struct nb_field a[] = {{7, 2}};
	struct decode_config cfg;
	struct nd d;
	struct nb b;

	decode_config_init(&cfg);
	cfg.use_export_time = 1;
	nd_init_cfg(&d, &cfg);
	nb_ipfix_header(&b, ETIME, 1);
	tmpl_set(&b, 256, a, 1);
	nb_set_begin(&b, 256);
	nb_u16(&b, 1);
	nb_set_end(&b);
	nb_ipfix_end(&b);
	nd_feed(&d, &b);
	REQUIRE_EQ(d.out.count, 1);
	CHECK_EQ(d.flows[0].time_received, ETIME);
	nd_fini(&d);
}

TEST(ipfix_malformed)
{
	static const struct nb_field a[] = {{7, 2}};
	struct nd d;
	struct nb b;

	nd_init(&d);
	/* Header shorter than 16 bytes. */
	nb_ipfix_header(&b, ETIME, 1);
	b.n = 12;
	CHECK_EQ(nd_feed(&d, &b), DECODE_TRUNCATED);
	/* Length field beyond the datagram. */
	nb_ipfix_header(&b, ETIME, 1);
	tmpl_set(&b, 256, a, 1);
	nb_ipfix_end(&b);
	b.n -= 1;
	CHECK_EQ(nd_feed(&d, &b), DECODE_TRUNCATED);
	CHECK_EQ(d.r.templates, 0);
	/* Length field below the header. */
	nb_ipfix_header(&b, ETIME, 1);
	b.b[3] = 8;
	CHECK_EQ(nd_feed(&d, &b), DECODE_BAD_LENGTH);
	/* Set length below 4. */
	nb_ipfix_header(&b, ETIME, 1);
	nb_u16(&b, 256), nb_u16(&b, 3), nb_u32(&b, 0);
	nb_ipfix_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_BAD_LENGTH);
	/* Set longer than the message. */
	nb_ipfix_header(&b, ETIME, 1);
	nb_u16(&b, 2), nb_u16(&b, 40), nb_u32(&b, 0);
	nb_ipfix_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_TRUNCATED);
	/* Bytes after the last set, too few for a set header. */
	nb_ipfix_header(&b, ETIME, 1);
	tmpl_set(&b, 256, a, 1);
	nb_u16(&b, 0);
	nb_ipfix_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_BAD_LENGTH);
	CHECK_EQ(d.r.templates, 1);
	/* Enterprise bit set but the enterprise number cut off. */
	nb_ipfix_header(&b, ETIME, 1);
	nb_set_begin(&b, 2);
	nb_u16(&b, 257), nb_u16(&b, 1), nb_u16(&b, 0x8001), nb_u16(&b, 4), nb_u16(&b, 0);
	nb_set_end(&b);
	nb_ipfix_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_BAD_TEMPLATE);
	CHECK_EQ(d.r.templates, 0);
	/* Options template without scope, and with more scope than fields. */
	nb_ipfix_header(&b, ETIME, 1);
	nb_set_begin(&b, 3);
	nb_u16(&b, 258), nb_u16(&b, 1), nb_u16(&b, 0), nb_u16(&b, 34), nb_u16(&b, 4);
	nb_u16(&b, 259), nb_u16(&b, 1), nb_u16(&b, 2), nb_u16(&b, 34), nb_u16(&b, 4);
	nb_set_end(&b);
	nb_ipfix_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_BAD_TEMPLATE);
	CHECK_EQ(d.r.events[DECODE_BAD_TEMPLATE], 2);
	/* Template ID below 256, and a withdrawal of a reserved ID. */
	nb_ipfix_header(&b, ETIME, 1);
	nb_set_begin(&b, 2);
	nb_template(&b, 100, a, 1);
	nb_u16(&b, 5), nb_u16(&b, 0);
	nb_set_end(&b);
	nb_ipfix_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_BAD_TEMPLATE);
	CHECK_EQ(d.r.events[DECODE_BAD_TEMPLATE], 2);
	/* Options data cut inside a record is left, counted. */
	nb_ipfix_header(&b, ETIME, 1);
	nb_set_begin(&b, 3);
	nb_u16(&b, 260), nb_u16(&b, 2), nb_u16(&b, 1);
	nb_u16(&b, 302), nb_u16(&b, 65535), nb_u16(&b, 34), nb_u16(&b, 4);
	nb_set_end(&b);
	nb_set_begin(&b, 260);
	nb_u8(&b, 200), nb_u32(&b, 0);
	nb_set_end(&b);
	nb_ipfix_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_TRUNCATED);
	CHECK_EQ(d.r.options_records, 0);
	/* A reserved set ID. */
	nb_ipfix_header(&b, ETIME, 1);
	nb_set_begin(&b, 9);
	nb_set_end(&b);
	nb_ipfix_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_UNSUPPORTED);
	nd_fini(&d);
}

/* Every prefix and a sweep of one-byte corruptions of a datagram holding
 * every kind of set: no crash, no read past the buffer (ASan), bounded
 * output. */
TEST(ipfix_truncations_and_corruptions)
{
	static const struct nb_field fields[] = {
	    {82, 65535}, {1, 8},  {1, 8, 29305}, {2, 8},	 {2, 8, 29305},
	    {8, 4},	 {70, 3}, {315, 65535},	 {137, 2, 2636},
	};
	struct decode_config cfg;
	struct nb b;
	static struct flow flows[64];

	decode_config_init(&cfg);
	nb_ipfix_header(&b, ETIME, 1);
	tmpl_set(&b, 256, fields, NB_N(fields));
	nb_set_begin(&b, 3);
	nb_u16(&b, 300), nb_u16(&b, 2), nb_u16(&b, 1);
	nb_u16(&b, 302), nb_u16(&b, 4), nb_u16(&b, 34), nb_u16(&b, 4);
	nb_set_end(&b);
	nb_set_begin(&b, 300);
	nb_u32(&b, 1), nb_u32(&b, 10);
	nb_set_end(&b);
	nb_set_begin(&b, 256);
	for (int i = 0; i < 3; i++) {
		nb_u8(&b, 2), nb_u16(&b, 0x4142);
		nb_u64(&b, 100), nb_u64(&b, 50), nb_u64(&b, 2), nb_u64(&b, 1);
		nb_ip4(&b, 10, 0, 0, 1);
		nb_u24(&b, 100 << 4 | 1);
		nb_u8(&b, 4), nb_u32(&b, 0x45000014);
		nb_u16(&b, 0x08c3);
	}
	nb_set_end(&b);
	nb_ipfix_end(&b);

	for (size_t n = 0; n <= b.n; n++) {
		struct decode_state *st;
		struct decode_output out = {.flows = flows, .cap = NB_N(flows)};
		struct decode_result r;
		uint8_t *copy = malloc(n ? n : 1);
		struct decode_input in = {.data = copy, .len = n};

		REQUIRE_EQ(decode_state_new(&cfg, &st, NULL), 0);
		memcpy(copy, b.b, n);
		decode_datagram(st, &in, &out, &r);
		CHECK(out.count <= 6);
		/* The decoded flows of the whole datagram: 3 forward + 3 reverse. */
		if (n == b.n)
			CHECK_EQ(out.count, 6);
		free(copy);
		decode_state_free(st);
	}
	for (size_t pos = 16; pos < b.n; pos++) {
		for (unsigned v = 0; v < 256; v += 51) {
			struct decode_state *st;
			struct decode_output out = {.flows = flows, .cap = NB_N(flows)};
			struct decode_result r;
			uint8_t *copy = malloc(b.n);
			struct decode_input in = {.data = copy, .len = b.n};

			REQUIRE_EQ(decode_state_new(&cfg, &st, NULL), 0);
			memcpy(copy, b.b, b.n);
			copy[pos] = (uint8_t)v;
			decode_datagram(st, &in, &out, &r);
			decode_datagram(st, &in, &out, &r); /* again, with what it learnt */
			CHECK(out.count <= NB_N(flows));
			free(copy);
			decode_state_free(st);
		}
	}
}

/* Options data naming interfaces (scope ingressInterface, interfaceName,
 * interfaceDescription, weir probe's speed in bit/s) are reported in
 * decode_output.ifaces when the caller gives room, else only counted. */
TEST(ipfix_interface_names_options)
{
	struct decode_interface ifs[4];
	struct nd d;
	struct nb b;

	nd_init(&d);
	nb_ipfix_header(&b, ETIME, 1);
	nb_set_begin(&b, 3);
	nb_u16(&b, 300), nb_u16(&b, 4), nb_u16(&b, 1);
	nb_u16(&b, 10), nb_u16(&b, 4);
	nb_u16(&b, 82), nb_u16(&b, 0xffff);
	nb_u16(&b, 83), nb_u16(&b, 0xffff);
	nb_u16(&b, 0x8000 | 1), nb_u16(&b, 8), nb_u32(&b, 32473);
	nb_set_end(&b);
	nb_set_begin(&b, 300);
	nb_u32(&b, 7), nb_u8(&b, 8), nb_bytes(&b, "et-0/0/7", 8);
	nb_u8(&b, 13), nb_bytes(&b, "Transit: Acme", 13), nb_u64(&b, 100000000000ull);
	nb_u32(&b, 8), nb_u8(&b, 4), nb_bytes(&b, "ae8\0", 4), nb_u8(&b, 0), nb_u64(&b, 0);
	nb_u32(&b, 9), nb_u8(&b, 0), nb_u8(&b, 0), nb_u64(&b, 0); /* says nothing */
	nb_set_end(&b);
	nb_ipfix_end(&b);
	nd_feed(&d, &b);
	CHECK_EQ(d.r.options_records, 3);
	CHECK_EQ(d.out.ifaces_count, 0); /* no room given */

	struct decode_input in = {.data = b.b, .len = b.n, .time_received = 1700000000};
	addr_from_ipv4(&in.exporter, 0xc0000201u);
	d.out = (struct decode_output){
	    .flows = d.flows, .cap = NB_N(d.flows), .ifaces = ifs, .ifaces_cap = 4};
	CHECK_EQ(decode_datagram(d.st, &in, &d.out, &d.r), DECODE_OK);
	REQUIRE_EQ(d.out.ifaces_count, 2);
	CHECK_EQ(ifs[0].ifindex, 7);
	CHECK_STR(ifs[0].name, "et-0/0/7");
	CHECK_STR(ifs[0].description, "Transit: Acme");
	CHECK_EQ(ifs[0].speed_mbps, 100000);
	CHECK_EQ(ifs[1].ifindex, 8);
	CHECK_STR(ifs[1].name, "ae8");
	CHECK_STR(ifs[1].description, "");
	CHECK_EQ(ifs[1].speed_mbps, 0);

	/* Room for one: the second is not reported. */
	d.out = (struct decode_output){
	    .flows = d.flows, .cap = NB_N(d.flows), .ifaces = ifs, .ifaces_cap = 1};
	decode_datagram(d.st, &in, &d.out, &d.r);
	CHECK_EQ(d.out.ifaces_count, 1);
	nd_fini(&d);
}
