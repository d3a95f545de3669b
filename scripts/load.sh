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
# CONNECTIONS (default 8), PATHS (default "/ /users"), PORT (default 18089), PIN=1 (demo on CPU 0,
# wrk on CPU 1).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds="${ROUNDS:-3}"
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-8}"
read -r -a paths <<<"${PATHS:-/ /users}"
port="${PORT:-18089}"
modes=(off skipped served)

# shellcheck source=scripts/wrk-rounds.sh
source scripts/wrk-rounds.sh
trap 'stop_server; rm -f "$results"' EXIT

# The demo's environment in mode $1.
mode_env() {
    case "$1" in
        off) echo DEBUG_TOOLBAR_ENABLED=false ;;
        skipped) echo DEBUG_TOOLBAR_ENABLED=true DEBUG_TOOLBAR_ALLOWED_IPS=10.255.255.255/32 ;;
        served) echo DEBUG_TOOLBAR_ENABLED=true ;;
    esac
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

run_rounds
