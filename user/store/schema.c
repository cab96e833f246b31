// SPDX-License-Identifier: AGPL-3.0-or-later
/* What the store knows of the tables it writes: the ClickHouse type of each
 * decoded column, which are stored, how each becomes a Native column, and
 * the sorting keys and columns of flows and of the consolidated tables. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* The console's queries all carry a time range; then they filter or group
 * by exporter and interface (Akvorado's key): the primary key. The key goes
 * on past it only for compression: rows of one AS pair and one host end up
 * side by side (26.5 -> 18.7 bytes per flow, weir bench store). The time is
 * the second, as stored (schema step 1 since session 11; before, its
 * minute): the writer's batches are runs of consecutive seconds, so the
 * parts a merge takes are nearly disjoint ranges of the key instead of
 * parts of one minute interleaved row by row (user/store/README.md,
 * "Sustained rate: merges"). */
const char *const store_flows_sort_key[] = {
    "TimeReceived", "ExporterAddress", "InIfName", "OutIfName", "InIf", "OutIf",
    "SrcAS",	    "DstAS",	       "SrcAddr",  "DstAddr",	NULL};

/* Dimensions kept in the consolidated tables: no addresses, ports, MACs,
 * NAT, IP header fields or arrays (Akvorado keeps the same split). Order =
 * the sorting key: what the console filters on first. */
const char *const store_consolidated_dims[] = {
    "TimeReceived", "ExporterAddress", "EType", "Proto", "InIfName", "SrcAS", "ForwardingStatus",
    "OutIfName", "DstAS", "SamplingRate",
    /* the primary key ends here (STORE_CONSOLIDATED_PRIMARY_KEY_DIMS); the rest only sort */
    "ExporterName", "ExporterGroup", "ExporterRole", "ExporterSite", "ExporterRegion",
    "ExporterTenant", "SrcNetName", "DstNetName", "SrcNetRole", "DstNetRole", "SrcNetSite",
    "DstNetSite", "SrcNetRegion", "DstNetRegion", "SrcNetTenant", "DstNetTenant", "SrcCountry",
    "DstCountry", "InIf", "OutIf", "InIfDescription", "OutIfDescription", "InIfSpeed", "OutIfSpeed",
    "InIfConnectivity", "OutIfConnectivity", "InIfProvider", "OutIfProvider", "InIfBoundary",
    "OutIfBoundary", "FlowDirection"};
const size_t store_consolidated_dims_count =
    sizeof(store_consolidated_dims) / sizeof(store_consolidated_dims[0]);
const char *const store_dst_nth_as[3] = {"Dst1stAS", "Dst2ndAS", "Dst3rdAS"};

const char store_exporters_columns[] = "TimeReceived, ExporterAddress, IfIndex";

static const char direction_type[] = "Enum8('undefined' = 0, 'ingress' = 1, 'egress' = 2)";
static const char *const lc_members[] = {"ASN", "LocalData1", "LocalData2"};

const char *store_field_type(const struct flow_field *field)
{
	if (!strcmp(field->name, "TimeReceived"))
		return "DateTime";
	switch (field->kind) {
	case FLOW_FIELD_U8:
		return "UInt8";
	case FLOW_FIELD_U16:
		return "UInt16";
	case FLOW_FIELD_U32:
		return "UInt32";
	case FLOW_FIELD_U64:
	case FLOW_FIELD_MAC:
		return "UInt64";
	case FLOW_FIELD_ADDR:
		return "FixedString(16)";
	case FLOW_FIELD_DIRECTION:
		return direction_type;
	case FLOW_FIELD_U32_ARRAY:
		return "Array(UInt32)";
	case FLOW_FIELD_LARGE_COMMUNITY_ARRAY:
		return "Nested(ASN UInt32, LocalData1 UInt32, LocalData2 UInt32)";
	}
	return "String";
}

int store_field_stored(const struct flow_field *field)
{
	return strcmp(field->name, "TimeFlowStartMs") != 0 &&
	       strcmp(field->name, "TimeFlowEndMs") != 0;
}

int store_column_is_array(const struct store_column *c)
{
	return c->enc == STORE_ENC_ARRAY_U32 || c->enc == STORE_ENC_LARGE_COMMUNITY;
}

