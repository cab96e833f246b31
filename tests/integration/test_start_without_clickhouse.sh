#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# `weir run` started while ClickHouse is away (issue 11): the flow inputs are
# open at once (no ICMP port unreachable reaches the exporter), /healthz says
# 503 and why, the flows sent meanwhile wait in the ring and are all stored
# once ClickHouse starts 30 s later (/healthz 200). A clickhouse.url that
# cannot work and credentials the server refuses end weir at once, non-zero,
# with the reason. Runs in a private network namespace of its own, so that
# the ICMP counter (/proc/net/snmp) counts only this test's traffic.
set -u
if [ -z "${WEIR_TEST_NETNS:-}" ] && unshare -n true 2>/dev/null; then
	exec env WEIR_TEST_NETNS=1 unshare -n bash "$0" "$@"
fi
[ -n "${WEIR_TEST_NETNS:-}" ] && ip link set lo up
. "$(dirname "$0")/lib/e2e.bash"

e2e_setup weir-start-noch
# The server's ports are known now; it starts again on them later.
ch_stop

UDP=$(e2e_free_udp_port)
HTTP=127.0.0.1:$(ch_free_port)
DB=weir_start
EXP=127.0.0.61
N=30000
RATE=1000
W=$(e2e_exporter_where $EXP)

# icmp_unreach: Icmp OutDestUnreachs of this network namespace.
icmp_unreach() {
	awk '$1 == "Icmp:" { if (!h) { for (i = 2; i <= NF; i++) if ($i == "OutDestUnreachs") c = i; h = 1 }
		else print $c }' /proc/net/snmp
}

# healthz: "STATUS BODY" of /healthz.
healthz() {
	local code
	code=$(curl -s --max-time 2 -o "$E2E_DIR/healthz" -w '%{http_code}' "http://$HTTP/healthz")
	echo "$code $(head -n 1 "$E2E_DIR/healthz")"
}

e2e_config "$E2E_DIR/weir.yaml" "$HTTP" 1s
cat >>"$E2E_DIR/weir.yaml" <<EOF
bus:
  type: ring
  ring-size: 64MiB
console:
  enabled: false
EOF

icmp_before=$(icmp_unreach)
setsid "$WEIR" run -c "$E2E_DIR/weir.yaml" >"$E2E_DIR/weir.log" 2>&1 </dev/null &
E2E_PID_weir=$!
E2E_NAMES="$E2E_NAMES weir"
start=$SECONDS

# ---- the inputs are open while ClickHouse is away ----
for _ in $(seq 1 100); do
	ss -Huln "sport = :$UDP" | grep -q . && break
	sleep 0.1
done
ss -Huln "sport = :$UDP" | grep -q .
tap $? "the UDP input is open within 10 s although ClickHouse is away"

"$FLOWGEN" stream -t "127.0.0.1:$UDP" -b $EXP -f ipfix -n $N -r $RATE >"$E2E_DIR/sent" &
gen=$!
E2E_EXTRA_PIDS="$E2E_EXTRA_PIDS $gen"
sleep 3

h=$(healthz)
echo "# /healthz while ClickHouse is away: $h"
case "$h" in "503 clickhouse at $CH_URL unreachable since "*) true ;; *) false ;; esac
tap $? "/healthz answers 503 with the reason while ClickHouse is away"
grep -q 'msg="ClickHouse unreachable, flows wait in the bus until it answers".*datagrams_buffered=' \
	"$E2E_DIR/weir.log"
