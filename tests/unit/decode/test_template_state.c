// SPDX-License-Identifier: AGPL-3.0-or-later
/* NetFlow v9 / IPFIX state that heals: limits evict the least recently used
 * (an exporter's own templates first, exporters that never gave a flow
 * before the others), idle templates and exporters expire, a restarted
 * exporter's templates go, and the decoder says which template a datagram
 * missed and which it taught. */
#include "nf_build.h"

#define UPTIME 1000000u
#define SECS   1647285928u
#define T0     1700000000u

static const struct nb_field port_fields[] = {{7, 2}, {11, 2}}; /* src, dst port */

/* Decodes `b` from exporter `v4` at time `now` (unix seconds). */
static enum decode_reason feed(struct nd *d, const struct nb *b, uint32_t v4, uint64_t now,
			       int replay)
{
	struct decode_input in = {
	    .data = b->b, .len = b->n, .time_received = now, .replay = replay};

	addr_from_ipv4(&in.exporter, v4);
	d->out = (struct decode_output){.flows = d->flows, .cap = NB_N(d->flows)};
	return decode_datagram(d->st, &in, &d->out, &d->r);
}

/* A v9 datagram teaching template `id` (src and dst ports). */
static void v9_template(struct nb *b, uint32_t uptime, uint32_t source_id, uint16_t id)
{
	nb_v9_header(b, uptime, SECS, source_id);
	nb_set_begin(b, 0);
	nb_template(b, id, port_fields, NB_N(port_fields));
	nb_set_end(b);
}

/* A v9 datagram of one record of template `id`. */
static void v9_data(struct nb *b, uint32_t uptime, uint32_t source_id, uint16_t id, uint16_t dport)
{
	nb_v9_header(b, uptime, SECS, source_id);
	nb_set_begin(b, id);
	nb_u16(b, 1234);
	nb_u16(b, dport);
	nb_set_end(b);
}

static void set_seq(struct nb *b, int ipfix, uint32_t seq)
{
	be32_put(b->b + (ipfix ? 8 : 12), seq);
}

TEST(spoofed_exporters_then_a_real_router)
{
	struct decode_config cfg;
	struct decode_usage u;
	struct nd d;
	struct nb b;
	uint64_t max_bytes = 0;
	const uint32_t real = IP4(198, 51, 100, 1), earlier = IP4(198, 51, 100, 2);

	/* First with the default limits (max_exporters reached), then with a
	 * byte bound far below what 10,000 exporters take. */
	for (int pass = 0; pass < 2; pass++) {
		decode_config_init(&cfg);
		if (pass == 1)
			cfg.max_bytes_total = 1 << 20;
		nd_init_cfg(&d, &cfg);
		/* A router that already gave flows... */
		v9_template(&b, UPTIME, 0, 300);
		CHECK_EQ(feed(&d, &b, earlier, T0, 0), DECODE_OK);
		v9_data(&b, UPTIME, 0, 300, 53);
		CHECK_EQ(feed(&d, &b, earlier, T0, 0), DECODE_OK);
		/* ...then 10,000 spoofed sources, each teaching templates. */
		for (uint32_t i = 0; i < 10000; i++) {
			nb_v9_header(&b, UPTIME, SECS, 0);
			nb_set_begin(&b, 0);
			for (uint16_t k = 0; k < 4; k++)
				nb_template(&b, (uint16_t)(256 + k), port_fields,
					    NB_N(port_fields));
			nb_set_end(&b);
			CHECK_EQ(feed(&d, &b, IP4(10, 0, 0, 0) + i, T0 + 1 + i / 100, 0),
				 DECODE_OK);
			decode_state_usage(d.st, &u);
			if (pass == 1 && u.bytes > max_bytes)
				max_bytes = u.bytes;
			if (pass == 1 && u.bytes > cfg.max_bytes_total) {
				CHECK(u.bytes <= cfg.max_bytes_total);
				break;
			}
		}
		decode_state_usage(d.st, &u);
		CHECK(u.exporters <= cfg.max_exporters);
		if (pass == 1)
			CHECK(u.exporters < 10000); /* the byte bound evicted */
		/* A real new router gets in and its flows are decoded. */
		v9_template(&b, UPTIME, 0, 400);
		CHECK_EQ(feed(&d, &b, real, T0 + 200, 0), DECODE_OK);
		CHECK_EQ(d.r.templates, 1);
		v9_data(&b, UPTIME, 0, 400, 443);
		CHECK_EQ(feed(&d, &b, real, T0 + 200, 0), DECODE_OK);
		REQUIRE_EQ(d.out.count, 1);
		CHECK_EQ(d.flows[0].dst_port, 443);
		/* The router that gave flows before the flood kept its state:
		 * spoofed sources (which never did) went first. */
		v9_data(&b, UPTIME, 0, 300, 53);
		CHECK_EQ(feed(&d, &b, earlier, T0 + 200, 0), DECODE_OK);
		CHECK_EQ(d.out.count, 1);
		decode_state_usage(d.st, &u);
		CHECK(u.bytes <= cfg.max_bytes_total);
		nd_fini(&d);
	}
	CHECK(max_bytes <= 1 << 20);
	CHECK(max_bytes > (1 << 20) / 2); /* it was filled */
}

