use std::borrow::Cow;
use std::time::Duration;

use debug_toolbar_core::{
    Badge, BadgeLevel, Panel, Problem, ProblemKind, StatsContext, Template, register_panel,
};
use serde::{Deserialize, Serialize};

/// What one route may spend: queries, time, N+1 patterns, error logs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Most SQL queries.
    pub max_queries: Option<usize>,
    /// Most wall time, in milliseconds.
    pub max_duration_ms: Option<f64>,
    /// No similar queries repeated from one place (see the SQL panel's N+1 threshold).
    pub no_n_plus_one: bool,
    /// No log records at `ERROR`.
    pub no_error_logs: bool,
}

impl Budget {
    /// A budget that allows anything; narrow it with the other methods.
    pub fn new() -> Self {
        Self::default()
    }

    /// At most `count` SQL queries.
    #[must_use]
    pub fn max_queries(mut self, count: usize) -> Self {
        self.max_queries = Some(count);
        self
    }

    /// At most `duration` of wall time.
    #[must_use]
    pub fn max_duration(mut self, duration: Duration) -> Self {
        self.max_duration_ms = Some(duration.as_secs_f64() * 1000.0);
        self
    }

    /// No N+1 query patterns.
    #[must_use]
    pub fn no_n_plus_one(mut self) -> Self {
        self.no_n_plus_one = true;
        self
    }

    /// No log records at `ERROR`.
    #[must_use]
    pub fn no_error_logs(mut self) -> Self {
        self.no_error_logs = true;
        self
    }
}

/// Checks each request against the budget of its route, and marks the toolbar's handle when
/// one is broken; the `testing` helpers check the same budgets in tests.
#[derive(Debug, Clone, Default)]
pub struct BudgetsPanel {
    routes: Vec<(String, Budget)>,
    fallback: Option<Budget>,
}

impl BudgetsPanel {
    /// A panel without budgets.
    pub fn new() -> Self {
        Self::default()
    }

    /// The budget of the route whose pattern is `pattern`, e.g. `/users/{id}`.
    #[must_use]
    pub fn route(mut self, pattern: impl Into<String>, budget: Budget) -> Self {
        self.routes.push((pattern.into(), budget));
        self
    }

    /// The budget of every route without one of its own. By default, none.
    #[must_use]
    pub fn fallback(mut self, budget: Budget) -> Self {
        self.fallback = Some(budget);
        self
    }

    /// The budget of `route`: its own, with each limit it leaves unset taken from the fallback;
    /// the fallback alone for a route without one. Also says which limits came from the
    /// fallback.
    fn budget_for(&self, route: Option<&str>) -> Option<(Budget, Vec<String>)> {
        let own = route.and_then(|route| {
            self.routes
                .iter()
                .find(|(pattern, _)| pattern == route)
                .map(|(_, budget)| budget)
        });
        match (own, &self.fallback) {
            (None, None) => None,
            (Some(own), None) => Some((own.clone(), Vec::new())),
            (None, Some(fallback)) => Some((fallback.clone(), Vec::new())),
            (Some(own), Some(fallback)) => Some(own.completed_by(fallback)),
        }
    }
}

impl Budget {
    /// This budget with every limit it leaves unset taken from `fallback`, and the names of
    /// the limits taken.
    fn completed_by(&self, fallback: &Budget) -> (Budget, Vec<String>) {
        let taken = [
            (
                self.max_queries.is_none() && fallback.max_queries.is_some(),
                LIMIT_MAX_QUERIES,
            ),
            (
                self.max_duration_ms.is_none() && fallback.max_duration_ms.is_some(),
                LIMIT_MAX_DURATION,
            ),
            (
                !self.no_n_plus_one && fallback.no_n_plus_one,
                LIMIT_N_PLUS_ONE,
            ),
            (
                !self.no_error_logs && fallback.no_error_logs,
                LIMIT_ERROR_LOGS,
            ),
        ]
        .into_iter()
        .filter(|&(taken, _)| taken)
        .map(|(_, name)| name.to_owned())
        .collect();
        let budget = Budget {
            max_queries: self.max_queries.or(fallback.max_queries),
            max_duration_ms: self.max_duration_ms.or(fallback.max_duration_ms),
            no_n_plus_one: self.no_n_plus_one || fallback.no_n_plus_one,
            no_error_logs: self.no_error_logs || fallback.no_error_logs,
        };
        (budget, taken)
    }
}

