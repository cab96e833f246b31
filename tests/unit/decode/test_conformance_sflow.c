// SPDX-License-Identifier: AGPL-3.0-or-later
/* Conformance on real captures from ../shared/testdata/flows: the sFlow
 * files against the values of its README.md (or of `tshark -V` where the
 * README lists none), and the rawframe-* frames through the L2-L4 parser
 * against what `tshark -V` shows (EoMPLS: with -d mpls.label==N,pwethcw).
 * Each test skips when ../shared is absent. */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/pcap_udp.h"
#include "decode/decode_internal.h"
#include "l2l4_build.h"
#include "test.h"

#define MAX_FLOWS 32

struct capture {
	struct decode_state *st;
	struct flow flows[MAX_FLOWS];
	uint32_t count;
	uint32_t datagrams;
	uint32_t counter_samples;
	enum decode_reason worst;
	struct in6_addr exporter;
};

static int on_datagram(void *ctx, const struct pcap_udp_datagram *d)
{
	struct capture *c = ctx;
	struct decode_input in = {.len = d->len, .exporter = d->src, .time_received = 1};
	struct decode_output out = {.flows = c->flows + c->count, .cap = MAX_FLOWS - c->count};
	struct decode_result r;
	uint8_t *copy = exact_copy(d->payload, d->len);

	in.data = copy;
	decode_datagram(c->st, &in, &out, &r);
	free(copy);
	c->count += out.count;
	c->datagrams++;
	c->counter_samples += r.counter_samples;
	if (r.status != DECODE_OK && c->worst == DECODE_OK)
		c->worst = r.status;
	c->exporter = r.exporter;
	return 0;
}

/* Decodes the UDP payloads of flows/`name` in order with one state. */
static void decode_file(const char *name, enum decode_decap decap, struct capture *c)
{
	char rel[256];
	struct error err = {""};
	struct decode_config cfg;
	const char *path;
	long n;

	snprintf(rel, sizeof(rel), "flows/%s", name);
	path = test_shared_file_or_skip(rel);
	memset(c, 0, sizeof(*c));
	decode_config_init(&cfg);
	cfg.decap = decap;
	REQUIRE_EQ(decode_state_new(&cfg, &c->st, NULL), 0);
	n = pcap_udp_walk(path, on_datagram, c, NULL, &err);
	decode_state_free(c->st);
	c->st = NULL;
	if (n < 0)
		test_fail_at(__FILE__, __LINE__, "%s: %s", name, err.text);
	REQUIRE(n > 0);
}

static void check_ssh_flow(const struct flow *f)
{
	CHECK(addr_eq(&f->exporter_address, "172.16.0.3"));
	CHECK_EQ(f->sampling_rate, 1024);
	CHECK_EQ(f->packets, 1);
	CHECK(addr_eq(&f->src_addr, "2a0c:8880:2:0:185:21:130:38"));
	CHECK(addr_eq(&f->dst_addr, "2a0c:8880:2:0:185:21:130:39"));
	CHECK_EQ(f->src_port, 46026);
	CHECK_EQ(f->dst_port, 22);
	CHECK_EQ(f->proto, 6);
	CHECK_EQ(f->etype, 0x86dd);
	CHECK_EQ(f->in_if, 27);
	CHECK_EQ(f->src_vlan, 100);
	CHECK_EQ(f->dst_vlan, 100);
	CHECK_EQ(f->bytes, 1500);
	CHECK_EQ(f->ip_ttl, 64);
	CHECK_EQ(f->ip_tos, 8);
	CHECK_EQ(f->tcp_flags, 0x10);
	CHECK_EQ(f->src_mac, 0x246e96907a50ull);
	CHECK_EQ(f->dst_mac, 0x246e96043c08ull);
}

