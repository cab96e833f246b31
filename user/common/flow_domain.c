// SPDX-License-Identifier: AGPL-3.0-or-later
/* flow_domain_peek(): a few header fields at fixed offsets, per protocol. */
#include "flow_domain.h"

#include <string.h>

#include "addr.h"
#include "be.h"

uint32_t flow_domain_peek(const uint8_t *data, size_t len)
{
	struct in6_addr agent;
	uint32_t sub_agent;

	if (!data || len < 4)
		return 0;
	switch (be16_get(data)) {
	case 5: /* NetFlow v5 header: engine_type at 20, engine_id at 21 (24 bytes) */
		return len >= 24 ? (uint32_t)data[20] << 8 | data[21] : 0;
	case 9: /* RFC 3954 section 5.1: Source ID at 16 (20 bytes) */
		return len >= 20 ? be32_get(data + 16) : 0;
	case 10: /* RFC 7011 section 3.1: Observation Domain ID at 12 (16 bytes) */
		return len >= 16 ? be32_get(data + 12) : 0;
	case 0:
		break;
	default:
		return 0;
	}
	/* sFlow v5 (sflow_version_5.txt, sample_datagram_v5): version 5 (32
	 * bits), agent address type (1 IPv4, 2 IPv6), the address, then the
	 * sub-agent id. Agent and sub-agent together name the source. */
	if (be32_get(data) != 5 || len < 8)
		return 0;
	switch (be32_get(data + 4)) {
	case 1: /* IPv4, as an IPv4-mapped address like the exporter's */
		if (len < 16)
			return 0;
		memset(&agent, 0, sizeof(agent));
		agent.s6_addr[10] = agent.s6_addr[11] = 0xff;
		memcpy(agent.s6_addr + 12, data + 8, 4);
		sub_agent = be32_get(data + 12);
		break;
	case 2:
		if (len < 28)
			return 0;
		memcpy(agent.s6_addr, data + 8, 16);
		sub_agent = be32_get(data + 24);
		break;
	default:
		return 0;
	}
	return (uint32_t)(addr_hash64(&agent, sub_agent) >> 32);
}
