/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* Structures shared by the XDP steering program (xdp_steer.bpf.c) and the
 * inlet (user/inlet/): map keys and values, outcome indexes. Plain __u types
 * only, so both sides see the same layout. */
#ifndef WEIR_XDP_STEER_H
#define WEIR_XDP_STEER_H

/* Index of the per-CPU `outcomes` array: what the program did with a frame. */
enum xdp_steer_outcome {
	XDP_STEER_STEERED = 0, /* flow datagram redirected into an AF_XDP socket */
	XDP_STEER_PASSED = 1,  /* not a flow datagram (or a fragment): left to the kernel */
	XDP_STEER_DROPPED_NOT_ALLOWED = 2, /* flow datagram from outside the allowlist */
	XDP_STEER_DROPPED_RATE = 3,	   /* over the exporter's rate limit */
	XDP_STEER_MALFORMED = 4,	   /* truncated or inconsistent headers: passed, counted */
	XDP_STEER_NO_SOCKET = 5,	   /* flow datagram, but no socket on this queue: passed */
	XDP_STEER_OUTCOMES = 6,
};

struct xdp_steer_counter {
	__u64 packets;
	__u64 bytes;
};

/* Run-time settings: one entry of the `settings` array, written by user
 * space whenever the configuration changes (no reload). */
struct xdp_steer_settings {
	__u64 rate;		 /* datagrams/s per exporter; 0 = no limit */
	__u64 burst;		 /* bucket size in datagrams (>= 1 when rate > 0) */
	__u32 allowlist_enabled; /* 0: every exporter is allowed */
	__u32 pad;
};

/* Exporter address, 16 bytes, IPv4 mapped into IPv6 (::ffff:a.b.c.d). */
struct xdp_steer_addr {
	__u8 a[16];
};

/* Key of the LPM trie allowlist; prefixlen counts in the 128-bit space (an
 * IPv4 /24 is 96 + 24 = 120). */
struct xdp_steer_lpm_key {
	__u32 prefixlen;
	__u8 addr[16];
};

/* Token bucket of one exporter; tokens in billionths of a datagram so that a
 * refill of elapsed_ns * rate needs no division. */
struct xdp_steer_bucket {
	__u64 tokens;
	__u64 last_ns;
};

/* Per-CPU counters of one exporter (flow datagrams only). */
struct xdp_steer_exporter {
	__u64 steered;
	__u64 steered_bytes;
	__u64 dropped_not_allowed;
	__u64 dropped_rate;
};

#define XDP_STEER_MAX_EXPORTERS 16384
#define XDP_STEER_MAX_ALLOW	4096
#define XDP_STEER_TOKEN		1000000000ull /* one datagram */
#define XDP_STEER_MAX_RATE	100000000ull  /* rate and burst bounds: no u64 overflow */

#endif
