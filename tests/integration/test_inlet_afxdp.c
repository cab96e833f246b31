// SPDX-License-Identifier: AGPL-3.0-or-later
/* The inlet on a real veth pair between two network namespaces: flow
 * datagrams from the demo encoder through AF_XDP (native and generic) and
 * through the UDP fallback, read back from the ring byte for byte; ICMP and
 * TCP still pass; allowlist and rate limit cut in XDP and in the threads;
 * stale programs replaced, clean shutdown detaches; softflowd as a real
 * exporter. (Junk floods beside a legitimate exporter: test_junk_flood.c.)
 * Needs root; skips otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench/bench.h"
#include "bus/bus.h"
#include "common/addr.h"
#include "common/be.h"
#include "common/clock.h"
#include "common/log.h"
#include "demo/demo.h"
#include "inlet/inlet.h"
#include "test.h"

#define MAX_SENT 512

struct sent {
	uint8_t data[1500];
	size_t len;
	int seen;
};

struct fixture {
	struct bench_netpair *np; /* on the heap: the exit handler may see it */
	struct bus_producer *prod;
	struct bus_consumer *cons;
	struct metrics_registry *metrics;
	struct inlet *in;
	struct sent *sent;
	size_t nsent;
};

static struct bench_netpair *live_pairs[64];

static void cleanup_pairs(void)
{
	for (size_t i = 0; i < sizeof(live_pairs) / sizeof(live_pairs[0]); i++)
		if (live_pairs[i])
			bench_netpair_fini(live_pairs[i]);
}

static void need_root(void)
{
	static int registered;

	if (geteuid() != 0)
		SKIP("needs root (network namespaces, XDP)");
	if (system("ip netns list >/dev/null 2>&1") != 0)
		SKIP("iproute2 `ip netns` unavailable");
	if (!registered) {
		atexit(cleanup_pairs);
		registered = 1;
	}
}

static void fixture_init(struct fixture *f, const char *tag)
{
	memset(f, 0, sizeof(*f));
	f->np = calloc(1, sizeof(*f->np));
	REQUIRE(f->np);
	REQUIRE(bench_netpair_init(f->np, tag, NULL) == 0);
	for (size_t i = 0; i < sizeof(live_pairs) / sizeof(live_pairs[0]); i++)
		if (!live_pairs[i]) {
			live_pairs[i] = f->np;
			break;
		}
	REQUIRE_EQ(metrics_registry_new(&f->metrics, NULL), 0);
	REQUIRE(bus_ring_new(tag, 8u << 20, 0, f->metrics, &f->prod, &f->cons, NULL) == 0);
	f->sent = calloc(MAX_SENT, sizeof(*f->sent));
	REQUIRE(f->sent);
}

static void fixture_fini(struct fixture *f)
{
	inlet_free(f->in);
	f->in = NULL;
	bench_netpair_fini(f->np);
	for (size_t i = 0; i < sizeof(live_pairs) / sizeof(live_pairs[0]); i++)
		if (live_pairs[i] == f->np)
			live_pairs[i] = NULL;
	free(f->np);
	f->np = NULL;
	if (f->prod)
		bus_producer_free(f->prod);
	if (f->cons)
		bus_consumer_free(f->cons);
	metrics_registry_free(f->metrics);
	free(f->sent);
}

/* Starts an inlet in the collector namespace. */
static struct inlet *start_inlet(struct fixture *f, const struct inlet_config *cfg)
{
	struct error err = {""};
	struct inlet *in;

	REQUIRE(bench_netpair_enter(f->np, 1) == 0);
	if (inlet_new(cfg, f->prod, f->metrics, &in, &err) == 0)
		REQUIRE(inlet_start(in, &err) == 0);
	REQUIRE(bench_netpair_leave(f->np) == 0);
	if (!in)
		printf("# inlet_new: %s\n", err.text);
	return in;
}

static void stop_inlet(struct fixture *f)
{
	REQUIRE(bench_netpair_enter(f->np, 1) == 0);
	inlet_stop(f->in);
	REQUIRE(bench_netpair_leave(f->np) == 0);
}

/* Takes what a real exporter sent from the bus for `rounds` polls of 100 ms:
 * each datagram must come from `exporter` and start with a NetFlow v9
 * header. Returns how many arrived. */
static size_t drain_netflow_v9(struct fixture *f, const char *exporter, int rounds)
{
	struct in6_addr exp;
	size_t got = 0;

	addr_from_text(&exp, exporter);
	for (int i = 0; i < rounds; i++) {
		struct bus_envelope envs[16];
		int n = bus_consumer_poll(f->cons, envs, 16, 100);

		for (int j = 0; j < n; j++) {
			CHECK_MEM(&envs[j].exporter, &exp, 16);
			CHECK(envs[j].len >= 20);
			CHECK(envs[j].data[0] == 0 && envs[j].data[1] == 9); /* v9 header */
			got++;
		}
		bus_consumer_release(f->cons, 1);
	}
	return got;
}

/* A UDP socket in the exporter namespace bound to `src` (text). */
static int exporter_socket(struct fixture *f, const char *src)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
	int fd;

	REQUIRE(bench_netpair_enter(f->np, 0) == 0);
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	REQUIRE(bench_netpair_leave(f->np) == 0);
	REQUIRE(fd >= 0);
	REQUIRE(addr_from_text(&sa.sin6_addr, src) == 0);
	REQUIRE(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	return fd;
}

static void send_to(int fd, const char *dst, uint16_t port, const uint8_t *data, size_t len)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(port)};

	REQUIRE(addr_from_text(&sa.sin6_addr, dst) == 0);
	REQUIRE(sendto(fd, data, len, 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)len);
}

static void forget_sent(struct fixture *f)
{
	memset(f->sent, 0, MAX_SENT * sizeof(*f->sent));
	f->nsent = 0;
}

/* Encodes `count` datagrams of `format` and sends them to dst:port. */
static void send_encoded(struct fixture *f, int fd, const char *dst, uint16_t port,
			 enum demo_format format, size_t count)
{
	struct demo_encoder_config ec = {
	    .format = format, .domain_id = 7, .sampling_rate = 100, .template_refresh = 5};
	struct demo_encoder *enc;
	struct flow flows[32];
	uint64_t seed = 42 + format;

