//! The OpenTelemetry panel: the request's trace as a waterfall, and its export.

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use debug_toolbar_core::{
    Badge, BadgeLevel, FinishedRequest, Panel, RequestHead, RequestRecord, RequestState,
    ServerTiming, StatsContext, Template, register_panel,
};
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::Sampler;
use serde::{Deserialize, Serialize};

use crate::app_spans::{self, Capture, CaptureProcessor};
use crate::config::OtelConfig;
use crate::convert::{self, Sources};
use crate::export::{ExportError, ExporterStatus, Pipeline};
use crate::forward::Forwarders;
use crate::join::unix_nanos;
use crate::propagation::{self, TRACERESPONSE, TraceContext};
use crate::receive::ReceivedSpan;
use crate::span::{SpanRecord, hex_id};
use crate::waterfall::Waterfall;

/// The request's trace: its spans as a waterfall (server, database, template, outgoing call,
/// application spans, log events), the trace id with links to Jaeger and Zipkin, and how
/// export is doing.
///
/// As a request starts, the panel continues the incoming W3C `traceparent` or starts a trace
/// ([`TraceContext`], readable by handlers); when it ends, the stats of the Timer, SQL,
/// Logging, Templates and Profiling panels become spans ([`crate::convert`]) that are shown
/// here and, when the trace is sampled and an exporter is configured, sent off the request
/// path. Every response gets a `traceresponse` header naming the trace and the server span.
///
/// The registered instance reads its configuration from the environment
/// ([`OtelConfig::from_env`]) the first time it is used. To configure it in code, pass your
/// own to the toolbar's builder (it replaces the registered one) and shut it down when the
/// server has stopped:
///
/// ```no_run
/// use debug_toolbar_otel::{OtelConfig, OtelPanel, Protocol};
///
/// let otel = OtelPanel::new(
///     OtelConfig::builder()
///         .service_name("shop")
///         .otlp(Protocol::Grpc, "http://localhost:4317")
///         .jaeger_ui("http://localhost:16686")
///         .build(),
/// );
/// // ToolbarConfig::builder().panel(otel.clone()) … HttpServer::new(…).run().await …
/// otel.shutdown().ok();
/// ```
#[derive(Clone)]
pub struct OtelPanel {
    source: Source,
}

#[derive(Clone)]
enum Source {
    /// The process-wide panel configured from the environment, built on first use.
    Global,
    Own(Arc<Inner>),
}

struct Inner {
    config: OtelConfig,
    sampler: Sampler,
    pipeline: Option<Arc<Pipeline>>,
    setup_error: Option<String>,
    capture: Capture,
    /// Whether a [`CaptureProcessor`] was handed out: only then are traces watched.
    capturing: AtomicBool,
    /// Exporters for the spans of other services, by `service.name`.
    forwarders: Forwarders,
}

impl Inner {
    fn new(config: OtelConfig) -> Self {
        match Self::try_new(config.clone()) {
            Ok(inner) => inner,
            Err(e) => {
                tracing::error!(
                    target: "debug_toolbar::otel",
                    "{e}; the OpenTelemetry panel works without export"
                );
                Self {
                    sampler: propagation::sdk_sampler(config.sampler),
                    config,
                    pipeline: None,
                    setup_error: Some(e.to_string()),
                    capture: Capture::default(),
                    capturing: AtomicBool::new(false),
                    forwarders: Forwarders::default(),
                }
            }
        }
    }

    fn try_new(config: OtelConfig) -> Result<Self, ExportError> {
        let pipeline = Pipeline::build(&config)?.map(Arc::new);
        Ok(Self {
            sampler: propagation::sdk_sampler(config.sampler),
            config,
            pipeline,
            setup_error: None,
            capture: Capture::default(),
            capturing: AtomicBool::new(false),
            forwarders: Forwarders::default(),
        })
    }
}

static GLOBAL: OnceLock<Arc<Inner>> = OnceLock::new();

fn global_inner() -> &'static Arc<Inner> {
    GLOBAL.get_or_init(|| Arc::new(Inner::new(OtelConfig::from_env())))
}

impl fmt::Debug for OtelPanel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner();
        f.debug_struct("OtelPanel")
            .field("global", &matches!(self.source, Source::Global))
            .field("config", &inner.config)
            .field("exporting", &inner.pipeline.is_some())
            .finish()
    }
}

impl OtelPanel {
    /// A panel with `config`. If an exporter cannot be built the error is logged (and shown in
    /// the panel) and the panel works without export.
    pub fn new(config: OtelConfig) -> Self {
        Self {
            source: Source::Own(Arc::new(Inner::new(config))),
        }
    }

