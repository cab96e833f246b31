// SPDX-License-Identifier: AGPL-3.0-or-later
/* The batch writer: struct flow rows -> column buffers in ClickHouse's Native
 * format -> one HTTP POST per batch, retried until acknowledged.
 *
 * Why Native and not RowBinary: on ClickHouse 18.16 the server parses a
 * Native block column by column with memcpy-like loops, while RowBinary is
 * deserialized field by field; measured on this machine (PLATFORM.md) Native
 * inserts about 650k rows/s against 470k for RowBinary, and only Native
 * leaves room for the 500k flows/s target. The cost moves to us: we keep one
 * buffer per column and transpose rows as they arrive, which is cheap. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "store_internal.h"

enum enc {
	ENC_U8,
	ENC_U16,
	ENC_U32,
	ENC_U64,
	ENC_DATETIME,	     /* uint64_t unix seconds -> DateTime (UInt32) */
	ENC_FIXED16,	     /* struct in6_addr -> FixedString(16) */
	ENC_ARRAY_U32,	     /* uint32_t[count] -> Array(UInt32) */
	ENC_LARGE_COMMUNITY, /* one member of struct flow_large_community[count] */
};

struct column {
	char name[64];
	const char *type;
	enum enc enc;
	unsigned width; /* bytes per row (scalars) or per element (arrays) */
	size_t offset, count_offset;
	unsigned member;	  /* ENC_LARGE_COMMUNITY: 0 global admin, 1 data1, 2 data2 */
	uint64_t elements;	  /* arrays: elements so far (Native offsets are cumulative) */
	struct store_buf offsets; /* arrays: UInt64 per row */
	struct store_buf data;
	size_t need; /* scratch: bytes this append needs */
};

struct segment {
	const char *p;
	size_t len;
};

struct store_writer {
	const struct store_config *cfg;
	CURL *h;
	struct curl_slist *headers;
	char *url;
	struct column *cols;
	size_t ncols;
	size_t rows;
	size_t bytes;	   /* encoded column bytes (without block and column headers) */
	uint64_t first_ms; /* now_ms of the batch's first row */
	/* request body: block header + per column (header, offsets, data) */
	struct store_buf head;
	size_t *head_end;
	struct segment *segs;
	size_t nsegs, seg, seg_off;
	struct store_buf answer;
	char error[512];
	/* the sorting key's columns that are sent (the others hold their
	 * default: constant), and whether the batch is in that order yet */
	size_t sort_cols[16], nsort;
	int sorted;
	struct store_buf scratch;
	/* consolidated rows (consolidate.c): flows_1m, flows_5m, flows_1h, then
	 * exporters; `consolidated_sent` of them acknowledged in this flush
	 * (a retried flush does not send those again) */
	struct store_consolidator *consolidator;
	char *consolidated_url[4];
	unsigned consolidated_sent;
	struct store_buf consolidated_body;
	struct store_client *client; /* the server's hours (resolve_hours()) */
	uint32_t *quarters, *hours;  /* sorted quarters of an hour, toStartOfHour of each */
	size_t nquarters;
	uint64_t consolidated_first_ms; /* monotonic: first flow summed since the last write */
	int consolidated_full;		/* an append found no room: write them at the next flush */

	struct metric_series *m_rows, *m_bytes, *m_batches, *m_errors, *m_retries, *m_latency,
	    *m_last_latency, *m_pending, *m_consolidated_rows, *m_consolidated_flows,
	    *m_consolidated_pending;
};

/* The console's queries all carry a time range; then they filter or group
 * by exporter and interface (Akvorado's key): the primary key. The key goes
 * on past it only for compression: rows of one AS pair and one host end up
 * side by side (26.5 -> 18.7 bytes per flow, weir bench store). */
const char *const store_flows_sort_key[] = {
    "TimeReceived", "ExporterAddress", "InIfName", "OutIfName", "InIf", "OutIf",
    "SrcAS",	    "DstAS",	       "SrcAddr",  "DstAddr",	NULL};

static const char direction_type[] = "Enum8('undefined' = 0, 'ingress' = 1, 'egress' = 2)";
static const char *const lc_members[] = {"ASN", "LocalData1", "LocalData2"};

