// SPDX-License-Identifier: AGPL-3.0-or-later
/* The metrics registry and its Prometheus text output. */
#include <stdlib.h>

#include "common/metrics.h"
#include "test.h"

static void collect(void *ctx)
{
	metric_set(ctx, 42.5);
}

/* A new registry, or the test ends. */
static struct metrics_registry *new_registry(void)
{
	struct metrics_registry *reg;

	REQUIRE_EQ(metrics_registry_new(&reg, NULL), 0);
	REQUIRE(reg);
	return reg;
}

TEST(metrics_text_format)
{
	struct metrics_registry *reg = new_registry();
	struct metric_family *fam = metrics_family(
	    reg, "weir_decode_events_total", "Decoder events", METRIC_COUNTER, "exporter,reason");
	const char *v1[] = {"192.0.2.1", "truncated"};
	const char *v2[] = {"2001:db8::1", "quote\"d"};
	struct metric_series *a = metrics_series(fam, v1);
	struct metric_series *b = metrics_series(fam, v2);
	struct metric_series *g = metrics_series(
	    metrics_family(reg, "weir_queue_fill", "Fill", METRIC_GAUGE, NULL), NULL);
	char *text = NULL;
	size_t len = 0;

	REQUIRE(a && b && g);
	CHECK(metrics_series(fam, v1) == a); /* same labels, same series */
	metric_add(a, 3);
	metric_add(a, 2);
	metric_add(b, 1);
	REQUIRE_EQ(metrics_add_collector(reg, collect, g), 0);
	REQUIRE_EQ(metrics_render(reg, &text, &len), 0);
	CHECK_STR(text,
		  "# HELP weir_decode_events_total Decoder events\n"
		  "# TYPE weir_decode_events_total counter\n"
		  "weir_decode_events_total{exporter=\"192.0.2.1\",reason=\"truncated\"} 5\n"
		  "weir_decode_events_total{exporter=\"2001:db8::1\",reason=\"quote\\\"d\"} 1\n"
		  "# HELP weir_queue_fill Fill\n"
		  "# TYPE weir_queue_fill gauge\n"
		  "weir_queue_fill 42.5\n");
	free(text);
	metrics_registry_free(reg);
}

TEST(metrics_counter_and_gauge_declare_and_return_the_series)
{
	struct metrics_registry *reg = new_registry();
	const char *w0[] = {"0"}, *w1[] = {"1"};
	struct metric_series *a = metrics_counter(reg, "weir_x_total", "X done", "worker", w0);
	struct metric_series *b = metrics_counter(reg, "weir_x_total", "X done", "worker", w1);
	struct metric_series *g = metrics_gauge(reg, "weir_y", "Y now", NULL, NULL);
	char *text = NULL;
	size_t len = 0;

	REQUIRE(a && b && g && a != b);
	CHECK(metrics_counter(reg, "weir_x_total", "X done", "worker", w0) == a);
	metric_add(a, 2);
	metric_add(b, 3);
	metric_set(g, 0.5);
	REQUIRE_EQ(metrics_render(reg, &text, &len), 0);
	CHECK_STR(text, "# HELP weir_x_total X done\n"
			"# TYPE weir_x_total counter\n"
			"weir_x_total{worker=\"0\"} 2\n"
			"weir_x_total{worker=\"1\"} 3\n"
			"# HELP weir_y Y now\n"
			"# TYPE weir_y gauge\n"
			"weir_y 0.5\n");
	free(text);
	metrics_registry_free(reg);
}