TEST(sflow_basic_5samples_ext_gateway)
{
	static const uint32_t path[] = {203698, 6762, 26615};
	static const uint32_t comms[] = {2583495656u, 2583495657u, 4259880000u, 4259880001u,
					 4259900001u};
	struct capture c;
	struct flow *f;

	decode_file("sflow-v5-basic-5samples-ext-gateway.pcap", DECODE_DECAP_NONE, &c);
	CHECK_EQ(c.worst, DECODE_OK);
	CHECK(addr_eq(&c.exporter, "172.16.0.3"));
	REQUIRE_EQ(c.count, 5);
	for (int i = 0; i < 5; i += 2) {
		check_ssh_flow(&c.flows[i]);
		CHECK_EQ(c.flows[i].out_if, 28);
		CHECK_EQ(c.flows[i].forwarding_status, 0);
	}
	CHECK_EQ(c.flows[0].ipv6_flow_label, 0x68094);

	f = &c.flows[1];
	CHECK(addr_eq(&f->exporter_address, "172.16.0.3"));
	CHECK_EQ(f->sampling_rate, 1024);
	CHECK_EQ(f->packets, 1);
	CHECK(addr_eq(&f->src_addr, "104.26.8.24"));
	CHECK(addr_eq(&f->dst_addr, "45.90.161.46"));
	CHECK_EQ(f->src_port, 443);
	CHECK_EQ(f->dst_port, 56876);
	CHECK_EQ(f->proto, 6);
	CHECK_EQ(f->in_if, 49001);
	CHECK_EQ(f->out_if, 25);
	CHECK_EQ(f->src_vlan, 0);
	CHECK_EQ(f->dst_vlan, 100);
	CHECK_EQ(f->src_as, 13335);
	CHECK_EQ(f->dst_as, 39421);
	CHECK_EQ(f->src_net_mask, 20);
	CHECK_EQ(f->dst_net_mask, 27);
	CHECK(addr_eq(&f->next_hop, "45.90.161.46"));
	CHECK_EQ(f->bytes, 421);
	CHECK_EQ(f->ip_fragment_id, 0xa572);
	CHECK_EQ(f->ip_ttl, 59);
	CHECK_EQ(f->tcp_flags, 0x18);
	CHECK_EQ(f->dst_as_path_count, 0);

	f = &c.flows[3];
	CHECK(addr_eq(&f->src_addr, "45.90.161.148"));
	CHECK(addr_eq(&f->dst_addr, "191.87.91.27"));
	CHECK_EQ(f->src_port, 55658);
	CHECK_EQ(f->dst_port, 5555);
	CHECK_EQ(f->proto, 6);
	CHECK_EQ(f->in_if, 28);
	CHECK_EQ(f->out_if, 49001);
	CHECK_EQ(f->src_vlan, 100);
	CHECK_EQ(f->dst_vlan, 0);
	CHECK_EQ(f->src_as, 39421);
	CHECK_EQ(f->dst_as, 26615);
	CHECK_EQ(f->src_net_mask, 27);
	CHECK_EQ(f->dst_net_mask, 17);
	CHECK(addr_eq(&f->next_hop, "31.14.69.110"));
	CHECK_EQ(f->bytes, 40);
	CHECK_EQ(f->ip_ttl, 255);
	CHECK_EQ(f->tcp_flags, 0x02);
	REQUIRE_EQ(f->dst_as_path_count, 3);
	CHECK_MEM(f->dst_as_path, path, sizeof(path));
	REQUIRE_EQ(f->dst_communities_count, 5);
	CHECK_MEM(f->dst_communities, comms, sizeof(comms));
}

TEST(sflow_output_local_interface)
{
	struct capture c;

	decode_file("sflow-v5-output-local-interface.pcap", DECODE_DECAP_NONE, &c);
	CHECK_EQ(c.worst, DECODE_OK);
	REQUIRE(c.count >= 1);
	for (uint32_t i = 0; i < c.count; i++) {
		CHECK_EQ(c.flows[i].out_if, 0);
		CHECK_EQ(c.flows[i].forwarding_status, 0);
	}
	check_ssh_flow(&c.flows[0]);
}

