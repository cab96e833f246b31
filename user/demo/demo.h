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

#include "../common/error.h"
#include "../common/flow.h"

enum demo_format {
	DEMO_NETFLOW_V5,
	DEMO_NETFLOW_V9,
	DEMO_IPFIX,
	DEMO_SFLOW_V5,
};

/* "netflow-v5", "netflow-v9", "ipfix", "sflow-v5" (decode_protocol_name's words). */
const char *demo_format_name(enum demo_format format);
/* Parses those names and the short forms v5, v9, sflow. Returns 0 or -EINVAL. */
int demo_format_from_name(const char *name, enum demo_format *format);

struct demo_encoder_config {
	enum demo_format format;
	uint32_t domain_id;	/* v9 source id, IPFIX observation domain, sFlow sub-agent id */
	uint32_t sampling_rate; /* announced: v5 header, v9/IPFIX options data, sFlow samples */
	struct in6_addr agent;	/* sFlow agent address (IPv4-mapped for IPv4) */
	/* v9/IPFIX: (options) templates every N datagrams; 0 = only the first */
	uint32_t template_refresh;
	uint16_t max_size;    /* datagram size limit in bytes; 0 = 1400 */
	uint64_t export_time; /* unix seconds for headers; 0 = the flows' time_received */
	uint32_t uptime_ms;   /* v5/v9 sysUptime at the first datagram (0 = one day); it then
			       * grows with the export time */
	/* v9/IPFIX: the sampling interval in every data record (IE 34) instead
	 * of a sampler id (IE 48 / 302) and sampling options data. */
	int sampling_in_record;
	/* v9/IPFIX: a short template as routers send (4-byte counters, saturated;
	 * addresses, ports, proto, TOS, TCP flags, masks, next hop, interfaces,
	 * AS, times): about 25 IPv4 records per 1400-byte datagram instead of 9. */
	int compact;
	/* sFlow: the sampled header holds the frame's first N bytes (its
	 * headers, then payload bytes), as a switch samples them; at most 128,
	 * never more than the frame. 0 = the headers only. */
	uint16_t sflow_header_len;
};

/* What an encoder did so far. */
struct demo_encoder_stats {
	uint64_t datagrams; /* datagrams built (including template-only ones) */
	uint64_t flows;	    /* flows encoded */
	uint64_t skipped;   /* flows the format cannot carry (IPv6 in NetFlow v5), left out */
	uint64_t templates; /* template and options template records sent */
};

struct demo_encoder;

/* Returns 0 with a new encoder in *out, or -EINVAL (unknown format) or
 * -ENOMEM with *out = NULL and `err` filled. `cfg` is copied. */
int demo_encoder_new(const struct demo_encoder_config *cfg, struct demo_encoder **out,
		     struct error *err);
/* NULL is fine. */
void demo_encoder_free(struct demo_encoder *enc);

/* Encodes as many of flows[0..n) as fit in one datagram of at most
 * max_size bytes into buf (cap bytes), with templates, options templates and
 * sampling options data when due. Returns how many flows went in (> 0 unless
 * n == 0; a datagram may carry only templates, then 0 with *len > 0), or
 * -errno. *len is the datagram's size. Sequence numbers advance per call.
 *
 * NetFlow v5 carries IPv4 only: IPv6 flows are skipped and counted in the
 * stats; they count in the return value as consumed, so the caller always
 * advances by the return value. When every consumed flow was skipped,
 * *len is 0 and no datagram was built.
 *
 * What each format carries (the rest of struct flow is not sent):
 * - v5: addresses, next hop, ports, proto, TOS, TCP flags (8 bits),
 *   bytes/packets (saturated at 2^32-1), in/out interface (saturated at
 *   65535), AS (AS_TRANS 23456 above 65535, RFC 6793), masks, flow start/end
 *   (sysUptime-relative), sampling interval (header, at most 16383).
 * - v9 and IPFIX: all of v5 at full width, plus MACs, VLANs, direction,
 *   forwarding status, ICMP type/code, 3 MPLS labels, VRFs, NAT addresses and
 *   ports, TTL, fragment id/offset, IPv6 flow label; v9 TCP flags are 8 bits;
 *   times are sysUptime-relative in v9 (0 when out of range), absolute
 *   milliseconds in IPFIX; sampling by options data or IE 34 in the record.
 *   The compact template keeps the v5 set (4-byte counters, saturated) and
 *   puts the ICMP type << 8 | code in the destination port as v5 does.
 * - sFlow v5: one flow sample per flow: a synthesized Ethernet [802.1Q]
 *   [MPLS] IPv4/IPv6 TCP/UDP/ICMP header (addresses, ports, proto, TOS, TTL,
 *   TCP flags, IPv4 fragment id/offset, flow label, ICMP type/code, MACs,
 *   source VLAN, MPLS labels; IP total length = bytes / packets), extended
 *   switch (VLANs), router (next hop, masks) and gateway (AS, AS path,
 *   communities: a path ending with dst_as, or [dst_as] when the flow has no
 *   path) records, sampling rate, sample pool, in/out interface (at most
 *   2^30-1). */
