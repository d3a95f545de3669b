//! Secrets planted everywhere a request carries them — credentials headers, cookies, query
//! parameters (also percent-encoded names), URLs in `Referer`, `Location` and `Link`, JSON Web
//! Tokens in a header and a template context, a log line with a password URL, an outgoing call
//! with userinfo and an API key, a name the application declared secret — never come out: not
//! in the stored record (`api/requests/{id}`), not in any panel body, not in the OTLP (gRPC,
//! protobuf) or Zipkin payloads. Served for real, exported to in-process receivers.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_debug_toolbar::otel::{OtelConfig, OtelPanel, Protocol};
use actix_debug_toolbar::panels::{RecordingTera, RequestPanel, RequestStats};
use actix_debug_toolbar::{DebugToolbar, InMemoryStore, ToolbarConfig};
use actix_web::test::{call_service, init_service};
use actix_web::{App, HttpRequest, HttpResponse, web};

use crate::otel::receivers::{Received, Receivers, Wire};
use crate::support::{assert_contains, assert_lacks, get, header, init_tracing, stored_stats};

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

const AUTHORIZATION: &str = "planted-authorization-9f1";
const COOKIE: &str = "planted-cookie-5b2";
const API_KEY: &str = "planted-api-key-c33";
const ENCODED_PASSWORD: &str = "planted-encoded-password-d47";
const REFERER_TOKEN: &str = "planted-referer-token-e58";
const LOCATION_SIG: &str = "planted-location-sig-f69";
const LINK_TOKEN: &str = "planted-link-token-07a";
const HEADER_JWT: &str =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwbGFudGVkLWhlYWRlciJ9.cGxhbnRlZC1oZWFkZXItc2ln";
const CONTEXT_JWT: &str =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwbGFudGVkLWNvbnRleHQifQ.cGxhbnRlZC1jb250ZXh0LXNpZw";
const LOG_PASSWORD: &str = "planted-log-password-18b";
const USERINFO_PASSWORD: &str = "planted-userinfo-password-29c";
const OUTGOING_KEY: &str = "planted-outgoing-key-3ad";
const DECLARED: &str = "planted-declared-name-4be";

/// Every planted value, with where it was planted.
const PLANTED: &[(&str, &str)] = &[
    ("Authorization header", AUTHORIZATION),
    ("sessionid cookie", COOKIE),
    ("?api_key=", API_KEY),
    ("?%70assword=", ENCODED_PASSWORD),
    ("Referer ?access_token=", REFERER_TOKEN),
    ("Location ?sig=", LOCATION_SIG),
    ("Link ?token=", LINK_TOKEN),
    ("JWT in a header", HEADER_JWT),
    (
        "JWT payload in a header",
        "eyJzdWIiOiJwbGFudGVkLWhlYWRlciJ9",
    ),
    ("JWT in a template context", CONTEXT_JWT),
    (
        "JWT payload in a template context",
        "eyJzdWIiOiJwbGFudGVkLWNvbnRleHQifQ",
    ),
    ("password URL in a log line", LOG_PASSWORD),
    ("outgoing userinfo", USERINFO_PASSWORD),
    ("outgoing ?api_key=", OUTGOING_KEY),
    ("header named by secret_names", DECLARED),
];

#[track_caller]
fn assert_no_planted_secret(place: &str, text: &str) {
    for (planted, secret) in PLANTED {
        assert!(
            !text.contains(secret),
            "the {planted} ({secret}) is in {place}:\n{text}"
        );
    }
}

const PAGE: &str = "<html><body><p>{{ author }} types on {{ profile.keyboard }}</p></body></html>";

