#!/usr/bin/env bash
# Create latency of the VM service (the work behind POST /vms), p50 and p95 over serial creates
# on a btrfs pool. Builds debian-base first (about a minute). Needs root. Prints a table.
#   bench/vm-create.sh [RUNS]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_java dev.scalebox.bench.VmCreateBench "${1:-20}"
