// SPDX-License-Identifier: AGPL-3.0-or-later
/* NetFlow v5 decoder: every record field, the header's sampling field, time
 * stamps, and truncated or oversized input. */
#include "nf_build.h"

static void v5_header(struct nb *b, uint16_t count, uint16_t sampling)
{
	b->n = 0;
	nb_u16(b, 5);
	nb_u16(b, count);
	nb_u32(b, 100000);     /* sysUptime, ms */
	nb_u32(b, 1680626679); /* unix secs */
	nb_u32(b, 500000000);  /* unix nsecs */
	nb_u32(b, 42);	       /* flow sequence */
	nb_u8(b, 0);
	nb_u8(b, 0);
	nb_u16(b, sampling);
}

static void v5_record(struct nb *b, uint8_t proto, uint16_t sport, uint16_t dport)
{
	nb_ip4(b, 161, 202, 212, 212);
	nb_ip4(b, 202, 152, 70, 24);
	nb_ip4(b, 61, 6, 255, 150);
	nb_u16(b, 117);	  /* input */
	nb_u16(b, 86);	  /* output */
	nb_u32(b, 3);	  /* packets */
	nb_u32(b, 133);	  /* bytes */
	nb_u32(b, 90000); /* first: 10 s before export */
	nb_u32(b, 99000); /* last: 1 s before */
	nb_u16(b, sport);
	nb_u16(b, dport);
	nb_u8(b, 0);	/* pad */
	nb_u8(b, 0x18); /* tcp flags */
	nb_u8(b, proto);
	nb_u8(b, 0x20); /* tos */
	nb_u16(b, 36351);
	nb_u16(b, 10101);
	nb_u8(b, 19);
	nb_u8(b, 24);
	nb_u16(b, 0);
}

TEST(v5_every_field)
{
	struct nd d;
	struct nb b;
	struct flow *f;

	nd_init(&d);
	v5_header(&b, 1, 0);
	v5_record(&b, 6, 30104, 11963);
	CHECK_EQ(nd_feed(&d, &b), DECODE_OK);
	CHECK_EQ(d.r.protocol, DECODE_PROTO_NETFLOW_V5);
	CHECK_EQ(d.r.export_time, 1680626679);
	REQUIRE_EQ(d.out.count, 1);
	f = &d.flows[0];
	CHECK(addr_is4(&f->src_addr, IP4(161, 202, 212, 212)));
	CHECK(addr_is4(&f->dst_addr, IP4(202, 152, 70, 24)));
	CHECK(addr_is4(&f->next_hop, IP4(61, 6, 255, 150)));
	CHECK(addr_is4(&f->exporter_address, IP4(192, 0, 2, 1)));
	CHECK_EQ(f->in_if, 117);
	CHECK_EQ(f->out_if, 86);
	CHECK_EQ(f->packets, 3);
	CHECK_EQ(f->bytes, 133);
	CHECK_EQ(f->src_port, 30104);
	CHECK_EQ(f->dst_port, 11963);
	CHECK_EQ(f->tcp_flags, 0x18);
	CHECK_EQ(f->proto, 6);
	CHECK_EQ(f->ip_tos, 0x20);
	CHECK_EQ(f->src_as, 36351);
	CHECK_EQ(f->dst_as, 10101);
	CHECK_EQ(f->src_net_mask, 19);
	CHECK_EQ(f->dst_net_mask, 24);
	CHECK_EQ(f->etype, 0x0800);
	CHECK_EQ(f->sampling_rate, 1); /* header 0 = unsampled */
	CHECK_EQ(f->time_received, 1700000000);
	CHECK_EQ(f->time_flow_start_ms, 1680626679500ull - 10000);
	CHECK_EQ(f->time_flow_end_ms, 1680626679500ull - 1000);
	CHECK_EQ(f->icmpv4_type, 0);
	nd_fini(&d);
}

