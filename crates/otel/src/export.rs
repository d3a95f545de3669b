//! Sending spans: one batch processor per exporter, off the request path.
//!
//! Each exporter runs behind the SDK's `BatchSpanProcessor` (its own thread, a bounded queue).
//! Exporters are built on a helper thread: the tonic exporter with the crate's own small tokio
//! runtime entered (it also runs there), and nothing is built on an actix worker. An
//! [`Observed`] wrapper counts what was exported and what failed; the panel shows it, and a
//! failing exporter is logged once per run of failures, not once per span.
//!
//! A batch the backend refuses with a retryable answer is tried again within the export
//! timeout (the OTLP exporters' own `RetryPolicy`; [`retry`] for Zipkin), so a collector that
//! restarts loses nothing; spans past the bounded queue are dropped and counted. `https://`
//! endpoints get TLS from [`tls`].

mod retry;
mod tls;
mod zipkin;

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{Event, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SpanData, SpanEvents, SpanExporter, SpanLinks,
    SpanProcessor,
};
use opentelemetry_semantic_conventions::attribute as semconv;
use serde::{Deserialize, Serialize};

use crate::config::{Compression, Exporter, OtelConfig, Protocol};
use crate::propagation::TraceContext;
use crate::span::{Attribute, AttributeValue, Kind, SpanRecord};

pub(crate) use zipkin::ZipkinExporter;

/// Something went wrong setting up or shutting down export.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportError {
    /// An exporter could not be built, e.g. from an invalid endpoint or header.
    Build {
        /// The exporter, e.g. `otlp (grpc)`.
        exporter: String,
        /// Why.
        message: String,
    },
    /// The runtime the gRPC exporter needs could not start.
    Runtime(String),
    /// Flushing or stopping an exporter failed; spans may have been lost.
    Shutdown {
        /// The exporter.
        exporter: String,
        /// Why.
        message: String,
    },
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportError::Build { exporter, message } => {
                write!(f, "the {exporter} exporter could not be built: {message}")
            }
            ExportError::Runtime(message) => {
                write!(
                    f,
                    "the OpenTelemetry export runtime could not start: {message}"
                )
            }
            ExportError::Shutdown { exporter, message } => {
                write!(
                    f,
                    "the {exporter} exporter did not shut down cleanly: {message}"
                )
            }
        }
    }
}

impl std::error::Error for ExportError {}

/// How one exporter is doing, as the panel shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExporterStatus {
    /// The exporter, e.g. `otlp (grpc)` or `zipkin`.
    pub exporter: String,
    /// Where it sends spans.
    pub endpoint: String,
    /// Spans the backend accepted.
    pub exported: u64,
    /// Spans in batches the backend refused or did not answer for.
    pub failed: u64,
    /// Spans dropped because too many were waiting.
    pub dropped: u64,
    /// Spans waiting to be sent.
    pub pending: u64,
    /// The last export error, if any.
    pub last_error: Option<String>,
    /// Whether the last export failed.
    pub failing: bool,
}

/// Export counters of one exporter, shared by the panel and its [`Observed`] wrapper.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    exported: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    pending: AtomicUsize,
    failing: AtomicBool,
    failed_in_run: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// An exporter that records each export's outcome in [`Counters`].
#[derive(Debug)]
pub(crate) struct Observed<E> {
    label: String,
    inner: E,
    counters: Arc<Counters>,
}

impl<E: SpanExporter> SpanExporter for Observed<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let n = batch.len();
        let result = self.inner.export(batch).await;
        let c = &self.counters;
        let _ = c
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| {
                Some(p.saturating_sub(n))
            });
        match &result {
            Ok(()) => {
                c.exported.fetch_add(n as u64, Ordering::Relaxed);
                if c.failing.swap(false, Ordering::AcqRel) {
                    let lost = c.failed_in_run.swap(0, Ordering::AcqRel);
                    tracing::info!(
                        target: "debug_toolbar::otel",
                        "span export to {} works again ({lost} spans were not exported)",
                        self.label
                    );
                }
            }
            Err(e) => {
                let n64 = n as u64;
                c.failed.fetch_add(n64, Ordering::Relaxed);
                c.failed_in_run.fetch_add(n64, Ordering::Relaxed);
                // Client errors may quote the endpoint, credentials included.
                let message = debug_toolbar_core::redact::mask_text(&e.to_string()).into_owned();
                if let Ok(mut last) = c.last_error.lock() {
                    *last = Some(message.clone());
                }
                if !c.failing.swap(true, Ordering::AcqRel) {
                    tracing::warn!(
                        target: "debug_toolbar::otel",
                        "span export to {} failed: {message} (not logged again until it works)",
                        self.label
                    );
                }
            }
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// A tokio runtime that is shut down without blocking when dropped, even inside async code.
struct OwnedRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl fmt::Debug for OwnedRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnedRuntime")
    }
}

