// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir bench inlet`: datagrams/s received on a veth pair through recvmmsg
 * sockets and through AF_XDP, with the same sender, side by side. The sender
 * is the kernel's XDP traffic generator (inlet_sender.c), cheap enough
 * that the receive side is the bound. For each path: a full-speed phase, then
 * paced phases down to the highest rate received without loss; the CPU time
 * of the sender, of the veth's NAPI thread and of the receive thread, and
 * where datagrams were dropped, say what bounds each figure. */
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_internal.h"
#include "common/addr.h"
#include "common/cli_opts.h"
#include "common/clock.h"
#include "common/cpu_time.h"
#include "inlet/inlet.h"

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
	struct bench_netpair np;
	struct count_bus bus;
	struct bench_xdp_sender tx;
	int fd;		/* --sender sendmmsg: UDP socket, connected; -1 with XDP */
	unsigned chunk; /* datagrams per send call */
	uint32_t size;
	uint64_t count;
	int rx_cpu;	/* the receive threads'; the sender and NAPI have CPU 0 */
	pid_t napi_pid; /* 0 when NAPI runs in the sender's softirq */
	int afxdp;	/* the inlet measured receives through AF_XDP */
};

struct phase {
	uint64_t sent, received;
	uint64_t sock_drops; /* socket or AF_XDP ring full: the receive thread lagged */
	uint64_t ring_drops; /* veth's 256-frame ring full: NAPI lagged */
	double send_s, recv_s;
	double sender_cpu, napi_cpu, receiver_cpu; /* seconds */
	double busy[2]; /* fraction of CPU 0 and rx_cpu in use, by all processes */
};

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
		sscanf(line + strlen(want), "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
		       &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
		for (int i = 0; i < 8; i++)
			*total += v[i];
		*busy = *total - v[3] - v[4];
		break;
	}
	fclose(f);
}

/* Frames the collector's veth dropped on receive (ring full, or an XDP
 * redirect that failed), read in its namespace. */
static uint64_t veth_drops(struct bench *b)
{
	struct ifaddrs *ifa = NULL;
	uint64_t n = 0;

	if (bench_netpair_enter(&b->np, 1) < 0)
		return 0;
	if (getifaddrs(&ifa) == 0)
		for (struct ifaddrs *i = ifa; i; i = i->ifa_next)
			if (i->ifa_addr && i->ifa_addr->sa_family == AF_PACKET && i->ifa_data &&
			    !strcmp(i->ifa_name, b->np.if_col))
				n = ((struct rtnl_link_stats *)i->ifa_data)->rx_dropped;
	freeifaddrs(ifa);
	bench_netpair_leave(&b->np);
	return n;
}

/* The receive threads (every thread but this one) run SCHED_FIFO: woken, they
 * preempt at once whatever else runs on their CPU. As SCHED_OTHER, even at
 * nice -20, a kernel without preemption lets a busy neighbour run on until
 * its next tick, and a busy machine's scheduling would be what is measured. */
