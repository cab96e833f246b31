// SPDX-License-Identifier: AGPL-3.0-or-later
/* The enrichment stage: configuration compiled into rules, maps and
 * providers; start/stop of the refresher and GeoIP watcher threads; workers
 * and the per-flow call, which only reads published tables. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/addr.h"
#include "../common/log.h"
#include "refresher.h"

#define QUEUE_SIZE 65536

static int node_error(struct error *err, const char *file, unsigned line, const char *path,
		      const char *fmt, const char *what)
{
	struct config_error ce;
	config_error_set(&ce, file ? file : "config", line, path, fmt, what);
	return error_set(err, -EINVAL, "%s", ce.text);
}

static int compile_rules(const struct enrich_yaml *y, enum classify_kind kind,
			 struct classify_rule ***out, size_t *count, struct error *err)
{
	const struct config_node *n = y->node;
	char path[200];

	if (!n)
		return 0;
	if (n->type != CONFIG_NODE_SEQ)
		return node_error(err, y->file, n->line, y->path, "%s", "expected a list of rules");
	*out = calloc(n->nchildren ? n->nchildren : 1, sizeof(**out));
	if (!*out)
		return error_set(err, -ENOMEM, "enrich: out of memory");
	for (size_t i = 0; i < n->nchildren; i++) {
		const struct config_node *c = n->children[i];
		struct error why = {{0}};
		snprintf(path, sizeof(path), "%s[%zu]", y->path, i);
		if (c->type != CONFIG_NODE_SCALAR || !c->value)
			return node_error(err, y->file, c->line, path, "%s",
					  "expected a rule (a string)");
		if (classify_rule_compile(kind, c->value, &(*out)[i], &why) < 0) {
			char msg[480];
			snprintf(msg, sizeof(msg), "rule \"%.200s\": %.250s", c->value, why.text);
			return node_error(err, y->file, c->line, path, "%s", msg);
		}
		(*count)++;
	}
	return 0;
}

static void snmp_answer(void *ctx, const struct snmp_answer *a)
{
	struct enrich *e = ctx;
	refresher_on_snmp(e->ref, a);
}

static int add_provider(struct enrich *e, const struct config_node *item, const char *file,
			const char *path, struct error *err)
{
	const struct config_node *type = config_node_get(item, "type");
	struct md_provider *p;

	if (item->type != CONFIG_NODE_MAP || !type || type->type != CONFIG_NODE_SCALAR ||
	    !type->value)
		return node_error(err, file, item->line, path, "%s",
				  "expected a provider with a type (snmp or static)");
	if (e->providers_count == ENRICH_MAX_PROVIDERS)
		return node_error(err, file, item->line, path, "%s", "too many providers");
	p = &e->providers[e->providers_count];
	if (!strcmp(type->value, "static")) {
		p->type = MD_PROVIDER_STATIC;
		if (static_provider_new(item, file, path, e->strs, &p->sp, err) < 0)
			return -EINVAL;
	} else if (!strcmp(type->value, "snmp")) {
		for (size_t i = 0; i < e->providers_count; i++)
			if (e->providers[i].type == MD_PROVIDER_SNMP)
				return node_error(err, file, item->line, path, "%s",
						  "only one snmp provider");
		p->type = MD_PROVIDER_SNMP;
		if (snmp_poller_new(item, file, path, snmp_answer, e, &p->snmp, err) < 0)
			return -EINVAL;
	} else {
		return node_error(err, file, type->line, path,
				  "unknown provider type %s (expected snmp or static; gnmi is not "
				  "supported)",
				  type->value);
	}
	e->providers_count++;
	return 0;
}

static int add_providers(struct enrich *e, const struct enrich_yaml *y, struct error *err)
{
	char path[200];

	if (!y->node)
		return 0;
	if (y->node->type == CONFIG_NODE_MAP) /* provider: {type: ...} */
		return add_provider(e, y->node, y->file, y->path, err);
	if (y->node->type != CONFIG_NODE_SEQ)
		return node_error(err, y->file, y->node->line, y->path, "%s",
				  "expected a list of providers");
	for (size_t i = 0; i < y->node->nchildren; i++) {
		snprintf(path, sizeof(path), "%s[%zu]", y->path, i);
		if (add_provider(e, y->node->children[i], y->file, path, err) < 0)
			return -EINVAL;
	}
	return 0;
}

