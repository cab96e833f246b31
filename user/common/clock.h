/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Clock readings the stages share: monotonic time for intervals, timeouts
 * and benchmarks, wall time for timestamps, deadlines for timed waits. */
#ifndef WEIR_COMMON_CLOCK_H
#define WEIR_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds, nanoseconds, seconds: for measuring
 * intervals (never a date). Any thread. */
uint64_t clock_mono_ms(void);
uint64_t clock_mono_ns(void);
double clock_mono_s(void);

/* CLOCK_REALTIME in nanoseconds since the Unix epoch: for timestamps. */
uint64_t clock_real_ns(void);

/* Sets *ts to `ms` milliseconds from now on `clock` (CLOCK_MONOTONIC for a
 * condition variable set to it, CLOCK_REALTIME for sem_timedwait() and the
 * default condition variables): the absolute deadline timed waits take. */
void clock_deadline(struct timespec *ts, clockid_t clock, uint64_t ms);

/* Sleeps `ms` milliseconds, or less when a signal handler ran meanwhile
 * (the caller looks at what the handler set). */
void clock_sleep_ms(uint64_t ms);

/* For a sender paced at `rate` units per second since `start_s`
 * (clock_mono_s()): sleeps until `done` units are due, at once when they
 * are late; rate 0 is unpaced. */
void clock_pace(double start_s, uint64_t done, double rate);

/* Sleeps up to `ms` milliseconds, in slices of at most 100 ms, asking
 * stop(ctx) before each (stop may be NULL: never). Returns 1 as soon as
 * stop says so, 0 when the time is up. For loops that a shutdown must
 * interrupt without a condition variable to signal. */
int clock_wait_or_stop(uint64_t ms, int (*stop)(void *ctx), void *ctx);

#endif
