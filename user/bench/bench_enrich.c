// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir bench enrich`: the enrichment stage's cost per flow with warm caches
 * (every exporter and interface already published, networks + GeoIP-sized
 * trie built), one worker, flows cycling through a batch-sized pool; with
 * --pipeline, the outlet's path (decode, enrich, the writer's encoding) with
 * enrichment off and on, and the ratio. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/addr.h"
#include "../common/buf.h"
#include "../common/cli_opts.h"
#include "../common/cpu_time.h"
#include "../common/log.h"
#include "../common/rng.h"
#include "../decode/decode.h"
#include "../demo/demo.h"
#include "../demo/demo_exporter.h"
#include "../enrich/enrich.h"
#include "../store/store.h"
#include "bench.h"
#include "bench_internal.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* Reproducible runs. */
static uint64_t rnd(void)
{
	return rng_next(&rng_state);
}

/* ---- --pipeline: what an outlet worker does per datagram, on one core ---- */

#define PIPE_DGRAMS    4096 /* distinct datagrams, replayed */
#define PIPE_SLOT      1500
#define PIPE_FLOWS_MAX 256 /* per datagram */

struct pipe_data {
	uint8_t *buf; /* PIPE_DGRAMS slots of PIPE_SLOT bytes */
	uint16_t len[PIPE_DGRAMS];
	struct in6_addr exporter[PIPE_DGRAMS];
	uint64_t now;
};

/* IPFIX from the demo encoder, one encoder per exporter of the static
 * configuration (10.x.y.1), datagrams interleaved; the flows' interfaces are
 * the configured ones and their addresses random (the trie's worst case). */
static int pipe_prepare(struct pipe_data *d, uint64_t exporters, uint64_t interfaces)
{
	struct demo_encoder **enc = calloc(exporters, sizeof(*enc));
	uint64_t *seq = calloc(exporters, sizeof(*seq));
	struct flow flows[64];
	int ret = -ENOMEM;

	d->now = (uint64_t)time(NULL);
	d->buf = malloc((size_t)PIPE_DGRAMS * PIPE_SLOT);
	if (!enc || !seq || !d->buf)
		goto out;
	for (uint64_t x = 0; x < exporters; x++) {
		struct demo_encoder_config ec = {.format = DEMO_IPFIX,
						 .domain_id = 1,
						 .sampling_rate = 1000,
						 .template_refresh = 16};

		addr_from_ipv4(&ec.agent, 0x0a000001u | (uint32_t)(x << 8));
		if (demo_encoder_new(&ec, &enc[x], NULL) < 0)
			goto out;
	}
	for (size_t i = 0; i < PIPE_DGRAMS; i++) {
		uint64_t x = i % exporters;
		size_t len = 0;
		int k;

		for (size_t j = 0; j < 64; j++) {
			struct flow *f = &flows[j];

			demo_flow_make(f, seq[x] + j, (uint32_t)x, d->now);
			f->in_if = 1 + (uint32_t)(rnd() % interfaces);
			f->out_if = 1 + (uint32_t)(rnd() % interfaces);
			addr_from_ipv4(&f->src_addr, (uint32_t)rnd());
			addr_from_ipv4(&f->dst_addr, (uint32_t)rnd());
		}
		k = demo_encoder_encode(enc[x], flows, 64, d->buf + i * PIPE_SLOT, PIPE_SLOT, &len);
		if (k < 0) {
			ret = k;
			goto out;
		}
		seq[x] += (uint64_t)k;
		d->len[i] = (uint16_t)len;
		addr_from_ipv4(&d->exporter[i], 0x0a000001u | (uint32_t)(x << 8));
	}
	ret = 0;
out:
	for (uint64_t x = 0; enc && x < exporters; x++)
		demo_encoder_free(enc[x]);
	free(enc);
	free(seq);
	return ret;
}

static int pipe_stop(void *ctx)
{
	(void)ctx;
	return 1;
}

/* Flows per CPU second through decode, enrichment (when `w`) and the
 * ClickHouse writer's encoding, in-memory sums, sort and block (the batch
 * is dropped when full: nothing is sent, so ClickHouse is not what is
 * measured; its string columns go as LowCardinality, as on the embedded
 * engine and current servers); the writer
 * writes the enrichment columns when `e` is given. -1 on error. */
