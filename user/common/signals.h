/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The one signal model of every long-running weir command: SIGINT and SIGTERM
 * are blocked in every thread and taken by one thread of their own (sigwait),
 * never by handlers. The first asks for an orderly stop, the second calls the
 * owner's `on_second` (give up waiting on slow stages), the third exits at
 * once (status 130). Signals within a second of the first count as one (a
 * Ctrl-C often arrives twice: the terminal's and a wrapper script's). */
#ifndef WEIR_COMMON_SIGNALS_H
#define WEIR_COMMON_SIGNALS_H

#include <stdint.h>

#include "error.h"

struct signals;

/* Call in the main thread before any other thread is made (threads inherit
 * the blocked mask). Also ignores SIGPIPE. `on_second` (may be NULL) runs in
 * the signal thread; `ctx` is passed to it. Returns 0 or -errno. */
int signals_new(void (*on_second)(void *ctx), void *ctx, struct signals **out, struct error *err);
/* Changes the context of on_second (e.g. once the object it stops exists,
 * and NULL again before it is freed). Thread-safe. */
void signals_set_context(struct signals *s, void *ctx);
/* Non-zero once a stop was asked. Thread-safe; also a `should_stop`
 * callback for loops that poll (pass the struct signals as ctx). */
int signals_stop_requested(void *s);
/* Waits up to `ms` (UINT64_MAX: forever) for a stop request. Returns 1 when
 * one was asked (now or before), 0 on time-out. */
int signals_wait(struct signals *s, uint64_t ms);
/* Asks for a stop as a signal would (tests, a role that ends by itself). */
void signals_request_stop(struct signals *s);
/* Ends the signal thread; the signals stay blocked. NULL is fine. */
void signals_free(struct signals *s);

#endif
