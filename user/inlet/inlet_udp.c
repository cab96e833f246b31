// SPDX-License-Identifier: AGPL-3.0-or-later
/* UDP input: N sockets on one port (SO_REUSEPORT spreads exporters across
 * them), one thread each, recvmmsg batches, large receive buffers, and the
 * kernel's drop count (SO_RXQ_OVFL) read from every batch. The allowlist and
 * rate limits that XDP enforces for AF_XDP inputs are applied here. */
#include <errno.h>
#include <linux/sock_diag.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "inlet_internal.h"

/* Returns the bound socket, or -errno with `err` filled. */
static int open_socket(const struct inlet_input *input, int reuseport, struct error *err)
{
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1, zero = 0;

	if (fd < 0)
		return error_set(err, -errno, "flow: %s: socket: %s", input->name, strerror(errno));
	/* Dual stack: IPv4 exporters arrive as ::ffff:a.b.c.d. */
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
		error_set(err, -EINVAL, "flow: %s: SO_REUSEPORT: %s", input->name, strerror(errno));
		close(fd);
		return -EINVAL;
	}
	if (bind(fd, (const struct sockaddr *)&input->listen, sizeof(input->listen)) < 0) {
		int e = errno;

		close(fd);
		return error_set(err, -e, "flow: %s: cannot listen: %s%s", input->name, strerror(e),
				 e == EADDRINUSE ? " (the port is in use by another program)"
				 : e == EACCES	 ? " (ports below 1024 need CAP_NET_BIND_SERVICE)"
				 : e == EADDRNOTAVAIL ? " (no such local address)"
						      : "");
	}
	return fd;
}

/* SO_REUSEPORT would let us share the port with another collector running
 * as the same user without a word: first bind alone to see it is free. */