const char *store_field_type(const struct flow_field *field)
{
	if (!strcmp(field->name, "TimeReceived"))
		return "DateTime";
	switch (field->kind) {
	case FLOW_FIELD_U8:
		return "UInt8";
	case FLOW_FIELD_U16:
		return "UInt16";
	case FLOW_FIELD_U32:
		return "UInt32";
	case FLOW_FIELD_U64:
	case FLOW_FIELD_MAC:
		return "UInt64";
	case FLOW_FIELD_ADDR:
		return "FixedString(16)";
	case FLOW_FIELD_DIRECTION:
		return direction_type;
	case FLOW_FIELD_U32_ARRAY:
		return "Array(UInt32)";
	case FLOW_FIELD_LARGE_COMMUNITY_ARRAY:
		return "Nested(ASN UInt32, LocalData1 UInt32, LocalData2 UInt32)";
	}
	return "String";
}

int store_field_stored(const struct flow_field *field)
{
	return strcmp(field->name, "TimeFlowStartMs") != 0 &&
	       strcmp(field->name, "TimeFlowEndMs") != 0;
}

static uint64_t now_ms_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Array(UInt32) columns: values plus cumulative UInt64 offsets per row. */
static int column_is_array(const struct column *c)
{
	return c->enc == ENC_ARRAY_U32 || c->enc == ENC_LARGE_COMMUNITY;
}

static int columns_init(struct store_writer *w)
{
	size_t n = 0;

	for (size_t i = 0; i < flow_fields_count; i++)
		n += flow_fields[i].kind == FLOW_FIELD_LARGE_COMMUNITY_ARRAY ? 3 : 1;
	/* (n counts the fields left out too: a few spare entries) */
	w->cols = calloc(n, sizeof(*w->cols));
	if (!w->cols)
		return -ENOMEM;
	for (size_t i = 0; i < flow_fields_count; i++) {
		const struct flow_field *f = &flow_fields[i];
		struct column *c = &w->cols[w->ncols];

		if (!store_field_stored(f))
			continue;

		c->offset = f->offset;
		c->count_offset = f->count_offset;
		c->type = store_field_type(f);
		snprintf(c->name, sizeof(c->name), "%s", f->name);
		switch (f->kind) {
		case FLOW_FIELD_U8:
		case FLOW_FIELD_DIRECTION:
			c->enc = ENC_U8, c->width = 1;
			break;
		case FLOW_FIELD_U16:
			c->enc = ENC_U16, c->width = 2;
			break;
		case FLOW_FIELD_U32:
			c->enc = ENC_U32, c->width = 4;
			break;
		case FLOW_FIELD_U64:
		case FLOW_FIELD_MAC:
			c->enc = ENC_U64, c->width = 8;
			if (!strcmp(f->name, "TimeReceived"))
				c->enc = ENC_DATETIME, c->width = 4;
			break;
		case FLOW_FIELD_ADDR:
			c->enc = ENC_FIXED16, c->width = 16;
			break;
		case FLOW_FIELD_U32_ARRAY:
			c->enc = ENC_ARRAY_U32, c->width = 4;
			break;
		case FLOW_FIELD_LARGE_COMMUNITY_ARRAY:
			for (unsigned m = 0; m < 3; m++) {
				c = &w->cols[w->ncols + m];
				c->offset = f->offset;
				c->count_offset = f->count_offset;
				c->enc = ENC_LARGE_COMMUNITY;
				c->width = 4;
				c->member = m;
				c->type = "Array(UInt32)";
				snprintf(c->name, sizeof(c->name), "%s.%s", f->name, lc_members[m]);
			}
			w->ncols += 2;
			break;
		}
		w->ncols++;
	}
	return 0;
}

static char *insert_query(const struct store_writer *w)
{
	const char **names = calloc(w->ncols ? w->ncols : 1, sizeof(*names));
	char *q;

	if (!names)
		return NULL;
	for (size_t i = 0; i < w->ncols; i++)
		names[i] = w->cols[i].name;
	q = store_insert_query("flows", names, w->ncols);
	free(names);
	return q;
}

struct store_writer *store_writer_new(const struct store_config *cfg,
				      struct metrics_registry *metrics)
{
	struct store_writer *w = calloc(1, sizeof(*w));
	char *query = NULL;

