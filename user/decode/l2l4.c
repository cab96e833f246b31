// SPDX-License-Identifier: AGPL-3.0-or-later
/* The L2-L4 header parser shared by sFlow sampled headers and IPFIX IE 315
 * (data link frame section): Ethernet, 802.1Q/QinQ, MPLS, IPv4, IPv6 with
 * extension headers, TCP/UDP/SCTP/ICMP/ICMPv6, and one kind of tunnel to look
 * through (GRE, IP-in-IP, VXLAN, SRv6) chosen by decode_config.decap.
 *
 * Tunnels: when the configured encapsulation is present, the inner packet's
 * L3/L4 fields (addresses, ports, proto, TTL, TOS, fragment, flow label,
 * ICMP, Bytes) replace the outer ones. L2 fields (MACs, VLANs, MPLS labels)
 * always come from the outermost headers: they describe the link the sample
 * was taken on, which is what interface-based queries need. The same holds
 * for the Ethernet frame carried by an EoMPLS pseudowire. Within those
 * outermost headers, the VLAN is the innermost 802.1Q tag (QinQ: the
 * customer's). */
#include <errno.h>
#include <stdbool.h>

#include "../common/addr.h"
#include "decode_internal.h"

#define ETH_P_IPV4     0x0800
#define ETH_P_IPV6     0x86dd
#define ETH_P_8021Q    0x8100
#define ETH_P_8021AD   0x88a8
#define ETH_P_QINQ_OLD 0x9100
#define ETH_P_MPLS_UC  0x8847
#define ETH_P_MPLS_MC  0x8848
#define ETH_P_TEB      0x6558 /* transparent Ethernet bridging (NVGRE, GRE TAP) */
#define ETH_P_PPP      0x880b /* PPTP's enhanced GRE (RFC 2637 4.1) */

#define VXLAN_PORT 4789 /* RFC 7348 5 */
/* Tunnels entered at most: bounds the work on a crafted header. */
#define L2L4_MAX_DEPTH 4

struct l2l4 {
	const uint8_t *p;
	size_t len;
	enum decode_decap decap;
	struct flow *f;
	struct decode_result *r;
	unsigned depth; /* tunnels and pseudowires entered */
	bool l2_locked; /* inside a tunnel or pseudowire: keep the outer L2 fields */
	bool in_tunnel; /* the next IP header is an inner one: it replaces the outer */
	bool labels_ok; /* the flow had no MPLS labels on entry */
	bool usable;
};

static void parse_ethernet(struct l2l4 *c, size_t off);
static void parse_mpls(struct l2l4 *c, size_t off);
static void parse_ipv4(struct l2l4 *c, size_t off);
static void parse_ipv6(struct l2l4 *c, size_t off);

/* Bytes left from `off`, 0 when past the end. */
static inline size_t left(const struct l2l4 *c, size_t off)
{
	return off < c->len ? c->len - off : 0;
}

/* Starts parsing an encapsulated packet; false when nested too deep. */
static bool enter(struct l2l4 *c)
{
	if (c->depth >= L2L4_MAX_DEPTH)
		return false;
	c->depth++;
	c->l2_locked = true;
	return true;
}

static bool enter_tunnel(struct l2l4 *c)
{
	if (!enter(c))
		return false;
	c->in_tunnel = true;
	return true;
}

/* Forgets the outer packet's L3/L4 fields before the inner packet's. */
static void l3_reset(struct flow *f)
{
	memset(&f->src_addr, 0, sizeof(f->src_addr));
	memset(&f->dst_addr, 0, sizeof(f->dst_addr));
	f->bytes = 0;
	f->etype = 0;
	f->ip_fragment_id = 0;
	f->ipv6_flow_label = 0;
	f->src_port = 0;
	f->dst_port = 0;
	f->ip_fragment_offset = 0;
	f->tcp_flags = 0;
	f->proto = 0;
	f->ip_ttl = 0;
	f->ip_tos = 0;
	f->icmpv4_type = 0;
	f->icmpv4_code = 0;
	f->icmpv6_type = 0;
	f->icmpv6_code = 0;
}

