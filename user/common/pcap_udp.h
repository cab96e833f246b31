/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Reads the UDP datagrams of a pcap or pcapng file (libpcap), in order:
 * Ethernet (with 802.1Q/QinQ), Linux cooked (SLL, SLL2) and raw IP link
 * types; whole (unfragmented) IPv4 datagrams and
 * IPv6 with extension headers. Used by `weir decode`, the tests and the
 * benchmarks to feed captures to the decoders. */
#ifndef WEIR_COMMON_PCAP_UDP_H
#define WEIR_COMMON_PCAP_UDP_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct pcap_udp_datagram {
	uint64_t time_ns;	  /* capture time */
	struct in6_addr src, dst; /* IPv4-mapped for IPv4 */
	uint16_t src_port, dst_port;
	const uint8_t *payload;
	size_t len;
};

/* Called for each UDP datagram; return non-zero to stop the walk. */
typedef int (*pcap_udp_fn)(void *ctx, const struct pcap_udp_datagram *d);

/* Walks `path`. Returns the number of datagrams seen, or -errno with
 * "PATH: libpcap's reason" in `err` (may be NULL). Packets that are not whole
 * UDP datagrams are skipped and counted in *skipped (when not NULL). */
long pcap_udp_walk(const char *path, pcap_udp_fn fn, void *ctx, unsigned long *skipped,
		   struct error *err);

/* Finds the UDP datagram in one frame of link type `dlt` (a DLT_* value).
 * Returns 0 and fills d (payload points into `frame`), or -EINVAL. */
int pcap_udp_parse_frame(int dlt, const uint8_t *frame, size_t caplen, struct pcap_udp_datagram *d);

#endif
