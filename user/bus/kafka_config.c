// SPDX-License-Identifier: AGPL-3.0-or-later
/* The `bus.kafka:` section of weir.yaml: how to reach Kafka (brokers,
 * topics, TLS, SASL, extra librdkafka properties), its defaults, and its
 * checks, by us and by librdkafka. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka_internal.h"

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

const struct config_field kafka_config_fields[] = {
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

int kafka_config_defaults(struct bus_kafka_config *k)
{
	k->partitions = 8;
	k->replication_factor = 1;
	k->compression = BUS_KAFKA_COMPRESSION_LZ4;
	k->sasl.mechanism = BUS_KAFKA_SASL_NONE;
	k->topic = strdup("weir-flows-raw");
	k->consumer_group = strdup("weir-outlet");
	k->flows_topic = strdup("");
	if (!k->topic || !k->consumer_group || !k->flows_topic)
		return -ENOMEM;
	return 0;
}

/* ---- librdkafka's view of the section ----
 * librdkafka checks a property's value when it is set (done at load time,
 * bus_config_check() -> kafka_config_check()), and the files and combinations (TLS certificates,
 * SASL mechanism, idempotence and acks...) only when a client is made
 * (bus_kafka_config_verify(), on scratch clients that reach no broker).
 * Either way a bad value is an error naming the file, line and key. */

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk, (void)level, (void)fac, (void)buf;
}

/* The node of bus.kafka.<section>.<key> (key NULL: the section), or NULL. */
static const struct config_node *kafka_node(const struct config_doc *doc, const char *section,
					    const char *key)
{
	const struct config_node *n = doc && doc->root ? config_node_get(doc->root, "bus") : NULL;

	if (n && n->type == CONFIG_NODE_MAP)
		n = config_node_get(n, "kafka");
	if (n && section && n->type == CONFIG_NODE_MAP)
		n = config_node_get(n, section);
	if (n && key && n->type == CONFIG_NODE_MAP)
		n = config_node_get(n, key);
	return n;
}

/* The YAML keys behind the librdkafka properties weir derives from them. */
static const struct {
	const char *property, *section, *key;
} derived[] = {
    {"ssl.ca.location", "tls", "ca-file"},   {"ssl.certificate.location", "tls", "cert-file"},
    {"ssl.key.location", "tls", "key-file"}, {"ssl", "tls", "enabled"},
    {"sasl.mechanism", "sasl", "mechanism"}, {"sasl.username", "sasl", "username"},
    {"sasl.password", "sasl", "password"},   {"sasl", "sasl", "mechanism"},
};

/* Names the YAML key a librdkafka message `why` is about: a property of
 * the pass-through map, else one weir derived, else the section itself. */
static void conf_error(const struct bus_config *cfg, const struct config_doc *doc,
		       const char *extra_name, const char *why, struct config_error *err)
{
	const struct config_node *extra =
	    strcmp(extra_name, "producer") == 0 ? cfg->kafka.producer : cfg->kafka.consumer;
	const char *file = doc ? doc->path : "(defaults)";
	const struct config_node *n;
	char path[256];

	for (size_t i = 0; extra && i < extra->nchildren; i++) {
		if (!strstr(why, extra->children[i]->key))
			continue;
		snprintf(path, sizeof(path), "bus.kafka.%s.%s", extra_name,
			 extra->children[i]->key);
		config_error_set(err, file, extra->children[i]->line, path, "%s", why);
		return;
	}
	for (size_t i = 0; i < sizeof(derived) / sizeof(derived[0]); i++) {
		if (!strstr(why, derived[i].property))
			continue;
		n = kafka_node(doc, derived[i].section, derived[i].key);
		if (!n)
			n = kafka_node(doc, derived[i].section, NULL);
		snprintf(path, sizeof(path), "bus.kafka.%s.%s", derived[i].section, derived[i].key);
		config_error_set(err, file, n ? n->line : 0, path, "%s", why);
		return;
	}
	n = kafka_node(doc, NULL, NULL);
	config_error_set(err, file, n ? n->line : 0, "bus.kafka", "%s", why);
}

/* Each property of the producer: or consumer: map, alone. */
static int check_properties(const struct config_node *map, const char *name, const char *file,
			    struct config_error *err)
{
	rd_kafka_conf_t *conf;
	int ret = 0;

	if (!map)
		return 0;
	conf = rd_kafka_conf_new();
	if (!conf)
		return -ENOMEM;
	for (size_t i = 0; i < map->nchildren && !ret; i++) {
		const struct config_node *p = map->children[i];
		char why[512], path[256];

		if (rd_kafka_conf_set(conf, p->key, p->value, why, sizeof(why)) == RD_KAFKA_CONF_OK)
			continue;
		snprintf(path, sizeof(path), "bus.kafka.%s.%s", name, p->key);
		config_error_set(err, file, p->line, path, "%s", why);
		ret = -EINVAL;
	}
	rd_kafka_conf_destroy(conf);
	return ret;
}

