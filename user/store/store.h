/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The store stage: writes decoded flows into ClickHouse, in batches encoded in
 * ClickHouse's Native format, and runs plain queries for the orchestrator and
 * the tests, over HTTP (libcurl) to the server clickhouse.url names. The
 * schema itself (DDL, migrations, retention) lives in user/orchestrator/. */
#ifndef WEIR_STORE_H
#define WEIR_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/config.h"
#include "../common/error.h"
#include "../common/flow.h"
#include "../common/flow_schema.h"
#include "../common/metrics.h"

/* Retention per table, in milliseconds; 0 keeps everything. */
struct store_retention_config {
	uint64_t flows;
	uint64_t flows_1m;
	uint64_t flows_5m;
	uint64_t flows_1h;
};

/* The `clickhouse:` section of weir.yaml. Strings are heap-allocated (freed
 * with config_free_bound(store_config_fields, cfg)). */
/* `clickhouse.query-endpoint:`: the read-only ClickHouse-compatible HTTP
 * query endpoint over the embedded engine (user/console/, store_reader).
 * Off by default; config/weir.yaml turns it on. Never with an http:// url:
 * the server answers queries itself. Its limits also bound the console's
 * sessions on the embedded engine (store_reader_settings()), on or off. */
struct store_query_endpoint_config {
	int enabled;		   /* enabled: serve it in `weir run` (false) */
	char *listen;		   /* listen: "127.0.0.1:8123" (loopback) */
	uint64_t max_queries;	   /* max-queries: running at once, a connection each (2) */
	uint64_t max_queued;	   /* max-queued: waiting for one, then 503 (8) */
	uint64_t max_execution_ms; /* max-execution-time: per query (30s) */
	uint64_t max_rows_to_read; /* max-rows-to-read: per query; 0 = no bound (1000000000) */
	uint64_t max_result_rows;  /* max-result-rows: 0 = no bound (0) */
	uint64_t max_result_bytes; /* max-result-bytes: answer bound (64MiB) */
};

struct store_config {
	/* url: "http://127.0.0.1:8123" a server; "embedded:///abs/dir" or
	 * "embedded://rel/dir" (relative to the working directory) the engine
	 * embedded in weir (libchdb.so from `make deps`) on that directory:
	 * one per process, and one process per directory. */
	char *url;
	char *database;		     /* database: "weir" */
	char *username;		     /* username: "" = ClickHouse's default user */
	char *password;		     /* password */
	uint64_t batch_rows;	     /* batch-rows: a batch is due at this many rows (50000) */
	uint64_t batch_interval_ms;  /* batch-interval: ... or this long after its first row (5s) */
	uint64_t max_batch_bytes;    /* max-batch-bytes: encoded batch bound (64MiB) */
	uint64_t insert_timeout_ms;  /* insert-timeout: one HTTP request (60s) */
	uint64_t connect_timeout_ms; /* connect-timeout (5s) */
	uint64_t retry_min_ms;	     /* retry-min: first back-off (250ms) */
	uint64_t retry_max_ms;	     /* retry-max: back-off cap (30s) */
	/* consolidation-interval: how long flows are summed in memory before
	 * their rows go to flows_1m (5s); 0 = with every batch. Longer sums
	 * write fewer rows, but a Kafka outlet commits only after they are
	 * written: a crash replays up to this much (duplicates in flows). */
	uint64_t consolidation_interval_ms;
	uint64_t consolidation_max_rows; /* consolidation-max-rows: bound in memory (1000000) */
	struct store_retention_config retention; /* retention: {flows: 15d, flows-1m: 7d, ...} */
	/* retention-interval: how often retention runs (1h): old partitions
	 * dropped on 18.16, the tables' TTL kept in line with `retention` on
	 * current servers. */
	uint64_t retention_interval_ms;
	/* Orchestrator lock (user/orchestrator/lock.c): */
	uint64_t lock_stale_ms; /* lock-stale: holder silent this long is taken over (5m) */
	uint64_t lock_wait_ms;	/* lock-wait: wait for another orchestrator at most (10m) */
	/* The embedded engine (embedded:// URLs; the first transport opened
	 * decides for the process): */
	char *embedded_library;	      /* embedded-library: libchdb.so; "" = searched (chdb.h) */
	uint64_t embedded_max_memory; /* embedded-max-memory: its bound; 0 = 90% of RAM (0) */
	struct store_query_endpoint_config query_endpoint; /* query-endpoint: {...} */
	/* asns: a CSV file of AS names ("asn,name" lines) loaded into the asns
	 * table over the shipped sample by the orchestrator ("" = none). */
	char *asns;
	/* The ASN .mmdb files (geoip.asn-database, set by weir_config; borrowed,
	 * NULL = none): the orchestrator adds their AS names between the
	 * shipped sample and `asns`. Not a key of this section. */
	const struct config_list *asn_databases;
};

