#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Probe -> weir run -> ClickHouse: `weir probe` meters a veth between this
# namespace and another and exports to `weir run` (UDP input, in-process
# ring, a private ClickHouse); the host's flows must reach the flows table
# with exactly the bytes and packets sent, per direction, and the probe's
# interface index, named by the interface options data the probe sends.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/integration/lib/clickhouse.sh"
. "$top/tests/integration/lib/e2e.bash"
build=${WEIR_BUILD:-$top/build}
WEIR=$build/weir
FLOWGEN=$build/tests/tools/probe_traffic # what e2e_setup checks is built
TRAFFIC=$FLOWGEN

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (network namespaces, BPF)"; exit 0; }
e2e_setup weir-probe-e2e

NS=weir-probe-e2e-$$
IR=wpr$$
IB=wpq$$
cleanup_ns() {
	[ -n "${SINKS:-}" ] && kill $SINKS 2>/dev/null
	ip netns del $NS 2>/dev/null
	ip link del $IR 2>/dev/null
	e2e_cleanup
}
trap cleanup_ns EXIT
ip netns add $NS && ip link add $IR type veth peer name $IB netns $NS &&
	ip link set $IR up && ip -n $NS link set lo up && ip -n $NS link set $IB up &&
	ip addr add 10.78.0.1/24 dev $IR && ip -n $NS addr add 10.78.0.2/24 dev $IB
tap $? "a veth pair from here ($IR) to namespace $NS"
IFINDEX=$(cat /sys/class/net/$IR/ifindex)

UDP=$(e2e_free_udp_port)
HTTP=127.0.0.1:$(ch_free_port)
PHTTP=127.0.0.1:$(ch_free_port)
SINKPORT=$(e2e_free_udp_port)
DB=weir_probe_e2e
cat >"$E2E_DIR/weir.yaml" <<EOF
http:
  listen: $HTTP
clickhouse:
  url: $CH_URL
  database: $DB
  batch-interval: 1s
flow:
  inputs:
    - type: udp
      listen: "127.0.0.1:$UDP"
bus:
  type: ring
EOF
cat >"$E2E_DIR/probe.yaml" <<EOF
http:
  listen: $PHTTP
probe:
  interfaces: [$IR]
  collectors: ["127.0.0.1:$UDP"]
  idle-timeout: 1s
  drain-interval: 200ms
EOF
e2e_start weir run "$E2E_DIR/weir.yaml"
tap $? "weir run starts (UDP 127.0.0.1:$UDP, ClickHouse $CH_URL)"
e2e_start probe probe "$E2E_DIR/probe.yaml"
tap $? "weir probe starts on $IR (ifindex $IFINDEX), exporting to weir run"

ip netns exec $NS "$TRAFFIC" sink 5001 >/dev/null &
SINKS=$!
"$TRAFFIC" sink "$SINKPORT" >/dev/null &
SINKS="$SINKS $!"
sleep 0.3
"$TRAFFIC" udp 10.78.0.2 5001 800 200 40021 >/dev/null
ip netns exec $NS "$TRAFFIC" udp 10.78.0.1 "$SINKPORT" 300 100 40022 >/dev/null
e2e_stop probe TERM
tap $? "weir probe exits 0 on SIGTERM (the last flows exported)"

got=$(e2e_wait_value "SELECT sum(Bytes), sum(Packets), any(OutIf), any(InIf), count() > 0
	FROM $DB.flows WHERE SrcPort = 40021 AND DstPort = 5001 AND Proto = 17" \
	"182400	800	$IFINDEX	0	1" 60)
tap $? "egress flow in ClickHouse: bytes packets OutIf InIf = $got (sent 182400 800 on ifindex $IFINDEX)"
got=$(e2e_wait_value "SELECT sum(Bytes), sum(Packets), any(InIf), any(OutIf), count() > 0
	FROM $DB.flows WHERE SrcPort = 40022 AND DstPort = $SINKPORT AND Proto = 17" \
	"38400	300	$IFINDEX	0	1" 60)
tap $? "ingress flow in ClickHouse: bytes packets InIf OutIf = $got (sent 38400 300)"
got=$(ch_query "SELECT toString(FlowDirection) FROM $DB.flows WHERE SrcPort IN (40021, 40022)
	ORDER BY SrcPort" | tr '\n' ' ')
case "$got" in
*gress*gress* | "2 1 " | "egress ingress ") true ;;
*) false ;;
esac
tap $? "FlowDirection of the two flows: $got"
got=$(ch_query "SELECT IPv6NumToString(ExporterAddress), SamplingRate FROM $DB.flows
	WHERE SrcPort = 40021 LIMIT 1")
[ "$got" = "::ffff:127.0.0.1	1" ]
tap $? "exporter and sampling rate: $got"
# The interface names come from the probe's interface options data alone (no
# SNMP, no static provider in this weir.yaml).
got=$(ch_query "SELECT any(OutIfName), any(InIfName) FROM $DB.flows WHERE SrcPort = 40021")
[ "$got" = "$IR	" ]
tap $? "egress flow named by the probe's options data: OutIfName InIfName = $got (want $IR)"
got=$(ch_query "SELECT any(InIfName) FROM $DB.flows WHERE SrcPort = 40022")
[ "$got" = "$IR" ]
tap $? "ingress flow named by the probe's options data: InIfName = $got (want $IR)"
e2e_stop weir TERM
tap $? "weir run exits 0"
echo "1..$E2E_N"
exit $E2E_FAILED
