// SPDX-License-Identifier: AGPL-3.0-or-later
/* sFlow v5 encoder (sFlow version 5 specification, sflow.org, 2004): one
 * flow sample per flow, each with a sampled header synthesized from the
 * flow's fields and the extended switch, router and gateway records the
 * flow has values for. */
#include <errno.h>

#include "common/addr.h"
#include "common/inet_csum.h"
#include "encode_internal.h"

#define SFLOW_VERSION	      5
#define SFLOW_ADDR_UNKNOWN    0
#define SFLOW_ADDR_IPV4	      1
#define SFLOW_ADDR_IPV6	      2
#define SFLOW_FLOW_SAMPLE     1 /* enterprise 0, format 1 */
#define SFLOW_REC_HEADER      1
#define SFLOW_REC_SWITCH      1001
#define SFLOW_REC_ROUTER      1002
#define SFLOW_REC_GATEWAY     1003
#define SFLOW_HEADER_ETHERNET 1 /* header_protocol ETHERNET-ISO88023 */
#define SFLOW_AS_SEQUENCE     2
#define SFLOW_IF_MAX	      0x3fffffff /* 30 bits; this value itself means "unknown" */
/* Ethernet, 802.1Q, 10 MPLS labels, IPv6, TCP: 118 bytes. */
#define SFLOW_MAX_HEADER 128

static size_t addr_len(const struct in6_addr *a)
{
	if (addr_is_zero(a))
		return 4;
	return addr_is_ipv4(a) ? 8 : 20;
}

/* sFlow "address": type, then 4 or 16 bytes (nothing for unknown). */
static uint8_t *wr_addr(uint8_t *p, const struct in6_addr *a)
{
	if (addr_is_zero(a))
		return be32_put(p, SFLOW_ADDR_UNKNOWN);
	if (addr_is_ipv4(a))
		return wr_mem(be32_put(p, SFLOW_ADDR_IPV4), &a->s6_addr[12], 4);
	return wr_mem(be32_put(p, SFLOW_ADDR_IPV6), a, 16);
}

/* Builds the sampled packet's headers (Ethernet, 802.1Q when src_vlan is
 * set, the MPLS label stack, IPv4 or IPv6, then TCP, UDP or ICMP, no
 * payload) into h. Returns the header length; *frame_len is the length of
 * the whole frame it stands for. */
static size_t synth_header(uint8_t *h, const struct flow *f, uint32_t *frame_len)
{
	int v6 = enc_is_ipv6(f);
	size_t l2, ip_hdr = v6 ? 40 : 20, l4 = 0;
	uint64_t total;
	uint8_t *p = h, *ip;
	uint8_t proto = f->proto;

	p = be_uint_put(p, f->dst_mac, 6);
	p = be_uint_put(p, f->src_mac, 6);
	if (f->src_vlan) {
		p = be16_put(p, 0x8100);
		p = be16_put(p, f->src_vlan & 0xfff);
	}
	if (f->mpls_labels_count) {
		unsigned n = f->mpls_labels_count > FLOW_MAX_MPLS_LABELS ? FLOW_MAX_MPLS_LABELS
									 : f->mpls_labels_count;

		p = be16_put(p, 0x8847);
		/* RFC 3032 2.1: label, TC, bottom of stack, TTL. */
		for (unsigned i = 0; i < n; i++)
			p = be32_put(p, (f->mpls_labels[i] & 0xfffff) << 12 |
					    (i + 1 == n ? 1u << 8 : 0) | 64);
	} else {
		p = be16_put(p, v6 ? 0x86dd : 0x0800);
	}
	l2 = (size_t)(p - h);

	/* Layer 4 header only in a first fragment. */
	if (v6 || (f->ip_fragment_offset & 0x1fff) == 0) {
		if (proto == 6)
			l4 = 20;
		else if (proto == 17)
			l4 = 8;
		else if (proto == 1 || proto == 58)
			l4 = 8;
	}
	/* The IP total length stands for the flow's bytes (an average when the
	 * flow has several packets). */
	total = f->packets > 1 ? f->bytes / f->packets : f->bytes;
	if (total < ip_hdr + l4)
		total = ip_hdr + l4;
	if (total > 0xffff)
		total = 0xffff;

	ip = p;
	if (v6) {
		p = be32_put(p,
			     6u << 28 | (uint32_t)f->ip_tos << 20 | (f->ipv6_flow_label & 0xfffff));
		p = be16_put(p, (uint16_t)(total - 40));
		p = wr8(p, proto);
		p = wr8(p, f->ip_ttl);
		p = wr_mem(p, &f->src_addr, 16);
		p = wr_mem(p, &f->dst_addr, 16);
	} else {
		p = wr8(p, 0x45);
		p = wr8(p, f->ip_tos);
		p = be16_put(p, (uint16_t)total);
		p = be16_put(p, (uint16_t)f->ip_fragment_id);
		p = be16_put(p, f->ip_fragment_offset & 0x1fff);
		p = wr8(p, f->ip_ttl);
		p = wr8(p, proto);
		p = be16_put(p, 0);
		p = wr_mem(p, &f->src_addr.s6_addr[12], 4);
		p = wr_mem(p, &f->dst_addr.s6_addr[12], 4);
		be16_put(ip + 10, inet_csum_fold(inet_csum_add(0, ip, 20)));
	}
	if (l4 == 20) {
		p = be16_put(p, f->src_port);
		p = be16_put(p, f->dst_port);
		p = be32_put(p, 1);					   /* sequence */
		p = be32_put(p, 0);					   /* acknowledgment */
		p = wr8(p, (uint8_t)(5 << 4 | ((f->tcp_flags >> 8) & 1))); /* offset, NS */
		p = wr8(p, (uint8_t)f->tcp_flags);
		p = be16_put(p, 65535); /* window */
		p = be32_put(p, 0);	/* checksum, urgent pointer */
	} else if (l4 == 8 && proto == 17) {
		p = be16_put(p, f->src_port);
		p = be16_put(p, f->dst_port);
		p = be16_put(p, (uint16_t)(total - ip_hdr));
		p = be16_put(p, 0);
	} else if (l4 == 8) {
		p = wr8(p, v6 ? f->icmpv6_type : f->icmpv4_type);
		p = wr8(p, v6 ? f->icmpv6_code : f->icmpv4_code);
		p = be16_put(p, 0);
		p = be32_put(p, 0);
	}
	*frame_len = (uint32_t)(l2 + total);
	return (size_t)(p - h);
}

