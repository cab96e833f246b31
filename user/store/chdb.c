// SPDX-License-Identifier: AGPL-3.0-or-later
/* The embedded ClickHouse engine (libchdb.so) behind dlopen: loading and
 * version check, one engine per process with its connections, statements,
 * queries and Native batches. Findings this follows: ../shared/PLATFORM.md
 * "ClickHouse embedded". */
#include "chdb.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

/* ---- the C API of chdb.h (chdb-io/chdb-core, programs/local/chdb.h) ----
 * Only what is used, declared here: the library is optional, so its header
 * is not needed to build weir. Handles are opaque pointers. */
typedef struct {
	void *internal_data;
} chdb_result;
typedef struct {
	void *internal_data;
} * chdb_connection;
typedef struct {
	void *internal_data;
} * chdb_insert_stream;

struct chdb_api {
	const char *(*version)(void);
	void (*set_signal_handlers_enabled)(int enabled);
	chdb_connection *(*connect)(int argc, char **argv);
	void (*close_conn)(chdb_connection *conn);
	chdb_result *(*query)(chdb_connection conn, const char *query, const char *format);
	char *(*result_buffer)(chdb_result *result);
	size_t (*result_length)(chdb_result *result);
	uint64_t (*result_rows_written)(chdb_result *result);
	const char *(*result_error)(chdb_result *result);
	void (*destroy_query_result)(chdb_result *result);
	chdb_insert_stream (*stream_insert)(chdb_connection conn, const char *query,
					    const char *format);
	int (*stream_append)(chdb_insert_stream stream, const void *data, size_t len);
	chdb_result *(*stream_done)(chdb_insert_stream stream);
	const char *(*stream_insert_error)(chdb_insert_stream stream);
	void (*destroy_insert_stream)(chdb_insert_stream stream);
	int (*shutdown)(void);
};

/* One dlsym per function, by name, into the table above. */
static const struct {
	const char *name;
	size_t offset;
} api_symbols[] = {
#define SYM(field, name)                                                                           \
	{                                                                                          \
		name, offsetof(struct chdb_api, field)                                             \
	}
    SYM(version, "chdb_version"),
    SYM(set_signal_handlers_enabled, "chdb_set_signal_handlers_enabled"),
    SYM(connect, "chdb_connect"),
    SYM(close_conn, "chdb_close_conn"),
    SYM(query, "chdb_query"),
    SYM(result_buffer, "chdb_result_buffer"),
    SYM(result_length, "chdb_result_length"),
    SYM(result_rows_written, "chdb_result_rows_written"),
    SYM(result_error, "chdb_result_error"),
    SYM(destroy_query_result, "chdb_destroy_query_result"),
    SYM(stream_insert, "chdb_stream_insert"),
    SYM(stream_append, "chdb_stream_append"),
    SYM(stream_done, "chdb_stream_done"),
    SYM(stream_insert_error, "chdb_stream_insert_error"),
    SYM(destroy_insert_stream, "chdb_destroy_insert_stream"),
    SYM(shutdown, "chdb_shutdown"),
#undef SYM
};

struct store_chdb {
	char dir[PATH_MAX];
	char config[PATH_MAX + 32];
	struct store_chdb_options opt;
	char log_file[PATH_MAX];
	unsigned refs;
	int lock_fd;
	struct store_chdb_conn *root; /* keeps the engine up between other connections */
	struct store_chdb_conn *conns;
};

struct store_chdb_conn {
	struct store_chdb *db; /* NULL once the engine closed it */
	chdb_connection *conn;
	enum store_chdb_insert_via via;
	int memfd; /* STORE_CHDB_INSERT_MEMFD's batch file, -1 until needed */
	struct store_chdb_conn *prev, *next;
};

/* The process's one library and engine. The library is never unloaded (a
 * C++ runtime with threads of its own); the engine restarts after its last
 * close unless store_chdb_shutdown() ran. */
