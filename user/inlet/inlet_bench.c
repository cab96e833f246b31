// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir bench inlet`: datagrams/s received on a veth pair through recvmmsg
 * sockets and through AF_XDP, with the same sender, side by side. The sender
 * (the kernel's XDP traffic generator, CPU 0) is cheap so that the receive
 * side is the bound; the veth's receive work (NAPI: XDP program or UDP stack)
 * runs in its kernel thread on the receiver's CPU, like a NIC's softirq on the
 * CPU of its interrupt. For each path: a full-speed phase, then paced phases
 * down to the highest rate received without loss; CPU time of each side says
 * what bounds the figure. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	struct inlet_bench_sender tx; /* --sender xdp (default) or txring */
	int fd;			      /* --sender sendmmsg: UDP socket, connected */
	unsigned chunk;		      /* datagrams per send call */
	uint32_t size;
	uint64_t count;
	int rx_cpu;	   /* receiver threads (and NAPI with --napi receiver) */
	int napi_on_rx;	   /* else NAPI runs in softirq on the sender's CPU */
	pid_t napi_pid;	   /* the veth's NAPI thread, 0 when not threaded */
	const char *sender; /* "xdp", "txring" or "sendmmsg" */
};

struct phase {
	uint64_t sent, received, kernel_drops;
	double send_s, recv_s;
	double sender_cpu, napi_cpu, receiver_cpu; /* seconds */
	double busy[2]; /* fraction of the sender's and receiver's CPUs in use, all processes */
};

static double ts_s(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	return ts_s(CLOCK_MONOTONIC);
}

/* A task's CPU time from its schedstat (nanoseconds, exact). */
static double task_cpu_s(pid_t pid)
{
	char path[64];
	unsigned long long ns = 0;
	FILE *f;

	if (!pid)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	fclose(f);
	return (double)ns / 1e9;
}

/* Busy and total jiffies of one CPU from /proc/stat (idle and iowait are not busy). */
static void cpu_jiffies(int cpu, unsigned long long *busy, unsigned long long *total)
{
	char line[256], want[16];
	FILE *f = fopen("/proc/stat", "re");

	*busy = *total = 0;
	if (!f)
		return;
	snprintf(want, sizeof(want), "cpu%d ", cpu);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v[8] = {0};

		if (strncmp(line, want, strlen(want)))
			continue;
		sscanf(line + strlen(want), "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
		       &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
		for (int i = 0; i < 8; i++)
			*total += v[i];
		*busy = *total - v[3] - v[4];
		break;
	}
	fclose(f);
}

