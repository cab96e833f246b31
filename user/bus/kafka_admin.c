// SPDX-License-Identifier: AGPL-3.0-or-later
/* Topic management for the orchestrator: the raw topic (and the flows topic)
 * exist with the configured partitions and replication factor. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../common/log.h"
#include "kafka_internal.h"

#define ADMIN_TIMEOUT_MS 10000

/* Partition count of `topic`, 0 when absent, -errno on failure; whether the
 * cluster names one of its brokers as controller in *controller. A request
 * for every topic never makes a broker auto-create the one we ask about. */
static int topic_partitions(rd_kafka_t *rk, const char *topic, int *controller, struct error *err)
{
	const struct rd_kafka_metadata *md;
	rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, ADMIN_TIMEOUT_MS);
	int32_t id = rd_kafka_controllerid(rk, 0);
	int n = 0;

	if (e)
		return error_set(err, -EIO, "kafka metadata: %s", rd_kafka_err2str(e));
	*controller = 0;
	for (int i = 0; i < md->broker_cnt; i++)
		if (md->brokers[i].id == id)
			*controller = 1;
	for (int i = 0; i < md->topic_cnt; i++)
		if (strcmp(md->topics[i].topic, topic) == 0 && !md->topics[i].err)
			n = md->topics[i].partition_cnt;
	rd_kafka_metadata_destroy(md);
	return n;
}

static int create_topic(rd_kafka_t *rk, const char *topic, int partitions, int replication,
			struct error *err)
{
	char why[512];
	rd_kafka_NewTopic_t *nt =
	    rd_kafka_NewTopic_new(topic, partitions, replication, why, sizeof(why));
	rd_kafka_AdminOptions_t *opts = NULL;
	rd_kafka_queue_t *q = NULL;
	rd_kafka_event_t *ev = NULL;
	const rd_kafka_topic_result_t **res;
	size_t nres;
	int ret = -EIO;

	if (!nt)
		return error_set(err, -EINVAL, "kafka topic %s: %s", topic, why);
	opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	q = rd_kafka_queue_new(rk);
	if (!opts || !q ||
	    rd_kafka_AdminOptions_set_request_timeout(opts, ADMIN_TIMEOUT_MS, why, sizeof(why)) ||
	    rd_kafka_AdminOptions_set_operation_timeout(opts, ADMIN_TIMEOUT_MS, why, sizeof(why))) {
		error_set(err, ret, "kafka admin options: %s", why);
		goto out;
	}
	rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
	ev = rd_kafka_queue_poll(q, ADMIN_TIMEOUT_MS + 2000);
	if (!ev) {
		ret = error_set(err, -ETIMEDOUT, "kafka topic %s: CreateTopics timed out", topic);
		goto out;
	}
	if (rd_kafka_event_error(ev)) {
		error_set(err, ret, "kafka topic %s: %s", topic, rd_kafka_event_error_string(ev));
		goto out;
	}
	res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &nres);
	for (size_t i = 0; i < nres; i++) {
		rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);

		if (e == RD_KAFKA_RESP_ERR_NO_ERROR ||
		    e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
			ret = 0;
		} else {
			const char *s = rd_kafka_topic_result_error_string(res[i]);
			error_set(err, -EIO, "kafka topic %s: %s", topic,
				  s ? s : rd_kafka_err2str(e));
		}
	}
	if (ret == 0)
		log_info("kafka topic created", "topic=%s partitions=%d replication=%d", topic,
			 partitions, replication);
out:
	if (ev)
		rd_kafka_event_destroy(ev);
	if (q)
		rd_kafka_queue_destroy(q);
	if (opts)
		rd_kafka_AdminOptions_destroy(opts);
	rd_kafka_NewTopic_destroy(nt);
	return ret;
}

static int ensure_one(rd_kafka_t *rk, const struct bus_config *cfg, const char *topic,
		      struct error *err)
{
	int controller, have = topic_partitions(rk, topic, &controller, err);

	if (have < 0)
		return have;
	if (have > 0) {
		/* Never changed behind the user's back: more partitions would
		 * move exporters between outlets in the middle of a stream. */
		if ((uint64_t)have != cfg->kafka.partitions)
			log_warn("kafka topic exists with another partition count",
				 "topic=%s partitions=%d configured=%llu", topic, have,
				 (unsigned long long)cfg->kafka.partitions);
		return 0;
	}
	/* Topics are created through the controller: when the cluster names
	 * none of its brokers (old brokers, test clusters), asking could only
	 * time out. */
	if (!controller)
		return error_set(err, -EOPNOTSUPP,
				 "kafka topic %s: absent, and the cluster has no controller to "
				 "create it (create it by hand)",
				 topic);
	return create_topic(rk, topic, (int)cfg->kafka.partitions,
			    (int)cfg->kafka.replication_factor, err);
}

int bus_kafka_topic_ensure(const struct bus_config *cfg, struct error *err)
{
	rd_kafka_conf_t *conf = kafka_conf_new(cfg, NULL, cfg->kafka.producer, "producer", err);
	rd_kafka_t *rk;
	char why[512];
	int r;

	if (!conf)
		return -EINVAL;
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		return error_set(err, -EINVAL, "kafka admin client: %s", why);
	}
	r = ensure_one(rk, cfg, cfg->kafka.topic, err);
	if (r == 0 && cfg->kafka.flows_topic && *cfg->kafka.flows_topic)
		r = ensure_one(rk, cfg, cfg->kafka.flows_topic, err);
	rd_kafka_destroy(rk);
	return r;
}
