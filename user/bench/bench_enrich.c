// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir bench enrich`: the enrichment stage's cost per flow with warm caches
 * (every exporter and interface already published, networks + GeoIP-sized
 * trie built), one worker, flows cycling through a batch-sized pool. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/addr.h"
#include "../common/cli_opts.h"
#include "../common/cpu_time.h"
#include "../common/rng.h"
#include "../enrich/enrich.h"
#include "bench.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* Reproducible runs. */
static uint64_t rnd(void)
{
	return rng_next(&rng_state);
}

struct buf {
	char *p;
	size_t len, cap;
};

static int put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -EINVAL;
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return 0;
		}
		size_t cap = b->cap ? b->cap * 2 : 1 << 20;
		char *p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
}

static void usage(FILE *out, const void *ctx)
{
	(void)ctx;
	fprintf(out, "usage: weir bench enrich [--flows N] [--prefixes N] [--exporters N] "
		     "[--interfaces N]\n"
		     "  Cost per flow of enrich_flow() with warm caches (target: under 100 ns).\n"
		     "  --flows       flows enriched (default 20000000)\n"
		     "  --prefixes    networks in the trie, random /16../28 (default 100000)\n"
		     "  --exporters   exporters (default 64), each with --interfaces (default 64)\n"
		     "  --pool        flows enriched in turn (default 1024: a batch just decoded,\n"
		     "                in cache, as the outlet hands them over)\n");
}

int bench_enrich_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"flows", required_argument, NULL, 'f'},
	    {"prefixes", required_argument, NULL, 'p'},
	    {"exporters", required_argument, NULL, 'e'},
	    {"interfaces", required_argument, NULL, 'i'},
	    {"pool", required_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct cli_opts o;
	int c;
	uint64_t flows = 20000000, prefixes = 100000, exporters = 64, interfaces = 64;
	struct buf y = {0};
	struct config_doc *doc = NULL;
	struct config_error ce;
	struct enrich_config cfg;
	struct enrich *e = NULL;
	struct enrich_worker *w = NULL;
	struct error err = {{0}};
	struct flow *pool = NULL;
	uint64_t npool = 1024;
	int rc = 1;

	cli_opts_init(&o, argc, argv, "h", opts, usage, NULL);
	while ((c = cli_opts_next(&o)) >= 0) {
		uint64_t *dst = c == 'f'   ? &flows
				: c == 'p' ? &prefixes
				: c == 'e' ? &exporters
				: c == 'i' ? &interfaces
					   : &npool;

		*dst = strtoull(optarg, NULL, 10);
	}
	if (c == CLI_OPTS_EXIT)
		return o.status;
	if (!exporters || exporters > 65000 || !interfaces || !flows || !npool)
		return cli_opts_usage_error(&o);

	/* An Akvorado-like configuration: classifiers, static metadata for
	 * every exporter and interface, many networks. */
	put(&y, "core:\n"
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
	for (uint64_t x = 0; x < exporters; x++) {
		put(&y,
		    "        10.%u.%u.1/32:\n          name: site%u-edge%u\n          "
		    "if-indexes:\n",
		    (unsigned)(x >> 8), (unsigned)(x & 255), (unsigned)(x / 4), (unsigned)x);
		for (uint64_t i = 1; i <= interfaces; i++)
			put(&y,
			    "            %u: {name: et-0/0/%u, description: '%s %u', speed: "
			    "100000}\n",
			    (unsigned)i, (unsigned)i, i % 3 ? "Transit: Cogent" : "core link",
			    (unsigned)i);
	}
	put(&y, "networks:\n  networks:\n");
	/* Unique prefixes: a YAML key may appear once. */
	size_t set_mask = 1;
	while (set_mask < prefixes * 2)
		set_mask = set_mask * 2 + 1;
	uint64_t *set = calloc(set_mask + 1, sizeof(*set));
	if (!set)
		goto out;
	for (uint64_t n = 0; n < prefixes; n++) {
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
		put(&y, "    %u.%u.%u.%u/%u: {name: net%u, asn: %u, country: FR}\n", a >> 24,
		    (a >> 16) & 255, (a >> 8) & 255, a & 255, len, (unsigned)(n % 1000),
		    (unsigned)(64512 + n % 1000));
	}
	free(set);
	if (!y.p) {
		fprintf(stderr, "bench enrich: out of memory\n");
		return 1;
	}
	doc = config_doc_load_string("bench.yaml", y.p, &ce);
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
	int r = enrich_new(&cfg, NULL, &e, &err);
	enrich_config_free(&cfg);
	if (r < 0 || enrich_start(e, &err) < 0 || enrich_worker_new(e, &w, &err) < 0) {
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
	for (uint64_t n = 0; n < flows;) {
		for (size_t i = 0; i < npool && n < flows; i++, n++)
			kept += enrich_flow(w, &pool[i]) == ENRICH_KEEP;
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
	rc = 0;
out:
	free(pool);
	enrich_worker_free(w);
	enrich_free(e);
	config_doc_free(doc);
	free(y.p);
	return rc;
}
