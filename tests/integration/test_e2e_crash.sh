#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# A crash loses the same flows in every table: `weir run` (ring bus) is
# killed (-9) in the middle of a stream, while flows holds flows whose sums
# are still in memory; at its restart the consolidated tables catch up
# (user/store/repair.c). Then, bucket by bucket, the sums of Bytes and
# Packets of flows equal those of flows_1m (per minute), flows_5m (per five
# minutes) and flows_1h (per hour), and nothing is counted twice. On the
# server (clickhouse-server) and on the embedded engine (read through
# tests/tools/chdb_http once weir is stopped; skipped without libchdb.so).
# Embedded, the restart also reports what the ring held at the kill (log
# line and weir_bus_ring_lost_at_crash_total).
set -u
. "$(dirname "$0")/lib/e2e.bash"

e2e_setup weir-e2e-crash
SERVER_URL=$CH_URL
CHDB_HTTP=$_e2e_build/tests/tools/chdb_http
READER=
trap 'e2e_cleanup; [ -n "$READER" ] && kill $READER 2>/dev/null' EXIT

UDP=$(e2e_free_udp_port)
HTTP=127.0.0.1:$(ch_free_port)
DB=weir_e2e_crash

# reader_start DIR / reader_stop: chdb_http on DIR (weir stopped) as CH_URL.
# (tried again on another port when the one picked was taken meanwhile)
reader_start() {
	local try
	for try in 1 2 3; do
		CH_URL=
		exec 7< <(exec "$CHDB_HTTP" "$1" --port "$(ch_free_port)" 2>>"$E2E_DIR/reader.log")
		READER=$!
		read -r -t 120 CH_URL <&7
		[ -n "$CH_URL" ] && return 0
		reader_stop
	done
	return 1
}
reader_stop() {
	[ -n "$READER" ] || return 0
	kill "$READER" 2>/dev/null
	while kill -0 "$READER" 2>/dev/null; do sleep 0.1; done
	exec 7<&-
	READER=
}

# bucket_sums TABLE ROUND: "bucket bytes packets" per bucket of ROUND.
bucket_sums() {
	ch_query "SELECT $2(TimeReceived) AS t, sum(Bytes), sum(Packets) FROM $DB.$1
		GROUP BY t ORDER BY t"
}

# tables_agree STORE: one TAP line per consolidated table.
tables_agree() {
	local t round want got
	for t in flows_1m:toStartOfMinute flows_5m:toStartOfFiveMinute flows_1h:toStartOfHour; do
		round=${t#*:}
		t=${t%%:*}
		want=$(bucket_sums flows "$round")
		got=$(bucket_sums "$t" "$round")
		[ -n "$want" ] && [ "$want" = "$got" ]
		tap $? "$1: $t agrees with flows in every bucket ($(echo "$got" | wc -l) buckets)"
		if [ "$want" != "$got" ]; then
			diff <(echo "$want") <(echo "$got") | head -n 10 | sed 's/^/# /'
		fi
	done
	# and per minute and dimensions (the difference of the two, by key)
	local dims="ExporterAddress, EType, Proto, InIf, OutIf, SrcAS, DstAS, SamplingRate,
		FlowDirection, ForwardingStatus, Dst1stAS, Dst2ndAS, Dst3rdAS"
	got=$(ch_query "SELECT count() FROM (SELECT t, $dims, sum(b) AS s, sum(p) AS q FROM (
		SELECT toStartOfMinute(TimeReceived) AS t, $dims, toInt64(Bytes) AS b,
		toInt64(Packets) AS p FROM $DB.flows UNION ALL SELECT TimeReceived AS t, $dims,
		-toInt64(Bytes) AS b, -toInt64(Packets) AS p FROM $DB.flows_1m) GROUP BY t, $dims)
		WHERE s != 0 OR q != 0")
	[ "$got" = 0 ]
	tap $? "$1: flows_1m agrees with flows per minute and dimensions ($got keys differ)"
}

# lag: how many Bytes flows holds that flows_1m does not.
lag() {
	ch_query "SELECT (SELECT sum(Bytes) FROM $DB.flows) - (SELECT sum(Bytes) FROM $DB.flows_1m)"
}

