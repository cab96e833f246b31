#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# End to end on the embedded engine: `weir run` with clickhouse.url
# embedded://DIR stores flowgen's exact v5/v9/IPFIX/sFlow flows with their
# values, and after a kill -9 in the middle of a stream and a restart, every
# row weir counted as stored (weir_outlet_flows_stored_total, counted once
# the engine acknowledged the batch) is in DIR. The directory is read once
# weir is stopped (one process per directory), through tests/tools/chdb_http
# (an HTTP front to the engine), so lib/e2e.bash's ch_query works on it.
# Each run starts the engine once, and the restart after the kill reports
# what the ring held (log line, weir_bus_ring_lost_at_crash_total); a
# start after an orderly stop reports nothing.
# Skipped without libchdb.so (`make deps`).
set -u
. "$(dirname "$0")/lib/e2e.bash"

CHDB_HTTP=$_e2e_build/tests/tools/chdb_http
for b in "$WEIR" "$FLOWGEN" "$CHDB_HTTP"; do
	if [ ! -x "$b" ]; then
		echo "1..0 # SKIP $b not built"
		exit 0
	fi
done
E2E_DIR=$(mktemp -d "${TMPDIR:-/tmp}/weir-e2e-embedded.XXXXXX")
trap 'e2e_cleanup; [ -n "${READER:-}" ] && kill $READER 2>/dev/null' EXIT
DBDIR=$E2E_DIR/db

# reader_start / reader_stop: chdb_http on DBDIR (weir stopped), CH_URL.
reader_start() {
	exec 7< <(exec "$CHDB_HTTP" "$DBDIR" --port "$(ch_free_port)" 2>>"$E2E_DIR/reader.log")
	READER=$!
	read -r -t 120 CH_URL <&7
}
reader_stop() {
	kill "$READER" 2>/dev/null
	while kill -0 "$READER" 2>/dev/null; do sleep 0.1; done
	exec 7<&-
	READER=
}

reader_start
if [ -z "${CH_URL:-}" ] || ! ch_query "SELECT 1" >/dev/null 2>&1; then
	echo "1..0 # SKIP the embedded engine does not load: $(tail -n 1 "$E2E_DIR/reader.log")"
	reader_stop
	exit 0
fi
reader_stop

UDP=$(e2e_free_udp_port)
HTTP=127.0.0.1:$(ch_free_port)
DB=weir_e2e
CH_URL=embedded://$DBDIR
e2e_config "$E2E_DIR/weir.yaml" "$HTTP" 500ms "embedded-max-memory: 2GiB"
cat >>"$E2E_DIR/weir.yaml" <<EOF2
bus:
  type: ring
  ring-size: 64MiB
EOF2
e2e_start weir run "$E2E_DIR/weir.yaml"
tap $? "weir run starts on the embedded engine ($CH_URL, UDP $UDP, HTTP $HTTP)"

# engine_starts: how often the log says the engine started (once per run:
# every client of the process shares the one engine).
engine_starts() {
	grep -c 'msg="embedded clickhouse started"' "$E2E_DIR/weir.log"
}
# unclean_lines: the restarts that reported an unclean stop.
unclean_lines() {
	grep -c 'msg="unclean stop: datagrams in flight were lost"' "$E2E_DIR/weir.log"
}
got=$(engine_starts)
[ "$got" = 1 ]
tap $? "the engine is started once by weir run, for its store, orchestrator and query endpoint ($got)"

# ---- exact rows: sent now, read once weir is stopped ----
i=0
for fmt in v5 v9 ipfix sflow; do
	i=$((i + 1))
	"$FLOWGEN" exact -t "127.0.0.1:$UDP" -b "127.0.0.$((40 + i))" -f "$fmt" \
		>"$E2E_DIR/exact-$fmt.tsv" 2>/dev/null
	got=$(e2e_wait_stored "127.0.0.$((40 + i))" 3 60)
	tap $? "$fmt: weir counts the 3 flows stored ($got)"
done

# ---- kill -9 in the middle of a stream ----
EXP=127.0.0.50
"$FLOWGEN" stream -t "127.0.0.1:$UDP" -b $EXP -f ipfix -n 400000 -r 20000 >/dev/null 2>&1 &
gen=$!
E2E_EXTRA_PIDS=$gen
for _ in $(seq 1 600); do
	[ "$(e2e_metric "$HTTP" "weir_outlet_flows_stored_total{exporter=\"$EXP\"}")" -gt 20000 ] && break
	sleep 0.1
done
acked=$(e2e_metric "$HTTP" "weir_outlet_flows_stored_total{exporter=\"$EXP\"}")
e2e_stop weir KILL
kill $gen 2>/dev/null
wait $gen 2>/dev/null
[ "$acked" -gt 0 ]
tap $? "weir run killed (-9) in the middle of a stream, $acked flows counted stored before"

e2e_start weir run "$E2E_DIR/weir.yaml"
tap $? "weir run starts again on the same directory after the kill"
got=$(engine_starts)
[ "$got" = 2 ]
tap $? "the engine is started once again ($got starts in both runs)"
# What the ring held at the kill is reported: a log line and a counter.
e2e_ring_loss_reported weir "$HTTP"
e2e_stop weir TERM
tap $? "weir run exits 0 on SIGTERM"
# After an orderly stop, a start reports no loss.
e2e_start weir run "$E2E_DIR/weir.yaml"
tap $? "weir run starts again after the orderly stop"
got=$(e2e_metric "$HTTP" weir_bus_ring_lost_at_crash_total)
[ "$(unclean_lines)" = 1 ] && [ "$got" = 0 ]
tap $? "a start after an orderly stop reports no loss ($(unclean_lines) report in all, counter $got)"
e2e_stop weir TERM
tap $? "weir run exits 0 on SIGTERM again"

reader_start
W=$(e2e_exporter_where $EXP)
got=$(ch_query "SELECT count() FROM $DB.flows WHERE $W")
[ -n "$got" ] && [ "$got" -ge "$acked" ]
tap $? "every flow counted stored before the kill is in flows ($got >= $acked)"

i=0
for fmt in v5 v9 ipfix sflow; do
	i=$((i + 1))
	ch_query "SELECT $E2E_EXACT_COLS FROM $DB.flows WHERE $(e2e_exporter_where 127.0.0.$((40 + i)))
		ORDER BY SrcPort" | grep -v '^$' >"$E2E_DIR/got-$fmt.tsv"
	# "-" in the expectation: a column this format does not carry.
	paste "$E2E_DIR/exact-$fmt.tsv" "$E2E_DIR/got-$fmt.tsv" | awk -F'\t' '
		{ n = NF / 2; for (c = 1; c <= n; c++) if ($c != "-" && $c != $(c + n)) {
			printf "# row %d column %d: expected %s, got %s\n", NR, c, $c, $(c + n)
			bad = 1 } }
		END { exit bad || NR != 3 }'
	tap $? "$fmt: the 3 flows are in flows with exact values"
done
# (the consolidated tables after a kill -9: test_e2e_crash.sh)
reader_stop
echo "1..$E2E_N"
exit $E2E_FAILED
