//! Two requests side by side: "did my fix work?"

use debug_toolbar_core::{Problem, RecordSummary};
use serde::Serialize;

use super::{Analysed, ms};

/// How request `b` differs from request `a`.
#[derive(Debug, Serialize)]
pub(crate) struct Comparison {
    /// The first request.
    pub(crate) a: RecordSummary,
    /// The second request.
    pub(crate) b: RecordSummary,
    /// Both statuses.
    pub(crate) status: Change<u16>,
    /// Wall time, CPU time, database time and query count of both.
    pub(crate) timings: Vec<TimingChange>,
    /// Statements (normalised) added, removed and changed in count or time; `null` when
    /// either request has no SQL stats.
    pub(crate) queries: Option<Changes>,
    /// Spans (by their path of names from the server span, written `server`) added, removed
    /// and changed in
    /// count or time; `null` when either request has no OpenTelemetry stats.
    pub(crate) spans: Option<Changes>,
    /// Headers whose values differ; `null` when either request has no Headers stats.
    pub(crate) headers: Option<HeaderChanges>,
    /// Problems of `a` that `b` no longer has, and problems new in `b`.
    pub(crate) problems: ProblemChanges,
}

/// A value of both requests.
#[derive(Debug, Serialize)]
pub(crate) struct Change<T> {
    /// In `a`.
    pub(crate) a: T,
    /// In `b`.
    pub(crate) b: T,
    /// Whether they differ.
    pub(crate) changed: bool,
}

/// One timing of both requests.
#[derive(Debug, Serialize)]
pub(crate) struct TimingChange {
    /// `wall_ms`, `cpu_ms`, `sql_ms` or `queries`.
    pub(crate) name: &'static str,
    /// In `a`, when known.
    pub(crate) a: Option<f64>,
    /// In `b`, when known.
    pub(crate) b: Option<f64>,
    /// `b - a`, when both are known.
    pub(crate) change: Option<f64>,
}

impl TimingChange {
    fn new(name: &'static str, a: Option<f64>, b: Option<f64>) -> Self {
        Self {
            name,
            a: a.map(ms),
            b: b.map(ms),
            change: a.zip(b).map(|(a, b)| ms(b - a)),
        }
    }
}

/// Entries added, removed and changed between the two requests.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Changes {
    /// Only in `b`.
    pub(crate) added: Vec<Entry>,
    /// Only in `a`.
    pub(crate) removed: Vec<Entry>,
    /// In both, run a different number of times, or taking at least 1 ms and a quarter
    /// more or less time.
    pub(crate) changed: Vec<Entry>,
}

/// A statement or a span path in both requests.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Entry {
    /// The statement, or the span path joined with ` › `.
    pub(crate) key: String,
    /// Times in `a`.
    pub(crate) a_count: usize,
    /// Times in `b`.
    pub(crate) b_count: usize,
    /// Total milliseconds in `a`.
    pub(crate) a_ms: f64,
    /// Total milliseconds in `b`.
    pub(crate) b_ms: f64,
}

/// Headers whose values differ.
#[derive(Debug, Serialize)]
pub(crate) struct HeaderChanges {
    /// Request headers.
    pub(crate) request: Vec<HeaderChange>,
    /// Response headers.
    pub(crate) response: Vec<HeaderChange>,
}

/// One header of both requests (values of a repeated header joined with `, `; masked as in
/// the Headers panel).
#[derive(Debug, Serialize)]
pub(crate) struct HeaderChange {
    /// The header's name, lowercase.
    pub(crate) name: String,
    /// Its value in `a`, when present.
    pub(crate) a: Option<String>,
    /// Its value in `b`, when present.
    pub(crate) b: Option<String>,
}

/// Problems fixed and introduced.
#[derive(Debug, Serialize)]
pub(crate) struct ProblemChanges {
    /// In `a`, not in `b`.
    pub(crate) fixed: Vec<Problem>,
    /// In `b`, not in `a`.
    pub(crate) introduced: Vec<Problem>,
}

