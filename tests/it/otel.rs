//! The OpenTelemetry panel end to end: the demo's requests arrive as traces at in-process OTLP
//! gRPC, OTLP HTTP/protobuf and Zipkin receivers (decoded from the real wire formats), W3C
//! trace context is continued, started and carried on, a dead collector costs requests
//! nothing, and the panel shows the waterfall.

pub(crate) mod pki;
pub(crate) mod receivers;

use std::collections::{BTreeMap, HashSet};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_debug_toolbar::otel::{OtelConfig, OtelPanel, OtelStats, Protocol};
use actix_debug_toolbar::{DebugToolbar, InMemoryStore};
use actix_web::App;
use receivers::{Received, Receivers, Wire};

use crate::support::{assert_contains, init_tracing, stored_stats};

pub(crate) const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";
/// Spans of one `GET /users` of the demo, so that waiting for them ends once all are in.
pub(crate) const USERS_SPANS: usize = 11;
pub(crate) const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// A panel exporting quickly to the given receivers.
pub(crate) fn panel(config: actix_debug_toolbar::otel::OtelConfigBuilder) -> OtelPanel {
    OtelPanel::try_new(
        config
            .service_name("demo-under-test")
            .scheduled_delay(Duration::from_millis(50))
            .export_timeout(Duration::from_secs(2))
            .jaeger_ui("http://jaeger.test:16686")
            .zipkin_ui("http://zipkin.test:9411")
            .build(),
    )
    .expect("exporters build")
}

fn unix_nanos(t: SystemTime) -> u64 {
    u64::try_from(t.duration_since(UNIX_EPOCH).unwrap().as_nanos()).unwrap()
}

/// Sends `GET /users` with `traceparent`; returns the response's `traceresponse`, record id and
/// the wall-clock window around the request.
pub(crate) async fn get_users(base: &str, traceparent: Option<&str>) -> (String, String, u64, u64) {
    let mut req = awc::Client::default()
        .get(format!("{base}/users"))
        .insert_header(("user-agent", "otel-test/1.0"));
    if let Some(tp) = traceparent {
        req = req.insert_header(("traceparent", tp));
    }
    let before = unix_nanos(SystemTime::now());
    let mut res = req.send().await.expect("demo answers");
    let after = unix_nanos(SystemTime::now());
    assert_eq!(res.status(), 200);
    let traceresponse = res_header(&res, "traceresponse").expect("traceresponse header");
    let id = res_header(&res, "x-debug-toolbar-id").expect("record id");
    let _ = res.body().await;
    (traceresponse, id, before, after)
}

/// The value of header `name` of an awc response.
fn res_header<S>(res: &awc::ClientResponse<S>, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A GET of `path` from the demo; returns the status, the record id and the body.
async fn get(base: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut req = awc::Client::default().get(format!("{base}{path}"));
    for (name, value) in headers {
        req = req.insert_header((*name, *value));
    }
    let mut res = req.send().await.expect("demo answers");
    let id = res_header(&res, "x-debug-toolbar-id").unwrap_or_default();
    let traceresponse = res_header(&res, "traceresponse").unwrap_or_default();
    let body = res.body().limit(16 * 1024 * 1024).await.expect("body");
    let _ = traceresponse;
    (
        res.status().as_u16(),
        id,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

pub(crate) async fn shut_down(
    otel: &OtelPanel,
) -> Result<(), actix_debug_toolbar::otel::ExportError> {
    let otel = otel.clone();
    actix_web::rt::task::spawn_blocking(move || otel.shutdown())
        .await
        .expect("shutdown thread")
}

#[track_caller]
fn find<'a>(spans: &'a [Received], name: &str) -> &'a Received {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name:?} among {:#?}", names(spans)))
}

fn names(spans: &[Received]) -> Vec<&str> {
    spans.iter().map(|s| s.name.as_str()).collect()
}

#[track_caller]
fn attr<'a>(span: &'a Received, key: &str) -> &'a str {
    span.attributes
        .get(key)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("span {:?} has no {key}: {:#?}", span.name, span.attributes))
}

