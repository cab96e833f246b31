// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir bench console`: fills a ClickHouse with N flows over 7 days, runs the
 * console in this process on it (caches off) and prints the API's latency
 * p50/p95 per request beside the 300 ms target, then the browser figures
 * (user/bench/console_browser.mjs) when node and chromium are there. */
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_internal.h"
#include "common/cli_opts.h"
#include "common/clock.h"
#include "common/log.h"
#include "console/console.h"
#include "http/http.h"
#include "orchestrator/orchestrator.h"

#define TARGET_P95_MS 300.0
#define SPAN_S	      (7 * 86400)
#define DB	      "weir"

struct console_opts {
	uint64_t flows;
	unsigned runs;
	const char *keep; /* a directory whose data outlive the run, or NULL */
	int browser;	  /* run console_browser.mjs when it can */
};

/* ---- the fill ----
 * Generated inside ClickHouse (INSERT ... SELECT from numbers()): 10M rows
 * in seconds, the same on both engines. Each flow's dimensions come from
 * hashes of its number: a few big ASes and a long tail (u^4 over 300), each
 * AS with its country and arriving through one or two of 6 external
 * interfaces (transit, PNI and IX providers) of 4 exporters, most traffic to
 * one local AS, a daily rhythm in Bytes.
 * Flow n is at t0 + n * 7 days / N: the rows are in time order, N of them
 * in [t0, t0 + 7 days), and more at the same rate carry on past it (the
 * top-up to the present). */
static const char fill_sql[] =
    "INSERT INTO flows (TimeReceived, SamplingRate, ExporterAddress, ExporterName, "
    "ExporterSite, InIf, OutIf, InIfName, OutIfName, InIfDescription, OutIfDescription, "
    "InIfSpeed, OutIfSpeed, InIfConnectivity, InIfProvider, InIfBoundary, OutIfBoundary, "
    "SrcAS, DstAS, SrcCountry, DstCountry, EType, Proto, SrcPort, DstPort, SrcAddr, DstAddr, "
    "Bytes, Packets) "
    "SELECT toDateTime(%llu + intDiv(n * %llu, %llu)) AS TimeReceived, 1000, "
    "IPv6StringToNum(concat('::ffff:192.0.2.', toString(e + 1))), "
    "['edge1-par', 'edge2-par', 'edge1-ams', 'core1-fra'][e + 1], "
    "['par', 'par', 'ams', 'fra'][e + 1], "
    "toUInt32(i + 1), toUInt32(20 + d), concat('Et', toString(i + 1)), "
    "concat('Et2', toString(d)), "
    "concat(['transit', 'transit', 'pni', 'ix', 'ix', 'transit'][i + 1], ': ', "
    "['cogent', 'lumen', 'google', 'franceix', 'amsix', 'telia'][i + 1]), "
    "concat('core: ', toString(d)), toUInt32(100000), toUInt32(100000), "
    "['transit', 'transit', 'pni', 'ix', 'ix', 'transit'][i + 1], "
    "['cogent', 'lumen', 'google', 'franceix', 'amsix', 'telia'][i + 1], "
    "'external', 'internal', "
    "if(a < 16, [15169, 13335, 16509, 32934, 8075, 20940, 2906, 714, 3356, 174, 1299, 6939, "
    "3257, 6453, 2914, 46489][a + 1], toUInt32(131072 + a * 97)), "
    "[64500, 64496, 64497, 64498, 64499][d + 1], "
    "if(a < 16, ['US', 'US', 'US', 'US', 'US', 'NL', 'US', 'US', 'US', 'US', 'SE', 'US', 'DE', "
    "'CA', 'US', 'US'][a + 1], ['US', 'DE', 'FR', 'GB', 'NL', 'JP', 'BR', 'IN', 'CN', 'SG', "
    "'CA', 'AU', 'IT', 'ES', 'SE', 'PL', 'KR', 'ZA', 'CH', 'RU'][1 + a %% 20]), "
    "['FR', 'FR', 'DE', 'NL', 'GB'][d + 1], "
    "if(h4 %% 100 < 85, 2048, 34525), "
    "if(h4 %% 97 < 68, 6, if(h4 %% 97 < 95, 17, 1)), "
    "[443, 443, 443, 80, 53, 8080, 123, 22][1 + h3 %% 8], toUInt16(1024 + h2 %% 64000), "
    "IPv4ToIPv6(toUInt32(h1 %% 4294967296)), IPv4ToIPv6(toUInt32(3221225984 + h2 %% 256)), "
    "toUInt64(p * (64 + h4 %% 1400) * (1.3 + sin((TimeReceived %% 86400) / 86400 * 6.2832))), "
    "p "
    "FROM (SELECT n, intHash64(n) AS h1, intHash64(n + 1000000007) AS h2, "
    "intHash64(n + 2000000011) AS h3, intHash64(n + 3000000019) AS h4, "
    "toUInt32(pow((h1 %% 1000003) / 1000003, 4) * 300) AS a, "
    "toUInt32(h2 %% 1009 %% 4) AS e, "
    "toUInt32((a * 7 + if(h4 %% 5 = 0, 1, 0)) %% 6) AS i, "
    "toUInt32(if(h3 %% 10 < 8, 0, 1 + h3 %% 4)) AS d, "
    "toUInt64(1 + h1 %% 1019 %% 20) AS p "
    "FROM (SELECT number + %llu AS n FROM numbers(%llu)))";

