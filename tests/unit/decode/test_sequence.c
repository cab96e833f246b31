// SPDX-License-Identifier: AGPL-3.0-or-later
/* Sequence tracking (decode_sequence_track): gaps, late and duplicated
 * datagrams, wraparound at 2^32 and restarts, per exporter and domain, for
 * NetFlow v5, v9, IPFIX and sFlow; hand-built headers and the demo
 * exporter's datagrams with some left out. */
#include <stdio.h>
#include <stdlib.h>

#include "common/pcap_udp.h"
#include "demo/demo.h"
#include "nf_build.h"

/* Decodes b from 192.0.2.<from> and tracks its sequence. */
static void feed(struct nd *d, const struct nb *b, uint8_t from)
{
	nd_feed_from(d, b, from);
	decode_sequence_track(d->st, &d->r);
}

static void v5(struct nb *b, uint32_t seq, uint16_t count, uint8_t engine_id, uint32_t uptime)
{
	b->n = 0;
	nb_u16(b, 5);
	nb_u16(b, count);
	nb_u32(b, uptime);
	nb_u32(b, 1680626679);
	nb_u32(b, 0);
	nb_u32(b, seq);
	nb_u8(b, 1); /* engine type */
	nb_u8(b, engine_id);
	nb_u16(b, 0);
	nb_zero(b, (size_t)count * 48);
}

static void v9(struct nb *b, uint32_t seq, uint32_t source_id, uint32_t uptime)
{
	nb_v9_header(b, uptime, 1680626679, source_id);
	be32_put(b->b + 12, seq);
}

static void ipfix_tmpl(struct nb *b, uint32_t seq, uint32_t domain)
{
	static const struct nb_field f[] = {{8, 4, 0}}; /* sourceIPv4Address */

	nb_ipfix_header(b, 1680626679, domain);
	be32_put(b->b + 8, seq);
	nb_set_begin(b, 2);
	nb_template(b, 256, f, NB_N(f));
	nb_set_end(b);
	nb_ipfix_end(b);
}

/* A message of `records` data records of template 256 (and `unknown` data
 * records of an unknown template 300 after them). */
static void ipfix_data(struct nb *b, uint32_t seq, uint32_t domain, uint32_t records,
		       uint32_t unknown)
{
	nb_ipfix_header(b, 1680626679, domain);
	be32_put(b->b + 8, seq);
	nb_set_begin(b, 256);
	for (uint32_t i = 0; i < records; i++)
		nb_ip4(b, 10, 0, 0, (uint8_t)i);
	nb_set_end(b);
	if (unknown) {
		nb_set_begin(b, 300);
		for (uint32_t i = 0; i < unknown; i++)
			nb_u32(b, i);
		nb_set_end(b);
	}
	nb_ipfix_end(b);
}

static void sflow(struct nb *b, uint32_t seq, uint32_t sub_agent, uint8_t agent, uint32_t uptime)
{
	b->n = 0;
	nb_u32(b, 5);
	nb_u32(b, 1); /* IPv4 agent */
	nb_ip4(b, 198, 51, 100, agent);
	nb_u32(b, sub_agent);
	nb_u32(b, seq);
	nb_u32(b, uptime);
	nb_u32(b, 0); /* samples */
}

TEST(v5_gap_counts_flows)
{
	struct nd d;
	struct nb b;

	nd_init(&d);
	v5(&b, 100, 2, 7, 50000);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.unit, DECODE_SEQ_FLOWS);
	CHECK_EQ(d.r.seq.domain, 1u << 8 | 7);
	CHECK_EQ(d.r.seq.number, 100);
	CHECK_EQ(d.r.seq.count, 2);
	CHECK_EQ(d.r.seq.lost, 0);
	v5(&b, 102, 3, 7, 50010);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	/* 105..109 (a datagram of 5 flows) never came. */
	v5(&b, 110, 1, 7, 50020);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 5);
	CHECK_EQ(d.r.seq.out_of_order, 0);
	/* It comes late: out of order, no loss, the stream does not move. */
	v5(&b, 105, 5, 7, 50015);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.out_of_order, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	v5(&b, 111, 1, 7, 50030);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	CHECK_EQ(d.r.seq.out_of_order, 0);
	CHECK_EQ(d.r.seq.reset, 0);
	nd_fini(&d);
}

TEST(v5_engines_and_exporters_are_separate_streams)
{
	struct nd d;
	struct nb b;

	nd_init(&d);
	v5(&b, 0, 10, 1, 1000);
	feed(&d, &b, 1);
	v5(&b, 5000, 10, 2, 1000); /* another engine: its own stream */
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	v5(&b, 900, 10, 1, 1000); /* another exporter, same engine */
	feed(&d, &b, 2);
	CHECK_EQ(d.r.seq.lost, 0);
	v5(&b, 12, 1, 1, 1010);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 2);
	v5(&b, 5010, 1, 2, 1010);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	v5(&b, 915, 1, 1, 1010);
	feed(&d, &b, 2);
	CHECK_EQ(d.r.seq.lost, 5);
	nd_fini(&d);
}

