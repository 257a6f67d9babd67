//! SSRF guard: refuse endpoint URLs whose host resolves to loopback, private,
//! link-local (cloud metadata), multicast or otherwise non-public addresses,
//! unless the operator allows them (`HERALD_ALLOW_PRIVATE_URLS`, or
//! `HERALD_URL_ALLOWLIST` of CIDRs and host names). Ingest checks at create
//! time; the dispatcher checks again at send time and connects only to the
//! addresses it checked (no DNS rebinding window).

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GuardError {
    #[error("the host {0} could not be resolved")]
    Unresolvable(String),
    #[error("the host {host} resolves to {addr}, a {class} address, which is not allowed")]
    Blocked {
        host: String,
        addr: IpAddr,
        class: &'static str,
    },
    #[error("the url has no host")]
    NoHost,
}

/// One `HERALD_URL_ALLOWLIST` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowEntry {
    Net(IpNet),
    Host(String),
}

impl AllowEntry {
    /// A CIDR (`10.1.0.0/16`), an address, or a host name.
    pub fn parse(entry: &str) -> Result<Self, String> {
        if let Ok(net) = entry.parse::<IpNet>() {
            Ok(Self::Net(net))
        } else if let Ok(ip) = entry.parse::<IpAddr>() {
            Ok(Self::Net(IpNet::from(ip)))
        } else if !entry.is_empty() && !entry.contains('/') {
            Ok(Self::Host(entry.to_ascii_lowercase()))
        } else {
            Err("not a CIDR, address or host name".into())
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct UrlGuard {
    allow_private: bool,
    allowlist: Vec<AllowEntry>,
}

/// The class of a non-public address, or `None` if it is public.
pub fn blocked_class(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_class(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4_class(v4);
            }
            v6_class(v6)
        }
    }
}

fn v4_class(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        // 169.254.0.0/16 holds the cloud metadata service (169.254.169.254).
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_unspecified() || o[0] == 0 {
        Some("unspecified")
    } else if ip.is_broadcast() || o[0] >= 240 {
        Some("reserved")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("shared (CGNAT)")
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        Some("IETF protocol")
    } else if o[0] == 198 && (o[1] == 18 || o[1] == 19) {
        Some("benchmarking")
    } else if ip.is_documentation() {
        Some("documentation")
    } else {
        None
    }
}

fn v6_class(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if (s[0] & 0xfe00) == 0xfc00 {
        // fc00::/7 unique local, includes AWS's fd00:ec2::254 metadata.
        Some("private")
    } else if (s[0] & 0xffc0) == 0xfe80 {
        Some("link-local")
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        Some("documentation")
    } else if s[0] == 0x0064 && s[1] == 0xff9b {
        // NAT64 well-known prefix: may wrap an internal IPv4 address.
        Some("NAT64")
    } else if s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0 && s[4] == 0 && s[5] == 0 {
        Some("IPv4-compatible")
    } else {
        None
    }
}

impl UrlGuard {
    /// Guard with these allowlist entries (see [`AllowEntry::parse`]).
    pub fn new(allow_private: bool, allowlist: Vec<AllowEntry>) -> Self {
        Self {
            allow_private,
            allowlist,
        }
    }

    /// Parse `allowlist` entries first; the first bad one is the error.
    pub fn parse(allow_private: bool, allowlist: &[&str]) -> Result<Self, String> {
        let entries = allowlist
            .iter()
            .map(|e| AllowEntry::parse(e).map_err(|why| format!("{e:?}: {why}")))
            .collect::<Result<_, _>>()?;
        Ok(Self::new(allow_private, entries))
    }

    /// Allows nothing that is not public.
    pub fn strict() -> Self {
        Self::new(false, Vec::new())
    }

    /// Allows everything (tests and local development).
    pub fn permissive() -> Self {
        Self::new(true, Vec::new())
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.allowlist
            .iter()
            .any(|e| matches!(e, AllowEntry::Host(h) if *h == host))
    }

