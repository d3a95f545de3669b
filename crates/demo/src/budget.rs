//! A panel of the demo's own: proves that an application can add a panel with one line and
//! read another panel's typed stats.

use std::borrow::Cow;

use actix_debug_toolbar::panels::{TimerPanel, TimerStats};
use actix_debug_toolbar::{Panel, StatsContext, Template, register_panel};
use serde::{Deserialize, Serialize};

/// Compares the request's time with the demo's budget.
#[derive(Debug, Clone, Copy)]
pub struct BudgetPanel;

/// What the budget panel records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetStats {
    /// The budget in milliseconds.
    pub budget_ms: f64,
    /// The request's wall time, from the Timer panel.
    pub spent_ms: Option<f64>,
    /// Whether the request stayed within the budget.
    pub within: bool,
}

impl BudgetPanel {
    /// The demo's time budget per request.
    pub const BUDGET_MS: f64 = 50.0;
}

impl Panel for BudgetPanel {
    type Stats = BudgetStats;
    const ID: &'static str = "budget";

    fn title(&self) -> Cow<'static, str> {
        "Budget".into()
    }

    fn nav_subtitle(&self, stats: &BudgetStats) -> Option<String> {
        Some(if stats.within {
            format!("within {} ms", stats.budget_ms)
        } else {
            format!("over {} ms", stats.budget_ms)
        })
    }

    fn dependencies(&self) -> &'static [&'static str] {
        &[TimerPanel::ID]
    }

    fn generate_stats(&self, cx: &StatsContext<'_>) -> BudgetStats {
        let spent_ms = cx.stats::<TimerPanel>().map(|t: &TimerStats| t.total_ms);
        BudgetStats {
            budget_ms: Self::BUDGET_MS,
            spent_ms,
            within: spent_ms.is_none_or(|ms| ms <= Self::BUDGET_MS),
        }
    }

    fn template(&self) -> Template {
        Template::new(
            "panels/budget.html",
            include_str!("../templates/budget.html"),
        )
    }
}

register_panel!(BudgetPanel);
