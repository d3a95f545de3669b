//! Who may use the toolbar.
//!
//! Three checks, made in this order on every request the toolbar might serve:
//!
//! 1. **The client** ([`Access::client`]): the TCP peer, or — when the peer is a trusted proxy —
//!    the address the configured forwarding header names, walked right to left over trusted
//!    hops. Every forwarding header on the request (`Forwarded`, `X-Forwarded-For`, `X-Real-IP`)
//!    must name only allowed clients or trusted proxies, and every hop must be readable, whatever
//!    the trust settings; so a proxy on the same host that forwards remote clients never makes
//!    them look like loopback.
//! 2. **The host** ([`Access::host`]): the request's authority (the URI's, as HTTP/2 sends it, and
//!    the `Host` header) must be a loopback name, an IP literal or an allowed host, so that a web
//!    page cannot reach the toolbar through DNS rebinding.
//! 3. **The marks of an action** ([`action_marks`]): a `POST` action must carry the header only
//!    the toolbar's script sends, and come from the request's own origin.
//!
//! A refusal is logged once, with the setting that would change it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::LazyLock;

use actix_web::http::Uri;
use actix_web::http::header::{self, HeaderMap, HeaderName};
use actix_web::http::uri::Authority;
use debug_toolbar_core::integration::LogOnce;
use ipnet::IpNet;

use crate::config::{ForwardedHeader, ToolbarConfig, normalize_host};

/// The header the toolbar's script sends with every action; a page of another site cannot send
/// it without a CORS preflight, which the toolbar never answers.
pub(crate) const ACTION_HEADER: HeaderName = HeaderName::from_static("x-debug-toolbar-action");

const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// The access settings of a toolbar, ready for the checks every request makes.
#[derive(Debug)]
pub(crate) struct Access {
    allowed_ips: Nets,
    trusted_proxies: Nets,
    forwarded_header: ForwardedHeader,
    /// Normalised [`ToolbarConfig::allowed_hosts`] entries.
    allowed_hosts: Vec<String>,
}

/// Why a request is refused the toolbar.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Refusal {
    /// The connection has no peer address (a Unix socket, a test request without one).
    NoPeer,
    /// The client is not in the allowed networks.
    NotAllowed(IpAddr),
    /// A forwarding header names an address that is neither allowed nor a trusted proxy.
    ForwardedNotAllowed {
        peer: IpAddr,
        header: ForwardedHeader,
        addr: IpAddr,
    },
    /// A forwarding header has a hop that is not an address (`unknown`, `_hidden`, garbage).
    Unreadable {
        peer: IpAddr,
        header: ForwardedHeader,
    },
    /// A trusted proxy's request has no client in the configured forwarding header.
    NoClientNamed {
        peer: IpAddr,
        header: ForwardedHeader,
    },
    /// The request was sent to a host name that is not allowed.
    ForeignHost(String),
}

impl Access {
    pub(crate) fn new(config: &ToolbarConfig) -> Self {
        Self {
            allowed_ips: Nets::new(&config.allowed_ips),
            trusted_proxies: Nets::new(&config.trusted_proxies),
            forwarded_header: config.forwarded_header,
            allowed_hosts: config.allowed_hosts.clone(),
        }
    }

    /// The client the toolbar is shown to, or why the request is refused.
    #[inline]
    pub(crate) fn client(
        &self,
        peer: Option<IpAddr>,
        headers: &HeaderMap,
    ) -> Result<IpAddr, Refusal> {
        let peer = canonical(peer.ok_or(Refusal::NoPeer)?);
        let from_proxy = self.trusted_proxies.contains(peer);
        if !from_proxy && !self.allowed_ips.contains(peer) {
            return Err(Refusal::NotAllowed(peer));
        }
        self.forwarded_client(peer, from_proxy, headers)
    }

