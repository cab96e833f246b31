#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# The host probe between two network namespaces: traffic of known size (UDP
# and TCP, IPv4 and IPv6, both directions) from and to the probe's side; the
# IPFIX it exports, decoded by weir's decoder, by tshark and by nfdump (nfcapd
# as the collector), must give the same flows with exactly the bytes and
# packets sent (TCP: what a capture on the same interface saw). A long flow
# split by the active timeout adds up exactly, as does a flow whose packets
# take both the fast path and the general one (IP options), with its tos;
# TCP flags are the capture's. A collector that refuses, an interface going
# down and up, a full kernel map: counted, nothing lost, the probe keeps
# running. 1-in-N sampling is announced.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/integration/lib/e2e.bash" # tap
. "$top/tests/integration/lib/probe.bash" # probe_require, probe_pair, inA, inB
probe_require tshark dumpcap nfcapd nfdump ethtool curl

probe_pair p 10.77 77
tap $? "two namespaces joined by a veth pair ($IA, $IB)"
# One skb per packet on the wire, so that the capture (the TCP oracle) sees
# what the probe counts; GSO packets are counted per segment (probe.bpf.c).
inA ethtool -K $IA tso off gso off gro off >/dev/null 2>&1
inB ethtool -K $IB tso off gso off gro off >/dev/null 2>&1

# probe_start NAME DRAIN_INTERVAL EXTRA_YAML: weir probe in A, collectors nfcapd (9995), a
# sink captured by dumpcap (9996) and a port nobody listens on (9997).
probe_start() {
	local name=$1 drain=$2 extra=$3
	mkdir -p "$D/$name/nf"
	cat >"$D/$name/weir.yaml" <<EOF
http:
  listen: 127.0.0.1:9180
probe:
  collectors: ["127.0.0.1:9995", "127.0.0.1:9996", "127.0.0.1:9997"]
  idle-timeout: 2s
  active-timeout: 2s
  drain-interval: $drain
  interface-refresh: 300ms
$extra
EOF
	ip netns exec $A nfcapd -b 127.0.0.1 -p 9995 -w "$D/$name/nf" -t 3600 >"$D/$name/nfcapd.log" 2>&1 &
	NF=$!
	ip netns exec $A dumpcap -q -i lo -f "udp port 9996" -w "$D/$name/ipfix.pcap" >/dev/null 2>&1 &
	CAP=$!
	PIDS="$PIDS $NF $CAP"
	for _ in $(seq 50); do [ -s "$D/$name/ipfix.pcap" ] && break; sleep 0.1; done
	ip netns exec $A "$WEIR" probe -c "$D/$name/weir.yaml" >"$D/$name/probe.log" 2>&1 &
	PROBE=$!
	PIDS="$PIDS $PROBE"
	for _ in $(seq 100); do grep -q 'msg="ready"' "$D/$name/probe.log" 2>/dev/null && return 0; sleep 0.1; done
	cat "$D/$name/probe.log" | sed 's/^/# /'
	return 1
}

metric() { inA curl -s --max-time 5 http://127.0.0.1:9180/metrics | awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }'; }

# probe_stop NAME: SIGTERM (the last flows go out), then the collectors stop
# and each decoder's view is written as "PROTO SRC SPORT DST DPORT DIR BYTES
# PACKETS" lines (DIR I or E) in NAME/weir.txt, tshark.txt, nfdump.txt.
probe_stop() {
	local name=$1 rc
	kill -TERM $PROBE
	wait $PROBE
	rc=$?
	sleep 0.3
	kill $CAP $NF 2>/dev/null
	wait $CAP $NF 2>/dev/null
	"$WEIR" decode --json "$D/$name/ipfix.pcap" 2>"$D/$name/decode.log" | awk '
		function v(k,   m) { if (match($0, "\"" k "\":\"?[^,\"}]*")) { m = substr($0, RSTART, RLENGTH); sub(/^"[^"]*":"?/, "", m); return m } return 0 }
		{ print v("Proto"), v("SrcAddr"), v("SrcPort"), v("DstAddr"), v("DstPort"),
			(v("FlowDirection") == "ingress" ? "I" : "E"), v("Bytes"), v("Packets") }' \
		>"$D/$name/weir.txt"
	tshark -r "$D/$name/ipfix.pcap" -d udp.port==9996,cflow -V 2>/dev/null | awk '
		function out() { if (have) print p, s, sp, d, dp, (oi == 0 ? "I" : "E"), o, k; have = 0 }
		/^ *Flow [0-9]+$/ { out(); p = s = sp = d = dp = o = k = oi = 0; inflow = 1; next }
		/^ *(Set|Frame) / { out(); inflow = 0 }
		!inflow { next }
		/^ *Octets: / { o = $2; have = 1 } /^ *Packets: / { k = $2 }
		/^ *SrcAddr: / { s = $2 } /^ *DstAddr: / { d = $2 }
		/^ *SrcPort: / { sp = $2 } /^ *DstPort: / { dp = $2 }
		/^ *OutputInt: / { oi = $2 } /^ *Protocol: / { p = $NF; gsub(/[()]/, "", p) }
		END { out() }' >"$D/$name/tshark.txt"
	nfdump -R "$D/$name/nf" -N -q -o "fmt:%pr %sa %sp %da %dp %dir %byt %pkt" 2>/dev/null |
		awk '{ $1 = ($1 == "TCP" ? 6 : $1 == "UDP" ? 17 : $1); print }' >"$D/$name/nfdump.txt"
	return $rc
}

