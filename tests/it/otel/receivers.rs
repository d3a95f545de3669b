//! In-process trace receivers that decode the real wire formats: OTLP over gRPC (tonic and the
//! generated `TraceService` server), OTLP over HTTP/protobuf (`POST /v1/traces`) and Zipkin v2
//! JSON (`POST /api/v2/spans`), plus an echo route that records the headers of calls made to it.
//! Each runs on a thread and runtime of its own and stops when dropped.
//!
//! [`Setup`] makes them refuse the first batches the way a restarting collector does (gRPC
//! `UNAVAILABLE` with `RetryInfo`, HTTP `503` with `Retry-After`), and serve TLS with a
//! certificate the test made, asking clients for theirs.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::pki::Pki;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message;

/// Which receiver a span arrived at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wire {
    Grpc,
    Http,
    Zipkin,
}

/// A span as it arrived, in one shape for all three formats.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) wire: Wire,
    pub(crate) service_name: String,
    pub(crate) trace_id: String,
    pub(crate) span_id: String,
    pub(crate) parent_id: Option<String>,
    pub(crate) name: String,
    /// `server`, `client` or `internal`.
    pub(crate) kind: String,
    pub(crate) start_unix_nanos: u64,
    pub(crate) end_unix_nanos: u64,
    pub(crate) attributes: BTreeMap<String, String>,
    pub(crate) events: Vec<String>,
    pub(crate) error: bool,
    /// The whole span as decoded, for checks of everything it carries.
    pub(crate) payload: String,
}

/// A call the echo route received.
#[derive(Debug, Clone)]
pub(crate) struct Echo {
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) body: serde_json::Value,
}

type Spans = Arc<Mutex<Vec<Received>>>;

/// How the receivers behave besides accepting.
#[derive(Default)]
pub(crate) struct Setup<'a> {
    /// How many batches each receiver refuses (retryably, asking for a 1 s wait) before it
    /// accepts.
    pub(crate) refuse_first: usize,
    /// Serve TLS with this PKI's server certificate, and ask clients for a certificate.
    pub(crate) tls: Option<&'a Pki>,
}

/// One batch as it reached a receiver.
#[derive(Debug, Clone)]
pub(crate) struct Arrival {
    pub(crate) wire: Wire,
    pub(crate) at: Instant,
    pub(crate) accepted: bool,
    /// The request's `Content-Encoding` (`grpc-encoding` for gRPC), if any.
    pub(crate) encoding: Option<String>,
}

/// Counts batches per receiver and decides which are refused.
#[derive(Clone, Default)]
struct Door {
    refuse_first: usize,
    seen: Arc<Mutex<BTreeMap<&'static str, usize>>>,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
}

impl Door {
    /// Notes a batch at `wire`; whether it is accepted.
    fn knock(&self, wire: Wire, encoding: Option<String>) -> bool {
        let name = match wire {
            Wire::Grpc => "grpc",
            Wire::Http => "http",
            Wire::Zipkin => "zipkin",
        };
        let mut seen = self.seen.lock().unwrap();
        let count = seen.entry(name).or_default();
        *count += 1;
        let accepted = *count > self.refuse_first;
        self.arrivals.lock().unwrap().push(Arrival {
            wire,
            at: Instant::now(),
            accepted,
            encoding,
        });
        accepted
    }
}

/// `503 Service Unavailable` asking for a retry after one second.
///
/// (Bodies arrive decoded: actix-web decompresses a `Content-Encoding: gzip` payload.)
fn unavailable() -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .insert_header(("retry-after", "1"))
        .finish()
}

