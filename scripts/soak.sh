#!/usr/bin/env bash
# Memory under load: serves the page of crates/demo/src/cost.rs (the `page-cost` binary, release
# build) in one setup, keeps wrk on it for DURATION, and prints the server's resident memory
# (VmRSS) every INTERVAL seconds, then the growth over the first sample after warm-up.
#
# Run with `bash scripts/soak.sh` (10 minutes of served pages with OTLP export to a dead
# endpoint). Environment: SETUP (default export; no-toolbar, off, skipped, served, export),
# DURATION in seconds (default 600), INTERVAL in seconds (default 10), CONNECTIONS (default 4),
# PATH_ (default /page), PORT (default 18093). wrk may need `apt-get install -y wrk`.
set -euo pipefail
cd "$(dirname "$0")/.."

setup="${SETUP:-export}"
duration="${DURATION:-600}"
interval="${INTERVAL:-10}"
connections="${CONNECTIONS:-4}"
path="${PATH_:-/page}"
port="${PORT:-18093}"
bin=target/release/page-cost
server_pid=""
wrk_pid=""

cleanup() {
    [[ -n "$wrk_pid" ]] && kill "$wrk_pid" 2>/dev/null || true
    [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap cleanup EXIT

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status"; }

cargo build --release -p demo --bin page-cost >&2
"$bin" "$setup" serve "127.0.0.1:${port}" &
server_pid=$!
for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:${port}/plain" && break
    sleep 0.1
done
start_rss=$(rss_kib)
wrk -t1 -c"$connections" -d"${duration}s" "http://127.0.0.1:${port}${path}" >/dev/null &
wrk_pid=$!

echo "| seconds | VmRSS (KiB) |"
echo "|---:|---:|"
echo "| 0 | $start_rss |"
first=""
for ((t = interval; t <= duration; t += interval)); do
    sleep "$interval"
    rss=$(rss_kib)
    [[ -z "$first" && $t -ge 60 ]] && first=$rss
    echo "| $t | $rss |"
done
echo
echo "setup $setup, $path, wrk -c$connections for ${duration}s: ${start_rss} KiB idle," \
    "${first:-?} KiB at 60 s, ${rss} KiB at the end ($((rss - ${first:-$rss})) KiB after the first minute)"