TEST(sflow_output_discard_interface)
{
	struct capture c;

	decode_file("sflow-v5-output-discard-interface.pcap", DECODE_DECAP_NONE, &c);
	CHECK_EQ(c.worst, DECODE_OK);
	REQUIRE(c.count >= 1);
	for (uint32_t i = 0; i < c.count; i++) {
		CHECK_EQ(c.flows[i].out_if, 0);
		CHECK_EQ(c.flows[i].forwarding_status, 131);
	}
	check_ssh_flow(&c.flows[0]);
}

TEST(sflow_expanded_flow_sample_ext_gateway)
{
	static const uint32_t path[] = {8218, 29605, 203361};
	static const uint32_t comms[] = {538574949, 1911619684, 1911669584, 1911671290};
	struct capture c;
	struct flow *f;

	decode_file("sflow-v5-expanded-flow-sample-ext-gateway.pcap", DECODE_DECAP_NONE, &c);
	CHECK_EQ(c.worst, DECODE_OK);
	CHECK(addr_eq(&c.exporter, "49.49.49.49"));
	REQUIRE_EQ(c.count, 1);
	f = &c.flows[0];
	CHECK(addr_eq(&f->exporter_address, "49.49.49.49"));
	CHECK_EQ(f->sampling_rate, 1000);
	CHECK_EQ(f->in_if, 29001);
	CHECK_EQ(f->out_if, 1285816721);
	CHECK(addr_eq(&f->src_addr, "52.52.52.52"));
	CHECK(addr_eq(&f->dst_addr, "53.53.53.53"));
	CHECK_EQ(f->src_port, 22);
	CHECK_EQ(f->dst_port, 52237);
	CHECK_EQ(f->proto, 6);
	CHECK(addr_eq(&f->next_hop, "54.54.54.54"));
	CHECK_EQ(f->src_as, 203476);
	CHECK_EQ(f->dst_as, 203361);
	CHECK_EQ(f->src_vlan, 809);
	CHECK_EQ(f->dst_vlan, 809);
	CHECK_EQ(f->src_net_mask, 32);
	CHECK_EQ(f->dst_net_mask, 22);
	CHECK_EQ(f->bytes, 104);
	CHECK_EQ(f->packets, 1);
	REQUIRE_EQ(f->dst_as_path_count, 3);
	CHECK_MEM(f->dst_as_path, path, sizeof(path));
	REQUIRE_EQ(f->dst_communities_count, 4);
	CHECK_MEM(f->dst_communities, comms, sizeof(comms));
	CHECK_EQ(f->tcp_flags, 0x18);
	CHECK_EQ(f->ip_fragment_id, 0xab4e);
	CHECK_EQ(f->ip_ttl, 61);
	CHECK_EQ(f->ip_tos, 8);
	CHECK_EQ(f->src_mac, 0x948ed30a713bull);
	CHECK_EQ(f->dst_mac, 0x22421f4a9fcdull);
}

/* Values from tshark -V: agent 127.0.0.1, rate 1, both interfaces
 * 0x3fffffff, extended switch with VLANs 0, an Ethernet/IPv4/ICMP echo. */
