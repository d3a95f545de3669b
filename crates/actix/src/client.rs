//! Who the client is, and whether it may see the toolbar.

use std::net::IpAddr;

use actix_web::http::header::{HeaderMap, HeaderName};
use ipnet::IpNet;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const FORWARDED: HeaderName = HeaderName::from_static("forwarded");

/// A set of networks, ready for quick membership tests on every request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Nets {
    /// (network, mask) of each IPv4 network.
    v4: Vec<(u32, u32)>,
    /// (network, mask) of each IPv6 network.
    v6: Vec<(u128, u128)>,
}

impl Nets {
    pub(crate) fn new(nets: &[IpNet]) -> Self {
        let mut set = Self::default();
        for net in nets {
            match net {
                IpNet::V4(n) => set
                    .v4
                    .push((u32::from(n.network()), u32::from(n.netmask()))),
                IpNet::V6(n) => set
                    .v6
                    .push((u128::from(n.network()), u128::from(n.netmask()))),
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

    fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
}

/// The client's address: the TCP peer, or, when the peer is a trusted proxy, the last address
/// in the forwarding headers that is not itself a trusted proxy.
#[inline]
pub(crate) fn client_addr(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted_proxies: &Nets,
) -> Option<IpAddr> {
    let peer = peer.map(canonical)?;
    if trusted_proxies.is_empty() || !trusted_proxies.contains(peer) {
        return Some(peer);
    }
    Some(forwarded_client(peer, headers, trusted_proxies))
}

/// The client behind `peer`, a trusted proxy, as the forwarding headers tell it.
#[inline(never)]
fn forwarded_client(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &Nets) -> IpAddr {
    // Walk the chain from the nearest hop outwards; every hop we trust vouches for the next.
    let chain = forwarded_chain(headers);
    let mut client = peer;
    for hop in chain.iter().rev() {
        let Some(addr) = hop else {
            // An address we cannot parse ends the chain we can vouch for.
            break;
        };
        client = *addr;
        if !trusted_proxies.contains(client) {
            break;
        }
    }
    client
}

/// IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) as IPv4.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        IpAddr::V4(_) => addr,
    }
}

/// Addresses from `Forwarded` (`for=`) if present, else from `X-Forwarded-For`, in order.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<Option<IpAddr>> = headers
        .get_all(FORWARDED)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_node(value.trim()))
            })
        })
        .collect();
    if !forwarded.is_empty() {
        return forwarded;
    }
    headers
        .get_all(X_FORWARDED_FOR)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|item| parse_node(item.trim()))
        .collect()
}

/// An address as written in `Forwarded` or `X-Forwarded-For`: `1.2.3.4`, `1.2.3.4:80`,
/// `"[::1]:80"`, `[::1]`, `::1`.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim_matches('"');
    if let Ok(addr) = node.parse::<IpAddr>() {
        return Some(canonical(addr));
    }
    if let Some(rest) = node.strip_prefix('[') {
        let (inside, _) = rest.split_once(']')?;
        return inside.parse().ok().map(canonical);
    }
    let (host, _port) = node.rsplit_once(':')?;
    host.parse().ok().map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_headers_are_ignored_without_trusted_proxies() {
        let h = headers(&[("x-forwarded-for", "127.0.0.1")]);
        assert_eq!(
            client_addr(Some(ip("203.0.113.9")), &h, &Nets::default()),
            Some(ip("203.0.113.9"))
        );
    }

    #[test]
    fn trusted_proxy_reveals_the_client_but_not_spoofed_hops() {
        let proxy: IpNet = "172.17.0.1/32".parse().unwrap();
        // The client sent "127.0.0.1" itself; the proxy appended the real address.
        let h = headers(&[("x-forwarded-for", "127.0.0.1, 203.0.113.9")]);
        assert_eq!(
            client_addr(Some(ip("172.17.0.1")), &h, &Nets::new(&[proxy])),
            Some(ip("203.0.113.9"))
        );
    }

    #[test]
    fn forwarded_header_is_preferred_and_parsed() {
        let proxy: IpNet = "10.0.0.0/8".parse().unwrap();
        let h = headers(&[
            (
                "forwarded",
                "for=\"[2001:db8::1]:4711\";proto=https, for=10.0.0.2",
            ),
            ("x-forwarded-for", "127.0.0.1"),
        ]);
        assert_eq!(
            client_addr(Some(ip("10.0.0.3")), &h, &Nets::new(&[proxy])),
            Some(ip("2001:db8::1"))
        );
    }

    #[test]
    fn mapped_ipv4_is_matched_as_ipv4() {
        let nets = Nets::new(&["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()]);
        assert!(nets.contains(ip("::ffff:127.0.0.1")));
        assert!(nets.contains(ip("127.9.9.9")));
        assert!(nets.contains(ip("::1")));
        assert!(!nets.contains(ip("::ffff:10.0.0.1")));
        assert!(!nets.contains(ip("::2")));
    }

    #[test]
    fn garbage_in_forwarding_headers_stops_the_chain() {
        let proxy: IpNet = "172.17.0.1/32".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "127.0.0.1, <script>")]);
        assert_eq!(
            client_addr(Some(ip("172.17.0.1")), &h, &Nets::new(&[proxy])),
            Some(ip("172.17.0.1"))
        );
    }
}
