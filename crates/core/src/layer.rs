//! The `tracing` layer that routes a served request's spans and events to its recorder.

use std::time::{Duration, Instant};

use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::filter::{Filtered, LevelFilter};
use tracing_subscriber::layer::{Context, Filter, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::recording::{FieldCollector, REQUEST_SPAN_NAME, REQUEST_SPAN_TARGET, RequestRecorder};

/// Records what happens inside requests the toolbar serves.
///
/// Add it to the application's subscriber in its filtered form, which sees only spans and
/// events inside a served request and so costs the rest of the application next to nothing:
///
/// ```
/// use tracing_subscriber::prelude::*;
/// use tracing_subscriber::filter::LevelFilter;
/// use debug_toolbar_core::ToolbarLayer;
///
/// let subscriber = tracing_subscriber::registry()
///     .with(tracing_subscriber::fmt::layer().with_filter(LevelFilter::INFO))
///     .with(ToolbarLayer::filtered(LevelFilter::DEBUG));
/// # drop(subscriber);
/// ```
#[derive(Debug, Default)]
pub struct ToolbarLayer {
    _private: (),
}

/// Lets through what happens inside a served request, up to a level.
#[derive(Debug, Clone, Copy)]
pub struct RequestFilter {
    max_level: LevelFilter,
}

impl ToolbarLayer {
    /// The layer behind a [`RequestFilter`] that keeps spans and events up to `max_level`
    /// (sqlx reports queries at `DEBUG`). This is the form to add to a subscriber.
    pub fn filtered<S>(max_level: LevelFilter) -> Filtered<ToolbarLayer, RequestFilter, S>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        ToolbarLayer::default().with_filter(RequestFilter { max_level })
    }
}

/// A filter for a whole subscriber that builds a span or event only when the application's
/// other layers (`others`, the filter they use) or the toolbar want it. Add it last.
///
/// Without it, installing the toolbar's layer makes every `DEBUG` span and event of the process
/// get built and then dropped: `tracing-subscriber` cannot switch off a callsite that a per-layer
/// filter wants sometimes, and libraries such as sqlx do real work for each record that is
/// enabled. With the gate, outside the requests the toolbar serves the process pays what it paid
/// without the toolbar.
///
/// ```
/// use tracing_subscriber::prelude::*;
/// use tracing_subscriber::filter::{LevelFilter, Targets};
/// use debug_toolbar_core::{ToolbarGate, ToolbarLayer};
///
/// let console = Targets::new().with_default(LevelFilter::INFO);
/// let subscriber = tracing_subscriber::registry()
///     .with(tracing_subscriber::fmt::layer().with_filter(console.clone()))
///     .with(ToolbarLayer::filtered(LevelFilter::DEBUG))
///     .with(ToolbarGate::new(console, LevelFilter::DEBUG));
/// # drop(subscriber);
/// ```
#[derive(Debug, Clone)]
pub struct ToolbarGate<F> {
    others: F,
    toolbar: RequestFilter,
}

impl<F> ToolbarGate<F> {
    /// A gate that lets through what `others` enables, and what happens inside served requests
    /// up to `max_level` (the level given to [`ToolbarLayer::filtered`]).
    pub fn new(others: F, max_level: LevelFilter) -> Self {
        Self {
            others,
            toolbar: RequestFilter { max_level },
        }
    }
}

impl<S, F> Layer<S> for ToolbarGate<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    F: Filter<S> + 'static,
{
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        let others = self.others.callsite_enabled(metadata);
        if others.is_always() {
            return others;
        }
        let toolbar = Filter::<S>::callsite_enabled(&self.toolbar, metadata);
        if others.is_never() && toolbar.is_never() {
            Interest::never()
        } else {
            Interest::sometimes()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, cx: Context<'_, S>) -> bool {
        self.others.enabled(metadata, &cx) || self.toolbar.enabled(metadata, &cx)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        let toolbar = Filter::<S>::max_level_hint(&self.toolbar)?;
        Some(self.others.max_level_hint()?.max(toolbar))
    }
}

