// SPDX-License-Identifier: AGPL-3.0-or-later
/* The shared L2-L4 parser on hand-built frames: Ethernet, VLAN/QinQ, MPLS,
 * IPv4, IPv6 extension headers, fragments, L4, tunnels and truncation. */
#include <errno.h>
#include <stdlib.h>

#include "decode/decode_internal.h"
#include "l2l4_build.h"
#include "test.h"

#define MAC_A	       0x020000000001ull
#define MAC_B	       0x020000000002ull
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))

/* Parses the first `len` bytes of `p` from an exact-size copy. */
static int parse_n(const struct pkt *p, size_t len, enum l2l4_start start, enum decode_decap decap,
		   struct flow *f, struct decode_result *r)
{
	struct decode_config cfg;
	uint8_t *c = exact_copy(p->b, len);
	int ret;

	decode_config_init(&cfg);
	cfg.decap = decap;
	memset(r, 0, sizeof(*r));
	ret = l2l4_parse(c, len, start, &cfg, f, r);
	free(c);
	return ret;
}

static int parse(const struct pkt *p, enum l2l4_start start, enum decode_decap decap,
		 struct flow *f, struct decode_result *r)
{
	flow_reset(f);
	return parse_n(p, p->n, start, decap, f, r);
}

static const uint8_t *v6(const char *text)
{
	static struct in6_addr ring[8];
	static unsigned i;
	struct in6_addr *a = &ring[i++ % 8];
	*a = A(text);
	return a->s6_addr;
}

/* Ethernet / IPv4 / TCP, with the IP total length larger than the capture
 * (a sampled header is cut): Bytes must come from the header. */
static void frame_ipv4_tcp(struct pkt *p)
{
	memset(p, 0, sizeof(*p));
	put_eth(p, MAC_B, MAC_A);
	put16(p, 0x0800);
	put_ipv4(p, IP(192, 0, 2, 1), IP(198, 51, 100, 7), 6, 0x28, 57, 0xbeef, 0x4000, 1400);
	put_tcp(p, 443, 51000, 0x18);
}

