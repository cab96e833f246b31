#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# The console against a private ClickHouse holding known flows
# (lib/console_data.bash): exact numbers from graph/line (sums, top-N and
# Other, units, bidirectional, previous period, table choice), sankey,
# widgets, filter validate and complete, tenants on every endpoint, saved
# filters and users; 200 concurrent clients, slow clients, oversized and
# bad bodies get clear answers without stalling the server. With
# WEIR_TEST_STORE=embedded, the same on the embedded engine (skipped without
# libchdb.so: `make deps`), and its read-only sessions' limits.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
WEIR=${WEIR:-${WEIR_BUILD:-$top/build}/weir}
FLOWGEN=$WEIR # e2e_setup checks both
. "$top/tests/integration/lib/clickhouse.sh"
. "$top/tests/integration/lib/e2e.bash"
. "$top/tests/integration/lib/console_data.bash"
command -v jq >/dev/null || { echo "1..0 # SKIP jq not installed"; exit 0; }
# WEIR_TEST_STORE=embedded (tests/run.sh: integration/test_console:embedded):
# the same checks on the embedded engine (clickhouse.url embedded://DIR),
# its data loaded through tests/tools/chdb_http, which is stopped before weir
# opens the directory (one process per directory).
EMBEDDED=
if [ "${WEIR_TEST_STORE:-}" = embedded ]; then
	EMBEDDED=1
	CHDB_HTTP=$_e2e_build/tests/tools/chdb_http
	for b in "$WEIR" "$CHDB_HTTP"; do
		[ -x "$b" ] || { echo "1..0 # SKIP $b not built"; exit 0; }
	done
	E2E_DIR=$(mktemp -d "${TMPDIR:-/tmp}/test_console_embedded.XXXXXX")
	trap e2e_cleanup EXIT
	CH_URL=embedded://$E2E_DIR/db
	if ! "$WEIR" orchestrator -c <(printf 'clickhouse:\n  url: %s\n' "$CH_URL") --once >"$E2E_DIR/probe.log" 2>&1 &&
		grep -q 'make deps\|libchdb' "$E2E_DIR/probe.log"; then
		echo "1..0 # SKIP the embedded engine does not load: $(tail -n 1 "$E2E_DIR/probe.log")"
		exit 0
	fi
	rm -rf "$E2E_DIR/db"
else
	e2e_setup test_console
fi