TEST(templates_expire_when_idle)
{
	struct decode_config cfg;
	struct decode_usage u;
	struct nd d;
	struct nb b;
	const uint32_t a = IP4(192, 0, 2, 1);

	decode_config_init(&cfg);
	cfg.template_idle_s = 60;
	nd_init_cfg(&d, &cfg);
	v9_template(&b, UPTIME, 0, 256);
	CHECK_EQ(feed(&d, &b, a, T0, 0), DECODE_OK);
	v9_template(&b, UPTIME, 0, 257);
	CHECK_EQ(feed(&d, &b, a, T0, 0), DECODE_OK);
	/* Used by data: 256 stays; 257 is neither refreshed nor used. */
	v9_data(&b, UPTIME, 0, 256, 1);
	CHECK_EQ(feed(&d, &b, a, T0 + 50, 0), DECODE_OK);
	CHECK_EQ(d.r.templates_expired, 0);
	v9_data(&b, UPTIME, 0, 256, 1);
	CHECK_EQ(feed(&d, &b, a, T0 + 100, 0), DECODE_OK);
	CHECK_EQ(d.out.count, 1);
	CHECK_EQ(d.r.templates_expired, 1); /* 257, idle 100 s */
	v9_data(&b, UPTIME, 0, 257, 1);
	CHECK_EQ(feed(&d, &b, a, T0 + 100, 0), DECODE_UNKNOWN_TEMPLATE);
	decode_state_usage(d.st, &u);
	CHECK_EQ(u.templates, 1);
	/* 256 idle for 61 s: gone too. */
	v9_data(&b, UPTIME, 0, 256, 1);
	CHECK_EQ(feed(&d, &b, a, T0 + 161, 0), DECODE_UNKNOWN_TEMPLATE);
	CHECK_EQ(d.r.templates_expired, 1);
	nd_fini(&d);
}

TEST(exporters_expire_when_silent)
{
	struct decode_config cfg;
	struct decode_usage u;
	struct nd d;
	struct nb b;

	decode_config_init(&cfg);
	cfg.exporter_idle_s = 100;
	nd_init_cfg(&d, &cfg);
	v9_template(&b, UPTIME, 0, 256);
	CHECK_EQ(feed(&d, &b, IP4(192, 0, 2, 1), T0, 0), DECODE_OK);
	CHECK_EQ(feed(&d, &b, IP4(192, 0, 2, 2), T0 + 50, 0), DECODE_OK);
	CHECK_EQ(d.r.exporters_expired, 0);
	CHECK_EQ(feed(&d, &b, IP4(192, 0, 2, 3), T0 + 120, 0), DECODE_OK);
	CHECK_EQ(d.r.exporters_expired, 1); /* .1, silent 120 s */
	decode_state_usage(d.st, &u);
	CHECK_EQ(u.exporters, 2);
	CHECK_EQ(u.templates, 2);
	nd_fini(&d);
}

TEST(a_template_flood_evicts_its_own_templates)
{
	struct decode_config cfg;
	struct nd d;
	struct nb b;
	const uint32_t quiet = IP4(192, 0, 2, 1), noisy = IP4(192, 0, 2, 2);
	uint32_t evicted = 0;

	decode_config_init(&cfg);
	cfg.max_templates_per_exporter = 8;
	cfg.max_bytes_total = 1 << 20;
	nd_init_cfg(&d, &cfg);
	v9_template(&b, UPTIME, 0, 256);
	CHECK_EQ(feed(&d, &b, quiet, T0, 0), DECODE_OK);
	for (uint16_t id = 256; id < 256 + 1000; id++) {
		v9_template(&b, UPTIME, 0, id);
		CHECK_EQ(feed(&d, &b, noisy, T0 + 1 + id / 10, 0), DECODE_OK);
		evicted += d.r.templates_evicted;
		CHECK_EQ(d.r.exporters_evicted, 0);
	}
	CHECK_EQ(evicted, 1000 - 8);
	/* The quiet exporter's template is untouched... */
	v9_data(&b, UPTIME, 0, 256, 7);
	CHECK_EQ(feed(&d, &b, quiet, T0 + 200, 0), DECODE_OK);
	CHECK_EQ(d.out.count, 1);
	/* ...the noisy one kept its 8 most recent. */
	v9_data(&b, UPTIME, 0, 256 + 999, 7);
	CHECK_EQ(feed(&d, &b, noisy, T0 + 200, 0), DECODE_OK);
	v9_data(&b, UPTIME, 0, 256 + 991, 7);
	CHECK_EQ(feed(&d, &b, noisy, T0 + 200, 0), DECODE_UNKNOWN_TEMPLATE);
	nd_fini(&d);
}

