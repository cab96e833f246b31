/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Flow decoders: NetFlow v5, NetFlow v9, IPFIX and sFlow v5.
 *
 * Pure functions: a datagram and the decoder state go in, flow records and a
 * result (status and counters per reason) come out. No sockets, no clock, no
 * logging: the caller turns the result into metrics and rate-limited logs.
 *
 * Threads: a struct decode_state is not thread-safe; give each worker its own
 * and route each exporter to one worker (templates live in the state). */
#ifndef WEIR_DECODE_H
#define WEIR_DECODE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/error.h"
#include "../common/flow.h"

/* Why input was rejected or skipped, or other notable events. Each one is a
 * per-exporter, per-reason counter (metric weir_decode_events_total). */
enum decode_reason {
	DECODE_OK = 0,
	DECODE_TRUNCATED,	 /* shorter than a header, set, record or field says */
	DECODE_BAD_VERSION,	 /* not NetFlow v5/v9, IPFIX or sFlow v5 */
	DECODE_BAD_LENGTH,	 /* a length field that cannot be right */
	DECODE_UNKNOWN_TEMPLATE, /* data set before (or without) its template: skipped */
	DECODE_BAD_TEMPLATE,	 /* malformed template or options template: ignored */
	DECODE_TEMPLATE_LIMIT,	 /* per-exporter template limit, nothing of its own to evict */
	DECODE_MEMORY_LIMIT,	 /* a memory limit no eviction could make room under */
	DECODE_EXPORTER_LIMIT,	 /* no room for a new exporter (none could be evicted) */
	DECODE_FLOW_LIMIT,	 /* more flows than the output can hold: rest dropped */
	DECODE_TRUNCATED_ARRAY,	 /* more labels/AS path/communities than a flow holds */
	DECODE_BAD_SAMPLE,	 /* malformed sFlow sample or record: skipped */
	DECODE_UNSUPPORTED,	 /* well-formed but not handled (sample/header type, set ID) */
	DECODE_BAD_HEADER,	 /* a sampled packet header the L2-L4 parser could not read */
	DECODE_REASON_COUNT
};

/* Stable lower_snake names ("truncated", "unknown_template", ...) for labels. */
const char *decode_reason_name(enum decode_reason reason);

enum decode_decap {
	DECODE_DECAP_NONE = 0,
	DECODE_DECAP_GRE,
	DECODE_DECAP_IPIP,
	DECODE_DECAP_VXLAN,
	DECODE_DECAP_SRV6,
};

/* NetFlow v9 / IPFIX state (exporters, templates, sampling rates) is bounded
 * and heals: an exporter at its own limit (templates or bytes) evicts its own
 * least recently used template; a new exporter past max_exporters, or state
 * past max_bytes_total, evicts the least recently used exporter (all its
 * state), exporters that never gave a flow first. Templates neither
 * refreshed nor used for template_idle_s expire, exporters silent for
 * exporter_idle_s too (time: decode_input.time_received). All counted in
 * decode_result. The limits are per struct decode_state (per worker). */
struct decode_config {
	uint32_t max_exporters;		     /* default 10000 */
	uint32_t max_templates_per_exporter; /* default 1024, counting options templates */
	uint64_t max_bytes_per_exporter;     /* template and sampling state, default 4 MiB */
	uint64_t max_bytes_total;	     /* every exporter's state, default 256 MiB */
	uint32_t template_idle_s;	     /* default 3600; 0: never expire */
	uint32_t exporter_idle_s;	     /* default 7200; 0: never expire */
	/* NetFlow/IPFIX: TimeReceived = the export header's time instead of the
	 * caller's receive time (weir decode uses it: a capture is replayed later). */
	int use_export_time;
	/* Sampled headers (sFlow, IPFIX 315): report the inner packet of this
	 * encapsulation when present. */
	enum decode_decap decap;
};

/* Fills `cfg` with the defaults above. */
void decode_config_init(struct decode_config *cfg);

struct decode_state;

/* Returns 0 with a new state in *out, or -ENOMEM with *out = NULL and `err`
 * filled. `cfg` is copied. */
