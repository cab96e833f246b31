// SPDX-License-Identifier: AGPL-3.0-or-later
/* The inlet's end of the Kafka bus (raw envelopes) and the outlet's optional
 * producer of enriched flows. Both key their messages by exporter address:
 * one partition, hence one outlet, sees all of an exporter's datagrams. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/container_of.h"
#include "../common/flow.h"
#include "kafka_internal.h"

#define FREE_FLUSH_MS 5000

struct kafka_producer {
	struct bus_producer producer;
	struct kafka_out out;
};

static int kp_send(struct bus_producer *p, const struct bus_envelope *env)
{
	struct kafka_producer *kp = container_of(p, struct kafka_producer, producer);
	/* One datagram at most 64 KiB: packed on the stack, copied by librdkafka. */
	uint8_t buf[BUS_MAX_DATAGRAM + BUS_ENVELOPE_OVERHEAD];
	int n = bus_envelope_pack(env, buf, sizeof(buf));

	if (n < 0) {
		metric_add(kp->out.drop_too_large, 1);
		return n;
	}
	return kafka_out_send(&kp->out, &env->exporter, sizeof(env->exporter), buf, (size_t)n);
}

static int kp_flush(struct bus_producer *p, int timeout_ms)
{
	return kafka_out_flush(&container_of(p, struct kafka_producer, producer)->out, timeout_ms);
}

static void kp_free(struct bus_producer *p)
{
	struct kafka_producer *kp = container_of(p, struct kafka_producer, producer);

	kafka_out_fini(&kp->out, FREE_FLUSH_MS);
	free(kp);
}

static const struct bus_producer_ops kafka_producer_ops = {
    .send = kp_send,
    .flush = kp_flush,
    .free = kp_free,
};

int bus_kafka_producer_new(const struct bus_config *cfg, struct metrics_registry *metrics,
			   struct bus_producer **producer, struct error *err)
{
	struct kafka_producer *kp = calloc(1, sizeof(*kp));
	int r;

	*producer = NULL;
	if (!kp)
		return error_set(err, -ENOMEM, "out of memory");
	r = kafka_out_init(&kp->out, cfg, cfg->kafka.topic, metrics, err);
	if (r < 0) {
		free(kp);
		return r;
	}
	kp->producer.ops = &kafka_producer_ops;
	*producer = &kp->producer;
	return 0;
}

/* ---- enriched flows ---- */

struct bus_kafka_flow_producer {
	struct kafka_out out;
};

int bus_kafka_flow_producer_new(const struct bus_config *cfg, struct metrics_registry *metrics,
				struct bus_kafka_flow_producer **producer, struct error *err)
{
	struct bus_kafka_flow_producer *fp;
	int r;

	*producer = NULL;
	if (!cfg->kafka.flows_topic || !*cfg->kafka.flows_topic)
		return error_set(err, -EINVAL, "bus.kafka.flows-topic is not set");
	fp = calloc(1, sizeof(*fp));
	if (!fp)
		return error_set(err, -ENOMEM, "out of memory");
	r = kafka_out_init(&fp->out, cfg, cfg->kafka.flows_topic, metrics, err);
	if (r < 0) {
		free(fp);
		return r;
	}
	*producer = fp;
	return 0;
}

int bus_kafka_flow_producer_send(struct bus_kafka_flow_producer *p, const struct flow *f)
{
	uint8_t buf[BUS_FLOW_MAX_PACKED];
	int n = bus_flow_pack(f, buf, sizeof(buf));

	if (n < 0) {
		metric_add(p->out.drop_error, 1);
		return n;
	}
	return kafka_out_send(&p->out, &f->exporter_address, sizeof(f->exporter_address), buf,
			      (size_t)n);
}

int bus_kafka_flow_producer_flush(struct bus_kafka_flow_producer *p, int timeout_ms)
{
	return kafka_out_flush(&p->out, timeout_ms);
}

void bus_kafka_flow_producer_free(struct bus_kafka_flow_producer *p)
{
	if (!p)
		return;
	kafka_out_fini(&p->out, FREE_FLUSH_MS);
	free(p);
}
