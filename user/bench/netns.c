// SPDX-License-Identifier: AGPL-3.0-or-later
/* A veth pair between two network namespaces made for `weir bench inlet`
 * and the inlet's tests: "exporter" (192.0.2.1, .11-.14, 2001:db8::1, ::11)
 * and "collector" (192.0.2.2, 2001:db8::2). _fini removes everything. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "common/addr.h"
#include "demo/demo.h"

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The `ip` commands that build the pair: 0, or -EIO when one failed. */
static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = system(cmd);
	return r == 0 ? 0 : -EIO;
}

static int open_ns(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

int bench_netpair_init(struct bench_netpair *np, const char *tag, struct error *err)
{
	static _Atomic unsigned counter;
	unsigned n = atomic_fetch_add(&counter, 1), pid = (unsigned)getpid() % 100000;
	int r;

	memset(np, 0, sizeof(*np));
	np->fd_exp = np->fd_col = np->fd_orig = -1;
	snprintf(np->ns_exp, sizeof(np->ns_exp), "weir-%s-e-%u-%u", tag, pid, n);
	snprintf(np->ns_col, sizeof(np->ns_col), "weir-%s-c-%u-%u", tag, pid, n);
	snprintf(np->if_exp, sizeof(np->if_exp), "we%ux%u", pid, n % 100);
	snprintf(np->if_col, sizeof(np->if_col), "wc%ux%u", pid, n % 100);
	/* Set first: a half-made pair (one namespace added) is removed too. */
	np->created = 1;
	r = run("ip netns add %s && ip netns add %s", np->ns_exp, np->ns_col);
	if (r < 0) {
		error_set(err, r, "netpair: cannot add namespaces %s and %s", np->ns_exp,
			  np->ns_col);
		goto fail;
	}
	r = run("ip link add %s netns %s type veth peer name %s netns %s", np->if_exp, np->ns_exp,
		np->if_col, np->ns_col);
	if (r < 0) {
		error_set(err, r, "netpair: cannot add the veth pair %s/%s", np->if_exp,
			  np->if_col);
		goto fail;
	}
	r = run(
	    "ip -n %s link set lo up && ip -n %s link set %s up && "
	    "ip -n %s addr add 192.0.2.1/24 dev %s && "
	    "ip -n %s addr add 192.0.2.11/24 dev %s && ip -n %s addr add 192.0.2.12/24 dev %s && "
	    "ip -n %s addr add 192.0.2.13/24 dev %s && ip -n %s addr add 192.0.2.14/24 dev %s && "
	    "ip -n %s addr add 2001:db8::1/64 dev %s nodad && "
	    "ip -n %s addr add 2001:db8::11/64 dev %s nodad",
	    np->ns_exp, np->ns_exp, np->if_exp, np->ns_exp, np->if_exp, np->ns_exp, np->if_exp,
	    np->ns_exp, np->if_exp, np->ns_exp, np->if_exp, np->ns_exp, np->if_exp, np->ns_exp,
	    np->if_exp, np->ns_exp, np->if_exp);
	if (r == 0)
		r = run("ip -n %s link set lo up && ip -n %s link set %s up && "
			"ip -n %s addr add 192.0.2.2/24 dev %s && "
			"ip -n %s addr add 2001:db8::2/64 dev %s nodad",
			np->ns_col, np->ns_col, np->if_col, np->ns_col, np->if_col, np->ns_col,
			np->if_col);
	if (r < 0) {
		error_set(err, r, "netpair: cannot set up the addresses of %s/%s", np->if_exp,
			  np->if_col);
		goto fail;
	}
	np->fd_exp = open_ns(np->ns_exp);
	np->fd_col = open_ns(np->ns_col);
	np->fd_orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (np->fd_exp < 0 || np->fd_col < 0 || np->fd_orig < 0) {
		r = error_set(err, -errno, "netpair: cannot open the namespaces: %s",
			      strerror(errno));
		goto fail;
	}
	return 0;
fail:
	bench_netpair_fini(np);
	return r;
}

int bench_netpair_enter(struct bench_netpair *np, int collector)
{
	return setns(collector ? np->fd_col : np->fd_exp, CLONE_NEWNET) < 0 ? -errno : 0;
}

int bench_netpair_leave(struct bench_netpair *np)
{
	return setns(np->fd_orig, CLONE_NEWNET) < 0 ? -errno : 0;
}

int bench_netpair_link(struct bench_netpair *np, int collector, uint8_t mac[6])
{
	struct ifreq ifr = {0};
	int fd, r = 0;

	if (bench_netpair_enter(np, collector) < 0)
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bench_netpair_leave(np);
	if (fd < 0)
		return -errno;
	/* The socket's namespace resolves the name. Both answers share a union. */
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", collector ? np->if_col : np->if_exp);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		r = -errno;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	if (r == 0)
		r = ioctl(fd, SIOCGIFINDEX, &ifr) < 0 ? -errno : ifr.ifr_ifindex;
	close(fd);
	return r;
}

int bench_netpair_mtu(struct bench_netpair *np, unsigned mtu)
{
	return run("ip -n %s link set dev %s mtu %u && ip -n %s link set dev %s mtu %u", np->ns_exp,
		   np->if_exp, mtu, np->ns_col, np->if_col, mtu);
}

int bench_netpair_frame(uint8_t *out, size_t cap, const uint8_t macs[12],
			const struct in6_addr *src, uint16_t sport, uint16_t dport,
			const uint8_t *payload, uint32_t len)
{
	struct in6_addr dst;
	int n;

	if (!addr_is_ipv4(src))
		return -EINVAL;
	addr_from_ipv4(&dst, 0xc0000202u); /* the collector's end, 192.0.2.2 */
	n = demo_udp_frame_build(out, cap, src, sport, &dst, dport, payload, len);
	if (n >= 0)
		memcpy(out, macs, 12);
	return n;
}

uint64_t bench_netpair_rx_dropped(struct bench_netpair *np)
{
	char cmd[512];
	unsigned long long n = 0;
	FILE *p;

	/* The JSON of iproute2: {"rx":{...,"dropped":N,...},"tx":{...}} */
	snprintf(cmd, sizeof(cmd),
		 "ip -n %s -j -s link show %s | grep -o '\"rx\":{[^}]*' | "
		 "grep -o '\"dropped\":[0-9]*' | cut -d: -f2",
		 np->ns_col, np->if_col);
	p = popen(cmd, "r");
	if (p) {
		if (fscanf(p, "%llu", &n) != 1)
			n = 0;
		pclose(p);
	}
	return n;
}

void bench_netpair_fini(struct bench_netpair *np)
{
	if (np->fd_orig >= 0) {
		bench_netpair_leave(np);
		close(np->fd_orig);
	}
	if (np->fd_exp >= 0)
		close(np->fd_exp);
	if (np->fd_col >= 0)
		close(np->fd_col);
	np->fd_exp = np->fd_col = np->fd_orig = -1;
	if (np->created) {
		/* Deleting a namespace deletes its end of the pair, and so both. */
		run("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null", np->ns_exp,
		    np->ns_col);
		np->created = 0;
	}
}
