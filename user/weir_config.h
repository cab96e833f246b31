/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The whole weir configuration: one YAML file, one section per stage. Each
 * stage owns its section's struct and field table (in its own header); this
 * file only puts them together and checks what spans sections. */
#ifndef WEIR_CONFIG_H
#define WEIR_CONFIG_H

#include "common/config.h"
#include "bus/bus.h"
#include "console/console.h"
#include "enrich/enrich.h"
#include "inlet/inlet.h"
#include "outlet/outlet.h"
#include "probe/probe.h"
#include "store/store.h"

struct weir_log_config {
	int level; /* enum log_level */
};

struct weir_http_config {
	char *listen; /* metrics (and, in the console role, the API): "127.0.0.1:8081" */
};

struct weir_config {
	struct config_doc *doc;
	struct weir_log_config log;
	struct weir_http_config http;
	/* Stage sections are added here, each bound by its own field table. */
	struct store_config clickhouse; /* `clickhouse:` (user/store/store.h) */
	struct bus_config bus;		/* `bus:` (user/bus/bus.h) */
	struct inlet_config flow;	/* `flow:` (user/inlet/inlet.h) */
	struct outlet_config outlet;
	struct probe_config probe;     /* `probe:` (user/probe/probe.h) */
	struct console_config console; /* `console:` (user/console/console.h) */
	/* `core:`, `metadata:`, `geoip:`, `networks:` (user/enrich/enrich.h) */
	struct enrich_config enrich;
	/* The enrichment stage weir_config_load() compiled to check the
	 * configuration (not started, no metrics): a role takes it with
	 * weir_config_take_enrich() instead of compiling it again. It points into
	 * `doc`; weir_config_free() frees it when nobody took it. */
	struct enrich *enrich_stage;
};

/* Loads and validates `path` (defaults for every absent key; the enrichment's
 * classifiers, subnet maps, providers and networks are compiled once to check
 * them). Returns 0 or -EINVAL with `err` naming file, line and key. */
int weir_config_load(struct weir_config *cfg, const char *path, struct config_error *err);
/* The defaults alone (no file). */
int weir_config_defaults(struct weir_config *cfg);
void weir_config_free(struct weir_config *cfg);
/* Hands over cfg->enrich_stage (NULL after weir_config_defaults() alone); the
 * caller frees it with enrich_free() before weir_config_free(). */
struct enrich *weir_config_take_enrich(struct weir_config *cfg);

#endif
