// SPDX-License-Identifier: AGPL-3.0-or-later
/* A junk flood on the flow port (the fuzz corpus and random bytes, sent as
 * fast as the kernel's XDP traffic generator goes) beside one legitimate
 * exporter at a steady rate: with XDP steering, the allowlist or the rate
 * limit takes the junk off in XDP, counted, and the exporter loses nothing.
 * Needs root; skips otherwise. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bus/bus.h"
#include "common/addr.h"
#include "common/clock.h"
#include "demo/demo.h"
#include "inlet/inlet.h"
#include "test.h"

#define LEGIT	     "192.0.2.1"
#define LEGIT_COUNT  3000u /* datagrams, about 3 s at the pace below */
#define LEGIT_PER_MS 1	   /* 1000 datagrams/s */
#define MAX_JUNK     96
#define JUNK_BATCH   64 /* copies of one junk datagram per generator call */

struct junk {
	uint8_t data[1400];
	uint32_t len;
};

struct flood {
	struct bench_netpair *np;
	struct bus_producer *prod;
	struct bus_consumer *cons;
	struct metrics_registry *metrics;
	struct inlet *in;
	struct in6_addr legit, junk_src;
	/* consumer thread: what reached the bus, by source */
	pthread_t consumer;
	_Atomic uint64_t got_legit, got_junk, got_other, bad_legit;
	_Atomic int stop_consumer;
	/* the flood */
	struct bench_flood flood;
	struct junk *junk;
	struct bench_payload payloads[MAX_JUNK];
	size_t njunk;
	uint64_t junk_sent;
};

static struct bench_netpair *live_pair;

static void cleanup_pair(void)
{
	if (live_pair)
		bench_netpair_fini(live_pair);
}

/* Root and iproute2's `ip netns`, else the test skips. */
static void need_root(void)
{
	if (geteuid() != 0 || system("ip netns list >/dev/null 2>&1") != 0)
		SKIP("needs root and `ip netns` (network namespaces, XDP)");
}

/* The flow decoders' fuzz corpus (what a broken or hostile sender might
 * put on the flow port), then random bytes up to MAX_JUNK datagrams. */
static void load_junk(struct flood *f)
{
	static const char *const dirs[] = {"fuzz_netflow_v5", "fuzz_netflow_v9", "fuzz_ipfix",
					   "fuzz_sflow", "fuzz_l2l4"};
	const char *top = getenv("WEIR_TOP");
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	char path[512];

	f->junk = calloc(MAX_JUNK, sizeof(*f->junk));
	REQUIRE(f->junk);
	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		DIR *dir;
		struct dirent *de;

		snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/%s", top ? top : ".", dirs[d]);
		dir = opendir(path);
		while (dir && (de = readdir(dir)) && f->njunk < MAX_JUNK / 2) {
			struct junk *j = &f->junk[f->njunk];
			FILE *in;
			char file[800];

			if (de->d_name[0] == '.')
				continue;
			snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
			in = fopen(file, "rb");
			if (!in)
				continue;
			j->len = (uint32_t)fread(j->data, 1, sizeof(j->data), in);
			fclose(in);
			if (j->len)
				f->njunk++;
		}
		if (dir)
			closedir(dir);
	}
	printf("# junk: %zu datagrams from the fuzz corpus, %zu random\n", f->njunk,
	       (size_t)MAX_JUNK - f->njunk);
	while (f->njunk < MAX_JUNK) {
		struct junk *j = &f->junk[f->njunk++];

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		j->len = 1 + (uint32_t)(seed >> 33) % sizeof(j->data);
		for (uint32_t i = 0; i < j->len; i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			j->data[i] = (uint8_t)(seed >> 56);
		}
	}
}

