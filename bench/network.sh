#!/usr/bin/env bash
# The bridge against QEMU's user-mode network, side by side: 256 MB over SSH each way and the time
# from a connect to the guest's SSH banner. Builds debian-base first. Needs root. Prints a table.
#   bench/network.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_java dev.scalebox.bench.NetworkBench
