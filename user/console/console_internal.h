/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Shared inside user/console/: a request as the workers see it (copied off
 * the listener's thread), and the query handlers of query.c. */
#ifndef WEIR_CONSOLE_INTERNAL_H
#define WEIR_CONSOLE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "console.h"
#include "json.h"

struct console_job {
	char *route; /* after /api/v0/console/, NUL-terminated */
	char *body;  /* NUL-terminated */
	size_t body_len;
	char *tenant_sql;	 /* the tenant's filter as SQL ("1" when none); owned */
	int tenant_consolidated; /* 1 when its columns are all in flows_1m/5m/1h */
	char *cache_key;	 /* NULL = not cached */
	uint64_t cache_ms;
	int csv; /* graphs: Accept: text/csv */
	struct http_deferred *d;
	struct console_job *next;
};

/* What a query handler answers. */
struct console_answer {
	int status;
	const char *content_type;
	char *body;
	size_t body_len;
	char *sql; /* for X-SQL-Query, or NULL */
};

/* Runs one API request that needs ClickHouse (graph/..., widget/...,
 * filter/complete) with worker client `ch`; fills `a`. Returns 0, or
 * -errno for a 500. */
int console_query_run(const struct console_config *cfg, const struct store_config *store,
		      struct store_client *ch, const struct console_job *job,
		      struct console_answer *a);

/* An error answer {"message": ...} with `status`. */
void console_answer_error(struct console_answer *a, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Seconds since the epoch from RFC 3339 text ("2026-01-02T03:04:05Z",
 * fractional seconds and +hh:mm offsets accepted). Returns 0 or -EINVAL. */
int console_parse_time(const char *s, int64_t *out);
/* RFC 3339 in UTC, "2026-01-02T03:04:05Z" (21 bytes with the NUL). */
void console_format_time(int64_t t, char *buf, size_t size);

/* ---- the query endpoint (query_endpoint.c, sql_check.c) ---- */

/* 1 when `g` is one of the comma-separated `groups` (the groups header;
 * spaces around names ignored), else 0 (console.c). */
int console_in_groups(const char *groups, const char *g);

/* 0 when sql[0..len) may run on the endpoint's read-only session (one
 * statement that reads, none of what readonly=1 does not stop), with the
 * name of its FORMAT clause in format[fsize] ("" when none). Else the
 * ClickHouse error code to answer (62 SYNTAX_ERROR, 164 READONLY, 497
 * ACCESS_DENIED) and the reason in why[wsize]. Pure. */
int console_sql_check(const char *sql, size_t len, char *format, size_t fsize, char *why,
		      size_t wsize);

#endif
