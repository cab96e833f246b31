// SPDX-License-Identifier: AGPL-3.0-or-later
/* Reproducible pseudo-random flows for the encoder's tests and benchmarks:
 * every field a format carries gets a value in the range the format can
 * hold, so an encode/decode round trip must give the same records back. */
#include "common/addr.h"
#include "common/rng.h"
#include "encode_internal.h"

/* Uniform in [lo, hi]. */
static uint64_t rnd_range(uint64_t *s, uint64_t lo, uint64_t hi)
{
	return lo + rng_next(s) % (hi - lo + 1);
}

/* 1 with probability 1/n. */
static int one_in(uint64_t *s, unsigned n)
{
	return rng_next(s) % n == 0;
}

static void rnd_ipv4(uint64_t *s, struct in6_addr *a)
{
	/* 1.0.0.0 - 223.255.255.255: unicast, never zero. */
	addr_from_ipv4(a, (uint32_t)rnd_range(s, 0x01000000, 0xdfffffff));
}

static void rnd_ipv6(uint64_t *s, struct in6_addr *a)
{
	uint64_t lo = rng_next(s), hi = rng_next(s);

	/* 2001:db8::/32 */
	a->s6_addr[0] = 0x20;
	a->s6_addr[1] = 0x01;
	a->s6_addr[2] = 0x0d;
	a->s6_addr[3] = 0xb8;
	for (int i = 4; i < 8; i++)
		a->s6_addr[i] = (uint8_t)(hi >> (8 * i));
	for (int i = 8; i < 16; i++)
		a->s6_addr[i] = (uint8_t)(lo >> (8 * (i - 8)));
}

static void rnd_addr(uint64_t *s, struct in6_addr *a, int v6)
{
	if (v6)
		rnd_ipv6(s, a);
	else
		rnd_ipv4(s, a);
}

static uint64_t rnd_mac(uint64_t *s)
{
	/* Locally administered unicast, never zero. */
	return (rng_next(s) & 0xfcffffffffffull) | 0x020000000000ull;
}

