// SPDX-License-Identifier: AGPL-3.0-or-later
/* sFlow version 5 decoder (sFlow.org, "sFlow Version 5", July 2004): flow
 * samples and expanded flow samples become flows; counter samples are only
 * counted. Stateless: everything a flow needs is in its sample.
 *
 * One flow per flow sample: Packets 1, SamplingRate from the sample, the
 * agent address as exporter. Bytes is the IP total length of the sampled
 * header (after decapsulation when configured), else the length of a
 * sampled IPv4/IPv6 record, else the frame length (less the Ethernet header
 * and FCS for Ethernet). A sampled header wins over records 2/3/4 whatever
 * their order; records 1001-1003 are applied as they come (VLANs of 1001
 * override a header's 802.1Q tag; next hops of 0.0.0.0 are ignored). Other
 * flow records are skipped and counted as such, not as unsupported. */
#include <stdbool.h>

#include "../common/addr.h"
#include "decode_internal.h"

/* Sample and record formats (enterprise 0), sFlow v5 5 and 6. */
enum {
	SFLOW_FLOW_SAMPLE = 1,
	SFLOW_COUNTER_SAMPLE = 2,
	SFLOW_FLOW_SAMPLE_EXPANDED = 3,
	SFLOW_COUNTER_SAMPLE_EXPANDED = 4,

	SFLOW_REC_HEADER = 1,
	SFLOW_REC_ETHERNET = 2,
	SFLOW_REC_IPV4 = 3,
	SFLOW_REC_IPV6 = 4,
	SFLOW_REC_SWITCH = 1001,
	SFLOW_REC_ROUTER = 1002,
	SFLOW_REC_GATEWAY = 1003,

	/* header_protocol of a sampled header (sFlow v5 "enum header_protocol") */
	SFLOW_HDR_ETHERNET = 1,
	SFLOW_HDR_IPV4 = 11,
	SFLOW_HDR_IPV6 = 12,
	SFLOW_HDR_MPLS = 13,
};

#define SFLOW_IF_LOCAL		 0x3fffffffu /* "packet sourced or destined locally" */
#define SFLOW_IF_FORMAT_IFINDEX	 0
#define SFLOW_IF_FORMAT_DISCARD	 1
#define SFLOW_IF_FORMAT_MULTIPLE 2

/* What a flow sample's records said that is settled only once all were read:
 * a sampled header is preferred to the sampled IPv4/IPv6/Ethernet records,
 * whatever their order. */
struct sample_state {
	const uint8_t *ipv4_rec; /* record 3 body (>= 32 bytes) */
	const uint8_t *ipv6_rec; /* record 4 body (>= 56 bytes) */
	const uint8_t *eth_rec;	 /* record 2 body (>= 24 bytes) */
	uint32_t frame_bytes;	 /* L3 estimate from a header record's frame length */
};

/* sFlow v5 "struct address": type 0 (unknown, no bytes), 1 (IPv4) or 2
 * (IPv6). Returns the bytes read, or 0 when malformed or too short. */
static size_t read_address(const uint8_t *p, size_t len, struct in6_addr *a)
{
	if (len < 4)
		return 0;
	switch (be32_get(p)) {
	case 0:
		memset(a, 0, sizeof(*a));
		return 4;
	case 1:
		if (len < 8)
			return 0;
		/* 0.0.0.0 means "none": keep it all-zero (absent) */
		if (be32_get(p + 4) == 0)
			memset(a, 0, sizeof(*a));
		else
			addr_from_ipv4_bytes(a, p + 4);
		return 8;
	case 2:
		if (len < 20)
			return 0;
		memcpy(a, p + 4, 16);
		return 20;
	default:
		return 0;
	}
}

