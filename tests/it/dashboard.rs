//! The dashboard at the prefix, the curl of a stored request, and links to the editor. The
//! dashboard in a real browser is in `browser.rs`.

use actix_debug_toolbar::{DebugToolbar, Editor};
use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, test, web};

use crate::support::{
    allowed_peer, assert_contains, assert_lacks, body_text, config, get, header, init_tracing,
    panel_uri, refused_peer,
};

/// The routes the dashboard adds.
const DASHBOARD_ROUTES: &[&str] = &[
    "",
    "?request=0123456789abcdef0123456789abcdef",
    "static/dashboard.js",
    "static/dashboard.css",
    "api/requests/0123456789abcdef0123456789abcdef/curl",
];

#[actix_web::test]
async fn every_dashboard_route_is_refused_to_other_clients_and_foreign_hosts() {
    init_tracing();
    let app = test::init_service(
        App::new()
            .wrap(DebugToolbar::new(config().build()))
            .route("/", web::get().to(HttpResponse::Ok)),
    )
    .await;
    let request = |route: &str| {
        test::TestRequest::get()
            .uri(&format!("/__debug_toolbar/{route}"))
            .peer_addr(allowed_peer())
            .insert_header(("host", "localhost:8080"))
    };
    for &route in DASHBOARD_ROUTES {
        let res =
            test::call_service(&app, request(route).peer_addr(refused_peer()).to_request()).await;
        assert_eq!(
            res.status(),
            StatusCode::NOT_FOUND,
            "{route} from another client"
        );
        let foreign = request(route).insert_header(("host", "attacker.example"));
        let res = test::call_service(&app, foreign.to_request()).await;
        assert_eq!(
            res.status(),
            StatusCode::NOT_FOUND,
            "{route} for a foreign host"
        );
        let res = test::call_service(&app, request(route).to_request()).await;
        let expected = if route.ends_with("/curl") {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::OK
        };
        assert_eq!(res.status(), expected, "{route} for an allowed client");
    }
    let hidden = DebugToolbar::new(config().show_toolbar(|_| false).build());
    let app = test::init_service(App::new().wrap(hidden)).await;
    for &route in DASHBOARD_ROUTES {
        let res = test::call_service(&app, request(route).to_request()).await;
        assert_eq!(
            res.status(),
            StatusCode::NOT_FOUND,
            "{route} with show_toolbar false"
        );
    }
}

