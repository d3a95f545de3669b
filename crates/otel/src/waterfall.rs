//! The waterfall as the panel draws it, read once on the server: repeated sibling spans
//! grouped into one row, the critical path, each span's self time, and spans whose parent is
//! not in the trace.
//!
//! [`Waterfall::new`] takes the spans in the order [`crate::convert`] lays them out and gives
//! the rows top to bottom. A parent's children that share a name, a category and a service —
//! at least [`GROUP_MIN`] of them, e.g. the queries of an N+1 loop — become one row
//! ("6× SELECT posts") that the reader expands to see each member with its own children.
//!
//! The critical path is the chain of work the trace's end waited on: walking back from the
//! root span's end, the child that finished last before that point, then inside that child the
//! same, then the time before it in its parent. A span on it made the trace longer; shortening
//! a span off it would not. Self time is a span's duration less the time covered by its
//! children.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::span::{Category, Positions, SpanRecord};

/// How many siblings of the same name, category and service make a group.
pub const GROUP_MIN: usize = 3;

/// Tolerance when comparing times in milliseconds.
const EPSILON_MS: f64 = 1e-9;

/// The rows of the waterfall, top to bottom, and what they are made of.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Waterfall {
    /// The rows in the order they are drawn: each span once, and a row for each group before
    /// its members.
    pub rows: Vec<Row>,
    /// Repeated sibling spans drawn as one row.
    pub groups: Vec<Group>,
    /// The services that made the spans, this application first.
    pub services: Vec<Service>,
    /// How many spans name a parent that is not in the trace.
    pub orphans: usize,
    /// How many spans are on the critical path.
    pub critical: usize,
    /// The deepest span's depth (the flame view's height).
    pub max_depth: usize,
}

/// One row of the waterfall: a span, or a group of repeated siblings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The span shown, as an index into the trace's spans; for a group's row, its first
    /// member.
    pub span: usize,
    /// For a group's row, the group (an index into [`Waterfall::groups`]).
    pub group: Option<usize>,
    /// The row this one is drawn under (its parent span's, or its group's), as an index into
    /// [`Waterfall::rows`]; `None` at the top.
    pub parent: Option<usize>,
    /// Indentation: the span's depth plus the groups it is in.
    pub depth: usize,
    /// Whether the row starts hidden, inside a collapsed group.
    pub hidden: bool,
    /// Time in the span not covered by its children, in milliseconds; for a group, the sum
    /// over its members.
    pub self_ms: f64,
    /// Whether the span (for a group, one of its members) is on the critical path.
    pub critical: bool,
    /// Whether the span names a parent that is not in the trace (it is drawn at the top).
    pub orphan: bool,
    /// The service that made the span, as an index into [`Waterfall::services`].
    pub service: usize,
}

/// Sibling spans with the same name, category and service, drawn as one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// The members' name.
    pub name: String,
    /// The members' category.
    pub category: Category,
    /// The members, as indices into the trace's spans, by start time.
    pub members: Vec<usize>,
    /// Their durations added up, in milliseconds.
    pub total_ms: f64,
    /// From the first member's start to the last one's end, in milliseconds.
    pub wall_ms: f64,
    /// How many members failed.
    pub errors: usize,
}

/// A service whose spans are in the trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// Its `service.name`; `None` for this application.
    pub name: Option<String>,
    /// Its colour in the waterfall, 0 to 7.
    pub hue: usize,
    /// How many of the trace's spans it made.
    pub spans: usize,
}

/// Number of colours services take in turn.
const HUES: usize = 8;

/// The tree the spans' parent ids make: who is whose child, in start order.
struct Tree {
    parent: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
    roots: Vec<usize>,
    orphan: Vec<bool>,
}

