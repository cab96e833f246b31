// SPDX-License-Identifier: AGPL-3.0-or-later
/* The summary `weir stats` prints: the samples of /metrics grouped by what a
 * person asks first ("is anything lost, where, and is it weir or the
 * network?"). Metric names are the stages' (docs/operating.md lists them);
 * unknown drop counters with an exporter still show, so a new one needs no
 * change here. */
#include "stats_summary.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REASONS 16

struct reason_count {
	const char *reason;
	double n;
};

struct reasons {
	struct reason_count r[MAX_REASONS];
	size_t n;
};

static void reasons_add(struct reasons *rs, const char *reason, double n)
{
	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->r[i].reason, reason) == 0) {
			rs->r[i].n += n;
			return;
		}
	if (rs->n == MAX_REASONS) {
		reason = "other";
		for (size_t i = 0; i < rs->n; i++)
			if (strcmp(rs->r[i].reason, reason) == 0) {
				rs->r[i].n += n;
				return;
			}
		rs->n--; /* the last one becomes "other" (rare: 16 reasons) */
	}
	rs->r[rs->n++] = (struct reason_count){reason, n};
}

static double reasons_total(const struct reasons *rs)
{
	double t = 0;

	for (size_t i = 0; i < rs->n; i++)
		t += rs->r[i].n;
	return t;
}

/* " reason=n reason=n" of the non-zero ones, or " -". */
static void reasons_print(const struct reasons *rs, FILE *out)
{
	int any = 0;

	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].n) {
			fprintf(out, " %s=%.0f", rs->r[i].reason, rs->r[i].n);
			any = 1;
		}
	if (!any)
		fputs(" -", out);
}

static int name_is(const struct metrics_sample *s, const char *name)
{
	return strcmp(s->name, name) == 0;
}

static int starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A drop counter: its name says so (dropped, drops, full, expired,
 * rejected), or a decoder event. */
static int is_drop(const char *name)
{
	static const char *const words[] = {"drop", "full", "expired", "reject"};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(name, words[i]))
			return 1;
	return strcmp(name, "weir_decode_events_total") == 0;
}

/* The sum of `name`'s samples (whose label `key` is `value`, when key). */
static double sum(const struct metrics_text *m, const char *name, const char *key,
		  const char *value)
{
	double t = 0;

	for (size_t i = 0; i < m->count; i++) {
		const char *v;

		if (!name_is(&m->samples[i], name))
			continue;
		if (key && (!(v = metrics_sample_label(&m->samples[i], key)) || strcmp(v, value)))
			continue;
		t += m->samples[i].value;
	}
	return t;
}

static int has(const struct metrics_text *m, const char *prefix)
{
	for (size_t i = 0; i < m->count; i++)
		if (starts(m->samples[i].name, prefix))
			return 1;
	return 0;
}

/* The distinct values of label `key` among samples whose name starts with
 * `prefix`, in order of appearance. Returns how many (at most cap). */
static size_t distinct(const struct metrics_text *m, const char *prefix, const char *key,
		       const char **vals, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < m->count; i++) {
		const char *v = metrics_sample_label(&m->samples[i], key);
		size_t k;

		if (!v || !starts(m->samples[i].name, prefix))
			continue;
		for (k = 0; k < n && strcmp(vals[k], v); k++)
			;
		if (k == n && n < cap)
			vals[n++] = v;
	}
	return n;
}

/* The reason of a drop sample: its reason (or outcome) label, else its name
 * without the stage prefix and _total. */
static const char *drop_reason(const struct metrics_sample *s, char *buf, size_t size)
{
	const char *r = metrics_sample_label(s, "reason");
	const char *name = s->name;
	size_t n;

	if (r)
		return r;
	if ((r = metrics_sample_label(s, "outcome")))
		return r;
	if (starts(name, "weir_"))
		name += 5;
	n = strlen(name);
	if (n > 6 && strcmp(name + n - 6, "_total") == 0)
		n -= 6;
	snprintf(buf, size, "%.*s", (int)n, name);
	return buf;
}

/* ---- inputs and rings ---- */

#define MAX_GROUPS 64

