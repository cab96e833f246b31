// SPDX-License-Identifier: AGPL-3.0-or-later
/* Writes fuzz seeds made by the project's own encoder (user/demo): a few
 * small NetFlow v5/v9, IPFIX and sFlow datagrams per target, as
 * DIR/fuzz_<target>/demo-<n>.bin. The committed tests/fuzz/corpus came from
 *   build/tests/tools/fuzz_seeds tests/fuzz/corpus
 * The first v9/IPFIX datagram carries the templates, the next ones data only
 * (the fuzz targets keep one decoder state across inputs). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/addr.h"
#include "demo/demo.h"

#define FLOWS	  12
#define DATAGRAMS 3

static int write_file(const char *path, const uint8_t *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (!f)
		return -errno;
	ok = fwrite(data, 1, len, f) == len;
	if (fclose(f) != 0 || !ok)
		return -EIO;
	return 0;
}

static int seeds(const char *dir, const char *target, enum demo_format format, uint64_t seed,
		 int sampling_in_record)
{
	struct demo_encoder_config cfg = {
	    .format = format,
	    .domain_id = 7,
	    .sampling_rate = 100,
	    .max_size = 512, /* small datagrams: the fuzzer mutates them faster */
	    .sampling_in_record = sampling_in_record,
	};
	struct flow flows[FLOWS];
	uint8_t buf[2048];
	char path[4096];
	struct demo_encoder *enc;
	size_t off = 0, len;
	int n = 0, r = 0;

	addr_from_ipv4(&cfg.agent, 0xc0000205);
	demo_flows_random(flows, FLOWS, format, 1700000000, &seed);
	snprintf(path, sizeof(path), "%s/%s", dir, target);
	if (mkdir(path, 0777) < 0 && errno != EEXIST)
		return -errno;
	r = demo_encoder_new(&cfg, &enc, NULL);
	if (r < 0)
		return r;
	while (n < DATAGRAMS && off < FLOWS) {
		r = demo_encoder_encode(enc, flows + off, FLOWS - off, buf, sizeof(buf), &len);
		if (r < 0)
			break;
		off += (size_t)r;
		if (!len)
			continue;
		snprintf(path, sizeof(path), "%s/%s/demo-%s%d.bin", dir, target,
			 sampling_in_record ? "rate-in-record-" : "", ++n);
		r = write_file(path, buf, len);
		if (r < 0)
			break;
	}
	demo_encoder_free(enc);
	return r < 0 ? r : 0;
}

int main(int argc, char **argv)
{
	int r = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_seeds DIR\n");
		return 2;
	}
	if (mkdir(argv[1], 0777) < 0 && errno != EEXIST) {
		perror(argv[1]);
		return 1;
	}
	r |= seeds(argv[1], "fuzz_netflow_v5", DEMO_NETFLOW_V5, 1, 0);
	r |= seeds(argv[1], "fuzz_netflow_v9", DEMO_NETFLOW_V9, 2, 0);
	r |= seeds(argv[1], "fuzz_netflow_v9", DEMO_NETFLOW_V9, 3, 1);
	r |= seeds(argv[1], "fuzz_ipfix", DEMO_IPFIX, 4, 0);
	r |= seeds(argv[1], "fuzz_ipfix", DEMO_IPFIX, 5, 1);
	r |= seeds(argv[1], "fuzz_sflow", DEMO_SFLOW_V5, 6, 0);
	if (r) {
		fprintf(stderr, "fuzz_seeds: encoding failed\n");
		return 1;
	}
	return 0;
}
