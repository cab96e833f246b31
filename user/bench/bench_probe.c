// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir bench probe`: on a veth pair between two namespaces it makes, the
 * UDP rate one sender reaches with and without the probe on the sending side,
 * then, at a fixed rate over 10k concurrent flows, the CPU of the probe's
 * exporter thread and of softflowd (pcap in user space) metering the same
 * traffic at the same time, and the packets each of them reports against
 * what was sent. --test-run: the egress program alone, by BPF_PROG_TEST_RUN. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bench.h"
#include "common/cli_opts.h"
#include "common/clock.h"
#include "common/addr.h"
#include "common/cpu_time.h"
#include "decode/decode.h"
#include "probe/probe.h"

#define BATCH	      64
#define RECV_PORT     9
#define PROBE_PORT    4739
#define SOFTFLOW_PORT 4740

struct bench {
	char ns_s[64], ns_r[64], if_s[16], if_r[16], ctl[128], pidfile[128];
	int fd_s, fd_r, fd_orig;
	unsigned flows, size, rate, drain_ms;
	int batch_packets; /* probe.batch-packets of the probe started */
	uint64_t count;
	_Atomic int stop;
	_Atomic uint64_t received;
	/* what the collectors got, for flows to 10.99/16 */
	_Atomic uint64_t probe_packets, softflowd_packets;
};

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd) == 0 ? 0 : -EIO;
}

/* Sender namespace 10.98.0.1, receiver 10.98.0.2; 10.99/16 is local to the
 * receiver, so one socket there takes every flow's datagrams. */
static int setup(struct bench *b)
{
	unsigned pid = (unsigned)getpid() % 100000;
	char path[128];

	snprintf(b->ns_s, sizeof(b->ns_s), "weir-pbench-s-%u", pid);
	snprintf(b->ns_r, sizeof(b->ns_r), "weir-pbench-r-%u", pid);
	snprintf(b->if_s, sizeof(b->if_s), "wbs%u", pid);
	snprintf(b->if_r, sizeof(b->if_r), "wbr%u", pid);
	if (sh("ip netns add %s && ip netns add %s && "
	       "ip link add %s netns %s type veth peer name %s netns %s && "
	       "ip -n %s link set lo up && ip -n %s link set %s up && "
	       "ip -n %s addr add 10.98.0.1/24 dev %s && "
	       "ip -n %s route add 10.99.0.0/16 via 10.98.0.2 && "
	       "ip -n %s link set lo up && ip -n %s link set %s up && "
	       "ip -n %s addr add 10.98.0.2/24 dev %s && "
	       "ip -n %s route add local 10.99.0.0/16 dev lo",
	       b->ns_s, b->ns_r, b->if_s, b->ns_s, b->if_r, b->ns_r, b->ns_s, b->ns_s, b->if_s,
	       b->ns_s, b->if_s, b->ns_s, b->ns_r, b->ns_r, b->if_r, b->ns_r, b->if_r, b->ns_r) < 0)
		return -EIO;
	snprintf(path, sizeof(path), "/run/netns/%s", b->ns_s);
	b->fd_s = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/run/netns/%s", b->ns_r);
	b->fd_r = open(path, O_RDONLY | O_CLOEXEC);
	b->fd_orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	return b->fd_s < 0 || b->fd_r < 0 || b->fd_orig < 0 ? -errno : 0;
}

static void teardown(struct bench *b)
{
	if (b->fd_orig >= 0)
		setns(b->fd_orig, CLONE_NEWNET);
	sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null", b->ns_s, b->ns_r);
}

