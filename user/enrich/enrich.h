/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The enrichment stage: exporter and interface names (flow options data,
 * static configuration, SNMP), classifiers (Akvorado's syntax), networks and
 * GeoIP, AS numbers, sampling rates. Called by the outlet between decode and
 * store, once per flow, without blocking I/O.
 *
 * How enriched attributes travel: inside struct flow, in the additive member
 * `enriched` (struct flow_enrichment, user/common/flow.h). Strings there are
 * uint32_t ids into this instance's string table (enrich_strings(), see
 * user/common/strtab.h): interned once by the background threads, never freed
 * nor renumbered while the instance lives, so flows stay fixed-size, pointer-
 * free, copyable and poolable, and the hot path writes a few integers. The
 * countries are char[2] (FixedString(2)), speeds Mbps, the boundary an enum.
 * Whoever writes a flow out (store, JSON, Kafka flows topic) turns ids back
 * into text with strtab_get(enrich_strings(e), id, &len); it must hold the
 * enrich instance (or its string table) at least as long as such flows.
 *
 * Hot path: enrich_flow() reads an immutable, atomically published table
 * (exporter, ifIndex[, VLAN]) -> final exporter and interface attributes
 * (providers merged, classifiers applied), and a longest-prefix trie (networks
 * merged with GeoIP) for both addresses. A miss is queued (bounded lock-free
 * queue) for the background refresher and the flow goes on with what is known,
 * counted. Old tables are freed once every worker has passed a quiescent point
 * (each enrich_flow() call is one; idle workers call enrich_worker_quiescent()).
 *
 * Threads: enrich_new/start/stop/free from one controlling thread. Each outlet
 * thread owns one struct enrich_worker. enrich_learn_interface() from any
 * thread. Background threads: the metadata refresher (providers, SNMP poller,
 * classifiers, cache expiry and persistence) and the GeoIP watcher. */
#ifndef WEIR_ENRICH_H
#define WEIR_ENRICH_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/config.h"
#include "../common/error.h"
#include "../common/flow.h"
#include "../common/metrics.h"
#include "../common/strtab.h"

/* ---- configuration ----
 * Akvorado's keys, so an Akvorado outlet configuration pastes over:
 *   core:     exporter-classifiers, interface-classifiers,
 *             classifier-cache-duration, default-sampling-rate,
 *             override-sampling-rate, asn-providers, net-providers
 *             (+ weir: drop-unknown)
 *   metadata: cache-duration, cache-refresh, cache-check-interval,
 *             cache-persist-file, providers (type: snmp | static), query-timeout,
 *             initial-delay (accepted, unused)
 *   geoip:    asn-database, geo-database (alias country-database), optional
 *             (+ weir: check-interval)
 *   networks: networks (prefix -> name or {name, role, site, region, tenant,
 *             country, state, city, asn}), network-sources (only empty)
 * Pieces with free-form keys (rules, subnet maps, providers, networks) are kept
 * as YAML nodes: the config_doc must outlive enrich_new(), which compiles them
 * and reports errors with file, line and key. */

struct enrich_yaml {
	const struct config_node *node; /* NULL when absent */
	const char *file;
	char path[128]; /* key path, for errors */
};

enum enrich_asn_provider {
	ENRICH_ASN_FLOW = 0,
	ENRICH_ASN_FLOW_EXCEPT_PRIVATE,
	ENRICH_ASN_FLOW_EXCEPT_DEFAULT_ROUTE,
	ENRICH_ASN_ROUTING, /* BMP: a hook, nothing answers yet */
	ENRICH_ASN_ROUTING_EXCEPT_PRIVATE,
	ENRICH_ASN_NETWORKS, /* networks: and the GeoIP ASN databases */
};

enum enrich_net_provider {
	ENRICH_NET_FLOW = 0,
	ENRICH_NET_ROUTING, /* BMP: a hook, nothing answers yet */
};

#define ENRICH_MAX_PROVIDERS 8

