// SPDX-License-Identifier: AGPL-3.0-or-later
/* The outlet's life cycle: its workers made (one per bus consumer), started,
 * stopped (draining or not), freed, and their totals summed. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "outlet_internal.h"

int outlet_new(const struct outlet_params *p, struct outlet **out, struct error *err)
{
	struct outlet *o = calloc(1, sizeof(*o));
	size_t n = p->cfg->workers ? p->cfg->workers : 1;
	int ret = -ENOMEM;

	*out = NULL;
	if (!o) {
		for (size_t i = 0; i < n; i++)
			bus_consumer_free(p->consumers[i]);
		goto fail;
	}
	o->cfg = *p->cfg;
	if (!o->cfg.batch)
		o->cfg.batch = 512;
	outlet_config_decode(&o->cfg, &o->decode_cfg);
	o->store = p->store;
	o->metrics = p->metrics;
	o->flows_out = p->flows_out;
	o->enrich = p->enrich;
	o->consumer_capacity = p->consumer_capacity;
	o->nworkers = n;
	o->workers = calloc(n, sizeof(*o->workers));
	if (!o->workers) {
		for (size_t i = 0; i < n; i++)
			bus_consumer_free(p->consumers[i]);
		o->nworkers = 0;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		o->workers[i].consumer = p->consumers[i];
		o->workers[i].consumer->on_revoke = outlet_worker_on_revoke;
		o->workers[i].consumer->on_revoke_ctx = &o->workers[i];
	}
	o->fam_datagrams = metrics_family(o->metrics, "weir_outlet_datagrams_total",
					  "Datagrams taken from the bus, per exporter",
					  METRIC_COUNTER, "exporter");
	o->fam_flows = metrics_family(o->metrics, "weir_outlet_flows_decoded_total",
				      "Flows decoded, per exporter", METRIC_COUNTER, "exporter");
	o->fam_stored = metrics_family(o->metrics, "weir_outlet_flows_stored_total",
				       "Flows ClickHouse acknowledged, per exporter",
				       METRIC_COUNTER, "exporter");
	o->fam_events =
	    metrics_family(o->metrics, "weir_decode_events_total",
			   "Decoder events (rejected or skipped input), per exporter and reason",
			   METRIC_COUNTER, "exporter,reason");
	o->fam_park_dropped = metrics_family(
	    o->metrics, "weir_outlet_park_dropped_total",
	    "Parked datagrams dropped, per exporter and reason: expired (no template within "
	    "60 s), full (no room), too_large (longer than a park slot)",
	    METRIC_COUNTER, "exporter,reason");
	ret = drop_log_new(&(struct drop_log_config){.stage = "outlet", .emit = outlet_drop_emit},
			   &o->drops, NULL);
	if (ret < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		ret = outlet_worker_init(o, &o->workers[i], (unsigned)i);
		if (ret < 0)
			goto fail;
	}
	*out = o;
	return 0;
fail:
	outlet_free(o);
	return error_set(err, ret, "outlet: %s", strerror(-ret));
}

int outlet_start(struct outlet *o, struct error *err)
{
	for (size_t i = 0; i < o->nworkers; i++) {
		int ret = -pthread_create(&o->workers[i].thread, NULL, outlet_worker_main,
					  &o->workers[i]);

		if (ret < 0) {
			atomic_store(&o->stop, 1);
			for (size_t j = 0; j < i; j++)
				pthread_join(o->workers[j].thread, NULL);
			return error_set(err, ret, "outlet threads: %s", strerror(-ret));
		}
	}
	o->started = 1;
	return 0;
}

void outlet_stop(struct outlet *o, int drain)
{
	if (!o || !o->started)
		return;
	atomic_store(&o->drain, drain);
	atomic_store(&o->stop, 1);
	for (size_t i = 0; i < o->nworkers; i++)
		pthread_join(o->workers[i].thread, NULL);
	o->started = 0;
}

void outlet_abort(struct outlet *o)
{
	if (o)
		atomic_store(&o->abort, 1);
}

void outlet_free(struct outlet *o)
{
	if (!o)
		return;
	outlet_stop(o, 0);
	for (size_t i = 0; i < o->nworkers; i++)
		outlet_worker_fini(&o->workers[i]);
	drop_log_free(o->drops);
	free(o->workers);
	free(o);
}

void outlet_totals(struct outlet *o, struct outlet_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < o->nworkers; i++) {
		struct outlet_worker *w = &o->workers[i];

		t->datagrams += atomic_load(&w->datagrams);
		t->flows_decoded += atomic_load(&w->flows_decoded);
		t->flows_stored += atomic_load(&w->flows_stored);
		t->decode_errors += atomic_load(&w->decode_errors);
		t->flushes += atomic_load(&w->nflushes);
		t->flush_ms += atomic_load(&w->flush_ms);
		t->datagrams_released += atomic_load(&w->datagrams_released);
	}
}
