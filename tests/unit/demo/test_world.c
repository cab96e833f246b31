// SPDX-License-Identifier: AGPL-3.0-or-later
/* The demo's world (user/demo/world.c): the built-in table parses and bad
 * ones are refused by line; flows fall in the table's prefixes and enter by
 * the interface their AS reaches the network through; the attack burst is
 * on for the first minute of every ten and aims at a customer; the daily
 * rhythm is low at night and peaks in the evening; each NetFlow v9/IPFIX
 * router's interface options decode, with weir's decoder, to its names. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "decode/decode.h"
#include "demo/demo_exporter.h"
#include "test.h"

#define NOW 1700000000ull /* 22:13:20 UTC; NOW % 600 = 200: no attack */

static struct demo_world *world(void)
{
	struct demo_world *w = NULL;
	struct error err = {""};

	REQUIRE_EQ(demo_world_new(NULL, &w, &err), 0);
	REQUIRE(w != NULL);
	return w;
}

static const struct demo_port *port_of(const struct demo_router *r, uint32_t ifindex)
{
	for (size_t i = 0; i < r->nports; i++)
		if (r->ports[i].ifc.ifindex == ifindex)
			return &r->ports[i];
	return NULL;
}

TEST(builtin_table_has_large_ases_a_long_tail_and_the_local_network)
{
	struct demo_world *w = world();
	int local = 0, pni = 0, transit = 0, google = 0;

	CHECK(demo_world_count(w) >= 20);
	for (size_t i = 0; i < demo_world_count(w); i++) {
		const struct demo_as *a = demo_world_as(w, i);

		CHECK(a->name[0] != '\0');
		CHECK(strlen(a->country) == 2);
		local += a->reach == DEMO_REACH_LOCAL;
		pni += a->reach == DEMO_REACH_PNI;
		transit += a->reach == DEMO_REACH_TRANSIT;
		if (a->asn == 15169) {
			google = 1;
			CHECK_STR(a->name, "GOOGLE");
			CHECK_STR(a->country, "US");
		}
	}
	CHECK_EQ(local, 1);
	CHECK(pni >= 5);
	CHECK(transit >= 10);
	CHECK(google);
	CHECK(demo_world_as(w, demo_world_count(w)) == NULL);
	demo_world_free(w);
	demo_world_free(NULL);
}

TEST(bad_tables_are_refused_with_the_line)
{
	static const struct {
		const char *csv, *why;
	} bad[] = {
	    {"asn,name,country,weight,reach,prefixes\n1,A,US,1,pni,192.0.2.0/24\n", "no local"},
	    {"asn,name,country,weight,reach,prefixes\n1,A,USA,1,pni,192.0.2.0/24\n"
	     "2,L,FR,0,local,198.51.100.0/24 2001:db8::/32\n",
	     "line 2"},
	    {"# c\n\nasn,name,country,weight,reach,prefixes\n1,A,US,1,pni,192.0.2.0/33\n",
	     "line 4"},
	    {"asn,name,country,weight,reach,prefixes\n1,A,US,1,peer,192.0.2.0/24\n", "line 2"},
	    {"asn,name,country,weight,reach,prefixes\n2,L,FR,0,local,198.51.100.0/24\n"
	     "1,A,US,1,pni,192.0.2.0/24\n",
	     "line 2"}, /* local without IPv6 */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct demo_world *w = (struct demo_world *)1;
		struct error err = {""};

		CHECK_EQ(demo_world_new(bad[i].csv, &w, &err), -EINVAL);
		CHECK(w == NULL);
		if (strcmp(bad[i].why, "no local"))
			CHECK(strstr(err.text, bad[i].why) != NULL);
		else
			CHECK(strstr(err.text, "one local AS") != NULL);
	}
}

