//! CPU sampling of one request with `pprof`: started by the panel's `on_request` when the
//! request carries the cookie, stopped when the panel generates its stats, folded into a tree
//! of functions laid out like the span flame graph.
//!
//! `pprof` samples the whole process on `SIGPROF` (`setitimer(ITIMER_PROF)`), so one profiler
//! runs at a time: the first request that asks takes the slot, and requests that start while
//! it is taken are told so.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use debug_toolbar_core::{RequestHead, RequestState, StatsContext};
use pprof::{Frames, ProfilerGuard, ProfilerGuardBuilder, UnresolvedReport};

use super::{CpuFrame, CpuNode, CpuProfile, CpuStatus, ProfilingPanel, tree};

/// Whether a request is being sampled.
static TAKEN: AtomicBool = AtomicBool::new(false);

/// Shared objects whose code is not unwound from the signal handler: the unwinder is not
/// safe to run when the signal lands inside them (pprof's README).
const BLOCKLIST: &[&str] = &["libc", "libgcc", "pthread", "vdso"];

/// Longest label shown in a frame; longer ones are cut with `…`.
const MAX_LABEL: usize = 80;

/// What `on_request` left for the request's stats.
enum Sampling {
    /// Another request held the profiler.
    Busy,
    /// The profiler would not start.
    Failed(String),
    /// The profiler runs; taken out when the stats are generated.
    Running(Mutex<Option<Active>>),
}

/// The running profiler of the one sampled request.
struct Active {
    /// Declared before `_slot`, so the profiler has stopped when the slot is released.
    guard: ProfilerGuard<'static>,
    started: Instant,
    _slot: Slot,
}

/// Releases [`TAKEN`] when dropped, also when a request ends without stats.
struct Slot;

impl Slot {
    fn take() -> Option<Slot> {
        TAKEN
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
            .then_some(Slot)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        TAKEN.store(false, Ordering::Release);
    }
}

/// Whether the request sets the sampling cookie to `1`.
fn asks_for_sampling(head: &RequestHead<'_>) -> bool {
    head.cookie(ProfilingPanel::CPU_COOKIE) == Some("1")
}

/// Starts the profiler for a request that asks for it, unless another request holds it.
pub(super) fn on_request(head: &RequestHead<'_>, state: &mut RequestState) {
    if !asks_for_sampling(head) {
        return;
    }
    let Some(slot) = Slot::take() else {
        state.insert(Sampling::Busy);
        return;
    };
    let started = ProfilerGuardBuilder::default()
        .frequency(i32::try_from(ProfilingPanel::CPU_FREQUENCY_HZ).unwrap_or(i32::MAX))
        .blocklist(BLOCKLIST)
        .build();
    match started {
        Ok(guard) => state.insert(Sampling::Running(Mutex::new(Some(Active {
            guard,
            started: Instant::now(),
            _slot: slot,
        })))),
        Err(pprof::Error::Running) => state.insert(Sampling::Failed(
            "another CPU profiler is running in this process".to_owned(),
        )),
        Err(e) => state.insert(Sampling::Failed(format!("the profiler did not start: {e}"))),
    }
}

/// Stops the request's profiler, if it runs, and turns its samples into the panel's data.
pub(super) fn profile(cx: &StatsContext<'_>) -> CpuProfile {
    let mut profile = CpuProfile {
        status: CpuStatus::Off,
        cookie: ProfilingPanel::CPU_COOKIE.to_owned(),
        frequency_hz: ProfilingPanel::CPU_FREQUENCY_HZ,
        duration_ms: 0.0,
        samples: 0,
        nodes: Vec::new(),
        top: Vec::new(),
        not_shown: 0,
        max_depth: 0,
    };
    let active = match cx.state::<Sampling>() {
        None => return profile,
        Some(Sampling::Busy) => {
            profile.status = CpuStatus::Busy;
            return profile;
        }
        Some(Sampling::Failed(reason)) => {
            profile.status = CpuStatus::Failed {
                reason: reason.clone(),
            };
            return profile;
        }
        Some(Sampling::Running(active)) => {
            let mut active = active
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            active.take()
        }
    };
    let Some(active) = active else {
        // Stats generated twice for one request: the first run has the samples.
        profile.status = CpuStatus::Failed {
            reason: "the samples were already taken".to_owned(),
        };
        return profile;
    };
    let duration = active.started.elapsed();
    // Copy the raw stacks, then stop the profiler (dropping the guard) before resolving
    // symbols, which is slow and should not sample itself.
    let report = active.guard.report().build_unresolved();
    drop(active);
    match report {
        Ok(report) => {
            profile.status = CpuStatus::Sampled;
            fill(&mut profile, report, duration);
        }
        Err(e) => {
            profile.status = CpuStatus::Failed {
                reason: format!("the samples could not be read: {e}"),
            };
        }
    }
    profile
}

