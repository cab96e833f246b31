// SPDX-License-Identifier: AGPL-3.0-or-later
/* The in-process bus: a byte ring of variable-size records, many producers,
 * one consumer. A mutex guards positions only; payloads are copied in by the
 * producer under the lock (one memcpy) and read in place by the consumer,
 * whose region is protected until release(). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/clock.h"
#include "../common/container_of.h"
#include "bus.h"

#define RING_WRAP 0xffffffffu

struct ring_record {
	uint32_t total; /* record size with header and padding, or RING_WRAP */
	uint32_t len;
	uint64_t time_received_ns;
	struct in6_addr exporter;
	uint16_t exporter_port;
	uint16_t pad[3];
};

struct ring {
	struct bus_producer producer;
	struct bus_consumer consumer;
	pthread_mutex_t lock;
	pthread_cond_t readable, writable;
	uint8_t *buf;
	uint64_t size;
	uint64_t head; /* next write position (monotonic) */
	uint64_t tail; /* oldest position still in use by the consumer */
	uint64_t read; /* where the next poll starts */
	int block_ms;
	int closed;
	_Atomic int refs;
	struct metric_series *sent, *dropped;
};

static uint64_t align8(uint64_t v)
{
	return (v + 7) & ~7ull;
}

static int ring_send(struct bus_producer *p, const struct bus_envelope *env)
{
	struct ring *r = container_of(p, struct ring, producer);
	uint64_t need = align8(sizeof(struct ring_record) + env->len), off, pad;
	struct ring_record *rec;
	struct timespec deadline;
	int waited = 0;

	if (env->len > BUS_MAX_DATAGRAM || need > r->size / 2) {
		metric_add(r->dropped, 1);
		return -EMSGSIZE;
	}
	pthread_mutex_lock(&r->lock);
	for (;;) {
		off = r->head % r->size;
		pad = off + need > r->size ? r->size - off : 0;
		if (r->head + pad + need - r->tail <= r->size)
			break;
		if (r->closed || r->block_ms <= 0 || waited) {
			pthread_mutex_unlock(&r->lock);
			metric_add(r->dropped, 1);
			return -ENOBUFS;
		}
		/* Backpressure: wait for the consumer, once, up to block_ms. */
		clock_deadline(&deadline, CLOCK_MONOTONIC, (uint64_t)r->block_ms);
		while (r->head + pad + need - r->tail > r->size && !r->closed)
			if (pthread_cond_timedwait(&r->writable, &r->lock, &deadline) == ETIMEDOUT)
				break;
		waited = 1;
	}
	if (pad) {
		((struct ring_record *)(r->buf + off))->total = RING_WRAP;
		r->head += pad;
		off = 0;
	}
	rec = (struct ring_record *)(r->buf + off);
	*rec = (struct ring_record){
	    .total = (uint32_t)need,
	    .len = env->len,
	    .time_received_ns = env->time_received_ns,
	    .exporter = env->exporter,
	    .exporter_port = env->exporter_port,
	};
	memcpy(rec + 1, env->data, env->len);
	r->head += need;
	pthread_cond_signal(&r->readable);
	pthread_mutex_unlock(&r->lock);
	metric_add(r->sent, 1);
	return 0;
}