/* sFlow discard reasons (sflow.org/sflow_drops.txt: the ICMP unreachable
 * codes 0-15, then 256 and up) to IPFIX forwardingStatus "dropped" reason
 * codes (RFC 7270 4.12): 128 unknown, 129 ACL deny, 130 ACL drop,
 * 131 unroutable, 132 adjacency, 133 fragmentation and DF set, 134 bad
 * header checksum, 137 bad TTL, 138 policer, 139 WRED, 140 RPF. */
static uint32_t discard_status(uint32_t reason)
{
	switch (reason) {
	case 4:	  /* fragmentation needed */
	case 262: /* packet too big */
	case 301: /* MTU value is too small */
		return 133;
	case 9:	  /* destination network prohibited */
	case 10:  /* destination host prohibited */
	case 13:  /* communication administratively prohibited */
	case 258: /* ACL */
		return 129;
	case 257: /* TTL exceeded */
		return 137;
	case 259: /* no buffer space */
	case 260: /* RED */
		return 139;
	case 261: /* traffic shaping */
		return 138;
	case 275: /* IP header corrupted */
		return 134;
	case 279: /* unresolved neighbour */
	case 292: /* blackhole ARP/neighbour */
		return 132;
	case 280: /* multicast reverse path forwarding */
	case 302: /* unicast reverse path forwarding */
		return 140;
	case 269: /* blackhole route */
	case 281: /* non-routable packet */
		return 131;
	default:
		return reason < 16 ? 131 : 128; /* ICMP unreachable: unroutable */
	}
}

/* Compact flow samples pack the interface format in the top 2 bits
 * (sFlow v5 5, "interface"): 0 ifIndex, 1 discarded (reason in the rest),
 * 2 several output interfaces (their count in the rest). */
static void set_interfaces(struct flow *f, uint32_t in_fmt, uint32_t in_val, uint32_t out_fmt,
			   uint32_t out_val)
{
	if (in_fmt == SFLOW_IF_FORMAT_IFINDEX && in_val != SFLOW_IF_LOCAL)
		f->in_if = in_val;
	switch (out_fmt) {
	case SFLOW_IF_FORMAT_IFINDEX:
		if (out_val != SFLOW_IF_LOCAL)
			f->out_if = out_val;
		break;
	case SFLOW_IF_FORMAT_DISCARD:
		f->forwarding_status = discard_status(out_val);
		break;
	default: /* multiple interfaces, or undefined: unknown */
		break;
	}
}

/* Record 1, sampled_header: protocol, frame_length, stripped, header. */
static bool rec_header(const struct decode_config *cfg, const uint8_t *p, uint32_t len,
		       struct flow *f, struct sample_state *s, struct decode_result *r)
{
	uint32_t proto, frame_len, hlen;
	enum l2l4_start start;

	if (len < 16)
		return false;
	proto = be32_get(p);
	frame_len = be32_get(p + 4);
	hlen = be32_get(p + 12);
	if (hlen > len - 16)
		return false;
	s->frame_bytes = frame_len;
	switch (proto) {
	case SFLOW_HDR_ETHERNET:
		start = L2L4_ETHERNET;
		/* frame_length counts the 14-byte header and the 4-byte FCS */
		if (frame_len > 18)
			s->frame_bytes = frame_len - 18;
		break;
	case SFLOW_HDR_IPV4:
		start = L2L4_IPV4;
		break;
	case SFLOW_HDR_IPV6:
		start = L2L4_IPV6;
		break;
	case SFLOW_HDR_MPLS:
		start = L2L4_MPLS;
		break;
	default:
		decode_event(r, DECODE_UNSUPPORTED);
		return true;
	}
	if (l2l4_parse(p + 16, hlen, start, cfg, f, r) < 0)
		decode_event(r, DECODE_BAD_HEADER);
	return true;
}

/* Record 1003, extended_gateway: next hop, own AS, source AS, source peer
 * AS, destination AS path segments, communities, local preference. */
