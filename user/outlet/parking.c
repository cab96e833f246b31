// SPDX-License-Identifier: AGPL-3.0-or-later
/* Datagrams waiting for their template. A data set whose template is not
 * known yet cannot be read. That happens to every datagram a restarted
 * outlet reads from Kafka before the exporter sends its templates again
 * (they were in datagrams committed long ago), and when UDP reorders a
 * template behind its data. Such datagrams are parked (copied, bounded:
 * OUTLET_PARK_SLOTS per worker, OUTLET_PARK_MAX_MS) under the template they
 * miss (exporter, version, domain, id: the decoder says which) and decoded
 * again only when that template comes, so a template storm costs one decode
 * per parked datagram, not one per template. With Kafka, offsets are not
 * committed while a datagram is parked (commit.c), so a crash then replays
 * it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/drop_log.h"
#include "outlet_internal.h"

static const char *const park_drop_metric[PARK_DROP_COUNT] = {
    [PARK_DROP_EXPIRED] = "expired",
    [PARK_DROP_FULL] = "full",
    [PARK_DROP_TOO_LARGE] = "too_large",
};
static const char *const park_drop_log[PARK_DROP_COUNT] = {
    [PARK_DROP_EXPIRED] = "parked_expired",
    [PARK_DROP_FULL] = "parked_full",
    [PARK_DROP_TOO_LARGE] = "parked_too_large",
};

int outlet_park_init(struct outlet_worker *w)
{
	w->park = calloc(OUTLET_PARK_SLOTS, sizeof(*w->park));
	w->park_data = malloc((size_t)OUTLET_PARK_SLOTS * OUTLET_PARK_SLOT_SIZE);
	w->park_bhead = malloc(OUTLET_PARK_BUCKETS * sizeof(*w->park_bhead));
	w->park_btail = malloc(OUTLET_PARK_BUCKETS * sizeof(*w->park_btail));
	if (!w->park || !w->park_data || !w->park_bhead || !w->park_btail)
		return -ENOMEM;
	for (size_t i = 0; i < OUTLET_PARK_BUCKETS; i++)
		w->park_bhead[i] = w->park_btail[i] = OUTLET_PARK_NONE;
	return 0;
}

void outlet_park_fini(struct outlet_worker *w)
{
	free(w->park);
	free(w->park_data);
	free(w->park_bhead);
	free(w->park_btail);
}

static struct park_slot *park_at(struct outlet_worker *w, size_t i)
{
	return &w->park[(w->park_head + i) % OUTLET_PARK_SLOTS];
}

static uint8_t *park_bytes(struct outlet_worker *w, const struct park_slot *s)
{
	return w->park_data + (size_t)(s - w->park) * OUTLET_PARK_SLOT_SIZE;
}

static uint32_t park_bucket(const struct in6_addr *a, const struct decode_template_key *k)
{
	uint64_t key = (uint64_t)k->domain << 24 | (uint64_t)k->version << 16 | k->id;

	return (uint32_t)(addr_hash64(a, key) & (OUTLET_PARK_BUCKETS - 1));
}

static int park_key_eq(const struct decode_template_key *a, const struct decode_template_key *b)
{
	return a->domain == b->domain && a->id == b->id && a->version == b->version;
}

/* Chains `s` at the tail of its key's bucket (oldest first). */
static void park_link(struct outlet_worker *w, struct park_slot *s)
{
	uint32_t i = (uint32_t)(s - w->park);

	s->bucket = park_bucket(&s->exporter, &s->key);
	s->bnext = OUTLET_PARK_NONE;
	s->bprev = w->park_btail[s->bucket];
	if (s->bprev == OUTLET_PARK_NONE)
		w->park_bhead[s->bucket] = i;
	else
		w->park[s->bprev].bnext = i;
	w->park_btail[s->bucket] = i;
}

static void park_unlink(struct outlet_worker *w, struct park_slot *s)
{
	if (s->bprev == OUTLET_PARK_NONE)
		w->park_bhead[s->bucket] = s->bnext;
	else
		w->park[s->bprev].bnext = s->bnext;
	if (s->bnext == OUTLET_PARK_NONE)
		w->park_btail[s->bucket] = s->bprev;
	else
		w->park[s->bnext].bprev = s->bprev;
	s->bprev = s->bnext = OUTLET_PARK_NONE;
}

