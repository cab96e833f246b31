#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# The probe host VM: weir's probe counts this host's traffic and exports IPFIX
# to the collector (the probe issue fills in the command).
set -eu
collector=$1
cd /weir
make deps
make
echo "probe host ready; collector at $collector"
