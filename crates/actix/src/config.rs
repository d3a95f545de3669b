//! The toolbar's configuration: builder and `DEBUG_TOOLBAR_*` environment variables.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use actix_web::dev::ServiceRequest;
use actix_web::http::header::HeaderName;
pub use debug_toolbar_core::ConfigError;
use debug_toolbar_core::integration::env_config::{
    self, Lookup, parse_bool, parse_count, split_list,
};
use debug_toolbar_core::integration::{DynPanel, shared_panel};
use debug_toolbar_core::{Editor, InMemoryStore, Panel, RecordingLimits, Store, StoreLimits};
use ipnet::IpNet;
use tracing_subscriber::filter::LevelFilter;

/// Decides per request whether the toolbar is shown and its routes answer, after the address and
/// host checks passed.
pub type ShowToolbar = Arc<dyn Fn(&ServiceRequest) -> bool + Send + Sync>;

/// Builds one of the panels passed to [`ToolbarConfigBuilder::panel`].
pub(crate) type PanelMaker = Arc<dyn Fn() -> Box<dyn DynPanel> + Send + Sync>;

/// How the toolbar behaves; build one with [`ToolbarConfig::builder`] or
/// [`ToolbarConfig::from_env`].
///
/// # Security
///
/// The toolbar shows what the server did for a request: SQL, logs, headers (secrets masked),
/// every stored request of every user. It answers, and is injected into pages, only when all of
/// these hold; otherwise a page goes out untouched (no toolbar, no toolbar headers) and every
/// toolbar route answers `404 Not Found`:
///
/// - **The client is allowed** ([`allowed_ips`](ToolbarConfigBuilder::allowed_ips), loopback by
///   default). The client is the TCP peer, unless the peer is a
///   [trusted proxy](ToolbarConfigBuilder::trusted_proxies): then it is read from the one
///   [forwarding header](ToolbarConfigBuilder::forwarded_header) the proxy sets.
/// - **Forwarding headers name only allowed clients.** Whatever the trust settings, a request
///   whose `Forwarded`, `X-Forwarded-For` or `X-Real-IP` names an address that is neither
///   allowed nor a trusted proxy, or a hop that cannot be read (`unknown`, `_hidden`, garbage),
///   is refused: a proxy on the same host that forwards remote clients never makes them look
///   like loopback. A local development proxy that forwards loopback addresses is fine.
/// - **The host is a loopback name, an IP literal or an
///   [allowed host](ToolbarConfigBuilder::allowed_hosts)**, so that a web page cannot reach the
///   toolbar through DNS rebinding.
/// - **The [`show_toolbar`](ToolbarConfigBuilder::show_toolbar) callback**, if any, agrees.
///
/// The toolbar's `POST` actions (such as EXPLAIN) also need the header its script sends
/// (`X-Debug-Toolbar-Action: 1`) and a same-origin request (`Sec-Fetch-Site`, `Origin`);
/// anything else gets `403 Forbidden`. Each refusal is logged once, at INFO, with the setting
/// that would change it.
///
/// Never enable the toolbar in production.
#[derive(Clone)]
pub struct ToolbarConfig {
    pub(crate) enabled: bool,
    pub(crate) allowed_ips: Vec<IpNet>,
    pub(crate) trusted_proxies: Vec<IpNet>,
    pub(crate) forwarded_header: ForwardedHeader,
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) show_toolbar: Option<ShowToolbar>,
    pub(crate) prefix: String,
    pub(crate) store_capacity: usize,
    pub(crate) store: Option<Arc<dyn Store>>,
    pub(crate) store_limits: StoreLimits,
    pub(crate) recording_limits: RecordingLimits,
    pub(crate) max_body_bytes: usize,
    pub(crate) max_body_wait: std::time::Duration,
    pub(crate) disabled_panels: BTreeSet<String>,
    pub(crate) panel_order: Vec<String>,
    pub(crate) tracing_level: LevelFilter,
    pub(crate) app: Option<(String, String)>,
    pub(crate) panels: Vec<PanelMaker>,
    pub(crate) intercept_redirects: bool,
    pub(crate) update_on_fetch: bool,
    pub(crate) editor: Option<Editor>,
}

