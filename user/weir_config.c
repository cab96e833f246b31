// SPDX-License-Identifier: AGPL-3.0-or-later
/* Puts the stages' config sections together into the one weir.yaml. */
#include "weir_config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};

static const struct config_field log_fields[] = {
    {.key = "level",
     .type = CONFIG_ENUM,
     .offset = offsetof(struct weir_log_config, level),
     .choices = log_levels},
    {0},
};

static const struct config_field http_fields[] = {
    {.key = "listen",
     .type = CONFIG_STRING,
     .offset = offsetof(struct weir_http_config, listen),
     .check = config_check_listen},
    {0},
};

static const struct config_field weir_fields[] = {
    {.key = "log",
     .type = CONFIG_SECTION,
     .offset = offsetof(struct weir_config, log),
     .fields = log_fields},
    {.key = "http",
     .type = CONFIG_SECTION,
     .offset = offsetof(struct weir_config, http),
     .fields = http_fields},
    /* stage sections: add one line each here */
    {.key = "clickhouse",
     .type = CONFIG_SECTION,
     .offset = offsetof(struct weir_config, clickhouse),
     .fields = store_config_fields},
    {.key = "bus",
     .type = CONFIG_SECTION,
     .offset = offsetof(struct weir_config, bus),
     .fields = bus_config_fields},
    {.key = "flow",
     .type = CONFIG_SECTION,
     .offset = offsetof(struct weir_config, flow),
     .fields = inlet_config_fields},
    {.key = "outlet",
     .type = CONFIG_SECTION,
     .offset = offsetof(struct weir_config, outlet),
     .fields = outlet_config_fields},
    {.key = "probe",
     .type = CONFIG_SECTION,
     .offset = offsetof(struct weir_config, probe),
     .fields = probe_config_fields},
    {.key = "console",
     .type = CONFIG_SECTION,
     .offset = offsetof(struct weir_config, console),
     .fields = console_config_fields},
    /* the enrichment's sections, where Akvorado's outlet has them */
    {.key = "core",
     .type = CONFIG_SECTION,
     .offset = offsetof(struct weir_config, enrich.core),
     .fields = enrich_core_fields},
    {.key = "metadata",
     .type = CONFIG_SECTION,
     .offset = offsetof(struct weir_config, enrich.metadata),
     .fields = enrich_metadata_fields},
    {.key = "geoip",
     .type = CONFIG_SECTION,
     .offset = offsetof(struct weir_config, enrich.geoip),
     .fields = enrich_geoip_fields},
    {.key = "networks",
     .type = CONFIG_SECTION,
     .offset = offsetof(struct weir_config, enrich.networks),
     .fields = enrich_networks_fields},
    {0},
};

int weir_config_defaults(struct weir_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log.level = LOG_LEVEL_INFO;
	cfg->http.listen = strdup("127.0.0.1:8081");
	if (!cfg->http.listen)
		return -ENOMEM;
	/* stage defaults: add here */
	if (store_config_defaults(&cfg->clickhouse) < 0)
		return -ENOMEM;
	cfg->clickhouse.asn_databases = &cfg->enrich.geoip.asn_database;
	if (bus_config_defaults(&cfg->bus) < 0)
		return -ENOMEM;
	inlet_config_defaults(&cfg->flow);
	outlet_config_defaults(&cfg->outlet);
	probe_config_defaults(&cfg->probe);
	if (console_config_defaults(&cfg->console) < 0)
		return -ENOMEM;
	return enrich_config_defaults(&cfg->enrich);
}

/* The enrichment's free-form pieces (classifier rules, subnet maps, providers,
 * networks) are only compiled by enrich_new(): compile them once here so that
 * `weir config check` and every role report a wrong rule before starting, and
 * keep the result for the role that runs it (100k networks are parsed once).
 * Its errors already name the file, line and key. */
static int check_enrich(struct weir_config *cfg, struct config_error *err)
{
	struct error eerr = {""};
	int r = enrich_new(&cfg->enrich, NULL, &cfg->enrich_stage, &eerr);

	if (r < 0) {
		snprintf(err->text, sizeof(err->text), "%s", eerr.text);
		return -EINVAL;
	}
	return 0;
}

int weir_config_load(struct weir_config *cfg, const char *path, struct config_error *err)
{
	int r = weir_config_defaults(cfg);

	if (r < 0) {
		snprintf(err->text, sizeof(err->text), "out of memory");
		return r;
	}
	cfg->doc = config_doc_load_file(path, err);
	if (!cfg->doc)
		return -EINVAL;
	r = config_bind(cfg->doc->root, weir_fields, cfg, "", path, err);
	if (r < 0)
		return r;
	/* checks across sections: add here */
	if (bus_config_check(&cfg->bus, cfg->doc, err) < 0)
		return -EINVAL;
	if (store_config_check(&cfg->clickhouse, cfg->doc, err) < 0)
		return -EINVAL;
	return check_enrich(cfg, err);
}

struct enrich *weir_config_take_enrich(struct weir_config *cfg)
{
	struct enrich *e = cfg->enrich_stage;

	cfg->enrich_stage = NULL;
	return e;
}

void weir_config_free(struct weir_config *cfg)
{
	enrich_free(cfg->enrich_stage); /* (it points into the document) */
	cfg->enrich_stage = NULL;
	config_free_bound(weir_fields, cfg);
	config_doc_free(cfg->doc);
	cfg->doc = NULL;
}
