/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* What the Kafka bus's files share: the `bus.kafka:` section, librdkafka
 * configuration from it, and one producing client (a topic, its poller thread, its
 * counters) behind both the envelope producer and the flows producer. */
#ifndef WEIR_BUS_KAFKA_INTERNAL_H
#define WEIR_BUS_KAFKA_INTERNAL_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>

#include "bus.h"

/* kafka_config.c: the `bus.kafka:` section of bus_config_fields. */
extern const struct config_field kafka_config_fields[];
/* Fills Kafka's defaults into a zeroed `k`. Returns 0 or -ENOMEM. */
int kafka_config_defaults(struct bus_kafka_config *k);
/* bus_config_check() of a bus whose type is kafka. Returns 0 or -EINVAL. */
int kafka_config_check(const struct bus_config *cfg, const struct config_doc *doc,
		       struct config_error *err);

/* A librdkafka configuration with the brokers, TLS, SASL, logging, then
 * `defaults` (key, value, ..., NULL), then `extra` (the producer: or
 * consumer: map, named extra_name in errors; "producer" also sets the
 * producer-only properties). NULL with `err` filled. */
rd_kafka_conf_t *kafka_conf_new(const struct bus_config *cfg, const char *const *defaults,
				const struct config_node *extra, const char *extra_name,
				struct error *err);

/* The whole configuration of the envelope and flow producers, and of the
 * outlet's consumers (group, at-least-once settings), without callbacks.
 * The configuration check builds them too. NULL with `err` filled. */
rd_kafka_conf_t *kafka_producer_conf(const struct bus_config *cfg, struct error *err);
rd_kafka_conf_t *kafka_consumer_conf(const struct bus_config *cfg, struct error *err);

/* Applies one property; `err` names it. Returns 0 or -EINVAL. */
int kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, struct error *err);

struct kafka_out {
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	pthread_t poller;
	int poller_started;
	_Atomic int stop;
	struct metric_series *sent, *delivered;
	struct metric_series *drop_queue_full, *drop_too_large, *drop_delivery, *drop_error;
};

/* Connects a producing client for `topic`. Returns 0, or -errno with `err`
 * filled. */
int kafka_out_init(struct kafka_out *o, const struct bus_config *cfg, const char *topic,
		   struct metrics_registry *metrics, struct error *err);
/* Queues a copy of (key, value). 0, -ENOBUFS (queue full), -EMSGSIZE or -EIO;
 * every failure is counted. Thread-safe. */
int kafka_out_send(struct kafka_out *o, const void *key, size_t keylen, const void *value,
		   size_t len);
int kafka_out_flush(struct kafka_out *o, int timeout_ms);
/* Flushes (up to timeout_ms), counts what could not be delivered, frees. */
void kafka_out_fini(struct kafka_out *o, int timeout_ms);

#endif
