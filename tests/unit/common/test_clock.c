// SPDX-License-Identifier: AGPL-3.0-or-later
/* The clock helpers: units agree, monotonic time moves forward, deadlines
 * land where they should. */
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "test.h"

TEST(clock_mono_units_agree)
{
	uint64_t ms = clock_mono_ms(), ns = clock_mono_ns();
	double s = clock_mono_s();
	uint64_t ms2;

	CHECK(ns / 1000000 >= ms && ns / 1000000 - ms < 1000);
	CHECK(s * 1000 >= (double)ms && s * 1000 - (double)ms < 1000);
	usleep(20000);
	ms2 = clock_mono_ms();
	CHECK(ms2 >= ms + 20 && ms2 < ms + 5000);
}

TEST(clock_real_ns_is_the_date)
{
	uint64_t ns = clock_real_ns();
	time_t now = time(NULL);

	CHECK((time_t)(ns / 1000000000) >= now - 1 && (time_t)(ns / 1000000000) <= now + 1);
}

TEST(clock_deadline_adds_and_carries)
{
	for (int i = 0; i < 50; i++) {
		struct timespec now, dl;
		uint64_t ms = (uint64_t)i * 137;
		int64_t diff_ns;

		clock_gettime(CLOCK_MONOTONIC, &now);
		clock_deadline(&dl, CLOCK_MONOTONIC, ms);
		CHECK(dl.tv_nsec >= 0 && dl.tv_nsec < 1000000000);
		diff_ns =
		    (int64_t)(dl.tv_sec - now.tv_sec) * 1000000000 + (dl.tv_nsec - now.tv_nsec);
		CHECK(diff_ns >= (int64_t)ms * 1000000 &&
		      diff_ns < (int64_t)ms * 1000000 + 100000000);
	}
}

TEST(clock_sleep_ms_sleeps)
{
	uint64_t t0 = clock_mono_ms();

	clock_sleep_ms(30);
	CHECK(clock_mono_ms() - t0 >= 30);
}

static int stop_on_third(void *ctx)
{
	int *calls = ctx;

	return ++*calls >= 3;
}

TEST(clock_wait_or_stop_waits_or_stops)
{
	uint64_t t0 = clock_mono_ms();
	int calls = 0;

	CHECK_EQ(clock_wait_or_stop(120, NULL, NULL), 0);
	CHECK(clock_mono_ms() - t0 >= 120);
	/* Asked before each slice of 100 ms: the third ask ends a 10 s wait. */
	t0 = clock_mono_ms();
	CHECK_EQ(clock_wait_or_stop(10000, stop_on_third, &calls), 1);
	CHECK_EQ(calls, 3);
	CHECK(clock_mono_ms() - t0 >= 200 && clock_mono_ms() - t0 < 2000);
	calls = 2;
	CHECK_EQ(clock_wait_or_stop(10000, stop_on_third, &calls), 1); /* at once */
}

TEST(clock_pace_sleeps_until_due)
{
	double t0 = clock_mono_s();

	/* 50 units at 1000/s are due 50 ms after the start. */
	clock_pace(t0, 50, 1000);
	CHECK(clock_mono_s() - t0 >= 0.050);
	/* Late, or unpaced: at once. */
	t0 = clock_mono_s();
	clock_pace(t0 - 10, 50, 1000);
	clock_pace(t0, 1000000, 0);
	CHECK(clock_mono_s() - t0 < 0.5);
	/* A second and a half: whole seconds and the fraction both slept. */
	t0 = clock_mono_s();
	clock_pace(t0, 3, 2);
	CHECK(clock_mono_s() - t0 >= 1.5 && clock_mono_s() - t0 < 3);
}
