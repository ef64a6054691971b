#!/usr/bin/env bash
# POST /vms on two real hosts sharing a throwaway PostgreSQL: to the host that places the VM on
# itself, against to one that places it there and passes the create on; p50, p95, mean.
# Needs root and Debian's postgresql.
#   bench/hosts.sh [CREATES]   (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_java dev.scalebox.bench.HostsBench "${1:-30}"