# sum FILE PROTO SRC SPORT DST DPORT DIR: "BYTES PACKETS RECORDS" over the
# matching lines ("*" matches anything).
sum() {
	awk -v p="$2" -v s="$3" -v sp="$4" -v d="$5" -v dp="$6" -v dir="$7" '
		(p == "*" || $1 == p) && (s == "*" || $2 == s) && (sp == "*" || $3 == sp) &&
		(d == "*" || $4 == d) && (dp == "*" || $5 == dp) && (dir == "*" || $6 == dir) {
			b += $7; k += $8; n++ }
		END { printf "%d %d %d\n", b, k, n }' "$1"
}

# expect NAME WHAT "BYTES PACKETS" PROTO SRC SPORT DST DPORT DIR: one TAP
# line per decoder.
expect() {
	local name=$1 what=$2 want=$3 dec got
	shift 3
	for dec in weir tshark nfdump; do
		got=$(sum "$D/$name/$dec.txt" "$@")
		[ "${got% *}" = "$want" ]
		tap $? "$dec: $what: bytes packets = $want (got ${got% *} in ${got##* } records)"
	done
}

# ---- run 1: known flows, both directions, a long flow, down/up ----
ip netns exec $B "$TRAFFIC" sink 5001 5002 5003 5004 5005 5006 5007 >/dev/null &
PIDS="$PIDS $!"
ip netns exec $A "$TRAFFIC" sink 9996 5101 5102 >/dev/null &
PIDS="$PIDS $!"
ip netns exec $A dumpcap -q -i $IA -f tcp -w "$D/tcp.pcap" >/dev/null 2>&1 &
TCPCAP=$!
PIDS="$PIDS $TCPCAP"
# Runs 1 and 2 with batch-packets: what CPUs stage is counted exactly too.
probe_start run1 200ms "  batch-packets: true"
tap $? "weir probe starts in $A (tcx on $IA)"
grep -q "mode=tcx" "$D/run1/probe.log"
tap $? "attached with tcx links"

