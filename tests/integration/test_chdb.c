// SPDX-License-Identifier: AGPL-3.0-or-later
/* The embedded ClickHouse engine (user/store/chdb.c) on libchdb.so from
 * `make deps`: open and close, DDL and queries, SQL errors, batches in
 * Native format carrying every byte value, inserts beside SELECTs, reopen,
 * other processes, and kill -9 in the middle of inserts. Skipped when the
 * library is absent (but for the test of that case). One engine is shared
 * by the tests of this program (it takes seconds to load); the tests that
 * need a process of their own run this program again in a child mode. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cpu_time.h"
#include "store/chdb.h"
#include "store/store_internal.h"
#include "test.h"

/* ---- the shared engine ---- */

static struct store_chdb *shared;
static char shared_dir[256], skip_reason[600];
/* what opening changed in this process's signal state, "" when nothing */
static char signals_changed[256];

static const struct store_chdb_options shared_opt = {
    .max_memory_bytes = 2ull << 30,
    .max_threads = 2,
};

/* The directories are removed by a child that outlives this process: at
 * exit the engine may end the process with _exit() (store_chdb_shutdown),
 * and a test may crash. It waits for the end of a pipe only this process
 * holds (close-on-exec: not the children it runs), then removes them. */
static int reaper_fd = -1;

static void reaper_add(const char *dir)
{
	size_t n = strlen(dir) + 1;

	if (reaper_fd < 0) {
		int fd[2];
		pid_t pid;

		if (pipe2(fd, O_CLOEXEC) < 0)
			return;
		pid = fork();
		if (pid == 0) {
			/* (a child of its own, so that it is no zombie of ours) */
			if (fork() != 0)
				_exit(0);
			close(fd[1]);
			char buf[4096], path[1024];
			size_t have = 0;
			ssize_t r;

			while ((r = read(fd[0], buf + have, sizeof(buf) - have)) > 0)
				have += (size_t)r;
			for (size_t off = 0; off < have; off += strlen(buf + off) + 1) {
				snprintf(path, sizeof(path), "%s", buf + off);
				if (fork() == 0) {
					execlp("rm", "rm", "-rf", path, (char *)NULL);
					_exit(127);
				}
				wait(NULL);
			}
			_exit(0);
		}
		close(fd[0]);
		if (pid < 0) {
			close(fd[1]);
			return;
		}
		waitpid(pid, NULL, 0);
		reaper_fd = fd[1];
	}
	if (write(reaper_fd, dir, n) != (ssize_t)n)
		fprintf(stderr, "cannot hand %s to the reaper\n", dir);
}

static void temp_dir(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/weir-test-%s.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 name);
	REQUIRE(mkdtemp(out));
}

static void note_signal_changes(const sigset_t *mask, const struct sigaction *act)
{
	sigset_t now;
	size_t n = 0;

	pthread_sigmask(SIG_SETMASK, NULL, &now);
	for (int s = 1; s < 32; s++) {
		struct sigaction a;

		if (sigismember(&now, s) != sigismember(mask, s))
			n += (size_t)snprintf(signals_changed + n, sizeof(signals_changed) - n,
					      "mask %d; ", s);
		if (s == SIGKILL || s == SIGSTOP)
			continue;
		sigaction(s, NULL, &a);
		if (a.sa_handler != act[s].sa_handler)
			n += (size_t)snprintf(signals_changed + n, sizeof(signals_changed) - n,
					      "handler %d; ", s);
		if (n >= sizeof(signals_changed))
			break;
	}
}

/* The shared engine, opened on first use; skips when the library is not
 * there. */
static struct store_chdb *engine(void)
{
	struct error err = {{0}};
	struct sigaction act[32];
	sigset_t mask;
	int r;

	if (shared)
		return shared;
	if (skip_reason[0])
		SKIP(skip_reason);
	if (!shared_dir[0]) {
		temp_dir(shared_dir, sizeof(shared_dir), "chdb");
		reaper_add(shared_dir);
	}
	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	for (int s = 1; s < 32; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, NULL, &act[s]);
	r = store_chdb_open(shared_dir, &shared_opt, &shared, &err);
	if (r == -ENOENT) {
		snprintf(skip_reason, sizeof(skip_reason), "%s", err.text);
		SKIP(skip_reason);
	}
	if (r < 0)
		test_fail_at(__FILE__, __LINE__, "store_chdb_open: %d %s", r, err.text);
	REQUIRE(r == 0);
	note_signal_changes(&mask, act);
	return shared;
}

static struct store_chdb_conn *conn(void)
{
	struct store_chdb_conn *c = NULL;
	struct error err = {{0}};
	int r = store_chdb_conn_new(engine(), &c, &err);