struct enrich_core_config {
	struct enrich_yaml exporter_classifiers; /* list of rules */
	struct enrich_yaml interface_classifiers;
	uint64_t classifier_cache_duration_ms;	  /* 5m: classified entries unused this long go */
	struct enrich_yaml default_sampling_rate; /* a number, or subnet -> number */
	struct enrich_yaml override_sampling_rate;
	/* asn-providers (default flow, routing, networks) and net-providers
	 * (default flow, routing); aliases bmp -> routing, geo-ip -> networks. */
	int asn_providers[ENRICH_MAX_PROVIDERS];
	size_t asn_providers_count;
	int net_providers[ENRICH_MAX_PROVIDERS];
	size_t net_providers_count;
	/* drop-unknown (weir, default false): drop flows whose exporter or
	 * interfaces are unknown (counted) instead of keeping them with empty
	 * fields. Unlike Akvorado, weir keeps them by default. */
	int drop_unknown;
};

struct enrich_metadata_config {
	uint64_t cache_duration_ms;	  /* 30m: entries unused this long are forgotten */
	uint64_t cache_refresh_ms;	  /* 1h: entries older than this are asked again */
	uint64_t cache_check_interval_ms; /* 2m: how often the above is checked */
	char *cache_persist_file;	  /* "" = none; loaded at start, written on stop
					     and every cache-check-interval */
	struct enrich_yaml providers;	  /* list of {type: snmp|static, ...} */
	uint64_t query_timeout_ms;	  /* accepted for Akvorado's sake */
	uint64_t initial_delay_ms;	  /* accepted for Akvorado's sake */
};

struct enrich_geoip_config {
	struct config_list asn_database; /* char * paths, later ones win */
	struct config_list geo_database;
	int optional;		    /* a missing file at start is not an error */
	uint64_t check_interval_ms; /* weir: how often files are checked for change (10s) */
};

struct enrich_networks_config {
	struct enrich_yaml networks;
	struct enrich_yaml network_sources; /* must be empty */
};

struct enrich_config {
	struct enrich_core_config core;
	struct enrich_metadata_config metadata;
	struct enrich_geoip_config geoip;
	struct enrich_networks_config networks;
};

/* Tables for config_bind(): the whole (core:, metadata:, geoip:, networks:)
 * or one section each, to mount where Akvorado has them. */
extern const struct config_field enrich_config_fields[];
extern const struct config_field enrich_core_fields[];
extern const struct config_field enrich_metadata_fields[];
extern const struct config_field enrich_geoip_fields[];
extern const struct config_field enrich_networks_fields[];

/* Fills `cfg` with the defaults above. Returns 0 or -ENOMEM. */
int enrich_config_defaults(struct enrich_config *cfg);
void enrich_config_free(struct enrich_config *cfg);

/* ---- the stage ---- */
struct enrich;
struct enrich_worker;

/* Compiles the configuration (classifiers, subnet maps, providers, networks):
 * a wrong rule fails here with the key, the rule, the column and what was
 * expected. `metrics` may be NULL. Nothing runs until enrich_start(). */
int enrich_new(const struct enrich_config *cfg, struct metrics_registry *metrics,
	       struct enrich **out, struct error *err);
/* Stops (enrich_stop) and frees. Workers must be freed before. NULL ok. */
void enrich_free(struct enrich *e);
/* Registers the stage's metrics in `metrics` when enrich_new() had none (the
 * configuration load builds the stage before a role has its registry).
 * Before enrich_start(), once. Returns 0, -EINVAL (metrics already set) or
 * -ENOMEM. */
int enrich_set_metrics(struct enrich *e, struct metrics_registry *metrics, struct error *err);

/* Loads the cache file, opens the GeoIP databases (a missing one is an error
 * unless geoip.optional), builds the networks trie, starts the threads. */
int enrich_start(struct enrich *e, struct error *err);
/* Stops the threads and writes the cache file. Idempotent. */
void enrich_stop(struct enrich *e);

/* The string table the ids of struct flow_enrichment refer to. */
const struct strtab *enrich_strings(const struct enrich *e);

