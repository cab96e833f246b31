// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* XDP program of the collector: steers flow datagrams (UDP to a configured
 * port set) into the AF_XDP socket of the receive queue, drops those from
 * exporters outside the allowlist or over their rate, passes everything else.
 * Counters per outcome (per CPU) and per exporter, read by user/inlet/. */
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdp_steer.h"

#define ETH_P_IP     0x0800
#define ETH_P_IPV6   0x86DD
#define ETH_P_8021Q  0x8100
#define ETH_P_8021AD 0x88A8
#define IPPROTO_UDP_ 17
#define IPV6_EXT_MAX 8 /* extension headers walked before giving up */
#define VLAN_MAX     2 /* 802.1Q, and QinQ (802.1ad outer tag) */

/* Load-time setting: per-exporter counters cost one more hash lookup. */
const volatile __u8 per_exporter_stats = 1;

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64); /* resized to the interface's queue count before load */
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

/* Destination ports that mark a flow datagram (value 1). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdp_steer_settings);
} settings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XDP_STEER_MAX_ALLOW);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xdp_steer_lpm_key);
	__type(value, __u8);
} allowlist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XDP_STEER_MAX_EXPORTERS);
	__type(key, struct xdp_steer_addr);
	__type(value, struct xdp_steer_bucket);
} buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDP_STEER_OUTCOMES);
	__type(key, __u32);
	__type(value, struct xdp_steer_counter);
} outcomes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, XDP_STEER_MAX_EXPORTERS);
	__type(key, struct xdp_steer_addr);
	__type(value, struct xdp_steer_exporter);
} exporters SEC(".maps");

struct vlan_hdr_ {
	__be16 tci;
	__be16 encapsulated_proto;
};

static __always_inline int count(__u32 outcome, __u64 bytes, int action)
{
	struct xdp_steer_counter *c = bpf_map_lookup_elem(&outcomes, &outcome);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
	return action;
}

static __always_inline struct xdp_steer_exporter *exporter_stats(const struct xdp_steer_addr *a)
{
	static const struct xdp_steer_exporter zero = {};
	struct xdp_steer_exporter *e;

	if (!per_exporter_stats)
		return NULL;
	e = bpf_map_lookup_elem(&exporters, a);
	if (e)
		return e;
	bpf_map_update_elem(&exporters, a, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&exporters, a);
}

/* 1 when `a` is inside a prefix of the allowlist (or when it is off). */
static __always_inline int allowed(const struct xdp_steer_settings *s,
				   const struct xdp_steer_addr *a)
{
	struct xdp_steer_lpm_key key = {.prefixlen = 128};

	if (!s->allowlist_enabled)
		return 1;
	__builtin_memcpy(key.addr, a->a, 16);
	return bpf_map_lookup_elem(&allowlist, &key) != NULL;
}

/* Token bucket per exporter. Updates from several CPUs race without a lock:
 * at worst a few datagrams more or less pass; the limit is a guard against
 * floods, not an accounting device. */
static __always_inline int within_rate(const struct xdp_steer_settings *s,
				       const struct xdp_steer_addr *a)
{
	__u64 now, elapsed, tokens, full;
	struct xdp_steer_bucket *b;

	if (!s->rate)
		return 1;
	full = s->burst * XDP_STEER_TOKEN;
	now = bpf_ktime_get_ns();
	b = bpf_map_lookup_elem(&buckets, a);
	if (!b) {
		/* A new exporter starts with a full bucket, less this datagram. */
		struct xdp_steer_bucket nb = {.tokens = full - XDP_STEER_TOKEN, .last_ns = now};

		bpf_map_update_elem(&buckets, a, &nb, BPF_ANY);
		return 1;
	}
	elapsed = now - b->last_ns;
	if (now < b->last_ns)
		elapsed = 0;
	/* rate <= 1e8 and elapsed <= 1e10: the product stays below 2^64. */
	if (elapsed > 10000000000ull)
		elapsed = 10000000000ull;
	tokens = b->tokens + elapsed * s->rate;
	if (tokens > full)
		tokens = full;
	b->last_ns = now;
	if (tokens < XDP_STEER_TOKEN) {
		b->tokens = tokens;
		return 0;
	}
	b->tokens = tokens - XDP_STEER_TOKEN;
	return 1;
}