static int udp_socket(int fd_ns, struct bench *b, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd, big = 64 << 20;

	setns(fd_ns, CLONE_NEWNET);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	setns(b->fd_orig, CLONE_NEWNET);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	if (port && bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* The calling thread on CPU `cpu` (modulo the CPUs there are): the sender
 * and the receiver keep to the same CPUs in every run, with and without the
 * probe, so that both rates are measured alike. */
static void pin_to(unsigned cpu)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu % (unsigned)(n > 0 ? n : 1), &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* The receiver drains its socket so that the datagrams cost what they do. */
static void *receiver(void *arg)
{
	struct bench *b = arg;
	static char bufs[BATCH][2048];
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	int fd = udp_socket(b->fd_r, b, RECV_PORT);
	/* recvmmsg()'s own timeout is only looked at once a datagram came. */
	struct timeval to = {0, 100000};

	if (fd < 0)
		return NULL;
	pin_to(1);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &to, sizeof(to));
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){bufs[i], sizeof(bufs[i])};
		m[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
	}
	while (!atomic_load(&b->stop)) {
		int n = recvmmsg(fd, m, BATCH, MSG_WAITFORONE, NULL);

		if (n > 0)
			atomic_fetch_add(&b->received, (uint64_t)n);
	}
	close(fd);
	return NULL;
}

/* Sends b->count datagrams round-robin over b->flows destinations, paced at
 * b->rate per second (0: as fast as it goes). Returns the seconds it took. */
static double send_all(struct bench *b)
{
	static char payload[1500];
	struct sockaddr_in to[BATCH];
	struct mmsghdr m[BATCH];
	struct iovec iov = {payload, b->size};
	int fd = udp_socket(b->fd_s, b, 0);
	uint64_t sent = 0, flow = 0;
	double start = clock_mono_s();

	if (fd < 0)
		return -1;
	pin_to(0);
	while (sent < b->count) {
		unsigned n = b->count - sent < BATCH ? (unsigned)(b->count - sent) : BATCH;
		int r;

		for (unsigned i = 0; i < n; i++, flow = (flow + 1) % b->flows) {
			to[i] = (struct sockaddr_in){.sin_family = AF_INET,
						     .sin_port = htons(RECV_PORT),
						     .sin_addr.s_addr =
							 htonl(0x0a630000u + 1 + (uint32_t)flow)};
			m[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &to[i],
							    .msg_namelen = sizeof(to[i]),
							    .msg_iov = &iov,
							    .msg_iovlen = 1}};
		}
		r = sendmmsg(fd, m, n, 0);
		if (r > 0)
			sent += (uint64_t)r;
		clock_pace(start, sent, b->rate);
	}
	close(fd);
	return clock_mono_s() - start;
}

/* Decodes what a collector socket gets; counts packets of flows to 10.99/16. */
struct collector {
	struct bench *b;
	int fd;
	_Atomic uint64_t *packets;
	pthread_t thread;
};

static void *collect_main(void *arg)
{
	struct collector *c = arg;
	struct decode_config dc;
	struct decode_state *st;
	static _Thread_local struct flow flows[4096];
	uint8_t buf[65536];

	decode_config_init(&dc);
	decode_state_new(&dc, &st, NULL);
	while (st) {
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		struct decode_input in = {.data = buf};
		struct decode_output out = {.flows = flows, .cap = 4096};
		struct decode_result res;
		ssize_t n;

		if (poll(&pfd, 1, 200) <= 0) {
			if (atomic_load(&c->b->stop) == 2)
				break;
			continue;
		}
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n <= 0)
			continue;
		in.len = (size_t)n;
		decode_datagram(st, &in, &out, &res);
		for (uint32_t i = 0; i < out.count; i++)
			if (flows[i].dst_addr.s6_addr[12] == 10 &&
			    flows[i].dst_addr.s6_addr[13] == 99)
				atomic_fetch_add(c->packets, flows[i].packets);
	}
	decode_state_free(st);
	return NULL;
}

