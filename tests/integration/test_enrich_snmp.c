// SPDX-License-Identifier: AGPL-3.0-or-later
/* The SNMP metadata provider against a real snmpd started in a network
 * namespace of its own (a veth to ours; the agent's addresses are its own):
 * v2c (a wrong community first, then the right one) and a v3 user (SHA, AES);
 * ifAlias and ifHighSpeed set with `override` lines; sysName, ifName,
 * descriptions and speeds come back; an agent that never answers (an address
 * routed to the namespace that drops it) delays no other exporter, and its
 * breaker opens; a restart reuses the cache file without asking again; more
 * agents than select()'s 1024 descriptors are polled at once. Needs root (ip
 * netns); skipped otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/addr.h"
#include "enrich/enrich.h"
#include "test.h"

static char dir[64];
static pid_t snmpd = -1;
static char ns[32], veth_host[16], veth_ns[16];
static char link_net[32]; /* 10.250.N: ours .1, the agent .2 */
static char many_net[32]; /* 100.M: .0.0/17 answered by the agent, the rest dropped */
static int ns_up;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void ns_down(void)
{
	if (snmpd > 0) {
		kill(snmpd, SIGTERM);
		waitpid(snmpd, NULL, 0);
		snmpd = -1;
	}
	if (ns_up) /* the veth and our routes through it go with the namespace */
		test_sh("ip netns del %s 2>/dev/null", ns);
	ns_up = 0;
}

/* The namespace: a veth, the agent's address, 100.M.0.0/17 local to it (any
 * address there is the agent: "AnyIP"), 100.M.128.0/17 routed to it but not
 * local and not forwarded: dropped without an answer. */
static int ns_setup(void)
{
	unsigned id = (unsigned)getpid();
	snprintf(ns, sizeof(ns), "weir-snmp-%u", id);
	snprintf(veth_host, sizeof(veth_host), "wsn%ua", id % 100000);
	snprintf(veth_ns, sizeof(veth_ns), "wsn%ub", id % 100000);
	snprintf(link_net, sizeof(link_net), "10.250.%u", id % 250);
	snprintf(many_net, sizeof(many_net), "100.%u", 64 + id % 60);
	if (test_sh("ip netns add %s 2>/dev/null", ns) != 0)
		return -1;
	ns_up = 1;
	if (test_sh("ip link add %s type veth peer name %s netns %s && "
		    "ip addr add %s.1/24 dev %s && ip link set %s up && "
		    "ip netns exec %s sh -c 'ip link set lo up && ip addr add %s.2/24 dev %s && "
		    "ip link set %s up && ip route add local %s.0.0/17 dev lo && "
		    "sysctl -qw net.ipv4.ip_forward=0' && "
		    "ip route add %s.0.0/16 via %s.2",
		    veth_host, veth_ns, ns, link_net, veth_host, veth_host, ns, link_net, veth_ns,
		    veth_ns, many_net, many_net, link_net) != 0)
		return -1;
	return 0;
}