/// Logs a password URL, renders a template with a JWT in its context, calls `/x` with
/// userinfo and an API key, and answers with URL-valued headers carrying secrets.
async fn page(
    req: HttpRequest,
    tera: web::Data<RecordingTera>,
    port: web::Data<u16>,
) -> HttpResponse {
    tracing::info!("connecting to postgres://app:{LOG_PASSWORD}@db.test/app");
    let context = tera::Context::from_serialize(&serde_json::json!({
        "author": "Ada Lovelace",
        "profile": { "assertion": CONTEXT_JWT, "keyboard": "dvorak" },
    }))
    .expect("context");
    let body = tera.render("page.html", &context).expect("page renders");
    let url = format!(
        "http://user:{USERINFO_PASSWORD}@127.0.0.1:{}/x?api_key={OUTGOING_KEY}&page=2",
        **port
    );
    let client = awc::Client::default();
    let sent =
        actix_debug_toolbar::otel::awc::send(&req, client.get(&url), |call| call.send()).await;
    assert!(sent.is_ok(), "the outgoing call works: {sent:?}");
    HttpResponse::Created()
        .insert_header(("location", format!("/done?sig={LOCATION_SIG}&id=7")))
        .insert_header(("link", format!("</next?token={LINK_TOKEN}>; rel=\"next\"")))
        .content_type("text/html")
        .body(body)
}

/// A page served for real (the outgoing call goes to itself) by a toolbar exporting to
/// `receivers`.
async fn serve(otel: &OtelPanel) -> (String, actix_web::dev::ServerHandle) {
    init_tracing();
    let toolbar = DebugToolbar::new(
        ToolbarConfig::builder()
            .enabled(true)
            .store(Arc::new(InMemoryStore::new(25)))
            .secret_names(["customer_ssn"])
            .panel(otel.clone())
            .build(),
    );
    let mut tera = RecordingTera::new(tera::Tera::new());
    tera.add_raw_templates([("page.html", PAGE)])
        .expect("template parses");
    let tera = web::Data::new(tera);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = crate::support::serve(listener, move || {
        App::new()
            .wrap(toolbar.clone())
            .app_data(tera.clone())
            .app_data(web::Data::new(port))
            .route("/page", web::get().to(page))
            .route("/x", web::get().to(HttpResponse::Ok))
    });
    (format!("http://127.0.0.1:{port}"), handle)
}

