// SPDX-License-Identifier: AGPL-3.0-or-later
/* The store and the orchestrator against a real clickhouse-server started
 * under a temporary directory on 127.0.0.1 (test_clickhouse.h):
 * migrations, exact rows, consolidated sums, retries across a restart,
 * retention. Each test uses its own database on the one server. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/strtab.h"
#include "mmdb_gen.h"
#include "orchestrator/orchestrator.h"
#include "store/store.h"
#include "test.h"
#include "test_clickhouse.h"

/* A config for database `db` on the test server, dropped first. */
static void test_config(struct store_config *cfg, const char *db)
{
	test_clickhouse_config(cfg, "weir-store-test", db);
	cfg->consolidation_interval_ms = 0; /* flows_1m with every flush */
}

/* Runs a query, returns its answer without the last newline (caller frees);
 * fails the test on error. */
static char *qs(struct store_client *c, const char *fmt, ...)
{
	char sql[8192], *out = NULL;
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (store_client_query(c, sql, &out) < 0) {
		test_fail_at(__FILE__, __LINE__, "query failed: %s: %s", sql,
			     store_client_error(c));
		return strdup("<error>");
	}
	n = strlen(out);
	while (n && out[n - 1] == '\n')
		out[--n] = 0;
	return out;
}

/* The number a query answers (the harness's). */
#define qu test_clickhouse_u64

#define CHECK_QS(c, expected, ...)                                                                 \
	do {                                                                                       \
		char *got_ = qs(c, __VA_ARGS__);                                                   \
		CHECK_STR(got_, expected);                                                         \
		free(got_);                                                                        \
	} while (0)

/* ---- retention: TTL on current servers, partition drops on 18.16 ---- */

static const char *const retention_tables[] = {"flows", "flows_1m", "flows_5m", "flows_1h"};

/* 1 when the server keeps retention by TTL (the embedded engine), 0 (18.16)
 * when by partition drops. */
static int uses_ttl(struct store_client *c)
{
	uint32_t version = 0;

	REQUIRE(store_client_server_version(c, &version) == 0);
	return orch_retention_uses_ttl(version);
}

/* `table`'s DDL as the server prints it (caller frees). */
static char *show_create(struct store_client *c, const char *table)
{
	return qs(c, "SHOW CREATE TABLE %s FORMAT TabSeparatedRaw", table);
}

/* Checks that `table` has a TTL of `age_s` seconds, none when 0. */
static void check_ttl_at(struct store_client *c, const char *table, uint64_t age_s, int line)
{
	char *ddl = show_create(c, table), want[128];

	snprintf(want, sizeof(want), "TTL TimeReceived + toIntervalSecond(%llu)",
		 (unsigned long long)age_s);
	if (age_s ? !strstr(ddl, want) : strstr(ddl, "TTL TimeReceived") != NULL)
		test_fail_at(__FILE__, line, "%s: TTL should be %s: %s", table,
			     age_s ? want : "none", ddl);
	if (!strstr(ddl, "ttl_only_drop_parts = 1"))
		test_fail_at(__FILE__, line, "%s: parts not dropped whole: %s", table, ddl);
	free(ddl);
}
#define check_ttl(c, table, age_s) check_ttl_at(c, table, age_s, __LINE__)

/* What the TTL would drop in the background, now: each part's TTL bounds
 * recomputed, then every expired part dropped (merges run on their own
 * schedule; a test does not wait for them). */
static void expire_now(struct store_client *c)
{
	for (size_t i = 0; i < 4; i++) {
		char *ddl = show_create(c, retention_tables[i]);

		if (strstr(ddl, "TTL TimeReceived")) /* (refused without a TTL) */
			free(qs(c, "ALTER TABLE %s MATERIALIZE TTL SETTINGS mutations_sync = 2",
				retention_tables[i]));
		free(qs(c, "OPTIMIZE TABLE %s FINAL", retention_tables[i]));
		free(ddl);
	}
}

/* ---- flows to insert ---- */

static void v4(struct in6_addr *a, const char *text)
{
	REQUIRE(addr_from_text(a, text) == 0);
}

/* Flow i of a deterministic mix: IPv4 and IPv6, both directions, arrays of
 * several lengths, MACs, NAT. SrcPort = 1000 + i is the row's identity. */
static void make_flow(struct flow *f, unsigned i, uint64_t t)
{
	char text[64];

	memset(f, 0, sizeof(*f));
	f->time_received = t;
	f->time_flow_start_ms = t * 1000 - 1500 - i;
	f->time_flow_end_ms = t * 1000 - 10;
	f->sampling_rate = i % 3 == 0 ? 1000 : 1;
	f->bytes = 1000 + 7 * i;
	f->packets = 1 + i % 11;
	snprintf(text, sizeof(text), "192.0.2.%u", 1 + i % 3);
	v4(&f->exporter_address, text);
	if (i % 2) {
		snprintf(text, sizeof(text), "2001:db8::%x", i);
		v4(&f->src_addr, text);
		v4(&f->dst_addr, "2001:db8:ffff::1");
		v4(&f->next_hop, "fe80::1");
		f->etype = 0x86dd;
		f->ipv6_flow_label = 0x12345 + i;
		f->icmpv6_type = 128;
	} else {
		snprintf(text, sizeof(text), "10.0.%u.%u", i / 256, i % 256);
		v4(&f->src_addr, text);
		v4(&f->dst_addr, "198.51.100.7");
		v4(&f->src_addr_nat, "203.0.113.9");
		v4(&f->dst_addr_nat, "203.0.113.10");
		f->src_port_nat = 40000 + (uint16_t)i;
		f->dst_port_nat = 443;
		f->etype = 0x0800;
		f->ip_fragment_id = 777 + i;
		f->ip_fragment_offset = (uint16_t)(i % 4);
		f->icmpv4_type = 8;
		f->icmpv4_code = 1;
	}
	f->src_mac = 0x0200000000a0ULL + i;
	f->dst_mac = 0xfeedbeef0001ULL;
	f->src_as = 64500 + i % 5;
	f->dst_as = 65000 + i % 2;
	f->in_if = 10 + i % 4;
	f->out_if = 20 + i % 2;
	f->forwarding_status = 64;
	f->ingress_vrf_id = 3;
	f->egress_vrf_id = 4 + i;
	f->src_port = (uint16_t)(1000 + i);
	f->dst_port = 443;
	f->src_vlan = 100;
	f->dst_vlan = (uint16_t)(200 + i);
	f->tcp_flags = 0x1b;
	f->proto = i % 2 ? 17 : 6;
	f->src_net_mask = 24;
	f->dst_net_mask = (uint8_t)(i % 2 ? 48 : 32);
	f->flow_direction = (uint8_t)(i % 3); /* undefined, ingress, egress */
	f->ip_ttl = 64;
	f->ip_tos = (uint8_t)(i % 8 * 32);
	f->dst_as_path_count = (uint8_t)(i % 4);
	for (unsigned k = 0; k < f->dst_as_path_count; k++)
		f->dst_as_path[k] = 65000 + 10 * k + i;
	f->dst_communities_count = (uint8_t)(i % 3);
	for (unsigned k = 0; k < f->dst_communities_count; k++)
		f->dst_communities[k] = (65000u << 16) + k;
	f->dst_large_communities_count = (uint8_t)(i % 2 ? 2 : 0);
	for (unsigned k = 0; k < f->dst_large_communities_count; k++)
		f->dst_large_communities[k] =
		    (struct flow_large_community){4200000000u + k, 100 + i, 200 + k};
	f->mpls_labels_count = (uint8_t)(i % 5 == 4 ? 3 : 0);
	for (unsigned k = 0; k < f->mpls_labels_count; k++)
		f->mpls_labels[k] = 16000 + k;
}

static int never_stop(void *ctx)
{
	(void)ctx;
	return 0;
}

static void insert_flows(const struct store_config *cfg, const struct flow *flows, size_t n)
{
	struct store_writer *w;
	int r;

	REQUIRE(store_writer_new(cfg, NULL, &w, NULL) == 0);
	REQUIRE_EQ(store_writer_append(w, flows, n, 0), 0);
	r = store_writer_flush(w, never_stop, NULL);
	if (r < 0)
		test_fail_at(__FILE__, __LINE__, "flush: %d %s", r, store_writer_last_error(w));
	REQUIRE_EQ(store_writer_rows(w), 0);
	store_writer_free(w);
}

/* What a writer of a release before schema step 7 did: rows into flows only
 * (the views on flows filled the consolidated tables). */
static void insert_flows_only(const struct store_config *cfg, const struct flow *flows, size_t n)
{
	struct store_config old = *cfg;
	struct store_writer *w;

	old.consolidation_interval_ms = 3600000; /* not due: discarded below */
	store_writer_new(&old, NULL, &w, NULL);
	REQUIRE(w);
	REQUIRE_EQ(store_writer_append(w, flows, n, 0), 0);
	REQUIRE_EQ(store_writer_flush(w, never_stop, NULL), 0);
	REQUIRE_EQ(store_writer_consolidation_pending(w), 1);
	store_writer_discard(w);
	store_writer_free(w);
}

/* ---- expected text of one column of one flow, as the query below prints it ---- */

static void expected_value(const struct flow *f, const struct flow_field *field, char *out,
			   size_t size)
{
	const char *p = (const char *)f + field->offset;
	size_t n = 0;

	out[0] = 0;
	switch (field->kind) {
	case FLOW_FIELD_ADDR:
		inet_ntop(AF_INET6, p, out, (socklen_t)size);
		break;
	case FLOW_FIELD_DIRECTION: {
		static const char *const names[] = {"undefined", "ingress", "egress"};
		snprintf(out, size, "%s", names[*(const uint8_t *)p % 3]);
		break;
	}
	case FLOW_FIELD_U32_ARRAY: {
		unsigned k = *((const uint8_t *)f + field->count_offset);
		for (unsigned i = 0; i < k; i++)
			n += (size_t)snprintf(out + n, size - n, "%s%u", i ? "," : "",
					      ((const uint32_t *)p)[i]);
		break;
	}
	case FLOW_FIELD_LARGE_COMMUNITY_ARRAY: {
		unsigned k = *((const uint8_t *)f + field->count_offset);
		const struct flow_large_community *lc = (const void *)p;
		for (unsigned i = 0; i < k; i++)
			n += (size_t)snprintf(out + n, size - n, "%s%u:%u:%u", i ? "," : "",
					      lc[i].global_admin, lc[i].local_data1,
					      lc[i].local_data2);
		break;
	}
	default:
		snprintf(out, size, "%llu", flow_field_get_uint(f, field));
		break;
	}
}

static void select_expr(const struct flow_field *field, char *out, size_t size)
{
	switch (field->kind) {
	case FLOW_FIELD_ADDR:
		snprintf(out, size, "IPv6NumToString(%s)", field->name);
		break;
	case FLOW_FIELD_DIRECTION:
		snprintf(out, size, "toString(%s)", field->name);
		break;
	case FLOW_FIELD_U32_ARRAY:
		snprintf(out, size, "arrayStringConcat(arrayMap(x -> toString(x), %s), ',')",
			 field->name);
		break;
	case FLOW_FIELD_LARGE_COMMUNITY_ARRAY:
		snprintf(
		    out, size,
		    "arrayStringConcat(arrayMap((a, b, c) -> concat(toString(a), ':', toString(b), "
		    "':', toString(c)), %s.ASN, %s.LocalData1, %s.LocalData2), ',')",
		    field->name, field->name, field->name);
		break;
	default:
		if (!strcmp(field->name, "TimeReceived"))
			snprintf(out, size, "toUInt32(%s)", field->name);
		else
			snprintf(out, size, "%s", field->name);
		break;
	}
}

