//! The built-in OTLP/HTTP receiver: protobuf, JSON and gzip requests as SDKs send them, the
//! spans joined into the waterfall of the request whose trace they continue (also when they
//! arrive late, and for a callee served by the same toolbar), its bounds, its refusals, and
//! received spans shared through a PostgreSQL or Redis store.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_debug_toolbar::otel::{Category, Kind, OtelConfig, OtelPanel, OtelStats};
use actix_debug_toolbar::{
    DebugToolbar, InMemoryStore, PostgresStore, RedisStore, RequestRecord, SpanLimits, Store,
};
use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use actix_web::{App, HttpResponse, web};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;

use crate::support::{
    allowed_peer, assert_contains, body_text, get, init_tracing, refused_peer, wait_until_stored,
};

const RECEIVER: &str = "/__debug_toolbar/otlp/v1/traces";

fn now_nanos() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap()
}

fn string(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..KeyValue::default()
    }
}

/// An export request of `service`, as an SDK builds it.
fn export(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string("service.name", service)],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// A span of trace `trace` under `parent`, from `start` for 2 ms.
fn span(trace: &str, id: &str, parent: &str, name: &str, start: u64) -> Span {
    Span {
        trace_id: hex_bytes(trace),
        span_id: hex_bytes(id),
        parent_span_id: hex_bytes(parent),
        name: name.to_owned(),
        kind: SpanKind::Server as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 2_000_000,
        ..Span::default()
    }
}

/// A toolbar with the OpenTelemetry panel (no exporter) and `store`, around a page.
async fn app(
    store: Arc<dyn Store>,
) -> (
    DebugToolbar,
    impl Service<
        actix_http::Request,
        Response = ServiceResponse<EitherBody<BoxBody>>,
        Error = actix_web::Error,
    >,
) {
    init_tracing();
    let otel = OtelPanel::new(OtelConfig::builder().service_name("shop").build());
    let toolbar = DebugToolbar::new(crate::support::config().store(store).panel(otel).build());
    let service = init_service(App::new().wrap(toolbar.clone()).route(
        "/checkout",
        web::get().to(|| async {
            HttpResponse::Ok()
                .content_type("text/html")
                .body("<html><body><p>paid</p></body></html>")
        }),
    ))
    .await;
    (toolbar, service)
}

/// Requests `/checkout`, continuing trace `trace` when given; returns the record id, the trace
/// id and the server span.
async fn checkout(
    service: &impl Service<
        actix_http::Request,
        Response = ServiceResponse<EitherBody<BoxBody>>,
        Error = actix_web::Error,
    >,
    trace: Option<&str>,
) -> (String, String, String) {
    let mut request = get("/checkout");
    if let Some(trace) = trace {
        request = request.insert_header(("traceparent", format!("00-{trace}-00f067aa0ba902b7-01")));
    }
    let res = call_service(service, request.to_request()).await;
    assert_eq!(res.status(), 200);
    let id = crate::support::header(&res, "x-debug-toolbar-id").unwrap();
    let traceresponse = crate::support::header(&res, "traceresponse").unwrap();
    let mut fields = traceresponse.split('-').skip(1);
    let trace = fields.next().unwrap().to_owned();
    let server_span = fields.next().unwrap().to_owned();
    (id, trace, server_span)
}

/// A POST to the receiver from an allowed client.
fn post(content_type: &str, body: Vec<u8>) -> TestRequest {
    TestRequest::post()
        .uri(RECEIVER)
        .peer_addr(allowed_peer())
        .insert_header(("content-type", content_type))
        .set_payload(body)
}

/// The record as the JSON API returns it, and its OpenTelemetry stats.
async fn api_record(
    service: &impl Service<
        actix_http::Request,
        Response = ServiceResponse<EitherBody<BoxBody>>,
        Error = actix_web::Error,
    >,
    id: &str,
) -> OtelStats {
    let res = call_service(
        service,
        get(&format!("/__debug_toolbar/api/requests/{id}")).to_request(),
    )
    .await;
    assert_eq!(res.status(), 200);
    let record: RequestRecord = serde_json::from_slice(&read_body(res).await).unwrap();
    record.stats::<OtelPanel>().unwrap().unwrap()
}

