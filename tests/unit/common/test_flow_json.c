// SPDX-License-Identifier: AGPL-3.0-or-later
/* JSON lines of weir decode: DESIGN.md's contract on keys and value forms. */
#include <stdio.h>
#include <stdlib.h>

#include "common/addr.h"
#include "common/flow_schema.h"
#include "test.h"

TEST(flow_json_forms)
{
	struct flow f;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	flow_reset(&f);
	f.time_received = 1647285928;
	f.sampling_rate = 30000;
	REQUIRE(addr_from_text(&f.exporter_address, "192.0.2.10") == 0);
	REQUIRE(addr_from_text(&f.src_addr, "198.38.121.178") == 0);
	REQUIRE(addr_from_text(&f.dst_addr, "2001:db8::1") == 0);
	f.src_mac = 0x246e96907a50ull;
	f.flow_direction = FLOW_DIRECTION_INGRESS;
	f.dst_as_path_count = 3;
	f.dst_as_path[0] = 203698;
	f.dst_as_path[1] = 6762;
	f.dst_as_path[2] = 26615;
	f.proto = 6;
	REQUIRE_EQ(flow_write_json(out, &f), 0);
	fclose(out);
	CHECK_STR(text, "{\"TimeReceived\":1647285928,\"SamplingRate\":30000,"
			"\"ExporterAddress\":\"192.0.2.10\",\"SrcAddr\":\"198.38.121.178\","
			"\"DstAddr\":\"2001:db8::1\",\"DstASPath\":[203698,6762,26615],\"Proto\":6,"
			"\"FlowDirection\":\"ingress\",\"SrcMAC\":\"24:6e:96:90:7a:50\"}");
	free(text);
}

/* An IPv4 address sent as 0.0.0.0 (::ffff:0.0.0.0 once mapped) is as absent
 * as an all-zero one: the JSON leaves it out like any other zero field. */
TEST(flow_json_leaves_out_ipv4_zero_addresses)
{
	struct flow f;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	flow_reset(&f);
	REQUIRE(addr_from_text(&f.src_addr, "192.0.2.1") == 0);
	REQUIRE(addr_from_text(&f.next_hop, "0.0.0.0") == 0);
	REQUIRE(addr_from_text(&f.src_addr_nat, "0.0.0.0") == 0);
	REQUIRE(addr_from_text(&f.dst_addr_nat, "::") == 0);
	f.proto = 17;
	REQUIRE_EQ(flow_write_json(out, &f), 0);
	fclose(out);
	CHECK_STR(text, "{\"SrcAddr\":\"192.0.2.1\",\"Proto\":17}");
	free(text);
}

TEST(addr_prefixes)
{
	struct in6_addr a;
	unsigned len;
	char text[ADDR_TEXT_MAX];

	REQUIRE(addr_prefix_from_text(&a, &len, "192.0.2.0/24") == 0);
	CHECK_EQ(len, 120);
	addr_to_text(&a, text, sizeof(text));
	CHECK_STR(text, "192.0.2.0");
	REQUIRE(addr_prefix_from_text(&a, &len, "2001:db8::/32") == 0);
	CHECK_EQ(len, 32);
	CHECK(addr_prefix_from_text(&a, &len, "10.0.0.0/33") < 0);
	CHECK(addr_prefix_from_text(&a, &len, "bogus") < 0);
}
