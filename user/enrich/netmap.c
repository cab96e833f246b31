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

struct paint {
	struct netmap *m;
	int oom;
};

static uint32_t new_chunk(struct netmap *m, int level, uint32_t fill)
{
	uint32_t *n = level == 2 ? &m->nl2 : &m->nl3, *cap = level == 2 ? &m->cap2 : &m->cap3;
	uint32_t(**arr)[256] = level == 2 ? &m->l2 : &m->l3;

	if (*n == *cap) {
		uint32_t c = *cap ? *cap * 2 : 64;
		uint32_t(*na)[256] = realloc(*arr, (size_t)c * sizeof(**arr));
		if (!na)
			return UINT32_MAX;
		*arr = na;
		*cap = c;
	}
	for (int i = 0; i < 256; i++)
		(*arr)[*n][i] = fill;
	return (*n)++;
}

/* Paints one IPv4 prefix into the 16-8-8 table. The walk is in CIDR order,
 * so the prefixes a prefix holds come after it and overwrite it; chunks in
 * its range can only come from those, hence are not there yet. */
static void paint_one(const struct lpm_key *key, unsigned len, uint32_t *value, uint32_t parent,
		      void *ctx)
{
	struct paint *p = ctx;
	struct netmap *m = p->m;
	uint32_t v = *value + 1;

	(void)parent;
	if (p->oom || len < 96 || (key->lo >> 32) != 0xffffULL || key->hi)
		return;
	unsigned l4 = len - 96;
	uint32_t a = (uint32_t)key->lo;
	if (l4 <= 16) {
		uint32_t first = a >> 16, n = 1u << (16 - l4);
		for (uint32_t i = 0; i < n; i++)
			m->v4[first + i] = v;
		return;
	}
	uint32_t *e1 = &m->v4[a >> 16];
	if (!(*e1 & NETMAP_CHUNK)) {
		uint32_t c = new_chunk(m, 2, *e1);
		if (c == UINT32_MAX) {
			p->oom = 1;
			return;
		}
		*e1 = NETMAP_CHUNK | c;
	}
	uint32_t *l2 = m->l2[*e1 & ~NETMAP_CHUNK];
	if (l4 <= 24) {
		uint32_t first = (a >> 8) & 255, n = 1u << (24 - l4);
		for (uint32_t i = 0; i < n; i++)
			l2[first + i] = v;
		return;
	}
	uint32_t *e2 = &l2[(a >> 8) & 255];
	if (!(*e2 & NETMAP_CHUNK)) {
		uint32_t c = new_chunk(m, 3, *e2);
		if (c == UINT32_MAX) {
			p->oom = 1;
			return;
		}
		/* l2 may have moved (new_chunk(…, 3) does not touch it): reload */
		e2 = &m->l2[m->v4[a >> 16] & ~NETMAP_CHUNK][(a >> 8) & 255];
		*e2 = NETMAP_CHUNK | c;
	}
	uint32_t *l3 = m->l3[*e2 & ~NETMAP_CHUNK];
	uint32_t first = a & 255, n = 1u << (32 - l4);
	for (uint32_t i = 0; i < n; i++)
		l3[first + i] = v;
}

/* The IPv4 table; prefixes shorter than /96 holding the IPv4 space fill it
 * first. */
static int build_v4(struct netmap *m)
{
	struct paint p = {.m = m};
	struct in6_addr v4 = {.s6_addr = {[10] = 0xff, [11] = 0xff}};
	struct lpm_key k = lpm_key_from_addr(&v4);
	uint32_t base = LPM_NONE, n = m->lpm.root;

	while (n) {
		const struct lpm_node *node = &m->lpm.nodes[n];
		if (node->len > 96)
			break;
		uint64_t mhi = node->len >= 64 ? ~0ULL : node->len ? ~0ULL << (64 - node->len) : 0;
		uint64_t mlo = node->len <= 64 ? 0 : ~0ULL << (128 - node->len);
		if (((k.hi ^ node->key.hi) & mhi) | ((k.lo ^ node->key.lo) & mlo))
			break;
		if (node->value != LPM_NONE && node->len < 96)
			base = node->value;
		if (node->len == 96)
			break;
		unsigned bit = node->len < 64 ? (unsigned)(k.hi >> (63 - node->len)) & 1
					      : (unsigned)(k.lo >> (127 - node->len)) & 1;
		n = node->child[bit];
	}
	m->v4 = malloc(65536 * sizeof(*m->v4));
	if (!m->v4)
		return -ENOMEM;
	for (uint32_t i = 0; i < 65536; i++)
		m->v4[i] = base == LPM_NONE ? 0 : base + 1;
	lpm_walk(&m->lpm, paint_one, &p);
	return p.oom ? -ENOMEM : 0;
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
	if (build_v4(m) < 0) {
		netmap_free(m);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

void netmap_free(struct netmap *m)
{
	if (!m)
		return;
	lpm_fini(&m->lpm);
	free(m->values);
	free(m->v4);
	free(m->l2);
	free(m->l3);
	free(m);
}
