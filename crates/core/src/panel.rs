//! The panel trait, its object-safe form and registration.

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::StatsContext;
use crate::problem::Problem;
use crate::record::RequestRecord;
use crate::state::{RequestHead, RequestState};
use crate::stats_json::StatsJson;
use crate::toolbar::FinishedRequest;

/// One section of the toolbar: what it records about a request, and how it shows it.
///
/// A panel is stateless; everything it learns about one request lives in its
/// [`Stats`](Panel::Stats), which is stored with the request, sent to the browser as JSON and
/// readable by the panels that run after it through [`StatsContext::stats`].
///
/// # Hooks
///
/// Required:
/// - [`ID`](Panel::ID): a stable id, `[a-z0-9_-]+`, not `static`, `panels`, `api` or `mcp`;
/// - [`title`](Panel::title): the name in the toolbar;
/// - [`generate_stats`](Panel::generate_stats): the finished request → `Stats`;
/// - [`template`](Panel::template): the panel's body.
///
/// Optional, each with a default:
/// - [`nav_subtitle`](Panel::nav_subtitle): a line under the title. By default, none;
/// - [`dependencies`](Panel::dependencies): the panels whose stats this one reads, which run
///   first. By default, none;
/// - [`on_request`](Panel::on_request): keep something in the request's [`RequestState`] as
///   it starts. By default, nothing;
/// - [`server_timing`](Panel::server_timing): `Server-Timing` entries. By default, none;
/// - [`response_headers`](Panel::response_headers): other response headers. By default, none;
/// - [`badge`](Panel::badge): a mark on the toolbar's handle. By default, none;
/// - [`problems`](Panel::problems): what is wrong with the request, for the across-request
///   analysis, the JSON API and the MCP server. By default, none;
/// - [`action`](Panel::action) and [`action_templates`](Panel::action_templates): buttons in
///   the panel that ask the server something about a stored request (e.g. EXPLAIN). By
///   default, none;
/// - [`on_record`](Panel::on_record): act on the complete record, e.g. export it. By default,
///   nothing.
///
/// Data flows one way: [`generate_stats`](Panel::generate_stats) computes the stats and has
/// no other effect; a later panel reads them, typed, through [`StatsContext::stats`] (what it
/// needs, such as where an entry happened in the [`Recording`](crate::Recording), the earlier
/// panel publishes as a field); what leaves the process once the record is complete (an
/// export) happens in [`on_record`](Panel::on_record).
///
/// Data reaches a panel from: the request and response ([`StatsContext::request`],
/// [`StatsContext::response`], [`StatsContext::timing`]), what the request logged and the spans
/// it entered ([`StatsContext::recording`]), earlier panels' stats ([`StatsContext::stats`]),
/// what its own `on_request` kept ([`StatsContext::state`]), and values the application's
/// handler handed over for this request ([`StatsContext::handed`], filled by
/// `actix_debug_toolbar::hand_over(&req, value)`).
///
/// # Templates
///
/// Templates are [Tera 2](https://keats.github.io/tera/) templates — also when the
/// `templates-tera1` feature records the application's own Tera 1 renders — with autoescaping
/// on (names must end in `.html`). A panel's template sees:
/// - `stats`: the panel's `Stats` as serialized to JSON;
/// - `panel`: `{ id, title }`;
/// - `record`: `{ id, method, path, status, duration_ms, layer_attached }`;
/// - `prefix`: the toolbar's URL prefix, e.g. `/__debug_toolbar/`.
///
/// An action's template sees `data` (the [`ActionResponse::data`]) and `prefix`.
///
/// # Failures
///
/// A panel that panics in any hook, whose stats cannot be serialized, or whose template
/// cannot be rendered is set aside for that request: a note takes its place, the failure is
/// logged once, and the rest of the toolbar is shown. The application's response is never
/// affected.
///
/// # Example
///
/// ```
/// use std::borrow::Cow;
/// use debug_toolbar_core::{Badge, BadgeLevel, Panel, StatsContext, Template};
/// use serde::{Deserialize, Serialize};
///
/// /// What the handler tells the panel (see `actix_debug_toolbar::hand_over`).
/// #[derive(Debug)]
/// struct CartSize(usize);
///
/// /// Warnings the request logged, and the cart the handler saw.
/// #[derive(Debug)]
/// struct CartPanel;
///
/// #[derive(Debug, Serialize, Deserialize)]
/// struct CartStats {
///     warnings: usize,
///     items: Option<usize>,
/// }
///
/// impl Panel for CartPanel {
///     type Stats = CartStats;
///     const ID: &'static str = "cart";
///
///     fn title(&self) -> Cow<'static, str> {
///         "Cart".into()
///     }
///     fn generate_stats(&self, cx: &StatsContext<'_>) -> CartStats {
///         let warnings = cx
///             .recording()
///             .events
///             .iter()
///             .filter(|e| *e.metadata.level() == tracing::Level::WARN)
///             .count();
///         CartStats { warnings, items: cx.handed::<CartSize>().map(|c| c.0) }
///     }
///     fn template(&self) -> Template {
///         Template::new(
///             "panels/cart.html",
///             "<p>{% if stats.items %}{{ stats.items }} items{% else %}no cart{% endif %}, \
///              {{ stats.warnings }} warnings on {{ record.path }}</p>",
///         )
///     }
///     fn nav_subtitle(&self, stats: &CartStats) -> Option<String> {
///         stats.items.map(|n| format!("{n} items"))
///     }
///     fn badge(&self, stats: &CartStats) -> Option<Badge> {
///         (stats.warnings > 0)
///             .then(|| Badge::new(BadgeLevel::Warning, format!("{} warnings", stats.warnings)))
///     }
/// }
///
/// debug_toolbar_core::register_panel!(CartPanel);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a panel",
    label = "`register_panel!` and `.panel(…)` take a value whose type implements `Panel`",
    note = "implement `actix_debug_toolbar::Panel` for `{Self}`: `type Stats`, `const ID`, `title`, `generate_stats` and `template`"
)]
pub trait Panel: Send + Sync + 'static {
    /// What this panel records about one request.
    type Stats: Serialize + DeserializeOwned + Send + Sync + 'static;

    /// Stable, url-safe identifier (`[a-z0-9_-]+`), used in routes and in a record's JSON.
    const ID: &'static str;

    /// The panel's name in the toolbar.
    fn title(&self) -> Cow<'static, str>;

    /// A short line under the title, e.g. "12 queries, 3.1 ms". Defaults to none.
    fn nav_subtitle(&self, stats: &Self::Stats) -> Option<String> {
        let _ = stats;
        None
    }

    /// Called as a served request starts, before the application handles it; what the panel
    /// needs later (e.g. a trace context) goes into `state`. Defaults to nothing.
    fn on_request(&self, head: &RequestHead<'_>, state: &mut RequestState) {
        let _ = (head, state);
    }

    /// Turns the finished request into this panel's stats. It only computes them: effects
    /// outside the stats belong in [`on_record`](Panel::on_record).
    fn generate_stats(&self, cx: &StatsContext<'_>) -> Self::Stats;

    /// Called once the request's record is complete (every panel has generated its stats and
    /// the [`RequestRecord`] is built, before it is stored; its stats are serialized and fitted
    /// to the size limit later, see [`RequestRecord::settle`]), with
    /// this panel's stats, the record and the finished request (its timing and
    /// [`RequestState`]). For what reads the finished result without changing it, e.g. sending
    /// it to a collector; it runs before the response goes out, so slow work belongs on
    /// another thread. Not called for a switched-off panel. Defaults to nothing.
    fn on_record(
        &self,
        stats: &Self::Stats,
        record: &RequestRecord,
        request: &FinishedRequest<'_>,
    ) {
        let _ = (stats, record, request);
    }

    /// The Tera 2 template that renders the panel's body (autoescaped); it receives `stats`,
    /// `panel`, `record` and `prefix` (see [Templates](Panel#templates)).
    fn template(&self) -> Template;

    /// Ids of the panels whose stats this panel reads; they run first. Name them by their
    /// constants, e.g. `&[TimerPanel::ID, SqlPanel::ID]`; a panel that is not compiled in is
    /// skipped, a cycle is a build error. Defaults to none.
    fn dependencies(&self) -> &'static [&'static str] {
        &[]
    }

    /// Entries this panel adds to the response's `Server-Timing` header. Defaults to none.
    fn server_timing(&self, stats: &Self::Stats) -> Vec<ServerTiming> {
        let _ = stats;
        Vec::new()
    }

    /// Headers this panel adds to the response, e.g. `traceresponse`. Names are lowercase
    /// header names; a pair that is not a valid header is skipped. Defaults to none.
    fn response_headers(&self, stats: &Self::Stats) -> Vec<(&'static str, String)> {
        let _ = stats;
        Vec::new()
    }

    /// A mark on the toolbar's handle that draws attention to this panel, e.g. "N+1" or
    /// "2 errors". Defaults to none.
    fn badge(&self, stats: &Self::Stats) -> Option<Badge> {
        let _ = stats;
        None
    }

    /// What these stats say is wrong with the request (an N+1, a slow query, an error log, a
    /// broken budget), each with what an agent or a developer needs to act on it: the
    /// statement, where it ran from, how often, how long. The toolbar fills in
    /// [`Problem::panel`]. Read from stored records, so it may run long after the request.
    /// Defaults to none.
    fn problems(&self, stats: &Self::Stats) -> Vec<Problem> {
        let _ = stats;
        Vec::new()
    }

    /// Runs one of the panel's actions (e.g. EXPLAIN of a query) for a stored request.
    ///
    /// `params` are the request's query parameters; an action reads ids from them and looks
    /// everything else up in `stats`, never taking code from the client. Returns `None` for an
    /// action the panel does not have. Defaults to none.
    fn action(
        &self,
        name: &str,
        stats: Self::Stats,
        params: &[(String, String)],
    ) -> Option<ActionFuture> {
        let _ = (name, stats, params);
        None
    }

    /// Templates the panel's actions render, besides [`Panel::template`]. Defaults to none.
    fn action_templates(&self) -> Vec<Template> {
        Vec::new()
    }
}

