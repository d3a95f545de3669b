//! What a recorded render emits: one span per render, one event per context variable.

use std::cell::Cell;
use std::fmt;
use std::panic::Location;

use debug_toolbar_core::redact;
use serde_json::Value;

/// Target of the spans and events a recorded render emits.
pub(crate) const TARGET: &str = "debug_toolbar::template";
/// Name of the span around one render.
pub(crate) const SPAN_NAME: &str = "template.render";

/// Longest context value kept, in bytes of pretty JSON; longer values are cut with a note.
pub(crate) const MAX_VALUE_BYTES: usize = 2048;
/// Most context variables recorded per render; the rest are counted.
pub(crate) const MAX_VARIABLES: usize = 100;

// Field names. None may contain a secret-looking word (`key`, `token`, …): the core would
// mask its value.
pub(crate) const NAME: &str = "template.name";
pub(crate) const ENGINE: &str = "template.engine";
pub(crate) const PARENTS: &str = "template.parents";
pub(crate) const INCLUDES: &str = "template.includes";
pub(crate) const ERROR: &str = "template.error";
pub(crate) const VARIABLE: &str = "template.variable";
pub(crate) const VALUE: &str = "template.value";
pub(crate) const VALUE_BYTES: &str = "template.value_bytes";
pub(crate) const MASKED: &str = "template.masked";
pub(crate) const OMITTED: &str = "template.variables_omitted";
/// The application's file that asked for the render (OpenTelemetry's `code.file.path`).
pub(crate) const FILE: &str = "code.file.path";
/// The line in [`FILE`] (OpenTelemetry's `code.line.number`).
pub(crate) const LINE: &str = "code.line.number";

/// What the engine tells about a render before it runs.
#[derive(Default)]
pub(crate) struct Description {
    /// Templates it extends, closest first; `None` when the engine does not say.
    pub(crate) parents: Option<Vec<String>>,
    /// Templates it (or its parents) includes; `None` when the engine does not say.
    pub(crate) includes: Option<Vec<String>>,
    /// Context variables, by name.
    pub(crate) variables: Vec<(String, Value)>,
}

/// Runs `render` inside a `template.render` span and, when that span is recorded, describes
/// the render first. `describe` (which serializes the context) only runs then. `caller` is
/// where the application asked for the render.
pub(crate) fn recorded<R, E: fmt::Display>(
    engine: &'static str,
    name: &str,
    caller: &'static Location<'static>,
    describe: impl FnOnce() -> Description,
    render: impl FnOnce() -> Result<R, E>,
) -> Result<R, E> {
    // Whether a layer records this span cannot be asked of `tracing`: with per-layer filters
    // only, the registry reports every span as enabled and each layer skips it on its own. A
    // layer that records the span reads its fields while the span is created, so the name
    // notes when it is read, and only then is the context serialized.
    let read = Cell::new(false);
    let span = tracing::debug_span!(
        target: "debug_toolbar::template",
        "template.render",
        template.name = tracing::field::display(NoteRead { text: name, read: &read }),
        template.engine = engine,
        code.file.path = caller.file(),
        code.line.number = caller.line(),
        template.parents = tracing::field::Empty,
        template.includes = tracing::field::Empty,
        template.error = tracing::field::Empty,
    );
    if read.get() {
        emit_description(&span, describe());
    }
    let result = span.in_scope(render);
    if let Err(e) = &result {
        span.record(ERROR, tracing::field::display(e));
    }
    result
}

/// Displays `text`, and notes that it was displayed.
struct NoteRead<'a> {
    text: &'a str,
    read: &'a Cell<bool>,
}

impl fmt::Display for NoteRead<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.read.set(true);
        f.write_str(self.text)
    }
}

fn emit_description(span: &tracing::Span, description: Description) {
    if let Some(parents) = &description.parents {
        span.record(PARENTS, list_text(parents).as_str());
    }
    if let Some(includes) = &description.includes {
        span.record(INCLUDES, list_text(includes).as_str());
    }
    let total = description.variables.len();
    for (name, value) in description.variables.into_iter().take(MAX_VARIABLES) {
        let masked = redact::is_secret_name(&name);
        let (text, bytes) = if masked {
            (redact::MASK.to_owned(), 0)
        } else {
            value_text(value)
        };
        tracing::event!(
            target: "debug_toolbar::template",
            parent: span,
            tracing::Level::DEBUG,
            {
                template.variable = name.as_str(),
                template.value = text.as_str(),
                template.value_bytes = bytes as u64,
                template.masked = masked,
            }
        );
    }
    if total > MAX_VARIABLES {
        tracing::event!(
            target: "debug_toolbar::template",
            parent: span,
            tracing::Level::DEBUG,
            { template.variables_omitted = (total - MAX_VARIABLES) as u64 }
        );
    }
}

/// A list of template names as one field value: a JSON array.
fn list_text(names: &[String]) -> String {
    serde_json::to_string(names).unwrap_or_default()
}

/// Reads a list written by [`list_text`].
pub(crate) fn parse_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_else(|_| vec![text.to_owned()])
}

/// Pretty JSON of `value` masked by [`redact::mask_json`], cut to [`MAX_VALUE_BYTES`]; and the
/// length before cutting.
fn value_text(mut value: Value) -> (String, usize) {
    redact::mask_json(&mut value);
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_else(|e| e.to_string());
    let bytes = text.len();
    if bytes > MAX_VALUE_BYTES {
        let mut cut = MAX_VALUE_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    (text, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_secret_keys_are_masked() {
        let value = serde_json::json!({
            "name": "ada",
            "api_key": "hunter2",
            "sessions": [{"token": "hunter3"}],
            "nested": {"password": {"deep": "hunter4"}, "ok": 1},
        });
        let (text, _) = value_text(value);
        for secret in ["hunter2", "hunter3", "hunter4"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("ada") && text.contains("\"ok\": 1"), "{text}");
    }

    #[test]
    fn long_values_are_cut_on_a_char_boundary() {
        let value = Value::String("é".repeat(3000));
        let (text, bytes) = value_text(value);
        assert_eq!(bytes, 6002);
        assert!(text.len() <= MAX_VALUE_BYTES + '…'.len_utf8());
        assert!(text.ends_with('…'));
    }

    #[test]
    fn lists_round_trip() {
        let names = vec!["base.html".to_owned(), "a,b\".html".to_owned()];
        assert_eq!(parse_list(&list_text(&names)), names);
    }
}