impl Default for ToolbarConfig {
    fn default() -> Self {
        Self {
            enabled: cfg!(debug_assertions),
            allowed_ips: vec![loopback_v4(), loopback_v6()],
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::default(),
            allowed_hosts: Vec::new(),
            show_toolbar: None,
            prefix: "/__debug_toolbar/".to_owned(),
            store_capacity: InMemoryStore::DEFAULT_CAPACITY,
            store: None,
            store_limits: StoreLimits::default(),
            recording_limits: RecordingLimits::default(),
            max_body_bytes: 5 * 1024 * 1024,
            max_body_wait: std::time::Duration::from_secs(5),
            disabled_panels: BTreeSet::new(),
            panel_order: Vec::new(),
            tracing_level: LevelFilter::DEBUG,
            app: None,
            panels: Vec::new(),
            intercept_redirects: false,
            update_on_fetch: false,
            editor: None,
        }
    }
}

fn loopback_v4() -> IpNet {
    IpNet::new_assert(IpAddr::from([127, 0, 0, 0]), 8)
}

fn loopback_v6() -> IpNet {
    IpNet::new_assert(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]), 128)
}

impl fmt::Debug for ToolbarConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolbarConfig")
            .field("enabled", &self.enabled)
            .field("allowed_ips", &self.allowed_ips)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("forwarded_header", &self.forwarded_header)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("show_toolbar", &self.show_toolbar.as_ref().map(|_| "Fn"))
            .field("prefix", &self.prefix)
            .field("store_capacity", &self.store_capacity)
            .field("store", &self.store)
            .field("store_limits", &self.store_limits)
            .field("recording_limits", &self.recording_limits)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_body_wait", &self.max_body_wait)
            .field("disabled_panels", &self.disabled_panels)
            .field("panel_order", &self.panel_order)
            .field("tracing_level", &self.tracing_level)
            .field("app", &self.app)
            .field("panels", &self.panels.len())
            .field("intercept_redirects", &self.intercept_redirects)
            .field("update_on_fetch", &self.update_on_fetch)
            .field("editor", &self.editor)
            .finish()
    }
}

impl ToolbarConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> ToolbarConfigBuilder {
        ToolbarConfigBuilder {
            config: ToolbarConfig::default(),
        }
    }

    /// The defaults with the `DEBUG_TOOLBAR_*` environment variables applied.
    ///
    /// | variable | meaning | default |
    /// |---|---|---|
    /// | `DEBUG_TOOLBAR_ENABLED` | `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`) | on in debug builds, off in release builds |
    /// | `DEBUG_TOOLBAR_ALLOWED_IPS` | comma-separated addresses or CIDR networks shown the toolbar | `127.0.0.0/8,::1/128` |
    /// | `DEBUG_TOOLBAR_TRUSTED_PROXIES` | comma-separated proxies (addresses or CIDR networks) whose forwarding header names the client | none |
    /// | `DEBUG_TOOLBAR_FORWARDED_HEADER` | the header trusted proxies name the client in: `x-forwarded-for`, `forwarded` or `x-real-ip` | `x-forwarded-for` |
    /// | `DEBUG_TOOLBAR_ALLOWED_HOSTS` | comma-separated host names the toolbar answers besides loopback names and IP literals; `.example.test` also allows its subdomains | none |
    /// | `DEBUG_TOOLBAR_PREFIX` | URL prefix of the toolbar's routes | `/__debug_toolbar/` |
    /// | `DEBUG_TOOLBAR_STORE_CAPACITY` | requests kept | `25` |
    /// | `DEBUG_TOOLBAR_STORE` | where records are kept: `memory`, `postgres://…` (feature `store-postgres`) or `redis://…` (feature `store-redis`) | `memory` |
    /// | `DEBUG_TOOLBAR_MAX_BODY_BYTES` | largest HTML body the toolbar is injected into | `5242880` |
    /// | `DEBUG_TOOLBAR_DISABLED_PANELS` | comma-separated panel ids listed but not run | none |
    /// | `DEBUG_TOOLBAR_PANEL_ORDER` | comma-separated panel ids in the order the toolbar lists them; the others follow | the order they run in |
    /// | `DEBUG_TOOLBAR_INTERCEPT_REDIRECTS` | show a page with the toolbar and a link instead of following redirects | `false` |
    /// | `DEBUG_TOOLBAR_UPDATE_ON_FETCH` | switch the toolbar to each request the page's scripts make | `false` |
    /// | `DEBUG_TOOLBAR_EDITOR` | where the `file:line` locations the toolbar shows link to: `vscode`, `cursor`, `zed`, `idea`, or a URL template with `{file}` and `{line}` | none: plain text |
    /// | `DEBUG_TOOLBAR_EDITOR_ROOT` | the directory relative source paths are resolved against | the process's working directory |
    /// | `DEBUG_TOOLBAR_SECRET_NAMES` | comma-separated names whose values are masked, besides the built-in ones | none |
    ///
    /// See the [`# Security`](ToolbarConfig#security) section for how the address, forwarding
    /// and host settings work together.
    ///
    /// An invalid value is logged (at WARN, with what the variable accepts) and the default is
    /// kept; [`try_from_env`](Self::try_from_env) returns the error instead.
    pub fn from_env() -> Self {
        Self::from_vars_lossy(env_config::process_env)
    }

    /// The defaults with the `DEBUG_TOOLBAR_*` environment variables applied (see
    /// [`from_env`](Self::from_env)); fails on the first invalid value.
    pub fn try_from_env() -> Result<Self, ConfigError> {
        Ok(Self::builder().env()?.build())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `var`.
    pub fn from_vars_lossy(var: impl Fn(&str) -> Option<String>) -> Self {
        env_config::lossy(Self::builder(), &var, "toolbar", |builder, var| {
            builder.vars(var)
        })
        .build()
    }

    /// Whether the toolbar is switched on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The URL prefix of the toolbar's routes, ending in `/`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

/// The header [trusted proxies](ToolbarConfigBuilder::trusted_proxies) name the client in.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`, appended to by each proxy.
    #[default]
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239).
    Forwarded,
    /// `X-Real-IP: client`, set by the proxy.
    XRealIp,
}

