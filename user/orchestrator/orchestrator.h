/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The orchestrator stage: creates or upgrades the ClickHouse schema in
 * numbered migration steps, and enforces retention: by a TTL on each table
 * on current ClickHouse, by dropping whole partitions on older servers
 * (18.16 has no TTL). `weir orchestrator` runs both;
 * the tests call them directly. Every function here talks to ClickHouse
 * through store_client (user/store/store.h); none is thread-safe on a shared
 * client. */
#ifndef WEIR_ORCHESTRATOR_H
#define WEIR_ORCHESTRATOR_H

#include <stddef.h>
#include <stdint.h>

#include "../common/error.h"
#include "../common/metrics.h"
#include "../store/store.h"

/* Latest schema version this build knows. Steps:
 *   1 flows (raw, daily partitions)      2 flows_1m/5m/1h + their views
 *   3 exporters + its view               4 Dst1stAS/2nd/3rd (views recreated)
 *   5 PacketSize, PacketSizeBucket (ALIAS columns)
 *   6 TimeFlowStartMs, TimeFlowEndMs dropped (not stored)
 *   7 consolidated tables written by the outlet (views dropped)
 *   8 consolidation_journal (repair of the consolidated tables after a crash)
 *   9 asns, protocols, ports (names; filled by orch_names_load)
 *  10 InIfDescription, OutIfDescription as LowCardinality(String) in flows
 *     (modern servers) */
#define ORCH_SCHEMA_VERSION 10

/* Creates the database and the schema_migrations table if absent, then
 * applies each step from the first not recorded up to `target` (0 = latest),
 * recording each one (version, description, applied time) once done.
 * Steps are idempotent: a step interrupted before being recorded is simply
 * applied again. Afterwards, checks that every decoded column the writer
 * sends exists in flows and adds what is missing (never drops). Logs each
 * step. Tables are created without a TTL, and cfg->retention is not read:
 * orch_retention_run sets the TTL. Returns the number of steps applied
 * (0 = already up to date) or
 * -errno (-ECONNREFUSED when ClickHouse cannot be reached, -EIO when a
 * statement failed: the log says which; -EPROTONOSUPPORT, changing nothing,
 * when a later release recorded steps this one does not know). */
int orch_migrate(struct store_client *c, const struct store_config *cfg, unsigned target);

/* ---- Names (names.c) ----
 * Tables for people's labels, rebuilt whole at a migration run (and by the
 * service when clickhouse.asns or an ASN .mmdb changes on disk) when their
 * content changed: a checksum of the shipped files, the operator's file,
 * the .mmdb files' stamps and the tables' layout is kept in names_state
 * (one row) and compared first;
 *   asns (ASN UInt32, Name String): Join engine, read with
 *     joinGet('asns', 'Name', toUInt32(x)) ('' when unknown) or JOIN;
 *   protocols (Proto UInt8, Name String, Description String): MergeTree;
 *   ports (Proto UInt8, Port UInt16, Name String, Key UInt32): Join engine
 *     keyed by Key = Proto * 65536 + Port, read with joinGet('ports', 'Name',
 *     toUInt32(proto * 65536 + port)).
 * From the CSV files of config/names/ (built into weir) and, for asns, the
 * organisations of the ASN .mmdb files (cfg->asn_databases; they override
 * the shipped names) and the operator's file clickhouse.asns ("asn,name"
 * lines; its names override both). */
struct orch_names_stats {
	size_t asns, protocols, ports; /* rows written */
	size_t bad_lines;	       /* malformed lines skipped (logged with file:line) */
	size_t file_errors;	       /* clickhouse.asns or an ASN .mmdb unreadable (logged;
					  the other sources kept) */
	size_t mmdb_asns;	       /* AS names read from the ASN .mmdb files (before the
					  duplicates and the operator's file) */
	int rebuilt; /* 1: the tables were written; 0: same content as the last load
		      * (checksum in names_state), left alone, the counts above 0 */
};
/* For a caller that holds the lock (orch_migrate_unlocked calls it after
 * the steps). Malformed lines and an unreadable operator file are logged
 * and counted in *st (may be NULL), never fatal. Returns 0 or -errno from
 * ClickHouse (-ENOMEM). */
