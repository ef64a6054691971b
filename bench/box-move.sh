#!/usr/bin/env bash
# A box with OWN_MIB MiB of its own data moved between two real hosts (each on a btrfs pool of its
# own, sharing a throwaway PostgreSQL): to a host without the base, back to one with it, and what
# the same volume would send with no base; bytes sent against the disk and memory, and seconds.
# Needs root, Debian's postgresql, and boots one golden state unless the run has one.
#   bench/box-move.sh [OWN_MIB]   (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_java dev.scalebox.bench.BoxMoveBench "${1:-100}"