const LIMIT_MAX_QUERIES: &str = "max queries";
const LIMIT_MAX_DURATION: &str = "max duration";
const LIMIT_N_PLUS_ONE: &str = "N+1";
const LIMIT_ERROR_LOGS: &str = "error logs";

/// A budget a request went over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenBudget {
    /// Which limit, e.g. `max queries`.
    pub limit: String,
    /// The limit and what the request did, e.g. `7 queries, at most 5`.
    pub detail: String,
    /// What went over: the queries, the repeated statements, the error messages.
    pub offenders: Vec<String>,
    /// Where the offenders come from (`file:line`), where that is known: the error records'
    /// locations.
    #[serde(default)]
    pub locations: Vec<String>,
}

/// What the Budgets panel records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetsStats {
    /// The route pattern the budget was looked up by.
    pub route: Option<String>,
    /// The budget that applied: the route's own, completed limit by limit by the fallback, or
    /// the fallback alone.
    pub budget: Option<Budget>,
    /// The limits the fallback filled in where the route's own budget left them unset.
    #[serde(default)]
    pub from_fallback: Vec<String>,
    /// The limits the request went over.
    pub broken: Vec<BrokenBudget>,
}

impl BudgetsStats {
    /// Whether the request kept to its budget (or had none).
    pub fn within(&self) -> bool {
        self.broken.is_empty()
    }
}

impl Panel for BudgetsPanel {
    type Stats = BudgetsStats;
    const ID: &'static str = "budgets";

    fn title(&self) -> Cow<'static, str> {
        "Budgets".into()
    }

    fn dependencies(&self) -> &'static [&'static str] {
        &["timer", "sql", "logging"]
    }

    fn nav_subtitle(&self, stats: &BudgetsStats) -> Option<String> {
        Some(match (&stats.budget, stats.broken.len()) {
            (None, _) => "no budget for this route".to_owned(),
            (Some(_), 0) => "within budget".to_owned(),
            (Some(_), 1) => "1 budget broken".to_owned(),
            (Some(_), n) => format!("{n} budgets broken"),
        })
    }

    /// Each limit the request went over, with what went over it.
    fn problems(&self, stats: &BudgetsStats) -> Vec<Problem> {
        let route = stats.route.as_deref().unwrap_or("this route");
        stats
            .broken
            .iter()
            .map(|broken| {
                let mut message = format!(
                    "budget of {route} broken: {} ({})",
                    broken.limit, broken.detail
                );
                if !broken.offenders.is_empty() {
                    message.push_str(": ");
                    message.push_str(&broken.offenders.join("; "));
                }
                Problem::new(ProblemKind::BrokenBudget, message)
            })
            .collect()
    }

    fn badge(&self, stats: &BudgetsStats) -> Option<Badge> {
        stats
            .broken
            .first()
            .map(|broken| Badge::new(BadgeLevel::Error, format!("over {}", broken.limit)))
    }

    fn generate_stats(&self, cx: &StatsContext<'_>) -> BudgetsStats {
        let route = cx.request().route_pattern.clone();
        let Some((budget, from_fallback)) = self.budget_for(route.as_deref()) else {
            return BudgetsStats {
                route,
                budget: None,
                from_fallback: Vec::new(),
                broken: Vec::new(),
            };
        };
        let mut broken = Vec::new();
        if let Some(max) = budget.max_duration_ms {
            let spent = cx.timing().wall.as_secs_f64() * 1000.0;
            if spent > max {
                broken.push(BrokenBudget {
                    limit: LIMIT_MAX_DURATION.to_owned(),
                    detail: format!("{spent:.1} ms, at most {max:.1} ms"),
                    offenders: Vec::new(),
                    locations: Vec::new(),
                });
            }
        }
        check_sql(cx, &budget, &mut broken);
        check_logs(cx, &budget, &mut broken);
        BudgetsStats {
            route,
            budget: Some(budget),
            from_fallback,
            broken,
        }
    }

    fn template(&self) -> Template {
        Template::new(
            "panels/budgets.html",
            include_str!("../templates/budgets.html"),
        )
    }
}

