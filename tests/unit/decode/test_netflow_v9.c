// SPDX-License-Identifier: AGPL-3.0-or-later
/* NetFlow v9 decoder (RFC 3954): templates, options templates and sampling
 * rates, every field weir keeps, per-exporter state and limits, and
 * malformed datagrams. */
#include <stdlib.h>

#include "nf_build.h"

#define UPTIME 1000000u
#define SECS   1647285928u

static const struct nb_field v4_fields[] = {
    {1, 4},   {2, 4},	{4, 1},	  {5, 1},  {6, 1},  {7, 2},   {11, 2},	{8, 4},
    {12, 4},  {9, 1},	{13, 1},  {15, 4}, {16, 4}, {17, 2},  {10, 2},	{14, 4},
    {22, 4},  {21, 4},	{58, 2},  {59, 2}, {56, 6}, {80, 6},  {70, 3},	{71, 3},
    {72, 3},  {234, 4}, {235, 4}, {89, 1}, {61, 1}, {225, 4}, {226, 4}, {227, 2},
    {228, 2}, {192, 1}, {54, 4},  {88, 2}, {60, 1}, {999, 3}, /* unknown: skipped */
};

static void v4_record(struct nb *b, uint16_t sport)
{
	nb_u32(b, 1500); /* bytes */
	nb_u32(b, 2);	 /* packets */
	nb_u8(b, 6);
	nb_u8(b, 0x28);
	nb_u8(b, 0x12);
	nb_u16(b, sport);
	nb_u16(b, 19624);
	nb_ip4(b, 198, 38, 121, 178);
	nb_ip4(b, 91, 170, 143, 87);
	nb_u8(b, 24);
	nb_u8(b, 14);
	nb_ip4(b, 194, 149, 174, 63);
	nb_u32(b, 4200000000u);
	nb_u16(b, 64512); /* 2-byte AS */
	nb_u16(b, 335);	  /* 2-byte ifIndex */
	nb_u32(b, 450);
	nb_u32(b, UPTIME - 3000); /* first switched */
	nb_u32(b, UPTIME - 1000); /* last switched */
	nb_u16(b, 100);
	nb_u16(b, 200);
	nb_mac(b, 0x246e96907a50ull);
	nb_mac(b, 0x246e96043c08ull);
	nb_u24(b, 16001 << 4);
	nb_u24(b, 0); /* unused stack position */
	nb_u24(b, 17002 << 4 | 1);
	nb_u32(b, 1610612738);
	nb_u32(b, 1610612736);
	nb_u8(b, 64);
	nb_u8(b, 1); /* egress */
	nb_ip4(b, 10, 143, 52, 29);
	nb_ip4(b, 10, 89, 87, 1);
	nb_u16(b, 35303);
	nb_u16(b, 53);
	nb_u8(b, 57);
	nb_u32(b, 0xa572);
	nb_u16(b, 185);
	nb_u8(b, 4);
	nb_u24(b, 0xffffff);
}

static void v4_template(struct nb *b, uint16_t id)
{
	nb_set_begin(b, 0);
	nb_template(b, id, v4_fields, NB_N(v4_fields));
	nb_set_end(b);
}