/// Compares request `b` with request `a`.
pub(crate) fn compare(a: &Analysed, b: &Analysed) -> Comparison {
    let (ra, rb) = (&a.record, &b.record);
    let mut timings = Vec::with_capacity(4);
    timings.push(TimingChange::new(
        "wall_ms",
        Some(ra.duration_ms),
        Some(rb.duration_ms),
    ));
    #[cfg(feature = "timer")]
    {
        let cpu = |r: &debug_toolbar_core::RequestRecord| {
            r.stats::<debug_toolbar_panels::TimerPanel>()?
                .ok()?
                .cpu_total_ms
        };
        timings.push(TimingChange::new("cpu_ms", cpu(ra), cpu(rb)));
    }
    #[cfg(feature = "sql")]
    let queries = {
        let (sa, sb) = (super::sql_of(ra), super::sql_of(rb));
        timings.push(TimingChange::new(
            "sql_ms",
            sa.as_ref().map(|s| s.total_ms),
            sb.as_ref().map(|s| s.total_ms),
        ));
        timings.push(TimingChange::new(
            "queries",
            sa.as_ref().map(|s| s.total_count as f64),
            sb.as_ref().map(|s| s.total_count as f64),
        ));
        sa.zip(sb).map(|(sa, sb)| {
            let totals = |stats: &debug_toolbar_panels::SqlStats| {
                tally(stats.queries.iter().map(|q| {
                    let key = if q.normalized.is_empty() {
                        &q.sql
                    } else {
                        &q.normalized
                    };
                    (key.clone(), q.duration_ms)
                }))
            };
            changes(totals(&sa), totals(&sb))
        })
    };
    #[cfg(not(feature = "sql"))]
    let queries = None;
    #[cfg(feature = "otel")]
    let spans = {
        let spans = |r: &debug_toolbar_core::RequestRecord| {
            let stats = r.stats::<debug_toolbar_otel::OtelPanel>()?.ok()?;
            Some(tally(span_paths(&stats.spans)))
        };
        spans(ra).zip(spans(rb)).map(|(sa, sb)| changes(sa, sb))
    };
    #[cfg(not(feature = "otel"))]
    let spans = None;
    #[cfg(feature = "headers")]
    let headers = {
        let headers = |r: &debug_toolbar_core::RequestRecord| {
            r.stats::<debug_toolbar_panels::HeadersPanel>()?.ok()
        };
        headers(ra).zip(headers(rb)).map(|(ha, hb)| HeaderChanges {
            request: header_changes(&ha.request, &hb.request),
            response: header_changes(&ha.response, &hb.response),
        })
    };
    #[cfg(not(feature = "headers"))]
    let headers = None;
    let key = |p: &Problem| {
        (
            p.kind,
            p.panel.clone(),
            p.statement.clone(),
            p.origin.clone(),
        )
    };
    let fixed = a
        .problems
        .iter()
        .filter(|p| !b.problems.iter().any(|q| key(q) == key(p)))
        .cloned()
        .collect();
    let introduced = b
        .problems
        .iter()
        .filter(|p| !a.problems.iter().any(|q| key(q) == key(p)))
        .cloned()
        .collect();
    Comparison {
        a: ra.summary(),
        b: rb.summary(),
        status: Change {
            a: ra.status,
            b: rb.status,
            changed: ra.status != rb.status,
        },
        timings,
        queries,
        spans,
        headers,
        problems: ProblemChanges { fixed, introduced },
    }
}

/// Count and total time per key.
#[cfg(any(feature = "sql", feature = "otel"))]
type Tally = std::collections::BTreeMap<String, (usize, f64)>;

#[cfg(any(feature = "sql", feature = "otel"))]
fn tally(items: impl Iterator<Item = (String, f64)>) -> Tally {
    let mut tally = Tally::new();
    for (key, duration_ms) in items {
        let entry = tally.entry(key).or_insert((0, 0.0));
        entry.0 += 1;
        entry.1 += duration_ms;
    }
    tally
}

