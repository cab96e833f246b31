// SPDX-License-Identifier: AGPL-3.0-or-later
/* One exporter never hurts another, over real UDP on loopback into an inlet
 * with a ring bus: a stalled ring drops its exporter's datagrams at once
 * (counted under its name) while the other exporter, on another ring, loses
 * nothing, not even in the kernel; inside one ring a noisy exporter holds at
 * most its share, so a quiet one beside it loses nothing; the kernel's drops
 * reach the drop log. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus/bus.h"
#include "common/addr.h"
#include "common/clock.h"
#include "inlet/inlet.h"
#include "test.h"

#define N	 2000 /* datagrams per exporter */
#define DG_BYTES 1000

struct fixture {
	struct metrics_registry *reg;
	struct bus_producer *prod;
	struct bus_consumer *cons[2];
	struct inlet *in;
	uint16_t port;
	char input[64];
};

/* rcvbuf: the socket's receive buffer; start: also inlet_start(). */
static void fixture_init_with(struct fixture *f, size_t rings, unsigned share, uint64_t rcvbuf,
			      int start)
{
	struct inlet_input_config ic = {.type = INLET_INPUT_UDP, .receive_buffer = rcvbuf};
	struct inlet_config cfg = {.inputs = {&ic, 1}};
	struct error err = {""};
	char listen[32];

	memset(f, 0, sizeof(*f));
	f->port = test_free_udp_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", f->port);
	snprintf(f->input, sizeof(f->input), "udp:[127.0.0.1]:%u", f->port);
	ic.listen = listen;
	REQUIRE_EQ(metrics_registry_new(&f->reg, NULL), 0);
	REQUIRE_EQ(bus_ring_shards_new(rings, 1 << 20, share, f->reg, &f->prod, f->cons, NULL), 0);
	if (inlet_new(&cfg, f->prod, f->reg, &f->in, &err) < 0)
		printf("# %s\n", err.text);
	REQUIRE(f->in);
	if (start)
		REQUIRE_EQ(inlet_start(f->in, &err), 0);
}

static void fixture_init(struct fixture *f, size_t rings, unsigned share)
{
	/* Room in the kernel for all that is sent, even when this machine is
	 * busy elsewhere: only the inlet can lose datagrams then. */
	fixture_init_with(f, rings, share, 16u << 20, 1);
}

static void fixture_fini(struct fixture *f, size_t rings)
{
	inlet_free(f->in);
	bus_ring_shards_close(f->prod);
	bus_producer_free(f->prod);
	for (size_t i = 0; i < rings; i++)
		bus_consumer_free(f->cons[i]);
	metrics_registry_free(f->reg);
}

static uint64_t dropped(struct fixture *f, const char *exporter, const char *reason)
{
	const char *labels[] = {f->input, exporter, reason};

	return metric_get_count(
	    metrics_series(metrics_family(f->reg, "weir_inlet_exporter_dropped_total", "",
					  METRIC_COUNTER, "input,exporter,reason"),
			   labels));
}

/* A socket sending from 127.0.0.<host>. */
static int sender(unsigned host)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	REQUIRE(fd >= 0);
	a.sin_addr.s_addr = htonl(0x7f000000u | host);
	REQUIRE_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void send_one(int fd, uint16_t port, uint8_t tag)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
	uint8_t data[DG_BYTES];

	memset(data, 0, sizeof(data)); /* no flow header: observation domain 0 */
	data[DG_BYTES - 1] = tag;
	to.sin_addr.s_addr = htonl(0x7f000001u);
	REQUIRE(sendto(fd, data, sizeof(data), 0, (struct sockaddr *)&to, sizeof(to)) ==
		(ssize_t)sizeof(data));
}

/* Sends N from each, interleaved, in paced bursts (a sender faster than
 * any receiver would measure the kernel, not the inlet). */
static void send_both(int a, int b, uint16_t port)
{
	for (int i = 0; i < N; i++) {
		send_one(a, port, 1);
		send_one(b, port, 2);
		if (i % 20 == 19)
			clock_sleep_ms(2);
	}
}

