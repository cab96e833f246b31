// SPDX-License-Identifier: AGPL-3.0-or-later
/* The HTTP listener: /metrics in the Prometheus text format with a length
 * (not chunked), registered routes with their query and body, 404 elsewhere,
 * a clear error for a port in use. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "console/console.h"
#include "test.h"

/* h2o 2.2 keeps freed memory-pool chunks (h2o_mem_alloc_recycle) in a static per-thread cache
 * nothing can empty; they become unreachable when the listener's thread
 * ends. That cache is the library's, not a leak of ours. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:h2o_mem_alloc_recycle\n";
}

struct reply {
	long status;
	char body[8192];
	size_t len;
	char headers[4096];
	size_t hlen;
};

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct reply *r = ctx;
	size_t len = size * n;

	if (r->len + len < sizeof(r->body)) {
		memcpy(r->body + r->len, data, len);
		r->len += len;
		r->body[r->len] = '\0';
	}
	return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct reply *r = ctx;
	size_t len = size * n;

	if (r->hlen + len < sizeof(r->headers)) {
		memcpy(r->headers + r->hlen, data, len);
		r->hlen += len;
		r->headers[r->hlen] = '\0';
	}
	return len;
}

static int get(uint16_t port, const char *path, const char *post, struct reply *r)
{
	char url[256];
	CURL *c = curl_easy_init();
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (post)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(c);
	return rc == CURLE_OK ? 0 : -1;
}

struct echo_ctx {
	int calls;
};

static int echo_route(void *ctx, const struct console_request *req, struct console_response *resp)
{
	struct echo_ctx *e = ctx;

	e->calls++;
	resp->content_type = "application/json";
	resp->body = malloc(512);
	if (!resp->body)
		return -ENOMEM;
	resp->body_len = (size_t)snprintf(
	    resp->body, 512, "%.*s %.*s q=%.*s b=%.*s", (int)req->method_len, req->method,
	    (int)req->path_len, req->path, (int)req->query_len, req->query ? req->query : "",
	    (int)req->body_len, req->body ? (const char *)req->body : "");
	return 0;
}

TEST(metrics_and_routes_are_served)
{
	struct metrics_registry *reg = metrics_registry_new();
	struct metric_family *fam =
	    metrics_family(reg, "weir_test_things_total", "Things", METRIC_COUNTER, "kind");
	const char *labels[] = {"x"};
	struct echo_ctx echo = {0};
	struct console_http *h;
	struct reply r;
	int err = 0;

	metric_add(metrics_series(fam, labels), 42);
	h = console_http_new("127.0.0.1:0", reg, &err);
	REQUIRE(h);
	REQUIRE_EQ(console_http_route(h, "/api/echo", echo_route, &echo), 0);
	REQUIRE_EQ(console_http_start(h), 0);
	REQUIRE(console_http_port(h) != 0);
	CHECK(console_http_route(h, "/late", echo_route, &echo) < 0);

	REQUIRE_EQ(get(console_http_port(h), "/metrics", NULL, &r), 0);
	CHECK_EQ(r.status, 200);
	CHECK(strstr(r.body, "weir_test_things_total{kind=\"x\"} 42\n") != NULL);
	CHECK(strstr(r.headers, "content-length:") || strstr(r.headers, "Content-Length:"));
	CHECK(!strstr(r.headers, "chunked"));
	CHECK(strstr(r.headers, "text/plain; version=0.0.4") != NULL);

	REQUIRE_EQ(get(console_http_port(h), "/api/echo/sub?a=1&b=2", "hello", &r), 0);
	CHECK_EQ(r.status, 200);
	CHECK_STR(r.body, "POST /api/echo/sub q=a=1&b=2 b=hello");
	CHECK_EQ(echo.calls, 1);

	REQUIRE_EQ(get(console_http_port(h), "/nothing-here", NULL, &r), 0);
	CHECK_EQ(r.status, 404);
	console_http_free(h);
	metrics_registry_free(reg);
}

TEST(port_in_use_and_bad_address_are_errors)
{
	struct console_http *a, *b;
	char listen[64];
	int err = 0;

	CHECK(console_http_new("nonsense", NULL, &err) == NULL);
	CHECK_EQ(err, -EINVAL);
	CHECK(console_http_new("127.0.0.1:99999", NULL, &err) == NULL);
	a = console_http_new("127.0.0.1:0", NULL, &err);
	REQUIRE(a);
	REQUIRE_EQ(console_http_start(a), 0);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", console_http_port(a));
	b = console_http_new(listen, NULL, &err);
	REQUIRE(b);
	CHECK_EQ(console_http_start(b), -EADDRINUSE);
	console_http_free(b);
	console_http_free(a);
}
