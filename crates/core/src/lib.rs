//! Framework-free core of the debug toolbar.
//!
//! Applications use it through `actix_debug_toolbar`, which re-exports everything a panel
//! author needs at its root (`actix_debug_toolbar::{Panel, StatsContext, Template, …}`). This
//! crate's root holds that API too: the [`Panel`] trait and what it reads and returns. The
//! plumbing a web framework integration drives is in [`integration`].
//!
//! A request the toolbar serves is recorded in three steps:
//!
//! 1. The web framework integration opens a request span with
//!    [`integration::RequestRecorder::open_request_span`]. [`ToolbarLayer`], installed in the application's
//!    `tracing` subscriber, routes every span and event that happens inside that span to the
//!    request's [`integration::RequestRecorder`].
//! 2. When the response is ready, [`integration::Toolbar::record`] runs every enabled [`Panel`] in
//!    dependency order. Each panel turns the [`StatsContext`] (request, response, timings,
//!    recorded events and the typed stats of the panels before it) into its own `Stats` type.
//! 3. The resulting [`RequestRecord`] goes into a [`Store`]; the [`integration::Renderer`] draws the
//!    toolbar shell and, on demand, each panel's body.
//!
//! Panels are plain types registered with [`register_panel!`] or passed to
//! [`integration::ToolbarBuilder::panel`]:
//!
//! ```
//! use std::borrow::Cow;
//! use debug_toolbar_core::{Panel, StatsContext, Template};
//!
//! /// Shows how many log events the request emitted.
//! #[derive(Debug)]
//! struct EventCountPanel;
//!
//! impl Panel for EventCountPanel {
//!     type Stats = usize;
//!     const ID: &'static str = "event-count";
//!
//!     fn title(&self) -> Cow<'static, str> {
//!         "Events".into()
//!     }
//!     fn nav_subtitle(&self, stats: &usize) -> Option<String> {
//!         Some(format!("{stats} events"))
//!     }
//!     fn generate_stats(&self, cx: &StatsContext<'_>) -> usize {
//!         cx.recording().events.len()
//!     }
//!     fn template(&self) -> Template {
//!         Template::new("panels/event-count.html", "<p>{{ stats }} events</p>")
//!     }
//! }
//!
//! debug_toolbar_core::register_panel!(EventCountPanel);
//! ```

mod config_error;
mod context;
mod cpu;
mod editor;
mod error;
mod layer;
mod level;
mod own_cost;
mod panel;
mod panic_report;
mod problem;
mod record;
mod recording;
pub mod redact;
mod render;
mod state;
mod stats_json;
mod store;
mod toolbar;

pub use config_error::ConfigError;
pub use context::{
    AppInfo, HttpVersion, NameValue, RequestBody, RequestInfo, ResponseInfo, StatsContext, Timing,
};
pub use cpu::CpuTime;
pub use editor::Editor;
pub use error::BuildError;
pub use layer::{RequestFilter, ToolbarGate, ToolbarLayer};
pub use level::LogLevel;
pub use own_cost::{Spent, ToolbarCost};
pub use panel::{
    ActionError, ActionFuture, ActionResponse, Badge, BadgeLevel, Panel, ServerTiming, Template,
};
pub use panic_report::{PanicReport, StackFrame};
pub use problem::{Problem, ProblemKind};
pub use record::{
    InvalidRecordId, PanelRecord, RECORD_FORMAT_VERSION, RecordId, RecordSummary, RequestKind,
    RequestRecord,
};
pub use recording::{FieldValue, RecordedEvent, RecordedSpan, Recording, RecordingLimits};
pub use state::{HeaderLookup, RequestHead, RequestState};
pub use stats_json::StatsJson;
#[cfg(feature = "postgres")]
pub use store::PostgresStore;
#[cfg(feature = "redis")]
pub use store::RedisStore;
pub use store::{
    GuardedStore, InMemoryStore, InvalidTraceKey, Page, SpanBuffer, SpanLimits, SpansSaved, Store,
    StoreError, StoreFuture, StoreHealth, StoreLimits, TraceKey, TraceSpans,
};
pub use toolbar::FinishedRequest;

/// What a web framework integration uses to drive the toolbar: building it, opening the request
/// span, running the panels over a finished request, rendering the shell, logging failures once.
///
/// Panel authors do not need anything here; the crate root has their API.
pub mod integration {
    pub mod env_config;
    pub use crate::own_cost::Stopwatch;
    pub use crate::panel::{DynPanel, GeneratedStats, PanelFactory, shared_panel};
    pub use crate::recording::{REQUEST_SPAN_NAME, REQUEST_SPAN_TARGET, RequestRecorder};
    pub use crate::render::{DashboardContext, RenderError, Renderer, ShellContext};
    pub use crate::toolbar::{
        LogOnce, PANELS_COOKIE, PanelPanicked, RecordOutcome, Toolbar, ToolbarBuilder,
        ToolbarSettings,
    };
}

/// Implementation details used by this crate's macros. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::panel::{PanelFactory, boxed};
    pub use inventory;
}
