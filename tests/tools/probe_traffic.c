// SPDX-License-Identifier: AGPL-3.0-or-later
/* Traffic of known size for the probe's tests and benchmark:
 *   probe_traffic sink PORT...                 UDP and TCP sinks ([::], dual stack)
 *   probe_traffic udp DST PORT COUNT SIZE SPORT [PPS]   one flow: COUNT datagrams
 *   probe_traffic flows DST PORT NFLOWS COUNT SIZE      NFLOWS flows (ports PORT..)
 *   probe_traffic tcp DST PORT COUNT SIZE [rst|hop]     one connection, COUNT writes,
 *       closed with FIN (both ways), or with "rst" by a RST once all is acked;
 *       "hop": the first half of the writes on CPU 0, the rest and the FIN on
 *       CPU 1 (a sending thread that moves: its packets on two CPUs)
 *   probe_traffic udpopt DST PORT COUNT SIZE SPORT TOS   one IPv4 flow, IP_TOS TOS:
 *       COUNT datagrams, every other one (the first not) with 4 bytes of IP
 *       options (NOPs: a 24-byte header), so the probe parses its packets
 *       both ways (probe.bpf.c: meter_fast() and parse())
 *   probe_traffic vlan IFACE VID SRC DST PORT COUNT SIZE SPORT
 *       COUNT IPv4/UDP frames tagged 802.1Q VID, written on IFACE by a packet
 *       socket (the tag in the frame, as no VLAN device is needed)
 * DST is IPv4 or IPv6 text. Prints what it sent: "sent N datagrams". */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int parse_addr(const char *text, unsigned port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, text, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return AF_INET6;
	}
	fprintf(stderr, "probe_traffic: bad address %s\n", text);
	exit(2);
}

static int sink(int argc, char **argv)
{
	struct pollfd fds[64];
	int listening[64], n = 0, one = 1;
	static char buf[65536];

	for (int i = 0; i < argc && n < 60; i++) {
		struct sockaddr_in6 a = {.sin6_family = AF_INET6,
					 .sin6_port = htons((uint16_t)atoi(argv[i]))};
		int u = socket(AF_INET6, SOCK_DGRAM, 0), t = socket(AF_INET6, SOCK_STREAM, 0);

		setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(u, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    bind(t, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(t, 16) < 0) {
			perror("probe_traffic: sink");
			return 1;
		}
		listening[n] = 0;
		fds[n++] = (struct pollfd){.fd = u, .events = POLLIN};
		listening[n] = 1;
		fds[n++] = (struct pollfd){.fd = t, .events = POLLIN};
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		if (poll(fds, (nfds_t)n, -1) < 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (!(fds[i].revents & POLLIN))
				continue;
			if (listening[i]) {
				int c = accept(fds[i].fd, NULL, NULL);

				if (c >= 0 && n < 64) {
					listening[n] = 0;
					fds[n++] = (struct pollfd){.fd = c, .events = POLLIN};
				} else if (c >= 0) {
					close(c);
				}
			} else if (read(fds[i].fd, buf, sizeof(buf)) == 0) {
				/* The peer closed: close too, so its FIN gets ours. */
				close(fds[i].fd);
				n--;
				fds[i] = fds[n];
				listening[i] = listening[n];
				i--;
			}
		}
	}
}

static void pace(uint64_t i, unsigned pps, const struct timespec *start)
{
	struct timespec now, due;
	uint64_t ns;

	if (!pps)
		return;
	ns = i * 1000000000ull / pps;
	due.tv_sec = start->tv_sec + (time_t)(ns / 1000000000ull);
	due.tv_nsec = start->tv_nsec + (long)(ns % 1000000000ull);
	if (due.tv_nsec >= 1000000000) {
		due.tv_sec++;
		due.tv_nsec -= 1000000000;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL);
}

/* sendto(), again while the queue is full (and while nothing listens on
 * the port yet); -1 after saying why on other errors. */
static int send_retry(int fd, const void *buf, size_t len, const struct sockaddr *to,
		      socklen_t tolen, const char *what)
{
	while (sendto(fd, buf, len, 0, to, tolen) < 0) {
		if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED) {
			fprintf(stderr, "probe_traffic: %s: sendto: %s\n", what, strerror(errno));
			return -1;
		}
		usleep(100);
	}
	return 0;
}