static void dispatch_etype(struct l2l4 *c, uint16_t etype, size_t off)
{
	switch (etype) {
	case ETH_P_IPV4:
		parse_ipv4(c, off);
		break;
	case ETH_P_IPV6:
		parse_ipv6(c, off);
		break;
	case ETH_P_MPLS_UC:
	case ETH_P_MPLS_MC:
		parse_mpls(c, off);
		break;
	default:
		break; /* ARP, LLDP, 802.3 length field...: L2 only */
	}
}

static void parse_ethernet(struct l2l4 *c, size_t off)
{
	const uint8_t *h;
	uint16_t etype;

	if (left(c, off) < 14)
		return;
	h = c->p + off;
	if (!c->l2_locked) {
		c->f->dst_mac = be_uint_get(h, 6);
		c->f->src_mac = be_uint_get(h + 6, 6);
		c->usable = true;
	}
	etype = be16_get(h + 12);
	off += 14;
	/* IEEE 802.1Q tags, S-tag first and C-tag last in QinQ (802.1ad).
	 * The innermost tag is the customer's VLAN, the one Akvorado reports;
	 * in and out alike (a bridged frame keeps its tag), it fills SrcVlan
	 * and DstVlan when the record did not already give them. Its VID 0
	 * (a priority tag) means no VLAN; so does a tag stack cut by the end
	 * of the sampled header, whose innermost tag is unknown. */
	uint16_t vid = 0;
	while (etype == ETH_P_8021Q || etype == ETH_P_8021AD || etype == ETH_P_QINQ_OLD) {
		if (left(c, off) < 4)
			return;
		vid = be16_get(c->p + off) & 0x0fff;
		etype = be16_get(c->p + off + 2);
		off += 4;
	}
	if (!c->l2_locked && vid) {
		if (c->f->src_vlan == 0)
			c->f->src_vlan = vid;
		if (c->f->dst_vlan == 0)
			c->f->dst_vlan = vid;
	}
	dispatch_etype(c, etype, off);
}

/* RFC 3032 label stack entries; what follows the bottom of the stack is not
 * announced, so guess from the first nibble (RFC 4928 2): 4 = IPv4, 6 = IPv6,
 * 0 = pseudowire control word (RFC 4385 3) then Ethernet (EoMPLS, RFC 4448). */
static void parse_mpls(struct l2l4 *c, size_t off)
{
	struct flow *f = c->f;
	bool truncated = false;

	for (;;) {
		if (left(c, off) < 4)
			return;
		uint32_t e = be32_get(c->p + off);
		off += 4;
		if (!c->l2_locked) {
			c->usable = true;
			if (c->labels_ok) {
				if (f->mpls_labels_count < FLOW_MAX_MPLS_LABELS)
					f->mpls_labels[f->mpls_labels_count++] = e >> 12;
				else if (!truncated) {
					truncated = true;
					if (c->r)
						decode_event(c->r, DECODE_TRUNCATED_ARRAY);
				}
			}
		}
		if (e & 0x100) /* bottom of stack */
			break;
	}
	if (left(c, off) < 1)
		return;
	switch (c->p[off] >> 4) {
	case 4:
		parse_ipv4(c, off);
		break;
	case 6:
		parse_ipv6(c, off);
		break;
	case 0:
		if (enter(c))
			parse_ethernet(c, off + 4);
		break;
	default:
		break;
	}
}

/* GRE, RFC 2784/2890 (version 0) and PPTP's enhanced GRE, RFC 2637 4.1
 * (version 1, carrying PPP). */