    /// A panel with `config`; fails when an exporter cannot be built.
    pub fn try_new(config: OtelConfig) -> Result<Self, ExportError> {
        Ok(Self {
            source: Source::Own(Arc::new(Inner::try_new(config)?)),
        })
    }

    /// The process-wide panel the toolbar registers, configured from the environment
    /// ([`OtelConfig::from_env`]) the first time it is asked for: when the first toolbar is
    /// built, so that exporters are not set up on a request.
    pub fn global() -> Self {
        let _ = global_inner();
        Self {
            source: Source::Global,
        }
    }

    fn inner(&self) -> &Arc<Inner> {
        match &self.source {
            Source::Own(inner) => inner,
            Source::Global => global_inner(),
        }
    }

    /// Whether the request whose state this is continued a trace another service started
    /// (its server span's parent is not the browser's document load); `false` when the panel
    /// did not see the request.
    pub fn continues_trace(state: &RequestState) -> bool {
        state.get::<TraceContext>().is_some_and(|trace| {
            trace.parent_span_id().is_some() && state.get::<DocumentSpan>().is_none()
        })
    }

    /// The configuration.
    pub fn config(&self) -> &OtelConfig {
        &self.inner().config
    }

    /// How each exporter is doing; empty when nothing is exported.
    pub fn export_status(&self) -> Vec<ExporterStatus> {
        self.inner()
            .pipeline
            .as_ref()
            .map(|p| p.status())
            .unwrap_or_default()
    }

    /// A span processor for the application's own `SdkTracerProvider`: the application's
    /// OpenTelemetry spans that belong to a request the toolbar serves are shown in its
    /// waterfall (they are not exported a second time). See [`CaptureProcessor`].
    pub fn span_processor(&self) -> CaptureProcessor {
        let inner = self.inner();
        inner.capturing.store(true, Ordering::Release);
        CaptureProcessor::new(inner.capture.clone())
    }

    /// Sends spans other services sent to the toolbar's receiver to the configured exporters,
    /// each service under its own `service.name`: the browser's spans always, a downstream
    /// service's only with [`OtelConfigBuilder::forward_received`](crate::OtelConfigBuilder::forward_received)
    /// (`browser` says which). It may build an exporter for a service seen for the first time,
    /// which blocks briefly: call it off the request path (e.g. in `spawn_blocking`).
    pub fn export_received(&self, spans: &[ReceivedSpan], browser: bool) {
        if self.exports_received(browser) {
            let inner = self.inner();
            inner.forwarders.send(&inner.config, spans);
        }
    }

    /// Whether [`OtelPanel::export_received`] would export anything: an exporter is configured
    /// and the spans are the browser's or forwarding is on.
    pub fn exports_received(&self, browser: bool) -> bool {
        let inner = self.inner();
        inner.pipeline.is_some() && (browser || inner.config.forward_received)
    }

    /// The `service.name` the toolbar's script sends the browser's spans under: the
    /// application's, followed by `-browser`.
    pub fn browser_service_name(&self) -> String {
        format!("{}-browser", self.inner().config.service_name)
    }

    /// Sends the spans still queued and stops the exporters; spans of later requests are no
    /// longer exported. Call it after the server has stopped (after `HttpServer::run().await`
    /// returns). It blocks for up to a few seconds, on a thread of its own, so it is safe
    /// anywhere but should not run on a request's path.
    pub fn shutdown(&self) -> Result<(), ExportError> {
        let inner = self.inner();
        match &inner.pipeline {
            Some(pipeline) => {
                let timeout = inner
                    .config
                    .otlp_timeout
                    .max(inner.config.zipkin_timeout)
                    .max(Duration::from_secs(1));
                inner.forwarders.shutdown(timeout);
                pipeline.shutdown(timeout)
            }
            None => Ok(()),
        }
    }
}

