#!/usr/bin/env bash
# The bridge against QEMU's user-mode network, side by side: 256 MB over SSH each way and the time
# from a connect to the guest's SSH banner; then a small page through Caddy against straight to the
# guest, and a request to a suspended VM's HTTPS address until its answer. Builds debian-base first.
# Needs root and curl. Prints tables.
#   bench/network.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_java dev.scalebox.bench.NetworkBench
