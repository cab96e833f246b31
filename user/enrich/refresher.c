// SPDX-License-Identifier: AGPL-3.0-or-later
/* The metadata refresher thread: takes the misses workers queued and the
 * interfaces flows taught, asks the providers in their configured order
 * (answers merged field by field, the first value winning), runs the
 * classifiers and publishes the result; expires, refreshes and persists. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/addr.h"
#include "../common/clock.h"
#include "../common/log.h"
#include "refresher.h"

#define FAILED_RETRY_MS 60000

int md_info_fill(struct md_info *d, const struct md_info *s)
{
	int any = 0;
#define FILL(f)                                                                                    \
	if (!d->f && s->f) {                                                                       \
		d->f = s->f;                                                                       \
		any = 1;                                                                           \
	}
	FILL(exp.name);
	FILL(exp.group);
	FILL(exp.role);
	FILL(exp.site);
	FILL(exp.region);
	FILL(exp.tenant);
	FILL(ifc.name);
	FILL(ifc.description);
	FILL(ifc.connectivity);
	FILL(ifc.provider);
	FILL(ifc.speed);
	FILL(ifc.boundary);
#undef FILL
	return any;
}

int md_info_complete(const struct md_info *i)
{
	return i->exp.name && i->ifc.name && i->ifc.description && i->ifc.speed;
}

static uint64_t entry_hash(const struct in6_addr *a, uint32_t ifindex)
{
	struct md_key k = {.exporter = *a, .ifindex = ifindex};
	return md_key_hash(&k);
}

struct md_entry *refresher_find(struct refresher *r, const struct in6_addr *a, uint32_t ifindex)
{
	uint64_t h = entry_hash(a, ifindex);
	for (struct md_entry *m = r->buckets[h & (r->nbuckets - 1)]; m; m = m->next)
		if (m->ifindex == ifindex && !memcmp(&m->exporter, a, sizeof(*a)))
			return m;
	return NULL;
}

static int rehash(struct refresher *r)
{
	size_t n = r->nbuckets * 2;
	struct md_entry **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < r->nbuckets; i++) {
		while (r->buckets[i]) {
			struct md_entry *m = r->buckets[i];
			r->buckets[i] = m->next;
			uint64_t h = entry_hash(&m->exporter, m->ifindex);
			m->next = b[h & (n - 1)];
			b[h & (n - 1)] = m;
		}
	}
	free(r->buckets);
	r->buckets = b;
	r->nbuckets = n;
	return 0;
}

struct md_entry *refresher_get(struct refresher *r, const struct in6_addr *a, uint32_t ifindex)
{
	struct md_entry *m = refresher_find(r, a, ifindex);

	if (m)
		return m;
	if (r->count >= r->nbuckets)
		rehash(r);
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->exporter = *a;
	m->ifindex = ifindex;
	m->used_ms = r->now_ms;
	uint64_t h = entry_hash(a, ifindex);
	m->next = r->buckets[h & (r->nbuckets - 1)];
	r->buckets[h & (r->nbuckets - 1)] = m;
	r->count++;
	return m;
}

static void copy_id(struct refresher *r, char *dst, uint32_t id)
{
	snprintf(dst, CLASSIFY_VALUE_MAX, "%s", strtab_get(r->e->strs, id, NULL));
}

/* Whether the classifiers run on an answer (as Akvorado: only when the
 * providers gave no classification), for an exporter, for an interface. */
static int exporter_rules_run(const struct enrich *e, const struct flow_exporter_attrs *x)
{
	return e->exporter_rules_count && !x->group && !x->role && !x->site && !x->region &&
	       !x->tenant;
}

static int interface_rules_run(const struct enrich *e, uint32_t ifindex,
			       const struct flow_interface_attrs *i)
{
	return ifindex && e->interface_rules_count && !i->provider && !i->connectivity &&
	       i->boundary == FLOW_BOUNDARY_UNDEFINED;
}

/* MD_F_EXPORTER and MD_F_INTERFACE of a merged answer (before the rules). */
static unsigned known_flags(uint32_t ifindex, const struct md_info *info)
{
	return (info->exp.name ? MD_F_EXPORTER : 0u) |
	       (!ifindex || info->ifc.name || info->ifc.description ? MD_F_INTERFACE : 0u);
}

/* Builds and publishes the value of (m, vlan): the merged metadata with the
 * classifiers applied, as Akvorado does (rules run only when the providers
 * gave no classification). */
