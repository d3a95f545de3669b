//! Who is shown the toolbar, and that everyone else sees the application as if it were absent:
//! clients, forwarding proxies, host names, the `show_toolbar` callback and the marks of actions.

use std::borrow::Cow;
use std::net::SocketAddr;

use actix_debug_toolbar::core::{ActionFuture, ActionResponse};
use actix_debug_toolbar::{DebugToolbar, Panel, StatsContext, Template, ToolbarConfigBuilder};
use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, test, web};

use crate::support::{
    action, allowed_peer, assert_contains, body_text, config, get, header, refused_peer,
};

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
    // If-None-Match compares weakly, over a list, and `*` matches.
    for sent in [
        format!("\"other\", W/{etag}"),
        "*".to_owned(),
        "\"other\"".to_owned(),
    ] {
        let req = get("/__debug_toolbar/static/toolbar.css")
            .insert_header(("if-none-match", sent.as_str()));
        let res = test::call_service(&app, req.to_request()).await;
        let expected = if sent == "\"other\"" {
            StatusCode::OK
        } else {
            StatusCode::NOT_MODIFIED
        };
        assert_eq!(res.status(), expected, "If-None-Match: {sent}");
    }
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

/// Asserts that the toolbar left `res` alone: the page as the application made it, and no
/// header of the toolbar's.
#[track_caller]
fn assert_untouched<B>(res: &ServiceResponse<B>, what: &str) {
    assert_eq!(res.status(), StatusCode::OK, "{what}");
    for name in ["x-debug-toolbar-id", "x-debug-toolbar", "server-timing"] {
        assert_eq!(header(res, name), None, "{what}: no {name} header");
    }
}

/// Sends `req` to the page and to `api/requests`, and asserts that the page is untouched and the
/// API answers 404.
async fn assert_refused(
    config: ToolbarConfigBuilder,
    req: impl Fn(&str) -> test::TestRequest,
    what: &str,
) {
    let app = app!(config);
    let res = test::call_service(&app, req("/").to_request()).await;
    assert_untouched(&res, &format!("{what}: the page"));
    assert_eq!(body_text(res).await, PAGE, "{what}: the page's body");
    let res = test::call_service(&app, req("/__debug_toolbar/api/requests").to_request()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "{what}: api/requests");
    assert_eq!(body_text(res).await, "Not Found", "{what}");
}

/// Makes a request for a URI.
type MakeRequest = dyn Fn(&str) -> test::TestRequest;

/// Sends `req` to the page and to `api/requests`, and asserts that both are served.
async fn assert_served(
    config: ToolbarConfigBuilder,
    req: impl Fn(&str) -> test::TestRequest,
    what: &str,
) {
    let app = app!(config);
    let res = test::call_service(&app, req("/").to_request()).await;
    assert!(
        header(&res, "x-debug-toolbar-id").is_some(),
        "{what}: the page is recorded"
    );
    assert_contains(&body_text(res).await, "<div id=\"debug-toolbar\"");
    let res = test::call_service(&app, req("/__debug_toolbar/api/requests").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK, "{what}: api/requests");
}

#[actix_web::test]
async fn a_same_host_proxy_forwarding_a_remote_client_is_refused() {
    // nginx on the same host, trusted or not, appending the remote client to X-Forwarded-For;
    // the client wrote a Forwarded header naming an allowed address.
    for (trusting, what) in [
        (config(), "untrusted"),
        (
            config().trusted_proxies(["127.0.0.1/32".parse().expect("net")]),
            "trusted",
        ),
    ] {
        let forwarded = |uri: &str| {
            get(uri)
                .insert_header(("x-forwarded-for", "203.0.113.9"))
                .insert_header(("forwarded", "for=127.0.0.1"))
        };
        assert_refused(trusting, forwarded, what).await;
    }
}

#[actix_web::test]
async fn a_trusted_proxy_naming_no_readable_client_is_refused() {
    let trusting = || config().trusted_proxies(["127.0.0.1/32".parse().expect("net")]);
    for forwarded in [
        None,
        Some(("forwarded", "for=unknown")),
        Some(("x-forwarded-for", "127.0.0.1, unknown")),
    ] {
        let what = format!("{forwarded:?}");
        let req = |uri: &str| match forwarded {
            Some(pair) => get(uri).insert_header(pair),
            None => get(uri),
        };
        assert_refused(trusting(), req, &what).await;
    }
}

