// SPDX-License-Identifier: AGPL-3.0-or-later
/* Retention, one mechanism per server, applied by the retention pass (at
 * start, then every retention-interval): on current ClickHouse
 * (ORCH_TTL_VERSION and above, the embedded engine) a TTL on each table, kept
 * equal to clickhouse.retention; on older servers (18.16 has no TTL) whole
 * partitions dropped. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "orchestrator.h"

static const struct {
	const char *table;
	size_t offset; /* in struct store_retention_config */
} tables[] = {
    {"flows", offsetof(struct store_retention_config, flows)},
    {"flows_1m", offsetof(struct store_retention_config, flows_1m)},
    {"flows_5m", offsetof(struct store_retention_config, flows_5m)},
    {"flows_1h", offsetof(struct store_retention_config, flows_1h)},
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

static uint64_t table_age_ms(const struct store_config *cfg, size_t i)
{
	uint64_t age;

	memcpy(&age, (const char *)&cfg->retention + tables[i].offset, sizeof(age));
	return age;
}

/* ---- current servers: TTL ---- */

/* Table settings that make TTL as cheap as a partition drop:
 * - ttl_only_drop_parts: a part goes whole once its newest row expired,
 *   never rewritten to delete some of its rows. The tables are partitioned
 *   by day (flows_1h by month) and a part never spans partitions, so a day
 *   is gone once its newest row is older than the retention, as with the
 *   partition drop of older servers (a part holding only its older rows may
 *   go before).
 * - materialize_ttl_recalculate_only: a changed TTL recomputes each part's
 *   TTL bounds (reads TimeReceived only) instead of rewriting every part;
 *   the expired parts are then dropped whole, as above.
 * - merge_with_ttl_timeout: a partition is looked at for expired parts once
 *   an hour (the default retention-interval) rather than every 4 hours. */
#define TTL_SETTINGS                                                                               \
	"ttl_only_drop_parts = 1, materialize_ttl_recalculate_only = 1, "                          \
	"merge_with_ttl_timeout = 3600"

/* The TTL expression for a retention, as ClickHouse prints it back in
 * system.tables (so that an unchanged retention is recognised and nothing is
 * altered): "TimeReceived + toIntervalSecond(1296000)". */
static void ttl_expr(char *out, size_t size, uint64_t age_ms)
{
	uint64_t s = (age_ms + 999) / 1000;

	snprintf(out, size, "TimeReceived + toIntervalSecond(%llu)", (unsigned long long)s);
}

/* Runs the query (printf format) about `table`; on failure logs that
 * `what` failed, with the error and the query. */
static int run(struct store_client *c, const char *table, char **out, const char *what,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int run(struct store_client *c, const char *table, char **out, const char *what,
	       const char *fmt, ...)
{
	char sql[512];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	r = store_client_query(c, sql, out);
	if (r < 0)
		log_error(what, "table=%s error=\"%s\" sql=\"%.200s\"", table,
			  store_client_error(c), sql);
	return r;
}

/* Returns 1 when the table's TTL or settings were changed, 0 when they were
 * right already, or -errno. */
static int table_ttl(struct store_client *c, const char *table, uint64_t age_ms)
{
	char want[96], *out = NULL, *tab;
	int r, has_settings, changed = 0;

	r = run(c, table, &out, "retention: cannot read the TTL",
		"SELECT extract(engine_full, ' TTL (.+?)(?: SETTINGS |$)'), "
		"position(engine_full, 'ttl_only_drop_parts = 1') > 0 FROM system.tables "
		"WHERE database = currentDatabase() AND name = '%s'",
		table);
	if (r < 0)
		return r;
	tab = strchr(out, '\t');
	if (!tab) { /* no such table: the migrations make it */
		free(out);
		return 0;
	}
	*tab = 0;
	has_settings = tab[1] == '1';
	want[0] = 0;
	if (age_ms)
		ttl_expr(want, sizeof(want), age_ms);
	/* The settings first: the TTL change below is then recomputed, not
	 * rewritten, in the parts already there. */
	if (!has_settings) {
		r = run(c, table, NULL, "retention: cannot set the TTL settings",
			"ALTER TABLE %s MODIFY SETTING " TTL_SETTINGS, table);
		if (r < 0)
			goto out;
		changed = 1;
	}
	if (strcmp(out, want)) {
		if (age_ms)
			r = run(c, table, NULL, "retention: cannot set the TTL",
				"ALTER TABLE %s MODIFY TTL %s", table, want);
		else
			r = run(c, table, NULL, "retention: cannot remove the TTL",
				"ALTER TABLE %s REMOVE TTL", table);
		if (r < 0)
			goto out;
		log_info("retention: TTL set", "table=%s ttl=\"%s\" was=\"%s\"", table,
			 age_ms ? want : "none (keep forever)", out[0] ? out : "none");
		changed = 1;
	}
	r = changed;
out:
	free(out);
	return r;
}

int orch_retention_uses_ttl(uint32_t server_version)
{
	return server_version >= ORCH_TTL_VERSION;
}

int orch_retention_ttl_sync(struct store_client *c, const struct store_config *cfg)
{
	int changed = 0;

	for (size_t i = 0; i < NTABLES; i++) {
		int r = table_ttl(c, tables[i].table, table_age_ms(cfg, i));

		if (r < 0)
			return r;
		changed += r;
	}
	return changed;
}

/* ---- older servers: partition drops ---- */

static int table_retention(struct store_client *c, const char *table, uint64_t age_ms,
			   uint64_t now_s)
{
	char q[512], *out = NULL, *line, *save = NULL;
	uint64_t cutoff = now_s > age_ms / 1000 ? now_s - age_ms / 1000 : 0;
	int r, dropped = 0;

	/* partition is the partition key's value as text (20240131, 202401):
	 * DROP PARTITION takes it as a literal. */
	r = run(c, table, &out, "retention: cannot list partitions",
		"SELECT partition, toUInt32(max(max_time)) FROM system.parts WHERE active "
		"AND database = currentDatabase() AND table = '%s' GROUP BY partition "
		"ORDER BY partition",
		table);
	if (r < 0)
		return r;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tab = strchr(line, '\t');
		uint64_t newest;

		if (!tab)
			continue;
		*tab = 0;
		newest = strtoull(tab + 1, NULL, 10);
		/* Partition values are numbers here; refuse anything else
		 * rather than paste it into SQL. */
		if (line[0] == 0 || strspn(line, "0123456789") != strlen(line))
			continue;
		if (newest >= cutoff)
			continue;
		snprintf(q, sizeof(q), "ALTER TABLE %s DROP PARTITION %s", table, line);
		r = store_client_query(c, q, NULL);
		if (r < 0) {
			log_error("retention: drop failed", "table=%s partition=%s error=\"%s\"",
				  table, line, store_client_error(c));
			break;
		}
		log_info("retention: partition dropped",
			 "table=%s partition=%s newest_row=%llu cutoff=%llu", table, line,
			 (unsigned long long)newest, (unsigned long long)cutoff);
		dropped++;
	}
	free(out);
	return r < 0 ? r : dropped;
}

int orch_retention_run_unlocked(struct store_client *c, const struct store_config *cfg,
				uint64_t now_s)
{
	uint32_t version;
	int total = 0, r;

	r = store_client_server_version(c, &version);
	if (r < 0) {
		log_error("retention: clickhouse unreachable", "error=\"%s\"",
			  store_client_error(c));
		return r;
	}
	/* The TTL drops what is old on its own; the pass only makes it follow
	 * the configuration (the first pass, at start, sets it). Dropping
	 * partitions as well would be a second mechanism, with its own idea of
	 * what is old. */
	if (orch_retention_uses_ttl(version)) {
		r = orch_retention_ttl_sync(c, cfg);
		return r < 0 ? r : 0;
	}
	for (size_t i = 0; i < NTABLES; i++) {
		uint64_t age = table_age_ms(cfg, i);

		if (age == 0)
			continue;
		r = table_retention(c, tables[i].table, age, now_s);
		if (r < 0)
			return r;
		total += r;
	}
	return total;
}
