// SPDX-License-Identifier: AGPL-3.0-or-later
/* The outlet without ClickHouse: the `outlet:` section binds, datagrams are
 * decoded and counted per exporter and reason (sFlow records weir has no use
 * for apart, per worker), datagrams ahead of their template wait for it, a
 * flush that is told to give up commits nothing, and nothing is sent before
 * the store is ready. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/be.h"
#include "demo/demo.h"
#include "enrich/enrich.h"
#include "outlet/outlet.h"
#include "store/store.h"
#include "test.h"

#include "../decode/nf_build.h"
#include "outlet_rig.h"

TEST(outlet_section_binds_and_maps_to_the_decoders)
{
	struct config_error err;
	struct config_doc *doc = config_doc_load_string(
	    "t.yaml",
	    "workers: 3\nbatch: 64\nuse-export-time: true\n"
	    "decoder:\n  max-exporters: 50\n  max-bytes-per-exporter: 1MiB\n  decap: vxlan\n",
	    &err);
	struct outlet_config cfg;
	struct decode_config dc;

	REQUIRE(doc);
	outlet_config_defaults(&cfg);
	CHECK_EQ(cfg.workers, 2);
	REQUIRE_EQ(config_bind(doc->root, outlet_config_fields, &cfg, "outlet", "t.yaml", &err), 0);
	outlet_config_decode(&cfg, &dc);
	CHECK_EQ(cfg.workers, 3);
	CHECK_EQ(cfg.batch, 64);
	CHECK_EQ(dc.use_export_time, 1);
	CHECK_EQ(dc.max_exporters, 50);
	CHECK_EQ(dc.max_bytes_per_exporter, 1 << 20);
	CHECK_EQ(dc.max_templates_per_exporter, 1024);
	CHECK_EQ(dc.decap, DECODE_DECAP_VXLAN);
	config_free_bound(outlet_config_fields, &cfg);
	config_doc_free(doc);

	doc = config_doc_load_string("t.yaml", "decoder:\n  decap: mpls\n", &err);
	REQUIRE(doc);
	CHECK(config_bind(doc->root, outlet_config_fields, &cfg, "outlet", "t.yaml", &err) < 0);
	CHECK(strstr(err.text, "outlet.decoder.decap") != NULL);
	config_doc_free(doc);
	doc = config_doc_load_string("t.yaml", "workers: 0\n", &err);
	REQUIRE(doc);
	CHECK(config_bind(doc->root, outlet_config_fields, &cfg, "outlet", "t.yaml", &err) < 0);
	config_doc_free(doc);

	/* The state's bounds and idle times. */
	outlet_config_defaults(&cfg);
	outlet_config_decode(&cfg, &dc);
	CHECK_EQ(dc.template_idle_s, 3600);
	CHECK_EQ(dc.exporter_idle_s, 7200);
	CHECK_EQ(dc.max_bytes_total, 256 << 20);
	doc = config_doc_load_string(
	    "t.yaml",
	    "decoder:\n  max-bytes-total: 64MiB\n"
	    "  template-idle-timeout: 90500ms\n  exporter-idle-timeout: 0s\n",
	    &err);
	REQUIRE(doc);
	REQUIRE_EQ(config_bind(doc->root, outlet_config_fields, &cfg, "outlet", "t.yaml", &err), 0);
	outlet_config_decode(&cfg, &dc);
	CHECK_EQ(dc.max_bytes_total, 64 << 20);
	CHECK_EQ(dc.template_idle_s, 91); /* rounded up */
	CHECK_EQ(dc.exporter_idle_s, 0);
	config_doc_free(doc);
	doc = config_doc_load_string("t.yaml", "decoder:\n  max-bytes-total: 1KiB\n", &err);
	REQUIRE(doc);
	CHECK(config_bind(doc->root, outlet_config_fields, &cfg, "outlet", "t.yaml", &err) < 0);
	CHECK(strstr(err.text, "outlet.decoder.max-bytes-total") != NULL);
	config_doc_free(doc);
	doc = config_doc_load_string("t.yaml", "decoder:\n  template-idle-timeout: 31d\n", &err);
	REQUIRE(doc);
	CHECK(config_bind(doc->root, outlet_config_fields, &cfg, "outlet", "t.yaml", &err) < 0);
	CHECK(strstr(err.text, "outlet.decoder.template-idle-timeout") != NULL);
	config_doc_free(doc);
}