TEST(v9_gap_duplicate_wraparound)
{
	struct nd d;
	struct nb b;

	nd_init(&d);
	v9(&b, 0xfffffffdu, 42, 100000);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.unit, DECODE_SEQ_DATAGRAMS);
	CHECK_EQ(d.r.seq.domain, 42);
	CHECK_EQ(d.r.seq.count, 1);
	v9(&b, 0xfffffffeu, 42, 100001);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	/* 0xffffffff and 0 lost, over the wrap. */
	v9(&b, 1, 42, 100002);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 2);
	CHECK_EQ(d.r.seq.reset, 0);
	/* The same datagram again. */
	v9(&b, 1, 42, 100002);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.out_of_order, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	v9(&b, 2, 42, 100003);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	CHECK_EQ(d.r.seq.out_of_order, 0);
	/* Another source id of the exporter is its own stream. */
	v9(&b, 77, 43, 100003);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	v9(&b, 80, 43, 100004);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 2);
	nd_fini(&d);
}

TEST(v9_restart_by_uptime_or_jump_back)
{
	struct nd d;
	struct nb b;

	nd_init(&d);
	v9(&b, 5000, 1, 90000000);
	feed(&d, &b, 1);
	/* Rebooted: uptime back to 2 minutes, sequence from 0. Not a loss. */
	v9(&b, 3, 1, 120000);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.reset, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	CHECK_EQ(d.r.seq.out_of_order, 0);
	v9(&b, 5, 1, 121000);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.reset, 0);
	CHECK_EQ(d.r.seq.lost, 1);
	/* A late datagram stamped a little earlier is not a restart. */
	v9(&b, 4, 1, 120500);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.reset, 0);
	CHECK_EQ(d.r.seq.out_of_order, 1);
	/* Far behind (beyond the window) with the uptime going on: the
	 * exporter's counter started over. */
	v9(&b, 5, 1, 122000);
	feed(&d, &b, 1);
	v9(&b, 0xfff00000u, 1, 123000);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	CHECK_EQ(d.r.seq.reset, 1);
	/* sysUptime wraps after 49.7 days: not a restart. */
	v9(&b, 100, 2, 0xffffff00u);
	feed(&d, &b, 1);
	v9(&b, 101, 2, 0x100);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.reset, 0);
	CHECK_EQ(d.r.seq.lost, 0);
	nd_fini(&d);
}

TEST(ipfix_counts_data_records_not_templates)
{
	struct nd d;
	struct nb b;

	nd_init(&d);
	/* A template-only message leaves the sequence where it is. */
	ipfix_tmpl(&b, 0, 9);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.unit, DECODE_SEQ_RECORDS);
	CHECK_EQ(d.r.seq.domain, 9);
	CHECK_EQ(d.r.seq.count, 0);
	ipfix_data(&b, 0, 9, 3, 0);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.count, 3);
	CHECK_EQ(d.r.seq.lost, 0);
	ipfix_tmpl(&b, 3, 9);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	ipfix_data(&b, 3, 9, 4, 0);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	/* A message of 6 records lost. */
	ipfix_data(&b, 13, 9, 2, 0);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 6);
	/* Late. */
	ipfix_data(&b, 7, 9, 6, 0);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.out_of_order, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	ipfix_data(&b, 15, 9, 1, 0);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	CHECK_EQ(d.r.seq.out_of_order, 0);
	nd_fini(&d);
}

TEST(ipfix_uncounted_records_resynchronise)
{
	struct nd d;
	struct nb b;

	nd_init(&d);
	ipfix_tmpl(&b, 0, 1);
	feed(&d, &b, 1);
	/* 2 known records, 3 of a template not known: how many records the
	 * message held is not known, so the next one cannot be judged. */
	ipfix_data(&b, 0, 1, 2, 3);
	feed(&d, &b, 1);
	CHECK(d.r.seq.count_unknown);
	ipfix_data(&b, 5, 1, 1, 0);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	CHECK_EQ(d.r.seq.reset, 0);
	/* ... and afterwards it is tracked again. */
	ipfix_data(&b, 8, 1, 1, 0);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 2);
	/* Restarted (sequence from 0, far behind). */
	ipfix_data(&b, 0, 1, 1, 0);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.reset, 0); /* 9 behind: within the window, late */
	CHECK_EQ(d.r.seq.out_of_order, 1);
	ipfix_data(&b, 0xfff00000u, 1, 1, 0);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.reset, 1);
	nd_fini(&d);
}

