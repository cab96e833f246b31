// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir stats`'s pieces on canned /metrics text: the exposition parser
 * (labels, escapes, comments, errors) and the summary (inputs, rings,
 * exporters sorted by loss with drops by reason and sequence loss, store). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/metrics_text.h"
#include "common/stats_summary.h"
#include "test.h"

TEST(parse_samples_labels_and_escapes)
{
	static const char text[] =
	    "# HELP weir_x_total Things\n"
	    "# TYPE weir_x_total counter\n"
	    "weir_x_total 42\n"
	    "weir_y_total{exporter=\"192.0.2.1\",reason=\"a \\\"b\\\" \\\\ c\"} 7\r\n"
	    "\n"
	    "  weir_gauge{ring=\"0\"} 0.25 1700000000000\n"
	    "weir_nan NaN\n";
	struct metrics_text m;

	REQUIRE_EQ(metrics_text_parse(&m, text, sizeof(text) - 1, NULL), 0);
	REQUIRE_EQ(m.count, 4);
	CHECK(!strcmp(m.samples[0].name, "weir_x_total"));
	CHECK_EQ(m.samples[0].nlabels, 0);
	CHECK(m.samples[0].value == 42);
	CHECK(!strcmp(m.samples[1].name, "weir_y_total"));
	CHECK_EQ(m.samples[1].nlabels, 2);
	CHECK(!strcmp(metrics_sample_label(&m.samples[1], "exporter"), "192.0.2.1"));
	CHECK(!strcmp(metrics_sample_label(&m.samples[1], "reason"), "a \"b\" \\ c"));
	CHECK(metrics_sample_label(&m.samples[1], "ring") == NULL);
	CHECK(m.samples[1].value == 7);
	CHECK(!strcmp(m.samples[2].name, "weir_gauge"));
	CHECK(m.samples[2].value == 0.25);
	CHECK(m.samples[3].value != m.samples[3].value); /* NaN */
	metrics_text_fini(&m);
}

TEST(parse_errors_name_the_line)
{
	static const char *const bad[] = {
	    "weir_a 1\n{x=\"1\"} 2\n", "weir_a{x=\"1\" 2\n", "weir_a{x=1} 2\n",
	    "weir_a{x=\"1} 2\n",       "weir_a\n",	     "weir_a 12abc\n",
	};
	struct metrics_text m;
	struct error err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(metrics_text_parse(&m, bad[i], strlen(bad[i]), &err), -EINVAL);
		CHECK(strstr(err.text, "metrics line ") != NULL);
		CHECK(m.count == 0 && m.samples == NULL);
	}
	CHECK_EQ(metrics_text_parse(&m, bad[0], strlen(bad[0]), &err), -EINVAL);
	CHECK(strstr(err.text, "metrics line 2:") != NULL);
}

static const char canned[] =
    "weir_inlet_datagrams_total{input=\"flow-0\",worker=\"0\"} 1000\n"
    "weir_inlet_datagrams_total{input=\"flow-0\",worker=\"1\"} 500\n"
    "weir_inlet_bytes_total{input=\"flow-0\",worker=\"0\"} 900000\n"
    "weir_inlet_kernel_drops_total{input=\"flow-0\",worker=\"0\"} 12\n"
    "weir_inlet_bus_dropped_total{input=\"flow-0\"} 3\n"
    "weir_inlet_dropped_total{input=\"flow-0\",reason=\"not_allowed\"} 4\n"
    "weir_inlet_xdp_packets_total{interface=\"eth0\",outcome=\"redirect\"} 10\n"
    "weir_inlet_xdp_packets_total{interface=\"eth1\",outcome=\"redirect\"} 5\n"
    "weir_inlet_xdp_packets_total{interface=\"eth0\",outcome=\"drop_rate\"} 2\n"
    "weir_bus_ring_sent_total{ring=\"0\"} 1497\n"
    "weir_bus_ring_dropped_total{ring=\"0\"} 3\n"
    "weir_bus_ring_fill_ratio{ring=\"0\"} 0.5\n"
    "weir_outlet_datagrams_total{exporter=\"192.0.2.1\"} 900\n"
    "weir_outlet_flows_decoded_total{exporter=\"192.0.2.1\"} 9000\n"
    "weir_outlet_flows_stored_total{exporter=\"192.0.2.1\"} 8990\n"
    "weir_outlet_datagrams_total{exporter=\"192.0.2.2\"} 597\n"
    "weir_outlet_flows_decoded_total{exporter=\"192.0.2.2\"} 5970\n"
    "weir_outlet_flows_stored_total{exporter=\"192.0.2.2\"} 5970\n"
    "weir_decode_events_total{exporter=\"192.0.2.2\",reason=\"unknown_template\"} 2\n"
    "weir_inlet_exporter_dropped_total{exporter=\"192.0.2.2\",reason=\"ring_full\"} 3\n"
    "weir_outlet_sequence_lost_total{exporter=\"192.0.2.2\",domain=\"0\",unit=\"datagrams\"} 5\n"
    "weir_outlet_sequence_lost_total{exporter=\"192.0.2.2\",domain=\"1\",unit=\"datagrams\"} 6\n"
    "weir_outlet_sequence_out_of_order_total{exporter=\"192.0.2.2\",domain=\"0\"} 1\n"
    "weir_outlet_sequence_lost_total{exporter=\"192.0.2.1\",domain=\"0\",unit=\"records\"} 0\n"
    "weir_outlet_datagrams_total{exporter=\"2001:db8::1\"} 10\n"
    "weir_store_rows_inserted_total 14960\n"
    "weir_store_insert_errors_total 1\n"
    "weir_outlet_flushes_total{worker=\"0\"} 7\n"
    "weir_outlet_flushes_total{worker=\"1\"} 8\n"
    "weir_enrich_flows_total{result=\"enriched\"} 14960\n"
    "weir_enrich_flows_total{result=\"miss\"} 4\n"
    "weir_bus_kafka_sent_total{topic=\"flows\"} 1497\n"
    "weir_bus_kafka_dropped_total{topic=\"flows\"} 2\n";

