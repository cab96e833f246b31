/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Internal to user/enrich/: the compiled configuration, the published lookup
 * table and its reclamation, the miss queue, the providers and the refresher. */
#ifndef WEIR_ENRICH_INTERNAL_H
#define WEIR_ENRICH_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "classify.h"
#include "enrich.h"
#include "lpm.h"
#include "netmap.h"

/* ---- subnet maps (subnet.c) ----
 * Akvorado's SubnetMap: `value` alone means ::/0, or a map whose keys are all
 * prefixes (IPv4 ones mapped), the most specific match winning. */
typedef int (*subnet_item_fn)(const struct config_node *value, const char *file, const char *path,
			      void *ctx, uint32_t *index, struct error *err);
/* Builds `map` (prefix -> index returned by item()) from `node`. `is_value`
 * tells a map that is itself one value (an item) from a map of subnets. */
int subnet_map_parse(struct lpm *map, const struct config_node *node, const char *file,
		     const char *path, int (*is_value)(const struct config_node *node),
		     subnet_item_fn item, void *ctx, struct error *err);

/* A subnet map of unsigned numbers (sampling rates, ports). */
struct subnet_uint {
	struct lpm map;
	uint64_t *values;
	size_t count;
};
int subnet_uint_parse(struct subnet_uint *m, const struct enrich_yaml *y, uint64_t max,
		      struct error *err);
void subnet_uint_fini(struct subnet_uint *m);
/* The value for `a`, or 0 when none. */
static inline uint64_t subnet_uint_lookup(const struct subnet_uint *m, const struct in6_addr *a)
{
	uint32_t i = m->map.root ? lpm_lookup(&m->map, a) : LPM_NONE;
	return i == LPM_NONE ? 0 : m->values[i];
}

/* ---- metadata: what providers answer ---- */
struct md_info {
	struct flow_exporter_attrs exp; /* name, group, role, site, region, tenant */
	struct flow_interface_attrs ifc;
};

/* Fills the unset fields of `dst` from `src`; returns 1 when anything was set. */
int md_info_fill(struct md_info *dst, const struct md_info *src);
/* Everything a later provider could add is already there. */
int md_info_complete(const struct md_info *i);

enum md_answer {
	MD_SKIP = 0,	  /* this provider does not know the exporter */
	MD_FOUND,	  /* exporter and interface */
	MD_EXPORTER_ONLY, /* the exporter, not the interface: later ones may fill */
	MD_PENDING,	  /* asked (SNMP): answer later */
	MD_FAILED,	  /* asked and no answer */
};

/* ---- the static provider (static.c) ---- */
struct static_provider;
int static_provider_new(const struct config_node *item, const char *file, const char *path,
			struct strtab *strs, struct static_provider **out, struct error *err);
void static_provider_free(struct static_provider *p);
enum md_answer static_provider_query(const struct static_provider *p,
				     const struct in6_addr *exporter, uint32_t ifindex,
				     struct md_info *out);
/* Calls fn(ctx, address, 0), then fn(ctx, address, ifIndex) for each listed
 * ifIndex, of every exporter configured as one address (a /32 or /128): the
 * keys the provider can answer before any flow asks. */
void static_provider_each_known(const struct static_provider *p,
				void (*fn)(void *ctx, const struct in6_addr *exporter,
					   uint32_t ifindex),
				void *ctx);

/* ---- the SNMP poller (snmp.c), run by the refresher thread ---- */
struct snmp_poller;
struct snmp_answer {
	struct in6_addr exporter;
	uint32_t ifindex;
	int ok; /* 0: timeout, error or breaker open */
	char sysname[256];
	char ifname[256];
	char ifdescr[256];
	char ifalias[256];
	uint32_t speed; /* ifHighSpeed, Mbps */
};
typedef void (*snmp_answer_fn)(void *ctx, const struct snmp_answer *a);
int snmp_poller_new(const struct config_node *item, const char *file, const char *path,
		    snmp_answer_fn fn, void *ctx, struct snmp_poller **out, struct error *err);
void snmp_poller_free(struct snmp_poller *p);
/* Queues a GET of sysName and ifName/ifDescr/ifAlias/ifHighSpeed of
 * `ifindex` (batched per agent). The answer comes through fn, maybe at once
 * (breaker open). */
void snmp_poller_request(struct snmp_poller *p, const struct in6_addr *exporter, uint32_t ifindex);
/* Sends what is queued, waits for answers up to timeout_ms, handles
 * timeouts. */
void snmp_poller_run(struct snmp_poller *p, int timeout_ms);
/* Requests in flight or queued. */
size_t snmp_poller_pending(const struct snmp_poller *p);
struct snmp_poller_stats {
	uint64_t requests, retries, timeouts, breaker_open;
};
void snmp_poller_stats(const struct snmp_poller *p, struct snmp_poller_stats *s);

