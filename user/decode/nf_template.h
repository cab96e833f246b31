/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The NetFlow v9 / IPFIX template engine, shared by nf_store.c (exporters,
 * templates, sampling rates, template compilation) and nf_decode.c (sets and
 * records). Internal to the decode stage. */
#ifndef WEIR_DECODE_NF_TEMPLATE_H
#define WEIR_DECODE_NF_TEMPLATE_H

#include <stdint.h>

#include "common/container_of.h"
#include "decode_internal.h"

#define NF_MAX_FIELDS  512   /* per template; more is refused as a bad template */
#define NF_VARLEN      65535 /* field length meaning "variable" (RFC 7011 7) */
#define NF_PEN_REVERSE 29305 /* RFC 5103 reverse information elements */
#define NF_PEN_JUNIPER 2636

/* Per-record values that are not struct flow columns as they are, combined by
 * nf_finish() once the record is read. Zeroed per record when the template
 * uses any of them. */
struct nf_extra {
	uint64_t sampling, sampling_random;   /* IE 34, 50 */
	uint64_t sampler_id;		      /* IE 48 / 302 */
	uint64_t pkt_interval, pkt_space;     /* IE 305 / 306 */
	uint64_t rev_bytes, rev_packets;      /* RFC 5103 reverse counters */
	uint64_t t_sec[2], t_ms[2], t_ntp[2]; /* IE 150/151, 152/153, 154-157 */
	uint64_t t_init;		      /* IE 160 systemInitTimeMilliseconds */
	uint32_t t_up[2];		      /* IE 22 / 21, ms of sysUptime */
	uint32_t t_delta[2];		      /* IE 158 / 159, us before the export time */
	uint32_t in_phys, out_phys;	      /* IE 252 / 253 */
	uint32_t mpls[10];		      /* IE 70..79, 3-byte label stack entries */
	uint32_t juniper_fwd;		      /* ForwardingStatus from Juniper's CPID 2 */
	uint32_t frame_len;
	const uint8_t *frame; /* IE 315 */
	uint16_t rev_tcp_flags;
};

/* One compiled copy step: read `len` bytes at `src` in the record, write
 * them at `dst` of the flow (base 0) or of the nf_extra (base 1) as `op`
 * says. */
struct nf_step {
	uint16_t src;
	uint16_t dst;
	uint16_t len;
	uint8_t op;
	uint8_t base;
};

/* A run of steps of one operation and one base: the decoder dispatches once
 * per run, not once per field. */
struct nf_run {
	uint16_t first, count;
	uint8_t op;
	uint8_t base;
};

/* Where an information element goes, as decided once per template field. */
struct nf_target {
	uint8_t kind; /* enum nf_kind, 0 = ignored */
	uint8_t base;
	uint8_t width; /* bytes of the destination integer */
	uint16_t dst;
};

struct nf_field {
	uint32_t pen;
	uint16_t ie;
	uint16_t len; /* NF_VARLEN for variable */
	struct nf_target tgt;
};

/* What nf_finish() has to do for records of a template. */
enum {
	NF_POST_EXTRA = 1u << 0, /* the template writes nf_extra at all */
	NF_POST_PHYS = 1u << 1,
	NF_POST_TIME = 1u << 2,
	NF_POST_MPLS = 1u << 3,
	NF_POST_FRAME = 1u << 4,
	NF_POST_ICMP_IE = 1u << 5,    /* an ICMP type/code element is present */
	NF_POST_RATE = 1u << 6,	      /* IE 34/50 in the record */
	NF_POST_SAMPLER = 1u << 7,    /* IE 48/302 in the record */
	NF_POST_RATE_PSAMP = 1u << 8, /* IE 305/306 in the record */
	NF_POST_REVERSE = 1u << 9,    /* RFC 5103 biflow */
	NF_POST_JUNIPER = 1u << 10,
	NF_POST_REV_BYTES = 1u << 11, /* reverse octets present */
	NF_POST_REV_FLAGS = 1u << 12, /* reverse TCP flags present */
};

/* Intrusive circular list with a sentinel: least recently used first. */
struct nf_link {
	struct nf_link *prev, *next;
};

