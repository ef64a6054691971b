#!/usr/bin/env bash
# The SSH gateway with the real OpenSSH client: new users (from the pool of ready boxes and from
# the golden state), suspend and resume, an active box through the gateway against direct ssh
# (connect time, 256 MB), and 20 new users at once. Builds debian-base first. Needs root. Prints a table.
#   bench/box-connect.sh [CONNECTIONS]   (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_java dev.scalebox.bench.BoxBench "${1:-10}"
