// SPDX-License-Identifier: AGPL-3.0-or-later
/* The batch writer: flows appended into a Native batch (native.c) and summed
 * for the consolidated tables (consolidate.c); a flush sends the batch, then
 * the sums when due, through the transport (transport.c), each insert
 * retried with back-off until acknowledged. */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "store_internal.h"

/* The consolidated tables and exporters, in the order a flush writes them. */
enum { CONSOLIDATED_TABLES = 4 };
static const char *const consolidated_tables[CONSOLIDATED_TABLES] = {"flows_1m", "flows_5m",
								     "flows_1h", "exporters"};

struct store_writer {
	const struct store_config *cfg;
	struct store_transport *t;
	struct store_native_batch batch;
	/* each appended flow's enrichment as interned by the consolidator
	 * (the batch's rows carry that index: native.c), room for `ntuples` */
	uint32_t *tuples;
	size_t ntuples;
	uint64_t first_ms; /* now_ms of the batch's first row */
	struct error error;
	/* consolidated rows (consolidate.c): consolidated_tables[], of which
	 * `consolidated_sent` were acknowledged in this flush (a retried flush
	 * does not send those again) */
	struct store_consolidator *consolidator;
	char *consolidated_columns[CONSOLIDATED_TABLES];
	unsigned consolidated_sent;
	struct buf consolidated_body;
	struct buf hours_answer; /* the server's hours (resolve_hours()) */
	/* flows' LowCardinality(String) columns, a line each, once asked
	 * (ask_low_cardinality()) */
	struct buf low_cardinality;
	int low_cardinality_known;
	/* flows' key starts with the minute (a table created before session
	 * 11), once asked (ask_sort_key()) */
	int by_minute, by_minute_known;
	uint32_t *quarters, *hours; /* sorted quarters of an hour, toStartOfHour of each */
	size_t nquarters;
	uint64_t consolidated_first_ms; /* monotonic: first flow summed since the last write */
	int consolidated_full;		/* an append found no room: write them at the next flush */
	uint64_t batch_low;		/* least TimeReceived of the batch, UINT64_MAX when empty */
	/* the journal (store_writer_journal()): what ClickHouse holds for this
	 * writer, the Low of its dirty row or UINT64_MAX when clean */
	int journal;
	uint32_t journal_writer;
	uint64_t journal_low, journal_version;

	struct metric_series *m_rows, *m_bytes, *m_batches, *m_errors, *m_retries, *m_latency,
	    *m_last_latency, *m_pending, *m_consolidated_rows, *m_consolidated_flows,
	    *m_consolidated_pending;
};

static void register_metrics(struct store_writer *w, struct metrics_registry *metrics)
{
	w->m_rows = metrics_counter(metrics, "weir_store_rows_inserted_total",
				    "Rows ClickHouse acknowledged in flows.", NULL, NULL);
	w->m_bytes = metrics_counter(metrics, "weir_store_bytes_inserted_total",
				     "Encoded bytes of the acknowledged batches.", NULL, NULL);
	w->m_batches = metrics_counter(metrics, "weir_store_batches_total", "Acknowledged batches.",
				       NULL, NULL);
	w->m_errors = metrics_counter(metrics, "weir_store_insert_errors_total",
				      "Failed insert requests (each is retried).", NULL, NULL);
	w->m_retries = metrics_counter(metrics, "weir_store_insert_retries_total",
				       "Insert requests sent again after a failure.", NULL, NULL);
	w->m_latency = metrics_counter(
	    metrics, "weir_store_batch_latency_microseconds_total",
	    "Time from first try to acknowledgement, summed over batches.", NULL, NULL);
	w->m_last_latency =
	    metrics_gauge(metrics, "weir_store_last_batch_latency_seconds",
			  "Time from first try to acknowledgement of the last batch.", NULL, NULL);
	w->m_pending = metrics_gauge(
	    metrics, "weir_store_pending_rows",
	    "Rows encoded and waiting for the next flush (last writer to change it).", NULL, NULL);
	w->m_consolidated_rows =
	    metrics_counter(metrics, "weir_store_consolidated_rows_inserted_total",
			    "Rows ClickHouse acknowledged in flows_1m.", NULL, NULL);
	w->m_consolidated_flows =
	    metrics_counter(metrics, "weir_store_consolidated_flows_total",
			    "Flows summed into the acknowledged rows of flows_1m.", NULL, NULL);
	w->m_consolidated_pending =
	    metrics_gauge(metrics, "weir_store_consolidated_pending_rows",
			  "Rows of flows_1m summed in memory, not yet written (last writer to "
			  "change it).",
			  NULL, NULL);
}