	addr_from_text(&ec.agent, "192.0.2.1");
	REQUIRE_EQ(demo_encoder_new(&ec, &enc, NULL), 0);
	for (size_t i = 0; i < count && f->nsent < MAX_SENT; i++) {
		struct sent *s = &f->sent[f->nsent];
		int r;

		demo_flows_random(flows, 32, format, 1700000000, &seed);
		r = demo_encoder_encode(enc, flows, 32, s->data, sizeof(s->data), &s->len);
		REQUIRE(r >= 0);
		if (!s->len)
			continue;
		if (fd >= 0)
			send_to(fd, dst, port, s->data, s->len);
		f->nsent++;
	}
	demo_encoder_free(enc);
}

/* Reads envelopes until `want` arrived or 5 s passed; each must match an
 * unseen sent datagram byte for byte and come from `exporter`. */
static size_t receive_and_match(struct fixture *f, size_t want, const char *exporter)
{
	struct in6_addr exp;
	size_t got = 0, mismatched = 0;
	double t0 = clock_mono_s();

	REQUIRE(addr_from_text(&exp, exporter) == 0);
	while (got < want) {
		struct bus_envelope envs[64];
		int n = bus_consumer_poll(f->cons, envs, 64, 100);

		REQUIRE(n >= 0);
		for (int i = 0; i < n; i++) {
			size_t j;

			CHECK_MEM(&envs[i].exporter, &exp, 16);
			CHECK(envs[i].time_received_ns > 1600000000ull * 1000000000ull);
			CHECK(envs[i].exporter_port != 0);
			for (j = 0; j < f->nsent; j++)
				if (!f->sent[j].seen && f->sent[j].len == envs[i].len &&
				    memcmp(f->sent[j].data, envs[i].data, envs[i].len) == 0)
					break;
			if (j < f->nsent)
				f->sent[j].seen = 1;
			else
				mismatched++;
			got++;
		}
		bus_consumer_release(f->cons, 1);
		if (clock_mono_s() - t0 > 5)
			break;
	}
	CHECK_EQ(mismatched, 0);
	return got;
}

/* Waits (at most 5 s) until the inlet accounted for `total` datagrams. */
static void wait_accounted(struct fixture *f, uint64_t total, struct inlet_stats *st)
{
	for (int i = 0; i < 500; i++) {
		inlet_get_stats(f->in, st);
		if (st->received + st->dropped_not_allowed + st->dropped_rate >= total)
			return;
		usleep(10000);
	}
}

static void afxdp_config(struct inlet_config *cfg, struct inlet_input_config *ic, struct fixture *f,
			 int mode)
{
	memset(cfg, 0, sizeof(*cfg));
	memset(ic, 0, sizeof(*ic));
	ic->type = INLET_INPUT_AFXDP;
	ic->interface = f->np->if_col;
	ic->mode = mode;
	cfg->inputs.items = ic;
	cfg->inputs.count = 1;
}

static void udp_config(struct inlet_config *cfg, struct inlet_input_config *ic, const char *listen,
		       unsigned workers)
{
	memset(cfg, 0, sizeof(*cfg));
	memset(ic, 0, sizeof(*ic));
	ic->type = INLET_INPUT_UDP;
	ic->listen = (char *)listen;
	ic->workers = workers;
	cfg->inputs.items = ic;
	cfg->inputs.count = 1;
}

static uint32_t attached_prog(struct fixture *f, uint32_t mode_flag)
{
	struct bpf_xdp_query_opts q = {.sz = sizeof(q)};
	int ifindex;

	REQUIRE(bench_netpair_enter(f->np, 1) == 0);
	ifindex = (int)if_nametoindex(f->np->if_col);
	REQUIRE(ifindex > 0);
	REQUIRE(bpf_xdp_query(ifindex, 0, &q) == 0);
	REQUIRE(bench_netpair_leave(f->np) == 0);
	return mode_flag == XDP_FLAGS_DRV_MODE	 ? q.drv_prog_id
	       : mode_flag == XDP_FLAGS_SKB_MODE ? q.skb_prog_id
						 : q.drv_prog_id | q.skb_prog_id;
}

/* Every format, to the three default ports, from `src` to `dst`. */
static void delivery(int afxdp, int mode, int v6, const char *tag)
{
	const char *src = v6 ? "2001:db8::1" : "192.0.2.1", *dst = v6 ? "2001:db8::2" : "192.0.2.2";
	struct inlet_input_config ic;
	struct inlet_config cfg;
	struct inlet_stats st;
	struct fixture f;
	size_t got;
	int fd;

	need_root();
	fixture_init(&f, tag);
	if (afxdp)
		afxdp_config(&cfg, &ic, &f, mode);
	else
		udp_config(&cfg, &ic, ":2055", 2);
	f.in = start_inlet(&f, &cfg);
	REQUIRE(f.in);
	if (afxdp)
		CHECK(attached_prog(&f, mode == INLET_XDP_NATIVE ? XDP_FLAGS_DRV_MODE
								 : XDP_FLAGS_SKB_MODE) != 0);
	fd = exporter_socket(&f, src);
	send_encoded(&f, fd, dst, 2055, DEMO_NETFLOW_V9, 20);
	send_encoded(&f, fd, dst, 2055, DEMO_NETFLOW_V5, 10);
	send_encoded(&f, fd, dst, 2055, DEMO_IPFIX, 20);
	send_encoded(&f, fd, dst, 2055, DEMO_SFLOW_V5, 20);
	if (afxdp) {
		send_encoded(&f, fd, dst, 4739, DEMO_IPFIX, 10);
		send_encoded(&f, fd, dst, 6343, DEMO_SFLOW_V5, 10);
	}
	close(fd);
	got = receive_and_match(&f, f.nsent, src);
	CHECK_EQ(got, f.nsent);
	wait_accounted(&f, f.nsent, &st);
	CHECK_EQ(st.received, f.nsent);
	CHECK_EQ(st.bus_dropped, 0);
	CHECK_EQ(st.dropped_not_allowed + st.dropped_rate, 0);
	if (afxdp) {
		struct inlet_exporter_stats es;
		struct in6_addr a;

		CHECK_EQ(st.xdp_steered, f.nsent);
		addr_from_text(&a, src);
		CHECK(inlet_get_exporter_stats(f.in, &a, &es) == 0);
		CHECK_EQ(es.steered, f.nsent);
	}
	/* From the original namespace: the inlet goes back to its own to detach. */
	inlet_stop(f.in);
	if (afxdp)
		CHECK_EQ(attached_prog(&f, 0), 0); /* clean shutdown detached it */
	fixture_fini(&f);
}