TEST(flows_fall_in_the_table_and_enter_where_their_as_connects)
{
	struct demo_world *w = world();
	const struct demo_router *routers;
	size_t nr = demo_routers(&routers);
	uint64_t rng = 42;
	unsigned pni_seen = 0, v6 = 0, inbound = 0, n = 0;

	CHECK(nr >= 3);
	for (size_t r = 0; r < nr; r++)
		for (int i = 0; i < 2000; i++) {
			struct flow f;
			const struct demo_as *src, *dst, *ext;
			const struct demo_port *in, *out;
			int in_bound;

			demo_world_flow(w, r, &rng, NOW, &f);
			n++;
			src = demo_world_lookup(w, &f.src_addr);
			dst = demo_world_lookup(w, &f.dst_addr);
			REQUIRE(src && dst);
			CHECK_EQ(f.src_as, src->asn);
			CHECK_EQ(f.dst_as, dst->asn);
			/* One end is the demo network, the other is not. */
			CHECK((src->reach == DEMO_REACH_LOCAL) != (dst->reach == DEMO_REACH_LOCAL));
			in_bound = dst->reach == DEMO_REACH_LOCAL;
			ext = in_bound ? src : dst;
			in = port_of(&routers[r], f.in_if);
			out = port_of(&routers[r], f.out_if);
			REQUIRE(in && out);
			/* External traffic crosses an external port and a core one. */
			CHECK_EQ((in_bound ? out : in)->kind, DEMO_PORT_CORE);
			const struct demo_port *edge = in_bound ? in : out;
			CHECK(edge->kind != DEMO_PORT_CORE);
			if (edge->kind == DEMO_PORT_PNI) {
				CHECK_EQ(edge->peer_asn, ext->asn);
				pni_seen++;
			}
			if (ext->reach == DEMO_REACH_TRANSIT)
				CHECK_EQ(edge->kind, DEMO_PORT_TRANSIT);
			CHECK_EQ(f.etype, addr_is_ipv4(&f.src_addr) ? 0x0800 : 0x86dd);
			CHECK_EQ(addr_is_ipv4(&f.src_addr), addr_is_ipv4(&f.dst_addr));
			v6 += f.etype == 0x86dd;
			inbound += (unsigned)in_bound;
			CHECK(f.bytes >= f.packets && f.packets > 0);
			CHECK_EQ(f.sampling_rate, DEMO_SAMPLING_RATE);
			CHECK_EQ(f.time_received, NOW);
		}
	CHECK(pni_seen > n / 10);
	CHECK(v6 > n / 10 && v6 < n / 2);
	CHECK(inbound > n / 2);
	demo_world_free(w);
}

TEST(large_ases_carry_most_of_the_traffic)
{
	struct demo_world *w = world();
	uint64_t rng = 7, big = 0, all = 0;

	for (int i = 0; i < 20000; i++) {
		struct flow f;
		const struct demo_as *s, *d;

		demo_world_flow(w, (size_t)i % 4, &rng, NOW, &f);
		s = demo_world_lookup(w, &f.src_addr);
		d = demo_world_lookup(w, &f.dst_addr);
		const struct demo_as *ext = s->reach == DEMO_REACH_LOCAL ? d : s;
		all += f.bytes;
		if (ext->reach == DEMO_REACH_PNI)
			big += f.bytes;
	}
	CHECK(big * 2 > all);
	demo_world_free(w);
}