TEST(sflow_per_agent_and_sub_agent)
{
	struct nd d;
	struct nb b;

	nd_init(&d);
	sflow(&b, 1, 0, 10, 10001000);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.unit, DECODE_SEQ_DATAGRAMS);
	CHECK(addr_is4(&d.r.exporter, IP4(198, 51, 100, 10)));
	sflow(&b, 2, 0, 10, 10001100);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	/* Another sub-agent, another agent (same datagram source). */
	sflow(&b, 500, 1, 10, 10001100);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	sflow(&b, 40, 0, 11, 10001100);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	sflow(&b, 5, 0, 10, 10001200);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 2);
	sflow(&b, 501, 1, 10, 10001200);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	sflow(&b, 41, 0, 11, 10001200);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	/* The agent rebooted. */
	sflow(&b, 1, 0, 10, 500);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.reset, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	nd_fini(&d);
}

TEST(wraparound_v5_ipfix_sflow)
{
	struct nd d;
	struct nb b;

	nd_init(&d);
	/* v5: 16 flows up to 2^32 - 1; the next datagram starts at 0. */
	v5(&b, 0xfffffff0u, 16, 1, 5000);
	feed(&d, &b, 1);
	v5(&b, 0, 3, 1, 5001);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	CHECK_EQ(d.r.seq.reset, 0);
	v5(&b, 8, 1, 1, 5002); /* 3..7 lost */
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 5);
	/* IPFIX: 3 records from 2^32 - 2. */
	ipfix_tmpl(&b, 0xfffffffeu, 4);
	feed(&d, &b, 1);
	ipfix_data(&b, 0xfffffffeu, 4, 3, 0);
	feed(&d, &b, 1);
	ipfix_data(&b, 1, 4, 2, 0);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	CHECK_EQ(d.r.seq.out_of_order, 0);
	ipfix_data(&b, 0xffffffffu, 4, 1, 0); /* late, from before the wrap */
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.out_of_order, 1);
	CHECK_EQ(d.r.seq.reset, 0);
	/* sFlow: 2^32 - 1, 0, then 2. */
	sflow(&b, 0xffffffffu, 0, 20, 10000000);
	feed(&d, &b, 1);
	sflow(&b, 0, 0, 20, 10000100);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	sflow(&b, 2, 0, 20, 10000200);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 1);
	nd_fini(&d);
}

TEST(streams_are_bounded)
{
	struct decode_config cfg;
	struct nd d;
	struct nb b;

	decode_config_init(&cfg);
	cfg.max_exporters = 2; /* 8 streams per protocol */
	nd_init_cfg(&d, &cfg);
	v9(&b, 10, 0, 1000);
	feed(&d, &b, 1);
	for (uint32_t id = 1; id <= 100; id++) {
		v9(&b, 1000 * id, id, 1000);
		feed(&d, &b, 1);
	}
	/* Stream 0 was forgotten: its next datagram starts it again. */
	v9(&b, 15, 0, 1000);
	feed(&d, &b, 1);
	CHECK_EQ(d.r.seq.lost, 0);
	nd_fini(&d);
}

/* The demo exporter's datagrams (with sampling options data in v9/IPFIX),
 * every 4th left out: the gap counters add up to what was left out, in the
 * protocol's unit, as the encoder numbered it. */
#define DEMO_FLOWS 400
static void demo_skips(enum demo_format format)
{
	struct demo_encoder_config ec = {
	    .format = format,
	    .domain_id = 3,
	    .sampling_rate = 100,
	    .template_refresh = 1, /* every datagram can be read alone */
	    .export_time = 1700000000,
	};
	struct demo_encoder *enc;
	static struct flow flows[DEMO_FLOWS];
	struct nb *dg = calloc(DEMO_FLOWS + 1, sizeof(*dg));
	struct nd d;
	uint64_t seed = 7, lost = 0, want = 0, ooo = 0, resets = 0;
	size_t at = 0, ndg = 0;

	REQUIRE(dg);
	addr_from_ipv4(&ec.agent, IP4(192, 0, 2, 1));
	demo_flows_random(flows, DEMO_FLOWS, format, 1700000000, &seed);
	REQUIRE_EQ(demo_encoder_new(&ec, &enc, NULL), 0);
	while (at < DEMO_FLOWS) {
		int n = demo_encoder_encode(enc, flows + at, DEMO_FLOWS - at, dg[ndg].b,
					    sizeof(dg[ndg].b), &dg[ndg].n);

		REQUIRE(n >= 0);
		at += (size_t)n;
		if (dg[ndg].n)
			ndg++;
	}
	REQUIRE(ndg > 8);
	nd_init(&d);
	for (size_t i = 0; i < ndg; i++) {
		const uint8_t *h = dg[i].b;

		if (i % 4 == 3 && i + 1 < ndg) {
			if (format == DEMO_NETFLOW_V5)
				want += be16_get(h + 2); /* its flows */
			else if (format == DEMO_IPFIX)	 /* its data records */
				want += be32_get(dg[i + 1].b + 8) - be32_get(h + 8);
			else
				want++;
			continue;
		}
		feed(&d, &dg[i], 1);
		lost += d.r.seq.lost;
		ooo += d.r.seq.out_of_order;
		resets += d.r.seq.reset;
		CHECK(!d.r.seq.count_unknown);
	}
	CHECK(want > 0);
	CHECK_EQ(lost, want);
	CHECK_EQ(ooo, 0);
	CHECK_EQ(resets, 0);
	nd_fini(&d);
	demo_encoder_free(enc);
	free(dg);
}

