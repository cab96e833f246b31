/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Shared between the encoder files of the demo stage only: the encoder's
 * state, byte writers and the per-format entry points. */
#ifndef WEIR_DEMO_ENCODE_INTERNAL_H
#define WEIR_DEMO_ENCODE_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "../common/be.h"
#include "demo.h"

/* Template ids of the v9/IPFIX encoder (>= 256, RFC 3954 5.2, RFC 7011 3.4.1). */
#define ENC_TEMPLATE_V4	      256
#define ENC_TEMPLATE_V6	      257
#define ENC_TEMPLATE_SAMPLING 258
#define ENC_TEMPLATE_IFACES   259
#define ENC_SAMPLER_ID	      1

/* One field of a data template: the IE number, its length on the wire and
 * which part of the flow goes there. */
struct enc_field {
	uint16_t ie;
	uint16_t len;
	uint8_t what; /* enum enc_what (encode_template.c) */
};

#define ENC_MAX_FIELDS 48

struct enc_template {
	uint16_t id;
	uint16_t count;
	uint16_t record_len;
	uint8_t icmp_in_port; /* no ICMP field: type << 8 | code in the destination port */
	struct enc_field fields[ENC_MAX_FIELDS];
};

struct demo_encoder {
	struct demo_encoder_config cfg;
	uint64_t first_export_time; /* uptime grows from cfg.uptime_ms with the export time */
	int started;
	int templates_sent; /* v9/IPFIX: the data templates went out at least once */
	uint32_t sequence;  /* v9: datagrams; IPFIX: data records; v5: flows; sFlow: datagrams */
	uint32_t sample_sequence; /* sFlow flow sample sequence number */
	uint64_t sample_pool;	  /* sFlow: packets the sampler saw (samples x rate) */
	struct demo_encoder_stats stats;
	struct enc_template tpl[2]; /* v9/IPFIX: IPv4, IPv6 */
};

/* Writes into a buffer the caller has sized (big-endian integers: be.h). */
static inline uint8_t *wr8(uint8_t *p, uint8_t v)
{
	*p = v;
	return p + 1;
}
static inline uint8_t *wr_mem(uint8_t *p, const void *src, size_t len)
{
	memcpy(p, src, len);
	return p + len;
}

static inline uint32_t enc_sat32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* The export time of a datagram carrying flows[0..n) and the sysUptime then. */
uint64_t enc_export_time(struct demo_encoder *enc, const struct flow *flows, size_t n);
uint32_t enc_uptime_ms(const struct demo_encoder *enc, uint64_t export_time);
/* A flow time (unix ms) as sysUptime ms (RFC 3954 FIRST_SWITCHED): 0 when
 * the time is unknown or before the exporter's boot. */
uint32_t enc_uptime_of(uint64_t time_ms, uint64_t export_time, uint32_t uptime_ms);
/* The sampling rate announced: at least 1. */
uint32_t enc_sampling_rate(const struct demo_encoder *enc);

int enc_is_ipv6(const struct flow *f);

int enc_template_init(struct demo_encoder *enc);
int enc_netflow_v5(struct demo_encoder *enc, const struct flow *flows, size_t n, uint8_t *buf,
		   size_t max, size_t *len);
int enc_netflow_v9(struct demo_encoder *enc, const struct flow *flows, size_t n, uint8_t *buf,
		   size_t max, size_t *len);
int enc_ipfix(struct demo_encoder *enc, const struct flow *flows, size_t n, uint8_t *buf,
	      size_t max, size_t *len);
int enc_sflow(struct demo_encoder *enc, const struct flow *flows, size_t n, uint8_t *buf,
	      size_t max, size_t *len);

#endif
