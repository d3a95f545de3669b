use std::borrow::Cow;
use std::collections::HashMap;

use debug_toolbar_core::{
    Badge, BadgeLevel, Panel, RecordedSpan, Recording, StatsContext, Template, register_panel,
};
use serde::{Deserialize, Serialize};

mod render_span;
#[cfg(feature = "templates-tera1")]
mod tera_v1;
mod tera_v2;

#[cfg(feature = "templates-tera1")]
pub use tera_v1::RecordingTera1;
pub use tera_v2::RecordingTera;

/// Template renders: name, time, context, and the templates each extends and includes.
///
/// Renders are recorded when they go through [`RecordingTera`] (Tera 2) or `RecordingTera1`
/// (Tera 1.x, feature `templates-tera1`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TemplatesPanel;

impl TemplatesPanel {
    /// Most renders listed for one request; the rest are counted.
    pub const MAX_RENDERS: usize = 500;
}

/// What the Templates panel records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplatesStats {
    /// The renders listed, in the order they started.
    pub renders: Vec<TemplateRender>,
    /// Every render of the request, listed or not.
    pub count: usize,
    /// Renders past [`TemplatesPanel::MAX_RENDERS`].
    pub not_shown: usize,
    /// Time spent rendering, in milliseconds; a render inside another counts once.
    pub total_ms: f64,
}

/// One render of one template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateRender {
    /// Index of its `template.render` span in the request's
    /// [`Recording::spans`](debug_toolbar_core::Recording::spans): where it happened, for
    /// panels that place renders in the span structure.
    #[serde(default)]
    pub span_index: usize,
    /// The template's name.
    pub name: String,
    /// The engine, e.g. `tera 2`.
    pub engine: String,
    /// When it started, in milliseconds since the request started.
    pub offset_ms: f64,
    /// How long it took, in milliseconds.
    pub duration_ms: f64,
    /// How many renders it happened inside (a template function rendering another template).
    pub depth: usize,
    /// The templates it extends, closest first; `None` when the engine does not say.
    pub parents: Option<Vec<String>>,
    /// The templates it and its parents include; `None` when the engine does not say.
    pub includes: Option<Vec<String>>,
    /// Its context, by variable name.
    pub context: Vec<ContextVariable>,
    /// Context variables not recorded, past the limit per render.
    pub variables_not_shown: u64,
    /// Why the render failed, if it did.
    pub error: Option<String>,
    /// The application's source file that asked for the render.
    #[serde(default)]
    pub file: Option<String>,
    /// The line in `file`.
    #[serde(default)]
    pub line: Option<u32>,
}

/// One variable of a render's context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextVariable {
    /// The variable's name.
    pub name: String,
    /// Its value as pretty JSON, cut after about 2 KiB; masked when the name looks secret.
    pub value: String,
    /// Length of the whole value in bytes; more than `value` holds when it was cut.
    pub bytes: u64,
    /// Whether the value was cut.
    pub cut: bool,
    /// Whether the value is hidden because its name looks secret.
    pub masked: bool,
}

fn is_render_span(span: &RecordedSpan) -> bool {
    span.metadata.name() == render_span::SPAN_NAME && span.metadata.target() == render_span::TARGET
}

fn text_field(span: &RecordedSpan, name: &str) -> Option<String> {
    span.field(name).map(|v| v.to_text())
}

fn millis(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl TemplatesPanel {
    /// Turns a recording into the panel's stats.
    fn stats_of(recording: &Recording) -> TemplatesStats {
        // Span index -> index in `renders`.
        let mut by_span: HashMap<usize, usize> = HashMap::new();
        let mut renders = Vec::new();
        let mut count = 0;
        let mut total_ms = 0.0;
        for (index, span) in recording.spans.iter().enumerate() {
            if !is_render_span(span) {
                continue;
            }
            count += 1;
            let duration = if span.entered > 0 {
                span.busy
            } else {
                span.end
                    .map_or(span.busy, |end| end.saturating_sub(span.start))
            };
            let depth = enclosing_renders(recording, span.parent);
            if depth == 0 {
                total_ms += millis(duration);
            }
            if renders.len() >= Self::MAX_RENDERS {
                continue;
            }
            by_span.insert(index, renders.len());
            renders.push(TemplateRender {
                span_index: index,
                name: text_field(span, render_span::NAME).unwrap_or_default(),
                engine: text_field(span, render_span::ENGINE).unwrap_or_default(),
                offset_ms: millis(span.start),
                duration_ms: millis(duration),
                depth,
                parents: text_field(span, render_span::PARENTS)
                    .map(|t| render_span::parse_list(&t)),
                includes: text_field(span, render_span::INCLUDES)
                    .map(|t| render_span::parse_list(&t)),
                context: Vec::new(),
                variables_not_shown: 0,
                error: text_field(span, render_span::ERROR),
                file: text_field(span, render_span::FILE),
                line: span
                    .field(render_span::LINE)
                    .and_then(|v| v.as_u64())
                    .and_then(|line| u32::try_from(line).ok()),
            });
        }
        for event in &recording.events {
            if event.metadata.target() != render_span::TARGET {
                continue;
            }
            let Some(render) = event
                .span
                .and_then(|span| by_span.get(&span))
                .and_then(|&i| renders.get_mut(i))
            else {
                continue;
            };
            if let Some(omitted) = event.field(render_span::OMITTED).and_then(|v| v.as_u64()) {
                render.variables_not_shown += omitted;
            }
            let Some(name) = event.field(render_span::VARIABLE) else {
                continue;
            };
            let value = event
                .field(render_span::VALUE)
                .map(|v| v.to_text())
                .unwrap_or_default();
            let bytes = event
                .field(render_span::VALUE_BYTES)
                .and_then(|v| v.as_u64())
                .unwrap_or(value.len() as u64);
            let masked = matches!(
                event.field(render_span::MASKED),
                Some(debug_toolbar_core::FieldValue::Bool(true))
            );
            render.context.push(ContextVariable {
                name: name.to_text(),
                cut: !masked && bytes as usize > value.len(),
                value,
                bytes,
                masked,
            });
        }
        TemplatesStats {
            not_shown: count - renders.len(),
            renders,
            count,
            total_ms,
        }
    }
}

/// How many render spans enclose the span at `index` (itself included).
fn enclosing_renders(recording: &Recording, mut index: Option<usize>) -> usize {
    let mut depth = 0;
    while let Some(i) = index {
        let Some(span) = recording.spans.get(i) else {
            break;
        };
        if is_render_span(span) {
            depth += 1;
        }
        index = span.parent;
    }
    depth
}

impl Panel for TemplatesPanel {
    type Stats = TemplatesStats;
    const ID: &'static str = "templates";

    fn title(&self) -> Cow<'static, str> {
        "Templates".into()
    }

    fn nav_subtitle(&self, stats: &TemplatesStats) -> Option<String> {
        Some(format!(
            "{} {}, {:.2} ms",
            stats.count,
            if stats.count == 1 {
                "render"
            } else {
                "renders"
            },
            stats.total_ms
        ))
    }

    fn generate_stats(&self, cx: &StatsContext<'_>) -> TemplatesStats {
        Self::stats_of(cx.recording())
    }

    fn template(&self) -> Template {
        Template::new(
            "panels/templates.html",
            include_str!("../templates/templates.html"),
        )
    }

    fn badge(&self, stats: &TemplatesStats) -> Option<Badge> {
        let failed = stats.renders.iter().filter(|r| r.error.is_some()).count();
        (failed > 0).then(|| {
            let noun = if failed == 1 {
                "render failed"
            } else {
                "renders failed"
            };
            Badge::new(BadgeLevel::Error, format!("{failed} {noun}"))
        })
    }
}