/* Every decoded column of every row equals the flow it came from. */
static void check_rows(struct store_client *c, const struct flow *flows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < flow_fields_count; k++) {
			char expr[512], expected[512];
			char *got;

			if (!store_field_stored(&flow_fields[k]))
				continue;
			select_expr(&flow_fields[k], expr, sizeof(expr));
			expected_value(&flows[i], &flow_fields[k], expected, sizeof(expected));
			got = qs(c, "SELECT %s FROM flows WHERE SrcPort = %u", expr,
				 flows[i].src_port);
			if (strcmp(got, expected) != 0)
				test_fail_at(__FILE__, __LINE__,
					     "flow %zu column %s: got \"%s\", want \"%s\"", i,
					     flow_fields[k].name, got, expected);
			free(got);
		}
	}
}

/* ---- migrations ---- */

static const char *const schema_tables[] = {
    "asns",	   "consolidation_journal",
    "exporters",   "flows",
    "flows_1h",	   "flows_1m",
    "flows_5m",	   "ports",
    "protocols",   "schema_migrations",
    "names_state",
};

/* flows' partition keys as system.tables prints them */
#define FLOWS_PARTITION_DAILY  "toYYYYMMDD(TimeReceived)"
#define FLOWS_PARTITION_HOURLY "(toYYYYMMDD(TimeReceived) * 100) + toHour(TimeReceived)"
#define FLOWS_SORTING_KEY                                                                          \
	"TimeReceived, ExporterAddress, InIfName, OutIfName, InIf, OutIf, SrcAS, DstAS, SrcAddr, " \
	"DstAddr"

TEST(migrations_from_empty_database)
{
	struct store_config cfg;
	struct store_client *c;
	unsigned version;

	test_config(&cfg, "weir_t_empty");
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	CHECK_EQ(orch_migrate(c, &cfg, 0), ORCH_SCHEMA_VERSION);
	CHECK_EQ(orch_schema_version(c, &version), 0);
	CHECK_EQ(version, ORCH_SCHEMA_VERSION);
	CHECK_QS(
	    c, "1,2,3,4,5,6,7,8,9,10",
	    "SELECT arrayStringConcat(arrayMap(x -> toString(x), groupArray(version)), ',') FROM "
	    "(SELECT version FROM schema_migrations ORDER BY version)");
	for (size_t i = 0; i < sizeof(schema_tables) / sizeof(schema_tables[0]); i++)
		CHECK_EQ(qu(c,
			    "SELECT count() FROM system.tables WHERE database = currentDatabase() "
			    "AND name = '%s'",
			    schema_tables[i]),
			 1);
	/* The writer fills the consolidated tables and exporters: no view is
	 * left (each would sum the flows a second time). */
	CHECK_EQ(qu(c, "SELECT count() FROM system.tables WHERE database = currentDatabase() "
		       "AND engine = 'MaterializedView'"),
		 0);
	/* Every decoded column with the type the writer sends. */
	for (size_t i = 0; i < flow_fields_count; i++) {
		const struct flow_field *f = &flow_fields[i];
		char *type;

		if (!store_field_stored(f)) {
			CHECK_EQ(qu(c,
				    "SELECT count() FROM system.columns WHERE database = "
				    "currentDatabase() AND table = 'flows' AND name = '%s'",
				    f->name),
				 0);
			continue;
		}
		if (f->kind == FLOW_FIELD_LARGE_COMMUNITY_ARRAY) {
			CHECK_EQ(
			    qu(c,
			       "SELECT count() FROM system.columns WHERE database = "
			       "currentDatabase() AND table = 'flows' AND name LIKE '%s.%%' AND "
			       "type = 'Array(UInt32)'",
			       f->name),
			    3);
			continue;
		}
		type = qs(c,
			  "SELECT type FROM system.columns WHERE database = currentDatabase() "
			  "AND table = 'flows' AND name = '%s' FORMAT TabSeparatedRaw",
			  f->name);
		CHECK_STR(type, store_field_type(f));
		free(type);
	}
	/* Decoded but not stored. */
	CHECK(!store_field_stored(flow_field_find("TimeFlowStartMs")));
	CHECK(!store_field_stored(flow_field_find("TimeFlowEndMs")));
	CHECK(store_field_stored(flow_field_find("TimeReceived")));
	/* flows: primary key by the second (not the minute: merges), sorted
	 * on for compression; partitions by the hour where a TTL drops them
	 * (the embedded engine), by the day on 18.16. */
	CHECK_QS(c, "TimeReceived, ExporterAddress, InIfName, OutIfName\t" FLOWS_SORTING_KEY,
		 "SELECT primary_key, sorting_key FROM system.tables WHERE database = "
		 "currentDatabase() AND name = 'flows' FORMAT TabSeparatedRaw");
	CHECK_QS(c, test_clickhouse_embedded() ? FLOWS_PARTITION_HOURLY : FLOWS_PARTITION_DAILY,
		 "SELECT partition_key FROM system.tables WHERE database = currentDatabase() AND "
		 "name = 'flows' FORMAT TabSeparatedRaw");
	/* No TTL: retention sets it, with its own configuration (an outlet
	 * that only migrates must not change it). */
	for (size_t i = 0; i < 4; i++) {
		char *ddl = show_create(c, retention_tables[i]);

		CHECK(strstr(ddl, "TTL TimeReceived") == NULL);
		free(ddl);
	}
	/* Consolidated tables: no addresses, no ports. */
	CHECK_EQ(qu(c, "SELECT count() FROM system.columns WHERE database = currentDatabase() AND "
		       "table LIKE 'flows\\_%%' AND name IN ('SrcAddr', 'DstAddr', 'SrcPort', "
		       "'DstPort', 'NextHop', 'SrcMAC')"),
		 0);
	CHECK_EQ(qu(c, "SELECT count() FROM system.columns WHERE database = currentDatabase() AND "
		       "table = 'flows_1h' AND name IN ('Bytes', 'Packets', 'SamplingRate', "
		       "'Dst1stAS', 'InIfName', 'ExporterAddress')"),
		 6);
	store_client_free(c);
	store_config_free(&cfg);
}

/* ---- names: asns, protocols, ports ---- */

/* stderr into a file from stderr_begin() to stderr_end(), which returns
 * what was written there (caller frees). */
struct stderr_capture {
	char path[32];
	int fd, saved;
};

static void stderr_begin(struct stderr_capture *k)
{
	snprintf(k->path, sizeof(k->path), "/tmp/weir-log-XXXXXX");
	k->fd = mkstemp(k->path);
	k->saved = dup(2);
	REQUIRE(k->fd >= 0 && k->saved >= 0);
	fflush(stderr);
	dup2(k->fd, 2);
}

static char *stderr_end(struct stderr_capture *k)
{
	char *text = calloc(1, 65536);
	ssize_t n;

	REQUIRE(text);
	fflush(stderr);
	dup2(k->saved, 2);
	close(k->saved);
	n = pread(k->fd, text, 65535, 0);
	text[n > 0 ? n : 0] = '\0';
	close(k->fd);
	unlink(k->path);
	return text;
}

/* Runs orch_names_load with stderr going to a file; returns what it logged
 * (caller frees). */
/* Writes `text` into a new file made from the template `path`
 * ("...XXXXXX.csv", filled in) and makes it cfg's clickhouse.asns. */
static void asns_file_new(struct store_config *cfg, char *path, const char *text)
{
	size_t n = strlen(text);
	int fd = mkstemps(path, 4);

	REQUIRE(fd >= 0);
	REQUIRE(write(fd, text, n) == (ssize_t)n);
	close(fd);
	free(cfg->asns);
	cfg->asns = strdup(path);
}

static char *names_load_logged(struct store_client *c, const struct store_config *cfg,
			       struct orch_names_stats *st, int *ret)
{
	struct stderr_capture k;

	stderr_begin(&k);
	*ret = orch_names_load(c, cfg, st);
	return stderr_end(&k);
}

TEST(names_tables_filled_from_shipped_and_operator_files)
{
	struct store_config cfg;
	struct store_client *c;
	struct orch_names_stats st;
	char path[] = "/tmp/weir-asns-XXXXXX.csv";
	char *log;
	int r;
	FILE *f;

	test_config(&cfg, "weir_t_names");
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	CHECK_EQ(orch_migrate(c, &cfg, 0), ORCH_SCHEMA_VERSION);
	/* The shipped sample, read as the console reads it (joinGet: one SQL
	 * form on every server), and the IANA tables. */
	CHECK_QS(c, "GOOGLE\tCLOUDFLARENET\t1",
		 "SELECT joinGet('asns', 'Name', toUInt32(15169)), joinGet('asns', 'Name', "
		 "toUInt32(13335)), joinGet('asns', 'Name', toUInt32(64500)) = ''");
	CHECK_QS(c, "6\tTCP\tTransmission Control\n17\tUDP\tUser Datagram",
		 "SELECT * FROM protocols WHERE Proto IN (6, 17) ORDER BY Proto");
	CHECK_QS(c, "6\t443\thttps\n17\t443\thttps\n17\t53\tdomain",
		 "SELECT Proto, Port, Name FROM ports WHERE (Port = 443) OR (Proto = 17 AND Port = "
		 "53) ORDER BY Proto, Port DESC");
	/* Read as the console reads it: by protocol and port. */
	CHECK_QS(
	    c, "domain\tsip\t1",
	    "SELECT joinGet('ports', 'Name', toUInt32(6 * 65536 + 53)), joinGet('ports', "
	    "'Name', toUInt32(17 * 65536 + 5060)), joinGet('ports', 'Name', toUInt32(1 * 65536 "
	    "+ 53)) = ''");
	CHECK(qu(c, "SELECT count() FROM protocols") >= 30);
	CHECK(qu(c, "SELECT count() FROM ports") >= 60);

	/* An operator's file: overrides, additions, and malformed lines that
	 * are skipped, counted and reported with file:line. */
	asns_file_new(&cfg, path,
		      "asn,name\n"		      /* 1: header */
		      "15169,Google LLC\n"	      /* 2: overrides GOOGLE */
		      "AS64500,\"ACME, Inc.\"\n"      /* 3: AS prefix, quoted comma */
		      "# a comment\n"		      /* 4 */
		      "64501,bad,extra\n"	      /* 5: bad */
		      "notanumber,x\n"		      /* 6: bad */
		      "64502,\"unterminated\n"	      /* 7: bad */
		      "\n"			      /* 8 */
		      "4200000000,It's private\r\n"); /* 9: quote, CRLF */
	log = names_load_logged(c, &cfg, &st, &r);
	CHECK_EQ(r, 0);
	CHECK_EQ(st.bad_lines, 3);
	CHECK_EQ(st.file_errors, 0);
	{
		char want[128];

		for (int line = 5; line <= 7; line++) {
			snprintf(want, sizeof(want), "at=%s:%d ", path, line);
			CHECK(strstr(log, want) != NULL);
		}
		snprintf(want, sizeof(want), "at=%s:6 reason=\"asn: not a number", path);
		CHECK(strstr(log, want) != NULL);
	}
	free(log);
	CHECK_QS(c, "Google LLC\tACME, Inc.\tIt's private\tCLOUDFLARENET\t1",
		 "SELECT joinGet('asns', 'Name', toUInt32(15169)), joinGet('asns', 'Name', "
		 "toUInt32(64500)), joinGet('asns', 'Name', toUInt32(4200000000)), joinGet('asns', "
		 "'Name', toUInt32(13335)), joinGet('asns', 'Name', toUInt32(64501)) = '' FORMAT "
		 "TabSeparatedRaw");
	/* Migrations again (a restart) with the same names: no step, and the
	 * tables are not written again (a row added by hand stays). */
	CHECK_EQ(qu(c, "SELECT count() FROM names_state"), 1);
	CHECK(store_client_query(c, "INSERT INTO asns VALUES (64999, 'KEPT')", NULL) == 0);
	CHECK_EQ(orch_migrate(c, &cfg, 0), 0);
	CHECK_QS(c, "Google LLC\tKEPT",
		 "SELECT joinGet('asns', 'Name', toUInt32(15169)), "
		 "joinGet('asns', 'Name', toUInt32(64999))");
	log = names_load_logged(c, &cfg, &st, &r);
	CHECK_EQ(r, 0);
	CHECK_EQ(st.rebuilt, 0);
	CHECK(strstr(log, "names unchanged") != NULL);
	CHECK(strstr(log, "names rebuilt") == NULL);
	free(log);
	CHECK_QS(c, "KEPT", "SELECT joinGet('asns', 'Name', toUInt32(64999))");
	/* A changed file is a rebuild, counted and logged. */
	f = fopen(path, "a");
	REQUIRE(f);
	fputs("64998,ADDED\n", f);
	fclose(f);
	log = names_load_logged(c, &cfg, &st, &r);
	CHECK_EQ(r, 0);
	CHECK_EQ(st.rebuilt, 1);
	CHECK(strstr(log, "names rebuilt") != NULL);
	free(log);
	CHECK_QS(c, "Google LLC\tADDED\t1",
		 "SELECT joinGet('asns', 'Name', toUInt32(15169)), joinGet('asns', 'Name', "
		 "toUInt32(64998)), joinGet('asns', 'Name', toUInt32(64999)) = ''");
	CHECK_EQ(qu(c, "SELECT count() FROM names_state"), 1);
	CHECK_EQ(qu(c, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND "
		       "name LIKE '%%\\_load' OR name LIKE '%%\\_old'"),
		 0);
	/* An unreadable file: counted, the shipped names stay. */
	unlink(path);
	log = names_load_logged(c, &cfg, &st, &r);
	CHECK_EQ(r, 0);
	CHECK_EQ(st.file_errors, 1);
	CHECK(strstr(log, "cannot open AS names file") != NULL);
	free(log);
	CHECK_QS(c, "GOOGLE", "SELECT joinGet('asns', 'Name', toUInt32(15169))");
	store_client_free(c);
	store_config_free(&cfg);
}

