/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Shared between the files of the decode stage only: the protocol entry
 * points that decode_datagram() dispatches to, the L2-L4 parser they share,
 * and small helpers (big-endian reads: common/be.h). */
#ifndef WEIR_DECODE_INTERNAL_H
#define WEIR_DECODE_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "../common/be.h"
#include "decode.h"

/* Records an event in the result; the first error becomes the status. */
static inline void decode_event(struct decode_result *r, enum decode_reason reason)
{
	r->events[reason]++;
	if (r->status == DECODE_OK)
		r->status = reason;
}

/* Next free record of `out`, reset, or NULL (and a DECODE_FLOW_LIMIT event)
 * when the output is full. The caller fills it and calls decode_commit(). */
static inline struct flow *decode_next_flow(struct decode_output *out, struct decode_result *r)
{
	struct flow *f;

	if (out->count >= out->cap) {
		decode_event(r, DECODE_FLOW_LIMIT);
		return NULL;
	}
	f = &out->flows[out->count];
	flow_reset(f);
	return f;
}

static inline void decode_commit(struct decode_output *out, struct decode_result *r)
{
	out->count++;
	r->flows++;
}

/* NetFlow v5 (stateless). */
void netflow_v5_decode(const struct decode_config *cfg, const struct decode_input *in,
		       struct decode_output *out, struct decode_result *r);

/* NetFlow v9 and IPFIX share one template engine; its per-exporter state. */
struct template_store;
/* 0 with *out, or -ENOMEM with *out = NULL and `err` filled; `cfg` is
 * copied. template_store_free() accepts NULL. */
int template_store_new(const struct decode_config *cfg, struct template_store **out,
		       struct error *err);
void template_store_free(struct template_store *ts);
void template_store_usage(const struct template_store *ts, struct decode_usage *u);
void netflow_v9_decode(struct template_store *ts, const struct decode_config *cfg,
		       const struct decode_input *in, struct decode_output *out,
		       struct decode_result *r);
void ipfix_decode(struct template_store *ts, const struct decode_config *cfg,
		  const struct decode_input *in, struct decode_output *out,
		  struct decode_result *r);

/* sFlow v5 (stateless). */
void sflow_decode(const struct decode_config *cfg, const struct decode_input *in,
		  struct decode_output *out, struct decode_result *r);

/* Sequence streams (sequence.c): the state of decode_sequence_track(). */
struct sequence_tracker;
/* 0 with *out, or -ENOMEM with *out = NULL and `err` filled. Bounded by
 * cfg->max_exporters * 4 streams per protocol; grows as streams come. */
int sequence_tracker_new(const struct decode_config *cfg, struct sequence_tracker **out,
			 struct error *err);
/* NULL is fine. */
void sequence_tracker_free(struct sequence_tracker *t);
void sequence_track(struct sequence_tracker *t, struct decode_result *r);

/* The header's sequence fields, for the protocol decoders. */
static inline void decode_seq_header(struct decode_result *r, enum decode_seq_unit unit,
				     uint32_t domain, uint32_t number, uint32_t count)
{
	r->seq.unit = unit;
	r->seq.domain = domain;
	r->seq.number = number;
	r->seq.count = count;
}

/* The L2-L4 parser shared by sFlow sampled headers and IPFIX IE 315 (data
 * link frame section). Fills addresses, ports, proto, etype, VLANs, MACs,
 * MPLS labels, TTL, TOS, fragment id/offset, flow label, TCP flags, ICMP type
 * and code, and Bytes (the IP total length) in `f`; leaves other fields alone.
 * Returns 0, or -EINVAL when nothing usable was found (the caller counts
 * DECODE_BAD_HEADER). */
enum l2l4_start {
	L2L4_ETHERNET,
	L2L4_IPV4,
	L2L4_IPV6,
	L2L4_MPLS,
};
int l2l4_parse(const uint8_t *data, size_t len, enum l2l4_start start,
	       const struct decode_config *cfg, struct flow *f, struct decode_result *r);

#endif
