// SPDX-License-Identifier: AGPL-3.0-or-later
/* The `bus:` section: defaults, every key bound, errors naming the key,
 * every TLS/SASL key and pass-through property reaching the librdkafka
 * property it stands for, and bad values reported at load time as
 * file:line: key. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/bus.h"
#include "bus/kafka_internal.h"
#include "test.h"
#include "test_weir_config.h"
#include "weir_config.h"

/* A throw-away self-signed certificate and its key (P-256, test only):
 * librdkafka loads TLS files when a client is made, and the configuration
 * check makes one. */
static const char test_cert[] = "-----BEGIN CERTIFICATE-----\n"
				"MIIBfzCCASWgAwIBAgIUGJ/F0sFTm7OIgCWTothPF05nvDAwCgYIKoZIzj0EAwIw\n"
				"FDESMBAGA1UEAwwJd2Vpci10ZXN0MCAXDTI2MTEyMzE5MjMyNFoYDzIxMjYxMDMw\n"
				"MTkyMzI0WjAUMRIwEAYDVQQDDAl3ZWlyLXRlc3QwWTATBgcqhkjOPQIBBggqhkjO\n"
				"PQMBBwNCAATEEZG7zaAwShxac+wyufD5xqQYT8zhyxTe4yYV0faQ1Wm3pSTw/YSx\n"
				"FYVa0kADgK4K3aAZIU85SwASomIwVZwSo1MwUTAdBgNVHQ4EFgQUfHV2ScBshvH6\n"
				"+fO1+rlccoi/yYowHwYDVR0jBBgwFoAUfHV2ScBshvH6+fO1+rlccoi/yYowDwYD\n"
				"VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiAuVuqU9QcODtkDI+gwkBEE\n"
				"gizhg5J1BVbQHCrxPbyR5QIhAJD9J2SXxjQPJ4vLc5wERc/fjMk7zMEGKTcwy45K\n"
				"Lwwr\n"
				"-----END CERTIFICATE-----\n";
static const char test_key[] = "-----BEGIN PRIVATE KEY-----\n"
			       "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgCtgNu1IL9DVRpezz\n"
			       "NAvkGFmOaeGNJI26DffSK9Td8AGhRANCAATEEZG7zaAwShxac+wyufD5xqQYT8zh\n"
			       "yxTe4yYV0faQ1Wm3pSTw/YSxFYVa0kADgK4K3aAZIU85SwASomIwVZwS\n"
			       "-----END PRIVATE KEY-----\n";

/* Files in a temporary directory: ca.pem, c.pem (the certificate), k.pem
 * (its key), bad.pem (not PEM). */
struct pem_dir {
	char dir[64], ca[96], cert[96], key[96], bad[96];
};

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	REQUIRE(fp != NULL);
	fputs(text, fp);
	fclose(fp);
}

static void pem_dir_init(struct pem_dir *d)
{
	strcpy(d->dir, "/tmp/weir-bus-pem-XXXXXX");
	REQUIRE(mkdtemp(d->dir) != NULL);
	snprintf(d->ca, sizeof(d->ca), "%s/ca.pem", d->dir);
	snprintf(d->cert, sizeof(d->cert), "%s/c.pem", d->dir);
	snprintf(d->key, sizeof(d->key), "%s/k.pem", d->dir);
	snprintf(d->bad, sizeof(d->bad), "%s/bad.pem", d->dir);
	write_file(d->ca, test_cert);
	write_file(d->cert, test_cert);
	write_file(d->key, test_key);
	write_file(d->bad, "not a certificate\n");
}

static void pem_dir_fini(struct pem_dir *d)
{
	unlink(d->ca);
	unlink(d->cert);
	unlink(d->key);
	unlink(d->bad);
	rmdir(d->dir);
}