	if (r < 0)
		test_fail_at(__FILE__, __LINE__, "store_chdb_conn_new: %s", err.text);
	REQUIRE(r == 0 && c);
	return c;
}

/* Runs a statement; fails the test on error. */
static void ex(struct store_chdb_conn *c, const char *sql)
{
	struct error err = {{0}};

	if (store_chdb_exec(c, sql, &err) < 0)
		test_fail_at(__FILE__, __LINE__, "%s: %s", sql, err.text);
}

/* A query's TabSeparated answer without its last newline (caller frees). */
static char *qs(struct store_chdb_conn *c, const char *sql)
{
	struct error err = {{0}};
	char *out = NULL;
	size_t n = 0;

	if (store_chdb_query(c, sql, NULL, &out, &n, &err) < 0) {
		test_fail_at(__FILE__, __LINE__, "%s: %s", sql, err.text);
		return strdup("<error>");
	}
	while (n && out[n - 1] == '\n')
		out[--n] = 0;
	return out;
}

static uint64_t qu(struct store_chdb_conn *c, const char *sql)
{
	char *s = qs(c, sql);
	uint64_t v = strtoull(s, NULL, 10);

	free(s);
	return v;
}

/* ---- Native blocks ---- */

static void put(struct buf *b, const void *p, size_t n)
{
	REQUIRE(buf_append(b, p, n) == 0);
}

static void put_bytes_string(struct buf *b, const uint8_t *s, size_t n)
{
	REQUIRE(store_native_put_varint(b, n) == 0);
	put(b, s, n);
}

static void put_header(struct buf *b, const char *name, const char *type)
{
	REQUIRE(store_native_put_string(b, name) == 0);
	REQUIRE(store_native_put_string(b, type) == 0);
}

/* Row i's String: every byte value (rotated by i), then "\n\n" i % 7 times;
 * every eleventh row is "\n\n" alone, every thirteenth empty. */
static size_t row_bytes(uint32_t i, uint8_t *s)
{
	size_t n = 0;

	if (i % 13 == 0)
		return 0;
	if (i % 11 != 0)
		for (unsigned k = 0; k < 256; k++)
			s[n++] = (uint8_t)(k + i);
	for (unsigned k = 0; k < (i % 11 == 0 ? 1 : i % 7); k++) {
		s[n++] = '\n';
		s[n++] = '\n';
	}
	return n;
}

/* One block of `rows` rows of (batch UInt32, i UInt32, v UInt64,
 * f FixedString(16), s String): i from 0 (0x0a0a among them), v and f
 * full of 0x0a bytes, s from row_bytes(). */
static void build_block(struct buf *b, uint32_t batch, uint32_t rows)
{
	uint8_t s[256 + 16];

	REQUIRE(store_native_put_varint(b, 5) == 0);
	REQUIRE(store_native_put_varint(b, rows) == 0);
	put_header(b, "batch", "UInt32");
	for (uint32_t i = 0; i < rows; i++)
		put(b, &batch, 4);
	put_header(b, "i", "UInt32");
	for (uint32_t i = 0; i < rows; i++)
		put(b, &i, 4);
	put_header(b, "v", "UInt64");
	for (uint32_t i = 0; i < rows; i++) {
		uint64_t v = 0x0a0a0a0a0a0a0a0aull ^ ((uint64_t)i << 40);
		put(b, &v, 8);
	}
	put_header(b, "f", "FixedString(16)");
	for (uint32_t i = 0; i < rows; i++) {
		memset(s, '\n', 16);
		memcpy(s + 6, &i, 4);
		put(b, s, 16);
	}
	put_header(b, "s", "String");
	for (uint32_t i = 0; i < rows; i++)
		put_bytes_string(b, s, row_bytes(i, s));
}

/* What SELECT i, v, f, s ... ORDER BY i FORMAT RowBinary must answer. */
static void expected_rowbinary(struct buf *b, uint32_t rows)
{
	uint8_t s[256 + 16];

	for (uint32_t i = 0; i < rows; i++) {
		uint64_t v = 0x0a0a0a0a0a0a0a0aull ^ ((uint64_t)i << 40);

		put(b, &i, 4);
		put(b, &v, 8);
		memset(s, '\n', 16);
		memcpy(s + 6, &i, 4);
		put(b, s, 16);
		put_bytes_string(b, s, row_bytes(i, s));
	}
}

static const char table_ddl[] =
    "CREATE TABLE %s (batch UInt32, i UInt32, v UInt64, f FixedString(16), s String) "
    "ENGINE = MergeTree ORDER BY (batch, i)";
static const char table_insert[] = "INSERT INTO %s (batch, i, v, f, s)";

