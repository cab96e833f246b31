/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Hand-building NetFlow v5/v9 and IPFIX datagrams byte by byte for the
 * decoder tests, and decoding them with one decoder state. */
#ifndef WEIR_TEST_NF_BUILD_H
#define WEIR_TEST_NF_BUILD_H

#include <stdint.h>
#include <string.h>

#include "common/addr.h"
#include "common/be.h"
#include "decode/decode.h"
#include "test.h"

struct nb {
	uint8_t b[8192];
	size_t n;
	size_t set_at; /* offset of the open set's header */
};

/* Appends (nothing once the buffer is full); common/be.h does the bytes. */
static inline void nb_u8(struct nb *b, uint8_t v)
{
	be_append8(b->b, sizeof(b->b), &b->n, v);
}
static inline void nb_u16(struct nb *b, uint16_t v)
{
	be_append16(b->b, sizeof(b->b), &b->n, v);
}
static inline void nb_u24(struct nb *b, uint32_t v)
{
	uint8_t x[3];

	be_uint_put(x, v, 3);
	be_append(b->b, sizeof(b->b), &b->n, x, 3);
}
static inline void nb_u32(struct nb *b, uint32_t v)
{
	be_append32(b->b, sizeof(b->b), &b->n, v);
}
static inline void nb_u64(struct nb *b, uint64_t v)
{
	be_append64(b->b, sizeof(b->b), &b->n, v);
}
static inline void nb_bytes(struct nb *b, const void *p, size_t n)
{
	be_append(b->b, sizeof(b->b), &b->n, p, n);
}
static inline void nb_zero(struct nb *b, size_t n)
{
	memset(b->b + b->n, 0, n);
	b->n += n;
}
static inline void nb_ip4(struct nb *b, uint8_t a, uint8_t c, uint8_t d, uint8_t e)
{
	nb_u8(b, a), nb_u8(b, c), nb_u8(b, d), nb_u8(b, e);
}
static inline void nb_mac(struct nb *b, uint64_t mac)
{
	nb_u16(b, (uint16_t)(mac >> 32));
	nb_u32(b, (uint32_t)mac);
}
static inline void nb_ip6(struct nb *b, const char *text)
{
	struct in6_addr a;
	REQUIRE(addr_from_text(&a, text) == 0);
	nb_bytes(b, a.s6_addr, 16);
}

/* RFC 3954 5.1 header. */
static inline void nb_v9_header(struct nb *b, uint32_t uptime, uint32_t secs, uint32_t source_id)
{
	b->n = 0;
	nb_u16(b, 9);
	nb_u16(b, 0); /* count: not trusted by the decoder */
	nb_u32(b, uptime);
	nb_u32(b, secs);
	nb_u32(b, 1); /* sequence */
	nb_u32(b, source_id);
}

/* RFC 7011 3.1 header; nb_ipfix_end() writes the length. */
static inline void nb_ipfix_header(struct nb *b, uint32_t export_time, uint32_t domain)
{
	b->n = 0;
	nb_u16(b, 10);
	nb_u16(b, 0);
	nb_u32(b, export_time);
	nb_u32(b, 1);
	nb_u32(b, domain);
}
static inline void nb_ipfix_end(struct nb *b)
{
	be16_put(b->b + 2, (uint16_t)b->n);
}

static inline void nb_set_begin(struct nb *b, uint16_t id)
{
	b->set_at = b->n;
	nb_u16(b, id);
	nb_u16(b, 0);
}
static inline void nb_set_end(struct nb *b)
{
	be16_put(b->b + b->set_at + 2, (uint16_t)(b->n - b->set_at));
}

/* A field specifier; pen != 0 sets the enterprise bit (IPFIX only). */
struct nb_field {
	uint16_t ie;
	uint16_t len;
	uint32_t pen;
};

/* One template record (v9 or IPFIX) with its fields. */
static inline void nb_template(struct nb *b, uint16_t id, const struct nb_field *f, size_t n)
{
	nb_u16(b, id);
	nb_u16(b, (uint16_t)n);
	for (size_t i = 0; i < n; i++) {
		nb_u16(b, (uint16_t)(f[i].ie | (f[i].pen ? 0x8000 : 0)));
		nb_u16(b, f[i].len);
		if (f[i].pen)
			nb_u32(b, f[i].pen);
	}
}

#define NB_N(a) (sizeof(a) / sizeof((a)[0]))

/* A decoder state and an output array for a test. */
struct nd {
	struct decode_config cfg;
	struct decode_state *st;
	struct flow flows[128];
	struct decode_output out;
	struct decode_result r;
};

static inline void nd_init_cfg(struct nd *d, const struct decode_config *cfg)
{
	memset(d, 0, sizeof(*d));
	d->cfg = *cfg;
	REQUIRE_EQ(decode_state_new(&d->cfg, &d->st, NULL), 0);
}

static inline void nd_init(struct nd *d)
{
	struct decode_config cfg;
	decode_config_init(&cfg);
	nd_init_cfg(d, &cfg);
}

static inline void nd_fini(struct nd *d)
{
	decode_state_free(d->st);
}

/* Decodes b from exporter 192.0.2.<last>; the output starts empty. */
static inline enum decode_reason nd_feed_from(struct nd *d, const struct nb *b, uint8_t last)
{
	struct decode_input in = {.data = b->b, .len = b->n, .time_received = 1700000000};

	addr_from_ipv4(&in.exporter, 0xc0000200u | last);
	d->out = (struct decode_output){.flows = d->flows, .cap = NB_N(d->flows)};
	return decode_datagram(d->st, &in, &d->out, &d->r);
}

static inline enum decode_reason nd_feed(struct nd *d, const struct nb *b)
{
	return nd_feed_from(d, b, 1);
}

static inline int addr_is4(const struct in6_addr *a, uint32_t v4)
{
	struct in6_addr want;
	addr_from_ipv4(&want, v4);
	return memcmp(a, &want, sizeof(want)) == 0;
}

static inline int addr_is_text(const struct in6_addr *a, const char *text)
{
	struct in6_addr want;
	if (addr_from_text(&want, text) != 0)
		return 0;
	return memcmp(a, &want, sizeof(want)) == 0;
}

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

#endif
