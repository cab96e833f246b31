// SPDX-License-Identifier: AGPL-3.0-or-later
/* The probe's IPFIX writer against weir's own decoder: records of every kind
 * (IPv4/IPv6, TCP/UDP/ICMP, ingress/egress, VLAN) come back field by field,
 * the sampling interval is announced, sequence numbers count data records,
 * messages stay under the size limit, and the interface options data carries
 * names and descriptions (read here by hand: the decoder only counts it). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/addr.h"
#include "decode/decode.h"
#include "probe/probe_internal.h"
#include "test.h"
#include "weir_config.h"

#define NOW 1700000000u

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void make_record(struct probe_record *r, unsigned i)
{
	memset(r, 0, sizeof(*r));
	r->key.ifindex = 3 + i % 2;
	r->key.direction = i % 2 ? PROBE_EGRESS : PROBE_INGRESS;
	r->key.ip_version = i % 3 == 2 ? 6 : 4;
	r->key.proto = i % 4 == 0 ? 6 : i % 4 == 1 ? 17 : r->key.ip_version == 6 ? 58 : 1;
	r->key.vlan = i % 5 ? 0 : 100 + i;
	if (r->key.proto == 1 || r->key.proto == 58) {
		r->key.dst_port = (uint16_t)(8 << 8 | (i % 3));
	} else {
		r->key.src_port = (uint16_t)(1024 + i);
		r->key.dst_port = 443;
	}
	if (r->key.ip_version == 4) {
		uint8_t s[4] = {192, 0, 2, (uint8_t)i}, d[4] = {198, 51, 100, 7};
		memcpy(r->key.src, s, 4);
		memcpy(r->key.dst, d, 4);
	} else {
		inet_pton(AF_INET6, "2001:db8::1", r->key.src);
		inet_pton(AF_INET6, "2001:db8:ffff::2", r->key.dst);
		r->key.src[15] = (uint8_t)i;
	}
	r->bytes = 1000ull * i + 5000000000ull; /* above 2^32: 8-byte counters */
	r->packets = 10 + i;
	r->start_ms = NOW * 1000ull + i;
	r->end_ms = r->start_ms + 1234;
	r->tcp_flags = r->key.proto == 6 ? 0x1b : 0;
	r->tos = (uint8_t)(i * 4);
	r->end_reason = PROBE_END_IDLE;
}

static void decode_one(struct decode_state *st, const uint8_t *buf, size_t len,
		       struct decode_output *out, struct decode_result *res)
{
	struct decode_input in = {.data = buf, .len = len, .time_received = NOW};

	addr_from_ipv4(&in.exporter, 0x7f000001);
	decode_datagram(st, &in, out, res);
}

