//! What a panel sees of a finished request.

use std::any::{Any, TypeId};
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::cpu::CpuTime;
use crate::panel::Panel;
use crate::recording::Recording;
use crate::state::RequestState;

/// A name and a value: a header, a cookie, a query or path parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameValue {
    /// The name.
    pub name: String,
    /// The value, already masked when the name looks secret.
    pub value: String,
}

impl NameValue {
    /// A pair whose value is masked when `name` looks secret, and whose tokens and URLs are
    /// masked otherwise (see [`crate::redact::mask_value`]).
    pub fn redacted(name: impl Into<String>, value: impl AsRef<str>) -> Self {
        let name = name.into();
        let value = crate::redact::mask_value(&name, value.as_ref()).into_owned();
        Self { name, value }
    }
}

/// The HTTP version of a request, written as on the wire (`HTTP/1.1`, `HTTP/2.0`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum HttpVersion {
    /// `HTTP/0.9`.
    #[serde(rename = "HTTP/0.9")]
    Http09,
    /// `HTTP/1.0`.
    #[serde(rename = "HTTP/1.0")]
    Http10,
    /// `HTTP/1.1`.
    #[serde(rename = "HTTP/1.1")]
    Http11,
    /// `HTTP/2.0`.
    #[serde(rename = "HTTP/2.0")]
    H2,
    /// `HTTP/3.0`.
    #[serde(rename = "HTTP/3.0")]
    H3,
}

impl HttpVersion {
    /// The version as written on a request line: `HTTP/1.1`, `HTTP/2.0`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http09 => "HTTP/0.9",
            Self::Http10 => "HTTP/1.0",
            Self::Http11 => "HTTP/1.1",
            Self::H2 => "HTTP/2.0",
            Self::H3 => "HTTP/3.0",
        }
    }

    /// The version number alone, as OpenTelemetry's `network.protocol.version` has it:
    /// `0.9`, `1.0`, `1.1`, `2`, `3`.
    pub fn number(self) -> &'static str {
        match self {
            Self::Http09 => "0.9",
            Self::Http10 => "1.0",
            Self::Http11 => "1.1",
            Self::H2 => "2",
            Self::H3 => "3",
        }
    }
}

impl std::fmt::Display for HttpVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The request as the web framework saw it, with secrets already masked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestInfo {
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// Path, percent-encoded as received.
    pub path: String,
    /// Query string without the `?`.
    pub query_string: String,
    /// Query parameters, decoded.
    pub query_params: Vec<NameValue>,
    /// Parameters captured by the matched route.
    pub path_params: Vec<NameValue>,
    /// The matched route pattern, e.g. `/users/{id}`.
    pub route_pattern: Option<String>,
    /// The matched route's name.
    pub route_name: Option<String>,
    /// Request headers.
    pub headers: Vec<NameValue>,
    /// Cookies.
    pub cookies: Vec<NameValue>,
    /// HTTP version; `None` when the framework did not say.
    pub http_version: Option<HttpVersion>,
    /// `http` or `https`.
    pub scheme: String,
    /// The `Host` the request was sent to.
    pub host: String,
    /// The client's address as the toolbar decided it (forwarded headers of trusted proxies).
    pub client_addr: Option<IpAddr>,
    /// The address of the TCP peer.
    pub peer_addr: Option<IpAddr>,
    /// The body as the application read it (its first bytes, secrets masked); `None` when it
    /// read none.
    pub body: Option<RequestBody>,
}

/// The first bytes of a request body, as the application read them, with secrets masked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RequestBody {
    /// The recorded bytes as text, masked (JSON by key, forms by name, any text for tokens and
    /// URLs); `None` for a body that is not text.
    pub text: Option<String>,
    /// Bytes the application read.
    pub size: u64,
    /// Whether it read more than was recorded.
    pub truncated: bool,
}

impl RequestBody {
    /// A body of `size` bytes read, recorded as `text` (already masked).
    pub fn new(text: Option<String>, size: u64, truncated: bool) -> Self {
        Self {
            text,
            size,
            truncated,
        }
    }
}