impl ForwardedHeader {
    /// Every forwarding header, each checked on every request the toolbar may serve.
    pub(crate) const ALL: [ForwardedHeader; 3] = [
        ForwardedHeader::Forwarded,
        ForwardedHeader::XForwardedFor,
        ForwardedHeader::XRealIp,
    ];

    /// The header's name.
    pub(crate) fn name(self) -> HeaderName {
        match self {
            ForwardedHeader::XForwardedFor => HeaderName::from_static("x-forwarded-for"),
            ForwardedHeader::Forwarded => HeaderName::from_static("forwarded"),
            ForwardedHeader::XRealIp => HeaderName::from_static("x-real-ip"),
        }
    }
}

/// Builds a [`ToolbarConfig`].
#[must_use]
#[derive(Debug, Clone)]
pub struct ToolbarConfigBuilder {
    config: ToolbarConfig,
}

impl ToolbarConfigBuilder {
    /// Applies the `DEBUG_TOOLBAR_*` environment variables (see [`ToolbarConfig::from_env`]).
    pub fn env(self) -> Result<Self, ConfigError> {
        self.vars(env_config::process_env)
    }

    /// Applies `DEBUG_TOOLBAR_*` variables read through `var`, e.g. from a map in tests. A
    /// variable set to nothing but white space counts as unset.
    pub fn vars(mut self, var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let lookup: Lookup<'_> = &var;
        let var = |name: &str| env_config::get(lookup, name);
        let c = &mut self.config;
        if let Some(v) = var("DEBUG_TOOLBAR_ENABLED") {
            c.enabled = parse_bool("DEBUG_TOOLBAR_ENABLED", &v)?;
        }
        if let Some(v) = var("DEBUG_TOOLBAR_ALLOWED_IPS") {
            c.allowed_ips = parse_nets("DEBUG_TOOLBAR_ALLOWED_IPS", &v)?;
        }
        if let Some(v) = var("DEBUG_TOOLBAR_TRUSTED_PROXIES") {
            c.trusted_proxies = parse_nets("DEBUG_TOOLBAR_TRUSTED_PROXIES", &v)?;
        }
        if let Some(v) = var("DEBUG_TOOLBAR_FORWARDED_HEADER") {
            c.forwarded_header = parse_forwarded_header("DEBUG_TOOLBAR_FORWARDED_HEADER", &v)?;
        }
        if let Some(v) = var("DEBUG_TOOLBAR_ALLOWED_HOSTS") {
            c.allowed_hosts = split_list(&v)
                .map(|host| parse_host("DEBUG_TOOLBAR_ALLOWED_HOSTS", &v, host))
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = var("DEBUG_TOOLBAR_PREFIX") {
            c.prefix = parse_prefix("DEBUG_TOOLBAR_PREFIX", &v)?;
        }
        if let Some(v) = var("DEBUG_TOOLBAR_STORE_CAPACITY") {
            c.store_capacity = parse_count("DEBUG_TOOLBAR_STORE_CAPACITY", &v)?;
        }
        if let Some(v) = var("DEBUG_TOOLBAR_STORE") {
            c.store = parse_store("DEBUG_TOOLBAR_STORE", &v, c.store_capacity)?;
        }
        if let Some(v) = var("DEBUG_TOOLBAR_MAX_BODY_BYTES") {
            c.max_body_bytes = parse_count("DEBUG_TOOLBAR_MAX_BODY_BYTES", &v)?;
        }
        if let Some(v) = var("DEBUG_TOOLBAR_DISABLED_PANELS") {
            c.disabled_panels = split_list(&v).map(str::to_owned).collect();
        }
        if let Some(v) = var("DEBUG_TOOLBAR_PANEL_ORDER") {
            c.panel_order = split_list(&v).map(str::to_owned).collect();
        }
        if let Some(v) = var("DEBUG_TOOLBAR_INTERCEPT_REDIRECTS") {
            c.intercept_redirects = parse_bool("DEBUG_TOOLBAR_INTERCEPT_REDIRECTS", &v)?;
        }
        if let Some(v) = var("DEBUG_TOOLBAR_UPDATE_ON_FETCH") {
            c.update_on_fetch = parse_bool("DEBUG_TOOLBAR_UPDATE_ON_FETCH", &v)?;
        }
        if let Some(v) = var("DEBUG_TOOLBAR_EDITOR")
            && !v.trim().is_empty()
        {
            let root = var("DEBUG_TOOLBAR_EDITOR_ROOT")
                .filter(|root| !root.trim().is_empty())
                .map(std::path::PathBuf::from)
                .or_else(|| std::env::current_dir().ok())
                .unwrap_or_default();
            c.editor = Some(Editor::new(&v, root)?);
        }
        if let Some(v) = var("DEBUG_TOOLBAR_SECRET_NAMES") {
            self = self.secret_names(split_list(&v));
        }
        Ok(self)
    }

    /// Switches the toolbar on or off. By default, it is on in debug builds and off in release
    /// builds.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.config.enabled = enabled;
        self
    }

