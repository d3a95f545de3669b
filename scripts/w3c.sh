#!/usr/bin/env bash
# Runs the W3C Trace Context test suite (https://github.com/w3c/trace-context, its `test/`
# folder) against the demo's `POST /interop/trace-context` at Trace Context Level 2, strictly:
# builds the demo, starts it with the toolbar on (trace context exists only for requests the
# toolbar serves), runs the suite, stops the demo. Exits with the suite's status.
#
# Run with `bash scripts/w3c.sh PATH/TO/trace-context/test`. The suite needs Python 3 with
# aiohttp: PYTHON names the interpreter (default python3; e.g. a virtualenv's). Environment:
# PORT (default 18095), SPEC_LEVEL (default 2), STRICT_LEVEL (default 2), HARNESS_PORT (default
# 7777).
set -euo pipefail
cd "$(dirname "$0")/.."

suite="${1:?usage: scripts/w3c.sh PATH/TO/trace-context/test}"
suite="$(cd "$suite" && pwd)"
python="${PYTHON:-python3}"
port="${PORT:-18095}"
[[ -f "$suite/test.py" ]] || { echo "no test.py in $suite" >&2; exit 2; }
"$python" -c 'import aiohttp' || { echo "$python has no aiohttp: pip install aiohttp" >&2; exit 2; }

cargo build -q -p demo
log="$(mktemp)"
demo_pid=""
stop_demo() {
    if [[ -n "$demo_pid" ]]; then
        kill "$demo_pid" 2>/dev/null || true
        wait "$demo_pid" 2>/dev/null || true
    fi
    rm -f "$log"
}
trap stop_demo EXIT

DEMO_ADDR="127.0.0.1:$port" DEBUG_TOOLBAR_ENABLED=true \
    "${CARGO_TARGET_DIR:-target}/debug/demo" >"$log" 2>&1 &
demo_pid=$!
for _ in $(seq 1 100); do
    if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.1
done
kill -0 "$demo_pid" 2>/dev/null || { cat "$log" >&2; exit 1; }

cd "$suite"
SPEC_LEVEL="${SPEC_LEVEL:-2}" STRICT_LEVEL="${STRICT_LEVEL:-2}" HARNESS_PORT="${HARNESS_PORT:-7777}" \
    "$python" test.py "http://127.0.0.1:$port/interop/trace-context"
