// SPDX-License-Identifier: AGPL-3.0-or-later
/* The outlet's worker loop: poll raw datagrams from the bus, decode, enrich
 * (user/enrich/, when the outlet has it), stage the flows for the ClickHouse writer, and flush
 * (commit.c) when the batch is due or the ring is half held. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/log.h"
#include "enrich/enrich.h"
#include "outlet_internal.h"
#include "store/store.h"

/* ---- one datagram ---- */

void outlet_stage_flush(struct outlet_worker *w)
{
	LOG_RATELIMIT(store_rl, 10);
	size_t n = w->nstaged;
	int ret;

	if (n == 0)
		return;
	ret = store_writer_append(w->writer, w->flows, n, clock_mono_ms());
	if (ret == -ENOBUFS) {
		/* The batch is full in bytes: store what it holds (giving
		 * nothing back: this poll's datagrams are still being read)
		 * and append again. */
		outlet_writer_store(w, 0);
		ret = store_writer_append(w->writer, w->flows, n, clock_mono_ms());
	}
	w->nstaged = 0;
	if (ret < 0) {
		char text[ADDR_TEXT_MAX];

		metric_add(w->flows_dropped, n);
		addr_to_text(outlet_exporter_addr(w, w->runs[0].e), text, sizeof(text));
		log_write_limited(&store_rl, LOG_LEVEL_ERROR, "flows not queued for ClickHouse",
				  "exporter=%s exporters=%zu flows=%zu error=%d", text, w->nruns, n,
				  ret);
		w->nruns = 0;
		return;
	}
	/* The topic of enriched flows is a copy for other consumers, best
	 * effort: a full queue drops and counts (the producer's metrics), it
	 * never holds the store back. */
	for (size_t i = 0; w->outlet->flows_out && i < n; i++)
		bus_kafka_flow_producer_send(w->outlet->flows_out, &w->flows[i]);
	for (size_t i = 0; i < w->nruns; i++) {
		struct exporter_stats *e = w->runs[i].e;

		e->pending_stored += w->runs[i].n;
		if (!e->dirty) {
			e->dirty = 1;
			w->dirty[w->ndirty++] = e;
		}
	}
	w->nruns = 0;
}

void outlet_worker_append(struct outlet_worker *w, struct exporter_stats *e, uint32_t n)
{
	metric_add(e->flows, n);
	atomic_fetch_add_explicit(&w->flows_decoded, n, memory_order_relaxed);
	/* Per datagram, so that the runs count only what is kept. */
	if (w->enricher)
		n = (uint32_t)enrich_flows(w->enricher, w->flows + w->nstaged, n);
	if (n == 0)
		return;
	if (w->nruns && w->runs[w->nruns - 1].e == e)
		w->runs[w->nruns - 1].n += n;
	else
		w->runs[w->nruns++] = (struct staged_run){e, n};
	w->nstaged += n;
	if (w->nstaged >= OUTLET_STAGE_FLOWS)
		outlet_stage_flush(w);
}

uint32_t outlet_worker_decode(struct outlet_worker *w, const uint8_t *data, uint32_t len,
			      const struct in6_addr *exporter, uint64_t time_ns, int replay,
			      struct decode_result *res)
{
	struct decode_input in = {
	    .data = data,
	    .len = len,
	    .exporter = *exporter,
	    .time_received = time_ns / 1000000000ull,
	    .replay = replay,
	};
	struct decode_output out = {.flows = w->flows + w->nstaged,
				    .cap = OUTLET_MAX_FLOWS_PER_DATAGRAM,
				    .ifaces = w->ifaces,
				    .ifaces_cap = w->ifaces ? OUTLET_MAX_IFACES_PER_DATAGRAM : 0};

	decode_datagram(w->decoder, &in, &out, res);
	/* The decoder's state healing itself (rare: one test per datagram). */
	if (res->templates_expired | res->templates_evicted | res->templates_reset |
	    res->exporter_restarts | res->exporters_expired | res->exporters_evicted) {
		metric_add(w->tmpl_removed[0], res->templates_expired);
		metric_add(w->tmpl_removed[1], res->templates_evicted);
		metric_add(w->tmpl_removed[2], res->templates_reset);
		metric_add(w->exp_removed[0], res->exporters_expired);
		metric_add(w->exp_removed[1], res->exporters_evicted);
		metric_add(w->exp_restarts, res->exporter_restarts);
	}
	/* Interface names from options data: the flow-options provider. */
	for (uint32_t i = 0; i < out.ifaces_count; i++)
		enrich_learn_interface(w->outlet->enrich, &res->exporter, w->ifaces[i].ifindex,
				       w->ifaces[i].name, w->ifaces[i].description,
				       w->ifaces[i].speed_mbps);
	return out.count;
}

void outlet_drop_emit(void *ctx, const char *stage, const char *reason,
		      const struct in6_addr *exporter, uint64_t count)
{
	char text[ADDR_TEXT_MAX] = "none";
	const char *msg = "datagrams dropped";

	(void)ctx;
	/* A decoder reason: the datagram was read, in part or not at all. */
	for (int r = 1; r < DECODE_REASON_COUNT; r++)
		if (strcmp(reason, decode_reason_name((enum decode_reason)r)) == 0)
			msg = "datagrams not fully decoded";
	if (exporter)
		addr_to_text(exporter, text, sizeof(text));
	log_warn(msg, "stage=%s reason=%s exporter=%s count=%llu", stage, reason, text,
		 (unsigned long long)count);
}

