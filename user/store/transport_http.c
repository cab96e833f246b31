// SPDX-License-Identifier: AGPL-3.0-or-later
/* The store's transport to a ClickHouse server over its HTTP interface
 * (libcurl): one kept-alive connection per transport, a Native block POSTed
 * straight from the column buffers, statements and queries as POST bodies. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "store_internal.h"

#define MAX_ANSWER (64u << 20)

struct http_transport {
	struct store_transport base;
	const struct store_config *cfg;
	CURL *h;
	struct curl_slist *headers; /* of inserts */
	struct buf answer;	    /* of inserts, and of statements run without one */
	/* the block an insert is sending, and where it is in it */
	const struct store_block *block;
	size_t seg, seg_off;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The options every request shares: timeouts, basic auth, keep-alive, no
 * signals. */
static void setup(CURL *h, const struct store_config *cfg, uint64_t timeout_ms)
{
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	/* ClickHouse answers errors with HTTP 500 and the text in the body: we
	 * read the body ourselves, so no FAILONERROR. */
	if (cfg->username && cfg->username[0]) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, cfg->username);
		curl_easy_setopt(h, CURLOPT_PASSWORD, cfg->password ? cfg->password : "");
	}
}

/* "URL/?database=DB&query=QUERY" (each parameter escaped; either may be NULL
 * to leave it out), malloc'd, or NULL. */
static char *make_url(CURL *h, const struct store_config *cfg, const char *database,
		      const char *query)
{
	char *db = NULL, *q = NULL, *url = NULL;
	size_t base = strlen(cfg->url), n;

	while (base > 0 && cfg->url[base - 1] == '/')
		base--;
	if (database && !(db = curl_easy_escape(h, database, 0)))
		goto out;
	if (query && !(q = curl_easy_escape(h, query, 0)))
		goto out;
	n = base + 32 + (db ? strlen(db) : 0) + (q ? strlen(q) : 0);
	url = malloc(n);
	if (!url)
		goto out;
	snprintf(url, n, "%.*s/?%s%s%s%s%s", (int)base, cfg->url, db ? "database=" : "",
		 db ? db : "", db && q ? "&" : "", q ? "query=" : "", q ? q : "");
out:
	curl_free(db);
	curl_free(q);
	return url;
}

/* The URL of an INSERT into `table`, with the settings every insert of
 * weir's takes. Each insert is one Native block of a whole batch, already as
 * large as it should be: with the server's defaults
 * (min_insert_block_size_rows 1048576, _bytes 256 MiB) a smaller one is
 * first copied into a squashed block (SquashingBlockOutputStream), about a
 * tenth of the server's CPU per flow in perf of weir bench e2e (the copy and
 * the page faults of its memory). Zero for both passes each block through as
 * it is, on 18.16 as on current versions. */
static char *insert_url(CURL *h, const struct store_config *cfg, const char *table,
			const char *columns)
{
	static const char fmt[] = "INSERT INTO %s (%s) FORMAT Native";
	static const char settings[] =
	    "&min_insert_block_size_rows=0&min_insert_block_size_bytes=0";
	size_t qn = sizeof(fmt) + strlen(table) + strlen(columns), n;
	char *query = malloc(qn), *url = NULL, *longer;

	if (!query)
		return NULL;
	snprintf(query, qn, fmt, table, columns);
	url = make_url(h, cfg, cfg->database, query);
	free(query);
	if (!url)
		return NULL;
	n = strlen(url);
	longer = realloc(url, n + sizeof(settings));
	if (!longer) {
		free(url);
		return NULL;
	}
	memcpy(longer + n, settings, sizeof(settings));
	return longer;
}

/* ClickHouse's error code in an answer ("Code: 516. DB::Exception..." on
 * current versions, "Code: 192, e.displayText() = ..." on 18.16), or -1. */
