// SPDX-License-Identifier: AGPL-3.0-or-later
/* The Kafka bus against a Kafka cluster in another process (librdkafka's
 * mock cluster, tests/tools/kafka_mock): bytes in = bytes out, an exporter
 * stays in one partition, commits survive a restart, a consumer killed
 * before its commit has its messages redelivered, drops and bad messages are
 * counted, topics are ensured, and kcat (another client) reads what we wrote. */
#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus.h"
#include "common/be.h"
#include "common/clock.h"
#include "common/flow.h"
#include "test.h"

/* ---- the cluster, one per test program ---- */

static const char *const topics[] = {
    "t-roundtrip:8", "t-resume:4", "t-kill:1",	    "t-full:2",	    "t-bad:2",	  "t-ensure:8",
    "t-flows:2",     "t-kcat:3",   "t-rebalance:4", "t-handover:4", "t-stored:2", NULL,
};

static struct {
	int tried;
	pid_t pid;
	int in_fd; /* its stdin: it ends when we do */
	char bootstrap[512];
	char why[256];
} mock = {.pid = -1, .in_fd = -1};

static void mock_stop(void)
{
	if (mock.pid > 0) {
		kill(mock.pid, SIGTERM);
		waitpid(mock.pid, NULL, 0);
		mock.pid = -1;
	}
}

static void mock_start(void)
{
	char exe[PATH_MAX], tool[PATH_MAX + 32], line[600] = "";
	char *argv[32];
	int in[2], out[2], argc = 0;
	ssize_t n, used = 0;

	mock.tried = 1;
	/* build/tests/integration/test_kafka -> build/tests/tools/kafka_mock */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		snprintf(mock.why, sizeof(mock.why), "cannot find our own path");
		return;
	}
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(tool, sizeof(tool), "%s/tools/kafka_mock", exe);
	if (access(tool, X_OK) != 0) {
		snprintf(mock.why, sizeof(mock.why), "%s not built", tool);
		return;
	}
	argv[argc++] = tool;
	argv[argc++] = "--brokers";
	argv[argc++] = "3";
	for (int i = 0; topics[i]; i++) {
		argv[argc++] = "--topic";
		argv[argc++] = (char *)topics[i];
	}
	argv[argc] = NULL;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		snprintf(mock.why, sizeof(mock.why), "pipe: %s", strerror(errno));
		return;
	}
	mock.pid = fork();
	if (mock.pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execv(tool, argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	mock.in_fd = in[1];
	/* its first line: bootstrap=HOST:PORT,... */
	while (used < (ssize_t)sizeof(line) - 1 && !strchr(line, '\n')) {
		struct pollfd p = {.fd = out[0], .events = POLLIN};
		if (poll(&p, 1, 10000) <= 0)
			break;
		n = read(out[0], line + used, sizeof(line) - 1 - (size_t)used);
		if (n <= 0)
			break;
		used += n;
		line[used] = '\0';
	}
	close(out[0]);
	if (strncmp(line, "bootstrap=", 10) != 0 || !strchr(line, '\n')) {
		snprintf(mock.why, sizeof(mock.why), "kafka_mock did not start");
		mock_stop();
		return;
	}
	*strchr(line, '\n') = '\0';
	snprintf(mock.bootstrap, sizeof(mock.bootstrap), "%s", line + 10);
	atexit(mock_stop);
}

static const char *bootstrap_or_skip(void)
{
	if (!mock.tried)
		mock_start();
	if (!mock.bootstrap[0])
		SKIP(mock.why);
	return mock.bootstrap;
}

/* ---- configurations ---- */

struct tcfg {
	struct bus_config bus;
	struct config_doc *doc;
};

/* Faster group membership than the defaults, so the tests do not wait on
 * Kafka's session time-outs more than needed. */
static const char *const consumer_props = "consumer:\n"
					  "  session.timeout.ms: 6000\n"
					  "  heartbeat.interval.ms: 500\n"
					  "producer:\n"
					  "  linger.ms: 5\n";

static void tcfg_init(struct tcfg *t, const char *topic, const char *group, const char *props)
{
	struct config_error err;
	char **brokers = calloc(1, sizeof(char *));

	REQUIRE_EQ(bus_config_defaults(&t->bus), 0);
	free(t->bus.kafka.topic);
	t->bus.kafka.topic = strdup(topic);
	if (group) {
		free(t->bus.kafka.consumer_group);
		t->bus.kafka.consumer_group = strdup(group);
	}
	brokers[0] = strdup(bootstrap_or_skip());
	t->bus.kafka.brokers.items = brokers;
	t->bus.kafka.brokers.count = 1;
	t->bus.type = BUS_TYPE_KAFKA;
	t->doc = config_doc_load_string("test", props ? props : consumer_props, &err);
	REQUIRE(t->doc != NULL);
	t->bus.kafka.producer = config_node_get(t->doc->root, "producer");
	t->bus.kafka.consumer = config_node_get(t->doc->root, "consumer");
}

static void tcfg_fini(struct tcfg *t)
{
	config_free_bound(bus_config_fields, &t->bus);
	config_doc_free(t->doc);
}

/* ---- envelopes made from a sequence number ---- */

#define EXPORTERS 10

static uint32_t seq_len(uint64_t seq)
{
	return 1 + (uint32_t)(seq * 37 % 1400);
}

static void seq_exporter(uint64_t seq, struct in6_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->s6_addr[10] = a->s6_addr[11] = 0xff;
	a->s6_addr[12] = 192;
	a->s6_addr[13] = 0;
	a->s6_addr[14] = 2;
	a->s6_addr[15] = (uint8_t)(1 + seq % EXPORTERS);
}

static void send_seq(struct bus_producer *p, uint64_t from, uint64_t to)
{
	static uint8_t buf[1400];

	for (uint64_t s = from; s < to; s++) {
		struct bus_envelope env = {
		    .time_received_ns = s, .exporter_port = 2055, .len = seq_len(s), .data = buf};

		seq_exporter(s, &env.exporter);
		for (uint32_t j = 0; j < env.len; j++)
			buf[j] = (uint8_t)(s + j);
		REQUIRE_EQ(bus_producer_send(p, &env), 0);
	}
	REQUIRE_EQ(bus_producer_flush(p, 10000), 0);
}

/* An envelope as send_seq made it? */
static int seq_valid(const struct bus_envelope *env)
{
	uint64_t s = env->time_received_ns;
	struct in6_addr a;

	seq_exporter(s, &a);
	if (env->len != seq_len(s) || memcmp(&a, &env->exporter, 16) || env->exporter_port != 2055)
		return 0;
	for (uint32_t j = 0; j < env->len; j++)
		if (env->data[j] != (uint8_t)(s + j))
			return 0;
	return 1;
}

struct seen {
	uint64_t n, bad, out_of_order;
	uint8_t count[4096]; /* times each seq was seen */
	int64_t last[EXPORTERS];
};

static void note(struct seen *s, const struct bus_envelope *envs, int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t seq = envs[i].time_received_ns;
		if (!seq_valid(&envs[i]) || seq >= sizeof(s->count)) {
			s->bad++;
			continue;
		}
		s->count[seq]++;
		if ((int64_t)seq <= s->last[seq % EXPORTERS])
			s->out_of_order++;
		s->last[seq % EXPORTERS] = (int64_t)seq;
	}
	s->n += (uint64_t)(n > 0 ? n : 0);
}

