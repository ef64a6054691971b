#!/usr/bin/env bash
# POST /vms latency over HTTP (p50/p95 of serial creates; 2 GiB and 16 GiB templates) and creates per
# second with 10 clients, on a btrfs pool. Builds debian-base first (about a minute). Needs root.
#   bench/vm-create.sh [RUNS]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_java dev.scalebox.bench.ApiCreateBench "${1:-20}"