#[track_caller]
fn find<'a>(stats: &'a OtelStats, span_id: &str) -> &'a actix_debug_toolbar::otel::SpanRecord {
    stats
        .spans
        .iter()
        .find(|s| s.span_id == span_id)
        .unwrap_or_else(|| panic!("span {span_id} in {:#?}", stats.spans))
}

#[actix_web::test]
async fn protobuf_gzip_and_json_requests_join_the_waterfall_of_their_trace_even_when_late() {
    let (toolbar, service) = app(Arc::new(InMemoryStore::new(25))).await;
    let trace = "5bf92f3577b34da6a3ce929d0e0e4736";
    let (id, _, server_span) = checkout(&service, Some(trace)).await;
    wait_until_stored(&toolbar, &id).await;
    let before = api_record(&service, &id).await;
    assert_eq!(before.spans.len(), 1, "only the request's own span yet");
    assert_eq!(before.received.spans, 0);

    // After the page was served: a downstream service exports as the SDKs do.
    let start = now_nanos();
    let mut charge = span(
        trace,
        "00000000000000a1",
        &server_span,
        "POST /charge",
        start,
    );
    charge.attributes = vec![
        string("http.request.method", "POST"),
        string("api_key", "sk_live_123"),
    ];
    charge.events = vec![Event {
        time_unix_nano: start + 1_000_000,
        name: "card checked".to_owned(),
        attributes: vec![string("card.brand", "visa")],
        ..Event::default()
    }];
    charge.status = Some(Status {
        message: "card declined".to_owned(),
        code: StatusCode::Error as i32,
    });
    let protobuf = export("billing", vec![charge]).encode_to_vec();
    let res = call_service(
        &service,
        post("application/x-protobuf", protobuf).to_request(),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        crate::support::header(&res, "content-type").unwrap(),
        "application/x-protobuf"
    );
    let answer = ExportTraceServiceResponse::decode(read_body(res).await).unwrap();
    assert_eq!(answer.partial_success, None, "everything was taken");

    let mut query = span(
        trace,
        "00000000000000a2",
        "00000000000000a1",
        "SELECT cards",
        start,
    );
    query.kind = SpanKind::Client as i32;
    query.attributes = vec![string("db.system.name", "postgresql")];
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&export("billing", vec![query]).encode_to_vec())
        .unwrap();
    let res = call_service(
        &service,
        post("application/x-protobuf", gz.finish().unwrap())
            .insert_header(("content-encoding", "gzip"))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), 200);

    // OTLP/JSON as written by hand: hex ids, integer kinds, nanoseconds as strings.
    let json = serde_json::json!({
        "resourceSpans": [{
            "resource": {"attributes": [
                {"key": "service.name", "value": {"stringValue": "mailer"}}
            ]},
            "scopeSpans": [{"spans": [{
                "traceId": trace,
                "spanId": "00000000000000a3",
                "parentSpanId": server_span,
                "name": "send receipt",
                "kind": 4,
                "startTimeUnixNano": (start + 3_000_000).to_string(),
                "endTimeUnixNano": (start + 4_000_000).to_string(),
                "attributes": [{"key": "messaging.batch.message_count", "value": {"intValue": "1"}}]
            }]}]
        }]
    });
    let res = call_service(
        &service,
        post("application/json", serde_json::to_vec(&json).unwrap()).to_request(),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        crate::support::header(&res, "content-type").unwrap(),
        "application/json"
    );
    assert_eq!(body_text(res).await, "{}");

    let joined = api_record(&service, &id).await;
    assert_eq!(joined.received.spans, 3);
    assert_eq!(joined.spans.len(), 4, "{:#?}", joined.spans);
    assert_eq!(
        joined.spans[0].span_id, server_span,
        "the server span leads"
    );
    let charge = find(&joined, "00000000000000a1");
    assert_eq!(charge.service.as_deref(), Some("billing"));
    assert_eq!(charge.parent_span_id.as_deref(), Some(server_span.as_str()));
    assert_eq!((charge.kind, charge.depth), (Kind::Server, 1));
    assert_eq!(charge.error.as_deref(), Some("card declined"));
    assert_eq!(charge.attribute("api_key").unwrap().to_string(), "********");
    assert_eq!(charge.events[0].name, "card checked");
    assert!((charge.duration_ms - 2.0).abs() < 1e-6);
    let query = find(&joined, "00000000000000a2");
    assert_eq!((query.category, query.depth), (Category::Db, 2));
    let mail = find(&joined, "00000000000000a3");
    assert_eq!(mail.service.as_deref(), Some("mailer"));
    assert_eq!(
        mail.attribute("messaging.batch.message_count")
            .unwrap()
            .to_string(),
        "1"
    );

    // The panel shows them when opened again, with their services.
    let res = call_service(
        &service,
        get(&crate::support::panel_uri(&id, "otel")).to_request(),
    )
    .await;
    let html = body_text(res).await;
    assert_contains(&html, "data-wf-service>billing</span>");
    assert_contains(&html, r#"data-received="3""#);
    assert_contains(&html, "send receipt");
    assert!(!html.contains("sk_live_123"), "secrets stay masked");
}