/* A client made from the whole configuration, with no broker to reach. */
static int check_client(const struct bus_config *cfg, const struct config_doc *doc,
			rd_kafka_type_t type, struct config_error *err)
{
	const char *name = type == RD_KAFKA_PRODUCER ? "producer" : "consumer";
	struct error conf_err = {""};
	char why[512] = "";
	rd_kafka_conf_t *conf = type == RD_KAFKA_PRODUCER ? kafka_producer_conf(cfg, &conf_err)
							  : kafka_consumer_conf(cfg, &conf_err);
	rd_kafka_t *rk;

	if (!conf) {
		conf_error(cfg, doc, name, conf_err.text, err);
		return -EINVAL;
	}
	rd_kafka_conf_set_log_cb(conf, quiet_log);
	rd_kafka_conf_set_error_cb(conf, NULL);
	if (rd_kafka_conf_set(conf, "bootstrap.servers", "", why, sizeof(why)) !=
	    RD_KAFKA_CONF_OK) {
		rd_kafka_conf_destroy(conf);
		conf_error(cfg, doc, name, why, err);
		return -EINVAL;
	}
	rk = rd_kafka_new(type, conf, why, sizeof(why));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		conf_error(cfg, doc, name, why, err);
		return -EINVAL;
	}
	rd_kafka_destroy(rk);
	return 0;
}

/* TLS files set only with TLS on; with `readable`, files we can read. */
static int check_tls_files(const struct bus_config *cfg, const struct config_doc *doc, int readable,
			   struct config_error *err)
{
	const struct bus_kafka_config *k = &cfg->kafka;
	const char *file = doc ? doc->path : "(defaults)";
	const struct {
		const char *key, *value;
	} files[] = {{"ca-file", k->tls.ca_file},
		     {"cert-file", k->tls.cert_file},
		     {"key-file", k->tls.key_file}};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const struct config_node *n = kafka_node(doc, "tls", files[i].key);
		char path[64];

		if (!files[i].value)
			continue;
		snprintf(path, sizeof(path), "bus.kafka.tls.%s", files[i].key);
		if (!k->tls.enabled) {
			config_error_set(err, file, n ? n->line : 0, path,
					 "set, but bus.kafka.tls.enabled is false");
			return -EINVAL;
		}
		if (!readable)
			continue;
		if (access(files[i].value, R_OK) < 0) {
			config_error_set(err, file, n ? n->line : 0, path, "cannot read %s: %s",
					 files[i].value, strerror(errno));
			return -EINVAL;
		}
	}
	return 0;
}

int kafka_config_check(const struct bus_config *cfg, const struct config_doc *doc,
		       struct config_error *err)
{
	const struct config_node *bus = doc && doc->root ? config_node_get(doc->root, "bus") : NULL;
	const char *file = doc ? doc->path : "(defaults)";
	unsigned line = bus ? bus->line : 0;
	const struct bus_kafka_config *k = &cfg->kafka;

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
	if (kafka_node(doc, NULL, NULL))
		line = kafka_node(doc, NULL, NULL)->line;
	if (k->sasl.mechanism != BUS_KAFKA_SASL_NONE && (!k->sasl.username || !k->sasl.password)) {
		const struct config_node *n = kafka_node(doc, "sasl", NULL);

		config_error_set(err, file, n ? n->line : line, "bus.kafka.sasl",
				 "a SASL mechanism needs a username and a password");
		return -EINVAL;
	}
	if (!!k->tls.cert_file != !!k->tls.key_file) {
		const struct config_node *n = kafka_node(doc, "tls", NULL);

		config_error_set(err, file, n ? n->line : line, "bus.kafka.tls",
				 "cert-file and key-file go together");
		return -EINVAL;
	}
	if (check_tls_files(cfg, doc, 0, err) < 0 ||
	    check_properties(k->producer, "producer", file, err) < 0 ||
	    check_properties(k->consumer, "consumer", file, err) < 0)
		return -EINVAL;
	return 0;
}

int bus_kafka_config_verify(const struct bus_config *cfg, const struct config_doc *doc,
			    struct config_error *err)
{
	if (cfg->type != BUS_TYPE_KAFKA)
		return 0;
	if (check_tls_files(cfg, doc, 1, err) < 0 ||
	    check_client(cfg, doc, RD_KAFKA_PRODUCER, err) < 0 ||
	    check_client(cfg, doc, RD_KAFKA_CONSUMER, err) < 0)
		return -EINVAL;
	return 0;
}
