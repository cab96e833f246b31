// SPDX-License-Identifier: AGPL-3.0-or-later
/* The throw-away clickhouse-server of the C integration tests, started by
 * the bench stage's launcher (the one every private server comes from). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "store/store.h"
#include "test.h"
#include "test_clickhouse.h"

/* WEIR_TEST_STORE=embedded: the same tests on the engine embedded in the
 * test process (clickhouse.url embedded://DIR), skipped when libchdb.so does
 * not load. One engine per process: the harness opens it once (its client
 * `em_keep` holds it for the program) on one directory in $TMPDIR, removed
 * at exit; tests keep their own databases. */
static struct bench_clickhouse *ch;
static int ch_state; /* 0 not tried, 1 running, -1 unavailable */
static char ch_skip_reason[sizeof(((struct error *)0)->text)];
static struct store_client *em_keep;
static struct store_config em_cfg;
static char em_dir[512], em_url[600];

int test_clickhouse_embedded(void)
{
	const char *s = getenv("WEIR_TEST_STORE");

	return s && !strcmp(s, "embedded");
}

/* Removes em_dir once this process is gone: the engine's exit handler may
 * end the process with _exit() before other handlers run (chdb.h), and no
 * engine code may run from one. A grandchild waits for the end of a pipe
 * only this process holds (close-on-exec). */
static void em_reaper(void)
{
	int fd[2];
	char c;

	if (pipe2(fd, O_CLOEXEC) < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		if (fork() != 0)
			_exit(0);
		close(fd[1]);
		while (read(fd[0], &c, 1) > 0)
			;
		execlp("rm", "rm", "-rf", em_dir, (char *)NULL);
		_exit(127);
	}
	close(fd[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static const char *embedded_url(const char *name)
{
	const char *tmp = getenv("TMPDIR");
	struct error err;

	if (ch_state == 1)
		return em_url;
	if (ch_state == -1)
		SKIP(ch_skip_reason);
	ch_state = -1;
	snprintf(em_dir, sizeof(em_dir), "%s/%s-embedded-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	if (!mkdtemp(em_dir)) {
		snprintf(ch_skip_reason, sizeof(ch_skip_reason), "mkdtemp %s failed", em_dir);
		SKIP(ch_skip_reason);
	}
	snprintf(em_url, sizeof(em_url), "embedded://%s/db", em_dir);
	REQUIRE(store_config_defaults(&em_cfg) == 0);
	free(em_cfg.url);
	em_cfg.url = strdup(em_url);
	em_cfg.embedded_max_memory = 2ull << 30;
	em_reaper();
	if (store_client_new(&em_cfg, &em_keep, &err) < 0) {
		snprintf(ch_skip_reason, sizeof(ch_skip_reason), "%s", error_text(&err));
		SKIP(ch_skip_reason);
	}
	ch_state = 1;
	return em_url;
}

static void ch_cleanup(void)
{
	bench_clickhouse_free(ch);
	ch = NULL;
	ch_state = 0;
}

int test_clickhouse_control(const char *verb)
{
	if (test_clickhouse_embedded())
		SKIP("the embedded engine has no server to stop");
	if (!ch)
		return -1;
	if (!strcmp(verb, "stop"))
		return bench_clickhouse_stop(ch);
	if (!strcmp(verb, "start")) {
		struct error err;
		int r = bench_clickhouse_start(ch, &err);

		if (r < 0)
			fprintf(stderr, "%s\n", error_text(&err));
		return r;
	}
	return -EINVAL;
}

const char *test_clickhouse_dir(void)
{
	if (test_clickhouse_embedded())
		return em_dir;
	return ch ? bench_clickhouse_dir(ch) : "";
}

const char *test_clickhouse_url(const char *name)
{
	/* The server goes when this process goes, even killed. */
	struct bench_clickhouse_config cfg = {.name = name, .watch_pid = getpid()};
	struct error err;

	if (test_clickhouse_embedded())
		return embedded_url(name);
	if (ch_state == 1)
		return bench_clickhouse_url(ch);
	if (ch_state == -1)
		SKIP(ch_skip_reason);
	ch_state = -1;
	if (!bench_clickhouse_available()) {
		snprintf(ch_skip_reason, sizeof(ch_skip_reason),
			 "clickhouse-server is not installed");
		SKIP(ch_skip_reason);
	}
	if (bench_clickhouse_new(&cfg, &ch, &err) < 0) {
		snprintf(ch_skip_reason, sizeof(ch_skip_reason), "%s", error_text(&err));
		SKIP(ch_skip_reason);
	}
	atexit(ch_cleanup);
	if (bench_clickhouse_start(ch, &err) < 0) {
		test_fail_at(__FILE__, __LINE__, "clickhouse-server did not start: %s",
			     error_text(&err));
		test_stop();
	}
	ch_state = 1;
	return bench_clickhouse_url(ch);
}

void test_clickhouse_config(struct store_config *cfg, const char *name, const char *db)
{
	struct store_client *c;
	char q[256];

	REQUIRE(store_config_defaults(cfg) == 0);
	free(cfg->url);
	free(cfg->database);
	cfg->url = strdup(test_clickhouse_url(name));
	cfg->database = strdup(db);
	cfg->retry_min_ms = 50;
	cfg->retry_max_ms = 500;
	cfg->insert_timeout_ms = 20000;
	store_client_new(cfg, &c, NULL);
	REQUIRE(c);
	snprintf(q, sizeof(q), "DROP DATABASE IF EXISTS %s", db);
	REQUIRE(store_client_query_nodb(c, q, NULL) == 0);
	store_client_free(c);
}

uint64_t test_clickhouse_u64(struct store_client *c, const char *fmt, ...)
{
	char sql[4096];
	uint64_t v = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (store_client_query_u64(c, sql, &v) < 0)
		test_fail_at(__FILE__, __LINE__, "query failed: %s: %s", sql,
			     store_client_error(c));
	return v;
}