static char **copy_paths(const struct config_list *l)
{
	char **v = calloc(l->count + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < l->count; i++) {
		v[i] = strdup(((char **)l->items)[i]);
		if (!v[i])
			return v; /* freed by the caller on the error path */
	}
	return v;
}

int enrich_new(const struct enrich_config *cfg, struct metrics_registry *metrics,
	       struct enrich **out, struct error *err)
{
	struct enrich *e = calloc(1, sizeof(*e));
	int r;

	*out = NULL;
	if (!e)
		return error_set(err, -ENOMEM, "enrich: out of memory");
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->stats_lock, NULL);
	e->learned_tail = &e->learned;
	e->metrics = metrics;
	atomic_init(&e->now_s, 1);
	lpm_init(&e->default_rate.map);
	lpm_init(&e->override_rate.map);
	r = strtab_new(0, &e->strs, err);
	if (r < 0)
		goto fail;
	e->table = md_table_new(1024);
	if (!e->table || mpsc_init(&e->queue, QUEUE_SIZE) < 0) {
		r = error_set(err, -ENOMEM, "enrich: out of memory");
		goto fail;
	}

	e->cfg.classifier_cache_duration_ms = cfg->core.classifier_cache_duration_ms;
	e->cfg.cache_duration_ms = cfg->metadata.cache_duration_ms;
	e->cfg.cache_refresh_ms = cfg->metadata.cache_refresh_ms;
	e->cfg.cache_check_interval_ms = cfg->metadata.cache_check_interval_ms;
	e->cfg.geoip_check_interval_ms = cfg->geoip.check_interval_ms;
	e->cfg.drop_unknown = cfg->core.drop_unknown;
	e->cfg.geoip_optional = cfg->geoip.optional;
	memcpy(e->cfg.asn_providers, cfg->core.asn_providers, sizeof(e->cfg.asn_providers));
	e->cfg.asn_providers_count = cfg->core.asn_providers_count;
	memcpy(e->cfg.net_providers, cfg->core.net_providers, sizeof(e->cfg.net_providers));
	e->cfg.net_providers_count = cfg->core.net_providers_count;
	for (size_t i = 0; i < e->cfg.net_providers_count; i++)
		if (e->cfg.net_providers[i] == ENRICH_NET_FLOW)
			e->net_from_flow = 1;
	e->cfg.persist_file =
	    strdup(cfg->metadata.cache_persist_file ? cfg->metadata.cache_persist_file : "");
	e->cfg.asn_db = copy_paths(&cfg->geoip.asn_database);
	e->cfg.geo_db = copy_paths(&cfg->geoip.geo_database);
	e->cfg.asn_db_count = cfg->geoip.asn_database.count;
	e->cfg.geo_db_count = cfg->geoip.geo_database.count;
	if (!e->cfg.persist_file || !e->cfg.asn_db || !e->cfg.geo_db) {
		r = error_set(err, -ENOMEM, "enrich: out of memory");
		goto fail;
	}
	for (size_t i = 0; i < e->cfg.asn_db_count; i++)
		if (!e->cfg.asn_db[i]) {
			r = error_set(err, -ENOMEM, "enrich: out of memory");
			goto fail;
		}
	for (size_t i = 0; i < e->cfg.geo_db_count; i++)
		if (!e->cfg.geo_db[i]) {
			r = error_set(err, -ENOMEM, "enrich: out of memory");
			goto fail;
		}
	e->geo_stat = calloc(e->cfg.asn_db_count + e->cfg.geo_db_count + 1, sizeof(*e->geo_stat));
	if (!e->geo_stat) {
		r = error_set(err, -ENOMEM, "enrich: out of memory");
		goto fail;
	}
	if (e->cfg.cache_refresh_ms && e->cfg.cache_refresh_ms < e->cfg.cache_duration_ms) {
		r = error_set(err, -EINVAL,
			      "enrich: metadata.cache-refresh must be at least cache-duration");
		goto fail;
	}

	r = compile_rules(&cfg->core.exporter_classifiers, CLASSIFY_EXPORTER, &e->exporter_rules,
			  &e->exporter_rules_count, err);
	if (r < 0)
		goto fail;
	r = compile_rules(&cfg->core.interface_classifiers, CLASSIFY_INTERFACE, &e->interface_rules,
			  &e->interface_rules_count, err);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < e->interface_rules_count; i++)
		if (classify_rule_uses_vlan(e->interface_rules[i]))
			e->vlan_rules = 1;

	r = subnet_uint_parse(&e->default_rate, &cfg->core.default_sampling_rate, UINT32_MAX, err);
	if (r == 0)
		r = subnet_uint_parse(&e->override_rate, &cfg->core.override_sampling_rate,
				      UINT32_MAX, err);
	if (r < 0)
		goto fail;

	const struct enrich_yaml *ns = &cfg->networks.network_sources;
	if (ns->node && ns->node->nchildren) {
		r = node_error(err, ns->file, ns->node->line, ns->path, "%s",
			       "remote network sources are not supported yet");
		goto fail;
	}
	e->networks_node = cfg->networks.networks.node;
	e->networks_file = cfg->networks.networks.file;
	snprintf(e->networks_path, sizeof(e->networks_path), "%s", cfg->networks.networks.path);
	if (e->networks_node) {
		/* Checked now: a wrong entry is a configuration error. */
		struct netmap_builder b;
		netmap_builder_init(&b);
		r = netmap_add_networks(&b, e->strs, e->networks_node, e->networks_file,
					e->networks_path, err);
		netmap_builder_fini(&b);
		if (r < 0)
			goto fail;
	}

	r = refresher_new(e, &e->ref, err);
	if (r < 0)
		goto fail;
	r = add_providers(e, &cfg->metadata.providers, err);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < e->providers_count; i++)
		if (e->providers[i].type == MD_PROVIDER_SNMP)
			e->ref->snmp = e->providers[i].snmp;
	if (enrich_metrics_init(e) < 0) {
		r = error_set(err, -ENOMEM, "enrich: out of memory");
		goto fail;
	}
	*out = e;
	return 0;
