/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The table of decoded columns: Akvorado's column name, its kind and where it
 * sits in struct flow. JSON output, ClickHouse rows and the bus message all
 * walk this one table so a column is added in one place. */
#ifndef WEIR_COMMON_FLOW_SCHEMA_H
#define WEIR_COMMON_FLOW_SCHEMA_H

#include <stddef.h>
#include <stdio.h>

#include "flow.h"

enum flow_field_kind {
	FLOW_FIELD_U8,
	FLOW_FIELD_U16,
	FLOW_FIELD_U32,
	FLOW_FIELD_U64,
	FLOW_FIELD_ADDR,		  /* struct in6_addr, printed as text (IPv4 dotted) */
	FLOW_FIELD_MAC,			  /* uint64_t, printed aa:bb:cc:dd:ee:ff */
	FLOW_FIELD_DIRECTION,		  /* uint8_t enum flow_direction, printed as a word */
	FLOW_FIELD_U32_ARRAY,		  /* uint32_t[], count in a uint8_t at count_offset */
	FLOW_FIELD_LARGE_COMMUNITY_ARRAY, /* struct flow_large_community[] */
};

struct flow_field {
	const char *name; /* the ClickHouse column name */
	enum flow_field_kind kind;
	size_t offset;
	size_t count_offset; /* arrays only */
};

/* The columns in a fixed order (the order of the ClickHouse flows table's
 * decoded columns). flow_fields_count is the number of entries. */
extern const struct flow_field flow_fields[];
extern const size_t flow_fields_count;

/* Returns the entry named `name`, or NULL. */
const struct flow_field *flow_field_find(const char *name);

/* 1 when the field holds its zero value in `f` (0, all-zero address, empty
 * array, undefined direction), else 0. */
int flow_field_is_zero(const struct flow *f, const struct flow_field *field);

/* Reads an integer field (U8..U64, DIRECTION, MAC) as uint64_t. */
unsigned long long flow_field_get_uint(const struct flow *f, const struct flow_field *field);

/* Writes `f` as one JSON object (no newline), keys = column names, leaving
 * out zero fields (an IPv4 0.0.0.0 address counts as zero). Returns 0 or
 * -errno from the stream. */
int flow_write_json(FILE *out, const struct flow *f);

#endif
