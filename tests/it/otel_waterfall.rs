//! The OpenTelemetry panel's waterfall for what a handler does besides queries and renders:
//! outgoing calls through the `awc` and header helpers (sent, refused, answered with an error),
//! errors logged inside spans, spans still open at the response, routes without a pattern;
//! what the panel says when nothing is exported; and a hostile span name, escaped.

use std::net::TcpListener;
use std::time::Duration;

use actix_debug_toolbar::DebugToolbar;
use actix_debug_toolbar::otel::{
    self, AttributeValue, Category, ExportError, Kind, OtelConfig, OtelPanel, OtelStats, Protocol,
    Sampling, SpanRecord,
};
use actix_debug_toolbar::panels::LogLevel;
use actix_web::test::{TestRequest, call_service, init_service};
use actix_web::{App, HttpRequest, HttpResponse, web};
use tracing::Instrument;

use crate::support::{
    assert_contains, assert_lacks, body_text, config, get, header, init_tracing, panel_uri,
    refused_peer, stored_stats,
};

/// A server that answers every request with 404 and the `traceparent` it was sent, if any.
fn upstream() -> (String, actix_web::dev::ServerHandle) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = crate::support::serve(listener, || {
        App::new().default_service(web::to(|req: HttpRequest| async move {
            let traceparent = req
                .headers()
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("none")
                .to_owned();
            HttpResponse::NotFound().body(traceparent)
        }))
    });
    (format!("http://{addr}"), handle)
}

/// The span id a `traceparent` names.
fn span_id_of(traceparent: &str) -> &str {
    traceparent.split('-').nth(2).expect("a traceparent")
}

/// What the handler of `/calls` sent where, for the test to find in the waterfall.
#[derive(serde::Serialize, serde::Deserialize)]
struct Sent {
    /// `traceparent` of the call made at the top of the handler.
    top: String,
    /// `traceparent` of the call made inside the `checkout` span.
    nested: String,
    /// `traceparent` the upstream received from `awc::send`.
    upstream_saw: String,
}

/// Makes outgoing calls every way the toolbar offers, logs inside a span, leaves a span open
/// and answers 503.
async fn calls(req: HttpRequest, upstream: web::Data<String>) -> HttpResponse {
    let top = otel::outgoing_headers(&req, "PUT", "http://inventory.test:8080/items");
    let nested = tracing::info_span!("checkout", db.namespace = "shop").in_scope(|| {
        tracing::error!("payment declined");
        tracing::info!(order = 7_u64);
        otel::outgoing_headers(&req, "POST", "http://payments.test/charge")
    });
    let client = awc::Client::default();
    let refused = otel::awc::send(&req, client.get("http://127.0.0.1:9/down"), |c| c.send()).await;
    assert!(refused.is_err(), "nothing listens on port 9");
    let mut answered = otel::awc::send(
        &req,
        client.get(format!("{}/missing", upstream.get_ref())),
        |c| c.send(),
    )
    .await
    .expect("upstream answers");
    assert_eq!(answered.status(), 404);
    let upstream_saw = String::from_utf8(answered.body().await.unwrap().to_vec()).unwrap();
    // Work that outlives the response: its span is still open when the stats are made.
    let background = tracing::info_span!("background");
    actix_web::rt::spawn(
        async { actix_web::rt::time::sleep(Duration::from_millis(50)).await }
            .instrument(background),
    );
    let pairs = |headers: Vec<(&'static str, String)>| {
        headers
            .into_iter()
            .find(|(name, _)| *name == "traceparent")
            .map(|(_, value)| value)
            .unwrap_or_default()
    };
    HttpResponse::ServiceUnavailable().json(Sent {
        top: pairs(top),
        nested: pairs(nested),
        upstream_saw,
    })
}

#[track_caller]
fn span<'a>(stats: &'a OtelStats, name: &str) -> &'a SpanRecord {
    stats
        .spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name:?} among {:#?}", names(stats)))
}

#[track_caller]
fn with_id<'a>(stats: &'a OtelStats, id: &str) -> &'a SpanRecord {
    stats
        .spans
        .iter()
        .find(|s| s.span_id == id)
        .unwrap_or_else(|| panic!("no span {id} among {:#?}", names(stats)))
}

fn names(stats: &OtelStats) -> Vec<&str> {
    stats.spans.iter().map(|s| s.name.as_str()).collect()
}