/* Polls until `want` envelopes came or `wait_ms` passed; commit says how
 * to release each poll. Returns how many came. */
static uint64_t consume(struct bus_consumer *c, struct seen *s, uint64_t want, int wait_ms,
			int commit)
{
	struct bus_envelope envs[64];
	uint64_t end = clock_mono_ms() + wait_ms;
	uint64_t got = 0;

	while (got < want && clock_mono_ms() < end) {
		int n = bus_consumer_poll(c, envs, 64, 200);

		REQUIRE(n >= 0);
		note(s, envs, n);
		got += (uint64_t)n;
		if (n)
			bus_consumer_release(c, commit);
	}
	return got;
}

static struct seen *seen_new(void)
{
	struct seen *s = calloc(1, sizeof(*s));

	for (int i = 0; i < EXPORTERS; i++)
		s->last[i] = -1;
	return s;
}

/* Reads every message of a topic with a plain librdkafka consumer (no
 * group), calling fn for each; returns the count. */
static int raw_read(const char *topic, int partitions, int want,
		    void (*fn)(const rd_kafka_message_t *m, void *ctx), void *ctx)
{
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(partitions);
	int got = 0;
	uint64_t end = clock_mono_ms() + 20000;

	rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap_or_skip(), errstr, sizeof(errstr));
	rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr));
	/* librdkafka 2.0 wants a group even to assign() (never joined here) */
	rd_kafka_conf_set(conf, "group.id", "t-raw-reader", errstr, sizeof(errstr));
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	REQUIRE(rk != NULL);
	for (int p = 0; p < partitions; p++)
		rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
		    RD_KAFKA_OFFSET_BEGINNING;
	REQUIRE_EQ(rd_kafka_assign(rk, parts), 0);
	rd_kafka_topic_partition_list_destroy(parts);
	while (got < want && clock_mono_ms() < end) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
		if (!m)
			continue;
		if (!m->err) {
			fn(m, ctx);
			got++;
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return got;
}

static uint64_t counter(struct metrics_registry *reg, const char *name, const char *labels,
			const char *const *values)
{
	return metric_get_count(metrics_counter(reg, name, "", labels, values));
}

/* ---- the tests ---- */

TEST(topic_ensure_is_idempotent)
{
	struct tcfg t;
	struct error err = {""};

	tcfg_init(&t, "t-ensure", NULL, NULL);
	free(t.bus.kafka.flows_topic);
	t.bus.kafka.flows_topic = strdup("t-flows");
	t.bus.kafka.partitions = 8;
	CHECK_EQ(bus_kafka_topic_ensure(&t.bus, &err), 0);
	CHECK_EQ(bus_kafka_topic_ensure(&t.bus, &err), 0);
	if (err.text[0])
		test_fail_at(__FILE__, __LINE__, "error: %s", err.text);
	tcfg_fini(&t);
}

/* Creating a topic needs the Admin API's CreateTopics, which librdkafka
 * 2.0's mock cluster does not have; a real broker goes the whole way. */