static inline void nf_list_init(struct nf_link *l)
{
	l->prev = l->next = l;
}
static inline void nf_list_del(struct nf_link *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}
/* Puts `n` (in a list or alone) at the most recently used end of `l`. */
static inline void nf_list_touch(struct nf_link *l, struct nf_link *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = l->prev;
	n->next = l;
	l->prev->next = n;
	l->prev = n;
}

struct nf_template {
	struct nf_link lru; /* in its exporter's templates list */
	uint64_t last;	    /* taught or used, unix seconds */
	uint32_t domain;
	uint16_t id;
	uint8_t version; /* 9 or 10 */
	uint8_t options; /* options template */
	uint16_t nfields;
	uint16_t nscope; /* options templates: scope fields come first */
	uint16_t nsteps;
	uint16_t nruns;
	uint8_t variable; /* has variable-length fields: slow path */
	uint32_t rec_len; /* fixed length, or the minimum when variable */
	uint32_t post;
	uint32_t size;		 /* bytes accounted to the exporter */
	struct nf_field *fields; /* nfields, in template order */
	struct nf_step *steps;	 /* fixed-length data templates: sorted by (base, op) */
	struct nf_run *runs;
};

/* Open-addressing hash map, 128-bit keys, non-zero 64-bit values. */
struct nf_slot {
	uint64_t a, b, v;
};
struct nf_map {
	struct nf_slot *slots;
	uint32_t cap; /* power of two, or 0 */
	uint32_t n;
};

/* What restart detection remembers of one (version, domain) of an exporter. */
struct nf_domain {
	uint32_t uptime; /* v9 sysUptime, ms */
	uint32_t seq;
};

struct nf_exporter {
	struct nf_link lru;  /* in the store's probation or active list */
	struct nf_link tlru; /* its templates, least recently used first */
	struct in6_addr addr;
	struct nf_map templates; /* (version, domain, id) -> struct nf_template * */
	struct nf_map rates;	 /* (version, domain, sampler id) -> sampling rate */
	struct nf_map domains;	 /* (version, domain) -> struct nf_domain * */
	struct nf_domain *dlast; /* the last one looked up, of key dlast_key */
	uint64_t dlast_key;
	uint32_t ntemplates;
	uint64_t bytes; /* counted against max_bytes_per_exporter (and the total) */
	uint64_t last;	/* last datagram, unix seconds */
	int active;	/* has given flows: evicted after the probation list */
};

struct template_store {
	struct decode_config cfg;
	struct nf_map index; /* exporter address -> struct nf_exporter * */
	uint32_t nexporters;
	uint32_t ntemplates;
	uint64_t bytes; /* every exporter's bytes, their records and the index */
	/* Least recently used first. New exporters start in probation and move
	 * to active once a data set of theirs was decoded: a flood of spoofed
	 * exporters that only teach templates evicts its own kind first. */
	struct nf_link probation, active;
	struct nf_exporter *last;
};

/* Exporter of `addr`, created when new (evicting the least recently used
 * one when max_exporters or max_bytes_total is reached), marked as seen at
 * `now`; expires idle exporters and the exporter's idle templates on the
 * way. NULL when no room could be made (DECODE_EXPORTER_LIMIT) or out of
 * memory (DECODE_MEMORY_LIMIT). */
struct nf_exporter *nf_exporter_get(struct template_store *ts, const struct in6_addr *addr,
				    uint64_t now, struct decode_result *r);

/* `e` gave flows: from now on it is evicted only after every exporter that
 * never did. */
void nf_exporter_active(struct template_store *ts, struct nf_exporter *e);

/* Restart detection for a header of (version, domain) of `e` (see
 * nf_store.c for the rule): drops the domain's templates and sampling rates
 * when the exporter restarted. `uptime` is v9's sysUptime (ignored for
 * IPFIX). */
void nf_domain_check(struct template_store *ts, struct nf_exporter *e, unsigned version,
		     uint32_t domain, uint32_t uptime, uint32_t seq, struct decode_result *r);

static inline uint64_t nf_tkey(unsigned version, uint32_t domain, uint16_t id)
{
	return (uint64_t)domain << 32 | (uint64_t)version << 16 | id;
}

struct nf_slot *nf_map_find(const struct nf_map *m, uint64_t a, uint64_t b);

