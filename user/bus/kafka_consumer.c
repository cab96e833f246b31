// SPDX-License-Identifier: AGPL-3.0-or-later
/* The outlet's end of the Kafka bus: a consumer group member that never
 * commits on its own. Polled messages are held (their payloads are the
 * envelopes' data) until release(); release(commit) stores and commits, per
 * partition, the offset after the last message polled since the previous
 * release: at-least-once, a crash before the commit means redelivery. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/addr.h"
#include "../common/log.h"
#include "kafka_internal.h"

struct held {
	rd_kafka_message_t *msg;
	uint64_t gen; /* assignment generation when polled */
};

struct kafka_consumer {
	struct bus_consumer consumer;
	rd_kafka_t *rk;
	struct held *held;
	size_t nheld, cap;
	/* Bumped whenever partitions are revoked or lost: messages polled
	 * before are not ours to commit any more. */
	uint64_t gen;
	/* Inside kc_poll(): held[0..poll_base) were returned by earlier polls;
	 * a release() from the on_revoke hook gives back only those. */
	int in_poll;
	size_t poll_base;
	struct metric_series *received, *bad_decode, *bad_empty, *consume_errors;
	struct metric_series *committed, *commit_failed, *not_committed_revoked;
	struct metric_series *assigned, *revoked;
};

#define KC(c) ((struct kafka_consumer *)((char *)(c)-offsetof(struct kafka_consumer, consumer)))

