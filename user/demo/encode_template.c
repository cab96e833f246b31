// SPDX-License-Identifier: AGPL-3.0-or-later
/* NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) encoder: one template for IPv4
 * flows and one for IPv6 flows, an options template and options data that
 * announce the sampling rate, and data sets of fixed-length records. */
#include <errno.h>

#include "common/addr.h"
#include "encode_internal.h"

#define V9_HEADER_LEN			20 /* RFC 3954 5.1 */
#define IPFIX_HEADER_LEN		16 /* RFC 7011 3.1 */
#define SET_HEADER_LEN			4
#define V9_TEMPLATE_SET			0 /* RFC 3954 5.2 */
#define V9_OPTIONS_TEMPLATE_SET		1 /* RFC 3954 6.1 */
#define IPFIX_TEMPLATE_SET		2 /* RFC 7011 3.3.2 */
#define IPFIX_OPTIONS_TEMPLATE_SET	3
#define V9_SCOPE_SYSTEM			1 /* RFC 3954 6.1 scope field types */
#define IPFIX_SELECTOR_SYSTEMATIC_COUNT 1 /* RFC 5477 selectorAlgorithm */
#define V9_SAMPLER_MODE_RANDOM		2 /* FLOW_SAMPLER_MODE */

enum enc_what {
	W_BYTES,
	W_PACKETS,
	W_PROTO,
	W_TOS,
	W_TCP_FLAGS,
	W_SRC_PORT,
	W_DST_PORT,
	W_SRC_ADDR4,
	W_DST_ADDR4,
	W_SRC_ADDR6,
	W_DST_ADDR6,
	W_SRC_MASK,
	W_DST_MASK,
	W_IN_IF,
	W_OUT_IF,
	W_NEXT_HOP4,
	W_NEXT_HOP6,
	W_SRC_AS,
	W_DST_AS,
	W_FLOW_LABEL,
	W_SRC_VLAN,
	W_DST_VLAN,
	W_SRC_MAC,
	W_DST_MAC,
	W_DIRECTION,
	W_FWD_STATUS,
	W_START_UPTIME,
	W_END_UPTIME,
	W_START_MS,
	W_END_MS,
	W_ICMP4,
	W_ICMP6,
	W_MPLS1,
	W_MPLS2,
	W_MPLS3,
	W_IN_VRF,
	W_OUT_VRF,
	W_NAT_SRC4,
	W_NAT_DST4,
	W_NAT_SRC6,
	W_NAT_DST6,
	W_NAT_SRC_PORT,
	W_NAT_DST_PORT,
	W_TTL,
	W_FRAG_ID,
	W_FRAG_OFF,
	W_SAMPLER_ID,
	W_SAMPLING_INTERVAL,
};

static void tpl_add(struct enc_template *t, uint16_t ie, uint16_t len, enum enc_what what)
{
	t->fields[t->count++] = (struct enc_field){.ie = ie, .len = len, .what = (uint8_t)what};
	t->record_len += len;
}

/* The rest of the full template: L2, direction, status, ICMP, MPLS, VRF,
 * NAT, TTL and fragments. */
static void tpl_add_extended(struct enc_template *t, int ipfix, int v6)
{
	tpl_add(t, 58, 2, W_SRC_VLAN);
	tpl_add(t, 59, 2, W_DST_VLAN);
	tpl_add(t, 56, 6, W_SRC_MAC); /* sourceMacAddress */
	tpl_add(t, 80, 6, W_DST_MAC); /* destinationMacAddress */
	tpl_add(t, 61, 1, W_DIRECTION);
	tpl_add(t, 89, 1, W_FWD_STATUS);
	/* icmpTypeCodeIPv4 / icmpTypeCodeIPv6: type * 256 + code. */
	tpl_add(t, v6 ? 139 : 32, 2, v6 ? W_ICMP6 : W_ICMP4);
	tpl_add(t, 70, 3, W_MPLS1); /* mplsTopLabelStackSection */
	tpl_add(t, 71, 3, W_MPLS2);
	tpl_add(t, 72, 3, W_MPLS3);
	tpl_add(t, 234, 4, W_IN_VRF); /* ingressVRFID */
	tpl_add(t, 235, 4, W_OUT_VRF);
	if (v6) {
		tpl_add(t, 281, 16, W_NAT_SRC6); /* postNATSourceIPv6Address */
		tpl_add(t, 282, 16, W_NAT_DST6);
	} else {
		tpl_add(t, 225, 4, W_NAT_SRC4); /* postNATSourceIPv4Address */
		tpl_add(t, 226, 4, W_NAT_DST4);
	}
	tpl_add(t, 227, 2, W_NAT_SRC_PORT); /* postNAPTSourceTransportPort */
	tpl_add(t, 228, 2, W_NAT_DST_PORT);
	tpl_add(t, 192, 1, W_TTL); /* ipTTL */
	/* fragmentIdentification: IPV4_IDENT is 2 bytes in v9 (IPv4 only),
	 * 4 in IPFIX. */
	if (ipfix)
		tpl_add(t, 54, 4, W_FRAG_ID);
	else if (!v6)
		tpl_add(t, 54, 2, W_FRAG_ID);
	tpl_add(t, 88, 2, W_FRAG_OFF); /* fragmentOffset */
}

