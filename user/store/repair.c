// SPDX-License-Identifier: AGPL-3.0-or-later
/* After a crash: the consolidated tables made to agree with flows again,
 * from the time the writers' journal (writer.c) says they were last behind.
 * Contract in store.h (store_consolidation_repair). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "store_internal.h"

/* Why inserting differences rather than deleting and rebuilding: every row
 * of a consolidated table sums flows that are in flows (the writer inserts
 * a batch into flows before any sum of it), so per bucket and dimensions
 * what flows holds minus what the table holds is never negative, and
 * inserting it into the SummingMergeTree makes the two agree. No mutation
 * (18.16 has only asynchronous ALTER ... DELETE), nothing to wait for, and
 * a repair cut short by another crash is simply done again: the next one
 * inserts what is still missing. Negative differences (a partition of
 * flows dropped by retention before one of the table) are left alone. */

/* The dimensions after TimeReceived, each prefixed with ", ". */
static void add_dims(struct buf *s)
{
	for (size_t i = 1; i < store_consolidated_dims_count; i++)
		buf_printf(s, ", %s", store_consolidated_dims[i]);
	for (size_t i = 0; i < 3; i++)
		buf_printf(s, ", %s", store_dst_nth_as[i]);
}

static int run(struct store_client *c, struct buf *s, char **out)
{
	int r = s->nomem ? -ENOMEM : store_client_query(c, s->data, out);

	buf_free(s);
	return r;
}

/* Inserts into `table` what it lacks of `source` (flows, or the finer
 * table) from the bucket of `low` on, `round` giving a time's bucket. */
static int repair_table(struct store_client *c, const char *table, const char *source,
			const char *round, uint32_t low)
{
	struct buf s = {0};

	buf_printf(&s, "INSERT INTO %s (TimeReceived", table);
	add_dims(&s);
	buf_printf(&s, ", Bytes, Packets) SELECT t");
	add_dims(&s);
	buf_printf(&s, ", toUInt64(b1), toUInt64(p1) FROM (SELECT t");
	add_dims(&s);
	buf_printf(&s, ", sum(b0) AS b1, sum(p0) AS p1 FROM (SELECT %s(TimeReceived) AS t", round);
	add_dims(&s);
	buf_printf(&s,
		   ", toInt64(Bytes) AS b0, toInt64(Packets) AS p0 FROM %s WHERE TimeReceived >= "
		   "%s(toDateTime(%" PRIu32 ")) UNION ALL SELECT TimeReceived AS t",
		   source, round, low);
	add_dims(&s);
	buf_printf(&s,
		   ", -toInt64(Bytes) AS b0, -toInt64(Packets) AS p0 FROM %s WHERE TimeReceived >= "
		   "%s(toDateTime(%" PRIu32 "))) GROUP BY t",
		   table, round, low);
	add_dims(&s);
	buf_printf(&s, ") WHERE b1 >= 0 AND p1 >= 0 AND (b1 > 0 OR p1 > 0)");
	return run(c, &s, NULL);
}

/* exporters: the sightings of flows_1m from the minute of `low` on (a
 * ReplacingMergeTree keeping the latest: one more sighting is harmless). */
static int repair_exporters(struct store_client *c, uint32_t low)
{
	static const char *const exporter[] = {"ExporterName", "ExporterGroup",	 "ExporterRole",
					       "ExporterSite", "ExporterRegion", "ExporterTenant"};
	static const char *const ifs[] = {"Name",	  "Description", "Speed",
					  "Connectivity", "Provider",	 "Boundary"};
	struct buf s = {0};

	buf_printf(&s,
		   "INSERT INTO exporters (%s) SELECT max(TimeReceived), ExporterAddress, IfIndex_",
		   store_exporters_enriched_columns);
	for (size_t i = 0; i < 6; i++)
		buf_printf(&s, ", argMax(%s, TimeReceived)", exporter[i]);
	for (size_t i = 0; i < 6; i++)
		buf_printf(&s, ", argMax(If%s_, TimeReceived)", ifs[i]);
	buf_printf(&s, " FROM flows_1m ARRAY JOIN [InIf, OutIf] AS IfIndex_");
	for (size_t i = 0; i < 6; i++)
		buf_printf(&s, ", [InIf%s, OutIf%s] AS If%s_", ifs[i], ifs[i], ifs[i]);
	buf_printf(&s,
		   " WHERE TimeReceived >= toStartOfMinute(toDateTime(%" PRIu32
		   ")) GROUP BY ExporterAddress, IfIndex_",
		   low);
	return run(c, &s, NULL);
}

int store_consolidation_repair(struct store_client *c)
{
	static const struct {
		const char *table, *source, *round;
	} tables[] = {
	    /* flows_1m first: the coarser ones are made to agree with it */
	    {"flows_1m", "flows", "toStartOfMinute"},
	    {"flows_5m", "flows_1m", "toStartOfFiveMinute"},
	    {"flows_1h", "flows_1m", "toStartOfHour"},
	};
	struct buf s = {0};
	uint64_t start = clock_mono_ms();
	unsigned long long dirty = 0, low = 0;
	char *out = NULL;
	int r;

	buf_printf(&s,
		   "SELECT count(), min(l) FROM (SELECT argMax(Dirty, Version) AS d, argMax(Low, "
		   "Version) AS l FROM " STORE_JOURNAL_TABLE " GROUP BY Writer) WHERE d = 1");
	r = run(c, &s, &out);
	if (r < 0)
		return r;
	if (sscanf(out, "%llu\t%llu", &dirty, &low) != 2) {
		free(out);
		return -EIO;
	}
	free(out);
	if (!dirty)
		return 0;
	log_warn("consolidated tables behind flows after a crash: repairing",
		 "writers=%llu since=%llu", dirty, low);
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]) && r == 0; i++)
		r = repair_table(c, tables[i].table, tables[i].source, tables[i].round,
				 (uint32_t)low);
	if (r == 0)
		r = repair_exporters(c, (uint32_t)low);
	if (r == 0) {
		buf_printf(&s, "INSERT INTO " STORE_JOURNAL_TABLE
			       " (Writer, Dirty, Low, Version) SELECT "
			       "Writer, 0, 0, max(Version) + 1 FROM " STORE_JOURNAL_TABLE
			       " GROUP BY Writer");
		r = run(c, &s, NULL);
	}
	if (r < 0)
		return r;
	log_info("consolidated tables repaired", "since=%llu ms=%llu", low,
		 (unsigned long long)(clock_mono_ms() - start));
	return 1;
}
