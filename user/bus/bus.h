/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The bus between inlet and outlet. What travels is the raw envelope: receive
 * time, exporter address and the datagram, never decoded flows. Two kinds:
 * the in-process ring (one machine, the default) and Kafka (a topic keyed by
 * exporter address). The inlet sees only bus_producer, the outlet only
 * bus_consumer, so neither knows which kind it talks to. */
#ifndef WEIR_BUS_H
#define WEIR_BUS_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/config.h"
#include "../common/error.h"
#include "../common/metrics.h"

#define BUS_MAX_DATAGRAM 65535

struct bus_envelope {
	uint64_t time_received_ns; /* CLOCK_REALTIME at receive */
	struct in6_addr exporter;  /* datagram source, IPv4-mapped for IPv4 */
	uint16_t exporter_port;
	uint32_t len;
	const uint8_t *data; /* the UDP payload, len bytes */
};

/* ---- producer side (inlet) ---- */

struct bus_producer;

struct bus_producer_ops {
	/* Queues a copy of env->data; never waits. 0, or -ENOBUFS when the bus
	 * is full, -EDQUOT when the datagram's exporter holds its share of it
	 * (the ring), -EMSGSIZE when it is too large: the datagram was dropped
	 * (the implementation counts it). Must be safe to call from several
	 * threads. */
	int (*send)(struct bus_producer *p, const struct bus_envelope *env);
	/* Waits until queued datagrams are handed on (ms <= 0: no wait). */
	int (*flush)(struct bus_producer *p, int timeout_ms);
	void (*free)(struct bus_producer *p);
};

struct bus_producer {
	const struct bus_producer_ops *ops;
};

/* The operations, called through the producer's ops (see above). */
static inline int bus_producer_send(struct bus_producer *p, const struct bus_envelope *env)
{
	return p->ops->send(p, env);
}

static inline int bus_producer_flush(struct bus_producer *p, int timeout_ms)
{
	return p->ops->flush(p, timeout_ms);
}

/* NULL is fine. */
static inline void bus_producer_free(struct bus_producer *p)
{
	if (p)
		p->ops->free(p);
}

/* ---- consumer side (outlet) ---- */

struct bus_consumer;

/* What release() says of the datagrams it gives back. */
enum bus_release {
	BUS_RELEASE_UNCOMMITTED = 0, /* not stored: Kafka must deliver them again */
	BUS_RELEASE_COMMIT = 1,	     /* done: commit them, and those released STORED before */
	/* Safe in flows but not yet everywhere (flows_1m): commit them with the
	 * next COMMIT, which may come with no datagram of its own. */
	BUS_RELEASE_STORED = 2,
};

struct bus_consumer_ops {
	/* Fills up to `max` envelopes; waits at most timeout_ms for the first.
	 * Returns the count (0 on time-out) or -errno. The data stays valid
	 * until release(). */
	int (*poll)(struct bus_consumer *c, struct bus_envelope *envs, size_t max, int timeout_ms);
	/* Gives back what the polls since the last release returned; `how`
	 * is an enum bus_release. */
	void (*release)(struct bus_consumer *c, int how);
	void (*free)(struct bus_consumer *c);
};

struct bus_consumer {
	const struct bus_consumer_ops *ops;
	/* Optional, set by the owner: called from inside poll() when the bus
	 * is about to take partitions away (Kafka rebalance), so the owner can
	 * store what it holds and release(commit=1) it while the commit still
	 * counts; otherwise the next owner reads it again (duplicates). A
	 * release() made from the hook gives back what earlier polls returned,
	 * not the poll in progress. The ring never calls it. */
	void (*on_revoke)(void *ctx);
	void *on_revoke_ctx;
};

/* The operations, called through the consumer's ops (see above). */
static inline int bus_consumer_poll(struct bus_consumer *c, struct bus_envelope *envs, size_t max,
				    int timeout_ms)
{
	return c->ops->poll(c, envs, max, timeout_ms);
}

static inline void bus_consumer_release(struct bus_consumer *c, enum bus_release how)
{
	c->ops->release(c, (int)how);
}

/* NULL is fine. */
static inline void bus_consumer_free(struct bus_consumer *c)
{
	if (c)
		c->ops->free(c);
}

/* ---- the in-process ring ---- */

