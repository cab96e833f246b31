// SPDX-License-Identifier: AGPL-3.0-or-later
/* The demo exporter's life cycle: a bad target is refused by _new with a
 * reason, nothing is sent before _start, flows arrive from the loopback
 * exporter addresses after it, and _stop/_free may come in any order; each
 * router sends from its own address, interface names first. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/addr.h"
#include "decode/decode.h"
#include "demo/demo_exporter.h"
#include "test.h"

TEST(bad_target_is_refused_with_a_reason)
{
	struct demo_exporter_config cfg = {.target = "127.0.0.1"};
	struct demo_exporter *e;
	struct error err = {""};

	CHECK_EQ(demo_exporter_new(&cfg, &e, &err), -EINVAL);
	CHECK(e == NULL);
	CHECK_STR(err.text, strerror(EINVAL));
	demo_exporter_stop(NULL);
	demo_exporter_free(NULL);
}

TEST(flows_arrive_only_after_start)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	struct demo_exporter_config cfg = {.flows_per_second = 100000, .max_flows = 256};
	struct demo_exporter *e;
	struct error err = {""};
	char target[32];
	uint8_t buf[1500];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct pollfd p = {.fd = fd, .events = POLLIN};

	REQUIRE(fd >= 0);
	sa.sin_port = htons(test_free_udp_port());
	REQUIRE(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	snprintf(target, sizeof(target), "127.0.0.1:%u", ntohs(sa.sin_port));
	cfg.target = target;
	cfg.sflow_port = ntohs(sa.sin_port);
	REQUIRE_EQ(demo_exporter_new(&cfg, &e, &err), 0);
	CHECK_EQ(poll(&p, 1, 200), 0); /* not started: nothing sent */
	CHECK_EQ(demo_exporter_flows_sent(e), 0);
	REQUIRE_EQ(demo_exporter_start(e, &err), 0);
	CHECK_EQ(demo_exporter_start(e, &err), 0); /* already running */
	REQUIRE_EQ(poll(&p, 1, 5000), 1);
	CHECK(recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen) > 0);
	/* One of the exporters, 127.0.0.11 to .14. */
	CHECK(ntohl(from.sin_addr.s_addr) >= 0x7f00000b &&
	      ntohl(from.sin_addr.s_addr) <= 0x7f00000e);
	/* The interface names come first, the flows a moment later. */
	for (int i = 0; i < 500 && !demo_exporter_flows_sent(e); i++)
		usleep(10000);
	demo_exporter_stop(e);
	demo_exporter_stop(e);
	CHECK(demo_exporter_flows_sent(e) > 0);
	demo_exporter_free(e);
	close(fd);
}

/* Each router sends from its own loopback address; the first datagram of a
 * NetFlow v9/IPFIX router names its interfaces (options data), so weir
 * learns the names before the first flows. */
TEST(each_router_its_own_address_names_first)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	struct demo_exporter_config cfg = {.flows_per_second = 100000, .max_flows = 2000};
	const struct demo_router *routers;
	size_t nr = demo_routers(&routers), seen = 0;
	int first_seen[8] = {0};
	struct demo_exporter *e;
	struct error err = {""};
	char target[32];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	struct decode_config dc;
	struct decode_state *st;

	REQUIRE(fd >= 0 && nr <= 8);
	sa.sin_port = htons(test_free_udp_port());
	REQUIRE(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	snprintf(target, sizeof(target), "127.0.0.1:%u", ntohs(sa.sin_port));
	cfg.target = target;
	cfg.sflow_port = ntohs(sa.sin_port);
	decode_config_init(&dc);
	REQUIRE_EQ(decode_state_new(&dc, &st, NULL), 0);
	REQUIRE_EQ(demo_exporter_new(&cfg, &e, &err), 0);
	REQUIRE_EQ(demo_exporter_start(e, &err), 0);
	while (seen < nr && poll(&p, 1, 5000) == 1) {
		uint8_t buf[1500];
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		ssize_t len = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		char addr[INET_ADDRSTRLEN];
		size_t r;

		REQUIRE(len > 0);
		inet_ntop(AF_INET, &from.sin_addr, addr, sizeof(addr));
		for (r = 0; r < nr && strcmp(routers[r].address, addr); r++)
			;
		REQUIRE(r < nr); /* from one of the routers' addresses */
		if (first_seen[r]++)
			continue;
		seen++;
		if (routers[r].format == DEMO_SFLOW_V5)
			continue;
		struct flow flows[64];
		struct decode_interface ifs[16];
		struct decode_output o = {
		    .flows = flows, .cap = 64, .ifaces = ifs, .ifaces_cap = 16};
		struct decode_input in = {.data = buf, .len = (size_t)len, .time_received = 1};
		struct decode_result res;

		addr_from_text(&in.exporter, addr);
		decode_datagram(st, &in, &o, &res);
		CHECK_EQ(o.ifaces_count, (uint32_t)routers[r].nports);
		CHECK(o.ifaces_count > 0 && !strcmp(ifs[0].name, routers[r].ports[0].ifc.name));
	}
	CHECK_EQ(seen, nr);
	demo_exporter_free(e);
	decode_state_free(st);
	close(fd);
}
