//! Shared helpers: the global subscriber, test apps and assertions.

use std::sync::Once;

use actix_debug_toolbar::DebugToolbar;
use tracing_subscriber::prelude::*;

/// Installs, once per test binary, a subscriber that feeds the toolbar's layer.
pub(crate) fn init_tracing() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let toolbar = DebugToolbar::new(actix_debug_toolbar::ToolbarConfig::default());
        let _ = tracing_subscriber::registry()
            .with(toolbar.layer())
            .try_init();
    });
}
