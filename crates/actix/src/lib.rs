//! A debug toolbar for actix-web.
//!
//! Wrap an `App` with [`DebugToolbar`] and add its `tracing` layer; every HTML page an allowed
//! client opens then shows a toolbar with what the server did for that request. Panels are
//! switched on with this crate's cargo features (see the README's feature table).
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use actix_debug_toolbar::{DebugToolbar, ToolbarConfig};
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let toolbar = DebugToolbar::new(ToolbarConfig::from_env());
//!     toolbar.init_tracing()?;
//!     HttpServer::new(move || {
//!         App::new()
//!             .wrap(toolbar.clone())
//!             .route("/", web::get().to(|| async {
//!                 actix_web::HttpResponse::Ok()
//!                     .content_type("text/html")
//!                     .body("<html><body>Hello</body></html>")
//!             }))
//!     })
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await?;
//!     Ok(())
//! }
//! ```
//!
//! Register the toolbar *inside* actix-web's `Compress` (`.wrap(toolbar).wrap(Compress::default())`:
//! the last `wrap` is the outermost), so that it sees bodies before they are compressed. The
//! other order works too (feature `compressed-html`): the page is decoded, injected and encoded
//! again, as are pages the application sends compressed.

mod access;
mod analysis;
mod api;
mod body;
mod config;
mod curl;
mod dashboard;
mod encoding;
mod feed;
mod future;
mod hand_over;
mod info;
mod inject;
#[cfg(feature = "mcp")]
mod mcp;
#[cfg(feature = "otel")]
pub mod otel;
mod panic;
#[cfg(feature = "otel")]
mod receiver;
mod request_body;
mod respond;
mod routes;
mod service;
#[cfg(feature = "testing")]
pub mod testing;
mod toolbar;

pub use config::{ConfigError, ForwardedHeader, ShowToolbar, ToolbarConfig, ToolbarConfigBuilder};
pub use hand_over::hand_over;
pub use respond::{TOOLBAR_ID_HEADER, TOOLBAR_STATUS_HEADER};
pub use service::{ToolbarMiddleware, request_state};
pub use toolbar::DebugToolbar;

#[doc(hidden)]
pub use future::ToolbarFuture;

// A panel author's API: the trait, what a panel reads and what it returns.
pub use debug_toolbar_core::{
    ActionError, ActionFuture, ActionResponse, Badge, BadgeLevel, CpuTime, Editor, HeaderLookup,
    NameValue, Panel, Problem, ProblemKind, RequestHead, RequestInfo, RequestState, ResponseInfo,
    ServerTiming, StatsContext, Template, Timing, register_panel,
};
// Records, stores and the tracing layer.
/// The framework-free core: the panel system, recording, stores, the renderer.
pub use debug_toolbar_core as core;
#[cfg(feature = "store-postgres")]
pub use debug_toolbar_core::PostgresStore;
#[cfg(feature = "store-redis")]
pub use debug_toolbar_core::RedisStore;
pub use debug_toolbar_core::{
    InMemoryStore, PanelRecord, RecordId, RecordingLimits, RequestKind, RequestRecord, SpanLimits,
    Store, StoreError, StoreHealth, StoreLimits, ToolbarGate, ToolbarLayer,
};
/// The built-in panels enabled by this crate's features.
pub use debug_toolbar_panels as panels;

/// What the toolbar recorded while a request ran, as panels read it through
/// [`StatsContext::recording`]: `tracing` events and spans with their fields.
pub mod recording {
    pub use debug_toolbar_core::{FieldValue, RecordedEvent, RecordedSpan, Recording};
}

/// Cargo features of this crate that are switched on.
pub(crate) const FEATURES: &[&str] = &[
    #[cfg(feature = "timer")]
    "timer",
    #[cfg(feature = "request")]
    "request",
    #[cfg(feature = "headers")]
    "headers",
    #[cfg(feature = "response")]
    "response",
    #[cfg(feature = "versions")]
    "versions",
    #[cfg(feature = "history")]
    "history",
    #[cfg(feature = "budgets")]
    "budgets",
    #[cfg(feature = "testing")]
    "testing",
    #[cfg(feature = "store-postgres")]
    "store-postgres",
    #[cfg(feature = "store-redis")]
    "store-redis",
    #[cfg(feature = "sql")]
    "sql",
    #[cfg(feature = "sql-sqlite")]
    "sql-sqlite",
    #[cfg(feature = "sql-postgres")]
    "sql-postgres",
    #[cfg(feature = "sql-mysql")]
    "sql-mysql",
    #[cfg(feature = "logging")]
    "logging",
    #[cfg(feature = "templates")]
    "templates",
    #[cfg(feature = "templates-tera1")]
    "templates-tera1",
    #[cfg(feature = "profiling")]
    "profiling",
    #[cfg(feature = "profiling-cpu")]
    "profiling-cpu",
    #[cfg(feature = "otel")]
    "otel",
    #[cfg(feature = "mcp")]
    "mcp",
];