/* IE numbers: RFC 3954 8 for v9, the IANA IPFIX registry (RFC 7012) for
 * IPFIX; v9 exporters use the IPFIX numbers above 127 as well. */
static void tpl_build(struct enc_template *t, int ipfix, int v6, int sampling_in_record,
		      int compact)
{
	t->id = v6 ? ENC_TEMPLATE_V6 : ENC_TEMPLATE_V4;
	/* octetDeltaCount, packetDeltaCount: reduced-size encoding (RFC 7011
	 * 6.2) in the compact template. */
	tpl_add(t, 1, compact ? 4 : 8, W_BYTES);
	tpl_add(t, 2, compact ? 4 : 8, W_PACKETS);
	tpl_add(t, 4, 1, W_PROTO);
	tpl_add(t, 5, 1, W_TOS);
	/* tcpControlBits: 2 bytes in IPFIX (RFC 7125), 1 in v9. */
	tpl_add(t, 6, ipfix ? 2 : 1, W_TCP_FLAGS);
	tpl_add(t, 7, 2, W_SRC_PORT);
	tpl_add(t, 11, 2, W_DST_PORT);
	if (v6) {
		tpl_add(t, 27, 16, W_SRC_ADDR6);
		tpl_add(t, 28, 16, W_DST_ADDR6);
		tpl_add(t, 29, 1, W_SRC_MASK);
		tpl_add(t, 30, 1, W_DST_MASK);
		tpl_add(t, 62, 16, W_NEXT_HOP6);
		if (!compact)
			tpl_add(t, 31, ipfix ? 4 : 3, W_FLOW_LABEL); /* v9: 3 bytes */
	} else {
		tpl_add(t, 8, 4, W_SRC_ADDR4);
		tpl_add(t, 12, 4, W_DST_ADDR4);
		tpl_add(t, 9, 1, W_SRC_MASK);
		tpl_add(t, 13, 1, W_DST_MASK);
		tpl_add(t, 15, 4, W_NEXT_HOP4);
	}
	tpl_add(t, 10, 4, W_IN_IF);
	tpl_add(t, 14, 4, W_OUT_IF);
	tpl_add(t, 16, 4, W_SRC_AS);
	tpl_add(t, 17, 4, W_DST_AS);
	if (ipfix) {
		tpl_add(t, 152, 8, W_START_MS); /* flowStartMilliseconds */
		tpl_add(t, 153, 8, W_END_MS);
	} else {
		tpl_add(t, 22, 4, W_START_UPTIME); /* FIRST_SWITCHED */
		tpl_add(t, 21, 4, W_END_UPTIME);   /* LAST_SWITCHED */
	}
	if (!compact)
		tpl_add_extended(t, ipfix, v6);
	else
		t->icmp_in_port = 1;
	if (sampling_in_record)
		tpl_add(t, 34, 4, W_SAMPLING_INTERVAL); /* samplingInterval */
	else if (ipfix)
		tpl_add(t, 302, compact ? 2 : 8, W_SAMPLER_ID); /* selectorId */
	else
		tpl_add(t, 48, 1, W_SAMPLER_ID); /* FLOW_SAMPLER_ID */
}

