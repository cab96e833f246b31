// SPDX-License-Identifier: AGPL-3.0-or-later
/* flow_domain_peek: the observation domain of each protocol's datagrams as
 * the demo encoder builds them, and 0 for anything it cannot tell. */
#include <string.h>

#include "common/addr.h"
#include "common/flow_domain.h"
#include "demo/demo.h"
#include "test.h"

static size_t encode(enum demo_format format, uint32_t domain, const char *agent, uint8_t *buf,
		     size_t cap)
{
	struct demo_encoder_config cfg = {.format = format, .domain_id = domain};
	struct demo_encoder *enc;
	struct flow flows[4];
	size_t len = 0;
	uint64_t seed = 1;

	if (agent)
		REQUIRE_EQ(addr_from_text(&cfg.agent, agent), 0);
	demo_flows_random(flows, 4, format, 1700000000, &seed);
	REQUIRE_EQ(demo_encoder_new(&cfg, &enc, NULL), 0);
	REQUIRE(demo_encoder_encode(enc, flows, 4, buf, cap, &len) >= 0);
	REQUIRE(len > 0);
	demo_encoder_free(enc);
	return len;
}

TEST(flow_domain_netflow_v5_is_engine_type_and_id)
{
	uint8_t buf[2048];
	size_t len = encode(DEMO_NETFLOW_V5, 0x0203, NULL, buf, sizeof(buf));

	CHECK_EQ(flow_domain_peek(buf, len), 0x0203);
	CHECK_EQ(flow_domain_peek(buf, 23), 0); /* header cut short */
}

TEST(flow_domain_netflow_v9_is_source_id)
{
	uint8_t buf[2048];
	size_t len = encode(DEMO_NETFLOW_V9, 0xdeadbeef, NULL, buf, sizeof(buf));

	CHECK_EQ(flow_domain_peek(buf, len), 0xdeadbeef);
	CHECK_EQ(flow_domain_peek(buf, 20), 0xdeadbeef);
	CHECK_EQ(flow_domain_peek(buf, 19), 0);
}

TEST(flow_domain_ipfix_is_observation_domain)
{
	uint8_t buf[2048];
	size_t len = encode(DEMO_IPFIX, 4242, NULL, buf, sizeof(buf));

	CHECK_EQ(flow_domain_peek(buf, len), 4242);
	CHECK_EQ(flow_domain_peek(buf, 15), 0);
}

TEST(flow_domain_sflow_hashes_agent_and_sub_agent)
{
	uint8_t a[2048], b[2048], c[2048], d[2048], e[2048];
	size_t la = encode(DEMO_SFLOW_V5, 1, "192.0.2.1", a, sizeof(a));
	size_t lb = encode(DEMO_SFLOW_V5, 2, "192.0.2.1", b, sizeof(b));
	size_t lc = encode(DEMO_SFLOW_V5, 1, "192.0.2.2", c, sizeof(c));
	size_t ld = encode(DEMO_SFLOW_V5, 1, "2001:db8::1", d, sizeof(d));
	size_t le = encode(DEMO_SFLOW_V5, 1, "192.0.2.1", e, sizeof(e));
	uint32_t da = flow_domain_peek(a, la);

	CHECK(da != 0);
	CHECK_EQ(flow_domain_peek(e, le), da); /* the same source, the same domain */
	CHECK(flow_domain_peek(b, lb) != da);  /* another sub-agent */
	CHECK(flow_domain_peek(c, lc) != da);  /* another agent */
	CHECK(flow_domain_peek(d, ld) != 0);
	CHECK(flow_domain_peek(d, ld) != da);
	CHECK_EQ(flow_domain_peek(a, 15), 0);
	CHECK_EQ(flow_domain_peek(d, 27), 0);
}

TEST(flow_domain_unknown_is_zero)
{
	uint8_t junk[32] = {0x12, 0x34, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
	uint8_t sflow_v4[16] = {0, 0, 0, 4, 0, 0, 0, 1}; /* sFlow v4 */
	uint8_t sflow_bad_type[32] = {0, 0, 0, 5, 0, 0, 0, 7};

	CHECK_EQ(flow_domain_peek(junk, sizeof(junk)), 0);
	CHECK_EQ(flow_domain_peek(sflow_v4, sizeof(sflow_v4)), 0);
	CHECK_EQ(flow_domain_peek(sflow_bad_type, sizeof(sflow_bad_type)), 0);
	CHECK_EQ(flow_domain_peek(NULL, 100), 0);
	CHECK_EQ(flow_domain_peek(junk, 3), 0);
}
