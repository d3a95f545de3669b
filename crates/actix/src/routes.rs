//! The toolbar's own routes under its prefix.

use std::sync::{Arc, LazyLock};

use actix_web::dev::Payload;
use actix_web::http::header::{self, CacheControl, CacheDirective, ContentType, EntityTag};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use debug_toolbar_core::integration::Toolbar;
use debug_toolbar_core::{Page, RecordId};
use serde::Serialize;

use crate::access;
use crate::api;
use crate::curl;
use crate::dashboard;
use crate::toolbar::Shared;

/// A file the toolbar serves from its static route.
struct StaticFile {
    body: &'static str,
    content_type: &'static str,
    etag: LazyLock<String>,
}

static TOOLBAR_JS: StaticFile = StaticFile {
    body: include_str!("../static/toolbar.js"),
    content_type: "text/javascript; charset=utf-8",
    etag: LazyLock::new(|| etag_of(TOOLBAR_JS.body)),
};

static TOOLBAR_CSS: StaticFile = StaticFile {
    body: include_str!("../static/toolbar.css"),
    content_type: "text/css; charset=utf-8",
    etag: LazyLock::new(|| etag_of(TOOLBAR_CSS.body)),
};

static DASHBOARD_JS: StaticFile = StaticFile {
    body: include_str!("../static/dashboard.js"),
    content_type: "text/javascript; charset=utf-8",
    etag: LazyLock::new(|| etag_of(DASHBOARD_JS.body)),
};

static DASHBOARD_CSS: StaticFile = StaticFile {
    body: include_str!("../static/dashboard.css"),
    content_type: "text/css; charset=utf-8",
    etag: LazyLock::new(|| etag_of(DASHBOARD_CSS.body)),
};

/// Answers a request for one of the toolbar's routes; the caller checked the client, the host
/// and the `show_toolbar` callback.
pub(crate) async fn serve(
    shared: &Arc<Shared>,
    toolbar: &Toolbar,
    req: &HttpRequest,
    // The body, read only by the OTLP receiver and the MCP server.
    payload: Payload,
) -> HttpResponse {
    let rest = req.path().get(shared.config.prefix.len()..).unwrap_or("");
    let segments: Vec<&str> = rest.split('/').collect();
    #[cfg(not(any(feature = "otel", feature = "mcp")))]
    drop(payload);
    let response = match (req.method(), segments.as_slice()) {
        (&Method::GET, ["static", "toolbar.js"]) => static_file(&TOOLBAR_JS, req),
        (&Method::GET, ["static", "toolbar.css"]) => static_file(&TOOLBAR_CSS, req),
        (&Method::GET, ["static", "dashboard.js"]) => static_file(&DASHBOARD_JS, req),
        (&Method::GET, ["static", "dashboard.css"]) => static_file(&DASHBOARD_CSS, req),
        (&Method::GET, [""]) => dashboard::page(shared, toolbar, req).await,
        (&Method::GET, ["panels", id, panel]) => panel_body(shared, toolbar, id, panel).await,
        (&Method::GET, ["api", "requests"]) => list(toolbar, req).await,
        (&Method::GET, ["api", "requests", "stream"]) => stream(shared, toolbar),
        (&Method::GET, ["api", "requests", id]) => one(toolbar, id).await,
        #[cfg(feature = "otel")]
        (&Method::POST, ["otlp", "v1", "traces"]) => {
            crate::receiver::receive(toolbar, req, payload).await
        }
        (&Method::GET, ["api", "requests", id, "curl"]) => {
            let host = req.connection_info().host().to_owned();
            curl::answer(toolbar, id, &host).await
        }
        (&Method::GET, ["api", "routes"]) => api::routes(toolbar).await,
        (&Method::GET, ["api", "statements"]) => api::statements(toolbar, req).await,
        (&Method::GET, ["api", "problems"]) => api::problems(toolbar).await,
        (&Method::GET, ["api", "problems", id]) => api::request_problems(toolbar, id).await,
        (&Method::GET, ["api", "compare", a, b]) => api::compare(toolbar, a, b).await,
        #[cfg(feature = "mcp")]
        (_, ["mcp"]) => crate::mcp::serve(shared, req, payload).await,
        (&Method::POST, [panel, action]) => match access::action_marks(req.uri(), req.headers()) {
            Ok(()) => panel_action(toolbar, req, &shared.config.prefix, panel, action).await,
            Err(refusal) => {
                refusal.log_once();
                HttpResponse::Forbidden()
                    .content_type(ContentType::plaintext())
                    .body(refusal.message())
            }
        },
        _ => not_found(),
    };
    no_store(response)
}

