// SPDX-License-Identifier: AGPL-3.0-or-later
/* The column table of struct flow and the JSON writer built on it. */
#include "flow_schema.h"

#include <errno.h>
#include <string.h>

#include "addr.h"

/* one field a line */
// clang-format off
#define F(name, kind, member) {name, kind, offsetof(struct flow, member), 0}
#define A(name, kind, member, count) \
	{name, kind, offsetof(struct flow, member), offsetof(struct flow, count)}

const struct flow_field flow_fields[] = {
	F("TimeReceived", FLOW_FIELD_U64, time_received),
	F("SamplingRate", FLOW_FIELD_U64, sampling_rate),
	F("ExporterAddress", FLOW_FIELD_ADDR, exporter_address),
	F("SrcAddr", FLOW_FIELD_ADDR, src_addr),
	F("DstAddr", FLOW_FIELD_ADDR, dst_addr),
	F("SrcNetMask", FLOW_FIELD_U8, src_net_mask),
	F("DstNetMask", FLOW_FIELD_U8, dst_net_mask),
	F("SrcAS", FLOW_FIELD_U32, src_as),
	F("DstAS", FLOW_FIELD_U32, dst_as),
	A("DstASPath", FLOW_FIELD_U32_ARRAY, dst_as_path, dst_as_path_count),
	A("DstCommunities", FLOW_FIELD_U32_ARRAY, dst_communities, dst_communities_count),
	A("DstLargeCommunities", FLOW_FIELD_LARGE_COMMUNITY_ARRAY, dst_large_communities,
	  dst_large_communities_count),
	F("InIf", FLOW_FIELD_U32, in_if),
	F("OutIf", FLOW_FIELD_U32, out_if),
	F("EType", FLOW_FIELD_U32, etype),
	F("Proto", FLOW_FIELD_U8, proto),
	F("SrcPort", FLOW_FIELD_U16, src_port),
	F("DstPort", FLOW_FIELD_U16, dst_port),
	F("Bytes", FLOW_FIELD_U64, bytes),
	F("Packets", FLOW_FIELD_U64, packets),
	F("ForwardingStatus", FLOW_FIELD_U32, forwarding_status),
	F("FlowDirection", FLOW_FIELD_DIRECTION, flow_direction),
	F("SrcVlan", FLOW_FIELD_U16, src_vlan),
	F("DstVlan", FLOW_FIELD_U16, dst_vlan),
	F("SrcMAC", FLOW_FIELD_MAC, src_mac),
	F("DstMAC", FLOW_FIELD_MAC, dst_mac),
	F("SrcAddrNAT", FLOW_FIELD_ADDR, src_addr_nat),
	F("DstAddrNAT", FLOW_FIELD_ADDR, dst_addr_nat),
	F("SrcPortNAT", FLOW_FIELD_U16, src_port_nat),
	F("DstPortNAT", FLOW_FIELD_U16, dst_port_nat),
	F("IPTTL", FLOW_FIELD_U8, ip_ttl),
	F("IPTos", FLOW_FIELD_U8, ip_tos),
	F("IPFragmentID", FLOW_FIELD_U32, ip_fragment_id),
	F("IPFragmentOffset", FLOW_FIELD_U16, ip_fragment_offset),
	F("IPv6FlowLabel", FLOW_FIELD_U32, ipv6_flow_label),
	F("TCPFlags", FLOW_FIELD_U16, tcp_flags),
	F("ICMPv4Type", FLOW_FIELD_U8, icmpv4_type),
	F("ICMPv4Code", FLOW_FIELD_U8, icmpv4_code),
	F("ICMPv6Type", FLOW_FIELD_U8, icmpv6_type),
	F("ICMPv6Code", FLOW_FIELD_U8, icmpv6_code),
	F("NextHop", FLOW_FIELD_ADDR, next_hop),
	A("MPLSLabels", FLOW_FIELD_U32_ARRAY, mpls_labels, mpls_labels_count),
	F("IngressVRFID", FLOW_FIELD_U32, ingress_vrf_id),
	F("EgressVRFID", FLOW_FIELD_U32, egress_vrf_id),
	F("TimeFlowStartMs", FLOW_FIELD_U64, time_flow_start_ms),
	F("TimeFlowEndMs", FLOW_FIELD_U64, time_flow_end_ms),
};
// clang-format on

const size_t flow_fields_count = sizeof(flow_fields) / sizeof(flow_fields[0]);

