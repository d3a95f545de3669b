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
# (default 18091), PIN=1 (demo on CPU 0, wrk on CPU 1).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds="${ROUNDS:-3}"
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-8}"
read -r -a paths <<<"${PATHS:-/users}"
port="${PORT:-18090}"
receiver_port="${RECEIVER_PORT:-18091}"
modes=(otel-off no-export live dead)
receiver_pid=""

# shellcheck source=scripts/wrk-rounds.sh
source scripts/wrk-rounds.sh

stop_receiver() {
    if [[ -n "$receiver_pid" ]]; then
        kill "$receiver_pid" 2>/dev/null || true
        wait "$receiver_pid" 2>/dev/null || true
        receiver_pid=""
    fi
}
trap 'stop_server; stop_receiver; rm -f "$results"' EXIT

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
        live) echo DEBUG_TOOLBAR_ENABLED=true OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:${receiver_port}" ;;
        # Port 9 (discard) is closed on loopback: every export is refused.
        dead) echo DEBUG_TOOLBAR_ENABLED=true OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:9 ;;
    esac
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

start_receiver
run_rounds