int inlet_udp_probe_port(const struct inlet_input *input, struct error *err)
{
	int fd = open_socket(input, 0, err);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int inlet_udp_open(struct inlet_input *input, struct inlet_worker *w, struct error *err)
{
	int one = 1,
	    size = (int)(input->cfg.receive_buffer ? input->cfg.receive_buffer : 32u << 20);
	int fd = open_socket(input, 1, err);

	if (fd < 0)
		return fd;
	/* SO_RCVBUFFORCE passes net.core.rmem_max (with CAP_NET_ADMIN). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
		log_warn("cannot set the receive buffer", "input=%s error=\"%s\"", input->name,
			 strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) < 0)
		log_warn("SO_RXQ_OVFL unavailable: kernel drops not counted", "input=%s",
			 input->name);
	w->fd = fd;
	return 0;
}

uint64_t inlet_udp_kernel_drops(struct inlet_worker *w)
{
	uint64_t seen = atomic_load_explicit(&w->c.kernel_drops, memory_order_relaxed);
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);

	/* SO_RXQ_OVFL only tells with the next datagram received; the same
	 * counter (sk_drops) is readable at any time through SO_MEMINFO. */
	if (w->fd >= 0 && getsockopt(w->fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 &&
	    len > SK_MEMINFO_DROPS * sizeof(uint32_t) && mem[SK_MEMINFO_DROPS] > seen)
		return mem[SK_MEMINFO_DROPS];
	return seen;
}

#define CMSG_BYTES CMSG_SPACE(sizeof(uint32_t))

void *inlet_udp_run(void *arg)
{
	struct inlet_worker *w = arg;
	struct inlet *in = w->in;
	unsigned batch = w->input->cfg.batch ? (unsigned)w->input->cfg.batch : 64;
	struct pollfd pfd[2] = {{.fd = w->fd, .events = POLLIN},
				{.fd = in->stop_fd, .events = POLLIN}};
	struct sockaddr_in6 *from = NULL;
	struct mmsghdr *msgs = NULL;
	struct iovec *iov = NULL;
	uint8_t *bufs = NULL;
	char *cmsgs = NULL;

	if (batch > INLET_MAX_BATCH)
		batch = INLET_MAX_BATCH;
	/* Buffers of the largest datagram: never a truncated one. Pages the
	 * kernel never writes to cost no memory. */
	msgs = calloc(batch, sizeof(*msgs));
	iov = calloc(batch, sizeof(*iov));
	from = calloc(batch, sizeof(*from));
	cmsgs = calloc(batch, CMSG_BYTES);
	bufs = malloc((size_t)batch * INLET_UDP_BUFFER);
	if (!msgs || !iov || !from || !cmsgs || !bufs) {
		log_error("out of memory for receive buffers", "input=%s", w->input->name);
		goto out;
	}
	for (unsigned i = 0; i < batch; i++) {
		iov[i].iov_base = bufs + (size_t)i * INLET_UDP_BUFFER;
		iov[i].iov_len = INLET_UDP_BUFFER;
	}
	while (!atomic_load_explicit(&in->stopping, memory_order_relaxed)) {
		uint64_t received = 0, bytes = 0, not_allowed = 0, rate = 0, now_ns;
		int n;

		for (unsigned i = 0; i < batch; i++) {
			msgs[i].msg_hdr = (struct msghdr){
			    .msg_name = &from[i],
			    .msg_namelen = sizeof(from[i]),
			    .msg_iov = &iov[i],
			    .msg_iovlen = 1,
			    .msg_control = cmsgs + (size_t)i * CMSG_BYTES,
			    .msg_controllen = CMSG_BYTES,
			};
		}
		n = recvmmsg(w->fd, msgs, batch, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				LOG_RATELIMIT(rl, 1);
				log_write_limited(&rl, LOG_LEVEL_WARN, "recvmmsg failed",
						  "input=%s error=\"%s\"", w->input->name,
						  strerror(errno));
			}
			poll(pfd, 2, 1000);
			inlet_worker_tick(w, clock_mono_ms());
			continue;
		}
		now_ns = clock_real_ns();
		pthread_rwlock_rdlock(&in->policy.lock);
		for (int i = 0; i < n; i++) {
			struct bus_envelope env = {
			    .time_received_ns = now_ns,
			    .exporter = from[i].sin6_addr,
			    .exporter_port = ntohs(from[i].sin6_port),
			    .len = msgs[i].msg_len,
			    .data = iov[i].iov_base,
			};
			int ok = inlet_policy_check(&in->policy, &env.exporter, now_ns);

			if (ok == -1) {
				not_allowed++;
				continue;
			}
			if (ok == -2) {
				rate++;
				/* Per exporter: one that passed the allowlist and
				 * sends more than its rate. */
				drop_log_note(in->drops, "rate", &env.exporter, 1, clock_mono_ms());
				continue;
			}
			inlet_deliver(w, &env);
			received++;
			bytes += env.len;
		}
		pthread_rwlock_unlock(&in->policy.lock);
		/* The last datagram's SO_RXQ_OVFL is the socket's running total. */
		for (int i = n - 1; i >= 0; i--) {
			struct cmsghdr *cm = CMSG_FIRSTHDR(&msgs[i].msg_hdr);

			if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
				uint32_t drops;

				memcpy(&drops, CMSG_DATA(cm), sizeof(drops));
				atomic_store_explicit(&w->c.kernel_drops, drops,
						      memory_order_relaxed);
				break;
			}
		}
		atomic_fetch_add_explicit(&w->c.datagrams, received, memory_order_relaxed);
		atomic_fetch_add_explicit(&w->c.bytes, bytes, memory_order_relaxed);
		if (not_allowed) {
			atomic_fetch_add_explicit(&w->c.not_allowed, not_allowed,
						  memory_order_relaxed);
			/* No exporter: junk may spoof as many as it likes. */
			drop_log_note(in->drops, "not-allowed", NULL, not_allowed, clock_mono_ms());
		}
		if (rate)
			atomic_fetch_add_explicit(&w->c.rate, rate, memory_order_relaxed);
		inlet_worker_tick(w, clock_mono_ms());
	}
out:
	free(msgs);
	free(iov);
	free(from);
	free(cmsgs);
	free(bufs);
	return NULL;
}
