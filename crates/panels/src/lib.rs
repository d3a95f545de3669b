//! The debug toolbar's built-in panels.
//!
//! Each panel is a module behind the cargo feature of the same name and registers itself, so
//! a toolbar built after this crate is linked shows every enabled panel:
//!
//! | feature | panel | shows |
//! |---|---|---|
//! | `timer` | [`TimerPanel`] | wall and CPU time, and the browser's navigation timing |
//! | `request` | [`RequestPanel`] | method, path, query and path parameters, route, cookies, client |
//! | `headers` | [`HeadersPanel`] | request and response headers |
//! | `response` | [`ResponsePanel`] | status, content type and size |
//! | `versions` | [`VersionsPanel`] | rustc, the framework, the toolbar, the application |
//! | `budgets` | [`BudgetsPanel`] | the request against its route's budget (queries, time, N+1, error logs); a red badge when broken |
//! | `history` | [`HistoryPanel`] | the stored requests, including the page's fetch/XHR calls; switches the toolbar to any |
//! | `sql` | [`SqlPanel`] | every sqlx query: time, rows, duplicates, N+1, EXPLAIN (`sql-sqlite`, `sql-postgres`, `sql-mysql`) |
//! | `logging` | [`LoggingPanel`] | every `tracing` event and `log` record, filterable by level and target |
//! | `templates` | [`TemplatesPanel`] | Tera renders through [`RecordingTera`] (and `RecordingTera1`, `templates-tera1`): time, context, parents |
//! | `profiling` | [`ProfilingPanel`] | the request's span tree as a flame graph and a table of the hottest spans |
//! | `profiling-cpu` | [`ProfilingPanel`] | CPU samples of a request that asks for them (a cookie the panel sets), as a second flame graph |
//!
//! Secret-looking values arrive masked from the core (see `debug_toolbar_core::redact`).

#[cfg(feature = "budgets")]
mod budgets;
#[cfg(feature = "headers")]
mod headers;
#[cfg(feature = "history")]
mod history;
#[cfg(feature = "logging")]
mod logging;
#[cfg(feature = "profiling")]
mod profiling;
#[cfg(feature = "request")]
mod request;
#[cfg(feature = "response")]
mod response;
#[cfg(feature = "sql")]
pub mod sql;
#[cfg(feature = "templates")]
mod templates;
#[cfg(feature = "timer")]
mod timer;
#[cfg(feature = "versions")]
mod versions;

#[cfg(feature = "budgets")]
pub use budgets::{BrokenBudget, Budget, BudgetsPanel, BudgetsStats};
/// The level of a log record (defined in the core, where every panel can read it).
pub use debug_toolbar_core::LogLevel;
#[cfg(feature = "headers")]
pub use headers::{HeadersPanel, HeadersStats};
#[cfg(feature = "history")]
pub use history::HistoryPanel;
#[cfg(feature = "logging")]
pub use logging::{LevelCounts, LogRecord, LoggingPanel, LoggingStats};
#[cfg(feature = "profiling")]
pub use profiling::{
    CpuFrame, CpuNode, CpuProfile, CpuStatus, ProfileNode, ProfilingPanel, ProfilingStats,
};
#[cfg(feature = "request")]
pub use request::{RequestPanel, RequestStats};
#[cfg(feature = "response")]
pub use response::{ResponsePanel, ResponseStats};
#[cfg(feature = "sql")]
pub use sql::{Backend, SqlPanel, SqlStats, TransactionOutcome};
#[cfg(feature = "templates-tera1")]
pub use templates::RecordingTera1;
#[cfg(feature = "templates")]
pub use templates::{
    ContextVariable, RecordingTera, TemplateRender, TemplatesPanel, TemplatesStats,
};
#[cfg(feature = "timer")]
pub use timer::{TimerPanel, TimerStats};
#[cfg(feature = "versions")]
pub use versions::{VersionsPanel, VersionsStats};

/// Target of the `tracing` event sqlx emits for every statement: the SQL panel lists these
/// events, the Logging panel leaves them to it.
pub const SQLX_QUERY_TARGET: &str = "sqlx::query";

/// Milliseconds in `d`, as a float.
#[cfg(feature = "timer")]
fn millis(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