	if (!w)
		return NULL;
	store_curl_global_init();
	w->cfg = cfg;
	if (columns_init(w) < 0)
		goto fail;
	for (size_t k = 0; store_flows_sort_key[k]; k++)
		for (size_t i = 0; i < w->ncols && w->nsort < 16; i++)
			if (!strcmp(w->cols[i].name, store_flows_sort_key[k]) &&
			    !column_is_array(&w->cols[i]))
				w->sort_cols[w->nsort++] = i;
	w->segs = calloc(1 + 3 * w->ncols, sizeof(*w->segs));
	w->head_end = calloc(1 + w->ncols, sizeof(*w->head_end));
	w->h = curl_easy_init();
	query = insert_query(w);
	if (!w->segs || !w->head_end || !w->h || !query)
		goto fail;
	w->url = store_insert_url(w->h, cfg, query);
	/* No "Expect: 100-continue" round trip before each batch. */
	w->headers = curl_slist_append(NULL, "Expect:");
	if (!w->url || !w->headers)
		goto fail;
	free(query);
	w->consolidator = store_consolidator_new(cfg->consolidation_max_rows);
	w->client = store_client_new(cfg);
	if (!w->consolidator || !w->client)
		goto fail;
	for (unsigned t = 0; t < 4; t++) {
		static const char *const tables[] = {"flows_1m", "flows_5m", "flows_1h"};

		query = t < 3 ? store_consolidator_query(w->consolidator, tables[t])
			      : strdup("INSERT INTO exporters (TimeReceived, ExporterAddress, "
				       "IfIndex) FORMAT Native");
		if (!query)
			goto fail;
		w->consolidated_url[t] = store_insert_url(w->h, cfg, query);
		free(query);
		query = NULL;
		if (!w->consolidated_url[t])
			goto fail;
	}
	if (metrics) {
#define COUNTER(name, help)                                                                        \
	metrics_series(metrics_family(metrics, name, help, METRIC_COUNTER, NULL), NULL)
#define GAUGE(name, help)                                                                          \
	metrics_series(metrics_family(metrics, name, help, METRIC_GAUGE, NULL), NULL)
		w->m_rows = COUNTER("weir_store_rows_inserted_total",
				    "Rows ClickHouse acknowledged in flows.");
		w->m_bytes = COUNTER("weir_store_bytes_inserted_total",
				     "Encoded bytes of the acknowledged batches.");
		w->m_batches = COUNTER("weir_store_batches_total", "Acknowledged batches.");
		w->m_errors = COUNTER("weir_store_insert_errors_total",
				      "Failed insert requests (each is retried).");
		w->m_retries = COUNTER("weir_store_insert_retries_total",
				       "Insert requests sent again after a failure.");
		w->m_latency =
		    COUNTER("weir_store_batch_latency_microseconds_total",
			    "Time from first try to acknowledgement, summed over batches.");
		w->m_last_latency =
		    GAUGE("weir_store_last_batch_latency_seconds",
			  "Time from first try to acknowledgement of the last batch.");
		w->m_pending = GAUGE(
		    "weir_store_pending_rows",
		    "Rows encoded and waiting for the next flush (last writer to change it).");
		w->m_consolidated_rows = COUNTER("weir_store_consolidated_rows_inserted_total",
						 "Rows ClickHouse acknowledged in flows_1m.");
		w->m_consolidated_flows =
		    COUNTER("weir_store_consolidated_flows_total",
			    "Flows summed into the acknowledged rows of flows_1m.");
		w->m_consolidated_pending =
		    GAUGE("weir_store_consolidated_pending_rows",
			  "Rows of flows_1m summed in memory, not yet written (last writer to "
			  "change it).");
#undef COUNTER
#undef GAUGE
	}
	return w;
fail:
	free(query);
	store_writer_free(w);
	return NULL;
}

void store_writer_free(struct store_writer *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->ncols; i++) {
		store_buf_free(&w->cols[i].offsets);
		store_buf_free(&w->cols[i].data);
	}
	free(w->cols);
	free(w->segs);
	free(w->head_end);
	store_buf_free(&w->head);
	store_buf_free(&w->answer);
	store_buf_free(&w->scratch);
	store_consolidator_free(w->consolidator);
	store_buf_free(&w->consolidated_body);
	store_client_free(w->client);
	free(w->quarters);
	free(w->hours);
	for (unsigned t = 0; t < 4; t++)
		free(w->consolidated_url[t]);
	curl_slist_free_all(w->headers);
	free(w->url);
	if (w->h)
		curl_easy_cleanup(w->h);
	free(w);
}

size_t store_writer_rows(const struct store_writer *w)
{
	return w->rows;
}

size_t store_writer_bytes(const struct store_writer *w)
{
	return w->bytes;
}