static int has_switch(const struct flow *f)
{
	return f->src_vlan || f->dst_vlan;
}

static int has_router(const struct flow *f)
{
	return !addr_is_zero(&f->next_hop) || f->src_net_mask || f->dst_net_mask;
}

static int has_gateway(const struct flow *f)
{
	return f->src_as || f->dst_as || f->dst_as_path_count || f->dst_communities_count;
}

/* The AS path to send: the flow's, else [dst_as] (in sFlow the destination
 * AS is the last of the path). */
static unsigned as_path(const struct flow *f, const uint32_t **path)
{
	unsigned n =
	    f->dst_as_path_count > FLOW_MAX_AS_PATH ? FLOW_MAX_AS_PATH : f->dst_as_path_count;

	if (n) {
		*path = f->dst_as_path;
		return n;
	}
	*path = &f->dst_as;
	return f->dst_as ? 1 : 0;
}

static size_t sample_len(const struct flow *f, size_t header_len)
{
	size_t n = 8 + 32 + 8 + 16 + header_len + (4 - header_len % 4) % 4;
	const uint32_t *path;

	if (has_switch(f))
		n += 8 + 16;
	if (has_router(f))
		n += 8 + addr_len(&f->next_hop) + 8;
	if (has_gateway(f)) {
		unsigned hops = as_path(f, &path);
		unsigned comms = f->dst_communities_count > FLOW_MAX_COMMUNITIES
				     ? FLOW_MAX_COMMUNITIES
				     : f->dst_communities_count;

		n += 8 + addr_len(&f->next_hop) + 12 + 4 + (hops ? 8 + 4 * hops : 0) + 4 +
		     4 * comms + 4;
	}
	return n;
}

static uint32_t sflow_if(uint32_t ifindex)
{
	return ifindex > SFLOW_IF_MAX ? SFLOW_IF_MAX : ifindex;
}

