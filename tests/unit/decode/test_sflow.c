// SPDX-License-Identifier: AGPL-3.0-or-later
/* The sFlow v5 decoder on hand-built datagrams: every sample and record
 * type it reads, interface encodings, and each malformed case. */
#include <stdlib.h>

#include "decode/decode.h"
#include "l2l4_build.h"
#include "test.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))
#define MAC_A	       0x246e96907a50ull
#define MAC_B	       0x246e96043c08ull
#define NOW	       1700000000u

static const uint8_t *v6(const char *text)
{
	static struct in6_addr ring[8];
	static unsigned i;
	struct in6_addr *a = &ring[i++ % 8];
	*a = A(text);
	return a->s6_addr;
}

/* sFlow v5 datagram header (sFlow v5 4). */
static void dg_begin(struct pkt *d, int v6agent, uint32_t nsamples)
{
	memset(d, 0, sizeof(*d));
	put32(d, 5);
	if (v6agent) {
		put32(d, 2);
		putn(d, v6("2001:db8::a"), 16);
	} else {
		put32(d, 1);
		put32(d, IP(192, 0, 2, 10));
	}
	put32(d, 3);	  /* sub-agent */
	put32(d, 77);	  /* sequence */
	put32(d, 123456); /* uptime */
	put32(d, nsamples);
}

/* A format and a length to fill in with close_len(). */
static size_t open_len(struct pkt *d, uint32_t fmt)
{
	size_t at;

	put32(d, fmt);
	at = d->n;
	put32(d, 0);
	return at;
}

static void close_len(struct pkt *d, size_t at)
{
	set32(d, at, d->n - at - 4);
}

static size_t flow_sample(struct pkt *d, uint32_t rate, uint32_t in, uint32_t out, uint32_t nrec)
{
	size_t at = open_len(d, 1);

	put32(d, 1000); /* sequence */
	put32(d, 5);	/* source id */
	put32(d, rate);
	put32(d, 99999); /* pool */
	put32(d, 0);	 /* drops */
	put32(d, in);
	put32(d, out);
	put32(d, nrec);
	return at;
}

static size_t xflow_sample(struct pkt *d, uint32_t rate, uint32_t in_fmt, uint32_t in_val,
			   uint32_t out_fmt, uint32_t out_val, uint32_t nrec)
{
	size_t at = open_len(d, 3);

	put32(d, 1000);
	put32(d, 0);	 /* source id type */
	put32(d, 11001); /* source id index */
	put32(d, rate);
	put32(d, 99999);
	put32(d, 0);
	put32(d, in_fmt);
	put32(d, in_val);
	put32(d, out_fmt);
	put32(d, out_val);
	put32(d, nrec);
	return at;
}

static void rec_header(struct pkt *d, uint32_t proto, uint32_t frame_len, const struct pkt *h)
{
	size_t at = open_len(d, 1);

	put32(d, proto);
	put32(d, frame_len);
	put32(d, 4); /* stripped */
	put32(d, h->n);
	putn(d, h->b, h->n);
	while (d->n % 4)
		put8(d, 0);
	close_len(d, at);
}

static void rec_switch(struct pkt *d, uint32_t src, uint32_t dst)
{
	size_t at = open_len(d, 1001);

	put32(d, src);
	put32(d, 0);
	put32(d, dst);
	put32(d, 0);
	close_len(d, at);
}

static void rec_router(struct pkt *d, uint32_t nh, uint32_t smask, uint32_t dmask)
{
	size_t at = open_len(d, 1002);

	put32(d, 1);
	put32(d, nh);
	put32(d, smask);
	put32(d, dmask);
	close_len(d, at);
}

/* Extended gateway with one AS_SEQUENCE of `npath` entries (from `path`)
 * and `ncomm` communities. */
static void rec_gateway(struct pkt *d, uint32_t nh, uint32_t as, uint32_t src_as,
			const uint32_t *path, uint32_t npath, const uint32_t *comms, uint32_t ncomm)
{
	size_t at = open_len(d, 1003);

	put32(d, 1);
	put32(d, nh);
	put32(d, as);
	put32(d, src_as);
	put32(d, 64999); /* src peer AS */
	put32(d, npath ? 1 : 0);
	if (npath) {
		put32(d, 2); /* AS_SEQUENCE */
		put32(d, npath);
		for (uint32_t i = 0; i < npath; i++)
			put32(d, path[i]);
	}
	put32(d, ncomm);
	for (uint32_t i = 0; i < ncomm; i++)
		put32(d, comms[i]);
	put32(d, 100); /* local pref */
	close_len(d, at);
}

/* Ethernet / 802.1Q? / IPv4 / TCP header with IP total length 421. */
static void hdr_eth_ipv4(struct pkt *h, int vlan)
{
	memset(h, 0, sizeof(*h));
	put_eth(h, MAC_B, MAC_A);
	if (vlan) {
		put16(h, 0x8100);
		put16(h, vlan);
	}
	put16(h, 0x0800);
	put_ipv4(h, IP(104, 26, 8, 24), IP(45, 90, 161, 46), 6, 0, 59, 0xa572, 0x4000, 421);
	put_tcp(h, 443, 56876, 0x18);
}

struct run {
	struct decode_result r;
	struct flow flows[8];
	uint32_t count;
	struct decode_interface ifaces[4];
	uint32_t nifaces;
};

/* Decodes `len` bytes of `d` from an exact-size copy with decapsulation
 * `decap` and room for `cap` flows. */