/* The ASN .mmdb files of geoip.asn-database name ASes too: over the
 * shipped sample, under the operator's file; a replaced database is a
 * rebuild, an unreadable one is counted and the others stay. */
TEST(names_from_asn_databases)
{
	char dir[] = "/tmp/weir-asn-mmdb-XXXXXX", mmdb[300], missing[300], csv[300];
	char *paths[2] = {mmdb, missing};
	struct config_list dbs = {.items = paths, .count = 2};
	struct store_config cfg;
	struct store_client *c;
	struct orch_names_stats st;
	char *log;
	int r;
	FILE *f;

	REQUIRE(mkdtemp(dir));
	snprintf(mmdb, sizeof(mmdb), "%s/asn.mmdb", dir);
	snprintf(missing, sizeof(missing), "%s/absent.mmdb", dir);
	snprintf(csv, sizeof(csv), "%s/asns.csv", dir);
	if (mmdb_gen(mmdb, "GeoLite2-ASN",
		     "net('192.0.2.0/24', {autonomous_system_number => 15169, "
		     "autonomous_system_organization => 'Google LLC'});\n"
		     "net('2001:db8:1::/48', {autonomous_system_number => 64511, "
		     "autonomous_system_organization => 'IPv6 \\'only\\' AS'});\n"
		     "net('198.51.100.0/24', {autonomous_system_number => 64500, "
		     "autonomous_system_organization => 'FROM MMDB'});\n") < 0)
		SKIP("libmaxmind-db-writer-perl not usable");
	f = fopen(csv, "w");
	REQUIRE(f);
	fputs("64500,OPERATOR WINS\n", f);
	fclose(f);
	test_config(&cfg, "weir_t_names_mmdb");
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	CHECK_EQ(orch_migrate(c, &cfg, 0), ORCH_SCHEMA_VERSION); /* shipped names only */
	cfg.asn_databases = &dbs;
	free(cfg.asns);
	cfg.asns = strdup(csv);
	log = names_load_logged(c, &cfg, &st, &r);
	CHECK_EQ(r, 0);
	CHECK_EQ(st.rebuilt, 1);
	CHECK_EQ(st.mmdb_asns, 3);
	CHECK_EQ(st.file_errors, 1);
	CHECK(strstr(log, "ASN database unreadable") != NULL);
	CHECK(strstr(log, missing) != NULL);
	free(log);
	CHECK_QS(c, "Google LLC\tIPv6 'only' AS\tOPERATOR WINS\tCLOUDFLARENET",
		 "SELECT joinGet('asns', 'Name', toUInt32(15169)), joinGet('asns', 'Name', "
		 "toUInt32(64511)), joinGet('asns', 'Name', toUInt32(64500)), joinGet('asns', "
		 "'Name', toUInt32(13335)) FORMAT TabSeparatedRaw");
	/* The same files: left alone. */
	log = names_load_logged(c, &cfg, &st, &r);
	CHECK_EQ(r, 0);
	CHECK_EQ(st.rebuilt, 0);
	free(log);
	/* The database replaced (as a monthly GeoLite2 update is): a rebuild,
	 * and the service's stamp sees it. */
	int64_t before, after;
	CHECK_EQ(orch_names_file_stamp(&cfg, &before), 0);
	usleep(20 * 1000); /* a later mtime even on coarse clocks */
	REQUIRE(mmdb_gen(mmdb, "GeoLite2-ASN",
			 "net('2001:db8:1::/48', {autonomous_system_number => 64511, "
			 "autonomous_system_organization => 'RENAMED'});\n") == 0);
	CHECK_EQ(orch_names_file_stamp(&cfg, &after), 0);
	CHECK(before != after);
	log = names_load_logged(c, &cfg, &st, &r);
	CHECK_EQ(r, 0);
	CHECK_EQ(st.rebuilt, 1);
	CHECK_EQ(st.mmdb_asns, 1);
	free(log);
	CHECK_QS(c, "GOOGLE\tRENAMED",
		 "SELECT joinGet('asns', 'Name', toUInt32(15169)), joinGet('asns', 'Name', "
		 "toUInt32(64511))");
	store_client_free(c);
	cfg.asn_databases = NULL;
	store_config_free(&cfg);
	unlink(mmdb);
	unlink(csv);
	rmdir(dir);
}

/* Readers (the console) of the names tables during reloads: each answer
 * is a name of one version, never an error nor an empty one. A swap by
 * multi-table RENAME is atomic on 18.16 (global lock) but not on Atomic
 * databases: there a reader could find no table between the two renames. */
struct names_reader {
	const struct store_config *cfg;
	_Atomic int stop;
	unsigned queries, bad;
	char first_bad[200];
};

static void *names_reader_main(void *arg)
{
	struct names_reader *rd = arg;
	struct store_client *c = NULL;
	char *out;

	if (store_client_new(rd->cfg, &c, NULL) < 0)
		return NULL;
	while (!atomic_load(&rd->stop)) {
		out = NULL;
		int r =
		    store_client_query(c, "SELECT joinGet('asns', 'Name', toUInt32(64500))", &out);
		rd->queries++;
		if (r < 0 || (strcmp(out, "ONE\n") && strcmp(out, "TWO LONGER\n"))) {
			if (!rd->bad++)
				snprintf(rd->first_bad, sizeof(rd->first_bad), "%s",
					 r < 0 ? store_client_error(c) : out);
		}
		free(out);
	}
	store_client_free(c);
	return NULL;
}

TEST(names_reload_never_leaves_readers_without_a_table)
{
	struct store_config cfg;
	struct store_client *c;
	struct names_reader rd = {0};
	struct orch_names_stats st;
	char path[] = "/tmp/weir-asns-XXXXXX.csv";
	pthread_t t;
	int rebuilt = 0;

	test_config(&cfg, "weir_t_names_swap");
	asns_file_new(&cfg, path, "64500,ONE\n");
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	CHECK_EQ(orch_migrate(c, &cfg, 0), ORCH_SCHEMA_VERSION);
	rd.cfg = &cfg;
	REQUIRE(pthread_create(&t, NULL, names_reader_main, &rd) == 0);
	for (int i = 0; i < 40; i++) {
		const char *line = i % 2 ? "64500,ONE\n" : "64500,TWO LONGER\n";
		FILE *f = fopen(path, "w");

		REQUIRE(f);
		fputs(line, f);
		fclose(f);
		CHECK_EQ(orch_names_load(c, &cfg, &st), 0);
		rebuilt += st.rebuilt;
	}
	atomic_store(&rd.stop, 1);
	pthread_join(t, NULL);
	CHECK_EQ(rebuilt, 40);
	CHECK(rd.queries > 40);
	if (rd.bad)
		test_fail_at(__FILE__, __LINE__,
			     "%u of %u answers during reloads were bad, first: %s", rd.bad,
			     rd.queries, rd.first_bad);
	store_client_free(c);
	store_config_free(&cfg);
	unlink(path);
}

/* Starts the orchestrator service of `p` and waits, up to 30 s, until it is
 * healthy or, when `gave_up` is not NULL, until *gave_up is set. Returns the
 * service (the caller frees it); *healthy says whether it became healthy. */
static struct orch_service *service_start(const struct orch_service_params *p, _Atomic int *gave_up,
					  int *healthy)
{
	struct orch_service *svc = NULL;
	char why[256];

	REQUIRE(orch_service_new(p, &svc, NULL) == 0);
	REQUIRE(orch_service_start(svc, NULL) == 0);
	*healthy = 0;
	for (int i = 0; i < 600 && !(gave_up && atomic_load(gave_up)); i++) {
		*healthy = orch_service_health(svc, why, sizeof(why)) == 0;
		if (*healthy)
			break;
		usleep(50 * 1000);
	}
	return svc;
}

/* weir run and weir outlet (the orchestrator service) take a changed
 * clickhouse.asns without a restart. */
