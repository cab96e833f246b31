// SPDX-License-Identifier: AGPL-3.0-or-later
/* The HTTP listener: one h2o evloop on its own thread, routes registered as
 * h2o path handlers. Kept small on purpose: /metrics and /healthz for every
 * role, and whatever routes the console registers on top. */
#define H2O_USE_LIBUV 0
#include <h2o.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/log.h"
#include "http.h"

struct route {
	h2o_handler_t super; /* first: h2o hands this pointer back */
	http_route_fn fn;
	http_async_route_fn async_fn;
	void *ctx;
	struct http_listener *h;
};

/* A reply on its way from another thread. The request it answers may be
 * gone by then (client closed): the request's pool holds `holder`, whose
 * destructor clears `req`; both run on the listener's thread. */
struct http_deferred {
	h2o_multithread_message_t msg; /* first */
	h2o_req_t *req;
	struct http_deferred **holder;
	struct http_response resp;
	struct http_listener *h;
};

struct http_listener {
	h2o_globalconf_t config;
	h2o_hostconf_t *host;
	h2o_context_t ctx;
	h2o_accept_ctx_t accept_ctx;
	h2o_evloop_t *loop;
	h2o_socket_t *listener;
	struct sockaddr_in6 addr; /* dual stack: IPv4 as ::ffff:a.b.c.d */
	uint16_t port;
	int fd;
	char *listen; /* as configured, for errors */
	struct metrics_registry *metrics;
	struct {
		http_health_fn fn;
		void *ctx;
	} health[4];
	size_t nhealth;
	h2o_multithread_receiver_t receiver;
	pthread_t thread;
	int started;
	_Atomic int stop;
};

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Payload Too Large";
	case 503:
		return "Service Unavailable";
	default:
		return status < 400 ? "OK" : "Error";
	}
}

static void send_response(h2o_req_t *req, struct http_response *out)
{
	const char *type = out->content_type ? out->content_type : "text/plain; charset=utf-8";

	req->res.status = out->status;
	req->res.reason = reason(out->status);
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, type,
		       strlen(type));
	if (out->extra_header && out->extra_value) {
		size_t n = strlen(out->extra_value);
		char *v = h2o_mem_alloc_pool(&req->pool, n + 1);

		memcpy(v, out->extra_value, n + 1);
		h2o_add_header_by_str(&req->pool, &req->res.headers, out->extra_header,
				      strlen(out->extra_header), 0, NULL, v, n);
	}
	if (out->cache_control)
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
			       out->cache_control, strlen(out->cache_control));
	/* h2o_send_inline() leaves the length unset: without it the reply is chunked. */
	req->res.content_length = out->body_len;
	h2o_send_inline(req, out->body ? out->body : "", out->body_len);
	free(out->body);
	free(out->extra_value);
	out->body = out->extra_value = NULL;
}

const char *http_request_header(const struct http_request *in, const char *name, size_t *len)
{
	const h2o_req_t *req = in->impl;
	size_t n = strlen(name);

	for (size_t i = 0; req && i < req->headers.size; i++) {
		const h2o_header_t *hd = &req->headers.entries[i];

		if (hd->name->len == n && strncasecmp(hd->name->base, name, n) == 0) {
			*len = hd->value.len;
			return hd->value.base;
		}
	}
	return NULL;
}

static void on_req_dispose(void *p)
{
	struct http_deferred *d = *(struct http_deferred **)p;

	if (d)
		d->req = NULL;
}

static void on_deferred(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
	(void)receiver;
	while (!h2o_linklist_is_empty(messages)) {
		h2o_multithread_message_t *msg =
		    H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
		struct http_deferred *d = (struct http_deferred *)msg;

		h2o_linklist_unlink(&msg->link);
		if (d->req) {
			*d->holder = NULL;
			send_response(d->req, &d->resp);
		}
		free(d->resp.body);
		free(d->resp.extra_value);
		free(d);
	}
}

void http_deferred_finish(struct http_deferred *d, struct http_response *resp)
{
	d->resp = *resp;
	resp->body = resp->extra_value = NULL;
	h2o_multithread_send_message(&d->h->receiver, &d->msg);
}

