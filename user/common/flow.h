/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The decoded flow record: what every decoder produces and every later stage
 * (enrichment, bus, store, console) reads. One fixed-size struct, no pointers,
 * so batches of them can be copied, pooled and zeroed cheaply. */
#ifndef WEIR_COMMON_FLOW_H
#define WEIR_COMMON_FLOW_H

#include <netinet/in.h>
#include <stdint.h>

/* Caps on the variable-length parts. A decoder that meets more truncates and
 * counts it (DECODE_TRUNCATED_ARRAY); it never writes past these. */
#define FLOW_MAX_MPLS_LABELS	   10
#define FLOW_MAX_AS_PATH	   16
#define FLOW_MAX_COMMUNITIES	   16
#define FLOW_MAX_LARGE_COMMUNITIES 4

/* Akvorado's FlowDirection enum values. */
enum flow_direction {
	FLOW_DIRECTION_UNDEFINED = 0,
	FLOW_DIRECTION_INGRESS = 1,
	FLOW_DIRECTION_EGRESS = 2,
};

struct flow_large_community {
	uint32_t global_admin;
	uint32_t local_data1;
	uint32_t local_data2;
};

/* Akvorado's InIfBoundary/OutIfBoundary Enum8 values. */
enum flow_boundary {
	FLOW_BOUNDARY_UNDEFINED = 0,
	FLOW_BOUNDARY_EXTERNAL = 1,
	FLOW_BOUNDARY_INTERNAL = 2,
};

/* What the enrichment stage (user/enrich/) adds to a flow. Every uint32_t
 * but `speed` is a string id in the string table (user/common/strtab.h) of
 * the enrich instance that filled it: 0 is "", ids never change meaning and
 * strings are never freed while that table lives, so a record can be copied,
 * queued and encoded later without pointers. A decoder leaves it all zero. */
struct flow_exporter_attrs {
	uint32_t name;	/* ExporterName */
	uint32_t group; /* ExporterGroup */
	uint32_t role;
	uint32_t site;
	uint32_t region;
	uint32_t tenant;
};

struct flow_interface_attrs {
	uint32_t name; /* InIfName / OutIfName */
	uint32_t description;
	uint32_t connectivity;
	uint32_t provider;
	uint32_t speed;	  /* Mbps (InIfSpeed), a number, not a string id */
	uint8_t boundary; /* enum flow_boundary */
	uint8_t pad_[3];
};

struct flow_network_attrs {
	uint32_t name; /* SrcNetName / DstNetName */
	uint32_t role;
	uint32_t site;
	uint32_t region;
	uint32_t tenant;
	uint32_t state;	 /* SrcGeoState */
	uint32_t city;	 /* SrcGeoCity */
	char country[2]; /* SrcCountry: ISO 3166 alpha-2, "\0\0" when unknown */
	uint8_t pad_[2];
};

struct flow_enrichment {
	struct flow_exporter_attrs exporter;
	struct flow_interface_attrs in_if;
	struct flow_interface_attrs out_if;
	struct flow_network_attrs src_net;
	struct flow_network_attrs dst_net;
};

/* All addresses are 16 bytes, IPv4 stored IPv4-mapped (::ffff:a.b.c.d), the
 * same layout as the FixedString(16) ClickHouse columns. An all-zero address
 * means "absent". Integers are host byte order. Field names map one to one to
 * the column names in flow_schema.h. */
struct flow {
	uint64_t time_received;	     /* unix seconds (TimeReceived) */
	uint64_t time_flow_start_ms; /* unix milliseconds, 0 when unknown */
	uint64_t time_flow_end_ms;
	uint64_t sampling_rate;
	uint64_t bytes;
	uint64_t packets;
	uint64_t src_mac; /* 48-bit MAC in the low bits, 0 = absent */
	uint64_t dst_mac;

	struct in6_addr exporter_address;
	struct in6_addr src_addr;
	struct in6_addr dst_addr;
	struct in6_addr next_hop;
	struct in6_addr src_addr_nat;
	struct in6_addr dst_addr_nat;

	uint32_t src_as;
	uint32_t dst_as;
	uint32_t in_if;
	uint32_t out_if;
	uint32_t etype; /* 0x0800 or 0x86dd */
	uint32_t forwarding_status;
	uint32_t ip_fragment_id;
	uint32_t ipv6_flow_label;
	uint32_t ingress_vrf_id;
	uint32_t egress_vrf_id;

	uint16_t src_port;
	uint16_t dst_port;
	uint16_t src_port_nat;
	uint16_t dst_port_nat;
	uint16_t src_vlan;
	uint16_t dst_vlan;
	uint16_t ip_fragment_offset;
	uint16_t tcp_flags;

	uint8_t proto;
	uint8_t src_net_mask;
	uint8_t dst_net_mask;
	uint8_t flow_direction; /* enum flow_direction */
	uint8_t ip_ttl;
	uint8_t ip_tos;
	uint8_t icmpv4_type;
	uint8_t icmpv4_code;
	uint8_t icmpv6_type;
	uint8_t icmpv6_code;

	/* Counts of the arrays below; entries past a count are unspecified. */
	uint8_t mpls_labels_count;
	uint8_t dst_as_path_count;
	uint8_t dst_communities_count;
	uint8_t dst_large_communities_count;

	/* Filled by the enrichment stage (which also rewrites sampling_rate,
	 * src_as/dst_as and the net masks); zero until then. */
	struct flow_enrichment enriched;

	/* Everything above this point is zeroed by flow_reset(); the arrays are
	 * not, their counts say what is valid. */
	uint32_t mpls_labels[FLOW_MAX_MPLS_LABELS]; /* 20-bit labels, outermost first */
	uint32_t dst_as_path[FLOW_MAX_AS_PATH];
	uint32_t dst_communities[FLOW_MAX_COMMUNITIES];
	struct flow_large_community dst_large_communities[FLOW_MAX_LARGE_COMMUNITIES];
};

#define FLOW_RESET_SIZE (__builtin_offsetof(struct flow, mpls_labels))

/* Zeroes the scalar part of a record (not the arrays, whose counts become 0). */
static inline void flow_reset(struct flow *f)
{
	__builtin_memset(f, 0, FLOW_RESET_SIZE);
}

#endif