impl Tree {
    /// `remote_parent` is the caller's span, outside the trace as it is recorded here: a span
    /// naming it is not an orphan.
    fn new(spans: &[SpanRecord], remote_parent: Option<&str>) -> Self {
        let position = Positions::of(spans);
        let mut parent = vec![None; spans.len()];
        let mut orphan = vec![false; spans.len()];
        for (i, span) in spans.iter().enumerate() {
            let Some(id) = span.parent_span_id.as_deref() else {
                continue;
            };
            match position.get(id) {
                Some(p) if p != i => parent[i] = Some(p),
                Some(_) => {}
                None => orphan[i] = Some(id) != remote_parent,
            }
        }
        // A cycle of parent ids (only possible with spans from elsewhere) has no root: cut it
        // where it is first met, so that every span is drawn. 0: not seen, 1: on the walk,
        // 2: done.
        let mut state = vec![0_u8; spans.len()];
        let mut walk = Vec::new();
        for start in 0..spans.len() {
            if state[start] == 2 {
                continue;
            }
            let mut at = start;
            loop {
                match state[at] {
                    2 => break,
                    1 => {
                        if let Some(&last) = walk.last() {
                            parent[last] = None;
                        }
                        break;
                    }
                    _ => {}
                }
                state[at] = 1;
                walk.push(at);
                match parent[at] {
                    Some(p) => at = p,
                    None => break,
                }
            }
            for i in walk.drain(..) {
                state[i] = 2;
            }
        }
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
        let mut roots = Vec::new();
        for (i, p) in parent.iter().enumerate() {
            match p {
                Some(p) => children[*p].push(i),
                None => roots.push(i),
            }
        }
        for list in &mut children {
            list.sort_by(|a, b| spans[*a].start_ms.total_cmp(&spans[*b].start_ms));
        }
        Self {
            parent,
            children,
            roots,
            orphan,
        }
    }
}

fn end_ms(span: &SpanRecord) -> f64 {
    span.start_ms + span.duration_ms
}

/// Each span's duration less the union of its children's intervals within it.
fn self_times(spans: &[SpanRecord], tree: &Tree) -> Vec<f64> {
    spans
        .iter()
        .enumerate()
        .map(|(i, span)| {
            let (start, end) = (span.start_ms, end_ms(span));
            let mut covered = 0.0;
            let mut reach = start;
            // Children are in start order: merge their intervals as they come.
            for &c in &tree.children[i] {
                let from = spans[c].start_ms.max(reach);
                let to = end_ms(&spans[c]).min(end);
                if to > from {
                    covered += to - from;
                    reach = to;
                }
            }
            (span.duration_ms - covered).max(0.0)
        })
        .collect()
}

/// Marks the spans on the critical path of the trace's main root: the root that is not an
/// orphan and ends last (when every root is an orphan, the one that ends last).
fn critical_path(spans: &[SpanRecord], tree: &Tree) -> Vec<bool> {
    let mut critical = vec![false; spans.len()];
    let last_ending = |roots: &mut dyn Iterator<Item = usize>| {
        roots.max_by(|a, b| {
            end_ms(&spans[*a])
                .total_cmp(&end_ms(&spans[*b]))
                .then(b.cmp(a))
        })
    };
    let own = last_ending(&mut tree.roots.iter().copied().filter(|r| !tree.orphan[*r]));
    let Some(root) = own.or_else(|| last_ending(&mut tree.roots.iter().copied())) else {
        return critical;
    };
    // Walking back in time: `cursor` is the point of `current` the path has reached.
    let mut current = root;
    let mut cursor = end_ms(&spans[root]);
    loop {
        critical[current] = true;
        let span = &spans[current];
        let last = tree.children[current]
            .iter()
            .copied()
            .filter(|&c| {
                let child = &spans[c];
                child.start_ms < cursor - EPSILON_MS
                    && end_ms(child).min(end_ms(span)) <= cursor + EPSILON_MS
            })
            .max_by(|a, b| {
                end_ms(&spans[*a])
                    .total_cmp(&end_ms(&spans[*b]))
                    .then(spans[*a].start_ms.total_cmp(&spans[*b].start_ms))
            });
        match last {
            Some(child) => {
                cursor = end_ms(&spans[child]).min(end_ms(span));
                current = child;
            }
            // Nothing more ran inside `current` before the cursor: the path goes on in its
            // parent, before `current` started.
            None => {
                if current == root {
                    break;
                }
                let Some(parent) = tree.parent[current] else {
                    break;
                };
                cursor = span.start_ms.max(spans[parent].start_ms);
                current = parent;
            }
        }
    }
    critical
}

/// What the rows are built from.
struct Facts<'a> {
    spans: &'a [SpanRecord],
    tree: &'a Tree,
    self_ms: &'a [f64],
    critical: &'a [bool],
    service: &'a [usize],
}

