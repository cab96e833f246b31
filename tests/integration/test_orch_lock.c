// SPDX-License-Identifier: AGPL-3.0-or-later
/* The orchestrator lock (user/orchestrator/lock.c) against a real
 * clickhouse-server (test_clickhouse.h): concurrent
 * migrations apply each step once, a crashed holder's stale lock is taken
 * over, a live one makes the others wait (or give up after lock-wait), and
 * retention runs under it. Each test uses its own database. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "orchestrator/orchestrator.h"
#include "store/store.h"
#include "test.h"
#include "test_clickhouse.h"

/* A config for database `db` on the test server, dropped first. Short
 * lock-stale (the minimum, 3 s) so that takeovers happen within a test. */
static void test_config(struct store_config *cfg, const char *db)
{
	test_clickhouse_config(cfg, "weir-lock-test", db);
	cfg->lock_stale_ms = 3000;
	cfg->lock_wait_ms = 120000;
}

/* The number a query answers (the harness's). */
#define qu test_clickhouse_u64

static void qx(struct store_client *c, const char *fmt, ...)
{
	char sql[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (store_client_query(c, sql, NULL) < 0)
		test_fail_at(__FILE__, __LINE__, "query failed: %s: %s", sql,
			     store_client_error(c));
}

static uint64_t table_count(struct store_client *c, const char *name)
{
	return qu(c,
		  "SELECT count() FROM system.tables WHERE database = currentDatabase() AND "
		  "name = '%s'",
		  name);
}

/* Each step recorded exactly once: as many distinct versions as rows. */
static void check_each_step_once(struct store_client *c)
{
	CHECK_EQ(qu(c, "SELECT count() FROM schema_migrations"), ORCH_SCHEMA_VERSION);
	CHECK_EQ(qu(c, "SELECT uniqExact(version) FROM schema_migrations"), ORCH_SCHEMA_VERSION);
}

/* ---- the log (stderr) of the code under test, into a file ---- */

static int saved_stderr = -1;
static char log_path[300];

static void capture_start(void)
{
	int fd;

	snprintf(log_path, sizeof(log_path), "%s/lock-test.log", test_clickhouse_dir());
	fflush(stderr);
	fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	REQUIRE(fd >= 0);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

/* A whole text file, NUL-terminated (caller frees); "" when unreadable. */
static char *read_text(const char *path)
{
	uint8_t *data = NULL;
	long n = test_read_file(path, &data);
	char *text;

	if (n < 0)
		return strdup("");
	text = realloc(data, (size_t)n + 1);
	if (!text) {
		free(data);
		return strdup("");
	}
	text[n] = 0;
	return text;
}

/* Restores stderr; returns what was logged meanwhile (caller frees). */
static char *capture_end(void)
{
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	saved_stderr = -1;
	return read_text(log_path);
}

/* ---- a migration or retention pass in a thread (as another orchestrator) ---- */

struct job {
	struct store_config *cfg;
	int retention;
	uint64_t now_s;
	pthread_t thread;
	int result;
	atomic_int done;
};

static void *job_main(void *arg)
{
	struct job *j = arg;
	struct store_client *c;

	if (store_client_new(j->cfg, &c, NULL) < 0) {
		j->result = -ENOMEM;
	} else {
		j->result = j->retention ? orch_retention_run(c, j->cfg, j->now_s)
					 : orch_migrate(c, j->cfg, 0);
		store_client_free(c);
	}
	atomic_store(&j->done, 1);
	return NULL;
}

static void job_start(struct job *j, struct store_config *cfg, int retention, uint64_t now_s)
{
	memset(j, 0, sizeof(*j));
	j->cfg = cfg;
	j->retention = retention;
	j->now_s = now_s;
	REQUIRE(pthread_create(&j->thread, NULL, job_main, j) == 0);
}

static int job_join(struct job *j)
{
	pthread_join(j->thread, NULL);
	return j->result;
}

/* ---- tests ---- */

/* Several orchestrators (threads, each with its own connection) migrate the
 * same empty database at once: every one succeeds, each step is applied and
 * recorded once. Without the lock they all read "nothing applied" and each
 * records every step. */
TEST(concurrent_migrations_apply_each_step_once)
{
	enum { ROUNDS = 3, N = 4 };

	for (int round = 0; round < ROUNDS; round++) {
		struct store_config cfg;
		struct store_client *c;
		struct job jobs[N];
		int applied = 0;
		char db[32];

		snprintf(db, sizeof(db), "weir_t_lock_conc%d", round);
		test_config(&cfg, db);
		for (int i = 0; i < N; i++)
			job_start(&jobs[i], &cfg, 0, 0);
		for (int i = 0; i < N; i++) {
			int r = job_join(&jobs[i]);
			CHECK(r >= 0);
			if (r > 0)
				applied += r;
		}
		/* One of them applied every step, the others found nothing to do. */
		CHECK_EQ(applied, ORCH_SCHEMA_VERSION);
		store_client_new(&cfg, &c, NULL);
		REQUIRE(c);
		check_each_step_once(c);
		/* One lock table left, released. */
		CHECK_EQ(qu(c, "SELECT count() FROM system.tables WHERE database = "
			       "currentDatabase() AND name LIKE 'orchestrator_lock_%%'"),
			 1);
		store_client_free(c);
		store_config_free(&cfg);
	}
}

/* The same with `weir orchestrator --once` processes started together: all
 * exit 0, each step recorded once. */
TEST(concurrent_orchestrator_commands)
{
	enum { N = 3 };
	const char *build = getenv("WEIR_BUILD");
	struct store_config cfg;
	struct store_client *c;
	char path[512], cmd[1200];
	pid_t pids[N];
	FILE *f;

	if (test_clickhouse_embedded())
		SKIP("weir processes of their own: the embedded engine's directory is this one's");
	test_config(&cfg, "weir_t_lock_cli");
	if (!build)
		SKIP("WEIR_BUILD not set (run through tests/run.sh)");
	snprintf(path, sizeof(path), "%s/weir-lock-cli.yaml", test_clickhouse_dir());
	f = fopen(path, "w");
	REQUIRE(f);
	fprintf(f, "clickhouse:\n  url: %s\n  database: weir_t_lock_cli\n  lock-stale: 3s\n",
		cfg.url);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "'%s/weir' orchestrator -c '%s' --once 2>/dev/null", build,
		 path);
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		REQUIRE(pids[i] >= 0);
		if (pids[i] == 0) {
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
			_exit(127);
		}
	}
	for (int i = 0; i < N; i++) {
		int status = -1;
		REQUIRE(waitpid(pids[i], &status, 0) == pids[i]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	check_each_step_once(c);
	store_client_free(c);
	store_config_free(&cfg);
}

/* A holder that crashed left its lock table behind (an old heartbeat, or
 * none at all when it died right after the CREATE): the next orchestrator
 * takes it over, logs the old holder, migrates, and drops the old table. */
TEST(stale_lock_is_taken_over)
{
	struct store_config cfg;
	struct store_client *c;
	char *log;

	test_config(&cfg, "weir_t_lock_stale");
	cfg.lock_wait_ms = 1000; /* were it treated as live: -EBUSY */
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	{
		char q[128];
		snprintf(q, sizeof(q), "CREATE DATABASE %s", cfg.database);
		REQUIRE(store_client_query_nodb(c, q, NULL) == 0);
	}
	qx(c, "CREATE TABLE orchestrator_lock_5 (heartbeat DateTime, released UInt8, holder String "
	      "DEFAULT 'host=crashed-box pid=4242 started=2026-01-01T00:00:00Z for=migrations', "
	      "created DateTime DEFAULT toDateTime(toUInt32(now()) - 7200)) ENGINE = Log");
	qx(c, "INSERT INTO orchestrator_lock_5 (heartbeat) SELECT now() - 3600");

	capture_start();
	int r = orch_migrate(c, &cfg, 0);
	log = capture_end();
	CHECK_EQ(r, ORCH_SCHEMA_VERSION);
	CHECK(strstr(log, "took over a stale orchestrator lock") != NULL);
	CHECK(strstr(log, "previous_holder=\"host=crashed-box pid=4242") != NULL);
	free(log);
	check_each_step_once(c);
	CHECK_EQ(table_count(c, "orchestrator_lock_5"), 0);
	CHECK_EQ(table_count(c, "orchestrator_lock_6"), 1);
	CHECK_EQ(qu(c, "SELECT max(released) FROM orchestrator_lock_6"), 1);

	/* Died between CREATE and its first heartbeat: an empty table, judged
	 * by its creation time. */
	qx(c, "CREATE TABLE orchestrator_lock_9 (heartbeat DateTime, released UInt8, holder String "
	      "DEFAULT 'host=crashed-early pid=77 started=2026-01-01T00:00:00Z for=retention', "
	      "created DateTime DEFAULT toDateTime(toUInt32(now()) - 600)) ENGINE = Log");
	capture_start();
	r = orch_migrate(c, &cfg, 0);
	log = capture_end();
	CHECK_EQ(r, 0);
	CHECK(strstr(log, "previous_holder=\"host=crashed-early pid=77") != NULL);
	free(log);
	CHECK_EQ(table_count(c, "orchestrator_lock_9"), 0);
	CHECK_EQ(table_count(c, "orchestrator_lock_6"), 0);
	CHECK_EQ(table_count(c, "orchestrator_lock_10"), 1);
	check_each_step_once(c);
	store_client_free(c);
	store_config_free(&cfg);
}

/* A live holder (this test, through orch_lock_acquire, whose thread keeps
 * the heartbeat fresh) makes a migrating orchestrator wait, for longer than
 * lock-stale, without being taken over; once released, the waiter
 * proceeds. */
TEST(live_lock_makes_the_other_wait)
{
	struct store_config cfg;
	struct store_client *c;
	struct orch_lock *lock;
	struct job job;
	char *log;

	test_config(&cfg, "weir_t_lock_live");
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	REQUIRE(orch_lock_acquire(c, &cfg, "test-holder", NULL, NULL, &lock) == 0);
	capture_start();
	job_start(&job, &cfg, 0, 0);
	/* Twice lock-stale: without heartbeats the waiter would take over. */
	clock_sleep_ms(6000);
	int done_while_held = atomic_load(&job.done);
	uint64_t migrations = table_count(c, "schema_migrations");
	uint64_t mine = table_count(c, "orchestrator_lock_1");
	uint64_t next = table_count(c, "orchestrator_lock_2");
	int released = orch_lock_release(c, lock);
	int migrated = job_join(&job);
	log = capture_end();
	CHECK_EQ(done_while_held, 0);
	CHECK_EQ(migrations, 0);
	CHECK_EQ(mine, 1);
	CHECK_EQ(next, 0);
	CHECK_EQ(released, 0);
	CHECK_EQ(migrated, ORCH_SCHEMA_VERSION);
	CHECK(strstr(log, "waiting for the orchestrator lock") != NULL);
	CHECK(strstr(log, "for=test-holder") != NULL);
	CHECK(strstr(log, "took over") == NULL);
	free(log);
	check_each_step_once(c);
	store_client_free(c);
	store_config_free(&cfg);
}

/* A holder that outlives lock-wait: the waiter gives up with -EBUSY and
 * names the holder; `weir orchestrator --once` exits 1. */
TEST(waiting_is_bounded)
{
	const char *build = getenv("WEIR_BUILD");
	struct store_config cfg;
	struct store_client *c;
	struct orch_lock *lock;
	char path[512], cmd[1400];
	char *log;
	FILE *f;

	if (test_clickhouse_embedded())
		SKIP("weir processes of their own: the embedded engine's directory is this one's");
	test_config(&cfg, "weir_t_lock_bound");
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	REQUIRE(orch_lock_acquire(c, &cfg, "test-holder", NULL, NULL, &lock) == 0);
	cfg.lock_wait_ms = 1500;
	capture_start();
	int r = orch_migrate(c, &cfg, 0);
	log = capture_end();
	CHECK_EQ(r, -EBUSY);
	CHECK(strstr(log, "gave up waiting for the orchestrator lock") != NULL);
	CHECK(strstr(log, "for=test-holder") != NULL);
	free(log);
	CHECK_EQ(table_count(c, "flows"), 0);
	if (build) {
		snprintf(path, sizeof(path), "%s/weir-lock-bound.yaml", test_clickhouse_dir());
		f = fopen(path, "w");
		REQUIRE(f);
		fprintf(f,
			"clickhouse:\n  url: %s\n  database: %s\n  lock-stale: 3s\n"
			"  lock-wait: 1s\n",
			cfg.url, cfg.database);
		fclose(f);
		snprintf(cmd, sizeof(cmd),
			 "'%s/weir' orchestrator -c '%s' --once >'%s/bound.log' 2>&1", build, path,
			 test_clickhouse_dir());
		r = system(cmd);
		CHECK(WIFEXITED(r) && WEXITSTATUS(r) == 1);
		snprintf(path, sizeof(path), "%s/bound.log", test_clickhouse_dir());
		log = read_text(path);
		CHECK(strstr(log, "gave up waiting for the orchestrator lock") != NULL);
		free(log);
	}
	CHECK_EQ(orch_lock_release(c, lock), 0);
	store_client_free(c);
	store_config_free(&cfg);
}

/* A holder judged dead (here: a higher generation appears, as when another
 * orchestrator took it over) learns it at release: -ENOLCK. */
TEST(lost_lock_is_reported)
{
	struct store_config cfg;
	struct store_client *c;
	struct orch_lock *lock;
	char *log;

	test_config(&cfg, "weir_t_lock_lost");
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	REQUIRE(orch_lock_acquire(c, &cfg, "test-holder", NULL, NULL, &lock) == 0);
	REQUIRE_EQ(table_count(c, "orchestrator_lock_1"), 1);
	qx(c, "CREATE TABLE orchestrator_lock_2 (heartbeat DateTime, released UInt8, holder String "
	      "DEFAULT 'host=other pid=9 started=2026-01-01T00:00:00Z for=migrations', "
	      "created DateTime DEFAULT now()) ENGINE = Log");
	capture_start();
	int r = orch_lock_release(c, lock);
	log = capture_end();
	CHECK_EQ(r, -ENOLCK);
	CHECK(strstr(log, "orchestrator lock lost") != NULL);
	CHECK(strstr(log, "new_holder=\"host=other pid=9") != NULL);
	free(log);
	/* Not marked released: the lock belongs to the other one now. */
	CHECK_EQ(qu(c, "SELECT max(released) FROM orchestrator_lock_1"), 0);
	store_client_free(c);
	store_config_free(&cfg);
}

/* 1 when `table` keeps its rows for `age_s` seconds by TTL. */
static int has_ttl(struct store_client *c, const char *table, uint64_t age_s)
{
	return (int)qu(c,
		       "SELECT count() FROM system.tables WHERE database = currentDatabase() AND "
		       "name = '%s' AND position(engine_full, 'TTL TimeReceived + "
		       "toIntervalSecond(%llu)') > 0",
		       table, (unsigned long long)age_s);
}

/* Retention under the lock: it waits while another orchestrator holds it
 * (nothing dropped or changed meanwhile), and passes run at the same time
 * drop each partition once between them. With TTL (current servers), the
 * pass changes the TTL to a new retention, under the lock as well. */
TEST(retention_runs_under_the_lock)
{
	static const unsigned days_ago[] = {40, 30, 20, 17, 0};
	struct store_config cfg;
	struct store_client *c;
	struct orch_lock *lock;
	struct job jobs[3];
	uint64_t now = (uint64_t)time(NULL);
	uint32_t version = 0;
	int total = 0;

	test_config(&cfg, "weir_t_lock_retention");
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	REQUIRE(orch_migrate(c, &cfg, 0) >= 0);
	REQUIRE(store_client_server_version(c, &version) == 0);
	if (orch_retention_uses_ttl(version)) {
		CHECK_EQ(orch_retention_run(c, &cfg, now), 0);
		CHECK(has_ttl(c, "flows", 15 * 86400ULL));
		cfg.retention.flows = 86400000ULL;
		cfg.retention.flows_1m = cfg.retention.flows_5m = cfg.retention.flows_1h = 0;
		REQUIRE(orch_lock_acquire(c, &cfg, "test-holder", NULL, NULL, &lock) == 0);
		job_start(&jobs[0], &cfg, 1, now);
		clock_sleep_ms(2000);
		CHECK_EQ(atomic_load(&jobs[0].done), 0);
		CHECK(has_ttl(c, "flows", 15 * 86400ULL));
		CHECK(has_ttl(c, "flows_1h", 1825 * 86400ULL));
		CHECK_EQ(orch_lock_release(c, lock), 0);
		CHECK_EQ(job_join(&jobs[0]), 0);
		CHECK(has_ttl(c, "flows", 86400));
		CHECK(!has_ttl(c, "flows_1h", 1825 * 86400ULL));
		cfg.retention.flows = 2 * 86400000ULL;
		for (int i = 0; i < 3; i++)
			job_start(&jobs[i], &cfg, 1, now);
		for (int i = 0; i < 3; i++)
			CHECK_EQ(job_join(&jobs[i]), 0);
		CHECK(has_ttl(c, "flows", 2 * 86400));
		goto out;
	}
	for (unsigned i = 0; i < sizeof(days_ago) / sizeof(days_ago[0]); i++)
		qx(c,
		   "INSERT INTO flows (TimeReceived, Bytes, Packets) VALUES (toDateTime(%llu), "
		   "1, 1)",
		   (unsigned long long)(now - days_ago[i] * 86400ULL));
	/* Retention of flows only: 15 d drops the first four days. */
	cfg.retention.flows_1m = cfg.retention.flows_5m = cfg.retention.flows_1h = 0;

	REQUIRE(orch_lock_acquire(c, &cfg, "test-holder", NULL, NULL, &lock) == 0);
	job_start(&jobs[0], &cfg, 1, now);
	clock_sleep_ms(2000);
	CHECK_EQ(atomic_load(&jobs[0].done), 0);
	CHECK_EQ(qu(c, "SELECT count() FROM flows"), 5);
	CHECK_EQ(orch_lock_release(c, lock), 0);
	CHECK_EQ(job_join(&jobs[0]), 4);
	CHECK_EQ(qu(c, "SELECT count() FROM flows"), 1);

	/* Three passes at once over four more old partitions. */
	for (unsigned i = 0; i < 4; i++)
		qx(c,
		   "INSERT INTO flows (TimeReceived, Bytes, Packets) VALUES (toDateTime(%llu), "
		   "1, 1)",
		   (unsigned long long)(now - days_ago[i] * 86400ULL));
	for (int i = 0; i < 3; i++)
		job_start(&jobs[i], &cfg, 1, now);
	for (int i = 0; i < 3; i++) {
		int r = job_join(&jobs[i]);
		CHECK(r >= 0);
		total += r > 0 ? r : 0;
	}
	CHECK_EQ(total, 4);
	CHECK_EQ(qu(c, "SELECT count() FROM flows"), 1);
out:
	store_client_free(c);
	store_config_free(&cfg);
}