TEST(records_round_trip_through_weirs_decoder)
{
	struct ipfix_writer *w = malloc(sizeof(*w));
	struct decode_config dc;
	struct decode_state *st;
	struct flow flows[64];
	struct decode_output out = {.flows = flows, .cap = 64};
	struct decode_result res;
	struct probe_record r[40];
	size_t len;

	REQUIRE(w);
	decode_config_init(&dc);
	decode_state_new(&dc, &st, NULL);
	REQUIRE(st);
	ipfix_writer_init(w, 7, 10, 65000);
	ipfix_begin(w, NOW);
	REQUIRE_EQ(ipfix_add_templates(w), 0);
	for (unsigned i = 0; i < 40; i++) {
		make_record(&r[i], i);
		REQUIRE_EQ(ipfix_add_record(w, &r[i]), 0);
	}
	len = ipfix_finish(w);
	REQUIRE(len > 0);
	decode_one(st, w->buf, len, &out, &res);
	CHECK_EQ(res.status, DECODE_OK);
	CHECK_EQ(res.protocol, DECODE_PROTO_IPFIX);
	CHECK_EQ(res.options_records, 1); /* the sampling interval */
	REQUIRE_EQ(out.count, 40);
	for (unsigned i = 0; i < 40; i++) {
		const struct flow *f = &flows[i];
		const struct probe_record *x = &r[i];
		struct in6_addr src;

		if (x->key.ip_version == 4)
			addr_from_ipv4_bytes(&src, x->key.src);
		else
			memcpy(&src, x->key.src, 16);
		CHECK(!memcmp(&f->src_addr, &src, 16));
		CHECK_EQ(f->bytes, x->bytes);
		CHECK_EQ(f->packets, x->packets);
		CHECK_EQ(f->proto, x->key.proto);
		CHECK_EQ(f->etype, x->key.ip_version == 4 ? 0x0800 : 0x86dd);
		CHECK_EQ(f->time_flow_start_ms, x->start_ms);
		CHECK_EQ(f->time_flow_end_ms, x->end_ms);
		CHECK_EQ(f->in_if, x->key.direction == PROBE_INGRESS ? x->key.ifindex : 0);
		CHECK_EQ(f->out_if, x->key.direction == PROBE_EGRESS ? x->key.ifindex : 0);
		CHECK_EQ(f->flow_direction, x->key.direction == PROBE_INGRESS
						? FLOW_DIRECTION_INGRESS
						: FLOW_DIRECTION_EGRESS);
		CHECK_EQ(f->tcp_flags, x->tcp_flags);
		CHECK_EQ(f->ip_tos, x->tos);
		CHECK_EQ(f->src_vlan, x->key.vlan);
		CHECK_EQ(f->sampling_rate, 10);
		if (x->key.proto == 1) {
			CHECK_EQ(f->icmpv4_type, 8);
			CHECK_EQ(f->icmpv4_code, i % 3);
			CHECK_EQ(f->dst_port, 0);
		} else if (x->key.proto == 58) {
			CHECK_EQ(f->icmpv6_type, 8);
			CHECK_EQ(f->icmpv6_code, i % 3);
		} else {
			CHECK_EQ(f->src_port, x->key.src_port);
			CHECK_EQ(f->dst_port, x->key.dst_port);
		}
	}
	decode_state_free(st);
	free(w);
}

TEST(messages_fit_the_limit_and_sequence_counts_data_records)
{
	struct ipfix_writer *w = malloc(sizeof(*w));
	struct probe_record r;
	uint32_t expected_seq = 0;
	unsigned total = 0, messages = 0, per_msg_v4 = (1400 - 16 - 4) / 62;

	REQUIRE(w);
	ipfix_writer_init(w, 1, 1, 1400);
	while (total < 1000) {
		size_t len;
		unsigned in_msg = 0;

		ipfix_begin(w, NOW);
		if (messages == 0) {
			REQUIRE_EQ(ipfix_add_templates(w), 0);
			in_msg++; /* the sampling options data record */
		}
		for (;;) {
			make_record(&r, 0); /* IPv4 */
			if (ipfix_add_record(w, &r) < 0)
				break;
			in_msg++;
			total++;
		}
		len = ipfix_finish(w);
		CHECK(len <= 1400);
		CHECK_EQ(rd16(w->buf), 10);
		CHECK_EQ(rd16(w->buf + 2), len);
		CHECK_EQ(rd32(w->buf + 4), NOW);
		CHECK_EQ(rd32(w->buf + 8), expected_seq);
		CHECK_EQ(rd32(w->buf + 12), 1);
		if (messages > 0)
			CHECK_EQ(in_msg, per_msg_v4);
		expected_seq += in_msg;
		messages++;
	}
	CHECK_EQ(w->sequence, expected_seq);
	/* An empty message is not sent. */
	ipfix_begin(w, NOW);
	CHECK_EQ(ipfix_finish(w), 0);
	free(w);
}

/* Walks the sets of a message; returns the interfaces options data records
 * read into names/descs (RFC 7011 7 variable-length fields). */
static unsigned read_ifaces(const uint8_t *m, size_t len, uint32_t *idx, char names[][64],
			    char descs[][400], uint64_t *speed)
{
	size_t off = 16;
	unsigned n = 0;

	while (off + 4 <= len) {
		uint16_t id = rd16(m + off), slen = rd16(m + off + 2);
		size_t p = off + 4;

		if (slen < 4 || off + slen > len)
			break;
		while (id == PROBE_TPL_IFACES && p + 4 < off + slen) {
			size_t l;

			idx[n] = rd32(m + p);
			p += 4;
			l = m[p++];
			memcpy(names[n], m + p, l);
			names[n][l] = 0;
			p += l;
			l = m[p++];
			if (l == 255) {
				l = rd16(m + p);
				p += 2;
			}
			memcpy(descs[n], m + p, l);
			descs[n][l] = 0;
			p += l;
			speed[n] = (uint64_t)rd32(m + p) << 32 | rd32(m + p + 4);
			p += 8;
			n++;
		}
		off += slen;
	}
	return n;
}