/// Resolves `report`'s stacks and folds them into `profile`.
fn fill(profile: &mut CpuProfile, report: UnresolvedReport, duration: Duration) {
    let stacks: Vec<(Vec<String>, u64)> = report
        .data
        .into_iter()
        .filter_map(|(frames, count)| {
            let count = u64::try_from(count).ok().filter(|&c| c > 0)?;
            Some((stack(&Frames::from(frames)), count))
        })
        .collect();
    profile.duration_ms = duration.as_secs_f64() * 1000.0;
    profile.samples = stacks.iter().map(|(_, count)| count).sum();
    profile.top = top_frames(&stacks, profile.samples);
    let (nodes, not_shown) = fold(&stacks, profile.samples, ProfilingPanel::MAX_NODES);
    profile.max_depth = nodes.iter().map(|n| n.depth).max().unwrap_or(0);
    profile.nodes = nodes;
    profile.not_shown = not_shown;
}

/// One sample's stack, outermost first: the thread's name, then the functions (inlined ones
/// after the function they were inlined into), without the sampler's own frames.
fn stack(frames: &Frames) -> Vec<String> {
    let names: Vec<Vec<String>> = frames
        .frames
        .iter()
        .map(|symbols| symbols.iter().map(pprof::Symbol::name).collect())
        .collect();
    // Leaf first: the unwinder's and pprof's frames lead, up to the signal handler (which
    // pprof removes), then the interrupted code.
    let sampler = names
        .iter()
        .take_while(|symbols| symbols.iter().any(|name| is_sampler(name)))
        .count();
    let mut stack = Vec::with_capacity(names.len() + 1);
    stack.push(frames.thread_name_or_id());
    for symbols in names.into_iter().skip(sampler).rev() {
        stack.extend(symbols.into_iter().rev());
    }
    stack
}

/// Whether `name` is a frame of the sampling itself.
fn is_sampler(name: &str) -> bool {
    name.starts_with("backtrace::")
        || name.starts_with("pprof::")
        || name.starts_with("<pprof::")
        || name.starts_with("_Unwind_")
        || name.starts_with("__restore_rt")
        || name == "perf_signal_handler"
}

/// The functions with the most samples of their own (ties by samples in total); functions
/// that were only ever callers are in the flame graph, not here.
fn top_frames(stacks: &[(Vec<String>, u64)], samples: u64) -> Vec<CpuFrame> {
    let mut functions: HashMap<&str, (u64, u64)> = HashMap::new();
    for (stack, count) in stacks {
        // The thread's name is not a function.
        let frames = stack.get(1..).unwrap_or_default();
        let mut seen = HashSet::new();
        for name in frames {
            if seen.insert(name.as_str()) {
                functions.entry(name).or_default().1 += count;
            }
        }
        if let Some(leaf) = frames.last() {
            functions.entry(leaf).or_default().0 += count;
        }
    }
    let mut top: Vec<(&str, (u64, u64))> = functions
        .into_iter()
        .filter(|(_, (self_samples, _))| *self_samples > 0)
        .collect();
    top.sort_by(|(a_name, a), (b_name, b)| b.cmp(a).then_with(|| a_name.cmp(b_name)));
    top.truncate(ProfilingPanel::CPU_TOP_FRAMES);
    top.into_iter()
        .map(|(name, (self_samples, total_samples))| CpuFrame {
            label: short_label(name),
            name: name.to_owned(),
            self_samples,
            total_samples,
            self_percent: percent(self_samples, samples),
            total_percent: percent(total_samples, samples),
        })
        .collect()
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64 * 100.0
    }
}