TEST(v9_every_ipv4_field)
{
	struct nd d;
	struct nb b;
	struct flow *f;

	nd_init(&d);
	nb_v9_header(&b, UPTIME, SECS, 7);
	v4_template(&b, 260);
	CHECK_EQ(nd_feed(&d, &b), DECODE_OK);
	CHECK_EQ(d.r.protocol, DECODE_PROTO_NETFLOW_V9);
	CHECK_EQ(d.r.templates, 1);
	CHECK_EQ(d.out.count, 0);

	nb_v9_header(&b, UPTIME, SECS, 7);
	nb_set_begin(&b, 260);
	v4_record(&b, 443);
	v4_record(&b, 444);
	nb_set_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_OK);
	CHECK_EQ(d.r.export_time, SECS);
	REQUIRE_EQ(d.out.count, 2);
	f = &d.flows[0];
	CHECK_EQ(f->bytes, 1500);
	CHECK_EQ(f->packets, 2);
	CHECK_EQ(f->proto, 6);
	CHECK_EQ(f->ip_tos, 0x28);
	CHECK_EQ(f->tcp_flags, 0x12);
	CHECK_EQ(f->src_port, 443);
	CHECK_EQ(d.flows[1].src_port, 444);
	CHECK_EQ(f->dst_port, 19624);
	CHECK(addr_is4(&f->src_addr, IP4(198, 38, 121, 178)));
	CHECK(addr_is4(&f->dst_addr, IP4(91, 170, 143, 87)));
	CHECK_EQ(f->src_net_mask, 24);
	CHECK_EQ(f->dst_net_mask, 14);
	CHECK(addr_is4(&f->next_hop, IP4(194, 149, 174, 63)));
	CHECK_EQ(f->src_as, 4200000000u);
	CHECK_EQ(f->dst_as, 64512);
	CHECK_EQ(f->in_if, 335);
	CHECK_EQ(f->out_if, 450);
	CHECK_EQ(f->time_flow_start_ms, SECS * 1000ull - 3000);
	CHECK_EQ(f->time_flow_end_ms, SECS * 1000ull - 1000);
	CHECK_EQ(f->src_vlan, 100);
	CHECK_EQ(f->dst_vlan, 200);
	CHECK_EQ(f->src_mac, 0x246e96907a50ull);
	CHECK_EQ(f->dst_mac, 0x246e96043c08ull);
	REQUIRE_EQ(f->mpls_labels_count, 2);
	CHECK_EQ(f->mpls_labels[0], 16001);
	CHECK_EQ(f->mpls_labels[1], 17002);
	CHECK_EQ(f->ingress_vrf_id, 1610612738);
	CHECK_EQ(f->egress_vrf_id, 1610612736);
	CHECK_EQ(f->forwarding_status, 64);
	CHECK_EQ(f->flow_direction, FLOW_DIRECTION_EGRESS);
	CHECK(addr_is4(&f->src_addr_nat, IP4(10, 143, 52, 29)));
	CHECK(addr_is4(&f->dst_addr_nat, IP4(10, 89, 87, 1)));
	CHECK_EQ(f->src_port_nat, 35303);
	CHECK_EQ(f->dst_port_nat, 53);
	CHECK_EQ(f->ip_ttl, 57);
	CHECK_EQ(f->ip_fragment_id, 0xa572);
	CHECK_EQ(f->ip_fragment_offset, 185);
	CHECK_EQ(f->etype, 0x0800);
	CHECK_EQ(f->sampling_rate, 0); /* nothing announced */
	CHECK_EQ(f->time_received, 1700000000);
	CHECK(addr_is4(&f->exporter_address, IP4(192, 0, 2, 1)));
	nd_fini(&d);
}