fn content_encoding(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The three receivers and the echo route.
pub(crate) struct Receivers {
    pub(crate) grpc_endpoint: String,
    pub(crate) http_endpoint: String,
    pub(crate) zipkin_endpoint: String,
    pub(crate) echo_url: String,
    spans: Spans,
    echoes: Arc<Mutex<Vec<Echo>>>,
    door: Door,
    grpc_stop: Option<tokio::sync::oneshot::Sender<()>>,
    http_system: Option<actix_web::rt::System>,
}

impl Drop for Receivers {
    fn drop(&mut self) {
        if let Some(stop) = self.grpc_stop.take() {
            let _ = stop.send(());
        }
        if let Some(system) = self.http_system.take() {
            system.stop();
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn any_value(value: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn decode_otlp(wire: Wire, request: &ExportTraceServiceRequest) -> Vec<Received> {
    let mut out = Vec::new();
    for resource_spans in &request.resource_spans {
        let service_name = resource_spans
            .resource
            .as_ref()
            .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
            .map(|kv| any_value(kv.value.as_ref()))
            .unwrap_or_default();
        for scope in &resource_spans.scope_spans {
            for span in &scope.spans {
                out.push(Received {
                    wire,
                    service_name: service_name.clone(),
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_id: (!span.parent_span_id.is_empty()).then(|| hex(&span.parent_span_id)),
                    name: span.name.clone(),
                    kind: match span.kind {
                        1 => "internal",
                        2 => "server",
                        3 => "client",
                        _ => "other",
                    }
                    .to_owned(),
                    start_unix_nanos: span.start_time_unix_nano,
                    end_unix_nanos: span.end_time_unix_nano,
                    attributes: span
                        .attributes
                        .iter()
                        .map(|kv| (kv.key.clone(), any_value(kv.value.as_ref())))
                        .collect(),
                    events: span.events.iter().map(|e| e.name.clone()).collect(),
                    // 2 = STATUS_CODE_ERROR
                    error: span.status.as_ref().is_some_and(|s| s.code == 2),
                    payload: format!("{span:?}"),
                });
            }
        }
    }
    out
}

fn decode_zipkin(body: &serde_json::Value) -> Vec<Received> {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    body.as_array()
        .into_iter()
        .flatten()
        .map(|span| {
            let timestamp = span["timestamp"].as_u64().unwrap_or(0) * 1000;
            let duration = span["duration"].as_u64().unwrap_or(0) * 1000;
            let tags: BTreeMap<String, String> = span["tags"]
                .as_object()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), text(v))).collect())
                .unwrap_or_default();
            Received {
                wire: Wire::Zipkin,
                service_name: text(&span["localEndpoint"]["serviceName"]),
                trace_id: text(&span["traceId"]),
                span_id: text(&span["id"]),
                parent_id: span.get("parentId").map(text),
                name: text(&span["name"]),
                kind: span
                    .get("kind")
                    .map_or("internal".to_owned(), |k| text(k).to_ascii_lowercase()),
                start_unix_nanos: timestamp,
                end_unix_nanos: timestamp + duration,
                error: tags.contains_key("error"),
                attributes: tags,
                events: span["annotations"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| text(&a["value"]))
                    .collect(),
                payload: span.to_string(),
            }
        })
        .collect()
}

struct Collector(Spans, Door);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        use tonic_types::{ErrorDetails, StatusExt};
        let encoding = request
            .metadata()
            .get("grpc-encoding")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if !self.1.knock(Wire::Grpc, encoding) {
            return Err(tonic::Status::with_error_details(
                tonic::Code::Unavailable,
                "restarting",
                ErrorDetails::with_retry_info(Some(Duration::from_secs(1))),
            ));
        }
        let spans = decode_otlp(Wire::Grpc, request.get_ref());
        self.0.lock().unwrap().extend(spans);
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[derive(Clone)]
struct HttpState {
    spans: Spans,
    echoes: Arc<Mutex<Vec<Echo>>>,
    door: Door,
}

async fn otlp_http(
    state: web::Data<HttpState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    if !state.door.knock(Wire::Http, content_encoding(&req)) {
        return unavailable();
    }
    match ExportTraceServiceRequest::decode(body) {
        Ok(request) => {
            state
                .spans
                .lock()
                .unwrap()
                .extend(decode_otlp(Wire::Http, &request));
            HttpResponse::Ok()
                .content_type("application/x-protobuf")
                .body(
                    ExportTraceServiceResponse {
                        partial_success: None,
                    }
                    .encode_to_vec(),
                )
        }
        Err(e) => HttpResponse::BadRequest().body(e.to_string()),
    }
}

async fn zipkin(state: web::Data<HttpState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    if !state.door.knock(Wire::Zipkin, content_encoding(&req)) {
        return unavailable();
    }
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(json) => {
            state.spans.lock().unwrap().extend(decode_zipkin(&json));
            HttpResponse::Accepted().finish()
        }
        Err(e) => HttpResponse::BadRequest().body(e.to_string()),
    }
}