static double pipe_run(const struct pipe_data *d, struct enrich *e, struct enrich_worker *w,
		       size_t batch, uint64_t total, uint64_t *decoded, uint64_t *kept)
{
	struct decode_config dc;
	struct decode_state *st = NULL;
	struct store_config sc;
	struct store_writer *sw = NULL;
	struct flow *flows = calloc(PIPE_FLOWS_MAX + batch, sizeof(*flows));
	size_t staged = 0;
	double cpu = -1;

	*decoded = *kept = 0;
	decode_config_init(&dc);
	if (store_config_defaults(&sc) < 0 || !flows)
		goto out;
	/* Never reached: nothing is flushed. */
	free(sc.url);
	sc.url = strdup("http://127.0.0.1:9");
	if (!sc.url || decode_state_new(&dc, &st, NULL) < 0 ||
	    store_writer_new(&sc, NULL, &sw, NULL) < 0 ||
	    (e && store_writer_set_strings(sw, enrich_strings(e), NULL) < 0) ||
	    store_writer_assume_low_cardinality(sw) < 0)
		goto out;
	double c0 = cpu_thread_s();
	for (uint64_t i = 0; *decoded < total; i++) {
		size_t k = i % PIPE_DGRAMS;
		struct decode_input in = {.data = d->buf + k * PIPE_SLOT,
					  .len = d->len[k],
					  .exporter = d->exporter[k],
					  .time_received = d->now};
		struct decode_output out = {.flows = flows + staged, .cap = PIPE_FLOWS_MAX};
		struct decode_result r;
		size_t n;

		decode_datagram(st, &in, &out, &r);
		*decoded += out.count;
		staged += out.count;
		if (staged < batch)
			continue; /* --pipeline-batch: several datagrams' flows at once */
		n = w ? enrich_flows(w, flows, staged) : staged;
		staged = 0;
		*kept += n;
		if (!n)
			continue;
		int a = store_writer_append(sw, flows, n, 0);
		if (a == -ENOBUFS) {
			/* The batch sorted and its block built, as a flush does
			 * before it sends (one try, refused at once: stopped). */
			store_writer_flush(sw, pipe_stop, NULL);
			store_writer_discard(sw);
			a = store_writer_append(sw, flows, n, 0);
		}
		if (a < 0)
			goto out;
	}
	cpu = cpu_thread_s() - c0;
out:
	store_writer_free(sw);
	store_config_free(&sc);
	decode_state_free(st);
	free(flows);
	return cpu > 0 ? (double)*decoded / cpu : -1;
}

/* Off, stage only, on; off, stage only, on...: the best of `runs` each, and
 * the ratios. "Stage only" enriches but the writer leaves the enrichment
 * columns out: what the stage itself costs, apart from what storing its
 * answers costs (wider rows, more distinct consolidated rows). */