    /// The client of a request from an allowed client or a trusted proxy, after the forwarding
    /// headers are checked.
    #[inline(never)]
    fn forwarded_client(
        &self,
        peer: IpAddr,
        from_proxy: bool,
        headers: &HeaderMap,
    ) -> Result<IpAddr, Refusal> {
        let mut chain = Vec::new();
        for header in ForwardedHeader::ALL {
            let hops = hops(headers, header).ok_or(Refusal::Unreadable { peer, header })?;
            if let Some(&addr) = hops
                .iter()
                .find(|a| !self.allowed_ips.contains(**a) && !self.trusted_proxies.contains(**a))
            {
                return Err(Refusal::ForwardedNotAllowed { peer, header, addr });
            }
            if header == self.forwarded_header {
                chain = hops;
            }
        }
        if !from_proxy {
            return Ok(peer);
        }
        // Each trusted hop vouches for the one before it; the first hop we do not trust is the
        // client. When every hop is a trusted proxy, the farthest one named is.
        let client = chain
            .iter()
            .rev()
            .find(|a| !self.trusted_proxies.contains(**a))
            .or(chain.first())
            .copied()
            .ok_or(Refusal::NoClientNamed {
                peer,
                header: self.forwarded_header,
            })?;
        if self.allowed_ips.contains(client) {
            Ok(client)
        } else {
            Err(Refusal::NotAllowed(client))
        }
    }

    /// Whether the host the request was sent to may see the toolbar: every authority it names
    /// (the URI's and the `Host` header) is a loopback name, an IP literal or an allowed host. A
    /// request that names none (HTTP/1.0) passes: browsers always send one.
    pub(crate) fn host(&self, uri: &Uri, headers: &HeaderMap) -> Result<(), Refusal> {
        let from_header = headers.get_all(header::HOST).map(|value| {
            Authority::try_from(value.as_bytes())
                .map_err(|_| String::from_utf8_lossy(value.as_bytes()).into_owned())
        });
        for authority in uri
            .authority()
            .cloned()
            .map(Ok)
            .into_iter()
            .chain(from_header)
        {
            let allowed = authority
                .as_ref()
                .is_ok_and(|a| self.is_allowed_host(a.host()));
            if !allowed {
                let shown = authority.map_or_else(|raw| raw, |a| a.as_str().to_owned());
                return Err(Refusal::ForeignHost(shown));
            }
        }
        Ok(())
    }

    fn is_allowed_host(&self, host: &str) -> bool {
        if host.starts_with('[') {
            return host
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .is_some_and(|h| h.parse::<Ipv6Addr>().is_ok());
        }
        if host.parse::<Ipv4Addr>().is_ok() {
            return true;
        }
        let host = normalize_host(host);
        host == "localhost"
            || host.ends_with(".localhost")
            || self.allowed_hosts.iter().any(|allowed| {
                allowed
                    .strip_prefix('.')
                    .map_or(host == *allowed, |domain| {
                        host == domain || host.ends_with(allowed.as_str())
                    })
            })
    }
}

/// Why a `POST` action is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ActionRefusal {
    /// No `X-Debug-Toolbar-Action: 1`: not sent by the toolbar's script.
    Unmarked,
    /// `Sec-Fetch-Site` says another site sent it.
    CrossSite,
    /// `Origin` is not the request's own.
    ForeignOrigin,
}

impl ActionRefusal {
    /// What the refused client is told.
    pub(crate) fn message(self) -> &'static str {
        match self {
            ActionRefusal::Unmarked => {
                "Forbidden: toolbar actions are sent by the toolbar's script, with its X-Debug-Toolbar-Action header."
            }
            ActionRefusal::CrossSite | ActionRefusal::ForeignOrigin => {
                "Forbidden: toolbar actions are accepted from the toolbar's own origin only."
            }
        }
    }

    /// Logs the refusal, once per reason.
    pub(crate) fn log_once(self) {
        if REFUSED_ACTIONS.first(self) {
            let why = match self {
                ActionRefusal::Unmarked => "without the X-Debug-Toolbar-Action header",
                ActionRefusal::CrossSite => "sent by another site (Sec-Fetch-Site)",
                ActionRefusal::ForeignOrigin => "from another origin (Origin)",
            };
            tracing::info!(
                target: "debug_toolbar",
                "debug toolbar refused a POST action {why}: only the toolbar's own script may \
                 run actions (a cross-site request forgery, or a client of your own that \
                 should send X-Debug-Toolbar-Action: 1 from the page's origin)"
            );
        }
    }
}

