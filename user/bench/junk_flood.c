// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir bench junk-flood`: one legitimate exporter at a steady rate while a
 * source outside the allowlist floods the flow port with junk as fast as the
 * kernel's XDP traffic generator sends it; with XDP steering (the allowlist
 * checked in XDP) and with a plain UDP socket (checked in user space). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "common/addr.h"
#include "common/cli_opts.h"
#include "common/clock.h"
#include "demo/demo.h"
#include "inlet/inlet.h"

#define JF_LEGIT     "192.0.2.1"
#define JF_JUNK	     "192.0.2.12" /* on the pair's subnet, outside the allowlist */
#define JF_NLEGIT    32		  /* distinct legitimate datagrams, sent in turn */
#define JF_NJUNK     64		  /* distinct junk datagrams */
#define JF_JUNK_COPY 64		  /* copies of one junk datagram per generator call */

/* A bus that counts by source and forgets: the bench measures what the
 * inlet keeps, not a bus. */
struct jf_bus {
	struct bus_producer p;
	struct in6_addr legit;
	_Atomic uint64_t legit_n, other_n;
};

static int jf_bus_send(struct bus_producer *p, const struct bus_envelope *env)
{
	struct jf_bus *b = (struct jf_bus *)p;

	if (!memcmp(&env->exporter, &b->legit, sizeof(b->legit)))
		atomic_fetch_add_explicit(&b->legit_n, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&b->other_n, 1, memory_order_relaxed);
	return 0;
}

static int jf_bus_flush(struct bus_producer *p, int ms)
{
	(void)p;
	(void)ms;
	return 0;
}

static void jf_bus_free(struct bus_producer *p)
{
	(void)p;
}

static const struct bus_producer_ops jf_bus_ops = {jf_bus_send, jf_bus_flush, jf_bus_free};

struct jf_payload {
	uint8_t data[1400];
	size_t len;
};

struct jf {
	struct bench_netpair np;
	struct jf_bus bus;
	struct in6_addr junk_src;
	struct jf_payload legit[JF_NLEGIT], junk[JF_NJUNK];
	struct bench_payload junk_payloads[JF_NJUNK];
	uint64_t legit_count, legit_rate;
};

struct jf_result {
	const char *name;
	uint64_t legit_sent, legit_kept, junk_sent, junk_in_user_space;
	uint64_t not_allowed, kernel_drops, veth_drops;
	double seconds;
};

static uint64_t jf_rand(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 33;
}

/* Legitimate NetFlow v9 datagrams (templates first), and junk: half random
 * bytes, half such datagrams with a few bytes overwritten, as a fuzzer
 * makes them. */
static int make_payloads(struct jf *b)
{
	struct demo_encoder_config ec = {
	    .format = DEMO_NETFLOW_V9, .domain_id = 7, .sampling_rate = 100, .template_refresh = 8};
	struct demo_encoder *enc;
	struct flow flows[24];
	uint64_t seed = 11;
	int r;

	addr_from_text(&ec.agent, JF_LEGIT);
	r = demo_encoder_new(&ec, &enc, NULL);
	if (r < 0)
		return r;
	for (size_t i = 0; i < JF_NLEGIT && r >= 0; i++) {
		demo_flows_random(flows, 24, DEMO_NETFLOW_V9, 1700000000, &seed);
		r = demo_encoder_encode(enc, flows, 24, b->legit[i].data, sizeof(b->legit[i].data),
					&b->legit[i].len);
		if (r >= 0 && !b->legit[i].len)
			r = -EMSGSIZE;
	}
	demo_encoder_free(enc);
	if (r < 0)
		return r;
	for (size_t i = 0; i < JF_NJUNK; i++) {
		struct jf_payload *j = &b->junk[i];

		if (i % 2) {
			*j = b->legit[i % JF_NLEGIT];
			for (int k = 0; k < 8; k++)
				j->data[jf_rand(&seed) % j->len] = (uint8_t)jf_rand(&seed);
		} else {
			j->len = 1 + jf_rand(&seed) % sizeof(j->data);
			for (size_t k = 0; k < j->len; k++)
				j->data[k] = (uint8_t)jf_rand(&seed);
		}
		b->junk_payloads[i] = (struct bench_payload){j->data, (uint32_t)j->len};
	}
	return 0;
}

