// SPDX-License-Identifier: AGPL-3.0-or-later
/* The outlet's end of the Kafka bus: a consumer group member that never
 * commits on its own. Polled messages are held (their payloads are the
 * envelopes' data) until release(); release(COMMIT) commits, per partition,
 * the offset after the last message polled since the previous release:
 * at-least-once, a crash before the commit means redelivery. A commit the
 * broker refuses stays pending and is made again, during a rebalance from
 * the rebalance callback, so that a member joining or leaving does not make
 * the next owner read again what the previous one stored (see rebalance()). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/addr.h"
#include "../common/clock.h"
#include "../common/container_of.h"
#include "../common/log.h"
#include "kafka_internal.h"

struct held {
	rd_kafka_message_t *msg;
	int env;   /* index in the poll's envelopes, -1 when it did not decode */
	int stale; /* its partition was revoked: not ours to commit any more */
};

/* Offsets not committed yet, per partition (the consumer reads one topic).
 * `offset`: what a release(COMMIT) asked for and the broker refused so far
 * (REBALANCE_IN_PROGRESS while the group rebalances, or any other error):
 * retried with every commit; a later commit of a partition covers the
 * earlier ones. `stored`: released STORED (in `flows`, not yet in every
 * table): committed with the next release(COMMIT). -1: none. */
struct pending {
	int32_t partition;
	int64_t offset, stored;	    /* the next offset to read */
	uint64_t msgs, stored_msgs; /* messages they cover, for the counts */
	/* 0: the partition is ours. Else how many assignments came since it
	 * was revoked: its offset is committed only from the rebalance
	 * callback then (see rebalance()), KAFKA_HANDOVER_TRIES times. */
	int orphan;
};

struct kafka_consumer {
	struct bus_consumer consumer;
	rd_kafka_t *rk;
	char *topic;
	struct held *held;
	size_t nheld, cap;
	struct pending *pend;
	size_t npend, pend_cap;
	/* Inside kc_poll(): held[0..poll_base) were returned by earlier polls;
	 * a release() from the on_revoke hook gives back only those. */
	int in_poll;
	size_t poll_base;
	int poll_revoked; /* a revoke marked messages of the poll in progress */
	struct metric_series *received, *bad_decode, *bad_empty, *consume_errors;
	struct metric_series *committed, *commit_failed, *not_committed_revoked;
	struct metric_series *handover_commits;
	struct metric_series *assigned, *revoked;
};

/* Before taking partitions, a member waits this long so that the previous
 * owners' catch-up commits (see rebalance()) land before it fetches the
 * committed offsets. A rebalance is rare: the wait costs nothing else. */
#define KAFKA_HANDOVER_MS 500
/* Assignments during which a revoked partition's refused offset is tried
 * again: a group may rebalance twice in a row (a member that joins often
 * rejoins at once), refusing commits in the first round too. */
#define KAFKA_HANDOVER_TRIES 3

static struct pending *pending_get(struct kafka_consumer *kc, int32_t partition)
{
	for (size_t i = 0; i < kc->npend; i++)
		if (kc->pend[i].partition == partition)
			return &kc->pend[i];
	if (kc->npend == kc->pend_cap) {
		size_t cap = kc->pend_cap ? kc->pend_cap * 2 : 16;
		struct pending *p = realloc(kc->pend, cap * sizeof(*p));

		if (!p)
			return NULL;
		kc->pend = p;
		kc->pend_cap = cap;
	}
	kc->pend[kc->npend] = (struct pending){.partition = partition, .offset = -1, .stored = -1};
	return &kc->pend[kc->npend++];
}

/* Drops the entries with nothing left in them. */
static void pending_compact(struct kafka_consumer *kc)
{
	size_t j = 0;

	for (size_t i = 0; i < kc->npend; i++)
		if (kc->pend[i].offset >= 0 || kc->pend[i].stored >= 0)
			kc->pend[j++] = kc->pend[i];
	kc->npend = j;
}

