// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir bench inlet`: datagrams/s received on a veth pair through recvmmsg
 * sockets and through AF_XDP, with the same sendmmsg sender, side by side.
 * For each receive path: a full-speed phase (sent/s, received/s, loss), then
 * paced phases down to the highest rate received without loss. CPU time of
 * sender and receiver says which side bounds the figure. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "inlet_internal.h"

/* A bus that counts and forgets: the bench measures the inlet, not a bus. */
struct count_bus {
	struct bus_producer p;
	_Atomic uint64_t n;
};

static int count_send(struct bus_producer *p, const struct bus_envelope *env)
{
	struct count_bus *b = (struct count_bus *)p;

	(void)env;
	atomic_fetch_add_explicit(&b->n, 1, memory_order_relaxed);
	return 0;
}

static int count_flush(struct bus_producer *p, int ms)
{
	(void)p;
	(void)ms;
	return 0;
}

static void count_free(struct bus_producer *p)
{
	(void)p;
}

static const struct bus_producer_ops count_ops = {count_send, count_flush, count_free};

struct bench {
	struct inlet_netpair np;
	struct count_bus bus;
	int fd; /* sender, in the exporter namespace, connected */
	uint32_t size;
	uint64_t count;
	int ncpu;
};

struct phase {
	uint64_t sent, received;
	double send_s, recv_s;
	double sender_cpu, receiver_cpu; /* seconds */
	uint64_t kernel_drops;		 /* counted by the kernel on the receive side */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* Sends `count` datagrams (paced at `pps` when not 0) from the calling
 * thread, then waits for the receive count to settle. */
static void run_phase(struct bench *b, struct inlet *in, uint64_t count, uint64_t pps,
		      struct phase *ph)
{
	enum { BATCH = 64 };
	struct mmsghdr msgs[BATCH];
	struct iovec iov;
	static uint8_t payload[BUS_MAX_DATAGRAM];
	uint64_t r0 = atomic_load(&b->bus.n), last, sent = 0;
	double t0, tl, self0, me0;
	struct inlet_stats st0, st1;