TEST(a_used_template_is_evicted_last)
{
	struct decode_config cfg;
	struct nd d;
	struct nb b;
	const uint32_t a = IP4(192, 0, 2, 1);

	decode_config_init(&cfg);
	cfg.max_templates_per_exporter = 2;
	nd_init_cfg(&d, &cfg);
	v9_template(&b, UPTIME, 0, 256);
	CHECK_EQ(feed(&d, &b, a, T0, 0), DECODE_OK);
	v9_template(&b, UPTIME, 0, 257);
	CHECK_EQ(feed(&d, &b, a, T0 + 1, 0), DECODE_OK);
	v9_data(&b, UPTIME, 0, 256, 1); /* 256 is now the most recent */
	CHECK_EQ(feed(&d, &b, a, T0 + 2, 0), DECODE_OK);
	v9_template(&b, UPTIME, 0, 258);
	CHECK_EQ(feed(&d, &b, a, T0 + 3, 0), DECODE_OK);
	CHECK_EQ(d.r.templates_evicted, 1);
	v9_data(&b, UPTIME, 0, 256, 1);
	CHECK_EQ(feed(&d, &b, a, T0 + 4, 0), DECODE_OK);
	v9_data(&b, UPTIME, 0, 257, 1);
	CHECK_EQ(feed(&d, &b, a, T0 + 4, 0), DECODE_UNKNOWN_TEMPLATE);
	nd_fini(&d);
}

TEST(v9_restart_drops_the_domains_templates)
{
	struct nd d;
	struct nb b;
	const uint32_t a = IP4(192, 0, 2, 1);

	nd_init(&d);
	v9_template(&b, UPTIME, 0, 256);
	CHECK_EQ(feed(&d, &b, a, T0, 0), DECODE_OK);
	v9_template(&b, UPTIME, 7, 256); /* another source id */
	CHECK_EQ(feed(&d, &b, a, T0, 0), DECODE_OK);
	/* A reorder (sysUptime 200 ms back) is no restart. */
	v9_data(&b, UPTIME - 200, 0, 256, 1);
	CHECK_EQ(feed(&d, &b, a, T0, 0), DECODE_OK);
	CHECK_EQ(d.r.exporter_restarts, 0);
	CHECK_EQ(d.out.count, 1);
	/* sysUptime back to 5 s: restarted, source id 0's templates go. */
	v9_data(&b, 5000, 0, 256, 1);
	CHECK_EQ(feed(&d, &b, a, T0 + 10, 0), DECODE_UNKNOWN_TEMPLATE);
	CHECK_EQ(d.r.exporter_restarts, 1);
	CHECK_EQ(d.r.templates_reset, 1);
	/* Source id 7 is another domain: kept. */
	v9_data(&b, UPTIME + 10000, 7, 256, 1);
	CHECK_EQ(feed(&d, &b, a, T0 + 10, 0), DECODE_OK);
	CHECK_EQ(d.out.count, 1);
	/* sysUptime wrapping around 2^32 is no restart. */
	v9_template(&b, 0xffffff00u, 9, 256);
	CHECK_EQ(feed(&d, &b, a, T0 + 20, 0), DECODE_OK);
	v9_data(&b, 500, 9, 256, 1);
	CHECK_EQ(feed(&d, &b, a, T0 + 20, 0), DECODE_OK);
	CHECK_EQ(d.r.exporter_restarts, 0);
	/* A replay (a parked datagram decoded again) is not looked at. */
	v9_data(&b, 100, 7, 256, 1);
	CHECK_EQ(feed(&d, &b, a, T0 + 20, 1), DECODE_OK);
	CHECK_EQ(d.r.exporter_restarts, 0);
	/* The sequence number going far back is a restart as well. */
	v9_data(&b, UPTIME + 20000, 7, 256, 1);
	set_seq(&b, 0, 100000);
	CHECK_EQ(feed(&d, &b, a, T0 + 30, 0), DECODE_OK);
	v9_data(&b, UPTIME + 21000, 7, 256, 1);
	set_seq(&b, 0, 99990); /* 10 back: reordered */
	CHECK_EQ(feed(&d, &b, a, T0 + 30, 0), DECODE_OK);
	CHECK_EQ(d.r.exporter_restarts, 0);
	v9_data(&b, UPTIME + 22000, 7, 256, 1);
	set_seq(&b, 0, 3);
	CHECK_EQ(feed(&d, &b, a, T0 + 30, 0), DECODE_UNKNOWN_TEMPLATE);
	CHECK_EQ(d.r.exporter_restarts, 1);
	nd_fini(&d);
}