impl Sink {
    /// Whether [`Sink::max_pending`] spans already wait.
    fn is_full(&self) -> bool {
        self.counters.pending.load(Ordering::Acquire) >= self.max_pending
    }

    /// Hands `span` to the processor, unless [`Sink::max_pending`] spans already wait.
    fn queue(&self, span: SpanData) {
        let queued = self
            .counters
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| {
                (p < self.max_pending).then_some(p + 1)
            });
        if queued.is_ok() {
            self.processor.on_end(span);
        } else {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One exporter behind its batch processor.
#[derive(Debug)]
struct Sink {
    label: String,
    endpoint: String,
    processor: BatchSpanProcessor,
    counters: Arc<Counters>,
    max_pending: usize,
}

/// Every configured exporter, ready to take a request's spans.
#[derive(Debug)]
pub(crate) struct Pipeline {
    sinks: Vec<Sink>,
    scope: InstrumentationScope,
    shut_down: AtomicBool,
    // Dropped last: the processors above may still use it while they stop.
    _runtime: Option<OwnedRuntime>,
}

impl Pipeline {
    /// Builds the configured exporters on a helper thread (see the module docs); `Ok(None)`
    /// when nothing is exported.
    pub(crate) fn build(config: &OtelConfig) -> Result<Option<Self>, ExportError> {
        if !config.exports() {
            return Ok(None);
        }
        let config = config.clone();
        std::thread::Builder::new()
            .name("otel-build".to_owned())
            .spawn(move || build_on_this_thread(&config).map(Some))
            .map_err(|e| ExportError::Runtime(e.to_string()))?
            .join()
            .map_err(|_| ExportError::Runtime("building the exporters panicked".to_owned()))?
    }

    /// Hands a sampled request's spans that were not captured from the application (see
    /// [`SpanRecord::captured`]) to every exporter; never blocks. Each span is converted once
    /// and copied only for a second exporter.
    pub(crate) fn send(&self, spans: &[SpanRecord], trace: &TraceContext, started_at: SystemTime) {
        if self.shut_down.load(Ordering::Acquire) || spans.is_empty() {
            return;
        }
        let state = trace.trace_state();
        let server = trace.span_id();
        let Some((last, others)) = self.sinks.split_last() else {
            return;
        };
        let to_send = spans.iter().filter(|s| !s.captured);
        // Every queue full (a collector that is down or slow): the spans are dropped, and
        // not turned into the SDK's form first.
        if self.sinks.iter().all(Sink::is_full) {
            let dropped = to_send.count() as u64;
            for sink in &self.sinks {
                sink.counters.dropped.fetch_add(dropped, Ordering::Relaxed);
            }
            return;
        }
        for span in to_send {
            let Some(data) = span_data(span, trace, server, &state, started_at, &self.scope) else {
                continue;
            };
            for sink in others {
                sink.queue(data.clone());
            }
            last.queue(data);
        }
    }

    /// Hands spans in the SDK's form to every exporter; never blocks.
    pub(crate) fn send_data(&self, data: &[SpanData]) {
        if self.shut_down.load(Ordering::Acquire) {
            return;
        }
        for sink in &self.sinks {
            for span in data {
                sink.queue(span.clone());
            }
        }
    }

    /// How each exporter is doing.
    pub(crate) fn status(&self) -> Vec<ExporterStatus> {
        self.sinks
            .iter()
            .map(|sink| {
                let c = &sink.counters;
                ExporterStatus {
                    exporter: sink.label.clone(),
                    endpoint: sink.endpoint.clone(),
                    exported: c.exported.load(Ordering::Relaxed),
                    failed: c.failed.load(Ordering::Relaxed),
                    dropped: c.dropped.load(Ordering::Relaxed),
                    pending: c.pending.load(Ordering::Relaxed) as u64,
                    last_error: c.last_error.lock().ok().and_then(|l| l.clone()),
                    failing: c.failing.load(Ordering::Relaxed),
                }
            })
            .collect()
    }

    /// Sends what is queued and stops every exporter, waiting at most `timeout` for each.
    /// Runs on a thread of its own, so that it never blocks an async runtime it depends on.
    pub(crate) fn shutdown(self: &Arc<Self>, timeout: Duration) -> Result<(), ExportError> {
        if self.shut_down.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let this = Arc::clone(self);
        let joined = std::thread::Builder::new()
            .name("otel-shutdown".to_owned())
            .spawn(move || {
                let mut first_error = None;
                for sink in &this.sinks {
                    if let Err(e) = sink.processor.shutdown_with_timeout(timeout)
                        && first_error.is_none()
                    {
                        first_error = Some(ExportError::Shutdown {
                            exporter: sink.label.clone(),
                            message: e.to_string(),
                        });
                    }
                }
                first_error
            })
            .map_err(|e| ExportError::Runtime(e.to_string()))?
            .join();
        match joined {
            Ok(None) => Ok(()),
            Ok(Some(e)) => Err(e),
            Err(_) => Err(ExportError::Runtime("shutting down panicked".to_owned())),
        }
    }
}

fn resource(config: &OtelConfig) -> Resource {
    let mut attributes = vec![
        KeyValue::new(semconv::TELEMETRY_SDK_NAME, "opentelemetry"),
        KeyValue::new(semconv::TELEMETRY_SDK_LANGUAGE, "rust"),
        KeyValue::new(
            semconv::TELEMETRY_SDK_VERSION,
            env!("DEBUG_TOOLBAR_OTEL_SDK_VERSION"),
        ),
    ];
    if let Some(version) = &config.service_version {
        attributes.push(KeyValue::new(semconv::SERVICE_VERSION, version.clone()));
    }
    for (key, value) in &config.resource_attributes {
        attributes.push(KeyValue::new(key.clone(), value.clone()));
    }
    Resource::builder_empty()
        .with_service_name(config.service_name.clone())
        .with_attributes(attributes)
        .build()
}

fn build_on_this_thread(config: &OtelConfig) -> Result<Pipeline, ExportError> {
    let resource = resource(config);
    let mut sinks = Vec::new();
    let mut runtime = None;
    for exporter in config.exporters() {
        let counters = Arc::new(Counters::default());
        let (label, endpoint, processor) = match exporter {
            Exporter::Otlp => {
                let endpoint = config.otlp_endpoint();
                let label = format!("otlp ({})", config.otlp_protocol.name());
                let built = match config.otlp_protocol {
                    Protocol::Grpc => {
                        if runtime.is_none() {
                            runtime = Some(OwnedRuntime(Some(
                                tokio::runtime::Builder::new_multi_thread()
                                    .worker_threads(1)
                                    .thread_name("otel-rt")
                                    .enable_all()
                                    .build()
                                    .map_err(|e| ExportError::Runtime(e.to_string()))?,
                            )));
                        }
                        let Some(OwnedRuntime(Some(rt))) = &runtime else {
                            return Err(ExportError::Runtime("no runtime".to_owned()));
                        };
                        let _entered = rt.enter();
                        grpc_exporter(config, &endpoint)
                    }
                    Protocol::HttpProtobuf => http_exporter(config, &endpoint),
                };
                let inner = built.map_err(|message| ExportError::Build {
                    exporter: label.clone(),
                    message: debug_toolbar_core::redact::mask_text(&message).into_owned(),
                })?;
                let observed = Observed {
                    label: label.clone(),
                    inner,
                    counters: counters.clone(),
                };
                (label, endpoint, processor(config, observed, &resource))
            }
            Exporter::Zipkin => {
                let label = "zipkin".to_owned();
                let endpoint = config.zipkin_endpoint.clone();
                let inner = ZipkinExporter::new(
                    &endpoint,
                    &config.zipkin_tls,
                    config.zipkin_timeout,
                    config.max_retries,
                )
                .map(|exporter| exporter.with_compression(config.zipkin_compression))
                .map_err(|message| ExportError::Build {
                    exporter: label.clone(),
                    message: debug_toolbar_core::redact::mask_text(&message).into_owned(),
                })?;
                let observed = Observed {
                    label: label.clone(),
                    inner,
                    counters: counters.clone(),
                };
                (label, endpoint, processor(config, observed, &resource))
            }
        };
        sinks.push(Sink {
            label,
            endpoint: debug_toolbar_core::redact::mask_url(&endpoint).into_owned(),
            processor,
            counters,
            max_pending: config.max_queue_size,
        });
    }
    Ok(Pipeline {
        sinks,
        scope: InstrumentationScope::builder("actix-debug-toolbar")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build(),
        shut_down: AtomicBool::new(false),
        _runtime: runtime,
    })
}

fn processor<E: SpanExporter + 'static>(
    config: &OtelConfig,
    exporter: E,
    resource: &Resource,
) -> BatchSpanProcessor {
    let mut processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                // One more than our own bound, so that the processor never drops silently.
                .with_max_queue_size(config.max_queue_size + 1)
                .with_scheduled_delay(config.scheduled_delay)
                .build(),
        )
        .build();
    processor.set_resource(resource);
    processor
}