async fn echo(state: web::Data<HttpState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    state.echoes.lock().unwrap().push(Echo { headers, body });
    HttpResponse::Ok().finish()
}

impl Receivers {
    /// Starts every receiver on a free loopback port.
    pub(crate) fn start() -> Self {
        Self::start_with(Setup::default())
    }

    /// Starts every receiver on a free loopback port, set up as `setup` says.
    pub(crate) fn start_with(setup: Setup<'_>) -> Self {
        let spans: Spans = Arc::default();
        let echoes: Arc<Mutex<Vec<Echo>>> = Arc::default();
        let door = Door {
            refuse_first: setup.refuse_first,
            ..Door::default()
        };
        let scheme = if setup.tls.is_some() { "https" } else { "http" };

        let (grpc_stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let collector = Collector(spans.clone(), door.clone());
        let grpc_tls = setup.tls.map(Pki::tonic_server);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                port_tx.send(listener.local_addr().unwrap().port()).unwrap();
                let mut server = tonic::transport::Server::builder();
                if let Some(tls) = grpc_tls {
                    server = server.tls_config(tls).unwrap();
                }
                server
                    .serve_with_incoming_shutdown(
                        TraceServiceServer::new(collector)
                            .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
                        tonic::transport::server::TcpIncoming::from(listener),
                        async move {
                            let _ = stopped.await;
                        },
                    )
                    .await
                    .unwrap();
            });
        });
        let grpc_port = port_rx.recv().unwrap();

        let state = HttpState {
            spans: spans.clone(),
            echoes: echoes.clone(),
            door: door.clone(),
        };
        let http_tls = setup.tls.map(Pki::rustls_server);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                let port = listener.local_addr().unwrap().port();
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(web::Data::new(state.clone()))
                        .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
                        .route("/v1/traces", web::post().to(otlp_http))
                        .route("/api/v2/spans", web::post().to(zipkin))
                        .route("/echo", web::post().to(echo))
                })
                .workers(1)
                .disable_signals();
                let server = match http_tls {
                    Some(tls) => server.listen_rustls_0_23(listener, tls),
                    None => server.listen(listener),
                }
                .unwrap()
                .run();
                tx.send((port, actix_web::rt::System::current())).unwrap();
                let _ = server.await;
            });
        });
        let (http_port, http_system) = rx.recv().unwrap();
        Self {
            grpc_endpoint: format!("{scheme}://127.0.0.1:{grpc_port}"),
            http_endpoint: format!("{scheme}://127.0.0.1:{http_port}/v1/traces"),
            zipkin_endpoint: format!("{scheme}://127.0.0.1:{http_port}/api/v2/spans"),
            echo_url: format!("{scheme}://127.0.0.1:{http_port}/echo"),
            spans,
            echoes,
            door,
            grpc_stop: Some(grpc_stop),
            http_system: Some(http_system),
        }
    }

    /// The spans that arrived at `wire`'s receiver for trace `trace_id`.
    pub(crate) fn spans(&self, wire: Wire, trace_id: &str) -> Vec<Received> {
        self.spans
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.wire == wire && s.trace_id == trace_id)
            .cloned()
            .collect()
    }

    /// Waits up to `timeout` until `wire`'s receiver has at least `count` spans of `trace_id`.
    pub(crate) fn wait_for(
        &self,
        wire: Wire,
        trace_id: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<Received> {
        let until = Instant::now() + timeout;
        loop {
            let spans = self.spans(wire, trace_id);
            if spans.len() >= count || Instant::now() > until {
                return spans;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every batch that reached a receiver, refused or accepted, in order.
    pub(crate) fn arrivals(&self) -> Vec<Arrival> {
        self.door.arrivals.lock().unwrap().clone()
    }

    /// The calls the echo route received.
    pub(crate) fn echoes(&self) -> Vec<Echo> {
        self.echoes.lock().unwrap().clone()
    }
}
