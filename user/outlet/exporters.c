// SPDX-License-Identifier: AGPL-3.0-or-later
/* The outlet's per-exporter state, one table per worker: the metric series
 * of each exporter it sees, and the flows it appended that ClickHouse has
 * not acknowledged yet. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "outlet_internal.h"

int outlet_exporters_init(struct outlet_worker *w)
{
	/* Preallocated: entries never move, so the pointers kept to their
	 * values stay valid (no entry is ever removed either). */
	const struct exporter_table_config cfg = {
	    .value_size = sizeof(struct exporter_stats),
	    .max_entries = OUTLET_MAX_TRACKED_EXPORTERS,
	    .prealloc = 1,
	};

	/* Streams grow as they come and are never removed (their series live
	 * as long as the registry, so forgetting one would not bound them). */
	const struct exporter_table_config scfg = {
	    .value_size = sizeof(struct stream_stats),
	    .max_entries = OUTLET_MAX_TRACKED_STREAMS,
	};

	w->dirty = calloc(OUTLET_MAX_TRACKED_EXPORTERS + 1, sizeof(*w->dirty));
	if (exporter_table_init(&w->exporters, &cfg, NULL) < 0 || !w->dirty ||
	    exporter_table_init(&w->streams, &scfg, NULL) < 0)
		return -ENOMEM;
	return 0;
}

void outlet_exporters_fini(struct outlet_worker *w)
{
	exporter_table_fini(&w->exporters);
	exporter_table_fini(&w->streams);
	free(w->dirty);
}

static void exporter_series(struct outlet *o, struct exporter_stats *e, const char *label)
{
	const char *values[] = {label};

	e->datagrams = metrics_series(o->fam_datagrams, values);
	e->flows = metrics_series(o->fam_flows, values);
	e->stored = metrics_series(o->fam_stored, values);
}

struct exporter_stats *outlet_exporter_get(struct outlet_worker *w, const struct in6_addr *a)
{
	int created;
	struct exporter_entry *x = exporter_table_get(&w->exporters, a, 0, &created);
	struct exporter_stats *e;
	char text[ADDR_TEXT_MAX];

	/* Past OUTLET_MAX_TRACKED_EXPORTERS, one shared series. */
	if (!x) {
		if (!w->other.used) {
			w->other.used = 1;
			exporter_series(w->outlet, &w->other, "other");
		}
		return &w->other;
	}
	e = (struct exporter_stats *)x->value;
	if (created) {
		addr_to_text(a, text, sizeof(text));
		exporter_series(w->outlet, e, text);
	}
	return e;
}

const struct in6_addr *outlet_exporter_addr(const struct outlet_worker *w,
					    const struct exporter_stats *e)
{
	if (e == &w->other)
		return &in6addr_any;
	return &exporter_entry_of((void *)e)->addr;
}

void outlet_exporter_event(struct outlet_worker *w, struct exporter_stats *e,
			   enum decode_reason reason, uint32_t n)
{
	if (!e->events[reason]) {
		char text[ADDR_TEXT_MAX];
		const char *values[2] = {text, decode_reason_name(reason)};

		if (e == &w->other)
			strcpy(text, "other");
		else
			addr_to_text(&exporter_entry_of(e)->addr, text, sizeof(text));
		e->events[reason] = metrics_series(w->outlet->fam_events, values);
	}
	metric_add(e->events[reason], n);
}

/* The series of one stream and one family, made on first use: labels
 * exporter, domain (and unit when `unit` is not NULL). */
static struct metric_series *stream_series(struct outlet_worker *w, const char *exporter,
					   const char *domain, const char *unit, const char *name,
					   const char *help)
{
	const char *values[3] = {exporter, domain, unit};

	return metrics_counter(w->outlet->metrics, name, help,
			       unit ? "exporter,domain,unit" : "exporter,domain", values);
}

void outlet_exporter_sequence(struct outlet_worker *w, const struct decode_result *res)
{
	const struct decode_sequence *q = &res->seq;
	struct exporter_entry *x;
	struct stream_stats *s;
	char text[ADDR_TEXT_MAX], domain[16];
	unsigned unit = (unsigned)q->unit;

	if (q->unit == DECODE_SEQ_NONE || unit >= sizeof(s->lost) / sizeof(s->lost[0]))
		return;
	x = exporter_table_get(&w->streams, &res->exporter, q->domain, NULL);
	/* Past OUTLET_MAX_TRACKED_STREAMS, one shared set of series. */
	s = x ? (struct stream_stats *)x->value : &w->other_stream;
	/* Series are made the first time each is needed: "lost" on the
	 * stream's first datagram (a 0 says the stream is tracked), the others
	 * when they happen. */
	if (!s->lost[unit] || (q->out_of_order && !s->out_of_order) || (q->reset && !s->resets)) {
		if (x) {
			addr_to_text(&res->exporter, text, sizeof(text));
			snprintf(domain, sizeof(domain), "%u", q->domain);
		} else {
			strcpy(text, "other");
			strcpy(domain, "other");
		}
		if (!s->lost[unit])
			s->lost[unit] = stream_series(
			    w, text, domain, decode_seq_unit_name(q->unit),
			    "weir_outlet_sequence_lost_total",
			    "Flows (NetFlow v5), data records (IPFIX) or datagrams (NetFlow v9, "
			    "sFlow) lost before weir: gaps in the exporters' sequence numbers, per "
			    "exporter and observation domain");
		if (q->out_of_order && !s->out_of_order)
			s->out_of_order = stream_series(
			    w, text, domain, NULL, "weir_outlet_sequence_out_of_order_total",
			    "Datagrams behind their stream's sequence number (late or duplicated), "
			    "per exporter and observation domain");
		if (q->reset && !s->resets)
			s->resets = stream_series(
			    w, text, domain, NULL, "weir_outlet_sequence_resets_total",
			    "Times an exporter's sequence started over (a restart): "
			    "not counted as loss");
	}
	metric_add(s->lost[unit], q->lost);
	if (q->out_of_order)
		metric_add(s->out_of_order, 1);
	if (q->reset)
		metric_add(s->resets, 1);
}
