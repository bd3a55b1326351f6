//! Which address a request comes from, for the per-address sign-in limit and the audit
//! line: the TCP peer, unless the peer is a proxy the operator listed in
//! `trusted_proxies`; then the nearest hop of `X-Forwarded-For` that is not itself a
//! trusted proxy. Anyone can write `X-Forwarded-For`, so it is read only from peers the
//! operator vouches for, and only up to the first hop no trusted proxy wrote.

use std::fmt;
use std::net::IpAddr;

use axum::http::HeaderMap;

/// The address a request is accounted to (an extension set by [`crate::ops::observe`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// One address or network (`10.0.0.5`, `10.0.0.0/24`, `fd00::/8`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AddressRange {
    network: IpAddr,
    prefix: u8,
}

impl AddressRange {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("`{text}` is not an IP address or address/prefix"))?;
        let network = network.to_canonical();
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => match p.parse::<u8>() {
                Ok(p) if p <= bits => p,
                _ => return Err(format!("`{text}`: the prefix must be 0 to {bits}")),
            },
        };
        let range = Self { network, prefix };
        if range.masked(network) != network {
            return Err(format!(
                "`{text}` has bits set past its prefix (did you mean {}/{prefix}?)",
                range.masked(network)
            ));
        }
        Ok(range)
    }

    fn masked(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4((u32::from(v4) & mask).into())
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6((u128::from(v6) & mask).into())
            }
        }
    }

    /// Whether the range reaches well past one site's own networks: wider than a /24
    /// (IPv4) or a /48 (IPv6) and not inside a private, loopback, link-local or
    /// shared-address block. Trusting it lets any client there name its own address
    /// (`0.0.0.0/0` lets anyone), and so pick its own sign-in limit bucket.
    pub fn is_broad(&self) -> bool {
        const PRIVATE_V4: &[(&str, u8)] = &[
            ("10.0.0.0", 8),
            ("172.16.0.0", 12),
            ("192.168.0.0", 16),
            ("127.0.0.0", 8),
            ("100.64.0.0", 10),
            ("169.254.0.0", 16),
        ];
        const PRIVATE_V6: &[(&str, u8)] = &[("fc00::", 7), ("fe80::", 10), ("::1", 128)];
        let (narrow, private) = if self.network.is_ipv4() {
            (24, PRIVATE_V4)
        } else {
            (48, PRIVATE_V6)
        };
        if self.prefix >= narrow {
            return false;
        }
        !private.iter().any(|(network, prefix)| {
            network.parse::<IpAddr>().is_ok_and(|network| {
                let block = Self {
                    network,
                    prefix: *prefix,
                };
                self.prefix >= block.prefix && block.contains(self.network)
            })
        })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.network.is_ipv4() && self.masked(ip) == self.network
    }
}

impl fmt::Debug for AddressRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl fmt::Display for AddressRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// The proxies whose `X-Forwarded-For` is believed. Empty (the default): nobody's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<AddressRange>);

impl TrustedProxies {
    pub fn new(ranges: Vec<AddressRange>) -> Self {
        Self(ranges)
    }

    pub fn ranges(&self) -> &[AddressRange] {
        &self.0
    }

