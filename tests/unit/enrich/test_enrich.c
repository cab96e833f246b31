// SPDX-License-Identifier: AGPL-3.0-or-later
/* The enrichment stage end to end (no SNMP): static provider, flow options,
 * classifiers, Reject and drop-unknown, sampling rates, asn-providers and
 * net-providers, the cache file across a restart, GeoIP reload. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/metrics.h"
#include "enrich/enrich.h"
#include "mmdb_gen.h"
#include "test.h"

struct setup {
	struct config_doc *doc;
	struct enrich *e;
	struct enrich_worker *w;
};

static int setup_try(struct setup *s, const char *yaml, struct error *err)
{
	struct config_error ce;
	struct enrich_config cfg;
	int r;

	memset(s, 0, sizeof(*s));
	s->doc = config_doc_load_string("test.yaml", yaml, &ce);
	if (!s->doc) {
		error_set(err, -EINVAL, "%s", ce.text);
		return -EINVAL;
	}
	REQUIRE(enrich_config_defaults(&cfg) == 0);
	r = config_bind(s->doc->root, enrich_config_fields, &cfg, "", "test.yaml", &ce);
	if (r < 0) {
		error_set(err, r, "%s", ce.text);
		enrich_config_free(&cfg);
		return r;
	}
	r = enrich_new(&cfg, NULL, &s->e, err);
	enrich_config_free(&cfg);
	return r;
}

static void setup(struct setup *s, const char *yaml)
{
	struct error err = {{0}};
	if (setup_try(s, yaml, &err) < 0) {
		test_fail_at(__FILE__, __LINE__, "enrich_new: %s", err.text);
		test_stop();
	}
	REQUIRE(enrich_start(s->e, &err) == 0);
	REQUIRE(enrich_worker_new(s->e, &s->w, &err) == 0);
}

static void teardown(struct setup *s)
{
	enrich_worker_free(s->w);
	enrich_free(s->e);
	config_doc_free(s->doc);
}

static struct flow mkflow(const char *exporter, uint32_t in_if, uint32_t out_if, const char *src,
			  const char *dst)
{
	struct flow f;
	memset(&f, 0, sizeof(f));
	addr_from_text(&f.exporter_address, exporter);
	addr_from_text(&f.src_addr, src);
	addr_from_text(&f.dst_addr, dst);
	f.in_if = in_if;
	f.out_if = out_if;
	f.sampling_rate = 100;
	return f;
}

static const char *S(struct setup *s, uint32_t id)
{
	return strtab_get(enrich_strings(s->e), id, NULL);
}

/* Enriches a copy of *f once (a miss), waits for the refresher, then again. */
static enum enrich_verdict enrich_twice(struct setup *s, struct flow *f)
{
	struct flow first = *f;
	enrich_flow(s->w, &first);
	REQUIRE(enrich_wait_idle(s->e, 5000) == 0);
	return enrich_flow(s->w, f);
}

static const char *static_yaml =
    "core:\n"
    "  interface-classifiers:\n"
    "    - 'ClassifyConnectivityRegex(Interface.Description, \"^(?i)(transit|pni|ppni|ix):? \", "
    "\"$1\") && ClassifyProviderRegex(Interface.Description, \"^[^ ]+? ([^ ]+)\", \"$1\") && "
    "ClassifyExternal()'\n"
    "    - ClassifyInternal()\n"
    "  exporter-classifiers:\n"
    "    - 'Exporter.Name endsWith \".it\" && ClassifyRegion(\"italy\")'\n"
    "    - 'ClassifySiteRegex(Exporter.Name, \"^([^-]+)-\", \"$1\")'\n"
    "    - 'Exporter.Name startsWith \"bad\" && Reject()'\n"
    "metadata:\n"
    "  providers:\n"
    "    - type: static\n"
    "      exporters:\n"
    "        192.0.2.0/24:\n"
    "          name: par1-edge1\n"
    "          if-indexes:\n"
    "            335: {name: et-0/0/1, description: 'Transit: Cogent 1-2345', speed: 100000}\n"
    "            10: {name: ae10, description: core to par2, speed: 400000}\n"
    "        192.0.2.9/32:\n"
    "          name: bad-router\n"
    "          default: {name: x, description: y, speed: 1}\n"
    "        198.51.100.1:\n"
    "          name: rtr1.mil.it\n"
    "          role: edge\n"
    "          default: {name: Gi0/0, description: uplink, speed: 1000, provider: acme, "
    "connectivity: transit, boundary: external}\n";