static inline unsigned count_at(const struct flow *f, size_t count_offset)
{
	return *((const uint8_t *)f + count_offset);
}

/* The counts are capped like the decoders cap them, so a bad count can never
 * read past the struct's arrays. */
static unsigned array_count(const struct column *c, const struct flow *f)
{
	unsigned n = count_at(f, c->count_offset);
	unsigned cap;

	if (c->enc == ENC_LARGE_COMMUNITY)
		cap = FLOW_MAX_LARGE_COMMUNITIES;
	else if (c->offset == offsetof(struct flow, mpls_labels))
		cap = FLOW_MAX_MPLS_LABELS;
	else if (c->offset == offsetof(struct flow, dst_as_path))
		cap = FLOW_MAX_AS_PATH;
	else
		cap = FLOW_MAX_COMMUNITIES;
	return n < cap ? n : cap;
}

static void encode_column(struct column *c, const struct flow *flows, size_t n)
{
	char *out = c->data.data + c->data.len;

	switch (c->enc) {
	case ENC_U8:
		for (size_t i = 0; i < n; i++)
			out[i] = *((const char *)&flows[i] + c->offset);
		break;
	case ENC_U16:
		for (size_t i = 0; i < n; i++)
			memcpy(out + 2 * i, (const char *)&flows[i] + c->offset, 2);
		break;
	case ENC_U32:
		for (size_t i = 0; i < n; i++)
			memcpy(out + 4 * i, (const char *)&flows[i] + c->offset, 4);
		break;
	case ENC_U64:
		for (size_t i = 0; i < n; i++)
			memcpy(out + 8 * i, (const char *)&flows[i] + c->offset, 8);
		break;
	case ENC_DATETIME:
		for (size_t i = 0; i < n; i++) {
			uint64_t t;
			uint32_t t32;
			memcpy(&t, (const char *)&flows[i] + c->offset, 8);
			t32 = t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
			memcpy(out + 4 * i, &t32, 4);
		}
		break;
	case ENC_FIXED16:
		for (size_t i = 0; i < n; i++)
			memcpy(out + 16 * i, (const char *)&flows[i] + c->offset, 16);
		break;
	case ENC_ARRAY_U32:
	case ENC_LARGE_COMMUNITY: {
		char *offs = c->offsets.data + c->offsets.len;
		size_t len = 0;

		for (size_t i = 0; i < n; i++) {
			const char *base = (const char *)&flows[i] + c->offset;
			unsigned k = array_count(c, &flows[i]);

			if (c->enc == ENC_ARRAY_U32) {
				memcpy(out + len, base, 4 * (size_t)k);
			} else {
				const struct flow_large_community *lc = (const void *)base;
				for (unsigned j = 0; j < k; j++) {
					const uint32_t v = c->member == 0   ? lc[j].global_admin
							   : c->member == 1 ? lc[j].local_data1
									    : lc[j].local_data2;
					memcpy(out + len + 4 * (size_t)j, &v, 4);
				}
			}
			len += 4 * (size_t)k;
			c->elements += k;
			memcpy(offs + 8 * i, &c->elements, 8);
		}
		c->offsets.len += 8 * n;
		c->data.len += len;
		return;
	}
	}
	c->data.len += (size_t)c->width * n;
}

int store_writer_append(struct store_writer *w, const struct flow *flows, size_t n, uint64_t now_ms)
{
	size_t need = 0;

	if (n == 0)
		return 0;
	/* First pass: what each column needs, so that either every column
	 * takes the rows or none does. */
	for (size_t i = 0; i < w->ncols; i++) {
		struct column *c = &w->cols[i];

		if (column_is_array(c)) {
			size_t k = 0;
			for (size_t j = 0; j < n; j++)
				k += array_count(c, &flows[j]);
			c->need = 4 * k + 8 * n;
		} else {
			c->need = (size_t)c->width * n;
		}
		need += c->need;
	}
	if (need > w->cfg->max_batch_bytes)
		return -E2BIG;
	if (n > w->cfg->consolidation_max_rows)
		return -E2BIG;
	if (w->bytes + need > w->cfg->max_batch_bytes || w->rows + n > 1048576)
		return -ENOBUFS;
	/* (and not while a flush has written some consolidated tables only:
	 * the rest must get the same rows) */
	if (!store_consolidator_room(w->consolidator, n) || w->consolidated_sent) {
		w->consolidated_full = 1;
		return -ENOBUFS;
	}
	for (size_t i = 0; i < w->ncols; i++) {
		struct column *c = &w->cols[i];
		int arr = column_is_array(c);

		if (store_buf_reserve(&c->data, arr ? c->need - 8 * n : c->need) < 0 ||
		    (arr && store_buf_reserve(&c->offsets, 8 * n) < 0))
			return -ENOMEM;
	}
	if (store_consolidator_rows(w->consolidator) == 0)
		w->consolidated_first_ms = now_ms_monotonic();
	if (store_consolidator_add(w->consolidator, flows, n) < 0)
		return -ENOMEM; /* (room was checked: only the entries' growth can fail) */
	for (size_t i = 0; i < w->ncols; i++)
		encode_column(&w->cols[i], flows, n);
	if (w->rows == 0)
		w->first_ms = now_ms;
	w->rows += n;
	w->bytes += need;
	metric_set(w->m_pending, (double)w->rows);
	metric_set(w->m_consolidated_pending, (double)store_consolidator_rows(w->consolidator));
	return 0;
}