TEST(names_reloaded_when_the_file_changes)
{
	struct store_config cfg;
	struct store_client *c;
	struct orch_service *svc;
	struct orch_service_params p = {0};
	char path[] = "/tmp/weir-asns-XXXXXX.csv", tmp[64], *got = NULL;
	int ok = 0, healthy;
	FILE *f;

	test_config(&cfg, "weir_t_names_reload");
	asns_file_new(&cfg, path, "64500,FIRST\n");
	p.cfg = &cfg;
	svc = service_start(&p, NULL, &healthy);
	CHECK(healthy);
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	CHECK_QS(c, "FIRST", "SELECT joinGet('asns', 'Name', toUInt32(64500))");
	/* Replaced whole (written beside, then renamed), so that the service
	 * never reads it half written. */
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "w");
	REQUIRE(f);
	fputs("64500,SECOND NAME\n", f);
	fclose(f);
	REQUIRE(rename(tmp, path) == 0);
	/* The service looks every 5 s. Readers (the console) query all along:
	 * each answer is the old name or the new one, never an error (a swap
	 * by RENAME on current ClickHouse left a moment without the table). */
	uint64_t deadline = clock_mono_ms() + 30000;
	unsigned queries = 0, other = 0;
	while (!ok && clock_mono_ms() < deadline) {
		free(got);
		got = qs(c, "SELECT joinGet('asns', 'Name', toUInt32(64500))");
		queries++;
		ok = !strcmp(got, "SECOND NAME");
		if (!ok && strcmp(got, "FIRST") && other++ < 5)
			test_fail_at(__FILE__, __LINE__, "during the reload: \"%s\"", got);
	}
	CHECK_STR(got, "SECOND NAME");
	CHECK_EQ(other, 0);
	CHECK(queries > 100); /* they did run during the reload */
	free(got);
	orch_service_free(svc);
	unlink(path);
	store_client_free(c);
	store_config_free(&cfg);
}

/* The role's on_ready hook (the repair of the consolidated tables) failing
 * because ClickHouse went away is retried, as migrations are; any other
 * failure ends the service through on_fatal. */
struct ready_probe {
	_Atomic int calls, fatal_calls;
	int fail_times, error;
};

static int ready_hook(void *ctx, struct store_client *c, struct error *err)
{
	struct ready_probe *rp = ctx;

	(void)c;
	if (atomic_fetch_add(&rp->calls, 1) < rp->fail_times)
		return error_set(err, rp->error, "repair: made to fail");
	return 0;
}

static void ready_fatal(void *ctx, int error, const char *reason)
{
	struct ready_probe *rp = ctx;

	(void)error, (void)reason;
	atomic_fetch_add(&rp->fatal_calls, 1);
}

TEST(on_ready_retried_while_clickhouse_is_away_fatal_otherwise)
{
	static const int errors[2] = {-ECONNREFUSED, -EIO};

	for (int k = 0; k < 2; k++) {
		struct ready_probe rp = {.fail_times = 2, .error = errors[k]};
		struct store_config cfg;
		struct orch_service *svc;
		struct orch_service_params p = {0};
		int healthy;

		test_config(&cfg, "weir_t_on_ready");
		cfg.retry_min_ms = 10;
		cfg.retry_max_ms = 20;
		p.cfg = &cfg;
		p.on_ready = ready_hook;
		p.on_fatal = ready_fatal;
		p.ctx = &rp;
		svc = service_start(&p, &rp.fatal_calls, &healthy);
		if (k == 0) {
			CHECK(healthy);
			CHECK_EQ(atomic_load(&rp.calls), 3);
			CHECK_EQ(atomic_load(&rp.fatal_calls), 0);
		} else {
			CHECK(!healthy);
			CHECK_EQ(atomic_load(&rp.calls), 1);
			CHECK_EQ(atomic_load(&rp.fatal_calls), 1);
		}
		orch_service_free(svc);
		store_config_free(&cfg);
	}
}

TEST(migrations_twice_is_a_noop)
{
	struct store_config cfg;
	struct store_client *c;
	char *migrations, *columns, *tables, *again;
	static const char q_migrations[] =
	    "SELECT version, description, applied FROM schema_migrations ORDER BY version";
	static const char q_columns[] =
	    "SELECT table, name, type, default_kind, default_expression FROM system.columns "
	    "WHERE database = currentDatabase() AND substring(table, 1, 18) != "
	    "'orchestrator_lock_' ORDER BY table, name";
	/* (the orchestrator lock takes a new table each time: lock.c; the
	 * names tables are rebuilt whole at each run, by design: names.c) */
	static const char q_tables[] =
	    "SELECT name, engine, if(name IN ('asns', 'protocols', 'ports'), toDateTime(0), "
	    "metadata_modification_time) FROM system.tables "
	    "WHERE database = currentDatabase() AND substring(name, 1, 18) != "
	    "'orchestrator_lock_' ORDER BY name";

	test_config(&cfg, "weir_t_twice");
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	CHECK_EQ(orch_migrate(c, &cfg, 0), ORCH_SCHEMA_VERSION);
	migrations = qs(c, q_migrations);
	columns = qs(c, q_columns);
	tables = qs(c, q_tables);
	sleep(1); /* a recreated table would show a later modification time */
	CHECK_EQ(orch_migrate(c, &cfg, 0), 0);
	again = qs(c, q_migrations);
	CHECK_STR(again, migrations);
	free(again);
	again = qs(c, q_columns);
	CHECK_STR(again, columns);
	free(again);
	again = qs(c, q_tables);
	CHECK_STR(again, tables);
	free(again);
	free(migrations);
	free(columns);
	free(tables);
	store_client_free(c);
	store_config_free(&cfg);
}

/* A database a later release migrated: nothing is applied or written, and
 * the caller learns why (an older outlet must not write where the newer
 * schema expects its writers to do more, as step 7 did). */
TEST(migrations_refuse_a_newer_schema)
{
	struct store_config cfg;
	struct store_client *c;
	char sql[200];

	test_config(&cfg, "weir_t_newer");
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	CHECK_EQ(orch_migrate(c, &cfg, 0), ORCH_SCHEMA_VERSION);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO schema_migrations (version, description, applied) VALUES (%d, "
		 "'from a later release', now())",
		 ORCH_SCHEMA_VERSION + 1);
	REQUIRE(store_client_query(c, sql, NULL) == 0);
	CHECK_EQ(orch_migrate(c, &cfg, 0), -EPROTONOSUPPORT);
	CHECK_EQ(qu(c, "SELECT count() FROM schema_migrations"), ORCH_SCHEMA_VERSION + 1);
	store_client_free(c);
	store_config_free(&cfg);
}

/* From every earlier version: rows written before the upgrade are all
 * still there after it, with the columns added since. */
TEST(migrations_from_previous_versions_keep_rows)
{
	struct flow flows[12];
	uint64_t now = (uint64_t)time(NULL);

	for (unsigned i = 0; i < 12; i++)
		make_flow(&flows[i], i, now - 60);
	for (unsigned from = 1; from < ORCH_SCHEMA_VERSION; from++) {
		struct store_config cfg;
		struct store_client *c;
		char db[64];

		snprintf(db, sizeof(db), "weir_t_from%u", from);
		test_config(&cfg, db);
		store_client_new(&cfg, &c, NULL);
		REQUIRE(c);
		CHECK_EQ(orch_migrate(c, &cfg, from), (int)from);
		/* Before step 6, step 1 created the two flow time columns (the
		 * writer now leaves them out: they are filled by their default). */
		if (from < 6)
			free(qs(c, "ALTER TABLE flows ADD COLUMN TimeFlowStartMs UInt64, "
				   "ADD COLUMN TimeFlowEndMs UInt64"));
		/* (from step 7 on, the writer of that release sums flows itself) */
		if (from >= 7)
			insert_flows(&cfg, flows, 12);
		else
			insert_flows_only(&cfg, flows, 12);
		CHECK_EQ(qu(c, "SELECT count() FROM flows"), 12);
		CHECK_EQ(orch_migrate(c, &cfg, 0), (int)(ORCH_SCHEMA_VERSION - from));
		CHECK_EQ(qu(c, "SELECT count() FROM flows"), 12);
		CHECK_EQ(qu(c,
			    "SELECT count() FROM system.columns WHERE database = currentDatabase() "
			    "AND table = 'flows' AND name LIKE 'TimeFlow%%'"),
			 0);
		check_rows(c, flows, 12);
		/* Columns of later steps answer for the old rows. */
		CHECK_EQ(qu(c, "SELECT Dst1stAS FROM flows WHERE SrcPort = 1003"), 65003);
		CHECK_EQ(qu(c, "SELECT Dst3rdAS FROM flows WHERE SrcPort = 1003"), 65023);
		CHECK_EQ(qu(c, "SELECT PacketSize FROM flows WHERE SrcPort = 1001"), 1007 / 2);
		if (from >= 2) {
			CHECK_EQ(qu(c, "SELECT sum(Bytes) FROM flows_1m"),
				 qu(c, "SELECT sum(Bytes) FROM flows"));
			CHECK_EQ(qu(c, "SELECT sum(Packets) FROM flows_1h"),
				 qu(c, "SELECT sum(Packets) FROM flows"));
		}
		/* And the upgraded views feed the consolidated tables. */
		insert_flows(&cfg, flows, 12);
		CHECK_EQ(qu(c, "SELECT count() FROM flows"), 24);
		CHECK_EQ(qu(c, "SELECT sum(Bytes) FROM flows_5m WHERE Dst1stAS = 65003"),
			 (from >= 4 ? 2 : 1) * flows[3].bytes);
		store_client_free(c);
		store_config_free(&cfg);
	}
}

/* Step 10: descriptions stored as String before it read back the same
 * after it, as LowCardinality(String) on modern servers (String on 18.16). */
TEST(migration_descriptions_low_cardinality)
{
	static const char desc_types[] =
	    "SELECT type FROM system.columns WHERE database = currentDatabase() AND table = "
	    "'flows' AND name IN ('InIfDescription', 'OutIfDescription') ORDER BY name";
	struct store_config cfg;
	struct store_client *c;

	test_config(&cfg, "weir_t_desc_lc");
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	CHECK_EQ(orch_migrate(c, &cfg, 9), 9);
	CHECK_QS(c, "String\nString", "%s", desc_types);
	free(qs(c,
		"INSERT INTO flows (TimeReceived, SrcPort, InIfDescription, OutIfDescription) "
		"VALUES (%llu, 4242, 'Transit: Cogent 1', 'core 2'), (%llu, 4243, '', 'x')",
		(unsigned long long)time(NULL) - 60, (unsigned long long)time(NULL) - 60));
	CHECK_EQ(orch_migrate(c, &cfg, 0), (int)(ORCH_SCHEMA_VERSION - 9));
	CHECK_QS(c, "Transit: Cogent 1\tcore 2\n\tx",
		 "SELECT InIfDescription, OutIfDescription FROM flows ORDER BY SrcPort");
	CHECK_QS(c,
		 test_clickhouse_embedded() ? "LowCardinality(String)\nLowCardinality(String)"
					    : "String\nString",
		 "%s", desc_types);
	/* Again: nothing left to do. */
	CHECK_EQ(orch_migrate(c, &cfg, 0), 0);
	store_client_free(c);
	store_config_free(&cfg);
}

/* flows as created before session 11 (schema step 1 then): its key by the
 * minute, partitions by the day; the same columns as now. */
static void old_flows_table(struct store_client *c)
{
	free(qs(c, "CREATE TABLE flows_old AS flows ENGINE = MergeTree PARTITION BY "
		   "toYYYYMMDD(TimeReceived) PRIMARY KEY (toStartOfMinute(TimeReceived), "
		   "ExporterAddress, InIfName, OutIfName) ORDER BY (toStartOfMinute(TimeReceived), "
		   "ExporterAddress, InIfName, OutIfName, InIf, OutIf, SrcAS, DstAS, SrcAddr, "
		   "DstAddr)"));
	free(qs(c, "DROP TABLE flows"));
	free(qs(c, "RENAME TABLE flows_old TO flows"));
}