/* An sFlow v5 datagram from agent 192.0.2.3: one compact flow sample
 * (sFlow v5 5.4) of two extended URL records (format 1005), which weir skips.
 * Returns its length. */
static size_t sflow_unused_records(uint8_t *d)
{
	uint8_t *p = d;

	p = be32_put(p, 5);	     /* version */
	p = be32_put(p, 1);	     /* agent address: IPv4 */
	p = be32_put(p, 0xc0000203); /* 192.0.2.3 */
	p = be32_put(p, 0);	     /* sub-agent */
	p = be32_put(p, 1);	     /* sequence */
	p = be32_put(p, 1000);	     /* uptime */
	p = be32_put(p, 1);	     /* samples */
	p = be32_put(p, 1);	     /* flow sample */
	p = be32_put(p, 32 + 2 * 16);
	p = be32_put(p, 1);   /* sequence */
	p = be32_put(p, 1);   /* source id */
	p = be32_put(p, 512); /* sampling rate */
	p = be32_put(p, 512); /* sample pool */
	p = be32_put(p, 0);   /* drops */
	p = be32_put(p, 1);   /* input */
	p = be32_put(p, 2);   /* output */
	p = be32_put(p, 2);   /* records */
	for (int i = 0; i < 2; i++) {
		p = be32_put(p, 1005);
		p = be32_put(p, 8);
		p = be64_put(p, 0);
	}
	return (size_t)(p - d);
}

/* n IPv4 flows of 100 bytes, 1 packet, from first_src upwards, to
 * 10.0.1.1, in on ifIndex in_if. */
static void ipv4_flows(struct flow *f, int n, uint32_t first_src, uint32_t in_if)
{
	for (int i = 0; i < n; i++) {
		flow_reset(&f[i]);
		f[i].time_received = 1700000000;
		f[i].etype = 0x0800;
		f[i].bytes = 100;
		f[i].packets = 1;
		f[i].in_if = in_if;
		addr_from_ipv4(&f[i].src_addr, first_src + (uint32_t)i);
		addr_from_ipv4(&f[i].dst_addr, 0x0a000101u);
	}
}

/* One datagram of `format` holding the n flows, into buf (1500 bytes). */
static size_t encode(enum demo_format format, struct flow *f, int n, uint8_t *buf)
{
	struct demo_encoder_config ec = {.format = format, .sampling_rate = 100};
	struct demo_encoder *enc;
	size_t len = 0;

	REQUIRE_EQ(demo_encoder_new(&ec, &enc, NULL), 0);
	REQUIRE_EQ(demo_encoder_encode(enc, f, (size_t)n, buf, 1500, &len), n);
	demo_encoder_free(enc);
	return len;
}

