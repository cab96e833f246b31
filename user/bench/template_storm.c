// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir bench template-storm`: the CPU a template storm costs while
 * datagrams wait for their templates (parked), decoding them again on every
 * template their exporter teaches (the outlet's rule before issue 11) versus
 * only when the template each one waits for comes (the outlet's index). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "common/addr.h"
#include "common/be.h"
#include "common/cli_opts.h"
#include "common/cpu_time.h"
#include "decode/decode.h"

#define STORM_DGRAM_MAX	  1500
#define STORM_RECORDS	  30 /* records per data datagram */
#define STORM_EXTRA_TMPLS 8  /* templates nobody waits for, per template datagram */

/* A router-like data template: addresses, ports, proto, counters,
 * interfaces, flags (RFC 3954 8 field types), 30 bytes a record. */
static const uint16_t storm_fields[][2] = {
    {8, 4}, {12, 4}, {7, 2}, {11, 2}, {4, 1}, {1, 4}, {2, 4}, {10, 4}, {14, 4}, {6, 1},
};
#define STORM_NFIELDS	  (sizeof(storm_fields) / sizeof(storm_fields[0]))
#define STORM_RECORD_SIZE 30

static uint8_t *storm_header(uint8_t *p, uint32_t seq)
{
	p = be16_put(p, 9);
	p = be16_put(p, 0);
	p = be32_put(p, 1000000); /* sysUptime */
	p = be32_put(p, 1700000000);
	p = be32_put(p, seq);
	return be32_put(p, 0); /* source id */
}

/* Data datagram of template `id`; returns its length. */
static size_t storm_data(uint8_t *d, uint16_t id, uint32_t seq)
{
	uint8_t *p = storm_header(d, seq);

	p = be16_put(p, id);
	p = be16_put(p, 4 + STORM_RECORDS * STORM_RECORD_SIZE);
	for (uint32_t r = 0; r < STORM_RECORDS; r++) {
		p = be32_put(p, 0xc6330000u | r);
		p = be32_put(p, 0xcb000000u | (seq & 0xffff) << 8 | r);
		p = be16_put(p, (uint16_t)(1024 + r));
		p = be16_put(p, 443);
		*p++ = 6;
		p = be32_put(p, 1500);
		p = be32_put(p, 1);
		p = be32_put(p, 1);
		p = be32_put(p, 2);
		*p++ = 0x18;
	}
	return (size_t)(p - d);
}

/* Template datagram teaching `id` and STORM_EXTRA_TMPLS others (ids from
 * `extra`); returns its length. */
static size_t storm_template(uint8_t *d, uint16_t id, uint16_t extra, uint32_t seq)
{
	uint8_t *p = storm_header(d, seq), *set = p;

	p = be16_put(p, 0);
	p = be16_put(p, 0);
	for (int t = 0; t <= STORM_EXTRA_TMPLS; t++) {
		p = be16_put(p, t == STORM_EXTRA_TMPLS ? id : (uint16_t)(extra + t));
		p = be16_put(p, STORM_NFIELDS);
		for (size_t f = 0; f < STORM_NFIELDS; f++) {
			p = be16_put(p, storm_fields[f][0]);
			p = be16_put(p, storm_fields[f][1]);
		}
	}
	be16_put(set + 2, (uint16_t)(p - set));
	return (size_t)(p - d);
}

struct storm_figures {
	double cpu_s;
	uint64_t decodes; /* of parked datagrams */
	uint64_t flows;
};

/* One storm: `exporters` exporters park `parked` datagrams each (one per
 * template), then teach those templates one datagram at a time, exporters
 * interleaved. indexed: a parked datagram is decoded again when the
 * template it waits for came; otherwise on every template its exporter
 * teaches. */
static int storm_run(unsigned exporters, unsigned parked, int indexed, struct storm_figures *fig)
{
	struct decode_config cfg;
	struct decode_state *st;
	struct flow *flows = calloc(STORM_RECORDS * 2, sizeof(*flows));
	uint8_t(*data)[STORM_DGRAM_MAX] = calloc(parked, sizeof(*data));
	size_t *len = calloc(parked, sizeof(*len));
	/* live[x * parked + k]: datagram k of exporter x still waits */
	uint8_t *live = calloc((size_t)exporters * parked, 1);
	uint8_t tmpl[STORM_DGRAM_MAX];
	int ret = -ENOMEM;
	double t0;

	memset(fig, 0, sizeof(*fig));
	decode_config_init(&cfg);
	if (!flows || !data || !len || !live || decode_state_new(&cfg, &st, NULL) < 0)
		goto out;
	for (unsigned k = 0; k < parked; k++)
		len[k] = storm_data(data[k], (uint16_t)(256 + k), k);
	t0 = cpu_thread_s();
	for (unsigned x = 0; x < exporters; x++)
		for (unsigned k = 0; k < parked; k++) {
			struct decode_input in = {
			    .data = data[k], .len = len[k], .time_received = 1700000000};
			struct decode_output out = {.flows = flows, .cap = STORM_RECORDS * 2};
			struct decode_result r;

			addr_from_ipv4(&in.exporter, 0x0a000000u + x);
			decode_datagram(st, &in, &out, &r);
			live[x * parked + k] = r.missing.id != 0 && out.count == 0;
		}
	for (unsigned k = 0; k < parked; k++)
		for (unsigned x = 0; x < exporters; x++) {
			struct decode_input in = {.data = tmpl, .time_received = 1700000000};
			struct decode_output out = {.flows = flows, .cap = STORM_RECORDS * 2};
			struct decode_result r;

			addr_from_ipv4(&in.exporter, 0x0a000000u + x);
			in.len =
			    storm_template(tmpl, (uint16_t)(256 + k),
					   (uint16_t)(4096 + k * STORM_EXTRA_TMPLS), parked + k);
			decode_datagram(st, &in, &out, &r);
			/* The datagrams to decode again: the one waiting for
			 * template k (indexed), or every one still waiting. */
			for (unsigned j = indexed ? k : 0; j < (indexed ? k + 1 : parked); j++) {
				if (!live[x * parked + j])
					continue;
				in = (struct decode_input){.data = data[j],
							   .len = len[j],
							   .time_received = 1700000000,
							   .replay = 1};
				addr_from_ipv4(&in.exporter, 0x0a000000u + x);
				out.count = 0;
				decode_datagram(st, &in, &out, &r);
				fig->decodes++;
				fig->flows += out.count;
				if (out.count || !r.missing.id)
					live[x * parked + j] = 0;
			}
		}
	fig->cpu_s = cpu_thread_s() - t0;
	decode_state_free(st);
	ret = 0;
out:
	free(flows);
	free(data);
	free(len);
	free(live);
	return ret;
}

static void storm_usage(FILE *out, const void *ctx)
{
	fprintf(out,
		"usage: weir bench template-storm [--exporters N] [--parked N]\n"
		"\n"
		"N exporters each park datagrams waiting for distinct NetFlow v9 templates\n"
		"(30 records each), then teach those templates one datagram at a time (with %d\n"
		"more templates nobody waits for). Prints the CPU time of the storm and the\n"
		"decodes per parked datagram: decoding every parked datagram of the exporter on\n"
		"each template (before issue 11) against only the ones waiting for it (now).\n"
		"\n"
		"options:\n"
		"  --exporters N  default 16\n"
		"  --parked N     datagrams parked per exporter, default 64, at most 100 (with\n"
		"                 the templates nobody waits for, within the decoder's 1024\n"
		"                 templates per exporter)\n",
		STORM_EXTRA_TMPLS);
}

int bench_template_storm_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"exporters", required_argument, NULL, 'e'},
	    {"parked", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	unsigned exporters = 16, parked = 64;
	struct storm_figures before, after;
	struct cli_opts o;
	int opt;
	char *end;

	cli_opts_init(&o, argc, argv, "h", opts, storm_usage, NULL);
	while ((opt = cli_opts_next(&o)) >= 0) {
		unsigned long v = strtoul(optarg, &end, 10);

		if (*end || !v || v > (opt == 'p' ? 100 : 4096)) {
			fprintf(stderr, "weir bench template-storm: bad value '%s'\n", optarg);
			return 2;
		}
		if (opt == 'e')
			exporters = (unsigned)v;
		else
			parked = (unsigned)v;
	}
	if (opt == CLI_OPTS_EXIT)
		return o.status;
	if (storm_run(exporters, parked, 0, &before) < 0 ||
	    storm_run(exporters, parked, 1, &after) < 0) {
		fprintf(stderr, "weir bench template-storm: out of memory\n");
		return 1;
	}
	const double n = (double)exporters * parked;
	printf("template-storm before  %8.1f us CPU per parked datagram, %6.1f decodes each "
	       "(%u exporters x %u parked, %.0f flows)\n",
	       before.cpu_s * 1e6 / n, (double)before.decodes / n, exporters, parked,
	       (double)before.flows);
	printf("template-storm after   %8.1f us CPU per parked datagram, %6.1f decodes each "
	       "(%.0f flows)  target 1 decode each: %s\n",
	       after.cpu_s * 1e6 / n, (double)after.decodes / n, (double)after.flows,
	       after.decodes == (uint64_t)n && after.flows == before.flows ? "met" : "NOT met");
	printf("template-storm speedup %8.1fx CPU\n",
	       after.cpu_s > 0 ? before.cpu_s / after.cpu_s : 0);
	return 0;
}