int orch_names_load(struct store_client *c, const struct store_config *cfg,
		    struct orch_names_stats *st);
/* CREATE TABLE IF NOT EXISTS `table` (asns, protocols or ports) with
 * `suffix` appended to its name ("" for the table itself). 0 or -errno. */
int orch_names_create(struct store_client *c, const char *table, const char *suffix);
/* A number that changes when clickhouse.asns changes on disk (0 without
 * one). Returns 0 or -errno (stat). */
int orch_names_file_stamp(const struct store_config *cfg, int64_t *stamp);

/* Table `with` takes the place of `live`, which becomes `old` (a name not
 * taken). Readers of `live` find one table or the other, never none: by
 * EXCHANGE TABLES where the database has it (the Atomic and Replicated
 * engines, current ClickHouse's default), where a RENAME of two tables is
 * two steps with a moment without `live` (1 query in 1000 failed in the
 * tests during names reloads); by one RENAME of both on 18.16 (Ordinary),
 * which runs under one lock. Returns 0 or -errno (logged); *old_at_with
 * (may be NULL) is set when `with` took `live`'s place but the old rows
 * are still under the name `with` (the rename after the exchange failed):
 * not to be dropped. */
int orch_table_swap_in(struct store_client *c, const char *live, const char *with, const char *old,
		       int *old_at_with);

/* Versions recorded in schema_migrations, highest one in *version (0 when
 * none). Returns 0 or -errno. */
int orch_schema_version(struct store_client *c, unsigned *version);

/* One retention pass over flows, flows_1m, flows_5m and flows_1h, each with
 * its configured retention (0 = keep forever). On a server without TTL,
 * drops every partition whose newest row (system.parts max_time) is older
 * than now_s minus the retention. On a server with TTL, drops nothing (the
 * TTL does, in the background: a part goes whole once its newest row is
 * older than the retention) and only makes each TTL follow cfg->retention
 * (orch_retention_ttl_sync): the first pass, right after the migrations in
 * `weir run` and `weir orchestrator`, sets it. Returns the number of partitions dropped (0 with
 * TTL) or -errno. */
int orch_retention_run(struct store_client *c, const struct store_config *cfg, uint64_t now_s);

/* Servers from this version on (22.8 LTS: TTL, ttl_only_drop_parts,
 * materialize_ttl_recalculate_only, REMOVE TTL) keep retention by TTL; the
 * differences between versions are listed in migrations.c. */
#define ORCH_TTL_VERSION 22008000u
/* 1 when a server of `server_version` (major * 1000000 + minor * 1000 +
 * patch, store_client_server_version) keeps retention by TTL, else 0. */
int orch_retention_uses_ttl(uint32_t server_version);
/* On a server with TTL, for a caller that holds the lock: sets, where it
 * differs, the TTL of flows, flows_1m, flows_5m and flows_1h to their
 * configured retention (ALTER TABLE ... MODIFY TTL; REMOVE TTL for 0) and
 * their TTL settings (parts dropped whole); tables absent are skipped.
 * Returns the number of tables changed (0 when all were right) or -errno. */
int orch_retention_ttl_sync(struct store_client *c, const struct store_config *cfg);

/* Returns nonzero to stop orch_run (signal seen). */
typedef int (*orch_stop_fn)(void *ctx);

/* The `weir orchestrator` loop: migrations (retried with back-off while
 * ClickHouse is unreachable), then retention now and every
 * retention-interval, until stop_fn says stop. With `once`, migrations and
 * one retention pass, then return. Returns 0 or -errno. */
int orch_run(const struct store_config *cfg, int once, orch_stop_fn stop_fn, void *ctx);