/// Work left while the rows are walked depth-first.
enum Step {
    Span {
        span: usize,
        parent: Option<usize>,
        depth: usize,
        hidden: bool,
    },
    Group {
        members: Vec<usize>,
        parent: Option<usize>,
        depth: usize,
        hidden: bool,
    },
}

impl Waterfall {
    /// The waterfall of `spans`, laid out as [`crate::convert::convert`] returns them.
    /// `remote_parent` is the caller's span id when the trace came in: the span naming it is
    /// not taken for an orphan.
    pub fn new(spans: &[SpanRecord], remote_parent: Option<&str>) -> Self {
        let tree = Tree::new(spans, remote_parent);
        let self_ms = self_times(spans, &tree);
        let critical = critical_path(spans, &tree);
        let mut services = vec![Service {
            name: None,
            hue: 0,
            spans: 0,
        }];
        let service: Vec<usize> = spans
            .iter()
            .map(|s| {
                let index = services
                    .iter()
                    .position(|known| known.name == s.service)
                    .unwrap_or_else(|| {
                        services.push(Service {
                            name: s.service.clone(),
                            hue: services.len() % HUES,
                            spans: 0,
                        });
                        services.len() - 1
                    });
                services[index].spans += 1;
                index
            })
            .collect();
        let facts = Facts {
            spans,
            tree: &tree,
            self_ms: &self_ms,
            critical: &critical,
            service: &service,
        };
        let mut waterfall = Waterfall {
            rows: Vec::with_capacity(spans.len()),
            groups: Vec::new(),
            services,
            orphans: tree.orphan.iter().filter(|o| **o).count(),
            critical: critical.iter().filter(|c| **c).count(),
            max_depth: spans.iter().map(|s| s.depth).max().unwrap_or(0),
        };
        let mut stack = Vec::new();
        push_siblings(&facts, &tree.roots, None, 0, false, &mut stack);
        while let Some(step) = stack.pop() {
            waterfall.take(&facts, step, &mut stack);
        }
        waterfall
    }

    /// Adds the row of `step` and queues what is drawn under it.
    fn take(&mut self, facts: &Facts<'_>, step: Step, stack: &mut Vec<Step>) {
        let row = self.rows.len();
        match step {
            Step::Span {
                span,
                parent,
                depth,
                hidden,
            } => {
                self.rows.push(Row {
                    span,
                    group: None,
                    parent,
                    depth,
                    hidden,
                    self_ms: facts.self_ms[span],
                    critical: facts.critical[span],
                    orphan: facts.tree.orphan[span],
                    service: facts.service[span],
                });
                let children = &facts.tree.children[span];
                push_siblings(facts, children, Some(row), depth + 1, hidden, stack);
            }
            Step::Group {
                members,
                parent,
                depth,
                hidden,
            } => {
                let spans = facts.spans;
                let first = members[0];
                let last_end = members
                    .iter()
                    .map(|m| end_ms(&spans[*m]))
                    .fold(f64::MIN, f64::max);
                self.rows.push(Row {
                    span: first,
                    group: Some(self.groups.len()),
                    parent,
                    depth,
                    hidden,
                    self_ms: members.iter().map(|m| facts.self_ms[*m]).sum(),
                    critical: members.iter().any(|m| facts.critical[*m]),
                    orphan: members.iter().any(|m| facts.tree.orphan[*m]),
                    service: facts.service[first],
                });
                self.groups.push(Group {
                    name: spans[first].name.clone(),
                    category: spans[first].category,
                    total_ms: members.iter().map(|m| spans[*m].duration_ms).sum(),
                    wall_ms: (last_end - spans[first].start_ms).max(0.0),
                    errors: members
                        .iter()
                        .filter(|m| spans[**m].error.is_some())
                        .count(),
                    members: members.clone(),
                });
                for &member in members.iter().rev() {
                    stack.push(Step::Span {
                        span: member,
                        parent: Some(row),
                        depth: depth + 1,
                        hidden: true,
                    });
                }
            }
        }
    }

    /// The row showing span `span` itself (not a group's row).
    pub fn row_of(&self, span: usize) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.span == span && r.group.is_none())
    }
}

