#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Enrichment end to end (`weir run`): with a static metadata provider, an
# interface classifier, a networks entry and a GeoIP country database, the
# rows flowgen's exact IPFIX flows become in ClickHouse carry the exporter's
# and interfaces' names, speed, classes, the source network and country; and
# an exporter no provider knows gets its interfaces named by the IPFIX options
# data it sends (weir probe's exporter, through flowgen ifaces); with root, an
# exporter whose names come from snmpd (a v3 user, ifAlias and ifHighSpeed set
# by `override` lines) running in a network namespace of its own.
# Count-based: waits end on values, time only bounds them.
set -u
. "$(dirname "$0")/lib/e2e.bash"

e2e_setup weir-e2e-enrich

if ! perl -MMaxMind::DB::Writer::Tree -e1 2>/dev/null; then
	echo "1..0 # SKIP libmaxmind-db-writer-perl not installed"
	exit 0
fi

UDP=$(e2e_free_udp_port)
HTTP=127.0.0.1:$(ch_free_port)
DB=weir_e2e_enrich
EXP=127.0.0.61
W=$(e2e_exporter_where $EXP)

# A GeoLite2-Country database: flowgen's sources (198.51.100.10-12) are in FR.
cat >"$E2E_DIR/mmdb.pl" <<EOF
use strict; use warnings;
use MaxMind::DB::Writer::Tree;
my %types = (country => 'map', iso_code => 'utf8_string');
my \$tree = MaxMind::DB::Writer::Tree->new(ip_version => 6, record_size => 24,
  database_type => 'GeoLite2-Country', languages => ['en'], description => {en => 'weir test'},
  map_key_type_callback => sub { \$types{\$_[0]} }, alias_ipv6_to_ipv4 => 1,
  remove_reserved_networks => 0);
\$tree->insert_network('198.51.100.0/24', {country => {iso_code => 'FR'}});
open my \$fh, '>:raw', '$E2E_DIR/country.mmdb' or die; \$tree->write_tree(\$fh); close \$fh or die;
EOF
perl "$E2E_DIR/mmdb.pl"
tap $? "a GeoLite2-Country database is generated"

# snmpd in a network namespace (a veth to ours), answering for exporter
# $EXP3 (metadata.providers' agents: map); skipped without root or snmpd.
EXP3=127.0.0.63
NS=weir-e2e-snmp-$$
NSNET=10.251.$(($$ % 250))
VETH=wse$(($$ % 100000))
SNMP=0
snmp_ns_down() {
	[ "$SNMP" = 1 ] && ip netns del "$NS" 2>/dev/null
	e2e_cleanup
}
if [ "$(id -u)" = 0 ] && command -v snmpd >/dev/null && ip netns add "$NS" 2>/dev/null; then
	SNMP=1
	trap snmp_ns_down EXIT
	ip link add "$VETH" type veth peer name "${VETH}b" netns "$NS" &&
		ip addr add "$NSNET.1/24" dev "$VETH" && ip link set "$VETH" up &&
		ip netns exec "$NS" sh -c "ip link set lo up && ip addr add $NSNET.2/24 dev ${VETH}b &&
			ip link set ${VETH}b up"
	cat >"$E2E_DIR/snmpd.conf" <<EOF
agentAddress udp:161
createUser weiruser SHA "authpass123" AES "privpass123"
rouser weiruser priv
sysName par2-edge2
override 1.3.6.1.2.1.31.1.1.1.1.3 octet_str "xe-1/0/3"
override 1.3.6.1.2.1.31.1.1.1.18.3 octet_str "PNI: Google"
override 1.3.6.1.2.1.31.1.1.1.15.3 uinteger 100000
EOF
	MIBS= SNMP_PERSISTENT_DIR="$E2E_DIR/snmpd" ip netns exec "$NS" \
		snmpd -f -Lo -C -c "$E2E_DIR/snmpd.conf" >"$E2E_DIR/snmpd.log" 2>&1 &
	E2E_EXTRA_PIDS="$E2E_EXTRA_PIDS $!"
fi

e2e_config "$E2E_DIR/weir.yaml" "$HTTP" 1s
cat >>"$E2E_DIR/weir.yaml" <<EOF
bus:
  type: ring
  ring-size: 64MiB
core:
  interface-classifiers:
    - 'ClassifyConnectivityRegex(Interface.Description, "^(?i)(transit|pni|ix):? ", "\$1") &&
       ClassifyProviderRegex(Interface.Description, "^[^ ]+? ([^ ]+)", "\$1") &&
       ClassifyExternal()'
    - ClassifyInternal()
metadata:
  providers:
    - type: static
      exporters:
        $EXP/32:
          name: par1-edge1
          if-indexes:
            3: {name: et-0/0/3, description: "Transit: Cogent 1-2345", speed: 100000}
          default: {name: ae0, description: core link, speed: 400000}
    - type: snmp
      agents:
        $EXP3: $NSNET.2
      credentials:
        $EXP3/32:
          user-name: weiruser
          authentication-protocol: SHA
          authentication-passphrase: authpass123
          privacy-protocol: AES
          privacy-passphrase: privpass123
geoip:
  geo-database: [$E2E_DIR/country.mmdb]
networks:
  networks:
    198.51.100.0/24: {name: customers, role: clients}
EOF
"$WEIR" config check "$E2E_DIR/weir.yaml" >/dev/null
tap $? "weir config check accepts the enrichment sections"
e2e_start weir run "$E2E_DIR/weir.yaml"
tap $? "weir run starts (UDP 127.0.0.1:$UDP, HTTP $HTTP, ClickHouse $CH_URL)"

