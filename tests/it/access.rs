//! Who is shown the toolbar, and that everyone else sees the application as if it were absent.

use std::net::SocketAddr;

use actix_debug_toolbar::{DebugToolbar, ToolbarConfigBuilder};
use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, test, web};

use crate::support::{allowed_peer, assert_contains, body_text, config, get, header, refused_peer};

const PAGE: &str = "<html><body><p>app</p></body></html>";

async fn page() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html").body(PAGE)
}

/// The test app: a page at `/` and one of the application's own under the default prefix.
macro_rules! app {
    ($config:expr) => {
        test::init_service(
            App::new()
                .wrap(DebugToolbar::new($config.build()))
                .route("/", web::get().to(page))
                .route("/__debug_toolbar/mine", web::get().to(page)),
        )
        .await
    };
}

/// Sends GET `uri` from `peer` with extra headers; returns status, toolbar id header and body.
async fn visit(
    config: ToolbarConfigBuilder,
    uri: &str,
    peer: SocketAddr,
    headers: &[(&str, &str)],
) -> (StatusCode, Option<String>, String) {
    let app = app!(config);
    let mut req = test::TestRequest::get().uri(uri).peer_addr(peer);
    for (name, value) in headers {
        req = req.insert_header((*name, *value));
    }
    let res = test::call_service(&app, req.to_request()).await;
    let status = res.status();
    let id = header(&res, "x-debug-toolbar-id");
    (status, id, body_text(res).await)
}

#[actix_web::test]
async fn loopback_clients_get_the_toolbar() {
    let (status, id, body) = visit(config(), "/", allowed_peer(), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(id.is_some());
    assert_contains(&body, "<div id=\"debug-toolbar\"");
}

#[actix_web::test]
async fn other_clients_get_the_untouched_page_and_no_header() {
    let (status, id, body) = visit(config(), "/", refused_peer(), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(id, None);
    assert_eq!(body, PAGE);
}

#[actix_web::test]
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored() {
    for (name, value) in [
        ("x-forwarded-for", "127.0.0.1"),
        ("forwarded", "for=127.0.0.1"),
    ] {
        let (_, id, body) = visit(config(), "/", refused_peer(), &[(name, value)]).await;
        assert_eq!(id, None, "{name}");
        assert_eq!(body, PAGE, "{name}");
    }
}

#[actix_web::test]
async fn a_trusted_proxy_forwards_the_real_client() {
    let proxy = SocketAddr::from(([172, 17, 0, 1], 40_000));
    let trusting = || {
        config()
            .trusted_proxies(["172.17.0.1/32".parse().expect("net")])
            .allowed_ips(["10.1.2.3/32".parse().expect("net")])
    };
    let (_, id, _) = visit(trusting(), "/", proxy, &[("x-forwarded-for", "10.1.2.3")]).await;
    assert!(id.is_some(), "forwarded client is allowed");
    let (_, id, _) = visit(
        trusting(),
        "/",
        proxy,
        &[("x-forwarded-for", "198.51.100.4")],
    )
    .await;
    assert_eq!(id, None, "forwarded client is not allowed");
    let (_, id, _) = visit(trusting(), "/", proxy, &[]).await;
    assert_eq!(id, None, "the proxy itself is not allowed");
}

#[actix_web::test]
async fn toolbar_routes_answer_404_to_refused_clients() {
    for uri in [
        "/__debug_toolbar/static/toolbar.js",
        "/__debug_toolbar/api/requests",
        "/__debug_toolbar/api/requests/00000000000000000000000000000000",
        "/__debug_toolbar/panels/00000000000000000000000000000000/timer",
        "/__debug_toolbar/mine",
    ] {
        let (status, id, body) = visit(config(), uri, refused_peer(), &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(id, None, "{uri}");
        assert_eq!(body, "Not Found", "{uri}");
    }
}

#[actix_web::test]
async fn toolbar_routes_serve_allowed_clients() {
    let app = app!(config());
    let res = test::call_service(&app, get("/").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");

    let res = test::call_service(&app, get("/__debug_toolbar/api/requests").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let list: serde_json::Value = test::read_body_json(res).await;
    assert_eq!(list["format_version"], 1);
    assert_eq!(list["requests"][0]["id"], id.as_str());
    assert_eq!(list["requests"][0]["path"], "/");

    let uri = format!("/__debug_toolbar/api/requests/{id}");
    let res = test::call_service(&app, get(&uri).to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let record: serde_json::Value = test::read_body_json(res).await;
    assert_eq!(record["format_version"], 1);
    assert_eq!(record["status"], 200);
    let panels: Vec<&str> = record["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    for panel in ["timer", "request", "headers", "response", "versions"] {
        assert!(panels.contains(&panel), "{panel} in {panels:?}");
    }

    let uri = format!("/__debug_toolbar/panels/{id}/request");
    let res = test::call_service(&app, get(&uri).to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "cache-control").as_deref(), Some("no-store"));
    assert_contains(&body_text(res).await, "GET");
}

#[actix_web::test]
async fn static_files_have_validators() {
    let app = app!(config());
    let res = test::call_service(
        &app,
        get("/__debug_toolbar/static/toolbar.css").to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        header(&res, "content-type").as_deref(),
        Some("text/css; charset=utf-8")
    );
    let etag = header(&res, "etag").expect("etag");
    let req =
        get("/__debug_toolbar/static/toolbar.css").insert_header(("if-none-match", etag.as_str()));
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    let res = test::call_service(&app, get("/__debug_toolbar/static/nope.js").to_request()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_disabled_toolbar_is_not_there_at_all() {
    let (status, id, body) = visit(config().enabled(false), "/", allowed_peer(), &[]).await;
    assert_eq!((status, id, body.as_str()), (StatusCode::OK, None, PAGE));
    let (status, _, body) = visit(
        config().enabled(false),
        "/__debug_toolbar/mine",
        allowed_peer(),
        &[],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the application's own route answers"
    );
    assert_eq!(body, PAGE);
}

#[actix_web::test]
async fn the_show_toolbar_callback_can_refuse() {
    let config = config().show_toolbar(|req| req.headers().contains_key("x-show-toolbar"));
    let (_, id, body) = visit(config.clone(), "/", allowed_peer(), &[]).await;
    assert_eq!((id, body.as_str()), (None, PAGE));
    let (_, id, _) = visit(config, "/", allowed_peer(), &[("x-show-toolbar", "1")]).await;
    assert!(id.is_some());
}

#[actix_web::test]
async fn a_custom_prefix_moves_the_routes() {
    let config = config().prefix("tools/debug");
    let (status, _, body) = visit(config.clone(), "/", allowed_peer(), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_contains(&body, "/tools/debug/static/toolbar.js");
    let (status, _, _) = visit(
        config,
        "/tools/debug/static/toolbar.js",
        allowed_peer(),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}
