// SPDX-License-Identifier: AGPL-3.0-or-later
/* Placeholders for the sFlow and L2-L4 decoders being written; this file goes when they land. */
#include <stdlib.h>

#include "decode_internal.h"

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
