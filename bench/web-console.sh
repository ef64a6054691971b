#!/usr/bin/env bash
# The web console in headless chromium (Debian's, driven by playwright-core): page load to an
# interactive list of 50 VMs, and a keystroke's echo through the console's WebSocket against
# polling GET /vms/{id}/console, p50 and p95 side by side. Builds debian-base first when missing,
# and the page (npm). Needs root, chromium and node.
#   bench/web-console.sh [VMS] [KEYS]   (default 50 and 50)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_java dev.scalebox.bench.WebConsoleBench "${1:-50}" "${2:-50}"