/* A flows table created before session 11 keeps its key and partitions
 * through the migrations (a key cannot be reordered in place), which say
 * at start what it misses; its rows stay exact, and the writer sends
 * batches in its order (by the minute: the server finds them sorted). */
TEST(flows_keyed_by_the_minute_kept_and_written_in_its_order)
{
	static const char q_sorted[] = "SELECT value FROM system.events WHERE event = "
				       "'MergeTreeDataWriterBlocksAlreadySorted'";
	struct flow flows[12];
	struct store_config cfg;
	struct store_client *c;
	struct stderr_capture k;
	uint64_t minute = ((uint64_t)time(NULL) - 600) / 60 * 60, before;
	char *log;
	int r;

	/* One minute, the seconds newest first, exporters 1, 2, 3 in turn:
	 * by the second the order is reversed, by the minute by exporter. */
	for (unsigned i = 0; i < 12; i++)
		make_flow(&flows[i], i, minute + 40 - i);
	test_config(&cfg, "weir_t_minute_key");
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	CHECK_EQ(orch_migrate(c, &cfg, 9), 9);
	old_flows_table(c);
	insert_flows(&cfg, flows, 12);
	stderr_begin(&k);
	r = orch_migrate(c, &cfg, 0);
	log = stderr_end(&k);
	CHECK_EQ(r, (int)(ORCH_SCHEMA_VERSION - 9));
	CHECK(strstr(log, "flows was created by an earlier release") != NULL);
	CHECK(strstr(log, "sorting key by the second") != NULL);
	if (test_clickhouse_embedded())
		CHECK(strstr(log, "hourly partitions") != NULL);
	free(log);
	CHECK_QS(c,
		 "toStartOfMinute(TimeReceived), ExporterAddress, InIfName, OutIfName, InIf, "
		 "OutIf, SrcAS, DstAS, SrcAddr, DstAddr\t" FLOWS_PARTITION_DAILY,
		 "SELECT sorting_key, partition_key FROM system.tables WHERE database = "
		 "currentDatabase() AND name = 'flows' FORMAT TabSeparatedRaw");
	CHECK_EQ(qu(c, "SELECT count() FROM flows"), 12);
	check_rows(c, flows, 12);
	/* The writer of this release: rows exact, the block in the table's order. */
	for (unsigned i = 0; i < 12; i++)
		flows[i].src_port = (uint16_t)(2000 + i);
	before = qu(c, q_sorted);
	insert_flows_only(&cfg, flows, 12);
	CHECK_EQ(qu(c, q_sorted) - before, 1);
	CHECK_EQ(qu(c, "SELECT count() FROM flows"), 24);
	check_rows(c, flows, 12);
	/* weir orchestrator --rekey-flows: today's key and partitions, every
	 * row, the old table kept aside; then nothing left to do. */
	CHECK_EQ(orch_flows_rekey(c, &cfg), 1);
	CHECK_QS(c,
		 test_clickhouse_embedded() ? FLOWS_SORTING_KEY "\t" FLOWS_PARTITION_HOURLY
					    : FLOWS_SORTING_KEY "\t" FLOWS_PARTITION_DAILY,
		 "SELECT sorting_key, partition_key FROM system.tables WHERE database = "
		 "currentDatabase() AND name = 'flows' FORMAT TabSeparatedRaw");
	CHECK_EQ(qu(c, "SELECT count() FROM flows"), 24);
	CHECK_EQ(qu(c, "SELECT count() FROM flows_by_minute"), 24);
	CHECK_EQ(qu(c, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND "
		       "name = 'flows_by_minute' AND position(sorting_key, "
		       "'toStartOfMinute(TimeReceived)') = 1"),
		 1);
	CHECK_EQ(qu(c, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND "
		       "name = 'flows_rekey'"),
		 0);
	check_rows(c, flows, 12);
	CHECK_EQ(qu(c, "SELECT Dst1stAS FROM flows WHERE SrcPort = 2003"), 65003);
	CHECK_EQ(orch_flows_rekey(c, &cfg), 0);
	if (uses_ttl(c)) { /* the retention pass gives it its TTL */
		CHECK_EQ(orch_retention_run(c, &cfg, (uint64_t)time(NULL)), 0);
		check_ttl(c, "flows", 15 * 86400ULL);
	}
	/* A new table: the same rows sorted by the second (reversed). */
	store_client_free(c);
	store_config_free(&cfg);
	test_config(&cfg, "weir_t_second_key");
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	stderr_begin(&k);
	r = orch_migrate(c, &cfg, 0);
	log = stderr_end(&k);
	CHECK_EQ(r, ORCH_SCHEMA_VERSION);
	CHECK(strstr(log, "earlier release") == NULL);
	free(log);
	before = qu(c, q_sorted);
	insert_flows_only(&cfg, flows, 12);
	CHECK_EQ(qu(c, q_sorted) - before, 1);
	check_rows(c, flows, 12);
	store_client_free(c);
	store_config_free(&cfg);
}

/* ---- writer ---- */

TEST(writer_rows_exact_and_consolidated_sums)
{
	enum { N = 40 };
	struct flow flows[N];
	struct store_config cfg;
	struct store_client *c;
	struct metrics_registry *reg;
	struct store_writer *w;
	uint64_t base = ((uint64_t)time(NULL) / 3600 - 2) * 3600; /* a whole hour, 2 h ago */
	uint64_t bytes = 0, packets = 0;
	char *text;

	REQUIRE_EQ(metrics_registry_new(&reg, NULL), 0);
	test_config(&cfg, "weir_t_rows");
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c && reg);
	REQUIRE(orch_migrate(c, &cfg, 0) >= 0);
	/* 40 flows over 40 minutes, 30 s apart: 20 minutes, 8 five-minute buckets, 1 hour. */
	for (unsigned i = 0; i < N; i++) {
		make_flow(&flows[i], i, base + 30 * i);
		bytes += flows[i].bytes;
		packets += flows[i].packets;
	}
	store_writer_new(&cfg, reg, &w, NULL);
	REQUIRE(w);
	/* In three appends, as an outlet would. */
	CHECK_EQ(store_writer_append(w, flows, 10, 1), 0);
	CHECK_EQ(store_writer_append(w, flows + 10, 25, 2), 0);
	CHECK_EQ(store_writer_append(w, flows + 35, N - 35, 3), 0);
	CHECK_EQ(store_writer_rows(w), N);
	CHECK_EQ(store_writer_flush(w, NULL, NULL), 0);
	CHECK_EQ(store_writer_rows(w), 0);
	CHECK_EQ(store_writer_flush(w, NULL, NULL), 0); /* empty: nothing sent */

	CHECK_EQ(qu(c, "SELECT count() FROM flows"), N);
	check_rows(c, flows, N);
	/* A few values spelled out, independent of the column table. */
	CHECK_QS(c, "::ffff:10.0.0.6\t198.51.100.7\t6\tundefined\t1000",
		 "SELECT IPv6NumToString(SrcAddr), IPv4NumToString(reinterpretAsUInt32("
		 "reverse(substring(DstAddr, 13, 4)))), Proto, FlowDirection, SamplingRate "
		 "FROM flows WHERE SrcPort = 1006");
	CHECK_QS(c,
		 "2001:db8::5\t[65005]\t[4200000000,4200000001]\t[105,105]\t"
		 "[4259840000,4259840001]\tegress\t17",
		 "SELECT IPv6NumToString(SrcAddr), DstASPath, DstLargeCommunities.ASN, "
		 "DstLargeCommunities.LocalData1, DstCommunities, FlowDirection, Proto "
		 "FROM flows WHERE SrcPort = 1005");
	CHECK_QS(c, "2199023255716\t280297064038401\t[16000,16001,16002]",
		 "SELECT SrcMAC, DstMAC, MPLSLabels FROM flows WHERE SrcPort = 1004");
	CHECK_QS(c, "", "SELECT ExporterName FROM flows WHERE SrcPort = 1004");

	/* Consolidated tables: same totals, and the sums per bucket. */
	static const char *const tables[] = {"flows_1m", "flows_5m", "flows_1h"};
	static const unsigned widths[] = {60, 300, 3600};
	for (unsigned t = 0; t < 3; t++) {
		uint64_t want_buckets = 0, last = UINT64_MAX;

		CHECK_EQ(qu(c, "SELECT sum(Bytes) FROM %s", tables[t]), bytes);
		CHECK_EQ(qu(c, "SELECT sum(Packets) FROM %s", tables[t]), packets);
		for (unsigned i = 0; i < N; i++) {
			uint64_t b = flows[i].time_received / widths[t] * widths[t];
			if (b != last)
				want_buckets++;
			last = b;
		}
		CHECK_EQ(qu(c, "SELECT uniqExact(TimeReceived) FROM %s", tables[t]), want_buckets);
		/* One bucket in detail: SrcAS 64502, summed by hand. */
		uint64_t want = 0, first_bucket = flows[0].time_received / widths[t] * widths[t];
		for (unsigned i = 0; i < N; i++)
			if (flows[i].time_received / widths[t] * widths[t] == first_bucket &&
			    flows[i].src_as == 64502)
				want += flows[i].bytes;
		CHECK_EQ(qu(c,
			    "SELECT sum(Bytes) FROM %s WHERE toUInt32(TimeReceived) = %llu AND "
			    "SrcAS = 64502",
			    tables[t], (unsigned long long)first_bucket),
			 want);
		/* The sum survives the SummingMergeTree's merge. */
		free(qs(c, "OPTIMIZE TABLE %s FINAL", tables[t]));
		CHECK_EQ(qu(c, "SELECT sum(Bytes) FROM %s", tables[t]), bytes);
	}
	/* exporters: each exporter with the interfaces it used. */
	CHECK_QS(
	    c, "10,11,12,13,20,21",
	    "SELECT arrayStringConcat(arrayMap(x -> toString(x), groupArray(IfIndex)), ',') FROM "
	    "(SELECT IfIndex FROM exporters FINAL WHERE ExporterAddress = "
	    "IPv6StringToNum('::ffff:192.0.2.1') ORDER BY IfIndex)");
	CHECK_EQ(qu(c, "SELECT uniqExact(ExporterAddress) FROM exporters"), 3);

	/* Metrics. */
	metrics_render(reg, &text, &(size_t){0});
	CHECK(strstr(text, "weir_store_rows_inserted_total 40\n") != NULL);
	CHECK(strstr(text, "weir_store_batches_total 1\n") != NULL);
	CHECK(strstr(text, "weir_store_insert_errors_total 0\n") != NULL);
	free(text);
	store_writer_free(w);
	metrics_registry_free(reg);
	store_client_free(c);
	store_config_free(&cfg);
}

/* The enrichment's strings read back exactly, on 18.16 (String columns,
 * sent as text) and on the embedded engine (LowCardinality(String), sent
 * as a dictionary and indexes; InIfDescription too since step 10): "" for id 0,
 * a string of 200 bytes, and 300 distinct interface names (indexes of two
 * bytes). */