/// What every receiver must show for the demo's `/users` continued from [`TRACEPARENT`].
#[track_caller]
fn check_users_trace(spans: &[Received], server_span_id: &str, window: (u64, u64)) {
    let (before, after) = window;
    let server = find(spans, "GET /users");
    assert_eq!(server.kind, "server");
    assert_eq!(server.span_id, server_span_id);
    assert_eq!(
        server.parent_id.as_deref(),
        Some(PARENT),
        "continues the caller's span"
    );
    assert_eq!(server.service_name, "demo-under-test");
    assert_eq!(attr(server, "http.request.method"), "GET");
    assert_eq!(attr(server, "url.path"), "/users");
    assert_eq!(attr(server, "http.route"), "/users");
    assert_eq!(attr(server, "http.response.status_code"), "200");
    assert_eq!(attr(server, "client.address"), "127.0.0.1");
    assert_eq!(attr(server, "user_agent.original"), "otel-test/1.0");
    assert_eq!(attr(server, "network.protocol.version"), "1.1");
    assert!(!server.error);

    let ids: HashSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    for span in spans {
        assert_eq!(span.trace_id, TRACE, "{}", span.name);
        assert_eq!(span.service_name, "demo-under-test", "{}", span.name);
        if span.span_id != server.span_id {
            let parent = span
                .parent_id
                .as_deref()
                .expect("child spans have a parent");
            assert!(
                ids.contains(parent),
                "{}'s parent {parent} is in the trace",
                span.name
            );
        }
        // Within the request, with 1 ms of slack for rounding.
        assert!(
            span.start_unix_nanos + 1_000_000 >= before && span.end_unix_nanos <= after + 1_000_000,
            "{} ({}..{}) outside the request ({before}..{after})",
            span.name,
            span.start_unix_nanos,
            span.end_unix_nanos
        );
        assert!(
            span.start_unix_nanos <= span.end_unix_nanos,
            "{}",
            span.name
        );
    }

    let handler = find(spans, "users");
    assert_eq!(handler.kind, "internal");
    assert_eq!(handler.parent_id.as_deref(), Some(server.span_id.as_str()));
    assert!(
        handler
            .events
            .iter()
            .any(|e| e == "loaded users and their post counts"),
        "the log record is an event of the span it was emitted in: {:?}",
        handler.events
    );
    let load = find(spans, "load_users");
    assert_eq!(load.parent_id.as_deref(), Some(handler.span_id.as_str()));
    let select_users = find(spans, "SELECT users");
    assert_eq!(select_users.kind, "client");
    assert_eq!(
        select_users.parent_id.as_deref(),
        Some(load.span_id.as_str())
    );
    assert_eq!(attr(select_users, "db.system.name"), "sqlite");
    assert_eq!(
        attr(select_users, "db.query.text"),
        "SELECT id, name, email FROM users ORDER BY id"
    );
    assert_eq!(attr(select_users, "db.operation.name"), "SELECT");
    assert_eq!(attr(select_users, "db.response.returned_rows"), "6");
    let posts: Vec<&Received> = spans.iter().filter(|s| s.name == "SELECT posts").collect();
    assert_eq!(posts.len(), 6, "one query per user: {:?}", names(spans));
    for post in posts {
        assert_eq!(post.parent_id.as_deref(), Some(handler.span_id.as_str()));
        assert!(post.start_unix_nanos >= handler.start_unix_nanos);
    }
    let render = find(spans, "render users.html");
    assert_eq!(render.kind, "internal");
    assert_eq!(
        attr(render, "code.file.path"),
        "crates/demo/src/lib.rs",
        "the handler that rendered, not the toolbar's wrapper"
    );
}

#[actix_web::test]
async fn otlp_grpc_and_zipkin_receive_the_request_as_one_continued_trace() {
    let receivers = Receivers::start();
    let otel = panel(
        OtelConfig::builder()
            .otlp(Protocol::Grpc, receivers.grpc_endpoint.clone())
            .zipkin(receivers.zipkin_endpoint.clone()),
    );
    let (base, _toolbar, handle) = demo_server(&otel).await;
    let (traceresponse, _, before, after) = get_users(&base, Some(TRACEPARENT)).await;
    handle.stop(true).await;
    let parts: Vec<&str> = traceresponse.split('-').collect();
    assert_eq!((parts[0], parts[1], parts[3]), ("00", TRACE, "01"));
    shut_down(&otel).await.expect("flushed");

    let grpc = receivers.wait_for(Wire::Grpc, TRACE, USERS_SPANS, Duration::from_secs(5));
    check_users_trace(&grpc, parts[2], (before, after));
    let zipkin = receivers.wait_for(Wire::Zipkin, TRACE, USERS_SPANS, Duration::from_secs(5));
    check_users_trace(&zipkin, parts[2], (before, after));
    assert_eq!(grpc.len(), zipkin.len(), "both exporters got every span");
    let status = otel.export_status();
    assert!(
        status.iter().all(|s| s.failed == 0 && s.dropped == 0),
        "{status:#?}"
    );
}

