// SPDX-License-Identifier: AGPL-3.0-or-later
/* The `probe:` configuration section: field table and defaults. */
#include <stddef.h>
#include <string.h>

#include "probe_internal.h"

static const char *const attach_modes[] = {"auto", "tcx", "clsact", "xdp", NULL};
static const struct config_field string_item = {.type = CONFIG_STRING};

#define DURATION(k, f, lo, hi)                                                                     \
	{                                                                                          \
		.key = k, .type = CONFIG_DURATION, .offset = offsetof(struct probe_config, f),     \
		.min = lo, .max = hi                                                               \
	}

const struct config_field probe_config_fields[] = {
    {.key = "interfaces",
     .type = CONFIG_LIST,
     .offset = offsetof(struct probe_config, interfaces),
     .item = &string_item,
     .item_size = sizeof(char *)},
    {.key = "collectors",
     .type = CONFIG_LIST,
     .offset = offsetof(struct probe_config, collectors),
     .item = &string_item,
     .item_size = sizeof(char *)},
    {.key = "attach",
     .type = CONFIG_ENUM,
     .offset = offsetof(struct probe_config, attach),
     .choices = attach_modes},
    {.key = "observation-domain",
     .type = CONFIG_UINT,
     .offset = offsetof(struct probe_config, observation_domain),
     .min = 0,
     .max = UINT32_MAX},
    DURATION("active-timeout", active_timeout_ms, 1000, 86400000),
    DURATION("idle-timeout", idle_timeout_ms, 100, 86400000),
    DURATION("drain-interval", drain_interval_ms, 10, 60000),
    DURATION("template-refresh", template_refresh_ms, 1000, 86400000),
    DURATION("interface-refresh", interface_refresh_ms, 100, 3600000),
    {.key = "mtu",
     .type = CONFIG_SIZE,
     .offset = offsetof(struct probe_config, mtu),
     .min = 0,
     .max = 65535},
    {.key = "sampling",
     .type = CONFIG_UINT,
     .offset = offsetof(struct probe_config, sampling),
     .min = 0,
     .max = 1 << 30},
    {.key = "max-flows",
     .type = CONFIG_UINT,
     .offset = offsetof(struct probe_config, max_flows),
     .min = 16,
     .max = 1 << 24},
    {.key = "batch-packets",
     .type = CONFIG_BOOL,
     .offset = offsetof(struct probe_config, batch_packets)},
    {.key = "ring-buffer",
     .type = CONFIG_SIZE,
     .offset = offsetof(struct probe_config, ring_buffer),
     .min = 4096,
     .max = 1 << 30},
    {0},
};

void probe_config_defaults(struct probe_config *cfg)
{
	/* Lists get no defaults (the binder replaces them); numbers left at 0
	 * take their defaults in probe_new(). */
	memset(cfg, 0, sizeof(*cfg));
	cfg->batch_packets = 1;
}