static void worker_datagram(struct outlet_worker *w, const struct bus_envelope *env)
{
	struct exporter_stats *e = outlet_exporter_get(w, &env->exporter);
	struct decode_result res;
	uint32_t n;

	n = outlet_worker_decode(w, env->data, env->len, &env->exporter, env->time_received_ns, 0,
				 &res);
	/* Once per datagram as received (never for a parked one decoded
	 * again): loss before weir, per exporter and domain. */
	decode_sequence_track(w->decoder, &res);
	outlet_exporter_sequence(w, &res);
	metric_add(e->datagrams, 1);
	atomic_fetch_add_explicit(&w->datagrams, 1, memory_order_relaxed);
	/* Records skipped on purpose: counted apart, never as a decoder event. */
	if (res.skipped_records)
		metric_add(w->skipped_records, res.skipped_records);
	if (res.status != DECODE_OK) {
		uint64_t now = clock_mono_ms();

		atomic_fetch_add_explicit(&w->decode_errors, 1, memory_order_relaxed);
		/* One line per reason and exporter a minute, with the datagrams
		 * each reason touched since the previous line. */
		for (int r = 1; r < DECODE_REASON_COUNT; r++) {
			if (!res.events[r])
				continue;
			outlet_exporter_event(w, e, (enum decode_reason)r, res.events[r]);
			drop_log_note(w->outlet->drops, decode_reason_name((enum decode_reason)r),
				      &env->exporter, 1, now);
		}
	}
	if (n)
		outlet_worker_append(w, e, n);
	else if (res.missing.id)
		outlet_park(w, e, env, &res.missing);
	if (res.templates && e->parked)
		outlet_unpark(w, e, &env->exporter, &res);
}

/* The decoder's size, for the gauges. */
static void worker_decoder_gauges(struct outlet_worker *w)
{
	struct decode_usage u;

	decode_state_usage(w->decoder, &u);
	metric_set(w->state_bytes, (double)u.bytes);
	metric_set(w->state_exporters, u.exporters);
	metric_set(w->state_templates, u.templates);
}

/* ---- the loop ---- */

void *outlet_worker_main(void *arg)
{
	struct outlet_worker *w = arg;
	struct outlet *o = w->outlet;
	uint64_t half = o->consumer_capacity / 2;
	/* Room one poll may need (datagrams of up to ~1500 bytes), capped so a
	 * small ring is not flushed after every poll. */
	uint64_t reserve = o->cfg.batch * 1500 < half / 4 ? o->cfg.batch * 1500 : half / 4;
	LOG_RATELIMIT(poll_rl, 5);

	for (;;) {
		int stopping = atomic_load(&o->stop), n;

		if (stopping && !atomic_load(&o->drain))
			break;
		/* Room for one more poll in what the ring lets us hold? */
		if (half && w->held_polls && w->held_bytes + reserve > half)
			outlet_worker_flush(w, 0);
		n = bus_consumer_poll(w->consumer, w->envs, o->cfg.batch, stopping ? 0 : 100);
		outlet_park_trim(w, 0, clock_mono_ms());
		/* The tail of a burst of drops is said within a few seconds. */
		if (clock_mono_ms() - w->drops_tick_ms >= 5000) {
			w->drops_tick_ms = clock_mono_ms();
			drop_log_tick(o->drops, w->drops_tick_ms);
		}
		if (n < 0) {
			log_write_limited(&poll_rl, LOG_LEVEL_WARN, "bus poll failed",
					  "worker=%u error=%d", w->index, n);
			if (stopping)
				break;
			n = 0;
		}
		if (n > 0) {
			w->held_polls++;
			for (int i = 0; i < n; i++) {
				worker_datagram(w, &w->envs[i]);
				w->held_bytes += w->envs[i].len + OUTLET_RING_OVERHEAD;
			}
			outlet_stage_flush(w);
			worker_decoder_gauges(w);
		} else if (stopping) {
			break; /* drained */
		} else if (w->enricher) {
			/* idle: old lookup tables need not wait for us */
			enrich_worker_quiescent(w->enricher);
		}
		if ((w->held_polls || w->owed) &&
		    (store_writer_due(w->writer, clock_mono_ms()) ||
		     (half && w->held_bytes >= half) ||
		     (w->deferred && (!w->park_live ||
				      clock_mono_ms() - w->deferred_since >= OUTLET_DEFER_MAX_MS))))
			outlet_worker_flush(w, 0);
	}
	if (w->held_polls || w->owed)
		outlet_worker_flush(w, 1);
	return NULL;
}

/* ---- life cycle ---- */

