//! Export of received spans: each sending service through exporters of its own, so that its
//! spans keep their `service.name` (an exporter's resource is fixed when it is built).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, UNIX_EPOCH};

use opentelemetry::InstrumentationScope;
use opentelemetry::trace::{Event, SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use crate::config::OtelConfig;
use crate::export::{Pipeline, key_values, span_kind, status};
use crate::receive::ReceivedSpan;

/// Most services given exporters of their own; spans of further services are not exported.
const MAX_SERVICES: usize = 8;

/// The exporters for received spans, by `service.name`, built when a service is first seen.
#[derive(Debug, Default)]
pub(crate) struct Forwarders {
    pipelines: Mutex<HashMap<String, Option<Arc<Pipeline>>>>,
}

impl Forwarders {
    fn pipelines(&self) -> MutexGuard<'_, HashMap<String, Option<Arc<Pipeline>>>> {
        self.pipelines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Hands `spans` to the exporters of their services, building them with `config` (under
    /// the service's name) where needed. Building blocks for a moment.
    pub(crate) fn send(&self, config: &OtelConfig, spans: &[ReceivedSpan]) {
        let mut by_service: HashMap<&str, Vec<SpanData>> = HashMap::new();
        for span in spans {
            if let Some(data) = span_data(span) {
                by_service.entry(&span.service).or_default().push(data);
            }
        }
        for (service, data) in by_service {
            let existing = self.pipelines().get(service).cloned();
            let pipeline = match existing {
                Some(pipeline) => pipeline,
                None => {
                    if self.pipelines().len() >= MAX_SERVICES {
                        continue;
                    }
                    let mut config = config.clone();
                    config.service_name = service.to_owned();
                    // The lock is not held while exporters are built; a service built twice at
                    // once keeps the first.
                    let built = match Pipeline::build(&config) {
                        Ok(pipeline) => pipeline.map(Arc::new),
                        Err(e) => {
                            tracing::warn!(
                                target: "debug_toolbar::otel",
                                "spans received from {service} cannot be exported: {e}"
                            );
                            None
                        }
                    };
                    self.pipelines()
                        .entry(service.to_owned())
                        .or_insert(built)
                        .clone()
                }
            };
            if let Some(pipeline) = pipeline {
                pipeline.send_data(&data);
            }
        }
    }

    /// Stops every exporter it built.
    pub(crate) fn shutdown(&self, timeout: Duration) {
        let pipelines: Vec<Arc<Pipeline>> = self.pipelines().values().flatten().cloned().collect();
        for pipeline in pipelines {
            let _ = pipeline.shutdown(timeout);
        }
    }
}

/// The SDK's form of a received span; `None` when its ids do not parse.
fn span_data(span: &ReceivedSpan) -> Option<SpanData> {
    let trace_id = TraceId::from_hex(&span.trace_id).ok()?;
    let span_id = SpanId::from_hex(&span.span_id).ok()?;
    let at = |nanos: u64| UNIX_EPOCH + Duration::from_nanos(nanos);
    let mut events = SpanEvents::default();
    events.events = span
        .events
        .iter()
        .map(|e| {
            Event::new(
                e.name.clone(),
                at(e.time_unix_nanos),
                key_values(&e.attributes),
                0,
            )
        })
        .collect();
    Some(SpanData {
        span_context: SpanContext::new(
            trace_id,
            span_id,
            TraceFlags::SAMPLED,
            false,
            TraceState::NONE,
        ),
        parent_span_id: span
            .parent_span_id
            .as_deref()
            .and_then(|p| SpanId::from_hex(p).ok())
            .unwrap_or(SpanId::INVALID),
        parent_span_is_remote: false,
        span_kind: span_kind(span.kind),
        name: span.name.clone().into(),
        start_time: at(span.start_unix_nanos),
        end_time: at(span.end_unix_nanos),
        attributes: key_values(&span.attributes),
        dropped_attributes_count: 0,
        events,
        links: SpanLinks::default(),
        status: status(span.error.as_ref()),
        instrumentation_scope: InstrumentationScope::builder("debug-toolbar-receiver").build(),
    })
}
