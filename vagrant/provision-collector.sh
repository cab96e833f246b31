#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# The collector VM: weir built from the shared tree, run with its default config.
set -eu
cd /weir
make deps
make