extern const struct config_field store_config_fields[];

/* Fills `cfg` with the defaults above. Returns 0 or -ENOMEM. */
int store_config_defaults(struct store_config *cfg);
/* What the field table cannot say: the URL's scheme, retry-min <= retry-max.
 * `doc` (may be NULL) gives lines. Returns 0 or -EINVAL with `err` filled. */
int store_config_check(const struct store_config *cfg, const struct config_doc *doc,
		       struct config_error *err);
/* Frees the strings of `cfg` (same as config_free_bound(store_config_fields, cfg)). */
void store_config_free(struct store_config *cfg);

/* ---- The tables' schema (schema.c) ----
 * The flows table's decoded columns are flow_fields[] (flow_schema.h) in that
 * order, typed as below. The large communities are a Nested column of three
 * arrays (ASN, LocalData1, LocalData2) since 18.16 has no UInt128. */
const char *store_field_type(const struct flow_field *field);

/* 1 when the column is stored in flows (and sent by the writer), 0 for the
 * decoded fields weir does not keep: TimeFlowStartMs and TimeFlowEndMs
 * (not in DESIGN.md's columns, as in Akvorado; TimeReceived is the time
 * every query uses, and the two took ~4 of ~30 bytes per flow on disk). */
int store_field_stored(const struct flow_field *field);

/* ---- flows' sorting key ----
 * TimeReceived then the other names, NULL-terminated; the first
 * STORE_FLOWS_PRIMARY_KEY_COLUMNS are the primary key. The writer sends
 * each batch in this order (sort_rows.c), so ClickHouse need not sort it.
 * Tables created before session 11 start with toStartOfMinute(TimeReceived)
 * (STORE_FLOWS_MINUTE_KEY) and the same names after it: the writer asks the
 * table (system.tables) and sorts by the minute there. Another key: the
 * server sorts each block itself (correct, at some CPU). */
extern const char *const store_flows_sort_key[];
#define STORE_FLOWS_PRIMARY_KEY_COLUMNS 4
#define STORE_FLOWS_MINUTE_KEY		"toStartOfMinute(TimeReceived)"

/* ---- Consolidated tables ----
 * flows_1m, flows_5m and flows_1h keep these dimensions, in this order (their
 * sorting key; the first STORE_CONSOLIDATED_PRIMARY_KEY_DIMS are the primary
 * key), then store_dst_nth_as[] (schema step 4), then Bytes and Packets.
 * The writer sums flows into flows_1m itself (consolidate.c); views fill
 * flows_5m, flows_1h and exporters from flows_1m (schema step 7). */
extern const char *const store_consolidated_dims[];
extern const size_t store_consolidated_dims_count;
extern const char *const store_dst_nth_as[3];
#define STORE_CONSOLIDATED_PRIMARY_KEY_DIMS 10

/* ---- Plain queries ----
 * One connection (kept alive) per client; not thread-safe. */
struct store_client;

/* A client of the ClickHouse clickhouse.url names; `cfg` is borrowed and must
 * outlive it. Returns 0 with *out set, or -errno with *out NULL and `err`
 * (may be NULL) set: -ENOMEM, or for an embedded:// URL the engine's
 * (-ENOENT without libchdb.so, -EBUSY...). Over HTTP nothing is sent before
 * the first query. */
int store_client_new(const struct store_config *cfg, struct store_client **out, struct error *err);
void store_client_free(struct store_client *c); /* accepts NULL */

/* Runs `sql` (POST body) in cfg->database, or with no database when
 * `no_database` is set (to create it). On success returns 0 and, when `out`
 * is not NULL, the answer (TabSeparated unless the query says otherwise),
 * NUL-terminated, in *out (caller frees). On failure returns -ECONNREFUSED /
 * -ETIMEDOUT (unreachable: may heal), -EACCES (the server refused the
 * credentials: will not heal), -EIO (other ClickHouse error) and
 * store_client_error() tells why. */
int store_client_query(struct store_client *c, const char *sql, char **out);
int store_client_query_nodb(struct store_client *c, const char *sql, char **out);
const char *store_client_error(const struct store_client *c);
/* Same as store_client_query for a one-value answer: the first line as an
 * unsigned integer. */
