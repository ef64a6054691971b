#!/usr/bin/env bash
# Boot-to-SSH of debian-base (QEMU start to the guest's SSH banner, and create to running) and
# the host memory per idle VM (QEMU's RSS minus the guest's memory in use). Builds debian-base
# first (about a minute). Needs root. Prints a table.
#   bench/vm-boot.sh [VMS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_java dev.scalebox.bench.BootBench "${1:-5}"
