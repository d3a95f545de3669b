//! OTLP/HTTP trace requests as the toolbar's receiver reads them: protobuf or JSON, gzip or
//! not, turned into [`ReceivedSpan`]s grouped by trace, with secrets masked; and the answer the
//! OTLP specification asks for.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

use debug_toolbar_core::TraceKey;
use debug_toolbar_core::redact::mask_value;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use prost::Message;
use serde::{Deserialize, Serialize};

use crate::span::{Attribute, AttributeValue, Kind};

/// How an OTLP/HTTP body is encoded, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtlpFormat {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json` (OTLP/JSON: hex ids, camelCase names).
    Json,
}

impl OtlpFormat {
    /// The format a `Content-Type` names (parameters such as `charset` are ignored); `None` for
    /// any other type.
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if essence.eq_ignore_ascii_case("application/x-protobuf") {
            Some(Self::Protobuf)
        } else if essence.eq_ignore_ascii_case("application/json") {
            Some(Self::Json)
        } else {
            None
        }
    }

    /// The `Content-Type` of an answer in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Protobuf => "application/x-protobuf",
            Self::Json => "application/json",
        }
    }
}

/// Why an OTLP request could not be read; answered with `400` (or `413` when too large).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReceiveError {
    /// The body, once decompressed, is larger than the limit.
    TooLarge(usize),
    /// The gzip stream is broken.
    Gzip(String),
    /// The body is not an `ExportTraceServiceRequest` in the format its type names.
    Malformed(String),
}

impl fmt::Display for ReceiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge(limit) => write!(f, "the request is larger than {limit} bytes"),
            Self::Gzip(e) => write!(f, "the gzip body could not be read: {e}"),
            Self::Malformed(e) => write!(f, "not an OTLP ExportTraceServiceRequest: {e}"),
        }
    }
}

impl std::error::Error for ReceiveError {}

/// A span another process sent, as the receiver keeps it: times are absolute, so that it can
/// join the waterfall of any request of its trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceivedSpan {
    /// Trace id, 32 hex digits.
    pub trace_id: String,
    /// Span id, 16 hex digits.
    pub span_id: String,
    /// The parent's span id.
    pub parent_span_id: Option<String>,
    /// The span's name.
    pub name: String,
    /// The span kind (producers count as clients, consumers as internal work).
    pub kind: Kind,
    /// The sending service's `service.name`.
    pub service: String,
    /// Start, in nanoseconds since the Unix epoch.
    pub start_unix_nanos: u64,
    /// End, in nanoseconds since the Unix epoch.
    pub end_unix_nanos: u64,
    /// Attributes, secrets masked.
    pub attributes: Vec<Attribute>,
    /// Events, secrets masked.
    pub events: Vec<ReceivedEvent>,
    /// The status message (or `error`) when the status is `Error`.
    pub error: Option<String>,
}

/// An event of a [`ReceivedSpan`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceivedEvent {
    /// The event's name.
    pub name: String,
    /// When it happened, in nanoseconds since the Unix epoch.
    pub time_unix_nanos: u64,
    /// Attributes, secrets masked.
    pub attributes: Vec<Attribute>,
}

/// What one OTLP request held: its valid spans by trace, and how many spans were rejected
/// (invalid ids) with the reason.
#[derive(Debug, Default)]
pub struct Received {
    /// The spans, by trace.
    pub traces: BTreeMap<TraceKey, Vec<ReceivedSpan>>,
    /// Spans that could not be taken.
    pub rejected: u64,
    /// Why, for the answer's partial success.
    pub message: Option<String>,
}

impl Received {
    /// How many spans were taken.
    pub fn span_count(&self) -> usize {
        self.traces.values().map(Vec::len).sum()
    }
}

/// Reads an OTLP/HTTP trace request: `body` in `format`, gunzipped first when `gzip`, at most
/// `max_bytes` once decompressed.
pub fn decode(
    body: &[u8],
    format: OtlpFormat,
    gzip: bool,
    max_bytes: usize,
) -> Result<Received, ReceiveError> {
    let inflated;
    let body = if gzip {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(body)
            .take(max_bytes as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| ReceiveError::Gzip(e.to_string()))?;
        inflated = out;
        &inflated[..]
    } else {
        body
    };
    if body.len() > max_bytes {
        return Err(ReceiveError::TooLarge(max_bytes));
    }
    let request = match format {
        OtlpFormat::Protobuf => ExportTraceServiceRequest::decode(body)
            .map_err(|e| ReceiveError::Malformed(e.to_string()))?,
        OtlpFormat::Json => serde_json::from_slice::<ExportTraceServiceRequest>(body)
            .map_err(|e| ReceiveError::Malformed(e.to_string()))?,
    };
    Ok(received(request))
}

