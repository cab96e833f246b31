/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The console server: Akvorado's JSON API (/api/v0/console/), the built front
 * end (web/dist), /healthz, all on the shared HTTP listener. ClickHouse
 * queries run on a small pool of worker threads (the listener's event loop
 * never waits on them), bounded: past max-queries waiting, a 503. Every query
 * of a user a tenant matches carries that tenant's filter. */
#ifndef WEIR_CONSOLE_H
#define WEIR_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/config.h"
#include "../common/error.h"
#include "../common/metrics.h"
#include "../http/http.h"
#include "../store/store.h"

/* One `console.tenants` item: users named `user`, or in group `group` (from
 * the groups header), see only what `filter` (the filter language) lets
 * through. The first item that matches applies. */
struct console_tenant_config {
	char *user;
	char *group;
	char *filter;
};

/* The `console:` section of weir.yaml. Strings heap-allocated (freed with
 * console_config_free()). */
struct console_config {
	int enabled;		    /* enabled: serve the console in `weir run` (true) */
	char *web_dir;		    /* web-dir: "" = <exe dir>/../web/dist */
	uint64_t workers;	    /* workers: query threads (2) */
	uint64_t max_queries;	    /* max-queries: queued beyond the workers, then 503 (16) */
	char *username;		    /* username: read-only ClickHouse user ("" = clickhouse's) */
	char *password;		    /* password */
	uint64_t cache_graph_ms;    /* cache-graph: graph answers (30s) */
	uint64_t cache_complete_ms; /* cache-complete: completions (1m) */
	uint64_t cache_widget_ms;   /* cache-widget: widgets (5s) */
	uint64_t cache_max_bytes;   /* cache-max-bytes: bound of all cached answers (64MiB) */
	uint64_t dimensions_limit;  /* dimensions-limit: most series a graph may ask for (50) */
	char *default_filter;	    /* default-filter: in the default visualize options */
	char *header_user;	    /* header-login: "Remote-User" */
	char *header_name;	    /* header-name: "Remote-Name" */
	char *header_email;	    /* header-email: "Remote-Email" */
	char *header_logout;	    /* header-logout-url: "X-Logout-URL" */
	char *header_groups;	    /* header-groups: "Remote-Groups" (comma-separated) */
	char *default_user;	    /* default-user: login when the header is absent ("default") */
	char *saved_filters_file;   /* saved-filters-file: "" = kept in memory only */
	struct config_list tenants; /* tenants: struct console_tenant_config items */
};

extern const struct config_field console_config_fields[];

/* Fills `cfg` with the defaults above. Returns 0 or -ENOMEM. */
int console_config_defaults(struct console_config *cfg);
void console_config_free(struct console_config *cfg);

struct console;

/* A console on `listener` (routes added now: call before
 * http_listener_start()). `cfg`, `store` (clickhouse.url, database,
 * retention) and `metrics` (may be NULL) are borrowed and must outlive it.
 * Every tenant filter is checked here. Returns 0 with *out, or -EINVAL (bad
 * tenant filter, no web dir) / -ENOMEM with *out = NULL and `err` set. */
int console_new(const struct console_config *cfg, const struct store_config *store,
		struct http_listener *listener, struct metrics_registry *metrics,
		struct console **out, struct error *err);

/* Starts the query workers. Returns 0 or -errno with `err`. */
int console_start(struct console *c, struct error *err);

/* Stops the workers: queued queries get a 503. Call before freeing the
 * listener. */
void console_stop(struct console *c);

void console_free(struct console *c); /* stops first; accepts NULL */

/* ---- The query endpoint (clickhouse.query-endpoint, query_endpoint.c) ----
 * ClickHouse's HTTP interface, read-only, over the embedded engine, on a
 * listener of its own (`listen`): GET /?query=, POST / (the SQL as body,
 * after ?query= when both), database=, default_format= or a FORMAT clause
 * (the engine formats the answer), ClickHouse's error text ("Code: N.
 * DB::Exception: ...") and X-ClickHouse-Exception-Code, /ping. Refused with
 * ClickHouse's codes: what is not one reading statement, what readonly=1
 * lets through (file(), INTO OUTFILE, KILL...), settings in the URL, and
 * the users of console tenants (their filter could not be applied to raw
 * SQL); the user is the console's (login header, else X-ClickHouse-User,
 * Basic authorization or ?user=; no password is checked). Queries run on
 * max-queries workers, each with a read-only session (store_reader) of
 * its own, so never on the writers' connections; past max-queued waiting,
 * 503 and TOO_MANY_SIMULTANEOUS_QUERIES. Metrics:
 * weir_query_endpoint_{queries,query_errors,refused,rejected}_total. */
struct console_query_endpoint;

/* An endpoint for `store` (clickhouse.url, .database, .query_endpoint) with
 * the users of `console`; both and `metrics` (may be NULL) borrowed, must
 * outlive it. Nothing bound yet. Returns 0 with *out, or -EOPNOTSUPP (a
 * server URL), -EINVAL (listen), -ENOMEM, with `err` set. */
int console_query_endpoint_new(const struct console_config *console,
			       const struct store_config *store, struct metrics_registry *metrics,
			       struct console_query_endpoint **out, struct error *err);
/* Opens the sessions (the engine: -ENOENT without libchdb.so...), starts
 * the workers, binds and serves. Returns 0 or -errno with `err`. */
int console_query_endpoint_start(struct console_query_endpoint *e, struct error *err);
/* The bound port (0 before start). */
uint16_t console_query_endpoint_port(const struct console_query_endpoint *e);
/* Stops the workers (waiting queries get a 503) and closes every session;
 * idempotent. Before the engine's last user closes it. */
void console_query_endpoint_stop(struct console_query_endpoint *e);
void console_query_endpoint_free(struct console_query_endpoint *e); /* stops first; NULL ok */

#endif
