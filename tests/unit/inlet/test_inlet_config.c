// SPDX-License-Identifier: AGPL-3.0-or-later
/* The `flow:` section binds into struct inlet_config with clear errors, and
 * a UDP inlet on loopback (no privileges needed) hands datagrams to the ring
 * with the policy applied. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus/bus.h"
#include "common/addr.h"
#include "inlet/inlet.h"
#include "test.h"
#include "test_weir_config.h"
#include "weir_config.h"

TEST(flow_section_binds_every_key)
{
	struct weir_config cfg;
	struct config_error err = {{0}};
	const struct inlet_input_config *in;

	int r = test_weir_config_load("flow:\n"
				      "  inputs:\n"
				      "    - type: afxdp\n"
				      "      interface: eth0\n"
				      "      queues: [0, 3]\n"
				      "      mode: generic\n"
				      "      busy-poll: true\n"
				      "      ports: [2055, 9995]\n"
				      "      frame-size: 4KiB\n"
				      "      frames: 8192\n"
				      "      rx-ring-size: 4096\n"
				      "      fill-ring-size: 8192\n"
				      "      batch: 128\n"
				      "    - listen: \"[::]:6343\"\n"
				      "      workers: 4\n"
				      "      receive-buffer: 64MiB\n"
				      "    - type: afxdp\n"
				      "      interface: eth1\n"
				      "      queues: all\n"
				      "  allowlist: [192.0.2.0/24, \"2001:db8::/32\"]\n"
				      "  rate-limit: 1000\n"
				      "  rate-burst: 200\n",
				      &cfg, &err);
	if (r)
		printf("# %s\n", err.text);
	REQUIRE_EQ(r, 0);
	REQUIRE_EQ(cfg.flow.inputs.count, 3);
	in = cfg.flow.inputs.items;
	CHECK_EQ(in[0].type, INLET_INPUT_AFXDP);
	CHECK_STR(in[0].interface, "eth0");
	CHECK_EQ(in[0].queues.count, 2);
	CHECK_EQ(in[0].queues.ids[1], 3);
	CHECK_EQ(in[0].mode, INLET_XDP_GENERIC);
	CHECK_EQ(in[0].busy_poll, 1);
	REQUIRE_EQ(in[0].ports.count, 2);
	CHECK_EQ(((uint64_t *)in[0].ports.items)[1], 9995);
	CHECK_EQ(in[0].frame_size, 4096);
	CHECK_EQ(in[0].frames, 8192);
	CHECK_EQ(in[0].rx_size, 4096);
	CHECK_EQ(in[0].fill_size, 8192);
	CHECK_EQ(in[0].batch, 128);
	CHECK_EQ(in[1].type, INLET_INPUT_UDP); /* the default */
	CHECK_STR(in[1].listen, "[::]:6343");
	CHECK_EQ(in[1].workers, 4);
	CHECK_EQ(in[1].receive_buffer, 64u << 20);
	CHECK_EQ(in[2].queues.count, 0); /* all */
	REQUIRE_EQ(cfg.flow.allowlist.count, 2);
	CHECK_STR(((char **)cfg.flow.allowlist.items)[1], "2001:db8::/32");
	CHECK_EQ(cfg.flow.rate_limit, 1000);
	CHECK_EQ(cfg.flow.rate_burst, 200);
	weir_config_free(&cfg);
}

TEST(flow_section_errors_name_line_and_key)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"flow:\n  inputs:\n    - type: afxdp\n      queues: lots\n",
	     ":4: flow.inputs[0].queues: expected all, a queue number, or a list"},
	    {"flow:\n  inputs:\n    - type: tcp\n",
	     ":3: flow.inputs[0].type: invalid value \"tcp\""},
	    {"flow:\n  inputs:\n    - mode: turbo\n", ":3: flow.inputs[0].mode: invalid value"},
	    {"flow:\n  inputs:\n    - ports: [0]\n",
	     ":3: flow.inputs[0].ports[0]: 0 is out of range"},
	    {"flow:\n  rate-limit: -1\n", ":2: flow.rate-limit: invalid value"},
	    {"flow:\n  inputs:\n    - lisen: \":2055\"\n", ":3: flow.inputs[0].lisen: unknown key"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct weir_config cfg;
		struct config_error err = {{0}};

		CHECK(test_weir_config_load(cases[i].text, &cfg, &err) < 0);
		if (!strstr(err.text, cases[i].want)) {
			printf("# case %zu: got \"%s\", want \"%s\"\n", i, err.text, cases[i].want);
			CHECK(0);
		}
		weir_config_free(&cfg);
	}
}