TEST(writer_enrichment_strings_exact)
{
	static const char blocks_sql[] = "SELECT sum(value) FROM system.events WHERE event = "
					 "'MergeTreeDataWriterBlocks'",
			  sorted_sql[] = "SELECT sum(value) FROM system.events WHERE event = "
					 "'MergeTreeDataWriterBlocksAlreadySorted'";
	enum { N = 600 };
	static struct flow flows[N];
	struct store_config cfg;
	struct store_client *c;
	struct store_writer *w;
	struct strtab *strs;
	uint64_t base = ((uint64_t)time(NULL) / 3600 - 2) * 3600;
	char longer[201], text[64];
	uint32_t names[3];

	test_config(&cfg, "weir_t_strings");
	/* flows alone at the flush (the consolidated tables' enriched rows are
	 * not in their key's order: consolidate.c), the sums at flush_all */
	cfg.consolidation_interval_ms = 3600000;
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	REQUIRE(orch_migrate(c, &cfg, 0) >= 0);
	REQUIRE_EQ(strtab_new(0, &strs, NULL), 0);
	memset(longer, 'z', 200);
	longer[200] = 0;
	names[0] = 0;
	names[1] = strtab_intern_cstr(strs, "par1-edge1");
	names[2] = strtab_intern_cstr(strs, longer);
	for (unsigned i = 0; i < N; i++) {
		make_flow(&flows[i], i, base + i);
		flows[i].src_port = (uint16_t)i;
		flows[i].enriched.exporter.name = names[i % 3];
		snprintf(text, sizeof(text), "Transit: AS%u", 64500 + i % 300);
		flows[i].enriched.in_if.description = strtab_intern_cstr(strs, text);
		snprintf(text, sizeof(text), "et-0/0/%u", i % 300);
		flows[i].enriched.in_if.name = strtab_intern_cstr(strs, text);
	}
	REQUIRE_EQ(store_writer_new(&cfg, NULL, &w, NULL), 0);
	REQUIRE_EQ(store_writer_set_strings(w, strs, NULL), 0);
	CHECK_EQ(store_writer_append(w, flows, N, 1), 0);
	/* Every block arrives in its table's order, so that ClickHouse need
	 * not sort it: InIfName (in flows' key) by its strings, "et-0/0/10"
	 * before "et-0/0/2", not by id. */
	uint64_t blocks = qu(c, "%s", blocks_sql), sorted = qu(c, "%s", sorted_sql);
	CHECK_EQ(store_writer_flush(w, NULL, NULL), 0);
	blocks = qu(c, "%s", blocks_sql) - blocks;
	sorted = qu(c, "%s", sorted_sql) - sorted;
	CHECK_EQ(blocks, 1);
	CHECK_EQ(sorted, 1);
	CHECK_EQ(store_writer_flush_all(w, NULL, NULL), 0);
	CHECK_EQ(qu(c, "SELECT count() FROM flows"), N);
	CHECK_QS(c,
		 test_clickhouse_embedded()
		     ? "LowCardinality(String)\tLowCardinality(String)\tLowCardinality(String)"
		     : "String\tString\tString",
		 "SELECT toTypeName(ExporterName), toTypeName(InIfName), "
		 "toTypeName(InIfDescription) FROM flows LIMIT 1");
	CHECK_EQ(qu(c, "SELECT count() FROM flows WHERE ExporterName = ''"), N / 3);
	CHECK_EQ(qu(c, "SELECT count() FROM flows WHERE ExporterName = 'par1-edge1'"), N / 3);
	CHECK_EQ(qu(c, "SELECT count() FROM flows WHERE ExporterName = '%s'", longer), N / 3);
	CHECK_EQ(qu(c, "SELECT uniqExact(InIfDescription) FROM flows"), 300);
	CHECK_EQ(qu(c, "SELECT uniqExact(InIfName) FROM flows"), 300);
	/* Each row its own: the port says which string it had. */
	CHECK_EQ(qu(c, "SELECT count() FROM flows WHERE InIfDescription = concat('Transit: AS', "
		       "toString(64500 + SrcPort %% 300)) AND length(ExporterName) = "
		       "[0, 10, 200][SrcPort %% 3 + 1]"),
		 N);
	store_writer_free(w);
	strtab_free(strs);
	store_client_free(c);
	store_config_free(&cfg);
}

/* The sums wait in memory for consolidation-interval, not for each batch:
 * flows has the rows at once, flows_1m once the sums are due or flushed. */
TEST(writer_consolidation_waits_for_its_interval)
{
	enum { N = 30 };
	struct flow flows[N];
	struct store_config cfg;
	struct store_client *c;
	struct metrics_registry *reg;
	struct store_writer *w;
	uint64_t base = ((uint64_t)time(NULL) / 60 - 10) * 60, bytes = 0;
	char *text;

	REQUIRE_EQ(metrics_registry_new(&reg, NULL), 0);
	test_config(&cfg, "weir_t_interval");
	cfg.consolidation_interval_ms = 3600000;
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c && reg);
	REQUIRE(orch_migrate(c, &cfg, 0) >= 0);
	for (unsigned i = 0; i < N; i++) {
		make_flow(&flows[i], i, base + 20 * i);
		bytes += flows[i].bytes;
	}
	store_writer_new(&cfg, reg, &w, NULL);
	REQUIRE(w);
	CHECK_EQ(store_writer_consolidation_pending(w), 0);
	CHECK_EQ(store_writer_append(w, flows, N, 1), 0);
	CHECK_EQ(store_writer_consolidation_pending(w), 1);
	CHECK_EQ(store_writer_flush(w, NULL, NULL), 0);
	CHECK_EQ(qu(c, "SELECT count() FROM flows"), N);
	CHECK_EQ(qu(c, "SELECT count() FROM flows_1m"), 0);
	CHECK_EQ(store_writer_consolidation_pending(w), 1);
	CHECK_EQ(store_writer_due(w, 2), 0); /* nothing in the batch, sums not due */
	/* The same flows again: summed with the first ones, one row each. */
	CHECK_EQ(store_writer_append(w, flows, N, 3), 0);
	CHECK_EQ(store_writer_flush_all(w, NULL, NULL), 0);
	CHECK_EQ(store_writer_consolidation_pending(w), 0);
	CHECK_EQ(qu(c, "SELECT count() FROM flows"), 2 * N);
	CHECK_EQ(qu(c, "SELECT sum(Bytes) FROM flows_1m"), 2 * bytes);
	CHECK_EQ(qu(c, "SELECT sum(Bytes) FROM flows_1h"), 2 * bytes);
	/* Rounded as the server rounds, in its time zone. */
	CHECK_EQ(qu(c, "SELECT count() FROM flows_5m WHERE TimeReceived != "
		       "toStartOfFiveMinute(TimeReceived)"),
		 0);
	CHECK_EQ(qu(c, "SELECT count() FROM flows_1h WHERE TimeReceived != "
		       "toStartOfHour(TimeReceived)"),
		 0);
	CHECK_EQ(qu(c, "SELECT count() FROM flows_5m"),
		 qu(c,
		    "SELECT count() FROM (SELECT DISTINCT toStartOfFiveMinute(TimeReceived), "
		    "ExporterAddress, EType, Proto, SrcAS, DstAS, SamplingRate, InIf, OutIf, "
		    "FlowDirection, ForwardingStatus, Dst1stAS, Dst2ndAS, Dst3rdAS FROM flows)"));
	CHECK_EQ(qu(c, "SELECT count() FROM flows_1m"),
		 qu(c,
		    "SELECT count() FROM (SELECT DISTINCT toStartOfMinute(TimeReceived), "
		    "ExporterAddress, EType, Proto, SrcAS, DstAS, SamplingRate, InIf, OutIf, "
		    "FlowDirection, ForwardingStatus, Dst1stAS, Dst2ndAS, Dst3rdAS FROM flows)"));
	metrics_render(reg, &text, &(size_t){0});
	CHECK(strstr(text, "weir_store_consolidated_flows_total 60\n") != NULL);
	CHECK(strstr(text, "weir_store_consolidated_pending_rows 0\n") != NULL);
	free(text);
	store_writer_free(w);

	/* An interval of 0: with every flush. */
	cfg.consolidation_interval_ms = 0;
	store_writer_new(&cfg, NULL, &w, NULL);
	REQUIRE(w);
	CHECK_EQ(store_writer_append(w, flows, 1, 1), 0);
	CHECK_EQ(store_writer_flush(w, NULL, NULL), 0);
	CHECK_EQ(store_writer_consolidation_pending(w), 0);
	CHECK_EQ(qu(c, "SELECT sum(Bytes) FROM flows_1m"), 2 * bytes + flows[0].bytes);
	store_writer_free(w);
	metrics_registry_free(reg);
	store_client_free(c);
	store_config_free(&cfg);
}

/* Memory is bounded by consolidation-max-rows: an append that might not fit
 * asks for a flush (-ENOBUFS), and that flush writes the sums. */
TEST(writer_consolidation_bounded)
{
	enum { N = 1200 };
	struct flow *flows = calloc(N, sizeof(*flows));
	struct store_config cfg;
	struct store_client *c;
	struct store_writer *w;
	uint64_t now = (uint64_t)time(NULL) - 600;

	REQUIRE(flows);
	test_config(&cfg, "weir_t_bounded");
	cfg.consolidation_interval_ms = 3600000;
	cfg.consolidation_max_rows = 1000;
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	REQUIRE(orch_migrate(c, &cfg, 0) >= 0);
	for (unsigned i = 0; i < N; i++) {
		make_flow(&flows[i], i, now);
		flows[i].src_as = 100000 + i; /* a row of flows_1m each */
	}
	store_writer_new(&cfg, NULL, &w, NULL);
	REQUIRE(w);
	CHECK_EQ(store_writer_append(w, flows, 1001, 0), -E2BIG);
	CHECK_EQ(store_writer_append(w, flows, 600, 0), 0);
	CHECK_EQ(store_writer_append(w, flows + 600, 600, 0), -ENOBUFS);
	CHECK_EQ(store_writer_flush(w, NULL, NULL), 0);
	CHECK_EQ(store_writer_consolidation_pending(w), 0);
	CHECK_EQ(qu(c, "SELECT count() FROM flows_1m"), 600);
	CHECK_EQ(store_writer_append(w, flows + 600, 600, 0), 0);
	CHECK_EQ(store_writer_flush_all(w, NULL, NULL), 0);
	CHECK_EQ(qu(c, "SELECT count() FROM flows_1m"), N);
	CHECK_EQ(qu(c, "SELECT count() FROM flows"), N);
	store_writer_free(w);
	store_client_free(c);
	store_config_free(&cfg);
	free(flows);
}

/* Every block goes out in its table's sorting order, so ClickHouse skips its
 * own sort (MergeTreeDataWriterBlocksAlreadySorted): flows (appended newest
 * first, far from that order), flows_1m, flows_5m, flows_1h, exporters:
 * 5 blocks. A wrong order in any makes this fail. */