/// What a panel action resolves to: what to render, or why there is nothing.
pub type ActionFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<ActionResponse, ActionError>> + Send>,
>;

/// The answer of a panel action: one of its [`Panel::action_templates`] and the value it
/// renders (available to the template as `data`).
#[derive(Debug, Clone, PartialEq)]
pub struct ActionResponse {
    /// The template's name.
    pub template: &'static str,
    /// What the template shows.
    pub data: serde_json::Value,
}

/// A panel action could not give an answer. Each variant holds the whole sentence shown to
/// the user (e.g. "EXPLAIN refused: DELETE changes data; only reads are explained.").
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ActionError {
    /// The parameters do not name something in the record. Answered with `404`.
    NotFound(String),
    /// The action is not allowed for what was named (e.g. EXPLAIN of a write). Answered with
    /// `422`.
    Refused(String),
    /// The action ran and what it called answered with an error (e.g. the database rejected
    /// the statement). Answered with `422`.
    Failed(String),
    /// What the action needs cannot be reached now (e.g. the database is down). Answered with
    /// `503`.
    Unavailable(String),
    /// The action did not finish within its time limit. Answered with `504`.
    TimedOut(String),
}

impl ActionError {
    /// The HTTP status code the toolbar answers this error with.
    pub fn status(&self) -> u16 {
        match self {
            ActionError::NotFound(_) => 404,
            ActionError::Refused(_) | ActionError::Failed(_) => 422,
            ActionError::Unavailable(_) => 503,
            ActionError::TimedOut(_) => 504,
        }
    }
}

