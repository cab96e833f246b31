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

/* Counters of one flow, as user space keeps them (user/probe/) and as ring
 * buffer events carry them. In an event, first_ns and last_ns are jiffies
 * (bpf_jiffies64()), which user space turns into CLOCK_MONOTONIC ns; in user
 * space they are CLOCK_MONOTONIC ns, with the kernel's tick resolution. */
struct probe_flow_value {
	__u64 bytes; /* IP bytes: header and payload, as IPFIX octetDeltaCount */
	__u64 packets;
	__u64 first_ns;
	__u64 last_ns;
	__u32 tcp_flags; /* OR of every packet's flags (12 bits; 32-bit atomics: -mcpu=v3) */
	__u8 tos;	 /* of the first packet */
	__u8 pad[3];
};

/* One slot of the kernel's flow table: a BPF array of 2^n slots (mmapable,
 * so page-aligned: a slot is exactly one cache line), open addressing with
 * linear probing over PROBE_SLOT_PROBES slots from the key's hash. One
 * cache line per packet is what the meter costs at many flows; the kernel's
 * hash map took three (bucket, then a 128-byte element) and a jhash. Shared
 * by the CPUs: counters added atomically. A slot is taken once (compare
 * and exchange of `word` from 0 to PROBE_SLOT_BUSY, the key written, then
 * `word` set) and stays until user space swaps the table out and empties
 * it; two CPUs taking a slot for the same new flow at once make two slots of
 * one key, which user space adds up. After the 2^n slots, each CPU has
 * PROBE_STAGE + 1 of its own (probe.bpf.c: account()): a header (`packets`
 * the count staged, `src` a 128-bit summary of their hashes, PROBE_SUM_A()
 * and PROBE_SUM_B(), `bytes` the claim word: a generation << 32 | a bit per
 * entry a FIN on another CPU took), then the packets it staged: as in a
 * slot, but `first` is the key's hash and `flags_last` tcp flags | the
 * jiffies' low 16 bits << 16. */
struct probe_slot {
	__u8 src[16]; /* as in probe_flow_key */
	__u8 dst[16];
	__u32 ifindex;
	__u16 src_port;
	__u16 dst_port;
	/* 0: free. Else vlan (12 bits) | direction << 12 | (ip_version == 6)
	 * << 13 | 1 << 15 | proto << 16 | tos << 24. The key is the rest of
	 * the slot above and the low 24 bits of this; tos is of the first
	 * packet. */
	__u32 word;
	__u32 packets;
	__u64 bytes;
	__u32 first; /* jiffies (low 32 bits) of the first packet */
	/* tcp flags OR-ed (low 16 bits, atomic OR), jiffies from `first` to
	 * the last packet (high 16 bits, at most 0xffff, stored as is). */
	__u32 flags_last;
};

#define PROBE_SLOT_PROBES 8 /* slots looked at from the key's hash */
/* Packets a CPU stages before adding them to their slots together: a table
 * of 2^n slots has (PROBE_STAGE + 1) more per CPU after them (probe.bpf.c:
 * account()). */
#define PROBE_STAGE 16 /* at most 32: a bit each in the claim word */
/* The two bits (of 128) a staged packet's hash sets in its stage header's
 * summary: a FIN reads no further in a stage without both of its own. */
#define PROBE_SUM_A(hash)  ((hash) >> 25)
#define PROBE_SUM_B(hash)  ((hash) >> 18 & 127)
#define PROBE_SLOT_INUSE   (1u << 15) /* in `word` of every taken slot */
#define PROBE_SLOT_V6	   (1u << 13)
#define PROBE_SLOT_DIR	   12 /* shift of direction in `word` */
#define PROBE_SLOT_KEYMASK 0x00ffffffu
#define PROBE_SLOT_BUSY	   0xffffffffu /* being filled: never a key (bit 14 is 0 in those) */

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

#define PROBE_DEFAULT_MAX_FLOWS 65536 /* slots of each kernel flow table */

#endif
