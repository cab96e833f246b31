// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir bench decode`: records per second per core of the NetFlow v9, IPFIX
 * and sFlow decoders on realistic datagrams, all made by the project's own
 * encoder (user/demo): as routers and switches send them, and its own. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "common/addr.h"
#include "common/cli_opts.h"
#include "common/cpu_time.h"
#include "common/rng.h"
#include "decode/decode.h"
#include "demo/demo.h"

#define DGRAM_MAX 2048
#define DGRAMS	  64 /* distinct datagrams per case: varied addresses, all in cache */

struct dgram {
	uint8_t data[DGRAM_MAX];
	size_t len;
	uint32_t records; /* flows it must give */
};

/* What one case decodes: `prime` first (templates, sampling options), once,
 * then `data` round and round. */
struct decode_set {
	struct dgram prime;
	struct dgram data[DGRAMS];
};

/* What a router exports (IPv4, Cisco/Juniper style): 198.51.x.y to
 * 203.x.y.z, 48 interfaces, TCP to 443 or ephemeral ports, sampler 1. In
 * the encoder's compact template that is 54 bytes a record in v9 and 64 in
 * IPFIX (64-bit times), so 25 and 21 records fill a 1400-byte datagram. */
static void router_flows(struct flow *flows, size_t n, uint64_t *s)
{
	for (size_t i = 0; i < n; i++) {
		struct flow *f = &flows[i];
		uint64_t end_ms = 1700000000000ull + i;

		flow_reset(f);
		f->time_received = 1700000000;
		f->time_flow_end_ms = end_ms;
		f->time_flow_start_ms = end_ms - 1000 - rng_next(s) % 30000;
		f->etype = 0x0800;
		addr_from_ipv4(&f->src_addr, 0xc6330000u | (uint32_t)(rng_next(s) & 0xffff));
		addr_from_ipv4(&f->dst_addr, 0xcb000000u | (uint32_t)(rng_next(s) & 0xffffff));
		addr_from_ipv4(&f->next_hop, 0xc0000201u + (uint32_t)(i & 7));
		f->in_if = 1 + (uint32_t)(rng_next(s) % 48);
		f->out_if = 1 + (uint32_t)(rng_next(s) % 48);
		f->packets = 1 + rng_next(s) % 8;
		f->bytes = 40 + rng_next(s) % 12000;
		f->src_port = rng_next(s) & 1 ? 443 : (uint16_t)(1024 + rng_next(s) % 60000);
		f->dst_port = rng_next(s) & 1 ? 443 : (uint16_t)(1024 + rng_next(s) % 60000);
		f->tcp_flags = 0x18;
		f->proto = rng_next(s) % 4 ? 6 : 17;
		f->src_as = 64496 + (uint32_t)(rng_next(s) % 1000);
		f->dst_as = 64496 + (uint32_t)(rng_next(s) % 1000);
		f->src_net_mask = (uint8_t)(16 + rng_next(s) % 16);
		f->dst_net_mask = (uint8_t)(16 + rng_next(s) % 16);
		f->flow_direction = FLOW_DIRECTION_INGRESS;
	}
}

#define SFLOW_SAMPLES 7

/* What a switch samples: full-size TCP frames on VLAN 100, one in four
 * IPv6, between 48 interfaces; the encoder sends the first 128 bytes of each
 * frame and an extended switch record, so SFLOW_SAMPLES samples make a
 * datagram of 28 + 7 * 216 bytes. */
static void switch_flows(struct flow *flows, size_t n, uint64_t *s)
{
	for (size_t i = 0; i < n; i++) {
		struct flow *f = &flows[i];

		flow_reset(f);
		f->time_received = 1700000000;
		f->src_mac = 0x246e96900000ull | (rng_next(s) & 0xffff);
		f->dst_mac = 0x246e96040000ull | (rng_next(s) & 0xffff);
		f->src_vlan = f->dst_vlan = 100;
		if (i % 4 == 3) {
			uint64_t a = rng_next(s), b = rng_next(s);

			f->etype = 0x86dd;
			addr_from_text(&f->src_addr, "2001:db8::");
			addr_from_text(&f->dst_addr, "2001:db8:0:1::");
			memcpy(&f->src_addr.s6_addr[8], &a, 8);
			memcpy(&f->dst_addr.s6_addr[8], &b, 8);
			f->ipv6_flow_label = (uint32_t)(rng_next(s) & 0xfffff);
		} else {
			f->etype = 0x0800;
			addr_from_ipv4(&f->src_addr,
				       0xc6330000u | (uint32_t)(rng_next(s) & 0xffff));
			addr_from_ipv4(&f->dst_addr,
				       0xcb000000u | (uint32_t)(rng_next(s) & 0xffffff));
			f->ip_fragment_id = (uint32_t)(rng_next(s) & 0xffff);
		}
		f->proto = 6;
		f->ip_ttl = 64;
		f->src_port = (uint16_t)(1024 + rng_next(s) % 60000);
		f->dst_port = rng_next(s) & 1 ? 443 : 80;
		f->tcp_flags = 0x10;
		f->packets = 1;
		f->bytes = 1514 - 14; /* the IP packet of a 1514-byte frame */
		f->in_if = 1 + (uint32_t)(rng_next(s) % 48);
		f->out_if = 49 - f->in_if;
	}
}