/* The block cut into pieces of 1, 2, 3, 5, 8... bytes (then again from 1),
 * so that pieces end between the two bytes of "\n\n" and inside headers. */
static size_t cut(const struct buf *b, struct iovec *iov, size_t max)
{
	size_t n = 0, off = 0, a = 1, c = 2;

	while (off < b->len && n < max) {
		size_t len = a;

		if (len > b->len - off || n == max - 1)
			len = b->len - off;
		iov[n++] = (struct iovec){b->data + off, len};
		off += len;
		a = c;
		c = a + len;
		if (c > 65536)
			a = 1, c = 2;
	}
	return n;
}

/* ---- child modes: this program run again, for what needs its own process ---- */

static int child_missing(const char *dir)
{
	struct store_chdb *db = NULL;
	struct error err = {{0}};
	struct store_chdb_options opt = {.library = "/nonexistent/libchdb.so"};
	int r = store_chdb_open(dir, &opt, &db, &err);

	printf("%d %s\n", r, err.text);
	return r == -ENOENT && strstr(err.text, "make deps") &&
		       strstr(err.text, "/nonexistent/libchdb.so")
		   ? 0
		   : 1;
}

static int child_busy(const char *dir)
{
	struct store_chdb *db = NULL;
	struct error err = {{0}};
	int r = store_chdb_open(dir, NULL, &db, &err);

	printf("%d %s\n", r, err.text);
	store_chdb_close(db);
	return r == -EBUSY && strstr(err.text, "in use by another process") ? 0 : 1;
}

#define KILL_ROWS 20000
#define STR_(x)	  #x
#define STR(x)	  STR_(x)

/* Inserts blocks of KILL_ROWS rows until killed, "ack N" after each. */
static int child_insert(const char *dir)
{
	struct store_chdb *db = NULL;
	struct store_chdb_conn *c = NULL;
	struct buf b = {0};
	struct error err = {{0}};
	char sql[256];
	int r = store_chdb_open(dir, NULL, &db, &err);

	if (r == 0)
		r = store_chdb_conn_new(db, &c, &err);
	snprintf(sql, sizeof(sql), table_ddl, "k");
	if (r == 0)
		r = store_chdb_exec(c, sql, &err);
	snprintf(sql, sizeof(sql), table_insert, "k");
	for (uint32_t batch = 0; r == 0; batch++) {
		struct iovec iov = {0};

		b.len = 0;
		build_block(&b, batch, KILL_ROWS);
		iov = (struct iovec){b.data, b.len};
		r = store_chdb_insert_native(c, sql, &iov, 1, NULL, &err);
		if (r == 0)
			printf("ack %u\n", batch + 1);
		fflush(stdout);
	}
	printf("error %d %s\n", r, err.text);
	return 1;
}

static int child_count(const char *dir)
{
	struct store_chdb *db = NULL;
	struct store_chdb_conn *c = NULL;
	struct error err = {{0}};
	char *out = NULL;
	int r = store_chdb_open(dir, NULL, &db, &err);

	if (r == 0)
		r = store_chdb_conn_new(db, &c, &err);
	if (r == 0)
		r = store_chdb_query(c,
				     "SELECT count(), uniqExact(batch), max(batch) + 1, (SELECT "
				     "count() FROM (SELECT batch FROM k GROUP BY batch HAVING "
				     "count() != " STR(KILL_ROWS) ")) FROM k",
				     NULL, &out, NULL, &err);
	if (r < 0) {
		printf("error %d %s\n", r, err.text);
		return 1;
	}
	printf("%s", out);
	free(out);
	store_chdb_conn_free(c);
	store_chdb_close(db);
	return 0;
}

__attribute__((constructor)) static void child_mode(void)
{
	const char *mode = getenv("TEST_CHDB_CHILD"), *dir = getenv("TEST_CHDB_DIR");

	if (!mode || !dir)
		return;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "missing"))
		exit(child_missing(dir));
	if (!strcmp(mode, "busy"))
		exit(child_busy(dir));
	if (!strcmp(mode, "insert"))
		exit(child_insert(dir));
	if (!strcmp(mode, "count"))
		exit(child_count(dir));
	exit(2);
}

