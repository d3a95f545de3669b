//! W3C Trace Context in and out: the request's trace, decided as it starts.

use debug_toolbar_core::RequestHead;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, SamplingDecision, ShouldSample};

use crate::config::Sampling;
use crate::span::push_hex;

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
    /// Whether the trace id's right-most 7 bytes are random (the Level 2 `random-trace-id`
    /// flag): carried on from the caller, set for the traces started here.
    random: bool,
    /// The caller's `tracestate`, checked and normalised; empty when there is none to carry on.
    tracestate: String,
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

/// The `random-trace-id` bit of `trace-flags` (W3C Trace Context Level 2).
const RANDOM_FLAG: u8 = 0x02;

/// Most list-members a `tracestate` may have.
const MAX_TRACESTATE_MEMBERS: usize = 32;

/// The `tracestate` made of `values` (one list over every header), normalised to its
/// list-members joined by `,`; `None` when it breaks the W3C grammar: a member that is not
/// `key=value` by the specification's rules, or more than 32 members. The specification then
/// has the whole state dropped, not partly carried on. A key that comes again is a duplicate
/// the specification lets a vendor discard: the first member with that key is kept.
pub(crate) fn parse_tracestate(values: &[&str]) -> Option<String> {
    // Each member as (key, `key=value`).
    let mut members: Vec<(&str, &str)> = Vec::new();
    let mut count = 0;
    for member in values.iter().flat_map(|v| v.split(',')) {
        let member = member.trim_matches([' ', '\t']);
        if member.is_empty() {
            continue;
        }
        let (key, value) = member.split_once('=')?;
        if !is_tracestate_key(key) || !is_tracestate_value(value) {
            return None;
        }
        count += 1;
        if count > MAX_TRACESTATE_MEMBERS {
            return None;
        }
        if !members.iter().any(|(k, _)| *k == key) {
            members.push((key, member));
        }
    }
    let members: Vec<&str> = members.into_iter().map(|(_, member)| member).collect();
    Some(members.join(","))
}

/// `( lcalpha / DIGIT ) 0*255 ( lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@" )`: the key
/// grammar of Trace Context Level 2, where a vendor's `@` may stand anywhere but first.
fn is_tracestate_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    key.len() <= 256
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || matches!(b, b'_' | b'-' | b'*' | b'/' | b'@')
        })
}

/// Up to 256 printable ASCII characters but `,` and `=`, not ending in a space (which the
/// caller has trimmed as the list's optional white space).
fn is_tracestate_value(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 256
        && value
            .bytes()
            .all(|b| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=')
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
        let (trace_id, parent, random) = if remote.is_valid() && remote.is_remote() {
            // The SDK keeps only the sampled flag: the random flag is read from the header.
            let random = head
                .header(TRACEPARENT)
                .and_then(|v| v.trim().split('-').nth(3))
                .and_then(|flags| u8::from_str_radix(flags, 16).ok())
                .is_some_and(|flags| flags & RANDOM_FLAG != 0);
            (remote.trace_id(), Some(remote.span_id()), random)
        } else {
            // The SDK's generator makes every byte of a trace id random.
            (ids.new_trace_id(), None, true)
        };
        let result = sampler.should_sample(
            Some(&parent_cx),
            trace_id,
            head.method,
            &SpanKind::Server,
            &[],
            &[],
        );
        let tracestate = match parent {
            Some(_) => parse_tracestate(&head.header_values(TRACESTATE)).unwrap_or_default(),
            None => String::new(),
        };
        Self {
            trace_id,
            span_id: ids.new_span_id(),
            parent,
            sampled: result.decision == SamplingDecision::RecordAndSample,
            random,
            tracestate,
        }
    }

    /// A context with the given ids, e.g. for tests or for a framework integration that
    /// decides ids itself. It does not claim the trace id is random (no `random-trace-id`
    /// flag).
    pub fn new(trace_id: TraceId, span_id: SpanId, parent: Option<SpanId>, sampled: bool) -> Self {
        Self {
            trace_id,
            span_id,
            parent,
            sampled,
            random: false,
            tracestate: String::new(),
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

    /// The vendor trace state carried on from the caller, as OpenTelemetry holds it (which may
    /// refuse keys the W3C grammar allows, and then holds none).
    pub fn trace_state(&self) -> TraceState {
        self.tracestate.parse().unwrap_or_default()
    }

    /// The caller's `tracestate` header, checked and normalised, when there is one to carry on.
    pub fn tracestate(&self) -> Option<&str> {
        (!self.tracestate.is_empty()).then_some(self.tracestate.as_str())
    }

    /// Whether the trace id is marked random (the Level 2 `random-trace-id` flag).
    pub fn is_random(&self) -> bool {
        self.random
    }

    fn flags(&self) -> TraceFlags {
        let mut flags = 0;
        if self.sampled {
            flags |= TraceFlags::SAMPLED.to_u8();
        }
        if self.random {
            flags |= RANDOM_FLAG;
        }
        TraceFlags::new(flags)
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
            self.trace_state(),
        ))
    }

    /// `00-{trace id}-{server span id}-{flags}`: the `traceresponse` header's value.
    pub fn traceresponse(&self) -> String {
        self.traceparent(self.span_id)
    }

    /// `00-{trace id}-{span_id}-{flags}`.
    fn traceparent(&self, span_id: SpanId) -> String {
        let mut value = String::with_capacity(55);
        value.push_str("00-");
        push_hex(&mut value, &self.trace_id.to_bytes());
        value.push('-');
        push_hex(&mut value, &span_id.to_bytes());
        value.push('-');
        push_hex(&mut value, &[self.flags().to_u8()]);
        value
    }

    /// The headers for an outgoing call made while serving the request, as a child of a new
    /// client span whose id is returned with them.
    pub fn outgoing(&self) -> OutgoingContext {
        let span_id = RandomIdGenerator::default().new_span_id();
        let mut headers = vec![(TRACEPARENT, self.traceparent(span_id))];
        if let Some(state) = self.tracestate() {
            headers.push((TRACESTATE, state.to_owned()));
        }
        OutgoingContext {
            span_id: span_id.to_string(),
            headers,
        }
    }
}

