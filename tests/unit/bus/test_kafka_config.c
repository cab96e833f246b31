// SPDX-License-Identifier: AGPL-3.0-or-later
/* The `bus:` section: defaults, every key bound, errors naming the key, and
 * librdkafka properties passed through (a bad one named in the error). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bus/bus.h"
#include "test.h"
#include "weir_config.h"

/* Loads `yaml` as a whole weir.yaml through weir_config_load(). */
static int load(const char *yaml, struct weir_config *cfg, struct config_error *err)
{
	char path[] = "/tmp/weir-bus-config-XXXXXX";
	int fd = mkstemp(path), r;
	FILE *fp;

	REQUIRE(fd >= 0);
	fp = fdopen(fd, "w");
	REQUIRE(fp != NULL);
	fputs(yaml, fp);
	fclose(fp);
	r = weir_config_load(cfg, path, err);
	unlink(path);
	return r;
}

TEST(bus_defaults)
{
	struct weir_config cfg;

	REQUIRE_EQ(weir_config_defaults(&cfg), 0);
	CHECK_EQ(cfg.bus.type, BUS_TYPE_RING);
	CHECK_EQ(cfg.bus.ring_size, 64ull << 20);
	CHECK_EQ(cfg.bus.ring_block_ms, 100);
	CHECK_STR(cfg.bus.kafka.topic, "weir-flows-raw");
	CHECK_STR(cfg.bus.kafka.consumer_group, "weir-outlet");
	CHECK_STR(cfg.bus.kafka.flows_topic, "");
	CHECK_EQ(cfg.bus.kafka.partitions, 8);
	CHECK_EQ(cfg.bus.kafka.replication_factor, 1);
	CHECK_EQ(cfg.bus.kafka.compression, BUS_KAFKA_COMPRESSION_LZ4);
	CHECK_EQ(cfg.bus.kafka.brokers.count, 0);
	CHECK(cfg.bus.kafka.producer == NULL);
	weir_config_free(&cfg);
}

TEST(bus_every_key)
{
	struct weir_config cfg;
	struct config_error err = {""};
	const char *yaml = "bus:\n"
			   "  type: kafka\n"
			   "  ring-size: 128MiB\n"
			   "  ring-block: 250ms\n"
			   "  kafka:\n"
			   "    brokers: [k1:9092, 'k2:9093']\n"
			   "    topic: raw\n"
			   "    partitions: 16\n"
			   "    replication-factor: 3\n"
			   "    consumer-group: outlets\n"
			   "    flows-topic: enriched\n"
			   "    compression: zstd\n"
			   "    tls:\n"
			   "      enabled: true\n"
			   "      ca-file: /etc/ca.pem\n"
			   "      cert-file: /etc/c.pem\n"
			   "      key-file: /etc/k.pem\n"
			   "      insecure-skip-verify: true\n"
			   "    sasl:\n"
			   "      mechanism: scram-sha-512\n"
			   "      username: u\n"
			   "      password: p\n"
			   "    producer:\n"
			   "      linger.ms: 20\n"
			   "      queue.buffering.max.messages: 1000\n"
			   "    consumer:\n"
			   "      session.timeout.ms: 6000\n";

	REQUIRE_EQ(load(yaml, &cfg, &err), 0);
	CHECK_EQ(cfg.bus.type, BUS_TYPE_KAFKA);
	CHECK_EQ(cfg.bus.ring_size, 128ull << 20);
	CHECK_EQ(cfg.bus.ring_block_ms, 250);
	REQUIRE_EQ(cfg.bus.kafka.brokers.count, 2);
	CHECK_STR(((char **)cfg.bus.kafka.brokers.items)[0], "k1:9092");
	CHECK_STR(((char **)cfg.bus.kafka.brokers.items)[1], "k2:9093");
	CHECK_STR(cfg.bus.kafka.topic, "raw");
	CHECK_EQ(cfg.bus.kafka.partitions, 16);
	CHECK_EQ(cfg.bus.kafka.replication_factor, 3);
	CHECK_STR(cfg.bus.kafka.consumer_group, "outlets");
	CHECK_STR(cfg.bus.kafka.flows_topic, "enriched");
	CHECK_EQ(cfg.bus.kafka.compression, BUS_KAFKA_COMPRESSION_ZSTD);
	CHECK_EQ(cfg.bus.kafka.tls.enabled, 1);
	CHECK_STR(cfg.bus.kafka.tls.ca_file, "/etc/ca.pem");
	CHECK_STR(cfg.bus.kafka.tls.cert_file, "/etc/c.pem");
	CHECK_STR(cfg.bus.kafka.tls.key_file, "/etc/k.pem");
	CHECK_EQ(cfg.bus.kafka.tls.insecure_skip_verify, 1);
	CHECK_EQ(cfg.bus.kafka.sasl.mechanism, BUS_KAFKA_SASL_SCRAM_SHA_512);
	CHECK_STR(cfg.bus.kafka.sasl.username, "u");
	CHECK_STR(cfg.bus.kafka.sasl.password, "p");
	REQUIRE(cfg.bus.kafka.producer != NULL);
	REQUIRE_EQ(cfg.bus.kafka.producer->nchildren, 2);
	CHECK_STR(cfg.bus.kafka.producer->children[0]->key, "linger.ms");
	CHECK_STR(cfg.bus.kafka.producer->children[0]->value, "20");
	REQUIRE(cfg.bus.kafka.consumer != NULL);
	CHECK_STR(cfg.bus.kafka.consumer->children[0]->key, "session.timeout.ms");
	weir_config_free(&cfg);
}

