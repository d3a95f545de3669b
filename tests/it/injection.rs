//! Which responses get the toolbar, and that every other one passes through byte for byte.

use actix_debug_toolbar::DebugToolbar;
use actix_web::body::{BodySize, MessageBody};
use actix_web::http::{Method, StatusCode, header};
use actix_web::{App, HttpResponse, test, web};
use bytes::Bytes;

use crate::support::{allowed_peer, assert_contains, assert_lacks, body_text, config, header};
use actix_web::middleware::Compress;

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
        "compress" => HttpResponse::Ok()
            .content_type(html)
            .insert_header((header::CONTENT_ENCODING, "compress"))
            .body(Bytes::from_static(b"\x1f\x9dfake</body>")),
        "gzip-then-br" => HttpResponse::Ok()
            .content_type(html)
            .insert_header((header::CONTENT_ENCODING, "gzip, br"))
            .body(Bytes::from_static(b"fake</body>")),
        // Over the limit of 1024 bytes as sent (noise does not compress) ...
        "gzip-large-sent" => coded("gzip", &noise_page(4096)),
        // ... and only once decoded.
        "gzip-large-decoded" => coded(
            "gzip",
            format!("<html><body>{}</body></html>", "x".repeat(100_000)).as_bytes(),
        ),
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
        "redirect" => HttpResponse::Found()
            .content_type(html)
            .insert_header((header::LOCATION, "/elsewhere"))
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
        _ => match name.strip_prefix("coded-") {
            Some(coding) => coded(coding, PAGE.as_bytes()),
            None => HttpResponse::NotFound().finish(),
        },
    }
}

/// An HTML page sent in `coding` (`deflate-raw`: raw DEFLATE under `Content-Encoding: deflate`).
fn coded(coding: &str, page: &[u8]) -> HttpResponse {
    let name = if coding == "deflate-raw" {
        "deflate"
    } else {
        coding
    };
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_ENCODING, name))
        .insert_header((header::ETAG, "\"v1\""))
        .body(encode(coding, page))
}

/// A page of `len` bytes of noise, which no coding makes smaller.
fn noise_page(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x2545_f491;
    let mut page = b"<html><body>".to_vec();
    page.extend((0..len).map(|_| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state.to_le_bytes()[0]
    }));
    page.extend_from_slice(b"</body></html>");
    page
}

fn encode(coding: &str, page: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let level = flate2::Compression::default();
    match coding {
        "gzip" | "x-gzip" => {
            let mut w = flate2::write::GzEncoder::new(Vec::new(), level);
            w.write_all(page).unwrap();
            w.finish().unwrap()
        }
        "deflate" => {
            let mut w = flate2::write::ZlibEncoder::new(Vec::new(), level);
            w.write_all(page).unwrap();
            w.finish().unwrap()
        }
        "deflate-raw" => {
            let mut w = flate2::write::DeflateEncoder::new(Vec::new(), level);
            w.write_all(page).unwrap();
            w.finish().unwrap()
        }
        "br" => {
            let mut w = brotli::CompressorWriter::new(Vec::new(), 4096, 5, 22);
            w.write_all(page).unwrap();
            w.into_inner()
        }
        "zstd" => zstd::stream::encode_all(page, 5).unwrap(),
        other => panic!("no coding {other}"),
    }
}

/// The body decoded as its `Content-Encoding` says (raw or zlib for `deflate`).
fn decode(headers: &header::HeaderMap, body: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let coding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let mut page = Vec::new();
    match coding.as_str() {
        "" | "identity" => page.extend_from_slice(body),
        "gzip" | "x-gzip" => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut page)
                .unwrap();
        }
        "deflate" => {
            if flate2::read::ZlibDecoder::new(body)
                .read_to_end(&mut page)
                .is_err()
            {
                page.clear();
                flate2::read::DeflateDecoder::new(body)
                    .read_to_end(&mut page)
                    .unwrap();
            }
        }
        "br" => {
            brotli::Decompressor::new(body, 4096)
                .read_to_end(&mut page)
                .unwrap();
        }
        "zstd" => page = zstd::stream::decode_all(body).unwrap(),
        other => panic!("no coding {other}"),
    }
    page
}