/* ---- The orchestrator inside a role (orchestrator.c) ----
 * `weir run` and `weir outlet` open their flow inputs at once and let this
 * bring ClickHouse in behind them, on a thread of its own: migrations,
 * retried with back-off (retry-min..retry-max) while ClickHouse cannot be
 * reached, a log line at the first failure and then one a minute ("ClickHouse
 * at URL unreachable since T", with the datagrams buffered meanwhile); then
 * on_ready; then a check every few seconds that ClickHouse still answers
 * and, with `retention`, retention passes. Gauges weir_store_up and
 * weir_store_schema_ready (0/1), counter weir_store_unreachable_total
 * (failed attempts to reach it). */
struct orch_service;

struct orch_service_params {
	const struct store_config *cfg;	  /* borrowed: outlives the service */
	struct metrics_registry *metrics; /* may be NULL */
	int retention;			  /* also retention, every retention-interval */
	int unreachable_is_fatal;	  /* give up at the first failure (the demo) */
	/* Once, on the service's thread, when the schema is ready and before
	 * the service says it is (health, weir_store_schema_ready): what must
	 * happen before the first flow is stored goes here (cli_roles.c).
	 * `c` is the service's client. Returns 0, or -errno with `err` set:
	 * -ECONNREFUSED or -ETIMEDOUT (ClickHouse away) make the service call
	 * it again later, as it retries migrations, so it must be safe to
	 * redo; any other error, on_fatal. May be NULL. */
	int (*on_ready)(void *ctx, struct store_client *c, struct error *err);
	/* Once, on the service's thread, when the store cannot be used and
	 * retrying will not help: credentials refused, a schema newer than
	 * this build, a failed statement, on_ready's failure. `reason` is one
	 * line a person can act on (valid during the call). The service's
	 * thread ends after it. */
	void (*on_fatal)(void *ctx, int error, const char *reason);
	/* Datagrams the bus accepted so far (a running total), so that the
	 * log line can say how many came since ClickHouse last answered: what
	 * waits for it in the bus, at most. May be NULL (nothing said).
	 * Called on the service's thread. */
	uint64_t (*accepted)(void *ctx);
	void *ctx;
};

/* Returns 0 and *out, or -ENOMEM / the store's error (an embedded database
 * in use by another process: -EBUSY) with *out NULL and `err` set. The
 * client is made here, so what is wrong with clickhouse.url is known
 * before anything starts. */
int orch_service_new(const struct orch_service_params *p, struct orch_service **out,
		     struct error *err);
/* Starts the thread. 0 or -errno with `err` set. */
int orch_service_start(struct orch_service *s, struct error *err);
/* Stops the thread (a wait for ClickHouse or the lock ends within about
 * 100 ms) and joins it. Idempotent. */
void orch_service_stop(struct orch_service *s);
void orch_service_free(struct orch_service *s); /* stops first; NULL is fine */
/* For /healthz, from any thread: 0 when ClickHouse answered the last check
 * and the schema is ready, else -EAGAIN with a one-line reason in
 * reason[size] ("clickhouse at http://... unreachable since 2024-05-01
 * 10:00:00Z: Couldn't connect to server", "clickhouse schema not ready"). */
int orch_service_health(struct orch_service *s, char *reason, size_t size);

/* ---- The orchestrator lock (lock.c) ----
 * One orchestrator at a time runs migrations or retention on a database:
 * orch_migrate and orch_retention_run take the lock themselves (and so every
 * caller of theirs), orch_run takes it with its stop_fn. The lock is kept in
 * ClickHouse (tables orchestrator_lock_<N> in cfg->database; how and why at
 * the top of lock.c). A waiter logs whom it waits for; a holder that stopped
 * refreshing its heartbeat for clickhouse.lock-stale is taken over (logged
 * with its identity). */
struct orch_lock;