TEST(attack_burst_first_minute_of_every_ten)
{
	struct demo_world *w = world();
	struct demo_attack a, b;
	const uint64_t t0 = 1700000400ull; /* a multiple of 600 */
	uint64_t rng = 1;

	CHECK_EQ(t0 % DEMO_ATTACK_PERIOD, 0);
	CHECK_EQ(demo_attack_at(w, t0, &a), 1);
	CHECK_EQ(demo_attack_at(w, t0 + 59, &b), 1);
	CHECK(!memcmp(&a.target, &b.target, sizeof(a.target))); /* one victim per burst */
	CHECK_EQ(demo_attack_at(w, t0 + 60, &b), 0);
	CHECK_EQ(demo_attack_at(w, t0 + 599, &b), 0);
	CHECK_EQ(demo_attack_at(w, t0 - 1, &b), 0);
	CHECK_EQ(demo_attack_at(w, t0 + 600, &b), 1);
	CHECK(a.src_port == 123 || a.src_port == 53);
	CHECK(b.src_port != a.src_port); /* NTP and DNS by turns */
	/* The victim is a customer: in the local AS's prefixes. */
	const struct demo_as *victim = demo_world_lookup(w, &a.target);
	REQUIRE(victim);
	CHECK_EQ(victim->reach, DEMO_REACH_LOCAL);

	/* Many sources, many ASes, all at the victim from the reflected port. */
	uint32_t asns[64];
	size_t nasns = 0;
	for (int i = 0; i < 500; i++) {
		struct flow f;
		const struct demo_as *s;
		size_t k;

		demo_world_attack_flow(w, (size_t)i % 4, &a, &rng, t0, &f);
		CHECK(!memcmp(&f.dst_addr, &a.target, sizeof(a.target)));
		CHECK_EQ(f.proto, 17);
		CHECK_EQ(f.src_port, a.src_port);
		s = demo_world_lookup(w, &f.src_addr);
		REQUIRE(s);
		CHECK(s->reach != DEMO_REACH_LOCAL);
		CHECK_EQ(f.src_as, s->asn);
		for (k = 0; k < nasns && asns[k] != s->asn; k++)
			;
		if (k == nasns && nasns < 64)
			asns[nasns++] = s->asn;
	}
	CHECK(nasns >= 15);
	demo_world_free(w);
}

TEST(daily_rhythm_low_at_night_peak_in_the_evening)
{
	double min = 2, max = 0, prev = demo_rhythm(86399);
	uint32_t at_min = 0, at_max = 0;

	for (uint32_t s = 0; s < 86400; s += 60) {
		double r = demo_rhythm(s);

		CHECK(r > 0 && r <= 1);
		CHECK(r - prev < 0.05 && prev - r < 0.05); /* no jumps */
		if (r < min)
			min = r, at_min = s;
		if (r > max)
			max = r, at_max = s;
		prev = r;
	}
	CHECK(at_min >= 3 * 3600 && at_min <= 6 * 3600);
	CHECK(at_max >= 20 * 3600 && at_max <= 22 * 3600);
	CHECK(min < 0.3);
	CHECK(max > 0.95);
	CHECK(demo_rhythm(86400 + 4 * 3600) == demo_rhythm(4 * 3600));
}

/* Each v9/IPFIX router's options datagram, decoded by weir, names every
 * interface of the router as world.c describes it. */