/* Legitimate datagrams from a UDP socket, paced by the clock. */
static int jf_send_legit(struct jf *b, uint64_t *sent)
{
	struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
	double t0;
	int fd, r = 0, on = 1;

	if (bench_netpair_enter(&b->np, 0) < 0)
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bench_netpair_leave(&b->np);
	if (fd < 0)
		return -errno;
	inet_pton(AF_INET, JF_LEGIT, &src.sin_addr);
	inet_pton(AF_INET, "192.0.2.2", &dst.sin_addr);
	dst.sin_port = htons(2055);
	/* A frame the veth could not queue (its ring full of junk: loss on the
	 * wire) comes back as ENOBUFS and is sent again: "lost" is weir's. */
	if (setsockopt(fd, SOL_IP, IP_RECVERR, &on, sizeof(on)) < 0 ||
	    bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		r = -errno;
		goto out;
	}
	t0 = clock_mono_s();
	for (*sent = 0; *sent < b->legit_count;) {
		const struct jf_payload *p = &b->legit[*sent % JF_NLEGIT];
		double ahead = t0 + (double)*sent / (double)b->legit_rate - clock_mono_s();

		if (ahead > 0.0005)
			clock_sleep_ms((unsigned)(ahead * 1000));
		if (send(fd, p->data, p->len, 0) == (ssize_t)p->len)
			++*sent;
		else if (errno != ENOBUFS && errno != EAGAIN) {
			r = -errno;
			goto out;
		}
	}
out:
	close(fd);
	return r;
}

static int jf_measure(struct jf *b, int afxdp, struct jf_result *res)
{
	static const char *const allow[] = {JF_LEGIT "/32"};
	struct inlet_input_config ic = {.type = afxdp ? INLET_INPUT_AFXDP : INLET_INPUT_UDP,
					.mode = INLET_XDP_NATIVE,
					.listen = ":2055",
					.workers = 1};
	struct inlet_config cfg = {.inputs = {.items = &ic, .count = 1},
				   .allowlist = {.items = (void *)allow, .count = 1}};
	struct error err = {""};
	struct inlet_stats st0, st1;
	struct bench_flood flood;
	struct inlet *in = NULL;
	uint64_t legit0, other0, veth0, last;
	double t0, tl;
	int r;

	ic.interface = b->np.if_col;
	if (bench_netpair_enter(&b->np, 1) < 0)
		return -errno;
	r = inlet_new(&cfg, &b->bus.p, NULL, &in, &err);
	if (r == 0 && (r = inlet_start(in, &err)) < 0) {
		inlet_free(in);
		in = NULL;
	}
	bench_netpair_leave(&b->np);
	if (r < 0) {
		fprintf(stderr, "weir bench junk-flood: %s: %s\n", res->name, err.text);
		return r;
	}
	inlet_get_stats(in, &st0);
	legit0 = atomic_load(&b->bus.legit_n);
	other0 = atomic_load(&b->bus.other_n);
	veth0 = bench_netpair_rx_dropped(&b->np);
	r = bench_flood_start(&flood, &b->np, &b->junk_src, 2055, b->junk_payloads, JF_NJUNK, &err);
	if (r < 0) {
		fprintf(stderr, "weir bench junk-flood: %s: %s\n", res->name, err.text);
		goto out;
	}
	t0 = clock_mono_s();
	clock_sleep_ms(200); /* the flood is on before the first legitimate datagram */
	r = jf_send_legit(b, &res->legit_sent);
	if (bench_flood_stop(&flood) < 0 && r == 0)
		r = atomic_load(&flood.error);
	res->seconds = clock_mono_s() - t0;
	res->junk_sent = bench_flood_sent(&flood);
	if (r < 0) {
		fprintf(stderr, "weir bench junk-flood: %s: sender: %s\n", res->name, strerror(-r));
		goto out;
	}
	/* Settle: until nothing arrived for 200 ms. */
	last = atomic_load(&b->bus.legit_n);
	tl = clock_mono_s();
	while (clock_mono_s() - tl < 0.2) {
		clock_sleep_ms(5);
		if (atomic_load(&b->bus.legit_n) != last) {
			last = atomic_load(&b->bus.legit_n);
			tl = clock_mono_s();
		}
	}
	inlet_get_stats(in, &st1);
	res->legit_kept = last - legit0;
	/* Through AF_XDP the allowlist is checked in XDP: what user space saw
	 * of the junk is what reached the bus. Through UDP every junk datagram
	 * is read, then dropped by the receive thread. */
	res->junk_in_user_space = atomic_load(&b->bus.other_n) - other0;
	if (!afxdp)
		res->junk_in_user_space += st1.dropped_not_allowed - st0.dropped_not_allowed;
	res->not_allowed = st1.dropped_not_allowed - st0.dropped_not_allowed;
	res->kernel_drops = st1.kernel_drops - st0.kernel_drops;
	res->veth_drops = bench_netpair_rx_dropped(&b->np) - veth0;
out:
	if (bench_netpair_enter(&b->np, 1) == 0) {
		inlet_free(in);
		bench_netpair_leave(&b->np);
	}
	return r;
}

