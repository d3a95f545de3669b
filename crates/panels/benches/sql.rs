//! What the SQL panel costs per request: turning 1000 recorded sqlx query events into
//! `SqlStats` (capture, normalisation, grouping, N+1 detection, formatting) and the record.
//!
//! Run with `cargo bench -p debug-toolbar-panels --bench sql`.

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
    FinishedRequest, RecordId, Recording, RecordingLimits, RequestInfo, ResponseInfo, Timing,
    ToolbarLayer,
};
use debug_toolbar_panels::SqlPanel;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;

/// A request's recording of `n` queries as sqlx reports them: a loop of similar reads.
fn recording(n: usize) -> Recording {
    let subscriber =
        tracing_subscriber::registry().with(ToolbarLayer::filtered(LevelFilter::DEBUG));
    tracing::subscriber::with_default(subscriber, || {
        let recorder = RequestRecorder::new(RecordingLimits::default());
        let span = recorder.open_request_span("GET", "/users");
        let _entered = span.enter();
        for i in 0..n {
            let sql = format!(
                "SELECT id, name, email FROM users WHERE team_id = {} ORDER BY name",
                i % 50
            );
            tracing::debug!(
                target: "sqlx::query",
                summary = "SELECT id, name, email …",
                db.statement = format!("\n\n{sql}\n").as_str(),
                rows_affected = 0_u64,
                rows_returned = 12_u64,
                elapsed_secs = 0.000_2_f64,
            );
        }
        recorder.finish()
    })
}

fn analyse_1000_queries(c: &mut Criterion) {
    let toolbar = Toolbar::builder()
        .without_registered_panels()
        .panel(SqlPanel::new())
        .build()
        .expect("toolbar builds");
    let recording = recording(1000);
    assert_eq!(recording.events.len(), 1000);
    let request = RequestInfo::new("GET", "/users");
    let response = ResponseInfo::new(200);
    let timing = Timing {
        started_at: SystemTime::now(),
        wall: Duration::from_millis(250),
        cpu: None,
    };
    c.bench_function("sql/analyse-1000-queries", |b| {
        b.iter(|| {
            let finished = FinishedRequest {
                id: RecordId::random().expect("random"),
                request: &request,
                response: &response,
                timing: &timing,
                recording: &recording,
                state: &debug_toolbar_core::RequestState::default(),
                layer_attached: true,
            };
            black_box(toolbar.record(&finished))
        });
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = analyse_1000_queries
}
criterion_main!(benches);
