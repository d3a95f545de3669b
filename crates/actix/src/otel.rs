//! OpenTelemetry (cargo feature `otel`): the panel, its configuration, and helpers that carry a
//! request's trace on to the services it calls.
//!
//! Everything of [`debug_toolbar_otel`] is here, plus:
//!
//! - [`trace_context`]: the trace of the request being handled;
//! - [`awc`]: outgoing `awc` calls with `traceparent`/`tracestate`, recorded as client spans;
//! - [`outgoing_headers`]: the same headers for any other client, e.g. `reqwest`.
//!
//! ```no_run
//! use actix_debug_toolbar::otel;
//! use actix_web::{HttpRequest, HttpResponse};
//!
//! async fn handler(req: HttpRequest) -> HttpResponse {
//!     let client = awc::Client::default();
//!     let call = client.get("http://127.0.0.1:8081/api/users");
//!     match otel::awc::send(&req, call, |call| call.send()).await {
//!         Ok(res) => HttpResponse::Ok().body(format!("upstream said {}", res.status())),
//!         Err(e) => HttpResponse::BadGateway().body(e.to_string()),
//!     }
//! }
//! ```

use std::panic::Location;

use actix_web::HttpRequest;
pub use debug_toolbar_otel::*;

/// The trace of the request being handled, when the toolbar serves it.
pub fn trace_context(req: &HttpRequest) -> Option<TraceContext> {
    crate::request_state(req)?.get::<TraceContext>().cloned()
}

/// The `traceparent` (and `tracestate`) headers for an outgoing `method` call to `url` made with
/// a client other than `awc`, e.g. `reqwest`: add each pair to the request. Empty when the
/// toolbar does not serve `req`.
///
/// The call appears in the waterfall as a client span from now to the end of the span it is
/// made in (its end is not seen), at the caller's file and line; the callee's spans become its
/// children. Prefer [`awc::send`] when the end matters.
#[track_caller]
pub fn outgoing_headers(req: &HttpRequest, method: &str, url: &str) -> Vec<(&'static str, String)> {
    headers_made_at(req, method, url, Location::caller())
}

/// [`outgoing_headers`] for a call made at `caller`.
fn headers_made_at(
    req: &HttpRequest,
    method: &str,
    url: &str,
    caller: &'static Location<'static>,
) -> Vec<(&'static str, String)> {
    let Some(trace) = trace_context(req) else {
        return Vec::new();
    };
    let outgoing = trace.outgoing();
    let span_id = outgoing.span_id.as_str();
    tracing::event!(
        target: CLIENT_TARGET,
        tracing::Level::INFO,
        { SPAN_ID_FIELD } = span_id,
        http.request.method = method,
        url.full = url,
        code.file.path = caller.file(),
        code.line.number = caller.line(),
        message = INJECT_MESSAGE,
    );
    outgoing.headers
}

/// Outgoing `awc` calls that continue the request's trace.
pub mod awc {
    use std::future::Future;
    use std::panic::Location;

    use ::awc::error::SendRequestError;
    use ::awc::{ClientRequest, SendClientRequest};
    use actix_web::HttpRequest;
    use tracing::Instrument;

    /// What sending an `awc` request resolves to.
    pub type Sent = <SendClientRequest as std::future::Future>::Output;

    fn with_headers(client: ClientRequest, headers: Vec<(&'static str, String)>) -> ClientRequest {
        headers
            .into_iter()
            .fold(client, |client, header| client.insert_header(header))
    }

    /// Adds `traceparent`/`tracestate` for a new client span to `client`. The call shows in the
    /// waterfall from now to the end of the span it is made in; use [`send`] to record its real
    /// end and status. Unchanged when the toolbar does not serve `req`.
    #[track_caller]
    pub fn inject(req: &HttpRequest, client: ClientRequest) -> ClientRequest {
        let method = client.get_method().to_string();
        let url = client.get_uri().to_string();
        let headers = super::headers_made_at(req, &method, &url, Location::caller());
        with_headers(client, headers)
    }

    /// Sends `client` with `send` (e.g. `|c| c.send()` or `|c| c.send_json(&body)`) inside a
    /// client span: the request carries `traceparent`/`tracestate` naming that span, and the
    /// span ends with the response head, recording its status and the caller's file and line.
    /// Without a toolbar-served `req` the call is sent as is.
    #[track_caller]
    pub fn send(
        req: &HttpRequest,
        client: ClientRequest,
        send: impl FnOnce(ClientRequest) -> SendClientRequest,
    ) -> impl Future<Output = Sent> {
        let caller = Location::caller();
        let trace = super::trace_context(req);
        async move {
            let Some(trace) = trace else {
                return send(client).await;
            };
            let outgoing = trace.outgoing();
            let span = tracing::info_span!(
                target: super::CLIENT_TARGET,
                super::CLIENT_SPAN_NAME,
                { super::SPAN_ID_FIELD } = %outgoing.span_id,
                http.request.method = %client.get_method(),
                url.full = %client.get_uri(),
                code.file.path = caller.file(),
                code.line.number = caller.line(),
                http.response.status_code = tracing::field::Empty,
                error.type = tracing::field::Empty,
            );
            let client = with_headers(client, outgoing.headers);
            let result = {
                let _entered = span.enter();
                send(client)
            }
            .instrument(span.clone())
            .await;
            match &result {
                Ok(res) => {
                    span.record("http.response.status_code", res.status().as_u16());
                    if res.status().as_u16() >= 400 {
                        span.record("error.type", res.status().as_str());
                    }
                }
                Err(e) => {
                    span.record("error.type", error_type(e));
                }
            }
            result
        }
    }

    fn error_type(e: &SendRequestError) -> &'static str {
        match e {
            SendRequestError::Connect(_) => "connect",
            SendRequestError::Timeout => "timeout",
            SendRequestError::Send(_) => "send",
            SendRequestError::Response(_) => "response",
            _ => "_OTHER",
        }
    }
}