#[actix_web::test]
async fn a_foreign_host_gets_the_untouched_page_and_404_on_toolbar_routes() {
    for host in [
        "attacker.example:8080",
        "attacker.example",
        "localhost.attacker.example",
        "127.0.0.1.nip.io",
    ] {
        let req = |uri: &str| get(uri).insert_header(("host", host));
        assert_refused(config(), req, host).await;
    }
    // An absolute URI, as HTTP/2 sends its `:authority`, counts as much as `Host`.
    let absolute = |uri: &str| get(&format!("http://attacker.example:8080{uri}"));
    assert_refused(config(), absolute, "an absolute URI").await;
    let both = |uri: &str| {
        get(&format!("http://attacker.example:8080{uri}")).insert_header(("host", "localhost:8080"))
    };
    assert_refused(config(), both, "an absolute URI and a loopback Host").await;
}

#[actix_web::test]
async fn loopback_names_ip_literals_and_allowed_hosts_are_served() {
    for host in [
        "localhost:8080",
        "localhost",
        "LocalHost.",
        "app.localhost:3000",
        "127.0.0.1",
        "127.0.0.1:8080",
        "[::1]:8080",
        "10.0.0.7:80",
    ] {
        assert_served(config(), |uri| get(uri).insert_header(("host", host)), host).await;
    }
    assert_served(
        config(),
        |uri| get(&format!("http://localhost:8080{uri}")),
        "an absolute URI",
    )
    .await;
    let hosts = || config().allowed_hosts(["dev.example.test", ".apps.example.test"]);
    for host in [
        "dev.example.test",
        "DEV.example.test:8443",
        "apps.example.test",
        "a.b.apps.example.test",
    ] {
        assert_served(hosts(), |uri| get(uri).insert_header(("host", host)), host).await;
    }
    for host in [
        "example.test",
        "other.example.test",
        "dev.example.test.attacker.example",
        "xapps.example.test",
    ] {
        let req = |uri: &str| get(uri).insert_header(("host", host));
        assert_refused(hosts(), req, host).await;
    }
}

/// A panel with one action, `ping/pong`, answering "pong".
#[derive(Debug, Clone, Copy)]
struct PingPanel;

impl Panel for PingPanel {
    /// Whether the panel ran (stats that are not `null`, which would mean "no stats").
    type Stats = bool;
    const ID: &'static str = "ping";

    fn title(&self) -> Cow<'static, str> {
        "Ping".into()
    }

    fn generate_stats(&self, _cx: &StatsContext<'_>) -> bool {
        true
    }

    fn template(&self) -> Template {
        Template::new("panels/ping.html", "<p>ping</p>")
    }

    fn action(
        &self,
        name: &str,
        _stats: bool,
        _params: &[(String, String)],
    ) -> Option<ActionFuture> {
        (name == "pong").then(|| -> ActionFuture {
            Box::pin(async {
                Ok(ActionResponse {
                    template: "panels/ping_pong.html",
                    data: serde_json::json!("pong"),
                })
            })
        })
    }

    fn action_templates(&self) -> Vec<Template> {
        vec![Template::new("panels/ping_pong.html", "<p>{{ data }}</p>")]
    }
}

