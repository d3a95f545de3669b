//! What the Profiling and Logging panels cost per request: turning 1000 recorded spans into
//! `ProfilingStats` (tree, merged calls, icicle layout) and 1000 events into `LoggingStats`,
//! each with its record.
//!
//! Run with `cargo bench -p debug-toolbar-panels --bench profiling`.

// A benchmark that cannot set up fails loudly.
#![expect(
    clippy::expect_used,
    reason = "a benchmark that cannot set up has nothing to measure"
)]

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use debug_toolbar_core::integration::{RequestRecorder, Toolbar};
use debug_toolbar_core::{
    FinishedRequest, Panel, RecordId, Recording, RecordingLimits, RequestInfo, ResponseInfo,
    Timing, ToolbarLayer,
};
use debug_toolbar_panels::{LoggingPanel, ProfilingPanel};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;

/// A request's recording of 1000 spans (100 handlers, each with 6 reads, a render and a nested
/// helper, all repeated) and 1000 events.
fn recording() -> Recording {
    let subscriber =
        tracing_subscriber::registry().with(ToolbarLayer::filtered(LevelFilter::DEBUG));
    tracing::subscriber::with_default(subscriber, || {
        let recorder = RequestRecorder::new(RecordingLimits::default());
        let span = recorder.open_request_span("GET", "/users");
        let _entered = span.enter();
        for i in 0..100 {
            let _handler = tracing::info_span!("handler", i).entered();
            for j in 0..6 {
                let _read = tracing::debug_span!("load_users", j).entered();
                tracing::debug!(rows = 12_u64, "loaded users {i}/{j}");
            }
            {
                let _render = tracing::debug_span!(
                    target: "debug_toolbar::template",
                    "template.render",
                    template.name = if i % 2 == 0 { "users.html" } else { "user.html" }
                )
                .entered();
                let _helper = tracing::debug_span!("format_row").entered();
                tracing::info!(user = "ada", "rendered row {i}");
                let _deeper = tracing::debug_span!("escape").entered();
                for k in 0..2 {
                    tracing::warn!(k, "slow escape {i}");
                }
            }
            tracing::error!(i, "handler {i} failed");
        }
        recorder.finish()
    })
}

fn bench_panel<P: Panel>(c: &mut Criterion, name: &str, panel: P, recording: &Recording) {
    let toolbar = Toolbar::builder()
        .without_registered_panels()
        .panel(panel)
        .build()
        .expect("toolbar builds");
    let request = RequestInfo::new("GET", "/users");
    let response = ResponseInfo::new(200);
    let timing = Timing {
        started_at: SystemTime::now(),
        wall: Duration::from_millis(250),
        cpu: None,
    };
    c.bench_function(name, |b| {
        b.iter(|| {
            let finished = FinishedRequest {
                id: RecordId::random().expect("random"),
                request: &request,
                response: &response,
                timing: &timing,
                recording,
                state: &debug_toolbar_core::RequestState::default(),
                layer_attached: true,
            };
            black_box(toolbar.record(&finished))
        });
    });
}

fn panels_over_1000_spans_and_events(c: &mut Criterion) {
    let recording = recording();
    assert_eq!(recording.spans.len(), 1000);
    assert_eq!(recording.events.len(), 1000);
    bench_panel(c, "profiling/1000-spans", ProfilingPanel, &recording);
    bench_panel(c, "logging/1000-events", LoggingPanel, &recording);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = panels_over_1000_spans_and_events
}
criterion_main!(benches);
