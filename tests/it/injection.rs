//! Which responses get the toolbar, and that every other one passes through byte for byte.

use actix_debug_toolbar::DebugToolbar;
use actix_web::body::{BodySize, MessageBody};
use actix_web::http::{Method, StatusCode, header};
use actix_web::{App, HttpResponse, test, web};
use bytes::Bytes;

use crate::support::{allowed_peer, assert_contains, assert_lacks, body_text, config, header};

const PAGE: &str =
    "<!doctype html><html><head><title>t</title></head><body><p>hello</p></body></html>";

/// One route per case; `/case/{name}`.
fn cases(cfg: &mut web::ServiceConfig) {
    cfg.route("/case/{name}", web::route().to(case));
}

async fn case(name: web::Path<String>) -> HttpResponse {
    let html = "text/html; charset=utf-8";
    match name.as_str() {
        "html" => HttpResponse::Ok().content_type(html).body(PAGE),
        "xhtml" => HttpResponse::Ok()
            .content_type("application/xhtml+xml")
            .body(PAGE),
        "upper" => HttpResponse::Ok()
            .content_type(html)
            .body("<HTML><BODY>x</BODY></HTML>"),
        "two-bodies" => HttpResponse::Ok()
            .content_type(html)
            .body("<body><pre>&lt;/body&gt; </body></pre></body>\n"),
        "no-body-tag" => HttpResponse::Ok()
            .content_type(html)
            .body("<p>fragment</p>"),
        "json" => HttpResponse::Ok().json(serde_json::json!({"body": "</body>"})),
        "plain" => HttpResponse::Ok()
            .content_type("text/plain")
            .body("not html </body>"),
        "gzip" => HttpResponse::Ok()
            .content_type(html)
            .insert_header((header::CONTENT_ENCODING, "gzip"))
            .body(Bytes::from_static(b"\x1f\x8b\x08\x00fake</body>")),
        "stream" => HttpResponse::Ok()
            .content_type(html)
            .streaming(futures_util::stream::iter(
                ["<html><body>", "x", "</body></html>"]
                    .map(|c| Ok::<_, std::convert::Infallible>(Bytes::from_static(c.as_bytes()))),
            )),
        "sse" => HttpResponse::Ok()
            .content_type("text/event-stream")
            .streaming(futures_util::stream::iter(["data: </body>\n\n"].map(|c| {
                Ok::<_, std::convert::Infallible>(Bytes::from_static(c.as_bytes()))
            }))),
        "attachment" => HttpResponse::Ok()
            .content_type(html)
            .insert_header((
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"a.html\"",
            ))
            .body(PAGE),
        "no-content" => HttpResponse::NoContent().finish(),
        "not-modified" => HttpResponse::NotModified().content_type(html).finish(),
        "partial" => HttpResponse::PartialContent()
            .content_type(html)
            .insert_header((header::CONTENT_RANGE, "bytes 0-9/100"))
            .body("<body></bo"),
        "empty" => HttpResponse::Ok().content_type(html).finish(),
        "large" => HttpResponse::Ok()
            .content_type(html)
            .body(format!("<html><body>{}</body></html>", "x".repeat(2048))),
        "etag" => HttpResponse::Ok()
            .content_type(html)
            .insert_header((header::ETAG, "\"v1\""))
            .insert_header((header::CONTENT_LENGTH, "3"))
            .body(PAGE),
        "csp" => HttpResponse::Ok()
            .content_type(html)
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'self' 'nonce-r4nd0m+/='",
            ))
            .body(PAGE),
        _ => HttpResponse::NotFound().finish(),
    }
}

struct Response {
    status: StatusCode,
    size: BodySize,
    headers: actix_web::http::header::HeaderMap,
    body: Bytes,
}

/// Sends `method path` through the case app, with the toolbar or without it.
async fn send(method: Method, path: &str, toolbar: Option<DebugToolbar>) -> Response {
    let req = test::TestRequest::default()
        .method(method)
        .uri(path)
        .peer_addr(allowed_peer())
        .to_request();
    let res = match toolbar {
        Some(toolbar) => {
            let app = test::init_service(App::new().wrap(toolbar).configure(cases)).await;
            test::call_service(&app, req).await.map_into_boxed_body()
        }
        None => {
            let app = test::init_service(App::new().configure(cases)).await;
            test::call_service(&app, req).await.map_into_boxed_body()
        }
    };
    let status = res.status();
    let size = res.response().body().size();
    let headers = res.headers().clone();
    let body = test::read_body(res).await;
    Response {
        status,
        size,
        headers,
        body,
    }
}

