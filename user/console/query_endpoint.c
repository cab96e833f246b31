// SPDX-License-Identifier: AGPL-3.0-or-later
/* The read-only ClickHouse-compatible HTTP query endpoint over the embedded
 * engine (clickhouse.query-endpoint): ClickHouse's HTTP interface as curl,
 * scripts and Grafana use it, on a listener of its own, queries run by a
 * few workers each on a read-only session (store_reader) of its own. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/urltext.h"
#include "console_internal.h"

/* ClickHouse's error codes this file answers itself. */
#define CH_SYNTAX_ERROR	    62
#define CH_UNKNOWN_SETTING  115
#define CH_READONLY	    164
#define CH_TOO_MANY_QUERIES 202
#define CH_ACCESS_DENIED    497

struct qe_job {
	char *sql;
	char *database;	 /* NULL: clickhouse.database */
	char format[64]; /* "" : TabSeparated, unless the SQL says */
	char clause_format[64];
	struct http_deferred *d;
	struct qe_job *next;
};

struct console_query_endpoint {
	const struct console_config *console;
	const struct store_config *store;
	const struct store_query_endpoint_config *cfg;
	struct http_listener *http;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct qe_job *head, *tail;
	size_t queued, running;
	int stopping;
	struct store_reader **readers;
	pthread_t *threads;
	size_t nthreads;

	struct metric_series *m_queries, *m_errors, *m_refused, *m_rejected;
};

/* ---- answers ---- */

/* ClickHouse's HTTP status for an error code (its HTTPHandler's mapping,
 * for the codes a read-only query meets). */
static int http_status(int code)
{
	switch (code) {
	case 194: /* REQUIRED_PASSWORD */
		return 401;
	case 192: /* UNKNOWN_USER */
	case 193: /* WRONG_PASSWORD */
	case 516: /* AUTHENTICATION_FAILED */
	case CH_ACCESS_DENIED:
		return 403;
	case 6:	 /* CANNOT_PARSE_TEXT */
	case 27: /* CANNOT_PARSE_INPUT_ASSERTION_FAILED */
	case 36: /* BAD_ARGUMENTS */
	case 38: /* CANNOT_PARSE_DATE */
	case 41: /* CANNOT_PARSE_DATETIME */
	case 43: /* ILLEGAL_TYPE_OF_ARGUMENT */
	case 53: /* TYPE_MISMATCH */
	case CH_SYNTAX_ERROR:
	case 72:  /* CANNOT_PARSE_NUMBER */
	case 117: /* INCORRECT_DATA */
		return 400;
	case 46: /* UNKNOWN_FUNCTION */
	case 47: /* UNKNOWN_IDENTIFIER */
	case 50: /* UNKNOWN_TYPE */
	case 60: /* UNKNOWN_TABLE */
	case 73: /* UNKNOWN_FORMAT */
	case 81: /* UNKNOWN_DATABASE */
	case CH_UNKNOWN_SETTING:
		return 404;
	case 159: /* TIMEOUT_EXCEEDED */
		return 408;
	case CH_TOO_MANY_QUERIES:
		return 503;
	default:
		return 500;
	}
}

/* An error answer as ClickHouse's: the text "Code: N. DB::Exception: ...",
 * the code in X-ClickHouse-Exception-Code. `text` is either ClickHouse's
 * own (starts with "Code: ") or a message of this file (code given). */
static void error_response(struct http_response *resp, int code, const char *text)
{
	char *body = NULL;
	int n;

	if (strncmp(text, "Code: ", 6) == 0) {
		code = atoi(text + 6);
		n = asprintf(&body, "%s\n", text);
	} else {
		n = asprintf(&body, "Code: %d. DB::Exception: %s. (%s)\n", code, text,
			     code == CH_READONLY	   ? "READONLY"
			     : code == CH_ACCESS_DENIED	   ? "ACCESS_DENIED"
			     : code == CH_SYNTAX_ERROR	   ? "SYNTAX_ERROR"
			     : code == CH_UNKNOWN_SETTING  ? "UNKNOWN_SETTING"
			     : code == CH_TOO_MANY_QUERIES ? "TOO_MANY_SIMULTANEOUS_QUERIES"
							   : "UNKNOWN_EXCEPTION");
	}
	resp->status = http_status(code);
	resp->content_type = "text/plain; charset=UTF-8";
	resp->cache_control = "no-store";
	if (n >= 0) {
		resp->body = body;
		resp->body_len = (size_t)n;
	}
	resp->extra_header = "X-ClickHouse-Exception-Code";
	if (asprintf(&resp->extra_value, "%d", code) < 0)
		resp->extra_value = NULL;
}