# crash_case STORE CONFIG_URL [CLICKHOUSE_LINE]: weir run on CONFIG_URL,
# killed in the middle of a stream, restarted; then the tables compared.
# For an embedded:// URL, ClickHouse is read through chdb_http between runs.
crash_case() {
	local store=$1 url=$2 ch_line=${3:-} dir=${2#embedded://} exp=127.0.0.60 acked got
	CH_URL=$url
	e2e_config "$E2E_DIR/$store.yaml" "$HTTP" 500ms "$ch_line"
	sed -i 's/^clickhouse:$/&\n  consolidation-interval: 10s/' "$E2E_DIR/$store.yaml"
	cat >>"$E2E_DIR/$store.yaml" <<EOF
bus:
  type: ring
  ring-size: 64MiB
EOF
	e2e_start "$store" run "$E2E_DIR/$store.yaml"
	tap $? "$store: weir run starts"
	"$FLOWGEN" stream -t "127.0.0.1:$UDP" -b $exp -f ipfix -n 2000000 -r 20000 \
		>/dev/null 2>&1 &
	local gen=$!
	E2E_EXTRA_PIDS=$gen
	# Killed once some sums were written (consolidation-interval 10s) and
	# 20000 flows or more are in flows only: count-based, so the kill falls
	# between two writes of the sums, well before the next.
	local summed=0
	for _ in $(seq 1 1200); do
		acked=$(e2e_metric "$HTTP" "weir_outlet_flows_stored_total{exporter=\"$exp\"}")
		summed=$(e2e_metric "$HTTP" weir_store_consolidated_flows_total)
		[ "$summed" -gt 0 ] && [ "$acked" -gt $((summed + 20000)) ] && break
		sleep 0.1
	done
	e2e_stop "$store" KILL
	kill $gen 2>/dev/null
	wait $gen 2>/dev/null
	E2E_EXTRA_PIDS=
	[ "$summed" -gt 0 ] && [ "$acked" -gt $((summed + 20000)) ]
	tap $? "$store: killed (-9) in the middle of a stream, $acked flows stored, $summed summed"

	[ "$url" != "$dir" ] && reader_start "$dir"
	got=$(lag)
	[ -n "$got" ] && [ "$got" -gt 0 ]
	tap $? "$store: after the kill, flows holds $got bytes flows_1m lacks (sums lost in memory)"
	reader_stop
	CH_URL=$url

	e2e_start "$store" run "$E2E_DIR/$store.yaml"
	tap $? "$store: weir run starts again after the kill"
	grep -q 'msg="consolidated tables repaired"' "$E2E_DIR/$store.log"
	tap $? "$store: the start repaired the consolidated tables (log)"
	# What the ring held at the kill is reported (embedded: the ring's
	# state is kept beside the database; a server has no directory of ours).
	[ "$url" != "$dir" ] && e2e_ring_loss_reported "$store" "$HTTP"
	# More flows after the restart: counted once everywhere as well.
	"$FLOWGEN" stream -t "127.0.0.1:$UDP" -b 127.0.0.61 -f v9 -n 20000 -r 20000 >/dev/null 2>&1
	for _ in $(seq 1 600); do
		got=$(e2e_metric "$HTTP" "weir_outlet_flows_stored_total{exporter=\"127.0.0.61\"}")
		[ "$got" = 20000 ] && break
		sleep 0.1
	done
	[ "$got" = 20000 ]
	tap $? "$store: 20000 flows sent after the restart are stored ($got)"
	e2e_stop "$store" TERM
	tap $? "$store: weir run exits 0 on SIGTERM"

	[ "$url" != "$dir" ] && reader_start "$dir"
	tables_agree "$store"
	got=$(ch_query "SELECT argMax(Dirty, Version) FROM $DB.consolidation_journal GROUP BY Writer" |
		grep -v '^$' | sort -u)
	[ "$got" = 0 ]
	tap $? "$store: after a clean stop every writer's journal is clean ($got)"
	reader_stop
}

crash_case server "$SERVER_URL"

if [ -x "$CHDB_HTTP" ] && reader_start "$E2E_DIR/probe" &&
	[ -n "${CH_URL:-}" ] && ch_query "SELECT 1" >/dev/null 2>&1; then
	reader_stop
	UDP=$(e2e_free_udp_port)
	crash_case embedded "embedded://$E2E_DIR/db" "embedded-max-memory: 2GiB"
else
	reader_stop
	tap_skip "embedded: the crash case" "the embedded engine does not load (make deps)"
fi
echo "1..$E2E_N"
exit $E2E_FAILED