static struct {
	pthread_mutex_t mu;
	void *handle;
	struct chdb_api api;
	char path[PATH_MAX];
	char bad[sizeof(((struct error *)0)->text)]; /* loaded but unusable: why */
	struct store_chdb *open;
	bool shut_down, threads_left;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* ---- signals ----
 * Loading the library blocks SIGPIPE in the calling thread (a static
 * initializer) and connecting may install handlers: weir keeps its own, so
 * the caller's mask and the handlers of the standard signals are put back.
 * Real-time signals are left to the engine (it sends itself one to collect
 * stack traces; its default action would end the process). */
struct signal_state {
	sigset_t mask;
	struct sigaction act[32];
};

static void signals_save(struct signal_state *s)
{
	pthread_sigmask(SIG_SETMASK, NULL, &s->mask);
	for (int i = 1; i < 32; i++)
		if (i != SIGKILL && i != SIGSTOP)
			sigaction(i, NULL, &s->act[i]);
}

static void signals_restore(const struct signal_state *s)
{
	for (int i = 1; i < 32; i++) {
		struct sigaction now;

		if (i == SIGKILL || i == SIGSTOP || sigaction(i, NULL, &now) < 0)
			continue;
		if (memcmp(&now.sa_handler, &s->act[i].sa_handler, sizeof(now.sa_handler)) != 0 ||
		    now.sa_flags != s->act[i].sa_flags) {
			log_debug("embedded clickhouse: signal handler put back", "signal=%d", i);
			sigaction(i, &s->act[i], NULL);
		}
	}
	pthread_sigmask(SIG_SETMASK, &s->mask, NULL);
}

static void register_exit(void);

/* ---- loading ---- */

static int exe_dir(char *out, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", out, size - 1);
	char *slash;

	if (n <= 0)
		return -errno;
	out[n] = 0;
	slash = strrchr(out, '/');
	if (!slash)
		return -ENOENT;
	*slash = 0;
	return 0;
}

/* dlopen()s `path` (a file, or a bare name for the loader's path) into g.
 * Returns 0, -ENOENT when it is not there, or -ELIBBAD with err filled. */
static int try_load(const char *path, bool bare, struct error *err)
{
	struct signal_state sig;
	void *h;

	if (!bare && access(path, R_OK) < 0)
		return -ENOENT;
	signals_save(&sig);
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	signals_restore(&sig);
	if (!h) {
		if (bare)
			return -ENOENT;
		return error_set(err, -ELIBBAD, "store: embedded ClickHouse: cannot load %s: %s",
				 path, dlerror());
	}
	g.handle = h;
	if (bare) {
		/* The file the loader chose, for messages. */
		Dl_info info;
		void *sym = dlsym(h, "chdb_version");
		snprintf(g.path, sizeof(g.path), "%s",
			 sym && dladdr(sym, &info) && info.dli_fname ? info.dli_fname : path);
	} else if (!realpath(path, g.path)) {
		snprintf(g.path, sizeof(g.path), "%s", path);
	}
	return 0;
}

/* Fills g.api from g.handle and checks the version. Returns 0 or -ELIBBAD
 * (the reason then stays in g.bad for every later open). */
static int check_library(struct error *err)
{
	const char *version;

	for (size_t i = 0; i < sizeof(api_symbols) / sizeof(api_symbols[0]); i++) {
		void *p = dlsym(g.handle, api_symbols[i].name);

		if (!p) {
			snprintf(g.bad, sizeof(g.bad),
				 "store: embedded ClickHouse: %s has no %s: not the version weir "
				 "needs (%s@%s); run `make deps`",
				 g.path, api_symbols[i].name, STORE_CHDB_PACKAGE,
				 STORE_CHDB_PACKAGE_VERSION);
			return error_set(err, -ELIBBAD, "%s", g.bad);
		}
		memcpy((char *)&g.api + api_symbols[i].offset, &p, sizeof(p));
	}
	version = g.api.version();
	if (!version || strcmp(version, STORE_CHDB_VERSION) != 0) {
		snprintf(g.bad, sizeof(g.bad),
			 "store: embedded ClickHouse: %s is version %s, weir needs %s (%s@%s); run "
			 "`make deps`",
			 g.path, version ? version : "?", STORE_CHDB_VERSION, STORE_CHDB_PACKAGE,
			 STORE_CHDB_PACKAGE_VERSION);
		return error_set(err, -ELIBBAD, "%s", g.bad);
	}
	/* Before the first connection, or it takes SIGSEGV, SIGINT... */
	g.api.set_signal_handlers_enabled(0);
	return 0;
}

static int not_found(struct error *err, const char *tried)
{
	return error_set(err, -ENOENT,
			 "store: embedded ClickHouse: libchdb.so not found (%s); run `make deps` "
			 "(installs %s@%s)",
			 tried, STORE_CHDB_PACKAGE, STORE_CHDB_PACKAGE_VERSION);
}

/* Loads the library once per process (under g.mu). A path someone set (the
 * configuration, then WEIR_CHDB_LIB) is the only one tried: a mistake there
 * is reported, not hidden by another copy found elsewhere. */
static int load_library(const char *configured, struct error *err)
{
	char dir[PATH_MAX], path[PATH_MAX + 64], tried[PATH_MAX + 64];
	const char *env = getenv("WEIR_CHDB_LIB");
	int r;

	if (g.bad[0])
		return error_set(err, -ELIBBAD, "%s", g.bad);
	if (g.handle)
		return 0;
	if ((configured && configured[0]) || (env && env[0])) {
		const char *set = configured && configured[0] ? configured : env;

		r = try_load(set, false, err);
		if (r == -ENOENT) {
			snprintf(tried, sizeof(tried), "%s: %s",
				 set == env ? "WEIR_CHDB_LIB" : "configured", set);
			return not_found(err, tried);
		}
		goto loaded;
	}
	if (exe_dir(dir, sizeof(dir)) == 0) {
		/* The tree's copy, from build/weir (one level down) or a test
		 * program under build/tests/ (three). */
		char up[16] = "";

		for (int level = 1; level <= 3; level++) {
			strcat(up, "../");
			snprintf(path, sizeof(path), "%s/%s%s", dir, up, STORE_CHDB_TREE_PATH);
			r = try_load(path, false, err);
			if (r != -ENOENT)
				goto loaded;
		}
		snprintf(path, sizeof(path), "%s/../lib/weir/libchdb.so", dir);
		r = try_load(path, false, err);
		if (r != -ENOENT)
			goto loaded;
	}
	r = try_load("libchdb.so", true, err);
	if (r == -ENOENT)
		return not_found(err, "not in " STORE_CHDB_TREE_PATH " above the executable, "
				      "nor in ../lib/weir beside it, nor on the loader's path; "
				      "WEIR_CHDB_LIB may name it");
loaded:
	if (r < 0)
		return r;
	return check_library(err);
}

/* ---- results ---- */

/* The engine's error in err: its first line, without trailing blanks; when
 * too long, its middle left out, since the end names the error
 * ("... (SYNTAX_ERROR)"). */
static int engine_error(struct error *err, const char *what)
{
	static const char prefix[] = "store: embedded ClickHouse: ";
	const size_t room = sizeof(err->text) - sizeof(prefix), tail = 80;
	size_t n = strcspn(what, "\n");

	while (n > 0 && (what[n - 1] == ' ' || what[n - 1] == '\r'))
		n--;
	if (n <= room)
		return error_set(err, -EIO, "%s%.*s", prefix, (int)n, what);
	return error_set(err, -EIO, "%s%.*s ... %.*s", prefix, (int)(room - tail - 5), what,
			 (int)tail, what + n - tail);
}

/* Destroys `res` after reading its error: 0, or -EIO with err filled. */
static int result_status(chdb_result *res, struct error *err)
{
	const char *e;
	int r = 0;

	if (!res)
		return error_set(err, -ENOMEM, "store: embedded ClickHouse: no result");
	e = g.api.result_error(res);
	if (e && e[0])
		r = engine_error(err, e);
	return r;
}

/* ---- connections ---- */

static void conn_link(struct store_chdb *db, struct store_chdb_conn *c)
{
	c->db = db;
	c->prev = NULL;
	c->next = db->conns;
	if (db->conns)
		db->conns->prev = c;
	db->conns = c;
}

static void conn_unlink(struct store_chdb_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else if (c->db && c->db->conns == c)
		c->db->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

/* A chdb connection with weir's arguments (under g.mu). The first one of
 * an engine boots it (--path, --config-file, logging); the settings apply
 * to every connection: each insert passes its block through as it is (the
 * same reason as store_insert_url() over HTTP). */
static int engine_connect(struct store_chdb *db, chdb_connection **out, struct error *err)
{
	char path[PATH_MAX + 16], config[PATH_MAX + 48], threads[48];
	char *argv[12];
	int argc = 0;
	struct signal_state sig;

	snprintf(path, sizeof(path), "--path=%s", db->dir);
	snprintf(config, sizeof(config), "--config-file=%s", db->config);
	argv[argc++] = "weir";
	argv[argc++] = path;
	argv[argc++] = config;
	argv[argc++] = "--min_insert_block_size_rows=0";
	argv[argc++] = "--min_insert_block_size_bytes=0";
	/* The writer sums the consolidated rows itself: SummingMergeTree's
	 * pass over each inserted block (on by default since 20.x, unknown to
	 * 18.16) only costs (1.6 -> 0.37 s of CPU for 220k rows of flows_1m);
	 * merges still sum. */
	argv[argc++] = "--optimize_on_insert=0";
	/* On by default in this engine: each batch would wait in a buffer of
	 * the engine's to be written with others (the writer batches already;
	 * an acknowledged batch should be a part on disk), and an INSERT ...
	 * VALUES then failed whenever stdin held data ("Processing async
	 * inserts with both inlined and external data ... is not supported"). */
	argv[argc++] = "--async_insert=0";
	if (db->opt.max_threads) {
		snprintf(threads, sizeof(threads), "--max_threads=%u", db->opt.max_threads);
		argv[argc++] = threads;
	}
	/* Without it the engine logs at trace level once a logger is set. */
	if (db->log_file[0])
		argv[argc++] = "--log-level=warning";
	argv[argc] = NULL;
	signals_save(&sig);
	*out = g.api.connect(argc, argv);
	signals_restore(&sig);
	if (!*out)
		return error_set(err, -EIO,
				 "store: embedded ClickHouse did not start on %s (its reason is on "
				 "stderr%s%s)",
				 db->dir, db->log_file[0] ? " and in " : "", db->log_file);
	return 0;
}

static void conn_close_locked(struct store_chdb_conn *c)
{
	if (c->conn)
		g.api.close_conn(c->conn);
	c->conn = NULL;
	conn_unlink(c);
	c->db = NULL;
}

static int conn_new_locked(struct store_chdb *db, struct store_chdb_conn **out, struct error *err)
{
	struct store_chdb_conn *c = calloc(1, sizeof(*c));
	int r;

	*out = NULL;
	if (!c)
		return error_set(err, -ENOMEM, "store: embedded ClickHouse: out of memory");
	c->memfd = -1;
	c->via = db->opt.insert_via;
	r = engine_connect(db, &c->conn, err);
	if (r < 0) {
		free(c);
		return r;
	}
	conn_link(db, c);
	*out = c;
	return 0;
}

int store_chdb_conn_new(struct store_chdb *db, struct store_chdb_conn **out, struct error *err)
{
	int r;

	pthread_mutex_lock(&g.mu);
	if (g.shut_down || g.open != db)
		r = error_set(err, -ESHUTDOWN, "store: embedded ClickHouse is closed");
	else
		r = conn_new_locked(db, out, err);
	pthread_mutex_unlock(&g.mu);
	return r;
}

void store_chdb_conn_free(struct store_chdb_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&g.mu);
	conn_close_locked(c);
	pthread_mutex_unlock(&g.mu);
	if (c->memfd >= 0)
		close(c->memfd);
	free(c);
}

void store_chdb_conn_insert_via(struct store_chdb_conn *c, enum store_chdb_insert_via via)
{
	c->via = via;
}

/* ---- the engine ---- */

/* XML text: the characters that would end it escaped. */
static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else
			fputc(*s, f);
	}
}

