// SPDX-License-Identifier: AGPL-3.0-or-later
/* The single-process bus: one in-process ring per consumer (outlet worker),
 * and a producer that picks the ring by a hash of the exporter address and
 * observation domain, so all of one domain's datagrams (and so its
 * templates, scoped per domain by RFC 3954 section 5.1 and RFC 7011 section
 * 3.1) meet one decoder, in order, while a busy exporter's line cards
 * spread over the decoders. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/addr.h"
#include "../common/container_of.h"
#include "../common/flow_domain.h"
#include "bus.h"

struct ring_shards {
	struct bus_producer producer;
	size_t n;
	struct bus_producer **rings;
};

static int shards_send(struct bus_producer *p, const struct bus_envelope *env);

size_t bus_ring_shards_pick(const struct bus_producer *producer, const struct bus_envelope *env)
{
	const struct ring_shards *s = container_of(producer, const struct ring_shards, producer);

	if (s->n == 1)
		return 0;
	/* Domain 0 (one-domain exporters, unknown formats) hashes as the
	 * exporter alone did before. */
	return addr_hash64(&env->exporter, flow_domain_peek(env->data, env->len)) % s->n;
}

static int shards_send(struct bus_producer *p, const struct bus_envelope *env)
{
	struct ring_shards *s = container_of(p, struct ring_shards, producer);

	return bus_producer_send(s->rings[bus_ring_shards_pick(p, env)], env);
}

static int shards_flush(struct bus_producer *p, int timeout_ms)
{
	struct ring_shards *s = container_of(p, struct ring_shards, producer);
	int ret = 0;

	for (size_t i = 0; i < s->n; i++) {
		int r = bus_producer_flush(s->rings[i], timeout_ms);
		if (r < 0 && !ret)
			ret = r;
	}
	return ret;
}

static void shards_free(struct bus_producer *p)
{
	struct ring_shards *s = container_of(p, struct ring_shards, producer);

	for (size_t i = 0; i < s->n; i++)
		bus_producer_free(s->rings[i]);
	free(s->rings);
	free(s);
}

static const struct bus_producer_ops shards_ops = {
    .send = shards_send,
    .flush = shards_flush,
    .free = shards_free,
};

int bus_ring_shards_new(size_t n, uint64_t size, unsigned exporter_share,
			struct metrics_registry *metrics, struct bus_producer **producer,
			struct bus_consumer **consumers, struct error *err)
{
	struct ring_shards *s = calloc(1, sizeof(*s));
	int ret;

	if (!n)
		n = 1;
	*producer = NULL;
	for (size_t i = 0; i < n; i++)
		consumers[i] = NULL;
	if (!s)
		return error_set(err, -ENOMEM, "in-process bus: %s", strerror(ENOMEM));
	s->producer.ops = &shards_ops;
	s->rings = calloc(n, sizeof(*s->rings));
	if (!s->rings) {
		ret = error_set(err, -ENOMEM, "in-process bus: %s", strerror(ENOMEM));
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		char name[32];

		/* (named after the outlet's workers, whose rings they are) */
		snprintf(name, sizeof(name), "outlet%zu", i);
		ret = bus_ring_new(name, size, exporter_share, metrics, &s->rings[i], &consumers[i],
				   err);
		if (ret < 0) {
			for (size_t j = 0; j < i; j++) {
				bus_consumer_free(consumers[j]);
				consumers[j] = NULL;
			}
			goto fail;
		}
		s->n = i + 1;
	}
	*producer = &s->producer;
	return 0;
fail:
	shards_free(&s->producer);
	return ret;
}

void bus_ring_shards_close(struct bus_producer *producer)
{
	struct ring_shards *s = container_of(producer, struct ring_shards, producer);

	for (size_t i = 0; i < s->n; i++)
		bus_ring_close(s->rings[i]);
}
