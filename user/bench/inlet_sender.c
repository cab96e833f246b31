// SPDX-License-Identifier: AGPL-3.0-or-later
/* The sender of `weir bench inlet`: the kernel's XDP traffic generator
 * (BPF_PROG_TEST_RUN with live frames, a program answering XDP_TX) sends one
 * prebuilt Ethernet/IPv4/UDP frame over and over from the exporter's veth.
 * Frames reach the collector's veth as XDP frames, with no socket buffer on
 * the way, as a NIC hands its buffers to its driver: cheap enough that the
 * receive side is the bound (an AF_PACKET TX ring cost 3-5x more). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/ethernet.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench_internal.h"
#include "common/inet_csum.h"

/* 192.0.2.1:40000 -> 192.0.2.2:2055, `size` bytes of payload. The
 * destination MAC is the collector's: else IP drops it as PACKET_OTHERHOST. */
static int build_frame(struct bench_xdp_sender *s, struct bench_netpair *np, uint32_t size)
{
	struct ether_header *eth = (struct ether_header *)s->frame;
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	struct udphdr *udp = (struct udphdr *)(ip + 1);
	int r;

	s->len = (uint32_t)(sizeof(*eth) + sizeof(*ip) + sizeof(*udp)) + size;
	if (s->len + 4 > sizeof(s->frame))
		return -EINVAL;
	memset(s->frame, 0, sizeof(s->frame));
	r = bench_netpair_link(np, 1, eth->ether_dhost);
	if (r < 0)
		return r;
	s->ifindex = bench_netpair_link(np, 0, eth->ether_shost);
	if (s->ifindex < 0)
		return s->ifindex;
	eth->ether_type = htons(ETHERTYPE_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons((uint16_t)(s->len - sizeof(*eth)));
	inet_pton(AF_INET, "192.0.2.1", &ip->saddr);
	inet_pton(AF_INET, "192.0.2.2", &ip->daddr);
	ip->check = htons(inet_csum_fold(inet_csum_add(0, ip, sizeof(*ip)))); /* RFC 791 3.1 */
	udp->source = htons(40000);
	udp->dest = htons(2055);
	udp->len = htons((uint16_t)(sizeof(*udp) + size));
	udp->check = 0; /* RFC 768: no checksum, allowed over IPv4 */
	memset(udp + 1, 0x5a, size);
	return 0;
}

/* XDP_TX for the generator's frames, known by their 4 bytes of metadata;
 * XDP_PASS for the rest. In live-frames mode the kernel sends XDP_TX frames
 * out of the device named by the context's ingress_ifindex. The program is
 * also attached to that device, where real frames have no metadata and pass:
 * else each test run adds it to the XDP dispatcher and removes it again, two
 * RCU grace periods (tens of ms) per call. */
static int open_xdp(struct bench_xdp_sender *s, struct bench_netpair *np)
{
	const struct bpf_insn insns[] = {
	    {.code = BPF_LDX | BPF_MEM | BPF_W,
	     .dst_reg = BPF_REG_2,
	     .src_reg = BPF_REG_1,
	     .off = offsetof(struct xdp_md, data)},
	    {.code = BPF_LDX | BPF_MEM | BPF_W,
	     .dst_reg = BPF_REG_3,
	     .src_reg = BPF_REG_1,
	     .off = offsetof(struct xdp_md, data_meta)},
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS},
	    {.code = BPF_JMP | BPF_JGE | BPF_X,
	     .dst_reg = BPF_REG_3,
	     .src_reg = BPF_REG_2,
	     .off = 1},
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_TX},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	int r;

	s->fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "weir_bench_tx", "GPL", insns,
			      sizeof(insns) / sizeof(insns[0]), NULL);
	if (s->fd < 0)
		return s->fd;
	/* Left attached: deleting the namespaces deletes the device. */
	if (bench_netpair_enter(np, 0) < 0)
		return -errno;
	r = bpf_xdp_attach(s->ifindex, s->fd, XDP_FLAGS_DRV_MODE, NULL);
	bench_netpair_leave(np);
	if (r < 0)
		return r;
	/* The test run's input: metadata, then the frame. */
	memmove(s->frame + 4, s->frame, s->len);
	memset(s->frame, 0, 4);
	return 0;
}

int bench_xdp_sender_init(struct bench_xdp_sender *s, struct bench_netpair *np, uint32_t size)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	r = build_frame(s, np, size);
	if (r == 0)
		r = open_xdp(s, np);
	if (r < 0)
		bench_xdp_sender_fini(s);
	return r;
}

long bench_xdp_sender_send(struct bench_xdp_sender *s, uint32_t n)
{
	/* Offsets into data_in: 4 bytes of metadata, then the frame. */
	struct xdp_md ctx = {
	    .data = 4, .data_end = 4 + s->len, .ingress_ifindex = (uint32_t)s->ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = s->frame, .data_size_in = 4 + s->len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = n,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);
	int r = bpf_prog_test_run_opts(s->fd, &o);

	return r < 0 ? r : (long)n;
}

int bench_xdp_sender_set(struct bench_xdp_sender *s, const struct in6_addr *src, uint16_t sport,
			 uint16_t dport, const uint8_t *payload, uint32_t len)
{
	uint8_t frame[sizeof(s->frame) - 4];
	int n;

	/* The MAC addresses found by _init stay. */
	n = bench_netpair_frame(frame, sizeof(frame), s->frame + 4, src, sport, dport, payload,
				len);
	if (n < 0)
		return n;
	memcpy(s->frame + 4, frame, (size_t)n);
	s->len = (uint32_t)n;
	return 0;
}

void bench_xdp_sender_fini(struct bench_xdp_sender *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}