/* IPFIX datagram of domain 1 with sequence `seq`: the template (teach) or
 * one record of it. */
static void ipfix_dgram(struct nb *b, uint32_t seq, int teach)
{
	nb_ipfix_header(b, SECS, 1);
	set_seq(b, 1, seq);
	if (teach) {
		nb_set_begin(b, 2);
		nb_template(b, 256, port_fields, NB_N(port_fields));
		nb_set_end(b);
	} else {
		nb_set_begin(b, 256);
		nb_u16(b, 1), nb_u16(b, 2);
		nb_set_end(b);
	}
	nb_ipfix_end(b);
}

TEST(ipfix_restart_by_sequence)
{
	struct nd d;
	struct nb b;
	const uint32_t a = IP4(192, 0, 2, 1);

	nd_init(&d);
	ipfix_dgram(&b, 50000000, 1);
	CHECK_EQ(feed(&d, &b, a, T0, 0), DECODE_OK);
	ipfix_dgram(&b, 50000000 - 1000, 0); /* 1000 records back: a reorder */
	CHECK_EQ(feed(&d, &b, a, T0, 0), DECODE_OK);
	CHECK_EQ(d.r.exporter_restarts, 0);
	ipfix_dgram(&b, 0xfffffff0u, 0); /* a jump forward: a gap, not a restart */
	CHECK_EQ(feed(&d, &b, a, T0, 0), DECODE_OK);
	ipfix_dgram(&b, 20, 0); /* the wrap */
	CHECK_EQ(feed(&d, &b, a, T0, 0), DECODE_OK);
	CHECK_EQ(d.r.exporter_restarts, 0);
	ipfix_dgram(&b, 40000000, 0);
	CHECK_EQ(feed(&d, &b, a, T0, 0), DECODE_OK);
	ipfix_dgram(&b, 0, 0); /* far back: restarted */
	CHECK_EQ(feed(&d, &b, a, T0 + 1, 0), DECODE_UNKNOWN_TEMPLATE);
	CHECK_EQ(d.r.exporter_restarts, 1);
	CHECK_EQ(d.r.templates_reset, 1);
	nd_fini(&d);
}

TEST(missing_and_taught_templates_are_reported)
{
	struct nd d;
	struct nb b;
	const uint32_t a = IP4(192, 0, 2, 1);

	nd_init(&d);
	/* Two unknown data sets: the first is reported. */
	nb_v9_header(&b, UPTIME, SECS, 5);
	nb_set_begin(&b, 300);
	nb_u16(&b, 1), nb_u16(&b, 2);
	nb_set_end(&b);
	nb_set_begin(&b, 301);
	nb_u16(&b, 1), nb_u16(&b, 2);
	nb_set_end(&b);
	CHECK_EQ(feed(&d, &b, a, T0, 0), DECODE_UNKNOWN_TEMPLATE);
	CHECK_EQ(d.r.missing.id, 300);
	CHECK_EQ(d.r.missing.domain, 5);
	CHECK_EQ(d.r.missing.version, 9);
	/* A replay's templates are not learnt. */
	v9_template(&b, UPTIME, 5, 300);
	CHECK_EQ(feed(&d, &b, a, T0, 1), DECODE_OK);
	CHECK_EQ(d.r.ntaught, 0);
	/* Taught: listed, refreshes too. */
	nb_v9_header(&b, UPTIME, SECS, 5);
	nb_set_begin(&b, 0);
	nb_template(&b, 300, port_fields, NB_N(port_fields));
	nb_template(&b, 301, port_fields, NB_N(port_fields));
	nb_set_end(&b);
	CHECK_EQ(feed(&d, &b, a, T0, 0), DECODE_OK);
	REQUIRE_EQ(d.r.ntaught, 2);
	CHECK_EQ(d.r.taught[1].id, 301);
	CHECK_EQ(d.r.taught[1].domain, 5);
	CHECK_EQ(d.r.taught[1].version, 9);
	CHECK_EQ(d.r.taught_overflow, 0);
	CHECK_EQ(d.r.missing.id, 0);
	nd_fini(&d);
}

