/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* A throw-away clickhouse-server for C tests, started on first use by the
 * bench stage's launcher (bench/bench.h) under a temporary directory in
 * $TMPDIR, stopped and removed at exit (and when the test process dies: the
 * launcher's watch_pid). Tests that need it are skipped when it is not
 * installed. */
#ifndef WEIR_TEST_CLICKHOUSE_H
#define WEIR_TEST_CLICKHOUSE_H

/* The server's URL; starts it on first call (its directory's name starts
 * with `name`). Skips the calling test when the server cannot be had, fails
 * it when the server does not start. */
const char *test_clickhouse_url(const char *name);
/* The server's directory (logs, data), empty before test_clickhouse_url(). */
const char *test_clickhouse_dir(void);
/* "stop" or "start" the server (a restart keeps its ports and data).
 * Returns 0 on success. */
int test_clickhouse_control(const char *verb);

#endif