/* `names` has room for a reason per sample (drop_reason()'s buffers). */
static void print_inputs(const struct metrics_text *m, FILE *out, char (*names)[64])
{
	const char *inputs[MAX_GROUPS], *outcomes[MAX_GROUPS];
	size_t n = distinct(m, "weir_inlet_", "input", inputs, MAX_GROUPS), no;
	int width = 8;

	if (!n && !has(m, "weir_inlet_xdp_"))
		return;
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(inputs[i]) > width)
			width = (int)strlen(inputs[i]);
	fprintf(out, "Inputs\n  %-*s %14s %16s %14s  %s\n", width, "INPUT", "DATAGRAMS", "BYTES",
		"KERNEL DROPS", "OTHER DROPS");
	for (size_t i = 0; i < n; i++) {
		struct reasons rs = {0};

		for (size_t j = 0; j < m->count; j++) {
			const struct metrics_sample *s = &m->samples[j];
			const char *in = metrics_sample_label(s, "input");

			if (!in || strcmp(in, inputs[i]) || !starts(s->name, "weir_inlet_") ||
			    !is_drop(s->name) || name_is(s, "weir_inlet_kernel_drops_total"))
				continue;
			reasons_add(&rs,
				    name_is(s, "weir_inlet_bus_dropped_total")
					? "bus_full"
					: drop_reason(s, names[j], sizeof(names[0])),
				    s->value);
		}
		fprintf(out, "  %-*s %14.0f %16.0f %14.0f ", width, inputs[i],
			sum(m, "weir_inlet_datagrams_total", "input", inputs[i]),
			sum(m, "weir_inlet_bytes_total", "input", inputs[i]),
			sum(m, "weir_inlet_kernel_drops_total", "input", inputs[i]));
		reasons_print(&rs, out);
		fputc('\n', out);
	}
	no = distinct(m, "weir_inlet_xdp_packets_total", "outcome", outcomes, MAX_GROUPS);
	if (no) {
		fputs("  XDP packets:", out);
		for (size_t i = 0; i < no; i++)
			fprintf(out, " %s=%.0f", outcomes[i],
				sum(m, "weir_inlet_xdp_packets_total", "outcome", outcomes[i]));
		fputc('\n', out);
	}
	fputc('\n', out);
}

static void print_line(const struct metrics_text *m, FILE *out, const char *title,
		       const char *const *names, const char *const *shown, size_t count);

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void print_kafka(const struct metrics_text *m, FILE *out)
{
	static const char *const kafka[] = {
	    "weir_bus_kafka_sent_total",	   "weir_bus_kafka_delivered_total",
	    "weir_bus_kafka_dropped_total",	   "weir_bus_kafka_received_total",
	    "weir_bus_kafka_consume_errors_total", "weir_bus_kafka_commit_failures_total",
	};
	static const char *const shown[] = {"sent",	"delivered",	  "dropped",
					    "received", "consume_errors", "commit_failures"};

	if (!has(m, "weir_bus_kafka_"))
		return;
	fputs("Bus\n", out);
	print_line(m, out, "Kafka", kafka, shown, N(kafka));
	fputc('\n', out);
}

static void print_rings(const struct metrics_text *m, FILE *out)
{
	const char *rings[MAX_GROUPS];
	size_t n = distinct(m, "weir_bus_ring_", "ring", rings, MAX_GROUPS);

	print_kafka(m, out);
	if (!n)
		return;
	fprintf(out, "Rings\n  %-8s %14s %14s  %s\n", "RING", "SENT", "FULL (DROPPED)", "OTHER");
	for (size_t i = 0; i < n; i++) {
		int other = 0;

		fprintf(out, "  %-8s %14.0f %14.0f ", rings[i],
			sum(m, "weir_bus_ring_sent_total", "ring", rings[i]),
			sum(m, "weir_bus_ring_dropped_total", "ring", rings[i]));
		/* Gauges (fill) and counters other stages add per ring. */
		for (size_t j = 0; j < m->count; j++) {
			const struct metrics_sample *s = &m->samples[j];
			const char *r = metrics_sample_label(s, "ring");

			if (!r || strcmp(r, rings[i]) || !starts(s->name, "weir_bus_ring_") ||
			    name_is(s, "weir_bus_ring_sent_total") ||
			    name_is(s, "weir_bus_ring_dropped_total"))
				continue;
			fprintf(out, " %s=%g", s->name + strlen("weir_bus_ring_"), s->value);
			other = 1;
		}
		if (!other)
			fputs(" -", out);
		fputc('\n', out);
	}
	fputc('\n', out);
}