/// Attribute `key` of `span` as text.
#[track_caller]
fn attr(span: &SpanRecord, key: &str) -> String {
    span.attribute(key)
        .map(ToString::to_string)
        .unwrap_or_else(|| panic!("{} has no {key}: {:#?}", span.name, span.attributes))
}

async fn serve_calls(toolbar: &DebugToolbar) -> (OtelStats, Sent) {
    init_tracing();
    let (upstream, handle) = upstream();
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .app_data(web::Data::new(upstream))
            .route("/calls", web::get().to(calls)),
    )
    .await;
    let res = call_service(
        &app,
        get("/calls")
            .insert_header(("host", "shop.test:8443"))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), 503);
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let sent: Sent = serde_json::from_str(&body_text(res).await).expect("json");
    handle.stop(true).await;
    (stored_stats::<OtelPanel>(toolbar, &id).await, sent)
}

#[actix_web::test]
async fn outgoing_calls_logged_errors_and_open_spans_are_in_the_waterfall() {
    let toolbar = DebugToolbar::new(config().allowed_hosts(["shop.test"]).build());
    let (stats, sent) = serve_calls(&toolbar).await;

    let server = &stats.spans[0];
    assert_eq!(server.name, "GET /calls");
    assert_eq!(server.error.as_deref(), Some("HTTP 503"));
    assert_eq!(attr(server, "error.type"), "503");
    assert_eq!(attr(server, "server.address"), "shop.test");
    assert_eq!(attr(server, "server.port"), "8443");

    // Headers made for another client at the top of the handler: a client span from then to
    // the end of the request.
    let top = with_id(&stats, span_id_of(&sent.top));
    assert_eq!((top.name.as_str(), top.kind), ("PUT", Kind::Client));
    assert_eq!(top.category, Category::Http);
    assert_eq!(top.parent_span_id.as_deref(), Some(server.span_id.as_str()));
    assert_eq!(attr(top, "url.full"), "http://inventory.test:8080/items");
    assert_eq!(attr(top, "server.address"), "inventory.test");
    assert_eq!(attr(top, "server.port"), "8080");
    assert_eq!(attr(top, "debug_toolbar.end_estimated"), "true");
    assert_eq!(
        attr(top, "code.file.path"),
        file!(),
        "the application's call site"
    );
    assert_ne!(attr(top, "code.line.number"), "0");
    assert!(
        (top.start_ms + top.duration_ms - server.duration_ms).abs() < 1e-6,
        "ends with the request: {top:#?}"
    );

    // Inside `checkout`: a child of that span, ending with it; the error logged there fails it.
    let checkout = span(&stats, "checkout");
    assert_eq!(attr(checkout, "db.namespace"), "shop");
    assert_eq!(checkout.error.as_deref(), Some("payment declined"));
    let events: Vec<(&str, Option<&str>)> = checkout
        .events
        .iter()
        .map(|e| (e.name.as_str(), e.level.map(LogLevel::as_str)))
        .collect();
    assert_eq!(
        events,
        [("payment declined", Some("ERROR")), ("log", Some("INFO"))],
        "a record without a message is called log"
    );
    let order = &checkout.events[1];
    assert!(
        order
            .attributes
            .iter()
            .any(|a| a.key == "order" && a.value == AttributeValue::from("7")),
        "{order:#?}"
    );
    let nested = with_id(&stats, span_id_of(&sent.nested));
    assert_eq!(nested.name, "POST");
    assert_eq!(
        nested.parent_span_id.as_deref(),
        Some(checkout.span_id.as_str())
    );
    assert!(
        (nested.start_ms + nested.duration_ms - (checkout.start_ms + checkout.duration_ms)).abs()
            < 1e-6,
        "ends with its span: {nested:#?} in {checkout:#?}"
    );

    // awc calls through the helper: real client spans with their outcome.
    let calls: Vec<&SpanRecord> = stats
        .spans
        .iter()
        .filter(|s| s.category == Category::Http && s.name == "GET")
        .collect();
    assert_eq!(calls.len(), 2, "{:#?}", names(&stats));
    let refused = calls
        .iter()
        .find(|s| attr(s, "url.full") == "http://127.0.0.1:9/down")
        .expect("the refused call");
    assert_eq!(refused.error.as_deref(), Some("connect"));
    assert_eq!(attr(refused, "code.file.path"), file!());
    assert_eq!(attr(refused, "server.address"), "127.0.0.1");
    assert_eq!(attr(refused, "server.port"), "9");
    let missing = calls
        .iter()
        .find(|s| attr(s, "url.full").ends_with("/missing"))
        .expect("the call answered 404");
    assert_eq!(attr(missing, "http.response.status_code"), "404");
    assert_eq!(missing.error.as_deref(), Some("404"));
    assert_eq!(
        span_id_of(&sent.upstream_saw),
        missing.span_id,
        "the upstream is told the client span"
    );
    assert_eq!(span_id_of(&sent.upstream_saw).len(), 16);

    let background = span(&stats, "background");
    assert_eq!(attr(background, "debug_toolbar.open_at_response"), "true");
}

