//! Typed panel stats to spans.
//!
//! The request becomes one server span named `{method} {route pattern}`; the SQL panel's
//! queries become client spans with the database conventions, at their recorded start and end;
//! the Logging panel's records become events on the span they were emitted in; template renders
//! (Templates panel) and the application's own `tracing` spans (Profiling panel) become internal
//! spans with their parent/child structure; outgoing calls made through the toolbar's client
//! helper become client spans whose ids are the ones sent in `traceparent`.
//!
//! A panel that is not compiled in, or switched off, simply contributes nothing.

use std::collections::HashMap;
use std::time::Duration;

use debug_toolbar_core::{FieldValue, Recording, RequestInfo, ResponseInfo, Timing};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
use opentelemetry_semantic_conventions::attribute as semconv;

use crate::propagation::TraceContext;
use crate::span::{Attribute, Category, Kind, Positions, SpanEvent, SpanRecord, hex_id};

/// Name of the `tracing` span the client helpers open around an outgoing call.
pub const CLIENT_SPAN_NAME: &str = "http.client";
/// Target of the client helpers' spans and events.
pub const CLIENT_TARGET: &str = "debug_toolbar::otel";
/// Field holding the client span id sent in `traceparent` (16 hex digits).
pub const SPAN_ID_FIELD: &str = "otel.span_id";
/// Message of the event recorded when headers are made for a call sent without a span.
pub const INJECT_MESSAGE: &str = "trace context injected";

/// Most spans kept for one request; the rest are counted.
pub const MAX_SPANS: usize = 2000;

/// Where the spans of a request come from: the finished request and the stats of the panels
/// that ran before the OpenTelemetry panel.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// The request.
    pub request: &'a RequestInfo,
    /// The response.
    pub response: &'a ResponseInfo,
    /// Start and wall time.
    pub timing: &'a Timing,
    /// What the toolbar's layer recorded (span structure, and where events happened).
    pub recording: &'a Recording,
    /// The trace decided as the request started.
    pub trace: &'a TraceContext,
    /// Spans the application made with OpenTelemetry itself in this trace
    /// ([`crate::CaptureProcessor`]); shown, not exported.
    pub captured: &'a [SpanRecord],
    /// The Timer panel's stats.
    #[cfg(feature = "timer")]
    pub timer: Option<&'a debug_toolbar_panels::TimerStats>,
    /// The SQL panel's stats.
    #[cfg(feature = "sql")]
    pub sql: Option<&'a debug_toolbar_panels::SqlStats>,
    /// The Logging panel's stats.
    #[cfg(feature = "logging")]
    pub logging: Option<&'a debug_toolbar_panels::LoggingStats>,
    /// The Templates panel's stats.
    #[cfg(feature = "templates")]
    pub templates: Option<&'a debug_toolbar_panels::TemplatesStats>,
    /// The Profiling panel's stats.
    #[cfg(feature = "profiling")]
    pub profiling: Option<&'a debug_toolbar_panels::ProfilingStats>,
}