static bool rec_gateway(const uint8_t *p, uint32_t len, struct flow *f, struct decode_result *r)
{
	struct in6_addr nh;
	size_t off = read_address(p, len, &nh);
	uint32_t as, src_as, nseg, ncomm, last = 0;
	unsigned path = 0, comms = 0;
	bool truncated = false;

	if (!off || len - off < 16)
		return false;
	as = be32_get(p + off);
	src_as = be32_get(p + off + 4);
	nseg = be32_get(p + off + 12);
	off += 16;
	for (uint32_t i = 0; i < nseg; i++) {
		if (len - off < 8)
			return false;
		uint32_t n = be32_get(p + off + 4); /* after the segment type */
		off += 8;
		if (n > (len - off) / 4)
			return false;
		for (uint32_t j = 0; j < n; j++, off += 4) {
			last = be32_get(p + off);
			if (path < FLOW_MAX_AS_PATH)
				f->dst_as_path[path++] = last;
			else
				truncated = true;
		}
	}
	if (len - off < 4)
		return false;
	ncomm = be32_get(p + off);
	off += 4;
	if (ncomm > (len - off) / 4)
		return false;
	for (uint32_t j = 0; j < ncomm; j++, off += 4) {
		if (comms < FLOW_MAX_COMMUNITIES)
			f->dst_communities[comms++] = be32_get(p + off);
		else
			truncated = true;
	}
	/* The local preference that follows is not kept. */
	if (truncated)
		decode_event(r, DECODE_TRUNCATED_ARRAY);
	if (!addr_is_zero(&nh))
		f->next_hop = nh;
	/* `as` is the router's own AS: the source AS when the route is
	 * local (src_as 0), the destination AS when the path is empty. */
	f->src_as = src_as ? src_as : as;
	f->dst_as = path ? last : as;
	f->dst_as_path_count = path;
	f->dst_communities_count = comms;
	return true;
}

static bool rec_router(const uint8_t *p, uint32_t len, struct flow *f)
{
	struct in6_addr nh;
	size_t off = read_address(p, len, &nh);

	if (!off || len - off < 8)
		return false;
	if (!addr_is_zero(&nh))
		f->next_hop = nh;
	f->src_net_mask = be32_get(p + off);
	f->dst_net_mask = be32_get(p + off + 4);
	return true;
}

static bool rec_switch(const uint8_t *p, uint32_t len, struct flow *f)
{
	uint32_t src, dst;

	if (len < 16)
		return false;
	src = be32_get(p);
	dst = be32_get(p + 8);
	/* Agents send 0xffffffff (or 0) for "no VLAN". */
	if (src && src < 4096)
		f->src_vlan = src;
	if (dst && dst < 4096)
		f->dst_vlan = dst;
	return true;
}

/* Records 2, 3 and 4 only fill what the sampled header did not give. */
static void apply_deferred(struct flow *f, const struct sample_state *s)
{
	if (f->etype == 0 && s->ipv4_rec) {
		const uint8_t *p = s->ipv4_rec; /* sampled_ipv4 */
		f->etype = 0x0800;
		f->bytes = be32_get(p);
		f->proto = be32_get(p + 4);
		addr_from_ipv4_bytes(&f->src_addr, p + 8);
		addr_from_ipv4_bytes(&f->dst_addr, p + 12);
		f->src_port = be32_get(p + 16);
		f->dst_port = be32_get(p + 20);
		f->tcp_flags = be32_get(p + 24);
		f->ip_tos = be32_get(p + 28);
	} else if (f->etype == 0 && s->ipv6_rec) {
		const uint8_t *p = s->ipv6_rec; /* sampled_ipv6 */
		f->etype = 0x86dd;
		f->bytes = be32_get(p);
		f->proto = be32_get(p + 4);
		memcpy(&f->src_addr, p + 8, 16);
		memcpy(&f->dst_addr, p + 24, 16);
		f->src_port = be32_get(p + 40);
		f->dst_port = be32_get(p + 44);
		f->tcp_flags = be32_get(p + 48);
		f->ip_tos = be32_get(p + 52);
	}
	if (s->eth_rec && f->src_mac == 0 && f->dst_mac == 0) {
		const uint8_t *p = s->eth_rec; /* sampled_ethernet */
		f->src_mac = be_uint_get(p + 4, 6);
		f->dst_mac = be_uint_get(p + 12, 6);
	}
	/* Bytes: the IP total length when known, else an estimate from the
	 * frame length (non-IP frames, truncated headers). */
	if (f->bytes == 0) {
		if (s->frame_bytes)
			f->bytes = s->frame_bytes;
		else if (s->eth_rec) {
			uint32_t l = be32_get(s->eth_rec);
			f->bytes = l > 18 ? l - 18 : l;
		}
	}
}