fn retry_policy(config: &OtelConfig) -> opentelemetry_otlp::RetryPolicy {
    if config.max_retries == 0 {
        opentelemetry_otlp::RetryPolicy::disabled()
    } else {
        opentelemetry_otlp::RetryPolicy::recommended().with_max_retries(config.max_retries)
    }
}

fn otlp_compression(config: &OtelConfig) -> Option<opentelemetry_otlp::Compression> {
    match config.otlp_compression {
        Compression::None => None,
        Compression::Gzip => Some(opentelemetry_otlp::Compression::Gzip),
    }
}

fn grpc_exporter(
    config: &OtelConfig,
    endpoint: &str,
) -> Result<opentelemetry_otlp::SpanExporter, String> {
    use opentelemetry_otlp::tonic_types::metadata::MetadataMap;
    use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
    let mut headers = http::HeaderMap::with_capacity(config.otlp_headers.len());
    for (key, value) in &config.otlp_headers {
        let name = http::HeaderName::from_bytes(key.to_ascii_lowercase().as_bytes())
            .map_err(|e| format!("header {key:?}: {e}"))?;
        let value =
            http::HeaderValue::from_str(value).map_err(|e| format!("header {key:?}: {e}"))?;
        headers.insert(name, value);
    }
    let metadata = MetadataMap::from_headers(headers);
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .with_timeout(config.otlp_timeout)
        .with_retry_policy(retry_policy(config))
        .with_metadata(metadata);
    if let Some(compression) = otlp_compression(config) {
        builder = builder.with_compression(compression);
    }
    if tls::is_https(endpoint) {
        #[cfg(feature = "tls")]
        {
            builder = builder.with_tls_config(tls::grpc(&config.otlp_tls)?);
        }
        #[cfg(not(feature = "tls"))]
        return Err(tls::NO_TLS.to_owned());
    }
    builder.build().map_err(|e| e.to_string())
}