TEST(sflow_icmpv4)
{
	struct capture c;
	struct flow *f;

	decode_file("sflow-v5-icmpv4.pcap", DECODE_DECAP_NONE, &c);
	CHECK_EQ(c.worst, DECODE_OK);
	REQUIRE_EQ(c.count, 1);
	f = &c.flows[0];
	CHECK(addr_eq(&f->exporter_address, "127.0.0.1"));
	CHECK_EQ(f->sampling_rate, 1);
	CHECK_EQ(f->in_if, 0);
	CHECK_EQ(f->out_if, 0);
	CHECK_EQ(f->src_vlan, 0);
	CHECK_EQ(f->dst_vlan, 0);
	CHECK(addr_eq(&f->src_addr, "203.0.113.4"));
	CHECK(addr_eq(&f->dst_addr, "203.0.113.5"));
	CHECK_EQ(f->proto, 1);
	CHECK_EQ(f->icmpv4_type, 8);
	CHECK_EQ(f->icmpv4_code, 0);
	CHECK_EQ(f->ip_ttl, 64);
	CHECK_EQ(f->ip_fragment_id, 0x90c5);
	CHECK_EQ(f->bytes, 84);
	CHECK_EQ(f->src_port, 0);
	CHECK_EQ(f->src_mac, 0xe2efc68f8cd4ull);
	CHECK_EQ(f->dst_mac, 0xd25b45ee5ecfull);
}

/* tshark -V: agent 172.19.64.116, 2 flow samples with header protocol
 * IPv4 (11), ICMP echo replies. */
TEST(sflow_raw_header_ipv4_no_ethernet)
{
	static const char *const dst[] = {"92.222.186.1", "92.222.184.1"};
	static const uint32_t id[] = {0x10e9, 0xf5e1};
	struct capture c;

	decode_file("sflow-v5-raw-header-ipv4-no-ethernet.pcap", DECODE_DECAP_NONE, &c);
	CHECK_EQ(c.worst, DECODE_OK);
	CHECK(addr_eq(&c.exporter, "172.19.64.116"));
	REQUIRE_EQ(c.count, 2);
	for (int i = 0; i < 2; i++) {
		struct flow *f = &c.flows[i];
		CHECK(addr_eq(&f->exporter_address, "172.19.64.116"));
		CHECK_EQ(f->sampling_rate, 1);
		CHECK_EQ(f->in_if, 0);
		CHECK_EQ(f->out_if, 2);
		CHECK(addr_eq(&f->src_addr, "69.58.92.107"));
		CHECK(addr_eq(&f->dst_addr, dst[i]));
		CHECK_EQ(f->etype, 0x0800);
		CHECK_EQ(f->proto, 1);
		CHECK_EQ(f->icmpv4_type, 0);
		CHECK_EQ(f->ip_tos, 8);
		CHECK_EQ(f->ip_ttl, 64);
		CHECK_EQ(f->ip_fragment_id, id[i]);
		CHECK_EQ(f->bytes, 32);
		CHECK_EQ(f->src_mac, 0);
	}
}

/* tshark -V: an Ethernet/IPv4/UDP 4789/VXLAN VNI 100/Ethernet/IPv6/ICMPv6
 * echo request. */
TEST(sflow_vxlan_decap)
{
	struct capture c;
	struct flow *f;

	decode_file("sflow-v5-vxlan-decap.pcap", DECODE_DECAP_VXLAN, &c);
	CHECK_EQ(c.worst, DECODE_OK);
	REQUIRE_EQ(c.count, 1);
	f = &c.flows[0];
	CHECK(addr_eq(&f->src_addr, "2001:db8:4::1"));
	CHECK(addr_eq(&f->dst_addr, "2001:db8:4::3"));
	CHECK_EQ(f->etype, 0x86dd);
	CHECK_EQ(f->proto, 58);
	CHECK_EQ(f->icmpv6_type, 128);
	CHECK_EQ(f->icmpv6_code, 0);
	CHECK_EQ(f->ipv6_flow_label, 0xa461c);
	CHECK_EQ(f->ip_ttl, 64);
	CHECK_EQ(f->bytes, 104);
	CHECK_EQ(f->src_port, 0);
	CHECK_EQ(f->ip_fragment_id, 0);
	/* outer L2 kept */
	CHECK_EQ(f->src_mac, 0x0017087d7742ull);
	CHECK_EQ(f->dst_mac, 0x30e4db3e337full);

	decode_file("sflow-v5-vxlan-decap.pcap", DECODE_DECAP_NONE, &c);
	REQUIRE_EQ(c.count, 1);
	f = &c.flows[0];
	CHECK(addr_eq(&f->src_addr, "192.168.108.40"));
	CHECK(addr_eq(&f->dst_addr, "192.168.15.14"));
	CHECK_EQ(f->proto, 17);
	CHECK_EQ(f->src_port, 45833);
	CHECK_EQ(f->dst_port, 4789);
	CHECK_EQ(f->ip_fragment_id, 0x8d6a);
	CHECK_EQ(f->bytes, 154);
}