static void publish(struct refresher *r, struct md_entry *m, uint32_t vlan)
{
	struct enrich *e = r->e;
	struct md_value *v = aligned_alloc(64, (sizeof(*v) + 63) & ~(size_t)63);
	char ip[ADDR_TEXT_MAX];
	uint64_t errors = 0;

	if (!v)
		return;
	memset(v, 0, sizeof(*v));
	v->key.exporter = m->exporter;
	v->key.ifindex = m->ifindex;
	v->key.vlan = vlan;
	v->exp = m->info.exp;
	v->ifc = m->info.ifc;
	addr_to_text(&m->exporter, ip, sizeof(ip));
	struct classify_exporter_in ein = {.ip = ip,
					   .name = strtab_get(e->strs, v->exp.name, NULL)};
	if (exporter_rules_run(e, &v->exp)) {
		struct classify_exporter_out out;
		memset(&out, 0, sizeof(out));
		classify_exporter_run(e->exporter_rules, e->exporter_rules_count, &ein, &out,
				      &errors);
		v->exp.group = strtab_intern_cstr(e->strs, out.group);
		v->exp.role = strtab_intern_cstr(e->strs, out.role);
		v->exp.site = strtab_intern_cstr(e->strs, out.site);
		v->exp.region = strtab_intern_cstr(e->strs, out.region);
		v->exp.tenant = strtab_intern_cstr(e->strs, out.tenant);
		if (out.reject)
			v->flags |= MD_F_REJECT;
	}
	if (interface_rules_run(e, m->ifindex, &v->ifc)) {
		struct classify_interface_out out;
		char name[CLASSIFY_VALUE_MAX], desc[CLASSIFY_VALUE_MAX];
		memset(&out, 0, sizeof(out));
		copy_id(r, name, v->ifc.name);
		copy_id(r, desc, v->ifc.description);
		struct classify_interface_in iin = {.index = m->ifindex,
						    .name = name,
						    .description = desc,
						    .speed = v->ifc.speed,
						    .vlan = (uint16_t)vlan};
		classify_interface_run(e->interface_rules, e->interface_rules_count, &ein, &iin,
				       &out, &errors);
		v->ifc.provider = strtab_intern_cstr(e->strs, out.provider);
		v->ifc.connectivity = strtab_intern_cstr(e->strs, out.connectivity);
		v->ifc.boundary = (uint8_t)out.boundary;
		if (out.name[0])
			v->ifc.name = strtab_intern_cstr(e->strs, out.name);
		if (out.description[0])
			v->ifc.description = strtab_intern_cstr(e->strs, out.description);
		if (out.reject)
			v->flags |= MD_F_REJECT;
	}
	if (errors)
		atomic_fetch_add_explicit(&e->classifier_errors, errors, memory_order_relaxed);
	v->flags |= known_flags(m->ifindex, &m->info);
	atomic_init(&v->last_used, atomic_load_explicit(&e->now_s, memory_order_relaxed));
	if (md_table_put(e, v) < 0)
		free(v);
}

static void publish_all(struct refresher *r, struct md_entry *m)
{
	publish(r, m, 0);
	for (size_t i = 0; i < m->nvlans; i++)
		if (m->vlans[i])
			publish(r, m, m->vlans[i]);
}

void refresher_resolve(struct refresher *r, struct md_entry *m)
{
	struct enrich *e = r->e;
	struct md_info merged, got;
	int pending = 0;

	memset(&merged, 0, sizeof(merged));
	atomic_fetch_add_explicit(&e->provider_requests, 1, memory_order_relaxed);
	if (m->has_learned)
		md_info_fill(&merged, &m->learned);
	for (size_t i = 0; i < e->providers_count; i++) {
		const struct md_provider *p = &e->providers[i];
		if (p->type == MD_PROVIDER_STATIC) {
			if (static_provider_query(p->sp, &m->exporter, m->ifindex, &got) != MD_SKIP)
				md_info_fill(&merged, &got);
			continue;
		}
		/* SNMP: only asked for what the providers before it left out. */
		if (md_info_complete(&merged))
			continue;
		switch (m->snmp_state) {
		case SNMP_NONE:
			m->snmp_state = SNMP_PENDING;
			pending = 1;
			snmp_poller_request(p->snmp, &m->exporter, m->ifindex);
			break;
		case SNMP_PENDING:
			pending = 1;
			break;
		case SNMP_OK:
			md_info_fill(&merged, &m->snmp);
			break;
		case SNMP_FAILED:
			break;
		}
	}
	/* Without an SNMP provider, an answer read from the cache file stands in
	 * until the entry is refreshed. */
	if (!r->snmp && m->snmp_state == SNMP_OK)
		md_info_fill(&merged, &m->snmp);
	/* An exporter known only from its own options data has no sysName:
	 * its address names it. */
	if (!merged.exp.name && m->has_learned) {
		char ip[ADDR_TEXT_MAX];
		addr_to_text(&m->exporter, ip, sizeof(ip));
		merged.exp.name = strtab_intern_cstr(e->strs, ip);
	}
	m->info = merged;
	m->pending = (uint8_t)pending;
	m->resolved = 1;
	if (!pending)
		m->fetched_ms = r->now_ms;
	publish_all(r, m);
}