int store_client_query_u64(struct store_client *c, const char *sql, uint64_t *value);

/* The server's version as major*1000000 + minor*1000 + patch (18.16.1 ->
 * 18016001), 0 when unknown. Newer SQL features are used only above a
 * threshold of this number. */
int store_client_server_version(struct store_client *c, uint32_t *version);

/* ---- Read-only queries from outside (the query endpoint) ----
 * A session of the embedded engine of its own, read-only and bounded by
 * clickhouse.query-endpoint: the engine's readonly=1 (no writes, DDL,
 * SYSTEM, settings changes or table functions that reach files or the
 * network: ClickHouse refuses them), max_execution_time, max_rows_to_read,
 * max_result_rows and max_result_bytes (result_overflow_mode throw). What
 * readonly=1 lets through (the file() function, INTO OUTFILE, DESCRIBE of a
 * table function, KILL) the caller refuses before. One thread at a time;
 * several readers run queries beside the writers. */
struct store_reader;

/* A reader on the engine an embedded:// clickhouse.url names (`cfg`
 * borrowed, must outlive it). Returns 0 with *out, or -EOPNOTSUPP for a
 * server URL (it answers queries itself), or as store_client_new(). */
int store_reader_new(const struct store_config *cfg, struct store_reader **out, struct error *err);
void store_reader_free(struct store_reader *r); /* accepts NULL */

/* The statement that makes a session of the embedded engine read-only and
 * bounded as above (clickhouse.query-endpoint's limits), for sessions opened
 * with store_client_new() (the console's): written into `buf` (512 bytes
 * hold it), run once before the session's first query. Returns 1, or 0 with
 * `buf` "" for a server URL (there a read-only user does it). */
int store_reader_settings(const struct store_config *cfg, char *buf, size_t size);

/* Runs `sql` in `database` (NULL or "": clickhouse.database), its answer in
 * `format` (NULL: TabSeparated) unless the SQL has a FORMAT clause: on
 * success 0, *out malloc'd (NUL-terminated; binary formats may hold NULs:
 * use *len). On failure -EIO with ClickHouse's text in `err` ("Code: 164.
 * DB::Exception: ... (READONLY)"), -EINVAL (database name), -ENOTCONN or
 * -ENOMEM. */
int store_reader_query(struct store_reader *r, const char *database, const char *sql,
		       const char *format, char **out, size_t *len, struct error *err);

/* ---- Batch writer ----
 * One per outlet worker: not thread-safe, every call from one thread.
 * Rows are encoded at append time into column buffers (ClickHouse Native
 * format), so the flows need not outlive the call. The batch is bounded by
 * max-batch-bytes: when appending would exceed it, append returns -ENOBUFS
 * and the caller must flush first. A flush sends the whole batch as one
 * INSERT INTO flows (decoded columns) FORMAT Native and retries (exponential
 * back-off between retry-min and retry-max) until ClickHouse acknowledges it
 * or stop_fn asks to stop: rows are never dropped. Enrichment columns
 * (ExporterName, InIfName...) are sent once store_writer_set_strings() was
 * called; until then they take their defaults. */
struct store_writer;

/* Returns nonzero when the flush should give up (shutdown). */
typedef int (*store_stop_fn)(void *ctx);

/* A writer to the ClickHouse clickhouse.url names; `cfg` (borrowed) must
 * outlive it. `metrics` may be NULL. Counters: weir_store_rows_inserted_total,
 * weir_store_bytes_inserted_total, weir_store_batches_total,
 * weir_store_insert_errors_total, weir_store_insert_retries_total,
 * weir_store_batch_latency_seconds_total (sum over acknowledged batches);
 * gauge weir_store_last_batch_latency_seconds, weir_store_pending_rows.
 * Returns 0 with *out set, or -errno with *out NULL and `err` (may be NULL)
 * set, as store_client_new(). */
int store_writer_new(const struct store_config *cfg, struct metrics_registry *metrics,
		     struct store_writer **out, struct error *err);
void store_writer_free(struct store_writer *w); /* accepts NULL */
/* From now on also writes struct flow's `enriched` member: the enrichment
 * columns of flows, the enrichment dimensions of the consolidated tables and
 * the exporters' and interfaces' names in exporters. Its ids are resolved
 * with `strings` (borrowed: must outlive the writer and every flow
 * appended). Call before the first append. Returns 0, -EBUSY (rows already
 * appended) or -ENOMEM, with `err` (may be NULL) filled. */
struct strtab;
int store_writer_set_strings(struct store_writer *w, const struct strtab *strings,
			     struct error *err);