TEST(usage_counts_what_is_held)
{
	struct decode_usage u0, u1;
	struct nd d;
	struct nb b;

	nd_init(&d);
	decode_state_usage(d.st, &u0);
	CHECK_EQ(u0.exporters, 0);
	v9_template(&b, UPTIME, 0, 256);
	CHECK_EQ(feed(&d, &b, IP4(192, 0, 2, 1), T0, 0), DECODE_OK);
	decode_state_usage(d.st, &u1);
	CHECK_EQ(u1.exporters, 1);
	CHECK_EQ(u1.templates, 1);
	CHECK(u1.bytes > u0.bytes);
	nd_fini(&d);
}

/* Random teaching, data, withdrawals, restarts and silences from 40
 * exporters under small limits: the bounds hold at every step, and ASan
 * sees no misuse of what eviction and expiry free. */
TEST(random_churn_keeps_every_bound)
{
	struct nb_field fields[24];
	struct decode_config cfg;
	struct decode_usage u;
	struct nd d;
	struct nb b;
	uint64_t s = 12345, now = T0;
	uint32_t removed = 0, restarts = 0;

	for (int i = 0; i < 24; i++)
		fields[i] = (struct nb_field){(uint16_t)(1 + i), 4};
	decode_config_init(&cfg);
	cfg.max_exporters = 10;
	cfg.max_templates_per_exporter = 8;
	cfg.max_bytes_per_exporter = 8192;
	cfg.max_bytes_total = 16 << 10;
	cfg.template_idle_s = 60;
	cfg.exporter_idle_s = 120;
	nd_init_cfg(&d, &cfg);
	for (int step = 0; step < 20000; step++) {
		uint32_t x, op, id;

		s = s * 6364136223846793005ull + 1442695040888963407ull;
		x = (uint32_t)(s >> 33) % 40;
		op = (uint32_t)(s >> 40) % 8;
		id = 256 + (uint32_t)(s >> 48) % 24;
		now += (s >> 20) % 4 == 0 ? (s >> 24) % 30 : 0;
		if (op < 3) { /* teach one to three templates, v9 */
			nb_v9_header(&b, UPTIME + (uint32_t)(now - T0) * 1000, SECS, x % 3);
			nb_set_begin(&b, 0);
			for (uint32_t k = 0; k <= op; k++)
				nb_template(&b, (uint16_t)(id + k), fields, 1 + (id + k) % 24);
			nb_set_end(&b);
		} else if (op < 6) { /* data */
			nb_v9_header(&b, UPTIME + (uint32_t)(now - T0) * 1000, SECS, x % 3);
			nb_set_begin(&b, (uint16_t)id);
			nb_zero(&b, 4 * (1 + id % 24));
			nb_set_end(&b);
		} else if (op == 6) { /* restart */
			nb_v9_header(&b, 1000, SECS, x % 3);
			set_seq(&b, 0, 0);
			nb_set_begin(&b, 0);
			nb_template(&b, (uint16_t)id, fields, 2);
			nb_set_end(&b);
		} else { /* IPFIX: template, then withdraw all */
			nb_ipfix_header(&b, SECS, x % 2);
			nb_set_begin(&b, 2);
			nb_template(&b, (uint16_t)id, fields, 3);
			nb_u16(&b, 2), nb_u16(&b, 0); /* withdraw every template */
			nb_set_end(&b);
			nb_ipfix_end(&b);
		}
		feed(&d, &b, IP4(10, 0, 0, 1) + x, now, (s >> 60) == 0);
		removed += d.r.templates_evicted + d.r.templates_expired + d.r.exporters_evicted +
			   d.r.exporters_expired;
		restarts += d.r.exporter_restarts;
		decode_state_usage(d.st, &u);
		if (u.bytes > cfg.max_bytes_total || u.exporters > cfg.max_exporters ||
		    u.templates > cfg.max_exporters * cfg.max_templates_per_exporter) {
			CHECK(u.bytes <= cfg.max_bytes_total);
			CHECK(u.exporters <= cfg.max_exporters);
			break;
		}
	}
	CHECK(removed > 1000);
	CHECK(restarts > 100);
	nd_fini(&d);
}