static void run_n(const struct pkt *d, size_t len, enum decode_decap decap, uint32_t cap,
		  struct run *run)
{
	struct decode_config cfg;
	struct decode_state *st;
	struct decode_input in = {.len = len, .time_received = NOW};
	struct decode_output out = {
	    .flows = run->flows, .cap = cap, .ifaces = run->ifaces, .ifaces_cap = 4};
	uint8_t *c = exact_copy(d->b, len);

	decode_config_init(&cfg);
	cfg.decap = decap;
	if (decode_state_new(&cfg, &st, NULL) < 0)
		abort();
	in.data = c;
	in.exporter = A("203.0.113.99");
	decode_datagram(st, &in, &out, &run->r);
	run->count = out.count;
	run->nifaces = out.ifaces_count;
	decode_state_free(st);
	free(c);
}

static void run(const struct pkt *d, struct run *r)
{
	run_n(d, d->n, DECODE_DECAP_NONE, 8, r);
}

TEST(flow_sample_with_all_records)
{
	static const uint32_t path[] = {203698, 6762, 26615};
	static const uint32_t comms[] = {2583495656u, 2583495657u, 4259880000u};
	struct pkt d, h;
	struct run x;

	dg_begin(&d, 0, 1);
	size_t s = flow_sample(&d, 1024, 49001, 25, 4);
	rec_switch(&d, 0xffffffff, 100);
	hdr_eth_ipv4(&h, 0);
	rec_header(&d, 1, 439, &h);
	rec_gateway(&d, IP(31, 14, 69, 110), 39421, 13335, path, 3, comms, 3);
	rec_router(&d, IP(45, 90, 161, 46), 20, 27);
	close_len(&d, s);
	run(&d, &x);

	CHECK_EQ(x.r.protocol, DECODE_PROTO_SFLOW_V5);
	CHECK_EQ(x.r.status, DECODE_OK);
	CHECK(addr_eq(&x.r.exporter, "192.0.2.10"));
	REQUIRE_EQ(x.count, 1);
	CHECK_EQ(x.r.flows, 1);
	struct flow *f = &x.flows[0];
	CHECK(addr_eq(&f->exporter_address, "192.0.2.10"));
	CHECK_EQ(f->time_received, NOW);
	CHECK_EQ(f->sampling_rate, 1024);
	CHECK_EQ(f->packets, 1);
	CHECK_EQ(f->bytes, 421);
	CHECK_EQ(f->in_if, 49001);
	CHECK_EQ(f->out_if, 25);
	CHECK_EQ(f->forwarding_status, 0);
	CHECK_EQ(f->src_vlan, 0);
	CHECK_EQ(f->dst_vlan, 100);
	CHECK_EQ(f->src_mac, MAC_A);
	CHECK_EQ(f->dst_mac, MAC_B);
	CHECK(addr_eq(&f->src_addr, "104.26.8.24"));
	CHECK(addr_eq(&f->dst_addr, "45.90.161.46"));
	CHECK_EQ(f->etype, 0x0800);
	CHECK_EQ(f->proto, 6);
	CHECK_EQ(f->src_port, 443);
	CHECK_EQ(f->dst_port, 56876);
	CHECK_EQ(f->tcp_flags, 0x18);
	CHECK_EQ(f->ip_ttl, 59);
	CHECK_EQ(f->ip_fragment_id, 0xa572);
	CHECK(addr_eq(&f->next_hop, "45.90.161.46")); /* the router record came last */
	CHECK_EQ(f->src_net_mask, 20);
	CHECK_EQ(f->dst_net_mask, 27);
	CHECK_EQ(f->src_as, 13335);
	CHECK_EQ(f->dst_as, 26615);
	REQUIRE_EQ(f->dst_as_path_count, 3);
	CHECK_EQ(f->dst_as_path[0], 203698);
	CHECK_EQ(f->dst_as_path[2], 26615);
	REQUIRE_EQ(f->dst_communities_count, 3);
	CHECK_EQ(f->dst_communities[0], 2583495656u);
	CHECK_EQ(f->dst_communities[2], 4259880000u);
}

TEST(gateway_without_path_uses_router_as)
{
	struct pkt d;
	struct run x;

	dg_begin(&d, 0, 1);
	size_t s = flow_sample(&d, 1, 1, 2, 1);
	rec_gateway(&d, 0, 39421, 0, NULL, 0, NULL, 0);
	close_len(&d, s);
	run(&d, &x);
	REQUIRE_EQ(x.count, 1);
	CHECK_EQ(x.flows[0].src_as, 39421);
	CHECK_EQ(x.flows[0].dst_as, 39421);
	CHECK_EQ(x.flows[0].dst_as_path_count, 0);
	CHECK(addr_is_zero(&x.flows[0].next_hop));
	CHECK_EQ(x.r.status, DECODE_OK);
}

