// SPDX-License-Identifier: AGPL-3.0-or-later
/* ClickHouse schema: numbered, idempotent migration steps recorded in
 * schema_migrations, one history for every server: what differs between
 * ClickHouse 18.16 (Debian) and current versions is gated on the server's
 * version, in the one table below. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "orchestrator.h"

/* The tests run every step on 18.16 (the server) and on the embedded engine
 * (26.7, WEIR_TEST_STORE=embedded), so both sides of each gate are
 * exercised.
 *
 * Where the two differ, in one place (gated: what a newer server changes;
 * the rest keeps the SQL both take, which 26.7 runs as it is):
 *   feature                 18.16            26.7 (embedded)   weir's SQL
 *   LowCardinality(String)  experimental     yes               gated: MODERN_VERSION (20.3)
 *   column CODEC            no               yes               gated: MODERN_VERSION (20.3)
 *   TTL (retention)         no               yes               gated: ORCH_TTL_VERSION (22.8):
 *                                                              TTL TimeReceived + retention,
 *                                                              parts dropped whole
 *                                                              (ttl_only_drop_parts), set by
 *                                                              the retention pass (at start,
 *                                                              then every interval) to follow
 *                                                              clickhouse.retention; below,
 *                                                              that pass drops partitions
 *                                                              (retention.c). Never both.
 *                                                              Not a step: retention is the
 *                                                              configuration of whoever
 *                                                              applies it (weir run, weir
 *                                                              orchestrator), never of an
 *                                                              outlet that only migrates; and
 *                                                              a server upgraded past 22.8
 *                                                              moves to TTL at its next pass.
 *   flows' partitions       by day           by hour           gated: ORCH_TTL_VERSION (22.8),
 *                                                              as retention: where a TTL
 *                                                              drops whole parts, an hour's
 *                                                              parts go once all expired;
 *                                                              an hour also bounds how large
 *                                                              a part grows, hence how many
 *                                                              times a row is merged (step
 *                                                              1). Below, daily: the days
 *                                                              retention.c drops. Tables
 *                                                              created before session 11:
 *                                                              daily everywhere (kept).
 *   IPv6 type               no               yes               not used: FixedString(16),
 *                                                              see below
 *   ADD COLUMN IF NOT EXISTS no              yes               not used: system.columns
 *   UInt128 (communities)   no               yes               not used: Nested arrays
 *
 * Why not IPv6 for the addresses (ExporterAddress, SrcAddr, DstAddr,
 * NextHop, Src/DstAddrNAT), although it is the same 16 bytes on disk (so
 * nothing is saved, only the text form of a plain SELECT gained):
 * - existing databases cannot move: ExporterAddress, SrcAddr and DstAddr are
 *   in the sorting key of flows (ExporterAddress in every consolidated
 *   table's), and ClickHouse refuses ALTER MODIFY COLUMN on a key column; so
 *   only new databases would get IPv6, and the same version of weir would
 *   write two schemas on the same server, told apart at every query;
 * - the console's filter SQL (user/console/filter.c put_match) compares
 *   with unhex('...') literals, a String: IPv6 = String parses the string as
 *   an address in text and fails on 16 raw bytes, so the filter language,
 *   which is pure and knows no server, would need the column's type;
 * - the writer's Native blocks (user/store/native.c, consolidate.c,
 *   repair.c's INSERT ... SELECT) name FixedString(16) in their headers: each
 *   would need the type per table, or rely on the server converting;
 * - the console decodes FixedString escapes in answers (query.c) and asks
 *   IPv6NumToString() for text: both would need checking on both types.
 * Each is small, but together they touch four stages for no gain on disk;
 * the read-only query endpoint can print addresses with IPv6NumToString. */
/* 20.3 LTS: LowCardinality without the experimental setting, column codecs. */
#define MODERN_VERSION 20003000u

struct mig {
	struct store_client *c;
	const struct store_config *cfg;
	uint32_t server_version;
	int modern;
	int hourly; /* flows partitioned by hour (the gate table above) */
	unsigned step;
};

/* ---- columns ---- */

enum { STR_LC = 1 }; /* a string column that becomes LowCardinality on modern servers */

struct col {
	const char *name;
	const char *type;
	int flags;
};

static const char boundary_type[] = "Enum8('undefined' = 0, 'external' = 1, 'internal' = 2)";

/* Enrichment columns (filled by the enrichment stage; empty until then),
 * each placed after the decoded column named in `after`. */
static const struct {
	const char *after;
	struct col cols[14];
} enrich_cols[] = {
    {"ExporterAddress",
     {{"ExporterName", "String", STR_LC},
      {"ExporterGroup", "String", STR_LC},
      {"ExporterRole", "String", STR_LC},
      {"ExporterSite", "String", STR_LC},
      {"ExporterRegion", "String", STR_LC},
      {"ExporterTenant", "String", STR_LC}}},
    {"DstNetMask",
     {{"SrcNetName", "String", STR_LC},
      {"DstNetName", "String", STR_LC},
      {"SrcNetRole", "String", STR_LC},
      {"DstNetRole", "String", STR_LC},
      {"SrcNetSite", "String", STR_LC},
      {"DstNetSite", "String", STR_LC},
      {"SrcNetRegion", "String", STR_LC},
      {"DstNetRegion", "String", STR_LC},
      {"SrcNetTenant", "String", STR_LC},
      {"DstNetTenant", "String", STR_LC},
      {"SrcCountry", "FixedString(2)", 0},
      {"DstCountry", "FixedString(2)", 0}}},
    {"DstAS",
     {{"SrcGeoCity", "String", STR_LC},
      {"DstGeoCity", "String", STR_LC},
      {"SrcGeoState", "String", STR_LC},
      {"DstGeoState", "String", STR_LC}}},
    {"OutIf",
     {{"InIfName", "String", STR_LC},
      {"OutIfName", "String", STR_LC},
      {"InIfDescription", "String", 0},
      {"OutIfDescription", "String", 0},
      {"InIfSpeed", "UInt32", 0},
      {"OutIfSpeed", "UInt32", 0},
      {"InIfConnectivity", "String", STR_LC},
      {"OutIfConnectivity", "String", STR_LC},
      {"InIfProvider", "String", STR_LC},
      {"OutIfProvider", "String", STR_LC},
      {"InIfBoundary", boundary_type, 0},
      {"OutIfBoundary", boundary_type, 0}}},
};