/* ---- the published table (table.c) ----
 * (exporter, ifIndex, VLAN) -> what enrich_flow() copies into the flow.
 * Written by the refresher only; read by any worker without locks. A value is
 * immutable once published except last_used; replaced values and grown
 * tables are retired and freed after every worker passed a quiescent point. */
struct md_key {
	struct in6_addr exporter;
	uint32_t ifindex;
	uint32_t vlan; /* 0 unless interface rules read Interface.VLAN */
};

enum {
	MD_F_EXPORTER = 1,  /* exporter known */
	MD_F_INTERFACE = 2, /* interface known */
	MD_F_REJECT = 4,    /* a classifier said Reject() */
};

/* The fields one interface lookup reads fit the first cache line (values
 * are 64-byte aligned); the exporter's, read once per flow, the second. */
struct md_value {
	struct md_key key;
	uint32_t flags;
	_Atomic uint32_t last_used; /* enrich's coarse clock, seconds */
	struct flow_interface_attrs ifc;
	struct flow_exporter_attrs exp; /* classified */
};

struct md_table {
	uint32_t mask;
	uint32_t count;
	_Atomic(struct md_value *) slots[];
};

static inline uint64_t md_key_hash(const struct md_key *k)
{
	uint64_t a, b, h;
	__builtin_memcpy(&a, k->exporter.s6_addr, 8);
	__builtin_memcpy(&b, k->exporter.s6_addr + 8, 8);
	/* Every input bit must reach the low bits (the table index): IPv4
	 * exporters differ only in a few bytes of `b`. fmix64 (MurmurHash3). */
	h = a ^ (b * 0x9e3779b97f4a7c15ULL) ^
	    (((uint64_t)k->ifindex << 32 | k->vlan) * 0xc2b2ae3d27d4eb4fULL);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static inline int md_key_eq(const struct md_key *a, const struct md_key *b)
{
	return !__builtin_memcmp(a, b, sizeof(*a));
}

/* `h` is md_key_hash(k) (a batch computes it once for its prefetches and
 * its lookup). */
static inline const struct md_value *md_table_lookup_hashed(const struct md_table *t,
							    const struct md_key *k, uint64_t h)
{
	uint32_t i = (uint32_t)h & t->mask;
	for (;; i = (i + 1) & t->mask) {
		const struct md_value *v = atomic_load_explicit(
		    (_Atomic(struct md_value *) *)&t->slots[i], memory_order_acquire);
		if (!v)
			return NULL;
		if (md_key_eq(&v->key, k))
			return v;
	}
}

static inline const struct md_value *md_table_lookup(const struct md_table *t,
						     const struct md_key *k)
{
	return md_table_lookup_hashed(t, k, md_key_hash(k));
}

/* Writer side (table.c), refresher thread only. */
struct md_table *md_table_new(uint32_t cap_pow2);
/* Frees a table and every value in it (at enrich_free). */
void md_table_free_all(struct md_table *t);
/* Publishes `v` (heap, owned by the table from now), replacing the value of
 * the same key (retired). Returns 0 or -ENOMEM (the old table stays). */
int md_table_put(struct enrich *e, struct md_value *v);
int md_table_sweep(struct enrich *e, int (*drop)(const struct md_value *v, void *ctx), void *ctx);

/* What the static providers, in their configured order, say of `k` with no
 * I/O and nothing written: any thread, no lock, no allocation (refresher.c,
 * beside refresher_resolve whose merge it follows). Returns 1 with *out
 * filled (key, fields, MD_F_EXPORTER / MD_F_INTERFACE as publish() sets
 * them) when a static provider knows the exporter and no classifier rule is
 * left to run on the answer; 0 otherwise (*out undefined). Fields an SNMP
 * provider placed before the static ones, or after an incomplete static
 * answer, could still supply are left unset: its answer comes first. */
int md_static_answer(const struct enrich *e, const struct md_key *k, struct md_value *out);

/* ---- reclamation (quiescent states) ---- */
struct retired {
	struct retired *next;
	uint64_t epoch;
	void (*free_fn)(void *);
	void *p;
};

/* ---- the miss queue (queue.c): bounded, many producers, one consumer ---- */
struct md_request {
	struct md_key key;
};

struct mpsc_cell {
	_Atomic uint64_t seq;
	struct md_request req;
};

struct mpsc_queue {
	struct mpsc_cell *cells;
	uint64_t mask;
	_Alignas(64) _Atomic uint64_t head; /* producers */
	_Alignas(64) _Atomic uint64_t tail; /* the consumer */
};

int mpsc_init(struct mpsc_queue *q, size_t size_pow2);
void mpsc_fini(struct mpsc_queue *q);
/* 0, or -ENOBUFS when full. */
int mpsc_push(struct mpsc_queue *q, const struct md_request *r);
/* 1 with *r filled, 0 when empty. */
int mpsc_pop(struct mpsc_queue *q, struct md_request *r);

/* ---- the stage ---- */
enum md_provider_type {
	MD_PROVIDER_STATIC,
	MD_PROVIDER_SNMP,
};

struct md_provider {
	enum md_provider_type type;
	struct static_provider *sp;
	struct snmp_poller *snmp;
};

struct learned_item {
	struct learned_item *next;
	struct in6_addr exporter;
	uint32_t ifindex;
	uint32_t speed;
	char *name;
	char *description;
};

struct worker_stats {
	_Atomic uint64_t flows, misses, unknown_kept, unknown_dropped, rejected, sampling_unknown,
	    queue_full, static_inline;
};

struct enrich_worker {
	struct enrich *e;
	struct enrich_worker *next;	     /* e->workers, under e->lock */
	_Alignas(64) _Atomic uint64_t epoch; /* last quiescent point */
	struct worker_stats stats;
	/* Misses asked recently: not queued again within a second. */
	struct {
		uint64_t hash;
		uint32_t at;
	} recent[256];
	/* Answers of the static providers to misses, read by enrich_one() for
	 * the flow at hand: [0] the input interface, [1] the output one (or the
	 * exporter alone). */
	struct md_value inline_v[2];
	uint64_t inline_flow; /* stats.flows of the last flow counted in static_inline */
};

struct refresher; /* refresher.c */

struct enrich {
	/* configuration, compiled */
	struct enrich_config_copy {
		uint64_t classifier_cache_duration_ms;
		uint64_t cache_duration_ms, cache_refresh_ms, cache_check_interval_ms;
		uint64_t geoip_check_interval_ms;
		int drop_unknown;
		int geoip_optional;
		int asn_providers[ENRICH_MAX_PROVIDERS];
		size_t asn_providers_count;
		int net_providers[ENRICH_MAX_PROVIDERS];
		size_t net_providers_count;
		char *persist_file;
		char **asn_db, **geo_db;
		size_t asn_db_count, geo_db_count;
	} cfg;
	const struct config_node *networks_node;
	const char *networks_file;
	char networks_path[128];
	struct classify_rule **exporter_rules, **interface_rules;
	size_t exporter_rules_count, interface_rules_count;
	int vlan_rules; /* interface rules read Interface.VLAN */
	struct subnet_uint default_rate, override_rate;
	struct md_provider providers[ENRICH_MAX_PROVIDERS];
	size_t providers_count;
	int net_from_flow; /* net-providers has flow: masks and next hop kept */

	struct strtab *strs;
	struct metrics_registry *metrics;
	struct {
		struct metric_series *flows[8];
		struct metric_series *provider_requests, *snmp_requests, *snmp_retries,
		    *snmp_timeouts, *snmp_breaker, *geoip_reloads, *classifier_errors,
		    *cache_entries, *strings;
		int collector;
	} m;

	/* published state: read by workers */
	_Alignas(64) _Atomic(struct md_table *) table;
	_Atomic(struct netmap *) netmap;
	_Atomic uint64_t epoch;
	_Atomic uint32_t now_s; /* coarse clock, seconds since enrich_new (>= 1) */
	struct mpsc_queue queue;

	/* workers, retired objects, learnt interfaces */
	pthread_mutex_t lock;
	struct enrich_worker *workers;
	struct retired *retired;
	struct learned_item *learned, **learned_tail;
	struct worker_stats gone; /* counts of freed workers */

	/* threads */
	int started;
	_Atomic int stopping;
	pthread_t refresher_thread, geoip_thread;
	int geoip_thread_started;
	struct refresher *ref;
	_Atomic uint64_t geoip_reloads;
	_Atomic uint64_t classifier_errors;
	_Atomic uint64_t provider_requests;
	_Atomic uint64_t cache_entries;
	_Atomic int idle;      /* refresher: queue empty, nothing pending */
	struct stat *geo_stat; /* files as last loaded: asn_db then geo_db */
	struct snmp_poller_stats snmp_stats;
	pthread_mutex_t stats_lock; /* snmp_stats */
};

/* Metrics (metrics.c): series registered, refreshed by a collector. */
int enrich_metrics_init(struct enrich *e);
void enrich_metrics_fini(struct enrich *e);

/* Publishes `t` and retires `old` (any thread). */
void enrich_retire(struct enrich *e, void *p, void (*free_fn)(void *));
/* Frees what no worker can still see. Returns how many are left. */
size_t enrich_reclaim(struct enrich *e);

/* Builds the networks + GeoIP map from the configuration and the databases
 * (enrich.c). */
int enrich_build_netmap(struct enrich *e, struct netmap **out, struct error *err);

/* The refresher thread (refresher.c). */
int refresher_new(struct enrich *e, struct refresher **out, struct error *err);
void refresher_free(struct refresher *r);
void *refresher_main(void *arg);
/* The cache file (persist.c), written and read by the refresher. */
struct md_entry;
int persist_save(struct refresher *r, const char *path, struct error *err);
int persist_load(struct refresher *r, const char *path, struct error *err);

#endif