static pid_t softflowd_start(struct bench *b)
{
	char target[64], maxflows[16];
	pid_t pid;

	snprintf(target, sizeof(target), "127.0.0.1:%d", SOFTFLOW_PORT);
	snprintf(maxflows, sizeof(maxflows), "%u", b->flows * 2 + 1024);
	snprintf(b->ctl, sizeof(b->ctl), "/tmp/weir-pbench-%d.ctl", (int)getpid());
	/* Its own pid file: softflowd unlinks it at exit (given /dev/null, it
	 * removed the machine's /dev/null). */
	snprintf(b->pidfile, sizeof(b->pidfile), "/tmp/weir-pbench-%d.pid", (int)getpid());
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		setns(b->fd_s, CLONE_NEWNET);
		execlp("softflowd", "softflowd", "-i", b->if_s, "-n", target, "-v", "10", "-d",
		       "-c", b->ctl, "-p", b->pidfile, "-m", maxflows, "-t", "maxlife=3600", "-B",
		       "67108864", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void softflowd_stop(struct bench *b, pid_t pid)
{
	int status;

	if (pid <= 0)
		return;
	/* shutdown: every flow is exported, then it exits. */
	sh("softflowctl -c %s shutdown >/dev/null 2>&1", b->ctl);
	for (int i = 0; i < 50 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(100000);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	unlink(b->ctl);
	unlink(b->pidfile);
}

static int probe_start_in(struct bench *b, struct probe **p, struct error *err)
{
	char target[32], *collectors[1] = {target};
	struct probe_config cfg;
	int r;

	snprintf(target, sizeof(target), "127.0.0.1:%d", PROBE_PORT);
	probe_config_defaults(&cfg);
	if (b->drain_ms)
		cfg.drain_interval_ms = b->drain_ms;
	cfg.batch_packets = b->batch_packets;
	cfg.collectors.items = collectors;
	cfg.collectors.count = 1;
	setns(b->fd_s, CLONE_NEWNET);
	r = probe_new(&cfg, NULL, p, err);
	if (r == 0)
		r = probe_start(*p, err);
	setns(b->fd_orig, CLONE_NEWNET);
	return r;
}

/* One run at full speed: datagrams per second the sender reached. With the
 * probe, *ns_pkt is what its programs cost per packet (kernel BPF
 * statistics; 0 when they are off). */
static double rate_run(struct bench *b, int with_probe, double *secs, double *ns_pkt)
{
	struct probe_stats st = {0};
	struct probe *p = NULL;
	struct error err;
	pthread_t rx;
	double t;

	if (with_probe && probe_start_in(b, &p, &err) < 0) {
		fprintf(stderr, "bench probe: %s\n", error_text(&err));
		return -1;
	}
	atomic_store(&b->stop, 0);
	atomic_store(&b->received, 0);
	pthread_create(&rx, NULL, receiver, b);
	usleep(100000);
	t = send_all(b);
	usleep(200000);
	atomic_store(&b->stop, 1);
	pthread_join(rx, NULL);
	if (p)
		probe_get_stats(p, &st);
	probe_free(p);
	*ns_pkt = st.prog_runs ? (double)st.prog_run_ns / (double)st.prog_runs : 0;
	*secs = t;
	return (double)b->count / t;
}

/* A TC program that only returns: what any program's run costs around it. */
static int empty_prog_load(void)
{
	const struct bpf_insn insns[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};

	return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "bench_empty", "GPL", insns, 2, NULL);
}

/* What BPF statistics add to any program's run time on this machine: the
 * run time per run of a program that only returns (the clock reads around
 * the run; ~70 ns on a VM whose clock is slow to read), measured with
 * BPF_PROG_TEST_RUN while the statistics are on. 0 when it cannot be. */
static double stats_floor_ns(void)
{
	uint8_t frame[64] = {0};
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	int fd = empty_prog_load();
	double ns = 0;

	if (fd < 0)
		return 0;
	for (int i = 0; i < 20000; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame),
			    .repeat = 1);

		if (bpf_prog_test_run_opts(fd, &o) < 0)
			break;
	}
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.run_cnt)
		ns = (double)info.run_time_ns / (double)info.run_cnt;
	close(fd);
	return ns;
}

#define TCX_EGRESS_ 47 /* BPF_TCX_EGRESS: Debian 12's headers predate it */

/* The egress program the probe attached to the sender's interface (tcx),
 * or -errno. */