int enc_template_init(struct demo_encoder *enc)
{
	int ipfix = enc->cfg.format == DEMO_IPFIX;

	for (int v6 = 0; v6 < 2; v6++)
		tpl_build(&enc->tpl[v6], ipfix, v6, enc->cfg.sampling_in_record, enc->cfg.compact);
	return 0;
}

/* An MPLS label stack entry as in IE 70-79 (RFC 3032 without the TTL):
 * label, EXP 0, bottom-of-stack on the last one. */
static uint32_t mpls_entry(const struct flow *f, unsigned i)
{
	if (i >= f->mpls_labels_count)
		return 0;
	return (f->mpls_labels[i] & 0xfffff) << 4 | (i + 1u == f->mpls_labels_count ? 1 : 0);
}

static uint8_t direction_value(uint8_t dir)
{
	/* flowDirection (RFC 5102): 0 ingress, 1 egress; anything else leaves
	 * the direction undefined at the collector. */
	switch (dir) {
	case FLOW_DIRECTION_INGRESS:
		return 0;
	case FLOW_DIRECTION_EGRESS:
		return 1;
	default:
		return 0xff;
	}
}

struct rec_ctx {
	uint64_t export_time;
	uint32_t uptime;
	uint32_t rate;
};

static uint8_t *write_record(uint8_t *p, const struct enc_template *t, const struct flow *f,
			     const struct rec_ctx *c)
{
	for (unsigned i = 0; i < t->count; i++) {
		const struct enc_field *fd = &t->fields[i];
		uint64_t v = 0;

		switch ((enum enc_what)fd->what) {
		case W_SRC_ADDR4:
			p = wr_mem(p, &f->src_addr.s6_addr[12], 4);
			continue;
		case W_DST_ADDR4:
			p = wr_mem(p, &f->dst_addr.s6_addr[12], 4);
			continue;
		case W_NEXT_HOP4:
			p = wr_mem(p, &f->next_hop.s6_addr[12], 4);
			continue;
		case W_NAT_SRC4:
			p = wr_mem(p, &f->src_addr_nat.s6_addr[12], 4);
			continue;
		case W_NAT_DST4:
			p = wr_mem(p, &f->dst_addr_nat.s6_addr[12], 4);
			continue;
		case W_SRC_ADDR6:
			p = wr_mem(p, &f->src_addr, 16);
			continue;
		case W_DST_ADDR6:
			p = wr_mem(p, &f->dst_addr, 16);
			continue;
		case W_NEXT_HOP6:
			p = wr_mem(p, &f->next_hop, 16);
			continue;
		case W_NAT_SRC6:
			p = wr_mem(p, &f->src_addr_nat, 16);
			continue;
		case W_NAT_DST6:
			p = wr_mem(p, &f->dst_addr_nat, 16);
			continue;
		case W_BYTES:
			v = fd->len == 4 ? enc_sat32(f->bytes) : f->bytes;
			break;
		case W_PACKETS:
			v = fd->len == 4 ? enc_sat32(f->packets) : f->packets;
			break;
		case W_PROTO:
			v = f->proto;
			break;
		case W_TOS:
			v = f->ip_tos;
			break;
		case W_TCP_FLAGS:
			v = f->tcp_flags;
			break;
		case W_SRC_PORT:
			v = f->src_port;
			break;
		case W_DST_PORT:
			v = f->dst_port;
			/* As Cisco exporters do without an ICMP field. */
			if (t->icmp_in_port && !v && !f->src_port &&
			    (f->proto == 1 || f->proto == 58))
				v = f->proto == 1 ? (unsigned)f->icmpv4_type << 8 | f->icmpv4_code
						  : (unsigned)f->icmpv6_type << 8 | f->icmpv6_code;
			break;
		case W_SRC_MASK:
			v = f->src_net_mask;
			break;
		case W_DST_MASK:
			v = f->dst_net_mask;
			break;
		case W_IN_IF:
			v = f->in_if;
			break;
		case W_OUT_IF:
			v = f->out_if;
			break;
		case W_SRC_AS:
			v = f->src_as;
			break;
		case W_DST_AS:
			v = f->dst_as;
			break;
		case W_FLOW_LABEL:
			v = f->ipv6_flow_label & 0xfffff;
			break;
		case W_SRC_VLAN:
			v = f->src_vlan;
			break;
		case W_DST_VLAN:
			v = f->dst_vlan;
			break;
		case W_SRC_MAC:
			v = f->src_mac;
			break;
		case W_DST_MAC:
			v = f->dst_mac;
			break;
		case W_DIRECTION:
			v = direction_value(f->flow_direction);
			break;
		case W_FWD_STATUS:
			v = f->forwarding_status;
			break;
		case W_START_UPTIME:
			v = enc_uptime_of(f->time_flow_start_ms, c->export_time, c->uptime);
			break;
		case W_END_UPTIME:
			v = enc_uptime_of(f->time_flow_end_ms, c->export_time, c->uptime);
			break;
		case W_START_MS:
			v = f->time_flow_start_ms;
			break;
		case W_END_MS:
			v = f->time_flow_end_ms;
			break;
		case W_ICMP4:
			v = (unsigned)f->icmpv4_type << 8 | f->icmpv4_code;
			break;
		case W_ICMP6:
			v = (unsigned)f->icmpv6_type << 8 | f->icmpv6_code;
			break;
		case W_MPLS1:
		case W_MPLS2:
		case W_MPLS3:
			v = mpls_entry(f, fd->what - W_MPLS1);
			break;
		case W_IN_VRF:
			v = f->ingress_vrf_id;
			break;
		case W_OUT_VRF:
			v = f->egress_vrf_id;
			break;
		case W_NAT_SRC_PORT:
			v = f->src_port_nat;
			break;
		case W_NAT_DST_PORT:
			v = f->dst_port_nat;
			break;
		case W_TTL:
			v = f->ip_ttl;
			break;
		case W_FRAG_ID:
			v = f->ip_fragment_id;
			break;
		case W_FRAG_OFF:
			v = f->ip_fragment_offset;
			break;
		case W_SAMPLER_ID:
			v = ENC_SAMPLER_ID;
			break;
		case W_SAMPLING_INTERVAL:
			v = c->rate;
			break;
		}
		p = be_uint_put(p, v, fd->len);
	}
	return p;
}