#[actix_web::test]
async fn without_profiling_only_calls_and_renders_become_spans() {
    let toolbar = DebugToolbar::new(
        config()
            .allowed_hosts(["shop.test"])
            .disabled_panels(["profiling"])
            .build(),
    );
    let (stats, sent) = serve_calls(&toolbar).await;
    assert!(
        stats.spans.iter().all(|s| s.name != "checkout"),
        "application spans need the Profiling panel: {:#?}",
        names(&stats)
    );
    let server = &stats.spans[0];
    // What happened inside `checkout` goes to the nearest span that is shown: the server span,
    // whose status stays with its response code.
    let nested = with_id(&stats, span_id_of(&sent.nested));
    assert_eq!(
        nested.parent_span_id.as_deref(),
        Some(server.span_id.as_str())
    );
    assert!(
        server
            .events
            .iter()
            .any(|e| e.name == "payment declined" && e.level == Some(LogLevel::Error)),
        "{:#?}",
        server.events
    );
    assert_eq!(server.error.as_deref(), Some("HTTP 503"));
    assert_eq!(
        stats.not_shown, 0,
        "spans left out for want of profiling are not counted"
    );
}

#[actix_web::test]
async fn outside_a_served_request_calls_go_out_untouched() {
    init_tracing();
    let (upstream, handle) = upstream();
    let toolbar = DebugToolbar::new(config().build());
    let app = init_service(App::new().wrap(toolbar).route(
        "/plain",
        web::get().to(move |req: HttpRequest| {
            let upstream = upstream.clone();
            async move {
                assert!(otel::trace_context(&req).is_none());
                assert!(otel::outgoing_headers(&req, "GET", "http://x.test/").is_empty());
                let injected = otel::awc::inject(&req, awc::Client::default().get(&upstream));
                assert!(!injected.headers().contains_key("traceparent"));
                let mut res = otel::awc::send(&req, injected, |c| c.send())
                    .await
                    .expect("upstream answers");
                HttpResponse::Ok().body(res.body().await.unwrap())
            }
        }),
    ))
    .await;
    let req = TestRequest::get().uri("/plain").peer_addr(refused_peer());
    let res = call_service(&app, req.to_request()).await;
    assert_eq!(header(&res, "x-debug-toolbar-id"), None);
    assert_eq!(body_text(res).await, "none", "no traceparent was sent");
    handle.stop(true).await;
}