/* COUNT datagrams of SIZE bytes to each of NFLOWS ports from one socket
 * bound to SPORT (0: any). */
static int udp(const char *dst, unsigned port, unsigned nflows, unsigned long count, unsigned size,
	       unsigned sport, unsigned pps)
{
	struct sockaddr_storage to, from;
	socklen_t len, flen;
	static char buf[65536];
	struct timespec start;
	int fam = parse_addr(dst, port, &to, &len), fd = socket(fam, SOCK_DGRAM, 0);
	unsigned long sent = 0;

	parse_addr(fam == AF_INET ? "0.0.0.0" : "::", sport, &from, &flen);
	if (fd < 0 || bind(fd, (struct sockaddr *)&from, flen) < 0) {
		perror("probe_traffic: udp socket");
		return 1;
	}
	memset(buf, 'w', sizeof(buf));
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (unsigned f = 0; f < nflows; f++) {
		parse_addr(dst, port + f, &to, &len);
		for (unsigned long i = 0; i < count; i++) {
			pace(sent, pps, &start);
			if (send_retry(fd, buf, size, (struct sockaddr *)&to, len, "udp") < 0)
				return 1;
			sent++;
		}
	}
	printf("sent %lu datagrams\n", sent);
	return 0;
}

/* "udpopt" (see the top): one IPv4 flow from SPORT, TOS in every header,
 * IP options on the odd datagrams only. */
static int udpopt(const char *dst, unsigned port, unsigned long count, unsigned size,
		  unsigned sport, unsigned tos)
{
	static const uint8_t nops[4] = {1, 1, 1, 1}; /* RFC 791: no-operation */
	struct sockaddr_storage to, from;
	socklen_t len, flen;
	static char buf[65536];
	int fd = socket(AF_INET, SOCK_DGRAM, 0), t = (int)tos;

	if (parse_addr(dst, port, &to, &len) != AF_INET) {
		fprintf(stderr, "probe_traffic: udpopt: IPv4 only\n");
		return 2;
	}
	parse_addr("0.0.0.0", sport, &from, &flen);
	if (fd < 0 || bind(fd, (struct sockaddr *)&from, flen) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_TOS, &t, sizeof(t)) < 0) {
		perror("probe_traffic: udpopt socket");
		return 1;
	}
	memset(buf, 'o', sizeof(buf));
	for (unsigned long i = 0; i < count; i++) {
		if (setsockopt(fd, IPPROTO_IP, IP_OPTIONS, nops, i & 1 ? sizeof(nops) : 0) < 0) {
			perror("probe_traffic: udpopt: IP_OPTIONS");
			return 1;
		}
		if (send_retry(fd, buf, size, (struct sockaddr *)&to, len, "udpopt") < 0)
			return 1;
	}
	close(fd);
	printf("sent %lu datagrams\n", count);
	return 0;
}

/* Runs the calling thread on `cpu` only. */
static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		perror("probe_traffic: sched_setaffinity");
}

/* rst: 1 = close with a RST, 2 = "hop" (see the top). */
static int tcp(const char *dst, unsigned port, unsigned long count, unsigned size, int rst)
{
	struct sockaddr_storage to;
	socklen_t len;
	static char buf[65536];
	int fam = parse_addr(dst, port, &to, &len), fd = socket(fam, SOCK_STREAM, 0), one = 1;
	unsigned long total = 0;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&to, len) < 0) {
		perror("probe_traffic: connect");
		return 1;
	}
	memset(buf, 't', sizeof(buf));
	if (rst == 2)
		pin(0);
	for (unsigned long i = 0; i < count; i++) {
		ssize_t w;

		if (rst == 2 && i == count / 2)
			pin(1);
		w = write(fd, buf, size);

		if (w < 0) {
			perror("probe_traffic: write");
			return 1;
		}
		total += (unsigned long)w;
	}
	if (rst == 1) {
		/* Every byte acked first (a RST drops what is queued), then
		 * SO_LINGER 0: close() sends a RST instead of a FIN. */
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		int queued = 1;

		for (int i = 0; i < 500 && queued > 0; i++) {
			if (ioctl(fd, SIOCOUTQ, &queued) < 0)
				break;
			if (queued > 0)
				usleep(10000);
		}
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		printf("sent %lu bytes\n", total);
		return 0;
	}
	shutdown(fd, SHUT_WR);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	printf("sent %lu bytes\n", total);
	return 0;
}

