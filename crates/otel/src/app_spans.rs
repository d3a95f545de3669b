//! Spans the application makes with OpenTelemetry itself, shown in the waterfall.
//!
//! An application that already creates OpenTelemetry spans (through `tracing-opentelemetry` or
//! the `opentelemetry` API) adds [`CaptureProcessor`] to its own tracer provider. The processor
//! keeps a copy of every span that belongs to a trace the toolbar is serving right now, and the
//! panel draws those spans next to its own. They are not exported again: the application's own
//! exporters already send them.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use opentelemetry::Context;
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use crate::span::{Attribute, AttributeValue, Category, Kind, SpanEvent, SpanRecord};

/// Most traces watched at once; the oldest is forgotten past this.
const MAX_TRACES: usize = 1024;
/// Most spans kept per trace.
const MAX_SPANS_PER_TRACE: usize = 500;

#[derive(Default)]
struct Watched {
    traces: HashMap<TraceId, Vec<SpanData>>,
    order: VecDeque<TraceId>,
}

/// The traces being served and the spans captured for them; shared by the panel and the
/// processors it hands out.
#[derive(Clone, Default)]
pub(crate) struct Capture {
    watched: Arc<Mutex<Watched>>,
}

impl Capture {
    /// Starts keeping the spans of `trace`.
    pub(crate) fn watch(&self, trace: TraceId) {
        let Ok(mut w) = self.watched.lock() else {
            return;
        };
        if w.traces.contains_key(&trace) {
            return;
        }
        if w.order.len() >= MAX_TRACES
            && let Some(oldest) = w.order.pop_front()
        {
            w.traces.remove(&oldest);
        }
        w.traces.insert(trace, Vec::new());
        w.order.push_back(trace);
    }

    /// Stops watching `trace` and returns what was captured for it.
    pub(crate) fn take(&self, trace: TraceId) -> Vec<SpanData> {
        let Ok(mut w) = self.watched.lock() else {
            return Vec::new();
        };
        w.order.retain(|t| *t != trace);
        w.traces.remove(&trace).unwrap_or_default()
    }

    fn offer(&self, span: SpanData) {
        let Ok(mut w) = self.watched.lock() else {
            return;
        };
        if let Some(spans) = w.traces.get_mut(&span.span_context.trace_id())
            && spans.len() < MAX_SPANS_PER_TRACE
        {
            spans.push(span);
        }
    }
}

/// A span processor for the application's own tracer provider: it shows the application's
/// OpenTelemetry spans of the requests the toolbar serves in the toolbar's waterfall (see the
/// module docs). Get one from [`crate::OtelPanel::span_processor`].
///
/// Spans end up in the toolbar's trace when their parent is the request's server span: make
/// them children of [`crate::TraceContext::context`] (with `tracing-opentelemetry`,
/// `span.set_parent(trace.context())`).
#[derive(Clone)]
pub struct CaptureProcessor {
    capture: Capture,
}

impl fmt::Debug for CaptureProcessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureProcessor").finish_non_exhaustive()
    }
}

impl CaptureProcessor {
    pub(crate) fn new(capture: Capture) -> Self {
        Self { capture }
    }
}

