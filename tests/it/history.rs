//! History and script requests: the record id on every served response, the JSON API's pages,
//! and redirects stopped at a page with the toolbar.

use actix_web::http::{StatusCode, header};
use actix_web::test::{call_service, init_service, read_body_json};
use actix_web::{App, HttpResponse, web};

use crate::support::{assert_contains, assert_lacks, body_text, config, get, header};

async fn redirect(to: web::Path<String>) -> HttpResponse {
    let location = match to.as_str() {
        "script" => "javascript:alert(1)".to_owned(),
        other => format!("/{other}"),
    };
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::SET_COOKIE, "flash=saved; Path=/"))
        .finish()
}

macro_rules! app {
    ($config:expr) => {
        init_service(
            App::new()
                .wrap(actix_debug_toolbar::DebugToolbar::new($config.build()))
                .route("/go/{to}", web::get().to(redirect))
                .route(
                    "/page",
                    web::get().to(|| async {
                        HttpResponse::Ok()
                            .content_type("text/html")
                            .body("<html><body>page</body></html>")
                    }),
                ),
        )
        .await
    };
}

#[actix_web::test]
async fn served_responses_name_their_record_in_server_timing_for_scripts() {
    let app = app!(config());
    let res = call_service(&app, get("/page").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("served");
    let timing = header(&res, "server-timing").expect("server-timing");
    assert_contains(&timing, &format!("debug-toolbar;desc=\"{id} GET\""));
}

#[actix_web::test]
async fn redirects_are_followed_unless_intercepted() {
    let app = app!(config());
    let res = call_service(&app, get("/go/page").to_request()).await;
    assert_eq!(res.status(), StatusCode::FOUND);

    let app = app!(config().intercept_redirects(true));
    let res = call_service(&app, get("/go/page").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(header(&res, "location").is_none());
    assert_eq!(
        header(&res, "set-cookie").as_deref(),
        Some("flash=saved; Path=/")
    );
    assert!(header(&res, "x-debug-toolbar-id").is_some());
    let page = body_text(res).await;
    assert_contains(&page, "302 Found");
    assert_contains(&page, "<a href=\"/page\">/page</a>");
    assert_contains(&page, "<div id=\"debug-toolbar\"");

    let script = get("/go/page").insert_header(("sec-fetch-mode", "cors"));
    let res = call_service(&app, script.to_request()).await;
    assert_eq!(
        res.status(),
        StatusCode::FOUND,
        "scripts follow redirects themselves"
    );
}

#[actix_web::test]
async fn an_intercepted_redirect_to_a_script_url_is_not_a_link() {
    let app = app!(config().intercept_redirects(true));
    let res = call_service(&app, get("/go/script").to_request()).await;
    let page = body_text(res).await;
    assert_lacks(&page, "href=\"javascript:");
    assert_contains(&page, "<code>javascript:alert(1)</code>");
}

#[actix_web::test]
async fn the_json_api_pages_through_records_newest_first() {
    let app = app!(config());
    let mut ids = Vec::new();
    for _ in 0..5 {
        let res = call_service(&app, get("/page").to_request()).await;
        ids.push(header(&res, "x-debug-toolbar-id").expect("served"));
    }
    let res = call_service(
        &app,
        get("/__debug_toolbar/api/requests?offset=1&limit=2").to_request(),
    )
    .await;
    let page: serde_json::Value = read_body_json(res).await;
    let listed: Vec<&str> = page["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(listed, [ids[3].as_str(), ids[2].as_str()]);
    assert_eq!(page["requests"][0]["kind"], "page");
}

#[actix_web::test]
async fn history_tells_pages_from_favicons_and_script_requests() {
    let app = app!(config());
    let cases = [
        (Some(("document", "navigate")), None, "page"),
        (Some(("image", "no-cors")), None, "image"),
        (Some(("empty", "cors")), None, "script"),
        (None, Some("XMLHttpRequest"), "script"),
        (Some(("style", "no-cors")), None, "resource"),
        (None, None, "page"),
    ];
    for (fetch, requested_with, kind) in cases {
        let mut req = get("/page");
        if let Some((dest, mode)) = fetch {
            req = req
                .insert_header(("sec-fetch-dest", dest))
                .insert_header(("sec-fetch-mode", mode));
        }
        if let Some(value) = requested_with {
            req = req.insert_header(("x-requested-with", value));
        }
        let id = header(
            &call_service(&app, req.to_request()).await,
            "x-debug-toolbar-id",
        )
        .expect("served");
        let res = call_service(
            &app,
            get("/__debug_toolbar/api/requests?limit=1").to_request(),
        )
        .await;
        let page: serde_json::Value = read_body_json(res).await;
        assert_eq!(page["requests"][0]["id"], id.as_str());
        assert_eq!(
            page["requests"][0]["kind"], kind,
            "{fetch:?} {requested_with:?}"
        );
    }
}
