/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Internal: a path-compressed binary trie over 128-bit keys (IPv4 mapped into
 * IPv6, as weir stores addresses): prefix -> uint32_t value, longest match.
 * Built by one thread, then read-only: lookups from any number of threads. */
#ifndef WEIR_ENRICH_LPM_H
#define WEIR_ENRICH_LPM_H

#include <netinet/in.h>
#include <stdint.h>

#define LPM_NONE UINT32_MAX

struct lpm_key {
	uint64_t hi, lo; /* the address, big-endian bit order in host integers */
};

struct lpm_node {
	struct lpm_key key; /* masked to len */
	uint32_t child[2];  /* node indices, 0 = none */
	uint32_t value;	    /* LPM_NONE = not a prefix of its own */
	uint8_t len;	    /* 0..128 */
};

struct lpm {
	struct lpm_node *nodes; /* [0] unused */
	uint32_t count, cap;
	uint32_t root;
	uint32_t prefixes;
};

static inline struct lpm_key lpm_key_from_addr(const struct in6_addr *a)
{
	struct lpm_key k = {0, 0};
	for (int i = 0; i < 8; i++) {
		k.hi = (k.hi << 8) | a->s6_addr[i];
		k.lo = (k.lo << 8) | a->s6_addr[8 + i];
	}
	return k;
}

void lpm_init(struct lpm *t);
void lpm_fini(struct lpm *t);
/* Sets the value of prefix/len (len in the 128-bit space; an IPv4 /24 is
 * ::ffff:a.b.c.0/120). Replaces an existing value. Returns 0 or -ENOMEM. */
int lpm_insert(struct lpm *t, const struct in6_addr *prefix, unsigned len, uint32_t value);
/* The value of exactly prefix/len, or LPM_NONE. */
uint32_t lpm_get(const struct lpm *t, const struct in6_addr *prefix, unsigned len);

/* The value of the longest prefix holding `a`, LPM_NONE when none. */
static inline uint32_t lpm_lookup_key(const struct lpm *t, struct lpm_key k)
{
	uint32_t n = t->root, best = LPM_NONE;

	while (n) {
		const struct lpm_node *node = &t->nodes[n];
		unsigned len = node->len;
		uint64_t mhi = len >= 64 ? ~0ULL : len ? ~0ULL << (64 - len) : 0;
		uint64_t mlo = len <= 64 ? 0 : len >= 128 ? ~0ULL : ~0ULL << (128 - len);
		if (((k.hi ^ node->key.hi) & mhi) | ((k.lo ^ node->key.lo) & mlo))
			break;
		if (node->value != LPM_NONE)
			best = node->value;
		if (len >= 128)
			break;
		unsigned bit = len < 64 ? (unsigned)(k.hi >> (63 - len)) & 1
					: (unsigned)(k.lo >> (127 - len)) & 1;
		n = node->child[bit];
	}
	return best;
}

static inline uint32_t lpm_lookup(const struct lpm *t, const struct in6_addr *a)
{
	return lpm_lookup_key(t, lpm_key_from_addr(a));
}

/* Calls fn for every prefix with a value, a prefix before the ones it holds
 * (CIDR order); `parent` is the value of the nearest prefix holding it
 * (LPM_NONE at the top). fn may change *value. */
typedef void (*lpm_walk_fn)(const struct lpm_key *key, unsigned len, uint32_t *value,
			    uint32_t parent, void *ctx);
void lpm_walk(struct lpm *t, lpm_walk_fn fn, void *ctx);

#endif