#[cfg(test)]
mod tests {

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
            self.header_values(name).len()
        }

        fn header_values(&self, name: &str) -> Vec<&str> {
            self.0
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
                .collect()
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
            format!("00-{}-{}-03", cx.trace_id(), cx.span_id())
        );
    }

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    /// The `tracestate` an outgoing call carries on after a request with `states`.
    fn carried(states: &[&'static str]) -> Option<String> {
        let mut headers = vec![("traceparent", PARENT)];
        headers.extend(states.iter().map(|s| ("tracestate", *s)));
        let cx = context(headers);
        assert_eq!(cx.trace_id().to_string(), TRACE, "the trace goes on");
        let out = cx.outgoing();
        out.headers
            .iter()
            .find(|(name, _)| *name == "tracestate")
            .map(|(_, value)| value.clone())
    }

    #[test]
    fn tracestate_headers_make_one_list() {
        assert_eq!(
            carried(&["foo=1,bar=2", "rojo=1,congo=2"]).as_deref(),
            Some("foo=1,bar=2,rojo=1,congo=2")
        );
        assert_eq!(carried(&["", "foo=1"]).as_deref(), Some("foo=1"));
        assert_eq!(
            carried(&[" foo=1 ,\t, bar=2\t"]).as_deref(),
            Some("foo=1,bar=2")
        );
        assert_eq!(carried(&[]), None);
        assert_eq!(carried(&[""]), None);
    }

    #[test]
    fn tracestate_keys_follow_the_level_2_grammar() {
        let key256 = format!("{}=1", "k".repeat(256));
        let vendor256 = format!("{}@{}=1", "t".repeat(241), "v".repeat(14));
        for valid in [
            "foo=1",
            "a1_-*/=1",
            "0tenant@vendor=1",
            "t@abcdefghijklmno=1",
            "foo@=1",
            "foo@@bar=1",
            "foo@bar@baz=1",
            "t@1vendor=1",
            &key256,
            &vendor256,
        ] {
            let leaked: &'static str = Box::leak(valid.to_owned().into_boxed_str());
            assert_eq!(carried(&[leaked]).as_deref(), Some(valid), "{valid}");
        }
        let key257 = format!("{}=1", "k".repeat(257));
        let vendor257 = format!("{}@v=1", "t".repeat(255));
        for invalid in ["Foo=1", "@foo=1", "_foo=1", "foo!=1", &key257, &vendor257] {
            let with_good: &'static str = Box::leak(format!("good=1,{invalid}").into_boxed_str());
            assert_eq!(carried(&[with_good]), None, "{invalid}");
        }
    }

    #[test]
    fn a_repeated_key_keeps_its_first_member() {
        assert_eq!(carried(&["foo=1,foo=1"]).as_deref(), Some("foo=1"));
        assert_eq!(
            carried(&["foo=1,bar=2,foo=2"]).as_deref(),
            Some("foo=1,bar=2")
        );
        assert_eq!(carried(&["foo=2", "foo=1"]).as_deref(), Some("foo=2"));
    }

    #[test]
    fn the_random_flag_is_carried_on_and_set_for_new_traces() {
        let cx = context(vec![(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02",
        )]);
        assert!(cx.is_random());
        assert!(!cx.is_sampled());
        let out = cx.outgoing();
        assert_eq!(
            out.headers[0],
            ("traceparent", format!("00-{TRACE}-{}-02", out.span_id))
        );
        let cx = context(vec![("traceparent", PARENT)]);
        assert!(!cx.is_random(), "not claimed when the caller did not");
        assert!(cx.traceresponse().ends_with("-01"));
        let cx = context(vec![]);
        assert!(cx.is_random());
        assert!(cx.traceresponse().ends_with("-03"), "sampled and random");
    }

    #[test]
    fn a_tracestate_breaking_the_rules_is_dropped_whole() {
        for state in ["foo=", "foo=bar=baz", "foo=\u{7f}", "foo"] {
            let state: &'static str = Box::leak(format!("{state},bar=2").into_boxed_str());
            assert_eq!(carried(&[state]), None, "{state}");
        }
        let value256 = format!("foo={}", "v".repeat(256));
        assert_eq!(
            parse_tracestate(&[&value256]).as_deref(),
            Some(value256.as_str())
        );
        assert_eq!(
            parse_tracestate(&[&format!("foo={}", "v".repeat(257))]),
            None
        );
        let members = |n: usize| {
            (0..n)
                .map(|i| format!("k{i}=v"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let thirty_two = members(32);
        assert_eq!(
            parse_tracestate(&[&thirty_two]).as_deref(),
            Some(thirty_two.as_str())
        );
        assert_eq!(parse_tracestate(&[&members(33)]), None);
        let repeated = format!("{thirty_two},k0=v");
        assert_eq!(
            parse_tracestate(&[&repeated]),
            None,
            "33 members, one repeated"
        );
        let (first, second) = thirty_two.split_at(thirty_two.find(",k16").unwrap());
        assert_eq!(
            parse_tracestate(&[first, &second[1..]]).as_deref(),
            Some(thirty_two.as_str()),
            "32 members over two headers"
        );
    }
}