static uint8_t *write_sample(struct demo_encoder *enc, uint8_t *p, const struct flow *f,
			     const uint8_t *hdr, size_t hdr_len, uint32_t frame_len, size_t len)
{
	uint32_t rate = enc_sampling_rate(enc);
	unsigned records = 1 + has_switch(f) + has_router(f) + has_gateway(f);
	uint8_t *rec;

	enc->sample_pool += rate;
	p = be32_put(p, SFLOW_FLOW_SAMPLE);
	p = be32_put(p, (uint32_t)(len - 8));
	p = be32_put(p, ++enc->sample_sequence);
	p = be32_put(p, f->in_if & 0xffffff); /* source id: type 0 (ifIndex), index */
	p = be32_put(p, rate);
	p = be32_put(p, (uint32_t)enc->sample_pool);
	p = be32_put(p, 0); /* drops */
	p = be32_put(p, sflow_if(f->in_if));
	p = be32_put(p, sflow_if(f->out_if));
	p = be32_put(p, records);

	/* Sampled header. */
	rec = p;
	p = be32_put(p, SFLOW_REC_HEADER);
	p += 4;
	p = be32_put(p, SFLOW_HEADER_ETHERNET);
	p = be32_put(p, frame_len);
	p = be32_put(p, 0); /* stripped */
	p = be32_put(p, (uint32_t)hdr_len);
	p = wr_mem(p, hdr, hdr_len);
	for (size_t k = (4 - hdr_len % 4) % 4; k; k--)
		*p++ = 0;
	be32_put(rec + 4, (uint32_t)(p - rec - 8));

	if (has_switch(f)) {
		p = be32_put(p, SFLOW_REC_SWITCH);
		p = be32_put(p, 16);
		p = be32_put(p, f->src_vlan);
		p = be32_put(p, 0); /* priority */
		p = be32_put(p, f->dst_vlan);
		p = be32_put(p, 0);
	}
	if (has_router(f)) {
		rec = p;
		p = be32_put(p, SFLOW_REC_ROUTER);
		p += 4;
		p = wr_addr(p, &f->next_hop);
		p = be32_put(p, f->src_net_mask);
		p = be32_put(p, f->dst_net_mask);
		be32_put(rec + 4, (uint32_t)(p - rec - 8));
	}
	if (has_gateway(f)) {
		const uint32_t *path;
		unsigned hops = as_path(f, &path);
		unsigned comms = f->dst_communities_count > FLOW_MAX_COMMUNITIES
				     ? FLOW_MAX_COMMUNITIES
				     : f->dst_communities_count;

		rec = p;
		p = be32_put(p, SFLOW_REC_GATEWAY);
		p += 4;
		p = wr_addr(p, &f->next_hop);
		p = be32_put(p, 0); /* the router's own AS: unknown */
		p = be32_put(p, f->src_as);
		p = be32_put(p, 0);	       /* src_peer_as */
		p = be32_put(p, hops ? 1 : 0); /* one AS_SEQUENCE segment */
		if (hops) {
			p = be32_put(p, SFLOW_AS_SEQUENCE);
			p = be32_put(p, hops);
			for (unsigned i = 0; i < hops; i++)
				p = be32_put(p, path[i]);
		}
		p = be32_put(p, comms);
		for (unsigned i = 0; i < comms; i++)
			p = be32_put(p, f->dst_communities[i]);
		p = be32_put(p, 0); /* localpref */
		be32_put(rec + 4, (uint32_t)(p - rec - 8));
	}
	return p;
}

int enc_sflow(struct demo_encoder *enc, const struct flow *flows, size_t n, uint8_t *buf,
	      size_t max, size_t *len)
{
	const struct in6_addr *agent = &enc->cfg.agent;
	size_t hdr = addr_is_ipv4(agent) || addr_is_zero(agent) ? 28 : 40;
	uint8_t *p = buf + hdr, *end = buf + max;
	uint64_t export_time;
	uint32_t uptime;
	size_t i;

	if (!n)
		return 0;
	if (max < hdr)
		return -EMSGSIZE;
	export_time = enc_export_time(enc, flows, n);
	uptime = enc_uptime_ms(enc, export_time);
	for (i = 0; i < n; i++) {
		uint8_t h[SFLOW_MAX_HEADER];
		uint32_t frame_len;
		size_t hl = synth_header(h, &flows[i], &frame_len);
		size_t want = enc->cfg.sflow_header_len, sl;

		/* Payload after the headers, up to what the switch samples. */
		if (want > SFLOW_MAX_HEADER)
			want = SFLOW_MAX_HEADER;
		if (want > frame_len)
			want = frame_len;
		for (; hl < want; hl++)
			h[hl] = (uint8_t)(0x5a ^ hl);
		sl = sample_len(&flows[i], hl);

		if ((size_t)(end - p) < sl)
			break;
		p = write_sample(enc, p, &flows[i], h, hl, frame_len, sl);
	}
	if (!i)
		return -EMSGSIZE;
	/* Datagram header: version, agent address, sub-agent id, sequence
	 * number, uptime, number of samples. */
	be32_put(buf, SFLOW_VERSION);
	if (hdr == 28)
		wr_mem(be32_put(buf + 4, SFLOW_ADDR_IPV4), &agent->s6_addr[12], 4);
	else
		wr_mem(be32_put(buf + 4, SFLOW_ADDR_IPV6), agent, 16);
	be32_put(buf + hdr - 16, enc->cfg.domain_id);
	be32_put(buf + hdr - 12, ++enc->sequence);
	be32_put(buf + hdr - 8, uptime);
	be32_put(buf + hdr - 4, (uint32_t)i);
	enc->stats.datagrams++;
	enc->stats.flows += i;
	*len = (size_t)(p - buf);
	return (int)i;
}