TEST(static_metadata_and_classifiers)
{
	struct setup s;
	struct enrich_stats st;
	setup(&s, static_yaml);

	struct flow f = mkflow("192.0.2.1", 335, 10, "203.0.113.1", "198.51.100.7");
	/* First sight: a miss, kept with empty fields, counted. */
	struct flow first = f;
	CHECK_EQ(enrich_flow(s.w, &first), ENRICH_KEEP);
	CHECK_EQ(first.enriched.exporter.name, 0);
	REQUIRE(enrich_wait_idle(s.e, 5000) == 0);
	CHECK_EQ(enrich_flow(s.w, &f), ENRICH_KEEP);
	CHECK_STR(S(&s, f.enriched.exporter.name), "par1-edge1");
	CHECK_STR(S(&s, f.enriched.exporter.site), "par1");
	CHECK_STR(S(&s, f.enriched.exporter.region), "");
	CHECK_STR(S(&s, f.enriched.in_if.name), "et-0/0/1");
	CHECK_STR(S(&s, f.enriched.in_if.description), "Transit: Cogent 1-2345");
	CHECK_EQ(f.enriched.in_if.speed, 100000);
	CHECK_STR(S(&s, f.enriched.in_if.connectivity), "transit");
	CHECK_STR(S(&s, f.enriched.in_if.provider), "cogent");
	CHECK_EQ(f.enriched.in_if.boundary, FLOW_BOUNDARY_EXTERNAL);
	CHECK_STR(S(&s, f.enriched.out_if.name), "ae10");
	CHECK_EQ(f.enriched.out_if.boundary, FLOW_BOUNDARY_INTERNAL);
	CHECK_EQ(f.sampling_rate, 100);

	/* Classification from the static provider: rules do not run. */
	struct flow g = mkflow("198.51.100.1", 7, 0, "203.0.113.1", "198.51.100.7");
	CHECK_EQ(enrich_twice(&s, &g), ENRICH_KEEP);
	CHECK_STR(S(&s, g.enriched.exporter.name), "rtr1.mil.it");
	CHECK_STR(S(&s, g.enriched.exporter.role), "edge");
	CHECK_STR(S(&s, g.enriched.exporter.region), ""); /* rules skipped */
	CHECK_STR(S(&s, g.enriched.in_if.name), "Gi0/0");
	CHECK_STR(S(&s, g.enriched.in_if.provider), "acme");
	CHECK_EQ(g.enriched.in_if.boundary, FLOW_BOUNDARY_EXTERNAL);

	/* Reject() drops, counted. */
	struct flow h = mkflow("192.0.2.9", 1, 0, "203.0.113.1", "198.51.100.7");
	CHECK_EQ(enrich_twice(&s, &h), ENRICH_DROP);

	/* Unknown exporter: kept with empty fields, counted. */
	struct flow u = mkflow("203.0.113.250", 1, 2, "203.0.113.1", "198.51.100.7");
	CHECK_EQ(enrich_twice(&s, &u), ENRICH_KEEP);
	CHECK_EQ(u.enriched.exporter.name, 0);
	enrich_get_stats(s.e, &st);
	CHECK_EQ(st.rejected, 1);
	CHECK(st.unknown_kept >= 2);
	CHECK(st.metadata_misses >= 4);
	CHECK_EQ(st.flows, 8);

	/* enrich_flows compacts the kept ones. */
	struct flow batch[3] = {f, h, g};
	CHECK_EQ(enrich_flows(s.w, batch, 3), 2);
	CHECK_EQ(batch[1].enriched.exporter.name, g.enriched.exporter.name);
	teardown(&s);
}

/* Static metadata is in memory: an exporter it names is named from its very
 * first flow, before the refresher ever ran for it (no wait between). */
TEST(static_answers_the_first_flow)
{
	struct setup s;
	struct enrich_stats st;
	setup(&s, "metadata:\n"
		  "  providers:\n"
		  "    - type: static\n"
		  "      exporters:\n"
		  "        192.0.2.0/24:\n"
		  "          name: fra1-edge2\n"
		  "          site: fra1\n"
		  "          if-indexes:\n"
		  "            1: {name: et-0/0/0, description: 'Transit: Arelion', speed: 100000, "
		  "provider: arelion, connectivity: transit, boundary: external}\n"
		  "          default: {name: other, description: an interface, speed: 10, "
		  "boundary: internal}\n");
	struct flow f = mkflow("192.0.2.14", 1, 7, "203.0.113.1", "198.51.100.7");
	CHECK_EQ(enrich_flow(s.w, &f), ENRICH_KEEP);
	CHECK_STR(S(&s, f.enriched.exporter.name), "fra1-edge2");
	CHECK_STR(S(&s, f.enriched.exporter.site), "fra1");
	CHECK_STR(S(&s, f.enriched.in_if.name), "et-0/0/0");
	CHECK_STR(S(&s, f.enriched.in_if.description), "Transit: Arelion");
	CHECK_EQ(f.enriched.in_if.speed, 100000);
	CHECK_STR(S(&s, f.enriched.in_if.provider), "arelion");
	CHECK_STR(S(&s, f.enriched.in_if.connectivity), "transit");
	CHECK_EQ(f.enriched.in_if.boundary, FLOW_BOUNDARY_EXTERNAL);
	CHECK_STR(S(&s, f.enriched.out_if.name), "other");
	CHECK_EQ(f.enriched.out_if.boundary, FLOW_BOUNDARY_INTERNAL);
	/* The batch path too, on another address of the subnet. */
	struct flow b[2] = {mkflow("192.0.2.15", 1, 0, "203.0.113.1", "198.51.100.7"),
			    mkflow("192.0.2.16", 0, 0, "203.0.113.1", "198.51.100.7")};
	CHECK_EQ(enrich_flows(s.w, b, 2), 2);
	CHECK_STR(S(&s, b[0].enriched.in_if.name), "et-0/0/0");
	CHECK_STR(S(&s, b[1].enriched.exporter.name), "fra1-edge2");
	enrich_get_stats(s.e, &st);
	CHECK_EQ(st.metadata_misses, 0); /* answered: not misses */
	CHECK_EQ(st.unknown_kept, 0);
	CHECK_EQ(st.static_inline, 3);
	/* The keys were still queued: the table answers from now on. */
	REQUIRE(enrich_wait_idle(s.e, 5000) == 0);
	struct flow g = mkflow("192.0.2.14", 1, 7, "203.0.113.1", "198.51.100.7");
	CHECK_EQ(enrich_flow(s.w, &g), ENRICH_KEEP);
	CHECK_STR(S(&s, g.enriched.in_if.name), "et-0/0/0");
	enrich_get_stats(s.e, &st);
	CHECK_EQ(st.static_inline, 3);
	teardown(&s);
}