/* The static providers' part of refresher_resolve's merge, in the same
 * order. *snmp_asked: an SNMP provider would be asked (what the providers
 * before it left out); the fields it answers are then taken from no static
 * provider placed after it, since SNMP's answer would come first. Returns 1
 * when a static provider knows the exporter. */
static int static_merge(const struct enrich *e, const struct in6_addr *exporter, uint32_t ifindex,
			struct md_info *merged, int *snmp_asked)
{
	struct md_info got;
	int known = 0;

	memset(merged, 0, sizeof(*merged));
	*snmp_asked = 0;
	for (size_t i = 0; i < e->providers_count; i++) {
		const struct md_provider *p = &e->providers[i];
		if (p->type != MD_PROVIDER_STATIC) {
			if (!md_info_complete(merged))
				*snmp_asked = 1;
			continue;
		}
		if (static_provider_query(p->sp, exporter, ifindex, &got) == MD_SKIP)
			continue;
		if (*snmp_asked) {
			got.exp.name = 0;
			got.ifc.name = 0;
			got.ifc.description = 0;
			got.ifc.speed = 0;
		}
		md_info_fill(merged, &got);
		known = 1;
	}
	return known;
}

int md_static_answer(const struct enrich *e, const struct md_key *k, struct md_value *out)
{
	struct md_info merged;
	int snmp_asked;

	if (!static_merge(e, &k->exporter, k->ifindex, &merged, &snmp_asked))
		return 0;
	/* publish() runs the rules on what came unclassified; they keep match
	 * data per rule and intern their results: the refresher's work alone. */
	if (exporter_rules_run(e, &merged.exp) || interface_rules_run(e, k->ifindex, &merged.ifc))
		return 0;
	out->key = *k;
	out->flags = known_flags(k->ifindex, &merged);
	out->exp = merged.exp;
	out->ifc = merged.ifc;
	return 1;
}

void refresher_on_snmp(void *ctx, const struct snmp_answer *a)
{
	struct refresher *r = ctx;
	struct enrich *e = r->e;
	struct md_entry *m = refresher_get(r, &a->exporter, a->ifindex);

	if (!m)
		return;
	if (a->ok) {
		memset(&m->snmp, 0, sizeof(m->snmp));
		m->snmp.exp.name = strtab_intern_cstr(e->strs, a->sysname);
		m->snmp.ifc.name = strtab_intern_cstr(e->strs, a->ifname);
		/* Akvorado: the description is ifAlias, else ifDescr. */
		m->snmp.ifc.description =
		    strtab_intern_cstr(e->strs, a->ifalias[0] ? a->ifalias : a->ifdescr);
		m->snmp.ifc.speed = a->speed;
		m->snmp_state = SNMP_OK;
	} else {
		m->snmp_state = SNMP_FAILED;
	}
	m->snmp_at_ms = r->now_ms;
	refresher_resolve(r, m);
}

int refresher_new(struct enrich *e, struct refresher **out, struct error *err)
{
	struct refresher *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return error_set(err, -ENOMEM, "enrich: out of memory");
	r->e = e;
	r->nbuckets = 1024;
	r->buckets = calloc(r->nbuckets, sizeof(*r->buckets));
	if (!r->buckets) {
		free(r);
		return error_set(err, -ENOMEM, "enrich: out of memory");
	}
	r->start_ms = clock_mono_ms();
	r->now_ms = r->start_ms;
	for (size_t i = 0; i < e->providers_count; i++)
		if (e->providers[i].type == MD_PROVIDER_SNMP)
			r->snmp = e->providers[i].snmp;
	*out = r;
	return 0;
}