/* The Content-Type ClickHouse sends for the usual formats. */
static const char *content_type(const char *format)
{
	static const struct {
		const char *prefix;
		const char *type;
	} types[] = {
	    {"TabSeparated", "text/tab-separated-values; charset=UTF-8"},
	    {"TSV", "text/tab-separated-values; charset=UTF-8"},
	    {"CSV", "text/csv; charset=UTF-8; header=absent"},
	    {"JSONEachRow", "application/x-ndjson; charset=UTF-8"},
	    {"JSON", "application/json; charset=UTF-8"},
	    {"XML", "application/xml; charset=UTF-8"},
	    {"Pretty", "text/plain; charset=UTF-8"},
	    {"Vertical", "text/plain; charset=UTF-8"},
	    {"Values", "text/plain; charset=UTF-8"},
	    {"Markdown", "text/markdown; charset=UTF-8"},
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strncasecmp(format, types[i].prefix, strlen(types[i].prefix)) == 0)
			return types[i].type;
	return "application/octet-stream";
}

static void job_free(struct qe_job *j)
{
	if (!j)
		return;
	free(j->sql);
	free(j->database);
	free(j);
}

static void finish_error(struct http_deferred *d, int code, const char *text)
{
	struct http_response resp = {0};

	error_response(&resp, code, text);
	http_deferred_finish(d, &resp);
}

/* ---- workers: one read-only session each ---- */

struct worker_arg {
	struct console_query_endpoint *e;
	struct store_reader *reader;
};

/* Runs j's query into *resp (the worker hands it over once its slot is
 * free). */
static void run_job(struct console_query_endpoint *e, struct store_reader *reader, struct qe_job *j,
		    struct http_response *resp)
{
	const char *format = j->clause_format[0] ? j->clause_format
			     : j->format[0]	 ? j->format
						 : "TabSeparated";
	struct error err = {0};
	char *out = NULL;
	size_t len = 0;
	int r;

	metric_add(e->m_queries, 1);
	r = store_reader_query(reader, j->database, j->sql, j->format[0] ? j->format : NULL, &out,
			       &len, &err);
	if (r < 0) {
		metric_add(e->m_errors, 1);
		error_response(resp, 1000, err.text[0] ? err.text : strerror(-r));
		return;
	}
	resp->status = 200;
	resp->content_type = content_type(format);
	resp->cache_control = "no-store";
	resp->body = out;
	resp->body_len = len;
	resp->extra_header = "X-ClickHouse-Format";
	resp->extra_value = strdup(format);
}

static void *worker_main(void *arg)
{
	struct worker_arg *w = arg;
	struct console_query_endpoint *e = w->e;

	for (;;) {
		struct http_response resp = {0};
		struct qe_job *j;

		pthread_mutex_lock(&e->lock);
		while (!e->head && !e->stopping)
			pthread_cond_wait(&e->cond, &e->lock);
		if (e->stopping) {
			pthread_mutex_unlock(&e->lock);
			break;
		}
		j = e->head;
		e->head = j->next;
		if (!e->head)
			e->tail = NULL;
		e->queued--;
		e->running++;
		pthread_mutex_unlock(&e->lock);
		run_job(e, w->reader, j, &resp);
		/* The slot is free before the client can read its answer: a
		 * client that waits for each answer before asking again never
		 * finds its own finished query still counted (503). */
		pthread_mutex_lock(&e->lock);
		e->running--;
		pthread_mutex_unlock(&e->lock);
		http_deferred_finish(j->d, &resp);
		job_free(j);
	}
	free(w);
	return NULL;
}

/* ---- the route ---- */

/* URL parameters ClickHouse's clients send that this endpoint reads or may
 * ignore (it always buffers the answer and never compresses it), and the
 * limits a client may ask for: clickhouse-go (Grafana's ClickHouse data
 * source) sends max_execution_time with every query, which a readonly=1
 * server refuses (clickhouse-go issue 1748). A number is taken and the
 * endpoint's own limits apply all the same (the session cannot change
 * them); any other parameter is a setting, which a read-only session
 * cannot change. */
static const char *const limit_params[] = {
    "max_execution_time", "max_rows_to_read", "max_bytes_to_read",
    "max_result_rows",	  "max_result_bytes", "max_memory_usage",
};

