#!/usr/bin/env bash
# A burst on a small host, side by side: with the admission of starts (default) and all at once
# (MAX_CONCURRENT_STARTS=1000). 10 API creates at once (1 vCPU, 512 MiB): time to the last
# running, p50, failures and reboots; 8 new gateway users at once: time to the last prompt, p50,
# failures. Builds debian-base first. Needs root. Prints a table.
#   bench/load.sh [CREATES] [USERS]   (default 10 8)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_java dev.scalebox.bench.LoadBench "${1:-10}" "${2:-8}"
