// SPDX-License-Identifier: AGPL-3.0-or-later
/* The signal model: first SIGTERM asks for a stop, a second (a second later)
 * calls on_second, a repeat within the second counts once. */
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "common/signals.h"
#include "test.h"

static _Atomic int seconds_called;

static void on_second(void *ctx)
{
	atomic_fetch_add(&seconds_called, *(int *)ctx);
}

TEST(signals_stop_then_give_up)
{
	struct signals *s = NULL;
	int weight = 1;

	REQUIRE_EQ(signals_new(on_second, &weight, &s, NULL), 0);
	CHECK_EQ(signals_wait(s, 50), 0); /* nothing asked: time-out */
	CHECK(!signals_stop_requested(s));
	kill(getpid(), SIGTERM);
	CHECK_EQ(signals_wait(s, 5000), 1);
	CHECK(signals_stop_requested(s));
	kill(getpid(), SIGINT); /* within a second: the same request */
	usleep(200 * 1000);
	CHECK_EQ(atomic_load(&seconds_called), 0);
	usleep(1000 * 1000);
	kill(getpid(), SIGINT);
	for (int i = 0; i < 500 && !atomic_load(&seconds_called); i++)
		usleep(10 * 1000);
	CHECK_EQ(atomic_load(&seconds_called), 1);
	CHECK_EQ(signals_wait(s, 0), 1); /* stays asked */
	signals_free(s);
}

TEST(signals_request_stop_wakes_waiter)
{
	struct signals *s = NULL;

	REQUIRE_EQ(signals_new(NULL, NULL, &s, NULL), 0);
	signals_request_stop(s);
	CHECK_EQ(signals_wait(s, UINT64_MAX), 1);
	signals_free(s);
	signals_free(NULL);
}