/// A GET of `url`; the status and the body.
async fn fetch(url: &str) -> (u16, String) {
    let mut res = awc::Client::default()
        .get(url)
        .send()
        .await
        .expect("server answers");
    let body = res.body().limit(16 * 1024 * 1024).await.expect("body");
    (
        res.status().as_u16(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

/// The record `id` from the JSON API, once it is stored: as text and parsed.
async fn record_json(base: &str, id: &str) -> (String, serde_json::Value) {
    for _ in 0..300 {
        let (status, body) = fetch(&format!("{base}/__debug_toolbar/api/requests/{id}")).await;
        if status == 200 {
            assert_no_planted_secret(&format!("record {id}"), &body);
            let json = serde_json::from_str(&body).expect("record JSON");
            return (body, json);
        }
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("record {id} was never stored");
}

/// Checks record `id` and each of its panel bodies; returns the record's JSON text.
async fn check_record(base: &str, id: &str) -> String {
    let (text, record) = record_json(base, id).await;
    let panels: Vec<String> = record["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .map(|p| p["id"].as_str().expect("panel id").to_owned())
        .collect();
    assert!(panels.len() >= 8, "every panel ran: {panels:?}");
    for panel in panels {
        let (status, body) = fetch(&format!("{base}/__debug_toolbar/panels/{id}/{panel}")).await;
        assert_eq!(status, 200, "panel {panel}: {body}");
        assert_no_planted_secret(&format!("panel {panel} of {id}"), &body);
    }
    text
}

#[track_caller]
fn check_exported(spans: &[Received], wire: Wire, outgoing_url: &str) {
    assert!(
        spans.iter().any(|s| s.kind == "server"),
        "{wire:?} got the trace: {spans:#?}"
    );
    for span in spans {
        assert_no_planted_secret(&format!("{wire:?} span {}", span.name), &span.payload);
    }
    let call = spans
        .iter()
        .find(|s| s.kind == "client" && s.attributes.contains_key("url.full"))
        .unwrap_or_else(|| panic!("{wire:?} got the client span: {spans:#?}"));
    assert_eq!(call.attributes["url.full"], outgoing_url, "{wire:?}");
    let page = spans
        .iter()
        .find(|s| s.name == "GET /page")
        .unwrap_or_else(|| panic!("{wire:?} got the server span"));
    assert_eq!(
        page.attributes["url.query"], "api_key=REDACTED&%70assword=REDACTED&page=2",
        "{wire:?}"
    );
}

#[actix_web::test]
async fn planted_secrets_never_reach_the_record_the_panels_or_the_exports() {
    let receivers = Receivers::start();
    let otel = OtelPanel::try_new(
        OtelConfig::builder()
            .service_name("secrets-under-test")
            .otlp(Protocol::Grpc, receivers.grpc_endpoint.clone())
            .zipkin(receivers.zipkin_endpoint.clone())
            .scheduled_delay(Duration::from_millis(50))
            .export_timeout(Duration::from_secs(2))
            .build(),
    )
    .expect("exporters build");
    let (base, handle) = serve(&otel).await;
    let port = base.rsplit(':').next().unwrap().to_owned();

    let mut res = awc::Client::default()
        .get(format!(
            "{base}/page?api_key={API_KEY}&%70assword={ENCODED_PASSWORD}&page=2"
        ))
        .insert_header(("traceparent", TRACEPARENT))
        .insert_header(("authorization", format!("Bearer {AUTHORIZATION}")))
        .insert_header(("cookie", format!("sessionid={COOKIE}; theme=dark")))
        .insert_header((
            "referer",
            format!("https://sso.test/callback?access_token={REFERER_TOKEN}&state=ok"),
        ))
        .insert_header(("x-client-assertion", HEADER_JWT))
        .insert_header(("x-customer-ssn", DECLARED))
        .send()
        .await
        .expect("page answers");
    assert_eq!(res.status(), 201);
    let id = res
        .headers()
        .get("x-debug-toolbar-id")
        .and_then(|v| v.to_str().ok())
        .expect("recorded")
        .to_owned();
    let _ = res.body().await;

    let record = check_record(&base, &id).await;
    // What was masked is still there, masked, and ordinary values stay visible.
    let outgoing_url =
        format!("http://REDACTED:REDACTED@127.0.0.1:{port}/x?api_key=REDACTED&page=2");
    for kept in [
        "api_key=REDACTED&%70assword=REDACTED&page=2",
        "theme",
        "dark",
        "https://sso.test/callback?access_token=REDACTED&state=ok",
        "/done?sig=REDACTED&id=7",
        "</next?token=REDACTED>; rel=",
        "postgres://REDACTED:REDACTED@db.test/app",
        "Ada Lovelace",
        "dvorak",
        &outgoing_url,
    ] {
        assert_contains(&record, kept);
    }

    // The callee's own record: its query string came in with the key.
    let (_, list) = fetch(&format!("{base}/__debug_toolbar/api/requests")).await;
    assert_no_planted_secret("the record list", &list);
    let list: serde_json::Value = serde_json::from_str(&list).expect("list JSON");
    let callee = list["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .find(|r| r["path"] == "/x")
        .expect("the callee's record");
    check_record(&base, callee["id"].as_str().expect("id")).await;

    handle.stop(true).await;
    let shutdown = otel.clone();
    actix_web::rt::task::spawn_blocking(move || shutdown.shutdown())
        .await
        .expect("shutdown thread")
        .expect("flushed");
    for wire in [Wire::Grpc, Wire::Zipkin] {
        let spans = receivers.wait_for(wire, TRACE, 4, Duration::from_secs(5));
        check_exported(&spans, wire, &outgoing_url);
    }
}

#[actix_web::test]
async fn names_listed_in_debug_toolbar_secret_names_are_masked() {
    init_tracing();
    let config = ToolbarConfig::builder()
        .vars(|name| {
            (name == "DEBUG_TOOLBAR_SECRET_NAMES").then(|| "employee_pin, badgeCode".to_owned())
        })
        .expect("valid")
        .enabled(true)
        .store(Arc::new(InMemoryStore::new(5)))
        .build();
    let toolbar = DebugToolbar::new(config);
    let app = init_service(
        App::new()
            .wrap(toolbar.clone())
            .route("/", web::get().to(HttpResponse::Ok)),
    )
    .await;
    let req = get("/?employeePin=planted-pin-1&badge-code=planted-badge-2&employee=ada");
    let res = call_service(&app, req.to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let stats: RequestStats = stored_stats::<RequestPanel>(&toolbar, &id).await;
    let json = serde_json::to_string(&stats).unwrap();
    assert_lacks(&json, "planted-pin-1");
    assert_lacks(&json, "planted-badge-2");
    assert_contains(&json, "employee=ada");
}
