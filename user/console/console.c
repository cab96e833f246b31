// SPDX-License-Identifier: AGPL-3.0-or-later
/* The console server: routes on the shared listener, the query workers and
 * their bounded queue, the response cache, static files, the user from the
 * reverse proxy's headers, tenants, saved filters. The queries themselves
 * are in query.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "console_internal.h"
#include "filter.h"

#define API		     "/api/v0/console/"
#define WEIR_CONSOLE_VERSION "0.1.0"

/* ---- configuration ---- */

static const struct config_field tenant_fields[] = {
    {.key = "user", .type = CONFIG_STRING, .offset = offsetof(struct console_tenant_config, user)},
    {.key = "group",
     .type = CONFIG_STRING,
     .offset = offsetof(struct console_tenant_config, group)},
    {.key = "filter",
     .type = CONFIG_STRING,
     .required = 1,
     .offset = offsetof(struct console_tenant_config, filter)},
    {0},
};
static const struct config_field tenant_item = {.type = CONFIG_SECTION, .fields = tenant_fields};

#define F(k, t, m, ...)                                                                            \
	{                                                                                          \
		.key = k, .type = t, .offset = offsetof(struct console_config, m), __VA_ARGS__     \
	}
const struct config_field console_config_fields[] = {
    F("enabled", CONFIG_BOOL, enabled),
    F("web-dir", CONFIG_STRING, web_dir),
    F("workers", CONFIG_UINT, workers, .min = 1, .max = 64),
    F("max-queries", CONFIG_UINT, max_queries, .min = 1, .max = 100000),
    F("username", CONFIG_STRING, username),
    F("password", CONFIG_STRING, password),
    F("cache-graph", CONFIG_DURATION, cache_graph_ms),
    F("cache-complete", CONFIG_DURATION, cache_complete_ms),
    F("cache-widget", CONFIG_DURATION, cache_widget_ms),
    F("cache-max-bytes", CONFIG_SIZE, cache_max_bytes),
    F("dimensions-limit", CONFIG_UINT, dimensions_limit, .min = 1, .max = 10000),
    F("default-filter", CONFIG_STRING, default_filter),
    F("header-login", CONFIG_STRING, header_user),
    F("header-name", CONFIG_STRING, header_name),
    F("header-email", CONFIG_STRING, header_email),
    F("header-logout-url", CONFIG_STRING, header_logout),
    F("header-groups", CONFIG_STRING, header_groups),
    F("default-user", CONFIG_STRING, default_user),
    F("saved-filters-file", CONFIG_STRING, saved_filters_file),
    F("tenants", CONFIG_LIST, tenants, .item = &tenant_item,
      .item_size = sizeof(struct console_tenant_config)),
    {0},
};
#undef F

int console_config_defaults(struct console_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->enabled = 1;
	cfg->workers = 2;
	cfg->max_queries = 16;
	cfg->cache_graph_ms = 30000;
	cfg->cache_complete_ms = 60000;
	cfg->cache_widget_ms = 5000;
	cfg->cache_max_bytes = 64ull << 20;
	cfg->dimensions_limit = 50;
	cfg->web_dir = strdup("");
	cfg->username = strdup("");
	cfg->password = strdup("");
	cfg->default_filter = strdup("");
	cfg->header_user = strdup("Remote-User");
	cfg->header_name = strdup("Remote-Name");
	cfg->header_email = strdup("Remote-Email");
	cfg->header_logout = strdup("X-Logout-URL");
	cfg->header_groups = strdup("Remote-Groups");
	cfg->default_user = strdup("default");
	cfg->saved_filters_file = strdup("");
	if (!cfg->web_dir || !cfg->username || !cfg->password || !cfg->default_filter ||
	    !cfg->header_user || !cfg->header_name || !cfg->header_email || !cfg->header_logout ||
	    !cfg->header_groups || !cfg->default_user || !cfg->saved_filters_file) {
		console_config_free(cfg);
		return -ENOMEM;
	}
	return 0;
}

void console_config_free(struct console_config *cfg)
{
	config_free_bound(console_config_fields, cfg);
}

/* ---- the object ---- */

struct cache_entry {
	char *key;
	char *body;
	size_t len;
	const char *content_type;
	char *sql;
	uint64_t expires_ms;
	struct cache_entry *next;
};

struct saved_filter {
	uint64_t id;
	char *user, *description, *content;
	int shared;
};