TEST(gateway_arrays_truncated)
{
	uint32_t path[20], comms[20];
	struct pkt d;
	struct run x;

	for (uint32_t i = 0; i < 20; i++) {
		path[i] = 100 + i;
		comms[i] = 5000 + i;
	}
	dg_begin(&d, 0, 1);
	size_t s = flow_sample(&d, 1, 1, 2, 1);
	rec_gateway(&d, IP(1, 2, 3, 4), 1, 2, path, 20, comms, 20);
	close_len(&d, s);
	run(&d, &x);
	REQUIRE_EQ(x.count, 1);
	struct flow *f = &x.flows[0];
	CHECK_EQ(f->dst_as_path_count, FLOW_MAX_AS_PATH);
	CHECK_EQ(f->dst_as_path[FLOW_MAX_AS_PATH - 1], 100 + FLOW_MAX_AS_PATH - 1);
	CHECK_EQ(f->dst_as, 119); /* the real last AS of the path */
	CHECK_EQ(f->dst_communities_count, FLOW_MAX_COMMUNITIES);
	CHECK_EQ(f->dst_communities[FLOW_MAX_COMMUNITIES - 1], 5000 + FLOW_MAX_COMMUNITIES - 1);
	CHECK_EQ(x.r.events[DECODE_TRUNCATED_ARRAY], 1);
	CHECK_EQ(x.r.status, DECODE_TRUNCATED_ARRAY);
}

TEST(gateway_several_segments)
{
	struct pkt d;
	struct run x;

	dg_begin(&d, 0, 1);
	size_t s = flow_sample(&d, 1, 1, 2, 1);
	size_t g = open_len(&d, 1003);
	put32(&d, 2); /* IPv6 next hop */
	putn(&d, v6("2001:db8::1"), 16);
	put32(&d, 65000);
	put32(&d, 0);
	put32(&d, 0);
	put32(&d, 2); /* two segments */
	put32(&d, 2);
	put32(&d, 1);
	put32(&d, 174);
	put32(&d, 1); /* AS_SET */
	put32(&d, 2);
	put32(&d, 3356);
	put32(&d, 1299);
	put32(&d, 0); /* no communities */
	put32(&d, 0);
	close_len(&d, g);
	close_len(&d, s);
	run(&d, &x);
	REQUIRE_EQ(x.count, 1);
	CHECK(addr_eq(&x.flows[0].next_hop, "2001:db8::1"));
	CHECK_EQ(x.flows[0].dst_as_path_count, 3);
	CHECK_EQ(x.flows[0].dst_as, 1299);
	CHECK_EQ(x.flows[0].src_as, 65000);
}

TEST(ipv6_agent)
{
	struct pkt d, h;
	struct run x;

	dg_begin(&d, 1, 1);
	size_t s = flow_sample(&d, 2048, 3, 4, 1);
	hdr_eth_ipv4(&h, 0);
	rec_header(&d, 1, 439, &h);
	close_len(&d, s);
	run(&d, &x);
	CHECK(addr_eq(&x.r.exporter, "2001:db8::a"));
	REQUIRE_EQ(x.count, 1);
	CHECK(addr_eq(&x.flows[0].exporter_address, "2001:db8::a"));
	CHECK_EQ(x.flows[0].sampling_rate, 2048);
}

TEST(unknown_agent_address_type)
{
	struct pkt d;
	struct run x;

	memset(&d, 0, sizeof(d));
	put32(&d, 5);
	put32(&d, 3);
	for (int i = 0; i < 8; i++)
		put32(&d, 0);
	run(&d, &x);
	CHECK_EQ(x.count, 0);
	CHECK_EQ(x.r.status, DECODE_UNSUPPORTED);

	/* type 0 (unknown): no address bytes, the datagram's source stays */
	memset(&d, 0, sizeof(d));
	put32(&d, 5);
	put32(&d, 0);
	put32(&d, 0);
	put32(&d, 1);
	put32(&d, 1);
	put32(&d, 1);
	size_t s = flow_sample(&d, 1, 1, 2, 0);
	close_len(&d, s);
	run(&d, &x);
	REQUIRE_EQ(x.count, 1);
	CHECK(addr_eq(&x.r.exporter, "203.0.113.99"));
	CHECK(addr_eq(&x.flows[0].exporter_address, "203.0.113.99"));
}

TEST(counter_samples_counted_not_flows)
{
	struct pkt d, h;
	struct run x;

	dg_begin(&d, 0, 4);
	size_t c = open_len(&d, 2);
	put32(&d, 1);
	put32(&d, 5);
	put32(&d, 0); /* no counter records */
	close_len(&d, c);
	size_t s = flow_sample(&d, 10, 1, 2, 1);
	hdr_eth_ipv4(&h, 0);
	rec_header(&d, 1, 439, &h);
	close_len(&d, s);
	c = open_len(&d, 4);
	for (int i = 0; i < 4; i++)
		put32(&d, 0);
	close_len(&d, c);
	c = open_len(&d, 2);
	close_len(&d, c);
	run(&d, &x);
	CHECK_EQ(x.r.counter_samples, 3);
	CHECK_EQ(x.count, 1);
	CHECK_EQ(x.r.status, DECODE_OK);
}

/* Generic interface counters (format 1): their ifIndex and ifSpeed are
 * reported as an interface of the agent. */
TEST(counter_samples_report_interface_speed)
{
	struct pkt d;
	struct run x;

	dg_begin(&d, 0, 2);
	size_t c = open_len(&d, 2);
	put32(&d, 1), put32(&d, 12), put32(&d, 2); /* sequence, source, 2 records */
	size_t r = open_len(&d, 1);		   /* generic interface counters */
	put32(&d, 12), put32(&d, 6);		   /* ifIndex, ifType */
	put32(&d, 2), put32(&d, 0x540be400);	   /* ifSpeed: 10 Gbps */
	put32(&d, 1), put32(&d, 3);		   /* ifDirection, ifStatus */
	close_len(&d, r);
	r = open_len(&d, 2); /* ethernet counters: not read */
	put32(&d, 0);
	close_len(&d, r);
	close_len(&d, c);
	c = open_len(&d, 4); /* expanded, speed 0: not reported */
	put32(&d, 2), put32(&d, 0), put32(&d, 13), put32(&d, 1);
	r = open_len(&d, 1);
	put32(&d, 13), put32(&d, 6), put32(&d, 0), put32(&d, 0);
	close_len(&d, r);
	close_len(&d, c);
	run(&d, &x);
	CHECK_EQ(x.r.counter_samples, 2);
	CHECK_EQ(x.r.status, DECODE_OK);
	REQUIRE_EQ(x.nifaces, 1);
	CHECK_EQ(x.ifaces[0].ifindex, 12);
	CHECK_EQ(x.ifaces[0].speed_mbps, 10000);
	CHECK_STR(x.ifaces[0].name, "");
}