/* ---- exporters ---- */

struct exporter_row {
	const char *addr;
	double datagrams, flows, stored;
	double lost_flows, lost_records, lost_datagrams, out_of_order, resets;
	struct reasons drops;
	double loss; /* the sort key */
};

static struct exporter_row *row_of(struct exporter_row *rows, size_t *n, const char *addr)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(rows[i].addr, addr) == 0)
			return &rows[i];
	memset(&rows[*n], 0, sizeof(rows[0]));
	rows[*n].addr = addr;
	return &rows[(*n)++];
}

static int by_loss(const void *a, const void *b)
{
	const struct exporter_row *x = a, *y = b;

	if (x->loss != y->loss)
		return x->loss < y->loss ? 1 : -1;
	if (x->datagrams != y->datagrams)
		return x->datagrams < y->datagrams ? 1 : -1;
	return strcmp(x->addr, y->addr);
}

static int print_exporters(const struct metrics_text *m, FILE *out, char (*names)[64])
{
	struct exporter_row *rows = calloc(m->count + 1, sizeof(*rows));
	size_t n = 0, width = 8;

	if (!rows)
		return -ENOMEM;
	for (size_t i = 0; i < m->count; i++) {
		const struct metrics_sample *s = &m->samples[i];
		const char *addr = metrics_sample_label(s, "exporter"), *unit;
		struct exporter_row *r;

		if (!addr)
			continue;
		r = row_of(rows, &n, addr);
		if (name_is(s, "weir_outlet_datagrams_total")) {
			r->datagrams += s->value;
		} else if (name_is(s, "weir_outlet_flows_decoded_total")) {
			r->flows += s->value;
		} else if (name_is(s, "weir_outlet_flows_stored_total")) {
			r->stored += s->value;
		} else if (name_is(s, "weir_outlet_sequence_lost_total")) {
			unit = metrics_sample_label(s, "unit");
			if (unit && !strcmp(unit, "flows"))
				r->lost_flows += s->value;
			else if (unit && !strcmp(unit, "records"))
				r->lost_records += s->value;
			else
				r->lost_datagrams += s->value;
		} else if (name_is(s, "weir_outlet_sequence_out_of_order_total")) {
			r->out_of_order += s->value;
		} else if (name_is(s, "weir_outlet_sequence_resets_total")) {
			r->resets += s->value;
		} else if (is_drop(s->name) || metrics_sample_label(s, "reason")) {
			const char *o = metrics_sample_label(s, "outcome");

			/* XDP outcomes per exporter: only the drops are losses. */
			if (o && !strstr(o, "drop"))
				continue;
			reasons_add(&r->drops, drop_reason(s, names[i], sizeof(names[0])),
				    s->value);
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct exporter_row *r = &rows[i];

		r->loss =
		    r->lost_flows + r->lost_records + r->lost_datagrams + reasons_total(&r->drops);
		if (strlen(r->addr) > width)
			width = strlen(r->addr);
	}
	qsort(rows, n, sizeof(*rows), by_loss);
	if (n) {
		fprintf(out,
			"Exporters (most loss first; LOST = sequence numbers that never came, "
			"lost before weir)\n  %-*s %12s %12s %12s %22s %8s %6s  %s\n",
			(int)width, "EXPORTER", "DATAGRAMS", "FLOWS", "STORED", "LOST", "LATE/DUP",
			"RESETS", "DROPPED OR NOT DECODED IN WEIR");
	}
	for (size_t i = 0; i < n && i < STATS_SUMMARY_MAX_EXPORTERS; i++) {
		const struct exporter_row *r = &rows[i];
		char lost[64] = "-";
		size_t at = 0;

		if (r->lost_flows)
			at += (size_t)snprintf(lost + at, sizeof(lost) - at, "%.0f flows ",
					       r->lost_flows);
		if (r->lost_records)
			at += (size_t)snprintf(lost + at, sizeof(lost) - at, "%.0f records ",
					       r->lost_records);
		if (r->lost_datagrams && at < sizeof(lost))
			at += (size_t)snprintf(lost + at, sizeof(lost) - at, "%.0f datagrams ",
					       r->lost_datagrams);
		if (at && at < sizeof(lost))
			lost[at - 1] = 0;
		fprintf(out, "  %-*s %12.0f %12.0f %12.0f %22s %8.0f %6.0f ", (int)width, r->addr,
			r->datagrams, r->flows, r->stored, lost, r->out_of_order, r->resets);
		reasons_print(&r->drops, out);
		fputc('\n', out);
	}
	if (n > STATS_SUMMARY_MAX_EXPORTERS)
		fprintf(out, "  ... and %zu more exporters\n", n - STATS_SUMMARY_MAX_EXPORTERS);
	if (n)
		fputc('\n', out);
	free(rows);
	return 0;
}

/* ---- store, outlet, enrichment ---- */

/* "  title: a=n b=n" of the listed metrics present (sum over labels). */
static void print_line(const struct metrics_text *m, FILE *out, const char *title,
		       const char *const *names, const char *const *shown, size_t count)
{
	int any = 0;

	for (size_t i = 0; i < count; i++) {
		if (!has(m, names[i]))
			continue;
		if (!any)
			fprintf(out, "  %s:", title);
		fprintf(out, " %s=%.0f", shown[i], sum(m, names[i], NULL, NULL));
		any = 1;
	}
	if (any)
		fputc('\n', out);
}

static void print_store(const struct metrics_text *m, FILE *out)
{
	static const char *const store[] = {
	    "weir_store_rows_inserted_total", "weir_store_batches_total",
	    "weir_store_insert_errors_total", "weir_store_insert_retries_total",
	    "weir_store_pending_rows",
	};
	static const char *const store_shown[] = {"rows", "batches", "errors", "retries",
						  "pending_rows"};
	static const char *const outlet[] = {
	    "weir_outlet_flushes_total",       "weir_outlet_flush_errors_total",
	    "weir_outlet_flows_dropped_total", "weir_outlet_parked_total",
	    "weir_outlet_unparked_total",      "weir_outlet_park_dropped_total",
	};
	static const char *const outlet_shown[] = {"flushes", "flush_errors", "flows_dropped",
						   "parked",  "unparked",     "park_dropped"};

	if (!has(m, "weir_store_") && !has(m, "weir_outlet_"))
		return;
	fputs("Store\n", out);
	print_line(m, out, "ClickHouse", store, store_shown, N(store));
	print_line(m, out, "outlet", outlet, outlet_shown, N(outlet));
	fputc('\n', out);
}

static void print_enrich(const struct metrics_text *m, FILE *out)
{
	const char *results[MAX_GROUPS];
	size_t n = distinct(m, "weir_enrich_flows_total", "result", results, MAX_GROUPS);
	static const char *const snmp[] = {"weir_enrich_snmp_requests_total",
					   "weir_enrich_snmp_timeouts_total",
					   "weir_enrich_classifier_errors_total"};
	static const char *const snmp_shown[] = {"snmp_requests", "snmp_timeouts",
						 "classifier_errors"};

	if (!n && !has(m, "weir_enrich_"))
		return;
	fputs("Enrichment\n", out);
	if (n) {
		fputs("  flows:", out);
		for (size_t i = 0; i < n; i++)
			fprintf(out, " %s=%.0f", results[i],
				sum(m, "weir_enrich_flows_total", "result", results[i]));
		fputc('\n', out);
	}
	print_line(m, out, "lookups", snmp, snmp_shown, N(snmp));
	fputc('\n', out);
}

int stats_summary_write(const struct metrics_text *m, FILE *out)
{
	/* A reason's text per sample: the reasons lists point into it. */
	char(*names)[64] = calloc(m->count + 1, sizeof(*names));
	int r;

	if (!names)
		return -ENOMEM;
	print_inputs(m, out, names);
	print_rings(m, out);
	r = print_exporters(m, out, names);
	print_store(m, out);
	print_enrich(m, out);
	free(names);
	return r;
}