/* The capacity of each array of struct flow: a count past it (the decoders
 * cap theirs the same way) is never read beyond. */
static unsigned array_capacity(const struct flow_field *f)
{
	if (f->kind == FLOW_FIELD_LARGE_COMMUNITY_ARRAY)
		return FLOW_MAX_LARGE_COMMUNITIES;
	if (f->offset == offsetof(struct flow, mpls_labels))
		return FLOW_MAX_MPLS_LABELS;
	if (f->offset == offsetof(struct flow, dst_as_path))
		return FLOW_MAX_AS_PATH;
	return FLOW_MAX_COMMUNITIES;
}

int store_flows_columns(struct store_column **out, size_t *count)
{
	struct store_column *cols;
	size_t n = 0, k = 0;

	*out = NULL;
	*count = 0;
	for (size_t i = 0; i < flow_fields_count; i++)
		n += flow_fields[i].kind == FLOW_FIELD_LARGE_COMMUNITY_ARRAY ? 3 : 1;
	/* (n counts the fields left out too: a few spare entries) */
	cols = calloc(n, sizeof(*cols));
	if (!cols)
		return -ENOMEM;
	for (size_t i = 0; i < flow_fields_count; i++) {
		const struct flow_field *f = &flow_fields[i];
		struct column_shape {
			enum store_enc enc;
			unsigned width;
		} shape = {STORE_ENC_U8, 1};

		if (!store_field_stored(f))
			continue;
		switch (f->kind) {
		case FLOW_FIELD_U8:
		case FLOW_FIELD_DIRECTION:
			break;
		case FLOW_FIELD_U16:
			shape = (struct column_shape){STORE_ENC_U16, 2};
			break;
		case FLOW_FIELD_U32:
			shape = (struct column_shape){STORE_ENC_U32, 4};
			break;
		case FLOW_FIELD_U64:
		case FLOW_FIELD_MAC:
			shape = !strcmp(f->name, "TimeReceived")
				    ? (struct column_shape){STORE_ENC_DATETIME, 4}
				    : (struct column_shape){STORE_ENC_U64, 8};
			break;
		case FLOW_FIELD_ADDR:
			shape = (struct column_shape){STORE_ENC_FIXED16, 16};
			break;
		case FLOW_FIELD_U32_ARRAY:
			shape = (struct column_shape){STORE_ENC_ARRAY_U32, 4};
			break;
		case FLOW_FIELD_LARGE_COMMUNITY_ARRAY:
			/* A Nested column is sent as its arrays, one per member. */
			for (unsigned m = 0; m < 3; m++, k++) {
				cols[k] = (struct store_column){.type = "Array(UInt32)",
								.enc = STORE_ENC_LARGE_COMMUNITY,
								.width = 4,
								.offset = f->offset,
								.count_offset = f->count_offset,
								.max_count = array_capacity(f),
								.member = m};
				snprintf(cols[k].name, sizeof(cols[k].name), "%s.%s", f->name,
					 lc_members[m]);
			}
			continue;
		}
		cols[k] = (struct store_column){.type = store_field_type(f),
						.enc = shape.enc,
						.width = shape.width,
						.offset = f->offset,
						.count_offset = f->count_offset};
		if (store_column_is_array(&cols[k]))
			cols[k].max_count = array_capacity(f);
		snprintf(cols[k].name, sizeof(cols[k].name), "%s", f->name);
		k++;
	}
	*out = cols;
	*count = k;
	return 0;
}

static const char boundary_type[] = "Enum8('undefined' = 0, 'external' = 1, 'internal' = 2)";

/* The enrichment's columns (user/orchestrator/migrations.c makes them; the
 * String ones are LowCardinality(String) on modern servers, which take
 * String in Native and convert). */