/* dir/weir-engine.xml, rewritten at each open (written aside, then renamed:
 * never half a file). What is not there takes ClickHouse's defaults. */
static int write_config(struct store_chdb *db, struct error *err)
{
	const struct store_chdb_options *o = &db->opt;
	char tmp[sizeof(db->config) + 8];
	uint64_t cache = o->cache_bytes ? o->cache_bytes : o->max_memory_bytes / 8;
	FILE *f;
	int r = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", db->config);
	f = fopen(tmp, "w");
	if (!f)
		return error_set(err, -errno, "store: embedded ClickHouse: cannot write %s: %s",
				 tmp, strerror(errno));
	fprintf(f, "<!-- Written by weir each time it opens this database: edits are lost. -->\n"
		   "<clickhouse>\n");
	if (o->max_memory_bytes) {
		fprintf(f, "  <max_server_memory_usage>%llu</max_server_memory_usage>\n",
			(unsigned long long)o->max_memory_bytes);
		/* Merges start only below half of it, not half of the machine. */
		fprintf(f,
			"  <merges_mutations_memory_usage_soft_limit>%llu"
			"</merges_mutations_memory_usage_soft_limit>\n",
			(unsigned long long)o->max_memory_bytes / 2);
	}
	if (cache) {
		/* Each is 5 GiB by default (within half of the machine's memory). */
		static const char *const caches[] = {"mark_cache_size", "primary_index_cache_size",
						     "index_mark_cache_size"};
		for (size_t i = 0; i < 3; i++)
			fprintf(f, "  <%s>%llu</%s>\n", caches[i], (unsigned long long)cache,
				caches[i]);
	}
	/* Merges run at nice 10 beside weir's threads and the engine's
	 * inserts and queries (nice 0): on a busy machine the receive path,
	 * the decoders and the inserts they wait for go first, and merges take
	 * what is left, catching up after a burst. Else merges (most of the
	 * engine's CPU at high rates) stall the writer's inserts, the rings
	 * fill and drop. The engine applies it only with CAP_SYS_NICE (weir
	 * as root has it); without, merges run at weir's nice, as before.
	 * `weir bench e2e --rate 400000 --progress 60`, one run each: 32k
	 * flows dropped at 2 min without, none over 12 min with; there, as
	 * 400k flows/s is more than these 2 cores sustain, merges fell behind
	 * (flows' parts 22 -> 328) instead. */
	fputs("  <os_threads_nice_value_merge_mutate>10</os_threads_nice_value_merge_mutate>\n", f);
	/* Files dictionaries read (weir writes them there): without it a
	 * dictionary's FILE source is refused ("not inside"). */
	fputs("  <user_files_path>", f);
	xml_text(f, db->dir);
	fputs("/user_files/</user_files_path>\n", f);
	/* An insert of a batch is one part. Wide, it is two files per column
	 * (~170 for flows); compact, one file: 100k flows in a quarter of the
	 * CPU time (3.8 -> 1.0 us per row on this machine, whose ext4 spends
	 * most of an insert creating inodes). So parts under 1M rows are
	 * compact, by rows and not by bytes: the engine weighs a merge's
	 * result by its sources' compressed bytes (an insert by uncompressed
	 * ones), so with 256 MiB as the bound merges into parts of up to ~14M
	 * realistic flows (~80M demo ones) stayed compact, and a merge into a
	 * compact part is horizontal: every column goes through the merge's
	 * sort. Into a wide part a merge could be vertical (the key columns
	 * merged, the others gathered; no longer: see below): 5 parts of 200k
	 * realistic flows merged into 1M in 3.75-4.7 instead of 5.0-5.25 us of
	 * CPU per flow, 17.9 bytes per flow on disk instead of 18.5 (ctypes
	 * harness, OPTIMIZE FINAL, best of 2-3). Inserts barely change (~330
	 * bytes per flow uncompressed): batches under ~800k rows were compact
	 * and stay so, 1M rows were wide and stay so, those between are now
	 * compact (1M demo rows: 0.44 compact, 0.39-0.47 us per row wide). 500k
	 * rows as the bound made 500k-row batches wide (bench store --batch-rows
	 * 500000: 7.41 -> 8.49 us per flow, on a busy machine). Since session
	 * 13 the bound is 4M rows, so that the 1M-row batches of high rates
	 * are compact too: with merges deleting parts' files all the time,
	 * this ext4 (no journal) checks each free inode's deletion time before
	 * it hands one out, and creating a wide part's files took nearly a
	 * third of the engine's insert threads' samples (perf of weir bench
	 * e2e at 640k flows/s; 39 % fewer of them with compact parts). Ten
	 * parts of 1M rows merge into a wide one. */
	fputs("  <merge_tree>\n    <min_bytes_for_wide_part>0</min_bytes_for_wide_part>\n"
	      "    <min_rows_for_wide_part>4000000</min_rows_for_wide_part>\n",
	      f);
	/* Merges were most of the engine's CPU (63 % of `weir bench e2e`'s
	 * profile): a merge waits for about ten parts of a size rather than
	 * five, so each row is merged fewer times. `weir bench store --rows
	 * 6000000 --batch-rows 500000`, best of two: 2.07 -> 0.92 rows merged
	 * per flow, 14.4 -> 7.8 us of CPU per flow with the merges, bytes per
	 * flow the same (16.5); a partition holds more parts meanwhile. LZ4
	 * below 256 MiB parts instead of zstd saved less (15.4 us) and cost
	 * 25.4 bytes per flow. */
	fputs("    <merge_selector_base>10</merge_selector_base>\n", f);
	/* Horizontal merges only: every column goes through the merge's
	 * sort, instead of the key columns first and then each other column
	 * gathered part by part from the list of which row came from where.
	 * The writer's batches are runs of consecutive seconds of the same
	 * minute, so the merged rows switch between parts every few rows, and
	 * the gathering then costs more than the sort it saves. 4 parts of 1M
	 * realistic flows (weir bench store's, split by TimeReceived as the
	 * writer's batches are) merged into one wide part: 7.1-7.2 us of CPU
	 * per row vertical, 4.1 horizontal; the same bytes on disk. */
	fputs("    <enable_vertical_merge_algorithm>0</enable_vertical_merge_algorithm>\n", f);
	/* Blocks of 64k rows through a merge instead of 8k (still bounded by
	 * merge_max_block_size_bytes, 10 MiB): fewer calls per row for ~70
	 * columns. Same harness, horizontal: 3.33, 3.53 against 3.67-4.57 us
	 * per row; bytes on disk +0.07 %. */
	fputs("    <merge_max_block_size>65536</merge_max_block_size>\n", f);
	/* A merge takes at most 2 GiB of parts (the default, 150 GiB, was
	 * bounded only by a partition): parts stop growing there, so a row is
	 * merged about twice over its life (into ~10M rows, then ~100M) rather
	 * than once more for each tenfold of a day's partition, 3-4 times at
	 * high rates. Here rather than in flows' SETTINGS: the engine's
	 * configuration is weir's (a server's is its operator's), and it
	 * reaches the tables of existing databases too, without an ALTER.
	 * 2 GiB: two parts of the second level (~1.7 GB of zstd flows) do not
	 * fit, so old parts (whose merges the engine allows at a lower ratio)
	 * are not merged a third time; at 1M flows/s an hour of flows (~60 GB)
	 * ends as ~30-60 parts. The arithmetic (not measured over hours) and
	 * the cost per merged row: user/store/README.md, "Sustained rate:
	 * merges". */
	fputs("    <max_bytes_to_merge_at_max_space_in_pool>2147483648"
	      "</max_bytes_to_merge_at_max_space_in_pool>\n  </merge_tree>\n",
	      f);
	/* zstd for every merged part, as on the servers weir's documentation
	 * configures (user/store/README.md): with the engine's default LZ4,
	 * flows took 28 bytes per flow against 18.7 on the server (`weir bench
	 * store`). An insert asks for the codec of a part of 0 bytes (the
	 * engine's MergeTreeDataWriter: chooseCompressionCodec(0, 0)), a merge
	 * for its sources' size: with 1 byte as the bound, inserts write LZ4
	 * (1M realistic flows: 0.51-0.58 instead of 0.66-0.74 us of CPU per
	 * row, quiet runs of a ctypes harness) and the first merge, seconds to
	 * minutes later, rewrites every row as zstd, as it rewrites them
	 * anyway: the same bytes once merged. Columns with a CODEC of their
	 * own keep it. */
	fputs("  <compression>\n    <case>\n      <min_part_size>1</min_part_size>\n"
	      "      <min_part_size_ratio>0</min_part_size_ratio>\n"
	      "      <method>zstd</method>\n    </case>\n  </compression>\n",
	      f);
	if (db->log_file[0]) {
		fputs("  <logger>\n    <level>warning</level>\n    <console>0</console>\n    <log>",
		      f);
		xml_text(f, db->log_file);
		fputs("</log>\n    <errorlog>", f);
		xml_text(f, db->log_file);
		fputs("</errorlog>\n  </logger>\n", f);
	}
	fputs("</clickhouse>\n", f);
	if (ferror(f))
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, db->config) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return error_set(err, r, "store: embedded ClickHouse: cannot write %s: %s",
				 db->config, strerror(-r));
	}
	return 0;
}

