// SPDX-License-Identifier: AGPL-3.0-or-later
/* The NetFlow v9 / IPFIX template store: exporters, their templates and
 * sampling rates, bounded (per exporter and overall, least recently used
 * evicted), expiring when idle and reset on exporter restarts, and the
 * compilation of each template into a plan of fixed copy steps. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "nf_template.h"

/* ---- hash map: open addressing, linear probing, backward-shift delete ---- */

static inline uint32_t nf_hash(uint64_t a, uint64_t b)
{
	uint64_t h =
	    a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull) * 0xc2b2ae3d27d4eb4full;

	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 29;
	return (uint32_t)h;
}

struct nf_slot *nf_map_find(const struct nf_map *m, uint64_t a, uint64_t b)
{
	uint32_t mask, i;

	if (!m->cap)
		return NULL;
	mask = m->cap - 1;
	for (i = nf_hash(a, b) & mask; m->slots[i].v; i = (i + 1) & mask)
		if (m->slots[i].a == a && m->slots[i].b == b)
			return &m->slots[i];
	return NULL;
}

/* Bytes the map grows by when one more entry is put in, 0 when it has room. */
static size_t nf_map_growth(const struct nf_map *m)
{
	if ((m->n + 1) * 2 <= m->cap)
		return 0;
	return (size_t)(m->cap ? m->cap : 8) * sizeof(struct nf_slot);
}

static void nf_map_place(struct nf_slot *slots, uint32_t cap, uint64_t a, uint64_t b, uint64_t v)
{
	uint32_t mask = cap - 1, i;

	for (i = nf_hash(a, b) & mask; slots[i].v; i = (i + 1) & mask)
		;
	slots[i] = (struct nf_slot){a, b, v};
}

/* Puts a new key (not present). Returns 0 or -ENOMEM. */
static int nf_map_put(struct nf_map *m, uint64_t a, uint64_t b, uint64_t v)
{
	if ((m->n + 1) * 2 > m->cap) {
		uint32_t cap = m->cap ? m->cap * 2 : 16;
		struct nf_slot *slots = calloc(cap, sizeof(*slots));

		if (!slots)
			return -ENOMEM;
		for (uint32_t i = 0; i < m->cap; i++)
			if (m->slots[i].v)
				nf_map_place(slots, cap, m->slots[i].a, m->slots[i].b,
					     m->slots[i].v);
		free(m->slots);
		m->slots = slots;
		m->cap = cap;
	}
	nf_map_place(m->slots, m->cap, a, b, v);
	m->n++;
	return 0;
}

/* Removes the entry in `s` (a slot of `m`), shifting the following entries of
 * its cluster back so that lookups never meet a hole. */