/* Comma-separated columns of flows_1m other than TimeReceived, Bytes and
 * Packets (what the consolidated tables group by), in *out (malloc'd). */
static int consolidated_dims(struct store_client *c, char **out)
{
	int r = store_client_query(
	    c,
	    "SELECT arrayStringConcat(groupArray(name), ', ') FROM (SELECT name FROM "
	    "system.columns WHERE database = currentDatabase() AND table = 'flows_1m' AND "
	    "default_kind NOT IN ('ALIAS', 'MATERIALIZED') AND name NOT IN ('TimeReceived', "
	    "'Bytes', 'Packets')) FORMAT TabSeparated",
	    out);
	if (r == 0) {
		size_t n = strlen(*out);

		while (n && ((*out)[n - 1] == '\n'))
			(*out)[--n] = '\0';
	}
	return r;
}

/* Sums the flows of [from, to) into the consolidated tables as the outlet's
 * writer would have: `chained`, flows into flows_1m, flows_1m into flows_5m,
 * flows_5m into flows_1h (sums compose; only when those tables hold nothing
 * of the range yet), else each from flows (a top-up next to rows already
 * summed); a day at a time so that the GROUP BY stays small. The embedded
 * engine squashes no insert block (min_insert_block_size_rows=0, for the
 * writer's batches): here that would make a part of every block the GROUP BY
 * answers, hence the setting. */
static int consolidate(struct store_client *c, uint64_t from, uint64_t to, int chained,
		       int embedded)
{
	static const struct {
		const char *to, *from, *round;
	} steps[] = {{"flows_1m", "flows", "toStartOfMinute"},
		     {"flows_5m", "flows_1m", "toStartOfFiveMinute"},
		     {"flows_1h", "flows_5m", "toStartOfHour"}};
	char *dims = NULL, *sql = NULL;
	size_t size;
	int r;

	r = consolidated_dims(c, &dims);
	if (r < 0 || !*dims)
		goto out;
	size = strlen(dims) * 3 + 1024; /* dims thrice */
	sql = malloc(size);
	if (!sql) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t s = 0; s < 3 && r == 0; s++)
		for (uint64_t d = from; d < to && r == 0; d += 86400) {
			snprintf(
			    sql, size,
			    "INSERT INTO %s (TimeReceived, %s, Bytes, Packets) %s SELECT "
			    "%s(TimeReceived) AS T, %s, sum(Bytes), sum(Packets) FROM %s WHERE "
			    "TimeReceived >= toDateTime(%llu) AND TimeReceived < toDateTime(%llu) "
			    "GROUP BY T, %s",
			    steps[s].to, dims,
			    embedded ? "SETTINGS min_insert_block_size_rows = 1048576, "
				       "min_insert_block_size_bytes = 268435456"
				     : "",
			    steps[s].round, dims, chained ? steps[s].from : "flows",
			    (unsigned long long)d,
			    (unsigned long long)(d + 86400 < to ? d + 86400 : to), dims);
			r = store_client_query(c, sql, NULL);
		}