/// Whether a `POST` action carries the toolbar's marks: its own header, and nothing saying it
/// comes from another site or origin. Requests without `Sec-Fetch-Site` or `Origin` (older
/// browsers, scripts) are judged by the header alone.
pub(crate) fn action_marks(uri: &Uri, headers: &HeaderMap) -> Result<(), ActionRefusal> {
    if headers.get(ACTION_HEADER).map(|v| v.as_bytes()) != Some(b"1") {
        return Err(ActionRefusal::Unmarked);
    }
    same_origin(uri, headers)
}

/// Whether nothing says the request comes from another site or origin: no cross-site
/// `Sec-Fetch-Site`, no `Origin` but the request's own host and port. Clients that send
/// neither (scripts, OpenTelemetry SDKs, MCP clients, older browsers) pass.
pub(crate) fn same_origin(uri: &Uri, headers: &HeaderMap) -> Result<(), ActionRefusal> {
    if let Some(site) = headers.get(SEC_FETCH_SITE)
        && !(site.as_bytes().eq_ignore_ascii_case(b"same-origin")
            || site.as_bytes().eq_ignore_ascii_case(b"none"))
    {
        return Err(ActionRefusal::CrossSite);
    }
    for origin in headers.get_all(header::ORIGIN) {
        if !is_own_origin(origin.as_bytes(), uri, headers) {
            return Err(ActionRefusal::ForeignOrigin);
        }
    }
    Ok(())
}

/// Whether `origin` (`scheme://host[:port]`) names the host and port the request was sent to.
/// The scheme is not compared: behind a proxy that ends TLS, the toolbar cannot see it.
fn is_own_origin(origin: &[u8], uri: &Uri, headers: &HeaderMap) -> bool {
    let Ok(origin) = Uri::try_from(origin) else {
        return false;
    };
    let (Some(scheme), Some(theirs)) = (origin.scheme_str(), origin.authority()) else {
        return false;
    };
    if origin.path() != "/" && !origin.path().is_empty() {
        return false;
    }
    let default_port = match scheme {
        "http" => 80,
        "https" => 443,
        _ => return false,
    };
    let ours = uri.authority().cloned().or_else(|| {
        headers
            .get(header::HOST)
            .and_then(|v| Authority::try_from(v.as_bytes()).ok())
    });
    ours.is_some_and(|ours| {
        ours.host().eq_ignore_ascii_case(theirs.host())
            && ours.port_u16().unwrap_or(default_port) == theirs.port_u16().unwrap_or(default_port)
    })
}