static void flood_init(struct flood *f, const char *tag, const char *junk_src)
{
	memset(f, 0, sizeof(*f));
	f->np = calloc(1, sizeof(*f->np));
	REQUIRE(f->np);
	REQUIRE(bench_netpair_init(f->np, tag, NULL) == 0);
	if (!live_pair) /* the first time: a failed REQUIRE leaves no pair behind */
		atexit(cleanup_pair);
	live_pair = f->np;
	REQUIRE_EQ(metrics_registry_new(&f->metrics, NULL), 0);
	/* block_ms 0: the inlet never waits on the ring (nothing here fills it). */
	REQUIRE(bus_ring_new(tag, 16u << 20, 0, f->metrics, &f->prod, &f->cons, NULL) == 0);
	REQUIRE(addr_from_text(&f->legit, LEGIT) == 0);
	REQUIRE(addr_from_text(&f->junk_src, junk_src) == 0);
	load_junk(f);
}

static void flood_fini(struct flood *f)
{
	if (f->in) {
		REQUIRE(bench_netpair_enter(f->np, 1) == 0);
		inlet_free(f->in);
		REQUIRE(bench_netpair_leave(f->np) == 0);
	}
	bench_flood_stop(&f->flood);
	bench_netpair_fini(f->np);
	live_pair = NULL;
	free(f->np);
	bus_producer_free(f->prod);
	bus_consumer_free(f->cons);
	metrics_registry_free(f->metrics);
	free(f->junk);
}

/* Counts what reaches the bus by source; a legitimate datagram must be the
 * NetFlow v9 the exporter sent (version 9 in its header). */
static void *consume(void *arg)
{
	struct flood *f = arg;

	while (!atomic_load(&f->stop_consumer)) {
		struct bus_envelope envs[64];
		int n = bus_consumer_poll(f->cons, envs, 64, 50);

		for (int i = 0; i < n; i++) {
			if (!memcmp(&envs[i].exporter, &f->legit, sizeof(f->legit))) {
				atomic_fetch_add(&f->got_legit, 1);
				if (envs[i].len < 20 || envs[i].data[0] != 0 ||
				    envs[i].data[1] != 9)
					atomic_fetch_add(&f->bad_legit, 1);
			} else if (!memcmp(&envs[i].exporter, &f->junk_src, sizeof(f->junk_src))) {
				atomic_fetch_add(&f->got_junk, 1);
			} else {
				atomic_fetch_add(&f->got_other, 1);
			}
		}
		if (n > 0)
			bus_consumer_release(f->cons, 1);
	}
	return NULL;
}

/* The inlet on the collector's veth through AF_XDP (native XDP). */
static void start_inlet(struct flood *f, const char *const *allow, size_t nallow, uint64_t rate,
			uint64_t burst)
{
	struct inlet_input_config ic = {.type = INLET_INPUT_AFXDP, .mode = INLET_XDP_NATIVE};
	struct inlet_config cfg = {.inputs = {.items = &ic, .count = 1}};
	struct error err = {""};

	ic.interface = f->np->if_col;
	cfg.allowlist.items = (void *)allow;
	cfg.allowlist.count = nallow;
	cfg.rate_limit = rate;
	cfg.rate_burst = burst;
	REQUIRE(bench_netpair_enter(f->np, 1) == 0);
	if (inlet_new(&cfg, f->prod, f->metrics, &f->in, &err) == 0 &&
	    inlet_start(f->in, &err) < 0) {
		inlet_free(f->in);
		f->in = NULL;
	}
	REQUIRE(bench_netpair_leave(f->np) == 0);
	if (!f->in)
		printf("# inlet: %s\n", err.text);
	REQUIRE(f->in);
}

/* Starts the consumer and the flood, sends LEGIT_COUNT valid datagrams at a
 * steady pace, stops the flood and waits (10 s at most) until every
 * legitimate datagram and every junk frame is accounted for. */
