/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Addresses as weir stores them: 16 bytes, IPv4 mapped into IPv6. */
#ifndef WEIR_COMMON_ADDR_H
#define WEIR_COMMON_ADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define ADDR_TEXT_MAX 46 /* INET6_ADDRSTRLEN */

/* Sets `a` to ::ffff:v4 where v4 is in network byte order (4 bytes at `v4`). */
static inline void addr_from_ipv4_bytes(struct in6_addr *a, const uint8_t *v4)
{
	__builtin_memset(a, 0, 10);
	a->s6_addr[10] = 0xff;
	a->s6_addr[11] = 0xff;
	__builtin_memcpy(&a->s6_addr[12], v4, 4);
}

/* Sets `a` to ::ffff:v4 where v4 is a host-order integer. */
static inline void addr_from_ipv4(struct in6_addr *a, uint32_t v4)
{
	uint8_t b[4] = {v4 >> 24, v4 >> 16, v4 >> 8, v4};
	addr_from_ipv4_bytes(a, b);
}

static inline int addr_is_ipv4(const struct in6_addr *a)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return __builtin_memcmp(a->s6_addr, prefix, 12) == 0;
}

int addr_is_zero(const struct in6_addr *a);

/* 64 well-mixed bits of the 16 bytes of `a` and of `seed` (0 when there is
 * no second key part, e.g. an observation domain): splitmix64's finaliser,
 * so that exporters with nearby addresses spread over buckets and workers.
 * The same in every process and version: the single-process bus picks a
 * datagram's worker with addr_hash64(exporter, observation domain) % workers. */
static inline uint64_t addr_hash64(const struct in6_addr *a, uint64_t seed)
{
	uint64_t lo, hi, h;

	__builtin_memcpy(&hi, a->s6_addr, 8);
	__builtin_memcpy(&lo, a->s6_addr + 8, 8);
	h = (hi * 0x9e3779b97f4a7c15ull ^ lo) ^ seed * 0xd6e8feb86659fd93ull;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

/* Writes "a.b.c.d" for a mapped IPv4 address, else the IPv6 text form. */
void addr_to_text(const struct in6_addr *a, char *buf, size_t size);

/* Parses IPv4 or IPv6 text. Returns 0 or -EINVAL. */
int addr_from_text(struct in6_addr *a, const char *text);

/* Parses "ADDR/LEN" (or a bare address, full length). `len` is returned in
 * the 128-bit space (an IPv4 /24 gives 120). Returns 0 or -EINVAL. */
int addr_prefix_from_text(struct in6_addr *a, unsigned *len, const char *text);

/* Parses a listen string: "HOST:PORT", "[IPV6]:PORT" or ":PORT" (every
 * address, dual stack); HOST is an IP address ("0.0.0.0" becomes
 * ::ffff:0.0.0.0: every IPv4 address), PORT 1-65535. Returns 0 or -EINVAL. */
int addr_parse_listen(const char *text, struct sockaddr_in6 *sa);
/* The same with port 0 allowed: the kernel chooses one at bind (tests). */
int addr_parse_listen_any_port(const char *text, struct sockaddr_in6 *sa);

/* Writes a 48-bit MAC held in the low bits of `mac` as aa:bb:cc:dd:ee:ff. */
void mac_to_text(uint64_t mac, char *buf, size_t size);

#endif