/// What the OpenTelemetry panel records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OtelStats {
    /// The trace id, 32 hex digits.
    pub trace_id: String,
    /// The server span's id.
    pub span_id: String,
    /// The caller's span, when the request continued an incoming trace, or the browser's
    /// document-load span ([`OtelStats::document_span_id`]).
    pub parent_span_id: Option<String>,
    /// The span id the toolbar's script gives the page's document load, the server span's
    /// parent: set for a page navigation that started its trace here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_span_id: Option<String>,
    /// When the request started, in nanoseconds since the Unix epoch: where received spans
    /// are placed from.
    #[serde(default)]
    pub started_unix_nanos: u64,
    /// Spans of this trace other processes sent to the toolbar's receiver, joined into
    /// `spans` when the record is read.
    #[serde(default)]
    pub received: ReceivedView,
    /// Whether the trace is sampled (exported when an exporter is configured).
    pub sampled: bool,
    /// The `traceresponse` header sent with the response.
    pub traceresponse: String,
    /// The spans, server span first, depth-first by start time.
    pub spans: Vec<SpanRecord>,
    /// The spans as the waterfall draws them: groups of repeated siblings, the critical path,
    /// self times, spans whose parent is missing.
    #[serde(default)]
    pub waterfall: Waterfall,
    /// Spans not shown (past the limit).
    pub not_shown: usize,
    /// The trace's length in milliseconds (the waterfall's width).
    pub total_ms: f64,
    /// The trace in the Jaeger UI, when its base URL is configured.
    pub jaeger_url: Option<String>,
    /// The trace in the Zipkin UI, when its base URL is configured.
    pub zipkin_url: Option<String>,
    /// Export of this request and the exporters' state.
    pub export: ExportView,
}

/// Spans received for the request's trace, as the panel shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedView {
    /// Spans kept for the trace.
    pub spans: usize,
    /// Spans of the trace the receiver could not keep (past its limits).
    pub dropped: u64,
}

/// Export as the panel shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportView {
    /// Whether any exporter is configured.
    pub enabled: bool,
    /// Whether this request's spans are handed to the exporters (once the record is complete,
    /// by [`Panel::on_record`]).
    pub queued: bool,
    /// Each exporter's counts and last error, as of this request.
    pub exporters: Vec<ExporterStatus>,
    /// Why nothing is exported, or what went wrong setting export up.
    pub note: Option<String>,
}

impl Panel for OtelPanel {
    type Stats = OtelStats;
    const ID: &'static str = "otel";

