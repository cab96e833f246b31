// SPDX-License-Identifier: AGPL-3.0-or-later
/* The HTTP listener: /metrics in the Prometheus text format with a length
 * (not chunked), registered routes with their query and body, 404 elsewhere,
 * a clear error for a port in use, /healthz (200 ok, or 503 and why). */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
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

/* Appends what curl hands over to `buf` (cap bytes, *used so far), kept
 * NUL-terminated; what does not fit is dropped. */
static size_t append(char *buf, size_t cap, size_t *used, const char *data, size_t len)
{
	if (*used + len < cap) {
		memcpy(buf + *used, data, len);
		*used += len;
		buf[*used] = '\0';
	}
	return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct reply *r = ctx;

	return append(r->body, sizeof(r->body), &r->len, data, size * n);
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct reply *r = ctx;

	return append(r->headers, sizeof(r->headers), &r->hlen, data, size * n);
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

static int echo_route(void *ctx, const struct http_request *req, struct http_response *resp)
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
	struct metrics_registry *reg;
	struct metric_family *fam;
	const char *labels[] = {"x"};
	struct echo_ctx echo = {0};
	struct http_listener *h;
	struct error err = {""};
	struct reply r;

	REQUIRE_EQ(metrics_registry_new(&reg, &err), 0);
	fam = metrics_family(reg, "weir_test_things_total", "Things", METRIC_COUNTER, "kind");
	metric_add(metrics_series(fam, labels), 42);
	REQUIRE_EQ(http_listener_new("127.0.0.1:0", reg, &h, &err), 0);
	REQUIRE(h);
	REQUIRE_EQ(http_listener_route(h, "/api/echo", echo_route, &echo), 0);
	REQUIRE_EQ(http_listener_start(h, &err), 0);
	REQUIRE(http_listener_port(h) != 0);
	CHECK(http_listener_route(h, "/late", echo_route, &echo) < 0);

	REQUIRE_EQ(get(http_listener_port(h), "/metrics", NULL, &r), 0);
	CHECK_EQ(r.status, 200);
	CHECK(strstr(r.body, "weir_test_things_total{kind=\"x\"} 42\n") != NULL);
	CHECK(strstr(r.headers, "content-length:") || strstr(r.headers, "Content-Length:"));
	CHECK(!strstr(r.headers, "chunked"));
	CHECK(strstr(r.headers, "text/plain; version=0.0.4") != NULL);

	REQUIRE_EQ(get(http_listener_port(h), "/api/echo/sub?a=1&b=2", "hello", &r), 0);
	CHECK_EQ(r.status, 200);
	CHECK_STR(r.body, "POST /api/echo/sub q=a=1&b=2 b=hello");
	CHECK_EQ(echo.calls, 1);

	REQUIRE_EQ(get(http_listener_port(h), "/nothing-here", NULL, &r), 0);
	CHECK_EQ(r.status, 404);
	http_listener_free(h);
	metrics_registry_free(reg);
}

TEST(port_in_use_and_bad_address_are_errors)
{
	struct http_listener *a, *b;
	struct error err = {""};
	char listen[64], want[128];

	a = (struct http_listener *)&err; /* must come back NULL */
	CHECK_EQ(http_listener_new("nonsense", NULL, &a, &err), -EINVAL);
	CHECK(a == NULL);
	CHECK_STR(err.text, "http.listen \"nonsense\": expected HOST:PORT, [V6]:PORT or :PORT");
	CHECK_EQ(http_listener_new("127.0.0.1:99999", NULL, &a, &err), -EINVAL);
	REQUIRE_EQ(http_listener_new("127.0.0.1:0", NULL, &a, NULL), 0);
	REQUIRE_EQ(http_listener_start(a, NULL), 0);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", http_listener_port(a));
	REQUIRE_EQ(http_listener_new(listen, NULL, &b, &err), 0);
	CHECK_EQ(http_listener_start(b, &err), -EADDRINUSE);
	snprintf(want, sizeof(want), "http.listen %s: %s", listen, strerror(EADDRINUSE));
	CHECK_STR(err.text, want);
	http_listener_free(b);
	http_listener_free(a);
}

static int health_state;

static int health_check(void *ctx, char *reason, size_t size)
{
	int *state = ctx;

	if (*state)
		snprintf(reason, size, "clickhouse schema not ready\nsecond line");
	return *state;
}

TEST(healthz_says_ok_or_503_with_the_reason)
{
	struct http_listener *h;
	struct reply r;

	REQUIRE_EQ(http_listener_new("127.0.0.1:0", NULL, &h, NULL), 0);
	REQUIRE_EQ(http_listener_add_health(h, health_check, &health_state), 0);
	REQUIRE_EQ(http_listener_start(h, NULL), 0);
	CHECK(http_listener_add_health(h, health_check, &health_state) < 0);

	health_state = 1;
	REQUIRE_EQ(get(http_listener_port(h), "/healthz", NULL, &r), 0);
	CHECK_EQ(r.status, 503);
	CHECK_STR(r.body, "clickhouse schema not ready\n");
	health_state = 0;
	REQUIRE_EQ(get(http_listener_port(h), "/healthz", NULL, &r), 0);
	CHECK_EQ(r.status, 200);
	CHECK_STR(r.body, "ok\n");
	http_listener_free(h);

	/* Without checks (weir inlet, weir console): always ok. */
	REQUIRE_EQ(http_listener_new("127.0.0.1:0", NULL, &h, NULL), 0);
	REQUIRE_EQ(http_listener_start(h, NULL), 0);
	REQUIRE_EQ(get(http_listener_port(h), "/healthz", NULL, &r), 0);
	CHECK_EQ(r.status, 200);
	CHECK_STR(r.body, "ok\n");
	http_listener_free(h);
}
