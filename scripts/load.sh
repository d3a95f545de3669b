#!/usr/bin/env bash
# Load-tests the demo in release mode with wrk in three toolbar modes and prints a markdown
# table of requests/sec and p50/p99 latency:
#   off      DEBUG_TOOLBAR_ENABLED=false
#   skipped  on, but the loopback client is not in DEBUG_TOOLBAR_ALLOWED_IPS: every request skipped
#   served   on, loopback allowed: every page recorded and injected
# The modes take turns for ROUNDS rounds, so that other load on the machine hits them alike;
# the table holds the median of the rounds. Loopback only; the whole run lasts about
# ROUNDS x 3 modes x paths x DURATION.
#
# Run with `bash scripts/load.sh`. Environment: ROUNDS (default 3), DURATION (default 10s),
# CONNECTIONS (default 8), PATHS (default "/ /users"), PORT (default 18089).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds="${ROUNDS:-3}"
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-8}"
read -r -a paths <<<"${PATHS:-/ /users}"
port="${PORT:-18089}"
base="http://127.0.0.1:${port}"
modes=(off skipped served)
server_pid=""
results=$(mktemp)

log() { printf '==> %s\n' "$*" >&2; }

stop_server() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap 'stop_server; rm -f "$results"' EXIT

ensure_wrk() {
    if ! command -v wrk >/dev/null; then
        log "installing wrk"
        apt-get update -qq && apt-get install -y -qq wrk >/dev/null
    fi
}

# The demo's environment in mode $1.
mode_env() {
    case "$1" in
        off) echo DEBUG_TOOLBAR_ENABLED=false ;;
        skipped) echo DEBUG_TOOLBAR_ENABLED=true DEBUG_TOOLBAR_ALLOWED_IPS=10.255.255.255/32 ;;
        served) echo DEBUG_TOOLBAR_ENABLED=true ;;
    esac
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

# Fails unless the toolbar was injected into GET / exactly in mode "served".
check_mode() {
    local page injected=no expected=no
    [[ "$1" == served ]] && expected=yes
    page=$(curl -s "$base/")
    [[ "$page" == *'id="debug-toolbar"'* ]] && injected=yes
    if [[ "$injected" != "$expected" ]]; then
        log "mode $1: expected the toolbar in GET / to be $expected, got $injected"
        exit 1
    fi
}

# Appends one tab-separated result: mode, path, req/s, p50 and p99 in ms, non-2xx/3xx count.
run_wrk() {
    local mode=$1 path=$2
    log "wrk -t1 -c$connections -d$duration $base$path"
    wrk -t1 -c"$connections" -d"$duration" --latency "$base$path" |
        awk -v mode="$mode" -v path="$path" '
            function ms(v) {
                if (v ~ /us$/) return v / 1000
                if (v ~ /ms$/) return v + 0
                return v * 1000
            }
            $1 == "50%" { p50 = ms($2) }
            $1 == "99%" { p99 = ms($2) }
            $1 == "Requests/sec:" { rps = $2 }
            /Non-2xx or 3xx responses:/ { bad = $NF }
            END { printf "%s\t%s\t%.0f\t%.2f\t%.2f\t%d\n", mode, path, rps, p50, p99, bad }
        ' >>"$results"
}

# The median of column $3 over the results of mode $1 and path $2.
median() {
    awk -F'\t' -v mode="$1" -v path="$2" -v col="$3" '$1 == mode && $2 == path { print $col }' \
        "$results" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# The sum of column $3 over the results of mode $1 and path $2.
total() {
    awk -F'\t' -v mode="$1" -v path="$2" -v col="$3" \
        '$1 == mode && $2 == path { sum += $col } END { print sum + 0 }' "$results"
}

ensure_wrk
log "building the demo (release)"
cargo build --release -p demo

for round in $(seq "$rounds"); do
    for mode in "${modes[@]}"; do
        read -r -a vars <<<"$(mode_env "$mode")"
        log "round $round/$rounds, mode $mode: ${vars[*]}"
        start_server "${vars[@]}"
        check_mode "$mode"
        for path in "${paths[@]}"; do
            run_wrk "$mode" "$path"
        done
        stop_server
    done
done

printf '\n%s, wrk -t1 -c%s -d%s, median of %s rounds, %s CPUs, load average %s\n\n' \
    "$(date -u +%Y-%m-%dT%H:%MZ)" "$connections" "$duration" "$rounds" "$(nproc)" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
echo "| mode | path | requests/s | p50 (ms) | p99 (ms) | non-2xx/3xx |"
echo "|---|---|---:|---:|---:|---:|"
for mode in "${modes[@]}"; do
    for path in "${paths[@]}"; do
        printf '| %s | %s | %s | %s | %s | %s |\n' "$mode" "$path" \
            "$(median "$mode" "$path" 3)" "$(median "$mode" "$path" 4)" \
            "$(median "$mode" "$path" 5)" "$(total "$mode" "$path" 6)"
    done
done
echo
echo "Every round (req/s, p50 ms, p99 ms):"
awk -F'\t' '{ printf "  %-8s %-8s %8s %8s %8s\n", $1, $2, $3, $4, $5 }' "$results"
