// SPDX-License-Identifier: AGPL-3.0-or-later
/* Sends flows encoded by the project's encoder over UDP, for the end-to-end
 * tests and the benchmark.
 *
 *   flowgen stream -t HOST:PORT [-f v5|v9|ipfix|sflow] [-n FLOWS] [-r FLOWS/S]
 *                  [-s FIRST_SEQ] [-b SRC_ADDR] [-e]
 *     Flow number `seq` has SrcAddr 10.0.0.0 + (seq >> 16) and SrcPort
 *     seq & 0xffff: (SrcAddr, SrcPort) is unique per flow, so a test counts
 *     missing and duplicate rows in ClickHouse. Prints at the end:
 *     "sent flows=N datagrams=D bytes=B packets=P". -e: TimeReceived-ish
 *     export time in the past hour, spread (so several minutes are filled).
 *
 *   flowgen exact -t HOST:PORT -b SRC_ADDR -f FORMAT
 *     Sends 3 fixed flows, prints the rows expected in `flows` as TSV:
 *     ExporterAddress SrcAddr DstAddr NextHop SrcAS DstAS InIf OutIf SrcPort
 *     DstPort Proto Bytes Packets SamplingRate SrcNetMask DstNetMask TCPFlags
 *     IPTos (addresses as IPv6NumToString prints them). For sFlow, Bytes and
 *     Packets are "-": a flow sample stands for one sampled packet.
 *
 *   flowgen ifaces -t HOST:PORT -b SRC_ADDR
 *     Sends one IPFIX message as `weir probe` exports it (its writer, with
 *     its templates) naming the interfaces of the exact flows: ifIndex N
 *     (3-5 and 30-32) is "if-N", described "ix: peer N", 10 Gbps. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/clock.h"
#include "demo/demo.h"
#include "probe/probe_internal.h"

static int usage(void)
{
	fprintf(stderr, "usage: flowgen stream|exact|ifaces -t HOST:PORT [-f v5|v9|ipfix|sflow] "
			"[-n FLOWS] [-r FLOWS/S] [-s FIRST_SEQ] [-b SRC_ADDR] [-e]\n");
	return 2;
}

static int parse_hostport(const char *s, struct sockaddr_in *sin)
{
	const char *colon = strrchr(s, ':');
	char host[INET_ADDRSTRLEN];

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -EINVAL;
}

static void stream_flow(struct flow *f, uint64_t seq, uint64_t now)
{
	flow_reset(f);
	f->time_received = now;
	f->time_flow_start_ms = now * 1000 - 1000;
	f->time_flow_end_ms = now * 1000;
	f->etype = 0x0800;
	addr_from_ipv4(&f->src_addr, 0x0a000000u + (uint32_t)(seq >> 16));
	f->src_port = (uint16_t)(seq & 0xffff);
	addr_from_ipv4(&f->dst_addr, 0xc0000200u + (uint32_t)(seq % 200));
	f->dst_port = 443;
	f->proto = 6;
	f->bytes = 100 + seq % 1000;
	f->packets = 1 + seq % 7;
	f->in_if = 1 + (uint32_t)(seq % 4);
	f->out_if = 10 + (uint32_t)(seq % 3);
	f->src_as = 64500 + (uint32_t)(seq % 10);
	f->dst_as = 64511;
	f->src_net_mask = 8;
	f->dst_net_mask = 24;
	f->tcp_flags = 0x18;
}

/* The fixed flows of `exact`: values chosen so every column differs between
 * flows and from its default. */