# The first flows of an exporter unknown to static metadata miss it (asked in
# the background, stored with what is known): send until the names are there.
# wait_rows EXPORTER WHERE COND [ifaces]: sends flowgen's exact flows as
# EXPORTER (after its options data with "ifaces") until a row of WHERE
# matches COND; 60 tries.
wait_rows() {
	local got
	for _ in $(seq 1 60); do
		[ -n "${4:-}" ] && "$FLOWGEN" ifaces -t "127.0.0.1:$UDP" -b "$1"
		"$FLOWGEN" exact -t "127.0.0.1:$UDP" -b "$1" -f ipfix >/dev/null 2>&1
		got=$(ch_query "SELECT count() > 0 FROM $DB.flows WHERE $2 AND $3" 2>/dev/null)
		[ "$got" = 1 ] && return 0
		sleep 1
	done
	return 1
}
# Its output interface (30) is not listed: it takes the static default once the
# refresher has classified it.
wait_rows $EXP "$W" "ExporterName != '' AND OutIfName != ''"
tap $? "rows of $EXP get ExporterName and OutIfName"
# Static metadata needs no lookup: not even the first rows lack the names.
got=$(ch_query "SELECT count(), countIf(ExporterName = '' OR InIfName = '') FROM $DB.flows
	WHERE $W AND InIf = 3")
[ "${got#*	}" = 0 ] && [ "${got%	*}" -gt 0 ]
tap $? "static provider: every row of $EXP has its names, from the first flow on (rows, unnamed: $got)"

q() { ch_query "SELECT $1 FROM $DB.flows WHERE $W AND OutIfName != '' AND InIf = 3 LIMIT 1"; }
got=$(q "ExporterName, InIfName, InIfDescription, InIfSpeed")
[ "$got" = "par1-edge1	et-0/0/3	Transit: Cogent 1-2345	100000" ]
tap $? "static provider: exporter and input interface names, description, speed ($got)"
got=$(q "InIfConnectivity, InIfProvider, InIfBoundary")
[ "$got" = "transit	cogent	external" ]
tap $? "interface classifier: connectivity, provider, boundary ($got)"
got=$(q "OutIfName, OutIfSpeed, OutIfBoundary")
[ "$got" = "ae0	400000	internal" ]
tap $? "static default interface, classified internal ($got)"
got=$(q "SrcNetName, SrcNetRole, SrcCountry, DstNetName = '' AND DstCountry = toFixedString('', 2)")
[ "$got" = "customers	clients	FR	1" ]
tap $? "networks and GeoIP: source network and country, none for the destination ($got)"

for t in flows_1m flows_5m flows_1h; do
	got=$(e2e_wait_value "SELECT count() > 0 FROM $DB.$t WHERE $W AND InIfName = 'et-0/0/3'
		AND ExporterName = 'par1-edge1' AND InIfProvider = 'cogent' AND InIfSpeed = 100000
		AND SrcNetName = 'customers' AND SrcCountry = 'FR' AND OutIfBoundary = 'internal'" 1 60)
	tap $? "$t: rows carry the enrichment dimensions ($got)"
done
got=$(e2e_wait_value "SELECT ExporterName, IfName, IfDescription, IfSpeed, IfConnectivity,
	IfProvider, IfBoundary FROM $DB.exporters FINAL WHERE $W AND IfIndex = 3" \
	"par1-edge1	et-0/0/3	Transit: Cogent 1-2345	100000	transit	cogent	external" 60)
tap $? "exporters: the exporter's and interface's names ($got)"
got=$(e2e_wait_value "SELECT IfName, IfBoundary FROM $DB.exporters FINAL WHERE $W AND IfIndex = 30" \
	"ae0	internal" 60)
tap $? "exporters: an output interface's name ($got)"

# ---- interface names from IPFIX options data, no provider ----
EXP2=127.0.0.62
W2=$(e2e_exporter_where $EXP2)
wait_rows $EXP2 "$W2" "InIfName != ''" ifaces
tap $? "rows of $EXP2 get InIfName from its options data"
got=$(ch_query "SELECT InIfName, InIfDescription, InIfSpeed, OutIfName, InIfConnectivity,
	InIfBoundary FROM $DB.flows WHERE $W2 AND InIfName != '' AND InIf = 4 LIMIT 1")
[ "$got" = "if-4	ix: peer 4	10000	if-31	ix	external" ]
tap $? "options data: names, descriptions, speed, then classified ($got)"

# ---- names from SNMP (snmpd in its namespace) ----
if [ "$SNMP" = 1 ]; then
	W3=$(e2e_exporter_where $EXP3)
	wait_rows $EXP3 "$W3" "InIfName != ''"
	tap $? "rows of $EXP3 get InIfName from snmpd in a network namespace"
	got=$(ch_query "SELECT ExporterName, InIfName, InIfDescription, InIfSpeed, InIfConnectivity,
		InIfProvider, InIfBoundary FROM $DB.flows WHERE $W3 AND InIfName != '' AND InIf = 3 LIMIT 1")
	[ "$got" = "par2-edge2	xe-1/0/3	PNI: Google	100000	pni	google	external" ]
	tap $? "SNMP v3: sysName, ifName, ifAlias, ifHighSpeed, then classified ($got)"
else
	tap 0 "# SKIP SNMP: needs root, ip netns and snmpd"
fi

e2e_stop weir TERM
tap $? "weir run exits 0 on SIGTERM"

echo "1..$E2E_N"
exit $E2E_FAILED
