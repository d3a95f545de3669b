//! Figures per route: how often, how long, how many queries, and what went wrong.

use std::collections::BTreeMap;

use debug_toolbar_core::{ProblemKind, RecordId};
use serde::Serialize;

use super::{Analysed, ms, percentile};

/// One route (method and pattern) over the stored requests.
#[derive(Debug, Serialize)]
pub(crate) struct RouteStats {
    /// HTTP method.
    pub(crate) method: String,
    /// The route pattern, or the path of requests that matched none.
    pub(crate) route: String,
    /// Stored requests of this route.
    pub(crate) count: usize,
    /// Median wall time in milliseconds.
    pub(crate) p50_ms: f64,
    /// 95th percentile of the wall time in milliseconds (nearest rank).
    pub(crate) p95_ms: f64,
    /// Longest wall time in milliseconds.
    pub(crate) max_ms: f64,
    /// Mean queries per request; `null` when no request of the route has SQL stats.
    pub(crate) queries_per_request: Option<f64>,
    /// How many of its requests show each problem.
    pub(crate) flags: RouteFlags,
    /// The newest request of the route.
    pub(crate) latest: RecordId,
}

/// How many requests of a route show each kind of problem.
#[derive(Debug, Default, Serialize)]
pub(crate) struct RouteFlags {
    /// Requests with an N+1 pattern.
    pub(crate) n_plus_one: usize,
    /// Requests with a slow query.
    pub(crate) slow_query: usize,
    /// Requests with a failed query.
    pub(crate) query_error: usize,
    /// Requests that logged at ERROR.
    pub(crate) error_logs: usize,
    /// Requests over their budget.
    pub(crate) broken_budget: usize,
    /// Requests answered with a `5xx` status.
    pub(crate) server_error: usize,
}

impl RouteFlags {
    fn add(&mut self, analysed: &Analysed) {
        let has = |kind: ProblemKind| usize::from(analysed.problems.iter().any(|p| p.kind == kind));
        self.n_plus_one += has(ProblemKind::NPlusOne);
        self.slow_query += has(ProblemKind::SlowQuery);
        self.query_error += has(ProblemKind::QueryError);
        self.error_logs += has(ProblemKind::ErrorLog);
        self.broken_budget += has(ProblemKind::BrokenBudget);
        self.server_error += has(ProblemKind::ServerError);
    }
}

/// Every route of the stored requests, the most requested first (ties by method and route).
pub(crate) fn routes(analysed: &[Analysed]) -> Vec<RouteStats> {
    let mut by_route: BTreeMap<(&str, &str), Vec<&Analysed>> = BTreeMap::new();
    for a in analysed {
        by_route
            .entry((a.record.method.as_str(), a.route.as_str()))
            .or_default()
            .push(a);
    }
    let mut routes: Vec<RouteStats> = by_route
        .into_iter()
        .filter_map(|((method, route), requests)| {
            // Newest first, as stored.
            let latest = requests.first()?.record.id;
            let mut durations: Vec<f64> = requests.iter().map(|a| a.record.duration_ms).collect();
            durations.sort_by(f64::total_cmp);
            let mut flags = RouteFlags::default();
            requests.iter().for_each(|a| flags.add(a));
            Some(RouteStats {
                method: method.to_owned(),
                route: route.to_owned(),
                count: requests.len(),
                p50_ms: ms(percentile(&durations, 0.5)),
                p95_ms: ms(percentile(&durations, 0.95)),
                max_ms: ms(durations.last().copied().unwrap_or(0.0)),
                queries_per_request: queries_per_request(&requests),
                flags,
                latest,
            })
        })
        .collect();
    routes.sort_by_key(|r| std::cmp::Reverse(r.count));
    routes
}

#[cfg(feature = "sql")]
fn queries_per_request(requests: &[&Analysed]) -> Option<f64> {
    let counts: Vec<usize> = requests
        .iter()
        .filter_map(|a| super::sql_of(&a.record))
        .map(|sql| sql.total_count)
        .collect();
    (!counts.is_empty()).then(|| ms(counts.iter().sum::<usize>() as f64 / counts.len() as f64))
}

#[cfg(not(feature = "sql"))]
fn queries_per_request(_: &[&Analysed]) -> Option<f64> {
    None
}
