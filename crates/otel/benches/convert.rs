//! What the OpenTelemetry panel costs per request: converting a request with 100 SQL queries
//! and 100 log records (inside 10 application spans) into spans; and for a trace of 2,000
//! spans, reading its waterfall (groups, critical path, self times) and rendering the panel.
//!
//! Run with `cargo bench -p debug-toolbar-otel --all-features --bench convert`.

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
    FinishedRequest, Panel, RecordId, RecordedEvent, Recording, RecordingLimits, RequestInfo,
    RequestState, ResponseInfo, Timing, ToolbarLayer,
};
use debug_toolbar_otel::convert::{self, Sources};
use debug_toolbar_otel::opentelemetry::trace::{SpanId, TraceId};
use debug_toolbar_otel::{OtelConfig, OtelPanel, TraceContext, Waterfall};
use debug_toolbar_panels::{LoggingPanel, ProfilingPanel, SqlPanel, TemplatesPanel, TimerPanel};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;

/// 10 handler spans, each running 10 queries (sqlx's event shape) and logging 10 records.
fn recording() -> Recording {
    let subscriber =
        tracing_subscriber::registry().with(ToolbarLayer::filtered(LevelFilter::DEBUG));
    tracing::subscriber::with_default(subscriber, || {
        let recorder = RequestRecorder::new(RecordingLimits::default());
        let span = recorder.open_request_span("GET", "/users");
        let _entered = span.enter();
        for i in 0..10 {
            let _handler = tracing::info_span!("load_page", i).entered();
            for j in 0..10 {
                tracing::debug!(
                    target: "sqlx::query",
                    summary = "SELECT id, name FROM users WHERE id = ?",
                    db.statement = "",
                    rows_affected = 0_u64,
                    rows_returned = 1_u64,
                    elapsed_secs = 0.000_05,
                );
                tracing::info!(user = j, "loaded user {i}/{j}");
            }
        }
        recorder.finish()
    })
}

fn stats_of<P: Panel>(record: &debug_toolbar_core::RequestRecord) -> P::Stats {
    record
        .stats::<P>()
        .expect("panel ran")
        .expect("stats read back")
}

fn convert_100_queries_and_100_logs(c: &mut Criterion) {
    let recording = recording();
    let sql_events = recording
        .events
        .iter()
        .filter(|e: &&RecordedEvent| e.metadata.target() == "sqlx::query")
        .count();
    assert_eq!((sql_events, recording.events.len()), (100, 200));
    let toolbar = Toolbar::builder()
        .without_registered_panels()
        .panel(TimerPanel)
        .panel(SqlPanel::new())
        .panel(LoggingPanel)
        .panel(TemplatesPanel)
        .panel(ProfilingPanel)
        .build()
        .expect("toolbar builds");
    let mut request = RequestInfo::new("GET", "/users");
    request.route_pattern = Some("/users".to_owned());
    let response = ResponseInfo::new(200);
    let timing = Timing {
        started_at: SystemTime::now(),
        wall: Duration::from_millis(25),
        cpu: None,
    };
    let outcome = toolbar.record(&FinishedRequest {
        id: RecordId::random().expect("random"),
        request: &request,
        response: &response,
        timing: &timing,
        recording: &recording,
        state: &RequestState::default(),
        layer_attached: true,
    });
    let record = outcome.record;
    let timer = stats_of::<TimerPanel>(&record);
    let sql = stats_of::<SqlPanel>(&record);
    let logging = stats_of::<LoggingPanel>(&record);
    let templates = stats_of::<TemplatesPanel>(&record);
    let profiling = stats_of::<ProfilingPanel>(&record);
    let trace = TraceContext::new(
        TraceId::from_bytes([7; 16]),
        SpanId::from_bytes([9; 8]),
        None,
        true,
    );
    let sources = Sources {
        request: &request,
        response: &response,
        timing: &timing,
        recording: &recording,
        trace: &trace,
        captured: &[],
        timer: Some(&timer),
        sql: Some(&sql),
        logging: Some(&logging),
        templates: Some(&templates),
        profiling: Some(&profiling),
    };
    let converted = convert::convert(&sources);
    // The server span, 10 application spans and 100 queries; 100 log events on the spans.
    assert_eq!(converted.spans.len(), 111);
    assert_eq!(
        converted
            .spans
            .iter()
            .map(|s| s.events.len())
            .sum::<usize>(),
        100
    );
    c.bench_function("otel/convert-100-queries-100-logs", |b| {
        b.iter(|| black_box(convert::convert(black_box(&sources))));
    });
}

/// 1,999 application spans (2,000 with the server span): 111 items of 17 fields each under
/// one span, as the browser test's `/large-trace` page makes them.
fn large_recording() -> Recording {
    let subscriber =
        tracing_subscriber::registry().with(ToolbarLayer::filtered(LevelFilter::DEBUG));
    tracing::subscriber::with_default(subscriber, || {
        let recorder = RequestRecorder::new(RecordingLimits::default());
        let span = recorder.open_request_span("GET", "/large-trace");
        let _entered = span.enter();
        let _report = tracing::info_span!("build_report").entered();
        for item in 0..111_u32 {
            let _item = tracing::info_span!("load_item", item).entered();
            for field in 0..17_u32 {
                let _field = tracing::info_span!("load_field", field).entered();
            }
        }
        recorder.finish()
    })
}

fn waterfall_of_2000_spans(c: &mut Criterion) {
    let recording = large_recording();
    let toolbar = Toolbar::builder()
        .without_registered_panels()
        .panel(ProfilingPanel)
        .panel(OtelPanel::new(OtelConfig::builder().build()))
        .build()
        .expect("toolbar builds");
    let request = RequestInfo::new("GET", "/large-trace");
    let response = ResponseInfo::new(200);
    let timing = Timing {
        started_at: SystemTime::now(),
        wall: Duration::from_millis(25),
        cpu: None,
    };
    let record = toolbar
        .record(&FinishedRequest {
            id: RecordId::random().expect("random"),
            request: &request,
            response: &response,
            timing: &timing,
            recording: &recording,
            state: &RequestState::default(),
            layer_attached: true,
        })
        .record;
    let stats = stats_of::<OtelPanel>(&record);
    assert_eq!(stats.spans.len(), 2000);
    assert_eq!(stats.waterfall.groups.len(), 112);
    c.bench_function("otel/waterfall-2000-spans", |b| {
        b.iter(|| black_box(Waterfall::new(black_box(&stats.spans), None)));
    });
    let html = toolbar
        .renderer()
        .panel(&record, "otel", "/__debug_toolbar/")
        .expect("renders")
        .expect("the panel is there");
    eprintln!("the panel of 2,000 spans is {} KiB", html.len() / 1024);
    c.bench_function("otel/render-2000-spans", |b| {
        b.iter(|| {
            black_box(
                toolbar
                    .renderer()
                    .panel(&record, "otel", "/__debug_toolbar/"),
            )
        });
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(5));
    targets = convert_100_queries_and_100_logs, waterfall_of_2000_spans
}
criterion_main!(benches);
