// SPDX-License-Identifier: AGPL-3.0-or-later
/* The probe's IPFIX writer (RFC 7011): a template for IPv4 flows and one
 * for IPv6 flows, an options template announcing the sampling interval and
 * one naming the interfaces, and data sets packed up to a size limit.
 * (The demo encoder's templates carry a router's fields and no interface
 * names; the probe needs other ones, so it has its own small writer.) */
#include <errno.h>
#include <string.h>

#include "probe_internal.h"

#define IPFIX_VERSION	     10
#define IPFIX_HEADER_LEN     16 /* RFC 7011 3.1 */
#define SET_HEADER_LEN	     4	/* RFC 7011 3.3.2 */
#define SET_TEMPLATE	     2
#define SET_OPTIONS_TEMPLATE 3
#define VARLEN		     0xffff /* RFC 7011 7 */
#define ENTERPRISE_BIT	     0x8000
/* No IANA element carries an interface's speed: an enterprise-specific one.
 * 32473 is the documentation PEN (RFC 5612), to be replaced by weir's own. */
#define WEIR_PEN		    32473
#define WEIR_IE_INTERFACE_SPEED	    1
#define SAMPLING_ALGO_DETERMINISTIC 1 /* samplingAlgorithm (IE 35): 1-in-N, count-based */

struct tpl_field {
	uint16_t ie, len;
};

/* The data templates: counters first (the 8-byte fields aligned). */
#define TPL_FIELDS 17
static const struct tpl_field tpl_v4[TPL_FIELDS] = {
    {1, 8},   /* octetDeltaCount */
    {2, 8},   /* packetDeltaCount */
    {152, 8}, /* flowStartMilliseconds */
    {153, 8}, /* flowEndMilliseconds */
    {8, 4},   /* sourceIPv4Address */
    {12, 4},  /* destinationIPv4Address */
    {10, 4},  /* ingressInterface */
    {14, 4},  /* egressInterface */
    {7, 2},   /* sourceTransportPort */
    {11, 2},  /* destinationTransportPort */
    {6, 2},   /* tcpControlBits (RFC 7125) */
    {58, 2},  /* vlanId */
    {32, 2},  /* icmpTypeCodeIPv4 */
    {4, 1},   /* protocolIdentifier */
    {5, 1},   /* ipClassOfService */
    {61, 1},  /* flowDirection */
    {136, 1}, /* flowEndReason */
};
static const struct tpl_field tpl_v6[TPL_FIELDS] = {
    {1, 8},  {2, 8}, {152, 8}, {153, 8}, {27, 16}, {28, 16}, {10, 4}, {14, 4},	{7, 2},
    {11, 2}, {6, 2}, {58, 2},  {139, 2}, {4, 1},   {5, 1},   {61, 1}, {136, 1},
};
#define REC_LEN_V4 62
#define REC_LEN_V6 86

/* Options templates (RFC 7011 3.4.2.2): template id, field count, scope
 * field count, then the fields, the scope first. */
static const struct tpl_field opt_sampling[] = {
    {149, 4}, /* scope: observationDomainId */
    {34, 4},  /* samplingInterval */
    {35, 1},  /* samplingAlgorithm */
    {305, 4}, /* samplingPacketInterval (RFC 5477) */
    {306, 4}, /* samplingPacketSpace */
};
#define SAMPLING_REC_LEN 17
static const struct tpl_field opt_ifaces[] = {
    {10, 4},					   /* scope: ingressInterface */
    {82, VARLEN},				   /* interfaceName */
    {83, VARLEN},				   /* interfaceDescription */
    {ENTERPRISE_BIT | WEIR_IE_INTERFACE_SPEED, 8}, /* bits per second */
};
#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* The low `len` bytes of v, big-endian (RFC 7011 6.1: network order). */
static uint8_t *put(uint8_t *p, uint64_t v, unsigned len)
{
	for (unsigned i = len; i; i--)
		*p++ = (uint8_t)(v >> (8 * (i - 1)));
	return p;
}

void ipfix_writer_init(struct ipfix_writer *w, uint32_t domain, uint32_t sampling, size_t max_len)
{
	memset(w, 0, offsetof(struct ipfix_writer, buf));
	w->domain = domain;
	w->sampling = sampling ? sampling : 1;
	w->max_len = max_len < 256		     ? 256
		     : max_len > PROBE_IPFIX_MAX_MSG ? PROBE_IPFIX_MAX_MSG
						     : max_len;
}

void ipfix_begin(struct ipfix_writer *w, uint32_t export_time)
{
	w->export_time = export_time;
	w->len = IPFIX_HEADER_LEN;
	w->set_start = 0;
	w->records = 0;
}

static void close_set(struct ipfix_writer *w)
{
	if (w->set_start)
		put(w->buf + w->set_start + 2, w->len - w->set_start, 2);
	w->set_start = 0;
}

/* Room for `need` bytes in a set of `id` (opening it when needed)? */
static int reserve(struct ipfix_writer *w, uint16_t id, size_t need)
{
	size_t extra = w->set_start && w->set_id == id ? 0 : SET_HEADER_LEN;

	if (w->len + extra + need > w->max_len)
		return -ENOSPC;
	if (extra) {
		close_set(w);
		w->set_start = w->len;
		w->set_id = id;
		put(w->buf + w->len, id, 2);
		w->len += SET_HEADER_LEN;
	}
	return 0;
}

static uint8_t *put_fields(uint8_t *p, const struct tpl_field *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		p = put(p, f[i].ie, 2);
		p = put(p, f[i].len, 2);
		if (f[i].ie & ENTERPRISE_BIT)
			p = put(p, WEIR_PEN, 4);
	}
	return p;
}

static size_t fields_len(const struct tpl_field *f, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		len += f[i].ie & ENTERPRISE_BIT ? 8 : 4;
	return len;
}