#define NENRICH (sizeof(enrich_cols) / sizeof(enrich_cols[0]))

/* Columns added by step 4, derived from the AS path at insert time. */
#define dst_nth_as store_dst_nth_as

/* Not on 18.16: there it needs a query setting on every CREATE, and it made
 * a consolidated view slower (9.0-9.4 against 7.7-8.2 us of server CPU per
 * flow for flows plus one view, `weir bench store`, same run). */
static const char *str_type(const struct mig *m, const struct col *c)
{
	if ((c->flags & STR_LC) && m->modern)
		return "LowCardinality(String)";
	return c->type;
}

/* Type of any flows column by name, NULL if unknown. */
static const char *column_type(const struct mig *m, const char *name)
{
	for (size_t i = 0; i < NENRICH; i++)
		for (const struct col *c = enrich_cols[i].cols; c->name; c++)
			if (!strcmp(c->name, name))
				return str_type(m, c);
	for (size_t i = 0; i < 3; i++)
		if (!strcmp(name, dst_nth_as[i]))
			return "UInt32";
	const struct flow_field *f = flow_field_find(name);
	return f ? store_field_type(f) : NULL;
}

/* Codecs where they pay, on servers that have them: time columns are
 * near-sorted (delta), the rest take ZSTD's better ratio. */
static const char *column_codec(const struct mig *m, const char *name)
{
	if (!m->modern)
		return "";
	if (!strcmp(name, "TimeReceived")) /* sorted (by the minute in older tables): Delta */
		return " CODEC(Delta, ZSTD(1))";
	if (!strcmp(name, "SrcAddr") || !strcmp(name, "DstAddr") || !strcmp(name, "NextHop"))
		return " CODEC(ZSTD(1))";
	return "";
}

/* The consolidated tables' dimensions live with the writer that sums them
 * (store.h): one list for both. */
#define consolidated_dims store_consolidated_dims
#define NDIMS		  store_consolidated_dims_count
#define PRIMARY_KEY_DIMS  STORE_CONSOLIDATED_PRIMARY_KEY_DIMS

static const struct {
	const char *table;
	const char *round;     /* rounds TimeReceived down to the resolution */
	const char *partition; /* retention: a part never spans two */
} consolidated[] = {
    {"flows_1m", "toStartOfMinute", "toYYYYMMDD(TimeReceived)"},
    {"flows_5m", "toStartOfFiveMinute", "toYYYYMMDD(TimeReceived)"},
    {"flows_1h", "toStartOfHour", "toYYYYMM(TimeReceived)"},
};
#define NCONSOLIDATED (sizeof(consolidated) / sizeof(consolidated[0]))

/* ---- statements ---- */

static int exec(struct mig *m, const char *sql)
{
	int r;

	log_debug("migration statement", "step=%u sql=\"%.200s\"", m->step, sql);
	r = store_client_query(m->c, sql, NULL);
	if (r < 0)
		log_error("migration statement failed", "step=%u error=\"%s\" sql=\"%.300s\"",
			  m->step, store_client_error(m->c), sql);
	return r;
}

static int exec_sql(struct mig *m, struct buf *s)
{
	int r = s->nomem ? -ENOMEM : exec(m, s->data);

	buf_free(s);
	return r;
}

/* 1 when `sql` (a count) answers > 0, 0 when it answers 0, or -errno. */
static int exists(struct mig *m, const char *fmt, const char *a, const char *b)
{
	char q[512];
	uint64_t n;
	int r;

	snprintf(q, sizeof(q), fmt, a, b);
	r = store_client_query_u64(m->c, q, &n);
	if (r < 0) {
		log_error("migration check failed", "step=%u error=\"%s\"", m->step,
			  store_client_error(m->c));
		return r;
	}
	return n > 0;
}

static int column_exists(struct mig *m, const char *table, const char *column)
{
	return exists(m,
		      "SELECT count() FROM system.columns WHERE database = currentDatabase() "
		      "AND table = '%s' AND name = '%s'",
		      table, column);
}

/* ---- step 1: flows ---- */

/* flows' sorting key (store_flows_sort_key, which the writer sorts each
 * batch by), its first `n` columns: "TimeReceived, ExporterAddress, ...". */
static void add_flows_key(struct buf *s, size_t n)
{
	for (size_t i = 0; i < n && store_flows_sort_key[i]; i++)
		buf_printf(s, i ? ", %s" : "%s", store_flows_sort_key[i]);
}

/* flows' partitions (the gate table): toYYYYMMDD(TimeReceived) * 100 +
 * toHour(TimeReceived) names an hour as a number (2026120410), which a
 * partition drop would take as it takes a day's. */
static const char flows_partition_daily[] = "toYYYYMMDD(TimeReceived)";
static const char flows_partition_hourly[] =
    "toYYYYMMDD(TimeReceived) * 100 + toHour(TimeReceived)";

