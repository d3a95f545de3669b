use std::borrow::Cow;

use debug_toolbar_core::{Panel, StatsContext, Template, register_panel};
#[cfg(feature = "profiling-cpu")]
use debug_toolbar_core::{RequestHead, RequestState};
use serde::{Deserialize, Serialize};

#[cfg(feature = "profiling-cpu")]
mod cpu;
mod tree;

/// The request's span tree: the application's `#[instrument]`ed functions, template renders and
/// any library spans, with total, self, busy and idle time per span, repeated calls merged.
///
/// Shown as an icicle flame graph (click a frame to zoom) and a sortable table.
///
/// With the cargo feature `profiling-cpu`, a request that carries the cookie `CPU_COOKIE`
/// (`debug-toolbar-cpu=1`, set by the panel's "Sample CPU on next load" button) is also
/// sampled: the whole process's stacks, `CPU_FREQUENCY_HZ` (997) times per second of CPU time,
/// from the request's start until its response is ready, shown as a second flame graph and a
/// table of the hottest functions (see [`CpuProfile`]). One request is sampled at a time.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProfilingPanel;

impl ProfilingPanel {
    /// Most tree nodes kept for one request; the rest are counted.
    pub const MAX_NODES: usize = 2000;

    /// The cookie that asks for CPU sampling of a request: `debug-toolbar-cpu=1`.
    #[cfg(feature = "profiling-cpu")]
    pub const CPU_COOKIE: &'static str = "debug-toolbar-cpu";

    /// How often the process's stacks are sampled, per second of CPU time (a prime, so that
    /// sampling does not fall into step with periodic work).
    #[cfg(feature = "profiling-cpu")]
    pub const CPU_FREQUENCY_HZ: u32 = 997;

    /// Most functions listed in [`CpuProfile::top`].
    #[cfg(feature = "profiling-cpu")]
    pub const CPU_TOP_FRAMES: usize = 50;
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
    /// Spans the recording limits dropped.
    pub dropped_spans: usize,
    /// Of those, the spans dropped because the request's recording budget
    /// ([`RecordingLimits::max_bytes`](debug_toolbar_core::RecordingLimits::max_bytes)) was
    /// spent.
    #[serde(default)]
    pub spans_over_budget: usize,
    /// The request's recording budget, e.g. `1 MiB`, when it was spent; empty when it was not.
    #[serde(default)]
    pub budget: String,
    /// The deepest node's depth (top-level spans are at depth 1).
    pub max_depth: usize,
    /// CPU sampling of the request: `None` when the toolbar was built without the cargo
    /// feature `profiling-cpu`.
    #[serde(default)]
    pub cpu: Option<CpuProfile>,
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

/// What CPU sampling found while one request ran (cargo feature `profiling-cpu`).
///
/// Samples are taken process-wide: every thread that used CPU time while the request ran is in
/// them, including other requests served at the same time. Each stack's outermost frame is its
/// thread's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuProfile {
    /// Whether the request was sampled.
    pub status: CpuStatus,
    /// The cookie that asks for sampling; the panel's toggle sets and clears it.
    pub cookie: String,
    /// The sampling rate, per second of CPU time.
    pub frequency_hz: u32,
    /// How long the profiler ran, in milliseconds.
    pub duration_ms: f64,
    /// Stacks sampled, over all threads.
    pub samples: u64,
    /// The sampled stacks as a tree, in depth-first order, heaviest child first: threads at
    /// depth 1, their outermost frames at depth 2.
    pub nodes: Vec<CpuNode>,
    /// The functions with the most samples of their own, at most
    /// `ProfilingPanel::CPU_TOP_FRAMES`, most first.
    pub top: Vec<CpuFrame>,
    /// Tree nodes past [`ProfilingPanel::MAX_NODES`].
    pub not_shown: usize,
    /// The deepest node's depth.
    pub max_depth: usize,
}

/// Whether a request was sampled, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CpuStatus {
    /// The request did not ask for sampling (no cookie).
    Off,
    /// The request was sampled.
    Sampled,
    /// Another request was being sampled when this one started.
    Busy,
    /// The profiler could not run.
    Failed {
        /// What went wrong.
        reason: String,
    },
}

/// One node of the CPU samples' tree: a function, under the same callers on the same thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuNode {
    /// The function's name, shortened: no generic arguments, paths cut to their last segments.
    pub label: String,
    /// The demangled name (or the thread's name at depth 1).
    pub name: String,
    /// Index of the parent node in [`CpuProfile::nodes`]; `None` for a thread.
    pub parent: Option<usize>,
    /// 1 for a thread, 2 for its outermost frames.
    pub depth: usize,
    /// Samples in this function or the functions it called.
    pub samples: u64,
    /// Samples in this function itself.
    pub self_samples: u64,
    /// Samples as a share of all samples, in percent.
    pub percent: f64,
    /// Left edge in the flame graph, as a fraction of its width.
    pub x: f64,
    /// Width in the flame graph, as a fraction of its width.
    pub width: f64,
    /// Colour class from 0 to 7, stable per label.
    pub hue: u8,
}

/// A function's samples over every stack it appears in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuFrame {
    /// The function's name, shortened as in [`CpuNode::label`].
    pub label: String,
    /// The demangled name.
    pub name: String,
    /// Samples in the function itself.
    pub self_samples: u64,
    /// Samples in the function or the functions it called (recursion counted once).
    pub total_samples: u64,
    /// `self_samples` as a share of all samples, in percent.
    pub self_percent: f64,
    /// `total_samples` as a share of all samples, in percent.
    pub total_percent: f64,
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
        let mut subtitle = match hottest {
            Some(node) => format!("{spans}, hottest: {} {:.2} ms", node.label, node.self_ms),
            None => spans,
        };
        if let Some(cpu) = &stats.cpu
            && cpu.status == CpuStatus::Sampled
        {
            subtitle.push_str(&format!(", {} CPU samples", cpu.samples));
        }
        Some(subtitle)
    }

    #[cfg(feature = "profiling-cpu")]
    fn on_request(&self, head: &RequestHead<'_>, state: &mut RequestState) {
        cpu::on_request(head, state);
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
            spans_over_budget: recording.spans_over_budget,
            budget: recording
                .limits
                .spent_budget_text(recording.spans_over_budget),
            #[cfg(feature = "profiling-cpu")]
            cpu: Some(cpu::profile(cx)),
            #[cfg(not(feature = "profiling-cpu"))]
            cpu: None,
        }
    }

    fn template(&self) -> Template {
        Template::new(
            "panels/profiling.html",
            include_str!("../templates/profiling.html"),
        )
    }
}

register_panel!(ProfilingPanel);