static int route_on_req(h2o_handler_t *self, h2o_req_t *req)
{
	struct route *r = (struct route *)self;
	struct http_request in = {
	    .impl = req,
	    .method = req->method.base,
	    .method_len = req->method.len,
	    .path = req->path.base,
	    .path_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len,
	    .body = (const uint8_t *)req->entity.base,
	    .body_len = req->entity.base ? req->entity.len : 0,
	};
	struct http_response out = {.status = 200};
	int ret;

	if (req->query_at != SIZE_MAX) {
		in.query = req->path.base + req->query_at + 1;
		in.query_len = req->path.len - req->query_at - 1;
	}
	if (r->async_fn) {
		struct http_deferred *d = calloc(1, sizeof(*d));

		if (!d)
			goto fail;
		d->h = r->h;
		d->req = req;
		d->holder = h2o_mem_alloc_shared(&req->pool, sizeof(*d->holder), on_req_dispose);
		*d->holder = d;
		r->async_fn(r->ctx, &in, d);
		return 0;
	}
	ret = r->fn(r->ctx, &in, &out);
	if (ret < 0) {
		free(out.body);
		free(out.extra_value);
		goto fail;
	}
	send_response(req, &out);
	return 0;
fail:
	out = (struct http_response){.status = 500};
	send_response(req, &out);
	return 0;
}

static int metrics_route(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct metrics_registry *metrics = ctx;
	int ret = metrics_render(metrics, &resp->body, &resp->body_len);

	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	return ret;
}

/* 503 with a reason a person (or a load balancer's log) can read: the
 * first check that fails says what weir waits for. */
static int healthz_route(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct http_listener *h = ctx;
	char reason[512] = "";
	int n;

	(void)req;
	for (size_t i = 0; i < h->nhealth; i++)
		if (h->health[i].fn(h->health[i].ctx, reason, sizeof(reason))) {
			resp->status = 503;
			break;
		}
	reason[strcspn(reason, "\r\n")] = 0;
	n = asprintf(&resp->body, "%s\n", resp->status == 503 ? reason : "ok");
	if (n < 0) {
		resp->body = NULL;
		return -ENOMEM;
	}
	resp->body_len = (size_t)n;
	resp->cache_control = "no-store";
	return 0;
}

int http_listener_add_health(struct http_listener *h, http_health_fn fn, void *ctx)
{
	if (h->started || !fn)
		return -EINVAL;
	if (h->nhealth == sizeof(h->health) / sizeof(h->health[0]))
		return -ENOSPC;
	h->health[h->nhealth].fn = fn;
	h->health[h->nhealth].ctx = ctx;
	h->nhealth++;
	return 0;
}

int http_listener_new(const char *listen, struct metrics_registry *metrics,
		      struct http_listener **out, struct error *err)
{
	struct http_listener *h = calloc(1, sizeof(*h));
	int ret = -ENOMEM;

