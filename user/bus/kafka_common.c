// SPDX-License-Identifier: AGPL-3.0-or-later
/* librdkafka configuration from the `bus:` section (brokers, TLS, SASL, the
 * pass-through properties), its logs routed into ours, and the producing
 * client shared by the envelope and flow producers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../common/log.h"
#include "kafka_internal.h"

int kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, struct error *err)
{
	char why[512];

	if (rd_kafka_conf_set(conf, key, value, why, sizeof(why)) != RD_KAFKA_CONF_OK)
		return error_set(err, -EINVAL, "kafka property %s: %s", key, why);
	return 0;
}

/* librdkafka logs with syslog levels; reconnection storms are rate limited. */
static void kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	LOG_RATELIMIT(rl, 10);
	enum log_level l = level <= 3	? LOG_LEVEL_ERROR
			   : level == 4 ? LOG_LEVEL_WARN
			   : level <= 6 ? LOG_LEVEL_INFO
					: LOG_LEVEL_DEBUG;

	log_write_limited(&rl, l, "kafka", "client=%s facility=%s detail=\"%s\"", rd_kafka_name(rk),
			  fac, buf);
}

static void kafka_error(rd_kafka_t *rk, int errcode, const char *reason, void *opaque)
{
	LOG_RATELIMIT(rl, 5);

	log_write_limited(&rl, LOG_LEVEL_WARN, "kafka error", "client=%s error=%s detail=\"%s\"",
			  rd_kafka_name(rk), rd_kafka_err2name(errcode), reason);
}

static const char *const compression_names[] = {
    [BUS_KAFKA_COMPRESSION_LZ4] = "lz4",       [BUS_KAFKA_COMPRESSION_ZSTD] = "zstd",
    [BUS_KAFKA_COMPRESSION_NONE] = "none",     [BUS_KAFKA_COMPRESSION_GZIP] = "gzip",
    [BUS_KAFKA_COMPRESSION_SNAPPY] = "snappy",
};

static const char *const sasl_names[] = {
    [BUS_KAFKA_SASL_PLAIN] = "PLAIN",
    [BUS_KAFKA_SASL_SCRAM_SHA_256] = "SCRAM-SHA-256",
    [BUS_KAFKA_SASL_SCRAM_SHA_512] = "SCRAM-SHA-512",
};

rd_kafka_conf_t *kafka_conf_new(const struct bus_config *cfg, const char *const *defaults,
				const struct config_node *extra, const char *extra_name,
				struct error *err)
{
	const struct bus_kafka_config *k = &cfg->kafka;
	int producer = strcmp(extra_name, "producer") == 0;
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char brokers[2048] = "";
	size_t used = 0;
	int sasl = k->sasl.mechanism != BUS_KAFKA_SASL_NONE;

	if (!conf) {
		error_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < k->brokers.count; i++) {
		const char *b = ((char **)k->brokers.items)[i];
		int w = snprintf(brokers + used, sizeof(brokers) - used, "%s%s", i ? "," : "", b);

		if (w < 0 || (size_t)w >= sizeof(brokers) - used) {
			error_set(err, -EINVAL, "bus.kafka.brokers: list too long");
			goto fail;
		}
		used += (size_t)w;
	}
	if (!used) {
		error_set(err, -EINVAL, "bus.kafka.brokers: no broker configured");
		goto fail;
	}
	rd_kafka_conf_set_log_cb(conf, kafka_log);
	rd_kafka_conf_set_error_cb(conf, kafka_error);
	if (kafka_conf_set(conf, "bootstrap.servers", brokers, err) < 0 ||
	    kafka_conf_set(conf, "client.id", "weir", err) < 0 ||
	    kafka_conf_set(conf, "security.protocol",
			   k->tls.enabled ? (sasl ? "sasl_ssl" : "ssl")
					  : (sasl ? "sasl_plaintext" : "plaintext"),
			   err) < 0)
		goto fail;
	if (k->tls.enabled) {
		if ((k->tls.ca_file &&
		     kafka_conf_set(conf, "ssl.ca.location", k->tls.ca_file, err) < 0) ||
		    (k->tls.cert_file &&
		     kafka_conf_set(conf, "ssl.certificate.location", k->tls.cert_file, err) < 0) ||
		    (k->tls.key_file &&
		     kafka_conf_set(conf, "ssl.key.location", k->tls.key_file, err) < 0))
			goto fail;
		if (k->tls.insecure_skip_verify &&
		    (kafka_conf_set(conf, "enable.ssl.certificate.verification", "false", err) <
			 0 ||
		     kafka_conf_set(conf, "ssl.endpoint.identification.algorithm", "none", err) <
			 0))
			goto fail;
	}
	if (sasl &&
	    (kafka_conf_set(conf, "sasl.mechanisms", sasl_names[k->sasl.mechanism], err) < 0 ||
	     kafka_conf_set(conf, "sasl.username", k->sasl.username ? k->sasl.username : "", err) <
		 0 ||
	     kafka_conf_set(conf, "sasl.password", k->sasl.password ? k->sasl.password : "", err) <
		 0))
		goto fail;
	if (producer && k->compression >= 0 && k->compression <= BUS_KAFKA_COMPRESSION_SNAPPY &&
	    kafka_conf_set(conf, "compression.codec", compression_names[k->compression], err) < 0)
		goto fail;
	for (size_t i = 0; defaults && defaults[i]; i += 2)
		if (kafka_conf_set(conf, defaults[i], defaults[i + 1], err) < 0)
			goto fail;
	/* The user's properties come after our defaults: they win. */
	for (size_t i = 0; extra && i < extra->nchildren; i++) {
		const struct config_node *p = extra->children[i];
		char why[512];

		if (rd_kafka_conf_set(conf, p->key, p->value, why, sizeof(why)) !=
		    RD_KAFKA_CONF_OK) {
			error_set(err, -EINVAL, "bus.kafka.%s.%s: %s", extra_name, p->key, why);
			goto fail;
		}
	}
	return conf;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

/* ---- the producing client ---- */

static void delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct kafka_out *o = opaque;
	LOG_RATELIMIT(rl, 5);