/* ---- rawframe-*: plain Ethernet frames through l2l4_parse ---- */

/* Parses the first frame of flows/`name` (from an exact-size copy). */
static int parse_frame(const char *name, enum decode_decap decap, struct flow *f,
		       struct decode_result *r)
{
	char rel[256], err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *hdr;
	struct decode_config cfg;
	const u_char *data;
	const char *path;
	pcap_t *pc;
	uint8_t *copy;
	int ret;

	snprintf(rel, sizeof(rel), "flows/%s", name);
	path = test_shared_file_or_skip(rel);
	pc = pcap_open_offline(path, err);
	if (!pc) {
		test_fail_at(__FILE__, __LINE__, "%s: %s", name, err);
		test_stop();
	}
	if (pcap_datalink(pc) != DLT_EN10MB || pcap_next_ex(pc, &hdr, &data) != 1) {
		pcap_close(pc);
		test_fail_at(__FILE__, __LINE__, "%s: no Ethernet frame", name);
		test_stop();
	}
	copy = exact_copy(data, hdr->caplen);
	decode_config_init(&cfg);
	cfg.decap = decap;
	flow_reset(f);
	memset(r, 0, sizeof(*r));
	ret = l2l4_parse(copy, hdr->caplen, L2L4_ETHERNET, &cfg, f, r);
	free(copy);
	pcap_close(pc);
	return ret;
}

TEST(rawframe_gre_v4_key)
{
	struct flow f;
	struct decode_result r;

	REQUIRE_EQ(parse_frame("rawframe-gre-v4-key.pcap", DECODE_DECAP_GRE, &f, &r), 0);
	CHECK(addr_eq(&f.src_addr, "192.168.1.101"));
	CHECK(addr_eq(&f.dst_addr, "192.168.2.102"));
	CHECK_EQ(f.etype, 0x0800);
	CHECK_EQ(f.proto, 1);
	CHECK_EQ(f.icmpv4_type, 8);
	CHECK_EQ(f.icmpv4_code, 0);
	CHECK_EQ(f.ip_ttl, 254);
	CHECK_EQ(f.ip_fragment_id, 0x045f);
	CHECK_EQ(f.bytes, 100);
	CHECK_EQ(f.src_mac, 0xfa163e3d61ffull);
	CHECK_EQ(f.dst_mac, 0xfa163e7fb6c9ull);

	REQUIRE_EQ(parse_frame("rawframe-gre-v4-key.pcap", DECODE_DECAP_NONE, &f, &r), 0);
	CHECK(addr_eq(&f.src_addr, "192.168.12.1"));
	CHECK(addr_eq(&f.dst_addr, "192.168.12.2"));
	CHECK_EQ(f.proto, 47);
	CHECK_EQ(f.ip_ttl, 255);
	CHECK_EQ(f.ip_fragment_id, 5);
	CHECK_EQ(f.bytes, 128);
	CHECK_EQ(f.icmpv4_type, 0);
}

