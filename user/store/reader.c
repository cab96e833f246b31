// SPDX-License-Identifier: AGPL-3.0-or-later
/* Read-only sessions of the embedded engine for queries from outside (the
 * query endpoint): a connection each, readonly=1 and the limits of
 * clickhouse.query-endpoint set once on it, so ClickHouse enforces them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chdb.h"
#include "store_internal.h"

#define PREFIX "embedded://"

struct store_reader {
	const struct store_config *cfg;
	struct store_chdb *db;
	struct store_chdb_conn *conn;
	char current[256]; /* the session's database, "" when unknown */
};

/* The engine's "store: embedded ClickHouse: Code: N. ..." as ClickHouse
 * says it: from "Code:" on. */
static int engine_text(struct error *err, int r)
{
	char *code;

	if (r == -EIO && err && (code = strstr(err->text, "Code: ")) && code != err->text)
		memmove(err->text, code, strlen(code) + 1);
	return r;
}

int store_reader_settings(const struct store_config *cfg, char *buf, size_t size)
{
	const struct store_query_endpoint_config *q = &cfg->query_endpoint;

	if (strncmp(cfg->url ? cfg->url : "", PREFIX, strlen(PREFIX)) != 0) {
		if (size)
			buf[0] = 0;
		return 0;
	}
	/* readonly last: after it, the session's settings cannot change (nor
	 * through a query's SETTINGS clause). 0 is "no bound" for ClickHouse
	 * too. */
	snprintf(buf, size,
		 "SET max_execution_time = %llu.%03llu, max_rows_to_read = %llu, "
		 "max_result_rows = %llu, max_result_bytes = %llu, "
		 "result_overflow_mode = 'throw', read_overflow_mode = 'throw', readonly = 1",
		 (unsigned long long)(q->max_execution_ms / 1000),
		 (unsigned long long)(q->max_execution_ms % 1000),
		 (unsigned long long)q->max_rows_to_read, (unsigned long long)q->max_result_rows,
		 (unsigned long long)q->max_result_bytes);
	return 1;
}

int store_reader_new(const struct store_config *cfg, struct store_reader **out, struct error *err)
{
	struct store_chdb_options opt = {
	    .library =
		cfg->embedded_library && cfg->embedded_library[0] ? cfg->embedded_library : NULL,
	    .max_memory_bytes = cfg->embedded_max_memory,
	};
	const char *url = cfg->url ? cfg->url : "";
	struct store_reader *r;
	char set[512];
	int ret;

	*out = NULL;
	if (strncmp(url, PREFIX, strlen(PREFIX)) != 0 || !url[strlen(PREFIX)])
		return error_set(
		    err, -EOPNOTSUPP,
		    "store: clickhouse.url %s: read-only sessions are for the embedded "
		    "engine (a server answers queries itself)",
		    url);
	r = calloc(1, sizeof(*r));
	if (!r)
		return error_set(err, -ENOMEM, "store: out of memory for a reader");
	r->cfg = cfg;
	ret = store_chdb_open(url + strlen(PREFIX), &opt, &r->db, err);
	if (ret == 0)
		ret = store_chdb_conn_new(r->db, &r->conn, err);
	if (ret < 0)
		goto fail;
	store_reader_settings(cfg, set, sizeof(set));
	ret = engine_text(err, store_chdb_exec(r->conn, set, err));
	if (ret < 0)
		goto fail;
	*out = r;
	return 0;
fail:
	store_reader_free(r);
	return ret;
}

void store_reader_free(struct store_reader *r)
{
	if (!r)
		return;
	store_chdb_conn_free(r->conn);
	store_chdb_close(r->db);
	free(r);
}

int store_reader_query(struct store_reader *r, const char *database, const char *sql,
		       const char *format, char **out, size_t *len, struct error *err)
{
	int ret;

	*out = NULL;
	*len = 0;
	if (!database || !database[0])
		database = r->cfg->database && r->cfg->database[0] ? r->cfg->database : "default";
	if (strcmp(r->current, database) != 0) {
		char use[300];

		if (strlen(database) >= sizeof(r->current) || strchr(database, '`'))
			return error_set(err, -EINVAL,
					 "Code: 81. DB::Exception: Database %.64s does not exist. "
					 "(UNKNOWN_DATABASE)",
					 database);
		snprintf(use, sizeof(use), "USE `%s`", database);
		r->current[0] = 0;
		ret = engine_text(err, store_chdb_exec(r->conn, use, err));
		if (ret < 0)
			return ret;
		snprintf(r->current, sizeof(r->current), "%s", database);
	}
	return engine_text(err, store_chdb_query(r->conn, sql, format, out, len, err));
}
