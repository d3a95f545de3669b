//! The spans and events of one request, as `ToolbarLayer` saw them.

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use tracing::Metadata;
use tracing::field::{Field, Visit};

/// Name of the span that marks a request the toolbar serves.
pub const REQUEST_SPAN_NAME: &str = "toolbar.request";
/// Target of the request span.
pub const REQUEST_SPAN_TARGET: &str = "debug_toolbar::request";

/// How much one request may record; what goes over is counted, not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordingLimits {
    /// Most events kept. By default, 10 000.
    pub max_events: usize,
    /// Most spans kept. By default, 10 000.
    pub max_spans: usize,
    /// Longest field value kept, in bytes; longer values are cut. By default, 8 KiB.
    pub max_value_len: usize,
    /// Most bytes kept for the request's events and spans with their fields; once spent, what
    /// comes after is counted, not kept. By default, 1 MiB.
    pub max_bytes: usize,
}

impl Default for RecordingLimits {
    fn default() -> Self {
        Self {
            max_events: 10_000,
            max_spans: 10_000,
            max_value_len: 8 * 1024,
            max_bytes: 1024 * 1024,
        }
    }
}

impl RecordingLimits {
    /// [`max_bytes`](Self::max_bytes) for people: `1 MiB`, `64 KiB`, `100 bytes`.
    pub fn max_bytes_text(&self) -> String {
        let bytes = self.max_bytes;
        if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
            format!("{} MiB", bytes / (1024 * 1024))
        } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
            format!("{} KiB", bytes / 1024)
        } else {
            format!("{bytes} bytes")
        }
    }

    /// [`max_bytes_text`](Self::max_bytes_text) when `over_budget` items were not recorded
    /// because the budget was spent; empty otherwise, so that a request within its budget
    /// writes nothing out.
    pub fn spent_budget_text(&self, over_budget: usize) -> String {
        if over_budget > 0 {
            self.max_bytes_text()
        } else {
            String::new()
        }
    }
}

/// What one event or span with `fields` takes from the byte budget: its own size and its
/// fields' values.
fn cost_of<T>(fields: &[(&'static str, FieldValue)]) -> usize {
    let values: usize = fields
        .iter()
        .map(|(_, value)| match value {
            FieldValue::Str(s) => s.len(),
            _ => 0,
        })
        .sum();
    std::mem::size_of::<T>() + std::mem::size_of_val(fields) + values
}

/// A recorded field value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldValue {
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A float.
    F64(f64),
    /// A string, or anything recorded through `Debug` or `Display`.
    Str(String),
}

impl FieldValue {
    /// The value as text.
    pub fn to_text(&self) -> String {
        match self {
            FieldValue::Bool(v) => v.to_string(),
            FieldValue::I64(v) => v.to_string(),
            FieldValue::U64(v) => v.to_string(),
            FieldValue::F64(v) => v.to_string(),
            FieldValue::Str(v) => v.clone(),
        }
    }

    /// The value as a float, when it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            FieldValue::I64(v) => Some(v as f64),
            FieldValue::U64(v) => Some(v as f64),
            FieldValue::F64(v) => Some(v),
            _ => None,
        }
    }

    /// The value as an unsigned integer, when it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            FieldValue::U64(v) => Some(v),
            FieldValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a string slice, when it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            FieldValue::Str(v) => Some(v),
            _ => None,
        }
    }
}

