/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The HTTP listener every role runs (h2o, its own event-loop thread):
 * /metrics in the Prometheus text format and /healthz; the console adds its
 * API and UI routes through http_listener_route() before
 * http_listener_start(). */
#ifndef WEIR_HTTP_H
#define WEIR_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "../common/error.h"
#include "../common/metrics.h"

/* What a route sees. Pointers are valid only during the call; strings are
 * not NUL-terminated (use the lengths). */
struct http_request {
	const char *method;
	size_t method_len;
	const char *path; /* without the query string */
	size_t path_len;
	const char *query; /* after '?', or NULL */
	size_t query_len;
	const uint8_t *body;
	size_t body_len;
	const void *impl; /* for http_request_header() */
};

/* The value of request header `name` (case-insensitive), its length in
 * *len; NULL when absent. Valid only during the route's call. */
const char *http_request_header(const struct http_request *req, const char *name, size_t *len);

/* What a route fills. `body` is malloc'd by the route (or NULL) and freed by
 * the server once copied; `content_type` must be a static string. */
struct http_response {
	int status;		  /* default 200 */
	const char *content_type; /* default "text/plain; charset=utf-8" */
	char *body;
	size_t body_len;
	const char *extra_header;  /* one more header's static name (or NULL)... */
	char *extra_value;	   /* ...and its malloc'd value, freed by the server */
	const char *cache_control; /* static, or NULL for none */
};

/* A route runs on the listener's thread; keep it short (it blocks others).
 * Return 0, or -errno for a 500 with no body. */
typedef int (*http_route_fn)(void *ctx, const struct http_request *req, struct http_response *resp);

struct http_listener;

/* A reply a route sends later, from any thread: routes registered with
 * http_listener_route_async() get one per request and must pass it to
 * http_deferred_finish() exactly once (also when the client went away: the
 * reply is then dropped). */
struct http_deferred;
typedef void (*http_async_route_fn)(void *ctx, const struct http_request *req,
				    struct http_deferred *d);
/* Sends `resp` (its body and extra_value are taken over) and frees `d`. Any
 * thread; until http_listener_free() began. */
void http_deferred_finish(struct http_deferred *d, struct http_response *resp);

/* Makes a listener for `listen` (the http.listen setting: "127.0.0.1:8081",
 * "[::1]:8081", ":8081" for every address) with /metrics served from
 * `metrics` (may be NULL: no /metrics; else it must outlive the listener).
 * Nothing is bound yet. Returns 0 with *out, or -EINVAL (bad address) or
 * -ENOMEM with *out = NULL and `err` saying why ("http.listen \"x\": ..."). */
int http_listener_new(const char *listen, struct metrics_registry *metrics,
		      struct http_listener **out, struct error *err);

/* Registers `fn` for `path` and everything under it (h2o prefix match, the
 * longest registered prefix wins). Only before http_listener_start().
 * Returns 0 or -errno. */
int http_listener_route(struct http_listener *h, const char *path, http_route_fn fn, void *ctx);

/* Same for a route that answers later (http_deferred_finish()); `fn` runs on
 * the listener's thread and must copy what it needs from `req`. */
int http_listener_route_async(struct http_listener *h, const char *path, http_async_route_fn fn,
			      void *ctx);

/* /healthz, served by every listener: 200 "ok\n" while every check says
 * healthy, else 503 and the first failing check's reason, one line. A check
 * runs on the listener's thread (keep it short) and returns 0 when healthy,
 * else nonzero with the reason in reason[size]. At most 4; only before
 * http_listener_start(). Returns 0, -EINVAL (started) or -ENOSPC. */
typedef int (*http_health_fn)(void *ctx, char *reason, size_t size);
int http_listener_add_health(struct http_listener *h, http_health_fn fn, void *ctx);

/* Request bodies above this many bytes get 413 (default 1 MiB). Before start. */
void http_listener_set_max_body(struct http_listener *h, size_t bytes);

/* Binds (port in use and missing permission are returned as -EADDRINUSE,
 * -EACCES) and serves from a new thread. Returns 0, or -errno with `err`
 * saying why ("http.listen x: Address already in use"). */
int http_listener_start(struct http_listener *h, struct error *err);

/* The bound port (useful with port 0), 0 before start. */
uint16_t http_listener_port(const struct http_listener *h);

/* Stops the thread (within about 100 ms) and frees everything. NULL is fine. */
void http_listener_free(struct http_listener *h);

#endif
