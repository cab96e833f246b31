// SPDX-License-Identifier: AGPL-3.0-or-later
/* NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) datagrams: headers, sets,
 * template records, and data records run through the compiled plans of
 * nf_store.c. */
#include <stddef.h>
#include <string.h>

#include "common/addr.h"
#include "common/container_of.h"
#include "nf_template.h"

/* What stays the same over one datagram. */
struct nf_ctx {
	struct template_store *ts;
	struct nf_exporter *e;
	const struct decode_config *cfg;
	const struct decode_input *in;
	struct decode_output *out;
	struct decode_result *r;
	unsigned version;
	uint32_t domain;
	uint32_t uptime; /* v9 sysUptime, ms */
	uint64_t export_ms;
	uint64_t time_received;
	/* Sampling rates of the current set, looked up once. */
	uint64_t set_rate; /* options data without sampler id */
	uint64_t cached_sampler, cached_rate;
	int cached;
	/* IPFIX sequence: data records of the datagram, and whether a set
	 * could not be counted (unknown template, truncated). */
	uint32_t records;
	int records_unknown;
};

#define NTP_UNIX_OFFSET 2208988800ull /* seconds from 1900 to 1970 */

static inline __attribute__((always_inline)) void nf_apply(uint8_t op, const uint8_t *p,
							   unsigned len, uint8_t *d, struct flow *f)
{
	uint64_t v;

	switch (op) {
	case NF_OP_U8:
		*d = p[0];
		break;
	case NF_OP_U16: {
		uint16_t x = be16_get(p);
		memcpy(d, &x, 2);
		break;
	}
	case NF_OP_U32: {
		uint32_t x = be32_get(p);
		memcpy(d, &x, 4);
		break;
	}
	case NF_OP_U64:
		v = be64_get(p);
		memcpy(d, &v, 8);
		break;
	case NF_OP_U32_64:
		v = be32_get(p);
		memcpy(d, &v, 8);
		break;
	case NF_OP_U16_32: {
		uint32_t x = be16_get(p);
		memcpy(d, &x, 4);
		break;
	}
	case NF_OP_N8:
		*d = (uint8_t)be_uint_get(p, len);
		break;
	case NF_OP_N16: {
		uint16_t x = (uint16_t)be_uint_get(p, len);
		memcpy(d, &x, 2);
		break;
	}
	case NF_OP_N32: {
		uint32_t x = (uint32_t)be_uint_get(p, len);
		memcpy(d, &x, 4);
		break;
	}
	case NF_OP_N64:
		v = be_uint_get(p, len);
		memcpy(d, &v, 8);
		break;
	case NF_OP_N16_IFZ: {
		uint16_t x;
		memcpy(&x, d, 2);
		if (!x) {
			x = (uint16_t)be_uint_get(p, len);
			memcpy(d, &x, 2);
		}
		break;
	}
	case NF_OP_ADDR4:
		/* An all-zero address is "absent" (it says nothing of the family). */
		if (be32_get(p)) {
			addr_from_ipv4_bytes((struct in6_addr *)d, p);
			f->etype = 0x0800;
		}
		break;
	case NF_OP_ADDR6: {
		uint64_t h, l;
		memcpy(&h, p, 8);
		memcpy(&l, p + 8, 8);
		if (h | l) {
			memcpy(d, p, 16);
			f->etype = 0x86dd;
		}
		break;
	}
	case NF_OP_IPV4:
		addr_from_ipv4_bytes((struct in6_addr *)d, p);
		break;
	case NF_OP_IPV6: {
		/* :: = absent: in a dual-stack template, an IPv4 flow's unused
		 * IPv6 next hop (run after the IPv4 one) must not hide it. */
		uint64_t h, l;
		memcpy(&h, p, 8);
		memcpy(&l, p + 8, 8);
		if (h | l)
			memcpy(d, p, 16);
		break;
	}
	case NF_OP_MAC:
		v = be_uint_get(p, 6);
		memcpy(d, &v, 8);
		break;
	case NF_OP_MPLS: {
		uint32_t x = (uint32_t)be_uint_get(p, 3);
		memcpy(d, &x, 4);
		break;
	}
	case NF_OP_ICMP:
		v = be_uint_get(p, len);
		be16_put(d, (uint16_t)v);
		break;
	case NF_OP_DIR:
		/* flowDirection (IE 61): 0 ingress, 1 egress. */
		v = be_uint_get(p, len);
		*d = v == 0   ? FLOW_DIRECTION_INGRESS
		     : v == 1 ? FLOW_DIRECTION_EGRESS
			      : FLOW_DIRECTION_UNDEFINED;
		break;
	case NF_OP_IPVER:
		v = be_uint_get(p, len);
		if (v == 4)
			f->etype = 0x0800;
		else if (v == 6)
			f->etype = 0x86dd;
		break;
	case NF_OP_FRAME: {
		struct nf_extra *x = container_of(d, struct nf_extra, frame);
		x->frame = p;
		x->frame_len = len;
		break;
	}
	default:
		__builtin_unreachable();
	case NF_OP_JUNIPER: {
		/* Juniper common properties: the top 6 bits are the property id;
		 * id 2 is the forwarding exception code (10 bits), not 0 when the
		 * packet was dropped. */
		uint16_t x = be16_get(p);
		if (x >> 10 == 2) {
			uint32_t st = (x & 0x3ff) ? 128 : 64;
			memcpy(d, &st, 4);
		}
		break;
	}
	}
}

