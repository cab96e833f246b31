/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The HTTP listener every role runs (h2o, its own event-loop thread): today
 * /metrics in the Prometheus text format; the console adds its API and UI
 * routes through console_http_route() before console_http_start(). */
#ifndef WEIR_CONSOLE_H
#define WEIR_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/metrics.h"

/* What a route sees. Pointers are valid only during the call; strings are
 * not NUL-terminated (use the lengths). */
struct console_request {
	const char *method;
	size_t method_len;
	const char *path; /* without the query string */
	size_t path_len;
	const char *query; /* after '?', or NULL */
	size_t query_len;
	const uint8_t *body;
	size_t body_len;
};

/* What a route fills. `body` is malloc'd by the route (or NULL) and freed by
 * the server once copied; `content_type` must be a static string. */
struct console_response {
	int status;		  /* default 200 */
	const char *content_type; /* default "text/plain; charset=utf-8" */
	char *body;
	size_t body_len;
};

/* A route runs on the listener's thread; keep it short (it blocks others).
 * Return 0, or -errno for a 500 with no body. */
typedef int (*console_route_fn)(void *ctx, const struct console_request *req,
				struct console_response *resp);

struct console_http;

/* Returns a listener for `listen` ("127.0.0.1:8081", "[::1]:8081", ":8081" for
 * every address) with /metrics served from `metrics` (may be NULL: no
 * /metrics). Nothing is bound yet. NULL on bad address or no memory, with
 * the reason in *err (-EINVAL, -ENOMEM) when err is not NULL. */
struct console_http *console_http_new(const char *listen, struct metrics_registry *metrics,
				      int *err);

/* Registers `fn` for `path` and everything under it (h2o prefix match, the
 * longest registered prefix wins). Only before console_http_start().
 * Returns 0 or -errno. */
int console_http_route(struct console_http *h, const char *path, console_route_fn fn, void *ctx);

/* Binds (port in use and missing permission are returned as -EADDRINUSE,
 * -EACCES) and serves from a new thread. Returns 0 or -errno. */
int console_http_start(struct console_http *h);

/* The bound port (useful with port 0), 0 before start. */
uint16_t console_http_port(const struct console_http *h);

/* Stops the thread (within about 100 ms) and frees everything. NULL is fine. */
void console_http_free(struct console_http *h);

#endif
