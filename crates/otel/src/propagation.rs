//! W3C Trace Context in and out: the request's trace, decided as it starts.

use debug_toolbar_core::RequestHead;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, SamplingDecision, ShouldSample};

use crate::config::Sampling;

/// Request header carrying the caller's trace and span (W3C Trace Context).
pub const TRACEPARENT: &str = "traceparent";
/// Request header carrying vendor-specific trace state (W3C Trace Context).
pub const TRACESTATE: &str = "tracestate";
/// Response header naming the trace and the server span that answered (W3C Trace Context
/// Level 2).
pub const TRACERESPONSE: &str = "traceresponse";

/// The trace a served request belongs to, decided as the request starts.
///
/// A valid incoming `traceparent` is continued (same trace id, the caller's span as parent);
/// a missing, malformed or unsupported one starts a new trace. Handlers read it with
/// `actix_debug_toolbar::request_state(&req)` and `state.get::<TraceContext>()`.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceContext {
    trace_id: TraceId,
    span_id: SpanId,
    parent: Option<SpanId>,
    sampled: bool,
    trace_state: TraceState,
}

/// An outgoing call's trace context: the client span's id and the headers to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingContext {
    /// The id of the client span the call is recorded as; the callee's parent.
    pub span_id: String,
    /// `traceparent` and, when there is state, `tracestate`.
    pub headers: Vec<(&'static str, String)>,
}

/// Reads request headers for the SDK's propagator, after checking their shape.
struct HeadExtractor<'a, 'b>(&'a RequestHead<'b>);

impl Extractor for HeadExtractor<'_, '_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.header(key)
    }

    fn keys(&self) -> Vec<&str> {
        [TRACEPARENT, TRACESTATE]
            .into_iter()
            .filter(|k| self.0.header(k).is_some())
            .collect()
    }
}