impl RequestInfo {
    /// An empty request description; fill the public fields.
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            method: method.into(),
            path: path.into(),
            ..Self::default()
        }
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }
}

/// The response the application produced, before the toolbar touched it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseInfo {
    /// Status code.
    pub status: u16,
    /// Canonical reason phrase, e.g. `OK`.
    pub reason: String,
    /// Response headers, secrets masked.
    pub headers: Vec<NameValue>,
    /// Body size in bytes when known before streaming.
    pub body_size: Option<u64>,
    /// The handler's panic, when the toolbar answered for a handler that panicked.
    pub panic: Option<crate::PanicReport>,
}

impl ResponseInfo {
    /// A response description with the given status; fill the public fields.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            ..Self::default()
        }
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }
}

fn find<'a>(pairs: &'a [NameValue], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// When the request started and how long it took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// Wall-clock time at which the toolbar started handling the request.
    pub started_at: SystemTime,
    /// Wall time until the response head was ready.
    pub wall: Duration,
    /// CPU time spent polling the request's handler, when the platform reports it.
    pub cpu: Option<CpuTime>,
}

/// The application the toolbar runs in, as shown by the Versions panel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppInfo {
    /// Application name and version, e.g. from `env!("CARGO_PKG_NAME")`.
    pub app: Option<(String, String)>,
    /// The web framework and its version, e.g. `("actix-web", "4.18.1")`.
    pub framework: Option<(String, String)>,
    /// Cargo features of the toolbar that are switched on.
    pub features: Vec<String>,
}

/// Stats of one panel that already ran, kept for the panels after it.
pub(crate) struct EarlierStats {
    /// The panel's place in the toolbar's list.
    pub(crate) panel: usize,
    pub(crate) panel_type: TypeId,
    pub(crate) stats: std::sync::Arc<dyn Any + Send + Sync>,
}

/// Everything a panel may read while it generates its stats.
#[derive(Debug)]
pub struct StatsContext<'a> {
    pub(crate) request: &'a RequestInfo,
    pub(crate) response: &'a ResponseInfo,
    pub(crate) timing: &'a Timing,
    pub(crate) recording: &'a Recording,
    pub(crate) app: &'a AppInfo,
    pub(crate) panel_ids: &'a [&'static str],
    pub(crate) earlier: &'a [EarlierStats],
    pub(crate) state: &'a RequestState,
}

impl std::fmt::Debug for EarlierStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EarlierStats").finish_non_exhaustive()
    }
}

impl<'a> StatsContext<'a> {
    /// The request.
    pub fn request(&self) -> &'a RequestInfo {
        self.request
    }

    /// The response as the application produced it.
    pub fn response(&self) -> &'a ResponseInfo {
        self.response
    }

    /// Start time, wall and CPU time.
    pub fn timing(&self) -> &'a Timing {
        self.timing
    }

    /// The spans and events recorded inside the request.
    pub fn recording(&self) -> &'a Recording {
        self.recording
    }

    /// The application and framework around the toolbar.
    pub fn app(&self) -> &'a AppInfo {
        self.app
    }

    /// Ids of every panel that runs for this request, in order.
    pub fn panel_ids(&self) -> &'a [&'static str] {
        self.panel_ids
    }

    /// The value of type `T` a panel kept in [`Panel::on_request`].
    pub fn state<T: 'static>(&self) -> Option<&'a T> {
        self.state.get::<T>()
    }

    /// The value of type `T` the application's handler handed over for this request
    /// (`actix_debug_toolbar::hand_over(&req, value)`), if it did.
    pub fn handed<T: Send + Sync + 'static>(&self) -> Option<std::sync::Arc<T>> {
        self.state.handed::<T>()
    }

    /// The stats of panel `P`, if it is enabled and ran before this one.
    ///
    /// A panel that reads another's stats lists it in [`Panel::dependencies`], which makes it
    /// run first.
    pub fn stats<P: Panel>(&self) -> Option<&'a P::Stats> {
        let wanted = TypeId::of::<P>();
        self.earlier
            .iter()
            .find(|e| e.panel_type == wanted)
            .and_then(|e| e.stats.downcast_ref::<P::Stats>())
    }
}