/* Classifier rules run in the refresher only: an exporter configured by its
 * address has its listed interfaces resolved and classified at the start
 * (the demo's sFlow router), Reject() included. */
TEST(static_hosts_resolved_at_start)
{
	struct setup s;
	struct enrich_stats st;
	setup(&s,
	      "core:\n"
	      "  exporter-classifiers:\n"
	      "    - 'ClassifySiteRegex(Exporter.Name, \"^([^-]+)-\", \"$1\")'\n"
	      "    - 'Exporter.Name startsWith \"bad\" && Reject()'\n"
	      "  interface-classifiers:\n"
	      "    - 'ClassifyConnectivityRegex(Interface.Description, \"^(?i)(transit|pni|ix):? "
	      "\", \"$1\") && ClassifyExternal()'\n"
	      "    - ClassifyInternal()\n"
	      "metadata:\n"
	      "  providers:\n"
	      "    - type: static\n"
	      "      exporters:\n"
	      "        127.0.0.14/32:\n"
	      "          name: fra1-edge2\n"
	      "          if-indexes:\n"
	      "            1: {name: et-0/0/0, description: 'Transit: Arelion', speed: 100000}\n"
	      "            10: {name: ae10, description: 'Core: fra1-core1', speed: 400000}\n"
	      "        127.0.0.15: {name: bad-router}\n"
	      "        127.0.1.0/24:\n"
	      "          name: par1-edge9\n"
	      "          if-indexes:\n"
	      "            1: {name: et-0/0/0, description: 'Transit: Arelion', speed: 100000}\n");
	struct flow f = mkflow("127.0.0.14", 1, 10, "203.0.113.1", "198.51.100.7");
	CHECK_EQ(enrich_flow(s.w, &f), ENRICH_KEEP);
	CHECK_STR(S(&s, f.enriched.exporter.name), "fra1-edge2");
	CHECK_STR(S(&s, f.enriched.exporter.site), "fra1");
	CHECK_STR(S(&s, f.enriched.in_if.name), "et-0/0/0");
	CHECK_EQ(f.enriched.in_if.speed, 100000);
	CHECK_STR(S(&s, f.enriched.in_if.connectivity), "transit");
	CHECK_EQ(f.enriched.in_if.boundary, FLOW_BOUNDARY_EXTERNAL);
	CHECK_STR(S(&s, f.enriched.out_if.name), "ae10");
	CHECK_EQ(f.enriched.out_if.boundary, FLOW_BOUNDARY_INTERNAL);
	struct flow r = mkflow("127.0.0.15", 0, 0, "203.0.113.1", "198.51.100.7");
	CHECK_EQ(enrich_flow(s.w, &r), ENRICH_DROP);
	/* A subnet cannot be listed ahead: rules are left to run, so the
	 * flow waits for the refresher as before (kept, counted). */
	struct flow u = mkflow("127.0.1.1", 1, 0, "203.0.113.1", "198.51.100.7");
	CHECK_EQ(enrich_flow(s.w, &u), ENRICH_KEEP);
	CHECK_EQ(u.enriched.exporter.name, 0);
	enrich_get_stats(s.e, &st);
	CHECK_EQ(st.rejected, 1);
	CHECK_EQ(st.metadata_misses, 1);
	CHECK_EQ(st.unknown_kept, 1);
	CHECK_EQ(st.static_inline, 0);
	teardown(&s);
}

/* With SNMP first, static only fills what SNMP lacks: of a first flow, only
 * what SNMP never answers (classification) comes at once; it is a miss. */