static int egress_prog_fd(struct bench *b)
{
	uint32_t ids[4], ifindex;
	LIBBPF_OPTS(bpf_prog_query_opts, q, .prog_ids = ids, .prog_cnt = 4);
	int r;

	setns(b->fd_s, CLONE_NEWNET);
	ifindex = if_nametoindex(b->if_s);
	r = ifindex ? bpf_prog_query_opts((int)ifindex, TCX_EGRESS_, &q) : -ENODEV;
	setns(b->fd_orig, CLONE_NEWNET);
	if (r < 0)
		return r;
	return q.prog_cnt ? bpf_prog_get_fd_by_id(ids[q.prog_cnt - 1]) : -ENOENT;
}

/* Mean BPF_PROG_TEST_RUN duration of `fd` over `n` runs (at least one), one
 * frame each, round-robin over `nf` frames of `len` bytes; -1 on failure. */
static double test_run_ns(int fd, const uint8_t *frames, unsigned nf, unsigned len, uint64_t n)
{
	uint64_t total = 0;

	if (!n)
		n = 1;
	for (uint64_t i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frames + (size_t)(i % nf) * len,
			    .data_size_in = len, .repeat = 1);

		if (bpf_prog_test_run_opts(fd, &o) < 0)
			return -1;
		total += o.duration;
	}
	return (double)total / (double)n;
}

/* --test-run: the kernel side only, without the network's noise. The probe
 * as configured by default on the sender's interface; its egress program
 * run by BPF_PROG_TEST_RUN on the bench's own datagrams (Ethernet, IPv4,
 * UDP, --size payload, --flows round-robin), --count runs per round from
 * CPU 0, against an empty program's runs in between: an A/B figure for
 * changes to the programs (BPF statistics off; the test run's own clock
 * reads are in both, so the difference is the programs'). Not the
 * throughput target: no stack, no other work between packets. */
static int test_run_rounds(struct bench *b, unsigned runs)
{
	size_t len = 14 + 20 + 8 + b->size;
	uint8_t *frames = calloc(b->flows, len);
	struct probe *p = NULL;
	double best = 0, worst = 0, floor_best = 0;
	struct error err;
	int fd = -1, efd = empty_prog_load(), ret = -1;

	if (!frames || efd < 0)
		goto out;
	for (unsigned f = 0; f < b->flows; f++) {
		uint8_t *e = frames + (size_t)f * len, *ip = e + 14, *u = ip + 20;
		uint32_t src = htonl(0x0a620001u), dst = htonl(0x0a630000u + 1 + f);

		e[12] = 0x08; /* IPv4 */
		ip[0] = 0x45;
		ip[2] = (uint8_t)((len - 14) >> 8);
		ip[3] = (uint8_t)(len - 14);
		ip[8] = 64;
		ip[9] = 17;
		memcpy(ip + 12, &src, 4);
		memcpy(ip + 16, &dst, 4);
		u[0] = 0x9c; /* source port 40000 */
		u[1] = 0x40;
		u[3] = RECV_PORT;
		u[4] = (uint8_t)((len - 34) >> 8);
		u[5] = (uint8_t)(len - 34);
	}
	b->batch_packets = 1;
	if (probe_start_in(b, &p, &err) < 0) {
		fprintf(stderr, "bench probe: %s\n", error_text(&err));
		goto out;
	}
	fd = egress_prog_fd(b);
	if (fd < 0) {
		fprintf(stderr, "bench probe: the probe's tcx egress program not found (%s)\n",
			strerror(-fd));
		goto out;
	}
	pin_to(0);
	for (unsigned i = 0; i < runs; i++) {
		double e = test_run_ns(efd, frames, b->flows, (unsigned)len, b->count / 4),
		       t = test_run_ns(fd, frames, b->flows, (unsigned)len, b->count);

		if (e < 0 || t < 0)
			goto out;
		printf("probe [test run]: round %u: programs %.1f ns/packet, empty program %.1f: "
		       "net %.1f\n",
		       i + 1, t, e, t - e);
		if (!best || t - e < best)
			best = t - e;
		if (t - e > worst)
			worst = t - e;
		if (!floor_best || e < floor_best)
			floor_best = e;
	}
	printf("probe [test run]: net %.1f ns/packet (best of %u rounds, worst %.1f; empty "
	       "program %.1f; %u flows, %u-byte payloads, %llu runs a round)\n",
	       best, runs, worst, floor_best, b->flows, b->size, (unsigned long long)b->count);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (efd >= 0)
		close(efd);
	probe_free(p);
	free(frames);
	return ret;
}