/* Encodes flows[0..n) with `cfg` into `set`: with `prime`, the first
 * datagram (templates, sampling options) goes to set->prime, decoded once
 * first; then DGRAMS datagrams. -ENOSPC when the flows run out first. */
static int encode_set(struct decode_set *set, const struct demo_encoder_config *cfg,
		      const struct flow *flows, size_t n, int prime)
{
	struct demo_encoder *enc;
	size_t off = 0;
	int d = prime ? -1 : 0, ret;

	ret = demo_encoder_new(cfg, &enc, NULL);
	if (ret < 0)
		return ret;
	ret = -EINVAL;
	while (d < DGRAMS && off < n) {
		struct dgram *g = d < 0 ? &set->prime : &set->data[d];
		int r = demo_encoder_encode(enc, flows + off, n - off, g->data, sizeof(g->data),
					    &g->len);

		if (r < 0)
			goto out;
		off += (size_t)r;
		if (!g->len)
			continue;
		g->records = (uint32_t)r;
		d++;
	}
	ret = d == DGRAMS ? 0 : -ENOSPC;
out:
	demo_encoder_free(enc);
	return ret;
}

/* The router and switch cases: NetFlow v9 (RFC 3954) or IPFIX (RFC 7011)
 * with the compact template and sampling options data (1 in 1000) learnt
 * from the priming datagram, or sFlow v5 (stateless: no priming) at 1 in
 * 1024 from agent 172.16.0.3. */
static int build_router(struct decode_set *set, enum demo_format format)
{
	struct demo_encoder_config cfg = {
	    .format = format,
	    .domain_id = format == DEMO_SFLOW_V5 ? 0 : 1,
	    .sampling_rate = format == DEMO_SFLOW_V5 ? 1024 : 1000,
	    .max_size = format == DEMO_SFLOW_V5 ? 28 + SFLOW_SAMPLES * 216 : 1400,
	    .compact = 1,
	    .sflow_header_len = 128,
	};
	enum { NFLOWS = (DGRAMS + 2) * 32 };
	struct flow *flows = malloc(NFLOWS * sizeof(*flows));
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	int ret;

	if (!flows)
		return -ENOMEM;
	addr_from_ipv4(&cfg.agent, 0xac100003);
	if (format == DEMO_SFLOW_V5)
		switch_flows(flows, NFLOWS, &seed);
	else
		router_flows(flows, NFLOWS, &seed);
	ret = encode_set(set, &cfg, flows, NFLOWS, format != DEMO_SFLOW_V5);
	free(flows);
	return ret;
}

/* The same through the encoder's full template: it carries every field it
 * can (about 120 bytes a record, so fewer records a datagram) and its sFlow
 * samples hold only the packet's headers. The first datagram (templates,
 * sampling options) primes the state. */
static int build_demo(struct decode_set *set, enum demo_format format)
{
	struct demo_encoder_config cfg = {
	    .format = format,
	    .domain_id = 1,
	    .sampling_rate = 1000,
	    .max_size = 1400,
	};
	enum { NFLOWS = 4096 };
	struct flow *flows = malloc(NFLOWS * sizeof(*flows));
	uint64_t seed = 42;
	int ret;

	addr_from_ipv4(&cfg.agent, 0xac100003);
	if (!flows)
		return -ENOMEM;
	demo_flows_random(flows, NFLOWS, format, 1700000000, &seed);
	ret = encode_set(set, &cfg, flows, NFLOWS, 1);
	free(flows);
	return ret;
}

struct decode_case {
	const char *name;
	const char *unit; /* what one record is */
	double target;	  /* millions per second per core; 0: no target */
	enum decode_protocol proto;
	int demo;	   /* the encoder's full template (else a router's or switch's shape) */
	const char *shape; /* what the datagrams hold, for the report */
};