TEST(discarded_packets)
{
	static const struct {
		uint32_t reason, status;
	} cases[] = {{1, 131},	 {0, 131},   {4, 133},	 {9, 129},   {257, 137},
		     {258, 129}, {261, 138}, {302, 140}, {256, 128}, {999, 128}};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt d;
		struct run x;

		dg_begin(&d, 0, 2);
		size_t s = flow_sample(&d, 1, 27, 1u << 30 | cases[i].reason, 0);
		close_len(&d, s);
		s = xflow_sample(&d, 1, 0, 27, 1, cases[i].reason, 0);
		close_len(&d, s);
		run(&d, &x);
		REQUIRE_EQ(x.count, 2);
		for (int j = 0; j < 2; j++) {
			CHECK_EQ(x.flows[j].in_if, 27);
			CHECK_EQ(x.flows[j].out_if, 0);
			CHECK_EQ(x.flows[j].forwarding_status, cases[i].status);
		}
	}
}

TEST(local_and_multiple_interfaces)
{
	struct pkt d;
	struct run x;

	dg_begin(&d, 0, 4);
	size_t s = flow_sample(&d, 1, 0x3fffffff, 0x3fffffff, 0);
	close_len(&d, s);
	s = flow_sample(&d, 1, 12, 2u << 30 | 3, 0); /* 3 output interfaces */
	close_len(&d, s);
	s = xflow_sample(&d, 1, 0, 0x3fffffff, 2, 7, 0);
	close_len(&d, s);
	/* expanded samples carry the whole 32 bits of the value */
	s = xflow_sample(&d, 1, 0, 29001, 0, 1285816721, 0);
	close_len(&d, s);
	run(&d, &x);
	REQUIRE_EQ(x.count, 4);
	CHECK_EQ(x.flows[0].in_if, 0);
	CHECK_EQ(x.flows[0].out_if, 0);
	CHECK_EQ(x.flows[1].in_if, 12);
	CHECK_EQ(x.flows[1].out_if, 0);
	CHECK_EQ(x.flows[1].forwarding_status, 0);
	CHECK_EQ(x.flows[2].in_if, 0);
	CHECK_EQ(x.flows[2].out_if, 0);
	CHECK_EQ(x.flows[3].in_if, 29001);
	CHECK_EQ(x.flows[3].out_if, 1285816721);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(x.flows[i].forwarding_status, 0);
}

TEST(expanded_sample_records)
{
	struct pkt d, h;
	struct run x;

	dg_begin(&d, 0, 1);
	size_t s = xflow_sample(&d, 1000, 0, 29001, 0, 1285816721, 2);
	hdr_eth_ipv4(&h, 809);
	rec_header(&d, 1, 443, &h);
	rec_router(&d, IP(54, 54, 54, 54), 32, 22);
	close_len(&d, s);
	run(&d, &x);
	REQUIRE_EQ(x.count, 1);
	CHECK_EQ(x.flows[0].sampling_rate, 1000);
	CHECK_EQ(x.flows[0].src_vlan, 809);
	CHECK_EQ(x.flows[0].dst_vlan, 809);
	CHECK_EQ(x.flows[0].dst_net_mask, 22);
	CHECK_EQ(x.flows[0].bytes, 421);
}