impl Refusal {
    /// Logs the refusal at INFO, once per address (or host) and reason, naming the setting that
    /// would change it.
    pub(crate) fn log_once(&self) {
        match self {
            Refusal::NoPeer => {}
            Refusal::NotAllowed(client) => {
                if first_refusal(*client) {
                    tracing::info!(
                        target: "debug_toolbar",
                        "debug toolbar not shown to {client}: not in DEBUG_TOOLBAR_ALLOWED_IPS \
                         (set it, or DEBUG_TOOLBAR_TRUSTED_PROXIES when a proxy is in front)"
                    );
                }
            }
            Refusal::ForwardedNotAllowed { peer, header, addr } => {
                if REFUSED.first(self.clone()) {
                    let header = header.name();
                    tracing::info!(
                        target: "debug_toolbar",
                        "debug toolbar refused a request from {peer} whose {header} names {addr}, \
                         which is neither in DEBUG_TOOLBAR_ALLOWED_IPS nor in \
                         DEBUG_TOOLBAR_TRUSTED_PROXIES: allow the clients a proxy forwards with \
                         DEBUG_TOOLBAR_ALLOWED_IPS, and trust the proxies with \
                         DEBUG_TOOLBAR_TRUSTED_PROXIES"
                    );
                }
            }
            Refusal::Unreadable { peer, header } => {
                if REFUSED.first(self.clone()) {
                    let header = header.name();
                    tracing::info!(
                        target: "debug_toolbar",
                        "debug toolbar refused a request from {peer} whose {header} has a hop \
                         that is not an IP address (unknown, obfuscated or malformed): make the \
                         proxy forward client addresses, and set DEBUG_TOOLBAR_FORWARDED_HEADER \
                         to the header it sets"
                    );
                }
            }
            Refusal::NoClientNamed { peer, header } => {
                if REFUSED.first(self.clone()) {
                    let header = header.name();
                    tracing::info!(
                        target: "debug_toolbar",
                        "debug toolbar refused a request from trusted proxy {peer} that names no \
                         client in {header}: set DEBUG_TOOLBAR_FORWARDED_HEADER to the header the \
                         proxy sets (x-forwarded-for, forwarded or x-real-ip)"
                    );
                }
            }
            Refusal::ForeignHost(host) => {
                if REFUSED.first(self.clone()) {
                    tracing::info!(
                        target: "debug_toolbar",
                        "debug toolbar refused a request for host {host:?}: not a loopback name \
                         or an IP literal (set DEBUG_TOOLBAR_ALLOWED_HOSTS to allow it)"
                    );
                }
            }
        }
    }
}

/// Refusals other than of an address already told about.
static REFUSED: LazyLock<LogOnce<Refusal>> = LazyLock::new(|| LogOnce::new(1024));
/// Addresses already told about, so that each refused client is logged once.
static REFUSED_CLIENTS: LazyLock<LogOnce<IpAddr>> = LazyLock::new(|| LogOnce::new(1024));
/// Action refusals already told about.
static REFUSED_ACTIONS: LazyLock<LogOnce<ActionRefusal>> = LazyLock::new(|| LogOnce::new(8));

thread_local! {
    /// The client this worker refused last: a client refused again, the common case, then
    /// costs one comparison.
    static LAST_REFUSED: std::cell::Cell<Option<IpAddr>> = const { std::cell::Cell::new(None) };
    /// The addresses this worker already looked up in [`REFUSED_CLIENTS`], so that clients
    /// taking turns cost no lock either.
    static SEEN_REFUSED: std::cell::RefCell<Vec<IpAddr>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether `client` is refused for the first time in this process.
fn first_refusal(client: IpAddr) -> bool {
    if LAST_REFUSED.get() == Some(client) {
        return false;
    }
    LAST_REFUSED.set(Some(client));
    SEEN_REFUSED.with(|seen| {
        let mut seen = seen.borrow_mut();
        if seen.contains(&client) {
            return false;
        }
        if seen.len() < 64 {
            seen.push(client);
        }
        REFUSED_CLIENTS.first(client)
    })
}

/// A set of networks, ready for quick membership tests on every request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Nets {
    /// (network, mask) of each IPv4 network.
    v4: Vec<(u32, u32)>,
    /// (network, mask) of each IPv6 network.
    v6: Vec<(u128, u128)>,
}