    /// Client networks shown the toolbar. By default, loopback (`127.0.0.0/8` and `::1`).
    ///
    /// An IPv4-mapped entry (`::ffff:10.1.2.3`) matches the IPv4 client it maps.
    ///
    /// # Security
    ///
    /// Everyone in these networks sees every stored request, of every user. See
    /// [`ToolbarConfig#security`].
    pub fn allowed_ips(mut self, nets: impl IntoIterator<Item = IpNet>) -> Self {
        self.config.allowed_ips = nets.into_iter().collect();
        self
    }

    /// Proxies whose [forwarding header](Self::forwarded_header) names the client. By default,
    /// none: the client is the TCP peer.
    ///
    /// # Security
    ///
    /// Anyone can send forwarding headers. The header is read only when the TCP peer is one of
    /// these proxies, from right to left over the hops that are themselves trusted proxies; the
    /// first other address is the client (when every hop is a trusted proxy, the leftmost one).
    /// A trusted proxy's request that names no client is refused, never taken to come from the
    /// proxy itself. Whatever this setting, a request whose forwarding headers name an address
    /// that is neither allowed nor a trusted proxy, or a hop that cannot be read, is refused. See
    /// [`ToolbarConfig#security`].
    pub fn trusted_proxies(mut self, nets: impl IntoIterator<Item = IpNet>) -> Self {
        self.config.trusted_proxies = nets.into_iter().collect();
        self
    }

    /// The header [trusted proxies](Self::trusted_proxies) name the client in. By default,
    /// `X-Forwarded-For` (what nginx's `proxy_add_x_forwarded_for`, Caddy and Traefik send).
    ///
    /// # Security
    ///
    /// Name the header your proxy sets or appends to; a header the proxy passes on untouched is
    /// whatever the client wrote.
    pub fn forwarded_header(mut self, header: ForwardedHeader) -> Self {
        self.config.forwarded_header = header;
        self
    }

