#!/usr/bin/env bash
# Load-tests the demo in release mode with wrk in four OpenTelemetry modes and prints a markdown
# table of requests/sec and p50/p99 latency:
#   otel-off   toolbar on, the OpenTelemetry panel switched off (DEBUG_TOOLBAR_DISABLED_PANELS=otel)
#   no-export  the panel on, no exporter: the waterfall only
#   live       exporting over OTLP HTTP/protobuf to a live receiver on loopback (a tiny Python
#              server that accepts every batch)
#   dead       exporting to a dead endpoint (connection refused): spans fail and are dropped
# Every request is served by the toolbar (loopback client). The modes take turns for ROUNDS
# rounds; the table holds the median of the rounds. Loopback only; the run lasts about
# ROUNDS x 4 modes x paths x DURATION.
#
# Run with `bash scripts/load-otel.sh`. Environment: ROUNDS (default 3), DURATION (default 10s),
# CONNECTIONS (default 8), PATHS (default "/users"), PORT (default 18090), RECEIVER_PORT
# (default 18091).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds="${ROUNDS:-3}"
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-8}"
read -r -a paths <<<"${PATHS:-/users}"
port="${PORT:-18090}"
receiver_port="${RECEIVER_PORT:-18091}"
base="http://127.0.0.1:${port}"
modes=(otel-off no-export live dead)
server_pid=""
receiver_pid=""
results=$(mktemp)

log() { printf '==> %s\n' "$*" >&2; }

stop_server() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
stop_receiver() {
    if [[ -n "$receiver_pid" ]]; then
        kill "$receiver_pid" 2>/dev/null || true
        wait "$receiver_pid" 2>/dev/null || true
        receiver_pid=""
    fi
}
trap 'stop_server; stop_receiver; rm -f "$results"' EXIT

ensure_wrk() {
    if ! command -v wrk >/dev/null; then
        log "installing wrk"
        apt-get update -qq && apt-get install -y -qq wrk >/dev/null
    fi
}

# An OTLP/HTTP receiver that accepts every batch (an empty protobuf answer is a valid
# ExportTraceServiceResponse) and counts the bytes it got.
start_receiver() {
    python3 - "$receiver_port" <<'PY' &
import http.server, sys
class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Receiver).serve_forever()
PY
    receiver_pid=$!
    sleep 0.5
}

# The demo's environment in mode $1.
mode_env() {
    case "$1" in
        otel-off) echo DEBUG_TOOLBAR_ENABLED=true DEBUG_TOOLBAR_DISABLED_PANELS=otel ;;
        no-export) echo DEBUG_TOOLBAR_ENABLED=true ;;
        live) echo DEBUG_TOOLBAR_ENABLED=true OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:${receiver_port} ;;
        # Port 9 (discard) is closed on loopback: every export is refused.
        dead) echo DEBUG_TOOLBAR_ENABLED=true OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:9 ;;
    esac
}

start_server() {
    if curl -s -o /dev/null "$base/"; then
        log "something already listens on port $port; set PORT"
        exit 1
    fi
    env DEMO_ADDR="127.0.0.1:${port}" RUST_LOG=error "$@" target/release/demo &
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

# Fails unless the response carries a traceresponse exactly when the panel is on.
check_mode() {
    local headers has=no expected=yes
    [[ "$1" == otel-off ]] && expected=no
    headers=$(curl -s -D - -o /dev/null "$base/users")
    [[ "${headers,,}" == *traceresponse:* ]] && has=yes
    if [[ "$has" != "$expected" ]]; then
        log "mode $1: expected a traceresponse header: $expected, got $has"
        exit 1
    fi
}

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

median() {
    awk -F'\t' -v mode="$1" -v path="$2" -v col="$3" '$1 == mode && $2 == path { print $col }' \
        "$results" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

total() {
    awk -F'\t' -v mode="$1" -v path="$2" -v col="$3" \
        '$1 == mode && $2 == path { sum += $col } END { print sum + 0 }' "$results"
}

ensure_wrk
log "building the demo (release)"
cargo build --release -p demo
start_receiver

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
awk -F'\t' '{ printf "  %-10s %-8s %8s %8s %8s\n", $1, $2, $3, $4, $5 }' "$results"
