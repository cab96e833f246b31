// SPDX-License-Identifier: AGPL-3.0-or-later
/* What `weir config check` and the roles refuse: bad prefixes, addresses,
 * ports, listen strings and ranges, each named by file, line and key. */
#include <string.h>

#include "test.h"
#include "test_weir_config.h"

static void refused(const char *yaml, const char *key_and_value)
{
	struct weir_config cfg;
	struct config_error err = {{0}};
	int r = test_weir_config_load(yaml, &cfg, &err);

	CHECK(r < 0);
	if (!strstr(err.text, key_and_value))
		test_fail_at(__FILE__, __LINE__, "\"%s\" does not name \"%s\"", err.text,
			     key_and_value);
	weir_config_free(&cfg);
}

static void accepted(const char *yaml)
{
	struct weir_config cfg;
	struct config_error err = {{0}};

	if (test_weir_config_load(yaml, &cfg, &err) < 0)
		test_fail_at(__FILE__, __LINE__, "refused: %s", err.text);
	weir_config_free(&cfg);
}

TEST(config_check_refuses_bad_values)
{
	refused("flow:\n  allowlist: [10.0.0.0/8, 10.0.0.0/33]\n",
		":2: flow.allowlist[1]: \"10.0.0.0/33\"");
	refused("flow:\n  allowlist: [999.1.1.1]\n", "flow.allowlist[0]: \"999.1.1.1\"");
	refused("flow:\n  allowlist: [2001:db8::/129]\n", "flow.allowlist[0]");
	refused("flow:\n  inputs:\n    - type: udp\n      listen: \":70000\"\n",
		":4: flow.inputs[0].listen: \":70000\"");
	refused("flow:\n  inputs:\n    - type: afxdp\n      interface: eth0\n      ports: [2055, "
		"70000]\n",
		"flow.inputs[0].ports[1]");
	refused("http:\n  listen: localhost\n", ":2: http.listen: \"localhost\"");
	refused("http:\n  listen: \"localhost:8081\"\n", "http.listen");
	refused("clickhouse:\n  retry-min: 10s\n  retry-max: 1s\n", ":2: clickhouse.retry-min");
	refused("clickhouse:\n  url: ftp://127.0.0.1\n", "clickhouse.url: \"ftp://127.0.0.1\"");
	refused("clickhouse:\n  url: 127.0.0.1:8123\n", ":2: clickhouse.url");
	refused("clickhouse:\n  url: http://:8123\n", "clickhouse.url: \"http://:8123\": no host");
	refused("clickhouse:\n  url: http://127.0.0.1:70000\n", "port 70000");
	refused("clickhouse:\n  url: \"http://127.0.0.1:\"\n", "port : expected");
	refused("clickhouse:\n  url: http://127.0.0.1:80x/\n", "port 80x");
	refused("clickhouse:\n  url: http://u:p@127.0.0.1:8123\n", "clickhouse.username");
	refused("clickhouse:\n  url: \"http://local host:8123\"\n", "not a host name");
	refused("clickhouse:\n  url: \"embedded://\"\n", "clickhouse.url");
}

TEST(config_check_accepts_good_values)
{
	accepted("flow:\n  allowlist: [10.0.0.0/8, 192.0.2.1, 2001:db8::/32]\n"
		 "  inputs:\n    - type: udp\n      listen: \"[::]:2055\"\n"
		 "    - type: udp\n      listen: \"0.0.0.0:4739\"\n"
		 "    - type: udp\n      listen: \":6343\"\n"
		 "http:\n  listen: \"[::1]:8081\"\n"
		 "clickhouse:\n  url: http://127.0.0.1:8123\n  retry-min: 1s\n  retry-max: 1s\n");
	accepted("clickhouse:\n  url: https://ch.example.net/\n");
	accepted("clickhouse:\n  url: \"http://[::1]:8123\"\n");
	accepted("clickhouse:\n  url: embedded:///var/lib/weir\n");
}

/* The load compiles the enrichment stage once and keeps it for the role that
 * runs it (weir run does not compile 100k networks twice). */
TEST(config_load_keeps_the_enrichment_stage)
{
	struct weir_config cfg;
	struct config_error err;

	REQUIRE(test_weir_config_load("networks:\n  networks:\n    192.0.2.0/24: customers\n", &cfg,
				      &err) == 0);
	CHECK(cfg.enrich_stage != NULL);
	struct enrich *e = weir_config_take_enrich(&cfg);
	CHECK(e != NULL);
	CHECK(cfg.enrich_stage == NULL);
	CHECK(weir_config_take_enrich(&cfg) == NULL);
	enrich_free(e); /* before the document it points into */
	weir_config_free(&cfg);
	/* not taken: weir_config_free() frees it (ASan: no leak) */
	REQUIRE(test_weir_config_load("core:\n  drop-unknown: true\n", &cfg, &err) == 0);
	CHECK(cfg.enrich_stage != NULL);
	weir_config_free(&cfg);
}
