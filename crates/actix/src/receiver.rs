//! The toolbar's OTLP/HTTP receiver, `POST {prefix}otlp/v1/traces`, and the spans it keeps
//! joined into a record of their trace whenever the record is read.
//!
//! A downstream service sets `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` to the route; the toolbar's
//! script sends the browser's spans there too. Spans are kept by trace id through the store
//! ([`Store::save_spans`](debug_toolbar_core::Store::save_spans)), so with a shared store
//! every instance sees them. A request this toolbar serves that continues a trace (a callee of
//! another request, e.g. through `otel::awc::send`) keeps its own spans the same way, so that
//! its caller's waterfall shows them.
//!
//! Cross-site browser requests cannot add spans: the body must be `application/x-protobuf` or
//! `application/json`, types a page of another site can only send after a CORS preflight,
//! which the toolbar never answers; and a request whose `Sec-Fetch-Site` or `Origin` names
//! another site is refused whatever its type.

use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpRequest, HttpResponse};
use debug_toolbar_core::integration::Toolbar;
use debug_toolbar_core::{Panel, RequestRecord, RequestState, StatsJson, TraceKey};
use debug_toolbar_otel::receive::{self, OtlpFormat, ReceivedSpan};
use debug_toolbar_otel::{OtelPanel, OtelStats};
use futures_util::StreamExt;

use crate::access;

/// Largest request body read, as sent (compressed or not).
const MAX_BODY_BYTES: usize = 4 << 20;
/// Largest request once decompressed.
const MAX_DECODED_BYTES: usize = 16 << 20;

/// Answers `POST {prefix}otlp/v1/traces`; the caller checked the client and the host.
pub(crate) async fn receive(
    toolbar: &Toolbar,
    req: &HttpRequest,
    payload: Payload,
) -> HttpResponse {
    let plain = |status: actix_web::http::StatusCode, text: String| {
        HttpResponse::build(status)
            .content_type(ContentType::plaintext())
            .body(text)
    };
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(format) = OtlpFormat::from_content_type(content_type) else {
        return plain(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "OTLP/HTTP bodies are application/x-protobuf or application/json".to_owned(),
        );
    };
    let gzip = match req
        .headers()
        .get(header::CONTENT_ENCODING)
        .map(|v| v.as_bytes().to_ascii_lowercase())
        .as_deref()
    {
        None | Some(b"identity") => false,
        Some(b"gzip") => true,
        Some(_) => {
            return plain(
                actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "OTLP/HTTP bodies are sent as they are or gzip-encoded".to_owned(),
            );
        }
    };
    if let Err(refusal) = access::same_origin(req.uri(), req.headers()) {
        refusal.log_once();
        return plain(
            actix_web::http::StatusCode::FORBIDDEN,
            "Forbidden: spans are accepted from the toolbar's own origin and from programs that \
             are not browsers only."
                .to_owned(),
        );
    }
    // The toolbar's script marks its requests as it marks its actions.
    let browser = access::action_marks(req.uri(), req.headers()).is_ok();
    let body = match read_body(payload).await {
        Ok(body) => body,
        Err(status) => {
            return plain(
                status,
                format!("the request body could not be read within {MAX_BODY_BYTES} bytes"),
            );
        }
    };
    let received = match receive::decode(&body, format, gzip, MAX_DECODED_BYTES) {
        Ok(received) => received,
        Err(e) => {
            let status = match e {
                receive::ReceiveError::TooLarge(_) => {
                    actix_web::http::StatusCode::PAYLOAD_TOO_LARGE
                }
                _ => actix_web::http::StatusCode::BAD_REQUEST,
            };
            return plain(status, e.to_string());
        }
    };
    let mut received = received;
    if browser {
        // The script cannot know the application's name: the browser's spans get it here.
        let service = toolbar
            .panel::<OtelPanel>()
            .map_or_else(|| "browser".to_owned(), OtelPanel::browser_service_name);
        for span in received.traces.values_mut().flatten() {
            span.service.clone_from(&service);
        }
    }
    let mut rejected = received.rejected;
    let mut message = received.message.clone();
    let mut kept_spans = Vec::new();
    for (trace, spans) in &received.traces {
        let json: Vec<String> = spans
            .iter()
            .filter_map(|span| serde_json::to_string(span).ok())
            .collect();
        match toolbar.store().save_spans(trace, json).await {
            Ok(saved) if saved.dropped > 0 => {
                rejected += saved.dropped as u64;
                message = Some(format!(
                    "the debug toolbar keeps a bounded number of spans per trace; {} of trace \
                     {trace} were dropped",
                    saved.dropped
                ));
            }
            Ok(_) => {}
            Err(e) => {
                toolbar.log_failure_once("store:spans", &e);
                return plain(
                    actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                    format!("the toolbar's store is unavailable: {e}"),
                );
            }
        }
        kept_spans.extend(spans.iter().cloned());
    }
    export(toolbar, kept_spans, browser);
    HttpResponse::Ok()
        .content_type(format.content_type())
        .body(receive::answer(format, rejected, message.as_deref()))
}

