/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Big-endian (network order) integers of wire formats: reads and writes at a
 * pointer, and appends to a bounded buffer. Encoders, decoders, tests. */
#ifndef WEIR_COMMON_BE_H
#define WEIR_COMMON_BE_H

#include <stddef.h>
#include <stdint.h>

/* ---- at a pointer: the caller has checked the length ---- */

static inline uint16_t be16_get(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t be64_get(const uint8_t *p)
{
	return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}
/* An unsigned integer of `len` bytes, 1 to 8 (reduced-size encoding,
 * RFC 7011 6.2). */
static inline uint64_t be_uint_get(const uint8_t *p, unsigned len)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < len; i++)
		v = v << 8 | p[i];
	return v;
}

/* Each writer returns the byte after what it wrote, so writes chain:
 *	p = be16_put(be16_put(p, id), len); */
static inline uint8_t *be16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}
static inline uint8_t *be32_put(uint8_t *p, uint32_t v)
{
	return be16_put(be16_put(p, (uint16_t)(v >> 16)), (uint16_t)v);
}
static inline uint8_t *be64_put(uint8_t *p, uint64_t v)
{
	return be32_put(be32_put(p, (uint32_t)(v >> 32)), (uint32_t)v);
}
/* The low `len` bytes of `v` (1 to 8), most significant first. */
static inline uint8_t *be_uint_put(uint8_t *p, uint64_t v, unsigned len)
{
	for (unsigned i = 0; i < len; i++)
		p[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
	return p + len;
}

/* ---- appended to buf[0..cap), of which *len bytes are used ----
 * Each returns 0 with *len advanced, or -ENOSPC with nothing written and
 * *len unchanged when the value does not fit. */

int be_append(uint8_t *buf, size_t cap, size_t *len, const void *src, size_t n);
int be_append8(uint8_t *buf, size_t cap, size_t *len, uint8_t v);
int be_append16(uint8_t *buf, size_t cap, size_t *len, uint16_t v);
int be_append32(uint8_t *buf, size_t cap, size_t *len, uint32_t v);
int be_append64(uint8_t *buf, size_t cap, size_t *len, uint64_t v);

#endif