/// The spans of one request, server span first, then depth-first by start time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Converted {
    /// The spans.
    pub spans: Vec<SpanRecord>,
    /// Spans past [`MAX_SPANS`].
    pub not_shown: usize,
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Builds the spans of a request.
pub fn convert(sources: &Sources<'_>) -> Converted {
    let ids = RandomIdGenerator::default();
    let recording = sources.recording;
    #[cfg(feature = "timer")]
    let request_ms = sources
        .timer
        .map_or_else(|| millis(sources.timing.wall), |timer| timer.total_ms);
    #[cfg(not(feature = "timer"))]
    let request_ms = millis(sources.timing.wall);
    let mut spans = vec![server_span(sources, request_ms)];

    // Recorded spans that become spans of the trace, by index in the recording.
    let mut converted: Vec<Option<usize>> = vec![None; recording.spans.len()];
    let include_all = profiling_on(sources);
    let renders = template_renders(sources);
    for (index, recorded) in recording.spans.iter().enumerate() {
        let name = recorded.metadata.name();
        let target = recorded.metadata.target();
        let is_client = name == CLIENT_SPAN_NAME && target == CLIENT_TARGET;
        let render = renders.get(&index);
        if !(is_client || include_all || render.is_some()) {
            continue;
        }
        if spans.len() >= MAX_SPANS {
            continue;
        }
        let parent = parent_id(&spans, &converted, recording, recorded.parent);
        let start_ms = millis(recorded.start);
        let end_ms = recorded.end.map_or(request_ms.max(start_ms), millis);
        let mut span = SpanRecord {
            span_id: String::new(),
            parent_span_id: Some(parent),
            name: name.to_owned(),
            kind: Kind::Internal,
            category: Category::Internal,
            start_ms,
            duration_ms: (end_ms - start_ms).max(0.0),
            depth: 0,
            attributes: Vec::new(),
            events: Vec::new(),
            error: None,
            captured: false,
            service: None,
            left_pct: 0.0,
            width_pct: 0.0,
        };
        if is_client {
            client_span(&mut span, recorded);
        } else {
            for (key, value) in &recorded.fields {
                span.attributes.push(Attribute::new(*key, value));
            }
            // A span that names its code location (a render names the application's call
            // site) keeps it; otherwise the span's own callsite is the location.
            if recorded.field(semconv::CODE_FILE_PATH).is_none() {
                if let Some(file) = recorded.metadata.file() {
                    span.attributes
                        .push(Attribute::new(semconv::CODE_FILE_PATH, file));
                }
                if let Some(line) = recorded.metadata.line() {
                    span.attributes
                        .push(Attribute::new(semconv::CODE_LINE_NUMBER, i64::from(line)));
                }
            }
            if recorded.end.is_none() {
                span.attributes
                    .push(Attribute::new("debug_toolbar.open_at_response", true));
            }
        }
        if let Some(render) = render {
            span.category = Category::Template;
            span.name = format!("render {}", render.name);
            span.attributes
                .push(Attribute::new("template.engine", render.engine));
            span.error.clone_from(render.error);
        }
        if span.span_id.is_empty() {
            span.span_id = hex_id(&ids.new_span_id().to_bytes());
        }
        converted[index] = Some(spans.len());
        spans.push(span);
    }

    let mut not_shown = 0;
    add_queries(sources, &mut spans, &converted, &mut not_shown);
    add_injected_calls(sources, &mut spans, &converted, request_ms);
    add_log_events(sources, &mut spans, &converted);
    for span in sources.captured {
        if spans.len() >= MAX_SPANS {
            not_shown += 1;
        } else if !spans.iter().any(|s| s.span_id == span.span_id) {
            spans.push(span.clone());
        }
    }
    not_shown += recording
        .spans
        .iter()
        .enumerate()
        .filter(|(i, s)| {
            converted[*i].is_none() && (include_all || (s.metadata.name() == CLIENT_SPAN_NAME))
        })
        .count();
    let spans = layout(spans, request_ms);
    Converted { spans, not_shown }
}

#[cfg_attr(
    not(feature = "profiling"),
    expect(
        unused_variables,
        reason = "only the profiling feature reads the sources"
    )
)]
fn profiling_on(sources: &Sources<'_>) -> bool {
    #[cfg(feature = "profiling")]
    {
        sources.profiling.is_some()
    }
    #[cfg(not(feature = "profiling"))]
    {
        false
    }
}

/// What a recorded span the Templates panel lists as a render contributes.
struct Render<'a> {
    name: &'a str,
    engine: &'a str,
    error: &'a Option<String>,
}

/// The renders the Templates panel listed, by the index of their span in the recording;
/// empty when it did not run.
#[cfg_attr(
    not(feature = "templates"),
    expect(unused_variables, reason = "the Templates panel is not compiled in")
)]
fn template_renders<'a>(sources: &Sources<'a>) -> HashMap<usize, Render<'a>> {
    #[cfg(feature = "templates")]
    {
        sources
            .templates
            .iter()
            .flat_map(|t| &t.renders)
            .map(|r| {
                let render = Render {
                    name: &r.name,
                    engine: &r.engine,
                    error: &r.error,
                };
                (r.span_index, render)
            })
            .collect()
    }
    #[cfg(not(feature = "templates"))]
    {
        HashMap::new()
    }
}

/// The span id events and children of recorded span `index` go to: its own when it was
/// converted, else its nearest converted ancestor's, else the server span's.
fn parent_id(
    spans: &[SpanRecord],
    converted: &[Option<usize>],
    recording: &Recording,
    mut index: Option<usize>,
) -> String {
    spans[owner(converted, recording, &mut index)]
        .span_id
        .clone()
}