struct console {
	const struct console_config *cfg;
	const struct store_config *store;
	struct store_config ro; /* store with the console's credentials */
	char web_dir[PATH_MAX];
	int have_web;
	char **tenant_sql; /* per cfg->tenants item */
	int *tenant_cons;  /* per item: filter_consolidated() of its filter */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct console_job *head, *tail;
	size_t queued;
	int stopping;
	pthread_t *threads;
	size_t nthreads;

	pthread_mutex_t cache_lock;
	struct cache_entry *cache;
	size_t cache_bytes;

	pthread_mutex_t saved_lock;
	struct saved_filter *saved;
	size_t nsaved;
	uint64_t next_id;

	struct metric_series *m_requests, *m_queries, *m_rejected, *m_hits, *m_errors;
};

void console_answer_error(struct console_answer *a, int status, const char *fmt, ...)
{
	struct buf b = {0};
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	buf_append(&b, "{\"message\":", 11);
	jb_cstr(&b, msg);
	buf_append(&b, "}", 1);
	free(a->body);
	a->status = status;
	a->content_type = "application/json; charset=utf-8";
	a->body = jb_take(&b, &a->body_len);
}

static void answer_to_response(struct console_answer *a, struct http_response *r)
{
	r->status = a->status ? a->status : 200;
	r->content_type = a->content_type ? a->content_type : "application/json; charset=utf-8";
	r->body = a->body;
	r->body_len = a->body_len;
	if (a->sql) {
		/* A header value holds no newline. */
		for (char *p = a->sql; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		r->extra_header = "X-SQL-Query";
		r->extra_value = a->sql;
	}
	r->cache_control = "no-store";
	a->body = a->sql = NULL;
}

/* ---- the cache ---- */

static int cache_get(struct console *c, const char *key, struct console_answer *a)
{
	uint64_t now = clock_mono_ms();
	int hit = 0;

	pthread_mutex_lock(&c->cache_lock);
	for (struct cache_entry **pe = &c->cache; *pe;) {
		struct cache_entry *e = *pe;

		if (e->expires_ms <= now) {
			*pe = e->next;
			c->cache_bytes -= e->len + strlen(e->key) + (e->sql ? strlen(e->sql) : 0);
			free(e->key);
			free(e->body);
			free(e->sql);
			free(e);
			continue;
		}
		if (!hit && !strcmp(e->key, key)) {
			a->body = malloc(e->len + 1);
			a->sql = e->sql ? strdup(e->sql) : NULL;
			if (a->body) {
				memcpy(a->body, e->body, e->len + 1);
				a->body_len = e->len;
				a->status = 200;
				a->content_type = e->content_type;
				hit = 1;
			} else {
				free(a->sql);
				a->sql = NULL;
			}
		}
		pe = &e->next;
	}
	pthread_mutex_unlock(&c->cache_lock);
	return hit;
}

static void cache_put(struct console *c, const char *key, uint64_t ms,
		      const struct console_answer *a)
{
	struct cache_entry *e;
	size_t size = a->body_len + strlen(key) + (a->sql ? strlen(a->sql) : 0);

	if (!ms || size > c->cfg->cache_max_bytes / 4)
		return;
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->key = strdup(key);
	e->body = malloc(a->body_len + 1);
	e->sql = a->sql ? strdup(a->sql) : NULL;
	if (!e->key || !e->body || (a->sql && !e->sql)) {
		free(e->key);
		free(e->body);
		free(e->sql);
		free(e);
		return;
	}
	memcpy(e->body, a->body, a->body_len);
	e->body[a->body_len] = '\0';
	e->len = a->body_len;
	e->content_type = a->content_type;
	e->expires_ms = clock_mono_ms() + ms;
	pthread_mutex_lock(&c->cache_lock);
	/* Over the bound: the oldest entries (at the tail) go. */
	while (c->cache && c->cache_bytes + size > c->cfg->cache_max_bytes) {
		struct cache_entry **pe = &c->cache, *old;

		while ((*pe)->next)
			pe = &(*pe)->next;
		old = *pe;
		*pe = NULL;
		c->cache_bytes -= old->len + strlen(old->key) + (old->sql ? strlen(old->sql) : 0);
		free(old->key);
		free(old->body);
		free(old->sql);
		free(old);
	}
	e->next = c->cache;
	c->cache = e;
	c->cache_bytes += size;
	pthread_mutex_unlock(&c->cache_lock);
}

/* ---- workers ---- */

static void job_free(struct console_job *j)
{
	if (!j)
		return;
	free(j->route);
	free(j->body);
	free(j->tenant_sql);
	free(j->cache_key);
	free(j);
}

static void *worker_main(void *arg)
{
	struct console *c = arg;
	struct store_client *ch = NULL;
	struct error err;

	char set[512];

	if (store_client_new(&c->ro, &ch, &err) < 0)
		log_error("console: ClickHouse client", "error=%s", err.text);
	/* On a server the console's read-only user bounds its queries; the
	 * embedded engine has no users: its session is made read-only with
	 * clickhouse.query-endpoint's limits before the first query. Without
	 * them, no queries: a 503 rather than a read-write session. */
	if (ch && store_reader_settings(&c->ro, set, sizeof(set)) &&
	    store_client_query_nodb(ch, set, NULL) < 0) {
		log_error("console: read-only session", "error=%s", store_client_error(ch));
		store_client_free(ch);
		ch = NULL;
	}
	for (;;) {
		struct console_job *j;
		struct console_answer a = {0};
		struct http_response resp = {0};

		pthread_mutex_lock(&c->lock);
		while (!c->head && !c->stopping)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->stopping) {
			pthread_mutex_unlock(&c->lock);
			break;
		}
		j = c->head;
		c->head = j->next;
		if (!c->head)
			c->tail = NULL;
		c->queued--;
		pthread_mutex_unlock(&c->lock);

		if (j->cache_key && cache_get(c, j->cache_key, &a)) {
			metric_add(c->m_hits, 1);
		} else if (!ch) {
			console_answer_error(&a, 503, "ClickHouse client unavailable");
		} else {
			int r;

			metric_add(c->m_queries, 1);
			r = console_query_run(c->cfg, c->store, ch, j, &a);
			if (r < 0 && !a.status)
				console_answer_error(&a, 500, "internal error: %s", strerror(-r));
			if (a.status >= 500)
				metric_add(c->m_errors, 1);
			if ((!a.status || a.status == 200) && j->cache_key)
				cache_put(c, j->cache_key, j->cache_ms, &a);
		}
		answer_to_response(&a, &resp);
		http_deferred_finish(j->d, &resp);
		j->d = NULL;
		job_free(j);
	}
	store_client_free(ch);
	return NULL;
}

