/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* A throw-away clickhouse-server for C tests, started on first use by the
 * bench stage's launcher (bench/bench.h) under a temporary directory in
 * $TMPDIR, stopped and removed at exit (and when the test process dies: the
 * launcher's watch_pid). Tests that need it are skipped when it is not
 * installed. */
#ifndef WEIR_TEST_CLICKHOUSE_H
#define WEIR_TEST_CLICKHOUSE_H

#include <stdint.h>

struct store_client;
struct store_config;

/* 1 when WEIR_TEST_STORE=embedded: then the "server" is the engine embedded
 * in the test process (embedded://DIR, skipped without libchdb.so), shared
 * by the program's tests, and test_clickhouse_control() skips the test. */
int test_clickhouse_embedded(void);
/* The server's URL; starts it on first call (its directory's name starts
 * with `name`). Skips the calling test when the server cannot be had, fails
 * it when the server does not start. */
const char *test_clickhouse_url(const char *name);
/* The server's directory (logs, data), empty before test_clickhouse_url(). */
const char *test_clickhouse_dir(void);
/* "stop" or "start" the server (a restart keeps its ports and data).
 * Returns 0 on success. */
int test_clickhouse_control(const char *verb);

/* Sets *cfg (store_config_defaults(), store_config_free() when done) to the
 * database `db` on the server (test_clickhouse_url(name)), with quick
 * retries (50 to 500 ms) and a 20 s insert timeout, and drops `db`: each
 * test starts from nothing. Fails the test when that does not work. */
void test_clickhouse_config(struct store_config *cfg, const char *name, const char *db);
/* Runs the query (printf format) and returns the number it answers; fails
 * the test, and returns 0, when the query fails. */
uint64_t test_clickhouse_u64(struct store_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
