/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Builders of hand-made frames and sFlow datagrams for the L2-L4 and sFlow
 * unit tests: big-endian appends into a fixed buffer, written from the
 * protocol specifications, independent of the decoders under test. */
#ifndef WEIR_TEST_L2L4_BUILD_H
#define WEIR_TEST_L2L4_BUILD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/be.h"
#include "common/flow.h"

struct pkt {
	uint8_t b[4096];
	size_t n;
};

/* Appends (nothing once the buffer is full); common/be.h does the bytes. */
static inline void put8(struct pkt *p, uint8_t v)
{
	be_append8(p->b, sizeof(p->b), &p->n, v);
}
static inline void put16(struct pkt *p, uint16_t v)
{
	be_append16(p->b, sizeof(p->b), &p->n, v);
}
static inline void put32(struct pkt *p, uint32_t v)
{
	be_append32(p->b, sizeof(p->b), &p->n, v);
}
static inline void putn(struct pkt *p, const void *d, size_t n)
{
	be_append(p->b, sizeof(p->b), &p->n, d, n);
}
static inline void put_mac(struct pkt *p, uint64_t mac)
{
	put16(p, mac >> 32);
	put32(p, mac);
}
/* Overwrites what was appended at `at`. */
static inline void set16(struct pkt *p, size_t at, uint16_t v)
{
	be16_put(p->b + at, v);
}
static inline void set32(struct pkt *p, size_t at, uint32_t v)
{
	be32_put(p->b + at, v);
}

/* Ethernet II without the EtherType: put it (or 802.1Q tags) next. */
static inline void put_eth(struct pkt *p, uint64_t dst, uint64_t src)
{
	put_mac(p, dst);
	put_mac(p, src);
}

/* 20-byte IPv4 header (RFC 791), v4 addresses host order. */
static inline void put_ipv4(struct pkt *p, uint32_t src, uint32_t dst, uint8_t proto, uint8_t tos,
			    uint8_t ttl, uint16_t id, uint16_t frag, uint16_t total_len)
{
	put8(p, 0x45);
	put8(p, tos);
	put16(p, total_len);
	put16(p, id);
	put16(p, frag);
	put8(p, ttl);
	put8(p, proto);
	put16(p, 0);
	put32(p, src);
	put32(p, dst);
}

/* 40-byte IPv6 header (RFC 8200 3); addresses as 16 bytes. */
static inline void put_ipv6(struct pkt *p, uint8_t tc, uint32_t flow_label, uint16_t payload_len,
			    uint8_t nh, uint8_t hlim, const uint8_t *src, const uint8_t *dst)
{
	put32(p, 6u << 28 | (uint32_t)tc << 20 | (flow_label & 0xfffff));
	put16(p, payload_len);
	put8(p, nh);
	put8(p, hlim);
	putn(p, src, 16);
	putn(p, dst, 16);
}

/* 20-byte TCP header, flags = the 8 usual flag bits. */
static inline void put_tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags)
{
	put16(p, sport);
	put16(p, dport);
	put32(p, 1000);
	put32(p, 2000);
	put8(p, 0x50);
	put8(p, flags);
	put16(p, 8192);
	put16(p, 0);
	put16(p, 0);
}

static inline void put_udp(struct pkt *p, uint16_t sport, uint16_t dport, uint16_t len)
{
	put16(p, sport);
	put16(p, dport);
	put16(p, len);
	put16(p, 0);
}

static inline void put_icmp(struct pkt *p, uint8_t type, uint8_t code)
{
	put8(p, type);
	put8(p, code);
	put16(p, 0);
	put32(p, 0x00010001);
}

/* One MPLS label stack entry (RFC 3032 2.1). */
static inline void put_mpls(struct pkt *p, uint32_t label, int bos)
{
	put32(p, label << 12 | (bos ? 0x100 : 0) | 64);
}

/* Parses text into 16 bytes (IPv4 text gives ::ffff:a.b.c.d). */
static inline struct in6_addr A(const char *text) {
	struct in6_addr a;
	memset(&a, 0, sizeof(a));
	if (addr_from_text(&a, text) != 0)
		abort();
	return a;
}

static inline int
addr_eq(const struct in6_addr *a, const char *text)
{
	struct in6_addr b = A(text);
	return memcmp(a, &b, sizeof(b)) == 0;
}

/* Copies a frame into a buffer of exactly its size, so that ASan catches a
 * read past `len`. Free with free(). */
static inline uint8_t *exact_copy(const uint8_t *d, size_t len)
{
	uint8_t *c = malloc(len ? len : 1);
	if (!c)
		abort();
	memcpy(c, d, len);
	return c;
}

#endif