    fn ip_allowed(&self, ip: IpAddr) -> bool {
        self.allowlist
            .iter()
            .any(|e| matches!(e, AllowEntry::Net(n) if n.contains(&ip)))
    }

    /// Check resolved addresses for `host`: every one must be allowed.
    pub fn check_addrs(&self, host: &str, addrs: &[SocketAddr]) -> Result<(), GuardError> {
        if self.allow_private || self.host_allowed(host) {
            return Ok(());
        }
        for a in addrs {
            if let Some(class) = blocked_class(a.ip()) {
                if !self.ip_allowed(a.ip()) {
                    return Err(GuardError::Blocked {
                        host: host.to_string(),
                        addr: a.ip(),
                        class,
                    });
                }
            }
        }
        Ok(())
    }

    /// Resolve the URL's host and check every address. Returns the addresses
    /// to connect to (the caller must connect to these, not resolve again).
    pub async fn resolve(&self, url: &url::Url) -> Result<Vec<SocketAddr>, GuardError> {
        let host = url.host_str().ok_or(GuardError::NoHost)?;
        let port = url.port_or_known_default().unwrap_or(443);
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = if let Ok(ip) = bare.parse::<IpAddr>() {
            vec![SocketAddr::new(ip, port)]
        } else {
            tokio::net::lookup_host((bare, port))
                .await
                .map_err(|_| GuardError::Unresolvable(host.to_string()))?
                .collect()
        };
        if addrs.is_empty() {
            return Err(GuardError::Unresolvable(host.to_string()));
        }
        self.check_addrs(bare, &addrs)?;
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        SocketAddr::new(s.parse().expect("ip"), 80)
    }

    #[test]
    fn non_public_ranges_are_blocked() {
        for (ip, class) in [
            ("127.0.0.1", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("224.0.0.1", "multicast"),
            ("0.0.0.0", "unspecified"),
            ("100.64.0.1", "shared (CGNAT)"),
            ("::1", "loopback"),
            ("fd00:ec2::254", "private"),
            ("fe80::1", "link-local"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "link-local"),
            ("64:ff9b::a00:1", "NAT64"),
        ] {
            assert_eq!(blocked_class(ip.parse().expect("ip")), Some(class), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert_eq!(blocked_class(ip.parse().expect("ip")), None, "{ip}");
        }
    }

    #[test]
    fn allow_private_and_allowlists_open_the_guard() {
        let strict = UrlGuard::strict();
        assert!(strict.check_addrs("x", &[sa("127.0.0.1")]).is_err());
        assert!(strict
            .check_addrs("x", &[sa("8.8.8.8"), sa("10.0.0.1")])
            .is_err());
        assert!(strict.check_addrs("x", &[sa("8.8.8.8")]).is_ok());
        assert!(UrlGuard::permissive()
            .check_addrs("x", &[sa("127.0.0.1")])
            .is_ok());
        let listed = UrlGuard::parse(false, &["10.0.0.0/8", "internal.example"]).expect("guard");
        assert!(listed.check_addrs("x", &[sa("10.9.9.9")]).is_ok());
        assert!(listed
            .check_addrs("internal.example", &[sa("192.168.0.1")])
            .is_ok());
        assert!(listed.check_addrs("x", &[sa("192.168.0.1")]).is_err());
        assert!(UrlGuard::parse(false, &["10.0.0.0/99"]).is_err());
    }

    #[tokio::test]
    async fn literal_addresses_are_checked_without_dns() {
        let strict = UrlGuard::strict();
        let url = url::Url::parse("http://127.0.0.1:9/x").expect("url");
        assert!(matches!(
            strict.resolve(&url).await,
            Err(GuardError::Blocked {
                class: "loopback",
                ..
            })
        ));
        let url = url::Url::parse("http://[::1]:9/x").expect("url");
        assert!(strict.resolve(&url).await.is_err());
        assert_eq!(
            UrlGuard::permissive().resolve(&url).await,
            Ok(vec!["[::1]:9".parse().expect("addr")])
        );
    }
}