static int mkdir_p(char *path, mode_t mode)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, mode) < 0 && errno != EEXIST) {
			*p = '/';
			return -errno;
		}
		*p = '/';
	}
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The directory, absolute and without symbolic links, created if missing. */
static int resolve_dir(const char *dir, char *out, struct error *err)
{
	char tmp[PATH_MAX];
	int r;

	if (!dir || !dir[0])
		return error_set(err, -EINVAL, "store: embedded ClickHouse: no database directory");
	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
		return error_set(err, -ENAMETOOLONG, "store: embedded ClickHouse: path too long");
	r = mkdir_p(tmp, 0750);
	if (r < 0)
		return error_set(err, r, "store: embedded ClickHouse: cannot create %s: %s", dir,
				 strerror(-r));
	if (!realpath(dir, out))
		return error_set(err, -errno, "store: embedded ClickHouse: %s: %s", dir,
				 strerror(errno));
	return 0;
}

/* dir/weir.lock, held while the engine is open: a second process gets a
 * reason with the holder's pid rather than the engine's own refusal. */
static int lock_dir(struct store_chdb *db, struct error *err)
{
	char path[PATH_MAX + 16], pid[32] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/weir.lock", db->dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return error_set(err, -errno, "store: embedded ClickHouse: cannot open %s: %s",
				 path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = 0;
		pid[strcspn(pid, "\n")] = 0;
		close(fd);
		if (e == EWOULDBLOCK)
			return error_set(err, -EBUSY,
					 "store: embedded ClickHouse database %s is in use by "
					 "another process (pid %s)",
					 db->dir, pid[0] ? pid : "?");
		return error_set(err, -e, "store: embedded ClickHouse: cannot lock %s: %s", path,
				 strerror(e));
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		log_warn("embedded clickhouse: cannot write the lock file", "path=%s", path);
	db->lock_fd = fd;
	return 0;
}

