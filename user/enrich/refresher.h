/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Internal to refresher.c and persist.c: what the refresher knows per
 * (exporter, ifIndex). Owned by the refresher thread (and by enrich_start /
 * enrich_stop when it is not running). */
#ifndef WEIR_ENRICH_REFRESHER_H
#define WEIR_ENRICH_REFRESHER_H

#include "enrich_internal.h"

enum snmp_state {
	SNMP_NONE = 0,
	SNMP_PENDING,
	SNMP_OK,
	SNMP_FAILED,
};

struct md_entry {
	struct md_entry *next; /* hash chain */
	struct in6_addr exporter;
	uint32_t ifindex;
	struct md_info info;	/* merged answer, as published */
	struct md_info learned; /* from flows (options data, counter samples) */
	struct md_info snmp;	/* the SNMP answer */
	uint64_t fetched_ms;	/* when resolved without pending answers */
	uint64_t used_ms;	/* last asked for by a flow */
	uint64_t snmp_at_ms;
	uint8_t has_learned;
	uint8_t snmp_state; /* enum snmp_state */
	uint8_t pending;
	uint8_t resolved;
	uint32_t nvlans;
	uint32_t vlans[16]; /* VLANs published for (VLAN-reading rules) */
};

struct refresher {
	struct enrich *e;
	struct md_entry **buckets;
	size_t nbuckets, count;
	uint64_t start_ms, now_ms;
	struct snmp_poller *snmp;
	_Atomic uint64_t loops;
};

struct md_entry *refresher_find(struct refresher *r, const struct in6_addr *a, uint32_t ifindex);
struct md_entry *refresher_get(struct refresher *r, const struct in6_addr *a, uint32_t ifindex);
/* Asks the providers again and publishes. */
void refresher_resolve(struct refresher *r, struct md_entry *m);
/* Publishes what persist_load() read (before the thread starts). */
void refresher_publish_loaded(struct refresher *r);
/* Resolves and publishes, before the thread starts, the keys static
 * providers list (static_provider_each_known) whose answer needs no SNMP
 * request: their first flows find them in the table, classified. */
void refresher_preload_static(struct refresher *r);
/* Loop iterations done (enrich_wait_idle). */
uint64_t refresher_loops(struct refresher *r);
/* Takes an SNMP answer (ctx: the refresher). */
void refresher_on_snmp(void *ctx, const struct snmp_answer *a);

#endif