/* One run of steps: one dispatch, then a loop the compiler specialises for
 * each operation. */
static inline __attribute__((always_inline)) void nf_run(const struct nf_run *run,
							 const struct nf_step *steps,
							 const uint8_t *p, struct flow *f,
							 struct nf_extra *x)
{
	const struct nf_step *s = steps + run->first, *e = s + run->count;
	uint8_t *base = run->base ? (uint8_t *)x : (uint8_t *)f;

#define NF_RUN(o)                                                                                  \
	case o:                                                                                    \
		for (; s < e; s++)                                                                 \
			nf_apply(o, p + s->src, s->len, base + s->dst, f);                         \
		break
	switch (run->op) {
		NF_RUN(NF_OP_U8);
		NF_RUN(NF_OP_U16);
		NF_RUN(NF_OP_U32);
		NF_RUN(NF_OP_U64);
		NF_RUN(NF_OP_U32_64);
		NF_RUN(NF_OP_U16_32);
		NF_RUN(NF_OP_N8);
		NF_RUN(NF_OP_N16);
		NF_RUN(NF_OP_N32);
		NF_RUN(NF_OP_N64);
		NF_RUN(NF_OP_N16_IFZ);
		NF_RUN(NF_OP_ADDR4);
		NF_RUN(NF_OP_ADDR6);
		NF_RUN(NF_OP_IPV4);
		NF_RUN(NF_OP_IPV6);
		NF_RUN(NF_OP_MAC);
		NF_RUN(NF_OP_MPLS);
		NF_RUN(NF_OP_ICMP);
		NF_RUN(NF_OP_DIR);
		NF_RUN(NF_OP_IPVER);
		NF_RUN(NF_OP_FRAME);
		NF_RUN(NF_OP_JUNIPER);
	default:
		__builtin_unreachable();
	}
#undef NF_RUN
}

static uint64_t nf_ntp_to_ms(uint64_t ntp)
{
	uint64_t sec = ntp >> 32;

	if (sec < NTP_UNIX_OFFSET)
		return 0;
	return (sec - NTP_UNIX_OFFSET) * 1000 + (((ntp & 0xffffffffu) * 1000) >> 32);
}