/* Hands `j` to the workers, or answers 503 when max-queries are waiting. */
static void enqueue(struct console *c, struct console_job *j)
{
	pthread_mutex_lock(&c->lock);
	if (c->stopping || c->queued >= c->cfg->max_queries || !c->nthreads) {
		struct console_answer a = {0};
		struct http_response resp = {0};

		pthread_mutex_unlock(&c->lock);
		metric_add(c->m_rejected, 1);
		console_answer_error(&a, 503, "too many queries in progress, try again later");
		answer_to_response(&a, &resp);
		http_deferred_finish(j->d, &resp);
		job_free(j);
		return;
	}
	if (c->tail)
		c->tail->next = j;
	else
		c->head = j;
	c->tail = j;
	c->queued++;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* ---- who asks ---- */

struct who {
	char user[256];
	char groups[1024];
};

static void header_copy(const struct http_request *req, const char *name, char *out, size_t size)
{
	size_t len = 0;
	const char *v = name && *name ? http_request_header(req, name, &len) : NULL;

	out[0] = '\0';
	if (!v)
		return;
	if (len >= size)
		len = size - 1;
	memcpy(out, v, len);
	out[len] = '\0';
}

static void who_of(const struct console *c, const struct http_request *req, struct who *w)
{
	header_copy(req, c->cfg->header_user, w->user, sizeof(w->user));
	if (!w->user[0])
		snprintf(w->user, sizeof(w->user), "%s", c->cfg->default_user);
	header_copy(req, c->cfg->header_groups, w->groups, sizeof(w->groups));
}

int console_in_groups(const char *groups, const char *g)
{
	size_t n = strlen(g);

	for (const char *p = groups; *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		while (len && *p == ' ') {
			p++;
			len--;
		}
		while (len && p[len - 1] == ' ')
			len--;
		if (len == n && !memcmp(p, g, n))
			return 1;
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

/* The SQL of the tenant filter that applies to `w`, "1" when none; with
 * whether the consolidated tables hold its columns in *cons. */
static const char *tenant_of(const struct console *c, const struct who *w, int *cons)
{
	const struct console_tenant_config *t = c->cfg->tenants.items;

	*cons = 1;
	for (size_t i = 0; i < c->cfg->tenants.count; i++) {
		if ((t[i].user && *t[i].user && !strcmp(t[i].user, w->user)) ||
		    (t[i].group && *t[i].group && console_in_groups(w->groups, t[i].group))) {
			*cons = c->tenant_cons[i];
			return c->tenant_sql[i];
		}
	}
	return "1";
}

/* ---- synchronous answers ---- */

static void set_json(struct http_response *resp, struct buf *b, int status)
{
	resp->status = status;
	resp->content_type = "application/json; charset=utf-8";
	resp->body = jb_take(b, &resp->body_len);
	resp->cache_control = "no-store";
}

static void json_error(struct http_response *resp, int status, const char *msg)
{
	struct buf b = {0};

	buf_append(&b, "{\"message\":", 11);
	jb_cstr(&b, msg);
	buf_append(&b, "}", 1);
	set_json(resp, &b, status);
}

static void configuration(const struct console *c, struct http_response *resp)
{
	struct buf b = {0};
	int first = 1;

	buf_printf(&b,
		   "{\"version\":\"%s\",\"defaultVisualizeOptions\":{\"graphType\":\"stacked\","
		   "\"start\":\"6 hours ago\",\"end\":\"now\",\"filter\":",
		   WEIR_CONSOLE_VERSION);
	jb_cstr(&b, c->cfg->default_filter);
	buf_printf(&b,
		   ",\"dimensions\":[\"SrcAS\"],\"limit\":10,\"limitType\":\"avg\","
		   "\"bidirectional\":false,\"previousPeriod\":false},\"dimensionsLimit\":%llu,"
		   "\"dimensions\":[",
		   (unsigned long long)c->cfg->dimensions_limit);
	for (size_t i = 0; i < filter_columns_count; i++)
		if (filter_columns[i].flags & FILTER_COL_DIMENSION) {
			buf_printf(&b, "%s\"%s\"", first ? "" : ",", filter_columns[i].name);
			first = 0;
		}
	buf_append(&b, "],\"truncatable\":[", 17);
	first = 1;
	for (size_t i = 0; i < filter_columns_count; i++)
		if (filter_columns[i].flags & FILTER_COL_TRUNCATABLE) {
			buf_printf(&b, "%s\"%s\"", first ? "" : ",", filter_columns[i].name);
			first = 0;
		}
	buf_printf(&b, "%s",
		   "],\"homepageTopWidgets\":[\"src-as\",\"src-port\",\"protocol\",\"src-country\","
		   "\"exporter\",\"etype\"]}");
	set_json(resp, &b, 200);
}

static void user_info(const struct console *c, const struct http_request *req,
		      struct http_response *resp)
{
	struct who w;
	char name[256], email[256], logout[512];
	struct buf b = {0};

	who_of(c, req, &w);
	header_copy(req, c->cfg->header_name, name, sizeof(name));
	header_copy(req, c->cfg->header_email, email, sizeof(email));
	header_copy(req, c->cfg->header_logout, logout, sizeof(logout));
	buf_append(&b, "{\"login\":", 9);
	jb_cstr(&b, w.user);
	if (name[0]) {
		buf_append(&b, ",\"name\":", 8);
		jb_cstr(&b, name);
	}
	if (email[0]) {
		buf_append(&b, ",\"email\":", 9);
		jb_cstr(&b, email);
	}
	if (logout[0]) {
		buf_append(&b, ",\"logout-url\":", 14);
		jb_cstr(&b, logout);
	}
	buf_append(&b, "}", 1);
	set_json(resp, &b, 200);
}

static void validate(const struct http_request *req, struct http_response *resp)
{
	struct json *j = NULL;
	const struct json *f;
	char jerr[128];
	struct filter *flt = NULL;
	struct filter_error fe;
	struct buf b = {0};
	char *sql = NULL;

	if (json_parse((const char *)req->body, req->body_len, &j, jerr, sizeof(jerr)) < 0) {
		json_error(resp, 400, jerr);
		return;
	}
	f = json_get(j, "filter");
	if (!f || f->type != JSON_STRING) {
		json_free(j);
		json_error(resp, 400, "filter: a string is required");
		return;
	}
	if (filter_parse(f->str, f->len, &flt, &fe) == 0 && filter_sql(flt, 0, &sql) == 0) {
		buf_append(&b, "{\"message\":\"ok\",\"parsed\":", 25);
		jb_cstr(&b, sql);
		buf_append(&b, "}", 1);
	} else {
		buf_append(&b, "{\"message\":", 11);
		jb_cstr(&b, fe.message);
		buf_printf(&b, ",\"errors\":[{\"message\":");
		jb_cstr(&b, fe.message);
		buf_printf(&b, ",\"line\":%d,\"column\":%d,\"offset\":%d}]}", fe.line, fe.column,
			   fe.offset);
	}
	free(sql);
	filter_free(flt);
	json_free(j);
	set_json(resp, &b, 200);
}

/* ---- saved filters (in memory; written to saved-filters-file when set) ---- */

static void saved_write(struct console *c)
{
	const char *path = c->cfg->saved_filters_file;
	struct buf b = {0};
	char tmp[PATH_MAX];
	FILE *f;

	if (!path || !*path)
		return;
	for (size_t i = 0; i < c->nsaved; i++) {
		const struct saved_filter *s = &c->saved[i];

		buf_printf(&b, "{\"id\":%llu,\"user\":", (unsigned long long)s->id);
		jb_cstr(&b, s->user);
		buf_printf(&b, ",\"shared\":%s,\"description\":", s->shared ? "true" : "false");
		jb_cstr(&b, s->description);
		buf_append(&b, ",\"content\":", 11);
		jb_cstr(&b, s->content);
		buf_append(&b, "}\n", 2);
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f) {
		size_t len;
		char *s = jb_take(&b, &len);

		if (s && fwrite(s, 1, len, f) == len && fclose(f) == 0)
			rename(tmp, path);
		else if (f)
			fclose(f);
		free(s);
		return;
	}
	free(b.data);
	log_warn("console: saved filters not written", "file=%s error=%s", path, strerror(errno));
}

static int saved_add(struct console *c, const char *user, const char *desc, const char *content,
		     int shared, uint64_t id)
{
	struct saved_filter *n = realloc(c->saved, (c->nsaved + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	c->saved = n;
	n = &c->saved[c->nsaved];
	n->id = id ? id : c->next_id;
	n->user = strdup(user);
	n->description = strdup(desc);
	n->content = strdup(content);
	n->shared = shared;
	if (!n->user || !n->description || !n->content) {
		free(n->user);
		free(n->description);
		free(n->content);
		return -ENOMEM;
	}
	c->nsaved++;
	if (n->id >= c->next_id)
		c->next_id = n->id + 1;
	return 0;
}

static void saved_load(struct console *c)
{
	const char *path = c->cfg->saved_filters_file;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	if (!path || !*path || !(f = fopen(path, "r")))
		return;
	while ((n = getline(&line, &cap, f)) > 0) {
		struct json *j;
		const struct json *id, *u, *s, *d, *ct;

		if (json_parse(line, (size_t)n, &j, NULL, 0) < 0)
			continue;
		id = json_get(j, "id");
		u = json_get(j, "user");
		s = json_get(j, "shared");
		d = json_get(j, "description");
		ct = json_get(j, "content");
		if (id && id->type == JSON_NUMBER && id->number >= 1 && u &&
		    u->type == JSON_STRING && d && d->type == JSON_STRING && ct &&
		    ct->type == JSON_STRING)
			saved_add(c, u->str, d->str, ct->str, s && s->boolean,
				  (uint64_t)id->number);
		json_free(j);
	}
	free(line);
	fclose(f);
}

static void saved_route(struct console *c, const struct http_request *req, const char *rest,
			struct http_response *resp)
{
	struct who w;
	struct buf b = {0};

	who_of(c, req, &w);
	pthread_mutex_lock(&c->saved_lock);
	if (!*rest && req->method_len == 3 && !memcmp(req->method, "GET", 3)) {
		int first = 1;

		buf_append(&b, "{\"filters\":[", 12);
		for (size_t i = 0; i < c->nsaved; i++) {
			const struct saved_filter *s = &c->saved[i];

			if (!s->shared && strcmp(s->user, w.user))
				continue;
			buf_printf(&b, "%s{\"id\":%llu,\"user\":", first ? "" : ",",
				   (unsigned long long)s->id);
			jb_cstr(&b, s->user);
			buf_printf(&b,
				   ",\"shared\":%s,\"description\":", s->shared ? "true" : "false");
			jb_cstr(&b, s->description);
			buf_append(&b, ",\"content\":", 11);
			jb_cstr(&b, s->content);
			buf_append(&b, "}", 1);
			first = 0;
		}
		buf_append(&b, "]}", 2);
		set_json(resp, &b, 200);
	} else if (!*rest && req->method_len == 4 && !memcmp(req->method, "POST", 4)) {
		struct json *j = NULL;
		char jerr[128];
		const struct json *d, *ct, *sh;

		if (json_parse((const char *)req->body, req->body_len, &j, jerr, sizeof(jerr)) <
		    0) {
			json_error(resp, 400, jerr);
		} else if (!(d = json_get(j, "description")) || d->type != JSON_STRING ||
			   !(ct = json_get(j, "content")) || ct->type != JSON_STRING || !d->len ||
			   d->len > 1000 || ct->len > 100000) {
			json_error(resp, 400, "description and content: strings are required");
		} else if (c->nsaved >= 10000) {
			json_error(resp, 400, "too many saved filters");
		} else {
			sh = json_get(j, "shared");
			if (saved_add(c, w.user, d->str, ct->str, sh && sh->boolean, 0) < 0) {
				json_error(resp, 500, "out of memory");
			} else {
				saved_write(c);
				resp->status = 204;
			}
		}
		json_free(j);
	} else if (*rest == '/' && req->method_len == 6 && !memcmp(req->method, "DELETE", 6)) {
		char *end;
		unsigned long long id = strtoull(rest + 1, &end, 10);
		size_t i;

		for (i = 0; i < c->nsaved && (c->saved[i].id != id || *end); i++)
			;
		if (i == c->nsaved) {
			json_error(resp, 404, "no such filter");
		} else if (strcmp(c->saved[i].user, w.user)) {
			json_error(resp, 403, "only the owner deletes a filter");
		} else {
			free(c->saved[i].user);
			free(c->saved[i].description);
			free(c->saved[i].content);
			memmove(&c->saved[i], &c->saved[i + 1],
				(c->nsaved - i - 1) * sizeof(c->saved[0]));
			c->nsaved--;
			saved_write(c);
			resp->status = 204;
		}
	} else {
		json_error(resp, 405, "method not allowed");
	}
	pthread_mutex_unlock(&c->saved_lock);
}

/* ---- the API route ---- */

static int is(const struct http_request *req, const char *m)
{
	return req->method_len == strlen(m) && !memcmp(req->method, m, req->method_len);
}

static void api_route(void *ctx, const struct http_request *req, struct http_deferred *d)
{
	struct console *c = ctx;
	struct http_response resp = {.status = 200};
	size_t plen = req->path_len - (sizeof(API) - 1);
	char route[256];
	struct console_job *j;
	struct who w;
	uint64_t cache_ms = 0;

	metric_add(c->m_requests, 1);
	if (req->path_len < sizeof(API) - 1 || plen >= sizeof(route)) {
		json_error(&resp, 404, "not found");
		goto now;
	}
	memcpy(route, req->path + sizeof(API) - 1, plen);
	route[plen] = '\0';
	if (!strcmp(route, "configuration") && is(req, "GET")) {
		configuration(c, &resp);
		goto now;
	}
	if (!strcmp(route, "user/info") && is(req, "GET")) {
		user_info(c, req, &resp);
		goto now;
	}
	if (!strcmp(route, "filter/validate") && is(req, "POST")) {
		validate(req, &resp);
		goto now;
	}
	if (!strncmp(route, "filter/saved", 12) && (route[12] == '\0' || route[12] == '/')) {
		saved_route(c, req, route + 12, &resp);
		goto now;
	}
	if ((!strncmp(route, "graph/", 6) || !strcmp(route, "filter/complete")) && is(req, "POST"))
		cache_ms = route[0] == 'g' ? c->cfg->cache_graph_ms : c->cfg->cache_complete_ms;
	else if (!strncmp(route, "widget/", 7) && is(req, "GET"))
		cache_ms = c->cfg->cache_widget_ms;
	else {
		json_error(&resp,
			   !strncmp(route, "graph/", 6) || !strncmp(route, "widget/", 7) ? 405
											 : 404,
			   "not found");
		goto now;
	}
	/* Queries: copied for a worker. The cache key carries the tenant, so no
	 * answer crosses tenants. */
	who_of(c, req, &w);
	j = calloc(1, sizeof(*j));
	if (!j)
		goto oom;
	j->d = d;
	j->route = strdup(route);
	j->body = malloc(req->body_len + 1);
	j->tenant_sql = strdup(tenant_of(c, &w, &j->tenant_consolidated));
	if (!j->route || !j->body || !j->tenant_sql) {
		job_free(j);
		goto oom;
	}
	if (req->body_len)
		memcpy(j->body, req->body, req->body_len);
	j->body[req->body_len] = '\0';
	j->body_len = req->body_len;
	j->cache_ms = cache_ms;
	{
		size_t alen = 0;
		const char *acc = http_request_header(req, "Accept", &alen);

		j->csv = acc && memmem(acc, alen, "text/csv", 8) != NULL;
	}
	if (cache_ms) {
		size_t n = strlen(route) + req->body_len + strlen(j->tenant_sql) + 8;

		j->cache_key = malloc(n);
		if (j->cache_key)
			snprintf(j->cache_key, n, "%s%s\n%s\n%s", route, j->csv ? "!csv" : "",
				 j->tenant_sql, j->body);
	}
	enqueue(c, j);
	return;
oom:
	json_error(&resp, 500, "out of memory");
now:
	http_deferred_finish(d, &resp);
}

/* ---- static files ---- */

static const char placeholder[] =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>weir</title></head><body>"
    "<h1>weir console</h1><p>The web front end is not built (make deps &amp;&amp; make). "
    "The API answers under <code>/api/v0/console/</code>.</p></body></html>\n";

static const char *mime(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {{".html", "text/html; charset=utf-8"},
		     {".js", "text/javascript; charset=utf-8"},
		     {".css", "text/css; charset=utf-8"},
		     {".svg", "image/svg+xml"},
		     {".png", "image/png"},
		     {".json", "application/json"},
		     {".woff2", "font/woff2"},
		     {".ico", "image/x-icon"},
		     {".md", "text/markdown; charset=utf-8"}};
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(dot, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

static int static_route(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct console *c = ctx;
	char rel[1024], path[PATH_MAX + 1100];
	struct stat st;
	int fd;

	if (!is(req, "GET") && !is(req, "HEAD")) {
		resp->status = 405;
		return 0;
	}
	if (req->path_len >= sizeof(rel)) {
		resp->status = 404;
		return 0;
	}
	memcpy(rel, req->path, req->path_len);
	rel[req->path_len] = '\0';
	if (!strcmp(rel, "/"))
		strcpy(rel, "/index.html");
	/* No way out of the web directory: no "..", no "//", no NUL, no % escapes. */
	if (strstr(rel, "..") || strstr(rel, "//") || strchr(rel, '%') ||
	    strlen(rel) != req->path_len + (req->path_len == 1 ? 10 : 0)) {
		resp->status = 404;
		return 0;
	}
	if (!c->have_web) {
		if (strcmp(rel, "/index.html")) {
			resp->status = 404;
			return 0;
		}
		resp->body = strdup(placeholder);
		resp->body_len = resp->body ? strlen(placeholder) : 0;
		resp->content_type = "text/html; charset=utf-8";
		return resp->body ? 0 : -ENOMEM;
	}
	snprintf(path, sizeof(path), "%s%s", c->web_dir, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (64 << 20)) {
		if (fd >= 0)
			close(fd);
		resp->status = 404;
		return 0;
	}
	resp->body = malloc((size_t)st.st_size + 1);
	if (!resp->body) {
		close(fd);
		return -ENOMEM;
	}
	resp->body_len = 0;
	while (resp->body_len < (size_t)st.st_size) {
		ssize_t n =
		    read(fd, resp->body + resp->body_len, (size_t)st.st_size - resp->body_len);

		if (n <= 0)
			break;
		resp->body_len += (size_t)n;
	}
	close(fd);
	resp->content_type = mime(rel);
	resp->cache_control =
	    strstr(rel, "/assets/") ? "public, max-age=31536000, immutable" : "no-cache";
	return 0;
}

/* ---- life cycle ---- */

static void find_web_dir(struct console *c)
{
	char exe[PATH_MAX];
	ssize_t n;
	struct stat st;

	if (c->cfg->web_dir && *c->cfg->web_dir) {
		snprintf(c->web_dir, sizeof(c->web_dir), "%s", c->cfg->web_dir);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0)
			return;
		exe[n] = '\0';
		*strrchr(exe, '/') = '\0';
		snprintf(c->web_dir, sizeof(c->web_dir), "%.*s/../web/dist", PATH_MAX - 20, exe);
	}
	snprintf(exe, sizeof(exe), "%.*s/index.html", PATH_MAX - 20, c->web_dir);
	c->have_web = stat(exe, &st) == 0 && S_ISREG(st.st_mode);
}

int console_new(const struct console_config *cfg, const struct store_config *store,
		struct http_listener *listener, struct metrics_registry *metrics,
		struct console **out, struct error *err)
{
	struct console *c = calloc(1, sizeof(*c));
	const struct console_tenant_config *t = cfg->tenants.items;
	int ret = -ENOMEM;

	*out = NULL;
	if (!c)
		return error_set(err, -ENOMEM, "console: out of memory");
	c->cfg = cfg;
	c->store = store;
	c->ro = *store;
	if (cfg->username && *cfg->username) {
		c->ro.username = cfg->username;
		c->ro.password = cfg->password;
	}
	c->next_id = 1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	pthread_mutex_init(&c->cache_lock, NULL);
	pthread_mutex_init(&c->saved_lock, NULL);
	c->tenant_sql = calloc(cfg->tenants.count + 1, sizeof(*c->tenant_sql));
	c->tenant_cons = calloc(cfg->tenants.count + 1, sizeof(*c->tenant_cons));
	if (!c->tenant_sql || !c->tenant_cons)
		goto fail;
	for (size_t i = 0; i < cfg->tenants.count; i++) {
		struct filter *f;
		struct filter_error fe;

		if (!t[i].filter || filter_parse(t[i].filter, strlen(t[i].filter), &f, &fe) < 0) {
			error_set(err, -EINVAL,
				  "console.tenants[%zu].filter: %s (line %d column %d)", i,
				  t[i].filter ? fe.message : "missing", fe.line, fe.column);
			ret = -EINVAL;
			goto fail_quiet;
		}
		ret = filter_sql(f, 0, &c->tenant_sql[i]);
		c->tenant_cons[i] = filter_consolidated(f);
		filter_free(f);
		if (ret < 0)
			goto fail;
	}
	find_web_dir(c);
	saved_load(c);
	if (metrics) {
		c->m_requests = metrics_counter(metrics, "weir_console_requests_total",
						"API requests", NULL, NULL);
		c->m_queries =
		    metrics_counter(metrics, "weir_console_queries_total",
				    "API requests that ran ClickHouse queries", NULL, NULL);
		c->m_rejected =
		    metrics_counter(metrics, "weir_console_rejected_total",
				    "API requests answered 503 (too many queries)", NULL, NULL);
		c->m_hits = metrics_counter(metrics, "weir_console_cache_hits_total",
					    "API answers from the cache", NULL, NULL);
		c->m_errors = metrics_counter(metrics, "weir_console_query_errors_total",
					      "API queries that failed", NULL, NULL);
	}
	http_listener_set_max_body(listener, 2 << 20);
	ret = http_listener_route_async(listener, "/api/v0/console", api_route, c);
	/* (/healthz is the listener's own: http_listener_add_health) */
	if (ret == 0)
		ret = http_listener_route(listener, "/", static_route, c);
	if (ret < 0)
		goto fail;
	if (!c->have_web)
		log_info("console: no web front end, serving a placeholder", "web_dir=%s",
			 c->web_dir);
	*out = c;
	return 0;
fail:
	error_set(err, ret, "console: %s", strerror(-ret));
fail_quiet:
	console_free(c);
	return ret;
}

int console_start(struct console *c, struct error *err)
{
	c->threads = calloc(c->cfg->workers, sizeof(*c->threads));
	if (!c->threads)
		return error_set(err, -ENOMEM, "console: out of memory");
	for (size_t i = 0; i < c->cfg->workers; i++) {
		int r = -pthread_create(&c->threads[i], NULL, worker_main, c);

		if (r < 0) {
			console_stop(c);
			return error_set(err, r, "console: worker thread: %s", strerror(-r));
		}
		c->nthreads++;
	}
	return 0;
}

void console_stop(struct console *c)
{
	struct console_job *j;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = 1;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	for (size_t i = 0; i < c->nthreads; i++)
		pthread_join(c->threads[i], NULL);
	c->nthreads = 0;
	free(c->threads);
	c->threads = NULL;
	while ((j = c->head)) {
		struct console_answer a = {0};
		struct http_response resp = {0};

		c->head = j->next;
		console_answer_error(&a, 503, "the console is stopping");
		answer_to_response(&a, &resp);
		http_deferred_finish(j->d, &resp);
		job_free(j);
	}
	c->tail = NULL;
	c->queued = 0;
}

void console_free(struct console *c)
{
	if (!c)
		return;
	console_stop(c);
	for (struct cache_entry *e = c->cache, *n; e; e = n) {
		n = e->next;
		free(e->key);
		free(e->body);
		free(e->sql);
		free(e);
	}
	for (size_t i = 0; i < c->nsaved; i++) {
		free(c->saved[i].user);
		free(c->saved[i].description);
		free(c->saved[i].content);
	}
	free(c->saved);
	if (c->tenant_sql)
		for (size_t i = 0; i < c->cfg->tenants.count; i++)
			free(c->tenant_sql[i]);
	free(c->tenant_sql);
	free(c->tenant_cons);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->cache_lock);
	pthread_mutex_destroy(&c->saved_lock);
	free(c);
}