TEST(writer_consolidated_block_arrives_sorted)
{
	enum { N = 500 };
	struct flow *flows = calloc(N, sizeof(*flows));
	struct store_config cfg;
	struct store_client *c;
	struct store_writer *w;
	/* One hour of the previous one: flows is partitioned by the hour on
	 * the embedded engine, and a block that straddles two hours is two
	 * parts (6 blocks counted, when the test ran in an hour's first 8
	 * minutes). */
	uint64_t now = (uint64_t)time(NULL) / 3600 * 3600 - 3600 + 60, before;
	static const char q_sorted[] = "SELECT value FROM system.events WHERE event = "
				       "'MergeTreeDataWriterBlocksAlreadySorted'";

	REQUIRE(flows);
	test_config(&cfg, "weir_t_sorted");
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	REQUIRE(orch_migrate(c, &cfg, 0) >= 0);
	/* Newest first, over 8 minutes, many exporters, ASes and interfaces. */
	for (unsigned i = 0; i < N; i++) {
		make_flow(&flows[i], i, now + 480 - i);
		flows[i].exporter_address.s6_addr[15] = (uint8_t)(i * 7);
		flows[i].src_as = (i * 2654435761u) % 70000;
		flows[i].dst_as = i % 5 ? 65000 + i % 3 : 4200000000u + i;
		flows[i].in_if = i % 13;
		flows[i].sampling_rate = i % 4 ? 1000 : 4096;
		flows[i].flow_direction = i % 3;
	}
	store_writer_new(&cfg, NULL, &w, NULL);
	REQUIRE(w);
	REQUIRE_EQ(store_writer_append(w, flows, N, 0), 0);
	before = qu(c, q_sorted);
	CHECK_EQ(store_writer_flush_all(w, NULL, NULL), 0);
	CHECK_EQ(qu(c, q_sorted) - before, 5);
	CHECK_EQ(qu(c, "SELECT count() FROM flows_1m"),
		 qu(c,
		    "SELECT count() FROM (SELECT DISTINCT toStartOfMinute(TimeReceived), "
		    "ExporterAddress, EType, Proto, SrcAS, DstAS, SamplingRate, InIf, OutIf, "
		    "FlowDirection, ForwardingStatus, Dst1stAS, Dst2ndAS, Dst3rdAS FROM flows)"));
	store_writer_free(w);
	store_client_free(c);
	store_config_free(&cfg);
	free(flows);
}

struct flush_job {
	struct store_writer *w;
	int result;
};

static void *flush_thread(void *arg)
{
	struct flush_job *job = arg;

	job->result = store_writer_flush(job->w, NULL, NULL);
	return NULL;
}

static int stop_after_two_calls(void *ctx)
{
	return ++*(int *)ctx > 2;
}

TEST(writer_retries_while_clickhouse_is_stopped)
{
	enum { N = 3000 };
	struct flow *flows = calloc(N, sizeof(*flows));
	struct store_config cfg;
	struct store_client *c;
	struct metrics_registry *reg;
	struct store_writer *w;
	struct flush_job job;
	pthread_t th;
	uint64_t now = (uint64_t)time(NULL);
	int calls = 0;
	char *text;

	REQUIRE_EQ(metrics_registry_new(&reg, NULL), 0);
	REQUIRE(flows && reg);
	test_config(&cfg, "weir_t_restart");
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	REQUIRE(orch_migrate(c, &cfg, 0) >= 0);
	for (unsigned i = 0; i < N; i++)
		make_flow(&flows[i], i, now - i % 100);
	for (unsigned i = 0; i < N; i++)
		flows[i].src_port = (uint16_t)i; /* unique per row */
	store_writer_new(&cfg, reg, &w, NULL);
	REQUIRE(w);

	REQUIRE_EQ(test_clickhouse_control("stop"), 0);
	REQUIRE_EQ(store_writer_append(w, flows, N / 2, 0), 0);
	/* Shutdown while ClickHouse is away: the flush gives up, keeps the rows. */
	CHECK_EQ(store_writer_flush(w, stop_after_two_calls, &calls), -ECANCELED);
	CHECK_EQ(store_writer_rows(w), N / 2);
	REQUIRE_EQ(store_writer_append(w, flows + N / 2, N - N / 2, 0), 0);

	job.w = w;
	job.result = 1;
	REQUIRE(pthread_create(&th, NULL, flush_thread, &job) == 0);
	sleep(2);		 /* several failed tries */
	CHECK_EQ(job.result, 1); /* still trying */
	REQUIRE_EQ(test_clickhouse_control("start"), 0);
	pthread_join(th, NULL);
	CHECK_EQ(job.result, 0);
	CHECK_EQ(store_writer_rows(w), 0);

	CHECK_EQ(qu(c, "SELECT count() FROM flows"), N);
	CHECK_EQ(qu(c, "SELECT uniqExact(SrcPort) FROM flows"), N);
	CHECK_EQ(qu(c, "SELECT sum(Packets) FROM flows_1m"),
		 qu(c, "SELECT sum(Packets) FROM flows"));
	metrics_render(reg, &text, &(size_t){0});
	CHECK(strstr(text, "weir_store_rows_inserted_total 3000\n") != NULL);
	CHECK(strstr(text, "weir_store_insert_errors_total 0\n") == NULL);
	CHECK(strstr(text, "weir_store_insert_retries_total 0\n") == NULL);
	free(text);
	store_writer_free(w);
	metrics_registry_free(reg);
	store_client_free(c);
	store_config_free(&cfg);
	free(flows);
}

/* ---- consolidated tables after a crash (repair.c) ---- */

/* The sums of Bytes and Packets per bucket of `round` (a ClickHouse
 * function) over `table`, or over flows when `table` is NULL, one text. */
static char *bucket_sums(struct store_client *c, const char *table, const char *round)
{
	return qs(c,
		  "SELECT groupArray((t, b, p)) FROM (SELECT %s(TimeReceived) AS t, sum(Bytes) "
		  "AS b, sum(Packets) AS p FROM %s GROUP BY t ORDER BY t)",
		  round, table ? table : "flows");
}

/* Every consolidated table agrees with flows, bucket by bucket, and per
 * bucket and dimensions for flows_1m. */
static void check_tables_agree(struct store_client *c, int line)
{
	static const char *const tables[][2] = {{"flows_1m", "toStartOfMinute"},
						{"flows_5m", "toStartOfFiveMinute"},
						{"flows_1h", "toStartOfHour"}};
	static const char dims[] = "ExporterAddress, EType, Proto, InIf, OutIf, SrcAS, DstAS, "
				   "SamplingRate, FlowDirection, ForwardingStatus, Dst1stAS, "
				   "Dst2ndAS, Dst3rdAS";

	for (size_t i = 0; i < 3; i++) {
		char *want = bucket_sums(c, NULL, tables[i][1]);
		char *got = bucket_sums(c, tables[i][0], tables[i][1]);

		if (strcmp(want, got))
			test_fail_at(__FILE__, line, "%s differs from flows: %s vs %s",
				     tables[i][0], got, want);
		free(want);
		free(got);
	}
	/* (18.16 has no FULL JOIN of this shape, 26.x no ANY FULL: a difference) */
	CHECK_EQ(
	    qu(c,
	       "SELECT count() FROM (SELECT t, %s, sum(b) AS s FROM (SELECT "
	       "toStartOfMinute(TimeReceived) AS t, %s, toInt64(Bytes) AS b FROM flows UNION "
	       "ALL SELECT TimeReceived AS t, %s, -toInt64(Bytes) AS b FROM flows_1m) GROUP BY "
	       "t, %s) WHERE s != 0",
	       dims, dims, dims, dims),
	    0);
}

TEST(consolidation_repair_after_a_crash)
{
	enum { N = 60 };
	struct flow flows[N];
	struct store_config cfg;
	struct store_client *c;
	struct store_writer *w;
	/* 10 minutes before an hour to 20 after, 3 hours ago */
	uint64_t base = ((uint64_t)time(NULL) / 3600 - 3) * 3600 - 600;

	test_config(&cfg, "weir_t_repair");
	cfg.consolidation_interval_ms = 3600000; /* only flush_all writes the sums */
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	REQUIRE(orch_migrate(c, &cfg, 0) >= 0);
	CHECK_EQ(store_consolidation_repair(c), 0); /* an empty journal */
	for (unsigned i = 0; i < N; i++)
		make_flow(&flows[i], i, base + 30 * i);

	/* A clean start: the second half written everywhere. */
	store_writer_new(&cfg, NULL, &w, NULL);
	REQUIRE(w);
	store_writer_journal(w);
	CHECK_EQ(store_writer_append(w, flows + N / 2, N / 2, 0), 0);
	CHECK_EQ(store_writer_flush_all(w, NULL, NULL), 0);
	check_tables_agree(c, __LINE__);
	CHECK_EQ(qu(c, "SELECT argMax(Dirty, Version) FROM consolidation_journal"), 0);
	/* Then the first half (older: the repair must go back to them, behind
	 * buckets already written) into flows only, and the process dies. */
	CHECK_EQ(store_writer_append(w, flows, N / 2, 0), 0);
	CHECK_EQ(store_writer_flush(w, NULL, NULL), 0);
	CHECK_EQ(store_writer_consolidation_pending(w), 1);
	CHECK_EQ(qu(c, "SELECT argMax(Low, Version) FROM consolidation_journal WHERE Dirty"), base);
	store_writer_discard(w);
	store_writer_free(w);
	CHECK(qu(c, "SELECT sum(Bytes) FROM flows") > qu(c, "SELECT sum(Bytes) FROM flows_1h"));

	/* Another writer of the process, dirty later, and one without the
	 * journal (Kafka: not repaired, replayed). */
	store_writer_new(&cfg, NULL, &w, NULL);
	REQUIRE(w);
	store_writer_journal(w);
	CHECK_EQ(store_writer_append(w, flows + N - 5, 5, 0), 0);
	CHECK_EQ(store_writer_flush(w, NULL, NULL), 0);
	store_writer_discard(w);
	store_writer_free(w);
	CHECK_EQ(qu(c, "SELECT uniqExact(Writer) FROM consolidation_journal"), 2);

	/* The restart: every table agrees with flows. */
	CHECK_EQ(store_consolidation_repair(c), 1);
	check_tables_agree(c, __LINE__);
	CHECK_EQ(qu(c, "SELECT count() FROM (SELECT DISTINCT ExporterAddress, IfIndex FROM "
		       "exporters)"),
		 qu(c, "SELECT count() FROM (SELECT DISTINCT ExporterAddress, arrayJoin([InIf, "
		       "OutIf]) FROM flows)"));
	/* Not twice: the journal is clean, a second repair does nothing. */
	CHECK_EQ(store_consolidation_repair(c), 0);
	check_tables_agree(c, __LINE__);

	/* A repair cut short (the journal still dirty) done again adds nothing. */
	CHECK_EQ(qu(c, "SELECT count() FROM consolidation_journal") > 0, 1);
	{
		char sql[256];

		snprintf(sql, sizeof(sql),
			 "INSERT INTO consolidation_journal (Writer, Dirty, Low, Version) VALUES "
			 "(0, 1, %llu, %llu)",
			 (unsigned long long)base,
			 (unsigned long long)qu(c, "SELECT max(Version) + 1 FROM "
						   "consolidation_journal"));
		CHECK_EQ(store_client_query(c, sql, NULL), 0);
	}
	CHECK_EQ(store_consolidation_repair(c), 1);
	check_tables_agree(c, __LINE__);

	/* And writing goes on from there, exactly. */
	store_writer_new(&cfg, NULL, &w, NULL);
	REQUIRE(w);
	store_writer_journal(w);
	CHECK_EQ(store_writer_append(w, flows, N, 0), 0);
	CHECK_EQ(store_writer_flush_all(w, NULL, NULL), 0);
	store_writer_free(w);
	check_tables_agree(c, __LINE__);
	CHECK_EQ(store_consolidation_repair(c), 0);
	store_client_free(c);
	store_config_free(&cfg);
}

/* Old rows go, by whole days, the same on both servers: 18.16 drops the
 * partitions in the retention pass, a current server by the TTL that the
 * pass sets (forced here rather than waited for), which follows the
 * configured retention when it changes. Never both. */
