#!/usr/bin/env bash
# Boot-to-SSH of debian-base (QEMU start to the guest's SSH banner, and create to running) and
# the host memory per idle VM (QEMU's RSS minus the guest's memory in use), for each TCG
# translation cache size given (TCG_CACHE_MIB), side by side. Builds debian-base first (about a
# minute). Needs root. Prints a table.
#   bench/vm-boot.sh [VMS [CACHE_MIB,...]]   (default 5 VMs, 64 MiB; e.g. bench/vm-boot.sh 3 64,32)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_java dev.scalebox.bench.BootBench "${1:-5}" "${2:-64}"