static long clickhouse_code(const struct buf *body)
{
	const char *p = body->data, *end = body->data + body->len;

	for (; p && p + 6 < end; p++)
		if (memcmp(p, "Code: ", 6) == 0) {
			long v = 0;

			for (p += 6; p < end && *p >= '0' && *p <= '9' && v < 100000; p++)
				v = v * 10 + (*p - '0');
			return v;
		}
	return -1;
}

/* 1 when the server refused who we are: HTTP 401/403, or ClickHouse's
 * UNKNOWN_USER (192), WRONG_PASSWORD (193), REQUIRED_PASSWORD (194),
 * IP_ADDRESS_NOT_ALLOWED (195), AUTHENTICATION_FAILED (516). Retrying
 * cannot help: the role ends with the reason (cli_roles.c). */
static int refused_credentials(long status, const struct buf *body)
{
	long code = clickhouse_code(body);

	return status == 401 || status == 403 || code == 192 || code == 193 || code == 194 ||
	       code == 195 || code == 516;
}

/* -errno for a failed request: -ECONNREFUSED when the server cannot be
 * reached (connection refused, no route, name not resolved: all may heal),
 * -ETIMEDOUT, -EACCES when it refused the credentials, -EINVAL for a URL
 * curl cannot use, -EIO for any other error answered by ClickHouse; and
 * `err` ("HTTP 500: Code: 60, e.displayText() = ..."): the curl error,
 * else the status and the first line of the body. */
static int request_error(CURLcode rc, long status, const struct buf *body, struct error *err)
{
	int r;
	size_t n = 0;

	switch (rc) {
	case CURLE_OK:
		r = status == 200 ? 0 : refused_credentials(status, body) ? -EACCES : -EIO;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		r = -ETIMEDOUT;
		break;
	case CURLE_OUT_OF_MEMORY:
		r = -ENOMEM;
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		r = -EINVAL;
		break;
	default:
		r = -ECONNREFUSED;
		break;
	}
	if (r == 0)
		return 0;
	if (rc != CURLE_OK)
		return error_set(err, r, "%s", curl_easy_strerror(rc));
	while (n < body->len && body->data[n] != '\n' && n < 400)
		n++;
	return error_set(err, r, "HTTP %ld: %.*s", status, (int)n, body->data ? body->data : "");
}

/* curl write callback appending to a struct buf (bounded). */
static size_t write_buf(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct buf *b = ctx;
	size_t n = size * nmemb;

	if (b->len + n + 1 > MAX_ANSWER || buf_append(b, p, n) < 0)
		return 0; /* curl then fails the transfer with CURLE_WRITE_ERROR */
	return n;
}

/* The request body of an insert: the block's segments in turn, no copy. */
static size_t read_block(char *buf, size_t size, size_t nmemb, void *ctx)
{
	struct http_transport *t = ctx;
	size_t room = size * nmemb, done = 0;

	while (room > 0 && t->seg < t->block->nsegs) {
		const struct store_segment *s = &t->block->segs[t->seg];
		size_t n = s->len - t->seg_off;

		if (n > room)
			n = room;
		memcpy(buf + done, (const char *)s->p + t->seg_off, n);
		done += n;
		room -= n;
		t->seg_off += n;
		if (t->seg_off == s->len) {
			t->seg++;
			t->seg_off = 0;
		}
	}
	return done;
}

/* curl rewinds the body to send it again (a redirect, a connection the
 * server had closed). */
static int seek_block(void *ctx, curl_off_t offset, int origin)
{
	struct http_transport *t = ctx;

	if (origin != SEEK_SET)
		return CURL_SEEKFUNC_CANTSEEK;
	t->seg = 0;
	t->seg_off = 0;
	while (offset > 0 && t->seg < t->block->nsegs) {
		size_t n = t->block->segs[t->seg].len;
		if ((curl_off_t)n > offset) {
			t->seg_off = (size_t)offset;
			break;
		}
		offset -= (curl_off_t)n;
		t->seg++;
	}
	return CURL_SEEKFUNC_OK;
}