static int pipe_bench(struct enrich *e, struct enrich_worker *w, uint64_t exporters,
		      uint64_t interfaces, size_t batch, uint64_t total, unsigned runs)
{
	struct pipe_data d = {0};
	double best[3] = {0, 0, 0}, worst[3] = {0, 0, 0};
	uint64_t decoded = 0, kept = 0;
	int rc = 1;

	/* (each flush's one try is refused: not worth a warning) */
	log_set_level(LOG_LEVEL_ERROR);
	if (pipe_prepare(&d, exporters, interfaces) < 0) {
		fprintf(stderr, "bench enrich: cannot prepare the datagrams\n");
		goto out;
	}
	/* Warm: every exporter and interface of the datagrams known. */
	for (int round = 0; round < 2; round++) {
		pipe_run(&d, e, w, batch, PIPE_DGRAMS * 8, &decoded, &kept);
		enrich_wait_idle(e, 30000);
	}
	for (unsigned r = 0; r < runs; r++)
		for (int on = 0; on < 3; on++) {
			double fps = pipe_run(&d, on == 2 ? e : NULL, on ? w : NULL, batch, total,
					      &decoded, &kept);

			if (fps < 0) {
				fprintf(stderr, "bench enrich: the pipeline failed\n");
				goto out;
			}
			if (fps > best[on])
				best[on] = fps;
			if (!worst[on] || fps < worst[on])
				worst[on] = fps;
			if (on && kept != decoded)
				fprintf(stderr, "bench enrich: %llu of %llu flows dropped\n",
					(unsigned long long)(decoded - kept),
					(unsigned long long)decoded);
		}
	printf("pipeline: decode (IPFIX) + writer encoding, one core, %llu flows a run, "
	       "best of %u (spread):\n",
	       (unsigned long long)total, runs);
	static const char *const what[] = {"enrichment off                   ",
					   "enrich_flows, columns not written",
					   "enrichment on                    "};
	for (int k = 0; k < 3; k++)
		printf("pipeline: %s %.2f M flows/s (%.2f..%.2f), %.0f ns/flow\n", what[k],
		       best[k] / 1e6, worst[k] / 1e6, best[k] / 1e6, 1e9 / best[k]);
	printf("pipeline: the stage alone: %.1f%% of off (%.0f ns/flow more)\n",
	       100 * best[1] / best[0], 1e9 / best[1] - 1e9 / best[0]);
	printf("pipeline: on/off %.1f%% (target at least 90%%): %s\n", 100 * best[2] / best[0],
	       best[2] >= 0.9 * best[0] ? "met" : "NOT met");
	rc = 0;
out:
	free(d.buf);
	return rc;
}

static void usage(FILE *out, const void *ctx)
{
	(void)ctx;
	fprintf(out,
		"usage: weir bench enrich [--flows N] [--prefixes N] [--exporters N] "
		"[--interfaces N]\n"
		"  Cost per flow of enrich_flows() on a pool of flows with warm caches\n"
		"  (target: under 100 ns).\n"
		"  --flows       flows enriched (default 20000000)\n"
		"  --prefixes    networks in the trie, random /16../28 (default 100000)\n"
		"  --exporters   exporters (default 64), each with --interfaces (default 64)\n"
		"  --pool        flows enriched in turn (default 1024: a batch just decoded,\n"
		"                in cache, as the outlet hands them over)\n"
		"  --geoip-asn FILE, --geoip-geo FILE  .mmdb files merged into the trie\n"
		"  --pipeline    also flows/s through decode + enrich + the ClickHouse\n"
		"                writer's encoding (nothing sent), enrichment off vs on,\n"
		"                best of 3 (target: on at least 90%% of off)\n"
		"  --pipeline-batch N  enrich N flows at once, several datagrams' (default 0:\n"
		"                each datagram's flows, as the outlet does)\n");
}

/* An Akvorado-like configuration: classifiers, static metadata for every
 * exporter (base + x * step, x < exporters) and interface 1..interfaces,
 * `prefixes` networks, the GeoIP databases given. */
