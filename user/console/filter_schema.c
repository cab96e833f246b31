// SPDX-License-Identifier: AGPL-3.0-or-later
/* The columns the console filters and groups on: the flows table's, with
 * their filter type and their reverse (Src<->Dst, In<->Out). */
#include <string.h>
#include <strings.h>

#include "filter.h"

#define C FILTER_COL_CONSOLIDATED
#define D FILTER_COL_DIMENSION
#define T FILTER_COL_TRUNCATABLE
#define U(n, b, r, f)                                                                              \
	{                                                                                          \
		n, FILTER_T_UINT, b, r, f                                                          \
	}
#define S(n, r, f)                                                                                 \
	{                                                                                          \
		n, FILTER_T_STRING, 0, r, f                                                        \
	}
#define X(n, t, r, f)                                                                              \
	{                                                                                          \
		n, t, 0, r, f                                                                      \
	}

const struct filter_column filter_columns[] = {
    X("ExporterAddress", FILTER_T_ADDR, "ExporterAddress", C | D),
    S("ExporterName", "ExporterName", C | D),
    S("ExporterGroup", "ExporterGroup", C | D),
    S("ExporterRole", "ExporterRole", C | D),
    S("ExporterSite", "ExporterSite", C | D),
    S("ExporterRegion", "ExporterRegion", C | D),
    S("ExporterTenant", "ExporterTenant", C | D),
    X("SrcAddr", FILTER_T_ADDR, "DstAddr", D | T),
    X("DstAddr", FILTER_T_ADDR, "SrcAddr", D | T),
    U("SrcNetMask", 8, "DstNetMask", D),
    U("DstNetMask", 8, "SrcNetMask", D),
    X("SrcAS", FILTER_T_ASN, "DstAS", C | D),
    X("DstAS", FILTER_T_ASN, "SrcAS", C | D),
    X("Dst1stAS", FILTER_T_ASN, "Dst1stAS", C | D),
    X("Dst2ndAS", FILTER_T_ASN, "Dst2ndAS", C | D),
    X("Dst3rdAS", FILTER_T_ASN, "Dst3rdAS", C | D),
    S("SrcNetName", "DstNetName", C | D),
    S("DstNetName", "SrcNetName", C | D),
    S("SrcNetRole", "DstNetRole", C | D),
    S("DstNetRole", "SrcNetRole", C | D),
    S("SrcNetSite", "DstNetSite", C | D),
    S("DstNetSite", "SrcNetSite", C | D),
    S("SrcNetRegion", "DstNetRegion", C | D),
    S("DstNetRegion", "SrcNetRegion", C | D),
    S("SrcNetTenant", "DstNetTenant", C | D),
    S("DstNetTenant", "SrcNetTenant", C | D),
    S("SrcCountry", "DstCountry", C | D),
    S("DstCountry", "SrcCountry", C | D),
    S("SrcGeoCity", "DstGeoCity", D),
    S("DstGeoCity", "SrcGeoCity", D),
    S("SrcGeoState", "DstGeoState", D),
    S("DstGeoState", "SrcGeoState", D),
    X("DstASPath", FILTER_T_ASPATH, "DstASPath", 0),
    X("DstCommunities", FILTER_T_COMMUNITY, "DstCommunities", 0),
    X("DstLargeCommunities", FILTER_T_LCOMMUNITY, "DstLargeCommunities", 0),
    U("InIf", 32, "OutIf", C | D),
    U("OutIf", 32, "InIf", C | D),
    S("InIfName", "OutIfName", C | D),
    S("OutIfName", "InIfName", C | D),
    S("InIfDescription", "OutIfDescription", C | D),
    S("OutIfDescription", "InIfDescription", C | D),
    U("InIfSpeed", 32, "OutIfSpeed", C | D),
    U("OutIfSpeed", 32, "InIfSpeed", C | D),
    S("InIfConnectivity", "OutIfConnectivity", C | D),
    S("OutIfConnectivity", "InIfConnectivity", C | D),
    S("InIfProvider", "OutIfProvider", C | D),
    S("OutIfProvider", "InIfProvider", C | D),
    X("InIfBoundary", FILTER_T_BOUNDARY, "OutIfBoundary", C | D),
    X("OutIfBoundary", FILTER_T_BOUNDARY, "InIfBoundary", C | D),
    X("EType", FILTER_T_ETYPE, "EType", C | D),
    X("Proto", FILTER_T_PROTO, "Proto", C | D),
    U("SrcPort", 16, "DstPort", D),
    U("DstPort", 16, "SrcPort", D),
    U("Bytes", 64, "Bytes", C),
    U("Packets", 64, "Packets", C),
    U("SamplingRate", 64, "SamplingRate", C),
    U("ForwardingStatus", 32, "ForwardingStatus", C | D),
    X("FlowDirection", FILTER_T_DIRECTION, "FlowDirection", C | D),
    U("SrcVlan", 16, "DstVlan", D),
    U("DstVlan", 16, "SrcVlan", D),
    X("SrcMAC", FILTER_T_MAC, "DstMAC", D),
    X("DstMAC", FILTER_T_MAC, "SrcMAC", D),
    X("SrcAddrNAT", FILTER_T_ADDR, "DstAddrNAT", D | T),
    X("DstAddrNAT", FILTER_T_ADDR, "SrcAddrNAT", D | T),
    U("SrcPortNAT", 16, "DstPortNAT", D),
    U("DstPortNAT", 16, "SrcPortNAT", D),
    U("IPTTL", 8, "IPTTL", D),
    U("IPTos", 8, "IPTos", D),
    U("IPFragmentID", 32, "IPFragmentID", 0),
    U("IPFragmentOffset", 16, "IPFragmentOffset", D),
    U("IPv6FlowLabel", 32, "IPv6FlowLabel", 0),
    U("TCPFlags", 16, "TCPFlags", D),
    U("ICMPv4Type", 8, "ICMPv4Type", D),
    U("ICMPv4Code", 8, "ICMPv4Code", D),
    U("ICMPv6Type", 8, "ICMPv6Type", D),
    U("ICMPv6Code", 8, "ICMPv6Code", D),
    X("NextHop", FILTER_T_ADDR, "NextHop", D | T),
    U("IngressVRFID", 32, "EgressVRFID", D),
    U("EgressVRFID", 32, "IngressVRFID", D),
};
const size_t filter_columns_count = sizeof(filter_columns) / sizeof(filter_columns[0]);

const struct filter_column *filter_column_find(const char *name, size_t len)
{
	for (size_t i = 0; i < filter_columns_count; i++)
		if (strlen(filter_columns[i].name) == len &&
		    strncasecmp(filter_columns[i].name, name, len) == 0)
			return &filter_columns[i];
	return NULL;
}
