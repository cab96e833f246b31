#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# The read-only query endpoint (clickhouse.query-endpoint) of `weir run` on
# the embedded engine, with curl: flowgen's exact flows read back through it
# (lib/e2e.bash's ch_query pointed at it), the same rows in TabSeparated,
# JSON, JSONEachRow and CSV; writes, DDL, SYSTEM, SET, settings in the URL,
# file() and url() refused with ClickHouse's error text and code header;
# max-rows-to-read, max-execution-time and the bound on simultaneous
# queries; and queries from 3 clients while a stream of 2M flows at 500k
# flows/s is written: none fails, the writer goes on storing meanwhile, and
# every flow of the stream is stored (count and sum of Bytes exact).
# Skipped without libchdb.so (`make deps`).
set -u
. "$(dirname "$0")/lib/e2e.bash"

for b in "$WEIR" "$FLOWGEN"; do
	if [ ! -x "$b" ]; then
		echo "1..0 # SKIP $b not built"
		exit 0
	fi
done
E2E_DIR=$(mktemp -d "${TMPDIR:-/tmp}/weir-query-endpoint.XXXXXX")
trap e2e_cleanup EXIT

UDP=$(e2e_free_udp_port)
HTTP=127.0.0.1:$(ch_free_port)
QPORT=$(ch_free_port)
DB=weir_qe
CH_URL=embedded://$E2E_DIR/db
# Sized so that the 500k flows/s stream below is kept whole even when the
# writer falls behind while clients query: its 2M flows (~220k datagrams,
# ~280 MB in the ring) fit in one ring (one exporter: one outlet worker),
# which the exporter may fill alone (the exact flows' exporters sent in the
# last 30 s); the socket buffer covers the receive thread's descheduled
# moments on 2 busy cores. max-rows-to-read is above the stream, so that
# the final count reads it through the endpoint.
e2e_config "$E2E_DIR/weir.yaml" "$HTTP" 500ms "embedded-max-memory: 2GiB
  query-endpoint:
    enabled: true
    listen: 127.0.0.1:$QPORT
    max-queries: 2
    max-queued: 1
    max-execution-time: 1s
    max-rows-to-read: 5000000"
sed -i 's/^      listen: "127.0.0.1:[0-9]*"$/&\n      receive-buffer: 128MiB/' "$E2E_DIR/weir.yaml"
cat >>"$E2E_DIR/weir.yaml" <<EOF
bus:
  type: ring
  ring-size: 512MiB
  ring-exporter-share: 100
EOF
if ! e2e_start weir run "$E2E_DIR/weir.yaml" 2>"$E2E_DIR/start.err"; then
	if grep -q "make deps" "$E2E_DIR/weir.log"; then
		echo "1..0 # SKIP the embedded engine is not installed (make deps)"
		E2E_NAMES=
		exit 0
	fi
	cat "$E2E_DIR/start.err" >&2
	tap 1 "weir run starts with the query endpoint"
	echo "1..$E2E_N"
	exit 1
fi
tap 0 "weir run starts on the embedded engine with the query endpoint on port $QPORT"
Q=http://127.0.0.1:$QPORT
CH_URL=$Q # lib/e2e.bash's ch_query now reads through the endpoint

[ "$(curl -s "$Q/ping")" = "Ok." ]
tap $? "GET /ping answers Ok."

# ---- exact rows, read through the endpoint ----
e2e_exact_rows "$DB" "$UDP" 60 "read through the endpoint"

# ---- formats ----
SQL="SELECT SrcPort, Bytes FROM $DB.flows WHERE $(e2e_exporter_where 127.0.0.41) ORDER BY SrcPort"
tsv=$(curl -s "$Q/?query=$(printf %s "$SQL" | jq -sRr @uri)")
[ "$(echo "$tsv" | wc -l)" = 3 ] && [ "$(echo "$tsv" | cut -f1 | sort -n | head -1)" -gt 0 ]
tap $? "GET ?query= answers TabSeparated by default (3 rows)"
got=$(curl -s "$Q/?default_format=CSV" --data-binary "$SQL" | tr ',' '\t')
[ "$got" = "$tsv" ]
tap $? "default_format=CSV: the same rows"
got=$(curl -s "$Q/" --data-binary "$SQL FORMAT JSONEachRow" |
	jq -r '[.SrcPort, (.Bytes|tostring)] | @tsv')
[ "$got" = "$tsv" ]
tap $? "FORMAT JSONEachRow: the same rows"
got=$(curl -s "$Q/?query=$(printf %s "$SQL" | jq -sRr @uri)" --data-binary "FORMAT JSON" |
	jq -r '.data[] | [.SrcPort, (.Bytes|tostring)] | @tsv')
