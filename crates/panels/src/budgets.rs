use std::borrow::Cow;
use std::time::Duration;

use debug_toolbar_core::{Badge, BadgeLevel, Panel, StatsContext, Template, register_panel};
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

    fn budget_for(&self, route: Option<&str>) -> Option<&Budget> {
        route
            .and_then(|route| {
                self.routes
                    .iter()
                    .find(|(pattern, _)| pattern == route)
                    .map(|(_, budget)| budget)
            })
            .or(self.fallback.as_ref())
    }
}

/// A budget a request went over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenBudget {
    /// Which limit, e.g. `max queries`.
    pub limit: String,
    /// The limit and what the request did, e.g. `7 queries, at most 5`.
    pub detail: String,
    /// What went over: the queries, the repeated statements, the error messages.
    pub offenders: Vec<String>,
}

/// What the Budgets panel records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetsStats {
    /// The route pattern the budget was looked up by.
    pub route: Option<String>,
    /// The budget that applied.
    pub budget: Option<Budget>,
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

    fn badge(&self, stats: &BudgetsStats) -> Option<Badge> {
        stats
            .broken
            .first()
            .map(|broken| Badge::new(BadgeLevel::Error, format!("over {}", broken.limit)))
    }

    fn generate_stats(&self, cx: &StatsContext<'_>) -> BudgetsStats {
        let route = cx.request().route_pattern.clone();
        let Some(budget) = self.budget_for(route.as_deref()).cloned() else {
            return BudgetsStats {
                route,
                budget: None,
                broken: Vec::new(),
            };
        };
        let mut broken = Vec::new();
        if let Some(max) = budget.max_duration_ms {
            let spent = cx.timing().wall.as_secs_f64() * 1000.0;
            if spent > max {
                broken.push(BrokenBudget {
                    limit: "max duration".to_owned(),
                    detail: format!("{spent:.1} ms, at most {max:.1} ms"),
                    offenders: Vec::new(),
                });
            }
        }
        check_sql(cx, &budget, &mut broken);
        check_logs(cx, &budget, &mut broken);
        BudgetsStats {
            route,
            budget: Some(budget),
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
            limit: "max queries".to_owned(),
            detail: format!("{} queries, at most {max}", sql.total_count),
            offenders: sql
                .queries
                .iter()
                .map(|q| format!("#{} {:.3} ms  {}", q.index, q.duration_ms, q.sql))
                .collect(),
        });
    }
    if budget.no_n_plus_one && !sql.n_plus_one.is_empty() {
        broken.push(BrokenBudget {
            limit: "N+1".to_owned(),
            detail: format!("{} repeated statement(s)", sql.n_plus_one.len()),
            offenders: sql
                .n_plus_one
                .iter()
                .map(|n| format!("{}× from {}: {}", n.count, n.span_path.join(" › "), n.sql))
                .collect(),
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
        broken.push(BrokenBudget {
            limit: "error logs".to_owned(),
            detail: format!("{} error record(s)", logs.counts.error),
            offenders: logs
                .records
                .iter()
                .filter(|r| r.level == crate::LogLevel::Error)
                .map(|r| format!("{}: {}", r.target, r.message))
                .collect(),
        });
    }
}

#[cfg(not(feature = "logging"))]
fn check_logs(_: &StatsContext<'_>, _: &Budget, _: &mut Vec<BrokenBudget>) {}

register_panel!(BudgetsPanel::new());
