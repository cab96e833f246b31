// SPDX-License-Identifier: AGPL-3.0-or-later
/* libFuzzer target: NetFlow v9 (RFC 3954; the version field is forced to 9).
 * Templates, options templates and sampling options data learnt from earlier
 * inputs stay in the persistent state, so later inputs reach data records.
 * Each input is one datagram fed through decode_datagram(). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t version[] = {0x00, 0x09};

	fuzz_datagram(data, size, version, sizeof(version), DECODE_PROTO_NETFLOW_V9,
		      DECODE_DECAP_NONE);
	return 0;
}