TEST(rawframe_gre_v4_plain)
{
	struct flow f;
	struct decode_result r;

	REQUIRE_EQ(parse_frame("rawframe-gre-v4-plain.pcap", DECODE_DECAP_GRE, &f, &r), 0);
	CHECK(addr_eq(&f.src_addr, "66.59.111.190"));
	CHECK(addr_eq(&f.dst_addr, "66.59.111.182"));
	CHECK_EQ(f.proto, 17);
	CHECK_EQ(f.src_port, 123);
	CHECK_EQ(f.dst_port, 123);
	CHECK_EQ(f.ip_tos, 0x10);
	CHECK_EQ(f.ip_ttl, 64);
	CHECK_EQ(f.bytes, 76);
	CHECK_EQ(f.src_mac, 0x00022d564afdull);
	CHECK_EQ(f.dst_mac, 0x00c0ca14b052ull);
}

TEST(rawframe_gre_v6_plain)
{
	struct flow f;
	struct decode_result r;

	REQUIRE_EQ(parse_frame("rawframe-gre-v6-plain.pcap", DECODE_DECAP_GRE, &f, &r), 0);
	CHECK(addr_eq(&f.src_addr, "2001:db8::2"));
	CHECK(addr_eq(&f.dst_addr, "2001:db8::1"));
	CHECK_EQ(f.etype, 0x86dd);
	CHECK_EQ(f.proto, 6);
	CHECK_EQ(f.src_port, 18716);
	CHECK_EQ(f.dst_port, 23);
	CHECK_EQ(f.tcp_flags, 0x018);
	CHECK_EQ(f.ip_ttl, 255);
	CHECK_EQ(f.ip_tos, 0xc0);
	CHECK_EQ(f.bytes, 62);
	CHECK_EQ(f.ip_fragment_id, 0);
}

TEST(rawframe_ipv4_ipv4)
{
	struct flow f;
	struct decode_result r;

	REQUIRE_EQ(parse_frame("rawframe-ipv4-ipv4.pcap", DECODE_DECAP_IPIP, &f, &r), 0);
	CHECK(addr_eq(&f.src_addr, "192.168.0.1"));
	CHECK(addr_eq(&f.dst_addr, "192.168.0.2"));
	CHECK_EQ(f.proto, 1);
	CHECK_EQ(f.icmpv4_type, 8);
	CHECK_EQ(f.ip_ttl, 255);
	CHECK_EQ(f.ip_fragment_id, 18);
	CHECK_EQ(f.bytes, 100);
	CHECK_EQ(f.src_mac, 0xca000b140008ull);
}

TEST(rawframe_ipv4_ipv6)
{
	struct flow f;
	struct decode_result r;

	REQUIRE_EQ(parse_frame("rawframe-ipv4-ipv6.pcap", DECODE_DECAP_IPIP, &f, &r), 0);
	CHECK(addr_eq(&f.src_addr, "2001:610:1908:a000::149:20"));
	CHECK(addr_eq(&f.dst_addr, "2002:2470:9ffa:fa9:0:dd:ed00:2"));
	CHECK_EQ(f.etype, 0x86dd);
	CHECK_EQ(f.proto, 6);
	CHECK_EQ(f.src_port, 80);
	CHECK_EQ(f.dst_port, 35673);
	CHECK_EQ(f.tcp_flags, 0x010);
	CHECK_EQ(f.ip_ttl, 58);
	CHECK_EQ(f.bytes, 60);
	CHECK_EQ(f.ip_fragment_id, 0);

	REQUIRE_EQ(parse_frame("rawframe-ipv4-ipv6.pcap", DECODE_DECAP_NONE, &f, &r), 0);
	CHECK(addr_eq(&f.src_addr, "216.66.80.30"));
	CHECK_EQ(f.proto, 41);
	CHECK_EQ(f.ip_ttl, 239);
	CHECK_EQ(f.bytes, 80);
}