/* RFC 1071 checksum of the IPv4 header. */
static uint16_t ip_csum(const uint8_t *h, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int vlan(const char *ifname, unsigned vid, const char *src, const char *dst, unsigned port,
		unsigned long count, unsigned size, unsigned sport)
{
	static uint8_t f[2048];
	struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_halen = 6};
	unsigned ip_len = 20 + 8 + size;
	uint8_t *ip = f + 18, *udp = ip + 20;
	int fd = socket(AF_PACKET, SOCK_RAW, 0);
	uint16_t c;

	ll.sll_ifindex = (int)if_nametoindex(ifname);
	if (fd < 0 || !ll.sll_ifindex || size > 1400) {
		perror("probe_traffic: vlan");
		return 1;
	}
	memset(f, 0xff, 6); /* broadcast */
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	f[12] = 0x81, f[13] = 0x00, f[14] = (uint8_t)(vid >> 8 & 0x0f), f[15] = (uint8_t)vid;
	f[16] = 0x08, f[17] = 0x00;
	ip[0] = 0x45, ip[2] = (uint8_t)(ip_len >> 8), ip[3] = (uint8_t)ip_len, ip[8] = 64,
	ip[9] = 17;
	if (inet_pton(AF_INET, src, ip + 12) != 1 || inet_pton(AF_INET, dst, ip + 16) != 1) {
		fprintf(stderr, "probe_traffic: vlan: IPv4 addresses only\n");
		return 2;
	}
	c = ip_csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	udp[0] = (uint8_t)(sport >> 8), udp[1] = (uint8_t)sport;
	udp[2] = (uint8_t)(port >> 8), udp[3] = (uint8_t)port;
	udp[4] = (uint8_t)((8 + size) >> 8), udp[5] = (uint8_t)(8 + size);
	memset(udp + 8, 'v', size);
	for (unsigned long i = 0; i < count; i++)
		if (send_retry(fd, f, 18 + ip_len, (struct sockaddr *)&ll, sizeof(ll), "vlan") < 0)
			return 1;
	close(fd);
	printf("sent %lu frames\n", count);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "sink"))
		return sink(argc - 2, argv + 2);
	if (argc >= 7 && !strcmp(argv[1], "udp"))
		return udp(argv[2], (unsigned)atoi(argv[3]), 1, strtoul(argv[4], NULL, 10),
			   (unsigned)atoi(argv[5]), (unsigned)atoi(argv[6]),
			   argc > 7 ? (unsigned)atoi(argv[7]) : 0);
	if (argc == 7 && !strcmp(argv[1], "flows"))
		return udp(argv[2], (unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]),
			   strtoul(argv[5], NULL, 10), (unsigned)atoi(argv[6]), 0, 0);
	if ((argc == 6 || (argc == 7 && (!strcmp(argv[6], "rst") || !strcmp(argv[6], "hop")))) &&
	    !strcmp(argv[1], "tcp"))
		return tcp(argv[2], (unsigned)atoi(argv[3]), strtoul(argv[4], NULL, 10),
			   (unsigned)atoi(argv[5]),
			   argc == 7 ? (strcmp(argv[6], "rst") ? 2 : 1) : 0);
	if (argc == 8 && !strcmp(argv[1], "udpopt"))
		return udpopt(argv[2], (unsigned)atoi(argv[3]), strtoul(argv[4], NULL, 10),
			      (unsigned)atoi(argv[5]), (unsigned)atoi(argv[6]),
			      (unsigned)atoi(argv[7]));
	if (argc == 10 && !strcmp(argv[1], "vlan"))
		return vlan(argv[2], (unsigned)atoi(argv[3]), argv[4], argv[5],
			    (unsigned)atoi(argv[6]), strtoul(argv[7], NULL, 10),
			    (unsigned)atoi(argv[8]), (unsigned)atoi(argv[9]));
	fprintf(stderr, "usage: see the comment at the top of tests/tools/probe_traffic.c\n");
	return 2;
}