struct params_check {
	const struct http_request *req;
	char *bad; /* the first parameter refused, malloc'd */
};

static int unknown_param(void *ctx, const char *name, size_t n)
{
	static const char *const known[] = {
	    "query",
	    "database",
	    "default_format",
	    "user",
	    "password",
	    "query_id",
	    "session_id",
	    "session_timeout",
	    "session_check",
	    "wait_end_of_query",
	    "send_progress_in_http_headers",
	    "enable_http_compression",
	    "buffer_size",
	    "http_headers_progress_interval_ms",
	    "add_http_cors_header",
	    "output_format_json_quote_64bit_integers",
	};
	struct params_check *c = ctx;
	char *v = NULL;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i]) == n && memcmp(known[i], name, n) == 0)
			return 0;
	for (size_t i = 0; i < sizeof(limit_params) / sizeof(limit_params[0]); i++) {
		int number;

		if (strlen(limit_params[i]) != n || memcmp(limit_params[i], name, n) != 0)
			continue;
		number = urltext_param(c->req->query, c->req->query_len, limit_params[i], &v,
				       NULL) > 0 &&
			 v[0] && strspn(v, "0123456789.") == strlen(v);
		free(v);
		if (number)
			return 0;
		break;
	}
	c->bad = strndup(name, n > 64 ? 64 : n);
	return 1;
}

/* Who asks, as the console sees it: the reverse proxy's login header, else
 * ClickHouse's own ways of naming a user (X-ClickHouse-User, Basic
 * authorization, ?user=), else console.default-user. No password is
 * checked: as the console, the endpoint trusts what is in front of it. */
static void who_asks(const struct console_query_endpoint *e, const struct http_request *req,
		     char *user, size_t size, char *groups, size_t gsize)
{
	const char *v = NULL;
	char *param = NULL;
	size_t len = 0;

	user[0] = groups[0] = 0;
	if (e->console->header_user && e->console->header_user[0])
		v = http_request_header(req, e->console->header_user, &len);
	if (!v || !len)
		v = http_request_header(req, "X-ClickHouse-User", &len);
	if ((!v || !len) && (v = http_request_header(req, "Authorization", &len)) && len > 6 &&
	    strncasecmp(v, "Basic ", 6) == 0) {
		char dec[512];
		long n = urltext_base64_decode(v + 6, len - 6, dec, sizeof(dec));
		char *colon = n > 0 ? memchr(dec, ':', (size_t)n) : NULL;

		v = NULL;
		if (colon) {
			*colon = 0;
			snprintf(user, size, "%s", dec);
		}
	} else if (v && len) {
		snprintf(user, size, "%.*s", (int)len, v);
	}
	if (!user[0] && req->query &&
	    urltext_param(req->query, req->query_len, "user", &param, NULL) > 0)
		snprintf(user, size, "%s", param);
	free(param);
	if (!user[0])
		snprintf(user, size, "%s",
			 e->console->default_user ? e->console->default_user : "");
	if (e->console->header_groups && e->console->header_groups[0] &&
	    (v = http_request_header(req, e->console->header_groups, &len)))
		snprintf(groups, gsize, "%.*s", (int)len, v);
}

/* 1 when a console tenant applies to the user: the console adds its filter
 * to every query; raw SQL could not be held to it. */
static int tenant_user(const struct console_query_endpoint *e, const char *user, const char *groups)
{
	const struct console_tenant_config *t = e->console->tenants.items;

	for (size_t i = 0; i < e->console->tenants.count; i++)
		if ((t[i].user && t[i].user[0] && !strcmp(t[i].user, user)) ||
		    (t[i].group && t[i].group[0] && console_in_groups(groups, t[i].group)))
			return 1;
	return 0;
}

