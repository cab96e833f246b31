/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* Structures shared by the host probe's programs (probe.bpf.c) and its
 * exporter (user/probe/): the flow key and counters, the ring buffer event of
 * a flow the map had no room for, and the per-CPU outcome counters. Plain __u
 * types only, so both sides see the same layout. */
#ifndef WEIR_BPF_PROBE_H
#define WEIR_BPF_PROBE_H

enum probe_direction {
	PROBE_INGRESS = 0, /* flowDirection 0 (RFC 5102) */
	PROBE_EGRESS = 1,
};

/* One flow: everything that tells packets apart. Addresses are 16 bytes, an
 * IPv4 address in the first 4 (the rest zero). ICMP puts type and code in
 * dst_port (type << 8 | code, src_port 0) as NetFlow v5 did. Padding is
 * explicit and always zero: the key is hashed as bytes. */
struct probe_flow_key {
	__u32 ifindex;
	__u8 direction;	 /* enum probe_direction */
	__u8 ip_version; /* 4 or 6 */
	__u8 proto;
	__u8 pad;
	__u16 vlan; /* 802.1Q VLAN id, 0 when untagged */
	__u16 src_port;
	__u16 dst_port;
	__u16 pad2;
	__u8 src[16];
	__u8 dst[16];
};

/* Counters of one flow, shared by the CPUs: bytes and packets are added
 * atomically, tcp_flags OR-ed atomically (only when a new flag shows up),
 * last_ns stored as is (a racing CPU may leave it a few microseconds
 * early). Times are bpf_ktime_get_coarse_ns() (CLOCK_MONOTONIC_COARSE:
 * CLOCK_MONOTONIC up to one tick behind). 40 bytes: with the 48-byte key
 * and the kernel's 40-byte element header a hash map element is 128 bytes,
 * two whole cache lines (136 straddled three). */
struct probe_flow_value {
	__u64 bytes; /* IP bytes: header and payload, as IPFIX octetDeltaCount */
	__u64 packets;
	__u64 first_ns;
	__u64 last_ns;
	__u32 tcp_flags; /* OR of every packet's flags (12 bits; 32-bit atomics: -mcpu=v3) */
	__u8 tos;	 /* of the first packet */
	__u8 pad[3];
};

/* What a ring buffer event is. */
enum probe_event_kind {
	/* A packet whose flow found the map full: sent as is, so that it is
	 * counted in user space (never dropped without a trace). */
	PROBE_EVENT_MAP_FULL = 0,
	/* A TCP FIN or RST ended the flow: what its map entry held, taken out
	 * of the entry by atomic exchanges (the entry stays, at zero: a packet
	 * racing on another CPU lands either in this event or in the entry,
	 * exported later). Wakes user space at most every 100 ms (or when the
	 * ring is over a quarter full); user space looks at the ring again
	 * 150 ms after it last found records, for those in between. */
	PROBE_EVENT_FLOW_END = 1,
};

/* A ring buffer event (enum probe_event_kind). */
struct probe_overflow {
	struct probe_flow_key key;
	struct probe_flow_value value;
	__u32 kind; /* enum probe_event_kind */
	__u32 pad;
};

#define PROBE_TCP_FIN 0x01
#define PROBE_TCP_RST 0x04

/* Index of the per-CPU `stats` array of packet counts (__u64). Each packet
 * adds to exactly one outcome (one counter per packet on the fast path), so
 * the programs leave PACKETS at 0: user space sums the outcomes. */
enum probe_stat {
	PROBE_STAT_PACKETS = 0,	    /* packets seen (before sampling): the sum of the others */
	PROBE_STAT_COUNTED = 1,	    /* packets added to the map */
	PROBE_STAT_MAP_FULL = 2,    /* packets whose flow had no room: sent to the ring buffer */
	PROBE_STAT_RING_DROP = 3,   /* ... and the ring buffer was full too: lost, counted */
	PROBE_STAT_NOT_IP = 4,	    /* neither IPv4 nor IPv6: not metered */
	PROBE_STAT_MALFORMED = 5,   /* truncated or inconsistent headers: not metered */
	PROBE_STAT_SAMPLED_OUT = 6, /* skipped by 1-in-N sampling */
	PROBE_STAT_NO_MAP = 7,	    /* no active flow map (should not happen) */
	PROBE_STATS = 8,
};

#define PROBE_DEFAULT_MAX_FLOWS 65536

#endif