/* A ring of `size` bytes (rounded up) between many producers and one
 * consumer. send() never waits: it returns -ENOBUFS at once when the ring is
 * full, and -EDQUOT when the datagram's exporter already holds
 * `exporter_share` percent of the ring (queued or polled and not yet
 * released) while another exporter holds bytes in it or did in the last 30
 * s, so that one exporter outrunning the consumer leaves room for the others
 * while an exporter alone on its ring may use all of it (1..99; 0 or 100
 * and above: no limit; a share always fits one datagram of the largest
 * size; the first 4096 exporters present at once are tracked, later ones
 * are not limited). Both are counted in
 * weir_bus_ring_dropped_total{ring=name}; the caller counts them per
 * exporter. Gauges weir_bus_ring_used_bytes{ring} and
 * weir_bus_ring_size_bytes{ring} say how full it is. Both ends are views of
 * one ring: free the producer and the consumer, the ring goes with the last
 * of them. Returns 0, or -errno with *producer and *consumer NULL and `err`
 * filled. */
int bus_ring_new(const char *name, size_t size, unsigned exporter_share,
		 struct metrics_registry *metrics, struct bus_producer **producer,
		 struct bus_consumer **consumer, struct error *err);

/* Wakes a consumer blocked in poll() and makes every later poll() return 0
 * at once once the ring is empty (used at shutdown). */
void bus_ring_close(struct bus_producer *producer);

/* The single-process bus of `weir run`: `n` rings of `size` bytes each
 * (bus.ring-size; each as bus_ring_new() with `exporter_share`, named
 * "outlet0"... in the metrics) and one producer that sends each datagram to
 * the ring of hash(exporter address, observation domain) (flow_domain_peek()
 * of common/flow_domain.h), so all of one (exporter, domain)'s datagrams,
 * its templates first and in order, meet one consumer, while an exporter
 * with several domains (line cards) spreads over the consumers. send()
 * returns what the ring's send() does (-ENOBUFS, -EDQUOT, -EMSGSIZE).
 * consumers[] (n entries, caller's array) get one consumer per ring, each
 * freed with bus_consumer_free(). The producer is thread-safe; free it with
 * bus_producer_free(). Returns 0, or -errno with *producer and consumers[]
 * NULL and `err` filled. */
int bus_ring_shards_new(size_t n, uint64_t size, unsigned exporter_share,
			struct metrics_registry *metrics, struct bus_producer **producer,
			struct bus_consumer **consumers, struct error *err);
/* The ring bus_ring_shards_new()'s producer sends this datagram to (0..n-1). */
size_t bus_ring_shards_pick(const struct bus_producer *producer, const struct bus_envelope *env);
/* Closes every ring behind a producer made by bus_ring_shards_new(): the
 * consumers drain what is queued and then see the end (used at shutdown). */
void bus_ring_shards_close(struct bus_producer *producer);

/* ---- configuration: the `bus:` section of weir.yaml ---- */

enum bus_type { BUS_TYPE_RING, BUS_TYPE_KAFKA };
enum bus_kafka_compression {
	BUS_KAFKA_COMPRESSION_LZ4,
	BUS_KAFKA_COMPRESSION_ZSTD,
	BUS_KAFKA_COMPRESSION_NONE,
	BUS_KAFKA_COMPRESSION_GZIP,
	BUS_KAFKA_COMPRESSION_SNAPPY,
};
enum bus_kafka_sasl_mechanism {
	BUS_KAFKA_SASL_NONE,
	BUS_KAFKA_SASL_PLAIN,
	BUS_KAFKA_SASL_SCRAM_SHA_256,
	BUS_KAFKA_SASL_SCRAM_SHA_512,
};

struct bus_kafka_config {
	struct config_list brokers;  /* char *[]: "host:port" */
	char *topic;		     /* raw datagrams; default "weir-flows-raw" */
	uint64_t partitions;	     /* when the orchestrator creates the topic; default 8 */
	uint64_t replication_factor; /* default 1 */
	char *consumer_group;	     /* default "weir-outlet" */
	char *flows_topic;	     /* enriched flows, "" (default) = none */
	int compression;	     /* enum bus_kafka_compression; default lz4 */
	struct {
		int enabled;
		char *ca_file, *cert_file, *key_file;
		int insecure_skip_verify;
	} tls;
	struct {
		int mechanism; /* enum bus_kafka_sasl_mechanism */
		char *username, *password;
	} sasl;
	/* Extra librdkafka properties (a YAML map of scalars, passed through as
	 * is and applied last), or NULL. They point into the config document,
	 * which must outlive the clients made from this config. */
	const struct config_node *producer, *consumer;
};

struct bus_config {
	int type;		      /* enum bus_type; default ring */
	uint64_t ring_size;	      /* bytes; default 64 MiB */
	uint64_t ring_exporter_share; /* percent of a ring one exporter may hold; default 50 */
	uint64_t ring_block_ms;	      /* deprecated, ignored (a full ring never blocks); 0 */
	struct bus_kafka_config kafka;
};