inA "$TRAFFIC" udp 10.77.0.2 5001 1000 200 40001 >/dev/null
inA "$TRAFFIC" udp fd77::2 5002 700 300 40002 >/dev/null
inB "$TRAFFIC" udp 10.77.0.1 5101 500 100 40003 >/dev/null
inB "$TRAFFIC" udp fd77::1 5102 400 150 40004 >/dev/null
# One flow whose packets the probe reads both ways: without IP options by
# its fast path, with them by the general parser (probe.bpf.c).
inA "$TRAFFIC" udpopt 10.77.0.2 5007 600 100 40007 40 >/dev/null
inA "$TRAFFIC" tcp 10.77.0.2 5003 200 1000 >/dev/null
inA "$TRAFFIC" tcp fd77::2 5004 150 1400 >/dev/null
# 1500 datagrams over 6 s: active timeout 2 s cuts it in pieces.
inA "$TRAFFIC" udp 10.77.0.2 5005 1500 64 40005 250 >/dev/null
ip -n $A link set $IA down
sleep 0.8
ip -n $A link set $IA up
sleep 1.5
inA "$TRAFFIC" udp 10.77.0.2 5006 100 50 40006 >/dev/null
sleep 2.6 # idle timeout and a drain
kill -0 $PROBE 2>/dev/null
tap $? "the probe runs on after the interface went down and up"
got=$(metric 'weir_probe_interface_events_total{interface="'$IA'",event="down"}')
got2=$(metric 'weir_probe_interface_events_total{interface="'$IA'",event="up"}')
[ "$got" -ge 1 ] && [ "$got2" -ge 1 ]
tap $? "/metrics counts the interface going down ($got) and up ($got2)"
got=$(metric 'weir_probe_send_errors_total{collector="127.0.0.1:9997"}')
got2=$(metric 'weir_probe_messages_sent_total{collector="127.0.0.1:9995"}')
[ "$got" -ge 1 ] && [ "$got2" -ge 1 ]
tap $? "/metrics counts send errors to the unreachable collector ($got), the others get theirs ($got2)"
got=$(metric weir_probe_flows_exported_total)
[ "$got" -ge 10 ]
tap $? "/metrics: weir_probe_flows_exported_total ($got)"
probe_stop run1
tap $? "weir probe exits 0 on SIGTERM"
kill $TCPCAP 2>/dev/null
wait $TCPCAP 2>/dev/null
inA tc filter show dev $IA ingress 2>/dev/null | grep -q bpf
[ $? != 0 ] && [ -z "$(inA bpftool net show dev $IA 2>/dev/null | grep probe_)" ]
tap $? "nothing of the probe stays attached after exit"

expect run1 "UDP/IPv4 egress" "228000 1000" 17 10.77.0.1 40001 10.77.0.2 5001 E
expect run1 "UDP/IPv6 egress" "243600 700" 17 fd77::1 40002 fd77::2 5002 E
expect run1 "UDP/IPv4 ingress" "64000 500" 17 10.77.0.2 40003 10.77.0.1 5101 I
expect run1 "UDP/IPv6 ingress" "79200 400" 17 fd77::2 40004 fd77::1 5102 I
expect run1 "UDP after the interface came back" "7800 100" 17 10.77.0.1 40006 10.77.0.2 5006 E
# TCP: the capture on the same interface is the oracle.
tcp_truth() { # FILTER LENFIELD EXTRA
	tshark -r "$D/tcp.pcap" -Y "$1" -T fields -e "$2" 2>/dev/null |
		awk -v x="$3" '{ b += $1 + x; n++ } END { printf "%d %d\n", b, n }'
}
expect run1 "TCP/IPv4 egress (capture: $(tcp_truth 'ip.src==10.77.0.1 && tcp.port==5003' ip.len 0))" \
	"$(tcp_truth 'ip.src==10.77.0.1 && tcp.port==5003' ip.len 0)" 6 10.77.0.1 '*' 10.77.0.2 5003 E
expect run1 "TCP/IPv4 ingress" "$(tcp_truth 'ip.src==10.77.0.2 && tcp.port==5003' ip.len 0)" \
	6 10.77.0.2 5003 10.77.0.1 '*' I
expect run1 "TCP/IPv6 egress" "$(tcp_truth 'ipv6.src==fd77::1 && tcp.port==5004' ipv6.plen 40)" \
	6 fd77::1 '*' fd77::2 5004 E
expect run1 "TCP/IPv6 ingress" "$(tcp_truth 'ipv6.src==fd77::2 && tcp.port==5004' ipv6.plen 40)" \
	6 fd77::2 5004 fd77::1 '*' I
expect run1 "long flow in pieces" "138000 1500" 17 10.77.0.1 40005 10.77.0.2 5005 E
# 300 datagrams of 20 + 8 + 100 bytes and 300 with 4 bytes of options more.
expect run1 "UDP/IPv4, every other datagram with IP options" "78000 600" \
	17 10.77.0.1 40007 10.77.0.2 5007 E
# What else each packet gives its flow, on the fast path as on the general
# one: the tos, and the TCP flags (OR-ed; the FIN's are the general path's).
probe_records "$D/run1/ipfix.pcap" Proto SrcAddr SrcPort DstAddr DstPort FlowDirection IPTos \
	TCPFlags >"$D/run1/fields.txt"
