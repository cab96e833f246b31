// SPDX-License-Identifier: AGPL-3.0-or-later
/* libFuzzer target: the Kafka bus's message readers. The first byte picks
 * the reader (raw envelope or enriched flow); a decoded envelope's payload
 * must lie inside the input, and re-packing it must give it back. */
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "common/flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t packed[BUS_MAX_DATAGRAM + BUS_ENVELOPE_OVERHEAD];
	struct bus_envelope env, again;
	struct flow f;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		bus_flow_unpack(data + 1, size - 1, &f);
		return 0;
	}
	if (bus_envelope_unpack(data + 1, size - 1, &env) < 0)
		return 0;
	if (env.len && (env.data < data + 1 || env.data + env.len > data + size))
		abort();
	int n = bus_envelope_pack(&env, packed, sizeof(packed));
	if (n < 0 || bus_envelope_unpack(packed, (size_t)n, &again) < 0)
		abort();
	if (again.len != env.len || again.time_received_ns != env.time_received_ns ||
	    again.exporter_port != env.exporter_port ||
	    memcmp(&again.exporter, &env.exporter, sizeof(env.exporter)) ||
	    (env.len && memcmp(again.data, env.data, env.len)))
		abort();
	return 0;
}
