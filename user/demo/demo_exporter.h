/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The demo exporter behind `weir run --demo`: a thread that makes up the
 * traffic of a small network (the world table of config/demo/world.csv:
 * large ASes and a long tail, their prefixes and countries; four edge
 * routers with transit, PNI, IX and core interfaces; a daily rhythm and a
 * periodic attack) and sends it over UDP, encoded by the demo encoder, from
 * one loopback address per router (NetFlow v9, IPFIX, sFlow), with the
 * routers' interface names as options data. */
#ifndef WEIR_DEMO_EXPORTER_H
#define WEIR_DEMO_EXPORTER_H

#include <stdint.h>

#include "demo.h"

struct demo_exporter_config {
	const char *target;	   /* "127.0.0.1:2055"; sFlow goes to the same host, port 6343 */
	uint16_t sflow_port;	   /* 0 = 6343 */
	uint32_t flows_per_second; /* over all exporters; 0 = 200 */
	uint64_t max_flows;	   /* stop after this many; 0 = until stopped */
};

struct demo_exporter;

/* Checks the target, makes the encoders and binds the sockets (one per
 * exporter); nothing is sent before demo_exporter_start(). Returns 0 with
 * *out, or -errno (bad target, sockets) with *out = NULL and strerror's
 * words in `err`. */
int demo_exporter_new(const struct demo_exporter_config *cfg, struct demo_exporter **out,
		      struct error *err);
/* Starts the sending thread. Returns 0, or -errno with `err` filled. */
int demo_exporter_start(struct demo_exporter *e, struct error *err);
/* Flows sent so far. */
uint64_t demo_exporter_flows_sent(const struct demo_exporter *e);
/* Stops and joins the thread. Idempotent; NULL is fine. */
void demo_exporter_stop(struct demo_exporter *e);
/* Stops if needed, closes the sockets and frees. NULL is fine. */
void demo_exporter_free(struct demo_exporter *e);

/* ---- the world (world.c) ---- */

#define DEMO_SAMPLING_RATE 1000
#define DEMO_ATTACK_PERIOD 600 /* seconds: one burst every 10 minutes... */
#define DEMO_ATTACK_LENGTH 60  /* ...for its first minute */

enum demo_reach { DEMO_REACH_LOCAL, DEMO_REACH_PNI, DEMO_REACH_IX, DEMO_REACH_TRANSIT };
enum demo_port_kind { DEMO_PORT_TRANSIT, DEMO_PORT_PNI, DEMO_PORT_IX, DEMO_PORT_CORE };

/* One interface of a router: what it says about it, and what is behind it. */
struct demo_port {
	struct demo_interface ifc;
	enum demo_port_kind kind;
	uint32_t peer_asn; /* PNI: the AS at the other end */
};

struct demo_router {
	const char *name;    /* "par1-edge1": SITE-ROLE, as the demo's classifiers read it */
	const char *address; /* loopback source address, one per router */
	enum demo_format format;
	uint32_t domain_id;
	const struct demo_port *ports;
	size_t nports;
};

/* The routers (static storage). Returns how many. */
size_t demo_routers(const struct demo_router **out);

struct demo_as {
	uint32_t asn;
	const char *name;
	char country[3]; /* ISO 3166 alpha-2 */
	uint32_t weight; /* share of the traffic (relative) */
	enum demo_reach reach;
};

struct demo_world;

/* The world table's text built into weir (config/demo/world.csv). */
const char *demo_world_builtin_csv(void);
/* Parses a world table (`csv`, or the built-in one when NULL): lines
 * "asn,name,country,weight,reach,prefixes" after a header line, # comments;
 * exactly one local AS with IPv4 and IPv6 prefixes. Returns 0 with *out, or
 * -EINVAL (with the line in `err`) or -ENOMEM, *out = NULL. */
int demo_world_new(const char *csv, struct demo_world **out, struct error *err);
void demo_world_free(struct demo_world *w); /* NULL is fine */
size_t demo_world_count(const struct demo_world *w);
/* The i-th AS (table order), NULL past the end. */
const struct demo_as *demo_world_as(const struct demo_world *w, size_t i);
/* The AS whose prefixes hold `a`, or NULL. */
const struct demo_as *demo_world_lookup(const struct demo_world *w, const struct in6_addr *a);

/* The share of the peak rate at this time of the day (local seconds since
 * midnight): from 0.2 (04:00-05:00) to 1 (21:00). */
double demo_rhythm(uint32_t seconds_of_day);

/* An attack burst: a UDP reflection flood from many ASes at one customer. */
struct demo_attack {
	uint64_t id;		/* burst number (unix time / DEMO_ATTACK_PERIOD) */
	struct in6_addr target; /* in the local AS's first IPv4 prefix */
	uint16_t src_port;	/* 123 (NTP) or 53 (DNS), by turns */
	uint16_t packet_size;
};
/* Returns 1 and fills *out when a burst is on at `now` (unix seconds), else 0. */
int demo_attack_at(const struct demo_world *w, uint64_t now, struct demo_attack *out);

/* One flow seen by router number `router` (demo_routers() order) at `now`:
 * an AS picked by weight, an address in its prefixes, one of the local AS,
 * the interface that AS's traffic enters by (PNI, IX, transit) and a core
 * one. `*rng` (rng.h) is advanced. */
void demo_world_flow(const struct demo_world *w, size_t router, uint64_t *rng, uint64_t now,
		     struct flow *f);
/* One flow of the attack: from a random AS's prefix, source port
 * attack->src_port, to attack->target. */
void demo_world_attack_flow(const struct demo_world *w, size_t router,
			    const struct demo_attack *attack, uint64_t *rng, uint64_t now,
			    struct flow *f);

/* Fills `f` with made-up flow number `seq` (deterministic in seq and seed),
 * time_received = `now` (unix seconds): documentation prefixes, private AS
 * numbers, no world table. Used by tests and benches. */
void demo_flow_make(struct flow *f, uint64_t seq, uint32_t seed, uint64_t now);

#endif
