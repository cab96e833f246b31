#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# The host probe on 802.1Q and on GSO/GRO traffic. VLAN: UDP frames tagged
# 802.1Q id 100 written on the metered veth by a packet socket (this kernel
# has no VLAN devices): on egress the tag is in the frame, on ingress the
# kernel has moved it to skb->vlan_tci; both give flows with vlanId 100 and
# the exact bytes and packets. GSO: with TSO/GSO on (the veth
# default), large TCP writes leave as GSO packets of up to 64 KiB; the probe
# counts each as gso_segs wire packets, with the bytes those segments would
# have on the wire (every segment carries its own IP and TCP headers). The
# oracle is a capture on the same interface, whose GSO packets are split into
# MSS-sized segments the same way (MSS = MTU - IP header - TCP header).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/integration/lib/e2e.bash" # tap
. "$top/tests/integration/lib/probe.bash" # probe_require, probe_pair, probe_launch, probe_stop, probe_records, inA, inB
probe_require tshark dumpcap ethtool

probe_pair pv 10.79 79
tap $? "two namespaces joined by a veth pair ($IA, $IB)"
inA ethtool -k $IA | grep -q '^tcp-segmentation-offload: on' &&
	inA ethtool -k $IA | grep -q '^generic-segmentation-offload: on'
tap $? "TSO and GSO are on on $IA (ethtool -k)"

cat >"$D/weir.yaml" <<YAML
http:
  listen: 127.0.0.1:9181
probe:
  collectors: ["127.0.0.1:9996"]
  interfaces: [$IA]
  idle-timeout: 2s
  active-timeout: 10s
  drain-interval: 200ms
  batch-packets: true
YAML
# Background processes through `ip netns exec` itself (not inA, a
# function: its subshell would take the signals meant for them).
ip netns exec $B "$TRAFFIC" sink 5201 5202 5203 >/dev/null &
PIDS="$PIDS $!"
ip netns exec $A "$TRAFFIC" sink 9996 5301 5302 >/dev/null &
PIDS="$PIDS $!"
ip netns exec $A dumpcap -q -i lo -f "udp port 9996" -w "$D/ipfix.pcap" >/dev/null 2>&1 &
CAP=$!
# A 64 MiB capture buffer: 36 MB of TCP in a second or two, none dropped.
ip netns exec $A dumpcap -B 64 -i $IA -f "tcp" -w "$D/tcp.pcap" >/dev/null 2>"$D/dumpcap.log" &
TCPCAP=$!
PIDS="$PIDS $CAP $TCPCAP"
for _ in $(seq 50); do [ -s "$D/ipfix.pcap" ] && [ -s "$D/tcp.pcap" ] && break; sleep 0.1; done
probe_launch "$D/weir.yaml" "$D/probe.log"
tap $? "weir probe starts in $A on $IA"

# VLAN 100: 300 datagrams of 100 bytes out, 200 of 60 bytes in.
inA "$TRAFFIC" vlan $IA 100 10.79.100.1 10.79.100.2 5201 300 100 41001 >/dev/null
inB "$TRAFFIC" vlan $IB 100 10.79.100.2 10.79.100.1 5301 200 60 41002 >/dev/null
# Untagged, same sizes: vlanId 0.
inA "$TRAFFIC" udp 10.79.0.2 5201 300 100 41003 >/dev/null
# GSO: 200 writes of 60000 bytes each way, IPv4 and IPv6.
inA "$TRAFFIC" tcp 10.79.0.2 5202 200 60000 >/dev/null
inA "$TRAFFIC" tcp fd79::2 5203 200 60000 >/dev/null
inB "$TRAFFIC" tcp 10.79.0.1 5302 200 60000 >/dev/null
sleep 0.5
probe_stop
rd=$(grep -o "on interface '[^']*': [0-9]*/[0-9]*" "$D/dumpcap.log" | sed 's/.*: //')
[ -n "$rd" ] && [ "${rd#*/}" = 0 ]
tap $? "the TCP capture dropped nothing (received/dropped ${rd:-unknown})"