TEST(v9_every_ipv6_field)
{
	static const struct nb_field fields[] = {
	    {23, 8},  {24, 8},	{27, 16}, {28, 16}, {29, 1},  {30, 1},	{63, 16},
	    {31, 3},  {4, 1},	{139, 2}, {10, 4},  {252, 4}, {253, 4}, {14, 4},
	    {243, 2}, {254, 2}, {81, 6},  {57, 6},  {61, 1},
	};
	struct nd d;
	struct nb b;
	struct flow *f;

	nd_init(&d);
	nb_v9_header(&b, UPTIME, SECS, 0);
	nb_set_begin(&b, 0);
	nb_template(&b, 300, fields, NB_N(fields));
	nb_set_end(&b);
	nb_set_begin(&b, 300);
	nb_u64(&b, 5000000000ull);
	nb_u64(&b, 4000000);
	nb_ip6(&b, "2001:db8::1");
	nb_ip6(&b, "2001:db8::2");
	nb_u8(&b, 48);
	nb_u8(&b, 64);
	nb_ip6(&b, "fe80::1");
	nb_u24(&b, 0x68094);
	nb_u8(&b, 58);
	nb_u16(&b, 128 << 8 | 0);
	nb_u32(&b, 0); /* ingressInterface 0: use 252 */
	nb_u32(&b, 12);
	nb_u32(&b, 13);
	nb_u32(&b, 7); /* egressInterface set: 253 ignored */
	nb_u16(&b, 300);
	nb_u16(&b, 301);
	nb_mac(&b, 0x112233445566ull);
	nb_mac(&b, 0xaabbccddeeffull);
	nb_u8(&b, 0);
	nb_set_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_OK);
	REQUIRE_EQ(d.out.count, 1);
	f = &d.flows[0];
	CHECK_EQ(f->bytes, 5000000000ull);
	CHECK_EQ(f->packets, 4000000);
	CHECK(addr_is_text(&f->src_addr, "2001:db8::1"));
	CHECK(addr_is_text(&f->dst_addr, "2001:db8::2"));
	CHECK(addr_is_text(&f->next_hop, "fe80::1"));
	CHECK_EQ(f->src_net_mask, 48);
	CHECK_EQ(f->dst_net_mask, 64);
	CHECK_EQ(f->ipv6_flow_label, 0x68094);
	CHECK_EQ(f->etype, 0x86dd);
	CHECK_EQ(f->proto, 58);
	CHECK_EQ(f->icmpv6_type, 128);
	CHECK_EQ(f->icmpv6_code, 0);
	CHECK_EQ(f->in_if, 12);
	CHECK_EQ(f->out_if, 7);
	CHECK_EQ(f->src_vlan, 300);
	CHECK_EQ(f->dst_vlan, 301);
	CHECK_EQ(f->src_mac, 0x112233445566ull);
	CHECK_EQ(f->dst_mac, 0xaabbccddeeffull);
	CHECK_EQ(f->flow_direction, FLOW_DIRECTION_INGRESS);
	nd_fini(&d);
}

/* ICMP with no ICMP element: type and code from the destination port. */
TEST(v9_icmp_from_destination_port)
{
	static const struct nb_field fields[] = {{4, 1}, {7, 2}, {11, 2}};
	struct nd d;
	struct nb b;

	nd_init(&d);
	nb_v9_header(&b, UPTIME, SECS, 0);
	nb_set_begin(&b, 0);
	nb_template(&b, 256, fields, NB_N(fields));
	nb_set_end(&b);
	nb_set_begin(&b, 256);
	nb_u8(&b, 1), nb_u16(&b, 0), nb_u16(&b, 0x0800);  /* echo request */
	nb_u8(&b, 58), nb_u16(&b, 0), nb_u16(&b, 0x8100); /* ICMPv6 echo reply */
	nb_u8(&b, 6), nb_u16(&b, 0), nb_u16(&b, 0x0800);  /* TCP: no ICMP */
	nb_set_end(&b);
	nd_feed(&d, &b);
	REQUIRE_EQ(d.out.count, 3);
	CHECK_EQ(d.flows[0].icmpv4_type, 8);
	CHECK_EQ(d.flows[0].icmpv4_code, 0);
	CHECK_EQ(d.flows[1].icmpv6_type, 129);
	CHECK_EQ(d.flows[2].icmpv4_type, 0);
	nd_fini(&d);
}

TEST(v9_data_before_template_in_same_datagram)
{
	static const struct nb_field fields[] = {{7, 2}, {11, 2}};
	struct nd d;
	struct nb b;

	nd_init(&d);
	nb_v9_header(&b, UPTIME, SECS, 17170432);
	nb_set_begin(&b, 257);
	nb_u16(&b, 1), nb_u16(&b, 2);
	nb_set_end(&b);
	nb_set_begin(&b, 0);
	nb_template(&b, 257, fields, NB_N(fields));
	nb_set_end(&b);
	nb_set_begin(&b, 257);
	nb_u16(&b, 3), nb_u16(&b, 4);
	nb_set_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_UNKNOWN_TEMPLATE);
	CHECK_EQ(d.r.events[DECODE_UNKNOWN_TEMPLATE], 1);
	CHECK_EQ(d.r.templates, 1);
	REQUIRE_EQ(d.out.count, 1); /* only the data after its template */
	CHECK_EQ(d.flows[0].src_port, 3);
	/* The template was learnt: the same datagram now decodes fully. */
	CHECK_EQ(nd_feed(&d, &b), DECODE_OK);
	CHECK_EQ(d.out.count, 2);
	nd_fini(&d);
}