static void wait_received(struct inlet *in, uint64_t want)
{
	struct inlet_stats st;
	uint64_t until = clock_mono_ms() + 20000;

	do {
		inlet_get_stats(in, &st);
		if (st.received + st.kernel_drops >= want)
			return;
		clock_sleep_ms(10);
	} while (clock_mono_ms() < until);
}

/* Drains a consumer; returns the datagrams seen. */
static uint64_t drain(struct bus_consumer *c)
{
	struct bus_envelope got[64];
	uint64_t total = 0;
	int n;

	while ((n = bus_consumer_poll(c, got, 64, 0)) > 0) {
		total += (uint64_t)n;
		bus_consumer_release(c, BUS_RELEASE_COMMIT);
	}
	return total;
}

struct reader {
	struct bus_consumer *c;
	_Atomic int stop;
	_Atomic uint64_t got;
};

static void *read_ring(void *arg)
{
	struct reader *r = arg;
	struct bus_envelope got[64];

	while (!atomic_load(&r->stop)) {
		int n = bus_consumer_poll(r->c, got, 64, 50);

		if (n > 0) {
			atomic_fetch_add(&r->got, (uint64_t)n);
			bus_consumer_release(r->c, BUS_RELEASE_COMMIT);
		}
	}
	return NULL;
}

/* stderr into a temporary file, to read the drop log's lines. */
static int capture_stderr(FILE **tmp)
{
	int saved = dup(2);

	fflush(stderr);
	*tmp = tmpfile();
	REQUIRE(*tmp && saved >= 0);
	dup2(fileno(*tmp), 2);
	return saved;
}

/* Restores stderr; returns the sum of the counts of the drop log's lines
 * for (reason, exporter), and their number in *lines. */
static uint64_t drop_lines(FILE *tmp, int saved, const char *reason, const char *exporter,
			   int *lines)
{
	char line[512], want[128];
	uint64_t sum = 0;

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	snprintf(want, sizeof(want), "stage=inlet reason=%s exporter=%s count=", reason, exporter);
	*lines = 0;
	rewind(tmp);
	while (fgets(line, sizeof(line), tmp)) {
		const char *at = strstr(line, want);

		if (strstr(line, "msg=\"datagrams dropped\"") && at) {
			sum += strtoull(at + strlen(want), NULL, 10);
			(*lines)++;
		}
	}
	fclose(tmp);
	return sum;
}

/* 127.0.0.<host> for the first host whose datagrams go to ring `ring`. */
static unsigned host_on_ring(struct bus_producer *prod, size_t ring, unsigned after)
{
	uint8_t data[DG_BYTES] = {0};

	for (unsigned h = after + 1; h < 250; h++) {
		struct bus_envelope env = {.len = sizeof(data), .data = data};

		addr_from_ipv4(&env.exporter, 0x7f000000u | h);
		if (bus_ring_shards_pick(prod, &env) == ring)
			return h;
	}
	REQUIRE(!"no host for the ring");
	return 0;
}

TEST(inlet_stalled_ring_hurts_only_its_exporter)
{
	struct fixture f;
	struct reader rd = {0};
	struct inlet_stats st;
	pthread_t t;
	char stalled_name[32];
	unsigned quiet, stalled;
	int a, b, lines, saved;
	uint64_t held, ring_full;
	FILE *log;

	/* No share: the stalled exporter fills its whole ring. */
	saved = capture_stderr(&log);
	fixture_init(&f, 2, 0);
	quiet = host_on_ring(f.prod, 0, 1);
	stalled = host_on_ring(f.prod, 1, 1);
	snprintf(stalled_name, sizeof(stalled_name), "127.0.0.%u", stalled);
	rd.c = f.cons[0]; /* ring 1's consumer is never polled */
	pthread_create(&t, NULL, read_ring, &rd);
	a = sender(quiet);
	b = sender(stalled);
	send_both(a, b, f.port);
	wait_received(f.in, 2 * N);
	for (uint64_t until = clock_mono_ms() + 10000;
	     atomic_load(&rd.got) < N && clock_mono_ms() < until;)
		clock_sleep_ms(10);
	inlet_get_stats(f.in, &st);
	/* Every datagram of the quiet exporter reached its consumer... */
	CHECK_EQ(atomic_load(&rd.got), N);
	CHECK_EQ(st.kernel_drops, 0);
	CHECK_EQ(st.received, 2 * N);
	/* ...and the stalled one's drops are counted under its name. */
	ring_full = dropped(&f, stalled_name, "ring-full");
	held = drain(f.cons[1]);
	CHECK(held > 0 && held < N);
	CHECK_EQ(ring_full, N - held);
	CHECK_EQ(st.bus_dropped, ring_full);
	CHECK_EQ(dropped(&f, "other", "ring-full"), 0);
	atomic_store(&rd.stop, 1);
	pthread_join(t, NULL);
	close(a);
	close(b);
	fixture_fini(&f, 2);
	/* The drop log told every drop, in a line or two (the first at once,
	 * the rest when the minute passes or, here, when the inlet goes). */
	CHECK_EQ(drop_lines(log, saved, "ring-full", stalled_name, &lines), ring_full);
	CHECK(lines >= 1 && lines <= 2);
}

