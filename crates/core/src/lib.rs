//! Framework-free core of the debug toolbar.
//!
//! A request the toolbar serves is recorded in three steps:
//!
//! 1. The web framework integration opens a request span with
//!    [`RequestRecorder::open_request_span`]. [`ToolbarLayer`], installed in the application's
//!    `tracing` subscriber, routes every span and event that happens inside that span to the
//!    request's [`RequestRecorder`].
//! 2. When the response is ready, [`Toolbar::record`] runs every enabled [`Panel`] in
//!    dependency order. Each panel turns the [`StatsContext`] (request, response, timings,
//!    recorded events and the typed stats of the panels before it) into its own `Stats` type.
//! 3. The resulting [`RequestRecord`] goes into a [`Store`]; the [`Renderer`] draws the
//!    toolbar shell and, on demand, each panel's body.
//!
//! Panels are plain types registered with [`register_panel!`] or passed to
//! [`ToolbarBuilder::panel`]:
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
mod error;
mod layer;
mod panel;
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
    AppInfo, HttpVersion, NameValue, RequestInfo, ResponseInfo, StatsContext, Timing,
};
pub use cpu::CpuTime;
pub use error::BuildError;
pub use layer::{RequestFilter, ToolbarGate, ToolbarLayer};
pub use panel::{
    ActionError, ActionFuture, ActionResponse, Badge, BadgeLevel, DynPanel, GeneratedStats, Panel,
    PanelFactory, ServerTiming, Template,
};
pub use record::{
    InvalidRecordId, PanelRecord, RECORD_FORMAT_VERSION, RecordId, RecordSummary, RequestRecord,
};
pub use recording::{
    FieldValue, REQUEST_SPAN_NAME, REQUEST_SPAN_TARGET, RecordedEvent, RecordedSpan, Recording,
    RecordingLimits, RequestRecorder,
};
pub use render::{RenderError, Renderer, ShellContext};
pub use state::{HeaderLookup, RequestHead, RequestState};
pub use stats_json::StatsJson;
#[cfg(feature = "postgres")]
pub use store::PostgresStore;
#[cfg(feature = "redis")]
pub use store::RedisStore;
pub use store::{InMemoryStore, Page, Store, StoreError, StoreFuture};
pub use toolbar::{
    FinishedRequest, LogOnce, PANELS_COOKIE, PanelPanicked, RecordOutcome, Toolbar, ToolbarBuilder,
    ToolbarSettings,
};

/// Implementation details used by this crate's macros. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use inventory;
}
