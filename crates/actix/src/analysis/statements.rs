//! The statements that cost the most database time over the stored requests.

use serde::Serialize;

use super::Analysed;
#[cfg(feature = "sql")]
use debug_toolbar_core::RecordId;

/// One statement (normalised: literals and parameters aside) over the stored requests.
#[derive(Debug, Serialize)]
pub(crate) struct StatementCost {
    /// The normalised statement.
    pub(crate) statement: String,
    /// How many times it ran.
    pub(crate) count: usize,
    /// In how many requests.
    pub(crate) requests: usize,
    /// Total time in milliseconds.
    pub(crate) total_ms: f64,
    /// Mean time per run in milliseconds.
    pub(crate) mean_ms: f64,
    /// Longest run in milliseconds.
    pub(crate) max_ms: f64,
    /// The routes it ran in, as `METHOD route`.
    pub(crate) routes: Vec<String>,
    /// Its longest run, as EXPLAIN names it: `request` and `query` for `sql/explain` or the
    /// MCP tool `explain_query`.
    pub(crate) slowest: QueryRef,
}

/// One query of one stored request.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct QueryRef {
    /// The request's id.
    pub(crate) request: String,
    /// The query's index in the request.
    pub(crate) query: usize,
}

/// The `limit` statements that cost the most time in total, the costliest first.
#[cfg(feature = "sql")]
pub(crate) fn statements(analysed: &[Analysed], limit: usize) -> Vec<StatementCost> {
    use std::collections::HashMap;

    struct Sum {
        count: usize,
        requests: Vec<RecordId>,
        total_ms: f64,
        max_ms: f64,
        routes: Vec<String>,
        slowest: QueryRef,
    }
    let mut sums: HashMap<String, Sum> = HashMap::new();
    for a in analysed {
        let Some(sql) = super::sql_of(&a.record) else {
            continue;
        };
        let route = format!("{} {}", a.record.method, a.route);
        for q in &sql.queries {
            let key = if q.normalized.is_empty() {
                q.sql.clone()
            } else {
                q.normalized.clone()
            };
            let slowest = QueryRef {
                request: a.record.id.to_string(),
                query: q.index,
            };
            let sum = sums.entry(key).or_insert_with(|| Sum {
                count: 0,
                requests: Vec::new(),
                total_ms: 0.0,
                max_ms: q.duration_ms,
                routes: Vec::new(),
                slowest: slowest.clone(),
            });
            sum.count += 1;
            sum.total_ms += q.duration_ms;
            if q.duration_ms > sum.max_ms {
                sum.max_ms = q.duration_ms;
                sum.slowest = slowest;
            }
            if !sum.requests.contains(&a.record.id) {
                sum.requests.push(a.record.id);
            }
            if !sum.routes.contains(&route) {
                sum.routes.push(route.clone());
            }
        }
    }
    let mut costs: Vec<StatementCost> = sums
        .into_iter()
        .map(|(statement, sum)| StatementCost {
            statement,
            count: sum.count,
            requests: sum.requests.len(),
            total_ms: super::ms(sum.total_ms),
            mean_ms: super::ms(sum.total_ms / sum.count.max(1) as f64),
            max_ms: super::ms(sum.max_ms),
            routes: sum.routes,
            slowest: sum.slowest,
        })
        .collect();
    costs.sort_by(|a, b| {
        b.total_ms
            .total_cmp(&a.total_ms)
            .then_with(|| a.statement.cmp(&b.statement))
    });
    costs.truncate(limit);
    costs
}

/// Without the SQL panel there are no statements.
#[cfg(not(feature = "sql"))]
pub(crate) fn statements(_: &[Analysed], _: usize) -> Vec<StatementCost> {
    Vec::new()
}
