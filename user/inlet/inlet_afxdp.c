// SPDX-License-Identifier: AGPL-3.0-or-later
/* AF_XDP input: one socket (libxdp <xdp/xsk.h>) and one UMEM per receive
 * queue, fed by xdp_steer through the XSKMAP. A thread per queue takes RX
 * descriptors in batches, finds the UDP payload, copies it into the bus and
 * gives the frames straight back to the fill ring. */
#include <errno.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <pcap/dlt.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "../common/pcap_udp.h"
#include "inlet_internal.h"

#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif

static uint32_t pow2_at_least(uint64_t v, uint32_t dflt)
{
	uint32_t p = 1;

	if (!v)
		v = dflt;
	while (p < v && p < (1u << 20))
		p <<= 1;
	return p;
}

int inlet_afxdp_open(struct inlet *in, struct inlet_input *input, struct inlet_worker *w,
		     struct error *err)
{
	const struct inlet_input_config *c = &input->cfg;
	/* Defaults: 2 KiB frames hold any 1500-byte datagram; 16384 of them
	 * (32 MiB, like the UDP receive buffer) ride out a receive thread that
	 * is off its core for 16 ms at a million datagrams/s, if the RX ring
	 * holds as many: with 8192 it was full while half the frames waited in
	 * the fill ring (1984 datagrams dropped there in a 90-s run at 1M). */
	uint32_t frame_size = c->frame_size > 2048 ? 4096 : 2048;
	uint32_t fill_size = pow2_at_least(c->fill_size, 16384);
	uint32_t rx_size = pow2_at_least(c->rx_size, 16384);
	uint32_t frames = c->frames ? (uint32_t)c->frames : 16384;
	struct xsk_umem_config ucfg = {
	    .fill_size = fill_size,
	    .comp_size = 64,
	    .frame_size = frame_size,
	    .frame_headroom = 0,
	};
	struct xsk_socket_config scfg = {
	    .rx_size = rx_size,
	    .tx_size = 0,
	    .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
	    .xdp_flags = input->xdp_flags,
	    .bind_flags = XDP_USE_NEED_WAKEUP,
	};
	uint32_t idx;
	int r;

	(void)in;
	/* Every frame sits in the fill ring when idle, so it must hold them all. */
	if (frames > fill_size)
		frames = fill_size;
	if (input->xdp_flags == XDP_FLAGS_SKB_MODE)
		scfg.bind_flags |= XDP_COPY;
	w->area_size = (size_t)frames * frame_size;
	w->area =
	    mmap(NULL, w->area_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->area == MAP_FAILED) {
		w->area = NULL;
		return error_set(err, -ENOMEM, "flow: %s queue %u: UMEM of %zu bytes: %s",
				 input->ifname, w->index, w->area_size, strerror(errno));
	}
	r = xsk_umem__create(&w->umem, w->area, w->area_size, &w->fill, &w->comp, &ucfg);
	if (r < 0) {
		w->umem = NULL;
		return error_set(
		    err, r, "flow: %s queue %u: AF_XDP UMEM: %s%s", input->ifname, w->index,
		    strerror(-r),
		    r == -EPERM || r == -ENOMEM || r == -ENOBUFS
			? " (needs CAP_NET_RAW, and CAP_IPC_LOCK or a larger RLIMIT_MEMLOCK)"
			: "");
	}
	r = xsk_socket__create(&w->xsk, input->ifname, w->index, w->umem, &w->rx, NULL, &scfg);
	if (r < 0) {
		w->xsk = NULL;
		return error_set(err, r, "flow: %s queue %u: AF_XDP socket: %s%s", input->ifname,
				 w->index, strerror(-r),
				 r == -EPERM || r == -EACCES ? " (needs CAP_NET_RAW)" : "");
	}
	w->fd = xsk_socket__fd(w->xsk);
	if (c->busy_poll) {
		int one = 1, usecs = 20, budget = c->batch ? (int)c->batch : 64;

		if (setsockopt(w->fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one, sizeof(one)) < 0 ||
		    setsockopt(w->fd, SOL_SOCKET, SO_BUSY_POLL, &usecs, sizeof(usecs)) < 0 ||
		    setsockopt(w->fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof(budget)) < 0)
			log_warn("busy-poll not available", "interface=%s queue=%u error=\"%s\"",
				 input->ifname, w->index, strerror(errno));
	}
	/* Hand every frame to the kernel. */
	if (xsk_ring_prod__reserve(&w->fill, frames, &idx) != frames)
		return error_set(err, -EINVAL, "flow: %s queue %u: fill ring too small",
				 input->ifname, w->index);
	for (uint32_t i = 0; i < frames; i++)
		*xsk_ring_prod__fill_addr(&w->fill, idx + i) = (uint64_t)i * frame_size;
	xsk_ring_prod__submit(&w->fill, frames);
	r = xsk_socket__update_xskmap(w->xsk, inlet_xdp_xsk_map_fd(input));
	if (r < 0)
		return error_set(err, r, "flow: %s queue %u: XSKMAP update: %s", input->ifname,
				 w->index, strerror(-r));
	return 0;
}

