/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* What the store's files share: libcurl set-up for ClickHouse's HTTP
 * interface, and error classification. Not for other stages. */
#ifndef WEIR_STORE_INTERNAL_H
#define WEIR_STORE_INTERNAL_H

#include <curl/curl.h>

#include "store.h"

/* Growable byte buffer; `len` used, `cap` allocated. */
struct store_buf {
	char *data;
	size_t len, cap;
};

int store_buf_reserve(struct store_buf *b, size_t extra);
int store_buf_append(struct store_buf *b, const void *p, size_t n);
void store_buf_free(struct store_buf *b);

/* Process-wide curl_global_init, once (thread-safe). */
void store_curl_global_init(void);

/* Sets the options every request shares: timeouts, basic auth, keep-alive,
 * no signals. Returns 0 or -ENOMEM. */
int store_curl_setup(CURL *h, const struct store_config *cfg, uint64_t timeout_ms);

/* Builds "URL/?database=DB&query=QUERY" (each parameter escaped; either
 * may be NULL to leave it out) into a malloc'd string. */
char *store_url(CURL *h, const struct store_config *cfg, const char *database, const char *query);

/* Writes `err` ("HTTP 500: Code: 60, e.displayText() = ...") from a failed
 * request: the curl error, else the status and the first line of the body. */
void store_describe_error(char *err, size_t size, CURLcode rc, long status, const char *body,
			  size_t body_len);

/* -errno for a failed request: -ECONNREFUSED when the server cannot be
 * reached, -ETIMEDOUT, -EIO for an error answered by ClickHouse. */
int store_curl_errno(CURLcode rc, long status);

/* curl write callback appending to a struct store_buf (bounded at 64 MiB). */
size_t store_curl_write_buf(char *p, size_t size, size_t nmemb, void *ctx);

#endif