tap $? "the log says ClickHouse is unreachable, since when and what is buffered"
m=$(curl -s --max-time 5 "http://$HTTP/metrics")
echo "$m" | grep -qx 'weir_store_up 0' && echo "$m" | grep -qx 'weir_store_schema_ready 0'
tap $? "/metrics: weir_store_up 0, weir_store_schema_ready 0"
# The rings (bus.ring-size) are in memory from the start, so that the receive
# path never takes their first pass's page faults: a mapping of a ring's size
# or more, wholly resident, for each ring /metrics lists.
rings=$(echo "$m" | grep -c '^weir_bus_ring_size_bytes')
resident=$(awk -v kb=$((64 * 1024)) '$1 == "Size:" { size = $2 }
	$1 == "Rss:" && size >= kb && $2 >= kb { n++ } END { print n + 0 }' "/proc/$E2E_PID_weir/smaps")
[ "$rings" -ge 1 ] && [ "$resident" -ge "$rings" ]
tap $? "the $rings rings of 64 MiB are resident from the start ($resident such mappings wholly in memory)"

# ---- ClickHouse arrives 30 s after weir ----
sleep $((30 - (SECONDS - start)))
ch_start "$E2E_DIR/ch" >/dev/null
echo "# ClickHouse started $((SECONDS - start)) s after weir"
wait $gen
sent=$(sed -n 's/.* datagrams=\([0-9]*\).*/\1/p' "$E2E_DIR/sent")
got=$(e2e_wait_value "SELECT count() FROM $DB.flows WHERE $W" $N 120)
tap $? "every flow sent while ClickHouse was away is stored: $got of $N"
got=$(ch_query "SELECT count() - uniqExact(SrcAddr, SrcPort) FROM $DB.flows WHERE $W")
[ "$got" = 0 ]
tap $? "none twice ($got duplicates)"
icmp_after=$(icmp_unreach)
if [ -n "${WEIR_TEST_NETNS:-}" ]; then
	[ "$icmp_after" = "$icmp_before" ]
	tap $? "no ICMP destination unreachable was sent (OutDestUnreachs $icmp_before -> $icmp_after, $sent datagrams sent)"
else
	tap_skip "no ICMP destination unreachable was sent" "no private network namespace (unshare -n)"
fi
dropped=$(curl -s "http://$HTTP/metrics" | awk '/^weir_bus_ring_dropped_total/ { s += $2 } END { print s + 0 }')
[ "$dropped" = 0 ]
tap $? "the ring dropped nothing ($dropped)"
for _ in $(seq 1 50); do [ "$(healthz)" = "200 ok" ] && break; sleep 0.2; done
h=$(healthz)
[ "$h" = "200 ok" ]
tap $? "/healthz answers 200 ok once the schema is ready ($h)"
m=$(curl -s --max-time 5 "http://$HTTP/metrics")
echo "$m" | grep -qx 'weir_store_up 1' && echo "$m" | grep -qx 'weir_store_schema_ready 1'
tap $? "/metrics: weir_store_up 1, weir_store_schema_ready 1"
e2e_stop weir TERM
tap $? "weir run exits 0 on SIGTERM"

# ---- fail fast ----
# run_fails NAME CONFIG PATTERN: `weir run` must end non-zero within 15 s
# with PATTERN in what it printed.
run_fails() {
	local name=$1 config=$2 pattern=$3 t0=$SECONDS rc
	timeout 15 "$WEIR" run -c "$config" >"$E2E_DIR/$name.log" 2>&1 </dev/null
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q -- "$pattern" "$E2E_DIR/$name.log"; then
		tap 0 "$name: weir run exits $rc after $((SECONDS - t0)) s saying $pattern"
		grep -- "$pattern" "$E2E_DIR/$name.log" | head -n 1 | sed 's/^/# /'
	else
		tap 1 "$name: weir run exits non-zero within 15 s saying $pattern (exit $rc)"
		sed 's/^/# /' "$E2E_DIR/$name.log" | tail -n 20
	fi
}

sed "s|url: .*|url: http://127.0.0.1:70000|" "$E2E_DIR/weir.yaml" >"$E2E_DIR/bad-url.yaml"
"$WEIR" config check "$E2E_DIR/bad-url.yaml" >"$E2E_DIR/check.log" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q 'clickhouse.url.*port 70000' "$E2E_DIR/check.log"
tap $? "weir config check refuses clickhouse.url with port 70000 (exit $rc: $(head -c 160 "$E2E_DIR/check.log"))"
run_fails bad-url "$E2E_DIR/bad-url.yaml" 'clickhouse.url.*port 70000'
sed "s|url: .*|url: http://:8123|" "$E2E_DIR/weir.yaml" >"$E2E_DIR/no-host.yaml"
run_fails no-host "$E2E_DIR/no-host.yaml" 'clickhouse.url.*no host'

sed "s|^clickhouse:|clickhouse:\n  username: nobody_here\n  password: wrong|" \
	"$E2E_DIR/weir.yaml" >"$E2E_DIR/bad-user.yaml"
run_fails bad-credentials "$E2E_DIR/bad-user.yaml" "ClickHouse at $CH_URL refused user \"nobody_here\""

if [ -e "$(dirname "$0")/../../third_party/chdb/libchdb.so" ] || [ -n "${WEIR_TEST_STORE:-}" ]; then
	sed "s|url: .*|url: embedded://$E2E_DIR/embedded|" "$E2E_DIR/weir.yaml" >"$E2E_DIR/emb.yaml"
	UDP2=$(e2e_free_udp_port)
	sed "s|url: .*|url: embedded://$E2E_DIR/embedded|; s|127.0.0.1:$UDP|127.0.0.1:$UDP2|;
		s|listen: $HTTP|listen: 127.0.0.1:$(ch_free_port)|" "$E2E_DIR/weir.yaml" >"$E2E_DIR/emb2.yaml"
	if e2e_start emb run "$E2E_DIR/emb.yaml"; then
		run_fails embedded-locked "$E2E_DIR/emb2.yaml" "is in use by another process"
		e2e_stop emb TERM
	else
		tap 1 "weir run on an embedded database starts"
	fi
else
	tap_skip "a second weir on an embedded database in use fails at once" "no libchdb.so"
fi

echo "1..$E2E_N"
exit $E2E_FAILED
