/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The embedded ClickHouse engine: libchdb.so (npm @chdb/lib-linux-x64-gnu),
 * loaded at run time with dlopen so that weir builds and runs without it.
 * One engine per process on one database directory, a connection per thread
 * that queries, statements, text queries and batches in Native format.
 * Internal to the store: the store's transport is the one user. */
#ifndef WEIR_STORE_CHDB_H
#define WEIR_STORE_CHDB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/error.h"

/* The one version weir runs: `make deps` (mk/deps.sh) installs this package,
 * and store_chdb_open() refuses a library whose chdb_version() differs. */
#define STORE_CHDB_PACKAGE	   "@chdb/lib-linux-x64-gnu"
#define STORE_CHDB_PACKAGE_VERSION "26.7.3-stable.1"
#define STORE_CHDB_VERSION	   "26.7.3"
/* Where `make deps` puts the library, relative to the top of the tree. */
#define STORE_CHDB_TREE_PATH "third_party/chdb/libchdb.so"

/* How store_chdb_insert_native() hands a batch to the engine. */
enum store_chdb_insert_via {
	/* chdb_stream_insert(): the bytes are appended to an INSERT ... FORMAT
	 * Native as they are (26.7's streaming insert). The default. */
	STORE_CHDB_INSERT_STREAM = 0,
	/* The bytes written to a memfd, then INSERT ... SELECT * FROM
	 * file('/proc/self/fd/N', Native). */
	STORE_CHDB_INSERT_MEMFD,
};

/* Zero for any field takes its default. */
struct store_chdb_options {
	/* libchdb.so to load, the only one tried. NULL: $WEIR_CHDB_LIB, the
	 * only one tried when set; else STORE_CHDB_TREE_PATH in the directories
	 * above the executable's (/proc/self/exe, not the working directory:
	 * up to three levels, so build/weir and the test programs under
	 * build/tests/ find it), then ../lib/weir/libchdb.so beside the
	 * executable's directory (an installed weir), then the loader's path.
	 * The first open that loads the library decides: it stays loaded. */
	const char *library;
	/* Bound of everything the engine allocates (max_server_memory_usage);
	 * 0 = ClickHouse's own, 90% of the machine's memory. */
	uint64_t max_memory_bytes;
	/* Each of the mark, primary index and index mark caches; 0 = an eighth
	 * of max_memory_bytes when that is set, else ClickHouse's defaults. */
	uint64_t cache_bytes;
	/* Threads per query (max_threads); 0 = one per core. */
	unsigned max_threads;
	/* The engine's own warnings and errors go to this file; NULL = nowhere
	 * (errors still come back with each call). When set, the engine prints
	 * two lines naming it on stderr when it starts. */
	const char *log_file;
	/* Every connection's way of inserting (store_chdb_conn_insert_via). */
	enum store_chdb_insert_via insert_via;
};

/* The engine on one database directory. */
struct store_chdb;
/* A connection: a session (current database, settings) of its own. One
 * thread at a time; several connections may run statements at once. */
struct store_chdb_conn;

/* Loads the library (once per process), checks its version, and starts the
 * engine on `dir` (created when missing; relative to the working directory
 * when not absolute). The engine's signal handlers stay off, the calling
 * thread's signal mask and handlers of signals 1-31 are put back as they
 * were (the engine's threads inherit the caller's mask: block the signals
 * weir takes in its own thread before), and the engine reads the
 * configuration weir writes into dir/weir-engine.xml, never ./config.xml.
 * One engine per process: opening the directory already open takes another
 * reference to it (its options are those of the first open); another
 * directory while one is open fails with -EBUSY, as does a directory another
 * process has open (dir/weir.lock). Thread-safe.
 * Returns 0, or -ENOENT (no library: `make deps`), -ELIBBAD (not the pinned
 * version, or a function missing), -EBUSY, -ESHUTDOWN (after
 * store_chdb_shutdown()), -EIO (the engine did not start), -ENOMEM. */
int store_chdb_open(const char *dir, const struct store_chdb_options *opt, struct store_chdb **out,
		    struct error *err);