int demo_encoder_encode(struct demo_encoder *enc, const struct flow *flows, size_t n, uint8_t *buf,
			size_t cap, size_t *len);

void demo_encoder_stats(const struct demo_encoder *enc, struct demo_encoder_stats *stats);

/* What a router says about one of its interfaces (strings borrowed). */
struct demo_interface {
	uint32_t ifindex;
	uint32_t speed_mbps;	 /* sent by IPFIX only (0 = not sent) */
	const char *name;	 /* interfaceName, at most DEMO_IF_NAME_LEN - 1 bytes sent */
	const char *description; /* interfaceDescription, at most DEMO_IF_DESC_LEN - 1 */
};
#define DEMO_IF_NAME_LEN 32
#define DEMO_IF_DESC_LEN 64

/* NetFlow v9 and IPFIX only: builds in buf (cap bytes) one datagram with an
 * options template and options data naming interfaces ifs[0..n), as routers
 * export them: scope the interface (v9 scope type 2 Interface, RFC 3954 6.1;
 * IPFIX ingressInterface, IE 10), interfaceName (IE 82) and
 * interfaceDescription (IE 83) in fixed-length NUL-padded fields and, in
 * IPFIX, the speed in bits/s (weir's enterprise IE 32473/1, as weir probe
 * sends it). Returns how many interfaces went in (as many as fit in
 * max_size), -EINVAL for the other formats, or -EMSGSIZE; *len is the
 * datagram's size. `now` (unix seconds) is the export time unless the
 * config sets one. Sequence numbers advance as for flows. */
int demo_encoder_encode_interfaces(struct demo_encoder *enc, const struct demo_interface *ifs,
				   size_t n, uint64_t now, uint8_t *buf, size_t cap, size_t *len);

/* Fills flows[0..n) with pseudo-random but reproducible records (the
 * generator state *seed is updated) that use the fields `format` carries,
 * within its ranges: IPv4 and IPv6 (v5: IPv4 only), TCP, UDP, ICMP and other
 * protocols, times around time_received = `now`. For tests and benchmarks;
 * sampling_rate, exporter_address and the large communities stay 0. */
void demo_flows_random(struct flow *flows, size_t n, enum demo_format format, uint64_t now,
		       uint64_t *seed);

/* Classic pcap files (microsecond timestamps, Ethernet link type) of
 * Ethernet/IPv4 or IPv6/UDP frames, to replay flow datagrams through
 * tshark, `weir decode` and the inlet tests. */
struct demo_pcap_writer;

/* Creates (or truncates) `path` and writes the file header. Returns 0 with
 * *out, or -errno (of fopen) with *out = NULL and "PATH: reason" in `err`. */
int demo_pcap_writer_new(const char *path, struct demo_pcap_writer **out, struct error *err);

/* Appends one frame carrying `payload` in a UDP datagram from src:sport to
 * dst:dport (both IPv4-mapped, or both IPv6), captured at time_ns (unix
 * nanoseconds). Returns 0, -EINVAL (mixed families), -EMSGSIZE (payload too
 * big for one IP datagram) or -errno of the write. */
int demo_pcap_writer_add(struct demo_pcap_writer *w, uint64_t time_ns, const struct in6_addr *src,
			 uint16_t sport, const struct in6_addr *dst, uint16_t dport,
			 const uint8_t *payload, size_t len);

/* Flushes and closes the file. Returns 0 or the -errno of the first write
 * or close error (0 again when called twice). Only demo_pcap_writer_free()
 * may follow. NULL is a no-op. */
int demo_pcap_writer_close(struct demo_pcap_writer *w);
/* Closes the file when demo_pcap_writer_close() did not (its errors are
 * lost then) and frees `w`. NULL is fine. */
void demo_pcap_writer_free(struct demo_pcap_writer *w);

/* Builds in `frame` (cap bytes) the Ethernet/IP/UDP frame
 * demo_pcap_writer_add() writes. Returns its length, or -EINVAL/-EMSGSIZE. */
int demo_udp_frame_build(uint8_t *frame, size_t cap, const struct in6_addr *src, uint16_t sport,
			 const struct in6_addr *dst, uint16_t dport, const uint8_t *payload,
			 size_t len);

#endif