/* The consolidated rows are due: their interval is over, or they fill half
 * of what memory allows, or an append found no room. */
static int consolidated_due(const struct store_writer *w)
{
	size_t rows = store_consolidator_rows(w->consolidator);

	return rows &&
	       (w->consolidated_full || rows >= w->cfg->consolidation_max_rows / 2 ||
		now_ms_monotonic() - w->consolidated_first_ms >= w->cfg->consolidation_interval_ms);
}

int store_writer_consolidation_pending(const struct store_writer *w)
{
	return store_consolidator_rows(w->consolidator) > 0;
}

int store_writer_due(const struct store_writer *w, uint64_t now_ms)
{
	if (w->rows == 0)
		return consolidated_due(w);
	return w->rows >= w->cfg->batch_rows || now_ms - w->first_ms >= w->cfg->batch_interval_ms;
}

static void discard_rows(struct store_writer *w)
{
	for (size_t i = 0; i < w->ncols; i++) {
		w->cols[i].data.len = 0;
		w->cols[i].offsets.len = 0;
		w->cols[i].elements = 0;
	}
	w->rows = 0;
	w->bytes = 0;
	w->sorted = 0;
	metric_set(w->m_pending, 0);
}

/* The batch in flows' sorting order (see sort_rows.c). */
static int sort_batch(struct store_writer *w)
{
	struct store_sort_key keys[16];
	uint32_t *perm = NULL;
	size_t keep = 0;
	int r;

	for (size_t k = 0; k < w->nsort; k++) {
		const struct column *c = &w->cols[w->sort_cols[k]];
		keys[k] = (struct store_sort_key){c->data.data, c->width, c->enc == ENC_DATETIME};
	}
	r = store_rows_order(keys, w->nsort, w->rows, &perm);
	if (r > 0) {
		/* Room first, so that once started every column is reordered:
		 * as much as the column that needs most (an array: its values,
		 * then its offsets). Columns whose buffer is as large trade it
		 * for the scratch one, so the scratch keeps that room. */
		for (size_t i = 0; i < w->ncols; i++) {
			const struct column *c = &w->cols[i];
			size_t need = c->data.len;

			if (column_is_array(c))
				need = ((need + 7) & ~(size_t)7) + w->rows * sizeof(uint64_t);
			if (need > keep)
				keep = need;
		}
		w->scratch.len = 0;
		if (store_buf_reserve(&w->scratch, keep) < 0)
			r = -ENOMEM;
	}
	for (size_t i = 0; r > 0 && i < w->ncols; i++) {
		struct column *c = &w->cols[i];
		int arr = column_is_array(c);

		store_rows_permute(&c->data, arr ? &c->offsets : NULL, c->width, perm, w->rows,
				   &w->scratch, keep);
	}
	free(perm);
	if (r < 0)
		return r;
	w->sorted = 1;
	return 0;
}

void store_writer_discard(struct store_writer *w)
{
	discard_rows(w);
	store_consolidator_clear(w->consolidator);
	w->consolidated_full = 0;
	w->consolidated_sent = 0;
	metric_set(w->m_consolidated_pending, 0);
}

/* Native block (no block info over HTTP): varint columns, varint rows, then
 * per column its name, its type and its data (arrays: offsets then values). */