TEST(topic_ensure_creates_a_missing_topic)
{
	struct tcfg t;
	struct error err = {""};
	const struct rd_kafka_metadata *md;
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	char errstr[512];
	int found = -1, r;

	tcfg_init(&t, "t-created", NULL, NULL);
	t.bus.kafka.partitions = 5;
	r = bus_kafka_topic_ensure(&t.bus, &err);
	tcfg_fini(&t);
	if (r == -EOPNOTSUPP && strstr(err.text, "no controller"))
		SKIP("this cluster cannot create topics (no controller: librdkafka's mock)");
	REQUIRE_EQ(r, 0);
	conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap_or_skip(), errstr, sizeof(errstr));
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	REQUIRE(rk != NULL);
	REQUIRE_EQ(rd_kafka_metadata(rk, 1, NULL, &md, 10000), 0);
	for (int i = 0; i < md->topic_cnt; i++)
		if (strcmp(md->topics[i].topic, "t-created") == 0)
			found = md->topics[i].partition_cnt;
	rd_kafka_metadata_destroy(md);
	rd_kafka_destroy(rk);
	CHECK_EQ(found, 5);
}

static void note_partition(const rd_kafka_message_t *m, void *ctx)
{
	int *part_of = ctx; /* per exporter, -1 = none yet, -2 = several */
	struct bus_envelope env;
	int e;

	if (m->key_len != 16 || bus_envelope_unpack(m->payload, m->len, &env) < 0 ||
	    memcmp(m->key, &env.exporter, 16) != 0) {
		part_of[EXPORTERS] = -2; /* key is not the exporter */
		return;
	}
	e = env.exporter.s6_addr[15] - 1;
	if (part_of[e] == -1)
		part_of[e] = m->partition;
	else if (part_of[e] != m->partition)
		part_of[e] = -2;
}

TEST(envelopes_through_kafka_byte_for_byte_one_partition_per_exporter)
{
	struct metrics_registry *reg;
	struct tcfg t;
	struct bus_producer *p;
	struct bus_consumer *c;
	struct seen *s = seen_new();
	struct error err;
	int part_of[EXPORTERS + 1], used[8] = {0}, nused = 0;
	const uint64_t total = 2000;

	REQUIRE_EQ(metrics_registry_new(&reg, NULL), 0);
	tcfg_init(&t, "t-roundtrip", "g-roundtrip", NULL);
	REQUIRE_EQ(bus_kafka_producer_new(&t.bus, reg, &p, &err), 0);
	send_seq(p, 0, total);
	bus_producer_free(p);
	REQUIRE_EQ(bus_kafka_consumer_new(&t.bus, reg, &c, &err), 0);
	CHECK_EQ(consume(c, s, total, 60000, 1), total);
	bus_consumer_free(c);
	CHECK_EQ(s->bad, 0);
	CHECK_EQ(s->out_of_order, 0); /* each exporter's order is kept */
	for (uint64_t i = 0; i < total; i++)
		if (s->count[i] != 1)
			test_fail_at(__FILE__, __LINE__, "seq %llu seen %u times",
				     (unsigned long long)i, s->count[i]);
	const char *const tl[] = {"t-roundtrip"};
	CHECK_EQ(counter(reg, "weir_bus_kafka_sent_total", "topic", tl), total);
	CHECK_EQ(counter(reg, "weir_bus_kafka_delivered_total", "topic", tl), total);
	CHECK_EQ(counter(reg, "weir_bus_kafka_received_total", "topic", tl), total);

	/* Where each message went, read by a plain client. */
	for (int i = 0; i <= EXPORTERS; i++)
		part_of[i] = -1;
	CHECK_EQ(raw_read("t-roundtrip", 8, (int)total, note_partition, part_of), (int)total);
	CHECK_EQ(part_of[EXPORTERS], -1);
	for (int e = 0; e < EXPORTERS; e++) {
		CHECK(part_of[e] >= 0);
		if (part_of[e] >= 0 && !used[part_of[e]]++)
			nused++;
	}
	CHECK(nused > 1); /* the key spreads exporters over partitions */
	free(s);
	tcfg_fini(&t);
	metrics_registry_free(reg);
}

