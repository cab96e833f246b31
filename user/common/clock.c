// SPDX-License-Identifier: AGPL-3.0-or-later
/* Clock readings (clock.h). */
#include "clock.h"

static struct timespec now(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts;
}

uint64_t clock_mono_ms(void)
{
	struct timespec ts = now(CLOCK_MONOTONIC);

	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t clock_mono_ns(void)
{
	struct timespec ts = now(CLOCK_MONOTONIC);

	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

double clock_mono_s(void)
{
	struct timespec ts = now(CLOCK_MONOTONIC);

	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t clock_real_ns(void)
{
	struct timespec ts = now(CLOCK_REALTIME);

	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void clock_deadline(struct timespec *ts, clockid_t clock, uint64_t ms)
{
	uint64_t ns;

	*ts = now(clock);
	ns = (uint64_t)ts->tv_nsec + ms % 1000 * 1000000;
	ts->tv_sec += (time_t)(ms / 1000 + ns / 1000000000);
	ts->tv_nsec = (long)(ns % 1000000000);
}

void clock_sleep_ms(uint64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
			      .tv_nsec = (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

void clock_pace(double start_s, uint64_t done, double rate)
{
	double wait = rate > 0 ? start_s + (double)done / rate - clock_mono_s() : 0;

	if (wait > 0) {
		struct timespec ts = {.tv_sec = (time_t)wait,
				      .tv_nsec = (long)((wait - (double)(time_t)wait) * 1e9)};

		nanosleep(&ts, NULL);
	}
}

int clock_wait_or_stop(uint64_t ms, int (*stop)(void *ctx), void *ctx)
{
	uint64_t end = clock_mono_ms() + ms;

	while (!(stop && stop(ctx))) {
		uint64_t now = clock_mono_ms();

		if (now >= end)
			return 0;
		clock_sleep_ms(end - now < 100 ? end - now : 100);
	}
	return 1;
}