/* "ENGINE = MergeTree PARTITION BY ... ORDER BY ..." of flows as created
 * now (step 1, orch_flows_rekey). */
static void add_flows_engine(const struct mig *m, struct buf *s)
{
	buf_printf(s, "ENGINE = MergeTree\nPARTITION BY %s\nPRIMARY KEY (",
		   m->hourly ? flows_partition_hourly : flows_partition_daily);
	add_flows_key(s, STORE_FLOWS_PRIMARY_KEY_COLUMNS);
	buf_printf(s, ")\nORDER BY (");
	add_flows_key(s, SIZE_MAX);
	buf_printf(s, ")");
}

static void flows_column(struct mig *m, struct buf *s, const char *name, int *first)
{
	buf_printf(s, "%s\n  %s %s%s", *first ? "" : ",", name, column_type(m, name),
		   column_codec(m, name));
	*first = 0;
}

static int step_flows(struct mig *m)
{
	struct buf s = {0};
	int first = 1;

	buf_printf(&s, "CREATE TABLE IF NOT EXISTS flows (");
	for (size_t i = 0; i < flow_fields_count; i++) {
		const char *name = flow_fields[i].name;

		if (!store_field_stored(&flow_fields[i]))
			continue;
		flows_column(m, &s, name, &first);
		for (size_t e = 0; e < NENRICH; e++)
			if (!strcmp(enrich_cols[e].after, name))
				for (const struct col *c = enrich_cols[e].cols; c->name; c++)
					flows_column(m, &s, c->name, &first);
	}
	/* The console's queries all carry a time range; then they filter or
	 * group by exporter and interface (Akvorado's key). The sorting key
	 * goes on past the primary key only for compression: rows of one AS
	 * pair and one host end up side by side, which took `weir bench store`
	 * from 26.5 to 18.7 bytes per flow (realistic flows at 50k flows/s,
	 * zstd).
	 * The key starts with the second (TimeReceived as stored), as
	 * Akvorado's does. Until session 11 it started with the minute, which
	 * kept a minute of one interface contiguous, but made merges the
	 * embedded engine's largest cost: the writer's batches are runs of
	 * consecutive seconds, so the parts of one minute interleaved row by
	 * row in every merge (3.2-5 us of the engine's CPU per row merged); by
	 * the second they are nearly disjoint ranges (~1 us), for 7 % more
	 * bytes (18.0 against 16.8 per flow): user/store/README.md, "Sustained
	 * rate: merges". Tables created before keep their key (a sorting key
	 * cannot be reordered in place): orch_migrate says so at each start,
	 * the writer sorts as they do, `weir orchestrator --rekey-flows`
	 * moves them (orch_flows_rekey).
	 * Partitions: retention drops whole ones (18.16), or the parts of one
	 * once all their rows are past the TTL. By the hour where the TTL does
	 * it: a part then never holds more than an hour of flows, so rows are
	 * merged fewer times over their life than in a day's partition (with
	 * the embedded engine's cap on a merge's size, weir-engine.xml). */
	buf_printf(&s, "\n) ");
	add_flows_engine(m, &s);
	return exec_sql(m, &s);
}

/* ---- step 2: consolidated tables and their views ---- */

/* The dimension list of the consolidated tables, its first `limit` names:
 * writes "a, b, c" (with_nth_as appends Dst1stAS... from step 4). */
static void add_dims(struct buf *s, int with_nth_as, size_t limit)
{
	size_t n = 0;

	for (size_t i = 0; i < NDIMS && n < limit; i++, n++)
		buf_printf(s, "%s%s", n ? ", " : "", consolidated_dims[i]);
	for (size_t i = 0; with_nth_as && i < 3 && n < limit; i++, n++)
		buf_printf(s, ", %s", dst_nth_as[i]);
}

static int create_consolidated_table(struct mig *m, size_t t)
{
	struct buf s = {0};

	buf_printf(&s, "CREATE TABLE IF NOT EXISTS %s (", consolidated[t].table);
	for (size_t i = 0; i < NDIMS; i++)
		buf_printf(&s, "%s\n  %s %s%s", i ? "," : "", consolidated_dims[i],
			   column_type(m, consolidated_dims[i]),
			   column_codec(m, consolidated_dims[i]));
	buf_printf(
	    &s,
	    ",\n  Bytes UInt64,\n  Packets UInt64\n) ENGINE = SummingMergeTree((Bytes, Packets))\n"
	    "PARTITION BY %s\nPRIMARY KEY (",
	    consolidated[t].partition);
	add_dims(&s, 0, PRIMARY_KEY_DIMS);
	/* Every dimension is in the sorting key: SummingMergeTree keeps an
	 * arbitrary value of a column outside it when rows are merged. */
	buf_printf(&s, ")\nORDER BY (");
	add_dims(&s, 0, NDIMS);
	buf_printf(&s, ")");
	return exec_sql(m, &s);
}

/* The view sums each inserted block by dimension (GROUP BY) before writing,
 * so a consolidated table receives far fewer rows than flows; the
 * SummingMergeTree finishes the sums across blocks when it merges. Bytes and
 * Packets are summed as exported, SamplingRate is a dimension: queries
 * multiply, as on flows (Akvorado does the same). */