	inlet_get_stats(in, &st0);
	memset(payload, 0x5a, b->size);
	iov.iov_base = payload;
	iov.iov_len = b->size;
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	self0 = cpu_s(RUSAGE_SELF);
	me0 = cpu_s(RUSAGE_THREAD);
	t0 = now_s();
	while (sent < count) {
		unsigned n = count - sent < BATCH ? (unsigned)(count - sent) : BATCH;
		int r;

		if (pps)
			while ((double)sent / (now_s() - t0 + 1e-9) > (double)pps)
				;
		r = sendmmsg(b->fd, msgs, n, 0);
		if (r > 0)
			sent += (uint64_t)r;
		else if (r < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
			break;
	}
	ph->send_s = now_s() - t0;
	ph->sender_cpu = cpu_s(RUSAGE_THREAD) - me0;
	/* Settle: until nothing arrived for 100 ms. */
	last = atomic_load(&b->bus.n);
	tl = now_s();
	for (;;) {
		uint64_t v;

		usleep(2000);
		v = atomic_load(&b->bus.n);
		if (v != last) {
			last = v;
			tl = now_s();
		} else if (now_s() - tl > 0.1) {
			break;
		}
	}
	ph->recv_s = tl - t0;
	ph->receiver_cpu = cpu_s(RUSAGE_SELF) - self0 - ph->sender_cpu;
	ph->sent = sent;
	ph->received = last - r0;
	inlet_get_stats(in, &st1);
	ph->kernel_drops = st1.kernel_drops - st0.kernel_drops;
}

static double loss_of(const struct phase *ph)
{
	return ph->sent ? 1.0 - (double)ph->received / (double)ph->sent : 0;
}

struct result {
	const char *name;
	struct phase blast;
	double lossless; /* datagrams/s */
};

static int measure(struct bench *b, int afxdp, int mode, int busy, struct result *res)
{
	struct inlet_input_config ic = {0};
	struct inlet_config cfg = {0};
	char err[512];
	struct inlet *in;
	double lo = 0, hi, rate;

	ic.type = afxdp ? INLET_INPUT_AFXDP : INLET_INPUT_UDP;
	ic.interface = b->np.if_col;
	ic.listen = ":2055";
	ic.mode = mode;
	ic.busy_poll = busy;
	ic.workers = 1;
	cfg.inputs.items = &ic;
	cfg.inputs.count = 1;
	if (inlet_netpair_enter(&b->np, 1) < 0)
		return -1;
	/* The receive thread inherits this CPU; the sender keeps CPU 0. */
	if (b->ncpu > 1)
		pin(b->ncpu - 1);
	in = inlet_new(&cfg, &b->bus.p, NULL, err, sizeof(err));
	if (in && inlet_start(in) < 0) {
		inlet_free(in);
		in = NULL;
		snprintf(err, sizeof(err), "cannot start the inlet threads");
	}
	if (b->ncpu > 1)
		pin(0);
	inlet_netpair_leave(&b->np);
	if (!in) {
		fprintf(stderr, "weir bench inlet: %s: %s\n", res->name, err);
		return -1;
	}
	run_phase(b, in, b->count / 10, 0, &res->blast); /* warm-up */
	run_phase(b, in, b->count, 0, &res->blast);
	if (loss_of(&res->blast) <= 0.001) {
		res->lossless = (double)res->blast.received / res->blast.recv_s;
	} else {
		/* Highest paced rate with at most 0.1% loss: a few bisection steps
		 * below what arrived at full speed. */
		hi = (double)res->blast.received / res->blast.recv_s;
		res->lossless = 0;
		for (int step = 0; step < 5; step++) {
			struct phase ph;

			rate = step == 0 ? hi * 0.95 : (lo + hi) / 2;
			run_phase(b, in, (uint64_t)(rate / 2) + 1000, (uint64_t)rate, &ph);
			if (loss_of(&ph) <= 0.001) {
				lo = rate;
				res->lossless = (double)ph.received / ph.recv_s;
				if (step == 0)
					break;
			} else {
				hi = rate;
			}
		}
	}
	if (inlet_netpair_enter(&b->np, 1) == 0) {
		inlet_free(in);
		inlet_netpair_leave(&b->np);
	}
	return 0;
}

static void print_result(const struct result *r, const struct bench *b)
{
	const struct phase *p = &r->blast;
	double send_pct = 100 * p->sender_cpu / p->send_s,
	       recv_pct = 100 * p->receiver_cpu / p->recv_s;

	printf("inlet %-20s sent %8.0f/s  received %8.0f/s  loss %5.2f%% (kernel-counted %llu)"
	       "  lossless %8.0f/s  cpu sender %3.0f%% receiver %3.0f%%  (%u-byte datagrams)\n",
	       r->name, (double)p->sent / p->send_s, (double)p->received / p->recv_s,
	       100 * loss_of(p), (unsigned long long)p->kernel_drops, r->lossless, send_pct,
	       recv_pct, b->size);
	/* CPU per datagram does not depend on how much of a core each side got
	 * from the scheduler, so it compares the paths on a busy machine too
	 * (softirq work may be charged to neither thread). */
	printf("inlet %-20s cpu per datagram: sender %.0f ns, receiver %.0f ns\n", r->name,
	       p->sent ? 1e9 * p->sender_cpu / (double)p->sent : 0,
	       p->received ? 1e9 * p->receiver_cpu / (double)p->received : 0);
}

static void print_bound(const struct result *r)
{
	const struct phase *p = &r->blast;
	double send_pct = 100 * p->sender_cpu / p->send_s;

	if (loss_of(p) > 0.001)
		printf("inlet bound %-20s receiver: %.2f%% lost at full speed\n", r->name,
		       100 * loss_of(p));
	else if (send_pct > 90)
		printf("inlet bound %-20s sender: its core is saturated (%.0f%%), nothing lost\n",
		       r->name, send_pct);
	else
		printf("inlet bound %-20s sender: nothing lost, but it had only %.0f%% of a core "
		       "(other processes compete for the CPUs)\n",
		       r->name, send_pct);
}

int inlet_bench(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"count", required_argument, NULL, 'n'},
	    {"size", required_argument, NULL, 's'},
	    {"mode", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct bench b = {.size = 100, .count = 2000000, .fd = -1};
	struct result res[3] = {
	    {.name = "recvmmsg (1 socket)"}, {.name = "afxdp"}, {.name = "afxdp busy-poll"}};
	struct sockaddr_in6 dst = {.sin6_family = AF_INET6, .sin6_port = htons(2055)};
	int mode = INLET_XDP_NATIVE, c, ret = 1;
	cpu_set_t orig;

	optind = 1;
	while ((c = getopt_long(argc, argv, "n:s:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			b.count = strtoull(optarg, NULL, 10);
			break;
		case 's':
			b.size = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'm':
			mode = !strcmp(optarg, "generic") ? INLET_XDP_GENERIC : INLET_XDP_NATIVE;
			break;
		case 'h':
			printf("usage: weir bench inlet [--count N] [--size BYTES] "
			       "[--mode native|generic]\n"
			       "On a veth pair between two network namespaces it creates (root), "
			       "sends\n"
			       "N datagrams (default 2000000, 100 bytes) with sendmmsg from one "
			       "core and\n"
			       "receives them through one recvmmsg socket, then through AF_XDP "
			       "(also with\n"
			       "busy-poll), each on another core. Prints sent/s, received/s, loss, "
			       "the\n"
			       "highest rate received without loss, CPU use, and the ratio.\n");
			return 0;
		default:
			return 2;
		}
	}
	if (b.count < 1000 || b.size < 8 || b.size > 1472) {
		fprintf(stderr, "weir bench inlet: --count >= 1000, --size 8..1472\n");
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "weir bench inlet: needs root (network namespaces, XDP)\n");
		return 1;
	}
	b.ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	pthread_getaffinity_np(pthread_self(), sizeof(orig), &orig);
	b.bus.p.ops = &count_ops;
	if (inlet_netpair_create(&b.np, "bn") < 0) {
		fprintf(stderr, "weir bench inlet: cannot create the namespaces and veth pair\n");
		return 1;
	}
	if (inlet_netpair_enter(&b.np, 0) == 0) {
		b.fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		inlet_netpair_leave(&b.np);
	}
	addr_from_text(&dst.sin6_addr, "192.0.2.2");
	if (b.fd < 0 || connect(b.fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		fprintf(stderr, "weir bench inlet: sender socket: %s\n", strerror(errno));
		goto out;
	}
	if (b.ncpu > 1)
		pin(0);
	if (measure(&b, 0, 0, 0, &res[0]) < 0 || measure(&b, 1, mode, 0, &res[1]) < 0 ||
	    measure(&b, 1, mode, 1, &res[2]) < 0)
		goto out;
	for (int i = 0; i < 3; i++)
		print_result(&res[i], &b);
	for (int i = 1; i < 3; i++)
		printf("inlet ratio %s / recvmmsg (lossless): %.2fx  (target >= 2x)\n", res[i].name,
		       res[0].lossless > 0 ? res[i].lossless / res[0].lossless : 0);
	for (int i = 0; i < 3; i++)
		print_bound(&res[i]);
	printf("inlet note: on veth the XDP program and the socket enqueue run in the sender's "
	       "softirq, on the sender's core; the receiver's core only dequeues.\n");
	{
		double load[3] = {0};

		if (getloadavg(load, 3) > 0)
			printf("inlet load average %.1f on %d CPUs: figures are only as steady as "
			       "the machine\n",
			       load[0], b.ncpu);
	}
	ret = 0;
out:
	if (b.fd >= 0)
		close(b.fd);
	inlet_netpair_destroy(&b.np);
	pthread_setaffinity_np(pthread_self(), sizeof(orig), &orig);
	return ret;
}