#[cfg(feature = "sql")]
fn check_sql(cx: &StatsContext<'_>, budget: &Budget, broken: &mut Vec<BrokenBudget>) {
    let Some(sql) = cx.stats::<crate::SqlPanel>() else {
        return;
    };
    if let Some(max) = budget.max_queries
        && sql.total_count > max
    {
        broken.push(BrokenBudget {
            limit: LIMIT_MAX_QUERIES.to_owned(),
            detail: format!("{} queries, at most {max}", sql.total_count),
            offenders: sql
                .queries
                .iter()
                .map(|q| format!("#{} {:.3} ms  {}", q.index, q.duration_ms, q.sql))
                .collect(),
            locations: Vec::new(),
        });
    }
    if budget.no_n_plus_one && !sql.n_plus_one.is_empty() {
        broken.push(BrokenBudget {
            limit: LIMIT_N_PLUS_ONE.to_owned(),
            detail: format!("{} repeated statement(s)", sql.n_plus_one.len()),
            offenders: sql
                .n_plus_one
                .iter()
                .map(|n| format!("{}× from {}: {}", n.count, n.origin, n.sql))
                .collect(),
            locations: Vec::new(),
        });
    }
}

#[cfg(not(feature = "sql"))]
fn check_sql(_: &StatsContext<'_>, _: &Budget, _: &mut Vec<BrokenBudget>) {}

#[cfg(feature = "logging")]
fn check_logs(cx: &StatsContext<'_>, budget: &Budget, broken: &mut Vec<BrokenBudget>) {
    let Some(logs) = cx.stats::<crate::LoggingPanel>() else {
        return;
    };
    if budget.no_error_logs && logs.counts.error > 0 {
        let errors = || {
            logs.records
                .iter()
                .filter(|r| r.level == crate::LogLevel::Error)
        };
        broken.push(BrokenBudget {
            limit: LIMIT_ERROR_LOGS.to_owned(),
            detail: format!("{} error record(s)", logs.counts.error),
            offenders: errors()
                .map(|r| format!("{}: {}", r.target, r.message))
                .collect(),
            locations: errors()
                .filter_map(|r| r.location.clone())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
        });
    }
}

#[cfg(not(feature = "logging"))]
fn check_logs(_: &StatsContext<'_>, _: &Budget, _: &mut Vec<BrokenBudget>) {}

register_panel!(BudgetsPanel::new());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_s_budget_is_completed_limit_by_limit_by_the_fallback() {
        let panel = BudgetsPanel::new()
            .route("/users", Budget::new().max_queries(3))
            .route("/all", Budget::new().max_queries(9).no_error_logs())
            .fallback(
                Budget::new()
                    .max_queries(5)
                    .max_duration(Duration::from_millis(100))
                    .no_error_logs(),
            );
        let (budget, from_fallback) = panel.budget_for(Some("/users")).unwrap();
        assert_eq!(budget.max_queries, Some(3), "the route's own limit wins");
        assert_eq!(budget.max_duration_ms, Some(100.0));
        assert!(budget.no_error_logs && !budget.no_n_plus_one);
        assert_eq!(from_fallback, ["max duration", "error logs"]);

        let (_, from_fallback) = panel.budget_for(Some("/all")).unwrap();
        assert_eq!(from_fallback, ["max duration"]);

        let (budget, from_fallback) = panel.budget_for(Some("/other")).unwrap();
        assert_eq!(budget.max_queries, Some(5), "the fallback alone");
        assert!(from_fallback.is_empty());

        assert!(BudgetsPanel::new().budget_for(Some("/users")).is_none());
    }
}