out:
	free(dims);
	free(sql);
	return r;
}

/* Inserts flows n in [first, first + count) of a fill of `flows` flows in 7
 * days from `base`. Returns 0 or -errno. */
static int fill_flows(struct store_client *c, uint64_t base, uint64_t flows, uint64_t first,
		      uint64_t count)
{
	char sql[sizeof(fill_sql) + 128];

	snprintf(sql, sizeof(sql), fill_sql, (unsigned long long)base, (unsigned long long)SPAN_S,
		 (unsigned long long)flows, (unsigned long long)first, (unsigned long long)count);
	return store_client_query(c, sql, NULL);
}

/* Carries the fill (`have` flows from `base` so far) on to the present
 * minute at the same rate, with its sums: the widgets look at the last
 * minutes, and the fill itself takes minutes. Returns 0 or -errno. */
static int top_up(struct store_client *c, uint64_t base, uint64_t flows, uint64_t have,
		  int embedded)
{
	uint64_t now = (uint64_t)time(NULL) / 60 * 60;
	/* The first flow of a second after the last one stored, so that a
	 * time boundary splits old and new flows (the sums from flows). */
	uint64_t cut = (have - 1) * SPAN_S / flows + 1;
	uint64_t first = (cut * flows + SPAN_S - 1) / SPAN_S;
	uint64_t last = now > base ? (now - base) * flows / SPAN_S : 0;
	int r;

	if (last <= first)
		return 0;
	r = fill_flows(c, base, flows, first, last - first);
	if (r == 0)
		r = consolidate(c, base + cut, now + 60, 0, embedded);
	return r;
}

/* Fills `c`'s database unless it already holds `flows` flows in their 7 days
 * (a kept run, less than a day old), then tops it up to the present; *t_end
 * gets the end of the 7 days. Returns 0 or 1 (printed). */
static int fill(struct store_client *c, const struct store_config *cfg, const char *L,
		uint64_t flows, int embedded, uint64_t *t_end)
{
	uint64_t have = 0, in_span = 0, base = 0;
	double t0;

	if (store_client_query_u64(c, "SELECT toUInt32(min(TimeReceived)) FROM flows", &base) ==
		0 &&
	    store_client_query_u64(c, "SELECT count() FROM flows", &have) == 0 &&
	    store_client_query_u64(c,
				   "SELECT count() FROM flows WHERE TimeReceived < (SELECT "
				   "min(TimeReceived) FROM flows) + 604800",
				   &in_span) == 0 &&
	    in_span == flows && base + SPAN_S + 86400 > (uint64_t)time(NULL)) {
		*t_end = base + SPAN_S;
		printf("%s: kept data: %llu flows in 7 days ending %llu s ago\n", L,
		       (unsigned long long)flows, (unsigned long long)(time(NULL) - *t_end));
	} else {
		if (store_client_query_nodb(c, "DROP DATABASE IF EXISTS " DB, NULL) < 0 ||
		    orch_migrate(c, cfg, 0) < 0) {
			printf("%s: failed: schema: %s\n", L, store_client_error(c));
			return 1;
		}
		*t_end = (uint64_t)time(NULL) / 60 * 60;
		base = *t_end - SPAN_S;
		t0 = clock_mono_s();
		/* By the million: one INSERT stays well within the client's
		 * timeout on a slow server. */
		for (uint64_t n = 0; n < flows; n += 1000000)
			if (fill_flows(c, base, flows, n,
				       flows - n < 1000000 ? flows - n : 1000000) < 0) {
				printf("%s: failed: fill: %s\n", L, store_client_error(c));
				return 1;
			}
		printf("%s: filled %llu flows over 7 days in %.1f s\n", L,
		       (unsigned long long)flows, clock_mono_s() - t0);
		fflush(stdout);
		t0 = clock_mono_s();
		if (consolidate(c, base, *t_end, 1, embedded) < 0) {
			printf("%s: failed: consolidated tables: %s\n", L, store_client_error(c));
			return 1;
		}
		have = flows;
		printf("%s: flows_1m, flows_5m, flows_1h summed in %.1f s\n", L,
		       clock_mono_s() - t0);
	}
	t0 = clock_mono_s();
	if (top_up(c, base, flows, have, embedded) < 0) {
		printf("%s: failed: top-up: %s\n", L, store_client_error(c));
		return 1;
	}
	{
		uint64_t n = 0, m = 0, f = 0, h = 0;

		store_client_query_u64(c, "SELECT count() FROM flows", &n);
		store_client_query_u64(c, "SELECT count() FROM flows_1m", &m);
		store_client_query_u64(c, "SELECT count() FROM flows_5m", &f);
		store_client_query_u64(c, "SELECT count() FROM flows_1h", &h);
		printf("%s: topped up to now in %.1f s: flows %llu rows, flows_1m %llu, flows_5m "
		       "%llu, flows_1h %llu\n",
		       L, clock_mono_s() - t0, (unsigned long long)n, (unsigned long long)m,
		       (unsigned long long)f, (unsigned long long)h);
	}
	fflush(stdout);
	return 0;
}