fail:
	enrich_free(e);
	return r < 0 ? r : -EINVAL;
}

int enrich_set_metrics(struct enrich *e, struct metrics_registry *metrics, struct error *err)
{
	if (e->metrics || e->started)
		return error_set(err, -EINVAL, "enrich: metrics set twice or after the start");
	e->metrics = metrics;
	if (enrich_metrics_init(e) < 0)
		return error_set(err, -ENOMEM, "enrich: out of memory");
	return 0;
}

static void free_netmap(void *p)
{
	netmap_free(p);
}

int enrich_build_netmap(struct enrich *e, struct netmap **out, struct error *err)
{
	struct netmap_builder b;
	int r = 0;

	netmap_builder_init(&b);
	for (size_t kind = 0; kind < 2 && r == 0; kind++) {
		char **paths = kind == 0 ? e->cfg.asn_db : e->cfg.geo_db;
		size_t n = kind == 0 ? e->cfg.asn_db_count : e->cfg.geo_db_count;
		for (size_t i = 0; i < n && r == 0; i++) {
			struct stat *st = &e->geo_stat[kind == 0 ? i : e->cfg.asn_db_count + i];
			if (stat(paths[i], st) < 0)
				memset(st, 0, sizeof(*st));
			r = netmap_add_mmdb(&b, e->strs, paths[i], kind == 0, err);
			if (r == -ENOENT && e->cfg.geoip_optional)
				r = 0;
		}
	}
	if (r == 0)
		r = netmap_add_networks(&b, e->strs, e->networks_node, e->networks_file,
					e->networks_path, err);
	if (r == 0) {
		r = netmap_build(&b, out);
		if (r < 0)
			error_set(err, r, "enrich: out of memory");
	}
	netmap_builder_fini(&b);
	return r;
}

static int file_changed(const char *path, const struct stat *old)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return 0; /* gone: keep what was loaded */
	return st.st_ino != old->st_ino || st.st_dev != old->st_dev || st.st_size != old->st_size ||
	       st.st_mtim.tv_sec != old->st_mtim.tv_sec ||
	       st.st_mtim.tv_nsec != old->st_mtim.tv_nsec;
}

