use std::borrow::Cow;

use debug_toolbar_core::{Panel, StatsContext, Template, register_panel};

/// The stored requests, newest first: pages and the requests their scripts made; the toolbar
/// switches to any of them. The list is read from the store when the panel opens, so the panel
/// keeps nothing per request.
#[derive(Debug, Clone, Copy, Default)]
pub struct HistoryPanel;

impl Panel for HistoryPanel {
    type Stats = ();
    const ID: &'static str = "history";

    fn title(&self) -> Cow<'static, str> {
        "History".into()
    }

    fn generate_stats(&self, _: &StatsContext<'_>) {}

    fn template(&self) -> Template {
        Template::new(
            "panels/history.html",
            include_str!("../templates/history.html"),
        )
    }
}

register_panel!(HistoryPanel);