static void check_mpls_ipv4_tcp(const struct flow *f)
{
	CHECK(addr_eq(&f->src_addr, "10.31.0.1"));
	CHECK(addr_eq(&f->dst_addr, "10.34.0.1"));
	CHECK_EQ(f->etype, 0x0800);
	CHECK_EQ(f->proto, 6);
	CHECK_EQ(f->src_port, 11001);
	CHECK_EQ(f->dst_port, 23);
	CHECK_EQ(f->tcp_flags, 0x010);
	CHECK_EQ(f->ip_ttl, 255);
	CHECK_EQ(f->ip_fragment_id, 8);
	CHECK_EQ(f->bytes, 40);
	CHECK_EQ(f->src_mac, 0x003096052838ull);
	CHECK_EQ(f->dst_mac, 0x003096e6fc39ull);
}

static void check_mpls_ipv6_tcp(const struct flow *f)
{
	CHECK(addr_eq(&f->src_addr, "2001:db8::1"));
	CHECK(addr_eq(&f->dst_addr, "2001:db8::2"));
	CHECK_EQ(f->etype, 0x86dd);
	CHECK_EQ(f->proto, 6);
	CHECK_EQ(f->src_port, 11001);
	CHECK_EQ(f->dst_port, 80);
	CHECK_EQ(f->tcp_flags, 0x010);
	CHECK_EQ(f->ip_ttl, 64);
	CHECK_EQ(f->bytes, 60);
	CHECK_EQ(f->src_mac, 0x003096052838ull);
}

TEST(rawframe_mpls_ipv4)
{
	struct flow f;
	struct decode_result r;

	REQUIRE_EQ(parse_frame("rawframe-mpls-ipv4.pcap", DECODE_DECAP_NONE, &f, &r), 0);
	REQUIRE_EQ(f.mpls_labels_count, 2);
	CHECK_EQ(f.mpls_labels[0], 18);
	CHECK_EQ(f.mpls_labels[1], 16);
	CHECK_EQ(f.ip_tos, 0xb0);
	check_mpls_ipv4_tcp(&f);
}

TEST(rawframe_mpls_ipv6)
{
	struct flow f;
	struct decode_result r;

	REQUIRE_EQ(parse_frame("rawframe-mpls-ipv6.pcap", DECODE_DECAP_NONE, &f, &r), 0);
	REQUIRE_EQ(f.mpls_labels_count, 1);
	CHECK_EQ(f.mpls_labels[0], 100);
	check_mpls_ipv6_tcp(&f);
}

TEST(rawframe_mpls_explicit_null)
{
	struct flow f;
	struct decode_result r;

	REQUIRE_EQ(parse_frame("rawframe-mpls-explicit-null-ipv4.pcap", DECODE_DECAP_NONE, &f, &r),
		   0);
	REQUIRE_EQ(f.mpls_labels_count, 1);
	CHECK_EQ(f.mpls_labels[0], 0);
	check_mpls_ipv4_tcp(&f);

	REQUIRE_EQ(parse_frame("rawframe-mpls-explicit-null-ipv6.pcap", DECODE_DECAP_NONE, &f, &r),
		   0);
	REQUIRE_EQ(f.mpls_labels_count, 1);
	CHECK_EQ(f.mpls_labels[0], 2);
	check_mpls_ipv6_tcp(&f);
}

/* EoMPLS with a control word: tshark -d mpls.label==17,pwethcw (and 100)
 * shows the inner Ethernet/IPv4/TCP; the outer MACs are reported. */
TEST(rawframe_mpls_eompls)
{
	struct flow f;
	struct decode_result r;

	REQUIRE_EQ(parse_frame("rawframe-mpls-eompls-cw.pcap", DECODE_DECAP_NONE, &f, &r), 0);
	REQUIRE_EQ(f.mpls_labels_count, 2);
	CHECK_EQ(f.mpls_labels[0], 300012);
	CHECK_EQ(f.mpls_labels[1], 17);
	check_mpls_ipv4_tcp(&f);

	REQUIRE_EQ(parse_frame("rawframe-mpls-eompls-invalid-cw.pcap", DECODE_DECAP_NONE, &f, &r),
		   0);
	REQUIRE_EQ(f.mpls_labels_count, 1);
	CHECK_EQ(f.mpls_labels[0], 100);
	check_mpls_ipv4_tcp(&f);
}