void inlet_afxdp_close(struct inlet_worker *w)
{
	if (w->xsk)
		xsk_socket__delete(w->xsk);
	w->xsk = NULL;
	if (w->umem)
		xsk_umem__delete(w->umem);
	w->umem = NULL;
	if (w->area)
		munmap(w->area, w->area_size);
	w->area = NULL;
}

uint64_t inlet_afxdp_kernel_drops(struct inlet_worker *w)
{
	struct xdp_statistics st = {0};
	socklen_t len = sizeof(st);

	if (!w->xsk || getsockopt(w->fd, SOL_XDP, XDP_STATISTICS, &st, &len) < 0)
		return 0;
	/* rx_dropped: no frame for the datagram; rx_ring_full: we were too
	 * slow. Both are losses to count; fill-ring-empty is their cause. */
	return st.rx_dropped + st.rx_ring_full;
}

static inline void kick(int fd)
{
	recvfrom(fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

void *inlet_afxdp_run(void *arg)
{
	struct inlet_worker *w = arg;
	struct inlet *in = w->in;
	uint32_t batch = w->input->cfg.batch ? (uint32_t)w->input->cfg.batch : 64;
	int busy = w->input->cfg.busy_poll;
	struct pollfd pfd[2] = {{.fd = w->fd, .events = POLLIN},
				{.fd = in->stop_fd, .events = POLLIN}};
	uint64_t addrs[INLET_MAX_BATCH];
	unsigned idle = 0;

	if (batch > INLET_MAX_BATCH)
		batch = INLET_MAX_BATCH;
	while (!atomic_load_explicit(&in->stopping, memory_order_relaxed)) {
		uint64_t bytes = 0, received = 0, malformed = 0, now_ns;
		uint32_t idx, fidx, n;

		n = xsk_ring_cons__peek(&w->rx, batch, &idx);
		if (!n) {
			if (busy && ++idle < 1000) {
				kick(w->fd);
				continue;
			}
			idle = 0;
			poll(pfd, 2, busy ? 10 : 1000);
			inlet_worker_tick(w, clock_mono_ms());
			continue;
		}
		/* One clock read per batch: its datagrams arrived within microseconds. */
		now_ns = clock_real_ns();
		for (uint32_t i = 0; i < n; i++) {
			const struct xdp_desc *d = xsk_ring_cons__rx_desc(&w->rx, idx + i);
			const uint8_t *frame = xsk_umem__get_data(w->area, d->addr);
			struct pcap_udp_datagram dg;
			struct bus_envelope env;

			addrs[i] = xsk_umem__extract_addr(d->addr);
			if (pcap_udp_parse_frame(DLT_EN10MB, frame, d->len, &dg) < 0) {
				malformed++;
				continue;
			}
			env = (struct bus_envelope){
			    .time_received_ns = now_ns,
			    .exporter = dg.src,
			    .exporter_port = dg.src_port,
			    .len = (uint32_t)dg.len,
			    .data = dg.payload,
			};
			inlet_deliver(w, &env);
			received++;
			bytes += dg.len;
		}
		xsk_ring_cons__release(&w->rx, n);
		/* Frames go back at once: the bus holds its own copy. The fill ring
		 * holds every frame, so the reservation cannot fall short. */
		while (xsk_ring_prod__reserve(&w->fill, n, &fidx) != n)
			;
		for (uint32_t i = 0; i < n; i++)
			*xsk_ring_prod__fill_addr(&w->fill, fidx + i) = addrs[i];
		xsk_ring_prod__submit(&w->fill, n);
		if (xsk_ring_prod__needs_wakeup(&w->fill))
			kick(w->fd);
		atomic_fetch_add_explicit(&w->c.datagrams, received, memory_order_relaxed);
		atomic_fetch_add_explicit(&w->c.bytes, bytes, memory_order_relaxed);
		if (malformed)
			atomic_fetch_add_explicit(&w->c.malformed, malformed, memory_order_relaxed);
		inlet_worker_tick(w, clock_mono_ms());
	}
	return NULL;
}
