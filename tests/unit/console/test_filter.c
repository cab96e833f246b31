// SPDX-License-Identifier: AGPL-3.0-or-later
/* The console's filter language: every operator and column type into the
 * exact SQL, the reverse direction, every error with its position, and
 * hostile inputs (quotes, comments, unicode, 1 MB, 10,000 parentheses)
 * whose SQL passes the oracle. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fuzz/filter_oracle.h"
#include "console/filter.h"
#include "test.h"

/* The SQL of `text` (reverse or not), checked by the oracle; "ERR" if it
 * does not parse. The returned buffer is static. */
static const char *sql_of(const char *text, int reverse)
{
	static char out[4096];
	struct filter *f;
	struct filter_error fe;
	char *sql;
	const char *why = "";

	if (filter_parse(text, strlen(text), &f, &fe) < 0)
		return "ERR";
	REQUIRE(filter_sql(f, reverse, &sql) == 0);
	if (filter_oracle_check(sql, &why) < 0)
		test_fail_at(__FILE__, __LINE__, "oracle: %s: %s", why, sql);
	snprintf(out, sizeof(out), "%s", sql);
	free(sql);
	filter_free(f);
	return out;
}

#define EXPECT(text, want)                                                                         \
	do {                                                                                       \
		const char *got_ = sql_of(text, 0);                                                \
		if (strcmp(got_, want))                                                            \
			test_fail_at(__FILE__, __LINE__, "%s\n  got:  %s\n  want: %s", text, got_, \
				     want);                                                        \
	} while (0)

TEST(numbers_and_asns)
{
	EXPECT("", "1");
	EXPECT("  -- nothing\n", "1");
	EXPECT("SrcPort = 443", "SrcPort = 443");
	EXPECT("srcport != 443", "NOT (SrcPort = 443)");
	EXPECT("DstPort >= 1024", "DstPort >= 1024");
	EXPECT("DstPort < 10", "DstPort < 10");
	EXPECT("DstPort IN (80, 443)", "(DstPort = 80 OR DstPort = 443)");
	EXPECT("DstPort NOTIN (80)", "NOT (DstPort = 80)");
	EXPECT("SrcPort < DstPort", "SrcPort < DstPort");
	EXPECT("SrcAS = AS15169", "SrcAS = 15169");
	EXPECT("SrcAS = 15169", "SrcAS = 15169");
	EXPECT("SrcAS = as4294967295", "SrcAS = 4294967295");
	EXPECT("Proto = tcp", "Proto = 6");
	EXPECT("Proto = 'UDP'", "Proto = 17");
	EXPECT("Proto IN (6, icmp)", "(Proto = 6 OR Proto = 1)");
	EXPECT("EType = IPv6", "EType = 34525");
	EXPECT("DstASPath = AS64500", "has(DstASPath, 64500)");
	EXPECT("DstASPath != 64500", "NOT (has(DstASPath, 64500))");
	EXPECT("DstCommunities = 65000:100", "has(DstCommunities, 4259840100)");
	EXPECT("DstLargeCommunities = 65000:1:2",
	       "arrayExists((x, y, z) -> x = 65000 AND y = 1 AND z = 2, DstLargeCommunities.ASN, "
	       "DstLargeCommunities.LocalData1, DstLargeCommunities.LocalData2)");
	EXPECT("SrcMAC = aa:bb:cc:dd:ee:0f", "SrcMAC = 187723572702735");
	EXPECT("InIfBoundary = EXTERNAL", "InIfBoundary = 'external'");
	EXPECT("FlowDirection = ingress", "FlowDirection = 'ingress'");
}