[ "$got" = "$tsv" ]
tap $? "?query= then FORMAT JSON in the body: the same rows"
got=$(curl -s "$Q/?database=system" --data-binary "SELECT count() FROM tables WHERE database = '$DB' AND name = 'flows'")
[ "$got" = 1 ]
tap $? "database= chooses the database"

# ---- refused, as ClickHouse refuses ----
# refused SQL CODE: not 200, the code in X-ClickHouse-Exception-Code and in
# "Code: N. DB::Exception: " at the start of the body.
refused() {
	local out status hdr body
	out=$(curl -s -D "$E2E_DIR/h" -w '\n%{http_code}' "$Q/" --data-binary "$1")
	status=${out##*$'\n'}
	body=${out%$'\n'*}
	hdr=$(tr -d '\r' <"$E2E_DIR/h" | awk -F': ' 'tolower($1) == "x-clickhouse-exception-code" { print $2 }')
	[ "$status" != 200 ] && [ "$hdr" = "$2" ] && [[ "$body" == "Code: $2. DB::Exception: "* ]] ||
		{ echo "# $1: HTTP $status code $hdr: $body"; return 1; }
}
before=$(ch_query "SELECT count() FROM $DB.flows")
for s in "INSERT INTO $DB.flows (Bytes) VALUES (1)|164" "CREATE TABLE $DB.x (a UInt8) ENGINE = Memory|164" \
	"DROP TABLE $DB.flows|164" "ALTER TABLE $DB.flows DELETE WHERE 1|164" "SYSTEM STOP MERGES|164" \
	"SET readonly = 0|164" "SELECT file('/etc/hostname')|497" \
	"SELECT * FROM file('/etc/hostname', LineAsString)|497" \
	"SELECT * FROM url('http://127.0.0.1:1/', CSV, 'a String')|497" \
	"SELECT 1 INTO OUTFILE '$E2E_DIR/out'|164" "SELECT 1; KILL QUERY WHERE 1|62" \
	"SELECT 1 SETTINGS readonly = 0|164"; do
	refused "${s%|*}" "${s##*|}"
	tap $? "refused with code ${s##*|}: ${s%|*}"
done
out=$(curl -s -D "$E2E_DIR/h" "$Q/?max_threads=1" --data-binary "SELECT 1")
grep -qi '^X-ClickHouse-Exception-Code: 164' "$E2E_DIR/h" && [[ "$out" == *"Cannot modify 'max_threads'"* ]]
tap $? "a setting in the URL is refused (164)"
out=$(curl -s -D "$E2E_DIR/h" "$Q/?max_execution_time=abc" --data-binary "SELECT 1")
grep -qi '^X-ClickHouse-Exception-Code: 164' "$E2E_DIR/h"
tap $? "a limit that is not a number is refused (164)"
# clickhouse-go (Grafana's ClickHouse data source) sends max_execution_time
# with every query, in Native: taken, and the endpoint's limits still apply.
out=$(curl -s "$Q/?default_format=Native&max_execution_time=65&query_id=g1" --data-binary "SELECT 42 AS x" | od -An -tx1 | tr -d ' \n')
[ "$out" = "0101017805"55"496e7438"2a ]
tap $? "a client's max_execution_time is taken (clickhouse-go): Native answer $out"
[ ! -e "$E2E_DIR/out" ] && [ "$(ch_query "SELECT count() FROM $DB.flows")" = "$before" ]
tap $? "nothing refused ran: no file written, flows still holds its $before rows"

# ---- limits ----
refused "SELECT count() FROM numbers(10000000)" 158
tap $? "max-rows-to-read: 10M rows refused (TOO_MANY_ROWS)"
out=$(curl -s -D "$E2E_DIR/h" "$Q/?max_rows_to_read=0" --data-binary "SELECT count() FROM numbers(10000000)")
grep -qi '^X-ClickHouse-Exception-Code: 158' "$E2E_DIR/h"
tap $? "max_rows_to_read=0 from the client does not lift max-rows-to-read (158)"
code=$(curl -s -o /dev/null -w '%{http_code}' "$Q/" --data-binary "SELECT sleep(2)")
refused "SELECT sleep(2)" 159 && [ "$code" = 408 ]
tap $? "max-execution-time 1s: sleep(2) ends with TIMEOUT_EXCEEDED (HTTP $code)"
pids=
for i in 1 2 3 4 5 6; do
	curl -s -o /dev/null -w '%{http_code}\n' "$Q/" --data-binary "SELECT sleep(0.8)" >"$E2E_DIR/par.$i" &
	pids="$pids $!"
done
wait $pids # (not weir, also a child of this shell)
ok=$(cat "$E2E_DIR"/par.* | grep -c '^200$')
busy=$(cat "$E2E_DIR"/par.* | grep -c '^503$')
[ "$ok" -ge 2 ] && [ "$ok" -le 3 ] && [ $((ok + busy)) = 6 ]
tap $? "6 queries at once with max-queries 2, max-queued 1: $ok answered, $busy got 503"
refused_busy=$(e2e_metric "$HTTP" weir_query_endpoint_rejected_total)
[ "$refused_busy" = "$busy" ]
tap $? "weir_query_endpoint_rejected_total counts them ($refused_busy)"
# 3 clients asking again as soon as they have their answer never exceed
# max-queries + max-queued (a finished query's slot is free before its
# answer leaves: else about 1 in 12 got 503 here).
pids=
for c in 1 2 3; do
	for i in $(seq 1 300); do
		printf 'url = "%s/?query=SELECT+%d"\nwrite-out = "%%{http_code}\\n"\noutput = "/dev/null"\n' \
			"$Q" "$i"
	done >"$E2E_DIR/seq.$c.cfg"
	curl -s -K "$E2E_DIR/seq.$c.cfg" >"$E2E_DIR/seq.$c" &
	pids="$pids $!"
done
wait $pids
got=$(cat "$E2E_DIR"/seq.[123] | sort | uniq -c | awk '{ printf "%s%s x%s", s, $2, $1; s = ", " }')
[ "$got" = "200 x900" ]
tap $? "3 clients, 300 queries each one after the other, max-queries 2 + max-queued 1: $got"

# ---- queries beside a stream being written ----
# 2M flows at 500k flows/s from one exporter while 3 clients query the
# growing database: its consolidated sums of the stream (flows_1m, as the
# console reads) and, in flows (millions of rows by then), the exact flows
# of one exporter, a slice the primary key finds in a few granules, so
# that max-rows-to-read does not refuse them. flowgen shares the 2 cores
# with weir (an exporter is another machine): at the same priority it got
# only about half the rate asked, so it runs at a higher one (root).
EXP=127.0.0.60
W=$(e2e_exporter_where $EXP)
N=2000000
nice -n -10 "$FLOWGEN" stream -t "127.0.0.1:$UDP" -b $EXP -f ipfix -n $N -r 500000 \
	>"$E2E_DIR/gen.out" 2>"$E2E_DIR/gen.err" &
gen=$!
E2E_EXTRA_PIDS=$gen
pids=
for c in 1 2 3; do
	(
		end=$((SECONDS + 8))
		while [ $SECONDS -lt $end ]; do
			curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 "$Q/" --data-binary \
				"SELECT count(), sum(Bytes) FROM $DB.flows_1m WHERE $W"
			curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 "$Q/" --data-binary \
				"SELECT SrcAddr, count() FROM $DB.flows WHERE $(e2e_exporter_where 127.0.0.41)
				 GROUP BY 1 ORDER BY 2 DESC LIMIT 5 FORMAT JSON"
		done >"$E2E_DIR/client.$c"
	) &
	pids="$pids $!"
done
sleep 1 # then two readings while the stream runs and the clients query
s1=$(e2e_metric "$HTTP" "weir_outlet_flows_stored_total{exporter=\"$EXP\"}")
sleep 3
s2=$(e2e_metric "$HTTP" "weir_outlet_flows_stored_total{exporter=\"$EXP\"}")
wait $pids
total=$(cat "$E2E_DIR"/client.* | wc -l)
bad=$(cat "$E2E_DIR"/client.* | grep -vc '^200$')
[ "$total" -gt 10 ] && [ "$bad" = 0 ]
tap $? "3 clients querying during a 500k flows/s stream: $total queries, $bad failed"
[ "$s2" -gt "$s1" ]
tap $? "the writer stores while they query ($s1 -> $s2 flows counted stored in 3 s)"
wait $gen
sent=$(cat "$E2E_DIR/gen.out")
secs=$(echo "$sent" | sed -n 's/.* seconds=\([0-9.]*\).*/\1/p')
bytes=$(echo "$sent" | sed -n 's/.* bytes=\([0-9]*\).*/\1/p')
echo "# flowgen: $sent ($(awk -v n=$N -v s="${secs:-0}" 'BEGIN { if (s > 0) printf "%.0f", n / s }') flows/s)"
got=$(e2e_wait_value "SELECT count(), sum(Bytes) FROM $DB.flows WHERE $W" "$N	${bytes:-?}" 60)
tap $? "every flow of the stream is stored (count, sum(Bytes): ${got//$'\t'/ }; sent $N, ${bytes:-?})"
if [ "$got" != "$N	${bytes:-?}" ]; then
	# Where they were lost: the kernel's socket (RcvbufErrors), a full
	# ring, the store.
	curl -s "http://$HTTP/metrics" | grep -E '^weir_[a-z_]*(drop|lost)[a-z_]*(\{[^}]*\})? [1-9]' |
		sed 's/^/# /'
fi

e2e_stop weir TERM
tap $? "weir run exits 0 on SIGTERM (the endpoint's sessions closed first)"
echo "1..$E2E_N"
exit $E2E_FAILED