TEST(v9_unknown_template)
{
	struct nd d;
	struct nb b;

	nd_init(&d);
	nb_v9_header(&b, UPTIME, SECS, 0);
	nb_set_begin(&b, 400);
	nb_u32(&b, 1);
	nb_set_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_UNKNOWN_TEMPLATE);
	CHECK_EQ(d.out.count, 0);
	nd_fini(&d);
}

/* Templates belong to (exporter, source id): the same ID elsewhere is another
 * template. */
TEST(v9_templates_per_exporter_and_source_id)
{
	static const struct nb_field a[] = {{7, 2}, {11, 2}};
	static const struct nb_field c[] = {{11, 2}, {7, 2}};
	struct nd d;
	struct nb b;

	nd_init(&d);
	nb_v9_header(&b, UPTIME, SECS, 1);
	nb_set_begin(&b, 0);
	nb_template(&b, 256, a, 2);
	nb_set_end(&b);
	nd_feed_from(&d, &b, 1);
	nb_v9_header(&b, UPTIME, SECS, 1);
	nb_set_begin(&b, 0);
	nb_template(&b, 256, c, 2);
	nb_set_end(&b);
	nd_feed_from(&d, &b, 2); /* another exporter, same source id */

	nb_v9_header(&b, UPTIME, SECS, 1);
	nb_set_begin(&b, 256);
	nb_u16(&b, 10), nb_u16(&b, 20);
	nb_set_end(&b);
	nd_feed_from(&d, &b, 1);
	REQUIRE_EQ(d.out.count, 1);
	CHECK_EQ(d.flows[0].src_port, 10);
	nd_feed_from(&d, &b, 2);
	REQUIRE_EQ(d.out.count, 1);
	CHECK_EQ(d.flows[0].src_port, 20);
	CHECK(addr_is4(&d.flows[0].exporter_address, IP4(192, 0, 2, 2)));
	/* Source id 2 of exporter 1 has no template 256. */
	b.b[19] = 2;
	CHECK_EQ(nd_feed_from(&d, &b, 1), DECODE_UNKNOWN_TEMPLATE);
	/* Neither has an exporter never heard of. */
	b.b[19] = 1;
	CHECK_EQ(nd_feed_from(&d, &b, 3), DECODE_UNKNOWN_TEMPLATE);
	nd_fini(&d);
}

TEST(v9_redefinition_changes_layout)
{
	static const struct nb_field a[] = {{7, 2}, {11, 2}};
	static const struct nb_field c[] = {{8, 4}, {11, 2}, {7, 2}};
	struct nd d;
	struct nb b;

	nd_init(&d);
	nb_v9_header(&b, UPTIME, SECS, 0);
	nb_set_begin(&b, 0);
	nb_template(&b, 256, a, NB_N(a));
	nb_set_end(&b);
	nb_set_begin(&b, 256);
	nb_u16(&b, 1), nb_u16(&b, 2);
	nb_set_end(&b);
	nd_feed(&d, &b);
	REQUIRE_EQ(d.out.count, 1);
	CHECK_EQ(d.flows[0].src_port, 1);

	nb_v9_header(&b, UPTIME, SECS, 0);
	nb_set_begin(&b, 0);
	nb_template(&b, 256, c, NB_N(c));
	nb_set_end(&b);
	nb_set_begin(&b, 256);
	nb_ip4(&b, 10, 0, 0, 1), nb_u16(&b, 2), nb_u16(&b, 1);
	nb_ip4(&b, 10, 0, 0, 2), nb_u16(&b, 4), nb_u16(&b, 3);
	nb_set_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_OK);
	REQUIRE_EQ(d.out.count, 2);
	CHECK(addr_is4(&d.flows[1].src_addr, IP4(10, 0, 0, 2)));
	CHECK_EQ(d.flows[1].src_port, 3);
	CHECK_EQ(d.flows[1].dst_port, 4);

	/* The same definition again is a refresh: still decodes alike. */
	nd_feed(&d, &b);
	CHECK_EQ(d.r.templates, 1);
	CHECK_EQ(d.out.count, 2);
	nd_fini(&d);
}