/* Watches the GeoIP files; a change rebuilds the whole map, swapped in
 * atomically (workers keep using the old one until their next flow). */
static void *geoip_main(void *arg)
{
	struct enrich *e = arg;
	uint64_t waited = 0;

	while (!atomic_load_explicit(&e->stopping, memory_order_acquire)) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
		waited += 20;
		if (waited < e->cfg.geoip_check_interval_ms)
			continue;
		waited = 0;
		int changed = 0;
		for (size_t i = 0; i < e->cfg.asn_db_count; i++)
			changed |= file_changed(e->cfg.asn_db[i], &e->geo_stat[i]);
		for (size_t i = 0; i < e->cfg.geo_db_count; i++)
			changed |=
			    file_changed(e->cfg.geo_db[i], &e->geo_stat[e->cfg.asn_db_count + i]);
		if (!changed)
			continue;
		struct netmap *m;
		struct error err = {{0}};
		if (enrich_build_netmap(e, &m, &err) < 0) {
			log_warn("GeoIP database not reloaded", "reason=\"%s\"", err.text);
			continue;
		}
		struct netmap *old = atomic_exchange_explicit(&e->netmap, m, memory_order_acq_rel);
		if (old)
			enrich_retire(e, old, free_netmap);
		atomic_fetch_add_explicit(&e->geoip_reloads, 1, memory_order_relaxed);
		log_info("GeoIP databases reloaded", "prefixes=%u", m->lpm.prefixes);
	}
	return NULL;
}

int enrich_start(struct enrich *e, struct error *err)
{
	struct netmap *m = NULL;
	int r;

	if (e->started)
		return 0;
	if (e->cfg.persist_file[0]) {
		struct error why = {{0}};
		if (persist_load(e->ref, e->cfg.persist_file, &why) < 0)
			log_warn("metadata cache file ignored", "reason=\"%s\"", why.text);
		refresher_publish_loaded(e->ref);
	}
	refresher_preload_static(e->ref);
	r = enrich_build_netmap(e, &m, err);
	if (r < 0)
		return r;
	atomic_store_explicit(&e->netmap, m, memory_order_release);
	atomic_store_explicit(&e->stopping, 0, memory_order_release);
	r = pthread_create(&e->refresher_thread, NULL, refresher_main, e->ref);
	if (r)
		return error_set(err, -r, "enrich: cannot start the refresher thread");
	e->started = 1;
	if (e->cfg.asn_db_count + e->cfg.geo_db_count) {
		r = pthread_create(&e->geoip_thread, NULL, geoip_main, e);
		if (r) {
			enrich_stop(e);
			return error_set(err, -r, "enrich: cannot start the GeoIP thread");
		}
		e->geoip_thread_started = 1;
	}
	return 0;
}

void enrich_stop(struct enrich *e)
{
	if (!e || !e->started)
		return;
	atomic_store_explicit(&e->stopping, 1, memory_order_release);
	pthread_join(e->refresher_thread, NULL); /* writes the cache file */
	if (e->geoip_thread_started)
		pthread_join(e->geoip_thread, NULL);
	e->geoip_thread_started = 0;
	e->started = 0;
}

void enrich_free(struct enrich *e)
{
	if (!e)
		return;
	enrich_stop(e);
	enrich_metrics_fini(e);
	for (size_t i = 0; i < e->providers_count; i++) {
		static_provider_free(e->providers[i].sp);
		snmp_poller_free(e->providers[i].snmp);
	}
	for (size_t i = 0; i < e->exporter_rules_count; i++)
		classify_rule_free(e->exporter_rules[i]);
	for (size_t i = 0; i < e->interface_rules_count; i++)
		classify_rule_free(e->interface_rules[i]);
	free(e->exporter_rules);
	free(e->interface_rules);
	subnet_uint_fini(&e->default_rate);
	subnet_uint_fini(&e->override_rate);
	refresher_free(e->ref);
	while (e->retired) {
		struct retired *r = e->retired;
		e->retired = r->next;
		r->free_fn(r->p);
		free(r);
	}
	while (e->learned) {
		struct learned_item *it = e->learned;
		e->learned = it->next;
		free(it->name);
		free(it->description);
		free(it);
	}
	md_table_free_all(atomic_load_explicit(&e->table, memory_order_relaxed));
	netmap_free(atomic_load_explicit(&e->netmap, memory_order_relaxed));
	mpsc_fini(&e->queue);
	for (size_t i = 0; e->cfg.asn_db && i < e->cfg.asn_db_count; i++)
		free(e->cfg.asn_db[i]);
	for (size_t i = 0; e->cfg.geo_db && i < e->cfg.geo_db_count; i++)
		free(e->cfg.geo_db[i]);
	free(e->cfg.asn_db);
	free(e->cfg.geo_db);
	free(e->cfg.persist_file);
	free(e->geo_stat);
	strtab_free(e->strs);
	pthread_mutex_destroy(&e->lock);
	pthread_mutex_destroy(&e->stats_lock);
	free(e);
}

