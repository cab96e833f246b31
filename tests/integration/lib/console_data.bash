# SPDX-License-Identifier: AGPL-3.0-or-later
# Known flows for the console's tests (tests/integration/test_console.sh and
# tests/browser/console-up.bash). Sourced after lib/clickhouse.sh, with
# CH_URL set and WEIR pointing at the binary. (Not named *.sh: tests/run.sh
# runs those.)
#
# console_data_load DIR: creates the schema (weir orchestrator --once) and
# inserts, for every minute of the hour [CD_T0, CD_T0 + 3600) (CD_T0 defaults
# to 1767261600, 2026-01-01T10:00:00Z: tests/browser/known.json names it),
# with SamplingRate 10:
#   SrcAS 15169 DstAS 64500 TCP 443->50000   750 B 5 pkts  -> 1000 bps l3   ExporterTenant other
#   SrcAS 13335 DstAS 64500 UDP 53->40000    375 B 5 pkts  ->  500 bps      ExporterTenant acme
#   SrcAS 64501 DstAS 64500 TCP 22->50001     75 B 1 pkt   ->  100 bps      ExporterTenant other
#   SrcAS 64500 DstAS 15169 TCP 50000->443   150 B 2 pkts  ->  200 bps      ExporterTenant other
# all from exporter 192.0.2.1 "edge1" (InIfName Et1, InIfBoundary external,
# InIfProvider transit1, InIfSpeed 10), plus the same four flows 30 seconds
# ago (for the widgets, which look at the last minutes). flows_1m, flows_5m
# and flows_1h get them summed per minute, 5 minutes, hour (as the outlet does).
# Writes DIR/weir.yaml (clickhouse.url, database weir) and sets CD_T0. Then
# runs the statements of CD_EXTRA_SQL (one a line), if set.
#
# With CH_URL embedded://DBDIR (the embedded engine, one process per
# directory): the schema by `weir orchestrator --once` on it, the rows through
# CHDB_HTTP (tests/tools/chdb_http, an HTTP front to the engine that takes
# writes) started on DBDIR and stopped before returning, CH_URL back to
# embedded://DBDIR. weir.yaml then also holds retention 0s (the engine has
# TTL: a retention in the tables' definition would remove these old rows;
# the caller does not add its own).
console_data_load() {
	local dir=$1 url=$CH_URL front= ret
	CD_T0=${CD_T0:-1767261600}
	export CD_T0
	cat >"$dir/weir.yaml" <<EOC
clickhouse:
  url: $CH_URL
  database: weir
EOC
	case "$url" in embedded://*)
		echo "  retention: {flows: 0s, flows-1m: 0s, flows-5m: 0s, flows-1h: 0s}" >>"$dir/weir.yaml" ;;
	esac
	"$WEIR" orchestrator -c "$dir/weir.yaml" --once >"$dir/orchestrator.log" 2>&1 || return 1
	case "$url" in embedded://*)
		# (a few tries: another test may take the free port first)
		for _ in 1 2 3 4 5; do
			exec 8< <(exec "$CHDB_HTTP" "${url#embedded://}" --port "$(ch_free_port)" 2>>"$dir/chdb_http.log")
			front=$!
			read -r -t 120 CH_URL <&8 && break
			kill $front 2>/dev/null
			while kill -0 $front 2>/dev/null; do sleep 0.1; done
			exec 8<&-
			front=
		done
		[ -n "$front" ] || { CH_URL=$url; return 1; }
		;;
	esac
	_console_data_rows
	ret=$?
	# CD_EXTRA_SQL: statements (one a line) a test adds to the known flows.
	if [ "$ret" = 0 ] && [ -n "${CD_EXTRA_SQL:-}" ]; then
		while IFS= read -r sql; do
			[ -z "$sql" ] || ch_query "$sql" >/dev/null || { ret=1; break; }
		done <<<"$CD_EXTRA_SQL"
	fi
	if [ -n "$front" ]; then
		kill $front 2>/dev/null
		while kill -0 $front 2>/dev/null; do sleep 0.1; done
		exec 8<&-
		CH_URL=$url
	fi
	return $ret
}

_console_data_rows() {
	local cols rows="" m t
	cols="TimeReceived, SamplingRate, ExporterAddress, ExporterName, ExporterTenant, SrcAddr, DstAddr, SrcAS, DstAS, EType, Proto, SrcPort, DstPort, Bytes, Packets, InIfName, OutIfName, InIfBoundary, OutIfBoundary, InIfProvider, InIfSpeed, OutIfSpeed, SrcCountry, DstCountry"
	flow() { # time srcas dstas proto sport dport bytes packets tenant src dst scountry dcountry
		rows="$rows($1, 10, IPv6StringToNum('::ffff:192.0.2.1'), 'edge1', '$9', IPv6StringToNum('::ffff:${10}'), IPv6StringToNum('::ffff:${11}'), $2, $3, 2048, $4, $5, $6, $7, $8, 'Et1', 'Et2', 'external', 'internal', 'transit1', 10, 100, '${12}', '${13}'),"
	}
	for m in $(seq 0 59) recent; do
		if [ "$m" = recent ]; then t="now() - 30"; else t="toDateTime($((CD_T0 + m * 60 + 10)))"; fi
		flow "$t" 15169 64500 6 443 50000 750 5 other 8.8.8.8 192.0.2.10 US FR
		flow "$t" 13335 64500 17 53 40000 375 5 acme 1.1.1.1 192.0.2.11 US FR
		flow "$t" 64501 64500 6 22 50001 75 1 other 203.0.113.5 192.0.2.12 DE FR
		flow "$t" 64500 15169 6 50000 443 150 2 other 192.0.2.10 8.8.8.8 FR US
	done
	ch_query "INSERT INTO weir.flows ($cols) VALUES ${rows%,}" || return 1
	local dims
	dims=$(ch_query "SELECT arrayStringConcat(groupArray(name), ', ') FROM (SELECT name FROM system.columns WHERE database = 'weir' AND table = 'flows_1m' AND default_kind NOT IN ('ALIAS', 'MATERIALIZED') AND name NOT IN ('TimeReceived', 'Bytes', 'Packets'))") || return 1
	for t in "flows_1m toStartOfMinute" "flows_5m toStartOfFiveMinute" "flows_1h toStartOfHour"; do
		set -- $t
		ch_query "INSERT INTO weir.$1 (TimeReceived, $dims, Bytes, Packets) SELECT $2(TimeReceived) AS TimeReceived, $dims, sum(Bytes), sum(Packets) FROM weir.flows GROUP BY TimeReceived, $dims" || return 1
	done
}