static int create_consolidated_view(struct mig *m, size_t t, int with_nth_as, const char *source)
{
	struct buf s = {0};

	buf_printf(&s,
		   "CREATE MATERIALIZED VIEW IF NOT EXISTS %s_consumer TO %s AS SELECT "
		   "%s(TimeReceived) AS TimeReceived",
		   consolidated[t].table, consolidated[t].table, consolidated[t].round);
	for (size_t i = 1; i < NDIMS; i++)
		buf_printf(&s, ", %s", consolidated_dims[i]);
	for (size_t i = 0; with_nth_as && i < 3; i++)
		buf_printf(&s, ", %s", dst_nth_as[i]);
	buf_printf(&s, ", sum(Bytes) AS Bytes, sum(Packets) AS Packets FROM %s GROUP BY ", source);
	add_dims(&s, with_nth_as, SIZE_MAX);
	return exec_sql(m, &s);
}

static int step_consolidated(struct mig *m)
{
	int r = 0;

	for (size_t t = 0; t < NCONSOLIDATED && r == 0; t++) {
		r = create_consolidated_table(m, t);
		if (r == 0)
			r = create_consolidated_view(m, t, 0, "flows");
	}
	return r;
}

/* ---- step 3: exporters ---- */

static const char *const exporter_cols[] = {"ExporterName", "ExporterGroup",  "ExporterRole",
					    "ExporterSite", "ExporterRegion", "ExporterTenant"};
/* exporters' interface columns and the flow columns they come from */
static const struct {
	const char *name, *in, *out;
} if_cols[] = {
    {"IfName", "InIfName", "OutIfName"},
    {"IfDescription", "InIfDescription", "OutIfDescription"},
    {"IfSpeed", "InIfSpeed", "OutIfSpeed"},
    {"IfConnectivity", "InIfConnectivity", "OutIfConnectivity"},
    {"IfProvider", "InIfProvider", "OutIfProvider"},
    {"IfBoundary", "InIfBoundary", "OutIfBoundary"},
};

static int create_exporters_view(struct mig *m, const char *source);

static int step_exporters(struct mig *m)
{
	struct buf s = {0};
	int r;

	/* One row per exporter and interface; ReplacingMergeTree keeps the
	 * latest sighting (TimeReceived) when parts merge. */
	buf_printf(&s, "CREATE TABLE IF NOT EXISTS exporters (\n  TimeReceived DateTime,\n"
		       "  ExporterAddress FixedString(16)");
	for (size_t i = 0; i < 6; i++)
		buf_printf(&s, ",\n  %s %s", exporter_cols[i], column_type(m, exporter_cols[i]));
	buf_printf(&s, ",\n  IfIndex UInt32");
	for (size_t i = 0; i < 6; i++)
		buf_printf(&s, ",\n  %s %s", if_cols[i].name, column_type(m, if_cols[i].in));
	buf_printf(
	    &s,
	    "\n) ENGINE = ReplacingMergeTree(TimeReceived)\nORDER BY (ExporterAddress, IfIndex)");
	r = exec_sql(m, &s);
	if (r < 0)
		return r;
	return create_exporters_view(m, "flows");
}

/* Both interfaces of each row of `source`, reduced per block by GROUP BY. */
static int create_exporters_view(struct mig *m, const char *source)
{
	struct buf s = {0};

	buf_printf(
	    &s, "CREATE MATERIALIZED VIEW IF NOT EXISTS exporters_consumer TO exporters AS SELECT "
		"max(TimeReceived) AS TimeReceived, ExporterAddress");
	for (size_t i = 0; i < 6; i++)
		buf_printf(&s, ", any(%s) AS %s", exporter_cols[i], exporter_cols[i]);
	buf_printf(&s, ", IfIndex_ AS IfIndex");
	for (size_t i = 0; i < 6; i++)
		buf_printf(&s, ", any(%s_) AS %s", if_cols[i].name, if_cols[i].name);
	buf_printf(&s, " FROM %s ARRAY JOIN [InIf, OutIf] AS IfIndex_", source);
	for (size_t i = 0; i < 6; i++)
		buf_printf(&s, ", [%s, %s] AS %s_", if_cols[i].in, if_cols[i].out, if_cols[i].name);
	buf_printf(&s, " GROUP BY ExporterAddress, IfIndex_");
	return exec_sql(m, &s);
}

/* ---- step 4: Dst1stAS, Dst2ndAS, Dst3rdAS ----
 * A column added in a later release, the way every later one should be: in
 * flows a MATERIALIZED column (computed at insert, and for the parts written
 * before the step computed when read, so no row is rewritten or lost); in the
 * consolidated tables an ordinary column added to the end of the sorting key;
 * the views are dropped first and recreated with the column last, because
 * on 18.16 a view that does not fill every column of its target fails the
 * insert into flows. */
static int step_nth_as(struct mig *m)
{
	struct buf s = {0};
	int r = 0;

	for (size_t t = 0; t < NCONSOLIDATED && r == 0; t++) {
		buf_printf(&s, "DROP TABLE IF EXISTS %s_consumer", consolidated[t].table);
		r = exec_sql(m, &s);
	}
	for (size_t i = 0; i < 3 && r == 0; i++) {
		r = column_exists(m, "flows", dst_nth_as[i]);
		if (r == 0) {
			buf_printf(&s,
				   "ALTER TABLE flows ADD COLUMN %s UInt32 MATERIALIZED "
				   "arrayElement(DstASPath, %zu)",
				   dst_nth_as[i], i + 1);
			r = exec_sql(m, &s);
		} else if (r > 0) {
			r = 0;
		}
	}
	for (size_t t = 0; t < NCONSOLIDATED && r == 0; t++) {
		r = column_exists(m, consolidated[t].table, dst_nth_as[0]);
		if (r < 0)
			break;
		if (r == 0) {
			/* One ALTER: MODIFY ORDER BY may only append columns
			 * added by the same statement. */
			buf_printf(&s, "ALTER TABLE %s", consolidated[t].table);
			for (size_t i = 0; i < 3; i++)
				buf_printf(&s, "%s ADD COLUMN %s UInt32", i ? "," : "",
					   dst_nth_as[i]);
			buf_printf(&s, ", MODIFY ORDER BY (");
			add_dims(&s, 1, SIZE_MAX);
			buf_printf(&s, ")");
			r = exec_sql(m, &s);
		} else {
			r = 0;
		}
		if (r == 0)
			r = create_consolidated_view(m, t, 1, "flows");
	}
	return r;
}

