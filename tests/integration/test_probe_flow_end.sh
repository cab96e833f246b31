#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# TCP FIN/RST ends a flow promptly: with a 30 s drain interval and a 60 s idle
# timeout, a connection closed with FIN (IPv4) and one reset with RST (IPv6)
# are exported within a generous 2 s, and those early records hold exactly
# what a capture on the same interface saw up to the FIN/RST; at exit the
# records of each direction add up to the capture's totals. With
# batch-packets (the default), four connections whose sender moves from CPU 0
# to CPU 1 halfway: what CPU 0 still had staged at the FIN is in the FIN's
# record too.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/integration/lib/e2e.bash" # tap
. "$top/tests/integration/lib/probe.bash" # probe_require, probe_pair, probe_launch, probe_stop, probe_records, inA, inB
probe_require tshark dumpcap ethtool curl

probe_pair pfe 10.78 78
tap $? "two namespaces joined by a veth pair ($IA, $IB)"
# One skb per packet on the wire: the capture is the oracle.
inA ethtool -K $IA tso off gso off gro off >/dev/null 2>&1
inB ethtool -K $IB tso off gso off gro off >/dev/null 2>&1

ip netns exec $B "$TRAFFIC" sink 5201 5202 5203 5204 5205 5206 >/dev/null &
PIDS="$PIDS $!"
ip netns exec $A "$TRAFFIC" sink 9996 >/dev/null &
PIDS="$PIDS $!"
ip netns exec $A dumpcap -q -i $IA -f tcp -w "$D/tcp.pcap" >/dev/null 2>&1 &
TCPCAP=$!
ip netns exec $A dumpcap -q -i lo -f "udp port 9996" -w "$D/ipfix.pcap" >/dev/null 2>&1 &
CAP=$!
PIDS="$PIDS $TCPCAP $CAP"
for _ in $(seq 50); do [ -s "$D/ipfix.pcap" ] && [ -s "$D/tcp.pcap" ] && break; sleep 0.1; done

cat >"$D/weir.yaml" <<EOF
http:
  listen: 127.0.0.1:9181
probe:
  collectors: ["127.0.0.1:9996"]
  idle-timeout: 60s
  active-timeout: 120s
  drain-interval: 30s
EOF
# (batch-packets: the default)
probe_launch "$D/weir.yaml" "$D/probe.log"
tap $? "weir probe starts in $A (drain-interval 30s, idle-timeout 60s)"

inA "$TRAFFIC" tcp 10.78.0.2 5201 300 1000 >/dev/null
inA "$TRAFFIC" tcp fd78::2 5202 200 700 rst >/dev/null
# The sender on CPU 0, then on CPU 1 for the second half and the FIN.
# What CPU 0 still has staged when it leaves depends on how the packets
# fell; four connections of different sizes: rarely all with nothing.
if [ "$(nproc)" -ge 2 ]; then
	inA "$TRAFFIC" tcp 10.78.0.2 5203 101 900 hop >/dev/null
	inA "$TRAFFIC" tcp fd78::2 5204 77 600 hop >/dev/null
	inA "$TRAFFIC" tcp 10.78.0.2 5205 58 1200 hop >/dev/null
	inA "$TRAFFIC" tcp fd78::2 5206 43 300 hop >/dev/null
fi
sleep 2 # well under the drain interval: only FIN/RST can have exported them
T=$(date +%s.%N)
ended=$(inA curl -s --max-time 5 http://127.0.0.1:9181/metrics |
	awk '$1 == "weir_probe_flows_ended_total" { print $2 }')
# FIN both ways (the sink closes when it reads the client's), RST one way.
[ "${ended:-0}" -ge 3 ]
tap $? "weir_probe_flows_ended_total counts the FIN/RST flows (${ended:-none})"

probe_stop

# decoded PCAP OUT: "PROTO SRC SPORT DST DPORT DIR BYTES PACKETS" lines.
decoded() {
	probe_records "$1" Proto SrcAddr SrcPort DstAddr DstPort FlowDirection Bytes Packets >"$2"
}
tshark -r "$D/ipfix.pcap" -Y "frame.time_epoch <= $T" -w "$D/early.pcap" 2>/dev/null
decoded "$D/early.pcap" "$D/early.txt"
decoded "$D/ipfix.pcap" "$D/all.txt"