    /// The ranges trusted more widely than a balancer needs (see [`AddressRange::is_broad`]),
    /// each with why that matters, for the start-up log and `--check-config`.
    pub fn too_broad(&self) -> impl Iterator<Item = String> + '_ {
        self.0.iter().filter(|r| r.is_broad()).map(|r| {
            format!(
                "trusted_proxies has {r}, which holds addresses outside your own networks: a client connecting from there can write X-Forwarded-For and be counted as any address it names; list only the balancers' addresses"
            )
        })
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|r| r.contains(ip))
    }

    /// The client behind `peer`: `peer` itself unless it is trusted; then, reading
    /// `X-Forwarded-For` from the right (each proxy appends the address it saw), the
    /// first hop that is not a trusted proxy. A hop that does not parse stops the walk
    /// at the last trusted address: what lies left of it was written by the client.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        // Split as bytes: a balancer that appends to the client's own line keeps what
        // the client wrote, and a byte that is not text there must not hide the hop the
        // balancer wrote after it (taking the whole line for garbage would account the
        // client, and name it in the audit line, as the balancer).
        let hops: Vec<&[u8]> = headers
            .get_all("x-forwarded-for")
            .iter()
            .flat_map(|v| v.as_bytes().split(|b| *b == b','))
            .collect();
        let mut nearest = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = std::str::from_utf8(hop).ok().and_then(parse_hop) else {
                return nearest;
            };
            if !self.trusts(ip) {
                return ip;
            }
            nearest = ip;
        }
        nearest
    }
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<std::net::SocketAddr>()
        .ok()
        .map(|a| a.ip().to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn trusting(ranges: &[&str]) -> TrustedProxies {
        TrustedProxies::new(
            ranges
                .iter()
                .map(|r| AddressRange::parse(r).unwrap())
                .collect(),
        )
    }

    #[test]
    fn ranges_parse_and_match() {
        let r = AddressRange::parse("10.1.0.0/16").unwrap();
        assert!(r.contains(ip("10.1.200.3")));
        assert!(!r.contains(ip("10.2.0.1")));
        assert!(
            r.contains(ip("::ffff:10.1.0.9")),
            "v4-mapped v6 is the v4 address"
        );
        assert!(
            AddressRange::parse("0.0.0.0/0")
                .unwrap()
                .contains(ip("8.8.8.8"))
        );
        assert!(
            !AddressRange::parse("0.0.0.0/0")
                .unwrap()
                .contains(ip("::1"))
        );
        assert!(
            AddressRange::parse("fd00::/8")
                .unwrap()
                .contains(ip("fd12::1"))
        );
        assert!(
            AddressRange::parse("127.0.0.1")
                .unwrap()
                .contains(ip("127.0.0.1"))
        );
        assert!(
            !AddressRange::parse("127.0.0.1")
                .unwrap()
                .contains(ip("127.0.0.2"))
        );
        for bad in [
            "",
            "10.0.0.1/33",
            "10.0.0.1/24",
            "example.org",
            "10.0.0.0/-1",
            "::/129",
        ] {
            assert!(AddressRange::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ranges_reaching_past_a_site_are_broad() {
        for broad in [
            "0.0.0.0/0",
            "::/0",
            "8.0.0.0/8",
            "203.0.0.0/16",
            "2001:db8::/32",
            "0.0.0.0/1",
        ] {
            assert!(AddressRange::parse(broad).unwrap().is_broad(), "{broad}");
        }
        for narrow in [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.1.0/24",
            "100.64.0.0/10",
            "203.0.113.0/24",
            "198.51.100.7",
            "fd00::/8",
            "2001:db8:1::/48",
            "::1",
        ] {
            assert!(!AddressRange::parse(narrow).unwrap().is_broad(), "{narrow}");
        }
    }

    #[test]
    fn forwarded_for_is_read_only_from_trusted_peers() {
        let none = TrustedProxies::default();
        let lb = trusting(&["10.0.0.0/24"]);
        let cases: &[(&TrustedProxies, &str, &[&str], &str)] = &[
            // Trust nobody: the header is ignored, whatever it says.
            (&none, "198.51.100.7", &["203.0.113.1"], "198.51.100.7"),
            (&none, "10.0.0.5", &["203.0.113.1"], "10.0.0.5"),
            // A peer outside the trusted range forging the header: ignored.
            (&lb, "198.51.100.7", &["203.0.113.1"], "198.51.100.7"),
            // The balancer's hop is the client.
            (&lb, "10.0.0.5", &["203.0.113.1"], "203.0.113.1"),
            // A client's own forged hop left of the balancer's: the balancer's wins.
            (&lb, "10.0.0.5", &["1.1.1.1, 203.0.113.1"], "203.0.113.1"),
            // Two headers (haproxy adds its own line): read in order, rightmost first.
            (&lb, "10.0.0.5", &["1.1.1.1", "203.0.113.1"], "203.0.113.1"),
            // Chained trusted proxies are skipped.
            (&lb, "10.0.0.5", &["203.0.113.1, 10.0.0.9"], "203.0.113.1"),
            // Garbage where a trusted proxy should have written: stop at the last trusted.
            (
                &lb,
                "10.0.0.5",
                &["203.0.113.1, garbage, 10.0.0.9"],
                "10.0.0.9",
            ),
            // No header from a trusted peer: the peer.
            (&lb, "10.0.0.5", &[], "10.0.0.5"),
            // Ports and brackets.
            (&lb, "10.0.0.5", &["[2001:db8::1]:443"], "2001:db8::1"),
            (&lb, "10.0.0.5", &["203.0.113.1:5000"], "203.0.113.1"),
            // Spaces around a hop; a client's `unknown` left of the balancer's hop.
            (
                &lb,
                "10.0.0.5",
                &[" unknown ,  203.0.113.1 "],
                "203.0.113.1",
            ),
            // A v4-mapped peer is the v4 peer.
            (&lb, "::ffff:10.0.0.5", &["203.0.113.1"], "203.0.113.1"),
        ];
        // A byte that is not text in what the client wrote, on the line the balancer
        // appended to: the balancer's hop still names the client.
        let mut odd = HeaderMap::new();
        odd.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"1.1.1.1\xff, 203.0.113.1").unwrap(),
        );
        assert_eq!(lb.client(ip("10.0.0.5"), &odd), ip("203.0.113.1"));
        for (proxies, peer, xff, want) in cases {
            assert_eq!(
                proxies.client(ip(peer), &headers(xff)),
                ip(want),
                "peer {peer}, XFF {xff:?}"
            );
        }
    }
}