TEST(strings)
{
	EXPECT("ExporterName = \"edge-1\"", "ExporterName = 'edge-1'");
	EXPECT("ExporterName = 'a\\'b\\\"c\\\\d'", "ExporterName = 'a\\'b\"c\\\\d'");
	EXPECT("ExporterName LIKE 'edge%'", "ExporterName LIKE 'edge%'");
	EXPECT("ExporterName ILIKE 'Edge%'", "lower(ExporterName) LIKE lower('Edge%')");
	EXPECT("ExporterName UNLIKE 'e%'", "NOT ExporterName LIKE 'e%'");
	EXPECT("ExporterName IUNLIKE 'e%'", "NOT lower(ExporterName) LIKE lower('e%')");
	EXPECT("SrcCountry IN ('FR', \"DE\")", "(SrcCountry = 'FR' OR SrcCountry = 'DE')");
	EXPECT("InIfDescription = \"x'; DROP TABLE flows; --\"",
	       "InIfDescription = 'x\\'; DROP TABLE flows; --'");
	EXPECT("InIfDescription = \"caf\xc3\xa9 \xe2\x98\x83\"",
	       "InIfDescription = 'caf\xc3\xa9 \xe2\x98\x83'");
	EXPECT("InIfDescription = \"tab\there\"", "InIfDescription = 'tab\\x09here'");
}

TEST(addresses)
{
	EXPECT("SrcAddr = 192.0.2.1", "SrcAddr = unhex('00000000000000000000ffffc0000201')");
	EXPECT("SrcAddr << 192.0.2.0/24",
	       "(SrcAddr >= unhex('00000000000000000000ffffc0000200') AND SrcAddr <= "
	       "unhex('00000000000000000000ffffc00002ff'))");
	EXPECT("DstAddr !<< 2001:db8::/32",
	       "NOT ((DstAddr >= unhex('20010db8000000000000000000000000') AND DstAddr <= "
	       "unhex('20010db8ffffffffffffffffffffffff')))");
	EXPECT("ExporterAddress IN (10.0.0.1)",
	       "(ExporterAddress = unhex('00000000000000000000ffff0a000001'))");
}

TEST(logic_and_comments)
{
	EXPECT("SrcAS = 1 AND DstAS = 2 OR SrcAS = 3", "((SrcAS = 1 AND DstAS = 2) OR SrcAS = 3)");
	EXPECT("SrcAS = 1 and (DstAS = 2 or SrcAS = 3)",
	       "(SrcAS = 1 AND (DstAS = 2 OR SrcAS = 3))");
	EXPECT("not SrcAS = 1", "NOT (SrcAS = 1)");
	EXPECT("!(SrcAS = 1) && DstAS = 2 || DstAS = 3",
	       "((NOT (SrcAS = 1) AND DstAS = 2) OR DstAS = 3)");
	EXPECT("SrcAS = 1 /* a\n comment */ AND -- line\n DstAS = 2", "(SrcAS = 1 AND DstAS = 2)");
}

TEST(reverse)
{
	CHECK(!strcmp(sql_of("SrcAS = 1 AND InIfName = 'a' AND SrcPort < DstPort", 1),
		      "(DstAS = 1 AND OutIfName = 'a' AND DstPort < SrcPort)"));
	CHECK(!strcmp(sql_of("ExporterName = 'e' AND SrcNetTenant = 't'", 1),
		      "(ExporterName = 'e' AND DstNetTenant = 't')"));
}

static void expect_error(const char *text, int line, int column, const char *needle)
{
	struct filter *f = (struct filter *)1;
	struct filter_error fe;
	int r = filter_parse(text, strlen(text), &f, &fe);

	if (r != -EINVAL || f != NULL || fe.line != line || fe.column != column ||
	    !strstr(fe.message, needle))
		test_fail_at(__FILE__, __LINE__,
			     "%s: r=%d line %d column %d \"%s\" (want %d:%d \"%s\")", text, r,
			     fe.line, fe.column, fe.message, line, column, needle);
	filter_free(r == 0 ? f : NULL);
}