int store_chdb_open(const char *dir, const struct store_chdb_options *opt, struct store_chdb **out,
		    struct error *err)
{
	static const struct store_chdb_options defaults;
	struct store_chdb *db = NULL;
	char real[PATH_MAX];
	int r;

	*out = NULL;
	r = resolve_dir(dir, real, err);
	if (r < 0)
		return r;
	if (!opt)
		opt = &defaults;
	pthread_mutex_lock(&g.mu);
	if (g.shut_down) {
		r = error_set(err, -ESHUTDOWN,
			      "store: embedded ClickHouse was shut down in this process");
		goto out;
	}
	if (g.open) {
		if (strcmp(g.open->dir, real) != 0) {
			r = error_set(err, -EBUSY,
				      "store: embedded ClickHouse is open on %s: one database "
				      "directory per process, not also %s",
				      g.open->dir, real);
			goto out;
		}
		g.open->refs++;
		*out = g.open;
		goto out;
	}
	r = load_library(opt->library, err);
	if (r < 0)
		goto out;
	db = calloc(1, sizeof(*db));
	if (!db) {
		r = error_set(err, -ENOMEM, "store: embedded ClickHouse: out of memory");
		goto out;
	}
	db->lock_fd = -1;
	db->opt = *opt;
	db->opt.library = g.path;
	snprintf(db->dir, sizeof(db->dir), "%s", real);
	snprintf(db->config, sizeof(db->config), "%s/weir-engine.xml", real);
	if (opt->log_file)
		snprintf(db->log_file, sizeof(db->log_file), "%s", opt->log_file);
	db->opt.log_file = db->log_file[0] ? db->log_file : NULL;
	r = lock_dir(db, err);
	if (r == 0)
		r = write_config(db, err);
	if (r == 0)
		r = conn_new_locked(db, &db->root, err);
	if (r < 0)
		goto out;
	/* After the first connection, which registers the engine's own exit
	 * handler (it tears the engine down): this one runs before. */
	register_exit();
	db->refs = 1;
	g.open = db;
	*out = db;
	log_info("embedded clickhouse started", "dir=%s library=%s version=%s", db->dir, g.path,
		 STORE_CHDB_VERSION);
out:
	if (r < 0 && db) {
		if (db->lock_fd >= 0)
			close(db->lock_fd);
		free(db);
	}
	pthread_mutex_unlock(&g.mu);
	return r;
}