int bench_enrich_setup(const struct bench_enrich_setup *s, struct enrich **out)
{
	struct buf y = {0};
	struct config_doc *doc = NULL;
	struct config_error ce;
	struct enrich_config cfg;
	struct enrich *e = NULL;
	struct error err = {{0}};
	uint64_t *set = NULL;
	int ret = -ENOMEM, r;

	*out = NULL;
	buf_printf(
	    &y, "core:\n"
		"  exporter-classifiers:\n"
		"    - 'ClassifySiteRegex(Exporter.Name, \"^([^-]+)-\", \"$1\")'\n"
		"  interface-classifiers:\n"
		"    - 'ClassifyConnectivityRegex(Interface.Description, "
		"\"^(?i)(transit|pni|ppni|ix):? "
		"\", \"$1\") && ClassifyProviderRegex(Interface.Description, \"^[^ ]+? ([^ ]+)\", "
		"\"$1\") && ClassifyExternal()'\n"
		"    - ClassifyInternal()\n"
		"  default-sampling-rate: 1000\n"
		"metadata:\n"
		"  providers:\n"
		"    - type: static\n"
		"      exporters:\n");
	for (uint64_t x = 0; x < s->exporters; x++) {
		uint32_t a = s->exporter_base + (uint32_t)x * s->exporter_step;

		buf_printf(&y,
			   "        %u.%u.%u.%u/32:\n          name: site%u-edge%u\n          "
			   "if-indexes:\n",
			   a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, (unsigned)(x / 4),
			   (unsigned)x);
		for (uint64_t i = 1; i <= s->interfaces; i++)
			buf_printf(&y,
				   "            %u: {name: et-0/0/%u, description: '%s %u', speed: "
				   "100000}\n",
				   (unsigned)i, (unsigned)i,
				   i % 3 ? "Transit: Cogent" : "core link", (unsigned)i);
	}
	if (s->geoip_asn || s->geoip_geo) {
		buf_printf(&y, "geoip:\n");
		if (s->geoip_asn)
			buf_printf(&y, "  asn-database: ['%s']\n", s->geoip_asn);
		if (s->geoip_geo)
			buf_printf(&y, "  geo-database: ['%s']\n", s->geoip_geo);
	}
	buf_printf(&y, "networks:\n  networks:\n");
	/* Unique prefixes: a YAML key may appear once. */
	size_t set_mask = 1;
	while (set_mask < s->prefixes * 2)
		set_mask = set_mask * 2 + 1;
	set = calloc(set_mask + 1, sizeof(*set));
	if (!set)
		goto out;
	for (uint64_t n = 0; n < s->prefixes; n++) {
		unsigned len = 16 + (unsigned)(rnd() % 13);
		uint32_t a = (uint32_t)rnd() & (len ? ~0u << (32 - len) : 0);
		uint64_t key = ((uint64_t)a << 8 | len) + 1;
		size_t j = (size_t)(key * 0x9e3779b97f4a7c15ULL >> 20) & set_mask;
		while (set[j] && set[j] != key)
			j = (j + 1) & set_mask;
		if (set[j]) {
			n--;
			continue;
		}
		set[j] = key;
		buf_printf(&y, "    %u.%u.%u.%u/%u: {name: net%u, asn: %u, country: FR}\n", a >> 24,
			   (a >> 16) & 255, (a >> 8) & 255, a & 255, len, (unsigned)(n % 1000),
			   (unsigned)(64512 + n % 1000));
	}
	if (!y.data || y.nomem) {
		fprintf(stderr, "bench enrich: out of memory\n");
		goto out;
	}
	ret = -EINVAL;
	doc = config_doc_load_string("bench.yaml", y.data, &ce);
	if (!doc) {
		fprintf(stderr, "bench enrich: %s\n", ce.text);
		goto out;
	}
	if (enrich_config_defaults(&cfg) < 0 ||
	    config_bind(doc->root, enrich_config_fields, &cfg, "", "bench.yaml", &ce) < 0) {
		fprintf(stderr, "bench enrich: %s\n", ce.text);
		enrich_config_free(&cfg);
		goto out;
	}
	r = enrich_new(&cfg, NULL, &e, &err);
	enrich_config_free(&cfg);
	if (r < 0 || enrich_start(e, &err) < 0) {
		fprintf(stderr, "bench enrich: %s\n", err.text);
		enrich_free(e);
		goto out;
	}
	*out = e;
	ret = 0;
out:
	free(set);
	config_doc_free(doc);
	buf_free(&y);
	return ret;
}

