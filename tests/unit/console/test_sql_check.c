// SPDX-License-Identifier: AGPL-3.0-or-later
/* The query endpoint's SQL check: reading statements pass with their FORMAT
 * clause found; what the engine's readonly=1 lets through (the file()
 * function however quoted, INTO OUTFILE, KILL, a second statement,
 * DESCRIBE of table functions) is refused with ClickHouse's codes, also
 * when comments, strings and heredocs try to hide it. */
#include <stdlib.h>
#include <string.h>

#include "common/urltext.h"
#include "console/console_internal.h"
#include "test.h"

static int check(const char *sql, char *format)
{
	char why[512], fmt[64];

	return console_sql_check(sql, strlen(sql), format ? format : fmt, 64, why, sizeof(why));
}

TEST(reading_statements_pass)
{
	static const char *const ok[] = {
	    "SELECT 1",
	    "  select count() FROM flows",
	    "-- a comment\nSELECT 1",
	    "/* a /* nested */ comment */ SELECT 1",
	    "(SELECT 1) UNION ALL (SELECT 2)",
	    "WITH 1 AS x SELECT x",
	    "SHOW TABLES",
	    "DESCRIBE TABLE flows",
	    "DESC flows",
	    "EXISTS TABLE flows",
	    "EXPLAIN SELECT 1",
	    "SELECT 1;",
	    "SELECT 1;  \n",
	    "SELECT formatDateTime(now(), '%F'), profile FROM flows",
	    "SELECT * FROM numbers(10)",
	    "SELECT 'it''s', \"a b\", `c` FROM flows",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int r = check(ok[i], NULL);

		if (r != 0)
			test_fail_at(__FILE__, __LINE__, "%s: refused (%d)", ok[i], r);
	}
}

TEST(format_clause_found)
{
	char fmt[64];

	CHECK_EQ(check("SELECT 1 FORMAT JSON", fmt), 0);
	CHECK(strcmp(fmt, "JSON") == 0);
	CHECK_EQ(check("SELECT 1 format JSONEachRow;", fmt), 0);
	CHECK(strcmp(fmt, "JSONEachRow") == 0);
	CHECK_EQ(check("SELECT 'FORMAT CSV'", fmt), 0);
	CHECK(strcmp(fmt, "") == 0);
	CHECK_EQ(check("SELECT 1 -- FORMAT CSV", fmt), 0);
	CHECK(strcmp(fmt, "") == 0);
}

TEST(writes_ddl_system_settings_refused)
{
	static const char *const bad[] = {
	    "INSERT INTO flows VALUES (1)",
	    "CREATE TABLE x (a UInt8) ENGINE = Memory",
	    "DROP TABLE flows",
	    "ALTER TABLE flows DELETE WHERE 1",
	    "TRUNCATE TABLE flows",
	    "SYSTEM FLUSH LOGS",
	    "SET readonly = 0",
	    "OPTIMIZE TABLE flows",
	    "USE system",
	    "RENAME TABLE flows TO f2",
	    "GRANT ALL ON *.* TO default",
	    "/* SELECT */ DROP TABLE flows",
	    "-- SELECT\nDROP TABLE flows",
	    "",
	    "  -- nothing\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = check(bad[i], NULL);

		if (r != 164 && r != 62)
			test_fail_at(__FILE__, __LINE__, "%s: %d, expected 164 or 62", bad[i], r);
	}
}

TEST(what_readonly_lets_through_refused)
{
	static const struct {
		const char *sql;
		int code;
	} bad[] = {
	    {"SELECT file('/etc/passwd')", 497},
	    {"SELECT FILE ('/etc/passwd')", 497},
	    {"SELECT file/* x */('/etc/passwd')", 497},
	    {"SELECT `file`('/etc/passwd')", 497},
	    {"SELECT `fi\\x6ce`('/etc/passwd')", 497},
	    {"SELECT \"fi\\x6ce\"('/etc/passwd')", 497},
	    {"SELECT * FROM file('/etc/passwd', LineAsString)", 497},
	    {"DESCRIBE file('/etc/passwd', LineAsString)", 497},
	    {"DESCRIBE TABLE url('http://192.0.2.1/', CSV)", 497},
	    {"SELECT * FROM url('http://192.0.2.1/', CSV, 'a String')", 497},
	    {"SELECT * FROM s3('http://192.0.2.1/x', CSV, 'a String')", 497},
	    {"SELECT * FROM remote('192.0.2.1', system.one)", 497},
	    {"SELECT * FROM mysql('192.0.2.1:3306', 'd', 't', 'u', 'p')", 497},
	    {"SELECT * FROM postgresql('192.0.2.1:5432', 'd', 't', 'u', 'p')", 497},
	    {"SELECT * FROM hdfs('hdfs://192.0.2.1/x', CSV, 'a String')", 497},
	    {"SELECT * FROM executable('ls', TSV, 'a String')", 497},
	    {"SELECT * FROM input('a String')", 497},
	    {"SELECT * FROM jdbc('x', 'y', 'z')", 497},
	    {"SELECT * FROM odbc('x', 'y', 'z')", 497},
	    {"SELECT * FROM sqlite('/tmp/x.db', 't')", 497},
	    {"SELECT * FROM fileCluster('c', '/etc/passwd')", 497},
	    {"SELECT * FROM iceberg('/tmp/x')", 497},
	    {"SELECT 1 INTO OUTFILE '/tmp/x'", 164},
	    {"SELECT 1 INTO\nOUTFILE '/tmp/x' FORMAT CSV", 164},
	    {"KILL QUERY WHERE 1", 164},
	    {"SELECT 1; KILL QUERY WHERE 1", 62},
	    {"SELECT 1; SELECT 2", 62},
	    /* hidden from a lexer that would not know ClickHouse's comments */
	    {"SELECT 1 # '\n; KILL QUERY WHERE 1 -- '", 62},
	    {"SELECT 1 /* /* */ ' */ ; SELECT file('/etc/passwd') -- '", 62},
	    {"SELECT $$'$$, file('/etc/passwd'), $$'$$", 497},
	    {"SELECT 'a\\'', file('/etc/passwd')", 497},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = check(bad[i].sql, NULL);

		if (r != bad[i].code)
			test_fail_at(__FILE__, __LINE__, "%s: %d, expected %d", bad[i].sql, r,
				     bad[i].code);
	}
}

TEST(url_parameters_and_base64)
{
	const char q[] = "database=weir&query=SELECT+1%2C%202&x&default_format=CSV";
	char *v = NULL, dec[64];
	size_t n = 0;

	CHECK_EQ(urltext_param(q, strlen(q), "query", &v, &n), 1);
	CHECK(v && strcmp(v, "SELECT 1, 2") == 0 && n == 11);
	free(v);
	CHECK_EQ(urltext_param(q, strlen(q), "x", &v, &n), 1);
	CHECK(v && v[0] == 0);
	free(v);
	CHECK_EQ(urltext_param(q, strlen(q), "user", &v, &n), 0);
	CHECK(v == NULL);
	CHECK_EQ(urltext_base64_decode("YWxpY2U6c2VjcmV0", 16, dec, sizeof(dec)), 12);
	CHECK(strcmp(dec, "alice:secret") == 0);
	CHECK(urltext_base64_decode("a!b", 3, dec, sizeof(dec)) < 0);
}
