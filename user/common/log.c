// SPDX-License-Identifier: AGPL-3.0-or-later
/* logfmt lines on stderr, with a per-call-site rate limit for hot paths. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic int log_threshold = LOG_LEVEL_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level level)
{
	atomic_store(&log_threshold, (int)level);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load(&log_threshold);
}

int log_level_from_text(const char *text, enum log_level *level)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(text, level_names[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

static void log_vwrite(enum log_level level, unsigned suppressed, const char *msg,
		       const char *kv_fmt, va_list ap)
{
	char line[2048];
	struct timespec now;
	struct tm tm;
	size_t n;
	int r;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	r = snprintf(line, sizeof(line),
		     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s msg=\"%s\"",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     now.tv_nsec / 1000000, level_names[level], msg);
	n = r < 0 ? 0 : ((size_t)r < sizeof(line) ? (size_t)r : sizeof(line) - 1);
	if (kv_fmt && *kv_fmt && n + 2 < sizeof(line)) {
		line[n++] = ' ';
		r = vsnprintf(line + n, sizeof(line) - n, kv_fmt, ap);
		if (r > 0)
			n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	}
	if (suppressed && n + 1 < sizeof(line)) {
		r = snprintf(line + n, sizeof(line) - n, " suppressed=%u", suppressed);
		if (r > 0)
			n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	}
	if (n + 1 >= sizeof(line))
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line so threads do not interleave inside a line. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void log_write(enum log_level level, const char *msg, const char *kv_fmt, ...)
{
	va_list ap;

	if ((int)level > atomic_load(&log_threshold))
		return;
	va_start(ap, kv_fmt);
	log_vwrite(level, 0, msg, kv_fmt, ap);
	va_end(ap);
}

void log_write_limited(struct log_ratelimit *rl, enum log_level level, const char *msg,
		       const char *kv_fmt, ...)
{
	struct timespec now;
	uint64_t second, seen;
	unsigned suppressed = 0;
	va_list ap;

	if ((int)level > atomic_load(&log_threshold))
		return;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	second = (uint64_t)now.tv_sec;
	seen = atomic_load(&rl->second);
	if (seen != second && atomic_compare_exchange_strong(&rl->second, &seen, second))
		atomic_store(&rl->used, 0);
	if (atomic_fetch_add(&rl->used, 1) >= rl->burst) {
		atomic_fetch_add(&rl->suppressed, 1);
		return;
	}
	suppressed = atomic_exchange(&rl->suppressed, 0);
	va_start(ap, kv_fmt);
	log_vwrite(level, suppressed, msg, kv_fmt, ap);
	va_end(ap);
}
