/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* `weir stats`'s summary for a person, from a running weir's /metrics:
 * inputs (received, kernel drops, XDP outcomes), rings (sent, full, fill),
 * exporters sorted by loss (datagrams, flows, drops by reason, sequence
 * numbers lost before weir, out of order), store and enrichment. */
#ifndef WEIR_COMMON_STATS_SUMMARY_H
#define WEIR_COMMON_STATS_SUMMARY_H

#include <stdio.h>

#include "metrics_text.h"

/* Exporters listed before the rest are only counted. */
#define STATS_SUMMARY_MAX_EXPORTERS 50

/* Writes the summary of the samples in `m` to `out`; metrics it does not
 * know still show: a counter with an `exporter` label and a `reason` (or a
 * drop in its name) among the exporter's drops, a ring's other series beside
 * it. Returns 0, or -ENOMEM. */
int stats_summary_write(const struct metrics_text *m, FILE *out);

#endif