impl Nets {
    /// The networks, IPv4-mapped IPv6 ones (`::ffff:10.0.0.0/104`) as the IPv4 networks they map.
    pub(crate) fn new(nets: &[IpNet]) -> Self {
        const MAPPED: u128 = 0xffff_0000_0000;
        let mut set = Self::default();
        for net in nets {
            match net {
                IpNet::V4(n) => set
                    .v4
                    .push((u32::from(n.network()), u32::from(n.netmask()))),
                IpNet::V6(n) => {
                    let (network, mask) = (u128::from(n.network()), u128::from(n.netmask()));
                    if n.prefix_len() >= 96 && network >> 32 == MAPPED >> 32 {
                        // Only the low 32 bits vary: an IPv4 network.
                        set.v4.push((network as u32, mask as u32));
                    } else {
                        if MAPPED & mask == network {
                            // The network holds every IPv4-mapped address.
                            set.v4.push((0, 0));
                        }
                        set.v6.push((network, mask));
                    }
                }
            }
        }
        set
    }

    /// Whether `addr` is in one of the networks (IPv4-mapped IPv6 addresses count as IPv4).
    pub(crate) fn contains(&self, addr: IpAddr) -> bool {
        match canonical(addr) {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                self.v4.iter().any(|&(net, mask)| a & mask == net)
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                self.v6.iter().any(|&(net, mask)| a & mask == net)
            }
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) as IPv4.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        IpAddr::V4(_) => addr,
    }
}

/// The addresses `header` names, nearest hop last; empty when the request does not carry it,
/// `None` when a hop is not an address.
fn hops(headers: &HeaderMap, header: ForwardedHeader) -> Option<Vec<IpAddr>> {
    let mut hops = Vec::new();
    for value in headers.get_all(header.name()) {
        let value = value.to_str().ok()?;
        for item in value.split(',') {
            let node = match header {
                ForwardedHeader::Forwarded => forwarded_for(item)?,
                ForwardedHeader::XForwardedFor | ForwardedHeader::XRealIp => item,
            };
            hops.push(parse_node(node.trim())?);
        }
    }
    Some(hops)
}

/// The `for=` value of one `Forwarded` element; `None` when it has none.
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim().eq_ignore_ascii_case("for").then_some(value)
    })
}