/// The answer to a request that was read: `ExportTraceServiceResponse`, with a partial success
/// when spans were rejected or dropped.
pub fn answer(format: OtlpFormat, rejected: u64, message: Option<&str>) -> Vec<u8> {
    let response = ExportTraceServiceResponse {
        partial_success: (rejected > 0 || message.is_some()).then(|| ExportTracePartialSuccess {
            rejected_spans: i64::try_from(rejected).unwrap_or(i64::MAX),
            error_message: message.unwrap_or_default().to_owned(),
        }),
    };
    match (format, &response.partial_success) {
        (OtlpFormat::Protobuf, _) => response.encode_to_vec(),
        // Full success is an empty object, not `"partialSuccess": null`.
        (OtlpFormat::Json, None) => b"{}".to_vec(),
        (OtlpFormat::Json, Some(_)) => {
            serde_json::to_vec(&response).unwrap_or_else(|_| b"{}".to_vec())
        }
    }
}

fn received(request: ExportTraceServiceRequest) -> Received {
    let mut out = Received::default();
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                any_value::Value::StringValue(s) if !s.is_empty() => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "unknown_service".to_owned());
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                let trace = hex(&span.trace_id).and_then(|t| t.parse::<TraceKey>().ok());
                let span_id =
                    hex(&span.span_id).filter(|s| s.len() == 16 && s != "0000000000000000");
                let (Some(trace), Some(span_id)) = (trace, span_id) else {
                    out.rejected += 1;
                    out.message =
                        Some("spans need a 16-byte trace id and an 8-byte span id".into());
                    continue;
                };
                let parent_span_id =
                    hex(&span.parent_span_id).filter(|p| p.len() == 16 && p != "0000000000000000");
                let kind = match SpanKind::try_from(span.kind) {
                    Ok(SpanKind::Server) => Kind::Server,
                    Ok(SpanKind::Client | SpanKind::Producer) => Kind::Client,
                    _ => Kind::Internal,
                };
                let error = span
                    .status
                    .as_ref()
                    .filter(|s| s.code == StatusCode::Error as i32)
                    .map(|s| match s.message.as_str() {
                        "" => "error".to_owned(),
                        m => debug_toolbar_core::redact::mask_text(m).into_owned(),
                    });
                out.traces
                    .entry(trace.clone())
                    .or_default()
                    .push(ReceivedSpan {
                        trace_id: trace.to_string(),
                        span_id,
                        parent_span_id,
                        name: debug_toolbar_core::redact::mask_text(&span.name).into_owned(),
                        kind,
                        service: service.clone(),
                        start_unix_nanos: span.start_time_unix_nano,
                        end_unix_nanos: span.end_time_unix_nano.max(span.start_time_unix_nano),
                        attributes: attributes(&span.attributes),
                        events: span
                            .events
                            .iter()
                            .map(|e| ReceivedEvent {
                                name: debug_toolbar_core::redact::mask_text(&e.name).into_owned(),
                                time_unix_nanos: e.time_unix_nano,
                                attributes: attributes(&e.attributes),
                            })
                            .collect(),
                        error,
                    });
            }
        }
    }
    out
}

/// Lower-case hex of `bytes`; `None` when empty.
fn hex(bytes: &[u8]) -> Option<String> {
    (!bytes.is_empty()).then(|| bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn attributes(kvs: &[KeyValue]) -> Vec<Attribute> {
    kvs.iter()
        .map(|kv| Attribute {
            key: kv.key.clone().into(),
            value: attribute_value(&kv.key, kv.value.as_ref()),
        })
        .collect()
}

fn attribute_value(key: &str, value: Option<&AnyValue>) -> AttributeValue {
    let text = |s: &str| AttributeValue::Str(mask_value(key, s).into_owned());
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::BoolValue(b)) => AttributeValue::Bool(*b),
        Some(any_value::Value::IntValue(i)) => AttributeValue::Int(*i),
        Some(any_value::Value::DoubleValue(f)) => AttributeValue::Float(*f),
        Some(any_value::Value::StringValue(s)) => text(s),
        Some(any_value::Value::ArrayValue(a)) => {
            let items: Vec<String> = a
                .values
                .iter()
                .map(|v| attribute_value(key, Some(v)).to_string())
                .collect();
            text(&format!("[{}]", items.join(", ")))
        }
        Some(any_value::Value::KvlistValue(l)) => {
            let items: Vec<String> = l
                .values
                .iter()
                .map(|kv| format!("{}={}", kv.key, attribute_value(&kv.key, kv.value.as_ref())))
                .collect();
            text(&format!("{{{}}}", items.join(", ")))
        }
        Some(any_value::Value::BytesValue(b)) => text(&format!("<{} bytes>", b.len())),
        Some(_) | None => AttributeValue::Str(String::new()),
    }
}

