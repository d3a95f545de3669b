//! The MCP server at `{prefix}mcp`: coding agents read the stored requests through the Model
//! Context Protocol (feature `mcp`).
//!
//! The transport is rmcp's own Streamable HTTP server (`StreamableHttpService`), stateless and
//! answering in JSON: every protocol revision rmcp speaks (`2026-07-28` without a handshake,
//! and the earlier ones with `initialize`) is served by the SDK, not by code of ours. rmcp's
//! server is written against the `http` 1.x types; this module hands it one request at a time
//! (the body read by actix-web, within its payload limit) and streams its answer back. The
//! toolbar's own checks run first, as for every route: the client, the `Host` (so rmcp's own
//! host list is switched off), `show_toolbar`, and here also the `Origin`.

mod tools;

use std::convert::Infallible;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyDataStream, Full};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use crate::access;
use crate::toolbar::Shared;

pub(crate) use tools::ToolbarMcp;

/// Answers one MCP request (`POST` a JSON-RPC message; `GET` and `DELETE` are refused, as a
/// stateless server does).
pub(crate) async fn serve(
    shared: &Arc<Shared>,
    req: &HttpRequest,
    mut payload: Payload,
) -> HttpResponse {
    if let Err(refusal) = access::same_origin(req.uri(), req.headers()) {
        refusal.log_once();
        return HttpResponse::Forbidden()
            .content_type("text/plain; charset=utf-8")
            .body(refusal.message());
    }
    let body = match web::Bytes::from_request(req, &mut payload).await {
        Ok(body) => body,
        Err(e) => return e.error_response(),
    };
    let Some(request) = to_http(req, body) else {
        return HttpResponse::BadRequest()
            .content_type("text/plain; charset=utf-8")
            .body("Bad Request: the request could not be read");
    };
    let handler = ToolbarMcp::new(shared.clone());
    let service = StreamableHttpService::new(
        move || Ok(handler.clone()),
        Arc::new(LocalSessionManager::default()),
        config(),
    );
    from_http(service.handle(request).await)
}

/// Stateless, JSON answers, no keep-alive pings; hosts are the toolbar's to check.
fn config() -> StreamableHttpServerConfig {
    StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .disable_allowed_hosts()
}

/// actix-web's request as the `http` 1.x request rmcp reads; `None` if a part does not convert.
fn to_http(req: &HttpRequest, body: web::Bytes) -> Option<http::Request<Full<web::Bytes>>> {
    let mut builder = http::Request::builder()
        .method(http::Method::from_bytes(req.method().as_str().as_bytes()).ok()?)
        .uri(req.uri().to_string());
    for (name, value) in req.headers() {
        builder = builder.header(name.as_str(), value.as_bytes());
    }
    builder.body(Full::new(body)).ok()
}

/// rmcp's answer as actix-web's, its body streamed as rmcp writes it.
fn from_http(response: http::Response<BoxBody<web::Bytes, Infallible>>) -> HttpResponse {
    let (parts, body) = response.into_parts();
    let status = StatusCode::from_u16(parts.status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut builder = HttpResponse::build(status);
    for (name, value) in &parts.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            builder.append_header((name, value));
        }
    }
    builder.streaming(BodyDataStream::new(body))
}