static void parse_gre(struct l2l4 *c, size_t off)
{
	const uint8_t *h;
	uint16_t flags, proto;
	size_t hl = 4;

	if (left(c, off) < 4)
		return;
	h = c->p + off;
	flags = be16_get(h);
	proto = be16_get(h + 2);
	switch (flags & 7) {
	case 0:
		if (flags & 0x4000) /* RFC 1701 routing: deprecated, not followed */
			return;
		if (flags & 0x8000) /* checksum + reserved */
			hl += 4;
		if (flags & 0x2000) /* key */
			hl += 4;
		if (flags & 0x1000) /* sequence number */
			hl += 4;
		break;
	case 1:
		if (proto != ETH_P_PPP || !(flags & 0x2000))
			return;
		hl += 4; /* payload length + call id (the key field) */
		if (flags & 0x1000)
			hl += 4;
		if (flags & 0x0080) /* acknowledgment number */
			hl += 4;
		break;
	default:
		return;
	}
	off += hl;
	switch (proto) {
	case ETH_P_IPV4:
		if (enter_tunnel(c))
			parse_ipv4(c, off);
		break;
	case ETH_P_IPV6:
		if (enter_tunnel(c))
			parse_ipv6(c, off);
		break;
	case ETH_P_TEB:
		if (enter_tunnel(c))
			parse_ethernet(c, off);
		break;
	case ETH_P_PPP: {
		/* RFC 1661 2 / RFC 1662 3.1: optional address and control
		 * (0xff 0x03), protocol of 1 byte when compressed (odd). */
		uint16_t pp;
		if (left(c, off) >= 2 && c->p[off] == 0xff && c->p[off + 1] == 0x03)
			off += 2;
		if (left(c, off) < 1)
			return;
		if (c->p[off] & 1) {
			pp = c->p[off];
			off += 1;
		} else {
			if (left(c, off) < 2)
				return;
			pp = be16_get(c->p + off);
			off += 2;
		}
		if (pp == 0x0021 && enter_tunnel(c))
			parse_ipv4(c, off);
		else if (pp == 0x0057 && enter_tunnel(c))
			parse_ipv6(c, off);
		break;
	}
	default:
		break;
	}
}

static void parse_l4(struct l2l4 *c, uint8_t proto, size_t off, bool ipv6)
{
	struct flow *f = c->f;
	size_t n = left(c, off);
	const uint8_t *h = n ? c->p + off : NULL; /* only read when n covers it */

	switch (proto) {
	case IPPROTO_TCP:
		if (n < 4)
			return;
		f->src_port = be16_get(h);
		f->dst_port = be16_get(h + 2);
		/* RFC 9293 3.1: the 12 bits after the data offset, as IPFIX
		 * tcpControlBits (RFC 7125) carries them. */
		if (n >= 14)
			f->tcp_flags = be16_get(h + 12) & 0x0fff;
		break;
	case IPPROTO_UDP:
		if (n < 4)
			return;
		f->src_port = be16_get(h);
		f->dst_port = be16_get(h + 2);
		/* RFC 7348 5: 8-byte UDP header, 8-byte VXLAN header with
		 * the I flag, then the inner Ethernet frame. */
		if (c->decap == DECODE_DECAP_VXLAN && f->dst_port == VXLAN_PORT && n >= 16 &&
		    (h[8] & 0x08) && enter_tunnel(c))
			parse_ethernet(c, off + 16);
		break;
	case IPPROTO_SCTP:
	case IPPROTO_UDPLITE:
		if (n < 4)
			return;
		f->src_port = be16_get(h);
		f->dst_port = be16_get(h + 2);
		break;
	case IPPROTO_ICMP:
		if (n < 2)
			return;
		f->icmpv4_type = h[0];
		f->icmpv4_code = h[1];
		break;
	case IPPROTO_ICMPV6:
		if (n < 2)
			return;
		f->icmpv6_type = h[0];
		f->icmpv6_code = h[1];
		break;
	case IPPROTO_GRE:
		if (c->decap == DECODE_DECAP_GRE)
			parse_gre(c, off);
		break;
	case IPPROTO_IPIP:
	case IPPROTO_IPV6:
		/* IP-in-IP (RFC 2003, RFC 4213) or SRv6 (RFC 8986 4.4,
		 * End.DT4/DT6/DX4/DX6: the inner packet after the SRH, which
		 * H.Encaps.Red may leave out): only IPv6 outers for SRv6. */
		if (c->decap == DECODE_DECAP_IPIP || (c->decap == DECODE_DECAP_SRV6 && ipv6)) {
			if (!enter_tunnel(c))
				return;
			if (proto == IPPROTO_IPIP)
				parse_ipv4(c, off);
			else
				parse_ipv6(c, off);
		}
		break;
	default:
		break;
	}
}