TEST(router_interface_options_decode_to_their_names)
{
	const struct demo_router *routers;
	size_t nr = demo_routers(&routers), tested = 0;

	for (size_t r = 0; r < nr; r++) {
		const struct demo_router *rt = &routers[r];
		struct demo_encoder_config ec = {
		    .format = rt->format, .domain_id = rt->domain_id, .sampling_rate = 1000};
		struct demo_interface ifs[16];
		struct decode_interface got[16];
		struct flow flows[4];
		struct decode_config dc;
		struct decode_state *st;
		struct decode_output o = {
		    .flows = flows, .cap = 4, .ifaces = got, .ifaces_cap = 16};
		struct decode_input in = {.time_received = NOW};
		struct decode_result res;
		struct demo_encoder *enc;
		uint8_t buf[1500];
		size_t len = 0;

		if (rt->format == DEMO_SFLOW_V5) {
			struct demo_encoder *e2;
			REQUIRE_EQ(demo_encoder_new(&ec, &e2, NULL), 0);
			CHECK_EQ(
			    demo_encoder_encode_interfaces(e2, ifs, 0, NOW, buf, sizeof(buf), &len),
			    -EINVAL);
			demo_encoder_free(e2);
			continue;
		}
		REQUIRE(rt->nports <= 16);
		for (size_t i = 0; i < rt->nports; i++)
			ifs[i] = rt->ports[i].ifc;
		REQUIRE_EQ(demo_encoder_new(&ec, &enc, NULL), 0);
		CHECK_EQ(demo_encoder_encode_interfaces(enc, ifs, rt->nports, NOW, buf, sizeof(buf),
							&len),
			 (int)rt->nports);
		REQUIRE(len > 0 && len <= 1400);
		decode_config_init(&dc);
		REQUIRE_EQ(decode_state_new(&dc, &st, NULL), 0);
		in.data = buf;
		in.len = len;
		addr_from_text(&in.exporter, rt->address);
		CHECK_EQ(decode_datagram(st, &in, &o, &res), DECODE_OK);
		CHECK_EQ(o.count, 0);
		REQUIRE_EQ(o.ifaces_count, (uint32_t)rt->nports);
		for (size_t i = 0; i < rt->nports; i++) {
			CHECK_EQ(got[i].ifindex, rt->ports[i].ifc.ifindex);
			CHECK_STR(got[i].name, rt->ports[i].ifc.name);
			CHECK_STR(got[i].description, rt->ports[i].ifc.description);
			if (rt->format == DEMO_IPFIX)
				CHECK_EQ(got[i].speed_mbps, rt->ports[i].ifc.speed_mbps);
		}
		/* Descriptions in Akvorado's convention for the classifiers
		 * (enum demo_port_kind order). */
		for (size_t i = 0; i < rt->nports; i++) {
			static const char *const word[] = {"Transit: ", "PNI: ", "IX: ", "Core: "};
			const char *w = word[rt->ports[i].kind];

			CHECK(!strncmp(rt->ports[i].ifc.description, w, strlen(w)));
		}
		decode_state_free(st);
		demo_encoder_free(enc);
		tested++;
	}
	CHECK(tested >= 3);
}

/* A datagram too small for one interface record says so; a smaller
 * max_size splits the interfaces over datagrams. */
TEST(interface_options_respect_max_size)
{
	struct demo_encoder_config ec = {.format = DEMO_IPFIX, .max_size = 300};
	struct demo_interface ifs[8];
	struct demo_encoder *enc;
	uint8_t buf[1500];
	size_t len = 0;
	int n;

	for (int i = 0; i < 8; i++)
		ifs[i] = (struct demo_interface){(uint32_t)i + 1, 1000, "xe-0/0/0", "Core: x"};
	REQUIRE_EQ(demo_encoder_new(&ec, &enc, NULL), 0);
	n = demo_encoder_encode_interfaces(enc, ifs, 8, NOW, buf, sizeof(buf), &len);
	CHECK(n > 0 && n < 8);
	CHECK(len <= 300);
	CHECK_EQ(demo_encoder_encode_interfaces(enc, ifs, 8, NOW, buf, 40, &len), -EMSGSIZE);
	demo_encoder_free(enc);
}

/* The interface options a router sends first do not stand in for the data
 * templates: the first flows datagram after them still carries them, so a
 * collector decodes it. */