/* Drops a reference; the last one waits until no merge runs (the engine's
 * teardown can crash when one does), then closes every connection still
 * open (a connection then fails with -ENOTCONN; free it as usual), which
 * stops the engine. Accepts NULL. Thread-safe, but no other thread may be
 * using a connection of this engine when the last reference goes. Not from
 * an exit handler (see store_chdb_shutdown). */
void store_chdb_close(struct store_chdb *db);

/* The database directory (absolute) and the library's path. */
const char *store_chdb_dir(const struct store_chdb *db);
const char *store_chdb_library(const struct store_chdb *db);

/* Joins the threads the engine started: for the end of the process, after
 * the last store_chdb_close() (does nothing while an engine is open, or when
 * the library was never loaded). No engine can be opened afterwards.
 * Exit: once the library is loaded, a handler ends exit() with
 * _exit(status), stdio flushed, unless this joined every thread (26.7.3
 * leaves some once a MergeTree table was loaded): the library's static
 * destructors would race them, and no engine code can run from an exit
 * handler. An engine still open at exit is left as after kill -9 (what it
 * acknowledged is on disk). Exit handlers registered before the last
 * store_chdb_open() or store_chdb_close() may then not run. */
void store_chdb_shutdown(void);

/* For the end of main(), in place of returning: ends the process with
 * _exit(status), stdio flushed, when the handler above would; returns
 * otherwise (library never loaded, or every thread joined). The handler
 * alone is not enough: the library registers handlers of its own as it
 * goes (its C++ runtime's statics), and those registered after the last
 * open or close run before it, while the engine's threads still do (a test
 * program that had passed every test ended on SIGSEGV about 1 time in 20). */
void store_chdb_exit(int status);

/* A new connection to `db` (in database `default`: USE one with
 * store_chdb_exec). Thread-safe. Returns 0, -EIO, -ESHUTDOWN or -ENOMEM. */
int store_chdb_conn_new(struct store_chdb *db, struct store_chdb_conn **out, struct error *err);
/* Closes the connection. Accepts NULL. */
void store_chdb_conn_free(struct store_chdb_conn *c);
/* Changes how this connection inserts (for measurements and tests). */
void store_chdb_conn_insert_via(struct store_chdb_conn *c, enum store_chdb_insert_via via);

/* Runs one statement (DDL, INSERT, USE, SET, OPTIMIZE...) whose answer is
 * not needed. An INSERT with its data in the text (VALUES, or FORMAT then
 * data) goes through the streaming insert: given to the engine as a query,
 * it would also read the process's standard input. Returns 0, -EIO
 * (ClickHouse's error: "Code: 60. DB::Exception: ... (UNKNOWN_TABLE)" in
 * err), -ENOTCONN or -ENOMEM. */
int store_chdb_exec(struct store_chdb_conn *c, const char *sql, struct error *err);

/* Runs a query; on success *out is its answer in `format` (NULL:
 * "TabSeparated"), NUL-terminated, malloc'd (caller frees), and *len its
 * length without the NUL (len may be NULL). Returns as store_chdb_exec. */
int store_chdb_query(struct store_chdb_conn *c, const char *sql, const char *format, char **out,
		     size_t *len, struct error *err);

/* Inserts one batch: `insert` is the statement without FORMAT ("INSERT INTO
 * flows (TimeReceived, ...)"), iov[0..iovcnt) the bytes of Native blocks
 * as ClickHouse's HTTP interface takes them (no block info), in order.
 * Every byte value is carried as it is. On success the rows are in the
 * table (acknowledged: they survive the process being killed), and
 * *rows_written (may be NULL) counts them, with the rows materialized views
 * wrote. Returns as store_chdb_exec; on failure nothing of the batch may be
 * assumed written (ClickHouse inserts one block atomically). */
int store_chdb_insert_native(struct store_chdb_conn *c, const char *insert, const struct iovec *iov,
			     size_t iovcnt, uint64_t *rows_written, struct error *err);

#endif