/// Index in the span list of the span owning recorded span `index` (0: the server span).
fn owner(converted: &[Option<usize>], recording: &Recording, index: &mut Option<usize>) -> usize {
    while let Some(i) = *index {
        if let Some(Some(position)) = converted.get(i) {
            return *position;
        }
        *index = recording.spans.get(i).and_then(|s| s.parent);
    }
    0
}

fn server_span(sources: &Sources<'_>, request_ms: f64) -> SpanRecord {
    let request = sources.request;
    let status = sources.response.status;
    let method = request.method.clone();
    let name = match &request.route_pattern {
        Some(route) => format!("{method} {route}"),
        None => method.clone(),
    };
    // Room for every attribute a server span may get, so that the list is not grown.
    let mut attributes = Vec::with_capacity(12);
    attributes.push(Attribute::new(semconv::HTTP_REQUEST_METHOD, method));
    attributes.push(Attribute::new(semconv::URL_PATH, request.path.clone()));
    if !request.query_string.is_empty() {
        attributes.push(Attribute::new(
            semconv::URL_QUERY,
            request.query_string.clone(),
        ));
    }
    if !request.scheme.is_empty() {
        attributes.push(Attribute::new(semconv::URL_SCHEME, request.scheme.clone()));
    }
    if let Some(route) = &request.route_pattern {
        attributes.push(Attribute::new(semconv::HTTP_ROUTE, route.clone()));
    }
    attributes.push(Attribute::new(
        semconv::HTTP_RESPONSE_STATUS_CODE,
        i64::from(status),
    ));
    if let Some(client) = request.client_addr {
        attributes.push(Attribute::new(semconv::CLIENT_ADDRESS, client.to_string()));
    }
    if let Some(agent) = request.header("user-agent") {
        attributes.push(Attribute::new(semconv::USER_AGENT_ORIGINAL, agent));
    }
    if let Some((host, port)) = host_port(&request.host) {
        attributes.push(Attribute::new(semconv::SERVER_ADDRESS, host));
        if let Some(port) = port {
            attributes.push(Attribute::new(semconv::SERVER_PORT, i64::from(port)));
        }
    }
    if let Some(version) = request.http_version {
        attributes.push(Attribute::new(
            semconv::NETWORK_PROTOCOL_VERSION,
            version.number(),
        ));
    }
    let mut events = Vec::new();
    let error = if let Some(panic) = &sources.response.panic {
        // A handler that panicked: the toolbar's 500 stands in for a response it never made.
        attributes.push(Attribute::new(semconv::ERROR_TYPE, "panic"));
        events.push(SpanEvent {
            name: "exception".to_owned(),
            offset_ms: request_ms,
            level: None,
            attributes: vec![
                Attribute::new(semconv::EXCEPTION_TYPE, "panic"),
                Attribute::new(semconv::EXCEPTION_MESSAGE, panic.message.clone()),
                Attribute::new(semconv::EXCEPTION_STACKTRACE, panic.stacktrace()),
            ],
            left_pct: 100.0,
        });
        Some(panic.message.clone())
    } else {
        (status >= 500).then(|| {
            attributes.push(Attribute::new(semconv::ERROR_TYPE, status.to_string()));
            format!("HTTP {status}")
        })
    };
    SpanRecord {
        span_id: hex_id(&sources.trace.span_id().to_bytes()),
        parent_span_id: sources
            .trace
            .parent_span_id()
            .map(|p| hex_id(&p.to_bytes())),
        name,
        kind: Kind::Server,
        category: Category::Server,
        start_ms: 0.0,
        duration_ms: request_ms,
        depth: 0,
        attributes,
        events,
        error,
        captured: false,
        service: None,
        left_pct: 0.0,
        width_pct: 100.0,
    }
}

/// The host and port of an authority such as `example.com:8080` or `[::1]:80` (the brackets
/// of an IPv6 address left out), or of a `Host` header.
fn host_port(authority: &str) -> Option<(String, Option<u16>)> {
    let authority: http::uri::Authority = authority.parse().ok()?;
    let host = authority.host();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    (!host.is_empty()).then(|| (host.to_owned(), authority.port_u16()))
}

/// The host and port `url` names.
fn url_host(url: &str) -> Option<(String, Option<u16>)> {
    let uri: http::Uri = url.parse().ok()?;
    host_port(uri.authority()?.as_str())
}

