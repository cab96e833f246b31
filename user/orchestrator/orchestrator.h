/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The orchestrator stage: creates or upgrades the ClickHouse schema in
 * numbered migration steps, and enforces retention by dropping whole
 * partitions (ClickHouse 18.16 has no TTL). `weir orchestrator` runs both;
 * the tests call them directly. Every function here talks to ClickHouse
 * through store_client (user/store/store.h); none is thread-safe on a shared
 * client. */
#ifndef WEIR_ORCHESTRATOR_H
#define WEIR_ORCHESTRATOR_H

#include <stdint.h>

#include "../store/store.h"

/* Latest schema version this build knows. Steps:
 *   1 flows (raw, daily partitions)      2 flows_1m/5m/1h + their views
 *   3 exporters + its view               4 Dst1stAS/2nd/3rd (views recreated)
 *   5 PacketSize, PacketSizeBucket (ALIAS columns)
 *   6 TimeFlowStartMs, TimeFlowEndMs dropped (not stored) */
#define ORCH_SCHEMA_VERSION 6

/* Creates the database and the schema_migrations table if absent, then
 * applies each step from the first not recorded up to `target` (0 = latest),
 * recording each one (version, description, applied time) once done.
 * Steps are idempotent: a step interrupted before being recorded is simply
 * applied again. Afterwards, checks that every decoded column the writer
 * sends exists in flows and adds what is missing (never drops). Logs each
 * step. Returns the number of steps applied (0 = already up to date) or
 * -errno (-ECONNREFUSED when ClickHouse cannot be reached, -EIO when a
 * statement failed: the log says which). */
int orch_migrate(struct store_client *c, const struct store_config *cfg, unsigned target);

/* Versions recorded in schema_migrations, highest one in *version (0 when
 * none). Returns 0 or -errno. */
int orch_schema_version(struct store_client *c, unsigned *version);

/* Drops, in flows, flows_1m, flows_5m and flows_1h, every partition whose
 * newest row (system.parts max_time) is older than now_s minus that table's
 * configured retention (0 = keep forever). Returns the number of partitions
 * dropped or -errno. */
int orch_retention_run(struct store_client *c, const struct store_config *cfg, uint64_t now_s);

/* Returns nonzero to stop orch_run (signal seen). */
typedef int (*orch_stop_fn)(void *ctx);

/* The `weir orchestrator` loop: migrations (retried with back-off while
 * ClickHouse is unreachable), then retention now and every
 * retention-interval, until stop_fn says stop. With `once`, migrations and
 * one retention pass, then return. Returns 0 or -errno. */
int orch_run(const struct store_config *cfg, int once, orch_stop_fn stop_fn, void *ctx);

/* `weir bench store [--url URL] [--rows N] [--streams N] [--batch-rows N]`:
 * without --url starts a throw-away clickhouse-server (tests/integration/lib/
 * clickhouse.sh), creates the schema in database weir_bench, runs
 * store_bench() and prints its figures. Returns the exit code. */
int store_bench_main(int argc, char **argv);

#endif
