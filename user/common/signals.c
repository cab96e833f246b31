// SPDX-License-Identifier: AGPL-3.0-or-later
/* SIGINT/SIGTERM taken by one sigwait thread: stop, then give up, then exit. */
#include "signals.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "clock.h"

struct signals {
	sigset_t set;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	_Atomic int count;
	void (*on_second)(void *ctx);
	void *_Atomic ctx;
};

static void request(struct signals *s)
{
	pthread_mutex_lock(&s->lock);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void *signal_main(void *arg)
{
	struct signals *s = arg;
	uint64_t first = 0;
	int signo;

	for (;;) {
		if (sigwait(&s->set, &signo) != 0)
			continue;
		if (first && clock_mono_ms() - first < 1000)
			continue;
		if (!first)
			first = clock_mono_ms();
		switch (atomic_fetch_add(&s->count, 1)) {
		case 0:
			log_info("stopping", "signal=%d", signo);
			request(s);
			break;
		case 1:
			log_warn("second signal: giving up waiting; a third exits at once",
				 "signal=%d", signo);
			if (s->on_second)
				s->on_second(atomic_load(&s->ctx));
			break;
		default:
			_exit(130);
		}
	}
	return NULL;
}

int signals_new(void (*on_second)(void *ctx), void *ctx, struct signals **out, struct error *err)
{
	struct signals *s;
	int ret;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return error_set(err, -ENOMEM, "signals: out of memory");
	s->on_second = on_second;
	atomic_store(&s->ctx, ctx);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	sigemptyset(&s->set);
	sigaddset(&s->set, SIGINT);
	sigaddset(&s->set, SIGTERM);
	/* A shell starts background jobs with SIGINT ignored, and an ignored
	 * signal never reaches sigwait(). */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	pthread_sigmask(SIG_BLOCK, &s->set, NULL);
	signal(SIGPIPE, SIG_IGN);
	ret = -pthread_create(&s->thread, NULL, signal_main, s);
	if (ret < 0) {
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return error_set(err, ret, "signals: cannot start the signal thread");
	}
	*out = s;
	return 0;
}

void signals_set_context(struct signals *s, void *ctx)
{
	atomic_store(&s->ctx, ctx);
}

int signals_stop_requested(void *s)
{
	return atomic_load(&((struct signals *)s)->count) > 0;
}

void signals_request_stop(struct signals *s)
{
	int zero = 0;

	if (atomic_compare_exchange_strong(&s->count, &zero, 1))
		request(s);
}

int signals_wait(struct signals *s, uint64_t ms)
{
	struct timespec ts;
	int stopped;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ms != UINT64_MAX) {
		ts.tv_sec += (time_t)(ms / 1000);
		ts.tv_nsec += (long)(ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
	}
	pthread_mutex_lock(&s->lock);
	while (!(stopped = signals_stop_requested(s))) {
		int r = ms == UINT64_MAX ? pthread_cond_wait(&s->cond, &s->lock)
					 : pthread_cond_timedwait(&s->cond, &s->lock, &ts);
		if (r == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&s->lock);
	return stopped;
}

void signals_free(struct signals *s)
{
	if (!s)
		return;
	pthread_cancel(s->thread);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
