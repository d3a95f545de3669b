//! What the toolbar keeps of one request.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::own_cost::ToolbarCost;
use crate::panel::{Badge, Panel};
use crate::stats_json::StatsJson;

/// Version of the [`RequestRecord`] JSON shape; raised on every incompatible change.
pub const RECORD_FORMAT_VERSION: u32 = 1;

/// Unguessable identifier of a stored request: 128 random bits, written as 32 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordId([u8; 16]);

impl RecordId {
    /// A new random id; `None` only if the operating system's random source fails.
    pub fn random() -> Option<Self> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).ok()?;
        Some(Self(bytes))
    }

    /// The id's raw bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [0u8; 32];
        for (pair, byte) in text.chunks_exact_mut(2).zip(self.0) {
            pair[0] = HEX[usize::from(byte >> 4)];
            pair[1] = HEX[usize::from(byte & 0xf)];
        }
        // Hex digits are ASCII.
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordId({self})")
    }
}

/// The text is not 32 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidRecordId;

impl fmt::Display for InvalidRecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a request id is 32 lowercase hex digits")
    }
}

impl std::error::Error for InvalidRecordId {}

impl FromStr for RecordId {
    type Err = InvalidRecordId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.as_bytes();
        if s.len() != 32 {
            return Err(InvalidRecordId);
        }
        let mut bytes = [0u8; 16];
        for (byte, pair) in bytes.iter_mut().zip(s.chunks_exact(2)) {
            *byte = (hex_digit(pair[0])? << 4) | hex_digit(pair[1])?;
        }
        Ok(Self(bytes))
    }
}

fn hex_digit(c: u8) -> Result<u8, InvalidRecordId> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        _ => Err(InvalidRecordId),
    }
}

impl Serialize for RecordId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RecordId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One panel's part of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PanelRecord {
    /// The panel's id.
    pub id: Cow<'static, str>,
    /// The panel's title.
    pub title: Cow<'static, str>,
    /// The line under the title.
    pub subtitle: Option<String>,
    /// The panel's stats as JSON; `null` when the panel failed or its stats were dropped to
    /// keep the record under its size limit (see `note`).
    pub stats: StatsJson,
    /// Why the stats are missing, when they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The panel's mark on the toolbar's handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub badge: Option<Badge>,
    /// Whether the panel was switched off for this request (by configuration or by the
    /// browser's [`PANELS_COOKIE`](crate::integration::PANELS_COOKIE)), so that it did not run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub switched_off: bool,
}

/// Everything the toolbar keeps of one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// [`RECORD_FORMAT_VERSION`] at the time the record was written.
    pub format_version: u32,
    /// The record's id.
    pub id: RecordId,
    /// When the request started, in milliseconds since the Unix epoch.
    pub started_at_unix_ms: u64,
    /// HTTP method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// Response status.
    pub status: u16,
    /// Wall time in milliseconds.
    pub duration_ms: f64,
    /// What kind of request it was: a page load, a script's `fetch`/`XMLHttpRequest`, an
    /// image, another resource.
    #[serde(default)]
    pub kind: RequestKind,
    /// Whether `ToolbarLayer` recorded the request; panels that read `tracing` data are empty
    /// otherwise.
    pub layer_attached: bool,
    /// The panels' parts, in the order they ran.
    pub panels: Vec<PanelRecord>,
    /// What the toolbar itself spent on the request (the Timer panel shows it).
    #[serde(default)]
    pub toolbar: ToolbarCost,
}

impl RequestRecord {
    /// The part of panel `id`.
    pub fn panel(&self, id: &str) -> Option<&PanelRecord> {
        self.panels.iter().find(|p| p.id == id)
    }

    /// The stats of panel `P`, read back into their type; `None` when the record has none.
    pub fn stats<P: Panel>(&self) -> Option<Result<P::Stats, serde_json::Error>> {
        let panel = self.panel(P::ID)?;
        if panel.stats.is_null() && panel.note.is_some() {
            return None;
        }
        Some(panel.stats.parse())
    }

    /// Serializes every panel's stats that are not yet, puts a note in place of stats that
    /// could not be serialized, and drops the largest panels' stats (with a note) until the
    /// serialized record fits in `max_bytes`. The toolbar's store does this before a record is
    /// read, or written as JSON.
    pub fn settle(&mut self, max_bytes: usize) {
        for panel in &mut self.panels {
            if let Some(error) = panel.stats.error() {
                panel.note = Some(format!(
                    "The panel's stats could not be serialized: {error}"
                ));
                panel.stats = StatsJson::null();
            }
        }
        let mut size = serialized_len(self);
        while size > max_bytes {
            let Some(largest) = self
                .panels
                .iter_mut()
                .filter(|p| !p.stats.is_null())
                .max_by_key(|p| p.stats.len())
            else {
                return;
            };
            let panel_size = largest.stats.len();
            largest.stats = StatsJson::null();
            largest.note = Some(format!(
                "This panel recorded {panel_size} bytes, more than the record limit of \
                 {max_bytes} bytes allows; raise the limit to see it."
            ));
            size = serialized_len(self);
        }
    }

