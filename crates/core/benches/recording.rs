//! What recording costs, measured with a subscriber holding `ToolbarLayer::filtered(DEBUG)` as
//! the thread default:
//!
//! - `recording/event-in-request`: one sqlx-style query event inside an entered request span,
//!   kept by the request's recorder. Requests hold 10 000 events each; opening and finishing
//!   them is not timed.
//! - `recording/event-outside-request`: the same event with no request span open, which the
//!   layer's filter turns away.
//! - `toolbar/record-1000-events`: `Toolbar::record` over a recording of 1000 such events with
//!   one panel that counts the query events (the built-in panels live in
//!   `debug-toolbar-panels`, which this crate does not depend on).
//!
//! Run with `cargo bench -p debug-toolbar-core --bench recording`.

#![expect(
    clippy::expect_used,
    reason = "a benchmark that cannot set up has nothing to measure"
)]

use std::borrow::Cow;
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use debug_toolbar_core::integration::{RequestRecorder, Toolbar};
use debug_toolbar_core::{
    FinishedRequest, Panel, RecordId, Recording, RecordingLimits, RequestInfo, ResponseInfo,
    StatsContext, Template, Timing, ToolbarLayer,
};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;

/// Events one benchmarked request holds before the next one is opened.
const EVENTS_PER_REQUEST: u64 = 10_000;

/// Makes a subscriber with the toolbar's layer this thread's default.
fn trace_with_toolbar_layer() -> tracing::subscriber::DefaultGuard {
    tracing::subscriber::set_default(
        tracing_subscriber::registry().with(ToolbarLayer::filtered(LevelFilter::DEBUG)),
    )
}

/// A recorder that keeps every event.
fn recorder() -> RequestRecorder {
    RequestRecorder::new(RecordingLimits {
        max_events: usize::MAX,
        ..RecordingLimits::default()
    })
}

/// The event sqlx emits for a query.
fn query_event() {
    tracing::debug!(
        target: "sqlx::query",
        summary = "SELECT id, name, email FROM users WHERE id = ?",
        db.statement = "",
        rows_affected = 0u64,
        rows_returned = 5u64,
        elapsed_secs = 0.0001f64,
    );
}

/// Times `iters` query events, emitted inside requests of [`EVENTS_PER_REQUEST`] events each.
fn time_events_in_requests(iters: u64) -> Duration {
    let mut elapsed = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let batch = left.min(EVENTS_PER_REQUEST);
        let recorder = recorder();
        let span = recorder.open_request_span("GET", "/users");
        let entered = span.enter();
        let start = Instant::now();
        for _ in 0..batch {
            query_event();
        }
        elapsed += start.elapsed();
        drop(entered);
        black_box(recorder.finish());
        left -= batch;
    }
    elapsed
}

fn recording(c: &mut Criterion) {
    let _tracing = trace_with_toolbar_layer();
    let mut group = c.benchmark_group("recording");
    group.bench_function("event-in-request", |b| {
        b.iter_custom(time_events_in_requests);
    });
    group.bench_function("event-outside-request", |b| b.iter(query_event));
    group.finish();
}

/// Counts a request's query events.
struct QueryCountPanel;

impl Panel for QueryCountPanel {
    type Stats = usize;
    const ID: &'static str = "query-count";

    fn title(&self) -> Cow<'static, str> {
        "Queries".into()
    }

    fn generate_stats(&self, cx: &StatsContext<'_>) -> usize {
        cx.recording()
            .events
            .iter()
            .filter(|e| e.metadata.target() == "sqlx::query")
            .count()
    }

    fn template(&self) -> Template {
        Template::new("panels/query-count.html", "<p>{{ stats }} queries</p>")
    }
}

/// What a request that ran `queries` queries recorded.
fn recorded_queries(queries: usize) -> Recording {
    let _tracing = trace_with_toolbar_layer();
    let recorder = recorder();
    let span = recorder.open_request_span("GET", "/users");
    span.in_scope(|| (0..queries).for_each(|_| query_event()));
    let recording = recorder.finish();
    assert_eq!(recording.events.len(), queries, "every event was recorded");
    recording
}

fn record(c: &mut Criterion) {
    let recording = recorded_queries(1000);
    let toolbar = Toolbar::builder()
        .without_registered_panels()
        .panel(QueryCountPanel)
        .build()
        .expect("the toolbar builds");
    let request = RequestInfo::new("GET", "/users");
    let response = ResponseInfo::new(200);
    let timing = Timing {
        started_at: SystemTime::now(),
        wall: Duration::from_millis(3),
        cpu: None,
    };
    let finished = FinishedRequest {
        id: RecordId::random().expect("the OS gives random bytes"),
        request: &request,
        response: &response,
        timing: &timing,
        recording: &recording,
        state: &debug_toolbar_core::RequestState::default(),
        layer_attached: true,
    };
    c.bench_function("toolbar/record-1000-events", |b| {
        b.iter(|| toolbar.record(black_box(&finished)));
    });
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(40)
}

criterion_group! {
    name = benches;
    config = config();
    targets = recording, record
}
criterion_main!(benches);
