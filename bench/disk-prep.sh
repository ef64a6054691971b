#!/usr/bin/env bash
# Disk preparation (clone + resize + key) for 1, 4 and 16 GiB templates on a btrfs loop pool,
# Scalebox's path against the seed's loop-mount path, side by side. Needs root. Prints a table.
#   bench/disk-prep.sh [ITERATIONS]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_java dev.scalebox.bench.DiskPrepBench "${1:-20}"
