// SPDX-License-Identifier: AGPL-3.0-or-later
/* Classic pcap writer (microsecond timestamps, LINKTYPE_ETHERNET): flow
 * datagrams wrapped in Ethernet/IPv4 or IPv6/UDP frames, for tshark, `weir
 * decode` and the inlet tests. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/inet_csum.h"
#include "encode_internal.h"

#define PCAP_MAGIC_US	  0xa1b2c3d4
#define PCAP_SNAPLEN	  262144
#define LINKTYPE_ETHERNET 1
#define ETH_LEN		  14
#define IPV4_LEN	  20
#define IPV6_LEN	  40
#define UDP_LEN		  8
#define FRAME_MAX	  (ETH_LEN + IPV6_LEN + 65535)

struct demo_pcap_writer {
	FILE *f;
	int err;
	uint8_t frame[FRAME_MAX];
};

/* The pcap file format is written in the writer's byte order; readers
 * detect it from the magic number. */
static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

int demo_udp_frame_build(uint8_t *frame, size_t cap, const struct in6_addr *src, uint16_t sport,
			 const struct in6_addr *dst, uint16_t dport, const uint8_t *payload,
			 size_t len)
{
	int v4 = addr_is_ipv4(src);
	size_t ip_len = v4 ? IPV4_LEN : IPV6_LEN;
	size_t udp_total = UDP_LEN + len, total = ETH_LEN + ip_len + udp_total;
	uint8_t *p = frame, *ip, *udp;
	uint32_t sum;
	uint16_t csum;

	if (v4 != addr_is_ipv4(dst))
		return -EINVAL;
	if (udp_total > 0xffff || (v4 && ip_len + udp_total > 0xffff))
		return -EMSGSIZE;
	if (total > cap)
		return -EMSGSIZE;

	/* Ethernet: locally administered MACs (the exporter, the collector). */
	static const uint8_t macs[12] = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
	p = wr_mem(p, macs, 12);
	p = be16_put(p, v4 ? 0x0800 : 0x86dd);
	ip = p;
	if (v4) {
		p = wr8(p, 0x45);
		p = wr8(p, 0);
		p = be16_put(p, (uint16_t)(ip_len + udp_total));
		p = be16_put(p, 0);	 /* id */
		p = be16_put(p, 0x4000); /* don't fragment */
		p = wr8(p, 64);
		p = wr8(p, 17);
		p = be16_put(p, 0);
		p = wr_mem(p, &src->s6_addr[12], 4);
		p = wr_mem(p, &dst->s6_addr[12], 4);
		be16_put(ip + 10, inet_csum_fold(inet_csum_add(0, ip, IPV4_LEN)));
	} else {
		p = be32_put(p, 6u << 28);
		p = be16_put(p, (uint16_t)udp_total);
		p = wr8(p, 17);
		p = wr8(p, 64);
		p = wr_mem(p, src, 16);
		p = wr_mem(p, dst, 16);
	}
	udp = p;
	p = be16_put(p, sport);
	p = be16_put(p, dport);
	p = be16_put(p, (uint16_t)udp_total);
	p = be16_put(p, 0);
	if (len)
		memcpy(p, payload, len);

	/* UDP checksum over the pseudo-header (RFC 768, RFC 8200 8.1). */
	if (v4) {
		sum = inet_csum_add(0, &src->s6_addr[12], 4);
		sum = inet_csum_add(sum, &dst->s6_addr[12], 4);
	} else {
		sum = inet_csum_add(0, src->s6_addr, 16);
		sum = inet_csum_add(sum, dst->s6_addr, 16);
	}
	sum += 17 + (uint32_t)udp_total;
	sum = inet_csum_add(sum, udp, udp_total);
	csum = inet_csum_fold(sum);
	be16_put(udp + 6, csum ? csum : 0xffff);
	return (int)total;
}

int demo_pcap_writer_new(const char *path, struct demo_pcap_writer **out, struct error *err)
{
	struct demo_pcap_writer *w = calloc(1, sizeof(*w));
	uint8_t hdr[24];
	int r;

	*out = NULL;
	if (!w)
		return error_set(err, -ENOMEM, "%s: out of memory", path);
	w->f = fopen(path, "wb");
	if (!w->f) {
		r = -errno;
		free(w);
		return error_set(err, r, "%s: %s", path, strerror(-r));
	}
	put32(hdr, PCAP_MAGIC_US);
	put16(hdr + 4, 2); /* version 2.4 */
	put16(hdr + 6, 4);
	put32(hdr + 8, 0);  /* thiszone */
	put32(hdr + 12, 0); /* sigfigs */
	put32(hdr + 16, PCAP_SNAPLEN);
	put32(hdr + 20, LINKTYPE_ETHERNET);
	if (fwrite(hdr, sizeof(hdr), 1, w->f) != 1)
		w->err = -EIO;
	*out = w;
	return 0;
}

int demo_pcap_writer_add(struct demo_pcap_writer *w, uint64_t time_ns, const struct in6_addr *src,
			 uint16_t sport, const struct in6_addr *dst, uint16_t dport,
			 const uint8_t *payload, size_t len)
{
	uint8_t rec[16];
	int n =
	    demo_udp_frame_build(w->frame, sizeof(w->frame), src, sport, dst, dport, payload, len);

	if (n < 0)
		return n;
	put32(rec, (uint32_t)(time_ns / 1000000000));
	put32(rec + 4, (uint32_t)(time_ns % 1000000000 / 1000));
	put32(rec + 8, (uint32_t)n);
	put32(rec + 12, (uint32_t)n);
	if (fwrite(rec, sizeof(rec), 1, w->f) != 1 || fwrite(w->frame, (size_t)n, 1, w->f) != 1) {
		if (!w->err)
			w->err = -EIO;
		return -EIO;
	}
	return 0;
}

int demo_pcap_writer_close(struct demo_pcap_writer *w)
{
	int err;

	if (!w || !w->f)
		return 0;
	err = w->err;
	if (fclose(w->f) != 0 && !err)
		err = -errno;
	w->f = NULL;
	w->err = 0;
	return err;
}

void demo_pcap_writer_free(struct demo_pcap_writer *w)
{
	if (!w)
		return;
	demo_pcap_writer_close(w);
	free(w);
}