/* The template, marked as used at `now`, or NULL. */
static inline struct nf_template *nf_template_find(struct nf_exporter *e, unsigned version,
						   uint32_t domain, uint16_t id, uint64_t now)
{
	struct nf_slot *s = nf_map_find(&e->templates, nf_tkey(version, domain, id), 0);
	struct nf_template *t;

	if (!s)
		return NULL;
	t = (struct nf_template *)(uintptr_t)s->v;
	if (t->last != now) {
		t->last = now;
		nf_list_touch(&e->tlru, &t->lru);
	}
	return t;
}

/* Compiles fields[0..n) into a template and stores it at `now`, replacing
 * any template of the same key (an identical one is kept as it is, and
 * refreshed). At a per-exporter limit the exporter's least recently used
 * templates make room (templates_evicted); past max_bytes_total other
 * exporters go. Counts DECODE_BAD_TEMPLATE / TEMPLATE_LIMIT / MEMORY_LIMIT
 * on refusal. Returns 0 or -1. */
int nf_template_add(struct template_store *ts, struct nf_exporter *e, unsigned version,
		    uint32_t domain, uint16_t id, int options, uint16_t nscope,
		    const struct nf_field *fields, uint16_t n, uint64_t now,
		    struct decode_result *r);

/* Withdraws one template, or every template (options == 0) or options
 * template (options == 1) of (version, domain) when all is set. */
void nf_template_withdraw(struct template_store *ts, struct nf_exporter *e, unsigned version,
			  uint32_t domain, uint16_t id, int all, int options,
			  struct decode_result *r);

/* Sampling rates announced by options data. */
void nf_rate_set(struct template_store *ts, struct nf_exporter *e, unsigned version,
		 uint32_t domain, uint64_t sampler_id, uint64_t rate, struct decode_result *r);
uint64_t nf_rate_get(const struct nf_exporter *e, unsigned version, uint32_t domain,
		     uint64_t sampler_id);

/* The compiled operation for a target and an actual field length, 0 when the
 * length does not suit the target (the field is then ignored). */
uint8_t nf_op_for(const struct nf_target *t, unsigned len);

enum nf_op {
	NF_OP_NONE = 0,
	NF_OP_U8,     /* 1 byte -> uint8 */
	NF_OP_U16,    /* 2 bytes -> uint16 */
	NF_OP_U32,    /* 4 bytes -> uint32 */
	NF_OP_U64,    /* 8 bytes -> uint64 */
	NF_OP_U32_64, /* 4 bytes -> uint64 */
	NF_OP_U16_32, /* 2 bytes -> uint32 */
	NF_OP_N8,     /* 1..8 bytes (reduced-size encoding, RFC 7011 6.2) -> uint8 */
	NF_OP_N16,
	NF_OP_N32,
	NF_OP_N64,
	NF_OP_N16_IFZ, /* -> uint16 unless already set (VLANs) */
	NF_OP_ADDR4,   /* 4 bytes -> mapped address, and EType IPv4 when not 0 */
	NF_OP_ADDR6,   /* 16 bytes -> address, and EType IPv6 when not 0 */
	NF_OP_IPV4,    /* 4 bytes -> mapped address */
	NF_OP_IPV6,    /* 16 bytes -> address */
	NF_OP_MAC,     /* 6 bytes -> uint64 */
	NF_OP_MPLS,    /* 3-byte label stack entry -> uint32 */
	NF_OP_ICMP,    /* 1..8 bytes, type << 8 | code -> two uint8 */
	NF_OP_DIR,     /* flowDirection 0/1 -> FLOW_DIRECTION_* */
	NF_OP_IPVER,   /* ipVersion 4/6 -> EType */
	NF_OP_FRAME,   /* any length -> extra.frame */
	NF_OP_JUNIPER, /* Juniper common properties (CPID 2: forwarding exception) */
};

enum nf_kind {
	NF_K_NONE = 0,
	NF_K_UINT,
	NF_K_UINT_IFZ,
	NF_K_ADDR4,
	NF_K_ADDR6,
	NF_K_IPV4,
	NF_K_IPV6,
	NF_K_MAC,
	NF_K_MPLS,
	NF_K_ICMP,
	NF_K_DIR,
	NF_K_IPVER,
	NF_K_FRAME,
	NF_K_JUNIPER,
};

#endif