void refresher_free(struct refresher *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nbuckets; i++) {
		while (r->buckets[i]) {
			struct md_entry *m = r->buckets[i];
			r->buckets[i] = m->next;
			free(m);
		}
	}
	free(r->buckets);
	free(r);
}

static void tick_clock(struct refresher *r)
{
	uint32_t s;

	r->now_ms = clock_mono_ms();
	s = (uint32_t)((r->now_ms - r->start_ms) / 1000 + 1);
	/* Stored only when it changes: workers read this cache line per flow. */
	if (atomic_load_explicit(&r->e->now_s, memory_order_relaxed) != s)
		atomic_store_explicit(&r->e->now_s, s, memory_order_relaxed);
}

static void add_vlan(struct md_entry *m, uint32_t vlan)
{
	for (size_t i = 0; i < m->nvlans; i++)
		if (m->vlans[i] == vlan)
			return;
	if (m->nvlans < sizeof(m->vlans) / sizeof(m->vlans[0]))
		m->vlans[m->nvlans++] = vlan;
}

static void handle_request(struct refresher *r, const struct md_request *q)
{
	struct enrich *e = r->e;
	struct md_entry *m = refresher_get(r, &q->key.exporter, q->key.ifindex);

	if (!m)
		return;
	m->used_ms = r->now_ms;
	if (q->key.vlan)
		add_vlan(m, q->key.vlan);
	if (!m->resolved) {
		refresher_resolve(r, m);
		return;
	}
	struct md_table *t = atomic_load_explicit(&e->table, memory_order_relaxed);
	if (!md_table_lookup(t, &q->key))
		publish(r, m, q->key.vlan);
}

static void handle_learned(struct refresher *r)
{
	struct enrich *e = r->e;
	struct learned_item *list;

	pthread_mutex_lock(&e->lock);
	list = e->learned;
	e->learned = NULL;
	e->learned_tail = &e->learned;
	pthread_mutex_unlock(&e->lock);
	while (list) {
		struct learned_item *it = list;
		struct md_entry *m = refresher_get(r, &it->exporter, it->ifindex);
		list = it->next;
		if (m) {
			uint32_t name = strtab_intern_cstr(e->strs, it->name);
			uint32_t desc = strtab_intern_cstr(e->strs, it->description);
			int changed = 0;
			/* What is said replaces what was said before; the rest stays. */
			if (name && name != m->learned.ifc.name) {
				m->learned.ifc.name = name;
				changed = 1;
			}
			if (desc && desc != m->learned.ifc.description) {
				m->learned.ifc.description = desc;
				changed = 1;
			}
			if (it->speed && it->speed != m->learned.ifc.speed) {
				m->learned.ifc.speed = it->speed;
				changed = 1;
			}
			m->has_learned = 1;
			if (changed || !m->resolved)
				refresher_resolve(r, m);
		}
		free(it->name);
		free(it->description);
		free(it);
	}
}

struct sweep_ctx {
	struct refresher *r;
	uint32_t now_s;
	uint32_t md_ttl_s, cl_ttl_s;
};

static int drop_value(const struct md_value *v, void *ctx)
{
	struct sweep_ctx *c = ctx;
	uint32_t used =
	    atomic_load_explicit(&((struct md_value *)v)->last_used, memory_order_relaxed);
	struct md_entry *m = refresher_find(c->r, &v->key.exporter, v->key.ifindex);
	uint64_t used_ms = c->r->start_ms + (uint64_t)(used - 1) * 1000;

	if (m && used_ms > m->used_ms)
		m->used_ms = used_ms;
	if (!m)
		return 1;
	return c->now_s - used > (v->key.vlan ? c->cl_ttl_s : c->md_ttl_s);
}

