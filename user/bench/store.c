// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir bench store`'s measurement: realistic flows through store writers
 * into a real ClickHouse, then bytes per flow on disk in `flows`
 * (store_main.c prepares the server and the schema). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cpu_time.h"
#include "common/addr.h"
#include "common/clock.h"
#include "common/log.h"
#include "bench_internal.h"

#define CHUNK 1024 /* flows per append, as an outlet appends a few datagrams' worth */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	/* splitmix64: fast, good enough for test data */
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned below(struct rng *r, unsigned n)
{
	return (unsigned)(rnd(r) % n);
}

/* ---- the simple generator (the bench's first one, kept for A/B) ---- */

/* Skewed pick in [0, n): small values far more often. */
static unsigned skewed(struct rng *r, unsigned n)
{
	uint64_t a = rnd(r) % n, b = rnd(r) % n;
	return (unsigned)(a * b / n);
}

/* Every field drawn independently: 4 exporters, 16 interfaces, 50000
 * remote hosts, random ephemeral ports, random IP IDs and flow times. */
static void gen_simple(struct flow *f, struct rng *r)
{
	static const uint16_t services[] = {443, 443, 443, 443, 80, 80, 53, 22, 25, 993, 123, 8080};
	static const uint8_t ttls[] = {64, 128, 255, 57, 119, 52};
	static const uint16_t flags[] = {0x18, 0x10, 0x1b, 0x02, 0x11, 0x1a};
	unsigned exporter = skewed(r, 4), remote = skewed(r, 50000), local = skewed(r, 2000);
	unsigned in_if = 1 + skewed(r, 16), out_if = 17 + skewed(r, 16), proto_pick = below(r, 100);
	int v6 = remote % 5 == 0;
	int inbound = below(r, 3) != 0;
	struct in6_addr remote_addr, local_addr;

	memset(f, 0, sizeof(*f));
	addr_from_ipv4(&f->exporter_address, 0xc0000201 + exporter);
	f->sampling_rate = exporter == 3 ? 1 : 1000u << (exporter & 1);
	if (v6) {
		memset(&remote_addr, 0, sizeof(remote_addr));
		remote_addr.s6_addr[0] = 0x2a;
		remote_addr.s6_addr[1] = (uint8_t)(remote >> 8);
		remote_addr.s6_addr[5] = (uint8_t)remote;
		remote_addr.s6_addr[15] = (uint8_t)(remote * 7);
		memset(&local_addr, 0, sizeof(local_addr));
		local_addr.s6_addr[0] = 0x20;
		local_addr.s6_addr[1] = 0x01;
		local_addr.s6_addr[2] = 0x0d;
		local_addr.s6_addr[3] = 0xb8;
		local_addr.s6_addr[14] = (uint8_t)(local >> 8);
		local_addr.s6_addr[15] = (uint8_t)local;
		f->etype = 0x86dd;
		f->ipv6_flow_label = (uint32_t)rnd(r) & 0xfffff;
	} else {
		addr_from_ipv4(&remote_addr, 0x01000000u + remote * 65537u);
		addr_from_ipv4(&local_addr, 0xcb007100u + local % 256 + (local / 256) * 65536u);
		f->etype = 0x0800;
		f->ip_fragment_id = (uint32_t)rnd(r) & 0xffff;
	}
	f->src_addr = inbound ? remote_addr : local_addr;
	f->dst_addr = inbound ? local_addr : remote_addr;
	f->src_as = inbound ? 64512 + remote % 300 : 65001;
	f->dst_as = inbound ? 65001 : 64512 + remote % 300;
	f->src_net_mask = v6 ? 48 : 24;
	f->dst_net_mask = v6 ? 64 : 24;
	f->in_if = inbound ? in_if : out_if;
	f->out_if = inbound ? out_if : in_if;
	f->flow_direction = FLOW_DIRECTION_INGRESS;
	f->forwarding_status = 64;
	f->src_mac = 0x020000000000ULL + exporter * 256 + f->in_if;
	f->dst_mac = 0x020000010000ULL + exporter * 256 + f->out_if;
	addr_from_ipv4(&f->next_hop, 0x0a000000u + exporter * 256 + f->out_if);
	if (proto_pick < 80) {
		f->proto = 6;
		f->tcp_flags = flags[below(r, 6)];
	} else if (proto_pick < 98) {
		f->proto = 17;
	} else {
		f->proto = v6 ? 58 : 1;
		if (v6)
			f->icmpv6_type = 128;
		else
			f->icmpv4_type = 8;
	}
	if (f->proto != 1 && f->proto != 58) {
		uint16_t service = services[below(r, 12)];
		uint16_t ephemeral = (uint16_t)(32768 + below(r, 28232));
		f->src_port = inbound ? ephemeral : service;
		f->dst_port = inbound ? service : ephemeral;
	}
	f->ip_ttl = ttls[remote % 6];
	f->ip_tos = below(r, 10) ? 0 : 0xb8;
	f->packets = 1 + skewed(r, 64);
	f->bytes = f->packets * (40 + skewed(r, 1461));
	if (inbound && remote % 3 == 0) {
		f->dst_as_path_count = (uint8_t)(1 + remote % 4);
		for (unsigned k = 0; k < f->dst_as_path_count; k++)
			f->dst_as_path[k] = 64512 + (remote + 37 * k) % 300;
	}
}