#[actix_web::test]
async fn otlp_http_receives_the_request_as_one_continued_trace() {
    let receivers = Receivers::start();
    let otel =
        panel(OtelConfig::builder().otlp(Protocol::HttpProtobuf, receivers.http_endpoint.clone()));
    let (base, _toolbar, handle) = demo_server(&otel).await;
    let (traceresponse, _, before, after) = get_users(&base, Some(TRACEPARENT)).await;
    handle.stop(true).await;
    shut_down(&otel).await.expect("flushed");
    let spans = receivers.wait_for(Wire::Http, TRACE, USERS_SPANS, Duration::from_secs(5));
    let server_span = traceresponse.split('-').nth(2).unwrap();
    check_users_trace(&spans, server_span, (before, after));
    let status = otel.export_status();
    assert_eq!(status[0].exporter, "otlp (http/protobuf)");
    assert_eq!(status[0].exported as usize, spans.len());
}

#[actix_web::test]
async fn a_request_without_traceparent_starts_a_root_trace_and_zipkin_roots_have_no_parent() {
    let receivers = Receivers::start();
    let otel = panel(OtelConfig::builder().zipkin(receivers.zipkin_endpoint.clone()));
    let (base, _toolbar, handle) = demo_server(&otel).await;
    let (traceresponse, _, _, _) = get_users(&base, None).await;
    handle.stop(true).await;
    let trace = traceresponse.split('-').nth(1).unwrap().to_owned();
    assert_ne!(trace, TRACE);
    shut_down(&otel).await.expect("flushed");
    let spans = receivers.wait_for(Wire::Zipkin, &trace, USERS_SPANS, Duration::from_secs(5));
    let server = find(&spans, "GET /users");
    assert_eq!(
        server.parent_id, None,
        "a root span has no parentId: {server:#?}"
    );
    assert_eq!(server.service_name, "demo-under-test");
}