TEST(bus_defaults)
{
	struct weir_config cfg;

	REQUIRE_EQ(weir_config_defaults(&cfg), 0);
	CHECK_EQ(cfg.bus.type, BUS_TYPE_RING);
	CHECK_EQ(cfg.bus.ring_size, 64ull << 20);
	CHECK_EQ(cfg.bus.ring_exporter_share, 50);
	CHECK_EQ(cfg.bus.ring_block_ms, 0);
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

/* Every key of the section; %s: the CA, certificate and key files. */
static const char every_key_yaml[] = "bus:\n"
				     "  type: kafka\n"
				     "  ring-size: 128MiB\n"
				     "  ring-block: 250ms\n"
				     "  ring-exporter-share: 30\n"
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
				     "      ca-file: %s\n"
				     "      cert-file: %s\n"
				     "      key-file: %s\n"
				     "      insecure-skip-verify: true\n"
				     "    sasl:\n"
				     "      mechanism: scram-sha-512\n"
				     "      username: u\n"
				     "      password: p\n"
				     "    producer:\n"
				     "      linger.ms: 20\n"
				     "      queue.buffering.max.messages: 1000\n"
				     "    consumer:\n"
				     "      session.timeout.ms: 6000\n"
				     "      enable.auto.commit: true\n";

TEST(bus_every_key)
{
	struct weir_config cfg;
	struct config_error err = {""};
	struct pem_dir d;
	char yaml[2048];

	pem_dir_init(&d);
	snprintf(yaml, sizeof(yaml), every_key_yaml, d.ca, d.cert, d.key);
	if (test_weir_config_load(yaml, &cfg, &err) != 0)
		test_fail_at(__FILE__, __LINE__, "load: %s", err.text);
	CHECK_EQ(cfg.bus.type, BUS_TYPE_KAFKA);
	CHECK_EQ(cfg.bus.ring_size, 128ull << 20);
	CHECK_EQ(cfg.bus.ring_block_ms, 250); /* deprecated: read, ignored */
	CHECK_EQ(cfg.bus.ring_exporter_share, 30);
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
	CHECK_STR(cfg.bus.kafka.tls.ca_file, d.ca);
	CHECK_STR(cfg.bus.kafka.tls.cert_file, d.cert);
	CHECK_STR(cfg.bus.kafka.tls.key_file, d.key);
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
	pem_dir_fini(&d);
}

static void expect_error(const char *yaml, const char *needle)
{
	struct weir_config cfg;
	struct config_error err = {""};

	CHECK_EQ(test_weir_config_load(yaml, &cfg, &err), -EINVAL);
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

/* The value librdkafka holds for `prop` is `want`. */
#define CHECK_PROP(conf, prop, want)                                                               \
	do {                                                                                       \
		char v_[1024] = "";                                                                \
		size_t n_ = sizeof(v_);                                                            \
		if (rd_kafka_conf_get(conf, prop, v_, &n_) != RD_KAFKA_CONF_OK)                    \
			test_fail_at(__FILE__, __LINE__, "property %s unknown", prop);             \
		else if (strcmp(v_, want) != 0)                                                    \
			test_fail_at(__FILE__, __LINE__, "%s: \"%s\", expected \"%s\"", prop, v_,  \
				     want);                                                        \
	} while (0)

/* Every TLS and SASL key, the compression and the pass-through maps reach
 * the producer's and the consumer's librdkafka configuration. */
TEST(bus_kafka_keys_reach_librdkafka)
{
	struct weir_config cfg;
	struct config_error cerr = {""};
	struct pem_dir d;
	rd_kafka_conf_t *pc, *cc;
	struct error err = {""};
	char yaml[2048];

	pem_dir_init(&d);
	snprintf(yaml, sizeof(yaml), every_key_yaml, d.ca, d.cert, d.key);
	if (test_weir_config_load(yaml, &cfg, &cerr) != 0)
		test_fail_at(__FILE__, __LINE__, "load: %s", cerr.text);
	pc = kafka_producer_conf(&cfg.bus, &err);
	cc = kafka_consumer_conf(&cfg.bus, &err);
	REQUIRE(pc != NULL);
	REQUIRE(cc != NULL);
	for (int i = 0; i < 2; i++) {
		rd_kafka_conf_t *c = i ? cc : pc;

		CHECK_PROP(c, "bootstrap.servers", "k1:9092,k2:9093");
		CHECK_PROP(c, "security.protocol", "sasl_ssl");
		CHECK_PROP(c, "ssl.ca.location", d.ca);
		CHECK_PROP(c, "ssl.certificate.location", d.cert);
		CHECK_PROP(c, "ssl.key.location", d.key);
		CHECK_PROP(c, "enable.ssl.certificate.verification", "false");
		CHECK_PROP(c, "ssl.endpoint.identification.algorithm", "none");
		CHECK_PROP(c, "sasl.mechanisms", "SCRAM-SHA-512");
		CHECK_PROP(c, "sasl.username", "u");
		CHECK_PROP(c, "sasl.password", "p");
	}
	CHECK_PROP(pc, "compression.codec", "zstd");
	CHECK_PROP(pc, "linger.ms", "20");
	CHECK_PROP(pc, "queue.buffering.max.messages", "1000");
	CHECK_PROP(pc, "enable.idempotence", "true");
	CHECK_PROP(cc, "session.timeout.ms", "6000");
	CHECK_PROP(cc, "group.id", "outlets");
	/* at-least-once is not the user's to undo */
	CHECK_PROP(cc, "enable.auto.commit", "false");
	CHECK_PROP(cc, "enable.auto.offset.store", "false");
	rd_kafka_conf_destroy(pc);
	rd_kafka_conf_destroy(cc);
	weir_config_free(&cfg);
	pem_dir_fini(&d);
}

/* Each mechanism, TLS with and without SASL, and neither. */
TEST(bus_kafka_security_protocols)
{
	static const struct {
		const char *section, *protocol, *mechanisms, *verify;
	} cases[] = {
	    {"", "plaintext", NULL, NULL},
	    {"    tls:\n      enabled: true\n", "ssl", NULL, "true"},
	    {"    sasl:\n      mechanism: plain\n      username: a\n      password: b\n",
	     "sasl_plaintext", "PLAIN", NULL},
	    {"    sasl:\n      mechanism: scram-sha-256\n      username: a\n      password: b\n",
	     "sasl_plaintext", "SCRAM-SHA-256", NULL},
	    {"    tls:\n      enabled: true\n    sasl:\n      mechanism: plain\n"
	     "      username: a\n      password: b\n",
	     "sasl_ssl", "PLAIN", "true"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct weir_config cfg;
		struct config_error cerr = {""};
		rd_kafka_conf_t *c;
		struct error err = {""};
		char yaml[512];

		snprintf(yaml, sizeof(yaml),
			 "bus:\n  type: kafka\n  kafka:\n    brokers: [b:1]\n%s", cases[i].section);
		if (test_weir_config_load(yaml, &cfg, &cerr) != 0) {
			test_fail_at(__FILE__, __LINE__, "case %zu: %s", i, cerr.text);
			weir_config_free(&cfg);
			continue;
		}
		c = kafka_consumer_conf(&cfg.bus, &err);
		REQUIRE(c != NULL);
		CHECK_PROP(c, "security.protocol", cases[i].protocol);
		if (cases[i].mechanisms) {
			CHECK_PROP(c, "sasl.mechanisms", cases[i].mechanisms);
			CHECK_PROP(c, "sasl.username", "a");
			CHECK_PROP(c, "sasl.password", "b");
		}
		if (cases[i].verify)
			CHECK_PROP(c, "enable.ssl.certificate.verification", cases[i].verify);
		rd_kafka_conf_destroy(c);
		weir_config_free(&cfg);
	}
}

/* `yaml` does not load (at_start: it loads, but bus_kafka_config_verify(),
 * what the roles run before they start, refuses it); the error starts with
 * "FILE:LINE: KEY: " and mentions `needle`. */
static void expect_at(const char *yaml, int at_start, unsigned line, const char *key,
		      const char *needle, int src_line)
{
	struct weir_config cfg;
	struct config_error err = {""};
	char where[256];
	const char *colon;
	int ret = test_weir_config_load(yaml, &cfg, &err);

	if (at_start && ret == 0)
		ret = bus_kafka_config_verify(&cfg.bus, cfg.doc, &err);
	else if (at_start)
		test_fail_at(__FILE__, src_line, "refused at load, not at start: %s", err.text);
	weir_config_free(&cfg);
	if (ret != -EINVAL) {
		test_fail_at(__FILE__, src_line, "accepted, expected an error on %s", key);
		return;
	}
	snprintf(where, sizeof(where), ":%u: %s: ", line, key);
	colon = strchr(err.text, ':');
	if (strncmp(err.text, TEST_WEIR_CONFIG_PREFIX, strlen(TEST_WEIR_CONFIG_PREFIX)) != 0 ||
	    !colon || strncmp(colon, where, strlen(where)) != 0 || !strstr(err.text, needle))
		test_fail_at(__FILE__, src_line, "error \"%s\": expected FILE%s...%s...", err.text,
			     where, needle);
}

/* A bad value is a configuration error naming the file, the line and the
 * key: at load time what the file alone shows, the rest (TLS files, what
 * librdkafka checks only when a client is made) before any role starts. */
TEST(bus_kafka_bad_values_name_file_line_key)
{
	struct pem_dir d;
	char yaml[1024];
	const char *head = "bus:\n  type: kafka\n  kafka:\n    brokers: [127.0.0.1:1]\n";

	/* values librdkafka refuses when set */
	snprintf(yaml, sizeof(yaml),
		 "%s    producer:\n      linger.ms: 5\n      no.such.property: 1\n", head);
	expect_at(yaml, 0, 7, "bus.kafka.producer.no.such.property", "No such configuration",
		  __LINE__);
	snprintf(yaml, sizeof(yaml), "%s    consumer:\n      fetch.min.bytes: many\n", head);
	expect_at(yaml, 0, 6, "bus.kafka.consumer.fetch.min.bytes", "fetch.min.bytes", __LINE__);
	/* combinations librdkafka refuses only when a client is made */
	snprintf(yaml, sizeof(yaml), "%s    producer:\n      acks: 1\n", head);
	expect_at(yaml, 1, 6, "bus.kafka.producer.acks", "idempotence", __LINE__);

	/* TLS files: missing, not PEM, set while TLS is off */
	pem_dir_init(&d);
	snprintf(yaml, sizeof(yaml),
		 "%s    tls:\n      enabled: true\n      ca-file: %s/none.pem\n", head, d.dir);
	expect_at(yaml, 1, 7, "bus.kafka.tls.ca-file", "cannot read", __LINE__);
	snprintf(yaml, sizeof(yaml), "%s    tls:\n      enabled: true\n      ca-file: %s\n", head,
		 d.bad);
	expect_at(yaml, 1, 7, "bus.kafka.tls.ca-file", "ssl.ca.location", __LINE__);
	snprintf(yaml, sizeof(yaml),
		 "%s    tls:\n      enabled: true\n      cert-file: %s\n      key-file: %s\n", head,
		 d.cert, d.bad);
	expect_at(yaml, 1, 8, "bus.kafka.tls.key-file", "ssl.key.location", __LINE__);
	snprintf(yaml, sizeof(yaml), "%s    tls:\n      ca-file: %s\n", head, d.ca);
	expect_at(yaml, 0, 6, "bus.kafka.tls.ca-file", "enabled is false", __LINE__);
	/* and the same files, right, load */
	snprintf(yaml, sizeof(yaml),
		 "%s    tls:\n      enabled: true\n      ca-file: %s\n      cert-file: %s\n"
		 "      key-file: %s\n",
		 head, d.ca, d.cert, d.key);
	{
		struct weir_config cfg;
		struct config_error err = {""};

		if (test_weir_config_load(yaml, &cfg, &err) != 0 ||
		    bus_kafka_config_verify(&cfg.bus, cfg.doc, &err))
			test_fail_at(__FILE__, __LINE__, "good TLS files refused: %s", err.text);
		weir_config_free(&cfg);
	}
	pem_dir_fini(&d);
	/* SASL without its credentials */
	snprintf(yaml, sizeof(yaml), "%s    sasl:\n      mechanism: plain\n", head);
	expect_at(yaml, 0, 6, "bus.kafka.sasl", "username", __LINE__);
}
