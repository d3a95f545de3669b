//! Integration tests: the middleware, its routes and panels through actix-web's test utilities,
//! and the demo in a real headless Chromium.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers of a test binary fail loudly: a panic with a message is the report"
)]

mod access;
mod analysis;
mod browser;
mod dashboard;
mod demo;
mod explain;
mod failures;
mod history;
mod injection;
mod logging;
mod mcp;
mod otel;
mod otel_export;
mod otel_receiver;
mod otel_waterfall;
mod own_cost;
mod packaging;
mod panels;
mod panics;
mod profiling;
mod profiling_cpu;
mod recording;
mod routes;
mod secrets;
mod sql;
mod store;
mod support;
mod templates;
mod testing;
