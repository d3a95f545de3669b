//! The `DebugToolbar` type: the toolbar built from its configuration, and the tracing set-up
//! that feeds it.

use std::sync::Arc;

use debug_toolbar_core::integration::{Toolbar, ToolbarSettings};
use debug_toolbar_core::{AppInfo, BuildError};
use debug_toolbar_core::{
    InMemoryStore, RequestFilter, Store, StoreHealth, ToolbarGate, ToolbarLayer,
};
use tracing_subscriber::filter::Filtered;
use tracing_subscriber::registry::LookupSpan;

use crate::access::Access;
use crate::config::ToolbarConfig;
use crate::feed::Feed;

/// The in-memory store of toolbars built without a store of their own: one per capacity,
/// shared by every toolbar of the process that asks for that capacity, so that workers which
/// each build their own toolbar still see each other's records.
fn default_store(capacity: usize) -> Arc<dyn Store> {
    static STORES: std::sync::Mutex<Vec<(usize, Arc<InMemoryStore>)>> =
        std::sync::Mutex::new(Vec::new());
    let mut stores = STORES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, store)) = stores.iter().find(|(c, _)| *c == capacity) {
        return store.clone();
    }
    let store = Arc::new(InMemoryStore::new(capacity));
    stores.push((capacity, store.clone()));
    store
}

/// The debug toolbar middleware.
///
/// Wrap an `App` with it; every HTML page an allowed client opens then shows the toolbar:
///
/// ```no_run
/// use actix_web::{App, HttpServer};
/// use actix_debug_toolbar::{DebugToolbar, ToolbarConfig};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let toolbar = DebugToolbar::new(ToolbarConfig::from_env());
/// toolbar.init_tracing()?;
/// HttpServer::new(move || App::new().wrap(toolbar.clone()))
///     .bind(("127.0.0.1", 8080))?
///     .run()
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct DebugToolbar {
    pub(crate) shared: Arc<Shared>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: ToolbarConfig,
    /// `None` when the toolbar is switched off or could not be built.
    pub(crate) toolbar: Option<Toolbar>,
    /// Why the toolbar could not be built, said again on the first request: `new` usually runs
    /// before the application installs its subscriber.
    pub(crate) build_error: Option<(BuildError, std::sync::Once)>,
    /// The access settings of `config`, ready for the checks every request makes.
    pub(crate) access: Access,
    /// Wakes the `api/requests/stream` clients when a record is saved.
    pub(crate) feed: Feed,
}

impl Shared {
    pub(crate) fn new(
        config: ToolbarConfig,
        toolbar: Option<Toolbar>,
        build_error: Option<(BuildError, std::sync::Once)>,
    ) -> Self {
        Self {
            access: Access::new(&config),
            feed: Feed::new(),
            config,
            toolbar,
            build_error,
        }
    }
}

impl DebugToolbar {
    /// A toolbar with the given configuration and every panel enabled by cargo features.
    ///
    /// If the panels cannot be put together (see [`DebugToolbar::try_new`]) the error is logged
    /// and the toolbar stays off; the application runs as if it were not there.
    pub fn new(config: ToolbarConfig) -> Self {
        match Self::try_new(config.clone()) {
            Ok(toolbar) => toolbar,
            Err(e) => {
                tracing::error!(target: "debug_toolbar", "debug toolbar switched off: {e}");
                Self {
                    shared: Arc::new(Shared::new(config, None, Some((e, std::sync::Once::new())))),
                }
            }
        }
    }

    /// A toolbar with the given configuration; fails when two panels share an id, a panel's
    /// dependencies form a cycle or a template does not parse.
    pub fn try_new(config: ToolbarConfig) -> Result<Self, BuildError> {
        let toolbar = if config.enabled {
            let store = config
                .store
                .clone()
                .unwrap_or_else(|| default_store(config.store_capacity));
            let mut settings = ToolbarSettings::default();
            settings.recording_limits = config.recording_limits;
            settings.store_limits = config.store_limits;
            settings.disabled_panels = config.disabled_panels.clone();
            settings.panel_order = config.panel_order.clone();
            settings.editor = config.editor.clone();
            settings.app = app_info(&config);
            let builder = config
                .panels
                .iter()
                .fold(Toolbar::builder(), |builder, make| {
                    builder.boxed_panel(make())
                });
            Some(builder.store(store).settings(settings).build()?)
        } else {
            None
        };
        Ok(Self {
            shared: Arc::new(Shared::new(config, toolbar, None)),
        })
    }

