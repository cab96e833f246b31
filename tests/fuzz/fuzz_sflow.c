// SPDX-License-Identifier: AGPL-3.0-or-later
/* libFuzzer target: sFlow v5 (the 32-bit version field is forced to 5),
 * with VXLAN decapsulation of sampled headers on.
 * Each input is one datagram fed through decode_datagram(). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t version[] = {0x00, 0x00, 0x00, 0x05};

	fuzz_datagram(data, size, version, sizeof(version), DECODE_PROTO_SFLOW_V5,
		      DECODE_DECAP_VXLAN);
	return 0;
}