int decode_state_new(const struct decode_config *cfg, struct decode_state **out, struct error *err);
/* NULL is fine. */
void decode_state_free(struct decode_state *st);

/* What a decoder state holds now (NetFlow v9 / IPFIX): bytes counted against
 * the limits (templates, sampling rates, per-domain header state, the
 * exporters' own records and maps), exporters and templates. O(1); same
 * thread as decode_datagram(). */
struct decode_usage {
	uint64_t bytes;
	uint32_t exporters;
	uint32_t templates;
};
void decode_state_usage(const struct decode_state *st, struct decode_usage *u);

struct decode_input {
	const uint8_t *data; /* UDP payload */
	size_t len;
	struct in6_addr exporter; /* datagram source (IPv4-mapped for IPv4) */
	uint64_t time_received;	  /* unix seconds, copied into each flow; the
				   * decoder's "now" for expiry (0: nothing expires) */
	/* A datagram decoded again (the outlet's parked datagrams): its
	 * template sets are not learnt again (they were the first time, and
	 * may be older than what came since) and its header does not feed
	 * restart detection. */
	int replay;
};

/* A NetFlow v9 (version 9) or IPFIX (10) template of the datagram's
 * exporter; id 0: none. */
struct decode_template_key {
	uint32_t domain;
	uint16_t id;
	uint8_t version;
};

/* Templates one decode_result lists as taught; past it, taught_overflow. */
#define DECODE_TAUGHT_MAX 64

/* What an exporter said about one of its interfaces in IPFIX/NetFlow v9
 * options data: interfaceName (IE 82) and interfaceDescription (IE 83) with
 * the ifIndex as scope (IPFIX: ingressInterface, IE 10; v9: scope type 2,
 * Interface, or IE 10), and weir probe's speed (PEN 32473, IE 1, bit/s);
 * sFlow counter samples' generic interface counters: ifIndex and ifSpeed.
 * They are the exporter's of decode_result.exporter.
 * Strings NUL-terminated (truncated to fit), "" and 0 when not said. */
#define DECODE_IF_NAME_MAX 64
#define DECODE_IF_DESC_MAX 256
struct decode_interface {
	uint32_t ifindex;
	uint32_t speed_mbps;
	char name[DECODE_IF_NAME_MAX];
	char description[DECODE_IF_DESC_MAX];
};

/* The caller's array of records; count flows are written from index 0.
 * Optionally (ifaces_cap > 0) an array of interface records the same way:
 * records past its capacity are not reported. */
struct decode_output {
	struct flow *flows;
	uint32_t cap;
	uint32_t count;
	struct decode_interface *ifaces;
	uint32_t ifaces_cap;
	uint32_t ifaces_count;
};

enum decode_protocol {
	DECODE_PROTO_UNKNOWN = 0,
	DECODE_PROTO_NETFLOW_V5,
	DECODE_PROTO_NETFLOW_V9,
	DECODE_PROTO_IPFIX,
	DECODE_PROTO_SFLOW_V5,
};

/* What a header's sequence number counts (the unit of decode_sequence's
 * count and lost). */
enum decode_seq_unit {
	DECODE_SEQ_NONE = 0,
	DECODE_SEQ_FLOWS,     /* NetFlow v5: flow records */
	DECODE_SEQ_DATAGRAMS, /* NetFlow v9 export packets, sFlow datagrams */
	DECODE_SEQ_RECORDS,   /* IPFIX data records */
};

/* "flows", "datagrams", "records" ("none"), for labels. */
const char *decode_seq_unit_name(enum decode_seq_unit unit);

/* What one datagram gave. Zeroed by decode_datagram() (taught[] past
 * ntaught excepted). */