fn toolbar() -> DebugToolbar {
    DebugToolbar::new(config().max_body_bytes(1024).build())
}

#[actix_web::test]
async fn pass_through_cases_are_byte_identical_and_say_why() {
    let table = [
        (Method::GET, "no-body-tag", "no-closing-body-tag"),
        (Method::GET, "json", "not-html"),
        (Method::GET, "plain", "not-html"),
        (Method::GET, "xhtml", "xhtml"),
        (Method::GET, "gzip", "encoded-body"),
        (Method::GET, "stream", "streamed"),
        (Method::GET, "sse", "not-html"),
        (Method::GET, "attachment", "attachment"),
        (Method::GET, "no-content", "no-body-status"),
        (Method::GET, "not-modified", "no-body-status"),
        (Method::GET, "partial", "partial-content"),
        (Method::GET, "empty", "empty-body"),
        (Method::GET, "large", "too-large"),
        (Method::HEAD, "html", "head-request"),
    ];
    for (method, name, reason) in table {
        let path = format!("/case/{name}");
        let plain = send(method.clone(), &path, None).await;
        let with = send(method.clone(), &path, Some(toolbar())).await;
        assert_eq!(with.status, plain.status, "{method} {name}: status");
        assert_eq!(
            with.body, plain.body,
            "{method} {name}: body must be untouched"
        );
        for (name_, value) in plain.headers.iter() {
            assert_eq!(
                with.headers.get(name_),
                Some(value),
                "{method} {name}: header {name_} must be untouched"
            );
        }
        let status = with
            .headers
            .get("x-debug-toolbar")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(
            status,
            format!("skipped; reason={reason}"),
            "{method} {name}: skip reason"
        );
        assert!(
            with.headers.contains_key("x-debug-toolbar-id"),
            "{method} {name}: the request is still recorded"
        );
    }
}

#[actix_web::test]
async fn html_pages_get_the_toolbar_before_the_last_closing_body_tag() {
    for name in ["html", "upper", "two-bodies"] {
        let path = format!("/case/{name}");
        let plain = send(Method::GET, &path, None).await;
        let with = send(Method::GET, &path, Some(toolbar())).await;
        let body = std::str::from_utf8(&with.body).expect("utf-8");
        let at = body
            .find("<div id=\"debug-toolbar\"")
            .expect("toolbar injected");
        let original = std::str::from_utf8(&plain.body).expect("utf-8");
        let last_tag = original.to_ascii_lowercase().rfind("</body").expect("tag");
        assert_eq!(
            &body[..at],
            &original[..last_tag],
            "{name}: page before the toolbar"
        );
        assert!(
            body.ends_with(&original[last_tag..]),
            "{name}: page after the toolbar"
        );
        assert_eq!(
            with.size,
            BodySize::Sized(with.body.len() as u64),
            "{name}: the length actix writes as Content-Length"
        );
        assert!(
            with.headers.get("x-debug-toolbar").is_none(),
            "{name}: not skipped"
        );
    }
}

#[actix_web::test]
async fn injected_responses_drop_the_stale_etag() {
    let with = send(Method::GET, "/case/etag", Some(toolbar())).await;
    assert!(with.headers.get(header::ETAG).is_none());
    assert!(
        with.headers.get(header::CONTENT_LENGTH).is_none(),
        "the handler's explicit Content-Length no longer fits and is dropped"
    );
    assert_eq!(with.size, BodySize::Sized(with.body.len() as u64));
}

#[actix_web::test]
async fn injected_tags_carry_the_csp_nonce() {
    let with = send(Method::GET, "/case/csp", Some(toolbar())).await;
    let body = std::str::from_utf8(&with.body).expect("utf-8");
    assert_contains(body, "nonce=\"r4nd0m+/=\"");
    assert_contains(body, "src=\"/__debug_toolbar/static/toolbar.js\"");
    assert_lacks(body, "<script>");
}

#[actix_web::test]
async fn served_responses_carry_the_record_id_and_server_timing() {
    let toolbar = toolbar();
    let app = test::init_service(App::new().wrap(toolbar).configure(cases)).await;
    let res = test::call_service(&app, crate::support::get("/case/html").to_request()).await;
    let id = header(&res, "x-debug-toolbar-id").expect("record id");
    assert_eq!(id.len(), 32);
    let timing = header(&res, "server-timing").expect("server-timing");
    assert_contains(&timing, "total;dur=");
    let body = body_text(res).await;
    assert_contains(&body, &format!("data-request-id=\"{id}\""));
}