TEST(interface_options_carry_names_and_descriptions)
{
	struct ipfix_writer *w = malloc(sizeof(*w));
	struct probe_iface_info ifs[3] = {
	    {.ifindex = 2,
	     .name = "eth0",
	     .description = "uplink to AS64500",
	     .speed_bps = 10000000000ull},
	    {.ifindex = 7, .name = "ens5", .description = "", .speed_bps = 0},
	    {.ifindex = 9, .name = "bond0.42", .speed_bps = 25000000000ull},
	};
	struct decode_config dc;
	struct decode_state *st;
	struct flow flows[4];
	struct decode_output out = {.flows = flows, .cap = 4};
	struct decode_result res;
	uint32_t idx[4];
	char names[4][64], descs[4][400];
	uint64_t speed[4];
	size_t len;

	REQUIRE(w);
	memset(ifs[2].description, 'x', 255); /* the 3-byte length form */
	ifs[2].description[255] = 0;
	ipfix_writer_init(w, 1, 1, 1400);
	ipfix_begin(w, NOW);
	REQUIRE_EQ(ipfix_add_templates(w), 0);
	for (int i = 0; i < 3; i++)
		REQUIRE_EQ(ipfix_add_interface(w, &ifs[i]), 0);
	len = ipfix_finish(w);
	decode_config_init(&dc);
	decode_state_new(&dc, &st, NULL);
	REQUIRE(st);
	decode_one(st, w->buf, len, &out, &res);
	CHECK_EQ(res.status, DECODE_OK);
	CHECK_EQ(res.templates, 4);
	CHECK_EQ(res.options_records, 4); /* sampling + three interfaces */
	CHECK_EQ(out.count, 0);
	REQUIRE_EQ(read_ifaces(w->buf, len, idx, names, descs, speed), 3);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(idx[i], ifs[i].ifindex);
		CHECK_STR(names[i], ifs[i].name);
		CHECK_STR(descs[i], ifs[i].description);
		CHECK_EQ(speed[i], ifs[i].speed_bps);
	}
	CHECK_EQ(rd32(w->buf + 8), 0);
	CHECK_EQ(w->sequence, 4);
	decode_state_free(st);
	free(w);
}

TEST(probe_section_binds)
{
	static const char text[] = "probe:\n"
				   "  interfaces: [eth0, eth1]\n"
				   "  collectors: [\"192.0.2.1:4739\", \"[2001:db8::1]:2055\"]\n"
				   "  attach: clsact\n"
				   "  active-timeout: 30s\n"
				   "  idle-timeout: 5s\n"
				   "  sampling: 100\n"
				   "  max-flows: 1000\n"
				   "  mtu: 9000\n";
	static const char bad[] = "probe:\n  attach: bpfilter\n";
	char path[] = "/tmp/weir-probe-cfg-XXXXXX";
	struct weir_config cfg;
	struct config_error err;
	int fd = mkstemp(path);

	REQUIRE(fd >= 0);
	REQUIRE(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	REQUIRE_EQ(weir_config_load(&cfg, path, &err), 0);
	CHECK_EQ(cfg.probe.interfaces.count, 2);
	CHECK_EQ(cfg.probe.collectors.count, 2);
	CHECK_STR(((char **)cfg.probe.collectors.items)[1], "[2001:db8::1]:2055");
	CHECK_EQ(cfg.probe.attach, PROBE_ATTACH_CLSACT);
	CHECK_EQ(cfg.probe.active_timeout_ms, 30000);
	CHECK_EQ(cfg.probe.idle_timeout_ms, 5000);
	CHECK_EQ(cfg.probe.sampling, 100);
	CHECK_EQ(cfg.probe.max_flows, 1000);
	CHECK_EQ(cfg.probe.mtu, 9000);
	weir_config_free(&cfg);
	fd = open(path, O_WRONLY | O_TRUNC);
	REQUIRE(fd >= 0);
	REQUIRE(write(fd, bad, strlen(bad)) == (ssize_t)strlen(bad));
	close(fd);
	CHECK(weir_config_load(&cfg, path, &err) < 0);
	CHECK(strstr(err.text, "probe.attach") != NULL);
	weir_config_free(&cfg);
	unlink(path);
}