fn no_store(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    response
}

pub(crate) fn not_found() -> HttpResponse {
    HttpResponse::NotFound()
        .content_type(ContentType::plaintext())
        .body("Not Found")
}

fn static_file(file: &StaticFile, req: &HttpRequest) -> HttpResponse {
    let etag = EntityTag::new_strong(file.etag.clone());
    // RFC 9110: If-None-Match compares weakly; `*` matches any current representation.
    let matches = match <header::IfNoneMatch as header::Header>::parse(req) {
        Ok(header::IfNoneMatch::Any) => true,
        Ok(header::IfNoneMatch::Items(tags)) => tags.iter().any(|t| t.weak_eq(&etag)),
        Err(_) => false,
    };
    let mut response = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header(header::ETag(etag))
        .insert_header(CacheControl(vec![CacheDirective::NoCache]));
    if matches {
        response.finish()
    } else {
        response.content_type(file.content_type).body(file.body)
    }
}

async fn panel_body(shared: &Shared, toolbar: &Toolbar, id: &str, panel: &str) -> HttpResponse {
    let renderer = toolbar.renderer();
    let html = |status: StatusCode, body: String| {
        HttpResponse::build(status)
            .content_type(ContentType::html())
            .body(body)
    };
    let message = |status: StatusCode, title: &str, text: &str| match renderer.message(title, text)
    {
        Ok(body) => html(status, body),
        Err(_) => HttpResponse::build(status)
            .content_type(ContentType::plaintext())
            .body(text.to_owned()),
    };
    let Ok(id) = id.parse::<RecordId>() else {
        return message(
            StatusCode::NOT_FOUND,
            "Unknown request",
            "This is not a request id.",
        );
    };
    let record = match toolbar.store().get(id).await {
        Ok(Some(record)) => read(toolbar, record).await,
        Ok(None) => {
            return message(
                StatusCode::NOT_FOUND,
                "Request no longer stored",
                &format!(
                    "The toolbar keeps only the most recent requests and this one has been \
                     dropped (store capacity: {}). Reload the page to see a fresh toolbar.",
                    shared.config.store_capacity
                ),
            );
        }
        Err(e) => {
            return message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Store unavailable",
                &format!("The toolbar's store could not be read: {e}"),
            );
        }
    };
    match renderer.panel(&record, panel, &shared.config.prefix) {
        Ok(Some(body)) => html(StatusCode::OK, body),
        Ok(None) => message(
            StatusCode::NOT_FOUND,
            "Unknown panel",
            "This request has no such panel.",
        ),
        // The same policy as for a panel that fails while recording: a note in its place.
        Err(e) => {
            toolbar.log_failure_once(&format!("render:{panel}"), &e);
            message(
                StatusCode::OK,
                "Panel failed",
                &format!(
                    "This panel failed: its template could not be rendered ({e}), so it was \
                     set aside; the server log says more. The other panels are unaffected."
                ),
            )
        }
    }
}