/* A template record: v9 (RFC 3954 5.2) and IPFIX (RFC 7011 3.4.1) share
 * the layout when no enterprise number is used. */
static uint8_t *write_template(uint8_t *p, const struct enc_template *t)
{
	p = be16_put(p, t->id);
	p = be16_put(p, t->count);
	for (unsigned i = 0; i < t->count; i++) {
		p = be16_put(p, t->fields[i].ie);
		p = be16_put(p, t->fields[i].len);
	}
	return p;
}

static size_t pad4(size_t n)
{
	return (4 - n % 4) % 4;
}

/* Sizes of the template part of a datagram. */
#define V9_OPTIONS_TEMPLATE_LEN	   (SET_HEADER_LEN + 6 + 4 * 4 + 2)	/* 2 bytes padding */
#define V9_OPTIONS_DATA_LEN	   (SET_HEADER_LEN + 4 + 1 + 1 + 4 + 2) /* 2 bytes padding */
#define IPFIX_OPTIONS_TEMPLATE_LEN (SET_HEADER_LEN + 6 + 4 * 4)
#define IPFIX_OPTIONS_DATA_LEN	   (SET_HEADER_LEN + 8 + 1 + 4 + 4)

static size_t templates_len(const struct demo_encoder *enc, int ipfix)
{
	size_t n = SET_HEADER_LEN;

	for (int i = 0; i < 2; i++)
		n += 4 + 4u * enc->tpl[i].count;
	if (!enc->cfg.sampling_in_record)
		n += ipfix ? IPFIX_OPTIONS_TEMPLATE_LEN + IPFIX_OPTIONS_DATA_LEN
			   : V9_OPTIONS_TEMPLATE_LEN + V9_OPTIONS_DATA_LEN;
	return n;
}

/* Writes the templates, the options template and the sampling options
 * data. Returns the end; *records counts the records written (v9 header
 * count) and *data_records the options data records (IPFIX sequence). */