static void rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
		      rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct kafka_consumer *kc = opaque;
	int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
	rd_kafka_error_t *e = NULL;

	switch (err) {
	case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
		metric_add(kc->assigned, (uint64_t)parts->cnt);
		log_info("kafka partitions assigned", "count=%d", parts->cnt);
		if (cooperative)
			e = rd_kafka_incremental_assign(rk, parts);
		else
			rd_kafka_assign(rk, parts);
		break;
	default: /* REVOKE_PARTITIONS, or an error: give everything up */
		/* Last chance to commit what the owner stored: after the revoke,
		 * the commit is refused and the next owner reads it again. */
		if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && !rd_kafka_assignment_lost(rk) &&
		    kc->consumer.on_revoke)
			kc->consumer.on_revoke(kc->consumer.on_revoke_ctx);
		kc->gen++;
		metric_add(kc->revoked, (uint64_t)parts->cnt);
		log_info("kafka partitions revoked", "count=%d lost=%d", parts->cnt,
			 rd_kafka_assignment_lost(rk));
		if (cooperative && err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
			e = rd_kafka_incremental_unassign(rk, parts);
		else
			rd_kafka_assign(rk, NULL);
		break;
	}
	if (e) {
		log_warn("kafka rebalance failed", "error=\"%s\"", rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int kc_poll(struct bus_consumer *c, struct bus_envelope *envs, size_t max, int timeout_ms)
{
	struct kafka_consumer *kc = KC(c);
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	size_t n = 0;
	LOG_RATELIMIT(rl, 5);

	/* Room to hold all we may take, before taking anything: a message
	 * taken from librdkafka and then dropped would be lost. */
	if (kc->nheld + max > kc->cap) {
		size_t cap = kc->cap ? kc->cap : 256;
		struct held *h;

		while (cap < kc->nheld + max)
			cap *= 2;
		h = realloc(kc->held, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		kc->held = h;
		kc->cap = cap;
	}
	kc->in_poll = 1;
	kc->poll_base = kc->nheld;
	/* Messages that do not decode take a slot too: stop when the slots
	 * reserved above are used, even short of `max` envelopes. */
	while (n < max && kc->nheld < kc->cap) {
		int64_t left = n ? 0 : deadline - now_ms();
		rd_kafka_message_t *m = rd_kafka_consumer_poll(kc->rk, left > 0 ? (int)left : 0);

		if (!m) {
			if (n || left <= 0)
				break;
			continue;
		}
		if (m->err) {
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
				metric_add(kc->consume_errors, 1);
				log_write_limited(&rl, LOG_LEVEL_WARN, "kafka consume error",
						  "error=%s detail=\"%s\"",
						  rd_kafka_err2name(m->err),
						  rd_kafka_message_errstr(m));
			}
			rd_kafka_message_destroy(m);
			continue;
		}
		/* Held even when it does not decode, so the commit moves past it. */
		kc->held[kc->nheld++] = (struct held){m, kc->gen};
		metric_add(kc->received, 1);
		if (!m->payload || m->len == 0) {
			metric_add(kc->bad_empty, 1);
			continue;
		}
		if (bus_envelope_unpack(m->payload, m->len, &envs[n]) < 0) {
			char exporter[ADDR_TEXT_MAX] = "unknown";

			/* the key is the exporter address, when the producer was ours */
			if (m->key_len == sizeof(struct in6_addr)) {
				struct in6_addr a;
				memcpy(&a, m->key, sizeof(a));
				addr_to_text(&a, exporter, sizeof(exporter));
			}
			metric_add(kc->bad_decode, 1);
			log_write_limited(&rl, LOG_LEVEL_WARN, "kafka message skipped",
					  "reason=bad-protobuf exporter=%s topic=%s partition=%d "
					  "offset=%lld",
					  exporter, rd_kafka_topic_name(m->rkt), (int)m->partition,
					  (long long)m->offset);
			continue;
		}
		n++;
	}
	kc->in_poll = 0;
	return (int)n;
}

static void commit_held(struct kafka_consumer *kc, size_t nheld)
{
	rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(16);
	rd_kafka_resp_err_t e;
	uint64_t stale = 0;

	if (!offs)
		return; /* not committed: redelivered later, never lost */
	for (size_t i = 0; i < nheld; i++) {
		const rd_kafka_message_t *m = kc->held[i].msg;
		const char *topic = rd_kafka_topic_name(m->rkt);
		rd_kafka_topic_partition_t *tp;

		if (kc->held[i].gen != kc->gen) {
			stale++;
			continue;
		}
		tp = rd_kafka_topic_partition_list_find(offs, topic, m->partition);
		if (!tp)
			tp = rd_kafka_topic_partition_list_add(offs, topic, m->partition);
		/* The committed offset is the next one to read. */
		if (m->offset + 1 > tp->offset || tp->offset < 0)
			tp->offset = m->offset + 1;
	}
	metric_add(kc->not_committed_revoked, stale);
	if (offs->cnt == 0)
		goto out;
	/* Storing fails for partitions no longer assigned: leave those out. */
	rd_kafka_offsets_store(kc->rk, offs);
	for (int i = offs->cnt - 1; i >= 0; i--)
		if (offs->elems[i].err)
			rd_kafka_topic_partition_list_del_by_idx(offs, i);
	if (offs->cnt == 0)
		goto out;
	e = rd_kafka_commit(kc->rk, offs, 0);
	if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
		metric_add(kc->commit_failed, 1);
		log_warn("kafka commit failed", "error=%s", rd_kafka_err2name(e));
	} else {
		metric_add(kc->committed, 1);
	}
out:
	rd_kafka_topic_partition_list_destroy(offs);
}

static void kc_release(struct bus_consumer *c, int commit)
{
	struct kafka_consumer *kc = KC(c);
	/* From the on_revoke hook, inside kc_poll(): the poll in progress keeps
	 * its messages (their payloads are about to be returned). */
	size_t n = kc->in_poll ? kc->poll_base : kc->nheld;

	if (commit && n)
		commit_held(kc, n);
	for (size_t i = 0; i < n; i++)
		rd_kafka_message_destroy(kc->held[i].msg);
	memmove(kc->held, kc->held + n, (kc->nheld - n) * sizeof(*kc->held));
	kc->nheld -= n;
	if (kc->in_poll)
		kc->poll_base = 0;
}

static void kc_free(struct bus_consumer *c)
{
	struct kafka_consumer *kc = KC(c);

	/* Leave the group first so the partitions move on at once; what was
	 * polled and not released is not committed (nor stored by the hook). */
	c->on_revoke = NULL;
	rd_kafka_consumer_close(kc->rk);
	kc_release(c, 0);
	rd_kafka_destroy(kc->rk);
	free(kc->held);
	free(kc);
}

static const struct bus_consumer_ops kafka_consumer_ops = {
    .poll = kc_poll,
    .release = kc_release,
    .free = kc_free,
};

/* A new group starts at the oldest message: nothing produced before the
 * first outlet started is lost. */
static const char *const consumer_defaults[] = {
    "auto.offset.reset", "earliest", "enable.partition.eof", "false", NULL,
};

/* What at-least-once rests on: applied after the user's properties. */
static const char *const consumer_forced[] = {
    "enable.auto.commit", "false", "enable.auto.offset.store", "false", NULL,
};

int bus_kafka_consumer_new(const struct bus_config *cfg, struct metrics_registry *metrics,
			   struct bus_consumer **consumer, char *err, size_t errlen)
{
	struct kafka_consumer *kc = calloc(1, sizeof(*kc));
	rd_kafka_topic_partition_list_t *topics;
	rd_kafka_conf_t *conf;
	rd_kafka_resp_err_t e;
	char why[512];

	if (!kc) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	conf = kafka_conf_new(cfg, consumer_defaults, cfg->kafka.consumer, "consumer", err, errlen);
	if (!conf)
		goto fail;
	for (size_t i = 0; consumer_forced[i]; i += 2)
		if (kafka_conf_set(conf, consumer_forced[i], consumer_forced[i + 1], err, errlen) <
		    0)
			goto fail_conf;
	if (kafka_conf_set(conf, "group.id", cfg->kafka.consumer_group, err, errlen) < 0)
		goto fail_conf;
	rd_kafka_conf_set_rebalance_cb(conf, rebalance);
	rd_kafka_conf_set_opaque(conf, kc);
	kc->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
	if (!kc->rk) {
		snprintf(err, errlen, "kafka consumer: %s", why);
		goto fail_conf;
	}
	rd_kafka_poll_set_consumer(kc->rk);
	topics = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(topics, cfg->kafka.topic, RD_KAFKA_PARTITION_UA);
	e = rd_kafka_subscribe(kc->rk, topics);
	rd_kafka_topic_partition_list_destroy(topics);
	if (e) {
		snprintf(err, errlen, "kafka subscribe to %s: %s", cfg->kafka.topic,
			 rd_kafka_err2str(e));
		rd_kafka_destroy(kc->rk);
		goto fail;
	}
	if (metrics) {
		const char *t[] = {cfg->kafka.topic};
		struct metric_family *bad =
		    metrics_family(metrics, "weir_bus_kafka_bad_messages_total",
				   "Kafka messages skipped because they do not decode",
				   METRIC_COUNTER, "topic,reason");
		const char *bd[] = {cfg->kafka.topic, "bad-protobuf"},
			   *be[] = {cfg->kafka.topic, "empty"};
#define SERIES(name, help)                                                                         \
	metrics_series(metrics_family(metrics, name, help, METRIC_COUNTER, "topic"), t)
		kc->received = SERIES("weir_bus_kafka_received_total", "Kafka messages consumed");
		kc->consume_errors = SERIES("weir_bus_kafka_consume_errors_total",
					    "Errors reported while consuming from Kafka");
		kc->committed = SERIES("weir_bus_kafka_commits_total", "Offset commits done");
		kc->commit_failed =
		    SERIES("weir_bus_kafka_commit_failures_total", "Offset commits that failed");
		kc->not_committed_revoked =
		    SERIES("weir_bus_kafka_revoked_uncommitted_total",
			   "Messages left uncommitted because their partition was revoked "
			   "before release (their new owner reads them again)");
		kc->assigned = SERIES("weir_bus_kafka_partitions_assigned_total",
				      "Partitions assigned to this consumer by rebalances");
		kc->revoked = SERIES("weir_bus_kafka_partitions_revoked_total",
				     "Partitions revoked from this consumer by rebalances");
#undef SERIES
		kc->bad_decode = metrics_series(bad, bd);
		kc->bad_empty = metrics_series(bad, be);
	}
	kc->consumer.ops = &kafka_consumer_ops;
	*consumer = &kc->consumer;
	return 0;
fail_conf:
	rd_kafka_conf_destroy(conf);
fail:
	free(kc);
	return -EINVAL;
}