/// An event emitted inside the request.
#[derive(Debug, Clone)]
pub struct RecordedEvent {
    /// The event's callsite: level, target, file, line, module.
    pub metadata: &'static Metadata<'static>,
    /// Time since the request started.
    pub offset: Duration,
    /// Fields in the order they were recorded; the message is the field `message`.
    pub fields: Vec<(&'static str, FieldValue)>,
    /// Index in [`Recording::spans`] of the innermost span it happened in; `None` for the
    /// request span itself.
    pub span: Option<usize>,
    /// Name of the thread it was emitted on, e.g. `sqlx-sqlite-worker-0`.
    pub thread: Option<Arc<str>>,
}

impl RecordedEvent {
    /// The value of field `name`.
    pub fn field(&self, name: &str) -> Option<&FieldValue> {
        field(&self.fields, name)
    }
}

/// A span opened inside the request.
#[derive(Debug, Clone)]
pub struct RecordedSpan {
    /// The span's callsite.
    pub metadata: &'static Metadata<'static>,
    /// Index of the parent span in [`Recording::spans`]; `None` when the parent is the request.
    pub parent: Option<usize>,
    /// Fields, including those recorded after creation.
    pub fields: Vec<(&'static str, FieldValue)>,
    /// When the span was created, relative to the request start.
    pub start: Duration,
    /// When the span closed, relative to the request start; `None` if it outlived the request.
    pub end: Option<Duration>,
    /// Time the span was entered (running on some thread).
    pub busy: Duration,
    /// How many times the span was entered.
    pub entered: u32,
}

impl RecordedSpan {
    /// The value of field `name`.
    pub fn field(&self, name: &str) -> Option<&FieldValue> {
        field(&self.fields, name)
    }
}

fn field<'a>(fields: &'a [(&'static str, FieldValue)], name: &str) -> Option<&'a FieldValue> {
    fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
}

/// Everything recorded for one request.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    /// Events in the order they were emitted.
    pub events: Vec<RecordedEvent>,
    /// Spans in the order they were created.
    pub spans: Vec<RecordedSpan>,
    /// Events not kept: over [`RecordingLimits::max_events`], or after the byte budget was
    /// spent.
    pub dropped_events: usize,
    /// Spans not kept: over [`RecordingLimits::max_spans`], or after the byte budget was spent.
    pub dropped_spans: usize,
    /// Of [`dropped_events`](Self::dropped_events), those not kept because the byte budget
    /// ([`RecordingLimits::max_bytes`]) was spent.
    pub events_over_budget: usize,
    /// Of [`dropped_spans`](Self::dropped_spans), those not kept because the byte budget was
    /// spent.
    pub spans_over_budget: usize,
    /// Span fields recorded after their span was created and not kept because the byte budget
    /// was spent.
    pub fields_over_budget: usize,
    /// Bytes kept, as [`RecordingLimits::max_bytes`] counts them.
    pub bytes: usize,
    /// The limits it was recorded under.
    pub limits: RecordingLimits,
}

impl Recording {
    /// The chain of span names from the request down to span `index`, outermost first.
    pub fn span_path(&self, mut index: Option<usize>) -> Vec<&'static str> {
        let mut path = Vec::new();
        while let Some(i) = index {
            let Some(span) = self.spans.get(i) else { break };
            path.push(span.metadata.name());
            index = span.parent;
        }
        path.reverse();
        path
    }

    /// Whether anything was not kept because the byte budget was spent.
    pub fn budget_spent(&self) -> bool {
        self.events_over_budget + self.spans_over_budget + self.fields_over_budget > 0
    }

    /// Takes `cost` bytes from the budget; `false` when they do not fit, and from then on,
    /// so that what is kept is the request's beginning, without gaps.
    fn spend(&mut self, cost: usize) -> bool {
        let fits = !self.budget_spent()
            && self
                .bytes
                .checked_add(cost)
                .is_some_and(|total| total <= self.limits.max_bytes);
        if fits {
            self.bytes += cost;
        }
        fits
    }
}

struct RecorderState {
    recording: Recording,
    finished: bool,
}

struct RecorderInner {
    started: Instant,
    started_at: SystemTime,
    limits: RecordingLimits,
    attached: AtomicBool,
    /// Nanoseconds `ToolbarLayer` spent in its callbacks for this request, on any thread.
    recording_nanos: AtomicU64,
    state: Mutex<RecorderState>,
}

/// Collects the spans and events of one request; cheap to clone (a shared handle).
#[derive(Clone)]
pub struct RequestRecorder {
    inner: Arc<RecorderInner>,
}

impl fmt::Debug for RequestRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestRecorder")
            .field("started_at", &self.inner.started_at)
            .field("attached", &self.is_attached())
            .finish_non_exhaustive()
    }
}