/* Commits the pending offsets, synchronously: those of our partitions, and
 * with `orphans` those of partitions revoked since. Returns 0 (nothing left
 * to commit) or the broker's error (they all stay pending). */
static rd_kafka_resp_err_t commit_pending(struct kafka_consumer *kc, const char *when, int orphans)
{
	rd_kafka_topic_partition_list_t *offs;
	rd_kafka_resp_err_t e;
	uint64_t msgs = 0;

	offs = rd_kafka_topic_partition_list_new((int)kc->npend + 1);
	if (!offs)
		return RD_KAFKA_RESP_ERR__FAIL; /* retried later, never lost */
	for (size_t i = 0; i < kc->npend; i++) {
		if (kc->pend[i].offset < 0 || (kc->pend[i].orphan && !orphans))
			continue;
		rd_kafka_topic_partition_list_add(offs, kc->topic, kc->pend[i].partition)->offset =
		    kc->pend[i].offset;
		msgs += kc->pend[i].msgs;
	}
	if (offs->cnt == 0) {
		rd_kafka_topic_partition_list_destroy(offs);
		return RD_KAFKA_RESP_ERR_NO_ERROR;
	}
	/* Synchronous: the caller (a release, or the rebalance callback
	 * before the partitions move) must know the outcome. */
	e = rd_kafka_commit(kc->rk, offs, 0);
	if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
		LOG_RATELIMIT(rl, 5);

		metric_add(kc->commit_failed, 1);
		log_write_limited(&rl, LOG_LEVEL_WARN, "kafka commit failed",
				  "error=%s when=%s partitions=%d messages=%llu kept=1",
				  rd_kafka_err2name(e), when, offs->cnt, (unsigned long long)msgs);
		rd_kafka_topic_partition_list_destroy(offs);
		return e;
	}
	metric_add(kc->committed, 1);
	for (size_t i = 0; i < kc->npend; i++) {
		struct pending *p = &kc->pend[i];

		if (rd_kafka_topic_partition_list_find(offs, kc->topic, p->partition)) {
			if (p->orphan)
				metric_add(kc->handover_commits, 1);
			p->offset = -1;
			p->msgs = 0;
		}
	}
	rd_kafka_topic_partition_list_destroy(offs);
	pending_compact(kc);
	return RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* Forgets the pending offsets of revoked partitions tried too often
 * (`all`: every pending offset): their new owner reads those messages
 * again. Counted and logged. */
static void pending_give_up(struct kafka_consumer *kc, int all, const char *why)
{
	uint64_t msgs = 0, parts = 0;
	size_t j = 0;

	for (size_t i = 0; i < kc->npend; i++) {
		if (!all && kc->pend[i].orphan <= KAFKA_HANDOVER_TRIES) {
			kc->pend[j++] = kc->pend[i];
			continue;
		}
		msgs += kc->pend[i].msgs + kc->pend[i].stored_msgs;
		parts++;
	}
	kc->npend = j;
	if (!parts)
		return;
	metric_add(kc->not_committed_revoked, msgs);
	log_warn("kafka offsets given up", "reason=%s partitions=%llu messages=%llu", why,
		 (unsigned long long)parts, (unsigned long long)msgs);
}

/* After a revoke: `parts` (NULL: all) are orphans now. After an assign:
 * those in `parts` are ours again, the other orphans one try older. */
static void pending_rebalanced(struct kafka_consumer *kc,
			       const rd_kafka_topic_partition_list_t *parts, int assigned)
{
	for (size_t i = 0; i < kc->npend; i++) {
		struct pending *p = &kc->pend[i];
		int listed =
		    !parts || rd_kafka_topic_partition_list_find(parts, kc->topic, p->partition);

		if (!assigned) {
			if (listed && !p->orphan)
				p->orphan = 1;
		} else if (listed && parts) {
			p->orphan = 0;
		} else if (p->orphan) {
			p->orphan++;
		}
	}
}

