// SPDX-License-Identifier: AGPL-3.0-or-later
/* The outlet's loss reports: sequence gaps, late datagrams and restarts per
 * exporter and domain in /metrics (a parked datagram decoded again is not
 * counted twice), and decode problems logged once per reason and exporter
 * with the count since the previous line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/be.h"
#include "demo/demo.h"
#include "outlet/outlet.h"
#include "store/store.h"
#include "test.h"

#include "outlet_rig.h"

/* n NetFlow v9 datagrams of 5 IPv4 flows each from source id `domain`,
 * into dg[i] (1500 bytes each) and len[i]; only the first carries the
 * templates. */
static void encode_v9(uint8_t (*dg)[1500], size_t *len, int n, uint32_t domain)
{
	struct demo_encoder_config ec = {
	    .format = DEMO_NETFLOW_V9, .sampling_rate = 10, .domain_id = domain};
	struct demo_encoder *enc;
	struct flow flows[5];
	uint64_t seed = 1;

	REQUIRE_EQ(demo_encoder_new(&ec, &enc, NULL), 0);
	for (int d = 0; d < n; d++) {
		demo_flows_random(flows, 5, DEMO_NETFLOW_V9, 1700000000, &seed);
		for (int i = 0; i < 5; i++)
			flows[i].etype = 0x0800, addr_from_ipv4(&flows[i].src_addr, 0x0a000001u);
		REQUIRE(demo_encoder_encode(enc, flows, 5, dg[d], 1500, &len[d]) > 0);
	}
	demo_encoder_free(enc);
}

/* stderr into a temporary file until capture_end(), which returns what was
 * written (malloc'd). */
struct capture {
	FILE *f;
	int saved;
};

static void capture_begin(struct capture *c)
{
	c->f = tmpfile();
	c->saved = dup(2);
	REQUIRE(c->f && c->saved >= 0);
	fflush(stderr);
	REQUIRE(dup2(fileno(c->f), 2) == 2);
}

static char *capture_end(struct capture *c)
{
	long n;
	char *text;

	fflush(stderr);
	n = ftell(c->f);
	text = calloc(1, (size_t)n + 1);
	rewind(c->f);
	if (text && fread(text, 1, (size_t)n, c->f) != (size_t)n)
		text[0] = 0;
	dup2(c->saved, 2);
	close(c->saved);
	fclose(c->f);
	REQUIRE(text);
	return text;
}

TEST(sequence_gaps_per_exporter_and_domain)
{
	static uint8_t dg[8][1500];
	size_t len[8];
	struct rig r;

	/* Source id 5: datagrams 0..7, only the first with templates. */
	encode_v9(dg, len, 8, 5);
	rig_start(&r);
	/* 1 and 2 wait for the template (in 0, late): they are decoded again
	 * once it comes, and must not count twice. 3 and 4 are lost, 6 too; 5
	 * comes twice. */
	rig_send(&r, 0xc0000201, dg[1], len[1]);
	rig_send(&r, 0xc0000201, dg[2], len[2]);
	rig_send(&r, 0xc0000201, dg[0], len[0]);
	rig_send(&r, 0xc0000201, dg[5], len[5]);
	rig_send(&r, 0xc0000201, dg[5], len[5]);
	rig_send(&r, 0xc0000201, dg[7], len[7]);
	/* Another exporter, same source id, nothing lost. */
	for (int d = 0; d < 3; d++)
		rig_send(&r, 0xc0000202, dg[d], len[d]);
	rig_wait(&r, 9, -1);
	CHECK(test_metrics_has(
	    r.reg, "weir_outlet_sequence_lost_total{exporter=\"192.0.2.1\",domain=\"5\","
		   "unit=\"datagrams\"} 3\n"));
	/* 0 (behind 1 and 2) and the second 5. */
	CHECK(test_metrics_has(r.reg,
			       "weir_outlet_sequence_out_of_order_total{exporter=\"192.0.2.1\","
			       "domain=\"5\"} 2\n"));
	CHECK(test_metrics_has(
	    r.reg, "weir_outlet_sequence_lost_total{exporter=\"192.0.2.2\",domain=\"5\","
		   "unit=\"datagrams\"} 0\n"));
	CHECK(test_metrics_has(r.reg, "weir_outlet_unparked_total{worker=\"0\"} 2\n"));
	rig_stop(&r);
}

TEST(decode_problems_logged_once_a_minute_with_the_count)
{
	uint8_t junk[40] = {0, 99};
	struct capture cap;
	char *text, *at;
	struct rig r;

	rig_start(&r);
	capture_begin(&cap);
	for (int i = 0; i < 5; i++)
		rig_send(&r, 0xc0000201, junk, sizeof(junk));
	rig_send(&r, 0xc0000202, junk, sizeof(junk));
	rig_wait(&r, 6, -1);
	CHECK(test_metrics_has(
	    r.reg, "weir_decode_events_total{exporter=\"192.0.2.1\",reason=\"bad_version\"} 5\n"));
	/* Stopping says the counts not yet said. */
	rig_stop(&r);
	text = capture_end(&cap);
	/* 192.0.2.1: its first at once, the 4 others at the end; 192.0.2.2: one. */
	at = strstr(text, "reason=bad_version exporter=192.0.2.1 count=1\n");
	CHECK(at);
	CHECK(at && strstr(at + 1, "reason=bad_version exporter=192.0.2.1 count=4\n"));
	CHECK(strstr(text, "reason=bad_version exporter=192.0.2.2 count=1\n"));
	CHECK(!strstr(text, "count=5"));
	at = text;
	for (int lines = 0;; lines++) {
		at = strstr(at, "datagrams not fully decoded");
		if (!at) {
			CHECK_EQ(lines, 3);
			break;
		}
		at++;
	}
	free(text);
}

TEST(parked_datagrams_without_room_are_logged_with_the_count)
{
	static uint8_t dg[2][1500];
	size_t len[2];
	struct capture cap;
	int n = 4096 + 3;
	char *text;
	struct rig r;

	encode_v9(dg, len, 2, 0);
	rig_start(&r);
	capture_begin(&cap);
	/* Data without its template, more than the parking holds: the 3
	 * oldest go. */
	for (int i = 0; i < n; i++)
		rig_send(&r, 0xc0000201, dg[1], len[1]);
	rig_wait(&r, (uint64_t)n, -1);
	CHECK(test_metrics_has(
	    r.reg, "weir_outlet_park_dropped_total{exporter=\"192.0.2.1\",reason=\"full\"} 3\n"));
	rig_stop(&r);
	text = capture_end(&cap);
	CHECK(strstr(text, "msg=\"datagrams dropped\" stage=outlet reason=parked_full "
			   "exporter=192.0.2.1 count=1\n"));
	CHECK(strstr(text, "reason=parked_full exporter=192.0.2.1 count=2\n"));
	free(text);
}