    /// The record's line in a list.
    pub fn summary(&self) -> RecordSummary {
        RecordSummary {
            id: self.id,
            started_at_unix_ms: self.started_at_unix_ms,
            method: self.method.clone(),
            path: self.path.clone(),
            status: self.status,
            duration_ms: self.duration_ms,
            kind: self.kind,
        }
    }
}

/// Length of `value` serialized as JSON; `usize::MAX` when it does not serialize.
fn serialized_len<T: Serialize>(value: &T) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.0,
        Err(_) => usize::MAX,
    }
}

/// What a request was made for, as the browser's fetch metadata (`Sec-Fetch-Dest`,
/// `Sec-Fetch-Mode`) or `X-Requested-With` tell it; a request without them (`curl`, an old
/// browser) counts as a page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum RequestKind {
    /// A page load: a navigation to a document or a frame.
    #[default]
    Page,
    /// A script's `fetch` or `XMLHttpRequest`.
    Script,
    /// An image, such as `/favicon.ico`.
    Image,
    /// Any other resource a page loads: a script or style file, a font, media, a worker.
    Resource,
}

impl RequestKind {
    /// The kind of a request with these fetch metadata headers.
    pub fn of(
        sec_fetch_dest: Option<&str>,
        sec_fetch_mode: Option<&str>,
        x_requested_with: Option<&str>,
    ) -> Self {
        if x_requested_with.is_some_and(|v| v.eq_ignore_ascii_case("xmlhttprequest")) {
            return Self::Script;
        }
        match (sec_fetch_dest, sec_fetch_mode) {
            (Some("document" | "iframe" | "frame" | "embed" | "object"), _) => Self::Page,
            (_, Some("navigate" | "nested-navigate")) => Self::Page,
            (Some("empty"), _) => Self::Script,
            (Some("image"), _) => Self::Image,
            (Some(_), _) => Self::Resource,
            (None, Some(_)) => Self::Script,
            (None, None) => Self::Page,
        }
    }

    /// The kind as the JSON API writes it: `page`, `script`, `image`, `resource`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Page => "page",
            Self::Script => "script",
            Self::Image => "image",
            Self::Resource => "resource",
        }
    }

    /// The kind [`as_str`](Self::as_str) wrote, if `name` is one.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Page, Self::Script, Self::Image, Self::Resource]
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

/// A record's line in a list of records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordSummary {
    /// The record's id.
    pub id: RecordId,
    /// When the request started, in milliseconds since the Unix epoch.
    pub started_at_unix_ms: u64,
    /// HTTP method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// Response status.
    pub status: u16,
    /// Wall time in milliseconds.
    pub duration_ms: f64,
    /// What kind of request it was.
    #[serde(default)]
    pub kind: RequestKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_metadata_tells_pages_scripts_images_and_resources_apart() {
        let table = [
            (Some("document"), Some("navigate"), None, RequestKind::Page),
            (
                Some("iframe"),
                Some("nested-navigate"),
                None,
                RequestKind::Page,
            ),
            (Some("empty"), Some("cors"), None, RequestKind::Script),
            (
                Some("empty"),
                Some("same-origin"),
                None,
                RequestKind::Script,
            ),
            (None, None, Some("XMLHttpRequest"), RequestKind::Script),
            (Some("image"), Some("no-cors"), None, RequestKind::Image),
            (Some("style"), Some("no-cors"), None, RequestKind::Resource),
            (Some("script"), Some("no-cors"), None, RequestKind::Resource),
            (None, None, None, RequestKind::Page),
        ];
        for (dest, mode, requested_with, kind) in table {
            assert_eq!(
                RequestKind::of(dest, mode, requested_with),
                kind,
                "{dest:?} {mode:?} {requested_with:?}"
            );
        }
    }

    #[test]
    fn ids_round_trip_through_text_and_json() {
        let id = RecordId::random().expect("random source");
        let text = id.to_string();
        assert_eq!(text.len(), 32);
        assert_eq!(text.parse::<RecordId>(), Ok(id));
        let json = serde_json::to_string(&id).expect("serialize");
        assert_eq!(serde_json::from_str::<RecordId>(&json).expect("parse"), id);
    }

    #[test]
    fn ids_are_not_repeated() {
        let a = RecordId::random().expect("random source");
        let b = RecordId::random().expect("random source");
        assert_ne!(a, b);
    }

    #[test]
    fn malformed_ids_are_rejected() {
        for bad in [
            "",
            "abc",
            "../../etc/passwd",
            &"G".repeat(32),
            &"A".repeat(32),
        ] {
            assert_eq!(bad.parse::<RecordId>(), Err(InvalidRecordId), "{bad}");
        }
    }
}
