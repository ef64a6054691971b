#!/usr/bin/env bash
# 'storage plan' and a no-change 'storage apply' on a file with 2 pools, 20 datasets and 10 NFS
# exports, on loop images: wall time, the host commands each runs (counted and timed by program),
# then the whole 'scalebox storage plan' process. Needs root. Prints tables.
#   bench/storage-plan.sh [RUNS]   (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_java dev.scalebox.bench.StoragePlanBench "${1:-10}"