static void options_template(struct nb *b, uint16_t id, const struct nb_field *opts, size_t n)
{
	nb_set_begin(b, 1);
	nb_u16(b, id);
	nb_u16(b, 4); /* scope length: one field */
	nb_u16(b, (uint16_t)(4 * n));
	nb_u16(b, 1); /* scope System */
	nb_u16(b, 4);
	for (size_t i = 0; i < n; i++) {
		nb_u16(b, opts[i].ie);
		nb_u16(b, opts[i].len);
	}
	nb_u16(b, 0); /* padding to 32 bits (RFC 3954 6.1) */
	nb_set_end(b);
}

TEST(v9_sampling_by_sampler_id)
{
	static const struct nb_field opts[] = {{48, 1}, {50, 4}, {34, 4}};
	static const struct nb_field fields[] = {{48, 2}, {7, 2}};
	struct nd d;
	struct nb b;

	nd_init(&d);
	nb_v9_header(&b, UPTIME, SECS, 0);
	options_template(&b, 257, opts, NB_N(opts));
	nb_set_begin(&b, 257);
	nb_u32(&b, 0), nb_u8(&b, 5), nb_u32(&b, 0), nb_u32(&b, 100);
	nb_u32(&b, 0), nb_u8(&b, 6), nb_u32(&b, 200), nb_u32(&b, 0);
	nb_set_end(&b);
	nb_set_begin(&b, 0);
	nb_template(&b, 260, fields, NB_N(fields));
	nb_set_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_OK);
	CHECK_EQ(d.r.options_records, 2);
	CHECK_EQ(d.r.templates, 2);

	nb_v9_header(&b, UPTIME, SECS, 0);
	nb_set_begin(&b, 260);
	nb_u16(&b, 5), nb_u16(&b, 1);
	nb_u16(&b, 6), nb_u16(&b, 2);
	nb_u16(&b, 7), nb_u16(&b, 3); /* unknown sampler */
	nb_set_end(&b);
	nd_feed(&d, &b);
	REQUIRE_EQ(d.out.count, 3);
	CHECK_EQ(d.flows[0].sampling_rate, 100);
	CHECK_EQ(d.flows[1].sampling_rate, 200);
	CHECK_EQ(d.flows[2].sampling_rate, 0);

	/* Another source id has its own samplers. */
	nb_v9_header(&b, UPTIME, SECS, 9);
	nb_set_begin(&b, 0);
	nb_template(&b, 260, fields, NB_N(fields));
	nb_set_end(&b);
	nb_set_begin(&b, 260);
	nb_u16(&b, 5), nb_u16(&b, 1);
	nb_set_end(&b);
	nd_feed(&d, &b);
	REQUIRE_EQ(d.out.count, 1);
	CHECK_EQ(d.flows[0].sampling_rate, 0);
	nd_fini(&d);
}

TEST(v9_sampling_without_sampler_id_and_in_record)
{
	static const struct nb_field opts[] = {{34, 4}};
	static const struct nb_field plain[] = {{7, 2}, {11, 2}};
	static const struct nb_field in_rec[] = {{34, 4}, {7, 2}};
	static const struct nb_field with_id[] = {{48, 1}, {7, 2}};
	struct nd d;
	struct nb b;

	nd_init(&d);
	nb_v9_header(&b, UPTIME, SECS, 0);
	options_template(&b, 257, opts, NB_N(opts));
	nb_set_begin(&b, 257);
	nb_u32(&b, 0), nb_u32(&b, 512);
	nb_set_end(&b);
	nb_set_begin(&b, 0);
	nb_template(&b, 260, plain, NB_N(plain));
	nb_template(&b, 261, in_rec, NB_N(in_rec));
	nb_template(&b, 262, with_id, NB_N(with_id));
	nb_set_end(&b);
	nb_set_begin(&b, 260);
	nb_u16(&b, 1), nb_u16(&b, 80), nb_u16(&b, 0); /* a record, 2 bytes of padding */
	nb_set_end(&b);
	nb_set_begin(&b, 261);
	nb_u32(&b, 2048), nb_u16(&b, 2);
	nb_u32(&b, 0), nb_u16(&b, 3);
	nb_set_end(&b);
	nb_set_begin(&b, 262);
	nb_u8(&b, 3), nb_u16(&b, 4); /* sampler 3 unknown: the default one */
	nb_set_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_OK);
	REQUIRE_EQ(d.out.count, 4);
	CHECK_EQ(d.flows[0].sampling_rate, 512);
	CHECK_EQ(d.flows[1].sampling_rate, 2048);
	CHECK_EQ(d.flows[2].sampling_rate, 512);
	CHECK_EQ(d.flows[3].sampling_rate, 512);
	nd_fini(&d);
}