/* Waits (a minute at most) until no merge runs: "a process that exits
 * while a merge runs can crash" (found when chdb was tried here). Measured
 * with a test that inserts ten 5 MB parts then tears the engine down: from
 * an exit handler 3 to 7 crashes in 30 runs, none after this wait (0-50
 * ms); outside exit handlers none in 30 either way. Stopping merges first
 * (SYSTEM STOP MERGES, TTL MERGES, MOVES) made the teardown abort. */
static void wait_merges(struct store_chdb_conn *root)
{
	char *out = NULL;
	int i;

	for (i = 0; i < 6000; i++) {
		int busy = store_chdb_query(root, "SELECT count() FROM system.merges", NULL, &out,
					    NULL, NULL) == 0 &&
			   atoi(out) > 0;

		free(out);
		out = NULL;
		if (!busy)
			break;
		usleep(10000);
	}
	if (i >= 100)
		log_info("embedded clickhouse: waited for merges before closing", "ms=%d", i * 10);
}

/* Closes every connection, the root last (that stops the engine), and
 * releases the directory; under g.mu. */
static void engine_stop_locked(struct store_chdb *db)
{
	struct store_chdb_conn *root = db->root;
	unsigned others = 0;

	if (root)
		conn_unlink(root);
	while (db->conns) {
		others++;
		conn_close_locked(db->conns);
	}
	if (others)
		log_warn("embedded clickhouse: connections still open at close, closed", "count=%u",
			 others);
	if (root) {
		wait_merges(root);
		conn_close_locked(root);
		if (root->memfd >= 0)
			close(root->memfd);
		free(root);
		db->root = NULL;
	}
	if (db->lock_fd >= 0)
		close(db->lock_fd);
	db->lock_fd = -1;
}

void store_chdb_close(struct store_chdb *db)
{
	if (!db)
		return;
	pthread_mutex_lock(&g.mu);
	if (--db->refs == 0) {
		engine_stop_locked(db);
		if (g.open == db)
			g.open = NULL;
		log_info("embedded clickhouse stopped", "dir=%s", db->dir);
		free(db);
		register_exit();
	}
	pthread_mutex_unlock(&g.mu);
}

const char *store_chdb_dir(const struct store_chdb *db)
{
	return db->dir;
}