static uint8_t *write_templates(struct demo_encoder *enc, uint8_t *p, int ipfix, unsigned *records,
				unsigned *data_records)
{
	uint8_t *set = p;
	uint32_t rate = enc_sampling_rate(enc);

	p += SET_HEADER_LEN;
	for (int i = 0; i < 2; i++)
		p = write_template(p, &enc->tpl[i]);
	be16_put(set, ipfix ? IPFIX_TEMPLATE_SET : V9_TEMPLATE_SET);
	be16_put(set + 2, (uint16_t)(p - set));
	*records += 2;
	enc->stats.templates += 2;
	if (enc->cfg.sampling_in_record)
		return p;

	if (ipfix) {
		/* RFC 7011 3.4.2.2 options template, RFC 5477 6.5.1: scope
		 * selectorId, then the algorithm and its parameters. The
		 * sampling rate is (interval + space) / interval. */
		p = be16_put(p, IPFIX_OPTIONS_TEMPLATE_SET);
		p = be16_put(p, IPFIX_OPTIONS_TEMPLATE_LEN);
		p = be16_put(p, ENC_TEMPLATE_SAMPLING);
		p = be16_put(p, 4);   /* field count */
		p = be16_put(p, 1);   /* scope field count */
		p = be16_put(p, 302); /* selectorId */
		p = be16_put(p, 8);
		p = be16_put(p, 304); /* selectorAlgorithm */
		p = be16_put(p, 1);
		p = be16_put(p, 305); /* samplingPacketInterval */
		p = be16_put(p, 4);
		p = be16_put(p, 306); /* samplingPacketSpace */
		p = be16_put(p, 4);
		p = be16_put(p, ENC_TEMPLATE_SAMPLING);
		p = be16_put(p, IPFIX_OPTIONS_DATA_LEN);
		p = be64_put(p, ENC_SAMPLER_ID);
		p = wr8(p, IPFIX_SELECTOR_SYSTEMATIC_COUNT);
		p = be32_put(p, 1);
		p = be32_put(p, rate - 1);
	} else {
		/* RFC 3954 6.1 options template: scope System, then
		 * FLOW_SAMPLER_ID, FLOW_SAMPLER_MODE and
		 * FLOW_SAMPLER_RANDOM_INTERVAL, as Cisco exporters send them. */
		p = be16_put(p, V9_OPTIONS_TEMPLATE_SET);
		p = be16_put(p, V9_OPTIONS_TEMPLATE_LEN);
		p = be16_put(p, ENC_TEMPLATE_SAMPLING);
		p = be16_put(p, 4);  /* scope length in bytes */
		p = be16_put(p, 12); /* options length in bytes */
		p = be16_put(p, V9_SCOPE_SYSTEM);
		p = be16_put(p, 4);
		p = be16_put(p, 48); /* FLOW_SAMPLER_ID */
		p = be16_put(p, 1);
		p = be16_put(p, 49); /* FLOW_SAMPLER_MODE */
		p = be16_put(p, 1);
		p = be16_put(p, 50); /* FLOW_SAMPLER_RANDOM_INTERVAL */
		p = be16_put(p, 4);
		p = be16_put(p, 0); /* padding */
		/* 5.3: data flowset padded to 32 bits. */
		p = be16_put(p, ENC_TEMPLATE_SAMPLING);
		p = be16_put(p, V9_OPTIONS_DATA_LEN);
		p = be32_put(p, enc->cfg.domain_id);
		p = wr8(p, ENC_SAMPLER_ID);
		p = wr8(p, V9_SAMPLER_MODE_RANDOM);
		p = be32_put(p, rate);
		p = be16_put(p, 0);
	}
	*records += 2;
	*data_records += 1;
	enc->stats.templates += 1;
	return p;
}

