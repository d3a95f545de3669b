//! The spans of one request as the panel keeps them: shown as a waterfall, sent as OTLP or
//! Zipkin spans.

use std::borrow::Cow;

use debug_toolbar_core::LogLevel;
use serde::{Deserialize, Serialize};

/// One span of the request's trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanRecord {
    /// Span id, 16 hex digits.
    pub span_id: String,
    /// The parent's span id; for the server span, the caller's span when the trace came in.
    pub parent_span_id: Option<String>,
    /// The span's name, e.g. `GET /users/{id}` or `SELECT users`.
    pub name: String,
    /// The OpenTelemetry span kind.
    pub kind: Kind,
    /// What the span stands for, which decides its colour in the waterfall.
    pub category: Category,
    /// When it started, in milliseconds after the request started.
    pub start_ms: f64,
    /// How long it took, in milliseconds.
    pub duration_ms: f64,
    /// How many spans of the request it is nested in (the server span is 0).
    pub depth: usize,
    /// Attributes, with semantic-convention names where one exists.
    pub attributes: Vec<Attribute>,
    /// Events, e.g. log records, in time order.
    pub events: Vec<SpanEvent>,
    /// The error description when the span's status is `Error`.
    pub error: Option<String>,
    /// Whether the application made this span with OpenTelemetry itself (captured by
    /// [`crate::CaptureProcessor`]): shown here, exported only by the application.
    #[serde(default)]
    pub captured: bool,
    /// The `service.name` of the service that made the span when it is not this application
    /// (a downstream service, or the browser); `None` for the application's own spans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Left edge in the waterfall, in percent of the trace's length.
    pub left_pct: f64,
    /// Width in the waterfall, in percent of the trace's length.
    pub width_pct: f64,
}

/// The OpenTelemetry span kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Kind {
    /// The server side of a request.
    Server,
    /// A call to another service or a database.
    Client,
    /// Work inside the process.
    Internal,
}

/// What a span stands for in the waterfall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Category {
    /// The request itself.
    Server,
    /// A database query.
    Db,
    /// A template render.
    Template,
    /// An outgoing HTTP call.
    Http,
    /// Any other span of the application.
    Internal,
}

/// An attribute's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttributeValue {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
}

impl std::fmt::Display for AttributeValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttributeValue::Bool(v) => write!(f, "{v}"),
            AttributeValue::Int(v) => write!(f, "{v}"),
            AttributeValue::Float(v) => write!(f, "{v}"),
            AttributeValue::Str(v) => f.write_str(v),
        }
    }
}

impl From<&str> for AttributeValue {
    fn from(v: &str) -> Self {
        AttributeValue::Str(v.to_owned())
    }
}

impl From<String> for AttributeValue {
    fn from(v: String) -> Self {
        AttributeValue::Str(v)
    }
}

impl From<i64> for AttributeValue {
    fn from(v: i64) -> Self {
        AttributeValue::Int(v)
    }
}

impl From<bool> for AttributeValue {
    fn from(v: bool) -> Self {
        AttributeValue::Bool(v)
    }
}

impl From<f64> for AttributeValue {
    fn from(v: f64) -> Self {
        AttributeValue::Float(v)
    }
}

impl From<&debug_toolbar_core::FieldValue> for AttributeValue {
    fn from(v: &debug_toolbar_core::FieldValue) -> Self {
        use debug_toolbar_core::FieldValue;
        match v {
            FieldValue::Bool(b) => AttributeValue::Bool(*b),
            FieldValue::I64(i) => AttributeValue::Int(*i),
            FieldValue::U64(u) => match i64::try_from(*u) {
                Ok(i) => AttributeValue::Int(i),
                Err(_) => AttributeValue::Str(u.to_string()),
            },
            FieldValue::F64(f) => AttributeValue::Float(*f),
            FieldValue::Str(s) => AttributeValue::Str(s.clone()),
        }
    }
}

