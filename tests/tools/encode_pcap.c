// SPDX-License-Identifier: AGPL-3.0-or-later
/* Writes a pcap of demo-encoded flow datagrams and a JSON-lines file of the
 * flows that went into them, so tests can compare what tshark and `weir
 * decode` read from the pcap with what was encoded.
 * Usage: encode_pcap [-r RATE] [-t REFRESH] [-a AGENT] [-i] [-c] FORMAT COUNT SEED OUT.pcap
 *        OUT.jsonl
 * FORMAT: v5 v9 ipfix sflow; -i: IE 34 in the records, -c: compact
 * templates. Datagrams go from 192.0.2.10 to 192.0.2.1, UDP port 2055
 * (NetFlow, IPFIX) or 6343 (sFlow). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/flow_schema.h"
#include "demo/demo.h"

#define NOW 1700000000ull

static int usage(void)
{
	fprintf(stderr, "usage: encode_pcap [-r RATE] [-t REFRESH] [-a AGENT] [-i] [-c] "
			"v5|v9|ipfix|sflow COUNT SEED OUT.pcap OUT.jsonl\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct demo_encoder_config cfg = {.sampling_rate = 1000, .template_refresh = 10};
	struct demo_pcap_writer *w = NULL;
	struct demo_encoder *enc = NULL;
	struct flow *flows = NULL;
	struct in6_addr exporter, collector;
	FILE *json = NULL;
	uint8_t buf[1500];
	size_t count, done = 0;
	uint64_t seed, t_ns = NOW * 1000000000ull;
	uint16_t port;
	int opt, ret = 1;

	addr_from_text(&exporter, "192.0.2.10");
	addr_from_text(&collector, "192.0.2.1");
	cfg.agent = exporter;
	while ((opt = getopt(argc, argv, "r:t:a:ic")) != -1) {
		switch (opt) {
		case 'r':
			cfg.sampling_rate = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 't':
			cfg.template_refresh = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'a':
			if (addr_from_text(&cfg.agent, optarg) < 0)
				return usage();
			break;
		case 'i':
			cfg.sampling_in_record = 1;
			break;
		case 'c':
			cfg.compact = 1;
			break;
		default:
			return usage();
		}
	}
	if (argc - optind != 5)
		return usage();
	if (demo_format_from_name(argv[optind], &cfg.format) < 0)
		return usage();
	port = cfg.format == DEMO_SFLOW_V5 ? 6343 : 2055;
	count = strtoul(argv[optind + 1], NULL, 10);
	seed = strtoull(argv[optind + 2], NULL, 10);
	cfg.domain_id = 42;

	flows = calloc(count ? count : 1, sizeof(*flows));
	demo_encoder_new(&cfg, &enc, NULL);
	demo_pcap_writer_new(argv[optind + 3], &w, NULL); /* errno says why */
	json = fopen(argv[optind + 4], "w");
	if (!flows || !enc || !w || !json) {
		fprintf(stderr, "encode_pcap: setup failed: %s\n", strerror(errno));
		goto out;
	}
	demo_flows_random(flows, count, cfg.format, NOW, &seed);
	while (done < count || done == 0) {
		size_t len;
		int n =
		    demo_encoder_encode(enc, flows + done, count - done, buf, sizeof(buf), &len);

		if (n < 0) {
			fprintf(stderr, "encode_pcap: encode: %s\n", strerror(-n));
			goto out;
		}
		if (len) {
			int err = demo_pcap_writer_add(w, t_ns, &exporter, 50000, &collector, port,
						       buf, len);

			if (err < 0) {
				fprintf(stderr, "encode_pcap: write: %s\n", strerror(-err));
				goto out;
			}
			t_ns += 1000000; /* 1 ms apart */
		}
		for (int i = 0; i < n; i++) {
			struct flow *f = &flows[done + (size_t)i];

			if (f->etype == 0x86dd && cfg.format == DEMO_NETFLOW_V5)
				continue; /* skipped by the encoder */
			f->exporter_address = cfg.format == DEMO_SFLOW_V5 ? cfg.agent : exporter;
			f->sampling_rate = cfg.sampling_rate ? cfg.sampling_rate : 1;
			if (flow_write_json(json, f) < 0 || fputc('\n', json) == EOF)
				goto out;
		}
		done += (size_t)n;
		if (!count)
			break;
	}
	ret = 0;
out:
	if (json && fclose(json) != 0)
		ret = 1;
	if (demo_pcap_writer_close(w) < 0)
		ret = 1;
	demo_pcap_writer_free(w);
	demo_encoder_free(enc);
	free(flows);
	return ret;
}
