//! A small Zipkin v2 JSON exporter.
//!
//! Written for the toolbar instead of the deprecated `opentelemetry-zipkin`, which sends no
//! `serviceName` and a zero `parentId` on root spans: this one takes the service name from the
//! resource, leaves the parent out of roots, has a configurable timeout, speaks TLS, can gzip
//! its bodies, and retries the way the OTLP exporters do ([`super::retry`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use serde::Serialize;

use super::retry::{Attempt, Retry};
use super::tls::{chain, http_client};
use crate::config::{Compression, Tls};

/// Posts spans as a JSON array to Zipkin's `/api/v2/spans`.
#[derive(Debug)]
pub(crate) struct ZipkinExporter {
    client: reqwest::blocking::Client,
    endpoint: String,
    service_name: String,
    compression: Compression,
    retry: Retry,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ZipkinSpan<'a> {
    trace_id: String,
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_id: Option<String>,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    timestamp: u64,
    duration: u64,
    local_endpoint: Endpoint<'a>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    tags: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    annotations: Vec<Annotation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Endpoint<'a> {
    service_name: &'a str,
}

#[derive(Serialize)]
struct Annotation {
    timestamp: u64,
    value: String,
}

fn micros(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

impl ZipkinExporter {
    /// An exporter posting to `endpoint` with `tls` for an `https://` one, sending a batch
    /// within `timeout` (retries included), at most `max_retries` times again.
    pub(crate) fn new(
        endpoint: &str,
        tls: &Tls,
        timeout: Duration,
        max_retries: usize,
    ) -> Result<Self, String> {
        Ok(Self {
            client: http_client(endpoint, tls, timeout)?,
            endpoint: endpoint.to_owned(),
            service_name: "unknown_service".to_owned(),
            compression: Compression::None,
            retry: Retry::new(max_retries, timeout),
        })
    }

    /// Sends bodies compressed with `compression`.
    pub(crate) fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// One POST of `body`, classified for retrying.
    fn post(&self, body: &[u8]) -> Result<(), Attempt> {
        let mut request = self
            .client
            .post(&self.endpoint)
            .header("content-type", "application/json");
        if self.compression == Compression::Gzip {
            request = request.header("content-encoding", "gzip");
        }
        let response = request
            .body(body.to_vec())
            .send()
            .map_err(|e| Attempt::no_answer(chain(&e)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok());
        Err(Attempt::refused(
            status.as_u16(),
            retry_after,
            format!("Zipkin answered {status}"),
        ))
    }

    fn span<'a>(&'a self, span: &'a SpanData) -> ZipkinSpan<'a> {
        let mut tags: BTreeMap<String, String> = span
            .attributes
            .iter()
            .map(|kv| (kv.key.as_str().to_owned(), kv.value.as_str().into_owned()))
            .collect();
        if let Status::Error { description } = &span.status {
            tags.insert("otel.status_code".to_owned(), "ERROR".to_owned());
            tags.insert("error".to_owned(), description.to_string());
        }
        tags.insert(
            "otel.scope.name".to_owned(),
            span.instrumentation_scope.name().to_owned(),
        );
        let start = micros(span.start_time);
        ZipkinSpan {
            trace_id: span.span_context.trace_id().to_string(),
            id: span.span_context.span_id().to_string(),
            parent_id: (span.parent_span_id != SpanId::INVALID)
                .then(|| span.parent_span_id.to_string()),
            name: &span.name,
            kind: match span.span_kind {
                SpanKind::Server => Some("SERVER"),
                SpanKind::Client => Some("CLIENT"),
                SpanKind::Producer => Some("PRODUCER"),
                SpanKind::Consumer => Some("CONSUMER"),
                SpanKind::Internal => None,
            },
            timestamp: start,
            duration: micros(span.end_time).saturating_sub(start).max(1),
            local_endpoint: Endpoint {
                service_name: &self.service_name,
            },
            tags,
            annotations: span
                .events
                .iter()
                .map(|e| Annotation {
                    timestamp: micros(e.timestamp),
                    value: e.name.to_string(),
                })
                .collect(),
        }
    }
}

impl SpanExporter for ZipkinExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans: Vec<ZipkinSpan<'_>> = batch.iter().map(|s| self.span(s)).collect();
        let mut body =
            serde_json::to_vec(&spans).map_err(|e| OTelSdkError::InternalFailure(e.to_string()))?;
        if self.compression == Compression::Gzip {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            body = encoder
                .write_all(&body)
                .and_then(|()| encoder.finish())
                .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))?;
        }
        // The batch processor runs exports on its own thread, outside any async runtime, so
        // blocking requests (and waits between them) are fine here.
        self.retry
            .run(|| self.post(&body))
            .map_err(OTelSdkError::InternalFailure)
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Some(name) = resource.get(&opentelemetry::Key::from_static_str("service.name")) {
            self.service_name = name.as_str().into_owned();
        }
    }
}
