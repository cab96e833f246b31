// SPDX-License-Identifier: AGPL-3.0-or-later
/* The `bus:` section of weir.yaml: which bus (ring or Kafka), the ring's
 * size and the share of it one exporter may hold; the `kafka:` part is
 * kafka_config.c's. */
#include <stddef.h>
#include <string.h>

#include "../common/log.h"
#include "kafka_internal.h"

static const char *const bus_types[] = {"ring", "kafka", NULL};

const struct config_field bus_config_fields[] = {
    {.key = "type",
     .type = CONFIG_ENUM,
     .offset = offsetof(struct bus_config, type),
     .choices = bus_types},
    {.key = "ring-size",
     .type = CONFIG_SIZE,
     .offset = offsetof(struct bus_config, ring_size),
     .min = 1 << 20,
     .max = 1ll << 40},
    {.key = "ring-exporter-share",
     .type = CONFIG_UINT,
     .offset = offsetof(struct bus_config, ring_exporter_share),
     .min = 1,
     .max = 100},
    /* Deprecated: a full ring used to block the receive thread this long.
     * Still accepted (old files load), ignored, with a warning. */
    {.key = "ring-block",
     .type = CONFIG_DURATION,
     .offset = offsetof(struct bus_config, ring_block_ms)},
    {.key = "kafka",
     .type = CONFIG_SECTION,
     .offset = offsetof(struct bus_config, kafka),
     .fields = kafka_config_fields},
    {0},
};

int bus_config_defaults(struct bus_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->type = BUS_TYPE_RING;
	cfg->ring_size = 64ull << 20;
	cfg->ring_exporter_share = 50;
	return kafka_config_defaults(&cfg->kafka);
}

int bus_config_check(const struct bus_config *cfg, const struct config_doc *doc,
		     struct config_error *err)
{
	const struct config_node *bus = doc ? config_node_get(doc->root, "bus") : NULL;
	const struct config_node *block = bus ? config_node_get(bus, "ring-block") : NULL;

	if (block)
		log_warn("bus.ring-block is deprecated and ignored: a full ring drops at once "
			 "(the receive path never waits); see bus.ring-exporter-share",
			 "file=%s line=%u", doc->path, block->line);
	/* The ring's settings are bounded by their field table; Kafka's
	 * sections are checked only when Kafka is the bus. */
	if (cfg->type != BUS_TYPE_KAFKA)
		return 0;
	return kafka_config_check(cfg, doc, err);
}
