#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Starts a private ClickHouse with the known flows of
# tests/integration/lib/console_data.bash (what tests/browser/known.json
# describes) and `weir console` on a free port serving web/dist; prints
# "ready URL" once the console answers; stops both on SIGTERM or SIGINT.
# WEIR: the binary (default build/weir).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
WEIR=${WEIR:-$top/build/weir}
export WEIR
. "$top/tests/integration/lib/clickhouse.sh"
. "$top/tests/integration/lib/console_data.bash"

dir=$(mktemp -d "${TMPDIR:-/tmp}/weir-console-up.XXXXXX")
pid=
stop() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	ch_stop
	rm -rf "$dir"
	exit 0
}
trap stop TERM INT
mkdir -p "$dir/ch"
ch_start "$dir/ch" >/dev/null || { echo "console-up: clickhouse-server does not start" >&2; stop; }
console_data_load "$dir" || { echo "console-up: known data not loaded" >&2; cat "$dir/orchestrator.log" >&2; stop; }
port=$(ch_free_port)
cat >>"$dir/weir.yaml" <<EOC
  retention: {flows: 0s, flows-1m: 0s, flows-5m: 0s, flows-1h: 0s}
http:
  listen: 127.0.0.1:$port
console:
  web-dir: $top/web/dist
EOC
"$WEIR" console -c "$dir/weir.yaml" >"$dir/console.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
	if curl -fsS --max-time 1 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
		echo "ready http://127.0.0.1:$port/"
		while kill -0 "$pid" 2>/dev/null; do sleep 1 & wait $!; done
		echo "console-up: weir console exited" >&2
		cat "$dir/console.log" >&2
		stop
	fi
	sleep 0.1
done
echo "console-up: weir console does not answer" >&2
cat "$dir/console.log" >&2
stop