TEST(commit_then_restart_resumes_after_the_commit)
{
	struct tcfg t;
	struct bus_producer *p;
	struct bus_consumer *c;
	struct seen *s = seen_new(), *s2 = seen_new();
	struct error err;

	tcfg_init(&t, "t-resume", "g-resume", NULL);
	REQUIRE_EQ(bus_kafka_producer_new(&t.bus, NULL, &p, &err), 0);
	send_seq(p, 0, 100);
	REQUIRE_EQ(bus_kafka_consumer_new(&t.bus, NULL, &c, &err), 0);
	CHECK_EQ(consume(c, s, 100, 60000, 1), 100);
	bus_consumer_free(c);

	send_seq(p, 100, 150);
	REQUIRE_EQ(bus_kafka_consumer_new(&t.bus, NULL, &c, &err), 0);
	CHECK_EQ(consume(c, s2, 50, 60000, 1), 50);
	CHECK_EQ(consume(c, s2, 1, 2000, 1), 0); /* and nothing more */
	bus_consumer_free(c);
	for (uint64_t i = 0; i < 150; i++)
		CHECK_EQ(s2->count[i], i < 100 ? 0 : 1);
	CHECK_EQ(s2->bad, 0);

	/* Released without commit: a new member of another group's... same
	 * group gets everything again. */
	free(t.bus.kafka.consumer_group);
	t.bus.kafka.consumer_group = strdup("g-resume-nocommit");
	memset(s, 0, sizeof(*s));
	REQUIRE_EQ(bus_kafka_consumer_new(&t.bus, NULL, &c, &err), 0);
	CHECK_EQ(consume(c, s, 150, 60000, 0), 150);
	bus_consumer_free(c);
	memset(s2, 0, sizeof(*s2));
	REQUIRE_EQ(bus_kafka_consumer_new(&t.bus, NULL, &c, &err), 0);
	CHECK_EQ(consume(c, s2, 150, 60000, 1), 150);
	bus_consumer_free(c);
	for (uint64_t i = 0; i < 150; i++)
		CHECK_EQ(s2->count[i], 1);
	bus_producer_free(p);
	free(s);
	free(s2);
	tcfg_fini(&t);
}

/* The child: commits the first 30, then holds 30 more and waits to die. */
static void kill_child(int report_fd)
{
	struct tcfg t;
	struct bus_consumer *c;
	struct seen *s = seen_new();
	struct error err;

	tcfg_init(&t, "t-kill", "g-kill", NULL);
	if (bus_kafka_consumer_new(&t.bus, NULL, &c, &err) < 0)
		_exit(1);
	if (consume(c, s, 30, 60000, 1) != 30 || write(report_fd, "C", 1) != 1)
		_exit(2);
	if (consume(c, s, 30, 60000, 0) != 30 || write(report_fd, "H", 1) != 1)
		_exit(3);
	for (;;)
		pause();
}

TEST(consumer_killed_before_commit_is_redelivered)
{
	struct tcfg t;
	struct bus_producer *p;
	struct bus_consumer *c;
	struct seen *s = seen_new();
	struct error err;
	char got;
	int fds[2], status;
	pid_t child;

	bootstrap_or_skip();
	REQUIRE_EQ(pipe(fds), 0);
	/* Forked before this process makes any Kafka client of its own. */
	child = fork();
	REQUIRE(child >= 0);
	if (child == 0) {
		close(fds[0]);
		kill_child(fds[1]);
	}
	close(fds[1]);
	tcfg_init(&t, "t-kill", "g-kill", NULL);
	REQUIRE_EQ(bus_kafka_producer_new(&t.bus, NULL, &p, &err), 0);
	send_seq(p, 0, 30);
	CHECK(read(fds[0], &got, 1) == 1 && got == 'C');
	send_seq(p, 30, 60);
	CHECK(read(fds[0], &got, 1) == 1 && got == 'H');
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(fds[0]);

	/* The group notices the death at the session time-out (6 s here). */
	REQUIRE_EQ(bus_kafka_consumer_new(&t.bus, NULL, &c, &err), 0);
	CHECK_EQ(consume(c, s, 30, 90000, 1), 30);
	CHECK_EQ(consume(c, s, 1, 2000, 1), 0);
	bus_consumer_free(c);
	for (uint64_t i = 0; i < 60; i++)
		CHECK_EQ(s->count[i], i < 30 ? 0 : 1);
	bus_producer_free(p);
	free(s);
	tcfg_fini(&t);
}

TEST(full_queue_drops_are_counted_and_the_rest_delivered_on_free)
{
	struct metrics_registry *reg;
	struct tcfg t;
	struct bus_producer *p;
	struct bus_consumer *c;
	struct seen *s = seen_new();
	static uint8_t buf[100];
	struct error err;
	int ok = 0, full = 0;

	REQUIRE_EQ(metrics_registry_new(&reg, NULL), 0);
	/* A queue of 10 messages that nothing empties before free(). */
	tcfg_init(&t, "t-full", "g-full",
		  "producer:\n  queue.buffering.max.messages: 10\n  linger.ms: 60000\n"
		  "consumer:\n  session.timeout.ms: 6000\n");
	REQUIRE_EQ(bus_kafka_producer_new(&t.bus, reg, &p, &err), 0);
	for (uint64_t i = 0; i < 25; i++) {
		struct bus_envelope env = {
		    .time_received_ns = i, .exporter_port = 2055, .len = seq_len(i), .data = buf};
		static uint8_t data[1400];

		seq_exporter(i, &env.exporter);
		for (uint32_t j = 0; j < env.len; j++)
			data[j] = (uint8_t)(i + j);
		env.data = data;
		int r = bus_producer_send(p, &env);
		if (r == 0)
			ok++;
		else if (r == -ENOBUFS)
			full++;
	}
	CHECK_EQ(ok, 10);
	CHECK_EQ(full, 15);
	const char *const qf[] = {"t-full", "queue-full"};
	CHECK_EQ(counter(reg, "weir_bus_kafka_dropped_total", "topic,reason", qf), 15);
	bus_producer_free(p); /* flushes: the 10 go out despite linger.ms */
	REQUIRE_EQ(bus_kafka_consumer_new(&t.bus, NULL, &c, &err), 0);
	CHECK_EQ(consume(c, s, 10, 60000, 1), 10);
	bus_consumer_free(c);
	for (uint64_t i = 0; i < 10; i++)
		CHECK_EQ(s->count[i], 1);
	free(s);
	tcfg_fini(&t);
	metrics_registry_free(reg);
}