TEST(v9_malformed_header_and_sets)
{
	static const struct nb_field fields[] = {{7, 2}};
	struct nd d;
	struct nb b;

	nd_init(&d);
	nb_v9_header(&b, UPTIME, SECS, 0);
	b.n = 19;
	CHECK_EQ(nd_feed(&d, &b), DECODE_TRUNCATED);

	/* Set longer than the datagram. */
	nb_v9_header(&b, UPTIME, SECS, 0);
	nb_set_begin(&b, 0);
	nb_template(&b, 256, fields, 1);
	nb_set_end(&b);
	b.n -= 2;
	CHECK_EQ(nd_feed(&d, &b), DECODE_TRUNCATED);
	CHECK_EQ(d.r.templates, 0);

	/* Set length below 4: the walk cannot go on. */
	nb_v9_header(&b, UPTIME, SECS, 0);
	nb_u16(&b, 256), nb_u16(&b, 2), nb_u32(&b, 0);
	CHECK_EQ(nd_feed(&d, &b), DECODE_BAD_LENGTH);

	/* Reserved flowset ID. */
	nb_v9_header(&b, UPTIME, SECS, 0);
	nb_set_begin(&b, 7);
	nb_u32(&b, 0);
	nb_set_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_UNSUPPORTED);
	nd_fini(&d);
}

TEST(v9_bad_templates)
{
	static const struct nb_field fields[] = {{7, 2}};
	static const struct nb_field zero_len[] = {{7, 0}};
	struct nd d;
	struct nb b;

	nd_init(&d);
	/* Zero fields. */
	nb_v9_header(&b, UPTIME, SECS, 0);
	nb_set_begin(&b, 0);
	nb_u16(&b, 300), nb_u16(&b, 0);
	nb_template(&b, 301, fields, 1); /* the next record still counts */
	nb_set_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_BAD_TEMPLATE);
	CHECK_EQ(d.r.events[DECODE_BAD_TEMPLATE], 1);
	CHECK_EQ(d.r.templates, 1);

	/* Field count larger than the set. */
	nb_v9_header(&b, UPTIME, SECS, 0);
	nb_set_begin(&b, 0);
	nb_u16(&b, 302), nb_u16(&b, 100);
	nb_u16(&b, 7), nb_u16(&b, 2);
	nb_set_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_BAD_TEMPLATE);
	CHECK_EQ(d.r.templates, 0);

	/* Field count above any sane template. */
	nb_v9_header(&b, UPTIME, SECS, 0);
	nb_set_begin(&b, 0);
	nb_u16(&b, 303), nb_u16(&b, 60000);
	nb_set_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_BAD_TEMPLATE);

	/* Template ID below 256; records of length 0. */
	nb_v9_header(&b, UPTIME, SECS, 0);
	nb_set_begin(&b, 0);
	nb_template(&b, 255, fields, 1);
	nb_template(&b, 304, zero_len, 1);
	nb_set_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_BAD_TEMPLATE);
	CHECK_EQ(d.r.events[DECODE_BAD_TEMPLATE], 2);
	CHECK_EQ(d.r.templates, 0);

	/* Options template with lengths that are not whole fields. */
	nb_v9_header(&b, UPTIME, SECS, 0);
	nb_set_begin(&b, 1);
	nb_u16(&b, 305), nb_u16(&b, 3), nb_u16(&b, 4);
	nb_u32(&b, 0), nb_u32(&b, 0);
	nb_set_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_BAD_TEMPLATE);
	nd_fini(&d);
}