TEST(retention_drops_only_old_data)
{
	static const unsigned days_ago[] = {20, 16, 14, 10, 2, 0};
	enum { NDAYS = sizeof(days_ago) / sizeof(days_ago[0]) };
	struct flow flows[NDAYS * 3];
	struct store_config cfg;
	struct store_client *c;
	uint64_t now = (uint64_t)time(NULL);
	int ttl;

	test_config(&cfg, "weir_t_retention");
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	REQUIRE(orch_migrate(c, &cfg, 0) >= 0);
	ttl = uses_ttl(c);
	CHECK_EQ(ttl, test_clickhouse_embedded());
	CHECK_EQ(orch_retention_run(c, &cfg, now), 0); /* nothing to drop yet */
	if (ttl) {				       /* the defaults: 15 d, 7 d, 90 d, 1825 d */
		check_ttl(c, "flows", 15 * 86400ULL);
		check_ttl(c, "flows_1m", 7 * 86400ULL);
		check_ttl(c, "flows_5m", 90 * 86400ULL);
		check_ttl(c, "flows_1h", 1825 * 86400ULL);
	}
	/* Three rows per day, at the day's start, 1 h before now-age and at
	 * now-age itself: in one daily partition each (UTC server). */
	for (unsigned d = 0; d < NDAYS; d++) {
		uint64_t t = now - days_ago[d] * 86400ULL;
		uint64_t day = t / 86400 * 86400;
		uint64_t times[3] = {day, t > day + 3600 ? t - 3600 : day, t};
		for (unsigned k = 0; k < 3; k++) {
			make_flow(&flows[3 * d + k], 3 * d + k, times[k]);
		}
	}
	insert_flows(&cfg, flows, NDAYS * 3);
	/* flows 15 d, flows-1m 7 d, flows-5m 90 d, flows-1h 5 y (defaults but 1m). */
	/* Expected: flows drops days 20 and 16; flows_1m drops 20, 16, 14, 10. */
	if (ttl) {
		CHECK_EQ(orch_retention_run(c, &cfg, now), 0); /* no partition dropped */
		expire_now(c);
	} else {
		CHECK_EQ(orch_retention_run(c, &cfg, now), 6);
	}
	CHECK_EQ(qu(c, "SELECT count() FROM flows"), 4 * 3);
	CHECK_EQ(qu(c, "SELECT min(TimeReceived) >= toDateTime(%llu) FROM flows",
		    (unsigned long long)(now - 14 * 86400ULL) / 86400 * 86400),
		 1);
	CHECK_EQ(qu(c, "SELECT uniqExact(toDate(TimeReceived)) FROM flows_1m"), 2);
	CHECK_EQ(qu(c, "SELECT uniqExact(toDate(TimeReceived)) FROM flows_5m"), NDAYS);
	CHECK_EQ(qu(c, "SELECT uniqExact(toDate(TimeReceived)) FROM flows_1h"), NDAYS);
	/* Nothing more to do the second time. */
	CHECK_EQ(orch_retention_run(c, &cfg, now), 0);
	/* A 1-day retention on flows_5m leaves only today; 0 keeps everything.
	 * With TTL, the next pass sets it (the first one after a restart). */
	cfg.retention.flows = 0;
	cfg.retention.flows_1m = 0;
	cfg.retention.flows_5m = 1 * 86400000ULL;
	cfg.retention.flows_1h = 0;
	if (ttl) {
		CHECK_EQ(orch_retention_run(c, &cfg, now), 0);
		check_ttl(c, "flows", 0);
		check_ttl(c, "flows_1m", 0);
		check_ttl(c, "flows_5m", 86400);
		check_ttl(c, "flows_1h", 0);
		expire_now(c);
	} else {
		CHECK_EQ(orch_retention_run(c, &cfg, now), 5);
	}
	CHECK_EQ(qu(c, "SELECT uniqExact(toDate(TimeReceived)) FROM flows_5m"), 1);
	CHECK_EQ(qu(c, "SELECT count() FROM flows"), 4 * 3);
	CHECK_EQ(qu(c, "SELECT uniqExact(toDate(TimeReceived)) FROM flows_1h"), NDAYS);
	if (ttl) {
		/* Shorter again, then longer: the TTL follows; migrations
		 * leave it alone. */
		cfg.retention.flows = 3 * 86400000ULL;
		CHECK_EQ(orch_retention_run(c, &cfg, now), 0);
		check_ttl(c, "flows", 3 * 86400ULL);
		expire_now(c);
		CHECK_EQ(qu(c, "SELECT count() FROM flows"), 2 * 3);
		cfg.retention.flows = 30 * 86400000ULL;
		CHECK_EQ(orch_migrate(c, &cfg, 0), 0);
		check_ttl(c, "flows", 3 * 86400ULL);
		CHECK_EQ(orch_retention_run(c, &cfg, now), 0);
		check_ttl(c, "flows", 30 * 86400ULL);
		/* Unchanged: nothing altered. */
		CHECK_EQ(orch_retention_ttl_sync(c, &cfg), 0);
		{
			char *before =
			    qs(c, "SELECT groupArray(metadata_modification_time) FROM "
				  "(SELECT * FROM system.tables WHERE database = "
				  "currentDatabase() AND name LIKE 'flows%%' ORDER BY name)");
			char *after;

			sleep(1); /* an altered table would show a later time */
			CHECK_EQ(orch_retention_run(c, &cfg, now), 0);
			after = qs(c, "SELECT groupArray(metadata_modification_time) FROM (SELECT "
				      "* FROM system.tables WHERE database = currentDatabase() "
				      "AND name LIKE 'flows%%' ORDER BY name)");
			CHECK_STR(after, before);
			free(before);
			free(after);
		}
	}
	store_client_free(c);
	store_config_free(&cfg);
}

/* Where the TTL drops flows' parts (the embedded engine), an hour's
 * partition goes once all its rows expired: with the retention ending at
 * noon, 15 days ago, a row of 11:30 goes and one of 13:00 the same day
 * stays (in a day's partition, one part, both would stay). 18.16 drops
 * whole days (retention_drops_only_old_data). */
TEST(retention_by_the_hour_where_a_ttl_drops_parts)
{
	struct flow flows[2];
	struct store_config cfg;
	struct store_client *c;
	uint64_t now = (uint64_t)time(NULL);
	uint64_t noon = now / 86400 * 86400 - 15 * 86400ULL + 43200;

	test_config(&cfg, "weir_t_retention_hour");
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	REQUIRE(orch_migrate(c, &cfg, 0) >= 0);
	if (!uses_ttl(c)) {
		CHECK_QS(c, FLOWS_PARTITION_DAILY,
			 "SELECT partition_key FROM system.tables WHERE database = "
			 "currentDatabase() AND name = 'flows' FORMAT TabSeparatedRaw");
		goto out;
	}
	make_flow(&flows[0], 0, noon - 1800);
	make_flow(&flows[1], 1, noon + 3600);
	insert_flows(&cfg, flows, 2);
	CHECK_EQ(qu(c, "SELECT uniqExact(partition) FROM system.parts WHERE active AND database = "
		       "currentDatabase() AND table = 'flows'"),
		 2);
	cfg.retention.flows = (now - noon) * 1000;
	CHECK_EQ(orch_retention_run(c, &cfg, now), 0);
	expire_now(c);
	CHECK_EQ(qu(c, "SELECT count() FROM flows"), 1);
	CHECK_EQ(qu(c, "SELECT SrcPort FROM flows"), 1001);
out:
	store_client_free(c);
	store_config_free(&cfg);
}

/* ---- read-only sessions (the console's on the embedded engine) ---- */

/* A session given store_reader_settings()'s statement writes nothing,
 * changes no setting and is bounded by clickhouse.query-endpoint's limits;
 * on a server there is no such statement (its read-only user does it). */
TEST(readonly_session_refuses_writes_and_keeps_limits)
{
	struct store_config cfg;
	struct store_client *c, *ro;
	char set[512];

	test_config(&cfg, "weir_t_ro");
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	REQUIRE(store_client_query_nodb(c, "CREATE DATABASE weir_t_ro", NULL) == 0);
	REQUIRE(store_client_query(c, "CREATE TABLE t (x UInt64) ENGINE = MergeTree ORDER BY x",
				   NULL) == 0);
	REQUIRE(store_client_query(c, "INSERT INTO t SELECT number FROM system.numbers LIMIT 100",
				   NULL) == 0);
	cfg.query_endpoint.max_rows_to_read = 150;
	if (!test_clickhouse_embedded()) {
		CHECK_EQ(store_reader_settings(&cfg, set, sizeof(set)), 0);
		CHECK_STR(set, "");
		goto out;
	}
	CHECK_EQ(store_reader_settings(&cfg, set, sizeof(set)), 1);
	store_client_new(&cfg, &ro, NULL);
	REQUIRE(ro);
	REQUIRE(store_client_query_nodb(ro, set, NULL) == 0);
	CHECK_EQ(qu(ro, "SELECT sum(x) FROM t"), 4950);
	CHECK_EQ(store_client_query(ro, "INSERT INTO t VALUES (1000)", NULL), -EIO);
	CHECK(strstr(store_client_error(ro), "READONLY"));
	CHECK_EQ(store_client_query(ro, "CREATE TABLE t2 (x UInt8) ENGINE = Memory", NULL), -EIO);
	CHECK_EQ(store_client_query(ro, "SET readonly = 0", NULL), -EIO);
	REQUIRE(store_client_query(c, "INSERT INTO t SELECT number FROM system.numbers LIMIT 100",
				   NULL) == 0);
	CHECK_EQ(store_client_query(ro, "SELECT sum(x) FROM t", NULL), -EIO);
	CHECK(strstr(store_client_error(ro), "TOO_MANY_ROWS"));
	store_client_free(ro);
	CHECK_EQ(qu(c, "SELECT count() FROM t"), 200);
out:
	store_client_free(c);
	store_config_free(&cfg);
}

/* ---- weir orchestrator command ---- */

TEST(orchestrator_command_once)
{
	struct store_config cfg;
	struct store_client *c;
	char path[512], cmd[1200];
	const char *build = getenv("WEIR_BUILD");
	FILE *f;

	if (test_clickhouse_embedded())
		SKIP("weir processes of their own: the embedded engine's directory is this one's");
	test_config(&cfg, "weir_t_cli");
	if (!build)
		SKIP("WEIR_BUILD not set (run through tests/run.sh)");
	snprintf(path, sizeof(path), "%s/weir-store-cli.yaml", test_clickhouse_dir());
	f = fopen(path, "w");
	REQUIRE(f);
	fprintf(f,
		"clickhouse:\n  url: %s\n  database: weir_t_cli\n  retention:\n    flows: 1d\n"
		"    flows-1h: 1825d\n  retention-interval: 10m\n",
		cfg.url);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "'%s/weir' orchestrator -c '%s' --once 2>/dev/null", build,
		 path);
	CHECK_EQ(system(cmd), 0);
	CHECK_EQ(system(cmd), 0);
	store_client_new(&cfg, &c, NULL);
	REQUIRE(c);
	CHECK_EQ(qu(c, "SELECT count() FROM schema_migrations"), ORCH_SCHEMA_VERSION);
	store_client_free(c);
	snprintf(cmd, sizeof(cmd), "'%s/weir' orchestrator --help >/dev/null", build);
	CHECK_EQ(system(cmd), 0);
	store_config_free(&cfg);
}