SEC("xdp")
int xdp_steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 bytes = end - data;
	struct xdp_steer_settings *s;
	struct xdp_steer_exporter *e;
	struct xdp_steer_addr src;
	struct ethhdr *eth = data;
	struct udphdr *udp;
	void *cur;
	__u16 proto;
	__u32 key = 0;
	__u8 *flow_port;
	int action;

	if ((void *)(eth + 1) > end)
		return count(XDP_STEER_MALFORMED, bytes, XDP_PASS);
	proto = eth->h_proto;
	cur = eth + 1;

	/* IEEE 802.1Q tags, and an 802.1ad outer tag for QinQ. */
#pragma unroll
	for (int i = 0; i < VLAN_MAX; i++) {
		struct vlan_hdr_ *vh = cur;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > end)
			return count(XDP_STEER_MALFORMED, bytes, XDP_PASS);
		proto = vh->encapsulated_proto;
		cur = vh + 1;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = cur;
		__u32 ihl;

		if ((void *)(ip + 1) > end)
			return count(XDP_STEER_MALFORMED, bytes, XDP_PASS);
		ihl = ip->ihl * 4;
		if (ip->version != 4 || ihl < sizeof(*ip))
			return count(XDP_STEER_MALFORMED, bytes, XDP_PASS);
		if (ip->protocol != IPPROTO_UDP_)
			return count(XDP_STEER_PASSED, bytes, XDP_PASS);
		/* Fragments go to the kernel, which reassembles them (RFC 791). */
		if (ip->frag_off & bpf_htons(0x3fff))
			return count(XDP_STEER_PASSED, bytes, XDP_PASS);
		__builtin_memset(src.a, 0, 10);
		src.a[10] = 0xff;
		src.a[11] = 0xff;
		__builtin_memcpy(&src.a[12], &ip->saddr, 4);
		cur += ihl;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = cur;
		__u8 next;

		if ((void *)(ip6 + 1) > end)
			return count(XDP_STEER_MALFORMED, bytes, XDP_PASS);
		__builtin_memcpy(src.a, &ip6->saddr, 16);
		next = ip6->nexthdr;
		cur = ip6 + 1;
		/* Extension headers (RFC 8200 section 4): hop-by-hop, routing,
		 * destination options. A fragment header sends the packet to the
		 * kernel for reassembly; AH/ESP and the rest are not ours. */
		for (int i = 0; i < IPV6_EXT_MAX; i++) {
			struct ipv6_opt_hdr *opt = cur;

			if (next == IPPROTO_UDP_)
				break;
			if (next == 44)
				return count(XDP_STEER_PASSED, bytes, XDP_PASS);
			if (next != 0 && next != 43 && next != 60)
				return count(XDP_STEER_PASSED, bytes, XDP_PASS);
			if ((void *)(opt + 1) > end)
				return count(XDP_STEER_MALFORMED, bytes, XDP_PASS);
			cur += ((__u32)opt->hdrlen + 1) * 8;
			next = opt->nexthdr;
		}
		if (next != IPPROTO_UDP_)
			return count(XDP_STEER_PASSED, bytes, XDP_PASS);
	} else {
		return count(XDP_STEER_PASSED, bytes, XDP_PASS);
	}

	udp = cur;
	if ((void *)(udp + 1) > end)
		return count(XDP_STEER_MALFORMED, bytes, XDP_PASS);
	key = bpf_ntohs(udp->dest);
	flow_port = bpf_map_lookup_elem(&ports, &key);
	if (!flow_port || !*flow_port)
		return count(XDP_STEER_PASSED, bytes, XDP_PASS);
	/* RFC 768: the length covers header and data; it may not exceed what
	 * arrived (trailing Ethernet padding may follow it). */
	if (bpf_ntohs(udp->len) < sizeof(*udp) || cur + bpf_ntohs(udp->len) > end)
		return count(XDP_STEER_MALFORMED, bytes, XDP_PASS);

	key = 0;
	s = bpf_map_lookup_elem(&settings, &key);
	if (!s)
		return count(XDP_STEER_PASSED, bytes, XDP_PASS);
	e = exporter_stats(&src);
	if (!allowed(s, &src)) {
		if (e)
			e->dropped_not_allowed++;
		return count(XDP_STEER_DROPPED_NOT_ALLOWED, bytes, XDP_DROP);
	}
	if (!within_rate(s, &src)) {
		if (e)
			e->dropped_rate++;
		return count(XDP_STEER_DROPPED_RATE, bytes, XDP_DROP);
	}
	action = bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
	if (action != XDP_REDIRECT)
		return count(XDP_STEER_NO_SOCKET, bytes, action);
	if (e) {
		e->steered++;
		e->steered_bytes += bytes;
	}
	return count(XDP_STEER_STEERED, bytes, action);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