/* ---- the measurement ---- */

struct answer {
	char table[48]; /* the tables the X-SQL-Query header names, '+'-joined */
	size_t bytes;
};

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	((struct answer *)ctx)->bytes += size * n;
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
	struct answer *a = ctx;
	size_t len = size * n;

	if (len > 12 && !strncasecmp(p, "X-SQL-Query:", 12)) {
		static const char *const names[] = {"flows_1h", "flows_5m", "flows_1m", "flows"};

		a->table[0] = 0;
		for (size_t i = 0; i < 4; i++) {
			char from[32];
			size_t at = strlen(a->table);

			snprintf(from, sizeof(from), "FROM %s ", names[i]);
			if (memmem(p, len, from, strlen(from)))
				snprintf(a->table + at, sizeof(a->table) - at, "%s%s",
					 at ? "+" : "", names[i]);
		}
	}
	return len;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank of sorted v[n]. */
static double pct(const double *v, unsigned n, double p)
{
	unsigned k = (unsigned)(p * n + 0.999999);

	return v[k ? k - 1 : 0];
}

/* `runs` requests of `path` (POST `body`, GET when NULL); prints p50, p95.
 * Returns p95 in ms, or -1 on a failed request (printed). */
static double measure(CURL *h, const char *L, const char *base, const char *what, const char *path,
		      const char *body, unsigned runs)
{
	double ms[256];
	struct answer a = {""};
	char url[512];
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	long status = 0;

	snprintf(url, sizeof(url), "%s/api/v0/console/%s", base, path);
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &a);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
	if (body)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	if (runs > 256)
		runs = 256;
	/* One warm-up (connection, the engine's first read of the parts),
	 * then the runs. */
	for (unsigned i = 0; i <= runs; i++) {
		double t0 = clock_mono_s();
		CURLcode rc;

		a.bytes = 0;
		rc = curl_easy_perform(h);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		if (rc != CURLE_OK || status != 200) {
			printf("%s: %-44s failed: %s (HTTP %ld)\n", L, what,
			       rc != CURLE_OK ? curl_easy_strerror(rc) : "error", status);
			curl_slist_free_all(hdr);
			return -1;
		}
		if (i)
			ms[i - 1] = (clock_mono_s() - t0) * 1000;
	}
	curl_slist_free_all(hdr);
	qsort(ms, runs, sizeof(ms[0]), cmp_double);
	printf("%s: %-44s p50 %6.1f ms  p95 %6.1f ms  (target p95 < %.0f ms: %s)%s%s  %zu B\n", L,
	       what, pct(ms, runs, 0.5), pct(ms, runs, 0.95), TARGET_P95_MS,
	       pct(ms, runs, 0.95) < TARGET_P95_MS ? "met" : "MISSED", a.table[0] ? "  from " : "",
	       a.table, a.bytes);
	fflush(stdout);
	return pct(ms, runs, 0.95);
}

