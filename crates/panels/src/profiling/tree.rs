//! The request's spans as a call tree: repeated siblings merged, times summed, laid out as an
//! icicle.

use std::collections::HashMap;
use std::time::Duration;

use debug_toolbar_core::{RecordedSpan, Recording};
use tracing::callsite::Identifier;

use super::ProfileNode;

/// A node while the tree is built.
struct Building {
    label: String,
    name: &'static str,
    target: &'static str,
    location: Option<String>,
    children: Vec<usize>,
    calls: u32,
    open: u32,
    first_start: Duration,
    total: Duration,
    busy: Duration,
}

/// What a span is shown as: its name, and for a template render the template's name.
fn label(span: &RecordedSpan) -> String {
    match span.field("template.name") {
        Some(template) => format!("{} {}", span.metadata.name(), template.to_text()),
        None => span.metadata.name().to_owned(),
    }
}

/// The tree of `recording`'s spans in depth-first order, children by first start, with at most
/// `max_nodes` nodes; and how many nodes were left out. `request` is the request's wall time,
/// which closes spans still open.
pub(crate) fn build(
    recording: &Recording,
    request: Duration,
    max_nodes: usize,
) -> (Vec<ProfileNode>, usize) {
    let mut nodes: Vec<Building> = Vec::new();
    let mut roots: Vec<usize> = Vec::new();
    // (parent node, callsite, label) -> node
    let mut index: HashMap<(Option<usize>, Identifier, String), usize> = HashMap::new();
    // span index -> node
    let mut node_of: Vec<Option<usize>> = Vec::with_capacity(recording.spans.len());
    for span in &recording.spans {
        let parent = span.parent.and_then(|p| node_of.get(p).copied().flatten());
        let label = label(span);
        let key = (parent, span.metadata.callsite(), label);
        let node = match index.get(&key) {
            Some(&node) => node,
            None => {
                let node = nodes.len();
                nodes.push(Building {
                    label: key.2.clone(),
                    name: span.metadata.name(),
                    target: span.metadata.target(),
                    location: span.metadata.file().map(|file| match span.metadata.line() {
                        Some(line) => format!("{file}:{line}"),
                        None => file.to_owned(),
                    }),
                    children: Vec::new(),
                    calls: 0,
                    open: 0,
                    first_start: span.start,
                    total: Duration::ZERO,
                    busy: Duration::ZERO,
                });
                match parent.and_then(|p| nodes.get_mut(p)) {
                    Some(parent) => parent.children.push(node),
                    None => roots.push(node),
                }
                index.insert(key, node);
                node
            }
        };
        node_of.push(Some(node));
        if let Some(building) = nodes.get_mut(node) {
            let end = span.end.unwrap_or_else(|| {
                building.open += 1;
                request.max(span.start)
            });
            building.calls += 1;
            building.first_start = building.first_start.min(span.start);
            building.total += end.saturating_sub(span.start);
            building.busy += span.busy;
        }
    }
    for node in 0..nodes.len() {
        let mut children = std::mem::take(&mut nodes[node].children);
        children.sort_by_key(|&c| nodes[c].first_start);
        nodes[node].children = children;
    }
    roots.sort_by_key(|&r| nodes[r].first_start);
    lay_out(&nodes, &roots, request, max_nodes)
}

/// Depth-first order with icicle positions: each node's width is its share of the request
/// time; children sit side by side inside their parent, squeezed when they overlapped in time.
fn lay_out(
    nodes: &[Building],
    roots: &[usize],
    request: Duration,
    max_nodes: usize,
) -> (Vec<ProfileNode>, usize) {
    let scale = request.as_secs_f64().max(f64::MIN_POSITIVE);
    let mut out: Vec<ProfileNode> = Vec::new();
    let mut left_out = 0;
    // (node, parent in `out`, depth, x, width)
    let mut stack: Vec<(usize, Option<usize>, usize, f64, f64)> = Vec::new();
    push_children(nodes, roots, None, 1, 0.0, 1.0, scale, &mut stack);
    while let Some((node, parent, depth, x, width)) = stack.pop() {
        let Some(building) = nodes.get(node) else {
            continue;
        };
        if out.len() >= max_nodes {
            left_out += 1;
            continue;
        }
        let children_total: Duration = building.children.iter().map(|&c| nodes[c].total).sum();
        let position = out.len();
        let path = match parent.and_then(|p| out.get(p)) {
            Some(p) if p.path.is_empty() => p.label.clone(),
            Some(p) => format!("{} › {}", p.path, p.label),
            None => String::new(),
        };
        out.push(ProfileNode {
            label: building.label.clone(),
            name: building.name.to_owned(),
            path,
            target: building.target.to_owned(),
            location: building.location.clone(),
            parent,
            depth,
            calls: building.calls,
            open: building.open,
            start_ms: millis(building.first_start),
            total_ms: millis(building.total),
            self_ms: millis(building.total.saturating_sub(children_total)),
            busy_ms: millis(building.busy),
            idle_ms: millis(building.total.saturating_sub(building.busy)),
            percent: building.total.as_secs_f64() / scale * 100.0,
            x,
            width,
            hue: hue(&building.label),
        });
        push_children(
            nodes,
            &building.children,
            Some(position),
            depth + 1,
            x,
            width,
            scale,
            &mut stack,
        );
    }
    (out, left_out)
}

/// Pushes `children` for `lay_out`, so that the first child is popped first.
#[expect(
    clippy::too_many_arguments,
    reason = "the layout's whole state, passed down one level"
)]
fn push_children(
    nodes: &[Building],
    children: &[usize],
    parent: Option<usize>,
    depth: usize,
    x: f64,
    width: f64,
    scale: f64,
    stack: &mut Vec<(usize, Option<usize>, usize, f64, f64)>,
) {
    let widths: Vec<f64> = children
        .iter()
        .map(|&c| nodes[c].total.as_secs_f64() / scale)
        .collect();
    let sum: f64 = widths.iter().sum();
    let squeeze = if sum > width && sum > 0.0 {
        width / sum
    } else {
        1.0
    };
    let mut placed = Vec::with_capacity(children.len());
    let mut left = x;
    for (&child, w) in children.iter().zip(widths) {
        let w = (w * squeeze).clamp(0.0, 1.0);
        placed.push((child, parent, depth, left, w));
        left += w;
    }
    stack.extend(placed.into_iter().rev());
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A colour class from 0 to 7, stable for a label.
pub(super) fn hue(label: &str) -> u8 {
    // FNV-1a: stable across runs and platforms, unlike the std hasher.
    let hash = label.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    (hash % 8) as u8
}