static int ring_flush(struct bus_producer *p, int timeout_ms)
{
	struct ring *r = container_of(p, struct ring, producer);
	struct timespec deadline;
	int ret = 0;

	if (timeout_ms <= 0)
		return 0;
	clock_deadline(&deadline, CLOCK_MONOTONIC, (uint64_t)timeout_ms);
	pthread_mutex_lock(&r->lock);
	while (r->tail != r->head && !r->closed)
		if (pthread_cond_timedwait(&r->writable, &r->lock, &deadline) == ETIMEDOUT) {
			ret = -ETIMEDOUT;
			break;
		}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

static int ring_poll(struct bus_consumer *c, struct bus_envelope *envs, size_t max, int timeout_ms)
{
	struct ring *r = container_of(c, struct ring, consumer);
	struct timespec deadline;
	size_t n = 0;

	pthread_mutex_lock(&r->lock);
	if (r->read == r->head && !r->closed && timeout_ms > 0) {
		clock_deadline(&deadline, CLOCK_MONOTONIC, (uint64_t)timeout_ms);
		while (r->read == r->head && !r->closed)
			if (pthread_cond_timedwait(&r->readable, &r->lock, &deadline) == ETIMEDOUT)
				break;
	}
	while (n < max && r->read != r->head) {
		uint64_t off = r->read % r->size;
		const struct ring_record *rec = (const struct ring_record *)(r->buf + off);

		if (rec->total == RING_WRAP) {
			r->read += r->size - off;
			continue;
		}
		envs[n++] = (struct bus_envelope){
		    .time_received_ns = rec->time_received_ns,
		    .exporter = rec->exporter,
		    .exporter_port = rec->exporter_port,
		    .len = rec->len,
		    .data = (const uint8_t *)(rec + 1),
		};
		r->read += rec->total;
	}
	pthread_mutex_unlock(&r->lock);
	return (int)n;
}

static void ring_release(struct bus_consumer *c, int commit)
{
	struct ring *r = container_of(c, struct ring, consumer);

	(void)commit; /* nothing survives the process: there is nothing to commit */
	pthread_mutex_lock(&r->lock);
	r->tail = r->read;
	pthread_cond_broadcast(&r->writable);
	pthread_mutex_unlock(&r->lock);
}

static void ring_unref(struct ring *r)
{
	if (atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->readable);
	pthread_cond_destroy(&r->writable);
	free(r->buf);
	free(r);
}

static void ring_producer_free(struct bus_producer *p)
{
	ring_unref(container_of(p, struct ring, producer));
}

static void ring_consumer_free(struct bus_consumer *c)
{
	ring_unref(container_of(c, struct ring, consumer));
}

static const struct bus_producer_ops ring_producer_ops = {
    .send = ring_send,
    .flush = ring_flush,
    .free = ring_producer_free,
};

static const struct bus_consumer_ops ring_consumer_ops = {
    .poll = ring_poll,
    .release = ring_release,
    .free = ring_consumer_free,
};

void bus_ring_close(struct bus_producer *producer)
{
	struct ring *r = container_of(producer, struct ring, producer);

	pthread_mutex_lock(&r->lock);
	r->closed = 1;
	pthread_cond_broadcast(&r->readable);
	pthread_cond_broadcast(&r->writable);
	pthread_mutex_unlock(&r->lock);
}

int bus_ring_new(const char *name, size_t size, int block_ms, struct metrics_registry *metrics,
		 struct bus_producer **producer, struct bus_consumer **consumer, struct error *err)
{
	struct ring *r = calloc(1, sizeof(*r));
	pthread_condattr_t attr;

	*producer = NULL;
	*consumer = NULL;
	if (!r)
		goto nomem;
	r->size = align8(size < 2 * (BUS_MAX_DATAGRAM + 64) ? 2 * (BUS_MAX_DATAGRAM + 64) : size);
	r->buf = malloc(r->size);
	if (!r->buf)
		goto nomem;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&r->readable, &attr);
	pthread_cond_init(&r->writable, &attr);
	pthread_condattr_destroy(&attr);
	r->block_ms = block_ms;
	r->producer.ops = &ring_producer_ops;
	r->consumer.ops = &ring_consumer_ops;
	atomic_init(&r->refs, 2);
	if (metrics) {
		const char *labels[] = {name};
		r->sent =
		    metrics_counter(metrics, "weir_bus_ring_sent_total",
				    "Datagrams queued on the in-process ring", "ring", labels);
		r->dropped = metrics_counter(
		    metrics, "weir_bus_ring_dropped_total",
		    "Datagrams dropped because the in-process ring was full", "ring", labels);
	}
	*producer = &r->producer;
	*consumer = &r->consumer;
	return 0;
nomem:
	free(r);
	return error_set(err, -ENOMEM, "in-process bus: %s", strerror(ENOMEM));
}