static uint64_t nf_rate_of_sampler(struct nf_ctx *c, uint64_t sampler)
{
	if (!c->cached || c->cached_sampler != sampler) {
		c->cached_sampler = sampler;
		c->cached_rate = nf_rate_get(c->e, c->version, c->domain, sampler);
		c->cached = 1;
	}
	return c->cached_rate;
}

static void nf_swap16(uint16_t *a, uint16_t *b)
{
	uint16_t t = *a;
	*a = *b;
	*b = t;
}

static void nf_swap32(uint32_t *a, uint32_t *b)
{
	uint32_t t = *a;
	*a = *b;
	*b = t;
}

/* RFC 5103: the reverse direction of a biflow as a flow of its own. */
static __attribute__((noinline, cold)) void nf_emit_reverse(struct nf_ctx *c,
							    const struct nf_template *t,
							    const struct flow *f,
							    const struct nf_extra *x)
{
	struct flow *g = decode_next_flow(c->out, c->r);
	struct in6_addr a;
	uint64_t m;
	uint8_t k;

	if (!g)
		return;
	memcpy(g, f, sizeof(*g));
	a = g->src_addr, g->src_addr = g->dst_addr, g->dst_addr = a;
	a = g->src_addr_nat, g->src_addr_nat = g->dst_addr_nat, g->dst_addr_nat = a;
	m = g->src_mac, g->src_mac = g->dst_mac, g->dst_mac = m;
	k = g->src_net_mask, g->src_net_mask = g->dst_net_mask, g->dst_net_mask = k;
	nf_swap16(&g->src_port, &g->dst_port);
	nf_swap16(&g->src_port_nat, &g->dst_port_nat);
	nf_swap16(&g->src_vlan, &g->dst_vlan);
	nf_swap32(&g->in_if, &g->out_if);
	nf_swap32(&g->src_as, &g->dst_as);
	g->packets = x->rev_packets;
	if (t->post & NF_POST_REV_BYTES)
		g->bytes = x->rev_bytes;
	if (t->post & NF_POST_REV_FLAGS)
		g->tcp_flags = x->rev_tcp_flags;
	decode_commit(c->out, c->r);
}

/* Everything a record needs once its fields are copied; commits it. The
 * caller zeroes `x` before the first record of a set: a fixed-length plan
 * writes the same fields of it every record, and the few conditional ones are
 * cleared here after use. */