	*out = NULL;
	if (!listen)
		listen = "";
	if (!h)
		goto fail;
	h->listen = strdup(listen);
	if (!h->listen)
		goto fail;
	ret = addr_parse_listen_any_port(listen, &h->addr);
	if (ret < 0)
		goto fail;
	h2o_config_init(&h->config);
	h->host =
	    h2o_config_register_host(&h->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	h->config.max_request_entity_size = 1 << 20;
	h->metrics = metrics;
	ret = http_listener_route(h, "/healthz", healthz_route, h);
	if (ret == 0 && metrics)
		ret = http_listener_route(h, "/metrics", metrics_route, metrics);
	if (ret < 0) {
		h2o_config_dispose(&h->config);
		goto fail;
	}
	*out = h;
	return 0;
fail:
	if (h)
		free(h->listen);
	free(h);
	return error_set(err, ret, "http.listen \"%s\": %s", listen,
			 ret == -EINVAL ? "expected HOST:PORT, [V6]:PORT or :PORT"
					: strerror(-ret));
}

static int add_route(struct http_listener *h, const char *path, http_route_fn fn,
		     http_async_route_fn async_fn, void *ctx)
{
	h2o_pathconf_t *pathconf;
	struct route *r;

	if (h->started || !path || path[0] != '/' || (!fn && !async_fn))
		return -EINVAL;
	pathconf = h2o_config_register_path(h->host, path, 0);
	r = (struct route *)h2o_create_handler(pathconf, sizeof(*r));
	r->super.on_req = route_on_req;
	r->fn = fn;
	r->async_fn = async_fn;
	r->ctx = ctx;
	r->h = h;
	return 0;
}

int http_listener_route(struct http_listener *h, const char *path, http_route_fn fn, void *ctx)
{
	return add_route(h, path, fn, NULL, ctx);
}

int http_listener_route_async(struct http_listener *h, const char *path, http_async_route_fn fn,
			      void *ctx)
{
	return add_route(h, path, NULL, fn, ctx);
}

void http_listener_set_max_body(struct http_listener *h, size_t bytes)
{
	h->config.max_request_entity_size = bytes;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
	struct http_listener *h = listener->data;
	h2o_socket_t *sock;

	if (err)
		return;
	sock = h2o_evloop_socket_accept(listener);
	if (sock)
		h2o_accept(&h->accept_ctx, sock);
}

static void *serve(void *arg)
{
	struct http_listener *h = arg;

	h2o_mem_recycle_t *recycle = &h2o_socket_buffer_prototype.allocator;
	h2o_multithread_queue_t *queue;

	/* Everything h2o is made and unmade on this thread: its buffer
	 * recycler is per thread. */
	h->loop = h2o_evloop_create();
	h2o_context_init(&h->ctx, h->loop, &h->config);
	h->accept_ctx.ctx = &h->ctx;
	h->accept_ctx.hosts = h->config.hosts;
	h->listener = h2o_evloop_socket_create(h->loop, h->fd, H2O_SOCKET_FLAG_DONT_READ);
	h->listener->data = h;
	h2o_socket_read_start(h->listener, on_accept);
	h2o_multithread_register_receiver(h->ctx.queue, &h->receiver, on_deferred);
	while (!atomic_load(&h->stop))
		h2o_evloop_run(h->loop, 100);
	/* Replies posted just before the stop are delivered (or dropped) here. */
	h2o_evloop_run(h->loop, 0);
	h2o_multithread_unregister_receiver(h->ctx.queue, &h->receiver);
	/* Connections still open (a scraper's keep-alive) are closed by the
	 * loop's destruction. */
	h2o_socket_close(h->listener);
	h2o_evloop_run(h->loop, 0);
	queue = h->ctx.queue;
	h2o_context_dispose(&h->ctx);
	/* h2o 2.2.5's h2o_multithread_destroy_queue() closes the queue's
	 * socket (freed at the next loop turn) but never frees the queue. */
	h2o_evloop_run(h->loop, 0);
	free(queue);
	h2o_evloop_destroy(h->loop);
	h->loop = NULL;
	while (recycle->cnt)
		free(h2o_mem_alloc_recycle(recycle, 0));
	return NULL;
}

int http_listener_start(struct http_listener *h, struct error *err)
{
	int fd, one = 1, ret;
	struct sockaddr_in6 bound;
	socklen_t blen = sizeof(bound);

	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		goto fail;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Whatever net.ipv6.bindv6only says: ":PORT" means IPv4 too. */
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){0}, sizeof(int));
	if (bind(fd, (struct sockaddr *)&h->addr, sizeof(h->addr)) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		ret = -errno;
		goto fail;
	}
	if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0)
		h->port = ntohs(bound.sin6_port);
	h->fd = fd;
	ret = -pthread_create(&h->thread, NULL, serve, h);
	if (ret < 0)
		goto fail;
	h->started = 1;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return error_set(err, ret, "http.listen %s: %s", h->listen, strerror(-ret));
}

uint16_t http_listener_port(const struct http_listener *h)
{
	return h->port;
}

void http_listener_free(struct http_listener *h)
{
	if (!h)
		return;
	if (h->started) {
		atomic_store(&h->stop, 1);
		pthread_join(h->thread, NULL);
	}
	h2o_config_dispose(&h->config);
	free(h->listen);
	free(h);
}