static void realtime_receivers(void)
{
	struct sched_param sp = {.sched_priority = 40};
	pid_t me = (pid_t)gettid();
	struct dirent *de;
	DIR *d = opendir("/proc/self/task");

	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' && atoi(de->d_name) != me)
			sched_setscheduler(atoi(de->d_name), SCHED_FIFO, &sp);
	if (d)
		closedir(d);
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

/* GRO on the collector's veth (in its namespace): then veth receives through
 * NAPI without XDP too, as a NIC does (ETHTOOL_SGRO, older than the feature
 * bitmaps, is still served). */
static int set_gro(struct bench *b)
{
	struct ethtool_value ev = {.cmd = ETHTOOL_SGRO, .data = 1};
	struct ifreq ifr = {.ifr_data = (char *)&ev};
	int fd, r = 0;

	if (bench_netpair_enter(&b->np, 1) < 0)
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bench_netpair_leave(&b->np);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", b->np.if_col);
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* The collector's veth receives like a NIC: through NAPI (with GRO) for both
 * paths. With the XDP sender, NAPI runs in its own thread so that its CPU
 * time is measured apart, on CPU 0 and SCHED_FIFO so that it preempts the
 * sender the way a softirq would: the sender only gets what receiving leaves
 * of CPU 0. (On CPU 1, the sender's bursts of 1024 overflow veth's 256-frame
 * ring before NAPI gets there.) The sendmmsg sender wakes NAPI per datagram:
 * there NAPI stays in its softirq, and its time is counted as the sender's. */
static void setup_napi(struct bench *b)
{
	struct sched_param sp = {.sched_priority = 50};
	char cmd[512];
	int r = set_gro(b);

	if (r < 0)
		fprintf(stderr, "weir bench inlet: GRO on %s: %s\n", b->np.if_col, strerror(-r));
	if (b->fd >= 0)
		return;
	/* `ip netns exec` mounts a /sys that shows the namespace's devices. */
	snprintf(cmd, sizeof(cmd),
		 "ip netns exec %s sh -c 'echo 1 > /sys/class/net/%s/threaded' 2>/dev/null",
		 b->np.ns_col, b->np.if_col);
	if (system(cmd) != 0 || !(b->napi_pid = find_napi_thread(b->np.if_col))) {
		fprintf(stderr, "weir bench inlet: no threaded NAPI: its CPU time is counted as "
				"the sender's\n");
		b->napi_pid = 0;
		return;
	}
	pin(b->napi_pid, 0);
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
		return (int)bench_xdp_sender_send(&b->tx, n);
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
static int run_phase(struct bench *b, struct inlet *in, uint64_t count, uint64_t pps,
		     struct phase *ph)
{
	uint64_t r0 = atomic_load(&b->bus.n), last, sent = 0, ring0 = veth_drops(b);
	unsigned long long busy0[2], tot0[2], busy1[2], tot1[2];
	int cpus[2] = {0, b->rx_cpu}, r = 0;
	double t0, tl, proc0, me0, napi0;
	struct inlet_stats st0, st1;

	inlet_get_stats(in, &st0);
	for (int i = 0; i < 2; i++)
		cpu_jiffies(cpus[i], &busy0[i], &tot0[i]);
	proc0 = cpu_self_s();
	me0 = cpu_thread_s();
	napi0 = task_cpu_s(b->napi_pid);
	/* The XDP sender names its device by ifindex, in this namespace. */
	bench_netpair_enter(&b->np, 0);
	t0 = clock_mono_s();
	while (sent < count) {
		unsigned n = count - sent < b->chunk ? (unsigned)(count - sent) : b->chunk;

		/* Paced: sleep, not spin, so that the sender's CPU time is sending. */
		clock_pace(t0, sent, (double)pps);
		r = send_batch(b, n);
		if (r < 0)
			break;
		sent += (uint64_t)r;
	}
	ph->send_s = clock_mono_s() - t0;
	ph->sender_cpu = cpu_thread_s() - me0;
	bench_netpair_leave(&b->np);
	if (r < 0) {
		fprintf(stderr, "weir bench inlet: sender: %s\n", strerror(-r));
		return r;
	}
	/* Settle: until nothing arrived for 100 ms. */
	last = atomic_load(&b->bus.n);
	tl = clock_mono_s();
	for (;;) {
		uint64_t v;

		usleep(2000);
		v = atomic_load(&b->bus.n);
		if (v != last) {
			last = v;
			tl = clock_mono_s();
		} else if (clock_mono_s() - tl > 0.1) {
			break;
		}
	}
	ph->recv_s = tl - t0;
	/* Every other thread of this process is a receive thread. */
	ph->receiver_cpu = cpu_self_s() - proc0 - ph->sender_cpu;
	ph->napi_cpu = task_cpu_s(b->napi_pid) - napi0;
	for (int i = 0; i < 2; i++) {
		cpu_jiffies(cpus[i], &busy1[i], &tot1[i]);
		ph->busy[i] = tot1[i] > tot0[i]
				  ? (double)(busy1[i] - busy0[i]) / (double)(tot1[i] - tot0[i])
				  : 0;
	}
	ph->sent = sent;
	ph->received = last - r0;
	inlet_get_stats(in, &st1);
	ph->sock_drops = st1.kernel_drops - st0.kernel_drops;
	/* A redirect into a full AF_XDP ring counts as a veth drop too. */
	ph->ring_drops = veth_drops(b) - ring0;
	if (b->afxdp)
		ph->ring_drops =
		    ph->ring_drops > ph->sock_drops ? ph->ring_drops - ph->sock_drops : 0;
	return 0;
}

static double loss_of(const struct phase *ph)
{
	return ph->sent ? 1.0 - (double)ph->received / (double)ph->sent : 0;
}

struct result {
	const char *name;
	struct phase blast;
	struct phase paced; /* the lossless one (the full-speed one when it lost nothing) */
	double lossless;    /* datagrams/s */
};

static int measure(struct bench *b, int afxdp, int mode, int busy, struct result *res)
{
	struct inlet_input_config ic = {0};
	struct inlet_config cfg = {0};
	struct error err = {""};
	struct inlet *in;
	double lo = 0, hi, rate;
	int r;

	ic.type = afxdp ? INLET_INPUT_AFXDP : INLET_INPUT_UDP;
	b->afxdp = afxdp;
	ic.interface = b->np.if_col;
	ic.listen = ":2055";
	ic.mode = mode;
	ic.busy_poll = busy;
	ic.workers = 1;
	cfg.inputs.items = &ic;
	cfg.inputs.count = 1;
	if (bench_netpair_enter(&b->np, 1) < 0)
		return -1;
	/* The receive thread inherits this CPU; the sender keeps CPU 0. */
	pin(0, b->rx_cpu);
	r = inlet_new(&cfg, &b->bus.p, NULL, &in, &err);
	if (r == 0 && (r = inlet_start(in, NULL)) < 0) {
		inlet_free(in);
		in = NULL;
		error_set(&err, r, "cannot start the inlet threads");
	}
	pin(0, 0);
	bench_netpair_leave(&b->np);
	if (!in) {
		fprintf(stderr, "weir bench inlet: %s: %s\n", res->name, err.text);
		return -1;
	}
	realtime_receivers();
	r = run_phase(b, in, b->count / 10, 0, &res->blast); /* warm-up */
	if (r == 0)
		r = run_phase(b, in, b->count, 0, &res->blast);
	res->paced = res->blast;
	if (r == 0 && loss_of(&res->blast) <= 0.001) {
		res->lossless = (double)res->blast.received / res->blast.recv_s;
	} else if (r == 0) {
		/* Highest paced rate with at most 0.1% loss: a few bisection steps
		 * below what arrived at full speed. */
		hi = (double)res->blast.received / res->blast.recv_s;
		res->lossless = 0;
		for (int step = 0; step < 6 && r == 0; step++) {
			struct phase ph;

			rate = step == 0 ? hi * 0.95 : (lo + hi) / 2;
			r = run_phase(b, in, (uint64_t)(rate / 2) + 1000, (uint64_t)rate, &ph);
			if (r == 0 && loss_of(&ph) <= 0.001) {
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
	if (bench_netpair_enter(&b->np, 1) == 0) {
		inlet_free(in);
		bench_netpair_leave(&b->np);
	}
	return r;
}

/* Fractions of a CPU used by the sender, NAPI and the receive thread. */
static void shares(const struct phase *p, double *snd, double *napi, double *rcv)
{
	*snd = p->sender_cpu / p->send_s;
	*napi = p->napi_cpu / p->recv_s;
	*rcv = p->receiver_cpu / p->recv_s;
}

static double ns_per(double s, uint64_t n)
{
	return n ? 1e9 * s / (double)n : 0;
}

/* Receive-side CPU per datagram received without loss: NAPI + receive thread. */
static double receive_ns(const struct result *r)
{
	return ns_per(r->paced.napi_cpu + r->paced.receiver_cpu, r->paced.received);
}

static void print_result(const struct bench *b, const struct result *r)
{
	const struct phase *p = &r->blast, *q = &r->paced;
	double snd, napi, rcv;

	printf("inlet %-20s sent %8.0f/s  received %8.0f/s  loss %5.2f%% (socket/AF_XDP ring "
	       "%llu, veth ring %llu)  lossless %8.0f/s  (%u-byte datagrams)\n",
	       r->name, (double)p->sent / p->send_s, (double)p->received / p->recv_s,
	       100 * loss_of(p), (unsigned long long)p->sock_drops,
	       (unsigned long long)p->ring_drops, r->lossless, b->size);
	/* CPU per datagram does not depend on how much of a CPU each thread got
	 * from the scheduler, so it compares the paths on a busy machine too. */
	printf("inlet %-20s cpu per datagram at the lossless rate: sender %.0f ns, veth NAPI "
	       "%.0f ns, receive thread %.0f ns; receiving %.0f ns (one core: %.0f/s)\n",
	       r->name, ns_per(q->sender_cpu, q->sent), ns_per(q->napi_cpu, q->received),
	       ns_per(q->receiver_cpu, q->received), receive_ns(r),
	       receive_ns(r) > 0 ? 1e9 / receive_ns(r) : 0);
	shares(q, &snd, &napi, &rcv);
	printf("inlet %-20s cpu use at the lossless rate: CPU 0 veth NAPI %.0f%% + sender %.0f%%, "
	       "CPU %d receive thread %.0f%%; all processes: CPU 0 %.0f%%, CPU %d %.0f%%\n",
	       r->name, 100 * napi, 100 * snd, b->rx_cpu, 100 * rcv, 100 * q->busy[0], b->rx_cpu,
	       100 * q->busy[1]);
}

static void print_bound(const struct bench *b, const struct result *r)
{
	const struct phase *p = &r->blast;
	double sent = (double)(p->sent ? p->sent : 1), snd, napi, rcv;
	int afxdp = !!strstr(r->name, "afxdp");

	shares(p, &snd, &napi, &rcv);
	printf("inlet bound %-20s ", r->name);
	if ((double)p->sock_drops / sent > 0.001)
		printf("receive thread: at full speed it fell behind, %.1f%% dropped at its %s; "
		       "it used %.0f%% of CPU %d",
		       100 * (double)p->sock_drops / sent, afxdp ? "AF_XDP ring" : "socket",
		       100 * rcv, b->rx_cpu);
	else if ((double)p->ring_drops / sent > 0.001)
		printf("veth NAPI: at full speed it fell behind, %.1f%% dropped at veth's ring; it "
		       "used %.0f%% of CPU 0",
		       100 * (double)p->ring_drops / sent, 100 * napi);
	else if (b->napi_pid)
		printf("CPU 0: nothing lost at full speed; the receive work in veth NAPI (%s) "
		       "took %.0f%%, the sender %.0f%%; the receive thread used %.0f%% of CPU %d",
		       afxdp ? "XDP program, copy to the AF_XDP ring"
			     : "GRO, IP, UDP, socket queue",
		       100 * napi, 100 * snd, 100 * rcv, b->rx_cpu);
	else
		printf("sender: nothing lost at full speed; it used %.0f%% of CPU 0, receive work "
		       "in its softirq included; the receive thread %.0f%% of CPU %d",
		       100 * snd, 100 * rcv, b->rx_cpu);
	printf(" (all processes: CPU 0 %.0f%%, CPU %d %.0f%%)\n", 100 * p->busy[0], b->rx_cpu,
	       100 * p->busy[1]);
}

static void usage(FILE *out, const void *ctx)
{
	fprintf(out, "usage: weir bench inlet [--count N] [--size BYTES] [--mode "
		     "native|generic]\n"
		     "                        [--sender xdp|sendmmsg]\n"
		     "On a veth pair between two network namespaces it creates (root), "
		     "sends N\n"
		     "datagrams (default 2000000, 100 bytes) from CPU 0 and receives "
		     "them through\n"
		     "one recvmmsg socket, then through AF_XDP (also with busy-poll), "
		     "with a thread\n"
		     "on CPU 1. The sender is the kernel's XDP traffic generator "
		     "(Linux 5.18+; else,\n"
		     "or with --sender sendmmsg, a UDP socket). The veth's receive work "
		     "(NAPI) runs\n"
		     "in its own thread on CPU 0, before the sender. Prints sent/s, "
		     "received/s, where\n"
		     "datagrams were lost, the highest rate received without loss, CPU "
		     "per datagram\n"
		     "of each part, what bounds each figure, and the ratios.\n");
}

int bench_inlet_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"count", required_argument, NULL, 'n'}, {"size", required_argument, NULL, 's'},
	    {"mode", required_argument, NULL, 'm'},  {"sender", required_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},	     {NULL, 0, NULL, 0},
	};
	struct bench b = {.size = 100, .count = 2000000, .fd = -1, .chunk = 1024};
	struct result res[3] = {
	    {.name = "recvmmsg (1 socket)"}, {.name = "afxdp"}, {.name = "afxdp busy-poll"}};
	struct sockaddr_in6 dst = {.sin6_family = AF_INET6, .sin6_port = htons(2055)};
	int mode = INLET_XDP_NATIVE, sendmmsg_only = 0, c, r, ret = 1;
	int nice0 = getpriority(PRIO_PROCESS, 0);
	double load[3] = {0};
	struct cli_opts cli;
	cpu_set_t orig;

	b.tx.fd = -1;
	cli_opts_init(&cli, argc, argv, "n:s:m:S:h", opts, usage, NULL);
	while ((c = cli_opts_next(&cli)) >= 0) {
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
			if (strcmp(optarg, "xdp") && strcmp(optarg, "sendmmsg"))
				return cli_opts_usage_error(&cli);
			sendmmsg_only = !strcmp(optarg, "sendmmsg");
			break;
		}
	}
	if (c == CLI_OPTS_EXIT)
		return cli.status;
	if (b.count < 1000 || b.size < 8 || b.size > 1472) {
		fprintf(stderr, "weir bench inlet: --count >= 1000, --size 8..1472\n");
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "weir bench inlet: needs root (network namespaces, XDP)\n");
		return 1;
	}
	b.rx_cpu = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0;
	pthread_getaffinity_np(pthread_self(), sizeof(orig), &orig);
	b.bus.p.ops = &count_ops;
	if (bench_netpair_init(&b.np, "bn", NULL) < 0) {
		fprintf(stderr, "weir bench inlet: cannot create the namespaces and veth pair\n");
		return 1;
	}
	pin(0, 0);
	/* Other processes share the CPUs: the sender goes first. */
	setpriority(PRIO_PROCESS, 0, -20);
	r = sendmmsg_only ? -EOPNOTSUPP : bench_xdp_sender_init(&b.tx, &b.np, b.size);
	if (r < 0) {
		if (!sendmmsg_only)
			fprintf(stderr,
				"weir bench inlet: XDP traffic generator: %s; sending with "
				"sendmmsg\n",
				strerror(-r));
		if (bench_netpair_enter(&b.np, 0) == 0) {
			b.fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			bench_netpair_leave(&b.np);
		}
		addr_from_text(&dst.sin6_addr, "192.0.2.2");
		if (b.fd < 0 || connect(b.fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
			fprintf(stderr, "weir bench inlet: sender socket: %s\n", strerror(errno));
			goto out;
		}
		b.chunk = 64;
	}
	setup_napi(&b);
	printf("inlet setup: sender %s on CPU 0 (nice -20); veth NAPI %s; receive thread on CPU "
	       "%d (SCHED_FIFO)\n",
	       b.fd < 0 ? "XDP traffic generator (BPF_PROG_TEST_RUN live frames, XDP_TX)"
			: "UDP sendmmsg",
	       b.napi_pid ? "in its thread on CPU 0 (SCHED_FIFO)"
			  : "in the sender's softirq (counted as the sender's)",
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
	for (int i = 1; i < 3; i++)
		printf("inlet ratio %s / recvmmsg (receive cpu per datagram): %.2fx\n", res[i].name,
		       receive_ns(&res[i]) > 0 ? receive_ns(&res[0]) / receive_ns(&res[i]) : 0);
	for (int i = 0; i < 3; i++)
		print_bound(&b, &res[i]);
	if (b.napi_pid)
		printf("inlet note: with a NIC the sender's share of CPU 0 would go to receiving "
		       "too; \"one core\" is what a core receiving alone would take\n");
	if (getloadavg(load, 3) > 0)
		printf("inlet load average %.1f on %ld CPUs: figures are only as steady as the "
		       "machine\n",
		       load[0], sysconf(_SC_NPROCESSORS_ONLN));
	ret = 0;
out:
	if (b.fd >= 0)
		close(b.fd);
	bench_xdp_sender_fini(&b.tx);
	bench_netpair_fini(&b.np);
	setpriority(PRIO_PROCESS, 0, nice0);
	pthread_setaffinity_np(pthread_self(), sizeof(orig), &orig);
	return ret;
}