/* Creates the database if absent, then waits up to clickhouse.lock-wait for
 * the lock. While held, a thread with its own connection refreshes the
 * heartbeat. stop_fn may be NULL. Returns 0 and *lock, -EBUSY when the wait
 * ran out (the log names the holder), -ECANCELED when stop_fn said stop, or
 * -errno from ClickHouse (-ECONNREFUSED, -ETIMEDOUT, -EIO). */
int orch_lock_acquire(struct store_client *c, const struct store_config *cfg, const char *purpose,
		      orch_stop_fn stop_fn, void *ctx, struct orch_lock **lock);

/* Stops the heartbeat, marks the lock free and frees `lock` (NULL is a
 * no-op). Returns 0, or -ENOLCK when the lock had been lost meanwhile (taken
 * over by another orchestrator that judged this one dead: what ran under it
 * may have overlapped with that one). */
int orch_lock_release(struct store_client *c, struct orch_lock *lock);

/* Re-keys a flows table created before session 11 (its key by the minute,
 * daily partitions) into the one step 1 creates now: a new table, each of
 * the old one's days copied into it, the counts compared, then renamed; the
 * old table stays as flows_by_minute for the operator to drop. Every writer
 * of the database must be stopped (rows written meanwhile would be left
 * behind: the counts then differ and flows is left as it was). The TTL is
 * not copied: the next retention pass sets it. Under the lock, after the
 * migrations. Returns 1 when re-keyed, 0 when flows has the current key, or
 * -errno (-EEXIST: flows_by_minute is there already; the log says why). */
int orch_flows_rekey(struct store_client *c, const struct store_config *cfg);

/* orch_migrate and orch_retention_run for a caller that holds the lock. */
int orch_migrate_unlocked(struct store_client *c, const struct store_config *cfg, unsigned target);
int orch_retention_run_unlocked(struct store_client *c, const struct store_config *cfg,
				uint64_t now_s);
int orch_flows_rekey_unlocked(struct store_client *c, const struct store_config *cfg);

/* ---- What an unclean stop of `weir run` lost (crash.c) ----
 * The in-process ring forgets what it holds when the process dies: with
 * an embedded:// clickhouse.url, a guard writes the running counts (what
 * the bus accepted, what the outlet gave back stored) to DIR/weir-ring.state
 * every 100 ms and marks it clean when freed. A start that finds it not
 * clean logs "unclean stop: datagrams in flight were lost" with
 * datagrams_up_to=N (accepted minus given back at the last record: what was
 * lost, at most, but for what arrived after it) and adds N to the counter
 * weir_bus_ring_lost_at_crash_total. With a server URL there is no
 * directory of weir's to keep it in: nothing is recorded (*out NULL). */
struct orch_crash_guard;
struct orch_crash_counts {
	uint64_t accepted;		      /* datagrams the bus took */
	uint64_t released;		      /* datagrams given back stored (or given up) */
	uint64_t flows_decoded, flows_stored; /* for the log line */
};
/* Fills *c; read `released` before `accepted` (both running totals).
 * Called from the guard's thread. */
typedef void (*orch_crash_counts_fn)(void *ctx, struct orch_crash_counts *c);
/* Reads the previous record (log, metric), then records "not clean" at
 * once. Make it after the store's client: the engine's lock on the
 * directory makes this process its only writer. Returns 0 (and *out, NULL
 * for a server), or -errno with `err` set (the file cannot be written). */
int orch_crash_guard_new(const struct store_config *cfg, struct metrics_registry *metrics,
			 orch_crash_counts_fn counts, void *ctx, struct orch_crash_guard **out,
			 struct error *err);
/* Starts the recording thread. NULL is fine. 0 or -errno with `err` set. */
int orch_crash_guard_start(struct orch_crash_guard *g, struct error *err);
/* Datagrams the previous run lost at most (0 after a clean stop). */
uint64_t orch_crash_guard_lost(const struct orch_crash_guard *g);
/* Stops the thread, records the counts as clean and frees. Call it once
 * nothing more can be stored (after the outlet's last flush). NULL is
 * fine. */
void orch_crash_guard_free(struct orch_crash_guard *g);

#endif