got=$(awk '$1 == 17 && $3 == 40007 && $5 == 5007 { print $7 }' "$D/run1/fields.txt" | sort -u)
[ "$got" = 40 ]
tap $? "UDP/IPv4 with and without IP options: IPTos 40 in its records (got $(echo $got))"
or_of() { # NUMBER...: their bitwise OR
	local f=0 x
	for x in "$@"; do f=$((f | x)); done
	echo $f
}
tcp_flags() { # WHAT FILTER SRC SPORT DST DPORT DIR
	local want got
	want=$(or_of $(tshark -r "$D/tcp.pcap" -Y "$2" -T fields -e tcp.flags 2>/dev/null | sort -u))
	got=$(or_of $(awk -v s="$3" -v sp="$4" -v d="$5" -v dp="$6" -v dir="$7" '
		$1 == 6 && $2 == s && (sp == "*" || $3 == sp) && $4 == d &&
		(dp == "*" || $5 == dp) && $6 == dir { print $8 }' "$D/run1/fields.txt" | sort -u))
	[ "$want" -gt 0 ] && [ "$got" = "$want" ]
	tap $? "$1: TCPFlags = $want, the capture's OR (got $got)"
}
tcp_flags "TCP/IPv4 egress" 'ip.src==10.77.0.1 && tcp.port==5003' 10.77.0.1 '*' 10.77.0.2 5003 E
tcp_flags "TCP/IPv4 ingress" 'ip.src==10.77.0.2 && tcp.port==5003' 10.77.0.2 5003 10.77.0.1 '*' I
tcp_flags "TCP/IPv6 egress" 'ipv6.src==fd77::1 && tcp.port==5004' fd77::1 '*' fd77::2 5004 E
got=$(sum "$D/run1/weir.txt" 17 10.77.0.1 40005 10.77.0.2 5005 E)
[ "${got##* }" -ge 3 ]
tap $? "the 6 s flow was exported in ${got##* } pieces (active timeout 2 s)"
# The interfaces options data: tshark reads the name, weir counts the records.
tshark -r "$D/run1/ipfix.pcap" -d udp.port==9996,cflow -V 2>/dev/null | grep -q "IfName: $IA"
tap $? "tshark reads interfaceName $IA from the options data"
grep -q "options_records=[1-9]" "$D/run1/decode.log"
tap $? "weir's decoder reads the options data ($(grep -o 'options_records=[0-9]*' "$D/run1/decode.log"))"

# ---- run 2: a kernel map of 16 flows and 300 flows at once ----
probe_start run2 1s "  max-flows: 16
  batch-packets: true"
tap $? "weir probe starts with max-flows 16"
inA "$TRAFFIC" flows 10.77.0.2 6000 300 3 20 >/dev/null
sleep 3.5
full=$(metric weir_probe_map_full_total)
drops=$(metric weir_probe_ring_buffer_drops_total)
probe_stop run2
[ "$full" -gt 0 ] && [ "$drops" = 0 ]
tap $? "map full is counted ($full packets through the ring buffer, $drops lost)"
for dec in weir tshark nfdump; do
	got=$(awk '$1 == 17 && $5 >= 6000 && $5 < 6300 && $6 == "E" { k += $8; b += $7; p[$5] = 1 }
		END { printf "%d %d %d", b, k, length(p) }' "$D/run2/$dec.txt")
	[ "$got" = "43200 900 300" ]
	tap $? "$dec: 300 flows x 3 datagrams with the map full: bytes packets flows = $got"
done

# ---- run 3: 1-in-10 sampling in the kernel ----
probe_start run3 200ms "  sampling: 10"
tap $? "weir probe starts with sampling 10"
inA "$TRAFFIC" udp 10.77.0.2 5001 1000 200 40011 >/dev/null
sleep 2.6
probe_stop run3
got=$(sum "$D/run3/weir.txt" 17 10.77.0.1 40011 10.77.0.2 5001 E)
pk=$(echo "$got" | cut -d' ' -f2)
[ "$pk" -ge 95 ] && [ "$pk" -le 105 ]
tap $? "1-in-10 sampling: $pk of 1000 datagrams exported"
"$WEIR" decode --json "$D/run3/ipfix.pcap" 2>/dev/null | grep -q '"SamplingRate":10,'
tap $? "weir's decoder reads the announced sampling interval (10)"
tshark -r "$D/run3/ipfix.pcap" -d udp.port==9996,cflow -V 2>/dev/null | grep -q "Sampling interval: 10"
tap $? "tshark reads the announced sampling interval (10)"

echo "1..$E2E_N"
exit $E2E_FAILED
