/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Drop reports for people: at most one log line per (reason, exporter) per
 * interval (a minute by default), carrying the count since the previous
 * line, so that a flood of drops shows in the logs without flooding them.
 * The /metrics counters stay the caller's; this is only the log. */
#ifndef WEIR_COMMON_DROP_LOG_H
#define WEIR_COMMON_DROP_LOG_H

#include <netinet/in.h>
#include <stdint.h>

#include "error.h"

struct drop_log_config {
	const char *stage;    /* the stage= of each line ("inlet", "outlet"...); borrowed */
	uint64_t interval_ms; /* at most one line per key per interval; 0: 60000 */
	size_t max_keys;      /* (reason, exporter) pairs remembered; 0: 4096. Past
			       * it the stalest pair is logged at once and forgotten. */
	/* Where lines go; NULL: log_warn("datagrams dropped", ...). `exporter`
	 * is NULL for drops tied to no exporter; `count` is what happened since
	 * the previous line of this key. Called with the drop log's lock held:
	 * it must not call back into the drop log. */
	void (*emit)(void *ctx, const char *stage, const char *reason,
		     const struct in6_addr *exporter, uint64_t count);
	void *ctx;
};

struct drop_log;

/* Returns 0 with *out set, or -errno with *out NULL and `err` filled. */
int drop_log_new(const struct drop_log_config *cfg, struct drop_log **out, struct error *err);
/* Logs the counts not yet said, then frees. NULL is fine. */
void drop_log_free(struct drop_log *d);

/* Counts n drops of `reason` (a string that lives as long as the drop log,
 * typically a literal; at most 32 different ones) for `exporter` (NULL: tied
 * to no exporter). The first drop of a key is logged at once; later ones
 * join the count of the key's next line, said once `interval_ms` has passed
 * since its previous line (by this call or drop_log_tick()). now_ms is any
 * monotonic clock in ms. Thread-safe (one mutex). */
void drop_log_note(struct drop_log *d, const char *reason, const struct in6_addr *exporter,
		   uint64_t n, uint64_t now_ms);
/* Says the counts pending for keys whose interval has passed, so the tail of
 * a burst is not left unsaid; call it every few seconds. Thread-safe. */
void drop_log_tick(struct drop_log *d, uint64_t now_ms);

#endif