/* Produces `len` bytes as they are, keyed like exporter 1. */
static void produce_raw(rd_kafka_t *rk, const char *topic, const void *data, size_t len)
{
	struct in6_addr key;

	seq_exporter(0, &key);
	REQUIRE_EQ(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(&key, 16),
				     RD_KAFKA_V_VALUE((void *)data, len),
				     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
		   0);
}

static void produce_seq_raw(rd_kafka_t *rk, const char *topic, uint64_t seq)
{
	static uint8_t data[1400], packed[1400 + BUS_ENVELOPE_OVERHEAD];
	struct bus_envelope env = {
	    .time_received_ns = seq, .exporter_port = 2055, .len = seq_len(seq), .data = data};
	int n;

	seq_exporter(seq, &env.exporter);
	for (uint32_t j = 0; j < env.len; j++)
		data[j] = (uint8_t)(seq + j);
	n = bus_envelope_pack(&env, packed, sizeof(packed));
	REQUIRE(n > 0);
	produce_raw(rk, topic, packed, (size_t)n);
}

TEST(bad_messages_are_skipped_counted_and_committed_past)
{
	struct metrics_registry *reg, *reg2;
	struct tcfg t;
	struct bus_consumer *c;
	struct seen *s = seen_new();
	struct error err;
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff};
	static const uint8_t short_addr[] = {0x12, 0x04, 192, 0, 2, 1};
	const char *const bp[] = {"t-bad", "bad-protobuf"}, *const em[] = {"t-bad", "empty"};

	REQUIRE_EQ(metrics_registry_new(&reg, NULL), 0);
	REQUIRE_EQ(metrics_registry_new(&reg2, NULL), 0);
	tcfg_init(&t, "t-bad", "g-bad", NULL);
	rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap_or_skip(), errstr, sizeof(errstr));
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	REQUIRE(rk != NULL);
	produce_seq_raw(rk, "t-bad", 0);
	produce_raw(rk, "t-bad", garbage, sizeof(garbage));
	produce_seq_raw(rk, "t-bad", 10);
	produce_raw(rk, "t-bad", short_addr, sizeof(short_addr));
	produce_raw(rk, "t-bad", NULL, 0);
	produce_seq_raw(rk, "t-bad", 20);
	produce_raw(rk, "t-bad", garbage, sizeof(garbage)); /* the last one is bad */
	REQUIRE_EQ(rd_kafka_flush(rk, 10000), 0);
	rd_kafka_destroy(rk);

	REQUIRE_EQ(bus_kafka_consumer_new(&t.bus, reg, &c, &err), 0);
	CHECK_EQ(consume(c, s, 3, 60000, 1), 3);
	/* wait until the trailing bad one has been read too */
	for (uint64_t end = clock_mono_ms() + 10000;
	     counter(reg, "weir_bus_kafka_bad_messages_total", "topic,reason", bp) < 3 &&
	     clock_mono_ms() < end;)
		consume(c, s, 1, 200, 1);
	bus_consumer_free(c);
	CHECK_EQ(s->bad, 0);
	CHECK_EQ(s->count[0] + s->count[10] + s->count[20], 3);
	CHECK_EQ(counter(reg, "weir_bus_kafka_bad_messages_total", "topic,reason", bp), 3);
	CHECK_EQ(counter(reg, "weir_bus_kafka_bad_messages_total", "topic,reason", em), 1);

	/* The commit went past the bad ones, the last included. */
	REQUIRE_EQ(bus_kafka_consumer_new(&t.bus, reg2, &c, &err), 0);
	CHECK_EQ(consume(c, s, 1, 8000, 1), 0);
	bus_consumer_free(c);
	CHECK_EQ(counter(reg2, "weir_bus_kafka_received_total", "topic", (const char *[]){"t-bad"}),
		 0);
	free(s);
	tcfg_fini(&t);
	metrics_registry_free(reg);
	metrics_registry_free(reg2);
}

static void fill_flow(struct flow *f, unsigned i)
{
	memset(f, 0, sizeof(*f));
	f->time_received = 1700000000 + i;
	seq_exporter(i, &f->exporter_address);
	seq_exporter(i + 3, &f->src_addr);
	f->src_port = (uint16_t)(1000 + i);
	f->dst_port = 443;
	f->bytes = 1500ull * (i + 1);
	f->packets = i + 1;
	f->proto = 6;
	f->flow_direction = FLOW_DIRECTION_INGRESS;
	f->dst_as_path_count = 2;
	f->dst_as_path[0] = 64500;
	f->dst_as_path[1] = 64501 + i;
}