TEST(header_protocols)
{
	struct pkt d, h;
	struct run x;

	/* 11: IPv4 without Ethernet */
	memset(&h, 0, sizeof(h));
	put_ipv4(&h, IP(69, 58, 92, 107), IP(92, 222, 186, 1), 1, 8, 64, 0x10e9, 0, 32);
	put_icmp(&h, 0, 0);
	dg_begin(&d, 0, 1);
	size_t s = flow_sample(&d, 1, 0, 2, 1);
	rec_header(&d, 11, 50, &h);
	close_len(&d, s);
	run(&d, &x);
	REQUIRE_EQ(x.count, 1);
	CHECK(addr_eq(&x.flows[0].src_addr, "69.58.92.107"));
	CHECK_EQ(x.flows[0].bytes, 32);
	CHECK_EQ(x.flows[0].src_mac, 0);
	CHECK_EQ(x.flows[0].ip_tos, 8);

	/* 12: IPv6 without Ethernet */
	memset(&h, 0, sizeof(h));
	put_ipv6(&h, 0, 1, 100, 17, 9, v6("2001:db8::5"), v6("2001:db8::6"));
	put_udp(&h, 1, 2, 100);
	dg_begin(&d, 0, 1);
	s = flow_sample(&d, 1, 0, 2, 1);
	rec_header(&d, 12, 140, &h);
	close_len(&d, s);
	run(&d, &x);
	REQUIRE_EQ(x.count, 1);
	CHECK(addr_eq(&x.flows[0].src_addr, "2001:db8::5"));
	CHECK_EQ(x.flows[0].bytes, 140);
	CHECK_EQ(x.flows[0].dst_port, 2);
	CHECK_EQ(x.r.status, DECODE_OK);

	/* 13: MPLS */
	memset(&h, 0, sizeof(h));
	put_mpls(&h, 16, 1);
	put_ipv4(&h, IP(10, 0, 0, 1), IP(10, 0, 0, 2), 17, 0, 64, 0, 0, 60);
	put_udp(&h, 3, 4, 40);
	dg_begin(&d, 0, 1);
	s = flow_sample(&d, 1, 0, 2, 1);
	rec_header(&d, 13, 64, &h);
	close_len(&d, s);
	run(&d, &x);
	REQUIRE_EQ(x.count, 1);
	CHECK_EQ(x.flows[0].mpls_labels_count, 1);
	CHECK_EQ(x.flows[0].mpls_labels[0], 16);
	CHECK_EQ(x.flows[0].bytes, 60);

	/* 7 (PPP) is not read: counted, the flow keeps its sample fields and
	 * the frame length as Bytes. */
	dg_begin(&d, 0, 1);
	s = flow_sample(&d, 100, 5, 6, 1);
	rec_header(&d, 7, 300, &h);
	close_len(&d, s);
	run(&d, &x);
	REQUIRE_EQ(x.count, 1);
	CHECK_EQ(x.r.events[DECODE_UNSUPPORTED], 1);
	CHECK_EQ(x.flows[0].in_if, 5);
	CHECK_EQ(x.flows[0].bytes, 300);
	CHECK_EQ(x.flows[0].etype, 0);
}

TEST(unreadable_header_counted)
{
	struct pkt d, h;
	struct run x;

	memset(&h, 0, sizeof(h));
	put32(&h, 0x12345678); /* not IPv4 */
	dg_begin(&d, 0, 1);
	size_t s = flow_sample(&d, 1, 0, 2, 1);
	rec_header(&d, 11, 1000, &h);
	close_len(&d, s);
	run(&d, &x);
	REQUIRE_EQ(x.count, 1);
	CHECK_EQ(x.r.events[DECODE_BAD_HEADER], 1);
	CHECK_EQ(x.r.status, DECODE_BAD_HEADER);
	CHECK_EQ(x.flows[0].bytes, 1000);

	/* Ethernet frame of a non-IP protocol: the frame length minus the
	 * Ethernet header and FCS stands for Bytes. */
	memset(&h, 0, sizeof(h));
	put_eth(&h, MAC_B, MAC_A);
	put16(&h, 0x0806);
	put32(&h, 0x00010800);
	dg_begin(&d, 0, 1);
	s = flow_sample(&d, 1, 0, 2, 1);
	rec_header(&d, 1, 64, &h);
	close_len(&d, s);
	run(&d, &x);
	REQUIRE_EQ(x.count, 1);
	CHECK_EQ(x.r.status, DECODE_OK);
	CHECK_EQ(x.flows[0].bytes, 46);
	CHECK_EQ(x.flows[0].src_mac, MAC_A);
}

static void rec_sampled_ipv4(struct pkt *d)
{
	size_t at = open_len(d, 3);

	put32(d, 576);
	put32(d, 17);
	put32(d, IP(10, 1, 1, 1));
	put32(d, IP(10, 2, 2, 2));
	put32(d, 1234);
	put32(d, 53);
	put32(d, 0);
	put32(d, 0x20);
	close_len(d, at);
}

static void rec_sampled_ethernet(struct pkt *d)
{
	size_t at = open_len(d, 2);

	put32(d, 1518);
	put_mac(d, 0x0a0b0c0d0e0full);
	put16(d, 0);
	put_mac(d, 0x010203040506ull);
	put16(d, 0);
	put32(d, 0x0800);
	close_len(d, at);
}

TEST(sampled_ipv4_ipv6_ethernet_records)
{
	struct pkt d;
	struct run x;

	dg_begin(&d, 0, 2);
	size_t s = flow_sample(&d, 1, 1, 2, 2);
	rec_sampled_ethernet(&d);
	rec_sampled_ipv4(&d);
	close_len(&d, s);
	s = flow_sample(&d, 1, 1, 2, 1);
	size_t r6 = open_len(&d, 4);
	put32(&d, 1280);
	put32(&d, 6);
	putn(&d, v6("2001:db8::7"), 16);
	putn(&d, v6("2001:db8::8"), 16);
	put32(&d, 80);
	put32(&d, 8080);
	put32(&d, 0x12);
	put32(&d, 3);
	close_len(&d, r6);
	close_len(&d, s);
	run(&d, &x);
	REQUIRE_EQ(x.count, 2);
	struct flow *f = &x.flows[0];
	CHECK_EQ(f->etype, 0x0800);
	CHECK(addr_eq(&f->src_addr, "10.1.1.1"));
	CHECK(addr_eq(&f->dst_addr, "10.2.2.2"));
	CHECK_EQ(f->proto, 17);
	CHECK_EQ(f->src_port, 1234);
	CHECK_EQ(f->dst_port, 53);
	CHECK_EQ(f->ip_tos, 0x20);
	CHECK_EQ(f->bytes, 576);
	CHECK_EQ(f->src_mac, 0x0a0b0c0d0e0full);
	CHECK_EQ(f->dst_mac, 0x010203040506ull);
	f = &x.flows[1];
	CHECK_EQ(f->etype, 0x86dd);
	CHECK(addr_eq(&f->src_addr, "2001:db8::7"));
	CHECK_EQ(f->proto, 6);
	CHECK_EQ(f->dst_port, 8080);
	CHECK_EQ(f->tcp_flags, 0x12);
	CHECK_EQ(f->ip_tos, 3);
	CHECK_EQ(f->bytes, 1280);

	/* Sampled Ethernet alone: its length minus header and FCS. */
	dg_begin(&d, 0, 1);
	s = flow_sample(&d, 1, 1, 2, 1);
	rec_sampled_ethernet(&d);
	close_len(&d, s);
	run(&d, &x);
	REQUIRE_EQ(x.count, 1);
	CHECK_EQ(x.flows[0].bytes, 1500);
}

