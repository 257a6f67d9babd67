//! SSRF guard: refuse endpoint URLs whose host resolves to loopback, private,
//! link-local (cloud metadata), multicast or otherwise non-public addresses,
//! unless the operator allows them (`HERALD_ALLOW_PRIVATE_URLS`, or
//! `HERALD_URL_ALLOWLIST` of CIDRs and host names). Ingest checks at create
//! time; the dispatcher checks again at send time and connects only to the
//! addresses it checked (no DNS rebinding window). [`ranges`] says which
//! addresses are not public; [`resolver`] looks names up.

mod ranges;
mod resolver;

use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

pub use ranges::{blocked_class, embedded_v4};
pub use resolver::Resolver;
#[cfg(any(test, feature = "test-util"))]
pub use resolver::ScriptedDns;

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
    resolver: Resolver,
}

impl UrlGuard {
    /// Guard with these allowlist entries (see [`AllowEntry::parse`]).
    pub fn new(allow_private: bool, allowlist: Vec<AllowEntry>) -> Self {
        Self {
            allow_private,
            allowlist,
            resolver: Resolver::System,
        }
    }

    /// The same guard, looking names up with `resolver`.
    pub fn with_resolver(mut self, resolver: Resolver) -> Self {
        self.resolver = resolver;
        self
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
            self.resolver
                .lookup(bare, port)
                .await
                .map_err(|_| GuardError::Unresolvable(host.to_string()))?
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

    #[tokio::test]
    async fn every_spelling_of_an_internal_address_is_blocked() {
        let strict = UrlGuard::strict();
        for url in [
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://[::ffff:7f00:1]/",
            "http://[::ffff:0:a00:1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[2002:a9fe:a9fe::1]/",
            "http://[2001:0:53aa:64c:0:5efe:a00:1]/",
            "http://[fec0::1]/",
            "http://[::127.0.0.1]/",
        ] {
            let parsed = url::Url::parse(url).expect("url");
            assert!(
                matches!(
                    strict.resolve(&parsed).await,
                    Err(GuardError::Blocked { .. })
                ),
                "{url} ({:?})",
                parsed.host_str()
            );
        }
    }

    #[tokio::test]
    async fn a_scripted_name_is_checked_on_every_lookup() {
        let dns = ScriptedDns::default();
        let guard = UrlGuard::parse(false, &["127.0.0.1/32"])
            .expect("guard")
            .with_resolver(Resolver::Scripted(dns.clone()));
        let url = url::Url::parse("http://hooks.rebind.test:8000/x").expect("url");
        dns.set("hooks.rebind.test", &["127.0.0.1".parse().expect("ip")]);
        assert_eq!(
            guard.resolve(&url).await,
            Ok(vec!["127.0.0.1:8000".parse().expect("addr")])
        );
        dns.set("hooks.rebind.test", &["127.0.0.2".parse().expect("ip")]);
        assert!(matches!(
            guard.resolve(&url).await,
            Err(GuardError::Blocked {
                class: "loopback",
                ..
            })
        ));
        dns.set("hooks.rebind.test", &[]);
        assert!(matches!(
            guard.resolve(&url).await,
            Err(GuardError::Unresolvable(_))
        ));
    }
}