/* RFC 791 3.1. */
static void parse_ipv4(struct l2l4 *c, size_t off)
{
	struct flow *f = c->f;
	const uint8_t *h;
	unsigned ihl;
	uint16_t frag;

	if (left(c, off) < 20)
		return;
	h = c->p + off;
	if (h[0] >> 4 != 4)
		return;
	ihl = (h[0] & 0x0f) * 4u;
	if (ihl < 20)
		return;
	if (c->in_tunnel) {
		l3_reset(f);
		c->in_tunnel = false;
	}
	c->usable = true;
	f->etype = ETH_P_IPV4;
	f->ip_tos = h[1];
	f->bytes = be16_get(h + 2);
	f->packets = 1;
	f->ip_fragment_id = be16_get(h + 4);
	frag = be16_get(h + 6);
	f->ip_fragment_offset = frag & 0x1fff;
	f->ip_ttl = h[8];
	f->proto = h[9];
	addr_from_ipv4_bytes(&f->src_addr, h + 12);
	addr_from_ipv4_bytes(&f->dst_addr, h + 16);
	/* Only the first fragment holds the transport header. */
	if (f->ip_fragment_offset != 0 || left(c, off) < ihl)
		return;
	parse_l4(c, f->proto, off + ihl, false);
}

/* RFC 8200 3 and 4: the fixed header, then the extension header chain up to
 * the upper-layer header. */
static void parse_ipv6(struct l2l4 *c, size_t off)
{
	struct flow *f = c->f;
	const uint8_t *h;
	uint32_t w;
	uint8_t nh;

	if (left(c, off) < 40)
		return;
	h = c->p + off;
	if (h[0] >> 4 != 6)
		return;
	if (c->in_tunnel) {
		l3_reset(f);
		c->in_tunnel = false;
	}
	c->usable = true;
	w = be32_get(h);
	f->etype = ETH_P_IPV6;
	f->ip_tos = (w >> 20) & 0xff;
	f->ipv6_flow_label = w & 0xfffff;
	f->bytes = be16_get(h + 4) + 40u;
	f->packets = 1;
	nh = h[6];
	f->ip_ttl = h[7];
	memcpy(&f->src_addr, h + 8, 16);
	memcpy(&f->dst_addr, h + 24, 16);
	off += 40;
	/* Each extension header is at least 8 bytes, so the walk ends within
	 * the buffer; the cap only bounds pathological chains. */
	for (unsigned i = 0; i < 32; i++) {
		const uint8_t *e = left(c, off) >= 8 ? c->p + off : NULL; /* read when >= 8 */
		f->proto = nh;
		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case 135: /* mobility, RFC 6275 6.1.1 */
		case 139: /* HIP, RFC 7401 5.1 */
		case 140: /* shim6, RFC 5533 5.1 */
			if (left(c, off) < 8)
				return;
			nh = e[0];
			off += (e[1] + 1u) * 8;
			break;
		case IPPROTO_AH: /* RFC 4302 2.2: length in 4-byte units, minus 2 */
			if (left(c, off) < 8)
				return;
			nh = e[0];
			off += (e[1] + 2u) * 4;
			break;
		case IPPROTO_FRAGMENT: /* RFC 8200 4.5 */
			if (left(c, off) < 8)
				return;
			nh = e[0];
			f->ip_fragment_offset = be16_get(e + 2) >> 3;
			f->ip_fragment_id = be32_get(e + 4);
			off += 8;
			if (f->ip_fragment_offset != 0) {
				f->proto = nh;
				return;
			}
			break;
		default:
			parse_l4(c, nh, off, true);
			return;
		}
	}
}

int l2l4_parse(const uint8_t *data, size_t len, enum l2l4_start start,
	       const struct decode_config *cfg, struct flow *f, struct decode_result *r)
{
	struct l2l4 c = {
	    .p = data,
	    .len = data ? len : 0,
	    .decap = cfg ? cfg->decap : DECODE_DECAP_NONE,
	    .f = f,
	    .r = r,
	    .labels_ok = f->mpls_labels_count == 0,
	};

	switch (start) {
	case L2L4_ETHERNET:
		parse_ethernet(&c, 0);
		break;
	case L2L4_IPV4:
		parse_ipv4(&c, 0);
		break;
	case L2L4_IPV6:
		parse_ipv6(&c, 0);
		break;
	case L2L4_MPLS:
		parse_mpls(&c, 0);
		break;
	}
	return c.usable ? 0 : -EINVAL;
}