static int encode_sets(struct demo_encoder *enc, const struct flow *flows, size_t n, uint8_t *buf,
		       size_t max, size_t *len, int ipfix)
{
	size_t hdr = ipfix ? IPFIX_HEADER_LEN : V9_HEADER_LEN;
	unsigned records = 0, data_records = 0;
	uint8_t *p = buf + hdr, *set = NULL, *end = buf + max;
	int set_tpl = -1, due;
	struct rec_ctx c;
	size_t i;

	/* (an interface options datagram may have come first) */
	due = !enc->templates_sent ||
	      (enc->cfg.template_refresh && enc->stats.datagrams % enc->cfg.template_refresh == 0);
	if (!n && !due)
		return 0; /* nothing to send */
	if (max < hdr + (due ? templates_len(enc, ipfix) : 0))
		return -EMSGSIZE;
	c.export_time = enc_export_time(enc, flows, n);
	c.uptime = enc_uptime_ms(enc, c.export_time);
	c.rate = enc_sampling_rate(enc);
	if (due) {
		p = write_templates(enc, p, ipfix, &records, &data_records);
		enc->templates_sent = 1;
	}

	for (i = 0; i < n; i++) {
		int v6 = enc_is_ipv6(&flows[i]);
		const struct enc_template *t = &enc->tpl[v6];
		/* v9 pads each data flowset to 32 bits (RFC 3954 5.3);
		 * keep room for that padding. */
		size_t need = t->record_len + (ipfix ? 0 : 3);

		if (set_tpl != v6)
			need += SET_HEADER_LEN + (set && !ipfix ? pad4((size_t)(p - set)) : 0);
		if ((size_t)(end - p) < need)
			break;
		if (set_tpl != v6) {
			if (set) {
				if (!ipfix)
					for (size_t k = pad4((size_t)(p - set)); k; k--)
						*p++ = 0;
				be16_put(set + 2, (uint16_t)(p - set));
			}
			set = p;
			p = be16_put(p, t->id);
			p += 2;
			set_tpl = v6;
		}
		p = write_record(p, t, &flows[i], &c);
		records++;
		data_records++;
	}
	if (i == 0 && n && !due) {
		/* Not even one record fits in max_size. */
		return -EMSGSIZE;
	}
	if (set) {
		if (!ipfix)
			for (size_t k = pad4((size_t)(p - set)); k; k--)
				*p++ = 0;
		be16_put(set + 2, (uint16_t)(p - set));
	}
	*len = (size_t)(p - buf);
	if (ipfix) {
		/* RFC 7011 3.1: length, export time, sequence = data records
		 * sent before this message, observation domain. */
		be16_put(buf, 10);
		be16_put(buf + 2, (uint16_t)*len);
		be32_put(buf + 4, (uint32_t)c.export_time);
		be32_put(buf + 8, enc->sequence);
		be32_put(buf + 12, enc->cfg.domain_id);
		enc->sequence += data_records;
	} else {
		/* RFC 3954 5.1: count of all records, sysUptime, unix secs,
		 * sequence = datagrams sent before this one, source id. */
		be16_put(buf, 9);
		be16_put(buf + 2, (uint16_t)records);
		be32_put(buf + 4, c.uptime);
		be32_put(buf + 8, (uint32_t)c.export_time);
		be32_put(buf + 12, enc->sequence);
		be32_put(buf + 16, enc->cfg.domain_id);
		enc->sequence++;
	}
	enc->stats.datagrams++;
	enc->stats.flows += i;
	return (int)i;
}

int enc_netflow_v9(struct demo_encoder *enc, const struct flow *flows, size_t n, uint8_t *buf,
		   size_t max, size_t *len)
{
	return encode_sets(enc, flows, n, buf, max, len, 0);
}

int enc_ipfix(struct demo_encoder *enc, const struct flow *flows, size_t n, uint8_t *buf,
	      size_t max, size_t *len)
{
	return encode_sets(enc, flows, n, buf, max, len, 1);
}

/* Interface options: the template and its data in one datagram, so that a
 * collector that missed the template still learns the names from the next
 * one. Fixed-length strings, NUL-padded: v9 has no variable-length fields
 * (RFC 3954 5.2), and a collector reads both the same way. */
#define IF_SPEED_IE  1 /* weir's enterprise IE: interface speed, bits/s */
#define IF_SPEED_PEN 32473