/* Marks what is held from `parts` (NULL: everything) as not ours. */
static void held_revoke(struct kafka_consumer *kc, const rd_kafka_topic_partition_list_t *parts)
{
	for (size_t i = 0; i < kc->nheld; i++) {
		const rd_kafka_message_t *m = kc->held[i].msg;

		if (kc->held[i].stale ||
		    (parts && !rd_kafka_topic_partition_list_find(
				  parts, rd_kafka_topic_name(m->rkt), m->partition)))
			continue;
		kc->held[i].stale = 1;
		if (kc->in_poll && i >= kc->poll_base)
			kc->poll_revoked = 1;
	}
}

/* Eager rebalancing (librdkafka's default assignors) revokes everything,
 * then assigns anew. The owner stores and commits from the on_revoke hook,
 * but a broker may refuse that commit: librdkafka's mock cluster (2.0.2)
 * answers REBALANCE_IN_PROGRESS to every OffsetCommit while the group is
 * Joining, which it already is when the members learn of the rebalance
 * (Kafka itself accepts commits in PreparingRebalance). The refused offsets
 * stay pending and are committed again first thing when the next
 * assignment comes (a new generation: the group is Stable and accepts
 * them; brokers do not check who owns a partition a commit names), while
 * every member waits KAFKA_HANDOVER_MS before fetching the committed
 * offsets of what it gets. What still fails after KAFKA_HANDOVER_TRIES
 * assignments is given up, counted and logged: its new owner reads it again.
 * The cooperative-sticky assignor would avoid the stop-the-world revoke, but
 * the 2.0.2 mock cluster loses assignments with it (ILLEGAL_GENERATION on
 * every commit): cooperative groups are handled, not the default. */
static void rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
		      rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct kafka_consumer *kc = opaque;
	int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
	int lost = rd_kafka_assignment_lost(rk);
	rd_kafka_error_t *e = NULL;

	switch (err) {
	case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
		/* The catch-up commit of what a revoke could not commit. */
		if (kc->npend)
			commit_pending(kc, "assign", 1);
		pending_rebalanced(kc, parts, 1);
		pending_give_up(kc, 0, "commit-refused");
		metric_add(kc->assigned, (uint64_t)parts->cnt);
		log_info("kafka partitions assigned", "count=%d", parts->cnt);
		if (parts->cnt > 0)
			clock_wait_or_stop(KAFKA_HANDOVER_MS, NULL, NULL); /* the whole wait */
		if (cooperative)
			e = rd_kafka_incremental_assign(rk, parts);
		else
			rd_kafka_assign(rk, parts);
		break;
	default: /* REVOKE_PARTITIONS, or an error: give everything up */
		/* Last chance to commit what the owner stored: after the revoke,
		 * the next owner reads from the last commit. */
		if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && !lost && kc->consumer.on_revoke)
			kc->consumer.on_revoke(kc->consumer.on_revoke_ctx);
		held_revoke(kc, err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS ? parts : NULL);
		if (lost)
			pending_give_up(kc, 1, "assignment-lost");
		else if (kc->npend)
			commit_pending(kc, "revoke", 1);
		pending_rebalanced(kc, err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS ? parts : NULL,
				   0);
		metric_add(kc->revoked, (uint64_t)parts->cnt);
		log_info("kafka partitions revoked", "count=%d lost=%d", parts->cnt, lost);
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

/* A revoke came while this poll was taking messages: those it took from
 * the revoked partitions are not returned (their new owner reads them; we
 * did not store them) and the envelopes are packed again. */
static size_t poll_drop_revoked(struct kafka_consumer *kc, struct bus_envelope *envs)
{
	size_t j = kc->poll_base;
	int n = 0;

	for (size_t i = kc->poll_base; i < kc->nheld; i++) {
		struct held h = kc->held[i];

		if (h.stale) {
			rd_kafka_message_destroy(h.msg);
			continue;
		}
		if (h.env >= 0) {
			envs[n] = envs[h.env];
			h.env = n++;
		}
		kc->held[j++] = h;
	}
	kc->nheld = j;
	kc->poll_revoked = 0;
	return (size_t)n;
}