thread_local! {
    /// This thread's name, shared by every event recorded on it.
    static THREAD_NAME: Option<Arc<str>> = std::thread::current().name().map(Arc::from);
    /// Recent answers of `is_secret_name`, by the address of the field name: field names are
    /// `&'static str` of their callsite, so the address identifies the name. Kept for one
    /// generation of the application's secret names.
    static SECRET_NAMES: RefCell<(usize, [(usize, bool); 64])> =
        const { RefCell::new((0, [(0, false); 64])) };
    /// The recorder handed to `ToolbarLayer` while the request span is being created.
    static PENDING: RefCell<Option<RequestRecorder>> = const { RefCell::new(None) };
}

fn current_thread_name() -> Option<Arc<str>> {
    THREAD_NAME.with(Clone::clone)
}

/// Whether the field named `name` holds a secret, remembered per name.
fn is_secret_field(name: &'static str) -> bool {
    let address = name.as_ptr() as usize;
    // Field names sit next to each other in memory: a multiplicative hash spreads them.
    let slot = address.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize) >> (usize::BITS - 6);
    let generation = crate::redact::names_generation();
    SECRET_NAMES.with(|cache| {
        let (cached_generation, entries) = &mut *cache.borrow_mut();
        if *cached_generation != generation {
            *cached_generation = generation;
            *entries = [(0, false); 64];
        }
        if entries[slot].0 == address {
            return entries[slot].1;
        }
        let secret = crate::redact::is_secret_name(name);
        entries[slot] = (address, secret);
        secret
    })
}

impl RequestRecorder {
    /// A recorder for a request starting now.
    pub fn new(limits: RecordingLimits) -> Self {
        Self {
            inner: Arc::new(RecorderInner {
                started: Instant::now(),
                started_at: SystemTime::now(),
                limits,
                attached: AtomicBool::new(false),
                recording_nanos: AtomicU64::new(0),
                state: Mutex::new(RecorderState {
                    recording: Recording {
                        limits,
                        ..Recording::default()
                    },
                    finished: false,
                }),
            }),
        }
    }

    /// Opens the request span and attaches this recorder to it through [`crate::ToolbarLayer`].
    ///
    /// Whether the layer took the recorder is told by [`is_attached`](Self::is_attached)
    /// afterwards: without the layer in the subscriber nothing is recorded.
    pub fn open_request_span(&self, method: &str, path: &str) -> tracing::Span {
        PENDING.with(|p| *p.borrow_mut() = Some(self.clone()));
        // TRACE, so that the application's own layers, filtered at their usual levels, never
        // show it in the lines they print; the toolbar's filter takes it at any level.
        let span = tracing::trace_span!(
            target: "debug_toolbar::request",
            "toolbar.request",
            http.request.method = method,
            url.path = path,
        );
        PENDING.with(|p| p.borrow_mut().take());
        span
    }

    /// The recorder waiting to be attached to a request span being created on this thread.
    pub(crate) fn take_pending() -> Option<RequestRecorder> {
        PENDING.with(|p| p.borrow_mut().take())
    }

    /// Whether a request span is being created on this thread right now.
    pub(crate) fn is_pending() -> bool {
        PENDING.with(|p| p.borrow().is_some())
    }

    pub(crate) fn mark_attached(&self) {
        self.inner.attached.store(true, Ordering::Relaxed);
    }

    /// Whether a [`crate::ToolbarLayer`] attached this recorder to the request span.
    pub fn is_attached(&self) -> bool {
        self.inner.attached.load(Ordering::Relaxed)
    }

    /// Wall-clock time the request started.
    pub fn started_at(&self) -> SystemTime {
        self.inner.started_at
    }

    /// Time since the request started.
    pub fn elapsed(&self) -> Duration {
        self.inner.started.elapsed()
    }