/* For a writer that never reaches ClickHouse (weir bench enrich --pipeline):
 * its string columns go as LowCardinality(String), as on the embedded engine
 * and servers from 20.3, instead of the String it sends until it has asked
 * flows' layout. Returns 0 or -ENOMEM. */
int store_writer_assume_low_cardinality(struct store_writer *w);

/* Encodes flows[0..n) into the batch: all of them, or none and -ENOBUFS when
 * they do not fit in what is left of max-batch-bytes (flush, then append
 * again), or -E2BIG when they could not fit even in an empty batch (pass
 * fewer). `now_ms` (any monotonic clock) starts the batch-interval clock on
 * the first row of a batch. Returns 0, -ENOBUFS, -E2BIG or -ENOMEM. */
int store_writer_append(struct store_writer *w, const struct flow *flows, size_t n,
			uint64_t now_ms);

/* 1 when the batch holds batch-rows rows, or rows older than batch-interval
 * (same clock as append's now_ms); for an empty batch, 1 when consolidated
 * rows are due (see store_writer_flush), else 0. */
int store_writer_due(const struct store_writer *w, uint64_t now_ms);

/* Rows and encoded bytes in the current batch. */
size_t store_writer_rows(const struct store_writer *w);
size_t store_writer_bytes(const struct store_writer *w);

/* Sends the batch (no-op when empty), then the consolidated rows (flows_1m)
 * when they are due: consolidation-interval after the first flow they sum,
 * or when they fill half of consolidation-max-rows. Returns 0 once
 * ClickHouse acknowledged what was sent (the batch is then empty), or
 * -ECANCELED when stop_fn(ctx) returned nonzero before that (what was not
 * acknowledged is kept: flush again later or discard it). stop_fn may be
 * NULL (never stop). Kafka offsets may be committed only when, after a
 * flush, store_writer_consolidation_pending() is 0: the flows they carried
 * are then in flows and in flows_1m. */
int store_writer_flush(struct store_writer *w, store_stop_fn stop_fn, void *ctx);
/* Same, with the consolidated rows sent whether due or not. */
int store_writer_flush_all(struct store_writer *w, store_stop_fn stop_fn, void *ctx);
/* 1 while flows appended are summed in memory and not yet in flows_1m. */
int store_writer_consolidation_pending(const struct store_writer *w);

/* Why the last request of a flush failed (empty after a success). */
const char *store_writer_last_error(const struct store_writer *w);

/* Forgets the current batch and the consolidated rows not yet written
 * (after -ECANCELED, when the rows will be read again from Kafka). */
void store_writer_discard(struct store_writer *w);

/* ---- Crash consistency of the consolidated tables (writer.c, repair.c) ----
 * The writer inserts each batch into flows at once but sums flows for
 * flows_1m, flows_5m, flows_1h and exporters over consolidation-interval:
 * a kill -9 loses those sums while their flows are in flows. With the
 * journal on, a writer records in STORE_JOURNAL_TABLE (schema step 8),
 * before it inserts flows its consolidated tables lack, the least
 * TimeReceived of those (a row "dirty since Low"), and after the
 * consolidated tables took them that it is clean. At the next start,
 * store_consolidation_repair() makes each consolidated table agree with
 * flows again from the least dirty Low on. Exact only when this process's
 * writers are the only ones (`weir run`, ring bus): with Kafka, outlets
 * replay uncommitted datagrams instead and the journal stays off. */
#define STORE_JOURNAL_TABLE "consolidation_journal"

/* Turns the journal on for `w` (before its first flush); each writer gets
 * its own Writer number in the process (0, 1, ...). One row is inserted
 * before the first flows insert after each consolidated write (retried as
 * inserts are) and one after each consolidated write (one try: a failure
 * only leaves the journal dirty, which widens the next repair). */
void store_writer_journal(struct store_writer *w);

/* After a crash: for every writer whose latest journal row is dirty, takes
 * the least Low L and makes flows_1m agree with flows from
 * toStartOfMinute(L) on, then flows_5m and flows_1h with flows_1m from
 * their own bucket of L on, by inserting what each lacks (the difference of
 * the sums by bucket and dimensions: no row is deleted, so running it again,
 * after a crash in the middle of it, is harmless), then exporters' sightings
 * from flows_1m, then marks every writer clean. Call after the migrations
 * and before any writer of the process flushes, with no other writer on the
 * database. Returns 1 when it repaired, 0 when the journal was clean, or
 * -errno (store_client_error() tells why). */
int store_consolidation_repair(struct store_client *c);

#endif