impl fmt::Display for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActionError::NotFound(m)
            | ActionError::Refused(m)
            | ActionError::Failed(m)
            | ActionError::Unavailable(m)
            | ActionError::TimedOut(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ActionError {}

/// How loudly a [`Badge`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum BadgeLevel {
    /// Worth knowing.
    Info,
    /// Probably a problem.
    Warning,
    /// Something failed.
    Error,
}

/// A mark on the toolbar's handle, set by a panel.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Badge {
    /// How loudly it speaks.
    pub level: BadgeLevel,
    /// The short text shown, e.g. "N+1".
    pub text: String,
}

impl Badge {
    /// A badge of the given level and text.
    pub fn new(level: BadgeLevel, text: impl Into<String>) -> Self {
        Self {
            level,
            text: text.into(),
        }
    }
}

/// A panel's template: its name and its Tera source, usually embedded with `include_str!`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    /// The template's name; it must end in `.html` so that output is escaped.
    pub name: &'static str,
    /// The Tera source.
    pub source: &'static str,
}

impl Template {
    /// A template with the given name and source.
    pub const fn new(name: &'static str, source: &'static str) -> Self {
        Self { name, source }
    }
}

/// One metric of a `Server-Timing` response header.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerTiming {
    /// Metric name, a token such as `total`.
    pub name: &'static str,
    /// Duration in milliseconds.
    pub duration_ms: f64,
    /// Human-readable description, or a value the browser's script reads (e.g. a
    /// `traceparent`); it must not contain `"` or `\\`.
    pub description: Cow<'static, str>,
}