TEST(outlet_decodes_counts_and_commits_nothing_without_clickhouse)
{
	struct rig r;
	struct outlet_totals t;
	struct flow flows[5];
	uint8_t buf[1500], junk[40] = {0, 99};

	rig_start(&r);
	/* A datagram of no known version from one exporter... */
	rig_send(&r, 0xc0000201, junk, sizeof(junk));
	/* ...and five IPFIX flows from another. */
	ipv4_flows(flows, 5, 0x0a000001u, 0);
	rig_send(&r, 0xc0000202, buf, encode(DEMO_IPFIX, flows, 5, buf));
	/* ...and an sFlow sample whose two records weir has no use for. */
	rig_send(&r, 0xc0000203, buf, sflow_unused_records(buf));

	t = rig_wait(&r, 3, -1);
	CHECK_EQ(t.flows_decoded, 6);
	CHECK_EQ(t.decode_errors, 1);
	CHECK(test_metrics_has(
	    r.reg, "weir_decode_events_total{exporter=\"192.0.2.1\",reason=\"bad_version\"} 1\n"));
	CHECK(
	    test_metrics_has(r.reg, "weir_outlet_flows_decoded_total{exporter=\"192.0.2.2\"} 5\n"));
	CHECK(test_metrics_has(r.reg, "weir_outlet_datagrams_total{exporter=\"192.0.2.1\"} 1\n"));
	/* Skipped records: their own counter, not a decoder event. */
	CHECK(test_metrics_has(r.reg, "weir_outlet_skipped_records_total{worker=\"0\"} 2\n"));
	CHECK(
	    test_metrics_has(r.reg, "weir_outlet_flows_decoded_total{exporter=\"192.0.2.3\"} 1\n"));
	CHECK(!test_metrics_has(r.reg, "weir_decode_events_total{exporter=\"192.0.2.3\""));

	/* ClickHouse never answers: stopping without drain gives up the flush. */
	outlet_abort(r.o);
	outlet_stop(r.o, 0);
	outlet_totals(r.o, &t);
	CHECK_EQ(t.flows_stored, 0);
	CHECK(test_metrics_has(r.reg, "weir_outlet_flush_errors_total{worker=\"0\"} 1\n"));
	CHECK(
	    test_metrics_has(r.reg, "weir_outlet_flows_stored_total{exporter=\"192.0.2.2\"} 0\n"));
	rig_stop(&r);
}

TEST(datagrams_ahead_of_their_template_wait_for_it)
{
	struct demo_encoder_config ec = {.format = DEMO_NETFLOW_V9, .sampling_rate = 10};
	struct demo_encoder *enc;
	static uint8_t dgram[3][1500];
	size_t len[3];
	struct flow flows[5];
	struct rig r;
	struct outlet_totals t;

	REQUIRE_EQ(demo_encoder_new(&ec, &enc, NULL), 0);
	for (int d = 0; d < 3; d++) {
		ipv4_flows(flows, 5, 0x0a000001u + (uint32_t)(d * 5), 0);
		/* Only the first datagram carries the templates. */
		REQUIRE_EQ(demo_encoder_encode(enc, flows, 5, dgram[d], 1500, &len[d]), 5);
	}
	demo_encoder_free(enc);
	rig_start(&r);
	for (int k = 0; k < 3; k++) {
		int d = (k + 1) % 3; /* 1, 2, then 0 with the templates */

		rig_send(&r, 0xc0000203, dgram[d], len[d]);
	}
	t = rig_wait(&r, 3, 15);
	CHECK_EQ(t.flows_decoded, 15);
	CHECK(test_metrics_has(r.reg, "weir_outlet_parked_total{worker=\"0\"} 2\n"));
	CHECK(test_metrics_has(r.reg, "weir_outlet_unparked_total{worker=\"0\"} 2\n"));
	CHECK(test_metrics_has(r.reg, "weir_outlet_parked_decodes_total{worker=\"0\"} 2\n"));
	CHECK(!test_metrics_has(r.reg, "weir_outlet_park_dropped_total{"));
	rig_stop(&r);
}

/* An IPFIX datagram from observation domain 1: an options template (scope
 * ingressInterface, interfaceName, interfaceDescription) and one record
 * naming ifIndex 7. Returns its length. */
