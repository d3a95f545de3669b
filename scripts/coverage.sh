#!/usr/bin/env bash
# Line coverage of the library crates (every crate under crates/ but the demo) under the
# workspace's tests, with cargo-llvm-cov. The demo and test code (any `tests/` directory) are
# left out of the figures; ignored tests (browser, databases) do not run.
#
# Run with `bash scripts/coverage.sh`; extra arguments go to `cargo llvm-cov`, e.g.
# `--exclude debug-toolbar-tests` for the unit tests alone. Needs the rustup component
# llvm-tools; installs cargo-llvm-cov if it is missing. Builds in target/llvm-cov-target.
set -euo pipefail
cd "$(dirname "$0")/.."

# Files that are not library code: the demo and tests.
not_library='(^|/)(crates/demo|tests)/'

log() { printf '==> %s\n' "$*" >&2; }

# Files of crates other than $1 (a directory under crates/), and test code.
others_than() {
    local keep=$1 dirs=() dir
    for dir in crates/*/; do
        dir=$(basename "$dir")
        [[ "$dir" == "$keep" ]] || dirs+=("$dir")
    done
    local IFS='|'
    printf '(^|/)(crates/(%s)|tests)/' "${dirs[*]}"
}

# The line coverage in the TOTAL row of `cargo llvm-cov report` (lines, missed, cover).
line_total() {
    cargo llvm-cov report --ignore-filename-regex "$1" |
        awk '$1 == "TOTAL" { printf "%s | %s | %s", $8, $9, $10 }'
}

if ! cargo llvm-cov --version >/dev/null 2>&1; then
    log "installing cargo-llvm-cov"
    cargo install cargo-llvm-cov --locked
fi

log "running the workspace's tests with coverage"
# Test binaries left from older builds would be counted too, with stale line maps.
cargo llvm-cov clean --workspace
# Failing tests still leave their coverage; report it, then exit with the tests' status.
tests_status=0
cargo llvm-cov --workspace --no-report --no-fail-fast "$@" || tests_status=$?

log "coverage per file"
cargo llvm-cov report --ignore-filename-regex "$not_library"

printf '\n%s, git %s\n\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$(git rev-parse --short HEAD)"
echo "| crate | lines | missed | line coverage |"
echo "|---|---:|---:|---:|"
for dir in crates/*/; do
    crate=$(basename "$dir")
    [[ "$crate" == demo ]] && continue
    echo "| crates/$crate | $(line_total "$(others_than "$crate")") |"
done
echo "| total | $(line_total "$not_library") |"
if ((tests_status != 0)); then
    log "some tests failed (exit status $tests_status): the figures count only what ran"
fi
exit "$tests_status"