TEST(snmp_before_static_keeps_the_miss)
{
	struct setup s;
	struct enrich_stats st;
	setup(&s, "metadata:\n"
		  "  providers:\n"
		  "    - type: snmp\n"
		  "      poller-timeout: 100ms\n"
		  "      poller-retries: 0\n"
		  "      credentials:\n"
		  "        127.0.0.0/8: public\n"
		  "    - type: static\n"
		  "      exporters:\n"
		  "        127.0.0.0/8:\n"
		  "          name: from-static\n"
		  "          role: edge\n"
		  "          default: {name: x, description: y, speed: 1, provider: acme}\n");
	struct flow f = mkflow("127.0.0.77", 3, 0, "203.0.113.1", "198.51.100.7");
	CHECK_EQ(enrich_flow(s.w, &f), ENRICH_KEEP);
	CHECK_EQ(f.enriched.exporter.name, 0);
	CHECK_EQ(f.enriched.in_if.name, 0);
	CHECK_EQ(f.enriched.in_if.speed, 0);
	CHECK_STR(S(&s, f.enriched.exporter.role), "edge");
	CHECK_STR(S(&s, f.enriched.in_if.provider), "acme");
	enrich_get_stats(s.e, &st);
	CHECK_EQ(st.metadata_misses, 1);
	CHECK_EQ(st.unknown_kept, 1);
	teardown(&s);
}

TEST(drop_unknown_option)
{
	struct setup s;
	struct enrich_stats st;
	setup(&s, "core:\n  drop-unknown: true\n");
	struct flow u = mkflow("203.0.113.250", 1, 2, "203.0.113.1", "198.51.100.7");
	CHECK_EQ(enrich_twice(&s, &u), ENRICH_DROP);
	enrich_get_stats(s.e, &st);
	CHECK_EQ(st.unknown_dropped, 2);
	CHECK_EQ(st.unknown_kept, 0);
	teardown(&s);
}

TEST(skip_missing_interfaces_falls_through_and_fills)
{
	struct setup s;
	setup(&s, "metadata:\n"
		  "  providers:\n"
		  "    - type: static\n"
		  "      exporters:\n"
		  "        192.0.2.0/24:\n"
		  "          name: edge1\n"
		  "          site: par1\n"
		  "          skip-missing-interfaces: true\n"
		  "          if-indexes:\n"
		  "            1: {name: one, description: first, speed: 10}\n"
		  "    - type: static\n"
		  "      exporters:\n"
		  "        ::/0:\n"
		  "          name: other-name\n"
		  "          region: eu\n"
		  "          default: {name: dflt, description: the default, speed: 1000}\n");
	struct flow f = mkflow("192.0.2.1", 1, 2, "203.0.113.1", "198.51.100.7");
	CHECK_EQ(enrich_twice(&s, &f), ENRICH_KEEP);
	CHECK_STR(S(&s, f.enriched.exporter.name), "edge1"); /* first provider wins */
	CHECK_STR(S(&s, f.enriched.exporter.site), "par1");
	CHECK_STR(S(&s, f.enriched.exporter.region), "eu"); /* filled by the next one */
	CHECK_STR(S(&s, f.enriched.in_if.name), "one");
	CHECK_STR(S(&s, f.enriched.out_if.name), "dflt"); /* fell through */
	CHECK_EQ(f.enriched.out_if.speed, 1000);
	teardown(&s);
}

TEST(flow_options_provider)
{
	struct setup s;
	struct in6_addr exp;
	setup(&s, "core:\n  exporter-classifiers: ['ClassifyGroup(\"fromflows\")']\n");
	addr_from_text(&exp, "192.0.2.77");
	enrich_learn_interface(s.e, &exp, 5, "Gi0/5", "Peering: AS64500", 0);
	enrich_learn_interface(s.e, &exp, 5, NULL, NULL, 10000); /* sFlow ifSpeed later */
	REQUIRE(enrich_wait_idle(s.e, 5000) == 0);
	struct flow f = mkflow("192.0.2.77", 5, 0, "203.0.113.1", "198.51.100.7");
	CHECK_EQ(enrich_flow(s.w, &f), ENRICH_KEEP); /* no miss: learnt before */
	CHECK_STR(S(&s, f.enriched.in_if.name), "Gi0/5");
	CHECK_STR(S(&s, f.enriched.in_if.description), "Peering: AS64500");
	CHECK_EQ(f.enriched.in_if.speed, 10000);
	CHECK_STR(S(&s, f.enriched.exporter.group), "fromflows");
	CHECK_STR(S(&s, f.enriched.exporter.name), "192.0.2.77"); /* no sysName: its address */
	struct enrich_stats st;
	enrich_get_stats(s.e, &st);
	CHECK_EQ(st.unknown_kept, 0);
	CHECK_EQ(st.metadata_misses, 0);
	teardown(&s);
}