#[cfg(test)]
mod tests {

    use std::io::Write;

    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

    use super::*;

    fn string(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(value.to_owned())),
            }),
            ..KeyValue::default()
        }
    }

    fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![string("service.name", "billing")],
                    ..Resource::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        }
    }

    fn span(trace: u8, id: u8) -> Span {
        Span {
            trace_id: vec![trace; 16],
            span_id: vec![id; 8],
            parent_span_id: vec![9; 8],
            name: "charge".to_owned(),
            kind: SpanKind::Client as i32,
            start_time_unix_nano: 1_000,
            end_time_unix_nano: 5_000,
            attributes: vec![
                string("db.system.name", "postgresql"),
                string("api_token", "s3cr3t"),
            ],
            status: Some(Status {
                message: "card declined".to_owned(),
                code: StatusCode::Error as i32,
            }),
            ..Span::default()
        }
    }

    #[test]
    fn protobuf_gzip_and_json_bodies_give_the_same_spans_masked_and_grouped_by_trace() {
        let request = request(vec![span(1, 2), span(3, 4), span(1, 5)]);
        let protobuf = request.encode_to_vec();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&protobuf).unwrap();
        let gzipped = gz.finish().unwrap();
        let json = serde_json::to_vec(&request).unwrap();
        assert!(
            String::from_utf8_lossy(&json).contains(&"01".repeat(16)),
            "hex ids"
        );
        for (body, format, gzip) in [
            (&protobuf, OtlpFormat::Protobuf, false),
            (&gzipped, OtlpFormat::Protobuf, true),
            (&json, OtlpFormat::Json, false),
        ] {
            let received = decode(body, format, gzip, 1 << 20).unwrap();
            assert_eq!(received.span_count(), 3, "{format:?} gzip={gzip}");
            assert_eq!(received.rejected, 0);
            let first = &received.traces[&"01".repeat(16).parse::<TraceKey>().unwrap()];
            assert_eq!(first.len(), 2);
            let span = &first[0];
            assert_eq!(span.span_id, "0202020202020202");
            assert_eq!(span.parent_span_id.as_deref(), Some("0909090909090909"));
            assert_eq!(
                (span.service.as_str(), span.kind),
                ("billing", Kind::Client)
            );
            assert_eq!((span.start_unix_nanos, span.end_unix_nanos), (1_000, 5_000));
            assert_eq!(span.error.as_deref(), Some("card declined"));
            assert_eq!(
                span.attributes,
                [
                    Attribute::new("db.system.name", "postgresql"),
                    Attribute::new("api_token", debug_toolbar_core::redact::MASK),
                ]
            );
        }
    }

    #[test]
    fn spans_without_valid_ids_are_rejected_and_counted() {
        let mut bad = span(1, 2);
        bad.trace_id = vec![0; 16];
        let mut short = span(1, 3);
        short.span_id = vec![1; 4];
        let body = request(vec![bad, short, span(1, 4)]).encode_to_vec();
        let received = decode(&body, OtlpFormat::Protobuf, false, 1 << 20).unwrap();
        assert_eq!((received.span_count(), received.rejected), (1, 2));
        let answer = ExportTraceServiceResponse::decode(
            &answer(
                OtlpFormat::Protobuf,
                received.rejected,
                received.message.as_deref(),
            )[..],
        )
        .unwrap();
        assert_eq!(answer.partial_success.unwrap().rejected_spans, 2);
    }

    #[test]
    fn broken_or_oversized_bodies_are_errors() {
        let body = request(vec![span(1, 2)]).encode_to_vec();
        assert_eq!(
            decode(&body, OtlpFormat::Protobuf, false, 10).unwrap_err(),
            ReceiveError::TooLarge(10)
        );
        assert!(matches!(
            decode(b"{\"resourceSpans\": 7}", OtlpFormat::Json, false, 1 << 20),
            Err(ReceiveError::Malformed(_))
        ));
        assert!(matches!(
            decode(b"not gzip", OtlpFormat::Protobuf, true, 1 << 20),
            Err(ReceiveError::Gzip(_))
        ));
        assert_eq!(
            OtlpFormat::from_content_type("application/json; charset=utf-8"),
            Some(OtlpFormat::Json)
        );
        assert_eq!(OtlpFormat::from_content_type("text/plain"), None);
        let empty = answer(OtlpFormat::Json, 0, None);
        assert_eq!(empty, b"{}");
    }
}