int bench_enrich_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"flows", required_argument, NULL, 'f'},
	    {"prefixes", required_argument, NULL, 'p'},
	    {"exporters", required_argument, NULL, 'e'},
	    {"interfaces", required_argument, NULL, 'i'},
	    {"pool", required_argument, NULL, 'P'},
	    {"geoip-asn", required_argument, NULL, 'A'},
	    {"geoip-geo", required_argument, NULL, 'G'},
	    {"pipeline", no_argument, NULL, 'L'},
	    {"pipeline-batch", required_argument, NULL, 'B'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct cli_opts o;
	int c;
	uint64_t flows = 20000000, prefixes = 100000, exporters = 64, interfaces = 64;
	struct enrich *e = NULL;
	struct enrich_worker *w = NULL;
	struct error err = {{0}};
	struct flow *pool = NULL;
	uint64_t npool = 1024, pipe_batch = 0;
	int rc = 1;

	const char *geoip_asn = NULL, *geoip_geo = NULL;
	int pipeline = 0;

	cli_opts_init(&o, argc, argv, "h", opts, usage, NULL);
	while ((c = cli_opts_next(&o)) >= 0) {
		if (c == 'A' || c == 'G' || c == 'L') {
			if (c == 'A')
				geoip_asn = optarg;
			else if (c == 'G')
				geoip_geo = optarg;
			else
				pipeline = 1;
			continue;
		}
		uint64_t *dst = c == 'f'   ? &flows
				: c == 'p' ? &prefixes
				: c == 'e' ? &exporters
				: c == 'i' ? &interfaces
				: c == 'B' ? &pipe_batch
					   : &npool;

		*dst = strtoull(optarg, NULL, 10);
	}
	if (c == CLI_OPTS_EXIT)
		return o.status;
	if (!exporters || exporters > 65000 || !interfaces || !flows || !npool)
		return cli_opts_usage_error(&o);

	{
		struct bench_enrich_setup es = {.exporters = exporters,
						.interfaces = interfaces,
						.prefixes = prefixes,
						.exporter_base = 0x0a000001u,
						.exporter_step = 256,
						.geoip_asn = geoip_asn,
						.geoip_geo = geoip_geo};

		if (bench_enrich_setup(&es, &e) < 0)
			goto out;
	}
	if (enrich_worker_new(e, &w, &err) < 0) {
		fprintf(stderr, "bench enrich: %s\n", err.text);
		goto out;
	}

	pool = calloc(npool, sizeof(*pool));
	if (!pool)
		goto out;
	for (size_t i = 0; i < npool; i++) {
		struct flow *f = &pool[i];
		unsigned x = (unsigned)(rnd() % exporters);
		addr_from_ipv4(&f->exporter_address, 0x0a000001u | (x << 8));
		f->in_if = 1 + (uint32_t)(rnd() % interfaces);
		f->out_if = 1 + (uint32_t)(rnd() % interfaces);
		addr_from_ipv4(&f->src_addr, (uint32_t)rnd());
		addr_from_ipv4(&f->dst_addr, (uint32_t)rnd());
		f->src_net_mask = 24;
		f->bytes = 1500;
		f->packets = 1;
	}
	/* Warm up: every exporter and interface asked, answered, published. */
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < npool; i++)
			enrich_flow(w, &pool[i]);
		if (enrich_wait_idle(e, 30000) < 0) {
			fprintf(stderr, "bench enrich: the refresher did not settle\n");
			goto out;
		}
	}
	struct enrich_stats before, after;
	enrich_get_stats(e, &before);
	struct timespec t0, t1;
	double c0 = cpu_thread_s();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t kept = 0;
	/* As the outlet does: the flows of a batch at once (enrich_flows
	 * overlaps their cache misses). None is dropped here, so the pool
	 * stays whole. */
	for (uint64_t n = 0; n < flows;) {
		size_t k = flows - n < npool ? (size_t)(flows - n) : (size_t)npool;

		kept += enrich_flows(w, pool, k);
		n += k;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double cpu = cpu_thread_s() - c0;
	double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	enrich_get_stats(e, &after);
	printf("enrich: %.1f ns/flow CPU (%.1f ns wall), %.2f M flows/s on one core\n",
	       cpu * 1e9 / (double)flows, wall * 1e9 / (double)flows, (double)flows / cpu / 1e6);
	printf("enrich: %llu flows (pool %llu), %llu kept, %llu metadata misses while measuring, "
	       "%llu exporters x %llu interfaces, %llu networks\n",
	       (unsigned long long)flows, (unsigned long long)npool, (unsigned long long)kept,
	       (unsigned long long)(after.metadata_misses - before.metadata_misses),
	       (unsigned long long)exporters, (unsigned long long)interfaces,
	       (unsigned long long)prefixes);
	printf("enrich: target under 100 ns/flow: %s\n",
	       cpu * 1e9 / (double)flows < 100 ? "met" : "NOT met");
	if (pipe_batch > 4096)
		pipe_batch = 4096;
	rc = pipeline ? pipe_bench(e, w, exporters, interfaces, (size_t)pipe_batch, flows / 4, 3)
		      : 0;
out:
	free(pool);
	enrich_worker_free(w);
	enrich_free(e);
	return rc;
}