/* A sampled header is preferred to records 2 and 3, in either order. */
TEST(header_preferred_to_sampled_records)
{
	for (int order = 0; order < 2; order++) {
		struct pkt d, h;
		struct run x;

		hdr_eth_ipv4(&h, 0);
		dg_begin(&d, 0, 1);
		size_t s = flow_sample(&d, 1, 1, 2, 3);
		if (order)
			rec_header(&d, 1, 439, &h);
		rec_sampled_ipv4(&d);
		rec_sampled_ethernet(&d);
		if (!order)
			rec_header(&d, 1, 439, &h);
		close_len(&d, s);
		run(&d, &x);
		REQUIRE_EQ(x.count, 1);
		CHECK(addr_eq(&x.flows[0].src_addr, "104.26.8.24"));
		CHECK_EQ(x.flows[0].src_port, 443);
		CHECK_EQ(x.flows[0].bytes, 421);
		CHECK_EQ(x.flows[0].src_mac, MAC_A);
	}
}

TEST(switch_vlans_and_header_vlan)
{
	struct pkt d, h;
	struct run x;

	/* The switch record wins over the frame's tag for what it gives. */
	hdr_eth_ipv4(&h, 300);
	dg_begin(&d, 0, 2);
	size_t s = flow_sample(&d, 1, 1, 2, 2);
	rec_switch(&d, 100, 0xffffffff);
	rec_header(&d, 1, 443, &h);
	close_len(&d, s);
	s = flow_sample(&d, 1, 1, 2, 2);
	rec_header(&d, 1, 443, &h);
	rec_switch(&d, 100, 200);
	close_len(&d, s);
	run(&d, &x);
	REQUIRE_EQ(x.count, 2);
	CHECK_EQ(x.flows[0].src_vlan, 100);
	CHECK_EQ(x.flows[0].dst_vlan, 300);
	CHECK_EQ(x.flows[1].src_vlan, 100);
	CHECK_EQ(x.flows[1].dst_vlan, 200);
}

/* A QinQ frame (S-tag 100, C-tag 200) in a sampled header: the customer
 * VLAN, as Akvorado reports it. */
TEST(header_qinq_gives_customer_vlan)
{
	struct pkt d, h;
	struct run x;

	memset(&h, 0, sizeof(h));
	put_eth(&h, MAC_B, MAC_A);
	put16(&h, 0x88a8);
	put16(&h, 100);
	put16(&h, 0x8100);
	put16(&h, 200);
	put16(&h, 0x86dd);
	put_ipv6(&h, 0, 0x12345, 20, 6, 64, v6("2001:db8::1"), v6("2001:db8::2"));
	put_tcp(&h, 22, 46026, 0x10);
	dg_begin(&d, 0, 1);
	size_t s = flow_sample(&d, 1, 1, 2, 1);
	rec_header(&d, 1, 82, &h);
	close_len(&d, s);
	run(&d, &x);
	REQUIRE_EQ(x.count, 1);
	CHECK_EQ(x.flows[0].src_vlan, 200);
	CHECK_EQ(x.flows[0].dst_vlan, 200);
	CHECK_EQ(x.flows[0].etype, 0x86dd);
	CHECK_EQ(x.flows[0].src_port, 22);
	CHECK_EQ(x.flows[0].ipv6_flow_label, 0x12345);
}

TEST(unknown_records_and_samples_skipped)
{
	struct pkt d, h;
	struct run x;

	hdr_eth_ipv4(&h, 0);
	dg_begin(&d, 0, 3);
	size_t u = open_len(&d, 5); /* unknown sample type */
	put32(&d, 0xdeadbeef);
	close_len(&d, u);
	u = open_len(&d, 4413u << 12 | 1); /* another enterprise's format 1 */
	put32(&d, 0);
	close_len(&d, u);
	size_t s = flow_sample(&d, 1, 1, 2, 4);
	u = open_len(&d, 1005); /* extended URL... not read */
	put32(&d, 1);
	put32(&d, 2);
	close_len(&d, u);
	u = open_len(&d, 8800u << 12 | 1001);
	put32(&d, 7);
	close_len(&d, u);
	rec_header(&d, 1, 439, &h);
	u = open_len(&d, 2100);
	close_len(&d, u);
	close_len(&d, s);
	run(&d, &x);
	REQUIRE_EQ(x.count, 1);
	/* the two samples may hold flows: unsupported; the three records are
	 * ones weir has no use for: skipped, not a problem */
	CHECK_EQ(x.r.events[DECODE_UNSUPPORTED], 2);
	CHECK_EQ(x.r.skipped_records, 3);
	CHECK_EQ(x.flows[0].src_port, 443);
	CHECK_EQ(x.flows[0].src_vlan, 0);
}