	if (!m->err) {
		metric_add(o->delivered, 1);
		return;
	}
	metric_add(o->drop_delivery, 1);
	log_write_limited(&rl, LOG_LEVEL_WARN, "kafka delivery failed", "topic=%s error=%s",
			  rd_kafka_topic_name(m->rkt), rd_kafka_err2name(m->err));
}

/* Idempotence keeps each partition's order and drops the duplicates of
 * retries: an exporter's templates stay ahead of its data. */
static const char *const producer_defaults[] = {"enable.idempotence", "true", NULL};

rd_kafka_conf_t *kafka_producer_conf(const struct bus_config *cfg, struct error *err)
{
	return kafka_conf_new(cfg, producer_defaults, cfg->kafka.producer, "producer", err);
}

/* Delivery reports are served here, not on the senders' threads. */
static void *poller_main(void *arg)
{
	struct kafka_out *o = arg;

	while (!atomic_load(&o->stop))
		rd_kafka_poll(o->rk, 100);
	return NULL;
}

int kafka_out_init(struct kafka_out *o, const struct bus_config *cfg, const char *topic,
		   struct metrics_registry *metrics, struct error *err)
{
	rd_kafka_conf_t *conf;
	char why[512];

	memset(o, 0, sizeof(*o));
	conf = kafka_producer_conf(cfg, err);
	if (!conf)
		return -EINVAL;
	rd_kafka_conf_set_dr_msg_cb(conf, delivered);
	rd_kafka_conf_set_opaque(conf, o);
	o->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
	if (!o->rk) {
		rd_kafka_conf_destroy(conf);
		return error_set(err, -EINVAL, "kafka producer: %s", why);
	}
	o->rkt = rd_kafka_topic_new(o->rk, topic, NULL);
	if (!o->rkt) {
		error_set(err, -EINVAL, "kafka topic %s: %s", topic,
			  rd_kafka_err2str(rd_kafka_last_error()));
		rd_kafka_destroy(o->rk);
		return -EINVAL;
	}
	if (metrics) {
		const char *t[] = {topic};
		struct metric_family *dropped =
		    metrics_family(metrics, "weir_bus_kafka_dropped_total",
				   "Messages the Kafka producer dropped, by reason", METRIC_COUNTER,
				   "topic,reason");
		const char *qf[] = {topic, "queue-full"}, *tl[] = {topic, "too-large"},
			   *df[] = {topic, "delivery-failed"}, *er[] = {topic, "error"};

		o->sent = metrics_counter(metrics, "weir_bus_kafka_sent_total",
					  "Messages queued to Kafka", "topic", t);
		o->delivered = metrics_counter(metrics, "weir_bus_kafka_delivered_total",
					       "Messages Kafka acknowledged", "topic", t);
		o->drop_queue_full = metrics_series(dropped, qf);
		o->drop_too_large = metrics_series(dropped, tl);
		o->drop_delivery = metrics_series(dropped, df);
		o->drop_error = metrics_series(dropped, er);
	}
	if (pthread_create(&o->poller, NULL, poller_main, o) != 0) {
		error_set(err, -EAGAIN, "kafka producer: cannot start its thread");
		rd_kafka_topic_destroy(o->rkt);
		rd_kafka_destroy(o->rk);
		return -EAGAIN;
	}
	o->poller_started = 1;
	return 0;
}

int kafka_out_send(struct kafka_out *o, const void *key, size_t keylen, const void *value,
		   size_t len)
{
	LOG_RATELIMIT(rl, 5);
	rd_kafka_resp_err_t e;

	if (rd_kafka_produce(o->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)value, len,
			     key, keylen, NULL) == 0) {
		metric_add(o->sent, 1);
		return 0;
	}
	e = rd_kafka_last_error();
	switch (e) {
	case RD_KAFKA_RESP_ERR__QUEUE_FULL:
		metric_add(o->drop_queue_full, 1);
		return -ENOBUFS;
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
		metric_add(o->drop_too_large, 1);
		return -EMSGSIZE;
	default:
		metric_add(o->drop_error, 1);
		log_write_limited(&rl, LOG_LEVEL_WARN, "kafka produce failed", "topic=%s error=%s",
				  rd_kafka_topic_name(o->rkt), rd_kafka_err2name(e));
		return -EIO;
	}
}

int kafka_out_flush(struct kafka_out *o, int timeout_ms)
{
	rd_kafka_resp_err_t e = rd_kafka_flush(o->rk, timeout_ms > 0 ? timeout_ms : 0);

	return e == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -ETIMEDOUT;
}

void kafka_out_fini(struct kafka_out *o, int timeout_ms)
{
	if (!o->rk)
		return;
	rd_kafka_flush(o->rk, timeout_ms);
	if (o->poller_started) {
		atomic_store(&o->stop, 1);
		pthread_join(o->poller, NULL);
	}
	/* What is still queued will not be delivered: purge it so each
	 * message's delivery report counts it as failed. */
	if (rd_kafka_outq_len(o->rk) > 0) {
		rd_kafka_purge(o->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_flush(o->rk, 1000);
	}
	rd_kafka_topic_destroy(o->rkt);
	rd_kafka_destroy(o->rk);
	o->rk = NULL;
}
