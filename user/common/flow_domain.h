/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The observation domain of a flow datagram, read from its header without
 * decoding it: what the single-process bus shards by, next to the exporter
 * address, so that one exporter's line cards spread over the workers while
 * each domain (and its templates) stays with one. */
#ifndef WEIR_COMMON_FLOW_DOMAIN_H
#define WEIR_COMMON_FLOW_DOMAIN_H

#include <stddef.h>
#include <stdint.h>

/* NetFlow v5: engine_type << 8 | engine_id; NetFlow v9: the source id;
 * IPFIX: the observation domain id; sFlow v5: a hash of the agent address
 * and the sub-agent id; 0 for anything else (other versions, a header cut
 * short). Pure, constant time, never reads past `len`. */
uint32_t flow_domain_peek(const uint8_t *data, size_t len);

#endif
