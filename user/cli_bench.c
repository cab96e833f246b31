// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir bench`: a table of named benchmarks, each printing its figures beside
 * its target. `weir bench decode` measures the decoders in records per second
 * per core on realistic datagrams; other stages add their own line below. */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench.h"
#include "cli.h"
#include "common/cpu_time.h"
#include "common/addr.h"
#include "decode/decode.h"
#include "demo/demo.h"
#include "inlet/inlet.h"
#include "outlet/outlet.h"
#include "orchestrator/orchestrator.h"

/* A benchmark is `int fn(int argc, char **argv)`: argv[0] is its name, it
 * answers --help, does a fixed amount of work (not a time limit), prints one
 * line per figure to stdout and returns the exit code (0 ok, 1 failed, 2
 * usage). */
typedef int (*bench_fn)(int argc, char **argv);

static int bench_decode(int argc, char **argv);

static const struct bench {
	const char *name;
	bench_fn run;
	const char *summary;
} benches[] = {
    {"decode", bench_decode, "records/s/core of the NetFlow v9, IPFIX and sFlow decoders"},
    {"inlet", inlet_bench, "datagrams/s received on a veth pair: AF_XDP vs recvmmsg"},
    {"e2e", outlet_bench, "flows/s from UDP datagrams to ClickHouse rows, ring and Kafka"},
    {"kafka", bus_kafka_bench_main, "envelopes/s through producer -> Kafka -> consumer group"},
    {"store", store_bench_main, "flows/s inserted into ClickHouse, bytes per flow on disk"},
    {"probe", bench_probe_main, "host probe on a veth pair: throughput cost, CPU vs softflowd"},
    /* A new benchmark is one line here, its function declared in its stage
     * header (included above); a function with another signature gets a
     * small adapter next to it, in its stage. */
};

#define NBENCHES (sizeof(benches) / sizeof(benches[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: weir bench NAME [OPTIONS]   run one benchmark\n"
		     "       weir bench all                run every benchmark with its defaults\n"
		     "\n"
		     "Each benchmark does a fixed amount of work and prints its figures beside\n"
		     "the project's targets. Figures depend on the machine and on what else runs\n"
		     "on it. 'weir bench NAME --help' describes a benchmark's options.\n\n"
		     "benchmarks:\n");
	for (size_t i = 0; i < NBENCHES; i++)
		fprintf(out, "  %-8s %s\n", benches[i].name, benches[i].summary);
}

