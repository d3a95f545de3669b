use std::borrow::Cow;

use debug_toolbar_core::{Panel, StatsContext, Template, register_panel};
use serde::{Deserialize, Serialize};

mod tree;

/// The request's span tree: the application's `#[instrument]`ed functions, template renders and
/// any library spans, with total, self, busy and idle time per span, repeated calls merged.
///
/// Shown as an icicle flame graph (click a frame to zoom) and a sortable table.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProfilingPanel;

impl ProfilingPanel {
    /// Most tree nodes kept for one request; the rest are counted.
    pub const MAX_NODES: usize = 2000;
}

/// What the Profiling panel records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfilingStats {
    /// The request's wall time, in milliseconds: the flame graph's full width.
    pub request_ms: f64,
    /// The call tree in depth-first order; siblings in the order they first started.
    pub nodes: Vec<ProfileNode>,
    /// Spans recorded.
    pub spans: usize,
    /// Nodes past [`ProfilingPanel::MAX_NODES`].
    pub not_shown: usize,
    /// Spans the recording limit dropped.
    pub dropped_spans: usize,
    /// The deepest node's depth (top-level spans are at depth 1).
    pub max_depth: usize,
}

/// One node of the call tree: every span with the same callsite and the same path from the
/// request, merged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileNode {
    /// What the node is shown as: the span's name, and the template for a render.
    pub label: String,
    /// The span's name.
    pub name: String,
    /// The labels of its ancestors, outermost first, joined with ` › `; empty at depth 1.
    pub path: String,
    /// The span's target.
    pub target: String,
    /// Where the span is declared, e.g. `src/users.rs:12`.
    pub location: Option<String>,
    /// Index of the parent node in [`ProfilingStats::nodes`]; `None` under the request.
    pub parent: Option<usize>,
    /// 1 for spans directly under the request.
    pub depth: usize,
    /// How many spans were merged into this node.
    pub calls: u32,
    /// How many of them were still open when the response was ready (timed until then).
    pub open: u32,
    /// When the first of them started, in milliseconds since the request started.
    pub start_ms: f64,
    /// Wall time from creation to close, summed over the calls, in milliseconds.
    pub total_ms: f64,
    /// Total time not spent in child spans, in milliseconds.
    pub self_ms: f64,
    /// Time the spans were entered (running on a thread), in milliseconds.
    pub busy_ms: f64,
    /// Total time the spans were not entered: an async span waiting, in milliseconds.
    pub idle_ms: f64,
    /// Total time as a share of the request's wall time, in percent.
    pub percent: f64,
    /// Left edge in the flame graph, as a fraction of its width.
    pub x: f64,
    /// Width in the flame graph, as a fraction of its width.
    pub width: f64,
    /// Colour class from 0 to 7, stable per label.
    pub hue: u8,
}

impl Panel for ProfilingPanel {
    type Stats = ProfilingStats;
    const ID: &'static str = "profiling";

    fn title(&self) -> Cow<'static, str> {
        "Profiling".into()
    }

    fn nav_subtitle(&self, stats: &ProfilingStats) -> Option<String> {
        let spans = format!(
            "{} {}",
            stats.spans,
            if stats.spans == 1 { "span" } else { "spans" }
        );
        let hottest = stats
            .nodes
            .iter()
            .max_by(|a, b| a.self_ms.total_cmp(&b.self_ms));
        Some(match hottest {
            Some(node) => format!("{spans}, hottest: {} {:.2} ms", node.label, node.self_ms),
            None => spans,
        })
    }

    fn generate_stats(&self, cx: &StatsContext<'_>) -> ProfilingStats {
        let recording = cx.recording();
        let request = cx.timing().wall;
        let (nodes, not_shown) = tree::build(recording, request, Self::MAX_NODES);
        ProfilingStats {
            request_ms: request.as_secs_f64() * 1000.0,
            max_depth: nodes.iter().map(|n| n.depth).max().unwrap_or(0),
            nodes,
            spans: recording.spans.len(),
            not_shown,
            dropped_spans: recording.dropped_spans,
        }
    }

    fn template(&self) -> Template {
        Template::new(
            "panels/profiling.html",
            include_str!("../../../templates/panels/profiling.html"),
        )
    }
}

register_panel!(ProfilingPanel);
