#!/usr/bin/env bash
# POST /vms latency over HTTP (p50/p95 of serial creates; 2 GiB and 16 GiB templates) and creates per
# second with 10 clients, on a btrfs pool; then, side by side, POST /vms to the first command's
# output over SSH for VMs started from the template's memory snapshot (alone and with a warm guest waiting),
# and by a boot, with the host memory per idle VM, and a resumed guest's set-up through the guest
# agent against SSH. Builds debian-base first (about a minute). Needs root.
#   bench/vm-create.sh [RUNS] [START_RUNS]   (default 20 and 10)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_java dev.scalebox.bench.ApiCreateBench "${1:-20}"
bench_java dev.scalebox.bench.CreateToSshBench "${2:-10}"