# "PROTO SRC SPORT DST DPORT DIR VLAN BYTES PACKETS" per record.
probe_records "$D/ipfix.pcap" Proto SrcAddr SrcPort DstAddr DstPort FlowDirection SrcVlan Bytes \
	Packets >"$D/weir.txt"
# sum PROTO SRC SPORT DST DPORT DIR: "VLANS BYTES PACKETS" ("*" matches anything;
# VLANS: the distinct vlan ids, comma-separated).
sum() {
	awk -v p="$1" -v s="$2" -v sp="$3" -v d="$4" -v dp="$5" -v dir="$6" '
		(p == "*" || $1 == p) && (s == "*" || $2 == s) && (sp == "*" || $3 == sp) &&
		(d == "*" || $4 == d) && (dp == "*" || $5 == dp) && (dir == "*" || $6 == dir) {
			if (!($7 in seen)) { seen[$7] = 1; vl = vl (vl == "" ? "" : ",") $7 }
			b += $8; k += $9 }
		END { printf "%s %d %d\n", (vl == "" ? "-" : vl), b, k }' "$D/weir.txt"
}
got=$(sum 17 10.79.100.1 41001 10.79.100.2 5201 E)
[ "$got" = "100 38400 300" ]
tap $? "VLAN 100 egress: vlan bytes packets = 100 38400 300 (got $got)"
got=$(sum 17 10.79.100.2 41002 10.79.100.1 5301 I)
[ "$got" = "100 17600 200" ]
tap $? "VLAN 100 ingress: vlan bytes packets = 100 17600 200 (got $got)"
got=$(sum 17 10.79.0.1 41003 10.79.0.2 5201 E)
[ "$got" = "0 38400 300" ]
tap $? "untagged on the same interface: vlan bytes packets = 0 38400 300 (got $got)"

# GSO oracle: each captured packet of L payload bytes and H header bytes
# (IP + TCP) is ceil(L / MSS) wire packets of L + segs * H bytes, MSS = 1500 - H.
gso_truth() { # FILTER IPHDR
	tshark -r "$D/tcp.pcap" -Y "$1" -T fields -e tcp.len -e tcp.hdr_len 2>/dev/null |
		awk -v ih="$2" '{ h = ih + $2; mss = 1500 - h; s = $1 > mss ? int(($1 + mss - 1) / mss) : 1
			if (s > 1) g++; b += $1 + s * h; n += s }
			END { printf "%d %d %d\n", b, n, g }'
}
check_gso() { # WHAT FILTER IPHDR PROTO SRC SPORT DST DPORT DIR
	local what=$1 truth want got
	truth=$(gso_truth "$2" "$3")
	want=${truth% *}
	shift 3
	got=$(sum "$@")
	[ "${truth##* }" -gt 0 ]
	tap $? "$what: the capture holds GSO packets (${truth##* } of more than one MSS)"
	[ "${got#* }" = "$want" ]
	tap $? "$what: bytes packets = $want as segmented on the wire (got ${got#* })"
}
check_gso "TCP/IPv4 egress, GSO" "ip.src==10.79.0.1 && tcp.dstport==5202" 20 \
	6 10.79.0.1 '*' 10.79.0.2 5202 E
check_gso "TCP/IPv6 egress, GSO" "ipv6.src==fd79::1 && tcp.dstport==5203" 40 \
	6 fd79::1 '*' fd79::2 5203 E
check_gso "TCP/IPv4 ingress, GSO from the peer" "ip.src==10.79.0.2 && tcp.dstport==5302" 20 \
	6 10.79.0.2 '*' 10.79.0.1 5302 I
# The bytes are more than the payload written (headers of every segment), and
# the payload alone would have fitted in far fewer packets than counted.
got=$(sum 6 10.79.0.1 '*' 10.79.0.2 5202 E)
pk=${got##* }
[ "$pk" -ge $((200 * 60000 / 1448)) ]
tap $? "12 MB over TCP/IPv4 counted as at least $((200 * 60000 / 1448)) packets ($pk)"

echo "1..$E2E_N"
exit $E2E_FAILED