    fn title(&self) -> Cow<'static, str> {
        "OpenTelemetry".into()
    }

    fn nav_subtitle(&self, stats: &OtelStats) -> Option<String> {
        let spans = stats.spans.len() + stats.not_shown;
        let short = stats.trace_id.get(..8).unwrap_or(&stats.trace_id);
        Some(format!(
            "{spans} {} · trace {short}…",
            if spans == 1 { "span" } else { "spans" }
        ))
    }

    fn on_request(&self, head: &RequestHead<'_>, state: &mut RequestState) {
        let inner = self.inner();
        let mut trace = TraceContext::from_request(head, &inner.sampler);
        // A page navigation that starts its trace here: the browser's document load, sent by the
        // toolbar's script, becomes the server span's parent.
        let navigation = head.header("sec-fetch-mode") == Some("navigate")
            || head.header("sec-fetch-dest") == Some("document");
        if navigation && trace.parent_span_id().is_none() {
            let document = opentelemetry_sdk::trace::RandomIdGenerator::default();
            let document = opentelemetry_sdk::trace::IdGenerator::new_span_id(&document);
            trace = TraceContext::new(
                trace.trace_id(),
                trace.span_id(),
                Some(document),
                trace.is_sampled(),
            );
            state.insert(DocumentSpan(document));
        }
        if inner.capturing.load(Ordering::Acquire) {
            inner.capture.watch(trace.trace_id());
        }
        state.insert(trace);
    }

    fn dependencies(&self) -> &'static [&'static str] {
        &["timer", "sql", "logging", "templates", "profiling"]
    }

    fn generate_stats(&self, cx: &StatsContext<'_>) -> OtelStats {
        let inner = self.inner();
        let fallback;
        let trace = match cx.state::<TraceContext>() {
            Some(trace) => trace,
            None => {
                let none = NoHeaders;
                let head = RequestHead::new(
                    &cx.request().method,
                    &cx.request().path,
                    cx.timing().started_at,
                    &none,
                );
                fallback = TraceContext::from_request(&head, &inner.sampler);
                &fallback
            }
        };
        let captured: Vec<SpanRecord> = if inner.capturing.load(Ordering::Acquire) {
            inner
                .capture
                .take(trace.trace_id())
                .iter()
                .map(|span| app_spans::record(span, cx.timing().started_at))
                .collect()
        } else {
            Vec::new()
        };
        let sources = Sources {
            captured: &captured,
            request: cx.request(),
            response: cx.response(),
            timing: cx.timing(),
            recording: cx.recording(),
            trace,
            #[cfg(feature = "timer")]
            timer: cx.stats::<debug_toolbar_panels::TimerPanel>(),
            #[cfg(feature = "sql")]
            sql: cx.stats::<debug_toolbar_panels::SqlPanel>(),
            #[cfg(feature = "logging")]
            logging: cx.stats::<debug_toolbar_panels::LoggingPanel>(),
            #[cfg(feature = "templates")]
            templates: cx.stats::<debug_toolbar_panels::TemplatesPanel>(),
            #[cfg(feature = "profiling")]
            profiling: cx.stats::<debug_toolbar_panels::ProfilingPanel>(),
        };
        let converted = convert::convert(&sources);
        // Sent by `on_record`, once the record is complete.
        let queued = inner.pipeline.is_some() && trace.is_sampled();
        let trace_id = hex_id(&trace.trace_id().to_bytes());
        let note = match (&inner.setup_error, &inner.pipeline) {
            (Some(e), _) => Some(e.clone()),
            (None, None) if inner.config.sdk_disabled => {
                Some("OTEL_SDK_DISABLED is set: nothing is exported.".to_owned())
            }
            (None, None) => Some(
                "No exporter is configured: set OTEL_EXPORTER_OTLP_ENDPOINT or \
                 OTEL_EXPORTER_ZIPKIN_ENDPOINT (or OTEL_TRACES_EXPORTER) to send spans."
                    .to_owned(),
            ),
            (None, Some(_)) if !trace.is_sampled() => {
                Some("This trace is not sampled: its spans are not exported.".to_owned())
            }
            (None, Some(_)) => None,
        };
        let parent_span_id = trace.parent_span_id().map(|p| hex_id(&p.to_bytes()));
        OtelStats {
            total_ms: converted
                .spans
                .iter()
                .map(|s| s.start_ms + s.duration_ms)
                .fold(0.0, f64::max),
            jaeger_url: inner
                .config
                .jaeger_ui()
                .map(|ui| format!("{}/trace/{trace_id}", ui.trim_end_matches('/'))),
            zipkin_url: inner
                .config
                .zipkin_ui()
                .map(|ui| format!("{}/zipkin/traces/{trace_id}", ui.trim_end_matches('/'))),
            span_id: hex_id(&trace.span_id().to_bytes()),
            document_span_id: cx.state::<DocumentSpan>().map(|d| d.0.to_string()),
            started_unix_nanos: unix_nanos(cx.timing().started_at),
            received: ReceivedView::default(),
            sampled: trace.is_sampled(),
            traceresponse: trace.traceresponse(),
            trace_id,
            waterfall: Waterfall::new(&converted.spans, parent_span_id.as_deref()),
            parent_span_id,
            spans: converted.spans,
            not_shown: converted.not_shown,
            export: ExportView {
                enabled: inner.pipeline.is_some(),
                queued,
                exporters: inner
                    .pipeline
                    .as_ref()
                    .map(|p| p.status())
                    .unwrap_or_default(),
                note,
            },
        }
    }

    /// Hands the request's own spans (not the captured ones) to the exporters, when the trace
    /// is sampled and an exporter is configured.
    fn on_record(&self, stats: &OtelStats, _record: &RequestRecord, request: &FinishedRequest<'_>) {
        let inner = self.inner();
        let Some(pipeline) = inner.pipeline.as_ref().filter(|_| stats.export.queued) else {
            return;
        };
        let rebuilt;
        let trace = match request.state.get::<TraceContext>() {
            Some(trace) if hex_id(&trace.trace_id().to_bytes()) == stats.trace_id => trace,
            // A request recorded without its start: the context `generate_stats` made is the
            // one its stats name.
            _ => {
                let (Ok(trace_id), Ok(span_id)) = (
                    TraceId::from_hex(&stats.trace_id),
                    SpanId::from_hex(&stats.span_id),
                ) else {
                    return;
                };
                let parent = stats
                    .parent_span_id
                    .as_deref()
                    .and_then(|p| SpanId::from_hex(p).ok());
                rebuilt = TraceContext::new(trace_id, span_id, parent, stats.sampled);
                &rebuilt
            }
        };
        pipeline.send(&stats.spans, trace, request.timing.started_at);
    }

    fn template(&self) -> Template {
        Template::new("panels/otel.html", include_str!("../templates/otel.html"))
    }

    fn response_headers(&self, stats: &OtelStats) -> Vec<(&'static str, String)> {
        vec![(TRACERESPONSE, stats.traceresponse.clone())]
    }

    /// For a page whose document load the browser reports: `traceparent`, naming the trace and
    /// the span id the toolbar's script gives the document load (Navigation Timing shows the
    /// script the page's `Server-Timing`, not its other headers).
    fn server_timing(&self, stats: &OtelStats) -> Vec<ServerTiming> {
        let Some(document) = &stats.document_span_id else {
            return Vec::new();
        };
        let flags = if stats.sampled { "01" } else { "00" };
        vec![ServerTiming {
            name: "traceparent",
            duration_ms: 0.0,
            description: format!("00-{}-{document}-{flags}", stats.trace_id).into(),
        }]
    }

    fn badge(&self, stats: &OtelStats) -> Option<Badge> {
        stats
            .export
            .exporters
            .iter()
            .any(|e| e.failing)
            .then(|| Badge::new(BadgeLevel::Warning, "export failing"))
    }
}

