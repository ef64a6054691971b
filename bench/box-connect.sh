#!/usr/bin/env bash
# The SSH gateway with the real OpenSSH client: a new user's first connection, suspend and resume
# of an idle box, and, for an active box, the gateway against direct ssh (connect time and the
# throughput of 256 MB). Builds debian-base first (about a minute). Needs root. Prints a table.
#   bench/box-connect.sh [CONNECTIONS]   (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_java dev.scalebox.bench.BoxBench "${1:-10}"