static size_t ipfix_interface_options(uint8_t *d)
{
	uint8_t *p = d + 16, *set;

	set = p;
	p = be16_put(be16_put(p, 3), 0);		/* options template set */
	p = be16_put(be16_put(be16_put(p, 300), 3), 1); /* id, fields, scope */
	p = be16_put(be16_put(p, 10), 4);		/* ingressInterface */
	p = be16_put(be16_put(be16_put(be16_put(p, 82), 0xffff), 83), 0xffff);
	be16_put(set + 2, (uint16_t)(p - set));
	set = p;
	p = be16_put(be16_put(p, 300), 0);
	p = be32_put(p, 7);
	*p++ = 8;
	memcpy(p, "et-0/0/7", 8), p += 8;
	*p++ = 13;
	memcpy(p, "Transit: Acme", 13), p += 13;
	be16_put(set + 2, (uint16_t)(p - set));
	be32_put(be32_put(be32_put(be16_put(be16_put(d, 10), (uint16_t)(p - d)), 1700000000), 1),
		 1);
	return (size_t)(p - d);
}

/* With an enrich stage: each decoded flow goes through it, and interface
 * names sent in options data are learnt from the datagram's exporter. */
TEST(outlet_enriches_flows_and_learns_interfaces_from_options)
{
	struct enrich_config ecfg;
	struct enrich *e;
	struct enrich_worker *ew;
	struct enrich_stats st;
	struct rig r;
	struct outlet_totals t;
	struct flow flows[5], f;
	uint8_t buf[1500], opts[200];

	REQUIRE_EQ(enrich_config_defaults(&ecfg), 0);
	REQUIRE_EQ(enrich_new(&ecfg, NULL, &e, NULL), 0);
	REQUIRE_EQ(enrich_start(e, NULL), 0);
	rig_init(&r);
	rig_open(&r, e, 1);
	rig_send(&r, 0xc0000202, opts, ipfix_interface_options(opts));
	ipv4_flows(flows, 5, 0x0a000001u, 7);
	rig_send(&r, 0xc0000202, buf, encode(DEMO_IPFIX, flows, 5, buf));
	t = rig_wait(&r, 2, -1);
	CHECK_EQ(t.flows_decoded, 5);
	enrich_get_stats(e, &st);
	CHECK_EQ(st.flows, 5);

	/* What the options said is known for 192.0.2.2's ifIndex 7. */
	REQUIRE_EQ(enrich_wait_idle(e, 5000), 0);
	REQUIRE_EQ(enrich_worker_new(e, &ew, NULL), 0);
	flow_reset(&f);
	addr_from_ipv4(&f.exporter_address, 0xc0000202);
	f.in_if = 7;
	CHECK_EQ(enrich_flow(ew, &f), ENRICH_KEEP);
	const char *name = strtab_get(enrich_strings(e), f.enriched.in_if.name, NULL);
	const char *desc = strtab_get(enrich_strings(e), f.enriched.in_if.description, NULL);
	CHECK(name && !strcmp(name, "et-0/0/7"));
	CHECK(desc && !strcmp(desc, "Transit: Acme"));
	enrich_worker_free(ew);

	rig_stop(&r);
	enrich_free(e);
	enrich_config_free(&ecfg);
}

/* A template storm: datagrams parked for 40 different templates, then the
 * templates one datagram at a time among others nobody waits for, then all
 * of them again. Each parked datagram is decoded again exactly once, when
 * its own template comes; a datagram too large to park is dropped and
 * counted under its exporter. */