static void sweep(struct refresher *r)
{
	struct enrich *e = r->e;
	struct sweep_ctx c = {
	    .r = r,
	    .now_s = atomic_load_explicit(&e->now_s, memory_order_relaxed),
	    .md_ttl_s = (uint32_t)(e->cfg.cache_duration_ms / 1000),
	    .cl_ttl_s = (uint32_t)(e->cfg.classifier_cache_duration_ms / 1000),
	};

	/* Values first: their last_used tells which entries are still used. */
	md_table_sweep(e, drop_value, &c);
	for (size_t i = 0; i < r->nbuckets; i++) {
		struct md_entry **pp = &r->buckets[i];
		while (*pp) {
			struct md_entry *m = *pp;
			uint64_t idle = r->now_ms - m->used_ms;
			if (idle > e->cfg.cache_duration_ms && m->snmp_state != SNMP_PENDING) {
				*pp = m->next;
				free(m);
				r->count--;
				continue;
			}
			pp = &m->next;
			int refresh = m->resolved && !m->pending && m->fetched_ms &&
				      e->cfg.cache_refresh_ms &&
				      r->now_ms - m->fetched_ms > e->cfg.cache_refresh_ms;
			if (m->snmp_state == SNMP_FAILED &&
			    r->now_ms - m->snmp_at_ms > FAILED_RETRY_MS)
				refresh = 1;
			if (refresh) {
				if (m->snmp_state != SNMP_PENDING)
					m->snmp_state = SNMP_NONE;
				refresher_resolve(r, m);
			}
		}
	}
}

static void persist(struct refresher *r)
{
	struct error err = {{0}};
	const char *path = r->e->cfg.persist_file;

	if (!path || !*path)
		return;
	if (persist_save(r, path, &err) < 0) {
		LOG_RATELIMIT(rl, 1);
		log_write_limited(&rl, LOG_LEVEL_WARN, "cannot write the metadata cache",
				  "reason=\"%s\"", err.text);
	}
}

void *refresher_main(void *arg)
{
	struct refresher *r = arg;
	struct enrich *e = r->e;
	uint64_t next_sweep, next_reclaim;

	tick_clock(r);
	next_sweep = r->now_ms + e->cfg.cache_check_interval_ms;
	next_reclaim = r->now_ms + 100;
	while (!atomic_load_explicit(&e->stopping, memory_order_acquire)) {
		struct md_request q;
		int work = 0;

		tick_clock(r);
		handle_learned(r);
		for (int n = 0; n < 4096 && mpsc_pop(&e->queue, &q); n++) {
			handle_request(r, &q);
			work = 1;
		}
		if (r->snmp)
			snmp_poller_run(r->snmp, work ? 0 : 10);
		else if (!work) {
			struct timespec ts = {0, 5 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
		tick_clock(r);
		if (r->now_ms >= next_sweep) {
			sweep(r);
			persist(r);
			next_sweep = r->now_ms + e->cfg.cache_check_interval_ms;
		}
		if (r->now_ms >= next_reclaim) {
			enrich_reclaim(e);
			next_reclaim = r->now_ms + 100;
		}
		if (r->snmp) {
			pthread_mutex_lock(&e->stats_lock);
			snmp_poller_stats(r->snmp, &e->snmp_stats);
			pthread_mutex_unlock(&e->stats_lock);
		}
		int idle = !work && (!r->snmp || snmp_poller_pending(r->snmp) == 0);
		pthread_mutex_lock(&e->lock);
		idle = idle && !e->learned;
		pthread_mutex_unlock(&e->lock);
		atomic_store_explicit(&e->idle, idle, memory_order_release);
		atomic_fetch_add_explicit(&r->loops, 1, memory_order_release);
	}
	persist(r);
	return NULL;
}

void refresher_publish_loaded(struct refresher *r)
{
	tick_clock(r);
	for (size_t i = 0; i < r->nbuckets; i++) {
		for (struct md_entry *m = r->buckets[i]; m; m = m->next) {
			uint64_t fetched = m->fetched_ms;
			refresher_resolve(r, m);
			if (fetched)
				m->fetched_ms = fetched; /* keep its age: refreshed when due */
		}
	}
}

static void preload_one(void *ctx, const struct in6_addr *exporter, uint32_t ifindex)
{
	struct refresher *r = ctx;
	struct md_info merged;
	int snmp_asked;

	if (refresher_find(r, exporter, ifindex))
		return; /* read from the cache file: published already */
	/* Nothing is polled for an interface no flow has named yet. */
	if (!static_merge(r->e, exporter, ifindex, &merged, &snmp_asked) || snmp_asked)
		return;
	struct md_entry *m = refresher_get(r, exporter, ifindex);
	if (m)
		refresher_resolve(r, m);
}

void refresher_preload_static(struct refresher *r)
{
	struct enrich *e = r->e;

	tick_clock(r);
	for (size_t i = 0; i < e->providers_count; i++)
		if (e->providers[i].type == MD_PROVIDER_STATIC)
			static_provider_each_known(e->providers[i].sp, preload_one, r);
}

uint64_t refresher_loops(struct refresher *r)
{
	return atomic_load_explicit(&r->loops, memory_order_acquire);
}
