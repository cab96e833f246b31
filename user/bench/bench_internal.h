/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Shared between the files of the bench stage only: the measurement behind
 * `weir bench store`, and what the store and e2e benches measure besides
 * rates (memory, disk) on both engines. */
#ifndef WEIR_BENCH_INTERNAL_H
#define WEIR_BENCH_INTERNAL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "../store/store.h"
#include "bench.h"

/* store.c's realistic generator on its own (e2e --realistic): the flows of
 * `weir bench store`, from a sequence of its own seeded with `seed`. */
struct flow;
struct bench_flow_gen;
int bench_flow_gen_new(uint64_t seed, struct bench_flow_gen **out); /* 0 or -ENOMEM */
void bench_flow_gen_next(struct bench_flow_gen *g, struct flow *f);
void bench_flow_gen_free(struct bench_flow_gen *g); /* accepts NULL */

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
	const char *label;  /* printed at the start of each line: "store" when NULL */
};
/* --engine server|embedded|both of the benches that run on both engines:
 * sets *server and *embedded; returns 0, or -EINVAL (both left 0) for
 * another word. */
static inline int bench_engines_parse(const char *arg, int *server, int *embedded)
{
	*server = !strcmp(arg, "server") || !strcmp(arg, "both");
	*embedded = !strcmp(arg, "embedded") || !strcmp(arg, "both");
	return *server || *embedded ? 0 : -EINVAL;
}

/* ---- Enrichment (bench_enrich.c) ---- */

struct enrich;
/* What `weir bench enrich` and `weir bench e2e --enrich` enrich with: an
 * Akvorado-like configuration (classifiers, static metadata for `exporters`
 * exporters at exporter_base + x * exporter_step, interfaces 1..interfaces
 * each, `prefixes` networks, the .mmdb files given or NULL). */
struct bench_enrich_setup {
	uint64_t exporters, interfaces, prefixes;
	uint32_t exporter_base, exporter_step; /* IPv4, host order */
	const char *geoip_asn, *geoip_geo;
};
/* A started enrich instance in *out (enrich_free() it), or -errno with the
 * reason printed to stderr. */
int bench_enrich_setup(const struct bench_enrich_setup *s, struct enrich **out);

/* ---- Footprint (footprint.c) ---- */

/* Resident memory of a process, bytes (0 when unknown). */
struct bench_mem {
	uint64_t rss; /* VmRSS: now */
	uint64_t hwm; /* VmHWM: peak since start or bench_mem_reset_peak() */
};
/* Reads /proc/PID/status (pid 0: this process). Returns 0 or -errno. */
int bench_mem_read(pid_t pid, struct bench_mem *m);
/* Makes VmHWM of `pid` (0: this process) start again from its current RSS,
 * so that one run's peak is not an earlier run's (own processes only). */
void bench_mem_reset_peak(pid_t pid);
/* Bytes allocated on disk by the files under `dir` (0 on error). One walk at
 * a time per thread. */
uint64_t bench_dir_bytes(const char *dir);
/* A new directory "$TMPDIR/NAME.XXXXXX" (TMPDIR default /tmp), its absolute
 * path in out[size]. Returns 0 or -errno. */
int bench_tmpdir_new(const char *name, char *out, size_t size);
/* Removes `dir` and everything under it (NULL or "" is fine). */
void bench_dir_remove(const char *dir);

/* A table's active parts in system.parts. */
struct bench_table_disk {
	uint64_t bytes_on_disk;	   /* columns, marks, index, checksums */
	uint64_t compressed_bytes; /* the columns' compressed data */
	uint64_t rows;
};
/* `database` NULL: the client's. Returns 0 or -errno. */
int bench_table_disk(struct store_client *c, const char *database, const char *table,
		     struct bench_table_disk *d);
/* Merges `table` of the client's database into one part per partition
 * (OPTIMIZE FINAL), as it sits for the retention period: on an engine that
 * keeps small parts compact, *compact gets the compact part's figures
 * (else zeros) and the table is then merged again into wide parts, as parts
 * of a day of flows are. Returns 0 or -errno. */
int bench_table_settle(struct store_client *c, const char *table, struct bench_table_disk *compact);
/* ClickHouse's counter `event` (system.events: since the server or the
 * embedded engine started), 0 when it cannot be read. */
uint64_t bench_engine_event(struct store_client *c, const char *event);
/* "123 MiB", or "-" for 0, in buf[size]; returns buf. */
const char *bench_mib(uint64_t bytes, char *buf, size_t size);

struct bench_store_result {
	double encode_rows_per_s;
	double insert_rows_per_s;
	double bytes_per_flow;	    /* bytes on disk per row in flows after OPTIMIZE */
	double compressed_per_flow; /* data_compressed_bytes per row in flows */
	/* flows_1m, flows_5m, flows_1h: bytes on disk per row of flows */
	double consolidated_per_flow[3];
	uint64_t rows_in_table;
	double cpu_us_per_flow; /* this process, and the server's when known (else < 0) */
	double server_cpu_us_per_flow;
	/* This process from the start of the inserts (the embedded engine is
	 * in it), and the server's when server_pid was given. */
	struct bench_mem self_mem, server_mem;
};
int bench_store_run(const struct store_config *cfg, const struct bench_store_options *opt,
		    FILE *out, struct bench_store_result *result);

/* ---- `weir bench e2e --input afxdp`'s sender (e2e_xdp.c) ----
 * Each exporter's prebuilt datagrams: buf holds `count` of them, `stride`
 * bytes apart, len[] and flows[] each one's bytes and flows; they come from
 * ipv4 (need not be an address of the exporter's end). */
struct bench_frame_src {
	uint32_t ipv4;
	const uint8_t *buf;
	size_t stride;
	const uint16_t *len, *flows;
};
struct bench_frame_gen;
/* The frames of nexp exporters (per_exporter datagrams each, in turn: one
 * of each exporter, then the next of each) to the collector's end of np,
 * UDP port dport, and the generator's program attached to the exporter's
 * end. 0, or -errno with err set. */
int bench_frame_gen_new(struct bench_netpair *np, uint16_t dport, const struct bench_frame_src *src,
			unsigned nexp, size_t per_exporter, struct bench_frame_gen **out,
			struct error *err);
/* Sends the frames in their cycle from the first, whole datagrams up to
 * `want` flows, paced at `rate` flows/s (0: unpaced), and stores the flows
 * and frames sent so far as it goes (atomically: another thread reads
 * them). From the exporter's namespace, one thread. 0, or -errno. */
int bench_frame_gen_run(struct bench_frame_gen *g, uint64_t want, uint64_t rate,
			uint64_t *sent_flows, uint64_t *sent_frames);
void bench_frame_gen_free(struct bench_frame_gen *g); /* accepts NULL */

#endif
