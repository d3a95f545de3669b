#!/usr/bin/env bash
# The shared part of the load scripts (sourced, not run): starts the release demo in each of the
# caller's modes, in turns for ROUNDS rounds, runs wrk against each path, and prints a markdown
# table of the medians. The caller sets `modes`, `paths`, `port`, `rounds`, `duration`,
# `connections` and defines `mode_env MODE` (the demo's environment) and `check_mode MODE`
# (fails unless the running demo really is in that mode), then calls `run_rounds`.
# shellcheck disable=SC2154 # those variables are the caller's

base="http://127.0.0.1:${port}"
# PIN=1 puts the demo on CPU 0 and wrk on CPU 1, so that neither takes the other's core and
# modes compare on equal terms (the demo then runs one worker).
server_pin=()
wrk_pin=()
if [[ "${PIN:-0}" == 1 ]]; then
    server_pin=(taskset -c 0)
    wrk_pin=(taskset -c 1)
fi
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
    "${server_pin[@]}" env DEMO_ADDR="127.0.0.1:${port}" RUST_LOG=error "$@" target/release/demo &
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

# Appends one tab-separated result: mode, path, req/s, p50 and p99 in ms, non-2xx/3xx count.
run_wrk() {
    local mode=$1 path=$2
    log "wrk -t1 -c$connections -d$duration $base$path"
    "${wrk_pin[@]}" wrk -t1 -c"$connections" -d"$duration" --latency "$base$path" |
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

run_rounds() {
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

    printf '\n%s, wrk -t1 -c%s -d%s, median of %s rounds, %s CPUs%s, load average %s\n\n' \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$connections" "$duration" "$rounds" "$(nproc)" \
        "${server_pin:+, demo on CPU 0 and wrk on CPU 1}" \
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
    awk -F'\t' '{ printf "  %-10s %-8s %8s %8s %8s\n", $1, $2, $3, $4, $5 }' "$results"
}