static const struct decode_case decode_cases[] = {
    {"netflow-v9", "records", 20, DECODE_PROTO_NETFLOW_V9, 0, "router template, 54 B/record"},
    {"ipfix", "records", 20, DECODE_PROTO_IPFIX, 0, "router template, 64 B/record"},
    {"sflow", "samples", 10, DECODE_PROTO_SFLOW_V5, 0, "128-byte headers"},
    {"netflow-v9-demo", "records", 0, DECODE_PROTO_NETFLOW_V9, 1, "demo encoder, wide template"},
    {"ipfix-demo", "records", 0, DECODE_PROTO_IPFIX, 1, "demo encoder, wide template"},
    {"sflow-demo", "samples", 0, DECODE_PROTO_SFLOW_V5, 1, "demo encoder, headers only"},
};
#define NCASES (sizeof(decode_cases) / sizeof(decode_cases[0]))

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Decodes `set` once to check it gives what it should; a decoder that is
 * not there yet (or broken) is reported instead of measured. */
static int decode_check(struct decode_state *st, const struct decode_set *set,
			const struct decode_case *c, struct flow *flows, uint32_t cap,
			struct error *err)
{
	struct decode_input in = {.time_received = 1700000000};
	struct decode_output out = {.flows = flows, .cap = cap};
	struct decode_result r;

	addr_from_ipv4(&in.exporter, 0xc0000201);
	if (set->prime.len) {
		in.data = set->prime.data;
		in.len = set->prime.len;
		decode_datagram(st, &in, &out, &r);
		if (r.status != DECODE_OK)
			return error_set(err, -EINVAL, "the templates datagram gave %s",
					 decode_reason_name(r.status));
	}
	for (int d = 0; d < DGRAMS; d++) {
		out.count = 0;
		in.data = set->data[d].data;
		in.len = set->data[d].len;
		decode_datagram(st, &in, &out, &r);
		if (r.protocol != c->proto || r.status != DECODE_OK ||
		    out.count != set->data[d].records)
			return error_set(err, -EINVAL, "datagram %d gave %u of %u %s (status %s)",
					 d, out.count, set->data[d].records, c->unit,
					 decode_reason_name(r.status));
	}
	return 0;
}

static int decode_measure(const struct decode_case *c, const struct decode_set *set,
			  uint64_t records, unsigned repeat)
{
	struct decode_config cfg;
	struct decode_state *st;
	struct flow flows[64];
	double rates[32];
	struct error why;
	uint64_t bytes = 0, nrec = 0;
	int ret = 0;

	decode_config_init(&cfg);
	ret = decode_state_new(&cfg, &st, NULL);
	if (ret < 0)
		return ret;
	if (decode_check(st, set, c, flows, 64, &why) < 0) {
		printf("decode %-16s not measured: %s\n", c->name, why.text);
		ret = -EINVAL;
		goto out;
	}
	for (int d = 0; d < DGRAMS; d++)
		bytes += set->data[d].len;
	for (unsigned rep = 0; rep < repeat; rep++) {
		struct decode_input in = {.time_received = 1700000000};
		struct decode_output out = {.flows = flows, .cap = 64};
		struct decode_result r;
		uint64_t done = 0;
		double t0, t1;

		addr_from_ipv4(&in.exporter, 0xc0000201);
		t0 = cpu_thread_s();
		while (done < records)
			for (int d = 0; d < DGRAMS; d++) {
				in.data = set->data[d].data;
				in.len = set->data[d].len;
				out.count = 0;
				decode_datagram(st, &in, &out, &r);
				done += out.count;
			}
		t1 = cpu_thread_s();
		rates[rep] = t1 > t0 ? (double)done / (t1 - t0) / 1e6 : 0;
	}
	qsort(rates, repeat, sizeof(rates[0]), cmp_double);
	for (int d = 0; d < DGRAMS; d++)
		nrec += set->data[d].records;
	printf("decode %-16s %6.1f M %s/s/core  (%zu-byte datagrams, %.0f %s each, %s; median "
	       "of %u, best %.1f)",
	       c->name, rates[repeat / 2], c->unit, (size_t)(bytes / DGRAMS), (double)nrec / DGRAMS,
	       c->unit, c->shape, repeat, rates[repeat - 1]);
	if (c->target > 0)
		printf("  target %.0f M/s: %s", c->target,
		       rates[repeat / 2] >= c->target ? "met" : "NOT met");
	putchar('\n');
out:
	decode_state_free(st);
	return ret;
}