static void query_route(void *ctx, const struct http_request *req, struct http_deferred *d)
{
	struct console_query_endpoint *e = ctx;
	char user[256], groups[1024], why[512], *bad = NULL, *param = NULL;
	struct params_check pc = {req, NULL};
	struct qe_job *j = calloc(1, sizeof(*j));
	size_t plen = 0;
	int post = req->method_len == 4 && !memcmp(req->method, "POST", 4), code;

	if (!j) {
		finish_error(d, 241,
			     "Code: 241. DB::Exception: out of memory. (MEMORY_LIMIT_EXCEEDED)");
		return;
	}
	if (!post && !(req->method_len == 3 && !memcmp(req->method, "GET", 3))) {
		code = CH_SYNTAX_ERROR;
		snprintf(why, sizeof(why), "method %.*s: the query endpoint takes GET and POST",
			 (int)req->method_len > 16 ? 16 : (int)req->method_len, req->method);
		goto refuse;
	}
	who_asks(e, req, user, sizeof(user), groups, sizeof(groups));
	if (tenant_user(e, user, groups)) {
		code = CH_ACCESS_DENIED;
		snprintf(why, sizeof(why),
			 "%.64s: Not enough privileges: a console tenant's user sees flows through "
			 "its filter, raw SQL would not be held to it",
			 user);
		goto refuse;
	}
	if (req->query && urltext_each_name(req->query, req->query_len, unknown_param, &pc)) {
		bad = pc.bad;
		code = CH_READONLY;
		snprintf(why, sizeof(why), "Cannot modify '%s' setting in readonly mode",
			 bad ? bad : "?");
		goto refuse;
	}
	/* The SQL: ?query=, then (POST) the body after a newline, as
	 * ClickHouse joins them. */
	if (req->query && urltext_param(req->query, req->query_len, "query", &param, &plen) < 0)
		goto oom;
	if (post && req->body_len) {
		char *s = malloc(plen + 1 + req->body_len + 1);

		if (!s)
			goto oom;
		if (plen)
			memcpy(s, param, plen);
		s[plen] = '\n';
		memcpy(s + (plen ? plen + 1 : 0), req->body, req->body_len);
		plen = (plen ? plen + 1 : 0) + req->body_len;
		s[plen] = 0;
		free(param);
		param = s;
	}
	if (!param) {
		code = CH_SYNTAX_ERROR;
		snprintf(why, sizeof(why), "Empty query");
		goto refuse;
	}
	j->sql = param;
	param = NULL;
	code = console_sql_check(j->sql, plen, j->clause_format, sizeof(j->clause_format), why,
				 sizeof(why));
	if (code)
		goto refuse;
	if (urltext_param(req->query, req->query_len, "database", &j->database, NULL) < 0)
		goto oom;
	if (urltext_param(req->query, req->query_len, "default_format", &param, NULL) < 0)
		goto oom;
	if (param) {
		size_t n = strspn(
		    param, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");

		if (param[n] || n >= sizeof(j->format)) {
			code = 73;
			snprintf(why, sizeof(why), "Unknown output format %.64s", param);
			goto refuse;
		}
		snprintf(j->format, sizeof(j->format), "%s", param);
		free(param);
		param = NULL;
	}
	j->d = d;
	pthread_mutex_lock(&e->lock);
	if (e->stopping || !e->nthreads ||
	    e->queued + e->running >= e->cfg->max_queued + e->nthreads) {
		size_t max = e->cfg->max_queries + e->cfg->max_queued;

		pthread_mutex_unlock(&e->lock);
		metric_add(e->m_rejected, 1);
		snprintf(why, sizeof(why),
			 "Too many simultaneous queries. Maximum: %zu (clickhouse.query-endpoint."
			 "max-queries + max-queued)",
			 max);
		code = CH_TOO_MANY_QUERIES;
		j->d = NULL;
		goto answer;
	}
	if (e->tail)
		e->tail->next = j;
	else
		e->head = j;
	e->tail = j;
	e->queued++;
	pthread_cond_signal(&e->cond);
	pthread_mutex_unlock(&e->lock);
	return;
oom:
	code = 241;
	snprintf(why, sizeof(why), "out of memory");
refuse:
	metric_add(e->m_refused, 1);
answer:
	free(param);
	free(bad);
	job_free(j);
	finish_error(d, code, why);
}

static int ping_route(void *ctx, const struct http_request *req, struct http_response *resp)
{
	(void)ctx;
	(void)req;
	resp->body = strdup("Ok.\n");
	resp->body_len = resp->body ? 4 : 0;
	return resp->body ? 0 : -ENOMEM;
}

/* ---- life cycle ---- */

int console_query_endpoint_new(const struct console_config *console,
			       const struct store_config *store, struct metrics_registry *metrics,
			       struct console_query_endpoint **out, struct error *err)
{
	struct console_query_endpoint *e;
	const char *url = store->url ? store->url : "";
	int r;

	*out = NULL;
	if (strncmp(url, "embedded://", 11) != 0)
		return error_set(
		    err, -EOPNOTSUPP,
		    "console: clickhouse.query-endpoint: the server %s answers queries "
		    "itself; the endpoint serves the embedded engine only",
		    url);
	e = calloc(1, sizeof(*e));
	if (!e)
		return error_set(err, -ENOMEM, "console: out of memory");
	e->console = console;
	e->store = store;
	e->cfg = &store->query_endpoint;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);
	if (metrics) {
		e->m_queries = metrics_counter(metrics, "weir_query_endpoint_queries_total",
					       "SQL queries the query endpoint ran", NULL, NULL);
		e->m_errors =
		    metrics_counter(metrics, "weir_query_endpoint_query_errors_total",
				    "SQL queries the engine answered with an error", NULL, NULL);
		e->m_refused = metrics_counter(
		    metrics, "weir_query_endpoint_refused_total",
		    "requests refused before the engine (not read-only, tenant user)", NULL, NULL);
		e->m_rejected = metrics_counter(
		    metrics, "weir_query_endpoint_rejected_total",
		    "requests answered 503 (too many simultaneous queries)", NULL, NULL);
	}
	r = http_listener_new(e->cfg->listen, NULL, &e->http, err);
	/* (h2o takes the first registered prefix that matches) */
	if (r == 0)
		r = http_listener_route(e->http, "/ping", ping_route, e);
	if (r == 0)
		r = http_listener_route_async(e->http, "/", query_route, e);
	if (r < 0) {
		if (r != -EINVAL)
			error_set(err, r, "console: query endpoint: %s", strerror(-r));
		console_query_endpoint_free(e);
		return r;
	}
	*out = e;
	return 0;
}