impl ServerTiming {
    /// Formats the entry as it appears in the header: `name;dur=1.234;desc="Description"`.
    pub fn to_header_value(&self) -> String {
        let mut value = String::with_capacity(32 + self.name.len() + self.description.len());
        self.write_header_value(&mut value);
        value
    }

    /// Appends the entry as it appears in the header to `out`.
    pub fn write_header_value(&self, out: &mut String) {
        // Milliseconds to the microsecond, written from whole microseconds rather than by
        // formatting a float on every served request. A duration that is not a finite,
        // positive number is written as 0 (`as` saturates, so a huge one stays finite).
        let micros = if self.duration_ms.is_finite() && self.duration_ms > 0.0 {
            (self.duration_ms * 1000.0).round() as u64
        } else {
            0
        };
        let fraction = micros % 1000;
        out.push_str(self.name);
        out.push_str(";dur=");
        out.push_str(itoa::Buffer::new().format(micros / 1000));
        out.push('.');
        for digit in [fraction / 100, fraction / 10 % 10, fraction % 10] {
            out.push(char::from(b'0' + digit as u8));
        }
        out.push_str(";desc=\"");
        out.push_str(&self.description);
        out.push('"');
    }
}

/// The result of running one panel: its typed stats and what the toolbar shows of them.
pub struct GeneratedStats {
    pub(crate) typed: std::sync::Arc<dyn Any + Send + Sync>,
    pub(crate) json: StatsJson,
    pub(crate) subtitle: Option<String>,
    pub(crate) server_timing: Vec<ServerTiming>,
    pub(crate) response_headers: Vec<(&'static str, String)>,
    pub(crate) badge: Option<Badge>,
}

impl fmt::Debug for GeneratedStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedStats")
            .field("subtitle", &self.subtitle)
            .finish_non_exhaustive()
    }
}

