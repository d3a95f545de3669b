use std::borrow::Cow;

use debug_toolbar_core::{NameValue, Panel, StatsContext, Template, register_panel};
use serde::{Deserialize, Serialize};

/// Request and response headers, credentials masked.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeadersPanel;

/// What the Headers panel records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadersStats {
    /// Request headers.
    pub request: Vec<NameValue>,
    /// Response headers as the application set them.
    pub response: Vec<NameValue>,
}

impl Panel for HeadersPanel {
    type Stats = HeadersStats;
    const ID: &'static str = "headers";

    fn title(&self) -> Cow<'static, str> {
        "Headers".into()
    }

    fn nav_subtitle(&self, stats: &HeadersStats) -> Option<String> {
        Some(format!(
            "{} in, {} out",
            stats.request.len(),
            stats.response.len()
        ))
    }

    fn generate_stats(&self, cx: &StatsContext<'_>) -> HeadersStats {
        HeadersStats {
            request: cx.request().headers.clone(),
            response: cx.response().headers.clone(),
        }
    }

    fn template(&self) -> Template {
        Template::new(
            "panels/headers.html",
            include_str!("../templates/headers.html"),
        )
    }
}

register_panel!(HeadersPanel);
