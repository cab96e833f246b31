// SPDX-License-Identifier: AGPL-3.0-or-later
/* libFuzzer target: IPFIX (RFC 7011; the version field is forced to 10).
 * Templates learnt from earlier inputs stay in the persistent state (withdrawals,
 * redefinitions, limits); IE 315 frames go through the L2-L4 parser with SRv6
 * decapsulation on.
 * Each input is one datagram fed through decode_datagram(). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t version[] = {0x00, 0x0a};

	fuzz_datagram(data, size, version, sizeof(version), DECODE_PROTO_IPFIX, DECODE_DECAP_SRV6);
	return 0;
}