static int build_body(struct store_writer *w, size_t *total)
{
	size_t *head_end = w->head_end; /* where each header ends in w->head */
	size_t k = 0;
	int r = 0;

	w->head.len = 0;
	r |= store_native_put_varint(&w->head, w->ncols);
	r |= store_native_put_varint(&w->head, w->rows);
	head_end[0] = w->head.len;
	for (size_t i = 0; i < w->ncols; i++) {
		r |= store_native_put_string(&w->head, w->cols[i].name);
		r |= store_native_put_string(&w->head, w->cols[i].type);
		head_end[i + 1] = w->head.len;
	}
	if (r < 0)
		return -ENOMEM;
	*total = 0;
	w->segs[k++] = (struct segment){w->head.data, head_end[0]};
	for (size_t i = 0; i < w->ncols; i++) {
		struct column *c = &w->cols[i];
		w->segs[k++] =
		    (struct segment){w->head.data + head_end[i], head_end[i + 1] - head_end[i]};
		if (c->offsets.len)
			w->segs[k++] = (struct segment){c->offsets.data, c->offsets.len};
		if (c->data.len)
			w->segs[k++] = (struct segment){c->data.data, c->data.len};
	}
	w->nsegs = k;
	for (size_t i = 0; i < k; i++)
		*total += w->segs[i].len;
	return 0;
}

static size_t read_body(char *buf, size_t size, size_t nmemb, void *ctx)
{
	struct store_writer *w = ctx;
	size_t room = size * nmemb, done = 0;

	while (room > 0 && w->seg < w->nsegs) {
		const struct segment *s = &w->segs[w->seg];
		size_t n = s->len - w->seg_off;

		if (n > room)
			n = room;
		memcpy(buf + done, s->p + w->seg_off, n);
		done += n;
		room -= n;
		w->seg_off += n;
		if (w->seg_off == s->len) {
			w->seg++;
			w->seg_off = 0;
		}
	}
	return done;
}

static int seek_body(void *ctx, curl_off_t offset, int origin)
{
	struct store_writer *w = ctx;

	if (origin != SEEK_SET)
		return CURL_SEEKFUNC_CANTSEEK;
	w->seg = 0;
	w->seg_off = 0;
	while (offset > 0 && w->seg < w->nsegs) {
		size_t n = w->segs[w->seg].len;
		if ((curl_off_t)n > offset) {
			w->seg_off = (size_t)offset;
			break;
		}
		offset -= (curl_off_t)n;
		w->seg++;
	}
	return CURL_SEEKFUNC_OK;
}

static int post_once(struct store_writer *w, const char *url, size_t total)
{
	CURLcode rc;
	long status = 0;
	int r;

	w->seg = 0;
	w->seg_off = 0;
	w->answer.len = 0;
	w->error[0] = 0;
	store_curl_setup(w->h, w->cfg, w->cfg->insert_timeout_ms);
	curl_easy_setopt(w->h, CURLOPT_URL, url);
	curl_easy_setopt(w->h, CURLOPT_HTTPHEADER, w->headers);
	curl_easy_setopt(w->h, CURLOPT_POST, 1L);
	curl_easy_setopt(w->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)total);
	curl_easy_setopt(w->h, CURLOPT_READFUNCTION, read_body);
	curl_easy_setopt(w->h, CURLOPT_READDATA, w);
	curl_easy_setopt(w->h, CURLOPT_SEEKFUNCTION, seek_body);
	curl_easy_setopt(w->h, CURLOPT_SEEKDATA, w);
	curl_easy_setopt(w->h, CURLOPT_WRITEFUNCTION, store_curl_write_buf);
	curl_easy_setopt(w->h, CURLOPT_WRITEDATA, &w->answer);
	rc = curl_easy_perform(w->h);
	curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &status);
	r = store_curl_errno(rc, status);
	if (r < 0)
		store_describe_error(w->error, sizeof(w->error), rc, status, w->answer.data,
				     w->answer.len);
	return r;
}

/* Sleeps `ms` in short slices so that a stop request is seen quickly.
 * Returns 1 when stop_fn asked to stop. */
static int sleep_or_stop(uint64_t ms, store_stop_fn stop_fn, void *ctx)
{
	while (ms > 0) {
		uint64_t slice = ms < 50 ? ms : 50;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)slice * 1000000};

		if (stop_fn && stop_fn(ctx))
			return 1;
		nanosleep(&ts, NULL);
		ms -= slice;
	}
	return stop_fn && stop_fn(ctx);
}