    /// Host names the toolbar answers for, besides loopback names (`localhost`, `*.localhost`)
    /// and IP literals; a leading dot (`.example.test`) also allows every subdomain. By default,
    /// none.
    ///
    /// Names are compared without case and without a trailing dot; an entry that is not a host
    /// name (with a port, say) matches nothing.
    ///
    /// # Security
    ///
    /// The host check keeps web pages from reaching the toolbar through DNS rebinding (a name of
    /// the attacker's that resolves to `127.0.0.1`). List only names you control.
    pub fn allowed_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.config.allowed_hosts = hosts
            .into_iter()
            .map(|host| normalize_host(host.as_ref()))
            .collect();
        self
    }

    /// A callback that decides per request, after the address and host checks, whether to show
    /// the toolbar; it guards the toolbar's own routes too (records, panels, the JSON API,
    /// actions, static files), which answer `404 Not Found` when it says no. By default, every
    /// allowed client is shown it.
    ///
    /// # Security
    ///
    /// The callback sees the request as sent; base it on what the application verified (a
    /// session), not on a header the client may write.
    pub fn show_toolbar(
        mut self,
        show: impl Fn(&ServiceRequest) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.config.show_toolbar = Some(Arc::new(show));
        self
    }

    /// URL prefix of the toolbar's own routes; a `/` is added at both ends when missing.
    /// By default, `/__debug_toolbar/`.
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.config.prefix = normalize_prefix(prefix);
        self
    }

    /// How many requests the default in-memory store keeps. By default, 25.
    pub fn store_capacity(mut self, capacity: usize) -> Self {
        self.config.store_capacity = capacity.max(1);
        self
    }

    /// Where records are kept. By default, one in-memory store shared by every toolbar in the
    /// process, so that every worker sees every record.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.config.store = Some(store);
        self
    }

    /// How the store is guarded: saves waiting at once (more are dropped and counted), the
    /// deadline of every save and read, and the pause after a failure. By default, 16 saves,
    /// 1 s, and 250 ms doubling up to 5 s.
    pub fn store_limits(mut self, limits: StoreLimits) -> Self {
        self.config.store_limits = limits;
        self
    }

    /// How much one request may record: events, spans, the length of a value and the bytes of
    /// them all. By default, 10 000 events, 10 000 spans, 8 KiB and 1 MiB.
    pub fn recording_limits(mut self, limits: RecordingLimits) -> Self {
        self.config.recording_limits = limits;
        self
    }

    /// Largest HTML body, in bytes, the toolbar is injected into; an encoded body must fit
    /// both as sent and decoded. By default, 5 MiB.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.config.max_body_bytes = bytes;
        self
    }

    /// How long the toolbar waits for the rest of an encoded HTML stream (what actix-web's
    /// `Compress` sends when registered inside the toolbar) before it sends the page on
    /// without the toolbar. By default, 5 seconds.
    pub fn max_body_wait(mut self, wait: std::time::Duration) -> Self {
        self.config.max_body_wait = wait;
        self
    }

    /// Panels listed in the toolbar but not run. By default, none.
    pub fn disabled_panels<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.disabled_panels = ids.into_iter().map(Into::into).collect();
        self
    }

    /// Instead of following a redirect, the browser gets a page with the toolbar and a link to
    /// where the application was sending it, so the redirecting request can be looked at.
    /// Requests made by scripts are never intercepted. By default, off.
    pub fn intercept_redirects(mut self, intercept: bool) -> Self {
        self.config.intercept_redirects = intercept;
        self
    }

    /// Switches the toolbar to each request the page's scripts make (`fetch`,
    /// `XMLHttpRequest`) as it completes, instead of only listing it. By default, off.
    pub fn update_on_fetch(mut self, update: bool) -> Self {
        self.config.update_on_fetch = update;
        self
    }

    /// Makes every `file:line` the toolbar shows (log records, spans, profiling locations,
    /// budgets, the panic page's frames) a link that opens `editor`. By default, none: they are
    /// plain text.
    pub fn editor(mut self, editor: Editor) -> Self {
        self.config.editor = Some(editor);
        self
    }

    /// Names whose values are masked wherever the toolbar shows or exports them, besides the
    /// built-in ones (see [`debug_toolbar_core::redact`]): e.g. `["ssn", "card_number"]`, which
    /// also masks `customerSsn` and `credit-card-number`. By default, only the built-in names.
    ///
    /// The names apply to the whole process from this call on, since values are masked as
    /// they are recorded, before any toolbar sees them.
    pub fn secret_names<I, S>(self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        debug_toolbar_core::redact::add_secret_names(names);
        self
    }

    /// The most verbose level [`crate::DebugToolbar::layer`] records. By default, `DEBUG`
    /// (sqlx reports queries at `DEBUG`).
    pub fn tracing_level(mut self, level: LevelFilter) -> Self {
        self.config.tracing_level = level;
        self
    }

    /// The application's name and version, shown in the Versions panel; usually
    /// `.app(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))`. By default, not shown.
    pub fn app(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.config.app = Some((name.into(), version.into()));
        self
    }

    /// The order in which the toolbar lists panels, by id (e.g. `["sql", "timer"]`); panels not
    /// named follow in the order they run, unknown ids are ignored. Panels still run after
    /// their dependencies. By default, the order they run in: dependencies first, then by id.
    pub fn panel_order<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.panel_order = ids.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a panel of the application's own, besides those registered with
    /// [`register_panel!`](crate::register_panel); it replaces a registered panel with the
    /// same id. The panel needs no `Clone`: every toolbar built from this configuration shares
    /// it. By default, only registered panels run.
    pub fn panel<P: Panel>(mut self, panel: P) -> Self {
        let panel = Arc::new(panel);
        self.config
            .panels
            .push(Arc::new(move || shared_panel(panel.clone())));
        self
    }

    /// The configuration.
    pub fn build(self) -> ToolbarConfig {
        self.config
    }
}