# Besides the known flows, three IPv6 ones at 14:00:10 (flows only), for
# truncate-v6: 4500, 9000 and 4500 bytes (x 10 x 8 / 3600 s = 100, 200 and
# 100 bps over 14:00-15:00).
v6() { # DST BYTES
	echo "INSERT INTO weir.flows (TimeReceived, SamplingRate, ExporterAddress, ExporterName, SrcAddr, DstAddr, EType, Proto, Bytes, Packets) VALUES (toDateTime(1767276010), 10, IPv6StringToNum('::ffff:192.0.2.1'), 'edge1', IPv6StringToNum('2001:db8:ffff::1'), IPv6StringToNum('$1'), 34525, 6, $2, 3)"
}
# And two flows on 2026-01-04 16:00:10 (flows only, nothing else reads that
# day) through two 10 Mbps interfaces of edge1, each 3,000,000 bits: 0.1 %
# of its interface over 16:00-16:05.
if2() { # INTERFACE
	echo "INSERT INTO weir.flows (TimeReceived, SamplingRate, ExporterAddress, ExporterName, SrcPort, InIfName, InIfSpeed, OutIfName, OutIfSpeed, Bytes, Packets) VALUES (toDateTime(1767542410), 1, IPv6StringToNum('::ffff:192.0.2.1'), 'edge1', 4242, '$1', 10, 'Et9', 0, 374962, 1)"
}
CD_EXTRA_SQL="$(v6 2001:db8:1:12::1 4500; v6 2001:db8:1:13::5 9000; v6 2001:db8:1:2f::1 4500; if2 Et1; if2 Et2)"
console_data_load "$E2E_DIR" || { echo "not ok 1 - known flows loaded"; cat "$E2E_DIR"/*.log; exit 1; }
port=$(ch_free_port)
# The known flows are from 2026-01-01: no retention, so that every table
# covers them (console_data_load has set it on the embedded engine).
[ -n "$EMBEDDED" ] ||
	echo "  retention: {flows: 0s, flows-1m: 0s, flows-5m: 0s, flows-1h: 0s}" >>"$E2E_DIR/weir.yaml"
cat >>"$E2E_DIR/weir.yaml" <<EOC
http:
  listen: 127.0.0.1:$port
console:
  web-dir: $E2E_DIR/none
  max-queries: 8
  saved-filters-file: $E2E_DIR/saved.jsonl
  tenants:
  - group: acme
    filter: ExporterTenant = "acme"
  - user: mallory
    filter: SrcAS = 64501
  - user: ivan
    filter: SrcAddr << 1.1.1.0/24
EOC
U=http://127.0.0.1:$port
A=$U/api/v0/console
# console_start CONFIG LOG: `weir console` in the background until /healthz.
console_start() {
	"$WEIR" console -c "$1" >"$2" 2>&1 &
	E2E_EXTRA_PIDS="$!"
	for _ in $(seq 1 100); do curl -fs --max-time 1 "$U/healthz" >/dev/null && break; sleep 0.1; done
	curl -fs --max-time 1 "$U/healthz" >/dev/null
}
# console_stop WHAT: SIGTERM, and the exit status as a TAP line.
console_stop() {
	kill -TERM "$E2E_EXTRA_PIDS"
	wait "$E2E_EXTRA_PIDS"
	tap $? "$1 stops cleanly on SIGTERM"
	E2E_EXTRA_PIDS=
}
console_start "$E2E_DIR/weir.yaml" "$E2E_DIR/console.log"
tap $? "weir console answers /healthz"

S=2026-01-01T10:00:00Z
E=2026-01-01T11:00:00Z
# post PATH JSON [CURL ARGS...]: the body on stdout, headers in $E2E_DIR/h
post() {
	local p=$1 b=$2
	shift 2
	curl -s --max-time 20 -D "$E2E_DIR/h" "$@" "$A/$p" -d "$b"
}
line() { # EXTRA-JSON [CURL ARGS...]
	local x=$1
	shift
	post graph/line "{\"start\":\"$S\",\"end\":\"$E\",\"limit\":10,\"points\":12$x}" "$@"
}
sqlhdr() { grep -i '^X-SQL-Query:' "$E2E_DIR/h"; }
check() { # DESCRIPTION JSON JQ-EXPR EXPECTED
	local got
	got=$(printf '%s' "$2" | jq -c "$3" 2>&1)
	[ "$got" = "$4" ]
	tap $? "$1"
	[ "$got" = "$4" ] || echo "#   got $got, expected $4 (from ${2:0:300})"
}

out=$(curl -s "$A/configuration")
check "configuration: dimensions, truncatable, limit" "$out" \
	'[(.dimensions | index("SrcAS") != null), (.truncatable | index("SrcAddr") != null), .dimensionsLimit, .defaultVisualizeOptions.limitType]' \
	'[true,true,50,"avg"]'
check "configuration: the truncatable dimensions are the addresses" "$out" '.truncatable' '["SrcAddr","DstAddr","SrcAddrNAT","DstAddrNAT","NextHop"]'

out=$(line ',"dimensions":["SrcAS"],"limit":2,"units":"l3bps"')
check "graph/line: top 2 and Other (l3bps, exact)" "$out" \
	'[.rows, .average, .min, .max, .last, ."95th", (.t | length), .t[0], .axis]' \
	'[[["15169: GOOGLE"],["13335: CLOUDFLARENET"],["Other"]],[1000,500,300],[1000,500,300],[1000,500,300],[1000,500,300],[1000,500,300],12,"2026-01-01T10:00:00Z",[1,1,1]]'
check "graph/line: total volume" "$out" '.total' '[3600000,1800000,1080000]'
sqlhdr | grep -q "FROM flows_5m"
tap $? "graph/line: 12 points over an hour read flows_5m (X-SQL-Query)"
line ',"points":60' >/dev/null
sqlhdr | grep -q "FROM flows_1m "
tap $? "graph/line: 60 points read flows_1m"
post graph/line "{\"start\":\"2026-01-01T00:00:00Z\",\"end\":\"2026-01-02T00:00:00Z\",\"points\":12}" >/dev/null
sqlhdr | grep -q "FROM flows_1h "
tap $? "graph/line: 12 points over a day read flows_1h"
# The coarsest table whose resolution fits the seconds per point (as
# Akvorado's getBestTable): 7 days in 200 points (3024 s) read flows_5m in
# intervals of 3300 s; in 168 points (3600 s), flows_1h.
W7="\"start\":\"2025-12-26T00:00:00Z\",\"end\":\"2026-01-02T00:00:00Z\""
out=$(post graph/table-interval "{$W7,\"points\":200}")
check "table-interval: 7 days in 200 points read flows_5m" "$out" '[.table, .interval]' '["flows_5m",3300]'
out=$(post graph/table-interval "{$W7,\"points\":168}")
check "table-interval: 7 days in 168 points read flows_1h" "$out" '[.table, .interval]' '["flows_1h",3600]'
out=$(post graph/line "{$W7,\"points\":168,\"dimensions\":[\"SrcAS\"],\"limit\":2}")
sqlhdr | grep -q "FROM flows_1h " && ! sqlhdr | grep -q "FROM flows_5m "
tap $? "graph/line: 7 days in 168 points read flows_1h only"
week=$(printf '%s' "$out" | jq -c '[(.t | length), .rows, .total]')
day=$(post graph/line '{"start":"2026-01-01T00:00:00Z","end":"2026-01-02T00:00:00Z","points":12,"dimensions":["SrcAS"],"limit":2}' | jq -c '[.rows, .total]')
check "graph/line: 7 days from flows_1h, 168 points, the day's rows and totals" "$week" '.' "[168,${day:1}"
# Ranked by sum on flows_5m, the whole hours come from flows_1h and only the
# edges from flows_5m: same rows, a twelfth of the rows read.
out=$(post graph/line "{$W7,\"points\":200,\"dimensions\":[\"SrcAS\"],\"limit\":2}")
sqlhdr | grep -q "FROM flows_1h .* UNION ALL SELECT .* FROM flows_5m "
tap $? "graph/line: 7 days in 200 points rank the whole hours on flows_1h, the edges on flows_5m"
check "graph/line: 7 days from flows_5m, 185 points, the day's rows" "$out" '[(.t | length), .rows]' "[185,$(printf '%s' "$day" | jq -c '.[0]')]"
# The edges count: 10:30-13:30 ranks [11:00, 13:00) on flows_1h (nothing
# there) and the known flows of 10:30-11:00 on flows_5m; the same request
# on flows (a port filter) gives the same rows and totals.
EDGE='"start":"2026-01-01T10:30:00Z","end":"2026-01-01T13:30:00Z","points":36,"dimensions":["SrcAS"],"limit":2'
out=$(post graph/line "{$EDGE}")
sqlhdr | grep -q "FROM flows_1h " && sqlhdr | grep -q "FROM flows_5m "
tap $? "graph/line: 3 h on flows_5m rank 2 whole hours on flows_1h"
ref=$(post graph/line "{$EDGE,\"filter\":\"DstPort >= 0\"}")
sqlhdr | grep -q "FROM flows " && ! sqlhdr | grep -q "FROM flows_1h "
tap $? "graph/line: the same with a port filter reads flows"
check "graph/line: ranked from the edges as on flows (rows, totals)" "$(printf '%s' "$out" | jq -c '[.rows, .total]')" '.' "$(printf '%s' "$ref" | jq -c '[.rows, .total]')"
check "graph/line: the edge's rows are the known flows' top 2" "$out" '.rows[0:2]' '[["15169: GOOGLE"],["13335: CLOUDFLARENET"]]'
out=$(post graph/line "{$W7,\"points\":200,\"dimensions\":[\"SrcAS\"],\"limit\":2}")
# The top rows are fetched once and tested as typed literals (no subquery
# per use): the SQL of the answer says so.
sqlhdr | grep -q ") IN ((15169), (" && ! sqlhdr | grep -q "IN (SELECT"
tap $? "graph/line: the top rows as literals in X-SQL-Query"
out=$(line ',"dimensions":["DstPort"]')
sqlhdr | grep -q "FROM flows "
tap $? "graph/line: a port dimension reads flows"
check "graph/line: ports for people" "$out" '.rows' '[["50000"],["40000"],["443/https"],["50001"]]'
out=$(line ',"dimensions":["SrcPort"]')
check "graph/line: ports named by protocol (ports table)" "$out" '.rows' '[["443/https"],["53/domain"],["50000"],["22/ssh"]]'
# Ports named by (protocol, port) from the ports table: flows of their own
# on 2026-01-03 (nothing else reads that day), through the server (the
# embedded run has no writer at this point).
if [ -z "$EMBEDDED" ]; then
	p2() { echo "(toDateTime('2026-01-03 10:00:10', 'UTC'), 10, IPv6StringToNum('::ffff:192.0.2.1'), 'edge1', 'other', $1, $2, $3)"; }
	ch_query "INSERT INTO weir.flows (TimeReceived, SamplingRate, ExporterAddress, ExporterName, ExporterTenant, Proto, DstPort, Bytes) VALUES $(p2 6 53 300), $(p2 17 53 300), $(p2 17 5060 500), $(p2 6 179 400), $(p2 17 179 100)"
	tap $? "flows on 2026-01-03 for port names"
	out=$(post graph/line '{"start":"2026-01-03T10:00:00Z","end":"2026-01-03T11:00:00Z","limit":10,"points":12,"dimensions":["DstPort"]}')
	check "graph/line: 53/tcp and 53/udp are one domain, 179/udp has no name" "$out" \
		'[.rows, (.total | map(. / 8000 | round * 100))]' '[[["53/domain"],["5060/sip"],["179/bgp"],["179"]],[600,500,400,100]]'
	out=$(post graph/sankey '{"start":"2026-01-03T10:00:00Z","end":"2026-01-03T11:00:00Z","limit":10,"dimensions":["DstPort","Proto"]}')
	check "sankey: ports named by protocol" "$out" '.rows' '[["5060/sip","UDP"],["179/bgp","TCP"],["53/domain","UDP"],["53/domain","TCP"],["179","UDP"]]'
fi
out=$(line ',"filter":"SrcAddr << 8.8.8.0/24"')
check "graph/line: an address filter reads flows, exact" "$out" '.average' '[1000]'

out=$(line ',"dimensions":["SrcAS"],"limit":2' -H "Accept: text/csv")
[ "$(printf '%s' "$out" | head -n 2 | tr -d '\r')" = $'time,axis,SrcAS,value\n2026-01-01T10:00:00Z,1,"15169: GOOGLE",1000' ] &&
	[ "$(printf '%s\n' "$out" | wc -l)" = 37 ] && grep -qi '^Content-Type: text/csv' "$E2E_DIR/h"
tap $? "graph/line as CSV (Accept: text/csv)"
# The units are checked on the CSV answer, which keeps the fractions (JSON
# has Akvorado's whole numbers): csv_avgs M prints, per series in order,
# round(average x M) as a JSON array.
csv_avgs() {
	tr -d '\r' | awk -F, -v m="$1" 'NR > 1 {
		k = $0; sub(/^[^,]*,/, "", k); sub(/,[^,]*$/, "", k)
		if (!(k in s)) o[++n] = k
		s[k] += $NF; c[k]++
	} END { printf "["; for (i = 1; i <= n; i++) printf "%s%d", (i > 1 ? "," : ""), int(s[o[i]] / c[o[i]] * m + 0.5); print "]" }'
}
csv=(-H "Accept: text/csv")
out=$(line ',"dimensions":["SrcAS"],"units":"pps","limit":1')
check "units: pps (a tie goes to the lower AS)" "$out" '.rows' '[["13335: CLOUDFLARENET"],["Other"]]'
out=$(line ',"dimensions":["SrcAS"],"units":"pps","limit":1' "${csv[@]}" | csv_avgs 600)
check "units: pps, exact (CSV)" "$out" '.' '[500,800]'
out=$(line ',"dimensions":["SrcAS"],"units":"l2bps","limit":1' "${csv[@]}" | csv_avgs 3)
check "units: l2bps (38 bytes per packet)" "$out" '.' '[3760,3616]'
out=$(line ',"units":"fps"' "${csv[@]}" | csv_avgs 60)
check "units: fps" "$out" '.' '[4]'
out=$(line ',"units":"inl2%","filter":"SrcAS = 15169"' "${csv[@]}" | csv_avgs 1000000)
check "units: inl2% (against InIfSpeed, 10 Mbps)" "$out" '.' '[12533]'
out=$(line ',"units":"outl2%","filter":"SrcAS = 15169"' "${csv[@]}" | csv_avgs 1000000)
check "units: outl2% (against OutIfSpeed, 100 Mbps)" "$out" '.' '[1253]'
# Over several interfaces, the average of their use (Akvorado's division by
# COUNT(DISTINCT ExporterAddress, InIfName)), not the sum: 0.1 % in the first
# of 12 points, 0.1/12 on average; an interface of unknown speed counts for
# nothing (outl2%: Et9 has none).
I2='"start":"2026-01-04T16:00:00Z","end":"2026-01-04T17:00:00Z","points":12,"filter":"SrcPort = 4242"'
out=$(post graph/line "{$I2,\"units\":\"inl2%\"}" "${csv[@]}" | csv_avgs 1200)
check "units: inl2% over two interfaces is their average use" "$out" '.' '[10]'
out=$(post graph/line "{$I2,\"units\":\"inl2%\",\"dimensions\":[\"InIfName\"]}" "${csv[@]}" | csv_avgs 1200)
check "units: inl2% by interface, each its own" "$out" '.' '[10,10]'
out=$(post graph/line "{$I2,\"units\":\"outl2%\"}" "${csv[@]}" | csv_avgs 1200)
check "units: outl2% against no known speed is 0" "$out" '.' '[0]'
out=$(post graph/sankey "{$I2,\"units\":\"inl2%\",\"dimensions\":[\"ExporterName\"]}")
check "units: sankey inl2% over two interfaces (0.1 % of 300 s in an hour, as a whole number)" "$out" '[.rows, .xps]' '[[["edge1"]],[0]]'

out=$(line ',"dimensions":["SrcAS"],"filter":"SrcAS = 64500","bidirectional":true')
check "bidirectional: reverse axis with Src<->Dst" "$out" \
	'[.rows, .axis, .average, ."axis-names"]' '[[["64500"],["64500"]],[1,2],[200,1600],{"1":"Direct","2":"Reverse"}]'
out=$(line ',"dimensions":["SrcAS"],"filter":"SrcAS = 15169","previous-period":true')
check "previous period: one line, zeros for an empty hour" "$out" \
	'[.rows, .axis, .average, ."axis-names"."3"]' '[[["15169: GOOGLE"],["Other"]],[1,3],[1000,0],"Previous hour"]'
out=$(post graph/line "{\"start\":\"2026-01-01T11:00:00Z\",\"end\":\"2026-01-01T12:00:00Z\",\"points\":12,\"previous-period\":true}")
check "previous period: the hour before, shifted" "$out" '[.axis, .average]' '[[3],[1800]]'
# Akvorado's periods: under 2 hours the previous hour (not the day).
out=$(post graph/line "{\"start\":\"$S\",\"end\":\"2026-01-01T11:30:00Z\",\"points\":12,\"previous-period\":true}")
check "previous period: 90 minutes against the hour before" "$out" '[.axis, .average, ."axis-names"."3"]' '[[1,3],[1200,600],"Previous hour"]'
out=$(post graph/line "{\"start\":\"2026-01-01T00:00:00Z\",\"end\":\"2026-01-11T00:00:00Z\",\"points\":10,\"previous-period\":true}")
check "previous period: 10 days against the week before" "$out" '."axis-names"."3"' '"Previous week"'
out=$(line ',"dimensions":["SrcAS"],"limit":1,"limitType":"max"')
check "limitType max" "$out" '.rows' '[["15169: GOOGLE"],["Other"]]'
out=$(line ',"dimensions":["SrcAS","Proto","EType"],"limit":1,"filter":"Proto = udp"')
check "several dimensions rendered (protocol, etype)" "$out" '.rows' '[["13335: CLOUDFLARENET","UDP","IPv4"]]'

# truncate-v4 / truncate-v6 (Akvorado's): address dimensions grouped by
# prefix, IPv4 (stored IPv4-mapped) by truncate-v4, IPv6 by truncate-v6.
# DstAddr: 192.0.2.10/.11/.12 (1000 + 500 + 100 bps) and 8.8.8.8 (200).
out=$(line ',"dimensions":["DstAddr"],"truncate-v4":24')
check "truncate-v4 24: two /24s, two series, exact" "$out" '[.rows, .average]' '[[["192.0.2.0"],["8.8.8.0"]],[1600,200]]'
out=$(line ',"dimensions":["DstAddr"],"truncate-v4":22')
check "truncate-v4 22 (inside a byte)" "$out" '.rows' '[["192.0.0.0"],["8.8.8.0"]]'
out=$(line ',"dimensions":["SrcAddr","DstAddr"],"truncate-v4":8,"limit":2')
check "truncate-v4 on two dimensions, top 2 of the truncated pairs" "$out" '[.rows, .average]' \
	'[[["8.0.0.0","192.0.0.0"],["1.0.0.0","192.0.0.0"],["Other","Other"]],[1000,500,300]]'
out=$(line ',"dimensions":["DstAddr"],"truncate-v6":64')
check "truncate-v6 alone leaves IPv4 addresses whole" "$out" '.rows | length' '4'
out=$(line ',"dimensions":["DstAddr"],"truncate-v4":24,"filter":"DstAddr = 192.0.2.11"')
check "truncate: filters see whole addresses" "$out" '[.rows, .average]' '[[["192.0.2.0"]],[500]]'
# A sankey sums the groups of its top rows' query itself when they are few
# (one read); each dimension outside the top values is Other, as the
# query of an axis would do it (the reverse axis still reads).
SK="\"start\":\"$S\",\"end\":\"$E\",\"limit\":2,\"dimensions\":[\"SrcAS\",\"ExporterName\"]"
out=$(post graph/sankey "{$SK}")
check "sankey: top 2 and Other, summed from the groups (exact)" "$out" '[.rows, .xps, .links]' \
	'[[["15169: GOOGLE","edge1"],["13335: CLOUDFLARENET","edge1"],["Other","edge1"]],[1000,500,300],[{"source":"SrcAS: 15169: GOOGLE","target":"ExporterName: edge1","xps":1000,"axis":1},{"source":"SrcAS: 13335: CLOUDFLARENET","target":"ExporterName: edge1","xps":500,"axis":1},{"source":"SrcAS: Other","target":"ExporterName: edge1","xps":300,"axis":1}]]'
! sqlhdr | grep -q '; '
tap $? "sankey: one query when the groups are few"
out=$(post graph/sankey "{$SK,\"bidirectional\":true}")
check "sankey: bidirectional, the reverse axis from the direct one's top values (exact)" "$out" \
	'[.rows, .xps, .axis, .links]' \
	'[[["15169: GOOGLE","edge1"],["13335: CLOUDFLARENET","edge1"],["Other","edge1"],["Other","edge1"],["15169: GOOGLE","edge1"]],[1000,500,300,1600,200],[1,1,1,2,2],[{"source":"SrcAS: 15169: GOOGLE","target":"ExporterName: edge1","xps":1000,"axis":1},{"source":"SrcAS: 13335: CLOUDFLARENET","target":"ExporterName: edge1","xps":500,"axis":1},{"source":"SrcAS: Other","target":"ExporterName: edge1","xps":300,"axis":1},{"source":"DstAS: Other","target":"ExporterName: edge1","xps":1600,"axis":2},{"source":"DstAS: 15169: GOOGLE","target":"ExporterName: edge1","xps":200,"axis":2}]]'
# The top rows as literals of every kind of dimension (an enum, a
# FixedString(2), an address, a MAC, numbers), on each engine: the rows
# are found again (no Other beside them: limit is above their number).
for d in '"InIfBoundary","DstCountry"' '"ExporterAddress","EType"' '"SrcMAC","Proto"'; do
	out=$(line ",\"dimensions\":[$d],\"limit\":50")
	check "graph/line: top rows of $d as literals, no Other" "$out" '[(.rows | length > 0), (.rows | flatten | index("Other"))]' '[true,null]'
	out=$(post graph/sankey "{\"start\":\"$S\",\"end\":\"$E\",\"limit\":50,\"dimensions\":[$d],\"bidirectional\":true}")
	check "graph/sankey: top rows of $d as literals, both axes" "$out" '[(.rows | length > 0), (.axis | unique)]' '[true,[1,2]]'
done
V6=(-d "{\"start\":\"2026-01-01T14:00:00Z\",\"end\":\"2026-01-01T15:00:00Z\",\"dimensions\":[\"DstAddr\"],\"truncate-v4\":24,\"truncate-v6\":62}")
out=$(curl -s --max-time 20 "$A/graph/sankey" "${V6[@]}")
check "truncate-v6 62 (inside a nibble): sankey, exact" "$out" '[.rows, .xps]' '[[["2001:db8:1:10::"],["2001:db8:1:2c::"]],[300,100]]'
out=$(curl -s --max-time 20 "$A/graph/sankey" -d '{"start":"2026-01-01T14:00:00Z","end":"2026-01-01T15:00:00Z","dimensions":["DstAddr"],"truncate-v6":48}')
check "truncate-v6 48" "$out" '[.rows, .xps]' '[[["2001:db8:1::"]],[400]]'
out=$(post graph/sankey "{\"start\":\"$S\",\"end\":\"$E\",\"dimensions\":[\"DstAddr\"],\"truncate-v4\":24}")
check "truncate-v4: sankey" "$out" '[.rows, .xps]' '[[["192.0.2.0"],["8.8.8.0"]],[1600,200]]'
for bad in '"truncate-v4":33' '"truncate-v6":129' '"truncate-v4":-1' '"truncate-v4":"24"' '"truncate-v6":1.5'; do
	code=$(line ",\"dimensions\":[\"DstAddr\"],$bad" -o /dev/null -w '%{http_code}')
	[ "$code" = 400 ]
	tap $? "truncate: $bad is a 400 (got $code)"
done

# The shapes of Akvorado's answers (console/line.go, console/sankey.go).
out=$(line ',"dimensions":["SrcAS"],"limit":2,"bidirectional":true,"previous-period":true')
check "shape graph/line: fields in Akvorado's order" "$out" 'keys_unsorted' \
	'["t","rows","points","axis","axis-names","average","total","min","max","last","95th"]'
whole='[.points[][], .average[], .total[], .min[], .max[], .last[], ."95th"[]] | map(type == "number" and . == floor) | all'
check "shape graph/line: whole numbers everywhere" "$out" "$whole" 'true'
check "shape graph/line: axes, Other last in each, previous periods with Other" "$out" \
	'[.axis, (.rows | map(join("|"))), ."axis-names"]' \
	'[[1,1,1,2,2,3,4],["15169: GOOGLE","13335: CLOUDFLARENET","Other","15169: GOOGLE","Other","Other","Other"],{"1":"Direct","2":"Reverse","3":"Previous hour","4":"Previous hour"}]'
check "shape graph/line: one point per interval per row" "$out" '[(.points | map(length) | unique), (.t | length)]' '[[12],12]'
check "shape graph/line: the reverse axis shows the direct rows (as DstAS), the rest Other" "$out" '.average[3:5]' '[200,1600]'
out=$(line ',"dimensions":["SrcAS"],"limit":2,"units":"pps","bidirectional":true,"previous-period":true')
check "shape graph/line: whole numbers, as Akvorado's int(xps), for fractions too (pps)" "$out" \
	"[($whole), .max]" '[true,[0,0,0,0,1,0,0]]'
out=$(line ',"dimensions":["SrcAS"],"limit":2,"units":"inl2%"')
check "shape graph/line: no total for % units" "$out" 'has("total")' 'false'
out=$(line ',"dimensions":["SrcAS"],"limit":3,"limitType":"last"')
check "shape graph/line: limitType last ranks by the last interval" "$out" '.rows' '[["15169: GOOGLE"],["13335: CLOUDFLARENET"],["64500"],["Other"]]'
out=$(post graph/sankey "{\"start\":\"$S\",\"end\":\"$E\",\"dimensions\":[\"SrcAS\",\"Proto\"],\"limit\":2,\"bidirectional\":true}")
check "shape graph/sankey: fields in Akvorado's order" "$out" \
	'[keys_unsorted, (.nodes[0] | keys_unsorted), (.links[0] | keys_unsorted)]' \
	'[["rows","xps","axis","axis-names","nodes","links"],["name","axis"],["source","target","xps","axis"]]'
check "shape graph/sankey: links by axis, then larger first" "$out" \
	'[(.links | map([.axis, .xps])), ."axis-names", ([.xps[], .links[].xps] | map(. == floor) | all)]' \
	'[[[1,1000],[1,500],[1,300],[2,1100],[2,500],[2,200]],{"1":"Direct","2":"Reverse"},true]'
check "shape graph/sankey: nodes in the order of the rows" "$out" '.nodes | map(.name)' \
	'["SrcAS: 15169: GOOGLE","Proto: TCP","SrcAS: 13335: CLOUDFLARENET","Proto: UDP","SrcAS: Other","DstAS: Other","Proto: TCP","Proto: UDP","DstAS: 15169: GOOGLE"]'
out=$(post graph/sankey "{\"start\":\"$S\",\"end\":\"$E\",\"dimensions\":[\"SrcAS\"]}")
check "shape graph/sankey: one dimension, no nodes or links" "$out" '[.nodes, .links, (.rows | length)]' '[[],[],4]'

out=$(post graph/sankey "{\"start\":\"$S\",\"end\":\"$E\",\"dimensions\":[\"SrcAS\",\"Proto\"],\"limit\":2}")
check "sankey: rows, xps, links" "$out" '[.rows, .xps, (.links | map([.source, .target, .xps]))]' \
	'[[["15169: GOOGLE","TCP"],["13335: CLOUDFLARENET","UDP"],["Other","TCP"]],[1000,500,300],[["SrcAS: 15169: GOOGLE","Proto: TCP",1000],["SrcAS: 13335: CLOUDFLARENET","Proto: UDP",500],["SrcAS: Other","Proto: TCP",300]]]'
out=$(post graph/sankey "{\"start\":\"$S\",\"end\":\"$E\",\"dimensions\":[]}" -w '%{http_code}')
[[ "$out" == *400 ]]
tap $? "sankey: no dimension is a 400"

out=$(post filter/validate '{"filter":"SrcAS = AS15169 AND Proto = tcp"}')
check "filter/validate: ok with the SQL" "$out" '[.message, .parsed]' '["ok","(SrcAS = 15169 AND Proto = 6)"]'
out=$(post filter/validate '{"filter":"SrcAS = 1 AND\n  Bogus = 2"}')
check "filter/validate: error with line, column, offset" "$out" '.errors[0] | [.line, .column, .offset]' '[2,3,16]'
out=$(post filter/complete '{"what":"value","column":"SrcAS","prefix":"AS1","limit":5}')
check "filter/complete: ASNs from the data first, then from the asns table" "$out" '.completions | map([.label, .detail])' '[["AS13335","CLOUDFLARENET"],["AS15169","GOOGLE"],["AS174","COGENT"],["AS1239","SPRINTLINK"],["AS1273","CW Vodafone Global"]]'
out=$(post filter/complete '{"what":"value","column":"SrcAS","prefix":"goo"}')
check "filter/complete: ASNs by name (asns table), the data's first" "$out" '.completions' '[{"label":"AS15169","detail":"GOOGLE","quoted":false},{"label":"AS396982","detail":"GOOGLE-CLOUD-PLATFORM","quoted":false}]'
out=$(post filter/complete '{"what":"value","column":"DstAS","prefix":"cogent"}')
check "filter/complete: an AS only in the asns table, by name" "$out" '.completions | map([.label, .detail])' '[["AS174","COGENT"]]'
out=$(post filter/complete '{"what":"value","column":"DstAS","prefix":"AS17"}')
check "filter/complete: an AS only in the asns table, by number" "$out" '.completions | map(.label)' '["AS174"]'
out=$(post filter/complete '{"what":"value","column":"SrcAS","prefix":"AS645"}')
check "filter/complete: ASes without a name (data), then the asns table's" "$out" '.completions | map([.label, .detail])' '[["AS64500","AS number"],["AS64501","AS number"],["AS6453","TATA COMMUNICATIONS"]]'
out=$(post filter/complete '{"what":"value","column":"InIfBoundary","prefix":"ex"}')
check "filter/complete: fixed lists" "$out" '.completions | map(.label)' '["external"]'
out=$(post filter/complete '{"what":"value","column":"ExporterName","prefix":""}')
check "filter/complete: strings are quoted" "$out" '.completions' '[{"label":"edge1","detail":"ExporterName","quoted":true}]'
out=$(post filter/complete '{"what":"operator","column":"SrcAddr"}')
check "filter/complete: operators by type" "$out" '.completions | map(.label)' '["=","!=","<<","!<<","IN","NOTIN"]'

out=$(curl -s "$A/widget/top/src-as")
check "widget top/src-as" "$out" '.top | map([.name, (.percent * 10 | round)])' '[["15169: GOOGLE",556],["13335: CLOUDFLARENET",278],["64500",111],["64501",56]]'
out=$(curl -s "$A/widget/top/src-port")
check "widget top/src-port: ports named by protocol" "$out" '.top | map(.name)' '["443/https","53/domain","50000","22/ssh"]'
out=$(curl -s "$A/widget/exporters")
check "widget exporters" "$out" '.exporters' '["edge1"]'
out=$(curl -s "$A/widget/flow-last")
check "widget flow-last" "$out" '.ExporterName' '"edge1"'
check "widget flow-last: 64-bit numbers are JSON numbers" "$out" \
	'[(.Bytes, .Packets, .SamplingRate, .TimeReceived, .SrcAS, .InIfSpeed | type), (.DstCommunities | type)] | unique' '["array","number"]'
out=$(curl -s "$A/widget/flow-rate")
check "widget flow-rate" "$out" '[(.rate * 60 | round), .period]' '[4,"second"]'

# Tenants: a member of acme sees only ExporterTenant acme, whatever it asks.
T=(-H "Remote-User: alice" -H "Remote-Groups: staff, acme")
out=$(line ',"dimensions":["SrcAS"]' "${T[@]}")
check "tenant: graph/line only its rows" "$out" '.rows' '[["13335: CLOUDFLARENET"]]'
out=$(line ',"dimensions":["SrcAS"],"filter":"ExporterTenant = \"other\" OR NOT ExporterTenant = \"acme\""' "${T[@]}")
check "tenant: a crafted filter does not see around it" "$out" '[.rows, has("total"), ."axis-names"]' '[[],false,{}]'
out=$(line ',"dimensions":["SrcAS"],"bidirectional":true' "${T[@]}")
check "tenant: bidirectional (the reverse of its rows, and Other)" "$out" '[.rows, .axis, .average]' '[[["13335: CLOUDFLARENET"],["Other"]],[1,2],[500,500]]'
out=$(post graph/sankey "{\"start\":\"$S\",\"end\":\"$E\",\"dimensions\":[\"SrcAS\"]}" "${T[@]}")
check "tenant: sankey" "$out" '.rows' '[["13335: CLOUDFLARENET"]]'
out=$(post filter/complete '{"what":"value","column":"SrcAS","prefix":""}' "${T[@]}")
check "tenant: completions" "$out" '.completions | map(.label)' '["AS13335"]'
out=$(curl -s "${T[@]}" "$A/widget/top/src-as")
check "tenant: widgets" "$out" '.top | map(.name)' '["13335: CLOUDFLARENET"]'
out=$(curl -s -H "Remote-User: mallory" "$A/widget/top/src-as")
check "tenant by user" "$out" '.top | map(.name)' '["64501"]'
# A tenant filter on a column only flows holds (SrcAddr): every endpoint
# reads flows (not a 500 from flows_5m), and still only the tenant's rows.
I=(-H "Remote-User: ivan")
out=$(line ',"dimensions":["SrcAS"]' "${I[@]}")
check "tenant on SrcAddr: graph/line, exact" "$out" '[.rows, .average]' '[[["13335: CLOUDFLARENET"]],[500]]'
sqlhdr | grep -q "FROM flows " && ! sqlhdr | grep -q "FROM flows_"
tap $? "tenant on SrcAddr: graph/line reads flows only"
out=$(post graph/table-interval "{\"start\":\"$S\",\"end\":\"$E\",\"points\":12}" "${I[@]}")
check "tenant on SrcAddr: table-interval says flows" "$out" '.table' '"flows"'
out=$(post graph/line "{\"start\":\"2026-01-01T00:00:00Z\",\"end\":\"2026-01-02T00:00:00Z\",\"points\":12,\"dimensions\":[\"SrcAS\"],\"previous-period\":true}" "${I[@]}")
check "tenant on SrcAddr: a day (flows_1h otherwise), previous period" "$out" '[.rows, .axis]' '[[["13335: CLOUDFLARENET"],["Other"]],[1,3]]'
for f in 'SrcAddr !<< 1.1.1.0/24' 'SrcAS = 15169 OR SrcAS != 15169' 'NOT (SrcAddr << 1.1.1.0/24) OR ExporterTenant = \"other\"' 'SrcAddr << 0.0.0.0/0 -- )) OR ((1' 'SrcAddr << ::/0 /* ) OR ( */'; do
	out=$(line ",\"dimensions\":[\"SrcAS\",\"SrcAddr\"],\"filter\":\"$f\"" "${I[@]}")
	check "tenant on SrcAddr: crafted filter $f" "$out" '[.rows[] | select(. != ["13335: CLOUDFLARENET","1.1.1.1"])] | length' '0'
	# Both directions, no dimension: at most the tenant's 500 bps on each.
	out=$(line ",\"bidirectional\":true,\"units\":\"l3bps\",\"filter\":\"$f\"" "${I[@]}")
	check "tenant on SrcAddr: crafted filter $f, bidirectional" "$out" '.average | map(select(. != 500 and . != 0)) | length' '0'
done
out=$(post graph/sankey "{\"start\":\"$S\",\"end\":\"$E\",\"dimensions\":[\"SrcAS\",\"DstAS\"],\"bidirectional\":true}" "${I[@]}")
check "tenant on SrcAddr: sankey" "$out" '[.rows, .xps]' '[[["13335: CLOUDFLARENET","64500"],["Other","Other"]],[500,500]]'
out=$(post filter/complete '{"what":"value","column":"SrcAS","prefix":""}' "${I[@]}")
check "tenant on SrcAddr: completions" "$out" '.completions | map(.label)' '["AS13335"]'
out=$(post filter/complete '{"what":"value","column":"ExporterName","prefix":""}' "${I[@]}")
check "tenant on SrcAddr: completions of a consolidated column" "$out" '.completions | map(.label)' '["edge1"]'
for w in top/src-as top/dst-port exporters graph flow-rate flow-last; do
	code=$(curl -s -o "$E2E_DIR/w" -w '%{http_code}' "${I[@]}" "$A/widget/$w")
	[ "$code" = 200 ]
	tap $? "tenant on SrcAddr: widget/$w answers (got $code: $(head -c 120 "$E2E_DIR/w"))"
done
out=$(curl -s "${I[@]}" "$A/widget/top/src-as")
check "tenant on SrcAddr: widget top/src-as" "$out" '.top | map(.name)' '["13335: CLOUDFLARENET"]'
out=$(curl -s "${I[@]}" "$A/widget/flow-last")
check "tenant on SrcAddr: widget flow-last, numbers as numbers" "$out" '[.SrcAddr, .Bytes, .Packets, .SrcAS, .Proto, .SamplingRate, .InIfBoundary, .DstASPath]' \
	'["::ffff:1.1.1.1",375,5,13335,17,10,"external",[]]'
out=$(curl -s "${I[@]}" "$A/widget/graph")
check "tenant on SrcAddr: widget graph (its recent flow)" "$out" '[.data[].gbps] | add * 1e9 | round' '100'
out=$(line ',"dimensions":["SrcAS"]' -H "Remote-User: bob")
check "no tenant: everything" "$out" '.rows | length' '4'

# Users and saved filters.
out=$(curl -s -H "Remote-User: bob" -H "Remote-Email: bob@example.net" "$A/user/info")
check "user/info from the proxy's headers" "$out" '[.login, .email]' '["bob","bob@example.net"]'
out=$(curl -s "$A/user/info")
check "user/info: default user" "$out" '.login' '"default"'
c1=$(post filter/saved '{"description":"mine","content":"SrcAS = 1","shared":false}' -H "Remote-User: bob" -w '%{http_code}')
c2=$(post filter/saved '{"description":"ours","content":"SrcAS = 2","shared":true}' -H "Remote-User: bob" -w '%{http_code}')
out=$(curl -s -H "Remote-User: carol" "$A/filter/saved")
check "saved filters: others see only the shared ones ($c1 $c2)" "$out" '.filters | map(.description)' '["ours"]'
id=$(printf '%s' "$out" | jq '.filters[0].id')
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Remote-User: carol" "$A/filter/saved/$id")
[ "$code" = 403 ]
tap $? "saved filters: only the owner deletes (got $code)"
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Remote-User: bob" "$A/filter/saved/$id")
[ "$code" = 204 ] && [ "$(wc -l <"$E2E_DIR/saved.jsonl")" = 1 ]
tap $? "saved filters: the owner deletes, the file follows"

# Bad requests: clear 4xx.
code=$(post graph/line '{"start":' -o /dev/null -w '%{http_code}')
msg=$(post graph/line '{"start":')
[ "$code" = 400 ] && printf '%s' "$msg" | jq -e '.message | test("JSON")' >/dev/null
tap $? "bad JSON: 400 with a message"
code=$(line ',"dimensions":["Nope"]' -o /dev/null -w '%{http_code}')
[ "$code" = 400 ]
tap $? "unknown dimension: 400"
code=$(line ',"filter":"SrcAS = 1; DROP TABLE flows"' -o /dev/null -w '%{http_code}')
[ "$code" = 400 ]
tap $? "a filter with SQL in it: 400"
head -c 3000000 /dev/zero | tr '\0' 'a' >"$E2E_DIR/big"
code=$(curl -s -o /dev/null --max-time 20 -w '%{http_code}' "$A/graph/line" --data-binary @"$E2E_DIR/big")
[ "$code" = 413 ]
tap $? "oversized body: 413 (got $code)"
code=$(curl -s -o /dev/null -w '%{http_code}' "$A/nothing")
[ "$code" = 404 ]
tap $? "unknown API path: 404"
code=$(curl -s -o /dev/null -w '%{http_code}' "$U/../../etc/passwd" --path-as-is)
[ "$code" = 404 ]
tap $? "static files: no way out of the web directory"
curl -s "$U/" | grep -q "weir console"
tap $? "static files: a placeholder page without web/dist"

# Slow clients hold no one up: 20 half-sent requests, then a normal one.
slow=
for i in $(seq 1 20); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'POST /api/v0/console/graph/line HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{' >&3 && sleep 8) &
	slow="$slow $!"