static void bench_decode_usage(FILE *out, const void *ctx)
{
	fprintf(out,
		"usage: weir bench decode [OPTIONS] [CASE...]\n"
		"\n"
		"Decodes realistic datagrams on one thread pinned to one CPU and prints the\n"
		"median records (sFlow: samples) per second of CPU time over the runs:\n"
		"  netflow-v9  1400-byte datagrams of 25 records (a typical router template)\n"
		"  ipfix       the same in IPFIX with 64-bit times (21 records)\n"
		"  sflow       datagrams of %d flow samples with 128-byte sampled headers\n"
		"  netflow-v9-demo, ipfix-demo, sflow-demo\n"
		"              the encoder's full template (user/demo): every field it\n"
		"              can carry, random IPv4 and IPv6 flows (no target)\n"
		"Every case's datagrams come from the project's encoder (user/demo).\n"
		"Templates and sampling options are learnt first, as a collector would.\n"
		"\n"
		"options:\n"
		"  --records N  records decoded per run and case (default 10000000)\n"
		"  --repeat N   runs per case (default 5, at most 32)\n"
		"  --cpu N      pin to CPU N (default: the CPU it starts on)\n",
		SFLOW_SAMPLES);
}

int bench_decode_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"records", required_argument, NULL, 'r'},
	    {"repeat", required_argument, NULL, 'n'},
	    {"cpu", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	uint64_t records = 10000000;
	unsigned repeat = 5;
	int cpu = -1, opt, ret = 0;
	struct decode_set *set;
	struct cli_opts o;
	cpu_set_t cpus;
	char *end;

	cli_opts_init(&o, argc, argv, "h", opts, bench_decode_usage, NULL);
	while ((opt = cli_opts_next(&o)) >= 0) {
		switch (opt) {
		case 'r':
			records = strtoull(optarg, &end, 10);
			if (*end || !records) {
				fprintf(stderr, "weir bench decode: --records: '%s'\n", optarg);
				return 2;
			}
			break;
		case 'n':
			repeat = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !repeat || repeat > 32) {
				fprintf(stderr, "weir bench decode: --repeat: 1 to 32\n");
				return 2;
			}
			break;
		case 'c':
			cpu = (int)strtol(optarg, &end, 10);
			if (*end || cpu < 0 || cpu >= CPU_SETSIZE) {
				fprintf(stderr, "weir bench decode: --cpu: '%s'\n", optarg);
				return 2;
			}
			break;
		}
	}
	if (opt == CLI_OPTS_EXIT)
		return o.status;
	for (int i = optind; i < argc; i++) {
		size_t k;

		for (k = 0; k < NCASES; k++)
			if (!strcmp(argv[i], decode_cases[k].name))
				break;
		if (k == NCASES) {
			fprintf(stderr, "weir bench decode: unknown case '%s' (see --help)\n",
				argv[i]);
			return 2;
		}
	}
	if (cpu < 0)
		cpu = sched_getcpu();
	CPU_ZERO(&cpus);
	CPU_SET(cpu < 0 ? 0 : cpu, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus) < 0)
		fprintf(stderr, "weir bench decode: cannot pin to CPU %d: %s (measuring anyway)\n",
			cpu, strerror(errno));

	set = malloc(sizeof(*set));
	if (!set) {
		fprintf(stderr, "weir bench decode: out of memory\n");
		return 1;
	}
	for (size_t k = 0; k < NCASES; k++) {
		const struct decode_case *c = &decode_cases[k];
		int wanted = optind == argc;

		for (int i = optind; i < argc; i++)
			wanted |= !strcmp(argv[i], c->name);
		if (!wanted)
			continue;
		memset(set, 0, sizeof(*set));
		{
			enum demo_format f = c->proto == DECODE_PROTO_NETFLOW_V9 ? DEMO_NETFLOW_V9
					     : c->proto == DECODE_PROTO_IPFIX	 ? DEMO_IPFIX
										 : DEMO_SFLOW_V5;

			if ((c->demo ? build_demo(set, f) : build_router(set, f)) < 0) {
				printf("decode %-16s not measured: the demo encoder failed\n",
				       c->name);
				ret = 1;
				continue;
			}
		}
		fflush(stdout);
		if (decode_measure(c, set, records, repeat) < 0)
			ret = 1;
	}
	free(set);
	fflush(stdout);
	return ret;
}
