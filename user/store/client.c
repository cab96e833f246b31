// SPDX-License-Identifier: AGPL-3.0-or-later
/* Plain queries over ClickHouse's HTTP interface (libcurl), and the helpers
 * the batch writer shares with them. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define MAX_ANSWER (64u << 20)

struct store_client {
	const struct store_config *cfg;
	CURL *h;
	struct store_buf answer;
	char error[512];
};

int store_buf_reserve(struct store_buf *b, size_t extra)
{
	size_t cap;
	char *p;

	if (b->data && b->len + extra <= b->cap)
		return 0; /* (never NULL after a reserve: callers take data + len) */
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + extra)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int store_buf_append(struct store_buf *b, const void *p, size_t n)
{
	int r = store_buf_reserve(b, n);

	if (r < 0)
		return r;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void store_put_be(uint8_t *out, uint64_t v, unsigned width)
{
	for (unsigned i = 0; i < width; i++)
		out[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

uint64_t store_get_be(const uint8_t *in, unsigned width)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < width; i++)
		v = v << 8 | in[i];
	return v;
}

int store_native_put_varint(struct store_buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n] = v & 0x7f;
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	return store_buf_append(b, tmp, n);
}

int store_native_put_string(struct store_buf *b, const char *s)
{
	size_t n = strlen(s);
	int r = store_native_put_varint(b, n);

	return r < 0 ? r : store_buf_append(b, s, n);
}

char *store_insert_query(const char *table, const char *const *columns, size_t n)
{
	struct store_buf q = {0};
	static const char tail[] = ") FORMAT Native";
	int r = 0;

	r |= store_buf_append(&q, "INSERT INTO ", 12);
	r |= store_buf_append(&q, table, strlen(table));
	r |= store_buf_append(&q, " (", 2);
	for (size_t i = 0; i < n && r == 0; i++) {
		if (i)
			r |= store_buf_append(&q, ", ", 2);
		r |= store_buf_append(&q, columns[i], strlen(columns[i]));
	}
	r |= store_buf_append(&q, tail, sizeof(tail)); /* with the NUL */
	if (r < 0) {
		store_buf_free(&q);
		return NULL;
	}
	return q.data;
}

void store_buf_free(struct store_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void store_curl_global_init(void)
{
	pthread_once(&curl_once, curl_init_once);
}

int store_curl_setup(CURL *h, const struct store_config *cfg, uint64_t timeout_ms)
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
	return 0;
}

char *store_url(CURL *h, const struct store_config *cfg, const char *database, const char *query)
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

/* Each insert is one Native block of a whole batch, already as large as it
 * should be: with the server's defaults (min_insert_block_size_rows 1048576,
 * _bytes 256 MiB) a smaller one is first copied into a squashed block
 * (SquashingBlockOutputStream), about a tenth of the server's CPU per flow
 * in perf of weir bench e2e (the copy and the page faults of its memory).
 * Zero for both passes each block through as it is, on 18.16 as on current
 * versions. */
char *store_insert_url(CURL *h, const struct store_config *cfg, const char *query)
{
	static const char settings[] =
	    "&min_insert_block_size_rows=0&min_insert_block_size_bytes=0";
	char *url = store_url(h, cfg, cfg->database, query), *longer;
	size_t n;

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

void store_describe_error(char *err, size_t size, CURLcode rc, long status, const char *body,
			  size_t body_len)
{
	size_t n = 0;

	if (rc != CURLE_OK) {
		snprintf(err, size, "%s", curl_easy_strerror(rc));
		return;
	}
	while (n < body_len && body[n] != '\n' && n < 400)
		n++;
	snprintf(err, size, "HTTP %ld: %.*s", status, (int)n, body ? body : "");
}

int store_curl_errno(CURLcode rc, long status)
{
	switch (rc) {
	case CURLE_OK:
		return status == 200 ? 0 : -EIO;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -ECONNREFUSED;
	}
}

size_t store_curl_write_buf(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct store_buf *b = ctx;
	size_t n = size * nmemb;

	if (b->len + n + 1 > MAX_ANSWER || store_buf_append(b, p, n) < 0)
		return 0; /* curl then fails the transfer with CURLE_WRITE_ERROR */
	return n;
}

struct store_client *store_client_new(const struct store_config *cfg)
{
	struct store_client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	store_curl_global_init();
	c->cfg = cfg;
	c->h = curl_easy_init();
	if (!c->h) {
		free(c);
		return NULL;
	}
	return c;
}

void store_client_free(struct store_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->h);
	store_buf_free(&c->answer);
	free(c);
}

const char *store_client_error(const struct store_client *c)
{
	return c->error;
}

static int query(struct store_client *c, const char *database, const char *sql, char **out)
{
	char *url;
	CURLcode rc;
	long status = 0;
	int r;

	if (out)
		*out = NULL;
	c->error[0] = 0;
	c->answer.len = 0;
	store_curl_setup(c->h, c->cfg, c->cfg->insert_timeout_ms);
	url = store_url(c->h, c->cfg, database, NULL);
	if (!url)
		return -ENOMEM;
	curl_easy_setopt(c->h, CURLOPT_URL, url);
	curl_easy_setopt(c->h, CURLOPT_POST, 1L);
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, sql);
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE, (long)strlen(sql));
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, store_curl_write_buf);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, &c->answer);
	rc = curl_easy_perform(c->h);
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
	free(url);
	r = store_curl_errno(rc, status);
	if (r < 0) {
		store_describe_error(c->error, sizeof(c->error), rc, status, c->answer.data,
				     c->answer.len);
		return r;
	}
	if (out) {
		*out = malloc(c->answer.len + 1);
		if (!*out)
			return -ENOMEM;
		if (c->answer.len)
			memcpy(*out, c->answer.data, c->answer.len);
		(*out)[c->answer.len] = 0;
	}
	return 0;
}

int store_client_query(struct store_client *c, const char *sql, char **out)
{
	return query(c, c->cfg->database, sql, out);
}

int store_client_query_nodb(struct store_client *c, const char *sql, char **out)
{
	return query(c, NULL, sql, out);
}

int store_client_query_u64(struct store_client *c, const char *sql, uint64_t *value)
{
	char *out, *end;
	int r = store_client_query(c, sql, &out);

	if (r < 0)
		return r;
	errno = 0;
	*value = strtoull(out, &end, 10);
	if (errno || end == out) {
		snprintf(c->error, sizeof(c->error), "not a number: %.40s", out);
		r = -EPROTO;
	}
	free(out);
	return r;
}

int store_client_server_version(struct store_client *c, uint32_t *version)
{
	unsigned major = 0, minor = 0, patch = 0;
	char *out;
	int r = store_client_query_nodb(c, "SELECT version()", &out);

	*version = 0;
	if (r < 0)
		return r;
	if (sscanf(out, "%u.%u.%u", &major, &minor, &patch) >= 2)
		*version = major * 1000000u + minor * 1000u + patch;
	free(out);
	return 0;
}