/// Collects the headers the SDK's propagator writes.
struct VecInjector(Vec<(&'static str, String)>);

impl Injector for VecInjector {
    fn set(&mut self, key: &str, value: String) {
        let key = match key {
            TRACEPARENT => TRACEPARENT,
            TRACESTATE => TRACESTATE,
            _ => return,
        };
        if !value.is_empty() {
            self.0.push((key, value));
        }
    }
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether `value` has the shape of a `traceparent` this implementation accepts: lower-case
/// hex fields of exactly the right lengths, a version other than `ff`, and for version `00`
/// exactly four fields. The SDK's propagator then checks the ids are not zero.
pub(crate) fn is_well_formed(value: &str) -> bool {
    let mut parts = value.split('-');
    let (Some(version), Some(trace), Some(span), Some(flags)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    if !is_lower_hex(version, 2) || version == "ff" {
        return false;
    }
    let rest: Vec<&str> = parts.collect();
    if version == "00" && !rest.is_empty() {
        return false;
    }
    is_lower_hex(trace, 32) && is_lower_hex(span, 16) && is_lower_hex(flags, 2)
}

/// The SDK sampler for a [`Sampling`].
pub(crate) fn sdk_sampler(sampling: Sampling) -> opentelemetry_sdk::trace::Sampler {
    use opentelemetry_sdk::trace::Sampler;
    match sampling {
        Sampling::AlwaysOn => Sampler::AlwaysOn,
        Sampling::AlwaysOff => Sampler::AlwaysOff,
        Sampling::TraceIdRatio(r) => Sampler::TraceIdRatioBased(r),
        Sampling::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        Sampling::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        Sampling::ParentBasedTraceIdRatio(r) => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(r)))
        }
    }
}

impl TraceContext {
    /// The trace of a request starting with `head`: the incoming W3C context continued when it
    /// is valid, else a new trace; sampled as `sampler` decides.
    pub fn from_request(head: &RequestHead<'_>, sampler: &dyn ShouldSample) -> Self {
        let ids = RandomIdGenerator::default();
        // A repeated traceparent is invalid (W3C Trace Context): start a new trace.
        let well_formed = head.header_count(TRACEPARENT) == 1
            && head
                .header(TRACEPARENT)
                .is_some_and(|v| is_well_formed(v.trim()));
        let parent_cx = if well_formed {
            TraceContextPropagator::new().extract(&HeadExtractor(head))
        } else {
            opentelemetry::Context::new()
        };
        let remote = parent_cx.span().span_context().clone();
        let (trace_id, parent) = if remote.is_valid() && remote.is_remote() {
            (remote.trace_id(), Some(remote.span_id()))
        } else {
            (ids.new_trace_id(), None)
        };
        let result = sampler.should_sample(
            Some(&parent_cx),
            trace_id,
            head.method,
            &SpanKind::Server,
            &[],
            &[],
        );
        Self {
            trace_id,
            span_id: ids.new_span_id(),
            parent,
            sampled: result.decision == SamplingDecision::RecordAndSample,
            trace_state: if parent.is_some() {
                result.trace_state
            } else {
                TraceState::default()
            },
        }
    }

    /// A context with the given ids, e.g. for tests or for a framework integration that
    /// decides ids itself.
    pub fn new(trace_id: TraceId, span_id: SpanId, parent: Option<SpanId>, sampled: bool) -> Self {
        Self {
            trace_id,
            span_id,
            parent,
            sampled,
            trace_state: TraceState::default(),
        }
    }

    /// The trace id.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The id of the request's server span.
    pub fn span_id(&self) -> SpanId {
        self.span_id
    }

    /// The caller's span, when the request continued an incoming trace.
    pub fn parent_span_id(&self) -> Option<SpanId> {
        self.parent
    }

    /// Whether the trace is sampled: its spans are exported.
    pub fn is_sampled(&self) -> bool {
        self.sampled
    }

    /// The vendor trace state carried on from the caller.
    pub fn trace_state(&self) -> &TraceState {
        &self.trace_state
    }

    fn flags(&self) -> TraceFlags {
        if self.sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        }
    }

    /// An OpenTelemetry context whose span is the request's server span, as a parent for spans
    /// the application makes with OpenTelemetry itself (e.g. `tracing-opentelemetry`'s
    /// `set_parent`), so that they join the toolbar's trace.
    pub fn context(&self) -> opentelemetry::Context {
        opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
            self.trace_id,
            self.span_id,
            self.flags(),
            true,
            self.trace_state.clone(),
        ))
    }

    /// `00-{trace id}-{server span id}-{flags}`: the `traceresponse` header's value.
    pub fn traceresponse(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            self.trace_id,
            self.span_id,
            self.flags().to_u8()
        )
    }

    /// The headers for an outgoing call made while serving the request, as a child of a new
    /// client span whose id is returned with them.
    pub fn outgoing(&self) -> OutgoingContext {
        let span_id = RandomIdGenerator::default().new_span_id();
        let span_context = SpanContext::new(
            self.trace_id,
            span_id,
            self.flags(),
            false,
            self.trace_state.clone(),
        );
        let cx = opentelemetry::Context::new().with_remote_span_context(span_context);
        let mut injector = VecInjector(Vec::with_capacity(2));
        TraceContextPropagator::new().inject_context(&cx, &mut injector);
        OutgoingContext {
            span_id: span_id.to_string(),
            headers: injector.0,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::SystemTime;

    use debug_toolbar_core::HeaderLookup;

    use super::*;

    struct Headers(Vec<(&'static str, &'static str)>);

    impl HeaderLookup for Headers {
        fn header(&self, name: &str) -> Option<&str> {
            self.0
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        }

        fn header_count(&self, name: &str) -> usize {
            self.0
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .count()
        }
    }

    fn context(headers: Vec<(&'static str, &'static str)>) -> TraceContext {
        let headers = Headers(headers);
        let head = RequestHead::new("GET", "/", SystemTime::now(), &headers);
        TraceContext::from_request(&head, &sdk_sampler(Sampling::ParentBasedAlwaysOn))
    }

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN: &str = "00f067aa0ba902b7";

    #[test]
    fn a_valid_traceparent_is_continued() {
        let cx = context(vec![
            (
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            ("tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"),
        ]);
        assert_eq!(cx.trace_id().to_string(), TRACE);
        assert_eq!(cx.parent_span_id().unwrap().to_string(), SPAN);
        assert_ne!(cx.span_id().to_string(), SPAN);
        assert!(cx.is_sampled());
        assert_eq!(
            cx.trace_state().header(),
            "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
        );
        let out = cx.outgoing();
        assert_eq!(
            out.headers[0],
            ("traceparent", format!("00-{TRACE}-{}-01", out.span_id))
        );
        assert_eq!(out.headers[1].0, "tracestate");
    }

    #[test]
    fn an_unsampled_parent_is_followed() {
        let cx = context(vec![(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
        )]);
        assert!(!cx.is_sampled());
        assert!(cx.traceresponse().ends_with("-00"));
    }

    #[test]
    fn a_higher_version_with_extra_fields_is_continued() {
        let cx = context(vec![(
            "traceparent",
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds",
        )]);
        assert_eq!(cx.trace_id().to_string(), TRACE);
    }

    #[test]
    fn malformed_traceparents_start_a_new_trace() {
        let cases = [
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
            "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
            "",
            "garbage",
        ];
        for header in cases {
            let cx = context(vec![("traceparent", header), ("tracestate", "a=b")]);
            assert_ne!(cx.trace_id().to_string(), TRACE, "{header}");
            assert_eq!(cx.parent_span_id(), None, "{header}");
            assert!(
                cx.is_sampled(),
                "new traces are sampled by default: {header}"
            );
            assert_eq!(cx.trace_state().header(), "", "{header}");
        }
    }

    #[test]
    fn a_repeated_traceparent_starts_a_new_trace() {
        let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let cx = context(vec![("traceparent", valid), ("traceparent", valid)]);
        assert_ne!(cx.trace_id().to_string(), TRACE);
        assert_eq!(cx.parent_span_id(), None);
    }

    #[test]
    fn traceresponse_names_the_server_span() {
        let cx = context(vec![]);
        assert_eq!(
            cx.traceresponse(),
            format!("00-{}-{}-01", cx.trace_id(), cx.span_id())
        );
    }
}
