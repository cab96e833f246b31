// SPDX-License-Identifier: AGPL-3.0-or-later
/* The record of what the in-process ring holds (orchestrator/crash.c): kept
 * up to date while running, reported by the next start when the stop was
 * not clean, and not after a clean one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "orchestrator/orchestrator.h"
#include "test.h"

struct counts {
	uint64_t accepted, released;
};

static void counts_fn(void *ctx, struct orch_crash_counts *c)
{
	struct counts *n = ctx;

	c->accepted = n->accepted;
	c->released = n->released;
	c->flows_decoded = n->accepted * 10;
	c->flows_stored = n->released * 10;
}

static void config(struct store_config *cfg, char *dir)
{
	REQUIRE(store_config_defaults(cfg) == 0);
	REQUIRE(mkdtemp(dir) != NULL);
	free(cfg->url);
	REQUIRE(asprintf(&cfg->url, "embedded://%s", dir) > 0);
}

static uint64_t lost_metric(struct metrics_registry *m)
{
	struct metric_series *s =
	    metrics_counter(m, "weir_bus_ring_lost_at_crash_total", "", NULL, NULL);

	return metric_get_count(s);
}

TEST(unclean_stop_reported_clean_one_not)
{
	char dir[] = "/tmp/weir-test-crash.XXXXXX", path[128];
	struct counts n = {.accepted = 1000, .released = 600};
	struct metrics_registry *m1 = NULL, *m2 = NULL, *m3 = NULL;
	struct orch_crash_guard *g1 = NULL, *g2 = NULL, *g3 = NULL;
	struct store_config cfg;
	struct error err = {""};

	config(&cfg, dir);
	REQUIRE(metrics_registry_new(&m1, NULL) == 0);
	REQUIRE(metrics_registry_new(&m2, NULL) == 0);
	REQUIRE(metrics_registry_new(&m3, NULL) == 0);
	/* first start: nothing to report */
	REQUIRE(orch_crash_guard_new(&cfg, m1, counts_fn, &n, &g1, &err) == 0);
	REQUIRE(g1 != NULL);
	CHECK_EQ(orch_crash_guard_lost(g1), 0);
	CHECK_EQ(lost_metric(m1), 0);
	REQUIRE(orch_crash_guard_start(g1, &err) == 0);
	/* the thread records the counts as they move */
	n.accepted = 5000;
	n.released = 4200;
	clock_sleep_ms(350);
	/* "killed": g1 never marks the file clean; a start reads it */
	REQUIRE(orch_crash_guard_new(&cfg, m2, counts_fn, &n, &g2, &err) == 0);
	CHECK_EQ(orch_crash_guard_lost(g2), 800);
	CHECK_EQ(lost_metric(m2), 800);
	orch_crash_guard_free(g2); /* clean */
	orch_crash_guard_free(g1); /* (the "killed" one, last: clean too) */
	REQUIRE(orch_crash_guard_new(&cfg, m3, counts_fn, &n, &g3, &err) == 0);
	CHECK_EQ(orch_crash_guard_lost(g3), 0);
	CHECK_EQ(lost_metric(m3), 0);
	orch_crash_guard_free(g3);
	metrics_registry_free(m1);
	metrics_registry_free(m2);
	metrics_registry_free(m3);
	snprintf(path, sizeof(path), "%s/weir-ring.state", dir);
	unlink(path);
	rmdir(dir);
	store_config_free(&cfg);
}

TEST(server_url_records_nothing)
{
	struct orch_crash_guard *g = (void *)1;
	struct store_config cfg;
	struct counts n = {0};

	REQUIRE(store_config_defaults(&cfg) == 0);
	CHECK_EQ(orch_crash_guard_new(&cfg, NULL, counts_fn, &n, &g, NULL), 0);
	CHECK(g == NULL);
	CHECK_EQ(orch_crash_guard_start(g, NULL), 0);
	orch_crash_guard_free(g);
	store_config_free(&cfg);
}