static void run_flood(struct flood *f, struct inlet_stats *st)
{
	struct demo_encoder_config ec = {.format = DEMO_NETFLOW_V9,
					 .domain_id = 7,
					 .sampling_rate = 100,
					 .template_refresh = 20};
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(2055)};
	struct sockaddr_in src = {.sin_family = AF_INET};
	struct demo_encoder *enc;
	struct flow flows[24];
	uint8_t buf[1500];
	uint64_t seed = 7, junk_before = 0;
	struct error err = {""};
	double t0, t_legit;
	int fd, r;

	for (size_t i = 0; i < f->njunk; i++)
		f->payloads[i] = (struct bench_payload){f->junk[i].data, f->junk[i].len};
	REQUIRE(pthread_create(&f->consumer, NULL, consume, f) == 0);
	if (bench_flood_start(&f->flood, f->np, &f->junk_src, 2055, f->payloads, f->njunk, &err) <
	    0)
		printf("# %s\n", err.text);
	REQUIRE(f->flood.running);
	/* The flood is on before the first legitimate datagram. */
	for (int i = 0; i < 200 && bench_flood_sent(&f->flood) < 100000; i++)
		clock_sleep_ms(5);
	junk_before = bench_flood_sent(&f->flood);

	/* The exporter's socket reports a frame the veth could not queue (its
	 * ring full of junk: loss on the wire, before weir) as ENOBUFS with
	 * IP_RECVERR, and it is sent again: what is lost after is weir's. */
	REQUIRE(bench_netpair_enter(f->np, 0) == 0);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	REQUIRE(bench_netpair_leave(f->np) == 0);
	REQUIRE(fd >= 0);
	REQUIRE(setsockopt(fd, SOL_IP, IP_RECVERR, &(int){1}, sizeof(int)) == 0);
	src.sin_addr.s_addr = htonl(0xc0000201u); /* 192.0.2.1 */
	dst.sin_addr.s_addr = htonl(0xc0000202u); /* 192.0.2.2 */
	REQUIRE(bind(fd, (struct sockaddr *)&src, sizeof(src)) == 0);
	addr_from_text(&ec.agent, LEGIT);
	REQUIRE_EQ(demo_encoder_new(&ec, &enc, NULL), 0);
	t0 = clock_mono_s();
	for (unsigned i = 0; i < LEGIT_COUNT; i++) {
		size_t len = 0;

		demo_flows_random(flows, 24, DEMO_NETFLOW_V9, 1700000000, &seed);
		REQUIRE(demo_encoder_encode(enc, flows, 24, buf, sizeof(buf), &len) >= 0);
		REQUIRE(len > 0);
		do
			r = (int)sendto(fd, buf, len, 0, (struct sockaddr *)&dst, sizeof(dst));
		while (r < 0 && (errno == ENOBUFS || errno == EAGAIN));
		REQUIRE(r == (int)len);
		if (i % LEGIT_PER_MS == LEGIT_PER_MS - 1)
			clock_sleep_ms(1);
	}
	t_legit = clock_mono_s() - t0;
	demo_encoder_free(enc);
	close(fd);
	REQUIRE_EQ(bench_flood_stop(&f->flood), 0);
	f->junk_sent = bench_flood_sent(&f->flood);
	printf("# legitimate: %u datagrams in %.1f s; junk: %llu frames, %.0f/s while they went\n",
	       LEGIT_COUNT, t_legit, (unsigned long long)f->junk_sent,
	       (double)(f->junk_sent - junk_before) / (t_legit > 0 ? t_legit : 1));
	/* Accounted: the XDP program saw every junk frame the veth took. */
	for (int i = 0; i < 1000; i++) {
		inlet_get_stats(f->in, st);
		if (atomic_load(&f->got_legit) >= LEGIT_COUNT &&
		    st->dropped_not_allowed + st->dropped_rate + atomic_load(&f->got_junk) +
			    bench_netpair_rx_dropped(f->np) >=
			f->junk_sent)
			break;
		clock_sleep_ms(10);
	}
	clock_sleep_ms(100); /* nothing more arrives */
	atomic_store(&f->stop_consumer, 1);
	pthread_join(f->consumer, NULL);
	inlet_get_stats(f->in, st);
}

/* After run_flood(): the exporters' XDP counters, the veth's drops and one
 * line of figures. */
static uint64_t report(struct flood *f, const struct inlet_stats *st,
		       struct inlet_exporter_stats *le, struct inlet_exporter_stats *je)
{
	uint64_t veth_drops = bench_netpair_rx_dropped(f->np);

