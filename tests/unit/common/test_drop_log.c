// SPDX-License-Identifier: AGPL-3.0-or-later
/* drop_log: the first drop of a key speaks at once, later ones wait for the
 * interval and carry the count since the last line, keys are apart, the
 * tail of a burst is said by tick() or free(), and eviction loses no count. */
#include <arpa/inet.h>
#include <stdio.h>

#include "common/drop_log.h"
#include "test.h"

struct line {
	char reason[32];
	int has_exporter;
	struct in6_addr exporter;
	uint64_t count;
};

static struct line lines[64];
static int nlines;

static void capture(void *ctx, const char *stage, const char *reason,
		    const struct in6_addr *exporter, uint64_t count)
{
	(void)ctx;
	CHECK_STR(stage, "test");
	if (nlines == 64)
		return;
	snprintf(lines[nlines].reason, sizeof(lines[0].reason), "%s", reason);
	lines[nlines].has_exporter = exporter != NULL;
	if (exporter)
		lines[nlines].exporter = *exporter;
	lines[nlines++].count = count;
}

static struct drop_log *make(size_t max_keys)
{
	struct drop_log_config cfg = {
	    .stage = "test", .interval_ms = 1000, .max_keys = max_keys, .emit = capture};
	struct drop_log *d;

	nlines = 0;
	REQUIRE(drop_log_new(&cfg, &d, NULL) == 0);
	return d;
}

static struct in6_addr exporter(int i)
{
	struct in6_addr a = {0};

	a.s6_addr[10] = a.s6_addr[11] = 0xff;
	a.s6_addr[12] = 192;
	a.s6_addr[15] = (uint8_t)i;
	return a;
}

TEST(drop_log_first_at_once_then_once_per_interval)
{
	struct drop_log *d = make(0);
	struct in6_addr a = exporter(1);

	drop_log_note(d, "ring-full", &a, 3, 10000);
	CHECK_EQ(nlines, 1);
	CHECK_EQ(lines[0].count, 3);
	CHECK(lines[0].has_exporter && lines[0].exporter.s6_addr[15] == 1);
	for (int i = 0; i < 100; i++)
		drop_log_note(d, "ring-full", &a, 2, 10001 + (uint64_t)i);
	CHECK_EQ(nlines, 1);
	drop_log_tick(d, 10999);
	CHECK_EQ(nlines, 1);
	drop_log_tick(d, 11000);
	REQUIRE(nlines == 2);
	CHECK_EQ(lines[1].count, 200);
	CHECK_STR(lines[1].reason, "ring-full");
	/* Quiet since: nothing more to say. */
	drop_log_tick(d, 50000);
	CHECK_EQ(nlines, 2);
	/* A note after the interval speaks itself. */
	drop_log_note(d, "ring-full", &a, 5, 60000);
	CHECK_EQ(nlines, 3);
	CHECK_EQ(lines[2].count, 5);
	drop_log_free(d);
	CHECK_EQ(nlines, 3);
}

TEST(drop_log_keys_are_reason_and_exporter)
{
	struct drop_log *d = make(0);
	struct in6_addr a = exporter(1), b = exporter(2);

	drop_log_note(d, "ring-full", &a, 1, 0);
	drop_log_note(d, "ring-full", &b, 1, 0);
	drop_log_note(d, "decode-error", &a, 1, 0);
	drop_log_note(d, "kernel", NULL, 7, 0);
	REQUIRE(nlines == 4);
	CHECK(!lines[3].has_exporter);
	CHECK_EQ(lines[3].count, 7);
	drop_log_note(d, "ring-full", &b, 4, 10);
	CHECK_EQ(nlines, 4);
	/* free says what is pending, at any time. */
	drop_log_free(d);
	REQUIRE(nlines == 5);
	CHECK_EQ(lines[4].count, 4);
	CHECK(lines[4].exporter.s6_addr[15] == 2);
}

TEST(drop_log_eviction_says_what_it_owes)
{
	struct drop_log *d = make(4);
	uint64_t total = 0;

	for (int i = 0; i < 20; i++) {
		struct in6_addr a = exporter(i);

		drop_log_note(d, "ring-full", &a, 1, (uint64_t)i); /* says 1 */
		drop_log_note(d, "ring-full", &a, 2, (uint64_t)i); /* pending 2 */
	}
	drop_log_free(d);
	for (int i = 0; i < nlines; i++)
		total += lines[i].count;
	CHECK_EQ(total, 60);
}