/// An address as forwarding headers write it: `1.2.3.4`, `1.2.3.4:80`, `"[::1]:80"`, `[::1]`,
/// `::1`. `None` for anything else, such as `unknown` or an obfuscated `_node`.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = match node.strip_prefix('"') {
        Some(quoted) => quoted.strip_suffix('"')?,
        None => node,
    };
    let addr = node
        .parse::<IpAddr>()
        .ok()
        .or_else(|| node.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            node.strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<Ipv6Addr>()
                .ok()
                .map(IpAddr::V6)
        })?;
    Some(canonical(addr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;
    use std::collections::HashMap;

    /// The access settings the `DEBUG_TOOLBAR_*` variables `vars` make.
    fn access(vars: &[(&str, &str)]) -> Access {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let config = ToolbarConfig::builder()
            .vars(|name| vars.get(name).cloned())
            .expect("valid variables")
            .build();
        Access::new(&config)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    const ALLOWED: &str = "DEBUG_TOOLBAR_ALLOWED_IPS";
    const TRUSTED: &str = "DEBUG_TOOLBAR_TRUSTED_PROXIES";
    const HEADER: &str = "DEBUG_TOOLBAR_FORWARDED_HEADER";
    const XFF: ForwardedHeader = ForwardedHeader::XForwardedFor;
    const FWD: ForwardedHeader = ForwardedHeader::Forwarded;
    const REAL: ForwardedHeader = ForwardedHeader::XRealIp;

    #[test]
    fn the_client_is_decided_by_one_forwarding_model_that_fails_closed() {
        // What nginx in front on the same host with `proxy_add_x_forwarded_for` looks like.
        let nginx = [(TRUSTED, "127.0.0.1/32"), (ALLOWED, "127.0.0.2/32")];
        let same_host_proxy = [(TRUSTED, "127.0.0.1/32")];
        let behind_lan_proxy = [
            (TRUSTED, "172.17.0.1/32,10.0.0.0/8"),
            (ALLOWED, "192.168.0.0/16"),
        ];
        let not_allowed = |peer: &str, addr: &str, header| {
            Err(Refusal::ForwardedNotAllowed {
                peer: ip(peer),
                header,
                addr: ip(addr),
            })
        };
        let unreadable = |peer: &str, header| {
            Err(Refusal::Unreadable {
                peer: ip(peer),
                header,
            })
        };
        type Row<'a> = (
            &'a str,
            &'a [(&'a str, &'a str)],
            Option<&'a str>,
            &'a [(&'a str, &'a str)],
            Result<IpAddr, Refusal>,
        );
        let table: &[Row<'_>] = &[
            // The defaults: loopback only, no proxy trusted.
            (
                "loopback peer",
                &[],
                Some("127.0.0.1"),
                &[],
                Ok(ip("127.0.0.1")),
            ),
            ("IPv6 loopback peer", &[], Some("::1"), &[], Ok(ip("::1"))),
            (
                "IPv4-mapped loopback peer",
                &[],
                Some("::ffff:127.0.0.1"),
                &[],
                Ok(ip("127.0.0.1")),
            ),
            ("no peer address", &[], None, &[], Err(Refusal::NoPeer)),
            (
                "remote peer",
                &[],
                Some("203.0.113.9"),
                &[],
                Err(Refusal::NotAllowed(ip("203.0.113.9"))),
            ),
            (
                "remote peer claiming loopback without trust",
                &[],
                Some("203.0.113.9"),
                &[
                    ("x-forwarded-for", "127.0.0.1"),
                    ("forwarded", "for=127.0.0.1"),
                ],
                Err(Refusal::NotAllowed(ip("203.0.113.9"))),
            ),
            (
                "untrusted same-host proxy forwarding a remote client (XFF)",
                &[],
                Some("127.0.0.1"),
                &[("x-forwarded-for", "203.0.113.9")],
                not_allowed("127.0.0.1", "203.0.113.9", XFF),
            ),
            (
                "untrusted same-host proxy forwarding a remote client (Forwarded)",
                &[],
                Some("127.0.0.1"),
                &[("forwarded", "for=\"[2001:db8::9]:4711\";proto=https")],
                not_allowed("127.0.0.1", "2001:db8::9", FWD),
            ),
            (
                "untrusted same-host proxy forwarding a remote client (X-Real-IP)",
                &[],
                Some("::1"),
                &[("x-real-ip", "203.0.113.9")],
                not_allowed("::1", "203.0.113.9", REAL),
            ),
            (
                "dev proxy forwarding loopback",
                &[],
                Some("127.0.0.1"),
                &[
                    ("x-forwarded-for", "127.0.0.1"),
                    ("x-forwarded-proto", "http"),
                ],
                Ok(ip("127.0.0.1")),
            ),
            (
                "dev proxy forwarding IPv6 loopback with ports",
                &[],
                Some("::1"),
                &[
                    ("x-forwarded-for", "[::1]:51234"),
                    ("forwarded", "for=\"[::1]:51234\""),
                ],
                Ok(ip("::1")),
            ),
            (
                "dev proxy forwarding an unknown hop",
                &[],
                Some("127.0.0.1"),
                &[("forwarded", "for=unknown")],
                unreadable("127.0.0.1", FWD),
            ),
            // nginx in front (trusted 127.0.0.1, clients 127.0.0.2 allowed): the attacks.
            (
                "client-written Forwarded beside the XFF nginx appended",
                &nginx,
                Some("127.0.0.1"),
                &[
                    ("x-forwarded-for", "203.0.113.9"),
                    ("forwarded", "for=127.0.0.2"),
                ],
                not_allowed("127.0.0.1", "203.0.113.9", XFF),
            ),
            (
                "client-written allowed address left of the one nginx appended",
                &nginx,
                Some("127.0.0.1"),
                &[("x-forwarded-for", "127.0.0.2, 203.0.113.9")],
                not_allowed("127.0.0.1", "203.0.113.9", XFF),
            ),
            (
                "allowed client through nginx",
                &nginx,
                Some("127.0.0.1"),
                &[("x-forwarded-for", "127.0.0.2")],
                Ok(ip("127.0.0.2")),
            ),
            (
                "trusted proxy naming no client",
                &same_host_proxy,
                Some("127.0.0.1"),
                &[],
                Err(Refusal::NoClientNamed {
                    peer: ip("127.0.0.1"),
                    header: XFF,
                }),
            ),
            (
                "trusted proxy naming the client only in another header",
                &nginx,
                Some("127.0.0.1"),
                &[("forwarded", "for=127.0.0.2")],
                Err(Refusal::NoClientNamed {
                    peer: ip("127.0.0.1"),
                    header: XFF,
                }),
            ),
            (
                "Forwarded: for=unknown from a trusted proxy",
                &same_host_proxy,
                Some("127.0.0.1"),
                &[("forwarded", "for=unknown")],
                unreadable("127.0.0.1", FWD),
            ),
            (
                "Forwarded: for=_hidden from a trusted proxy",
                &same_host_proxy,
                Some("127.0.0.1"),
                &[("forwarded", "for=_hidden;proto=http")],
                unreadable("127.0.0.1", FWD),
            ),
            (
                "Forwarded element without for=",
                &same_host_proxy,
                Some("127.0.0.1"),
                &[("forwarded", "proto=https;host=example.test")],
                unreadable("127.0.0.1", FWD),
            ),
            (
                "XFF ending in unknown",
                &same_host_proxy,
                Some("127.0.0.1"),
                &[("x-forwarded-for", "127.0.0.1, unknown")],
                unreadable("127.0.0.1", XFF),
            ),
            (
                "garbage in XFF",
                &same_host_proxy,
                Some("127.0.0.1"),
                &[("x-forwarded-for", "127.0.0.1, <script>")],
                unreadable("127.0.0.1", XFF),
            ),
            (
                "an empty hop in XFF",
                &same_host_proxy,
                Some("127.0.0.1"),
                &[("x-forwarded-for", "127.0.0.1,,127.0.0.1")],
                unreadable("127.0.0.1", XFF),
            ),
            (
                "an address out of range in X-Real-IP",
                &same_host_proxy,
                Some("127.0.0.1"),
                &[("x-real-ip", "127.0.0.300")],
                unreadable("127.0.0.1", REAL),
            ),
            (
                "an unclosed IPv6 bracket",
                &same_host_proxy,
                Some("127.0.0.1"),
                &[("x-forwarded-for", "[::1")],
                unreadable("127.0.0.1", XFF),
            ),
            (
                "local browser through a trusted same-host proxy: every hop trusted",
                &same_host_proxy,
                Some("127.0.0.1"),
                &[("x-forwarded-for", "127.0.0.1")],
                Ok(ip("127.0.0.1")),
            ),
            // A LAN behind two proxies.
            (
                "client behind two trusted proxies",
                &behind_lan_proxy,
                Some("172.17.0.1"),
                &[("x-forwarded-for", "192.168.1.7, 10.0.0.2")],
                Ok(ip("192.168.1.7")),
            ),
            (
                "XFF split over several header lines",
                &behind_lan_proxy,
                Some("172.17.0.1"),
                &[
                    ("x-forwarded-for", "192.168.1.7"),
                    ("x-forwarded-for", "10.0.0.2"),
                ],
                Ok(ip("192.168.1.7")),
            ),
            (
                "a trusted hop written as a client, left of nothing else",
                &behind_lan_proxy,
                Some("172.17.0.1"),
                &[("x-forwarded-for", "10.0.0.2")],
                Err(Refusal::NotAllowed(ip("10.0.0.2"))),
            ),
            (
                "direct client of the LAN, no proxy",
                &behind_lan_proxy,
                Some("192.168.1.7"),
                &[],
                Ok(ip("192.168.1.7")),
            ),
            (
                "Forwarded chosen, IPv6 client behind two proxies",
                &[
                    (TRUSTED, "10.0.0.0/8"),
                    (ALLOWED, "2001:db8::/32"),
                    (HEADER, "forwarded"),
                ],
                Some("10.0.0.3"),
                &[(
                    "forwarded",
                    "for=\"[2001:db8::1]:4711\";proto=https, for=10.0.0.2",
                )],
                Ok(ip("2001:db8::1")),
            ),
            (
                "X-Real-IP chosen",
                &[
                    (TRUSTED, "10.0.0.5"),
                    (ALLOWED, "192.168.0.0/16"),
                    (HEADER, "x-real-ip"),
                ],
                Some("10.0.0.5"),
                &[("x-real-ip", "192.168.1.7")],
                Ok(ip("192.168.1.7")),
            ),
            (
                "X-Real-IP chosen, a client-written XFF beside it",
                &[
                    (TRUSTED, "10.0.0.5"),
                    (ALLOWED, "192.168.0.0/16"),
                    (HEADER, "x-real-ip"),
                ],
                Some("10.0.0.5"),
                &[
                    ("x-real-ip", "192.168.1.7"),
                    ("x-forwarded-for", "127.0.0.1"),
                ],
                not_allowed("10.0.0.5", "127.0.0.1", XFF),
            ),
            (
                "X-Real-IP chosen, the proxy sets none",
                &[
                    (TRUSTED, "10.0.0.5"),
                    (ALLOWED, "192.168.0.0/16"),
                    (HEADER, "x-real-ip"),
                ],
                Some("10.0.0.5"),
                &[("x-forwarded-for", "192.168.1.7")],
                Err(Refusal::NoClientNamed {
                    peer: ip("10.0.0.5"),
                    header: REAL,
                }),
            ),
            // Allow-list entries written as IPv4-mapped IPv6.
            (
                "::ffff: entry matches its IPv4 peer",
                &[(ALLOWED, "::ffff:10.1.2.3")],
                Some("10.1.2.3"),
                &[],
                Ok(ip("10.1.2.3")),
            ),
            (
                "::ffff: network matches its IPv4 peers",
                &[(ALLOWED, "::ffff:10.1.0.0/112")],
                Some("::ffff:10.1.9.9"),
                &[],
                Ok(ip("10.1.9.9")),
            ),
            (
                "::ffff: network does not match outside it",
                &[(ALLOWED, "::ffff:10.1.0.0/112")],
                Some("10.2.0.1"),
                &[],
                Err(Refusal::NotAllowed(ip("10.2.0.1"))),
            ),
            (
                "::ffff: entries for proxies and forwarded clients",
                &[
                    (TRUSTED, "::ffff:172.17.0.1"),
                    (ALLOWED, "::ffff:192.168.1.7"),
                ],
                Some("172.17.0.1"),
                &[("x-forwarded-for", "::ffff:192.168.1.7")],
                Ok(ip("192.168.1.7")),
            ),
        ];
        for (name, vars, peer, headers, expected) in table {
            let mut map = HeaderMap::new();
            for (header, value) in *headers {
                map.append(
                    HeaderName::from_bytes(header.as_bytes()).expect("a header name"),
                    HeaderValue::from_str(value).expect("a header value"),
                );
            }
            let got = access(vars).client(peer.map(ip), &map);
            assert_eq!(&got, expected, "{name}");
        }
    }

    #[test]
    fn networks_holding_every_mapped_address_hold_every_ipv4_address() {
        let nets = Nets::new(&["::/0".parse().expect("net")]);
        assert!(nets.contains(ip("198.51.100.4")));
        assert!(nets.contains(ip("2001:db8::1")));
        let nets = Nets::new(&["2001:db8::/32".parse().expect("net")]);
        assert!(!nets.contains(ip("198.51.100.4")));
    }
}
