// SPDX-License-Identifier: AGPL-3.0-or-later
/* libFuzzer target: the L2-L4 parser shared by sFlow sampled headers and
 * IPFIX IE 315. Input: one byte choosing the start (Ethernet, IPv4, IPv6,
 * MPLS), one byte choosing the decapsulation, then the frame. */
#include <stdlib.h>

#include "decode/decode_internal.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum l2l4_start starts[] = {L2L4_ETHERNET, L2L4_IPV4, L2L4_IPV6, L2L4_MPLS};
	static const enum decode_decap decaps[] = {
	    DECODE_DECAP_NONE,	DECODE_DECAP_GRE,  DECODE_DECAP_IPIP,
	    DECODE_DECAP_VXLAN, DECODE_DECAP_SRV6,
	};
	struct decode_config cfg;
	struct decode_result r = {0};
	struct flow f;
	uint8_t *frame;
	int ret;

	if (size < 2)
		return 0;
	decode_config_init(&cfg);
	cfg.decap = decaps[data[1] % 5];
	/* An exact-size copy: ASan reports any read past the frame. */
	frame = malloc(size - 2 ? size - 2 : 1);
	FUZZ_CHECK(frame != NULL);
	memcpy(frame, data + 2, size - 2);
	flow_reset(&f);
	ret = l2l4_parse(frame, size - 2, starts[data[0] % 4], &cfg, &f, &r);
	FUZZ_CHECK(ret == 0 || ret < 0);
	fuzz_check_flow(&f);
	fuzz_write_flow(&f);
	/* The parser fills addresses only with a known EtherType. */
	if (ret == 0 && f.etype)
		FUZZ_CHECK(f.etype == 0x0800 || f.etype == 0x86dd);
	free(frame);
	return 0;
}
