// SPDX-License-Identifier: AGPL-3.0-or-later
/* The demo exporter's life cycle: a bad target is refused by _new with a
 * reason, nothing is sent before _start, flows arrive from the loopback
 * exporter addresses after it, and _stop/_free may come in any order. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
	demo_exporter_stop(e);
	demo_exporter_stop(e);
	CHECK(demo_exporter_flows_sent(e) > 0);
	demo_exporter_free(e);
	close(fd);
}