/// Reads the body within [`MAX_BODY_BYTES`]; the status to answer otherwise.
async fn read_body(mut payload: Payload) -> Result<Vec<u8>, actix_web::http::StatusCode> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| actix_web::http::StatusCode::BAD_REQUEST)?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(actix_web::http::StatusCode::PAYLOAD_TOO_LARGE);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Hands received spans to the OpenTelemetry panel's exporters, off the worker thread (an
/// exporter for a new service is built on the way).
fn export(toolbar: &Toolbar, spans: Vec<ReceivedSpan>, browser: bool) {
    let Some(otel) = toolbar.panel::<OtelPanel>() else {
        return;
    };
    if spans.is_empty() || !otel.exports_received(browser) {
        return;
    }
    let otel = otel.clone();
    drop(actix_web::rt::task::spawn_blocking(move || {
        otel.export_received(&spans, browser);
    }));
}

/// `record` with the spans received for its trace joined into its OpenTelemetry panel; the
/// record as it is when there are none or they cannot be read.
pub(crate) async fn joined(toolbar: &Toolbar, record: Arc<RequestRecord>) -> Arc<RequestRecord> {
    let Some(Ok(mut stats)) = record.stats::<OtelPanel>() else {
        return record;
    };
    let Ok(trace) = stats.trace_id.parse::<TraceKey>() else {
        return record;
    };
    let kept = match toolbar.store().spans(&trace).await {
        Ok(kept) => kept,
        Err(e) => {
            toolbar.log_failure_once("store:spans", &e);
            return record;
        }
    };
    if kept.spans.is_empty() && kept.dropped == 0 {
        return record;
    }
    let received: Vec<ReceivedSpan> = kept
        .spans
        .iter()
        .filter_map(|json| serde_json::from_str(json).ok())
        .collect();
    stats.join(&received, kept.dropped);
    let Ok(json) = StatsJson::from_stats(&stats) else {
        return record;
    };
    let subtitle = toolbar
        .panel::<OtelPanel>()
        .and_then(|otel| otel.nav_subtitle(&stats));
    let mut joined = RequestRecord::clone(&record);
    if let Some(part) = joined
        .panels
        .iter_mut()
        .find(|p| p.id == <OtelPanel as Panel>::ID)
    {
        part.stats = json;
        if subtitle.is_some() {
            part.subtitle = subtitle;
        }
    }
    Arc::new(joined)
}

/// Keeps the spans of a request that continued a trace another request started, so that the
/// caller's waterfall shows them; `None` when there is nothing to keep.
pub(crate) fn own_spans(
    toolbar: &Toolbar,
    record: &RequestRecord,
    state: &RequestState,
) -> Option<(TraceKey, Vec<String>)> {
    let otel = toolbar.panel::<OtelPanel>()?;
    // Most requests start their trace: the request's state says so without reading the
    // recorded spans back.
    if !OtelPanel::continues_trace(state) {
        return None;
    }
    let stats: OtelStats = record.stats::<OtelPanel>()?.ok()?;
    let trace = stats.trace_id.parse::<TraceKey>().ok()?;
    let spans = stats
        .received_form(otel.config().service_name())
        .iter()
        .filter_map(|span| serde_json::to_string(span).ok())
        .collect();
    Some((trace, spans))
}
