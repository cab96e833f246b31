// SPDX-License-Identifier: AGPL-3.0-or-later
/* The console's JSON reader: \u escapes become UTF-8 (one to four bytes,
 * surrogate pairs joined), and a bad hex digit is an error. */
#include <stdlib.h>
#include <string.h>

#include "console/json.h"
#include "test.h"

static void check_string(const char *text, const char *want, size_t want_len)
{
	struct json *j = NULL;
	char err[128];

	REQUIRE(json_parse(text, strlen(text), &j, err, sizeof(err)) == 0);
	REQUIRE(j->type == JSON_STRING);
	CHECK_EQ(j->len, want_len);
	CHECK(memcmp(j->str, want, want_len) == 0);
	json_free(j);
}

TEST(json_unicode_escapes_become_utf8)
{
	check_string("\"a\\u0041\"", "aA", 2);
	check_string("\"\\u00e9\"", "\xc3\xa9", 2);
	check_string("\"\\u20AC\"", "\xe2\x82\xac", 3);
	check_string("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4);
}

TEST(json_bad_unicode_escape_is_an_error)
{
	struct json *j = NULL;
	char err[128];

	CHECK(json_parse("\"\\u00g9\"", 8, &j, err, sizeof(err)) < 0);
	CHECK(j == NULL);
}
