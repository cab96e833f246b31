// SPDX-License-Identifier: AGPL-3.0-or-later
/* The outlet's per-exporter state, one table per worker: the metric series
 * of each exporter it sees, and the flows it appended that ClickHouse has
 * not acknowledged yet. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "outlet_internal.h"

static size_t addr_hash(const struct in6_addr *a)
{
	uint64_t lo, hi;

	memcpy(&hi, a->s6_addr, 8);
	memcpy(&lo, a->s6_addr + 8, 8);
	lo = (lo ^ (hi * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
	return (size_t)(lo ^ (lo >> 31));
}

int outlet_exporters_init(struct outlet_worker *w)
{
	size_t tsize = 1;

	while (tsize < 2 * OUTLET_MAX_TRACKED_EXPORTERS)
		tsize <<= 1;
	w->exporters = calloc(tsize, sizeof(*w->exporters));
	w->exporters_mask = tsize - 1;
	w->dirty = calloc(OUTLET_MAX_TRACKED_EXPORTERS + 1, sizeof(*w->dirty));
	return w->exporters && w->dirty ? 0 : -ENOMEM;
}

void outlet_exporters_fini(struct outlet_worker *w)
{
	free(w->exporters);
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
	size_t i = addr_hash(a) & w->exporters_mask;
	struct exporter_stats *e;
	char text[ADDR_TEXT_MAX];

	for (;;) {
		e = &w->exporters[i];
		if (!e->used)
			break;
		if (memcmp(&e->addr, a, sizeof(*a)) == 0)
			return e;
		i = (i + 1) & w->exporters_mask;
	}
	/* Keep the table at most half full; past that, one shared series. */
	if (w->exporters_used >= OUTLET_MAX_TRACKED_EXPORTERS) {
		if (!w->other.used) {
			w->other.used = 1;
			exporter_series(w->outlet, &w->other, "other");
		}
		return &w->other;
	}
	e->used = 1;
	e->addr = *a;
	w->exporters_used++;
	addr_to_text(a, text, sizeof(text));
	exporter_series(w->outlet, e, text);
	return e;
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
			addr_to_text(&e->addr, text, sizeof(text));
		e->events[reason] = metrics_series(w->outlet->fam_events, values);
	}
	metric_add(e->events[reason], n);
}