/// Fills a client span from the helper's `http.client` span.
fn client_span(span: &mut SpanRecord, recorded: &debug_toolbar_core::RecordedSpan) {
    span.kind = Kind::Client;
    span.category = Category::Http;
    if let Some(id) = recorded
        .field(SPAN_ID_FIELD)
        .and_then(FieldValue::as_str)
        .filter(|id| opentelemetry::trace::SpanId::from_hex(id).is_ok() && id.len() == 16)
    {
        span.span_id = id.to_owned();
    }
    let method = recorded
        .field(semconv::HTTP_REQUEST_METHOD)
        .map(FieldValue::to_text)
        .unwrap_or_else(|| "GET".to_owned());
    span.name = method;
    for (key, value) in &recorded.fields {
        if *key == SPAN_ID_FIELD {
            continue;
        }
        if *key == semconv::HTTP_RESPONSE_STATUS_CODE
            && let Some(code) = value.as_u64()
            && code >= 400
        {
            span.error = Some(format!("HTTP {code}"));
        }
        if *key == semconv::ERROR_TYPE {
            span.error = Some(value.to_text());
        }
        span.attributes.push(Attribute::new(*key, value));
    }
    if let Some(url) = recorded
        .field(semconv::URL_FULL)
        .and_then(FieldValue::as_str)
    {
        push_server(&mut span.attributes, url);
    }
}

/// `server.address` and `server.port` of a call to `url` (required on HTTP client spans).
fn push_server(attributes: &mut Vec<Attribute>, url: &str) {
    if let Some((host, port)) = url_host(url) {
        attributes.push(Attribute::new(semconv::SERVER_ADDRESS, host));
        if let Some(port) = port {
            attributes.push(Attribute::new(semconv::SERVER_PORT, i64::from(port)));
        }
    }
}

#[cfg_attr(not(feature = "sql"), allow(unused_variables, clippy::ptr_arg))]
fn add_queries(
    sources: &Sources<'_>,
    spans: &mut Vec<SpanRecord>,
    converted: &[Option<usize>],
    not_shown: &mut usize,
) {
    #[cfg(feature = "sql")]
    {
        let Some(sql) = sources.sql else { return };
        let recording = sources.recording;
        let ids = RandomIdGenerator::default();
        for query in &sql.queries {
            if spans.len() >= MAX_SPANS {
                *not_shown += 1;
                continue;
            }
            let ran_in = recording
                .events
                .get(query.event_index)
                .and_then(|event| event.span);
            let mut at = ran_in;
            let parent = spans[owner(converted, recording, &mut at)].span_id.clone();
            let operation = query.kind.clone();
            let collection = query.collection.clone();
            let name = match (&collection, operation.is_empty()) {
                (_, true) => query
                    .backend
                    .map_or("query", debug_toolbar_panels::Backend::as_str)
                    .to_owned(),
                (Some(table), false) => format!("{operation} {table}"),
                (None, false) => operation.clone(),
            };
            let mut attributes = Vec::with_capacity(6);
            if let Some(backend) = query.backend {
                attributes.push(Attribute::new(semconv::DB_SYSTEM_NAME, backend.as_str()));
            }
            attributes.push(Attribute::new(semconv::DB_QUERY_TEXT, query.sql.clone()));
            if !operation.is_empty() {
                attributes.push(Attribute::new(semconv::DB_OPERATION_NAME, operation));
            }
            if let Some(table) = collection {
                attributes.push(Attribute::new(semconv::DB_COLLECTION_NAME, table));
            }
            if let Some(namespace) = namespace(recording, ran_in) {
                attributes.push(Attribute::new(semconv::DB_NAMESPACE, namespace));
            }
            attributes.push(Attribute::new(
                semconv::DB_RESPONSE_RETURNED_ROWS,
                i64::try_from(query.rows_returned).unwrap_or(i64::MAX),
            ));
            if let Some(affected) = query.rows_affected {
                attributes.push(Attribute::new(
                    "db.response.affected_rows",
                    i64::try_from(affected).unwrap_or(i64::MAX),
                ));
            }
            if query.error.is_some() {
                // The failure is known from the application's log, not its kind.
                attributes.push(Attribute::new(semconv::ERROR_TYPE, "_OTHER"));
            }
            spans.push(SpanRecord {
                span_id: hex_id(&ids.new_span_id().to_bytes()),
                parent_span_id: Some(parent),
                name,
                kind: Kind::Client,
                category: Category::Db,
                start_ms: query.start_ms,
                duration_ms: query.duration_ms,
                depth: 0,
                attributes,
                events: Vec::new(),
                error: query.error.clone(),
                captured: false,
                service: None,
                left_pct: 0.0,
                width_pct: 0.0,
            });
        }
    }
}