extern const struct config_field bus_config_fields[];
/* Fills the defaults. Returns 0 or -ENOMEM. */
int bus_config_defaults(struct bus_config *cfg);
/* Checks what binding cannot (kafka needs brokers...). `doc` (may be NULL)
 * gives the line of the section in errors. Returns 0 or -EINVAL. */
int bus_config_check(const struct bus_config *cfg, const struct config_doc *doc,
		     struct config_error *err);
/* What only a Kafka client shows (TLS files that do not load, property
 * combinations librdkafka refuses such as acks with idempotence), found on
 * a scratch producer and consumer that reach no broker. The roles call it
 * before they start; `weir config check` does not (the files may live on
 * another host). Returns 0 or -EINVAL, `err` naming file:line: key. */
int bus_kafka_config_verify(const struct bus_config *cfg, const struct config_doc *doc,
			    struct config_error *err);

/* ---- the Kafka bus (librdkafka) ---- */

/* The inlet's side: each envelope becomes one proto/raw_datagram.proto
 * message keyed by the exporter address, so all of an exporter's datagrams
 * (its templates first) land in one partition, hence one outlet. librdkafka's
 * queue is the buffer: when it is full, send() returns -ENOBUFS and counts
 * weir_bus_kafka_dropped_total{reason="queue-full"}; failed deliveries are
 * counted too. free() flushes (a few seconds at most). Returns 0, or -errno
 * with *producer NULL and `err` filled. */
int bus_kafka_producer_new(const struct bus_config *cfg, struct metrics_registry *metrics,
			   struct bus_producer **producer, struct error *err);

/* The outlet's side: a member of the consumer group cfg->kafka.consumer_group
 * subscribed to the topic, offsets never committed automatically. poll()
 * returns envelopes whose data points into librdkafka's messages (messages
 * that do not decode are counted and skipped); release(c, COMMIT) commits
 * the offsets of everything polled since the previous release and of the
 * earlier STORED releases, except for partitions revoked meanwhile (their
 * new owner gets them again): at-least-once. A commit the broker refuses
 * (the group is rebalancing) is kept and made again, from the rebalance
 * callback at the latest. release(c, STORED) keeps the offsets for the
 * next COMMIT;
 * release(c, UNCOMMITTED) gives them back uncommitted. One thread per
 * consumer. Returns 0, or -errno with *consumer NULL and `err` filled. */
int bus_kafka_consumer_new(const struct bus_config *cfg, struct metrics_registry *metrics,
			   struct bus_consumer **consumer, struct error *err);

/* Creates the topic (and the flows topic, when set) with the configured
 * partitions and replication factor through the Admin API; a topic that
 * already exists is fine (a partition count that differs is logged). Waits
 * up to about 10 s. Returns 0 or -errno with `err` filled. */
int bus_kafka_topic_ensure(const struct bus_config *cfg, struct error *err);

/* The optional topic of enriched flows (proto/flow.proto, keyed by exporter
 * address). send() is thread-safe; -ENOBUFS when the queue is full (counted
 * as weir_bus_kafka_dropped_total{topic=flows-topic,reason=queue-full}).
 * new: returns 0, or -errno with *producer NULL and `err` filled (-EINVAL
 * when bus.kafka.flows-topic is not set). free: NULL is fine. */
struct flow;
struct bus_kafka_flow_producer;
int bus_kafka_flow_producer_new(const struct bus_config *cfg, struct metrics_registry *metrics,
				struct bus_kafka_flow_producer **producer, struct error *err);
int bus_kafka_flow_producer_send(struct bus_kafka_flow_producer *p, const struct flow *f);
int bus_kafka_flow_producer_flush(struct bus_kafka_flow_producer *p, int timeout_ms);
void bus_kafka_flow_producer_free(struct bus_kafka_flow_producer *p);

/* The wire messages, without Kafka (the unit tests and other consumers).
 * pack: writes into buf, returns the length or -EMSGSIZE. unpack: 0 or
 * -EBADMSG; an unpacked envelope's data points into `buf`. */
int bus_envelope_pack(const struct bus_envelope *env, uint8_t *buf, size_t size);
int bus_envelope_unpack(const uint8_t *buf, size_t len, struct bus_envelope *env);
int bus_flow_pack(const struct flow *f, uint8_t *buf, size_t size);
int bus_flow_unpack(const uint8_t *buf, size_t len, struct flow *f);
#define BUS_ENVELOPE_OVERHEAD 48   /* packed size - payload length, at most */
#define BUS_FLOW_MAX_PACKED   2048 /* a packed struct flow never exceeds this */

#endif
