// SPDX-License-Identifier: AGPL-3.0-or-later
/* Listen strings (flow inputs, http.listen, the query endpoint): what is
 * accepted, which address and port it gives, what is refused. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>

#include "common/addr.h"
#include "test.h"

/* The text form of sa's address and its port, "ADDR port". */
static const char *show(const struct sockaddr_in6 *sa)
{
	static char out[INET6_ADDRSTRLEN + 16];
	char a[INET6_ADDRSTRLEN];

	addr_to_text(&sa->sin6_addr, a, sizeof(a));
	snprintf(out, sizeof(out), "%s %u", a, ntohs(sa->sin6_port));
	return out;
}

TEST(listen_strings_give_address_and_port)
{
	struct sockaddr_in6 sa;

	REQUIRE_EQ(addr_parse_listen("127.0.0.1:2055", &sa), 0);
	CHECK(!strcmp(show(&sa), "127.0.0.1 2055"));
	REQUIRE_EQ(addr_parse_listen("[2001:db8::1]:4739", &sa), 0);
	CHECK(!strcmp(show(&sa), "2001:db8::1 4739"));
	REQUIRE_EQ(addr_parse_listen(":6343", &sa), 0);
	CHECK(!strcmp(show(&sa), ":: 6343")); /* every address, both families */
	CHECK_EQ(sa.sin6_family, AF_INET6);
	REQUIRE_EQ(addr_parse_listen("0.0.0.0:65535", &sa), 0);
	CHECK(!strcmp(show(&sa), "0.0.0.0 65535"));
}

TEST(bad_listen_strings_are_refused)
{
	static const char *const bad[] = {
	    "",
	    "2055",
	    "localhost:80",
	    "127.0.0.1:",
	    "127.0.0.1:70000",
	    "127.0.0.1:-1",
	    "127.0.0.1:80x",
	    "999.1.1.1:80",
	    "[::1]80",
	    "[::1:80",
	    "::1:80x",
	    "127.0.0.1:0",
	};
	struct sockaddr_in6 sa;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (addr_parse_listen(bad[i], &sa) != -EINVAL)
			test_fail_at(__FILE__, __LINE__, "\"%s\" was accepted", bad[i]);
	}
	CHECK_EQ(addr_parse_listen(NULL, &sa), -EINVAL);
}

TEST(port_zero_only_where_the_kernel_may_choose)
{
	struct sockaddr_in6 sa;

	CHECK_EQ(addr_parse_listen("127.0.0.1:0", &sa), -EINVAL);
	REQUIRE_EQ(addr_parse_listen_any_port("127.0.0.1:0", &sa), 0);
	CHECK(!strcmp(show(&sa), "127.0.0.1 0"));
	CHECK_EQ(addr_parse_listen_any_port("127.0.0.1:65536", &sa), -EINVAL);
	CHECK_EQ(addr_parse_listen_any_port("host:0", &sa), -EINVAL);
}
