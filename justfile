# Everyday recipes. Each is one plain command: copy it to a shell if `just` is not installed.

# Serve the demo on http://127.0.0.1:8080/
demo:
    cargo run -p demo

# The test command (what CI runs, without the tests that need Chromium or databases)
test:
    cargo test --workspace

# Every test, with Chromium and the databases (installs and starts them when missing)
ci:
    bash .ci/run

# Criterion benchmarks of the hot paths
bench:
    cargo bench -p debug-toolbar-core --bench recording && cargo bench -p actix-debug-toolbar --bench middleware

# Whole-app load test with wrk: toolbar off, skipping the client, serving it
load:
    bash scripts/load.sh

# Package the library crates and build each from its .crate file, as crates.io would
package:
    rm -rf target/package target/debug/.fingerprint/debug-toolbar-* target/debug/.fingerprint/actix-debug-toolbar-* && find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -mindepth 2 -maxdepth 2 -type d -path '*/src/-*/*' \( -name 'debug-toolbar-*' -o -name 'actix-debug-toolbar-*' \) -exec rm -rf {} + && cargo package --locked -p debug-toolbar-core -p debug-toolbar-panels -p debug-toolbar-otel -p actix-debug-toolbar

# Formatting, lints and docs as CI checks them
lint:
    cargo fmt --all -- --check && cargo clippy --workspace --all-targets -- -D warnings && RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

# Line coverage of the library crates
coverage:
    bash scripts/coverage.sh
