// SPDX-License-Identifier: AGPL-3.0-or-later
/* The demo encoder's front: configuration, dispatch to the format encoders
 * (encode_netflow_v5.c, encode_template.c for v9/IPFIX, encode_sflow.c) and
 * the helpers they share. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "encode_internal.h"

#define ENC_DEFAULT_MAX_SIZE  1400
#define ENC_DEFAULT_UPTIME_MS (24u * 3600 * 1000)

const char *demo_format_name(enum demo_format format)
{
	switch (format) {
	case DEMO_NETFLOW_V5:
		return "netflow-v5";
	case DEMO_NETFLOW_V9:
		return "netflow-v9";
	case DEMO_IPFIX:
		return "ipfix";
	case DEMO_SFLOW_V5:
		return "sflow-v5";
	}
	return "unknown";
}

int demo_format_from_name(const char *name, enum demo_format *format)
{
	static const struct {
		const char *name;
		enum demo_format format;
	} names[] = {
	    {"netflow-v5", DEMO_NETFLOW_V5}, {"v5", DEMO_NETFLOW_V5},
	    {"netflow-v9", DEMO_NETFLOW_V9}, {"v9", DEMO_NETFLOW_V9},
	    {"ipfix", DEMO_IPFIX},	     {"sflow-v5", DEMO_SFLOW_V5},
	    {"sflow", DEMO_SFLOW_V5},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(name, names[i].name)) {
			*format = names[i].format;
			return 0;
		}
	}
	return -EINVAL;
}

int demo_encoder_new(const struct demo_encoder_config *cfg, struct demo_encoder **out,
		     struct error *err)
{
	struct demo_encoder *enc;
	int r;

	*out = NULL;
	switch (cfg->format) {
	case DEMO_NETFLOW_V5:
	case DEMO_NETFLOW_V9:
	case DEMO_IPFIX:
	case DEMO_SFLOW_V5:
		break;
	default:
		return error_set(err, -EINVAL, "demo: unknown format %d", (int)cfg->format);
	}
	enc = calloc(1, sizeof(*enc));
	if (!enc)
		return error_set(err, -ENOMEM, "demo: out of memory for an encoder");
	enc->cfg = *cfg;
	if (!enc->cfg.max_size)
		enc->cfg.max_size = ENC_DEFAULT_MAX_SIZE;
	if (!enc->cfg.uptime_ms)
		enc->cfg.uptime_ms = ENC_DEFAULT_UPTIME_MS;
	if (cfg->format == DEMO_NETFLOW_V9 || cfg->format == DEMO_IPFIX) {
		r = enc_template_init(enc);
		if (r < 0) {
			free(enc);
			return error_set(err, r, "demo: %s templates: %s",
					 demo_format_name(cfg->format), strerror(-r));
		}
	}
	*out = enc;
	return 0;
}

void demo_encoder_free(struct demo_encoder *enc)
{
	free(enc);
}

void demo_encoder_stats(const struct demo_encoder *enc, struct demo_encoder_stats *stats)
{
	*stats = enc->stats;
}

int demo_encoder_encode(struct demo_encoder *enc, const struct flow *flows, size_t n, uint8_t *buf,
			size_t cap, size_t *len)
{
	size_t max = enc->cfg.max_size < cap ? enc->cfg.max_size : cap;

	*len = 0;
	if (n && !flows)
		return -EINVAL;
	switch (enc->cfg.format) {
	case DEMO_NETFLOW_V5:
		return enc_netflow_v5(enc, flows, n, buf, max, len);
	case DEMO_NETFLOW_V9:
		return enc_netflow_v9(enc, flows, n, buf, max, len);
	case DEMO_IPFIX:
		return enc_ipfix(enc, flows, n, buf, max, len);
	case DEMO_SFLOW_V5:
		return enc_sflow(enc, flows, n, buf, max, len);
	}
	return -EINVAL;
}

uint64_t enc_export_time(struct demo_encoder *enc, const struct flow *flows, size_t n)
{
	uint64_t t = enc->cfg.export_time;

	if (!t && n)
		t = flows[0].time_received;
	if (!enc->started && t) {
		enc->started = 1;
		enc->first_export_time = t;
	}
	return t;
}

uint32_t enc_uptime_ms(const struct demo_encoder *enc, uint64_t export_time)
{
	uint64_t up = enc->cfg.uptime_ms;

	if (export_time > enc->first_export_time)
		up += (export_time - enc->first_export_time) * 1000;
	return (uint32_t)up; /* sysUptime wraps after 49.7 days, as on a router */
}

uint32_t enc_uptime_of(uint64_t time_ms, uint64_t export_time, uint32_t uptime_ms)
{
	uint64_t now_ms = export_time * 1000;

	if (!time_ms)
		return 0;
	if (time_ms >= now_ms)
		return uptime_ms + (uint32_t)(time_ms - now_ms);
	if (now_ms - time_ms > uptime_ms)
		return 0;
	return uptime_ms - (uint32_t)(now_ms - time_ms);
}

uint32_t enc_sampling_rate(const struct demo_encoder *enc)
{
	return enc->cfg.sampling_rate ? enc->cfg.sampling_rate : 1;
}

int enc_is_ipv6(const struct flow *f)
{
	if (f->etype == 0x86dd)
		return 1;
	if (f->etype == 0x0800)
		return 0;
	return !addr_is_ipv4(&f->src_addr) && !addr_is_zero(&f->src_addr);
}
