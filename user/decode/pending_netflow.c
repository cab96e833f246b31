// SPDX-License-Identifier: AGPL-3.0-or-later
/* Placeholders for the NetFlow/IPFIX decoders being written; this file goes when they land. */
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