int console_query_endpoint_start(struct console_query_endpoint *e, struct error *err)
{
	size_t n = e->cfg->max_queries;
	int r = 0;

	e->readers = calloc(n, sizeof(*e->readers));
	e->threads = calloc(n, sizeof(*e->threads));
	if (!e->readers || !e->threads)
		return error_set(err, -ENOMEM, "console: out of memory");
	/* The sessions are opened here, on the caller's thread: a missing
	 * library or a busy directory is said now, and the engine's threads
	 * get the caller's signal mask. */
	for (size_t i = 0; i < n && r == 0; i++)
		r = store_reader_new(e->store, &e->readers[i], err);
	for (size_t i = 0; i < n && r == 0; i++) {
		struct worker_arg *w = malloc(sizeof(*w));

		if (!w) {
			r = error_set(err, -ENOMEM, "console: out of memory");
			break;
		}
		w->e = e;
		w->reader = e->readers[i];
		r = -pthread_create(&e->threads[i], NULL, worker_main, w);
		if (r < 0) {
			free(w);
			error_set(err, r, "console: query endpoint thread: %s", strerror(-r));
			break;
		}
		e->nthreads++;
	}
	if (r == 0)
		r = http_listener_start(e->http, err);
	if (r < 0) {
		console_query_endpoint_stop(e);
		return r;
	}
	log_info("query endpoint listening", "listen=%s port=%u sessions=%zu", e->cfg->listen,
		 (unsigned)http_listener_port(e->http), n);
	return 0;
}

uint16_t console_query_endpoint_port(const struct console_query_endpoint *e)
{
	return e ? http_listener_port(e->http) : 0;
}

void console_query_endpoint_stop(struct console_query_endpoint *e)
{
	struct qe_job *j;

	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	e->stopping = 1;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	for (size_t i = 0; i < e->nthreads; i++)
		pthread_join(e->threads[i], NULL);
	e->nthreads = 0;
	while ((j = e->head)) {
		e->head = j->next;
		finish_error(j->d, CH_TOO_MANY_QUERIES,
			     "Code: 202. DB::Exception: weir is stopping. "
			     "(TOO_MANY_SIMULTANEOUS_QUERIES)");
		job_free(j);
	}
	e->tail = NULL;
	e->queued = 0;
	/* Every session closed before the engine's last reference goes. */
	if (e->readers)
		for (size_t i = 0; i < e->cfg->max_queries; i++) {
			store_reader_free(e->readers[i]);
			e->readers[i] = NULL;
		}
}

void console_query_endpoint_free(struct console_query_endpoint *e)
{
	if (!e)
		return;
	console_query_endpoint_stop(e);
	http_listener_free(e->http);
	free(e->readers);
	free(e->threads);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->cond);
	free(e);
}