/* Extended records weir does not read (URL, NAT, MPLS tunnel, another
 * enterprise's) next to the ones it does: the datagram decodes cleanly,
 * with the records counted as skipped and no event. */
TEST(unused_extended_records_are_skipped_not_unsupported)
{
	static const uint32_t unused[] = {1005, 1007, 1008, 4413u << 12 | 1};
	struct pkt d, h;
	struct run x;

	hdr_eth_ipv4(&h, 0);
	dg_begin(&d, 0, 1);
	size_t s = flow_sample(&d, 512, 1, 2, 2 + 4);
	rec_header(&d, 1, 439, &h);
	for (unsigned i = 0; i < 4; i++) {
		size_t u = open_len(&d, unused[i]);
		put32(&d, i);
		put32(&d, 0);
		close_len(&d, u);
	}
	rec_switch(&d, 10, 20);
	close_len(&d, s);
	run(&d, &x);
	REQUIRE_EQ(x.count, 1);
	CHECK_EQ(x.r.status, DECODE_OK);
	CHECK_EQ(x.r.events[DECODE_UNSUPPORTED], 0);
	CHECK_EQ(x.r.skipped_records, 4);
	CHECK_EQ(x.flows[0].sampling_rate, 512);
	CHECK_EQ(x.flows[0].src_port, 443);
	CHECK_EQ(x.flows[0].src_vlan, 10);
	CHECK_EQ(x.flows[0].dst_vlan, 20);
}

/* Two flow samples; every cut of the datagram decodes what is whole and
 * reports the rest truncated, without reading past the end (ASan). */
TEST(truncated_datagrams)
{
	struct pkt d, h;
	size_t first_end, hdr_end;

	hdr_eth_ipv4(&h, 0);
	dg_begin(&d, 0, 2);
	hdr_end = d.n;
	size_t s = flow_sample(&d, 1, 1, 2, 2);
	rec_switch(&d, 5, 6);
	rec_header(&d, 1, 439, &h);
	close_len(&d, s);
	first_end = d.n;
	s = flow_sample(&d, 1, 1, 2, 1);
	rec_header(&d, 1, 439, &h);
	close_len(&d, s);

	for (size_t n = 0; n <= d.n; n++) {
		struct run x;

		run_n(&d, n, DECODE_DECAP_NONE, 8, &x);
		if (n < 4) {
			CHECK_EQ(x.r.status, DECODE_TRUNCATED);
			continue;
		}
		if (n == d.n) {
			CHECK_EQ(x.r.status, DECODE_OK);
			CHECK_EQ(x.count, 2);
			continue;
		}
		CHECK_EQ(x.r.status, DECODE_TRUNCATED);
		CHECK_EQ(x.count, n >= first_end ? 1u : 0u);
		if (n < hdr_end)
			CHECK_EQ(x.count, 0);
	}
}

TEST(sample_length_past_end)
{
	struct pkt d, h;
	struct run x;

	hdr_eth_ipv4(&h, 0);
	dg_begin(&d, 0, 2);
	size_t s = flow_sample(&d, 1, 1, 2, 1);
	rec_header(&d, 1, 439, &h);
	close_len(&d, s);
	s = flow_sample(&d, 1, 1, 2, 1);
	rec_header(&d, 1, 439, &h);
	close_len(&d, s);
	set32(&d, s, d.n - s - 4 + 4); /* 4 bytes too long */
	run(&d, &x);
	CHECK_EQ(x.count, 1);
	CHECK_EQ(x.r.status, DECODE_TRUNCATED);

	/* more samples announced than present */
	dg_begin(&d, 0, 3);
	s = flow_sample(&d, 1, 1, 2, 0);
	close_len(&d, s);
	run(&d, &x);
	CHECK_EQ(x.count, 1);
	CHECK_EQ(x.r.status, DECODE_TRUNCATED);
}

TEST(record_length_past_sample)
{
	struct pkt d, h;
	struct run x;

	hdr_eth_ipv4(&h, 0);
	dg_begin(&d, 0, 2);
	size_t s = flow_sample(&d, 1, 1, 2, 1);
	size_t rec_len_at = d.n + 4;
	rec_header(&d, 1, 439, &h);
	close_len(&d, s);
	set32(&d, rec_len_at, 4000);
	s = flow_sample(&d, 7, 8, 9, 1);
	rec_header(&d, 1, 439, &h);
	close_len(&d, s);
	run(&d, &x);
	REQUIRE_EQ(x.count, 1); /* the second sample */
	CHECK_EQ(x.flows[0].sampling_rate, 7);
	CHECK_EQ(x.r.events[DECODE_BAD_SAMPLE], 1);
	CHECK_EQ(x.r.status, DECODE_BAD_SAMPLE);

	/* more records announced than the sample holds */
	dg_begin(&d, 0, 1);
	s = flow_sample(&d, 1, 1, 2, 3);
	rec_header(&d, 1, 439, &h);
	close_len(&d, s);
	run(&d, &x);
	CHECK_EQ(x.count, 0);
	CHECK_EQ(x.r.status, DECODE_BAD_SAMPLE);

	/* sample shorter than its fixed part */
	dg_begin(&d, 0, 1);
	s = open_len(&d, 1);
	put32(&d, 1);
	close_len(&d, s);
	run(&d, &x);
	CHECK_EQ(x.count, 0);
	CHECK_EQ(x.r.status, DECODE_BAD_SAMPLE);
}