TEST(v9_template_limit)
{
	static const struct nb_field fields[] = {{7, 2}};
	static const struct nb_field other[] = {{11, 2}};
	struct decode_config cfg;
	struct nd d;
	struct nb b;

	decode_config_init(&cfg);
	cfg.max_templates_per_exporter = 2;
	nd_init_cfg(&d, &cfg);
	nb_v9_header(&b, UPTIME, SECS, 0);
	nb_set_begin(&b, 0);
	nb_template(&b, 256, fields, 1);
	nb_template(&b, 257, fields, 1);
	nb_template(&b, 258, fields, 1);
	nb_set_end(&b);
	/* At its limit the exporter's least recently used template makes room. */
	CHECK_EQ(nd_feed(&d, &b), DECODE_OK);
	CHECK_EQ(d.r.templates, 3);
	CHECK_EQ(d.r.templates_evicted, 1);
	/* Redefining a known template is not a new one. */
	nb_v9_header(&b, UPTIME, SECS, 0);
	nb_set_begin(&b, 0);
	nb_template(&b, 257, other, 1);
	nb_set_end(&b);
	nb_set_begin(&b, 257);
	nb_u16(&b, 53);
	nb_set_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_OK);
	REQUIRE_EQ(d.out.count, 1);
	CHECK_EQ(d.flows[0].dst_port, 53);
	CHECK_EQ(d.r.templates_evicted, 0);
	/* Another exporter has its own count. */
	nb_v9_header(&b, UPTIME, SECS, 0);
	nb_set_begin(&b, 0);
	nb_template(&b, 258, fields, 1);
	nb_set_end(&b);
	CHECK_EQ(nd_feed_from(&d, &b, 2), DECODE_OK);
	nd_fini(&d);
}

TEST(v9_memory_limit)
{
	struct nb_field many[100];
	struct decode_config cfg;
	struct nd d;
	struct nb b;

	for (int i = 0; i < 100; i++)
		many[i] = (struct nb_field){7, 2};
	decode_config_init(&cfg);
	cfg.max_bytes_per_exporter = 2048;
	nd_init_cfg(&d, &cfg);
	nb_v9_header(&b, UPTIME, SECS, 0);
	nb_set_begin(&b, 0);
	nb_template(&b, 256, many, 10);
	nb_template(&b, 257, many, 100);
	nb_set_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_MEMORY_LIMIT);
	CHECK_EQ(d.r.templates, 1);
	CHECK_EQ(d.r.events[DECODE_MEMORY_LIMIT], 1);
	nd_fini(&d);
}

TEST(v9_exporter_limit)
{
	static const struct nb_field fields[] = {{7, 2}};
	struct decode_config cfg;
	struct nd d;
	struct nb b;

	decode_config_init(&cfg);
	cfg.max_exporters = 2;
	nd_init_cfg(&d, &cfg);
	nb_v9_header(&b, UPTIME, SECS, 0);
	nb_set_begin(&b, 0);
	nb_template(&b, 256, fields, 1);
	nb_set_end(&b);
	CHECK_EQ(nd_feed_from(&d, &b, 1), DECODE_OK);
	CHECK_EQ(nd_feed_from(&d, &b, 2), DECODE_OK);
	/* A new one evicts the least recently used (test_template_state.c). */
	CHECK_EQ(nd_feed_from(&d, &b, 3), DECODE_OK);
	CHECK_EQ(d.r.exporters_evicted, 1);
	CHECK_EQ(d.r.templates, 1);
	CHECK_EQ(nd_feed_from(&d, &b, 2), DECODE_OK); /* known ones go on */
	CHECK_EQ(d.r.exporters_evicted, 0);
	nd_fini(&d);
}