static int kc_poll(struct bus_consumer *c, struct bus_envelope *envs, size_t max, int timeout_ms)
{
	struct kafka_consumer *kc = container_of(c, struct kafka_consumer, consumer);
	uint64_t deadline = clock_mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
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
	kc->poll_revoked = 0;
	/* Messages that do not decode take a slot too: stop when the slots
	 * reserved above are used, even short of `max` envelopes. */
	while (n < max && kc->nheld < kc->cap) {
		/* (no clock reading once a message came: the rest come without a wait) */
		uint64_t now = n ? deadline : clock_mono_ms();
		uint64_t left = now < deadline ? deadline - now : 0;
		rd_kafka_message_t *m = rd_kafka_consumer_poll(kc->rk, (int)left);

		if (kc->poll_revoked)
			n = poll_drop_revoked(kc, envs);
		if (!m) {
			if (n || left == 0)
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
		kc->held[kc->nheld++] = (struct held){m, -1, 0};
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
		kc->held[kc->nheld - 1].env = (int)n;
		n++;
	}
	kc->in_poll = 0;
	return (int)n;
}

/* Adds held[0..nheld) to the pending offsets; COMMIT then commits them
 * all, with those released STORED before. */
static void release_held(struct kafka_consumer *kc, size_t nheld, int how)
{
	uint64_t stale = 0;

	for (size_t i = 0; i < nheld; i++) {
		const rd_kafka_message_t *m = kc->held[i].msg;
		struct pending *p;

		if (kc->held[i].stale) {
			stale++;
			continue;
		}
		p = pending_get(kc, m->partition);
		if (!p)
			break; /* not committed: redelivered later, never lost */
		/* The committed offset is the next one to read. */
		if (how == BUS_RELEASE_STORED) {
			if (m->offset + 1 > p->stored)
				p->stored = m->offset + 1;
			p->stored_msgs++;
		} else {
			if (m->offset + 1 > p->offset)
				p->offset = m->offset + 1;
			p->msgs++;
		}
	}
	metric_add(kc->not_committed_revoked, stale);
	if (how != BUS_RELEASE_COMMIT)
		return;
	for (size_t i = 0; i < kc->npend; i++) {
		struct pending *p = &kc->pend[i];

		if (p->stored > p->offset)
			p->offset = p->stored;
		p->msgs += p->stored_msgs;
		p->stored = -1;
		p->stored_msgs = 0;
	}
	commit_pending(kc, "release", 0);
}

static void kc_release(struct bus_consumer *c, int how)
{
	struct kafka_consumer *kc = container_of(c, struct kafka_consumer, consumer);
	/* From the on_revoke hook, inside kc_poll(): the poll in progress keeps
	 * its messages (their payloads are about to be returned). */
	size_t n = kc->in_poll ? kc->poll_base : kc->nheld;

	/* A COMMIT with nothing held still commits what was STORED before. */
	if ((how == BUS_RELEASE_STORED && n) || how == BUS_RELEASE_COMMIT)
		release_held(kc, n, how);
	for (size_t i = 0; i < n; i++)
		rd_kafka_message_destroy(kc->held[i].msg);
	memmove(kc->held, kc->held + n, (kc->nheld - n) * sizeof(*kc->held));
	kc->nheld -= n;
	if (kc->in_poll)
		kc->poll_base = 0;
}

static void kc_free(struct bus_consumer *c)
{
	struct kafka_consumer *kc = container_of(c, struct kafka_consumer, consumer);

	/* Leave the group first so the partitions move on at once; what was
	 * polled and not released is not committed (nor stored by the hook).
	 * The revoke of the close still commits what is pending. */
	c->on_revoke = NULL;
	rd_kafka_consumer_close(kc->rk);
	pending_give_up(kc, 1, "closed");
	kc_release(c, 0);
	rd_kafka_destroy(kc->rk);
	free(kc->held);
	free(kc->pend);
	free(kc->topic);
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

rd_kafka_conf_t *kafka_consumer_conf(const struct bus_config *cfg, struct error *err)
{
	rd_kafka_conf_t *conf =
	    kafka_conf_new(cfg, consumer_defaults, cfg->kafka.consumer, "consumer", err);

	if (!conf)
		return NULL;
	for (size_t i = 0; consumer_forced[i]; i += 2)
		if (kafka_conf_set(conf, consumer_forced[i], consumer_forced[i + 1], err) < 0)
			goto fail;
	if (kafka_conf_set(conf, "group.id", cfg->kafka.consumer_group, err) < 0)
		goto fail;
	return conf;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

int bus_kafka_consumer_new(const struct bus_config *cfg, struct metrics_registry *metrics,
			   struct bus_consumer **consumer, struct error *err)
{
	struct kafka_consumer *kc = calloc(1, sizeof(*kc));
	rd_kafka_topic_partition_list_t *topics;
	rd_kafka_conf_t *conf;
	rd_kafka_resp_err_t e;
	char why[512];

	*consumer = NULL;
	if (!kc)
		return error_set(err, -ENOMEM, "out of memory");
	kc->topic = strdup(cfg->kafka.topic);
	if (!kc->topic) {
		free(kc);
		return error_set(err, -ENOMEM, "out of memory");
	}
	conf = kafka_consumer_conf(cfg, err);
	if (!conf)
		goto fail;
	rd_kafka_conf_set_rebalance_cb(conf, rebalance);
	rd_kafka_conf_set_opaque(conf, kc);
	kc->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
	if (!kc->rk) {
		error_set(err, -EINVAL, "kafka consumer: %s", why);
		goto fail_conf;
	}
	rd_kafka_poll_set_consumer(kc->rk);
	topics = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(topics, cfg->kafka.topic, RD_KAFKA_PARTITION_UA);
	e = rd_kafka_subscribe(kc->rk, topics);
	rd_kafka_topic_partition_list_destroy(topics);
	if (e) {
		error_set(err, -EINVAL, "kafka subscribe to %s: %s", cfg->kafka.topic,
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
		kc->received = metrics_counter(metrics, "weir_bus_kafka_received_total",
					       "Kafka messages consumed", "topic", t);
		kc->consume_errors =
		    metrics_counter(metrics, "weir_bus_kafka_consume_errors_total",
				    "Errors reported while consuming from Kafka", "topic", t);
		kc->committed = metrics_counter(metrics, "weir_bus_kafka_commits_total",
						"Offset commits done", "topic", t);
		kc->commit_failed = metrics_counter(metrics, "weir_bus_kafka_commit_failures_total",
						    "Offset commits that failed", "topic", t);
		kc->not_committed_revoked = metrics_counter(
		    metrics, "weir_bus_kafka_revoked_uncommitted_total",
		    "Messages left uncommitted because their partition was revoked "
		    "before their commit succeeded (their new owner reads them again)",
		    "topic", t);
		kc->handover_commits = metrics_counter(
		    metrics, "weir_bus_kafka_handover_commits_total",
		    "Offsets refused during a rebalance and committed when it ended", "topic", t);

		kc->assigned = metrics_counter(metrics, "weir_bus_kafka_partitions_assigned_total",
					       "Partitions assigned to this consumer by rebalances",
					       "topic", t);
		kc->revoked = metrics_counter(metrics, "weir_bus_kafka_partitions_revoked_total",
					      "Partitions revoked from this consumer by rebalances",
					      "topic", t);
		kc->bad_decode = metrics_series(bad, bd);
		kc->bad_empty = metrics_series(bad, be);
	}
	kc->consumer.ops = &kafka_consumer_ops;
	*consumer = &kc->consumer;
	return 0;
fail_conf:
	rd_kafka_conf_destroy(conf);
fail:
	free(kc->topic);
	free(kc);
	return -EINVAL;
}