int ipfix_add_templates(struct ipfix_writer *w)
{
	size_t tpl = 2 * (4 + fields_len(tpl_v4, TPL_FIELDS));
	size_t opt = 6 + fields_len(opt_sampling, NELEMS(opt_sampling)) + 6 +
		     fields_len(opt_ifaces, NELEMS(opt_ifaces));
	uint8_t *p;

	/* All or nothing: three sets with their headers. */
	if (w->len + 3 * SET_HEADER_LEN + tpl + opt + SAMPLING_REC_LEN > w->max_len)
		return -ENOSPC;
	reserve(w, SET_TEMPLATE, tpl);
	p = w->buf + w->len;
	p = put(p, PROBE_TPL_V4, 2);
	p = put(p, TPL_FIELDS, 2);
	p = put_fields(p, tpl_v4, TPL_FIELDS);
	p = put(p, PROBE_TPL_V6, 2);
	p = put(p, TPL_FIELDS, 2);
	p = put_fields(p, tpl_v6, TPL_FIELDS);
	w->len = (size_t)(p - w->buf);

	reserve(w, SET_OPTIONS_TEMPLATE, opt);
	p = w->buf + w->len;
	p = put(p, PROBE_TPL_SAMPLING, 2);
	p = put(p, NELEMS(opt_sampling), 2);
	p = put(p, 1, 2); /* scope field count */
	p = put_fields(p, opt_sampling, NELEMS(opt_sampling));
	p = put(p, PROBE_TPL_IFACES, 2);
	p = put(p, NELEMS(opt_ifaces), 2);
	p = put(p, 1, 2);
	p = put_fields(p, opt_ifaces, NELEMS(opt_ifaces));
	w->len = (size_t)(p - w->buf);

	/* RFC 5477 6.5: 1 packet selected, then N - 1 skipped. */
	reserve(w, PROBE_TPL_SAMPLING, SAMPLING_REC_LEN);
	p = w->buf + w->len;
	p = put(p, w->domain, 4);
	p = put(p, w->sampling, 4);
	p = put(p, SAMPLING_ALGO_DETERMINISTIC, 1);
	p = put(p, 1, 4);
	p = put(p, w->sampling - 1, 4);
	w->len = (size_t)(p - w->buf);
	w->records++;
	return 0;
}

/* A variable-length string (RFC 7011 7): one length byte below 255, else 255
 * and two length bytes. */
static uint8_t *put_string(uint8_t *p, const char *s, size_t n)
{
	if (n < 255) {
		p = put(p, n, 1);
	} else {
		p = put(p, 255, 1);
		p = put(p, n, 2);
	}
	memcpy(p, s, n);
	return p + n;
}

int ipfix_add_interface(struct ipfix_writer *w, const struct probe_iface_info *i)
{
	size_t nlen = strnlen(i->name, sizeof(i->name));
	size_t dlen = strnlen(i->description, sizeof(i->description));
	size_t need = 4 + 1 + nlen + (dlen < 255 ? 1 : 3) + dlen + 8;
	uint8_t *p;

	if (reserve(w, PROBE_TPL_IFACES, need) < 0)
		return -ENOSPC;
	p = w->buf + w->len;
	p = put(p, i->ifindex, 4);
	p = put_string(p, i->name, nlen);
	p = put_string(p, i->description, dlen);
	p = put(p, i->speed_bps, 8);
	w->len = (size_t)(p - w->buf);
	w->records++;
	return 0;
}

int ipfix_add_record(struct ipfix_writer *w, const struct probe_record *r)
{
	const struct probe_flow_key *k = &r->key;
	int v6 = k->ip_version == 6;
	int icmp = k->proto == 1 || k->proto == 58;
	unsigned alen = v6 ? 16 : 4;
	uint8_t *p;

	if (reserve(w, v6 ? PROBE_TPL_V6 : PROBE_TPL_V4, v6 ? REC_LEN_V6 : REC_LEN_V4) < 0)
		return -ENOSPC;
	p = w->buf + w->len;
	p = put(p, r->bytes, 8);
	p = put(p, r->packets, 8);
	p = put(p, r->start_ms, 8);
	p = put(p, r->end_ms, 8);
	memcpy(p, k->src, alen);
	memcpy(p + alen, k->dst, alen);
	p += 2 * alen;
	p = put(p, k->direction == PROBE_INGRESS ? k->ifindex : 0, 4);
	p = put(p, k->direction == PROBE_EGRESS ? k->ifindex : 0, 4);
	p = put(p, icmp ? 0 : k->src_port, 2);
	p = put(p, icmp ? 0 : k->dst_port, 2);
	p = put(p, r->tcp_flags, 2);
	p = put(p, k->vlan, 2);
	p = put(p, icmp ? k->dst_port : 0, 2);
	p = put(p, k->proto, 1);
	p = put(p, r->tos, 1);
	p = put(p, k->direction, 1); /* 0 ingress, 1 egress (RFC 5102) */
	p = put(p, r->end_reason, 1);
	w->len = (size_t)(p - w->buf);
	w->records++;
	return 0;
}

size_t ipfix_finish(struct ipfix_writer *w)
{
	size_t len = w->len;

	if (len <= IPFIX_HEADER_LEN) {
		w->len = 0;
		return 0;
	}
	close_set(w);
	/* RFC 7011 3.1: the sequence number counts the data records sent
	 * before this message. */
	put(w->buf, IPFIX_VERSION, 2);
	put(w->buf + 2, len, 2);
	put(w->buf + 4, w->export_time, 4);
	put(w->buf + 8, w->sequence, 4);
	put(w->buf + 12, w->domain, 4);
	w->sequence += w->records;
	w->len = 0;
	return len;
}