/* ---- step 5: PacketSize, PacketSizeBucket ----
 * ALIAS columns: computed when read, nothing stored, so they can be added to
 * every table without rewriting or touching the views. */
static int step_packet_size(struct mig *m)
{
	static const char *const tables[] = {"flows", "flows_1m", "flows_5m", "flows_1h"};
	static const char bucket[] =
	    "multiIf(PacketSize < 64, '0-63', PacketSize < 128, '64-127', PacketSize < 256, "
	    "'128-255', PacketSize < 512, '256-511', PacketSize < 768, '512-767', "
	    "PacketSize < 1024, '768-1023', PacketSize < 1280, '1024-1279', PacketSize < 1501, "
	    "'1280-1500', PacketSize < 2048, '1501-2047', PacketSize < 3072, '2048-3071', "
	    "PacketSize < 4096, '3072-4095', PacketSize < 8192, '4096-8191', "
	    "PacketSize < 10240, '8192-10239', PacketSize < 16384, '10240-16383', "
	    "PacketSize < 32768, '16384-32767', PacketSize < 65536, '32768-65535', '65536-Inf')";
	struct buf s = {0};
	int r = 0;

	for (size_t t = 0; t < 4 && r >= 0; t++) {
		r = column_exists(m, tables[t], "PacketSize");
		if (r == 0) {
			buf_printf(
			    &s,
			    "ALTER TABLE %s ADD COLUMN PacketSize UInt64 ALIAS intDiv(Bytes, "
			    "Packets)",
			    tables[t]);
			r = exec_sql(m, &s);
		}
		if (r >= 0)
			r = column_exists(m, tables[t], "PacketSizeBucket");
		if (r == 0) {
			buf_printf(&s, "ALTER TABLE %s ADD COLUMN PacketSizeBucket String ALIAS %s",
				   tables[t], bucket);
			r = exec_sql(m, &s);
		}
	}
	return r < 0 ? r : 0;
}

/* ---- step 6: TimeFlowStartMs and TimeFlowEndMs no longer stored ----
 * Decoded but not kept (store_field_stored()): not in DESIGN.md's columns,
 * not in Akvorado's, and the largest columns after the addresses. Tables
 * created before this release lose those two columns and nothing else. */
static int step_drop_flow_times(struct mig *m)
{
	static const char *const gone[] = {"TimeFlowStartMs", "TimeFlowEndMs"};
	struct buf s = {0};
	int r = 0;

	for (size_t i = 0; i < 2 && r >= 0; i++) {
		r = column_exists(m, "flows", gone[i]);
		if (r > 0) {
			log_info("dropping column no longer stored", "table=flows column=%s",
				 gone[i]);
			buf_printf(&s, "ALTER TABLE flows DROP COLUMN %s", gone[i]);
			r = exec_sql(m, &s);
		}
	}
	return r < 0 ? r : 0;
}

/* ---- step 7: the outlet writes the consolidated tables ----
 * The views on flows cost ClickHouse ~15 us of CPU per flow on 18.16 (a
 * GROUP BY over 40-odd columns of each inserted block, which it barely
 * reduces), three times the cost of storing the flow itself: the writer
 * now sums flows in memory and writes flows_1m, flows_5m, flows_1h and
 * exporters itself (user/store/consolidate.c), in blocks already sorted.
 * Rows already in those tables stay; only the views go. A writer of an
 * older release must not run against this schema: its flows would miss the
 * consolidated tables. */
static int step_consolidate_in_outlet(struct mig *m)
{
	static const char *const old_views[] = {"flows_1m_consumer", "flows_5m_consumer",
						"flows_1h_consumer", "exporters_consumer"};
	struct buf s = {0};
	int r = 0;

	for (size_t i = 0; i < 4 && r == 0; i++) {
		buf_printf(&s, "DROP TABLE IF EXISTS %s", old_views[i]);
		r = exec_sql(m, &s);
	}
	return r;
}

/* ---- step 8: the consolidation journal ----
 * Each writer of `weir run` records here, before it inserts flows that its
 * consolidated tables do not hold yet, the least TimeReceived of those
 * (Dirty = 1), and once they are in every consolidated table that it is
 * clean again; the latest row per Writer (Version: microseconds) counts.
 * After a crash, store_consolidation_repair() rebuilds the consolidated
 * tables from flows from the least dirty Low on (user/store/repair.c). */
static int step_consolidation_journal(struct mig *m)
{
	return exec(m, "CREATE TABLE IF NOT EXISTS " STORE_JOURNAL_TABLE
		       " (Writer UInt32, Dirty UInt8, Low UInt32, Version UInt64) "
		       "ENGINE = ReplacingMergeTree(Version) ORDER BY Writer");
}

/* ---- step 9: names (asns, protocols, ports) ----
 * Created empty here; filled after the steps by orch_names_load (names.c),
 * at every run, from the shipped files and clickhouse.asns. */