/* flow_sample (format 1) and flow_sample_expanded (format 3), sFlow v5 5. */
static void flow_sample(const struct decode_config *cfg, const struct decode_input *in,
			const struct in6_addr *agent, const uint8_t *p, uint32_t len, bool expanded,
			struct decode_output *out, struct decode_result *r)
{
	struct sample_state s = {0};
	uint32_t rate, nrec, off;
	struct flow *f;

	if (len < (expanded ? 44u : 32u)) {
		decode_event(r, DECODE_BAD_SAMPLE);
		return;
	}
	f = decode_next_flow(out, r);
	if (!f)
		return;
	f->time_received = in->time_received;
	f->exporter_address = *agent;
	f->packets = 1;
	if (expanded) {
		rate = be32_get(p + 12);
		set_interfaces(f, be32_get(p + 24), be32_get(p + 28), be32_get(p + 32),
			       be32_get(p + 36));
		nrec = be32_get(p + 40);
		off = 44;
	} else {
		uint32_t i = be32_get(p + 20), o = be32_get(p + 24);
		rate = be32_get(p + 8);
		set_interfaces(f, i >> 30, i & 0x3fffffff, o >> 30, o & 0x3fffffff);
		nrec = be32_get(p + 28);
		off = 32;
	}
	/* 0 is not a valid rate; read it as unsampled so the flow still counts. */
	f->sampling_rate = rate ? rate : 1;

	for (uint32_t i = 0; i < nrec; i++) {
		uint32_t fmt, rlen;
		const uint8_t *rec;
		bool ok = true;

		if (len - off < 8) {
			decode_event(r, DECODE_BAD_SAMPLE);
			return;
		}
		fmt = be32_get(p + off);
		rlen = be32_get(p + off + 4);
		off += 8;
		if (rlen > len - off) {
			decode_event(r, DECODE_BAD_SAMPLE);
			return;
		}
		rec = p + off;
		off += rlen;
		switch (fmt) {
		case SFLOW_REC_HEADER:
			ok = rec_header(cfg, rec, rlen, f, &s, r);
			break;
		case SFLOW_REC_ETHERNET:
			ok = rlen >= 24;
			if (ok)
				s.eth_rec = rec;
			break;
		case SFLOW_REC_IPV4:
			ok = rlen >= 32;
			if (ok)
				s.ipv4_rec = rec;
			break;
		case SFLOW_REC_IPV6:
			ok = rlen >= 56;
			if (ok)
				s.ipv6_rec = rec;
			break;
		case SFLOW_REC_SWITCH:
			ok = rec_switch(rec, rlen, f);
			break;
		case SFLOW_REC_ROUTER:
			ok = rec_router(rec, rlen, f);
			break;
		case SFLOW_REC_GATEWAY:
			ok = rec_gateway(rec, rlen, f, r);
			break;
		default:
			/* Other extended records (user, URL, NAT, MPLS,
			 * tunnels...) and other enterprises' records: no
			 * column needs them, and agents send them routinely,
			 * so counting them as unsupported would hide real
			 * problems. */
			r->skipped_records++;
			break;
		}
		if (!ok)
			decode_event(r, DECODE_BAD_SAMPLE);
	}
	apply_deferred(f, &s);
	decode_commit(out, r);
}