/* Waits *delay_ms (or until stop_fn asks: returns 1), then doubles it up
 * to retry-max for the next failure. */
static int back_off(struct store_writer *w, uint64_t *delay_ms, store_stop_fn stop_fn, void *ctx)
{
	if (sleep_or_stop(*delay_ms, stop_fn, ctx))
		return 1;
	*delay_ms = *delay_ms * 2 > w->cfg->retry_max_ms ? w->cfg->retry_max_ms : *delay_ms * 2;
	return 0;
}

const char *store_writer_last_error(const struct store_writer *w)
{
	return w->error;
}

/* POSTs w->segs to `url` until ClickHouse acknowledges it (0) or stop_fn
 * asks to stop (-ECANCELED). `what` names the rows in logs. */
static int post_until_acknowledged(struct store_writer *w, const char *url, size_t total,
				   size_t rows, const char *what, store_stop_fn stop_fn, void *ctx)
{
	LOG_RATELIMIT(rl_fail, 2);
	uint64_t delay = w->cfg->retry_min_ms, start = now_ms_monotonic(), attempts = 0;
	int r;

	for (;;) {
		if (attempts++)
			metric_add(w->m_retries, 1);
		r = post_once(w, url, total);
		if (r == 0)
			break;
		metric_add(w->m_errors, 1);
		log_write_limited(&rl_fail, LOG_LEVEL_WARN, "clickhouse insert failed, retrying",
				  "table=%s rows=%zu attempt=%llu retry_in_ms=%llu error=\"%s\"",
				  what, rows, (unsigned long long)attempts,
				  (unsigned long long)delay, w->error);
		if (back_off(w, &delay, stop_fn, ctx))
			return -ECANCELED;
	}
	if (attempts > 1)
		log_info("clickhouse insert succeeded after retries",
			 "table=%s rows=%zu attempts=%llu", what, rows,
			 (unsigned long long)attempts);
	{
		uint64_t us = (now_ms_monotonic() - start) * 1000;
		metric_add(w->m_latency, us);
		metric_set(w->m_last_latency, (double)us / 1e6);
	}
	return 0;
}

static int flush_rows(struct store_writer *w, store_stop_fn stop_fn, void *ctx)
{
	size_t total;
	int r;

	if (w->rows == 0)
		return 0;
	if (!w->sorted) {
		r = sort_batch(w);
		if (r < 0)
			return r;
	}
	r = build_body(w, &total);
	if (r < 0)
		return r;
	r = post_until_acknowledged(w, w->url, total, w->rows, "flows", stop_fn, ctx);
	if (r < 0)
		return r;
	metric_add(w->m_rows, w->rows);
	metric_add(w->m_bytes, total);
	metric_add(w->m_batches, 1);
	discard_rows(w);
	return 0;
}

/* flows_1h holds toStartOfHour(TimeReceived) in the server's time zone, as
 * the views of earlier schema versions wrote it: asked of the server for
 * each quarter of an hour the rows span (every time zone's offset is a
 * multiple of 15 minutes, so no hour starts inside a quarter), in one query
 * per flush, none when the quarters are those of the last flush. Minutes
 * and five minutes are the same in every such zone: rounded here. */
static uint32_t round_minute(void *ctx, uint32_t t)
{
	(void)ctx;
	return t;
}

static uint32_t round_five_minutes(void *ctx, uint32_t t)
{
	(void)ctx;
	return t - t % 300;
}

static uint32_t round_hour(void *ctx, uint32_t t)
{
	struct store_writer *w = ctx;
	size_t lo = 0, hi = w->nquarters;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (w->quarters[mid] < t / 900)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < w->nquarters && w->quarters[lo] == t / 900)
		return w->hours[lo];
	return t - t % 3600; /* not reached: resolve_hours() saw every quarter */
}