fn error(variable: &'static str, value: &str, expected: &'static str) -> ConfigError {
    ConfigError::new(variable, value, expected)
}

fn parse_nets(variable: &'static str, value: &str) -> Result<Vec<IpNet>, ConfigError> {
    split_list(value)
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    error(
                        variable,
                        value,
                        "comma-separated IP addresses or CIDR networks, e.g. 127.0.0.1,10.0.0.0/8,::1",
                    )
                })
        })
        .collect()
}

fn parse_forwarded_header(
    variable: &'static str,
    value: &str,
) -> Result<ForwardedHeader, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "x-forwarded-for" => Ok(ForwardedHeader::XForwardedFor),
        "forwarded" => Ok(ForwardedHeader::Forwarded),
        "x-real-ip" => Ok(ForwardedHeader::XRealIp),
        _ => Err(error(
            variable,
            value,
            "x-forwarded-for, forwarded or x-real-ip",
        )),
    }
}

/// One entry of `DEBUG_TOOLBAR_ALLOWED_HOSTS`: a host name, optionally with a leading dot.
fn parse_host(variable: &'static str, value: &str, host: &str) -> Result<String, ConfigError> {
    let host = normalize_host(host);
    let name = host.strip_prefix('.').unwrap_or(&host);
    let valid = !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if valid {
        Ok(host)
    } else {
        Err(error(
            variable,
            value,
            "comma-separated host names without port, e.g. dev.example.test,.example.test",
        ))
    }
}

/// A host name as the host check compares it: lower case, without a trailing dot.
pub(crate) fn normalize_host(host: &str) -> String {
    let host = host.trim();
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

/// The store named by a `DEBUG_TOOLBAR_STORE` value; `None` for the in-memory default.
fn parse_store(
    variable: &'static str,
    value: &str,
    capacity: usize,
) -> Result<Option<Arc<dyn Store>>, ConfigError> {
    let value = value.trim();
    let expected = "memory, postgres://… (cargo feature store-postgres) or redis://… (cargo feature store-redis)";
    let scheme = value.split_once("://").map_or(value, |(scheme, _)| scheme);
    match scheme {
        "memory" | "" => Ok(None),
        #[cfg(feature = "store-postgres")]
        "postgres" | "postgresql" => {
            debug_toolbar_core::PostgresStore::connect_lazy(value, capacity)
                .map(|store| Some(Arc::new(store) as Arc<dyn Store>))
                .map_err(|_| error(variable, &without_credentials(value), expected))
        }
        #[cfg(feature = "store-redis")]
        "redis" | "rediss" => debug_toolbar_core::RedisStore::open(value, capacity)
            .map(|store| Some(Arc::new(store) as Arc<dyn Store>))
            .map_err(|_| error(variable, &without_credentials(value), expected)),
        _ => {
            let _ = capacity;
            Err(error(variable, &without_credentials(value), expected))
        }
    }
}

/// A URL with any `user:password@` replaced, so that errors do not print secrets.
fn without_credentials(url: &str) -> String {
    debug_toolbar_core::redact::mask_url(url).into_owned()
}

fn parse_prefix(variable: &'static str, value: &str) -> Result<String, ConfigError> {
    let trimmed = value.trim().trim_matches('/');
    let valid = !trimmed.is_empty()
        && trimmed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b));
    if valid {
        Ok(normalize_prefix(trimmed))
    } else {
        Err(error(
            variable,
            value,
            "a URL path such as /__debug_toolbar/ (letters, digits, - _ . /)",
        ))
    }
}