# sum FILE PROTO SRC SPORT DST DPORT DIR: "BYTES PACKETS" ("*" matches anything).
sum() {
	awk -v p="$2" -v s="$3" -v sp="$4" -v d="$5" -v dp="$6" -v dir="$7" '
		(p == "*" || $1 == p) && (s == "*" || $2 == s) && (sp == "*" || $3 == sp) &&
		(d == "*" || $4 == d) && (dp == "*" || $5 == dp) && (dir == "*" || $6 == dir) {
			b += $7; k += $8 }
		END { printf "%d %d\n", b, k }' "$1"
}
# truth FILTER LENFIELD EXTRA [upto-end]: "BYTES PACKETS" of the captured
# packets, all of them, or with "upto-end" up to the last FIN or RST: each
# one makes a record, so a retransmitted FIN (the VM busy) brings what came
# after the first into a record of its own, exported early too.
truth() {
	tshark -r "$D/tcp.pcap" -Y "$1" -T fields -e "$2" -e tcp.flags 2>/dev/null |
		awk -v x="$3" -v upto="${4:-}" '
			{ b += $1 + x; n++ }
			# the last hex digit holds FIN (1) and RST (4)
			tolower(substr($2, length($2))) ~ /[1345679bcdef]/ { eb = b; en = n }
			END { if (upto != "") { b = eb; n = en }
				printf "%d %d\n", b, n }'
}

check() { # WHAT WANT GOT
	[ "$2" = "$3" ] && [ "$2" != "0 0" ]
	tap $? "$1: bytes packets = $2 (got $3)"
}
f4e='ip.src==10.78.0.1 && tcp.port==5201'
f4i='ip.src==10.78.0.2 && tcp.port==5201'
f6e='ipv6.src==fd78::1 && tcp.port==5202'
check "FIN, egress, exported within 2 s, up to the FIN" "$(truth "$f4e" ip.len 0 upto-end)" \
	"$(sum "$D/early.txt" 6 10.78.0.1 '*' 10.78.0.2 5201 E)"
check "FIN, ingress, exported within 2 s, up to the FIN" "$(truth "$f4i" ip.len 0 upto-end)" \
	"$(sum "$D/early.txt" 6 10.78.0.2 5201 10.78.0.1 '*' I)"
check "RST, egress, exported within 2 s, up to the RST" "$(truth "$f6e" ipv6.plen 40 upto-end)" \
	"$(sum "$D/early.txt" 6 fd78::1 '*' fd78::2 5202 E)"
check "FIN, egress, every record at exit" "$(truth "$f4e" ip.len 0)" \
	"$(sum "$D/all.txt" 6 10.78.0.1 '*' 10.78.0.2 5201 E)"
check "FIN, ingress, every record at exit" "$(truth "$f4i" ip.len 0)" \
	"$(sum "$D/all.txt" 6 10.78.0.2 5201 10.78.0.1 '*' I)"
check "RST, egress, every record at exit" "$(truth "$f6e" ipv6.plen 40)" \
	"$(sum "$D/all.txt" 6 fd78::1 '*' fd78::2 5202 E)"
check "RST, ingress, every record at exit" \
	"$(truth 'ipv6.src==fd78::2 && tcp.port==5202' ipv6.plen 40)" \
	"$(sum "$D/all.txt" 6 fd78::2 5202 fd78::1 '*' I)"

if [ "$(nproc)" -ge 2 ]; then
	for c in "10.78.0.1 10.78.0.2 5203 ip.len 0 ip" "fd78::1 fd78::2 5204 ipv6.plen 40 ipv6" \
		"10.78.0.1 10.78.0.2 5205 ip.len 0 ip" "fd78::1 fd78::2 5206 ipv6.plen 40 ipv6"; do
		set -- $c
		check "hop CPU 0 -> 1, port $3, egress, exported within 2 s, up to the FIN" \
			"$(truth "$6.src==$1 && tcp.port==$3" $4 $5 upto-end)" \
			"$(sum "$D/early.txt" 6 $1 '*' $2 $3 E)"
		check "hop CPU 0 -> 1, port $3, ingress, exported within 2 s, up to the FIN" \
			"$(truth "$6.src==$2 && tcp.port==$3" $4 $5 upto-end)" \
			"$(sum "$D/early.txt" 6 $2 $3 $1 '*' I)"
		check "hop CPU 0 -> 1, port $3, egress, every record at exit" \
			"$(truth "$6.src==$1 && tcp.port==$3" $4 $5)" "$(sum "$D/all.txt" 6 $1 '*' $2 $3 E)"
	done
else
	tap 0 "# SKIP one CPU: no sender moving between CPUs"
fi
echo "1..$E2E_N"
exit $E2E_FAILED