static void exact_flow(struct flow *f, int i, uint64_t now)
{
	flow_reset(f);
	f->time_received = now;
	f->time_flow_start_ms = now * 1000 - 2000;
	f->time_flow_end_ms = now * 1000 - 1000;
	f->etype = 0x0800;
	addr_from_ipv4(&f->src_addr, 0xc6336400u + 10 + (uint32_t)i); /* 198.51.100.10+ */
	addr_from_ipv4(&f->dst_addr, 0xcb007100u + 20 + (uint32_t)i); /* 203.0.113.20+ */
	addr_from_ipv4(&f->next_hop, 0xc0000200u + 1 + (uint32_t)i);  /* 192.0.2.1+ */
	f->src_as = 64496 + (uint32_t)i;
	f->dst_as = 65000 + (uint32_t)i;
	f->in_if = 3 + (uint32_t)i;
	f->out_if = 30 + (uint32_t)i;
	f->src_port = (uint16_t)(40000 + i);
	f->dst_port = (uint16_t)(i == 2 ? 53 : 443);
	f->proto = i == 2 ? 17 : 6;
	f->bytes = 1500 * (uint64_t)(i + 1) + 7;
	f->packets = 2 + (uint64_t)i;
	f->src_net_mask = (uint8_t)(24 + i);
	f->dst_net_mask = (uint8_t)(16 + i);
	f->tcp_flags = f->proto == 6 ? (uint16_t)(0x10 | i) : 0;
	f->ip_tos = (uint8_t)(i * 8);
	f->ip_ttl = 64;
}

static void print_addr(const struct in6_addr *a)
{
	char text[ADDR_TEXT_MAX];

	addr_to_text(a, text, sizeof(text));
	printf("%s%s", addr_is_ipv4(a) ? "::ffff:" : "", text);
}

static int send_all(int fd, const struct sockaddr_in *dst, struct demo_encoder *enc,
		    const struct flow *flows, size_t n, uint64_t *datagrams)
{
	uint8_t buf[1500];
	size_t done = 0;

	while (done < n) {
		size_t len = 0;
		int k = demo_encoder_encode(enc, flows + done, n - done, buf, sizeof(buf), &len);

		if (k < 0)
			return k;
		if (len) {
			while (sendto(fd, buf, len, 0, (const struct sockaddr *)dst, sizeof(*dst)) <
			       0) {
				if (errno != ENOBUFS && errno != EAGAIN)
					return -errno;
			}
			(*datagrams)++;
		}
		done += (size_t)k;
	}
	return 0;
}

/* `flowgen ifaces`: the probe's options data naming the exact flows'
 * interfaces, in one message. */