/// `POST {prefix}{panel_id}/{action}?request={id}&…`: one of a panel's actions, as an HTML
/// fragment. Parameters name things in the stored record; nothing else is taken from the client.
async fn panel_action(
    toolbar: &Toolbar,
    req: &HttpRequest,
    prefix: &str,
    panel: &str,
    action: &str,
) -> HttpResponse {
    let params = actix_web::web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default();
    let record_id = params
        .iter()
        .find(|(name, _)| name == "request")
        .and_then(|(_, value)| value.parse::<RecordId>().ok());
    let renderer = toolbar.renderer();
    let message = |status: StatusCode, title: &str, text: &str| {
        let body = renderer
            .message(title, text)
            .unwrap_or_else(|_| text.to_owned());
        HttpResponse::build(status)
            .content_type(ContentType::html())
            .body(body)
    };
    let Some(record_id) = record_id else {
        return message(
            StatusCode::BAD_REQUEST,
            "No request",
            "The action needs a request id.",
        );
    };
    let record = match toolbar.store().get(record_id).await {
        Ok(Some(record)) => record,
        Ok(None) => {
            return message(
                StatusCode::NOT_FOUND,
                "Request no longer stored",
                "The toolbar no longer keeps this request. Reload the page and try again.",
            );
        }
        Err(e) => return store_unavailable(&e),
    };
    let Some(future) = toolbar.action(&record, panel, action, &params) else {
        return not_found();
    };
    match future.await {
        Ok(response) => match renderer.action(&response, prefix) {
            Ok(html) => HttpResponse::Ok()
                .content_type(ContentType::html())
                .body(html),
            Err(e) => {
                toolbar.log_failure_once(&format!("render:{}", response.template), &e);
                message(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Action failed",
                    "The answer could not be rendered; the server log says why.",
                )
            }
        },
        Err(e) => {
            // The error is the whole sentence the user reads; it names the action itself.
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_GATEWAY);
            message(status, "", &e.to_string())
        }
    }
}

#[derive(Serialize)]
struct RecordList<T> {
    format_version: u32,
    requests: Vec<T>,
    /// Saves stored, dropped and failed, and the store's last failure.
    store: debug_toolbar_core::StoreHealth,
    /// Why `requests` is empty, when the store could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

async fn list(toolbar: &Toolbar, req: &HttpRequest) -> HttpResponse {
    #[derive(serde::Deserialize)]
    struct Params {
        offset: Option<usize>,
        limit: Option<usize>,
    }
    let params = actix_web::web::Query::<Params>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or(Params {
            offset: None,
            limit: None,
        });
    let page = Page {
        offset: params.offset.unwrap_or(0),
        limit: params.limit.unwrap_or(Page::default().limit).min(500),
    };
    let (status, requests, error) = match toolbar.store().list(page).await {
        Ok(requests) => (StatusCode::OK, requests, None),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Vec::new(),
            Some(format!("the toolbar's store is unavailable: {e}")),
        ),
    };
    HttpResponse::build(status).json(RecordList {
        format_version: debug_toolbar_core::RECORD_FORMAT_VERSION,
        requests,
        store: toolbar.store_health(),
        error,
    })
}

async fn one(toolbar: &Toolbar, id: &str) -> HttpResponse {
    let Ok(id) = id.parse::<RecordId>() else {
        return not_found();
    };
    match toolbar.store().get(id).await {
        Ok(Some(record)) => HttpResponse::Ok().json(&*read(toolbar, record).await),
        Ok(None) => not_found(),
        Err(e) => store_unavailable(&e),
    }
}

/// A stored record as it is shown: with what arrived for it after it was stored (the spans
/// other processes sent for its trace).
async fn read(
    toolbar: &Toolbar,
    record: std::sync::Arc<debug_toolbar_core::RequestRecord>,
) -> std::sync::Arc<debug_toolbar_core::RequestRecord> {
    #[cfg(feature = "otel")]
    let record = crate::receiver::joined(toolbar, record).await;
    #[cfg(not(feature = "otel"))]
    let _ = toolbar;
    record
}

/// `GET {prefix}api/requests/stream`: server-sent events, one summary per new record.
fn stream(shared: &Shared, toolbar: &Toolbar) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/event-stream")
        // Already in its final form: `Compress` leaves it alone, so no event waits in an
        // encoder's buffer.
        .insert_header((header::CONTENT_ENCODING, "identity"))
        .streaming(shared.feed.stream(toolbar.store().clone()))
}

pub(crate) fn store_unavailable(e: &debug_toolbar_core::StoreError) -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .content_type(ContentType::plaintext())
        .body(format!("the toolbar's store is unavailable: {e}"))
}

/// An entity tag for `body`: its 64-bit FNV-1a hash in hex.
fn etag_of(body: &str) -> String {
    let hash = body.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}