static int step_names(struct mig *m)
{
	static const char *const tables[] = {"asns", "protocols", "ports"};
	int r = 0;

	for (size_t i = 0; i < 3 && r == 0; i++)
		r = orch_names_create(m->c, tables[i], "");
	return r;
}

/* ---- step 10: interface descriptions as LowCardinality(String) in flows ----
 * Step 1 left InIfDescription and OutIfDescription String (as Akvorado
 * has them) while the other enrichment strings became LowCardinality: the
 * writer wrote each row's text out, and the engine parsed and compressed it
 * again, two columns of ~20 bytes a row. An interface has one description,
 * so they are as few as InIfName's values; as LowCardinality they go as a
 * dictionary and an index per row (user/store/native.c). Writing the two
 * columns cost the embedded engine ~117 ns a row as String and ~18 ns as
 * LowCardinality, 1.3 and 0.06 bytes a row on disk (user/store/README.md).
 * Queries read both types alike. Modern servers only, as the other
 * LowCardinality columns; flows only: the consolidated tables take a
 * fraction of a row per flow, sent as String (consolidate.c). On a table
 * that already holds flows, ClickHouse rewrites these two columns of every
 * part once (the ALTER waits for it). */
static int step_description_low_cardinality(struct mig *m)
{
	static const char *const cols[] = {"InIfDescription", "OutIfDescription"};
	struct buf s = {0};
	int r;

	if (!m->modern)
		return 0;
	for (size_t i = 0; i < 2; i++) {
		/* (idempotent: a column already converted is left alone) */
		r = exists(m,
			   "SELECT count() FROM system.columns WHERE database = currentDatabase() "
			   "AND table = 'flows' AND name = '%s' AND type = '%s'",
			   cols[i], "String");
		if (r < 0)
			return r;
		if (!r)
			continue;
		buf_printf(&s, "ALTER TABLE flows MODIFY COLUMN %s LowCardinality(String)",
			   cols[i]);
		r = exec_sql(m, &s);
		if (r < 0)
			return r;
	}
	return 0;
}

static const struct {
	unsigned version;
	const char *description;
	int (*apply)(struct mig *m);
} steps[] = {
    {1, "flows table", step_flows},
    {2, "consolidated tables flows_1m, flows_5m, flows_1h and their views", step_consolidated},
    {3, "exporters table and its view", step_exporters},
    {4, "Dst1stAS, Dst2ndAS, Dst3rdAS columns", step_nth_as},
    {5, "PacketSize and PacketSizeBucket alias columns", step_packet_size},
    {6, "TimeFlowStartMs and TimeFlowEndMs no longer stored", step_drop_flow_times},
    {7, "consolidated tables and exporters written by the outlet, their views dropped",
     step_consolidate_in_outlet},
    {8, "consolidation journal: the consolidated tables repaired after a crash",
     step_consolidation_journal},
    {9, "names: asns, protocols and ports tables", step_names},
    {10, "InIfDescription and OutIfDescription as LowCardinality(String) in flows",
     step_description_low_cardinality},
};
#define NSTEPS (sizeof(steps) / sizeof(steps[0]))
_Static_assert(NSTEPS == ORCH_SCHEMA_VERSION, "ORCH_SCHEMA_VERSION must be the last step");

/* After the steps: every column the writer sends must exist, so that a
 * decoded field added to flow_schema.h without its own step still lands
 * (added, never dropped). */