fn http_exporter(
    config: &OtelConfig,
    endpoint: &str,
) -> Result<opentelemetry_otlp::SpanExporter, String> {
    use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
    let client = tls::http_client(endpoint, &config.otlp_tls, config.otlp_timeout)?;
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(endpoint)
        .with_timeout(config.otlp_timeout)
        .with_retry_policy(retry_policy(config))
        .with_headers(config.otlp_headers.iter().cloned().collect());
    if let Some(compression) = otlp_compression(config) {
        builder = builder.with_compression(compression);
    }
    builder.build().map_err(|e| e.to_string())
}

pub(crate) fn value(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Int(i) => Value::I64(*i),
        AttributeValue::Float(f) => Value::F64(*f),
        AttributeValue::Str(s) => Value::String(s.clone().into()),
    }
}

/// The SDK's form of a span's attributes.
pub(crate) fn key_values(attributes: &[Attribute]) -> Vec<KeyValue> {
    attributes
        .iter()
        .map(|a| KeyValue::new(a.key.clone(), value(&a.value)))
        .collect()
}

/// The SDK's form of a span's kind.
pub(crate) fn span_kind(kind: Kind) -> SpanKind {
    match kind {
        Kind::Server => SpanKind::Server,
        Kind::Client => SpanKind::Client,
        Kind::Internal => SpanKind::Internal,
    }
}

/// The SDK's status of a span that failed with `error`, or did not.
pub(crate) fn status(error: Option<&String>) -> Status {
    match error {
        Some(description) => Status::error(description.clone()),
        None => Status::Unset,
    }
}