static void jf_print(const struct jf_result *r)
{
	double lost = r->legit_sent
			  ? 100.0 * (double)(r->legit_sent - r->legit_kept) / (double)r->legit_sent
			  : 0;

	printf("junk-flood %-6s legitimate sent %llu kept %llu (lost %.2f%%)  junk offered "
	       "%.2f M/s (%llu frames)  not allowed %llu (in %s), junk reaching user space %llu  "
	       "kernel drops %llu  veth drops %llu\n",
	       r->name, (unsigned long long)r->legit_sent, (unsigned long long)r->legit_kept, lost,
	       r->seconds > 0 ? (double)r->junk_sent / r->seconds / 1e6 : 0,
	       (unsigned long long)r->junk_sent, (unsigned long long)r->not_allowed,
	       strcmp(r->name, "udp") ? "XDP" : "user space",
	       (unsigned long long)r->junk_in_user_space, (unsigned long long)r->kernel_drops,
	       (unsigned long long)r->veth_drops);
}

static void usage(FILE *out, const void *ctx)
{
	(void)ctx;
	fprintf(out,
		"usage: weir bench junk-flood [--count N] [--rate PER_S] [--mode both|afxdp|udp]\n"
		"On a veth pair between two network namespaces it creates (root), one "
		"legitimate\n"
		"exporter (" JF_LEGIT ") sends N NetFlow v9 datagrams (default 20000) at PER_S "
		"(default\n"
		"5000/s) while " JF_JUNK ", outside the allowlist, floods port 2055 with junk "
		"(random\n"
		"bytes, mangled datagrams) as fast as the kernel's XDP traffic generator sends. "
		"The\n"
		"inlet receives through AF_XDP with the allowlist in XDP, then through one UDP\n"
		"socket with the allowlist checked in user space. Prints, for each: legitimate\n"
		"datagrams sent and kept, the junk rate offered, the junk dropped as not allowed\n"
		"and how much of it reached user space, kernel and veth drops. Target: the\n"
		"legitimate exporter loses nothing with XDP.\n");
}

int bench_junk_flood_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"count", required_argument, NULL, 'n'},
	    {"rate", required_argument, NULL, 'r'},
	    {"mode", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct jf_result res[2] = {{.name = "afxdp"}, {.name = "udp"}};
	const char *mode = "both";
	struct cli_opts cli;
	struct jf *b;
	int c, r, ret = 1;

	b = calloc(1, sizeof(*b));
	if (!b)
		return 1;
	b->legit_count = 20000;
	b->legit_rate = 5000;
	cli_opts_init(&cli, argc, argv, "n:r:m:h", opts, usage, NULL);
	while ((c = cli_opts_next(&cli)) >= 0) {
		switch (c) {
		case 'n':
			b->legit_count = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			b->legit_rate = strtoull(optarg, NULL, 10);
			break;
		case 'm':
			mode = optarg;
			break;
		}
	}
	if (c == CLI_OPTS_EXIT) {
		ret = cli.status;
		goto out_free;
	}
	if (!b->legit_count || !b->legit_rate || b->legit_rate > 1000000 ||
	    (strcmp(mode, "both") && strcmp(mode, "afxdp") && strcmp(mode, "udp"))) {
		fprintf(stderr, "weir bench junk-flood: --count >= 1, --rate 1..1000000, --mode "
				"both|afxdp|udp\n");
		ret = 2;
		goto out_free;
	}
	if (geteuid() != 0) {
		printf("junk-flood skipped: needs root (network namespaces, XDP)\n");
		ret = 0;
		goto out_free;
	}
	b->bus.p.ops = &jf_bus_ops;
	addr_from_text(&b->bus.legit, JF_LEGIT);
	addr_from_text(&b->junk_src, JF_JUNK);
	r = make_payloads(b);
	if (r < 0) {
		fprintf(stderr, "weir bench junk-flood: demo encoder: %s\n", strerror(-r));
		goto out_free;
	}
	if (bench_netpair_init(&b->np, "jf", NULL) < 0) {
		fprintf(stderr, "weir bench junk-flood: cannot create the namespaces and veth "
				"pair\n");
		goto out_free;
	}
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "ip netns exec %s ethtool -K %s gro on >/dev/null 2>&1",
			 b->np.ns_col, b->np.if_col);
		if (system(cmd) != 0)
			fprintf(stderr,
				"weir bench junk-flood: GRO on %s failed: the UDP mode may "
				"see no junk\n",
				b->np.if_col);
	}
	for (int i = 0; i < 2; i++) {
		if (strcmp(mode, "both") && strcmp(mode, res[i].name))
			continue;
		if (jf_measure(b, i == 0, &res[i]) < 0)
			goto out;
		jf_print(&res[i]);
		fflush(stdout);
	}
	ret = 0;
out:
	bench_netpair_fini(&b->np);
out_free:
	free(b);
	return ret;
}
