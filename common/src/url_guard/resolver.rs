//! How the guard turns a host name into addresses: the system's resolver,
//! or (for tests, the `test-util` feature) answers a test sets and changes
//! while Herald runs, so DNS rebinding (a name that passed at registration
//! and points somewhere else later) can be shown on loopback without
//! touching the machine's `/etc/hosts` or running a DNS server.
//!
//! Either way the guard checks the answer and the dispatcher connects only
//! to the addresses it checked; only the lookup differs.

use std::io;
use std::net::SocketAddr;

#[cfg(any(test, feature = "test-util"))]
pub use scripted::ScriptedDns;

/// Where names are looked up.
#[derive(Clone, Debug, Default)]
pub enum Resolver {
    /// getaddrinfo through `tokio::net::lookup_host` (the hosts file, then DNS).
    #[default]
    System,
    /// A test's answers; names it has no answer for go to the system.
    #[cfg(any(test, feature = "test-util"))]
    Scripted(ScriptedDns),
}

impl Resolver {
    /// The addresses of `host` (a name, not a literal address) with `port`.
    pub async fn lookup(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        match self {
            Resolver::System => Ok(tokio::net::lookup_host((host, port)).await?.collect()),
            #[cfg(any(test, feature = "test-util"))]
            Resolver::Scripted(dns) => match dns.answer(host) {
                Some(ips) => Ok(ips
                    .into_iter()
                    .map(|ip| SocketAddr::new(ip, port))
                    .collect()),
                None => Ok(tokio::net::lookup_host((host, port)).await?.collect()),
            },
        }
    }
}

#[cfg(any(test, feature = "test-util"))]
mod scripted {
    use std::collections::HashMap;
    use std::net::IpAddr;
    use std::sync::{Arc, RwLock};

    /// Answers shared by every clone: `set` changes what every process part
    /// holding a clone (ingest's check, the dispatcher's connector) sees next.
    #[derive(Clone, Debug, Default)]
    pub struct ScriptedDns(Arc<RwLock<HashMap<String, Vec<IpAddr>>>>);

    impl ScriptedDns {
        /// From now on `name` resolves to `ips` (an empty list: no answer).
        pub fn set(&self, name: &str, ips: &[IpAddr]) {
            let mut map = self.0.write().unwrap_or_else(|p| p.into_inner());
            map.insert(name.to_ascii_lowercase(), ips.to_vec());
        }

        pub(super) fn answer(&self, name: &str) -> Option<Vec<IpAddr>> {
            let map = self.0.read().unwrap_or_else(|p| p.into_inner());
            map.get(&name.trim_end_matches('.').to_ascii_lowercase())
                .cloned()
        }
    }
}