static void expect_error(const char *yaml, const char *needle)
{
	struct weir_config cfg;
	struct config_error err = {""};

	CHECK_EQ(load(yaml, &cfg, &err), -EINVAL);
	if (!strstr(err.text, needle))
		test_fail_at(__FILE__, __LINE__, "error \"%s\" does not name \"%s\"", err.text,
			     needle);
	weir_config_free(&cfg);
}

TEST(bus_errors_name_the_key)
{
	expect_error("bus:\n  kafka:\n    topik: x\n", "bus.kafka.topik");
	expect_error("bus:\n  kafka:\n    compression: brotli\n", "bus.kafka.compression");
	expect_error("bus:\n  kafka:\n    partitions: 0\n", "bus.kafka.partitions");
	expect_error("bus:\n  type: kafka\n", "bus.kafka.brokers");
	expect_error("bus:\n  kafka:\n    producer: [a, b]\n", "bus.kafka.producer");
	expect_error("bus:\n  kafka:\n    producer:\n      x: {a: 1}\n", "bus.kafka.producer");
	expect_error("bus:\n  type: kafka\n  kafka:\n    brokers: [a:1]\n    sasl:\n"
		     "      mechanism: plain\n",
		     "bus.kafka.sasl");
	expect_error("bus:\n  type: carrier-pigeon\n", "bus.type");
}

TEST(bus_kafka_bad_property_is_named)
{
	struct weir_config cfg;
	struct config_error cerr = {""};
	struct bus_producer *p = NULL;
	struct bus_consumer *c = NULL;
	char err[512] = "";

	REQUIRE_EQ(load("bus:\n  type: kafka\n  kafka:\n    brokers: [127.0.0.1:1]\n"
			"    producer:\n      no.such.property: 1\n"
			"    consumer:\n      fetch.min.bytes: many\n",
			&cfg, &cerr),
		   0);
	CHECK_EQ(bus_kafka_producer_new(&cfg.bus, NULL, &p, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "bus.kafka.producer.no.such.property") != NULL);
	CHECK_EQ(bus_kafka_consumer_new(&cfg.bus, NULL, &c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "bus.kafka.consumer.fetch.min.bytes") != NULL);
	weir_config_free(&cfg);
}