TEST(afxdp_native_ipv4_encoded_datagrams_byte_for_byte)
{
	delivery(1, INLET_XDP_NATIVE, 0, "n4");
}

TEST(afxdp_native_ipv6_encoded_datagrams_byte_for_byte)
{
	delivery(1, INLET_XDP_NATIVE, 1, "n6");
}

TEST(afxdp_generic_ipv4_encoded_datagrams_byte_for_byte)
{
	delivery(1, INLET_XDP_GENERIC, 0, "g4");
}

TEST(afxdp_generic_ipv6_encoded_datagrams_byte_for_byte)
{
	delivery(1, INLET_XDP_GENERIC, 1, "g6");
}

TEST(udp_ipv4_encoded_datagrams_byte_for_byte)
{
	delivery(0, 0, 0, "u4");
}

TEST(udp_ipv6_encoded_datagrams_byte_for_byte)
{
	delivery(0, 0, 1, "u6");
}

/* ICMP and TCP to the collector keep working while XDP is attached. */
TEST(afxdp_icmp_and_tcp_still_pass)
{
	struct inlet_input_config ic;
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(8179)};
	struct inlet_config cfg;
	struct inlet_stats st;
	struct fixture f;
	char cmd[256], buf[16] = "";
	int lfd, cfd, afd, one = 1;

	need_root();
	fixture_init(&f, "ic");
	afxdp_config(&cfg, &ic, &f, INLET_XDP_NATIVE);
	f.in = start_inlet(&f, &cfg);
	REQUIRE(f.in);
	snprintf(cmd, sizeof(cmd), "ip netns exec %s ping -c 2 -i 0.2 -W 2 192.0.2.2 >/dev/null",
		 f.np->ns_exp);
	CHECK(system(cmd) == 0);
	snprintf(cmd, sizeof(cmd), "ip netns exec %s ping -c 2 -i 0.2 -W 2 2001:db8::2 >/dev/null",
		 f.np->ns_exp);
	CHECK(system(cmd) == 0);

	/* TCP: a listener in the collector, a client in the exporter. */
	REQUIRE(bench_netpair_enter(f.np, 1) == 0);
	lfd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(bench_netpair_leave(f.np) == 0);
	REQUIRE(lfd >= 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	REQUIRE(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	REQUIRE(listen(lfd, 1) == 0);
	REQUIRE(bench_netpair_enter(f.np, 0) == 0);
	cfd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(bench_netpair_leave(f.np) == 0);
	REQUIRE(cfd >= 0);
	addr_from_text(&sa.sin6_addr, "192.0.2.2");
	REQUIRE(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	REQUIRE(write(cfd, "hello", 5) == 5);
	afd = accept(lfd, NULL, NULL);
	REQUIRE(afd >= 0);
	CHECK(read(afd, buf, sizeof(buf)) == 5);
	CHECK_STR(buf, "hello");
	close(afd);
	close(cfd);
	close(lfd);

	inlet_get_stats(f.in, &st);
	CHECK(st.xdp_passed >= 4 + 3); /* pings (and ARP/ND) and the TCP segments */
	CHECK_EQ(st.xdp_steered, 0);
	stop_inlet(&f);
	fixture_fini(&f);
}

/* Allowlist: .11 allowed, .12 dropped and counted; then a run-time update
 * lets .12 in without a reload. */
static void allowlist(int afxdp, const char *tag)
{
	static const char *const allow[] = {"192.0.2.11/32", "2001:db8:ffff::/48"};
	static const char *const allow2[] = {"192.0.2.8/29"};
	struct inlet_input_config ic;
	struct inlet_config cfg;
	struct inlet_stats st;
	struct fixture f;
	struct error err = {""};
	int fd11, fd12;

	need_root();
	fixture_init(&f, tag);
	if (afxdp)
		afxdp_config(&cfg, &ic, &f, INLET_XDP_AUTO);
	else
		udp_config(&cfg, &ic, "[::]:2055", 1);
	cfg.allowlist.items = (void *)allow;
	cfg.allowlist.count = 2;
	f.in = start_inlet(&f, &cfg);
	REQUIRE(f.in);
	fd11 = exporter_socket(&f, "192.0.2.11");
	fd12 = exporter_socket(&f, "192.0.2.12");
	send_encoded(&f, fd12, "192.0.2.2", 2055, DEMO_IPFIX, 30);
	forget_sent(&f); /* those must not arrive */
	send_encoded(&f, fd11, "192.0.2.2", 2055, DEMO_NETFLOW_V9, 20);
	CHECK_EQ(receive_and_match(&f, 20, "192.0.2.11"), 20);
	wait_accounted(&f, 50, &st);
	CHECK_EQ(st.received, 20);
	CHECK_EQ(st.dropped_not_allowed, 30);
	if (afxdp) {
		struct inlet_exporter_stats es;
		struct in6_addr a;

		addr_from_text(&a, "192.0.2.12");
		CHECK(inlet_get_exporter_stats(f.in, &a, &es) == 0);
		CHECK_EQ(es.dropped_not_allowed, 30);
		CHECK_EQ(es.steered, 0);
	}
	/* Nothing else arrived (the dropped ones would have by now). */
	{
		struct bus_envelope env;

		CHECK_EQ(bus_consumer_poll(f.cons, &env, 1, 200), 0);
	}

	/* Run-time update: 192.0.2.8/29 covers both. */
	CHECK(inlet_set_policy(f.in, (const char *const[]){"not-a-prefix"}, 1, 0, 0, &err) ==
	      -EINVAL);
	CHECK(strstr(err.text, "not-a-prefix") != NULL);
	REQUIRE(inlet_set_policy(f.in, allow2, 1, 0, 0, &err) == 0);
	forget_sent(&f);
	send_encoded(&f, fd12, "192.0.2.2", 2055, DEMO_IPFIX, 10);
	CHECK_EQ(receive_and_match(&f, 10, "192.0.2.12"), 10);
	inlet_get_stats(f.in, &st);
	CHECK_EQ(st.dropped_not_allowed, 30);
	/* Allowlist off. */
	REQUIRE(inlet_set_policy(f.in, NULL, 0, 0, 0, &err) == 0);
	close(fd11);
	close(fd12);
	fd12 = exporter_socket(&f, "192.0.2.1");
	forget_sent(&f);
	send_encoded(&f, fd12, "192.0.2.2", 2055, DEMO_NETFLOW_V5, 5);
	CHECK_EQ(receive_and_match(&f, 5, "192.0.2.1"), 5);
	close(fd12);
	stop_inlet(&f);
	fixture_fini(&f);
}

TEST(afxdp_allowlist_drops_in_xdp_and_updates_at_run_time)
{
	allowlist(1, "al");
}

TEST(udp_allowlist_drops_and_updates_at_run_time)
{
	allowlist(0, "ul");
}

/* Rate limit: a burst of 400 from .13 is cut to about burst + rate x time;
 * .14 has its own bucket. Count-based, with the elapsed time as slack. */
static void rate_limit(int afxdp, const char *tag)
{
	const uint64_t rate = 50, burst = 30, n = 400;
	struct inlet_input_config ic;
	struct inlet_config cfg;
	struct inlet_stats st;
	double t0, t1;
	struct fixture f;
	uint8_t payload[200];
	uint64_t slack;
	int fd13, fd14;

	need_root();
	fixture_init(&f, tag);
	if (afxdp)
		afxdp_config(&cfg, &ic, &f, INLET_XDP_NATIVE);
	else
		udp_config(&cfg, &ic, ":4739", 1);
	cfg.rate_limit = rate;
	cfg.rate_burst = burst;
	f.in = start_inlet(&f, &cfg);
	REQUIRE(f.in);
	fd13 = exporter_socket(&f, "192.0.2.13");
	fd14 = exporter_socket(&f, "192.0.2.14");
	memset(payload, 0xab, sizeof(payload));
	t0 = clock_mono_s();
	for (uint64_t i = 0; i < n; i++) {
		send_to(fd13, "192.0.2.2", 4739, payload, sizeof(payload));
		if (i % 40 == 0)
			usleep(100); /* let the receive side keep up */
	}
	t1 = clock_mono_s();
	send_to(fd14, "192.0.2.2", 4739, payload, sizeof(payload));
	wait_accounted(&f, n + 1, &st);
	slack = (uint64_t)((t1 - t0) * rate) + 2;
	printf("# rate %llu burst %llu: %llu of %llu passed (slack %llu)\n",
	       (unsigned long long)rate, (unsigned long long)burst,
	       (unsigned long long)st.received - 1, (unsigned long long)n,
	       (unsigned long long)slack);
	CHECK(st.received - 1 >= burst);
	CHECK(st.received - 1 <= burst + slack);
	CHECK_EQ(st.received + st.dropped_rate, n + 1);
	if (afxdp) {
		struct inlet_exporter_stats es;
		struct in6_addr a;

		addr_from_text(&a, "192.0.2.14");
		CHECK(inlet_get_exporter_stats(f.in, &a, &es) == 0);
		CHECK_EQ(es.steered, 1);
		addr_from_text(&a, "192.0.2.13");
		CHECK(inlet_get_exporter_stats(f.in, &a, &es) == 0);
		CHECK_EQ(es.dropped_rate, st.dropped_rate);
	}
	close(fd13);
	close(fd14);
	stop_inlet(&f);
	fixture_fini(&f);
}

TEST(afxdp_rate_limit_cuts_an_exporter_at_its_rate)
{
	rate_limit(1, "ar");
}

TEST(udp_rate_limit_cuts_an_exporter_at_its_rate)
{
	rate_limit(0, "ur");
}

/* Datagrams to a port outside the set are passed to the kernel (and find
 * the UDP socket there); metrics show every outcome. */
TEST(afxdp_other_ports_pass_and_metrics_are_exported)
{
	struct inlet_input_config ic;
	struct inlet_config cfg;
	struct fixture f;
	uint64_t ports[] = {9995};
	char *text = NULL, line[256];
	size_t len;
	int lfd, fd;
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(2055)};
	uint8_t buf[64];

	need_root();
	fixture_init(&f, "mp");
	afxdp_config(&cfg, &ic, &f, INLET_XDP_GENERIC);
	ic.ports.items = ports;
	ic.ports.count = 1;
	f.in = start_inlet(&f, &cfg);
	REQUIRE(f.in);
	/* A plain socket on 2055 in the collector: 2055 is not steered now. */
	REQUIRE(bench_netpair_enter(f.np, 1) == 0);
	lfd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	REQUIRE(bench_netpair_leave(f.np) == 0);
	REQUIRE(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	fd = exporter_socket(&f, "192.0.2.1");
	send_to(fd, "192.0.2.2", 2055, (const uint8_t *)"kernel", 6);
	{
		struct pollfd p = {.fd = lfd, .events = POLLIN};

		CHECK(poll(&p, 1, 3000) == 1);
		CHECK(recv(lfd, buf, sizeof(buf), MSG_DONTWAIT) == 6);
	}
	send_encoded(&f, fd, "192.0.2.2", 9995, DEMO_IPFIX, 3);
	CHECK_EQ(receive_and_match(&f, 3, "192.0.2.1"), 3);
	/* The worker adds to its counters after handing the batch to the bus:
	 * the consumer may have the datagrams a moment before /metrics says. */
	snprintf(line, sizeof(line),
		 "weir_inlet_datagrams_total{input=\"afxdp:%s\",worker=\"0\"} 3\n", f.np->if_col);
	for (int i = 0; i < 200 && !test_metrics_has(f.metrics, line); i++)
		usleep(10000);
	REQUIRE(metrics_render(f.metrics, &text, &len) == 0);
	snprintf(line, sizeof(line),
		 "weir_inlet_xdp_packets_total{interface=\"%s\",outcome=\"steered\"} 3\n",
		 f.np->if_col);
	CHECK(strstr(text, line) != NULL);
	snprintf(line, sizeof(line),
		 "weir_inlet_xdp_exporter_datagrams_total{interface=\"%s\",exporter=\"192.0.2.1\","
		 "outcome=\"steered\"} 3\n",
		 f.np->if_col);
	CHECK(strstr(text, line) != NULL);
	snprintf(line, sizeof(line),
		 "weir_inlet_datagrams_total{input=\"afxdp:%s\",worker=\"0\"} 3\n", f.np->if_col);
	CHECK(strstr(text, line) != NULL);
	if (!strstr(text, line))
		printf("# metrics:\n%s", text);
	free(text);
	close(fd);
	close(lfd);
	stop_inlet(&f);
	fixture_fini(&f);
}

TEST(udp_metrics_count_per_worker)
{
	struct inlet_input_config ic;
	struct inlet_config cfg;
	struct fixture f;
	char *text = NULL;
	size_t len;
	int fd;

	need_root();
	fixture_init(&f, "um");
	udp_config(&cfg, &ic, "0.0.0.0:2055", 1);
	f.in = start_inlet(&f, &cfg);
	REQUIRE(f.in);
	fd = exporter_socket(&f, "192.0.2.1");
	send_encoded(&f, fd, "192.0.2.2", 2055, DEMO_NETFLOW_V9, 4);
	CHECK_EQ(receive_and_match(&f, 4, "192.0.2.1"), 4);
	/* The worker counts a batch after handing it to the bus: the count may
	 * trail the consumer by a moment (bounded wait, same exact count). */
	for (int i = 0; i < 200; i++) {
		free(text);
		text = NULL;
		REQUIRE(metrics_render(f.metrics, &text, &len) == 0);
		if (strstr(text, "weir_inlet_datagrams_total{input=\"udp:[0.0.0.0]:2055\","
				 "worker=\"0\"} 4\n"))
			break;
		clock_sleep_ms(10);
	}
	CHECK(strstr(text, "weir_inlet_datagrams_total{input=\"udp:[0.0.0.0]:2055\",worker=\"0\"} "
			   "4\n") != NULL);
	CHECK(strstr(text,
		     "weir_inlet_kernel_drops_total{input=\"udp:[0.0.0.0]:2055\",worker=\"0\"}"
		     " 0\n") != NULL);
	free(text);
	close(fd);
	stop_inlet(&f);
	fixture_fini(&f);
}

/* A process killed with SIGKILL leaves its program attached; traffic still
 * flows (no socket: passed), and the next start replaces it. */
TEST(afxdp_stale_program_after_kill_is_replaced)
{
	struct inlet_input_config ic;
	struct inlet_config cfg;
	struct fixture f;
	uint32_t stale;
	char cmd[256], c;
	int pfd[2], status, fd;
	pid_t pid;

	need_root();
	fixture_init(&f, "st");
	afxdp_config(&cfg, &ic, &f, INLET_XDP_NATIVE);
	REQUIRE(pipe(pfd) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct inlet *in;

		close(pfd[0]);
		if (bench_netpair_enter(f.np, 1) < 0)
			_exit(1);
		if (inlet_new(&cfg, f.prod, NULL, &in, NULL) < 0 || inlet_start(in, NULL) < 0)
			_exit(1);
		if (write(pfd[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	REQUIRE(read(pfd[0], &c, 1) == 1);
	close(pfd[0]);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	stale = attached_prog(&f, XDP_FLAGS_DRV_MODE);
	CHECK(stale != 0);
	snprintf(cmd, sizeof(cmd), "ip netns exec %s ping -c 1 -W 2 192.0.2.2 >/dev/null",
		 f.np->ns_exp);
	CHECK(system(cmd) == 0);

	f.in = start_inlet(&f, &cfg);
	REQUIRE(f.in);
	CHECK(attached_prog(&f, XDP_FLAGS_DRV_MODE) != 0);
	CHECK(attached_prog(&f, XDP_FLAGS_DRV_MODE) != stale);
	fd = exporter_socket(&f, "192.0.2.1");
	send_encoded(&f, fd, "192.0.2.2", 2055, DEMO_NETFLOW_V9, 5);
	CHECK_EQ(receive_and_match(&f, 5, "192.0.2.1"), 5);
	close(fd);
	stop_inlet(&f);
	CHECK_EQ(attached_prog(&f, 0), 0);
	fixture_fini(&f);
}

/* Someone else's program is not replaced. */
TEST(afxdp_foreign_program_is_left_alone)
{
	/* r0 = XDP_PASS; exit */
	struct bpf_insn insns[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	struct inlet_input_config ic;
	struct inlet_config cfg;
	struct fixture f;
	struct error err = {""};
	struct inlet *in;
	uint32_t foreign;
	int pfd;

	need_root();
	fixture_init(&f, "fo");
	pfd = bpf_prog_load(BPF_PROG_TYPE_XDP, "someone_else", "GPL", insns, 2, NULL);
	REQUIRE(pfd >= 0);
	REQUIRE(bench_netpair_enter(f.np, 1) == 0);
	REQUIRE(bpf_xdp_attach((int)if_nametoindex(f.np->if_col), pfd, XDP_FLAGS_SKB_MODE, NULL) ==
		0);
	close(pfd);
	afxdp_config(&cfg, &ic, &f, INLET_XDP_GENERIC);
	CHECK_EQ(inlet_new(&cfg, f.prod, NULL, &in, &err), -EBUSY);
	REQUIRE(bench_netpair_leave(f.np) == 0);
	CHECK(in == NULL);
	CHECK(strstr(err.text, "already has XDP program \"someone_else\"") != NULL);
	printf("# %s\n", err.text);
	inlet_free(in);
	foreign = attached_prog(&f, XDP_FLAGS_SKB_MODE);
	CHECK(foreign != 0);
	fixture_fini(&f);
}

static int drop_all_capabilities(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {0};

	return (int)syscall(SYS_capset, &h, d);
}

TEST(errors_name_the_interface_the_port_and_the_capability)
{
	struct inlet_input_config ic;
	struct inlet_config cfg;
	struct fixture f;
	struct error err = {""};
	char buf[sizeof(err.text)];
	struct inlet *in, *in2;
	int pfd[2], status;
	pid_t pid;

	need_root();
	fixture_init(&f, "er");
	/* No such interface. */
	afxdp_config(&cfg, &ic, &f, INLET_XDP_AUTO);
	ic.interface = "nosuch0";
	REQUIRE(bench_netpair_enter(f.np, 1) == 0);
	CHECK_EQ(inlet_new(&cfg, f.prod, NULL, &in, &err), -ENODEV);
	CHECK(in == NULL);
	CHECK(strstr(err.text, "interface \"nosuch0\" does not exist") != NULL);
	/* Port in use. */
	udp_config(&cfg, &ic, ":2055", 2);
	CHECK_EQ(inlet_new(&cfg, f.prod, NULL, &in, &err), 0);
	CHECK(in != NULL);
	CHECK_EQ(inlet_new(&cfg, f.prod, NULL, &in2, &err), -EADDRINUSE);
	CHECK(in2 == NULL);
	CHECK(strstr(err.text, "in use") != NULL);
	printf("# %s\n", err.text);
	inlet_free(in);
	/* Bad listen text. */
	udp_config(&cfg, &ic, "2055", 1);
	CHECK_EQ(inlet_new(&cfg, f.prod, NULL, &in, &err), -EINVAL);
	CHECK(strstr(err.text, "listen \"2055\"") != NULL);
	/* Missing privileges: a child without capabilities. */
	REQUIRE(pipe(pfd) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct error e = {""};
		struct inlet *x;

		close(pfd[0]);
		afxdp_config(&cfg, &ic, &f, INLET_XDP_AUTO);
		if (drop_all_capabilities() < 0)
			error_set(&e, -EPERM, "capset failed");
		else if (inlet_new(&cfg, f.prod, NULL, &x, &e) == 0)
			error_set(&e, 0, "inlet_new succeeded without capabilities");
		if (write(pfd[1], e.text, strlen(e.text) + 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	memset(buf, 0, sizeof(buf));
	CHECK(read(pfd[0], buf, sizeof(buf) - 1) > 0);
	close(pfd[0]);
	waitpid(pid, &status, 0);
	printf("# without capabilities: %s\n", buf);
	CHECK(strstr(buf, "CAP_") != NULL);
	REQUIRE(bench_netpair_leave(f.np) == 0);
	fixture_fini(&f);
}

/* softflowd, a real exporter, reads a capture and exports NetFlow v9 to
 * the AF_XDP inlet. */
TEST(afxdp_softflowd_reaches_the_inlet)
{
	char dir[] = "/tmp/weir-inlet-sfXXXXXX", pcap[128], ctl[128], cmd[1024];
	struct inlet_input_config ic;
	struct demo_pcap_writer *w;
	struct inlet_config cfg;
	struct in6_addr s, d;
	struct inlet_stats st;
	struct fixture f;
	uint8_t payload[100] = {0};
	size_t got = 0;

	need_root();
	if (system("command -v softflowd >/dev/null && command -v softflowctl >/dev/null") != 0)
		SKIP("softflowd is not installed");
	REQUIRE(mkdtemp(dir));
	snprintf(pcap, sizeof(pcap), "%s/traffic.pcap", dir);
	snprintf(ctl, sizeof(ctl), "/tmp/wsf%d", (int)getpid() % 100000);
	REQUIRE_EQ(demo_pcap_writer_new(pcap, &w, NULL), 0);
	/* 50 UDP conversations, 20 packets each. */
	for (int i = 0; i < 1000; i++) {
		addr_from_ipv4(&s, 0xc6336400u + (uint32_t)(i % 50)); /* 198.51.100.x */
		addr_from_ipv4(&d, 0xcb007101u);		      /* 203.0.113.1 */
		REQUIRE(demo_pcap_writer_add(
			    w, 1700000000ull * 1000000000ull + (uint64_t)i * 1000000, &s,
			    (uint16_t)(10000 + i % 50), &d, 53, payload, sizeof(payload)) == 0);
	}
	REQUIRE(demo_pcap_writer_close(w) == 0);
	demo_pcap_writer_free(w);

	fixture_init(&f, "sf");
	afxdp_config(&cfg, &ic, &f, INLET_XDP_NATIVE);
	f.in = start_inlet(&f, &cfg);
	REQUIRE(f.in);
	snprintf(cmd, sizeof(cmd),
		 "ip netns exec %s timeout 20 softflowd -d -r %s -n 192.0.2.2:2055 -v 9 -c %s "
		 ">%s/log 2>&1 & sleep 0.5; "
		 /* softflowd 1.1 with -r first waits in accept() on its control
		  * socket: a first command lets it read the file. */
		 "softflowctl -c %s statistics >/dev/null 2>&1; sleep 1; "
		 "softflowctl -c %s shutdown >/dev/null 2>&1; wait",
		 f.np->ns_exp, pcap, ctl, dir, ctl, ctl);
	CHECK(system(cmd) == 0);
	got = drain_netflow_v9(&f, "192.0.2.1", 30);
	inlet_get_stats(f.in, &st);
	printf("# softflowd datagrams received: %zu\n", got);
	CHECK(got > 0);
	CHECK_EQ(st.received, got);
	if (!got) {
		snprintf(cmd, sizeof(cmd), "sed 's/^/# /' %s/log", dir);
		CHECK(system(cmd) == 0);
	}
	stop_inlet(&f);
	fixture_fini(&f);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

/* A raw socket on the exporter's end of the pair, for hand-made frames. */
static int raw_socket(struct fixture *f, struct sockaddr_ll *sll)
{
	int fd;

	memset(sll, 0, sizeof(*sll));
	sll->sll_family = AF_PACKET;
	sll->sll_halen = 6;
	REQUIRE(bench_netpair_enter(f->np, 0) == 0);
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	sll->sll_ifindex = (int)if_nametoindex(f->np->if_exp);
	REQUIRE(bench_netpair_leave(f->np) == 0);
	REQUIRE(fd >= 0);
	REQUIRE(sll->sll_ifindex > 0);
	return fd;
}

/* 802.1Q and QinQ (802.1ad outer tag) frames are parsed in XDP and in user
 * space. Hand-made: this kernel has no VLAN devices to make them. */
TEST(afxdp_vlan_and_qinq_frames_are_steered)
{
	static const uint8_t dot1q[] = {0x81, 0x00, 0x00, 0x64};
	static const uint8_t qinq[] = {0x88, 0xa8, 0x00, 0xc8, 0x81, 0x00, 0x00, 0x07};
	struct inlet_input_config ic;
	struct inlet_config cfg;
	struct inlet_stats st;
	struct sockaddr_ll sll;
	struct in6_addr s, d;
	struct fixture f;
	uint8_t frame[1600], tagged[1600];
	int fd, len;

	need_root();
	fixture_init(&f, "vl");
	afxdp_config(&cfg, &ic, &f, INLET_XDP_NATIVE);
	f.in = start_inlet(&f, &cfg);
	REQUIRE(f.in);
	fd = raw_socket(&f, &sll);
	addr_from_text(&s, "198.51.100.1");
	addr_from_text(&d, "198.51.100.2");
	send_encoded(&f, -1, NULL, 0, DEMO_IPFIX, 10); /* encode only */
	for (size_t i = 0; i < f.nsent; i++) {
		const uint8_t *tag = i % 2 ? qinq : dot1q;
		size_t tlen = i % 2 ? sizeof(qinq) : sizeof(dot1q);

		len = demo_udp_frame_build(frame, sizeof(frame), &s, 50000, &d, 4739,
					   f.sent[i].data, f.sent[i].len);
		REQUIRE(len > 14);
		/* The tags go between the MAC addresses and the EtherType. */
		memcpy(tagged, frame, 12);
		memcpy(tagged + 12, tag, tlen);
		memcpy(tagged + 12 + tlen, frame + 12, (size_t)len - 12);
		CHECK(sendto(fd, tagged, (size_t)len + tlen, 0, (struct sockaddr *)&sll,
			     sizeof(sll)) == (ssize_t)(len + tlen));
	}
	close(fd);
	CHECK_EQ(receive_and_match(&f, f.nsent, "198.51.100.1"), f.nsent);
	inlet_get_stats(f.in, &st);
	CHECK_EQ(st.xdp_steered, f.nsent);
	CHECK_EQ(st.received, f.nsent);
	CHECK_EQ(st.malformed, 0);
	stop_inlet(&f);
	fixture_fini(&f);
}

/* Frames whose headers lie are counted as malformed and passed on. */
TEST(afxdp_malformed_frames_are_counted)
{
	struct inlet_input_config ic;
	struct inlet_config cfg;
	struct inlet_stats st;
	struct fixture f;
	struct sockaddr_ll sll;
	struct in6_addr s, d;
	uint8_t frame[256], payload[40] = {1, 2, 3};
	int fd, len;

	need_root();
	fixture_init(&f, "ml");
	afxdp_config(&cfg, &ic, &f, INLET_XDP_GENERIC);
	f.in = start_inlet(&f, &cfg);
	REQUIRE(f.in);
	fd = raw_socket(&f, &sll);
	addr_from_text(&s, "192.0.2.1");
	addr_from_text(&d, "192.0.2.2");
	len = demo_udp_frame_build(frame, sizeof(frame), &s, 40000, &d, 2055, payload,
				   sizeof(payload));
	REQUIRE(len > 42);
	/* 1: UDP length beyond the frame (RFC 768 length field at offset 14+20+4). */
	frame[38] = 0x07;
	frame[39] = 0xd0;
	CHECK(sendto(fd, frame, (size_t)len, 0, (struct sockaddr *)&sll, sizeof(sll)) == len);
	/* 2: cut inside the IPv4 header. */
	CHECK(sendto(fd, frame, 14 + 10, 0, (struct sockaddr *)&sll, sizeof(sll)) == 14 + 10);
	/* 3: a good one, for comparison. */
	len = demo_udp_frame_build(frame, sizeof(frame), &s, 40000, &d, 2055, payload,
				   sizeof(payload));
	CHECK(sendto(fd, frame, (size_t)len, 0, (struct sockaddr *)&sll, sizeof(sll)) == len);
	close(fd);
	for (int i = 0; i < 300; i++) {
		inlet_get_stats(f.in, &st);
		if (st.malformed >= 2 && st.received >= 1)
			break;
		usleep(10000);
	}
	CHECK_EQ(st.malformed, 2);
	CHECK_EQ(st.received, 1);
	CHECK_EQ(st.xdp_steered, 1);
	stop_inlet(&f);
	fixture_fini(&f);
}

/* Datagrams the kernel drops before the inlet reads them are counted: the
 * inlet is created but not started, its buffers fill up, then it starts. */
static void kernel_drops(int afxdp, const char *tag)
{
	const uint64_t n = 300;
	struct inlet_input_config ic;
	struct inlet_config cfg;
	struct inlet_stats st;
	struct fixture f;
	struct error err = {""};
	uint8_t payload[100] = {7};
	int fd;

	need_root();
	fixture_init(&f, tag);
	if (afxdp) {
		afxdp_config(&cfg, &ic, &f, INLET_XDP_NATIVE);
		ic.rx_size = 64;
		ic.fill_size = 64;
		ic.frames = 64;
	} else {
		udp_config(&cfg, &ic, ":2055", 1);
		ic.receive_buffer = 4096;
	}
	REQUIRE(bench_netpair_enter(f.np, 1) == 0);
	inlet_new(&cfg, f.prod, f.metrics, &f.in, &err);
	REQUIRE(bench_netpair_leave(f.np) == 0);
	if (!f.in)
		printf("# %s\n", err.text);
	REQUIRE(f.in);
	fd = exporter_socket(&f, "192.0.2.1");
	for (uint64_t i = 0; i < n; i++)
		send_to(fd, "192.0.2.2", 2055, payload, sizeof(payload));
	close(fd);
	usleep(200000);
	REQUIRE(inlet_start(f.in, &err) == 0);
	for (int i = 0; i < 300; i++) {
		inlet_get_stats(f.in, &st);
		if (st.received + st.kernel_drops >= n)
			break;
		usleep(10000);
	}
	printf("# %s: %llu received, %llu dropped by the kernel\n", tag,
	       (unsigned long long)st.received, (unsigned long long)st.kernel_drops);
	CHECK(st.received > 0);
	CHECK(st.kernel_drops > 0);
	CHECK_EQ(st.received + st.kernel_drops, n);
	stop_inlet(&f);
	fixture_fini(&f);
}

TEST(afxdp_kernel_drops_are_counted)
{
	kernel_drops(1, "kx");
}

TEST(udp_kernel_drops_are_counted)
{
	kernel_drops(0, "ku");
}

/* IPv6 extension headers (RFC 8200 4): hop-by-hop and destination options
 * before UDP are walked; a fragment header sends the packet to the kernel. */
TEST(afxdp_ipv6_extension_headers)
{
	struct inlet_input_config ic;
	struct inlet_config cfg;
	struct inlet_stats st;
	struct sockaddr_ll sll;
	struct in6_addr s, d;
	struct fixture f;
	uint8_t frame[1600], ext[1600];
	int fd, len;

	need_root();
	fixture_init(&f, "x6");
	afxdp_config(&cfg, &ic, &f, INLET_XDP_GENERIC);
	f.in = start_inlet(&f, &cfg);
	REQUIRE(f.in);
	fd = raw_socket(&f, &sll);
	addr_from_text(&s, "2001:db8::1");
	addr_from_text(&d, "2001:db8::2");
	send_encoded(&f, -1, NULL, 0, DEMO_NETFLOW_V9, 4); /* encode only */
	for (size_t i = 0; i < f.nsent; i++) {
		/* next header 17 (UDP), length 0 (8 bytes), PadN option of 4 bytes */
		uint8_t hbh[8] = {17, 0, 1, 4, 0, 0, 0, 0};
		uint16_t plen;

		len = demo_udp_frame_build(frame, sizeof(frame), &s, 50000, &d, 2055,
					   f.sent[i].data, f.sent[i].len);
		REQUIRE(len > 54);
		memcpy(ext, frame, 54);
		memcpy(ext + 54, hbh, 8);
		memcpy(ext + 62, frame + 54, (size_t)len - 54);
		if (i % 2) { /* two headers: hop-by-hop, then destination options (60) */
			ext[54] = 60;
			memmove(ext + 70, ext + 62, (size_t)len - 54);
			memcpy(ext + 62, hbh, 8);
			len += 8;
		}
		ext[14 + 6] = 0; /* IPv6 next header: hop-by-hop */
		plen = (uint16_t)(be16_get(ext + 14 + 4) + (i % 2 ? 16 : 8));
		be16_put(ext + 14 + 4, plen); /* IPv6 payload length */
		len += 8;
		CHECK(sendto(fd, ext, (size_t)len, 0, (struct sockaddr *)&sll, sizeof(sll)) == len);
	}
	CHECK_EQ(receive_and_match(&f, f.nsent, "2001:db8::1"), f.nsent);
	/* A fragment header (44): not steered, passed to the kernel. */
	len = demo_udp_frame_build(frame, sizeof(frame), &s, 50000, &d, 2055, f.sent[0].data,
				   f.sent[0].len);
	{
		uint8_t frag[8] = {17, 0, 0, 1, 0, 0, 0, 42}; /* offset 0, M=1 */
		uint16_t plen;

		memcpy(ext, frame, 54);
		memcpy(ext + 54, frag, 8);
		memcpy(ext + 62, frame + 54, (size_t)len - 54);
		ext[14 + 6] = 44;
		plen = (uint16_t)(be16_get(ext + 14 + 4) + 8);
		be16_put(ext + 14 + 4, plen);
		CHECK(sendto(fd, ext, (size_t)len + 8, 0, (struct sockaddr *)&sll, sizeof(sll)) ==
		      len + 8);
	}
	close(fd);
	for (int i = 0; i < 100; i++) {
		inlet_get_stats(f.in, &st);
		if (st.xdp_passed >= 1)
			break;
		usleep(10000);
	}
	CHECK_EQ(st.xdp_steered, f.nsent);
	CHECK_EQ(st.received, f.nsent);
	CHECK(st.xdp_passed >= 1);
	CHECK_EQ(st.malformed, 0);
	stop_inlet(&f);
	fixture_fini(&f);
}

/* nfdump's nfreplay as a real exporter: nfcapd stores what our encoder
 * sends, nfreplay sends it again as NetFlow v9 to the AF_XDP inlet. */
TEST(afxdp_nfreplay_reaches_the_inlet)
{
	char dir[] = "/tmp/weir-inlet-nfXXXXXX", cmd[2048];
	struct inlet_input_config ic;
	struct inlet_config cfg;
	struct inlet_stats st;
	struct fixture f;
	size_t got = 0;
	int fd;

	need_root();
	if (system("command -v nfcapd >/dev/null && command -v nfreplay >/dev/null") != 0)
		SKIP("nfdump (nfcapd, nfreplay) is not installed");
	REQUIRE(mkdtemp(dir));
	fixture_init(&f, "nr");
	snprintf(
	    cmd, sizeof(cmd),
	    "ip netns exec %s nfcapd -b 127.0.0.1 -p 9995 -w %s -t 3600 -P %s/pid "
	    ">%s/nfcapd.log 2>&1 & for i in $(seq 50); do [ -s %s/pid ] && break; sleep 0.1; done",
	    f.np->ns_exp, dir, dir, dir, dir);
	REQUIRE(system(cmd) == 0);
	usleep(300000);
	fd = exporter_socket(&f, "127.0.0.1");
	send_encoded(&f, fd, "127.0.0.1", 9995, DEMO_NETFLOW_V9, 20);
	close(fd);
	usleep(500000);
	/* nfcapd writes its file when it stops. */
	snprintf(cmd, sizeof(cmd),
		 "kill $(cat %s/pid); for i in $(seq 100); do [ -e %s/pid ] || break; sleep 0.1; "
		 "done; ls %s/nfcapd.2* >/dev/null",
		 dir, dir, dir);
	CHECK(system(cmd) == 0);

	afxdp_config(&cfg, &ic, &f, INLET_XDP_NATIVE);
	f.in = start_inlet(&f, &cfg);
	REQUIRE(f.in);
	snprintf(cmd, sizeof(cmd),
		 "ip netns exec %s sh -c 'nfreplay -r %s/nfcapd.2* -H 192.0.2.2 -p 2055 -v 9 "
		 ">%s/nfreplay.log 2>&1'",
		 f.np->ns_exp, dir, dir);
	CHECK(system(cmd) == 0);
	got = drain_netflow_v9(&f, "192.0.2.1", 20);
	inlet_get_stats(f.in, &st);
	printf("# nfreplay datagrams received: %zu\n", got);
	CHECK(got > 0);
	CHECK_EQ(st.received, got);
	if (!got) {
		snprintf(cmd, sizeof(cmd), "sed 's/^/# /' %s/*.log; ls -l %s | sed 's/^/# /'", dir,
			 dir);
		CHECK(system(cmd) == 0);
	}
	stop_inlet(&f);
	fixture_fini(&f);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}