static inline __attribute__((always_inline)) int
nf_finish(struct nf_ctx *c, const struct nf_template *t, struct flow *f, struct nf_extra *x)
{
	uint32_t post = t->post;
	uint64_t rate = 0;

	if (post & NF_POST_PHYS) {
		if (!f->in_if)
			f->in_if = x->in_phys;
		if (!f->out_if)
			f->out_if = x->out_phys;
	}
	if (post & NF_POST_TIME) {
		for (int k = 0; k < 2; k++) {
			uint64_t ms = 0;

			if (x->t_ms[k])
				ms = x->t_ms[k];
			else if (x->t_ntp[k])
				ms = nf_ntp_to_ms(x->t_ntp[k]);
			else if (x->t_sec[k])
				ms = x->t_sec[k] * 1000;
			else if (x->t_delta[k] && c->export_ms > x->t_delta[k] / 1000)
				ms = c->export_ms - x->t_delta[k] / 1000;
			else if (x->t_up[k] && c->version == 9) {
				/* RFC 3954 8: FIRST/LAST_SWITCHED are sysUptime
				 * values; the header pairs sysUptime with unix time. */
				uint32_t ago = c->uptime - x->t_up[k];
				ms = c->export_ms > ago ? c->export_ms - ago : 0;
			} else if (x->t_up[k] && x->t_init) {
				/* IPFIX: relative to systemInitTimeMilliseconds when
				 * the record has it (RFC 7011 has no uptime in the
				 * header); without it the time stays unknown. */
				ms = x->t_init + x->t_up[k];
			}
			if (k == 0)
				f->time_flow_start_ms = ms;
			else
				f->time_flow_end_ms = ms;
		}
	}
	if (post & NF_POST_MPLS) {
		/* Label = top 20 bits of each 3-byte entry; zero entries are
		 * unused positions of the stack. */
		uint8_t n = 0;
		for (int i = 0; i < 10; i++)
			if (x->mpls[i] >> 4)
				f->mpls_labels[n++] = x->mpls[i] >> 4;
		f->mpls_labels_count = n;
	}
	if (post & NF_POST_FRAME) {
		if (x->frame &&
		    l2l4_parse(x->frame, x->frame_len, L2L4_ETHERNET, c->cfg, f, c->r) == 0) {
			f->packets = 1; /* one sampled frame; Bytes = its IP length */
		} else {
			decode_event(c->r, DECODE_BAD_HEADER);
			/* Decapsulation asked for and not possible: the record
			 * says nothing about the inner traffic. */
			if (c->cfg->decap != DECODE_DECAP_NONE)
				return 0;
		}
	}
	if (__builtin_expect(f->proto == 1 || f->proto == 58, 0) && !(post & NF_POST_ICMP_IE) &&
	    f->src_port == 0) {
		/* No ICMP element: Cisco's NetFlow v5 habit of type << 8 | code
		 * in the destination port lives on in v9 and IPFIX. */
		uint8_t type = (uint8_t)(f->dst_port >> 8), code = (uint8_t)f->dst_port;
		if (f->proto == 1) {
			if (!f->icmpv4_type && !f->icmpv4_code)
				f->icmpv4_type = type, f->icmpv4_code = code;
		} else if (!f->icmpv6_type && !f->icmpv6_code) {
			f->icmpv6_type = type, f->icmpv6_code = code;
		}
	}
	if (post & NF_POST_JUNIPER && x->juniper_fwd) {
		f->forwarding_status = x->juniper_fwd;
		x->juniper_fwd = 0; /* written only by CPID 2 */
	}
	/* Sampling rate: the record (34/50), then options data by sampler id
	 * (48/302), then options data without one, then 305/306. When nothing
	 * was announced it stays 0, as in Akvorado: 0 means "unknown" and a
	 * later stage applies a configured default (or refuses the flow), it
	 * is not the same as 1 (unsampled). */
	if (post & NF_POST_RATE)
		rate = x->sampling ? x->sampling : x->sampling_random;
	if (!rate && post & NF_POST_SAMPLER)
		rate = nf_rate_of_sampler(c, x->sampler_id);
	if (!rate)
		rate = c->set_rate;
	if (!rate && post & NF_POST_RATE_PSAMP && x->pkt_interval)
		rate = (x->pkt_interval + x->pkt_space) / x->pkt_interval;
	f->sampling_rate = rate;
	return 1;
}

/* Commits a record read through nf_finish(), and its reverse direction. */
static void nf_commit(struct nf_ctx *c, const struct nf_template *t, struct flow *f,
		      struct nf_extra *x)
{
	if (!nf_finish(c, t, f, x))
		return;
	decode_commit(c->out, c->r);
	if (t->post & NF_POST_REVERSE && x->rev_packets)
		nf_emit_reverse(c, t, f, x);
}

/* Reads a field of a record with variable-length fields (RFC 7011 7): the
 * value's address and length, or NULL when it does not fit in [p, end). */
static const uint8_t *nf_field_value(const uint8_t *p, const uint8_t *end, uint16_t flen,
				     unsigned *len, const uint8_t **next)
{
	size_t n;

	if (flen != NF_VARLEN) {
		n = flen;
	} else {
		if (end - p < 1)
			return NULL;
		n = *p++;
		if (n == 255) {
			if (end - p < 2)
				return NULL;
			n = be16_get(p);
			p += 2;
		}
	}
	if ((size_t)(end - p) < n)
		return NULL;
	*len = (unsigned)n;
	*next = p + n;
	return p;
}

