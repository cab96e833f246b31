/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Reading the Prometheus text format (what /metrics serves, metrics.h writes)
 * back into samples, for `weir stats` and for tools that look at a running
 * weir. Comments (# HELP, # TYPE) are skipped. */
#ifndef WEIR_COMMON_METRICS_TEXT_H
#define WEIR_COMMON_METRICS_TEXT_H

#include <stddef.h>

#include "error.h"

#define METRICS_TEXT_MAX_LABELS 8

/* One line: name{key="value",...} value. Strings point into the parse's
 * own buffer (escapes undone). */
struct metrics_sample {
	const char *name;
	size_t nlabels;
	const char *keys[METRICS_TEXT_MAX_LABELS];
	const char *values[METRICS_TEXT_MAX_LABELS];
	double value;
};

/* Caller-owned; metrics_text_fini() frees what a parse made. */
struct metrics_text {
	struct metrics_sample *samples;
	size_t count;
	char *buf; /* the copy the samples point into */
};

/* Parses `len` bytes of exposition text. Returns 0, -EINVAL with `err`
 * naming the first line that is not a sample ("metrics line 12: ..."), or
 * -ENOMEM. On failure `m` holds nothing (no fini needed, though it is
 * accepted). */
int metrics_text_parse(struct metrics_text *m, const char *text, size_t len, struct error *err);
/* Frees the samples; a zeroed `m` is fine. */
void metrics_text_fini(struct metrics_text *m);

/* The value of label `key` of `s`, or NULL when it has none. */
const char *metrics_sample_label(const struct metrics_sample *s, const char *key);

#endif