int cli_bench_main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "all")) {
		int ret = 0;

		for (size_t i = 0; i < NBENCHES; i++) {
			char *args[] = {(char *)benches[i].name, NULL};
			int r;

			fflush(stdout);
			r = benches[i].run(1, args);
			if (r > ret)
				ret = r;
		}
		return ret;
	}
	for (size_t i = 0; i < NBENCHES; i++)
		if (!strcmp(argv[1], benches[i].name))
			return benches[i].run(argc - 1, argv + 1);
	fprintf(stderr, "weir bench: unknown benchmark '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}

/* ==== weir bench decode ==== */

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

/* Big-endian writer over one datagram. */
struct wr {
	uint8_t *p;
	size_t len;
};

static void put8(struct wr *w, uint8_t v)
{
	if (w->len < DGRAM_MAX)
		w->p[w->len] = v;
	w->len++;
}
static void put16(struct wr *w, uint16_t v)
{
	put8(w, v >> 8);
	put8(w, (uint8_t)v);
}
static void put32(struct wr *w, uint32_t v)
{
	put16(w, v >> 16);
	put16(w, (uint16_t)v);
}
static void put64(struct wr *w, uint64_t v)
{
	put32(w, v >> 32);
	put32(w, (uint32_t)v);
}
static void putn(struct wr *w, const void *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(w, ((const uint8_t *)b)[i]);
}
/* Patches a 16-bit length at `at`. */
static void patch16(struct wr *w, size_t at, uint16_t v)
{
	w->p[at] = v >> 8;
	w->p[at + 1] = (uint8_t)v;
}

/* Reproducible pseudo-random numbers (xorshift64*). */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* A template as a router typically sends it (Cisco/Juniper IPv4: about 55
 * bytes a record, so 20-30 records fill a 1400-byte datagram). */
struct tfield {
	uint16_t ie, len;
};
static const struct tfield v9_fields[] = {
    {8, 4},  {12, 4}, {15, 4}, {10, 4}, {14, 4}, {2, 4},  {1, 4}, {22, 4}, {21, 4}, {7, 2},
    {11, 2}, {6, 1},  {4, 1},  {5, 1},	{16, 4}, {17, 4}, {9, 1}, {13, 1}, {61, 1}, {48, 1},
};
static const struct tfield ipfix_fields[] = {
    {8, 4},  {12, 4}, {15, 4}, {10, 4}, {14, 4}, {2, 4},  {1, 4}, {152, 8}, {153, 8}, {7, 2},
    {11, 2}, {6, 2},  {4, 1},  {5, 1},	{16, 4}, {17, 4}, {9, 1}, {13, 1},  {61, 1},  {302, 1},
};
#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

static void put_field(struct wr *w, uint16_t ie, uint16_t len, uint64_t *s, uint32_t i)
{
	uint64_t v;

	switch (ie) {
	case 8:					     /* sourceIPv4Address */
		v = 0xc6330000u | (rnd(s) & 0xffff); /* 198.51.x.y */
		break;
	case 12:
		v = 0xcb000000u | (rnd(s) & 0xffffff);
		break;
	case 15:
		v = 0xc0000201u + (i & 7);
		break;
	case 10:
	case 14:
		v = 1 + rnd(s) % 48;
		break;
	case 2:
		v = 1 + rnd(s) % 8;
		break;
	case 1:
		v = 40 + rnd(s) % 12000;
		break;
	case 22:
	case 21:
		v = 3600000 + i;
		break;
	case 152:
	case 153:
		v = 1700000000000ull + i;
		break;
	case 7:
	case 11:
		v = rnd(s) & 1 ? 443 : 1024 + rnd(s) % 60000;
		break;
	case 6:
		v = 0x18;
		break;
	case 4:
		v = rnd(s) % 4 ? 6 : 17;
		break;
	case 16:
	case 17:
		v = 64496 + rnd(s) % 1000;
		break;
	case 9:
	case 13:
		v = 16 + rnd(s) % 16;
		break;
	case 61:
		v = 0;
		break;
	case 48:
	case 302:
		v = 1; /* sampler id: the sampling options data below */
		break;
	default:
		v = 0;
		break;
	}
	for (int b = len - 1; b >= 0; b--)
		put8(w, (uint8_t)(v >> (8 * b)));
}

static uint32_t record_len(const struct tfield *f, size_t n)
{
	uint32_t len = 0;

	for (size_t i = 0; i < n; i++)
		len += f[i].len;
	return len;
}

/* NetFlow v9 (RFC 3954 5.1 header, 5.2 template, 6.1 options template).
 * Priming datagram: template 256, options template 257 (scope system;
 * FLOW_SAMPLER_ID, SAMPLING_INTERVAL) and its data (sampler 1: 1 in 1000). */
static void build_v9(struct decode_set *set, uint16_t max_size)
{
	uint32_t rlen = record_len(v9_fields, NFIELDS(v9_fields));
	uint32_t nrec = (max_size - 20 - 4) / rlen;
	uint64_t s = 0x9e3779b97f4a7c15ull;
	struct wr w = {.p = set->prime.data};
	size_t at;

	put16(&w, 9);
	put16(&w, 3);
	put32(&w, 3600000);
	put32(&w, 1700000000);
	put32(&w, 0);
	put32(&w, 1); /* source id */
	put16(&w, 0);
	put16(&w, (uint16_t)(4 + 4 + 4 * NFIELDS(v9_fields)));
	put16(&w, 256);
	put16(&w, NFIELDS(v9_fields));
	for (size_t i = 0; i < NFIELDS(v9_fields); i++) {
		put16(&w, v9_fields[i].ie);
		put16(&w, v9_fields[i].len);
	}
	put16(&w, 1);
	put16(&w, 4 + 6 + 12 + 2); /* with its padding (RFC 3954 6.1) */
	put16(&w, 257);
	put16(&w, 4);		/* scope bytes */
	put16(&w, 8);		/* option bytes */
	put32(&w, 1 << 16 | 4); /* scope: system, 4 bytes */
	put32(&w, 48 << 16 | 1);
	put32(&w, 34 << 16 | 4);
	put16(&w, 0); /* padding */
	put16(&w, 257);
	put16(&w, 4 + 12);
	put32(&w, 0);
	put8(&w, 1);
	put32(&w, 1000);
	put16(&w, 0);
	put8(&w, 0);
	set->prime.len = w.len;
	set->prime.records = 0;

	for (int d = 0; d < DGRAMS; d++) {
		w = (struct wr){.p = set->data[d].data};
		put16(&w, 9);
		put16(&w, (uint16_t)nrec);
		put32(&w, 3600000 + d);
		put32(&w, 1700000000 + d);
		put32(&w, 1 + d);
		put32(&w, 1);
		at = w.len;
		put16(&w, 256);
		put16(&w, 0);
		for (uint32_t r = 0; r < nrec; r++)
			for (size_t i = 0; i < NFIELDS(v9_fields); i++)
				put_field(&w, v9_fields[i].ie, v9_fields[i].len, &s, r);
		while ((w.len - at) % 4)
			put8(&w, 0);
		patch16(&w, at + 2, (uint16_t)(w.len - at));
		set->data[d].len = w.len;
		set->data[d].records = nrec;
	}
}

/* IPFIX (RFC 7011 3.1 header, 3.4.1 template, 3.4.2.2 options template).
 * Priming: template 256, options template 257 (scope selectorId 302;
 * samplingPacketInterval 305, samplingPacketSpace 306: 1 in 1000). */
static void build_ipfix(struct decode_set *set, uint16_t max_size)
{
	uint32_t rlen = record_len(ipfix_fields, NFIELDS(ipfix_fields));
	uint32_t nrec = (max_size - 16 - 4) / rlen;
	uint64_t s = 0x2545f4914f6cdd1dull;
	struct wr w = {.p = set->prime.data};
	size_t at;

	put16(&w, 10);
	put16(&w, 0);
	put32(&w, 1700000000);
	put32(&w, 0);
	put32(&w, 1); /* observation domain */
	put16(&w, 2);
	put16(&w, (uint16_t)(4 + 4 + 4 * NFIELDS(ipfix_fields)));
	put16(&w, 256);
	put16(&w, NFIELDS(ipfix_fields));
	for (size_t i = 0; i < NFIELDS(ipfix_fields); i++) {
		put16(&w, ipfix_fields[i].ie);
		put16(&w, ipfix_fields[i].len);
	}
	put16(&w, 3);
	put16(&w, 4 + 6 + 12);
	put16(&w, 257);
	put16(&w, 3); /* fields */
	put16(&w, 1); /* scope fields */
	put32(&w, 302u << 16 | 1);
	put32(&w, 305u << 16 | 4);
	put32(&w, 306u << 16 | 4);
	put16(&w, 257);
	put16(&w, 4 + 9);
	put8(&w, 1);
	put32(&w, 1);
	put32(&w, 999);
	patch16(&w, 2, (uint16_t)w.len);
	set->prime.len = w.len;
	set->prime.records = 0;

	for (int d = 0; d < DGRAMS; d++) {
		w = (struct wr){.p = set->data[d].data};
		put16(&w, 10);
		put16(&w, 0);
		put32(&w, 1700000000 + d);
		put32(&w, (uint32_t)d * nrec);
		put32(&w, 1);
		at = w.len;
		put16(&w, 256);
		put16(&w, 0);
		for (uint32_t r = 0; r < nrec; r++)
			for (size_t i = 0; i < NFIELDS(ipfix_fields); i++)
				put_field(&w, ipfix_fields[i].ie, ipfix_fields[i].len, &s, r);
		patch16(&w, at + 2, (uint16_t)(w.len - at));
		patch16(&w, 2, (uint16_t)w.len);
		set->data[d].len = w.len;
		set->data[d].records = nrec;
	}
}

/* The first 128 bytes of a 1514-byte frame, as a switch samples it:
 * Ethernet, 802.1Q, IPv4 or IPv6, TCP, then payload. */
static size_t sampled_frame(uint8_t *f, uint64_t *s, int v6)
{
	struct wr w = {.p = f};
	uint16_t sport = (uint16_t)(1024 + rnd(s) % 60000), dport = rnd(s) & 1 ? 443 : 80;

	put32(&w, 0x246e9690);
	put16(&w, (uint16_t)rnd(s));
	put32(&w, 0x246e9604);
	put16(&w, (uint16_t)rnd(s));
	put16(&w, 0x8100);
	put16(&w, 100);
	if (v6) {
		put16(&w, 0x86dd);
		put32(&w, 6u << 28 | (uint32_t)(rnd(s) & 0xfffff));
		put16(&w, 1514 - 18 - 40);
		put8(&w, 6);
		put8(&w, 64);
		put32(&w, 0x20010db8);
		put32(&w, 0);
		put64(&w, rnd(s));
		put32(&w, 0x20010db8);
		put32(&w, 1);
		put64(&w, rnd(s));
	} else {
		put16(&w, 0x0800);
		put8(&w, 0x45);
		put8(&w, 0);
		put16(&w, 1514 - 18);
		put16(&w, (uint16_t)rnd(s));
		put16(&w, 0x4000);
		put8(&w, 64);
		put8(&w, 6);
		put16(&w, 0);
		put32(&w, 0xc6330000u | (uint32_t)(rnd(s) & 0xffff));
		put32(&w, 0xcb000000u | (uint32_t)(rnd(s) & 0xffffff));
	}
	put16(&w, sport);
	put16(&w, dport);
	put32(&w, (uint32_t)rnd(s));
	put32(&w, (uint32_t)rnd(s));
	put16(&w, 5 << 12 | 0x10);
	put16(&w, 65535);
	put32(&w, 0);
	while (w.len < 128)
		put8(&w, (uint8_t)rnd(s));
	return w.len;
}

#define SFLOW_SAMPLES 7

/* sFlow v5 (sFlow v5 spec 5.3 datagram, 5.4 flow sample, 5.4.1 sampled
 * header, extended switch): SFLOW_SAMPLES flow samples of a 128-byte header
 * each, one in four IPv6. No priming: sFlow is stateless. */
static void build_sflow(struct decode_set *set)
{
	uint64_t s = 0x853c49e6748fea9bull;

	set->prime.len = 0;
	for (int d = 0; d < DGRAMS; d++) {
		struct wr w = {.p = set->data[d].data};

		put32(&w, 5);
		put32(&w, 1);
		put32(&w, 0xac100003); /* agent 172.16.0.3 */
		put32(&w, 0);	       /* sub-agent */
		put32(&w, 1 + d);
		put32(&w, 3600000 + d);
		put32(&w, SFLOW_SAMPLES);
		for (int i = 0; i < SFLOW_SAMPLES; i++) {
			uint8_t frame[160];
			size_t flen = sampled_frame(frame, &s, (d * SFLOW_SAMPLES + i) % 4 == 3);
			size_t at;
			uint32_t in_if = 1 + rnd(&s) % 48;

			put32(&w, 1); /* flow sample */
			at = w.len;
			put32(&w, 0);
			put32(&w, (uint32_t)(d * SFLOW_SAMPLES + i));
			put32(&w, in_if);
			put32(&w, 1024);
			put32(&w, (uint32_t)(1024 * (d * SFLOW_SAMPLES + i)));
			put32(&w, 0);
			put32(&w, in_if);
			put32(&w, 49 - in_if);
			put32(&w, 2); /* records */
			put32(&w, 1); /* sampled header */
			put32(&w, (uint32_t)(16 + flen));
			put32(&w, 1); /* ethernet */
			put32(&w, 1514 + 4);
			put32(&w, 4);
			put32(&w, (uint32_t)flen);
			putn(&w, frame, flen);
			put32(&w, 1001); /* extended switch */
			put32(&w, 16);
			put32(&w, 100);
			put32(&w, 0);
			put32(&w, 100);
			put32(&w, 0);
			w.p[at] = 0;
			w.p[at + 1] = 0;
			patch16(&w, at + 2, (uint16_t)(w.len - at - 4));
		}
		set->data[d].len = w.len;
		set->data[d].records = SFLOW_SAMPLES;
	}
}

/* The same through the project's own encoder (user/demo): its v9/IPFIX
 * template carries every field it can (about 120 bytes a record, so fewer
 * records a datagram) and its sFlow samples hold only the packet's headers.
 * The first datagram (templates, sampling options) primes the state. */
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
	struct demo_encoder *enc = NULL;
	uint64_t seed = 42;
	size_t off = 0;
	int d = -1, ret = -EINVAL;

	addr_from_ipv4(&cfg.agent, 0xac100003);
	if (!flows)
		return -ENOMEM;
	demo_flows_random(flows, NFLOWS, format, 1700000000, &seed);
	enc = demo_encoder_new(&cfg);
	if (!enc)
		goto out;
	while (d < DGRAMS && off < NFLOWS) {
		struct dgram *g = d < 0 ? &set->prime : &set->data[d];
		int r = demo_encoder_encode(enc, flows + off, NFLOWS - off, g->data,
					    sizeof(g->data), &g->len);

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
	free(flows);
	return ret;
}

struct decode_case {
	const char *name;
	const char *unit; /* what one record is */
	double target;	  /* millions per second per core; 0: no target */
	enum decode_protocol proto;
	int demo;	   /* datagrams from the demo encoder */
	const char *shape; /* what the datagrams hold, for the report */
};

static const struct decode_case decode_cases[] = {
    {"netflow-v9", "records", 20, DECODE_PROTO_NETFLOW_V9, 0, "router template, 55 B/record"},
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
			const struct decode_case *c, struct flow *flows, uint32_t cap, char *why,
			size_t whylen)
{
	struct decode_input in = {.time_received = 1700000000};
	struct decode_output out = {.flows = flows, .cap = cap};
	struct decode_result r;

	addr_from_ipv4(&in.exporter, 0xc0000201);
	if (set->prime.len) {
		in.data = set->prime.data;
		in.len = set->prime.len;
		decode_datagram(st, &in, &out, &r);
		if (r.status != DECODE_OK) {
			snprintf(why, whylen, "the templates datagram gave %s",
				 decode_reason_name(r.status));
			return -EINVAL;
		}
	}
	for (int d = 0; d < DGRAMS; d++) {
		out.count = 0;
		in.data = set->data[d].data;
		in.len = set->data[d].len;
		decode_datagram(st, &in, &out, &r);
		if (r.protocol != c->proto || r.status != DECODE_OK ||
		    out.count != set->data[d].records) {
			snprintf(why, whylen, "datagram %d gave %u of %u %s (status %s)", d,
				 out.count, set->data[d].records, c->unit,
				 decode_reason_name(r.status));
			return -EINVAL;
		}
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
	char why[160];
	uint64_t bytes = 0, nrec = 0;
	int ret = 0;

	decode_config_init(&cfg);
	st = decode_state_new(&cfg);
	if (!st)
		return -ENOMEM;
	if (decode_check(st, set, c, flows, 64, why, sizeof(why)) < 0) {
		printf("decode %-16s not measured: %s\n", c->name, why);
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

static void bench_decode_usage(FILE *out)
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
		"              datagrams of the project's encoder (user/demo): every field it\n"
		"              can carry, random IPv4 and IPv6 flows (no target)\n"
		"Templates and sampling options are learnt first, as a collector would.\n"
		"\n"
		"options:\n"
		"  --records N  records decoded per run and case (default 10000000)\n"
		"  --repeat N   runs per case (default 5, at most 32)\n"
		"  --cpu N      pin to CPU N (default: the CPU it starts on)\n",
		SFLOW_SAMPLES);
}

static int bench_decode(int argc, char **argv)
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
	cpu_set_t cpus;
	char *end;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
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
		case 'h':
			bench_decode_usage(stdout);
			return 0;
		default:
			bench_decode_usage(stderr);
			return 2;
		}
	}
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
		if (c->demo) {
			enum demo_format f = c->proto == DECODE_PROTO_NETFLOW_V9 ? DEMO_NETFLOW_V9
					     : c->proto == DECODE_PROTO_IPFIX	 ? DEMO_IPFIX
										 : DEMO_SFLOW_V5;

			if (build_demo(set, f) < 0) {
				printf("decode %-16s not measured: the demo encoder failed\n",
				       c->name);
				ret = 1;
				continue;
			}
		} else if (c->proto == DECODE_PROTO_NETFLOW_V9) {
			build_v9(set, 1400);
		} else if (c->proto == DECODE_PROTO_IPFIX) {
			build_ipfix(set, 1400);
		} else {
			build_sflow(set);
		}
		fflush(stdout);
		if (decode_measure(c, set, records, repeat) < 0)
			ret = 1;
	}
	free(set);
	fflush(stdout);
	return ret;
}