/* Runs this program in `mode` on `dir` with its stdout on a pipe: *out. */
static pid_t child_start(const char *mode, const char *dir, FILE **out)
{
	int fd[2];
	pid_t pid;

	REQUIRE(pipe(fd) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		char *argv[] = {"test_chdb", NULL};

		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		setenv("TEST_CHDB_CHILD", mode, 1);
		setenv("TEST_CHDB_DIR", dir, 1);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(fd[1]);
	*out = fdopen(fd[0], "r");
	REQUIRE(*out);
	return pid;
}

/* Runs a child to its end: its exit status, its output in `text`. */
static int child_run(const char *mode, const char *dir, char *text, size_t size)
{
	FILE *out;
	pid_t pid = child_start(mode, dir, &out);
	size_t n = fread(text, 1, size - 1, out);
	int status = 0;

	text[n] = 0;
	fclose(out);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- tests ---- */

/* First: in a process of its own, without the library. */
TEST(missing_library_names_make_deps)
{
	char dir[256], text[1024];
	int status;

	temp_dir(dir, sizeof(dir), "chdb-missing");
	status = child_run("missing", dir, text, sizeof(text));
	printf("# %s", text);
	CHECK_EQ(status, 0);
	CHECK(strstr(text, "run `make deps`"));
	rmdir(dir);
}

TEST(open_reads_weirs_config_and_keeps_signals)
{
	struct store_chdb_conn *c = conn();
	char path[512], *s;
	FILE *f;

	CHECK_STR(signals_changed, "");
	s = qs(c, "SELECT version()");
	CHECK(!strncmp(s, "26.7.", 5));
	free(s);
	CHECK_EQ(qu(c, "SELECT value FROM system.server_settings WHERE name = "
		       "'max_server_memory_usage'"),
		 shared_opt.max_memory_bytes);
	CHECK_EQ(qu(c, "SELECT value FROM system.server_settings WHERE name = 'mark_cache_size'"),
		 shared_opt.max_memory_bytes / 8);
	CHECK_EQ(qu(c, "SELECT getSetting('max_threads')"), 2);
	CHECK_EQ(qu(c, "SELECT getSetting('min_insert_block_size_rows')"), 0);
	snprintf(path, sizeof(path), "%s/weir-engine.xml", store_chdb_dir(engine()));
	f = fopen(path, "r");
	CHECK(f);
	if (f)
		fclose(f);
	CHECK(strstr(store_chdb_library(engine()), "libchdb.so"));
	store_chdb_conn_free(c);
}

TEST(ddl_and_queries)
{
	struct store_chdb_conn *c = conn();
	char *s;

	ex(c, "CREATE DATABASE IF NOT EXISTS ddl");
	ex(c, "USE ddl");
	/* What the current engine gives the schema (migrations.c uses none of
	 * it yet): TTL, codecs, LowCardinality, IPv6. */
	ex(c, "CREATE TABLE t (TimeReceived DateTime CODEC(Delta, ZSTD(1)), "
	      "ExporterName LowCardinality(String), SrcAddr IPv6 CODEC(ZSTD(1)), Bytes UInt64) "
	      "ENGINE = MergeTree PARTITION BY toYYYYMMDD(TimeReceived) "
	      "ORDER BY (toStartOfMinute(TimeReceived), ExporterName) "
	      "TTL TimeReceived + INTERVAL 15 DAY");
	ex(c, "INSERT INTO t VALUES (now(), 'edge1', '2001:db8::1', 1500), "
	      "(now(), 'edge2', '::ffff:192.0.2.1', 40)");
	s = qs(c, "SELECT ExporterName, SrcAddr, Bytes FROM t ORDER BY ExporterName");
	CHECK_STR(s, "edge1\t2001:db8::1\t1500\nedge2\t::ffff:192.0.2.1\t40");
	free(s);
	{
		struct error err = {{0}};
		char *out = NULL;
		size_t n = 0;

		CHECK_EQ(store_chdb_query(c, "SELECT sum(Bytes) AS b FROM t", "JSONEachRow", &out,
					  &n, &err),
			 0);
		CHECK_STR(out, "{\"b\":1540}\n");
		CHECK_EQ(n, strlen("{\"b\":1540}\n"));
		free(out);
	}
	s = qs(c, "SELECT currentDatabase()");
	CHECK_STR(s, "ddl");
	free(s);
	/* An insert writes LZ4 (cheaper for the engine's insert), a merge
	 * zstd, as on the servers (weir-engine.xml): LZ4 left flows half as
	 * big again. */
	s = qs(c, "SELECT DISTINCT default_compression_codec FROM system.parts WHERE active AND "
		  "database = 'ddl' AND table = 't'");
	CHECK_STR(s, "LZ4");
	free(s);
	ex(c, "OPTIMIZE TABLE t FINAL");
	s = qs(c, "SELECT DISTINCT default_compression_codec FROM system.parts WHERE active AND "
		  "database = 'ddl' AND table = 't'");
	CHECK_STR(s, "ZSTD(1)");
	free(s);
	s = qs(c, "SELECT ExporterName, SrcAddr, Bytes FROM t ORDER BY ExporterName");
	CHECK_STR(s, "edge1\t2001:db8::1\t1500\nedge2\t::ffff:192.0.2.1\t40");
	free(s);
	/* Parts are compact below 4M rows, whatever their bytes, merges take
	 * ~10 parts and are horizontal (cheaper on the writer's batches). */
	s = qs(c, "SELECT name, value FROM system.merge_tree_settings WHERE name IN "
		  "('min_bytes_for_wide_part', 'min_rows_for_wide_part', 'merge_selector_base', "
		  "'enable_vertical_merge_algorithm', 'merge_max_block_size') ORDER BY name");
	CHECK_STR(s, "enable_vertical_merge_algorithm\t0\nmerge_max_block_size\t65536\n"
		     "merge_selector_base\t10\n"
		     "min_bytes_for_wide_part\t0\nmin_rows_for_wide_part\t4000000");
	free(s);
	s = qs(c, "SELECT DISTINCT part_type FROM system.parts WHERE active AND "
		  "database = 'ddl' AND table = 't'");
	CHECK_STR(s, "Compact");
	free(s);
	store_chdb_conn_free(c);
}

/* The highest nice value of a thread (field 19 of its stat) into *ctx. */
static void max_nice(const char *task, void *ctx)
{
	char path[320], stat[1024];
	const char *p;
	int v;

	snprintf(path, sizeof(path), "%s/stat", task);
	p = proc_stat_read(path, stat, sizeof(stat));
	/* nice is field 19; p is at field 3 */
	if (p &&
	    sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %d", &v) ==
		1 &&
	    v > *(int *)ctx)
		*(int *)ctx = v;
}

/* `parts` inserts of 1M rows each into `table` (k UInt64, v String), the
 * i-th with k = number * parts + i (their keys interleave) and v the
 * expression `value` of number. */
static void insert_numbers(struct store_chdb_conn *c, const char *table, int parts,
			   const char *value, const char *settings)
{
	for (int i = 0; i < parts; i++) {
		char sql[256];

		snprintf(sql, sizeof(sql),
			 "INSERT INTO %s SELECT number * %d + %d, %s FROM numbers(1000000)%s",
			 table, parts, i, value, settings);
		ex(c, sql);
	}
}

/* Merges run at nice 10 (weir-engine.xml), so that weir's receive path,
 * decoders and the inserts they wait for go first on a busy machine. */
TEST(merges_run_below_weirs_threads)
{
	struct store_chdb_conn *c = conn();
	int nice = -100;

	CHECK_EQ(qu(c, "SELECT value FROM system.server_settings WHERE name = "
		       "'os_threads_nice_value_merge_mutate'"),
		 10);
	ex(c, "CREATE DATABASE IF NOT EXISTS nice");
	ex(c, "CREATE TABLE nice.t (k UInt64, v String) ENGINE = MergeTree ORDER BY k");
	ex(c, "SYSTEM STOP MERGES nice.t");
	/* Parts for a background merge of a few seconds (OPTIMIZE would merge
	 * in the caller's thread), looked at while it runs: the engine sets
	 * the value for the time of a merge. */
	insert_numbers(c, "nice.t", 8, "toString(cityHash64(number))", "");
	ex(c, "SYSTEM START MERGES nice.t");
	for (int i = 0; i < 3000 && nice < 10; i++) {
		threads_named("MergeMutate", max_nice, &nice);
		if (i > 100 &&
		    !qu(c, "SELECT count() FROM system.merges WHERE database = 'nice'") &&
		    qu(c, "SELECT count() FROM system.parts WHERE active AND database = 'nice'") ==
			1)
			break;
		usleep(5000);
	}
	printf("# merge threads' nice while merging: %d\n", nice);
	CHECK_EQ(nice, 10);
	ex(c, "DROP DATABASE nice SYNC");
	store_chdb_conn_free(c);
}

/* A batch of up to 4M rows is inserted as a compact part (a file or two):
 * wide, it would be two files per column, and creating them took ext4 a
 * third of the engine's insert CPU at 640k flows/s here. A merge into 4M
 * rows or more makes a wide one, which later merges read a column at a time. */
TEST(batches_are_compact_parts_merges_wide)
{
	struct store_chdb_conn *c = conn();
	char *s;

	ex(c, "CREATE DATABASE IF NOT EXISTS parts");
	ex(c, "CREATE TABLE parts.t (k UInt64, v String) ENGINE = MergeTree ORDER BY k");
	ex(c, "SYSTEM STOP MERGES parts.t");
	insert_numbers(c, "parts.t", 4, "toString(number)", " SETTINGS max_block_size = 1000000");
	s = qs(c, "SELECT part_type, rows FROM system.parts WHERE active AND database = 'parts' "
		  "ORDER BY name");
	CHECK_STR(s, "Compact\t1000000\nCompact\t1000000\nCompact\t1000000\nCompact\t1000000");
	free(s);
	ex(c, "SYSTEM START MERGES parts.t");
	ex(c, "OPTIMIZE TABLE parts.t FINAL");
	CHECK_EQ(qu(c, "SELECT countIf(part_type = 'Wide') FROM system.parts WHERE active "
		       "AND database = 'parts' AND rows = 4000000"),
		 1);
	ex(c, "DROP DATABASE parts SYNC");
	store_chdb_conn_free(c);
}

TEST(sql_errors_are_clear_and_leave_the_connection_usable)
{
	struct store_chdb_conn *c = conn();
	struct error err = {{0}};
	char *out = (char *)1;

	CHECK_EQ(store_chdb_query(c, "SELECT * FROM nosuch_table", NULL, &out, NULL, &err), -EIO);
	CHECK(out == NULL);
	printf("# %s\n", err.text);
	CHECK(strstr(err.text, "store: embedded ClickHouse: Code: 60."));
	CHECK(strstr(err.text, "UNKNOWN_TABLE"));
	CHECK(!strchr(err.text, '\n'));
	CHECK_EQ(store_chdb_exec(c, "SELEKT 1", &err), -EIO);
	printf("# %s\n", err.text);
	CHECK(strstr(err.text, "SYNTAX_ERROR"));
	CHECK_EQ(qu(c, "SELECT 41 + 1"), 42);
	store_chdb_conn_free(c);
}

/* Every byte value, "\n\n" many times, pieces cut anywhere: stored exactly,
 * through both ways of inserting. */
static void all_bytes(enum store_chdb_insert_via via, const char *table)
{
	struct store_chdb_conn *c = conn();
	struct buf b = {0}, want = {0};
	struct iovec iov[512];
	struct error err = {{0}};
	char sql[256], *out = NULL;
	uint64_t written = 0;
	size_t n, len = 0;
	const uint32_t rows = 3000; /* (0x0a0a = 2570 is among the ids) */
	int r;

	store_chdb_conn_insert_via(c, via);
	ex(c, "CREATE DATABASE IF NOT EXISTS bytes");
	ex(c, "USE bytes");
	snprintf(sql, sizeof(sql), table_ddl, table);
	ex(c, sql);
	build_block(&b, 7, rows);
	CHECK(memmem(b.data, b.len, "\n\n", 2));
	n = cut(&b, iov, 512);
	snprintf(sql, sizeof(sql), table_insert, table);
	r = store_chdb_insert_native(c, sql, iov, n, &written, &err);
	if (r < 0)
		test_fail_at(__FILE__, __LINE__, "insert: %s", err.text);
	CHECK_EQ(r, 0);
	CHECK_EQ(written, rows);
	expected_rowbinary(&want, rows);
	snprintf(sql, sizeof(sql), "SELECT i, v, f, s FROM %s ORDER BY i", table);
	REQUIRE(store_chdb_query(c, sql, "RowBinary", &out, &len, &err) == 0);
	CHECK_EQ(len, want.len);
	CHECK(len == want.len && memcmp(out, want.data, len) == 0);
	snprintf(sql, sizeof(sql), "SELECT count() FROM %s WHERE position(s, '\\n\\n') > 0", table);
	{
		uint8_t s[256 + 16];
		uint64_t with = 0;

		for (uint32_t i = 0; i < rows; i++) {
			size_t k = row_bytes(i, s);
			with += k >= 2 && memmem(s, k, "\n\n", 2) != NULL;
		}
		CHECK(with > rows / 2);
		CHECK_EQ(qu(c, sql), with);
	}
	free(out);
	buf_free(&b);
	buf_free(&want);
	store_chdb_conn_free(c);
}

TEST(native_batch_every_byte_value_stream)
{
	all_bytes(STORE_CHDB_INSERT_STREAM, "via_stream");
}

TEST(native_batch_every_byte_value_memfd)
{
	all_bytes(STORE_CHDB_INSERT_MEMFD, "via_memfd");
}

TEST(native_batch_errors)
{
	struct store_chdb_conn *c = conn();
	struct buf b = {0};
	struct iovec iov;
	struct error err = {{0}};

	ex(c, "CREATE DATABASE IF NOT EXISTS errs");
	ex(c, "USE errs");
	ex(c, "CREATE TABLE e (batch UInt32, i UInt32, v UInt64, f FixedString(16), s String) "
	      "ENGINE = MergeTree ORDER BY i");
	for (int via = 0; via < 2; via++) {
		store_chdb_conn_insert_via(c, (enum store_chdb_insert_via)via);
		iov = (struct iovec){"garbage\n\ngarbage", 16};
		CHECK_EQ(store_chdb_insert_native(c, "INSERT INTO e (batch, i, v, f, s)", &iov, 1,
						  NULL, &err),
			 -EIO);
		printf("# via %d: %s\n", via, err.text);
		b.len = 0;
		build_block(&b, 1, 10);
		iov = (struct iovec){b.data, b.len};
		CHECK_EQ(store_chdb_insert_native(c, "INSERT INTO nosuch (batch, i, v, f, s)", &iov,
						  1, NULL, &err),
			 -EIO);
		CHECK(strstr(err.text, "UNKNOWN_TABLE"));
		/* a block cut short: nothing of it lands */
		iov.iov_len = b.len - 100;
		CHECK_EQ(store_chdb_insert_native(c, "INSERT INTO e (batch, i, v, f, s)", &iov, 1,
						  NULL, &err),
			 -EIO);
		CHECK_EQ(qu(c, "SELECT count() FROM e"), 0);
	}
	iov = (struct iovec){b.data, b.len};
	CHECK_EQ(
	    store_chdb_insert_native(c, "INSERT INTO e (batch, i, v, f, s)", &iov, 1, NULL, &err),
	    0);
	CHECK_EQ(qu(c, "SELECT count() FROM e"), 10);
	buf_free(&b);
	store_chdb_conn_free(c);
}

/* The engine, as clickhouse-local, would take the process's standard input
 * as more rows of an INSERT ... VALUES when it is not a terminal: such
 * statements must not look at it. */
TEST(insert_values_ignores_standard_input)
{
	struct store_chdb_conn *c = conn();
	static const char junk[] = "(666, 'from stdin')\n";
	char back[64] = "";
	int fd[2], saved;
	ssize_t n;

	ex(c, "CREATE DATABASE IF NOT EXISTS vals");
	ex(c, "CREATE TABLE vals.t (k UInt32, s String) ENGINE = MergeTree ORDER BY k");
	REQUIRE(pipe(fd) == 0);
	REQUIRE(write(fd[1], junk, strlen(junk)) == (ssize_t)strlen(junk));
	close(fd[1]); /* (open, a reader of the pipe would wait for more) */
	saved = dup(0);
	REQUIRE(saved >= 0 && dup2(fd[0], 0) == 0);
	ex(c, "INSERT INTO vals.t (k, s) VALUES (1, 'a\n\nb'), (2, 'c')");
	ex(c, "insert into vals.t format TSV\n3\td\n4\te\n");
	ex(c, "INSERT INTO vals.t SELECT 5, 'f'");
	dup2(saved, 0);
	close(saved);
	/* what was in the pipe is still there: nobody read it */
	n = read(fd[0], back, sizeof(back) - 1);
	close(fd[0]);
	CHECK_EQ(n, (ssize_t)strlen(junk));
	CHECK_EQ(qu(c, "SELECT count() FROM vals.t"), 5);
	CHECK_EQ(qu(c, "SELECT count() FROM vals.t WHERE k = 666"), 0);
	CHECK_EQ(qu(c, "SELECT count() FROM vals.t WHERE s = 'a\n\nb'"), 1);
	CHECK_EQ(qu(c, "SELECT sum(k) FROM vals.t"), 15);
	store_chdb_conn_free(c);
}

struct inserter {
	struct store_chdb_conn *c;
	unsigned batches;
	int failed;
	char error[512];
};

static void *insert_batches(void *arg)
{
	struct inserter *in = arg;
	struct buf b = {0};
	struct error err = {{0}};

	for (unsigned k = 0; k < in->batches && !in->failed; k++) {
		struct iovec iov;

		b.len = 0;
		build_block(&b, k, 20000);
		iov = (struct iovec){b.data, b.len};
		if (store_chdb_insert_native(in->c, "INSERT INTO conc.t (batch, i, v, f, s)", &iov,
					     1, NULL, &err) < 0) {
			in->failed = 1;
			snprintf(in->error, sizeof(in->error), "%s", err.text);
		}
	}
	buf_free(&b);
	return NULL;
}

TEST(insert_on_one_connection_while_another_selects)
{
	struct store_chdb_conn *w = conn(), *r = conn();
	struct inserter in = {.c = w, .batches = 10};
	uint64_t last = 0, selects = 0;
	pthread_t th;

	ex(r, "CREATE DATABASE IF NOT EXISTS conc");
	ex(r, "CREATE TABLE conc.t (batch UInt32, i UInt32, v UInt64, f FixedString(16), "
	      "s String) ENGINE = MergeTree ORDER BY (batch, i)");
	REQUIRE(pthread_create(&th, NULL, insert_batches, &in) == 0);
	for (;;) {
		struct error err = {{0}};
		char *out = NULL;
		uint64_t n;

		if (store_chdb_query(r, "SELECT count() FROM conc.t", NULL, &out, NULL, &err) < 0) {
			test_fail_at(__FILE__, __LINE__, "select: %s", err.text);
			break;
		}
		n = strtoull(out, NULL, 10);
		free(out);
		selects++;
		CHECK(n >= last && n % 20000 == 0);
		last = n;
		if (n == 10 * 20000 || in.failed)
			break;
	}
	pthread_join(th, NULL);
	if (in.failed)
		test_fail_at(__FILE__, __LINE__, "insert: %s", in.error);
	CHECK_EQ(qu(r, "SELECT count() FROM conc.t"), 10 * 20000);
	printf("# %llu SELECTs during the inserts\n", (unsigned long long)selects);
	CHECK(selects > 1);
	store_chdb_conn_free(w);
	store_chdb_conn_free(r);
}

TEST(one_directory_per_process)
{
	struct store_chdb *db = engine(), *again = NULL, *other = NULL;
	struct error err = {{0}};
	char dir[256], text[1024];

	/* the same directory again: the same engine, one more reference */
	CHECK_EQ(store_chdb_open(shared_dir, NULL, &again, &err), 0);
	CHECK(again == db);
	store_chdb_close(again);
	temp_dir(dir, sizeof(dir), "chdb-other");
	CHECK_EQ(store_chdb_open(dir, NULL, &other, &err), -EBUSY);
	CHECK(other == NULL);
	printf("# %s\n", err.text);
	rmdir(dir);
	/* another process on this one */
	CHECK_EQ(child_run("busy", shared_dir, text, sizeof(text)), 0);
	printf("# %s", text);
	CHECK(strstr(text, "(pid "));
}

TEST(reopen_after_close)
{
	struct store_chdb_conn *c = conn(), *left = conn();
	struct error err = {{0}};
	char *out = NULL;

	ex(c, "CREATE DATABASE IF NOT EXISTS reopen");
	ex(c, "CREATE TABLE reopen.t (x UInt64) ENGINE = MergeTree ORDER BY x");
	ex(c, "INSERT INTO reopen.t SELECT number FROM numbers(12345)");
	store_chdb_conn_free(c);
	/* the last reference: every connection closed, `left` included */
	store_chdb_close(shared);
	shared = NULL;
	CHECK_EQ(store_chdb_query(left, "SELECT 1", NULL, &out, NULL, &err), -ENOTCONN);
	store_chdb_conn_free(left);
	c = conn(); /* opens the directory again */
	CHECK_EQ(qu(c, "SELECT count() FROM reopen.t"), 12345);
	CHECK_EQ(qu(c, "SELECT sum(x) FROM reopen.t"), 12345ull * 12344 / 2);
	store_chdb_conn_free(c);
}

/* kill -9 in the middle of inserts, then the database opened again by
 * another process: every acknowledged batch is there, whole; the one in
 * flight is there whole or not at all. */
TEST(kill_9_mid_insert_keeps_acknowledged_rows)
{
	char dir[256], line[256], text[512];
	unsigned acked = 0;
	unsigned long long rows = 0, batches = 0, top = 0, partial = 1;
	FILE *out;
	pid_t pid;
	int status;

	engine(); /* (skips when there is no library) */
	temp_dir(dir, sizeof(dir), "chdb-kill");
	reaper_add(dir);
	pid = child_start("insert", dir, &out);
	while (fgets(line, sizeof(line), out)) {
		if (sscanf(line, "ack %u", &acked) != 1) {
			test_fail_at(__FILE__, __LINE__, "child: %s", line);
			break;
		}
		if (acked == 8) {
			/* the ninth is on its way: kill it somewhere inside */
			usleep(1000 * (unsigned)(time(NULL) % 20));
			kill(pid, SIGKILL);
			break;
		}
	}
	/* Batches acknowledged between the eighth and the kill (a short
	 * insert can finish several in the delay) are still in the pipe. */
	while (fgets(line, sizeof(line), out))
		if (sscanf(line, "ack %u", &acked) != 1)
			break;
	fclose(out);
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	REQUIRE(acked >= 8);
	CHECK_EQ(child_run("count", dir, text, sizeof(text)), 0);
	printf("# acknowledged %u batches; after restart: %s", acked, text);
	CHECK_EQ(sscanf(text, "%llu\t%llu\t%llu\t%llu", &rows, &batches, &top, &partial), 4);
	CHECK(batches == acked || batches == acked + 1);
	CHECK_EQ(top, batches);
	CHECK_EQ(rows, batches * KILL_ROWS);
	CHECK_EQ(partial, 0);
}
