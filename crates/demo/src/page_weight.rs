//! A panel of the demo's own: proves that an application adds a panel with one line and reads
//! other panels' typed stats.

use std::borrow::Cow;

use actix_debug_toolbar::panels::{ResponsePanel, TimerPanel};
use actix_debug_toolbar::{Panel, StatsContext, Template, register_panel};
use serde::{Deserialize, Serialize};

/// How heavy the page was: its size, from the Response panel, and its time, from the Timer
/// panel, against the demo's own limits.
#[derive(Debug, Clone, Copy)]
pub struct PageWeightPanel;

/// What the page weight panel records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageWeightStats {
    /// Body size in KiB, when known.
    pub size_kib: Option<f64>,
    /// Wall time in milliseconds, when the Timer panel ran.
    pub time_ms: Option<f64>,
    /// Whether the page stayed under both limits.
    pub light: bool,
}

impl PageWeightPanel {
    /// The demo's size limit for a page.
    pub const MAX_KIB: f64 = 64.0;
    /// The demo's time limit for a page.
    pub const MAX_MS: f64 = 50.0;
}

impl Panel for PageWeightPanel {
    type Stats = PageWeightStats;
    const ID: &'static str = "page-weight";

    fn title(&self) -> Cow<'static, str> {
        "Page weight".into()
    }

    fn nav_subtitle(&self, stats: &PageWeightStats) -> Option<String> {
        Some(if stats.light { "light" } else { "heavy" }.to_owned())
    }

    fn dependencies(&self) -> &'static [&'static str] {
        &[TimerPanel::ID, ResponsePanel::ID]
    }

    fn generate_stats(&self, cx: &StatsContext<'_>) -> PageWeightStats {
        let size_kib = cx
            .stats::<ResponsePanel>()
            .and_then(|r| r.size_bytes)
            .map(|bytes| bytes as f64 / 1024.0);
        let time_ms = cx.stats::<TimerPanel>().map(|t| t.total_ms);
        PageWeightStats {
            light: size_kib.is_none_or(|kib| kib <= Self::MAX_KIB)
                && time_ms.is_none_or(|ms| ms <= Self::MAX_MS),
            size_kib,
            time_ms,
        }
    }

    fn template(&self) -> Template {
        Template::new(
            "panels/page-weight.html",
            include_str!("../templates/page_weight.html"),
        )
    }
}

register_panel!(PageWeightPanel);
