#!/usr/bin/env bash
# GET /vms of a real scalebox serve holding many VM records, its store in SQLite and in a
# throwaway PostgreSQL (initdb in a temporary directory), side by side: p50, p95, mean.
# Needs root and Debian's postgresql.
#   bench/store-reads.sh [RECORDS] [REQUESTS]   (default 1000 and 200)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_java dev.scalebox.bench.StoreReadsBench "${1:-1000}" "${2:-200}"