TEST(sampling_rates)
{
	struct setup s;
	struct enrich_stats st;
	setup(&s, "core:\n"
		  "  default-sampling-rate:\n"
		  "    192.0.2.0/24: 1000\n"
		  "    192.0.2.128/25: 2000\n"
		  "  override-sampling-rate:\n"
		  "    198.51.100.0/24: 500\n");
	struct flow a = mkflow("192.0.2.1", 0, 0, "203.0.113.1", "198.51.100.7");
	a.sampling_rate = 0;
	enrich_flow(s.w, &a);
	CHECK_EQ(a.sampling_rate, 1000);
	struct flow b = mkflow("192.0.2.200", 0, 0, "203.0.113.1", "198.51.100.7");
	b.sampling_rate = 0;
	enrich_flow(s.w, &b);
	CHECK_EQ(b.sampling_rate, 2000);
	struct flow c = mkflow("192.0.2.200", 0, 0, "203.0.113.1", "198.51.100.7");
	c.sampling_rate = 64; /* known: the default does not apply */
	enrich_flow(s.w, &c);
	CHECK_EQ(c.sampling_rate, 64);
	struct flow d = mkflow("198.51.100.3", 0, 0, "203.0.113.1", "198.51.100.7");
	d.sampling_rate = 64; /* overridden */
	enrich_flow(s.w, &d);
	CHECK_EQ(d.sampling_rate, 500);
	struct flow e = mkflow("203.0.113.3", 0, 0, "203.0.113.1", "198.51.100.7");
	e.sampling_rate = 0; /* unknown: 1, counted */
	enrich_flow(s.w, &e);
	CHECK_EQ(e.sampling_rate, 1);
	enrich_get_stats(s.e, &st);
	CHECK_EQ(st.sampling_unknown, 1);
	teardown(&s);

	setup(&s, "core:\n  default-sampling-rate: 4096\n");
	struct flow g = mkflow("2001:db8::1", 0, 0, "2001:db8::2", "2001:db8::3");
	g.sampling_rate = 0;
	enrich_flow(s.w, &g);
	CHECK_EQ(g.sampling_rate, 4096);
	teardown(&s);
}

static uint32_t src_as_with(const char *providers, uint32_t flow_as, uint8_t mask)
{
	struct setup s;
	char yaml[512];
	snprintf(yaml, sizeof(yaml),
		 "core:\n  asn-providers: %s\n"
		 "networks:\n  networks:\n    203.0.113.0/24: {name: n, asn: 64999}\n",
		 providers);
	setup(&s, yaml);
	struct flow f = mkflow("192.0.2.1", 0, 0, "203.0.113.1", "198.51.100.7");
	f.src_as = flow_as;
	f.src_net_mask = mask;
	enrich_flow(s.w, &f);
	teardown(&s);
	return f.src_as;
}

TEST(asn_providers)
{
	CHECK_EQ(src_as_with("[flow, routing, networks]", 15169, 24), 15169);
	CHECK_EQ(src_as_with("[flow, routing, networks]", 0, 24), 64999);
	CHECK_EQ(src_as_with("[networks, flow]", 15169, 24), 64999);
	CHECK_EQ(src_as_with("[flow-except-private, networks]", 65000, 24), 64999);
	CHECK_EQ(src_as_with("[flow-except-private, networks]", 23456, 24), 64999);
	CHECK_EQ(src_as_with("[flow-except-private, networks]", 4200000001u, 24), 64999);
	CHECK_EQ(src_as_with("[flow-except-private]", 15169, 24), 15169);
	CHECK_EQ(src_as_with("[flow-except-default-route, geo-ip]", 15169, 0), 64999);
	CHECK_EQ(src_as_with("[flow-except-default-route]", 15169, 8), 15169);
	CHECK_EQ(src_as_with("[bmp]", 15169, 8), 0); /* routing: nothing yet */
	CHECK_EQ(src_as_with("[]", 15169, 8), 0);
}

/* enrich_flows runs a batch as a pipeline (lookups ahead of each flow's
 * turn): the same flows, kept in the same order, as enrich_flow one by one,
 * for batches shorter and longer than the pipeline. */
