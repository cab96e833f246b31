# SPDX-License-Identifier: AGPL-3.0-or-later
# What the probe's integration tests share: two network namespaces joined by
# a veth pair, and their clean-up. Source after e2e.bash (tap, E2E_FAILED),
# with $top set; sets WEIR and TRAFFIC.

build=${WEIR_BUILD:-$top/build}
WEIR=$build/weir
TRAFFIC=$build/tests/tools/probe_traffic

# probe_require TOOL...: exits with a TAP skip unless weir and probe_traffic
# are built, the tools are installed and this is root.
probe_require() {
	local b t
	for b in "$WEIR" "$TRAFFIC"; do
		[ -x "$b" ] || { echo "1..0 # SKIP $b not built"; exit 0; }
	done
	for t in "$@"; do
		command -v $t >/dev/null || { echo "1..0 # SKIP $t not installed"; exit 0; }
	done
	[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (network namespaces, BPF)"; exit 0; }
}

# probe_pair TAG NET NET6: sets A, B (namespaces weir-TAG-a-PID, -b-), IA, IB
# (veth ends wTAGaPID, wTAGbPID: TAG at most 3 characters), D (a temporary
# directory), PIDS (killed at exit), inA/inB; addresses NET.0.1/24 and
# fdNET6::1/64 on IA, .2 and ::2 on IB (NET "10.77", NET6 "77"). Returns
# the status of the setup; the EXIT trap removes everything.
probe_pair() {
	local tag=$1 net=$2 net6=$3
	A=weir-$tag-a-$$
	B=weir-$tag-b-$$
	IA=w${tag}a$$
	IB=w${tag}b$$
	D=$(mktemp -d "${TMPDIR:-/tmp}/weir-$tag.XXXXXX")
	PIDS=
	trap probe_pair_cleanup EXIT
	ip netns add $A && ip netns add $B &&
		ip link add $IA netns $A type veth peer name $IB netns $B &&
		ip -n $A link set lo up && ip -n $B link set lo up &&
		ip -n $A link set $IA up && ip -n $B link set $IB up &&
		ip -n $A addr add $net.0.1/24 dev $IA && ip -n $B addr add $net.0.2/24 dev $IB &&
		ip -n $A addr add fd$net6::1/64 dev $IA nodad &&
		ip -n $B addr add fd$net6::2/64 dev $IB nodad
}

probe_pair_cleanup() {
	[ -n "$PIDS" ] && kill $PIDS 2>/dev/null
	wait 2>/dev/null
	ip netns del $A 2>/dev/null
	ip netns del $B 2>/dev/null
	[ "$E2E_FAILED" = 0 ] && rm -rf "$D" || echo "# logs kept in $D"
}

inA() { ip netns exec $A "$@"; }
inB() { ip netns exec $B "$@"; }

# probe_launch YAML LOG: weir probe -c YAML in $A, its output in LOG; sets
# PROBE (killed at exit). Returns 0 once it says it is ready, 1 after 10 s.
probe_launch() {
	ip netns exec $A "$WEIR" probe -c "$1" >"$2" 2>&1 &
	PROBE=$!
	PIDS="$PIDS $PROBE"
	for _ in $(seq 100); do grep -q 'msg="ready"' "$2" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

# probe_stop: stops the probe ($PROBE) with SIGTERM (a tap: it exits 0), then
# the captures $CAP and $TCPCAP once its last datagrams reached them: their
# files are then whole.
probe_stop() {
	kill -TERM $PROBE
	wait $PROBE
	tap $? "weir probe exits 0 on SIGTERM"
	sleep 0.3
	kill $CAP $TCPCAP 2>/dev/null
	wait $CAP $TCPCAP 2>/dev/null
}

# probe_records PCAP KEY...: one line per flow record of the IPFIX capture
# PCAP (weir decode --json), the values of the KEYs separated by spaces
# (0 when absent; FlowDirection as I or E). weir decode's messages go to
# $D/decode.log.
probe_records() {
	local pcap=$1
	shift
	"$WEIR" decode --json "$pcap" 2>>"$D/decode.log" | awk -v keys="$*" '
		function v(k,   m) { if (match($0, "\"" k "\":\"?[^,\"}]*")) { m = substr($0, RSTART, RLENGTH); sub(/^"[^"]*":"?/, "", m); return m } return 0 }
		BEGIN { n = split(keys, key, " ") }
		{ line = ""
		  for (i = 1; i <= n; i++) {
			x = v(key[i])
			if (key[i] == "FlowDirection") x = x == "ingress" ? "I" : "E"
			line = line (i > 1 ? " " : "") x }
		  print line }'
}
