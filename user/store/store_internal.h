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

/* Unsigned values of `width` bytes (1-8) big-endian: keys that memcmp()
 * orders as ClickHouse orders the numbers (consolidate.c, sort_rows.c). */
void store_put_be(uint8_t *out, uint64_t v, unsigned width);
uint64_t store_get_be(const uint8_t *in, unsigned width);

/* ClickHouse Native format pieces: LEB128 lengths and counts, and strings
 * as a length then bytes. Return 0 or -ENOMEM. */
int store_native_put_varint(struct store_buf *b, uint64_t v);
int store_native_put_string(struct store_buf *b, const char *s);
/* "INSERT INTO table (columns[0], ...) FORMAT Native", malloc'd, or NULL. */
char *store_insert_query(const char *table, const char *const *columns, size_t n);

/* ---- rows in the table's order (sort_rows.c) ---- */

/* One column of a sorting key, as encoded: `rows` values of `width` bytes
 * (1, 2, 4, 8: unsigned little-endian; 16: FixedString), `minute`: a
 * DateTime the key takes as toStartOfMinute(). Value i is at data + i *
 * stride: a field of an array of structs; 0 for a column (stride = width). */
struct store_sort_key {
	const void *data;
	unsigned width;
	int minute;
	size_t stride;
};

/* The order of rows[0..rows) by the key columns: 0 when they are in order
 * already (*perm NULL), 1 with *perm (malloc'd) the row to put at each
 * place, or -ENOMEM. */
int store_rows_order(const struct store_sort_key *keys, size_t nkeys, size_t rows, uint32_t **perm);
/* Reorders one encoded column by perm (from store_rows_order); `offsets`
 * non-NULL for an Array column (cumulative UInt64 per row, rewritten).
 * Cannot fail: scratch->cap >= keep >= what the column needs there, data->len
 * (an Array: that rounded up to 8, then `rows` UInt64). The rows are gathered
 * into scratch; then, when the column's own buffer has `keep` bytes too, the
 * two buffers are traded (the column takes scratch's, scratch the column's:
 * no copy back, no memory more), else the rows are copied back. */
void store_rows_permute(struct store_buf *data, struct store_buf *offsets, unsigned width,
			const uint32_t *perm, size_t rows, struct store_buf *scratch, size_t keep);

/* ---- consolidation (consolidate.c) ----
 * Sums flows by minute and by the consolidated dimensions (flows_1m's
 * columns), up to max_rows distinct rows. Not thread-safe: one per writer. */
struct store_consolidator;

struct store_consolidator *store_consolidator_new(size_t max_rows);
void store_consolidator_free(struct store_consolidator *c);
/* 1 when n more flows fit whatever their keys (each may be a new row). */
int store_consolidator_room(const struct store_consolidator *c, size_t n);
/* Sums flows[0..n): 0, -ENOBUFS (no room: encode and clear first), -ENOMEM. */
int store_consolidator_add(struct store_consolidator *c, const struct flow *flows, size_t n);
size_t store_consolidator_rows(const struct store_consolidator *c);
uint64_t store_consolidator_flows(const struct store_consolidator *c);
/* The quarters of an hour (unix seconds / 900) of the rows, sorted, once
 * each, in a malloc'd array. Returns 0 or -ENOMEM. */
int store_consolidator_quarters(const struct store_consolidator *c, uint32_t **out, size_t *n);
/* "INSERT INTO <table> (columns) FORMAT Native", malloc'd: the columns of
 * every consolidated table (the dimensions in struct flow, Bytes, Packets). */
char *store_consolidator_query(const struct store_consolidator *c, const char *table);
/* Sorts the rows once for the encodes that follow. Returns 0 or -ENOMEM. */
int store_consolidator_sort(struct store_consolidator *c);
/* Rounds a minute (unix seconds) down to a table's resolution. */
typedef uint32_t (*store_round_fn)(void *ctx, uint32_t minute);
/* The rows with their time rounded by `round` and summed again, as one
 * Native block in the consolidated tables' sorting order, into `body`
 * (overwritten); *rows = its row count. After store_consolidator_sort().
 * Returns 0 or -ENOMEM. */
int store_consolidator_encode(struct store_consolidator *c, store_round_fn round, void *ctx,
			      struct store_buf *body, size_t *rows);
/* The (exporter, interface) pairs of the rows with the latest minute each,
 * as a Native block of exporters (TimeReceived, ExporterAddress, IfIndex). */
int store_consolidator_encode_exporters(struct store_consolidator *c, struct store_buf *body,
					size_t *rows);
void store_consolidator_clear(struct store_consolidator *c);

/* Process-wide curl_global_init, once (thread-safe). */
void store_curl_global_init(void);

/* Sets the options every request shares: timeouts, basic auth, keep-alive,
 * no signals. Returns 0 or -ENOMEM. */
int store_curl_setup(CURL *h, const struct store_config *cfg, uint64_t timeout_ms);

/* Builds "URL/?database=DB&query=QUERY" (each parameter escaped; either
 * may be NULL to leave it out) into a malloc'd string. */
char *store_url(CURL *h, const struct store_config *cfg, const char *database, const char *query);
/* store_url() of an INSERT, with the settings every insert of weir's takes. */
char *store_insert_url(CURL *h, const struct store_config *cfg, const char *query);

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
