/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Internal: networks and GeoIP merged into one longest-prefix structure.
 * Sources add (prefix, partial attributes) in priority order (GeoIP ASN, GeoIP
 * geo, then networks:): for the same prefix the later source wins attribute by
 * attribute; then each prefix inherits from the prefixes holding it whatever it
 * leaves unset, so a lookup is one longest-prefix match. Immutable once built. */
#ifndef WEIR_ENRICH_NETMAP_H
#define WEIR_ENRICH_NETMAP_H

#include "../common/addr.h"
#include "../common/error.h"
#include "../common/flow.h"
#include "../common/strtab.h"
#include "lpm.h"

struct net_value {
	struct flow_network_attrs attrs; /* string ids */
	uint32_t asn;
};

/* IPv4 (::ffff:0:0/96) is also expanded into a 16-8-8 multibit table (at
 * most three dependent loads instead of one per trie level): an entry is
 * value+1 (0 = none), or NETMAP_CHUNK | index of the next level's chunk. */
#define NETMAP_CHUNK 0x80000000u

struct netmap {
	struct lpm lpm;
	struct net_value *values;
	uint32_t nvalues;
	uint32_t *v4;	     /* 65536 entries, by the top 16 bits */
	uint32_t (*l2)[256]; /* by the third byte */
	uint32_t (*l3)[256]; /* by the last byte */
	uint32_t nl2, nl3, cap2, cap3;
};

struct netmap_builder {
	struct lpm lpm;
	struct net_value *vals;
	uint32_t n, cap;
};

void netmap_builder_init(struct netmap_builder *b);
void netmap_builder_fini(struct netmap_builder *b);
/* Merges `v` (0 / "" fields = unset) into prefix/len. Returns 0 or -ENOMEM. */
int netmap_builder_add(struct netmap_builder *b, const struct in6_addr *prefix, unsigned len,
		       const struct net_value *v);
/* Flattens into a new map (the builder is emptied). Returns 0 or -ENOMEM. */
int netmap_build(struct netmap_builder *b, struct netmap **out);
void netmap_free(struct netmap *m);

static const struct net_value netmap_empty_value;

/* The merged attributes of `a` (all empty when no prefix holds it). */
static inline const struct net_value *netmap_lookup(const struct netmap *m,
						    const struct in6_addr *a)
{
	uint32_t v;

	if (!m)
		return &netmap_empty_value;
	if (addr_is_ipv4(a)) {
		const uint8_t *b = &a->s6_addr[12];
		uint32_t e = m->v4[(uint32_t)b[0] << 8 | b[1]];
		if (e & NETMAP_CHUNK) {
			e = m->l2[e & ~NETMAP_CHUNK][b[2]];
			if (e & NETMAP_CHUNK)
				e = m->l3[e & ~NETMAP_CHUNK][b[3]];
		}
		return e ? &m->values[e - 1] : &netmap_empty_value;
	}
	v = lpm_lookup(&m->lpm, a);
	return v == LPM_NONE ? &netmap_empty_value : &m->values[v];
}

/* Starts loading the top level entry netmap_lookup(m, a) reads. */
static inline void netmap_prefetch_top(const struct netmap *m, const struct in6_addr *a)
{
	if (m && addr_is_ipv4(a))
		__builtin_prefetch(&m->v4[(uint32_t)a->s6_addr[12] << 8 | a->s6_addr[13]]);
}

/* Starts loading what netmap_lookup(m, a) reads first past the top level
 * (which it reads now): for a batch, some flows ahead of their lookup. */
static inline void netmap_prefetch(const struct netmap *m, const struct in6_addr *a)
{
	if (!m || !addr_is_ipv4(a))
		return;
	const uint8_t *b = &a->s6_addr[12];
	uint32_t e = m->v4[(uint32_t)b[0] << 8 | b[1]];

	if (e & NETMAP_CHUNK)
		__builtin_prefetch(&m->l2[e & ~NETMAP_CHUNK][b[2]]);
	else if (e)
		__builtin_prefetch(&m->values[e - 1]);
}

/* ---- sources ---- */

/* networks: prefix -> "name" or {name, role, site, region, tenant, country,
 * state, city, asn}. Errors name the file, line and key. */
struct config_node;
int netmap_add_networks(struct netmap_builder *b, struct strtab *strs,
			const struct config_node *networks, const char *file, const char *path,
			struct error *err);

/* IPinfo's AS number text ("AS15169", or digits alone): the number, 0 when
 * it is not one. */
uint32_t geoip_ipinfo_asn(const char *text, size_t len);

/* GeoIP: one .mmdb file (MaxMind GeoLite2 Country/City/ASN or IPinfo), walked
 * whole. `asn` selects what is read: AS numbers, or country/state/city. */
int netmap_add_mmdb(struct netmap_builder *b, struct strtab *strs, const char *path, int asn,
		    struct error *err);

#endif
