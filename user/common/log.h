/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Logging: one line per event on stderr, logfmt style
 *   ts=... level=warn msg="template limit hit" exporter=192.0.2.1 reason=...
 * Thread-safe: each line is written with one write(2). */
#ifndef WEIR_COMMON_LOG_H
#define WEIR_COMMON_LOG_H

#include <stdatomic.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN = 1,
	LOG_LEVEL_INFO = 2,
	LOG_LEVEL_DEBUG = 3,
};

/* Process-wide threshold; lines above it are not formatted. Default info. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info", "debug". Returns 0 or -EINVAL. */
int log_level_from_text(const char *text, enum log_level *level);

/* `msg` is quoted as is; `kv_fmt` is printf-style key=value context (may be
 * NULL or ""). Values with spaces should be quoted by the caller ("%s" -> "\"%s\""). */
void log_write(enum log_level level, const char *msg, const char *kv_fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(msg, ...) log_write(LOG_LEVEL_ERROR, msg, __VA_ARGS__)
#define log_warn(msg, ...)  log_write(LOG_LEVEL_WARN, msg, __VA_ARGS__)
#define log_info(msg, ...)  log_write(LOG_LEVEL_INFO, msg, __VA_ARGS__)
#define log_debug(msg, ...) log_write(LOG_LEVEL_DEBUG, msg, __VA_ARGS__)

/* Rate limit for hot paths: at most `burst` lines per second per limiter;
 * the first line after a suppressed period carries suppressed=N. Declare one
 * static limiter per call site: LOG_RATELIMIT(rl, 10). Safe across threads. */
struct log_ratelimit {
	unsigned burst;
	_Atomic uint64_t second; /* the current one-second window */
	_Atomic unsigned used;
	_Atomic unsigned suppressed;
};
#define LOG_RATELIMIT(name, burst_) static struct log_ratelimit name = {.burst = (burst_)}

void log_write_limited(struct log_ratelimit *rl, enum log_level level, const char *msg,
		       const char *kv_fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
