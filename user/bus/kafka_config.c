// SPDX-License-Identifier: AGPL-3.0-or-later
/* The `bus:` section of weir.yaml: which bus (ring or Kafka) and how to reach
 * Kafka (brokers, topics, TLS, SASL, extra librdkafka properties). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"

static const char *const bus_types[] = {"ring", "kafka", NULL};
static const char *const compressions[] = {"lz4", "zstd", "none", "gzip", "snappy", NULL};
static const char *const sasl_mechanisms[] = {"none", "plain", "scram-sha-256", "scram-sha-512",
					      NULL};

/* A map of scalars handed to librdkafka as is: we keep the node (the
 * document outlives the config) rather than a copy config_free_bound() would
 * not know how to free. */
static int parse_properties(const struct config_node *node, void *dst, const char *path,
			    const char *file, struct config_error *err)
{
	if (node->type != CONFIG_NODE_MAP) {
		config_error_set(err, file, node->line, path,
				 "expected a map of librdkafka properties");
		return -EINVAL;
	}
	for (size_t i = 0; i < node->nchildren; i++) {
		if (node->children[i]->type != CONFIG_NODE_SCALAR || !node->children[i]->value) {
			config_error_set(err, file, node->children[i]->line, path,
					 "property %s: expected a scalar value",
					 node->children[i]->key);
			return -EINVAL;
		}
	}
	*(const struct config_node **)dst = node;
	return 0;
}

static const struct config_field string_item = {.type = CONFIG_STRING};

#define K(member) offsetof(struct bus_kafka_config, member)

static const struct config_field tls_fields[] = {
    {.key = "enabled", .type = CONFIG_BOOL, .offset = K(tls.enabled) - K(tls)},
    {.key = "ca-file", .type = CONFIG_STRING, .offset = K(tls.ca_file) - K(tls)},
    {.key = "cert-file", .type = CONFIG_STRING, .offset = K(tls.cert_file) - K(tls)},
    {.key = "key-file", .type = CONFIG_STRING, .offset = K(tls.key_file) - K(tls)},
    {.key = "insecure-skip-verify",
     .type = CONFIG_BOOL,
     .offset = K(tls.insecure_skip_verify) - K(tls)},
    {0},
};

static const struct config_field sasl_fields[] = {
    {.key = "mechanism",
     .type = CONFIG_ENUM,
     .offset = K(sasl.mechanism) - K(sasl),
     .choices = sasl_mechanisms},
    {.key = "username", .type = CONFIG_STRING, .offset = K(sasl.username) - K(sasl)},
    {.key = "password", .type = CONFIG_STRING, .offset = K(sasl.password) - K(sasl)},
    {0},
};

static const struct config_field kafka_fields[] = {
    {.key = "brokers",
     .type = CONFIG_LIST,
     .offset = K(brokers),
     .item = &string_item,
     .item_size = sizeof(char *)},
    {.key = "topic", .type = CONFIG_STRING, .offset = K(topic)},
    {.key = "partitions", .type = CONFIG_UINT, .offset = K(partitions), .min = 1, .max = 100000},
    {.key = "replication-factor",
     .type = CONFIG_UINT,
     .offset = K(replication_factor),
     .min = 1,
     .max = 32767},
    {.key = "consumer-group", .type = CONFIG_STRING, .offset = K(consumer_group)},
    {.key = "flows-topic", .type = CONFIG_STRING, .offset = K(flows_topic)},
    {.key = "compression", .type = CONFIG_ENUM, .offset = K(compression), .choices = compressions},
    {.key = "tls", .type = CONFIG_SECTION, .offset = K(tls), .fields = tls_fields},
    {.key = "sasl", .type = CONFIG_SECTION, .offset = K(sasl), .fields = sasl_fields},
    {.key = "producer", .type = CONFIG_CUSTOM, .offset = K(producer), .parse = parse_properties},
    {.key = "consumer", .type = CONFIG_CUSTOM, .offset = K(consumer), .parse = parse_properties},
    {0},
};

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
    {.key = "ring-block",
     .type = CONFIG_DURATION,
     .offset = offsetof(struct bus_config, ring_block_ms)},
    {.key = "kafka",
     .type = CONFIG_SECTION,
     .offset = offsetof(struct bus_config, kafka),
     .fields = kafka_fields},
    {0},
};

int bus_config_defaults(struct bus_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->type = BUS_TYPE_RING;
	cfg->ring_size = 64ull << 20;
	cfg->ring_block_ms = 100;
	cfg->kafka.partitions = 8;
	cfg->kafka.replication_factor = 1;
	cfg->kafka.compression = BUS_KAFKA_COMPRESSION_LZ4;
	cfg->kafka.sasl.mechanism = BUS_KAFKA_SASL_NONE;
	cfg->kafka.topic = strdup("weir-flows-raw");
	cfg->kafka.consumer_group = strdup("weir-outlet");
	cfg->kafka.flows_topic = strdup("");
	if (!cfg->kafka.topic || !cfg->kafka.consumer_group || !cfg->kafka.flows_topic)
		return -ENOMEM;
	return 0;
}

int bus_config_check(const struct bus_config *cfg, const struct config_doc *doc,
		     struct config_error *err)
{
	const struct config_node *bus = doc && doc->root ? config_node_get(doc->root, "bus") : NULL;
	const char *file = doc ? doc->path : "(defaults)";
	unsigned line = bus ? bus->line : 0;
	const struct bus_kafka_config *k = &cfg->kafka;

	if (cfg->type != BUS_TYPE_KAFKA)
		return 0;
	if (k->brokers.count == 0) {
		config_error_set(err, file, line, "bus.kafka.brokers",
				 "type is kafka: at least one broker is needed");
		return -EINVAL;
	}
	if (!k->topic || !*k->topic) {
		config_error_set(err, file, line, "bus.kafka.topic", "must not be empty");
		return -EINVAL;
	}
	if (!k->consumer_group || !*k->consumer_group) {
		config_error_set(err, file, line, "bus.kafka.consumer-group", "must not be empty");
		return -EINVAL;
	}
	if (k->sasl.mechanism != BUS_KAFKA_SASL_NONE && (!k->sasl.username || !k->sasl.password)) {
		config_error_set(err, file, line, "bus.kafka.sasl",
				 "a SASL mechanism needs a username and a password");
		return -EINVAL;
	}
	if (!!k->tls.cert_file != !!k->tls.key_file) {
		config_error_set(err, file, line, "bus.kafka.tls",
				 "cert-file and key-file go together");
		return -EINVAL;
	}
	return 0;
}