#define NF_PEN_WEIR		   32473 /* user/probe/ipfix_export.c */
#define NF_WEIR_IE_INTERFACE_SPEED 1

static void nf_copy_string(char *dst, size_t size, const uint8_t *v, unsigned len)
{
	size_t n = len < size - 1 ? len : size - 1;

	memcpy(dst, v, n);
	dst[n] = 0;
	dst[strnlen(dst, n)] = 0; /* (padded with NULs by some exporters) */
}

/* Options data: learns sampling rates (RFC 3954 6.2, RFC 7011 3.4.2) and
 * reports interface names (decode_output.ifaces). */
static void nf_options_set(struct nf_ctx *c, const struct nf_template *t, const uint8_t *p,
			   const uint8_t *end)
{
	while (end - p >= (ptrdiff_t)t->rec_len) {
		uint64_t rate = 0, sampler = 0, interval = 0, space = 0;
		struct decode_interface ifc;
		int has_ifindex = 0, has_if = 0;

		memset(&ifc, 0, sizeof(ifc));
		for (uint16_t i = 0; i < t->nfields; i++) {
			const struct nf_field *fd = &t->fields[i];
			unsigned len;
			const uint8_t *v = nf_field_value(p, end, fd->len, &len, &p);
			/* v9 scope fields have their own type space (RFC 3954 6.1),
			 * where 2 is Interface. */
			const int v9_scope = c->version == 9 && i < t->nscope;
			uint64_t n;

			if (!v) {
				decode_event(c->r, DECODE_TRUNCATED);
				c->records_unknown = 1;
				return;
			}
			if (!fd->pen && !v9_scope && (fd->ie == 82 || fd->ie == 83) && len) {
				if (fd->ie == 82)
					nf_copy_string(ifc.name, sizeof(ifc.name), v, len);
				else
					nf_copy_string(ifc.description, sizeof(ifc.description), v,
						       len);
				has_if = 1;
				continue;
			}
			if (len < 1 || len > 8)
				continue;
			n = be_uint_get(v, len);
			if (!fd->pen &&
			    ((!v9_scope && fd->ie == 10) || (v9_scope && fd->ie == 2))) {
				ifc.ifindex = (uint32_t)n;
				has_ifindex = 1;
			} else if (fd->pen == NF_PEN_WEIR && fd->ie == NF_WEIR_IE_INTERFACE_SPEED &&
				   n) {
				n /= 1000000;
				ifc.speed_mbps = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
				has_if = 1;
			}
			if (fd->pen || v9_scope)
				continue;
			switch (fd->ie) {
			case 34:       /* samplingInterval */
			case 50:       /* samplerRandomInterval */
				if (n) /* exporters send both, one of them 0 */
					rate = n;
				break;
			case 48:  /* samplerId */
			case 302: /* selectorId */
				sampler = n;
				break;
			case 305: /* samplingPacketInterval (RFC 5477) */
				interval = n;
				break;
			case 306: /* samplingPacketSpace */
				space = n;
				break;
			}
		}
		c->r->options_records++;
		c->records++;
		if (has_if && has_ifindex && c->out->ifaces_count < c->out->ifaces_cap)
			c->out->ifaces[c->out->ifaces_count++] = ifc;
		if (interval)
			rate = (interval + space) / interval;
		if (rate)
			nf_rate_set(c->ts, c->e, c->version, c->domain, sampler, rate, c->r);
	}
}