#[actix_web::test]
async fn injected_awc_requests_carry_the_trace_and_routeless_requests_are_named_by_method() {
    init_tracing();
    let toolbar = DebugToolbar::new(config().build());
    let app = init_service(App::new().wrap(toolbar.clone()).default_service(web::to(
        |req: HttpRequest| async move {
            let trace = otel::trace_context(&req).expect("served");
            let injected = otel::awc::inject(&req, awc::Client::default().get("http://x.test/"));
            let traceparent = injected
                .headers()
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .expect("traceparent")
                .to_owned();
            assert_contains(&traceparent, &trace.trace_id().to_string());
            HttpResponse::Ok().body(traceparent)
        },
    )))
    .await;
    let res = call_service(&app, get("/no/route/here").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let traceparent = body_text(res).await;
    let stats = stored_stats::<OtelPanel>(&toolbar, &id).await;
    assert_eq!(stats.spans[0].name, "GET", "no route pattern to name it by");
    let call = with_id(&stats, span_id_of(&traceparent));
    assert_eq!(call.kind, Kind::Client);
    assert_eq!(attr(call, "url.full"), "http://x.test/");
    assert_eq!(attr(call, "server.address"), "x.test");
}

/// The stats of one request served with `otel` in place of the registered panel.
async fn stats_with(otel: &OtelPanel) -> OtelStats {
    init_tracing();
    let toolbar = DebugToolbar::new(config().panel(otel.clone()).build());
    let app = init_service(App::new().wrap(toolbar.clone()).route(
        "/",
        web::get().to(|| async { HttpResponse::Ok().body("ok") }),
    ))
    .await;
    let res = call_service(&app, get("/").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let _ = body_text(res).await;
    stored_stats::<OtelPanel>(&toolbar, &id).await
}

#[actix_web::test]
async fn an_exporter_that_cannot_be_built_is_an_error_or_a_note() {
    let config = OtelConfig::builder()
        .otlp(Protocol::Grpc, "http://127.0.0.1:9")
        .otlp_headers([("bad header", "x")])
        .build();
    let err = OtelPanel::try_new(config.clone()).expect_err("an invalid header name");
    let ExportError::Build { exporter, message } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(exporter, "otlp (grpc)");
    assert_contains(message, "\"bad header\"");
    assert_contains(
        &err.to_string(),
        "the otlp (grpc) exporter could not be built: header \"bad header\"",
    );

    // The lenient constructor works without export and says why in the panel.
    let otel = OtelPanel::new(config);
    assert!(otel.export_status().is_empty());
    assert_eq!(otel.config().otlp_protocol(), Protocol::Grpc);
    otel.shutdown().expect("nothing to stop");
    let stats = stats_with(&otel).await;
    assert!(!stats.export.enabled && !stats.export.queued);
    assert_eq!(stats.export.note.as_deref(), Some(err.to_string().as_str()));
}

#[actix_web::test]
async fn the_panel_says_why_a_trace_is_not_exported() {
    let disabled = OtelPanel::new(
        OtelConfig::builder()
            .otlp(Protocol::HttpProtobuf, "http://127.0.0.1:9/v1/traces")
            .sdk_disabled(true)
            .build(),
    );
    let stats = stats_with(&disabled).await;
    assert!(!stats.export.enabled);
    assert_contains(
        stats.export.note.as_deref().unwrap_or_default(),
        "OTEL_SDK_DISABLED is set",
    );

    let unsampled = OtelPanel::try_new(
        OtelConfig::builder()
            .otlp(Protocol::HttpProtobuf, "http://127.0.0.1:9/v1/traces")
            .sampler(Sampling::AlwaysOff)
            .build(),
    )
    .expect("builds without connecting");
    let stats = stats_with(&unsampled).await;
    assert!(stats.export.enabled && !stats.sampled && !stats.export.queued);
    assert_eq!(
        stats.export.note.as_deref(),
        Some("This trace is not sampled: its spans are not exported.")
    );
    assert_eq!(
        stats.traceresponse.rsplit('-').next(),
        Some("02"),
        "not sampled; the new trace id is random"
    );
    assert_eq!(unsampled.export_status()[0].exported, 0);
    let otel = unsampled.clone();
    actix_web::rt::task::spawn_blocking(move || otel.shutdown())
        .await
        .expect("shutdown thread")
        .expect("nothing was queued");
}

#[actix_web::test]
async fn a_hostile_span_name_comes_out_escaped_in_its_group_row() {
    init_tracing();
    let toolbar = DebugToolbar::new(config().build());
    let app = init_service(App::new().wrap(toolbar.clone()).route(
        "/",
        web::get().to(|| async {
            for _ in 0..3 {
                let _span = tracing::info_span!("<img src=x onerror=alert(1)>").entered();
            }
            HttpResponse::Ok().body("ok")
        }),
    ))
    .await;
    let res = call_service(&app, get("/").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let _ = body_text(res).await;
    let stats = stored_stats::<OtelPanel>(&toolbar, &id).await;
    assert_eq!(stats.waterfall.groups.len(), 1, "{:#?}", stats.waterfall);

    let res = call_service(&app, get(&panel_uri(&id, "otel")).to_request()).await;
    assert_eq!(res.status(), 200);
    let html = body_text(res).await;
    assert_contains(&html, "3× &lt;img src=x onerror=alert(1)&gt;");
    assert_lacks(&html, "<img");
}