TEST(v9_output_full)
{
	static const struct nb_field fields[] = {{7, 2}};
	struct nd d;
	struct nb b;
	struct decode_input in = {0};

	nd_init(&d);
	nb_v9_header(&b, UPTIME, SECS, 0);
	nb_set_begin(&b, 0);
	nb_template(&b, 256, fields, 1);
	nb_set_end(&b);
	nb_set_begin(&b, 256);
	nb_u16(&b, 1), nb_u16(&b, 2), nb_u16(&b, 3);
	nb_set_end(&b);
	in.data = b.b;
	in.len = b.n;
	d.out = (struct decode_output){.flows = d.flows, .cap = 2};
	CHECK_EQ(decode_datagram(d.st, &in, &d.out, &d.r), DECODE_FLOW_LIMIT);
	CHECK_EQ(d.out.count, 2);
	nd_fini(&d);
}

/* Every prefix of a valid datagram is refused or decoded without reading
 * past it (ASan watches); none yields more flows than the whole. */
TEST(v9_every_truncation)
{
	struct nd d;
	struct nb b, cut;

	nd_init(&d);
	nb_v9_header(&b, UPTIME, SECS, 0);
	v4_template(&b, 260);
	nb_set_begin(&b, 260);
	v4_record(&b, 1);
	v4_record(&b, 2);
	nb_set_end(&b);
	for (size_t n = 0; n < b.n; n++) {
		struct decode_state *st;
		struct decode_input in = {.len = n};
		uint8_t *copy = malloc(n ? n : 1);

		REQUIRE_EQ(decode_state_new(&d.cfg, &st, NULL), 0);
		memcpy(copy, b.b, n);
		in.data = copy;
		d.out = (struct decode_output){.flows = d.flows, .cap = NB_N(d.flows)};
		decode_datagram(st, &in, &d.out, &d.r);
		CHECK(d.out.count == 0);
		free(copy);
		decode_state_free(st);
	}
	cut = b;
	CHECK_EQ(nd_feed(&d, &cut), DECODE_OK);
	CHECK_EQ(d.out.count, 2);
	nd_fini(&d);
}

/* Dual-stack templates carry both families' fields; the unused ones are 0
 * and must not hide the others, whatever their order. */
TEST(v9_dual_stack_template)
{
	static const struct nb_field fields[] = {
	    {62, 16}, {15, 4}, {27, 16}, {8, 4}, {58, 2}, {243, 2}, {60, 1},
	};
	struct nd d;
	struct nb b;

	nd_init(&d);
	nb_v9_header(&b, UPTIME, SECS, 0);
	nb_set_begin(&b, 0);
	nb_template(&b, 256, fields, NB_N(fields));
	nb_set_end(&b);
	nb_set_begin(&b, 256);
	nb_zero(&b, 16), nb_ip4(&b, 192, 0, 2, 9), nb_zero(&b, 16), nb_ip4(&b, 10, 0, 0, 1);
	nb_u16(&b, 0), nb_u16(&b, 42), nb_u8(&b, 4);
	nb_ip6(&b, "2001:db8::9"), nb_zero(&b, 4), nb_ip6(&b, "2001:db8::1"), nb_zero(&b, 4);
	nb_u16(&b, 7), nb_u16(&b, 8), nb_u8(&b, 6);
	nb_set_end(&b);
	CHECK_EQ(nd_feed(&d, &b), DECODE_OK);
	REQUIRE_EQ(d.out.count, 2);
	CHECK(addr_is4(&d.flows[0].next_hop, IP4(192, 0, 2, 9)));
	CHECK(addr_is4(&d.flows[0].src_addr, IP4(10, 0, 0, 1)));
	CHECK_EQ(d.flows[0].etype, 0x0800);
	CHECK_EQ(d.flows[0].src_vlan, 42);
	CHECK(addr_is_text(&d.flows[1].next_hop, "2001:db8::9"));
	CHECK(addr_is_text(&d.flows[1].src_addr, "2001:db8::1"));
	CHECK_EQ(d.flows[1].etype, 0x86dd);
	CHECK_EQ(d.flows[1].src_vlan, 7); /* the first non-zero one */
	nd_fini(&d);
}