/// Records the page at `/` with `config` and the ping panel, then sends each request
/// `make(&action_uri)` makes; returns the status and body of each.
async fn ping(
    config: ToolbarConfigBuilder,
    requests: &[&MakeRequest],
) -> Vec<(StatusCode, String)> {
    let app = app!(config.panel(PingPanel));
    let res = test::call_service(&app, get("/").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let uri = format!("/__debug_toolbar/ping/pong?request={id}");
    let mut answers = Vec::new();
    for make in requests {
        let res = test::call_service(&app, make(&uri).to_request()).await;
        answers.push((res.status(), body_text(res).await));
    }
    answers
}

#[actix_web::test]
async fn marked_same_origin_actions_reach_the_action() {
    let answers = ping(
        config(),
        &[
            &|uri| action(uri),
            &|uri| {
                action(uri)
                    .insert_header(("host", "localhost:8080"))
                    .insert_header(("origin", "http://localhost:8080"))
                    .insert_header(("sec-fetch-site", "same-origin"))
            },
            &|uri| {
                action(uri)
                    .insert_header(("host", "127.0.0.1"))
                    .insert_header(("origin", "http://127.0.0.1"))
            },
            &|uri| {
                // TLS ended by a proxy: the origin's scheme is not the connection's.
                action(uri)
                    .insert_header(("host", "localhost"))
                    .insert_header(("origin", "https://localhost:443"))
            },
        ],
    )
    .await;
    for (i, (status, body)) in answers.iter().enumerate() {
        assert_eq!(*status, StatusCode::OK, "request {i}: {body}");
        assert_eq!(body, "<p>pong</p>", "request {i}");
    }
}

#[actix_web::test]
async fn cross_site_actions_are_forbidden() {
    let answers = ping(
        config(),
        &[
            // A plain HTML form of another site: no header of the toolbar's.
            &|uri| {
                test::TestRequest::post()
                    .uri(uri)
                    .peer_addr(allowed_peer())
                    .insert_header(("content-type", "application/x-www-form-urlencoded"))
                    .insert_header(("origin", "https://attacker.example"))
                    .insert_header(("sec-fetch-site", "cross-site"))
            },
            // No Origin or Sec-Fetch-Site either (an old browser): still no mark.
            &|uri| test::TestRequest::post().uri(uri).peer_addr(allowed_peer()),
            &|uri| action(uri).insert_header(("x-debug-toolbar-action", "yes")),
            // Marked, but from elsewhere.
            &|uri| {
                action(uri)
                    .insert_header(("host", "localhost:8080"))
                    .insert_header(("origin", "https://attacker.example"))
            },
            &|uri| {
                action(uri)
                    .insert_header(("host", "localhost:8080"))
                    .insert_header(("origin", "http://localhost:8081"))
            },
            &|uri| action(uri).insert_header(("origin", "null")),
            &|uri| action(uri).insert_header(("sec-fetch-site", "cross-site")),
            &|uri| action(uri).insert_header(("sec-fetch-site", "same-site")),
        ],
    )
    .await;
    for (i, (status, body)) in answers.iter().enumerate() {
        assert_eq!(*status, StatusCode::FORBIDDEN, "request {i}: {body}");
        assert_contains(body, "Forbidden");
    }
}

#[actix_web::test]
async fn show_toolbar_guards_every_toolbar_route() {
    // A stand-in for an application's own check (a session, in a real one).
    let staff = config()
        .panel(PingPanel)
        .show_toolbar(|req| req.headers().contains_key("x-test-staff"));
    let app = app!(staff);
    let as_staff = |req: test::TestRequest| req.insert_header(("x-test-staff", "1"));
    let res = test::call_service(&app, as_staff(get("/")).to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("staff are served");
    let res = test::call_service(&app, get("/").to_request()).await;
    assert_untouched(&res, "the page, for others");

    let gets = [
        "/__debug_toolbar/api/requests".to_owned(),
        format!("/__debug_toolbar/api/requests/{id}"),
        format!("/__debug_toolbar/panels/{id}/request"),
        "/__debug_toolbar/static/toolbar.js".to_owned(),
    ];
    let ping = format!("/__debug_toolbar/ping/pong?request={id}");
    let requests: Vec<(&str, &MakeRequest)> = gets
        .iter()
        .map(|uri| (uri.as_str(), &get as &MakeRequest))
        .chain([(ping.as_str(), &action as &MakeRequest)])
        .collect();
    for (uri, make) in requests {
        let res = test::call_service(&app, make(uri).to_request()).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{uri}, for others");
        assert_eq!(body_text(res).await, "Not Found", "{uri}");
        let res = test::call_service(&app, as_staff(make(uri)).to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "{uri}, for staff");
    }
}

#[actix_web::test]
async fn refusals_leave_pages_byte_for_byte_and_toolbar_free() {
    let app = app!(config());
    let res = test::call_service(
        &app,
        get("/")
            .insert_header(("host", "attacker.example"))
            .to_request(),
    )
    .await;
    assert_untouched(&res, "a foreign host");
    let size = res.response().body().size();
    assert_eq!(size, actix_web::body::BodySize::Sized(PAGE.len() as u64));
}