    /// Time [`crate::ToolbarLayer`] spent recording this request so far: the toolbar's own
    /// work while the application ran, on whichever thread it happened.
    pub fn recording_time(&self) -> Duration {
        Duration::from_nanos(self.inner.recording_nanos.load(Ordering::Relaxed))
    }

    /// Counts the time since `since` as spent recording.
    pub(crate) fn spent_since(&self, since: Instant) {
        let nanos = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.inner
            .recording_nanos
            .fetch_add(nanos, Ordering::Relaxed);
    }

    pub(crate) fn limits(&self) -> &RecordingLimits {
        &self.inner.limits
    }

    fn state(&self) -> MutexGuard<'_, RecorderState> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn push_event(
        &self,
        metadata: &'static Metadata<'static>,
        fields: Vec<(&'static str, FieldValue)>,
        span: Option<usize>,
    ) {
        let offset = self.elapsed();
        let thread = current_thread_name();
        let cost = cost_of::<RecordedEvent>(&fields);
        let mut state = self.state();
        if state.finished {
            return;
        }
        let recording = &mut state.recording;
        if recording.events.len() >= self.inner.limits.max_events {
            recording.dropped_events += 1;
            return;
        }
        if !recording.spend(cost) {
            recording.dropped_events += 1;
            recording.events_over_budget += 1;
            return;
        }
        recording.events.push(RecordedEvent {
            metadata,
            offset,
            fields,
            span,
            thread,
        });
    }

