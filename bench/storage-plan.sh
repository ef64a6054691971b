#!/usr/bin/env bash
# 'storage plan' and a no-change 'storage apply' on a file with 2 pools and 20 datasets, on loop
# images: wall time and the host commands each runs, then the whole 'scalebox storage plan'
# process. Needs root. Prints a table.
#   bench/storage-plan.sh [RUNS]   (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_java dev.scalebox.bench.StoragePlanBench "${1:-10}"
