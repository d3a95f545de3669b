use std::borrow::Cow;
use std::time::UNIX_EPOCH;

use debug_toolbar_core::{Panel, ServerTiming, StatsContext, Template, register_panel};
use serde::{Deserialize, Serialize};

use crate::millis;

/// Wall and CPU time of the request; the page adds the browser's navigation timing.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimerPanel;

/// What the Timer panel records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimerStats {
    /// Wall time until the response head was ready, in milliseconds.
    pub total_ms: f64,
    /// CPU time in user mode spent handling the request, in milliseconds.
    pub cpu_user_ms: Option<f64>,
    /// CPU time in the kernel, in milliseconds.
    pub cpu_system_ms: Option<f64>,
    /// User plus system CPU time, in milliseconds.
    pub cpu_total_ms: Option<f64>,
    /// When the request started, in milliseconds since the Unix epoch.
    pub started_at_unix_ms: u64,
}

impl Panel for TimerPanel {
    type Stats = TimerStats;
    const ID: &'static str = "timer";

    fn title(&self) -> Cow<'static, str> {
        "Time".into()
    }

    fn nav_subtitle(&self, stats: &TimerStats) -> Option<String> {
        Some(match stats.cpu_total_ms {
            Some(cpu) => format!("CPU: {cpu:.2} ms (total: {:.2} ms)", stats.total_ms),
            None => format!("Total: {:.2} ms", stats.total_ms),
        })
    }

    fn generate_stats(&self, cx: &StatsContext<'_>) -> TimerStats {
        let timing = cx.timing();
        TimerStats {
            total_ms: millis(timing.wall),
            cpu_user_ms: timing.cpu.map(|c| millis(c.user)),
            cpu_system_ms: timing.cpu.map(|c| millis(c.system)),
            cpu_total_ms: timing.cpu.map(|c| millis(c.total())),
            started_at_unix_ms: timing
                .started_at
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        }
    }

    fn template(&self) -> Template {
        Template::new("panels/timer.html", include_str!("../templates/timer.html"))
    }

    fn server_timing(&self, stats: &TimerStats) -> Vec<ServerTiming> {
        let mut entries = vec![ServerTiming {
            name: "total",
            duration_ms: stats.total_ms,
            description: "Total".into(),
        }];
        if let Some(cpu) = stats.cpu_total_ms {
            entries.push(ServerTiming {
                name: "cpu",
                duration_ms: cpu,
                description: "CPU".into(),
            });
        }
        entries
    }
}

register_panel!(TimerPanel);