/* ---- the realistic generator ----
 * What a border of a hosting or access network exports: few exporters and
 * interfaces, remote hosts from a bounded population whose popularity
 * follows Zipf's law (a few ASes and hosts carry most flows, and a host
 * keeps its AS, TTL and path), a handful of service ports against random
 * ephemeral ones, sampled flows of one or a few packets. Half the exporters
 * speak sFlow (header fields of the sampled packet: TTL, IP ID, flow label,
 * TCP flags, MACs), half IPFIX (cumulative TCP flags, next hop, no header
 * fields), as a mixed network does. */

#define N_EXPORTERS 4
#define N_UPLINKS   4  /* external interfaces per exporter (transit, IX) */
#define N_INTERNAL  24 /* internal interfaces per exporter */
#define N_AS	    4000
#define N_HOSTS_AS  4096 /* hosts per remote AS */
#define N_LOCAL	    8192 /* local servers and customers */

/* Inverse CDF of a Zipf law over [0, n) as 32-bit thresholds. */
struct zipf {
	uint32_t *cdf;
	unsigned n;
};

static int zipf_init(struct zipf *z, unsigned n, double s)
{
	double sum = 0, acc = 0;

	z->n = n;
	z->cdf = malloc(n * sizeof(*z->cdf));
	if (!z->cdf)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++)
		sum += pow(i + 1, -s);
	for (unsigned i = 0; i < n; i++) {
		acc += pow(i + 1, -s);
		z->cdf[i] = (uint32_t)fmin(4294967295.0, acc / sum * 4294967296.0);
	}
	z->cdf[n - 1] = UINT32_MAX;
	return 0;
}