static void pin(pid_t tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (tid)
		sched_setaffinity(tid, sizeof(set), &set);
	else
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* `ip netns exec` mounts a /sys that shows the namespace's devices. */
static int in_ns(const char *ns, const char *fmt, const char *ifname)
{
	char cmd[256], line[512];

	snprintf(cmd, sizeof(cmd), fmt, ifname);
	snprintf(line, sizeof(line), "ip netns exec %s sh -c '%s' >/dev/null 2>&1", ns, cmd);
	return system(line) == 0 ? 0 : -1;
}

/* The kernel thread "napi/IF-ID" of the collector's veth (comm holds 15 chars). */
static pid_t find_napi_thread(const char *ifname)
{
	char want[32], path[300], comm[32];
	struct dirent *de;
	pid_t pid = 0;
	DIR *d = opendir("/proc");

	snprintf(want, sizeof(want), "napi/%s-", ifname);
	want[15] = 0;
	while (d && !pid && (de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "re");
		if (f && fgets(comm, sizeof(comm), f) && !strncmp(comm, want, strlen(want)))
			pid = atoi(de->d_name);
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return pid;
}

/* The veth's receive side as a NIC's: NAPI for both paths (veth uses it with
 * GRO on, and for skbs only from senders without TSO, as XDP does), and its
 * thread on the receiver's CPU, SCHED_FIFO so that it preempts the receive
 * thread the way a softirq would. The skb senders wake NAPI for each
 * datagram: their polls are deferred by 20 us as interrupt moderation would
 * (else the sender pays a cross-CPU wake-up every few datagrams). */
static void setup_napi(struct bench *b)
{
	struct sched_param sp = {.sched_priority = 50};
	const char *ifc = b->np.if_col;

	if (in_ns(b->np.ns_exp, "ethtool -K %s tso off", b->np.if_exp) < 0 ||
	    in_ns(b->np.ns_col, "ethtool -K %s gro on", ifc) < 0)
		fprintf(stderr, "weir bench inlet: ethtool failed: the UDP path may run in the "
				"sender's softirq\n");
	if (strcmp(b->sender, "xdp") &&
	    (in_ns(b->np.ns_col, "echo 1 > /sys/class/net/%s/napi_defer_hard_irqs", ifc) < 0 ||
	     in_ns(b->np.ns_col, "echo 20000 > /sys/class/net/%s/gro_flush_timeout", ifc) < 0))
		fprintf(stderr, "weir bench inlet: cannot defer NAPI polls\n");
	if (!b->napi_on_rx)
		return;
	if (in_ns(b->np.ns_col, "echo 1 > /sys/class/net/%s/threaded", ifc) < 0 ||
	    !(b->napi_pid = find_napi_thread(ifc))) {
		fprintf(stderr, "weir bench inlet: no threaded NAPI: veth receive work runs in "
				"the sender's softirq\n");
		b->napi_on_rx = 0;
		return;
	}
	pin(b->napi_pid, b->rx_cpu);
	sched_setscheduler(b->napi_pid, SCHED_FIFO, &sp);
}

static int send_batch(struct bench *b, unsigned n)
{
	enum { BATCH = 64 };
	static struct mmsghdr msgs[BATCH];
	static struct iovec iov;
	static uint8_t payload[BUS_MAX_DATAGRAM];
	int r;

	if (b->fd < 0)
		return (int)inlet_bench_sender_send(&b->tx, n);
	if (!iov.iov_base) {
		memset(payload, 0x5a, sizeof(payload));
		iov.iov_base = payload;
		for (int i = 0; i < BATCH; i++) {
			msgs[i].msg_hdr.msg_iov = &iov;
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
	}
	iov.iov_len = b->size;
	r = sendmmsg(b->fd, msgs, n < BATCH ? n : BATCH, 0);
	if (r < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EINTR))
		return 0;
	return r < 0 ? -errno : r;
}

/* Sends `count` datagrams (paced at `pps` when not 0) from the calling
 * thread, then waits for the receive count to settle. */
static void run_phase(struct bench *b, struct inlet *in, uint64_t count, uint64_t pps,
		      struct phase *ph)
{
	uint64_t r0 = atomic_load(&b->bus.n), last, sent = 0;
	unsigned long long busy0[2], tot0[2], busy1[2], tot1[2];
	double t0, tl, proc0, me0, napi0;
	int cpus[2] = {0, b->rx_cpu};
	struct inlet_stats st0, st1;

	inlet_get_stats(in, &st0);
	for (int i = 0; i < 2; i++)
		cpu_jiffies(cpus[i], &busy0[i], &tot0[i]);
	proc0 = ts_s(CLOCK_PROCESS_CPUTIME_ID);
	me0 = ts_s(CLOCK_THREAD_CPUTIME_ID);
	napi0 = task_cpu_s(b->napi_pid);
	/* The XDP sender names its device by ifindex, in this namespace. */
	inlet_netpair_enter(&b->np, 0);
	t0 = now_s();
	while (sent < count) {
		unsigned n = count - sent < b->chunk ? (unsigned)(count - sent) : b->chunk;
		int r;

		if (pps)
			while ((double)sent / (now_s() - t0 + 1e-9) > (double)pps)
				;
		r = send_batch(b, n);
		if (r < 0) {
			fprintf(stderr, "weir bench inlet: sender %s: %s\n", b->sender, strerror(-r));
			break;
		}
		sent += (uint64_t)r;
	}
	if (b->fd < 0)
		inlet_bench_sender_flush(&b->tx);
	ph->send_s = now_s() - t0;
	inlet_netpair_leave(&b->np);
	ph->sender_cpu = ts_s(CLOCK_THREAD_CPUTIME_ID) - me0;
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
	/* Every other thread of this process is a receive thread. */
	ph->receiver_cpu = ts_s(CLOCK_PROCESS_CPUTIME_ID) - proc0 - ph->sender_cpu;
	ph->napi_cpu = task_cpu_s(b->napi_pid) - napi0;
	for (int i = 0; i < 2; i++) {
		cpu_jiffies(cpus[i], &busy1[i], &tot1[i]);
		ph->busy[i] = tot1[i] > tot0[i] ? (double)(busy1[i] - busy0[i]) /
						      (double)(tot1[i] - tot0[i])
						: 0;
	}
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
	struct phase paced; /* the lossless one (copy of blast when it lost nothing) */
	double lossless;    /* datagrams/s */
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
	pin(0, b->rx_cpu);
	in = inlet_new(&cfg, &b->bus.p, NULL, err, sizeof(err));
	if (in && inlet_start(in) < 0) {
		inlet_free(in);
		in = NULL;
		snprintf(err, sizeof(err), "cannot start the inlet threads");
	}
	pin(0, 0);
	inlet_netpair_leave(&b->np);
	if (!in) {
		fprintf(stderr, "weir bench inlet: %s: %s\n", res->name, err);
		return -1;
	}
	run_phase(b, in, b->count / 10, 0, &res->blast); /* warm-up */
	run_phase(b, in, b->count, 0, &res->blast);
	res->paced = res->blast;
	if (loss_of(&res->blast) <= 0.001) {
		res->lossless = (double)res->blast.received / res->blast.recv_s;
	} else {
		/* Highest paced rate with at most 0.1% loss: a few bisection steps
		 * below what arrived at full speed. */
		hi = (double)res->blast.received / res->blast.recv_s;
		res->lossless = 0;
		for (int step = 0; step < 6; step++) {
			struct phase ph;

			rate = step == 0 ? hi * 0.95 : (lo + hi) / 2;
			run_phase(b, in, (uint64_t)(rate / 2) + 1000, (uint64_t)rate, &ph);
			if (loss_of(&ph) <= 0.001) {
				lo = rate;
				res->lossless = (double)ph.received / ph.recv_s;
				res->paced = ph;
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

/* CPU share of each side over a phase: the NAPI thread belongs to the side
 * whose CPU it runs on. */
static void sides(const struct bench *b, const struct phase *p, double *snd, double *rcv)
{
	*snd = (p->sender_cpu + (b->napi_on_rx ? 0 : p->napi_cpu)) / p->send_s;
	*rcv = (p->receiver_cpu + (b->napi_on_rx ? p->napi_cpu : 0)) / p->recv_s;
}

static void print_result(const struct bench *b, const struct result *r)
{
	const struct phase *p = &r->blast, *q = &r->paced;
	double snd, rcv;

	printf("inlet %-20s sent %8.0f/s  received %8.0f/s  loss %5.2f%% (kernel-counted %llu)"
	       "  lossless %8.0f/s  (%u-byte datagrams)\n",
	       r->name, (double)p->sent / p->send_s, (double)p->received / p->recv_s,
	       100 * loss_of(p), (unsigned long long)p->kernel_drops, r->lossless, b->size);
	/* CPU per datagram does not depend on how much of a CPU each side got
	 * from the scheduler, so it compares the paths on a busy machine too. */
	printf("inlet %-20s cpu per datagram at full speed: sender %.0f ns, veth napi %.0f ns, "
	       "receive thread %.0f ns\n",
	       r->name, p->sent ? 1e9 * p->sender_cpu / (double)p->sent : 0,
	       p->received ? 1e9 * p->napi_cpu / (double)p->received : 0,
	       p->received ? 1e9 * p->receiver_cpu / (double)p->received : 0);
	sides(b, q, &snd, &rcv);
	printf("inlet %-20s at the lossless rate: sender side %3.0f%% of CPU 0, receive side "
	       "%3.0f%% of CPU %d; CPUs busy (all processes) %3.0f%% / %3.0f%%\n",
	       r->name, 100 * snd, 100 * rcv, b->rx_cpu, 100 * q->busy[0], 100 * q->busy[1]);
}

static void print_bound(const struct bench *b, const struct result *r)
{
	const struct phase *p = &r->blast;
	double snd, rcv;

	sides(b, p, &snd, &rcv);
	if (loss_of(p) > 0.001)
		printf("inlet bound %-20s receiver: it lost %.2f%% of %.0f/s at full speed, its "
		       "side using %.0f%% of CPU %d (sender side %.0f%% of CPU 0)\n",
		       r->name, 100 * loss_of(p), (double)p->sent / p->send_s, 100 * rcv,
		       b->rx_cpu, 100 * snd);
	else if (snd >= rcv)
		printf("inlet bound %-20s sender: nothing lost at full speed; sender side %.0f%% "
		       "of CPU 0, receive side %.0f%% of CPU %d%s\n",
		       r->name, 100 * snd, 100 * rcv, b->rx_cpu,
		       snd < 0.9 ? " (other processes took the rest)" : "");
	else
		printf("inlet bound %-20s receiver, through back-pressure: nothing lost, the "
		       "sender waited on the veth ring; receive side %.0f%% of CPU %d, sender "
		       "side %.0f%% of CPU 0\n",
		       r->name, 100 * rcv, b->rx_cpu, 100 * snd);
}

int inlet_bench(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"count", required_argument, NULL, 'n'},
	    {"size", required_argument, NULL, 's'},
	    {"mode", required_argument, NULL, 'm'},
	    {"sender", required_argument, NULL, 'S'},
	    {"napi", required_argument, NULL, 'N'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct bench b = {.size = 100, .count = 2000000, .fd = -1, .napi_on_rx = 1,
			  .sender = "xdp", .chunk = 64};
	struct result res[3] = {
	    {.name = "recvmmsg (1 socket)"}, {.name = "afxdp"}, {.name = "afxdp busy-poll"}};
	struct sockaddr_in6 dst = {.sin6_family = AF_INET6, .sin6_port = htons(2055)};
	int mode = INLET_XDP_NATIVE, c, r, ret = 1;
	cpu_set_t orig;

	b.tx.fd = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "n:s:m:S:N:h", opts, NULL)) != -1) {
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
		case 'S':
			if (strcmp(optarg, "xdp") && strcmp(optarg, "txring") &&
			    strcmp(optarg, "sendmmsg"))
				return 2;
			b.sender = optarg;
			break;
		case 'N':
			if (strcmp(optarg, "receiver") && strcmp(optarg, "sender"))
				return 2;
			b.napi_on_rx = !strcmp(optarg, "receiver");
			break;
		case 'h':
			printf(
			    "usage: weir bench inlet [--count N] [--size BYTES] [--mode "
			    "native|generic]\n"
			    "                        [--sender xdp|txring|sendmmsg] [--napi "
			    "receiver|sender]\n"
			    "On a veth pair between two network namespaces it creates (root), "
			    "sends N\n"
			    "datagrams (default 2000000, 100 bytes) from CPU 0 and receives them "
			    "through\n"
			    "one recvmmsg socket, then through AF_XDP (also with busy-poll), on "
			    "CPU 1.\n"
			    "The sender is an AF_PACKET TX ring (or UDP sendmmsg). The veth's "
			    "receive work\n"
			    "(NAPI) runs in its thread on the receiver's CPU (or in softirq on "
			    "the sender's).\n"
			    "Prints sent/s, received/s, loss, the highest rate received without "
			    "loss, CPU\n"
			    "per datagram of each side, what bounds each figure, and the "
			    "ratio.\n");
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
	if (getenv("IB_CHUNK"))
		b.chunk = (unsigned)atoi(getenv("IB_CHUNK"));
	b.rx_cpu = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0;
	pthread_getaffinity_np(pthread_self(), sizeof(orig), &orig);
	b.bus.p.ops = &count_ops;
	if (inlet_netpair_create(&b.np, "bn") < 0) {
		fprintf(stderr, "weir bench inlet: cannot create the namespaces and veth pair\n");
		return 1;
	}
	pin(0, 0);
	setup_napi(&b);
	if (!strcmp(b.sender, "sendmmsg")) {
		if (inlet_netpair_enter(&b.np, 0) == 0) {
			b.fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			inlet_netpair_leave(&b.np);
		}
		addr_from_text(&dst.sin6_addr, "192.0.2.2");
		r = b.fd < 0 || connect(b.fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 ? -errno
											: 0;
	} else {
		r = inlet_bench_sender_open(&b.tx, &b.np, b.size,
					    strcmp(b.sender, "xdp") ? INLET_BENCH_SEND_TXRING
								    : INLET_BENCH_SEND_XDP);
	}
	if (r < 0) {
		fprintf(stderr, "weir bench inlet: sender %s: %s\n", b.sender, strerror(-r));
		goto out;
	}
	printf("inlet setup: sender %s on CPU 0; veth NAPI %s; receive threads on CPU %d\n",
	       !strcmp(b.sender, "xdp")	   ? "XDP live frames (BPF_PROG_TEST_RUN, XDP_TX)"
	       : !strcmp(b.sender, "txring") ? "AF_PACKET TX ring (qdisc bypass)"
					     : "UDP sendmmsg",
	       b.napi_on_rx ? "in its thread on CPU 1 (SCHED_FIFO)"
			    : "in softirq on CPU 0 (the sender's)",
	       b.rx_cpu);
	fflush(stdout);
	if (measure(&b, 0, 0, 0, &res[0]) < 0 || measure(&b, 1, mode, 0, &res[1]) < 0 ||
	    measure(&b, 1, mode, 1, &res[2]) < 0)
		goto out;
	for (int i = 0; i < 3; i++)
		print_result(&b, &res[i]);
	for (int i = 1; i < 3; i++)
		printf("inlet ratio %s / recvmmsg (lossless): %.2fx  (target >= 2x)\n", res[i].name,
		       res[0].lossless > 0 ? res[i].lossless / res[0].lossless : 0);
	for (int i = 0; i < 3; i++)
		print_bound(&b, &res[i]);
	{
		double load[3] = {0};

		if (getloadavg(load, 3) > 0)
			printf("inlet load average %.1f on %ld CPUs: figures are only as steady as "
			       "the machine\n",
			       load[0], sysconf(_SC_NPROCESSORS_ONLN));
	}
	ret = 0;
out:
	if (b.fd >= 0)
		close(b.fd);
	inlet_bench_sender_close(&b.tx);
	inlet_netpair_destroy(&b.np);
	pthread_setaffinity_np(pthread_self(), sizeof(orig), &orig);
	return ret;
}
