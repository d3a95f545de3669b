//! The debug toolbar's OpenTelemetry bridge: every request the toolbar serves becomes a trace.
//!
//! [`OtelPanel`] is one panel. As a request starts it continues the caller's W3C
//! `traceparent`/`tracestate` (or starts a trace) and keeps the [`TraceContext`] for handlers
//! and outgoing calls; when the request ends it turns the typed stats of the other panels into
//! spans ([`convert`]): a server span named after the route, a client span per SQL query, log
//! records as span events, template renders and the application's own spans as internal spans,
//! outgoing calls as client spans. The panel draws them as a waterfall, links the trace in
//! Jaeger and Zipkin, and adds a `traceresponse` header to the response.
//!
//! When an exporter is configured ([`OtelConfig`], from code or the standard `OTEL_*`
//! variables), sampled traces are sent off the request path: OTLP over gRPC or HTTP/protobuf
//! (Jaeger, Tempo, the OpenTelemetry Collector) and Zipkin's v2 JSON API. A collector that is
//! down or slow costs requests nothing; dropped spans and export errors are counted and shown
//! in the panel.
//!
//! The web framework integration (`actix-debug-toolbar`, feature `otel`) re-exports this crate
//! as `actix_debug_toolbar::otel` together with helpers that carry the trace on in outgoing
//! `awc` and `reqwest` calls.

mod app_spans;
mod config;
pub mod convert;
mod export;
mod forward;
mod join;
mod panel;
mod propagation;
pub mod receive;
mod span;
mod waterfall;

pub use app_spans::CaptureProcessor;
pub use config::{
    Compression, ConfigError, Exporter, OtelConfig, OtelConfigBuilder, Protocol, Sampling, Tls,
};
pub use convert::{CLIENT_SPAN_NAME, CLIENT_TARGET, INJECT_MESSAGE, SPAN_ID_FIELD};
pub use export::{ExportError, ExporterStatus};
pub use panel::{ExportView, OtelPanel, OtelStats, ReceivedView};
pub use propagation::{OutgoingContext, TRACEPARENT, TRACERESPONSE, TRACESTATE, TraceContext};
pub use span::{Attribute, AttributeValue, Category, Kind, SpanEvent, SpanRecord};
pub use waterfall::{GROUP_MIN, Group, Row, Service, Waterfall};

/// The OpenTelemetry crates this one is built on (one release line, 0.33), for code that
/// needs their types, e.g. [`opentelemetry::trace::TraceId`].
pub use {opentelemetry, opentelemetry_sdk};
