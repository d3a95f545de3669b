#!/usr/bin/env bash
# What the toolbar costs per request, in instructions (valgrind --tool=callgrind: deterministic,
# whatever else runs on the machine), on the page of crates/demo/src/cost.rs: three sqlx SQLite
# queries, a 5 KB Tera page with inheritance and one log line (/page), and a 23-byte text/plain
# answer (/plain). Setups: no toolbar, toolbar off, toolbar skipping the client, serving it
# (default panels and the OpenTelemetry panel, no export), and serving it with OTLP export to a
# dead endpoint. Prints one markdown table.
#
# Each setup and path runs twice in-process (the `page-cost` binary, release build), with FEW
# and with MANY requests after a warm-up; instructions per request are the difference of the
# two totals (every thread counted) divided by MANY - FEW, so start-up costs drop out.
#
# Beside them, requests/s under wrk as a ratio to no toolbar, all in one run: the server on
# CPU 0 (one worker), wrk on CPU 1, one connection, the setups in turns for ROUNDS rounds
# (median). wrk may need `apt-get install -y wrk`; WRK=0 leaves the column out.
#
# Run with `bash scripts/callgrind.sh`. Environment: FEW (default 10), MANY (default 110),
# WRK (default 1), DURATION (default 3s), ROUNDS (default 3), PORT (default 18092).
set -euo pipefail
cd "$(dirname "$0")/.."

few="${FEW:-10}"
many="${MANY:-110}"
use_wrk="${WRK:-1}"
duration="${DURATION:-3s}"
rounds="${ROUNDS:-3}"
port="${PORT:-18092}"
setups=(no-toolbar off skipped served export)
paths=(/page /plain)
bin="${CARGO_TARGET_DIR:-target}/release/page-cost"
work=$(mktemp -d)
server_pid=""

log() { printf '==> %s\n' "$*" >&2; }

stop_server() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap 'stop_server; rm -rf "$work"' EXIT

# Instructions of one in-process run: setup $1, path $2, $3 requests after the warm-up.
instructions() {
    local out="$work/callgrind.$1.${2//\//}.$3"
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" "$1" fetch "$2" "$3" \
        >/dev/null 2>"$out.log" || {
        log "valgrind failed for $1 $2 $3:"
        cat "$out.log" >&2
        exit 1
    }
    awk '/^(summary|totals):/ { print $2; exit }' "$out"
}

# Requests/s of wrk against the running server, path $1.
requests_per_second() {
    taskset -c 1 wrk -t1 -c1 -d"$duration" "http://127.0.0.1:${port}$1" |
        awk '$1 == "Requests/sec:" { printf "%.0f", $2 }'
}

start_server() {
    taskset -c 0 "$bin" "$1" serve "127.0.0.1:${port}" &
    server_pid=$!
    for _ in $(seq 100); do
        if curl -s -o /dev/null "http://127.0.0.1:${port}/plain"; then
            return
        fi
        sleep 0.1
    done
    log "page-cost $1 did not answer within 10 s"
    exit 1
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

command -v valgrind >/dev/null || { log "valgrind is needed (apt-get install -y valgrind)"; exit 1; }
if [[ "$use_wrk" == 1 ]] && ! command -v wrk >/dev/null; then
    log "wrk is needed for the requests/s column (apt-get install -y wrk), or set WRK=0"
    exit 1
fi
log "building page-cost (release)"
cargo build --release -p demo --bin page-cost

declare -A per_request
for setup in "${setups[@]}"; do
    for path in "${paths[@]}"; do
        log "callgrind: $setup $path ($few and $many requests)"
        a=$(instructions "$setup" "$path" "$few")
        b=$(instructions "$setup" "$path" "$many")
        per_request[$setup$path]=$(((b - a) / (many - few)))
    done
done

declare -A rps
if [[ "$use_wrk" == 1 ]]; then
    for round in $(seq "$rounds"); do
        for setup in "${setups[@]}"; do
            log "wrk round $round/$rounds: $setup"
            start_server "$setup"
            for path in "${paths[@]}"; do
                rps[$setup$path]+="$(requests_per_second "$path") "
            done
            stop_server
        done
    done
fi

delta() {
    local d=$(($1 - $2))
    awk -v d="$d" -v base="$2" 'BEGIN { printf "%+d (%+.1f %%)", d, 100 * d / base }'
}

ratio() {
    if [[ "$use_wrk" != 1 ]]; then
        echo "-"
        return
    fi
    local mine base
    mine=$(tr ' ' '\n' <<<"${rps[$1$2]}" | grep . | median)
    base=$(tr ' ' '\n' <<<"${rps[no-toolbar$2]}" | grep . | median)
    awk -v m="$mine" -v b="$base" 'BEGIN { printf "%.2f× (%d/s)", m / b, m }'
}

printf '\n%s, instructions per request (callgrind, %s−%s requests), wrk -t1 -c1 -d%s median of %s rounds\n\n' \
    "$(date -u +%Y-%m-%dT%H:%MZ)" "$many" "$few" "$duration" "$rounds"
echo "| setup | /page instructions | over no toolbar | /page wrk | /plain instructions | over no toolbar | /plain wrk |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for setup in "${setups[@]}"; do
    page=${per_request[$setup/page]}
    plain=${per_request[$setup/plain]}
    printf '| %s | %d | %s | %s | %d | %s | %s |\n' "$setup" \
        "$page" "$(delta "$page" "${per_request[no-toolbar/page]}")" "$(ratio "$setup" /page)" \
        "$plain" "$(delta "$plain" "${per_request[no-toolbar/plain]}")" "$(ratio "$setup" /plain)"
done