static void nf_data_set(struct nf_ctx *c, const struct nf_template *t, const uint8_t *p,
			const uint8_t *end)
{
	struct nf_extra x;
	struct flow *f;

	if (t->options) {
		nf_options_set(c, t, p, end);
		c->cached = 0;
		return;
	}
	c->set_rate = nf_rate_get(c->e, c->version, c->domain, 0);
	c->cached = 0;
	if (!t->variable && !(t->post & (NF_POST_REVERSE | NF_POST_FRAME))) {
		/* The fast path: fixed offsets, one compiled plan, one record
		 * out per record in. Trailing bytes shorter than a record are
		 * padding (RFC 7011 3.3.1). */
		size_t n = (size_t)(end - p) / t->rec_len, room = c->out->cap - c->out->count;
		const struct nf_run *runs = t->runs, *last = t->runs + t->nruns;

		c->records += (uint32_t)n;
		if (n > room) {
			decode_event(c->r, DECODE_FLOW_LIMIT);
			c->r->events[DECODE_FLOW_LIMIT] += (uint32_t)(n - room - 1);
			n = room;
		}
		f = c->out->flows + c->out->count;
		c->out->count += (uint32_t)n;
		c->r->flows += (uint32_t)n;
		memset(&x, 0, sizeof(x));
		for (; n; n--, p += t->rec_len, f++) {
			flow_reset(f);
			f->time_received = c->time_received;
			f->exporter_address = c->in->exporter;
			for (const struct nf_run *run = runs; run < last; run++)
				nf_run(run, t->steps, p, f, &x);
			nf_finish(c, t, f, &x);
		}
		return;
	}
	if (!t->variable) {
		/* Fixed offsets, but a record may give 0 or 2 flows. */
		size_t n = (size_t)(end - p) / t->rec_len;

		c->records += (uint32_t)n;
		memset(&x, 0, sizeof(x));
		for (; n; n--, p += t->rec_len) {
			f = decode_next_flow(c->out, c->r);
			if (!f)
				return;
			f->time_received = c->time_received;
			f->exporter_address = c->in->exporter;
			for (const struct nf_step *s = t->steps; s < t->steps + t->nsteps; s++)
				nf_apply(s->op, p + s->src, s->len,
					 (s->base ? (uint8_t *)&x : (uint8_t *)f) + s->dst, f);
			nf_commit(c, t, f, &x);
		}
		return;
	}
	/* Variable-length fields: offsets differ per record. */
	while (end - p >= (ptrdiff_t)t->rec_len) {
		f = decode_next_flow(c->out, c->r);
		if (!f) {
			c->records_unknown = 1; /* the rest is not walked */
			return;
		}
		f->time_received = c->time_received;
		f->exporter_address = c->in->exporter;
		memset(&x, 0, sizeof(x));
		for (uint16_t i = 0; i < t->nfields; i++) {
			const struct nf_field *fd = &t->fields[i];
			unsigned len;
			const uint8_t *v = nf_field_value(p, end, fd->len, &len, &p);
			uint8_t op;

			if (!v) {
				decode_event(c->r, DECODE_TRUNCATED);
				c->records_unknown = 1;
				return; /* the flow is not committed */
			}
			if (!fd->tgt.kind || !(op = nf_op_for(&fd->tgt, len)))
				continue;
			nf_apply(op, v, len,
				 (fd->tgt.base ? (uint8_t *)&x : (uint8_t *)f) + fd->tgt.dst, f);
		}
		c->records++;
		nf_commit(c, t, f, &x);
	}
}

/* Reads one field specifier (RFC 7011 3.2; v9 has no enterprise bit). */
static const uint8_t *nf_field_spec(const uint8_t *p, const uint8_t *end, unsigned version,
				    struct nf_field *fd)
{
	if (end - p < 4)
		return NULL;
	*fd = (struct nf_field){.ie = be16_get(p), .len = be16_get(p + 2)};
	p += 4;
	if (version == 10 && fd->ie & 0x8000) {
		if (end - p < 4)
			return NULL;
		fd->ie &= 0x7fff;
		fd->pen = be32_get(p);
		p += 4;
	}
	return p;
}

/* Template or options template set/flowset. Returns nothing: errors are
 * counted; a record whose end cannot be found ends the set. */