fn at(started_at: SystemTime, ms: f64) -> SystemTime {
    started_at + Duration::from_secs_f64((ms / 1000.0).max(0.0))
}

/// The SDK's form of a span of `trace`, whose server span is `server` and whose trace state is
/// `state`, ready for any exporter.
pub(crate) fn span_data(
    span: &SpanRecord,
    trace: &TraceContext,
    server: SpanId,
    state: &TraceState,
    started_at: SystemTime,
    scope: &InstrumentationScope,
) -> Option<SpanData> {
    let span_id = SpanId::from_hex(&span.span_id).ok()?;
    let is_server = span_id == server;
    let parent = span
        .parent_span_id
        .as_deref()
        .and_then(|p| SpanId::from_hex(p).ok())
        .unwrap_or(SpanId::INVALID);
    let mut events = SpanEvents::default();
    events.events = span
        .events
        .iter()
        .map(|e| {
            Event::new(
                e.name.clone(),
                at(started_at, e.offset_ms),
                key_values(&e.attributes),
                0,
            )
        })
        .collect();
    Some(SpanData {
        span_context: SpanContext::new(
            trace.trace_id(),
            span_id,
            TraceFlags::SAMPLED,
            false,
            state.clone(),
        ),
        parent_span_id: parent,
        parent_span_is_remote: is_server && trace.parent_span_id().is_some(),
        span_kind: span_kind(span.kind),
        name: span.name.clone().into(),
        start_time: at(started_at, span.start_ms),
        end_time: at(started_at, span.start_ms + span.duration_ms),
        attributes: key_values(&span.attributes),
        dropped_attributes_count: 0,
        events,
        links: SpanLinks::default(),
        status: status(span.error.as_ref()),
        instrumentation_scope: scope.clone(),
    })
}

#[cfg(test)]
mod tests {

    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{SocketAddr, TcpListener};
    use std::task::{Context, Poll, Waker};

    use opentelemetry::trace::TraceId;

    use super::*;
    use crate::span::SpanEvent;