static int start_snmpd(void)
{
	char conf[256], persist[256];
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/snmpd.conf", dir);
	snprintf(persist, sizeof(persist), "%s/persist", dir);
	f = fopen(conf, "w");
	if (!f)
		return -1;
	/* ifIndex 1 is lo, 2 the namespace's end of the veth (a new namespace
	 * numbers them so). */
	fprintf(f, "agentAddress udp:161\n"
		   "[snmp] serverRecvBuf 4194304\n" /* 1500 requests at once */
		   "rocommunity public\n"
		   "createUser weiruser SHA \"authpass123\" AES \"privpass123\"\n"
		   "rouser weiruser priv\n"
		   "sysName test-agent\n"
		   "override 1.3.6.1.2.1.31.1.1.1.18.1 octet_str \"Transit: Cogent 1-2345\"\n"
		   "override 1.3.6.1.2.1.31.1.1.1.15.1 uinteger 10000\n"
		   "override 1.3.6.1.2.1.31.1.1.1.18.2 octet_str \"PNI: Google\"\n"
		   "override 1.3.6.1.2.1.31.1.1.1.15.2 uinteger 400000\n");
	fclose(f);
	snmpd = fork();
	if (snmpd == 0) {
		char log[256];
		snprintf(log, sizeof(log), "%s/snmpd.log", dir);
		setenv("MIBS", "", 1);
		setenv("SNMP_PERSISTENT_DIR", persist, 1);
		freopen(log, "w", stdout);
		freopen(log, "a", stderr);
		execlp("ip", "ip", "netns", "exec", ns, "snmpd", "-f", "-Lo", "-C", "-c", conf,
		       (char *)NULL);
		_exit(127);
	}
	/* Ready when it answers. */
	for (int i = 0; i < 50; i++) {
		if (test_sh("MIBS= snmpget -v2c -c public -t 0.2 -r 0 %s.2 1.3.6.1.2.1.1.5.0 "
			    ">/dev/null 2>&1",
			    link_net) == 0)
			return 0;
		usleep(100000);
	}
	return -1;
}

struct setup {
	struct config_doc *doc;
	struct enrich *e;
	struct enrich_worker *w;
};

static void setup(struct setup *s, const char *yaml)
{
	struct config_error ce;
	struct enrich_config cfg;
	struct error err = {{0}};

	memset(s, 0, sizeof(*s));
	s->doc = config_doc_load_string("test.yaml", yaml, &ce);
	REQUIRE(s->doc);
	REQUIRE(enrich_config_defaults(&cfg) == 0);
	if (config_bind(s->doc->root, enrich_config_fields, &cfg, "", "test.yaml", &ce) < 0) {
		test_fail_at(__FILE__, __LINE__, "%s", ce.text);
		test_stop();
	}
	if (enrich_new(&cfg, NULL, &s->e, &err) < 0) {
		test_fail_at(__FILE__, __LINE__, "%s", err.text);
		test_stop();
	}
	enrich_config_free(&cfg);
	REQUIRE(enrich_start(s->e, &err) == 0);
	REQUIRE(enrich_worker_new(s->e, &s->w, &err) == 0);
}

static void teardown(struct setup *s)
{
	enrich_worker_free(s->w);
	enrich_free(s->e);
	config_doc_free(s->doc);
}

static struct flow mkflow(const char *exporter, uint32_t in_if)
{
	struct flow f;
	memset(&f, 0, sizeof(f));
	addr_from_text(&f.exporter_address, exporter);
	addr_from_text(&f.src_addr, "203.0.113.1");
	addr_from_text(&f.dst_addr, "198.51.100.1");
	f.in_if = in_if;
	f.sampling_rate = 1;
	return f;
}

/* Enriches a flow of `exporter` until its interface has a name; returns the
 * milliseconds it took, or -1 after timeout_ms. */
static long wait_named(struct setup *s, const char *exporter, uint32_t ifindex, struct flow *out,
		       uint64_t timeout_ms)
{
	uint64_t start = now_ms();
	while (now_ms() - start < timeout_ms) {
		*out = mkflow(exporter, ifindex);
		enrich_flow(s->w, out);
		if (out->enriched.in_if.name)
			return (long)(now_ms() - start);
		usleep(5000);
	}
	return -1;
}

static const char *S(struct setup *s, uint32_t id)
{
	return strtab_get(enrich_strings(s->e), id, NULL);
}

static int count_fds(void)
{
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "ls /proc/%d/fd | wc -l", (int)getpid());
	FILE *f = popen(cmd, "r");
	int n = -1;
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		pclose(f);
	}
	return n;
}

static int prepare(void)
{
	if (system("command -v snmpd >/dev/null 2>&1") != 0)
		SKIP("snmpd not installed");
	if (geteuid() != 0)
		SKIP("needs root (ip netns)");
	snprintf(dir, sizeof(dir), "/tmp/weir-snmp-XXXXXX");
	REQUIRE(mkdtemp(dir));
	if (ns_setup() < 0) {
		ns_down();
		SKIP("ip netns/veth not available");
	}
	REQUIRE(start_snmpd() == 0);
	return 0;
}

