#!/usr/bin/env bash
# Load-tests the demo in release mode with wrk, once per toolbar mode, and prints a markdown
# table of requests/sec and p50/p99 latency:
#   off      DEBUG_TOOLBAR_ENABLED=false
#   skipped  on, but the loopback client is not in DEBUG_TOOLBAR_ALLOWED_IPS: every request skipped
#   served   on, loopback allowed: every page recorded and injected
# Loopback only; each run lasts DURATION (default 10s) per path.
#
# Run with `bash scripts/load.sh`. Environment: PORT (default 18089), DURATION, CONNECTIONS
# (default 8), PATHS (default "/ /users").
set -euo pipefail
cd "$(dirname "$0")/.."

port="${PORT:-18089}"
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-8}"
read -r -a paths <<<"${PATHS:-/ /users}"
base="http://127.0.0.1:${port}"
server_pid=""

log() { printf '==> %s\n' "$*" >&2; }

stop_server() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap stop_server EXIT

ensure_wrk() {
    if ! command -v wrk >/dev/null; then
        log "installing wrk"
        apt-get update -qq && apt-get install -y -qq wrk >/dev/null
    fi
}

# Starts the demo with the given extra environment and waits until it answers.
start_server() {
    if curl -s -o /dev/null "$base/"; then
        log "something already listens on port $port; set PORT"
        exit 1
    fi
    env DEMO_ADDR="127.0.0.1:${port}" RUST_LOG=warn "$@" target/release/demo &
    server_pid=$!
    for _ in $(seq 100); do
        if curl -s -o /dev/null "$base/"; then
            return
        fi
        if ! kill -0 "$server_pid" 2>/dev/null; then
            log "the demo exited before it answered"
            exit 1
        fi
        sleep 0.1
    done
    log "the demo did not answer within 10 s"
    exit 1
}

# Fails unless the toolbar served GET / (its id header is set) exactly when $1 is "yes".
check_served() {
    local served=no
    if curl -s -D - -o /dev/null "$base/" | grep -qi '^x-debug-toolbar-id:'; then
        served=yes
    fi
    if [[ "$served" != "$1" ]]; then
        log "expected the toolbar to serve GET /: $1, got: $served"
        exit 1
    fi
}

# Prints one table row from wrk's output: req/s, p50, p99 and non-2xx/3xx responses.
wrk_row() {
    local mode=$1 path=$2 out
    out=$(wrk -t1 -c"$connections" -d"$duration" --latency "$base$path")
    awk -v mode="$mode" -v path="$path" '
        $1 == "50%" { p50 = $2 }
        $1 == "99%" { p99 = $2 }
        $1 == "Requests/sec:" { rps = $2 }
        /Non-2xx or 3xx responses:/ { bad = $NF }
        END { printf "| %s | %s | %s | %s | %s | %d |\n", mode, path, rps, p50, p99, bad }
    ' <<<"$out"
}

ensure_wrk
log "building the demo (release)"
cargo build --release -p demo

rows=()
for mode in off skipped served; do
    case "$mode" in
        off) vars=(DEBUG_TOOLBAR_ENABLED=false) served=no ;;
        skipped)
            vars=(DEBUG_TOOLBAR_ENABLED=true DEBUG_TOOLBAR_ALLOWED_IPS=10.255.255.255/32)
            served=no
            ;;
        served) vars=(DEBUG_TOOLBAR_ENABLED=true) served=yes ;;
    esac
    log "mode $mode: ${vars[*]}"
    start_server "${vars[@]}"
    check_served "$served"
    for path in "${paths[@]}"; do
        log "wrk -t1 -c$connections -d$duration $base$path"
        rows+=("$(wrk_row "$mode" "$path")")
    done
    stop_server
done

printf '\n%s, wrk -t1 -c%s -d%s, %s CPUs, load average %s\n\n' \
    "$(date -u +%Y-%m-%dT%H:%MZ)" "$connections" "$duration" "$(nproc)" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
echo "| mode | path | requests/s | p50 | p99 | non-2xx/3xx |"
echo "|---|---|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