/// Asserts that `page` is `original` with the toolbar injected once, before its `</body>`.
#[track_caller]
fn assert_injected_once(page: &[u8], original: &[u8], what: &str) {
    let page = std::str::from_utf8(page).expect("utf-8");
    let original = std::str::from_utf8(original).expect("utf-8");
    assert_eq!(
        page.matches("<div id=\"debug-toolbar\"").count(),
        1,
        "{what}: the toolbar once in:\n{page}"
    );
    let at = page.find("<div id=\"debug-toolbar\"").unwrap_or_default();
    let tag = original.rfind("</body>").expect("a closing body tag");
    assert_eq!(
        &page[..at],
        &original[..tag],
        "{what}: the page before the toolbar"
    );
    assert!(
        page.ends_with(&original[tag..]),
        "{what}: the page after the toolbar"
    );
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
        (Method::GET, "gzip", "undecodable-body"),
        (Method::GET, "compress", "encoded-body"),
        (Method::GET, "gzip-then-br", "encoded-body"),
        (Method::GET, "gzip-large-sent", "too-large"),
        (Method::GET, "gzip-large-decoded", "too-large"),
        (Method::GET, "stream", "streamed"),
        (Method::GET, "sse", "not-html"),
        (Method::GET, "attachment", "attachment"),
        (Method::GET, "redirect", "redirect"),
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

#[actix_web::test]
async fn encoded_pages_are_decoded_injected_once_and_encoded_again() {
    for coding in ["gzip", "x-gzip", "deflate", "deflate-raw", "br", "zstd"] {
        let path = format!("/case/coded-{coding}");
        let with = send(Method::GET, &path, Some(toolbar())).await;
        let sent_as = if coding == "deflate-raw" {
            "deflate"
        } else {
            coding
        };
        assert_eq!(with.status, StatusCode::OK, "{coding}");
        assert_eq!(
            with.headers.get(header::CONTENT_ENCODING).unwrap(),
            sent_as,
            "{coding}: Content-Encoding kept"
        );
        assert!(
            with.headers.get(header::ETAG).is_none(),
            "{coding}: ETag dropped"
        );
        assert!(
            with.headers.get("x-debug-toolbar").is_none(),
            "{coding}: not skipped: {:?}",
            with.headers.get("x-debug-toolbar")
        );
        assert_eq!(
            with.size,
            BodySize::Sized(with.body.len() as u64),
            "{coding}: the length actix writes as Content-Length"
        );
        let page = decode(&with.headers, &with.body);
        assert_injected_once(&page, PAGE.as_bytes(), coding);
    }
}

/// Sends `GET /case/html` with `Accept-Encoding: coding` through the toolbar and a real
/// `Compress`, the toolbar outside (`outside`) or inside it.
async fn through_compress(coding: &str, outside: bool, limit: usize) -> Response {
    let req = test::TestRequest::get()
        .uri("/case/html")
        .insert_header((header::ACCEPT_ENCODING, coding))
        .peer_addr(allowed_peer())
        .to_request();
    let toolbar = DebugToolbar::new(config().max_body_bytes(limit).build());
    let res = if outside {
        let app = App::new().wrap(Compress::default()).wrap(toolbar);
        let app = test::init_service(app.configure(cases)).await;
        test::call_service(&app, req).await.map_into_boxed_body()
    } else {
        let app = App::new().wrap(toolbar).wrap(Compress::default());
        let app = test::init_service(app.configure(cases)).await;
        test::call_service(&app, req).await.map_into_boxed_body()
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

#[actix_web::test]
async fn the_toolbar_works_outside_and_inside_compress() {
    for coding in ["gzip", "br", "zstd", "deflate"] {
        for outside in [true, false] {
            let what = format!("{coding}, toolbar outside Compress: {outside}");
            let res = through_compress(coding, outside, 1024).await;
            assert_eq!(res.status, StatusCode::OK, "{what}");
            assert_eq!(
                res.headers.get(header::CONTENT_ENCODING).unwrap(),
                coding,
                "{what}: compressed"
            );
            assert!(
                res.headers.get("x-debug-toolbar").is_none(),
                "{what}: not skipped: {:?}",
                res.headers.get("x-debug-toolbar")
            );
            let page = decode(&res.headers, &res.body);
            assert_injected_once(&page, PAGE.as_bytes(), &what);
        }
    }
}

#[actix_web::test]
async fn a_compressed_stream_over_the_limit_goes_on_byte_for_byte() {
    // The toolbar outside Compress reads the compressed stream; 10 bytes is less than it.
    let res = through_compress("gzip", true, 10).await;
    assert_eq!(
        res.headers.get("x-debug-toolbar").unwrap(),
        "skipped; reason=too-large"
    );
    assert_eq!(res.size, BodySize::Stream, "still a stream");
    let expected = {
        let app = App::new().wrap(Compress::default()).configure(cases);
        let app = test::init_service(app).await;
        let req = test::TestRequest::get()
            .uri("/case/html")
            .insert_header((header::ACCEPT_ENCODING, "gzip"))
            .to_request();
        test::read_body(test::call_service(&app, req).await).await
    };
    assert_eq!(res.body, expected, "the compressed stream, byte for byte");
    assert_eq!(decode(&res.headers, &res.body), PAGE.as_bytes());
}