static void nf_template_set(struct nf_ctx *c, uint16_t set_id, const uint8_t *p, const uint8_t *end)
{
	struct nf_field fields[NF_MAX_FIELDS];
	const int v9 = c->version == 9;
	const int options = v9 ? set_id == 1 : set_id == 3;

	for (;;) {
		uint16_t id, count, nscope = 0;
		size_t hdr = options ? 6 : 4;

		if (end - p < 4)
			return; /* padding */
		id = be16_get(p);
		count = be16_get(p + 2);
		if (v9 && options) {
			/* RFC 3954 6.1: scope and option lengths in bytes. */
			uint16_t scope_len, opt_len;
			if (id == 0 && count == 0)
				return; /* padding */
			if (end - p < 6)
				return;
			scope_len = count;
			opt_len = be16_get(p + 4);
			if (scope_len % 4 || opt_len % 4) {
				decode_event(c->r, DECODE_BAD_TEMPLATE);
				return;
			}
			nscope = scope_len / 4;
			count = (uint16_t)(nscope + opt_len / 4);
		} else if (count == 0) {
			p += 4;
			if (v9) {
				if (id == 0)
					return;				 /* padding */
				decode_event(c->r, DECODE_BAD_TEMPLATE); /* RFC 3954 5.2 */
				continue;
			}
			/* RFC 7011 8.1: withdrawal; ID = set ID withdraws all. */
			if (id == set_id)
				nf_template_withdraw(c->ts, c->e, 10, c->domain, id, 1, options,
						     c->r);
			else if (id >= 256)
				nf_template_withdraw(c->ts, c->e, 10, c->domain, id, 0, options,
						     c->r);
			else if (id == 0)
				return; /* padding */
			else
				decode_event(c->r, DECODE_BAD_TEMPLATE);
			continue;
		} else if (options) {
			if (end - p < 6) {
				decode_event(c->r, DECODE_TRUNCATED);
				return;
			}
			nscope = be16_get(p + 4);
		}
		if (count > NF_MAX_FIELDS) {
			decode_event(c->r, DECODE_BAD_TEMPLATE);
			return;
		}
		p += hdr;
		for (uint16_t i = 0; i < count; i++) {
			p = nf_field_spec(p, end, c->version, &fields[i]);
			if (!p) {
				/* More fields than the set holds. */
				decode_event(c->r, DECODE_BAD_TEMPLATE);
				return;
			}
		}
		/* IDs below 256 are set IDs (RFC 7011 3.4.1, RFC 3954 5.2);
		 * IPFIX options templates need a scope (RFC 7011 3.4.2.2). */
		if (id < 256 || (options && !v9 && (nscope == 0 || nscope > count))) {
			decode_event(c->r, DECODE_BAD_TEMPLATE);
			continue;
		}
		nf_template_add(c->ts, c->e, c->version, c->domain, id, options, nscope, fields,
				count, c->in->time_received, c->r);
	}
}

/* Walks the sets of a datagram (RFC 7011 3.3, RFC 3954 5.3). */
static void nf_sets(struct nf_ctx *c, const uint8_t *p, const uint8_t *end)
{
	const unsigned tmpl = c->version == 9 ? 0 : 2, opts = c->version == 9 ? 1 : 3;

	while (end - p >= 4) {
		uint16_t id = be16_get(p), len = be16_get(p + 2);
		const struct nf_template *t;

		if (len < 4) {
			decode_event(c->r, DECODE_BAD_LENGTH);
			c->records_unknown = 1;
			return;
		}
		if (len > end - p) {
			decode_event(c->r, DECODE_TRUNCATED);
			c->records_unknown = 1;
			return;
		}
		if (id == tmpl || id == opts) {
			/* A replay's templates were learnt when it first came. */
			if (!c->in->replay)
				nf_template_set(c, id, p + 4, p + len);
		} else if (id >= 256) {
			t = nf_template_find(c->e, c->version, c->domain, id, c->in->time_received);
			if (t) {
				if (!t->options)
					nf_exporter_active(c->ts, c->e);
				nf_data_set(c, t, p + 4, p + len);
			} else {
				decode_event(c->r, DECODE_UNKNOWN_TEMPLATE);
				c->records_unknown = 1; /* records of unknown length */
				if (!c->r->missing.id)
					c->r->missing = (struct decode_template_key){
					    .domain = c->domain,
					    .id = id,
					    .version = (uint8_t)c->version};
			}
		} else {
			decode_event(c->r, DECODE_UNSUPPORTED); /* reserved set ID */
		}
		p += len;
	}
	/* NetFlow v9 may pad the datagram; IPFIX's length says where it ends. */
	if (p != end && c->version == 10)
		decode_event(c->r, DECODE_BAD_LENGTH);
}