/// A [`Panel`] with its `Stats` type erased, so that panels of different types share one list.
///
/// Implemented for every `Panel`; users never implement or call it.
#[doc(hidden)]
pub trait DynPanel: Send + Sync + 'static {
    /// [`Panel::ID`].
    fn id(&self) -> &'static str;
    /// The `TypeId` of the concrete panel type.
    fn panel_type(&self) -> TypeId;
    /// The concrete panel, to be downcast to its type.
    fn as_any(&self) -> &dyn Any;
    /// [`Panel::title`].
    fn title(&self) -> Cow<'static, str>;
    /// [`Panel::dependencies`].
    fn dependencies(&self) -> &'static [&'static str];
    /// [`Panel::template`].
    fn template(&self) -> Template;
    /// [`Panel::on_request`].
    fn on_request(&self, head: &RequestHead<'_>, state: &mut RequestState);
    /// Runs [`Panel::generate_stats`] and everything derived from the stats.
    fn generate(&self, cx: &StatsContext<'_>) -> GeneratedStats;
    /// [`Panel::on_record`], given the stats [`DynPanel::generate`] made.
    fn on_record(
        &self,
        stats: &(dyn Any + Send + Sync),
        record: &RequestRecord,
        request: &FinishedRequest<'_>,
    );
    /// [`Panel::action_templates`].
    fn action_templates(&self) -> Vec<Template>;
    /// Reads the stored stats back into their type and runs [`Panel::action`].
    fn run_action(
        &self,
        name: &str,
        stats: &StatsJson,
        params: &[(String, String)],
    ) -> Option<ActionFuture>;
    /// Reads the stored stats back into their type and runs [`Panel::problems`].
    fn problems(&self, stats: &StatsJson) -> Result<Vec<Problem>, serde_json::Error>;
}

impl<P: Panel> DynPanel for P {
    fn id(&self) -> &'static str {
        P::ID
    }
    fn panel_type(&self) -> TypeId {
        TypeId::of::<P>()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn title(&self) -> Cow<'static, str> {
        Panel::title(self)
    }
    fn dependencies(&self) -> &'static [&'static str] {
        Panel::dependencies(self)
    }
    fn template(&self) -> Template {
        Panel::template(self)
    }
    fn on_request(&self, head: &RequestHead<'_>, state: &mut RequestState) {
        Panel::on_request(self, head, state);
    }
    fn generate(&self, cx: &StatsContext<'_>) -> GeneratedStats {
        let stats = self.generate_stats(cx);
        let subtitle = self.nav_subtitle(&stats);
        let server_timing = self.server_timing(&stats);
        let response_headers = self.response_headers(&stats);
        let badge = self.badge(&stats);
        let (json, typed) = StatsJson::deferred(stats);
        GeneratedStats {
            typed,
            json,
            subtitle,
            server_timing,
            response_headers,
            badge,
        }
    }
    fn on_record(
        &self,
        stats: &(dyn Any + Send + Sync),
        record: &RequestRecord,
        request: &FinishedRequest<'_>,
    ) {
        if let Some(stats) = stats.downcast_ref::<P::Stats>() {
            Panel::on_record(self, stats, record, request);
        }
    }
    fn action_templates(&self) -> Vec<Template> {
        <P as Panel>::action_templates(self)
    }
    fn run_action(
        &self,
        name: &str,
        stats: &StatsJson,
        params: &[(String, String)],
    ) -> Option<ActionFuture> {
        match stats.parse::<P::Stats>() {
            Ok(stats) => self.action(name, stats, params),
            Err(e) => {
                let message = format!("the stored stats could not be read: {e}");
                Some(Box::pin(std::future::ready(Err(ActionError::Failed(
                    message,
                )))))
            }
        }
    }
    fn problems(&self, stats: &StatsJson) -> Result<Vec<Problem>, serde_json::Error> {
        Ok(Panel::problems(self, &stats.parse::<P::Stats>()?))
    }
}

/// A panel shared behind an `Arc`, so that one configured value serves every toolbar built from
/// it without `Clone`. It keeps the identity of `P` (its stats are read with
/// `cx.stats::<P>()`).
struct SharedPanel<P>(std::sync::Arc<P>);

/// Erases a shared panel's type, keeping `P`'s identity.
pub fn shared_panel<P: Panel>(panel: std::sync::Arc<P>) -> Box<dyn DynPanel> {
    Box::new(SharedPanel(panel))
}