static void finish(void)
{
	ns_down();
	test_sh("rm -rf '%s'", dir);
}

TEST(snmp_v2c_v3_and_a_silent_agent)
{
	char yaml[2048], cache[128], v2c[32], silent[32];
	struct setup s;
	struct flow f;

	prepare();
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	snprintf(v2c, sizeof(v2c), "%s.2", link_net);
	snprintf(silent, sizeof(silent), "%s.200.1", many_net);

	/* The agent: v2c, a wrong community first. 198.51.100.3: the same agent
	 * (agents:) as a v3 user. The silent one: routed to the namespace,
	 * dropped there. */
	snprintf(yaml, sizeof(yaml),
		 "metadata:\n"
		 "  cache-persist-file: %s\n"
		 "  providers:\n"
		 "    - type: snmp\n"
		 "      poller-timeout: 1s\n"
		 "      poller-retries: 0\n"
		 "      agents:\n"
		 "        198.51.100.3: %s\n"
		 "      ports:\n"
		 "        0.0.0.0/0: 161\n"
		 "      credentials:\n"
		 "        %s/32:\n"
		 "          communities: [wrong, public]\n"
		 "        198.51.100.3/32:\n"
		 "          user-name: weiruser\n"
		 "          authentication-protocol: SHA\n"
		 "          authentication-passphrase: authpass123\n"
		 "          privacy-protocol: AES\n"
		 "          privacy-passphrase: privpass123\n"
		 "        %s/32:\n"
		 "          communities: public\n",
		 cache, v2c, v2c, silent);
	setup(&s, yaml);

	/* The silent agent is asked first; the others must not wait for it. */
	struct flow first = mkflow(silent, 1);
	enrich_flow(s.w, &first);
	CHECK_EQ(first.enriched.in_if.name, 0); /* kept, unknown, counted */
	long t_v2c = wait_named(&s, v2c, 1, &f, 8000);
	CHECK(t_v2c >= 0);
	CHECK_STR(S(&s, f.enriched.exporter.name), "test-agent");
	CHECK_STR(S(&s, f.enriched.in_if.name), "lo");
	CHECK_STR(S(&s, f.enriched.in_if.description), "Transit: Cogent 1-2345"); /* ifAlias */
	CHECK_EQ(f.enriched.in_if.speed, 10000);
	/* one timeout for the wrong community, then the answer */
	CHECK(t_v2c < 2500);

	long t_v3 = wait_named(&s, "198.51.100.3", 1, &f, 5000);
	CHECK(t_v3 >= 0);
	CHECK(t_v3 < 1000); /* not behind the silent agent's timeout */
	CHECK_STR(S(&s, f.enriched.exporter.name), "test-agent");
	CHECK_STR(S(&s, f.enriched.in_if.name), "lo");
	CHECK_EQ(f.enriched.in_if.speed, 10000);

	/* ifIndex 2, the agent's end of the veth: its name is the namespace's. */
	CHECK(wait_named(&s, "198.51.100.3", 2, &f, 3000) >= 0);
	CHECK_STR(S(&s, f.enriched.in_if.name), veth_ns);
	CHECK_STR(S(&s, f.enriched.in_if.description), "PNI: Google");
	CHECK_EQ(f.enriched.in_if.speed, 400000);

	/* The silent agent: no answer, kept unknown; after three failures its
	 * breaker opens and further lookups fail at once. */
	struct enrich_stats st;
	REQUIRE(enrich_wait_idle(s.e, 5000) == 0);
	for (uint32_t i = 2; i <= 3; i++) {
		struct flow g = mkflow(silent, i);
		enrich_flow(s.w, &g);
		REQUIRE(enrich_wait_idle(s.e, 5000) == 0);
	}
	struct flow g = mkflow(silent, 9);
	uint64_t t0 = now_ms();
	enrich_flow(s.w, &g);
	REQUIRE(enrich_wait_idle(s.e, 5000) == 0);
	CHECK(now_ms() - t0 < 500);
	enrich_get_stats(s.e, &st);
	CHECK(st.snmp_timeouts >= 4); /* wrong community + three silent ones */
	CHECK(st.snmp_breaker_open >= 1);
	CHECK(st.snmp_requests >= 5);
	CHECK(st.metadata_misses >= 4);
	CHECK(st.unknown_kept >= 4);
	g = mkflow(silent, 1);
	enrich_flow(s.w, &g);
	CHECK_EQ(g.enriched.in_if.name, 0);
	teardown(&s); /* writes the cache file */

	/* Restart with the agent gone: names come from the cache file, and no
	 * request is sent for what it holds. */
	ns_down();
	setup(&s, yaml);
	f = mkflow("198.51.100.3", 1);
	enrich_flow(s.w, &f);
	CHECK_STR(S(&s, f.enriched.in_if.name), "lo");
	CHECK_STR(S(&s, f.enriched.exporter.name), "test-agent");
	CHECK_EQ(f.enriched.in_if.speed, 10000);
	f = mkflow("198.51.100.3", 2);
	enrich_flow(s.w, &f);
	CHECK_STR(S(&s, f.enriched.in_if.name), veth_ns);
	f = mkflow(v2c, 1);
	enrich_flow(s.w, &f);
	CHECK_STR(S(&s, f.enriched.in_if.description), "Transit: Cogent 1-2345");
	REQUIRE(enrich_wait_idle(s.e, 5000) == 0);
	enrich_get_stats(s.e, &st);
	CHECK_EQ(st.snmp_requests, 0);
	CHECK_EQ(st.metadata_misses, 0);
	teardown(&s);
	finish();
}