#[cfg(any(feature = "sql", feature = "otel"))]
fn changes(a: Tally, b: Tally) -> Changes {
    let mut changes = Changes::default();
    let entry = |key: &str, (a_count, a_ms): (usize, f64), (b_count, b_ms): (usize, f64)| Entry {
        key: key.to_owned(),
        a_count,
        b_count,
        a_ms: ms(a_ms),
        b_ms: ms(b_ms),
    };
    for (key, &ta) in &a {
        match b.get(key) {
            None => changes.removed.push(entry(key, ta, (0, 0.0))),
            Some(&tb) => {
                let slower_or_faster = (tb.1 - ta.1).abs() >= 1.0_f64.max(ta.1.max(tb.1) * 0.25);
                if ta.0 != tb.0 || slower_or_faster {
                    changes.changed.push(entry(key, ta, tb));
                }
            }
        }
    }
    for (key, &tb) in &b {
        if !a.contains_key(key) {
            changes.added.push(entry(key, (0, 0.0), tb));
        }
    }
    changes
}

/// Each span's path of names from the server span, which is written `server` (its name holds
/// the route, which would make every span of two routes differ), with its duration.
#[cfg(feature = "otel")]
fn span_paths(
    spans: &[debug_toolbar_otel::SpanRecord],
) -> impl Iterator<Item = (String, f64)> + '_ {
    let by_id: std::collections::HashMap<&str, &debug_toolbar_otel::SpanRecord> =
        spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    fn name(span: &debug_toolbar_otel::SpanRecord) -> &str {
        match span.kind {
            debug_toolbar_otel::Kind::Server if span.depth == 0 => "server",
            _ => span.name.as_str(),
        }
    }
    spans.iter().map(move |span| {
        let mut names = vec![name(span)];
        let mut parent = span.parent_span_id.as_deref();
        while let Some(p) = parent.and_then(|id| by_id.get(id)) {
            // A malformed record whose parents loop cannot hold the walk.
            if names.len() > spans.len() {
                break;
            }
            names.push(name(p));
            parent = p.parent_span_id.as_deref();
        }
        names.reverse();
        (names.join(" › "), span.duration_ms)
    })
}

#[cfg(feature = "headers")]
fn header_changes(
    a: &[debug_toolbar_core::NameValue],
    b: &[debug_toolbar_core::NameValue],
) -> Vec<HeaderChange> {
    let values = |headers: &[debug_toolbar_core::NameValue]| {
        let mut values = std::collections::BTreeMap::<String, String>::new();
        for h in headers {
            let value = values.entry(h.name.to_ascii_lowercase()).or_default();
            if !value.is_empty() {
                value.push_str(", ");
            }
            value.push_str(&h.value);
        }
        values
    };
    let (va, mut vb) = (values(a), values(b));
    let mut changes = Vec::new();
    for (name, value_a) in va {
        let value_b = vb.remove(&name);
        if value_b.as_ref() != Some(&value_a) {
            changes.push(HeaderChange {
                name,
                a: Some(value_a),
                b: value_b,
            });
        }
    }
    changes.extend(vb.into_iter().map(|(name, value)| HeaderChange {
        name,
        a: None,
        b: Some(value),
    }));
    changes.sort_by(|x, y| x.name.cmp(&y.name));
    changes
}

#[cfg(all(test, feature = "sql"))]
mod tests {
    use super::*;

    #[test]
    fn statements_are_added_removed_and_changed_by_count_or_time() {
        let a = tally(
            [
                ("SELECT a".to_owned(), 1.0),
                ("SELECT b".to_owned(), 1.0),
                ("SELECT b".to_owned(), 1.0),
                ("SELECT c".to_owned(), 10.0),
                ("SELECT d".to_owned(), 10.0),
            ]
            .into_iter(),
        );
        let b = tally(
            [
                ("SELECT b".to_owned(), 2.0),
                ("SELECT c".to_owned(), 20.0),
                ("SELECT d".to_owned(), 10.5),
                ("SELECT e".to_owned(), 1.0),
            ]
            .into_iter(),
        );
        let changes = changes(a, b);
        let keys = |entries: &[Entry]| entries.iter().map(|e| e.key.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&changes.removed), ["SELECT a"]);
        assert_eq!(keys(&changes.added), ["SELECT e"]);
        assert_eq!(
            keys(&changes.changed),
            ["SELECT b", "SELECT c"],
            "fewer runs of b, c twice as slow, d within noise"
        );
    }
}
