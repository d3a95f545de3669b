//! A small Zipkin v2 JSON exporter.
//!
//! Written for the toolbar instead of the deprecated `opentelemetry-zipkin`, which sends no
//! `serviceName` and a zero `parentId` on root spans: this one takes the service name from the
//! resource, leaves the parent out of roots, and has a configurable timeout.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use serde::Serialize;

/// Posts spans as a JSON array to Zipkin's `/api/v2/spans`.
#[derive(Debug)]
pub(crate) struct ZipkinExporter {
    client: reqwest::blocking::Client,
    endpoint: String,
    service_name: String,
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

/// An error and its sources, e.g. "error sending request: connection refused".
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

fn micros(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

impl ZipkinExporter {
    /// An exporter posting to `endpoint`, giving up on a request after `timeout`.
    ///
    /// The blocking HTTP client is built on a helper thread: building (and dropping) it inside
    /// an async runtime is not allowed.
    pub(crate) fn new(endpoint: &str, timeout: Duration) -> Result<Self, String> {
        let client = std::thread::spawn(move || {
            reqwest::blocking::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout)
                .build()
                .map_err(|e| e.to_string())
        })
        .join()
        .map_err(|_| "building the HTTP client panicked".to_owned())??;
        Ok(Self {
            client,
            endpoint: endpoint.to_owned(),
            service_name: "unknown_service".to_owned(),
        })
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
        let body =
            serde_json::to_vec(&spans).map_err(|e| OTelSdkError::InternalFailure(e.to_string()))?;
        // The batch processor runs exports on its own thread, outside any async runtime, so a
        // blocking request is fine here.
        let response = self
            .client
            .post(&self.endpoint)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .map_err(|e| OTelSdkError::InternalFailure(chain(&e)))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(OTelSdkError::InternalFailure(format!(
                "Zipkin answered {status}"
            )))
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Some(name) = resource.get(&opentelemetry::Key::from_static_str("service.name")) {
            self.service_name = name.as_str().into_owned();
        }
    }
}
