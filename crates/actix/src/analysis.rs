//! Analysis across stored requests, read typed from the panels' stats: figures per route, the
//! statements that cost the most time, problems, and the comparison of two requests.
//!
//! The JSON API (`api/routes`, `api/statements`, `api/problems`, `api/compare`) and the MCP
//! server answer from here. What is wrong with one request comes from the panels themselves
//! ([`Panel::problems`](debug_toolbar_core::Panel::problems), through
//! [`Toolbar::problems`]): a panel author who reports problems gets them flagged here too.

mod compare;
mod routes;
mod statements;

use std::sync::Arc;

use debug_toolbar_core::integration::Toolbar;
use debug_toolbar_core::{Page, Problem, RecordSummary, RequestRecord, StoreError};
use serde::Serialize;

pub(crate) use compare::compare;
pub(crate) use routes::{RouteStats, routes};
pub(crate) use statements::{StatementCost, statements};

/// Most records one analysis reads, newest first.
pub(crate) const MAX_RECORDS: usize = 500;

/// A stored record with what the analysis reads of it more than once.
#[derive(Debug)]
pub(crate) struct Analysed {
    /// The record.
    pub(crate) record: Arc<RequestRecord>,
    /// The route it matched (its pattern, e.g. `/users/{id}`), or its path when it matched
    /// none or the Request panel is not compiled in.
    pub(crate) route: String,
    /// What its panels say is wrong with it.
    pub(crate) problems: Vec<Problem>,
}

impl Analysed {
    pub(crate) fn new(toolbar: &Toolbar, record: Arc<RequestRecord>) -> Self {
        Self {
            route: route_of(&record),
            problems: toolbar.problems(&record),
            record,
        }
    }
}

/// The stored records, newest first, at most [`MAX_RECORDS`]; a record dropped between the
/// list and its read is left out.
pub(crate) async fn stored(toolbar: &Toolbar) -> Result<Vec<Analysed>, StoreError> {
    let page = Page {
        offset: 0,
        limit: MAX_RECORDS,
    };
    let summaries = toolbar.store().list(page).await?;
    let mut analysed = Vec::with_capacity(summaries.len());
    for summary in summaries {
        if let Some(record) = toolbar.store().get(summary.id).await? {
            analysed.push(Analysed::new(toolbar, record));
        }
    }
    Ok(analysed)
}

/// One request's problems, with the request they belong to.
#[derive(Debug, Serialize)]
pub(crate) struct RequestProblems {
    /// The request.
    pub(crate) request: RecordSummary,
    /// Its route.
    pub(crate) route: String,
    /// What is wrong with it.
    pub(crate) problems: Vec<Problem>,
}

/// The problems of every request that has some, newest first.
pub(crate) fn problems(analysed: &[Analysed]) -> Vec<RequestProblems> {
    analysed
        .iter()
        .filter(|a| !a.problems.is_empty())
        .map(RequestProblems::of)
        .collect()
}

impl RequestProblems {
    pub(crate) fn of(analysed: &Analysed) -> Self {
        Self {
            request: analysed.record.summary(),
            route: analysed.route.clone(),
            problems: analysed.problems.clone(),
        }
    }
}

/// The route pattern the request matched, from the Request panel's stats; else its path.
fn route_of(record: &RequestRecord) -> String {
    #[cfg(feature = "request")]
    if let Some(Ok(stats)) = record.stats::<debug_toolbar_panels::RequestPanel>()
        && let Some(pattern) = stats.route_pattern
    {
        return pattern;
    }
    record.path.clone()
}

/// The SQL panel's stats of a record, when it has readable ones.
#[cfg(feature = "sql")]
pub(crate) fn sql_of(record: &RequestRecord) -> Option<debug_toolbar_panels::SqlStats> {
    record.stats::<debug_toolbar_panels::SqlPanel>()?.ok()
}

/// The value at rank `p` (0–1, nearest rank) of sorted `values`.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Rounds milliseconds to microseconds for the JSON answers.
fn ms(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.5), 10.0);
        assert_eq!(percentile(&values, 0.95), 19.0);
        assert_eq!(percentile(&[7.0], 0.95), 7.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
