// SPDX-License-Identifier: AGPL-3.0-or-later
/* The SNMP metadata provider against a real snmpd (127.0.0.1, a free port):
 * v2c (a wrong community first, then the right one) and a v3 user (SHA, AES);
 * ifAlias and ifHighSpeed set with `override` lines; sysName, ifName,
 * descriptions and speeds come back; an agent that never answers delays no
 * other exporter, and its breaker opens; a restart reuses the cache file. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
static int blackhole = -1; /* a UDP socket nobody reads: an agent that never answers */

static int free_udp_port(int keep, int *fd_out)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	if (keep)
		*fd_out = fd;
	else
		close(fd);
	return ntohs(a.sin_port);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int start_snmpd(int port)
{
	char conf[256], persist[256], cmd[512];
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/snmpd.conf", dir);
	snprintf(persist, sizeof(persist), "%s/persist", dir);
	f = fopen(conf, "w");
	if (!f)
		return -1;
	fprintf(f,
		"agentAddress udp:127.0.0.1:%d\n"
		"rocommunity public 127.0.0.1\n"
		"createUser weiruser SHA \"authpass123\" AES \"privpass123\"\n"
		"rouser weiruser priv\n"
		"sysName test-agent\n"
		"override 1.3.6.1.2.1.31.1.1.1.18.1 octet_str \"Transit: Cogent 1-2345\"\n"
		"override 1.3.6.1.2.1.31.1.1.1.15.1 uinteger 10000\n",
		port);
	fclose(f);
	snmpd = fork();
	if (snmpd == 0) {
		char log[256];
		snprintf(log, sizeof(log), "%s/snmpd.log", dir);
		setenv("MIBS", "", 1);
		setenv("SNMP_PERSISTENT_DIR", persist, 1);
		freopen(log, "w", stdout);
		freopen(log, "a", stderr);
		execlp("snmpd", "snmpd", "-f", "-Lo", "-C", "-c", conf, (char *)NULL);
		_exit(127);
	}
	/* Ready when it answers. */
	snprintf(cmd, sizeof(cmd),
		 "MIBS= snmpget -v2c -c public -t 0.2 -r 0 127.0.0.1:%d 1.3.6.1.2.1.1.5.0 "
		 ">/dev/null 2>&1",
		 port);
	for (int i = 0; i < 50; i++) {
		if (system(cmd) == 0)
			return 0;
		usleep(100000);
	}
	return -1;
}

static void stop_snmpd(void)
{
	if (snmpd > 0) {
		kill(snmpd, SIGTERM);
		waitpid(snmpd, NULL, 0);
		snmpd = -1;
	}
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

TEST(snmp_v2c_v3_and_a_silent_agent)
{
	char yaml[2048], cache[128];
	int port, dead;
	struct setup s;
	struct flow f;

	if (system("command -v snmpd >/dev/null 2>&1") != 0)
		SKIP("snmpd not installed");
	snprintf(dir, sizeof(dir), "/tmp/weir-snmp-XXXXXX");
	REQUIRE(mkdtemp(dir));
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	port = free_udp_port(0, NULL);
	dead = free_udp_port(1, &blackhole);
	REQUIRE(port > 0 && dead > 0);
	REQUIRE(start_snmpd(port) == 0);

	/* 127.0.0.1: v2c, a wrong community first. 127.0.0.3: the same agent
	 * (agents:) as a v3 user. 127.0.0.4: an agent that never answers. */
	snprintf(yaml, sizeof(yaml),
		 "metadata:\n"
		 "  cache-persist-file: %s\n"
		 "  providers:\n"
		 "    - type: snmp\n"
		 "      poller-timeout: 1s\n"
		 "      poller-retries: 0\n"
		 "      agents:\n"
		 "        127.0.0.3: 127.0.0.1\n"
		 "      ports:\n"
		 "        127.0.0.0/8: %d\n"
		 "        127.0.0.4/32: %d\n"
		 "      credentials:\n"
		 "        127.0.0.1/32:\n"
		 "          communities: [wrong, public]\n"
		 "        127.0.0.3/32:\n"
		 "          user-name: weiruser\n"
		 "          authentication-protocol: SHA\n"
		 "          authentication-passphrase: authpass123\n"
		 "          privacy-protocol: AES\n"
		 "          privacy-passphrase: privpass123\n"
		 "        127.0.0.4/32:\n"
		 "          communities: public\n",
		 cache, port, dead);
	setup(&s, yaml);

	/* The silent agent is asked first; the others must not wait for it. */
	struct flow silent = mkflow("127.0.0.4", 1);
	enrich_flow(s.w, &silent);
	long t_v2c = wait_named(&s, "127.0.0.1", 1, &f, 8000);
	CHECK(t_v2c >= 0);
	CHECK_STR(S(&s, f.enriched.exporter.name), "test-agent");
	CHECK_STR(S(&s, f.enriched.in_if.name), "lo");
	CHECK_STR(S(&s, f.enriched.in_if.description), "Transit: Cogent 1-2345"); /* ifAlias */
	CHECK_EQ(f.enriched.in_if.speed, 10000);
	/* one timeout for the wrong community, then the answer */
	CHECK(t_v2c < 2500);

	long t_v3 = wait_named(&s, "127.0.0.3", 1, &f, 5000);
	CHECK(t_v3 >= 0);
	CHECK(t_v3 < 1000); /* not behind the silent agent's timeout */
	CHECK_STR(S(&s, f.enriched.exporter.name), "test-agent");
	CHECK_STR(S(&s, f.enriched.in_if.name), "lo");
	CHECK_EQ(f.enriched.in_if.speed, 10000);

	/* ifIndex 2 (if any): the description is ifDescr when ifAlias is empty. */
	if (wait_named(&s, "127.0.0.1", 2, &f, 3000) >= 0)
		CHECK(f.enriched.in_if.description != 0);

	/* The silent agent: no answer, kept unknown; after three failures its
	 * breaker opens and further lookups fail at once. */
	struct enrich_stats st;
	REQUIRE(enrich_wait_idle(s.e, 5000) == 0);
	for (uint32_t i = 2; i <= 3; i++) {
		struct flow g = mkflow("127.0.0.4", i);
		enrich_flow(s.w, &g);
		REQUIRE(enrich_wait_idle(s.e, 5000) == 0);
	}
	struct flow g = mkflow("127.0.0.4", 9);
	uint64_t t0 = now_ms();
	enrich_flow(s.w, &g);
	REQUIRE(enrich_wait_idle(s.e, 5000) == 0);
	CHECK(now_ms() - t0 < 500);
	enrich_get_stats(s.e, &st);
	CHECK(st.snmp_timeouts >= 4); /* wrong community + three silent ones */
	CHECK(st.snmp_breaker_open >= 1);
	CHECK(st.snmp_requests >= 5);
	g = mkflow("127.0.0.4", 1);
	enrich_flow(s.w, &g);
	CHECK_EQ(g.enriched.in_if.name, 0);
	teardown(&s); /* writes the cache file */

	/* Restart with the agent gone: names come from the cache file. */
	stop_snmpd();
	setup(&s, yaml);
	f = mkflow("127.0.0.3", 1);
	enrich_flow(s.w, &f);
	CHECK_STR(S(&s, f.enriched.in_if.name), "lo");
	CHECK_STR(S(&s, f.enriched.exporter.name), "test-agent");
	CHECK_EQ(f.enriched.in_if.speed, 10000);
	teardown(&s);

	close(blackhole);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	system(cmd);
}