/// A key and a value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    /// The attribute's name, e.g. `http.route`; a semantic-convention name or a field's name
    /// is borrowed, not copied.
    pub key: Cow<'static, str>,
    /// Its value.
    pub value: AttributeValue,
}

impl Attribute {
    /// An attribute.
    pub fn new(key: impl Into<Cow<'static, str>>, value: impl Into<AttributeValue>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// Something that happened at a point in a span, e.g. a log record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanEvent {
    /// The event's name: a log record's message.
    pub name: String,
    /// When it happened, in milliseconds after the request started.
    pub offset_ms: f64,
    /// The log level, for log records.
    pub level: Option<LogLevel>,
    /// Attributes.
    pub attributes: Vec<Attribute>,
    /// Position in the waterfall, in percent of the trace's length.
    pub left_pct: f64,
}

impl SpanRecord {
    /// The value of attribute `key`.
    pub fn attribute(&self, key: &str) -> Option<&AttributeValue> {
        self.attributes
            .iter()
            .find(|a| a.key == key)
            .map(|a| &a.value)
    }
}

/// Where each span of a list is, by span id: the first of spans sharing an id. Sorted ids
/// rather than a hash map, which costs more to build for the few spans of a request.
pub(crate) struct Positions<'a>(Vec<(&'a str, usize)>);

impl<'a> Positions<'a> {
    pub(crate) fn of(spans: &'a [SpanRecord]) -> Self {
        let mut ids: Vec<(&str, usize)> = spans
            .iter()
            .enumerate()
            .map(|(i, s)| (s.span_id.as_str(), i))
            .collect();
        // Equal ids sort by position: the first span with an id is found.
        ids.sort_unstable();
        Self(ids)
    }

    /// The position of the span with id `id`.
    pub(crate) fn get(&self, id: &str) -> Option<usize> {
        let at = self.0.partition_point(|(known, _)| *known < id);
        self.0
            .get(at)
            .filter(|(known, _)| *known == id)
            .map(|&(_, i)| i)
    }
}

/// Lowercase hex of an id's bytes, as W3C trace context writes trace and span ids (the same
/// text as their `Display`, without the formatting machinery on every served request).
pub(crate) fn hex_id(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    push_hex(&mut text, bytes);
    text
}

/// Appends the lowercase hex of `bytes` to `out`.
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for byte in bytes {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
}

#[cfg(test)]
mod tests {

    use debug_toolbar_core::FieldValue;

    use super::*;

    #[test]
    fn field_values_become_attribute_values_that_keep_their_kind_when_stored() {
        let cases = [
            (FieldValue::Bool(true), AttributeValue::Bool(true), "true"),
            (FieldValue::I64(-7), AttributeValue::Int(-7), "-7"),
            (FieldValue::U64(7), AttributeValue::Int(7), "7"),
            (
                FieldValue::U64(u64::MAX),
                AttributeValue::Str(u64::MAX.to_string()),
                "18446744073709551615",
            ),
            (FieldValue::F64(2.0), AttributeValue::Float(2.0), "2"),
            (FieldValue::F64(0.25), AttributeValue::Float(0.25), "0.25"),
            (
                FieldValue::Str("a b".into()),
                AttributeValue::from("a b"),
                "a b",
            ),
        ];
        for (field, expected, text) in cases {
            let value = AttributeValue::from(&field);
            assert_eq!(value, expected, "{field:?}");
            assert_eq!(value.to_string(), text, "{field:?}");
            let stored = serde_json::to_string(&Attribute::new("k", value.clone())).unwrap();
            let read: Attribute = serde_json::from_str(&stored).unwrap();
            assert_eq!(read.value, value, "{stored}");
        }
    }

    #[test]
    fn ids_are_written_as_their_display_writes_them() {
        use opentelemetry::trace::{SpanId, TraceId};
        let trace = TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").expect("hex");
        let span = SpanId::from_hex("00f067aa0ba902b7").expect("hex");
        assert_eq!(super::hex_id(&trace.to_bytes()), trace.to_string());
        assert_eq!(super::hex_id(&span.to_bytes()), span.to_string());
    }
}