TEST(v5_sampling_interval_low_14_bits)
{
	struct nd d;
	struct nb b;

	nd_init(&d);
	v5_header(&b, 1, 0x4000 | 1000); /* mode 1, interval 1000 */
	v5_record(&b, 6, 1, 2);
	nd_feed(&d, &b);
	REQUIRE_EQ(d.out.count, 1);
	CHECK_EQ(d.flows[0].sampling_rate, 1000);
	v5_header(&b, 1, 0xc000); /* mode bits only: interval 0 = 1 */
	v5_record(&b, 6, 1, 2);
	nd_feed(&d, &b);
	REQUIRE_EQ(d.out.count, 1);
	CHECK_EQ(d.flows[0].sampling_rate, 1);
	nd_fini(&d);
}

TEST(v5_icmp_type_code_from_dst_port)
{
	struct nd d;
	struct nb b;

	nd_init(&d);
	v5_header(&b, 1, 0);
	v5_record(&b, 1, 0, 0x0303); /* type 3 code 3 */
	nd_feed(&d, &b);
	REQUIRE_EQ(d.out.count, 1);
	CHECK_EQ(d.flows[0].icmpv4_type, 3);
	CHECK_EQ(d.flows[0].icmpv4_code, 3);
	nd_fini(&d);
}

TEST(v5_export_time_as_time_received)
{
	struct decode_config cfg;
	struct nd d;
	struct nb b;

	decode_config_init(&cfg);
	cfg.use_export_time = 1;
	nd_init_cfg(&d, &cfg);
	v5_header(&b, 1, 0);
	v5_record(&b, 6, 1, 2);
	nd_feed(&d, &b);
	REQUIRE_EQ(d.out.count, 1);
	CHECK_EQ(d.flows[0].time_received, 1680626679);
	nd_fini(&d);
}

TEST(v5_truncated_header)
{
	struct nd d;
	struct nb b;

	nd_init(&d);
	v5_header(&b, 1, 0);
	b.n = 20;
	CHECK_EQ(nd_feed(&d, &b), DECODE_TRUNCATED);
	CHECK_EQ(d.out.count, 0);
	nd_fini(&d);
}

TEST(v5_count_larger_than_datagram)
{
	struct nd d;
	struct nb b;

	nd_init(&d);
	v5_header(&b, 3, 0);
	v5_record(&b, 6, 1, 2);
	v5_record(&b, 6, 3, 4);
	nb_zero(&b, 20); /* part of a third record */
	CHECK_EQ(nd_feed(&d, &b), DECODE_TRUNCATED);
	CHECK_EQ(d.r.events[DECODE_TRUNCATED], 1);
	REQUIRE_EQ(d.out.count, 2); /* the whole records are kept */
	CHECK_EQ(d.flows[1].src_port, 3);
	nd_fini(&d);
}

TEST(v5_output_full_counts_flow_limit)
{
	struct nd d;
	struct nb b;
	struct decode_input in = {0};

	nd_init(&d);
	v5_header(&b, 2, 0);
	v5_record(&b, 6, 1, 2);
	v5_record(&b, 6, 3, 4);
	in.data = b.b;
	in.len = b.n;
	d.out = (struct decode_output){.flows = d.flows, .cap = 1};
	CHECK_EQ(decode_datagram(d.st, &in, &d.out, &d.r), DECODE_FLOW_LIMIT);
	CHECK_EQ(d.out.count, 1);
	nd_fini(&d);
}

TEST(v5_empty_and_bad_version)
{
	struct nd d;
	struct nb b;

	nd_init(&d);
	v5_header(&b, 0, 0);
	CHECK_EQ(nd_feed(&d, &b), DECODE_OK);
	CHECK_EQ(d.out.count, 0);
	b.b[1] = 7; /* NetFlow v7 is not decoded */
	CHECK_EQ(nd_feed(&d, &b), DECODE_BAD_VERSION);
	nd_fini(&d);
}