TEST(batch_same_as_one_by_one)
{
	static const char *const exporters[] = {"192.0.2.1", "192.0.2.9", "198.51.100.1",
						"203.0.113.250"};
	static const uint32_t ifs[] = {335, 10, 7, 0, 335};
	static const char *const addrs[] = {"203.0.113.1", "203.0.113.200", "198.51.3.4",
					    "2001:db8::7", "192.0.2.77",    "10.1.2.3"};
	static const size_t sizes[] = {1, 5, 12, 13, 100};
	char yaml[4096];
	struct flow all[100], ref[100], batch[100];
	struct setup s;

	snprintf(yaml, sizeof(yaml),
		 "%snetworks:\n  networks:\n    203.0.113.0/24: customers\n"
		 "    203.0.113.128/25: {name: half, asn: 64500}\n    198.51.0.0/16: big\n"
		 "    2001:db8::/32: v6\n",
		 static_yaml);
	setup(&s, yaml);
	for (size_t i = 0; i < 100; i++) {
		all[i] = mkflow(exporters[i % 4], ifs[i % 5], ifs[(i / 3) % 5], addrs[i % 6],
				addrs[(i / 2) % 6]);
		ref[i] = all[i];
		enrich_flow(s.w, &ref[i]); /* every exporter and interface asked */
	}
	REQUIRE(enrich_wait_idle(s.e, 5000) == 0);
	for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
		size_t n = sizes[z], kept = 0;

		for (size_t i = 0; i < n; i++) {
			struct flow f = all[i];

			if (enrich_flow(s.w, &f) == ENRICH_KEEP)
				ref[kept++] = f;
			batch[i] = all[i];
		}
		CHECK_EQ(enrich_flows(s.w, batch, n), kept);
		for (size_t i = 0; i < kept; i++)
			CHECK(memcmp(&batch[i], &ref[i], sizeof(ref[i])) == 0);
	}
	/* The batch saw what one by one saw: names, networks, ASNs. */
	CHECK_STR(S(&s, batch[0].enriched.exporter.name), "par1-edge1");
	CHECK_STR(S(&s, batch[0].enriched.src_net.name), "customers");
	CHECK_STR(S(&s, batch[1].enriched.src_net.name), "big"); /* batch[1] rejected */
	{
		size_t halves = 0;

		for (size_t i = 0; i < 100; i++)
			if (batch[i].src_as == 64500 &&
			    !strcmp(S(&s, batch[i].enriched.src_net.name), "half"))
				halves++;
		CHECK(halves > 0);
	}
	teardown(&s);
}

TEST(net_providers_and_networks)
{
	struct setup s;
	setup(&s, "core:\n  net-providers: [routing]\n"
		  "networks:\n  networks:\n    203.0.113.0/24: customers\n"
		  "    2001:db8::/32: {name: v6, role: servers, country: FR}\n");
	struct flow f = mkflow("192.0.2.1", 0, 0, "203.0.113.1", "2001:db8::7");
	f.src_net_mask = 24;
	addr_from_text(&f.next_hop, "192.0.2.254");
	enrich_flow(s.w, &f);
	CHECK_EQ(f.src_net_mask, 0);
	CHECK(addr_is_zero(&f.next_hop));
	CHECK_STR(S(&s, f.enriched.src_net.name), "customers");
	CHECK_STR(S(&s, f.enriched.dst_net.name), "v6");
	CHECK_STR(S(&s, f.enriched.dst_net.role), "servers");
	CHECK_MEM(f.enriched.dst_net.country, "FR", 2);
	teardown(&s);
}

TEST(vlan_rules_classify_per_vlan)
{
	struct setup s;
	setup(&s, "core:\n  interface-classifiers:\n"
		  "    - 'Interface.VLAN == 100 && ClassifyProvider(\"cust-a\")'\n"
		  "    - 'ClassifyProvider(Format(\"vlan%d\", Interface.VLAN))'\n"
		  "metadata:\n  providers:\n    - type: static\n      exporters:\n"
		  "        ::/0: {name: e, default: {name: i, description: d, speed: 1}}\n");
	struct flow a = mkflow("192.0.2.1", 3, 0, "203.0.113.1", "198.51.100.7");
	a.src_vlan = 100;
	struct flow b = a;
	b.src_vlan = 200;
	CHECK_EQ(enrich_twice(&s, &a), ENRICH_KEEP);
	CHECK_EQ(enrich_twice(&s, &b), ENRICH_KEEP);
	CHECK_STR(S(&s, a.enriched.in_if.provider), "cust-a");
	CHECK_STR(S(&s, b.enriched.in_if.provider), "vlan200");
	teardown(&s);
}