TEST(inlet_noisy_exporter_holds_only_its_share_of_a_ring)
{
	struct fixture f;
	struct inlet_stats st;
	struct bus_envelope got[64];
	char noisy_name[32], quiet_name[32];
	uint64_t per[2] = {0}, share;
	int a, b, n;

	/* One ring, its consumer slow (it reads only at the end). */
	fixture_init(&f, 1, 50);
	a = sender(3); /* quiet: sends 300 */
	b = sender(4); /* noisy: sends N */
	snprintf(quiet_name, sizeof(quiet_name), "127.0.0.3");
	snprintf(noisy_name, sizeof(noisy_name), "127.0.0.4");
	/* The quiet one says a word (so it is present), the noisy one fills
	 * more than the ring, then the quiet one sends the rest. */
	for (int i = 0; i < N; i++) {
		if (i == 0)
			send_one(a, f.port, 1);
		send_one(b, f.port, 2);
		if (i > N - 300)
			send_one(a, f.port, 1);
		if (i % 20 == 19)
			clock_sleep_ms(2);
	}
	wait_received(f.in, N + 300);
	inlet_get_stats(f.in, &st);
	CHECK_EQ(st.kernel_drops, 0);
	while ((n = bus_consumer_poll(f.cons[0], got, 64, 0)) > 0) {
		for (int i = 0; i < n; i++)
			per[got[i].data[DG_BYTES - 1] - 1]++;
		bus_consumer_release(f.cons[0], BUS_RELEASE_COMMIT);
	}
	/* The quiet one lost nothing; the noisy one's excess is counted. */
	CHECK_EQ(per[0], 300);
	CHECK_EQ(dropped(&f, quiet_name, "exporter-share"), 0);
	CHECK_EQ(dropped(&f, quiet_name, "ring-full"), 0);
	share = dropped(&f, noisy_name, "exporter-share");
	CHECK(share > 0);
	CHECK_EQ(per[1] + share, N);
	CHECK_EQ(st.bus_dropped, share);
	close(a);
	close(b);
	fixture_fini(&f, 1);
}

TEST(inlet_kernel_queue_drops_reach_the_drop_log)
{
	struct fixture f;
	struct inlet_stats st;
	struct error err = {""};
	int fd, lines, saved;
	uint64_t logged;
	FILE *log;

	/* Sockets open, no thread reading yet: a small buffer overflows. */
	saved = capture_stderr(&log);
	fixture_init_with(&f, 1, 0, 4096, 0);
	fd = sender(5);
	for (int i = 0; i < 500; i++)
		send_one(fd, f.port, 1);
	REQUIRE_EQ(inlet_start(f.in, &err), 0);
	/* The thread reads what the buffer held, then tells within a second. */
	clock_sleep_ms(1500);
	inlet_get_stats(f.in, &st);
	close(fd);
	fixture_fini(&f, 1);
	logged = drop_lines(log, saved, "kernel-queue", "none", &lines);
	CHECK(st.kernel_drops > 0);
	CHECK_EQ(st.received + st.kernel_drops, 500);
	CHECK_EQ(logged, st.kernel_drops);
	CHECK(lines >= 1 && lines <= 2);
}
