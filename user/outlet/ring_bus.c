// SPDX-License-Identifier: AGPL-3.0-or-later
/* The single-process bus: one in-process ring per outlet worker, and a
 * producer that picks the ring by a hash of the exporter address, so all of
 * an exporter's datagrams (and so its templates) meet the same decoder. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outlet.h"

struct ring_fanout {
	struct bus_producer producer;
	size_t n;
	struct bus_producer **rings;
};

#define FANOUT_OF(p) ((struct ring_fanout *)((char *)(p)-offsetof(struct ring_fanout, producer)))

/* A 64-bit mix of the 16 address bytes (splitmix64 finaliser): exporters with
 * nearby addresses must spread over the workers. */
static uint64_t exporter_hash(const struct in6_addr *a)
{
	uint64_t lo, hi, h;

	memcpy(&hi, a->s6_addr, 8);
	memcpy(&lo, a->s6_addr + 8, 8);
	h = hi * 0x9e3779b97f4a7c15ull ^ lo;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

static int fanout_send(struct bus_producer *p, const struct bus_envelope *env)
{
	struct ring_fanout *f = FANOUT_OF(p);
	struct bus_producer *ring = f->rings[f->n == 1 ? 0 : exporter_hash(&env->exporter) % f->n];

	return ring->ops->send(ring, env);
}

static int fanout_flush(struct bus_producer *p, int timeout_ms)
{
	struct ring_fanout *f = FANOUT_OF(p);
	int ret = 0;

	for (size_t i = 0; i < f->n; i++) {
		int r = f->rings[i]->ops->flush(f->rings[i], timeout_ms);
		if (r < 0 && !ret)
			ret = r;
	}
	return ret;
}

static void fanout_free(struct bus_producer *p)
{
	struct ring_fanout *f = FANOUT_OF(p);

	for (size_t i = 0; i < f->n; i++)
		if (f->rings[i])
			f->rings[i]->ops->free(f->rings[i]);
	free(f->rings);
	free(f);
}

static const struct bus_producer_ops fanout_ops = {
    .send = fanout_send,
    .flush = fanout_flush,
    .free = fanout_free,
};

int outlet_ring_bus_new(size_t n, uint64_t size, int block_ms, struct metrics_registry *metrics,
			struct bus_producer **producer, struct bus_consumer **consumers)
{
	struct ring_fanout *f = calloc(1, sizeof(*f));
	int ret = -ENOMEM;

	if (!n)
		n = 1;
	if (!f)
		return -ENOMEM;
	f->producer.ops = &fanout_ops;
	f->rings = calloc(n, sizeof(*f->rings));
	if (!f->rings)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "outlet%zu", i);
		ret = bus_ring_new(name, size, block_ms, metrics, &f->rings[i], &consumers[i]);
		if (ret < 0) {
			for (size_t j = 0; j < i; j++) {
				consumers[j]->ops->free(consumers[j]);
				consumers[j] = NULL;
			}
			goto fail;
		}
		f->n = i + 1;
	}
	*producer = &f->producer;
	return 0;
fail:
	fanout_free(&f->producer);
	return ret;
}

void outlet_ring_bus_close(struct bus_producer *producer)
{
	struct ring_fanout *f = FANOUT_OF(producer);

	for (size_t i = 0; i < f->n; i++)
		bus_ring_close(f->rings[i]);
}
