#!/usr/bin/env bash
# Wall time of `scalebox template build debian-base` on a fresh btrfs pool, with /usr/bin/time -v.
# Needs root and the mirror. Prints a table; cleans up its pool.
#   bench/template-build.sh [RUNS]   (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
runs=${1:-1}
work=$(mktemp -d /var/tmp/scalebox-bench-XXXXXX)
cleanup() { umount "$work/data" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
./scalebox --version >/dev/null   # builds the jar outside the measurement
printf '%-5s %10s %14s %10s\n' run wall_s max_rss_mib image_gib
for i in $(seq 1 "$runs"); do
  ./scalebox storage init --image "$work/pool.img" --mount "$work/data" --fstab "$work/fstab" --size 8G >/dev/null
  /usr/bin/time -v -o "$work/time.txt" ./scalebox template build debian-base --data-dir "$work/data" >"$work/build.log" 2>&1 \
    || { cat "$work/build.log"; exit 1; }
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(j=1;j<=n;j++) s=s*60+t[j]; print s}' "$work/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$work/time.txt")
  size=$(stat -c %s "$work/data/templates/debian-base.ext4")
  printf '%-5s %10.1f %14s %10.1f\n' "$i" "$wall" "$rss" "$(awk -v s="$size" 'BEGIN {print s / 1073741824}')"
  umount "$work/data"; rm -rf "$work/pool.img" "$work/data" "$work/fstab"
done
echo "(max RSS is the launcher's JVM; mmdebstrap runs as a child)"