int store_writer_new(const struct store_config *cfg, struct metrics_registry *metrics,
		     struct store_writer **out, struct error *err)
{
	struct store_writer *w = calloc(1, sizeof(*w));
	struct store_column *cols = NULL;
	size_t ncols = 0;
	int r = -ENOMEM;

	*out = NULL;
	if (!w)
		goto fail;
	w->cfg = cfg;
	w->batch_low = UINT64_MAX;
	w->journal_low = UINT64_MAX;
	r = store_flows_columns(&cols, &ncols);
	if (r < 0)
		goto fail;
	r = store_native_batch_init(&w->batch, cols, ncols, store_flows_sort_key, err);
	if (r < 0)
		goto fail;
	r = store_transport_new(cfg, &w->t, err);
	if (r < 0)
		goto fail;
	r = store_consolidator_new(cfg->consolidation_max_rows, &w->consolidator, err);
	if (r < 0)
		goto fail;
	r = -ENOMEM;
	for (unsigned t = 0; t < CONSOLIDATED_TABLES; t++) {
		w->consolidated_columns[t] = t < 3 ? store_consolidator_columns(w->consolidator)
						   : strdup(store_exporters_columns);
		if (!w->consolidated_columns[t])
			goto fail;
	}
	if (metrics)
		register_metrics(w, metrics);
	free(cols);
	*out = w;
	return 0;
fail:
	free(cols);
	store_writer_free(w);
	if (r == -ENOMEM)
		return error_set(err, r, "store: out of memory for a writer");
	return r; /* err said why */
}

int store_writer_set_strings(struct store_writer *w, const struct strtab *strings,
			     struct error *err)
{
	struct store_column *cols = NULL;
	struct store_native_batch batch;
	size_t ncols = 0;
	int r;

	if (w->batch.rows)
		return error_set(err, -EBUSY, "store: enrichment columns set after rows");
	r = store_flows_columns(&cols, &ncols);
	if (r == 0) {
		struct store_column *more =
		    realloc(cols, (ncols + STORE_ENRICH_COLUMNS) * sizeof(*cols));

		if (!more)
			r = -ENOMEM;
		else
			cols = more;
	}
	if (r < 0) {
		free(cols);
		return error_set(err, r, "store: out of memory for a writer");
	}
	ncols += store_enrich_columns(strings, cols + ncols);
	r = store_native_batch_init(&batch, cols, ncols, store_flows_sort_key, err);
	free(cols);
	if (r < 0)
		return r;
	r = store_consolidator_set_strings(w->consolidator, strings);
	if (r < 0) {
		store_native_batch_fini(&batch);
		return error_set(err, r, "store: enrichment of the consolidated tables: %s",
				 strerror(-r));
	}
	store_native_batch_fini(&w->batch);
	w->batch = batch;
	w->batch.by_tuple = 1;
	for (unsigned t = 0; t < CONSOLIDATED_TABLES; t++) {
		char *cols = t < 3 ? store_consolidator_columns(w->consolidator)
				   : strdup(store_exporters_enriched_columns);

		if (!cols)
			return error_set(err, -ENOMEM, "store: out of memory for a writer");
		free(w->consolidated_columns[t]);
		w->consolidated_columns[t] = cols;
	}
	return 0;
}

void store_writer_free(struct store_writer *w)
{
	if (!w)
		return;
	store_native_batch_fini(&w->batch);
	store_transport_free(w->t);
	store_consolidator_free(w->consolidator);
	buf_free(&w->consolidated_body);
	buf_free(&w->hours_answer);
	buf_free(&w->low_cardinality);
	free(w->tuples);
	free(w->quarters);
	free(w->hours);
	for (unsigned t = 0; t < CONSOLIDATED_TABLES; t++)
		free(w->consolidated_columns[t]);
	free(w);
}

size_t store_writer_rows(const struct store_writer *w)
{
	return w->batch.rows;
}

size_t store_writer_bytes(const struct store_writer *w)
{
	return w->batch.bytes;
}