static void usage(FILE *out, const void *ctx)
{
	(void)ctx;
	fprintf(out, "usage: weir bench probe [--count N] [--size BYTES] [--flows N] [--rate PPS]\n"
		     "                        [--seconds S] [--runs N] [--drain-interval MS]\n"
		     "                        [--batch-packets on|off|both] [--test-run]\n\n"
		     "UDP datagrams/s one sender reaches on a veth pair without and with the\n"
		     "probe (best of --runs each; --count datagrams of --size bytes per run;\n"
		     "sender on CPU 0, receiver on CPU 1), the probe's programs' ns/packet\n"
		     "(BPF statistics, on only in a third run of each round; also net of\n"
		     "what the statistics add, an empty program's run time),\n"
		     "then the probe's exporter CPU and softflowd's on the same traffic: --flows\n"
		     "concurrent flows at --rate datagrams/s for --seconds. The probe drains\n"
		     "its kernel map every --drain-interval ms (default: probe.drain-interval's,\n"
		     "a third of the idle timeout, at most 5 s). --batch-packets on, off or\n"
		     "both (the default): the throughput rounds with probe.batch-packets on\n"
		     "(the default), off, or both.\n"
		     "--test-run: instead, the egress program alone through BPF_PROG_TEST_RUN on\n"
		     "the same datagrams (--count runs a round, --runs rounds, against an empty\n"
		     "program's): a steadier figure to compare builds, not the throughput.\n");
}