static unsigned zipf_pick(const struct zipf *z, struct rng *r)
{
	uint32_t u = (uint32_t)(rnd(r) >> 32);
	unsigned lo = 0, hi = z->n - 1;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (z->cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct gen {
	struct zipf as, host, local, uplink, internal, exporter, tcp_service, udp_service;
};

static void gen_fini(struct gen *g)
{
	free(g->as.cdf);
	free(g->host.cdf);
	free(g->local.cdf);
	free(g->uplink.cdf);
	free(g->internal.cdf);
	free(g->exporter.cdf);
	free(g->tcp_service.cdf);
	free(g->udp_service.cdf);
}

static const uint16_t tcp_services[] = {443, 80, 22, 993, 25, 8080, 8443, 3389, 587, 465};
static const uint16_t udp_services[] = {443, 53, 123, 3478, 4500, 51820, 1194, 500};

static int gen_init(struct gen *g)
{
	int r = 0;

	memset(g, 0, sizeof(*g));
	r |= zipf_init(&g->as, N_AS, 1.1);
	r |= zipf_init(&g->host, N_HOSTS_AS, 1.0);
	r |= zipf_init(&g->local, N_LOCAL, 0.9);
	r |= zipf_init(&g->uplink, N_UPLINKS, 1.0);
	r |= zipf_init(&g->internal, N_INTERNAL, 0.8);
	r |= zipf_init(&g->exporter, N_EXPORTERS, 0.7);
	r |= zipf_init(&g->tcp_service, sizeof(tcp_services) / sizeof(tcp_services[0]), 1.5);
	r |= zipf_init(&g->udp_service, sizeof(udp_services) / sizeof(udp_services[0]), 1.2);
	if (r) {
		gen_fini(g);
		return -ENOMEM;
	}
	return 0;
}

/* A stable 32-bit hash, so that a host keeps its attributes. */
static uint32_t mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	return x ^ (x >> 16);
}

static void gen_realistic(const struct gen *g, struct flow *f, struct rng *r)
{
	unsigned exporter = zipf_pick(&g->exporter, r);
	unsigned as = zipf_pick(&g->as, r), host = zipf_pick(&g->host, r);
	unsigned local = zipf_pick(&g->local, r);
	uint32_t id = mix32(as * N_HOSTS_AS + host); /* the remote host's traits */
	int sflow = exporter % 2 == 0;
	int v6 = id % 100 < 35;		  /* 35 % of remote hosts answer over IPv6 */
	int inbound = below(r, 100) < 70; /* downloads dominate */
	unsigned uplink = 1 + zipf_pick(&g->uplink, r);
	unsigned internal = 100 + zipf_pick(&g->internal, r);
	uint32_t asn = as < 20 ? 13335 + as * 1009 : 64512 + as; /* the big ones look public */
	unsigned pick = below(r, 1000);
	struct in6_addr remote, loc;

	memset(f, 0, sizeof(*f));
	addr_from_ipv4(&f->exporter_address, 0xc0000201 + exporter);
	f->sampling_rate = sflow ? 2048 : 1000;
	if (v6) {
		memset(&remote, 0, sizeof(remote));
		remote.s6_addr[0] = 0x2a;
		remote.s6_addr[1] = 0x00;
		remote.s6_addr[2] = (uint8_t)(as >> 8);
		remote.s6_addr[3] = (uint8_t)as;
		remote.s6_addr[7] = (uint8_t)(host >> 8); /* one /64 per host */
		memcpy(&remote.s6_addr[8], &id, 4);
		remote.s6_addr[14] = (uint8_t)(host >> 8);
		remote.s6_addr[15] = (uint8_t)host;
		memset(&loc, 0, sizeof(loc));
		loc.s6_addr[0] = 0x20;
		loc.s6_addr[1] = 0x01;
		loc.s6_addr[2] = 0x0d;
		loc.s6_addr[3] = 0xb8;
		loc.s6_addr[7] = (uint8_t)(local >> 10);
		loc.s6_addr[14] = (uint8_t)(local >> 8);
		loc.s6_addr[15] = (uint8_t)local;
		f->etype = 0x86dd;
		f->src_net_mask = inbound ? 32 : 48;
		f->dst_net_mask = inbound ? 48 : 32;
	} else {
		/* AS n owns 16.0.0.0 + n * 4096 hosts (a /20) */
		addr_from_ipv4(&remote, 0x10000000u + as * N_HOSTS_AS + host);
		addr_from_ipv4(&loc, 0xcb000000u + (local / 2048) * 65536 + local % 2048);
		f->etype = 0x0800;
		f->src_net_mask = inbound ? 20 : 21;
		f->dst_net_mask = inbound ? 21 : 20;
	}
	f->src_addr = inbound ? remote : loc;
	f->dst_addr = inbound ? loc : remote;
	f->src_as = inbound ? asn : 65001;
	f->dst_as = inbound ? 65001 : asn;
	f->in_if = inbound ? uplink : internal;
	f->out_if = inbound ? internal : uplink;
	f->flow_direction = FLOW_DIRECTION_INGRESS;
	f->forwarding_status = 64;
	if (pick < 850) {
		f->proto = 6;
	} else if (pick < 990) {
		f->proto = 17;
	} else {
		f->proto = v6 ? 58 : 1;
		if (v6)
			f->icmpv6_type = (uint8_t)(pick % 2 ? 128 : 129);
		else
			f->icmpv4_type = (uint8_t)(pick % 2 ? 8 : 0);
	}
	if (f->proto == 6 || f->proto == 17) {
		uint16_t service = f->proto == 6 ? tcp_services[zipf_pick(&g->tcp_service, r)]
						 : udp_services[zipf_pick(&g->udp_service, r)];
		uint16_t ephemeral = (uint16_t)(32768 + below(r, 28232));
		/* inbound = the remote server answers the local client */
		f->src_port = inbound ? service : ephemeral;
		f->dst_port = inbound ? ephemeral : service;
	}
	/* Sampled flows: mostly one packet, full-size downloads, small acks. */
	f->packets = pick % 10 < 7 ? 1 : 1 + below(r, pick % 10 < 9 ? 4 : 40);
	{
		unsigned size_pick = below(r, 100);
		unsigned size = size_pick < 55	 ? 1500 - (below(r, 4) ? 0 : below(r, 100))
				: size_pick < 85 ? 52 + 4 * below(r, 8)
						 : 80 + below(r, 1320);
		if (!inbound && size_pick < 70)
			size = 52 + 4 * below(r, 8); /* uploads: mostly acks */
		f->bytes = f->packets * size;
	}
	if (sflow) {
		static const uint8_t initial_ttl[] = {64, 64, 128, 255};
		unsigned hops = 5 + id % 18;

		f->ip_ttl = (uint8_t)(inbound ? initial_ttl[(id >> 8) % 4] - hops : 63);
		f->tcp_flags = f->proto == 6 ? (below(r, 4) ? 0x10 : 0x18) : 0;
		if (v6)
			f->ipv6_flow_label = (id ^ (uint32_t)below(r, 16)) & 0xfffff;
		else
			f->ip_fragment_id = below(r, 65536);
		f->src_mac = 0x0c0000000000ULL + exporter * 256 + f->in_if;
		f->dst_mac = 0x0c0001000000ULL + exporter * 256 + f->out_if;
		f->ip_tos = below(r, 20) ? 0 : 0x28;
	} else {
		static const uint16_t cumulative[] = {0x1b, 0x1a, 0x18, 0x10, 0x1f, 0x02, 0x12};
		f->tcp_flags = f->proto == 6 ? cumulative[zipf_pick(&g->uplink, r) % 7] : 0;
		addr_from_ipv4(&f->next_hop, 0x0a000000u + exporter * 256 + f->out_if);
		f->ip_tos = below(r, 20) ? 0 : 0x28;
	}
	/* AS path toward remote destinations: through one of 3 transits. */
	if (!inbound) {
		unsigned len = 1 + id % 4;
		f->dst_as_path_count = (uint8_t)len;
		f->dst_as_path[0] = 174 + (id >> 4) % 3 * 1000;
		for (unsigned k = 1; k < len; k++)
			f->dst_as_path[k] = 64512 + (as + 37 * k) % N_AS;
		f->dst_as_path[len - 1] = asn;
	}
}

struct bench_flow_gen {
	struct gen gen;
	struct rng rng;
};

int bench_flow_gen_new(uint64_t seed, struct bench_flow_gen **out)
{
	struct bench_flow_gen *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (!g || gen_init(&g->gen) < 0) {
		free(g);
		return -ENOMEM;
	}
	g->rng.s = seed;
	*out = g;
	return 0;
}

void bench_flow_gen_next(struct bench_flow_gen *g, struct flow *f)
{
	gen_realistic(&g->gen, f, &g->rng);
}

void bench_flow_gen_free(struct bench_flow_gen *g)
{
	if (!g)
		return;
	gen_fini(&g->gen);
	free(g);
}

/* The streams wait here (writers created) for the clock to start. */
struct start_line {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned ready;
	int go;
};

static void start_line_wait(struct start_line *s)
{
	pthread_mutex_lock(&s->lock);
	s->ready++;
	pthread_cond_broadcast(&s->cond);
	while (!s->go)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

/* Waits for `n` streams to be ready. */
static void start_line_ready(struct start_line *s, unsigned n)
{
	pthread_mutex_lock(&s->lock);
	while (s->ready < n)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

/* Lets them all go. */
static void start_line_go(struct start_line *s)
{
	pthread_mutex_lock(&s->lock);
	s->go = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

struct stream {
	const struct store_config *cfg;
	const struct bench_store_options *opt;
	const struct gen *gen;
	struct start_line *start;
	unsigned index, count; /* this stream, of count */
	uint64_t rows;
	uint64_t base_time;
	int result;
	double gen_s, encode_s, flush_s;
	char error[256];
};

/* Generates each chunk of flows just before appending it (fresh flows for
 * every row: reusing a pool would put copies side by side once sorted and
 * flatter the bytes per flow), appends, and flushes every batch-rows. */
static void *run_stream(void *arg)
{
	struct stream *st = arg;
	struct store_writer *w = NULL;
	struct flow *chunk = malloc(CHUNK * sizeof(*chunk));
	struct rng r = {.s = st->index * 2654435761u + 1};
	uint64_t done = 0;

	store_writer_new(st->cfg, NULL, &w, NULL);
	st->result = w && chunk ? 0 : -ENOMEM;
	start_line_wait(st->start);
	if (st->result < 0)
		goto out;
	while (done < st->rows) {
		size_t n = st->rows - done < CHUNK ? (size_t)(st->rows - done) : CHUNK;
		double t0 = clock_mono_s();
		int ret;

		/* Streams share the clock as outlet workers do: row k of
		 * stream i is flow k * count + i of the whole run. */
		for (size_t i = 0; i < n; i++) {
			uint64_t row = (done + i) * st->count + st->index;
			struct flow *f = &chunk[i];

			if (st->opt->simple_flows)
				gen_simple(f, &r);
			else
				gen_realistic(st->gen, f, &r);
			f->time_received = st->base_time + row / st->opt->flow_rate;
			f->time_flow_end_ms = f->time_received * 1000 - below(&r, 2000);
			f->time_flow_start_ms = f->time_flow_end_ms - below(&r, 60000);
		}
		st->gen_s += clock_mono_s() - t0;
		t0 = clock_mono_s();
		ret = store_writer_append(w, chunk, n, 0);
		st->encode_s += clock_mono_s() - t0;
		if (ret == -ENOBUFS || store_writer_rows(w) >= st->cfg->batch_rows) {
			t0 = clock_mono_s();
			st->result = store_writer_flush(w, NULL, NULL);
			st->flush_s += clock_mono_s() - t0;
			if (st->result < 0)
				goto out;
			if (ret == -ENOBUFS) {
				ret = store_writer_append(w, chunk, n, 0);
				if (ret < 0) {
					st->result = ret;
					goto out;
				}
			}
		} else if (ret < 0) {
			st->result = ret;
			goto out;
		}
		done += n;
	}
	{
		double t0 = clock_mono_s();
		/* The sums too, whether due or not: a run shorter than
		 * consolidation-interval would leave the consolidated tables
		 * empty and their cost out of the figure. */
		st->result = store_writer_flush_all(w, NULL, NULL);
		st->flush_s += clock_mono_s() - t0;
	}
out:
	if (st->result < 0 && w)
		snprintf(st->error, sizeof(st->error), "%s", store_writer_last_error(w));
	store_writer_free(w);
	free(chunk);
	return NULL;
}

static void print_load(FILE *out, const char *L, const char *when)
{
	double load[3];

	if (getloadavg(load, 3) == 3)
		fprintf(out, "%s: load average %s: %.2f %.2f %.2f (%ld cores)\n", L, when, load[0],
			load[1], load[2], sysconf(_SC_NPROCESSORS_ONLN));
}

/* One of ClickHouse's cumulative counters (system.events), 0 if absent. */
/* Rows of `table` (a system table too), 0 on error. */
static uint64_t table_rows(struct store_client *c, const char *table)
{
	char q[128];
	uint64_t v = 0;

	snprintf(q, sizeof(q), "SELECT count() FROM %s", table);
	store_client_query_u64(c, q, &v);
	return v;
}

int bench_store_run(const struct store_config *cfg, const struct bench_store_options *opt,
		    FILE *out, struct bench_store_result *result)
{
	static const char *const consolidated[] = {"flows_1m", "flows_5m", "flows_1h"};
	struct stream st[16];
	pthread_t th[16];
	struct start_line start = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
	struct gen gen;
	struct store_client *c = NULL;
	uint64_t rows = opt->rows, before = 0, after = 0;
	uint64_t inserted, merged, merged0;
	unsigned streams = opt->streams, started = 0;
	double t0, wall, encode = 0, gen_s = 0, server_cpu, self_cpu, self_cpu0;
	const char *L = opt->label ? opt->label : "store";
	char *answer = NULL;
	int r = 0;

	memset(result, 0, sizeof(*result));
	store_client_new(cfg, &c, NULL);
	if (!c || opt->flow_rate == 0) {
		store_client_free(c);
		return c ? -EINVAL : -ENOMEM;
	}
	if (gen_init(&gen) < 0) {
		store_client_free(c);
		return -ENOMEM;
	}
	if (streams < 1)
		streams = 1;
	if (streams > 16)
		streams = 16;
	r = store_client_query_u64(c, "SELECT count() FROM flows", &before);
	if (r < 0) {
		fprintf(out, "%s: %s\n", L, store_client_error(c));
		goto out;
	}
	if (opt->simple_flows)
		fprintf(out,
			"%s: flows: simple (independent draws: 4 exporters, 16 interfaces, "
			"50000 remote hosts, random IP IDs and flow times; %u flows/s)\n",
			L, (unsigned)opt->flow_rate);
	else
		fprintf(out,
			"%s: flows: realistic (%u exporters: sFlow 1:2048 and IPFIX 1:1000, "
			"%u+%u interfaces each; remote hosts Zipf over %u ASes x %u hosts, 35%% "
			"IPv6; %u local hosts; Zipf service ports, random ephemeral ports; "
			"sampled packet sizes; time-ordered at %u flows/s)\n",
			L, N_EXPORTERS, N_UPLINKS, N_INTERNAL, N_AS, N_HOSTS_AS, N_LOCAL,
			(unsigned)opt->flow_rate);
	print_load(out, L, "before");
	/* A day back, so that the rows land in one or two daily partitions. */
	uint64_t base = (uint64_t)time(NULL) - 86400;
	for (unsigned i = 0; i < streams; i++) {
		st[i] = (struct stream){.cfg = cfg,
					.opt = opt,
					.gen = &gen,
					.start = &start,
					.index = i,
					.count = streams,
					.rows = rows * (i + 1) / streams - rows * i / streams,
					.base_time = base};
		if (pthread_create(&th[i], NULL, run_stream, &st[i]) != 0) {
			r = -EAGAIN;
			break;
		}
		started++;
	}
	start_line_ready(&start, started);
	inserted = bench_engine_event(c, "MergeTreeDataWriterRows");
	merged0 = bench_engine_event(c, "MergedRows");
	server_cpu = opt->server_pid > 0 ? cpu_pid_s(opt->server_pid) : -1;
	/* One run's peaks, not an earlier run's of this process. */
	bench_mem_reset_peak(0);
	if (opt->server_pid > 0)
		bench_mem_reset_peak(opt->server_pid);
	self_cpu = self_cpu0 = cpu_self_s();
	start_line_go(&start);
	t0 = clock_mono_s();
	for (unsigned i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		encode += st[i].encode_s;
		gen_s += st[i].gen_s;
		if (st[i].result < 0 && r == 0) {
			r = st[i].result;
			fprintf(out, "%s: stream %u failed: %s\n", L, i, st[i].error);
		}
	}
	wall = clock_mono_s() - t0;
	self_cpu = cpu_self_s() - self_cpu;
	bench_mem_read(0, &result->self_mem);
	if (opt->server_pid > 0)
		bench_mem_read(opt->server_pid, &result->server_mem);
	inserted = bench_engine_event(c, "MergeTreeDataWriterRows") - inserted;
	merged = bench_engine_event(c, "MergedRows") - merged0;
	if (r < 0)
		goto out;
	result->encode_rows_per_s = (double)rows / encode;
	result->insert_rows_per_s = (double)rows / wall;
	if (store_client_query_u64(c, "SELECT count() FROM flows", &after) < 0)
		goto fail;
	print_load(out, L, "after");
	fprintf(out, "%s: %llu flows in %.2f s through %u stream(s), batches of %llu rows\n", L,
		(unsigned long long)rows, wall, streams, (unsigned long long)cfg->batch_rows);
	fprintf(out, "%s: encode (Native columns)   %10.0f flows/s per core\n", L,
		result->encode_rows_per_s);
	fprintf(out, "%s: insert end to end         %10.0f flows/s   (target 500000)\n", L,
		result->insert_rows_per_s);
	if (after - before != rows)
		fprintf(out, "%s: WARNING flows grew by %llu rows, expected %llu\n", L,
			(unsigned long long)(after - before), (unsigned long long)rows);
	/* CPU per flow says more than flows/s when other work shares the
	 * machine: the rate that would fill every core is cores / (CPU per
	 * flow). The merges the inserts started belong to their cost: wait
	 * for them (2 minutes at most) before reading the server's CPU (the
	 * embedded engine's is this process's). */
	fprintf(out,
		"%s: rows written to the consolidated tables and exporters: %.3f per flow; "
		"rows merged during the inserts: %.2f per flow\n",
		L, (double)(inserted - rows) / (double)rows, (double)merged / (double)rows);
	fprintf(out, "%s: CPU: bench %.2f us/flow (generating %.2f, encoding %.2f)", L,
		self_cpu * 1e6 / (double)rows, gen_s * 1e6 / (double)rows,
		encode * 1e6 / (double)rows);
	{
		double during = server_cpu >= 0 ? cpu_pid_s(opt->server_pid) - server_cpu : 0;
		double settled, self_settled;
		long cores = sysconf(_SC_NPROCESSORS_ONLN);

		for (int i = 0; i < 600 && table_rows(c, "system.merges") > 0; i++)
			usleep(200000);
		settled = server_cpu >= 0 ? cpu_pid_s(opt->server_pid) - server_cpu : 0;
		self_settled = cpu_self_s() - self_cpu0;
		merged = bench_engine_event(c, "MergedRows") - merged0;
		result->cpu_us_per_flow = self_settled * 1e6 / (double)rows;
		result->server_cpu_us_per_flow =
		    server_cpu >= 0 ? settled * 1e6 / (double)rows : -1;
		if (server_cpu >= 0)
			fprintf(out,
				", clickhouse-server %.2f us/flow during the inserts, %.2f us/flow "
				"with their merges (%.2f rows merged per flow)\n",
				during * 1e6 / (double)rows, settled * 1e6 / (double)rows,
				(double)merged / (double)rows);
		else
			fprintf(out,
				"; with the engine in this process: %.2f us/flow with the "
				"merges (%.2f rows merged per flow)\n",
				result->cpu_us_per_flow, (double)merged / (double)rows);
		fprintf(out,
			"%s: CPU bound: %.0f flows/s if bench and %s had the %ld cores "
			"to themselves\n",
			L, (double)rows * (double)cores / (settled + self_settled),
			server_cpu >= 0 ? "server" : "engine", cores);
	}
	/* The peak of the inserts and their merges, before the OPTIMIZEs (the
	 * bench's, not weir's). */
	{
		struct bench_mem m;

		if (bench_mem_read(0, &m) == 0)
			result->self_mem.hwm = m.hwm;
		if (opt->server_pid > 0 && bench_mem_read(opt->server_pid, &m) == 0)
			result->server_mem.hwm = m.hwm;
	}
	/* Bytes on disk once merged, as they will sit for the retention period. */
	{
		struct bench_table_disk d, compact;

		if (bench_table_settle(c, "flows", &compact) < 0 ||
		    bench_table_disk(c, NULL, "flows", &d) < 0)
			goto fail;
		if (compact.rows)
			fprintf(out,
				"%s: on disk in flows as merged here: %.1f bytes/flow (a compact "
				"part, as the engine keeps parts under 1M rows; merged again as "
				"wide below, as a day of flows is)\n",
				L, (double)compact.bytes_on_disk / (double)compact.rows);
		result->rows_in_table = after;
		result->bytes_per_flow = after ? (double)d.bytes_on_disk / (double)after : 0;
		result->compressed_per_flow =
		    after ? (double)d.compressed_bytes / (double)after : 0;
	}
	fprintf(out,
		"%s: on disk in flows          %10.1f bytes/flow (target < 20; columns' "
		"compressed data %.1f), %llu rows\n",
		L, result->bytes_per_flow, result->compressed_per_flow, (unsigned long long)after);
	for (unsigned t = 0; t < 3; t++) {
		struct bench_table_disk d, compact;

		if (bench_table_settle(c, consolidated[t], &compact) < 0 ||
		    bench_table_disk(c, NULL, consolidated[t], &d) < 0)
			goto fail;
		result->consolidated_per_flow[t] =
		    after ? (double)d.bytes_on_disk / (double)after : 0;
		fprintf(out,
			"%s: %s after merge: %llu rows, %.2f bytes per flow (compressed data "
			"%.2f)\n",
			L, consolidated[t], (unsigned long long)d.rows,
			result->consolidated_per_flow[t],
			after ? (double)d.compressed_bytes / (double)after : 0);
	}
	{
		char a[32], b[32], c2[32], d2[32];

		fprintf(out, "%s: resident memory: this process %s after the inserts, peak %s", L,
			bench_mib(result->self_mem.rss, a, sizeof(a)),
			bench_mib(result->self_mem.hwm, b, sizeof(b)));
		if (opt->server_pid > 0)
			fprintf(out, "; clickhouse-server %s, peak %s",
				bench_mib(result->server_mem.rss, c2, sizeof(c2)),
				bench_mib(result->server_mem.hwm, d2, sizeof(d2)));
		fprintf(out, "\n");
	}
	if (store_client_query(c,
			       "SELECT name, round(data_compressed_bytes / greatest(1, "
			       "(SELECT count() FROM flows)), 2) AS b FROM system.columns WHERE "
			       "database = currentDatabase() AND table = 'flows' AND b > 0.2 "
			       "ORDER BY b DESC LIMIT 12",
			       &answer) == 0) {
		fprintf(out, "%s: biggest columns, compressed bytes per flow:\n", L);
		for (char *line = strtok(answer, "\n"); line; line = strtok(NULL, "\n"))
			fprintf(out, "%s:   %s\n", L, line);
	} else {
		fprintf(out, "%s: biggest columns: %s\n", L, store_client_error(c));
	}
	goto out;
fail:
	fprintf(out, "%s: %s\n", L, store_client_error(c));
	r = -EIO;
out:
	free(answer);
	gen_fini(&gen);
	store_client_free(c);
	return r;
}