TEST(rawframe_mpls_invalid_nibble)
{
	struct flow f;
	struct decode_result r;

	REQUIRE_EQ(parse_frame("rawframe-mpls-invalid-nibble.pcap", DECODE_DECAP_NONE, &f, &r), 0);
	REQUIRE_EQ(f.mpls_labels_count, 1);
	CHECK_EQ(f.mpls_labels[0], 100);
	CHECK_EQ(f.etype, 0);
	CHECK_EQ(f.bytes, 0);
	CHECK(addr_is_zero(&f.src_addr));
	CHECK_EQ(f.src_mac, 0x003096052838ull);
}

TEST(rawframe_srv6_end_dt6)
{
	struct flow f;
	struct decode_result r;

	REQUIRE_EQ(parse_frame("rawframe-srv6-end-dt6.pcap", DECODE_DECAP_SRV6, &f, &r), 0);
	CHECK(addr_eq(&f.src_addr, "1:2:1::1"));
	CHECK(addr_eq(&f.dst_addr, "b::2"));
	CHECK_EQ(f.etype, 0x86dd);
	CHECK_EQ(f.proto, 17);
	CHECK_EQ(f.src_port, 50701);
	CHECK_EQ(f.dst_port, 5001);
	CHECK_EQ(f.ip_ttl, 64);
	CHECK_EQ(f.ipv6_flow_label, 0xae0a9);
	CHECK_EQ(f.bytes, 64);
	CHECK_EQ(f.src_mac, 0x90e2ba84d779ull);

	REQUIRE_EQ(parse_frame("rawframe-srv6-end-dt6.pcap", DECODE_DECAP_NONE, &f, &r), 0);
	CHECK(addr_eq(&f.dst_addr, "f2::"));
	CHECK_EQ(f.proto, 41);
	CHECK_EQ(f.ip_ttl, 63);
	CHECK_EQ(f.bytes, 144);
	CHECK_EQ(f.src_port, 0);
}

TEST(rawframe_vlan_ipv6)
{
	struct flow f;
	struct decode_result r;

	REQUIRE_EQ(parse_frame("rawframe-vlan-ipv6.pcap", DECODE_DECAP_NONE, &f, &r), 0);
	CHECK_EQ(f.src_vlan, 100);
	CHECK_EQ(f.dst_vlan, 100);
	CHECK(addr_eq(&f.src_addr, "2402:f000:1:8e01::5555"));
	CHECK(addr_eq(&f.dst_addr, "2607:fcd0:100:2300::b108:2a6b"));
	CHECK_EQ(f.etype, 0x86dd);
	CHECK_EQ(f.proto, 4);
	CHECK_EQ(f.ip_ttl, 246);
	CHECK_EQ(f.ipv6_flow_label, 0);
	CHECK_EQ(f.bytes, 179);
	CHECK_EQ(f.src_mac, 0x00121ef2613dull);
	CHECK_EQ(f.dst_mac, 0xc500000082c4ull);

	/* IP-in-IP: the IPv4 packet inside, which carries PPTP GRE. */
	REQUIRE_EQ(parse_frame("rawframe-vlan-ipv6.pcap", DECODE_DECAP_IPIP, &f, &r), 0);
	CHECK(addr_eq(&f.src_addr, "16.0.0.200"));
	CHECK(addr_eq(&f.dst_addr, "192.52.166.154"));
	CHECK_EQ(f.etype, 0x0800);
	CHECK_EQ(f.proto, 47);
	CHECK_EQ(f.ip_ttl, 64);
	CHECK_EQ(f.ip_fragment_id, 0x8caf);
	CHECK_EQ(f.bytes, 139);
	CHECK_EQ(f.src_vlan, 100);
}
