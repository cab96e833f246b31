// SPDX-License-Identifier: AGPL-3.0-or-later
/* Protocol detection and the decoder state: decode_datagram() looks at the
 * version field and hands the datagram to the matching decoder. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "decode_internal.h"

struct decode_state {
	struct decode_config cfg;
	struct template_store *templates;
	struct sequence_tracker *seq;
};

void decode_config_init(struct decode_config *cfg)
{
	*cfg = (struct decode_config){
	    .max_exporters = 10000,
	    .max_templates_per_exporter = 1024,
	    .max_bytes_per_exporter = 4u << 20,
	    .max_bytes_total = 256ull << 20,
	    .template_idle_s = 3600,
	    .exporter_idle_s = 7200,
	};
}

int decode_state_new(const struct decode_config *cfg, struct decode_state **out, struct error *err)
{
	struct decode_state *st = calloc(1, sizeof(*st));
	int r;

	*out = NULL;
	if (!st)
		return error_set(err, -ENOMEM, "decode: out of memory for a decoder state");
	st->cfg = *cfg;
	r = template_store_new(&st->cfg, &st->templates, err);
	if (r == 0)
		r = sequence_tracker_new(&st->cfg, &st->seq, err);
	if (r < 0) {
		decode_state_free(st);
		return r;
	}
	*out = st;
	return 0;
}

void decode_state_free(struct decode_state *st)
{
	if (!st)
		return;
	template_store_free(st->templates);
	sequence_tracker_free(st->seq);
	free(st);
}

void decode_state_usage(const struct decode_state *st, struct decode_usage *u)
{
	template_store_usage(st->templates, u);
}

const char *decode_reason_name(enum decode_reason reason)
{
	static const char *const names[DECODE_REASON_COUNT] = {
	    [DECODE_OK] = "ok",
	    [DECODE_TRUNCATED] = "truncated",
	    [DECODE_BAD_VERSION] = "bad_version",
	    [DECODE_BAD_LENGTH] = "bad_length",
	    [DECODE_UNKNOWN_TEMPLATE] = "unknown_template",
	    [DECODE_BAD_TEMPLATE] = "bad_template",
	    [DECODE_TEMPLATE_LIMIT] = "template_limit",
	    [DECODE_MEMORY_LIMIT] = "memory_limit",
	    [DECODE_EXPORTER_LIMIT] = "exporter_limit",
	    [DECODE_FLOW_LIMIT] = "flow_limit",
	    [DECODE_TRUNCATED_ARRAY] = "truncated_array",
	    [DECODE_BAD_SAMPLE] = "bad_sample",
	    [DECODE_UNSUPPORTED] = "unsupported",
	    [DECODE_BAD_HEADER] = "bad_header",
	};
	return (unsigned)reason < DECODE_REASON_COUNT ? names[reason] : "unknown";
}

const char *decode_seq_unit_name(enum decode_seq_unit unit)
{
	switch (unit) {
	case DECODE_SEQ_FLOWS:
		return "flows";
	case DECODE_SEQ_DATAGRAMS:
		return "datagrams";
	case DECODE_SEQ_RECORDS:
		return "records";
	default:
		return "none";
	}
}

void decode_sequence_track(struct decode_state *st, struct decode_result *r)
{
	sequence_track(st->seq, r);
}

const char *decode_protocol_name(enum decode_protocol p)
{
	switch (p) {
	case DECODE_PROTO_NETFLOW_V5:
		return "netflow-v5";
	case DECODE_PROTO_NETFLOW_V9:
		return "netflow-v9";
	case DECODE_PROTO_IPFIX:
		return "ipfix";
	case DECODE_PROTO_SFLOW_V5:
		return "sflow-v5";
	default:
		return "unknown";
	}
}

enum decode_reason decode_datagram(struct decode_state *st, const struct decode_input *in,
				   struct decode_output *out, struct decode_result *r)
{
	/* Zeroed but for the list of taught templates (the first ntaught
	 * are written): ~0.5 KiB a datagram it need not clear. */
	memset(r, 0, offsetof(struct decode_result, taught));
	memset(&r->ntaught, 0, sizeof(*r) - offsetof(struct decode_result, ntaught));
	r->exporter = in->exporter;
	if (in->len < 4) {
		decode_event(r, DECODE_TRUNCATED);
		return r->status;
	}
	/* NetFlow and IPFIX start with a 16-bit version; sFlow with a 32-bit
	 * one, so its first two bytes are zero. */
	switch (be16_get(in->data)) {
	case 5:
		r->protocol = DECODE_PROTO_NETFLOW_V5;
		netflow_v5_decode(&st->cfg, in, out, r);
		break;
	case 9:
		r->protocol = DECODE_PROTO_NETFLOW_V9;
		netflow_v9_decode(st->templates, &st->cfg, in, out, r);
		break;
	case 10:
		r->protocol = DECODE_PROTO_IPFIX;
		ipfix_decode(st->templates, &st->cfg, in, out, r);
		break;
	case 0:
		if (be32_get(in->data) == 5) {
			r->protocol = DECODE_PROTO_SFLOW_V5;
			sflow_decode(&st->cfg, in, out, r);
			break;
		}
		/* fall through */
	default:
		decode_event(r, DECODE_BAD_VERSION);
		break;
	}
	return r->status;
}
