// SPDX-License-Identifier: AGPL-3.0-or-later
/* Placeholders for the decoders being written; each goes when its file lands. */
#include <stdlib.h>

#include "decode_internal.h"

struct template_store {
	int unused;
};

struct template_store *template_store_new(const struct decode_config *cfg)
{
	(void)cfg;
	return calloc(1, sizeof(struct template_store));
}

void template_store_free(struct template_store *ts)
{
	free(ts);
}

void netflow_v5_decode(const struct decode_config *cfg, const struct decode_input *in,
		       struct decode_output *out, struct decode_result *r)
{
	decode_event(r, DECODE_UNSUPPORTED);
}

void netflow_v9_decode(struct template_store *ts, const struct decode_config *cfg,
		       const struct decode_input *in, struct decode_output *out,
		       struct decode_result *r)
{
	decode_event(r, DECODE_UNSUPPORTED);
}

void ipfix_decode(struct template_store *ts, const struct decode_config *cfg,
		  const struct decode_input *in, struct decode_output *out, struct decode_result *r)
{
	decode_event(r, DECODE_UNSUPPORTED);
}

void sflow_decode(const struct decode_config *cfg, const struct decode_input *in,
		  struct decode_output *out, struct decode_result *r)
{
	decode_event(r, DECODE_UNSUPPORTED);
}

int l2l4_parse(const uint8_t *data, size_t len, enum l2l4_start start,
	       const struct decode_config *cfg, struct flow *f, struct decode_result *r)
{
	return -1;
}