/// A node while the tree is built.
struct Building<'a> {
    name: &'a str,
    children: Vec<usize>,
    samples: u64,
    self_samples: u64,
}

/// The stacks merged into a tree, in depth-first order with the heaviest child first, laid
/// out as an icicle whose width is `samples`; at most `max_nodes` nodes, and how many were left
/// out.
fn fold(stacks: &[(Vec<String>, u64)], samples: u64, max_nodes: usize) -> (Vec<CpuNode>, usize) {
    // Node 0 is the root (all samples); it is not part of the output.
    let mut nodes = vec![Building {
        name: "",
        children: Vec::new(),
        samples: 0,
        self_samples: 0,
    }];
    let mut index: HashMap<(usize, &str), usize> = HashMap::new();
    for (stack, count) in stacks {
        let mut at = 0;
        for name in stack {
            let next = match index.get(&(at, name.as_str())) {
                Some(&next) => next,
                None => {
                    let next = nodes.len();
                    nodes.push(Building {
                        name,
                        children: Vec::new(),
                        samples: 0,
                        self_samples: 0,
                    });
                    if let Some(parent) = nodes.get_mut(at) {
                        parent.children.push(next);
                    }
                    index.insert((at, name.as_str()), next);
                    next
                }
            };
            if let Some(node) = nodes.get_mut(next) {
                node.samples += count;
            }
            at = next;
        }
        if let Some(leaf) = nodes.get_mut(at) {
            leaf.self_samples += count;
        }
    }
    let weight = |n: usize| nodes.get(n).map_or(0, |b| b.samples);
    let name = |n: usize| nodes.get(n).map_or("", |b| b.name);
    let mut order: Vec<Vec<usize>> = nodes.iter().map(|b| b.children.clone()).collect();
    for children in &mut order {
        children.sort_by(|&a, &b| weight(b).cmp(&weight(a)).then(name(a).cmp(name(b))));
    }

    let scale = samples.max(1) as f64;
    let mut out: Vec<CpuNode> = Vec::new();
    // (node, parent in `out`, depth, x)
    let mut stack: Vec<(usize, Option<usize>, usize, f64)> = Vec::new();
    push_children(&order, 0, None, 1, 0.0, scale, &weight, &mut stack);
    while let Some((node, parent, depth, x)) = stack.pop() {
        let Some(building) = nodes.get(node) else {
            continue;
        };
        if out.len() >= max_nodes {
            break;
        }
        let position = out.len();
        let label = if depth == 1 {
            format!("thread {}", building.name)
        } else {
            short_label(building.name)
        };
        out.push(CpuNode {
            hue: tree::hue(&label),
            label,
            name: building.name.to_owned(),
            parent,
            depth,
            samples: building.samples,
            self_samples: building.self_samples,
            percent: percent(building.samples, samples),
            x,
            width: (building.samples as f64 / scale).clamp(0.0, 1.0),
        });
        push_children(
            &order,
            node,
            Some(position),
            depth + 1,
            x,
            scale,
            &weight,
            &mut stack,
        );
    }
    // Every node but the root, less those shown.
    let left_out = nodes.len().saturating_sub(1 + out.len());
    (out, left_out)
}

/// Pushes `node`'s children for `fold`, so that the first (heaviest) is popped first.
#[expect(
    clippy::too_many_arguments,
    reason = "the fold's whole state, passed down one level"
)]
fn push_children(
    order: &[Vec<usize>],
    node: usize,
    parent: Option<usize>,
    depth: usize,
    x: f64,
    scale: f64,
    weight: &dyn Fn(usize) -> u64,
    stack: &mut Vec<(usize, Option<usize>, usize, f64)>,
) {
    let Some(children) = order.get(node) else {
        return;
    };
    let mut placed = Vec::with_capacity(children.len());
    let mut left = x;
    for &child in children {
        placed.push((child, parent, depth, left));
        left += weight(child) as f64 / scale;
    }
    stack.extend(placed.into_iter().rev());
}