    /// Records a new span; returns its index, or `None` when it was not kept.
    pub(crate) fn push_span(
        &self,
        metadata: &'static Metadata<'static>,
        fields: Vec<(&'static str, FieldValue)>,
        parent: Option<usize>,
    ) -> Option<usize> {
        let start = self.elapsed();
        let cost = cost_of::<RecordedSpan>(&fields);
        let mut state = self.state();
        if state.finished {
            return None;
        }
        let recording = &mut state.recording;
        if recording.spans.len() >= self.inner.limits.max_spans {
            recording.dropped_spans += 1;
            return None;
        }
        if !recording.spend(cost) {
            recording.dropped_spans += 1;
            recording.spans_over_budget += 1;
            return None;
        }
        recording.spans.push(RecordedSpan {
            metadata,
            parent,
            fields,
            start,
            end: None,
            busy: Duration::ZERO,
            entered: 0,
        });
        Some(recording.spans.len() - 1)
    }

    /// Adds fields recorded after span `index` was created, as far as the byte budget allows.
    pub(crate) fn extend_span_fields(&self, index: usize, fields: Vec<(&'static str, FieldValue)>) {
        let mut state = self.state();
        if state.finished {
            return;
        }
        let recording = &mut state.recording;
        if index >= recording.spans.len() {
            return;
        }
        for field in fields {
            let cost = cost_of::<()>(std::slice::from_ref(&field));
            if !recording.spend(cost) {
                recording.fields_over_budget += 1;
                continue;
            }
            if let Some(span) = recording.spans.get_mut(index) {
                span.fields.push(field);
            }
        }
    }

    pub(crate) fn update_span(&self, index: usize, update: impl FnOnce(&mut RecordedSpan)) {
        let mut state = self.state();
        if state.finished {
            return;
        }
        if let Some(span) = state.recording.spans.get_mut(index) {
            update(span);
        }
    }

    /// Stops recording and returns what was recorded; later events are ignored.
    pub fn finish(&self) -> Recording {
        let mut state = self.state();
        state.finished = true;
        std::mem::replace(
            &mut state.recording,
            Recording {
                limits: self.inner.limits,
                ..Recording::default()
            },
        )
    }
}

/// Collects an event's or span's fields, cutting long values.
pub(crate) struct FieldCollector {
    pub(crate) fields: Vec<(&'static str, FieldValue)>,
    max_len: usize,
}

impl FieldCollector {
    pub(crate) fn new(max_len: usize) -> Self {
        Self {
            fields: Vec::new(),
            max_len,
        }
    }

    /// A text value: masked whole when the field's name is secret, else its tokens and URLs
    /// masked (before cutting, so that no part of a secret is left), then cut.
    fn push_str(&mut self, field: &Field, value: String) {
        if is_secret_field(field.name()) {
            self.push_masked(field);
            return;
        }
        let masked = match crate::redact::mask_text(&value) {
            std::borrow::Cow::Owned(masked) => Some(masked),
            std::borrow::Cow::Borrowed(_) => None,
        };
        let mut value = masked.unwrap_or(value);
        if value.len() > self.max_len {
            let mut cut = self.max_len;
            while !value.is_char_boundary(cut) {
                cut -= 1;
            }
            value.truncate(cut);
            value.push('…');
        }
        self.fields.push((field.name(), FieldValue::Str(value)));
    }

    /// A number or flag: masked when the field's name is secret.
    fn push(&mut self, field: &Field, value: FieldValue) {
        if is_secret_field(field.name()) {
            self.push_masked(field);
        } else {
            self.fields.push((field.name(), value));
        }
    }

    fn push_masked(&mut self, field: &Field) {
        self.fields.push((
            field.name(),
            FieldValue::Str(crate::redact::MASK.to_owned()),
        ));
    }
}

impl Visit for FieldCollector {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, FieldValue::F64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, FieldValue::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, FieldValue::U64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, FieldValue::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push_str(field, value.to_owned());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push_str(field, value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push_str(field, format!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {

    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::prelude::*;

    use super::*;
    use crate::ToolbarLayer;

    /// What `limits` let one request record of `emit`, run inside the request span.
    fn record(limits: RecordingLimits, emit: impl FnOnce()) -> Recording {
        let subscriber =
            tracing_subscriber::registry().with(ToolbarLayer::filtered(LevelFilter::DEBUG));
        tracing::subscriber::with_default(subscriber, || {
            let recorder = RequestRecorder::new(limits);
            let request = recorder.open_request_span("GET", "/");
            assert!(recorder.is_attached());
            request.in_scope(emit);
            drop(request);
            recorder.finish()
        })
    }

    fn message(event: &RecordedEvent) -> String {
        event
            .field("message")
            .map(FieldValue::to_text)
            .unwrap_or_default()
    }

    #[test]
    fn events_and_spans_over_the_limits_are_counted_not_kept() {
        let limits = RecordingLimits {
            max_events: 2,
            max_spans: 1,
            ..RecordingLimits::default()
        };
        let recording = record(limits, || {
            tracing::info_span!("kept").in_scope(|| {
                tracing::info!("first");
                tracing::info_span!("dropped").in_scope(|| tracing::info!("second"));
            });
            tracing::info_span!("dropped too").in_scope(|| tracing::info!("third"));
            tracing::info!("fourth");
        });
        let spans: Vec<&str> = recording.spans.iter().map(|s| s.metadata.name()).collect();
        assert_eq!(spans, ["kept"]);
        assert_eq!(recording.dropped_spans, 2);
        let events: Vec<(String, Vec<&str>)> = recording
            .events
            .iter()
            .map(|e| (message(e), recording.span_path(e.span)))
            .collect();
        assert_eq!(
            events,
            [
                ("first".to_owned(), vec!["kept"]),
                ("second".to_owned(), vec!["kept"]),
            ],
            "an event in a dropped span goes to its nearest kept span"
        );
        assert_eq!(recording.dropped_events, 2);
    }

    #[test]
    fn what_comes_after_the_byte_budget_is_spent_is_counted_not_kept() {
        let limits = RecordingLimits {
            max_bytes: 4 * 1024,
            ..RecordingLimits::default()
        };
        let kilobyte = "x".repeat(1024);
        let recording = record(limits, || {
            let span = tracing::info_span!("kept", late = tracing::field::Empty);
            span.in_scope(|| {
                tracing::info!(payload = %kilobyte, "first");
                tracing::info!(payload = %kilobyte, "second");
                tracing::info!(payload = %kilobyte, "third");
                tracing::info!(payload = %kilobyte, "over");
                tracing::info_span!("over too").in_scope(|| {});
            });
            span.record("late", kilobyte.as_str());
            tracing::info!(payload = %kilobyte, "over again");
        });
        let events: Vec<String> = recording.events.iter().map(message).collect();
        assert_eq!(events, ["first", "second", "third"]);
        assert_eq!(recording.spans.len(), 1);
        assert_eq!(recording.spans[0].fields, [], "the late field did not fit");
        assert!(recording.bytes <= limits.max_bytes, "{}", recording.bytes);
        assert!(recording.bytes > 3 * 1024, "{}", recording.bytes);
        assert_eq!(
            (recording.events_over_budget, recording.dropped_events),
            (2, 2)
        );
        assert_eq!(
            (recording.spans_over_budget, recording.dropped_spans),
            (1, 1)
        );
        assert_eq!(recording.fields_over_budget, 1);
        assert!(recording.budget_spent());
        assert_eq!(recording.limits.max_bytes_text(), "4 KiB");

        let small = record(RecordingLimits::default(), || tracing::info!("small"));
        assert!(!small.budget_spent());
        assert_eq!(small.limits.max_bytes_text(), "1 MiB");
        assert_eq!(small.limits.spent_budget_text(1), "1 MiB");
        assert_eq!(small.limits.spent_budget_text(0), "");
    }

    #[test]
    fn long_values_are_cut_on_a_char_boundary() {
        let limits = RecordingLimits {
            max_value_len: 5,
            ..RecordingLimits::default()
        };
        let recording = record(limits, || {
            tracing::info!(name = "añañaña", short = "ok", "x");
            let error = std::io::Error::other("disk on fire");
            tracing::warn!(error = &error as &(dyn std::error::Error + 'static));
        });
        let event = &recording.events[0];
        // "añ" is 3 bytes; byte 5 falls inside the second "ñ".
        assert_eq!(event.field("name"), Some(&FieldValue::Str("aña…".into())));
        assert_eq!(event.field("short"), Some(&FieldValue::Str("ok".into())));
        assert_eq!(
            recording.events[1].field("error"),
            Some(&FieldValue::Str("disk …".into()))
        );
    }

    #[test]
    fn nothing_is_recorded_after_the_request_finished() {
        let subscriber =
            tracing_subscriber::registry().with(ToolbarLayer::filtered(LevelFilter::DEBUG));
        tracing::subscriber::with_default(subscriber, || {
            let recorder = RequestRecorder::new(RecordingLimits::default());
            let request = recorder.open_request_span("GET", "/");
            let open = request.in_scope(|| tracing::info_span!("open", n = 1));
            let first = recorder.finish();
            assert_eq!(first.spans.len(), 1);
            open.record("n", 2);
            request.in_scope(|| {
                tracing::info!("late");
                tracing::info_span!("late span").in_scope(|| {});
            });
            drop(open);
            let second = recorder.finish();
            assert!(second.events.is_empty() && second.spans.is_empty());
            assert_eq!(
                first.spans[0].end, None,
                "closed after the request finished"
            );
            assert_eq!(first.spans[0].fields, [("n", FieldValue::I64(1))]);
        });
    }

    #[test]
    fn field_values_convert_as_their_kind_allows() {
        let cases = [
            (FieldValue::Bool(true), "true", None, None, None),
            (FieldValue::I64(-3), "-3", Some(-3.0), None, None),
            (FieldValue::I64(4), "4", Some(4.0), Some(4), None),
            (FieldValue::U64(5), "5", Some(5.0), Some(5), None),
            (FieldValue::F64(1.5), "1.5", Some(1.5), None, None),
            (FieldValue::Str("s".into()), "s", None, None, Some("s")),
        ];
        for (value, text, float, unsigned, string) in cases {
            assert_eq!(value.to_text(), text, "{value:?}");
            assert_eq!(value.as_f64(), float, "{value:?}");
            assert_eq!(value.as_u64(), unsigned, "{value:?}");
            assert_eq!(value.as_str(), string, "{value:?}");
        }
    }
}