int store_writer_append(struct store_writer *w, const struct flow *flows, size_t n, uint64_t now_ms)
{
	size_t need;

	if (n == 0)
		return 0;
	/* What each column needs first, so that either every column takes the
	 * rows or none does. */
	need = store_native_batch_need(&w->batch, flows, n);
	if (need > w->cfg->max_batch_bytes)
		return -E2BIG;
	if (n > w->cfg->consolidation_max_rows)
		return -E2BIG;
	if (w->batch.bytes + need > w->cfg->max_batch_bytes || w->batch.rows + n > 1048576)
		return -ENOBUFS;
	/* (and not while a flush has written some consolidated tables only:
	 * the rest must get the same rows) */
	if (!store_consolidator_room(w->consolidator, n) || w->consolidated_sent) {
		w->consolidated_full = 1;
		return -ENOBUFS;
	}
	if (store_native_batch_reserve(&w->batch, n) < 0)
		return -ENOMEM;
	if (n > w->ntuples) {
		uint32_t *t = realloc(w->tuples, n * sizeof(*t));

		if (!t)
			return -ENOMEM;
		w->tuples = t;
		w->ntuples = n;
	}
	if (store_consolidator_rows(w->consolidator) == 0)
		w->consolidated_first_ms = clock_mono_ms();
	if (store_consolidator_add_tuples(w->consolidator, flows, n, w->tuples) < 0)
		return -ENOMEM; /* (room was checked: only the entries' growth can fail) */
	if (w->batch.rows == 0)
		w->first_ms = now_ms;
	for (size_t i = 0; i < n; i++)
		if (flows[i].time_received < w->batch_low)
			w->batch_low = flows[i].time_received;
	/* (with the enrichment, by_tuple: its columns from the interned
	 * tuples, which outlive the batch, since the consolidated rows are
	 * written after it, never before; without, as encode()) */
	store_native_batch_encode_tuples(&w->batch, flows, n, w->tuples);
	metric_set(w->m_pending, (double)w->batch.rows);
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
		clock_mono_ms() - w->consolidated_first_ms >= w->cfg->consolidation_interval_ms);
}

int store_writer_consolidation_pending(const struct store_writer *w)
{
	return store_consolidator_rows(w->consolidator) > 0;
}

int store_writer_due(const struct store_writer *w, uint64_t now_ms)
{
	if (w->batch.rows == 0)
		return consolidated_due(w);
	return w->batch.rows >= w->cfg->batch_rows ||
	       now_ms - w->first_ms >= w->cfg->batch_interval_ms;
}

static void discard_rows(struct store_writer *w)
{
	store_native_batch_clear(&w->batch);
	w->batch_low = UINT64_MAX;
	metric_set(w->m_pending, 0);
}

void store_writer_discard(struct store_writer *w)
{
	discard_rows(w);
	store_consolidator_clear(w->consolidator);
	w->consolidated_full = 0;
	w->consolidated_sent = 0;
	metric_set(w->m_consolidated_pending, 0);
}

const char *store_writer_last_error(const struct store_writer *w)
{
	return w->error.text;
}

/* ---- retries: the same for every transport ---- */

/* Waits *delay_ms (or until stop_fn asks: returns 1), then doubles it up
 * to retry-max for the next failure. */
static int back_off(struct store_writer *w, uint64_t *delay_ms, store_stop_fn stop_fn, void *ctx)
{
	/* (in short slices, so that a stop request is seen quickly) */
	if (clock_wait_or_stop(*delay_ms, stop_fn, ctx))
		return 1;
	*delay_ms = *delay_ms * 2 > w->cfg->retry_max_ms ? w->cfg->retry_max_ms : *delay_ms * 2;
	return 0;
}

/* Inserts `block` into `table` until ClickHouse acknowledges it (0) or
 * stop_fn asks to stop (-ECANCELED). */
static int insert_until_acknowledged(struct store_writer *w, const char *table, const char *columns,
				     const struct store_block *block, store_stop_fn stop_fn,
				     void *ctx)
{
	LOG_RATELIMIT(rl_fail, 2);
	uint64_t delay = w->cfg->retry_min_ms, start = clock_mono_ms(), attempts = 0;
	int r;

	for (;;) {
		if (attempts++)
			metric_add(w->m_retries, 1);
		w->error.text[0] = 0;
		r = w->t->ops->insert(w->t, table, columns, block, &w->error);
		if (r == 0)
			break;
		metric_add(w->m_errors, 1);
		log_write_limited(&rl_fail, LOG_LEVEL_WARN, "clickhouse insert failed, retrying",
				  "table=%s rows=%zu attempt=%llu retry_in_ms=%llu error=\"%s\"",
				  table, block->rows, (unsigned long long)attempts,
				  (unsigned long long)delay, w->error.text);
		if (back_off(w, &delay, stop_fn, ctx))
			return -ECANCELED;
	}
	if (attempts > 1)
		log_info("clickhouse insert succeeded after retries",
			 "table=%s rows=%zu attempts=%llu", table, block->rows,
			 (unsigned long long)attempts);
	{
		uint64_t us = (clock_mono_ms() - start) * 1000;
		metric_add(w->m_latency, us);
		metric_set(w->m_last_latency, (double)us / 1e6);
	}
	return 0;
}