static void worker_decoder_metrics(struct outlet *o, struct outlet_worker *w, const char *label)
{
	static const char *const tmpl[3] = {"expired", "evicted", "restart"};
	static const char *const exp[2] = {"expired", "evicted"};
	const char *values[2] = {label};

	for (int i = 0; i < 3; i++) {
		values[1] = tmpl[i];
		w->tmpl_removed[i] = metrics_counter(
		    o->metrics, "weir_decode_templates_removed_total",
		    "NetFlow v9/IPFIX templates forgotten: idle (expired), room made under a "
		    "per-exporter limit (evicted), their exporter restarted (restart)",
		    "worker,reason", values);
	}
	for (int i = 0; i < 2; i++) {
		values[1] = exp[i];
		w->exp_removed[i] = metrics_counter(
		    o->metrics, "weir_decode_exporters_removed_total",
		    "Exporters whose decoder state was forgotten: silent (expired), room made for "
		    "others under max-exporters or max-bytes-total (evicted)",
		    "worker,reason", values);
	}
	w->exp_restarts =
	    metrics_counter(o->metrics, "weir_decode_exporter_restarts_total",
			    "Exporter restarts seen (sysUptime or sequence going back) per "
			    "observation domain: their templates are dropped",
			    "worker", values);
	w->state_bytes = metrics_gauge(
	    o->metrics, "weir_decode_state_bytes",
	    "Bytes of decoder state (templates, sampling rates, exporters)", "worker", values);
	w->state_exporters = metrics_gauge(o->metrics, "weir_decode_state_exporters",
					   "Exporters in the decoder state", "worker", values);
	w->state_templates = metrics_gauge(o->metrics, "weir_decode_state_templates",
					   "Templates in the decoder state", "worker", values);
}

void outlet_worker_fini(struct outlet_worker *w)
{
	if (w->writer)
		store_writer_free(w->writer);
	enrich_worker_free(w->enricher);
	if (w->decoder)
		decode_state_free(w->decoder);
	bus_consumer_free(w->consumer);
	free(w->envs);
	free(w->flows);
	free(w->runs);
	free(w->ifaces);
	outlet_exporters_fini(w);
	outlet_park_fini(w);
}

int outlet_worker_init(struct outlet *o, struct outlet_worker *w, unsigned index)
{
	char label[16];
	const char *values[] = {label};
	int ret;

	w->outlet = o;
	w->index = index;
	w->envs = calloc(o->cfg.batch, sizeof(*w->envs));
	w->flows = calloc(OUTLET_STAGE_FLOWS + OUTLET_MAX_FLOWS_PER_DATAGRAM, sizeof(*w->flows));
	/* (a run per datagram at most, and a datagram gives a flow at least) */
	w->runs = calloc(OUTLET_STAGE_FLOWS + 1, sizeof(*w->runs));
	decode_state_new(&o->decode_cfg, &w->decoder, NULL); /* NULL on failure */
	if (outlet_exporters_init(w) < 0 || outlet_park_init(w) < 0 || !w->envs || !w->flows ||
	    !w->runs || !w->decoder)
		return -ENOMEM;
	snprintf(label, sizeof(label), "%u", index);
	w->flushes = metrics_counter(o->metrics, "weir_outlet_flushes_total",
				     "Batches ClickHouse acknowledged", "worker", values);
	w->flush_errors =
	    metrics_counter(o->metrics, "weir_outlet_flush_errors_total",
			    "Batches given up (datagrams not committed)", "worker", values);
	w->flush_ms_total = metrics_counter(
	    o->metrics, "weir_outlet_flush_milliseconds_total",
	    "Time spent waiting for ClickHouse to acknowledge batches", "worker", values);
	w->flows_dropped = metrics_counter(
	    o->metrics, "weir_outlet_flows_dropped_total",
	    "Decoded flows the ClickHouse writer refused (see the log)", "worker", values);
	w->parked = metrics_counter(o->metrics, "weir_outlet_parked_total",
				    "Datagrams parked until their exporter sends the template",
				    "worker", values);
	w->unparked =
	    metrics_counter(o->metrics, "weir_outlet_unparked_total",
			    "Parked datagrams decoded once their template came", "worker", values);
	w->park_redecoded =
	    metrics_counter(o->metrics, "weir_outlet_parked_decodes_total",
			    "Decodes of parked datagrams, each when the template it waits for came",
			    "worker", values);
	worker_decoder_metrics(o, w, label);
	w->skipped_records =
	    metrics_counter(o->metrics, "weir_outlet_skipped_records_total",
			    "sFlow flow records skipped because weir has no use for them "
			    "(extended records without a column, other formats): not an error",
			    "worker", values);
	if (o->enrich &&
	    (enrich_worker_new(o->enrich, &w->enricher, NULL) < 0 ||
	     !(w->ifaces = calloc(OUTLET_MAX_IFACES_PER_DATAGRAM, sizeof(*w->ifaces)))))
		return -ENOMEM;
	ret = store_writer_new(o->store, o->metrics, &w->writer, NULL);
	if (ret == 0 && o->consumer_capacity) /* the ring: this process's writers are all */
		store_writer_journal(w->writer);
	if (ret == 0 && o->enrich)
		ret = store_writer_set_strings(w->writer, enrich_strings(o->enrich), NULL);
	return ret;
}