const struct strtab *enrich_strings(const struct enrich *e)
{
	return e->strs;
}

/* ---- workers ---- */

int enrich_worker_new(struct enrich *e, struct enrich_worker **out, struct error *err)
{
	struct enrich_worker *w = aligned_alloc(64, (sizeof(*w) + 63) & ~(size_t)63);

	*out = NULL;
	if (!w)
		return error_set(err, -ENOMEM, "enrich: out of memory");
	memset(w, 0, sizeof(*w));
	w->e = e;
	pthread_mutex_lock(&e->lock);
	atomic_init(&w->epoch, atomic_load_explicit(&e->epoch, memory_order_acquire));
	w->next = e->workers;
	e->workers = w;
	pthread_mutex_unlock(&e->lock);
	*out = w;
	return 0;
}

#define GET(s, f) atomic_load_explicit(&(s)->f, memory_order_relaxed)

static void add_stats(struct worker_stats *d, const struct worker_stats *s)
{
#define ADD(f) atomic_store_explicit(&d->f, GET(d, f) + GET(s, f), memory_order_relaxed)
	ADD(flows);
	ADD(misses);
	ADD(unknown_kept);
	ADD(unknown_dropped);
	ADD(rejected);
	ADD(sampling_unknown);
	ADD(queue_full);
	ADD(static_inline);
#undef ADD
}