TEST(malformed_records_inside_sample)
{
	struct pkt d, h;
	struct run x;

	hdr_eth_ipv4(&h, 0);
	dg_begin(&d, 0, 1);
	size_t s = flow_sample(&d, 1, 1, 2, 6);
	size_t r = open_len(&d, 1); /* header longer than its record */
	put32(&d, 1);
	put32(&d, 100);
	put32(&d, 0);
	put32(&d, 64);
	put32(&d, 0);
	close_len(&d, r);
	r = open_len(&d, 1003); /* path segment longer than the record */
	put32(&d, 1);
	put32(&d, 0);
	put32(&d, 1);
	put32(&d, 2);
	put32(&d, 3);
	put32(&d, 1);
	put32(&d, 2);
	put32(&d, 1000000);
	close_len(&d, r);
	r = open_len(&d, 1002); /* bad address type */
	put32(&d, 9);
	put32(&d, 0);
	put32(&d, 0);
	close_len(&d, r);
	r = open_len(&d, 1001); /* short */
	put32(&d, 1);
	close_len(&d, r);
	r = open_len(&d, 3); /* short */
	put32(&d, 1);
	close_len(&d, r);
	rec_switch(&d, 42, 43);
	close_len(&d, s);
	run(&d, &x);
	REQUIRE_EQ(x.count, 1);
	CHECK_EQ(x.r.events[DECODE_BAD_SAMPLE], 5);
	CHECK_EQ(x.flows[0].src_vlan, 42);
	CHECK_EQ(x.flows[0].src_as, 0);
	CHECK_EQ(x.flows[0].dst_as_path_count, 0);
	CHECK_EQ(x.flows[0].etype, 0);
}

TEST(flow_limit_and_zero_rate)
{
	struct pkt d;
	struct run x;

	dg_begin(&d, 0, 3);
	for (int i = 0; i < 3; i++) {
		size_t s = flow_sample(&d, 0, 1, 2, 0);
		close_len(&d, s);
	}
	run_n(&d, d.n, DECODE_DECAP_NONE, 2, &x);
	CHECK_EQ(x.count, 2);
	CHECK_EQ(x.r.events[DECODE_FLOW_LIMIT], 1);
	CHECK_EQ(x.flows[0].sampling_rate, 1);
}

TEST(decapsulation_applies_to_headers)
{
	struct pkt d, h;
	struct run x;

	memset(&h, 0, sizeof(h));
	put_eth(&h, MAC_B, MAC_A);
	put16(&h, 0x0800);
	put_ipv4(&h, IP(192, 168, 108, 40), IP(192, 168, 15, 14), 17, 0, 64, 0x8d6a, 0, 154);
	put_udp(&h, 45833, 4789, 134);
	put32(&h, 0x08000000);
	put32(&h, 100 << 8);
	put_eth(&h, 0x010203040506ull, 0xca6e98f8498full);
	put16(&h, 0x86dd);
	put_ipv6(&h, 0, 0xa461c, 64, 58, 64, v6("2001:db8:4::1"), v6("2001:db8:4::3"));
	put_icmp(&h, 128, 0);
	dg_begin(&d, 0, 1);
	size_t s = flow_sample(&d, 1, 1, 2, 1);
	rec_header(&d, 1, 172, &h);
	close_len(&d, s);
	run_n(&d, d.n, DECODE_DECAP_VXLAN, 8, &x);
	REQUIRE_EQ(x.count, 1);
	CHECK(addr_eq(&x.flows[0].src_addr, "2001:db8:4::1"));
	CHECK_EQ(x.flows[0].icmpv6_type, 128);
	CHECK_EQ(x.flows[0].bytes, 104);
	run_n(&d, d.n, DECODE_DECAP_NONE, 8, &x);
	REQUIRE_EQ(x.count, 1);
	CHECK(addr_eq(&x.flows[0].src_addr, "192.168.108.40"));
	CHECK_EQ(x.flows[0].bytes, 154);
}

/* Random mutations of a valid datagram: no crash, no read past the end. */
TEST(mutated_datagrams_stay_in_bounds)
{
	static const uint32_t path[] = {1, 2, 3};
	struct pkt base, d, h;
	uint32_t seed = 42;

	hdr_eth_ipv4(&h, 12);
	dg_begin(&base, 0, 2);
	size_t s = flow_sample(&base, 1, 1, 2, 3);
	rec_switch(&base, 5, 6);
	rec_header(&base, 1, 439, &h);
	rec_gateway(&base, 1, 2, 3, path, 3, path, 3);
	close_len(&base, s);
	s = xflow_sample(&base, 1, 0, 1, 0, 2, 1);
	rec_router(&base, 1, 2, 3);
	close_len(&base, s);
	for (int iter = 0; iter < 5000; iter++) {
		struct run x;

		d = base;
		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245 + 12345;
			size_t at = (seed >> 8) % d.n;
			seed = seed * 1103515245 + 12345;
			d.b[at] = (seed >> 16) & 1 ? 0xff : seed >> 20;
		}
		seed = seed * 1103515245 + 12345;
		run_n(&d, d.n - (seed >> 16) % 8, (enum decode_decap)(iter % 5), 8, &x);
		REQUIRE(x.count <= 2);
		for (uint32_t i = 0; i < x.count; i++) {
			REQUIRE(x.flows[i].dst_as_path_count <= FLOW_MAX_AS_PATH);
			REQUIRE(x.flows[i].dst_communities_count <= FLOW_MAX_COMMUNITIES);
		}
	}
}
