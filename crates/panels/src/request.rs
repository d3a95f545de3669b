use std::borrow::Cow;
use std::net::IpAddr;

use debug_toolbar_core::{
    HttpVersion, NameValue, Panel, RequestBody, StatsContext, Template, register_panel,
};
use serde::{Deserialize, Serialize};

/// What was asked: method, path, parameters, the matched route, cookies and client.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestPanel;

/// What the Request panel records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestStats {
    /// HTTP method.
    pub method: String,
    /// Path as received.
    pub path: String,
    /// Query string without the `?`.
    pub query_string: String,
    /// HTTP version, when known.
    pub http_version: Option<HttpVersion>,
    /// `http` or `https`.
    pub scheme: String,
    /// The host the request was sent to.
    pub host: String,
    /// The client's address as the toolbar decided it.
    pub client_addr: Option<IpAddr>,
    /// The TCP peer's address.
    pub peer_addr: Option<IpAddr>,
    /// The matched route pattern.
    pub route_pattern: Option<String>,
    /// The matched route's name.
    pub route_name: Option<String>,
    /// Query parameters, secrets masked.
    pub query_params: Vec<NameValue>,
    /// Path parameters, secrets masked.
    pub path_params: Vec<NameValue>,
    /// Cookies, values masked when their names look secret.
    pub cookies: Vec<NameValue>,
    /// The body as the application read it (its first 16 KiB, secrets masked).
    #[serde(default)]
    pub body: Option<RequestBody>,
}

impl Panel for RequestPanel {
    type Stats = RequestStats;
    const ID: &'static str = "request";

    fn title(&self) -> Cow<'static, str> {
        "Request".into()
    }

    fn nav_subtitle(&self, stats: &RequestStats) -> Option<String> {
        Some(
            stats
                .route_pattern
                .clone()
                .unwrap_or_else(|| format!("{} (no route)", stats.path)),
        )
    }

    fn generate_stats(&self, cx: &StatsContext<'_>) -> RequestStats {
        let request = cx.request();
        RequestStats {
            method: request.method.clone(),
            path: request.path.clone(),
            query_string: request.query_string.clone(),
            http_version: request.http_version,
            scheme: request.scheme.clone(),
            host: request.host.clone(),
            client_addr: request.client_addr,
            peer_addr: request.peer_addr,
            route_pattern: request.route_pattern.clone(),
            route_name: request.route_name.clone(),
            query_params: request.query_params.clone(),
            path_params: request.path_params.clone(),
            cookies: request.cookies.clone(),
            body: request.body.clone(),
        }
    }

    fn template(&self) -> Template {
        Template::new(
            "panels/request.html",
            include_str!("../templates/request.html"),
        )
    }
}

register_panel!(RequestPanel);