TEST(ethernet_ipv4_tcp)
{
	struct pkt p;
	struct flow f;
	struct decode_result r;

	frame_ipv4_tcp(&p);
	REQUIRE_EQ(parse(&p, L2L4_ETHERNET, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.src_mac, MAC_A);
	CHECK_EQ(f.dst_mac, MAC_B);
	CHECK_EQ(f.etype, 0x0800);
	CHECK(addr_eq(&f.src_addr, "192.0.2.1"));
	CHECK(addr_eq(&f.dst_addr, "198.51.100.7"));
	CHECK_EQ(f.proto, 6);
	CHECK_EQ(f.ip_tos, 0x28);
	CHECK_EQ(f.ip_ttl, 57);
	CHECK_EQ(f.ip_fragment_id, 0xbeef);
	CHECK_EQ(f.ip_fragment_offset, 0);
	CHECK_EQ(f.bytes, 1400);
	CHECK_EQ(f.packets, 1);
	CHECK_EQ(f.src_port, 443);
	CHECK_EQ(f.dst_port, 51000);
	CHECK_EQ(f.tcp_flags, 0x18);
	CHECK_EQ(f.src_vlan, 0);
	CHECK_EQ(f.mpls_labels_count, 0);
	CHECK_EQ(r.status, DECODE_OK);
}

TEST(ethernet_leaves_other_fields_alone)
{
	struct pkt p;
	struct flow f;
	struct decode_result r;

	frame_ipv4_tcp(&p);
	flow_reset(&f);
	f.in_if = 7;
	f.sampling_rate = 512;
	f.src_as = 65000;
	REQUIRE_EQ(parse_n(&p, p.n, L2L4_ETHERNET, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.in_if, 7);
	CHECK_EQ(f.sampling_rate, 512);
	CHECK_EQ(f.src_as, 65000);
	CHECK_EQ(f.src_port, 443);
}

TEST(ethernet_ipv6_udp)
{
	struct pkt p = {0};
	struct flow f;
	struct decode_result r;

	put_eth(&p, MAC_B, MAC_A);
	put16(&p, 0x86dd);
	put_ipv6(&p, 0xb8, 0x12345, 1200, 17, 63, v6("2001:db8::1"), v6("2001:db8:1::2"));
	put_udp(&p, 5353, 53, 1200);
	REQUIRE_EQ(parse(&p, L2L4_ETHERNET, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.etype, 0x86dd);
	CHECK(addr_eq(&f.src_addr, "2001:db8::1"));
	CHECK(addr_eq(&f.dst_addr, "2001:db8:1::2"));
	CHECK_EQ(f.ip_tos, 0xb8);
	CHECK_EQ(f.ipv6_flow_label, 0x12345);
	CHECK_EQ(f.ip_ttl, 63);
	CHECK_EQ(f.proto, 17);
	CHECK_EQ(f.bytes, 1240);
	CHECK_EQ(f.packets, 1);
	CHECK_EQ(f.src_port, 5353);
	CHECK_EQ(f.dst_port, 53);
	CHECK_EQ(f.tcp_flags, 0);
}

TEST(icmpv4_and_icmpv6)
{
	struct pkt p = {0};
	struct flow f;
	struct decode_result r;

	put_ipv4(&p, IP(10, 0, 0, 1), IP(10, 0, 0, 2), 1, 0, 64, 1, 0, 84);
	put_icmp(&p, 3, 4);
	REQUIRE_EQ(parse(&p, L2L4_IPV4, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.proto, 1);
	CHECK_EQ(f.icmpv4_type, 3);
	CHECK_EQ(f.icmpv4_code, 4);
	CHECK_EQ(f.src_port, 0);
	CHECK_EQ(f.dst_port, 0);
	CHECK_EQ(f.icmpv6_type, 0);

	memset(&p, 0, sizeof(p));
	put_ipv6(&p, 0, 0, 8, 58, 255, v6("fe80::1"), v6("ff02::1"));
	put_icmp(&p, 135, 0);
	REQUIRE_EQ(parse(&p, L2L4_IPV6, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.proto, 58);
	CHECK_EQ(f.icmpv6_type, 135);
	CHECK_EQ(f.icmpv6_code, 0);
	CHECK_EQ(f.icmpv4_type, 0);
	CHECK_EQ(f.bytes, 48);
}

TEST(vlan_8021q_sets_both_vlans)
{
	struct pkt p = {0};
	struct flow f;
	struct decode_result r;

	put_eth(&p, MAC_B, MAC_A);
	put16(&p, 0x8100);
	put16(&p, 0x6000 | 231); /* PCP 3, VID 231 */
	put16(&p, 0x0800);
	put_ipv4(&p, IP(51, 51, 51, 51), IP(52, 52, 52, 52), 17, 0, 119, 0x8f00, 0, 96);
	put_udp(&p, 55501, 11777, 76);
	REQUIRE_EQ(parse(&p, L2L4_ETHERNET, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.src_vlan, 231);
	CHECK_EQ(f.dst_vlan, 231);
	CHECK_EQ(f.src_port, 55501);
	CHECK_EQ(f.bytes, 96);

	/* VLANs the record already gave are kept. */
	flow_reset(&f);
	f.src_vlan = 10;
	REQUIRE_EQ(parse_n(&p, p.n, L2L4_ETHERNET, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.src_vlan, 10);
	CHECK_EQ(f.dst_vlan, 231);
}

/* QinQ (802.1ad S-tag, or an 802.1Q or 0x9100 outer tag) then a customer
 * tag: the innermost (customer) VLAN fills SrcVlan and DstVlan, as Akvorado
 * reports it. */
TEST(qinq_inner_tag_wins)
{
	static const uint16_t tpids[] = {0x88a8, 0x8100, 0x9100};

	for (unsigned i = 0; i < 3; i++) {
		struct pkt p = {0};
		struct flow f;
		struct decode_result r;

		put_eth(&p, MAC_B, MAC_A);
		put16(&p, tpids[i]);
		put16(&p, 100);
		put16(&p, 0x8100);
		put16(&p, 200);
		put16(&p, 0x86dd);
		put_ipv6(&p, 0, 0, 20, 6, 64, v6("2001:db8::1"), v6("2001:db8::2"));
		put_tcp(&p, 1, 2, 0x02);
		REQUIRE_EQ(parse(&p, L2L4_ETHERNET, DECODE_DECAP_NONE, &f, &r), 0);
		CHECK_EQ(f.src_vlan, 200);
		CHECK_EQ(f.dst_vlan, 200);
		CHECK_EQ(f.etype, 0x86dd);
		CHECK_EQ(f.tcp_flags, 0x02);
	}
}

/* An S-tag over a priority-tagged customer frame (C-tag VID 0): there is no
 * customer VLAN, and the S-tag is not taken in its place. A tag stack cut
 * by the end of the sampled header gives no VLAN: the innermost is unknown. */
TEST(qinq_inner_priority_tag_and_cut_stack)
{
	struct pkt p = {0};
	struct flow f;
	struct decode_result r;

	put_eth(&p, MAC_B, MAC_A);
	put16(&p, 0x88a8);
	put16(&p, 100);
	put16(&p, 0x8100);
	put16(&p, 0xa000); /* PCP 5, VID 0 */
	put16(&p, 0x0800);
	put_ipv4(&p, IP(10, 0, 0, 1), IP(10, 0, 0, 2), 17, 0, 64, 1, 0, 28);
	put_udp(&p, 53, 5353, 8);
	REQUIRE_EQ(parse(&p, L2L4_ETHERNET, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.src_vlan, 0);
	CHECK_EQ(f.dst_vlan, 0);
	CHECK_EQ(f.dst_port, 5353);

	/* cut after the S-tag, inside the C-tag */
	flow_reset(&f);
	REQUIRE_EQ(parse_n(&p, 14 + 4 + 2, L2L4_ETHERNET, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.src_mac, MAC_A);
	CHECK_EQ(f.src_vlan, 0);
	CHECK_EQ(f.dst_vlan, 0);
}

TEST(priority_tag_then_vlan)
{
	struct pkt p = {0};
	struct flow f;
	struct decode_result r;

	put_eth(&p, MAC_B, MAC_A);
	put16(&p, 0x8100);
	put16(&p, 0xa000); /* priority tag: VID 0 */
	put16(&p, 0x8100);
	put16(&p, 42);
	put16(&p, 0x0806); /* ARP */
	putn(&p, "\x00\x01\x08\x00\x06\x04\x00\x01", 8);
	REQUIRE_EQ(parse(&p, L2L4_ETHERNET, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.src_vlan, 42);
	CHECK_EQ(f.etype, 0);
	CHECK_EQ(f.bytes, 0);
	CHECK_EQ(f.src_mac, MAC_A);
}

/* Label stacks of 1 to 12 entries, then IPv4: FLOW_MAX_MPLS_LABELS kept,
 * the rest counted, and the packet after the stack still read. */
TEST(mpls_stacks_1_to_12)
{
	for (unsigned n = 1; n <= 12; n++) {
		struct pkt p = {0};
		struct flow f;
		struct decode_result r;
		unsigned keep = n < FLOW_MAX_MPLS_LABELS ? n : FLOW_MAX_MPLS_LABELS;

		put_eth(&p, MAC_B, MAC_A);
		put16(&p, 0x8847);
		for (unsigned i = 0; i < n; i++)
			put_mpls(&p, 16 + i * 1000 + n, i == n - 1);
		put_ipv4(&p, IP(10, 31, 0, 1), IP(10, 34, 0, 1), 6, 0xb0, 255, 8, 0, 40);
		put_tcp(&p, 11001, 23, 0x10);
		REQUIRE_EQ(parse(&p, L2L4_ETHERNET, DECODE_DECAP_NONE, &f, &r), 0);
		CHECK_EQ(f.mpls_labels_count, keep);
		for (unsigned i = 0; i < keep; i++)
			CHECK_EQ(f.mpls_labels[i], 16 + i * 1000 + n);
		CHECK_EQ(r.events[DECODE_TRUNCATED_ARRAY], n > FLOW_MAX_MPLS_LABELS ? 1 : 0);
		CHECK(addr_eq(&f.src_addr, "10.31.0.1"));
		CHECK_EQ(f.dst_port, 23);
		CHECK_EQ(f.bytes, 40);
	}
}

TEST(mpls_guess_ipv6_and_start_mpls)
{
	struct pkt p = {0};
	struct flow f;
	struct decode_result r;

	put_mpls(&p, 2, 1); /* IPv6 explicit null */
	put_ipv6(&p, 0, 0, 20, 6, 64, v6("2001:db8::1"), v6("2001:db8::2"));
	put_tcp(&p, 11001, 80, 0x10);
	REQUIRE_EQ(parse(&p, L2L4_MPLS, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.mpls_labels_count, 1);
	CHECK_EQ(f.mpls_labels[0], 2);
	CHECK_EQ(f.etype, 0x86dd);
	CHECK_EQ(f.dst_port, 80);
	CHECK_EQ(f.src_mac, 0);
}

TEST(mpls_eompls_control_word)
{
	struct pkt p = {0};
	struct flow f;
	struct decode_result r;

	put_eth(&p, MAC_B, MAC_A);
	put16(&p, 0x8847);
	put_mpls(&p, 300012, 0);
	put_mpls(&p, 17, 1);
	put32(&p, 0x00000001); /* control word, sequence 1 */
	put_eth(&p, 0x020000000003ull, 0x020000000004ull);
	put16(&p, 0x8100); /* a customer tag: not the link's VLAN */
	put16(&p, 55);
	put16(&p, 0x0800);
	put_ipv4(&p, IP(10, 31, 0, 1), IP(10, 34, 0, 1), 6, 0, 255, 8, 0, 40);
	put_tcp(&p, 11001, 23, 0x10);
	REQUIRE_EQ(parse(&p, L2L4_ETHERNET, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.mpls_labels_count, 2);
	CHECK_EQ(f.mpls_labels[0], 300012);
	CHECK_EQ(f.mpls_labels[1], 17);
	CHECK_EQ(f.src_mac, MAC_A); /* outer L2 kept */
	CHECK_EQ(f.dst_mac, MAC_B);
	CHECK_EQ(f.src_vlan, 0);
	CHECK(addr_eq(&f.dst_addr, "10.34.0.1"));
	CHECK_EQ(f.src_port, 11001);
}

TEST(mpls_unknown_nibble_stops)
{
	struct pkt p = {0};
	struct flow f;
	struct decode_result r;

	put_eth(&p, MAC_B, MAC_A);
	put16(&p, 0x8847);
	put_mpls(&p, 100, 1);
	put32(&p, 0x10000000);
	put_ipv4(&p, IP(1, 1, 1, 1), IP(2, 2, 2, 2), 6, 0, 1, 0, 0, 40);
	REQUIRE_EQ(parse(&p, L2L4_ETHERNET, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.mpls_labels_count, 1);
	CHECK_EQ(f.mpls_labels[0], 100);
	CHECK_EQ(f.etype, 0);
	CHECK(addr_is_zero(&f.src_addr));
}

TEST(mpls_labels_from_record_kept)
{
	struct pkt p = {0};
	struct flow f;
	struct decode_result r;

	put_mpls(&p, 100, 1);
	put_ipv4(&p, IP(1, 1, 1, 1), IP(2, 2, 2, 2), 17, 0, 1, 0, 0, 28);
	put_udp(&p, 1, 2, 8);
	flow_reset(&f);
	f.mpls_labels_count = 1;
	f.mpls_labels[0] = 999;
	REQUIRE_EQ(parse_n(&p, p.n, L2L4_MPLS, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.mpls_labels_count, 1);
	CHECK_EQ(f.mpls_labels[0], 999);
	CHECK_EQ(f.dst_port, 2);
}

/* Hop-by-hop, routing, destination options, then TCP. */
TEST(ipv6_extension_header_chain)
{
	struct pkt p = {0};
	struct flow f;
	struct decode_result r;

	put_ipv6(&p, 0, 7, 72, 0, 64, v6("2001:db8::1"), v6("2001:db8::2"));
	put8(&p, 43); /* hop-by-hop: next routing, 8 bytes */
	put8(&p, 0);
	putn(&p, "\x01\x04\x00\x00\x00\x00", 6);
	put8(&p, 60); /* routing type 2 (RFC 6275), 24 bytes */
	put8(&p, 2);
	put8(&p, 2);
	put8(&p, 1);
	put32(&p, 0);
	putn(&p, v6("2001:db8::99"), 16);
	put8(&p, 51); /* destination options: next AH, 16 bytes */
	put8(&p, 1);
	for (int i = 0; i < 14; i++)
		put8(&p, i == 0 ? 1 : 0);
	put8(&p, 6); /* AH (RFC 4302): length 4 -> 24 bytes */
	put8(&p, 4);
	for (int i = 0; i < 22; i++)
		put8(&p, 0);
	put_tcp(&p, 22, 40000, 0x11);
	REQUIRE_EQ(parse(&p, L2L4_IPV6, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.proto, 6);
	CHECK_EQ(f.src_port, 22);
	CHECK_EQ(f.dst_port, 40000);
	CHECK_EQ(f.tcp_flags, 0x11);
	CHECK_EQ(f.ipv6_flow_label, 7);
	CHECK_EQ(f.bytes, 112);

	/* Cut inside the chain: the fixed header stays, Proto is the next
	 * header announced before the cut. */
	flow_reset(&f);
	REQUIRE_EQ(parse_n(&p, 40 + 4, L2L4_IPV6, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK(addr_eq(&f.src_addr, "2001:db8::1"));
	CHECK_EQ(f.src_port, 0);
	CHECK_EQ(f.proto, 0);
	flow_reset(&f);
	REQUIRE_EQ(parse_n(&p, 40 + 8 + 24 + 16 + 24 + 3, L2L4_IPV6, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.proto, 6);
	CHECK_EQ(f.src_port, 0);
}

TEST(ipv6_fragments)
{
	struct pkt p = {0};
	struct flow f;
	struct decode_result r;

	/* First fragment (offset 0, M set): transport header read. */
	put_ipv6(&p, 0, 0, 1448, 44, 64, v6("2001:db8::1"), v6("2001:db8::2"));
	put8(&p, 17);
	put8(&p, 0);
	put16(&p, 0x0001);
	put32(&p, 0xdeadbeef);
	put_udp(&p, 4500, 4501, 3000);
	REQUIRE_EQ(parse(&p, L2L4_IPV6, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.ip_fragment_id, 0xdeadbeef);
	CHECK_EQ(f.ip_fragment_offset, 0);
	CHECK_EQ(f.proto, 17);
	CHECK_EQ(f.src_port, 4500);

	/* Later fragment: offset 1440 bytes = 180 units, no ports. */
	set16(&p, 42, 180 << 3);
	REQUIRE_EQ(parse(&p, L2L4_IPV6, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.ip_fragment_offset, 180);
	CHECK_EQ(f.ip_fragment_id, 0xdeadbeef);
	CHECK_EQ(f.proto, 17);
	CHECK_EQ(f.src_port, 0);
	CHECK_EQ(f.dst_port, 0);
}

TEST(ipv4_fragments)
{
	struct pkt p = {0};
	struct flow f;
	struct decode_result r;

	put_ipv4(&p, IP(10, 0, 0, 1), IP(10, 0, 0, 2), 17, 0, 64, 777, 0x2000, 1500);
	put_udp(&p, 1000, 2000, 3000);
	REQUIRE_EQ(parse(&p, L2L4_IPV4, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.ip_fragment_id, 777);
	CHECK_EQ(f.ip_fragment_offset, 0);
	CHECK_EQ(f.src_port, 1000);

	set16(&p, 6, 0x2000 | 185);
	REQUIRE_EQ(parse(&p, L2L4_IPV4, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.ip_fragment_offset, 185);
	CHECK_EQ(f.src_port, 0);
	CHECK_EQ(f.proto, 17);
}

TEST(ipv4_options_skipped)
{
	struct pkt p = {0};
	struct flow f;
	struct decode_result r;

	put_ipv4(&p, IP(10, 0, 0, 1), IP(10, 0, 0, 2), 6, 0, 64, 1, 0, 64);
	p.b[0] = 0x46; /* IHL 6: one 4-byte option word */
	put32(&p, 0x01010100);
	put_tcp(&p, 8080, 9090, 0x04);
	REQUIRE_EQ(parse(&p, L2L4_IPV4, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.src_port, 8080);
	CHECK_EQ(f.dst_port, 9090);
	CHECK_EQ(f.tcp_flags, 0x04);
}

/* Every cut of a VLAN/IPv4/TCP frame: no read past `len` (ASan), and what
 * was before the cut kept. */
TEST(truncated_frames)
{
	struct pkt p = {0};
	struct flow f;
	struct decode_result r;

	put_eth(&p, MAC_B, MAC_A);
	put16(&p, 0x8100);
	put16(&p, 12);
	put16(&p, 0x0800);
	put_ipv4(&p, IP(10, 0, 0, 1), IP(10, 0, 0, 2), 6, 0, 64, 1, 0, 40);
	put_tcp(&p, 1111, 2222, 0x10);
	for (size_t n = 0; n <= p.n; n++) {
		flow_reset(&f);
		int ret = parse_n(&p, n, L2L4_ETHERNET, DECODE_DECAP_NONE, &f, &r);
		if (n < 14) {
			CHECK_EQ(ret, -EINVAL);
			CHECK_EQ(f.src_mac, 0);
			continue;
		}
		CHECK_EQ(ret, 0);
		CHECK_EQ(f.src_mac, MAC_A);
		CHECK_EQ(f.src_vlan, n >= 18 ? 12 : 0);
		CHECK_EQ(f.etype, n >= 18 + 20 ? 0x0800 : 0);
		CHECK_EQ(f.src_port, n >= 38 + 4 ? 1111 : 0);
		CHECK_EQ(f.tcp_flags, n >= 38 + 14 ? 0x10 : 0);
	}
}

TEST(nothing_usable)
{
	struct pkt p = {0};
	struct flow f;
	struct decode_result r;

	CHECK_EQ(parse(&p, L2L4_ETHERNET, DECODE_DECAP_NONE, &f, &r), -EINVAL);
	CHECK_EQ(parse(&p, L2L4_IPV4, DECODE_DECAP_NONE, &f, &r), -EINVAL);
	CHECK_EQ(parse(&p, L2L4_MPLS, DECODE_DECAP_NONE, &f, &r), -EINVAL);
	/* IPv6 bytes given as IPv4, and the reverse */
	put_ipv6(&p, 0, 0, 0, 59, 1, v6("::1"), v6("::2"));
	CHECK_EQ(parse(&p, L2L4_IPV4, DECODE_DECAP_NONE, &f, &r), -EINVAL);
	CHECK_EQ(f.etype, 0);
	memset(&p, 0, sizeof(p));
	put_ipv4(&p, 1, 2, 6, 0, 1, 0, 0, 40);
	put_tcp(&p, 1, 2, 0);
	CHECK_EQ(parse(&p, L2L4_IPV6, DECODE_DECAP_NONE, &f, &r), -EINVAL);
	/* IHL below 5 */
	p.b[0] = 0x44;
	CHECK_EQ(parse(&p, L2L4_IPV4, DECODE_DECAP_NONE, &f, &r), -EINVAL);
	/* IPv4 header cut */
	CHECK_EQ(parse_n(&p, 19, L2L4_IPV4, DECODE_DECAP_NONE, &f, &r), -EINVAL);
	CHECK_EQ(l2l4_parse(NULL, 0, L2L4_ETHERNET, NULL, &f, NULL), -EINVAL);
}

/* Outer IPv4 to 192.0.2.x carrying `inner` through GRE with `flags`
 * (checksum, key, sequence options). */
static void frame_gre(struct pkt *p, uint16_t flags, uint16_t proto)
{
	memset(p, 0, sizeof(*p));
	put_eth(p, MAC_B, MAC_A);
	put16(p, 0x0800);
	put_ipv4(p, IP(192, 0, 2, 1), IP(192, 0, 2, 2), 47, 0xc0, 255, 5, 0, 200);
	put16(p, flags);
	put16(p, proto);
	if (flags & 0x8000)
		put32(p, 0xabcd0000);
	if (flags & 0x2000)
		put32(p, 1);
	if (flags & 0x1000)
		put32(p, 99);
}

static void check_inner_v4_udp(const struct flow *f)
{
	CHECK(addr_eq(&f->src_addr, "66.59.111.190"));
	CHECK(addr_eq(&f->dst_addr, "66.59.111.182"));
	CHECK_EQ(f->etype, 0x0800);
	CHECK_EQ(f->proto, 17);
	CHECK_EQ(f->ip_ttl, 64);
	CHECK_EQ(f->ip_tos, 0x10);
	CHECK_EQ(f->ip_fragment_id, 0);
	CHECK_EQ(f->bytes, 76);
	CHECK_EQ(f->src_port, 123);
	CHECK_EQ(f->dst_port, 124);
	CHECK_EQ(f->src_mac, MAC_A);
}

TEST(decap_gre_options)
{
	static const uint16_t flags[] = {0, 0x2000, 0x8000, 0x1000, 0xb000};

	for (unsigned i = 0; i < 5; i++) {
		struct pkt p;
		struct flow f;
		struct decode_result r;

		frame_gre(&p, flags[i], 0x0800);
		put_ipv4(&p, IP(66, 59, 111, 190), IP(66, 59, 111, 182), 17, 0x10, 64, 0, 0, 76);
		put_udp(&p, 123, 124, 56);
		REQUIRE_EQ(parse(&p, L2L4_ETHERNET, DECODE_DECAP_GRE, &f, &r), 0);
		check_inner_v4_udp(&f);

		/* Without decapsulation (or another kind): the outer packet. */
		REQUIRE_EQ(parse(&p, L2L4_ETHERNET, DECODE_DECAP_NONE, &f, &r), 0);
		CHECK(addr_eq(&f.src_addr, "192.0.2.1"));
		CHECK_EQ(f.proto, 47);
		CHECK_EQ(f.bytes, 200);
		CHECK_EQ(f.src_port, 0);
		REQUIRE_EQ(parse(&p, L2L4_ETHERNET, DECODE_DECAP_IPIP, &f, &r), 0);
		CHECK_EQ(f.proto, 47);
	}
}

TEST(decap_gre_ipv6_teb_ppp)
{
	struct pkt p;
	struct flow f;
	struct decode_result r;

	frame_gre(&p, 0, 0x86dd);
	put_ipv6(&p, 0, 0x54321, 22, 6, 255, v6("2001:db8::2"), v6("2001:db8::1"));
	put_tcp(&p, 18716, 23, 0x18);
	REQUIRE_EQ(parse(&p, L2L4_ETHERNET, DECODE_DECAP_GRE, &f, &r), 0);
	CHECK(addr_eq(&f.src_addr, "2001:db8::2"));
	CHECK_EQ(f.etype, 0x86dd);
	CHECK_EQ(f.ipv6_flow_label, 0x54321);
	CHECK_EQ(f.ip_fragment_id, 0); /* the outer one is forgotten */
	CHECK_EQ(f.ip_tos, 0);
	CHECK_EQ(f.bytes, 62);
	CHECK_EQ(f.tcp_flags, 0x18);

	/* Transparent Ethernet bridging: inner frame, outer MACs kept. */
	frame_gre(&p, 0x2000, 0x6558);
	put_eth(&p, 0x0a0000000001ull, 0x0a0000000002ull);
	put16(&p, 0x8100);
	put16(&p, 300);
	put16(&p, 0x0800);
	put_ipv4(&p, IP(66, 59, 111, 190), IP(66, 59, 111, 182), 17, 0x10, 64, 0, 0, 76);
	put_udp(&p, 123, 124, 56);
	REQUIRE_EQ(parse(&p, L2L4_ETHERNET, DECODE_DECAP_GRE, &f, &r), 0);
	check_inner_v4_udp(&f);
	CHECK_EQ(f.dst_mac, MAC_B);
	CHECK_EQ(f.src_vlan, 0);

	/* PPTP enhanced GRE (version 1, key + sequence + ack), PPP with
	 * address/control, then a compressed protocol field. */
	for (int compressed = 0; compressed < 2; compressed++) {
		frame_gre(&p, 0x3081, 0x880b);
		put32(&p, 0); /* acknowledgment */
		if (compressed) {
			put8(&p, 0x21);
		} else {
			put16(&p, 0xff03);
			put16(&p, 0x0021);
		}
		put_ipv4(&p, IP(66, 59, 111, 190), IP(66, 59, 111, 182), 17, 0x10, 64, 0, 0, 76);
		put_udp(&p, 123, 124, 56);
		REQUIRE_EQ(parse(&p, L2L4_ETHERNET, DECODE_DECAP_GRE, &f, &r), 0);
		check_inner_v4_udp(&f);
	}

	/* RFC 1701 routing present: not followed, outer kept. */
	frame_gre(&p, 0x4000, 0x0800);
	put_ipv4(&p, IP(66, 59, 111, 190), IP(66, 59, 111, 182), 17, 0x10, 64, 0, 0, 76);
	REQUIRE_EQ(parse(&p, L2L4_ETHERNET, DECODE_DECAP_GRE, &f, &r), 0);
	CHECK_EQ(f.proto, 47);
	CHECK(addr_eq(&f.src_addr, "192.0.2.1"));
}

TEST(decap_inner_truncated_keeps_outer)
{
	struct pkt p;
	struct flow f;
	struct decode_result r;

	frame_gre(&p, 0, 0x0800);
	size_t cut = p.n + 19; /* inner IPv4 header one byte short */
	put_ipv4(&p, IP(66, 59, 111, 190), IP(66, 59, 111, 182), 17, 0x10, 64, 0, 0, 76);
	flow_reset(&f);
	REQUIRE_EQ(parse_n(&p, cut, L2L4_ETHERNET, DECODE_DECAP_GRE, &f, &r), 0);
	CHECK(addr_eq(&f.src_addr, "192.0.2.1"));
	CHECK_EQ(f.proto, 47);
	CHECK_EQ(f.bytes, 200);
}

TEST(decap_ip_in_ip)
{
	struct pkt p = {0};
	struct flow f;
	struct decode_result r;

	/* IPv4 in IPv4 */
	put_ipv4(&p, IP(10, 1, 2, 1), IP(10, 1, 2, 2), 4, 0, 255, 18, 0, 120);
	put_ipv4(&p, IP(192, 168, 0, 1), IP(192, 168, 0, 2), 1, 0, 254, 19, 0, 100);
	put_icmp(&p, 8, 0);
	REQUIRE_EQ(parse(&p, L2L4_IPV4, DECODE_DECAP_IPIP, &f, &r), 0);
	CHECK(addr_eq(&f.src_addr, "192.168.0.1"));
	CHECK_EQ(f.proto, 1);
	CHECK_EQ(f.icmpv4_type, 8);
	CHECK_EQ(f.ip_fragment_id, 19);
	CHECK_EQ(f.ip_ttl, 254);
	CHECK_EQ(f.bytes, 100);
	REQUIRE_EQ(parse(&p, L2L4_IPV4, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.proto, 4);
	CHECK_EQ(f.bytes, 120);
	CHECK_EQ(f.icmpv4_type, 0);
	/* SRv6 decapsulation needs an IPv6 outer header */
	REQUIRE_EQ(parse(&p, L2L4_IPV4, DECODE_DECAP_SRV6, &f, &r), 0);
	CHECK_EQ(f.proto, 4);

	/* IPv6 in IPv4 (6in4) */
	memset(&p, 0, sizeof(p));
	put_ipv4(&p, IP(216, 66, 80, 30), IP(192, 168, 2, 2), 41, 0, 239, 0, 0x4000, 80);
	put_ipv6(&p, 0, 0, 20, 6, 58, v6("2001:610:1908:a000::149:20"), v6("2002:2470::2"));
	put_tcp(&p, 80, 35673, 0x10);
	REQUIRE_EQ(parse(&p, L2L4_IPV4, DECODE_DECAP_IPIP, &f, &r), 0);
	CHECK(addr_eq(&f.src_addr, "2001:610:1908:a000::149:20"));
	CHECK_EQ(f.etype, 0x86dd);
	CHECK_EQ(f.ip_ttl, 58);
	CHECK_EQ(f.bytes, 60);
	CHECK_EQ(f.dst_port, 35673);

	/* IPv4 in IPv6, outer flow label forgotten */
	memset(&p, 0, sizeof(p));
	put_ipv6(&p, 0, 0xabcde, 48, 4, 246, v6("2402:f000::5555"), v6("2607:fcd0::2a6b"));
	put_ipv4(&p, IP(16, 0, 0, 200), IP(192, 52, 166, 154), 17, 0, 64, 0x8caf, 0, 48);
	put_udp(&p, 40768, 53, 28);
	REQUIRE_EQ(parse(&p, L2L4_IPV6, DECODE_DECAP_IPIP, &f, &r), 0);
	CHECK(addr_eq(&f.src_addr, "16.0.0.200"));
	CHECK_EQ(f.ipv6_flow_label, 0);
	CHECK_EQ(f.ip_fragment_id, 0x8caf);
	CHECK_EQ(f.dst_port, 53);
	CHECK_EQ(f.bytes, 48);
}

TEST(decap_vxlan)
{
	struct pkt p = {0};
	struct flow f;
	struct decode_result r;

	put_eth(&p, MAC_B, MAC_A);
	put16(&p, 0x0800);
	put_ipv4(&p, IP(192, 168, 108, 40), IP(192, 168, 15, 14), 17, 0, 64, 0x8d6a, 0, 154);
	put_udp(&p, 45833, 4789, 134);
	put32(&p, 0x08000000); /* I flag */
	put32(&p, 100 << 8);   /* VNI 100 */
	put_eth(&p, 0x010203040506ull, 0xca6e98f8498full);
	put16(&p, 0x86dd);
	put_ipv6(&p, 0, 0xa461c, 64, 58, 64, v6("2001:db8:4::1"), v6("2001:db8:4::3"));
	put_icmp(&p, 128, 0);
	REQUIRE_EQ(parse(&p, L2L4_ETHERNET, DECODE_DECAP_VXLAN, &f, &r), 0);
	CHECK(addr_eq(&f.src_addr, "2001:db8:4::1"));
	CHECK(addr_eq(&f.dst_addr, "2001:db8:4::3"));
	CHECK_EQ(f.etype, 0x86dd);
	CHECK_EQ(f.proto, 58);
	CHECK_EQ(f.icmpv6_type, 128);
	CHECK_EQ(f.src_port, 0);
	CHECK_EQ(f.dst_port, 0);
	CHECK_EQ(f.ip_fragment_id, 0);
	CHECK_EQ(f.ipv6_flow_label, 0xa461c);
	CHECK_EQ(f.bytes, 104);
	CHECK_EQ(f.src_mac, MAC_A);
	CHECK_EQ(f.dst_mac, MAC_B);

	REQUIRE_EQ(parse(&p, L2L4_ETHERNET, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.dst_port, 4789);
	CHECK_EQ(f.bytes, 154);
	CHECK_EQ(f.icmpv6_type, 0);

	/* Another UDP port, or no I flag: not VXLAN. */
	set16(&p, 14 + 20 + 2, 4790);
	REQUIRE_EQ(parse(&p, L2L4_ETHERNET, DECODE_DECAP_VXLAN, &f, &r), 0);
	CHECK_EQ(f.dst_port, 4790);
	CHECK_EQ(f.proto, 17);
	set16(&p, 14 + 20 + 2, 4789);
	p.b[14 + 20 + 8] = 0;
	REQUIRE_EQ(parse(&p, L2L4_ETHERNET, DECODE_DECAP_VXLAN, &f, &r), 0);
	CHECK_EQ(f.proto, 17);
}

TEST(decap_srv6)
{
	struct pkt p = {0};
	struct flow f;
	struct decode_result r;

	/* With an SRH (routing type 4, RFC 8754) holding one segment. */
	put_ipv6(&p, 0, 0xae0a9, 104, 43, 63, v6("1:2:1::1"), v6("f2::"));
	put8(&p, 41);
	put8(&p, 2);
	put8(&p, 4);
	put8(&p, 0);
	put8(&p, 0);
	put8(&p, 0);
	put16(&p, 0);
	putn(&p, v6("f2::"), 16);
	put_ipv6(&p, 0, 0xae0a9, 24, 17, 64, v6("1:2:1::1"), v6("b::2"));
	put_udp(&p, 50701, 5001, 24);
	REQUIRE_EQ(parse(&p, L2L4_IPV6, DECODE_DECAP_SRV6, &f, &r), 0);
	CHECK(addr_eq(&f.dst_addr, "b::2"));
	CHECK_EQ(f.ip_ttl, 64);
	CHECK_EQ(f.proto, 17);
	CHECK_EQ(f.src_port, 50701);
	CHECK_EQ(f.bytes, 64);
	REQUIRE_EQ(parse(&p, L2L4_IPV6, DECODE_DECAP_NONE, &f, &r), 0);
	CHECK(addr_eq(&f.dst_addr, "f2::"));
	CHECK_EQ(f.proto, 41);
	CHECK_EQ(f.src_port, 0);

	/* Reduced encapsulation: IPv4 right after the IPv6 header. */
	memset(&p, 0, sizeof(p));
	put_ipv6(&p, 0, 0, 64, 4, 253, v6("fc30:2200:1b::f"), v6("fc30:2200:23:e009::"));
	put_ipv4(&p, IP(8, 8, 8, 8), IP(213, 36, 140, 100), 1, 0, 63, 0xc96b, 0, 64);
	put_icmp(&p, 0, 0);
	REQUIRE_EQ(parse(&p, L2L4_IPV6, DECODE_DECAP_SRV6, &f, &r), 0);
	CHECK(addr_eq(&f.src_addr, "8.8.8.8"));
	CHECK_EQ(f.proto, 1);
	CHECK_EQ(f.ip_ttl, 63);
	CHECK_EQ(f.ip_fragment_id, 0xc96b);
	CHECK_EQ(f.bytes, 64);
}

/* GRE in GRE in GRE...: the nesting is bounded, the parse ends cleanly. */
TEST(decap_nesting_bounded)
{
	struct pkt p = {0};
	struct flow f;
	struct decode_result r;

	for (int i = 0; i < 8; i++) {
		put_ipv4(&p, IP(10, 0, 0, i), IP(10, 0, 1, i), 47, 0, 64, i, 0, 500 - i * 28);
		put16(&p, 0);
		put16(&p, 0x0800);
	}
	put_ipv4(&p, IP(10, 9, 9, 9), IP(10, 9, 9, 8), 6, 0, 64, 99, 0, 40);
	put_tcp(&p, 1, 2, 0);
	REQUIRE_EQ(parse(&p, L2L4_IPV4, DECODE_DECAP_GRE, &f, &r), 0);
	/* 4 tunnels entered: the 5th IPv4 header is reported */
	CHECK(addr_eq(&f.src_addr, "10.0.0.4"));
	CHECK_EQ(f.proto, 47);
}

/* Random bytes behind each start and decapsulation mode: no crash, no
 * read past the end (ASan), MPLS counts within bounds. */
TEST(random_frames_stay_in_bounds)
{
	uint32_t seed = 12345;
	struct pkt p;

	for (int iter = 0; iter < 20000; iter++) {
		struct flow f;
		struct decode_result r;
		size_t n;

		seed = seed * 1103515245 + 12345;
		n = (seed >> 16) % 200;
		memset(&p, 0, sizeof(p));
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			p.b[i] = seed >> 16;
		}
		/* bias towards plausible headers */
		if (n > 14 && iter % 3 == 0) {
			p.b[12] = iter % 2 ? 0x88 : 0x86;
			p.b[13] = iter % 2 ? 0x47 : 0xdd;
		}
		if (n > 0 && iter % 5 == 0)
			p.b[0] = 0x45;
		p.n = n;
		flow_reset(&f);
		parse_n(&p, n, (enum l2l4_start)(iter % 4), (enum decode_decap)(iter % 5), &f, &r);
		REQUIRE(f.mpls_labels_count <= FLOW_MAX_MPLS_LABELS);
	}
}
