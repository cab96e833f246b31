// SPDX-License-Identifier: AGPL-3.0-or-later
/* The store's transport to the ClickHouse engine embedded in the process
 * (chdb.c, libchdb.so): clickhouse.url embedded:///abs/dir or
 * embedded://rel/dir (relative to the working directory). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "chdb.h"
#include "store_internal.h"

#define PREFIX "embedded://"

/* Each transport holds a reference to the one engine of the process (chdb.c
 * counts them: the last store_chdb_close() stops it) and a connection of
 * its own, so each writer or client thread has its session. */
struct embedded_transport {
	struct store_transport base;
	const struct store_config *cfg;
	struct store_chdb *db;
	struct store_chdb_conn *conn;
	/* the session's database, "" when unknown: USE costs a statement */
	char current[256];
	struct iovec *iov;
	size_t iov_cap;
};

/* The session into `database` (NULL: default, as the HTTP interface
 * without database=). */
static int use_database(struct embedded_transport *t, const char *database, struct error *err)
{
	char sql[300];
	int r;

	if (!database || !database[0])
		database = "default";
	if (strcmp(t->current, database) == 0)
		return 0;
	if (strlen(database) >= sizeof(t->current) || strchr(database, '`'))
		return error_set(err, -EINVAL, "store: database name %.64s: not usable", database);
	snprintf(sql, sizeof(sql), "USE `%s`", database);
	t->current[0] = 0;
	r = store_chdb_exec(t->conn, sql, err);
	if (r == 0)
		snprintf(t->current, sizeof(t->current), "%s", database);
	return r;
}

static int embedded_insert(struct store_transport *base, const char *table, const char *columns,
			   const struct store_block *block, struct error *err)
{
	struct embedded_transport *t = (struct embedded_transport *)base;
	char *insert = NULL;
	int r;

	if (block->nsegs > t->iov_cap) {
		struct iovec *iov = realloc(t->iov, block->nsegs * sizeof(*iov));

		if (!iov)
			return error_set(err, -ENOMEM, "store: out of memory for an insert into %s",
					 table);
		t->iov = iov;
		t->iov_cap = block->nsegs;
	}
	for (size_t i = 0; i < block->nsegs; i++) {
		t->iov[i].iov_base = (void *)block->segs[i].p;
		t->iov[i].iov_len = block->segs[i].len;
	}
	r = use_database(t, t->cfg->database, err);
	if (r < 0)
		goto out;
	/* As the HTTP transport: each batch is one block, kept as it is. */
	if (asprintf(&insert,
		     "INSERT INTO %s (%s) SETTINGS min_insert_block_size_rows = 0, "
		     "min_insert_block_size_bytes = 0",
		     table, columns) < 0) {
		insert = NULL;
		r = error_set(err, -ENOMEM, "store: out of memory for an insert into %s", table);
		goto out;
	}
	r = store_chdb_insert_native(t->conn, insert, t->iov, block->nsegs, NULL, err);
out:
	if (r < 0)
		t->current[0] = 0;
	free(insert);
	return r;
}

static int embedded_query(struct store_transport *base, const char *database, const char *sql,
			  struct buf *answer, struct error *err)
{
	struct embedded_transport *t = (struct embedded_transport *)base;
	char *out = NULL;
	size_t len = 0;
	int r;

	if (answer)
		answer->len = 0;
	r = use_database(t, database, err);
	if (r < 0)
		goto out;
	r = store_chdb_query(t->conn, sql, NULL, answer ? &out : NULL, &len, err);
	if (r == 0 && answer && len)
		r = buf_append(answer, out, len) < 0
			? error_set(err, -ENOMEM, "store: out of memory for an answer")
			: 0;
out:
	/* A statement may have dropped or changed the session's database. */
	if (r < 0 || !answer || strcasestr(sql, "DATABASE"))
		t->current[0] = 0;
	free(out);
	return r;
}

static void embedded_free(struct store_transport *base)
{
	struct embedded_transport *t = (struct embedded_transport *)base;

	if (!t)
		return;
	store_chdb_conn_free(t->conn);
	store_chdb_close(t->db);
	free(t->iov);
	free(t);
}

static const struct store_transport_ops embedded_ops = {
    .insert = embedded_insert,
    .query = embedded_query,
    .free = embedded_free,
};

int store_transport_embedded_new(const struct store_config *cfg, struct store_transport **out,
				 struct error *err)
{
	struct store_chdb_options opt = {
	    .library =
		cfg->embedded_library && cfg->embedded_library[0] ? cfg->embedded_library : NULL,
	    .max_memory_bytes = cfg->embedded_max_memory,
	};
	const char *dir = cfg->url + strlen(PREFIX);
	struct embedded_transport *t;
	int r;

	*out = NULL;
	if (strncmp(cfg->url, PREFIX, strlen(PREFIX)) != 0 || !dir[0])
		return error_set(err, -EINVAL,
				 "store: clickhouse.url %s: expected embedded:///absolute/dir or "
				 "embedded://relative/dir",
				 cfg->url);
	t = calloc(1, sizeof(*t));
	if (!t)
		return error_set(err, -ENOMEM, "store: out of memory for a connection to %s",
				 cfg->url);
	t->base.ops = &embedded_ops;
	t->cfg = cfg;
	r = store_chdb_open(dir, &opt, &t->db, err);
	if (r == 0)
		r = store_chdb_conn_new(t->db, &t->conn, err);
	if (r < 0) {
		embedded_free(&t->base);
		return r;
	}
	*out = &t->base;
	return 0;
}
