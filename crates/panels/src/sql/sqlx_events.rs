//! sqlx's query events to query records.

use debug_toolbar_core::{FieldValue, RecordedEvent, Recording};

use super::explain::Pools;
use super::{Backend, SqlSettings};

/// A statement as sqlx reported it, before analysis.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CapturedQuery {
    pub(super) index: usize,
    /// Index of sqlx's event in the recording.
    pub(super) event_index: usize,
    pub(super) sql: String,
    pub(super) duration_ms: f64,
    pub(super) start_ms: f64,
    pub(super) rows_returned: u64,
    pub(super) rows_affected: u64,
    pub(super) backend: Option<Backend>,
    pub(super) span_path: Vec<String>,
    pub(super) reported_slow: bool,
    /// The error the application logged right after this query (see [`failure`]).
    pub(super) error: Option<String>,
}

/// Every statement of a request, up to the limit, with the true totals.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Captured {
    pub(super) queries: Vec<CapturedQuery>,
    pub(super) total_count: usize,
    pub(super) total_ms: f64,
    /// Whether sqlx said anything at all (pool events, say) in the request.
    pub(super) saw_sqlx: bool,
}

pub(super) fn capture(recording: &Recording, settings: &SqlSettings, pools: &Pools) -> Captured {
    let mut captured = Captured::default();
    // The last query kept, while no other query or error has come after it: the one an error
    // logged now would be about.
    let mut last: Option<(usize, Option<usize>)> = None;
    // An error logged while no query was waiting for one: sqlx may report the query it is
    // about afterwards (SQLite's worker thread logs a statement when it is done with it, which
    // can be after the application has seen the error and logged it).
    let mut early: Option<&RecordedEvent> = None;
    for (event_index, event) in recording.events.iter().enumerate() {
        let target = event.metadata.target();
        if !target.starts_with("sqlx") {
            match last {
                Some((position, span)) => {
                    if let Some(message) = failure(event, span, recording) {
                        captured.queries[position].error = Some(message);
                        last = None;
                    }
                }
                None if says_error(event) => early = Some(event),
                None => {}
            }
            continue;
        }
        captured.saw_sqlx = true;
        if target != crate::SQLX_QUERY_TARGET {
            continue;
        }
        let duration_ms = event
            .field("elapsed_secs")
            .and_then(FieldValue::as_f64)
            .unwrap_or(0.0)
            * 1000.0;
        captured.total_count += 1;
        captured.total_ms += duration_ms;
        if captured.queries.len() >= settings.max_queries {
            continue;
        }
        let start_ms = (event.offset.as_secs_f64() * 1000.0 - duration_ms).max(0.0);
        // Only the query reported next may claim an early error, and only if it started before
        // the error was logged.
        let error = early
            .take()
            .filter(|e| e.offset.as_secs_f64() * 1000.0 >= start_ms)
            .and_then(|e| failure(e, event.span, recording));
        last = error
            .is_none()
            .then_some((captured.queries.len(), event.span));
        let sql = statement(event);
        let backend = backend(event, recording, &sql).or_else(|| pools.only_backend());
        captured.queries.push(CapturedQuery {
            index: captured.total_count - 1,
            event_index,
            start_ms,
            duration_ms,
            rows_returned: count(event, "rows_returned"),
            rows_affected: count(event, "rows_affected"),
            backend,
            span_path: recording
                .span_path(event.span)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            reported_slow: event
                .field("message")
                .and_then(FieldValue::as_str)
                .is_some_and(|m| m.starts_with("slow statement")),
            sql,
            error,
        });
    }
    captured
}

/// The message of `event` when it reports the failure of the query that ran just before it
/// in span `query_span`.
///
/// sqlx reports a failed statement like a successful one, with no error field, so the honest
/// signal is the application's own: an `ERROR` (or a `WARN` with an `error` field) logged in
/// the query's span or a span enclosing it, before any other query ran.
fn failure(
    event: &RecordedEvent,
    query_span: Option<usize>,
    recording: &Recording,
) -> Option<String> {
    if !says_error(event) || !encloses(event.span, query_span, recording) {
        return None;
    }
    let message = event.field("message").map(FieldValue::to_text);
    let error = event.field("error").map(FieldValue::to_text);
    Some(match (message, error) {
        (Some(message), Some(error)) => format!("{message}: {error}"),
        (Some(text), None) | (None, Some(text)) => text,
        (None, None) => event.metadata.name().to_owned(),
    })
}

/// Whether `event` says something failed: an `ERROR`, or a `WARN` with an `error` field.
fn says_error(event: &RecordedEvent) -> bool {
    let level = *event.metadata.level();
    level == tracing::Level::ERROR
        || (level == tracing::Level::WARN && event.field("error").is_some())
}

/// Whether span `outer` is span `inner` or one of its ancestors (`None` is the request span,
/// which encloses everything).
fn encloses(outer: Option<usize>, mut inner: Option<usize>, recording: &Recording) -> bool {
    let Some(outer) = outer else { return true };
    while let Some(index) = inner {
        if index == outer {
            return true;
        }
        inner = recording.spans.get(index).and_then(|span| span.parent);
    }
    false
}

/// The full statement: `db.statement` when sqlx filled it, else the summary (the whole
/// statement when it is short).
fn statement(event: &RecordedEvent) -> String {
    let full = event
        .field("db.statement")
        .and_then(FieldValue::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let summary = event.field("summary").and_then(FieldValue::as_str);
    full.or(summary).unwrap_or_default().trim().to_owned()
}

fn count(event: &RecordedEvent, field: &str) -> u64 {
    event.field(field).and_then(FieldValue::as_u64).unwrap_or(0)
}

/// Which database ran the statement: a `db.system.name` (or `db.system`) field on an enclosing
/// span says so; SQLite runs statements on its `sqlx-sqlite-worker` threads; `$1` placeholders
/// are PostgreSQL's.
fn backend(event: &RecordedEvent, recording: &Recording, sql: &str) -> Option<Backend> {
    let mut span = event.span;
    while let Some(index) = span {
        let Some(recorded) = recording.spans.get(index) else {
            break;
        };
        let system = recorded
            .field("db.system.name")
            .or_else(|| recorded.field("db.system"))
            .and_then(FieldValue::as_str);
        if let Some(system) = system.and_then(Backend::from_name) {
            return Some(system);
        }
        span = recorded.parent;
    }
    if event
        .thread
        .as_deref()
        .is_some_and(|t| t.starts_with("sqlx-sqlite-worker"))
    {
        return Some(Backend::Sqlite);
    }
    has_dollar_placeholder(sql).then_some(Backend::Postgresql)
}

fn has_dollar_placeholder(sql: &str) -> bool {
    sql.as_bytes()
        .windows(2)
        .any(|w| w[0] == b'$' && w[1].is_ascii_digit())
}