TEST(errors)
{
	expect_error("SrcAS = = 1", 1, 9, "AS number");
	expect_error("Nope = 1", 1, 1, "unknown column");
	expect_error("SrcAS 1", 1, 7, "expected an operator");
	expect_error("SrcAS LIKE '1'", 1, 7, "not allowed");
	expect_error("ExporterName = edge", 1, 16, "quoted string");
	expect_error("ExporterName = 'edge", 1, 16, "unterminated string");
	expect_error("SrcPort = 65536", 1, 11, "number");
	expect_error("SrcAddr = 300.1.1.1", 1, 11, "address");
	expect_error("SrcAddr = 10.0.0.0/33", 1, 11, "address");
	expect_error("SrcAS = 1 AND", 1, 14, "end of the filter");
	expect_error("SrcAS = 1 DstAS = 2", 1, 11, "expected AND, OR");
	expect_error("(SrcAS = 1", 1, 11, "expected )");
	expect_error("SrcAS = 1\n  AND\n   Bogus = 2", 3, 4, "unknown column");
	expect_error("/* open", 1, 1, "unterminated comment");
	expect_error("SrcPort < DstAS", 1, 11, "same type");
	expect_error("DstPort IN (1, 2", 1, 17, "expected , or )");
	expect_error("DstPort IN 1", 1, 12, "expected (");
	expect_error("InIfBoundary = outside", 1, 16, "boundary");
	expect_error("DstCommunities = 70000:1", 1, 18, "community");
	expect_error("EType = IPv5", 1, 9, "EType");
	expect_error("\xc3\xa9t\xc3\xa9 = 1", 1, 1, "column");
	expect_error("SrcAS = 1 ; DROP TABLE flows", 1, 11, "expected AND, OR");
}

TEST(hostile)
{
	size_t n = 1 << 20;
	char *big = malloc(n + 64);
	struct filter *f;
	struct filter_error fe;
	char *sql;
	const char *why;
	size_t len = 0;

	REQUIRE(big);
	/* 10,000 nested parentheses: an error, not a stack overflow. */
	for (int i = 0; i < 10000; i++)
		big[len++] = '(';
	len += (size_t)sprintf(big + len, "SrcAS = 1");
	for (int i = 0; i < 10000; i++)
		big[len++] = ')';
	CHECK(filter_parse(big, len, &f, &fe) == -EINVAL);
	CHECK(strstr(fe.message, "nested too deeply") != NULL);
	/* 10,000 NOTs too. */
	len = 0;
	for (int i = 0; i < 10000; i++)
		len += (size_t)sprintf(big + len, "NOT ");
	len += (size_t)sprintf(big + len, "SrcAS = 1");
	CHECK(filter_parse(big, len, &f, &fe) == -EINVAL);
	/* 1 MB of terms: parses, the SQL passes the oracle. */
	len = 0;
	while (len < n - 40)
		len += (size_t)sprintf(big + len, "SrcAS = %zu OR ", len);
	len += (size_t)sprintf(big + len, "DstAS = 1");
	REQUIRE(filter_parse(big, len, &f, &fe) == 0);
	REQUIRE(filter_sql(f, 1, &sql) == 0);
	CHECK(filter_oracle_check(sql, &why) == 0);
	free(sql);
	filter_free(f);
	/* 1 MB string of quotes and backslashes. */
	len = (size_t)sprintf(big, "InIfDescription = '");
	while (len < n - 4) {
		char c = len % 3 ? '\'' : '\\';

		big[len++] = '\\';
		big[len++] = c;
	}
	big[len++] = '\'';
	REQUIRE(filter_parse(big, len, &f, &fe) == 0);
	REQUIRE(filter_sql(f, 0, &sql) == 0);
	CHECK(filter_oracle_check(sql, &why) == 0);
	free(sql);
	filter_free(f);
	/* A NUL byte is refused. */
	CHECK(filter_parse("SrcAS = 1\0x", 11, &f, &fe) == -EINVAL);
	free(big);
}

TEST(consolidated)
{
	struct filter *f;
	struct filter_error fe;

	REQUIRE(filter_parse("SrcAS = 1 AND InIfName = 'a'", 28, &f, &fe) == 0);
	CHECK(filter_consolidated(f));
	filter_free(f);
	REQUIRE(filter_parse("SrcAS = 1 AND SrcPort = 1", 25, &f, &fe) == 0);
	CHECK(!filter_consolidated(f));
	filter_free(f);
}
