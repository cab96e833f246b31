// SPDX-License-Identifier: AGPL-3.0-or-later
/* The drop log (drop_log.h): an exporter table keyed by (exporter, reason
 * number), each entry holding the count not yet said and when its key last
 * spoke. */
#include "drop_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "exporter_table.h"
#include "log.h"

#define MAX_REASONS 32

struct drop_entry {
	uint64_t pending;      /* drops since the last line */
	uint64_t last_line_ms; /* when the last line was said */
	int spoke;	       /* a line was said for this key */
};

struct drop_log {
	struct drop_log_config cfg;
	pthread_mutex_t lock;
	struct exporter_table keys;
	const char *reasons[MAX_REASONS];
	unsigned nreasons;
};

static const struct in6_addr no_exporter; /* :: stands for "no exporter" */

static void emit_default(void *ctx, const char *stage, const char *reason,
			 const struct in6_addr *exporter, uint64_t count)
{
	char text[ADDR_TEXT_MAX] = "none";

	(void)ctx;
	if (exporter)
		addr_to_text(exporter, text, sizeof(text));
	log_warn("datagrams dropped", "stage=%s reason=%s exporter=%s count=%llu", stage, reason,
		 text, (unsigned long long)count);
}

static void say(struct drop_log *d, struct exporter_entry *e, uint64_t now_ms)
{
	struct drop_entry *v = (struct drop_entry *)e->value;
	int none = memcmp(&e->addr, &no_exporter, sizeof(no_exporter)) == 0;

	d->cfg.emit(d->cfg.ctx, d->cfg.stage, d->reasons[e->domain], none ? NULL : &e->addr,
		    v->pending);
	v->pending = 0;
	v->last_line_ms = now_ms;
	v->spoke = 1;
}

/* An evicted key says what it still owes: no count is ever lost. */
static void on_evict(void *ctx, struct exporter_entry *e)
{
	struct drop_log *d = ctx;

	if (((struct drop_entry *)e->value)->pending)
		say(d, e, 0);
}

int drop_log_new(const struct drop_log_config *cfg, struct drop_log **out, struct error *err)
{
	struct exporter_table_config tc = {.value_size = sizeof(struct drop_entry), .evict = 1};
	struct drop_log *d;
	int r;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return error_set(err, -ENOMEM, "out of memory");
	d->cfg = *cfg;
	if (!d->cfg.stage)
		d->cfg.stage = "weir";
	if (!d->cfg.interval_ms)
		d->cfg.interval_ms = 60000;
	if (!d->cfg.max_keys)
		d->cfg.max_keys = 4096;
	if (!d->cfg.emit)
		d->cfg.emit = emit_default;
	tc.max_entries = d->cfg.max_keys;
	tc.on_evict = on_evict;
	tc.ctx = d;
	r = exporter_table_init(&d->keys, &tc, err);
	if (r < 0) {
		free(d);
		return r;
	}
	pthread_mutex_init(&d->lock, NULL);
	*out = d;
	return 0;
}

void drop_log_free(struct drop_log *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < exporter_table_count(&d->keys); i++) {
		struct exporter_entry *e = exporter_table_at(&d->keys, i);

		if (((struct drop_entry *)e->value)->pending)
			say(d, e, 0);
	}
	exporter_table_fini(&d->keys);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* The number of `reason`, added on first sight; MAX_REASONS - 1 collects
 * the reasons past the bound (a caller bug, but still counted). */
static uint32_t reason_number(struct drop_log *d, const char *reason)
{
	for (unsigned i = 0; i < d->nreasons; i++)
		if (d->reasons[i] == reason || strcmp(d->reasons[i], reason) == 0)
			return i;
	if (d->nreasons == MAX_REASONS - 1) {
		d->reasons[MAX_REASONS - 1] = "other";
		return MAX_REASONS - 1;
	}
	d->reasons[d->nreasons] = reason;
	return d->nreasons++;
}

void drop_log_note(struct drop_log *d, const char *reason, const struct in6_addr *exporter,
		   uint64_t n, uint64_t now_ms)
{
	struct exporter_entry *e;
	struct drop_entry *v;

	if (!d || !n)
		return;
	pthread_mutex_lock(&d->lock);
	e = exporter_table_get(&d->keys, exporter ? exporter : &no_exporter,
			       reason_number(d, reason ? reason : "unknown"), NULL);
	if (e) {
		v = (struct drop_entry *)e->value;
		v->pending += n;
		e->last_seen = now_ms;
		if (!v->spoke || now_ms - v->last_line_ms >= d->cfg.interval_ms)
			say(d, e, now_ms);
	}
	pthread_mutex_unlock(&d->lock);
}

void drop_log_tick(struct drop_log *d, uint64_t now_ms)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < exporter_table_count(&d->keys); i++) {
		struct exporter_entry *e = exporter_table_at(&d->keys, i);
		struct drop_entry *v = (struct drop_entry *)e->value;

		if (v->pending && now_ms - v->last_line_ms >= d->cfg.interval_ms)
			say(d, e, now_ms);
	}
	pthread_mutex_unlock(&d->lock);
}
