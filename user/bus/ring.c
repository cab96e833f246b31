// SPDX-License-Identifier: AGPL-3.0-or-later
/* The in-process bus: a byte ring of variable-size records, many producers,
 * one consumer. A mutex guards positions only; payloads are copied in by the
 * producer under the lock (one memcpy) and read in place by the consumer,
 * whose region is protected until release(). A full ring drops at once (the
 * receive path never waits), and one exporter holds at most its share. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "../common/clock.h"
#include "../common/container_of.h"
#include "../common/exporter_table.h"
#include "bus.h"

#define RING_WRAP 0xffffffffu
/* Exporters whose bytes in one ring are tracked for the share; past it a
 * datagram goes in untracked (flagged, so its release leaves the table be). */
#define RING_SHARE_EXPORTERS 4096
#define RING_F_TRACKED	     1
/* An exporter that held bytes in the ring this recently still counts as
 * present: while another one is, an exporter is held to its share. */
#define RING_SHARE_WINDOW_MS 30000

struct ring_record {
	uint32_t total; /* record size with header and padding, or RING_WRAP */
	uint32_t len;
	uint64_t time_received_ns;
	struct in6_addr exporter;
	uint16_t exporter_port;
	uint16_t flags; /* RING_F_TRACKED: counted in its exporter's held bytes */
	uint16_t pad[2];
};

/* Bytes one exporter holds in the ring (queued or polled, not released). */
struct ring_held {
	uint64_t bytes;
};

struct ring {
	struct bus_producer producer;
	struct bus_consumer consumer;
	pthread_mutex_t lock;
	pthread_cond_t readable, writable;
	uint8_t *buf;
	uint64_t size;
	uint64_t head;	      /* next write position (monotonic) */
	uint64_t tail;	      /* oldest position still in use by the consumer */
	uint64_t read;	      /* where the next poll starts */
	uint64_t share_limit; /* bytes one exporter may hold; 0 = no limit */
	/* Of struct ring_held, when share_limit: the exporters holding bytes
	 * (last_seen UINT64_MAX) or that held some in the last
	 * RING_SHARE_WINDOW_MS (last_seen: when they last held nothing). */
	struct exporter_table held;
	uint64_t next_expire_ms;
	int closed;
	_Atomic int refs;
	struct metric_series *sent, *dropped, *used, *size_gauge;
};

static uint64_t align8(uint64_t v)
{
	return (v + 7) & ~7ull;
}

