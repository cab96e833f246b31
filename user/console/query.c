// SPDX-License-Identifier: AGPL-3.0-or-later
/* The API requests that read ClickHouse: graph/line, graph/sankey,
 * graph/table-interval, filter/complete and the widgets. Runs on a console
 * worker. SQL is built from the schema table and the filter printer only:
 * request values reach it as numbers the server printed, or through
 * filter_quote(). Written for ClickHouse 18.16 and later (no
 * toStartOfInterval, no window functions, no WITH FILL). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "console_internal.h"
#include "filter.h"

#define MAX_POINTS 2000
#define MAX_ROWS   1000000

/* ---- time ---- */

int console_parse_time(const char *s, int64_t *out)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, sec, n = 0;
	int64_t t;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
	    n != 19)
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970 ||
	    y > 9999)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm);
	s += 19;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			;
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int oh, om, k = 0;

		if (sscanf(s + 1, "%2d:%2d%n", &oh, &om, &k) != 2 || k != 5 || oh > 23 || om > 59)
			return -EINVAL;
		t -= (*s == '+' ? 1 : -1) * (int64_t)(oh * 3600 + om * 60);
		s += 6;
	} else {
		return -EINVAL;
	}
	if (*s)
		return -EINVAL;
	*out = t;
	return 0;
}

void console_format_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- SQL text ---- */

struct sql {
	struct buf b;
};

