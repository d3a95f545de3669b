use std::borrow::Cow;

use debug_toolbar_core::{Panel, StatsContext, Template, register_panel};
use serde::{Deserialize, Serialize};

/// What the application answered: status, content type and size.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResponsePanel;

/// What the Response panel records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseStats {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// Body size in bytes, when known before streaming.
    pub size_bytes: Option<u64>,
    /// Number of response headers.
    pub headers_count: usize,
}

impl Panel for ResponsePanel {
    type Stats = ResponseStats;
    const ID: &'static str = "response";

    fn title(&self) -> Cow<'static, str> {
        "Response".into()
    }

    fn nav_subtitle(&self, stats: &ResponseStats) -> Option<String> {
        Some(format!("{} {}", stats.status, stats.reason))
    }

    fn generate_stats(&self, cx: &StatsContext<'_>) -> ResponseStats {
        let response = cx.response();
        ResponseStats {
            status: response.status,
            reason: response.reason.clone(),
            content_type: response.header("content-type").map(str::to_owned),
            size_bytes: response.body_size,
            headers_count: response.headers.len(),
        }
    }

    fn template(&self) -> Template {
        Template::new(
            "panels/response.html",
            include_str!("../templates/response.html"),
        )
    }
}

register_panel!(ResponsePanel);
