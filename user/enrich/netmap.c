// SPDX-License-Identifier: AGPL-3.0-or-later
/* Networks + GeoIP merge: per-prefix merge of sources, then the flattening
 * walk (a prefix inherits unset attributes from the prefixes holding it) and
 * de-duplication of the resulting attribute sets. */
#include "netmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void netmap_builder_init(struct netmap_builder *b)
{
	memset(b, 0, sizeof(*b));
	lpm_init(&b->lpm);
}

void netmap_builder_fini(struct netmap_builder *b)
{
	lpm_fini(&b->lpm);
	free(b->vals);
	memset(b, 0, sizeof(*b));
}

/* Attributes set in `src` override those of `dst`. */
static void merge(struct net_value *dst, const struct net_value *src)
{
	const struct flow_network_attrs *s = &src->attrs;
	struct flow_network_attrs *d = &dst->attrs;

	if (s->name)
		d->name = s->name;
	if (s->role)
		d->role = s->role;
	if (s->site)
		d->site = s->site;
	if (s->region)
		d->region = s->region;
	if (s->tenant)
		d->tenant = s->tenant;
	if (s->state)
		d->state = s->state;
	if (s->city)
		d->city = s->city;
	if (s->country[0] || s->country[1])
		memcpy(d->country, s->country, 2);
	if (src->asn)
		dst->asn = src->asn;
}

int netmap_builder_add(struct netmap_builder *b, const struct in6_addr *prefix, unsigned len,
		       const struct net_value *v)
{
	uint32_t i = lpm_get(&b->lpm, prefix, len);

	if (i != LPM_NONE) {
		merge(&b->vals[i], v);
		return 0;
	}
	if (b->n == b->cap) {
		uint32_t cap = b->cap ? b->cap * 2 : 256;
		struct net_value *nv = realloc(b->vals, (size_t)cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		b->vals = nv;
		b->cap = cap;
	}
	b->vals[b->n] = *v;
	memset(b->vals[b->n].attrs.pad_, 0, sizeof(b->vals[b->n].attrs.pad_));
	if (lpm_insert(&b->lpm, prefix, len, b->n) < 0)
		return -ENOMEM;
	b->n++;
	return 0;
}

struct flatten {
	struct netmap_builder *b;
	struct net_value *flat;
	uint32_t nflat, cap;
	uint32_t *set; /* de-duplication: indices into flat, +1 */
	uint32_t set_mask;
	int oom;
};

static uint64_t value_hash(const struct net_value *v)
{
	const uint8_t *p = (const uint8_t *)v;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < sizeof(*v); i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static int set_grow(struct flatten *f)
{
	uint32_t mask = f->set_mask ? f->set_mask * 2 + 1 : 1023;
	uint32_t *set = calloc((size_t)mask + 1, sizeof(*set));

	if (!set)
		return -ENOMEM;
	for (uint32_t i = 0; i < f->nflat; i++) {
		uint32_t j = (uint32_t)value_hash(&f->flat[i]) & mask;
		while (set[j])
			j = (j + 1) & mask;
		set[j] = i + 1;
	}
	free(f->set);
	f->set = set;
	f->set_mask = mask;
	return 0;
}

static uint32_t intern_value(struct flatten *f, const struct net_value *v)
{
	if ((uint64_t)(f->nflat + 1) * 2 > f->set_mask && set_grow(f) < 0)
		return LPM_NONE;
	uint32_t j = (uint32_t)value_hash(v) & f->set_mask;
	for (; f->set[j]; j = (j + 1) & f->set_mask)
		if (!memcmp(&f->flat[f->set[j] - 1], v, sizeof(*v)))
			return f->set[j] - 1;
	if (f->nflat == f->cap) {
		uint32_t cap = f->cap ? f->cap * 2 : 256;
		struct net_value *nv = realloc(f->flat, (size_t)cap * sizeof(*nv));
		if (!nv)
			return LPM_NONE;
		f->flat = nv;
		f->cap = cap;
	}
	f->flat[f->nflat] = *v;
	f->set[j] = f->nflat + 1;
	return f->nflat++;
}

static void flatten_one(const struct lpm_key *key, unsigned len, uint32_t *value, uint32_t parent,
			void *ctx)
{
	struct flatten *f = ctx;
	struct net_value v = {0};

	(void)key;
	(void)len;
	if (f->oom)
		return;
	if (parent != LPM_NONE)
		v = f->flat[parent];
	merge(&v, &f->b->vals[*value]);
	uint32_t i = intern_value(f, &v);
	if (i == LPM_NONE)
		f->oom = 1;
	else
		*value = i;
}

int netmap_build(struct netmap_builder *b, struct netmap **out)
{
	struct flatten f = {.b = b};
	struct netmap *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		return -ENOMEM;
	lpm_walk(&b->lpm, flatten_one, &f);
	free(f.set);
	if (f.oom) {
		free(f.flat);
		free(m);
		return -ENOMEM;
	}
	m->lpm = b->lpm;
	m->values = f.flat;
	m->nvalues = f.nflat;
	free(b->vals);
	memset(b, 0, sizeof(*b));
	*out = m;
	return 0;
}

void netmap_free(struct netmap *m)
{
	if (!m)
		return;
	lpm_fini(&m->lpm);
	free(m->values);
	free(m);
}