/* One per outlet thread. */
int enrich_worker_new(struct enrich *e, struct enrich_worker **out, struct error *err);
void enrich_worker_free(struct enrich_worker *w);
/* Tells the stage this worker holds nothing from it (call when idle for a
 * while, so that old tables can be freed). enrich_flow() does it too. */
void enrich_worker_quiescent(struct enrich_worker *w);

enum enrich_verdict {
	ENRICH_KEEP = 0,
	ENRICH_DROP = 1, /* Reject() by a classifier, or drop-unknown: counted */
};

/* Fills f->enriched and rewrites f->sampling_rate (overrides, defaults; 1 and
 * counted when still unknown), f->src_as/dst_as (asn-providers),
 * f->src_net_mask/dst_net_mask (net-providers). Never blocks; no allocation.
 * Returns ENRICH_KEEP or ENRICH_DROP (the caller must not store the flow). */
enum enrich_verdict enrich_flow(struct enrich_worker *w, struct flow *f);

/* enrich_flow() over flows[0..n), moving kept flows down over dropped ones.
 * Returns how many are kept (at the start of the array, in order). */
size_t enrich_flows(struct enrich_worker *w, struct flow *flows, size_t n);

/* The flow-options provider: what an exporter said about one of its
 * interfaces (IPFIX/NetFlow v9 options data: IE 82 interfaceName, IE 83
 * interfaceDescription with ingressInterface as scope; sFlow counter samples:
 * ifSpeed). NULL or "" and 0 mean "not said": what is said is merged with what
 * was learnt before. `speed_mbps` is in Mbps. Such interfaces need no other
 * provider. Any thread; takes a short lock (call per options record, not per
 * flow); applied by the refresher within a tick. */
void enrich_learn_interface(struct enrich *e, const struct in6_addr *exporter, uint32_t ifindex,
			    const char *name, const char *description, uint32_t speed_mbps);

/* Counters since enrich_new (also exported as metrics). */
struct enrich_stats {
	uint64_t flows;		    /* enrich_flow() calls */
	uint64_t metadata_misses;   /* exporter/interface neither in the table nor named by a
				       static provider at once: queued */
	uint64_t unknown_kept;	    /* kept with empty exporter or interface fields */
	uint64_t unknown_dropped;   /* dropped by drop-unknown */
	uint64_t rejected;	    /* dropped by a classifier's Reject() */
	uint64_t sampling_unknown;  /* kept with SamplingRate 1 */
	uint64_t queue_full;	    /* misses not queued (queue full): asked again later */
	uint64_t static_inline;	    /* not in the table yet, answered by static metadata */
	uint64_t provider_requests; /* lookups the refresher started */
	uint64_t snmp_requests;	    /* SNMP GETs sent */
	uint64_t snmp_retries;	    /* SNMP GETs sent again (poller-retries) */
	uint64_t snmp_timeouts;
	uint64_t snmp_breaker_open; /* lookups skipped: agent's breaker open */
	uint64_t geoip_reloads;	    /* networks trie rebuilt after a file changed */
	uint64_t classifier_errors;
	uint64_t cache_entries; /* gauge: entries in the lookup table */
};
void enrich_get_stats(struct enrich *e, struct enrich_stats *out);

/* Waits until the refresher has handled every queued request and no provider
 * answer is pending (tests, benches). Returns 0, or -ETIMEDOUT. */
int enrich_wait_idle(struct enrich *e, uint64_t timeout_ms);

/* AS names out of an ASN .mmdb (MaxMind's autonomous_system_organization,
 * IPinfo's as_name or name): calls `each` once per data record that has a
 * number and a name (`name` is not NUL-terminated; it lives until the
 * call returns), in no particular order; one AS may come more than once.
 * For the orchestrator, not the data path: it reads the whole file.
 * Returns 0, `each`'s first negative return, or -ENOENT/-EINVAL/-EIO/
 * -ENOMEM with `err` set. */
typedef int (*enrich_asn_name_fn)(void *ctx, uint32_t asn, const char *name, size_t len);
int enrich_mmdb_asn_names(const char *path, enrich_asn_name_fn each, void *ctx, struct error *err);

#endif
