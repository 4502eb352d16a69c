//! The client's address behind reverse proxies. Only a peer inside `trusted_proxies` is believed
//! when it says, in `Forwarded` (RFC 7239) or else `X-Forwarded-For`, whom it forwards for: the
//! client is the right-most address in that chain that is not itself a trusted proxy. From any
//! other peer the headers are ignored, so nobody can pick their own rate-limit bucket or audit
//! address. The resolved address replaces the connection's `ConnectInfo` before any handler
//! runs, so every edge (limits, audit's `ipAddress`) reads the client, not the proxy.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use crate::state::SharedState;

/// An address block (`10.0.0.0/8`, `2001:db8::/32`; a bare address is one host).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let bad = || format!("\"{s}\" is not an IP address or CIDR block (e.g. 10.0.0.0/8)");
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s.trim(), None),
        };
        let network: IpAddr = addr.parse().map_err(|_| bad())?;
        let network = network.to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Cidr { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(u32::from(net).into(), u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(u128::from(net), u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: u128, b: u128, prefix: u8, bits: u32) -> bool {
    let host_bits = bits - u32::from(prefix);
    host_bits >= bits || (a >> host_bits) == (b >> host_bits)
}

/// A list of address blocks (who may read `/metrics`).
#[derive(Clone, Debug, Default)]
pub struct AddressBlocks(Vec<Cidr>);

impl AddressBlocks {
    pub fn parse<S: AsRef<str>>(blocks: &[S]) -> Result<AddressBlocks, String> {
        let blocks = blocks.iter().map(|b| Cidr::parse(b.as_ref()));
        Ok(AddressBlocks(blocks.collect::<Result<_, _>>()?))
    }

    /// The loopback addresses only.
    pub fn loopback() -> AddressBlocks {
        AddressBlocks::parse(&["127.0.0.0/8", "::1"]).unwrap_or_default()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }
}

/// The proxies whose forwarding headers are believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    pub fn parse<S: AsRef<str>>(blocks: &[S]) -> Result<TrustedProxies, String> {
        let blocks = blocks.iter().map(|b| Cidr::parse(b.as_ref()));
        Ok(TrustedProxies(blocks.collect::<Result<_, _>>()?))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// The client of a request that arrived from `peer` with `headers`.
    pub fn client_of(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        // Right to left: each hop vouches for the one before it only if it is trusted.
        for hop in forwarded_chain(headers).into_iter().rev() {
            match hop {
                Some(ip) => {
                    client = ip.to_canonical();
                    if !self.trusts(client) {
                        break;
                    }
                }
                // An unknown or obfuscated hop: nothing before it can be believed.
                None => break,
            }
        }
        client
    }
}

/// The addresses the proxies recorded, left (client) to right (nearest proxy): `Forwarded`'s
/// `for=` when present, else `X-Forwarded-For`. `None` for a hop that is not an address.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name: &str| -> Vec<String> {
        (headers.get_all(name).iter())
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| split_outside_quotes(v, ','))
            .collect()
    };
    let forwarded = values("forwarded");
    if !forwarded.is_empty() {
        return forwarded.iter().map(|element| for_of(element)).collect();
    }
    values("x-forwarded-for")
        .iter()
        .map(|hop| node_address(hop))
        .collect()
}

/// The `for=` address of one `Forwarded` element (`for=192.0.2.60;proto=https`).
fn for_of(element: &str) -> Option<IpAddr> {
    split_outside_quotes(element, ';').iter().find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("for")
            .then(|| node_address(value.trim().trim_matches('"')))
            .flatten()
    })
}

/// An address with or without a port: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]:4711`.
fn node_address(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    node.parse::<IpAddr>()
        .ok()
        .or_else(|| node.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            let inside = node.strip_prefix('[')?.split(']').next()?;
            inside.parse().ok()
        })
}

fn split_outside_quotes(s: &str, sep: char) -> Vec<String> {
    let (mut parts, mut current, mut quoted) = (Vec::new(), String::new(), false);
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c == sep && !quoted => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    parts.retain(|p| !p.trim().is_empty());
    parts
}

/// Replaces the connection's address with the client's, as [`TrustedProxies::client_of`]
/// resolves it.
pub async fn resolve(State(state): State<SharedState>, mut req: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let client = state.trusted_proxies.client_of(peer.ip(), req.headers());
        if client != peer.ip() {
            req.extensions_mut()
                .insert(ConnectInfo(SocketAddr::new(client, 0)));
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                v.parse().expect("value"),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn blocks_parse_and_contain() {
        let net = Cidr::parse("10.1.0.0/16").expect("v4");
        assert!(net.contains(ip("10.1.200.3")) && !net.contains(ip("10.2.0.1")));
        assert!(net.contains(ip("::ffff:10.1.0.9")), "v4-mapped peers");
        assert!(
            Cidr::parse("2001:db8::/32")
                .expect("v6")
                .contains(ip("2001:db8:1::1"))
        );
        assert!(
            Cidr::parse("0.0.0.0/0")
                .expect("all")
                .contains(ip("8.8.8.8"))
        );
        assert!(
            Cidr::parse("127.0.0.1")
                .expect("host")
                .contains(ip("127.0.0.1"))
        );
        for bad in ["10.0.0.0/33", "nonsense", "10.0.0.0/x", "::/129"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_a_trusted_peer_is_believed_and_the_rightmost_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8"]).expect("proxies");
        let xff = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.0.0.2")]);
        assert_eq!(proxies.client_of(ip("192.0.2.9"), &xff), ip("192.0.2.9"));
        assert_eq!(proxies.client_of(ip("10.0.0.1"), &xff), ip("203.0.113.7"));
        let rfc = headers(&[(
            "forwarded",
            "for=6.6.6.6, for=\"[2001:db8:cafe::17]:4711\";proto=https, for=10.0.0.3",
        )]);
        assert_eq!(
            proxies.client_of(ip("10.0.0.1"), &rfc),
            ip("2001:db8:cafe::17")
        );
        let hidden = headers(&[("forwarded", "for=6.6.6.6, for=_hidden, for=10.0.0.3")]);
        assert_eq!(proxies.client_of(ip("10.0.0.1"), &hidden), ip("10.0.0.3"));
        assert_eq!(
            proxies.client_of(ip("10.0.0.1"), &headers(&[])),
            ip("10.0.0.1")
        );
        let none = TrustedProxies::default();
        assert_eq!(none.client_of(ip("10.0.0.1"), &xff), ip("10.0.0.1"));
    }
}
