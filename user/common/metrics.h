/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Metrics registry, exposed in the Prometheus text format (version 0.0.4).
 * Families are declared once; a series (one set of label values) is looked up
 * or created once, off the hot path, and then updated through the pointer it
 * returns with one atomic add. Series live as long as the registry. */
#ifndef WEIR_COMMON_METRICS_H
#define WEIR_COMMON_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

#define METRICS_MAX_LABELS 4

enum metric_type {
	METRIC_COUNTER,
	METRIC_GAUGE,
};

struct metrics_registry;
struct metric_family;

/* One series. Counters use `count`, gauges `value_bits` (a double's bits). */
struct metric_series {
	_Atomic uint64_t count;
	_Atomic uint64_t value_bits;
};

/* Returns 0 with an empty registry in *out, or -ENOMEM with *out = NULL and
 * `err` filled. Free it with metrics_registry_free() (NULL is fine) once
 * nothing uses its series any more. */
int metrics_registry_new(struct metrics_registry **out, struct error *err);
void metrics_registry_free(struct metrics_registry *reg);

/* Declares (or returns the existing) family. `labels` is a comma-separated
 * list of label names ("exporter,reason"), or NULL for none. Names should
 * start with "weir_". Returns NULL on allocation failure. Thread-safe. */
struct metric_family *metrics_family(struct metrics_registry *reg, const char *name,
				     const char *help, enum metric_type type, const char *labels);

/* Returns the series for `values` (as many as the family has labels), made
 * on first use. NULL on allocation failure. Thread-safe; takes a lock: keep
 * the pointer instead of calling this per packet. */
struct metric_series *metrics_series(struct metric_family *fam, const char *const *values);

/* Both in one call, for a family that gets its series in one place: declares
 * the counter (gauge) family `name` as metrics_family() does and returns the
 * series for `values` as metrics_series() does. `labels` and `values` may be
 * NULL for a family without labels. NULL on allocation failure (a NULL
 * series is a valid, inert argument to metric_add() and metric_set()). */
struct metric_series *metrics_counter(struct metrics_registry *reg, const char *name,
				      const char *help, const char *labels,
				      const char *const *values);
struct metric_series *metrics_gauge(struct metrics_registry *reg, const char *name,
				    const char *help, const char *labels,
				    const char *const *values);

static inline void metric_add(struct metric_series *s, uint64_t n)
{
	if (s)
		atomic_fetch_add_explicit(&s->count, n, memory_order_relaxed);
}

static inline void metric_set(struct metric_series *s, double v)
{
	union {
		double d;
		uint64_t u;
	} bits = {.d = v};
	if (s)
		atomic_store_explicit(&s->value_bits, bits.u, memory_order_relaxed);
}

static inline uint64_t metric_get_count(const struct metric_series *s)
{
	return s ? atomic_load_explicit(&s->count, memory_order_relaxed) : 0;
}

double metric_get_value(const struct metric_series *s);

/* A collector is called at each exposition before the families are written,
 * to refresh values read from elsewhere (BPF maps, kernel counters). */
typedef void (*metrics_collect_fn)(void *ctx);
int metrics_add_collector(struct metrics_registry *reg, metrics_collect_fn fn, void *ctx);
/* Removes a collector added with the same fn and ctx; when it returns, that
 * collector is not running and will not run again, so ctx may be freed. */
void metrics_remove_collector(struct metrics_registry *reg, metrics_collect_fn fn, void *ctx);

/* Writes every family in the text format. Returns 0 or -errno. */
int metrics_write(struct metrics_registry *reg, FILE *out);

/* Same into a malloc'd buffer (*buf, *len), for HTTP handlers. Caller frees. */
int metrics_render(struct metrics_registry *reg, char **buf, size_t *len);

#endif
