// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir bench kafka`: envelopes per second through the Kafka bus, producer ->
 * brokers -> consumer group, pipelined as inlet and outlet run. With no broker
 * configured, librdkafka's in-process mock cluster stands in for Kafka, so the
 * figure exists on a machine without Kafka (and counts the broker's CPU). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h> /* before rdkafka_mock.h, which needs it */
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdatomic.h>

#include "bench.h"
#include "bus/bus.h"
#include "common/cli_opts.h"
#include "common/clock.h"

#define WARMUP_MARK  UINT64_MAX
#define COMMIT_EVERY 50000
#define POOL_SIZE    (32u << 20)

struct kafka_result {
	uint64_t sent, received;
	uint64_t dropped;	/* send() refusals on a full queue (each waited and retried) */
	double produce_seconds; /* send() of every datagram, then flush */
	double total_seconds;	/* first send to last envelope consumed */
};

struct bench_consumer {
	struct bus_consumer *c;
	uint64_t want;
	_Atomic int warm; /* the warm-up envelope came: the group is joined */
	_Atomic int stop;
	_Atomic uint64_t received;
	double last; /* when the last counted envelope came */
};

static void *consume_main(void *arg)
{
	struct bench_consumer *b = arg;
	struct bus_envelope envs[512];
	uint64_t since_commit = 0, got = 0;

	while (!atomic_load(&b->stop) && got < b->want) {
		int n = bus_consumer_poll(b->c, envs, 512, 100);

		if (n <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (envs[i].time_received_ns == WARMUP_MARK)
				atomic_store(&b->warm, 1);
			else
				got++;
		}
		since_commit += (uint64_t)n;
		bus_consumer_release(b->c, since_commit >= COMMIT_EVERY || got >= b->want);
		if (since_commit >= COMMIT_EVERY)
			since_commit = 0;
		atomic_store(&b->received, got);
		b->last = clock_mono_s();
	}
	return NULL;
}

/* Throughput of producer -> brokers -> consumer for `count` datagrams of
 * `len` bytes from 64 exporters, on a fresh topic. With no brokers in cfg,
 * an in-process librdkafka mock cluster stands in (so `weir bench kafka`
 * runs on a machine without Kafka). Returns 0 or -errno with `err` filled. */
static int kafka_run(const struct bus_config *cfg, uint64_t count, uint32_t len,
		     struct kafka_result *res, struct error *err)
{
	struct bus_config bc = *cfg;
	rd_kafka_t *mock_rk = NULL;
	rd_kafka_mock_cluster_t *mc = NULL;
	char topic[96], group[96], *bootstrap = NULL, why[512];
	struct error berr = {""};
	struct bus_producer *p = NULL;
	struct bench_consumer b = {.want = count};
	pthread_t thread;
	int started = 0, ret = 0;
	uint8_t *payload = NULL;
	double t0, stalled_since;
	uint64_t last_seen = 0, window = 0;

	memset(res, 0, sizeof(*res));
	if (len == 0 || len > BUS_MAX_DATAGRAM || count == 0)
		return error_set(err, -EINVAL, "bad datagram size or count");
	snprintf(topic, sizeof(topic), "weir-bench-%d-%ld", (int)getpid(), (long)time(NULL));
	snprintf(group, sizeof(group), "%s-outlet", topic);
	bc.kafka.topic = topic;
	bc.kafka.consumer_group = group;
	if (cfg->kafka.brokers.count == 0) {
		rd_kafka_conf_t *conf = rd_kafka_conf_new();

		rd_kafka_conf_set(conf, "log_level", "3", why, sizeof(why));
		mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
		if (!mock_rk) {
			rd_kafka_conf_destroy(conf);
			return error_set(err, -EINVAL, "mock cluster: %s", why);
		}
		mc = rd_kafka_mock_cluster_new(mock_rk, 1);
		if (!mc) {
			ret = error_set(err, -EIO, "mock cluster: cannot start");
			goto out;
		}
		rd_kafka_mock_topic_create(mc, topic, (int)cfg->kafka.partitions, 1);
		bootstrap = strdup(rd_kafka_mock_cluster_bootstraps(mc));
		bc.kafka.brokers.items = &bootstrap;
		bc.kafka.brokers.count = 1;
		/* whatever the keys' spread, no partition holds more than 4 MB */
		window = (4u << 20) / len;
	} else {
		ret = bus_kafka_topic_ensure(&bc, &berr);
		if (ret < 0)
			goto out;
	}
	/* Random bytes, each datagram at another place in a pool larger than
	 * any codec's window: no compression gets an easy ride (real datagrams
	 * compress somewhat better). */
	payload = malloc(POOL_SIZE + len);
	if (!payload) {
		ret = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0, x = 2463534242u; i < POOL_SIZE + len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		payload[i] = (uint8_t)x;
	}
	ret = bus_kafka_consumer_new(&bc, NULL, &b.c, &berr);
	if (ret < 0)
		goto out;
	ret = bus_kafka_producer_new(&bc, NULL, &p, &berr);
	if (ret < 0)
		goto out;
	if (pthread_create(&thread, NULL, consume_main, &b) != 0) {
		ret = -EAGAIN;
		goto out;
	}
	started = 1;

	/* Timing starts once the consumer has joined its group. */
	struct bus_envelope env = {.time_received_ns = WARMUP_MARK, .len = len, .data = payload};
	for (double end = clock_mono_s() + 60; !atomic_load(&b.warm);) {
		if (clock_mono_s() > end) {
			ret = error_set(err, -ETIMEDOUT, "the consumer got nothing in 60 s");
			goto out;
		}
		bus_producer_send(p, &env);
		bus_producer_flush(p, 1000);
		usleep(100000);
	}
	t0 = clock_mono_s();
	for (uint64_t i = 0; i < count; i++) {
		env.time_received_ns = i;
		env.exporter.s6_addr[10] = env.exporter.s6_addr[11] = 0xff;
		env.exporter.s6_addr[15] = (uint8_t)(i % 64);
		env.exporter_port = 2055;
		env.data = payload + (i * 1409) % POOL_SIZE;
		/* The mock cluster keeps 5 MB per partition: never let the
		 * consumer fall that far behind, or the log drops messages. */
		while (window && res->sent - atomic_load(&b.received) > window)
			usleep(200);
		/* Zero loss: a full queue is waited on, and counted. */
		while (bus_producer_send(p, &env) == -ENOBUFS) {
			res->dropped++;
			bus_producer_flush(p, 1);
		}
		res->sent++;
	}
	bus_producer_flush(p, 60000);
	res->produce_seconds = clock_mono_s() - t0;

	stalled_since = clock_mono_s();
	while (atomic_load(&b.received) < count) {
		uint64_t r = atomic_load(&b.received);

		if (r != last_seen) {
			last_seen = r;
			stalled_since = clock_mono_s();
		} else if (clock_mono_s() - stalled_since > 30) {
			ret = error_set(err, -ETIMEDOUT, "the consumer stalled at %llu of %llu",
					(unsigned long long)r, (unsigned long long)count);
			break;
		}
		usleep(10000);
	}
	atomic_store(&b.stop, 1);
	pthread_join(thread, NULL);
	started = 0;
	res->received = atomic_load(&b.received);
	res->total_seconds = b.last - t0;
out:
	if (started) {
		atomic_store(&b.stop, 1);
		pthread_join(thread, NULL);
	}
	if (berr.text[0])
		error_set(err, ret, "%s", berr.text);
	bus_producer_free(p);
	bus_consumer_free(b.c);
	free(payload);
	if (mc)
		rd_kafka_mock_cluster_destroy(mc);
	if (mock_rk)
		rd_kafka_destroy(mock_rk);
	free(bootstrap);
	return ret;
}

static void usage(FILE *out, const void *ctx)
{
	fprintf(out, "usage: weir bench kafka [--count N] [--size BYTES] [--partitions N]\n"
		     "                        [--broker HOST:PORT]\n"
		     "                        [--compression lz4|zstd|none]\n"
		     "                        [--set producer.KEY=VALUE|consumer.KEY=VALUE]...\n"
		     "Envelopes/s through producer -> Kafka -> consumer group (default: "
		     "500000 datagrams of 1400 bytes, lz4,\nan in-process librdkafka mock "
		     "cluster when no --broker is given).\n");
}

int bench_kafka_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"count", required_argument, NULL, 'n'},	   {"size", required_argument, NULL, 's'},
	    {"partitions", required_argument, NULL, 'p'},  {"broker", required_argument, NULL, 'b'},
	    {"compression", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'},
	    {"set", required_argument, NULL, 'X'},	   {0},
	};
	char props[2][2048] = {"producer:\n", "consumer:\n"}, yaml[4200];
	struct config_doc *doc = NULL;
	struct config_error cerr;
	struct kafka_result res;
	struct bus_config cfg;
	unsigned long long count = 500000;
	unsigned long size = 1400;
	char *broker = NULL;
	struct error err = {""};
	struct cli_opts cli;
	int o, r;

	if (bus_config_defaults(&cfg) < 0)
		return 1;
	cli_opts_init(&cli, argc, argv, "n:s:p:b:c:hX:", opts, usage, NULL);
	while ((o = cli_opts_next(&cli)) >= 0) {
		switch (o) {
		case 'X': {
			/* producer.KEY=VALUE or consumer.KEY=VALUE: a librdkafka property */
			int which = !strncmp(optarg, "consumer.", 9);
			const char *kv = optarg + 9; /* both prefixes are 9 characters */
			char *eq = strchr(optarg, '=');
			size_t used = strlen(props[which]);

			if (strncmp(optarg, "producer.", 9) && strncmp(optarg, "consumer.", 9))
				goto usage;
			if (!eq || snprintf(props[which] + used, sizeof(props[which]) - used,
					    "  \"%.*s\": \"%s\"\n", (int)(eq - kv), kv,
					    eq + 1) >= (int)(sizeof(props[which]) - used))
				goto usage;
			break;
		}
		case 'n':
			count = strtoull(optarg, NULL, 0);
			break;
		case 's':
			size = strtoul(optarg, NULL, 0);
			break;
		case 'p':
			cfg.kafka.partitions = strtoull(optarg, NULL, 0);
			if (cfg.kafka.partitions < 1 || cfg.kafka.partitions > 1024)
				goto usage;
			break;
		case 'b':
			broker = optarg;
			break;
		case 'c':
			if (!strcmp(optarg, "none"))
				cfg.kafka.compression = BUS_KAFKA_COMPRESSION_NONE;
			else if (!strcmp(optarg, "zstd"))
				cfg.kafka.compression = BUS_KAFKA_COMPRESSION_ZSTD;
			else if (!strcmp(optarg, "lz4"))
				cfg.kafka.compression = BUS_KAFKA_COMPRESSION_LZ4;
			else
				goto usage;
			break;
		}
	}
	if (o == CLI_OPTS_EXIT) {
		config_free_bound(bus_config_fields, &cfg);
		return cli.status;
	}
	if (broker) {
		cfg.kafka.brokers.items = calloc(1, sizeof(char *));
		if (!cfg.kafka.brokers.items)
			return 1;
		((char **)cfg.kafka.brokers.items)[0] = strdup(broker);
		cfg.kafka.brokers.count = 1;
	}
	if (!broker) {
		/* librdkafka's mock answers a fetch only after the consumer's
		 * fetch.wait.max.ms (500 ms) even when data is there: a Kafka
		 * broker answers as soon as it has some. Ask it not to wait (a
		 * --set of the same key still wins: it comes later). */
		char tmp[sizeof(props[1])];

		snprintf(tmp, sizeof(tmp), "consumer:\n  fetch.wait.max.ms: 1\n%s",
			 props[1] + strlen("consumer:\n"));
		memcpy(props[1], tmp, sizeof(tmp));
	}
	snprintf(yaml, sizeof(yaml), "%s%s", strchr(props[0], ' ') ? props[0] : "",
		 strchr(props[1], ' ') ? props[1] : "");
	if (*yaml) {
		doc = config_doc_load_string("--set", yaml, &cerr);
		if (!doc) {
			fprintf(stderr, "weir bench kafka: %s\n", cerr.text);
			goto usage;
		}
		cfg.kafka.producer = config_node_get(doc->root, "producer");
		cfg.kafka.consumer = config_node_get(doc->root, "consumer");
	}
	r = kafka_run(&cfg, count, (uint32_t)size, &res, &err);
	if (r < 0) {
		fprintf(stderr, "weir bench kafka: %s\n", err.text);
	} else {
		printf("kafka bus (%s, %u partitions, %s): %llu datagrams of %lu bytes\n",
		       broker ? broker : "in-process mock cluster, fetch.wait.max.ms=1",
		       (unsigned)cfg.kafka.partitions,
		       cfg.kafka.compression == BUS_KAFKA_COMPRESSION_NONE   ? "none"
		       : cfg.kafka.compression == BUS_KAFKA_COMPRESSION_ZSTD ? "zstd"
									     : "lz4",
		       count, size);
		printf(
		    "  produce:    %10.0f envelopes/s  (%.1f MB/s, %llu waits on a full queue)\n",
		    (double)res.sent / res.produce_seconds,
		    (double)res.sent * (double)size / res.produce_seconds / 1e6,
		    (unsigned long long)res.dropped);
		printf("  end to end: %10.0f envelopes/s  (%llu of %llu consumed, lost %llu)\n",
		       (double)res.received / res.total_seconds, (unsigned long long)res.received,
		       (unsigned long long)res.sent, (unsigned long long)(res.sent - res.received));
	}
	config_free_bound(bus_config_fields, &cfg);
	config_doc_free(doc);
	return r < 0 ? 1 : 0;
usage:
	config_free_bound(bus_config_fields, &cfg);
	return cli_opts_usage_error(&cli);
}