size_t store_enrich_columns(const struct strtab *strings, struct store_column *out)
{
#define EN(field) offsetof(struct flow, enriched.field)
	static const struct {
		const char *name;
		enum store_enc enc;
		size_t offset;
	} defs[] = {
	    {"ExporterName", STORE_ENC_STRID, EN(exporter.name)},
	    {"ExporterGroup", STORE_ENC_STRID, EN(exporter.group)},
	    {"ExporterRole", STORE_ENC_STRID, EN(exporter.role)},
	    {"ExporterSite", STORE_ENC_STRID, EN(exporter.site)},
	    {"ExporterRegion", STORE_ENC_STRID, EN(exporter.region)},
	    {"ExporterTenant", STORE_ENC_STRID, EN(exporter.tenant)},
	    {"InIfName", STORE_ENC_STRID, EN(in_if.name)},
	    {"OutIfName", STORE_ENC_STRID, EN(out_if.name)},
	    {"InIfDescription", STORE_ENC_STRID, EN(in_if.description)},
	    {"OutIfDescription", STORE_ENC_STRID, EN(out_if.description)},
	    {"InIfSpeed", STORE_ENC_U32, EN(in_if.speed)},
	    {"OutIfSpeed", STORE_ENC_U32, EN(out_if.speed)},
	    {"InIfConnectivity", STORE_ENC_STRID, EN(in_if.connectivity)},
	    {"OutIfConnectivity", STORE_ENC_STRID, EN(out_if.connectivity)},
	    {"InIfProvider", STORE_ENC_STRID, EN(in_if.provider)},
	    {"OutIfProvider", STORE_ENC_STRID, EN(out_if.provider)},
	    {"InIfBoundary", STORE_ENC_U8, EN(in_if.boundary)},
	    {"OutIfBoundary", STORE_ENC_U8, EN(out_if.boundary)},
	    {"SrcNetName", STORE_ENC_STRID, EN(src_net.name)},
	    {"DstNetName", STORE_ENC_STRID, EN(dst_net.name)},
	    {"SrcNetRole", STORE_ENC_STRID, EN(src_net.role)},
	    {"DstNetRole", STORE_ENC_STRID, EN(dst_net.role)},
	    {"SrcNetSite", STORE_ENC_STRID, EN(src_net.site)},
	    {"DstNetSite", STORE_ENC_STRID, EN(dst_net.site)},
	    {"SrcNetRegion", STORE_ENC_STRID, EN(src_net.region)},
	    {"DstNetRegion", STORE_ENC_STRID, EN(dst_net.region)},
	    {"SrcNetTenant", STORE_ENC_STRID, EN(src_net.tenant)},
	    {"DstNetTenant", STORE_ENC_STRID, EN(dst_net.tenant)},
	    {"SrcCountry", STORE_ENC_FIXED2, EN(src_net.country)},
	    {"DstCountry", STORE_ENC_FIXED2, EN(dst_net.country)},
	    {"SrcGeoCity", STORE_ENC_STRID, EN(src_net.city)},
	    {"DstGeoCity", STORE_ENC_STRID, EN(dst_net.city)},
	    {"SrcGeoState", STORE_ENC_STRID, EN(src_net.state)},
	    {"DstGeoState", STORE_ENC_STRID, EN(dst_net.state)},
	};
#undef EN
	size_t n = sizeof(defs) / sizeof(defs[0]);

	_Static_assert(sizeof(defs) / sizeof(defs[0]) <= STORE_ENRICH_COLUMNS, "too many columns");
	for (size_t i = 0; i < n; i++) {
		struct store_column *c = &out[i];

		*c = (struct store_column){.enc = defs[i].enc, .offset = defs[i].offset};
		snprintf(c->name, sizeof(c->name), "%s", defs[i].name);
		switch (defs[i].enc) {
		case STORE_ENC_STRID:
			c->type = "String";
			c->width = 4;
			c->strings = strings;
			break;
		case STORE_ENC_FIXED2:
			c->type = "FixedString(2)";
			c->width = 2;
			break;
		case STORE_ENC_U32:
			c->type = "UInt32";
			c->width = 4;
			break;
		default:
			c->type = boundary_type;
			c->width = 1;
			break;
		}
	}
	return n;
}

char *store_column_list(const char *const *names, size_t n)
{
	struct buf q = {0};
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++) {
		if (i)
			r |= buf_append(&q, ", ", 2);
		r |= buf_append(&q, names[i], strlen(names[i]));
	}
	r |= buf_append(&q, "", 1);
	if (r < 0) {
		buf_free(&q);
		return NULL;
	}
	return q.data;
}