impl SpanProcessor for CaptureProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        self.capture.offer(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

fn millis_since(start: SystemTime, t: SystemTime) -> f64 {
    match t.duration_since(start) {
        Ok(d) => d.as_secs_f64() * 1000.0,
        Err(e) => -(e.duration().as_secs_f64() * 1000.0),
    }
}

/// An attribute's text as the waterfall may show it (see [`debug_toolbar_core::redact`]).
fn masked(key: &str, value: &str) -> String {
    debug_toolbar_core::redact::mask_value(key, value).into_owned()
}

/// The waterfall's form of a captured span; `started_at` is the request's start.
pub(crate) fn record(span: &SpanData, started_at: SystemTime) -> SpanRecord {
    let start_ms = millis_since(started_at, span.start_time);
    let end_ms = millis_since(started_at, span.end_time);
    let kind = match span.span_kind {
        SpanKind::Server => Kind::Server,
        SpanKind::Client | SpanKind::Producer => Kind::Client,
        SpanKind::Internal | SpanKind::Consumer => Kind::Internal,
    };
    let mut attributes: Vec<Attribute> = span
        .attributes
        .iter()
        .map(|kv| {
            let value = match &kv.value {
                opentelemetry::Value::Bool(b) => AttributeValue::Bool(*b),
                opentelemetry::Value::I64(i) => AttributeValue::Int(*i),
                opentelemetry::Value::F64(f) => AttributeValue::Float(*f),
                other => AttributeValue::Str(masked(kv.key.as_str(), &other.as_str())),
            };
            Attribute {
                key: kv.key.as_str().to_owned().into(),
                value,
            }
        })
        .collect();
    attributes.push(Attribute::new(
        "otel.scope.name",
        span.instrumentation_scope.name(),
    ));
    SpanRecord {
        span_id: span.span_context.span_id().to_string(),
        parent_span_id: (span.parent_span_id != SpanId::INVALID)
            .then(|| span.parent_span_id.to_string()),
        name: span.name.to_string(),
        kind,
        category: if kind == Kind::Server {
            Category::Server
        } else {
            Category::Internal
        },
        start_ms,
        duration_ms: (end_ms - start_ms).max(0.0),
        depth: 0,
        attributes,
        events: span
            .events
            .iter()
            .map(|e| SpanEvent {
                name: e.name.to_string(),
                offset_ms: millis_since(started_at, e.timestamp),
                level: None,
                attributes: e
                    .attributes
                    .iter()
                    .map(|kv| {
                        let value = masked(kv.key.as_str(), &kv.value.as_str());
                        Attribute::new(kv.key.as_str().to_owned(), value)
                    })
                    .collect(),
                left_pct: 0.0,
            })
            .collect(),
        error: match &span.status {
            Status::Error { description } => Some(description.to_string()),
            _ => None,
        },
        captured: true,
        service: None,
        left_pct: 0.0,
        width_pct: 0.0,
    }
}

#[cfg(test)]
mod tests {

    use opentelemetry::trace::{Event, SpanContext, TraceFlags, TraceState};
    use opentelemetry::{InstrumentationScope, KeyValue};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

    use super::*;

    const TRACE: TraceId = TraceId::from_bytes([7; 16]);

    fn span(
        trace: TraceId,
        id: u8,
        kind: SpanKind,
        start: SystemTime,
        end: SystemTime,
    ) -> SpanData {
        SpanData {
            span_context: SpanContext::new(
                trace,
                SpanId::from_bytes([id; 8]),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: kind,
            name: format!("span {id}").into(),
            start_time: start,
            end_time: end,
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: InstrumentationScope::builder("my-app").build(),
        }
    }

    #[test]
    fn captured_spans_keep_their_kind_attributes_events_and_status() {
        let request = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let ms = |n: u64| request + Duration::from_millis(n);
        let mut data = span(TRACE, 1, SpanKind::Producer, ms(2), ms(5));
        data.parent_span_id = SpanId::from_bytes([9; 8]);
        data.attributes = vec![
            KeyValue::new("ok", true),
            KeyValue::new("items", 3_i64),
            KeyValue::new("ratio", 0.5),
            KeyValue::new("queue", "orders"),
        ];
        data.events.events = vec![Event::new(
            "queued early",
            request - Duration::from_millis(1),
            vec![KeyValue::new("depth", 4_i64)],
            0,
        )];
        data.status = Status::error("broker down");
        let record = record(&data, request);
        assert_eq!(record.span_id, SpanId::from_bytes([1; 8]).to_string());
        assert_eq!(record.parent_span_id, Some("0909090909090909".to_owned()));
        assert_eq!(
            (record.kind, record.category),
            (Kind::Client, Category::Internal)
        );
        assert!((record.start_ms - 2.0).abs() < 1e-9 && (record.duration_ms - 3.0).abs() < 1e-9);
        let attributes: Vec<(&str, &AttributeValue)> = record
            .attributes
            .iter()
            .map(|a| (a.key.as_ref(), &a.value))
            .collect();
        assert_eq!(
            attributes,
            [
                ("ok", &AttributeValue::Bool(true)),
                ("items", &AttributeValue::Int(3)),
                ("ratio", &AttributeValue::Float(0.5)),
                ("queue", &AttributeValue::from("orders")),
                ("otel.scope.name", &AttributeValue::from("my-app")),
            ]
        );
        let event = &record.events[0];
        assert_eq!(event.name, "queued early");
        assert!(
            (event.offset_ms + 1.0).abs() < 1e-9,
            "before the request: {event:?}"
        );
        assert_eq!(event.attributes[0].value, AttributeValue::from("4"));
        assert_eq!(record.error.as_deref(), Some("broker down"));
        assert!(record.captured);

        let kinds = [
            (SpanKind::Server, Kind::Server, Category::Server),
            (SpanKind::Client, Kind::Client, Category::Internal),
            (SpanKind::Consumer, Kind::Internal, Category::Internal),
            (SpanKind::Internal, Kind::Internal, Category::Internal),
        ];
        for (sdk, kind, category) in kinds {
            let record = super::record(&span(TRACE, 2, sdk.clone(), ms(0), ms(1)), request);
            assert_eq!((record.kind, record.category), (kind, category), "{sdk:?}");
            assert_eq!(record.parent_span_id, None);
            assert_eq!(record.error, None);
        }
    }

    #[test]
    fn only_watched_traces_are_kept_until_taken() {
        let capture = Capture::default();
        let processor = CaptureProcessor::new(capture.clone());
        let now = SystemTime::now();
        let other = TraceId::from_bytes([8; 16]);
        capture.watch(TRACE);
        capture.watch(TRACE);
        processor.on_end(span(TRACE, 1, SpanKind::Internal, now, now));
        processor.on_end(span(other, 2, SpanKind::Internal, now, now));
        assert!(processor.force_flush().is_ok());
        let taken = capture.take(TRACE);
        assert_eq!(taken.len(), 1, "watching twice keeps one list");
        assert_eq!(taken[0].name, "span 1");
        assert!(capture.take(TRACE).is_empty(), "taken once");
        processor.on_end(span(TRACE, 3, SpanKind::Internal, now, now));
        assert!(capture.take(TRACE).is_empty(), "no longer watched");
        assert!(
            processor
                .shutdown_with_timeout(Duration::from_secs(1))
                .is_ok()
        );
        assert_eq!(format!("{processor:?}"), "CaptureProcessor { .. }");
    }

    #[test]
    fn watching_is_bounded_per_trace_and_in_traces() {
        let capture = Capture::default();
        let processor = CaptureProcessor::new(capture.clone());
        let now = SystemTime::now();
        capture.watch(TRACE);
        for _ in 0..MAX_SPANS_PER_TRACE + 10 {
            processor.on_end(span(TRACE, 1, SpanKind::Internal, now, now));
        }
        for n in 0..MAX_TRACES {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&(n as u64 + 1).to_be_bytes());
            capture.watch(TraceId::from_bytes(id));
        }
        assert!(
            capture.take(TRACE).is_empty(),
            "the oldest trace is forgotten past {MAX_TRACES}"
        );
        capture.watch(TRACE);
        for _ in 0..MAX_SPANS_PER_TRACE + 10 {
            processor.on_end(span(TRACE, 1, SpanKind::Internal, now, now));
        }
        assert_eq!(capture.take(TRACE).len(), MAX_SPANS_PER_TRACE);
    }
}
