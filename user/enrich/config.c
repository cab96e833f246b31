// SPDX-License-Identifier: AGPL-3.0-or-later
/* The enrichment configuration: Akvorado's keys (outlet core, metadata, geoip,
 * networks) bound with the common config tables. Free-form pieces are kept as
 * YAML nodes for enrich_new() to compile. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enrich_internal.h"

static int keep_node(const struct config_node *node, void *dst, const char *path, const char *file,
		     struct config_error *err)
{
	struct enrich_yaml *y = dst;

	(void)err;
	y->node = node;
	y->file = file;
	snprintf(y->path, sizeof(y->path), "%s", path);
	return 0;
}

static const char *const asn_names[] = {"flow", "flow-except-private", "flow-except-default-route",
					"routing", "routing-except-private", "networks",
					/* aliases (Akvorado's hooks) */
					"bmp", "bmp-except-private", "geo-ip", NULL};
static const int asn_alias[] = {
    0, 1, 2, 3, 4, 5, ENRICH_ASN_ROUTING, ENRICH_ASN_ROUTING_EXCEPT_PRIVATE, ENRICH_ASN_NETWORKS};
static const char *const net_names[] = {"flow", "routing", "bmp", NULL};
static const int net_alias[] = {0, 1, ENRICH_NET_ROUTING};

static int parse_providers_list(const struct config_node *node, int *out, size_t *count,
				const char *const *names, const int *alias, const char *path,
				const char *file, struct config_error *err)
{
	if (node->type != CONFIG_NODE_SEQ) {
		config_error_set(err, file, node->line, path, "expected a list");
		return -EINVAL;
	}
	if (node->nchildren > ENRICH_MAX_PROVIDERS) {
		config_error_set(err, file, node->line, path, "at most %d entries",
				 ENRICH_MAX_PROVIDERS);
		return -EINVAL;
	}
	for (size_t i = 0; i < node->nchildren; i++) {
		const struct config_node *c = node->children[i];
		size_t k;
		for (k = 0; names[k]; k++)
			if (c->type == CONFIG_NODE_SCALAR && c->value &&
			    !strcmp(c->value, names[k]))
				break;
		if (!names[k]) {
			char choices[256] = "";
			for (size_t j = 0; names[j]; j++)
				snprintf(choices + strlen(choices),
					 sizeof(choices) - strlen(choices), "%s%s", j ? ", " : "",
					 names[j]);
			config_error_set(err, file, c->line, path, "expected one of %s", choices);
			return -EINVAL;
		}
		out[i] = alias[k];
	}
	*count = node->nchildren;
	return 0;
}

static int parse_asn_providers(const struct config_node *node, void *dst, const char *path,
			       const char *file, struct config_error *err)
{
	struct enrich_core_config *c =
	    (struct enrich_core_config *)((char *)dst -
					  offsetof(struct enrich_core_config, asn_providers));
	return parse_providers_list(node, c->asn_providers, &c->asn_providers_count, asn_names,
				    asn_alias, path, file, err);
}

static int parse_net_providers(const struct config_node *node, void *dst, const char *path,
			       const char *file, struct config_error *err)
{
	struct enrich_core_config *c =
	    (struct enrich_core_config *)((char *)dst -
					  offsetof(struct enrich_core_config, net_providers));
	return parse_providers_list(node, c->net_providers, &c->net_providers_count, net_names,
				    net_alias, path, file, err);
}

#define C(member) offsetof(struct enrich_core_config, member)
const struct config_field enrich_core_fields[] = {
    {.key = "exporter-classifiers",
     .type = CONFIG_CUSTOM,
     .offset = C(exporter_classifiers),
     .parse = keep_node},
    {.key = "interface-classifiers",
     .type = CONFIG_CUSTOM,
     .offset = C(interface_classifiers),
     .parse = keep_node},
    {.key = "classifier-cache-duration",
     .type = CONFIG_DURATION,
     .offset = C(classifier_cache_duration_ms),
     .min = 1000,
     .max = INT64_MAX},
    {.key = "default-sampling-rate",
     .type = CONFIG_CUSTOM,
     .offset = C(default_sampling_rate),
     .parse = keep_node},
    {.key = "override-sampling-rate",
     .type = CONFIG_CUSTOM,
     .offset = C(override_sampling_rate),
     .parse = keep_node},
    {.key = "asn-providers",
     .type = CONFIG_CUSTOM,
     .offset = C(asn_providers),
     .parse = parse_asn_providers},
    {.key = "net-providers",
     .type = CONFIG_CUSTOM,
     .offset = C(net_providers),
     .parse = parse_net_providers},
    {.key = "drop-unknown", .type = CONFIG_BOOL, .offset = C(drop_unknown)},
    {0},
};
#undef C

