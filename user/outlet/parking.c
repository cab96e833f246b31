// SPDX-License-Identifier: AGPL-3.0-or-later
/* Datagrams waiting for their template. A data set whose template is not
 * known yet cannot be read. That happens to every datagram a restarted
 * outlet reads from Kafka before the exporter sends its templates again
 * (they were in datagrams committed long ago), and when UDP reorders a
 * template behind its data. Such datagrams are parked (copied, bounded:
 * OUTLET_PARK_SLOTS per worker, OUTLET_PARK_MAX_MS) and decoded again as
 * soon as their exporter teaches templates. With Kafka, offsets are not
 * committed while a datagram is parked (commit.c), so a crash then replays
 * it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/log.h"
#include "outlet_internal.h"

int outlet_park_init(struct outlet_worker *w)
{
	w->park = calloc(OUTLET_PARK_SLOTS, sizeof(*w->park));
	w->park_data = malloc((size_t)OUTLET_PARK_SLOTS * OUTLET_PARK_SLOT_SIZE);
	return w->park && w->park_data ? 0 : -ENOMEM;
}

void outlet_park_fini(struct outlet_worker *w)
{
	free(w->park);
	free(w->park_data);
}

static struct park_slot *park_at(struct outlet_worker *w, size_t i)
{
	return &w->park[(w->park_head + i) % OUTLET_PARK_SLOTS];
}

void outlet_park_trim(struct outlet_worker *w, int drop, uint64_t now)
{
	while (w->park_count) {
		struct park_slot *s = park_at(w, 0);

		if (s->live) {
			if (!drop && now - s->parked_ms < OUTLET_PARK_MAX_MS)
				break;
			s->live = 0;
			s->e->parked--;
			w->park_live--;
			metric_add(w->park_dropped, 1);
			/* One line a minute per exporter (outlet drop log). */
			drop_log_note(w->outlet->drops, drop ? "parked_no_room" : "parked_expired",
				      &s->exporter, 1, now);
			drop = 0;
		}
		w->park_head = (w->park_head + 1) % OUTLET_PARK_SLOTS;
		w->park_count--;
	}
}

void outlet_park(struct outlet_worker *w, struct exporter_stats *e, const struct bus_envelope *env)
{
	struct park_slot *s;

	if (env->len > OUTLET_PARK_SLOT_SIZE) {
		metric_add(w->park_dropped, 1);
		return;
	}
	outlet_park_trim(w, 0, clock_mono_ms());
	if (w->park_count == OUTLET_PARK_SLOTS)
		outlet_park_trim(w, 1, clock_mono_ms()); /* full: the oldest goes */
	s = park_at(w, w->park_count);
	*s = (struct park_slot){
	    .exporter = env->exporter,
	    .time_ns = env->time_received_ns,
	    .parked_ms = clock_mono_ms(),
	    .len = env->len,
	    .live = 1,
	    .e = e,
	};
	memcpy(w->park_data + (size_t)(s - w->park) * OUTLET_PARK_SLOT_SIZE, env->data, env->len);
	w->park_count++;
	w->park_live++;
	e->parked++;
	metric_add(w->parked, 1);
}

void outlet_unpark(struct outlet_worker *w, struct exporter_stats *e)
{
	for (size_t i = 0; i < w->park_count && e->parked; i++) {
		struct park_slot *s = park_at(w, i);
		struct decode_result res;
		uint32_t n;

		if (!s->live || s->e != e)
			continue;
		n = outlet_worker_decode(
		    w, w->park_data + (size_t)(s - w->park) * OUTLET_PARK_SLOT_SIZE, s->len,
		    &s->exporter, s->time_ns, &res);
		if (!n && res.events[DECODE_UNKNOWN_TEMPLATE])
			continue; /* still not its template */
		s->live = 0;
		e->parked--;
		w->park_live--;
		metric_add(w->unparked, 1);
		if (n)
			outlet_worker_append(w, e, n);
	}
	outlet_park_trim(w, 0, clock_mono_ms());
}