register_panel!(TemplatesPanel);

/// The renders `render` makes inside a recorded request, for the engines' tests.
#[cfg(test)]
pub(crate) fn renders_in_request(render: impl FnOnce()) -> Vec<TemplateRender> {
    use debug_toolbar_core::integration::RequestRecorder;
    use debug_toolbar_core::{RecordingLimits, ToolbarLayer};
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::prelude::*;

    let subscriber =
        tracing_subscriber::registry().with(ToolbarLayer::filtered(LevelFilter::DEBUG));
    tracing::subscriber::with_default(subscriber, || {
        let recorder = RequestRecorder::new(RecordingLimits::default());
        let request = recorder.open_request_span("GET", "/");
        request.in_scope(render);
        drop(request);
        TemplatesPanel::stats_of(&recorder.finish()).renders
    })
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::panic::Location;

    use debug_toolbar_core::integration::RequestRecorder;
    use debug_toolbar_core::{RecordingLimits, ToolbarLayer};
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::prelude::*;

    use super::render_span::{Description, recorded};
    use super::*;

    fn subscriber() -> impl tracing::Subscriber {
        tracing_subscriber::registry().with(ToolbarLayer::filtered(LevelFilter::DEBUG))
    }

    fn describe(calls: &Cell<u32>) -> Description {
        calls.set(calls.get() + 1);
        Description {
            variables: vec![("n".to_owned(), serde_json::json!(1))],
            ..Description::default()
        }
    }

    #[test]
    fn the_context_is_serialized_only_inside_a_recorded_request() {
        tracing::subscriber::with_default(subscriber(), || {
            let calls = Cell::new(0);
            let out = recorded(
                "test",
                "t.html",
                Location::caller(),
                || describe(&calls),
                || Ok::<_, String>(1),
            );
            assert_eq!((out, calls.get()), (Ok(1), 0));

            let recorder = RequestRecorder::new(RecordingLimits::default());
            let request = recorder.open_request_span("GET", "/");
            let out = request.in_scope(|| {
                recorded(
                    "test",
                    "t.html",
                    Location::caller(),
                    || describe(&calls),
                    || Ok::<_, String>(2),
                )
            });
            drop(request);
            assert_eq!((out, calls.get()), (Ok(2), 1));
            let stats = TemplatesPanel::stats_of(&recorder.finish());
            assert_eq!(stats.renders.len(), 1);
            assert_eq!(stats.renders[0].context[0].value, "1");
        });
    }

    #[test]
    fn a_render_inside_a_render_is_nested_and_counted_once_in_the_total() {
        tracing::subscriber::with_default(subscriber(), || {
            let recorder = RequestRecorder::new(RecordingLimits::default());
            let request = recorder.open_request_span("GET", "/");
            let calls = Cell::new(0);
            let _ = request.in_scope(|| {
                recorded(
                    "test",
                    "outer.html",
                    Location::caller(),
                    || describe(&calls),
                    || {
                        recorded(
                            "test",
                            "inner.html",
                            Location::caller(),
                            || describe(&calls),
                            || Err::<(), _>("inner failed"),
                        )
                    },
                )
            });
            drop(request);
            let stats = TemplatesPanel::stats_of(&recorder.finish());
            let shape: Vec<(&str, usize, Option<&str>)> = stats
                .renders
                .iter()
                .map(|r| (r.name.as_str(), r.depth, r.error.as_deref()))
                .collect();
            assert_eq!(
                shape,
                [
                    ("outer.html", 0, Some("inner failed")),
                    ("inner.html", 1, Some("inner failed")),
                ]
            );
            assert!((stats.total_ms - stats.renders[0].duration_ms).abs() < 1e-9);
        });
    }
}