void netflow_v9_decode(struct template_store *ts, const struct decode_config *cfg,
		       const struct decode_input *in, struct decode_output *out,
		       struct decode_result *r)
{
	struct nf_ctx c = {.ts = ts, .cfg = cfg, .in = in, .out = out, .r = r, .version = 9};
	const uint8_t *d = in->data;

	/* RFC 3954 5.1: version, count, sysUptime, unix secs, sequence,
	 * source id. The count is not trusted: the flowsets say. */
	if (in->len < 20) {
		decode_event(r, DECODE_TRUNCATED);
		return;
	}
	c.uptime = be32_get(d + 4);
	r->export_time = be32_get(d + 8);
	c.export_ms = r->export_time * 1000;
	c.domain = be32_get(d + 16);
	c.time_received = cfg->use_export_time ? r->export_time : in->time_received;
	/* RFC 3954 5.1: the sequence counts export packets of the source id. */
	decode_seq_header(r, DECODE_SEQ_DATAGRAMS, c.domain, be32_get(d + 12), 1);
	r->seq.has_uptime = 1;
	r->seq.uptime_ms = c.uptime;
	c.e = nf_exporter_get(ts, &in->exporter, in->time_received, r);
	if (!c.e)
		return;
	if (!in->replay)
		nf_domain_check(ts, c.e, 9, c.domain, c.uptime, be32_get(d + 12), r);
	nf_sets(&c, d + 20, d + in->len);
}

void ipfix_decode(struct template_store *ts, const struct decode_config *cfg,
		  const struct decode_input *in, struct decode_output *out, struct decode_result *r)
{
	struct nf_ctx c = {.ts = ts, .cfg = cfg, .in = in, .out = out, .r = r, .version = 10};
	const uint8_t *d = in->data;
	uint16_t len;

	/* RFC 7011 3.1: version, length, export time, sequence, domain. */
	if (in->len < 16) {
		decode_event(r, DECODE_TRUNCATED);
		return;
	}
	len = be16_get(d + 2);
	if (len < 16) {
		decode_event(r, DECODE_BAD_LENGTH);
		return;
	}
	if (len > in->len) {
		decode_event(r, DECODE_TRUNCATED);
		return;
	}
	r->export_time = be32_get(d + 4);
	c.export_ms = r->export_time * 1000;
	c.domain = be32_get(d + 12);
	c.time_received = cfg->use_export_time ? r->export_time : in->time_received;
	/* RFC 7011 3.1: the sequence counts the data records sent before this
	 * message (options data records too, template records not). */
	decode_seq_header(r, DECODE_SEQ_RECORDS, c.domain, be32_get(d + 8), 0);
	c.e = nf_exporter_get(ts, &in->exporter, in->time_received, r);
	if (!c.e) {
		r->seq.count_unknown = 1;
		return;
	}
	if (!in->replay)
		nf_domain_check(ts, c.e, 10, c.domain, 0, be32_get(d + 8), r);
	nf_sets(&c, d + 16, d + len);
	r->seq.count = c.records;
	r->seq.count_unknown = (uint8_t)c.records_unknown;
}
