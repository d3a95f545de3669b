//! Spans received for a request's trace joined into its waterfall when its record is read, and
//! a request's own spans in the form another request of the same trace receives them.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::convert;
use crate::panel::{OtelStats, ReceivedView};
use crate::receive::ReceivedSpan;
use crate::span::{Category, Kind, SpanEvent, SpanRecord};
use crate::waterfall::Waterfall;

/// Nanoseconds since the Unix epoch (0 before it).
pub(crate) fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Milliseconds from `origin` to `t`, both in nanoseconds since the Unix epoch.
fn offset_ms(origin: u64, t: u64) -> f64 {
    if t >= origin {
        Duration::from_nanos(t - origin).as_secs_f64() * 1000.0
    } else {
        -(Duration::from_nanos(origin - t).as_secs_f64() * 1000.0)
    }
}

/// What a received span stands for in the waterfall, from its kind and attributes.
fn category(span: &ReceivedSpan) -> Category {
    let has = |key: &str| span.attributes.iter().any(|a| a.key == key);
    match span.kind {
        Kind::Server => Category::Server,
        _ if has("db.system") || has("db.system.name") => Category::Db,
        Kind::Client if has("http.request.method") || has("http.method") => Category::Http,
        _ => Category::Internal,
    }
}

impl OtelStats {
    /// Joins spans received for this trace into the waterfall: those whose id is not shown
    /// yet become rows under their parents, marked with their service, and are counted in
    /// [`OtelStats::received`]; `dropped` is how many of the trace's spans the receiver could
    /// not keep. Stats recorded without their start
    /// time are left as they are.
    pub fn join(&mut self, received: &[ReceivedSpan], dropped: u64) {
        self.received = ReceivedView { spans: 0, dropped };
        if self.started_unix_nanos == 0 {
            return;
        }
        let origin = self.started_unix_nanos;
        let mut shown: HashSet<String> = self.spans.iter().map(|s| s.span_id.clone()).collect();
        let mut spans = std::mem::take(&mut self.spans);
        for span in received {
            if !shown.insert(span.span_id.clone()) {
                continue;
            }
            self.received.spans += 1;
            let start_ms = offset_ms(origin, span.start_unix_nanos);
            spans.push(SpanRecord {
                span_id: span.span_id.clone(),
                parent_span_id: span.parent_span_id.clone(),
                name: span.name.clone(),
                kind: span.kind,
                category: category(span),
                start_ms,
                duration_ms: (offset_ms(origin, span.end_unix_nanos) - start_ms).max(0.0),
                depth: 0,
                attributes: span.attributes.clone(),
                events: span
                    .events
                    .iter()
                    .map(|e| SpanEvent {
                        name: e.name.clone(),
                        offset_ms: offset_ms(origin, e.time_unix_nanos),
                        level: None,
                        attributes: e.attributes.clone(),
                        left_pct: 0.0,
                    })
                    .collect(),
                error: span.error.clone(),
                captured: false,
                service: Some(span.service.clone()),
                left_pct: 0.0,
                width_pct: 0.0,
            });
        }
        let first = spans.iter().map(|s| s.start_ms).fold(0.0, f64::min);
        self.total_ms = spans
            .iter()
            .map(|s| s.start_ms + s.duration_ms)
            .fold(self.total_ms, f64::max)
            - first;
        self.spans = convert::layout(spans, 0.0);
        self.waterfall = Waterfall::new(&self.spans, self.parent_span_id.as_deref());
    }

    /// This request's spans (the captured ones too) as a request of the same trace receives
    /// them, under `service`: how a callee served by this toolbar joins its caller's waterfall.
    pub fn received_form(&self, service: &str) -> Vec<ReceivedSpan> {
        if self.started_unix_nanos == 0 {
            return Vec::new();
        }
        let at = |ms: f64| {
            let nanos = (ms * 1e6).round();
            if nanos >= 0.0 {
                self.started_unix_nanos.saturating_add(nanos as u64)
            } else {
                self.started_unix_nanos.saturating_sub((-nanos) as u64)
            }
        };
        self.spans
            .iter()
            .filter(|s| s.service.is_none())
            .map(|s| ReceivedSpan {
                trace_id: self.trace_id.clone(),
                span_id: s.span_id.clone(),
                parent_span_id: s.parent_span_id.clone(),
                name: s.name.clone(),
                kind: s.kind,
                service: service.to_owned(),
                start_unix_nanos: at(s.start_ms),
                end_unix_nanos: at(s.start_ms + s.duration_ms),
                attributes: s.attributes.clone(),
                events: s
                    .events
                    .iter()
                    .map(|e| crate::receive::ReceivedEvent {
                        name: e.name.clone(),
                        time_unix_nanos: at(e.offset_ms),
                        attributes: e.attributes.clone(),
                    })
                    .collect(),
                error: s.error.clone(),
            })
            .collect()
    }
}