int bench_probe_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"count", required_argument, NULL, 'n'},
	    {"size", required_argument, NULL, 's'},
	    {"flows", required_argument, NULL, 'f'},
	    {"rate", required_argument, NULL, 'r'},
	    {"seconds", required_argument, NULL, 't'},
	    {"runs", required_argument, NULL, 'k'},
	    {"drain-interval", required_argument, NULL, 'd'},
	    {"batch-packets", required_argument, NULL, 'b'},
	    {"test-run", no_argument, NULL, 'T'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct bench b = {.fd_s = -1, .fd_r = -1, .fd_orig = -1};
	uint64_t count = 2000000;
	unsigned seconds = 10, runs = 3, rate = 100000;
	int modes = 3; /* bit 0: batch-packets on (the default), bit 1: off */
	double best_off = 0, best_on = 0, worst_off = 0, worst_on = 0, best_ns = 0, worst_ns = 0,
	       floor_ns = 0, secs, cpu0, cpu1, sf0, sf1, wall;
	struct collector cp = {.b = &b, .fd = -1, .packets = &b.probe_packets},
			 cs = {.b = &b, .fd = -1, .packets = &b.softflowd_packets};
	struct probe *p = NULL;
	struct error err;
	pthread_t rx;
	pid_t sf;
	struct cli_opts o;
	int c, ret = 1, stats_fd = -1, test_run = 0;
	char drain[64];

	b.flows = 10000;
	b.size = 64;
	cli_opts_init(&o, argc, argv, "h", opts, usage, NULL);
	while ((c = cli_opts_next(&o)) >= 0) {
		switch (c) {
		case 'n':
			count = strtoull(optarg, NULL, 10);
			break;
		case 's':
			b.size = (unsigned)atoi(optarg);
			break;
		case 'f':
			b.flows = (unsigned)atoi(optarg);
			break;
		case 'r':
			rate = (unsigned)atoi(optarg);
			break;
		case 't':
			seconds = (unsigned)atoi(optarg);
			break;
		case 'k':
			runs = (unsigned)atoi(optarg);
			break;
		case 'd':
			b.drain_ms = (unsigned)atoi(optarg);
			break;
		case 'T':
			test_run = 1;
			break;
		case 'b':
			modes = !strcmp(optarg, "on")	  ? 1
				: !strcmp(optarg, "off")  ? 2
				: !strcmp(optarg, "both") ? 3
							  : 0;
			break;
		}
	}
	if (c == CLI_OPTS_EXIT)
		return o.status;
	if (!count || !b.flows || b.flows > 65000 || b.size < 1 || b.size > 1400 || !rate ||
	    !seconds || !runs || !modes ||
	    (b.drain_ms && (b.drain_ms < 10 || b.drain_ms > 60000))) {
		return cli_opts_usage_error(&o);
	}
	if (setup(&b) < 0) {
		fprintf(stderr, "bench probe: making the network namespaces failed (root?)\n");
		goto out;
	}
	if (test_run) {
		b.count = count;
		ret = test_run_rounds(&b, runs) < 0;
		goto out;
	}
	/* Throughput, alternating so that the machine's mood hits both. BPF
	 * statistics are off for these two (each program run would read the
	 * clock twice more: a cost the probe does not have), on for a third
	 * run with the probe that gives the programs' ns/packet. */
	b.count = count;
	b.rate = 0;
	/* Both ways of the kernel table (--batch-packets): CPUs staging
	 * packets (the default), and each packet added at once. */
	for (int mode = 0; mode < 2; mode++) {
		const char *m = mode ? "batch-packets off" : "batch-packets on (default)";

		if (!(modes & 1 << mode))
			continue;
		b.batch_packets = !mode;
		best_off = best_on = worst_off = worst_on = best_ns = worst_ns = 0;
		for (unsigned i = 0; i < runs; i++) {
			double ns, off = rate_run(&b, 0, &secs, &ns),
				   on = rate_run(&b, 1, &secs, &ns);

			if (off < 0 || on < 0)
				goto out;
			/* Run time of BPF programs is counted while this fd is open
			 * (the same switch as sysctl kernel.bpf_stats_enabled). */
			stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
			if (stats_fd >= 0 && rate_run(&b, 1, &secs, &ns) < 0)
				goto out;
			if (stats_fd >= 0 && i == 0)
				floor_ns = stats_floor_ns();
			if (stats_fd >= 0)
				close(stats_fd);
			stats_fd = -1;
			printf("probe [%s]: run %u: %.0f datagrams/s without, %.0f with the probe; "
			       "programs "
			       "%.0f ns/packet (a run of its own, BPF statistics on)\n",
			       m, i + 1, off, on, ns);
			if (off > best_off)
				best_off = off;
			if (on > best_on)
				best_on = on;
			if (!worst_off || off < worst_off)
				worst_off = off;
			if (!worst_on || on < worst_on)
				worst_on = on;
			if (ns > 0 && (!best_ns || ns < best_ns))
				best_ns = ns;
			if (ns > worst_ns)
				worst_ns = ns;
		}
		printf(
		    "probe [%s]: throughput %.0f datagrams/s without the probe, %.0f with (%u "
		    "flows, %u-byte "
		    "payloads, best of %u; worst %.0f and %.0f; sender on CPU 0, receiver on 1)\n",
		    m, best_off, best_on, b.flows, b.size, runs, worst_off, worst_on);
		printf("probe [%s]: throughput cost %.1f%% (target <= 2%%)\n", m,
		       100.0 * (best_off - best_on) / best_off);
		/* On a machine shared with other work the two rates above swing by
		 * more than the cost itself; the programs' own run time per packet,
		 * against the time one packet takes the sender, does not. */
		if (best_ns > 0)
			printf(
			    "probe [%s]: programs %.0f ns/packet (best of %u, worst %.0f; kernel "
			    "BPF "
			    "statistics): %.2f%% of the %.0f ns a datagram costs without the probe "
			    "(target <= 2%%)\n",
			    m, best_ns, runs, worst_ns, 100.0 * best_ns * best_off / 1e9,
			    1e9 / best_off);
		else
			printf("probe [%s]: programs' ns/packet unknown (BPF statistics could not "
			       "be turned "
			       "on)\n",
			       m);
		/* The statistics' own clock reads are in every figure above; without
		 * them, what the probe's programs cost. */
		if (best_ns > 0 && floor_ns > 0)
			printf("probe [%s]: of which %.0f ns is the BPF statistics' own (an empty "
			       "program's run "
			       "time here): programs %.0f ns/packet net, %.2f%% of a datagram "
			       "(target <= "
			       "2%%)\n",
			       m, floor_ns, best_ns - floor_ns,
			       100.0 * (best_ns - floor_ns) * best_off / 1e9);
	}

	/* CPU and counts at a fixed rate, probe and softflowd together; the
	 * probe as configured by default. */
	b.batch_packets = 1;
	if (b.drain_ms)
		snprintf(drain, sizeof(drain), "%u ms", b.drain_ms);
	else
		snprintf(drain, sizeof(drain), "idle-timeout / 3, at most 5 s (the default)");
	b.count = (uint64_t)rate * seconds;
	b.rate = rate;
	cp.fd = udp_socket(b.fd_s, &b, PROBE_PORT);
	cs.fd = udp_socket(b.fd_s, &b, SOFTFLOW_PORT);
	if (cp.fd < 0 || cs.fd < 0)
		goto out;
	atomic_store(&b.stop, 0);
	atomic_store(&b.received, 0);
	pthread_create(&cp.thread, NULL, collect_main, &cp);
	pthread_create(&cs.thread, NULL, collect_main, &cs);
	if (probe_start_in(&b, &p, &err) < 0) {
		fprintf(stderr, "bench probe: %s\n", error_text(&err));
		goto out;
	}
	sf = softflowd_start(&b);
	pthread_create(&rx, NULL, receiver, &b);
	sleep(1);
	cpu0 = cpu_threads_named_s("weir-probe");
	sf0 = cpu_pid_s(sf);
	wall = clock_mono_s();
	secs = send_all(&b);
	sleep(1);
	cpu1 = cpu_threads_named_s("weir-probe");
	sf1 = cpu_pid_s(sf);
	wall = clock_mono_s() - wall;
	atomic_store(&b.stop, 1);
	pthread_join(rx, NULL);
	probe_free(p); /* exports every open flow */
	softflowd_stop(&b, sf);
	sleep(1);
	atomic_store(&b.stop, 2);
	pthread_join(cp.thread, NULL);
	pthread_join(cs.thread, NULL);
	printf("probe: %u concurrent flows at %u datagrams/s for %.1f s, drain every %s\n", b.flows,
	       rate, secs, drain);
	printf("probe: user-space CPU of the probe %.2f%% of a core (target <= 1%%)\n",
	       100.0 * (cpu1 - cpu0) / wall);
	printf("probe: softflowd CPU %.2f%% of a core; probe/softflowd = 1/%.0f (target <= 1/20)\n",
	       100.0 * (sf1 - sf0) / wall, (sf1 - sf0) / (cpu1 - cpu0 > 0 ? cpu1 - cpu0 : 1e-9));
	printf("probe: packets sent %llu, the probe reported %llu (%s), softflowd %llu (%+lld)\n",
	       (unsigned long long)b.count, (unsigned long long)atomic_load(&b.probe_packets),
	       atomic_load(&b.probe_packets) == b.count ? "exact" : "NOT exact",
	       (unsigned long long)atomic_load(&b.softflowd_packets),
	       (long long)atomic_load(&b.softflowd_packets) - (long long)b.count);
	ret = atomic_load(&b.probe_packets) == b.count ? 0 : 1;
out:
	if (cp.fd >= 0)
		close(cp.fd);
	if (cs.fd >= 0)
		close(cs.fd);
	teardown(&b);
	if (stats_fd >= 0)
		close(stats_fd);
	return ret;
}