/// Queues the rows of `siblings` (in start order) so that they pop in that order, each group
/// where its first member starts.
fn push_siblings(
    facts: &Facts<'_>,
    siblings: &[usize],
    parent: Option<usize>,
    depth: usize,
    hidden: bool,
    stack: &mut Vec<Step>,
) {
    if siblings.is_empty() {
        return;
    }
    let spans = facts.spans;
    let key = |i: usize| (spans[i].name.as_str(), spans[i].category, facts.service[i]);
    let mut by_key: HashMap<(&str, Category, usize), Vec<usize>> = HashMap::new();
    // Too few siblings make no group: each is a row of its own.
    if siblings.len() >= GROUP_MIN {
        for &s in siblings {
            // The main root is never folded into a group with orphans.
            if parent.is_none() && !facts.tree.orphan[s] {
                continue;
            }
            by_key.entry(key(s)).or_default().push(s);
        }
    }
    let mut steps = Vec::with_capacity(siblings.len());
    for &s in siblings {
        let grouped = parent.is_some() || facts.tree.orphan[s];
        match by_key.get(&key(s)) {
            Some(members) if grouped && members.len() >= GROUP_MIN => {
                if members[0] == s {
                    steps.push(Step::Group {
                        members: members.clone(),
                        parent,
                        depth,
                        hidden,
                    });
                }
            }
            _ => steps.push(Step::Span {
                span: s,
                parent,
                depth,
                hidden,
            }),
        }
    }
    stack.extend(steps.into_iter().rev());
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::span::Kind;

    fn span(id: &str, parent: Option<&str>, name: &str, start_ms: f64, end: f64) -> SpanRecord {
        SpanRecord {
            span_id: id.to_owned(),
            parent_span_id: parent.map(str::to_owned),
            name: name.to_owned(),
            kind: Kind::Internal,
            category: Category::Internal,
            start_ms,
            duration_ms: end - start_ms,
            depth: 0,
            attributes: Vec::new(),
            events: Vec::new(),
            error: None,
            captured: false,
            service: None,
            left_pct: 0.0,
            width_pct: 0.0,
        }
    }

    #[test]
    fn positions_find_the_first_span_with_an_id() {
        let spans = [
            span("b", None, "first b", 0.0, 1.0),
            span("a", Some("b"), "a", 0.0, 1.0),
            span("b", None, "second b", 0.0, 1.0),
        ];
        let positions = Positions::of(&spans);
        assert_eq!(positions.get("a"), Some(1));
        assert_eq!(positions.get("b"), Some(0));
        assert_eq!(positions.get("c"), None);
        assert_eq!(positions.get(""), None);
    }

    fn db(id: &str, parent: &str, name: &str, start_ms: f64, end: f64) -> SpanRecord {
        SpanRecord {
            kind: Kind::Client,
            category: Category::Db,
            ..span(id, Some(parent), name, start_ms, end)
        }
    }

    /// Row names top to bottom, with their depth and whether they start hidden.
    fn outline(spans: &[SpanRecord], waterfall: &Waterfall) -> Vec<(String, usize, bool)> {
        waterfall
            .rows
            .iter()
            .map(|r| {
                let name = match r.group {
                    Some(g) => {
                        let group = &waterfall.groups[g];
                        format!("{}× {}", group.members.len(), group.name)
                    }
                    None => spans[r.span].name.clone(),
                };
                (name, r.depth, r.hidden)
            })
            .collect()
    }

    fn n_plus_one() -> Vec<SpanRecord> {
        let mut spans = vec![
            span("s", None, "GET /users", 0.0, 20.0),
            span("h", Some("s"), "users", 1.0, 19.0),
            db("u", "h", "SELECT users", 1.0, 3.0),
        ];
        for i in 0..6 {
            let at = 3.0 + 2.0 * f64::from(i);
            spans.push(db(&format!("p{i}"), "h", "SELECT posts", at, at + 1.5));
        }
        spans.push(span("r", Some("h"), "render users.html", 15.0, 18.0));
        spans
    }

    #[test]
    fn repeated_siblings_become_one_row_whose_members_start_hidden() {
        let spans = n_plus_one();
        let waterfall = Waterfall::new(&spans, None);
        let expected: Vec<(String, usize, bool)> = [
            ("GET /users", 0, false),
            ("users", 1, false),
            ("SELECT users", 2, false),
            ("6× SELECT posts", 2, false),
        ]
        .into_iter()
        .chain(std::iter::repeat_n(("SELECT posts", 3, true), 6))
        .chain([("render users.html", 2, false)])
        .map(|(n, d, h)| (n.to_owned(), d, h))
        .collect();
        assert_eq!(outline(&spans, &waterfall), expected);
        let group = &waterfall.groups[0];
        assert_eq!(group.members, [3, 4, 5, 6, 7, 8]);
        assert_eq!(group.category, Category::Db);
        assert!((group.total_ms - 9.0).abs() < 1e-9, "{group:?}");
        assert!((group.wall_ms - 11.5).abs() < 1e-9, "{group:?}");
        // Members are drawn under the group's row, which is drawn under their parent's.
        let group_row = waterfall.rows.iter().position(|r| r.group == Some(0));
        assert_eq!(group_row, Some(3));
        assert!(waterfall.rows[4..10].iter().all(|r| r.parent == group_row));
        assert_eq!(waterfall.rows[3].parent, Some(1));
        assert_eq!(waterfall.rows[10].parent, Some(1));
    }

    #[test]
    fn two_alike_or_alike_in_name_only_are_not_grouped() {
        let mut spans = n_plus_one();
        spans.truncate(5); // two `SELECT posts`
        spans.push(span("x", Some("h"), "SELECT users", 8.0, 9.0)); // not a query
        spans.push(SpanRecord {
            service: Some("search".to_owned()),
            ..db("y", "h", "SELECT users", 9.0, 10.0)
        });
        let waterfall = Waterfall::new(&spans, None);
        assert!(waterfall.groups.is_empty(), "{:?}", waterfall.groups);
        assert_eq!(waterfall.rows.len(), spans.len());
        assert_eq!(waterfall.services.len(), 2);
        assert_eq!(waterfall.services[1].name.as_deref(), Some("search"));
        assert_eq!(waterfall.row_of(6).map(|r| r.service), Some(1));
    }

    #[test]
    fn members_keep_their_children_and_groups_nest() {
        let mut spans = vec![span("s", None, "GET /", 0.0, 40.0)];
        for i in 0..3 {
            let at = 10.0 * f64::from(i);
            let item = format!("i{i}");
            spans.push(span(&item, Some("s"), "load item", at, at + 9.0));
            for j in 0..3 {
                let q = at + 1.0 + 2.0 * f64::from(j);
                spans.push(db(&format!("q{i}{j}"), &item, "SELECT fields", q, q + 1.0));
            }
        }
        let waterfall = Waterfall::new(&spans, None);
        let names: Vec<(String, usize, bool)> = outline(&spans, &waterfall);
        assert_eq!(names[1], ("3× load item".to_owned(), 1, false));
        assert_eq!(names[2], ("load item".to_owned(), 2, true));
        assert_eq!(names[3], ("3× SELECT fields".to_owned(), 3, true));
        assert_eq!(names[4], ("SELECT fields".to_owned(), 4, true));
        assert_eq!(waterfall.groups.len(), 4);
        assert_eq!(waterfall.rows.len(), spans.len() + 4);
    }

    #[test]
    fn self_time_is_what_children_do_not_cover() {
        let spans = vec![
            span("s", None, "GET /", 0.0, 10.0),
            span("a", Some("s"), "a", 1.0, 4.0),
            // Overlaps `a`: the union counts once.
            span("b", Some("s"), "b", 3.0, 6.0),
            // Runs past its parent's end: only the part inside counts.
            span("c", Some("s"), "c", 8.0, 12.0),
            span("d", Some("a"), "d", 2.0, 3.0),
        ];
        let waterfall = Waterfall::new(&spans, None);
        let self_ms = |i: usize| waterfall.row_of(i).unwrap().self_ms;
        assert!((self_ms(0) - 3.0).abs() < 1e-9, "10 - [1,6] - [8,10]");
        assert!((self_ms(1) - 2.0).abs() < 1e-9);
        assert!((self_ms(2) - 3.0).abs() < 1e-9);
        assert!((self_ms(3) - 4.0).abs() < 1e-9);
        assert!((self_ms(4) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_critical_path_follows_what_the_end_waited_for() {
        // The server span waits on `slow` (parallel with `fast`), which waited on `inner`;
        // before them, `first` ran alone.
        let spans = vec![
            span("s", None, "GET /", 0.0, 10.0),
            span("first", Some("s"), "first", 0.5, 2.0),
            span("fast", Some("s"), "fast", 2.0, 4.0),
            span("slow", Some("s"), "slow", 2.5, 9.0),
            span("inner", Some("slow"), "inner", 3.0, 8.0),
            span("early", Some("slow"), "early", 2.5, 2.8),
        ];
        let waterfall = Waterfall::new(&spans, None);
        let critical: Vec<&str> = waterfall
            .rows
            .iter()
            .filter(|r| r.critical)
            .map(|r| spans[r.span].name.as_str())
            .collect();
        assert_eq!(critical, ["GET /", "first", "slow", "early", "inner"]);
        assert_eq!(waterfall.critical, 5);
    }

    #[test]
    fn a_group_is_critical_when_a_member_is() {
        let waterfall = Waterfall::new(&n_plus_one(), None);
        let group = waterfall.rows.iter().find(|r| r.group.is_some()).unwrap();
        assert!(group.critical);
        // Sequential queries: the trace waited on every one of them.
        assert!(waterfall.rows.iter().all(|r| r.critical), "{waterfall:#?}");
    }

    #[test]
    fn spans_whose_parent_is_missing_are_drawn_at_the_top_and_marked() {
        let spans = vec![
            span("s", Some("caller"), "GET /", 0.0, 10.0),
            span("a", Some("s"), "a", 1.0, 2.0),
            span("lost", Some("gone"), "late arrival", 3.0, 20.0),
            span("kid", Some("lost"), "child of the lost", 4.0, 5.0),
        ];
        let waterfall = Waterfall::new(&spans, Some("caller"));
        assert_eq!(waterfall.orphans, 1);
        let rows: Vec<(&str, Option<usize>, bool)> = waterfall
            .rows
            .iter()
            .map(|r| (spans[r.span].name.as_str(), r.parent, r.orphan))
            .collect();
        assert_eq!(
            rows,
            [
                ("GET /", None, false),
                ("a", Some(0), false),
                ("late arrival", None, true),
                ("child of the lost", Some(2), false),
            ]
        );
        // The orphan ends last, but the path is the trace's own root's.
        assert!(waterfall.row_of(0).unwrap().critical);
        assert!(!waterfall.row_of(2).unwrap().critical);

        // Without the caller's id, the server span's parent is missing too.
        let waterfall = Waterfall::new(&spans, None);
        assert_eq!(waterfall.orphans, 2);
        // Every root is an orphan: the path is the one of the root that ends last.
        assert!(waterfall.row_of(2).unwrap().critical);
        assert!(!waterfall.row_of(0).unwrap().critical);
    }

    #[test]
    fn orphans_of_one_kind_are_grouped_and_cycles_are_cut() {
        let mut spans = vec![span("s", None, "GET /", 0.0, 10.0)];
        for i in 0..3 {
            spans.push(span(&format!("o{i}"), Some("gone"), "retry", 1.0, 2.0));
        }
        spans.push(span("x", Some("y"), "x", 1.0, 2.0));
        spans.push(span("y", Some("x"), "y", 1.0, 2.0));
        let waterfall = Waterfall::new(&spans, None);
        assert_eq!(waterfall.groups.len(), 1);
        assert_eq!(waterfall.groups[0].members.len(), 3);
        // Every span is drawn exactly once.
        let mut drawn: Vec<usize> = waterfall
            .rows
            .iter()
            .filter(|r| r.group.is_none())
            .map(|r| r.span)
            .collect();
        drawn.sort_unstable();
        assert_eq!(drawn, (0..spans.len()).collect::<Vec<_>>());
    }

    #[test]
    fn two_thousand_spans_are_read_in_one_pass() {
        let mut spans = vec![span("s", None, "GET /", 0.0, 2000.0)];
        for i in 0..1999 {
            let at = f64::from(i);
            spans.push(db(&format!("q{i}"), "s", "SELECT items", at, at + 0.5));
        }
        let waterfall = Waterfall::new(&spans, None);
        assert_eq!(waterfall.groups.len(), 1);
        assert_eq!(waterfall.rows.iter().filter(|r| !r.hidden).count(), 2);
    }
}