static int send_ifaces(int fd, const struct sockaddr_in *dst)
{
	static struct ipfix_writer w;
	static const uint32_t ifindexes[] = {3, 4, 5, 30, 31, 32};
	size_t len;

	ipfix_writer_init(&w, 7, 1, 1400);
	ipfix_begin(&w, (uint32_t)time(NULL));
	if (ipfix_add_templates(&w) < 0)
		return -ENOSPC;
	for (size_t i = 0; i < sizeof(ifindexes) / sizeof(ifindexes[0]); i++) {
		struct probe_iface_info info = {.ifindex = ifindexes[i],
						.speed_bps = 10000000000ull};

		snprintf(info.name, sizeof(info.name), "if-%u", ifindexes[i]);
		snprintf(info.description, sizeof(info.description), "ix: peer %u", ifindexes[i]);
		if (ipfix_add_interface(&w, &info) < 0)
			return -ENOSPC;
	}
	len = ipfix_finish(&w);
	if (sendto(fd, w.buf, len, 0, (const struct sockaddr *)dst, sizeof(*dst)) < 0)
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	struct demo_encoder_config ec = {
	    .format = DEMO_IPFIX, .sampling_rate = 1000, .template_refresh = 50, .domain_id = 7};
	struct sockaddr_in dst, src = {.sin_family = AF_INET};
	uint64_t nflows = 1000, rate = 0, first = 0, datagrams = 0, bytes = 0, packets = 0;
	const char *target = NULL, *source = "127.0.0.1";
	int exact, ifaces, opt, fd, spread = 0, ret;
	struct demo_encoder *enc;
	struct flow flows[64];

	if (argc < 2)
		return usage();
	exact = !strcmp(argv[1], "exact");
	ifaces = !strcmp(argv[1], "ifaces");
	if (!exact && !ifaces && strcmp(argv[1], "stream"))
		return usage();
	optind = 2;
	while ((opt = getopt(argc, argv, "t:f:n:r:s:b:e")) != -1) {
		switch (opt) {
		case 't':
			target = optarg;
			break;
		case 'f':
			if (demo_format_from_name(optarg, &ec.format) < 0)
				return usage();
			break;
		case 'n':
			nflows = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			rate = strtoull(optarg, NULL, 10);
			break;
		case 's':
			first = strtoull(optarg, NULL, 10);
			break;
		case 'b':
			source = optarg;
			break;
		case 'e':
			spread = 1;
			break;
		default:
			return usage();
		}
	}
	if (!target || parse_hostport(target, &dst) < 0 ||
	    inet_pton(AF_INET, source, &src.sin_addr) != 1)
		return usage();
	addr_from_ipv4_bytes(&ec.agent, (const uint8_t *)&src.sin_addr);
	demo_encoder_new(&ec, &enc, NULL);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (!enc || fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
		perror("flowgen");
		return 1;
	}
	if (ifaces) {
		ret = send_ifaces(fd, &dst);
		if (ret < 0)
			fprintf(stderr, "flowgen: %s\n", strerror(-ret));
		demo_encoder_free(enc);
		close(fd);
		return ret < 0;
	}
	if (exact) {
		uint64_t now = (uint64_t)time(NULL);
		int sflow = ec.format == DEMO_SFLOW_V5;

		for (int i = 0; i < 3; i++)
			exact_flow(&flows[i], i, now);
		ret = send_all(fd, &dst, enc, flows, 3, &datagrams);
		if (ret < 0) {
			fprintf(stderr, "flowgen: %s\n", strerror(-ret));
			return 1;
		}
		for (int i = 0; i < 3; i++) {
			const struct flow *f = &flows[i];

			print_addr(&ec.agent);
			putchar('\t');
			print_addr(&f->src_addr);
			putchar('\t');
			print_addr(&f->dst_addr);
			putchar('\t');
			print_addr(&f->next_hop);
			/* NetFlow v5 carries 16-bit AS numbers. */
			printf("\t%u\t%u\t%u\t%u\t%u\t%u\t%u\t", f->src_as, f->dst_as, f->in_if,
			       f->out_if, f->src_port, f->dst_port, f->proto);
			/* sFlow samples one packet: its frame is not the flow's bytes. */
			if (sflow)
				printf("-\t-\t");
			else
				printf("%llu\t%llu\t", (unsigned long long)f->bytes,
				       (unsigned long long)f->packets);
			printf("%u\t%u\t%u\t%u\t%u\n", ec.sampling_rate, f->src_net_mask,
			       f->dst_net_mask, f->tcp_flags, f->ip_tos);
		}
		fprintf(stderr, "flowgen: sent flows=3 datagrams=%llu\n",
			(unsigned long long)datagrams);
		demo_encoder_free(enc);
		close(fd);
		return 0;
	}
	{
		uint64_t start = clock_mono_ns(), seq = first, end = first + nflows;
		uint64_t now = (uint64_t)time(NULL);

		while (seq < end) {
			size_t n = end - seq < 64 ? (size_t)(end - seq) : 64;

			for (size_t i = 0; i < n; i++) {
				/* -e: spread over the past hour in whole minutes. */
				uint64_t t = spread ? now - 60 * ((seq + i) % 60) : now;

				stream_flow(&flows[i], seq + i, t);
				bytes += flows[i].bytes;
				packets += flows[i].packets;
			}
			ret = send_all(fd, &dst, enc, flows, n, &datagrams);
			if (ret < 0) {
				fprintf(stderr, "flowgen: %s\n", strerror(-ret));
				return 1;
			}
			seq += n;
			/* Pace: flow number k leaves at start + k/rate. */
			clock_pace((double)start / 1e9, seq - first, (double)rate);
		}
		printf("sent flows=%llu datagrams=%llu bytes=%llu packets=%llu seconds=%.3f\n",
		       (unsigned long long)nflows, (unsigned long long)datagrams,
		       (unsigned long long)bytes, (unsigned long long)packets,
		       (double)(clock_mono_ns() - start) / 1e9);
	}
	demo_encoder_free(enc);
	close(fd);
	return 0;
}