struct decode_result {
	enum decode_protocol protocol;
	enum decode_reason status; /* first error met, DECODE_OK when none */
	struct in6_addr exporter;  /* the flows' exporter (sFlow: agent address) */
	uint64_t export_time;	   /* header time, unix seconds (0 for sFlow) */
	uint32_t flows;		   /* records written to the output */
	uint32_t templates;	   /* templates and options templates learnt */
	uint32_t template_withdrawals;
	uint32_t options_records; /* options data records read */
	uint32_t counter_samples; /* sFlow counter samples (not turned into flows) */
	/* sFlow flow records weir has no use for (extended records it has no
	 * column for, other enterprises' formats): skipped by their length.
	 * Not a problem, so not an event: DECODE_UNSUPPORTED is kept for what
	 * loses flows or their fields. */
	uint32_t skipped_records;
	/* ---- template and exporter state (see struct decode_config) ---- */
	/* The first data set whose template was unknown (id 0: none). */
	struct decode_template_key missing;
	/* Templates (data or options) this datagram taught (learnt or
	 * refreshed), the first DECODE_TAUGHT_MAX; taught_overflow: more. */
	struct decode_template_key taught[DECODE_TAUGHT_MAX];
	uint32_t ntaught;
	int taught_overflow;
	uint32_t templates_expired; /* idle past template_idle_s */
	uint32_t templates_evicted; /* room made under a per-exporter limit */
	uint32_t templates_reset;   /* dropped because their exporter restarted */
	uint32_t exporter_restarts; /* (exporter, domain) restarts seen */
	uint32_t exporters_expired; /* silent past exporter_idle_s */
	uint32_t exporters_evicted; /* room made for a new one or under max_bytes_total */
	/* ---- */
	uint32_t events[DECODE_REASON_COUNT]; /* occurrences per reason */

	/* ---- sequence numbers (issue 11): what the header said, filled by
	 * decode_datagram(); lost/out_of_order/reset by decode_sequence_track(). */
	struct decode_sequence {
		enum decode_seq_unit unit; /* DECODE_SEQ_NONE: no sequence read */
		/* v5: engine type << 8 | engine id; v9: source id; IPFIX:
		 * observation domain; sFlow: sub-agent id. With the exporter
		 * (sFlow: the agent address) it names one sequence stream. */
		uint32_t domain;
		uint32_t number; /* the header's sequence number */
		/* Units this datagram carries: v5 flow records; IPFIX data
		 * records (options data included, templates not: RFC 7011 3.1);
		 * 1 for v9 and sFlow. */
		uint32_t count;
		uint8_t count_unknown; /* IPFIX: a data set could not be counted */
		uint8_t has_uptime;    /* v5, v9, sFlow: uptime_ms is the header's */
		uint8_t reset;	       /* the stream started over: not a loss */
		uint32_t uptime_ms;
		uint32_t lost;	       /* units skipped before this datagram */
		uint32_t out_of_order; /* 1: behind the expected number (late or duplicated) */
	} seq;
};

/* Decodes one datagram, detecting its protocol from its version field.
 * Appends flows to `out` (out->count grows; records past out->cap are
 * dropped and counted as DECODE_FLOW_LIMIT). Malformed parts are skipped and
 * counted; the rest of the datagram is still decoded when it can be.
 * Returns result->status (DECODE_OK when the whole datagram was read). */
enum decode_reason decode_datagram(struct decode_state *st, const struct decode_input *in,
				   struct decode_output *out, struct decode_result *result);

const char *decode_protocol_name(enum decode_protocol p);

/* Sequence tracking, per (exporter, domain) stream and protocol, in `st`
 * (bounded: the stalest stream is forgotten when a new one comes and
 * max_exporters * 4 are tracked). Compares result->seq (as decode_datagram()
 * filled it for one datagram) with what the stream expected, fills
 * result->seq.lost, .out_of_order and .reset, and moves the stream on.
 * Modulo 2^32. A datagram behind the expected number by at most a window
 * (1024 datagrams, 65536 flows or records) is out of order (late or
 * duplicated) and changes nothing; further behind, or an uptime that went
 * back by more than 60 s, is a restart (reset, not a loss). After an IPFIX
 * datagram whose records could not all be counted the next one only
 * resynchronises. Does nothing when result->seq.unit is DECODE_SEQ_NONE.
 *
 * Call it once per datagram as it was received, after decode_datagram(),
 * and not for a datagram decoded a second time (one parked for its
 * template): it would count as a duplicate. Same thread rules as
 * decode_datagram(). */
void decode_sequence_track(struct decode_state *st, struct decode_result *result);

#endif