const char *store_chdb_library(const struct store_chdb *db)
{
	return db->opt.library;
}

void store_chdb_shutdown(void)
{
	pthread_mutex_lock(&g.mu);
	if (g.handle && !g.open && !g.shut_down && !g.bad[0]) {
		/* 26.7.3 leaves some threads (BgSchPool, MergeMutate...) once a
		 * MergeTree table was loaded: it then answers CHDBError, and
		 * asking again does not help (2 s of retries tried). */
		int r = g.api.shutdown();

		g.threads_left = r != 0;
		if (r != 0)
			log_debug("embedded clickhouse: threads left after shutdown",
				  "chdb_shutdown=%d", r);
		g.shut_down = true;
	}
	pthread_mutex_unlock(&g.mu);
}

/* At exit(): nothing of the engine may run from an exit handler (the
 * handlers and the library's static destructors run interleaved, in reverse
 * order of registration: a query there crashed every time, a teardown one
 * time in ten), and its static destructors must not run while its threads
 * do. So unless store_chdb_shutdown() joined every thread, the process ends
 * here, stdio flushed, as after kill -9 for the engine: what it
 * acknowledged is on disk. Registered again at each open and last close,
 * to run before as many of the library's destructors as possible. */
static void at_exit(int status, void *arg)
{
	(void)arg;
	if (g.handle && (!g.shut_down || g.threads_left)) {
		fflush(NULL);
		_exit(status);
	}
}

void store_chdb_exit(int status)
{
	at_exit(status, NULL);
}

static void register_exit(void)
{
	if (on_exit(at_exit, NULL) != 0)
		log_warn("embedded clickhouse: on_exit failed", "errno=%d", errno);
}

/* ---- statements, queries, batches ---- */

static int conn_check(struct store_chdb_conn *c, struct error *err)
{
	if (!c || !c->conn)
		return error_set(err, -ENOTCONN, "store: embedded ClickHouse connection is closed");
	return 0;
}

/* Through the streaming insert: each piece appended as it is (the engine
 * copies it), then the end of input commits the INSERT. */
static int insert_stream(struct store_chdb_conn *c, const char *insert, const char *format,
			 const struct iovec *iov, size_t iovcnt, uint64_t *rows_written,
			 struct error *err)
{
	chdb_insert_stream st = g.api.stream_insert(*c->conn, insert, format);
	const char *e;
	chdb_result *res;
	int r = 0;

	if (!st)
		return error_set(err, -ENOMEM, "store: embedded ClickHouse: no insert stream");
	e = g.api.stream_insert_error(st);
	if (e && e[0]) {
		r = engine_error(err, e);
		goto out;
	}
	for (size_t i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len == 0)
			continue;
		if (g.api.stream_append(st, iov[i].iov_base, iov[i].iov_len) != 0) {
			e = g.api.stream_insert_error(st);
			r = engine_error(err, e && e[0] ? e : "the insert stream failed");
			goto out;
		}
	}
	res = g.api.stream_done(st);
	r = result_status(res, err);
	if (r == 0 && rows_written)
		*rows_written = g.api.result_rows_written(res);
	if (res)
		g.api.destroy_query_result(res);
out:
	g.api.destroy_insert_stream(st); /* (cancels an insert not done) */
	return r;
}

/* ---- INSERT with its data in the statement ----
 * The engine is clickhouse-local's client: an INSERT ... VALUES or FORMAT
 * with inline data given to chdb_query() also takes whatever the process's
 * standard input holds, when it is not a terminal (rows of someone else's
 * output inserted, or a parse error; reading a pipe whose writer is silent
 * would block). Such statements go through the streaming insert instead,
 * which reads only what it is given (and carries "\n\n" as it is). */

/* The end of a quoted name or string starting at p (its quote char). */
static const char *skip_quoted(const char *p)
{
	char q = *p++;

	while (*p && *p != q) {
		if (*p == '\\' && p[1])
			p++;
		p++;
	}
	return *p ? p + 1 : p;
}

static bool word_is(const char *w, size_t n, const char *kw)
{
	return strlen(kw) == n && strncasecmp(w, kw, n) == 0;
}

/* For "INSERT ... VALUES data" or "INSERT ... FORMAT name data": 1 with
 * *stmt_len the length of the statement before VALUES or FORMAT, the input
 * format in fmt, and *data where the data starts; 0 for any other statement
 * (an INSERT ... SELECT among them). */
static int inline_insert(const char *sql, size_t *stmt_len, char *fmt, size_t fmt_size,
			 const char **data)
{
	const char *p = sql;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (strncasecmp(p, "INSERT", 6) != 0 || !strchr(" \t\r\n", p[6]))
		return 0;
	for (p += 6; *p;) {
		const char *w = p;
		size_t n;

		if (*p == '\'' || *p == '"' || *p == '`') {
			p = skip_quoted(p);
			continue;
		}
		if (p[0] == '-' && p[1] == '-') {
			p += strcspn(p, "\n");
			continue;
		}
		if (p[0] == '/' && p[1] == '*') {
			const char *e = strstr(p + 2, "*/");
			p = e ? e + 2 : p + strlen(p);
			continue;
		}
		if (!(isalpha((unsigned char)*p) || *p == '_')) {
			p++;
			continue;
		}
		while (isalnum((unsigned char)*p) || *p == '_')
			p++;
		n = (size_t)(p - w);
		if (word_is(w, n, "SELECT") || word_is(w, n, "WITH") || word_is(w, n, "FROM"))
			return 0;
		if (word_is(w, n, "VALUES")) {
			*stmt_len = (size_t)(w - sql);
			snprintf(fmt, fmt_size, "Values");
			*data = p;
			return 1;
		}
		if (word_is(w, n, "FORMAT")) {
			const char *f;

			*stmt_len = (size_t)(w - sql);
			while (*p == ' ' || *p == '\t')
				p++;
			f = p;
			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			snprintf(fmt, fmt_size, "%.*s", (int)(p - f), f);
			/* the data starts after the name's line */
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p == '\r')
				p++;
			if (*p == '\n')
				p++;
			*data = p;
			return 1;
		}
	}
	return 0;
}

