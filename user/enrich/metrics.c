// SPDX-License-Identifier: AGPL-3.0-or-later
/* The stage's counters as Prometheus series, refreshed from enrich_get_stats()
 * at each exposition (the hot path only bumps per-worker counters). */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "enrich_internal.h"

static const char *const results[] = {
    "enriched", "metadata_miss",    "unknown_kept", "unknown_dropped",
    "rejected", "sampling_unknown", "queue_full",   "static_inline",
};

static void set_count(struct metric_series *s, uint64_t v)
{
	if (s)
		atomic_store_explicit(&s->count, v, memory_order_relaxed);
}

static void collect(void *ctx)
{
	struct enrich *e = ctx;
	struct enrich_stats st;

	enrich_get_stats(e, &st);
	const uint64_t flows[] = {st.flows,	      st.metadata_misses, st.unknown_kept,
				  st.unknown_dropped, st.rejected,	  st.sampling_unknown,
				  st.queue_full,      st.static_inline};
	for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++)
		set_count(e->m.flows[i], flows[i]);
	set_count(e->m.provider_requests, st.provider_requests);
	set_count(e->m.snmp_requests, st.snmp_requests);
	set_count(e->m.snmp_retries, st.snmp_retries);
	set_count(e->m.snmp_timeouts, st.snmp_timeouts);
	set_count(e->m.snmp_breaker, st.snmp_breaker_open);
	set_count(e->m.geoip_reloads, st.geoip_reloads);
	set_count(e->m.classifier_errors, st.classifier_errors);
	metric_set(e->m.cache_entries, (double)st.cache_entries);
	metric_set(e->m.strings, (double)strtab_count(e->strs));
}

static struct metric_series *counter(struct metrics_registry *reg, const char *name,
				     const char *help)
{
	struct metric_family *f = metrics_family(reg, name, help, METRIC_COUNTER, NULL);
	return f ? metrics_series(f, NULL) : NULL;
}

int enrich_metrics_init(struct enrich *e)
{
	struct metrics_registry *reg = e->metrics;
	struct metric_family *f;

	if (!reg)
		return 0;
	f = metrics_family(
	    reg, "weir_enrich_flows_total",
	    "Flows through the enrichment stage: every flow (enriched), and those "
	    "with a metadata miss, kept or dropped unknown, rejected by a classifier, "
	    "without a sampling rate, whose miss could not be queued, and those "
	    "not in the lookup table yet that static metadata answered at once",
	    METRIC_COUNTER, "result");
	for (size_t i = 0; f && i < sizeof(results) / sizeof(results[0]); i++)
		e->m.flows[i] = metrics_series(f, &results[i]);
	e->m.provider_requests = counter(reg, "weir_enrich_provider_requests_total",
					 "Metadata lookups the refresher made");
	e->m.snmp_requests = counter(reg, "weir_enrich_snmp_requests_total", "SNMP GETs sent");
	e->m.snmp_retries = counter(reg, "weir_enrich_snmp_retries_total",
				    "SNMP GETs sent again after a timeout (poller-retries)");
	e->m.snmp_timeouts =
	    counter(reg, "weir_enrich_snmp_timeouts_total", "SNMP requests without an answer");
	e->m.snmp_breaker = counter(reg, "weir_enrich_snmp_breaker_open_total",
				    "SNMP lookups skipped: the agent's breaker was open");
	e->m.geoip_reloads = counter(reg, "weir_enrich_geoip_reloads_total",
				     "Networks and GeoIP map rebuilt after a database changed");
	e->m.classifier_errors = counter(reg, "weir_enrich_classifier_errors_total",
					 "Classifier rules that failed at run time");
	f = metrics_family(reg, "weir_enrich_cache_entries", "Entries in the metadata lookup table",
			   METRIC_GAUGE, NULL);
	e->m.cache_entries = f ? metrics_series(f, NULL) : NULL;
	f = metrics_family(reg, "weir_enrich_strings", "Interned strings", METRIC_GAUGE, NULL);
	e->m.strings = f ? metrics_series(f, NULL) : NULL;
	if (metrics_add_collector(reg, collect, e) < 0)
		return -ENOMEM;
	e->m.collector = 1;
	return 0;
}

void enrich_metrics_fini(struct enrich *e)
{
	if (e->metrics && e->m.collector)
		metrics_remove_collector(e->metrics, collect, e);
	e->m.collector = 0;
}