const struct flow_field *flow_field_find(const char *name)
{
	for (size_t i = 0; i < flow_fields_count; i++)
		if (strcmp(flow_fields[i].name, name) == 0)
			return &flow_fields[i];
	return NULL;
}

static const void *field_ptr(const struct flow *f, const struct flow_field *field)
{
	return (const char *)f + field->offset;
}

static unsigned field_count(const struct flow *f, const struct flow_field *field)
{
	return *((const uint8_t *)f + field->count_offset);
}

unsigned long long flow_field_get_uint(const struct flow *f, const struct flow_field *field)
{
	const void *p = field_ptr(f, field);

	switch (field->kind) {
	case FLOW_FIELD_U8:
	case FLOW_FIELD_DIRECTION:
		return *(const uint8_t *)p;
	case FLOW_FIELD_U16:
		return *(const uint16_t *)p;
	case FLOW_FIELD_U32:
		return *(const uint32_t *)p;
	case FLOW_FIELD_U64:
	case FLOW_FIELD_MAC:
		return *(const uint64_t *)p;
	default:
		return 0;
	}
}

int flow_field_is_zero(const struct flow *f, const struct flow_field *field)
{
	switch (field->kind) {
	case FLOW_FIELD_ADDR:
		return addr_is_zero(field_ptr(f, field));
	case FLOW_FIELD_U32_ARRAY:
	case FLOW_FIELD_LARGE_COMMUNITY_ARRAY:
		return field_count(f, field) == 0;
	default:
		return flow_field_get_uint(f, field) == 0;
	}
}

static const char *direction_name(unsigned d)
{
	switch (d) {
	case FLOW_DIRECTION_INGRESS:
		return "ingress";
	case FLOW_DIRECTION_EGRESS:
		return "egress";
	default:
		return "undefined";
	}
}

static void write_json_value(FILE *out, const struct flow *f, const struct flow_field *field)
{
	char text[ADDR_TEXT_MAX];
	const void *p = field_ptr(f, field);
	unsigned n;

	switch (field->kind) {
	case FLOW_FIELD_ADDR:
		addr_to_text(p, text, sizeof(text));
		fprintf(out, "\"%s\"", text);
		break;
	case FLOW_FIELD_MAC:
		mac_to_text(*(const uint64_t *)p, text, sizeof(text));
		fprintf(out, "\"%s\"", text);
		break;
	case FLOW_FIELD_DIRECTION:
		fprintf(out, "\"%s\"", direction_name(*(const uint8_t *)p));
		break;
	case FLOW_FIELD_U32_ARRAY:
		n = field_count(f, field);
		fputc('[', out);
		for (unsigned i = 0; i < n; i++)
			fprintf(out, "%s%u", i ? "," : "", ((const uint32_t *)p)[i]);
		fputc(']', out);
		break;
	case FLOW_FIELD_LARGE_COMMUNITY_ARRAY:
		n = field_count(f, field);
		fputc('[', out);
		for (unsigned i = 0; i < n; i++) {
			const struct flow_large_community *c =
			    &((const struct flow_large_community *)p)[i];
			fprintf(out, "%s\"%u:%u:%u\"", i ? "," : "", c->global_admin,
				c->local_data1, c->local_data2);
		}
		fputc(']', out);
		break;
	default:
		fprintf(out, "%llu", flow_field_get_uint(f, field));
		break;
	}
}

/* Exporters send "no address" in an IPv4 field as 0.0.0.0, which is stored
 * mapped (::ffff:0.0.0.0) and so is not all-zero; the JSON leaves it out like
 * any other zero field. Only the JSON: the bus and the store keep the value
 * they were given. */
static int json_leaves_out(const struct flow *f, const struct flow_field *field)
{
	static const uint8_t v4_zero[4];
	const struct in6_addr *a;

	if (flow_field_is_zero(f, field))
		return 1;
	if (field->kind != FLOW_FIELD_ADDR)
		return 0;
	a = field_ptr(f, field);
	return addr_is_ipv4(a) && memcmp(&a->s6_addr[12], v4_zero, 4) == 0;
}

int flow_write_json(FILE *out, const struct flow *f)
{
	int first = 1;

	fputc('{', out);
	for (size_t i = 0; i < flow_fields_count; i++) {
		const struct flow_field *field = &flow_fields[i];

		if (json_leaves_out(f, field))
			continue;
		fprintf(out, "%s\"%s\":", first ? "" : ",", field->name);
		write_json_value(out, f, field);
		first = 0;
	}
	fputc('}', out);
	return ferror(out) ? -EIO : 0;
}
