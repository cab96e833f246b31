// SPDX-License-Identifier: AGPL-3.0-or-later
/* UDP datagrams out of capture files, for weir decode, tests and benches. */
#include "pcap_udp.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <string.h>

#include "addr.h"
#include "be.h"

static int parse_udp(const uint8_t *p, size_t len, struct pcap_udp_datagram *d)
{
	size_t ulen;

	if (len < 8)
		return -EINVAL;
	d->src_port = be16_get(p);
	d->dst_port = be16_get(p + 2);
	ulen = be16_get(p + 4);
	if (ulen < 8 || ulen > len)
		ulen = len; /* trust the capture when the header disagrees */
	d->payload = p + 8;
	d->len = ulen - 8;
	return 0;
}

static int parse_ipv4(const uint8_t *p, size_t len, struct pcap_udp_datagram *d)
{
	size_t ihl, total;

	if (len < 20 || (p[0] >> 4) != 4)
		return -EINVAL;
	ihl = (size_t)(p[0] & 0x0f) * 4;
	total = be16_get(p + 2);
	if (ihl < 20 || total < ihl || len < ihl)
		return -EINVAL;
	if (total < len)
		len = total;
	/* Only whole datagrams: no later fragments, no first fragment with MF. */
	if ((be16_get(p + 6) & 0x3fff) != 0 || p[9] != IPPROTO_UDP)
		return -EINVAL;
	addr_from_ipv4_bytes(&d->src, p + 12);
	addr_from_ipv4_bytes(&d->dst, p + 16);
	return parse_udp(p + ihl, len - ihl, d);
}

static int parse_ipv6(const uint8_t *p, size_t len, struct pcap_udp_datagram *d)
{
	size_t off = 40, plen;
	uint8_t next;

	if (len < 40 || (p[0] >> 4) != 6)
		return -EINVAL;
	plen = be16_get(p + 4);
	if (40 + plen < len)
		len = 40 + plen;
	memcpy(&d->src, p + 8, 16);
	memcpy(&d->dst, p + 24, 16);
	next = p[6];
	/* RFC 8200 4: hop-by-hop, routing, destination options; fragments refused. */
	while (next == 0 || next == 43 || next == 60) {
		if (off + 8 > len)
			return -EINVAL;
		next = p[off];
		off += (size_t)(p[off + 1] + 1) * 8;
	}
	if (next != IPPROTO_UDP || off > len)
		return -EINVAL;
	return parse_udp(p + off, len - off, d);
}

static int parse_ether_payload(uint16_t etype, const uint8_t *p, size_t len,
			       struct pcap_udp_datagram *d)
{
	if (etype == 0x0800)
		return parse_ipv4(p, len, d);
	if (etype == 0x86dd)
		return parse_ipv6(p, len, d);
	return -EINVAL;
}

int pcap_udp_parse_frame(int dlt, const uint8_t *frame, size_t caplen, struct pcap_udp_datagram *d)
{
	size_t off;
	uint16_t etype;

	switch (dlt) {
	case DLT_EN10MB:
		if (caplen < 14)
			return -EINVAL;
		etype = be16_get(frame + 12);
		off = 14;
		while ((etype == 0x8100 || etype == 0x88a8) && off + 4 <= caplen) {
			etype = be16_get(frame + off + 2);
			off += 4;
		}
		return off <= caplen ? parse_ether_payload(etype, frame + off, caplen - off, d)
				     : -EINVAL;
	case DLT_LINUX_SLL:
		if (caplen < 16)
			return -EINVAL;
		return parse_ether_payload(be16_get(frame + 14), frame + 16, caplen - 16, d);
	case DLT_LINUX_SLL2:
		if (caplen < 20)
			return -EINVAL;
		return parse_ether_payload(be16_get(frame), frame + 20, caplen - 20, d);
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		if (caplen < 1)
			return -EINVAL;
		return (frame[0] >> 4) == 4 ? parse_ipv4(frame, caplen, d)
					    : parse_ipv6(frame, caplen, d);
	case DLT_NULL:
		if (caplen < 5)
			return -EINVAL;
		return (frame[4] >> 4) == 4 ? parse_ipv4(frame + 4, caplen - 4, d)
					    : parse_ipv6(frame + 4, caplen - 4, d);
	default:
		return -EINVAL;
	}
}

long pcap_udp_walk(const char *path, pcap_udp_fn fn, void *ctx, unsigned long *skipped,
		   struct error *err)
{
	char perr[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *hdr;
	const u_char *frame;
	long count = 0;
	pcap_t *p;
	int dlt, r;

	p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, perr);
	if (!p)
		return error_set(err, -EINVAL, "%s: %s", path, perr);
	dlt = pcap_datalink(p);
	while ((r = pcap_next_ex(p, &hdr, &frame)) == 1) {
		struct pcap_udp_datagram d = {
		    .time_ns = (uint64_t)hdr->ts.tv_sec * 1000000000ull + (uint64_t)hdr->ts.tv_usec,
		};
		if (pcap_udp_parse_frame(dlt, frame, hdr->caplen, &d) < 0) {
			if (skipped)
				(*skipped)++;
			continue;
		}
		count++;
		if (fn(ctx, &d))
			break;
	}
	if (r == PCAP_ERROR) {
		count = error_set(err, -EIO, "%s: %s", path, pcap_geterr(p));
	}
	pcap_close(p);
	return count;
}