/* A counter sample's generic interface counters (sFlow v5, enterprise 0
 * format 1: ifIndex, ifType, ifSpeed in bit/s...) report the interface's
 * speed in decode_output.ifaces, when the caller gives room. Malformed
 * samples are only skipped: they carry no flow. */
static void counter_sample(const uint8_t *p, uint32_t len, int expanded, struct decode_output *out)
{
	uint32_t off = expanded ? 12 : 8, nrecords;

	if (!out->ifaces_cap || len < off + 4)
		return;
	nrecords = be32_get(p + off);
	off += 4;
	for (uint32_t i = 0; i < nrecords && len - off >= 8; i++) {
		uint32_t fmt = be32_get(p + off), rlen = be32_get(p + off + 4);

		off += 8;
		if (rlen > len - off)
			return;
		if (fmt == 1 && rlen >= 16 && out->ifaces_count < out->ifaces_cap) {
			uint64_t speed = be64_get(p + off + 8) / 1000000;
			struct decode_interface *ifc = &out->ifaces[out->ifaces_count];

			if (speed) {
				memset(ifc, 0, sizeof(*ifc));
				ifc->ifindex = be32_get(p + off);
				ifc->speed_mbps = speed > UINT32_MAX ? UINT32_MAX : (uint32_t)speed;
				out->ifaces_count++;
			}
		}
		off += rlen;
	}
}

void sflow_decode(const struct decode_config *cfg, const struct decode_input *in,
		  struct decode_output *out, struct decode_result *r)
{
	const uint8_t *p = in->data;
	size_t len = in->len, off = 4;
	struct in6_addr agent = in->exporter;
	uint32_t nsamples;

	/* sFlow v5 4: version, agent address, sub-agent id, sequence number,
	 * uptime, sample count. decode_datagram() has checked the version. */
	if (len < 8) {
		decode_event(r, DECODE_TRUNCATED);
		return;
	}
	switch (be32_get(p + 4)) {
	case 0: /* unknown: keep the datagram's source */
		off = 8;
		break;
	case 1:
		if (len < 12)
			goto truncated;
		addr_from_ipv4_bytes(&agent, p + 8);
		off = 12;
		break;
	case 2:
		if (len < 24)
			goto truncated;
		memcpy(&agent, p + 8, 16);
		off = 24;
		break;
	default:
		decode_event(r, DECODE_UNSUPPORTED);
		return;
	}
	if (len - off < 16)
		goto truncated;
	nsamples = be32_get(p + off + 12);
	/* The datagram sequence counts per agent and sub-agent. */
	decode_seq_header(r, DECODE_SEQ_DATAGRAMS, be32_get(p + off), be32_get(p + off + 4), 1);
	r->seq.has_uptime = 1;
	r->seq.uptime_ms = be32_get(p + off + 8);
	off += 16;
	r->exporter = agent;

	for (uint32_t i = 0; i < nsamples; i++) {
		uint32_t fmt, slen;

		if (len - off < 8)
			goto truncated;
		fmt = be32_get(p + off);
		slen = be32_get(p + off + 4);
		off += 8;
		if (slen > len - off)
			goto truncated;
		switch (fmt) {
		case SFLOW_FLOW_SAMPLE:
		case SFLOW_FLOW_SAMPLE_EXPANDED:
			flow_sample(cfg, in, &agent, p + off, slen,
				    fmt == SFLOW_FLOW_SAMPLE_EXPANDED, out, r);
			break;
		case SFLOW_COUNTER_SAMPLE:
		case SFLOW_COUNTER_SAMPLE_EXPANDED:
			r->counter_samples++;
			counter_sample(p + off, slen, fmt == SFLOW_COUNTER_SAMPLE_EXPANDED, out);
			break;
		default: /* other formats, other enterprises: skipped by length */
			decode_event(r, DECODE_UNSUPPORTED);
			break;
		}
		off += slen;
	}
	return;
truncated:
	decode_event(r, DECODE_TRUNCATED);
}