#define M(member) offsetof(struct enrich_metadata_config, member)
const struct config_field enrich_metadata_fields[] = {
    {.key = "cache-duration",
     .type = CONFIG_DURATION,
     .offset = M(cache_duration_ms),
     .min = 1000,
     .max = INT64_MAX},
    {.key = "cache-refresh", .type = CONFIG_DURATION, .offset = M(cache_refresh_ms)},
    {.key = "cache-check-interval",
     .type = CONFIG_DURATION,
     .offset = M(cache_check_interval_ms),
     .min = 100,
     .max = INT64_MAX},
    {.key = "cache-persist-file", .type = CONFIG_STRING, .offset = M(cache_persist_file)},
    {.key = "providers", .type = CONFIG_CUSTOM, .offset = M(providers), .parse = keep_node},
    {.key = "provider", .type = CONFIG_CUSTOM, .offset = M(providers), .parse = keep_node},
    {.key = "query-timeout", .type = CONFIG_DURATION, .offset = M(query_timeout_ms)},
    {.key = "initial-delay", .type = CONFIG_DURATION, .offset = M(initial_delay_ms)},
    {0},
};
#undef M

static const struct config_field path_item = {.type = CONFIG_STRING};

#define G(member) offsetof(struct enrich_geoip_config, member)
const struct config_field enrich_geoip_fields[] = {
    {.key = "asn-database",
     .type = CONFIG_LIST,
     .offset = G(asn_database),
     .item = &path_item,
     .item_size = sizeof(char *)},
    {.key = "geo-database",
     .type = CONFIG_LIST,
     .offset = G(geo_database),
     .item = &path_item,
     .item_size = sizeof(char *)},
    {.key = "country-database",
     .type = CONFIG_LIST,
     .offset = G(geo_database),
     .item = &path_item,
     .item_size = sizeof(char *)},
    {.key = "optional", .type = CONFIG_BOOL, .offset = G(optional)},
    {.key = "check-interval",
     .type = CONFIG_DURATION,
     .offset = G(check_interval_ms),
     .min = 10,
     .max = INT64_MAX},
    {0},
};
#undef G

#define N(member) offsetof(struct enrich_networks_config, member)
const struct config_field enrich_networks_fields[] = {
    {.key = "networks", .type = CONFIG_CUSTOM, .offset = N(networks), .parse = keep_node},
    {.key = "network-sources",
     .type = CONFIG_CUSTOM,
     .offset = N(network_sources),
     .parse = keep_node},
    {.key = "network-sources-timeout",
     .type = CONFIG_CUSTOM,
     .offset = N(network_sources),
     .parse = keep_node},
    {0},
};
#undef N

#define E(member) offsetof(struct enrich_config, member)
const struct config_field enrich_config_fields[] = {
    {.key = "core", .type = CONFIG_SECTION, .offset = E(core), .fields = enrich_core_fields},
    {.key = "metadata",
     .type = CONFIG_SECTION,
     .offset = E(metadata),
     .fields = enrich_metadata_fields},
    {.key = "geoip", .type = CONFIG_SECTION, .offset = E(geoip), .fields = enrich_geoip_fields},
    {.key = "networks",
     .type = CONFIG_SECTION,
     .offset = E(networks),
     .fields = enrich_networks_fields},
    {0},
};
#undef E

int enrich_config_defaults(struct enrich_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->core.classifier_cache_duration_ms = 5 * 60 * 1000;
	cfg->core.asn_providers[0] = ENRICH_ASN_FLOW;
	cfg->core.asn_providers[1] = ENRICH_ASN_ROUTING;
	cfg->core.asn_providers[2] = ENRICH_ASN_NETWORKS;
	cfg->core.asn_providers_count = 3;
	cfg->core.net_providers[0] = ENRICH_NET_FLOW;
	cfg->core.net_providers[1] = ENRICH_NET_ROUTING;
	cfg->core.net_providers_count = 2;
	cfg->metadata.cache_duration_ms = 30 * 60 * 1000;
	cfg->metadata.cache_refresh_ms = 60 * 60 * 1000;
	cfg->metadata.cache_check_interval_ms = 2 * 60 * 1000;
	cfg->metadata.query_timeout_ms = 5000;
	cfg->metadata.initial_delay_ms = 60 * 1000;
	cfg->metadata.cache_persist_file = strdup("");
	cfg->geoip.check_interval_ms = 10 * 1000;
	return cfg->metadata.cache_persist_file ? 0 : -ENOMEM;
}

void enrich_config_free(struct enrich_config *cfg)
{
	config_free_bound(enrich_config_fields, cfg);
	memset(cfg, 0, sizeof(*cfg));
}
