/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The demo stage: weir's own flow exporter. Its encoder turns struct flow
 * records into NetFlow v5, NetFlow v9, IPFIX or sFlow v5 datagrams; the demo
 * exporter, the round-trip tests, the benchmarks and the inlet tests all use
 * it, so weir never depends on captures from elsewhere to test itself. */
#ifndef WEIR_DEMO_H
#define WEIR_DEMO_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/flow.h"

enum demo_format {
	DEMO_NETFLOW_V5,
	DEMO_NETFLOW_V9,
	DEMO_IPFIX,
	DEMO_SFLOW_V5,
};

struct demo_encoder_config {
	enum demo_format format;
	uint32_t domain_id; /* v9 source id, IPFIX observation domain, sFlow sub-agent id */
	uint32_t sampling_rate; /* announced: v5 header, v9/IPFIX options data, sFlow samples */
	struct in6_addr agent; /* sFlow agent address (IPv4-mapped for IPv4) */
	uint32_t template_refresh; /* v9/IPFIX: (options) templates every N datagrams; 0 = only the first */
	uint16_t max_size; /* datagram size limit in bytes; 0 = 1400 */
	uint64_t export_time; /* unix seconds for headers; 0 = the flows' time_received */
	uint32_t uptime_ms; /* v5/v9 sysUptime */
};

struct demo_encoder;

/* Returns a new encoder or NULL (bad config or out of memory). */
struct demo_encoder *demo_encoder_new(const struct demo_encoder_config *cfg);
void demo_encoder_free(struct demo_encoder *enc);

/* Encodes as many of flows[0..n) as fit in one datagram of at most
 * max_size bytes into buf (cap bytes), with templates, options templates and
 * sampling options data when due. Returns how many flows went in (> 0 unless
 * n == 0; a datagram may carry only templates, then 0 with *len > 0), or
 * -errno. *len is the datagram's size. Sequence numbers advance per call. */
int demo_encoder_encode(struct demo_encoder *enc, const struct flow *flows, size_t n,
			uint8_t *buf, size_t cap, size_t *len);

#endif
