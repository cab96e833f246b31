/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Shared between the files of the bench stage only: the measurement behind
 * `weir bench store`. */
#ifndef WEIR_BENCH_INTERNAL_H
#define WEIR_BENCH_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "../store/store.h"
#include "bench.h"

/* store.c: inserts opt->rows flows in batches of cfg->batch_rows through
 * opt->streams writers in parallel (1 = one thread) into cfg's ClickHouse,
 * whose schema must exist (orchestrator migrations). Every row is a fresh
 * flow, generated chunk by chunk as the writers go (its cost is printed
 * apart): realistic ones (a few exporters and interfaces, Zipf-distributed
 * hosts from a bounded population, common ports, time-ordered), or with
 * simple_flows the bench's first generator (independent draws), for A/B.
 * Then OPTIMIZEs the tables and prints to `out`: load average, rows/s
 * (encoding alone and end to end), rows the views wrote, CPU per flow (the
 * server's too with server_pid), bytes per flow on disk and the biggest
 * columns. Returns 0 or -errno. */
struct bench_store_options {
	uint64_t rows;
	unsigned streams;
	int simple_flows;
	uint64_t flow_rate; /* flows per second of TimeReceived (500000, the target) */
	int server_pid;	    /* clickhouse-server's pid when local (its CPU time is printed), or 0 */
};
struct bench_store_result {
	double encode_rows_per_s;
	double insert_rows_per_s;
	double bytes_per_flow; /* bytes on disk per row in flows after OPTIMIZE */
	uint64_t rows_in_table;
};
int bench_store_run(const struct store_config *cfg, const struct bench_store_options *opt,
		    FILE *out, struct bench_store_result *result);

#endif