TEST(flows_after_interface_options_carry_their_templates)
{
	for (int ipfix = 0; ipfix < 2; ipfix++) {
		struct demo_encoder_config ec = {.format = ipfix ? DEMO_IPFIX : DEMO_NETFLOW_V9,
						 .sampling_rate = 1000,
						 .template_refresh = 5};
		struct demo_interface ifc = {1, 1000, "xe-0/0/1", "Transit: Cogent"};
		struct demo_world *w = world();
		struct demo_encoder *enc;
		struct decode_config dc;
		struct decode_state *st;
		struct flow in_flows[8], out_flows[8];
		struct decode_interface ifs[4];
		uint8_t buf[1500];
		uint64_t rng = 3;
		size_t len = 0;
		int n;

		REQUIRE_EQ(demo_encoder_new(&ec, &enc, NULL), 0);
		decode_config_init(&dc);
		REQUIRE_EQ(decode_state_new(&dc, &st, NULL), 0);
		for (int i = 0; i < 8; i++)
			demo_world_flow(w, 0, &rng, NOW, &in_flows[i]);
		for (int step = 0; step < 2; step++) {
			struct decode_output o = {
			    .flows = out_flows, .cap = 8, .ifaces = ifs, .ifaces_cap = 4};
			struct decode_input in = {.data = buf, .time_received = NOW};
			struct decode_result res;

			if (step == 0)
				n = demo_encoder_encode_interfaces(enc, &ifc, 1, NOW, buf,
								   sizeof(buf), &len);
			else
				n = demo_encoder_encode(enc, in_flows, 8, buf, sizeof(buf), &len);
			CHECK(n > 0);
			in.len = len;
			addr_from_text(&in.exporter, "127.0.0.11");
			CHECK_EQ(decode_datagram(st, &in, &o, &res), DECODE_OK);
			CHECK_EQ(o.count, step ? (uint32_t)n : 0);
			CHECK_EQ(o.ifaces_count, step ? 0 : 1);
		}
		decode_state_free(st);
		demo_encoder_free(enc);
		demo_world_free(w);
	}
}

/* The sFlow router cannot send its interface names: mk/demo.sh names them in
 * the demo's static metadata. Both lists must say the same (index, name,
 * description, speed) or the demo shows half-named interfaces. */
TEST(demo_script_names_the_sflow_routers_interfaces_as_world_c)
{
	const struct demo_router *routers;
	size_t n = demo_routers(&routers);
	const char *top = getenv("WEIR_TOP");
	char path[4096], line[512];
	FILE *f;
	int checked = 0;

	snprintf(path, sizeof(path), "%s/mk/demo.sh", top ? top : ".");
	f = fopen(path, "r");
	if (!f)
		SKIP("mk/demo.sh not found (set WEIR_TOP)");
	for (size_t r = 0; r < n; r++) {
		const char *in_router = NULL;

		if (routers[r].format != DEMO_SFLOW_V5)
			continue;
		rewind(f);
		/* The router's entry, then its "N: {name: X, description: "Y",
		 * speed: Z}" lines. */
		while (fgets(line, sizeof(line), f)) {
			unsigned idx, speed;
			char name[64], desc[128];

			if (strstr(line, "name: ") && strstr(line, routers[r].name)) {
				in_router = routers[r].name;
				continue;
			}
			if (!in_router)
				continue;
			if (strstr(line, "if-indexes:"))
				continue;
			if (sscanf(line,
				   " %u: {name: %63[^,], description: \"%127[^\"]\", speed: %u}",
				   &idx, name, desc, &speed) != 4)
				break;
			int found = 0;

			for (size_t p = 0; p < routers[r].nports; p++) {
				const struct demo_interface *i = &routers[r].ports[p].ifc;

				if (i->ifindex != idx)
					continue;
				found = 1;
				if (strcmp(i->name, name) || strcmp(i->description, desc) ||
				    i->speed_mbps != speed)
					test_fail_at(__FILE__, __LINE__,
						     "%s ifIndex %u: demo.sh says %s \"%s\" %u, "
						     "world.c %s \"%s\" %u",
						     routers[r].name, idx, name, desc, speed,
						     i->name, i->description, i->speed_mbps);
			}
			if (!found)
				test_fail_at(__FILE__, __LINE__, "%s ifIndex %u: not in world.c",
					     routers[r].name, idx);
			checked++;
		}
		CHECK(in_router != NULL);
		/* Every interface of the router is named there. */
		CHECK_EQ((size_t)checked, routers[r].nports);
		checked = 0;
	}
	fclose(f);
}