/// A demangled name made short enough to read in a frame: generic arguments dropped, each path
/// cut to its last two segments (three when the last is a closure or shim, one inside a
/// `<Type as Trait>` qualifier), and at most [`MAX_LABEL`] characters.
///
/// `<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop` becomes `<Vec as Drop>::drop`.
pub(super) fn short_label(name: &str) -> String {
    let short = shorten_paths(&drop_generic_arguments(name));
    if short.chars().count() <= MAX_LABEL {
        return short;
    }
    let mut cut: String = short.chars().take(MAX_LABEL - 1).collect();
    cut.push('…');
    cut
}

/// `name` without generic argument lists (`Vec<T>`, `f::<T>`); the `<` of a qualified path
/// (`<T as Trait>::f`) stays.
fn drop_generic_arguments(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.char_indices();
    let mut previous: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        let arguments = c == '<'
            && previous.is_some_and(|p| p.is_alphanumeric() || p == '_' || p == ':')
            // `path::<impl Trait for Type>::f` names an impl, not arguments.
            && !name[i + 1..].starts_with("impl ");
        if !arguments {
            out.push(c);
            previous = Some(c);
            continue;
        }
        // Skip to the matching `>`; the `>` of `->` does not close anything.
        let mut depth = 1_usize;
        let mut last = c;
        for (_, c) in chars.by_ref() {
            match c {
                '<' => depth += 1,
                '>' if last != '-' => depth -= 1,
                _ => {}
            }
            last = c;
            if depth == 0 {
                break;
            }
        }
        // A turbofish leaves its `::` behind.
        if out.ends_with("::") {
            out.truncate(out.len() - 2);
        }
        previous = out.chars().last();
    }
    out
}