/// Per-span extension: the request's recorder and this span's index in its recording.
#[derive(Clone)]
struct SpanSlot {
    recorder: RequestRecorder,
    /// Where events inside this span go: `None` for the request span itself.
    index: Option<usize>,
    /// Whether `index` is this span's own entry (not its parent's, when over the limit).
    own: bool,
}

/// Per-span extension: time spent entered.
#[derive(Default)]
struct SpanTiming {
    entered_at: Option<Instant>,
    busy: Duration,
    entered: u32,
}

fn is_request_span(metadata: &Metadata<'_>) -> bool {
    metadata.name() == REQUEST_SPAN_NAME && metadata.target() == REQUEST_SPAN_TARGET
}

impl<S> Filter<S> for RequestFilter
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn enabled(&self, metadata: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        if is_request_span(metadata) {
            return RequestRecorder::is_pending();
        }
        self.max_level >= *metadata.level()
            && cx
                .lookup_current()
                .is_some_and(|span| span.extensions().get::<SpanSlot>().is_some())
    }

    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        if is_request_span(metadata) || self.max_level >= *metadata.level() {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        // The request span is at TRACE.
        Some(LevelFilter::TRACE)
    }
}

impl<S> Layer<S> for ToolbarLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let metadata = attrs.metadata();
        if is_request_span(metadata) {
            if let Some(recorder) = RequestRecorder::take_pending() {
                recorder.mark_attached();
                span.extensions_mut().insert(SpanSlot {
                    recorder,
                    index: None,
                    own: false,
                });
            }
            return;
        }
        let Some(parent) = span.parent() else { return };
        let Some(parent_slot) = parent.extensions().get::<SpanSlot>().cloned() else {
            return;
        };
        let started = Instant::now();
        let mut fields = FieldCollector::new(parent_slot.recorder.limits().max_value_len);
        attrs.record(&mut fields);
        let own = parent_slot
            .recorder
            .push_span(metadata, fields.fields, parent_slot.index);
        parent_slot.recorder.spent_since(started);
        let mut extensions = span.extensions_mut();
        extensions.insert(SpanSlot {
            recorder: parent_slot.recorder,
            index: own.or(parent_slot.index),
            own: own.is_some(),
        });
        extensions.insert(SpanTiming::default());
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let Some(SpanSlot {
            recorder,
            index: Some(index),
            own: true,
        }) = span.extensions().get::<SpanSlot>().cloned()
        else {
            return;
        };
        let started = Instant::now();
        let mut fields = FieldCollector::new(recorder.limits().max_value_len);
        values.record(&mut fields);
        recorder.extend_span_fields(index, fields.fields);
        recorder.spent_since(started);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let Some(slot) = span.extensions().get::<SpanSlot>().cloned() else {
            return;
        };
        let started = Instant::now();
        let mut fields = FieldCollector::new(slot.recorder.limits().max_value_len);
        event.record(&mut fields);
        slot.recorder
            .push_event(event.metadata(), fields.fields, slot.index);
        slot.recorder.spent_since(started);
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(timing) = span.extensions_mut().get_mut::<SpanTiming>() {
            timing.entered_at = Some(Instant::now());
            timing.entered += 1;
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(timing) = span.extensions_mut().get_mut::<SpanTiming>()
            && let Some(entered_at) = timing.entered_at.take()
        {
            timing.busy += entered_at.elapsed();
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let (recorder, index, busy, entered) = {
            let extensions = span.extensions();
            let (Some(slot), Some(timing)) =
                (extensions.get::<SpanSlot>(), extensions.get::<SpanTiming>())
            else {
                return;
            };
            let (Some(index), true) = (slot.index, slot.own) else {
                return;
            };
            (slot.recorder.clone(), index, timing.busy, timing.entered)
        };
        let started = Instant::now();
        let end = recorder.elapsed();
        recorder.update_span(index, |recorded| {
            recorded.end = Some(end);
            recorded.busy = busy;
            recorded.entered = entered;
        });
        recorder.spent_since(started);
    }
}