/* Counts a drop for `e` (its series made on first use) and logs it. */
static void park_drop(struct outlet_worker *w, struct exporter_stats *e,
		      const struct in6_addr *addr, enum park_drop why, uint64_t now)
{
	if (!e->park_dropped[why]) {
		char text[ADDR_TEXT_MAX];
		const char *values[2] = {text, park_drop_metric[why]};

		if (e == &w->other)
			strcpy(text, "other");
		else
			addr_to_text(addr, text, sizeof(text));
		e->park_dropped[why] = metrics_series(w->outlet->fam_park_dropped, values);
	}
	metric_add(e->park_dropped[why], 1);
	/* One line a minute per exporter and reason (the outlet's drop log). */
	drop_log_note(w->outlet->drops, park_drop_log[why], addr, 1, now);
}

/* A live slot leaves: decoded (or dropped by the caller). */
static void park_release(struct outlet_worker *w, struct park_slot *s)
{
	park_unlink(w, s);
	s->live = 0;
	s->e->parked--;
	w->park_live--;
}

void outlet_park_trim(struct outlet_worker *w, int drop, uint64_t now)
{
	while (w->park_count) {
		struct park_slot *s = park_at(w, 0);

		if (s->live) {
			enum park_drop why = drop ? PARK_DROP_FULL : PARK_DROP_EXPIRED;

			if (!drop && now - s->parked_ms < OUTLET_PARK_MAX_MS)
				break;
			drop = 0;
			park_release(w, s);
			park_drop(w, s->e, &s->exporter, why, now);
		}
		w->park_head = (w->park_head + 1) % OUTLET_PARK_SLOTS;
		w->park_count--;
	}
}

void outlet_park(struct outlet_worker *w, struct exporter_stats *e, const struct bus_envelope *env,
		 const struct decode_template_key *missing)
{
	uint64_t now = clock_mono_ms();
	struct park_slot *s;

	if (env->len > OUTLET_PARK_SLOT_SIZE) {
		park_drop(w, e, &env->exporter, PARK_DROP_TOO_LARGE, now);
		return;
	}
	outlet_park_trim(w, 0, now);
	if (w->park_count == OUTLET_PARK_SLOTS)
		outlet_park_trim(w, 1, now); /* full: the oldest goes */
	s = park_at(w, w->park_count);
	*s = (struct park_slot){
	    .exporter = env->exporter,
	    .time_ns = env->time_received_ns,
	    .parked_ms = now,
	    .len = env->len,
	    .live = 1,
	    .e = e,
	    .key = *missing,
	};
	memcpy(park_bytes(w, s), env->data, env->len);
	park_link(w, s);
	w->park_count++;
	w->park_live++;
	e->parked++;
	metric_add(w->parked, 1);
}

/* Decodes parked `s` again (its template came). Done with it unless it gave
 * nothing for want of another template: then it waits for that one. */
static void park_decode(struct outlet_worker *w, struct park_slot *s)
{
	struct decode_result res;
	uint32_t n;

	n = outlet_worker_decode(w, park_bytes(w, s), s->len, &s->exporter, s->time_ns, 1, &res);
	atomic_fetch_add_explicit(&w->park_decodes, 1, memory_order_relaxed);
	metric_add(w->park_redecoded, 1);
	if (!n && res.missing.id) {
		if (!park_key_eq(&res.missing, &s->key)) {
			park_unlink(w, s);
			s->key = res.missing;
			park_link(w, s);
		}
		return;
	}
	park_release(w, s);
	metric_add(w->unparked, 1);
	if (n)
		outlet_worker_append(w, s->e, n);
}

void outlet_unpark(struct outlet_worker *w, struct exporter_stats *e, const struct in6_addr *addr,
		   const struct decode_result *res)
{
	if (!e->parked)
		return;
	if (res->taught_overflow) {
		/* More templates than the result lists (a rare datagram):
		 * every datagram the exporter parked is decoded again. */
		for (size_t i = 0; i < w->park_count && e->parked; i++) {
			struct park_slot *s = park_at(w, i);

			if (s->live && s->e == e && memcmp(&s->exporter, addr, sizeof(*addr)) == 0)
				park_decode(w, s);
		}
		outlet_park_trim(w, 0, clock_mono_ms());
		return;
	}
	for (uint32_t k = 0; k < res->ntaught && e->parked; k++) {
		const struct decode_template_key *key = &res->taught[k];
		uint32_t i = w->park_bhead[park_bucket(addr, key)];

		while (i != OUTLET_PARK_NONE) {
			struct park_slot *s = &w->park[i];

			i = s->bnext; /* (s may move to another chain, or leave) */
			if (park_key_eq(&s->key, key) &&
			    memcmp(&s->exporter, addr, sizeof(*addr)) == 0)
				park_decode(w, s);
		}
	}
	outlet_park_trim(w, 0, clock_mono_ms());
}
