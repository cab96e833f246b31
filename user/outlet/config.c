// SPDX-License-Identifier: AGPL-3.0-or-later
/* The `outlet:` section of weir.yaml: workers, poll batch, and the decoders'
 * limits. */
#include <stddef.h>

#include "outlet.h"

static const char *const decap_names[] = {"none", "gre", "ipip", "vxlan", "srv6", NULL};

/* a field's key, type and bounds on its first line */
// clang-format off
static const struct config_field decoder_fields[] = {
	{.key = "max-exporters", .type = CONFIG_UINT, .min = 1, .max = 10000000,
	 .offset = offsetof(struct outlet_config, decoder.max_exporters) -
		   offsetof(struct outlet_config, decoder)},
	{.key = "max-templates-per-exporter", .type = CONFIG_UINT, .min = 1, .max = 65536,
	 .offset = offsetof(struct outlet_config, decoder.max_templates_per_exporter) -
		   offsetof(struct outlet_config, decoder)},
	{.key = "max-bytes-per-exporter", .type = CONFIG_SIZE, .min = 4096, .max = 1ll << 32,
	 .offset = offsetof(struct outlet_config, decoder.max_bytes_per_exporter) -
		   offsetof(struct outlet_config, decoder)},
	{.key = "max-bytes-total", .type = CONFIG_SIZE, .min = 65536, .max = 1ll << 40,
	 .offset = offsetof(struct outlet_config, decoder.max_bytes_total) -
		   offsetof(struct outlet_config, decoder)},
	/* Idle: a template neither refreshed nor used, an exporter silent.
	 * 0: never; at most 30 days. */
	{.key = "template-idle-timeout", .type = CONFIG_DURATION, .min = 0, .max = 30ll * 86400000,
	 .offset = offsetof(struct outlet_config, decoder.template_idle_ms) -
		   offsetof(struct outlet_config, decoder)},
	{.key = "exporter-idle-timeout", .type = CONFIG_DURATION, .min = 0, .max = 30ll * 86400000,
	 .offset = offsetof(struct outlet_config, decoder.exporter_idle_ms) -
		   offsetof(struct outlet_config, decoder)},
	{.key = "decap", .type = CONFIG_ENUM, .choices = decap_names,
	 .offset = offsetof(struct outlet_config, decoder.decap) -
		   offsetof(struct outlet_config, decoder)},
	{0},
};

const struct config_field outlet_config_fields[] = {
	{.key = "workers", .type = CONFIG_UINT, .min = 1, .max = 256,
	 .offset = offsetof(struct outlet_config, workers)},
	{.key = "batch", .type = CONFIG_UINT, .min = 1, .max = 65536,
	 .offset = offsetof(struct outlet_config, batch)},
	{.key = "use-export-time", .type = CONFIG_BOOL,
	 .offset = offsetof(struct outlet_config, use_export_time)},
	{.key = "decoder", .type = CONFIG_SECTION,
	 .offset = offsetof(struct outlet_config, decoder), .fields = decoder_fields},
	{0},
};
// clang-format on

void outlet_config_defaults(struct outlet_config *cfg)
{
	struct decode_config d;

	decode_config_init(&d);
	*cfg = (struct outlet_config){
	    .workers = 2,
	    .batch = 512,
	    .use_export_time = d.use_export_time,
	    .decoder =
		{
		    .max_exporters = d.max_exporters,
		    .max_templates_per_exporter = d.max_templates_per_exporter,
		    .max_bytes_per_exporter = d.max_bytes_per_exporter,
		    .max_bytes_total = d.max_bytes_total,
		    .template_idle_ms = (uint64_t)d.template_idle_s * 1000,
		    .exporter_idle_ms = (uint64_t)d.exporter_idle_s * 1000,
		    .decap = (int)d.decap,
		},
	};
}

void outlet_config_decode(const struct outlet_config *cfg, struct decode_config *out)
{
	decode_config_init(out);
	out->max_exporters = (uint32_t)cfg->decoder.max_exporters;
	out->max_templates_per_exporter = (uint32_t)cfg->decoder.max_templates_per_exporter;
	out->max_bytes_per_exporter = cfg->decoder.max_bytes_per_exporter;
	out->max_bytes_total = cfg->decoder.max_bytes_total;
	/* (in whole seconds, a part of one rounded up: never shorter) */
	out->template_idle_s = (uint32_t)((cfg->decoder.template_idle_ms + 999) / 1000);
	out->exporter_idle_s = (uint32_t)((cfg->decoder.exporter_idle_ms + 999) / 1000);
	out->use_export_time = cfg->use_export_time;
	out->decap = (enum decode_decap)cfg->decoder.decap;
}