static int sync_decoded_columns(struct mig *m)
{
	struct buf s = {0};
	int r;

	for (size_t i = 0; i < flow_fields_count; i++) {
		const char *name = flow_fields[i].name;
		const char *probe = name;
		char sub[96];

		if (!store_field_stored(&flow_fields[i]))
			continue;
		if (flow_fields[i].kind == FLOW_FIELD_LARGE_COMMUNITY_ARRAY) {
			snprintf(sub, sizeof(sub), "%s.ASN", name);
			probe = sub;
		}
		r = column_exists(m, "flows", probe);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		log_info("adding missing decoded column to flows", "column=%s", name);
		buf_printf(&s, "ALTER TABLE flows ADD COLUMN %s %s", name, column_type(m, name));
		r = exec_sql(m, &s);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The server's version and what the gate table derives from it. */
static int mig_server(struct mig *m)
{
	int r = store_client_server_version(m->c, &m->server_version);

	if (r < 0)
		return r;
	m->modern = m->server_version >= MODERN_VERSION;
	m->hourly = orch_retention_uses_ttl(m->server_version);
	return 0;
}

/* A flows table created before session 11 keeps its minute-first key
 * (ClickHouse cannot reorder a sorting key) and its daily partitions: weir
 * writes it correctly (the writer sorts as it is keyed), but its merges cost
 * 3.2-5 instead of ~1 us of CPU per row merged. Said at each start, with
 * what to do (user/store/README.md, "Re-keying flows").
 * Not re-keyed by a step: that rewrites every row of the table (a day at
 * 100k flows/s is 8.6G rows), needs its size again in free disk, and would
 * hold every writer until done; the operator runs orch_flows_rekey when it
 * suits, writers stopped. */
static void report_flows_layout(struct mig *m)
{
	char *out = NULL, *tab;
	int minute, daily, r;

	r = store_client_query(m->c,
			       "SELECT sorting_key, partition_key FROM system.tables WHERE "
			       "database = currentDatabase() AND name = 'flows'",
			       &out);
	if (r < 0) { /* only a report: say so and go on */
		log_warn("cannot read flows' sorting key", "error=\"%s\"",
			 store_client_error(m->c));
		return;
	}
	tab = strchr(out, '\t');
	if (tab) {
		*tab++ = 0;
		tab[strcspn(tab, "\n")] = 0;
		minute = !strncmp(out, STORE_FLOWS_MINUTE_KEY, strlen(STORE_FLOWS_MINUTE_KEY));
		daily = m->hourly && !strcmp(tab, flows_partition_daily);
		if (minute || daily)
			log_warn("flows was created by an earlier release: its merges cost more",
				 "missing=\"%s%s%s\" sorting_key=\"%s\" partition_key=\"%s\" "
				 "hint=\"weir orchestrator --rekey-flows, writers stopped "
				 "(user/store/README.md: re-keying flows)\"",
				 minute ? "sorting key by the second" : "",
				 minute && daily ? ", " : "", daily ? "hourly partitions" : "", out,
				 tab);
	}
	free(out);
}

/* ---- re-keying flows (weir orchestrator --rekey-flows) ---- */

/* The old table's days, each copied by one INSERT SELECT; what a copy cut
 * short left (flows_rekey) is dropped first. The engine's inserts squash
 * nothing (min_insert_block_size_rows=0 at connect, for the writer's
 * batches): here blocks of 1M rows, or every block of the SELECT would be
 * a part. */
static int rekey_copy(struct mig *m, uint64_t *copied)
{
	char *out = NULL, *line, *save = NULL;
	struct buf s = {0};
	int r;

	r = store_client_query(
	    m->c,
	    "SELECT DISTINCT partition FROM system.parts WHERE active AND "
	    "database = currentDatabase() AND table = 'flows' ORDER BY partition",
	    &out);
	if (r < 0) {
		log_error("re-keying flows: cannot list its days", "error=\"%s\"",
			  store_client_error(m->c));
		return r;
	}
	for (line = strtok_r(out, "\n", &save); line && r >= 0;
	     line = strtok_r(NULL, "\n", &save)) {
		/* (numbers only go into SQL: toYYYYMMDD, as flows had them) */
		if (!line[0] || strspn(line, "0123456789") != strlen(line)) {
			log_error("re-keying flows: a partition is not a day", "partition=%s",
				  line);
			r = -EINVAL;
			break;
		}
		buf_printf(&s,
			   "INSERT INTO flows_rekey SELECT * FROM flows WHERE "
			   "toYYYYMMDD(TimeReceived) = %s%s",
			   line,
			   m->modern ? " SETTINGS min_insert_block_size_rows = 1048576, "
				       "min_insert_block_size_bytes = 0"
				     : "");
		r = exec_sql(m, &s);
		if (r == 0)
			log_info("re-keying flows: day copied", "partition=%s", line);
	}
	free(out);
	if (r == 0)
		r = store_client_query_u64(m->c, "SELECT count() FROM flows_rekey", copied);
	return r;
}

/* 1 when the current database swaps two tables in one step (EXCHANGE
 * TABLES: the Atomic and Replicated engines, current ClickHouse's default). */
static int exchanges_atomically(struct store_client *c)
{
	char *out = NULL;
	int yes =
	    store_client_query(c,
			       "SELECT engine IN ('Atomic', 'Replicated') FROM system.databases "
			       "WHERE name = currentDatabase()",
			       &out) == 0 &&
	    out && out[0] == '1';

	free(out);
	return yes;
}

static int swap_step(struct store_client *c, const char *sql)
{
	int r = store_client_query(c, sql, NULL);

	if (r < 0)
		log_error("table swap failed", "error=\"%s\" sql=\"%s\"", store_client_error(c),
			  sql);
	return r;
}

int orch_table_swap_in(struct store_client *c, const char *live, const char *with, const char *old,
		       int *old_at_with)
{
	char sql[512];
	int r;

	if (old_at_with)
		*old_at_with = 0;
	if (!exchanges_atomically(c)) {
		snprintf(sql, sizeof(sql), "RENAME TABLE %s TO %s, %s TO %s", live, old, with,
			 live);
		return swap_step(c, sql);
	}
	snprintf(sql, sizeof(sql), "EXCHANGE TABLES %s AND %s", with, live);
	r = swap_step(c, sql);
	if (r < 0)
		return r;
	snprintf(sql, sizeof(sql), "RENAME TABLE %s TO %s", with, old);
	r = swap_step(c, sql);
	if (r < 0 && old_at_with)
		*old_at_with = 1;
	return r;
}

int orch_flows_rekey_unlocked(struct store_client *c, const struct store_config *cfg)
{
	struct mig m = {.c = c, .cfg = cfg};
	uint64_t rows = 0, copied = 0;
	struct buf s = {0};
	int r, old_in_rekey = 0;

	r = mig_server(&m);
	if (r < 0)
		return r;
	r = exists(&m,
		   "SELECT count() FROM system.tables WHERE database = currentDatabase() AND "
		   "name = 'flows' AND position(sorting_key, '%s%s') = 1",
		   STORE_FLOWS_MINUTE_KEY, "");
	if (r <= 0) {
		if (r == 0)
			log_info("re-keying flows: nothing to do", "database=%s", cfg->database);
		return r;
	}
	r = exists(&m,
		   "SELECT count() FROM system.tables WHERE database = currentDatabase() AND "
		   "name = '%s%s'",
		   "flows_by_minute", "");
	if (r != 0) {
		if (r > 0)
			log_error("re-keying flows: flows_by_minute exists (an earlier re-key): "
				  "drop it first",
				  "database=%s", cfg->database);
		return r < 0 ? r : -EEXIST;
	}
	r = exec(&m, "DROP TABLE IF EXISTS flows_rekey");
	if (r < 0)
		return r;
	buf_printf(&s, "CREATE TABLE flows_rekey AS flows ");
	add_flows_engine(&m, &s);
	r = exec_sql(&m, &s);
	if (r == 0)
		r = rekey_copy(&m, &copied);
	if (r == 0)
		r = store_client_query_u64(c, "SELECT count() FROM flows", &rows);
	if (r == 0 && rows != copied) {
		log_error("re-keying flows: rows differ (was a writer running?): flows unchanged",
			  "flows=%llu copied=%llu", (unsigned long long)rows,
			  (unsigned long long)copied);
		r = -EAGAIN;
	}
	if (r == 0)
		r = orch_table_swap_in(c, "flows", "flows_rekey", "flows_by_minute", &old_in_rekey);
	if (r < 0) {
		if (!old_in_rekey)
			exec(&m, "DROP TABLE IF EXISTS flows_rekey");
		else
			log_error("re-keying flows: the re-keyed table is flows, the old one is "
				  "still flows_rekey (rename it to flows_by_minute)",
				  "database=%s", cfg->database);
		return r;
	}
	log_info("re-keying flows: done; the old table is flows_by_minute",
		 "rows=%llu hint=\"check it, then DROP TABLE flows_by_minute\"",
		 (unsigned long long)rows);
	return 1;
}

int orch_schema_version(struct store_client *c, unsigned *version)
{
	uint64_t v;
	int r = store_client_query_u64(c, "SELECT max(version) FROM schema_migrations", &v);

	*version = r < 0 ? 0 : (unsigned)v;
	return r;
}

/* Fills applied[1..NSTEPS]; *newest = the highest version recorded, known
 * or not. */
static int applied_versions(struct mig *m, uint8_t *applied, unsigned long *newest)
{
	char *out, *line, *save = NULL;
	int r = store_client_query(m->c, "SELECT DISTINCT version FROM schema_migrations", &out);

	if (r < 0) {
		log_error("cannot read schema_migrations", "error=\"%s\"",
			  store_client_error(m->c));
		return r;
	}
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long v = strtoul(line, NULL, 10);
		if (v > *newest)
			*newest = v;
		if (v >= 1 && v <= NSTEPS)
			applied[v] = 1;
	}
	free(out);
	return 0;
}

int orch_migrate_unlocked(struct store_client *c, const struct store_config *cfg, unsigned target)
{
	struct mig m = {.c = c, .cfg = cfg};
	uint8_t applied[NSTEPS + 1] = {0};
	unsigned long newest = 0;
	struct buf s = {0};
	int r, done = 0;

	if (target == 0 || target > NSTEPS)
		target = NSTEPS;
	/* The name goes into SQL as an identifier: keep it to a plain one. */
	if (!cfg->database[0] || strspn(cfg->database, "abcdefghijklmnopqrstuvwxyz"
						       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
				     strlen(cfg->database)) {
		log_error("bad clickhouse database name",
			  "database=\"%s\" allowed=\"[A-Za-z0-9_]+\"", cfg->database);
		return -EINVAL;
	}
	r = mig_server(&m);
	if (r < 0) {
		log_error("clickhouse unreachable", "url=%s error=\"%s\"", cfg->url,
			  store_client_error(c));
		return r;
	}
	log_info("schema migrations start", "url=%s database=%s server_version=%u.%u.%u target=%u",
		 cfg->url, cfg->database, m.server_version / 1000000,
		 m.server_version / 1000 % 1000, m.server_version % 1000, target);
	buf_printf(&s, "CREATE DATABASE IF NOT EXISTS %s", cfg->database);
	if (s.nomem)
		return -ENOMEM;
	r = store_client_query_nodb(c, s.data, NULL);
	buf_free(&s);
	if (r < 0) {
		log_error("cannot create database", "database=%s error=\"%s\"", cfg->database,
			  store_client_error(c));
		return r;
	}
	r = exec(&m, "CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, "
		     "description String, applied DateTime) ENGINE = MergeTree ORDER BY version");
	if (r < 0)
		return r;
	r = applied_versions(&m, applied, &newest);
	if (r < 0)
		return r;
	/* A later release migrated this database: its steps may move work
	 * this weir does not know about to its writers (step 7 moved the
	 * consolidated tables from views to the outlet), so writing here
	 * could silently miss data. Refuse rather than guess. */
	if (newest > NSTEPS) {
		log_error("ClickHouse schema is newer than this weir",
			  "database=%s version=%lu known=%u hint=\"upgrade weir\"", cfg->database,
			  newest, (unsigned)NSTEPS);
		return -EPROTONOSUPPORT;
	}
	for (size_t i = 0; i < NSTEPS && steps[i].version <= target; i++) {
		if (applied[steps[i].version])
			continue;
		m.step = steps[i].version;
		log_info("schema migration step", "version=%u description=\"%s\"", m.step,
			 steps[i].description);
		r = steps[i].apply(&m);
		if (r < 0) {
			log_error("schema migration step failed", "version=%u", m.step);
			return r;
		}
		buf_printf(
		    &s,
		    "INSERT INTO schema_migrations (version, description, applied) VALUES (%u, "
		    "'%s', now())",
		    m.step, steps[i].description);
		r = exec_sql(&m, &s);
		if (r < 0)
			return r;
		done++;
	}
	m.step = 0;
	if (target == NSTEPS) {
		r = sync_decoded_columns(&m);
		if (r < 0)
			return r;
		report_flows_layout(&m);
		r = orch_names_load(c, cfg, NULL);
		if (r < 0)
			return r;
	}
	if (done)
		log_info("schema migrations done", "applied=%d version=%u", done, target);
	else
		log_info("schema up to date", "version=%u", target);
	return done;
}