/* More agents than select() can watch: 1500 sessions, each with its socket,
 * so descriptors pass 1024 while the requests are in flight. */
#define MANY 1500

TEST(snmp_more_agents_than_fd_setsize)
{
	char yaml[512], ip[32];
	struct setup s;
	struct rlimit rl;
	static uint8_t named[MANY];

	prepare();
	/* The poller raises the soft limit to the hard one itself; make sure the
	 * hard one allows the test. */
	REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	if (rl.rlim_max < MANY + 256)
		SKIP("RLIMIT_NOFILE hard limit below 1756");
	snprintf(yaml, sizeof(yaml),
		 "metadata:\n"
		 "  providers:\n"
		 "    - type: snmp\n"
		 "      poller-timeout: 3s\n"
		 "      poller-retries: 3\n"
		 "      credentials:\n"
		 "        %s.0.0/16: public\n",
		 many_net);
	setup(&s, yaml);
	size_t left = MANY;
	int max_fds = 0;
	uint64_t start = now_ms();
	while (left && now_ms() - start < 30000) {
		for (unsigned i = 0; i < MANY; i++) {
			if (named[i])
				continue;
			snprintf(ip, sizeof(ip), "%s.%u.%u", many_net, i / 250, i % 250 + 1);
			struct flow f = mkflow(ip, 1);
			enrich_flow(s.w, &f);
			if (f.enriched.in_if.name) {
				named[i] = 1;
				left--;
				CHECK_STR(S(&s, f.enriched.in_if.name), "lo");
			}
		}
		int n = count_fds();
		if (n > max_fds)
			max_fds = n;
		usleep(20000);
	}
	CHECK_EQ(left, 0);
	CHECK(max_fds > 1024);
	struct enrich_stats st;
	enrich_get_stats(s.e, &st);
	CHECK(st.snmp_requests >= MANY);
	fprintf(stderr, "# %llu requests, %llu retries, %llu timeouts\n",
		(unsigned long long)st.snmp_requests, (unsigned long long)st.snmp_retries,
		(unsigned long long)st.snmp_timeouts);
	fprintf(stderr, "# %d descriptors at most, %zu agents answered in %llu ms\n", max_fds,
		MANY - left, (unsigned long long)(now_ms() - start));
	teardown(&s);
	finish();
}