#[actix_web::test]
async fn malformed_traceparents_start_new_traces() {
    let otel = OtelPanel::new(OtelConfig::default());
    let (base, toolbar, handle) = demo_server(&otel).await;
    let cases = [
        (
            "wrong version ff",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ),
        (
            "short trace id",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ),
        (
            "long span id",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b77-01",
        ),
        (
            "zero trace id",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        ),
        (
            "zero span id",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        ),
        (
            "upper-case hex",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
        ),
        (
            "extra field on version 00",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-00",
        ),
        ("garbage", "not a traceparent"),
    ];
    let mut seen = HashSet::new();
    for (case, value) in cases {
        let mut res = awc::Client::default()
            .get(format!("{base}/api/users"))
            .insert_header(("traceparent", value))
            .insert_header(("tracestate", "congo=t61rcWkgMzE"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{case}: the request is served as usual");
        let traceresponse = res_header(&res, "traceresponse").expect("traceresponse");
        let id = res_header(&res, "x-debug-toolbar-id").expect("record id");
        let _ = res.body().await;
        let trace = traceresponse.split('-').nth(1).unwrap().to_owned();
        assert_ne!(trace, TRACE, "{case}: not continued");
        assert!(seen.insert(trace.clone()), "{case}: a trace of its own");
        let stats: OtelStats = wait_for_stats::<OtelPanel>(&toolbar, &id).await;
        assert_eq!(stats.trace_id, trace, "{case}");
        assert_eq!(stats.parent_span_id, None, "{case}: no parent");
        assert_eq!(stats.spans[0].parent_span_id, None, "{case}");
    }
    handle.stop(true).await;
}

/// The stats of panel `P` once the record is stored (records are saved off the response path).
async fn wait_for_stats<P: actix_debug_toolbar::Panel>(
    toolbar: &DebugToolbar,
    id: &str,
) -> P::Stats {
    crate::support::wait_until_stored(toolbar, id).await;
    stored_stats::<P>(toolbar, id).await
}

#[actix_web::test]
async fn the_panel_shows_the_waterfall_trace_links_and_export_state() {
    let receivers = Receivers::start();
    let otel =
        panel(OtelConfig::builder().otlp(Protocol::HttpProtobuf, receivers.http_endpoint.clone()));
    let (base, toolbar, handle) = demo_server(&otel).await;
    let (_, id, _, _) = get_users(&base, Some(TRACEPARENT)).await;
    let stats: OtelStats = wait_for_stats::<OtelPanel>(&toolbar, &id).await;
    assert_eq!(stats.trace_id, TRACE);
    assert_eq!(
        stats.jaeger_url.as_deref(),
        Some(format!("http://jaeger.test:16686/trace/{TRACE}").as_str())
    );
    assert_eq!(
        stats.zipkin_url.as_deref(),
        Some(format!("http://zipkin.test:9411/zipkin/traces/{TRACE}").as_str())
    );
    assert!(stats.export.enabled && stats.export.queued);
    let depths: BTreeMap<&str, usize> = stats
        .spans
        .iter()
        .map(|s| (s.name.as_str(), s.depth))
        .collect();
    assert_eq!(depths["GET /users"], 0);
    assert_eq!(depths["users"], 1);
    assert_eq!(depths["load_users"], 2);
    assert_eq!(depths["SELECT users"], 3);

    let (status, _, html) = get(&base, &crate::support::panel_uri(&id, "otel"), &[]).await;
    assert_eq!(status, 200);
    assert_contains(&html, TRACE);
    assert_contains(&html, "data-waterfall");
    assert_contains(&html, "dt-wf-row dt-wf-server");
    assert_contains(&html, "dt-wf-row dt-wf-db");
    assert_contains(&html, "dt-wf-row dt-wf-template");
    assert_contains(&html, "db.query.text");
    assert_contains(&html, "loaded users and their post counts");
    assert_contains(
        &html,
        &format!("href=\"http://jaeger.test:16686/trace/{TRACE}\""),
    );
    assert_contains(&html, "otlp (http/protobuf)");

    // The page's N+1 loop is one row; the critical path and self times are marked.
    let waterfall = &stats.waterfall;
    let group = waterfall
        .groups
        .iter()
        .find(|g| g.name == "SELECT posts")
        .unwrap_or_else(|| panic!("the N+1 queries are grouped: {:#?}", waterfall.groups));
    assert_eq!(group.members.len(), 6);
    assert_eq!(
        waterfall.rows.len(),
        stats.spans.len() + waterfall.groups.len()
    );
    assert_eq!(waterfall.rows.iter().filter(|r| r.hidden).count(), 6);
    assert!(waterfall.row_of(0).is_some_and(|r| r.critical));
    assert_eq!(waterfall.orphans, 0, "the caller's span is not missing");
    assert_contains(&html, "6× SELECT posts");
    assert_contains(&html, "data-wf-toggle aria-expanded=\"false\"");
    assert_contains(&html, "dt-wf-critical");
    assert_contains(&html, "data-flamegraph");
    assert_contains(&html, "<span class=\"dt-wf-self\">self ");
    handle.stop(true).await;
    shut_down(&otel).await.expect("flushed");
}

#[actix_web::test]
async fn a_hung_collector_costs_requests_nothing_and_drops_and_errors_are_counted() {
    init_tracing();
    // Accepts connections (the kernel's backlog) but never answers.
    let hung = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/v1/traces", hung.local_addr().unwrap());
    let otel = OtelPanel::try_new(
        OtelConfig::builder()
            .otlp(Protocol::HttpProtobuf, endpoint)
            .export_timeout(Duration::from_secs(2))
            .max_retries(0)
            .max_queue_size(5)
            .scheduled_delay(Duration::from_millis(20))
            .build(),
    )
    .unwrap();
    let (base, toolbar, handle) = demo_server(&otel).await;
    let mut latencies = Vec::new();
    let mut last_id = String::new();
    for _ in 0..20 {
        let started = Instant::now();
        let (status, id, _) = get(&base, "/api/users", &[]).await;
        latencies.push(started.elapsed());
        assert_eq!(status, 200);
        last_id = id;
    }
    latencies.sort();
    let (p50, max) = (
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1],
    );
    assert!(
        max < Duration::from_secs(1) && p50 < Duration::from_millis(250),
        "a collector that never answers (2 s timeout) must not slow requests: p50 {p50:?}, max {max:?}"
    );
    let status = otel.export_status();
    assert!(
        status[0].dropped > 0,
        "over the queue bound spans are dropped: {status:#?}"
    );
    let until = Instant::now() + Duration::from_secs(8);
    let status = loop {
        let status = otel.export_status();
        if status[0].failed > 0 || Instant::now() > until {
            break status;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status[0].failed > 0 && status[0].failing, "{status:#?}");
    assert!(status[0].last_error.is_some(), "{status:#?}");

    // The next request's panel shows it, with a badge.
    let (_, id, _) = get(&base, "/api/users", &[]).await;
    assert_ne!(id, last_id);
    let stats: OtelStats = wait_for_stats::<OtelPanel>(&toolbar, &id).await;
    let exporter = &stats.export.exporters[0];
    assert!(
        exporter.failing && exporter.dropped > 0 && exporter.last_error.is_some(),
        "{exporter:#?}"
    );
    let record = crate::support::stored_record(&toolbar, &id).await;
    let badge = record.panel("otel").and_then(|p| p.badge.clone());
    assert_eq!(badge.map(|b| b.text).as_deref(), Some("export failing"));
    handle.stop(true).await;
    drop(hung);
    let _ = shut_down(&otel).await;
}

/// The demo served for real on a free port, so that it can call itself.
pub(crate) async fn demo_server(
    otel: &OtelPanel,
) -> (String, DebugToolbar, actix_web::dev::ServerHandle) {
    init_tracing();
    let state = demo::State::new().await.expect("demo state");
    let toolbar = DebugToolbar::new(
        demo::toolbar_config(&state)
            .enabled(true)
            .store(Arc::new(InMemoryStore::new(50)))
            .panel(otel.clone())
            .build(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let app_toolbar = toolbar.clone();
    let handle = crate::support::serve(listener, move || {
        App::new()
            .wrap(app_toolbar.clone())
            .app_data(state.clone())
            .configure(demo::routes)
    });
    (format!("http://{addr}"), toolbar, handle)
}

#[actix_web::test]
async fn outgoing_awc_calls_carry_the_trace_and_become_client_spans() {
    let receivers = Receivers::start();
    let otel = panel(OtelConfig::builder().otlp(Protocol::Grpc, receivers.grpc_endpoint.clone()));
    let (base, toolbar, handle) = demo_server(&otel).await;
    let client = awc::Client::default();
    let res = client
        .get(format!("{base}/outgoing"))
        .insert_header(("traceparent", TRACEPARENT))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let id = res
        .headers()
        .get("x-debug-toolbar-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let outgoing: OtelStats = wait_for_stats::<OtelPanel>(&toolbar, &id).await;
    let call = outgoing
        .spans
        .iter()
        .find(|s| s.category == actix_debug_toolbar::otel::Category::Http)
        .expect("the awc call is a client span");
    assert_eq!(call.name, "GET");
    assert_eq!(
        call.parent_span_id.as_deref(),
        Some(outgoing.span_id.as_str())
    );
    assert_eq!(
        call.attribute("http.response.status_code")
            .map(ToString::to_string)
            .as_deref(),
        Some("200")
    );

    // The callee (the demo's own /api/users, also served by the toolbar) continued the trace,
    // with the client span as its parent.
    let store = toolbar.store().unwrap();
    let summaries = store
        .list(actix_debug_toolbar::core::Page {
            offset: 0,
            limit: 10,
        })
        .await
        .unwrap();
    let api = summaries
        .iter()
        .find(|s| s.path == "/api/users")
        .expect("the callee's record");
    let callee: OtelStats = wait_for_stats::<OtelPanel>(&toolbar, &api.id.to_string()).await;
    assert_eq!(callee.trace_id, TRACE);
    assert_eq!(
        callee.parent_span_id.as_deref(),
        Some(call.span_id.as_str())
    );

    handle.stop(true).await;
    shut_down(&otel).await.expect("flushed");
    let spans = receivers.wait_for(Wire::Grpc, TRACE, 6, Duration::from_secs(5));
    let exported_call = spans
        .iter()
        .find(|s| s.span_id == call.span_id)
        .expect("client span exported");
    assert_eq!(exported_call.kind, "client");
    let callee_server = find(&spans, "GET /api/users");
    assert_eq!(
        callee_server.parent_id.as_deref(),
        Some(call.span_id.as_str())
    );
    assert_eq!(attr(exported_call, "url.full"), format!("{base}/api/users"));
}

#[actix_web::test]
async fn the_interop_endpoint_posts_each_call_with_the_trace_context() {
    let receivers = Receivers::start();
    let otel = OtelPanel::new(OtelConfig::default());
    let (base, _toolbar, handle) = demo_server(&otel).await;
    let calls = serde_json::json!([
        { "url": receivers.echo_url, "arguments": [{ "url": "next", "arguments": [] }] },
        { "url": receivers.echo_url, "arguments": [] },
    ]);
    let res = awc::Client::default()
        .post(format!("{base}/interop/trace-context"))
        .insert_header(("traceparent", TRACEPARENT))
        .insert_header(("tracestate", "foo=1,bar=2"))
        .send_json(&calls)
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let echoes = receivers.echoes();
    assert_eq!(echoes.len(), 2, "{echoes:#?}");
    let mut span_ids = HashSet::new();
    for echo in &echoes {
        let traceparent = &echo.headers["traceparent"];
        let parts: Vec<&str> = traceparent.split('-').collect();
        assert_eq!(
            (parts[0], parts[1], parts[3]),
            ("00", TRACE, "01"),
            "{traceparent}"
        );
        assert_ne!(parts[2], PARENT);
        assert!(
            span_ids.insert(parts[2].to_owned()),
            "a client span per call"
        );
        assert_eq!(echo.headers["tracestate"], "foo=1,bar=2");
    }
    assert_eq!(
        echoes[0].body,
        serde_json::json!([{ "url": "next", "arguments": [] }])
    );
    handle.stop(true).await;
}

#[actix_web::test]
async fn spans_the_application_makes_with_opentelemetry_are_shown_not_exported_again() {
    use actix_debug_toolbar::otel::opentelemetry::trace::{
        Span as _, Tracer as _, TracerProvider as _,
    };
    use actix_debug_toolbar::otel::opentelemetry_sdk::trace::SdkTracerProvider;
    use actix_web::{HttpRequest, HttpResponse, test, web};

    init_tracing();
    let receivers = Receivers::start();
    let otel =
        panel(OtelConfig::builder().otlp(Protocol::HttpProtobuf, receivers.http_endpoint.clone()));
    // The application's own provider (its exporters would go here too) with the toolbar's
    // capture processor.
    let provider = SdkTracerProvider::builder()
        .with_span_processor(otel.span_processor())
        .build();
    let tracer = provider.tracer("my-app");
    let toolbar = DebugToolbar::new(crate::support::config().panel(otel.clone()).build());
    let app = test::init_service(App::new().wrap(toolbar.clone()).route(
        "/work",
        web::get().to(move |req: HttpRequest| {
            let tracer = tracer.clone();
            async move {
                let trace = actix_debug_toolbar::otel::trace_context(&req).expect("served");
                let mut span = tracer
                    .span_builder("app.work")
                    .start_with_context(&tracer, &trace.context());
                span.set_attribute(actix_debug_toolbar::otel::opentelemetry::KeyValue::new(
                    "work.items",
                    3_i64,
                ));
                span.end();
                HttpResponse::Ok()
                    .content_type("text/html")
                    .body("<html><body>done</body></html>")
            }
        }),
    ))
    .await;
    let res = test::call_service(&app, crate::support::get("/work").to_request()).await;
    let id = crate::support::header(&res, "x-debug-toolbar-id").unwrap();
    let _ = test::read_body(res).await;
    let stats: OtelStats = wait_for_stats::<OtelPanel>(&toolbar, &id).await;
    let work = stats
        .spans
        .iter()
        .find(|s| s.name == "app.work")
        .unwrap_or_else(|| {
            panic!(
                "the application's span is in the waterfall: {:#?}",
                stats.spans
            )
        });
    assert!(work.captured);
    assert_eq!(work.parent_span_id.as_deref(), Some(stats.span_id.as_str()));
    assert_eq!(work.depth, 1);
    assert_eq!(
        work.attribute("work.items")
            .map(ToString::to_string)
            .as_deref(),
        Some("3")
    );

    shut_down(&otel).await.expect("flushed");
    let exported = receivers.wait_for(Wire::Http, &stats.trace_id, 1, Duration::from_secs(5));
    assert!(!exported.is_empty(), "the toolbar's own spans are exported");
    assert!(
        exported.iter().all(|s| s.name != "app.work"),
        "the application exports its own spans; the toolbar does not send them twice: {:?}",
        names(&exported)
    );
}
