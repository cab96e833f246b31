// SPDX-License-Identifier: AGPL-3.0-or-later
/* NetFlow v5 encoder: a 24-byte header and up to 30 fixed 48-byte records
 * (Cisco's NetFlow v5 export format). IPv4 only. */
#include <errno.h>

#include "encode_internal.h"

#define V5_HEADER_LEN	24
#define V5_RECORD_LEN	48
#define V5_MAX_RECORDS	30
#define V5_MAX_INTERVAL 0x3fff /* the low 14 bits of the sampling field */
#define AS_TRANS	23456  /* RFC 6793: a 4-byte AS where only 2 bytes fit */

static uint16_t v5_as(uint32_t as)
{
	return as > 0xffff ? AS_TRANS : (uint16_t)as;
}

static uint16_t v5_if(uint32_t ifindex)
{
	return ifindex > 0xffff ? 0xffff : (uint16_t)ifindex;
}

static uint8_t *v5_record(uint8_t *p, const struct flow *f, uint64_t export_time, uint32_t uptime)
{
	uint16_t dst_port = f->dst_port;

	/* No ICMP fields in v5: exporters put type << 8 | code in the
	 * destination port. */
	if (f->proto == 1 && !f->src_port && !dst_port)
		dst_port = (uint16_t)(f->icmpv4_type << 8 | f->icmpv4_code);
	p = wr_mem(p, &f->src_addr.s6_addr[12], 4);
	p = wr_mem(p, &f->dst_addr.s6_addr[12], 4);
	p = wr_mem(p, &f->next_hop.s6_addr[12], 4);
	p = be16_put(p, v5_if(f->in_if));
	p = be16_put(p, v5_if(f->out_if));
	p = be32_put(p, enc_sat32(f->packets));
	p = be32_put(p, enc_sat32(f->bytes));
	p = be32_put(p, enc_uptime_of(f->time_flow_start_ms, export_time, uptime));
	p = be32_put(p, enc_uptime_of(f->time_flow_end_ms, export_time, uptime));
	p = be16_put(p, f->src_port);
	p = be16_put(p, dst_port);
	p = wr8(p, 0); /* pad1 */
	p = wr8(p, (uint8_t)f->tcp_flags);
	p = wr8(p, f->proto);
	p = wr8(p, f->ip_tos);
	p = be16_put(p, v5_as(f->src_as));
	p = be16_put(p, v5_as(f->dst_as));
	p = wr8(p, f->src_net_mask > 32 ? 32 : f->src_net_mask);
	p = wr8(p, f->dst_net_mask > 32 ? 32 : f->dst_net_mask);
	return be16_put(p, 0); /* pad2 */
}

int enc_netflow_v5(struct demo_encoder *enc, const struct flow *flows, size_t n, uint8_t *buf,
		   size_t max, size_t *len)
{
	uint64_t export_time;
	uint32_t uptime, rate;
	size_t i, count = 0;
	uint8_t *p;

	if (max < V5_HEADER_LEN + V5_RECORD_LEN)
		return -EMSGSIZE;
	export_time = enc_export_time(enc, flows, n);
	uptime = enc_uptime_ms(enc, export_time);
	p = buf + V5_HEADER_LEN;
	for (i = 0; i < n && count < V5_MAX_RECORDS; i++) {
		if (enc_is_ipv6(&flows[i])) {
			enc->stats.skipped++;
			continue;
		}
		if ((size_t)(p - buf) + V5_RECORD_LEN > max)
			break;
		p = v5_record(p, &flows[i], export_time, uptime);
		count++;
	}
	if (!count) {
		/* Only IPv6 flows: nothing to send. */
		return (int)i;
	}
	rate = enc_sampling_rate(enc);
	if (rate > V5_MAX_INTERVAL)
		rate = V5_MAX_INTERVAL;
	/* Header: version, count, sysUptime, unix_secs, unix_nsecs,
	 * flow_sequence (flows sent before this datagram), engine type and id,
	 * sampling (2 bits mode: 01 = packet interval, 14 bits interval). */
	be16_put(buf, 5);
	be16_put(buf + 2, (uint16_t)count);
	be32_put(buf + 4, uptime);
	be32_put(buf + 8, (uint32_t)export_time);
	be32_put(buf + 12, 0);
	be32_put(buf + 16, enc->sequence);
	wr8(buf + 20, (uint8_t)(enc->cfg.domain_id >> 8));
	wr8(buf + 21, (uint8_t)enc->cfg.domain_id);
	be16_put(buf + 22, rate > 1 ? (uint16_t)(1u << 14 | rate) : 0);
	enc->sequence += (uint32_t)count;
	enc->stats.flows += count;
	enc->stats.datagrams++;
	*len = (size_t)(p - buf);
	return (int)i;
}