static void rfc3339(uint64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void api_figures(const char *L, const char *base, uint64_t t_end, unsigned runs)
{
	static const char *const widgets[] = {
	    "flow-rate",    "exporters",    "flow-last",       "graph",	       "top/src-as",
	    "top/src-port", "top/protocol", "top/src-country", "top/exporter", "top/etype"};
	/* The graphs: a request body is start, end, dimensions, the common
	 * fields and `extra`. */
	static const struct {
		const char *what, *path;
		uint64_t span;
		const char *dims, *extra;
	} graphs[] = {
	    {"graph/line 24 h by SrcAS, top 10", "graph/line", 86400, "\"SrcAS\"",
	     "\"points\":200,\"bidirectional\":false,\"previous-period\":false"},
	    {"graph/line 24 h by SrcAS, bidir + previous", "graph/line", 86400, "\"SrcAS\"",
	     "\"points\":200,\"bidirectional\":true,\"previous-period\":true"},
	    {"graph/line 7 days by SrcAS, top 10", "graph/line", SPAN_S, "\"SrcAS\"",
	     "\"points\":200,\"bidirectional\":false,\"previous-period\":false"},
	    {"graph/sankey 24 h InIfProvider>SrcAS>DstCountry", "graph/sankey", 86400,
	     "\"InIfProvider\",\"SrcAS\",\"DstCountry\"", "\"bidirectional\":false"},
	    {"graph/sankey 7 d InIfProvider>SrcAS>DstCountry", "graph/sankey", SPAN_S,
	     "\"InIfProvider\",\"SrcAS\",\"DstCountry\"", "\"bidirectional\":false"},
	};
	CURL *h = curl_easy_init();
	char start[32], end[32], body[1024];

	if (!h) {
		printf("%s: failed: no curl handle\n", L);
		return;
	}
	rfc3339(t_end, end, sizeof(end));
	for (size_t i = 0; i < sizeof(graphs) / sizeof(graphs[0]); i++) {
		rfc3339(t_end - graphs[i].span, start, sizeof(start));
		snprintf(body, sizeof(body),
			 "{\"start\":\"%s\",\"end\":\"%s\",\"dimensions\":[%s],\"limit\":10,"
			 "\"limitType\":\"avg\",\"filter\":\"\",\"truncate-v4\":32,"
			 "\"truncate-v6\":128,\"units\":\"l3bps\",%s}",
			 start, end, graphs[i].dims, graphs[i].extra);
		measure(h, L, base, graphs[i].what, graphs[i].path, body, runs);
	}
	{
		double sum = 0, worst = 0;
		int ok = 1;

		for (size_t i = 0; i < sizeof(widgets) / sizeof(widgets[0]); i++) {
			char what[64], path[64];
			double p95;

			snprintf(what, sizeof(what), "widget/%s", widgets[i]);
			snprintf(path, sizeof(path), "widget/%s", widgets[i]);
			p95 = measure(h, L, base, what, path, NULL, runs);
			if (p95 < 0)
				ok = 0;
			sum += p95;
			if (p95 > worst)
				worst = p95;
		}
		if (ok)
			printf("%s: %-44s p95 slowest %.1f ms, sum %.1f ms (the page asks in "
			       "parallel)\n",
			       L, "home widgets (10)", worst, sum);
	}
	curl_easy_cleanup(h);
}

/* ---- the browser ---- */

/* Runs console_browser.mjs on `base` (the console's URL; the data end at
 * t_end) when node, chromium and playwright-core are there; it prints its
 * own lines. */
static void browser_figures(const char *L, const char *base, uint64_t t_end)
{
	char end[32];
	char exe[PATH_MAX], top[PATH_MAX], script[PATH_MAX + 64], pw[PATH_MAX + 64];
	const char *chromium = getenv("CHROMIUM") ? getenv("CHROMIUM") : "/usr/bin/chromium";
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;
	int status;
	pid_t pid;

	if (n <= 0) {
		printf("%s: browser: skipped: /proc/self/exe unreadable\n", L);
		return;
	}
	exe[n] = '\0';
	/* build/weir -> the checkout (scripts beside the sources) */
	slash = strrchr(exe, '/');
	*slash = '\0';
	snprintf(top, sizeof(top), "%s/..", exe);
	snprintf(script, sizeof(script), "%s/user/bench/console_browser.mjs", top);
	snprintf(pw, sizeof(pw), "%s/web/node_modules/playwright-core/package.json", top);
	if (access(script, R_OK) < 0) {
		printf("%s: browser: skipped: %s not found (run from a checkout)\n", L, script);
		return;
	}
	if (system("command -v node >/dev/null 2>&1") != 0) {
		printf("%s: browser: skipped: node is not installed (make deps)\n", L);
		return;
	}
	if (access(chromium, X_OK) < 0) {
		printf("%s: browser: skipped: %s is not installed (make deps)\n", L, chromium);
		return;
	}
	if (access(pw, R_OK) < 0) {
		printf("%s: browser: skipped: web/node_modules/playwright-core missing (make "
		       "deps)\n",
		       L);
		return;
	}
	rfc3339(t_end, end, sizeof(end));
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		execlp("node", "node", script, base, L, end, "5", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		printf("%s: browser: failed (see above)\n", L);
}

/* ---- one engine ---- */

static int run_engine(const struct console_opts *o, const char *name, const char *url)
{
	struct store_config scfg;
	struct console_config ccfg;
	struct store_client *c = NULL;
	struct http_listener *l = NULL;
	struct console *con = NULL;
	struct error err = {""};
	char L[64], base[64];
	uint64_t t_end = 0;
	uint32_t version = 0;
	int r = 1;

	snprintf(L, sizeof(L), "console %s", name);
	if (store_config_defaults(&scfg) < 0)
		return 1;
	if (console_config_defaults(&ccfg) < 0) {
		store_config_free(&scfg);
		return 1;
	}
	free(scfg.url);
	free(scfg.database);
	scfg.url = strdup(url);
	scfg.database = strdup(DB);
	/* The fill is 7 days old at its start: no retention may take it. */
	scfg.retention.flows = scfg.retention.flows_1m = 0;
	scfg.retention.flows_5m = scfg.retention.flows_1h = 0;
	/* The fill's statements take minutes on a slow machine. */
	scfg.insert_timeout_ms = 600000;
	/* Every request measured is a query: no answer from the cache. */
	ccfg.cache_graph_ms = ccfg.cache_widget_ms = ccfg.cache_complete_ms = 0;
	if (!scfg.url || !scfg.database)
		goto out;
	if (store_client_new(&scfg, &c, &err) < 0) {
		printf("%s: skipped: %s\n", L, error_text(&err));
		r = 0;
		goto out;
	}
	log_set_level(LOG_LEVEL_WARN);
	store_client_server_version(c, &version);
	printf("%s: ClickHouse %u.%u.%u at %s\n", L, version / 1000000, version / 1000 % 1000,
	       version % 1000, url);
	fflush(stdout);
	if (fill(c, &scfg, L, o->flows, !strncmp(url, "embedded:", 9), &t_end))
		goto out;
	if (http_listener_new("127.0.0.1:0", NULL, &l, &err) < 0 ||
	    console_new(&ccfg, &scfg, l, NULL, &con, &err) < 0 || console_start(con, &err) < 0 ||
	    http_listener_start(l, &err) < 0) {
		printf("%s: failed: console: %s\n", L, error_text(&err));
		goto out;
	}
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", http_listener_port(l));
	printf("%s: console at %s, %u workers, caches off, %u runs per request after a "
	       "warm-up\n",
	       L, base, (unsigned)ccfg.workers, o->runs);
	api_figures(L, base, t_end, o->runs);
	if (o->browser)
		browser_figures(L, base, t_end);
	r = 0;
out:
	console_stop(con);
	http_listener_free(l);
	console_free(con);
	/* The last client of an embedded database closes its engine. */
	store_client_free(c);
	console_config_free(&ccfg);
	store_config_free(&scfg);
	return r;
}

static void usage(FILE *out, const void *ctx)
{
	fprintf(out,
		"usage: weir bench console [--engine server|embedded|both] [--flows N]\n"
		"                          [--runs N] [--keep DIR] [--no-browser]\n\n"
		"Fills ClickHouse with N flows (default 10000000) spread over the last 7\n"
		"days (a few big ASes and a long tail, countries, 4 exporters with transit,\n"
		"PNI and IX interfaces; flows_1m, flows_5m and flows_1h summed from them),\n"
		"runs the console in this process with its caches off and prints the\n"
		"latency p50/p95 of --runs requests (default 20, after one warm-up) of: a\n"
		"24 h graph by SrcAS, the same bidirectional with the previous period, a\n"
		"7-day graph, a sankey InIfProvider > SrcAS > DstCountry (24 h and 7 days)\n"
		"and each home widget. Target: p95 under 300 ms. Then, when node, chromium\n"
		"and web/node_modules are there, user/bench/console_browser.mjs: the time to\n"
		"the first graph on the home page and to redraw Visualize after Apply\n"
		"(target under 1 s) and the shipped JS/CSS gzip size (target 400 kB).\n"
		"--engine (default both): server starts a private clickhouse-server, embedded\n"
		"runs the engine of `make deps` in this process. The data are topped up to\n"
		"the present minute once filled (the widgets look at the last minutes).\n"
		"--keep DIR keeps them in DIR/server and DIR/embedded: a later run with as\n"
		"many flows, within a day, skips the fill and only tops them up.\n");
}

int bench_console_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"engine", required_argument, NULL, 'e'},
	    {"flows", required_argument, NULL, 'n'},
	    {"runs", required_argument, NULL, 'r'},
	    {"keep", required_argument, NULL, 'k'},
	    {"no-browser", no_argument, NULL, 'B'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct console_opts co = {.flows = 10000000, .runs = 20, .browser = 1};
	struct cli_opts o;
	int opt, r = 0, want_server = 1, want_embedded = 1;

	cli_opts_init(&o, argc, argv, "h", opts, usage, NULL);
	while ((opt = cli_opts_next(&o)) >= 0) {
		switch (opt) {
		case 'e':
			if (bench_engines_parse(optarg, &want_server, &want_embedded) < 0)
				return cli_opts_usage_error(&o);
			break;
		case 'n':
			co.flows = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			co.runs = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'k':
			co.keep = optarg;
			break;
		case 'B':
			co.browser = 0;
			break;
		}
	}
	if (opt == CLI_OPTS_EXIT)
		return o.status;
	if (co.flows == 0 || co.runs == 0 || co.runs > 256)
		return cli_opts_usage_error(&o);
	if (co.keep && mkdir(co.keep, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "weir bench console: %s: %s\n", co.keep, strerror(errno));
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* The server first: once the embedded engine ran, this process keeps
	 * its memory and threads. */
	if (want_server) {
		char dir[PATH_MAX];
		struct bench_clickhouse_config cc = {.name = "weir-bench-console",
						     .watch_pid = getpid()};
		struct bench_clickhouse *server = NULL;
		struct error err;

		if (co.keep) {
			snprintf(dir, sizeof(dir), "%.*s/server", PATH_MAX - 16, co.keep);
			if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
				fprintf(stderr, "weir bench console: %s: %s\n", dir,
					strerror(errno));
				return 1;
			}
			cc.dir = dir;
		}
		if (!bench_clickhouse_available()) {
			printf("console server: skipped: clickhouse-server is not installed\n");
		} else if (bench_clickhouse_new(&cc, &server, &err) < 0 ||
			   bench_clickhouse_start(server, &err) < 0) {
			fprintf(stderr, "weir bench console: clickhouse-server did not start: %s\n",
				error_text(&err));
			r = 1;
		} else {
			r |= run_engine(&co, "server", bench_clickhouse_url(server));
		}
		bench_clickhouse_free(server);
	}
	if (want_embedded) {
		char dir[PATH_MAX - 16], eurl[PATH_MAX];

		if (co.keep) {
			snprintf(dir, sizeof(dir), "%.*s/embedded", PATH_MAX - 40, co.keep);
			if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
				fprintf(stderr, "weir bench console: %s: %s\n", dir,
					strerror(errno));
				return 1;
			}
		} else if (bench_tmpdir_new("weir-bench-console-embedded", dir, sizeof(dir)) < 0) {
			fprintf(stderr, "weir bench console: no temporary directory: %s\n",
				strerror(errno));
			return 1;
		}
		snprintf(eurl, sizeof(eurl), "embedded://%s", dir);
		r |= run_engine(&co, "embedded", eurl);
		if (!co.keep)
			bench_dir_remove(dir);
	}
	curl_global_cleanup();
	return r;
}