	memset(le, 0, sizeof(*le));
	memset(je, 0, sizeof(*je));
	CHECK(inlet_get_exporter_stats(f->in, &f->legit, le) == 0);
	CHECK(inlet_get_exporter_stats(f->in, &f->junk_src, je) == 0);
	printf("# bus: %llu legitimate (%u sent), %llu junk, %llu other; junk in xdp: "
	       "steered %llu, not allowed %llu, over the rate %llu; veth drops %llu; kernel "
	       "drops %llu\n",
	       (unsigned long long)f->got_legit, LEGIT_COUNT, (unsigned long long)f->got_junk,
	       (unsigned long long)f->got_other, (unsigned long long)je->steered,
	       (unsigned long long)je->dropped_not_allowed, (unsigned long long)je->dropped_rate,
	       (unsigned long long)veth_drops, (unsigned long long)st->kernel_drops);
	return veth_drops;
}

/* The junk comes from an address outside the allowlist: XDP drops all of
 * it, counted under that address, and none reaches user space. */
TEST(junk_flood_outside_the_allowlist_is_dropped_in_xdp)
{
	static const char *const allow[] = {LEGIT "/32"};
	struct inlet_exporter_stats le, je;
	struct inlet_stats st;
	struct flood f;
	uint64_t veth_drops;

	need_root();
	flood_init(&f, "jn", "192.0.2.12");
	start_inlet(&f, allow, 1, 0, 0);
	run_flood(&f, &st);
	veth_drops = report(&f, &st, &le, &je);
	/* The legitimate exporter lost nothing. */
	CHECK_EQ(f.got_legit, LEGIT_COUNT);
	CHECK_EQ(f.bad_legit, 0);
	CHECK_EQ(le.steered, LEGIT_COUNT);
	CHECK_EQ(le.dropped_not_allowed + le.dropped_rate, 0);
	CHECK_EQ(st.received, LEGIT_COUNT);
	CHECK_EQ(st.kernel_drops, 0);
	/* The junk: all of it dropped in XDP as not allowed, under its source. */
	CHECK_EQ(f.got_junk, 0);
	CHECK_EQ(f.got_other, 0);
	CHECK_EQ(je.steered, 0);
	CHECK(je.dropped_not_allowed > LEGIT_COUNT); /* it was a flood */
	CHECK_EQ(je.dropped_not_allowed, st.dropped_not_allowed);
	CHECK_EQ(st.dropped_rate, 0);
	CHECK_EQ(je.dropped_not_allowed + veth_drops, f.junk_sent);
	flood_fini(&f);
}

/* The junk comes from an allowed address, far over the per-exporter rate
 * limit: its excess is dropped in XDP as over the rate, under its address;
 * the legitimate exporter, within its own rate, loses nothing. */
TEST(junk_flood_over_the_rate_limit_is_cut_in_xdp)
{
	static const char *const allow[] = {"192.0.2.0/24"};
	const uint64_t rate = 2000, burst = 2000; /* the legitimate exporter sends 1000/s */
	struct inlet_exporter_stats le, je;
	struct inlet_stats st;
	struct flood f;
	uint64_t veth_drops;

	need_root();
	flood_init(&f, "jr", "192.0.2.11");
	start_inlet(&f, allow, 1, rate, burst);
	run_flood(&f, &st);
	veth_drops = report(&f, &st, &le, &je);
	CHECK_EQ(f.got_legit, LEGIT_COUNT);
	CHECK_EQ(f.bad_legit, 0);
	CHECK_EQ(le.steered, LEGIT_COUNT);
	CHECK_EQ(le.dropped_not_allowed + le.dropped_rate, 0);
	CHECK_EQ(st.kernel_drops, 0);
	/* What passed of the junk is what its bucket allowed, and it all
	 * reached the bus; the rest is counted as over the rate. */
	CHECK_EQ(f.got_junk, je.steered);
	CHECK_EQ(f.got_other, 0);
	CHECK_EQ(st.received, LEGIT_COUNT + je.steered);
	CHECK(je.steered >= burst);
	CHECK(je.dropped_rate > je.steered); /* most of the flood was over the rate */
	CHECK_EQ(je.dropped_rate, st.dropped_rate);
	CHECK_EQ(st.dropped_not_allowed, 0);
	CHECK_EQ(je.steered + je.dropped_rate + veth_drops, f.junk_sent);
	flood_fini(&f);
}