static void random_flow(struct flow *f, enum demo_format fmt, uint64_t now, uint64_t *s)
{
	int v5 = fmt == DEMO_NETFLOW_V5, sflow = fmt == DEMO_SFLOW_V5;
	int templ = fmt == DEMO_NETFLOW_V9 || fmt == DEMO_IPFIX;
	int v6 = !v5 && one_in(s, 3);
	unsigned pick = (unsigned)rnd_range(s, 0, 9);

	flow_reset(f);
	f->time_received = now;
	f->etype = v6 ? 0x86dd : 0x0800;
	rnd_addr(s, &f->src_addr, v6);
	rnd_addr(s, &f->dst_addr, v6);
	/* 40% TCP, 30% UDP, 20% ICMP, 10% GRE. */
	f->proto = pick < 4 ? 6 : pick < 7 ? 17 : pick < 9 ? (v6 ? 58 : 1) : 47;
	if (f->proto == 6 || f->proto == 17) {
		f->src_port = (uint16_t)rnd_range(s, 1, 65535);
		f->dst_port = (uint16_t)rnd_range(s, 1, 65535);
	}
	if (f->proto == 6)
		f->tcp_flags =
		    (uint16_t)rnd_range(s, 1, v5 || fmt == DEMO_NETFLOW_V9 ? 0xff : 0x1ff);
	if (f->proto == 1) {
		f->icmpv4_type = (uint8_t)rnd_range(s, 0, 15);
		f->icmpv4_code = (uint8_t)rnd_range(s, 0, 5);
	} else if (f->proto == 58) {
		f->icmpv6_type = (uint8_t)rnd_range(s, 1, 255);
		f->icmpv6_code = (uint8_t)rnd_range(s, 0, 5);
	}
	f->ip_tos = (uint8_t)rng_next(s);
	f->src_net_mask = (uint8_t)rnd_range(s, 0, v6 ? 128 : 32);
	f->dst_net_mask = (uint8_t)rnd_range(s, 0, v6 ? 128 : 32);
	if (!one_in(s, 5))
		rnd_addr(s, &f->next_hop, v6);

	if (sflow) {
		/* One sampled packet: its IP length is the flow's bytes. */
		unsigned min = (v6 ? 40 : 20) + (f->proto == 6 ? 20 : f->proto == 47 ? 0 : 8);

		f->packets = 1;
		f->bytes = rnd_range(s, min, 1500);
	} else {
		f->packets = rnd_range(s, 1, v5 ? 1000000 : 1ull << 32);
		f->bytes = f->packets * rnd_range(s, 40, 1500);
		if (v5 && f->bytes > UINT32_MAX)
			f->bytes = UINT32_MAX;
	}
	if (v5) {
		f->in_if = (uint32_t)rnd_range(s, 1, 65535);
		f->out_if = (uint32_t)rnd_range(s, 0, 65535);
		f->src_as = (uint32_t)rnd_range(s, 0, 65535);
		f->dst_as = (uint32_t)rnd_range(s, 0, 65535);
	} else {
		uint32_t if_max = sflow ? 0x3ffffffe : UINT32_MAX;

		f->in_if = (uint32_t)rnd_range(s, 1, if_max);
		f->out_if = (uint32_t)rnd_range(s, 0, if_max);
		f->src_as = (uint32_t)rnd_range(s, 0, UINT32_MAX);
		f->dst_as = (uint32_t)rnd_range(s, 0, UINT32_MAX);
	}
	if (!v5) {
		f->src_mac = rnd_mac(s);
		f->dst_mac = rnd_mac(s);
		f->ip_ttl = (uint8_t)rnd_range(s, 1, 255);
		if (!one_in(s, 3))
			f->src_vlan = (uint16_t)rnd_range(s, 1, 4094);
		/* sFlow: a tagged frame gives both VLANs unless the switch
		 * record says otherwise, so tagged flows get both. */
		if (!one_in(s, 3) || (sflow && f->src_vlan))
			f->dst_vlan = (uint16_t)rnd_range(s, 1, 4094);
		if (v6)
			f->ipv6_flow_label = (uint32_t)rnd_range(s, 0, 0xfffff);
		else
			f->ip_fragment_id = (uint32_t)rnd_range(s, 0, 0xffff);
		if (one_in(s, 3)) {
			/* NetFlow templates carry 3 labels, sFlow all of them. */
			f->mpls_labels_count =
			    (uint8_t)rnd_range(s, 1, sflow ? FLOW_MAX_MPLS_LABELS : 3);
			for (unsigned i = 0; i < f->mpls_labels_count; i++)
				f->mpls_labels[i] = (uint32_t)rnd_range(s, 16, 0xfffff);
		}
	}
	if (templ) {
		f->flow_direction = (uint8_t)rnd_range(s, 0, 2);
		f->forwarding_status = one_in(s, 4) ? (uint32_t)rnd_range(s, 128, 131) : 64;
		f->ingress_vrf_id = one_in(s, 2) ? (uint32_t)rng_next(s) : 0;
		f->egress_vrf_id = one_in(s, 2) ? (uint32_t)rng_next(s) : 0;
		if (v6 && fmt == DEMO_IPFIX)
			f->ip_fragment_id = (uint32_t)rng_next(s);
		else if (v6)
			f->ip_fragment_id = 0; /* v9 IPV4_IDENT: IPv4 only */
		if (one_in(s, 4))
			f->ip_fragment_offset = (uint16_t)rnd_range(s, 1, 0x1fff);
		if (one_in(s, 3)) {
			rnd_addr(s, &f->src_addr_nat, v6);
			rnd_addr(s, &f->dst_addr_nat, v6);
			f->src_port_nat = (uint16_t)rnd_range(s, 1, 65535);
			f->dst_port_nat = (uint16_t)rnd_range(s, 1, 65535);
		}
	}
	if (!sflow) {
		/* Flows ended in the last minute and lasted up to 5 minutes. */
		f->time_flow_end_ms = now * 1000 - rnd_range(s, 0, 60000);
		f->time_flow_start_ms = f->time_flow_end_ms - rnd_range(s, 0, 300000);
	}
	if (sflow) {
		unsigned hops = (unsigned)rnd_range(s, 0, 5);

		/* The destination AS ends the path. */
		f->dst_as_path_count = (uint8_t)hops;
		for (unsigned i = 0; i < hops; i++)
			f->dst_as_path[i] = (uint32_t)rnd_range(s, 1, UINT32_MAX);
		if (hops)
			f->dst_as = f->dst_as_path[hops - 1];
		f->dst_communities_count = (uint8_t)rnd_range(s, 0, 4);
		for (unsigned i = 0; i < f->dst_communities_count; i++)
			f->dst_communities[i] = (uint32_t)rng_next(s);
	}
}

void demo_flows_random(struct flow *flows, size_t n, enum demo_format format, uint64_t now,
		       uint64_t *seed)
{
	for (size_t i = 0; i < n; i++)
		random_flow(&flows[i], format, now, seed);
}