done
sleep 0.3
t0=$(date +%s%N)
code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' "$A/configuration")
t1=$(date +%s%N)
[ "$code" = 200 ] && [ $(((t1 - t0) / 1000000)) -lt 1000 ]
tap $? "slow clients: others answered at once ($(((t1 - t0) / 1000000)) ms)"
kill $slow 2>/dev/null

# 200 concurrent clients: every one gets 200 or a clear 503, none stalls.
for i in $(seq 1 200); do
	curl -s -o /dev/null --max-time 30 -w '%{http_code}\n' "$A/graph/line" \
		-d "{\"start\":\"$S\",\"end\":\"$E\",\"points\":$((10 + i)),\"dimensions\":[\"SrcAS\"]}" >>"$E2E_DIR/codes" &
done
wait $(jobs -p | grep -v "^${E2E_EXTRA_PIDS}$") 2>/dev/null
n200=$(grep -c '^200$' "$E2E_DIR/codes")
n503=$(grep -c '^503$' "$E2E_DIR/codes")
[ $((n200 + n503)) = 200 ] && [ "$n200" -ge 8 ]
tap $? "200 concurrent clients: $n200 answered, $n503 told 503, no other outcome"
curl -s "$U/metrics" | grep -q '^weir_console_rejected_total [1-9]'
tap $? "/metrics counts the 503s"
curl -fs --max-time 2 "$U/healthz" >/dev/null
tap $? "still answering afterwards"

