#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# The router VM: forwards traffic and exports it to the collector with
# softflowd (NetFlow v9) and pmacct (sFlow), as a real exporter would.
set -eu
collector=$1
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends softflowd pmacct iperf3 >/dev/null
sysctl -w net.ipv4.ip_forward=1
iface=$(ip -o -4 addr show | awk '$4 ~ /^192\.168\.56\./ {print $2; exit}')
softflowd -i "$iface" -n "$collector:2055" -v 9 -t maxlife=60