/// The span id the browser's document load gets, kept in the [`RequestState`] of a page
/// navigation that started its trace here.
#[derive(Debug, Clone, Copy)]
struct DocumentSpan(SpanId);

/// A request without headers, for a context made after the fact.
struct NoHeaders;

impl debug_toolbar_core::HeaderLookup for NoHeaders {
    fn header(&self, _name: &str) -> Option<&str> {
        None
    }
}

register_panel!(OtelPanel::global());

#[cfg(test)]
mod tests {

    use std::time::SystemTime;

    use debug_toolbar_core::integration::Toolbar;
    use debug_toolbar_core::{
        FinishedRequest, RecordId, Recording, RequestInfo, ResponseInfo, Timing,
    };

    use super::*;

    #[test]
    fn a_request_recorded_without_its_start_gets_a_trace_of_its_own() {
        let otel = OtelPanel::new(OtelConfig::builder().service_name("shop").build());
        assert_eq!(
            format!("{otel:?}"),
            format!(
                "OtelPanel {{ global: false, config: {:?}, exporting: false }}",
                otel.config()
            )
        );
        let toolbar = Toolbar::builder()
            .without_registered_panels()
            .panel(otel)
            .build()
            .unwrap();
        let mut request = RequestInfo::new("POST", "/orders");
        request.route_pattern = Some("/orders".to_owned());
        let response = ResponseInfo::new(201);
        let timing = Timing {
            started_at: SystemTime::now(),
            wall: Duration::from_millis(4),
            cpu: None,
        };
        let recording = Recording::default();
        // No `start_request`: the state holds no trace context.
        let state = RequestState::default();
        let outcome = toolbar.record(&FinishedRequest {
            id: RecordId::random().unwrap(),
            request: &request,
            response: &response,
            timing: &timing,
            recording: &recording,
            state: &state,
            layer_attached: true,
        });
        let stats = outcome.record.stats::<OtelPanel>().unwrap().unwrap();
        assert_eq!(stats.trace_id.len(), 32);
        assert_ne!(stats.trace_id, "0".repeat(32));
        assert_eq!(stats.parent_span_id, None);
        assert!(stats.sampled, "parentbased_always_on starts sampled traces");
        assert_eq!(stats.spans.len(), 1);
        assert_eq!(stats.spans[0].name, "POST /orders");
        assert_eq!(stats.spans[0].span_id, stats.span_id);
        assert!((stats.total_ms - 4.0).abs() < 1e-9);
        assert_eq!(
            outcome.response_headers,
            [(TRACERESPONSE, stats.traceresponse.clone())]
        );
        assert_eq!(
            outcome.record.panel("otel").unwrap().subtitle.as_deref(),
            Some(format!("1 span · trace {}…", &stats.trace_id[..8]).as_str())
        );
    }

    struct Headers<'a>(&'a [(&'a str, &'a str)]);

    impl debug_toolbar_core::HeaderLookup for Headers<'_> {
        fn header(&self, name: &str) -> Option<&str> {
            self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
        }
    }

    #[test]
    fn only_a_request_with_a_callers_traceparent_continues_a_trace() {
        let otel = OtelPanel::new(OtelConfig::builder().service_name("shop").build());
        let state_of = |headers: &[(&str, &str)]| {
            let headers = Headers(headers);
            let head = RequestHead::new("GET", "/", SystemTime::now(), &headers);
            let mut state = RequestState::default();
            Panel::on_request(&otel, &head, &mut state);
            state
        };
        let traceparent = (
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        );
        assert!(OtelPanel::continues_trace(&state_of(&[traceparent])));
        // Also a navigation: the caller's span stays the parent.
        assert!(OtelPanel::continues_trace(&state_of(&[
            traceparent,
            ("sec-fetch-mode", "navigate"),
        ])));
        assert!(!OtelPanel::continues_trace(&state_of(&[])));
        // A navigation starting its trace: the parent is the browser's document load.
        assert!(!OtelPanel::continues_trace(&state_of(&[(
            "sec-fetch-mode",
            "navigate"
        )])));
        assert!(!OtelPanel::continues_trace(&RequestState::default()));
    }
}