console_stop "weir console"

# On the embedded engine (no users) the console's sessions are read-only and
# bounded by clickhouse.query-endpoint's limits, set by one statement
# (store_reader_settings, readonly=1 last): with max-rows-to-read 10, a graph
# reading flows (240 rows) is ClickHouse's TOO_MANY_ROWS as a 500, and the
# console still answers. (On a server the console's read-only user does it.)
if [ -n "$EMBEDDED" ]; then
	sed 's/^  retention:/  query-endpoint: {max-rows-to-read: 10}\n&/' "$E2E_DIR/weir.yaml" >"$E2E_DIR/limited.yaml"
	console_start "$E2E_DIR/limited.yaml" "$E2E_DIR/console-limited.log"
	out=$(line ',"dimensions":["DstPort"]' -w '\n%{http_code}')
	[ "${out##*$'\n'}" = 500 ] && printf '%s' "${out%$'\n'*}" | jq -e '.message | test("TOO_MANY_ROWS")' >/dev/null
	tap $? "embedded: max-rows-to-read applies to the console's queries (${out:0:160})"
	curl -fs --max-time 2 "$U/healthz" >/dev/null
	tap $? "embedded: the console still answers after the refused query"
	console_stop "weir console (limited)"
fi
echo "1..$E2E_N"