TEST(demo_v5_skipped_datagrams)
{
	demo_skips(DEMO_NETFLOW_V5);
}
TEST(demo_v9_skipped_datagrams)
{
	demo_skips(DEMO_NETFLOW_V9);
}
TEST(demo_ipfix_skipped_datagrams)
{
	demo_skips(DEMO_IPFIX);
}
TEST(demo_sflow_skipped_datagrams)
{
	demo_skips(DEMO_SFLOW_V5);
}

/* ---- real captures (../shared/testdata/flows): pairs taken one after the
 * other from one exporter ---- */

struct capture_seq {
	struct nd *d;
	uint64_t lost, out_of_order, resets;
};

static int capture_datagram(void *ctx, const struct pcap_udp_datagram *dg)
{
	struct capture_seq *c = ctx;
	struct decode_input in = {.data = dg->payload, .len = dg->len, .exporter = dg->src};

	c->d->out = (struct decode_output){.flows = c->d->flows, .cap = NB_N(c->d->flows)};
	decode_datagram(c->d->st, &in, &c->d->out, &c->d->r);
	decode_sequence_track(c->d->st, &c->d->r);
	c->lost += c->d->r.seq.lost;
	c->out_of_order += c->d->r.seq.out_of_order;
	c->resets += c->d->r.seq.reset;
	return 0;
}

/* Feeds the captures in order to one state; returns the sums. */
static struct capture_seq capture_run(const char *const *files, size_t n)
{
	static char paths[8][4096];
	struct capture_seq c = {0};
	struct nd d;

	REQUIRE(n <= 8);
	for (size_t i = 0; i < n; i++)
		snprintf(paths[i], sizeof(paths[i]), "%s", test_shared_file_or_skip(files[i]));
	nd_init(&d);
	c.d = &d;
	for (size_t i = 0; i < n; i++)
		REQUIRE(pcap_udp_walk(paths[i], capture_datagram, &c, NULL, NULL) == 1);
	nd_fini(&d);
	c.d = NULL;
	return c;
}

TEST(captures_in_sequence_have_no_gap)
{
	static const char *const v9_icmp[] = {"flows/netflow-v9-icmp-1-template.pcap",
					      "flows/netflow-v9-icmp-2-data.pcap"};
	/* IPFIX: the template message carries no data record, so the data
	 * message has the same sequence number (RFC 7011 3.1). */
	static const char *const ipfix_juniper[] = {"flows/ipfix-juniper-cpid-drop-1-template.pcap",
						    "flows/ipfix-juniper-cpid-drop-2-data.pcap"};
	static const char *const ipfix_biflow[] = {
	    "flows/ipfix-rfc5103-biflow-ipfixprobe-1-templates.pcap",
	    "flows/ipfix-rfc5103-biflow-ipfixprobe-2-data.pcap"};
	struct capture_seq c;

	c = capture_run(v9_icmp, NB_N(v9_icmp));
	CHECK_EQ(c.lost + c.out_of_order + c.resets, 0);
	c = capture_run(ipfix_juniper, NB_N(ipfix_juniper));
	CHECK_EQ(c.lost + c.out_of_order + c.resets, 0);
	c = capture_run(ipfix_biflow, NB_N(ipfix_biflow));
	CHECK_EQ(c.lost + c.out_of_order + c.resets, 0);
}

TEST(capture_v9_basic_gaps_are_what_the_numbers_say)
{
	/* Sequence numbers 44796855, 44796856, 44796985, 44797001: the last
	 * two came 128 and 15 export packets after their predecessors. */
	static const char *const files[] = {
	    "flows/netflow-v9-basic-1-options-template.pcap",
	    "flows/netflow-v9-basic-2-options-data-samplingrate.pcap",
	    "flows/netflow-v9-basic-3-template.pcap", "flows/netflow-v9-basic-4-data.pcap"};
	struct capture_seq c = capture_run(files, NB_N(files));

	CHECK_EQ(c.lost, 128 + 15);
	CHECK_EQ(c.out_of_order, 0);
	CHECK_EQ(c.resets, 0);
}
