// SPDX-License-Identifier: AGPL-3.0-or-later
/* NetFlow v5: a 24-byte header and fixed 48-byte records, no templates
 * (Cisco's "NetFlow Export Datagram Format", version 5). */
#include "common/addr.h"
#include "decode_internal.h"

#define V5_HEADER 24
#define V5_RECORD 48

/* Unix ms of a sysUptime stamp, from the header's (uptime, unix time) pair. */
static uint64_t v5_ms(uint64_t export_ms, uint32_t uptime, uint32_t stamp)
{
	uint32_t ago = uptime - stamp;

	return export_ms > ago ? export_ms - ago : 0;
}

void netflow_v5_decode(const struct decode_config *cfg, const struct decode_input *in,
		       struct decode_output *out, struct decode_result *r)
{
	const uint8_t *d = in->data;
	uint32_t count, fit, uptime;
	uint64_t export_ms, rate, time_received;

	/* Header: version, count, sysUptime, unix_secs, unix_nsecs,
	 * flow_sequence, engine type, engine id, sampling_interval. */
	if (in->len < V5_HEADER) {
		decode_event(r, DECODE_TRUNCATED);
		return;
	}
	count = be16_get(d + 2);
	uptime = be32_get(d + 4);
	/* flow_sequence counts the flows sent before this datagram. */
	decode_seq_header(r, DECODE_SEQ_FLOWS, (uint32_t)d[20] << 8 | d[21], be32_get(d + 16),
			  count);
	r->seq.has_uptime = 1;
	r->seq.uptime_ms = uptime;
	r->export_time = be32_get(d + 8);
	export_ms = r->export_time * 1000 + be32_get(d + 12) / 1000000;
	/* The top 2 bits are the sampling mode, the low 14 the interval; 0
	 * means every packet. */
	rate = be16_get(d + 22) & 0x3fff;
	if (!rate)
		rate = 1;
	time_received = cfg->use_export_time ? r->export_time : in->time_received;

	fit = (uint32_t)((in->len - V5_HEADER) / V5_RECORD);
	if (count > fit) {
		decode_event(r, DECODE_TRUNCATED); /* decode the records that are there */
		count = fit;
	}
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *p = d + V5_HEADER + i * V5_RECORD;
		struct flow *f = decode_next_flow(out, r);
		uint32_t first, last;

		if (!f)
			return;
		f->time_received = time_received;
		f->exporter_address = in->exporter;
		f->sampling_rate = rate;
		f->etype = 0x0800;
		addr_from_ipv4_bytes(&f->src_addr, p);
		addr_from_ipv4_bytes(&f->dst_addr, p + 4);
		addr_from_ipv4_bytes(&f->next_hop, p + 8);
		f->in_if = be16_get(p + 12);
		f->out_if = be16_get(p + 14);
		f->packets = be32_get(p + 16);
		f->bytes = be32_get(p + 20);
		first = be32_get(p + 24);
		last = be32_get(p + 28);
		/* First/Last are sysUptime values at the flow's ends. */
		f->time_flow_start_ms = v5_ms(export_ms, uptime, first);
		f->time_flow_end_ms = v5_ms(export_ms, uptime, last);
		f->src_port = be16_get(p + 32);
		f->dst_port = be16_get(p + 34);
		f->tcp_flags = p[37];
		f->proto = p[38];
		f->ip_tos = p[39];
		f->src_as = be16_get(p + 40);
		f->dst_as = be16_get(p + 42);
		f->src_net_mask = p[44];
		f->dst_net_mask = p[45];
		if (f->proto == 1 && f->src_port == 0) {
			/* ICMP type and code ride in the destination port. */
			f->icmpv4_type = (uint8_t)(f->dst_port >> 8);
			f->icmpv4_code = (uint8_t)f->dst_port;
		}
		decode_commit(out, r);
	}
}