/* The summary of `text` in a malloc'd string. */
static char *summary(const char *text)
{
	struct metrics_text m;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	REQUIRE(f);
	REQUIRE_EQ(metrics_text_parse(&m, text, strlen(text), NULL), 0);
	CHECK_EQ(stats_summary_write(&m, f), 0);
	fclose(f);
	metrics_text_fini(&m);
	return out;
}

/* The line of `s` that starts (after spaces) with `start`, in a static buffer. */
static const char *line_of(const char *s, const char *start)
{
	static char line[512];

	for (const char *p = s; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		const char *q = p, *e = strchr(p, '\n');

		while (*q == ' ')
			q++;
		if (strncmp(q, start, strlen(start)) == 0) {
			size_t n = e ? (size_t)(e - q) : strlen(q);

			snprintf(line, sizeof(line), "%.*s", (int)n, q);
			return line;
		}
	}
	return "";
}

/* 1 when `line` holds the words of `w`, in this order. */
static int words(const char *line, const char *const *w, size_t n)
{
	const char *p = line;

	for (size_t i = 0; i < n; i++) {
		p = strstr(p, w[i]);
		if (!p)
			return 0;
		p += strlen(w[i]);
	}
	return 1;
}
#define WORDS(line, ...)                                                                           \
	words(line, (const char *const[]){__VA_ARGS__},                                            \
	      sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

TEST(summary_inputs_rings_exporters_store)
{
	char *s = summary(canned);
	const char *l, *first;

	fprintf(stderr, "%s", s); /* (as a person sees it, in the test log) */
	l = line_of(s, "flow-0");
	CHECK(WORDS(l, "flow-0", " 1500 ", " 900000 ", " 12 ", "bus_full=3", "not_allowed=4"));
	l = line_of(s, "XDP packets:");
	CHECK(WORDS(l, "redirect=15", "drop_rate=2"));
	l = line_of(s, "0 ");
	CHECK(WORDS(l, " 1497 ", " 3 ", "fill_ratio=0.5"));
	/* Sorted by loss: 192.0.2.2 (11 lost, 5 dropped or not decoded) first. */
	first = strstr(s, "192.0.2.2");
	CHECK(first && strstr(s, "192.0.2.1") && first < strstr(s, "192.0.2.1"));
	CHECK(first && strstr(s, "2001:db8::1") && first < strstr(s, "2001:db8::1"));
	l = line_of(s, "192.0.2.2");
	CHECK(WORDS(l, " 597 ", " 5970 ", " 5970 ", "11 datagrams", " 1 ", " 0 ",
		    "unknown_template=2", "ring_full=3"));
	l = line_of(s, "192.0.2.1");
	CHECK(WORDS(l, " 900 ", " 9000 ", " 8990 ", " - ", " 0 ", " 0 ", " -"));
	l = line_of(s, "ClickHouse:");
	CHECK(WORDS(l, "rows=14960", "errors=1"));
	l = line_of(s, "outlet:");
	CHECK(WORDS(l, "flushes=15"));
	l = line_of(s, "Kafka:");
	CHECK(WORDS(l, "sent=1497", "dropped=2"));
	l = line_of(s, "flows:");
	CHECK(WORDS(l, "enriched=14960", "miss=4"));
	free(s);
}

TEST(summary_of_nothing_is_empty)
{
	char *s = summary("# nothing\n");

	CHECK_EQ(strlen(s), 0);
	free(s);
}