#[actix_web::test]
async fn the_dashboard_carries_the_shell_of_a_stored_request_under_a_strict_policy() {
    init_tracing();
    let app = test::init_service(App::new().wrap(DebugToolbar::new(config().build())).route(
        "/api/items",
        web::get().to(|| async { HttpResponse::Ok().json([1, 2]) }),
    ))
    .await;
    let res = test::call_service(&app, get("/__debug_toolbar/").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let policy = header(&res, "content-security-policy").expect("a policy");
    assert_contains(&policy, "script-src 'self'");
    assert_lacks(&policy, "unsafe-inline");
    let page = body_text(res).await;
    assert_contains(&page, r#"src="/__debug_toolbar/static/dashboard.js""#);
    assert_lacks(&page, "id=\"debug-toolbar\"");
    assert_lacks(&page, "<script>");

    let res = test::call_service(&app, get("/api/items").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("recorded");
    // Saved after the response: wait for it.
    let mut page = String::new();
    for _ in 0..50 {
        let res = test::call_service(&app, get("/__debug_toolbar/").to_request()).await;
        page = body_text(res).await;
        if page.contains(&id) {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_contains(&page, &format!(r#"data-request-id="{id}""#));
    assert_contains(&page, r#"src="/__debug_toolbar/static/toolbar.js""#);
    // The dashboard itself is not recorded.
    let res = test::call_service(&app, get("/__debug_toolbar/").to_request()).await;
    assert_eq!(header(&res, "x-debug-toolbar-id"), None);
}

#[actix_web::test]
async fn curl_repeats_the_request_with_its_secrets_masked() {
    init_tracing();
    let toolbar = DebugToolbar::new(config().build());
    let app = test::init_service(App::new().wrap(toolbar.clone()).route(
        "/api/items",
        web::get().to(|| async { HttpResponse::Ok().finish() }),
    ))
    .await;
    let res = test::call_service(
        &app,
        get("/api/items?page=2")
            .insert_header(("host", "localhost:8080"))
            .insert_header(("accept", "application/json"))
            .insert_header(("authorization", "Bearer s3cret-token"))
            .insert_header(("cookie", "session=abc123"))
            .to_request(),
    )
    .await;
    let id = header(&res, "x-debug-toolbar-id").expect("recorded");
    crate::support::stored_record(&toolbar, &id).await;
    let res = test::call_service(
        &app,
        get(&format!("/__debug_toolbar/api/requests/{id}/curl"))
            .insert_header(("host", "localhost:8080"))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let answer: serde_json::Value = test::read_body_json(res).await;
    let curl = answer["curl"].as_str().expect("a command");
    assert!(
        curl.starts_with("curl 'http://localhost:8080/api/items?page=2'"),
        "{curl}"
    );
    assert_contains(curl, "-H 'accept: application/json'");
    assert_contains(curl, "-H 'authorization: ********'");
    assert_lacks(curl, "s3cret-token");
    assert_lacks(curl, "abc123");
    assert_lacks(curl, "-H 'host:");
    assert_eq!(answer["path_and_query"], "/api/items?page=2");
    let replayed: Vec<&str> = answer["replay_headers"]
        .as_array()
        .expect("replay headers")
        .iter()
        .filter_map(|h| h["name"].as_str())
        .collect();
    assert!(replayed.contains(&"accept"), "{replayed:?}");
    assert!(!replayed.contains(&"authorization"), "masked: {replayed:?}");
    assert!(
        !replayed.contains(&"cookie"),
        "the browser's own: {replayed:?}"
    );
    assert_eq!(
        answer["body"],
        serde_json::Value::Null,
        "a GET reads no body"
    );
}

#[actix_web::test]
async fn the_body_the_application_read_is_recorded_bounded_and_masked() {
    init_tracing();
    let toolbar = DebugToolbar::new(config().build());
    let app = test::init_service(
        App::new().wrap(toolbar.clone()).route(
            "/api/login",
            web::post()
                .to(|body: String| async move { HttpResponse::Ok().body(body.len().to_string()) }),
        ),
    )
    .await;
    let sent = r#"{"user":"ann","password":"hunter2"}"#;
    let res = test::call_service(
        &app,
        crate::support::action("/api/login")
            .insert_header(("content-type", "application/json"))
            .set_payload(sent)
            .to_request(),
    )
    .await;
    let id = header(&res, "x-debug-toolbar-id").expect("recorded");
    assert_eq!(
        body_text(res).await,
        sent.len().to_string(),
        "the handler read it all"
    );
    crate::support::stored_record(&toolbar, &id).await;
    let res = test::call_service(
        &app,
        get(&format!("/__debug_toolbar/api/requests/{id}/curl")).to_request(),
    )
    .await;
    let answer: serde_json::Value = test::read_body_json(res).await;
    let curl = answer["curl"].as_str().expect("a command");
    assert!(curl.starts_with("curl -X 'POST' "), "{curl}");
    assert_contains(curl, "--data-raw '{");
    assert_contains(curl, "ann");
    assert_lacks(curl, "hunter2");
    assert_eq!(answer["body_truncated"], false);

    // A large body is passed on whole and recorded in part.
    let large = "x".repeat(100_000);
    let res = test::call_service(
        &app,
        crate::support::action("/api/login")
            .insert_header(("content-type", "text/plain"))
            .set_payload(large)
            .to_request(),
    )
    .await;
    let id = header(&res, "x-debug-toolbar-id").expect("recorded");
    assert_eq!(body_text(res).await, "100000");
    let record = crate::support::stored_record(&toolbar, &id).await;
    let stats = record
        .stats::<actix_debug_toolbar::panels::RequestPanel>()
        .expect("request panel")
        .expect("stats");
    let body = stats.body.expect("a body");
    assert_eq!(body.size, 100_000);
    assert!(body.truncated);
    assert_eq!(body.text.map(|t| t.len()), Some(16 * 1024));
}

/// The line of the `tracing::error!` in [`logs_an_error`].
static ERROR_LINE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

async fn logs_an_error() -> HttpResponse {
    tracing::error!("the editor should open here");
    ERROR_LINE.store(line!() - 1, std::sync::atomic::Ordering::Relaxed);
    HttpResponse::Ok()
        .content_type("text/html")
        .body("<html><body>x</body></html>")
}

/// The line of the `panic!` in [`panics`].
const PANIC_LINE: u32 = line!() + 3;

async fn panics() -> HttpResponse {
    panic!("the editor should open here too")
}

/// Renders a template through `RecordingTera`: its span carries this call site.
async fn renders(tera: web::Data<actix_debug_toolbar::panels::RecordingTera>) -> HttpResponse {
    let page = tera
        .render("page.html", &tera::Context::new())
        .expect("renders");
    HttpResponse::Ok().content_type("text/html").body(page)
}

#[actix_web::test]
async fn locations_link_to_the_configured_editor() {
    init_tracing();
    let editor = Editor::new("vscode", "/srv/app").expect("a known editor");
    for (toolbar, link) in [
        (DebugToolbar::new(config().editor(editor).build()), true),
        (DebugToolbar::new(config().build()), false),
    ] {
        let app = test::init_service(
            App::new()
                .wrap(toolbar.clone())
                .app_data(web::Data::new({
                    let mut tera =
                        actix_debug_toolbar::panels::RecordingTera::new(tera::Tera::new());
                    tera.add_raw_template("page.html", "<html><body>hi</body></html>")
                        .expect("parses");
                    tera
                }))
                .route("/log", web::get().to(logs_an_error))
                .route("/panic", web::get().to(panics))
                .route("/render", web::get().to(renders)),
        )
        .await;
        let res = test::call_service(&app, get("/log").to_request()).await;
        let id = header(&res, "x-debug-toolbar-id").expect("recorded");
        crate::support::stored_record(&toolbar, &id).await;
        let res = test::call_service(&app, get(&panel_uri(&id, "logging")).to_request()).await;
        let body = body_text(res).await;
        let error_line = ERROR_LINE.load(std::sync::atomic::Ordering::Relaxed);
        let location = format!("tests/it/dashboard.rs:{error_line}");
        assert_contains(&body, &location);
        if link {
            let url = format!("vscode://file/srv/app/{location}");
            let escaped = url.replace('/', "&#x2F;");
            assert!(
                body.contains(&format!(r#"href="{url}""#))
                    || body.contains(&format!(r#"href="{escaped}""#)),
                "no link to {url} in {body}"
            );
        } else {
            assert_lacks(&body, "dt-editor-link");
        }
        // The panic page links its location the same way.
        let res = test::call_service(&app, get("/panic").to_request()).await;
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let page = body_text(res).await;
        let line = PANIC_LINE;
        assert_contains(&page, &format!("tests/it/dashboard.rs:{line}"));
        if link {
            assert_contains(
                &page,
                &format!(r#"<a href="vscode://file/srv/app/tests/it/dashboard.rs:{line}""#),
            );
        } else {
            assert_lacks(&page, "dt-editor-link");
        }
        // The waterfall links a span's call site (`code.file.path`, `code.line.number`).
        let res = test::call_service(&app, get("/render").to_request()).await;
        let id = header(&res, "x-debug-toolbar-id").expect("recorded");
        crate::support::stored_record(&toolbar, &id).await;
        let res = test::call_service(&app, get(&panel_uri(&id, "otel")).to_request()).await;
        let waterfall = body_text(res).await;
        assert_contains(&waterfall, "tests/it/dashboard.rs");
        if link {
            assert_contains(
                &waterfall,
                r#"<a href="vscode://file/srv/app/tests/it/dashboard.rs:"#,
            );
        } else {
            assert_lacks(&waterfall, "dt-editor-link");
        }
    }
}