    /// Polls `future` to the end on this thread (the exporters here block inside `export`).
    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
            std::thread::yield_now();
        }
    }

    /// An HTTP server answering its requests with `statuses` in turn (the last one after
    /// that); the bodies it received come out of the returned channel.
    fn collector(statuses: &'static [u16]) -> (SocketAddr, std::sync::mpsc::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (sender, bodies) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut answered = 0;
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                loop {
                    let mut length = 0;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            break;
                        }
                        let lower = line.to_ascii_lowercase();
                        if let Some(value) = lower.strip_prefix("content-length:") {
                            length = value.trim().parse().unwrap();
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    if line != "\r\n" {
                        break;
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let status = statuses[answered.min(statuses.len() - 1)];
                    answered += 1;
                    let _ = sender.send(String::from_utf8(body).unwrap());
                    write!(
                        writer,
                        "HTTP/1.1 {status} Whatever\r\ncontent-length: 0\r\n\r\n"
                    )
                    .unwrap();
                }
            }
        });
        (addr, bodies)
    }

    fn trace() -> TraceContext {
        TraceContext::new(
            TraceId::from_bytes([0x4b; 16]),
            SpanId::from_bytes([0x0a; 8]),
            Some(SpanId::from_bytes([0x0f; 8])),
            true,
        )
    }

    fn record(id: SpanId, parent: Option<SpanId>, name: &str) -> SpanRecord {
        SpanRecord {
            span_id: id.to_string(),
            parent_span_id: parent.map(|p| p.to_string()),
            name: name.to_owned(),
            kind: Kind::Internal,
            category: crate::Category::Internal,
            start_ms: 1.0,
            duration_ms: 2.0,
            depth: 0,
            attributes: Vec::new(),
            events: Vec::new(),
            error: None,
            captured: false,
            service: None,
            left_pct: 0.0,
            width_pct: 0.0,
        }
    }

    /// The server span of [`trace`] and a failed child with attributes of every kind and an
    /// event.
    fn spans() -> Vec<SpanRecord> {
        let trace = trace();
        let mut server = record(trace.span_id(), trace.parent_span_id(), "GET /users");
        server.kind = Kind::Server;
        let mut child = record(SpanId::from_bytes([0x0c; 8]), Some(trace.span_id()), "load");
        child.attributes = vec![
            Attribute::new("cache.hit", false),
            Attribute::new("rows", 3_i64),
            Attribute::new("ratio", 0.25),
            Attribute::new("table", "users"),
        ];
        child.events = vec![SpanEvent {
            name: "retrying".to_owned(),
            offset_ms: 1.5,
            level: Some(debug_toolbar_core::LogLevel::Warn),
            attributes: vec![Attribute::new("attempt", 2_i64)],
            left_pct: 0.0,
        }];
        child.error = Some("timed out".to_owned());
        vec![server, child]
    }

    #[test]
    fn spans_become_sdk_spans_of_the_trace() {
        let started = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let scope = InstrumentationScope::builder("actix-debug-toolbar").build();
        let data: Vec<SpanData> = spans()
            .iter()
            .map(|s| {
                span_data(
                    s,
                    &trace(),
                    trace().span_id(),
                    &TraceState::default(),
                    started,
                    &scope,
                )
                .unwrap()
            })
            .collect();
        let (server, child) = (&data[0], &data[1]);
        assert_eq!(server.span_kind, SpanKind::Server);
        assert!(server.parent_span_is_remote, "the caller's span is remote");
        assert_eq!(server.parent_span_id, SpanId::from_bytes([0x0f; 8]));
        assert_eq!(server.status, Status::Unset);
        assert_eq!(child.span_kind, SpanKind::Internal);
        assert!(!child.parent_span_is_remote);
        assert_eq!(
            child.span_context.trace_id(),
            TraceId::from_bytes([0x4b; 16])
        );
        assert_eq!(child.start_time, started + Duration::from_millis(1));
        assert_eq!(child.end_time, started + Duration::from_millis(3));
        assert_eq!(
            child.attributes,
            [
                KeyValue::new("cache.hit", false),
                KeyValue::new("rows", 3_i64),
                KeyValue::new("ratio", 0.25),
                KeyValue::new("table", "users"),
            ]
        );
        assert_eq!(child.status, Status::error("timed out"));
        let event = &child.events.events[0];
        assert_eq!(event.name, "retrying");
        assert_eq!(event.timestamp, started + Duration::from_micros(1500));
        assert_eq!(event.attributes, [KeyValue::new("attempt", 2_i64)]);

        let mut bad = record(SpanId::from_bytes([1; 8]), None, "bad");
        bad.span_id = "not hex".to_owned();
        assert!(
            span_data(
                &bad,
                &trace(),
                trace().span_id(),
                &TraceState::default(),
                started,
                &scope
            )
            .is_none()
        );
    }

    #[test]
    fn the_resource_names_the_service_its_version_and_attributes() {
        let config = OtelConfig::builder()
            .service_name("shop")
            .service_version("1.2.3")
            .resource_attribute("deployment.environment.name", "dev")
            .build();
        let resource = resource(&config);
        let get = |key: &'static str| {
            resource
                .get(&opentelemetry::Key::from_static_str(key))
                .map(|v| v.to_string())
        };
        assert_eq!(get("service.name").as_deref(), Some("shop"));
        assert_eq!(get("service.version").as_deref(), Some("1.2.3"));
        assert_eq!(get("deployment.environment.name").as_deref(), Some("dev"));
        assert_eq!(get("telemetry.sdk.language").as_deref(), Some("rust"));
        let version = get("telemetry.sdk.version").unwrap_or_default();
        assert!(
            version.starts_with("0.33."),
            "the SDK's own version: {version}"
        );
    }

    #[test]
    fn a_failing_exporter_is_counted_and_its_recovery_seen() {
        let (addr, bodies) = collector(&[500, 202]);
        let mut inner = ZipkinExporter::new(
            &format!("http://{addr}/api/v2/spans"),
            &crate::config::Tls::default(),
            Duration::from_secs(5),
            0,
        )
        .unwrap();
        inner.set_resource(&resource(
            &OtelConfig::builder().service_name("shop").build(),
        ));
        let counters = Arc::new(Counters::default());
        counters.pending.store(3, Ordering::Relaxed);
        let observed = Observed {
            label: "zipkin".to_owned(),
            inner,
            counters: counters.clone(),
        };
        let started = SystemTime::now();
        let scope = InstrumentationScope::builder("actix-debug-toolbar").build();
        let data: Vec<SpanData> = spans()
            .iter()
            .map(|s| {
                span_data(
                    s,
                    &trace(),
                    trace().span_id(),
                    &TraceState::default(),
                    started,
                    &scope,
                )
                .unwrap()
            })
            .collect();

        let failed = block_on(observed.export(data.clone())).unwrap_err();
        assert!(
            failed.to_string().contains("Zipkin answered 500"),
            "{failed}"
        );
        assert_eq!(counters.failed.load(Ordering::Relaxed), 2);
        assert!(counters.failing.load(Ordering::Relaxed));
        assert_eq!(counters.pending.load(Ordering::Relaxed), 1);
        let _ = bodies.recv_timeout(Duration::from_secs(10)).unwrap();

        block_on(observed.export(data)).unwrap();
        assert_eq!(counters.exported.load(Ordering::Relaxed), 2);
        assert!(!counters.failing.load(Ordering::Relaxed), "works again");
        assert_eq!(counters.failed_in_run.load(Ordering::Relaxed), 0);
        assert_eq!(
            counters.pending.load(Ordering::Relaxed),
            0,
            "never below zero"
        );
        let last = counters.last_error.lock().unwrap().clone();
        assert!(last.unwrap().contains("Zipkin answered 500"));

        let sent: serde_json::Value =
            serde_json::from_str(&bodies.recv_timeout(Duration::from_secs(10)).unwrap()).unwrap();
        let server = &sent[0];
        assert_eq!(server["name"], "GET /users");
        assert_eq!(server["kind"], "SERVER");
        assert_eq!(server["parentId"], "0f0f0f0f0f0f0f0f");
        assert_eq!(server["localEndpoint"]["serviceName"], "shop");
        let child = &sent[1];
        assert!(child.get("kind").is_none(), "internal spans have no kind");
        assert_eq!(child["tags"]["error"], "timed out");
        assert_eq!(child["tags"]["otel.status_code"], "ERROR");
        assert_eq!(child["tags"]["rows"], "3");
        assert_eq!(child["tags"]["otel.scope.name"], "actix-debug-toolbar");
        assert_eq!(child["annotations"][0]["value"], "retrying");
        assert_eq!(child["duration"], 2000);
    }

    #[test]
    fn an_unreachable_zipkin_is_reported_with_the_cause() {
        // Nothing listens on port 9 of loopback.
        let exporter = ZipkinExporter::new(
            "http://127.0.0.1:9/api/v2/spans",
            &crate::config::Tls::default(),
            Duration::from_secs(2),
            0,
        )
        .unwrap();
        let started = SystemTime::now();
        let scope = InstrumentationScope::builder("actix-debug-toolbar").build();
        let data = vec![
            span_data(
                &spans()[0],
                &trace(),
                trace().span_id(),
                &TraceState::default(),
                started,
                &scope,
            )
            .unwrap(),
        ];
        let error = block_on(exporter.export(data)).unwrap_err().to_string();
        assert!(error.contains("error sending request"), "{error}");
        assert!(
            error.to_ascii_lowercase().contains("refused"),
            "the cause: {error}"
        );
    }

    #[test]
    fn a_pipeline_sends_until_it_is_shut_down() {
        let (addr, bodies) = collector(&[200]);
        let config = OtelConfig::builder()
            .zipkin(format!("http://{addr}/api/v2/spans"))
            .scheduled_delay(Duration::from_millis(10))
            .build();
        let pipeline = Arc::new(Pipeline::build(&config).unwrap().expect("exports"));
        pipeline.send(&[], &trace(), SystemTime::now());
        pipeline.send(&spans(), &trace(), SystemTime::now());
        pipeline.shutdown(Duration::from_secs(5)).unwrap();
        let sent: serde_json::Value =
            serde_json::from_str(&bodies.recv_timeout(Duration::from_secs(10)).unwrap()).unwrap();
        assert_eq!(sent.as_array().unwrap().len(), 2);
        let status = pipeline.status();
        assert_eq!((status[0].exported, status[0].pending), (2, 0));
        assert_eq!(status[0].exporter, "zipkin");

        pipeline.send(&spans(), &trace(), SystemTime::now());
        assert_eq!(
            pipeline.status()[0].pending,
            0,
            "nothing is queued after shutdown"
        );
        assert_eq!(pipeline.shutdown(Duration::from_secs(1)), Ok(()));
        assert!(
            Pipeline::build(&OtelConfig::default()).unwrap().is_none(),
            "nothing to build when nothing is exported"
        );
    }
}