static int http_insert(struct store_transport *base, const char *table, const char *columns,
		       const struct store_block *block, struct error *err)
{
	struct http_transport *t = (struct http_transport *)base;
	char *url = insert_url(t->h, t->cfg, table, columns);
	CURLcode rc;
	long status = 0;
	int r;

	if (!url)
		return error_set(err, -ENOMEM, "store: out of memory for an insert into %s", table);
	t->block = block;
	t->seg = 0;
	t->seg_off = 0;
	t->answer.len = 0;
	setup(t->h, t->cfg, t->cfg->insert_timeout_ms);
	curl_easy_setopt(t->h, CURLOPT_URL, url);
	curl_easy_setopt(t->h, CURLOPT_HTTPHEADER, t->headers);
	curl_easy_setopt(t->h, CURLOPT_POST, 1L);
	curl_easy_setopt(t->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)block->bytes);
	curl_easy_setopt(t->h, CURLOPT_READFUNCTION, read_block);
	curl_easy_setopt(t->h, CURLOPT_READDATA, t);
	curl_easy_setopt(t->h, CURLOPT_SEEKFUNCTION, seek_block);
	curl_easy_setopt(t->h, CURLOPT_SEEKDATA, t);
	curl_easy_setopt(t->h, CURLOPT_WRITEFUNCTION, write_buf);
	curl_easy_setopt(t->h, CURLOPT_WRITEDATA, &t->answer);
	rc = curl_easy_perform(t->h);
	curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &status);
	r = request_error(rc, status, &t->answer, err);
	t->block = NULL;
	free(url);
	return r;
}

static int http_query(struct store_transport *base, const char *database, const char *sql,
		      struct buf *answer, struct error *err)
{
	struct http_transport *t = (struct http_transport *)base;
	struct buf *body = answer ? answer : &t->answer;
	CURLcode rc;
	long status = 0;
	char *url;
	int r;

	body->len = 0;
	setup(t->h, t->cfg, t->cfg->insert_timeout_ms);
	url = make_url(t->h, t->cfg, database, NULL);
	if (!url)
		return error_set(err, -ENOMEM, "store: out of memory for a query");
	curl_easy_setopt(t->h, CURLOPT_URL, url);
	curl_easy_setopt(t->h, CURLOPT_POST, 1L);
	curl_easy_setopt(t->h, CURLOPT_POSTFIELDS, sql);
	curl_easy_setopt(t->h, CURLOPT_POSTFIELDSIZE, (long)strlen(sql));
	curl_easy_setopt(t->h, CURLOPT_WRITEFUNCTION, write_buf);
	curl_easy_setopt(t->h, CURLOPT_WRITEDATA, body);
	rc = curl_easy_perform(t->h);
	curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &status);
	free(url);
	r = request_error(rc, status, body, err);
	if (r < 0)
		body->len = 0;
	return r;
}

static void http_free(struct store_transport *base)
{
	struct http_transport *t = (struct http_transport *)base;

	if (!t)
		return;
	curl_slist_free_all(t->headers);
	if (t->h)
		curl_easy_cleanup(t->h);
	buf_free(&t->answer);
	free(t);
}

static const struct store_transport_ops http_ops = {
    .insert = http_insert,
    .query = http_query,
    .free = http_free,
};

int store_transport_http_new(const struct store_config *cfg, struct store_transport **out,
			     struct error *err)
{
	struct http_transport *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		goto fail;
	pthread_once(&curl_once, curl_init_once);
	t->base.ops = &http_ops;
	t->cfg = cfg;
	t->h = curl_easy_init();
	/* No "Expect: 100-continue" round trip before each batch. */
	t->headers = curl_slist_append(NULL, "Expect:");
	if (!t->h || !t->headers)
		goto fail;
	*out = &t->base;
	return 0;
fail:
	http_free(t ? &t->base : NULL);
	return error_set(err, -ENOMEM, "store: out of memory for a connection to %s", cfg->url);
}
