/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The console's filter language (Akvorado's): a parser into a typed tree
 * checked against the columns below, and a printer of that tree as SQL in
 * which every value is a typed or escaped literal. Internal to user/console/
 * (and its tests); not thread-affine, no global state. */
#ifndef WEIR_CONSOLE_FILTER_H
#define WEIR_CONSOLE_FILTER_H

#include <stddef.h>
#include <stdint.h>

enum filter_type {
	FILTER_T_ADDR,	     /* FixedString(16), IPv4 mapped */
	FILTER_T_STRING,     /* String, LowCardinality(String), FixedString(2) */
	FILTER_T_UINT,	     /* UInt8..UInt64 (bits says which) */
	FILTER_T_ASN,	     /* UInt32, AS15169 or 15169 */
	FILTER_T_MAC,	     /* UInt64 */
	FILTER_T_BOUNDARY,   /* Enum8 undefined/external/internal */
	FILTER_T_DIRECTION,  /* Enum8 undefined/ingress/egress */
	FILTER_T_ETYPE,	     /* UInt32: IPv4 / IPv6 */
	FILTER_T_PROTO,	     /* UInt8, by number or name */
	FILTER_T_ASPATH,     /* Array(UInt32): = means "contains" */
	FILTER_T_COMMUNITY,  /* Array(UInt32) of 65000:100 */
	FILTER_T_LCOMMUNITY, /* Nested(ASN, LocalData1, LocalData2) */
};

/* One column the console knows. `reverse` is the name with Src<->Dst and
 * In<->Out swapped (itself when there is none). */
struct filter_column {
	const char *name;
	enum filter_type type;
	uint8_t bits; /* FILTER_T_UINT: 8, 16, 32, 64 */
	const char *reverse;
	unsigned flags;
};
#define FILTER_COL_CONSOLIDATED 1u /* in flows_1m/5m/1h too */
#define FILTER_COL_DIMENSION	2u /* may be grouped by */
#define FILTER_COL_TRUNCATABLE	4u /* an address: truncate-v4/v6 apply */

extern const struct filter_column filter_columns[];
extern const size_t filter_columns_count;

/* Case-insensitive lookup of a column (NULL when unknown). */
const struct filter_column *filter_column_find(const char *name, size_t len);

/* Where and why a filter is wrong: line and column from 1 (columns count
 * UTF-8 characters), offset in bytes from 0. */
struct filter_error {
	char message[256];
	int line, column, offset;
};

struct filter;

/* Deepest nesting of parentheses and NOT a filter may have. */
#define FILTER_MAX_DEPTH 100

/* Parses text[0..len) (need not be NUL-terminated; an empty or blank filter
 * matches everything). Returns 0 with *out (free with filter_free()), or
 * -EINVAL with *out = NULL and `fe` filled, or -ENOMEM. */
int filter_parse(const char *text, size_t len, struct filter **out, struct filter_error *fe);
void filter_free(struct filter *f); /* accepts NULL */

/* The filter as a SQL boolean expression, malloc'd, NUL-terminated ("1" for
 * an empty filter); with `reverse`, every column replaced by its reverse
 * (Src<->Dst, In<->Out). Returns 0 or -ENOMEM. */
int filter_sql(const struct filter *f, int reverse, char **out);

/* 1 when every column the filter names is in the consolidated tables. */
int filter_consolidated(const struct filter *f);

/* The name of IP protocol `num` ("tcp"), NULL when it has none. */
const char *filter_proto_name(unsigned num);

/* Appends `s` (len bytes) to `out` as a ClickHouse string literal ('...',
 * with ' \ and control bytes escaped). out must hold 4 * len + 3 bytes.
 * Returns the length written (no NUL added). */
size_t filter_quote(const char *s, size_t len, char *out);

#endif