static int ask_hours(struct store_writer *w, const uint32_t *quarters, size_t n, uint32_t *hours)
{
	struct store_buf q = {0};
	char num[16], *answer = NULL, *p;
	int r = -ENOMEM;
	static const char head[] =
	    "SELECT toUInt32(toStartOfHour(toDateTime(t))) FROM (SELECT arrayJoin([";

	if (store_buf_append(&q, head, sizeof(head) - 1) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		int len = snprintf(num, sizeof(num), "%s%u", i ? "," : "", quarters[i] * 900);
		if (store_buf_append(&q, num, (size_t)len) < 0)
			goto out;
	}
	if (store_buf_append(&q, "]) AS t)", 9) < 0) /* with the NUL */
		goto out;
	r = store_client_query(w->client, q.data, &answer);
	if (r < 0) {
		snprintf(w->error, sizeof(w->error), "%s", store_client_error(w->client));
		goto out;
	}
	p = answer;
	for (size_t i = 0; i < n; i++) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);

		if (end == p || *end != '\n') {
			snprintf(w->error, sizeof(w->error),
				 "unexpected answer to the hours query");
			r = -EIO;
			goto out;
		}
		hours[i] = (uint32_t)v;
		p = end + 1;
	}
	r = 0;
out:
	free(answer);
	store_buf_free(&q);
	return r;
}

static int resolve_hours(struct store_writer *w, store_stop_fn stop_fn, void *ctx)
{
	uint64_t delay = w->cfg->retry_min_ms;
	uint32_t *quarters = NULL, *hours;
	size_t n = 0;
	int r = store_consolidator_quarters(w->consolidator, &quarters, &n);

	if (r < 0)
		return r;
	if (n == w->nquarters && !memcmp(quarters, w->quarters, n * sizeof(*quarters))) {
		free(quarters);
		return 0;
	}
	hours = malloc((n ? n : 1) * sizeof(*hours));
	if (!hours) {
		free(quarters);
		return -ENOMEM;
	}
	while ((r = ask_hours(w, quarters, n, hours)) < 0) {
		metric_add(w->m_errors, 1);
		if (back_off(w, &delay, stop_fn, ctx)) {
			free(quarters);
			free(hours);
			return -ECANCELED;
		}
	}
	free(w->quarters);
	free(w->hours);
	w->quarters = quarters;
	w->hours = hours;
	w->nquarters = n;
	return 0;
}

/* The summed rows into flows_1m, flows_5m, flows_1h (sorted as each table
 * sorts: ClickHouse skips its own sort) and exporters. A retried flush goes
 * on from the first table not yet acknowledged. */
static int flush_consolidated(struct store_writer *w, store_stop_fn stop_fn, void *ctx)
{
	static const char *const what[] = {"flows_1m", "flows_5m", "flows_1h", "exporters"};
	static const store_round_fn round[] = {round_minute, round_five_minutes, round_hour};
	size_t rows = 0;
	int r;

	if (store_consolidator_rows(w->consolidator) == 0)
		return 0;
	r = resolve_hours(w, stop_fn, ctx);
	if (r == 0)
		r = store_consolidator_sort(w->consolidator);
	for (unsigned t = w->consolidated_sent; t < 4 && r == 0; t++) {
		r = t < 3 ? store_consolidator_encode(w->consolidator, round[t], w,
						      &w->consolidated_body, &rows)
			  : store_consolidator_encode_exporters(w->consolidator,
								&w->consolidated_body, &rows);
		if (r < 0)
			break;
		w->segs[0] = (struct segment){w->consolidated_body.data, w->consolidated_body.len};
		w->nsegs = 1;
		r = post_until_acknowledged(w, w->consolidated_url[t], w->consolidated_body.len,
					    rows, what[t], stop_fn, ctx);
		if (r < 0)
			break;
		if (t == 0)
			metric_add(w->m_consolidated_rows, rows);
		metric_add(w->m_bytes, w->consolidated_body.len);
		w->consolidated_sent = t + 1;
	}
	if (r < 0)
		return r;
	metric_add(w->m_consolidated_flows, store_consolidator_flows(w->consolidator));
	store_consolidator_clear(w->consolidator);
	w->consolidated_full = 0;
	w->consolidated_sent = 0;
	metric_set(w->m_consolidated_pending, 0);
	return 0;
}

/* flows first: a row of flows_1m is never ahead of the rows it sums. */
static int flush(struct store_writer *w, int all, store_stop_fn stop_fn, void *ctx)
{
	int r = flush_rows(w, stop_fn, ctx);

	if (r == 0 && (all || consolidated_due(w)))
		r = flush_consolidated(w, stop_fn, ctx);
	return r;
}

int store_writer_flush(struct store_writer *w, store_stop_fn stop_fn, void *ctx)
{
	return flush(w, 0, stop_fn, ctx);
}

int store_writer_flush_all(struct store_writer *w, store_stop_fn stop_fn, void *ctx)
{
	return flush(w, 1, stop_fn, ctx);
}