TEST(cache_file_survives_restart)
{
	char dir[] = "/tmp/weir-enrich-XXXXXX", yaml[1024], path[300];
	struct setup s;
	struct in6_addr exp;
	REQUIRE(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/cache", dir);
	snprintf(yaml, sizeof(yaml),
		 "metadata:\n  cache-persist-file: %s\n  providers:\n    - type: static\n"
		 "      exporters:\n        192.0.2.0/24: {name: edge, if-indexes: {1: {name: "
		 "one, description: \"tab\\there\", speed: 10}}}\n",
		 path);
	setup(&s, yaml);
	addr_from_text(&exp, "198.51.100.1");
	enrich_learn_interface(s.e, &exp, 9, "learnt9", "from options", 100);
	struct flow f = mkflow("192.0.2.1", 1, 0, "203.0.113.1", "198.51.100.7");
	CHECK_EQ(enrich_twice(&s, &f), ENRICH_KEEP);
	CHECK_STR(S(&s, f.enriched.in_if.name), "one");
	teardown(&s); /* writes the file */
	REQUIRE(access(path, R_OK) == 0);

	/* Restart without any provider: both answers come from the file. */
	snprintf(yaml, sizeof(yaml), "metadata:\n  cache-persist-file: %s\n", path);
	setup(&s, yaml);
	struct flow g = mkflow("192.0.2.1", 1, 0, "203.0.113.1", "198.51.100.7");
	CHECK_EQ(enrich_flow(s.w, &g), ENRICH_KEEP);
	CHECK_STR(S(&s, g.enriched.exporter.name), "edge");
	CHECK_STR(S(&s, g.enriched.in_if.description), "tab\there");
	CHECK_EQ(g.enriched.in_if.speed, 10);
	struct flow h = mkflow("198.51.100.1", 9, 0, "203.0.113.1", "198.51.100.7");
	CHECK_EQ(enrich_flow(s.w, &h), ENRICH_KEEP);
	CHECK_STR(S(&s, h.enriched.in_if.name), "learnt9");
	struct enrich_stats st;
	enrich_get_stats(s.e, &st);
	CHECK_EQ(st.metadata_misses, 0);
	teardown(&s);

	/* A corrupt file is ignored (logged), not fatal. */
	FILE *fp = fopen(path, "w");
	REQUIRE(fp);
	fputs("garbage\n", fp);
	fclose(fp);
	setup(&s, yaml);
	teardown(&s);
	unlink(path);
	rmdir(dir);
}

TEST(geoip_reload_without_restart)
{
	char dir[] = "/tmp/weir-enrich-geo-XXXXXX", yaml[1024], geo[300], asn[300];
	struct setup s;
	REQUIRE(mkdtemp(dir));
	snprintf(geo, sizeof(geo), "%s/country.mmdb", dir);
	snprintf(asn, sizeof(asn), "%s/asn.mmdb", dir);
	if (mmdb_gen(geo, "GeoLite2-City",
		     "net('203.0.113.0/24', {country => {iso_code => 'US'}, city => {names => {en "
		     "=> 'Boston'}}, subdivisions => [{iso_code => 'MA'}]});\n") < 0)
		SKIP("libmaxmind-db-writer-perl not usable");
	REQUIRE(mmdb_gen(asn, "GeoLite2-ASN",
			 "net('203.0.113.0/24', {autonomous_system_number => 15169});\n") == 0);
	snprintf(yaml, sizeof(yaml),
		 "geoip:\n  asn-database: [%s]\n  geo-database: [%s]\n  check-interval: 50ms\n"
		 "networks:\n  networks:\n    203.0.113.0/25: {name: mine, city: Cambridge}\n",
		 asn, geo);
	setup(&s, yaml);
	struct flow f = mkflow("192.0.2.1", 0, 0, "203.0.113.1", "203.0.113.200");
	enrich_flow(s.w, &f);
	CHECK_MEM(f.enriched.src_net.country, "US", 2);
	CHECK_STR(S(&s, f.enriched.src_net.city), "Cambridge"); /* networks beat GeoIP */
	CHECK_STR(S(&s, f.enriched.dst_net.city), "Boston");
	CHECK_STR(S(&s, f.enriched.dst_net.state), "MA");
	CHECK_STR(S(&s, f.enriched.src_net.name), "mine");
	CHECK_EQ(f.src_as, 15169);

	REQUIRE(mmdb_gen(geo, "GeoLite2-City",
			 "net('203.0.113.0/24', {country => {iso_code => 'FR'}, city => {names => "
			 "{en => 'Paris'}}});\n") == 0);
	struct enrich_stats st;
	for (int i = 0; i < 200; i++) {
		enrich_get_stats(s.e, &st);
		if (st.geoip_reloads)
			break;
		usleep(20000);
	}
	CHECK_EQ(st.geoip_reloads, 1);
	struct flow g = mkflow("192.0.2.1", 0, 0, "203.0.113.1", "203.0.113.200");
	enrich_flow(s.w, &g);
	CHECK_MEM(g.enriched.dst_net.country, "FR", 2);
	CHECK_STR(S(&s, g.enriched.dst_net.city), "Paris");
	CHECK_STR(S(&s, g.enriched.src_net.name), "mine");
	teardown(&s);
	unlink(geo);
	unlink(asn);
	rmdir(dir);
}

static const char *config_error(const char *yaml)
{
	static struct error err;
	struct setup s;
	memset(&err, 0, sizeof(err));
	if (setup_try(&s, yaml, &err) == 0) {
		enrich_free(s.e);
		config_doc_free(s.doc);
		return "";
	}
	config_doc_free(s.doc);
	return err.text;
}

#define CHECK_CONFIG_ERROR(yaml, needle)                                                           \
	do {                                                                                       \
		const char *e_ = config_error(yaml);                                               \
		if (!strstr(e_, needle))                                                           \
			test_fail_at(__FILE__, __LINE__, "error \"%s\" lacks \"%s\"", e_, needle); \
	} while (0)

TEST(configuration_errors)
{
	CHECK_CONFIG_ERROR(
	    "core:\n  exporter-classifiers:\n    - ClassifySite(\"a\")\n"
	    "    - 'Exporter.Name == 1'\n",
	    "test.yaml:4: core.exporter-classifiers[1]: rule \"Exporter.Name == 1\": "
	    "column 15: == expects two values of the same type");
	CHECK_CONFIG_ERROR("core:\n  interface-classifiers: ['ClassifyRegion(\"x\")']\n",
			   "core.interface-classifiers[0]: rule \"ClassifyRegion(\"x\")\": column "
			   "1: ClassifyRegion is only for exporter-classifiers");
	CHECK_CONFIG_ERROR("core:\n  asn-providers: [flow, bgp]\n",
			   "test.yaml:2: core.asn-providers: expected one of flow");
	CHECK_CONFIG_ERROR("core:\n  default-sampling-rate: {192.0.2.0/24: zero}\n",
			   "core.default-sampling-rate.192.0.2.0/24: expected a number");
	CHECK_CONFIG_ERROR("metadata:\n  providers:\n    - type: gnmi\n",
			   "unknown provider type gnmi");
	CHECK_CONFIG_ERROR("metadata:\n  providers:\n    - type: static\n      exporters:\n"
			   "        192.0.2.0/24: {group: x}\n",
			   "an exporter needs a name");
	CHECK_CONFIG_ERROR("metadata:\n  providers:\n    - type: snmp\n      credentials:\n"
			   "        ::/0: {user-name: u, authentication-protocol: SHA3}\n",
			   "expected MD5, SHA, SHA224");
	CHECK_CONFIG_ERROR("networks:\n  network-sources:\n    x: {url: http://x}\n",
			   "remote network sources are not supported yet");
	CHECK_CONFIG_ERROR("metadata:\n  cache-duration: 2h\n  cache-refresh: 1h\n",
			   "cache-refresh must be at least cache-duration");
	CHECK_STR(config_error("core:\n  asn-providers: [flow, geo-ip]\n"
			       "metadata:\n  provider:\n    type: snmp\n    communities: private\n"
			       "geoip:\n  optional: true\n  country-database: [/nonexistent.mmdb]\n"
			       "networks:\n  network-sources: []\n"),
		  "");
}

TEST(metrics_exposed)
{
	struct metrics_registry *reg = NULL;
	struct enrich_config cfg;
	struct enrich *e;
	struct enrich_worker *w;
	struct error err = {{0}};
	char *text = NULL;
	size_t len = 0;

	REQUIRE_EQ(metrics_registry_new(&reg, NULL), 0);
	REQUIRE(enrich_config_defaults(&cfg) == 0);
	REQUIRE(enrich_new(&cfg, reg, &e, &err) == 0);
	enrich_config_free(&cfg);
	REQUIRE(enrich_start(e, &err) == 0);
	REQUIRE(enrich_worker_new(e, &w, &err) == 0);
	struct flow f = mkflow("192.0.2.1", 1, 0, "203.0.113.1", "198.51.100.7");
	f.sampling_rate = 0;
	enrich_flow(w, &f);
	REQUIRE(metrics_render(reg, &text, &len) == 0);
	CHECK(strstr(text, "weir_enrich_flows_total{result=\"enriched\"} 1") != NULL);
	CHECK(strstr(text, "weir_enrich_flows_total{result=\"sampling_unknown\"} 1") != NULL);
	CHECK(strstr(text, "weir_enrich_flows_total{result=\"unknown_kept\"} 1") != NULL);
	CHECK(strstr(text, "weir_enrich_flows_total{result=\"static_inline\"} 0") != NULL);
	free(text);
	enrich_worker_free(w);
	enrich_free(e);
	metrics_registry_free(reg);
}

/* The configuration load builds the stage without a registry; the role that
 * takes it registers the metrics before the start, once. */
TEST(metrics_set_after_new)
{
	struct metrics_registry *reg = NULL;
	struct enrich_config cfg;
	struct enrich *e;
	struct enrich_worker *w;
	struct error err = {{0}};
	char *text = NULL;
	size_t len = 0;

	REQUIRE_EQ(metrics_registry_new(&reg, NULL), 0);
	REQUIRE(enrich_config_defaults(&cfg) == 0);
	REQUIRE(enrich_new(&cfg, NULL, &e, &err) == 0);
	enrich_config_free(&cfg);
	CHECK_EQ(enrich_set_metrics(e, reg, &err), 0);
	CHECK_EQ(enrich_set_metrics(e, reg, &err), -EINVAL);
	REQUIRE(enrich_start(e, &err) == 0);
	REQUIRE(enrich_worker_new(e, &w, &err) == 0);
	struct flow f = mkflow("192.0.2.1", 1, 0, "203.0.113.1", "198.51.100.7");
	enrich_flow(w, &f);
	REQUIRE(metrics_render(reg, &text, &len) == 0);
	CHECK(strstr(text, "weir_enrich_flows_total{result=\"unknown_kept\"} 1") != NULL);
	CHECK(strstr(text, "weir_enrich_snmp_retries_total 0") != NULL);
	free(text);
	enrich_worker_free(w);
	enrich_free(e);
	metrics_registry_free(reg);
}