static void send_from(const char *src, uint16_t port, const char *text)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);

	REQUIRE(fd >= 0);
	REQUIRE(addr_from_text(&sa.sin6_addr, src) == 0);
	REQUIRE(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	sa.sin6_port = htons(port);
	REQUIRE(addr_from_text(&sa.sin6_addr, "127.0.0.1") == 0);
	REQUIRE(sendto(fd, text, strlen(text), 0, (struct sockaddr *)&sa, sizeof(sa)) ==
		(ssize_t)strlen(text));
	close(fd);
}

TEST(udp_loopback_delivers_and_applies_the_allowlist)
{
	static const char *const allow[] = {"127.0.0.2/32"};
	struct inlet_input_config ic = {.type = INLET_INPUT_UDP, .workers = 2};
	struct inlet_config cfg = {.inputs = {&ic, 1}, .allowlist = {(void *)allow, 1}};
	struct bus_producer *prod;
	struct bus_consumer *cons;
	struct bus_envelope env[4];
	struct inlet_stats st;
	struct in6_addr want;
	struct error err = {""};
	char listen[32];
	struct inlet *in, *in2;
	uint16_t port = test_free_udp_port();
	int n = 0;

	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
	ic.listen = listen;
	REQUIRE(bus_ring_new("t", 1 << 20, 0, NULL, &prod, &cons, NULL) == 0);
	if (inlet_new(&cfg, prod, NULL, &in, &err) < 0)
		printf("# %s\n", err.text);
	REQUIRE(in);
	/* The same port again: refused, naming it. */
	CHECK_EQ(inlet_new(&cfg, prod, NULL, &in2, &err), -EADDRINUSE);
	CHECK(in2 == NULL);
	CHECK(strstr(err.text, "in use") != NULL);
	REQUIRE(inlet_start(in, &err) == 0);
	send_from("127.0.0.3", port, "denied");
	send_from("127.0.0.2", port, "hello");
	for (int i = 0; i < 30 && n == 0; i++)
		n = bus_consumer_poll(cons, env, 4, 100);
	REQUIRE_EQ(n, 1);
	CHECK_EQ(env[0].len, 5);
	CHECK_MEM(env[0].data, "hello", 5);
	addr_from_text(&want, "127.0.0.2");
	CHECK_MEM(&env[0].exporter, &want, 16);
	bus_consumer_release(cons, 1);
	/* With two workers, the denied datagram may sit in the other worker's
	 * socket a little longer: wait (bounded) until both are accounted for. */
	for (int i = 0; i < 300; i++) {
		inlet_get_stats(in, &st);
		if (st.received + st.dropped_not_allowed >= 2)
			break;
		usleep(10000);
	}
	CHECK_EQ(st.received, 1);
	CHECK_EQ(st.dropped_not_allowed, 1);
	/* A bad prefix at run time changes nothing. */
	CHECK_EQ(inlet_set_policy(in, (const char *const[]){"127.0.0.0/33"}, 1, 0, 0, &err),
		 -EINVAL);
	CHECK(strstr(err.text, "127.0.0.0/33") != NULL);
	inlet_stop(in);
	inlet_free(in);
	bus_producer_free(prod);
	bus_consumer_free(cons);
}

TEST(inlet_new_rejects_bad_allowlist_and_listen)
{
	static const char *const allow[] = {"192.0.2.0/24", "bogus"};
	struct inlet_input_config ic = {.type = INLET_INPUT_UDP, .listen = "localhost"};
	struct inlet_config cfg = {.inputs = {&ic, 1}};
	struct bus_producer *prod;
	struct bus_consumer *cons;
	struct error err = {""};
	struct inlet *in;

	REQUIRE(bus_ring_new("t", 1 << 20, 0, NULL, &prod, &cons, NULL) == 0);
	CHECK_EQ(inlet_new(&cfg, prod, NULL, &in, &err), -EINVAL);
	CHECK(in == NULL);
	CHECK_STR(err.text,
		  "flow.inputs: listen \"localhost\": expected HOST:PORT, [IPV6]:PORT or :PORT");
	ic.listen = "127.0.0.1:0";
	CHECK_EQ(inlet_new(&cfg, prod, NULL, &in, &err), -EINVAL);
	ic.listen = NULL;
	ic.type = INLET_INPUT_AFXDP;
	CHECK_EQ(inlet_new(&cfg, prod, NULL, &in, &err), -EINVAL);
	CHECK(strstr(err.text, "needs `interface`") != NULL);
	ic.type = INLET_INPUT_UDP;
	{
		char listen[32];

		snprintf(listen, sizeof(listen), "127.0.0.1:%u", test_free_udp_port());
		ic.listen = listen;
		cfg.allowlist.items = (void *)allow;
		cfg.allowlist.count = 2;
		CHECK_EQ(inlet_new(&cfg, prod, NULL, &in, &err), -EINVAL);
		CHECK(in == NULL);
		CHECK_STR(err.text, "flow.allowlist[1]: \"bogus\" is not a prefix");
	}
	bus_producer_free(prod);
	bus_consumer_free(cons);
}