void enrich_worker_free(struct enrich_worker *w)
{
	if (!w)
		return;
	struct enrich *e = w->e;
	pthread_mutex_lock(&e->lock);
	for (struct enrich_worker **pp = &e->workers; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	add_stats(&e->gone, &w->stats);
	pthread_mutex_unlock(&e->lock);
	free(w);
}

void enrich_worker_quiescent(struct enrich_worker *w)
{
	atomic_store_explicit(&w->epoch, atomic_load_explicit(&w->e->epoch, memory_order_acquire),
			      memory_order_release);
}

/* One writer per counter: a plain load and store, no locked instruction. */
#define INC(w, f)                                                                                  \
	atomic_store_explicit(&(w)->stats.f, GET(&(w)->stats, f) + 1, memory_order_relaxed)

/* A key the table lacks: what the static providers know lands in `scratch`
 * (returned), or NULL; the key is queued. Out of line: the hit path stays
 * small. */
static __attribute__((noinline, cold)) const struct md_value *
miss(struct enrich_worker *w, const struct md_key *k, uint32_t now, struct md_value *scratch)
{
	/* Static metadata is in memory: the flow need not wait for the
	 * refresher to say what it says. The key is still queued, so that the
	 * table learns it (and SNMP, the classifiers, what static lacks). */
	const struct md_value *v = md_static_answer(w->e, k, scratch) ? scratch : NULL;

	/* Counted once per flow (its number is stats.flows): nothing is
	 * added to the hit path. */
	if (v && w->inline_flow != GET(&w->stats, flows)) {
		w->inline_flow = GET(&w->stats, flows);
		INC(w, static_inline);
	}
	if (!v || !(v->flags & MD_F_EXPORTER))
		INC(w, misses);
	uint64_t h = md_key_hash(k) | 1;
	unsigned slot = (unsigned)(h >> 56);
	if (w->recent[slot].hash == h && now - w->recent[slot].at < 2)
		return v; /* asked less than a second or two ago */
	w->recent[slot].hash = h;
	w->recent[slot].at = now;
	struct md_request q = {*k};
	if (mpsc_push(&w->e->queue, &q) < 0) {
		INC(w, queue_full);
		w->recent[slot].hash = 0;
	}
	return v;
}

/* `hash`: md_key_hash(k), or 0 to compute it here. */
static const struct md_value *lookup(struct enrich_worker *w, const struct md_table *t,
				     const struct md_key *k, uint64_t hash, uint32_t now,
				     struct md_value *scratch)
{
	const struct md_value *v = md_table_lookup_hashed(t, k, hash ? hash : md_key_hash(k));

	if (__builtin_expect(!v, 0))
		return miss(w, k, now, scratch);
	/* Written at most once a second per entry: shared lines stay clean. */
	if (atomic_load_explicit(&v->last_used, memory_order_relaxed) != now)
		atomic_store_explicit(&((struct md_value *)v)->last_used, now,
				      memory_order_relaxed);
	return v;
}

static int is_private_as(uint32_t as)
{
	return as == 0 || as == 23456 || (as >= 64496 && as <= 65551) || as >= 4200000000u;
}

static uint32_t pick_asn(const struct enrich *e, uint32_t flow_as, uint32_t net_as, uint8_t mask)
{
	uint32_t asn = 0;

	for (size_t i = 0; i < e->cfg.asn_providers_count && !asn; i++) {
		switch (e->cfg.asn_providers[i]) {
		case ENRICH_ASN_FLOW:
			asn = flow_as;
			break;
		case ENRICH_ASN_FLOW_EXCEPT_PRIVATE:
			asn = is_private_as(flow_as) ? 0 : flow_as;
			break;
		case ENRICH_ASN_FLOW_EXCEPT_DEFAULT_ROUTE:
			asn = mask ? flow_as : 0;
			break;
		case ENRICH_ASN_NETWORKS:
			asn = net_as;
			break;
		default: /* routing: the BMP hook, nothing yet */
			break;
		}
	}
	return asn;
}

/* What one flow needs from the shared structures, found ahead of its turn
 * in a batch (enrich_flows): the two networks. */
struct ahead {
	const struct net_value *src, *dst;
	uint64_t hash[2]; /* md_key_hash of (exporter, in_if) and (exporter, out_if) */
};

/* One flow, with the tables of the caller's quiescent period (`t`, `nm`,
 * `now` loaded once per batch) and its networks `a` when already found. */
static enum enrich_verdict enrich_one(struct enrich_worker *w, const struct md_table *t,
				      const struct netmap *nm, uint32_t now, struct flow *f,
				      const struct ahead *a)
{
	struct enrich *e = w->e;
	struct flow_enrichment *en = &f->enriched;
	const struct md_value *vin = NULL, *vout = NULL, *vx;
	struct md_key k;
	int unknown = 0;

	INC(w, flows);

	k.exporter = f->exporter_address;
	if (f->in_if) {
		k.ifindex = f->in_if;
		k.vlan = e->vlan_rules ? f->src_vlan : 0;
		vin = lookup(w, t, &k, a ? a->hash[0] : 0, now, &w->inline_v[0]);
		if (vin)
			en->in_if = vin->ifc;
		unknown |= !vin || !(vin->flags & MD_F_INTERFACE);
	}
	if (f->out_if) {
		k.ifindex = f->out_if;
		k.vlan = e->vlan_rules ? f->dst_vlan : 0;
		vout = lookup(w, t, &k, a ? a->hash[1] : 0, now, &w->inline_v[1]);
		if (vout)
			en->out_if = vout->ifc;
		unknown |= !vout || !(vout->flags & MD_F_INTERFACE);
	}
	vx = vin ? vin : vout;
	if (!f->in_if && !f->out_if) {
		k.ifindex = 0;
		k.vlan = 0;
		vx = lookup(w, t, &k, 0, now, &w->inline_v[1]);
	}
	if (vx)
		en->exporter = vx->exp;
	unknown |= !vx || !(vx->flags & MD_F_EXPORTER);
	if ((vin && (vin->flags & MD_F_REJECT)) || (vout && (vout->flags & MD_F_REJECT)) ||
	    (vx && (vx->flags & MD_F_REJECT))) {
		INC(w, rejected);
		return ENRICH_DROP;
	}
	if (unknown) {
		if (e->cfg.drop_unknown) {
			INC(w, unknown_dropped);
			return ENRICH_DROP;
		}
		INC(w, unknown_kept);
	}

	uint64_t rate = e->override_rate.count
			    ? subnet_uint_lookup(&e->override_rate, &f->exporter_address)
			    : 0;
	if (rate)
		f->sampling_rate = rate;
	else if (!f->sampling_rate) {
		rate = e->default_rate.count
			   ? subnet_uint_lookup(&e->default_rate, &f->exporter_address)
			   : 0;
		if (!rate) {
			rate = 1;
			INC(w, sampling_unknown);
		}
		f->sampling_rate = rate;
	}

	/* net-providers: only the flow's masks and next hop exist until BMP. */
	if (!e->net_from_flow) {
		f->src_net_mask = 0;
		f->dst_net_mask = 0;
		memset(&f->next_hop, 0, sizeof(f->next_hop));
	}

	const struct net_value *src = a ? a->src : netmap_lookup(nm, &f->src_addr);
	const struct net_value *dst = a ? a->dst : netmap_lookup(nm, &f->dst_addr);
	en->src_net = src->attrs;
	en->dst_net = dst->attrs;
	f->src_as = pick_asn(e, f->src_as, src->asn, f->src_net_mask);
	f->dst_as = pick_asn(e, f->dst_as, dst->asn, f->dst_net_mask);
	return ENRICH_KEEP;
}

enum enrich_verdict enrich_flow(struct enrich_worker *w, struct flow *f)
{
	struct enrich *e = w->e;

	enrich_worker_quiescent(w);
	return enrich_one(w, atomic_load_explicit(&e->table, memory_order_acquire),
			  atomic_load_explicit(&e->netmap, memory_order_acquire),
			  atomic_load_explicit(&e->now_s, memory_order_relaxed), f, NULL);
}

/* A batch is a pipeline over its flows, so that their cache misses overlap
 * instead of following one another (with 100k networks the trie's second
 * level and the metadata values are rarely in cache: most of a flow's cost
 * was waiting on them). Flow i + 3 * AHEAD: the trie's top level entries
 * of its two addresses prefetched; flow i + 2 * AHEAD: they are read, the
 * second level's line and its metadata slots prefetched; flow i + AHEAD: its
 * networks found (now in cache), their values and its metadata values
 * prefetched; flow i: enriched. */
#define AHEAD 4
#define RING  16 /* > 2 * AHEAD (from stage 1 to the flow's turn), a power of two */

/* Stage 1 computes the hashes into `a` and prefetches the slots
 * of the flow's two interfaces; stage 2 (`deref`) prefetches their values. */
static inline void meta_prefetch(const struct md_table *t, const struct flow *f, struct ahead *a,
				 int deref, int vlan_rules)
{
	uint32_t ifs[2] = {f->in_if, f->out_if};

	for (int j = 0; j < 2; j++) {
		if (!ifs[j])
			continue;
		if (!deref) {
			struct md_key k = {.exporter = f->exporter_address, .ifindex = ifs[j]};

			k.vlan = vlan_rules ? (j ? f->dst_vlan : f->src_vlan) : 0;
			a->hash[j] = md_key_hash(&k);
			__builtin_prefetch(&t->slots[(uint32_t)a->hash[j] & t->mask]);
			continue;
		}
		const struct md_value *v = atomic_load_explicit(
		    &t->slots[(uint32_t)a->hash[j] & t->mask], memory_order_relaxed);
		if (v)
			__builtin_prefetch(v);
	}
}

size_t enrich_flows(struct enrich_worker *w, struct flow *flows, size_t n)
{
	struct enrich *e = w->e;
	struct ahead ring[RING];
	size_t kept = 0;

	/* One quiescent point per batch: the tables loaded here stay valid
	 * until the next one. */
	enrich_worker_quiescent(w);
	const struct md_table *t = atomic_load_explicit(&e->table, memory_order_acquire);
	const struct netmap *nm = atomic_load_explicit(&e->netmap, memory_order_acquire);
	uint32_t now = atomic_load_explicit(&e->now_s, memory_order_relaxed);
	int vr = e->vlan_rules;

	for (size_t i = 0; i < n + 3 * AHEAD; i++) {
		if (i < n) {
			netmap_prefetch_top(nm, &flows[i].src_addr);
			netmap_prefetch_top(nm, &flows[i].dst_addr);
		}
		if (i >= AHEAD && i - AHEAD < n) {
			const struct flow *f = &flows[i - AHEAD];

			netmap_prefetch(nm, &f->src_addr);
			netmap_prefetch(nm, &f->dst_addr);
			meta_prefetch(t, f, &ring[(i - AHEAD) & (RING - 1)], 0, vr);
		}
		if (i >= 2 * AHEAD && i - 2 * AHEAD < n) {
			struct flow *f = &flows[i - 2 * AHEAD];
			struct ahead *a = &ring[(i - 2 * AHEAD) & (RING - 1)];

			a->src = netmap_lookup(nm, &f->src_addr);
			a->dst = netmap_lookup(nm, &f->dst_addr);
			__builtin_prefetch(a->src);
			__builtin_prefetch(a->dst);
			meta_prefetch(t, f, a, 1, vr);
		}
		if (i < 3 * AHEAD || i - 3 * AHEAD >= n)
			continue;
		size_t j = i - 3 * AHEAD;

		if (enrich_one(w, t, nm, now, &flows[j], &ring[j & (RING - 1)]) != ENRICH_KEEP)
			continue;
		if (kept != j)
			flows[kept] = flows[j];
		kept++;
	}
	return kept;
}

void enrich_learn_interface(struct enrich *e, const struct in6_addr *exporter, uint32_t ifindex,
			    const char *name, const char *description, uint32_t speed_mbps)
{
	struct learned_item *it = calloc(1, sizeof(*it));

	if (!it)
		return;
	it->exporter = *exporter;
	it->ifindex = ifindex;
	it->speed = speed_mbps;
	it->name = name && *name ? strdup(name) : NULL;
	it->description = description && *description ? strdup(description) : NULL;
	pthread_mutex_lock(&e->lock);
	*e->learned_tail = it;
	e->learned_tail = &it->next;
	pthread_mutex_unlock(&e->lock);
}

void enrich_get_stats(struct enrich *e, struct enrich_stats *out)
{
	struct worker_stats sum;

	memset(&sum, 0, sizeof(sum));
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&e->lock);
	add_stats(&sum, &e->gone);
	for (struct enrich_worker *w = e->workers; w; w = w->next)
		add_stats(&sum, &w->stats);
	pthread_mutex_unlock(&e->lock);
	out->flows = GET(&sum, flows);
	out->metadata_misses = GET(&sum, misses);
	out->unknown_kept = GET(&sum, unknown_kept);
	out->unknown_dropped = GET(&sum, unknown_dropped);
	out->rejected = GET(&sum, rejected);
	out->sampling_unknown = GET(&sum, sampling_unknown);
	out->queue_full = GET(&sum, queue_full);
	out->static_inline = GET(&sum, static_inline);
	out->provider_requests = atomic_load(&e->provider_requests);
	out->geoip_reloads = atomic_load(&e->geoip_reloads);
	out->classifier_errors = atomic_load(&e->classifier_errors);
	out->cache_entries = atomic_load(&e->cache_entries);
	pthread_mutex_lock(&e->stats_lock);
	out->snmp_requests = e->snmp_stats.requests;
	out->snmp_retries = e->snmp_stats.retries;
	out->snmp_timeouts = e->snmp_stats.timeouts;
	out->snmp_breaker_open = e->snmp_stats.breaker_open;
	pthread_mutex_unlock(&e->stats_lock);
}

int enrich_wait_idle(struct enrich *e, uint64_t timeout_ms)
{
	uint64_t start = refresher_loops(e->ref);

	for (uint64_t waited = 0; waited <= timeout_ms; waited++) {
		if (refresher_loops(e->ref) >= start + 2 &&
		    atomic_load_explicit(&e->idle, memory_order_acquire) &&
		    atomic_load(&e->queue.head) == atomic_load(&e->queue.tail))
			return 0;
		struct timespec ts = {0, 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}
