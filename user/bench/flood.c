// SPDX-License-Identifier: AGPL-3.0-or-later
/* A flood on the veth pair for `weir bench junk-flood` and the tests of
 * floods: the kernel's XDP traffic generator in a thread of its own, sending
 * the caller's payloads in turn as fast as it goes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

/* From the exporter's namespace (the generator names its device by
 * ifindex, in the calling thread's namespace). */
static void *flood_run(void *arg)
{
	struct bench_flood *f = arg;
	size_t i = 0;

	if (bench_netpair_enter(f->np, 0) < 0) {
		atomic_store(&f->error, -errno);
		return NULL;
	}
	while (!atomic_load_explicit(&f->stop, memory_order_relaxed)) {
		const struct bench_payload *p = &f->payloads[i++ % f->n];
		/* Source ports vary as a sender's would; the generator's frame is
		 * rebuilt each time. */
		long r = bench_xdp_sender_set(&f->tx, &f->src, (uint16_t)(30000 + i % 1000),
					      f->dport, p->data, p->len);

		if (r == 0)
			r = bench_xdp_sender_send(&f->tx, BENCH_FLOOD_COPIES);
		if (r < 0) {
			atomic_store(&f->error, (int)r);
			break;
		}
		atomic_fetch_add_explicit(&f->sent, (uint64_t)r, memory_order_relaxed);
	}
	bench_netpair_leave(f->np);
	return NULL;
}

int bench_flood_start(struct bench_flood *f, struct bench_netpair *np, const struct in6_addr *src,
		      uint16_t dport, const struct bench_payload *payloads, size_t n,
		      struct error *err)
{
	int r;

	memset(f, 0, sizeof(*f));
	f->np = np;
	f->src = *src;
	f->dport = dport;
	f->payloads = payloads;
	f->n = n;
	if (!n)
		return error_set(err, -EINVAL, "flood: no payloads");
	r = bench_xdp_sender_init(&f->tx, np, 64);
	if (r < 0)
		return error_set(err, r, "flood: XDP traffic generator: %s (Linux 5.18+)",
				 strerror(-r));
	r = pthread_create(&f->thread, NULL, flood_run, f);
	if (r != 0) {
		bench_xdp_sender_fini(&f->tx);
		return error_set(err, -r, "flood: cannot start its thread: %s", strerror(r));
	}
	f->running = 1;
	return 0;
}

uint64_t bench_flood_sent(struct bench_flood *f)
{
	return atomic_load_explicit(&f->sent, memory_order_relaxed);
}

int bench_flood_stop(struct bench_flood *f)
{
	if (f->running) {
		atomic_store(&f->stop, 1);
		pthread_join(f->thread, NULL);
		bench_xdp_sender_fini(&f->tx);
		f->running = 0;
	}
	return atomic_load(&f->error);
}