#[actix_web::test]
async fn spans_past_the_bounds_are_dropped_counted_and_shown() {
    let limits = SpanLimits {
        max_traces: 2,
        max_spans_per_trace: 3,
        max_bytes_per_trace: 1 << 20,
    };
    let (toolbar, service) = app(Arc::new(InMemoryStore::with_span_limits(25, limits))).await;
    let (id, trace, server_span) = checkout(&service, None).await;
    let trace = trace.as_str();
    wait_until_stored(&toolbar, &id).await;
    let start = now_nanos();
    let spans = (1..=5)
        .map(|n| span(trace, &format!("{n:016x}"), &server_span, "work", start))
        .collect();
    let res = call_service(
        &service,
        post(
            "application/x-protobuf",
            export("worker", spans).encode_to_vec(),
        )
        .to_request(),
    )
    .await;
    assert_eq!(res.status(), 200);
    let partial = ExportTraceServiceResponse::decode(read_body(res).await)
        .unwrap()
        .partial_success
        .expect("a partial success");
    assert_eq!(partial.rejected_spans, 2);
    assert_contains(&partial.error_message, "2 of trace");
    let joined = api_record(&service, &id).await;
    assert_eq!((joined.received.spans, joined.received.dropped), (3, 2));
    let html = body_text(
        call_service(
            &service,
            get(&crate::support::panel_uri(&id, "otel")).to_request(),
        )
        .await,
    )
    .await;
    assert_contains(&html, r#"data-received-dropped="2""#);

    // Two more traces: the oldest (this one) is evicted whole.
    for other in [
        "7bf92f3577b34da6a3ce929d0e0e4736",
        "8bf92f3577b34da6a3ce929d0e0e4736",
    ] {
        let body = export(
            "worker",
            vec![span(
                other,
                "0000000000000001",
                "0000000000000002",
                "x",
                start,
            )],
        );
        accepted(
            &service,
            post("application/x-protobuf", body.encode_to_vec()),
        )
        .await;
    }
    let evicted = api_record(&service, &id).await;
    assert_eq!((evicted.spans.len(), evicted.received.spans), (1, 0));
}

#[actix_web::test]
async fn the_receiver_refuses_other_clients_hosts_sites_and_bodies() {
    let (_toolbar, service) = app(Arc::new(InMemoryStore::new(25))).await;
    let body = || {
        export(
            "x",
            vec![span(
                "9bf92f3577b34da6a3ce929d0e0e4736",
                "0000000000000001",
                "",
                "x",
                1,
            )],
        )
        .encode_to_vec()
    };
    let cases: Vec<(&str, TestRequest, u16)> = vec![
        (
            "a client outside the allowed networks",
            post("application/x-protobuf", body()).peer_addr(refused_peer()),
            404,
        ),
        (
            "a foreign Host (DNS rebinding)",
            post("application/x-protobuf", body()).insert_header(("host", "evil.example")),
            404,
        ),
        (
            "a form's content type, which needs no CORS preflight",
            post("text/plain", body()),
            415,
        ),
        (
            "a cross-site browser request",
            post("application/json", b"{}".to_vec())
                .insert_header(("sec-fetch-site", "cross-site")),
            403,
        ),
        (
            "another origin",
            post("application/json", b"{}".to_vec())
                .insert_header(("host", "127.0.0.1:8080"))
                .insert_header(("origin", "http://evil.example")),
            403,
        ),
        (
            "an unknown content coding",
            post("application/x-protobuf", body()).insert_header(("content-encoding", "br")),
            415,
        ),
        (
            "a body that is not an export request",
            post("application/json", b"[1, 2]".to_vec()),
            400,
        ),
        (
            "a GET",
            TestRequest::get().uri(RECEIVER).peer_addr(allowed_peer()),
            404,
        ),
    ];
    for (case, request, status) in cases {
        let res = call_service(&service, request.to_request()).await;
        assert_eq!(res.status().as_u16(), status, "{case}");
    }
    // The toolbar's own script, marked and same-origin, is accepted.
    let res = call_service(
        &service,
        post("application/json", b"{}".to_vec())
            .insert_header(("host", "127.0.0.1:8080"))
            .insert_header(("origin", "http://127.0.0.1:8080"))
            .insert_header(("sec-fetch-site", "same-origin"))
            .insert_header(("x-debug-toolbar-action", "1"))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn a_callee_served_by_the_same_toolbar_joins_its_callers_waterfall() {
    let otel = crate::otel::panel(OtelConfig::builder());
    let (base, toolbar, handle) = crate::otel::demo_server(&otel).await;
    let client = awc::Client::default();
    let res = client.get(format!("{base}/outgoing")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let id = res
        .headers()
        .get("x-debug-toolbar-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    wait_until_stored(&toolbar, &id).await;
    let mut joined = None;
    for _ in 0..100 {
        let mut res = client
            .get(format!("{base}/__debug_toolbar/api/requests/{id}"))
            .send()
            .await
            .unwrap();
        let record: RequestRecord = res.json().limit(1 << 24).await.unwrap();
        let stats = record.stats::<OtelPanel>().unwrap().unwrap();
        if stats.spans.iter().any(|s| s.name == "GET /api/users") {
            joined = Some(stats);
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    let joined = joined.expect("the callee's spans join the caller's waterfall");
    let call = joined
        .spans
        .iter()
        .find(|s| s.category == Category::Http && s.service.is_none())
        .expect("the caller's client span");
    let callee = joined
        .spans
        .iter()
        .find(|s| s.name == "GET /api/users")
        .unwrap();
    assert_eq!(
        callee.parent_span_id.as_deref(),
        Some(call.span_id.as_str())
    );
    assert_eq!(callee.service.as_deref(), Some("demo-under-test"));
    assert_eq!(callee.depth, call.depth + 1);
    assert!(
        joined
            .spans
            .iter()
            .any(|s| s.category == Category::Db && s.service.is_some()),
        "the callee's queries come along: {:#?}",
        joined.spans
    );
    handle.stop(true).await;
    let _ = crate::otel::shut_down(&otel).await;
}

/// Two instances on one shared store: spans received by the second show in a record the
/// first served.
async fn received_spans_are_shared(first_store: Arc<dyn Store>, second_store: Arc<dyn Store>) {
    let (first_toolbar, first) = app(first_store).await;
    let (_second_toolbar, second) = app(second_store).await;
    let (id, trace, server_span) = checkout(&first, None).await;
    wait_until_stored(&first_toolbar, &id).await;
    let body = export(
        "billing",
        vec![span(
            &trace,
            "00000000000000b1",
            &server_span,
            "POST /charge",
            now_nanos(),
        )],
    );
    accepted(
        &second,
        post("application/x-protobuf", body.encode_to_vec()),
    )
    .await;
    let joined = api_record(&first, &id).await;
    let charge = find(&joined, "00000000000000b1");
    assert_eq!(charge.service.as_deref(), Some("billing"));
}

const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[actix_web::test]
#[ignore = "needs PostgreSQL on 127.0.0.1:5432 with database test (started by .ci/run)"]
async fn received_spans_are_shared_through_postgres() {
    let pool = sqlx::PgPool::connect(POSTGRES_URL)
        .await
        .expect("PostgreSQL is up");
    let store = || Arc::new(PostgresStore::new(pool.clone(), "dt_receiver_shared", 25).unwrap());
    received_spans_are_shared(store(), store()).await;
}

#[actix_web::test]
#[ignore = "needs Redis on 127.0.0.1:6379 (started by .ci/run)"]
async fn received_spans_are_shared_through_redis() {
    let store = || Arc::new(RedisStore::open("redis://127.0.0.1:6379/", 25).unwrap());
    received_spans_are_shared(store(), store()).await;
}

/// A downstream service on the official OpenTelemetry Python SDK, configured with the standard
/// variables only, continues a page's trace and exports (gzip) to the receiver.
/// A billing service on the official OpenTelemetry Python SDK: an HTTP server that answers one
/// `POST /charge`, continuing the caller's trace from its headers, with a child span for a
/// query; it exports with the SDK's OTLP/HTTP exporter, configured by the standard variables
/// only. It prints its port, then serves.
const PYTHON_SERVICE: &str = r#"
from http.server import BaseHTTPRequestHandler, HTTPServer
from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

provider = TracerProvider()
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
tracer = provider.get_tracer("billing")

class Billing(BaseHTTPRequestHandler):
    def do_POST(self):
        caller = propagate.extract({k.lower(): v for k, v in self.headers.items()})
        with tracer.start_as_current_span("POST /charge", context=caller, kind=trace.SpanKind.SERVER) as span:
            span.set_attribute("http.request.method", "POST")
            with tracer.start_as_current_span("SELECT cards", kind=trace.SpanKind.CLIENT) as query:
                query.set_attribute("db.system.name", "postgresql")
        self.send_response(200)
        self.send_header("content-length", "7")
        self.end_headers()
        self.wfile.write(b"charged")

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", 0), Billing)
print(server.server_address[1], flush=True)
server.handle_request()
provider.shutdown()
"#;

/// A page that charges through the billing service, with the toolbar's `awc` helper.
async fn pay(req: actix_web::HttpRequest, billing: web::Data<String>) -> HttpResponse {
    let client = awc::Client::default();
    let sent = actix_debug_toolbar::otel::awc::send(&req, client.post(billing.as_str()), |call| {
        call.send()
    })
    .await;
    let status = sent.map(|res| res.status().as_u16()).unwrap_or(0);
    HttpResponse::Ok().content_type("text/html").body(format!(
        "<html><body><p>billing answered {status}</p></body></html>"
    ))
}

#[actix_web::test]
#[ignore = "needs python3 with opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http (installed by .ci/run)"]
async fn a_python_service_called_from_a_page_joins_its_waterfall() {
    use std::io::BufRead;

    init_tracing();
    let otel = OtelPanel::new(OtelConfig::builder().service_name("shop").build());
    let toolbar = DebugToolbar::new(
        crate::support::config()
            .store(Arc::new(InMemoryStore::new(10)))
            .panel(otel)
            .build(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());

    // The service exports to the toolbar's receiver: the one variable a user sets.
    let mut python = std::process::Command::new("python3")
        .args(["-c", PYTHON_SERVICE])
        .env("OTEL_SERVICE_NAME", "py-billing")
        .env(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("{base}{RECEIVER}"),
        )
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut port = String::new();
    std::io::BufReader::new(python.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let billing = format!("http://127.0.0.1:{}/charge", port.trim());

    let app_toolbar = toolbar.clone();
    let handle = crate::support::serve(listener, move || {
        App::new()
            .wrap(app_toolbar.clone())
            .app_data(web::Data::new(billing.clone()))
            .route("/pay", web::get().to(pay))
    });

    let mut res = awc::Client::default()
        .get(format!("{base}/pay"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_contains(
        &String::from_utf8_lossy(&res.body().await.unwrap()),
        "billing answered 200",
    );
    let id = res
        .headers()
        .get("x-debug-toolbar-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let status = actix_web::rt::task::spawn_blocking(move || python.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "the billing service exits cleanly");

    // The service's spans arrive after the page was served: the record read now has them.
    wait_until_stored(&toolbar, &id).await;
    let mut res = awc::Client::default()
        .get(format!("{base}/__debug_toolbar/api/requests/{id}"))
        .send()
        .await
        .unwrap();
    let record: RequestRecord = res.json().limit(1 << 24).await.unwrap();
    let stats = record.stats::<OtelPanel>().unwrap().unwrap();
    let call = stats
        .spans
        .iter()
        .find(|s| s.category == Category::Http)
        .unwrap_or_else(|| panic!("the page's call in {:#?}", stats.spans));
    let charge = stats
        .spans
        .iter()
        .find(|s| s.name == "POST /charge")
        .unwrap_or_else(|| panic!("the service's span in {:#?}", stats.spans));
    assert_eq!(charge.service.as_deref(), Some("py-billing"));
    assert_eq!(
        charge.parent_span_id.as_deref(),
        Some(call.span_id.as_str()),
        "under the page's outgoing call"
    );
    let query = stats
        .spans
        .iter()
        .find(|s| s.name == "SELECT cards")
        .expect("its child");
    assert_eq!(query.service.as_deref(), Some("py-billing"));
    assert_eq!(
        query.parent_span_id.as_deref(),
        Some(charge.span_id.as_str())
    );
    assert_eq!(
        (query.category, query.depth),
        (Category::Db, charge.depth + 1)
    );
    assert_eq!(stats.received.spans, 2);
    handle.stop(true).await;
}

/// Sends one span of `from` (`browser`: the toolbar's script, which marks what it sends as it
/// marks its actions) continuing `trace` under `parent` to the receiver.
async fn receive(
    service: &impl Service<
        actix_http::Request,
        Response = ServiceResponse<EitherBody<BoxBody>>,
        Error = actix_web::Error,
    >,
    from: &str,
    trace: &str,
    id: &str,
    parent: &str,
) {
    let body = export(
        from,
        vec![span(trace, id, parent, "from elsewhere", now_nanos())],
    );
    let mut request = post("application/x-protobuf", body.encode_to_vec());
    if from == "browser" {
        request = request.insert_header(("x-debug-toolbar-action", "1"));
    }
    accepted(service, request).await;
}

/// Sends `request` to the receiver, which must accept it.
async fn accepted(
    service: &impl Service<
        actix_http::Request,
        Response = ServiceResponse<EitherBody<BoxBody>>,
        Error = actix_web::Error,
    >,
    request: TestRequest,
) {
    let res = call_service(service, request.to_request()).await;
    assert_eq!(res.status(), 200, "{}", body_text(res).await);
}

#[actix_web::test]
async fn received_spans_are_exported_again_only_when_forwarding_is_on_but_the_browser_s_always_are()
{
    use crate::otel::receivers::{Receivers, Wire};
    init_tracing();
    for forward in [false, true] {
        let receivers = Receivers::start();
        let otel = crate::otel::panel(
            OtelConfig::builder()
                .otlp(
                    actix_debug_toolbar::otel::Protocol::HttpProtobuf,
                    receivers.http_endpoint.clone(),
                )
                .forward_received(forward),
        );
        let toolbar = DebugToolbar::new(
            crate::support::config()
                .store(Arc::new(InMemoryStore::new(5)))
                .panel(otel.clone())
                .build(),
        );
        let service = init_service(App::new().wrap(toolbar.clone()).route(
            "/checkout",
            web::get().to(|| async { HttpResponse::Ok().body("paid") }),
        ))
        .await;
        let (_, trace, server) = checkout(&service, None).await;
        receive(&service, "billing", &trace, "b000000000000001", &server).await;
        receive(&service, "browser", &trace, "b000000000000002", &server).await;
        receivers.wait_for(
            Wire::Http,
            &trace,
            2 + usize::from(forward),
            Duration::from_secs(5),
        );
        crate::otel::shut_down(&otel).await.expect("flushed");
        // Everything the exporters had, the request's own and the forwarders' alike.
        let arrived = receivers.spans(Wire::Http, &trace);
        let service_of = |id: &str| {
            arrived
                .iter()
                .find(|s| s.span_id == id)
                .map(|s| s.service_name.as_str())
        };
        assert_eq!(service_of(&server), Some("demo-under-test"), "{arrived:#?}");
        assert_eq!(
            service_of("b000000000000002"),
            Some("demo-under-test-browser"),
            "the browser's spans are exported under its name (forward: {forward})"
        );
        assert_eq!(
            service_of("b000000000000001"),
            forward.then_some("billing"),
            "another service's spans are exported again only when forwarding is on"
        );
    }
}