TEST(template_storm_decodes_each_parked_datagram_once)
{
	enum { N = 40 };
	static const struct nb_field ports[] = {{7, 2}, {11, 2}};
	static struct nb b;
	struct rig r;
	struct outlet_totals t;
	uint64_t sent = 0;
	char line[128];

	rig_start(&r);
	/* Too large to park: 3000 bytes of an unknown template. */
	nb_v9_header(&b, 1000000, 1700000000, 0);
	nb_set_begin(&b, 999);
	nb_zero(&b, 3000);
	nb_set_end(&b);
	rig_send(&r, 0xc0000209, b.b, b.n);
	sent++;
	for (int i = 0; i < N; i++) {
		nb_v9_header(&b, 1000000, 1700000000, 0);
		nb_set_begin(&b, (uint16_t)(256 + i));
		nb_u16(&b, 1234), nb_u16(&b, (uint16_t)i);
		nb_set_end(&b);
		rig_send(&r, 0xc0000209, b.b, b.n);
		sent++;
	}
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < N; i++) {
			nb_v9_header(&b, 1000000, 1700000000, 0);
			nb_set_begin(&b, 0);
			for (int k = 0; k < 10; k++) /* templates nobody waits for */
				nb_template(&b, (uint16_t)(1000 + i * 10 + k), ports, 2);
			nb_template(&b, (uint16_t)(256 + i), ports, 2);
			nb_set_end(&b);
			rig_send(&r, 0xc0000209, b.b, b.n);
			sent++;
		}
	t = rig_wait(&r, sent, -1);
	CHECK_EQ(t.flows_decoded, N);
	snprintf(line, sizeof(line), "weir_outlet_parked_total{worker=\"0\"} %d\n", N);
	CHECK(test_metrics_has(r.reg, line));
	snprintf(line, sizeof(line), "weir_outlet_unparked_total{worker=\"0\"} %d\n", N);
	CHECK(test_metrics_has(r.reg, line));
	snprintf(line, sizeof(line), "weir_outlet_parked_decodes_total{worker=\"0\"} %d\n", N);
	CHECK(test_metrics_has(r.reg, line));
	CHECK(test_metrics_has(r.reg, "weir_outlet_park_dropped_total{exporter=\"192.0.2.9\","
				      "reason=\"too_large\"} 1\n"));
	/* More datagrams waiting than the worker parks: the oldest go. */
	nb_v9_header(&b, 1000000, 1700000000, 0);
	nb_set_begin(&b, 999);
	nb_u16(&b, 1), nb_u16(&b, 2);
	nb_set_end(&b);
	for (int i = 0; i < 4096 + 3; i++) {
		rig_send(&r, 0xc000020a, b.b, b.n);
		sent++;
	}
	rig_wait(&r, sent, -1);
	CHECK(test_metrics_has(r.reg, "weir_outlet_park_dropped_total{exporter=\"192.0.2.10\","
				      "reason=\"full\"} 3\n"));
	CHECK(test_metrics_has(r.reg, "weir_decode_state_templates{worker=\"0\"} 440\n"));
	rig_stop(&r);
}

/* Before the schema is ready (outlet_set_store_ready(o, 0)), a worker whose
 * batch is due sends nothing and keeps what it polled; it gives up only when
 * told to, as a flush waiting for ClickHouse does. */
TEST(nothing_is_sent_before_the_store_is_ready)
{
	struct rig r;
	struct outlet_totals t;
	struct flow flows[3];
	uint8_t buf[1500];

	rig_init(&r);
	r.sc.batch_interval_ms = 20;
	rig_open(&r, NULL, 0);
	ipv4_flows(flows, 3, 0x0a000001u, 0);
	rig_send(&r, 0xc0000204, buf, encode(DEMO_NETFLOW_V5, flows, 3, buf));
	t = rig_wait(&r, 1, 3);
	CHECK_EQ(t.flows_decoded, 3);
	/* Many batch intervals (and retry-max) later: no insert was tried. */
	usleep(300000);
	CHECK(test_metrics_has(r.reg, "weir_store_insert_errors_total 0\n"));
	CHECK(test_metrics_has(r.reg, "weir_store_pending_rows 3\n"));

	/* A drain waits for the store too; giving up ends it, nothing stored. */
	bus_ring_shards_close(r.p);
	outlet_abort(r.o);
	outlet_stop(r.o, 1);
	outlet_totals(r.o, &t);
	CHECK_EQ(t.flows_stored, 0);
	CHECK(test_metrics_has(r.reg, "weir_store_insert_errors_total 0\n"));
	outlet_free(r.o);
	r.o = NULL;
	rig_stop(&r);
}
