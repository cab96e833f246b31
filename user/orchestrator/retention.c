// SPDX-License-Identifier: AGPL-3.0-or-later
/* Retention by whole partitions: ClickHouse 18.16 has no TTL, and dropping a
 * partition is instant and rewrites nothing. A partition goes only when its
 * newest row is older than the table's retention. */
#include <errno.h>
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

static int table_retention(struct store_client *c, const char *table, uint64_t age_ms,
			   uint64_t now_s)
{
	char q[512], *out = NULL, *line, *save = NULL;
	uint64_t cutoff = now_s > age_ms / 1000 ? now_s - age_ms / 1000 : 0;
	int r, dropped = 0;

	/* partition is the partition key's value as text (20240131, 202401):
	 * DROP PARTITION takes it as a literal. */
	snprintf(q, sizeof(q),
		 "SELECT partition, toUInt32(max(max_time)) FROM system.parts WHERE active "
		 "AND database = currentDatabase() AND table = '%s' GROUP BY partition "
		 "ORDER BY partition",
		 table);
	r = store_client_query(c, q, &out);
	if (r < 0) {
		log_error("retention: cannot list partitions", "table=%s error=\"%s\"", table,
			  store_client_error(c));
		return r;
	}
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
	int total = 0;

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		uint64_t age;
		int r;

		memcpy(&age, (const char *)&cfg->retention + tables[i].offset, sizeof(age));
		if (age == 0)
			continue;
		r = table_retention(c, tables[i].table, age, now_s);
		if (r < 0)
			return r;
		total += r;
	}
	return total;
}