/// A `db.namespace` field on a span enclosing the query.
#[cfg(feature = "sql")]
fn namespace(recording: &Recording, mut index: Option<usize>) -> Option<String> {
    while let Some(i) = index {
        let span = recording.spans.get(i)?;
        if let Some(ns) = span.field(semconv::DB_NAMESPACE) {
            return Some(ns.to_text());
        }
        index = span.parent;
    }
    None
}

/// Calls whose headers were made with the helper but sent outside its span: client spans from
/// the injection to the end of the span they were made in.
fn add_injected_calls(
    sources: &Sources<'_>,
    spans: &mut Vec<SpanRecord>,
    converted: &[Option<usize>],
    request_ms: f64,
) {
    let recording = sources.recording;
    for event in &recording.events {
        if event.metadata.target() != CLIENT_TARGET
            || event.field("message").and_then(FieldValue::as_str) != Some(INJECT_MESSAGE)
        {
            continue;
        }
        let Some(id) = event.field(SPAN_ID_FIELD).and_then(FieldValue::as_str) else {
            continue;
        };
        if spans.iter().any(|s| s.span_id == id) || spans.len() >= MAX_SPANS {
            continue;
        }
        let mut at = event.span;
        let owner_index = owner(converted, recording, &mut at);
        let owner_span = &spans[owner_index];
        let parent = owner_span.span_id.clone();
        let start_ms = millis(event.offset);
        let end_ms = if owner_index == 0 {
            request_ms
        } else {
            owner_span.start_ms + owner_span.duration_ms
        };
        let method = event
            .field(semconv::HTTP_REQUEST_METHOD)
            .map(FieldValue::to_text)
            .unwrap_or_else(|| "GET".to_owned());
        let mut attributes: Vec<Attribute> = event
            .fields
            .iter()
            .filter(|(k, _)| *k != "message" && *k != SPAN_ID_FIELD)
            .map(|(k, v)| Attribute::new(*k, v))
            .collect();
        if let Some(url) = event.field(semconv::URL_FULL).and_then(FieldValue::as_str) {
            push_server(&mut attributes, url);
        }
        attributes.push(Attribute::new("debug_toolbar.end_estimated", true));
        spans.push(SpanRecord {
            span_id: id.to_owned(),
            parent_span_id: Some(parent),
            name: method,
            kind: Kind::Client,
            category: Category::Http,
            start_ms,
            duration_ms: (end_ms - start_ms).max(0.0),
            depth: 0,
            attributes,
            events: Vec::new(),
            error: None,
            captured: false,
            service: None,
            left_pct: 0.0,
            width_pct: 0.0,
        });
    }
}

#[cfg_attr(
    not(feature = "logging"),
    expect(unused_variables, reason = "only the logging feature adds events")
)]
fn add_log_events(sources: &Sources<'_>, spans: &mut [SpanRecord], converted: &[Option<usize>]) {
    #[cfg(feature = "logging")]
    {
        let Some(logging) = sources.logging else {
            return;
        };
        let recording = sources.recording;
        for record in &logging.records {
            let mut at = recording
                .events
                .get(record.event_index)
                .and_then(|event| event.span);
            let index = owner(converted, recording, &mut at);
            let level = record.level.as_str();
            let mut attributes = vec![
                Attribute::new("level", level),
                Attribute::new("target", record.target.clone()),
            ];
            if let Some(file) = &record.file {
                attributes.push(Attribute::new(semconv::CODE_FILE_PATH, file.clone()));
            }
            if let Some(line) = record.line {
                attributes.push(Attribute::new(semconv::CODE_LINE_NUMBER, i64::from(line)));
            }
            for field in &record.fields {
                attributes.push(Attribute::new(field.name.clone(), field.value.clone()));
            }
            let Some(span) = spans.get_mut(index) else {
                continue;
            };
            // The HTTP conventions leave a server span's status to its response code; other
            // spans in which an error was logged failed.
            if record.level == debug_toolbar_core::LogLevel::Error
                && span.kind != Kind::Server
                && span.error.is_none()
            {
                span.error = Some(record.message.clone());
            }
            span.events.push(SpanEvent {
                name: if record.message.is_empty() {
                    "log".to_owned()
                } else {
                    record.message.clone()
                },
                offset_ms: record.offset_ms,
                level: Some(record.level),
                attributes,
                left_pct: 0.0,
            });
        }
    }
}