impl<P: Panel> DynPanel for SharedPanel<P> {
    fn id(&self) -> &'static str {
        P::ID
    }
    fn panel_type(&self) -> TypeId {
        TypeId::of::<P>()
    }
    fn as_any(&self) -> &dyn Any {
        &*self.0
    }
    fn title(&self) -> Cow<'static, str> {
        Panel::title(&*self.0)
    }
    fn dependencies(&self) -> &'static [&'static str] {
        Panel::dependencies(&*self.0)
    }
    fn template(&self) -> Template {
        Panel::template(&*self.0)
    }
    fn on_request(&self, head: &RequestHead<'_>, state: &mut RequestState) {
        Panel::on_request(&*self.0, head, state);
    }
    fn generate(&self, cx: &StatsContext<'_>) -> GeneratedStats {
        DynPanel::generate(&*self.0, cx)
    }
    fn on_record(
        &self,
        stats: &(dyn Any + Send + Sync),
        record: &RequestRecord,
        request: &FinishedRequest<'_>,
    ) {
        DynPanel::on_record(&*self.0, stats, record, request);
    }
    fn action_templates(&self) -> Vec<Template> {
        Panel::action_templates(&*self.0)
    }
    fn run_action(
        &self,
        name: &str,
        stats: &StatsJson,
        params: &[(String, String)],
    ) -> Option<ActionFuture> {
        DynPanel::run_action(&*self.0, name, stats, params)
    }
    fn problems(&self, stats: &StatsJson) -> Result<Vec<Problem>, serde_json::Error> {
        DynPanel::problems(&*self.0, stats)
    }
}

/// Boxes a panel for [`register_panel!`](crate::register_panel), naming `Panel` in the error
/// when the argument is not one.
#[doc(hidden)]
pub fn boxed<P: Panel>(panel: P) -> Box<dyn DynPanel> {
    Box::new(panel)
}

/// A registered panel: how to build it. Collected with `inventory`; see [`crate::register_panel!`].
#[derive(Debug)]
pub struct PanelFactory {
    make: fn() -> Box<dyn DynPanel>,
}

impl PanelFactory {
    /// A factory that builds a panel with `make`.
    pub const fn new(make: fn() -> Box<dyn DynPanel>) -> Self {
        Self { make }
    }

    pub(crate) fn make(&self) -> Box<dyn DynPanel> {
        (self.make)()
    }
}

inventory::collect!(PanelFactory);

/// Registers a panel so that every toolbar built afterwards shows it.
///
/// The argument is an expression building the panel, usually a unit struct; it is evaluated
/// each time a toolbar is built. A panel that needs run-time configuration (a pool, limits) is
/// passed to the toolbar's builder instead (`ToolbarConfigBuilder::panel`), where it replaces a
/// registered panel with the same id. The argument must implement [`Panel`]; anything else
/// fails to compile.
///
/// ```
/// # use std::borrow::Cow;
/// # use debug_toolbar_core::{Panel, StatsContext, Template};
/// # #[derive(Debug)] struct MyPanel;
/// # impl Panel for MyPanel {
/// #     type Stats = ();
/// #     const ID: &'static str = "mine";
/// #     fn title(&self) -> Cow<'static, str> { "Mine".into() }
/// #     fn generate_stats(&self, _: &StatsContext<'_>) {}
/// #     fn template(&self) -> Template { Template::new("panels/mine.html", "") }
/// # }
/// debug_toolbar_core::register_panel!(MyPanel);
/// ```
#[macro_export]
macro_rules! register_panel {
    ($panel:expr) => {
        $crate::__private::inventory::submit! {
            $crate::__private::PanelFactory::new(|| $crate::__private::boxed($panel))
        }
    };
}

/// Path segments of the toolbar's own routes, which panel ids cannot take.
pub(crate) const RESERVED_IDS: &[&str] = &["static", "panels", "api", "mcp"];

/// Whether `id` is a valid panel id: non-empty ASCII lowercase letters, digits, `-` and `_`,
/// and not one of [`RESERVED_IDS`].
pub(crate) fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && !RESERVED_IDS.contains(&id)
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::ServerTiming;

    #[test]
    fn server_timing_durations_are_milliseconds_to_the_microsecond() {
        let value = |duration_ms: f64| {
            ServerTiming {
                name: "sql",
                duration_ms,
                description: "SQL".into(),
            }
            .to_header_value()
        };
        assert_eq!(value(12.3456), "sql;dur=12.346;desc=\"SQL\"");
        assert_eq!(value(0.0004), "sql;dur=0.000;desc=\"SQL\"");
        assert_eq!(value(1500.0), "sql;dur=1500.000;desc=\"SQL\"");
        assert_eq!(value(-1.0), "sql;dur=0.000;desc=\"SQL\"");
        assert_eq!(value(f64::NAN), "sql;dur=0.000;desc=\"SQL\"");
    }
}