static void check_flow(const rd_kafka_message_t *m, void *ctx)
{
	int *ok = ctx;
	struct flow f, want;

	if (bus_flow_unpack(m->payload, m->len, &f) < 0 || f.src_port < 1000 || f.src_port >= 1005)
		return;
	fill_flow(&want, f.src_port - 1000u);
	if (m->key_len == 16 && !memcmp(m->key, &want.exporter_address, 16) &&
	    f.bytes == want.bytes && f.packets == want.packets && f.proto == 6 &&
	    f.flow_direction == FLOW_DIRECTION_INGRESS &&
	    !memcmp(&f.src_addr, &want.src_addr, 16) && f.dst_as_path_count == 2 &&
	    f.dst_as_path[1] == want.dst_as_path[1] && f.time_received == want.time_received)
		(*ok)++;
}

TEST(enriched_flows_topic_carries_flow_messages)
{
	struct metrics_registry *reg;
	struct bus_kafka_flow_producer *fp;
	struct tcfg t;
	struct flow f;
	struct error err;
	int ok = 0;

	REQUIRE_EQ(metrics_registry_new(&reg, NULL), 0);
	tcfg_init(&t, "t-roundtrip", NULL, NULL);
	free(t.bus.kafka.flows_topic);
	t.bus.kafka.flows_topic = strdup("t-flows");
	REQUIRE_EQ(bus_kafka_flow_producer_new(&t.bus, reg, &fp, &err), 0);
	for (unsigned i = 0; i < 5; i++) {
		fill_flow(&f, i);
		CHECK_EQ(bus_kafka_flow_producer_send(fp, &f), 0);
	}
	CHECK_EQ(bus_kafka_flow_producer_flush(fp, 10000), 0);
	bus_kafka_flow_producer_free(fp);
	CHECK_EQ(raw_read("t-flows", 2, 5, check_flow, &ok), 5);
	CHECK_EQ(ok, 5);
	CHECK_EQ(
	    counter(reg, "weir_bus_kafka_delivered_total", "topic", (const char *[]){"t-flows"}),
	    5);
	tcfg_fini(&t);
	metrics_registry_free(reg);
}

/* kcat: a client that shares no code with ours. */
TEST(kcat_sees_the_topic_and_reads_our_messages)
{
	struct tcfg t;
	struct bus_producer *p;
	struct error err;
	char cmd[1024], line[512];
	static uint8_t out[1 << 20];
	size_t len = 0, off = 0;
	int listed = 0, msgs = 0, good = 0;
	FILE *fp;

	if (system("command -v kcat >/dev/null 2>&1") != 0)
		SKIP("kcat is not installed");
	tcfg_init(&t, "t-kcat", NULL, NULL);
	REQUIRE_EQ(bus_kafka_producer_new(&t.bus, NULL, &p, &err), 0);
	send_seq(p, 0, 20);
	bus_producer_free(p);

	snprintf(cmd, sizeof(cmd), "kcat -b %s -L -t t-kcat 2>&1", bootstrap_or_skip());
	fp = popen(cmd, "r");
	REQUIRE(fp != NULL);
	while (fgets(line, sizeof(line), fp))
		if (strstr(line, "topic \"t-kcat\" with 3 partitions"))
			listed = 1;
	pclose(fp);
	CHECK(listed);

	/* key length in text, ':', key, value length (32 bits big-endian), value */
	snprintf(cmd, sizeof(cmd), "kcat -b %s -C -t t-kcat -o beginning -e -q -f '%%K:%%k%%R%%s'",
		 bootstrap_or_skip());
	fp = popen(cmd, "r");
	REQUIRE(fp != NULL);
	len = fread(out, 1, sizeof(out), fp);
	pclose(fp);
	while (off < len) {
		uint32_t klen = 0, vlen;
		const uint8_t *key;
		struct bus_envelope env;

		while (off < len && out[off] >= '0' && out[off] <= '9')
			klen = klen * 10 + (out[off++] - '0');
		if (off >= len || out[off++] != ':' || off + klen + 4 > len)
			break;
		key = out + off;
		off += klen;
		vlen = be32_get(out + off);
		off += 4;
		if (off + vlen > len)
			break;
		msgs++;
		if (bus_envelope_unpack(out + off, vlen, &env) == 0 && seq_valid(&env) &&
		    klen == 16 && !memcmp(key, &env.exporter, 16))
			good++;
		off += vlen;
	}
	CHECK_EQ(msgs, 20);
	CHECK_EQ(good, 20);
	tcfg_fini(&t);
}

/* A second member joins while the first holds polled, uncommitted messages:
 * the first must not commit for partitions it lost; the new owner gets them
 * from the last commit (none here), so together they see everything. */