/// Cuts each path in `name` (`a::b::c`) to its last segments; see [`short_label`].
fn shorten_paths(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut depth = 0_usize;
    let mut rest = name;
    let mut previous = None;
    while let Some(c) = rest.chars().next() {
        let path_len = path_length(rest);
        if path_len == 0 {
            match c {
                '<' => depth += 1,
                // The `>` of `fn() -> T` closes nothing.
                '>' if previous != Some('-') => depth = depth.saturating_sub(1),
                _ => {}
            }
            out.push(c);
            previous = Some(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let (path, after) = rest.split_at(path_len);
        if path.starts_with("::") {
            // Continues a qualified path: `<T as Trait>::f`.
            out.push_str(path);
        } else if path.ends_with("::") && depth == 0 {
            // The module of an impl, `core::iter::range::<impl Iterator for Range>::next`: the
            // impl says enough.
        } else {
            let segments: Vec<&str> = path.split("::").collect();
            let closure = segments.last().is_some_and(|s| s.starts_with('{'));
            let keep = if depth > 0 { 1 } else { 2 } + usize::from(closure);
            let from = segments.len().saturating_sub(keep);
            out.push_str(&segments[from..].join("::"));
        }
        previous = path.chars().last();
        rest = after;
    }
    out
}

/// The length in bytes of the path at the start of `s`: identifier characters, `::` and
/// `{…}` blocks such as `{{closure}}`; 0 when `s` does not start with one.
fn path_length(s: &str) -> usize {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut braces = 0_usize;
    while i < bytes.len() {
        let b = bytes[i];
        if braces > 0 {
            match b {
                b'{' => braces += 1,
                b'}' => braces -= 1,
                _ => {}
            }
            i += 1;
        } else if b == b'{' {
            braces += 1;
            i += 1;
        } else if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'.' || b >= 0x80 {
            i += 1;
        } else if b == b':' && bytes.get(i + 1) == Some(&b':') {
            i += 2;
        } else {
            break;
        }
    }
    // Never end inside a multi-byte character or an unclosed brace.
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_labels_drop_generics_and_long_paths() {
        let cases = [
            (
                "<alloc::vec::Vec<T,A> as core::ops::drop::Drop>::drop",
                "<Vec as Drop>::drop",
            ),
            (
                "<actix_web::handler::HandlerServiceFuture<F,T,R> as core::future::future::Future>::poll",
                "<HandlerServiceFuture as Future>::poll",
            ),
            (
                "tokio::runtime::scheduler::current_thread::CoreGuard::block_on::{{closure}}",
                "CoreGuard::block_on::{{closure}}",
            ),
            (
                "core::iter::traits::iterator::Iterator::collect::<alloc::vec::Vec<u8>>",
                "Iterator::collect",
            ),
            ("app::handlers::users", "handlers::users"),
            ("main", "main"),
            (
                "__memmove_avx_unaligned_erms",
                "__memmove_avx_unaligned_erms",
            ),
            ("<&T as core::fmt::Debug>::fmt", "<&T as Debug>::fmt"),
            (
                "<alloc::boxed::Box<dyn Fn() -> u32> as x::Call>::call",
                "<Box as Call>::call",
            ),
            (
                "<img src=x onerror=alert(1)>",
                "<img src=x onerror=alert(1)>",
            ),
            (
                "core::iter::range::<impl core::iter::traits::iterator::Iterator for core::ops::range::Range<A>>::next",
                "<impl Iterator for Range>::next",
            ),
            (
                "<fn() -> core::result::Result<(), alloc::string::String> as core::ops::function::FnOnce<()>>::call_once",
                "<fn() -> Result as FnOnce>::call_once",
            ),
            (
                "<std::thread::lifecycle::spawn_unchecked<test::run_test::{closure#1}, ()>::{closure#1} as core::ops::function::FnOnce<()>>::call_once::{shim:vtable#0}",
                "<spawn_unchecked::{closure#1} as FnOnce>::call_once::{shim:vtable#0}",
            ),
            (
                "std::thread::lifecycle::spawn_unchecked::<test::run_test::{closure#1}, ()>::{closure#1}",
                "lifecycle::spawn_unchecked::{closure#1}",
            ),
            (
                "<std::sys::thread::unix::Thread>::new::thread_start",
                "<Thread>::new::thread_start",
            ),
        ];
        for (name, label) in cases {
            assert_eq!(short_label(name), label, "{name}");
        }
    }

    #[test]
    fn long_labels_are_cut() {
        let name = format!("crate::{}", "x".repeat(200));
        let label = short_label(&name);
        assert_eq!(label.chars().count(), MAX_LABEL);
        assert!(label.ends_with('…'));
    }

    fn stacks() -> Vec<(Vec<String>, u64)> {
        let s = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        vec![
            (s(&["worker", "main", "handler", "burn"]), 6),
            (s(&["worker", "main", "handler"]), 1),
            (s(&["worker", "main", "log"]), 2),
            (s(&["other", "poll"]), 1),
        ]
    }

    #[test]
    fn stacks_fold_into_a_tree_heaviest_first() {
        let (nodes, left_out) = fold(&stacks(), 10, 100);
        assert_eq!(left_out, 0);
        let shape: Vec<(&str, usize, u64, u64)> = nodes
            .iter()
            .map(|n| (n.label.as_str(), n.depth, n.samples, n.self_samples))
            .collect();
        assert_eq!(
            shape,
            [
                ("thread worker", 1, 9, 0),
                ("main", 2, 9, 0),
                ("handler", 3, 7, 1),
                ("burn", 4, 6, 6),
                ("log", 3, 2, 2),
                ("thread other", 1, 1, 0),
                ("poll", 2, 1, 1),
            ]
        );
        assert_eq!(nodes[3].parent, Some(2));
        assert!((nodes[4].x - 0.7).abs() < 1e-9, "{:?}", nodes[4]);
        assert!((nodes[5].x - 0.9).abs() < 1e-9 && (nodes[5].width - 0.1).abs() < 1e-9);
        assert!((nodes[0].percent - 90.0).abs() < 1e-9);

        let (nodes, left_out) = fold(&stacks(), 10, 3);
        assert_eq!((nodes.len(), left_out), (3, 4));
    }

    #[test]
    fn top_frames_count_self_and_total_samples() {
        let top = top_frames(&stacks(), 10);
        let rows: Vec<(&str, u64, u64)> = top
            .iter()
            .map(|f| (f.name.as_str(), f.self_samples, f.total_samples))
            .collect();
        assert_eq!(
            rows,
            [
                ("burn", 6, 6),
                ("log", 2, 2),
                ("handler", 1, 7),
                ("poll", 1, 1),
            ]
        );
    }
}