static void nf_map_remove(struct nf_map *m, struct nf_slot *s)
{
	uint32_t mask = m->cap - 1, i = (uint32_t)(s - m->slots), j = i;

	for (;;) {
		uint32_t home;

		j = (j + 1) & mask;
		if (!m->slots[j].v)
			break;
		home = nf_hash(m->slots[j].a, m->slots[j].b) & mask;
		/* Move j back to i unless its home lies cyclically in (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		m->slots[i] = m->slots[j];
		i = j;
	}
	m->slots[i] = (struct nf_slot){0};
	m->n--;
}

static void nf_map_fini(struct nf_map *m)
{
	free(m->slots);
	*m = (struct nf_map){0};
}

/* ---- exporters ---- */

/* Bytes of `e`'s state, also counted in the store's total. */
static void nf_charge(struct template_store *ts, struct nf_exporter *e, int64_t delta)
{
	e->bytes += (uint64_t)delta;
	ts->bytes += (uint64_t)delta;
}

int template_store_new(const struct decode_config *cfg, struct template_store **out,
		       struct error *err)
{
	struct template_store *ts = calloc(1, sizeof(*ts));

	*out = ts;
	if (!ts)
		return error_set(err, -ENOMEM, "decode: out of memory for a template store");
	ts->cfg = *cfg;
	nf_list_init(&ts->probation);
	nf_list_init(&ts->active);
	return 0;
}

static void nf_map_free_values(struct nf_map *m)
{
	for (uint32_t i = 0; i < m->cap; i++)
		free((void *)(uintptr_t)m->slots[i].v);
	nf_map_fini(m);
}

static void nf_exporter_free(struct nf_exporter *e)
{
	nf_map_free_values(&e->templates);
	nf_map_free_values(&e->domains);
	nf_map_fini(&e->rates);
	free(e);
}

/* Forgets `e` and everything it taught. */
static void nf_exporter_drop(struct template_store *ts, struct nf_exporter *e)
{
	uint64_t a, b;
	struct nf_slot *s;

	memcpy(&a, e->addr.s6_addr, 8);
	memcpy(&b, e->addr.s6_addr + 8, 8);
	s = nf_map_find(&ts->index, a, b);
	if (s)
		nf_map_remove(&ts->index, s);
	nf_list_del(&e->lru);
	ts->bytes -= e->bytes;
	ts->nexporters--;
	ts->ntemplates -= e->ntemplates;
	if (ts->last == e)
		ts->last = NULL;
	nf_exporter_free(e);
}

void template_store_free(struct template_store *ts)
{
	if (!ts)
		return;
	for (uint32_t i = 0; i < ts->index.cap; i++)
		if (ts->index.slots[i].v)
			nf_exporter_free((struct nf_exporter *)(uintptr_t)ts->index.slots[i].v);
	nf_map_fini(&ts->index);
	free(ts);
}

/* The least recently used exporter other than `keep`: probation first. */
static struct nf_exporter *nf_exporter_victim(struct template_store *ts,
					      const struct nf_exporter *keep)
{
	struct nf_link *lists[2] = {&ts->probation, &ts->active};

	for (int i = 0; i < 2; i++)
		for (struct nf_link *l = lists[i]->next; l != lists[i]; l = l->next) {
			struct nf_exporter *e = container_of(l, struct nf_exporter, lru);

			if (e != keep)
				return e;
		}
	return NULL;
}

/* Evicts least recently used exporters (never `keep`) until `need` more
 * bytes fit in max_bytes_total. Returns 0, or -1 when they cannot. */
static int nf_room(struct template_store *ts, const struct nf_exporter *keep, uint64_t need,
		   struct decode_result *r)
{
	while (ts->bytes + need > ts->cfg.max_bytes_total) {
		struct nf_exporter *v = nf_exporter_victim(ts, keep);

		if (!v)
			return -1;
		nf_exporter_drop(ts, v);
		r->exporters_evicted++;
	}
	return 0;
}

static void nf_template_drop(struct template_store *ts, struct nf_exporter *e, struct nf_slot *s)
{
	struct nf_template *t = (struct nf_template *)(uintptr_t)s->v;

	nf_charge(ts, e, -(int64_t)t->size);
	e->ntemplates--;
	ts->ntemplates--;
	nf_list_del(&t->lru);
	free(t);
	nf_map_remove(&e->templates, s);
}

static void nf_template_drop_one(struct template_store *ts, struct nf_exporter *e,
				 struct nf_template *t)
{
	struct nf_slot *s = nf_map_find(&e->templates, nf_tkey(t->version, t->domain, t->id), 0);

	if (s)
		nf_template_drop(ts, e, s);
}

/* Idle: neither taught nor used for `idle` seconds (0: never). */
static int nf_idle(uint64_t last, uint64_t now, uint32_t idle)
{
	return idle && now > last && now - last > idle;
}

/* At most this many idle exporters are forgotten per datagram, so that the
 * cost of a mass expiry is spread. */
#define NF_EXPIRE_PER_CALL 16

static void nf_expire(struct template_store *ts, struct nf_exporter *keep, uint64_t now,
		      struct decode_result *r)
{
	struct nf_link *lists[2] = {&ts->probation, &ts->active};
	int budget = NF_EXPIRE_PER_CALL;

	/* Each list is in the order of last sight: its head is the oldest. */
	for (int i = 0; i < 2; i++)
		while (budget && lists[i]->next != lists[i]) {
			struct nf_exporter *e =
			    container_of(lists[i]->next, struct nf_exporter, lru);

			if (e == keep || !nf_idle(e->last, now, ts->cfg.exporter_idle_s))
				break;
			nf_exporter_drop(ts, e);
			r->exporters_expired++;
			budget--;
		}
	if (!keep)
		return;
	while (keep->tlru.next != &keep->tlru) {
		struct nf_template *t = container_of(keep->tlru.next, struct nf_template, lru);

		if (!nf_idle(t->last, now, ts->cfg.template_idle_s))
			break;
		nf_template_drop_one(ts, keep, t);
		r->templates_expired++;
	}
}

static void nf_exporter_seen(struct template_store *ts, struct nf_exporter *e, uint64_t now)
{
	if (now > e->last) {
		e->last = now;
		nf_list_touch(e->active ? &ts->active : &ts->probation, &e->lru);
	}
}

struct nf_exporter *nf_exporter_get(struct template_store *ts, const struct in6_addr *addr,
				    uint64_t now, struct decode_result *r)
{
	struct nf_exporter *e = ts->last;
	struct nf_slot *s;
	uint64_t a, b;
	size_t growth;

	if (e && memcmp(&e->addr, addr, sizeof(*addr)) == 0)
		goto found;
	memcpy(&a, addr->s6_addr, 8);
	memcpy(&b, addr->s6_addr + 8, 8);
	s = nf_map_find(&ts->index, a, b);
	if (s) {
		e = (struct nf_exporter *)(uintptr_t)s->v;
		goto found;
	}
	nf_expire(ts, NULL, now, r);
	/* A new exporter: the least recently used ones make room. */
	while (ts->nexporters >= ts->cfg.max_exporters) {
		struct nf_exporter *v = nf_exporter_victim(ts, NULL);

		if (!v)
			break;
		nf_exporter_drop(ts, v);
		r->exporters_evicted++;
	}
	growth = nf_map_growth(&ts->index);
	if (ts->nexporters >= ts->cfg.max_exporters ||
	    nf_room(ts, NULL, sizeof(*e) + growth, r) < 0) {
		decode_event(r, DECODE_EXPORTER_LIMIT);
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e || nf_map_put(&ts->index, a, b, (uintptr_t)e) < 0) {
		free(e);
		decode_event(r, DECODE_MEMORY_LIMIT);
		return NULL;
	}
	e->addr = *addr;
	e->last = now;
	nf_list_init(&e->tlru);
	nf_list_init(&e->lru);
	nf_list_touch(&ts->probation, &e->lru);
	ts->bytes += growth; /* the index's, no exporter's */
	nf_charge(ts, e, sizeof(*e));
	ts->nexporters++;
	ts->last = e;
	return e;
found:
	ts->last = e;
	nf_exporter_seen(ts, e, now);
	nf_expire(ts, e, now, r);
	return e;
}

void nf_exporter_active(struct template_store *ts, struct nf_exporter *e)
{
	if (!e->active) {
		e->active = 1;
		nf_list_touch(&ts->active, &e->lru);
	}
}

/* ---- restart detection ----
 * An exporter that restarts starts its counters again and may give its
 * template IDs other layouts: what it taught before must go. Per (exporter,
 * version, domain), for datagrams that are not replays (decode_input):
 *  - NetFlow v9: sysUptime went back by more than 10 s;
 *  - NetFlow v9 and IPFIX: the sequence number went back by more than a
 *    reorder could explain: 1000 datagrams (v9 counts datagrams, RFC 3954
 *    5.1), 2^20 records (IPFIX counts data records, RFC 7011 3.1).
 * Neither across the 2^32 wrap (the old value in the last stretch before it,
 * the new one in the first after it). A restart drops the domain's
 * templates and options templates (templates_reset) and sampling rates. */
#define NF_RESTART_UPTIME_MS	  10000u
#define NF_RESTART_UPTIME_WRAP	  3600000u
#define NF_RESTART_V9_SEQ	  1000u
#define NF_RESTART_V9_SEQ_WRAP	  (1u << 24)
#define NF_RESTART_IPFIX_SEQ	  (1u << 20)
#define NF_RESTART_IPFIX_SEQ_WRAP (1u << 28)

static int nf_went_back(uint32_t last, uint32_t now, uint32_t margin, uint32_t wrap)
{
	if (now >= last || last - now <= margin)
		return 0;
	return !(last >= UINT32_MAX - wrap && now <= wrap);
}

static void nf_domain_reset(struct template_store *ts, struct nf_exporter *e, unsigned version,
			    uint32_t domain, struct decode_result *r)
{
	const uint64_t a = (uint64_t)version << 32 | domain;

	/* After a removal the slot holds a shifted entry: looked at again. */
	for (uint32_t i = 0; i < e->templates.cap;) {
		struct nf_slot *s = &e->templates.slots[i];
		struct nf_template *t = (struct nf_template *)(uintptr_t)s->v;

		if (t && t->version == version && t->domain == domain) {
			nf_template_drop(ts, e, s);
			r->templates_reset++;
			continue;
		}
		i++;
	}
	for (uint32_t i = 0; i < e->rates.cap;) {
		struct nf_slot *s = &e->rates.slots[i];

		if (s->v && s->a == a) {
			nf_map_remove(&e->rates, s);
			continue;
		}
		i++;
	}
}

void nf_domain_check(struct template_store *ts, struct nf_exporter *e, unsigned version,
		     uint32_t domain, uint32_t uptime, uint32_t seq, struct decode_result *r)
{
	const uint64_t a = (uint64_t)version << 32 | domain;
	struct nf_slot *s;
	struct nf_domain *d;
	int restart;

	/* Domains live as long as their exporter: the last one is kept. */
	if (e->dlast && e->dlast_key == a) {
		d = e->dlast;
		goto check;
	}
	s = nf_map_find(&e->domains, a, 0);
	if (!s) {
		size_t need = sizeof(*d) + nf_map_growth(&e->domains);

		/* No room: this domain goes without restart detection. */
		if (e->bytes + need > ts->cfg.max_bytes_per_exporter || nf_room(ts, e, need, r) < 0)
			return;
		d = malloc(sizeof(*d));
		if (!d)
			return;
		need = nf_map_growth(&e->domains);
		if (nf_map_put(&e->domains, a, 0, (uintptr_t)d) < 0) {
			free(d);
			return;
		}
		nf_charge(ts, e, (int64_t)(sizeof(*d) + need));
		*d = (struct nf_domain){.uptime = uptime, .seq = seq};
		return;
	}
	d = (struct nf_domain *)(uintptr_t)s->v;
	e->dlast = d;
	e->dlast_key = a;
check:
	/* The uptime alone is not trusted: real exporters send datagrams whose
	 * sysUptime goes back by minutes while their sequence goes on (the
	 * testdata's netflow-v9-samplinginterval captures). A restart also
	 * starts the sequence over, so it must not have moved forward. */
	if (version == 9)
		restart =
		    nf_went_back(d->seq, seq, NF_RESTART_V9_SEQ, NF_RESTART_V9_SEQ_WRAP) ||
		    ((int32_t)(seq - d->seq) <= 0 &&
		     nf_went_back(d->uptime, uptime, NF_RESTART_UPTIME_MS, NF_RESTART_UPTIME_WRAP));
	else
		restart =
		    nf_went_back(d->seq, seq, NF_RESTART_IPFIX_SEQ, NF_RESTART_IPFIX_SEQ_WRAP);
	d->uptime = uptime;
	d->seq = seq;
	if (restart) {
		r->exporter_restarts++;
		nf_domain_reset(ts, e, version, domain, r);
	}
}

/* ---- information elements -> struct flow (RFC 7012, IANA registry) ---- */

#define F(field)                                                                                   \
	(struct nf_target)                                                                         \
	{                                                                                          \
		.kind = NF_K_UINT, .base = 0, .width = sizeof(((struct flow *)0)->field),          \
		.dst = offsetof(struct flow, field)                                                \
	}
#define X(field)                                                                                   \
	(struct nf_target)                                                                         \
	{                                                                                          \
		.kind = NF_K_UINT, .base = 1, .width = sizeof(((struct nf_extra *)0)->field),      \
		.dst = offsetof(struct nf_extra, field)                                            \
	}
#define K(k, t)                                                                                    \
	((struct nf_target){.kind = (k), .base = (t).base, .width = (t).width, .dst = (t).dst})

/* Target of one field, and the post-processing it needs. */
static struct nf_target nf_target_of(uint32_t pen, uint16_t ie, uint32_t *post)
{
	if (pen == NF_PEN_REVERSE) {
		switch (ie) {
		case 1:	 /* octetDeltaCount */
		case 23: /* postOctetDeltaCount */
		case 85: /* octetTotalCount */
			*post |= NF_POST_REV_BYTES;
			return X(rev_bytes);
		case 2: /* packetDeltaCount */
		case 24:
		case 86:
			*post |= NF_POST_REVERSE;
			return X(rev_packets);
		case 6: /* tcpControlBits */
			*post |= NF_POST_REV_FLAGS;
			return X(rev_tcp_flags);
		}
		return (struct nf_target){0};
	}
	if (pen == NF_PEN_JUNIPER) {
		if (ie == 137) { /* commonPropertiesId, "CPID" TLVs */
			*post |= NF_POST_JUNIPER;
			return K(NF_K_JUNIPER, X(juniper_fwd));
		}
		return (struct nf_target){0};
	}
	if (pen)
		return (struct nf_target){0}; /* other enterprises: skipped by length */

	switch (ie) {
	case 1:	  /* octetDeltaCount */
	case 23:  /* postOctetDeltaCount */
	case 85:  /* octetTotalCount */
	case 231: /* initiatorOctets (NSEL forward bytes) */
	case 232: /* responderOctets (NSEL reverse bytes) */
		return F(bytes);
	case 2:	 /* packetDeltaCount */
	case 24: /* postPacketDeltaCount */
	case 86: /* packetTotalCount */
		return F(packets);
	case 4:
		return F(proto);
	case 5:
		return F(ip_tos);
	case 6:
		return F(tcp_flags);
	case 7:
		return F(src_port);
	case 11:
		return F(dst_port);
	case 8:
		return K(NF_K_ADDR4, F(src_addr));
	case 12:
		return K(NF_K_ADDR4, F(dst_addr));
	case 27:
		return K(NF_K_ADDR6, F(src_addr));
	case 28:
		return K(NF_K_ADDR6, F(dst_addr));
	case 9: /* sourceIPv4PrefixLength */
	case 29:
		return F(src_net_mask);
	case 13:
	case 30:
		return F(dst_net_mask);
	case 10:
		return F(in_if);
	case 14:
		return F(out_if);
	case 252: /* ingressPhysicalInterface, used when 10 is 0 */
		*post |= NF_POST_PHYS;
		return X(in_phys);
	case 253:
		*post |= NF_POST_PHYS;
		return X(out_phys);
	case 15: /* ipNextHopIPv4Address */
	case 18: /* bgpNextHopIPv4Address */
		return K(NF_K_IPV4, F(next_hop));
	case 62:
	case 63:
		return K(NF_K_IPV6, F(next_hop));
	case 16:
		return F(src_as);
	case 17:
		return F(dst_as);
	case 22: /* flowStartSysUpTime (v9 FIRST_SWITCHED) */
		*post |= NF_POST_TIME;
		return X(t_up[0]);
	case 21:
		*post |= NF_POST_TIME;
		return X(t_up[1]);
	case 150: /* flowStartSeconds */
	case 151:
		*post |= NF_POST_TIME;
		return ie == 150 ? X(t_sec[0]) : X(t_sec[1]);
	case 152: /* flowStartMilliseconds */
	case 153:
		*post |= NF_POST_TIME;
		return ie == 152 ? X(t_ms[0]) : X(t_ms[1]);
	case 154: /* flowStartMicroseconds, NTP format (RFC 7011 6.1.9) */
	case 156: /* flowStartNanoseconds (6.1.10) */
		*post |= NF_POST_TIME;
		return X(t_ntp[0]);
	case 155:
	case 157:
		*post |= NF_POST_TIME;
		return X(t_ntp[1]);
	case 158: /* flowStartDeltaMicroseconds */
	case 159:
		*post |= NF_POST_TIME;
		return ie == 158 ? X(t_delta[0]) : X(t_delta[1]);
	case 160: /* systemInitTimeMilliseconds: IPFIX's base for 22/21 */
		*post |= NF_POST_TIME;
		return X(t_init);
	case 31:
		return F(ipv6_flow_label);
	case 32: /* icmpTypeCodeIPv4 */
		*post |= NF_POST_ICMP_IE;
		return K(NF_K_ICMP, F(icmpv4_type));
	case 139:
		*post |= NF_POST_ICMP_IE;
		return K(NF_K_ICMP, F(icmpv6_type));
	case 176:
		*post |= NF_POST_ICMP_IE;
		return F(icmpv4_type);
	case 177:
		*post |= NF_POST_ICMP_IE;
		return F(icmpv4_code);
	case 178:
		*post |= NF_POST_ICMP_IE;
		return F(icmpv6_type);
	case 179:
		*post |= NF_POST_ICMP_IE;
		return F(icmpv6_code);
	case 34: /* samplingInterval */
		*post |= NF_POST_RATE;
		return X(sampling);
	case 50: /* samplerRandomInterval */
		*post |= NF_POST_RATE;
		return X(sampling_random);
	case 48:  /* samplerId */
	case 302: /* selectorId */
		*post |= NF_POST_SAMPLER;
		return X(sampler_id);
	case 305: /* samplingPacketInterval */
		*post |= NF_POST_RATE_PSAMP;
		return X(pkt_interval);
	case 306: /* samplingPacketSpace */
		*post |= NF_POST_RATE_PSAMP;
		return X(pkt_space);
	case 54:
		return F(ip_fragment_id);
	case 88:
		return F(ip_fragment_offset);
	case 56: /* sourceMacAddress */
	case 81: /* postSourceMacAddress */
		return K(NF_K_MAC, F(src_mac));
	case 80: /* destinationMacAddress */
	case 57: /* postDestinationMacAddress */
		return K(NF_K_MAC, F(dst_mac));
	case 58:  /* vlanId */
	case 243: /* dot1qVlanId */
		return K(NF_K_UINT_IFZ, F(src_vlan));
	case 59:  /* postVlanId */
	case 254: /* postDot1qVlanId */
		return K(NF_K_UINT_IFZ, F(dst_vlan));
	case 60:
		return K(NF_K_IPVER, F(etype));
	case 61:
		return K(NF_K_DIR, F(flow_direction));
	case 70: /* mplsTopLabelStackSection .. mplsLabelStackSection10 */
	case 71:
	case 72:
	case 73:
	case 74:
	case 75:
	case 76:
	case 77:
	case 78:
	case 79: {
		struct nf_target t = K(NF_K_MPLS, X(mpls[0]));
		t.dst += (uint16_t)((ie - 70) * sizeof(uint32_t));
		*post |= NF_POST_MPLS;
		return t;
	}
	case 89:
		return F(forwarding_status);
	case 192: /* ipTTL */
	case 52:  /* minimumTTL */
		return F(ip_ttl);
	case 225: /* postNATSourceIPv4Address */
		return K(NF_K_IPV4, F(src_addr_nat));
	case 226:
		return K(NF_K_IPV4, F(dst_addr_nat));
	case 281: /* postNATSourceIPv6Address */
		return K(NF_K_IPV6, F(src_addr_nat));
	case 282:
		return K(NF_K_IPV6, F(dst_addr_nat));
	case 227:
		return F(src_port_nat);
	case 228:
		return F(dst_port_nat);
	case 234:
		return F(ingress_vrf_id);
	case 235:
		return F(egress_vrf_id);
	case 315: /* dataLinkFrameSection (RFC 7133) */
		*post |= NF_POST_FRAME;
		return K(NF_K_FRAME, X(frame));
	}
	return (struct nf_target){0};
}

uint8_t nf_op_for(const struct nf_target *t, unsigned len)
{
	switch (t->kind) {
	case NF_K_UINT:
		if (len < 1 || len > 8)
			return NF_OP_NONE;
		switch (t->width) {
		case 1:
			return len == 1 ? NF_OP_U8 : NF_OP_N8;
		case 2:
			return len == 2 ? NF_OP_U16 : NF_OP_N16;
		case 4:
			return len == 4 ? NF_OP_U32 : len == 2 ? NF_OP_U16_32 : NF_OP_N32;
		case 8:
			return len == 8 ? NF_OP_U64 : len == 4 ? NF_OP_U32_64 : NF_OP_N64;
		}
		return NF_OP_NONE;
	case NF_K_UINT_IFZ:
		return len >= 1 && len <= 8 && t->width == 2 ? NF_OP_N16_IFZ : NF_OP_NONE;
	case NF_K_ADDR4:
		return len == 4 ? NF_OP_ADDR4 : NF_OP_NONE;
	case NF_K_ADDR6:
		return len == 16 ? NF_OP_ADDR6 : NF_OP_NONE;
	case NF_K_IPV4:
		return len == 4 ? NF_OP_IPV4 : NF_OP_NONE;
	case NF_K_IPV6:
		return len == 16 ? NF_OP_IPV6 : NF_OP_NONE;
	case NF_K_MAC:
		return len == 6 ? NF_OP_MAC : NF_OP_NONE;
	case NF_K_MPLS:
		return len == 3 ? NF_OP_MPLS : NF_OP_NONE;
	case NF_K_ICMP:
		return len >= 1 && len <= 8 ? NF_OP_ICMP : NF_OP_NONE;
	case NF_K_DIR:
		return len >= 1 && len <= 8 ? NF_OP_DIR : NF_OP_NONE;
	case NF_K_IPVER:
		return len >= 1 && len <= 8 ? NF_OP_IPVER : NF_OP_NONE;
	case NF_K_FRAME:
		return NF_OP_FRAME;
	case NF_K_JUNIPER:
		return len == 2 ? NF_OP_JUNIPER : NF_OP_NONE;
	}
	return NF_OP_NONE;
}

/* ---- templates ---- */

/* Sorts the steps by (base, op), keeping the template order within each
 * group (the first non-zero VLAN of 58/243 wins, the last of several byte
 * counters), and groups them into runs. */
static void nf_compile_runs(struct nf_template *t)
{
	for (uint16_t i = 1; i < t->nsteps; i++) {
		struct nf_step s = t->steps[i];
		uint16_t j = i;

		for (; j > 0 && (t->steps[j - 1].base > s.base ||
				 (t->steps[j - 1].base == s.base && t->steps[j - 1].op > s.op));
		     j--)
			t->steps[j] = t->steps[j - 1];
		t->steps[j] = s;
	}
	for (uint16_t i = 0; i < t->nsteps; i++) {
		struct nf_run *last = t->nruns ? &t->runs[t->nruns - 1] : NULL;

		if (last && last->op == t->steps[i].op && last->base == t->steps[i].base)
			last->count++;
		else
			t->runs[t->nruns++] =
			    (struct nf_run){i, 1, t->steps[i].op, t->steps[i].base};
	}
}

static int nf_same_fields(const struct nf_template *t, int options, uint16_t nscope,
			  const struct nf_field *fields, uint16_t n)
{
	if (t->options != options || t->nscope != nscope || t->nfields != n)
		return 0;
	for (uint16_t i = 0; i < n; i++)
		if (t->fields[i].pen != fields[i].pen || t->fields[i].ie != fields[i].ie ||
		    t->fields[i].len != fields[i].len)
			return 0;
	return 1;
}

/* Notes a template the datagram taught, for the caller (parked datagrams). */
static void nf_taught(struct decode_result *r, unsigned version, uint32_t domain, uint16_t id)
{
	r->templates++;
	if (r->ntaught < DECODE_TAUGHT_MAX)
		r->taught[r->ntaught++] = (struct decode_template_key){
		    .domain = domain, .id = id, .version = (uint8_t)version};
	else
		r->taught_overflow = 1;
}

/* The least recently used template of `e` other than `keep`, or NULL. */
static struct nf_template *nf_template_victim(struct nf_exporter *e, const struct nf_template *keep)
{
	for (struct nf_link *l = e->tlru.next; l != &e->tlru; l = l->next) {
		struct nf_template *t = container_of(l, struct nf_template, lru);

		if (t != keep)
			return t;
	}
	return NULL;
}

int nf_template_add(struct template_store *ts, struct nf_exporter *e, unsigned version,
		    uint32_t domain, uint16_t id, int options, uint16_t nscope,
		    const struct nf_field *fields, uint16_t n, uint64_t now,
		    struct decode_result *r)
{
	uint64_t key = nf_tkey(version, domain, id);
	struct nf_slot *slot = nf_map_find(&e->templates, key, 0);
	struct nf_template *old = slot ? (struct nf_template *)(uintptr_t)slot->v : NULL;
	struct nf_template *t;
	size_t size, growth = 0;
	uint32_t rec_len = 0, off = 0;
	int variable = 0;

	if (n == 0 || n > NF_MAX_FIELDS || nscope > n) {
		decode_event(r, DECODE_BAD_TEMPLATE);
		return -1;
	}
	for (uint16_t i = 0; i < n; i++) {
		if (fields[i].len == NF_VARLEN) {
			variable = 1;
			rec_len += 1; /* the shortest variable-length encoding */
		} else {
			rec_len += fields[i].len;
		}
	}
	/* A record must be at least one byte (else a set would hold endless
	 * records) and fit in a set (RFC 7011 3.3.1). */
	if (rec_len == 0 || rec_len > 65535 - 4) {
		decode_event(r, DECODE_BAD_TEMPLATE);
		return -1;
	}
	if (old && nf_same_fields(old, options, nscope, fields, n)) {
		/* A refresh: keep the compiled plan. */
		old->last = now > old->last ? now : old->last;
		nf_list_touch(&e->tlru, &old->lru);
		nf_taught(r, version, domain, id);
		return 0;
	}
	size = sizeof(*t) + (size_t)n * (sizeof(struct nf_field) + sizeof(struct nf_step) +
					 sizeof(struct nf_run));
	if (size > ts->cfg.max_bytes_per_exporter) {
		decode_event(r, DECODE_MEMORY_LIMIT);
		return -1;
	}
	/* At its own limits, the exporter's least recently used templates
	 * make room: a flood from one exporter evicts its own. */
	for (;;) {
		struct nf_template *v;

		growth = old ? 0 : nf_map_growth(&e->templates);
		if ((old || e->ntemplates < ts->cfg.max_templates_per_exporter) &&
		    e->bytes + size + growth - (old ? old->size : 0) <=
			ts->cfg.max_bytes_per_exporter)
			break;
		v = nf_template_victim(e, old);
		if (!v) {
			decode_event(r, old || e->ntemplates < ts->cfg.max_templates_per_exporter
					    ? DECODE_MEMORY_LIMIT
					    : DECODE_TEMPLATE_LIMIT);
			return -1;
		}
		nf_template_drop_one(ts, e, v);
		r->templates_evicted++;
	}
	if (nf_room(ts, e, size + growth, r) < 0) {
		decode_event(r, DECODE_MEMORY_LIMIT);
		return -1;
	}
	t = calloc(1, size);
	if (!t) {
		decode_event(r, DECODE_MEMORY_LIMIT);
		return -1;
	}
	*t = (struct nf_template){
	    .last = now,
	    .domain = domain,
	    .id = id,
	    .version = (uint8_t)version,
	    .options = (uint8_t)options,
	    .nfields = n,
	    .nscope = nscope,
	    .variable = (uint8_t)variable,
	    .rec_len = rec_len,
	    .size = (uint32_t)size,
	};
	nf_list_init(&t->lru);
	t->fields = (struct nf_field *)(t + 1);
	t->steps = (struct nf_step *)(t->fields + n);
	t->runs = (struct nf_run *)(t->steps + n);
	/* Compile: every field of a data template that weir keeps becomes one
	 * step at a fixed offset (fixed-length templates), the steps writing
	 * the flow first, then those writing nf_extra; a template with
	 * variable-length fields keeps its targets for the slow path. */
	for (uint16_t i = 0; i < n; i++) {
		struct nf_field *fd = &t->fields[i];

		*fd = fields[i];
		fd->tgt = options ? (struct nf_target){0} : nf_target_of(fd->pen, fd->ie, &t->post);
		if (fd->tgt.base)
			t->post |= NF_POST_EXTRA;
	}
	for (uint16_t i = 0; i < n && !variable; i++) {
		const struct nf_field *fd = &t->fields[i];
		uint8_t op = fd->tgt.kind ? nf_op_for(&fd->tgt, fd->len) : NF_OP_NONE;

		if (op)
			t->steps[t->nsteps++] = (struct nf_step){
			    .src = (uint16_t)off,
			    .dst = fd->tgt.dst,
			    .len = fd->len,
			    .op = op,
			    .base = fd->tgt.base,
			};
		off += fd->len;
	}
	nf_compile_runs(t);
	if (old) {
		/* (evictions may have moved the slot) */
		slot = nf_map_find(&e->templates, key, 0);
		nf_charge(ts, e, -(int64_t)old->size);
		nf_list_del(&old->lru);
		free(old);
		slot->v = (uintptr_t)t;
	} else {
		if (nf_map_put(&e->templates, key, 0, (uintptr_t)t) < 0) {
			free(t);
			decode_event(r, DECODE_MEMORY_LIMIT);
			return -1;
		}
		nf_charge(ts, e, (int64_t)growth);
		e->ntemplates++;
		ts->ntemplates++;
	}
	nf_list_touch(&e->tlru, &t->lru);
	nf_charge(ts, e, (int64_t)size);
	nf_taught(r, version, domain, id);
	return 0;
}

void nf_template_withdraw(struct template_store *ts, struct nf_exporter *e, unsigned version,
			  uint32_t domain, uint16_t id, int all, int options,
			  struct decode_result *r)
{
	if (!all) {
		struct nf_slot *s = nf_map_find(&e->templates, nf_tkey(version, domain, id), 0);
		if (s)
			nf_template_drop(ts, e, s);
		r->template_withdrawals++;
		return;
	}
	/* RFC 7011 8.1: Template ID 2 (or 3) with no fields withdraws all the
	 * Templates (or Options Templates) of the Observation Domain. After a
	 * removal the slot holds a shifted entry, so it is looked at again. */
	for (uint32_t i = 0; i < e->templates.cap;) {
		struct nf_slot *s = &e->templates.slots[i];
		struct nf_template *t = (struct nf_template *)(uintptr_t)s->v;

		if (t && t->version == version && t->domain == domain && t->options == options) {
			nf_template_drop(ts, e, s);
			continue;
		}
		i++;
	}
	r->template_withdrawals++;
}

/* ---- sampling rates ---- */

void nf_rate_set(struct template_store *ts, struct nf_exporter *e, unsigned version,
		 uint32_t domain, uint64_t sampler_id, uint64_t rate, struct decode_result *r)
{
	uint64_t a = (uint64_t)version << 32 | domain;
	struct nf_slot *s = nf_map_find(&e->rates, a, sampler_id);
	size_t growth;

	if (s) {
		s->v = rate;
		return;
	}
	growth = nf_map_growth(&e->rates);
	if (e->bytes + growth > ts->cfg.max_bytes_per_exporter || nf_room(ts, e, growth, r) < 0 ||
	    nf_map_put(&e->rates, a, sampler_id, rate) < 0) {
		decode_event(r, DECODE_MEMORY_LIMIT);
		return;
	}
	nf_charge(ts, e, (int64_t)growth);
}

uint64_t nf_rate_get(const struct nf_exporter *e, unsigned version, uint32_t domain,
		     uint64_t sampler_id)
{
	struct nf_slot *s = nf_map_find(&e->rates, (uint64_t)version << 32 | domain, sampler_id);
	return s ? s->v : 0;
}

void template_store_usage(const struct template_store *ts, struct decode_usage *u)
{
	*u = (struct decode_usage){
	    .bytes = ts->bytes,
	    .exporters = ts->nexporters,
	    .templates = ts->ntemplates,
	};
}