/// Orders spans depth-first (children by start time), sets depths and waterfall positions.
/// The waterfall starts at the earliest span (spans received from the browser start before the
/// request) and is at least `request_ms` long; a span whose parent is not among them is a root.
pub(crate) fn layout(spans: Vec<SpanRecord>, request_ms: f64) -> Vec<SpanRecord> {
    let origin = spans.iter().map(|s| s.start_ms).fold(0.0, f64::min);
    let total = (spans
        .iter()
        .map(|s| s.start_ms + s.duration_ms)
        .fold(request_ms, f64::max)
        - origin)
        .max(f64::MIN_POSITIVE);
    let position = Positions::of(&spans);
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut roots = Vec::new();
    for (i, span) in spans.iter().enumerate() {
        match span
            .parent_span_id
            .as_deref()
            .and_then(|p| position.get(p))
            .filter(|p| *p != i)
        {
            Some(parent) => children[parent].push(i),
            None => roots.push(i),
        }
    }
    for list in &mut children {
        list.sort_by(|a, b| spans[*a].start_ms.total_cmp(&spans[*b].start_ms));
    }
    roots.sort_by(|a, b| spans[*a].start_ms.total_cmp(&spans[*b].start_ms));
    let mut order = Vec::with_capacity(spans.len());
    let mut seen = vec![false; spans.len()];
    let mut stack = Vec::new();
    // Spans caught in a cycle of parents are reached from none of the roots: they follow, as
    // roots of their own.
    for root in roots.into_iter().chain(0..spans.len()) {
        if seen[root] {
            continue;
        }
        stack.push((root, 0));
        while let Some((i, depth)) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            order.push((i, depth));
            for &child in children[i].iter().rev() {
                stack.push((child, depth + 1));
            }
        }
    }
    let mut slots: Vec<Option<SpanRecord>> = spans.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|(i, depth)| {
            let mut span = slots[i].take()?;
            span.depth = depth;
            span.left_pct = ((span.start_ms - origin) / total * 100.0).clamp(0.0, 100.0);
            span.width_pct = (span.duration_ms / total * 100.0).clamp(0.0, 100.0 - span.left_pct);
            for event in &mut span.events {
                event.left_pct = ((event.offset_ms - origin) / total * 100.0).clamp(0.0, 100.0);
            }
            span.events
                .sort_by(|a, b| a.offset_ms.total_cmp(&b.offset_ms));
            Some(span)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_ports_are_split() {
        assert_eq!(
            host_port("example.com:8080"),
            Some(("example.com".to_owned(), Some(8080)))
        );
        assert_eq!(host_port("[::1]:80"), Some(("::1".to_owned(), Some(80))));
        assert_eq!(host_port("localhost"), Some(("localhost".to_owned(), None)));
        assert_eq!(host_port(""), None);
        assert_eq!(host_port("bad host"), None);
        assert_eq!(
            url_host("http://user@127.0.0.1:9/api?x"),
            Some(("127.0.0.1".to_owned(), Some(9)))
        );
    }

    #[test]
    fn layout_draws_orphans_and_cycles_at_the_top() {
        let span = |id: &str, parent: Option<&str>, start_ms: f64| SpanRecord {
            span_id: id.to_owned(),
            parent_span_id: parent.map(str::to_owned),
            name: id.to_owned(),
            kind: Kind::Internal,
            category: Category::Internal,
            start_ms,
            duration_ms: 1.0,
            depth: 9,
            attributes: Vec::new(),
            events: Vec::new(),
            error: None,
            captured: false,
            service: None,
            left_pct: 0.0,
            width_pct: 0.0,
        };
        let spans = vec![
            span("server", None, 0.0),
            span("x", Some("y"), 1.0),
            span("y", Some("x"), 2.0),
            span("orphan", Some("gone"), 3.0),
            span("child", Some("server"), 4.0),
        ];
        let laid = layout(spans, 10.0);
        let laid: Vec<(&str, usize)> = laid.iter().map(|s| (s.name.as_str(), s.depth)).collect();
        assert_eq!(
            laid,
            [
                ("server", 0),
                ("child", 1),
                ("orphan", 0),
                ("x", 0),
                ("y", 1)
            ]
        );
    }
}