    /// The `tracing` layer that records what happens inside the requests this toolbar serves;
    /// add it to the application's subscriber.
    pub fn layer<S>(&self) -> Filtered<ToolbarLayer, RequestFilter, S>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        ToolbarLayer::filtered(self.shared.config.tracing_level)
    }

    /// A filter for the whole subscriber, added after every other layer: builds a span or event
    /// only when `others` (the filter of the application's own layers) or this toolbar wants
    /// it, so that the toolbar's layer costs nothing outside the requests it serves. See
    /// [`ToolbarGate`].
    pub fn gate<F>(&self, others: F) -> ToolbarGate<F> {
        ToolbarGate::new(others, self.shared.config.tracing_level)
    }

    /// Installs a global subscriber that prints `INFO` and above (or what `RUST_LOG` says, in
    /// `target=level` form) to stderr and feeds this toolbar's layer, behind its
    /// [gate](Self::gate). Also captures `log` records.
    pub fn init_tracing(&self) -> Result<(), tracing_subscriber::util::TryInitError> {
        use tracing_subscriber::prelude::*;
        let console = std::env::var("RUST_LOG")
            .ok()
            .and_then(|v| v.parse::<tracing_subscriber::filter::Targets>().ok())
            .unwrap_or_else(|| {
                tracing_subscriber::filter::Targets::new()
                    .with_default(tracing_subscriber::filter::LevelFilter::INFO)
            });
        // Off means off: no layer, and no raised level for the rest of the application.
        let enabled = self.is_enabled();
        tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_filter(console.clone()))
            .with(enabled.then(|| self.layer()))
            .with(enabled.then(|| self.gate(console)))
            .try_init()
    }

    /// Whether the toolbar is on.
    pub fn is_enabled(&self) -> bool {
        self.shared.toolbar.is_some()
    }

    /// The configuration.
    pub fn config(&self) -> &ToolbarConfig {
        &self.shared.config
    }

    /// The store records go to, when the toolbar is on.
    pub fn store(&self) -> Option<&Arc<dyn Store>> {
        self.shared.toolbar.as_ref().map(Toolbar::store)
    }

    /// Records saved, dropped and failed so far, and the store's last failure, when the
    /// toolbar is on.
    pub fn store_health(&self) -> Option<StoreHealth> {
        self.shared.toolbar.as_ref().map(Toolbar::store_health)
    }
}

fn app_info(config: &ToolbarConfig) -> AppInfo {
    let mut app = AppInfo::default();
    app.app = config.app.clone();
    app.framework = Some((
        "actix-web".to_owned(),
        env!("DEBUG_TOOLBAR_ACTIX_WEB_VERSION").to_owned(),
    ));
    app.features = crate::FEATURES.iter().map(|f| (*f).to_owned()).collect();
    app
}

#[cfg(test)]
mod tests {

    use super::*;
    use debug_toolbar_core::RecordingLimits;
    use debug_toolbar_core::integration::RequestRecorder;

    #[test]
    fn toolbars_without_a_store_share_one_per_capacity() {
        let (a, b, c) = (default_store(3), default_store(3), default_store(7));
        assert!(Arc::ptr_eq(&a, &b), "workers share their records");
        assert!(
            !Arc::ptr_eq(&a, &c),
            "a toolbar keeps the capacity it asked for"
        );
    }

    // The only test of this binary that installs a global subscriber.
    #[test]
    fn init_tracing_feeds_the_toolbar_layer_once_per_process() {
        let toolbar = DebugToolbar::new(
            ToolbarConfig::builder()
                .enabled(true)
                .store(Arc::new(InMemoryStore::new(1)))
                .build(),
        );
        toolbar.init_tracing().expect("the first global subscriber");
        assert!(
            toolbar.init_tracing().is_err(),
            "a process has one global subscriber"
        );
        let recorder = RequestRecorder::new(RecordingLimits::default());
        let span = recorder.open_request_span("GET", "/");
        assert!(
            recorder.is_attached(),
            "the toolbar's layer took the request"
        );
        span.in_scope(|| tracing::debug!(target: "app", "inside"));
        tracing::debug!(target: "app", "outside");
        drop(span);
        let recording = recorder.finish();
        let messages: Vec<String> = recording
            .events
            .iter()
            .filter_map(|e| e.field("message").map(|m| m.to_text()))
            .collect();
        assert_eq!(messages, ["inside"], "DEBUG inside the request only");
    }
}
