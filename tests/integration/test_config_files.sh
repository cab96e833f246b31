#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# The shipped configuration files load, and a wrong key or value is reported
# with its file, line and key path by `weir config check`.
set -u
weir=${WEIR_BUILD:-build}/weir
top=${WEIR_TOP:-.}
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }

for f in "$top"/config/weir.yaml "$top"/config/examples/*.yaml; do
	if out=$("$weir" config check "$f" 2>&1); then ok "$(basename "$f") is valid"
	else notok "$(basename "$f") is valid: $out"; fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
expect_error() { # NAME YAML EXPECTED-MESSAGE
	printf '%s' "$2" >"$tmp/bad.yaml"
	out=$("$weir" config check "$tmp/bad.yaml" 2>&1)
	rc=$?
	if [ $rc -eq 1 ] && [ "$out" = "weir: $tmp/bad.yaml:$3" ]; then ok "$1"
	else notok "$1: rc=$rc output: $out"; fi
}
expect_error "unknown key named with its path" $'flow:\n  inputs:\n    - type: udp\n      lisen: ":2055"\n' \
	'4: flow.inputs[0].lisen: unknown key'
expect_error "bad enum value lists the choices" $'bus:\n  type: rabbitmq\n' \
	'2: bus.type: invalid value "rabbitmq": expected one of the listed words (ring, kafka)'
expect_error "bad duration" $'clickhouse:\n  batch-interval: soon\n' \
	'2: clickhouse.batch-interval: invalid value "soon": expected a duration like 500ms, 5s, 2m, 1h, 15d'
expect_error "unknown top-level section" $'colector: {}\n' '1: colector: unknown key'
expect_error "a wrong classifier rule is compiled and reported" \
	$'core:\n  interface-classifiers: [ClassifyNothing(]\n' \
	'2: core.interface-classifiers[0]: rule "ClassifyNothing(": column 1: unknown function ClassifyNothing'
echo "1..$n"
