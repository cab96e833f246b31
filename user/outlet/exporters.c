// SPDX-License-Identifier: AGPL-3.0-or-later
/* The outlet's per-exporter state, one table per worker: the metric series
 * of each exporter it sees, and the flows it appended that ClickHouse has
 * not acknowledged yet. */
#include <errno.h>
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

	w->dirty = calloc(OUTLET_MAX_TRACKED_EXPORTERS + 1, sizeof(*w->dirty));
	if (exporter_table_init(&w->exporters, &cfg, NULL) < 0 || !w->dirty)
		return -ENOMEM;
	return 0;
}

void outlet_exporters_fini(struct outlet_worker *w)
{
	exporter_table_fini(&w->exporters);
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