/* Runs such an INSERT through the streaming insert. */
static int exec_inline_insert(struct store_chdb_conn *c, const char *sql, size_t stmt_len,
			      const char *fmt, const char *data, struct error *err)
{
	char *stmt = strndup(sql, stmt_len);
	struct iovec iov = {(void *)data, strlen(data)};
	int r;

	if (!stmt)
		return error_set(err, -ENOMEM, "store: embedded ClickHouse: out of memory");
	r = insert_stream(c, stmt, fmt, &iov, 1, NULL, err);
	free(stmt);
	return r;
}

int store_chdb_query(struct store_chdb_conn *c, const char *sql, const char *format, char **out,
		     size_t *len, struct error *err)
{
	chdb_result *res;
	const char *buf, *data;
	char fmt[64];
	size_t n, stmt_len;
	int r = conn_check(c, err);

	if (out)
		*out = NULL;
	if (len)
		*len = 0;
	if (r < 0)
		return r;
	if (inline_insert(sql, &stmt_len, fmt, sizeof(fmt), &data)) {
		r = exec_inline_insert(c, sql, stmt_len, fmt, data, err);
		if (r == 0 && out && !(*out = strdup("")))
			r = error_set(err, -ENOMEM, "store: embedded ClickHouse: out of memory");
		return r;
	}
	res = g.api.query(*c->conn, sql, format ? format : "TabSeparated");
	r = result_status(res, err);
	if (r == 0 && out) {
		buf = g.api.result_buffer(res);
		n = buf ? g.api.result_length(res) : 0;
		*out = malloc(n + 1);
		if (!*out) {
			r = error_set(err, -ENOMEM, "store: embedded ClickHouse: out of memory");
		} else {
			if (n)
				memcpy(*out, buf, n);
			(*out)[n] = 0;
			if (len)
				*len = n;
		}
	}
	if (res)
		g.api.destroy_query_result(res);
	return r;
}

int store_chdb_exec(struct store_chdb_conn *c, const char *sql, struct error *err)
{
	return store_chdb_query(c, sql, NULL, NULL, NULL, err);
}

/* Through a memfd the engine reads as a file: one kernel copy of the batch,
 * and a statement that carries no data (data inline after FORMAT in a query
 * is cut at the first "\n\n"). */
static int insert_memfd(struct store_chdb_conn *c, const char *insert, const struct iovec *iov,
			size_t iovcnt, uint64_t *rows_written, struct error *err)
{
	char *sql = NULL;
	chdb_result *res;
	off_t off = 0;
	int r = 0;

	if (c->memfd < 0) {
		c->memfd = memfd_create("weir-batch", MFD_CLOEXEC);
		if (c->memfd < 0)
			return error_set(err, -errno, "store: embedded ClickHouse: memfd: %s",
					 strerror(errno));
	}
	if (ftruncate(c->memfd, 0) < 0)
		return error_set(err, -errno, "store: embedded ClickHouse: memfd: %s",
				 strerror(errno));
	for (size_t i = 0; i < iovcnt; i++) {
		const char *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;

		while (left > 0) {
			ssize_t n = pwrite(c->memfd, p, left, off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return error_set(err, n < 0 ? -errno : -EIO,
						 "store: embedded ClickHouse: memfd: %s",
						 n < 0 ? strerror(errno) : "short write");
			p += n;
			left -= (size_t)n;
			off += n;
		}
	}
	if (asprintf(&sql, "%s SELECT * FROM file('/proc/self/fd/%d', Native)", insert, c->memfd) <
	    0)
		return error_set(err, -ENOMEM, "store: embedded ClickHouse: out of memory");
	res = g.api.query(*c->conn, sql, "TabSeparated");
	r = result_status(res, err);
	if (r == 0 && rows_written)
		*rows_written = g.api.result_rows_written(res);
	if (res)
		g.api.destroy_query_result(res);
	free(sql);
	/* The pages go back now rather than at the next batch. */
	if (ftruncate(c->memfd, 0) < 0)
		log_debug("embedded clickhouse: memfd truncate failed", "errno=%d", errno);
	return r;
}

int store_chdb_insert_native(struct store_chdb_conn *c, const char *insert, const struct iovec *iov,
			     size_t iovcnt, uint64_t *rows_written, struct error *err)
{
	int r = conn_check(c, err);

	if (rows_written)
		*rows_written = 0;
	if (r < 0)
		return r;
	if (c->via == STORE_CHDB_INSERT_MEMFD)
		return insert_memfd(c, insert, iov, iovcnt, rows_written, err);
	return insert_stream(c, insert, "Native", iov, iovcnt, rows_written, err);
}