/* ---- the journal (store.h; read back by repair.c) ---- */

void store_writer_journal(struct store_writer *w)
{
	/* (numbers restart at 0 in each process: the latest row per number
	 * counts, and a repair marks every number clean) */
	static atomic_uint next_writer;

	if (w->journal)
		return;
	w->journal = 1;
	w->journal_writer = atomic_fetch_add(&next_writer, 1);
}

/* One journal row: dirty since `low`, or clean. The version is the wall
 * clock in microseconds, kept increasing for this writer, so that the row
 * wins over those of an earlier run of the same Writer number. With
 * `retry`, retried until acknowledged (-ECANCELED when stop_fn asks to
 * stop, as inserts); else one try. */
static int journal_write(struct store_writer *w, int dirty, uint64_t low, int retry,
			 store_stop_fn stop_fn, void *ctx)
{
	uint64_t delay = w->cfg->retry_min_ms, version = clock_real_ns() / 1000;
	char sql[192];
	int r;

	if (version <= w->journal_version)
		version = w->journal_version + 1;
	w->journal_version = version;
	snprintf(
	    sql, sizeof(sql),
	    "INSERT INTO " STORE_JOURNAL_TABLE " (Writer, Dirty, Low, Version) VALUES (%" PRIu32
	    ", %d, %" PRIu64 ", %" PRIu64 ")",
	    w->journal_writer, dirty, dirty ? (low > UINT32_MAX ? UINT32_MAX : low) : 0, version);
	while ((r = w->t->ops->query(w->t, w->cfg->database, sql, NULL, &w->error)) < 0) {
		metric_add(w->m_errors, 1);
		if (!retry)
			return r;
		if (back_off(w, &delay, stop_fn, ctx))
			return -ECANCELED;
	}
	return 0;
}

/* Before flows gets the batch: the journal must say dirty since a time no
 * later than any of its flows, or a crash before the sums are written
 * would go unrepaired. (Later batches of flows not older than the Low
 * recorded need no row.) */
static int journal_before_rows(struct store_writer *w, store_stop_fn stop_fn, void *ctx)
{
	int r;

	if (!w->journal || w->batch_low >= w->journal_low)
		return 0;
	r = journal_write(w, 1, w->batch_low, 1, stop_fn, ctx);
	if (r == 0)
		w->journal_low = w->batch_low;
	return r;
}

/* After the consolidated tables took every flow in flows (flush() wrote the
 * batch first): clean. One try; dirty stays dirty when it fails. */
static void journal_after_consolidated(struct store_writer *w)
{
	if (w->journal && w->journal_low != UINT64_MAX &&
	    journal_write(w, 0, 0, 0, NULL, NULL) == 0)
		w->journal_low = UINT64_MAX;
}

/* ---- flush ---- */

/* Which string columns of flows are LowCardinality(String) (modern
 * servers and the embedded engine, user/orchestrator/migrations.c): those
 * are sent as such (native.c), which spares the server hashing each row's
 * strings into a dictionary (36 such columns of 1M rows took the embedded
 * engine 0.95 s of CPU as String, 0.27 s as LowCardinality). Asked once; until an answer comes
 * every column goes as String, which any server converts. */
static void ask_low_cardinality(struct store_writer *w)
{
	static const char q[] = "SELECT name FROM system.columns WHERE database = "
				"currentDatabase() AND table = 'flows' AND type = "
				"'LowCardinality(String)'";

	if (w->low_cardinality_known)
		return;
	if (w->t->ops->query(w->t, w->cfg->database, q, &w->low_cardinality, &w->error) < 0 ||
	    buf_append(&w->low_cardinality, "", 1) < 0) {
		w->low_cardinality.len = 0;
		return;
	}
	w->low_cardinality_known = 1;
}

int store_writer_assume_low_cardinality(struct store_writer *w)
{
	w->low_cardinality.len = 0;
	for (size_t i = 0; i < w->batch.ncols; i++) {
		const struct store_column *d = &w->batch.cols[i].def;

		if (d->enc == STORE_ENC_STRID &&
		    buf_printf(&w->low_cardinality, "%s\n", d->name) < 0)
			return -ENOMEM;
	}
	if (buf_append(&w->low_cardinality, "", 1) < 0)
		return -ENOMEM;
	w->low_cardinality_known = 1;
	return 0;
}