TEST(revoked_partitions_are_not_committed)
{
	struct metrics_registry *reg;
	struct tcfg t;
	struct bus_producer *p;
	struct bus_consumer *a, *b;
	struct seen *sa = seen_new(), *sb = seen_new();
	struct bus_envelope envs[64];
	struct error err;
	const char *const tl[] = {"t-rebalance"};
	uint64_t covered = 0;

	REQUIRE_EQ(metrics_registry_new(&reg, NULL), 0);
	tcfg_init(&t, "t-rebalance", "g-rebalance", NULL);
	REQUIRE_EQ(bus_kafka_producer_new(&t.bus, NULL, &p, &err), 0);
	send_seq(p, 0, 200);
	bus_producer_free(p);
	REQUIRE_EQ(bus_kafka_consumer_new(&t.bus, reg, &a, &err), 0);
	/* A takes everything and holds it (commit = -1: no release at all) */
	for (uint64_t end = clock_mono_ms() + 60000; sa->n < 200 && clock_mono_ms() < end;) {
		int n = bus_consumer_poll(a, envs, 64, 200);
		REQUIRE(n >= 0);
		sa->n += (uint64_t)n;
	}
	REQUIRE_EQ(sa->n, 200);
	memset(sa, 0, sizeof(*sa));
	REQUIRE_EQ(bus_kafka_consumer_new(&t.bus, NULL, &b, &err), 0);
	/* Both poll from this thread: A must serve its revoke. A had read
	 * everything: what it gets now is its new partitions read again. */
	for (uint64_t end = clock_mono_ms() + 60000;
	     counter(reg, "weir_bus_kafka_partitions_revoked_total", "topic", tl) == 0 &&
	     clock_mono_ms() < end;) {
		int n = bus_consumer_poll(a, envs, 64, 100);
		CHECK(n >= 0);
		note(sa, envs, n);
		n = bus_consumer_poll(b, envs, 64, 100);
		CHECK(n >= 0);
		note(sb, envs, n);
	}
	REQUIRE(counter(reg, "weir_bus_kafka_partitions_revoked_total", "topic", tl) > 0);
	bus_consumer_release(a, 1);
	/* the 200 polled before the revoke were not committed */
	CHECK_EQ(counter(reg, "weir_bus_kafka_revoked_uncommitted_total", "topic", tl), 200);
	/* after it, each reads its own partitions from the start */
	for (uint64_t end = clock_mono_ms() + 60000;
	     sa->n + sb->n < 200 && clock_mono_ms() < end;) {
		consume(a, sa, 1, 100, 1);
		consume(b, sb, 1, 100, 1);
	}
	for (int i = 0; i < 200; i++)
		covered += sa->count[i] || sb->count[i];
	CHECK_EQ(covered, 200);
	CHECK(sb->n > 0 && sa->n > 0); /* the partitions were shared */
	CHECK_EQ(sa->bad + sb->bad, 0);
	bus_consumer_free(a);
	bus_consumer_free(b);
	free(sa);
	free(sb);
	tcfg_fini(&t);
	metrics_registry_free(reg);
}

/* One member of a group polling in its own thread (as the outlet's workers
 * do), releasing every poll with `how`, until told to stop. */
struct member {
	struct bus_consumer *c;
	struct seen *seen;
	int how;
	_Atomic int stop;
	pthread_t thread;
};

static void *member_main(void *arg)
{
	struct member *m = arg;
	struct bus_envelope envs[64];

	while (!atomic_load(&m->stop)) {
		int n = bus_consumer_poll(m->c, envs, 64, 100);

		if (n > 0) {
			note(m->seen, envs, n);
			bus_consumer_release(m->c, m->how);
		}
	}
	return NULL;
}

/* The on_revoke hook as the outlet has it: what is held is stored, commit. */
static void commit_on_revoke(void *ctx)
{
	struct bus_consumer *c = ctx;

	bus_consumer_release(c, BUS_RELEASE_COMMIT);
}

/* A holds 200 stored but uncommitted messages when B joins: A commits them
 * from its revoke hook. The mock cluster refuses that commit (the group is
 * already rebalancing), so it is made again when the new assignment comes,
 * before anyone fetches the committed offsets: nobody reads them again. */
TEST(commit_refused_at_revoke_is_made_when_the_rebalance_ends)
{
	struct metrics_registry *reg;
	struct tcfg t;
	struct bus_producer *p;
	struct bus_consumer *a, *b;
	struct seen *first = seen_new();
	struct member ma = {.seen = seen_new(), .how = BUS_RELEASE_COMMIT};
	struct member mb = {.seen = seen_new(), .how = BUS_RELEASE_COMMIT};
	struct bus_envelope envs[64];
	struct error err;
	const char *const tl[] = {"t-handover"};

	REQUIRE_EQ(metrics_registry_new(&reg, NULL), 0);
	tcfg_init(&t, "t-handover", "g-handover", NULL);
	REQUIRE_EQ(bus_kafka_producer_new(&t.bus, NULL, &p, &err), 0);
	send_seq(p, 0, 200);
	REQUIRE_EQ(bus_kafka_consumer_new(&t.bus, reg, &a, &err), 0);
	a->on_revoke = commit_on_revoke;
	a->on_revoke_ctx = a;
	/* A takes everything and holds it (the outlet between two flushes) */
	for (uint64_t end = clock_mono_ms() + 60000; first->n < 200 && clock_mono_ms() < end;) {
		int n = bus_consumer_poll(a, envs, 64, 200);
		REQUIRE(n >= 0);
		note(first, envs, n);
	}
	REQUIRE_EQ(first->n, 200);
	REQUIRE_EQ(bus_kafka_consumer_new(&t.bus, NULL, &b, &err), 0);
	ma.c = a;
	mb.c = b;
	REQUIRE_EQ(pthread_create(&ma.thread, NULL, member_main, &ma), 0);
	REQUIRE_EQ(pthread_create(&mb.thread, NULL, member_main, &mb), 0);
	/* the group settles: A revoked, then both assigned */
	for (uint64_t end = clock_mono_ms() + 60000;
	     (counter(reg, "weir_bus_kafka_partitions_revoked_total", "topic", tl) == 0 ||
	      counter(reg, "weir_bus_kafka_partitions_assigned_total", "topic", tl) <= 4) &&
	     clock_mono_ms() < end;)
		usleep(100000);
	CHECK(counter(reg, "weir_bus_kafka_partitions_revoked_total", "topic", tl) > 0);
	/* then 50 more: each must arrive once, and nothing from before */
	send_seq(p, 200, 250);
	for (uint64_t end = clock_mono_ms() + 30000;
	     ma.seen->n + mb.seen->n < 50 && clock_mono_ms() < end;)
		usleep(100000);
	usleep(1000000);
	atomic_store(&ma.stop, 1);
	atomic_store(&mb.stop, 1);
	pthread_join(ma.thread, NULL);
	pthread_join(mb.thread, NULL);
	CHECK_EQ(ma.seen->n + mb.seen->n, 50);
	for (int i = 0; i < 250; i++) {
		unsigned again = ma.seen->count[i] + mb.seen->count[i];

		if (again != (i < 200 ? 0u : 1u)) {
			test_fail_at(__FILE__, __LINE__, "seq %d read %u times after the rebalance",
				     i, again);
			break;
		}
	}
	CHECK_EQ(counter(reg, "weir_bus_kafka_revoked_uncommitted_total", "topic", tl), 0);
	bus_consumer_free(a);
	bus_consumer_free(b);
	bus_producer_free(p);
	free(first);
	free(ma.seen);
	free(mb.seen);
	tcfg_fini(&t);
	metrics_registry_free(reg);
}