static void add(struct sql *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct sql *q, const char *fmt, ...)
{
	va_list ap;
	char small[512];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < (int)sizeof(small)) {
		buf_append(&q->b, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);

	if (!big) {
		q->b.nomem = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf_append(&q->b, big, (size_t)n);
	free(big);
}

static void add_quoted(struct sql *q, const char *s, size_t n)
{
	char *buf = malloc(4 * n + 3);

	if (!buf) {
		q->b.nomem = 1;
		return;
	}
	buf_append(&q->b, buf, filter_quote(s, n, buf));
	free(buf);
}

/* ---- TabSeparated answers ---- */

/* Unescapes one TSV field in place; returns its length. */
static size_t tsv_unescape(char *s)
{
	size_t o = 0;

	for (size_t i = 0; s[i]; i++) {
		if (s[i] != '\\' || !s[i + 1]) {
			s[o++] = s[i];
			continue;
		}
		switch (s[++i]) {
		case 't':
			s[o++] = '\t';
			break;
		case 'n':
			s[o++] = '\n';
			break;
		case 'r':
			s[o++] = '\r';
			break;
		case '0':
			break; /* NUL padding of FixedString: dropped */
		case 'b':
			s[o++] = '\b';
			break;
		case 'f':
			s[o++] = '\f';
			break;
		default:
			s[o++] = s[i];
		}
	}
	s[o] = '\0';
	return o;
}

/* Splits the answer into lines and fields (in place): calls fn for each
 * line with its fields. */
typedef int (*row_fn)(void *ctx, char **f, size_t n);
static int tsv_rows(char *text, size_t want, row_fn fn, void *ctx)
{
	char *line = text, *f[32];
	size_t rows = 0;

	while (line && *line) {
		char *nl = strchr(line, '\n');
		size_t n = 0;

		if (nl)
			*nl = '\0';
		for (char *p = line; p && n < 32;) {
			char *tab = strchr(p, '\t');

			if (tab)
				*tab = '\0';
			f[n++] = p;
			p = tab ? tab + 1 : NULL;
		}
		for (size_t i = 0; i < n; i++)
			tsv_unescape(f[i]);
		if (n != want || ++rows > MAX_ROWS)
			return -EIO;
		int r = fn(ctx, f, n);

		if (r < 0)
			return r;
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

/* ---- what the request names ---- */

struct table {
	const char *name;
	int64_t resolution;
};
static const struct table tables[] = {
    {"flows", 1}, {"flows_1m", 60}, {"flows_5m", 300}, {"flows_1h", 3600}};

static uint64_t retention_s(const struct store_config *store, size_t t)
{
	const uint64_t ms[] = {store->retention.flows, store->retention.flows_1m,
			       store->retention.flows_5m, store->retention.flows_1h};
	return ms[t] / 1000;
}

/* Whether table t still holds `from` (its retention, 0 = everything). */
static int table_covers(const struct store_config *store, size_t t, int64_t from)
{
	uint64_t keep = retention_s(store, t);

	return !keep || from >= (int64_t)time(NULL) - (int64_t)keep;
}

/* The coarsest table whose resolution fits `want` seconds per point (as
 * Akvorado's getBestTable: resolution <= (end - start) / points), that
 * covers `start` and holds every column (consolidated = 0 forces flows);
 * else the finest that covers start and holds the columns. */
static size_t choose_table(const struct store_config *store, int64_t start, int64_t want,
			   int consolidated)
{
	size_t best = 0;
	int found = 0;

	if (!consolidated)
		return 0;
	for (size_t t = 3; t >= 1; t--) {
		if (!table_covers(store, t, start))
			continue;
		if (tables[t].resolution <= want)
			return t;
		best = t;
		found = 1;
	}
	return found ? best : 0;
}

/* The request's common part (graphCommonHandlerInput). */
struct graph_req {
	int64_t start, end;
	const struct filter_column *dims[16];
	size_t ndims;
	uint64_t limit;
	int limit_type;	     /* 0 avg, 1 max, 2 last */
	char *filter_sql[2]; /* direct, reverse */
	int filter_consolidated;
	const char *units;
	int64_t points;
	int bidirectional, previous;
	int trunc4, trunc6; /* truncate-v4 (0..32), truncate-v6 (0..128); 32/128 = none */
	int tenant_consolidated;
};

static void graph_req_fini(struct graph_req *g)
{
	free(g->filter_sql[0]);
	free(g->filter_sql[1]);
}

static const char *const units_names[] = {"l3bps", "l2bps", "pps", "fps", "inl2%", "outl2%", NULL};

/* Member `key` of `j`: an integer in [0, max] (absent, null or 0 = max).
 * Returns 0 with *out, or -EINVAL. */
static int int_field(const struct json *j, const char *key, int max, int *out)
{
	const struct json *v = json_get(j, key);

	*out = max;
	if (!v || v->type == JSON_NULL)
		return 0;
	if (v->type != JSON_NUMBER || !(v->number >= 0 && v->number <= max) ||
	    v->number != floor(v->number))
		return -EINVAL;
	if (v->number > 0)
		*out = (int)v->number;
	return 0;
}

/* Parses the JSON body into g; on a bad request fills `a` (400) and
 * returns -EINVAL. */
static int graph_req_parse(const struct console_config *cfg, const struct console_job *job,
			   struct graph_req *g, struct console_answer *a, int need_dims)
{
	struct json *j = NULL;
	char jerr[128];
	const struct json *v;
	struct filter *f = NULL;
	struct filter_error fe;
	int ret = -EINVAL;

	memset(g, 0, sizeof(*g));
	g->tenant_consolidated = job->tenant_consolidated;
	if (json_parse(job->body, job->body_len, &j, jerr, sizeof(jerr)) < 0) {
		console_answer_error(a, 400, "%s", jerr);
		return -EINVAL;
	}
	if (j->type != JSON_OBJECT) {
		console_answer_error(a, 400, "an object is expected");
		goto out;
	}
	v = json_get(j, "start");
	if (!v || v->type != JSON_STRING || console_parse_time(v->str, &g->start) < 0) {
		console_answer_error(a, 400, "start: an RFC 3339 time is required");
		goto out;
	}
	v = json_get(j, "end");
	if (!v || v->type != JSON_STRING || console_parse_time(v->str, &g->end) < 0) {
		console_answer_error(a, 400, "end: an RFC 3339 time is required");
		goto out;
	}
	if (g->end <= g->start) {
		console_answer_error(a, 400, "end must be after start");
		goto out;
	}
	v = json_get(j, "dimensions");
	if (v && v->type != JSON_ARRAY && v->type != JSON_NULL) {
		console_answer_error(a, 400, "dimensions: an array is expected");
		goto out;
	}
	for (size_t i = 0; v && v->type == JSON_ARRAY && i < v->n; i++) {
		const struct json *d = &v->kids[i];
		const struct filter_column *c =
		    d->type == JSON_STRING ? filter_column_find(d->str, d->len) : NULL;

		if (!c || !(c->flags & FILTER_COL_DIMENSION)) {
			console_answer_error(a, 400, "dimensions: unknown dimension %.64s",
					     d->type == JSON_STRING ? d->str : "?");
			goto out;
		}
		if (g->ndims == sizeof(g->dims) / sizeof(g->dims[0])) {
			console_answer_error(a, 400, "dimensions: too many");
			goto out;
		}
		g->dims[g->ndims++] = c;
	}
	if (need_dims && !g->ndims) {
		console_answer_error(a, 400, "At least one dimension is required.");
		goto out;
	}
	v = json_get(j, "limit");
	g->limit = v && v->type == JSON_NUMBER ? (uint64_t)fmax(0, v->number) : 10;
	if (g->limit < 1 || g->limit > cfg->dimensions_limit) {
		console_answer_error(a, 400, "limit: between 1 and %llu",
				     (unsigned long long)cfg->dimensions_limit);
		goto out;
	}
	v = json_get(j, "limitType");
	if (v && v->type == JSON_STRING && strcmp(v->str, "avg")) {
		if (!strcmp(v->str, "max"))
			g->limit_type = 1;
		else if (!strcmp(v->str, "last"))
			g->limit_type = 2;
		else {
			console_answer_error(a, 400, "limitType: avg, max or last");
			goto out;
		}
	}
	v = json_get(j, "units");
	g->units = "l3bps";
	if (v && v->type == JSON_STRING) {
		g->units = NULL;
		for (size_t i = 0; units_names[i]; i++)
			if (!strcmp(v->str, units_names[i]))
				g->units = units_names[i];
		if (!g->units) {
			console_answer_error(a, 400,
					     "units: l3bps, l2bps, pps, fps, inl2%% or outl2%%");
			goto out;
		}
	}
	v = json_get(j, "points");
	g->points = v && v->type == JSON_NUMBER ? (int64_t)v->number : 200;
	if (g->points < 5 || g->points > MAX_POINTS) {
		console_answer_error(a, 400, "points: between 5 and %d", MAX_POINTS);
		goto out;
	}
	/* As Akvorado: 0 (or absent) and 32/128 mean no truncation. */
	if (int_field(j, "truncate-v4", 32, &g->trunc4) < 0) {
		console_answer_error(a, 400, "truncate-v4: an integer between 0 and 32");
		goto out;
	}
	if (int_field(j, "truncate-v6", 128, &g->trunc6) < 0) {
		console_answer_error(a, 400, "truncate-v6: an integer between 0 and 128");
		goto out;
	}
	v = json_get(j, "bidirectional");
	g->bidirectional = v && v->type == JSON_BOOL && v->boolean;
	v = json_get(j, "previous-period");
	g->previous = v && v->type == JSON_BOOL && v->boolean;
	v = json_get(j, "filter");
	if (v && v->type != JSON_STRING && v->type != JSON_NULL) {
		console_answer_error(a, 400, "filter: a string is expected");
		goto out;
	}
	if (filter_parse(v && v->type == JSON_STRING ? v->str : "",
			 v && v->type == JSON_STRING ? v->len : 0, &f, &fe) < 0) {
		console_answer_error(a, 400, "filter: %s (line %d, column %d)", fe.message, fe.line,
				     fe.column);
		goto out;
	}
	g->filter_consolidated = filter_consolidated(f);
	if (filter_sql(f, 0, &g->filter_sql[0]) < 0 || filter_sql(f, 1, &g->filter_sql[1]) < 0) {
		ret = -ENOMEM;
		goto out;
	}
	ret = 0;
out:
	filter_free(f);
	json_free(j);
	if (ret < 0)
		graph_req_fini(g);
	return ret;
}

/* The value summed per row for `units`, per second comes later. */
static const char *units_sql(const char *units, int reverse)
{
	if (!strcmp(units, "l2bps"))
		return "(Bytes + 38 * Packets) * SamplingRate * 8";
	if (!strcmp(units, "pps"))
		return "Packets * SamplingRate";
	if (!strcmp(units, "fps"))
		return "1";
	if (!strcmp(units, "inl2%") || !strcmp(units, "outl2%")) {
		int in = !strcmp(units, "inl2%") ^ reverse;

		return in ? "if(InIfSpeed = 0, 0, (Bytes + 38 * Packets) * SamplingRate * 8 * 100 "
			    "/ "
			    "(InIfSpeed * 1000000))"
			  : "if(OutIfSpeed = 0, 0, (Bytes + 38 * Packets) * SamplingRate * 8 * 100 "
			    "/ "
			    "(OutIfSpeed * 1000000))";
	}
	return "Bytes * SamplingRate * 8";
}

static int units_percent(const char *units)
{
	return units[0] && units[strlen(units) - 1] == '%';
}

/* The aggregate of `units` over a group's rows (of those where `cond` holds
 * when not NULL): the sum, or for inl2%/outl2% the sum of each row's share
 * of its interface's speed divided by the interfaces of the group (as
 * Akvorado's COUNT(DISTINCT ExporterAddress, InIfName): the average
 * use of those interfaces, not their sum). Interfaces of unknown speed
 * count for nothing (Akvorado's answer is 0 for a group with one). */
static void add_units_agg(struct sql *q, const char *units, int reverse, const char *cond)
{
	const char *u = units_sql(units, reverse);

	if (!units_percent(units)) {
		if (cond)
			add(q, "SUM(if(%s, %s, 0))", cond, u);
		else
			add(q, "SUM(%s)", u);
		return;
	}
	const char *side = (!strcmp(units, "inl2%") ^ reverse) ? "In" : "Out";

	if (cond)
		add(q,
		    "(SUM(if(%s, %s, 0)) / greatest(uniqExactIf(ExporterAddress, %sIfName, %s AND "
		    "%sIfSpeed > 0), 1))",
		    cond, u, side, cond, side);
	else
		add(q,
		    "(SUM(%s) / greatest(uniqExactIf(ExporterAddress, %sIfName, %sIfSpeed > 0), "
		    "1))",
		    u, side, side);
}

static int units_consolidated(const char *units)
{
	return strcmp(units, "fps") != 0;
}

static const char *col_name(const struct filter_column *c, int reverse)
{
	return reverse ? c->reverse : c->name;
}

/* A transport port (SrcPort, DstPort; not the NAT ones): named with the
 * flow's protocol from the ports table (add_named). */
static int is_port(const struct filter_column *c)
{
	return c->type == FILTER_T_UINT && strstr(c->name, "Port") && !strstr(c->name, "NAT");
}

/* The value of column c (SQL `n`) as text in SQL. */
static void add_display_of(struct sql *q, const struct filter_column *c, const char *n)
{
	switch (c->type) {
	case FILTER_T_ADDR:
		add(q, "IPv6NumToString(%s)", n);
		return;
	case FILTER_T_MAC:
		add(q, "MACNumToString(%s)", n);
		return;
	default:
		add(q, "toString(%s)", n);
		return;
	}
}

/* Column c as text in SQL. */
static void add_display(struct sql *q, const struct filter_column *c, int reverse)
{
	add_display_of(q, c, col_name(c, reverse));
}

/* AS numbers for people: "15169: GOOGLE" from the asns table (filled by
 * the orchestrator, user/orchestrator/names.c), the number alone when it
 * has no name (and 'Other' stays 'Other'). `v` is SQL of the number as
 * text. Applied to the rows of an answer only (an outer SELECT), never per
 * row read. */
static void add_named(struct sql *q, const struct filter_column *c, const char *v)
{
	if (is_port(c)) {
		/* "port/proto" from add_label: "443/https" from the ports
		 * table (a Join keyed by Proto * 65536 + Port, filled by the
		 * orchestrator: the one list of port names), the port alone
		 * when it has no name for that protocol; 'Other' stays. */
		char p[160], k[400];

		snprintf(p, sizeof(p), "splitByChar('/', %s)", v);
		snprintf(k, sizeof(k),
			 "joinGet('ports', 'Name', toUInt32(toUInt32OrZero(%s[2]) * 65536 + "
			 "toUInt32OrZero(%s[1])))",
			 p, p);
		add(q, "if(length(%s) != 2, %s, if(%s = '', %s[1], concat(%s[1], '/', %s)))", p, v,
		    k, p, p, k);
		return;
	}
	if (c->type != FILTER_T_ASN) {
		add(q, "%s", v);
		return;
	}
	add(q,
	    "if(joinGet('asns', 'Name', toUInt32OrZero(%s)) = '', %s, concat(%s, ': ', "
	    "joinGet('asns', 'Name', toUInt32OrZero(%s))))",
	    v, v, v, v);
}

/* A dimension as the text add_named names: a port goes with its flow's
 * protocol ("53/17"), so that 53/udp and 53/tcp find their own names;
 * anything else as add_display. Rows that end up with the same label are
 * summed by wrap_named. */
static void add_label(struct sql *q, const struct filter_column *c, int reverse)
{
	if (!is_port(c)) {
		add_display(q, c, reverse);
		return;
	}
	add(q, "concat(toString(%s), '/', toString(Proto))", col_name(c, reverse));
}

/* Whether a dimension needs add_named: an AS number or a port. */
static int any_named(const struct filter_column *const *dims, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (dims[k]->type == FILTER_T_ASN || is_port(dims[k]))
			return 1;
	return 0;
}

/* `inner` (dimensions d0..dN-1 from add_label and v, no FORMAT) with the
 * AS numbers and ports among the dimensions named: SELECT `lead` n0..,
 * sum(v) AS vs FROM (inner) GROUP BY `lead` n0.. (the rows of one port
 * under several protocols that share a name become one). Frees inner. */
static void wrap_named(struct sql *q, const struct filter_column *const *dims, size_t n,
		       const char *lead, struct sql *inner)
{
	char d[16];

	add(q, "SELECT %s", lead);
	for (size_t k = 0; k < n; k++) {
		snprintf(d, sizeof(d), "d%zu", k);
		add(q, "%s", k ? ", " : "");
		add_named(q, dims[k], d);
		add(q, " AS n%zu", k);
	}
	add(q, ", sum(v) AS vs FROM (");
	buf_append(&q->b, inner->b.data ? inner->b.data : "", inner->b.len);
	if (inner->b.nomem)
		q->b.nomem = 1;
	add(q, ") GROUP BY %s", lead);
	for (size_t k = 0; k < n; k++)
		add(q, "%sn%zu", k ? ", " : "", k);
	free(inner->b.data);
	memset(inner, 0, sizeof(*inner));
}

/* The value for people ("15169", "TCP", "IPv4", "SA"...); AS numbers and
 * ports are named in SQL (add_named). */
static void render(const struct filter_column *c, const char *v, char *out, size_t size)
{
	unsigned long long n = strtoull(v, NULL, 10);

	switch (c->type) {
	case FILTER_T_ADDR:
		snprintf(out, size, "%s",
			 strncmp(v, "::ffff:", 7) == 0 && strchr(v, '.') ? v + 7 : v);
		return;
	case FILTER_T_ETYPE:
		snprintf(out, size, "%s", n == 0x800 ? "IPv4" : n == 0x86dd ? "IPv6" : v);
		return;
	case FILTER_T_PROTO: {
		const char *name = filter_proto_name((unsigned)n);

		if (!name) {
			snprintf(out, size, "%s", v);
			return;
		}
		size_t i;

		for (i = 0; name[i] && i + 1 < size; i++)
			out[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
		out[i] = '\0';
		return;
	}
	case FILTER_T_UINT:
		if (!strcmp(c->name, "TCPFlags") && n) {
			static const char letters[] = "FSRPAUEC";
			size_t k = 0;

			for (int b = 0; b < 8 && k + 1 < size; b++)
				if (n & (1u << b))
					out[k++] = letters[b];
			out[k] = '\0';
			return;
		}
		break;
	default:
		break;
	}
	snprintf(out, size, "%s", v);
}

/* ---- graph/line ---- */

struct series {
	char **vals; /* ndims rendered values */
	double *pts;
	double sum;
	double key; /* what rows are sorted by (limitType) */
	int other;
	int axis;
};

struct line {
	const struct graph_req *g;
	int64_t t0, interval;
	size_t npoints;
	struct series *s;
	size_t ns, cap;
	int axis;
	size_t ndims;
	int reverse;
};

static struct series *series_find(struct line *l, char **f)
{
	for (size_t i = 0; i < l->ns; i++) {
		struct series *s = &l->s[i];
		size_t k;

		if (s->axis != l->axis)
			continue;
		for (k = 0; k < l->ndims && !strcmp(s->vals[k], f[k]); k++)
			;
		if (k == l->ndims)
			return s;
	}
	if (l->ns == l->cap) {
		size_t nc = l->cap ? 2 * l->cap : 16;
		struct series *n = realloc(l->s, nc * sizeof(*n));

		if (!n)
			return NULL;
		l->s = n;
		l->cap = nc;
	}
	struct series *s = &l->s[l->ns];

	memset(s, 0, sizeof(*s));
	s->axis = l->axis;
	s->vals = calloc(l->ndims + 1, sizeof(char *));
	s->pts = calloc(l->npoints, sizeof(double));
	if (!s->vals || !s->pts) {
		free(s->vals);
		free(s->pts);
		return NULL;
	}
	s->other = l->ndims > 0;
	for (size_t k = 0; k < l->ndims; k++) {
		s->vals[k] = strdup(f[k]);
		if (!s->vals[k]) {
			for (size_t m = 0; m < k; m++)
				free(s->vals[m]);
			free(s->vals);
			free(s->pts);
			return NULL;
		}
		if (strcmp(f[k], "Other"))
			s->other = 0;
	}
	l->ns++;
	return s;
}

/* One answer line: t, the dimensions (raw text), the value. */
static int line_row(void *ctx, char **f, size_t n)
{
	struct line *l = ctx;
	int64_t t = strtoll(f[0], NULL, 10);
	char *vals[16], bufs[16][256];
	struct series *s;

	for (size_t k = 0; k < l->ndims; k++) {
		render(l->g->dims[k], f[1 + k], bufs[k], sizeof(bufs[k]));
		vals[k] = bufs[k];
	}
	s = series_find(l, vals);
	if (!s)
		return -ENOMEM;
	if (t >= l->t0 && (t - l->t0) / l->interval < (int64_t)l->npoints) {
		double v = strtod(f[n - 1], NULL);

		s->pts[(t - l->t0) / l->interval] += v;
		s->sum += v;
	}
	return 0;
}

/* The WHERE clause: time range, filter, tenant. */
static void add_where(struct sql *q, int64_t from, int64_t to, const char *filter,
		      const char *tenant)
{
	add(q, " WHERE TimeReceived >= toDateTime(%lld) AND TimeReceived < toDateTime(%lld) AND (",
	    (long long)from, (long long)to);
	buf_append(&q->b, filter, strlen(filter));
	add(q, ") AND (");
	buf_append(&q->b, tenant, strlen(tenant));
	add(q, ")");
}

/* SQL of hex text `h` (32 hex digits, an address) with its first `bits`
 * bits kept and the others zero. Text rather than bit operations: 18.16 has
 * neither IPv6CIDRToRange nor bitAnd on FixedString. */
static void add_hex_prefix(struct sql *q, const char *h, int bits)
{
	static const char zeros[] = "00000000000000000000000000000000";
	int nib = bits / 4, r = bits % 4;

	if (nib >= 32) {
		add(q, "%s", h);
		return;
	}
	add(q, "concat(substring(%s, 1, %d), ", h, nib);
	if (r)
		add(q,
		    "substring('0123456789ABCDEF', bitAnd(position('0123456789ABCDEF', "
		    "substring(%s, %d, 1)) - 1, %u) + 1, 1), ",
		    h, nib + 1, (0xFu << (4 - r)) & 0xFu);
	add(q, "'%.*s')", 32 - nib - (r ? 1 : 0), zeros);
}

/* Dimension k as grouped: the column, or for an address with truncate-v4/v6
 * (Akvorado's sourceSelect) the network of its prefix, still a
 * FixedString(16): IPv4-mapped addresses (::ffff:0:0/96) keep 96 +
 * truncate-v4 bits, the others truncate-v6. Filters still see the
 * addresses themselves. */
static void add_dim(struct sql *q, const struct graph_req *g, size_t k, int reverse)
{
	const struct filter_column *c = g->dims[k];
	const char *n = col_name(c, reverse);
	char h[80];

	if (!(c->flags & FILTER_COL_TRUNCATABLE) || (g->trunc4 == 32 && g->trunc6 == 128)) {
		add(q, "%s", n);
		return;
	}
	snprintf(h, sizeof(h), "hex(%s)", n);
	add(q, "toFixedString(unhex(if(substring(%s, 1, 24) = '00000000000000000000FFFF', ", h);
	add_hex_prefix(q, h, 96 + g->trunc4);
	add(q, ", ");
	add_hex_prefix(q, h, g->trunc6);
	add(q, ")), 16)");
}

static void add_dims_raw(struct sql *q, const struct graph_req *g, int reverse)
{
	for (size_t k = 0; k < g->ndims; k++) {
		add(q, "%s", k ? ", " : "");
		add_dim(q, g, k, reverse);
	}
}

static void add_rows_list(struct sql *q, const struct graph_req *g)
{
	for (size_t k = 0; k < g->ndims; k++)
		add(q, "%sr%zu", k ? ", " : "", k);
}

/* A coarser table than `table` to sum whole intervals of [from, to) from,
 * when one covers `from` (retention) and its whole intervals there span
 * at least half the range: sets [*in_from, *in_to) and returns its index,
 * else returns `table`. Its sums are those of `table` over the same rows
 * (the writer sums every table from the same flows), so a ranking by sum
 * reads a twelfth of the rows for the hours of a week on flows_5m. */
static size_t coarse_part(const struct store_config *store, size_t table, int64_t from, int64_t to,
			  int64_t *in_from, int64_t *in_to)
{
	if (!table)
		return table; /* `flows` holds columns the others do not */
	for (size_t t = 3; t > table; t--) {
		int64_t res = tables[t].resolution;

		if (!table_covers(store, t, from))
			continue;
		*in_from = (from + res - 1) / res * res;
		*in_to = to / res * res;
		if (*in_to > *in_from && (*in_to - *in_from) * 2 >= to - from)
			return t;
	}
	return table;
}

/* The dimensions as grouped, direct direction, named r0, r1...: "dim AS
 * r0, dim AS r1". */
static void add_rows_select(struct sql *q, const struct graph_req *g)
{
	for (size_t k = 0; k < g->ndims; k++) {
		add(q, "%s", k ? ", " : "");
		add_dim(q, g, k, 0);
		add(q, " AS r%zu", k);
	}
}

/* One part of the sum ranking: each tuple of the dimensions (r0...) and
 * its sum s over [from, to) of table tn, for add_top_rows's UNION ALL. */
static void add_top_part(struct sql *q, const struct graph_req *g, const char *tn, int64_t from,
			 int64_t to, const char *tenant)
{
	add(q, "SELECT ");
	add_rows_select(q, g);
	add(q, ", ");
	add_units_agg(q, g->units, 0, NULL);
	add(q, " AS s FROM %s", tn);
	add_where(q, from, to, g->filter_sql[0], tenant);
	add(q, " GROUP BY ");
	add_rows_list(q, g);
}

/* The rows shown (Akvorado's `rows`): the top `limit` tuples of the
 * dimensions as grouped, named r0..., of the direct direction over
 * [from, to) of `table`, ranked by limitType (avg: the sum; max: the
 * largest `interval`; last: the last interval). Ties go to the lower
 * values. A sum ranking takes the whole intervals of a coarser table
 * where one fits (coarse_part) and the edges from `table`. */
static void add_top_rows(struct sql *q, const struct store_config *store, const struct graph_req *g,
			 size_t table, int64_t from, int64_t to, int64_t interval,
			 const char *tenant)
{
	const char *tn = tables[table].name;
	int64_t in_from, in_to;
	size_t coarse =
	    g->limit_type == 0 ? coarse_part(store, table, from, to, &in_from, &in_to) : table;

	if (coarse != table) {
		add(q, "SELECT ");
		add_rows_list(q, g);
		add(q, " FROM (");
		add_top_part(q, g, tables[coarse].name, in_from, in_to, tenant);
		if (from < in_from) {
			add(q, " UNION ALL ");
			add_top_part(q, g, tn, from, in_from, tenant);
		}
		if (in_to < to) {
			add(q, " UNION ALL ");
			add_top_part(q, g, tn, in_to, to, tenant);
		}
		add(q, ") GROUP BY ");
		add_rows_list(q, g);
		add(q, " ORDER BY SUM(s) DESC, ");
		add_rows_list(q, g);
		add(q, " LIMIT %llu", (unsigned long long)g->limit);
		return;
	}
	add(q, "SELECT ");
	if (g->limit_type == 1) {
		add_rows_list(q, g);
		add(q, " FROM (SELECT ");
	}
	add_rows_select(q, g);
	if (g->limit_type == 1) {
		add(q, ", intDiv(toUInt32(TimeReceived), %lld) AS tt, ", (long long)interval);
		add_units_agg(q, g->units, 0, NULL);
		add(q, " AS s");
	}
	add(q, " FROM %s", tn);
	add_where(q, from, to, g->filter_sql[0], tenant);
	add(q, " GROUP BY ");
	add_rows_list(q, g);
	if (g->limit_type == 1) {
		add(q, ", tt) GROUP BY ");
		add_rows_list(q, g);
		add(q, " ORDER BY max(s) DESC, ");
	} else if (g->limit_type == 2) {
		char cond[64];

		snprintf(cond, sizeof(cond), "TimeReceived >= toDateTime(%lld)",
			 (long long)(to - interval));
		add(q, " ORDER BY ");
		add_units_agg(q, g->units, 0, cond);
		add(q, " DESC, ");
	} else {
		add(q, " ORDER BY ");
		add_units_agg(q, g->units, 0, NULL);
		add(q, " DESC, ");
	}
	add_rows_list(q, g);
	add(q, " LIMIT %llu", (unsigned long long)g->limit);
}

/* The top rows as SQL literals, fetched once per answer (add_top_rows)
 * rather than as a subquery in each query that tests them: the reverse
 * axis and each sankey dimension would read the table again for them.
 * tuples: "(a, b), (c, d)" for (dims) IN (...); dim[k]: "a, c" for one
 * dimension (repeats are harmless in a set); n: the rows. */
struct top {
	const struct graph_req *g;
	struct sql tuples, dim[16];
	size_t n;
};

static void top_fini(struct top *t)
{
	free(t->tuples.b.data);
	for (size_t k = 0; k < sizeof(t->dim) / sizeof(t->dim[0]); k++)
		free(t->dim[k].b.data);
}

/* Value `v` of column c (as top_fetch selects it) as a typed literal into
 * q: an address from its 32 hex digits as a FixedString(16) literal
 * ('\xHH'...), a string or an enum quoted, a number checked to be digits.
 * Returns 0, or -EIO for anything else. */
static int add_literal(struct sql *q, const struct filter_column *c, const char *v)
{
	size_t n = strlen(v);

	switch (c->type) {
	case FILTER_T_ADDR:
		if (n != 32 || strspn(v, "0123456789ABCDEF") != 32)
			return -EIO;
		add(q, "'");
		for (size_t i = 0; i < 32; i += 2)
			add(q, "\\x%c%c", v[i], v[i + 1]);
		add(q, "'");
		return 0;
	case FILTER_T_STRING:
	case FILTER_T_BOUNDARY:
	case FILTER_T_DIRECTION:
		add_quoted(q, v, n);
		return 0;
	default:
		if (!n || n > 20 || strspn(v, "0123456789") != n)
			return -EIO;
		add(q, "%s", v);
		return 0;
	}
}

static int top_literal_row(void *ctx, char **f, size_t n)
{
	struct top *t = ctx;

	add(&t->tuples, "%s(", t->n ? ", " : "");
	for (size_t k = 0; k < n; k++) {
		add(&t->tuples, "%s", k ? ", " : "");
		add(&t->dim[k], "%s", t->n ? ", " : "");
		if (add_literal(&t->tuples, t->g->dims[k], f[k]) < 0 ||
		    add_literal(&t->dim[k], t->g->dims[k], f[k]) < 0)
			return -EIO;
	}
	add(&t->tuples, ")");
	t->n++;
	return 0;
}

/* Runs q (kept, not freed) into *out, its SQL appended to all_sql (the
 * X-SQL-Query header, statements joined by "; "); a failure answers 500 with
 * ClickHouse's error. Returns 0 or -errno (-ENOMEM, nothing run, when q could
 * not be built whole). */
static int run_logged(struct store_client *ch, const struct sql *q, struct sql *all_sql, char **out,
		      struct console_answer *a)
{
	int ret;

	if (q->b.nomem)
		return -ENOMEM;
	if (all_sql->b.len)
		add(all_sql, "; ");
	buf_append(&all_sql->b, q->b.data, q->b.len);
	ret = store_client_query(ch, q->b.data, out);
	if (ret < 0)
		console_answer_error(a, 500, "ClickHouse: %.400s", store_client_error(ch));
	return ret;
}

/* Runs the top rows' query (its SQL appended to all_sql) into *t. Returns
 * 0, or -errno with `a` filled. */
static int top_fetch(struct store_client *ch, const struct store_config *store,
		     const struct graph_req *g, size_t table, int64_t from, int64_t to,
		     int64_t interval, const char *tenant, struct sql *all_sql, struct top *t,
		     struct console_answer *a)
{
	struct sql q = {0};
	char *out = NULL;
	int ret;

	memset(t, 0, sizeof(*t));
	t->g = g;
	add(&q, "SELECT ");
	for (size_t k = 0; k < g->ndims; k++)
		add(&q, g->dims[k]->type == FILTER_T_ADDR ? "%shex(r%zu)" : "%sr%zu", k ? ", " : "",
		    k);
	add(&q, " FROM (");
	add_top_rows(&q, store, g, table, from, to, interval, tenant);
	add(&q, ") FORMAT TabSeparated");
	ret = run_logged(ch, &q, all_sql, &out, a);
	free(q.b.data);
	if (ret < 0)
		return ret;
	ret = tsv_rows(out, g->ndims, top_literal_row, t);
	free(out);
	if (ret == 0 && t->tuples.b.nomem)
		ret = -ENOMEM;
	for (size_t k = 0; ret == 0 && k < g->ndims; k++)
		if (t->dim[k].b.nomem)
			ret = -ENOMEM;
	if (ret < 0)
		console_answer_error(a, 500, "unexpected answer from ClickHouse");
	return ret;
}

/* SQL true when the dimensions (`k` < 0: all as a tuple, else dimension
 * k alone) are among the top rows: an IN of literals, 0 when there are
 * none. */
static void add_in_top(struct sql *q, const struct graph_req *g, const struct top *t, int k,
		       int reverse)
{
	const struct sql *set = k < 0 ? &t->tuples : &t->dim[k];

	if (!t->n) {
		add(q, "0");
		return;
	}
	add(q, "(");
	if (k < 0)
		add_dims_raw(q, g, reverse);
	else
		add_dim(q, g, (size_t)k, reverse);
	add(q, ") IN (");
	buf_append(&q->b, set->b.data, set->b.len);
	add(q, ")");
}

/* Dimension k as grouped before it is shown: the value of add_dim (a
 * number stays a number), for a port its label with the protocol, for an
 * enum its name (18.16's if() takes no Enum8). */
static void add_key_value(struct sql *q, const struct graph_req *g, size_t k, int reverse)
{
	if (is_port(g->dims[k]) || g->dims[k]->type == FILTER_T_BOUNDARY ||
	    g->dims[k]->type == FILTER_T_DIRECTION)
		add_label(q, g->dims[k], reverse);
	else
		add_dim(q, g, k, reverse);
}

/* The grouping keys of a query that splits the top rows from Other: wo
 * (per_dim: wo0, wo1...), whether the row is among the top rows (all the
 * dimensions as a tuple, or per_dim each alone), and wk0..., each
 * dimension's value, or its type's default outside the top rows, so that
 * Other is one group. Grouped as numbers, made text by add_shown on the
 * answer's rows only: grouping by text costs three times as much. */
static void add_keys(struct sql *q, const struct graph_req *g, const struct top *t, int per_dim,
		     int reverse)
{
	if (!per_dim) {
		add(q, ", ");
		add_in_top(q, g, t, -1, reverse);
		add(q, " AS wo");
	}
	for (size_t k = 0; k < g->ndims; k++) {
		if (per_dim) {
			add(q, ", ");
			add_in_top(q, g, t, (int)k, reverse);
			add(q, " AS wo%zu", k);
			add(q, ", if(wo%zu, ", k);
		} else {
			add(q, ", if(wo, ");
		}
		add_key_value(q, g, k, reverse);
		add(q, ", defaultValueOfArgumentType(");
		add_key_value(q, g, k, reverse);
		add(q, ")) AS wk%zu", k);
	}
}

/* add_keys's names, for GROUP BY: `lead` then the names, comma-separated. */
static void add_key_list(struct sql *q, const struct graph_req *g, int per_dim, const char *lead)
{
	add(q, "%s", lead);
	if (!per_dim)
		add(q, "wo");
	for (size_t k = 0; k < g->ndims; k++)
		if (per_dim)
			add(q, "%swo%zu, wk%zu", k ? ", " : "", k, k);
		else
			add(q, ", wk%zu", k);
}

/* d0...: each dimension of add_keys's rows as text ('Other' outside the
 * top rows), as add_display_dim shows it. */
static void add_shown(struct sql *q, const struct graph_req *g, int per_dim)
{
	char wk[16];

	for (size_t k = 0; k < g->ndims; k++) {
		const struct filter_column *c = g->dims[k];

		snprintf(wk, sizeof(wk), "wk%zu", k);
		if (per_dim)
			add(q, "%sif(wo%zu, ", k ? ", " : "", k);
		else
			add(q, "%sif(wo, ", k ? ", " : "");
		if (is_port(c))
			add(q, "%s", wk);
		else if (c->type == FILTER_T_ADDR)
			add(q, "IPv6NumToString(%s)", wk);
		else
			add_display_of(q, c, wk);
		add(q, ", 'Other') AS d%zu", k);
	}
}

/* Runs one axis's query (top-N plus Other per interval). */
static int line_axis(struct store_client *ch, const struct graph_req *g, const char *tenant,
		     size_t table, const struct top *top, struct line *l, int axis, int reverse,
		     int64_t shift, struct sql *all_sql, struct console_answer *a)
{
	struct sql q = {0};
	const char *tn = tables[table].name;
	int64_t from = l->t0 - shift, to = l->t0 + (int64_t)l->npoints * l->interval - shift;
	char *out = NULL;
	int ret;

	int split = axis <= 2 && g->ndims; /* top rows and Other */

	if (split) {
		add(&q, "SELECT t, ");
		add_shown(&q, g, 0);
		add(&q, ", v FROM (");
	}
	add(&q, "SELECT intDiv(toUInt32(TimeReceived) + %lld, %lld) * %lld AS t", (long long)shift,
	    (long long)l->interval, (long long)l->interval);
	/* As Akvorado, the reverse axis shows the rows of the direct one
	 * (their values, now on the reversed columns). */
	if (split)
		add_keys(&q, g, top, 0, reverse);
	add(&q, ", ");
	add_units_agg(&q, g->units, reverse, NULL);
	add(&q, " / %lld AS v FROM %s", (long long)l->interval, tn);
	add_where(&q, from, to, g->filter_sql[reverse], tenant);
	add(&q, " GROUP BY t");
	if (split) {
		add_key_list(&q, g, 0, ", ");
		add(&q, ")");
	}
	if (split && any_named(g->dims, g->ndims)) {
		struct sql inner = q;

		memset(&q, 0, sizeof(q));
		wrap_named(&q, g->dims, g->ndims, "t, ", &inner);
	}
	add(&q, " ORDER BY t FORMAT TabSeparated");
	ret = run_logged(ch, &q, all_sql, &out, a);
	free(q.b.data);
	if (ret < 0)
		return ret;
	l->axis = axis;
	l->ndims = axis <= 2 ? g->ndims : 0;
	ret = tsv_rows(out, 2 + l->ndims, line_row, l);
	free(out);
	/* The previous period is one total line, zeros when there was nothing. */
	if (ret == 0 && axis >= 3 && !series_find(l, NULL))
		ret = -ENOMEM;
	if (ret < 0)
		console_answer_error(a, 500, "unexpected answer from ClickHouse");
	return ret;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmp_series(const void *pa, const void *pb)
{
	const struct series *a = pa, *b = pb;

	if (a->axis != b->axis)
		return a->axis - b->axis;
	if (a->other != b->other)
		return a->other - b->other;
	if (a->key != b->key)
		return a->key > b->key ? -1 : 1;
	if (a->sum != b->sum)
		return a->sum > b->sum ? -1 : 1;
	return 0;
}

/* The value of the last complete interval. */
static double series_last(const struct series *s, size_t n, int last_complete)
{
	return n >= 2 && !last_complete ? s->pts[n - 2] : s->pts[n - 1];
}

/* Akvorado's nearestPeriod(): the previous hour for less than 2 hours, day
 * for less than 2 days, week for less than 2 weeks, "month" (4 weeks) for
 * less than 8 weeks, else the same dates a year before `start`. */
static void previous_name(int64_t start, int64_t range, int64_t *shift, const char **name)
{
	if (range < 2 * 3600) {
		*shift = 3600;
		*name = "Previous hour";
	} else if (range < 2 * 86400) {
		*shift = 86400;
		*name = "Previous day";
	} else if (range < 14 * 86400) {
		*shift = 7 * 86400;
		*name = "Previous week";
	} else if (range < 56 * 86400) {
		*shift = 28 * 86400;
		*name = "Previous month";
	} else {
		time_t t = (time_t)start;
		struct tm tm;

		gmtime_r(&t, &tm);
		tm.tm_year--;
		*shift = start - (int64_t)timegm(&tm);
		*name = "Previous year";
	}
}

/* The interval and the table for a range: a multiple of the table's
 * resolution, at least (end - start) / points. */
static void plan(const struct store_config *store, const struct graph_req *g, int64_t from,
		 size_t *table, int64_t *interval)
{
	int64_t want = (g->end - g->start) / g->points;
	/* The tenant's filter is part of every WHERE: its columns count too. */
	int cons = g->filter_consolidated && g->tenant_consolidated && units_consolidated(g->units);

	for (size_t k = 0; k < g->ndims; k++)
		if (!(g->dims[k]->flags & FILTER_COL_CONSOLIDATED))
			cons = 0;
	if (want < 1)
		want = 1;
	*table = choose_table(store, from, want, cons);
	int64_t res = tables[*table].resolution;

	*interval = (want + res - 1) / res * res;
	if (*interval < 60 && *table == 0)
		*interval = want < 60 ? (want < 1 ? 1 : want) : 60;
}

static int graph_line(const struct console_config *cfg, const struct store_config *store,
		      struct store_client *ch, const struct console_job *job,
		      struct console_answer *a, int table_only)
{
	struct graph_req g;
	struct line l = {0};
	struct top top = {0};
	struct sql all = {0};
	struct buf b = {0};
	size_t table, naxes;
	int64_t shift = 0;
	const char *prev = NULL;
	int ret, last_complete;

	ret = graph_req_parse(cfg, job, &g, a, 0);
	if (ret < 0)
		return 0;
	plan(store, &g, g.start, &table, &l.interval);
	if (table_only) {
		buf_printf(&b, "{\"table\":\"%s\",\"interval\":%lld}", tables[table].name,
			   (long long)l.interval);
		a->body = jb_take(&b, &a->body_len);
		graph_req_fini(&g);
		return 0;
	}
	l.g = &g;
	l.t0 = g.start / l.interval * l.interval;
	l.npoints = (size_t)((g.end - l.t0 + l.interval - 1) / l.interval);
	naxes = g.bidirectional ? 2 : 1;
	if (g.ndims)
		ret = top_fetch(ch, store, &g, table, l.t0, l.t0 + (int64_t)l.npoints * l.interval,
				l.interval, job->tenant_sql, &all, &top, a);
	for (size_t ax = 0; ax < naxes && ret == 0; ax++)
		ret = line_axis(ch, &g, job->tenant_sql, table, &top, &l, (int)ax + 1, (int)ax, 0,
				&all, a);
	if (g.previous && ret == 0) {
		size_t ptable;
		int64_t pint;

		previous_name(g.start, g.end - g.start, &shift, &prev);
		plan(store, &g, g.start - shift, &ptable, &pint);
		if (tables[ptable].resolution > l.interval)
			ptable = table;
		for (size_t ax = 0; ax < naxes && ret == 0; ax++)
			ret = line_axis(ch, &g, job->tenant_sql, ptable, &top, &l, (int)ax + 3,
					(int)ax, shift, &all, a);
	}
	if (ret < 0)
		goto out;
	last_complete = (l.t0 + (int64_t)l.npoints * l.interval) <= g.end;
	for (size_t i = 0; i < l.ns; i++) {
		struct series *sr = &l.s[i];

		/* JSON as Akvorado's: whole numbers (its int(xps)); CSV keeps
		 * the fractions. */
		if (!job->csv) {
			sr->sum = 0;
			for (size_t p = 0; p < l.npoints; p++) {
				sr->pts[p] = trunc(sr->pts[p]);
				sr->sum += sr->pts[p];
			}
		}
		sr->key = sr->sum;
		if (g.limit_type == 1)
			for (size_t p = 0, k = 1; p < l.npoints; p++, k = 0)
				sr->key = k || sr->pts[p] > sr->key ? sr->pts[p] : sr->key;
		else if (g.limit_type == 2)
			sr->key = series_last(sr, l.npoints, last_complete);
	}
	if (l.ns)
		qsort(l.s, l.ns, sizeof(l.s[0]), cmp_series);
	if (job->csv) {
		/* One line per series and interval: time, axis, dimensions, value. */
		char t[32];

		buf_append(&b, "time,axis", 9);
		for (size_t k = 0; k < g.ndims; k++)
			buf_printf(&b, ",%s", g.dims[k]->name);
		buf_append(&b, ",value\r\n", 8);
		for (size_t p = 0; p < l.npoints; p++)
			for (size_t i = 0; i < l.ns; i++) {
				console_format_time(l.t0 + (int64_t)p * l.interval, t, sizeof(t));
				buf_printf(&b, "%s,%d", t, l.s[i].axis);
				for (size_t k = 0; k < g.ndims; k++) {
					const char *v = l.s[i].axis <= 2 ? l.s[i].vals[k] : "Other";

					buf_append(&b, ",\"", 2);
					for (; *v; v++)
						buf_append(&b, *v == '"' ? "\"\"" : v,
							   *v == '"' ? 2 : 1);
					buf_append(&b, "\"", 1);
				}
				buf_append(&b, ",", 1);
				jb_num(&b, l.s[i].pts[p]);
				buf_append(&b, "\r\n", 2);
			}
		a->content_type = "text/csv; charset=utf-8";
	} else {
		/* The shape of Akvorado's graphLineHandlerOutput: rows sorted by
		 * axis, "Other" last, then by the limitType's measure; the
		 * previous period's line has "Other" for each dimension; names
		 * for the axes that have rows; no total for the % units. */
		char t[32];
		int axes[5] = {0};
		/* (Akvorado's omitempty: no total either when there is no row.) */
		int with_total = g.units[strlen(g.units) - 1] != '%' && l.ns;
		double *sorted = malloc((l.npoints + 1) * sizeof(double));

		if (!sorted) {
			ret = -ENOMEM;
			goto out;
		}
		buf_append(&b, "{\"t\":[", 6);
		for (size_t i = 0; i < l.npoints; i++) {
			console_format_time(l.t0 + (int64_t)i * l.interval, t, sizeof(t));
			buf_printf(&b, "%s\"%s\"", i ? "," : "", t);
		}
		buf_append(&b, "],\"rows\":[", 10);
		for (size_t i = 0; i < l.ns; i++) {
			buf_append(&b, i ? ",[" : "[", i ? 2 : 1);
			for (size_t k = 0; k < g.ndims; k++) {
				if (k)
					buf_append(&b, ",", 1);
				jb_cstr(&b, l.s[i].axis <= 2 ? l.s[i].vals[k] : "Other");
			}
			buf_append(&b, "]", 1);
			axes[l.s[i].axis] = 1;
		}
		buf_append(&b, "],\"points\":[", 12);
		for (size_t i = 0; i < l.ns; i++) {
			buf_append(&b, i ? ",[" : "[", i ? 2 : 1);
			for (size_t p = 0; p < l.npoints; p++) {
				if (p)
					buf_append(&b, ",", 1);
				jb_num(&b, l.s[i].pts[p]);
			}
			buf_append(&b, "]", 1);
		}
		buf_append(&b, "],\"axis\":[", 10);
		for (size_t i = 0; i < l.ns; i++)
			buf_printf(&b, "%s%d", i ? "," : "", l.s[i].axis);
		buf_append(&b, "],\"axis-names\":{", 16);
		for (int ax = 1, n = 0; ax <= 4; ax++) {
			if (!axes[ax])
				continue;
			buf_printf(&b, "%s\"%d\":\"%s\"", n++ ? "," : "", ax,
				   ax == 1   ? "Direct"
				   : ax == 2 ? "Reverse"
					     : prev);
		}
		buf_append(&b, "}", 1);
		static const char *const stats[] = {"average", "total", "min",
						    "max",     "last",	"95th"};
		for (int st = 0; st < 6; st++) {
			if (st == 1 && !with_total)
				continue;
			buf_printf(&b, ",\"%s\":[", stats[st]);
			for (size_t i = 0; i < l.ns; i++) {
				const double *p = l.s[i].pts;
				size_t n = l.npoints;
				double v = 0;

				switch (st) {
				case 0: /* as Akvorado: whole numbers, divided as integers */
					v = floor(l.s[i].sum / (double)n);
					break;
				case 1:
					v = l.s[i].sum * (double)l.interval;
					break;
				case 2:
					v = 0;
					for (size_t k = 0; k < n; k++)
						if (p[k] > 0 && (v == 0 || p[k] < v))
							v = p[k];
					break;
				case 3:
					for (size_t k = 0; k < n; k++)
						v = p[k] > v ? p[k] : v;
					break;
				case 4:
					v = series_last(&l.s[i], n, last_complete);
					break;
				case 5: {
					double r;
					size_t lo;

					memcpy(sorted, p, n * sizeof(double));
					qsort(sorted, n, sizeof(double), cmp_double);
					r = 0.95 * (double)(n - 1);
					lo = (size_t)r;
					v = lo + 1 < n
						? sorted[lo] + (r - (double)lo) *
								   (sorted[lo + 1] - sorted[lo])
						: sorted[lo];
					v = round(v);
					break;
				}
				}
				if (i)
					buf_append(&b, ",", 1);
				jb_num(&b, v);
			}
			buf_append(&b, "]", 1);
		}
		buf_append(&b, "}", 1);
		free(sorted);
	}
	a->body = jb_take(&b, &a->body_len);
	a->sql = jb_take(&all.b, &(size_t){0});
	if (!a->body)
		ret = -ENOMEM;
out:
	for (size_t i = 0; i < l.ns; i++) {
		for (size_t k = 0; l.s[i].vals && l.s[i].vals[k]; k++)
			free(l.s[i].vals[k]);
		free(l.s[i].vals);
		free(l.s[i].pts);
	}
	free(l.s);
	top_fini(&top);
	free(all.b.data);
	free(b.data);
	graph_req_fini(&g);
	return ret;
}

/* ---- graph/sankey ---- */

struct sankey {
	const struct graph_req *g;
	struct buf rows, xps, axis, nodes, links;
	int ax;
	int has_axis[3];
	size_t nrows;
	char **node_names;
	int *node_axis;
	size_t nnodes;
	struct link {
		char *src, *dst;
		double xps;
		int axis;
	} * l;
	size_t nl;
};

static int sankey_node(struct sankey *s, const char *name)
{
	for (size_t i = 0; i < s->nnodes; i++)
		if (s->node_axis[i] == s->ax && !strcmp(s->node_names[i], name))
			return 0;
	char **n = realloc(s->node_names, (s->nnodes + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	s->node_names = n;
	int *ax = realloc(s->node_axis, (s->nnodes + 1) * sizeof(*ax));

	if (!ax)
		return -ENOMEM;
	s->node_axis = ax;
	s->node_names[s->nnodes] = strdup(name);
	if (!s->node_names[s->nnodes])
		return -ENOMEM;
	s->node_axis[s->nnodes++] = s->ax;
	return 0;
}

static int sankey_row(void *ctx, char **f, size_t n)
{
	struct sankey *s = ctx;
	const struct graph_req *g = s->g;
	char names[16][300];
	double v = trunc(strtod(f[n - 1], NULL)); /* Akvorado's int(xps) */

	buf_append(&s->rows, s->nrows ? ",[" : "[", s->nrows ? 2 : 1);
	for (size_t k = 0; k < g->ndims; k++) {
		char r[256];

		render(g->dims[k], f[k], r, sizeof(r));
		if (k)
			buf_append(&s->rows, ",", 1);
		jb_cstr(&s->rows, r);
		snprintf(names[k], sizeof(names[k]), "%s: %s", col_name(g->dims[k], s->ax == 2), r);
		/* Nodes are the ends of links: none with one dimension. */
		if (g->ndims > 1 && sankey_node(s, names[k]) < 0)
			return -ENOMEM;
	}
	buf_append(&s->rows, "]", 1);
	buf_printf(&s->xps, "%s", s->nrows ? "," : "");
	jb_num(&s->xps, v);
	buf_printf(&s->axis, "%s%d", s->nrows ? "," : "", s->ax);
	s->has_axis[s->ax] = 1;
	s->nrows++;
	for (size_t k = 0; k + 1 < g->ndims; k++) {
		size_t i;

		for (i = 0; i < s->nl; i++)
			if (s->l[i].axis == s->ax && !strcmp(s->l[i].src, names[k]) &&
			    !strcmp(s->l[i].dst, names[k + 1]))
				break;
		if (i == s->nl) {
			struct link *nl = realloc(s->l, (s->nl + 1) * sizeof(*nl));

			if (!nl)
				return -ENOMEM;
			s->l = nl;
			s->l[i] = (struct link){strdup(names[k]), strdup(names[k + 1]), 0, s->ax};
			s->nl++;
			if (!s->l[i].src || !s->l[i].dst)
				return -ENOMEM;
		}
		s->l[i].xps += v;
	}
	return 0;
}

/* Groups a sankey may sum itself (sankey_all). */
#define SANKEY_ALL_MAX 10000

struct sankey_group {
	char **f;   /* ndims literals, then ndims texts (add_named) */
	uint64_t s; /* the sum of the units */
};

struct sankey_all_ctx {
	const struct graph_req *g;
	struct sankey_group *v;
	size_t n, cap;
};

static int sankey_all_row(void *ctx, char **f, size_t n)
{
	struct sankey_all_ctx *c = ctx;
	struct sankey_group *gr;

	if (c->n == c->cap)
		return -EIO;
	gr = &c->v[c->n];
	gr->f = calloc(n - 1, sizeof(char *));
	if (!gr->f)
		return -ENOMEM;
	c->n++;
	for (size_t k = 0; k + 1 < n; k++)
		if (!(gr->f[k] = strdup(f[k])))
			return -ENOMEM;
	gr->s = strtoull(f[n - 1], NULL, 10);
	return 0;
}

/* One shown tuple (each dimension's text or 'Other') and its sum. */
struct sankey_sum {
	const char *d[16];
	size_t n; /* dimensions */
	uint64_t s;
	double v;
};

static int cmp_sankey_key(const void *pa, const void *pb)
{
	const struct sankey_sum *a = pa, *b = pb;

	for (size_t k = 0; k < a->n; k++) {
		int r = strcmp(a->d[k], b->d[k]);

		if (r)
			return r;
	}
	return 0;
}

/* As the query orders them: v DESC, then the texts. */
static int cmp_sankey_v(const void *pa, const void *pb)
{
	const struct sankey_sum *a = pa, *b = pb;

	if (a->v != b->v)
		return a->v > b->v ? -1 : 1;
	return cmp_sankey_key(pa, pb);
}

/* The direct axis of a sankey in one read when it can: the top rows'
 * query without their LIMIT (every group of the dimensions with its sum,
 * up to SANKEY_ALL_MAX), the top `limit` first; the groups are then summed
 * here, each dimension outside the top rows' values as 'Other', as the
 * axis's own query would (same rows: same range, table and filter). Sums
 * are integers (not the % units), added as ClickHouse adds them (UInt64),
 * so the answer is the same. Fills *t (the top rows) in every case.
 * Returns 1 when the direct axis went into s, 0 when the query of the axis
 * is still to run (limitType max or last, a port, % units, too many
 * groups), or -errno with `a` filled. */
static int sankey_all(const struct store_config *store, struct store_client *ch,
		      const struct graph_req *g, size_t table, int64_t interval, const char *tenant,
		      struct sql *all_sql, struct top *t, struct sankey *sk,
		      struct console_answer *a)
{
	const char *tn = tables[table].name;
	struct sankey_all_ctx c = {g, NULL, 0};
	struct sankey_sum *sums = NULL;
	struct sql q = {0};
	const char *u = units_sql(g->units, 0);
	char *out = NULL, v[64];
	size_t nsums = 0;
	int failed = 0, ret = 0,
	    ok = g->limit_type == 0 && units_consolidated(g->units) && !units_percent(g->units);

	/* Within the embedded session's max_result_rows (console.c), which
	 * throws beyond it; above `limit`, for the top rows. */
	uint64_t most = store->query_endpoint.max_result_rows &&
				store->query_endpoint.max_result_rows < SANKEY_ALL_MAX
			    ? store->query_endpoint.max_result_rows
			    : SANKEY_ALL_MAX;

	for (size_t k = 0; k < g->ndims; k++)
		if (is_port(g->dims[k]))
			ok = 0;
	if (!ok || most <= g->limit)
		return top_fetch(ch, store, g, table, g->start, g->end, interval, tenant, all_sql,
				 t, a);
	memset(t, 0, sizeof(*t));
	t->g = g;
	add(&q, "SELECT ");
	for (size_t k = 0; k < g->ndims; k++) {
		add(&q, "%s", k ? ", " : "");
		if (g->dims[k]->type == FILTER_T_ADDR)
			add(&q, "hex(");
		add_dim(&q, g, k, 0);
		add(&q, " AS r%zu%s", k, g->dims[k]->type == FILTER_T_ADDR ? ")" : "");
	}
	for (size_t k = 0; k < g->ndims; k++) {
		struct sql d = {0};
		char rk[16];

		snprintf(rk, sizeof(rk), "r%zu", k);
		if (g->dims[k]->type == FILTER_T_ADDR)
			add(&d, "IPv6NumToString(%s)", rk);
		else
			add_display_of(&d, g->dims[k], rk);
		add(&q, ", ");
		add_named(&q, g->dims[k], d.b.data ? d.b.data : "''");
		if (d.b.nomem)
			q.b.nomem = 1;
		free(d.b.data);
	}
	add(&q, ", SUM(%s) AS s FROM %s", u, tn);
	add_where(&q, g->start, g->end, g->filter_sql[0], tenant);
	add(&q, " GROUP BY ");
	add_rows_list(&q, g);
	add(&q, " ORDER BY s DESC, ");
	add_rows_list(&q, g);
	add(&q, " LIMIT %llu FORMAT TabSeparated", (unsigned long long)most);
	c.v = calloc(most, sizeof(*c.v));
	c.cap = (size_t)most;
	if (q.b.nomem || !c.v) {
		ret = -ENOMEM;
		goto out;
	}
	ret = run_logged(ch, &q, all_sql, &out, a);
	if (ret < 0) {
		failed = 1;
		goto out;
	}
	ret = tsv_rows(out, 2 * g->ndims + 1, sankey_all_row, &c);
	for (size_t i = 0; ret == 0 && i < c.n && i < g->limit; i++)
		ret = top_literal_row(t, c.v[i].f, g->ndims);
	if (ret == 0 && t->tuples.b.nomem)
		ret = -ENOMEM;
	for (size_t k = 0; ret == 0 && k < g->ndims; k++)
		if (t->dim[k].b.nomem)
			ret = -ENOMEM;
	if (ret < 0 || c.n == most) /* maybe more groups: the axis's query */
		goto out;
	sums = calloc(c.n ? c.n : 1, sizeof(*sums));
	if (!sums) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < c.n; i++) {
		for (size_t k = 0; k < g->ndims; k++) {
			size_t j;

			for (j = 0; j < c.n && j < g->limit; j++)
				if (!strcmp(c.v[j].f[k], c.v[i].f[k]))
					break;
			sums[i].d[k] = j < c.n && j < g->limit ? c.v[i].f[g->ndims + k] : "Other";
		}
		sums[i].s = c.v[i].s;
		sums[i].n = g->ndims;
	}
	/* Sum the groups that show alike; then the query's order. */
	qsort(sums, c.n, sizeof(*sums), cmp_sankey_key);
	for (size_t i = 0; i < c.n; i++) {
		if (nsums && !cmp_sankey_key(&sums[nsums - 1], &sums[i]))
			sums[nsums - 1].s += sums[i].s;
		else
			sums[nsums++] = sums[i];
	}
	for (size_t i = 0; i < nsums; i++)
		sums[i].v = (double)sums[i].s / (double)(g->end - g->start);
	qsort(sums, nsums, sizeof(*sums), cmp_sankey_v);
	sk->ax = 1;
	for (size_t i = 0; i < nsums && ret == 0; i++) {
		char *f[17];

		for (size_t k = 0; k < g->ndims; k++)
			f[k] = (char *)sums[i].d[k];
		snprintf(v, sizeof(v), "%.17g", sums[i].v);
		f[g->ndims] = v;
		ret = sankey_row(sk, f, g->ndims + 1);
	}
	if (ret == 0)
		ret = 1;
out:
	if (ret < 0 && !failed)
		console_answer_error(a, 500, "unexpected answer from ClickHouse");
	free(sums);
	for (size_t i = 0; c.v && i < c.n; i++) {
		for (size_t k = 0; c.v[i].f && k < 2 * g->ndims; k++)
			free(c.v[i].f[k]);
		free(c.v[i].f);
	}
	free(c.v);
	free(out);
	free(q.b.data);
	return ret;
}

/* Links as Akvorado sorts them: by axis, larger first, then by source. */
static int cmp_link(const void *pa, const void *pb)
{
	const struct link *a = pa, *b = pb;

	if (a->axis != b->axis)
		return a->axis - b->axis;
	if (a->xps != b->xps)
		return a->xps > b->xps ? -1 : 1;
	return strcmp(a->src, b->src);
}

static int graph_sankey(const struct console_config *cfg, const struct store_config *store,
			struct store_client *ch, const struct console_job *job,
			struct console_answer *a)
{
	struct graph_req g;
	struct sankey s = {0};
	struct top top = {0};
	struct sql all = {0};
	struct buf b = {0};
	size_t table;
	int64_t interval;
	int ret = 0;

	if (graph_req_parse(cfg, job, &g, a, 1) < 0)
		return 0;
	g.points = 5; /* sankey: one total; the coarsest table that covers the range */
	plan(store, &g, g.start, &table, &interval);
	s.g = &g;
	/* The direct axis may be done by sankey_all (1), the top rows are. */
	ret = sankey_all(store, ch, &g, table, interval, job->tenant_sql, &all, &top, &s, a);
	int first = ret == 1 ? 2 : 1;

	if (ret == 1)
		ret = 0;
	for (int ax = first; ax <= (g.bidirectional ? 2 : 1) && ret == 0; ax++) {
		struct sql q = {0};
		int rev = ax == 2;
		char *out = NULL;

		/* Each value among those of the top rows (as Akvorado: the
		 * reverse axis probes the direct one's rows); grouped by value,
		 * made text on the rows of the answer (add_keys), then summed
		 * by that text as before (a string value 'Other' joins Other). */
		add(&q, "SELECT ");
		for (size_t k = 0; k < g.ndims; k++)
			add(&q, "%sd%zu", k ? ", " : "", k);
		add(&q, ", sum(wv) AS v FROM (SELECT ");
		add_shown(&q, &g, 1);
		add(&q, ", wv FROM (SELECT ");
		add_units_agg(&q, g.units, rev, NULL);
		add(&q, " / %lld AS wv", (long long)(g.end - g.start));
		add_keys(&q, &g, &top, 1, rev);
		add(&q, " FROM %s", tables[table].name);
		add_where(&q, g.start, g.end, g.filter_sql[rev], job->tenant_sql);
		add_key_list(&q, &g, 1, " GROUP BY ");
		add(&q, ")) GROUP BY ");
		for (size_t k = 0; k < g.ndims; k++)
			add(&q, "%sd%zu", k ? ", " : "", k);
		int named = any_named(g.dims, g.ndims);

		if (named) {
			struct sql inner = q;

			memset(&q, 0, sizeof(q));
			wrap_named(&q, g.dims, g.ndims, "", &inner);
		}
		add(&q, " ORDER BY %s DESC", named ? "vs" : "v");
		for (size_t k = 0; k < g.ndims; k++)
			add(&q, ", %c%zu", named ? 'n' : 'd', k);
		add(&q, " FORMAT TabSeparated");
		if (q.b.nomem) {
			free(q.b.data);
			ret = -ENOMEM;
			break;
		}
		if (all.b.len)
			add(&all, "; ");
		buf_append(&all.b, q.b.data, q.b.len);
		ret = store_client_query(ch, q.b.data, &out);
		free(q.b.data);
		if (ret < 0) {
			console_answer_error(a, 500, "ClickHouse: %.400s", store_client_error(ch));
			break;
		}
		s.ax = ax;
		ret = tsv_rows(out, g.ndims + 1, sankey_row, &s);
		free(out);
	}
	if (ret == 0) {
		size_t n;
		char *p;

		buf_append(&b, "{\"rows\":[", 9);
		p = jb_take(&s.rows, &n);
		buf_append(&b, p ? p : "", p ? n : 0);
		free(p);
		buf_append(&b, "],\"xps\":[", 9);
		p = jb_take(&s.xps, &n);
		buf_append(&b, p ? p : "", p ? n : 0);
		free(p);
		buf_append(&b, "],\"axis\":[", 10);
		p = jb_take(&s.axis, &n);
		buf_append(&b, p ? p : "", p ? n : 0);
		free(p);
		/* Names for the axes that have rows. */
		buf_append(&b, "],\"axis-names\":{", 16);
		if (s.has_axis[1])
			buf_printf(&b, "\"1\":\"Direct\"");
		if (s.has_axis[2])
			buf_printf(&b, "%s\"2\":\"Reverse\"", s.has_axis[1] ? "," : "");
		buf_append(&b, "},\"nodes\":[", 11);
		if (s.nl)
			qsort(s.l, s.nl, sizeof(s.l[0]), cmp_link);
		for (size_t i = 0; i < s.nnodes; i++) {
			buf_append(&b, i ? ",{\"name\":" : "{\"name\":", i ? 9 : 8);
			jb_cstr(&b, s.node_names[i]);
			buf_printf(&b, ",\"axis\":%d}", s.node_axis[i]);
		}
		buf_append(&b, "],\"links\":[", 11);
		for (size_t i = 0; i < s.nl; i++) {
			buf_append(&b, i ? ",{\"source\":" : "{\"source\":", i ? 11 : 10);
			jb_cstr(&b, s.l[i].src);
			buf_append(&b, ",\"target\":", 10);
			jb_cstr(&b, s.l[i].dst);
			buf_append(&b, ",\"xps\":", 7);
			jb_num(&b, s.l[i].xps);
			buf_printf(&b, ",\"axis\":%d}", s.l[i].axis);
		}
		buf_append(&b, "]}", 2);
		a->body = jb_take(&b, &a->body_len);
		a->sql = jb_take(&all.b, &(size_t){0});
		if (!a->body)
			ret = -ENOMEM;
	}
	free(s.rows.data);
	free(s.xps.data);
	free(s.axis.data);
	for (size_t i = 0; i < s.nnodes; i++)
		free(s.node_names[i]);
	free(s.node_names);
	free(s.node_axis);
	for (size_t i = 0; i < s.nl; i++) {
		free(s.l[i].src);
		free(s.l[i].dst);
	}
	free(s.l);
	top_fini(&top);
	free(all.b.data);
	free(b.data);
	graph_req_fini(&g);
	return ret;
}

/* ---- filter/complete ---- */

static const char *const op_lists[][9] = {
    [FILTER_T_ADDR] = {"=", "!=", "<<", "!<<", "IN", "NOTIN"},
    [FILTER_T_STRING] = {"=", "!=", "LIKE", "ILIKE", "UNLIKE", "IUNLIKE", "IN", "NOTIN"},
    [FILTER_T_UINT] = {"=", "!=", "<", "<=", ">", ">=", "IN", "NOTIN"},
    [FILTER_T_ASN] = {"=", "!=", "<", "<=", ">", ">=", "IN", "NOTIN"},
    [FILTER_T_MAC] = {"=", "!=", "IN", "NOTIN"},
    [FILTER_T_BOUNDARY] = {"=", "!=", "IN", "NOTIN"},
    [FILTER_T_DIRECTION] = {"=", "!=", "IN", "NOTIN"},
    [FILTER_T_ETYPE] = {"=", "!=", "IN", "NOTIN"},
    [FILTER_T_PROTO] = {"=", "!=", "<", "<=", ">", ">=", "IN", "NOTIN"},
    [FILTER_T_ASPATH] = {"=", "!="},
    [FILTER_T_COMMUNITY] = {"=", "!="},
    [FILTER_T_LCOMMUNITY] = {"=", "!="},
};

struct completions {
	struct buf b;
	size_t n, limit;
	const char *prefix;
};

static void complete_add(struct completions *c, const char *label, const char *detail, int quoted)
{
	size_t pl = strlen(c->prefix);

	if (c->n >= c->limit || strncasecmp(label, c->prefix, pl))
		return;
	buf_append(&c->b, c->n ? ",{\"label\":" : "{\"label\":", c->n ? 10 : 9);
	jb_cstr(&c->b, label);
	buf_append(&c->b, ",\"detail\":", 10);
	jb_cstr(&c->b, detail);
	buf_printf(&c->b, ",\"quoted\":%s}", quoted ? "true" : "false");
	c->n++;
}

struct value_ctx {
	struct completions *c;
	const struct filter_column *col;
};

static int value_row(void *ctx, char **f, size_t n)
{
	struct value_ctx *v = ctx;
	char label[300], r[256];

	(void)n;
	switch (v->col->type) {
	case FILTER_T_ASN: /* as Akvorado: the label goes into the filter, the name beside */
		snprintf(label, sizeof(label), "AS%s", f[0]);
		complete_add(v->c, label, n > 1 && f[1][0] ? f[1] : "AS number", 0);
		break;
	case FILTER_T_STRING:
		complete_add(v->c, f[0], v->col->name, 1);
		break;
	default:
		render(v->col, f[0], r, sizeof(r));
		complete_add(v->c, f[0], r, 0);
		break;
	}
	return 0;
}

static int complete(const struct console_job *job, struct store_client *ch,
		    struct console_answer *a)
{
	struct json *j = NULL;
	char jerr[128];
	const struct json *what, *col, *pre, *lim;
	struct completions c = {0};
	const struct filter_column *fc = NULL;
	int ret = 0;

	if (json_parse(job->body, job->body_len, &j, jerr, sizeof(jerr)) < 0) {
		console_answer_error(a, 400, "%s", jerr);
		return 0;
	}
	what = json_get(j, "what");
	col = json_get(j, "column");
	pre = json_get(j, "prefix");
	lim = json_get(j, "limit");
	c.prefix = pre && pre->type == JSON_STRING ? pre->str : "";
	c.limit = lim && lim->type == JSON_NUMBER && lim->number >= 1 && lim->number <= 1000
		      ? (size_t)lim->number
		      : 20;
	if (strlen(c.prefix) > 200) {
		console_answer_error(a, 400, "prefix: too long");
		goto out;
	}
	if (col && col->type == JSON_STRING)
		fc = filter_column_find(col->str, col->len);
	buf_append(&c.b, "{\"completions\":[", 16);
	if (!what || what->type != JSON_STRING) {
		console_answer_error(a, 400, "what: column, operator or value");
		goto out;
	} else if (!strcmp(what->str, "column")) {
		for (size_t i = 0; i < filter_columns_count; i++)
			complete_add(&c, filter_columns[i].name, "column name", 0);
	} else if (!strcmp(what->str, "operator")) {
		if (!fc) {
			console_answer_error(a, 400, "column: unknown");
			goto out;
		}
		for (size_t i = 0; op_lists[fc->type][i]; i++)
			complete_add(&c, op_lists[fc->type][i], "comparison operator", 0);
	} else if (!strcmp(what->str, "value")) {
		if (!fc) {
			console_answer_error(a, 400, "column: unknown");
			goto out;
		}
		switch (fc->type) {
		case FILTER_T_BOUNDARY:
			complete_add(&c, "external", "network boundary", 0);
			complete_add(&c, "internal", "network boundary", 0);
			complete_add(&c, "undefined", "network boundary", 0);
			break;
		case FILTER_T_DIRECTION:
			complete_add(&c, "ingress", "flow direction", 0);
			complete_add(&c, "egress", "flow direction", 0);
			complete_add(&c, "undefined", "flow direction", 0);
			break;
		case FILTER_T_ETYPE:
			complete_add(&c, "IPv4", "ethernet type", 0);
			complete_add(&c, "IPv6", "ethernet type", 0);
			break;
		case FILTER_T_PROTO: {
			static const char *const names[] = {"TCP", "UDP", "ICMP", "IPv6-ICMP",
							    "GRE", "ESP", "SCTP", NULL};
			for (size_t i = 0; names[i]; i++)
				complete_add(&c, names[i], "protocol", 0);
			break;
		}
		case FILTER_T_STRING:
		case FILTER_T_ASN:
		case FILTER_T_UINT:
		case FILTER_T_ADDR: {
			/* From the data: the last day of flows_1m (the last hour of flows for
			 * the columns only flows holds), with the tenant's filter. */
			int cons =
			    (fc->flags & FILTER_COL_CONSOLIDATED) && job->tenant_consolidated;
			struct sql q = {0};
			char *out = NULL, pat[420];
			size_t pn = 0;
			const char *p = c.prefix;
			struct value_ctx vc = {&c, fc};

			if (fc->type == FILTER_T_ASN && !strncasecmp(p, "AS", 2))
				p += 2;
			for (; *p && pn + 3 < sizeof(pat); p++) {
				if (*p == '%' || *p == '_' || *p == '\\')
					pat[pn++] = '\\';
				pat[pn++] = *p;
			}
			pat[pn++] = '%';
			pat[pn] = '\0';
			if (fc->type == FILTER_T_ASN) {
				/* A number prefix matches numbers, anything else the
				 * names, anywhere in them, as Akvorado; names looked up
				 * once per AS seen, not per row. The ASes of the data
				 * come first (r = 0), then, once something is typed,
				 * those of the asns table (every AS with a name). */
				int by_name = pn > 1 && strspn(pat, "0123456789") != pn - 1;

				add(&q,
				    "SELECT toString(a) AS v, any(n), min(r) AS rk FROM (SELECT a, "
				    "joinGet('asns', 'Name', a) AS n, toUInt8(0) AS r FROM (SELECT "
				    "DISTINCT %s AS a FROM %s WHERE TimeReceived >= now() - %d AND "
				    "(",
				    fc->name, cons ? "flows_1m" : "flows", cons ? 86400 : 3600);
				buf_append(&q.b, job->tenant_sql, strlen(job->tenant_sql));
				add(&q, "))");
				if (pn > 1)
					add(&q,
					    " UNION ALL SELECT ASN AS a, Name AS n, toUInt8(1) AS "
					    "r FROM asns");
				add(&q, ") WHERE %s LIKE lower(%s",
				    by_name ? "lower(n)" : "toString(a)",
				    by_name ? "concat('%', " : "(");
				add_quoted(&q, pat, pn);
				add(&q,
				    ")) GROUP BY a ORDER BY rk, a LIMIT %zu FORMAT TabSeparated",
				    c.limit);
			} else {
				add(&q, "SELECT DISTINCT ");
				add_display(&q, fc, 0);
				add(&q, " AS v FROM %s", cons ? "flows_1m" : "flows");
				add(&q, " WHERE TimeReceived >= now() - %d AND (",
				    cons ? 86400 : 3600);
				buf_append(&q.b, job->tenant_sql, strlen(job->tenant_sql));
				add(&q, ") AND lower(v) LIKE lower(");
				add_quoted(&q, pat, pn);
				add(&q, ") AND v != '' ORDER BY v LIMIT %zu FORMAT TabSeparated",
				    c.limit);
			}
			if (q.b.nomem) {
				free(q.b.data);
				ret = -ENOMEM;
				goto out;
			}
			/* Prefixes for ASNs are matched on the number. */
			c.prefix = "";
			ret = store_client_query(ch, q.b.data, &out);
			a->sql = q.b.data;
			if (ret < 0) {
				console_answer_error(a, 500, "ClickHouse: %.400s",
						     store_client_error(ch));
				ret = 0;
				goto out;
			}
			ret = tsv_rows(out, fc->type == FILTER_T_ASN ? 3 : 1, value_row, &vc);
			free(out);
			if (ret < 0)
				goto out;
			break;
		}
		default:
			break;
		}
	} else {
		console_answer_error(a, 400, "what: column, operator or value");
		goto out;
	}
	buf_append(&c.b, "]}", 2);
	a->body = jb_take(&c.b, &a->body_len);
out:
	free(c.b.data);
	json_free(j);
	return ret;
}

/* ---- widgets ---- */

static int widget_sql(struct store_client *ch, struct console_answer *a, const char *sql,
		      char **out)
{
	int ret = store_client_query(ch, sql, out);

	free(a->sql);
	a->sql = strdup(sql);
	if (ret < 0)
		console_answer_error(a, 500, "ClickHouse: %.400s", store_client_error(ch));
	return ret;
}

/* widget_sql() of q's text, which it frees: 0, -ENOMEM when q could not be
 * written, -EIO when the query failed (`a` says why). */
static int widget_run(struct store_client *ch, struct console_answer *a, struct sql *q, char **out)
{
	int ret = q->b.nomem ? -ENOMEM : widget_sql(ch, a, q->b.data, out) < 0 ? -EIO : 0;

	free(q->b.data);
	memset(q, 0, sizeof(*q));
	return ret;
}

struct top_ctx {
	struct buf *b;
	const struct filter_column *col;
	double total;
	size_t n;
};

static int top_row(void *ctx, char **f, size_t n)
{
	struct top_ctx *t = ctx;
	char r[256];

	(void)n;
	render(t->col, f[0], r, sizeof(r));
	buf_append(t->b, t->n ? ",{\"name\":" : "{\"name\":", t->n ? 9 : 8);
	jb_cstr(t->b, r);
	buf_append(t->b, ",\"percent\":", 11);
	jb_num(t->b, t->total > 0 ? strtod(f[1], NULL) * 100 / t->total : 0);
	buf_append(t->b, "}", 1);
	t->n++;
	return 0;
}

struct graph_ctx {
	struct buf *b;
	size_t n;
};

static int graph_row(void *ctx, char **f, size_t n)
{
	struct graph_ctx *g = ctx;
	char t[32];

	(void)n;
	console_format_time(strtoll(f[0], NULL, 10), t, sizeof(t));
	buf_printf(g->b, "%s{\"t\":\"%s\",\"gbps\":", g->n ? "," : "", t);
	jb_num(g->b, strtod(f[1], NULL));
	buf_append(g->b, "}", 1);
	g->n++;
	return 0;
}

/* The columns of widget/flow-last, and how each becomes JSON. Read as
 * TabSeparated and written here, so that every engine gives the same JSON:
 * 18.16's JSON formats quote 64-bit integers (Bytes, Packets...), and a
 * read-only profile refuses the setting that would stop it. */
enum fl_kind { FL_NUM, FL_STR, FL_ARRAY };
static const struct {
	const char *name, *expr;
	enum fl_kind kind;
} flow_last[] = {
    {"TimeReceived", "toUInt32(TimeReceived)", FL_NUM},
    {"SamplingRate", "SamplingRate", FL_NUM},
    {"ExporterAddress", "IPv6NumToString(ExporterAddress)", FL_STR},
    {"ExporterName", "ExporterName", FL_STR},
    {"SrcAddr", "IPv6NumToString(SrcAddr)", FL_STR},
    {"DstAddr", "IPv6NumToString(DstAddr)", FL_STR},
    {"SrcAS", "SrcAS", FL_NUM},
    {"DstAS", "DstAS", FL_NUM},
    {"SrcCountry", "replaceAll(toString(SrcCountry), '\\0', '')", FL_STR},
    {"DstCountry", "replaceAll(toString(DstCountry), '\\0', '')", FL_STR},
    {"InIfName", "InIfName", FL_STR},
    {"OutIfName", "OutIfName", FL_STR},
    {"InIfBoundary", "toString(InIfBoundary)", FL_STR},
    {"OutIfBoundary", "toString(OutIfBoundary)", FL_STR},
    {"InIfSpeed", "InIfSpeed", FL_NUM},
    {"OutIfSpeed", "OutIfSpeed", FL_NUM},
    {"EType", "EType", FL_NUM},
    {"Proto", "Proto", FL_NUM},
    {"SrcPort", "SrcPort", FL_NUM},
    {"DstPort", "DstPort", FL_NUM},
    {"Bytes", "Bytes", FL_NUM},
    {"Packets", "Packets", FL_NUM},
    {"ForwardingStatus", "ForwardingStatus", FL_NUM},
    {"TCPFlags", "TCPFlags", FL_NUM},
    {"SrcMAC", "MACNumToString(SrcMAC)", FL_STR},
    {"DstMAC", "MACNumToString(DstMAC)", FL_STR},
    {"IPTTL", "IPTTL", FL_NUM},
    {"DstASPath", "DstASPath", FL_ARRAY},
    {"DstCommunities", "DstCommunities", FL_ARRAY},
};

struct flow_last_ctx {
	struct buf *b;
	size_t n;
};

/* One flow as a JSON object: numbers as the digits ClickHouse printed (no
 * precision lost), arrays of numbers as they are; what does not look like
 * its kind becomes null rather than unchecked text. */
static int flow_last_row(void *ctx, char **f, size_t n)
{
	struct flow_last_ctx *fl = ctx;

	buf_append(fl->b, "{", 1);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(f[i]);
		int ok;

		buf_printf(fl->b, "%s\"%s\":", i ? "," : "", flow_last[i].name);
		switch (flow_last[i].kind) {
		case FL_STR:
			jb_str(fl->b, f[i], len);
			continue;
		case FL_NUM:
			ok = len && len < 21 && strspn(f[i], "0123456789") == len &&
			     (f[i][0] != '0' || len == 1);
			break;
		default:
			ok = len >= 2 && f[i][0] == '[' && f[i][len - 1] == ']' &&
			     strspn(f[i] + 1, "0123456789,") == len - 2 && !strstr(f[i], ",,") &&
			     f[i][1] != ',' && (len == 2 || f[i][len - 2] != ',');
			break;
		}
		if (ok)
			buf_append(fl->b, f[i], len);
		else
			buf_append(fl->b, "null", 4);
	}
	buf_append(fl->b, "}", 1);
	fl->n++;
	return 0;
}

static int widget(const struct store_config *store, struct store_client *ch,
		  const struct console_job *job, struct console_answer *a)
{
	const char *w = job->route + 7, *ten = job->tenant_sql;
	/* flows_1m when it holds the tenant filter's columns, else flows. */
	const char *t1m = job->tenant_consolidated ? "flows_1m" : "flows";
	struct buf b = {0};
	char sql[8192 + 4096];
	struct sql q = {0};
	char *out = NULL;
	int ret = 0;

	if (strlen(ten) > 8192) {
		console_answer_error(a, 500, "tenant filter too long for a widget");
		return 0;
	}
	if (!strcmp(w, "flow-rate")) {
		snprintf(sql, sizeof(sql),
			 "SELECT count() / 60 FROM flows WHERE TimeReceived >= now() - 60 AND (%s) "
			 "FORMAT TabSeparated",
			 ten);
		if (widget_sql(ch, a, sql, &out) < 0)
			return 0;
		buf_append(&b, "{\"rate\":", 8);
		jb_num(&b, strtod(out, NULL));
		buf_append(&b, ",\"period\":\"second\"}", 19);
	} else if (!strcmp(w, "exporters")) {
		struct graph_ctx g = {&b, 0};
		char *line;

		snprintf(sql, sizeof(sql),
			 "SELECT DISTINCT ExporterName FROM %s WHERE TimeReceived >= now() - "
			 "86400 AND (%s) AND ExporterName != '' ORDER BY ExporterName LIMIT 1000 "
			 "FORMAT TabSeparated",
			 t1m, ten);
		if (widget_sql(ch, a, sql, &out) < 0)
			return 0;
		buf_append(&b, "{\"exporters\":[", 14);
		line = out;
		while (line && *line) {
			char *nl = strchr(line, '\n');

			if (nl)
				*nl = '\0';
			tsv_unescape(line);
			buf_append(&b, g.n++ ? "," : "", g.n > 1);
			jb_cstr(&b, line);
			line = nl ? nl + 1 : NULL;
		}
		buf_append(&b, "]}", 2);
	} else if (!strcmp(w, "flow-last")) {
		struct flow_last_ctx fl = {&b, 0};

		add(&q, "SELECT ");
		for (size_t i = 0; i < sizeof(flow_last) / sizeof(flow_last[0]); i++)
			add(&q, "%s%s", i ? ", " : "", flow_last[i].expr);
		add(&q, " FROM flows WHERE TimeReceived >= now() - 3600 AND (");
		buf_append(&q.b, ten, strlen(ten));
		add(&q, ") ORDER BY TimeReceived DESC LIMIT 1 FORMAT TabSeparated");
		ret = widget_run(ch, a, &q, &out);
		if (ret < 0)
			return ret == -ENOMEM ? ret : 0;
		ret = tsv_rows(out, sizeof(flow_last) / sizeof(flow_last[0]), flow_last_row, &fl);
		if (ret == 0 && !fl.n)
			buf_append(&b, "{}", 2);
	} else if (!strncmp(w, "top/", 4)) {
		static const struct {
			const char *name, *col;
		} tops[] = {{"src-as", "SrcAS"},
			    {"dst-as", "DstAS"},
			    {"src-country", "SrcCountry"},
			    {"dst-country", "DstCountry"},
			    {"exporter", "ExporterName"},
			    {"protocol", "Proto"},
			    {"etype", "EType"},
			    {"src-port", "SrcPort"},
			    {"dst-port", "DstPort"}};
		const struct filter_column *col = NULL;
		struct top_ctx t = {&b, NULL, 0, 0};

		for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++)
			if (!strcmp(w + 4, tops[i].name))
				col = filter_column_find(tops[i].col, strlen(tops[i].col));
		if (!col) {
			console_answer_error(a, 404, "Unknown top request.");
			return 0;
		}
		t.col = col;
		const char *tn = col->flags & FILTER_COL_CONSOLIDATED ? t1m : "flows";

		snprintf(
		    sql, sizeof(sql),
		    "SELECT SUM(Bytes * SamplingRate) FROM %s WHERE TimeReceived >= now() - 300 "
		    "AND (%s) FORMAT TabSeparated",
		    tn, ten);
		if (widget_sql(ch, a, sql, &out) < 0)
			return 0;
		t.total = strtod(out, NULL);
		free(out);
		out = NULL;
		int named = any_named(&col, 1);

		/* Named (AS numbers, ports with their protocol): the rows are
		 * named first and summed by name, so that 443/tcp and 443/udp
		 * are one "443/https"; then the top five. */
		if (named) {
			add(&q, "SELECT n, sum(s) AS s FROM (SELECT ");
			add_named(&q, col, "v");
			add(&q, " AS n, s FROM (");
		}
		add(&q, "SELECT ");
		if (!strcmp(col->name,
			    "ExporterName")) /* an exporter without a name: its address */
			add(&q, "if(ExporterName = '', replaceRegexpOne(IPv6NumToString("
				"ExporterAddress), '^::ffff:', ''), ExporterName)");
		else
			add_label(&q, col, 0);
		add(&q,
		    " AS v, SUM(Bytes * SamplingRate) AS s FROM %s WHERE TimeReceived >= now() - "
		    "300 "
		    "AND (",
		    tn);
		buf_append(&q.b, ten, strlen(ten));
		add(&q, ") GROUP BY v");
		if (named)
			add(&q, ")) GROUP BY n ORDER BY s DESC, n LIMIT 5");
		else
			add(&q, " ORDER BY s DESC, v LIMIT 5");
		add(&q, " FORMAT TabSeparated");
		ret = widget_run(ch, a, &q, &out);
		if (ret < 0)
			return ret == -ENOMEM ? ret : 0;
		buf_append(&b, "{\"top\":[", 8);
		ret = tsv_rows(out, 2, top_row, &t);
		buf_append(&b, "]}", 2);
	} else if (!strcmp(w, "graph")) {
		struct graph_ctx g = {&b, 0};
		int64_t now = (int64_t)time(NULL), start = now - 86400;
		size_t table = choose_table(store, start, 300, job->tenant_consolidated);
		int64_t res = tables[table].resolution, interval = res > 300 ? res : 300;

		snprintf(sql, sizeof(sql),
			 "SELECT intDiv(toUInt32(TimeReceived), %lld) * %lld AS t, "
			 "SUM(Bytes * SamplingRate * 8) / %lld / 1000000000 AS gbps FROM %s WHERE "
			 "TimeReceived >= toDateTime(%lld) AND (%s) GROUP BY t ORDER BY t "
			 "FORMAT TabSeparated",
			 (long long)interval, (long long)interval, (long long)interval,
			 tables[table].name, (long long)(start / interval * interval), ten);
		if (widget_sql(ch, a, sql, &out) < 0)
			return 0;
		buf_append(&b, "{\"data\":[", 9);
		ret = tsv_rows(out, 2, graph_row, &g);
		buf_append(&b, "]}", 2);
	} else {
		console_answer_error(a, 404, "Unknown widget.");
		return 0;
	}
	free(out);
	if (ret < 0) {
		free(b.data);
		console_answer_error(a, 500, "unexpected answer from ClickHouse");
		return 0;
	}
	a->body = jb_take(&b, &a->body_len);
	return a->body ? 0 : -ENOMEM;
}

int console_query_run(const struct console_config *cfg, const struct store_config *store,
		      struct store_client *ch, const struct console_job *job,
		      struct console_answer *a)
{
	a->status = 200;
	a->content_type = "application/json; charset=utf-8";
	if (!strcmp(job->route, "graph/line"))
		return graph_line(cfg, store, ch, job, a, 0);
	if (!strcmp(job->route, "graph/table-interval"))
		return graph_line(cfg, store, ch, job, a, 1);
	if (!strcmp(job->route, "graph/sankey"))
		return graph_sankey(cfg, store, ch, job, a);
	if (!strcmp(job->route, "filter/complete"))
		return complete(job, ch, a);
	if (!strncmp(job->route, "widget/", 7))
		return widget(store, ch, job, a);
	console_answer_error(a, 404, "not found");
	return 0;
}
