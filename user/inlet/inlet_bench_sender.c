// SPDX-License-Identifier: AGPL-3.0-or-later
/* The sender of `weir bench inlet`: an AF_PACKET socket with a TPACKET_V2 TX
 * ring and PACKET_QDISC_BYPASS, filled once with identical prebuilt
 * Ethernet/IPv4/UDP frames. No UDP stack, no routing, no qdisc, no copy from
 * user space, one send() per batch: the sender costs little next to the
 * receive paths it feeds. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inlet_internal.h"

#define TX_FRAMES 4096 /* more than veth's 256-entry ring plus the backlog */

static struct tpacket2_hdr *frame_at(const struct inlet_bench_sender *s, uint32_t i)
{
	return (struct tpacket2_hdr *)(s->ring + (size_t)i * s->frame_size);
}

/* Looked up in the socket's network namespace. Returns the ifindex or -errno. */
static int hwaddr(int fd, const char *ifname, uint8_t mac[ETH_ALEN])
{
	struct ifreq ifr = {0};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		return -errno;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0)
		return -errno;
	return ifr.ifr_ifindex;
}

/* RFC 791 section 3.1: one's complement sum of the header's 16-bit words. */
static uint16_t ip_checksum(const void *hdr, size_t len)
{
	const uint8_t *p = hdr;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

int inlet_bench_sender_open(struct inlet_bench_sender *s, struct inlet_netpair *np, uint32_t size)
{
	/* TPACKET_V2 TX: the frame's data starts right after the aligned header. */
	const uint32_t off = TPACKET_ALIGN(sizeof(struct tpacket2_hdr));
	uint32_t len = (uint32_t)(sizeof(struct ether_header) + sizeof(struct iphdr) +
				  sizeof(struct udphdr)) +
		       size;
	struct tpacket_req req = {0};
	struct sockaddr_ll sll = {.sll_family = AF_PACKET};
	uint8_t dst[ETH_ALEN], tmpl[2048];
	struct ether_header *eth = (struct ether_header *)tmpl;
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	struct udphdr *udp = (struct udphdr *)(ip + 1);
	int ver = TPACKET_V2, one = 1, fd, r;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (off + len > sizeof(tmpl))
		return -EINVAL;
	/* The receiving end's address: else the IP layer drops the frame as
	 * PACKET_OTHERHOST (XDP would not care). */
	if (inlet_netpair_enter(np, 1) < 0)
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	r = fd < 0 ? -errno : hwaddr(fd, np->if_col, dst);
	if (fd >= 0)
		close(fd);
	inlet_netpair_leave(np);
	if (r < 0)
		return r;
	if (inlet_netpair_enter(np, 0) < 0)
		return -errno;
	/* Protocol 0: a send-only socket, nothing is queued to it on receive. */
	s->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	inlet_netpair_leave(np);
	if (s->fd < 0)
		return -errno;
	memset(tmpl, 0, sizeof(tmpl));
	sll.sll_ifindex = hwaddr(s->fd, np->if_exp, eth->ether_shost);
	if (sll.sll_ifindex < 0) {
		errno = -sll.sll_ifindex;
		goto fail;
	}
	memcpy(eth->ether_dhost, dst, ETH_ALEN);
	eth->ether_type = htons(ETHERTYPE_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons((uint16_t)(len - sizeof(*eth)));
	inet_pton(AF_INET, "192.0.2.1", &ip->saddr);
	inet_pton(AF_INET, "192.0.2.2", &ip->daddr);
	ip->check = ip_checksum(ip, sizeof(*ip));
	udp->source = htons(40000);
	udp->dest = htons(2055);
	udp->len = htons((uint16_t)(sizeof(*udp) + size));
	udp->check = 0; /* RFC 768: no checksum, allowed over IPv4 */
	memset(udp + 1, 0x5a, size);

	for (s->frame_size = TPACKET_ALIGNMENT; s->frame_size < off + len; s->frame_size <<= 1)
		;
	req.tp_block_size = (unsigned)getpagesize();
	if (s->frame_size > req.tp_block_size)
		req.tp_block_size = s->frame_size;
	req.tp_frame_size = s->frame_size;
	req.tp_frame_nr = TX_FRAMES;
	req.tp_block_nr = TX_FRAMES / (req.tp_block_size / s->frame_size);
	if (setsockopt(s->fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof(ver)) < 0 ||
	    setsockopt(s->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0 ||
	    setsockopt(s->fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)) < 0 ||
	    bind(s->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		goto fail;
	s->frames = req.tp_frame_nr;
	s->ring_size = (size_t)req.tp_block_size * req.tp_block_nr;
	s->ring = mmap(NULL, s->ring_size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	if (s->ring == MAP_FAILED) {
		s->ring = NULL;
		goto fail;
	}
	/* Frames are written once: the kernel sends them from the ring's pages,
	 * and they never change, so reusing one still in flight is harmless. */
	for (uint32_t i = 0; i < s->frames; i++) {
		struct tpacket2_hdr *h = frame_at(s, i);

		memcpy((uint8_t *)h + off, tmpl, len);
		h->tp_len = len;
	}
	return 0;
fail:
	r = -errno;
	inlet_bench_sender_close(s);
	return r;
}

long inlet_bench_sender_send(struct inlet_bench_sender *s, uint32_t n)
{
	uint32_t q = 0;

	while (q < n) {
		struct tpacket2_hdr *h = frame_at(s, s->next);

		/* Still in flight: the kernel gives it back when the skb is freed. */
		if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE)
			break;
		__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
		s->next = s->next + 1 == s->frames ? 0 : s->next + 1;
		q++;
	}
	/* MSG_DONTWAIT: do not wait for the skbs to be freed (that would pace
	 * the sender by the receiver and hide loss). */
	if (send(s->fd, NULL, 0, MSG_DONTWAIT) < 0 && errno != EAGAIN && errno != ENOBUFS &&
	    errno != EINTR)
		return -errno;
	return q;
}

void inlet_bench_sender_close(struct inlet_bench_sender *s)
{
	if (s->ring)
		munmap(s->ring, s->ring_size);
	if (s->fd >= 0)
		close(s->fd);
	s->ring = NULL;
	s->fd = -1;
}