/* Whether flows' sorting key starts with the minute (created before
 * session 11: a key cannot be reordered in place) or with the second (since;
 * migrations.c step 1): the batch is sorted as the table is, or the server
 * sorts it again (correct, but ~0.7 us of its CPU per flow on 18.16, as
 * sort_rows.c says). Asked once; until an answer comes, by the second. */
static void ask_sort_key(struct store_writer *w)
{
	static const char q[] = "SELECT position(sorting_key, '" STORE_FLOWS_MINUTE_KEY
				"') = 1 FROM system.tables WHERE database = currentDatabase() AND "
				"name = 'flows'";
	struct buf out = {0};

	if (w->by_minute_known)
		return;
	if (w->t->ops->query(w->t, w->cfg->database, q, &out, &w->error) == 0) {
		w->by_minute = out.len > 0 && out.data[0] == '1';
		w->by_minute_known = 1;
	}
	buf_free(&out);
}

static int flush_rows(struct store_writer *w, store_stop_fn stop_fn, void *ctx)
{
	struct store_block block;
	int r;

	if (w->batch.rows == 0)
		return 0;
	/* In flows' sorting order, so that ClickHouse need not sort. */
	ask_sort_key(w);
	w->batch.by_minute = w->by_minute;
	w->batch.tuples = store_consolidator_tuples(w->consolidator);
	r = store_native_batch_sort(&w->batch);
	if (r < 0)
		return r;
	ask_low_cardinality(w);
	store_native_batch_low_cardinality(
	    &w->batch, w->low_cardinality_known ? w->low_cardinality.data : NULL);
	r = store_native_batch_block(&w->batch, &block);
	if (r < 0)
		return r;
	r = journal_before_rows(w, stop_fn, ctx);
	if (r < 0)
		return r;
	r = insert_until_acknowledged(w, "flows", w->batch.columns, &block, stop_fn, ctx);
	if (r < 0)
		return r;
	metric_add(w->m_rows, block.rows);
	metric_add(w->m_bytes, block.bytes);
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
	struct buf q = {0};
	char num[16], *p;
	int r = -ENOMEM;
	static const char head[] =
	    "SELECT toUInt32(toStartOfHour(toDateTime(t))) FROM (SELECT arrayJoin([";

	if (buf_append(&q, head, sizeof(head) - 1) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		int len = snprintf(num, sizeof(num), "%s%u", i ? "," : "", quarters[i] * 900);
		if (buf_append(&q, num, (size_t)len) < 0)
			goto out;
	}
	if (buf_append(&q, "]) AS t)", 9) < 0) /* with the NUL */
		goto out;
	r = w->t->ops->query(w->t, w->cfg->database, q.data, &w->hours_answer, &w->error);
	if (r < 0)
		goto out;
	if (buf_append(&w->hours_answer, "", 1) < 0) { /* NUL-terminated for strtoul */
		r = -ENOMEM;
		goto out;
	}
	p = w->hours_answer.data;
	for (size_t i = 0; i < n; i++) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);

		if (end == p || *end != '\n') {
			r = error_set(&w->error, -EIO, "unexpected answer to the hours query");
			goto out;
		}
		hours[i] = (uint32_t)v;
		p = end + 1;
	}
	r = 0;
out:
	buf_free(&q);
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
	static const store_round_fn round[] = {round_minute, round_five_minutes, round_hour};
	struct store_segment seg;
	struct store_block block = {.segs = &seg, .nsegs = 1};
	size_t rows = 0;
	int r;

	if (store_consolidator_rows(w->consolidator) == 0)
		return 0;
	r = resolve_hours(w, stop_fn, ctx);
	if (r == 0)
		r = store_consolidator_sort(w->consolidator);
	for (unsigned t = w->consolidated_sent; t < CONSOLIDATED_TABLES && r == 0; t++) {
		r = t < 3 ? store_consolidator_encode(w->consolidator, round[t], w,
						      &w->consolidated_body, &rows)
			  : store_consolidator_encode_exporters(w->consolidator,
								&w->consolidated_body, &rows);
		if (r < 0)
			break;
		seg = (struct store_segment){w->consolidated_body.data, w->consolidated_body.len};
		block.bytes = w->consolidated_body.len;
		block.rows = rows;
		r = insert_until_acknowledged(w, consolidated_tables[t], w->consolidated_columns[t],
					      &block, stop_fn, ctx);
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
	journal_after_consolidated(w);
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