static uint64_t coarse_ms(void)
{
	struct timespec ts;

	/* A few ns: read with the lock held, once per datagram. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The held-bytes entry of env's exporter, or NULL (table full: untracked),
 * and whether the exporter is over its share: only while another exporter
 * is present, so that an exporter alone on its ring may use all of it. */
static struct ring_held *share_take(struct ring *r, const struct bus_envelope *env, uint64_t need,
				    int *over)
{
	uint64_t now = coarse_ms();
	struct exporter_entry *e;
	struct ring_held *h;

	if (now >= r->next_expire_ms) {
		if (now > RING_SHARE_WINDOW_MS)
			exporter_table_expire(&r->held, now - RING_SHARE_WINDOW_MS);
		r->next_expire_ms = now + 1000;
	}
	e = exporter_table_get(&r->held, &env->exporter, 0, NULL);
	if (!e)
		return NULL;
	h = (struct ring_held *)e->value;
	*over = h->bytes + need > r->share_limit && exporter_table_count(&r->held) > 1;
	if (!*over) {
		h->bytes += need;
		e->last_seen = UINT64_MAX; /* holds bytes: never expires */
	} else if (!h->bytes) {
		e->last_seen = now;
	}
	return h;
}

static int ring_send(struct bus_producer *p, const struct bus_envelope *env)
{
	struct ring *r = container_of(p, struct ring, producer);
	uint64_t need = align8(sizeof(struct ring_record) + env->len), off, pad;
	struct ring_held *held = NULL;
	struct ring_record *rec;

	if (env->len > BUS_MAX_DATAGRAM || need > r->size / 2) {
		metric_add(r->dropped, 1);
		return -EMSGSIZE;
	}
	pthread_mutex_lock(&r->lock);
	off = r->head % r->size;
	pad = off + need > r->size ? r->size - off : 0;
	/* Never wait: a slow consumer must not hold the receive thread, which
	 * serves every other exporter and ring too. */
	if (r->head + pad + need - r->tail > r->size) {
		pthread_mutex_unlock(&r->lock);
		metric_add(r->dropped, 1);
		return -ENOBUFS;
	}
	if (r->share_limit) {
		int over = 0;

		/* O(1): a table lookup (and a sweep of idle entries a second). */
		held = share_take(r, env, need, &over);
		if (over) {
			pthread_mutex_unlock(&r->lock);
			metric_add(r->dropped, 1);
			return -EDQUOT;
		}
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
	    .flags = held ? RING_F_TRACKED : 0,
	};
	memcpy(rec + 1, env->data, env->len);
	r->head += need;
	metric_set(r->used, (double)(r->head - r->tail));
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
	uint64_t now = r->share_limit ? coarse_ms() : 0;

	(void)commit; /* nothing survives the process: there is nothing to commit */
	pthread_mutex_lock(&r->lock);
	/* Give the released records' bytes back to their exporters: one
	 * lookup per record, as many as the polls returned. */
	while (r->share_limit && r->tail != r->read) {
		uint64_t off = r->tail % r->size;
		const struct ring_record *rec = (const struct ring_record *)(r->buf + off);
		struct exporter_entry *e;

		if (rec->total == RING_WRAP) {
			r->tail += r->size - off;
			continue;
		}
		if ((rec->flags & RING_F_TRACKED) &&
		    (e = exporter_table_find(&r->held, &rec->exporter, 0))) {
			struct ring_held *h = (struct ring_held *)e->value;

			h->bytes -= h->bytes < rec->total ? h->bytes : rec->total;
			if (!h->bytes)
				e->last_seen = now; /* expires after the window */
		}
		r->tail += rec->total;
	}
	r->tail = r->read;
	metric_set(r->used, (double)(r->head - r->tail));
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
	exporter_table_fini(&r->held);
	munmap(r->buf, r->size);
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

int bus_ring_new(const char *name, size_t size, unsigned exporter_share,
		 struct metrics_registry *metrics, struct bus_producer **producer,
		 struct bus_consumer **consumer, struct error *err)
{
	static const struct exporter_table_config held_table = {
	    .value_size = sizeof(struct ring_held),
	    .max_entries = RING_SHARE_EXPORTERS,
	    .prealloc = 1, /* send() never allocates */
	};
	struct ring *r = calloc(1, sizeof(*r));
	pthread_condattr_t attr;
	int ret;

	*producer = NULL;
	*consumer = NULL;
	if (!r)
		return error_set(err, -ENOMEM, "in-process bus: %s", strerror(ENOMEM));
	r->size = align8(size < 2 * (BUS_MAX_DATAGRAM + 64) ? 2 * (BUS_MAX_DATAGRAM + 64) : size);
	/* Every page now, not at its first datagram: else the receive path
	 * takes a page fault per 4 KiB it writes until the ring has gone round
	 * once, most of them in the burst that fills it (0.2 us per flow at
	 * 500k flows/s, weir bench e2e). Mapped populated, not malloc() and
	 * memset(): the compiler makes those two a calloc(), which leaves a
	 * fresh mapping untouched. */
	r->buf = mmap(NULL, r->size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (r->buf == MAP_FAILED) {
		ret = -errno;
		free(r);
		return error_set(err, ret, "in-process bus: ring of %zu bytes: %s", size,
				 strerror(-ret));
	}
	if (exporter_share > 0 && exporter_share < 100) {
		r->share_limit = r->size / 100 * exporter_share;
		/* One datagram of the largest size always fits in a share. */
		if (r->share_limit < BUS_MAX_DATAGRAM + 64)
			r->share_limit = BUS_MAX_DATAGRAM + 64;
		ret = exporter_table_init(&r->held, &held_table, err);
		if (ret < 0) {
			munmap(r->buf, r->size);
			free(r);
			return ret;
		}
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&r->readable, &attr);
	pthread_cond_init(&r->writable, &attr);
	pthread_condattr_destroy(&attr);
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
		    "Datagrams dropped because the in-process ring was full or their exporter "
		    "held its share of it",
		    "ring", labels);
		r->used = metrics_gauge(metrics, "weir_bus_ring_used_bytes",
					"Bytes of the in-process ring in use (queued or being "
					"decoded)",
					"ring", labels);
		r->size_gauge = metrics_gauge(metrics, "weir_bus_ring_size_bytes",
					      "Size of the in-process ring", "ring", labels);
		metric_set(r->size_gauge, (double)r->size);
	}
	*producer = &r->producer;
	*consumer = &r->consumer;
	return 0;
}