fn normalize_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim().trim_matches('/');
    if trimmed.is_empty() {
        "/__debug_toolbar/".to_owned()
    } else {
        format!("/{trimmed}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<ToolbarConfig, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Ok(ToolbarConfig::builder()
            .vars(|name| vars.get(name).cloned())?
            .build())
    }

    #[test]
    fn defaults_allow_only_loopback_and_trust_no_proxy() {
        let config = from(&[]).unwrap();
        assert_eq!(config.enabled, cfg!(debug_assertions));
        assert_eq!(
            config.allowed_ips,
            vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()]
        );
        assert!(config.trusted_proxies.is_empty());
        assert_eq!(config.forwarded_header, ForwardedHeader::XForwardedFor);
        assert!(config.allowed_hosts.is_empty());
        assert_eq!(config.prefix, "/__debug_toolbar/");
        assert_eq!(config.store_capacity, 25);
        assert_eq!(config.max_body_bytes, 5 * 1024 * 1024);
    }

    #[test]
    fn reads_every_variable() {
        let config = from(&[
            ("DEBUG_TOOLBAR_ENABLED", "off"),
            ("DEBUG_TOOLBAR_ALLOWED_IPS", "10.0.0.0/8, 192.168.1.7"),
            ("DEBUG_TOOLBAR_TRUSTED_PROXIES", "172.17.0.1"),
            ("DEBUG_TOOLBAR_FORWARDED_HEADER", " X-Real-IP "),
            (
                "DEBUG_TOOLBAR_ALLOWED_HOSTS",
                "Dev.Example.TEST., .apps.example.test",
            ),
            ("DEBUG_TOOLBAR_PREFIX", "debug"),
            ("DEBUG_TOOLBAR_STORE_CAPACITY", "5"),
            ("DEBUG_TOOLBAR_MAX_BODY_BYTES", "1000"),
            ("DEBUG_TOOLBAR_DISABLED_PANELS", "headers,versions"),
        ])
        .unwrap();
        assert!(!config.enabled);
        assert_eq!(config.allowed_ips.len(), 2);
        assert_eq!(config.allowed_ips[1], "192.168.1.7/32".parse().unwrap());
        assert_eq!(config.trusted_proxies.len(), 1);
        assert_eq!(config.forwarded_header, ForwardedHeader::XRealIp);
        assert_eq!(
            config.allowed_hosts,
            ["dev.example.test", ".apps.example.test"]
        );
        assert_eq!(config.prefix, "/debug/");
        assert_eq!(config.store_capacity, 5);
        assert_eq!(config.max_body_bytes, 1000);
        assert_eq!(config.disabled_panels.len(), 2);
    }

    #[test]
    fn switches_read_every_spelling() {
        for (value, expected) in [
            ("1", true),
            ("YES", true),
            (" on ", true),
            ("0", false),
            ("No", false),
            ("off", false),
        ] {
            let config = from(&[
                ("DEBUG_TOOLBAR_INTERCEPT_REDIRECTS", value),
                ("DEBUG_TOOLBAR_UPDATE_ON_FETCH", value),
            ])
            .unwrap();
            assert_eq!(config.intercept_redirects, expected, "{value}");
            assert_eq!(config.update_on_fetch, expected, "{value}");
        }
        let err = from(&[("DEBUG_TOOLBAR_UPDATE_ON_FETCH", "sometimes")]).unwrap_err();
        assert_eq!(err.variable(), "DEBUG_TOOLBAR_UPDATE_ON_FETCH");
    }

    #[test]
    fn the_editor_is_read_with_its_root() {
        let config = from(&[
            ("DEBUG_TOOLBAR_EDITOR", "idea"),
            ("DEBUG_TOOLBAR_EDITOR_ROOT", "/srv/app"),
        ])
        .unwrap();
        let editor = config.editor.unwrap();
        assert_eq!(
            editor.url("src/main.rs", Some(4)).as_deref(),
            Some("idea://open?file=/srv/app/src/main.rs&line=4")
        );
        let config = from(&[("DEBUG_TOOLBAR_EDITOR", "vscode")]).unwrap();
        assert_eq!(
            config.editor.unwrap().root(),
            std::env::current_dir().unwrap()
        );
        assert!(
            from(&[("DEBUG_TOOLBAR_EDITOR_ROOT", "/srv")])
                .unwrap()
                .editor
                .is_none()
        );
        let err = from(&[("DEBUG_TOOLBAR_EDITOR", "notepad")]).unwrap_err();
        assert_eq!(err.variable(), "DEBUG_TOOLBAR_EDITOR");
    }

    // Outside any Tokio runtime, as configuration often runs: making a pool (sqlx starts its
    // maintenance task on the current runtime) waits for the first use.
    #[cfg(all(feature = "store-postgres", feature = "store-redis"))]
    #[test]
    fn the_store_variable_names_a_shared_store_without_connecting() {
        let config = from(&[("DEBUG_TOOLBAR_STORE", " memory ")]).unwrap();
        assert!(config.store.is_none(), "the shared in-memory default");
        let config = from(&[
            ("DEBUG_TOOLBAR_STORE_CAPACITY", "7"),
            ("DEBUG_TOOLBAR_STORE", "postgres://u:p@127.0.0.1:9/none"),
        ])
        .unwrap();
        let store = format!("{:?}", config.store.expect("a store"));
        assert!(store.starts_with("PostgresStore"), "{store}");
        assert!(store.contains("capacity: 7"), "{store}");
        let config = from(&[("DEBUG_TOOLBAR_STORE", "redis://127.0.0.1:9/")]).unwrap();
        let store = format!("{:?}", config.store.expect("a store"));
        assert!(store.starts_with("RedisStore"), "{store}");
    }

    #[cfg(all(feature = "store-postgres", feature = "store-redis"))]
    #[test]
    fn an_unusable_store_url_is_reported_without_its_password() {
        for value in [
            "postgres://admin:hunter2@db:notaport/app",
            "redis://admin:hunter2@cache:notaport/",
        ] {
            let err = from(&[("DEBUG_TOOLBAR_STORE", value)]).unwrap_err();
            let message = err.to_string();
            assert_eq!(err.variable(), "DEBUG_TOOLBAR_STORE");
            assert!(!message.contains("hunter2"), "{message}");
            assert!(message.contains("://REDACTED@"), "{message}");
            assert!(message.contains("postgres://"), "{message}");
        }
        let err = from(&[("DEBUG_TOOLBAR_STORE", "sqlite:records.db")]).unwrap_err();
        assert!(err.to_string().contains("sqlite:records.db"), "{err}");
    }

    #[test]
    fn the_lossy_constructor_keeps_defaults_for_invalid_values_only() {
        let vars: HashMap<&str, &str> = [
            ("DEBUG_TOOLBAR_PREFIX", "tools"),
            ("DEBUG_TOOLBAR_STORE_CAPACITY", "lots"),
            ("DEBUG_TOOLBAR_ENABLED", "maybe"),
            ("DEBUG_TOOLBAR_MAX_BODY_BYTES", "  "),
        ]
        .into();
        let config = ToolbarConfig::from_vars_lossy(|name| vars.get(name).map(|v| (*v).to_owned()));
        assert_eq!(config.prefix(), "/tools/");
        assert_eq!(config.store_capacity, 25);
        assert_eq!(config.enabled, cfg!(debug_assertions));
        assert_eq!(config.max_body_bytes, 5 * 1024 * 1024, "blank is unset");
        let strict = ToolbarConfig::builder().vars(|name| vars.get(name).map(|v| (*v).to_owned()));
        assert!(strict.is_err());
    }

    #[test]
    fn the_builder_sets_what_the_variables_set() {
        let config = ToolbarConfig::builder()
            .prefix(" //tools// ")
            .disabled_panels(["sql", "logging"])
            .update_on_fetch(true)
            .tracing_level(LevelFilter::INFO)
            .store_capacity(0)
            .show_toolbar(|_| true)
            .build();
        assert_eq!(config.prefix(), "/tools/");
        assert_eq!(
            config.disabled_panels.iter().collect::<Vec<_>>(),
            ["logging", "sql"]
        );
        assert!(config.update_on_fetch);
        assert_eq!(config.tracing_level, LevelFilter::INFO);
        assert_eq!(config.store_capacity, 1, "at least one record");
        assert_eq!(
            ToolbarConfig::builder().prefix("/").build().prefix(),
            "/__debug_toolbar/",
            "an empty prefix keeps the default"
        );
        let debug = format!("{config:?}");
        assert!(debug.contains("prefix: \"/tools/\""), "{debug}");
        assert!(
            debug.contains("show_toolbar: Some(\"Fn\")"),
            "the callback is named, not printed: {debug}"
        );
    }

    #[test]
    fn invalid_values_name_the_variable_and_what_is_accepted() {
        let cases = [
            ("DEBUG_TOOLBAR_ENABLED", "maybe", "true or false"),
            ("DEBUG_TOOLBAR_ALLOWED_IPS", "localhost", "CIDR"),
            ("DEBUG_TOOLBAR_FORWARDED_HEADER", "x-client-ip", "x-real-ip"),
            (
                "DEBUG_TOOLBAR_ALLOWED_HOSTS",
                "dev.example.test:8080",
                "host names",
            ),
            ("DEBUG_TOOLBAR_ALLOWED_HOSTS", "a..b", "host names"),
            ("DEBUG_TOOLBAR_STORE_CAPACITY", "0", "whole number"),
            ("DEBUG_TOOLBAR_PREFIX", "<script>", "URL path"),
            (
                "DEBUG_TOOLBAR_STORE",
                "mongodb://u:hunter2@db/x",
                "postgres://",
            ),
        ];
        for (variable, value, expected) in cases {
            let err = from(&[(variable, value)]).unwrap_err();
            assert_eq!(err.variable(), variable);
            let message = err.to_string();
            assert!(message.contains(variable), "{message}");
            assert!(message.contains(expected), "{message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
    }
}