int demo_encoder_encode_interfaces(struct demo_encoder *enc, const struct demo_interface *ifs,
				   size_t n, uint64_t now, uint8_t *buf, size_t cap, size_t *len)
{
	struct flow at = {.time_received = now};
	int ipfix = enc->cfg.format == DEMO_IPFIX;
	size_t max = enc->cfg.max_size < cap ? enc->cfg.max_size : cap;
	size_t hdr = ipfix ? IPFIX_HEADER_LEN : V9_HEADER_LEN;
	/* v9: scope 2 (Interface) + 82 + 83; IPFIX adds the speed (+ PEN). */
	size_t tpl_len = ipfix ? SET_HEADER_LEN + 6 + 4 * 3 + 8 : SET_HEADER_LEN + 6 + 4 * 3;
	size_t rec_len = 4 + DEMO_IF_NAME_LEN + DEMO_IF_DESC_LEN + (ipfix ? 8 : 0);
	uint8_t *p = buf + hdr, *set;
	size_t i, count;
	uint64_t export_time = enc_export_time(enc, &at, 1);
	uint32_t uptime = enc_uptime_ms(enc, export_time);

	if (enc->cfg.format != DEMO_NETFLOW_V9 && !ipfix)
		return -EINVAL;
	if (!ipfix) /* RFC 3954 5.3 */
		tpl_len += pad4(tpl_len);
	if (max < hdr + tpl_len + SET_HEADER_LEN + rec_len + 3)
		return -EMSGSIZE;
	count = (max - hdr - tpl_len - SET_HEADER_LEN - 3) / rec_len;
	if (count > n)
		count = n;

	set = p;
	if (ipfix) {
		/* RFC 7011 3.4.2.2: field count, scope field count, specifiers
		 * (enterprise bit and number for the speed, 3.2). */
		p = be16_put(p, IPFIX_OPTIONS_TEMPLATE_SET);
		p += 2;
		p = be16_put(p, ENC_TEMPLATE_IFACES);
		p = be16_put(p, 4);
		p = be16_put(p, 1);
		p = be16_put(p, 10); /* ingressInterface */
		p = be16_put(p, 4);
		p = be16_put(p, 82); /* interfaceName */
		p = be16_put(p, DEMO_IF_NAME_LEN);
		p = be16_put(p, 83); /* interfaceDescription */
		p = be16_put(p, DEMO_IF_DESC_LEN);
		p = be16_put(p, 0x8000 | IF_SPEED_IE);
		p = be16_put(p, 8);
		p = be32_put(p, IF_SPEED_PEN);
	} else {
		/* RFC 3954 6.1: scope and option lengths in bytes. */
		p = be16_put(p, V9_OPTIONS_TEMPLATE_SET);
		p += 2;
		p = be16_put(p, ENC_TEMPLATE_IFACES);
		p = be16_put(p, 4); /* one scope field */
		p = be16_put(p, 8); /* two option fields */
		p = be16_put(p, 2); /* scope: Interface */
		p = be16_put(p, 4);
		p = be16_put(p, 82);
		p = be16_put(p, DEMO_IF_NAME_LEN);
		p = be16_put(p, 83);
		p = be16_put(p, DEMO_IF_DESC_LEN);
	}
	if (!ipfix)
		for (size_t k = pad4((size_t)(p - set)); k; k--)
			*p++ = 0;
	be16_put(set + 2, (uint16_t)(p - set));

	set = p;
	p = be16_put(p, ENC_TEMPLATE_IFACES);
	p += 2;
	for (i = 0; i < count; i++) {
		char name[DEMO_IF_NAME_LEN] = {0}, desc[DEMO_IF_DESC_LEN] = {0};

		if (ifs[i].name)
			strncpy(name, ifs[i].name, sizeof(name) - 1);
		if (ifs[i].description)
			strncpy(desc, ifs[i].description, sizeof(desc) - 1);
		p = be32_put(p, ifs[i].ifindex);
		p = wr_mem(p, name, sizeof(name));
		p = wr_mem(p, desc, sizeof(desc));
		if (ipfix)
			p = be64_put(p, (uint64_t)ifs[i].speed_mbps * 1000000u);
	}
	if (!ipfix) /* RFC 3954 5.3: padded to 32 bits */
		for (size_t k = pad4((size_t)(p - set)); k; k--)
			*p++ = 0;
	be16_put(set + 2, (uint16_t)(p - set));

	*len = (size_t)(p - buf);
	if (ipfix) {
		be16_put(buf, 10);
		be16_put(buf + 2, (uint16_t)*len);
		be32_put(buf + 4, (uint32_t)export_time);
		be32_put(buf + 8, enc->sequence);
		be32_put(buf + 12, enc->cfg.domain_id);
		enc->sequence += (uint32_t)count;
	} else {
		be16_put(buf, 9);
		be16_put(buf + 2, (uint16_t)(1 + count)); /* template + data records */
		be32_put(buf + 4, uptime);
		be32_put(buf + 8, (uint32_t)export_time);
		be32_put(buf + 12, enc->sequence);
		be32_put(buf + 16, enc->cfg.domain_id);
		enc->sequence++;
	}
	enc->stats.datagrams++;
	enc->stats.templates++;
	return (int)count;
}