/* release(STORED) does not commit; the next COMMIT, even with nothing
 * polled since, commits what was stored; a consumer that leaves with
 * STORED offsets never committed counts them. */
TEST(stored_offsets_wait_for_the_next_commit)
{
	struct metrics_registry *reg;
	struct tcfg t;
	struct bus_producer *p;
	struct bus_consumer *c;
	struct seen *s = seen_new();
	struct error err;
	const char *const tl[] = {"t-stored"};

	REQUIRE_EQ(metrics_registry_new(&reg, NULL), 0);
	tcfg_init(&t, "t-stored", "g-stored", NULL);
	REQUIRE_EQ(bus_kafka_producer_new(&t.bus, NULL, &p, &err), 0);
	send_seq(p, 0, 100);
	bus_producer_free(p);
	/* stored, never committed: all read again by the next member */
	REQUIRE_EQ(bus_kafka_consumer_new(&t.bus, reg, &c, &err), 0);
	CHECK_EQ(consume(c, s, 100, 60000, BUS_RELEASE_STORED), 100);
	bus_consumer_free(c);
	CHECK_EQ(counter(reg, "weir_bus_kafka_revoked_uncommitted_total", "topic", tl), 100);
	memset(s, 0, sizeof(*s));
	REQUIRE_EQ(bus_kafka_consumer_new(&t.bus, NULL, &c, &err), 0);
	CHECK_EQ(consume(c, s, 100, 60000, BUS_RELEASE_STORED), 100);
	/* a COMMIT with nothing held commits them */
	bus_consumer_release(c, BUS_RELEASE_COMMIT);
	bus_consumer_free(c);
	memset(s, 0, sizeof(*s));
	REQUIRE_EQ(bus_kafka_consumer_new(&t.bus, NULL, &c, &err), 0);
	CHECK_EQ(consume(c, s, 1, 8000, BUS_RELEASE_COMMIT), 0);
	bus_consumer_free(c);
	free(s);
	tcfg_fini(&t);
	metrics_registry_free(reg);
}

/* Nothing listens on port 1: every message times out and is counted. */
TEST(undeliverable_messages_are_counted)
{
	struct metrics_registry *reg;
	struct tcfg t;
	struct bus_producer *p;
	static uint8_t data[100];
	struct error err;
	const char *const df[] = {"t-nowhere", "delivery-failed"};

	REQUIRE_EQ(metrics_registry_new(&reg, NULL), 0);
	tcfg_init(&t, "t-nowhere", NULL, "producer:\n  message.timeout.ms: 1000\n");
	free(((char **)t.bus.kafka.brokers.items)[0]);
	((char **)t.bus.kafka.brokers.items)[0] = strdup("127.0.0.1:1");
	REQUIRE_EQ(bus_kafka_producer_new(&t.bus, reg, &p, &err), 0);
	for (uint64_t i = 0; i < 5; i++) {
		struct bus_envelope env = {
		    .time_received_ns = i, .len = sizeof(data), .data = data};
		CHECK_EQ(bus_producer_send(p, &env), 0);
	}
	bus_producer_free(p); /* waits for the time-outs */
	CHECK_EQ(counter(reg, "weir_bus_kafka_dropped_total", "topic,reason", df), 5);
	CHECK_EQ(
	    counter(reg, "weir_bus_kafka_delivered_total", "topic", (const char *[]){"t-nowhere"}),
	    0);
	tcfg_fini(&t);
	metrics_registry_free(reg);
}
