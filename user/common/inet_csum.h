/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The Internet checksum (RFC 1071) of IPv4 headers and UDP datagrams: the
 * one's complement sum of big-endian 16-bit words, for the frames the demo
 * and the benchmarks build. */
#ifndef WEIR_COMMON_INET_CSUM_H
#define WEIR_COMMON_INET_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* Adds the `len` bytes at `p` to `sum` as 16-bit big-endian words, an odd
 * last byte as the high byte of a word. Parts add up in any order (pseudo-
 * header, header, payload) as long as each but the last has an even
 * length; 64 KiB and more fit in the 32 bits before folding. */
static inline uint32_t inet_csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (i < len)
		sum += (uint32_t)b[i] << 8;
	return sum;
}

/* The checksum field for `sum`: folded to 16 bits and complemented, in host
 * order (write it big-endian). */
static inline uint16_t inet_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

#endif
